"""``tinygrad-mlp eval`` and ``predict``: score a saved model, or show one image and its answer."""

from __future__ import annotations

import numpy as np

from .. import data, runs
from ..errors import ArgumentError, ShapeError
from ..tensor_core import Tensor
from ..train import evaluate, predict
from . import options as o

__all__ = ["format_confusion", "format_bars"]  # re-exported by tinygrad_mlp.cli


def add_eval(subparsers) -> None:
    p = subparsers.add_parser("eval", help="test accuracy, per-digit accuracy and confusion matrix of a model",
                              description="Score a saved model on a test set: accuracy, accuracy per digit, and "
                                          "the 10x10 confusion matrix (rows: true digit, columns: guess).")
    p.add_argument("model", help="checkpoint written by 'train'")
    o.add_data_options(p, None, "default: the dataset the model was trained on")
    o.add_plot_option(p)
    o.add_threads_option(p)
    p.set_defaults(func=run_eval)


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


def run_eval(args) -> int:
    if args.plot is not None:
        o.check_folder(args.plot or o.plot_folder(args.model), "--plot")
    model, ck = o.load_any_model(args.model)
    loaded, x_test, y_test = o.model_test_set(args, ck)
    with np.errstate(over="ignore"):  # a sigmoid's exp overflowing to inf gives exactly 0: nothing to warn about
        res = evaluate(model, x_test, y_test)
    correct = int(np.trace(res.confusion))
    lines = [o.describe(args.model, model),
             f"dataset: {o.dataset_words(loaded)} test set, {len(y_test)} images",
             f"test accuracy: {o.format_acc(res.accuracy)} ({correct}/{len(y_test)})",
             "",
             "digit  accuracy  images"]
    totals = res.confusion.sum(axis=1)
    for d, (acc, n) in enumerate(zip(res.per_class, totals, strict=True)):
        lines.append(f"{d:>5}  {o.format_acc(None if not np.isfinite(acc) else acc):>8}  {int(n):>6}")
    lines += ["", "confusion matrix (rows: true digit, columns: the network's guess)", format_confusion(res.confusion)]
    o.say(*lines)
    if args.plot is not None:
        o.plot(args.plot or o.plot_folder(args.model), model, x_test, y_test)
    return 0


def add_predict(subparsers) -> None:
    p = subparsers.add_parser("predict", help="show one test image (or random noise) and the network's answer",
                              description="Draw a test image in the terminal with the model's ten outputs as a bar "
                                          "chart; --random feeds uniform noise instead, which still gets a digit "
                                          "(the notes say a confident one; how confident varies from model to "
                                          "model, see examples/random_noise.py).")
    p.add_argument("model", help="checkpoint written by 'train'")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=o.int_at_least(0), metavar="N", help="test image number N")
    which.add_argument("--random", action="store_true", help="a uniform-random-noise image")
    p.add_argument("--seed", type=o.seed, default=0, help="seed of the --random image (default 0)")
    o.add_data_options(p, None, "default: the dataset the model was trained on")
    p.set_defaults(func=run_predict)


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


def _image(args, ck) -> tuple[np.ndarray, str, int | None]:
    """The image to show: noise (--random) or test image --index; its title and label (None for noise)."""
    if args.random:
        image = np.random.default_rng(args.seed).random(runs.INPUTS, dtype=np.float32)
        return image, f"uniform random noise (seed {args.seed})", None
    loaded, x_test, y_test = o.model_test_set(args, ck)
    if args.index >= len(y_test):
        raise o.UsageError(f"--index {args.index} is out of range: the {loaded.name} test set has {len(y_test)} "
                           f"images (0..{len(y_test) - 1})")
    return x_test[args.index], f"{loaded.name} test image {args.index}", int(y_test[args.index])


def run_predict(args) -> int:
    model, ck = o.load_any_model(args.model)
    image, title, label = _image(args, ck)
    with np.errstate(over="ignore"):
        out = predict(model, image)
    o.refuse_non_finite(out, args.model, "outputs on this image")
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
    o.say(*lines)
    return 0
