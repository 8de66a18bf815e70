"""The primitive operations (the rules): each one's forward, backward, jvp and derivative side by side.

A rule is a small class holding only its configuration (an axis, a shape ...),
never graph state. The engine (:mod:`tinygrad_mlp.engine`) keeps the graph and
calls the rule's methods with plain values:

* ``forward(*xs)`` computes the result from the inputs' numpy arrays;
* ``backward(g, out, *xs)`` is the op's vector-Jacobian product: given ``g``, the
  gradient of the final scalar with respect to ``out``, it returns a tuple with
  the gradient with respect to each input (``None`` where it has none). A rule
  that can skip work for inputs nobody needs declares a keyword parameter
  ``needs_grad``; the engine then passes one bool per input (and only then);
* ``jvp(tangents, out, *xs)`` is its Jacobian-vector product, for forward mode
  (:func:`tinygrad_mlp.autograd.jvp`): given one tangent per input (an array of
  that input's shape, or ``None`` for a zero tangent), it returns the tangent of
  ``out``, in ``out``'s shape. It is called with arrays only, and only while a
  ``jvp`` is running; the ordinary path never touches it;
* ``derivative`` is one line saying what the derivative is, for people
  (``viz.explain_backward`` prints it).

Apply a rule with ``Tensor.apply(Rule(config), *tensors)``; a new op is one new
class here (or in your own code) plus, if you like, a Tensor method calling it.
Every other operation of :class:`~tinygrad_mlp.tensor.Tensor` (``sub``, ``mean``,
``softmax``, ``sqrt``, ``abs``, ``clip``, ``stack`` ...) is composed from these, so
the graph a reader inspects is made only of the ops in this file.

Each backward is written once, with operators and methods that numpy arrays and
Tensors share (``*``, ``@``, ``.sum``, ``.reshape`` ...). The engine calls it with
arrays on the ordinary first-order path (fast), or with Tensors when asked for
``create_graph=True``, so the backward pass is itself recorded and can be
differentiated again. The few helpers below (``_exp``, ``_log``, ``_expand``,
``_scatter``, ``_value``) are where the two kinds need different spellings.

A backward may return a gradient in the broadcast shape of ``out``; the engine
sums it back to the input's shape (:func:`tinygrad_mlp.engine.pullback`), the one
place where broadcasting is undone.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

_ARRAY_TYPES = (np.ndarray, np.generic)


def _is_array(v) -> bool:
    return isinstance(v, _ARRAY_TYPES)


def _value(v) -> np.ndarray:
    """The plain array behind ``v``: used for masks and other non-differentiable factors."""
    return v if _is_array(v) else v.data


def _exp(v):
    return np.exp(v) if _is_array(v) else v.exp()


def _log(v):
    return np.log(v) if _is_array(v) else v.log()


def _expand(v, shape: tuple[int, ...]):
    if _is_array(v):
        out = np.empty(shape, dtype=v.dtype)  # a filled copy: much cheaper than np.broadcast_to for small arrays
        out[...] = v
        return out
    return type(v).apply(Expand(shape), v)


def _scatter(g, index, shape: tuple[int, ...]):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    if _is_array(g):
        return IndexAdd(index, shape).forward(g)
    return type(g).apply(IndexAdd(index, shape), g)


def _sum_rows(v):
    """``v.sum(axis=0)``; for an array, numpy's reduction without the Python-level wrapper of ``.sum``."""
    return np.add.reduce(v, axis=0) if _is_array(v) else v.sum(axis=0)


def _swap_last_two(v):
    axes = (*range(v.ndim - 2), v.ndim - 1, v.ndim - 2)
    return v.transpose(axes)


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence; negatives allowed) as a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:  # a 0-d array has no axis 0, as in numpy
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for an array of dimension {ndim}")
    return tuple(int(a) % ndim for a in axes)


def _axis_arg(axis):
    """``axis`` as numpy's reductions take it: None, an int, or a tuple (a list becomes a tuple)."""
    return axis if axis is None or isinstance(axis, (int, np.integer)) else tuple(axis)


def _keepdims_shape(shape: tuple[int, ...], axis) -> tuple[int, ...]:
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _full(t, shape: tuple[int, ...]):
    """A tangent in the output's ``shape`` (a broadcast view when an input was broadcast)."""
    return t if t.shape == shape else np.broadcast_to(t, shape)


def _tangent_sum(a, b, shape: tuple[int, ...]):
    """``a + b`` in ``shape``, where ``None`` is a zero tangent (at least one of them is not ``None``)."""
    if a is None:
        return _full(b, shape)
    return _full(a if b is None else a + b, shape)


class Function:
    """Base class of the rules: subclass it, define ``forward`` and ``backward`` (and ``jvp``, ``derivative``)."""

    __slots__ = ()
    forward: Callable[..., np.ndarray]  # forward(*xs): the result, from the inputs' arrays
    backward: Callable[..., tuple]  # backward(g, out, *xs[, needs_grad=...]): one gradient (or None) per input
    derivative = ""  # one line for people: what the derivative is (printed by viz.explain_backward)
    takes_needs_grad = False  # set for each subclass: does its backward take the keyword needs_grad?

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        backward = getattr(cls, "backward", None)
        cls.takes_needs_grad = backward is not None and "needs_grad" in inspect.signature(backward).parameters

    def jvp(self, tangents, out, *xs):
        raise NotImplementedError(f"{self.name} has no forward-mode rule: define jvp(tangents, out, *xs) "
                                  "to use it inside autograd.jvp")

    @property
    def name(self) -> str:
        return type(self).__name__


# ---------------------------------------------------------------- elementwise, two inputs (broadcasting)


class Add(Function):
    __slots__ = ()
    derivative = "d(x + y)/dx = 1, d(x + y)/dy = 1"

    def forward(self, x, y):
        return x + y

    def backward(self, g, out, x, y):
        return g, g

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return _tangent_sum(tx, ty, out.shape)


class Sub(Function):
    __slots__ = ()
    derivative = "d(x - y)/dx = 1, d(x - y)/dy = -1"

    def forward(self, x, y):
        return x - y

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        return g, -g if needs_grad[1] else None

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return _tangent_sum(tx, None if ty is None else -ty, out.shape)


class Mul(Function):
    __slots__ = ()
    derivative = "d(x y)/dx = y, d(x y)/dy = x"

    def forward(self, x, y):
        return x * y

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        return g * y if needs_grad[0] else None, g * x if needs_grad[1] else None

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return _tangent_sum(None if tx is None else tx * y, None if ty is None else x * ty, out.shape)


class Div(Function):
    __slots__ = ()
    derivative = "d(x / y)/dx = 1/y, d(x / y)/dy = -x/y^2"

    def forward(self, x, y):
        return x / y

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        # d(x/y)/dy = -x/y^2 = -out/y
        return g / y if needs_grad[0] else None, -(g * out) / y if needs_grad[1] else None

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return _tangent_sum(None if tx is None else tx / y, None if ty is None else -(ty * out) / y, out.shape)


class Pow(Function):
    """``x ** y``. Each gradient is only formed when its input needs one (``out * log x`` is not free).

    ``y - 1`` and ``log x`` are taken in the result's dtype (a cast), as the forward is: a float16 exponent
    of a float64 base must not round ``y - 1`` in float16.

    At a zero base the textbook formulas meet ``0 * inf``: ``y * x**(y-1)`` at ``x = y = 0`` (the derivative
    of ``x**0``, 0; reached by ``x**1`` and ``x**2`` in higher derivatives) and ``x**y * log x`` at ``x = 0``
    for ``y >= 0`` (the derivative of ``0**y`` in ``y``, 0). There the base is replaced by 1 inside the
    formula, which gives those exact values and, unlike masking the result, sends no NaN back through the
    unused branch when the backward itself is differentiated.
    """

    __slots__ = ()
    derivative = "d(x^p)/dx = p x^(p-1), d(x^p)/dp = x^p log x"

    def forward(self, x, y):
        return x**y

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        dtype = _value(out).dtype  # (a cast, not a product with a 0-d array: 0-d operands do not promote Tensors)
        xv, yv = _value(x), _value(y)
        gx = gy = None
        if needs_grad[0]:
            gx = g * y * _base_one_where(x, (xv == 0) & (yv == 0)) ** (_astype(y, dtype) - 1)
        if needs_grad[1]:
            gy = g * out * _log(_astype(_base_one_where(x, (xv == 0) & (yv >= 0)), dtype))
        return gx, gy

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        dx = None if tx is None else tx * y * np.where((x == 0) & (y == 0), 1, x) ** (y.astype(out.dtype) - 1)
        dy = None if ty is None else ty * out * np.log(np.where((x == 0) & (y >= 0), 1, x).astype(out.dtype))
        return _tangent_sum(dx, dy, out.shape)


def _base_one_where(x, mask: np.ndarray):
    """``x`` with 1 where ``mask`` is true (``x`` itself, untouched, when it is nowhere true)."""
    if not mask.any():
        return x
    if _is_array(x):
        return np.where(mask, np.ones((), dtype=x.dtype), x)
    return type(x).apply(Where(mask), type(x)._make(np.ones((), dtype=x.data.dtype)), x)


class Maximum(Function):
    """Elementwise maximum; at ties the gradient is split equally between the two inputs."""

    __slots__ = ()
    derivative = "1 for the larger input, 0 for the other (1/2 each at a tie)"

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, g, out, x, y):
        xv, yv = _value(x), _value(y)
        dtype = _value(out).dtype
        to_x = ((xv > yv) + 0.5 * (xv == yv)).astype(dtype)
        return g * to_x, g * (1 - to_x)

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        to_x = ((x > y) + 0.5 * (x == y)).astype(out.dtype)  # the same split at ties as the backward
        return _tangent_sum(None if tx is None else tx * to_x, None if ty is None else ty * (1 - to_x), out.shape)


# ---------------------------------------------------------------- elementwise, one input


class Neg(Function):
    __slots__ = ()
    derivative = "d(-x)/dx = -1"

    def forward(self, x):
        return -x

    def backward(self, g, out, x):
        return (-g,)

    def jvp(self, tangents, out, x):
        return -tangents[0]


class Exp(Function):
    __slots__ = ()
    derivative = "d(e^x)/dx = e^x"

    def forward(self, x):
        return np.exp(x)

    def backward(self, g, out, x):
        return (g * out,)

    def jvp(self, tangents, out, x):
        return tangents[0] * out


class Log(Function):
    __slots__ = ()
    derivative = "d(log x)/dx = 1/x"

    def forward(self, x):
        return np.log(x)

    def backward(self, g, out, x):
        return (g / x,)

    def jvp(self, tangents, out, x):
        return tangents[0] / x


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

    ``-x`` is capped where ``exp`` would overflow; the result there is below the
    smallest normal number either way (cheaper than silencing the overflow warning).
    """

    __slots__ = ()
    derivative = "d sigmoid(z)/dz = sigmoid(z) (1 - sigmoid(z)) = a (1 - a)"

    def forward(self, x):
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


class Tanh(Function):
    __slots__ = ()
    derivative = "d tanh(z)/dz = 1 - tanh(z)^2"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, out, x):
        return (g * (1 - out * out),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (1 - out * out)


class Relu(Function):
    """``max(x, 0)``; the derivative at 0 is taken as 0."""

    __slots__ = ()
    derivative = "d relu(z)/dz = 1 if z > 0 else 0"

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, out, x):
        return (g * (_value(x) > 0),)

    def jvp(self, tangents, out, x):
        return tangents[0] * (x > 0)


# ---------------------------------------------------------------- reductions


class Sum(Function):
    __slots__ = ("axis", "keepdims")
    derivative = "d(sum x)/dx_i = 1 for every i"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = _axis_arg(axis), keepdims

    def forward(self, x):
        if self.axis is not None:
            normalize_axis(self.axis, x.ndim)  # refuses axis 0 of a 0-d array, which numpy's reduce lets through
        return np.add.reduce(x, axis=self.axis, keepdims=self.keepdims)  # ndarray.sum minus a Python-level wrapper

    def backward(self, g, out, x):
        # every input element contributed once to its sum: copy g back over the summed axes
        return (_expand(g.reshape(_keepdims_shape(x.shape, self.axis)), x.shape),)

    def jvp(self, tangents, out, x):
        return np.add.reduce(tangents[0], axis=self.axis, keepdims=self.keepdims)


class Max(Function):
    """Maximum over axes; tied maxima share the gradient equally."""

    __slots__ = ("axis", "keepdims")
    derivative = "1 for the largest element, 0 for the others (tied maxima share it equally)"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = _axis_arg(axis), keepdims

    def forward(self, x):
        if self.axis is not None:
            normalize_axis(self.axis, x.ndim)  # as in Sum
        return np.maximum.reduce(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, out, x):
        xv, kept = _value(x), _keepdims_shape(x.shape, self.axis)
        is_max = xv == _value(out).reshape(kept)
        share = (is_max / is_max.sum(axis=self.axis, keepdims=True)).astype(xv.dtype)
        return (_expand(g.reshape(kept), xv.shape) * share,)

    def jvp(self, tangents, out, x):
        is_max = x == out.reshape(_keepdims_shape(x.shape, self.axis))
        share = (is_max / is_max.sum(axis=self.axis, keepdims=True)).astype(x.dtype)
        return np.add.reduce(tangents[0] * share, axis=self.axis, keepdims=self.keepdims)


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
        n = _value(x).shape[0] if _value(x).ndim else 1
        gx = (x - t) * (g * (2 / n))
        return gx, -gx if needs_grad[1] else None

    def jvp(self, tangents, out, x, t):
        tx, tt = tangents
        dt = tx if tt is None else (-tt if tx is None else tx - tt)
        n = x.shape[0] if x.ndim else 1
        return np.asarray(np.add.reduce(((x - t) * dt).ravel()) * (2 / n), dtype=out.dtype)


# ---------------------------------------------------------------- linear algebra


class MatMul(Function):
    """``x @ y`` for arrays of 2 or more dimensions (leading dimensions broadcast)."""

    __slots__ = ()
    derivative = "d(W a)_i/dW_ij = a_j, d(W a)_i/da_j = W_ij"

    def forward(self, x, y):
        if x.ndim < 2 or y.ndim < 2:
            raise ValueError("matmul primitive needs 2-D or higher operands")
        return x @ y

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        return (g @ _swap_last_two(y) if needs_grad[0] else None,
                _swap_last_two(x) @ g if needs_grad[1] else None)

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return _tangent_sum(None if tx is None else tx @ y, None if ty is None else x @ ty, out.shape)


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
        return _tangent_sum(t, tb, out.shape)


# ---------------------------------------------------------------- movement (no arithmetic)


class Reshape(Function):
    __slots__ = ("shape",)
    derivative = "moves numbers, derivative 1"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, g, out, x):
        return (g.reshape(x.shape),)

    def jvp(self, tangents, out, x):
        return tangents[0].reshape(out.shape)


class Transpose(Function):
    __slots__ = ("axes",)
    derivative = "moves numbers, derivative 1"

    def __init__(self, axes: tuple[int, ...]):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g, out, x):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (g.transpose(tuple(inverse)),)

    def jvp(self, tangents, out, x):
        return tangents[0].transpose(self.axes)


class Expand(Function):
    """Broadcast ``x`` to ``shape``. Its backward returns ``g`` as is: the engine sums it back down."""

    __slots__ = ("shape",)
    derivative = "copies numbers: the copies' gradients add up"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, g, out, x):
        return (g,)

    def jvp(self, tangents, out, x):
        return np.broadcast_to(tangents[0], self.shape)


class GetItem(Function):
    """``x[index]``: basic slicing and integer-array indexing."""

    __slots__ = ("index",)
    derivative = "picks numbers: 1 where picked, 0 elsewhere"

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, g, out, x):
        return (_scatter(g, self.index, _value(x).shape),)

    def jvp(self, tangents, out, x):
        return tangents[0][self.index]


class IndexAdd(Function):
    """Zeros of ``shape`` with ``x`` added at ``index``: the adjoint of :class:`GetItem`."""

    __slots__ = ("index", "shape")
    derivative = "adds numbers into place: 1 where placed, 0 elsewhere"

    def __init__(self, index, shape: tuple[int, ...]):
        self.index, self.shape = index, shape

    def forward(self, x):
        out = np.zeros(self.shape, dtype=x.dtype)
        np.add.at(out, self.index, x)  # not out[index] += x: repeated indices must add up
        return out

    def backward(self, g, out, x):
        return (g[self.index],)

    def jvp(self, tangents, out, x):
        return self.forward(tangents[0])  # linear in x


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


class Where(Function):
    """``cond ? x : y`` elementwise, with a constant boolean ``cond``."""

    __slots__ = ("cond",)
    derivative = "1 where chosen, 0 elsewhere"

    def __init__(self, cond: np.ndarray):
        self.cond = cond

    def forward(self, x, y):
        return np.where(self.cond, x, y)

    def backward(self, g, out, x, y):
        dtype = _value(out).dtype
        return g * self.cond.astype(dtype), g * (~self.cond).astype(dtype)

    def jvp(self, tangents, out, x, y):
        zero = np.zeros((), dtype=out.dtype)
        tx, ty = (zero if t is None else t for t in tangents)
        return _full(np.where(self.cond, tx, ty), out.shape)


class Concatenate(Function):
    """Join inputs along an existing ``axis``; the backward cuts ``g`` back into the pieces."""

    __slots__ = ("axis",)
    derivative = "moves numbers, derivative 1"

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g, out, *xs):
        axis = self.axis % g.ndim
        grads, start = [], 0
        for x in xs:
            stop = start + x.shape[axis]
            grads.append(g[(slice(None),) * axis + (slice(start, stop),)])
            start = stop
        return tuple(grads)

    def jvp(self, tangents, out, *xs):
        parts = [np.zeros_like(x) if t is None else t for t, x in zip(tangents, xs, strict=True)]
        return np.concatenate(parts, axis=self.axis)


# ---------------------------------------------------------------- the toolbox's elementwise, scan and cast ops
# (issue 14). Each backward is written, like the ones above, with operations numpy arrays and Tensors share, plus
# the helpers just below where the spellings differ; none of them reads graph state.


def _sin(v):
    return np.sin(v) if _is_array(v) else v.sin()


def _cos(v):
    return np.cos(v) if _is_array(v) else v.cos()


def _sigmoid(v):
    return Sigmoid().forward(v) if _is_array(v) else v.sigmoid()


def _cumsum_reversed(v, axis: int):
    """``flip(cumsum(flip(v)))`` along ``axis``: the adjoint of a cumulative sum."""
    if _is_array(v):
        return np.flip(np.cumsum(np.flip(v, axis), axis=axis), axis)
    return v.flip(axis).cumsum(axis).flip(axis)


def _astype(v, dtype):
    return v.astype(dtype, copy=False) if _is_array(v) else v.astype(dtype)


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


class Cast(Function):
    """``x`` converted to the floating ``dtype``; the gradient is converted back to ``x``'s dtype."""

    __slots__ = ("dtype",)
    derivative = "changes the dtype, derivative 1"

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, g, out, x):
        return (_astype(g, _value(x).dtype),)

    def jvp(self, tangents, out, x):
        return tangents[0].astype(self.dtype)
