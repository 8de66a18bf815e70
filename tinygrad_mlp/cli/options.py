"""The command line's shared parts: argparse types, the flags several commands take, output and model loading.

Internal to :mod:`tinygrad_mlp.cli` (its public face); every command module builds on this one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .. import _blas, checkpoint, data, runs
from .._guard import check_memory, check_writable
from ..errors import ArgumentError, CheckpointError, TinygradMLPError
from ..nn import MLP, LeNet

__all__: list[str] = []  # internal: tinygrad_mlp.cli re-exports what is public

PROG = "tinygrad-mlp"
PICTURE_FORMATS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps")
GRAPH_FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")


class UsageError(TinygradMLPError, ValueError):
    """Bad command-line arguments: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but errors raise :class:`UsageError` (one line, no usage dump) instead of exiting."""

    def error(self, message: str):
        raise UsageError(message)


@contextlib.contextmanager
def as_usage() -> Iterator[None]:
    """A library's ArgumentError about what the user typed becomes a :class:`UsageError` (exit status 2)."""
    try:
        yield
    except ArgumentError as e:
        raise UsageError(str(e)) from None


# ---------------------------------------------------------------------- argument types


def float_where(accept: Callable[[float], bool], what: str) -> Callable[[str], float]:
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


positive_float = float_where(lambda v: v > 0 and math.isfinite(v), "a finite number > 0")
non_negative_float = float_where(lambda v: v >= 0 and math.isfinite(v), "a finite number >= 0")
momentum = float_where(lambda v: 0 <= v < 1, "in [0, 1)")


def int_in(lowest: int, highest: int | None = None) -> Callable[[str], int]:
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


def int_at_least(lowest: int) -> Callable[[str], int]:
    return int_in(lowest)


seed = int_in(0, runs.SEED_MAX)


def parse_arch(text: str) -> list[int]:
    """:func:`tinygrad_mlp.runs.parse_arch`, its complaint a :class:`UsageError`."""
    with as_usage():
        return runs.parse_arch(text)


# ---------------------------------------------------------------------- output paths


# How the pictures and graphs written here begin: an existing file is replaced only when it is one of them
_PICTURE_STARTS = {".png": (b"\x89PNG",), ".pdf": (b"%PDF",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
                   ".eps": (b"%!PS",), ".ps": (b"%!PS",), ".svg": (b"<?xml", b"<svg", b"<!DOCTYPE svg"),
                   ".dot": (b"digraph", b"//"), ".gv": (b"digraph", b"//")}


def check_picture_target(path: Path, option: str) -> None:
    """An existing file at ``path`` must be a picture of its suffix's format (or DOT text): notes, data or a
    checkpoint named ``something.png`` are never overwritten."""
    starts = _PICTURE_STARTS.get(path.suffix.lower())
    if not path.is_file() or starts is None:
        return
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
    except OSError:
        return  # check_writable reports what is wrong with it
    if not head.startswith(starts):
        raise UsageError(f"{option} {path} exists and is not a {path.suffix.lstrip('.').upper()} picture; refusing "
                         "to overwrite it (choose another name or remove it)")


def picture_path(text: str, option: str, formats: tuple[str, ...]) -> Path:
    """Check a picture's output path before any work: a known format suffix, not a folder, writable."""
    path = Path(text)
    if path.is_dir():
        raise UsageError(f"{option} {text} is a folder; give a file name ending in {', '.join(formats)}")
    if path.suffix.lower() not in formats:
        got = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise UsageError(f"{option} {text}: unsupported picture format ({got}); end the name with one of "
                         f"{', '.join(formats)}")
    check_writable(path, option)
    check_picture_target(path, option)
    return path


def picture_prefix(text: str, option: str, parts: tuple[str, ...] = ()) -> None:
    """A picture prefix (PATH with -<part> before the suffix; .png without one): its format, folder and the
    files it will write (never replacing what is not a picture) are checked before any work."""
    require_matplotlib(option)
    path = Path(text)
    if path.is_dir():
        raise UsageError(f"{option} {text} is a folder; give a file name such as {path / 'picture.png'}")
    if path.suffix and path.suffix.lower() not in PICTURE_FORMATS:
        raise UsageError(f"{option} {text}: unsupported picture format ('{path.suffix}'); end the name with one "
                         f"of {', '.join(PICTURE_FORMATS)}")
    check_writable(path, option)
    for part in parts:
        check_picture_target(prefixed(path, part), option)


def prefixed(path: Path, part: str) -> Path:
    """``hidden.png`` + ``layer1`` -> ``hidden-layer1.png`` (``.png`` when the prefix has no suffix)."""
    return path.with_name(f"{path.stem}-{part}{path.suffix or '.png'}")


def require_matplotlib(option: str) -> None:
    """Pictures need matplotlib: said before any work (not after a whole training run)."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise TinygradMLPError(f"{option} draws pictures, which need matplotlib: pip install "
                               "\"tinygrad_mlp[viz]\" (nothing was done)") from None


def check_folder(text: str, option: str) -> None:
    """A folder that pictures will be written into: matplotlib there, creatable and writable, checked before any
    work."""
    require_matplotlib(option)
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {text} exists and is not a folder")
    check_writable(folder / "weights.png", option)
    for name in ("weights.png", "confusion.png", "worst.png", "curves.png"):  # what viz.plot_report writes
        check_picture_target(folder / name, option)


_MAX_METRICS_BYTES = 8 << 20  # a long run's metrics are well under 1 MiB; a bigger file is not ours


def is_metrics_file(path: Path) -> bool:
    """Whether ``path`` holds metrics JSON as ``train --metrics-json`` writes it (read only when it is small)."""
    try:
        if path.stat().st_size > _MAX_METRICS_BYTES:
            return False
        found = json.loads(path.read_bytes().decode())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(found, dict) and {"settings", "history", "library_version", "test_accuracy"} <= set(found)


def check_overwrite(text: str, option: str, ours: Callable[[Path], bool], what: str, force: bool) -> None:
    """An existing file is replaced only when it is ``what`` (``ours`` says so) or with --force."""
    path = Path(text)
    if force or not path.is_file():
        return  # absent; or a folder, device ... which check_writable refuses
    if not ours(path):
        raise UsageError(f"{option} {text} exists and is not {what}; refusing to overwrite it (choose another "
                         "name, or pass --force to replace it)")


def check_fits(nbytes: int, what: str) -> None:
    check_memory(nbytes, what, UsageError)


# ---------------------------------------------------------------------- printing


def say(*lines: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    for line in lines:
        print(line, file=stream, flush=True)


def duration(seconds: float) -> str:
    """``90`` -> ``"1.5 minutes"``: an estimate in the unit a person reads."""
    for unit, size in (("years", 3.15e7), ("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} seconds"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_acc(acc) -> str:
    return "n/a" if acc is None else f"{100 * acc:.2f}%"


def describe(path: str, model: MLP | LeNet) -> str:
    """One line naming a saved model: its file, architecture and size."""
    if isinstance(model, LeNet):
        return (f"{path}: LeNet (conv 1->{model.channels[0]}, conv {model.channels[0]}->{model.channels[1]}, dense "
                f"{model.channels[1] * 25}-120-84-{model.num_classes}, {model.num_parameters():,} parameters)")
    return (f"{path}: MLP {'-'.join(map(str, model.sizes))} ({model.activation} hidden, "
            f"{model.output_activation or 'linear'} output, {model.num_parameters():,} parameters)")


# ---------------------------------------------------------------------- data and models


def data_dir(text: str) -> str:
    if not Path(text).expanduser().is_dir():
        what = "is not a folder" if Path(text).expanduser().exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}")
    return text


def add_data_options(p: argparse.ArgumentParser, default: str | None, help_default: str) -> None:
    p.add_argument("--dataset", choices=runs.DATASETS, default=default,
                   help=f"auto: MNIST if found or downloadable, else synthetic digits (announced); mnist / "
                        f"fashion-mnist: required, never replaced; synthetic: drawn digits, offline ({help_default})")
    p.add_argument("--data-dir", metavar="DIR", type=data_dir,
                   help=f"folder with the four MNIST files (default: ${data.DATA_ENV}, then the download cache)")
    p.add_argument("--no-download", action="store_true",
                   help="never download MNIST: use the files found locally (auto then falls back at once)")


def load_dataset(name: str, data_dir: str | None = None, synthetic: dict | None = None,
                 download: bool = True, test_only: bool = False) -> data.Dataset:
    """:func:`tinygrad_mlp.data.load_dataset`, its notice (a fallback) printed on stderr."""
    with as_usage():
        loaded = data.load_dataset(name, data_dir, synthetic, download, test_only=test_only)
    if loaded.notice:
        say(f"{PROG}: WARNING: {loaded.notice}", err=True)
    return loaded


def refuse_non_finite(values: np.ndarray, path: str, what: str) -> None:
    """One line instead of a traceback or a silent answer when a saved model's ``what`` are NaN or infinite."""
    if not np.isfinite(values).all():
        raise CheckpointError(f"{path}: the model's {what} are NaN or infinite (its weights are finite but "
                              "overflow float arithmetic); nothing can be read from them")


def dataset_words(loaded: data.Dataset) -> str:
    """The dataset's name for a result line; a fallback says so again there (its warning has scrolled away)."""
    if loaded.name == "synthetic" and loaded.notice:
        return "synthetic (the SYNTHETIC digits, NOT MNIST: MNIST was not available, see the warning above)"
    return loaded.name


def load_any_model(path: str, classes: bool = True) -> tuple[MLP | LeNet, checkpoint.Checkpoint]:
    """The saved MLP or LeNet, checked to take 28x28 images and (when ``classes``) to give one output per digit."""
    model, ck = checkpoint.load_model(path)
    if not isinstance(model, (MLP, LeNet)):
        raise CheckpointError(f"{path}: holds a {type(model).__name__}, which the command line does not know")
    if model.sizes[0] != runs.INPUTS:
        raise CheckpointError(f"{path}: the model takes {model.sizes[0]} inputs, not 28x28 = {runs.INPUTS} pixels")
    if classes and model.sizes[-1] != runs.CLASSES:
        raise CheckpointError(f"{path}: the model has {model.sizes[-1]} outputs, but the images have "
                              f"{runs.CLASSES} classes (one output per digit is needed)")
    return model, ck


def load_model(path: str, classes: bool = True) -> tuple[MLP, checkpoint.Checkpoint]:
    """The saved MLP, as :func:`load_any_model` checks it; a LeNet is refused in one line (the commands that look
    inside a network's layers know the MLP's)."""
    model, ck = load_any_model(path, classes)
    if not isinstance(model, MLP):
        raise CheckpointError(f"{path}: holds a LeNet (a small CNN); this command looks inside an MLP's layers "
                              "(eval, predict and show-weights take a LeNet)")
    return model, ck


def saved(ck) -> tuple[dict, dict]:
    """``(metadata, training settings)`` of a checkpoint, each ``{}`` where it has none (or not a dict)."""
    meta = ck.metadata if isinstance(ck.metadata, dict) else {}
    settings = meta.get("settings")
    return meta, settings if isinstance(settings, dict) else {}


def model_test_set(args, ck) -> tuple[data.Dataset, np.ndarray, np.ndarray]:
    """The test set a model is scored on: --dataset, else the one it was trained on (same synthetic draw), as far
    as the file's checked metadata says; returns the dataset (for its name) and its test images and labels."""
    name, synthetic = runs.dataset_of(ck, args.model)
    loaded = load_dataset(args.dataset or name or "auto", args.data_dir, synthetic, not args.no_download,
                          test_only=True)
    _, _, x_test, y_test = loaded.arrays
    return loaded, x_test, y_test


def model_loss(ck) -> str:
    loss = saved(ck)[1].get("loss")
    return "cross_entropy" if loss in ("ce", "cross_entropy") else "mse"


# ---------------------------------------------------------------------- pictures and threads


def viz():
    """:mod:`tinygrad_mlp.viz` (imported on use; its pictures need matplotlib, its text only numpy)."""
    from .. import viz

    return viz


def pictures(draw: Callable):
    """Run ``draw``; a missing matplotlib becomes the usual one-line error (exit 1)."""
    try:
        return draw()
    except ImportError as e:
        raise TinygradMLPError(str(e)) from None


def add_plot_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plot", nargs="?", const="", metavar="DIR",
                   help="also draw pictures (first-layer weights, confusion matrix, worst-classified digits and, "
                        "when training, the loss and accuracy curves) into DIR (default: <checkpoint name>-plots); "
                        "needs matplotlib")


def plot_folder(checkpoint_path) -> str:
    return str(Path(checkpoint_path).with_suffix("")) + "-plots"


def plot(folder: str, model: MLP | LeNet, x_test, y_test, history=None) -> None:
    with np.errstate(over="ignore"):
        paths = pictures(lambda: viz().plot_report(model, x_test, y_test, folder, history=history))
    say("pictures: " + ", ".join(str(p) for p in paths))


# One BLAS thread: measured faster than OpenBLAS's default (a thread per core) for both README networks on a
# 2-core machine, and much faster when other work keeps the cores busy (README, "Speed").
DEFAULT_THREADS = 1


def add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int_at_least(0), metavar="N",
                   help=f"threads for the BLAS matrix products (default {DEFAULT_THREADS}, unless "
                        "OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS is set; 0: BLAS's own default, "
                        "a thread per core). These small networks run faster on one thread (see README)")


def use_threads(requested: int | None) -> None:
    """Apply --threads (None: not given) to numpy's BLAS."""
    if requested == 0:
        return
    if requested is None and any(os.environ.get(name) for name in _blas.ENV_VARS):
        return  # the user has chosen already, in the environment
    if not _blas.set_blas_threads(requested or DEFAULT_THREADS) and requested is not None:
        say(f"{PROG}: warning: --threads {requested} not applied: numpy's BLAS is not OpenBLAS and threadpoolctl "
            "is not installed (pip install threadpoolctl, or set OMP_NUM_THREADS before starting)", err=True)
