"""The ``tinygrad-mlp`` command (also ``python -m tinygrad_mlp``): train, eval, predict.

    tinygrad-mlp train                      # the notes' 784-16-16-10 sigmoid net, quadratic cost, SGD lr 3.0
    tinygrad-mlp train --arch 784-128-64-10 --activation relu --loss cross_entropy \\
                       --optimizer adam --lr 1e-3 --batch-size 128 --epochs 10
    tinygrad-mlp eval model.npz
    tinygrad-mlp predict model.npz --index 0
    tinygrad-mlp predict model.npz --random --seed 1

Adding a subcommand: write ``_add_<name>_parser(subparsers)`` (which calls
``subparsers.add_parser`` and ``set_defaults(func=_cmd_<name>)``) and
``_cmd_<name>(args) -> int``, and append the first to :data:`COMMANDS`.
Raise :class:`UsageError` for bad arguments (exit 2) and any other
``TinygradMLPError`` for failures (exit 1): :func:`main` turns them into one
``tinygrad-mlp: error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import _blas, checkpoint, data
from ._guard import atomic_write, check_memory, check_writable, exclusive_lock, human_bytes
from ._interrupt import main_takes_over
from .errors import ArgumentError, CheckpointError, DataNotFoundError, ShapeError, TinygradMLPError
from .nn import INITS, MLP, functional, parse_sizes
from .tensor import Tensor
from .train import (
    OPTIMIZERS,
    SCHEDULES,
    TrainingDiverged,
    TrainingInterrupted,
    build_optimizer,
    build_scheduler,
    evaluate,
    fit,
    predict,
    validate_train_metadata,
)
from .version import __version__

PROG = "tinygrad-mlp"
DATASETS = ("auto", "mnist", "fashion-mnist", "synthetic")
SYNTHETIC = {"n_train": 10000, "n_test": 2000, "seed": 0}  # what --dataset synthetic draws (load_synthetic's defaults)
INPUTS, CLASSES = 784, 10  # every dataset here: 28x28 pixels, 10 classes


class UsageError(TinygradMLPError, ValueError):
    """Bad command-line arguments: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors raise :class:`UsageError` (one line, no usage dump) instead of exiting."""

    def error(self, message: str):
        raise UsageError(message)


# ---------------------------------------------------------------------- argument types


def _float_where(accept: Callable[[float], bool], what: str) -> Callable[[str], float]:
    """An argparse type: a float for which ``accept`` holds, else "must be <what>"."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    return parse


_positive_float = _float_where(lambda v: v > 0 and math.isfinite(v), "a finite number > 0")
_non_negative_float = _float_where(lambda v: v >= 0 and math.isfinite(v), "a finite number >= 0")
_momentum = _float_where(lambda v: 0 <= v < 1, "in [0, 1)")


def _int_in(lowest: int, highest: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= ``lowest`` (and <= ``highest``, when given)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if highest is None and value < lowest:
            raise argparse.ArgumentTypeError(f"must be >= {lowest}, got {value}")
        if highest is not None and not lowest <= value <= highest:
            raise argparse.ArgumentTypeError(f"must be an integer from {lowest} to {highest}, got {value}")
        return value
    return parse


def _int_at_least(lowest: int) -> Callable[[str], int]:
    return _int_in(lowest)


_SEED_MAX = 2**63 - 1
_EXPLAIN_MAX_LAYERS = 50       # explain's text grows with the square of the depth
_PICTURE_FORMATS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps")
_GRAPH_FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")


_seed = _int_in(0, _SEED_MAX)


def _picture_path(text: str, option: str, formats: tuple[str, ...]) -> Path:
    """Check a picture's output path before any work: a known format suffix, not a folder, writable."""
    path = Path(text)
    if path.is_dir():
        raise UsageError(f"{option} {text} is a folder; give a file name ending in {', '.join(formats)}")
    if path.suffix.lower() not in formats:
        got = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise UsageError(f"{option} {text}: unsupported picture format ({got}); end the name with one of "
                         f"{', '.join(formats)}")
    check_writable(path, option)
    return path


def _picture_prefix(text: str, option: str) -> None:
    """A picture prefix (PATH with -something before the suffix; .png without one): its format and folder are
    checked before any work."""
    path = Path(text)
    if path.is_dir():
        raise UsageError(f"{option} {text} is a folder; give a file name such as {path / 'picture.png'}")
    if path.suffix and path.suffix.lower() not in _PICTURE_FORMATS:
        raise UsageError(f"{option} {text}: unsupported picture format ('{path.suffix}'); end the name with one "
                         f"of {', '.join(_PICTURE_FORMATS)}")
    check_writable(path, option)


def _check_folder(text: str, option: str) -> None:
    """A folder that pictures will be written into: creatable and writable, checked before any work."""
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {text} exists and is not a folder")
    check_writable(folder / "weights.png", option)


def _mlp_bytes(sizes: list[int], batch: int, itemsize: int = 4, optimizer_copies: int = 0) -> int:
    """About the memory a model of ``sizes`` takes to train on mini-batches of ``batch``: the parameters, their
    gradients, the optimizer's buffers and the initialisation's float64 draws, plus a few arrays per layer and
    example (pre-activations, activations and their gradients)."""
    params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    return params * (itemsize * (2 + optimizer_copies) + 8) + 4 * batch * sum(sizes) * itemsize


def _check_fits(nbytes: int, what: str) -> None:
    check_memory(nbytes, what, UsageError)


def parse_arch(text: str) -> list[int]:
    """``"784-16-16-10"`` -> ``[784, 16, 16, 10]``; the first width must be 784 and the last 10."""
    try:
        sizes = parse_sizes(text, "--arch")
    except ShapeError as e:
        raise UsageError(str(e)) from None
    if sizes[0] != INPUTS:
        raise UsageError(f"--arch {text!r} must start with {INPUTS}: the images have 28x28 = {INPUTS} pixels")
    if sizes[-1] != CLASSES:
        raise UsageError(f"--arch {text!r} must end with {CLASSES}: one output per class (digit)")
    return sizes


# ---------------------------------------------------------------------- data


def _say(*lines: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    for line in lines:
        print(line, file=stream, flush=True)


def load_dataset(name: str, data_dir: str | None = None, synthetic: dict | None = None,
                 download: bool = True) -> tuple[tuple[np.ndarray, ...], str, dict | None]:
    """``(x_train, y_train, x_test, y_test), name actually used, synthetic parameters or None``.

    ``auto`` is MNIST when it can be found (``data_dir``, ``$TINYGRAD_MLP_DATA``, the cache) or downloaded,
    and otherwise (the files are absent: not when one is damaged, which is an error naming it) the synthetic
    digits, announced by a banner line on stderr naming the folders searched and why the download failed. ``mnist`` and
    ``fashion-mnist`` never fall back: their absence is a :class:`DataError`.
    """
    synthetic = dict(SYNTHETIC, **(synthetic or {}))
    if name == "synthetic":
        return data.load_synthetic(**synthetic), "synthetic", synthetic
    if name in ("mnist", "fashion-mnist"):
        return data.load_mnist(root=data_dir, download=download, kind=name), name, None
    if name != "auto":
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    try:
        return data.load_mnist(root=data_dir, download=download, kind="mnist"), "mnist", None
    except DataNotFoundError as e:  # absent: fall back, loudly; a damaged file is an error (not caught here)
        reason = " ".join(str(e).split()).split(" To supply the files by hand")[0].rstrip(". ")
        _say(f"{PROG}: WARNING: MNIST is not available ({reason}); using the SYNTHETIC digits instead, so the "
             f"accuracies below are NOT MNIST results. Put the MNIST files in a folder and set "
             f"{data.DATA_ENV} or pass --data-dir, or use --dataset mnist to require them.", err=True)
        return data.load_synthetic(**synthetic), "synthetic", synthetic


def _data_dir(text: str) -> str:
    if not Path(text).expanduser().is_dir():
        what = "is not a folder" if Path(text).expanduser().exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}")
    return text


def _add_data_options(p: argparse.ArgumentParser, default: str | None, help_default: str) -> None:
    p.add_argument("--dataset", choices=DATASETS, default=default,
                   help=f"auto: MNIST if found or downloadable, else synthetic digits (announced); mnist / "
                        f"fashion-mnist: required, never replaced; synthetic: drawn digits, offline ({help_default})")
    p.add_argument("--data-dir", metavar="DIR", type=_data_dir,
                   help=f"folder with the four MNIST files (default: ${data.DATA_ENV}, then the download cache)")
    p.add_argument("--no-download", action="store_true",
                   help="never download MNIST: use the files found locally (auto then falls back at once)")


# ---------------------------------------------------------------------- train


TRAIN_DEFAULTS = {
    "arch": "784-16-16-10", "activation": "sigmoid", "loss": "mse", "optimizer": "sgd", "lr": 3.0,
    "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "none", "batch_size": 10, "epochs": 30, "seed": 0,
    "init": None, "dataset": "auto", "limit_train": None,
}
# Settings that define a run: a resumed run takes them from its checkpoint (only --epochs may change).
RUN_SETTINGS = ("arch", "activation", "loss", "optimizer", "lr", "momentum", "weight_decay", "lr_schedule",
                "batch_size", "seed", "init", "dataset", "limit_train")


def _add_train_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train an MLP and save it (default: the notes' 784-16-16-10 sigmoid network)",
        description="Train an MLP with mini-batch gradient descent and save it as a checkpoint. With no options: "
                    "the lesson notes' network (784-16-16-10, sigmoid, quadratic cost, SGD lr 3.0, mini-batches "
                    "of 10, 30 epochs). Ctrl-C (or SIGTERM) saves the run at the last completed step; "
                    "--resume continues it exactly.")
    d = TRAIN_DEFAULTS
    p.add_argument("--arch", help=f"layer widths, input first (default {d['arch']})")
    p.add_argument("--activation", choices=sorted(functional.ACTIVATIONS),
                   help=f"hidden-layer activation (default {d['activation']})")
    p.add_argument("--loss", choices=["mse", "cross_entropy", "ce"],
                   help="mse: the notes' quadratic cost, sigmoid outputs; cross_entropy (ce): softmax "
                        f"cross-entropy on raw logits (default {d['loss']})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"(default {d['optimizer']})")
    p.add_argument("--lr", type=_positive_float, help=f"learning rate (default {d['lr']})")
    p.add_argument("--momentum", type=_momentum, help="SGD momentum in [0, 1) (default 0)")
    p.add_argument("--weight-decay", type=_non_negative_float, metavar="L2",
                   help="L2 regularisation: L2 * w is added to every parameter's gradient (default 0). The notes' "
                        "network reaches 95%% on MNIST with --weight-decay 1e-4 --lr-schedule cosine (see README)")
    p.add_argument("--lr-schedule", choices=SCHEDULES,
                   help="none: constant lr (default, as in the notes); cosine: anneal lr to 0 over the epochs")
    p.add_argument("--batch-size", type=_int_at_least(1),
                   help=f"mini-batch size (default {d['batch_size']})")
    p.add_argument("--epochs", type=_int_at_least(1),
                   help=f"passes over the training data (default {d['epochs']}; with --resume: the new total)")
    p.add_argument("--seed", type=_seed, help="seeds the initial weights and the data order (default 0)")
    p.add_argument("--init", choices=sorted(INITS),
                   help="initial weights (default: xavier, or he with --activation relu). normal: N(0, 1) for "
                        "every weight and bias, the classic choice for this network, but with 784 inputs the first "
                        "layer's sums have a standard deviation near 9, so most sigmoids start saturated (and exp "
                        "overflows); "
                        "xavier: uniform with variance 2/(fan_in+fan_out) and zero biases, made for sigmoid/tanh "
                        "units, keeps them in their sensitive range; he: variance 2/fan_in, made for relu. Measured "
                        "on MNIST with the other defaults (seed 0): after 1 epoch normal 89.2%%, xavier 90.2%%, he "
                        "91.3%%; after 30 epochs 92.8%%, 93.8%%, 94.1%%, differences near seed-to-seed noise "
                        "(about 0.7%%)")
    _add_data_options(p, None, "default auto")
    p.add_argument("--limit-train", type=_int_at_least(1), metavar="N",
                   help="use only the first N training images (quick runs)")
    p.add_argument("--out", metavar="PATH", help="checkpoint to write, after every epoch and on Ctrl-C "
                                                 "(default model.npz; with --resume: the resumed file)")
    p.add_argument("--metrics-json", metavar="PATH", help="also write the settings, results and per-epoch history")
    p.add_argument("--resume", metavar="CKPT", help="continue the run saved in CKPT (same settings and data order)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal anyway)")
    p.add_argument("--no-compile", action="store_true",
                   help="run every step eagerly instead of replaying the captured step (the same results, "
                        "slower; see docs/compile.md)")
    _add_plot_option(p)
    _add_threads_option(p)
    p.set_defaults(func=_cmd_train)


def _train_settings(args) -> tuple[dict, checkpoint.Checkpoint | None]:
    """The run's settings: defaults < command line; for --resume, the checkpoint's (plus a new --epochs)."""
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k) is not None}
    if "loss" in given:
        given["loss"] = {"ce": "cross_entropy"}.get(given["loss"], given["loss"])
    if not args.resume:
        settings = {**TRAIN_DEFAULTS, **given}
        if settings["init"] is None:
            settings["init"] = "he" if settings["activation"] == "relu" else "xavier"
        settings["sizes"] = parse_arch(settings["arch"])
        if settings["momentum"] and settings["optimizer"] != "sgd":
            raise UsageError("--momentum applies to --optimizer sgd only")
        return settings, None
    ck = checkpoint.load(args.resume)
    saved = ck.metadata.get("settings")
    if not isinstance(saved, dict) or "train_state" not in ck.metadata:
        raise CheckpointError(f"{args.resume}: not a checkpoint written by '{PROG} train', so it cannot be resumed")
    validate_train_metadata(ck.metadata, str(args.resume))
    _validate_settings(saved, args.resume)
    for key in RUN_SETTINGS:
        if key in given and given[key] != saved.get(key) and not (key == "dataset" and given[key] == "auto"
                                                                  and saved.get("dataset_requested") == "auto"):
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag} {given[key]} differs from the resumed run's {saved.get(key)}; a resumed run "
                             f"keeps its settings (only --epochs may change)")
    settings = dict(saved)
    if "epochs" in given:
        settings["epochs"] = given["epochs"]
    return settings, ck


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(v, lowest: int = 0, highest: int = _SEED_MAX) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lowest <= v <= highest


def _is_float(v, accept: Callable[[float], bool]) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and accept(v)


def _one_of(choices) -> Callable[[object], bool]:
    return lambda v: isinstance(v, str) and v in choices


_SYNTHETIC_MAX = 10**7
_SETTINGS_SCHEMA: dict[str, tuple[Callable[[object], bool], str, bool]] = {  # key: (accept, wanted, required)
    "arch": (lambda v: isinstance(v, str) and len(v) < 10000, "a string like 784-16-16-10", True),
    "sizes": (lambda v: isinstance(v, list), "a list of layer widths", True),
    "activation": (_one_of(functional.ACTIVATIONS), f"one of {', '.join(functional.ACTIVATIONS)}", True),
    "loss": (_one_of(("mse", "cross_entropy")), "mse or cross_entropy", True),
    "optimizer": (_one_of(OPTIMIZERS), f"one of {', '.join(OPTIMIZERS)}", True),
    "lr": (lambda v: _is_float(v, lambda x: x > 0), "a finite number > 0", True),
    "momentum": (lambda v: _is_float(v, lambda x: 0 <= x < 1), "a number in [0, 1)", True),
    "weight_decay": (lambda v: _is_float(v, lambda x: x >= 0), "a finite number >= 0", False),
    "lr_schedule": (_one_of(SCHEDULES), f"one of {', '.join(SCHEDULES)}", False),
    "batch_size": (lambda v: _is_int(v, 1), "an integer >= 1", True),
    "epochs": (lambda v: _is_int(v, 1), "an integer >= 1", True),
    "seed": (lambda v: _is_int(v, 0), f"an integer from 0 to {_SEED_MAX}", True),
    "init": (_one_of(INITS), f"one of {', '.join(INITS)}", True),
    "dataset": (_one_of(DATASETS), f"one of {', '.join(DATASETS)}", True),
    "dataset_requested": (_one_of(DATASETS), f"one of {', '.join(DATASETS)}", False),
    "limit_train": (lambda v: v is None or _is_int(v, 1), "null or an integer >= 1", True),
    "synthetic": (lambda v: v is None or (isinstance(v, dict) and set(v) <= set(SYNTHETIC) and all(
        _is_int(v[k], 0 if k == "seed" else 1, _SEED_MAX if k == "seed" else _SYNTHETIC_MAX) for k in v)),
        f"null or an object of n_train, n_test (1 to {_SYNTHETIC_MAX}) and seed", False),
}


def _validate_settings(saved: dict, path) -> None:
    """A resumed run's settings, checked as strictly as the command line checks them."""
    for key, (accept, wanted, required) in _SETTINGS_SCHEMA.items():
        if key not in saved:
            if required:
                raise CheckpointError(f"{path}: invalid training settings: {key} is missing")
            continue
        if not accept(saved[key]):
            raise CheckpointError(f"{path}: invalid training settings: {key} must be {wanted}, "
                                  f"got {_short(saved[key])}")
    try:
        sizes = parse_arch(saved["arch"])
    except UsageError as e:
        raise CheckpointError(f"{path}: invalid training settings: {e}") from None
    if saved["sizes"] != sizes:
        raise CheckpointError(f"{path}: invalid training settings: sizes {_short(saved['sizes'])} do not match "
                              f"arch {saved['arch']}")


def _dataset_images(settings: dict) -> int:
    synthetic = settings.get("synthetic") or {}
    if settings["dataset"] == "synthetic":
        return synthetic.get("n_train", SYNTHETIC["n_train"]) + synthetic.get("n_test", SYNTHETIC["n_test"])
    return 70000  # MNIST and Fashion-MNIST: 60000 + 10000 (auto may fall back to fewer synthetic ones)


def _train_bytes(settings: dict) -> int:
    images = _dataset_images(settings)
    copies = 2 if settings["optimizer"] == "adam" else 1 if settings["momentum"] else 0
    batch = max(min(settings["batch_size"], images), 1000)  # the test set is scored in batches of 1000
    return images * INPUTS * 5 + _mlp_bytes(settings["sizes"], batch, 4, copies)


def _check_train_outputs(args, out: str) -> None:
    """--out, --metrics-json and --plot are checked before any data is loaded or any epoch is run."""
    check_writable(out, "--out")
    if args.metrics_json:
        if Path(args.metrics_json).resolve() == Path(out).resolve():
            raise UsageError(f"--metrics-json {args.metrics_json} is the checkpoint itself (--out)")
        check_writable(args.metrics_json, "--metrics-json")
    if args.plot is not None:
        _check_folder(args.plot or _plot_folder(out), "--plot")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _format_acc(acc) -> str:
    return "n/a" if acc is None else f"{100 * acc:.2f}%"


def _cmd_train(args) -> int:
    settings, resumed = _train_settings(args)
    out = args.out or args.resume or "model.npz"
    _check_train_outputs(args, out)
    _check_fits(_train_bytes(settings), f"training MLP {'-'.join(map(str, settings['sizes']))} with mini-batches "
                                        f"of {settings['batch_size']}")
    with exclusive_lock(out, "a training checkpoint"):
        return _run_training(args, settings, resumed, out)


def _run_training(args, settings: dict, resumed: checkpoint.Checkpoint | None, out: str) -> int:
    sizes = settings["sizes"]

    # data: a resumed run reloads exactly what it was trained on
    dataset = settings["dataset"]
    (x_train, y_train, x_test, y_test), used, synth = load_dataset(
        dataset, args.data_dir, settings.get("synthetic"), not args.no_download)
    if settings["limit_train"] is not None:
        x_train, y_train = x_train[:settings["limit_train"]], y_train[:settings["limit_train"]]
    if x_train.shape[1] != sizes[0]:
        raise UsageError(f"--arch starts with {sizes[0]} but the {used} images have {x_train.shape[1]} pixels")
    if resumed is None:
        settings.update(dataset=used, dataset_requested=dataset, synthetic=synth)

    output_activation = None if settings["loss"] == "cross_entropy" else "sigmoid"
    if resumed is not None:
        model = resumed.build_model()
        if model.sizes != sizes:
            raise CheckpointError(f"{args.resume}: its weights ({model.sizes}) do not match its settings ({sizes})")
    else:
        model = MLP(sizes, settings["activation"], output_activation, init=settings["init"], seed=settings["seed"])
    optimizer = build_optimizer(settings["optimizer"], model.parameters(), settings["lr"], settings["momentum"],
                                settings.get("weight_decay", 0.0))
    scheduler = build_scheduler(settings.get("lr_schedule", "none"), optimizer, settings["epochs"])
    n_params = model.num_parameters()

    mode = "resuming" if resumed is not None else "training"
    hidden = "-".join(map(str, sizes))
    _say(f"{mode} MLP {hidden} ({settings['activation']} hidden, {output_activation or 'linear'} output, "
         f"{n_params:,} parameters) on {used}: {len(y_train)} training / {len(y_test)} test images",
         f"loss {settings['loss']}, {settings['optimizer']} lr {settings['lr']:g}"
         + (f" momentum {settings['momentum']:g}" if settings["momentum"] else "")
         + (f" weight decay {settings['weight_decay']:g}" if settings.get("weight_decay") else "")
         + (f" ({settings['lr_schedule']} schedule)" if settings.get("lr_schedule", "none") != "none" else "")
         + f", batch {settings['batch_size']}, {_plural(settings['epochs'], 'epoch')}, init {settings['init']}, "
           f"seed {settings['seed']}; checkpoint {out}")

    losses: list[float] = []
    hinted: list[bool] = []  # the plateau hint is said at most once

    def on_epoch(record: dict) -> None:
        _say(f"epoch {record['epoch']:>3}/{settings['epochs']}  train loss {record['train_loss']:.4f}  "
             f"test accuracy {_format_acc(record['test_accuracy'])}  {record['seconds']:.1f} s")
        losses.append(float(record["train_loss"]))
        hint = None if hinted else _plateau_hint(model, x_train, losses, record.get("test_accuracy"))
        if hint:
            hinted.append(True)
            _say(hint)

    if resumed is not None and resumed.metadata["train_state"].get("complete") and \
            resumed.metadata["train_state"]["epoch"] >= settings["epochs"]:
        _say(f"{args.resume} has already trained {resumed.metadata['train_state']['epoch']} epochs; "
             f"pass --epochs with a larger total to train on")
    meta = {"settings": settings, "dataset": used, "parameters": n_params}
    try:
        # numpy's overflow warnings say nothing the NaN guard does not say better (and a sigmoid's exp
        # overflowing to 0 or 1 is harmless), so they are silenced while training
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = fit(model, optimizer, settings["loss"], x_train, y_train, x_test, y_test,
                         epochs=settings["epochs"], batch_size=settings["batch_size"], seed=settings["seed"],
                         progress=False if args.no_progress else None, checkpoint=out, callbacks=[on_epoch],
                         scheduler=scheduler, resume=resumed, metadata=meta, compile=not args.no_compile)
    except TrainingInterrupted as e:
        if e.checkpoint:
            raise TrainingInterrupted(f"{e}; resume with: {PROG} train --resume {e.checkpoint}", signum=e.signum,
                                      epoch=e.epoch, step=e.step, steps_per_epoch=e.steps_per_epoch,
                                      checkpoint=e.checkpoint) from None
        raise

    with np.errstate(over="ignore"):
        final = evaluate(model, x_test, y_test)
    metrics = {"test_accuracy": final.accuracy, "per_class_accuracy": _nan_to_none(final.per_class),
               "confusion_matrix": final.confusion.tolist(), "train_loss": result.train_loss,
               "epochs": settings["epochs"], "train_seconds": result.train_seconds, "steps": result.steps,
               "dataset": used, "parameters": n_params, "settings": settings, "model": model.config(),
               "history": result.history, "checkpoint": str(out), "resumed_from": args.resume,
               "library_version": __version__}
    _say(f"done: test accuracy {_format_acc(final.accuracy)} on {used} after {_plural(settings['epochs'], 'epoch')}, "
         f"{result.train_seconds:.1f} s of training; saved {out}")
    if args.metrics_json:
        text = (json.dumps(metrics, indent=1) + "\n").encode()
        atomic_write(args.metrics_json, lambda f: f.write(text), "the metrics")
    if args.plot is not None:
        _plot(args.plot or _plot_folder(out), model, x_test, y_test, result.history)
    return 0


def _nan_to_none(a: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in a]


# ---------------------------------------------------------------------- eval and predict


def _load_model(path: str, classes: bool = True):
    """The saved MLP, checked to take 28x28 images and (when ``classes``) to give one output per digit."""
    model, ck = checkpoint.load_model(path)
    if model.sizes[0] != INPUTS:
        raise CheckpointError(f"{path}: the model takes {model.sizes[0]} inputs, not 28x28 = {INPUTS} pixels")
    if classes and model.sizes[-1] != CLASSES:
        raise CheckpointError(f"{path}: the model has {model.sizes[-1]} outputs, but the images have {CLASSES} "
                              "classes (one output per digit is needed)")
    return model, ck


def _saved(ck) -> tuple[dict, dict]:
    """``(metadata, training settings)`` of a checkpoint, each ``{}`` where it has none (or not a dict)."""
    meta = ck.metadata if isinstance(ck.metadata, dict) else {}
    settings = meta.get("settings")
    return meta, settings if isinstance(settings, dict) else {}


def _model_dataset(args, ck) -> tuple[tuple[np.ndarray, ...], str]:
    """The dataset a model is scored on: --dataset, else the one it was trained on (same synthetic draw)."""
    meta, saved = _saved(ck)
    name = args.dataset or meta.get("dataset") or "auto"
    arrays, used, _ = load_dataset(name, args.data_dir, saved.get("synthetic"), not args.no_download)
    return arrays, used


def _describe(path: str, model: MLP, ck) -> str:
    return (f"{path}: MLP {'-'.join(map(str, model.sizes))} ({model.activation} hidden, "
            f"{model.output_activation or 'linear'} output, {model.num_parameters():,} parameters)")


def _add_eval_parser(subparsers) -> None:
    p = subparsers.add_parser("eval", help="test accuracy, per-digit accuracy and confusion matrix of a model",
                              description="Score a saved model on a test set: accuracy, accuracy per digit, and "
                                          "the 10x10 confusion matrix (rows: true digit, columns: guess).")
    p.add_argument("model", help="checkpoint written by 'train'")
    _add_data_options(p, None, "default: the dataset the model was trained on")
    _add_plot_option(p)
    _add_threads_option(p)
    p.set_defaults(func=_cmd_eval)


def format_confusion(confusion: np.ndarray) -> str:
    """The confusion matrix as a text table, rows true class, columns guess."""
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ShapeError(f"format_confusion: expected a square (classes, classes) matrix, got shape {confusion.shape}")
    k = confusion.shape[0]
    width = max(5, len(str(int(confusion.max()))) + 2)
    lines = ["true \\ guess" + "".join(f"{j:>{width}}" for j in range(k))]
    for i in range(k):
        lines.append(f"{i:>12}" + "".join(f"{int(v):>{width}}" for v in confusion[i]))
    return "\n".join(lines)


def _cmd_eval(args) -> int:
    if args.plot is not None:
        _check_folder(args.plot or _plot_folder(args.model), "--plot")
    model, ck = _load_model(args.model)
    (_, _, x_test, y_test), used = _model_dataset(args, ck)
    with np.errstate(over="ignore"):  # a sigmoid's exp overflowing to inf gives exactly 0: nothing to warn about
        res = evaluate(model, x_test, y_test)
    correct = int(np.trace(res.confusion))
    lines = [_describe(args.model, model, ck),
             f"dataset: {used} test set, {len(y_test)} images",
             f"test accuracy: {_format_acc(res.accuracy)} ({correct}/{len(y_test)})",
             "",
             "digit  accuracy  images"]
    totals = res.confusion.sum(axis=1)
    for d, (acc, n) in enumerate(zip(res.per_class, totals, strict=True)):
        lines.append(f"{d:>5}  {_format_acc(None if not np.isfinite(acc) else acc):>8}  {int(n):>6}")
    lines += ["", "confusion matrix (rows: true digit, columns: the network's guess)", format_confusion(res.confusion)]
    _say(*lines)
    if args.plot is not None:
        _plot(args.plot or _plot_folder(args.model), model, x_test, y_test)
    return 0


def _add_predict_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="show one test image (or random noise) and the network's answer",
                              description="Draw a test image in the terminal with the model's ten outputs as a bar "
                                          "chart; --random feeds uniform noise instead, which still gets a digit "
                                          "(the notes say a confident one; how confident varies from model to "
                                          "model, see examples/random_noise.py).")
    p.add_argument("model", help="checkpoint written by 'train'")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=_int_at_least(0), metavar="N", help="test image number N")
    which.add_argument("--random", action="store_true", help="a uniform-random-noise image")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the --random image (default 0)")
    _add_data_options(p, None, "default: the dataset the model was trained on")
    p.set_defaults(func=_cmd_predict)


def format_bars(values: np.ndarray, width: int = 40, highlight: int | None = None) -> str:
    """One line per class: ``digit |#####      | value``, bars scaled to [0, 1]."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ShapeError(f"format_bars: expected one value per class (1-D), got shape {values.shape}")
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ArgumentError(f"format_bars: width must be an int >= 1, got {width!r}")
    lines = []
    for d, v in enumerate(values):
        n = round(float(np.clip(v, 0.0, 1.0)) * width)
        mark = "  <- guess" if d == highlight else ""
        lines.append(f"  {d} |{'#' * n}{' ' * (width - n)}| {float(v):.4f}{mark}")
    return "\n".join(lines)


def _cmd_predict(args) -> int:
    model, ck = _load_model(args.model)
    if args.random:
        image = np.random.default_rng(args.seed).random(INPUTS, dtype=np.float32)
        title = f"uniform random noise (seed {args.seed})"
        label = None
    else:
        (_, _, x_test, y_test), used = _model_dataset(args, ck)
        if args.index >= len(y_test):
            raise UsageError(f"--index {args.index} is out of range: the {used} test set has {len(y_test)} "
                             f"images (0..{len(y_test) - 1})")
        image, label = x_test[args.index], int(y_test[args.index])
        title = f"{used} test image {args.index}"
    with np.errstate(over="ignore"):
        out = predict(model, image)
    guess = int(out.argmax())
    if model.output_activation is None:
        shown, what = Tensor(out.astype(np.float64)).softmax().numpy(), "softmax of the output logits"
    else:
        shown, what = out, f"output activations ({model.output_activation})"
    lines = [data.ascii_digit(image), title]
    if label is not None:
        lines.append(f"label: {label}")
    verdict = "" if label is None else ("  (right)" if guess == label else "  (wrong)")
    lines += [f"guess: {guess}  confidence {float(shown[guess]):.4f}{verdict}", f"{what}:",
              format_bars(shown, highlight=guess)]
    if label is None:
        lines.append("the network has never seen noise, yet it still picks a digit: nothing in it can say "
                     "'none of these'")
    _say(*lines)
    return 0


# ---------------------------------------------------------------------- pictures and explanations (viz)


def _viz():
    """:mod:`tinygrad_mlp.viz` (imported on use; its pictures need matplotlib, its text only numpy)."""
    from . import viz

    return viz


def _pictures(draw: Callable):
    """Run ``draw``; a missing matplotlib becomes the usual one-line error (exit 1)."""
    try:
        return draw()
    except ImportError as e:
        raise TinygradMLPError(str(e)) from None


def _add_plot_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plot", nargs="?", const="", metavar="DIR",
                   help="also draw pictures (first-layer weights, confusion matrix, worst-classified digits and, "
                        "when training, the loss and accuracy curves) into DIR (default: <checkpoint name>-plots); "
                        "needs matplotlib")


# One BLAS thread: measured faster than OpenBLAS's default (a thread per core) for both README networks on a
# 2-core machine, and by 10x and more when other work keeps the cores busy (README, "Speed").
_DEFAULT_THREADS = 1


def _add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=_int_at_least(0), metavar="N",
                   help=f"threads for the BLAS matrix products (default {_DEFAULT_THREADS}, unless "
                        "OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS is set; 0: BLAS's own default, "
                        "a thread per core). These small networks run faster on one thread (see README)")


def _use_threads(requested: int | None) -> None:
    """Apply --threads (None: not given) to numpy's BLAS."""
    if requested == 0:
        return
    if requested is None and any(os.environ.get(name) for name in _blas.ENV_VARS):
        return  # the user has chosen already, in the environment
    if not _blas.set_blas_threads(requested or _DEFAULT_THREADS) and requested is not None:
        _say(f"{PROG}: warning: --threads {requested} not applied: numpy's BLAS is not OpenBLAS and threadpoolctl "
             "is not installed (pip install threadpoolctl, or set OMP_NUM_THREADS before starting)", err=True)


def _plot_folder(checkpoint_path) -> str:
    return str(Path(checkpoint_path).with_suffix("")) + "-plots"


def _plot(folder: str, model: MLP, x_test: np.ndarray, y_test: np.ndarray, history=None) -> None:
    with np.errstate(over="ignore"):
        paths = _pictures(lambda: _viz().plot_report(model, x_test, y_test, folder, history=history))
    _say("pictures: " + ", ".join(str(p) for p in paths))


def _add_show_weights_parser(subparsers) -> None:
    p = subparsers.add_parser("show-weights", help="draw the first layer's weights as 28x28 images (blue +, red -)",
                              description="Draw each first-layer neuron's 784 incoming weights as a 28x28 image, "
                                          "positive blue and negative red on one shared symmetric scale: the "
                                          "notes' look at what the first hidden layer has learned.")
    p.add_argument("model", help="checkpoint written by 'train'")
    p.add_argument("--out", metavar="PATH", default="weights.png", help="picture to write (default weights.png)")
    p.add_argument("--cols", type=_int_at_least(1), help="panels per row (default: a square grid)")
    p.set_defaults(func=_cmd_show_weights)


def _cmd_show_weights(args) -> int:
    _picture_path(args.out, "--out", _PICTURE_FORMATS)
    model, _ = _load_model(args.model, classes=False)
    w = model.weights[0].data
    path = _pictures(lambda: _viz().plot_first_layer_weights(w, args.out, cols=args.cols))
    _say(f"wrote {path}: the {w.shape[0]} first-layer neurons' weights, blue positive, red negative, "
         f"one shared scale (±{float(np.abs(w).max()):.3g})")
    return 0


def _add_graph_parser(subparsers) -> None:
    p = subparsers.add_parser("graph", help="draw the computation graph that backward() walks (Graphviz)",
                              description="Write the computation graph of a cost as Graphviz DOT (one box per "
                                          "tensor, one ellipse per op, the parameters' gradients shown), rendered "
                                          "when Graphviz's 'dot' program is installed: the notes' one-neuron "
                                          "chain by default, or a network's cost on a mini-batch.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--chain", metavar="SIZES", default="1-1-1-1",
                      help="the notes' chain, one neuron per layer (default 1-1-1-1), or a tiny network like 2-2-1")
    what.add_argument("--arch", help="a fresh MLP of these widths, e.g. 784-16-16-10")
    what.add_argument("--model", metavar="CKPT", help="a model saved by 'train'")
    p.add_argument("--batch-size", type=_int_at_least(1),
                   help="synthetic images in the mini-batch for --arch / --model (default 10)")
    p.add_argument("--out", metavar="PATH", default="graph.svg",
                   help="graph.svg, .png or .pdf (with Graphviz; without it the .dot file is written), "
                        "a .dot file, or - to print the DOT text (default graph.svg)")
    p.set_defaults(func=_cmd_graph)


def _chain_sizes(text: str) -> list[int] | None:
    try:
        return parse_sizes(text, "--chain")
    except ShapeError:
        return None  # one_neuron_chain says what is wrong


def _cmd_graph(args) -> int:
    if args.batch_size is None:
        args.batch_size = 10
    elif not (args.arch or args.model):
        raise UsageError("--batch-size applies to --arch and --model only (the chain has one example)")
    if args.out != "-":
        _picture_path(args.out, "--out", _GRAPH_FORMATS)
    # the graph keeps every intermediate array (and the batch is drawn with a few temporaries per pixel)
    if args.arch or args.model:
        sizes = parse_arch(args.arch) if args.arch else None
        what = f"graph of MLP {args.arch or args.model} on a mini-batch of {args.batch_size}"
        _check_fits(_mlp_bytes(sizes or [INPUTS, CLASSES], args.batch_size) + args.batch_size * INPUTS * 4 * 8, what)
    else:
        chain = _chain_sizes(args.chain)
        if chain is not None:
            _check_fits(2 * _mlp_bytes(chain, 1, 8), f"graph of the chain {args.chain}")
    viz = _viz()
    if args.arch or args.model:
        if args.model:
            model, _ = _load_model(args.model)
            _check_fits(_mlp_bytes(model.sizes, args.batch_size) + args.batch_size * INPUTS * 4 * 8,
                        f"graph of MLP {'-'.join(map(str, model.sizes))} on a mini-batch of {args.batch_size}")
        else:
            model = MLP(parse_arch(args.arch), output_activation="sigmoid", seed=0)
        for name, param in model.named_parameters():
            param.name = name
        x, y = data.synthetic_digits(args.batch_size, seed=0)
        with np.errstate(over="ignore"):
            out = model(Tensor(x, name=f"x ({args.batch_size} images)"))
            loss = functional.cross_entropy if model.output_activation is None else functional.quadratic_cost
            cost = loss(out, y)
        cost.name = "cost"
        title = f"MLP {'-'.join(map(str, model.sizes))} on a mini-batch of {args.batch_size}"
    else:
        try:
            cost, _ = viz.one_neuron_chain(args.chain)
        except ValueError as e:
            raise UsageError(str(e)) from None
        title = f"the notes' chain {args.chain}: C0 = (a_L - y)^2"
    cost.backward(retain_graph=True)  # keep the graph, so the drawing shows it with the parameters' gradients
    dot_text = viz.to_dot(cost, title=title)
    if args.out == "-":
        sys.stdout.write(dot_text)
        return 0
    try:
        path = viz.render_dot(dot_text, args.out)
    except RuntimeError as e:  # Graphviz's dot failed
        raise TinygradMLPError(str(e)) from None
    _say(f"wrote {path}")
    return 0


def _add_explain_parser(subparsers) -> None:
    p = subparsers.add_parser("explain", help="backpropagation step by step on the notes' one-neuron chain",
                              description="Print the chain rule at work: the notes' chain C0 = (a_L - y)^2, "
                                          "a_l = sigmoid(w_l a_(l-1) + b_l) (or a tiny network, --arch 2-2-1) "
                                          "forward, then every node of its graph from the cost back to the "
                                          "parameters with its local derivative, the gradient arriving and the "
                                          "product passed on, and finally the gradients beside the closed form "
                                          "dC0/dw_L = a_(L-1) sigmoid'(z_L) 2(a_L - y).")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--layers", type=_int_in(1, _EXPLAIN_MAX_LAYERS),
                      help=f"one neuron per layer, this many layers (default 3, at most {_EXPLAIN_MAX_LAYERS})")
    what.add_argument("--arch", help="layer widths, input first, each at most 8: e.g. 1-1-1-1 or 2-2-1")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random weights, biases and input (default 0)")
    p.set_defaults(func=_cmd_explain)


def _cmd_explain(args) -> int:
    sizes = args.arch or "-".join(["1"] * ((args.layers or 3) + 1))
    if len(sizes.replace(",", "-").split("-")) > _EXPLAIN_MAX_LAYERS + 1:
        raise UsageError(f"--arch {_short(sizes)}: at most {_EXPLAIN_MAX_LAYERS} layers (the printout grows with "
                         "the square of the depth)")
    try:
        text = _viz().explain(sizes, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    _say(text.rstrip("\n"))
    return 0


# ---------------------------------------------------------------------- gradcheck


def _add_gradcheck_parser(subparsers) -> None:
    from .threeway import WHY_FLOAT64
    p = subparsers.add_parser(
        "gradcheck", help="check autograd against the hand-derived backprop and finite differences",
        description="Build a random MLP with random inputs and labels and compute the loss's gradient three ways: "
                    "autograd (loss.backward()), the notes' backprop equations by hand (tinygrad_mlp.backprop), "
                    "and central finite differences. Prints one row per weight/bias tensor with the max absolute "
                    "and relative difference of each pair; exits 0 when all agree, 1 otherwise. Runs in float64 "
                    f"by default: {WHY_FLOAT64}.")
    p.add_argument("--arch", default="4-5-3", help="layer widths, input first (default 4-5-3)")
    p.add_argument("--activation", choices=sorted(functional.ACTIVATIONS), default="sigmoid",
                   help="hidden-layer activation (default sigmoid)")
    p.add_argument("--loss", choices=["mse", "cross_entropy", "ce"], default="mse", help="(default mse)")
    p.add_argument("--output-activation", choices=[*sorted(functional.ACTIVATIONS), "none"],
                   help="default: sigmoid for mse (the notes), none (raw logits) for cross_entropy")
    p.add_argument("--batch-size", type=_int_at_least(1), default=7, help="(default 7)")
    p.add_argument("--seed", type=_seed, default=0, help="seeds the weights, inputs and labels (default 0)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help=f"default float64: {WHY_FLOAT64}; float32 runs with looser tolerances (stated in the output)")
    p.set_defaults(func=_cmd_gradcheck)


def _cmd_gradcheck(args) -> int:
    from . import threeway
    out = "auto" if args.output_activation is None else args.output_activation
    try:
        sizes = threeway.parse_sizes(args.arch)
    except ValueError as e:
        raise UsageError(str(e)) from None
    # three gradients (autograd, backprop, finite differences), each with its forward pass's arrays, in float64
    itemsize = np.dtype(args.dtype).itemsize
    _check_fits(4 * _mlp_bytes(list(sizes), args.batch_size, itemsize) + 8 * args.batch_size * sizes[0] * itemsize,
                f"gradcheck of MLP {args.arch} on a batch of {args.batch_size}")
    try:
        problem = threeway.make_problem(sizes, args.activation, args.loss,
                                        args.batch_size, args.seed, args.dtype, out)
    except ValueError as e:
        raise UsageError(str(e)) from None
    result = problem.check()
    _say(threeway.dtype_note(args.dtype), result.format_table())
    return 0 if result.passed else 1


# ---------------------------------------------------------------------- learning: nudges, looking inside, the lab


def _model_loss(ck) -> str:
    loss = _saved(ck)[1].get("loss")
    return "cross_entropy" if loss in ("ce", "cross_entropy") else "mse"


def _plateau_hint(model: MLP, x_train: np.ndarray, losses: list[float], accuracy=None) -> str | None:
    """A hint when the training loss has stopped moving, far from a good model, while the sigmoids are
    saturated (a too-large learning rate stalls silently: no NaN, just sigmoid' = a (1 - a) ~ 0)."""
    if len(losses) < 2 or "sigmoid" not in (model.activation, model.output_activation):
        return None
    if accuracy is not None and np.isfinite(accuracy) and accuracy >= 0.5:
        return None  # a converged, working model also has a flat loss and many outputs near 0 or 1
    if abs(losses[-1] - losses[-2]) > 1e-4 * max(abs(losses[-2]), 1e-12):
        return None
    from . import learning

    sample = x_train[:1000]
    with np.errstate(over="ignore"):
        fractions = learning.saturation([W.data for W in model.weights], [b.data for b in model.biases], sample,
                                        model.activation, model.output_activation)
    if max(fractions) < 0.5:
        return None
    return (f"hint: the train loss has stopped moving and up to {max(fractions):.0%} of a layer's sigmoids "
            f"sit within 0.01 of 0 or 1 on {len(sample):,} training images: there the slope a (1 - a) is ~0 and "
            "almost no gradient gets through. The learning rate is probably too large: try a smaller --lr "
            f"(see '{PROG} lab')")


def _add_nudges_parser(subparsers) -> None:
    p = subparsers.add_parser("nudges", help="what one digit's cost asks of every weight and bias (the notes' nudges)",
                              description="Backpropagation for one test digit, in the notes' words: the output "
                                          "layer's desired changes, the three ways to get there (bias, weights in "
                                          "proportion to activations, activations in proportion to weights), the "
                                          "largest dC/dw = a_k delta_j, and the previous layer's desired change added "
                                          "up term by term. --batch K averages the per-example gradients of K digits "
                                          "and compares them with the gradient of the K-digit batch cost.")
    p.add_argument("model", help="checkpoint written by 'train'")
    p.add_argument("--index", type=_int_at_least(0), default=0, metavar="N", help="test image number N (default 0)")
    p.add_argument("--batch", type=_int_at_least(1), default=1, metavar="K",
                   help="also average over test images N..N+K-1 (default 1: just one)")
    _add_data_options(p, None, "default: the dataset the model was trained on")
    p.set_defaults(func=_cmd_nudges)


def _cmd_nudges(args) -> int:
    from . import learning

    model, ck = _load_model(args.model)
    (_, _, x_test, y_test), used = _model_dataset(args, ck)
    if args.index + args.batch > len(y_test):
        last = args.index + args.batch - 1
        raise UsageError(f"--index {args.index} --batch {args.batch} needs test images up to {last}"
                         f", but the {used} test set has {len(y_test)} (0..{len(y_test) - 1})")
    weights = [W.data for W in model.weights]
    biases = [b.data for b in model.biases]
    loss = _model_loss(ck)
    kinds = (model.activation, model.output_activation, loss)
    image, label = x_test[args.index], int(y_test[args.index])
    with np.errstate(over="ignore"):
        n = learning.nudges(weights, biases, image, label, *kinds)
    lines = [data.ascii_digit(image), (f"{used} test image {args.index}, label {label}; "
             f"{_describe(args.model, model, ck)}; cost {loss}"), "",
             learning.format_nudges(n, weights)]
    if args.batch > 1:
        xb, yb = x_test[args.index:args.index + args.batch], y_test[args.index:args.index + args.batch]
        with np.errstate(over="ignore"):
            average, batch = learning.per_example_average(weights, biases, xb, yb, *kinds)
        lines += ["", (f"6. {args.batch} digits (test images {args.index}..{args.index + args.batch - 1}): the average "
                  f"of their {args.batch} per-example gradients, each computed alone, against ONE backprop of the "
                  f"batch's average cost"),
                  "   tensor  largest |average|   largest |batch gradient|   largest |difference|"]
        for name, a, b in zip(learning.parameter_names(len(weights)), average, batch, strict=True):
            lines.append(f"   {name:<6}  {np.abs(a).max():>17.6e}   {np.abs(b).max():>24.6e}   "
                         f"{np.abs(a - b).max():>20.1e}")
        worst = max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)) for a, b in
                    zip(average, batch, strict=True))
        lines.append(f"   relative difference at most {worst:.1e}: the average of the desired changes IS the batch "
                     "gradient (the derivative of an average is the average of the derivatives), up to rounding")
    _say(*lines)
    return 0


def _add_show_hidden_parser(subparsers) -> None:
    p = subparsers.add_parser("show-hidden", help="what excites each hidden neuron: top images, mean per digit",
                              description="For every hidden neuron of the first two hidden layers: the test images "
                                          "that activate it most, and its mean activation for each digit (a "
                                          "neurons x 10 table); for layer 2 also its 'template' W(2) W(1), its "
                                          "weights pushed back onto the pixels. The notes' question: do hidden "
                                          "neurons learn edges and loops?")
    p.add_argument("model", help="checkpoint written by 'train'")
    p.add_argument("--out", metavar="PATH", default="hidden.png",
                   help="picture prefix: writes PATH with -layer1 / -layer2 before the suffix (default hidden.png)")
    p.add_argument("--top", type=_int_at_least(1), default=6, help="images shown per neuron (default 6)")
    p.add_argument("--no-plot", action="store_true", help="only print the tables")
    _add_data_options(p, None, "default: the dataset the model was trained on")
    p.set_defaults(func=_cmd_show_hidden)


def _cmd_show_hidden(args) -> int:
    from . import learning

    if not args.no_plot:
        _picture_prefix(args.out, "--out")
    model, ck = _load_model(args.model)
    (_, _, x_test, y_test), used = _model_dataset(args, ck)
    if args.top > len(y_test):
        raise UsageError(f"--top {args.top} is more than the {len(y_test)} test images")
    weights = [W.data for W in model.weights]
    with np.errstate(over="ignore"):
        hidden = learning.hidden_activations(weights, [b.data for b in model.biases], x_test, model.activation,
                                             model.output_activation)
    if not hidden:
        raise UsageError(f"{args.model} has no hidden layer")
    lines = [_describe(args.model, model, ck), f"{used} test set, {len(y_test)} images", ""]
    out = Path(args.out)
    written = []
    broad_counts: list[tuple[int, int]] = []
    for layer, acts in enumerate(hidden[:2], start=1):
        means = learning.mean_activation_per_digit(acts, y_test)
        top = learning.top_activating(acts, args.top)
        lines.append(f"hidden layer {layer}: mean activation per digit (rows: neurons; columns: digits 0..9), "
                     "and the digits of its top images")
        lines.append("neuron " + "".join(f"{d:>6}" for d in range(means.shape[1])) + "   top images' labels")
        for j in range(means.shape[0]):
            lines.append(f"{j:>6} " + "".join(f"{v:6.2f}" for v in means[j]) + "   "
                         + " ".join(str(int(y_test[i])) for i in top[j]))
        spread = np.nanmax(means, axis=1) - np.nanmin(means, axis=1)
        favourite = np.nanargmax(means, axis=1)
        best = int(np.argmax(spread))
        lines.append(f"  most selective: neuron {best} (mean {np.nanmax(means[best]):.2f} "
                     f"for digit {favourite[np.argmax(spread)]}, range {spread.max():.2f}); least: neuron "
                     f"{int(np.argmin(spread))} (range {spread.min():.2f})")
        broad = int(np.sum(np.sum(means > 0.5, axis=1) >= 3))
        lines.append(f"  {broad} of {means.shape[0]} neurons have a mean activation above 0.5 for three or more digits")
        lines.append("")
        broad_counts.append((broad, means.shape[0]))
        if not args.no_plot:
            templates = learning.layer2_templates(weights) if layer == 2 else weights[0]
            target = out.with_name(f"{out.stem}-layer{layer}{out.suffix or '.png'}")
            written.append(_pictures(lambda acts=acts, top=top, means=means, layer=layer, templates=templates,
                                     target=target: _viz().plot_hidden_neurons(
                                         x_test, top, means, target, layer=layer, templates=templates)))
    summary = " and ".join(f"{b} of {n}" for b, n in broad_counts)
    lines.append(f"the notes hoped for one detector per edge or loop; here {summary} hidden neurons (layer 1, layer 2) "
                 "respond to three or more digits: each takes part in many digits, a distributed code rather than "
                 "tidy parts")
    if written:
        lines.append("wrote " + ", ".join(str(p) for p in written) + " (layer 1 templates: the neuron's own weights; "
                     "layer 2: W(2) W(1), blue +, red -)")
    _say(*lines)
    return 0


def _add_lab_parser(subparsers) -> None:
    p = subparsers.add_parser("lab", help="mini-batch noise and learning-rate experiments, with a picture",
                              description="Two experiments on the notes' network. (1) How far is a mini-batch "
                                          "gradient from the full one? Cosine similarity and relative error against "
                                          "the gradient over the whole training set, for batch sizes 1 to 1000. (2) "
                                          "A learning-rate sweep: cost per epoch and the fraction of saturated "
                                          "hidden sigmoids, which explains why a huge rate stalls without NaN.")
    p.add_argument("--model", help="checkpoint to measure the gradient noise at (default: a fresh notes' network)")
    p.add_argument("--lrs", default="0.3,3,30,300", help="learning rates of the sweep (default 0.3,3,30,300)")
    p.add_argument("--epochs", type=_int_at_least(1), default=3, help="epochs per learning rate (default 3)")
    p.add_argument("--limit-train", type=_int_at_least(10), metavar="N", help="use only the first N training images")
    p.add_argument("--repeats", type=_int_at_least(1), default=20, help="random batches per size (default 20)")
    p.add_argument("--out", metavar="PATH", default="lab.png",
                   help="picture prefix: PATH with -noise and -lr before the suffix (default lab.png)")
    p.add_argument("--no-plot", action="store_true", help="only print the numbers")
    p.add_argument("--seed", type=_seed, default=0)
    _add_data_options(p, "auto", "default: auto")
    p.set_defaults(func=_cmd_lab)


def _cmd_lab(args) -> int:
    from . import backprop, learning

    try:
        lrs = [float(v) for v in args.lrs.split(",")]
    except ValueError:
        raise UsageError(f"--lrs {args.lrs!r}: give learning rates separated by commas, e.g. 0.3,3,30") from None
    if not lrs or min(lrs) <= 0 or not all(math.isfinite(v) for v in lrs):
        raise UsageError(f"--lrs {args.lrs!r}: every learning rate must be a finite number > 0")
    if not args.no_plot:
        _picture_prefix(args.out, "--out")
    (x_train, y_train, _, _), used, _ = load_dataset(args.dataset, args.data_dir, None, not args.no_download)
    if args.limit_train:
        x_train, y_train = x_train[:args.limit_train], y_train[:args.limit_train]
    if args.model:
        model, _ = _load_model(args.model)
        what = args.model
    else:
        model = MLP([INPUTS, 16, 16, CLASSES], init="xavier", seed=args.seed)
        what = "a fresh notes' network (xavier, seed 0)"
    weights = [W.data.astype(np.float64) for W in model.weights]
    biases = [b.data.astype(np.float64) for b in model.biases]
    kinds = (model.activation, model.output_activation)
    sizes = [s for s in (1, 3, 10, 30, 100, 300, 1000) if s <= len(x_train)]
    with np.errstate(over="ignore"):
        noise = learning.gradient_noise(weights, biases, x_train, y_train, sizes, args.repeats, args.seed, *kinds)
    lines = [(f"1. mini-batch gradients against the full gradient over all {len(x_train):,} {used} training images, "
             f"at {what} (median of {args.repeats} random batches)"),
             "   batch size   cosine similarity   relative error |g_B - g| / |g|"]
    lines += [f"   {s:>10}   {c:>17.3f}   {r:>30.3f}" for s, (c, r) in noise.items()]
    ratio = noise[sizes[0]][1] / max(noise[sizes[-1]][1], 1e-300)
    lines += [(f"   from batch {sizes[0]} to {sizes[-1]} the relative error shrinks {ratio:.1f}x "
              f"(1/sqrt(batch size) would be {np.sqrt(sizes[-1] / sizes[0]):.1f}x)"), ""]
    sweep: dict[float, dict[str, list[float]]] = {}
    lines.append(f"2. learning-rate sweep: the notes' network (xavier, seed {args.seed}), batch 10, {args.epochs} "
                 f"epochs each, {len(x_train):,} images")
    lines.append("   lr       cost per epoch                 saturated: hidden  outputs   train accuracy")
    rng = np.random.default_rng(args.seed)
    for lr in lrs:
        fresh = MLP([INPUTS, 16, 16, CLASSES], init="xavier", seed=args.seed)
        w = [W.data.astype(np.float64) for W in fresh.weights]
        b = [v.data.astype(np.float64) for v in fresh.biases]
        costs, saturated, out_saturated = [], [], 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(args.epochs):
                order = rng.permutation(len(x_train))
                for start in range(0, len(order), 10):
                    idx = order[start:start + 10]
                    backprop.train_step(w, b, x_train[idx], y_train[idx], lr)
                costs.append(backprop.loss(w, b, x_train, y_train))
                fractions = learning.saturation(w, b, x_train)
                saturated.append(float(np.mean(fractions[:-1])))
                out_saturated = fractions[-1]
            _, acts = backprop.forward(w, b, x_train)
        accuracy = float(np.mean(acts[-1].argmax(axis=0) == y_train))
        sweep[lr] = {"loss": costs, "saturated": saturated}
        per_epoch = " ".join(f"{c:.4f}" for c in costs)
        lines.append(f"   {lr:<7g}  {per_epoch:<30} {saturated[-1]:>17.0%} {out_saturated:>8.0%}   {accuracy:>13.1%}")
    lines += [("   saturated: activations within 0.01 of 0 or 1, where sigmoid' = a (1 - a) < 0.01. A huge rate throws "
              "the weights so far in the first steps that the sigmoids sit at 0 or 1 whatever the image; the gradient "
              "reaching the weights through them is ~0 and the cost stays put: a silent plateau (exactly 1.0 when "
              "every output is ~0), not a NaN")]
    if not args.no_plot:
        out = Path(args.out)
        suffix = out.suffix or ".png"
        paths = [_pictures(lambda: _viz().plot_gradient_noise(noise, out.with_name(f"{out.stem}-noise{suffix}"))),
                 _pictures(lambda: _viz().plot_lr_sweep(sweep, out.with_name(f"{out.stem}-lr{suffix}")))]
        lines.append("wrote " + ", ".join(str(p) for p in paths))
    _say(*lines)
    return 0


# ---------------------------------------------------------------------- main


#: One entry per subcommand, in the order ``--help`` lists them.
COMMANDS: list[Callable] = [_add_train_parser, _add_eval_parser, _add_predict_parser,
                            _add_show_weights_parser, _add_graph_parser, _add_explain_parser,
                            _add_gradcheck_parser, _add_nudges_parser, _add_show_hidden_parser,
                            _add_lab_parser]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train, score and look at the MLPs of tinygrad_mlp (numpy autograd).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def _error(message: object) -> None:
    text = " ".join(str(message).split()) or type(message).__name__
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:  # argparse keeps no public list of a parser's subcommands
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    for stream in (sys.stdout, sys.stderr):  # a file name the terminal's encoding cannot show is escaped, not fatal
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        main_takes_over()  # from here on Ctrl-C is a KeyboardInterrupt, handled below (or by training, which saves)
        parser = build_parser()  # (its subcommands may import more modules)
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help and --version print and "exit" 0
            return e.code if isinstance(e.code, int) else 0
        if args.command is None:
            raise UsageError(f"choose a command: {', '.join(_command_names(parser))} (see {PROG} --help)")
        if hasattr(args, "threads"):
            _use_threads(args.threads)
        return int(args.func(args) or 0)
    except UsageError as e:
        _error(e)
        return 2
    except TrainingInterrupted as e:
        print(f"{PROG}: {e}", file=sys.stderr, flush=True)
        return e.exit_code
    except TrainingDiverged as e:
        _error(e)
        return 1
    except BrokenPipeError:
        # the reader went away (`tinygrad-mlp explain | head`): nobody is left to tell. Point stdout at devnull
        # so the interpreter's final flush cannot fail again, and exit as a process ended by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except (TinygradMLPError, OSError) as e:
        _error(e)
        return 1
    except MemoryError:
        _error(f"ran out of memory (the machine has {human_bytes(_machine_memory())} available); try smaller "
               "--arch, --batch-size or --limit-train")
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return 130


def _machine_memory() -> int:
    from ._guard import memory_budget

    return memory_budget()
