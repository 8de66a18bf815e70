"""tm.compile's contract (docs/compile.md): a compiled step never replays a stale value.

Each test runs a step eagerly and compiled side by side on the same calls, where the first two calls see the
same batch (so two recordings agree on everything the data decides), and checks the compiled results equal the
eager ones bit for bit. Where the step breaks the contract the compiled step must notice (record again, or
run eagerly with a warning naming the cause): the tests say which they expect. Every case here replayed a
stale value without a warning before issue 21 (main 411df7f).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor, nn, optim
from tinygrad_mlp.jit import compile
from tinygrad_mlp.nn import functional as F

X = np.random.default_rng(0).standard_normal((3, 4))
LABELS = ([0, 0, 0], [0, 0, 0], [1, 2, 1], [2, 1, 2])  # the first two batches agree (a data set sorted by class)


class _Run(NamedTuple):
    """One run of a step over the calls: its losses, the final arrays of its state, the warnings it gave, the step."""

    losses: list
    tensors: list
    warnings: list
    step: Callable


def _run(make, calls, *, compiled: bool) -> _Run:
    """``make()`` -> (step, state): run the step (compiled or not) on ``calls(state)``, catching its warnings."""
    step, state = make()
    f = compile(step) if compiled else step
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = [f(*args) for args in calls(state)]
    return _Run([None if v is None else np.array(v.data) for v in losses],
                [np.array(t.data) for t in state["tensors"]()], caught, f)


def _compiled_equals_eager(make, calls) -> _Run:
    """Run ``make()``'s step eagerly on one copy and compiled on another, on the same ``calls``; assert the losses
    and the final parameters and buffers are equal bit for bit; return the compiled run."""
    eager, compiled = _run(make, calls, compiled=False), _run(make, calls, compiled=True)
    for a, b in zip(eager.losses, compiled.losses, strict=True):
        assert (a is None and b is None) or np.array_equal(a, b), f"losses differ: {a} vs {b}"
    for a, b in zip(eager.tensors, compiled.tensors, strict=True):
        assert np.array_equal(a, b), "parameters differ"
    return compiled


def _messages(result: _Run) -> str:
    return " | ".join(str(w.message) for w in result.warnings)


def _linear_sgd(seed=0):
    m = nn.Linear(4, 3, seed=seed, dtype=np.float64)
    return m, optim.SGD(m.parameters(), lr=0.5)


def _cross_entropy_step(m, opt):
    """The plain training step: cross-entropy of ``m(x)`` against labels ``y``, backward, one ``opt`` step.

    ``m`` and ``opt`` are closure variables of the step, as in a step written inline."""
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(Tensor(x)), y)
        loss.backward()
        opt.step()
        return loss
    return step


# ---------------------------------------------------------------------- A-C: conversions the library makes


@pytest.mark.parametrize("as_tensor", [False, True])
def test_a_labels_as_whole_number_floats_or_a_tensor_are_read_on_every_call(as_tensor):
    def make():
        m, opt = _linear_sgd()

        return _cross_entropy_step(m, opt), {"tensors": m.parameters}

    def calls(_):
        return [(X, Tensor(np.array(y, float)) if as_tensor else np.array(y, float)) for y in LABELS]

    compiled = _compiled_equals_eager(make, calls)
    assert compiled.step.stats == {"recorded": 2, "replayed": 2, "eager": 0}  # replayed: the labels are an input


@pytest.mark.parametrize("method", ["gather", "take_along_axis"])
def test_b_float_index_arrays_are_read_on_every_call(method):
    def make():
        m, opt = _linear_sgd()

        def step(x, idx):
            opt.zero_grad()
            out = m(Tensor(x))
            picked = out.gather(1, idx) if method == "gather" else out.take_along_axis(idx, 1)
            loss = picked.sum()
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters}

    def calls(_):
        return [(X, np.array(y, float)[:, None].copy()) for y in LABELS]

    compiled = _compiled_equals_eager(make, calls)
    assert compiled.step.stats["replayed"] == 2


def test_c_a_backward_seed_given_as_an_argument_is_read_on_every_call():
    def make():
        m, opt = _linear_sgd()

        def step(x, w):
            opt.zero_grad()
            out = m(Tensor(x)).sum(1)
            out.backward(gradient=w)
            opt.step()
            return out
        return step, {"tensors": m.parameters}

    seeds = [np.array([1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0]), np.array([0.5, -2.0, 3.0]),
             np.array([2.0, 0.0, -1.0])]
    compiled = _compiled_equals_eager(make, lambda _: [(X, w) for w in seeds])
    assert compiled.step.stats["replayed"] == 2


# ---------------------------------------------------------------------- D: what the step reaches through Python


@pytest.mark.parametrize("replace", ["weight", "optimizer", "adam", "layer"])
def test_d_a_replaced_parameter_layer_or_optimizer_is_used_not_the_recorded_one(replace):
    def make():
        m, opt = _linear_sgd()
        cells = {"m": m, "opt": opt}

        def step(x, y):
            cells["opt"].zero_grad()
            loss = F.cross_entropy(cells["m"](Tensor(x)), y)
            loss.backward()
            cells["opt"].step()
            return loss
        return step, {"tensors": lambda: cells["m"].parameters(), "cells": cells}

    def calls(state):
        cells = state["cells"]
        for k, y in enumerate(LABELS):
            if k == 2:  # after the two recordings
                m = cells["m"]
                if replace == "weight":
                    m.weight = Tensor(np.zeros((3, 4)), requires_grad=True)
                    cells["opt"] = optim.SGD(m.parameters(), lr=0.5)
                elif replace == "optimizer":
                    cells["opt"] = optim.SGD(m.parameters(), lr=0.5, momentum=0.9)
                elif replace == "adam":
                    cells["opt"] = optim.Adam(m.parameters(), lr=0.5)
                else:
                    cells["m"] = nn.Linear(4, 3, seed=7, dtype=np.float64)
                    cells["opt"] = optim.SGD(cells["m"].parameters(), lr=0.5)
            yield X, np.array(y)

    compiled = _compiled_equals_eager(make, calls)
    assert compiled.step.stats["recorded"] >= 3  # recorded again after the change


def test_d_a_model_and_optimizer_rebound_in_the_closure_are_used():
    """The issue's own words: after call 2, ``m.weight = ...; opt = optim.SGD(...)`` rebinding the names the step
    reads from its closure."""
    results = []
    for compiled in (False, True):
        m = nn.Linear(4, 3, seed=0, dtype=np.float64)
        opt = optim.SGD(m.parameters(), lr=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss

        f = compile(step) if compiled else step
        for k, y in enumerate(LABELS):
            if k == 2:
                m.weight = Tensor(np.zeros((3, 4)), requires_grad=True)
                opt = optim.SGD(m.parameters(), lr=0.5)  # noqa: F841 (read by step, through its closure)
            f(X, np.array(y))
        results.append(m.weight.data.copy())
    assert np.array_equal(results[0], results[1]) and np.abs(results[1]).sum() > 0


def test_d_a_replaced_batchnorm_buffer_is_read():
    def make():
        bn = nn.BatchNorm1d(4, dtype=np.float64)
        bn.eval()

        def step(x):
            return (bn(Tensor(x)) * 2).sum()
        return step, {"tensors": bn.buffers, "bn": bn}

    def calls(state):
        for k in range(4):
            if k == 2:
                state["bn"].running_mean = Tensor(np.full(4, 3.0))
            yield (X,)

    with tm.no_grad():
        _compiled_equals_eager(make, calls)


# ---------------------------------------------------------------------- E: a limit on recordings


def test_e_a_number_that_changes_every_call_stops_recording_after_the_limit_with_one_warning():
    def make():
        m, opt = _linear_sgd()

        def step(x, y, counter):
            opt.zero_grad()
            loss = F.cross_entropy(m(Tensor(x)), y) * (1 + counter % 3)
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters}

    compiled = _compiled_equals_eager(make, lambda _: [(X, np.array(LABELS[k % 4]), k) for k in range(40)])
    f = compiled.step
    assert f.stats["recorded"] == f.limit == 8 and f.stats["eager"] == 40 - 8
    limit_warnings = [w for w in compiled.warnings if "recordings" in str(w.message)]
    assert len(limit_warnings) == 1 and "'counter'" in str(limit_warnings[0].message)


def test_e_a_global_that_changes_every_call_is_named_when_the_limit_is_reached():
    state = {"scale": 1.0}

    class Config:
        pass

    cfg = Config()
    cfg.scale = 1.0
    m, opt = _linear_sgd()

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(Tensor(x)), y) * cfg.scale
        loss.backward()
        opt.step()
        return loss

    f = compile(step)
    with pytest.warns(UserWarning, match=r"cfg\.scale kept changing"):
        for k in range(20):
            cfg.scale = 1.0 + k
            f(X, np.array(LABELS[k % 4]))
    assert f.stats["recorded"] == 8 and state


# ---------------------------------------------------------------------- the cases docs/compile.md once called silent


def _bn_model():
    return nn.Sequential(nn.Linear(4, 5, seed=0, dtype=np.float64), nn.BatchNorm1d(5, dtype=np.float64),
                         nn.Linear(5, 3, seed=1, dtype=np.float64))


def test_switching_from_eval_to_train_after_recording_in_eval():
    def make():
        model = _bn_model()
        opt = optim.SGD(model.parameters(), lr=0.5)
        model.eval()
        return _cross_entropy_step(model, opt), {"tensors": lambda: [*model.parameters(), *model.buffers()],
                                                 "model": model}

    def calls(state):
        for k, y in enumerate(LABELS):
            if k == 2:
                state["model"].train()
            yield X, np.array(y)

    _compiled_equals_eager(make, calls)


def test_a_schedule_stepped_inside_the_step_runs_eagerly():
    def make():
        m, opt = _linear_sgd()
        sched = optim.StepLR(opt, step_size=1, gamma=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(Tensor(x)), y)
            loss.backward()
            opt.step()
            sched.step()
            return loss
        return step, {"tensors": m.parameters}

    compiled = _compiled_equals_eager(make, lambda _: [(X, np.array(y)) for y in LABELS])
    assert "StepLR.step() changes the learning rate" in _messages(compiled)


def test_argmax_pseudo_labels_run_eagerly():
    def make():
        m, opt = _linear_sgd()

        def step(x):
            opt.zero_grad()
            out = m(Tensor(x))
            pseudo = out.data.argmax(1)  # the model's own predictions as labels
            loss = F.cross_entropy(out, pseudo)
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters}

    xs = [X, X, X[::-1].copy() * 3, -X]
    compiled = _compiled_equals_eager(make, lambda _: [(x,) for x in xs])
    assert "rebuilds on every call" in _messages(compiled)


def test_a_where_mask_built_from_data_runs_eagerly():
    def make():
        m = nn.Linear(4, 3, seed=0, dtype=np.float64)
        opt = optim.SGD(m.parameters(), lr=1e-3)  # small steps: the first two calls' masks agree

        def step(x):
            opt.zero_grad()
            h = m(Tensor(x))
            loss = tm.where(h.data > 0, h, h * 0.1).sum()
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters}

    xs = [X, X, -X, X * 2 - 1]
    compiled = _compiled_equals_eager(make, lambda _: [(x,) for x in xs])
    assert "runs eagerly" in _messages(compiled)  # the masks differ, or are equal in new arrays


def test_an_array_computed_from_the_data_with_numpy_runs_eagerly():
    def make():
        m, opt = _linear_sgd()

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(Tensor(x / 2)), y)
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters}

    xs = [X, X, -X, X * 2 - 1]
    compiled = _compiled_equals_eager(make, lambda _: [(x, np.array(y)) for x, y in zip(xs, LABELS, strict=True)])
    assert "rebuilds on every call" in _messages(compiled)


def test_an_integer_index_converted_by_tensor_is_read_on_every_call():
    def make():
        table = Tensor(np.random.default_rng(1).standard_normal((5, 3)), requires_grad=True)
        opt = optim.SGD([table], lr=0.5)

        def step(idx):
            opt.zero_grad()
            loss = (table[Tensor(idx)] ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": lambda: [table]}

    idxs = [np.array([0, 1]), np.array([0, 1]), np.array([3, 4]), np.array([2, 2])]
    compiled = _compiled_equals_eager(make, lambda _: [(i,) for i in idxs])
    assert compiled.step.stats["replayed"] == 2


# ---------------------------------------------------------------------- hyperparameters and values read in Python


def test_hyperparameters_changed_between_calls_give_the_eager_answer():
    def make():
        m, opt = _linear_sgd()

        return _cross_entropy_step(m, opt), {"tensors": m.parameters, "opt": opt}

    def calls(state):
        for k in range(6):
            if k == 2:
                state["opt"].param_groups[0]["momentum"] = 0.9  # was an IndexError, even eagerly
            if k == 3:
                state["opt"].lr = 0.05
            if k == 4:
                state["opt"].param_groups[0]["weight_decay"] = 0.1
            yield X, np.array(LABELS[k % 4])

    compiled = _compiled_equals_eager(make, calls)
    assert compiled.step.stats["replayed"] == 4


def test_a_value_read_into_python_makes_the_step_run_eagerly():
    def make():
        m = nn.Linear(4, 3, seed=0, dtype=np.float64)
        opt = optim.SGD(m.parameters(), lr=1e-3)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(Tensor(x)), y)
            if loss.item() > 1.0:  # control flow on a value: the branch taken must follow each call's loss
                loss = loss * 2
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters}

    xs = [X * 5, X * 5, X * 0.01, X * 0.02]  # the first two calls take the branch, the others not
    compiled = _compiled_equals_eager(make, lambda _: [(x, np.array(y)) for x, y in zip(xs, LABELS, strict=True)])
    assert "reads a Tensor's value into Python" in _messages(compiled)


def test_a_constant_changed_in_place_inside_the_step_is_never_replayed_stale():
    """``buf.data += 1`` inside the step, read by an op: a replay would not add. It records again each call (the
    values differ), then runs eagerly past the limit, naming the cause."""
    def make():
        m, opt = _linear_sgd()
        buf = Tensor(np.zeros(3))

        def step(x, y):
            opt.zero_grad()
            buf.data += 1.0  # an in-place effect the recording cannot see
            loss = (F.cross_entropy(m(Tensor(x)) + buf, y))
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": lambda: [*m.parameters(), buf]}

    compiled = _compiled_equals_eager(make, lambda _: [(X, np.array(LABELS[k % 4])) for k in range(12)])
    assert compiled.step.stats["replayed"] == 0 and "constant Tensor" in _messages(compiled)


def test_a_constant_changed_outside_between_the_recordings_is_recorded_again_then_replayed():
    def make():
        m, opt = _linear_sgd()
        mask = Tensor(np.ones(3))

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(Tensor(x)) * mask, y)
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters, "mask": mask}

    def calls(state):
        for k in range(8):
            if k in (1, 5):  # outside the step: between the two recordings, then between two replays
                state["mask"].data[k % 3] = 0.5
            yield X, np.array(LABELS[k % 4])

    compiled = _compiled_equals_eager(make, calls)  # the replays read the mask's current values
    assert compiled.step.stats == {"recorded": 3, "replayed": 5, "eager": 0}


def test_a_module_setting_changed_after_recording_is_used():
    """A number held by a module (LeakyReLU's slope) becomes a rule's setting: changed after the recordings, it makes
    the step record again (it was replayed with the recorded slope)."""
    def make():
        model = nn.Sequential(nn.Linear(4, 3, seed=0, dtype=np.float64), nn.LeakyReLU(0.01))
        opt = optim.SGD(model.parameters(), lr=0.1)

        return _cross_entropy_step(model, opt), {"tensors": model.parameters, "model": model}

    def calls(state):
        for k in range(5):
            if k == 2:
                state["model"].layers[1].negative_slope = 0.5
            yield -X, np.array(LABELS[k % 4])

    compiled = _compiled_equals_eager(make, calls)
    assert compiled.step.stats["recorded"] == 4


def test_a_mutable_default_argument_changed_after_recording_is_read():
    def make():
        m, opt = _linear_sgd()

        def step(x, y, settings={"scale": 1.0}):  # noqa: B006 (the mutable default is the point)
            opt.zero_grad()
            loss = F.cross_entropy(m(Tensor(x)), y) * settings["scale"]
            loss.backward()
            opt.step()
            return loss
        return step, {"tensors": m.parameters, "step": step}

    def calls(state):
        for k in range(5):
            if k == 2:
                state["step"].__defaults__[0]["scale"] = 3.0
            yield X, np.array(LABELS[k % 4])

    _compiled_equals_eager(make, calls)
