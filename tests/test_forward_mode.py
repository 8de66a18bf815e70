"""Forward mode: every primitive's ``jvp`` rule, ``autograd.jvp``, ``jvpcheck``, and that the engine pays
nothing for forward mode when it is off.

For every primitive (hypothesis, float64, inputs from :mod:`primitive_cases`):

* ``jvpcheck``: the tangent from one dual-number pass equals the central difference of ``f`` along the
  tangent and ``J v`` with ``J`` assembled row by row by reverse mode;
* the dot-product test ``<u, J v> == <J^T u, v>`` for random ``u`` and ``v``: the forward rule and the
  backward of each primitive are adjoint to each other (exact up to rounding);
* the rule returns a tangent of exactly the output's shape, also when only one input of a
  broadcasting op has a tangent.

Hypothesis example counts: ``RULES`` = 20 examples per primitive for each of the three properties
(24 primitives); ``deadline=None``. The file runs in about 7 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import primitive_cases as C
from tinygrad_mlp import GradcheckError, Tensor, autograd, no_grad
from tinygrad_mlp import ops
from tinygrad_mlp import primitives as P
from tinygrad_mlp import engine
from tinygrad_mlp.gradcheck import jvpcheck
from tinygrad_mlp.nn import MLP

RULES = settings(max_examples=20, deadline=None)
NAMES = sorted(C.CASES)


def test_every_primitive_has_a_case_and_a_jvp_rule():
    assert set(C.CASES) == C.all_primitive_names()
    for name in C.all_primitive_names():
        assert C.rule_class(name).jvp is not P.Function.jvp, f"{name} has no jvp rule"


# ---------------------------------------------------------------- per primitive (hypothesis)


@pytest.mark.parametrize("name", NAMES)
@RULES
@given(data=st.data())
def test_jvp_matches_finite_differences_and_reverse_mode(name, data):
    f, arrays = data.draw(C.CASES[name])
    seed = data.draw(st.integers(0, 2**16))
    assert jvpcheck(f, tuple(C.leaves(arrays)), seed=seed)


@pytest.mark.parametrize("name", sorted(C.COMPOSITES))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_jvp_of_every_composite_op(name, data):
    """Forward mode through the toolbox's composite ops (logsumexp, var, prod, gather, gelu ...)."""
    f, arrays, _ = data.draw(C.COMPOSITES[name])
    assert jvpcheck(f, tuple(C.leaves(arrays)), seed=data.draw(st.integers(0, 2**16)))


@pytest.mark.parametrize("name", NAMES)
@RULES
@given(data=st.data())
def test_dot_product_identity(name, data):
    """<u, J v> == <J^T u, v>: forward mode (jvp) against reverse mode (vjp), no finite differences."""
    f, arrays = data.draw(C.CASES[name])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    xs = C.leaves(arrays)
    vs = [rng.standard_normal(x.shape) for x in xs]
    out, jv = autograd.jvp(f, tuple(xs), tuple(vs))
    u = rng.standard_normal(out.shape)
    _, pullback = autograd.vjp(f, *xs)
    jtu = pullback(u)
    lhs = float(np.sum(u * jv.data))
    rhs = sum(float(np.sum(g.data * v)) for g, v in zip(jtu, vs))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("name", NAMES)
@RULES
@given(data=st.data())
def test_rule_returns_the_output_shape_with_any_subset_of_tangents(name, data):
    f, arrays = data.draw(C.CASES[name])
    xs = [Tensor(a) for a in arrays]
    keep = data.draw(st.lists(st.booleans(), min_size=len(xs), max_size=len(xs)).filter(any))
    tangents = tuple(np.ones(x.shape) if k else None for x, k in zip(xs, keep))
    out, t = autograd.jvp(f, tuple(xs), tangents)
    assert t.shape == out.shape and t.dtype == out.dtype
    # linear in the tangents: the sum of the one-input tangents (each of the output's shape too)
    expected = sum(autograd.jvp(f, tuple(xs), tuple(v if i == j else None for j, v in enumerate(tangents)))[1].data
                   for i in range(len(xs)) if tangents[i] is not None)
    np.testing.assert_allclose(t.data, expected, rtol=1e-12, atol=1e-12)


def test_rules_are_exact_about_shapes_when_called_directly():
    x, y = np.ones((3, 1)), np.full((1, 4), 2.0)
    out = np.add(x, y)
    assert P.Add().jvp([np.ones((3, 1)), None], out, x, y).shape == (3, 4)
    assert P.Add().jvp([None, np.ones((1, 4))], out, x, y).shape == (3, 4)
    assert P.Mul().jvp([None, np.ones((1, 4))], x * y, x, y).shape == (3, 4)
    cond = np.array([[True], [False], [True]])
    out = np.where(cond, 1.0, np.ones(4))
    assert P.Where(cond).jvp([None, np.ones(4)], out, np.ones(()), np.ones(4)).shape == (3, 4)
    assert ops.Linear().jvp([None, None, np.ones(2)], np.zeros((5, 2)), np.ones((5, 3)), np.ones((2, 3)),
                          np.ones(2)).shape == (5, 2)


# ---------------------------------------------------------------- jvp behaviour


def test_jvp_of_a_composite_against_the_closed_form():
    x = np.array([0.3, -1.2, 2.0])
    v = np.array([1.0, 0.5, -2.0])
    out, t = autograd.jvp(lambda a: (a * a).tanh().sum(), (x,), (v,))
    expected = np.sum(2 * x * (1 - np.tanh(x * x) ** 2) * v)
    assert out.item() == pytest.approx(np.sum(np.tanh(x * x)), rel=1e-14)
    assert t.item() == pytest.approx(expected, rel=1e-13)


def test_jvp_accepts_single_values_tuples_and_none_tangents():
    f = lambda a, b: a * b.exp()  # noqa: E731
    a, b = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    _, t_a = autograd.jvp(f, (a, b), (np.ones(2), None))
    np.testing.assert_allclose(t_a.data, np.exp(b), rtol=1e-15)
    _, t_b = autograd.jvp(f, (a, b), (None, np.ones(2)))
    np.testing.assert_allclose(t_b.data, a * np.exp(b), rtol=1e-15)
    out, t = autograd.jvp(lambda a: a * 3.0, a, np.ones(2))  # bare primal and tangent
    assert isinstance(out, Tensor) and isinstance(t, Tensor)
    np.testing.assert_allclose(t.data, 3.0)


def test_jvp_of_a_tuple_output_and_a_constant_output():
    x = np.array([1.0, 2.0])
    (o1, o2), (t1, t2) = autograd.jvp(lambda a: (a.exp(), Tensor(np.ones(3))), (x,), (np.ones(2),))
    np.testing.assert_allclose(t1.data, np.exp(x))
    np.testing.assert_array_equal(t2.data, np.zeros(3))  # does not depend on the primal: zero tangent
    assert t2.shape == o2.shape == (3,)


def test_jvp_of_the_identity_and_of_a_primal_used_twice():
    x = Tensor(np.array([1.0, 2.0]))
    _, t = autograd.jvp(lambda a: a, (x,), (np.array([3.0, 4.0]),))
    np.testing.assert_array_equal(t.data, [3.0, 4.0])
    _, t = autograd.jvp(lambda a, b: a * b, (x, x), (np.ones(2), np.zeros(2)))
    np.testing.assert_array_equal(t.data, x.data)  # d/da (a*b) . 1 with b = x


def test_jvp_keeps_float32_and_checks_tangent_shapes():
    x = Tensor([1.0, 2.0])  # float32
    out, t = autograd.jvp(lambda a: a.sigmoid(), (x,), (np.ones(2),))
    assert out.dtype == t.dtype == np.float32
    with pytest.raises(Exception, match="shape"):
        autograd.jvp(lambda a: a, (x,), (np.ones(3),))
    with pytest.raises(ValueError, match="tangents"):
        autograd.jvp(lambda a: a, (x,), ())


def test_jvp_works_under_no_grad_and_needs_no_requires_grad():
    x = Tensor(np.array([0.5, 1.5]))
    with no_grad():
        out, t = autograd.jvp(lambda a: a.log(), (x,), (np.ones(2),))
    np.testing.assert_allclose(t.data, 1 / x.data)
    assert not out.requires_grad


def test_jvp_of_an_mlp_equals_jacobian_times_v():
    model = MLP([3, 4, 2], dtype=np.float64, seed=1)
    x = np.random.default_rng(0).standard_normal((5, 3))
    v = np.random.default_rng(1).standard_normal((5, 3))
    _, jv = autograd.jvp(model, (x,), (v,))
    jac = autograd.jacobian(model)(x)  # (5, 2, 5, 3)
    np.testing.assert_allclose(jv.data, np.tensordot(jac.data, v, axes=2), rtol=1e-12, atol=1e-14)
    assert jvpcheck(model, (Tensor(x),), (v,))


def test_jvpcheck_catches_a_wrong_rule(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "jvp", lambda self, tangents, out, x: tangents[0] * (1 - out))
    with pytest.raises(GradcheckError, match="jvp"):
        jvpcheck(lambda a: a.tanh(), (Tensor(np.array([0.3, -0.7])),))


def test_jvpcheck_catches_a_rule_of_the_wrong_shape(monkeypatch):
    monkeypatch.setattr(P.Add, "jvp", lambda self, tangents, out, x, y: tangents[0] if tangents[0] is not None
                        else tangents[1])
    with pytest.raises(GradcheckError):
        jvpcheck(lambda a, b: a + b, (Tensor(np.ones((2, 1))), Tensor(np.ones(3))))


# ---------------------------------------------------------------- the engine when forward mode is off


def test_forward_mode_leaves_no_state_behind_even_after_an_error():
    assert not engine.active_listeners()
    with pytest.raises(ZeroDivisionError):
        autograd.jvp(lambda a: 1 / 0, (np.ones(2),), (np.ones(2),))
    assert not engine.active_listeners() and autograd._forward.tangents is None
    autograd.jvp(lambda a: a.exp(), (np.ones(2),), (np.ones(2),))
    assert not engine.active_listeners() and autograd._forward.tangents is None


def test_no_jvp_rule_runs_when_forward_mode_is_off(monkeypatch):
    def boom(self, *args):
        raise AssertionError("a jvp rule ran outside forward mode")
    for name in C.all_primitive_names():
        monkeypatch.setattr(C.rule_class(name), "jvp", boom)
    x = Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    loss = (MLP([3, 4, 2], dtype=np.float64)(x).log_softmax() * 2).sum()
    loss.backward()
    autograd.grad(lambda a: (a * a).sum())(np.ones(3))
    autograd.hessian(lambda a: (a * a * a).sum())(np.ones(2))


def test_nested_jvp_and_ops_without_a_rule_say_so():
    with pytest.raises(NotImplementedError, match="nested"):
        autograd.jvp(lambda a: autograd.jvp(lambda b: b, (a,), (np.ones(1),))[1], (np.ones(1),), (np.ones(1),))

    class Square(P.Function):
        def forward(self, x):
            return x * x

        def backward(self, g, out, x):
            return (2 * g * x,)

    with pytest.raises(NotImplementedError, match="Square has no forward-mode rule"):
        autograd.jvp(lambda a: Tensor.apply(Square(), a), (np.ones(2),), (np.ones(2),))
    assert not engine.active_listeners()
