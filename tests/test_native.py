"""tm.compile(step, backend="native"): an MLP step compiled to C equals eager mode up to float rounding.

Each tolerance test trains two copies of a small network from the same weights on the same 1,000 batches, one
eagerly and one through the native backend, and compares parameters, gradients and the loss: 1e-5 relative in
float32, 1e-12 in float64 (the sums run in another order, so not bit for bit). The fallback tests give it what
it does not compile (another op, another optimizer, no C compiler) and check it says so in one warning and
replays with numpy, bit for bit eager mode.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor, optim
from tinygrad_mlp.errors import ArgumentError
from tinygrad_mlp.jit import CompiledStep
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F

HAVE_CC = shutil.which(os.environ.get("CC") or "cc") is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler (cc, or $CC) on PATH")

SETUPS = {  # name: (activation, output activation, loss, optimizer)
    "sigmoid-mse-sgd": ("sigmoid", "sigmoid", "mse", lambda ps: optim.SGD(ps, lr=3.0)),
    "relu-ce-nesterov": ("relu", None, "cross_entropy",
                         lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "tanh-ce-adam": ("tanh", None, "cross_entropy", lambda ps: optim.Adam(ps, lr=1e-2)),
    "relu-mse-adamw": ("relu", None, "mse", lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=1e-2)),
}


def make_step(setup: str, dtype=np.float32, sizes=(12, 8, 6, 4), backend: str | None = None):
    act, out_act, loss, make_opt = SETUPS[setup]
    model = MLP(list(sizes), act, out_act, seed=1, dtype=dtype)
    opt = make_opt(model.parameters())
    loss_fn = F.loss(loss)

    def step(xb, yb):
        opt.zero_grad()
        out = loss_fn(model(Tensor(xb)), yb)
        out.backward()
        opt.step()
        return out

    return model, opt, (step if backend is None else tm.compile(step, backend=backend))


def replaying(setup: str, seed: int, rows: int = 40):
    """A native step of ``setup`` past its two recordings and one replay, and the data: (model, opt, step, x, y)."""
    model, opt, native = make_step(setup, backend="native")
    rng = np.random.default_rng(seed)
    x, y = rng.random((rows, 12), dtype=np.float32), rng.integers(0, 4, rows)
    for i in range(3):
        native(x[10 * i:10 * i + 10], y[10 * i:10 * i + 10])
    return model, opt, native, x, y


def relative(a: np.ndarray, b: np.ndarray) -> float:
    scale = float(np.abs(b).max())
    return float(np.abs(a - b).max()) / scale if scale else float(np.abs(a - b).max())


@needs_cc
@pytest.mark.parametrize("setup", ["sigmoid-mse-sgd", "relu-ce-nesterov", "tanh-ce-adam"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_native_equals_eager_after_1000_steps(setup, dtype, tol):
    rng = np.random.default_rng(0)
    x = rng.random((10_000, 12)).astype(dtype)
    y = rng.integers(0, 4, 10_000)
    eager_model, _, eager = make_step(setup, dtype)
    native_model, opt, native = make_step(setup, dtype, backend="native")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback notice: this step is compiled
        for i in range(0, 10_000, 10):
            want, got = eager(x[i:i + 10], y[i:i + 10]), native(x[i:i + 10], y[i:i + 10])
    assert native.stats == {"recorded": 2, "replayed": 998, "eager": 0}
    assert "int step(" in native.source()  # the replays ran the C, not the numpy replay
    assert got.dtype == dtype and relative(got.data, want.data) <= tol
    assert opt.steps == 1000
    for p, q in zip(native_model.parameters(), eager_model.parameters(), strict=True):
        assert p.data.dtype == dtype and p.grad.data.dtype == dtype
        assert relative(p.data, q.data) <= tol, relative(p.data, q.data)
        assert relative(p.grad.data, q.grad.data) <= tol


@needs_cc
def test_adamw_and_a_last_smaller_batch_and_a_new_learning_rate():
    rng = np.random.default_rng(1)
    x, y = rng.random((95, 12)), rng.integers(0, 4, 95)
    eager_model, eager_opt, eager = make_step("relu-mse-adamw", np.float64)
    native_model, native_opt, native = make_step("relu-mse-adamw", np.float64, backend="native")
    for epoch in range(3):
        if epoch == 2:  # read on every call, as eager mode's step() reads it
            eager_opt.lr = native_opt.lr = 1e-3
        for i in range(0, 95, 10):
            eager(x[i:i + 10], y[i:i + 10])
            native(x[i:i + 10], y[i:i + 10])
    assert native.stats["replayed"] == 30 - 4
    for p, q in zip(native_model.parameters(), eager_model.parameters(), strict=True):
        assert relative(p.data, q.data) <= 1e-12
    for a, b in zip(native_opt.state_dict()["buffers"]["t"], eager_opt.state_dict()["buffers"]["t"], strict=True):
        assert int(a) == int(b) == 30


@needs_cc
def test_gradients_are_new_arrays_each_step():
    model, _, native, x, y = replaying("sigmoid-mse-sgd", 2)
    kept = model.layers[0].weight.grad.data  # the array kept
    kept_tensor = model.layers[1].bias.grad  # the Tensor kept
    before, before_tensor = kept.copy(), kept_tensor.data.copy()
    native(x[30:], y[30:])
    assert model.layers[0].weight.grad.data is not kept and np.array_equal(kept, before)
    assert model.layers[1].bias.grad is not kept_tensor and np.array_equal(kept_tensor.data, before_tensor)
    assert not np.array_equal(model.layers[1].bias.grad.data, before_tensor)


@needs_cc
def test_zero_grad_after_step_leaves_no_gradients():
    rng = np.random.default_rng(8)
    x, y = rng.random((60, 12)), rng.integers(0, 4, 60)
    models = []
    for backend in (None, "native"):
        model = MLP([12, 8, 4], "sigmoid", "sigmoid", seed=1, dtype=np.float64)
        opt = optim.SGD(model.parameters(), lr=3.0)

        def step(xb, yb, model=model, opt=opt):
            F.loss("mse")(model(Tensor(xb)), yb).backward()
            opt.step()
            opt.zero_grad()

        run = step if backend is None else tm.compile(step, backend=backend)
        for i in range(0, 60, 10):
            run(x[i:i + 10], y[i:i + 10])
        assert all(p.grad is None for p in model.parameters())
        models.append(model)
    assert "int step(" in run.source()
    for p, q in zip(*(m.parameters() for m in models), strict=True):
        assert relative(p.data, q.data) <= 1e-12


@needs_cc
def test_bad_labels_raise_as_in_eager_mode_and_change_nothing():
    model, opt, native, x, y = replaying("relu-ce-nesterov", 3)
    weights = [p.data.copy() for p in model.parameters()]
    bad = y[:10].copy()
    bad[4] = -1
    with pytest.raises(IndexError, match="one-hot: labels must lie in"):
        native(x[:10], bad)
    bad[4] = 4
    with pytest.raises(IndexError, match="one-hot: labels must lie in"):
        native(x[:10], bad)
    assert opt.steps == 3
    assert all(np.array_equal(p.data, w) for p, w in zip(model.parameters(), weights, strict=True))
    assert all(p.grad is None for p in model.parameters())  # as eager mode: zero_grad() ran, then the labels


@needs_cc
def test_a_new_parameter_array_makes_it_record_again():
    model, _, native, x, y = replaying("sigmoid-mse-sgd", 4)
    model.layers[0].weight.data = np.zeros((8, 12), np.float32)  # the compiled step held the old array's address
    native(x[30:40], y[30:40])
    assert native.stats["recorded"] == 3 and model.layers[0].weight.data.any()


def test_without_a_compiler_it_says_so_and_replays_with_numpy(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    eager_model, _, eager = make_step("sigmoid-mse-sgd")
    model, _, native = make_step("sigmoid-mse-sgd", backend="native")
    rng = np.random.default_rng(5)
    x, y = rng.random((50, 12), dtype=np.float32), rng.integers(0, 4, 50)
    with pytest.warns(UserWarning, match=r"backend='native'\): uses the numpy replay: no C compiler") as caught:
        for i in range(0, 50, 10):
            eager(x[i:i + 10], y[i:i + 10])
            native(x[i:i + 10], y[i:i + 10])
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert native.stats["replayed"] == 3 and "int step(" not in native.source()
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert np.array_equal(p.data, q.data)  # the numpy replay: bit for bit


@pytest.mark.parametrize("change", ["leaky_relu", "rmsprop", "extra_ops", "no_zero_grad"])
def test_steps_outside_the_supported_set_fall_back_with_one_line(change):
    model = MLP([12, 8, 4], "relu", None, seed=1)
    opt = optim.RMSprop(model.parameters(), lr=1e-3) if change == "rmsprop" else optim.SGD(model.parameters(), lr=0.1)

    def step(xb, yb):
        if change != "no_zero_grad":
            opt.zero_grad()
        hidden = model.layers[0](Tensor(xb))
        hidden = hidden.leaky_relu(0.1) if change == "leaky_relu" else hidden.relu()
        out = model.layers[1](hidden)
        loss = (out.sum() * 0 + F.cross_entropy(out, yb)) if change == "extra_ops" else F.cross_entropy(out, yb)
        loss.backward()
        opt.step()
        return loss

    native = tm.compile(step, backend="native")
    rng = np.random.default_rng(6)
    x, y = rng.random((40, 12), dtype=np.float32), rng.integers(0, 4, 40)
    with pytest.warns(UserWarning, match=r"backend='native'\): uses the numpy replay: ") as caught:
        for i in range(0, 40, 10):
            native(x[i:i + 10], y[i:i + 10])
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert native.stats["replayed"] == 2


def test_backend_is_checked_and_the_decorator_takes_it():
    with pytest.raises(ArgumentError, match="backend must be 'numpy' or 'native', got 'c'"):
        tm.compile(lambda: None, backend="c")

    @tm.compile(backend="native")
    def step(x):
        return None

    assert isinstance(step, CompiledStep) and step.backend == "native" and step.__name__ == "step"


@needs_cc
def test_compiled_steps_are_cached_per_user_not_in_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    package = Path(tm.__file__).resolve().parent
    before = sorted(package.rglob("*.so"))
    replaying("tanh-ce-adam", 7)
    cached = list((tmp_path / "tinygrad_mlp" / "native").glob("step_*.so"))
    assert len(cached) == 1 and sorted(package.rglob("*.so")) == before


@needs_cc
def test_gradients_only_with_step_outside_as_the_training_loop_does():
    """tinygrad_mlp.train compiles zero_grad, forward and backward, and steps after checking the loss."""
    rng = np.random.default_rng(9)
    x, y = rng.random((80, 12)), rng.integers(0, 4, 80)
    runs = []
    for backend in (None, "native"):
        model = MLP([12, 8, 4], "relu", None, seed=1, dtype=np.float64)
        opt = optim.RMSprop(model.parameters(), lr=1e-2)  # stepped outside: any optimizer

        def forward_backward(xb, yb, model=model, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            loss.backward()
            return loss

        run = forward_backward if backend is None else tm.compile(forward_backward, backend=backend)
        losses = []
        for i in range(0, 80, 10):
            losses.append(run(x[i:i + 10], y[i:i + 10]).item())
            opt.step()
        runs.append((model, losses))
    assert "int step(" in run.source() and run.stats["replayed"] == 6
    (m1, l1), (m2, l2) = runs
    assert np.allclose(l1, l2, rtol=1e-12, atol=0)
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        assert relative(p.data, q.data) <= 1e-12 and relative(p.grad.data, q.grad.data) <= 1e-12
