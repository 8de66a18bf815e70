"""Tests of the command line (tinygrad_mlp.cli): train -> checkpoint -> eval -> predict, metrics JSON, the synthetic
fallback, one-line errors with the right exit codes, the NaN guard, and a real SIGINT/SIGTERM then --resume reaching
the very weights of an uninterrupted run. Most run main() in-process; a few run `python -m tinygrad_mlp`.

No test touches the network: MNIST is either the local copy ($TINYGRAD_MLP_DATA, tests skip without it) or made
unavailable (an empty data folder and cache, with downloads pointed at a closed local port or switched off).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mlp
from tinygrad_mlp import checkpoint, cli, data
from tinygrad_mlp.cli import main

REPO_ROOT = Path(tinygrad_mlp.__file__).resolve().parents[1]
MNIST_DIR = os.environ.get(data.DATA_ENV)
HAVE_MNIST = bool(MNIST_DIR) and all((Path(MNIST_DIR) / n).is_file() for n in data.MNIST_FILES)
QUICK = ["--dataset", "synthetic", "--arch", "784-16-10", "--limit-train", "1000", "--epochs", "1", "--no-progress"]


_draw_synthetic = data.load_synthetic


@functools.lru_cache(maxsize=None)
def _synthetic(n_train=10000, n_test=2000, seed=0):
    return _draw_synthetic(n_train, n_test, seed)


@pytest.fixture(autouse=True)
def fast_synthetic(monkeypatch):
    """Draw the synthetic digits once per session (drawing them takes about a second)."""
    monkeypatch.setattr(data.synthetic, "load_synthetic", _synthetic)


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """MNIST nowhere: no data folder configured, an empty cache, and every mirror a closed port on this machine."""
    empty = tmp_path / "cache"
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(empty))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    for kind in list(data.MIRRORS):
        monkeypatch.setitem(data.MIRRORS, kind, ["http://127.0.0.1:9/"])
    return empty


def _env(tmp_path, **extra) -> dict:
    env = dict(os.environ)
    env.pop(data.DATA_ENV, None)  # no data folder configured (a configured one without MNIST is an error)
    env.update({"PYTHONPATH": str(REPO_ROOT),
                data.CACHE_ENV: str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def _run(args, tmp_path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_mlp", *args], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120, **kw)


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("tinygrad-mlp: error: ") and "Traceback" not in err
    return lines[0]


def _params(path) -> dict:
    return checkpoint.load(path).params


# ---------------------------------------------------------------------- the happy path


def test_train_eval_predict_round_trip(tmp_path, capsys):
    ck, metrics = tmp_path / "m.npz", tmp_path / "sub" / "metrics.json"
    assert main(["train", *QUICK, "--epochs", "2", "--out", str(ck), "--metrics-json", str(metrics)]) == 0
    out, err = capsys.readouterr()
    assert "784-16-10" in out and "synthetic" in out and "1000 training" in out
    epoch_lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(epoch_lines) == 2 and "epoch   2/2" in epoch_lines[1]
    assert "train loss" in epoch_lines[0] and "test accuracy" in epoch_lines[0] and epoch_lines[0].endswith(" s")
    assert err == ""  # no banner for an explicitly synthetic run, no progress bar
    m = json.loads(metrics.read_text())
    assert m["test_accuracy"] > 0.5

    assert main(["eval", str(ck)]) == 0  # scored on the dataset it was trained on
    out = capsys.readouterr().out
    assert f"test accuracy: {100 * m['test_accuracy']:.2f}%" in out
    assert "synthetic test set, 2000 images" in out
    rows = [line.split() for line in out.splitlines()]
    digit_rows = [r for r in rows if len(r) == 3 and r[0].isdigit() and r[1].endswith("%")]
    assert [r[0] for r in digit_rows] == [str(d) for d in range(10)]
    confusion = np.array([[int(v) for v in r[1:]] for r in rows if len(r) == 11 and r[0].isdigit()])
    assert confusion.shape == (10, 10) and confusion.sum() == 2000
    assert np.array_equal(confusion, np.array(m["confusion_matrix"]))
    assert [int(r[2]) for r in digit_rows] == list(confusion.sum(1))

    _, _, x_test, y_test = _synthetic()
    assert main(["predict", str(ck), "--index", "7"]) == 0
    out = capsys.readouterr().out
    assert data.ascii_digit(x_test[7]) in out
    assert f"label: {y_test[7]}" in out
    bars = [line for line in out.splitlines() if line.strip()[:1].isdigit() and "|" in line]
    assert len(bars) == 10
    model, _ = checkpoint.load_model(ck)
    expected = tinygrad_mlp.train.predict(model, x_test[7])
    assert f"guess: {int(expected.argmax())}" in out
    assert all(f"{v:.4f}" in line for v, line in zip(expected, bars))

    assert main(["predict", str(ck), "--random", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    bars = [line for line in out.splitlines() if line.strip()[:1].isdigit() and "|" in line]
    assert len(bars) == 10 and "noise" in out and "label:" not in out and "guess:" in out
    noise = np.random.default_rng(3).random(784, dtype=np.float32)
    assert data.ascii_digit(noise) in out


def test_metrics_json_and_checkpoint_metadata(tmp_path, capsys):
    ck, metrics = tmp_path / "m.npz", tmp_path / "metrics.json"
    assert main(["train", *QUICK, "--loss", "ce", "--activation", "relu", "--optimizer", "adam", "--lr", "0.01",
                 "--batch-size", "50", "--out", str(ck), "--metrics-json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert {"test_accuracy", "epochs", "train_seconds", "dataset", "parameters", "settings", "history",
            "per_class_accuracy", "confusion_matrix"} <= set(m)
    assert m["dataset"] == "synthetic" and m["epochs"] == 1 and m["parameters"] == 784 * 16 + 16 + 16 * 10 + 10
    assert m["settings"]["loss"] == "cross_entropy" and m["settings"]["optimizer"] == "adam"
    assert m["settings"]["lr"] == 0.01 and m["settings"]["batch_size"] == 50 and m["settings"]["limit_train"] == 1000
    assert m["settings"]["init"] == "he"  # the relu default
    assert len(m["history"]) == 1 and {"train_loss", "test_accuracy", "seconds"} <= set(m["history"][0])
    assert m["history"][0]["test_accuracy"] == m["test_accuracy"]
    assert len(m["per_class_accuracy"]) == 10 and m["train_seconds"] > 0
    c = checkpoint.load(ck)
    assert c.model_config == {"sizes": [784, 16, 10], "activation": "relu", "output_activation": None, "init": "he"}
    assert c.metadata["settings"] == m["settings"] and c.metadata["dataset"] == "synthetic"
    assert c.metadata["history"] == m["history"]
    assert c.optimizer["class"] == "Adam"


@pytest.mark.parametrize("options", [[], ["--loss", "ce", "--activation", "relu", "--optimizer", "adam",
                                                 "--lr", "0.01", "--batch-size", "64"]])
def test_no_compile_trains_to_the_same_weights(tmp_path, capsys, options):
    # train replays a captured step by default; --no-compile runs every step eagerly: bit for bit the same
    # (1000 images in batches of 64 end with a partial batch of 40, recorded and replayed on its own)
    runs = {}
    for flag in ([], ["--no-compile"]):
        out = tmp_path / f"m{len(runs)}.npz"
        assert main(["train", *QUICK, "--epochs", "3", *options, *flag, "--out", str(out)]) == 0
        runs[bool(flag)] = checkpoint.load(out)
    assert runs[False].params.keys() == runs[True].params.keys()
    for name, value in runs[False].params.items():
        assert np.array_equal(value, runs[True].params[name]), name
    assert runs[False].metadata["history"][-1]["train_loss"] == runs[True].metadata["history"][-1]["train_loss"]


@pytest.mark.skipif(not shutil.which(os.environ.get("CC") or "cc"), reason="no C compiler")
def test_compile_native_trains_to_the_same_weights_up_to_rounding(tmp_path, capsys):
    # --compile native: the captured forward and backward as one C function (the optimizer steps in Python)
    runs = {}
    for how in ("numpy", "native"):
        out = tmp_path / f"{how}.npz"
        assert main(["train", *QUICK, "--compile", how, "--out", str(out)]) == 0
        runs[how] = checkpoint.load(out)
    assert "WARNING" not in capsys.readouterr().err  # compiled, no fallback
    for name, value in runs["numpy"].params.items():
        got = runs["native"].params[name]
        assert np.abs(got - value).max() <= 1e-5 * np.abs(value).max(), name


def test_compile_native_without_a_compiler_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    assert main(["train", *QUICK, "--compile", "native", "--out", str(tmp_path / "m.npz")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("tinygrad-mlp: WARNING: compile(") and "no C compiler" in err[0]
    assert main(["train", *QUICK, "--compile", "native", "--no-compile"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_cosine_lr_schedule_is_recorded(tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    assert main(["train", *QUICK, "--epochs", "2", "--lr", "2", "--lr-schedule", "cosine", "--out",
                 str(tmp_path / "m.npz"), "--metrics-json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert [h["lr"] for h in m["history"]] == [2.0, 1.0] and m["settings"]["lr_schedule"] == "cosine"
    assert "cosine schedule" in capsys.readouterr().out


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_reaches_the_optimizer_and_the_checkpoint(tmp_path, capsys, optimizer):
    out, metrics = tmp_path / "m.npz", tmp_path / "metrics.json"
    args = ["train", *QUICK, "--epochs", "1", "--optimizer", optimizer, "--weight-decay", "0.01", "--out", str(out)]
    assert main([*args, "--metrics-json", str(metrics)]) == 0
    assert json.loads(metrics.read_text())["settings"]["weight_decay"] == 0.01
    assert "weight decay 0.01" in capsys.readouterr().out
    # the decay changes the weights: the same run without it ends elsewhere
    assert main(["train", *QUICK, "--epochs", "1", "--optimizer", optimizer, "--out", str(tmp_path / "plain.npz")]) == 0
    decayed, plain = checkpoint.load(out).params, checkpoint.load(tmp_path / "plain.npz").params
    w = "layers.0.weight"
    assert np.linalg.norm(decayed[w]) < np.linalg.norm(plain[w])
    # a resumed run keeps it
    assert main(["train", "--resume", str(out), "--epochs", "2", "--weight-decay", "0.5"]) == 2


def test_defaults_are_the_notes_network(monkeypatch, capsys):
    seen = {}

    def fake_fit(model, optimizer, loss, *a, **kw):
        seen.update(sizes=model.sizes, act=model.activation, out=model.output_activation, loss=loss,
                    opt=type(optimizer).__name__, lr=optimizer.lr, momentum=optimizer.momentum,
                    weight_decay=optimizer.weight_decay, **kw)
        raise tinygrad_mlp.TinygradMLPError("stop here")

    monkeypatch.setattr(cli.train, "fit", fake_fit)
    assert main(["train", "--dataset", "synthetic"]) == 1
    assert seen["sizes"] == [784, 16, 16, 10] and seen["act"] == "sigmoid" and seen["out"] == "sigmoid"
    assert seen["loss"] == "mse" and seen["opt"] == "SGD" and seen["lr"] == 3.0 and seen["momentum"] == 0
    assert seen["weight_decay"] == 0
    assert seen["batch_size"] == 10 and seen["epochs"] == 30 and seen["checkpoint"] == "model.npz"
    assert "stop here" in capsys.readouterr().err


# ---------------------------------------------------------------------- data: fallback and absence


def test_auto_falls_back_to_synthetic_loudly(tmp_path, no_mnist, capsys):
    metrics = tmp_path / "metrics.json"
    args = ["train", "--arch", "784-16-10", "--limit-train", "500", "--epochs", "1", "--no-progress",
            "--out", str(tmp_path / "m.npz"), "--metrics-json", str(metrics)]
    assert main(args) == 0  # --dataset auto is the default; the download is tried and fails
    out, err = capsys.readouterr()
    banner = err.strip().splitlines()
    assert len(banner) == 1 and "SYNTHETIC" in banner[0] and "NOT MNIST" in banner[0]
    assert "download failed" in banner[0]
    assert "on synthetic" in out
    assert json.loads(metrics.read_text())["dataset"] == "synthetic"
    assert checkpoint.load(tmp_path / "m.npz").metadata["dataset"] == "synthetic"


def test_dataset_mnist_never_falls_back(tmp_path, no_mnist, capsys):
    assert main(["train", "--dataset", "mnist", "--out", str(tmp_path / "m.npz")]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "MNIST" in line and str(no_mnist) in line
    assert not (tmp_path / "m.npz").exists()


def test_dataset_mnist_missing_subprocess(tmp_path):
    r = _run(["train", "--dataset", "mnist", "--no-download"], tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert "MNIST files not found" in _one_error_line(r.stderr)
    r = _run(["train", "--no-download", *QUICK[2:], "--limit-train", "200"], tmp_path)  # auto: falls back
    assert r.returncode == 0 and "SYNTHETIC" in r.stderr.splitlines()[0] and "Traceback" not in r.stderr


# ---------------------------------------------------------------------- errors


BAD_ARGS = [
    (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    (["train", "--loss", "hinge"], "invalid choice: 'hinge'"),
    (["train", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    (["train", "--init", "zeros"], "invalid choice: 'zeros'"),
    (["train", "--arch", "784-x-10"], "malformed"),
    (["train", "--arch", "784"], "malformed"),
    (["train", "--arch", "784-0-10"], "malformed"),
    (["train", "--arch", "100-16-10"], "must start with 784"),
    (["train", "--arch", "784-16-9"], "must end with 10"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--lr", "-0.5"], "--lr"),
    (["train", "--lr", "inf"], "--lr"),
    (["train", "--lr", "fast"], "--lr"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--batch-size", "ten"], "--batch-size"),
    (["train", "--momentum", "1"], "--momentum"),
    (["train", "--weight-decay", "-1e-4"], "--weight-decay"),
    (["train", "--weight-decay", "nan"], "--weight-decay"),
    (["train", "--optimizer", "adam", "--momentum", "0.9"], "momentum"),
    (["train", "--limit-train", "0"], "--limit-train"),
    (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--lr-schedule", "exp"], "invalid choice: 'exp'"),
    (["train", "--no-such-option"], "unrecognized arguments"),
    (["predict", "model.npz"], "--index --random is required"),
    (["predict", "model.npz", "--index", "1", "--random"], "not allowed with"),
    (["predict", "model.npz", "--index", "-1"], "--index"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "choose a command"),
]


@pytest.mark.parametrize("args,message", BAD_ARGS, ids=[" ".join(a) or "nothing" for a, _ in BAD_ARGS])
def test_bad_arguments_are_one_line_usage_errors(args, message, capsys):
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert message in _one_error_line(err) and out == ""


@pytest.mark.parametrize("args,message", [BAD_ARGS[0], BAD_ARGS[4], BAD_ARGS[7], BAD_ARGS[9], BAD_ARGS[13]])
def test_bad_arguments_subprocess(args, message, tmp_path):
    r = _run(args, tmp_path)
    assert r.returncode == 2 and message in _one_error_line(r.stderr)


def test_missing_or_corrupt_model_file(tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(os.urandom(300))
    truncated = tmp_path / "cut.npz"
    assert main(["train", *QUICK, "--limit-train", "100", "--out", str(tmp_path / "good.npz")]) == 0
    truncated.write_bytes((tmp_path / "good.npz").read_bytes()[:-200])
    capsys.readouterr()
    for args in (["eval", str(tmp_path / "missing.npz")], ["eval", str(junk)], ["eval", str(truncated)],
                 ["predict", str(junk), "--index", "0"], ["train", "--resume", str(tmp_path / "missing.npz")],
                 ["eval", str(tmp_path)]):
        assert main(args) == 1, args
        assert str(tmp_path) in _one_error_line(capsys.readouterr().err)
    r = _run(["eval", str(junk)], tmp_path)
    assert r.returncode == 1 and "junk.npz" in _one_error_line(r.stderr)


def test_predict_index_out_of_range(tmp_path, capsys):
    ck = tmp_path / "m.npz"
    assert main(["train", *QUICK, "--limit-train", "100", "--out", str(ck)]) == 0
    capsys.readouterr()
    assert main(["predict", str(ck), "--index", "2000"]) == 2
    assert "out of range" in _one_error_line(capsys.readouterr().err)


def test_resume_keeps_the_runs_settings(tmp_path, capsys):
    ck = tmp_path / "m.npz"
    assert main(["train", *QUICK, "--limit-train", "100", "--out", str(ck)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(ck), "--lr", "0.5"]) == 2
    assert "--lr 0.5 differs" in _one_error_line(capsys.readouterr().err)
    plain = tmp_path / "plain.npz"
    checkpoint.save(tinygrad_mlp.nn.MLP([784, 10]), plain)
    assert main(["train", "--resume", str(plain)]) == 1
    assert "cannot be resumed" in _one_error_line(capsys.readouterr().err)


def test_nan_guard_keeps_the_good_checkpoint(tmp_path, capsys):
    ck = tmp_path / "m.npz"
    base = ["train", *QUICK, "--activation", "identity", "--loss", "cross_entropy", "--out", str(ck)]
    assert main([*base, "--lr", "0.01"]) == 0
    before = hashlib.sha256(ck.read_bytes()).hexdigest()
    capsys.readouterr()
    assert main([*base, "--lr", "1e6"]) == 1
    out, err = capsys.readouterr()
    line = _one_error_line(err)
    assert "diverged" in line and "smaller learning rate" in line and str(ck) in line
    assert "epoch   1/1" not in out  # stopped within the first epoch
    assert hashlib.sha256(ck.read_bytes()).hexdigest() == before
    assert main(["eval", str(ck)]) == 0  # still a good, loadable model


# ---------------------------------------------------------------------- Ctrl-C, SIGTERM and --resume


INTERRUPTIBLE = ["train", "--dataset", "synthetic", "--arch", "784-16-10", "--limit-train", "2000", "--epochs", "15",
                 "--batch-size", "10", "--no-progress"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "ref.npz"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data.synthetic, "load_synthetic", _synthetic)
        assert main([*INTERRUPTIBLE, "--out", str(out)]) == 0
    return checkpoint.load(out)


# The command as the console script runs it, with one addition: a training callback that sends the process a real
# signal at a chosen step, so that every run is interrupted mid-epoch on purpose (a signal sent from outside
# after some delay used to arrive after the run had finished, once training got faster).
_SIGNAL_AT = ("import os, runpy, sys\n"
              "from tinygrad_mlp.cli import train as command\n"
              "from tinygrad_mlp.train import Callback\n"
              "signum, epoch, step = map(int, sys.argv[1:4])\n"
              "class SignalAt(Callback):\n"
              "    def on_step_end(self, e, s, loss):\n"
              "        if (e, s) == (epoch, step):\n"
              "            os.kill(os.getpid(), signum)\n"
              "fit = command.fit\n"
              "command.fit = lambda *a, callbacks=(), **k: fit(*a, callbacks=[*callbacks, SignalAt()], **k)\n"
              "sys.argv = ['tinygrad-mlp', *sys.argv[4:]]\n"
              "runpy.run_module('tinygrad_mlp', run_name='__main__', alter_sys=True)\n")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_real_signal_then_resume_matches_uninterrupted_run(tmp_path, signum, uninterrupted, capsys):
    ck = tmp_path / "run $(touch pwned) it's.npz"  # the resume hint must survive being pasted into a shell
    proc = subprocess.run([sys.executable, "-c", _SIGNAL_AT, str(int(signum)), "2", "37", *INTERRUPTIBLE, "--out",
                           str(ck)], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not inherited ignored
    err = proc.stderr
    assert proc.returncode == 128 + signum, (proc.returncode, err)
    assert "Traceback" not in err and "epoch   1/15" in proc.stdout and "epoch   2/15" not in proc.stdout
    msg = err.strip().splitlines()
    assert len(msg) == 1 and signal.Signals(signum).name in msg[0] and f"saved to {ck}" in msg[0]
    hint = msg[0].split("resume with: ")[1]
    assert shlex.split(hint) == ["tinygrad-mlp", "train", "--resume", str(ck)]
    state = checkpoint.load(ck).metadata["train_state"]
    assert not state["complete"] and (state["epoch"], state["step"]) == (1, 37)  # mid-epoch 2, after its step 37
    done = state["epoch"]

    assert main(["train", "--resume", str(ck), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and f"epoch {done + 1:>3}/15" in out and f"epoch {done:>3}/15" not in out
    resumed = checkpoint.load(ck)
    assert resumed.params.keys() == uninterrupted.params.keys()
    for name, value in uninterrupted.params.items():
        assert np.array_equal(resumed.params[name], value), name  # bit for bit
    assert [(h["train_loss"], h["test_accuracy"]) for h in resumed.metadata["history"]] == \
           [(h["train_loss"], h["test_accuracy"]) for h in uninterrupted.metadata["history"]]


def test_help_and_version_via_python_m(tmp_path):
    r = _run(["--help"], tmp_path)
    assert r.returncode == 0 and "train" in r.stdout and "eval" in r.stdout and "predict" in r.stdout
    r = _run(["train", "--help"], tmp_path)
    assert r.returncode == 0 and "--resume" in r.stdout and "xavier" in r.stdout
    r = _run(["--version"], tmp_path)
    assert r.returncode == 0 and tinygrad_mlp.__version__ in r.stdout


# ---------------------------------------------------------------------- real MNIST


@pytest.mark.skipif(not HAVE_MNIST, reason=f"MNIST not found (set {data.DATA_ENV} to a folder with the four files)")
def test_real_mnist_relu_network_one_epoch(tmp_path):
    # A subprocess, to pin BLAS to one thread: on a busy 2-core machine OpenBLAS's threads make these small
    # matrix products ~10x slower. One epoch of the 784-128-64-10 ReLU network with Adam is then a few seconds.
    metrics = tmp_path / "metrics.json"
    args = ["train", "--dataset", "mnist", "--data-dir", MNIST_DIR, "--no-download", "--arch", "784-128-64-10",
            "--activation", "relu", "--loss", "cross_entropy", "--optimizer", "adam", "--lr", "1e-3",
            "--batch-size", "128", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "m.npz"),
            "--metrics-json", str(metrics)]
    r = subprocess.run([sys.executable, "-m", "tinygrad_mlp", *args], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300, env=_env(tmp_path, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                                             MKL_NUM_THREADS="1"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    m = json.loads(metrics.read_text())
    assert m["dataset"] == "mnist" and "60000 training / 10000 test" in r.stdout
    assert m["test_accuracy"] >= 0.90, m["test_accuracy"]
