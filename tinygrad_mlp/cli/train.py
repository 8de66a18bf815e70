"""``tinygrad-mlp train``: train an MLP and save it, resumable after Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import shlex
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .. import checkpoint, runs
from .._guard import atomic_write, check_writable, exclusive_lock
from ..errors import CheckpointError
from ..learning import divergence_hint, plateau_hint, starting_loss
from ..nn import INITS, MLP, functional
from ..train import (
    OPTIMIZERS,
    SCHEDULES,
    TrainingDiverged,
    TrainingInterrupted,
    build_optimizer,
    build_scheduler,
    evaluate,
    fit,
)
from ..version import __version__
from . import options as o

__all__: list[str] = []  # internal: tinygrad_mlp.cli re-exports what is public


def add_train(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train an MLP and save it (default: the notes' 784-16-16-10 sigmoid network)",
        description="Train an MLP with mini-batch gradient descent and save it as a checkpoint. With no options: "
                    "the lesson notes' network (784-16-16-10, sigmoid, quadratic cost, SGD lr 3.0, mini-batches "
                    "of 10, 30 epochs). Ctrl-C (or SIGTERM) saves the run at the last completed step; "
                    "--resume continues it exactly.")
    _add_model_options(p)
    o.add_data_options(p, None, "default auto")
    p.add_argument("--limit-train", type=o.int_at_least(1), metavar="N",
                   help="use only the first N training images (quick runs)")
    p.add_argument("--out", metavar="PATH", help="checkpoint to write, after every epoch and on Ctrl-C "
                                                 "(default model.npz; with --resume: the resumed file)")
    p.add_argument("--metrics-json", metavar="PATH", help="also write the settings, results and per-epoch history")
    p.add_argument("--resume", metavar="CKPT", help="continue the run saved in CKPT (same settings and data order)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out or --metrics-json even when it is not a checkpoint or metrics "
                        "file of tinygrad-mlp (without it, such a file is never overwritten)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal anyway)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--no-compile", action="store_const", dest="compile", const=False, default="numpy",
                     help="run every step eagerly instead of replaying the captured step (the same results, "
                          "slower; see docs/compile.md)")
    how.add_argument("--compile", choices=["numpy", "native"], default="numpy",
                     help="how the captured step is replayed: numpy (default; bit for bit eager mode) or native "
                          "(the step as one C function, built with the system's C compiler: faster, equal up to "
                          "float rounding; says so and uses numpy where it cannot); see docs/compile.md")
    o.add_plot_option(p)
    o.add_threads_option(p)
    p.set_defaults(func=run_train)


def _add_model_options(p) -> None:
    d = runs.TRAIN_DEFAULTS
    p.add_argument("--arch", help=f"layer widths, input first (default {d['arch']})")
    p.add_argument("--activation", choices=sorted(functional.ACTIVATIONS),
                   help=f"hidden-layer activation (default {d['activation']})")
    p.add_argument("--loss", choices=[*functional.LOSSES, *functional.LOSS_ALIASES],
                   help="mse: the notes' quadratic cost, sigmoid outputs; cross_entropy (ce): softmax "
                        f"cross-entropy on raw logits (default {d['loss']})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"(default {d['optimizer']})")
    p.add_argument("--lr", type=o.positive_float, help=f"learning rate (default {d['lr']})")
    p.add_argument("--momentum", type=o.momentum, help="SGD momentum in [0, 1) (default 0)")
    p.add_argument("--weight-decay", type=o.non_negative_float, metavar="L2",
                   help="L2 regularisation: L2 * w is added to every parameter's gradient (default 0). The notes' "
                        "network reaches 95%% on MNIST with --weight-decay 1e-4 --lr-schedule cosine (see README)")
    p.add_argument("--lr-schedule", choices=SCHEDULES,
                   help="none: constant lr (default, as in the notes); cosine: anneal lr to 0 over the epochs")
    p.add_argument("--batch-size", type=o.int_at_least(1),
                   help=f"mini-batch size (default {d['batch_size']})")
    p.add_argument("--epochs", type=o.int_at_least(1),
                   help=f"passes over the training data (default {d['epochs']}; with --resume: the new total)")
    p.add_argument("--seed", type=o.seed, help="seeds the initial weights and the data order (default 0)")
    p.add_argument("--init", choices=sorted(INITS),
                   help="initial weights (default: xavier, or he with --activation relu). normal: N(0, 1) for "
                        "every weight and bias, the classic choice for this network, but with 784 inputs the first "
                        "layer's sums have a standard deviation near 9, so most sigmoids start saturated (and exp "
                        "overflows); xavier: uniform with variance 2/(fan_in+fan_out) and zero biases, made for "
                        "sigmoid/tanh units, keeps them in their sensitive range; he: variance 2/fan_in, made for "
                        "relu. docs/tutorial.md compares normal and xavier")


def _settings(args) -> tuple[dict, checkpoint.Checkpoint | None]:
    """The run's settings: defaults < command line; for --resume, the checkpoint's (plus a new --epochs)."""
    given = {k: getattr(args, k) for k in runs.TRAIN_DEFAULTS}
    if not args.resume:
        with o.as_usage():
            return runs.new_run(given), None
    ck = checkpoint.load(args.resume)
    with o.as_usage():
        return runs.resume_run(ck, given, args.resume), ck


def _check_outputs(args, out: str) -> None:
    """--out, --metrics-json and --plot are checked before any data is loaded or any epoch is run: writable, and
    an existing file is replaced only when it is what would be written there (or with --force)."""
    check_writable(out, "--out")
    o.check_overwrite(out, "--out", checkpoint.is_checkpoint, "a checkpoint of tinygrad-mlp", args.force)
    if args.metrics_json:
        if Path(args.metrics_json).resolve() == Path(out).resolve():
            raise o.UsageError(f"--metrics-json {args.metrics_json} is the checkpoint itself (--out)")
        check_writable(args.metrics_json, "--metrics-json")
        o.check_overwrite(args.metrics_json, "--metrics-json", o.is_metrics_file, "a metrics file of tinygrad-mlp",
                          args.force)
    if args.plot is not None:
        o.check_folder(args.plot or o.plot_folder(out), "--plot")


def run_train(args) -> int:
    settings, resumed = _settings(args)
    out = args.out or args.resume or "model.npz"
    _check_outputs(args, out)
    o.check_fits(runs.train_bytes(settings), f"training MLP {'-'.join(map(str, settings['sizes']))} with "
                                             f"mini-batches of {settings['batch_size']}")
    seconds = runs.train_seconds(settings)
    if seconds > MAX_SECONDS:
        raise o.UsageError(f"this run would take about {o.duration(seconds)}; at most {o.duration(MAX_SECONDS)} is "
                           "allowed: use fewer --epochs or a smaller --arch")
    with exclusive_lock(out, "a training checkpoint"):
        return _run(args, settings, resumed, out)


def _data(args, settings: dict, resumed) -> tuple:
    """The run's data: a resumed run reloads exactly what it was trained on."""
    loaded = o.load_dataset(settings["dataset"], args.data_dir, settings.get("synthetic"), not args.no_download)
    x_train, y_train, x_test, y_test = loaded.arrays
    if settings["limit_train"] is not None:
        x_train, y_train = x_train[:settings["limit_train"]], y_train[:settings["limit_train"]]
    if x_train.shape[1] != settings["sizes"][0]:
        raise o.UsageError(f"--arch starts with {settings['sizes'][0]} but the {loaded.name} images have "
                           f"{x_train.shape[1]} pixels")
    if resumed is None:
        settings.update(dataset=loaded.name, dataset_requested=settings["dataset"], synthetic=loaded.synthetic)
    return (x_train, y_train, x_test, y_test), loaded


def _model(args, settings: dict, resumed) -> MLP:
    sizes = settings["sizes"]
    if resumed is not None:
        model = resumed.build_model()
        if model.sizes != sizes:
            raise CheckpointError(f"{args.resume}: its weights ({model.sizes}) do not match its settings ({sizes})")
        return model
    output_activation = None if settings["loss"] == "cross_entropy" else "sigmoid"
    return MLP(sizes, settings["activation"], output_activation, init=settings["init"], seed=settings["seed"])


def _banner(mode: str, model: MLP, settings: dict, used: str, counts: tuple[int, int], out: str) -> tuple[str, str]:
    s = settings
    first = (f"{mode} MLP {'-'.join(map(str, s['sizes']))} ({s['activation']} hidden, "
             f"{model.output_activation or 'linear'} output, {model.num_parameters():,} parameters) on {used}: "
             f"{counts[0]} training / {counts[1]} test images")
    second = (f"loss {s['loss']}, {s['optimizer']} lr {s['lr']:g}"
              + (f" momentum {s['momentum']:g}" if s["momentum"] else "")
              + (f" weight decay {s['weight_decay']:g}" if s.get("weight_decay") else "")
              + (f" ({s['lr_schedule']} schedule)" if s.get("lr_schedule", "none") != "none" else "")
              + f", batch {s['batch_size']}, {o.plural(s['epochs'], 'epoch')}, init {s['init']}, "
                f"seed {s['seed']}; checkpoint {out}")
    return first, second


@contextlib.contextmanager
def _one_line_warnings() -> Iterator[None]:
    """A warning while training (such as --compile native falling back to numpy) said in one line, not two."""
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *_, **__: o.say(f"{o.PROG}: WARNING: {message}", err=True)
        yield


def _epoch_reporter(model: MLP, x_train: np.ndarray, y_train: np.ndarray, settings: dict, out: str):
    """The callback printing each epoch's line, the plateau hint once, and stopping a diverged run (exit 1)."""
    losses: list[float] = []
    hinted: list[bool] = []
    # the yardstick is the untrained network of these settings, also for a resumed run
    start = starting_loss(_model(None, settings, None), x_train[:1000], y_train[:1000], settings["loss"])

    def on_epoch(record: dict) -> None:
        o.say(f"epoch {record['epoch']:>3}/{settings['epochs']}  train loss {record['train_loss']:.4f}  "
              f"test accuracy {o.format_acc(record['test_accuracy'])}  {record['seconds']:.1f} s")
        losses.append(float(record["train_loss"]))
        diverged = divergence_hint(losses, start)
        if diverged:
            raise TrainingDiverged(f"{diverged}; epoch {record['epoch']} was saved to {out} (resuming it would "
                                   "not help)", epoch=record["epoch"], step=-1, loss=losses[-1], checkpoint=out)
        hint = None if hinted else plateau_hint(model, x_train, losses, record.get("test_accuracy"))
        if hint:
            hinted.append(True)
            o.say(hint + f" (see '{o.PROG} lab')")

    return on_epoch


def _run(args, settings: dict, resumed: checkpoint.Checkpoint | None, out: str) -> int:
    (x_train, y_train, x_test, y_test), loaded = _data(args, settings, resumed)
    used = loaded.name
    model = _model(args, settings, resumed)
    optimizer = build_optimizer(settings["optimizer"], model.parameters(), settings["lr"], settings["momentum"],
                                settings.get("weight_decay", 0.0))
    scheduler = build_scheduler(settings.get("lr_schedule", "none"), optimizer, settings["epochs"])
    mode = "resuming" if resumed is not None else "training"
    o.say(*_banner(mode, model, settings, used, (len(y_train), len(y_test)), out))
    seconds = runs.train_seconds(settings)
    if seconds > 120:
        o.say(f"(this will take about {o.duration(seconds)}; Ctrl-C saves the run, --resume continues it)")
    if resumed is not None and resumed.metadata["train_state"].get("complete") and \
            resumed.metadata["train_state"]["epoch"] >= settings["epochs"]:
        o.say(f"{args.resume} has already trained {resumed.metadata['train_state']['epoch']} epochs; "
              f"pass --epochs with a larger total to train on")
    meta = {"settings": settings, "dataset": used, "parameters": model.num_parameters()}
    result = _fit(args, (model, optimizer, scheduler), (x_train, y_train, x_test, y_test), resumed, meta, out)
    with np.errstate(over="ignore"):
        final = evaluate(model, x_test, y_test)
    o.say(f"done: test accuracy {o.format_acc(final.accuracy)} on {o.dataset_words(loaded)} after "
          f"{o.plural(settings['epochs'], 'epoch')}, {result.train_seconds:.1f} s of training; saved {out}")
    if args.metrics_json:
        _write_metrics(args, meta, model, final, result, out)
    if args.plot is not None:
        o.plot(args.plot or o.plot_folder(out), model, x_test, y_test, result.history)
    return 0


MAX_SECONDS = 30 * 86400.0  # a run the estimate puts beyond a month is a typo (--epochs 1e9), refused up front


def _fit(args, trio: tuple, arrays: tuple, resumed, meta: dict, out: str):
    """:func:`tinygrad_mlp.train.fit` as the command runs it; Ctrl-C's message says how to resume (shell-quoted)."""
    model, optimizer, scheduler = trio
    x_train, y_train, x_test, y_test = arrays
    settings = meta["settings"]
    try:
        # numpy's overflow warnings say nothing the NaN guard does not say better (and a sigmoid's exp
        # overflowing to 0 or 1 is harmless), so they are silenced while training
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), _one_line_warnings():
            return fit(model, optimizer, settings["loss"], x_train, y_train, x_test, y_test,
                       epochs=settings["epochs"], batch_size=settings["batch_size"], seed=settings["seed"],
                       progress=False if args.no_progress else None, checkpoint=out,
                       callbacks=[_epoch_reporter(model, x_train, y_train, settings, out)],
                       scheduler=scheduler, resume=resumed, metadata=meta, compile=args.compile)
    except TrainingInterrupted as e:
        if e.checkpoint:
            raise TrainingInterrupted(f"{e}; resume with: {o.PROG} train --resume {shlex.quote(e.checkpoint)}",
                                      signum=e.signum, epoch=e.epoch, step=e.step,
                                      steps_per_epoch=e.steps_per_epoch, checkpoint=e.checkpoint) from None
        raise


def _write_metrics(args, meta: dict, model: MLP, final, result, out: str) -> None:
    settings = meta["settings"]
    metrics = {"test_accuracy": final.accuracy, "per_class_accuracy": _nan_to_none(final.per_class),
               "confusion_matrix": final.confusion.tolist(), "train_loss": result.train_loss,
               "epochs": settings["epochs"], "train_seconds": result.train_seconds, "steps": result.steps,
               "dataset": meta["dataset"], "parameters": meta["parameters"], "settings": settings,
               "model": model.config(), "history": result.history, "checkpoint": str(out),
               "resumed_from": args.resume, "library_version": __version__}
    text = (json.dumps(metrics, indent=1) + "\n").encode()
    atomic_write(args.metrics_json, lambda f: f.write(text), "the metrics")


def _nan_to_none(a: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in a]
