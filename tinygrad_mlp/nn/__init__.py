"""Networks: ``Module``, ``Linear``, ``Sequential``, activation modules and ``MLP``.

Layers only compose Tensor ops; the gradients come from the engine.
``MLP([784, 16, 16, 10])`` is the lesson notes' network: sigmoid everywhere,
13,002 weights and biases.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import CheckpointError, ShapeError
from ..tensor import Tensor, linear
from . import functional

__all__ = ["Module", "Linear", "Sequential", "Sigmoid", "ReLU", "Tanh", "Identity", "MLP", "INITS", "functional"]


class Module:
    """Base class: a callable holding parameters (Tensors with ``requires_grad``) and sub-modules.

    Parameters and sub-modules are found by looking at the instance's attributes
    (also inside lists and tuples), in the order they were assigned.
    """

    training: bool = True

    def forward(self, *args, **kwargs) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs) -> Tensor:
        return self.forward(*args, **kwargs)

    def _children(self) -> Iterator[tuple[str, object]]:
        for name, value in vars(self).items():
            if isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    yield f"{name}.{i}", item
            else:
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted name, parameter)`` pairs, e.g. ``("layers.0.weight", W1)``."""
        for name, value in self._children():
            if isinstance(value, Tensor) and value.requires_grad:
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Tensor]:
        """All parameters, in a stable order."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it."""
        yield self
        for _, value in self._children():
            if isinstance(value, Module):
                yield from value.modules()

    def num_parameters(self) -> int:
        """Total number of scalar parameters (weights and biases)."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Forget accumulated gradients (set every ``.grad`` to None)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all sub-modules; returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameter arrays by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays into the parameters (in place). Keys and shapes must match exactly when ``strict``."""
        params = dict(self.named_parameters())
        if strict:
            missing, unexpected = sorted(set(params) - set(state)), sorted(set(state) - set(params))
            if missing or unexpected:
                raise CheckpointError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for name, p in params.items():
            if name not in state:
                continue
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ShapeError(f"load_state_dict: {name} has shape {value.shape} in the state "
                                 f"but {p.shape} in the model")
            np.copyto(p.data, value, casting="same_kind")

    def __repr__(self) -> str:
        inner = [f"  ({name}): {value!r}".replace("\n", "\n  ")
                 for name, value in self._children() if isinstance(value, Module)]
        if not inner:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(inner) + "\n)"

    def extra_repr(self) -> str:
        return ""


# ---------------------------------------------------------------------- initialisation


def _init_normal(rng: np.random.Generator, fan_out: int, fan_in: int):
    # the notes' "random" start, as the classic treatment does it: every weight and bias ~ N(0, 1)
    return rng.standard_normal((fan_out, fan_in)), rng.standard_normal(fan_out)


def _init_xavier(rng: np.random.Generator, fan_out: int, fan_in: int):
    # Glorot & Bengio: uniform with variance 2 / (fan_in + fan_out), keeps sigmoid/tanh units out of saturation
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_out, fan_in)), np.zeros(fan_out)


def _init_he(rng: np.random.Generator, fan_out: int, fan_in: int):
    # He et al.: normal with variance 2 / fan_in, for ReLU units (half of them are off)
    return rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in), np.zeros(fan_out)


INITS = {"normal": _init_normal, "xavier": _init_xavier, "he": _init_he}


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# ---------------------------------------------------------------------- layers


class Linear(Module):
    """``y = x @ W.T + b``: one layer of the notes, ``a' = W a + b`` for each row ``a`` of ``x``.

    ``weight`` has shape (out_features, in_features), exactly the notes' W;
    ``bias`` has shape (out_features,). ``x`` is (batch, in_features) and ``y``
    (batch, out_features). ``init`` is "normal", "xavier" or "he"; ``seed`` an
    int or a ``np.random.Generator``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 init: str = "normal", seed=None, dtype=np.float32):
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        if in_features < 1 or out_features < 1:
            raise ShapeError(f"Linear: features must be positive, got in={in_features}, out={out_features}")
        w, b = INITS[init](_rng(seed), out_features, in_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Tensor(w.astype(dtype), requires_grad=True)
        self.bias = Tensor(b.astype(dtype), requires_grad=True) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        if x.data.ndim == 0 or x.data.shape[-1] != self.in_features:
            raise ShapeError(f"Linear({self.in_features}, {self.out_features}): input has shape {x.shape}, "
                             f"its last axis should be {self.in_features}")
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Apply modules one after another."""

    def __init__(self, *modules: Module):
        self.layers = list(modules)

    def forward(self, x: Tensor) -> Tensor:
        for m in self.layers:
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


class Sigmoid(Module):
    """Elementwise logistic function, the notes' squashing function."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class ReLU(Module):
    """Elementwise max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Identity(Module):
    """Returns its input (a linear output layer)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class MLP(Module):
    """A fully connected network: ``a(l) = f(W(l) a(l-1) + b(l))`` for each layer.

    ``sizes`` lists the widths, input first: ``MLP([784, 16, 16, 10])`` is the
    notes' network. Hidden layers use ``activation``; the last layer uses
    ``output_activation`` (default "sigmoid", as in the notes; use ``None`` for
    raw logits with :func:`functional.cross_entropy`). Input (batch, sizes[0]),
    output (batch, sizes[-1]). Parameters are named ``layers.<i>.weight`` and
    ``layers.<i>.bias``, in the same order as the notes' W(1), b(1), W(2) ...
    """

    def __init__(self, sizes: Sequence[int], activation: str | None = "sigmoid",
                 output_activation: str | None = "sigmoid", *, init: str = "normal", seed=0, dtype=np.float32):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ShapeError(f"MLP: sizes must list at least two positive widths, got {sizes}")
        self.sizes, self.activation, self.output_activation, self.init = sizes, activation, output_activation, init
        self._hidden_fn = functional.activation(activation)
        self._output_fn = functional.activation(output_activation)
        rng = _rng(seed)
        self.layers = [Linear(n_in, n_out, init=init, seed=rng, dtype=dtype)
                       for n_in, n_out in itertools.pairwise(sizes)]

    def forward(self, x: Tensor) -> Tensor:
        *hidden, last = self.layers
        for layer in hidden:
            x = self._hidden_fn(layer.forward(x))
        return self._output_fn(last.forward(x))

    def config(self) -> dict:
        """What is needed to rebuild this architecture (stored in checkpoints)."""
        return {"sizes": self.sizes, "activation": self.activation,
                "output_activation": self.output_activation, "init": self.init}

    @property
    def weights(self) -> list[Tensor]:
        """W(1) .. W(L), each (out, in)."""
        return [layer.weight for layer in self.layers]

    @property
    def biases(self) -> list[Tensor]:
        """b(1) .. b(L), each (out,)."""
        return [layer.bias for layer in self.layers if layer.bias is not None]  # an MLP's layers all have one

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}, output_activation={self.output_activation!r}"

    def __repr__(self) -> str:
        return f"MLP({self.extra_repr()}, parameters={self.num_parameters()})"
