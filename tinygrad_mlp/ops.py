"""The op library: the rules beyond the basis, and every named Tensor method.

The engine needs only :mod:`tinygrad_mlp.primitives` (the basis), the Tensor
core and the walk. Everything here is built on them the way you would add an op
of your own: a rule class with its ``forward``, ``backward``, ``jvp`` and
``derivative`` side by side, applied with ``Tensor.apply``, or a method composed
of other ops (those have no derivative code at all: their graph is made of the
ops they call). The rules here are fused for speed (``Sigmoid``, ``Linear``,
``SquaredError``, ``WeightedLogSum`` replace several nodes by one; ``Maximum``,
``Relu``, ``LeakyRelu``, ``Elu`` and ``Clip`` one or two ``Where`` and their
masks), for numerical stability (``LogSoftmax``, ``LogSumExp``, ``Softplus``,
``Log1p``, ``Expm1``), or are not composable from the basis (``Sin``, ``Cos``,
``Erf``, ``Cumsum``, ``OneHot``, ``TakeAlongAxis``).

A rule that branches on values (a mask, a shift) computes that from its inputs
inside ``forward``/``backward``/``jvp``, never in the method that applies it: a
rule's settings are replayed as recorded by a captured step
(:mod:`tinygrad_mlp.jit`), so a mask given to ``Where`` would be reused on new
data. Index arrays (``OneHot``'s labels, ``TakeAlongAxis``'s indices) are inputs
for the same reason.

:class:`TensorOps` holds the named methods (``x.exp()``, ``x.sum(dim=1)``,
``x.reshape(2, 3)`` ...) and :class:`~tinygrad_mlp.tensor.Tensor` inherits them;
the arguments are checked here, with numpy's names (``axis``, ``keepdims``) and
PyTorch's (``dim``, ``keepdim``) both accepted.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import primitives as P
from .errors import ArgumentError, DTypeError, IndexingError, ShapeError
from .primitives import Function, array_of, is_array, tangent_sum

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorOps", "shape_arg", "float_dtype", "Sigmoid", "Silu", "Tanh", "Maximum", "Relu", "LeakyRelu", "Elu",
           "Clip", "LogSumExp", "LogSoftmax", "WeightedLogSum", "SquaredError", "Linear", "OneHot", "Sin", "Cos",
           "Log1p", "Expm1", "Softplus", "Erf", "Cumsum", "TakeAlongAxis"]


# ---------------------------------------------------------------- activations and maxima, fused for speed


def _exp_limit(dtype) -> np.floating:
    """The largest x of ``dtype`` whose exp is finite (ln(max) rounded in ``dtype`` may round up, past it)."""
    limit = dtype(np.log(np.finfo(dtype).max))
    with np.errstate(over="ignore"):
        while not np.isfinite(np.exp(limit)):
            limit = np.nextafter(limit, dtype(0))
    return limit


_EXP_LIMIT = {np.dtype(t): _exp_limit(t) for t in (np.float16, np.float32, np.float64)}


class Sigmoid(Function):
    """``1 / (1 + exp(-x))``: a primitive (not a composite) for speed.

    ``-x`` is capped where ``exp`` would overflow; in float32 and float64 the result there is
    below the smallest normal number either way (cheaper than silencing the overflow warning).
    float16 is computed in float32 and rounded: its cap (11.09) would give 1.5e-5 for every
    x below -11, and float16 ufuncs are slower than the two casts.
    """

    __slots__ = ()
    derivative = "d sigmoid(z)/dz = sigmoid(z) (1 - sigmoid(z)) = a (1 - a)"

    def forward(self, x):
        if x.dtype == np.float16:
            return self.forward(x.astype(np.float32)).astype(np.float16)
        out = np.negative(x)
        if not x.ndim:  # numpy returns a scalar for a 0-d array, and a scalar cannot be written into
            out = np.array(out)
        np.minimum(out, _EXP_LIMIT.get(x.dtype, 709.0), out=out)
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)

    def backward(self, g, out, x):
        return (g * out * (1 - out),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (out * (1 - out))


def _exact_sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` with ``exp`` allowed to overflow: exactly 0 at -inf (``Sigmoid`` caps instead)."""
    with np.errstate(over="ignore"):  # exp(-x) is inf below about -88 in float32: the sigmoid is then 0
        return 1 / (1 + np.exp(-x))


class Silu(Function):
    """``x * sigmoid(x)`` (swish) in one node instead of two. Its sigmoid is exactly 0 at -inf (not the
    tiny capped value of ``Sigmoid``, which made ``silu(-inf)`` -inf): ``silu(-inf)`` is NaN, ``-inf * 0``,
    as in PyTorch. Silencing the overflow costs about 0.7 us a call, which ``Sigmoid`` (the notes'
    activation) does not pay."""

    __slots__ = ()
    derivative = "d(x sigmoid(x))/dx = s (1 + x (1 - s)), s = sigmoid(x)"

    def forward(self, x):
        with np.errstate(over="ignore", invalid="ignore"):  # exp(-x) = inf far below 0; -inf / inf is NaN
            return x / (1 + np.exp(-x))  # x * sigmoid(x), one product fewer

    def backward(self, g, out, x):
        if not is_array(x):  # create_graph: recorded Tensor ops
            s = x.sigmoid()
            return (g * (s * (x * (1 - s) + 1)),)
        s = _exact_sigmoid(x)
        with np.errstate(invalid="ignore"):  # at -inf: 0 * -inf, NaN like the value
            return (g * (s * (x * (1 - s) + 1)),)

    def jvp(self, tangents, out, x):
        s = _exact_sigmoid(x)
        with np.errstate(invalid="ignore"):
            return tangents[0] * (s * (x * (1 - s) + 1))


class Tanh(Function):
    __slots__ = ()
    derivative = "d tanh(z)/dz = 1 - tanh(z)^2"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, out, x):
        return (g * (1 - out * out),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (1 - out * out)


class Maximum(Function):
    """Elementwise maximum; at ties the gradient is split equally between the two inputs."""

    __slots__ = ()
    derivative = "1 for the larger input, 0 for the other (1/2 each at a tie)"

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, g, out, x, y):
        xv, yv = array_of(x), array_of(y)
        dtype = array_of(out).dtype
        to_x = ((xv > yv) + 0.5 * (xv == yv)).astype(dtype)
        return g * to_x, g * (1 - to_x)

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        to_x = ((x > y) + 0.5 * (x == y)).astype(out.dtype)  # the same split at ties as the backward
        return tangent_sum(None if tx is None else tx * to_x, None if ty is None else ty * (1 - to_x), out.shape)


class Relu(Function):
    """``max(x, 0)``; the derivative at 0 is taken as 0."""

    __slots__ = ()
    derivative = "d relu(z)/dz = 1 if z > 0 else 0"

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, out, x):
        return (g * (array_of(x) > 0),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (x > 0)


def _where(mask: np.ndarray, a: float, b):
    """``b`` with the number ``a`` where ``mask`` is true: ``np.where`` for an array ``b``, the ``Where`` rule for a
    Tensor ``b`` (so a backward written with it can be differentiated again)."""
    if is_array(b):
        return np.where(mask, np.asarray(a, dtype=b.dtype), b)
    return type(b).apply(P.Where(mask), type(b).wrap(np.asarray(a, dtype=b.data.dtype)), b)


class LeakyRelu(Function):
    """``x`` for ``x > 0``, else ``negative_slope * x``; the derivative at 0 is ``negative_slope`` (as PyTorch).

    The mask ``x > 0`` is taken from the input inside the rule, so a captured step (:mod:`tinygrad_mlp.jit`)
    takes it again from every batch's values (a ``Where`` holds its mask as a setting, replayed as recorded).
    """

    __slots__ = ("negative_slope",)
    derivative = "d leaky_relu(z)/dz = 1 if z > 0 else negative_slope"

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        return np.where(x > 0, x, x * self.negative_slope)

    def _slope(self, x: np.ndarray, dtype) -> np.ndarray:
        return np.where(x > 0, np.ones((), dtype), np.asarray(self.negative_slope, dtype))

    def backward(self, g, out, x):
        return (g * self._slope(array_of(x), array_of(out).dtype),)

    def jvp(self, tangents, out, x):
        return tangents[0] * self._slope(x, out.dtype)


class Elu(Function):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``; derivative ``alpha * exp(x)`` for ``x <= 0``.

    The exponential is taken only of the non-positive values (0 in place of the others), so a large positive
    x cannot overflow it. The mask is taken from the input inside the rule, as in :class:`LeakyRelu`.
    """

    __slots__ = ("alpha",)
    derivative = "d elu(z)/dz = 1 if z > 0 else alpha e^z"

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x):
        positive = x > 0
        return np.where(positive, x, np.expm1(_where(positive, 0, x)) * self.alpha)

    def backward(self, g, out, x):
        positive = array_of(x) > 0
        return (g * _where(positive, 1, _exp(_where(positive, 0, x)) * self.alpha),)

    def jvp(self, tangents, out, x):
        positive = x > 0
        return tangents[0] * _where(positive, 1, np.exp(_where(positive, 0, x)) * self.alpha)


class Clip(Function):
    """``x`` limited to ``[lo, hi]``: the inputs are ``x``, then ``lo`` if ``has_lo``, then ``hi`` if ``has_hi``.

    ``x`` below ``lo`` is replaced by ``lo``; then what is above ``hi`` by ``hi`` (so ``lo > hi`` gives ``hi``
    everywhere, as numpy). The gradient goes to ``x`` where it is kept (the bounds included), else to the bound
    that replaced it. The bounds are inputs (numbers become constants), and the masks are taken from the values
    inside the rule, so a captured step (:mod:`tinygrad_mlp.jit`) takes them again from every batch's values.
    """

    __slots__ = ("has_lo", "has_hi")
    derivative = "d clip(x, lo, hi)/dx = 1 where lo <= x <= hi, else 0; the bound that replaced x gets 1"

    def __init__(self, has_lo: bool = True, has_hi: bool = True):
        self.has_lo, self.has_hi = bool(has_lo), bool(has_hi)

    def _bounds(self, bounds: tuple) -> tuple:
        lo = bounds[0] if self.has_lo else None
        return lo, bounds[-1] if self.has_hi else None

    def _masks(self, x: np.ndarray, lo, hi) -> tuple:
        """``below`` (x < lo: replaced by lo) and ``above`` (replaced by hi after that); None for a missing bound."""
        below = None if lo is None else x < lo
        above = None
        if hi is not None:
            above = (x if below is None else np.where(below, lo, x)) > hi
        return below, above

    def forward(self, x, *bounds):
        lo, hi = self._bounds(bounds)
        below, above = self._masks(x, lo, hi)
        out = x if below is None else np.where(below, lo, x)
        return out if above is None else np.where(above, hi, out)

    def backward(self, g, out, x, *bounds, needs_grad=(True, True, True)):
        lo, hi = self._bounds(tuple(array_of(b) for b in bounds))
        below, above = self._masks(array_of(x), lo, hi)
        dtype = array_of(out).dtype
        kept = ~below if above is None else ~above if below is None else ~(below | above)
        grads = [g * kept.astype(dtype) if needs_grad[0] else None]
        if below is not None:
            to_lo = below if above is None else below & ~above
            grads.append(g * to_lo.astype(dtype) if needs_grad[1] else None)
        if above is not None:
            grads.append(g * above.astype(dtype) if needs_grad[-1] else None)
        return tuple(grads)

    def jvp(self, tangents, out, x, *bounds):
        lo, hi = self._bounds(bounds)
        below, above = self._masks(x, lo, hi)
        zero = np.zeros((), dtype=out.dtype)
        tx, t_lo, t_hi = tangents[0], *self._bounds(tangents[1:])
        t = zero if tx is None else tx
        if below is not None:
            t = np.where(below, zero if t_lo is None else t_lo, t)
        if above is not None:
            t = np.where(above, zero if t_hi is None else t_hi, t)
        return np.asarray(t, dtype=out.dtype)  # in out's shape: a bound's mask is in it


# ---------------------------------------------------------------- the losses' and layers' fused rules


class LogSoftmax(Function):
    """``x - log(sum(exp(x)))`` along ``axis``, computed after subtracting the max so no exp overflows.

    Fused into one primitive for numerical stability; it is gradchecked like every other op.
    """

    __slots__ = ("axis",)
    derivative = "I - softmax(x)"

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        # ufunc.reduce rather than np.max/np.sum: the same result without numpy's Python-level wrappers
        out = x - np.maximum.reduce(x, axis=self.axis, keepdims=True)
        out -= np.log(np.add.reduce(np.exp(out), axis=self.axis, keepdims=True))
        return out

    def backward(self, g, out, x):
        # Jacobian of log-softmax is I - softmax: g - softmax * sum(g)
        return (g - _exp(out) * g.sum(axis=self.axis, keepdims=True),)

    def jvp(self, tangents, out, x):
        t = tangents[0]
        return t - np.add.reduce(np.exp(out) * t, axis=self.axis, keepdims=True)


class LogSumExp(Function):
    """``log(sum(exp(x)))`` over ``axes`` (a tuple of non-negative ints), stable: the maximum is taken out first
    (0 where it is not finite: all -inf, or empty), so no exp overflows and large negative values do not all
    vanish. The shift is computed from the input inside the rule, so a captured step (:mod:`tinygrad_mlp.jit`)
    shifts every batch by its own maximum.
    """

    __slots__ = ("axes", "keepdims")
    derivative = "d logsumexp(x)/dx = softmax(x)"

    def __init__(self, axes: tuple[int, ...], keepdims: bool = False):
        self.axes, self.keepdims = tuple(axes), bool(keepdims)

    def _shift(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            top = np.max(x, axis=self.axes, keepdims=True, initial=-np.inf)
        return np.where(np.isfinite(top), top, 0).astype(x.dtype)

    def forward(self, x):
        top = self._shift(x)
        with np.errstate(divide="ignore"):
            out = np.log(np.add.reduce(np.exp(x - top), axis=self.axes, keepdims=True)) + top
        return out if self.keepdims else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def backward(self, g, out, x):
        # softmax as exp(x - shift) / sum: as exact as the forward (exp(x - out) would lose |out| * eps), and the
        # shift is a constant, so with Tensors (create_graph) this is differentiable again
        shifted = _exp(x - self._shift(array_of(x)))
        total = shifted.sum(axis=self.axes, keepdims=True)
        return (g.reshape(total.shape) / total * shifted,)

    def jvp(self, tangents, out, x):
        shifted = np.exp(x - self._shift(x))
        t = np.add.reduce(tangents[0] * shifted, axis=self.axes, keepdims=True) / np.add.reduce(
            shifted, axis=self.axes, keepdims=True)
        return t.reshape(out.shape)


class TakeAlongAxis(Function):
    """``x`` indexed by the integer ``indices`` along ``axis`` and by position along every other axis (numpy's
    ``take_along_axis``, PyTorch's ``gather``); the gradient is scattered back (repeated picks add up).

    ``indices`` (as many axes as ``x``) is an input without a gradient, not a setting, so a captured step
    (:mod:`tinygrad_mlp.jit`) reads each call's own (as ``OneHot`` reads labels). With ``broadcast`` (numpy's
    rule) the other axes of ``indices`` broadcast with ``x``'s; without it (PyTorch's) they may be shorter and
    the result has the shape of ``indices``.
    """

    __slots__ = ("axis", "broadcast")
    derivative = "picks numbers: 1 where picked, 0 elsewhere"

    def __init__(self, axis: int, broadcast: bool = True):
        self.axis, self.broadcast = int(axis), bool(broadcast)

    def _index(self, shape: tuple[int, ...], indices: np.ndarray) -> tuple:
        sizes = shape if self.broadcast else indices.shape
        parts: list[np.ndarray] = []
        for i in range(len(shape)):
            if i == self.axis:
                parts.append(indices)
            else:
                along = [1] * len(shape)
                along[i] = sizes[i]
                parts.append(np.arange(sizes[i]).reshape(along))
        return tuple(parts)

    def forward(self, x, indices):
        return x[self._index(x.shape, indices)]

    def backward(self, g, out, x, indices):
        shape = array_of(x).shape
        scatter = P.IndexAdd(self._index(shape, array_of(indices)), shape)
        return (scatter.forward(g) if is_array(g) else type(g).apply(scatter, g)), None

    def jvp(self, tangents, out, x, indices):
        if tangents[0] is None:
            return np.zeros_like(out)
        return tangents[0][self._index(x.shape, indices)]


class WeightedLogSum(Function):
    """``sum(w * y)`` over ``axis`` (over everything when ``axis`` is None), a term with ``w == 0`` taken as 0 even
    where ``y`` is -inf: the convention ``0 log 0 = 0`` for weights ``w`` and log-probabilities ``y``.

    The cross-entropy's weighted sum of ``log_softmax`` (``cross_entropy`` passes weights ``-q / batch``): one
    node instead of ``Mul`` and ``Sum``, and the masking belongs to the rule, so a captured step
    (:mod:`tinygrad_mlp.jit`) applies it to every batch's values. A nonzero weight on a -inf ``y`` gives an
    infinity, honestly. ``w`` and ``y`` have the same shape.
    """

    __slots__ = ("axis",)
    derivative = "d sum(w y)/dy = w, d sum(w y)/dw = y (a term with w = 0 is 0, also where y = -inf)"

    def __init__(self, axis: int | None = None):
        self.axis = axis

    def forward(self, y, w):
        if w.shape != y.shape:
            raise ValueError(f"weights of shape {w.shape} for values of shape {y.shape}: they must be the same")
        # 0 * -inf is NaN, so where y holds a -inf (a class masked with -inf, or a probability that underflowed)
        # the terms with w == 0 are left out; otherwise the plain product (one reduction cheaper)
        if y.size and np.minimum.reduce(y, axis=None) == -np.inf:
            terms = np.multiply(w, y, out=np.zeros(y.shape, np.result_type(w, y)), where=w != 0)
        else:
            terms = w * y
        return np.asarray(np.add.reduce(terms, axis=self.axis))

    def _expanded(self, g, out):
        """``g`` with the summed axis put back (size 1), so that it broadcasts against the inputs."""
        if self.axis is None:
            return g
        shape = list(array_of(out).shape)
        shape.insert(self.axis % (len(shape) + 1), 1)
        return g.reshape(tuple(shape))

    def backward(self, g, out, y, w, *, needs_grad=(True, True)):
        g = self._expanded(g, out)
        return g * w if needs_grad[0] else None, g * y if needs_grad[1] else None

    def jvp(self, tangents, out, y, w):
        ty, tw = tangents  # at least one is not None
        if tw is None:
            t = ty * w
        else:
            t = tw * y if ty is None else ty * w + tw * y
        return np.asarray(np.add.reduce(t, axis=self.axis), dtype=out.dtype).reshape(out.shape)


class SquaredError(Function):
    """The notes' quadratic cost: ``sum((x - t)**2) / n``, with ``n`` the length of the first axis (the batch).

    For rows that are examples, the squared differences are summed over the outputs
    (the cost C0 of one example) and averaged over the examples. Fused into one node
    for speed (it replaces ``sub``, ``mul``, ``sum`` and ``div``); gradchecked like every op.
    """

    __slots__ = ()
    derivative = "d(sum (x - t)^2 / n)/dx = 2 (x - t) / n, and the negative of that for t"

    def forward(self, x, t):
        d = x - t
        d *= d
        n = x.shape[0] if x.ndim else 1
        return np.asarray(np.add.reduce(d.ravel()) / n)  # ravel: one reduction, numpy's pairwise sum

    def backward(self, g, out, x, t, *, needs_grad=(True, True)):
        n = x.shape[0] if x.ndim else 1  # (arrays and Tensors both have .shape and .ndim)
        gx = (x - t) * (g * (2 / n))
        return gx, -gx if needs_grad[1] else None

    def jvp(self, tangents, out, x, t):
        tx, tt = tangents
        dt = tx if tt is None else (-tt if tx is None else tx - tt)
        n = x.shape[0] if x.ndim else 1
        return np.asarray(np.add.reduce(((x - t) * dt).ravel()) * (2 / n), dtype=out.dtype)


def _sum_rows(v):
    """``v.sum(axis=0)``; for an array, numpy's reduction without the Python-level wrapper of ``.sum``."""
    return np.add.reduce(v, axis=0) if is_array(v) else v.sum(axis=0)


class Linear(Function):
    """``x @ w.T + b`` for a batch ``x`` (batch, in), weight ``w`` (out, in), bias ``b`` (out,).

    The layer of the notes, ``W a + b``, for every row ``a`` of ``x``. Fused into
    one primitive for speed (three ops become one node); the bias gradient is
    the batch sum of ``g``, taken here (not left to the engine's broadcast
    reduction: 2% fewer instructions in a captured 784-16-16-10 step).
    """

    __slots__ = ()
    derivative = "z = x W^T + b: dz/dW = x, dz/dx = W, dz/db = 1"

    def forward(self, x, w, b):
        out = x @ w.T  # numpy raises on mismatched widths; Tensor-level linear() has checked the ranks
        out += b
        return out

    def backward(self, g, out, x, w, b, *, needs_grad=(True, True, True)):
        return (g @ w if needs_grad[0] else None,
                g.T @ x if needs_grad[1] else None,
                _sum_rows(g) if needs_grad[2] else None)

    def jvp(self, tangents, out, x, w, b):
        tx, tw, tb = tangents
        t = None if tx is None else tx @ w.T
        if tw is not None:
            t = x @ tw.T if t is None else t + x @ tw.T
        return tangent_sum(t, tb, out.shape)


class OneHot(Function):
    """Rows of the identity (times ``value``) picked by integer ``labels``: (batch,) -> (batch, num_classes).

    The labels are an input, not a constant, so a captured training step
    (:mod:`tinygrad_mlp.jit`) reads each batch's own. They have no gradient.
    Labels outside ``[0, num_classes)`` raise ``IndexError``: they are read as
    unsigned integers, so a negative label is out of range too instead of
    counting from the end.
    """

    __slots__ = ("num_classes", "dtype", "value", "table")
    derivative = "labels pick rows: no gradient"

    def __init__(self, num_classes: int, dtype=np.float32, value: float = 1.0):
        self.num_classes, self.dtype, self.value = int(num_classes), np.dtype(dtype), float(value)
        self.table = _identity(self.num_classes, self.dtype, self.value)

    def forward(self, labels):
        unsigned = labels.view(_UNSIGNED[labels.dtype.itemsize]) if labels.dtype.kind == "i" else labels
        # take() reads its indices as signed 64-bit: one wider than that could wrap to a negative
        # index, so 64-bit labels are checked here; narrower ones are checked by take() itself
        if (unsigned.dtype.itemsize == 8 and unsigned.size
                and np.maximum.reduce(unsigned) >= self.num_classes) or unsigned.dtype.kind != "u":
            raise IndexError(f"one-hot: labels must lie in [0, {self.num_classes}) and be integers, "
                             f"got {_describe(labels)}")
        try:
            return self.table.take(unsigned, axis=0)
        except IndexError:
            raise IndexError(f"one-hot: labels must lie in [0, {self.num_classes}), got {_describe(labels)}") from None

    def backward(self, g, out, labels):
        return (None,)

    def jvp(self, tangents, out, labels):
        return np.zeros_like(out)


def _describe(labels: np.ndarray) -> str:
    if labels.dtype.kind not in "iu":
        return f"dtype {labels.dtype}"
    return f"values from {labels.min()} to {labels.max()}"


_UNSIGNED = {n: np.dtype(f"u{n}") for n in (1, 2, 4, 8)}


@functools.lru_cache(maxsize=64)
def _identity(n: int, dtype: np.dtype, value: float) -> np.ndarray:
    table = np.eye(n, dtype=dtype) * dtype.type(value)
    table.flags.writeable = False  # shared by every OneHot of the same configuration
    return table


# ---------------------------------------------------------------- more elementwise functions, and a scan


def _sin(v):
    return np.sin(v) if is_array(v) else v.sin()


def _cos(v):
    return np.cos(v) if is_array(v) else v.cos()


def _sigmoid(v):
    return Sigmoid().forward(v) if is_array(v) else v.sigmoid()


def _cumsum_reversed(v, axis: int):
    """``flip(cumsum(flip(v)))`` along ``axis``: the adjoint of a cumulative sum."""
    if is_array(v):
        return np.flip(np.cumsum(np.flip(v, axis), axis=axis), axis)
    return v.flip(axis).cumsum(axis).flip(axis)


def _exp(v):
    return np.exp(v) if is_array(v) else v.exp()


_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)
_erf_object = np.frompyfunc(__import__("math").erf, 1, 1)


class Sin(Function):
    """``sin(x)``; derivative ``cos(x)``."""

    __slots__ = ()
    derivative = "d sin(x)/dx = cos(x)"

    def forward(self, x):
        return np.sin(x)

    def backward(self, g, out, x):
        return (g * _cos(x),)

    def jvp(self, tangents, out, x):
        return tangents[0] * np.cos(x)


class Cos(Function):
    """``cos(x)``; derivative ``-sin(x)``."""

    __slots__ = ()
    derivative = "d cos(x)/dx = -sin(x)"

    def forward(self, x):
        return np.cos(x)

    def backward(self, g, out, x):
        return (-(g * _sin(x)),)

    def jvp(self, tangents, out, x):
        return -(tangents[0] * np.sin(x))


class Log1p(Function):
    """``log(1 + x)``, exact for tiny x (where ``1 + x`` rounds to 1); derivative ``1 / (1 + x)``."""

    __slots__ = ()
    derivative = "d log(1 + x)/dx = 1/(1 + x)"

    def forward(self, x):
        return np.log1p(x)

    def backward(self, g, out, x):
        return (g / (x + 1),)

    def jvp(self, tangents, out, x):
        return tangents[0] / (x + 1)


class Expm1(Function):
    """``exp(x) - 1``, exact for tiny x; derivative ``exp(x) = out + 1``."""

    __slots__ = ()
    derivative = "d(e^x - 1)/dx = e^x"

    def forward(self, x):
        return np.expm1(x)

    def backward(self, g, out, x):
        return (g * (out + 1),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (out + 1)


class Softplus(Function):
    """``log(1 + exp(x))``, computed as ``logaddexp(0, x)`` (no overflow for large x, exact for very negative x);
    derivative ``sigmoid(x)``."""

    __slots__ = ()
    derivative = "d softplus(x)/dx = sigmoid(x)"

    def forward(self, x):
        return np.logaddexp(np.zeros((), dtype=x.dtype), x)

    def backward(self, g, out, x):
        return (g * _sigmoid(x),)

    def jvp(self, tangents, out, x):
        return tangents[0] * Sigmoid().forward(x)


class Erf(Function):
    """The error function ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t**2) dt`` (``math.erf`` per element: exact to
    float64 rounding, numpy has none); derivative ``2/sqrt(pi) * exp(-x**2)``. Used by the exact GELU."""

    __slots__ = ()
    derivative = "d erf(x)/dx = 2/sqrt(pi) e^(-x^2)"

    def forward(self, x):
        return np.asarray(_erf_object(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)

    def backward(self, g, out, x):
        return (g * (_exp(-(x * x)) * _TWO_OVER_SQRT_PI),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (np.exp(-(x * x)) * _TWO_OVER_SQRT_PI)


class Cumsum(Function):
    """Cumulative sum along ``axis``; its adjoint is the cumulative sum of ``g`` taken from the other end."""

    __slots__ = ("axis",)
    derivative = "d(cumsum x)_j/dx_i = 1 for i <= j: the gradient summed from the end"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def backward(self, g, out, x):
        return (_cumsum_reversed(g, self.axis),)

    def jvp(self, tangents, out, x):
        return np.cumsum(tangents[0], axis=self.axis)


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


def _values_of(v):
    """The array of a Tensor; anything else as it is."""
    return v.data if isinstance(v, TensorOps) else v


# ---------------------------------------------------------------------- the methods


class TensorOps:
    """The named methods of :class:`~tinygrad_mlp.tensor.Tensor` (which inherits them): each applies one rule or
    is composed of other ops."""

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
        return self.data == _values_of(other)

    def __ne__(self: Tensor, other) -> np.ndarray:  # type: ignore[override]
        return self.data != _values_of(other)

    def __lt__(self: Tensor, other) -> np.ndarray:
        return self.data < _values_of(other)

    def __le__(self: Tensor, other) -> np.ndarray:
        return self.data <= _values_of(other)

    def __gt__(self: Tensor, other) -> np.ndarray:
        return self.data > _values_of(other)

    def __ge__(self: Tensor, other) -> np.ndarray:
        return self.data >= _values_of(other)

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
        """Elementwise |x|, as ``maximum(x, -x)`` (gradient 0 at x = 0)."""
        return self.apply(Maximum(), self, -self)

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
        """Standard deviation, ``sqrt(var(...))``, with the same arguments (``ddof=0`` by default)."""
        return self.var(axis, ddof, keepdims, correction=correction, dim=dim, keepdim=keepdim).sqrt()

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
