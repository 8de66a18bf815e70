"""One hypothesis strategy per primitive, for the higher-order and forward-mode tests.

``CASES[name]`` draws ``(f, arrays)``: ``f`` applies exactly the primitive ``name`` (through
``Tensor.apply``, so no Tensor-level shortcut such as ``reshape`` returning ``self`` can skip it) to
Tensors made from ``arrays`` (float64, each in the op's domain, drawn from :mod:`strategies`).
Values stay away from kinks (relu at 0, ties of max/maximum) so that central differences are exact
to O(eps^2), and away from the poles of log, division and pow.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import strategies as S
from tinygrad_mlp import Tensor
from tinygrad_mlp import convolution as conv
from tinygrad_mlp import ops
from tinygrad_mlp import primitives as P


def apply(fn: P.Function, *tensors: Tensor) -> Tensor:
    return Tensor.apply(fn, *tensors)


def _pairs():
    return S.broadcast_pairs() | st.sampled_from(S.KEY_BROADCAST_PAIRS)


def _binary(make, elems_a, elems_b):
    @st.composite
    def case(draw):
        sa, sb = draw(_pairs())
        return (lambda x, y: apply(make(), x, y)), [draw(elems_a(sa)), draw(elems_b(sb))]
    return case()


def _unary(make_fn, elems):
    @st.composite
    def case(draw):
        shape = draw(S.shapes())
        return (lambda x: apply(make_fn(), x)), [draw(elems(shape))]
    return case()


@st.composite
def _maximum(draw):
    sa, sb = draw(_pairs())
    a, b = draw(S.separated_pair(sa, sb))
    return (lambda x, y: apply(ops.Maximum(), x, y)), [a, b]


@st.composite
def _reduction(draw, kind):
    shape = draw(S.shapes())
    axis = draw(S.reduction_axes(len(shape)))
    keepdims = draw(st.booleans())
    x = draw(S.distinct(shape)) if kind is P.Max else draw(S.values(shape))
    return (lambda t: apply(kind(axis, keepdims), t)), [x]


@st.composite
def _one_axis(draw, kind):
    """``kind(axis)`` (LogSoftmax, Cumsum) along one axis of values of at least one dimension."""
    shape = draw(S.shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return (lambda t: apply(kind(axis), t)), [draw(S.values(shape))]


@st.composite
def _weighted_log_sum(draw):
    # Some weights exactly 0 (the terms the rule takes as 0 whatever y is); the values y stay finite here, so that
    # central differences apply (the -inf case is tested directly in test_nn and test_jit).
    shape = draw(S.shapes())
    axis = draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    w = draw(S.values(shape)) * draw(S.bool_masks(shape))
    return (lambda y, t: apply(ops.WeightedLogSum(axis), y, t)), [draw(S.values(shape)), w]


@st.composite
def _clip(draw):
    # x at least KINK_MARGIN from both bounds; the bounds are inputs (0-d), gradchecked too; lo > hi sometimes
    # (hi everywhere: the gradient all goes to hi), and one bound left out sometimes
    shape = draw(S.shapes())
    x, lo, hi = draw(S.clip_cases(shape))
    if draw(st.booleans()):
        lo, hi = hi, lo
    has_lo, has_hi = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    bounds = [np.array(b) for b, has in ((lo, has_lo), (hi, has_hi)) if has]
    return (lambda t, *b: apply(ops.Clip(has_lo, has_hi), t, *b)), [x, *bounds]


@st.composite
def _log_sum_exp(draw):
    shape = draw(S.shapes())
    axes = P.normalize_axis(draw(S.reduction_axes(len(shape))), len(shape))
    keepdims = draw(st.booleans())
    return (lambda t: apply(ops.LogSumExp(axes, keepdims), t)), [draw(S.values(shape))]


@st.composite
def _take_along_axis(draw):
    # The indices are an integer input without a gradient (the case closes over them, as _one_hot does with labels);
    # broadcast: numpy's take_along_axis (size-1 axes of the indices stretch), else PyTorch's gather (shorter ones).
    shape = draw(S.shapes(min_dims=1))
    a = draw(st.integers(0, len(shape) - 1))
    broadcast = draw(st.booleans())
    ishape = [draw(st.sampled_from([1, n])) if broadcast else draw(st.integers(1, n)) for n in shape]
    ishape[a] = draw(st.integers(1, 4))
    idx = draw(hnp.arrays(np.intp, tuple(ishape), elements=st.integers(-shape[a], shape[a] - 1)))
    return (lambda t: apply(ops.TakeAlongAxis(a, broadcast), t, Tensor.wrap(idx))), [draw(S.values(shape))]


@st.composite
def _matmul(draw):
    n, k, m, batch = (draw(st.integers(1, S.MAX_SIDE)) for _ in range(4))
    lead_a = draw(st.sampled_from([(), (batch,), (1,)]))
    lead_b = draw(st.sampled_from([(), (batch,), (1,)]))
    return (lambda x, y: apply(P.MatMul(), x, y)), [draw(S.values(lead_a + (n, k))), draw(S.values(lead_b + (k, m)))]


@st.composite
def _linear(draw):
    batch, n_in, n_out = (draw(st.integers(1, S.MAX_SIDE)) for _ in range(3))
    arrays = [draw(S.values((batch, n_in))), draw(S.values((n_out, n_in))), draw(S.values((n_out,)))]
    return (lambda x, w, b: apply(ops.Linear(), x, w, b)), arrays


@st.composite
def _reshape(draw):
    shape = draw(S.shapes())
    target = draw(S.reshape_targets(shape))
    return (lambda t: apply(P.Reshape(target), t)), [draw(S.values(shape))]


@st.composite
def _transpose(draw):
    shape = draw(S.shapes())
    axes = tuple(draw(st.permutations(range(len(shape)))))
    return (lambda t: apply(P.Transpose(axes), t)), [draw(S.values(shape))]


@st.composite
def _expand(draw):
    small, target = draw(S.expand_cases())
    return (lambda t: apply(P.Expand(target), t)), [draw(S.values(small))]


@st.composite
def _getitem(draw):
    shape = draw(S.shapes(min_dims=1))
    index = draw(S.indices(shape))
    return (lambda t: apply(P.GetItem(index), t)), [draw(S.values(shape))]


@st.composite
def _index_add(draw):
    shape = draw(S.shapes(min_dims=1))
    index = draw(S.indices(shape))
    part = np.zeros(shape)[index].shape
    return (lambda t: apply(P.IndexAdd(index, shape), t)), [draw(S.values(part))]


@st.composite
def _where(draw):
    sa, sb = draw(_pairs())
    full = np.broadcast_shapes(sa, sb)
    cond = draw(S.bool_masks(full[draw(st.integers(0, len(full))):]))  # the mask may broadcast too
    return (lambda x, y: apply(P.Where(cond), x, y)), [draw(S.values(sa)), draw(S.values(sb))]


@st.composite
def _concatenate(draw):
    shape = draw(S.shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    arrays = []
    for n in sizes:
        s = list(shape)
        s[axis] = n
        arrays.append(draw(S.values(tuple(s))))
    return (lambda *ts: apply(P.Concatenate(axis), *ts)), arrays


@st.composite
def _squared_error(draw):
    shape = draw(S.shapes())
    return (lambda x, t: apply(ops.SquaredError(), x, t)), [draw(S.values(shape)), draw(S.values(shape))]


@st.composite
def _one_hot(draw):
    # The labels are an integer input without a gradient: the case multiplies the one-hot rows into a float
    # input, so that the graph has something to differentiate (and OneHot's rules, None and zeros, are used).
    batch, classes = draw(st.integers(1, S.MAX_SIDE)), draw(st.integers(1, S.MAX_SIDE))
    labels = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch)), dtype=np.int64)
    value = draw(st.sampled_from([1.0, -0.5]))

    def f(x):
        return apply(P.Mul(), x, apply(ops.OneHot(classes, x.dtype, value), Tensor.wrap(labels)))
    return f, [draw(S.values((batch, classes)))]


@st.composite
def _take(draw):
    # x[indices] along axis 0 (t[Tensor(idx)]): the indices are an input without a gradient, integers or
    # integer-valued floats (a Tensor holds floats), negative ones counting from the end, repeats adding up.
    shape = draw(S.shapes(min_dims=1))
    ishape = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=4))
    idx = draw(hnp.arrays(np.intp, ishape, elements=st.integers(-shape[0], shape[0] - 1)))
    idx = idx.astype(np.float64) if draw(st.booleans()) else idx
    return (lambda t: apply(ops.Take(), t, Tensor.wrap(idx))), [draw(S.values(shape))]


@st.composite
def _select(draw):
    # The mask is a boolean input without a gradient (masked_fill's), broadcasting with x and y.
    sa, sb = draw(_pairs())
    full = np.broadcast_shapes(sa, sb)
    cond = draw(S.bool_masks(full[draw(st.integers(0, len(full))):]))
    return (lambda x, y: apply(ops.Select(), Tensor.wrap(cond), x, y)), [draw(S.values(sa)), draw(S.values(sb))]


def _off_the_steps(shape):
    """Values whose fractional part lies in [0.3, 0.4): at least 0.1 from every whole and half number, where
    ``floor``, ``ceil``, ``round``, ``trunc`` and ``sign`` jump (central differences there would see the jump)."""
    return S.values(shape).map(lambda v: np.floor(v) + 0.3 + 0.1 * (v - np.floor(v)))


@st.composite
def _zero_gradient(draw):
    kind = draw(st.sampled_from(["sign", "floor", "ceil", "round", "trunc"]))
    return (lambda t: apply(ops.ZeroGradient(kind), t)), [draw(_off_the_steps(draw(S.shapes())))]


@st.composite
def _remainder(draw):
    # x = y * q with q's fractional part in [0.3, 0.7]: x / y is far from the whole numbers where mod jumps
    shape = draw(S.shapes())
    y = draw(S.away_from_zero(shape, margin=0.5, bound=2.0))
    u = draw(S.values(shape))
    q = np.floor(u) + 0.3 + 0.4 * (u - np.floor(u))
    rounding = draw(st.sampled_from(["floor", "trunc"]))
    return (lambda a, b: apply(ops.Remainder(rounding), a, b)), [y * q, y]


EINSUM_SPECS = ["ij,jk->ik", "ii->i", "ii->", "iij->j", "ij->ji", "ij->", "i,i->", "ijk,jil->kl", "i,j,k->ijk",
                "bii->bi", "ab,ab,ab->", "ij,j->i", "i->i", ",i->i", "iji->j"]


@st.composite
def _einsum(draw):
    # one of the specs above with random sizes per letter: diagonals (a letter twice in one operand), letters summed
    # in one operand alone, three operands, a 0-d operand
    spec = draw(st.sampled_from(EINSUM_SPECS))
    lhs, out = spec.split("->")
    inputs = lhs.split(",")
    size = {c: draw(st.integers(1, 3)) for c in sorted(set(lhs) - {","})}
    arrays = [draw(S.values(tuple(size[c] for c in sub))) for sub in inputs]
    return (lambda *ts: apply(ops.Einsum(tuple(inputs), out), *ts)), arrays


@st.composite
def _no_gradient(draw, kind):
    # The rules with bool or integer results: the case multiplies their result (as floats) into a float input, so
    # the graph has something to differentiate (their own rules give None and a zero tangent).
    sa, sb = draw(_pairs())
    x, y = draw(S.separated_pair(sa, sb))  # no ties: a comparison's result does not flip under the differences
    full = np.broadcast_shapes(sa, sb)

    def as_float(t):
        return apply(P.Cast(np.float64), t)
    if kind == "Compare":
        op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]))
        return (lambda a, b: apply(P.Mul(), a, as_float(apply(ops.Compare(op), a, b)))), [x, y]
    if kind == "Logical":
        op = draw(st.sampled_from(["and", "or", "xor", "not"]))
        m1, m2 = draw(S.bool_masks(sa)), draw(S.bool_masks(full))
        inputs = [Tensor.wrap(m1)] if op == "not" else [Tensor.wrap(m1), Tensor.wrap(m2)]
        return (lambda a: apply(P.Mul(), a, as_float(apply(ops.Logical(op), *inputs)))), [draw(S.values(full))]
    if kind == "ArgSort":  # the sorted values through TakeAlongAxis: their gradient goes back through the indices
        axis = draw(st.integers(0, max(len(sa) - 1, 0))) if sa else 0
        desc = draw(st.booleans())
        x = draw(S.distinct(sa if sa else (3,)))
        return (lambda a: apply(ops.TakeAlongAxis(axis), a, apply(ops.ArgSort(axis, desc), a))), [x]
    if kind == "ArgReduce":
        axis = draw(st.sampled_from([None, *range(len(sa))]))
        which = draw(st.sampled_from(["argmax", "argmin"]))
        keep = axis is not None or draw(st.booleans())  # (kept axes broadcast against the input)
        return (lambda a: apply(P.Mul(), a, as_float(apply(ops.ArgReduce(which, axis, keep), a)))), \
            [draw(S.distinct(sa))]
    axes = draw(S.reduction_axes(len(sa)))
    axes = None if axes is None else P.normalize_axis(axes, len(sa))
    which = draw(st.sampled_from(["any", "all"]))
    return (lambda a: apply(P.Mul(), a, as_float(apply(ops.AnyAll(which, axes, True), a)))), \
        [draw(S.away_from_zero(sa))]


@st.composite
def _conv(draw):
    # conv(x, w[, b]) over 1 or 2 spatial axes, strides, dilations, uneven padding and groups (strategies.py)
    x_shape, w_shape, stride, pads, dilation, groups = draw(S.conv_geometries())
    rule = conv.Conv(conv.Geometry(stride, pads, dilation, groups))
    arrays = [draw(S.values(x_shape)), draw(S.values(w_shape))]
    if draw(st.booleans()):
        arrays.append(draw(S.values(w_shape[:1])))
    return (lambda *ts: apply(rule, *ts)), arrays


@st.composite
def _conv_adjoint(draw, which):
    # the convolution's two adjoints, each a rule with its own backward (second derivatives go through them)
    x_shape, w_shape, stride, pads, dilation, groups = draw(S.conv_geometries())
    geometry = conv.Geometry(stride, pads, dilation, groups)
    y_shape = (x_shape[0], w_shape[0], *geometry.out_size(x_shape[2:], w_shape[2:]))
    if which == "input":
        rule = conv.ConvInputGrad(geometry, x_shape)
        return (lambda g, w: apply(rule, g, w)), [draw(S.values(y_shape)), draw(S.values(w_shape))]
    rule = conv.ConvWeightGrad(geometry, w_shape[2:])
    return (lambda x, g: apply(rule, x, g)), [draw(S.values(x_shape)), draw(S.values(y_shape))]


@st.composite
def _max_pool(draw):
    # distinct values: no ties inside a window (the tie rule is tested directly in test_convolution)
    x_shape, kernel, stride, pads, dilation = draw(S.pool_geometries())
    rule = conv.MaxPool(kernel, stride, pads, dilation)
    return (lambda t: apply(rule, t)), [draw(S.distinct(x_shape))]


CASES = {
    "Add": _binary(P.Add, S.values, S.values),
    "Sub": _binary(P.Sub, S.values, S.values),
    "Mul": _binary(P.Mul, S.values, S.values),
    "Div": _binary(P.Div, S.values, lambda s: S.away_from_zero(s, margin=0.5, bound=2.0)),
    "Pow": _binary(P.Pow, lambda s: S.positive(s, 0.5, 2.0), lambda s: S.values(s, 2.0)),
    "Maximum": _maximum(),
    "Neg": _unary(P.Neg, S.values),
    "Exp": _unary(P.Exp, S.values),
    "Log": _unary(P.Log, lambda s: S.positive(s, 0.5, 3.0)),
    "Sigmoid": _unary(ops.Sigmoid, S.values),
    "Silu": _unary(ops.Silu, S.values),
    "Tanh": _unary(ops.Tanh, S.values),
    "Abs": _unary(ops.Abs, S.away_from_zero),
    "Std": _unary(ops.Std, S.positive),
    "Relu": _unary(ops.Relu, S.away_from_zero),
    "LeakyRelu": _unary(lambda: ops.LeakyRelu(0.1), S.away_from_zero),
    "Elu": _unary(lambda: ops.Elu(1.5), S.away_from_zero),
    "Clip": _clip(),
    "Sum": _reduction(P.Sum),
    "Max": _reduction(P.Max),
    "LogSoftmax": _one_axis(ops.LogSoftmax),
    "LogSumExp": _log_sum_exp(),
    "WeightedLogSum": _weighted_log_sum(),
    "SquaredError": _squared_error(),
    "OneHot": _one_hot(),
    "MatMul": _matmul(),
    "Linear": _linear(),
    "Reshape": _reshape(),
    "Transpose": _transpose(),
    "Expand": _expand(),
    "GetItem": _getitem(),
    "TakeAlongAxis": _take_along_axis(),
    "Take": _take(),
    "IndexAdd": _index_add(),
    "Where": _where(),
    "Select": _select(),
    "Concatenate": _concatenate(),
    "Sin": _unary(ops.Sin, S.values),
    "Cos": _unary(ops.Cos, S.values),
    "Log1p": _unary(ops.Log1p, lambda s: S.positive(s, -0.5, 3.0)),
    "Expm1": _unary(ops.Expm1, S.values),
    "Softplus": _unary(ops.Softplus, S.values),
    "Erf": _unary(ops.Erf, lambda s: S.values(s, 2.5)),
    "Cumsum": _one_axis(ops.Cumsum),
    "Conv": _conv(),
    "ConvInputGrad": _conv_adjoint("input"),
    "ConvWeightGrad": _conv_adjoint("weight"),
    "MaxPool": _max_pool(),
    "Cast": _unary(lambda: P.Cast(np.float64), S.values),
    "Sinh": _unary(ops.Sinh, S.values),
    "Cosh": _unary(ops.Cosh, S.values),
    "Tan": _unary(ops.Tan, lambda s: S.values(s, 1.2)),
    "Arcsin": _unary(ops.Arcsin, lambda s: S.values(s, 0.8)),
    "Arccos": _unary(ops.Arccos, lambda s: S.values(s, 0.8)),
    "Arctan": _unary(ops.Arctan, S.values),
    "Arcsinh": _unary(ops.Arcsinh, S.values),
    "Arccosh": _unary(ops.Arccosh, lambda s: S.positive(s, 1.2, 3.0)),
    "Arctanh": _unary(ops.Arctanh, lambda s: S.values(s, 0.8)),
    "ZeroGradient": _zero_gradient(),
    "Arctan2": _binary(ops.Arctan2, S.values, lambda s: S.positive(s, 0.5, 3.0)),  # x > 0: off the branch cut
    "Remainder": _remainder(),
    "Einsum": _einsum(),
    "Compare": _no_gradient("Compare"),
    "Logical": _no_gradient("Logical"),
    "ArgReduce": _no_gradient("ArgReduce"),
    "AnyAll": _no_gradient("AnyAll"),
    "ArgSort": _no_gradient("ArgSort"),  # float64 -> float64: the rule itself (see test_toolbox_ops)
}


# ---------------------------------------------------------------- composite ops (issue 14's toolbox)
# ``COMPOSITES[name]`` draws ``(f, arrays, ref)``: ``f`` applies the Tensor method (composed of primitives),
# ``ref`` computes the same in numpy (float64) for the value check. The same cases feed the first-order
# gradcheck (test_toolbox_ops), gradgradcheck (test_higher_order) and jvpcheck (test_forward_mode).

_erf = np.vectorize(__import__("math").erf, otypes=[np.float64])


def _np_gelu(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


def _elementwise(method, ref, elems=S.values, **kwargs):
    @st.composite
    def case(draw):
        return (lambda t: getattr(t, method)(**kwargs)), [draw(elems(draw(S.shapes())))], ref
    return case()


@st.composite
def _axis_reduction(draw, method, ref, elems=S.values, min_count=1, **kwargs):
    shape = draw(S.shapes(min_dims=1))
    axis = draw(S.reduction_axes(len(shape)))
    axes = tuple(range(len(shape))) if axis is None else (axis,) if isinstance(axis, int) else axis
    if int(np.prod([shape[a] for a in axes])) < min_count:
        shape = tuple(max(n, min_count) if i in [a % len(shape) for a in axes] else n for i, n in enumerate(shape))
    keepdims = draw(st.booleans())
    x = draw(elems(shape))
    return ((lambda t: getattr(t, method)(axis=axis, keepdims=keepdims, **kwargs)), [x],
            lambda a: ref(a, axis=axis, keepdims=keepdims, **kwargs))


def _np_logsumexp(a, axis, keepdims):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else tuple(range(a.ndim)))


@st.composite
def _flip(draw):
    shape = draw(S.shapes(min_dims=1))
    axis = draw(S.reduction_axes(len(shape)))
    return (lambda t: t.flip(axis)), [draw(S.values(shape))], lambda a: np.flip(a, axis)


@st.composite
def _along_axis(draw, method):
    shape = draw(S.shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    a = axis % len(shape)
    ishape = list(shape)
    ishape[a] = draw(st.integers(1, 4))
    if method == "gather":  # PyTorch: the index may be smaller than x off the axis
        ishape = [draw(st.integers(1, n)) if i != a else m for i, (n, m) in enumerate(zip(shape, ishape))]
    idx = draw(hnp.arrays(np.intp, tuple(ishape), elements=st.integers(0, shape[a] - 1)))
    if method == "gather":
        def ref(x):
            lead = np.ix_(*[np.arange(n) for n in ishape])
            return x[tuple(idx if i == a else lead[i] for i in range(len(shape)))]
        return (lambda t: t.gather(axis, idx)), [draw(S.values(shape))], ref
    return (lambda t: t.take_along_axis(idx, axis)), [draw(S.values(shape))], lambda x: np.take_along_axis(x, idx, axis)


@st.composite
def _movement(draw, kind):
    shape = draw(S.shapes())
    x = draw(S.values(shape))
    n = len(shape)
    if kind == "flatten":
        lo = draw(st.integers(-max(n, 1), max(n, 1) - 1))
        hi = draw(st.integers(lo % max(n, 1), max(n, 1) - 1))
        merged = (*shape[:lo % max(n, 1)], -1, *shape[hi + 1:]) if n else (1,)
        return (lambda t: t.flatten(lo, hi)), [x], lambda a: a.reshape(merged)
    if kind == "squeeze":
        ones = [i for i, s in enumerate(shape) if s == 1]
        axis = draw(st.sampled_from([None, *ones, tuple(ones)]))
        return (lambda t: t.squeeze(axis)), [x], lambda a: np.squeeze(a, axis=axis)
    if kind == "unsqueeze":
        axis = draw(st.integers(-n - 1, n))
        return (lambda t: t.unsqueeze(axis)), [x], lambda a: np.expand_dims(a, axis)
    if kind == "permute":
        axes = tuple(draw(st.permutations(range(n))))
        return (lambda t: t.permute(*axes)), [x], lambda a: np.transpose(a, axes)
    a1, a2 = (draw(st.integers(-max(n, 1), max(n, 1) - 1)) for _ in range(2)) if n else (0, 0)
    if not n:
        x = draw(S.values((2, 3)))
        a1, a2 = 0, 1
    return (lambda t: t.swapaxes(a1, a2)), [x], lambda a: np.swapaxes(a, a1, a2)


@st.composite
def _matrix_op(draw, method):
    shape = draw(S.shapes(min_dims=2, max_dims=3))
    k = draw(st.integers(-2, 2))
    x = draw(S.values(shape))
    if method == "diagonal":
        a, b = draw(st.permutations(range(len(shape))))[:2]
        return (lambda t: t.diagonal(k, a, b)), [x], lambda v: np.diagonal(v, k, a, b)
    if method == "trace":
        return (lambda t: t.trace(k)), [x], lambda v: np.trace(v, k)
    if method == "diag":
        x = x[(0,) * (len(shape) - 2)] if draw(st.booleans()) else x[(0,) * (len(shape) - 1)]
        return (lambda t: t.diag(k)), [x], lambda v: np.diag(v, k)
    return (lambda t: getattr(t, method)(k)), [x], lambda v: getattr(np, method)(v, k)


@st.composite
def _tiling(draw, method):
    shape = draw(S.shapes(max_dims=3))
    x = draw(S.values(shape))
    if method == "repeat":  # PyTorch's: one count per axis, or more (new leading axes)
        reps = tuple(draw(st.integers(1, 3)) for _ in range(len(shape) + draw(st.integers(0, 1))))
        return (lambda t: t.repeat(*reps)), [x], lambda v: np.tile(v, reps)
    if method == "tile":
        reps = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 3))))
        return (lambda t: t.tile(reps)), [x], lambda v: np.tile(v, reps)
    axis = draw(st.sampled_from([None, *range(len(shape))]))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    counts = draw(st.integers(0, 3)) if draw(st.booleans()) else np.array(draw(
        st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    return (lambda t: t.repeat_interleave(counts, axis)), [x], lambda v: np.repeat(v, counts, axis)


def _weighted(pieces, axis):
    """The pieces joined back with a different weight each (so each piece's gradient is told apart)."""
    return pieces[0].__class__.apply(P.Concatenate(axis), *[p * (i + 1.0) for i, p in enumerate(pieces)])


@st.composite
def _splitting(draw, how):
    from tinygrad_mlp import functions as tf
    shape = list(draw(S.shapes(min_dims=1, max_dims=3)))
    axis = draw(st.integers(0, len(shape) - 1))
    shape[axis] = draw(st.integers(1, 6))
    shape = tuple(shape)
    x = draw(S.values(shape))
    n = shape[axis]
    weights = lambda parts: np.concatenate([p * (i + 1.0) for i, p in enumerate(parts)], axis)  # noqa: E731
    if how == "split":  # PyTorch's: pieces of a size
        size = draw(st.integers(1, n))
        cuts = list(range(size, n, size))
        return (lambda t: _weighted(t.split(size, axis), axis)), [x], lambda v: weights(np.split(v, cuts, axis))
    if how == "tensor_split":
        k = draw(st.integers(1, n))
        return (lambda t: _weighted(t.tensor_split(k, axis), axis)), [x], \
            lambda v: weights(np.array_split(v, k, axis))
    if how == "chunk":
        k = draw(st.integers(1, n))
        size = -(-n // k)
        return (lambda t: _weighted(t.chunk(k, axis), axis)), [x], \
            lambda v: weights(np.split(v, list(range(size, n, size)), axis))
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    return (lambda t: _weighted(tf.array_split(t, cuts, axis), axis)), [x], \
        lambda v: weights(np.array_split(v, cuts, axis))


@st.composite
def _stacking(draw, name):
    from tinygrad_mlp import functions as tf
    base = draw(st.sampled_from([(), (2,), (2, 3), (2, 3, 2)] if name != "column_stack" else [(3,), (3, 2)]))
    count = draw(st.integers(1, 3))
    arrays = [draw(S.values(base)) for _ in range(count)]
    return (lambda *ts: getattr(tf, name)(list(ts))), arrays, lambda *vs: getattr(np, name)(list(vs))


@st.composite
def _einsum_ellipsis(draw):
    from tinygrad_mlp import functions as tf
    spec, shapes = draw(st.sampled_from([
        ("...ij,...jk->...ik", [(2, 2, 3), (1, 3, 2)]), ("...i,i", [(2, 3), (3,)]), ("i...->...", [(3, 2)]),
        ("ij,jk", [(2, 3), (3, 2)]), ("ba", [(2, 3)]), ("...ii->...i", [(2, 3, 3)]), ("i,i", [(3,), (3,)])]))
    arrays = [draw(S.values(sh)) for sh in shapes]
    return (lambda *ts: tf.einsum(spec, *ts)), arrays, lambda *vs: np.einsum(spec, *vs)


@st.composite
def _products(draw, name):
    from tinygrad_mlp import functions as tf
    if name == "tensordot":
        a_shape = draw(S.shapes(min_dims=1, max_dims=3))
        n = draw(st.integers(0, len(a_shape)))
        b_shape = a_shape[len(a_shape) - n:] + draw(S.shapes(max_dims=2))
        a, b = draw(S.values(a_shape)), draw(S.values(b_shape))
        return (lambda x, y: tf.tensordot(x, y, n)), [a, b], lambda x, y: np.tensordot(x, y, n)
    if name == "dot":
        k = draw(st.integers(1, 3))
        a_shape = draw(st.sampled_from([(k,), (2, k), (2, 2, k)]))
        b_shape = draw(st.sampled_from([(k,), (k, 2), (3, k, 2)]))
    else:
        k = draw(st.integers(1, 3))
        a_shape, b_shape = draw(st.sampled_from([(k,), (2, k)])), draw(st.sampled_from([(k,), (3, k)]))
    return (lambda x, y: getattr(tf, name)(x, y)), [draw(S.values(a_shape)), draw(S.values(b_shape))], \
        lambda x, y: getattr(np, name)(x, y)


@st.composite
def _masked_fill(draw):
    shape = draw(S.shapes())
    mask = draw(S.bool_masks(shape[draw(st.integers(0, len(shape))):]))
    return (lambda t: t.masked_fill(mask, -2.5)), [draw(S.values(shape))], lambda v: np.where(mask, -2.5, v)


@st.composite
def _norm(draw):
    shape = draw(S.shapes(min_dims=1))
    p = draw(st.sampled_from([2, 1, 3, np.inf]))
    dim = draw(st.sampled_from([None, *range(len(shape))]))
    # the inf-norm is max |x|: no ties of |x|, and no x at abs's kink (0): distinct values, shifted to >= 0.5
    elems = (lambda s: S.distinct(s).map(lambda v: v - v.min() + 0.5)) if p == np.inf else S.away_from_zero
    return (lambda t: t.norm(p, dim)), [draw(elems(shape))], lambda v: np.linalg.norm(
        v.reshape(-1) if dim is None else v, p, axis=None if dim is None else dim)


@st.composite
def _two_operand(draw, method, ref):
    # x and y apart (logaddexp's |x - y| has a kink at x = y)
    sa, sb = draw(_pairs())
    x, y = draw(S.separated_pair(sa, sb))
    return (lambda a, b: getattr(a, method)(b)), [x, y], ref


@st.composite
def _diff_roll(draw, method):
    shape = draw(S.shapes(min_dims=2 if method == "fliplr" else 1))
    x = draw(S.values(shape))
    if method == "diff":
        n, axis = draw(st.integers(0, 2)), draw(st.integers(-len(shape), len(shape) - 1))
        return (lambda t: t.diff(n, axis)), [x], lambda v: np.diff(v, n, axis)
    if method == "roll":
        shift = draw(st.integers(-4, 4))
        axis = draw(st.sampled_from([None, *range(len(shape))]))
        return (lambda t: t.roll(shift, axis)), [x], lambda v: np.roll(v, shift, axis)
    return (lambda t: getattr(t, method)()), [x], getattr(np, method)


@st.composite
def _sorting(draw, method):
    shape = draw(S.shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(S.distinct(shape))
    if method == "sort":
        desc = draw(st.booleans())
        return (lambda t: t.sort(axis, desc).values), [x], \
            lambda v: np.flip(np.sort(v, axis), axis) if desc else np.sort(v, axis)
    k = draw(st.integers(0, shape[axis]))
    return (lambda t: t.topk(k, axis).values), [x], \
        lambda v: np.take(np.flip(np.sort(v, axis), axis), range(k), axis)


COMPOSITES = {
    "logsumexp": _axis_reduction("logsumexp", _np_logsumexp),
    "var": _axis_reduction("var", np.var, elems=lambda s: S.distinct(s), min_count=2, ddof=1),
    "std": _axis_reduction("std", np.std, elems=lambda s: S.distinct(s), min_count=2),
    "prod": _axis_reduction("prod", np.prod, elems=lambda s: S.values(s, 2.0)),
    "flip": _flip(),
    "gather": _along_axis("gather"),
    "take_along_axis": _along_axis("take_along_axis"),
    "flatten": _movement("flatten"),
    "squeeze": _movement("squeeze"),
    "unsqueeze": _movement("unsqueeze"),
    "permute": _movement("permute"),
    "swapaxes": _movement("swapaxes"),
    "softplus(beta=2)": _elementwise("softplus", lambda a: np.logaddexp(0, 2 * a) / 2, beta=2.0),
    "leaky_relu": _elementwise("leaky_relu", lambda a: np.where(a > 0, a, 0.1 * a), S.away_from_zero,
                               negative_slope=0.1),
    "elu": _elementwise("elu", lambda a: np.where(a > 0, a, 1.5 * np.expm1(a)), S.away_from_zero, alpha=1.5),
    "gelu": _elementwise("gelu", lambda a: _np_gelu(a, "none")),
    "gelu(tanh)": _elementwise("gelu", lambda a: _np_gelu(a, "tanh"), approximate="tanh"),
    "silu": _elementwise("silu", lambda a: a / (1 + np.exp(-a))),
    # PyTorch's names and HIPS autograd's numpy coverage (issues 23 and 28)
    "log2": _elementwise("log2", np.log2, lambda s: S.positive(s, 0.5, 3.0)),
    "log10": _elementwise("log10", np.log10, lambda s: S.positive(s, 0.5, 3.0)),
    "exp2": _elementwise("exp2", np.exp2),
    "square": _elementwise("square", np.square),
    "reciprocal": _elementwise("reciprocal", np.reciprocal, lambda s: S.away_from_zero(s, margin=0.5)),
    "rsqrt": _elementwise("rsqrt", lambda a: 1 / np.sqrt(a), lambda s: S.positive(s, 0.5, 3.0)),
    "round(decimals=1)": _elementwise("round", lambda a: np.round(a, 1), lambda s: _off_the_steps(s).map(
        lambda v: v / 10), decimals=1),
    "clone": _elementwise("clone", lambda a: a),
    "diagonal": _matrix_op("diagonal"),
    "trace": _matrix_op("trace"),
    "diag": _matrix_op("diag"),
    "tril": _matrix_op("tril"),
    "triu": _matrix_op("triu"),
    "repeat": _tiling("repeat"),
    "tile": _tiling("tile"),
    "repeat_interleave": _tiling("repeat_interleave"),
    "split": _splitting("split"),
    "tensor_split": _splitting("tensor_split"),
    "chunk": _splitting("chunk"),
    "array_split": _splitting("array_split"),
    "hstack": _stacking("hstack"),
    "vstack": _stacking("vstack"),
    "dstack": _stacking("dstack"),
    "column_stack": _stacking("column_stack"),
    "einsum(...)": _einsum_ellipsis(),
    "tensordot": _products("tensordot"),
    "dot": _products("dot"),
    "outer": _products("outer"),
    "inner": _products("inner"),
    "masked_fill": _masked_fill(),
    "deg2rad": _elementwise("deg2rad", np.deg2rad),
    "rad2deg": _elementwise("rad2deg", np.rad2deg),
    "logaddexp": _two_operand("logaddexp", np.logaddexp),
    "logaddexp2": _two_operand("logaddexp2", np.logaddexp2),
    "diff": _diff_roll("diff"),
    "roll": _diff_roll("roll"),
    "fliplr": _diff_roll("fliplr"),
    "sort": _sorting("sort"),
    "topk": _sorting("topk"),
    "flipud": _diff_roll("flipud"),
    "norm": _norm(),
}


def rule_class(name: str) -> type:
    """The rule class called ``name``, from :mod:`tinygrad_mlp.primitives` or :mod:`tinygrad_mlp.ops`."""
    return getattr(P, name, None) or getattr(ops, name, None) or getattr(conv, name)


def all_primitive_names() -> set[str]:
    """Names of every concrete rule the library defines: the basis (:mod:`tinygrad_mlp.primitives`) and the
    rules of :mod:`tinygrad_mlp.ops` and :mod:`tinygrad_mlp.convolution`."""
    return {name for module in (P, ops, conv) for name, obj in vars(module).items()
            if isinstance(obj, type) and issubclass(obj, P.Function) and obj is not P.Function
            and obj.__module__ == module.__name__ and not name.startswith("_")}  # (a private base is no rule)


def leaves(arrays) -> list[Tensor]:
    """Fresh float64 leaves that require grad (copies: the drawn arrays are left alone)."""
    return [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
