"""The training loop: ``fit``, ``evaluate`` and ``predict``, with checkpoints that survive NaNs and Ctrl-C.

>>> from tinygrad_mlp.nn import MLP
>>> from tinygrad_mlp.optim import SGD
>>> from tinygrad_mlp.data import load_synthetic
>>> x, y, xt, yt = load_synthetic(2000, 500)
>>> model = MLP([784, 16, 16, 10])                    # the notes' network
>>> result = fit(model, SGD(model.parameters(), lr=3.0), "mse", x, y, xt, yt,
...              epochs=2, batch_size=10, progress=False)   # doctest: +SKIP
>>> result.history[-1]["test_accuracy"]                       # doctest: +SKIP

One epoch is one pass over the training data in the order a seeded
:class:`~tinygrad_mlp.data.DataLoader` draws, one optimizer step per
mini-batch; after it, the test set is scored under ``no_grad``. Each epoch
appends a record to the history (train loss, test accuracy, seconds,
samples/s, learning rate) and calls the callbacks.

Robustness, when a ``checkpoint`` path is given:

* the model, the optimizer state, the data order and the history are saved
  there after every epoch (atomically: a crash leaves the previous file);
* a NaN or infinite loss stops training with :class:`TrainingDiverged`
  before the step is taken; nothing is saved then, so the file keeps the last
  good epoch (and :func:`save_checkpoint` refuses non-finite weights anyway);
* SIGINT or SIGTERM lets the running step finish, saves the state at that
  step and raises :class:`TrainingInterrupted`. Passing the saved
  ``train_state`` back as ``resume=`` (after loading the weights and the
  optimizer state) continues with the same batches in the same order, so an
  interrupted and resumed run ends with bit-for-bit the weights of an
  uninterrupted one.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import checkpoint as ckpt
from . import jit
from ._schema import is_int, is_number, short
from .data import DataLoader
from .errors import AnomalyError, ArgumentError, CheckpointError, ShapeError, TinygradMLPError
from .nn import Module, functional
from .optim import SGD, Adam, CosineLR, Optimizer
from .tensor_core import Tensor, no_grad

__all__ = [
    "TrainConfig", "FitResult", "Evaluation", "Callback", "TrainingDiverged", "TrainingInterrupted",
    "fit", "evaluate", "predict", "build_optimizer", "build_scheduler", "save_checkpoint", "OPTIMIZERS", "SCHEDULES",
    "TRAIN_STATE_VERSION", "validate_train_metadata",
]

TRAIN_STATE_VERSION = 1


# ---------------------------------------------------------------------- errors


class TrainingDiverged(TinygradMLPError, FloatingPointError):
    """The loss became NaN or infinite; training stopped before that step was applied."""

    def __init__(self, message: str, *, epoch: int, step: int, loss: float, checkpoint: str | None):
        super().__init__(message)
        self.epoch, self.step, self.loss, self.checkpoint = epoch, step, loss, checkpoint


class TrainingInterrupted(TinygradMLPError):
    """SIGINT or SIGTERM arrived; the state after the last completed step was saved to ``checkpoint``."""

    def __init__(self, message: str, *, signum: int, epoch: int, step: int, steps_per_epoch: int,
                 checkpoint: str | None):
        super().__init__(message)
        self.signum, self.epoch, self.step, self.steps_per_epoch = signum, epoch, step, steps_per_epoch
        self.checkpoint = checkpoint

    @property
    def exit_code(self) -> int:
        """The shell's convention for death by this signal: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


# ---------------------------------------------------------------------- configuration and results


@dataclass
class TrainConfig:
    """How to train. ``progress=None`` shows a tqdm bar only when stderr is a terminal."""

    epochs: int = 30
    batch_size: int = 10
    seed: int = 0                       # seeds the data order (the model has its own seed)
    shuffle: bool = True
    eval_batch_size: int = 1000
    progress: bool | None = None
    checkpoint: str | os.PathLike | None = None   # saved after every epoch and on SIGINT/SIGTERM
    handle_signals: bool = True         # trap SIGINT/SIGTERM (main thread only) to save and stop cleanly
    compile: bool | str = True          # replay a captured step (jit.compile): True/"numpy", "native", False

    def __post_init__(self):
        if self.compile not in (True, False, "numpy", "native"):
            raise ArgumentError(f"TrainConfig: compile must be True, False, 'numpy' or 'native', got {self.compile!r}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ArgumentError(f"TrainConfig: {name} must be an integer >= 1, got {value!r}")


@dataclass
class FitResult:
    """What :func:`fit` returns: the per-epoch history and the final numbers."""

    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0          # time spent in epochs (training and scoring), summed over runs when resumed
    steps: int = 0                      # optimizer steps taken in total (all runs)

    @property
    def test_accuracy(self) -> float | None:
        return self.history[-1]["test_accuracy"] if self.history else None

    @property
    def train_loss(self) -> float | None:
        return self.history[-1]["train_loss"] if self.history else None


class Evaluation(NamedTuple):
    """``accuracy`` in [0, 1]; ``per_class`` accuracy (NaN for a class absent from ``y``);
    ``confusion[true, guess]``."""

    accuracy: float
    per_class: np.ndarray
    confusion: np.ndarray


class Callback:
    """Hooks into :func:`fit`. Override what you need; plain functions are taken as ``on_epoch_end``."""

    def on_epoch_end(self, record: dict) -> None:
        """After each epoch (and its checkpoint), with that epoch's history record."""

    def on_step_end(self, epoch: int, step: int, loss: float) -> None:
        """After each optimizer step; ``epoch`` counts from 1, ``step`` from 1 within the epoch."""


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[dict], Any]):
        self.fn = fn

    def on_epoch_end(self, record: dict) -> None:
        self.fn(record)


# ---------------------------------------------------------------------- optimizers by name


OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("none", "cosine")


def build_optimizer(name: str, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                    weight_decay: float = 0.0) -> Optimizer:
    """``"sgd"`` (with optional ``momentum``) or ``"adam"`` (default betas) over ``params``, with optional L2
    ``weight_decay`` (``weight_decay * p`` added to each gradient)."""
    name = name.lower()
    if name == "sgd":
        return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        if momentum:
            raise ArgumentError("momentum applies to SGD only; Adam has its own (betas)")
        return Adam(params, lr=lr, weight_decay=weight_decay)
    raise ArgumentError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def build_scheduler(name: str, optimizer: Optimizer, epochs: int):
    """``"none"`` (None) or ``"cosine"``: the lr annealed from its initial value to 0 along half a cosine over
    ``epochs`` epochs (:class:`~tinygrad_mlp.optim.CosineLR`, stepped by :func:`fit` after each epoch)."""
    if name == "none":
        return None
    if name == "cosine":
        return CosineLR(optimizer, total=epochs)
    raise ArgumentError(f"unknown lr schedule {name!r}; choose one of {', '.join(SCHEDULES)}")


# ---------------------------------------------------------------------- inference


def predict(model: Module, x, *, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs for the rows of ``x`` (a single 1-D input gives a 1-D result), under ``no_grad``."""
    arr = np.asarray(x.data if isinstance(x, Tensor) else x)
    single = arr.ndim == 1
    if single:
        arr = arr[None, :]
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    was_training = getattr(model, "training", True)
    model.eval()
    try:
        with no_grad():
            outs = [model(Tensor(arr[i:i + batch_size])).data for i in range(0, len(arr), batch_size)]
    finally:
        model.train(was_training)
    out = np.concatenate(outs) if outs else np.zeros((0, 0), dtype=np.float32)
    return out[0] if single else out


def evaluate(model: Module, x, y, *, batch_size: int = 1000, num_classes: int | None = None,
             should_stop: Callable[[], bool] | None = None) -> Evaluation:
    """Accuracy, per-class accuracy and the confusion matrix (rows: true class, columns: guess) on ``(x, y)``.

    Scored in batches of ``batch_size`` under ``no_grad``. An empty set (ShapeError) and outputs that are NaN or
    infinite (AnomalyError: argmax would still pick a class) are refused. ``should_stop`` is polled between batches
    (``fit`` uses it to react to Ctrl-C); when it returns True, :class:`_EvalAborted` is raised.
    """
    y = np.asarray(y)
    if len(x) != len(y):
        raise ShapeError(f"evaluate: {len(x)} inputs but {len(y)} labels")
    if len(y) == 0:
        raise ShapeError("evaluate: no examples to score (an empty test set has no accuracy)")
    if num_classes is None:
        sizes = getattr(model, "sizes", None)
        num_classes = int(sizes[-1]) if sizes else int(y.max()) + 1 if y.size else 10
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for i in range(0, len(y), batch_size):
        if should_stop is not None and should_stop():
            raise _EvalAborted
        outputs = predict(model, x[i:i + batch_size], batch_size=batch_size)
        if not np.isfinite(outputs).all():  # argmax would pick a class anyway: a silent wrong answer
            bad = int(np.sum(~np.isfinite(outputs).all(axis=1)))
            raise AnomalyError(f"evaluate: the model's outputs are NaN or infinite for {bad} of examples "
                               f"{i}..{i + len(outputs) - 1} (its weights are finite but overflow float arithmetic); "
                               "no accuracy can be given")
        guesses = outputs.argmax(axis=1)
        np.add.at(confusion, (y[i:i + batch_size], guesses), 1)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.diag(confusion) / totals
    accuracy = float(np.trace(confusion) / max(len(y), 1))
    return Evaluation(accuracy, per_class, confusion)


class _EvalAborted(Exception):
    pass


# ---------------------------------------------------------------------- checkpoints


def _all_finite(model: Module) -> bool:
    return all(np.isfinite(p.data).all() for p in model.parameters())


def save_checkpoint(path, model: Module, optimizer: Optimizer | None = None, **metadata) -> Path:
    """:func:`checkpoint.save`, refusing a model with NaN or infinite weights (so a good file is never replaced)."""
    if not _all_finite(model):
        raise TrainingDiverged(f"refusing to save {path}: the model has NaN or infinite weights",
                               epoch=-1, step=-1, loss=float("nan"), checkpoint=str(path))
    return ckpt.save(model, path, optimizer=optimizer, **metadata)


# ---------------------------------------------------------------------- signals


class _SignalTrap:
    """While active, SIGINT/SIGTERM only set ``signum``; the loop checks it at safe points (a second SIGINT
    raises ``KeyboardInterrupt`` at once, for a step or a save that takes too long)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, enabled: bool):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signum: int | None = None
        self._previous: dict = {}

    def _handler(self, signum, frame) -> None:
        if self.signum is None:
            self.signum = signum
        elif signum == signal.SIGINT:  # a second Ctrl-C: stop now (a save in progress is atomic, so nothing breaks)
            raise KeyboardInterrupt

    def __enter__(self) -> _SignalTrap:
        if self.enabled:
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous.clear()


# ---------------------------------------------------------------------- the loop


def _make_loader(x, y, batch_size: int, shuffle: bool, seed: int):
    return DataLoader(x, y, batch_size, shuffle=shuffle, seed=seed, drop_last=False)


def _callbacks(callbacks: Sequence) -> list[Callback]:
    out = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(_FunctionCallback(cb))
        else:
            raise ArgumentError(f"fit: a callback must be a Callback or a function of the epoch record, got {cb!r}")
    return out


def _progress_bar(enabled: bool, total: int, initial: int, epoch: int, epochs: int):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False,
                file=sys.stderr, dynamic_ncols=True, mininterval=0.2)


def fit(model: Module, optimizer: Optimizer, loss_fn, x_train, y_train, x_test=None, y_test=None,
        config: TrainConfig | None = None, *, callbacks: Sequence = (), scheduler=None, resume=None,
        metadata: dict | None = None, **settings) -> FitResult:
    """Train ``model`` with ``optimizer`` on ``(x_train, y_train)`` for ``config.epochs`` epochs.

    ``loss_fn`` is a function ``(outputs, labels) -> scalar Tensor`` or a name ("mse",
    "cross_entropy"). ``x_*`` are float arrays (n, features), ``y_*`` integer labels; the
    test set is optional. Settings come from ``config`` (a :class:`TrainConfig`) and/or
    keyword overrides (``fit(..., epochs=3, batch_size=32)``). ``callbacks`` are
    :class:`Callback` objects or functions called with each epoch's record. ``scheduler``
    (e.g. :class:`~tinygrad_mlp.optim.CosineLR`) is stepped after every epoch.
    ``metadata`` (JSON-serialisable) is stored in every checkpoint, next to
    ``train_state`` and ``history``.

    ``resume`` continues a saved run: a :class:`~tinygrad_mlp.checkpoint.Checkpoint`
    (its weights and optimizer state are loaded into ``model`` and ``optimizer``) or
    its ``metadata`` dict (then load them yourself). The data, ``batch_size``,
    ``seed`` and ``shuffle`` must be the ones of the saved run; ``epochs`` may be
    larger, to train on.

    Raises :class:`TrainingDiverged` on a NaN/inf loss and :class:`TrainingInterrupted`
    on SIGINT/SIGTERM (after saving, when ``config.checkpoint`` is set).
    """
    cfg = TrainConfig(**{**(asdict(config) if config else {}), **settings})
    if isinstance(loss_fn, str):
        loss_fn = functional.loss(loss_fn)
    x_train = np.asarray(x_train)
    y_train = np.asarray(y_train)
    if len(x_train) != len(y_train) or len(x_train) == 0:
        raise ShapeError(f"fit: need as many labels as inputs, and at least one; got {len(x_train)} and {len(y_train)}")
    has_test = x_test is not None and y_test is not None and len(y_test) > 0
    callbacks = _callbacks(callbacks)
    step_hooks = [cb for cb in callbacks if type(cb).on_step_end is not Callback.on_step_end]
    progress = sys.stderr.isatty() if cfg.progress is None else bool(cfg.progress)
    ckpt_path = None if cfg.checkpoint is None else str(cfg.checkpoint)
    metadata = {k: v for k, v in (metadata or {}).items() if k not in ("train_state", "history")}

    loader = _make_loader(x_train, y_train, cfg.batch_size, cfg.shuffle, cfg.seed)
    steps_per_epoch = len(loader)
    run_info = {"n_train": len(x_train), "batch_size": int(cfg.batch_size), "seed": int(cfg.seed),
                "shuffle": bool(cfg.shuffle), "steps_per_epoch": int(steps_per_epoch)}

    # Where we are: `epoch` (0-based) is the epoch in progress and `step` how many of its steps are done.
    # The loader knows the same position (its state holds the epoch's shuffling seed state and next batch).
    history: list[dict] = []
    epoch, step, global_step, spent = 0, 0, 0, 0.0
    loss_sum, samples, epoch_train_seconds = 0.0, 0, 0.0
    if resume is not None:
        state, history = _resume(resume, run_info, model, optimizer)
        epoch, step, global_step = int(state["epoch"]), int(state["step"]), int(state["global_step"])
        spent, loss_sum = float(state["seconds"]), float(state["epoch_loss_sum"])
        samples, epoch_train_seconds = int(state["epoch_samples"]), float(state["epoch_train_seconds"])
        loader.load_state_dict(state["loader"])
        if scheduler is not None:  # the optimizer's lr came back with its state; the schedule resumes its count
            scheduler.epoch = len(history)

    def train_state() -> dict:
        return {"version": TRAIN_STATE_VERSION, **run_info, "epoch": epoch, "step": step,
                "global_step": global_step, "seconds": spent, "epoch_loss_sum": loss_sum,
                "epoch_samples": samples, "epoch_train_seconds": epoch_train_seconds,
                "loader": loader.state_dict(), "epochs": cfg.epochs, "complete": epoch >= cfg.epochs}

    def save() -> None:
        if ckpt_path is not None:
            save_checkpoint(ckpt_path, model, optimizer, **metadata, train_state=train_state(), history=history)

    def interrupted(signum: int) -> TrainingInterrupted:
        where = f"epoch {epoch + 1}, step {step}/{steps_per_epoch}"
        saved = f"saved to {ckpt_path}" if ckpt_path else "nothing saved (no checkpoint path)"
        return TrainingInterrupted(f"interrupted by {signal.Signals(signum).name} at {where}; {saved}",
                                   signum=signum, epoch=epoch + 1, step=step, steps_per_epoch=steps_per_epoch,
                                   checkpoint=ckpt_path)

    def forward_backward(xb, yb) -> Tensor:
        optimizer.zero_grad()
        loss = loss_fn(model(Tensor(xb)), yb)
        loss.backward()
        return loss

    if cfg.compile:  # captured on the first calls and replayed after (bit for bit the same; see docs/compile.md)
        forward_backward = jit.compile(forward_backward, backend="native" if cfg.compile == "native" else "numpy")

    model.train()
    with _SignalTrap(cfg.handle_signals) as trap:
        while epoch < cfg.epochs:
            bar = _progress_bar(progress, steps_per_epoch, step, epoch + 1, cfg.epochs)
            t_start = time.perf_counter() - epoch_train_seconds
            last_post = 0.0
            try:
                # after a resume the loader continues the epoch at batch `step`, in the same order
                for xb, yb in (loader if step < steps_per_epoch else ()):
                    value = forward_backward(xb, yb).item()
                    if not math.isfinite(value):  # checked before the step: the diverged update is never made
                        raise _diverged(value, epoch, step, optimizer, ckpt_path, history)
                    optimizer.step()
                    step += 1
                    global_step += 1
                    loss_sum += value * len(yb)
                    samples += len(yb)
                    for cb in step_hooks:
                        cb.on_step_end(epoch + 1, step, value)
                    if bar is not None:
                        bar.update(1)
                        now = time.perf_counter()
                        if now - last_post > 0.5:
                            last_post = now
                            bar.set_postfix(loss=f"{loss_sum / samples:.4f}",
                                            samples_s=f"{samples / max(now - t_start, 1e-9):,.0f}")
                    if trap.signum is not None:
                        epoch_train_seconds = time.perf_counter() - t_start
                        save()
                        raise interrupted(trap.signum)
            finally:
                if bar is not None:
                    bar.close()
            epoch_train_seconds = time.perf_counter() - t_start

            # Score the test set. A signal here saves "all steps done, scoring pending" (step == steps_per_epoch).
            t_eval = time.perf_counter()
            test_acc = None
            if has_test:
                try:
                    test_acc = evaluate(model, x_test, y_test, batch_size=cfg.eval_batch_size,
                                        should_stop=lambda: trap.signum is not None).accuracy
                except _EvalAborted:
                    save()
                    assert trap.signum is not None  # evaluation is aborted only once a signal has arrived
                    raise interrupted(trap.signum) from None
                finally:
                    model.train()
            eval_seconds = time.perf_counter() - t_eval
            record = {"epoch": epoch + 1, "train_loss": loss_sum / max(samples, 1), "test_accuracy": test_acc,
                      "seconds": epoch_train_seconds + eval_seconds, "train_seconds": epoch_train_seconds,
                      "eval_seconds": eval_seconds,
                      "samples_per_second": samples / epoch_train_seconds if epoch_train_seconds > 0 else None,
                      "lr": float(optimizer.lr), "steps": global_step}
            history.append(record)
            if scheduler is not None:
                scheduler.step()
            spent += epoch_train_seconds + eval_seconds  # record["seconds"]
            epoch, step = epoch + 1, 0
            loss_sum, samples, epoch_train_seconds = 0.0, 0, 0.0
            save()
            for cb in callbacks:
                cb.on_epoch_end(dict(record))
            if trap.signum is not None:
                raise interrupted(trap.signum)
    return FitResult(history=history, train_seconds=spent, steps=global_step)


def _diverged(value: float, epoch: int, step: int, optimizer: Optimizer, ckpt_path: str | None,
              history: list[dict]) -> TrainingDiverged:
    lr = optimizer.lr
    kept = ("no checkpoint was written" if ckpt_path is None
            else f"nothing was written to {ckpt_path}" if not os.path.exists(ckpt_path)
            else f"{ckpt_path} was left as it was" if not history
            else f"the last good checkpoint, {ckpt_path} (after epoch {len(history)}), was kept")
    msg = (f"training diverged: the loss became {value} at epoch {epoch + 1}, step {step + 1} "
           f"with learning rate {lr:g}; try a smaller learning rate (e.g. {lr / 10:g}); {kept}")
    return TrainingDiverged(msg, epoch=epoch + 1, step=step + 1, loss=value, checkpoint=ckpt_path)


_STATE_INTS = {"n_train": 1, "batch_size": 1, "seed": 0, "steps_per_epoch": 1, "epoch": 0, "step": 0,
               "global_step": 0, "epoch_samples": 0, "epochs": 1}       # field: lowest value
_STATE_SECONDS = ("seconds", "epoch_train_seconds")
_MAX_HISTORY = 10**6


_MAX_SECONDS = 1e12  # about 30,000 years of training


def validate_train_metadata(metadata, source: str = "resume") -> dict:
    """Check the ``train_state`` and ``history`` that :func:`fit` stores in a checkpoint's metadata (types,
    ranges, sizes) before any of it is used; returns the ``train_state``. Raises :class:`CheckpointError`
    naming ``source`` (the file) and the field."""
    def bad(field: str, wanted: str, value) -> CheckpointError:
        return CheckpointError(f"{source}: invalid training state: {field} must be {wanted}, got {short(value)}")

    state = metadata.get("train_state") if isinstance(metadata, dict) else None
    if not isinstance(state, dict) or state.get("version") != TRAIN_STATE_VERSION:
        raise CheckpointError(f"{source}: the checkpoint holds no training state this version can continue "
                              "(was it written by fit?)")
    for key, lowest in _STATE_INTS.items():
        value = state.get(key)
        if not is_int(value, lowest, 2**63 - 1):
            raise bad(f"train_state.{key}", f"an integer >= {lowest}", value)
    for key in _STATE_SECONDS:
        value = state.get(key)
        if not is_number(value, lambda v: 0 <= v < _MAX_SECONDS):
            raise bad(f"train_state.{key}", f"a finite number >= 0 (seconds, below {_MAX_SECONDS:g})", value)
    value = state.get("epoch_loss_sum")
    if not is_number(value):
        raise bad("train_state.epoch_loss_sum", "a finite number", value)
    for key in ("shuffle", "complete"):
        if not isinstance(state.get(key), bool):
            raise bad(f"train_state.{key}", "true or false", state.get(key))
    if not isinstance(state.get("loader"), dict):
        raise bad("train_state.loader", "an object", state.get("loader"))
    history = metadata.get("history", [])
    if not isinstance(history, list) or len(history) > _MAX_HISTORY:
        raise bad("history", "a list of epoch records", history)
    for i, record in enumerate(history):
        if not isinstance(record, dict) or not all(
                v is None or isinstance(v, (int, float, str)) for v in record.values()):
            raise bad(f"history[{i}]", "an object of numbers", record)
    return state


def _resume(resume, run_info: dict, model: Module, optimizer: Optimizer) -> tuple[dict, list[dict]]:
    """Check a saved run against this one; load weights and optimizer state when given a Checkpoint."""
    meta = resume.metadata if isinstance(resume, ckpt.Checkpoint) else resume
    state = validate_train_metadata(meta)
    for key, value in run_info.items():
        if state.get(key) != value:
            raise CheckpointError(f"resume: the checkpoint was trained with {key}={state.get(key)!r} but this "
                                       f"run has {key}={value!r}; resuming needs the same data and settings")
    step, loader_state = state.get("step"), state.get("loader")
    if (not isinstance(step, int) or not 0 <= step <= run_info["steps_per_epoch"] or not isinstance(loader_state, dict)
            or (step < run_info["steps_per_epoch"] and loader_state.get("batch") != step)):
        raise CheckpointError(f"resume: inconsistent training state (step {step!r}, loader {loader_state!r:.80})")
    if isinstance(resume, ckpt.Checkpoint):
        model.load_state_dict(resume.params)
        if resume.optimizer is None:
            raise CheckpointError("resume: the checkpoint has no optimizer state")
        if resume.optimizer.get("class") != type(optimizer).__name__:
            raise CheckpointError(f"resume: the checkpoint's optimizer is {resume.optimizer.get('class')}, "
                                       f"not {type(optimizer).__name__}")
        optimizer.load_state_dict(resume.optimizer)
    return state, [dict(r) for r in meta.get("history", [])]

