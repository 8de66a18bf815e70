"""Every primitive and composite op of the core: (a) the forward equals the numpy expression, (b) ``gradcheck``
passes in float64 (central differences), on inputs drawn by hypothesis from :mod:`strategies`.

Example counts (``settings``): ``CHEAP`` = 40 examples for single-input ops, ``PAIR`` = 30 for two-input ops
(broadcasting pairs), ``COSTLY`` = 20 for ops whose gradcheck perturbs several inputs (matmul, where, stack,
concatenate); ``deadline=None`` everywhere (and no timing health check: the machine may be busy). The whole
file runs in about 10-20 s on two cores.

Each binary op runs on broadcastable shape pairs (size-1 axes, different ranks, scalars), so the engine's
reduction of broadcast gradients is exercised for every one of them, with Tensor, Python-scalar and ndarray
operands on either side.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strategies as S
from tinygrad_mlp import IndexingError, Tensor, concatenate, gradcheck, maximum, minimum, stack, where

_NO_TIMING = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHEAP = settings(max_examples=40, **_NO_TIMING)
PAIR = settings(max_examples=30, **_NO_TIMING)
COSTLY = settings(max_examples=20, **_NO_TIMING)


def leaf(a: np.ndarray) -> Tensor:
    """A float64 leaf that requires grad (a copy: the drawn array stays the numpy reference's input)."""
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def check(f, expected: np.ndarray, *arrays: np.ndarray, rtol: float = 1e-12, atol: float = 1e-12) -> Tensor:
    """``f(*leaves)`` equals ``expected`` (values, shape, float64) and its gradient passes gradcheck."""
    tensors = [leaf(a) for a in arrays]
    out = f(*tensors)
    assert isinstance(out, Tensor)
    assert out.dtype == np.float64
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)
    assert out.requires_grad
    assert gradcheck(f, *tensors)
    return out


# ---------------------------------------------------------------- binary arithmetic, Tensor with Tensor


def _pair_of(elements_a, elements_b):
    """A strategy of two arrays of broadcastable shapes (hypothesis pairs plus the hand-picked ones)."""
    @st.composite
    def draw_pair(draw):
        sa, sb = draw(S.broadcast_pairs() | st.sampled_from(S.KEY_BROADCAST_PAIRS))
        return draw(elements_a(sa)), draw(elements_b(sb))
    return draw_pair()


def _separated():
    @st.composite
    def draw_pair(draw):
        sa, sb = draw(S.broadcast_pairs() | st.sampled_from(S.KEY_BROADCAST_PAIRS))
        return draw(S.separated_pair(sa, sb))
    return draw_pair()


BINARY = {
    "add": (lambda a, b: a + b, _pair_of(S.values, S.values)),
    "sub": (lambda a, b: a - b, _pair_of(S.values, S.values)),
    "mul": (lambda a, b: a * b, _pair_of(S.values, S.values)),
    "div": (lambda a, b: a / b, _pair_of(S.values, S.away_from_zero)),
    "pow": (lambda a, b: a**b, _pair_of(S.positive, lambda s: S.values(s, 2.0))),
    "maximum": ((maximum, np.maximum), _separated()),
    "minimum": ((minimum, np.minimum), _separated()),
}


@pytest.mark.parametrize("name", BINARY)
@PAIR
@given(data=st.data())
def test_binary_op_with_broadcasting(name, data):
    op, pairs = BINARY[name]
    t_op, np_op = op if isinstance(op, tuple) else (op, op)
    a, b = data.draw(pairs)
    out = check(t_op, np_op(a, b), a, b)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)


def test_div_denominator_gradient_is_minus_x_over_y_squared():
    x, y = leaf(np.array([1.5, -2.0])), leaf(np.array([0.5, 4.0]))
    (x / y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 1 / y.data, rtol=1e-15)
    np.testing.assert_allclose(y.grad.data, -x.data / y.data**2, rtol=1e-15)


def test_float16_sigmoid_is_the_exact_value_rounded_even_far_below_zero():
    """float16's exp overflows past 11.09, so the capped formula gave 1.5e-5 for every x below -11 (true
    values reach 3e-7 at -15 and 0 at -inf); computed in float32, it is the float64 value rounded."""
    x = np.concatenate([np.linspace(-20, 20, 401), [-np.inf, np.inf]]).astype(np.float16)
    want = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float16)
    got = Tensor(x).sigmoid().data
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("create_graph", [False, True])
def test_pow_gradients_with_a_float16_operand_are_computed_in_float64(create_graph):
    """A float64 base with a float16 exponent (and the reverse): the forward promotes to float64, so must the
    gradient's ``y - 1`` and ``log(x)``, or they round in float16 (found by test_fuzz: 1.3e-3 relative error)."""
    y16 = np.array([-2.970, 1.3], dtype=np.float16)  # float16 rounds y - 1 = -3.970 (and 0.3) away from exact
    x = leaf(np.array([3.7676, 2.7]))
    x16 = np.array([3.7676, 2.7], dtype=np.float16)
    y = leaf(np.array([-2.97, 1.3]))
    (x ** Tensor(y16)).sum().backward(create_graph=create_graph)
    (Tensor(x16) ** y).sum().backward(create_graph=create_graph)
    xv, yv = x.data, y16.astype(np.float64)
    np.testing.assert_allclose(x.grad.data, yv * xv ** (yv - 1), rtol=1e-14)
    bv = x16.astype(np.float64)
    np.testing.assert_allclose(y.grad.data, bv ** y.data * np.log(bv), rtol=1e-14)
    assert x.grad.dtype == y.grad.dtype == np.float64


# ---------------------------------------------------------------- scalars and arrays on either side


SCALAR_FORMS = {
    "t + 2.0": (lambda t: t + 2.0, S.values),
    "2.0 + t": (lambda t: 2.0 + t, S.values),
    "t - 2.0": (lambda t: t - 2.0, S.values),
    "2.0 - t": (lambda t: 2.0 - t, S.values),
    "t * 3": (lambda t: t * 3, S.values),
    "-1.5 * t": (lambda t: -1.5 * t, S.values),
    "t / 2.5": (lambda t: t / 2.5, S.values),
    "2.5 / t": (lambda t: 2.5 / t, S.away_from_zero),
    "t ** 2": (lambda t: t**2, S.values),
    "t ** 3 (negative bases too)": (lambda t: t**3, S.values),
    "t ** -1.5": (lambda t: t**-1.5, S.positive),
    "2 ** t": (lambda t: 2**t, S.values),
    "0.5 ** t": (lambda t: 0.5**t, S.values),
    "-t": (lambda t: -t, S.values),
}


@pytest.mark.parametrize("form", SCALAR_FORMS)
@CHEAP
@given(data=st.data())
def test_scalar_operand_forms(form, data):
    f, domain = SCALAR_FORMS[form]
    x = data.draw(domain(S.shapes()))
    check(f, f(x), x)  # the same expression on the ndarray is the reference


ARRAY_FORMS = {
    "t + c": (lambda t, c: t + c, S.values),
    "c + t": (lambda t, c: c + t, S.values),
    "t - c": (lambda t, c: t - c, S.values),
    "c - t": (lambda t, c: c - t, S.values),
    "t * c": (lambda t, c: t * c, S.values),
    "c * t": (lambda t, c: c * t, S.values),
    "t / c": (lambda t, c: t / c, S.away_from_zero),
    "c / t": (lambda t, c: c / t, S.away_from_zero),
    "t ** c": (lambda t, c: t**c, S.positive),
    "c ** t": (lambda t, c: c**t, S.positive),
}


@pytest.mark.parametrize("form", ARRAY_FORMS)
@PAIR
@given(data=st.data())
def test_ndarray_operand_forms(form, data):
    """An ndarray on either side (``np.ones(3) * t`` too): numpy defers to the Tensor's reflected method."""
    f, domain = ARRAY_FORMS[form]
    st_, sc = data.draw(S.broadcast_pairs() | st.sampled_from(S.KEY_BROADCAST_PAIRS))
    # the tensor and the constant both get the op's restricted domain (denominators, pow bases and exponents)
    t, c = data.draw(domain(st_)), data.draw(domain(sc))
    out = check(lambda x: f(x, c), f(t, c), t)
    assert out.shape == np.broadcast_shapes(st_, sc)


def test_ndarray_on_the_left_of_a_tensor_gives_a_tensor():
    t = leaf(np.array([1.0, 2.0, 3.0]))
    for out in (np.ones(3) * t, np.ones(3) + t, np.ones(3) - t, np.ones(3) / t, np.full(3, 2.0) ** t, np.ones(3) @ t):
        assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_array_equal((np.ones(3) - t).data, [0.0, -1.0, -2.0])


# ---------------------------------------------------------------- unary elementwise


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


UNARY = {
    "neg": (lambda t: -t, np.negative, S.values(S.shapes())),
    "exp": (Tensor.exp, np.exp, S.values(S.shapes())),
    "log": (Tensor.log, np.log, S.positive(S.shapes())),
    "sqrt": (Tensor.sqrt, np.sqrt, S.positive(S.shapes())),
    "abs": (Tensor.abs, np.abs, S.away_from_zero(S.shapes())),
    "tanh": (Tensor.tanh, np.tanh, S.values(S.shapes(), 4.0)),
    "sigmoid": (Tensor.sigmoid, _sigmoid, S.values(S.shapes(), 4.0)),
    "relu": (Tensor.relu, lambda x: np.maximum(x, 0), S.away_from_zero(S.shapes())),
}


@pytest.mark.parametrize("name", UNARY)
@CHEAP
@given(data=st.data())
def test_unary_op(name, data):
    t_op, np_op, inputs = UNARY[name]
    x = data.draw(inputs)
    check(t_op, np_op(x), x, rtol=1e-14)


def test_sigmoid_of_a_0d_tensor():
    x = leaf(np.array(0.3))
    check(Tensor.sigmoid, _sigmoid(np.array(0.3)), np.array(0.3))
    assert x.sigmoid().shape == ()


def test_relu_and_abs_gradients_are_the_sign_pattern():
    x = leaf(np.array([-2.0, -0.1, 0.1, 3.0]))
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1, 1])
    x.grad = None
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1, -1, 1, 1])
    zero = leaf([0.0, 0.0])  # at the kink both are documented to have gradient 0
    (zero.relu() + zero.abs()).sum().backward()
    np.testing.assert_array_equal(zero.grad.data, [0.0, 0.0])


# ---------------------------------------------------------------- reductions


@st.composite
def reduction_cases(draw, distinct_values: bool):
    shape = draw(S.shapes())
    x = draw(S.distinct(shape) if distinct_values else S.values(shape))
    return x, draw(S.reduction_axes(len(shape))), draw(st.booleans())


REDUCTIONS = {
    "sum": (lambda t, **kw: t.sum(**kw), np.sum, False),
    "mean": (lambda t, **kw: t.mean(**kw), np.mean, False),
    "max": (lambda t, **kw: t.max(**kw), np.max, True),
    "min": (lambda t, **kw: t.min(**kw), np.min, True),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@CHEAP
@given(data=st.data())
def test_reduction(name, data):
    t_op, np_op, needs_distinct = REDUCTIONS[name]
    x, axis, keepdims = data.draw(reduction_cases(needs_distinct))
    check(lambda t: t_op(t, axis=axis, keepdims=keepdims), np_op(x, axis=axis, keepdims=keepdims), x)


def test_reductions_default_to_all_axes():
    x = np.arange(6.0).reshape(2, 3)
    for name, (t_op, np_op, _) in REDUCTIONS.items():
        out = t_op(leaf(x))
        assert out.shape == (), name
        assert out.item() == np_op(x), name


def test_max_splits_the_gradient_between_tied_maxima():
    x = leaf(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]))
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 0.5, 0.5], [0.5, 0, 0.5]])


def test_reductions_accept_a_list_of_axes():
    x = np.arange(24.0).reshape(2, 3, 4)
    for name, (t_op, np_op, _) in REDUCTIONS.items():
        np.testing.assert_allclose(t_op(leaf(x), axis=[0, 2]).data, np_op(x, axis=(0, 2)), err_msg=name)


# ---------------------------------------------------------------- softmax, log_softmax


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@st.composite
def softmax_cases(draw):
    shape = draw(S.shapes(min_dims=1))
    return draw(S.values(shape, 5.0)), draw(st.integers(-len(shape), len(shape) - 1))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@CHEAP
@given(case=softmax_cases())
def test_softmax_and_log_softmax(name, case):
    x, axis = case
    expected = _log_softmax(x, axis)
    if name == "softmax":
        expected = np.exp(expected)
    check(lambda t: getattr(t, name)(axis=axis), expected, x)


def test_softmax_default_axis_is_the_last():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(Tensor(x).softmax().data, np.exp(_log_softmax(x, -1)), rtol=1e-14)


def test_log_softmax_of_huge_logits_is_exact_and_finite():
    x = leaf(np.array([1e4, 0.0, -1e4]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warning either
        out = x.log_softmax()
        out[0].backward()
    np.testing.assert_array_equal(out.data, [0.0, -1e4, -2e4])
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])  # d/dx (x0 - logsumexp) = e_0 - softmax = 0
    np.testing.assert_array_equal(Tensor([[1e4, 0.0, -1e4]]).softmax(axis=1).data, [[1.0, 0.0, 0.0]])


@CHEAP
@given(case=softmax_cases(), scale=st.sampled_from([1.0, 10.0, 100.0]))
def test_softmax_sums_to_one(case, scale):
    x, axis = case
    p = Tensor(x * scale).softmax(axis=axis).data
    assert (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-13)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")  # float32: see the xfail below
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_nan(dtype):
    out = Tensor(np.array([-1000.0, 1000.0], dtype=dtype)).sigmoid().data
    assert out.dtype == dtype
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out, [0.0, 1.0], atol=1e-30)
    x = Tensor(np.array([-1000.0, 1000.0]), requires_grad=True)
    x.sigmoid().sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0], atol=1e-300)


def test_sigmoid_float32_does_not_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Tensor(np.array([-1000.0, -89.0, 89.0], dtype=np.float32)).sigmoid().data
    # exp(-x) is capped at the largest finite float32, so the far tail is 1/max ~ 2.9e-39 (a subnormal), not
    # 0: within float32's smallest normal number of the true ~1e-435, as the float64 tail is of its own
    assert 0 <= out[0] < np.finfo(np.float32).tiny and 0 <= out[1] < np.finfo(np.float32).tiny
    assert out[2] == 1.0


# ---------------------------------------------------------------- movement


@st.composite
def reshape_cases(draw):
    shape = draw(S.shapes())
    return draw(S.values(shape)), draw(S.reshape_targets(shape))


@CHEAP
@given(case=reshape_cases(), packed=st.booleans())
def test_reshape(case, packed):
    x, target = case
    f = (lambda t: t.reshape(target)) if packed else (lambda t: t.reshape(*target))
    check(f, x.reshape(target), x, rtol=0, atol=0)


@st.composite
def transpose_cases(draw):
    shape = draw(S.shapes())
    perm = draw(st.permutations(range(len(shape))))
    return draw(S.values(shape)), tuple(a - len(shape) if draw(st.booleans()) else a for a in perm)


@CHEAP
@given(case=transpose_cases())
def test_transpose(case):
    x, axes = case
    check(lambda t: t.transpose(axes), x.transpose(axes), x, rtol=0, atol=0)  # a tuple: numpy's permutation
    if len(axes) == 2:  # two ints: PyTorch's swap (numpy would read (0, 1) of a matrix as "no change")
        check(lambda t: t.transpose(*axes), np.swapaxes(x, *axes), x, rtol=0, atol=0)
    else:
        check(lambda t: t.transpose(*axes), x.transpose(axes), x, rtol=0, atol=0)
    check(lambda t: t.transpose(), x.transpose(), x, rtol=0, atol=0)
    check(lambda t: t.T, x.T, x, rtol=0, atol=0)


def test_transpose_rejects_out_of_range_axes():
    with pytest.raises(ValueError):
        Tensor(np.zeros((2, 3, 4))).transpose(1, 2, 3)


@CHEAP
@given(case=S.expand_cases(), data=st.data())
def test_expand(case, data):
    small, full = case
    x = data.draw(S.values(small))
    out = check(lambda t: t.expand(*full), np.broadcast_to(x, full), x, rtol=0, atol=0)
    assert out.shape == full


@st.composite
def getitem_cases(draw):
    shape = draw(S.shapes(min_dims=1))
    return draw(S.values(shape)), draw(S.indices(shape))


@CHEAP
@given(case=getitem_cases())
def test_getitem(case):
    x, index = case
    check(lambda t: t[index], x[index], x, rtol=0, atol=0)


def test_getitem_with_repeated_indices_adds_up_their_gradients():
    x = leaf(np.arange(4.0))
    x[np.array([0, 2, 0, 0, -1])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3, 0, 1, 1])
    x.grad = None
    x[::-2].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0, 1])
    m = leaf(np.arange(12.0).reshape(3, 4))
    (m[np.array([1, 1]), 1:3] * 2).sum().backward()
    np.testing.assert_array_equal(m.grad.data, [[0, 0, 0, 0], [0, 4, 4, 0], [0, 0, 0, 0]])
    x.grad = None
    x[Tensor([3.0, 3.0, 1.0])].sum().backward()  # a Tensor index is taken as integers
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0, 2])



@pytest.mark.parametrize("index, message", [
    ([4.0], r"index Tensor\(\[4\.\]\) does not fit a tensor of shape \(4, 2\) \(index 4 is out of bounds"),
    ([-5.0], r"does not fit a tensor of shape \(4, 2\) \(index -5 is out of bounds"),
    ([1.5], r"does not fit a tensor of shape \(4, 2\) \(indices must be integers, got non-integer values"),
])
def test_tensor_index_out_of_range_or_not_whole_is_one_indexing_error(index, message):
    """``t[Tensor(idx)]`` (the Take rule): the same one-line IndexingError as an array index; a non-integer float
    is refused (it used to be truncated silently)."""
    with pytest.raises(IndexingError, match=message):
        Tensor(np.zeros((4, 2)))[Tensor(index)]
    np.testing.assert_array_equal(Tensor(np.arange(8.0).reshape(4, 2))[Tensor([[-1.0, 0.0]])].data, [[[6, 7], [0, 1]]])

# ---------------------------------------------------------------- clip


@pytest.mark.parametrize("mode", ["both", "lo", "hi"])
@CHEAP
@given(data=st.data())
def test_clip(mode, data):
    x, lo, hi = data.draw(S.clip_cases(S.shapes()))
    lo_, hi_ = (None if mode == "hi" else lo), (None if mode == "lo" else hi)
    expected = np.clip(x, -np.inf if lo_ is None else lo_, np.inf if hi_ is None else hi_)
    check(lambda t: t.clip(lo_, hi_), expected, x, rtol=0, atol=0)


def test_clip_gradient_is_one_inside_and_zero_outside():
    x = leaf(np.array([-2.0, -0.5, 0.5, 2.0]))
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 0])


# ---------------------------------------------------------------- matmul


@COSTLY
@given(shapes=S.matmul_shape_pairs(), data=st.data())
def test_matmul(shapes, data):
    sa, sb = shapes
    a, b = data.draw(S.values(sa)), data.draw(S.values(sb))
    expected = a @ b
    check(lambda x, y: x @ y, expected, a, b)
    check(lambda x, y: x.matmul(y), expected, a, b)
    check(lambda x: x @ b, expected, a)  # constant ndarray on the right
    check(lambda y: a @ y, expected, b)  # ndarray on the left: Tensor.__rmatmul__


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                    ((2, 2, 3), (3, 4)), ((2, 3), (4, 3, 2)), ((1, 2, 3), (4, 3, 2)),
                                    ((4, 2, 3), (3,)), ((3,), (4, 3, 2))])
def test_matmul_shapes(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check(lambda x, y: x @ y, a @ b, a, b)


# ---------------------------------------------------------------- module-level functions


@st.composite
def concatenate_cases(draw):
    shape = list(draw(S.shapes(min_dims=1)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for _ in range(draw(st.integers(1, 3))):
        shape[axis] = draw(st.integers(1, 3))
        arrays.append(draw(S.values(tuple(shape))))
    return arrays, axis


@COSTLY
@given(case=concatenate_cases())
def test_concatenate(case):
    arrays, axis = case
    check(lambda *ts: concatenate(list(ts), axis=axis), np.concatenate(arrays, axis=axis), *arrays, rtol=0, atol=0)


@st.composite
def stack_cases(draw):
    shape = draw(S.shapes(max_dims=2))
    arrays = [draw(S.values(shape)) for _ in range(draw(st.integers(1, 3)))]
    return arrays, draw(st.integers(-len(shape) - 1, len(shape)))


@COSTLY
@given(case=stack_cases())
def test_stack(case):
    arrays, axis = case
    check(lambda *ts: stack(list(ts), axis=axis), np.stack(arrays, axis=axis), *arrays, rtol=0, atol=0)


@st.composite
def where_cases(draw):
    sx, sy = draw(S.broadcast_pairs() | st.sampled_from(S.KEY_BROADCAST_PAIRS))
    cond_shape = draw(st.sampled_from([sx, sy, np.broadcast_shapes(sx, sy)]))
    return draw(S.bool_masks(cond_shape)), draw(S.values(sx)), draw(S.values(sy))


@COSTLY
@given(case=where_cases())
def test_where(case):
    cond, x, y = case
    check(lambda a, b: where(cond, a, b), np.where(cond, x, y), x, y, rtol=0, atol=0)
    check(lambda a: where(cond, a, 0.5), np.where(cond, x, 0.5), x, rtol=0, atol=0)
    check(lambda b: where(cond, -1.0, b), np.where(cond, -1.0, y), y, rtol=0, atol=0)


def test_where_accepts_a_tensor_condition_and_routes_gradients():
    x, y = leaf(np.array([1.0, 2.0, 3.0])), leaf(np.array([10.0, 20.0, 30.0]))
    out = where(Tensor([1.0, 0.0, 1.0]) > 0.5, x, y)
    np.testing.assert_array_equal(out.data, [1, 20, 3])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0, 1])
    np.testing.assert_array_equal(y.grad.data, [0, 1, 0])


def test_maximum_and_minimum_accept_scalars():
    x = leaf(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(maximum(x, 0.5).data, [0.5, 2.0])
    np.testing.assert_array_equal(minimum(0.5, x).data, [-1.0, 0.5])
    maximum(x, 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1])


# ---------------------------------------------------------------- optional oracle: PyTorch


def test_against_pytorch_if_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    cases = [
        (lambda x, y: (x @ y).tanh().sum(), lambda x, y: (x @ y).tanh().sum()),
        (lambda x, y: (x @ y).log_softmax(axis=1).sum(), lambda x, y: torch.log_softmax(x @ y, dim=1).sum()),
        (lambda x, y: (x.sigmoid() * 2 - x.exp()).max(axis=0).sum() + y.relu().mean(),
         lambda x, y: (x.sigmoid() * 2 - x.exp()).max(dim=0).values.sum() + y.relu().mean()),
        (lambda x, y: ((x.abs() + 1) ** y[:, :1].T / (y.sum() + 5.0)).softmax(axis=0).min(axis=(0, 1)),
         lambda x, y: torch.softmax((x.abs() + 1) ** y[:, :1].T / (y.sum() + 5.0), dim=0).amin(dim=(0, 1))),
        (lambda x, y: ((x[np.array([0, 2, 0])] @ y.reshape(2, 4, 1) - x.T[1]) ** 2 + 1).sqrt().sum(),
         lambda x, y: ((x[[0, 2, 0]] @ y.reshape(2, 4, 1) - x.T[1]) ** 2 + 1).sqrt().sum()),
    ]
    for ours, theirs in cases:
        x, y = leaf(a), leaf(b)
        tx, ty = (torch.tensor(v, requires_grad=True) for v in (a, b))
        out, ref = ours(x, y), theirs(tx, ty)
        out.backward()
        ref.backward()
        assert np.isfinite(out.item()) and np.isfinite(x.grad.data).all() and np.isfinite(y.grad.data).all()
        np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-12)
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_silu_is_one_node_and_exact_at_the_far_ends():
    """silu's sigmoid is exactly 0 at -inf, so silu(-inf) is NaN (-inf * 0, as PyTorch), not -inf (the capped
    sigmoid of ``Sigmoid`` gave 2.9e-39 there: found by test_fuzz); far below zero it is -0, above it x."""
    x = Tensor(np.array([-np.inf, -200.0, -3.0, 0.0, 2.5, 200.0, np.inf], dtype=np.float32), requires_grad=True)
    y = x.silu()
    assert y.op == "Silu" and y.dtype == np.float32
    got = y.data
    assert np.isnan(got[0]) and got[1] == 0 and got[5] == 200 and got[6] == np.inf
    a = x.data[2:5].astype(np.float64)
    np.testing.assert_allclose(got[2:5], a / (1 + np.exp(-a)), rtol=1e-6)
