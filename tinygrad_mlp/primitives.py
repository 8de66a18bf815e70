"""The basis: the primitive operations (rules) every other op is composed from.

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

Apply a rule with ``Tensor.apply(Rule(config), *tensors)``. The rules here are
enough to compose everything else; :mod:`tinygrad_mlp.ops` adds the rules that
do in one node what would take several (faster or more stable: ``Sigmoid``,
``Linear``, ``SquaredError``, ``LogSoftmax`` ...) or that these cannot express
(``Sin``, ``Erf`` ...), written the way you would add your own op.

Each backward is written once, with operators and methods that numpy arrays and
Tensors share (``*``, ``@``, ``.sum``, ``.reshape`` ...). The engine calls it with
arrays on the ordinary first-order path (fast), or with Tensors when asked for
``create_graph=True``, so the backward pass is itself recorded and can be
differentiated again. The few helpers below (``array_of``, ``_exp``, ``_log``,
``_expand``, ``_scatter``) are where the two kinds need different spellings.

A backward may return a gradient in the broadcast shape of ``out``; the engine
sums it back to the input's shape (:func:`tinygrad_mlp.engine.unbroadcast`), the
one place where broadcasting is undone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

_ARRAY_TYPES = (np.ndarray, np.generic)


def is_array(v) -> bool:
    """True for a numpy array or scalar, False for a Tensor: which of the two a backward was given."""
    return isinstance(v, _ARRAY_TYPES)


def array_of(v) -> np.ndarray:
    """The plain array behind ``v``: used for masks and other non-differentiable factors."""
    return v if is_array(v) else v.data


def _exp(v):
    return np.exp(v) if is_array(v) else v.exp()


def _log(v):
    return np.log(v) if is_array(v) else v.log()


def _expand(v, shape: tuple[int, ...]):
    if is_array(v):
        out = np.empty(shape, dtype=v.dtype)  # a filled copy: much cheaper than np.broadcast_to for small arrays
        out[...] = v
        return out
    return type(v).apply(Expand(shape), v)


def _scatter(g, index, shape: tuple[int, ...]):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    if is_array(g):
        return IndexAdd(index, shape).forward(g)
    return type(g).apply(IndexAdd(index, shape), g)


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


def tangent_sum(a, b, shape: tuple[int, ...]):
    """``a + b`` in ``shape``, where ``None`` is a zero tangent (at least one is not ``None``): for ``jvp`` rules."""
    if a is None:
        return _full(b, shape)
    return _full(a if b is None else a + b, shape)


class Function:
    """Base class of the rules: subclass it, define ``forward`` and ``backward`` (and ``jvp``, ``derivative``).

    Settings (``__init__``'s) are part of a ``tm.compile`` recording, inputs are read on every replay: what depends
    on the data (a mask, indices) is an input. The contract of a compiled step: docs/compile.md.
    """

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
        return tangent_sum(tx, ty, out.shape)


class Sub(Function):
    __slots__ = ()
    derivative = "d(x - y)/dx = 1, d(x - y)/dy = -1"

    def forward(self, x, y):
        return x - y

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        return g, -g if needs_grad[1] else None

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return tangent_sum(tx, None if ty is None else -ty, out.shape)


class Mul(Function):
    __slots__ = ()
    derivative = "d(x y)/dx = y, d(x y)/dy = x"

    def forward(self, x, y):
        return x * y

    def backward(self, g, out, x, y, *, needs_grad=(True, True)):
        return g * y if needs_grad[0] else None, g * x if needs_grad[1] else None

    def jvp(self, tangents, out, x, y):
        tx, ty = tangents
        return tangent_sum(None if tx is None else tx * y, None if ty is None else x * ty, out.shape)


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
        return tangent_sum(None if tx is None else tx / y, None if ty is None else -(ty * out) / y, out.shape)


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
        dtype = array_of(out).dtype  # (a cast, not a product with a 0-d array: 0-d operands do not promote Tensors)
        xv, yv = array_of(x), array_of(y)
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
        return tangent_sum(dx, dy, out.shape)


def _base_one_where(x, mask: np.ndarray):
    """``x`` with 1 where ``mask`` is true (``x`` itself, untouched, when it is nowhere true)."""
    if not mask.any():
        return x
    if is_array(x):
        return np.where(mask, np.ones((), dtype=x.dtype), x)
    return type(x).apply(Where(mask), type(x).wrap(np.ones((), dtype=x.data.dtype)), x)


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
    """Maximum over axes; tied maxima share the gradient equally, NaN ones too (a NaN is the maximum, as PyTorch)."""

    __slots__ = ("axis", "keepdims")
    derivative = "1 for the largest element, 0 for the others (tied maxima share it equally)"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = _axis_arg(axis), keepdims

    def forward(self, x):
        if self.axis is not None:
            normalize_axis(self.axis, x.ndim)  # as in Sum
        return np.maximum.reduce(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, out, x):
        xv, kept = array_of(x), _keepdims_shape(x.shape, self.axis)
        is_max = (xv == (o := array_of(out).reshape(kept))) | (np.isnan(xv) & np.isnan(o))  # NaN is the max
        share = (is_max / is_max.sum(axis=self.axis, keepdims=True)).astype(xv.dtype)
        return (_expand(g.reshape(kept), xv.shape) * share,)

    def jvp(self, tangents, out, x):
        is_max = (x == (o := out.reshape(_keepdims_shape(x.shape, self.axis)))) | (np.isnan(x) & np.isnan(o))
        share = (is_max / is_max.sum(axis=self.axis, keepdims=True)).astype(x.dtype)
        return np.add.reduce(tangents[0] * share, axis=self.axis, keepdims=self.keepdims)


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
        return tangent_sum(None if tx is None else tx @ y, None if ty is None else x @ ty, out.shape)


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
        return (_scatter(g, self.index, array_of(x).shape),)

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


class Where(Function):
    """``cond ? x : y`` elementwise, with a constant boolean ``cond``."""

    __slots__ = ("cond",)
    derivative = "1 where chosen, 0 elsewhere"

    def __init__(self, cond: np.ndarray):
        self.cond = cond

    def forward(self, x, y):
        return np.where(self.cond, x, y)

    def backward(self, g, out, x, y):
        dtype = array_of(out).dtype
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


# ---------------------------------------------------------------- dtype


def _astype(v, dtype):
    return v.astype(dtype, copy=False) if is_array(v) else v.astype(dtype)


class Cast(Function):
    """``x`` converted to the floating ``dtype``; the gradient is converted back to ``x``'s dtype."""

    __slots__ = ("dtype",)
    derivative = "changes the dtype, derivative 1"

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, g, out, x):
        return (_astype(g, array_of(x).dtype),)

    def jvp(self, tangents, out, x):
        return tangents[0].astype(self.dtype)
