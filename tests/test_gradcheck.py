"""gradcheck and numerical_grad: they accept correct gradients, reject wrong ones with a useful message,
insist on float64, and leave their inputs (values and ``.grad``) exactly as they found them.

Hypothesis example count: 30 (``deadline=None``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import strategies as S
from tinygrad_mlp import DTypeError, GradcheckError, ShapeError, Tensor, gradcheck, numerical_grad, primitives


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
