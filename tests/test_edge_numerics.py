"""Values and gradients at the edges (zeros, constant data, NaN, ties, bounds) match PyTorch 2.13's.

Each case is asserted in closed form (always run), and against PyTorch itself when it is installed (the oracle,
skipped cleanly without it). Deliberate differences are in docs/coming-from-pytorch.md and tested as such here.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import tinygrad_mlp as tm

NAN, INF = float("nan"), float("inf")

# name: (our function, PyTorch's function as source text on a tensor `t`, input, expected value, expected gradient)
CASES = {
    "abs at +0 and -0": (lambda t: t.abs(), "t.abs()", [0.0, -0.0, 2.0, -3.0], [0.0, 0.0, 2.0, 3.0],
                         [0.0, 0.0, 1.0, -1.0]),
    "1 / abs at 0": (lambda t: 1 / t.abs(), "1 / t.abs()", [0.0, -0.0], [INF, INF], [NAN, NAN]),
    "std of constant data": (lambda t: t.std(), "t.std(correction=0)", [2.0, 2.0, 2.0], 0.0, [0.0, 0.0, 0.0]),
    "std (unbiased) of constant data": (lambda t: t.std(ddof=1), "t.std()", [5.0, 5.0], 0.0, [0.0, 0.0]),
    "std over an axis, one row constant": (lambda t: t.std(axis=1), "t.std(dim=1, correction=0)",
                                           [[1.0, 1.0], [0.0, 2.0]], [0.0, 1.0], [[0.0, 0.0], [-0.5, 0.5]]),
    "var of constant data": (lambda t: t.var(), "t.var(correction=0)", [2.0, 2.0, 2.0], 0.0, [0.0, 0.0, 0.0]),
    "max with a NaN": (lambda t: t.max(), "t.max()", [1.0, NAN, 3.0], NAN, [0.0, 1.0, 0.0]),
    "min with a NaN": (lambda t: t.min(), "t.min()", [1.0, NAN, -3.0], NAN, [0.0, 1.0, 0.0]),
    "max with ties": (lambda t: t.max(), "t.max()", [3.0, 1.0, 3.0], 3.0, [0.5, 0.0, 0.5]),
    "min with ties": (lambda t: t.min(), "t.min()", [1.0, 3.0, 1.0], 1.0, [0.5, 0.0, 0.5]),
    "max over an axis with ties": (lambda t: t.max(axis=0), "t.amax(dim=0)", [[3.0, 1.0], [3.0, 2.0]],
                                   [3.0, 2.0], [[0.5, 0.0], [0.5, 1.0]]),
    "x ** 2 at 0": (lambda t: t ** 2, "t ** 2", [0.0], [0.0], [0.0]),
    "x ** 0 at 0": (lambda t: t ** 0, "t ** 0", [0.0], [1.0], [0.0]),
    "x ** 0.5 at 0": (lambda t: t ** 0.5, "t ** 0.5", [0.0], [0.0], [INF]),
    "x ** 1.5 at 0": (lambda t: t ** 1.5, "t ** 1.5", [0.0], [0.0], [0.0]),
    "x ** -1 at 0": (lambda t: t ** -1.0, "t ** -1.0", [0.0], [INF], [-INF]),
    "0 ** x": (lambda t: 0.0 ** t, "0.0 ** t", [0.0, 1.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
    "x ** x at 0": (lambda t: t ** t, "t ** t", [0.0], [1.0], [0.0]),
    "sqrt at 0": (lambda t: t.sqrt(), "t.sqrt()", [0.0, 4.0], [0.0, 2.0], [INF, 0.25]),
    "log at 0": (lambda t: t.log(), "t.log()", [0.0, 1.0], [-INF, 0.0], [INF, 1.0]),
    "clip at its bounds": (lambda t: t.clip(0.0, 1.0), "t.clamp(0.0, 1.0)", [0.0, 1.0, 0.5, -1.0, 2.0],
                           [0.0, 1.0, 0.5, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0, 0.0]),
    "clip with min > max": (lambda t: t.clip(1.0, 0.0), "t.clamp(1.0, 0.0)", [0.0, 0.5, 2.0], [0.0, 0.0, 0.0],
                            [0.0, 0.0, 0.0]),
}


def _ours(fn, x):
    t = tm.Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        y = fn(t)
        y.sum().backward()
    return y.data, t.grad.data


def _same(a, b) -> bool:
    """Equal values, NaN where NaN, and the same sign of zero (abs(-0) must be +0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    numbers = ~np.isnan(a)  # (a NaN's sign bit means nothing)
    return (a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a[numbers]), np.signbit(b[numbers])))


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_values_and_gradients(name):
    fn, _, x, value, grad = CASES[name]
    got_value, got_grad = _ours(fn, x)
    assert _same(got_value, value), f"{name}: value {got_value}, expected {value}"
    assert _same(got_grad, grad), f"{name}: gradient {got_grad}, expected {grad}"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch (the oracle) is not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_values_and_gradients_match_pytorch(name):
    import torch

    fn, torch_source, x, _, _ = CASES[name]
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = eval(torch_source, {"t": t})  # our own table's source text
    y.sum().backward()
    got_value, got_grad = _ours(fn, x)
    assert _same(got_value, y.detach().numpy()), f"{name}: value {got_value}, PyTorch {y.detach().numpy()}"
    assert _same(got_grad, t.grad.numpy()), f"{name}: gradient {got_grad}, PyTorch {t.grad.numpy()}"


def test_argmax_and_argmin_with_nan_and_ties():
    # as PyTorch: a NaN is the maximum and the minimum (its first index); ties give the first index
    assert tm.Tensor([1.0, NAN, 3.0, NAN]).argmax() == 1
    assert tm.Tensor([1.0, NAN, 0.0]).argmin() == 1
    assert tm.Tensor([3.0, 1.0, 3.0]).argmax() == 0 and tm.Tensor([1.0, 3.0, 1.0]).argmin() == 0
    assert tm.Tensor([[1.0, 5.0, 5.0], [NAN, 2.0, 7.0]]).argmax(axis=1).tolist() == [1, 0]
