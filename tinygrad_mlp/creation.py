"""Tensors made from nothing: ``zeros``, ``ones``, ``full``, ``eye``, ``arange``, ``rand``, ``randn``, ``*_like``.

Shapes are given as ``zeros(2, 3)`` or ``zeros((2, 3))``. The dtype is float32
unless ``dtype=`` says otherwise (a floating dtype: tensors hold floats).
``rand``/``randn`` follow the seeding story of :mod:`tinygrad_mlp.random`:
``seed=`` an int or a Generator, else the global generator that
``manual_seed`` resets.
"""

from __future__ import annotations

import numpy as np

from .errors import ArgumentError, ShapeError
from .methods import float_dtype, shape_arg
from .random import generator
from .tensor import DEFAULT_DTYPE, Tensor

__all__ = ["zeros", "ones", "full", "eye", "arange", "rand", "randn", "zeros_like", "ones_like"]


def _shape(shape, what: str) -> tuple[int, ...]:
    dims = shape_arg(shape, what)
    if any(n < 0 for n in dims):
        raise ShapeError(f"{what}: negative dimension in shape {dims}")
    return dims


def zeros(*shape, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros, ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Tensor(np.zeros(_shape(shape, "zeros"), dtype=float_dtype(dtype, "zeros")), requires_grad)


def ones(*shape, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape(shape, "ones"), dtype=float_dtype(dtype, "ones")), requires_grad)


def full(shape, fill_value: float, *, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (an int or a tuple) filled with ``fill_value``."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(fill_value, (int, float, np.number)) or isinstance(fill_value, (bool, np.bool_)):
        raise ArgumentError(f"full: fill_value must be a number, got {fill_value!r}")
    return Tensor(np.full(_shape((shape,), "full"), fill_value, dtype=float_dtype(dtype, "full")), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """The (n, m) identity matrix (m defaults to n)."""
    n, m = _shape((n, n if m is None else m), "eye")
    return Tensor(np.eye(n, m, dtype=float_dtype(dtype, "eye")), requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, *, dtype=DEFAULT_DTYPE,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in ``[start, stop)``, as ``np.arange`` (``arange(5)`` is 0 .. 4), as floats."""
    for v in (start, stop, step):
        if v is not None and (not isinstance(v, (int, float, np.number)) or isinstance(v, (bool, np.bool_))):
            raise ArgumentError(f"arange: start, stop and step must be numbers, got {v!r}")
    if step == 0:
        raise ArgumentError("arange: step must not be 0")
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return Tensor(values.astype(float_dtype(dtype, "arange")), requires_grad)


def rand(*shape, seed=None, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """Uniform values in [0, 1); ``seed`` an int or a Generator, else the global generator."""
    dims, dt = _shape(shape, "rand"), float_dtype(dtype, "rand")
    return Tensor(generator(seed).random(dims).astype(dt), requires_grad)


def randn(*shape, seed=None, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """Standard normal values; ``seed`` an int or a Generator, else the global generator."""
    dims, dt = _shape(shape, "randn"), float_dtype(dtype, "randn")
    return Tensor(generator(seed).standard_normal(dims).astype(dt), requires_grad)


def _like(t, what: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise ArgumentError(f"{what}: expected a Tensor, got {type(t).__name__}")
    return t


def zeros_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and dtype (or ``dtype``)."""
    t = _like(t, "zeros_like")
    return zeros(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and dtype (or ``dtype``)."""
    t = _like(t, "ones_like")
    return ones(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)
