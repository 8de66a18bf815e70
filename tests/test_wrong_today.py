"""Regression tests for the defects listed in issue 14 ("wrong today"). Each test failed on the main branch
before the fix (checked by running this file against that code), and only uses names that existed then.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import CheckpointError, Tensor, TinygradMLPError
from tinygrad_mlp.nn import MLP, Linear, Module, Sequential
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD, Adam


# ---------------------------------------------------------------- cross_entropy with huge finite logits


@pytest.mark.parametrize("dtype,big", [(np.float64, 1e308), (np.float32, 2e38)])
def test_cross_entropy_is_finite_for_huge_finite_logits(dtype, big):
    z = Tensor(np.array([[big, -big, 0.0]], dtype=dtype), requires_grad=True)
    with np.errstate(over="ignore"):  # -big - big overflows to -inf inside log_softmax: the right limit
        loss = F.cross_entropy(z, [0])
    assert loss.data == 0  # log softmax of the far larger logit is exactly 0; the far entry adds 0, not NaN
    loss.backward()
    np.testing.assert_array_equal(z.grad.data, [[0.0, 0.0, 0.0]])


# ---------------------------------------------------------------- quadratic_cost and a target that requires grad


def test_quadratic_cost_gives_a_target_that_requires_grad_its_gradient():
    out = Tensor(np.array([[0.2, 0.7], [0.9, 0.1]]), requires_grad=True)
    target = Tensor(np.array([[0.0, 1.0], [1.0, 0.0]]), requires_grad=True)
    F.quadratic_cost(out, target).backward()
    assert target.grad is not None
    np.testing.assert_allclose(target.grad.data, -2 * (out.data - target.data) / 2)
    np.testing.assert_allclose(out.grad.data, 2 * (out.data - target.data) / 2)


# ---------------------------------------------------------------- module bookkeeping


def test_a_weight_shared_by_two_layers_is_listed_and_stepped_once():
    first, second = Linear(2, 2, seed=0, dtype=np.float64), Linear(2, 2, seed=1, dtype=np.float64)
    second.weight = first.weight  # tied weights
    model = Sequential(first, second)
    assert len(model.parameters()) == 3
    w = first.weight
    before = w.data.copy()
    opt = SGD(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    np.testing.assert_allclose(before - w.data, 0.1)  # 0.1, not 0.2


class _Scaled(Module):
    def __init__(self):
        self.layer = Linear(2, 2, seed=0)
        self.scale = Tensor(np.array([2.0, 3.0]))  # held, but not trained

    def forward(self, x):
        return self.layer(x) * self.scale


def test_a_tensor_without_grad_is_in_the_state_and_a_strict_load_checks_it():
    model = _Scaled()
    state = model.state_dict()
    assert "scale" in state
    state["scale"] = np.array([5.0, 7.0])
    fresh = _Scaled()
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.scale.data, [5.0, 7.0])
    del state["scale"]
    with pytest.raises(CheckpointError, match="scale"):
        _Scaled().load_state_dict(state)


def test_modules_held_in_a_dict_are_registered():
    class Heads(Module):
        def __init__(self):
            self.heads = {"digit": Linear(3, 10, seed=0), "parity": Linear(3, 2, seed=1)}

    model = Heads()
    assert [n for n, _ in model.named_parameters()] == ["heads.digit.weight", "heads.digit.bias",
                                                        "heads.parity.weight", "heads.parity.bias"]
    assert len(list(model.modules())) == 3


# ---------------------------------------------------------------- everything raised on purpose is the library's


BAD = {
    "MLP(activation='nope')": lambda: MLP([3, 2], activation="nope"),
    "Linear(init='kaiming')": lambda: Linear(2, 3, init="kaiming"),
    "SGD([])": lambda: SGD([], lr=0.1),
    "Adam(betas=(0.9,))": lambda: Adam([Tensor(np.zeros(2), requires_grad=True)], betas=(0.9,)),
    "F.loss('hinge')": lambda: F.loss("hinge"),
    "cross_entropy label out of range": lambda: F.cross_entropy(Tensor(np.zeros((2, 3))), [0, 3]),
    "opt.load_state_dict({})": lambda: SGD([Tensor(np.zeros(2), requires_grad=True)], lr=0.1).load_state_dict({}),
    "t['a']": lambda: Tensor(np.zeros(3))["a"],
    "reshape('a')": lambda: Tensor(np.zeros(3)).reshape("a"),
    "a ragged nested list": lambda: Tensor([[1.0, 2.0], [3.0]]),
    "Tensor(x, dtype='nope')": lambda: Tensor(np.zeros(2), dtype="nope"),
    "MLP(seed=-1)": lambda: MLP([3, 2], seed=-1),
}


@pytest.mark.parametrize("what", list(BAD))
def test_the_issues_bad_calls_raise_the_librarys_error(what):
    with pytest.raises(TinygradMLPError):
        BAD[what]()


# ---------------------------------------------------------------- pow at a zero base


def _derivatives(f, x0: float, order: int) -> list[float]:
    """d^k f / dx^k at x0 for k = 1..order, by nested backward(create_graph=True)."""
    x = Tensor(np.array([x0]), requires_grad=True)
    out, values = f(x).sum(), []
    for _ in range(order):
        x.grad = None
        out.backward(create_graph=True)
        g = x.grad
        values.append(float(g.data[0]))
        if not g.requires_grad:
            values += [0.0] * (order - len(values))
            break
        out = g.sum()
    return values


@pytest.mark.parametrize("n,expected", [(0, [0.0, 0.0, 0.0]), (1, [1.0, 0.0, 0.0]), (2, [0.0, 2.0, 0.0]),
                                        (3, [0.0, 0.0, 6.0])])
def test_derivatives_of_integer_powers_at_zero_are_finite_and_right(n, expected):
    with np.errstate(all="ignore"):
        assert _derivatives(lambda x: x ** float(n), 0.0, 3) == expected


def test_the_exponents_gradient_at_a_zero_base_is_zero():
    y = Tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
    x = Tensor(np.zeros(3), requires_grad=True)
    with np.errstate(all="ignore"):
        (x ** y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0, 0.0])  # d/dy 0**y = 0 for y > 0, not 0 * -inf
    y.grad = None
    with np.errstate(all="ignore"):
        (0.0 ** y).sum().backward()  # rpow
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- 0-d promotion and the traps


def test_a_0d_tensor_does_not_promote_a_tensor_with_dimensions():
    v = Tensor(np.array([1.0, 2.0], dtype=np.float32))
    assert (v * Tensor(np.array(2.0))).dtype == np.float32
    assert (Tensor(np.array(2.0)) + v).dtype == np.float32
    assert (v * np.float64(2.0)).dtype == np.float32


def test_numpy_sees_a_tensors_values():
    t = Tensor(np.array([1.0, 2.0]))
    assert np.asarray(t).dtype == np.float64
    assert np.allclose(t, [1.0, 2.0])


def test_equality_is_elementwise_like_the_other_comparisons():
    eq = Tensor([1.0, 2.0]) == Tensor([1.0, 3.0])
    ne = Tensor([1.0, 2.0]) != Tensor([1.0, 3.0])
    assert np.array_equal(eq, [True, False]) and np.array_equal(ne, [False, True])


def test_bool_of_a_zero_tensor_is_false_and_of_many_elements_an_error():
    assert bool(Tensor([0.0])) is False and bool(Tensor([2.0])) is True
    with pytest.raises(TinygradMLPError):
        bool(Tensor([1.0, 2.0]))


def test_transpose_0_1_of_a_matrix_is_not_silently_the_identity():
    m = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.transpose(0, 1).data, m.data.T)  # PyTorch's swap, as PyTorch code expects
    assert m.transpose(1, 0).shape == (3, 2)
    assert Tensor(np.zeros((2, 3, 4))).transpose(0, 2).shape == (4, 3, 2)  # two ints swap, as PyTorch
