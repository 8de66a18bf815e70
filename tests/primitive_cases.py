"""One hypothesis strategy per primitive, for the higher-order and forward-mode tests.

``CASES[name]`` draws ``(f, arrays)``: ``f`` applies exactly the primitive ``name`` (through
``Tensor._apply``, so no Tensor-level shortcut such as ``reshape`` returning ``self`` can skip it) to
Tensors made from ``arrays`` (float64, each in the op's domain, drawn from :mod:`strategies`).
Values stay away from kinks (relu at 0, ties of max/maximum) so that central differences are exact
to O(eps^2), and away from the poles of log, division and pow.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import strategies as S
from tinygrad_mlp import Tensor
from tinygrad_mlp import primitives as P


def apply(fn: P.Function, *tensors: Tensor) -> Tensor:
    return Tensor._apply(fn, *tensors)


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
    return (lambda x, y: apply(P.Maximum(), x, y)), [a, b]


@st.composite
def _reduction(draw, kind):
    shape = draw(S.shapes())
    axis = draw(S.reduction_axes(len(shape)))
    keepdims = draw(st.booleans())
    x = draw(S.distinct(shape)) if kind is P.Max else draw(S.values(shape))
    return (lambda t: apply(kind(axis, keepdims), t)), [x]


@st.composite
def _log_softmax(draw):
    shape = draw(S.shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return (lambda t: apply(P.LogSoftmax(axis), t)), [draw(S.values(shape))]


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
    return (lambda x, w, b: apply(P.Linear(), x, w, b)), arrays


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
    return (lambda x, t: apply(P.SquaredError(), x, t)), [draw(S.values(shape)), draw(S.values(shape))]


@st.composite
def _one_hot(draw):
    # The labels are an integer input without a gradient: the case multiplies the one-hot rows into a float
    # input, so that the graph has something to differentiate (and OneHot's rules, None and zeros, are used).
    batch, classes = draw(st.integers(1, S.MAX_SIDE)), draw(st.integers(1, S.MAX_SIDE))
    labels = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch)), dtype=np.int64)
    value = draw(st.sampled_from([1.0, -0.5]))

    def f(x):
        return apply(P.Mul(), x, apply(P.OneHot(classes, x.dtype, value), Tensor._make(labels)))
    return f, [draw(S.values((batch, classes)))]


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
    "Sigmoid": _unary(P.Sigmoid, S.values),
    "Tanh": _unary(P.Tanh, S.values),
    "Relu": _unary(P.Relu, S.away_from_zero),
    "Sum": _reduction(P.Sum),
    "Max": _reduction(P.Max),
    "LogSoftmax": _log_softmax(),
    "SquaredError": _squared_error(),
    "OneHot": _one_hot(),
    "MatMul": _matmul(),
    "Linear": _linear(),
    "Reshape": _reshape(),
    "Transpose": _transpose(),
    "Expand": _expand(),
    "GetItem": _getitem(),
    "IndexAdd": _index_add(),
    "Where": _where(),
    "Concatenate": _concatenate(),
}


def all_primitive_names() -> set[str]:
    """Names of every concrete primitive defined in :mod:`tinygrad_mlp.primitives`."""
    return {name for name, obj in vars(P).items()
            if isinstance(obj, type) and issubclass(obj, P.Function) and obj is not P.Function
            and obj.__module__ == P.__name__}


def leaves(arrays) -> list[Tensor]:
    """Fresh float64 leaves that require grad (copies: the drawn arrays are left alone)."""
    return [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
