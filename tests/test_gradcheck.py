"""gradcheck and numerical_grad: they accept correct gradients, reject wrong ones with a useful message,
insist on float64, and leave their inputs (values and ``.grad``) exactly as they found them.

Hypothesis example count: 30 (``deadline=None``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import strategies as S
from hypothesis import HealthCheck, given, settings

from tinygrad_mlp import DTypeError, GradcheckError, ShapeError, Tensor, gradcheck, numerical_grad, ops, primitives


def leaf(a, name=None) -> Tensor:
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True, name=name)


class BadExp(primitives.Exp):
    """exp with the sign of its gradient flipped."""

    __slots__ = ()

    def backward(self, g, out, x):
        return (-g * out,)


class BadMulSecondInput(primitives.Mul):
    """x * y whose gradient for y is off by 1% (x's is right)."""

    __slots__ = ()

    def backward(self, g, out, x, y):
        gx, gy = super().backward(g, out, x, y)
        return gx, gy * 1.01


class FlipWithUnflippedGradient(primitives.Function):
    """``x[::-1]`` whose backward forgets to flip ``g`` back: wrong, yet right for the all-ones seed of ``sum()``."""

    __slots__ = ()

    def forward(self, x):
        return x[::-1].copy()

    def backward(self, g, out, x):
        return (g,)


def bad_exp(t: Tensor) -> Tensor:
    return Tensor.apply(BadExp(), t)


def test_gradcheck_passes_on_correct_functions():
    x, w = leaf([[0.3, -1.2, 2.0]]), leaf([[0.5], [-0.4], [1.5]])
    assert gradcheck(lambda a, b: ((a @ b).tanh() + a.sum()).sum(), x, w) is True
    assert gradcheck(lambda a: a.exp().log_softmax(axis=1), x) is True  # non-scalar output
    assert gradcheck(lambda a: a[0, ::-1] * 3.0, x) is True


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=S.values(S.shapes(min_dims=1)))
def test_gradcheck_catches_a_wrong_gradient_anywhere(x):
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: bad_exp(t).sum(), leaf(x))


def test_gradcheck_error_names_input_index_and_both_values():
    x = leaf([[0.5, 1.0], [-0.25, 2.0]])
    y = leaf([[1.0, 2.0], [3.0, 4.0]], name="weights")

    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: (a * bad_exp(b)).sum(), x, y)
    message = str(info.value)
    assert "weights" in message
    assert "(0, 0)" in message
    # at index (0, 0) the true gradient is x * exp(y); BadExp reports its negation
    number = r"(?:np\.float64\()?([-+0-9.e]+)"
    analytic = float(re.search("analytic " + number, message).group(1))
    numerical = float(re.search("numerical " + number, message).group(1))
    np.testing.assert_allclose(analytic, -0.5 * np.exp(1.0), rtol=1e-12)
    np.testing.assert_allclose(numerical, 0.5 * np.exp(1.0), rtol=1e-6)
    assert isinstance(info.value, AssertionError)

    with pytest.raises(GradcheckError, match="input 1"):  # unnamed inputs are named by position
        gradcheck(lambda a, b: (a * bad_exp(b)).sum(), leaf(x.data), leaf(y.data))


def test_gradcheck_error_names_the_second_input_when_only_it_is_wrong():
    x, y = leaf([1.0, 2.0, 3.0]), leaf([0.5, -0.5, 1.5])
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(3,\)\) differs at index \(0,\)"):
        gradcheck(lambda a, b: Tensor.apply(BadMulSecondInput(), a, b).sum(), x, y)


def test_gradcheck_checks_non_scalar_outputs_through_a_projection():
    x = leaf(np.linspace(-1, 1, 6).reshape(2, 3))
    with pytest.raises(GradcheckError):
        gradcheck(bad_exp, x)  # output of shape (2, 3): the wrong gradient is still caught
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: bad_exp(t).sum(axis=0) * 2.0, x)
    assert gradcheck(Tensor.exp, x)


def test_gradcheck_projection_catches_an_error_that_sum_would_hide():
    x = leaf([0.5, -1.0, 2.0, 0.25])
    flip = lambda t: Tensor.apply(FlipWithUnflippedGradient(), t)  # noqa: E731
    assert gradcheck(lambda t: flip(t).sum(), x)  # summing hides the mistake ...
    with pytest.raises(GradcheckError):
        gradcheck(flip, x)  # ... the random projection of the non-scalar output does not
    assert gradcheck(lambda t: t[::-1], x)  # the real op passes


def test_gradcheck_rejects_float32_inputs():
    x = Tensor([1.0, 2.0], requires_grad=True)  # float32
    with pytest.raises(DTypeError, match="float64"):
        gradcheck(lambda t: t.exp().sum(), x)
    with pytest.raises(DTypeError):
        gradcheck(lambda a, b: (a * b).sum(), leaf([1.0, 2.0]), Tensor([3.0, 4.0], requires_grad=True))
    # a float32 input that needs no gradient is only a constant: allowed
    assert gradcheck(lambda a, b: (a * b).sum(), leaf([1.0, 2.0]), Tensor([3.0, 4.0]))


def test_gradcheck_needs_a_tensor_output():
    with pytest.raises(ShapeError):
        gradcheck(lambda t: 1.0, leaf([1.0]))


def test_numerical_grad_is_central_differences_and_restores_inputs_exactly():
    values = np.array([[0.1, -0.7, 1.0 / 3.0], [2.5, np.pi, -1e-3]])
    x = leaf(values)
    data_object = x.data
    grads = numerical_grad(lambda t: (t**3).sum(), x)
    np.testing.assert_allclose(grads[0], 3 * values**2, rtol=1e-7, atol=1e-8)  # rounding: ~1e-16 * |f| / eps
    assert x.data is data_object
    np.testing.assert_array_equal(x.data, values)  # bit for bit, not just close
    assert x.data.tobytes() == values.tobytes()


def test_numerical_grad_restores_inputs_when_f_raises():
    values = np.array([0.5, 1.5])
    x = leaf(values)
    calls = []

    def f(t):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return t.sum()

    with pytest.raises(RuntimeError):
        numerical_grad(f, x)
    assert x.data.tobytes() == values.tobytes()


def test_numerical_grad_skips_inputs_without_grad_and_handles_read_only_data():
    const = Tensor(np.array([2.0, 3.0]))
    base = np.array([1.0, 4.0])
    view = np.broadcast_to(base, (2,))  # read-only
    x = Tensor(view, requires_grad=True)
    gx_const = numerical_grad(lambda a, c: (a * c).sum(), x, const)
    assert gx_const[1] is None
    np.testing.assert_allclose(gx_const[0], [2.0, 3.0], rtol=1e-8)
    np.testing.assert_array_equal(x.data, base)
    np.testing.assert_array_equal(base, [1.0, 4.0])


def test_gradcheck_leaves_existing_grads_untouched():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * y).sum().backward()
    gx, gy = x.grad, y.grad
    gx_values, gy_values = gx.data.copy(), gy.data.copy()
    assert gradcheck(lambda a, b: (a.exp() * b).sum(), x, y)
    assert x.grad is gx and y.grad is gy
    np.testing.assert_array_equal(x.grad.data, gx_values)
    np.testing.assert_array_equal(y.grad.data, gy_values)
    z = leaf([0.5])
    assert gradcheck(lambda t: t.tanh().sum(), z)
    assert z.grad is None
    with pytest.raises(GradcheckError):  # also when it fails
        gradcheck(lambda a, b: (bad_exp(a) * b).sum(), x, y)
    assert x.grad is gx and y.grad is gy
    np.testing.assert_array_equal(x.grad.data, gx_values)


def test_gradcheck_tolerances_are_respected():
    x = leaf([0.2, 0.4])
    f = lambda t: Tensor.apply(BadMulSecondInput(), Tensor(np.ones(2)), t).sum()  # noqa: E731
    with pytest.raises(GradcheckError):
        gradcheck(f, x)  # 1% off exceeds rtol=1e-3
    assert gradcheck(f, x, rtol=0.02, atol=0.0)


class TripledSigmoid(ops.Sigmoid):
    """sigmoid whose backward is three times too large (a classic slip: a stray factor)."""

    __slots__ = ()

    def backward(self, g, out, x):
        return (3 * g * out * (1 - out),)


def sigmoid_chain(params, tripled_first: bool, x: float = 0.5, y: float = 1.0) -> Tensor:
    """The notes' one-neuron chain, 8 sigmoid layers deep: a(l) = sigmoid(w(l) a(l-1) + b(l)), C = (a(8) - y)^2."""
    ws, bs = params[:8], params[8:]
    a = Tensor(np.array(x))
    for layer, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = w * a + b
        a = Tensor.apply(TripledSigmoid(), z) if tripled_first and layer == 0 else z.sigmoid()
    return (a - y) ** 2


def chain_params() -> list[Tensor]:
    return [leaf(0.6) for _ in range(8)] + [leaf(-0.8) for _ in range(8)]


def test_default_catches_a_tripled_derivative_in_the_vanishing_gradient_regime():
    # issue 16's measured case: dC/dw(1) is -1.43e-7 by finite differences, the tripled backward says -4.3e-7.
    # The old default atol=1e-5 let it pass (|error| 2.9e-7 < 1e-5); the scale-aware default must not.
    params = chain_params()
    f = lambda *p: sigmoid_chain(p, tripled_first=True)  # noqa: E731
    from tinygrad_mlp.gradcheck import analytic_grad

    first_weight = lambda w: sigmoid_chain([w, *params[1:]], tripled_first=True)  # noqa: E731
    analytic, numerical = analytic_grad(first_weight, params[0])[0], numerical_grad(first_weight, params[0])[0]
    np.testing.assert_allclose(numerical, -1.43e-7, rtol=0.01)
    np.testing.assert_allclose(analytic, 3 * numerical, rtol=1e-3)  # FD carries ~5e-11 of rounding here
    with pytest.raises(GradcheckError, match=r"input 0 .*relative error of the tensor max\|a - n\| / max\|n\| = 2\b"):
        gradcheck(f, *params)
    # the same function passes the old fixed rule, which is still there for those who ask for it
    assert gradcheck(f, *params, atol=1e-5, rtol=1e-3)
    assert gradcheck(f, *params, atol=1e-5)
    # and the correct chain passes the default
    assert gradcheck(lambda *p: sigmoid_chain(p, tripled_first=False), *chain_params())


def test_default_is_the_same_check_at_every_scale():
    # a correct gradient passes and a 1%-wrong one fails, whether the gradient is of size 1e-6, 1 or 1e6
    # (below that, a 1% error reaches the 1e-10 truncation floor of central differences with eps=1e-6)
    x = leaf([0.2, -0.4, 0.7])
    for scale in (1e-6, 1.0, 1e6):
        c = Tensor(np.full(3, scale))
        assert gradcheck(lambda t, c=c: (t.exp() * c).sum(), x)
        with pytest.raises(GradcheckError):
            gradcheck(lambda t, c=c: Tensor.apply(BadMulSecondInput(), c, t).sum(), x)


def test_default_tolerates_the_rounding_noise_of_a_large_cost():
    # a small gradient (~6e-4) under a large constant: each value of f carries a rounding error ~u * 1e3,
    # which the difference quotient turns into ~1e-7, 1e-4 of the gradient itself; the floor grows with |f|
    x = leaf([0.3, -0.2])
    assert gradcheck(lambda t: (t * t).sum() * 1e-3 + 1e3, x)
    with pytest.raises(GradcheckError):  # yet a 1% error of that small gradient is still seen
        gradcheck(lambda t: Tensor.apply(BadMulSecondInput(), t, t).sum() * 1e-3 + 1e3, x)
