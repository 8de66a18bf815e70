"""Tests of tinygrad_mlp.train: fit's history and callbacks, evaluate/predict, the NaN guard, and exact resumption
after SIGINT/SIGTERM at any point of an epoch (mid-epoch, after its last step, while scoring the test set).
"""

from __future__ import annotations

import functools
import hashlib
import os
import signal

import numpy as np
import pytest

from tinygrad_mlp import checkpoint, is_grad_enabled, train
from tinygrad_mlp.data import load_synthetic
from tinygrad_mlp.errors import CheckpointError, TinygradMLPError
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.optim import SGD, Adam
from tinygrad_mlp.train import (
    Callback,
    TrainingDiverged,
    TrainingInterrupted,
    build_optimizer,
    build_scheduler,
    evaluate,
    fit,
    predict,
    save_checkpoint,
)


@functools.lru_cache(maxsize=None)
def _data(n_train=600, n_test=300):
    return load_synthetic(n_train, n_test, seed=3)


def _setup(opt="sgd", seed=0, sizes=(784, 12, 10), loss="mse"):
    out_act = None if loss == "cross_entropy" else "sigmoid"
    model = MLP(list(sizes), "sigmoid" if loss == "mse" else "relu", out_act, init="xavier", seed=seed)
    lr = {"sgd": 3.0, "adam": 1e-2, "momentum": 0.5}[opt]
    optimizer = build_optimizer("sgd" if opt == "momentum" else opt, model.parameters(), lr,
                                0.9 if opt == "momentum" else 0.0)
    return model, optimizer


def _weights(model):
    return [p.data.copy() for p in model.parameters()]


def _same(a, b):
    return len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))


def test_fit_history_and_callbacks():
    x, y, xt, yt = _data()
    model, opt = _setup()
    records, steps = [], []

    class Steps(Callback):
        def on_step_end(self, epoch, step, loss):
            steps.append((epoch, step))

    res = fit(model, opt, "mse", x, y, xt, yt, epochs=3, batch_size=32, progress=False,
              callbacks=[records.append, Steps()])
    assert [r["epoch"] for r in res.history] == [1, 2, 3] == [r["epoch"] for r in records]
    for r in res.history:
        assert {"train_loss", "test_accuracy", "seconds", "samples_per_second", "lr", "steps"} <= set(r)
        assert r["seconds"] >= 0 and 0 <= r["test_accuracy"] <= 1
    per_epoch = -(-600 // 32)
    assert len(steps) == 3 * per_epoch and steps[-1] == (3, per_epoch) and res.steps == 3 * per_epoch
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    assert res.test_accuracy > 0.5  # chance is 0.1
    # the data order is the seed's: the same call again gives the same weights
    model2, opt2 = _setup()
    fit(model2, opt2, "mse", x, y, xt, yt, epochs=3, batch_size=32, progress=False)
    assert _same(_weights(model), _weights(model2))
    # a different data seed gives different weights
    model3, opt3 = _setup()
    fit(model3, opt3, "mse", x, y, xt, yt, epochs=1, batch_size=32, seed=1, progress=False)
    model4, opt4 = _setup()
    fit(model4, opt4, "mse", x, y, xt, yt, epochs=1, batch_size=32, seed=0, progress=False)
    assert not _same(_weights(model3), _weights(model4))


def test_fit_without_test_set_and_config_validation():
    x, y, _, _ = _data()
    model, opt = _setup()
    res = fit(model, opt, "mse", x[:50], y[:50], epochs=1, batch_size=50, progress=False)
    assert res.history[0]["test_accuracy"] is None
    with pytest.raises(ValueError, match="epochs"):
        fit(model, opt, "mse", x, y, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, opt, "mse", x, y, batch_size=0)


def test_progress_bar_shows_loss_and_speed(capsys, monkeypatch):
    x, y, xt, yt = _data()
    model, opt = _setup()
    bars, make_bar = [], train._progress_bar
    monkeypatch.setattr(train, "_progress_bar", lambda *a, **k: bars.append(make_bar(*a, **k)) or bars[-1])
    fit(model, opt, "mse", x, y, xt, yt, epochs=1, batch_size=2, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "loss=" in err and "samples_s=" in err
    assert len(bars) == 1 and bars[0].n == bars[0].total == 300  # one tick per batch
    fit(model, opt, "mse", x, y, xt, yt, epochs=1, batch_size=2, progress=False)
    assert capsys.readouterr().err == ""


def test_evaluate_confusion_and_per_class():
    x, y, xt, yt = _data()
    model, opt = _setup()
    fit(model, opt, "mse", x, y, epochs=1, batch_size=20, progress=False)
    out = predict(model, xt)
    assert out.shape == (len(yt), 10) and isinstance(out, np.ndarray)
    guesses = out.argmax(1)
    ev = evaluate(model, xt, yt, batch_size=7)  # batch size must not matter
    acc, per_class, confusion = ev  # unpacks like a tuple
    assert acc == pytest.approx(np.mean(guesses == yt))
    assert confusion.shape == (10, 10) and confusion.sum() == len(yt)
    assert np.array_equal(confusion.sum(1), np.bincount(yt, minlength=10))
    assert np.array_equal(confusion.sum(0), np.bincount(guesses, minlength=10))
    assert confusion[3, 5] == np.sum((yt == 3) & (guesses == 5))
    for d in range(10):
        assert per_class[d] == pytest.approx(np.mean(guesses[yt == d] == d))
    assert _same([confusion], [evaluate(model, xt, yt, batch_size=1000).confusion])
    # a class absent from the labels has NaN accuracy, not a crash
    ev2 = evaluate(model, xt[yt != 4], yt[yt != 4])
    assert np.isnan(ev2.per_class[4]) and np.isfinite(np.delete(ev2.per_class, 4)).all()
    # a single image gives one row of outputs; evaluation leaves grad mode and training mode as they were
    assert np.allclose(predict(model, xt[0]), out[0], atol=1e-6)
    assert is_grad_enabled() and model.training


def test_build_optimizer():
    model, _ = _setup()
    assert isinstance(build_optimizer("sgd", model.parameters(), 0.1, 0.9), SGD)
    assert isinstance(build_optimizer("adam", model.parameters(), 0.1), Adam)
    with pytest.raises(ValueError, match="unknown optimizer"):
        build_optimizer("rmsprop", model.parameters(), 0.1)
    with pytest.raises(ValueError, match="momentum"):
        build_optimizer("adam", model.parameters(), 0.1, 0.9)


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow warnings on the way to NaN
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    x, y, xt, yt = _data()
    path = tmp_path / "ck.npz"
    # a linear network (identity hidden units) with softmax cross-entropy: at lr 1e6 its weights and gradients
    # feed each other and overflow within a few steps (sigmoid/relu units saturate or die, keeping the loss finite)
    model = MLP([784, 12, 10], "identity", None, init="xavier", seed=0)
    opt = SGD(model.parameters(), lr=0.01)
    fit(model, opt, "cross_entropy", x, y, xt, yt, epochs=1, batch_size=32, progress=False, checkpoint=path)
    good, good_sha = _weights(model), _sha(path)
    opt.lr = 1e6
    with pytest.raises(TrainingDiverged) as info:
        fit(model, opt, "cross_entropy", x, y, xt, yt, epochs=3, batch_size=32, progress=False, checkpoint=path)
    msg = str(info.value)
    assert "smaller learning rate" in msg and "1e+06" in msg and str(path) in msg and "\n" not in msg
    assert isinstance(info.value, TinygradMLPError) and not np.isfinite(info.value.loss)
    assert _sha(path) == good_sha  # untouched
    reloaded, _ = checkpoint.load_model(path)
    assert _same(_weights(reloaded), good)
    # and weights that already hold NaN are never written
    model.parameters()[0].data[0, 0] = np.nan
    with pytest.raises(TrainingDiverged, match="NaN"):
        save_checkpoint(path, model, opt)
    assert _sha(path) == good_sha


class _SignalAt(Callback):
    """Send ourselves a signal right after step `step` of epoch `epoch` (the loop then saves and stops)."""

    def __init__(self, epoch, step, signum=signal.SIGINT):
        self.epoch, self.step, self.signum = epoch, step, signum

    def on_step_end(self, epoch, step, loss):
        if (epoch, step) == (self.epoch, self.step):
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("where", ["mid-epoch", "last-step", "during-eval", "first-step"])
@pytest.mark.parametrize("opt", ["sgd", "adam", "momentum"])
def test_interrupt_then_resume_gives_identical_weights(tmp_path, monkeypatch, where, opt):
    x, y, xt, yt = _data()
    kw = dict(epochs=3, batch_size=25, progress=False)  # 24 steps per epoch
    ref_model, ref_opt = _setup(opt)
    schedule = "cosine" if opt == "momentum" else "none"  # SGD with momentum also anneals its lr
    ref = fit(ref_model, ref_opt, "mse", x, y, xt, yt, scheduler=build_scheduler(schedule, ref_opt, 3), **kw)
    if schedule == "cosine":
        assert [r["lr"] for r in ref.history] == pytest.approx([0.5, 0.375, 0.125])

    path = tmp_path / "ck.npz"
    model, optimizer = _setup(opt)
    kw["scheduler"] = build_scheduler(schedule, optimizer, 3)
    previous = signal.getsignal(signal.SIGINT)
    if where == "during-eval":
        real = train.evaluate

        def evaluate_with_signal(*a, **k):
            if len(calls) == 1:  # while scoring epoch 2
                os.kill(os.getpid(), signal.SIGINT)
            calls.append(1)
            return real(*a, **k)
        calls = []
        monkeypatch.setattr(train, "evaluate", evaluate_with_signal)
        callbacks = []
    else:
        epoch, step = {"mid-epoch": (2, 11), "last-step": (2, 24), "first-step": (1, 1)}[where]
        callbacks = [_SignalAt(epoch, step)]
    with pytest.raises(TrainingInterrupted) as info:
        fit(model, optimizer, "mse", x, y, xt, yt, checkpoint=path, callbacks=callbacks, **kw)
    monkeypatch.undo()
    assert info.value.exit_code == 130 and info.value.checkpoint == str(path)
    assert signal.getsignal(signal.SIGINT) is previous  # handlers restored
    ck = checkpoint.load(path)
    state = ck.metadata["train_state"]
    expected_step = {"mid-epoch": 11, "last-step": 24, "during-eval": 24, "first-step": 1}[where]
    assert state["step"] == expected_step and not state["complete"]

    # resume into a model built with another seed: everything must come from the checkpoint
    model2, optimizer2 = _setup(opt, seed=99)
    kw["scheduler"] = build_scheduler(schedule, optimizer2, 3)
    res = fit(model2, optimizer2, "mse", x, y, xt, yt, checkpoint=path, resume=ck, **kw)
    assert _same(_weights(model2), _weights(ref_model))
    for key in ("m", "v", "velocity"):
        if hasattr(ref_opt, key) and getattr(ref_opt, key):
            assert _same(getattr(optimizer2, key), getattr(ref_opt, key))
    assert [(r["train_loss"], r["test_accuracy"], r["lr"]) for r in res.history] == \
           [(r["train_loss"], r["test_accuracy"], r["lr"]) for r in ref.history]
    assert optimizer2.lr == ref_opt.lr
    assert res.steps == ref.steps
    assert checkpoint.load(path).metadata["train_state"]["complete"]


def test_sigterm_exit_code_and_resume_to_more_epochs(tmp_path):
    x, y, xt, yt = _data()
    ref_model, ref_opt = _setup("adam")
    fit(ref_model, ref_opt, "mse", x, y, xt, yt, epochs=3, batch_size=50, progress=False)

    path = tmp_path / "ck.npz"
    model, optimizer = _setup("adam")
    with pytest.raises(TrainingInterrupted) as info:
        fit(model, optimizer, "mse", x, y, xt, yt, epochs=2, batch_size=50, progress=False, checkpoint=path,
            callbacks=[_SignalAt(1, 5, signal.SIGTERM)])
    assert info.value.exit_code == 143 and "SIGTERM" in str(info.value)
    model, optimizer = _setup("adam")
    fit(model, optimizer, "mse", x, y, xt, yt, epochs=2, batch_size=50, progress=False, checkpoint=path,
        resume=checkpoint.load(path))
    # a finished run can be extended: 2 epochs + 1 more == 3 epochs straight
    model, optimizer = _setup("adam")
    res = fit(model, optimizer, "mse", x, y, xt, yt, epochs=3, batch_size=50, progress=False, checkpoint=path,
              resume=checkpoint.load(path))
    assert len(res.history) == 3
    assert _same(_weights(model), _weights(ref_model))


def test_resume_refuses_other_data_or_settings(tmp_path):
    x, y, xt, yt = _data()
    path = tmp_path / "ck.npz"
    model, opt = _setup()
    fit(model, opt, "mse", x, y, epochs=1, batch_size=30, progress=False, checkpoint=path)
    ck = checkpoint.load(path)
    for kw, data in [({"batch_size": 31}, (x, y)), ({"seed": 1}, (x, y)), ({}, (x[:500], y[:500]))]:
        m, o = _setup()
        with pytest.raises(CheckpointError, match="resum"):
            fit(m, o, "mse", *data, **{"epochs": 2, "batch_size": 30, "progress": False, **kw}, resume=ck)
    m, o = _setup("adam")
    with pytest.raises(CheckpointError, match="optimizer"):
        fit(m, o, "mse", x, y, epochs=2, batch_size=30, progress=False, resume=ck)
    m, o = _setup()
    save_checkpoint(path, m, o)  # a checkpoint without training state
    with pytest.raises(CheckpointError, match="training state"):
        fit(m, o, "mse", x, y, epochs=2, batch_size=30, progress=False, resume=checkpoint.load(path))
