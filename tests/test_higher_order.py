"""Higher-order reverse mode: ``backward(create_graph=True)``, ``autograd.grad``, ``gradgradcheck``.

* second (and third) derivatives of scalar functions against closed forms: polynomials, exp, log,
  tanh, sigmoid and compositions, by the engine's ``backward(create_graph=True)`` and by
  ``autograd.grad`` (hypothesis: ``CLOSED`` = 25 examples per function, values in [-2, 2]);
* ``gradgradcheck`` for every primitive (hypothesis: ``GRADGRAD`` = 15 examples per primitive): each is
  applied and its output squared, so the backward of the primitive is differentiated both through the
  seed gradient and through its own inputs;
* Hessian-vector products of a small MLP's loss (``MLP([3, 4, 2])`` in float64, ``quadratic_cost``) against
  central differences of the gradient, both modes, and against the full Hessian;
* ``autograd.grad`` at the Tensor level: leaves ``.grad`` alone, intermediates as inputs,
  ``grad_outputs``, ``allow_unused``, ``retain_graph``; the backward graph is only built when asked.

The file runs in about 4 s (about 10 s for the three files of this feature together).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import primitive_cases as C
import strategies as S
from tinygrad_mlp import GradcheckError, GraphError, Tensor, autograd
from tinygrad_mlp import ops
from tinygrad_mlp import primitives as P
from tinygrad_mlp.gradcheck import gradgradcheck
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F

CLOSED = settings(max_examples=25, deadline=None)
GRADGRAD = settings(max_examples=15, deadline=None)


def _sig(x):
    return 1 / (1 + np.exp(-x))


# name: (f on Tensors, f', f'') for elementwise functions, closed forms in numpy
SCALAR_FUNCTIONS = {
    "x^3": (lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x),
    "x^4 - 2x^2 + x": (lambda x: x**4 - 2 * x * x + x, lambda x: 4 * x**3 - 4 * x + 1, lambda x: 12 * x**2 - 4),
    "exp": (lambda x: x.exp(), np.exp, np.exp),
    "log(x^2 + 1)": (lambda x: (x * x + 1).log(), lambda x: 2 * x / (x * x + 1),
                     lambda x: (2 - 2 * x * x) / (x * x + 1) ** 2),
    "tanh": (lambda x: x.tanh(), lambda x: 1 - np.tanh(x) ** 2,
             lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: _sig(x) * (1 - _sig(x)),
                lambda x: _sig(x) * (1 - _sig(x)) * (1 - 2 * _sig(x))),
    "tanh(x^2)": (lambda x: (x * x).tanh(), lambda x: 2 * x * (1 - np.tanh(x * x) ** 2),
                  lambda x: 2 * (1 - np.tanh(x * x) ** 2) - 8 * x * x * np.tanh(x * x) * (1 - np.tanh(x * x) ** 2)),
    "exp(sigmoid(x))": (lambda x: x.sigmoid().exp(),
                        lambda x: np.exp(_sig(x)) * _sig(x) * (1 - _sig(x)),
                        lambda x: np.exp(_sig(x)) * ((_sig(x) * (1 - _sig(x))) ** 2
                                                     + _sig(x) * (1 - _sig(x)) * (1 - 2 * _sig(x)))),
    "x * exp(-x)": (lambda x: x * (-x).exp(), lambda x: (1 - x) * np.exp(-x), lambda x: (x - 2) * np.exp(-x)),
    "1 / (1 + x^2)": (lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2,
                      lambda x: (6 * x * x - 2) / (1 + x * x) ** 3),
}


def _points():
    return S.values((3,), bound=2.0)


@pytest.mark.parametrize("name", SCALAR_FUNCTIONS)
@CLOSED
@given(x=_points())
def test_second_derivative_by_the_engine(name, x):
    f, d1, d2 = SCALAR_FUNCTIONS[name]
    t = Tensor(x, requires_grad=True)
    f(t).sum().backward(create_graph=True)
    g = t.grad
    assert g.requires_grad  # the gradient has a graph of its own
    np.testing.assert_allclose(g.data, d1(x), rtol=1e-12, atol=1e-12)
    t.grad = None
    g.sum().backward()  # elementwise f: d/dx_i sum_j f'(x_j) = f''(x_i)
    np.testing.assert_allclose(t.grad.data, d2(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", SCALAR_FUNCTIONS)
@CLOSED
@given(x=_points())
def test_second_derivative_by_autograd_grad_and_the_transforms(name, x):
    f, d1, d2 = SCALAR_FUNCTIONS[name]
    t = Tensor(x, requires_grad=True)
    g, = autograd.grad(f(t).sum(), t, create_graph=True)
    h, = autograd.grad(g.sum(), t)
    np.testing.assert_allclose(h.data, d2(x), rtol=1e-10, atol=1e-12)
    assert t.grad is None
    second = autograd.grad(lambda a: autograd.grad(lambda b: f(b).sum())(a).sum())  # grad of grad
    np.testing.assert_allclose(second(x).data, d2(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.diag(autograd.hessian(lambda a: f(a).sum())(x).data), d2(x), rtol=1e-10, atol=1e-12)


def test_third_derivative_of_a_polynomial():
    f = lambda x: (x**4 + 3 * x**3).sum()  # noqa: E731
    d3 = autograd.grad(lambda a: autograd.grad(lambda b: autograd.grad(f)(b).sum())(a).sum())
    x = np.array([-1.5, 0.0, 2.0])
    np.testing.assert_allclose(d3(x).data, 24 * x + 18, rtol=1e-12)


# ---------------------------------------------------------------- gradgradcheck, every primitive


def test_every_primitive_has_a_case():
    assert set(C.CASES) == C.all_primitive_names()


@pytest.mark.parametrize("name", sorted(C.CASES))
@GRADGRAD
@given(data=st.data())
def test_gradgradcheck_every_primitive(name, data):
    f, arrays = data.draw(C.CASES[name])
    seed = data.draw(st.integers(0, 2**16))

    def squared(*ts):
        out = f(*ts)
        return out * out

    assert gradgradcheck(squared, *C.leaves(arrays), seed=seed)


@pytest.mark.parametrize("name", sorted(C.COMPOSITES))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_gradgradcheck_every_composite_op(name, data):
    """The toolbox's composite ops (logsumexp, var, prod, gather, gelu ...): their second derivatives come from
    the primitives they are made of, checked here end to end."""
    f, arrays, _ = data.draw(C.COMPOSITES[name])
    seed = data.draw(st.integers(0, 2**16))

    def squared(*ts):
        out = f(*ts)
        return out * out

    assert gradgradcheck(squared, *C.leaves(arrays), seed=seed)


def test_gradgradcheck_catches_a_backward_that_is_only_first_order_right(monkeypatch):
    # Correct values, but built from the arrays behind the tensors: the graph of the backward is cut,
    # so first derivatives pass gradcheck and second derivatives come out wrong.
    monkeypatch.setattr(ops.Tanh, "backward", lambda self, g, out, x: (g * (1 - P.array_of(out) ** 2),))
    x = Tensor(np.array([0.3, -0.8]), requires_grad=True)
    with pytest.raises(GradcheckError, match="second derivative"):
        gradgradcheck(lambda a: a.tanh(), x)


def test_gradgradcheck_leaves_inputs_and_grads_as_they_were():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    before = x.data.copy()
    x.grad = Tensor(np.array([7.0, 8.0]))
    marker = x.grad
    assert gradgradcheck(lambda a: (a * a * a).exp(), x)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is marker


def test_gradgradcheck_needs_float64():
    with pytest.raises(Exception, match="float64"):
        gradgradcheck(lambda a: a * a, Tensor([1.0], requires_grad=True))


# ---------------------------------------------------------------- Hessian-vector products of an MLP loss


def _mlp_problem(seed: int = 0):
    model = MLP([3, 4, 2], dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed + 100)
    x, y = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 2))
    params = model.parameters()

    def loss(*ps):
        saved = [(layer.weight, layer.bias) for layer in model.layers]
        try:
            for layer, w, b in zip(model.layers, ps[0::2], ps[1::2]):
                layer.weight, layer.bias = w, b
            return F.quadratic_cost(model(Tensor(x)), y)
        finally:
            for layer, (w, b) in zip(model.layers, saved):
                layer.weight, layer.bias = w, b

    return model, params, loss, rng


def _grad_at(loss, params, shift, eps):
    ps = [Tensor(p.data + eps * s, requires_grad=True) for p, s in zip(params, shift)]
    loss(*ps).backward()
    return [p.grad.data for p in ps]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hvp_of_an_mlp_loss_against_finite_differences_of_the_gradient(mode, seed):
    model, params, loss, rng = _mlp_problem(seed)
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2
    v = [rng.standard_normal(p.shape) for p in params]
    hv = autograd.hvp(loss, tuple(params), tuple(v), mode=mode)
    eps = 1e-5
    up, down = _grad_at(loss, params, v, eps), _grad_at(loss, params, v, -eps)
    for h, u, d, p in zip(hv, up, down, params):
        assert h.shape == p.shape
        np.testing.assert_allclose(h.data, (u - d) / (2 * eps), rtol=1e-6, atol=1e-8)
    assert all(p.grad is None for p in params)  # the model's own gradients were not touched


def test_hvp_of_an_mlp_loss_equals_the_full_hessian_times_v():
    _, params, loss, rng = _mlp_problem(3)
    sizes = [p.numel() for p in params]
    offsets = np.cumsum([0] + sizes)

    def flat_loss(w):
        return loss(*[w[int(a):int(b)].reshape(p.shape) for a, b, p in zip(offsets, offsets[1:], params)])

    w0 = np.concatenate([p.data.reshape(-1) for p in params])
    H = autograd.hessian(flat_loss)(w0).data
    assert H.shape == (w0.size, w0.size)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)
    v = rng.standard_normal(w0.size)
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(autograd.hvp(flat_loss, w0, v, mode=mode).data, H @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(autograd.hessian(flat_loss, mode="forward")(w0).data, H, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- autograd.grad at the Tensor level


def test_autograd_grad_matches_backward_and_leaves_grad_alone():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    out = ((x @ w.T).tanh() ** 2).sum()
    gx, gw = autograd.grad(out, [x, w], retain_graph=True)
    assert x.grad is None and w.grad is None
    out.backward()
    np.testing.assert_allclose(gx.data, x.grad.data, rtol=1e-14)
    np.testing.assert_allclose(gw.data, w.grad.data, rtol=1e-14)
    assert not gx.requires_grad and gx.data is not x.grad.data


def test_autograd_grad_with_respect_to_an_intermediate_and_with_grad_outputs():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    h = x * x
    y = h.exp()
    u = np.array([1.0, -1.0, 0.5])
    gh, gx = autograd.grad(y, [h, x], grad_outputs=u)
    np.testing.assert_allclose(gh.data, u * np.exp(x.data**2), rtol=1e-14)
    np.testing.assert_allclose(gx.data, u * np.exp(x.data**2) * 2 * x.data, rtol=1e-14)


def test_autograd_grad_of_several_outputs_sums_them():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    a, b = (x * 2).sum(), (x * x).sum()
    g, = autograd.grad([a, b], x)
    np.testing.assert_allclose(g.data, 2 + 2 * x.data)


def test_autograd_grad_unused_inputs_and_errors():
    x = Tensor(np.array([1.0]), requires_grad=True)
    z = Tensor(np.array([1.0]), requires_grad=True)
    y = (x * 3).sum()
    with pytest.raises(GraphError, match="not used"):
        autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gz is None and gx.item() == 3
    with pytest.raises(GraphError, match="does not require grad"):
        autograd.grad(y, [Tensor(np.array([1.0]))])
    with pytest.raises(GraphError, match="does not require grad"):
        autograd.grad(Tensor(np.array(1.0)), [x])
    autograd.grad(y, x)  # releases the graph (retain_graph defaults to create_graph, here False)
    with pytest.raises(GraphError, match="released"):
        autograd.grad(y, x)


def test_the_graph_of_the_backward_pass_is_built_only_with_create_graph():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    (x.exp() * x).sum().backward()
    assert not x.grad.requires_grad and x.grad.is_leaf
    x.grad = None
    (x.exp() * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad and not x.grad.is_leaf
    g, = autograd.grad((x.exp() * x).sum(), x)
    assert not g.requires_grad and g.is_leaf


def test_accumulating_after_create_graph_leaves_shared_and_graph_gradients_intact():
    # Add's backward hands the same gradient to both inputs, and Sum's is a read-only broadcast view:
    # a later first-order backward must neither fail on it nor change the other leaf's gradient
    x, y = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.array([3.0, 4.0]), requires_grad=True)
    (x + y).sum().backward(create_graph=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 5.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])
    # a gradient with a graph is added to out of place: the first one keeps its value and its graph
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    before = g.data.copy()
    (x * x).sum().backward()
    np.testing.assert_array_equal(g.data, before)
    np.testing.assert_array_equal(x.grad.data, before + 2 * x.data)
    assert x.grad.requires_grad
