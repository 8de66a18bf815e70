"""Grad mode, anomaly mode, forward mode and the engine's listeners belong to the thread (as PyTorch keeps grad
mode per thread): what one thread switches on or off never changes what another computes.

The overlaps are forced with events, so each test sees the interleaving it names on every run (no timing, no
luck); the training runs compare threads against the same runs done one after another, bit for bit.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import autograd, engine, nn, optim
from tinygrad_mlp.errors import AnomalyError

WAIT = 30  # seconds: only reached when a thread is stuck, never in a passing run


def _run(*targets):
    """Run each function in its own thread; re-raise the first exception one of them raised."""
    errors: list[BaseException] = []

    def guarded(fn):
        try:
            fn()
        except BaseException as e:  # handed to the test's thread
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def _wait(event: threading.Event) -> None:
    assert event.wait(WAIT), "the other thread never got there"


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def quiet():
        with tm.no_grad():
            inside.set()
            _wait(done)

    def training():
        _wait(inside)
        x = tm.Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        seen["enabled"], seen["recorded"] = tm.is_grad_enabled(), y.requires_grad
        y.backward()
        seen["grad"] = x.grad.data.tolist()
        done.set()

    _run(quiet, training)
    assert seen == {"enabled": True, "recorded": True, "grad": [2.0, 4.0]}


@pytest.mark.parametrize("order", ["first-in-first-out", "last-in-first-out"])
def test_overlapping_no_grad_blocks_never_leak(order):
    # A enters, B enters, then they leave in either order: each thread sees its own mode throughout, and grad
    # mode is on everywhere afterwards (a process-wide flag restored by each block left it off)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    modes = {}

    def a():
        with tm.no_grad():
            a_in.set()
            _wait(b_in)
            modes["a inside"] = tm.is_grad_enabled()
            if order == "last-in-first-out":
                _wait(a_out)  # B leaves first
        modes["a after"] = tm.is_grad_enabled()
        a_out.set()

    def b():
        _wait(a_in)
        with tm.no_grad():
            b_in.set()
            if order == "first-in-first-out":
                _wait(a_out)  # A leaves first
            modes["b inside"] = tm.is_grad_enabled()
        modes["b after"] = tm.is_grad_enabled()
        if order == "last-in-first-out":
            a_out.set()

    _run(a, b)
    assert modes == {"a inside": False, "b inside": False, "a after": True, "b after": True}
    assert tm.is_grad_enabled() and (tm.Tensor([1.0], requires_grad=True) * 2).requires_grad
    assert engine.quiet and engine.state.saved == []


def test_a_new_thread_starts_with_grad_mode_on():
    seen = []
    with tm.no_grad():
        _run(lambda: seen.append((tm.is_grad_enabled(), (tm.Tensor([1.0], requires_grad=True) * 2).requires_grad)))
        assert not tm.is_grad_enabled()
    assert seen == [(True, True)]


def test_one_no_grad_decorator_used_by_two_threads_at_once():
    # the decorator's single instance is entered by both threads; each restores its own mode
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    @tm.no_grad()
    def evaluate(first):
        if first:
            a_in.set()
            _wait(b_in)
        else:
            b_in.set()
            _wait(a_out)
        return tm.is_grad_enabled()

    results = {}

    def a():
        results["a"] = (evaluate(True), tm.is_grad_enabled())
        a_out.set()

    def b():
        _wait(a_in)
        with engine.enable_grad():  # B was recording inside enable_grad; it must get that back
            results["b"] = (evaluate(False), tm.is_grad_enabled())

    _run(a, b)
    assert results == {"a": (False, True), "b": (False, True)}


def test_detect_anomaly_in_one_thread_does_not_raise_in_another():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def watched():
        with tm.detect_anomaly():
            inside.set()
            _wait(done)
            with pytest.raises(AnomalyError, match="Log"):
                tm.Tensor([0.0]).log()  # its own ops are still checked

    def other():
        _wait(inside)
        with np.errstate(divide="ignore"):
            seen["log0"] = tm.Tensor([0.0]).log().data.tolist()  # -inf, as numpy: not this thread's anomaly mode
        done.set()

    _run(watched, other)
    assert seen == {"log0": [-np.inf]}


def test_a_listener_sees_only_its_own_threads_ops():
    class Names(engine.Listener):
        def __init__(self):
            self.ops = []

        def on_forward(self, rule, inputs, out):
            self.ops.append(rule.name)

    inside, done = threading.Event(), threading.Event()
    names = Names()

    def listening():
        with engine.listen(names):
            inside.set()
            _wait(done)
            tm.Tensor([1.0]).exp()
        assert engine.active_listeners() == []

    def other():
        _wait(inside)
        assert engine.active_listeners() == []
        tm.Tensor([1.0]).tanh()
        done.set()

    _run(listening, other)
    assert names.ops == ["Exp"]


def test_two_threads_run_jvp_at_once():
    inside, done = threading.Event(), threading.Event()
    results = {}

    def slow_square(x):
        inside.set()
        _wait(done)
        return x * x

    def fast_cube(x):
        _wait(inside)
        try:
            return x * x * x
        finally:
            done.set()

    x = np.array([1.0, 2.0])
    v = np.array([1.0, 1.0])
    _run(lambda: results.__setitem__("square", autograd.jvp(slow_square, (x,), (v,))[1].data.tolist()),
         lambda: results.__setitem__("cube", autograd.jvp(fast_cube, (x,), (v,))[1].data.tolist()))
    assert results == {"square": [2.0, 4.0], "cube": [3.0, 12.0]}


# ---------------------------------------------------------------------- training in threads


def _train(seed: int, steps: int, compiled: bool, stats: list | None = None) -> list[np.ndarray]:
    """``steps`` SGD steps of a small MLP on its own data; the final weights. Evaluates under no_grad now and
    then, so the threads' no_grad blocks overlap the others' training steps."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    model = nn.MLP([4, 8, 3], seed=seed)
    opt = optim.SGD(model.parameters(), lr=0.05)

    def step(xb, yb):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    step_fn = tm.compile(step) if compiled else step
    for i in range(steps):
        rows = slice(8 * (i % 4), 8 * (i % 4) + 8)
        step_fn(tm.Tensor(x[rows]), y[rows])
        if i % 50 == 0:
            with tm.no_grad():
                model(tm.Tensor(x))
    if stats is not None:
        stats.append(dict(step_fn.stats) if compiled else None)
    return [p.data.copy() for p in model.parameters()]


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_four_threads_train_as_they_would_one_after_another(compiled):
    seeds, steps = [1, 2, 3, 4], 1000
    alone = [_train(s, steps, compiled) for s in seeds]
    together: dict[int, list[np.ndarray]] = {}
    stats: list = []
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so their steps interleave finely
    try:
        _run(*[lambda s=s: together.__setitem__(s, _train(s, steps, compiled, stats)) for s in seeds])
    finally:
        sys.setswitchinterval(previous)
    for s, weights in zip(seeds, alone, strict=True):
        for w_alone, w_threaded in zip(weights, together[s], strict=True):
            assert np.array_equal(w_alone, w_threaded), f"seed {s}: weights differ from the run done alone"
    assert tm.is_grad_enabled() and engine.quiet
    if compiled:  # each thread's steps were replayed, not run eagerly for some other thread's reason
        assert all(st["replayed"] == steps - 2 for st in stats), stats
