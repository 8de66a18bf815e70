"""detect_anomaly(): the first op whose forward or backward makes NaN/inf is named, with where it was created."""

import numpy as np
import pytest

from tinygrad_mlp import AnomalyError, Tensor, detect_anomaly
from tinygrad_mlp import engine
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F


def test_forward_nan_names_op_line_and_input_stats():
    x = Tensor([1.0, -1.0, 2.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        (x * 2).log().sum()  # the line the error must point at
    msg = str(info.value)
    assert "Log" in msg and "forward" in msg
    assert f"{__file__}:" in msg  # file and line of this test, not of the library
    assert "min -2" in msg and "max 4" in msg  # statistics of the op's input
    assert "\n" not in msg


def test_first_bad_op_is_reported_not_a_later_one():
    x = Tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(AnomalyError, match=r"^detect_anomaly: Div"), detect_anomaly():
        y = 1.0 / x  # inf here first ...
        (y * 0).exp()  # ... NaN (inf * 0) later: not the one to report


def test_backward_inf_is_caught_with_creation_site():
    x = Tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        y = x.sqrt().sum()  # forward is finite (sqrt(0) = 0); its gradient at 0 is infinite
        y.backward()
    msg = str(info.value)
    assert "backward of Pow" in msg and "input 0" in msg and f"{__file__}:" in msg


def test_anomaly_error_is_a_floating_point_error_and_mode_is_restored():
    assert issubclass(AnomalyError, FloatingPointError)
    with pytest.raises(AnomalyError), detect_anomaly():
        Tensor([-1.0]).log()
    assert not engine.active_listeners()
    with np.errstate(invalid="ignore"):
        assert np.isnan(Tensor([-1.0]).log().item())  # off again: plain numpy behaviour, no error


def test_clean_training_step_passes_and_gives_the_same_gradients():
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 6)), rng.integers(0, 3, 8)

    def grads(anomaly: bool):
        model = MLP([6, 5, 3], dtype=np.float64, seed=1)
        if anomaly:
            with detect_anomaly():
                F.quadratic_cost(model(Tensor(x)), y).backward()
        else:
            F.quadratic_cost(model(Tensor(x)), y).backward()
        return [p.grad.data for p in model.parameters()]

    for a, b in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(a, b)


def test_diverging_training_is_stopped_at_the_op():
    model = MLP([4, 3, 2], seed=0)
    for p in model.parameters():
        p.data *= 1e30  # weights that overflow float32 in the first matmul
    with pytest.raises(AnomalyError, match="Linear"), detect_anomaly():
        model(Tensor(np.full((2, 4), 1e10, dtype=np.float32)))
