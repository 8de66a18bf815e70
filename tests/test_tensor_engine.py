"""The Tensor and its reverse-mode engine: dtype rules, attributes, algebraic properties of gradients,
no_grad/detach, the notes' one-neuron chain, deep and wide graphs, graph release, errors, memory, and a few
second derivatives (``create_graph=True``).

Hypothesis example counts: 40 for the one-neuron chain, 30 for the other property tests; ``deadline=None``.
"""

from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strategies as S
import tinygrad_mlp.engine as engine_module
from tinygrad_mlp import (
    DTypeError,
    GraphError,
    ShapeError,
    Tensor,
    TinygradMLPError,
    concatenate,
    is_grad_enabled,
    maximum,
    minimum,
    no_grad,
    stack,
    where,
)

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def leaf(a) -> Tensor:
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ---------------------------------------------------------------- dtype rules


@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1.0], [2.0]], (0.5, 0.25)])
def test_python_floats_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float32))


@pytest.mark.parametrize("data", [3, [1, 2, 3], True, [True, False], np.arange(4), np.array([1, 2], dtype=np.uint8),
                                  np.array([True])])
def test_integer_and_boolean_data_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_floating_ndarrays_keep_their_dtype_and_memory(dtype):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    t = Tensor(a)
    assert t.dtype == dtype
    assert t.data is a  # used as is, like np.asarray


def test_numpy_float64_scalar_keeps_float64():
    assert Tensor(np.float64(0.1)).dtype == np.float64
    assert Tensor(np.float64(0.1)).item() == 0.1


def test_explicit_dtype():
    assert Tensor([1.0, 2.0], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2], dtype="float64").dtype == np.float64
    assert Tensor(np.arange(3.0), dtype=np.float32).dtype == np.float32
    assert Tensor(0.1, dtype=np.float64).item() == 0.1  # not rounded through float32 first
    with pytest.raises(DTypeError):
        Tensor([1, 2], dtype=np.int64)


@pytest.mark.parametrize("data", ["abc", ["1.0", "2.0"], [1 + 2j], np.array([object()]), None, {"a": 1}])
def test_non_numeric_data_raises_dtype_error(data):
    with pytest.raises(DTypeError):
        Tensor(data)
    with pytest.raises(TypeError):  # DTypeError is a TypeError
        Tensor(data)


def test_non_numeric_data_with_an_explicit_dtype_raises_dtype_error():
    with pytest.raises(DTypeError):
        Tensor(["1.5"], dtype=np.float64)
    with pytest.raises(DTypeError):
        Tensor("abc", dtype=np.float64)


def test_combining_a_tensor_with_non_numeric_data_raises_dtype_error():
    with pytest.raises(DTypeError):
        Tensor([1.0, 2.0]) + np.array(["a", "b"])


SCALAR_EXPRESSIONS = {
    "t + 1.5": lambda t: t + 1.5, "1.5 + t": lambda t: 1.5 + t, "t - 2": lambda t: t - 2, "2 - t": lambda t: 2 - t,
    "t * 0.1": lambda t: t * 0.1, "3 * t": lambda t: 3 * t, "t / 3": lambda t: t / 3, "1 / t": lambda t: 1 / t,
    "t ** 2": lambda t: t**2, "2 ** t": lambda t: 2**t, "-t": lambda t: -t, "t + True": lambda t: t + True,
    "t * np.float64(2)": lambda t: t * np.float64(2.0), "maximum(t, 1.5)": lambda t: maximum(t, 1.5),
    "where(mask, t, 0.5)": lambda t: where(np.array([True, False]), t, 0.5),
    "t.clip(0.5, 1.5)": lambda t: t.clip(0.5, 1.5), "t.mean()": lambda t: t.mean(),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("expr", SCALAR_EXPRESSIONS)
def test_python_scalars_keep_the_tensor_dtype(expr, dtype):
    t = Tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
    out = SCALAR_EXPRESSIONS[expr](t)
    assert out.dtype == dtype
    out.sum().backward()
    assert t.grad.dtype == dtype


def test_gradients_have_the_leaf_dtype_and_shape_even_when_a_float64_constant_upcasts():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)  # float32
    out = t * np.full((2, 3), 2.0)  # float64 array constant
    assert out.dtype == np.float64
    out.sum().backward()
    assert t.grad.dtype == np.float32 and t.grad.shape == (3,)
    np.testing.assert_array_equal(t.grad.data, [4.0, 4.0, 4.0])


def test_constructors():
    assert Tensor.zeros(2, 3).shape == (2, 3) and Tensor.zeros(2, 3).dtype == np.float32
    assert Tensor.ones((2,), dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(Tensor.ones(3).data, [1, 1, 1])
    np.testing.assert_array_equal(Tensor.randn(4, seed=7).data, Tensor.randn(4, seed=7).data)
    assert Tensor.randn(2, 2, seed=0, requires_grad=True).requires_grad


# ---------------------------------------------------------------- attributes


def test_attributes():
    a = np.arange(6.0).reshape(2, 3)
    t = Tensor(a, requires_grad=True)
    assert t.data is a and t.numpy() is a
    assert t.grad is None and t.requires_grad is True
    assert (t.shape, t.ndim, t.size(), t.numel(), t.dtype) == ((2, 3), 2, (2, 3), 6, np.float64)
    assert len(t) == 2
    assert t.is_leaf and t.op is None
    y = t * 2
    assert not y.is_leaf and y.op == "Mul" and y.requires_grad
    assert Tensor(2.5).item() == 2.5 and isinstance(Tensor(2.5).item(), float)
    assert float(Tensor([[4.0]])) == 4.0
    with pytest.raises(ShapeError):
        t.item()
    with pytest.raises(TypeError):
        len(Tensor(1.0))


def test_detach_shares_data_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 3
    d = y.detach()
    assert d.data is y.data
    assert d.requires_grad is False and d.node is None and d.grad is None
    z = (d * x).sum()  # d is a constant now: dz/dx = d, not 6x
    z.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 6.0])


def test_requires_grad_in_place_only_on_leaves():
    x = Tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(GraphError):
        (x * 2).requires_grad_(False)


def test_repr_is_readable():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0, 2.0], requires_grad=True)) == "Tensor([1., 2.], requires_grad=True)"
    r = repr(Tensor(np.array([[0.5, 1.0]])) * Tensor(np.ones(2), requires_grad=True))
    assert r.startswith("Tensor([[0.5, 1. ]]") and "dtype=float64" in r and "op=Mul" in r


# ---------------------------------------------------------------- algebraic properties


@PROPERTY
@given(x=S.values(S.shapes()))
def test_gradient_of_sum_is_ones(x):
    t = leaf(x)
    t.sum().backward()
    assert t.grad.shape == x.shape
    np.testing.assert_array_equal(t.grad.data, np.ones_like(x))


def _vjp(f, x: np.ndarray, seed: np.ndarray) -> np.ndarray:
    t = leaf(x)
    f(t).backward(gradient=seed)
    return t.grad.data


@st.composite
def linearity_cases(draw):
    shape = draw(S.shapes(min_dims=1))
    return (draw(S.values(shape)), draw(S.values(shape)), draw(S.values(shape)),
            draw(st.floats(-3, 3)), draw(st.floats(-3, 3)))


@PROPERTY
@given(case=linearity_cases())
def test_gradient_is_linear_in_the_seed(case):
    x, s1, s2, a, b = case

    def f(t):  # non-linear, and mixing elements along the last axis
        return t.softmax(axis=-1) * t.tanh() + (t * t).sigmoid()

    lhs = _vjp(f, x, a * s1 + b * s2)
    rhs = a * _vjp(f, x, s1) + b * _vjp(f, x, s2)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-12)


CHAINS = {
    # name: (f(g(x)) with Tensors, f'(g(x)) * g'(x) with numpy, domain)
    "exp(tanh x)": (lambda t: t.tanh().exp(), lambda x: np.exp(np.tanh(x)) * (1 - np.tanh(x) ** 2), S.values),
    "log(sigmoid x)": (lambda t: t.sigmoid().log(), lambda x: 1 - _sigmoid(x), S.values),
    "sqrt(exp x)": (lambda t: t.exp().sqrt(), lambda x: 0.5 * np.exp(x / 2), S.values),
    "tanh(x**2)": (lambda t: (t**2).tanh(), lambda x: (1 - np.tanh(x**2) ** 2) * 2 * x, S.values),
    "sigmoid(log x)": (lambda t: t.log().sigmoid(), lambda x: _sigmoid(np.log(x)) * (1 - _sigmoid(np.log(x))) / x,
                       S.positive),
}


@pytest.mark.parametrize("name", CHAINS)
@PROPERTY
@given(data=st.data())
def test_chain_rule(name, data):
    f, derivative, domain = CHAINS[name]
    x = data.draw(domain(S.shapes(min_dims=1)))
    t = leaf(x)
    f(t).sum().backward()
    np.testing.assert_allclose(t.grad.data, derivative(x), rtol=1e-12, atol=1e-14)


def test_fan_out_accumulates():
    x = leaf([-1.5, 0.0, 2.0])
    (x * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2 * x.data + 1)


def test_tensor_used_twice_and_backward_twice_accumulates_like_pytorch():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()  # x used twice in one op
    np.testing.assert_array_equal(x.grad.data, 2 * x.data)
    (x * x).sum().backward()  # a second graph, a second backward: added, not replaced
    np.testing.assert_array_equal(x.grad.data, 4 * x.data)
    x.grad = None
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_accumulation_does_not_write_into_shared_arrays():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seed = np.array([1.0, 1.0])
    (x + y).backward(gradient=seed)  # Add hands the same array to both inputs
    assert x.grad.data is not y.grad.data and x.grad.data is not seed
    (x * 5).backward(gradient=seed)
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    z = leaf(2.0)
    z.backward()  # backward on a leaf itself
    z.backward()
    assert z.grad.item() == 2.0


# ---------------------------------------------------------------- no_grad, detach


def test_no_grad_records_nothing_and_restores_state():
    x = leaf([1.0, 2.0])
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 2 + 1).exp().sum()
        with no_grad():  # nested
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert y.requires_grad is False and y.node is None and y.is_leaf
    with pytest.raises(GraphError):
        y.backward()
    assert x.grad is None


def test_no_grad_restores_state_on_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()


def test_no_grad_as_a_decorator():
    x = leaf([1.0])

    @no_grad()
    def f(t):
        assert not is_grad_enabled()
        return t * 2

    @no_grad()
    def boom():
        raise KeyError

    y = f(x)
    assert is_grad_enabled()
    assert y.requires_grad is False and y.node is None
    with pytest.raises(KeyError):
        boom()
    assert is_grad_enabled()
    assert (x * 2).requires_grad  # recording again


def test_no_grad_decorated_recursive_function_restores_state():
    @no_grad()
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert is_grad_enabled() and engine_module.state.saved == []


# ---------------------------------------------------------------- the notes' one-neuron-per-layer chain


@st.composite
def neuron_chains(draw):
    n_layers = draw(st.integers(1, 4))
    real = st.floats(-2, 2, allow_nan=False, allow_subnormal=False)
    ws = [draw(real) for _ in range(n_layers)]
    bs = [draw(real) for _ in range(n_layers)]
    return ws, bs, draw(real), draw(st.floats(0, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chain=neuron_chains())
def test_one_neuron_chain_matches_the_notes(chain):
    """C0 = (a_L - y)^2, a_l = sigmoid(w_l a_{l-1} + b_l), one neuron per layer (shape (1,) tensors).

    The notes: dC0/dw_L = a_{L-1} sigmoid'(z_L) 2(a_L - y), dC0/db_L = sigmoid'(z_L) 2(a_L - y),
    dC0/da_{L-1} = w_L sigmoid'(z_L) 2(a_L - y); and the same step repeated for every earlier layer.
    """
    ws, bs, a0, y = chain
    w = [leaf([v]) for v in ws]
    b = [leaf([v]) for v in bs]
    a_in = leaf([a0])
    a = a_in
    for wl, bl in zip(w, b):
        a = (wl * a + bl).sigmoid()
    cost = (a - y) ** 2
    cost.backward()

    acts, zs = [a0], []
    for wl, bl in zip(ws, bs):
        zs.append(wl * acts[-1] + bl)
        acts.append(_sigmoid(zs[-1]))
    d_a = 2 * (acts[-1] - y)  # dC0/da_L
    for layer in reversed(range(len(ws))):
        s = _sigmoid(zs[layer])
        d_sigmoid = s * (1 - s)  # sigmoid'(z_l)
        np.testing.assert_allclose(w[layer].grad.data, [acts[layer] * d_sigmoid * d_a], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(b[layer].grad.data, [d_sigmoid * d_a], rtol=1e-12, atol=1e-300)
        d_a = ws[layer] * d_sigmoid * d_a  # dC0/da_{l-1}
    np.testing.assert_allclose(a_in.grad.data, [d_a], rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------- deep and wide graphs


@pytest.mark.parametrize("recursion_limit", [None, 200])
def test_a_100000_op_chain_backpropagates_without_recursion(recursion_limit):
    n, c = 100_000, 1.00001
    old = sys.getrecursionlimit()
    try:
        if recursion_limit is not None:
            sys.setrecursionlimit(recursion_limit)
        x = leaf([0.5])
        y, expected = x, 0.5
        for i in range(n // 2):
            y = y * c
            y = y - 1e-6
            expected = expected * c - 1e-6
        y.backward(gradient=np.ones(1))
    finally:
        sys.setrecursionlimit(old)
    assert y.item() == expected  # the same float operations in the same order
    np.testing.assert_allclose(x.grad.data, [c ** (n // 2)], rtol=1e-9)


def test_wide_fan_in():
    x = leaf([1.0, 2.0])
    branches = [x * float(i) for i in range(1000)]
    total = branches[0]
    for b in branches[1:]:
        total = total + b
    total.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [499500.0, 499500.0])
    x.grad = None
    branches = [x * float(i) for i in range(1000)]  # the first backward released the old ones
    (stack(branches) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [999000.0, 999000.0])


def test_stacked_diamonds_are_walked_once_per_node():
    """40 diamonds in a row have 2**40 paths: the gradient must come from summing at nodes, not walking paths."""
    x = leaf([1.0, -1.0])
    y = x
    for _ in range(40):
        y = y * 0.5 + y * 1.5
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0**40, 2.0**40])


# ---------------------------------------------------------------- graph release and backward's errors


def test_graph_is_released_after_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    first = x.grad.data.copy()
    with pytest.raises(GraphError, match="retain_graph"):
        y.backward()
    np.testing.assert_array_equal(x.grad.data, first)  # the failed call added nothing


def test_retain_graph_allows_a_second_backward_which_accumulates():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    np.testing.assert_allclose(first, np.exp(x.data) * (x.data + 1), rtol=1e-15)
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, 2 * first, rtol=1e-15)
    y.backward()  # releases
    np.testing.assert_allclose(x.grad.data, 3 * first, rtol=1e-15)
    with pytest.raises(GraphError):
        y.backward()


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(GraphError):
        (x * 2).backward()
    (x.sum() * Tensor(np.ones((1, 1)))).backward()  # one element: the seed 1 is implied
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    (x * 2).backward(gradient=Tensor([1.0, 0.5]))  # a Tensor seed works too
    np.testing.assert_array_equal(x.grad.data, [3.0, 2.0])


@pytest.mark.parametrize("seed_shape", [(2,), (1, 3), (3, 1), (), (6,)])
def test_wrong_shaped_gradient_seed_raises_shape_error(seed_shape):
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"\(2, 3\)"):
        (x * 2).backward(gradient=np.ones(seed_shape))


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(GraphError):
        Tensor([1.0, 2.0]).sum().backward()
    with pytest.raises(GraphError):
        (Tensor([1.0]) * 2).backward()


def test_exception_hierarchy():
    assert issubclass(ShapeError, ValueError) and issubclass(GraphError, RuntimeError)
    assert issubclass(DTypeError, TypeError)
    for e in (ShapeError, GraphError, DTypeError):
        assert issubclass(e, TinygradMLPError)


SHAPE_MISMATCHES = {
    "add": (lambda a, b: a + b, (2, 3), (4,)),
    "sub": (lambda a, b: a - b, (2, 3), (3, 2)),
    "mul": (lambda a, b: a * b, (3,), (4,)),
    "div": (lambda a, b: a / b, (2, 3, 4), (2, 4)),
    "pow": (lambda a, b: a**b, (5,), (2,)),
    "maximum": (maximum, (2, 3), (3, 2)),
    "minimum": (minimum, (2,), (3,)),
    "where": (lambda a, b: where(np.ones((2, 3), dtype=bool), a, b), (2, 3), (2, 2)),
    "matmul 2-D": (lambda a, b: a @ b, (2, 3), (4, 5)),
    "matmul 1-D": (lambda a, b: a @ b, (3,), (4,)),
    "matmul vector-matrix": (lambda a, b: a @ b, (3,), (4, 2)),
    "matmul batch": (lambda a, b: a @ b, (2, 3, 4), (3, 4, 5)),
    "concatenate": (lambda a, b: concatenate([a, b], axis=0), (2, 3), (2, 4)),
    "stack": (lambda a, b: stack([a, b]), (2, 3), (3, 2)),
}


@pytest.mark.parametrize("name", SHAPE_MISMATCHES)
@pytest.mark.parametrize("with_ndarray", [False, True])
def test_shape_mismatch_raises_shape_error_naming_both_shapes(name, with_ndarray):
    op, sa, sb = SHAPE_MISMATCHES[name]
    a = Tensor(np.ones(sa), requires_grad=True)
    b = np.ones(sb) if with_ndarray and name not in ("concatenate", "stack") else Tensor(np.ones(sb))
    with pytest.raises(ShapeError) as info:
        op(a, b)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert str(sa) in message and str(sb) in message, message


def test_matmul_of_a_0d_operand_raises_shape_error():
    with pytest.raises(ShapeError):
        Tensor(2.0) @ Tensor([1.0])


# ---------------------------------------------------------------- broadcasting: gradients of the operand's own shape


def _reduce_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reference for summing a broadcast gradient back down (written independently of the library)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


@pytest.mark.parametrize("sa, sb", S.KEY_BROADCAST_PAIRS + [((2, 3), ()), ((1, 1), (2, 1, 3))])
def test_broadcast_operands_get_gradients_of_their_own_shape(sa, sb):
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal(sa)), leaf(rng.standard_normal(sb))
    out_shape = np.broadcast_shapes(sa, sb)
    seed = rng.standard_normal(out_shape)
    (a * b + a).backward(gradient=seed)
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(a.grad.data, _reduce_to(seed * (np.broadcast_to(b.data, out_shape) + 1), sa), rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, _reduce_to(seed * np.broadcast_to(a.data, out_shape), sb), rtol=1e-12)


@PROPERTY
@given(pair=S.broadcast_pairs(), data=st.data())
def test_broadcast_gradient_shapes_property(pair, data):
    sa, sb = pair
    a, b = leaf(data.draw(S.values(sa))), leaf(data.draw(S.values(sb)))
    out_shape = np.broadcast_shapes(sa, sb)
    (a - b).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    count = int(np.prod(out_shape))
    np.testing.assert_array_equal(a.grad.data, np.full(sa, count / max(int(np.prod(sa)), 1)))
    np.testing.assert_array_equal(b.grad.data, np.full(sb, -count / max(int(np.prod(sb)), 1)))


# ---------------------------------------------------------------- memory


def _loss_and_intermediate(x: Tensor):
    hidden = (x * 2.0).tanh()  # lives only inside the graph once this function returns
    return (hidden * hidden).sum(), weakref.ref(hidden)


def test_intermediates_are_freed_after_backward():
    x = leaf(np.linspace(-1, 1, 8))
    loss, hidden = _loss_and_intermediate(x)
    gc.collect()
    assert hidden() is not None  # the graph holds it until backward
    loss.backward()
    gc.collect()
    assert hidden() is None
    assert x.grad is not None


def test_retain_graph_keeps_intermediates_until_the_output_goes():
    x = leaf(np.linspace(-1, 1, 8))
    loss, hidden = _loss_and_intermediate(x)
    loss.backward(retain_graph=True)
    gc.collect()
    assert hidden() is not None
    del loss
    gc.collect()
    assert hidden() is None


# ---------------------------------------------------------------- second derivatives (create_graph=True)


SECOND = {
    "x**3": (lambda t: t**3, lambda x: 3 * x**2, lambda x: 6 * x),
    "tanh": (Tensor.tanh, lambda x: 1 - np.tanh(x) ** 2, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    "sigmoid": (Tensor.sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
                lambda x: _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x))),
    "exp(x)*x": (lambda t: t.exp() * t, lambda x: np.exp(x) * (x + 1), lambda x: np.exp(x) * (x + 2)),
}


@pytest.mark.parametrize("name", SECOND)
def test_second_derivative(name):
    f, d1, d2 = SECOND[name]
    x0 = np.array([-1.3, -0.2, 0.4, 1.1])
    x = leaf(x0)
    f(x).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad  # a gradient with a graph of its own
    np.testing.assert_allclose(first.data, d1(x0), rtol=1e-13)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.data, d2(x0), rtol=1e-12, atol=1e-15)


def test_create_graph_gradient_of_a_product_of_two_leaves():
    x, y = leaf([0.7, -1.2]), leaf([2.0, 0.5])
    (x * x * y).sum().backward(create_graph=True)  # dx = 2xy, dy = x^2
    gx = x.grad
    x.grad = y.grad = None
    gx.sum().backward()  # d/dx sum(2xy) = 2y, d/dy sum(2xy) = 2x
    np.testing.assert_allclose(x.grad.data, 2 * y.data, rtol=1e-15)
    np.testing.assert_allclose(y.grad.data, 2 * x.data, rtol=1e-15)


def test_plain_backward_can_accumulate_into_a_create_graph_gradient():
    """Through sum() the create_graph gradient is a read-only broadcast; accumulating must not write into it."""
    x = leaf([1.0, 2.0])
    x.sum().backward(create_graph=True)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_create_graph_gradients_of_two_leaves_are_not_aliased():
    """Add hands one gradient Tensor to both inputs: their .grad must not be one object written in place."""
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).backward(gradient=np.ones(2), create_graph=True)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])
