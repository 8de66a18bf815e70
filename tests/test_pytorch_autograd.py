"""tm.autograd in PyTorch's and HIPS autograd's shapes (issues 23 and 28): ``autograd.Function`` with ``ctx``
(gradchecked, second derivatives, forward mode), ``autograd.gradcheck``, nested parameters in ``grad``,
``value_and_grad`` and ``vjp``, ``elementwise_grad``, ``flatten`` and ``check_grads``. Red on 411df7f: none of
these names existed, and a dict of parameters was refused by ``grad``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import GradcheckError, GraphError, Tensor, TinygradMLPError
from tinygrad_mlp import autograd as ag

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (an optional test oracle)")
RNG = np.random.default_rng(28)


class Cube(ag.Function):
    """d x^3 / dx = 3 x^2"""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x * x * ctx.scale, None

    @staticmethod
    def jvp(ctx, x_tangent, scale_tangent):
        raise AssertionError("not used: forward mode goes through _ExpWithJvp below")


class Exp(ag.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)  # the output: its backward can be differentiated again
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y

    @staticmethod
    def jvp(ctx, x_tangent):
        return x_tangent * ctx.saved_tensors[0]


class MulAdd(ag.Function):  # two Tensor inputs, broadcasting, a saved intermediate
    @staticmethod
    def forward(ctx, a, b):
        product = a * b
        ctx.save_for_backward(a, b, product)
        return product + a

    @staticmethod
    def backward(ctx, g):
        a, b, _ = ctx.saved_tensors
        return g * (b + 1), g * a


def _x(*shape):
    return Tensor(RNG.uniform(-1, 1, shape), requires_grad=True)


def test_a_pytorch_style_function_gradchecks():
    assert tm.gradcheck(lambda x: Cube.apply(x, 2.5), _x(3, 2))
    assert tm.gradcheck(lambda x: Exp.apply(x).sum(), _x(4))
    assert tm.gradcheck(lambda a, b: MulAdd.apply(a, b), _x(3, 2), _x(2))  # b broadcast: summed back
    y = Cube.apply(_x(2), 1.0)
    assert y.op == "Cube" and not Cube.apply(Tensor(np.ones(2)), 1.0).requires_grad


def test_a_functions_backward_is_differentiated_again_and_runs_in_forward_mode():
    x = Tensor(RNG.uniform(-1, 1, 3), requires_grad=True)
    (g,) = ag.grad(Exp.apply(x).sum(), [x], create_graph=True)
    (gg,) = ag.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.data, np.exp(x.data), rtol=1e-12)
    _, tangent = ag.jvp(Exp.apply, (Tensor(x.data),), (np.ones(3),))
    np.testing.assert_allclose(tangent.data, np.exp(x.data), rtol=1e-12)
    with pytest.raises(GraphError, match="neither an input nor the output"):
        ag.grad(MulAdd.apply(x, x).sum(), [x], create_graph=True)


@needs_torch
def test_the_same_function_class_body_gives_pytorchs_gradients():
    class TorchCube(torch.autograd.Function):
        forward, backward = Cube.forward, Cube.backward

    x = RNG.uniform(-1, 1, (3, 2))
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    Cube.apply(ours, 2.5).sum().backward()
    TorchCube.apply(theirs, 2.5).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)


def test_function_mistakes_are_one_line_errors():
    class Wrong(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g  # two gradients for one argument

    with pytest.raises(TinygradMLPError, match="2 gradients"):
        Wrong.apply(_x(2)).sum().backward()
    with pytest.raises(TinygradMLPError, match="apply"):
        Wrong()
    with pytest.raises(TinygradMLPError, match="forward mode|forward-mode"):
        ag.jvp(lambda x: MulAdd.apply(x, x), (Tensor(np.ones(2)),), (np.ones(2),))


def test_autograd_gradcheck_has_pytorchs_signature():
    assert ag.gradcheck(lambda a, b: (a * b).sum(), (_x(3), _x(3)))
    assert ag.gradcheck(lambda a: a.exp(), _x(2), eps=1e-6, atol=1e-5, rtol=1e-3)

    class Bad(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g * 3  # wrong

    assert ag.gradcheck(Bad.apply, (_x(3),), raise_exception=False) is False
    with pytest.raises(GradcheckError):
        ag.gradcheck(Bad.apply, (_x(3),))


def _loss(params, x):
    h = (x @ params["layers"][0]["w"] + params["layers"][0]["b"]).tanh()
    return ((h @ params["layers"][1]) ** 2).sum() + params["scale"] * 0.5


def _params():
    return {"layers": [{"w": RNG.standard_normal((3, 4)), "b": RNG.standard_normal(4)}, RNG.standard_normal((4, 2))],
            "scale": np.float64(2.0)}


def test_grad_of_a_dict_of_parameters_returns_the_same_structure():
    params, x = _params(), RNG.standard_normal((5, 3))
    g = ag.grad(_loss)(params, x)
    assert isinstance(g, dict) and isinstance(g["layers"], list) and isinstance(g["layers"][0], dict)
    assert g["layers"][0]["w"].shape == (3, 4) and g["layers"][1].shape == (4, 2)
    assert g["scale"].item() == pytest.approx(0.5)
    w = Tensor(params["layers"][0]["w"], requires_grad=True)  # against the same gradient taken one leaf at a time
    loss = _loss({**params, "layers": [{"w": w, "b": params["layers"][0]["b"]}, params["layers"][1]]}, x)
    loss.backward()
    np.testing.assert_allclose(g["layers"][0]["w"].data, w.grad.data, rtol=1e-12)
    value, g2 = ag.value_and_grad(_loss)(params, x)
    assert value.item() == pytest.approx(loss.item()) and g2["layers"][1].shape == (4, 2)
    out, pullback = ag.vjp(lambda p: _loss(p, x), params)
    (g3,) = pullback(np.ones(()))
    np.testing.assert_allclose(g3["layers"][0]["b"].data, g["layers"][0]["b"].data, rtol=1e-12)
    pair = ag.grad(lambda ab: (ab[0] * ab[1]).sum())((np.arange(3.0), np.ones(3)))
    assert isinstance(pair, tuple) and pair[0].tolist() == [1.0, 1.0, 1.0] and pair[1].tolist() == [0.0, 1.0, 2.0]


def test_a_list_of_numbers_is_still_one_array():
    assert ag.grad(lambda v: (v * v).sum())([1.0, 2.0]).tolist() == [2.0, 4.0]


def test_flatten_and_unflatten_round_trip_and_differentiate():
    params = _params()
    vector, unflatten = ag.flatten(params)
    assert isinstance(vector, np.ndarray) and vector.shape == (3 * 4 + 4 + 4 * 2 + 1,)
    back = unflatten(vector)
    np.testing.assert_array_equal(back["layers"][0]["w"], params["layers"][0]["w"])
    x = RNG.standard_normal((5, 3))
    g_flat = ag.grad(lambda v: _loss(unflatten(v), x))(vector)
    g_tree = ag.grad(_loss)(params, x)
    np.testing.assert_allclose(g_flat.data, ag.flatten(g_tree)[0].data, rtol=1e-12)
    with pytest.raises(TinygradMLPError, match="vector of 25"):
        unflatten(np.zeros(3))


def test_elementwise_grad_is_the_derivative_elementwise():
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(ag.elementwise_grad(lambda t: t.tanh())(x).data, 1 - np.tanh(x) ** 2, rtol=1e-6)


def test_check_grads_with_hips_signature_passes_right_and_fails_wrong_derivatives():
    ag.check_grads(lambda x: (x * x).sin())(RNG.standard_normal(4))
    ag.check_grads(lambda a, b: (a * b.exp()).sum(), argnum=(0, 1), modes=["rev"])(RNG.standard_normal(3),
                                                                                     RNG.standard_normal(3))
    ag.check_grads(lambda p, x: _loss(p, x), order=1)(_params(), RNG.standard_normal((2, 3)))
    ag.check_grads(Exp.apply, modes=["rev"])(RNG.standard_normal(3))

    class WrongSecond(ag.Function):  # right first derivative, wrong second: found by order=2
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * (x * x).detach()  # detached: its own derivative is lost

    ag.check_grads(WrongSecond.apply, modes=["rev"], order=1)(RNG.standard_normal(3))
    with pytest.raises(GradcheckError, match="vjp of"):
        ag.check_grads(WrongSecond.apply, modes=["rev"], order=2)(RNG.standard_normal(3))
    with pytest.raises(TinygradMLPError):
        ag.check_grads(np.sin, modes="fwd")


def test_no_grad_and_inference_mode_as_pytorch_spells_them():  # red on 411df7f: @tm.no_grad was a TypeError
    x = Tensor(np.ones(2), requires_grad=True)

    @tm.no_grad
    def bare(t):
        return t * 2

    @tm.inference_mode
    def bare_inference(t):
        return t * 2

    @tm.inference_mode()
    def called_inference(t):
        return t * 2

    assert not bare(x).requires_grad and not bare_inference(x).requires_grad and not called_inference(x).requires_grad
    assert bare.__name__ == "bare"  # functools.wraps, as ContextDecorator does
    with tm.inference_mode():
        assert not (x * 2).requires_grad
    with tm.inference_mode(False):
        assert (x * 2).requires_grad
    with tm.no_grad():
        with tm.inference_mode(False):  # records again, as PyTorch's (checked against it below)
            assert (x * 2).requires_grad
        with tm.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad
    with pytest.raises(TinygradMLPError):
        tm.no_grad(3)


@needs_torch
def test_inference_mode_false_inside_no_grad_is_pytorchs():
    x = torch.ones(2, requires_grad=True)
    with torch.no_grad(), torch.inference_mode(False):
        theirs = (x * 2).requires_grad
    y = Tensor(np.ones(2), requires_grad=True)
    with tm.no_grad(), tm.inference_mode(False):
        assert (y * 2).requires_grad == theirs
