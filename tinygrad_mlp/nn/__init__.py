"""Networks: ``Module`` and its containers, layers, activation and loss modules, and ``MLP``.

Layers only compose Tensor ops; the gradients come from the engine.
``MLP([784, 16, 16, 10], init="random")`` is the lesson notes' network: sigmoid
everywhere, 13,002 weights and biases, every one drawn from N(0, 1).

A module finds what it holds by looking at its attributes (also inside lists,
tuples and dicts), in the order they were assigned:

* a Tensor with ``requires_grad=True`` is a **parameter** (``parameters()``, what an optimizer updates);
* any other Tensor is a **buffer** (``buffers()``: running statistics, frozen weights): it has no
  gradient, but it is part of the model's state, so ``state_dict()`` holds parameters and buffers alike;
* a Module is a **child** (``children()``), searched in turn.

A tensor or module reached twice (a weight shared by two layers) is listed once, under its first name.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from .. import engine
from ..dtypes import dtype_or_default
from ..errors import ArgumentError, CheckpointError, DTypeError, IndexingError, ShapeError
from ..random import generator
from ..tensor_core import Tensor, linear
from . import functional, init, utils

__all__ = ["Module", "Parameter", "IncompatibleKeys", "Linear", "Sequential", "ModuleList", "ModuleDict", "Flatten",
           "Dropout", "LayerNorm", "BatchNorm1d", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d",
           "AvgPool1d", "AvgPool2d", "BatchNorm2d", "LeNet", "Sigmoid", "ReLU", "Tanh", "Identity", "LeakyReLU", "ELU",
           "GELU", "SiLU", "Softplus", "Softmax", "LogSoftmax",
           "MSELoss", "QuadraticCost", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss",
           "NLLLoss", "CrossEntropyLoss", "MLP", "INITS",
           "default_init", "parse_sizes", "functional", "init", "utils"]


class Parameter(Tensor):
    """A Tensor that is a module's weight: ``nn.Parameter(tensor)`` shares ``tensor``'s array and requires grad.

    Any Tensor with ``requires_grad=True`` held by a module is a parameter already (see the module docstring);
    this class is PyTorch's spelling of it. ``Parameter(t, requires_grad=False)`` is held as a buffer.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        super().__init__(np.empty(0, dtype_or_default(None)) if data is None else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` returns: the model's names the state lacked, and the state's names the
    model does not have (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class: a callable holding parameters, buffers and sub-modules (see the module docstring)."""

    training: bool = True

    def forward(self, *args, **kwargs) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs) -> Tensor:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ what a module holds

    def _items(self) -> Iterator[tuple[str, object]]:
        """``(name, value)`` of every attribute, looking one level into lists, tuples and dicts."""
        for name, value in vars(self).items():
            if isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    yield f"{name}.{i}", item
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, (Tensor, Module)) and not isinstance(key, str):
                        raise ArgumentError(f"{type(self).__name__}.{name}: a dict holding tensors or modules "
                                            f"must have string keys, got {key!r}")
                    yield f"{name}.{key}", item
            else:
                yield name, value

    def _named(self, kind: str, prefix: str, memo: set[int]) -> Iterator[tuple[str, object]]:
        # one walk for parameters, buffers and modules; `memo` makes a shared tensor or module count once
        for name, value in self._items():
            if isinstance(value, Tensor):
                wanted = kind == "tensor" or (kind != "module" and value.requires_grad == (kind == "parameter"))
                if wanted and id(value) not in memo:
                    memo.add(id(value))
                    yield prefix + name, value
            elif isinstance(value, Module) and id(value) not in memo:
                if kind == "module":
                    memo.add(id(value))
                    yield prefix + name, value
                yield from value._named(kind, prefix + name + ".", memo)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted name, parameter)`` pairs, e.g. ``("layers.0.weight", W1)``; each tensor once."""
        return self._named("parameter", prefix, set())  # type: ignore[return-value]

    def parameters(self) -> list[Tensor]:
        """All parameters (tensors with ``requires_grad``), each once, in a stable order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted name, buffer)``: the tensors held that do not require grad (running statistics ...)."""
        return self._named("buffer", prefix, set())  # type: ignore[return-value]

    def buffers(self) -> list[Tensor]:
        """All buffers, each once."""
        return [b for _, b in self.named_buffers()]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the modules held directly (not their sub-modules)."""
        seen: set[int] = set()
        for name, value in self._items():
            if isinstance(value, Module) and id(value) not in seen:
                seen.add(id(value))
                yield name, value

    def children(self) -> Iterator[Module]:
        """The modules held directly."""
        yield from (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted name, module)`` for this module (name ``prefix``, "" by default) and every module inside."""
        memo = {id(self)}
        yield prefix, self
        yield from self._named("module", prefix + "." if prefix else "", memo)  # type: ignore[misc]

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, each once."""
        for _, m in self.named_modules():
            yield m

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn(m)`` on every sub-module, then on this one (children first, as PyTorch); returns self."""
        def visit(m: Module, seen: set[int]) -> None:
            for child in m.children():
                if id(child) not in seen:
                    seen.add(id(child))
                    visit(child, seen)
            fn(m)

        visit(self, {id(self)})
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every weight; returns self.

        Frozen weights become buffers (no gradient, not in ``parameters()``, still in ``state_dict()``
        under the same names). Buffers registered with :meth:`register_buffer` never become parameters.
        """
        tensors: list[Tensor] = [t for _, t in self._named("tensor", "", set())]  # type: ignore[misc]
        fixed = {id(getattr(m, n)) for m in self.modules() for n in getattr(m, "_buffer_names", ())}
        for t in tensors:
            if id(t) not in fixed:
                t.requires_grad_(bool(requires_grad))
        return self

    def register_buffer(self, name: str, tensor: Tensor) -> None:
        """Hold ``tensor`` as attribute ``name``: a buffer that :meth:`requires_grad_` never turns into a parameter."""
        if not isinstance(tensor, Tensor) or tensor.requires_grad:
            raise ArgumentError(f"register_buffer: {name!r} must be a Tensor without requires_grad")
        if "_buffer_names" not in vars(self):
            self._buffer_names: set[str] = set()
        setattr(self, name, tensor)
        self._buffer_names.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Hold ``module`` as the child ``name`` (``self.name = module``, checked), as PyTorch's ``add_module``."""
        if not isinstance(name, str) or not name or "." in name:
            raise ArgumentError(f"add_module: the name must be a non-empty string without dots, got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise ArgumentError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        """Hold ``param`` (a Tensor that requires grad, or None) as the attribute ``name``."""
        if param is not None and not isinstance(param, Tensor):
            raise ArgumentError(f"register_parameter: {name!r} must be a Tensor, got {type(param).__name__}")
        setattr(self, name, param)

    def get_submodule(self, target: str) -> Module:
        """The module at the dotted name ``target`` ("" is this module)."""
        for name, m in self.named_modules():
            if name == target:
                return m
        raise IndexingError(f"get_submodule: no module {target!r}")

    def to(self, *args, dtype=None, device=None) -> Module:
        """``to(dtype)`` converts every floating parameter and buffer (as :meth:`double`); a device (``"cpu"``)
        is accepted and changes nothing, as arrays live in numpy on the CPU; others are refused. Returns self."""
        _check_device(device, "Module.to")
        for arg in args:
            if isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps"):
                _check_device(arg, "Module.to")
            else:
                dtype = arg
        return self if dtype is None else self._cast(dtype)

    def cpu(self) -> Module:
        """Returns self: arrays live in numpy on the CPU."""
        return self

    def double(self) -> Module:
        """Make every floating parameter and buffer float64 (in place, with its gradient); returns self."""
        return self._cast(np.float64)

    def float(self) -> Module:
        """Make every floating parameter and buffer float32 (in place, with its gradient); returns self."""
        return self._cast(np.float32)

    def _cast(self, dtype) -> Module:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise DTypeError(f"Module.to: {dtype!r} is not a dtype") from None
        if dtype.kind != "f":
            raise DTypeError(f"Module.to: parameters hold floats, got dtype {dtype}")
        for _, t in self._named("tensor", "", set()):
            assert isinstance(t, Tensor)
            if t.data.dtype.kind == "f" and t.data.dtype != dtype:  # integer counters (num_batches_tracked) stay
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor.wrap(t.grad.data.astype(dtype))
        return self

    def num_parameters(self) -> int:
        """Total number of scalar parameters (weights and biases)."""
        return sum(p.numel() for p in self.parameters())

    def zero_grad(self) -> None:
        """Forget accumulated gradients (set every ``.grad`` to None)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all sub-modules; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    # ------------------------------------------------------------------ state

    def _state_tensors(self) -> dict[str, Tensor]:
        return dict(self._named("tensor", "", set()))  # type: ignore[arg-type]  # attribute order, each once

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameter and buffer arrays by dotted name."""
        return {name: t.data.copy() for name, t in self._state_tensors().items()}

    def _legacy_state_names(self, prefix: str) -> dict[str, str]:
        """Old key prefixes this module's state may be saved under, each mapped to today's (see Sequential)."""
        return {}

    def _optional_state_names(self, prefix: str) -> set[str]:
        """Keys a state saved by an older version may lack without being "missing" (see BatchNorm1d)."""
        return set()

    def _upgraded(self, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``state`` with keys saved under older names renamed to today's (a key already present is kept)."""
        renames: dict[str, str] = {}
        for prefix, m in self.named_modules():
            renames.update(m._legacy_state_names(prefix + "." if prefix else ""))
        if not renames:
            return dict(state)
        out: dict[str, np.ndarray] = {}
        for key, value in state.items():
            new = key
            for old_prefix, new_prefix in renames.items():
                if key.startswith(old_prefix):
                    new = new_prefix + key[len(old_prefix):]
                    break
            out[key if new in state else new] = value
        return out

    def load_state_dict(self, state: Mapping[str, np.ndarray], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays (or Tensors) into the parameters and buffers (in place); returns the
        :class:`IncompatibleKeys` ``(missing_keys, unexpected_keys)``, as PyTorch.

        With ``strict`` (default) the keys must match exactly (a :class:`CheckpointError` lists the missing and
        unexpected ones); without, the matching keys are loaded and the rest reported. Shapes must always match
        (:class:`ShapeError`). A refused load changes nothing. States saved by older versions load too: a
        ``Sequential``'s old ``layers.<i>.`` keys are read as ``<i>.``.
        """
        if not isinstance(state, Mapping):
            raise CheckpointError(f"load_state_dict: expected a dict of arrays, got {type(state).__name__}")
        state = self._upgraded(state)
        tensors = self._state_tensors()
        optional: set[str] = set()
        for prefix, m in self.named_modules():
            optional |= m._optional_state_names(prefix + "." if prefix else "")
        missing = [k for k in tensors if k not in state and k not in optional]
        unexpected = [k for k in state if k not in tensors]
        if strict and (missing or unexpected):
            raise CheckpointError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        values = {}
        for name, t in tensors.items():  # check everything before writing anything: a refused load changes nothing
            if name not in state:
                continue
            raw = state[name]
            value = np.asarray(raw.data if isinstance(raw, Tensor) else raw)
            if value.shape != t.shape:
                raise ShapeError(f"load_state_dict: {name} has shape {value.shape} in the state "
                                 f"but {t.shape} in the model")
            if not np.can_cast(value.dtype, t.dtype, casting="same_kind"):
                raise DTypeError(f"load_state_dict: {name} has dtype {value.dtype}, which cannot become {t.dtype}")
            values[name] = value
        for name, value in values.items():
            t = tensors[name]
            if not t.data.flags.writeable:
                t.data = t.data.copy()
            np.copyto(t.data, value, casting="same_kind")
        return IncompatibleKeys(missing, unexpected)

    def __repr__(self) -> str:
        inner = [f"  ({name}): {value!r}".replace("\n", "\n  ") for name, value in self.named_children()]
        if not inner:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(inner) + "\n)"

    def extra_repr(self) -> str:
        return ""


# ---------------------------------------------------------------------- initialisation


# Each takes a layer's weight (out, in) and bias (out,) Tensors and the generator, and fills them through
# nn.init, drawing in the same order and the same float64 numbers as ever (so a seed gives the same network).


def _init_normal(weight: Tensor, bias: Tensor, rng: np.random.Generator) -> None:
    # the notes' "random" start, as the classic treatment does it: every weight and bias ~ N(0, 1)
    init.normal_(weight, seed=rng)
    init.normal_(bias, seed=rng)


def _init_xavier(weight: Tensor, bias: Tensor, rng: np.random.Generator) -> None:
    # Glorot & Bengio: uniform with variance 2 / (fan_in + fan_out), keeps sigmoid/tanh units out of saturation
    init.xavier_uniform_(weight, seed=rng)
    init.zeros_(bias)


def _init_he(weight: Tensor, bias: Tensor, rng: np.random.Generator) -> None:
    # He et al.: normal with variance 2 / fan_in, for ReLU units (half of them are off)
    init.normal_(weight, std=float(np.sqrt(2.0 / weight.shape[1])), seed=rng)
    init.zeros_(bias)


# "random" and "normal" are the same N(0, 1) start: "random" is the notes' word, "normal" the older name here
INITS = {"random": _init_normal, "normal": _init_normal, "xavier": _init_xavier, "he": _init_he}


_RELU_LIKE = ("relu", "leaky_relu", "elu", "gelu", "silu")


def parse_sizes(sizes: str | Sequence[int], what: str = "sizes", example: str = "784-16-16-10") -> list[int]:
    """Layer widths, input first: ``"784-16-10"`` (or ``"784,16,10"``, or a list) -> ``[784, 16, 10]``.

    The one parser of architecture strings (the CLI's ``--arch``, ``threeway``, ``viz.explain``). At least
    two widths, all >= 1; otherwise a :class:`ShapeError` naming ``what`` and showing ``example``.
    """
    if isinstance(sizes, str):
        try:
            widths = [int(p) for p in sizes.replace(",", "-").split("-")]
        except ValueError:
            raise ShapeError(f"{what} {sizes!r} is malformed: give layer widths joined by '-', "
                             f"e.g. {example}") from None
    else:
        widths = [int(n) for n in sizes]
    if len(widths) < 2 or min(widths) < 1:
        raise ShapeError(f"{what} {sizes!r} is malformed: it needs at least two widths, all >= 1 (e.g. {example})")
    return widths


def default_init(activation: str | None) -> str:
    """The initialisation used when none is named, as the CLI chooses it: ``"he"`` for relu (and its relatives
    leaky_relu, elu, gelu, silu), else ``"xavier"``."""
    return "he" if activation in _RELU_LIKE else "xavier"


def _check_init(init_name, what: str) -> str:
    if not isinstance(init_name, str) or init_name not in INITS:
        raise ArgumentError(f"{what}: unknown init {init_name!r}; choose one of {', '.join(INITS)}")
    return init_name


def _positive_int(n, what: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ShapeError(f"{what} must be a positive int, got {n!r}")
    return int(n)


def _check_device(device, what: str) -> None:
    if device is not None and str(device).split(":")[0] != "cpu":  # torch.device("cpu") prints as "cpu" too
        raise ArgumentError(f"{what}: only the CPU is available (numpy arrays), got device {device!r}")


def _as_tensor(x, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except Exception:
        raise ArgumentError(f"{what}: expected a Tensor or an array, got {type(x).__name__}") from None


# ---------------------------------------------------------------------- layers


class Linear(Module):
    """``y = x @ W.T + b``: one layer of the notes, ``a' = W a + b`` for each row ``a`` of ``x``.

    ``weight`` has shape (out_features, in_features), exactly the notes' W;
    ``bias`` has shape (out_features,). ``x`` is (batch, in_features) and ``y``
    (batch, out_features). ``init`` is "xavier" (default), "he", or "random"
    (alias "normal": N(0, 1), the notes' start); ``seed`` an int or a
    ``np.random.Generator`` (default: the global generator, see :mod:`tinygrad_mlp.random`).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 init: str = "xavier", seed=None, dtype=None):
        _check_init(init, "Linear")
        in_features = _positive_int(in_features, "Linear: in_features")
        out_features = _positive_int(out_features, "Linear: out_features")
        dtype = dtype_or_default(dtype)  # tm.set_default_dtype's, unless given
        self.in_features, self.out_features = in_features, out_features
        self.weight = Tensor(np.zeros((out_features, in_features), dtype), requires_grad=True)
        b = Tensor(np.zeros(out_features, dtype), requires_grad=True)
        INITS[init](self.weight, b, generator(seed))  # a bias-free layer draws its bias too: the same stream
        self.bias = b if bias else None

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "Linear")
        if x.data.ndim == 0 or x.data.shape[-1] != self.in_features:
            raise ShapeError(f"Linear({self.in_features}, {self.out_features}): input has shape {x.shape}, "
                             f"its last axis should be {self.in_features}")
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _check_module(m, what: str) -> Module:
    if not isinstance(m, Module):
        raise ArgumentError(f"{what}: expected a Module, got {type(m).__name__}")
    return m


class Sequential(Module):
    """Apply modules one after another: ``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=module, ...))``.

    Parameters are named as PyTorch names them: ``0.weight``, ``1.bias`` ... (or ``<name>.weight`` for named
    modules), so weights can be exchanged by name; states saved under the older ``layers.<i>.`` names still load.
    """

    def __init__(self, *modules: Module | Mapping[str, Module]):
        self._modules: dict[str, Module] = {}
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, named in modules[0].items():
                self.add_module(name, named)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)  # type: ignore[arg-type]  # a Mapping among several: refused there

    def add_module(self, name: str, module: Module | None) -> None:
        """Append ``module`` under ``name`` (or replace the module of that name, keeping its place)."""
        if not isinstance(name, str) or not name or "." in name:
            raise ArgumentError(f"Sequential: module names must be non-empty strings without dots, got {name!r}")
        self._modules[name] = _check_module(module, f"Sequential[{name!r}]")

    register_module = add_module

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def _items(self) -> Iterator[tuple[str, object]]:
        yield from self._modules.items()
        for name, value in super()._items():
            if name.split(".")[0] != "_modules":
                yield name, value

    def _legacy_state_names(self, prefix: str) -> dict[str, str]:
        # before PyTorch's names, a Sequential held its modules in a list attribute `layers`
        return {f"{prefix}layers.{name}.": f"{prefix}{name}." for name in self._modules}

    def __getattr__(self, name: str) -> Module:
        modules = self.__dict__.get("_modules", {})  # only called when ordinary lookup fails: `seq.encoder`
        if name in modules:
            return modules[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def layers(self) -> list[Module]:
        """The modules, in order (the older name of this container's contents)."""
        return list(self._modules.values())

    def forward(self, x: Tensor) -> Tensor:
        for m in self._modules.values():
            x = m(x)
        return x

    def _key(self, i) -> str:
        keys = list(self._modules)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not -len(keys) <= i < len(keys):
            raise IndexingError(f"Sequential: no layer {i!r} among {len(keys)}")
        return keys[i]

    def __getitem__(self, i) -> Module:
        if isinstance(i, slice):
            return Sequential(dict(list(self._modules.items())[i]))
        return self._modules[self._key(i)]

    def __setitem__(self, i: int, module: Module) -> None:
        self._modules[self._key(i)] = _check_module(module, "Sequential")

    def __delitem__(self, i: int) -> None:
        del self._modules[self._key(i)]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))


class ModuleList(Module):
    """A list of modules, registered (parameters named ``<i>.<name>``, as PyTorch); no ``forward`` of its own."""

    def __init__(self, modules: Iterable[Module] = ()):
        self._list: list[Module] = []
        self.extend(modules)

    def _items(self) -> Iterator[tuple[str, object]]:
        for i, m in enumerate(self._list):
            yield str(i), m

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self._list.append(_check_module(module, "ModuleList.append"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add every module of ``modules``; returns self."""
        if isinstance(modules, Module) or not isinstance(modules, Iterable):
            raise ArgumentError(f"ModuleList: expected an iterable of modules, got {type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ModuleList(self._list[i])
        try:
            return self._list[i]
        except (IndexError, TypeError):
            raise IndexingError(f"ModuleList: no module {i!r} among {len(self._list)}") from None

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list)

    def forward(self, *args, **kwargs) -> Tensor:
        raise NotImplementedError("ModuleList has no forward(); iterate over it in your module's forward")


class ModuleDict(Module):
    """Modules by string key, registered (parameters named ``<key>.<name>``); no ``forward`` of its own."""

    def __init__(self, modules: Mapping[str, Module] | None = None):
        self._dict: dict[str, Module] = {}
        for key, m in (modules or {}).items():
            self[key] = m

    def _items(self) -> Iterator[tuple[str, object]]:
        yield from self._dict.items()

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise ArgumentError(f"ModuleDict: keys must be non-empty strings without dots, got {key!r}")
        self._dict[key] = _check_module(module, f"ModuleDict[{key!r}]")

    def __getitem__(self, key: str) -> Module:
        try:
            return self._dict[key]
        except (KeyError, TypeError):
            raise IndexingError(f"ModuleDict: no module {key!r}; keys are {list(self._dict)}") from None

    def __contains__(self, key) -> bool:
        return key in self._dict

    def __len__(self) -> int:
        return len(self._dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def keys(self):
        return self._dict.keys()

    def values(self):
        return self._dict.values()

    def items(self):
        return self._dict.items()

    def forward(self, *args, **kwargs) -> Tensor:
        raise NotImplementedError("ModuleDict has no forward(); pick modules by key in your module's forward")


class Flatten(Module):
    """Merge axes ``start_dim`` .. ``end_dim`` into one: (batch, 1, 28, 28) -> (batch, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "Flatten")
        n = max(x.ndim, 1)
        start, end = self.start_dim, self.end_dim
        if not (-n <= start < n and -n <= end < n) or start % n > end % n:
            raise ShapeError(f"Flatten: dims {start}..{end} do not fit an input of shape {x.shape}")
        return x.flatten(start, end)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; in eval, identity.

    The expected output equals the input in both modes ("inverted" dropout, as PyTorch). The mask is drawn from
    ``seed`` (an int or a Generator, kept and advanced) or, without one, from the global generator.
    """

    def __init__(self, p: float = 0.5, *, seed=None):
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
            raise ArgumentError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self._rng = None if seed is None else generator(seed)

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "Dropout")
        if not self.training or self.p == 0:
            return x
        # a new random mask every call: a replay would keep the recorded one (the two recordings usually differ,
        # but not always for a few elements), so the step runs eagerly
        if not engine.quiet and engine.state.listeners:  # tm.compile runs such a step eagerly
            engine.announce("effect", "Dropout draws a new random mask on every call, which a replay would not do")
        rng = self._rng if self._rng is not None else generator()
        keep = rng.random(x.shape) >= self.p  # each element kept with probability 1 - p
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        return x * (keep * scale).astype(x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm(Module):
    """Normalize each example over its last axes: ``(x - mean) / sqrt(var + eps) * weight + bias``.

    ``normalized_shape`` (an int or a tuple) is the shape of those last axes; the mean and the (biased)
    variance are taken over them, per example, the same in training and in eval. ``weight`` starts at ones
    and ``bias`` at zeros, both of ``normalized_shape`` (none with ``elementwise_affine=False``).
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 *, dtype=None):
        dtype = dtype_or_default(dtype)
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape = tuple(_positive_int(n, "LayerNorm: normalized_shape") for n in shape)
        if not self.normalized_shape:
            raise ShapeError("LayerNorm: normalized_shape must have at least one axis")
        if not eps > 0:
            raise ArgumentError(f"LayerNorm: eps must be > 0, got {eps}")
        self.eps = float(eps)
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        if elementwise_affine:
            self.weight = Tensor(np.ones(self.normalized_shape), requires_grad=True, dtype=dtype)
            self.bias = Tensor(np.zeros(self.normalized_shape), requires_grad=True, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "LayerNorm")
        k = len(self.normalized_shape)
        if x.shape[max(x.ndim - k, 0):] != self.normalized_shape or x.ndim < k:
            raise ShapeError(f"LayerNorm{self.normalized_shape}: input of shape {x.shape} does not end "
                             f"with {self.normalized_shape}")
        axes = tuple(range(x.ndim - k, x.ndim))
        centered = x - x.mean(axes, keepdims=True)
        var = (centered * centered).mean(axes, keepdims=True)
        out = centered / (var + self.eps) ** 0.5
        if self.weight is not None and self.bias is not None:
            out = out * self.weight + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


class BatchNorm1d(Module):
    """Normalize each feature over the batch: ``(x - mean) / sqrt(var + eps) * weight + bias``.

    Input (batch, C) or (batch, C, length); the statistics are per feature C, over the batch (and length).
    In training, the batch's mean and biased variance are used, and the running statistics move towards
    them: ``running = (1 - momentum) * running + momentum * batch_stat`` (the running variance takes the
    unbiased batch variance, as PyTorch); with ``momentum=None`` they are the plain average of every training
    batch's statistics (``momentum = 1 / num_batches_tracked``, the buffer counting the batches). In eval,
    ``running_mean`` and ``running_var`` are used instead.
    The running statistics are buffers (in ``state_dict()``, no gradient), starting at 0 and 1. With
    ``track_running_stats=False`` there are none and the batch statistics are used in both modes.
    """

    running_mean: Tensor
    running_var: Tensor
    num_batches_tracked: Tensor

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, dtype=None):
        dtype = dtype_or_default(dtype)
        self.num_features = _positive_int(num_features, "BatchNorm1d: num_features")
        if not eps > 0 or not (momentum is None or 0 <= momentum <= 1):
            raise ArgumentError(f"BatchNorm1d: eps must be > 0 and momentum in [0, 1] or None, got {eps}, {momentum}")
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        c = self.num_features
        self.weight = Tensor(np.ones(c), requires_grad=True, dtype=dtype) if affine else None
        self.bias = Tensor(np.zeros(c), requires_grad=True, dtype=dtype) if affine else None
        self.track_running_stats = bool(track_running_stats)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(c), dtype=dtype))
            self.register_buffer("running_var", Tensor(np.ones(c), dtype=dtype))
            # training batches seen (an int64 count, as PyTorch): momentum=None averages them all equally
            self.register_buffer("num_batches_tracked", Tensor.wrap(np.array(0, dtype=np.int64)))

    def _optional_state_names(self, prefix: str) -> set[str]:
        # states saved before the counter existed load without it (it stays 0)
        return {prefix + "num_batches_tracked"} if self.track_running_stats else set()

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "BatchNorm1d")
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm1d({self.num_features}): input must be (batch, {self.num_features}) or "
                             f"(batch, {self.num_features}, length), got {x.shape}")
        return self._normalize(x)

    def _normalize(self, x: Tensor) -> Tensor:
        """``x`` (batch, C, ...) normalized per feature C over every other axis."""
        name = type(self).__name__
        axes = (0, *range(2, x.ndim))
        per_feature = (self.num_features,) + (1,) * (x.ndim - 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            count = x.numel() // self.num_features
            if count < 2 and self.training:
                raise ShapeError(f"{name}: training needs more than one value per feature, got input {x.shape}")
            mean = x.mean(axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axes, keepdims=True)
            if self.training and self.track_running_stats:
                if not engine.quiet and engine.state.listeners:  # tm.compile runs such a step eagerly
                    engine.announce("effect", "BatchNorm1d updates its running statistics in place, which a replay "
                                    "would not do")
                self.num_batches_tracked.data = np.asarray(self.num_batches_tracked.data + 1)
                # momentum=None: the cumulative average of every batch's statistics so far (weight 1/batches)
                m = 1.0 / float(self.num_batches_tracked.data) if self.momentum is None else self.momentum
                self.running_mean.data *= 1 - m
                self.running_mean.data += m * mean.data.reshape(-1).astype(self.running_mean.dtype)
                self.running_var.data *= 1 - m
                self.running_var.data += m * (var.data.reshape(-1) * count / (count - 1)).astype(self.running_var.dtype)
            out = centered / (var + self.eps) ** 0.5
        else:
            # the running statistics enter as the buffers themselves (Tensor ops), not numpy copies, which a captured
            # step (tm.compile) would keep as recorded after training has changed them
            running_mean = self.running_mean.reshape(per_feature).astype(x.dtype)
            std = (self.running_var.reshape(per_feature).astype(x.dtype) + float(self.eps)).sqrt()  # eps in x's dtype
            out = (x - running_mean) / std
        if self.weight is not None and self.bias is not None:
            out = out * self.weight.reshape(per_feature) + self.bias.reshape(per_feature)
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.weight is not None}, "
                f"track_running_stats={self.track_running_stats}")


# ---------------------------------------------------------------------- convolution layers (convolution.py)


class BatchNorm2d(BatchNorm1d):
    """:class:`BatchNorm1d` for images: input (batch, C, H, W), statistics per channel C over the batch and the
    pixels (PyTorch's ``BatchNorm2d``, the same arguments, buffers and running-statistics rule)."""

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "BatchNorm2d")
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm2d({self.num_features}): input must be (batch, {self.num_features}, "
                             f"height, width), got {x.shape}")
        n, c, h, w = x.shape  # BatchNorm1d's (batch, C, length): statistics over the batch and the pixels
        return super().forward(x.reshape(n, c, h * w)).reshape(n, c, h, w)


def _sizes(v, nd: int, what: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or ``nd`` ints, each at least ``minimum``, as a tuple (an ArgumentError naming ``what`` otherwise)."""
    items = (v,) * nd if isinstance(v, (int, np.integer)) else v
    if (not isinstance(items, (tuple, list)) or len(items) != nd
            or not all(isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) and i >= minimum
                       for i in items)):
        raise ArgumentError(f"{what} must be an int >= {minimum} or {nd} of them, got {v!r}")
    return tuple(int(i) for i in items)


class _ConvNd(Module):
    """The convolution layers' common part: weight (out, in / groups, *kernel), bias (out,), PyTorch's default start
    (both uniform in +-1/sqrt(fan_in), fan_in = in / groups * prod(kernel): ``kaiming_uniform_(a=sqrt(5))``)."""

    nd = 2
    _fn: Callable[..., Tensor]

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", *, seed=None, dtype=np.float32):
        name = type(self).__name__
        self.in_channels = _positive_int(in_channels, f"{name}: in_channels")
        self.out_channels = _positive_int(out_channels, f"{name}: out_channels")
        self.groups = _positive_int(groups, f"{name}: groups")
        if in_channels % groups or out_channels % groups:
            raise ShapeError(f"{name}: in_channels {in_channels} and out_channels {out_channels} must both divide "
                             f"into {groups} groups")
        if padding_mode != "zeros":
            raise ArgumentError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.kernel_size = _sizes(kernel_size, self.nd, f"{name}: kernel_size")
        self.stride = _sizes(stride, self.nd, f"{name}: stride")
        self.dilation = _sizes(dilation, self.nd, f"{name}: dilation")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ArgumentError(f"{name}: padding must be an int, {self.nd} ints, 'valid' or 'same', "
                                    f"got {padding!r}")
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = _sizes(padding, self.nd, f"{name}: padding", minimum=0)
        fan_in = in_channels // groups * int(np.prod(self.kernel_size))
        bound = 1.0 / np.sqrt(fan_in)
        rng = generator(seed)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Tensor(rng.uniform(-bound, bound, shape), requires_grad=True, dtype=dtype)
        self.bias = Tensor(rng.uniform(-bound, bound, out_channels), requires_grad=True, dtype=dtype) if bias \
            else None

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._fn(_as_tensor(x, type(self).__name__), self.weight, self.bias, self.stride, self.padding,
                              self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}")


class Conv1d(_ConvNd):
    """1-d convolution layer: input (batch, in_channels, length) -> (batch, out_channels, length_out); see
    :func:`functional.conv1d`."""

    nd = 1
    _fn = staticmethod(functional.conv1d)


class Conv2d(_ConvNd):
    """2-d convolution layer: input (batch, in_channels, H, W) -> (batch, out_channels, OH, OW), ``OH = (H + 2 padding
    - dilation (kernel - 1) - 1) // stride + 1``; see :func:`functional.conv2d`. Weight (out_channels,
    in_channels / groups, kh, kw) and bias (out_channels,) start as PyTorch's (uniform in +-1/sqrt(fan_in))."""

    nd = 2
    _fn = staticmethod(functional.conv2d)


class _MaxPoolNd(Module):
    _fn: Callable[..., Tensor]

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._fn(_as_tensor(x, type(self).__name__), self.kernel_size, self.stride, self.padding,
                              self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each window of (batch, C, length); see :func:`functional.max_pool1d`."""

    _fn = staticmethod(functional.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """The maximum of each window of (batch, C, H, W), stride defaulting to the kernel size; the gradient of a
    window goes to its first maximum (PyTorch's tie rule). See :func:`functional.max_pool2d`."""

    _fn = staticmethod(functional.max_pool2d)


class AvgPool1d(Module):
    """The mean of each window of (batch, C, length); see :func:`functional.avg_pool1d`."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return functional.avg_pool1d(_as_tensor(x, "AvgPool1d"), self.kernel_size, self.stride, self.padding,
                                     self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each window of (batch, C, H, W); see :func:`functional.avg_pool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return functional.avg_pool2d(_as_tensor(x, "AvgPool2d"), self.kernel_size, self.stride, self.padding,
                                     self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Sigmoid(Module):
    """Elementwise logistic function, the notes' squashing function."""

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "Sigmoid").sigmoid()


class ReLU(Module):
    """Elementwise max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "ReLU").relu()


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "Tanh").tanh()


class Identity(Module):
    """Returns its input (a linear output layer)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class LeakyReLU(Module):
    """Elementwise ``x`` for ``x > 0``, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "LeakyReLU").leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """Elementwise ``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "ELU").elu(self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """Elementwise ``x * Phi(x)``; ``approximate`` "none" (the exact erf form, default) or "tanh"."""

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "GELU").gelu(self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """Elementwise ``x * sigmoid(x)``."""

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "SiLU").silu()


class Softplus(Module):
    """Elementwise ``log(1 + exp(beta * x)) / beta``, stable."""

    def __init__(self, beta: float = 1.0):
        if not beta > 0:
            raise ArgumentError(f"Softplus: beta must be > 0, got {beta!r}")
        self.beta = float(beta)

    def forward(self, x: Tensor) -> Tensor:
        return _as_tensor(x, "Softplus").softplus(self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


def _softmax_dim(dim: int | None, x: Tensor, what: str) -> int:
    if dim is not None:
        return int(dim)
    if x.ndim in (1, 2):  # the axis PyTorch's implicit choice picks too (0 for a vector, 1 for a batch)
        return x.ndim - 1
    raise ArgumentError(f"{what}: give dim= for an input of {x.ndim} axes (PyTorch's implicit choice is deprecated)")


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``, as ``nn.Softmax(dim=1)``."""

    def __init__(self, dim: int | None = None):
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "Softmax")
        return x.softmax(_softmax_dim(self.dim, x, "Softmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``x - logsumexp(x)`` along ``dim``, stable; with :class:`NLLLoss`, the cross-entropy."""

    def __init__(self, dim: int | None = None):
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        x = _as_tensor(x, "LogSoftmax")
        return x.log_softmax(_softmax_dim(self.dim, x, "LogSoftmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


# ---------------------------------------------------------------------- losses


class _Loss(Module):
    """A loss function held with its settings; ``forward(input, target)`` calls it."""

    fn: Callable[..., Tensor]
    reductions: tuple[str, ...] = functional.CE_REDUCTIONS

    def __init__(self, reduction: str = "mean"):
        self.reduction = functional.check_reduction(reduction, self.reductions, type(self).__name__)

    def _settings(self) -> dict:
        return {"reduction": self.reduction}

    def forward(self, input: Tensor, target) -> Tensor:
        return type(self).fn(input, target, **self._settings())

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._settings().items() if not isinstance(v, (Tensor, np.ndarray)))


class MSELoss(_Loss):
    """:func:`functional.mse_loss` as a module: PyTorch's mean squared error, by default averaged over every
    element of any shape (``reduction`` "mean", "sum", "none"; "batchmean" is the notes' cost)."""

    fn = staticmethod(functional.mse_loss)
    reductions = functional.MSE_REDUCTIONS


class QuadraticCost(_Loss):
    """:func:`functional.quadratic_cost` as a module: the notes' cost (squares summed over the outputs, averaged
    over the batch), labels or targets of the output's shape."""

    fn = staticmethod(functional.quadratic_cost)
    reductions = functional.MSE_REDUCTIONS

    def __init__(self, reduction: str = "batchmean"):
        super().__init__(reduction)


class L1Loss(_Loss):
    """:func:`functional.l1_loss` as a module."""

    fn = staticmethod(functional.l1_loss)


class HuberLoss(_Loss):
    """:func:`functional.huber_loss` as a module."""

    fn = staticmethod(functional.huber_loss)

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def _settings(self) -> dict:
        return {"reduction": self.reduction, "delta": self.delta}


class SmoothL1Loss(_Loss):
    """:func:`functional.smooth_l1_loss` as a module."""

    fn = staticmethod(functional.smooth_l1_loss)

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def _settings(self) -> dict:
        return {"reduction": self.reduction, "beta": self.beta}


class BCELoss(_Loss):
    """:func:`functional.binary_cross_entropy` as a module (input: probabilities)."""

    fn = staticmethod(functional.binary_cross_entropy)

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight

    def _settings(self) -> dict:
        return {"weight": self.weight, "reduction": self.reduction}


class BCEWithLogitsLoss(_Loss):
    """:func:`functional.binary_cross_entropy_with_logits` as a module (input: raw scores)."""

    fn = staticmethod(functional.binary_cross_entropy_with_logits)

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def _settings(self) -> dict:
        return {"weight": self.weight, "reduction": self.reduction, "pos_weight": self.pos_weight}


class NLLLoss(_Loss):
    """:func:`functional.nll_loss` as a module (input: log-probabilities, e.g. from :class:`LogSoftmax`)."""

    fn = staticmethod(functional.nll_loss)

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def _settings(self) -> dict:
        return {"weight": self.weight, "ignore_index": self.ignore_index, "reduction": self.reduction}


class CrossEntropyLoss(_Loss):
    """:func:`functional.cross_entropy` as a module: raw scores, class indices or probabilities as the target,
    class ``weight``, ``ignore_index``, ``reduction`` "mean" (default), "sum" or "none", ``label_smoothing``."""

    fn = staticmethod(functional.cross_entropy)

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index
        self.label_smoothing = functional.check_label_smoothing(label_smoothing, "CrossEntropyLoss")

    def _settings(self) -> dict:
        return {"weight": self.weight, "ignore_index": self.ignore_index, "reduction": self.reduction,
                "label_smoothing": self.label_smoothing}


# ---------------------------------------------------------------------- the notes' network


class MLP(Module):
    """A fully connected network: ``a(l) = f(W(l) a(l-1) + b(l))`` for each layer.

    ``sizes`` lists the widths, input first: ``MLP([784, 16, 16, 10])`` is the
    notes' network. Hidden layers use ``activation``; the last layer uses
    ``output_activation`` (default "sigmoid", as in the notes; use ``None`` for
    raw logits with :func:`functional.cross_entropy`). Input (batch, sizes[0]),
    output (batch, sizes[-1]). Parameters are named ``layers.<i>.weight`` and
    ``layers.<i>.bias``, in the same order as the notes' W(1), b(1), W(2) ...

    ``init`` defaults to the CLI's choice (:func:`default_init`: "he" for relu,
    else "xavier"); ``init="random"`` is the notes' start, every weight and bias
    from N(0, 1) (which saturates sigmoids fed 784 inputs).
    """

    def __init__(self, sizes: Sequence[int], activation: str | None = "sigmoid",
                 output_activation: str | None = "sigmoid", *, init: str | None = None, seed=0, dtype=None):
        try:
            sizes = [_positive_int(n, "MLP: each size") for n in sizes]
        except TypeError:
            raise ShapeError(f"MLP: sizes must be a list of widths, got {sizes!r}") from None
        if len(sizes) < 2:
            raise ShapeError(f"MLP: sizes must list at least two positive widths, got {sizes}")
        init = default_init(activation) if init is None else _check_init(init, "MLP")
        self.sizes, self.activation, self.output_activation, self.init = sizes, activation, output_activation, init
        self._hidden_fn = functional.activation(activation)
        self._output_fn = functional.activation(output_activation)
        rng = generator(seed)
        self.layers = [Linear(n_in, n_out, init=init, seed=rng, dtype=dtype)
                       for n_in, n_out in itertools.pairwise(sizes)]

    def forward(self, x: Tensor) -> Tensor:
        *hidden, last = self.layers
        for layer in hidden:  # layer.forward, not layer(x): one call less per layer (see functional._FAST)
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



# ---------------------------------------------------------------------- a small CNN: LeNet


# ``LeNet``: a small convolutional network for 28x28 digits, LeNet-5's shape with ReLU and max pooling:
#
#     (N, 1, 28, 28) -> Conv2d(1, 6, 5, padding=2) -> ReLU -> MaxPool2d(2)    (N, 6, 14, 14)
#                    -> Conv2d(6, 16, 5)           -> ReLU -> MaxPool2d(2)    (N, 16, 5, 5)
#                    -> flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)
#
# 61,706 weights and biases, every layer started as PyTorch starts it (uniform in +-1/sqrt(fan_in)).


class LeNet(Module):
    """LeNet-5's layout with ReLU and max pooling (the layers drawn above); ``channels`` are the two conv
    layers' widths (6 and 16 as in LeNet-5), ``seed`` an int or a Generator for the starting weights."""

    output_activation = None  # the outputs are raw scores (logits), as an MLP's with output_activation=None

    def __init__(self, channels: tuple[int, int] = (6, 16), num_classes: int = 10, *, seed=0, dtype=np.float32):
        c1, c2 = (int(c) for c in channels)
        if c1 < 1 or c2 < 1 or int(num_classes) < 1:
            raise ShapeError(f"LeNet: channels and num_classes must be >= 1, got {channels}, {num_classes}")
        rng = generator(seed)
        self.channels, self.num_classes = (c1, c2), int(num_classes)
        self.conv1 = Conv2d(1, c1, 5, padding=2, seed=rng, dtype=dtype)
        self.conv2 = Conv2d(c1, c2, 5, seed=rng, dtype=dtype)
        self.fc1 = _linear(c2 * 25, 120, rng, dtype)
        self.fc2 = _linear(120, 84, rng, dtype)
        self.fc3 = _linear(84, self.num_classes, rng, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim == 2 and x.shape[1] == 784:  # the MLP's rows of pixels
            x = x.reshape(x.shape[0], 1, 28, 28)
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ShapeError(f"LeNet: input must be (batch, 1, 28, 28) images or (batch, 784) rows, got {x.shape}")
        x = functional.max_pool2d(self.conv1(x).relu(), 2)  # (N, 6, 14, 14)
        x = functional.max_pool2d(self.conv2(x).relu(), 2)  # (N, 16, 5, 5)
        x = x.reshape(x.shape[0], -1)  # flattened: (N, 400)
        return self.fc3(self.fc2(self.fc1(x).relu()).relu())

    @property
    def sizes(self) -> list[int]:
        """``[784, num_classes]``: the pixels it reads and the scores it gives (an MLP's first and last widths)."""
        return [784, self.num_classes]

    @staticmethod
    def parameter_shapes(channels: tuple[int, int] = (6, 16), num_classes: int = 10) -> dict[str, tuple[int, ...]]:
        """Each parameter's name and shape, without building the network (to check a file before loading it)."""
        c1, c2 = channels
        layers = {"conv1": ((c1, 1, 5, 5), (c1,)), "conv2": ((c2, c1, 5, 5), (c2,)), "fc1": ((120, c2 * 25), (120,)),
                  "fc2": ((84, 120), (84,)), "fc3": ((num_classes, 84), (num_classes,))}
        return {f"{name}.{kind}": shape for name, shapes in layers.items()
                for kind, shape in zip(("weight", "bias"), shapes, strict=True)}

    @property
    def first_filters(self) -> np.ndarray:
        """The first conv layer's filters, (channels[0], 5, 5): what ``show-weights`` draws."""
        return self.conv1.weight.data[:, 0]

    def config(self) -> dict:
        """What is needed to rebuild this architecture (stored in checkpoints)."""
        return {"kind": "lenet", "channels": list(self.channels), "num_classes": self.num_classes}

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_classes={self.num_classes}"


def _linear(n_in: int, n_out: int, rng: np.random.Generator, dtype) -> Linear:
    """A Linear layer started as PyTorch's: weight and bias uniform in +-1/sqrt(n_in)."""
    layer = Linear(n_in, n_out, seed=rng, dtype=dtype)
    bound = 1.0 / np.sqrt(n_in)
    init.uniform_(layer.weight, -bound, bound, seed=rng)
    if layer.bias is not None:
        init.uniform_(layer.bias, -bound, bound, seed=rng)
    return layer
