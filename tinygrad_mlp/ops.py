"""The op library's rules: every rule beyond the basis of :mod:`tinygrad_mlp.primitives`.

The engine needs only the basis, the Tensor and the walk. The rules here are built
on them the way you would add an op of your own: a class with its ``forward``,
``backward``, ``jvp`` and ``derivative`` side by side, applied with
``Tensor.apply`` (the named methods of :mod:`tinygrad_mlp.methods` do that). They
are fused for speed (``Sigmoid``, ``Silu``, ``Linear``, ``SquaredError``,
``WeightedLogSum`` replace several nodes by one; ``Maximum``, ``Relu``,
``LeakyRelu``, ``Elu`` and ``Clip`` one or two ``Where`` and their masks), for
numerical stability (``LogSoftmax``, ``LogSumExp``, ``Softplus``, ``Log1p``,
``Expm1``), or are not composable from the basis (``Sin``, ``Cos``, ``Erf``,
``Cumsum``, ``OneHot``, ``TakeAlongAxis``, ``Take``).

A rule that branches on values (a mask, a shift) computes that from its inputs
inside ``forward``/``backward``/``jvp``, never in the method that applies it: a
rule's settings are part of a ``tm.compile`` recording (the contract:
:class:`~tinygrad_mlp.primitives.Function`), so a mask given to ``Where`` would
make a captured step run eagerly. Index arrays (``OneHot``'s labels,
``TakeAlongAxis``'s and ``Take``'s indices) are inputs for the same reason.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

from . import primitives as P
from .errors import ArgumentError
from .primitives import Function, array_of, is_array, tangent_sum

__all__ = ["Sigmoid", "Silu", "Tanh", "Maximum", "Relu", "LeakyRelu", "Elu", "Clip", "LogSumExp", "LogSoftmax",
           "WeightedLogSum", "SquaredError", "Linear", "OneHot", "Sin", "Cos", "Log1p", "Expm1", "Softplus", "Erf",
           "Cumsum", "TakeAlongAxis", "Take", "Select", "Sinh", "Cosh", "Tan", "Arcsin", "Arccos", "Arctan", "Arcsinh",
           "Arccosh", "Arctanh", "ZeroGradient", "Arctan2", "Remainder", "Einsum", "Compare", "Logical", "ArgReduce",
           "AnyAll", "ArgSort"]


# ---------------------------------------------------------------- activations and maxima, fused for speed


def _exp_limit(dtype) -> np.floating:
    """The largest x of ``dtype`` whose exp is finite (ln(max) rounded in ``dtype`` may round up, past it)."""
    limit = dtype(np.log(np.finfo(dtype).max))
    with np.errstate(over="ignore"):
        while not np.isfinite(np.exp(limit)):
            limit = np.nextafter(limit, dtype(0))
    return limit


EXP_LIMIT = {  # (public: the compiled replay writes Sigmoid's body with it)
    np.dtype(t): _exp_limit(t) for t in (np.float16, np.float32, np.float64)}


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
        np.minimum(out, EXP_LIMIT.get(x.dtype, 709.0), out=out)
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


class Abs(Function):
    """``|x|``, with ``|-0| = 0`` (as PyTorch; ``maximum(x, -x)`` gives ``-0`` at 0, so ``1 / abs(0)`` was
    ``-inf``); the derivative at 0 is taken as 0 (``sign(0)``, as PyTorch)."""

    __slots__ = ()
    derivative = "d|z|/dz = sign(z) (0 at z = 0)"

    def forward(self, x):
        return np.abs(x)

    def backward(self, g, out, x):
        return (g * np.sign(array_of(x)),)

    def jvp(self, tangents, out, x):
        return tangents[0] * np.sign(x)


class Std(Function):
    """``sqrt(v)`` of a variance ``v``: the standard deviation, whose derivative at ``v = 0`` (constant data) is
    taken as 0, as PyTorch's ``std`` (``sqrt``'s own is infinite there, and times var's 0 made the gradient NaN)."""

    __slots__ = ()
    derivative = "d sqrt(v)/dv = 1 / (2 sqrt(v)), 0 at v = 0"

    def forward(self, v):
        return np.sqrt(v)

    def backward(self, g, out, v):
        zero = array_of(out) <= 0
        return (_where(zero, 0.0, g * 0.5 / _where(zero, 1.0, out)),)  # finite everywhere, to any order

    def jvp(self, tangents, out, v):
        zero = out <= 0
        return np.where(zero, 0.0, tangents[0] * 0.5 / np.where(zero, 1.0, out)).astype(out.dtype)


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

    The mask ``x > 0`` is taken from the input inside the rule, so a captured step (the contract: ``Function``)
    takes it again from every batch's values (a ``Where`` holds its mask as a setting: see ``Function``).
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
    inside the rule, so a captured step (the contract: ``Function``) takes them again from every batch's values.
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
    vanish. The shift is computed from the input inside the rule, so a captured step (the contract: ``Function``)
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
    (the contract: ``Function``) reads each call's own (as ``OneHot`` reads labels). With ``broadcast`` (numpy's
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


class Take(Function):
    """``x[indices]`` for one integer-valued ``indices`` (numpy's rule): rows of ``x`` picked along axis 0, shape
    ``indices.shape + x.shape[1:]``; the gradient is scattered back (repeated picks add up).

    ``indices`` is an input without a gradient, not a setting, so a captured step (the contract: ``Function``)
    reads each call's own (``t[Tensor(labels)]``, an embedding lookup). Floats are taken when integer-valued;
    negative indices count from the end; anything else out of range raises ``IndexError``.
    """

    __slots__ = ()
    derivative = "picks rows: 1 where picked, 0 elsewhere"

    @staticmethod
    def _rows(indices: np.ndarray) -> np.ndarray:
        if indices.dtype.kind == "f" and not np.all(indices == np.round(indices)):
            raise IndexError(f"indices must be integers, got non-integer values of dtype {indices.dtype}")
        return indices.astype(np.intp, copy=False)

    def forward(self, x, indices):
        return x[self._rows(indices)]

    def backward(self, g, out, x, indices):
        scatter = P.IndexAdd(self._rows(array_of(indices)), array_of(x).shape)
        return (scatter.forward(g) if is_array(g) else type(g).apply(scatter, g)), None

    def jvp(self, tangents, out, x, indices):
        if tangents[0] is None:
            return np.zeros_like(out)
        return tangents[0][self._rows(indices)]


class WeightedLogSum(Function):
    """``sum(w * y)`` over ``axis`` (over everything when ``axis`` is None), a term with ``w == 0`` taken as 0 even
    where ``y`` is -inf: the convention ``0 log 0 = 0`` for weights ``w`` and log-probabilities ``y``.

    The cross-entropy's weighted sum of ``log_softmax`` (``cross_entropy`` passes weights ``-q / batch``): one
    node instead of ``Mul`` and ``Sum``, and the masking belongs to the rule, so a captured step
    (the contract: ``Function``) applies it to every batch's values. A nonzero weight on a -inf ``y`` gives an
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
    (the contract: ``Function``) reads each batch's own. They have no gradient.
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
                             f"got {_label_range(labels)}")
        try:
            return self.table.take(unsigned, axis=0)
        except IndexError:
            raise IndexError(f"one-hot: labels must lie in [0, {self.num_classes}), "
                             f"got {_label_range(labels)}") from None

    def backward(self, g, out, labels):
        return (None,)

    def jvp(self, tangents, out, labels):
        return np.zeros_like(out)


def _label_range(labels: np.ndarray) -> str:
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


# ---------------------------------------------------------------- PyTorch-shaped ops (issues 23 and 28)


# Rules without a gradient, whose results are bool or integer tensors (comparisons, logical ops, argmax, any/all).
# They are rules (not numpy calls on ``.data``) so that a captured step (:mod:`tinygrad_mlp.jit`) sees them and
# replays them on every call's values; the methods apply them without recording a node (their results never
# require grad). Their jvp is a zero tangent.

_COMPARISONS: dict[str, Callable[..., np.ndarray]] = {
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal}
_LOGICAL: dict[str, Callable[..., np.ndarray]] = {
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor, "not": np.invert}


class _NoGradient(Function):
    __slots__ = ()
    derivative = "no gradient (a bool or integer result)"

    def backward(self, g, out, *xs):
        return (None,) * len(xs)

    def jvp(self, tangents, out, *xs):
        return np.zeros(out.shape)


class Compare(_NoGradient):
    """``x op y`` elementwise for op in eq, ne, lt, le, gt, ge: a bool array (broadcasting), no gradient."""

    __slots__ = ("op",)

    def __init__(self, op: str):
        if op not in _COMPARISONS:
            raise ValueError(f"Compare: op must be one of {sorted(_COMPARISONS)}, got {op!r}")
        self.op = op

    def forward(self, x, y):
        return np.asarray(_COMPARISONS[self.op](x, y))


class Logical(_NoGradient):
    """``and``, ``or``, ``xor`` of two, or ``not`` of one, bool (or integer: bitwise) arrays; no gradient."""

    __slots__ = ("op",)

    def __init__(self, op: str):
        if op not in _LOGICAL:
            raise ValueError(f"Logical: op must be one of {sorted(_LOGICAL)}, got {op!r}")
        self.op = op

    def forward(self, *xs):
        return np.asarray(_LOGICAL[self.op](*xs))


class ArgReduce(_NoGradient):
    """The int64 index of the largest (``"argmax"``) or smallest (``"argmin"``) value over ``axis`` (of the
    flattened array for None); ties give the first. No gradient."""

    __slots__ = ("kind", "axis", "keepdims")

    def __init__(self, kind: str, axis: int | None = None, keepdims: bool = False):
        if kind not in ("argmax", "argmin"):
            raise ValueError(f"ArgReduce: kind must be 'argmax' or 'argmin', got {kind!r}")
        self.kind, self.axis, self.keepdims = kind, axis, bool(keepdims)

    def forward(self, x):
        fn = np.argmax if self.kind == "argmax" else np.argmin
        return np.asarray(fn(x, axis=self.axis, keepdims=self.keepdims), dtype=np.int64)


class ArgSort(_NoGradient):
    """The int64 indices that sort ``x`` along ``axis`` (stable; largest first with ``descending``). No gradient:
    ``sort`` and ``topk`` pick the values with them (a ``TakeAlongAxis``, which has one)."""

    __slots__ = ("axis", "descending")

    def __init__(self, axis: int = -1, descending: bool = False):
        self.axis, self.descending = int(axis), bool(descending)

    def forward(self, x):
        if self.descending:  # stable and largest first: sort the negated values (ties keep their order)
            return np.asarray(np.argsort(-x, axis=self.axis, kind="stable"), dtype=np.int64)
        return np.asarray(np.argsort(x, axis=self.axis, kind="stable"), dtype=np.int64)


class AnyAll(_NoGradient):
    """Whether any (``"any"``) or every (``"all"``) element over ``axis`` (a tuple, or None for all) is nonzero:
    a bool array. No gradient."""

    __slots__ = ("kind", "axis", "keepdims")

    def __init__(self, kind: str, axis: tuple[int, ...] | None = None, keepdims: bool = False):
        if kind not in ("any", "all"):
            raise ValueError(f"AnyAll: kind must be 'any' or 'all', got {kind!r}")
        self.kind, self.axis, self.keepdims = kind, axis, bool(keepdims)

    def forward(self, x):
        fn = np.any if self.kind == "any" else np.all
        return np.asarray(fn(x, axis=self.axis, keepdims=self.keepdims))


class Select(Function):
    """``x`` where the boolean ``cond`` is true, else ``y`` (broadcasting); ``cond`` is an input without a gradient
    (not a setting, unlike ``Where``'s), so a captured step (:mod:`tinygrad_mlp.jit`) reads each call's own mask:
    ``masked_fill(x < 0, 0)`` of every batch's values."""

    __slots__ = ()
    derivative = "1 where chosen, 0 elsewhere; the mask has none"

    def forward(self, cond, x, y):
        return np.where(cond, x, y)

    def backward(self, g, out, cond, x, y, *, needs_grad=(False, True, True)):
        mask, dtype = array_of(cond), array_of(out).dtype
        return (None, g * mask.astype(dtype) if needs_grad[1] else None,
                g * (~mask).astype(dtype) if needs_grad[2] else None)

    def jvp(self, tangents, out, cond, x, y):
        zero = np.zeros((), dtype=out.dtype)
        tx, ty = (zero if t is None else t for t in tangents[1:])
        return P.tangent_sum(np.where(cond, tx, ty), None, out.shape)


def _call(v, method: str, fn):
    """``fn(v)`` for an array, ``v.method()`` for a Tensor (so that a backward is differentiable again)."""
    return fn(v) if is_array(v) else getattr(v, method)()


class Sinh(Function):
    """``sinh(x)``; derivative ``cosh(x)``."""

    __slots__ = ()
    derivative = "d sinh(x)/dx = cosh(x)"

    def forward(self, x):
        return np.sinh(x)

    def backward(self, g, out, x):
        return (g * _call(x, "cosh", np.cosh),)

    def jvp(self, tangents, out, x):
        return tangents[0] * np.cosh(x)


class Cosh(Function):
    """``cosh(x)``; derivative ``sinh(x)``."""

    __slots__ = ()
    derivative = "d cosh(x)/dx = sinh(x)"

    def forward(self, x):
        return np.cosh(x)

    def backward(self, g, out, x):
        return (g * _call(x, "sinh", np.sinh),)

    def jvp(self, tangents, out, x):
        return tangents[0] * np.sinh(x)


class Tan(Function):
    """``tan(x)``; derivative ``1 + tan(x)^2``."""

    __slots__ = ()
    derivative = "d tan(x)/dx = 1 + tan(x)^2"

    def forward(self, x):
        return np.tan(x)

    def backward(self, g, out, x):
        return (g * (out * out + 1),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (out * out + 1)


class Arcsin(Function):
    """``arcsin(x)`` (domain ``|x| <= 1``); derivative ``1 / sqrt(1 - x^2)``."""

    __slots__ = ()
    derivative = "d arcsin(x)/dx = 1/sqrt(1 - x^2)"

    def forward(self, x):
        return np.arcsin(x)

    def backward(self, g, out, x):
        return (g / (1 - x * x) ** 0.5,)

    def jvp(self, tangents, out, x):
        return tangents[0] / np.sqrt(1 - x * x)


class Arccos(Function):
    """``arccos(x)`` (domain ``|x| <= 1``); derivative ``-1 / sqrt(1 - x^2)``."""

    __slots__ = ()
    derivative = "d arccos(x)/dx = -1/sqrt(1 - x^2)"

    def forward(self, x):
        return np.arccos(x)

    def backward(self, g, out, x):
        return (-g / (1 - x * x) ** 0.5,)

    def jvp(self, tangents, out, x):
        return -tangents[0] / np.sqrt(1 - x * x)


class Arctan(Function):
    """``arctan(x)``; derivative ``1 / (1 + x^2)``."""

    __slots__ = ()
    derivative = "d arctan(x)/dx = 1/(1 + x^2)"

    def forward(self, x):
        return np.arctan(x)

    def backward(self, g, out, x):
        return (g / (x * x + 1),)

    def jvp(self, tangents, out, x):
        return tangents[0] / (x * x + 1)


class Arcsinh(Function):
    """``arcsinh(x)``; derivative ``1 / sqrt(x^2 + 1)``."""

    __slots__ = ()
    derivative = "d arcsinh(x)/dx = 1/sqrt(x^2 + 1)"

    def forward(self, x):
        return np.arcsinh(x)

    def backward(self, g, out, x):
        return (g / (x * x + 1) ** 0.5,)

    def jvp(self, tangents, out, x):
        return tangents[0] / np.sqrt(x * x + 1)


class Arccosh(Function):
    """``arccosh(x)`` (domain ``x >= 1``); derivative ``1 / sqrt(x^2 - 1)``."""

    __slots__ = ()
    derivative = "d arccosh(x)/dx = 1/sqrt(x^2 - 1)"

    def forward(self, x):
        return np.arccosh(x)

    def backward(self, g, out, x):
        return (g / (x * x - 1) ** 0.5,)

    def jvp(self, tangents, out, x):
        return tangents[0] / np.sqrt(x * x - 1)


class Arctanh(Function):
    """``arctanh(x)`` (domain ``|x| < 1``); derivative ``1 / (1 - x^2)``."""

    __slots__ = ()
    derivative = "d arctanh(x)/dx = 1/(1 - x^2)"

    def forward(self, x):
        return np.arctanh(x)

    def backward(self, g, out, x):
        return (g / (1 - x * x),)

    def jvp(self, tangents, out, x):
        return tangents[0] / (1 - x * x)


_STAIRCASES: dict[str, Callable[..., np.ndarray]] = {"sign": np.sign, "floor": np.floor, "ceil": np.ceil,
                                                     "round": np.round, "trunc": np.trunc}


class ZeroGradient(Function):
    """A piecewise-constant function ``kind`` of x: ``sign``, ``floor``, ``ceil``, ``round`` (halves to even, as
    numpy and PyTorch) or ``trunc``. Its derivative is 0 wherever it exists, and 0 is also what it gives at the
    jumps (as PyTorch and HIPS autograd do), so the gradient of a graph through it is 0 for x."""

    __slots__ = ("kind",)
    derivative = "piecewise constant: derivative 0"

    def __init__(self, kind: str):
        if kind not in _STAIRCASES:
            raise ValueError(f"ZeroGradient: kind must be one of {sorted(_STAIRCASES)}, got {kind!r}")
        self.kind = kind

    @property
    def name(self) -> str:
        return self.kind.capitalize()

    def forward(self, x):
        return _STAIRCASES[self.kind](x)

    def backward(self, g, out, x):
        return (g * 0,)

    def jvp(self, tangents, out, x):
        return np.zeros_like(out)


class Arctan2(Function):
    """``arctan2(y, x)``, the angle of the point ``(x, y)``; derivatives ``x / (x^2 + y^2)`` for y and
    ``-y / (x^2 + y^2)`` for x (undefined at the origin)."""

    __slots__ = ()
    derivative = "d atan2(y, x)/dy = x/(x^2 + y^2), d atan2(y, x)/dx = -y/(x^2 + y^2)"

    def forward(self, y, x):
        return np.arctan2(y, x)

    def backward(self, g, out, y, x, *, needs_grad=(True, True)):
        scale = g / (x * x + y * y)
        return scale * x if needs_grad[0] else None, -(scale * y) if needs_grad[1] else None

    def jvp(self, tangents, out, y, x):
        ty, tx = tangents
        r2 = x * x + y * y
        return tangent_sum(None if ty is None else ty * x / r2, None if tx is None else -(tx * y) / r2, out.shape)


class Remainder(Function):
    """``x - y * floor(x / y)`` (``"floor"``: numpy's ``mod`` and PyTorch's ``remainder``, the sign of ``y``) or
    ``x - y * trunc(x / y)`` (``"trunc"``: C's and PyTorch's ``fmod``, the sign of ``x``). Derivatives 1 for x
    and ``-floor(x / y)`` (or ``-trunc``) for y, away from the jumps where ``x / y`` is a whole number."""

    __slots__ = ("rounding",)
    derivative = "d(x mod y)/dx = 1, d(x mod y)/dy = -floor(x/y)"

    def __init__(self, rounding: str = "floor"):
        if rounding not in ("floor", "trunc"):
            raise ValueError(f"Remainder: rounding must be 'floor' or 'trunc', got {rounding!r}")
        self.rounding = rounding

    def forward(self, x, y):
        return np.mod(x, y) if self.rounding == "floor" else np.fmod(x, y)

    def _quotient(self, x, y):
        q = np.asarray(x) / np.asarray(y)
        return np.floor(q) if self.rounding == "floor" else np.trunc(q)

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        if not needs_grad[1]:
            return g, None
        q = self._quotient(array_of(x), array_of(y)).astype(array_of(out).dtype)  # piecewise constant
        return g, -(g * q)

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return tangent_sum(tx, None if ty is None else -(ty * self._quotient(x, y).astype(out.dtype)), out.shape)


EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Einsum(Function):
    """``np.einsum`` with explicit subscripts: ``inputs`` (one string of letters per operand, a letter repeated
    within one for a diagonal) and ``output`` (letters of the inputs, each at most once; the others are summed).

    ``tm.einsum`` turns any subscripts (implicit output, ``...``) into this form. The backward is einsum itself:
    the gradient for operand i is the einsum of ``g`` with the other operands into operand i's letters, where a
    letter repeated in operand i is given a fresh letter tied to the first by an identity matrix (the gradient
    lives on the diagonal) and a letter only operand i has is brought in by a vector of ones (the gradient is the
    same along it). So it is a linear map of ``g``, differentiable again by the same rule.
    """

    __slots__ = ("inputs", "output")
    derivative = "d einsum/d operand i = einsum of g with the other operands, into operand i's subscripts"

    def __init__(self, inputs: tuple[str, ...], output: str):
        self.inputs, self.output = tuple(inputs), output

    @property
    def spec(self) -> str:
        return ",".join(self.inputs) + "->" + self.output

    def forward(self, *xs):
        return np.asarray(np.einsum(self.spec, *xs, optimize=len(xs) > 2))

    def _adjoint(self, i: int, g, xs: tuple):
        """The gradient for operand ``i``: one einsum of ``g``, the other operands, identities and ones."""
        sub, x = self.inputs[i], xs[i]
        shape, dtype = array_of(x).shape, array_of(g).dtype
        size = dict(zip(sub, shape, strict=True))
        subs = [self.output] + [s for j, s in enumerate(self.inputs) if j != i]
        operands = [g] + [v for j, v in enumerate(xs) if j != i]
        available = set("".join(subs))
        fresh = iter(c for c in EINSUM_LETTERS if c not in set(self.spec))
        renamed, seen = [], set()
        for letter in sub:
            if letter in seen:  # a diagonal: the gradient sits where the fresh letter equals the first
                new = next(fresh)
                operands.append(np.eye(size[letter], dtype=dtype))
                subs.append(letter + new)
                renamed.append(new)
                continue
            seen.add(letter)
            renamed.append(letter)
            if letter not in available:  # summed over in operand i alone: the gradient is the same along it
                operands.append(np.ones(size[letter], dtype=dtype))
                subs.append(letter)
                available.add(letter)
        rule = Einsum(tuple(subs), "".join(renamed))
        if is_array(g):
            return rule.forward(*operands)
        tensor = type(g)
        return tensor.apply(rule, *(v if isinstance(v, tensor) else tensor.wrap(v) for v in operands))

    def backward(self, g, out, *xs, needs_grad=None):
        return tuple(self._adjoint(i, g, xs) if needs_grad is None or needs_grad[i] else None
                     for i in range(len(xs)))

    def jvp(self, tangents, out, *xs):
        total = None
        for i, t in enumerate(tangents):
            if t is not None:
                part = self.forward(*xs[:i], t, *xs[i + 1:])
                total = part if total is None else total + part
        return total


# ---------------------------------------------------------------- decompositions: each fused rule in basis ops
# What a fused rule stands for, written with the basis of :mod:`tinygrad_mlp.primitives` only, so a learner can
# see (``tinygrad-mlp graph --expand``, ``explain --expand``) the ops the fusion saves, and the tests can hold every
# fused rule to it (test_decompositions.py: the same value and the same gradient). A decomposition is a picture of
# one call: the masks and shifts it needs (``Where``'s condition, the max a softmax subtracts) are taken from this
# call's values and recorded as constants, so it is for inspecting and checking, not for ``tm.compile`` to replay.
# Where the fused rule differs on purpose, its decomposition shows the plain formula: ``Sigmoid`` caps exp's
# argument, ``WeightedLogSum`` takes 0 * -inf as 0, ``Log1p``/``Expm1``/``Softplus`` stay exact for tiny or huge x.


__all__ += ["DECOMPOSITIONS", "decompose"]


def _basis(rule: Function, *inputs):
    return type(inputs[0]).apply(rule, *inputs)


def _constant(like, value, name: str | None = None):
    """A constant leaf of ``like``'s dtype (a Tensor that does not require grad)."""
    t = type(like).wrap(np.asarray(value, dtype=array_of(like).dtype))
    if name is not None:
        t.name = name
    return t


def _sigmoid_in_basis(x):
    one = _constant(x, 1)
    return _basis(P.Div(), one, _basis(P.Add(), one, _basis(P.Exp(), _basis(P.Neg(), x))))


def _where_in_basis(cond: np.ndarray, a, b):
    return _basis(P.Where(np.asarray(cond)), a, b)


def _max_constant(x, axis) -> object:
    """The max of ``x`` over ``axis`` (kept), as a constant: a softmax's shift, which changes neither value nor
    gradient, so it is not differentiated (0 where it is not finite)."""
    top = np.max(array_of(x), axis=axis, keepdims=True, initial=-np.inf)
    return _constant(x, np.where(np.isfinite(top), top, 0), "max (a constant)")


def _clip_in_basis(rule: Clip, x, *bounds):
    lo, hi = rule._bounds(bounds)
    below, above = rule._masks(array_of(x), None if lo is None else array_of(lo), None if hi is None else array_of(hi))
    out = x if below is None else _where_in_basis(below, lo, x)
    return out if above is None else _where_in_basis(above, hi, out)


def _logsumexp_in_basis(rule: LogSumExp, x):
    top = _max_constant(x, rule.axes)
    shifted = _basis(P.Exp(), _basis(P.Sub(), x, top))
    out = _basis(P.Add(), _basis(P.Log(), _basis(P.Sum(rule.axes, keepdims=True), shifted)), top)
    if rule.keepdims:
        return out
    return _basis(P.Reshape(tuple(n for i, n in enumerate(x.shape) if i not in rule.axes)), out)


def _logsoftmax_in_basis(rule: LogSoftmax, x):
    shifted = _basis(P.Sub(), x, _max_constant(x, rule.axis))
    total = _basis(P.Sum(rule.axis, keepdims=True), _basis(P.Exp(), shifted))
    return _basis(P.Sub(), shifted, _basis(P.Log(), total))


def _squared_error_in_basis(x, t):
    d = _basis(P.Sub(), x, t)
    n = x.shape[0] if x.ndim else 1
    return _basis(P.Div(), _basis(P.Sum(), _basis(P.Mul(), d, d)), _constant(x, n, "n (batch)"))


def _linear_in_basis(x, w, b):
    return _basis(P.Add(), _basis(P.MatMul(), x, _basis(P.Transpose((1, 0)), w)), b)


def _maximum_in_basis(x, y):
    # the mean of the two one-sided choices: the same value, and at a tie half the gradient to each, as Maximum
    xv, yv = array_of(x), array_of(y)
    both = _basis(P.Add(), _where_in_basis(xv >= yv, x, y), _where_in_basis(xv > yv, x, y))
    return _basis(P.Div(), both, _constant(both, 2))


def _tanh_in_basis(x):
    # 2 / (1 + exp(-2x)) - 1
    e = _basis(P.Exp(), _basis(P.Mul(), _constant(x, -2), x))
    return _basis(P.Sub(), _basis(P.Div(), _constant(x, 2), _basis(P.Add(), _constant(x, 1), e)), _constant(x, 1))


def _elu_in_basis(rule: Elu, x):
    positive = array_of(x) > 0
    e = _basis(P.Exp(), _where_in_basis(positive, _constant(x, 0), x))  # exp of the non-positive values only
    negative_part = _basis(P.Mul(), _constant(x, rule.alpha), _basis(P.Sub(), e, _constant(x, 1)))
    return _where_in_basis(positive, x, negative_part)


def _half_exp_sum(x, sign: float):
    """``(e^x + sign * e^-x) / 2``: cosh for sign +1, sinh for sign -1."""
    e, inverse = _basis(P.Exp(), x), _basis(P.Exp(), _basis(P.Neg(), x))
    both = _basis(P.Add(), e, _basis(P.Mul(), _constant(x, sign), inverse))
    return _basis(P.Div(), both, _constant(x, 2))


def _log_of_x_plus_root(x, shift: float):
    """``log(x + sqrt(x^2 + shift))``: arcsinh for shift +1, arccosh for shift -1."""
    root = _basis(P.Pow(), _basis(P.Add(), _basis(P.Mul(), x, x), _constant(x, shift)), _constant(x, 0.5))
    return _basis(P.Log(), _basis(P.Add(), x, root))


def _arctanh_in_basis(x):
    # log((1 + x) / (1 - x)) / 2
    one = _constant(x, 1)
    ratio = _basis(P.Div(), _basis(P.Add(), one, x), _basis(P.Sub(), one, x))
    return _basis(P.Div(), _basis(P.Log(), ratio), _constant(x, 2))


DECOMPOSITIONS: dict[type, Callable[..., object]] = {
    Sigmoid: lambda rule, x: _sigmoid_in_basis(x),
    Silu: lambda rule, x: _basis(P.Mul(), x, _sigmoid_in_basis(x)),
    Tanh: lambda rule, x: _tanh_in_basis(x),
    Maximum: lambda rule, x, y: _maximum_in_basis(x, y),
    Relu: lambda rule, x: _where_in_basis(array_of(x) > 0, x, _constant(x, 0)),
    LeakyRelu: lambda rule, x: _where_in_basis(array_of(x) > 0, x,
                                               _basis(P.Mul(), x, _constant(x, rule.negative_slope))),
    Elu: _elu_in_basis,
    Clip: _clip_in_basis,
    LogSoftmax: _logsoftmax_in_basis,
    LogSumExp: _logsumexp_in_basis,
    WeightedLogSum: lambda rule, y, w: _basis(P.Sum(rule.axis), _basis(P.Mul(), w, y)),
    SquaredError: lambda rule, x, t: _squared_error_in_basis(x, t),
    Linear: lambda rule, x, w, b: _linear_in_basis(x, w, b),
    Log1p: lambda rule, x: _basis(P.Log(), _basis(P.Add(), _constant(x, 1), x)),
    Expm1: lambda rule, x: _basis(P.Sub(), _basis(P.Exp(), x), _constant(x, 1)),
    Softplus: lambda rule, x: _basis(P.Log(), _basis(P.Add(), _constant(x, 1), _basis(P.Exp(), x))),
    Select: lambda rule, cond, x, y: _where_in_basis(array_of(cond), x, y),
    Sinh: lambda rule, x: _half_exp_sum(x, -1.0),
    Cosh: lambda rule, x: _half_exp_sum(x, 1.0),
    Arcsinh: lambda rule, x: _log_of_x_plus_root(x, 1.0),
    Arccosh: lambda rule, x: _log_of_x_plus_root(x, -1.0),
    Arctanh: lambda rule, x: _arctanh_in_basis(x),
}


def decompose(rule: Function, *inputs):
    """``rule`` applied to the Tensors ``inputs`` as a graph of basis ops (:data:`DECOMPOSITIONS`), for a fused
    rule; ``None`` for a rule that has none (a basis op, or one not composable from the basis: ``Sin``, ``Erf``,
    ``Cumsum``, ``OneHot``, ``TakeAlongAxis``, ``Take``)."""
    make = DECOMPOSITIONS.get(type(rule))
    if make is None:
        return None
    if not inputs or not all(hasattr(x, "node") and hasattr(type(x), "apply") for x in inputs):
        raise ArgumentError(f"decompose: {rule.name}'s inputs must be Tensors, got "
                            f"{', '.join(type(x).__name__ for x in inputs) or 'none'}")
    try:
        inspect.signature(make).bind(rule, *inputs)
    except TypeError:
        raise ArgumentError(f"decompose: {rule.name} does not take {len(inputs)} inputs") from None
    return make(rule, *inputs)
