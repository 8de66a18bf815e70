"""In-place initialisations of a tensor's values, PyTorch's ``nn.init`` by name.

Each function overwrites ``tensor.data`` in place (no graph is recorded), keeps
its shape and dtype, and returns the tensor. Random ones take ``seed=`` (an int
or a Generator; default: the global generator, see :mod:`tinygrad_mlp.random`).
Fans of a weight of shape (out, in, ...) are ``fan_in = in * receptive`` and
``fan_out = out * receptive``, as PyTorch counts them.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..random import generator
from ..tensor_core import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity``: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + slope**2)) (leaky_relu, ``param`` the slope, default 0.01)."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)  # PyTorch's default slope when none is given
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in _GAINS:
        raise ArgumentError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; choose one of "
                            f"{', '.join([*_GAINS, 'leaky_relu'])}")
    return _GAINS[nonlinearity]


def _check(tensor, what: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise ArgumentError(f"{what}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _fill(tensor: Tensor, values) -> Tensor:
    if not tensor.data.flags.writeable:
        tensor.data = tensor.data.copy()
    tensor.data[...] = values
    return tensor


def _fans(tensor: Tensor, what: str) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ShapeError(f"{what}: fans need a weight with at least 2 axes (out, in, ...), got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, *, seed=None) -> Tensor:
    """Values from U(a, b)."""
    _check(tensor, "uniform_")
    if not a <= b:
        raise ArgumentError(f"uniform_: need a <= b, got a={a}, b={b}")
    return _fill(tensor, generator(seed).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, *, seed=None) -> Tensor:
    """Values from N(mean, std**2); ``normal_(w)`` is the notes' "random" start."""
    _check(tensor, "normal_")
    if not std >= 0:
        raise ArgumentError(f"normal_: std must be >= 0, got {std}")
    return _fill(tensor, mean + std * generator(seed).standard_normal(tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Every value ``val``."""
    return _fill(_check(tensor, "constant_"), val)


def zeros_(tensor: Tensor) -> Tensor:
    """Every value 0."""
    return _fill(_check(tensor, "zeros_"), 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Every value 1."""
    return _fill(_check(tensor, "ones_"), 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, *, seed=None) -> Tensor:
    """U(-l, l) with ``l = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio); the "xavier" init of ``Linear``."""
    fan_in, fan_out = _fans(_check(tensor, "xavier_uniform_"), "xavier_uniform_")
    limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, generator(seed).uniform(-limit, limit, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, *, seed=None) -> Tensor:
    """N(0, s**2) with ``s = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(_check(tensor, "xavier_normal_"), "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, std * generator(seed).standard_normal(tensor.shape))


def _kaiming_std(tensor, a: float, mode: str, nonlinearity: str, what: str) -> float:
    fan_in, fan_out = _fans(_check(tensor, what), what)
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(f"{what}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{what}: a (the leaky_relu slope) must be a number, got {a!r}")
    return calculate_gain(nonlinearity, float(a)) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                     seed=None) -> Tensor:
    """U(-l, l) with ``l = sqrt(3) * gain / sqrt(fan)`` (He et al.); ``a`` is the negative slope of a leaky_relu
    (gain ``sqrt(2 / (1 + a**2))``, so the defaults give relu's sqrt(2)), PyTorch's signature."""
    limit = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return _fill(tensor, generator(seed).uniform(-limit, limit, tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
                    seed=None) -> Tensor:
    """N(0, s**2) with ``s = gain / sqrt(fan)`` (He et al.), ``a`` as :func:`kaiming_uniform_`; with the defaults,
    the "he" init of ``Linear``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return _fill(tensor, std * generator(seed).standard_normal(tensor.shape))
