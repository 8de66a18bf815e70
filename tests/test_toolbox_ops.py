"""The toolbox's tensor ops (issue 14): values against numpy, first-order gradients against central
differences in float64 (``gradcheck``), and the edge cases each op promises.

The inputs come from the shared cases (:mod:`primitive_cases`: ``CASES`` for the new primitives, ``COMPOSITES``
for the ops composed of primitives); their second derivatives are checked in test_higher_order.py and their
forward mode in test_forward_mode.py, with the same cases.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import primitive_cases as C
import strategies as S
from tinygrad_mlp import ArgumentError, DTypeError, IndexingError, ShapeError, Tensor, autograd, gradcheck
from tinygrad_mlp.nn import functional as F

OPS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_erf = np.vectorize(math.erf, otypes=[np.float64])


def leaves(arrays):
    return [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name", sorted(C.COMPOSITES))
@OPS
@given(data=st.data())
def test_composite_op_values_and_gradients(name, data):
    f, arrays, ref = data.draw(C.COMPOSITES[name])
    ts = leaves(arrays)
    out = f(*ts)
    expected = np.asarray(ref(*arrays))
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(f, *ts)


UNARY = {
    "sin": (Tensor.sin, np.sin, S.values),
    "cos": (Tensor.cos, np.cos, S.values),
    "log1p": (Tensor.log1p, np.log1p, lambda s: S.positive(s, -0.5, 3.0)),
    "expm1": (Tensor.expm1, np.expm1, S.values),
    "softplus": (Tensor.softplus, lambda a: np.log1p(np.exp(a)), S.values),
    "erf": (Tensor.erf, _erf, S.values),
    "cumsum": (lambda t: t.cumsum(-1) if t.ndim else t.cumsum(), lambda a: np.cumsum(a, axis=-1 if a.ndim else None),
               S.values),
    # issue 23's elementwise rules (HIPS autograd's numpy coverage)
    "sinh": (Tensor.sinh, np.sinh, S.values),
    "cosh": (Tensor.cosh, np.cosh, S.values),
    "tan": (Tensor.tan, np.tan, lambda s: S.values(s, 1.2)),
    "arcsin": (Tensor.arcsin, np.arcsin, lambda s: S.values(s, 0.8)),
    "arccos": (Tensor.arccos, np.arccos, lambda s: S.values(s, 0.8)),
    "arctan": (Tensor.arctan, np.arctan, S.values),
    "arcsinh": (Tensor.arcsinh, np.arcsinh, S.values),
    "arccosh": (Tensor.arccosh, np.arccosh, lambda s: S.positive(s, 1.2, 3.0)),
    "arctanh": (Tensor.arctanh, np.arctanh, lambda s: S.values(s, 0.8)),
    "sign": (Tensor.sign, np.sign, C._off_the_steps),
    "floor": (Tensor.floor, np.floor, C._off_the_steps),
    "ceil": (Tensor.ceil, np.ceil, C._off_the_steps),
    "round": (Tensor.round, np.round, C._off_the_steps),
    "trunc": (Tensor.trunc, np.trunc, C._off_the_steps),
    "mod 0.7": (lambda t: t % 0.7, lambda a: np.mod(a, 0.7),
                lambda s: S.values(s).map(lambda v: 0.7 * (np.floor(v) + 0.3 + 0.4 * (v - np.floor(v))))),
}


@pytest.mark.parametrize("name", UNARY)
@OPS
@given(data=st.data())
def test_new_primitive_values_and_gradients(name, data):
    t_op, np_op, elems = UNARY[name]
    x = data.draw(elems(S.shapes()))
    (t,) = leaves([x])
    np.testing.assert_allclose(t_op(t).data, np_op(x), rtol=1e-13, atol=1e-15)
    assert gradcheck(t_op, t)


# ---------------------------------------------------------------- edges the ops promise


def test_log1p_expm1_are_exact_where_the_naive_forms_round():
    tiny = Tensor(np.array([1e-20, -1e-18]))
    np.testing.assert_array_equal(tiny.log1p().data, [1e-20, -1e-18])  # log(1 + x) would give 0
    np.testing.assert_array_equal(tiny.expm1().data, [1e-20, -1e-18])  # exp(x) - 1 would give 0


def test_softplus_is_stable_at_both_ends():
    x = Tensor(np.array([-800.0, -40.0, 0.0, 40.0, 800.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.softplus()
        out.sum().backward()
    np.testing.assert_allclose(out.data, [0.0, np.exp(-40.0), np.log(2), 40.0, 800.0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(x.grad.data, [0.0, np.exp(-40.0), 0.5, 1.0, 1.0], rtol=1e-15, atol=1e-300)


def test_logsumexp_is_stable_and_handles_all_minus_infinity():
    x = Tensor(np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf]]), requires_grad=True)
    out = x.logsumexp(axis=1)
    np.testing.assert_allclose(out.data, [1000 + np.log(2), -1000 + np.log(2), -np.inf])
    with np.errstate(invalid="ignore"):  # the all -inf row has no gradient (0/0); the others are checked
        out[:2].sum().backward()
    np.testing.assert_allclose(x.grad.data[:2], 0.5)


def test_prod_gradient_is_exact_at_zeros():
    x = Tensor(np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]]), requires_grad=True)
    x.prod(axis=1).sum().backward()
    # d/dx_i prod = product of the others: finite (and right) where out / x would divide 0 by 0
    np.testing.assert_array_equal(x.grad.data, [[6.0, 0.0, 0.0], [0.0, 0.0, 0.0], [6.0, 3.0, 2.0]])
    h = autograd.hessian(lambda a: a.prod())(np.array([0.0, 2.0, 3.0]))
    np.testing.assert_array_equal(h.data, [[0, 3, 2], [3, 0, 0], [2, 0, 0]])
    assert Tensor(np.zeros((2, 0))).prod(axis=1).data.tolist() == [1.0, 1.0]


def test_var_std_ddof_and_correction():
    x = np.random.default_rng(0).standard_normal((4, 5))
    t = Tensor(x)
    np.testing.assert_allclose(t.var().data, x.var())  # numpy's default: biased
    np.testing.assert_allclose(t.var(axis=1, ddof=1).data, x.var(axis=1, ddof=1))
    np.testing.assert_allclose(t.var(dim=1, correction=1, keepdim=True).data, x.var(axis=1, ddof=1, keepdims=True))
    np.testing.assert_allclose(t.std(0, 1).data, x.std(axis=0, ddof=1))
    with pytest.raises(ArgumentError, match="degrees of freedom"):
        Tensor(np.ones((3, 1))).var(axis=1, ddof=1)
    with pytest.raises(ArgumentError):
        t.var(ddof=1, correction=1)


def test_gelu_forms_and_relatives():
    x = np.linspace(-4, 4, 41)
    exact = Tensor(x).gelu().data
    np.testing.assert_allclose(exact, x * 0.5 * (1 + _erf(x / np.sqrt(2))), rtol=1e-15, atol=1e-16)
    assert np.abs(Tensor(x).gelu("tanh").data - exact).max() < 1e-3  # the approximation is close, not equal
    with pytest.raises(ArgumentError):
        Tensor(x).gelu("sigmoid")
    z = Tensor(np.array([0.0]), requires_grad=True)
    z.leaky_relu(0.2).sum().backward()
    assert z.grad.data[0] == 0.2  # PyTorch's value at the kink
    big = Tensor(np.array([800.0, -2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in the branch elu does not use
        big.elu().sum().backward()
    np.testing.assert_allclose(big.grad.data, [1.0, np.exp(-2.0)])


def test_argmax_argmin_are_integer_arrays_without_gradient():
    t = Tensor(np.array([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]]), requires_grad=True)
    assert t.argmax().tolist() == 3 and t.argmin().tolist() == 4  # of the flattened tensor, as numpy
    np.testing.assert_array_equal(t.argmax(axis=1), [1, 0])  # ties: the first
    np.testing.assert_array_equal(t.argmin(dim=0, keepdim=True), [[0, 1, 1]])
    assert t.argmax(axis=1).dtype.kind == "i"
    with pytest.raises(ShapeError):
        t.argmax(axis=2)
    with pytest.raises(ShapeError):
        Tensor(np.zeros((0,))).argmax()


def test_dim_and_keepdim_are_accepted_everywhere_axis_is():
    x = np.arange(24.0).reshape(2, 3, 4)
    t = Tensor(x)
    for name in ("sum", "mean", "max", "min", "prod", "logsumexp", "var"):
        by_dim = getattr(t, name)(dim=1, keepdim=True)
        if name in ("max", "min"):  # PyTorch's max(dim) / min(dim): (values, indices)
            by_dim = by_dim.values
        np.testing.assert_allclose(by_dim.data, getattr(t, name)(axis=1, keepdims=True).data, err_msg=name)
        with pytest.raises(ArgumentError):
            getattr(t, name)(axis=1, dim=1)
    np.testing.assert_allclose(t.softmax(dim=1).data, t.softmax(axis=1).data)
    np.testing.assert_allclose(t.cumsum(dim=2).data, np.cumsum(x, axis=2))
    assert t.flip(dim=0).data[0, 0, 0] == 12.0


def test_shape_ops_and_their_errors():
    t = Tensor(np.zeros((2, 1, 3)))
    assert t.squeeze().shape == (2, 3) and t.squeeze(1).shape == (2, 3) and t.squeeze(dim=-2).shape == (2, 3)
    with pytest.raises(ShapeError, match="size 2"):
        t.squeeze(0)  # numpy refuses too (PyTorch would silently return it unchanged)
    assert t.unsqueeze(0).shape == (1, 2, 1, 3) and t.unsqueeze(-1).shape == (2, 1, 3, 1)
    assert t.flatten().shape == (6,) and t.flatten(1).shape == (2, 3)
    assert t.permute(2, 0, 1).shape == (3, 2, 1) and t.permute((2, 0, 1)).shape == (3, 2, 1)
    assert t.swapaxes(0, 2).shape == (3, 1, 2) and t.transpose(0, 2).shape == (3, 1, 2)  # PyTorch's swap
    with pytest.raises(ShapeError):
        t.permute(0, 1)
    with pytest.raises(ShapeError):
        t.unsqueeze(5)


def test_gather_and_take_along_axis_pick_and_scatter_back():
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    out = x.gather(1, np.array([[0, 0], [1, 0]]))
    np.testing.assert_array_equal(out.data, [[1, 1], [4, 3]])  # PyTorch's documented example
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 0], [1, 1]])  # repeated picks add up
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    best = np.argmax(scores, axis=1)[:, None]
    np.testing.assert_array_equal(Tensor(scores).take_along_axis(best, 1).data, [[0.7], [0.5]])
    with pytest.raises(IndexingError):
        x.gather(1, np.array([[2]]))
    with pytest.raises(ShapeError):
        x.gather(1, np.array([0, 1]))
    with pytest.raises(DTypeError):
        x.gather(1, np.array([[0.5]]))


def test_astype_float_double_keep_the_graph():
    x = Tensor(np.array([1.5, 2.5], dtype=np.float32), requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and y.op == "Cast" and x.float() is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, 5.0])
    as_int = x.astype(np.int32)  # to an integer dtype: a copy without a gradient, as PyTorch's int()
    assert as_int.dtype == np.int32 and not as_int.requires_grad and as_int.tolist() == [1, 2]
    with pytest.raises(DTypeError):
        x.astype("U3")
    assert x.tolist() == [1.5, 2.5] and Tensor(3.0).tolist() == 3.0


def test_functional_and_module_activations_by_name():
    x = Tensor(np.linspace(-2, 2, 5))
    for name in ("gelu", "silu", "softplus", "leaky_relu", "elu"):
        np.testing.assert_allclose(F.activation(name)(x).data, getattr(x, name)().data, err_msg=name)


# ---------------------------------------------------------------- autograd: has_aux


def test_grad_and_value_and_grad_with_has_aux():
    w = np.array([0.5, -1.0])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])

    def loss_and_predictions(w, x):
        pred = x @ w
        return (pred * pred).sum(), pred

    g, pred = autograd.grad(loss_and_predictions, has_aux=True)(w, x)
    np.testing.assert_allclose(g.data, 2 * x.T @ (x @ w))
    np.testing.assert_allclose(pred.data, x @ w)
    (value, aux), g2 = autograd.value_and_grad(loss_and_predictions, has_aux=True)(w, x)
    assert value.item() == pytest.approx(float(((x @ w) ** 2).sum()))
    np.testing.assert_allclose(g2.data, g.data)
    assert aux.shape == (2,)
    (_, label), _ = autograd.value_and_grad(lambda a: (a.sum(), "any object"), has_aux=True)(w)
    assert label == "any object"
    with pytest.raises(ArgumentError, match="pair"):
        autograd.grad(lambda a: a.sum(), has_aux=True)(w)
    with pytest.raises(ArgumentError, match="function form"):
        autograd.grad(Tensor(w, requires_grad=True).sum(), [Tensor(w)], has_aux=True)


def test_clip_bounds_may_be_tensors_and_get_the_gradient_where_they_replace_x():
    x = Tensor(np.array([-2.0, -0.5, 0.5, 2.0, 3.0]), requires_grad=True)
    lo = Tensor(np.array(-1.0), requires_grad=True)
    hi = Tensor(np.array([1.0, 1.0, 1.0, 1.0, 2.5]), requires_grad=True)
    out = x.clip(lo, hi)
    np.testing.assert_array_equal(out.data, [-1.0, -0.5, 0.5, 1.0, 2.5])
    (out * Tensor(np.arange(1.0, 6.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 2, 3, 0, 0])
    assert lo.grad.data == 1.0
    np.testing.assert_array_equal(hi.grad.data, [0, 0, 0, 4, 5])
    y = Tensor(np.array([0.0, 1.5, 3.0]), requires_grad=True)
    y.clip(2.0, 1.0).sum().backward()  # lo > hi: hi everywhere, as numpy; no gradient to x
    np.testing.assert_array_equal(y.grad.data, 0.0)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_leaky_relu_elu_clip_logsumexp_keep_the_dtype(dtype):
    x = Tensor(np.array([[-3.0, -0.5, 0.0, 0.5, 90.0]], dtype=dtype), requires_grad=True)
    for f in (lambda t: t.leaky_relu(np.float64(0.2)), lambda t: t.elu(np.float64(0.5)),
              lambda t: t.clip(-1, 1), lambda t: t.logsumexp(axis=1)):
        out = f(x)
        assert out.dtype == dtype
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == dtype


def test_leaky_relu_and_elu_settings_must_be_numbers():
    x = Tensor(np.ones(3))
    with pytest.raises(ArgumentError, match="negative_slope"):
        x.leaky_relu("0.1")
    with pytest.raises(ArgumentError, match="alpha"):
        x.elu(None)


def test_derivative_conventions_at_the_kinks():
    """clip: 1 at the bounds themselves (inside, as before); elu: alpha at 0 (the x <= 0 branch); leaky_relu:
    negative_slope at 0 (PyTorch's)."""
    x = Tensor(np.array([-1.0, 1.0, 0.0]), requires_grad=True)
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 1.0])
    z = Tensor(np.array([0.0]), requires_grad=True)
    z.elu(0.7).sum().backward()
    assert z.grad.data[0] == 0.7
    z.grad = None
    z.leaky_relu(0.3).sum().backward()
    assert z.grad.data[0] == 0.3
