"""The function transforms of :mod:`tinygrad_mlp.autograd`: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacobian`` (both modes), ``hessian``, ``hvp``.

Behaviour: ``argnums`` as int, negative int and tuple; the value of ``value_and_grad``; numpy arrays and
lists accepted; Jacobian shapes ``out.shape + in.shape``; Hessians symmetric; composition
(``grad(grad(f))``); the caller's Tensors are never modified. Values are checked against closed forms
and against central differences (float64).

Hypothesis example counts: ``JAC`` = 25 examples (random input and output shapes for Jacobians in both
modes), ``QUAD`` = 15 (Hessians of quadratic forms and cubic functions); ``deadline=None``.
The file runs in about 2 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
from tinygrad_mlp import ShapeError, Tensor, autograd, concatenate
from tinygrad_mlp.autograd import grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp
from tinygrad_mlp.nn import MLP

JAC = settings(max_examples=25, deadline=None)
QUAD = settings(max_examples=15, deadline=None)


def numerical_jacobian(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    out = f(Tensor(x)).data
    jac = np.zeros(out.shape + x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        jac[(Ellipsis,) + i] = (f(Tensor(x + e)).data - f(Tensor(x - e)).data) / (2 * eps)
    return jac


# ---------------------------------------------------------------- grad and value_and_grad


def test_grad_argnums_int_negative_and_tuple():
    f = lambda a, b, c: (a * a * b + c.exp()).sum()  # noqa: E731
    a, b, c = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.0, 0.5])
    np.testing.assert_allclose(grad(f)(a, b, c).data, 2 * a * b)
    np.testing.assert_allclose(grad(f, argnums=1)(a, b, c).data, a * a)
    np.testing.assert_allclose(grad(f, 1)(a, b, c).data, a * a)  # argnums as the second positional argument
    np.testing.assert_allclose(grad(f, argnums=-1)(a, b, c).data, np.exp(c))
    ga, gc = grad(f, argnums=(0, 2))(a, b, c)
    np.testing.assert_allclose(ga.data, 2 * a * b)
    np.testing.assert_allclose(gc.data, np.exp(c))
    assert isinstance(grad(f, argnums=(1,))(a, b, c), tuple)


def test_grad_rejects_bad_argnums_and_non_scalar_outputs():
    f = lambda a, b: (a * b).sum()  # noqa: E731
    with pytest.raises(ValueError, match="out of range"):
        grad(f, argnums=2)(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="repeats"):
        grad(f, argnums=(0, 0))(np.ones(2), np.ones(2))
    with pytest.raises(ShapeError, match="one-element"):
        grad(lambda a: a * 2)(np.ones(3))
    with pytest.raises(TypeError, match="must return a Tensor"):
        grad(lambda a: 3.0)(np.ones(3))


def test_value_and_grad_returns_the_value_from_the_same_pass():
    f = lambda w, x: ((x @ w).tanh() ** 2).sum()  # noqa: E731
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    value, g = value_and_grad(f)(w, x)
    assert value.item() == pytest.approx(np.sum(np.tanh(x @ w) ** 2), rel=1e-14)
    assert not value.requires_grad  # plain path: a detached value
    np.testing.assert_allclose(g.data, grad(f)(w, x).data, rtol=1e-14)
    value, (gw, gx) = value_and_grad(f, argnums=(0, 1))(w, x)
    assert gw.shape == w.shape and gx.shape == x.shape


def test_inputs_may_be_arrays_lists_or_tensors_and_are_left_alone():
    f = lambda a: (a * a).sum()  # noqa: E731
    assert grad(f)(np.array([1.0, 2.0])).dtype == np.float64  # numpy keeps its dtype
    assert grad(f)([1.0, 2.0]).dtype == np.float32  # Python data becomes float32, like Tensor(...)
    t = Tensor(np.array([1.0, 2.0]))
    np.testing.assert_allclose(grad(f)(t).data, [2.0, 4.0])
    assert not t.requires_grad and t.grad is None
    p = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    grad(f)(p)
    assert p.grad is None


def test_grad_of_a_function_that_ignores_its_argument_is_zero():
    g = grad(lambda a, b: (b * 2).sum(), argnums=(0, 1))(np.ones(3), np.ones(2))
    np.testing.assert_array_equal(g[0].data, np.zeros(3))
    np.testing.assert_array_equal(g[1].data, [2.0, 2.0])
    np.testing.assert_array_equal(grad(lambda a: Tensor(np.array(1.0)))(np.ones(2)).data, np.zeros(2))


def test_grad_composes():
    f = lambda x: x.tanh().sum()  # noqa: E731
    x = np.array([0.2, -0.4])
    d2 = grad(lambda a: grad(f)(a).sum())(x)
    t = np.tanh(x)
    np.testing.assert_allclose(d2.data, -2 * t * (1 - t**2), rtol=1e-12)


# ---------------------------------------------------------------- vjp and jvp


def test_vjp_pullback_is_u_transpose_j_and_can_be_called_twice():
    f = lambda a, b: (a[:, None] * b[None, :]).exp()  # noqa: E731  (3,) x (2,) -> (3, 2)
    a, b = np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0])
    out, pullback = vjp(f, a, b)
    assert out.shape == (3, 2) and not out.requires_grad
    ja, jb = jacobian(f, argnums=(0, 1))(a, b)
    for _ in range(2):
        u = np.random.default_rng(_).standard_normal((3, 2))
        ga, gb = pullback(u)
        np.testing.assert_allclose(ga.data, np.tensordot(u, ja.data, axes=2), rtol=1e-12)
        np.testing.assert_allclose(gb.data, np.tensordot(u, jb.data, axes=2), rtol=1e-12)


def test_jvp_equals_jacobian_times_tangent():
    f = lambda a: (a.reshape(2, 3) @ a.reshape(3, 2)).tanh()  # noqa: E731
    x = np.linspace(-1, 1, 6)
    v = np.random.default_rng(0).standard_normal(6)
    out, t = jvp(f, (x,), (v,))
    np.testing.assert_allclose(t.data, np.tensordot(jacobian(f)(x).data, v, axes=1), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- jacobian


@st.composite
def _jacobian_cases(draw):
    in_shape = draw(S.shapes(max_dims=2))
    out_cols = draw(st.integers(1, 3))
    x = draw(S.values(in_shape, bound=1.5))
    w = draw(S.values((int(np.prod(in_shape)), out_cols), bound=1.0))
    return x, w


@JAC
@given(case=_jacobian_cases())
def test_jacobian_shapes_and_both_modes_agree_with_finite_differences(case):
    x, w = case

    def f(a):  # in_shape -> (2, out_cols)
        flat = a.reshape(1, -1)
        h = (flat @ w).tanh()
        return concatenate([h, (h * h).exp()], axis=0)

    jr, jf = jacrev(f)(x), jacfwd(f)(x)
    assert jr.shape == jf.shape == (2, w.shape[1]) + x.shape
    np.testing.assert_allclose(jr.data, jf.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jr.data, numerical_jacobian(f, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jacobian(f, mode="forward")(x).data, jf.data)


def test_jacobian_of_a_scalar_function_is_the_gradient_and_of_a_constant_is_zero():
    f = lambda a: (a * a).sum()  # noqa: E731
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    for mode in ("reverse", "forward"):
        j = jacobian(f, mode=mode)(x)
        assert j.shape == (2, 2)
        np.testing.assert_allclose(j.data, 2 * x)
        z = jacobian(lambda a: Tensor(np.ones(3)), mode=mode)(x)
        assert z.shape == (3, 2, 2) and not z.data.any()
    with pytest.raises(ValueError, match="mode"):
        jacobian(f, mode="sideways")


def test_jacobian_of_an_mlp_by_both_modes():
    model = MLP([4, 5, 3], dtype=np.float64, seed=2)
    x = np.random.default_rng(0).standard_normal((1, 4))
    jr, jf = jacrev(model)(x), jacfwd(model)(x)
    assert jr.shape == (1, 3, 1, 4)
    np.testing.assert_allclose(jr.data, jf.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(jr.data, numerical_jacobian(model, x), rtol=1e-6, atol=1e-9)
    assert all(p.grad is None for p in model.parameters())


def test_jacobian_with_tuple_argnums():
    f = lambda a, b: a * b.sum()  # noqa: E731
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    for mode in ("reverse", "forward"):
        ja, jb = jacobian(f, argnums=(0, 1), mode=mode)(a, b)
        np.testing.assert_allclose(ja.data, 12 * np.eye(2))
        np.testing.assert_allclose(jb.data, np.repeat(a[:, None], 3, axis=1))


# ---------------------------------------------------------------- hessian and hvp


@QUAD
@given(a=S.values((3, 3)), x=S.values((3,)), v=S.values((3,)))
def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose(a, x, v):
    f = lambda t: (t * (Tensor(a) @ t)).sum()  # noqa: E731  x^T A x
    for mode in ("reverse", "forward"):
        h = hessian(f, mode=mode)(x)
        assert h.shape == (3, 3)
        np.testing.assert_allclose(h.data, a + a.T, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(hvp(f, x, v, mode=mode).data, (a + a.T) @ v, rtol=1e-12, atol=1e-12)


@QUAD
@given(x=S.values((2, 2), bound=1.5))
def test_hessian_is_symmetric_and_matches_finite_differences_of_the_gradient(x):
    f = lambda t: ((t @ t).tanh() * t.exp()).sum()  # noqa: E731
    h = hessian(f)(x).data
    assert h.shape == (2, 2, 2, 2)
    flat = h.reshape(4, 4)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h, numerical_jacobian(lambda t: grad(f)(t), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(hessian(f, mode="forward")(x).data, h, rtol=1e-10, atol=1e-12)


def test_hessian_needs_a_single_argnum_and_hvp_a_known_mode():
    with pytest.raises(TypeError):
        hessian(lambda a, b: (a * b).sum(), argnums=(0, 1))
    with pytest.raises(ValueError, match="mode"):
        hvp(lambda a: (a * a).sum(), np.ones(2), np.ones(2), mode="sideways")


def test_hvp_of_a_linear_function_is_zero_and_of_several_primals_is_blockwise():
    np.testing.assert_array_equal(hvp(lambda a: (a * 3).sum(), np.ones(2), np.ones(2)).data, np.zeros(2))
    f = lambda a, b: (a * a * b).sum()  # noqa: E731  H = [[2b, 2a], [2a, 0]] elementwise
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    va, vb = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    for mode in ("reverse", "forward"):
        ha, hb = hvp(f, (a, b), (va, vb), mode=mode)
        np.testing.assert_allclose(ha.data, 2 * b * va + 2 * a * vb)
        np.testing.assert_allclose(hb.data, 2 * a * va)


def test_the_module_lists_its_api():
    assert set(autograd.__all__) == {"grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd",
                                     "hessian", "hvp", "elementwise_grad", "flatten", "check_grads", "gradcheck",
                                     "Function", "FunctionCtx", "no_grad", "enable_grad", "inference_mode"}
