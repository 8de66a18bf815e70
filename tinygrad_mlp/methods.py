"""The named methods of a Tensor (``x.exp()``, ``x.sum(dim=1)``, ``x.reshape(2, 3)`` ...).

:class:`TensorOps` holds them and :class:`~tinygrad_mlp.tensor_core.Tensor` inherits
them. Each applies one rule (of the basis, :mod:`tinygrad_mlp.primitives`, or of
:mod:`tinygrad_mlp.ops`) or is composed of other methods, so it has no derivative
code of its own. The arguments are checked here, with numpy's names (``axis``,
``keepdims``) and PyTorch's (``dim``, ``keepdim``) both accepted.
"""

from __future__ import annotations

import functools
import itertools
import operator
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import engine
from . import primitives as P
from .dtypes import any_dtype, float_dtype  # noqa: F401  (float_dtype: also imported from here by others)
from .engine import no_grad
from .errors import ArgumentError, DTypeError, GraphError, IndexingError, ShapeError
from .inplace import InPlaceOps
from .numpy_protocol import NumpyProtocol
from .ops import (
    Abs,
    AnyAll,
    Arccos,
    Arccosh,
    Arcsin,
    Arcsinh,
    Arctan,
    Arctanh,
    ArgReduce,
    ArgSort,
    Clip,
    Compare,
    Cos,
    Cosh,
    Cumsum,
    Elu,
    Erf,
    Expm1,
    LeakyRelu,
    Log1p,
    Logical,
    LogSoftmax,
    LogSumExp,
    Maximum,
    Relu,
    Remainder,
    Select,
    Sigmoid,
    Silu,
    Sin,
    Sinh,
    Softplus,
    Std,
    TakeAlongAxis,
    Tan,
    Tanh,
    ZeroGradient,
)
from .primitives import array_of

if TYPE_CHECKING:
    from .tensor_core import Tensor

__all__ = ["TensorOps", "ValuesIndices", "shape_arg", "check_device", "retained", "without_grad", "initial_gradient",
           "made_from"]


# ---------------------------------------------------------------------- argument helpers


def shape_arg(shape, what: str = "shape") -> tuple[int, ...]:
    """A shape given as ``f(2, 3)`` or ``f((2, 3))``, as a tuple of ints (a ShapeError naming ``what`` otherwise)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise ShapeError(f"{what}: a shape is made of ints, got {shape!r}") from None


_SQRT_HALF = float(np.sqrt(0.5))
_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))


def _number(v, what: str, name: str) -> float:
    """``v`` as a float if it is a real number (not a bool), else an ArgumentError naming ``what`` and ``name``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{what}: {name} must be a number, got {v!r}")
    return float(v)


def _int(v, what: str, name: str) -> int:
    """``v`` as an int if it is one (not a bool), else an ArgumentError naming ``what`` and ``name``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise ArgumentError(f"{what}: {name} must be an int, got {v!r}")
    return int(v)


def _aliases(axis, dim, keepdims, keepdim, what: str):
    """numpy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim`` (the same things): one of each pair."""
    if dim is not None:
        if axis is not None:
            raise ArgumentError(f"{what}: give axis= or dim= (the same thing), not both")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise ArgumentError(f"{what}: give keepdims= or keepdim= (the same thing), not both")
        keepdims = keepdim
    return axis, bool(keepdims)


def _checked_axes(axis, ndim: int, what: str) -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence) as non-negative ints, or a ShapeError naming ``what``."""
    try:
        axes = P.normalize_axis(axis, ndim)
    except (np.exceptions.AxisError, TypeError):
        raise ShapeError(f"{what}: axis {axis!r} is out of range for a tensor with {ndim} axes") from None
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{what}: axis {axis!r} repeats an axis")
    return axes


def _arg_reduce(t: Tensor, axis, keepdims: bool, what: str) -> Tensor:
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise ArgumentError(f"{what}: axis must be one int or None, got {axis!r}")
    if axis is not None:
        _checked_axes(axis, t.ndim, what)
    if t.data.size == 0:
        raise ShapeError(f"{what}: a tensor of shape {t.shape} has no elements to choose from")
    return without_grad(ArgReduce(what, None if axis is None else int(axis), keepdims), t)


def without_grad(rule, *inputs: Tensor) -> Tensor:
    """``Tensor.apply(rule, *inputs)`` recording no node: for the rules whose results are bool or integer tensors
    (comparisons, argmax ...), which never require grad. The engine's listeners (a captured step) still see it."""
    with no_grad():
        return inputs[0].apply(rule, *inputs)


def _compare(t: Tensor, other, op: str):
    """``t op other`` elementwise (one ``Compare``) as a boolean Tensor without a gradient; NotImplemented for an
    ``other`` that is not numbers (so ``t == None`` is False, as for any object)."""
    if not isinstance(other, (int, float, TensorOps, np.ndarray, np.generic)) \
            and np.asarray(other).dtype.kind not in "fiub":
        return NotImplemented
    o = t._lift(other)
    try:
        return without_grad(Compare(op), t, o)
    except ShapeError:  # Tensor.apply's: say it with the comparison's name
        raise ShapeError(f"{op}: shapes {t.shape} and {o.shape} do not broadcast") from None


def _index_array(indices, what: str) -> np.ndarray:
    """``indices`` (an array, a Tensor, a list) as an integer array; integer-valued floats are converted."""
    given = array_of(indices) if isinstance(indices, TensorOps) else indices
    idx = np.asarray(given)
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and np.all(idx == np.round(idx)):
            idx = idx.astype(np.intp)
        else:
            raise DTypeError(f"{what}: indices must be integers, got dtype {idx.dtype}")
    # a converted copy: announced, so that a recording converts each call's indices again
    return idx if idx is given else made_from(idx, functools.partial(_index_array, what=what), given)


def _along_axis(t: Tensor, indices, axis, what: str, broadcast: bool) -> Tensor:
    """``t`` indexed by ``indices`` along ``axis`` and by position along every other axis (one ``TakeAlongAxis``)."""
    idx = _index_array(indices, what)
    if idx.ndim != t.ndim:
        raise ShapeError(f"{what}: indices of shape {idx.shape} need as many axes as the tensor {t.shape}")
    if not isinstance(axis, (int, np.integer)):
        raise ArgumentError(f"{what}: axis must be one int, got {axis!r}")
    (a,) = _checked_axes(axis, t.ndim, what)
    if not broadcast and any(idx.shape[i] > t.shape[i] for i in range(t.ndim) if i != a):
        raise ShapeError(f"{what}: index of shape {idx.shape} is larger than the tensor {t.shape} off axis {a}")
    if broadcast:
        try:
            np.broadcast_shapes(idx.shape, (*t.shape[:a], 1, *t.shape[a + 1:]))
        except ValueError:
            raise ShapeError(f"{what}: indices of shape {idx.shape} do not broadcast with the tensor {t.shape}") \
                from None
    # the indices are an input of the rule (not a setting), so a captured step reads each call's own
    try:
        return t.apply(TakeAlongAxis(a, broadcast), t, t.wrap(idx))
    except IndexError as e:
        raise IndexingError(f"{what}: indices do not fit axis {a} of the tensor {t.shape} ({e})") from None


def _value_read(how: str) -> None:
    """Tell the listeners that a Tensor's values go into Python (for an ``if``, a number in the step): a
    recording (``tm.compile``) could not read them again, so such a step runs eagerly."""
    if not engine.quiet and engine.state.listeners:
        engine.announce("effect", f"the step reads a Tensor's value into Python ({how}), which a replay would not "
                        "read again: do it outside the compiled step")


def made_from(array: np.ndarray, fn, source) -> np.ndarray:
    """``array``, which the library made as ``fn(source)`` (a conversion: labels to integers, data to floats),
    announced to the engine's listeners, so that a recording (``tm.compile``) replays it from each call's
    ``source`` rather than keeping the array it saw."""
    if not engine.quiet and engine.state.listeners:
        engine.announce("made", array, fn, source)
    return array


def initial_gradient(root, gradient) -> np.ndarray:
    """The seed of a walk from ``root``: ``gradient`` (array-like) as a fresh array of ``root``'s dtype, or 1.

    (Here, not in the engine: the conversion of an argument. A recording is told of it, and converts each
    call's gradient again.)
    """
    if gradient is None:
        if root.data.size != 1:
            raise GraphError(f"backward: the output has shape {root.shape}; a gradient can be implied only for a "
                             "one-element output, so pass backward(gradient=...) with the output's shape")
        return np.ones(root.data.shape, dtype=root.data.dtype)
    seed = made_from(np.array(gradient, dtype=root.data.dtype), functools.partial(np.array, dtype=root.data.dtype),
                     gradient)
    if seed.shape != root.data.shape:
        raise ShapeError(f"backward: gradient has shape {seed.shape} but the output has shape {root.shape}")
    return seed


def float_array(data, dtype) -> np.ndarray:
    """``data`` as an array of ``dtype`` (a new one)."""
    return np.asarray(data).astype(dtype)


def broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` without growing it (also used by function, nn)."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _tiled(t: Tensor, reps: tuple[int, ...], what: str) -> Tensor:
    """``t`` (given leading size-1 axes up to ``len(reps)``) tiled ``reps[i]`` times along axis i: one reshape to
    ``(1, s0, 1, s1, ...)``, an ``Expand`` to ``(r0, s0, r1, s1, ...)`` (its gradient sums the copies) and a
    reshape to ``(r0 s0, r1 s1, ...)``."""
    if any(r < 0 for r in reps):
        raise ShapeError(f"{what}: negative repeat count in {reps}")
    shape = (1,) * (len(reps) - t.ndim) + t.shape
    spread = tuple(n for s in shape for n in (1, s))
    wide = tuple(n for r, s in zip(reps, shape, strict=True) for n in (r, s))
    return t.reshape(spread).expand(wide).reshape(tuple(r * s for r, s in zip(reps, shape, strict=True)))


_DEVICE_KINDS = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla")

# the non-leaf tensors whose gradient backward() keeps (retain_grad), by id, with a weak reference to each
_RETAINING: dict[int, weakref.ref] = {}


def retained() -> dict[int, weakref.ref]:
    """The tensors ``retain_grad()`` was called on, by id (for ``Tensor.backward``; empty almost always)."""
    return _RETAINING


def _is_device(v) -> bool:
    """A device as PyTorch code names one: ``"cpu"``, ``"cuda:0"``, or an object with a ``type`` string."""
    if isinstance(v, str):
        return v.split(":")[0] in _DEVICE_KINDS
    return isinstance(getattr(v, "type", None), str)


def check_device(device, what: str) -> None:
    """Accept None or the CPU (``"cpu"``, ``"cpu:0"``, an object whose ``type`` is ``"cpu"``); refuse others."""
    if device is None:
        return
    kind = device.split(":")[0] if isinstance(device, str) else getattr(device, "type", device)
    if kind != "cpu":
        raise ArgumentError(f"{what}: this library computes with numpy on the CPU; device {device!r} is not "
                            "available (drop the device argument, or use 'cpu')")


def _pieces(t: Tensor, cuts: list[int], axis: int) -> list[Tensor]:
    """``t`` cut along ``axis`` before each index of ``cuts`` (numpy's ``array_split`` with indices): slices, whose
    gradients go back into place."""
    n = t.shape[axis]
    bounds = [0, *(min(max(c if c >= 0 else c + n, 0), n) for c in cuts), n]
    lead = (slice(None),) * axis
    return [t[lead + (slice(lo, max(lo, hi)),)] for lo, hi in itertools.pairwise(bounds)]  # noqa: RUF005


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` / ``min(dim)`` return, as PyTorch: the values and the int64 indices along ``dim``."""

    values: Tensor
    indices: Tensor


def values_of(v):
    """The array of a Tensor; anything else as it is (for arguments that may be Tensors, numbers or arrays)."""
    return v.data if isinstance(v, TensorOps) else v


# ---------------------------------------------------------------------- the methods


class TensorOps(InPlaceOps, NumpyProtocol):
    """The named methods of :class:`~tinygrad_mlp.tensor_core.Tensor` (which inherits them): each applies one rule or
    is composed of other ops. The in-place methods and numpy's protocols come from the two mixins."""

    __slots__ = ()
    data: np.ndarray  # the values: a slot of Tensor (declared here for type checkers)

    # ------------------------------------------------------------------ values

    def numpy(self: Tensor) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self: Tensor) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ShapeError(f"item: only a one-element tensor has an item, this one has shape {self.shape}")
        _value_read("item()")
        return self.data.item()

    def __float__(self: Tensor) -> float:
        return self.item()

    def __int__(self: Tensor) -> int:
        """``int(t)`` of a one-element tensor (truncated toward zero), as PyTorch."""
        return int(self.item())

    def __index__(self: Tensor) -> int:
        """A one-element integer tensor used as an index or a count (``range(t)``, ``[...][t]``)."""
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise DTypeError(f"only a one-element integer tensor can be an index, got {self.dtype} of shape "
                             f"{self.shape}")
        return int(self.item())

    def __len__(self: Tensor) -> int:
        if self.ndim == 0:
            raise ArgumentError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __bool__(self: Tensor) -> bool:
        """The truth of a one-element tensor (``bool(Tensor([0.]))`` is False); more elements are refused."""
        if self.data.size != 1:
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use (t.data != 0).any() or .all()")
        _value_read("bool()")
        return bool(self.data.item())

    def __array__(self: Tensor, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(t)`` is ``t``'s values (so ``np.allclose(t, x)`` works); no graph goes with them."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def tolist(self: Tensor):
        """The values as nested Python lists (a float for a 0-d tensor)."""
        _value_read("tolist()")
        return self.data.tolist()

    # Comparisons, == and != included, give boolean Tensors (elementwise, as PyTorch), without a gradient. A Tensor
    # stays hashable by identity, so it can be a dict key or a set member.
    __hash__ = object.__hash__

    def __eq__(self: Tensor, other) -> Tensor:  # type: ignore[override]
        return _compare(self, other, "eq")

    def __ne__(self: Tensor, other) -> Tensor:  # type: ignore[override]
        return _compare(self, other, "ne")

    def __lt__(self: Tensor, other) -> Tensor:
        return _compare(self, other, "lt")

    def __le__(self: Tensor, other) -> Tensor:
        return _compare(self, other, "le")

    def __gt__(self: Tensor, other) -> Tensor:
        return _compare(self, other, "gt")

    def __ge__(self: Tensor, other) -> Tensor:
        return _compare(self, other, "ge")

    # ------------------------------------------------------------------ products

    def matmul(self: Tensor, other) -> Tensor:
        """Matrix product with numpy's rules: 1-D operands are treated as a row / column vector."""
        other = self._lift(other)
        if self.ndim == 0 or other.ndim == 0:
            raise ShapeError(f"matmul: operands must have at least 1 dimension, "
                             f"got shapes {self.shape} and {other.shape}")
        x = self.reshape(1, -1) if self.ndim == 1 else self
        y = other.reshape(-1, 1) if other.ndim == 1 else other
        if x.shape[-1] != y.shape[-2]:
            raise ShapeError(f"matmul: shapes {self.shape} and {other.shape} are not aligned "
                             f"({x.shape[-1]} != {y.shape[-2]})")
        out = self.apply(P.MatMul(), x, y)
        if self.ndim == 1 or other.ndim == 1:
            drop = ([-2] if self.ndim == 1 else []) + ([-1] if other.ndim == 1 else [])
            out = out.reshape(*[n for i, n in enumerate(out.shape) if i - out.ndim not in drop])
        return out

    # ------------------------------------------------------------------ elementwise functions

    def exp(self: Tensor) -> Tensor:
        """Elementwise e**x."""
        return self.apply(P.Exp(), self)

    def log(self: Tensor) -> Tensor:
        """Elementwise natural logarithm (domain x > 0)."""
        return self.apply(P.Log(), self)

    def sqrt(self: Tensor) -> Tensor:
        """Elementwise square root, as ``x ** 0.5`` (domain x > 0 for a finite gradient)."""
        return self**0.5

    def abs(self: Tensor) -> Tensor:
        """Elementwise |x| (``|-0| = 0``; gradient 0 at x = 0, as PyTorch)."""
        return self.apply(Abs(), self)

    def tanh(self: Tensor) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return self.apply(Tanh(), self)

    def sigmoid(self: Tensor) -> Tensor:
        """Elementwise logistic function 1 / (1 + e**-x)."""
        return self.apply(Sigmoid(), self)

    def relu(self: Tensor) -> Tensor:
        """Elementwise max(x, 0)."""
        return self.apply(Relu(), self)

    def clip(self: Tensor, lo: float | None = None, hi: float | None = None) -> Tensor:
        """Limit values to [lo, hi] (either may be None: no limit); gradient 1 inside (boundaries included), 0
        outside. ``lo > hi`` gives ``hi`` everywhere, as numpy. A bound may be a Tensor (it gets the gradient where
        it replaced x) or an array (broadcasting)."""
        if lo is None and hi is None:
            return self
        # one Clip node; the bounds are its inputs (a number becomes a constant of this tensor's dtype), its masks
        # are taken from the values inside the rule (a setting is part of a tm.compile recording)
        bounds = [self._lift(b) for b in (lo, hi) if b is not None]
        return self.apply(Clip(lo is not None, hi is not None), self, *bounds)

    # ------------------------------------------------------------------ reductions
    # Every reduction takes numpy's ``axis=``/``keepdims=`` or, the same, PyTorch's ``dim=``/``keepdim=``.

    def sum(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Sum over ``axis`` (all axes by default)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "sum")
        return self.apply(P.Sum(axis, keepdims), self)

    def mean(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
             dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Arithmetic mean over ``axis``, as ``sum / count``."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "mean")
        total = self.sum(axis, keepdims)  # first, so a bad axis is refused by Sum with a ShapeError
        count = int(np.prod([self.shape[a] for a in P.normalize_axis(axis, self.ndim)]))
        return total / count

    def max(self: Tensor, dim=None, keepdim: bool | None = None, *, axis: int | Sequence[int] | None = None,
            keepdims: bool = False):
        """The largest value, as PyTorch: ``x.max()`` over everything; ``x.max(dim)`` (or ``dim=``) the pair
        ``(values, indices)`` along that axis (a named tuple); ``x.max(other)`` with a Tensor the elementwise
        maximum. numpy's ``axis=`` (an int or a tuple) / ``keepdims=`` give the values alone. Tied maxima share
        the gradient equally."""
        if isinstance(dim, TensorOps):
            return self.apply(Maximum(), *self._operands(dim))
        if dim is None:
            return self.apply(P.Max(axis, bool(keepdims or keepdim)), self)
        if axis is not None:
            raise ArgumentError("max: give axis= or dim= (the same thing), not both")
        if not isinstance(dim, (int, np.integer)):
            raise ArgumentError(f"max: dim must be one int (axis= takes a tuple), got {dim!r}")
        dim = int(dim)
        return ValuesIndices(self.apply(P.Max(dim, bool(keepdim)), self), self.argmax(dim, bool(keepdim)))

    def min(self: Tensor, dim=None, keepdim: bool | None = None, *, axis: int | Sequence[int] | None = None,
            keepdims: bool = False):
        """The smallest value, as ``max`` (``x.min(dim)`` gives ``(values, indices)``), computed as ``-max(-x)``."""
        if isinstance(dim, TensorOps):
            a, b = self._operands(dim)
            return -self.apply(Maximum(), -a, -b)
        if dim is None:
            return -((-self).max(axis=axis, keepdims=bool(keepdims or keepdim)))
        if axis is not None:
            raise ArgumentError("min: give axis= or dim= (the same thing), not both")
        if not isinstance(dim, (int, np.integer)):
            raise ArgumentError(f"min: dim must be one int (axis= takes a tuple), got {dim!r}")
        dim = int(dim)
        return ValuesIndices(-((-self).max(axis=dim, keepdims=bool(keepdim))), self.argmin(dim, bool(keepdim)))

    def argmax(self: Tensor, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        """Index of the largest value over ``axis`` (of the flattened tensor by default): an int64 Tensor, no
        gradient. Ties give the first index."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "argmax")
        return _arg_reduce(self, axis, keepdims, "argmax")

    def argmin(self: Tensor, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        """Index of the smallest value over ``axis``: an int64 Tensor, no gradient."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "argmin")
        return _arg_reduce(self, axis, keepdims, "argmin")

    def var(self: Tensor, axis: int | Sequence[int] | None = None, ddof: float = 0, keepdims: bool = False, *,
            correction: float | None = None, dim: int | Sequence[int] | None = None,
            keepdim: bool | None = None) -> Tensor:
        """Variance over ``axis``: ``sum((x - mean)**2) / (n - ddof)``.

        ``ddof=0`` (numpy's default) is the biased variance; ``ddof=1`` (or PyTorch's ``correction=1``, PyTorch's
        default) the unbiased one. ``n - ddof`` must be positive.
        """
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "var")
        if correction is not None:
            if ddof:
                raise ArgumentError("var: give ddof= or correction= (the same thing), not both")
            ddof = correction
        centered = self - self.mean(axis, keepdims=True)
        count = int(np.prod([self.shape[a] for a in _checked_axes(axis, self.ndim, "var")]))
        if not count - ddof > 0:
            raise ArgumentError(f"var: {count} values with ddof={ddof} leave no degrees of freedom")
        return (centered * centered).sum(axis, keepdims) / (count - ddof)

    def std(self: Tensor, axis: int | Sequence[int] | None = None, ddof: float = 0, keepdims: bool = False, *,
            correction: float | None = None, dim: int | Sequence[int] | None = None,
            keepdim: bool | None = None) -> Tensor:
        """Standard deviation, ``sqrt(var(...))``, with the same arguments (``ddof=0`` by default). Of constant data
        it is 0 with gradient 0, as PyTorch (not ``sqrt``'s infinite slope at 0)."""
        return self.apply(Std(), self.var(axis, ddof, keepdims, correction=correction, dim=dim, keepdim=keepdim))

    def prod(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
             dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Product over ``axis`` (all axes by default).

        Composed of products of halves (a tree of ``log2(n)`` levels of ``Mul``), so the gradient is exact where
        some factors are 0 (it is not ``out / x``), and derivatives of any order come with it.
        """
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "prod")
        axes = _checked_axes(axis, self.ndim, "prod")
        rest = [i for i in range(self.ndim) if i not in axes]
        x = self if list(rest) + list(axes) == list(range(self.ndim)) else self.transpose(tuple(rest + list(axes)))
        lead = tuple(self.shape[i] for i in rest)
        n = int(np.prod([self.shape[a] for a in axes]))
        x = x.reshape(*lead, n)
        if n == 0:  # the empty product is 1 (kept in the graph, with a zero gradient for the empty input)
            x = x.sum(axis=-1, keepdims=True) + 1
        while x.shape[-1] > 1:
            m = x.shape[-1]
            if m % 2:
                x = self.apply(P.Concatenate(-1), x, self.wrap(np.ones((*lead, 1), dtype=self.dtype)))
                m += 1
            x = x[..., : m // 2] * x[..., m // 2:]
        kept = tuple(1 if i in axes else s for i, s in enumerate(self.shape)) if keepdims else lead
        return x.reshape(kept)

    def logsumexp(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
                  dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """``log(sum(exp(x)))`` over ``axis``, stable: the maximum is taken out first (inside the ``LogSumExp``
        rule, for every input's own values), so no exp overflows and large negative values do not all vanish;
        the gradient is ``softmax(x)``."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "logsumexp")
        return self.apply(LogSumExp(_checked_axes(axis, self.ndim, "logsumexp"), keepdims), self)

    def log_softmax(self: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """``x - log(sum(exp(x)))`` along ``axis`` (the last by default); stable for any finite logits (a fused
        primitive)."""
        axis, _ = _aliases(axis, dim, False, None, "log_softmax")
        return self.apply(LogSoftmax(-1 if axis is None else axis), self)

    def softmax(self: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """``exp(x) / sum(exp(x))`` along ``axis`` (the last by default), as ``exp(log_softmax(x))``."""
        return self.log_softmax(axis, dim=dim).exp()

    def cumsum(self: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Cumulative sum along ``axis`` (of the flattened tensor when None, as numpy)."""
        axis, _ = _aliases(axis, dim, False, None, "cumsum")
        if axis is None:
            return self.apply(Cumsum(0), self.reshape(-1))
        (a,) = _checked_axes(axis, self.ndim, "cumsum") if isinstance(axis, (int, np.integer)) else (None,)
        if a is None:
            raise ArgumentError(f"cumsum: axis must be one int (or None), got {axis!r}")
        return self.apply(Cumsum(a), self)

    # ------------------------------------------------------------------ more elementwise functions

    def log1p(self: Tensor) -> Tensor:
        """Elementwise ``log(1 + x)``, exact for tiny x (domain x > -1)."""
        return self.apply(Log1p(), self)

    def expm1(self: Tensor) -> Tensor:
        """Elementwise ``exp(x) - 1``, exact for tiny x."""
        return self.apply(Expm1(), self)

    def sin(self: Tensor) -> Tensor:
        """Elementwise sine."""
        return self.apply(Sin(), self)

    def cos(self: Tensor) -> Tensor:
        """Elementwise cosine."""
        return self.apply(Cos(), self)

    def erf(self: Tensor) -> Tensor:
        """Elementwise error function (exact to float64 rounding)."""
        return self.apply(Erf(), self)

    def softplus(self: Tensor, beta: float = 1.0) -> Tensor:
        """Elementwise ``log(1 + exp(beta * x)) / beta``, stable for any x (a primitive for ``beta = 1``)."""
        if beta == 1:
            return self.apply(Softplus(), self)
        if not beta > 0:
            raise ArgumentError(f"softplus: beta must be > 0, got {beta}")
        return self.apply(Softplus(), self * beta) / beta

    def leaky_relu(self: Tensor, negative_slope: float = 0.01) -> Tensor:
        """Elementwise ``x`` for ``x > 0``, else ``negative_slope * x`` (derivative ``negative_slope`` at 0, as
        PyTorch)."""
        return self.apply(LeakyRelu(_number(negative_slope, "leaky_relu", "negative_slope")), self)

    def elu(self: Tensor, alpha: float = 1.0) -> Tensor:
        """Elementwise ``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

        The exponential is taken only where it is used (elsewhere of 0), so a large positive x cannot overflow
        it and send a NaN back through the unused branch. Derivative 1 for ``x > 0``, ``alpha * exp(x)`` else.
        """
        return self.apply(Elu(_number(alpha, "elu", "alpha")), self)

    def gelu(self: Tensor, approximate: str = "none") -> Tensor:
        """Elementwise GELU, ``x * Phi(x)`` with ``Phi`` the standard normal CDF.

        ``approximate="none"`` (default, PyTorch's) is the exact form ``0.5 x (1 + erf(x / sqrt 2))``;
        ``"tanh"`` the approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))`` (GPT-2's; within
        about 1e-3 of the exact form). Both are exact derivatives of what they compute.
        """
        if approximate == "none":
            return self * ((self * _SQRT_HALF).erf() + 1) * 0.5
        if approximate == "tanh":
            inner = (self + self * self * self * 0.044715) * _SQRT_2_OVER_PI
            return self * (inner.tanh() + 1) * 0.5
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")

    def silu(self: Tensor) -> Tensor:
        """Elementwise ``x * sigmoid(x)`` (also called swish): one ``Silu`` node; ``silu(-inf)`` is NaN."""
        return self.apply(Silu(), self)

    # ------------------------------------------------------------------ dtype

    def astype(self: Tensor, dtype) -> Tensor:
        """This tensor in ``dtype`` (itself if already). To a floating dtype it is differentiable: the gradient
        comes back in this tensor's dtype. To bool or an integer dtype it is a new tensor without a gradient (as
        PyTorch's ``long()``): integers are truncated toward zero."""
        target = any_dtype(dtype, "astype")
        if target == self.data.dtype:
            return self
        if target.kind != "f":  # no gradient to an integer or bool tensor
            return without_grad(P.Cast(target), self)
        return self.apply(P.Cast(target), self)

    def float(self: Tensor) -> Tensor:
        """``astype(float32)``."""
        return self.astype(np.float32)

    def double(self: Tensor) -> Tensor:
        """``astype(float64)``."""
        return self.astype(np.float64)

    # ------------------------------------------------------------------ movement

    def reshape(self: Tensor, *shape) -> Tensor:
        """Same data in a new shape (one entry may be -1); ``reshape(2, 3)`` or ``reshape((2, 3))``."""
        shape = shape_arg(shape)
        if shape == self.shape:
            return self
        return self.apply(P.Reshape(shape), self)

    def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes ``start_dim`` .. ``end_dim`` (all, by default) into one, as PyTorch."""
        n = max(self.ndim, 1)
        if not (-n <= start_dim < n and -n <= end_dim < n) or start_dim % n > end_dim % n:
            raise ShapeError(f"flatten: dims {start_dim}..{end_dim} do not fit a tensor of shape {self.shape}")
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % n, end_dim % n
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(*self.shape[:start], merged, *self.shape[end + 1:])

    def squeeze(self: Tensor, axis: int | Sequence[int] | None = None, *,
                dim: int | Sequence[int] | None = None) -> Tensor:
        """Drop size-1 axes: all of them, or those of ``axis``; an axis of another size is refused (as numpy)."""
        axis, _ = _aliases(axis, dim, False, None, "squeeze")
        axes = tuple(i for i, s in enumerate(self.shape) if s == 1) if axis is None else \
            _checked_axes(axis, self.ndim, "squeeze")
        wrong = [a for a in axes if self.shape[a] != 1]
        if wrong:
            raise ShapeError(f"squeeze: axis {wrong[0]} of shape {self.shape} has size {self.shape[wrong[0]]}, not 1")
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if i not in axes))

    def unsqueeze(self: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Insert a size-1 axis at position ``axis`` (``-1``: at the end), as PyTorch's unsqueeze / numpy's
        expand_dims."""
        axis, _ = _aliases(axis, dim, False, None, "unsqueeze")
        n = self.ndim + 1
        if not isinstance(axis, (int, np.integer)) or not -n <= axis < n:
            raise ShapeError(f"unsqueeze: axis {axis!r} is out of range for a result of {n} axes")
        a = int(axis) % n
        return self.reshape(*self.shape[:a], 1, *self.shape[a:])

    def transpose(self: Tensor, *axes) -> Tensor:
        """Two ints swap those two axes, as PyTorch's ``transpose(dim0, dim1)``: ``m.transpose(0, 1)`` of a matrix
        is its transpose (numpy would read ``(0, 1)`` as "keep the order"; PyTorch wins, see
        docs/coming-from-pytorch.md). Otherwise permute axes as numpy: ``transpose()`` reverses them,
        ``transpose((2, 0, 1))`` (a tuple) or ``transpose(2, 0, 1)`` (three or more ints) lists them all.
        """
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            return self.swapaxes(*axes)
        axes = shape_arg(axes) if axes else tuple(reversed(range(self.ndim)))
        n = self.ndim
        if not all(-n <= a < n for a in axes) or sorted(a % n for a in axes) != list(range(n)):
            raise ShapeError(f"transpose: axes {axes} are not a permutation of the {n} axes of shape {self.shape}")
        return self.apply(P.Transpose(tuple(a % n for a in axes)), self)

    def permute(self: Tensor, *axes) -> Tensor:
        """Reorder the axes: ``permute(2, 0, 1)`` (or a tuple) lists every axis once, as PyTorch."""
        axes = shape_arg(axes)
        n = self.ndim
        if len(axes) != n or not all(-n <= a < n for a in axes) or sorted(a % n for a in axes) != list(range(n)):
            raise ShapeError(f"permute: {axes} is not a permutation of the {n} axes of shape {self.shape}")
        return self.apply(P.Transpose(tuple(a % n for a in axes)), self)

    def swapaxes(self: Tensor, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes (numpy's swapaxes, PyTorch's transpose(a, b))."""
        (a,) = _checked_axes(axis1, self.ndim, "swapaxes")
        (b,) = _checked_axes(axis2, self.ndim, "swapaxes")
        order = list(range(self.ndim))
        order[a], order[b] = order[b], order[a]
        return self.apply(P.Transpose(tuple(order)), self)

    @property
    def T(self: Tensor) -> Tensor:
        """All axes reversed (the matrix transpose for 2-D)."""
        return self.transpose()

    def expand(self: Tensor, *shape) -> Tensor:
        """Broadcast to ``shape`` without copying; the gradient is summed back."""
        return self.apply(P.Expand(shape_arg(shape)), self)

    def flip(self: Tensor, axis: int | Sequence[int] | None = None, *,
             dim: int | Sequence[int] | None = None) -> Tensor:
        """Reverse the order along ``axis`` (all axes by default, as numpy)."""
        axis, _ = _aliases(axis, dim, False, None, "flip")
        axes = _checked_axes(axis, self.ndim, "flip")
        if not axes:
            return self
        return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]

    def take_along_axis(self: Tensor, indices, axis: int) -> Tensor:
        """numpy's ``take_along_axis``: ``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis``;
        ``indices`` (integers) has this tensor's number of axes; its other axes broadcast with this tensor's."""
        return _along_axis(self, indices, axis, "take_along_axis", broadcast=True)

    def gather(self: Tensor, dim: int, index) -> Tensor:
        """PyTorch's ``gather``: ``out[i][j] = x[index[i][j]][j]`` for ``dim=0`` (and so on); ``index`` has this
        tensor's number of axes, and the result its shape."""
        return _along_axis(self, index, dim, "gather", broadcast=False)

    # ------------------------------------------------------------------ PyTorch's names (issues 23 and 28)
    # Where PyTorch and numpy disagree, PyTorch wins (size() is a method; comparisons give bool Tensors); every
    # difference that remains is in docs/coming-from-pytorch.md.

    def size(self: Tensor, dim: int | None = None):
        """The shape (a tuple), or with ``dim`` the length of that axis, as PyTorch's ``size()``. (numpy's
        ``size``, the number of elements, is ``numel()``.)"""
        if dim is None:
            return self.data.shape
        (a,) = _checked_axes(dim, self.ndim, "size")
        return self.data.shape[a]

    def numel(self: Tensor) -> int:
        """The number of elements (numpy's ``size``)."""
        return self.data.size

    nelement = numel

    def is_floating_point(self: Tensor) -> bool:
        """Whether this tensor holds floats (not bools or integers)."""
        return self.data.dtype.kind == "f"

    def expand_as(self: Tensor, other) -> Tensor:
        """``expand`` to ``other``'s shape."""
        return self.expand(*np.shape(values_of(other)))

    def type_as(self: Tensor, other) -> Tensor:
        """``astype`` to ``other``'s dtype."""
        return self.astype(np.asarray(values_of(other)).dtype)

    def allclose(self: Tensor, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """Whether every element is within ``atol + rtol * |other|`` of ``other`` (``torch.allclose``)."""
        return bool(np.allclose(self.data, values_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isclose(self: Tensor, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
        """Elementwise ``|x - other| <= atol + rtol * |other|``: a bool Tensor without a gradient."""
        return self.wrap(np.asarray(np.isclose(self.data, values_of(other), rtol=rtol, atol=atol,
                                               equal_nan=equal_nan)))

    def dim(self: Tensor) -> int:
        """The number of axes (``ndim``)."""
        return self.data.ndim

    ndimension = dim

    def __format__(self: Tensor, spec: str) -> str:
        """``f"{t:.3f}"`` formats the value of a one-element tensor; an empty spec is ``str(t)`` for any tensor."""
        if not spec:
            return str(self)
        if self.data.size != 1:
            raise ShapeError(f"format: only a one-element tensor can be formatted with {spec!r}, "
                             f"this one has shape {self.shape}")
        return format(self.item(), spec)

    def eq(self: Tensor, other) -> Tensor:
        """``self == other`` elementwise: a bool Tensor."""
        return _compare(self, other, "eq")

    def ne(self: Tensor, other) -> Tensor:
        """``self != other`` elementwise: a bool Tensor."""
        return _compare(self, other, "ne")

    def lt(self: Tensor, other) -> Tensor:
        """``self < other`` elementwise: a bool Tensor."""
        return _compare(self, other, "lt")

    def le(self: Tensor, other) -> Tensor:
        """``self <= other`` elementwise: a bool Tensor."""
        return _compare(self, other, "le")

    def gt(self: Tensor, other) -> Tensor:
        """``self > other`` elementwise: a bool Tensor."""
        return _compare(self, other, "gt")

    def ge(self: Tensor, other) -> Tensor:
        """``self >= other`` elementwise: a bool Tensor."""
        return _compare(self, other, "ge")

    def equal(self: Tensor, other) -> bool:
        """True if ``other`` has this tensor's shape and the same values (PyTorch's ``torch.equal``)."""
        o = values_of(other)
        return self.data.shape == np.shape(o) and bool(np.array_equal(self.data, o))

    def any(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Whether any element (over ``axis``) is nonzero: a bool Tensor."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "any")
        return without_grad(AnyAll("any", _checked_axes(axis, self.ndim, "any"), keepdims), self)

    def all(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Whether every element (over ``axis``) is nonzero: a bool Tensor."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "all")
        return without_grad(AnyAll("all", _checked_axes(axis, self.ndim, "all"), keepdims), self)

    def _logical(self: Tensor, other, op: str, what: str) -> Tensor:
        """``op`` (and, or, xor: one ``Logical``) of bool or integer tensors: a Tensor without a gradient."""
        o = self._lift(other)
        if self.data.dtype.kind not in "biu" or o.data.dtype.kind not in "biu":
            raise DTypeError(f"{what}: needs bool or integer tensors, got {self.dtype} and {o.dtype}")
        return without_grad(Logical(op), self, o)

    def __and__(self: Tensor, other) -> Tensor:
        return self._logical(other, "and", "&")

    def __or__(self: Tensor, other) -> Tensor:
        return self._logical(other, "or", "|")

    def __xor__(self: Tensor, other) -> Tensor:
        return self._logical(other, "xor", "^")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self: Tensor) -> Tensor:
        """``~mask``: logical not of a bool tensor (bitwise not of an integer one)."""
        if self.data.dtype.kind not in "biu":
            raise DTypeError(f"~: needs a bool or integer tensor, got {self.dtype}")
        return without_grad(Logical("not"), self)

    def pow(self: Tensor, exponent) -> Tensor:
        """``self ** exponent``."""
        return self**exponent

    def add(self: Tensor, other, *, alpha=1) -> Tensor:
        """``self + alpha * other``."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self: Tensor, other, *, alpha=1) -> Tensor:
        """``self - alpha * other``."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self: Tensor, other) -> Tensor:
        """``self * other``."""
        return self * other

    def div(self: Tensor, other) -> Tensor:
        """``self / other`` (true division)."""
        return self / other

    def neg(self: Tensor) -> Tensor:
        """``-self``."""
        return -self

    def clamp(self: Tensor, min=None, max=None) -> Tensor:
        """PyTorch's name for ``clip(min, max)``."""
        return self.clip(min, max)

    def view(self: Tensor, *shape) -> Tensor:
        """PyTorch's name for ``reshape`` (the result shares nothing a later in-place change could see)."""
        return self.reshape(*shape)

    def view_as(self: Tensor, other) -> Tensor:
        """``reshape`` to ``other``'s shape."""
        return self.reshape(np.shape(values_of(other)))

    def reshape_as(self: Tensor, other) -> Tensor:
        """``reshape`` to ``other``'s shape."""
        return self.reshape(np.shape(values_of(other)))

    def t(self: Tensor) -> Tensor:
        """The transpose of a matrix; a tensor of 0 or 1 axes as it is (PyTorch's ``t()``)."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor of at most 2 axes, got shape {self.shape}; use permute or swapaxes")
        return self if self.ndim < 2 else self.swapaxes(0, 1)

    def mm(self: Tensor, other) -> Tensor:
        """The product of two matrices (2-D only, as PyTorch's ``mm``; ``matmul`` broadcasts)."""
        shape = np.shape(values_of(other))
        if self.ndim != 2 or len(shape) != 2:
            raise ShapeError(f"mm: needs two matrices, got shapes {self.shape} and {shape}")
        return self.matmul(other)

    def bmm(self: Tensor, other) -> Tensor:
        """Batched matrix products of two 3-D tensors, (b, n, k) @ (b, k, m) -> (b, n, m)."""
        shape = np.shape(values_of(other))
        if self.ndim != 3 or len(shape) != 3 or shape[0] != self.shape[0]:
            raise ShapeError(f"bmm: needs two 3-D tensors with the same batch, got shapes {self.shape} and {shape}")
        return self.matmul(other)

    def clone(self: Tensor) -> Tensor:
        """A copy of the values that stays in the graph (its gradient flows back to this tensor)."""
        if self.data.dtype.kind != "f":
            return self.wrap(self.data.copy())
        return self.apply(P.Cast(self.data.dtype), self)  # astype copies: the Cast rule to the same dtype

    @property
    def grad_fn(self: Tensor):
        """The graph record (``engine.Node``) of the op that made this tensor; None for a leaf, as PyTorch."""
        return self.node

    def retain_grad(self: Tensor) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` at the next ``backward()`` (as a leaf's is)."""
        if self.node is not None:
            key = id(self)
            _RETAINING[key] = weakref.ref(self, lambda _: _RETAINING.pop(key, None))

    @property
    def retains_grad(self: Tensor) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        ref = _RETAINING.get(id(self))
        return ref is not None and ref() is self

    def to(self: Tensor, *args, **kwargs) -> Tensor:
        """PyTorch's ``to``: ``to(dtype)``, ``to(other_tensor)`` (its dtype), ``to("cpu")`` / ``to(device)`` (this
        library computes on the CPU: a no-op; any other device is refused), or several of these;
        ``dtype=``, ``device=``, ``copy=`` and ``non_blocking=`` (ignored) as keywords."""
        dtype, device, copy = kwargs.pop("dtype", None), kwargs.pop("device", None), kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise ArgumentError(f"to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, TensorOps):
                dtype = a.data.dtype
            elif _is_device(a):
                device = a
            else:
                dtype = a
        check_device(device, "to")
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if copy and out is self else out

    @property
    def device(self) -> str:
        """``"cpu"``: where the values are (PyTorch's attribute; numpy computes on the CPU)."""
        return "cpu"

    def cpu(self: Tensor) -> Tensor:
        """This tensor (it is on the CPU already)."""
        return self

    def contiguous(self: Tensor) -> Tensor:
        """This tensor (numpy handles any memory layout)."""
        return self

    def masked_fill(self: Tensor, mask, value) -> Tensor:
        """A copy with ``value`` (a number or a 0-d tensor) where the boolean ``mask`` (broadcast to this shape) is
        true; the gradient flows to this tensor where the mask is false, and to ``value`` where true."""
        cond = np.asarray(values_of(mask))
        if cond.dtype != bool:
            raise DTypeError(f"masked_fill: the mask must be boolean, got dtype {cond.dtype}")
        if not broadcasts_to(cond.shape, self.shape):
            raise ShapeError(f"masked_fill: a mask of shape {cond.shape} does not broadcast to {self.shape}")
        fill = self._lift(value)
        if fill.ndim:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {fill.shape}")
        return self.apply(Select(), self.wrap(cond), fill.astype(self.data.dtype), self)

    def norm(self: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
        """The vector ``p``-norm over ``dim`` (all elements by default; ``"fro"`` is 2): ``p`` = 2, 1, ``inf``,
        ``-inf``, 0 (the count of nonzeros, no gradient) or any other positive number."""
        p = 2 if p == "fro" else p
        if p == 2:
            return (self * self).sum(axis=dim, keepdims=keepdim).sqrt()
        if p == 1:
            return self.abs().sum(axis=dim, keepdims=keepdim)
        if p == np.inf:
            return self.abs().max(axis=dim, keepdims=keepdim)
        if p == -np.inf:
            return self.abs().min(axis=dim, keepdims=keepdim)
        if p == 0:
            return (self != 0).astype(self.data.dtype).sum(axis=dim, keepdims=keepdim)
        if not isinstance(p, (int, float, np.number)) or not p > 0:
            raise ArgumentError(f"norm: p must be a positive number, inf, -inf, 0 or 'fro', got {p!r}")
        return (self.abs() ** p).sum(axis=dim, keepdims=keepdim) ** (1 / p)

    def repeat(self: Tensor, *sizes) -> Tensor:
        """PyTorch's ``repeat``: the tensor tiled ``sizes[i]`` times along axis i (more sizes than axes add
        leading axes), as numpy's ``tile``. (numpy's ``repeat``, each element repeated, is ``repeat_interleave``.)"""
        reps = shape_arg(sizes, "repeat")
        if len(reps) < self.ndim:
            raise ShapeError(f"repeat: {len(reps)} sizes for a tensor of {self.ndim} axes (give one per axis)")
        return _tiled(self, reps, "repeat")

    def tile(self: Tensor, *reps) -> Tensor:
        """numpy's ``tile``: repeat the whole tensor ``reps[i]`` times along axis i (fewer reps than axes
        count from the last axis)."""
        reps_t = shape_arg(reps, "tile")
        return _tiled(self, (1,) * (self.ndim - len(reps_t)) + reps_t, "tile")

    def repeat_interleave(self: Tensor, repeats, dim: int | None = None) -> Tensor:
        """Each element repeated ``repeats`` times along ``dim`` (the flattened tensor by default), as numpy's
        ``repeat``; ``repeats`` an int or one int per element along ``dim``."""
        x = self.reshape(-1) if dim is None else self
        (a,) = _checked_axes(0 if dim is None else dim, x.ndim, "repeat_interleave")
        counts = np.asarray(values_of(repeats))
        if counts.dtype.kind not in "iu" or (counts < 0).any():
            raise ArgumentError(f"repeat_interleave: repeats must be non-negative integers, got {repeats!r}")
        if counts.ndim == 0:
            r = int(counts)
            shape = x.shape
            wide = x.unsqueeze(a + 1).expand(*shape[:a + 1], r, *shape[a + 1:])
            return wide.reshape(*shape[:a], shape[a] * r, *shape[a + 1:])
        if counts.shape != (x.shape[a],):
            raise ShapeError(f"repeat_interleave: {counts.size} repeats for an axis of length {x.shape[a]}")
        return x[(slice(None),) * a + (np.repeat(np.arange(x.shape[a]), counts),)]


    # ------------------------------------------------------------------ more elementwise functions (HIPS autograd's
    # numpy coverage and PyTorch's names for them)

    def sinh(self: Tensor) -> Tensor:
        """Elementwise hyperbolic sine."""
        return self.apply(Sinh(), self)

    def cosh(self: Tensor) -> Tensor:
        """Elementwise hyperbolic cosine."""
        return self.apply(Cosh(), self)

    def tan(self: Tensor) -> Tensor:
        """Elementwise tangent."""
        return self.apply(Tan(), self)

    def arcsin(self: Tensor) -> Tensor:
        """Elementwise inverse sine (domain ``|x| <= 1``, a finite gradient inside)."""
        return self.apply(Arcsin(), self)

    def arccos(self: Tensor) -> Tensor:
        """Elementwise inverse cosine (domain ``|x| <= 1``, a finite gradient inside)."""
        return self.apply(Arccos(), self)

    def arctan(self: Tensor) -> Tensor:
        """Elementwise inverse tangent."""
        return self.apply(Arctan(), self)

    def arcsinh(self: Tensor) -> Tensor:
        """Elementwise inverse hyperbolic sine."""
        return self.apply(Arcsinh(), self)

    def arccosh(self: Tensor) -> Tensor:
        """Elementwise inverse hyperbolic cosine (domain ``x >= 1``)."""
        return self.apply(Arccosh(), self)

    def arctanh(self: Tensor) -> Tensor:
        """Elementwise inverse hyperbolic tangent (domain ``|x| < 1``)."""
        return self.apply(Arctanh(), self)

    asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh  # PyTorch's names

    def sign(self: Tensor) -> Tensor:
        """Elementwise -1, 0 or 1; gradient 0."""
        return self.apply(ZeroGradient("sign"), self)

    def floor(self: Tensor) -> Tensor:
        """Elementwise largest whole number <= x; gradient 0."""
        return self.apply(ZeroGradient("floor"), self)

    def ceil(self: Tensor) -> Tensor:
        """Elementwise smallest whole number >= x; gradient 0."""
        return self.apply(ZeroGradient("ceil"), self)

    def trunc(self: Tensor) -> Tensor:
        """Elementwise x rounded toward zero; gradient 0."""
        return self.apply(ZeroGradient("trunc"), self)

    def round(self: Tensor, decimals: int = 0) -> Tensor:
        """Elementwise x rounded to ``decimals`` places, halves to even (numpy's and PyTorch's); gradient 0."""
        if decimals == 0:
            return self.apply(ZeroGradient("round"), self)
        scale = 10.0 ** _int(decimals, "round", "decimals")
        return self.apply(ZeroGradient("round"), self * scale) / scale

    def log2(self: Tensor) -> Tensor:
        """Elementwise base-2 logarithm, ``log(x) / log(2)``."""
        return self.log() * (1 / np.log(2))

    def log10(self: Tensor) -> Tensor:
        """Elementwise base-10 logarithm, ``log(x) / log(10)``."""
        return self.log() * (1 / np.log(10))

    def exp2(self: Tensor) -> Tensor:
        """Elementwise ``2 ** x``."""
        return self._lift(2.0) ** self

    def square(self: Tensor) -> Tensor:
        """Elementwise ``x * x``."""
        return self * self

    def reciprocal(self: Tensor) -> Tensor:
        """Elementwise ``1 / x``."""
        return 1.0 / self

    def rsqrt(self: Tensor) -> Tensor:
        """Elementwise ``1 / sqrt(x)``."""
        return self ** -0.5

    def remainder(self: Tensor, other) -> Tensor:
        """``x - other * floor(x / other)``: the sign of ``other`` (numpy's ``mod``, PyTorch's ``remainder``, and
        ``%``); the gradient for ``other`` is ``-floor(x / other)``."""
        return self.apply(Remainder("floor"), *self._operands(other))

    def fmod(self: Tensor, other) -> Tensor:
        """``x - other * trunc(x / other)``: the sign of ``x`` (C's and PyTorch's ``fmod``)."""
        return self.apply(Remainder("trunc"), *self._operands(other))

    def __mod__(self: Tensor, other) -> Tensor:
        return self.apply(Remainder("floor"), *self._operands(other))

    def __rmod__(self: Tensor, other) -> Tensor:
        return self.apply(Remainder("floor"), *self._operands(other, True))

    def argsort(self: Tensor, dim: int = -1, descending: bool = False) -> Tensor:
        """The int64 indices that sort along ``dim`` (stable), as PyTorch's ``argsort``; no gradient."""
        (a,) = _checked_axes(dim, self.ndim, "argsort") if self.ndim else (0,)
        if self.ndim == 0:
            return without_grad(P.Cast(np.int64), self * 0)
        return without_grad(ArgSort(a, descending), self)

    def sort(self: Tensor, dim: int = -1, descending: bool = False) -> ValuesIndices:
        """``(values, indices)`` sorted along ``dim`` (stable), as PyTorch's ``sort``; the values' gradient goes
        back to where each came from."""
        indices = self.argsort(dim, descending)
        return ValuesIndices(self.take_along_axis(indices, dim) if self.ndim else self, indices)

    def topk(self: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
        """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``, largest first, as PyTorch's
        ``topk``."""
        (a,) = _checked_axes(dim, self.ndim, "topk")
        k = _int(k, "topk", "k")
        if not 0 <= k <= self.shape[a]:
            raise ArgumentError(f"topk: k={k} is out of range for an axis of length {self.shape[a]}")
        order = self.argsort(a, descending=largest)
        indices = order[(slice(None),) * a + (slice(0, k),)]
        return ValuesIndices(self.take_along_axis(indices, a), indices)

    def deg2rad(self: Tensor) -> Tensor:
        """Degrees to radians, ``x * pi / 180``."""
        return self * (np.pi / 180)

    def rad2deg(self: Tensor) -> Tensor:
        """Radians to degrees, ``x * 180 / pi``."""
        return self * (180 / np.pi)

    def logaddexp(self: Tensor, other) -> Tensor:
        """Elementwise ``log(exp(x) + exp(y))`` without overflow: ``max(x, y) + log1p(exp(-|x - y|))``."""
        x, y = self._operands(other)
        top = x.apply(Maximum(), x, y)
        return top + (-(x - y).abs()).exp().log1p()

    def logaddexp2(self: Tensor, other) -> Tensor:
        """Elementwise ``log2(2**x + 2**y)``, as ``logaddexp`` in base 2."""
        x, y = self._operands(other)
        return (x * np.log(2)).logaddexp(y * np.log(2)) * (1 / np.log(2))

    def diff(self: Tensor, n: int = 1, dim: int = -1) -> Tensor:
        """The ``n``-th difference along ``dim`` (the last by default): ``x[1:] - x[:-1]``, n times (numpy's and
        PyTorch's ``diff``)."""
        (a,) = _checked_axes(dim, self.ndim, "diff")
        out = self
        for _ in range(_int(n, "diff", "n")):
            lead = (slice(None),) * a
            out = out[lead + (slice(1, None),)] - out[lead + (slice(None, -1),)]  # noqa: RUF005 (Python 3.10)
        return out

    def roll(self: Tensor, shifts, dims=None) -> Tensor:
        """The elements shifted by ``shifts`` along ``dims`` (of the flattened tensor when None), wrapping around
        (PyTorch's ``roll``, numpy's ``roll(x, shift, axis)``)."""
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shift_list = list(shifts) if isinstance(shifts, (list, tuple)) else [shifts]
        dim_list = list(dims) if isinstance(dims, (list, tuple)) else [dims]
        if len(shift_list) != len(dim_list):
            raise ArgumentError(f"roll: {len(shift_list)} shifts for {len(dim_list)} dims")
        out = self
        for shift, d in zip(shift_list, dim_list, strict=True):
            (a,) = _checked_axes(d, self.ndim, "roll")
            n = self.shape[a]
            index = (np.arange(n) - _int(shift, "roll", "a shift")) % n if n else np.arange(0)
            out = out[(slice(None),) * a + (index,)]
        return out

    def fliplr(self: Tensor) -> Tensor:
        """Reverse the second axis (left-right), as numpy's ``fliplr`` (at least 2 axes)."""
        if self.ndim < 2:
            raise ShapeError(f"fliplr: expects at least 2 axes, got shape {self.shape}")
        return self.flip(1)

    def flipud(self: Tensor) -> Tensor:
        """Reverse the first axis (up-down), as numpy's ``flipud`` (at least 1 axis)."""
        if self.ndim < 1:
            raise ShapeError("flipud: expects at least 1 axis, got a 0-d tensor")
        return self.flip(0)

    # ------------------------------------------------------------------ matrices: diagonals and triangles

    def diagonal(self: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal of the matrices over axes ``dim1``, ``dim2`` (shifted by ``offset``), as a last axis (numpy's
        and PyTorch's ``diagonal``); the gradient goes back onto that diagonal."""
        offset = _int(offset, "diagonal", "offset")
        a, b = _checked_axes((dim1, dim2), self.ndim, "diagonal")
        n, m = self.shape[a], self.shape[b]
        count = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
        rows = np.arange(count) + max(-offset, 0)
        rest = [i for i in range(self.ndim) if i not in (a, b)]
        front = self.permute(a, b, *rest)
        return front[rows, rows + offset].permute(*range(1, len(rest) + 1), 0)

    def trace(self: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The sum of the diagonal (numpy's ``trace``; over ``dim1``, ``dim2`` for more axes)."""
        return self.diagonal(offset, dim1, dim2).sum(axis=-1)

    def diag(self: Tensor, diagonal: int = 0) -> Tensor:
        """Of a vector: the square matrix with it on diagonal ``diagonal`` (zeros elsewhere); of a matrix: that
        diagonal, as a vector (numpy's and PyTorch's ``diag``)."""
        k = _int(diagonal, "diag", "diagonal")
        if self.ndim == 2:
            return self.diagonal(k)
        if self.ndim != 1:
            raise ShapeError(f"diag: expects a vector or a matrix, got shape {self.shape}")
        n = self.shape[0] + abs(k)
        i = np.arange(self.shape[0])
        index = (i + max(-k, 0), i + max(k, 0))
        return self.apply(P.IndexAdd(index, (n, n)), self)

    def tril(self: Tensor, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two axes (on and below diagonal ``diagonal``), zeros above."""
        return self._triangle(_int(diagonal, "tril", "diagonal"), "tril", lower=True)

    def triu(self: Tensor, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two axes (on and above diagonal ``diagonal``), zeros below."""
        return self._triangle(_int(diagonal, "triu", "diagonal"), "triu", lower=False)

    def _triangle(self: Tensor, k: int, what: str, lower: bool) -> Tensor:
        if self.ndim < 2:
            raise ShapeError(f"{what}: expects at least 2 axes, got shape {self.shape}")
        n, m = self.shape[-2:]
        keep = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
        return self * keep.astype(self.data.dtype)

    # ------------------------------------------------------------------ splitting (PyTorch's split; numpy's below)

    def split(self: Tensor, split_size_or_sections, dim: int = 0) -> list[Tensor]:
        """PyTorch's ``split``: pieces of ``split_size_or_sections`` along ``dim`` (an int: that size each, the
        last smaller; a list: those sizes, adding up to the axis). (numpy's ``split(x, n)``, n equal sections, is
        ``tensor_split``, ``chunk`` or ``np.split``.)"""
        (a,) = _checked_axes(dim, self.ndim, "split")
        n = self.shape[a]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size <= 0:
                raise ArgumentError(f"split: the size of a piece must be positive, got {size}")
            sizes = [min(size, n - start) for start in range(0, n, size)] or [0]
        else:
            if not isinstance(split_size_or_sections, (list, tuple, np.ndarray)):
                raise ArgumentError(f"split: expects a size or a list of sizes, got {split_size_or_sections!r}")
            sizes = [_int(k, "split", "a size") for k in split_size_or_sections]
            if sum(sizes) != n or any(k < 0 for k in sizes):
                raise ShapeError(f"split: sizes {sizes} do not add up to the axis' length {n}")
        return _pieces(self, np.cumsum(sizes)[:-1].tolist(), a)

    def tensor_split(self: Tensor, indices_or_sections, dim: int = 0) -> list[Tensor]:
        """numpy's ``array_split`` (PyTorch's ``tensor_split``): an int n gives n pieces as equal as can be (the
        first ones one longer), a list of indices the pieces between them."""
        (a,) = _checked_axes(dim, self.ndim, "tensor_split")
        n = self.shape[a]
        if isinstance(indices_or_sections, (int, np.integer)):
            k = int(indices_or_sections)
            if k <= 0:
                raise ArgumentError(f"tensor_split: the number of sections must be positive, got {k}")
            sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
            return _pieces(self, np.cumsum(sizes)[:-1].tolist(), a)
        if not isinstance(indices_or_sections, (list, tuple, np.ndarray)):
            raise ArgumentError(f"tensor_split: expects a count or a list of indices, got {indices_or_sections!r}")
        return _pieces(self, [_int(i, "tensor_split", "an index") for i in indices_or_sections], a)

    def chunk(self: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
        """PyTorch's ``chunk``: at most ``chunks`` pieces of ``ceil(n / chunks)`` along ``dim``."""
        (a,) = _checked_axes(dim, self.ndim, "chunk")
        if isinstance(chunks, (bool, np.bool_)) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
            raise ArgumentError(f"chunk: chunks must be a positive int, got {chunks!r}")
        return self.split(max(-(-self.shape[a] // int(chunks)), 1), a)

    def unbind(self: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, that axis removed (PyTorch's ``unbind``; ``tuple(t)`` for ``dim=0``)."""
        (a,) = _checked_axes(dim, self.ndim, "unbind")
        return tuple(self[(slice(None),) * a + (i,)] for i in range(self.shape[a]))

    # ------------------------------------------------------------------ conversions named after types (last in the
    # class: below them, `int`, `float` and `bool` in annotations would name these methods)

    def type(self: Tensor, dtype=None):
        """``type(dtype)`` is ``astype(dtype)``; ``type()`` names the dtype (``"float32"``)."""
        return str(self.data.dtype) if dtype is None else self.astype(dtype)

    def long(self: Tensor) -> Tensor:
        """An int64 copy without a gradient (values truncated toward zero)."""
        return self.astype(np.int64)

    def int(self: Tensor) -> Tensor:
        """An int32 copy without a gradient."""
        return self.astype(np.int32)

    def half(self: Tensor) -> Tensor:
        """``astype(float16)``."""
        return self.astype(np.float16)

    def bool(self: Tensor) -> Tensor:
        """A bool copy (nonzero is True) without a gradient."""
        return self.astype(np.bool_)
