"""The named methods of a Tensor (``x.exp()``, ``x.sum(dim=1)``, ``x.reshape(2, 3)`` ...).

:class:`TensorOps` holds them and :class:`~tinygrad_mlp.tensor.Tensor` inherits
them. Each applies one rule (of the basis, :mod:`tinygrad_mlp.primitives`, or of
:mod:`tinygrad_mlp.ops`) or is composed of other methods, so it has no derivative
code of its own. The arguments are checked here, with numpy's names (``axis``,
``keepdims``) and PyTorch's (``dim``, ``keepdim``) both accepted.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import primitives as P
from .errors import ArgumentError, DTypeError, IndexingError, ShapeError
from .inplace import InPlaceOps
from .numpy_protocol import NumpyProtocol
from .ops import (
    Abs,
    Clip,
    Cos,
    Cumsum,
    Elu,
    Erf,
    Expm1,
    LeakyRelu,
    Log1p,
    LogSoftmax,
    LogSumExp,
    Relu,
    Sigmoid,
    Silu,
    Sin,
    Softplus,
    Std,
    TakeAlongAxis,
    Tanh,
)
from .primitives import array_of

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorOps", "shape_arg", "float_dtype"]


# ---------------------------------------------------------------------- argument helpers


def shape_arg(shape, what: str = "shape") -> tuple[int, ...]:
    """A shape given as ``f(2, 3)`` or ``f((2, 3))``, as a tuple of ints (a ShapeError naming ``what`` otherwise)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise ShapeError(f"{what}: a shape is made of ints, got {shape!r}") from None


def float_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` as a numpy dtype if it is a floating one (tensors hold floats), else a DTypeError naming ``what``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{what}: {dtype!r} is not a dtype") from None
    if dt.kind != "f":
        raise DTypeError(f"{what}: dtype must be a floating type, got {dt}")
    return dt


_SQRT_HALF = float(np.sqrt(0.5))
_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))


def _number(v, what: str, name: str) -> float:
    """``v`` as a float if it is a real number (not a bool), else an ArgumentError naming ``what`` and ``name``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{what}: {name} must be a number, got {v!r}")
    return float(v)


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


def _arg_reduce(fn, t: Tensor, axis, keepdims: bool, what: str) -> np.ndarray:
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise ArgumentError(f"{what}: axis must be one int or None, got {axis!r}")
    if axis is not None:
        _checked_axes(axis, t.ndim, what)
    if t.size == 0:
        raise ShapeError(f"{what}: a tensor of shape {t.shape} has no elements to choose from")
    return np.asarray(fn(t.data, axis=axis, keepdims=keepdims))


def _along_axis(t: Tensor, indices, axis, what: str, broadcast: bool) -> Tensor:
    """``t`` indexed by ``indices`` along ``axis`` and by position along every other axis (one ``TakeAlongAxis``)."""
    idx = np.asarray(array_of(indices) if isinstance(indices, TensorOps) else indices)
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and np.all(idx == np.round(idx)):
            idx = idx.astype(np.intp)
        else:
            raise DTypeError(f"{what}: indices must be integers, got dtype {idx.dtype}")
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


def values_of(v):
    """The array of a Tensor; anything else as it is (for arguments that may be Tensors, numbers or arrays)."""
    return v.data if isinstance(v, TensorOps) else v


# ---------------------------------------------------------------------- the methods


class TensorOps(InPlaceOps, NumpyProtocol):
    """The named methods of :class:`~tinygrad_mlp.tensor.Tensor` (which inherits them): each applies one rule or
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
        return self.data.item()

    def __float__(self: Tensor) -> float:
        return self.item()

    def __len__(self: Tensor) -> int:
        if self.ndim == 0:
            raise ArgumentError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __bool__(self: Tensor) -> bool:
        """The truth of a one-element tensor (``bool(Tensor([0.]))`` is False); more elements are refused."""
        if self.data.size != 1:
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use (t.data != 0).any() or .all()")
        return bool(self.data.item())

    def __array__(self: Tensor, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(t)`` is ``t``'s values (so ``np.allclose(t, x)`` works); no graph goes with them."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def tolist(self: Tensor):
        """The values as nested Python lists (a float for a 0-d tensor)."""
        return self.data.tolist()

    # Comparisons, == and != included, give plain boolean arrays (elementwise, as numpy and PyTorch): they have
    # no gradient. A Tensor stays hashable by identity, so it can be a dict key or a set member.
    __hash__ = object.__hash__

    def __eq__(self: Tensor, other) -> np.ndarray:  # type: ignore[override]
        return self.data == values_of(other)

    def __ne__(self: Tensor, other) -> np.ndarray:  # type: ignore[override]
        return self.data != values_of(other)

    def __lt__(self: Tensor, other) -> np.ndarray:
        return self.data < values_of(other)

    def __le__(self: Tensor, other) -> np.ndarray:
        return self.data <= values_of(other)

    def __gt__(self: Tensor, other) -> np.ndarray:
        return self.data > values_of(other)

    def __ge__(self: Tensor, other) -> np.ndarray:
        return self.data >= values_of(other)

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
        # are taken from the values inside the rule (tm.compile replays a mask given as a setting as recorded)
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

    def max(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Maximum over ``axis``; tied maxima share the gradient equally. (A Tensor: see ``argmax`` for where.)"""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "max")
        return self.apply(P.Max(axis, keepdims), self)

    def min(self: Tensor, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Minimum over ``axis``, as ``-max(-x)``."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "min")
        return -((-self).max(axis, keepdims))

    def argmax(self: Tensor, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> np.ndarray:
        """Index of the largest value over ``axis`` (of the flattened tensor by default): an integer array, no
        gradient. Ties give the first index."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "argmax")
        return _arg_reduce(np.argmax, self, axis, keepdims, "argmax")

    def argmin(self: Tensor, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> np.ndarray:
        """Index of the smallest value over ``axis``: an integer array, no gradient."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "argmin")
        return _arg_reduce(np.argmin, self, axis, keepdims, "argmin")

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
        """This tensor in the floating ``dtype`` (itself if already), differentiable: the gradient comes back in
        this tensor's dtype."""
        target = float_dtype(dtype, "astype")
        if target == self.data.dtype:
            return self
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
        """Permute axes as numpy: ``transpose()`` reverses them, ``transpose((2, 0, 1))`` or ``transpose(2, 0, 1)``
        lists them all.

        Two ints swap those two axes, as PyTorch (numpy refuses them unless the tensor has 2 axes). On a 2-D
        tensor ``transpose(0, 1)`` is refused: numpy reads it as "keep the order", PyTorch as "swap", and which
        one you meant cannot be told; write ``.T``, ``swapaxes(0, 1)`` or ``permute(1, 0)``.
        """
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            if self.ndim == 2 and all(-2 <= a < 2 for a in axes) and (axes[0] % 2, axes[1] % 2) == (0, 1):
                raise ArgumentError("transpose(0, 1) of a 2-D tensor is ambiguous (numpy: no change; PyTorch: swap); "
                                    "write .T, swapaxes(0, 1) or permute(1, 0)")
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
