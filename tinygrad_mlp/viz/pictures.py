"""Pictures of a network and its training (matplotlib, imported only when a picture is drawn).

Each function draws one figure with matplotlib's object-oriented API on an Agg canvas (no window, no
pyplot state) and writes it to ``path``, in the format its suffix names; ``path`` may also be an open
binary file (PNG), or left out (None) to get the matplotlib Figure back, as a notebook shows it."""


from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._guard import atomic_write
from ..errors import ArgumentError, ShapeError
from ..tensor_core import Tensor

# new_figure and save_figure are shared with viz.learning_plots' pictures, not part of the public API
__all__ = [
    "MATPLOTLIB_MISSING",
    "plot_first_layer_weights",
    "plot_training_curves",
    "plot_confusion",
    "worst_predictions",
    "plot_worst_digits",
    "plot_output_activations",
    "plot_decision_boundary",
    "plot_report",
]

MATPLOTLIB_MISSING = 'matplotlib is needed for pictures: pip install "tinygrad_mlp[viz]"'


# ---------------------------------------------------------------------- helpers


def new_figure(width: float, height: float, dpi: int):
    """A matplotlib Figure on an Agg canvas (no pyplot, no window), or a one-line ImportError."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(MATPLOTLIB_MISSING) from None
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path) -> Any:
    """Write ``fig`` to ``path`` and return ``path`` (a Path); ``path`` may also be an open binary file
    (PNG is written to it, it is returned), or None: then the Figure itself is returned, which a
    notebook shows inline."""
    if path is None:
        return fig
    if hasattr(path, "write"):
        fig.savefig(path, format="png", dpi=fig.dpi)
        return path
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    # atomically (a full disk leaves the previous picture, never an empty file), in the format the suffix names;
    # no bbox_inches="tight": the pixel size is exactly figsize * dpi
    return atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=fig.dpi), "the picture")


def _array(x) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _grid(n: int, cols: int | None) -> tuple[int, int]:
    cols = max(1, min(n, cols if cols else math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def _as_images(images, image_shape: tuple[int, int], what: str) -> np.ndarray:
    arr = _array(images).astype(np.float64)
    if arr.ndim == 3 and arr.shape[1:] == tuple(image_shape):
        return arr
    if arr.ndim == 2 and arr.shape[1] == image_shape[0] * image_shape[1]:
        return arr.reshape(-1, *image_shape)
    if arr.ndim == 1 and arr.size == image_shape[0] * image_shape[1]:
        return arr.reshape(1, *image_shape)
    raise ShapeError(f"{what}: expected images of shape (n, {image_shape[0] * image_shape[1]}) or "
                     f"(n, {image_shape[0]}, {image_shape[1]}), got {arr.shape}")


# ---------------------------------------------------------------------- pictures


def plot_first_layer_weights(weights, path=None, *, image_shape: tuple[int, int] = (28, 28), cols: int | None = None,
                             title: str | None = None, dpi: int = 100) -> Any:
    """Draw each first-layer neuron's incoming weights as an image, in a grid; returns ``path``.

    ``weights`` is W(1) of shape (neurons, 784) (a Tensor or an array): row ``j``
    holds the weights from every pixel to neuron ``j``, drawn as a 28x28 image.
    Positive weights are blue, negative red (the notes' colours), all panels on
    ONE symmetric scale ``[-max|w|, +max|w|]`` with a colour bar, so a pale panel
    really has small weights and white always means zero.
    """
    w = _array(weights).astype(np.float64)
    pixels = image_shape[0] * image_shape[1]
    if w.ndim != 2 or w.shape[1] != pixels:
        raise ShapeError(f"plot_first_layer_weights: weights must have shape (neurons, {pixels}), got {w.shape}")
    n = w.shape[0]
    rows, cols = _grid(n, cols)
    vmax = float(np.max(np.abs(w))) if w.size else 0.0
    vmax = vmax if vmax > 0 and np.isfinite(vmax) else 1.0
    cell = 1.5
    fig = new_figure(cols * cell + 1.4, rows * cell + 1.1, dpi)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=0.02, right=0.84, bottom=0.03, top=1 - 0.95 / (rows * cell + 1.1), wspace=0.08,
                        hspace=0.25)
    image = None
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < n:
            image = ax.imshow(w[k].reshape(image_shape), cmap="RdBu", vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_title(f"neuron {k}", fontsize=8, pad=2)
    cax = fig.add_axes((0.87, 0.08, 0.03, 0.75))
    bar = fig.colorbar(image, cax=cax)
    bar.set_label("weight (blue +, red -)")
    fig.suptitle(title or f"First-layer weights of {n} neurons, each as a "
                          f"{image_shape[0]}x{image_shape[1]} image (shared scale ±{vmax:.3g})", fontsize=10)
    return save_figure(fig, path)


def _history_columns(history) -> dict[str, list[float]]:
    """A training history (dict of lists, or a list of per-epoch dicts / dataclasses / objects) as columns."""
    if isinstance(history, dict):
        return {str(k): [float(x) for x in v] for k, v in history.items()
                if isinstance(v, (list, tuple, np.ndarray)) and all(_is_number(x) for x in v)}
    rows = []
    for row in history:
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            row = dataclasses.asdict(row)
        elif not isinstance(row, dict):
            row = vars(row)
        rows.append(row)
    keys = [k for k in dict.fromkeys(k for row in rows for k in row) if all(_is_number(r.get(k)) or r.get(k) is None
                                                                           for r in rows)]
    return {str(k): [float("nan") if r.get(k) is None else float(r[k]) for r in rows] for k in keys}


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def plot_training_curves(history, path=None, *, title: str | None = None, dpi: int = 100) -> Any:
    """Two panels: every ``*loss*`` column per epoch, and every ``*acc*`` column (e.g. test accuracy) per epoch.

    ``history`` is a dict of per-epoch lists (``{"train_loss": [...], "test_accuracy": [...]}``)
    or a list of per-epoch records (dicts, dataclasses or objects) with such fields;
    an ``epoch`` field, if present, gives the x axis.
    """
    cols = _history_columns(history)
    losses = [k for k in cols if "loss" in k.lower() or k.lower() in ("cost", "train_cost")]
    accs = [k for k in cols if "acc" in k.lower()]
    if not losses and not accs:
        raise ArgumentError(f"plot_training_curves: the history has no loss or accuracy columns (found {sorted(cols)})")
    n = max(len(cols[k]) for k in losses + accs)
    epochs = cols["epoch"] if len(cols.get("epoch", ())) == n else list(range(1, n + 1))
    fig = new_figure(10, 4, dpi)
    left, right = fig.subplots(1, 2)
    from matplotlib.ticker import MaxNLocator

    # accuracy in percent, as the command line prints it
    for ax, keys, label, scale in ((left, losses, "loss (cost)", 1.0), (right, accs, "accuracy (%)", 100.0)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for k in keys:
            values = np.asarray(cols[k], dtype=np.float64) * scale
            ax.plot(epochs[: len(cols[k])], values, marker="o", label=k.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if keys:
            ax.legend()
        else:
            ax.text(0.5, 0.5, f"no {label} recorded", ha="center", va="center", transform=ax.transAxes)
    left.set_title("loss per epoch")
    right.set_title("accuracy per epoch, percent")
    fig.suptitle(title or "Training curves")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_confusion(confusion, path=None, *, class_names: Sequence[str] | None = None, title: str | None = None,
                   dpi: int = 100) -> Any:
    """A confusion matrix (rows: true label, columns: the network's guess) with the counts written in."""
    c = _array(confusion)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ShapeError(f"plot_confusion: expected a square matrix, got shape {c.shape}")
    k = c.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    total = c.sum()
    accuracy = float(np.trace(c) / total) if total else float("nan")
    fig = new_figure(7, 6, dpi)
    ax = fig.subplots()
    image = ax.imshow(c, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="count")
    big = c.max() / 2 if c.size else 0
    for i in range(k):
        for j in range(k):
            value = c[i, j]
            text = f"{int(value)}" if float(value).is_integer() else f"{value:.2g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7 if k > 10 else 8,
                    color="white" if value > big else "black")
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("guess (the network's answer)")
    ax.set_ylabel("label (the right answer)")
    ax.set_title(title or f"Confusion matrix: {accuracy:.1%} correct (diagonal)")
    fig.tight_layout()
    return save_figure(fig, path)


def worst_predictions(outputs, labels, k: int = 16) -> np.ndarray:
    """Indices of the ``k`` worst-classified examples, worst first.

    "Worst" is the smallest margin: output for the true label minus the largest
    other output, so confidently wrong answers come first, then the narrow misses.
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ArgumentError(f"worst_predictions: k must be an int >= 0, got {k!r}")
    out = _array(outputs).astype(np.float64)
    y = _array(labels).astype(np.int64)
    if out.ndim != 2 or y.shape != (out.shape[0],):
        raise ShapeError(f"worst_predictions: need outputs (n, classes) and labels (n,), got {out.shape} and {y.shape}")
    rows = np.arange(len(y))
    true = out[rows, y]
    others = out.copy()
    others[rows, y] = -np.inf
    margin = true - others.max(axis=1)
    return np.argsort(margin, kind="stable")[:k]


def plot_worst_digits(images, labels, guesses, confidences, path=None, *, image_shape: tuple[int, int] = (28, 28),
                      cols: int | None = None, title: str | None = None, dpi: int = 100,
                      label_confidences=None) -> Any:
    """A grid of digits, each captioned ``label -> guess`` and the guess's output; wrong guesses in red.

    With ``label_confidences`` (the output for the right answer), the caption shows it too: after a long run
    nearly every worst guess has an output near 1.00, and what tells them apart is how little the right answer got.
    Pass the worst-classified test examples (see :func:`worst_predictions`).
    Pixels are drawn as in MNIST: 0 black, 1 white.
    """
    imgs = _as_images(images, image_shape, "plot_worst_digits")
    n = len(imgs)
    labels, guesses, confidences = (np.asarray(_array(v)).reshape(-1) for v in (labels, guesses, confidences))
    if not len(labels) == len(guesses) == len(confidences) == n:
        raise ShapeError(f"plot_worst_digits: {n} images but {len(labels)} labels, {len(guesses)} guesses and "
                         f"{len(confidences)} confidences")
    if n == 0:
        raise ArgumentError("plot_worst_digits: no images to draw")
    for_label = None if label_confidences is None else np.asarray(_array(label_confidences)).reshape(-1)
    if for_label is not None and len(for_label) != n:
        raise ShapeError(f"plot_worst_digits: {n} images but {len(for_label)} label confidences")
    rows, cols = _grid(n, cols)
    cell = 1.5
    fig = new_figure(cols * cell + 0.4, rows * (cell + 0.25) + 0.8, dpi)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.7 / (rows * (cell + 0.25) + 0.8), hspace=0.45)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        ax.imshow(imgs[k], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        wrong = int(labels[k]) != int(guesses[k])
        caption = f"label {int(labels[k])} → {int(guesses[k])}\n{int(guesses[k])}: {_share(confidences[k])}"
        if for_label is not None and wrong:
            caption += f", {int(labels[k])}: {_share(for_label[k])}"
        ax.set_title(caption, fontsize=9, color="crimson" if wrong else "black", pad=2)
    what = "the guess's output and the right answer's" if for_label is not None else "the guess's output"
    fig.suptitle(title or f"Worst-classified digits: label → guess; {what}", fontsize=10)
    return save_figure(fig, path)


def _share(v) -> str:
    """An output in [0, 1] in 3 significant figures at most: 0.999, 0.0031, 2e-05 (not "0.00" for all of those)."""
    v = float(v)
    return f"{v:.2f}" if v >= 0.1 else f"{v:.2g}" if v >= 1e-3 else f"{v:.0e}"


def plot_output_activations(image, activations, path=None, *, image_shape: tuple[int, int] = (28, 28),
                            title: str | None = None, dpi: int = 100) -> Any:
    """An input image beside the network's output activations (one bar per digit, the guess highlighted)."""
    img = _as_images(image, image_shape, "plot_output_activations")[0]
    act = _array(activations).astype(np.float64).reshape(-1)
    fig = new_figure(9, 3.8, dpi)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    left.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    left.set_axis_off()
    left.set_title("input")
    guess = int(np.argmax(act))
    colors = ["tab:orange" if i == guess else "tab:blue" for i in range(act.size)]
    right.barh(range(act.size), act, color=colors)
    right.set_yticks(range(act.size), [str(i) for i in range(act.size)])
    right.invert_yaxis()
    right.set_xlabel("output activation")
    right.set_ylabel("output neuron (digit)")
    if act.min() >= 0 and act.max() <= 1:
        right.set_xlim(0, 1.12)  # room for the value written after a full bar
    for i, v in enumerate(act):
        right.text(v, i, f" {v:.2f}", va="center", fontsize=8)
    right.set_title(f"guess {guess} (activation {act[guess]:.2f})")
    fig.suptitle(title or "What the network answers")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], points, labels, path=None, *,
                           resolution: int = 200, margin: float = 0.5, title: str | None = None,
                           dpi: int = 100) -> Any:
    """Colour the plane by a 2-D classifier's answer and scatter the data over it.

    ``predict`` maps an (m, 2) array of points to (m, classes) outputs (or (m,)
    scores for two classes, class 1 where the score is > 0.5); the region of each
    class is shaded and, for two classes, the 0.5 contour drawn as the boundary.
    """
    pts = _array(points).astype(np.float64)
    y = _array(labels).astype(np.int64).reshape(-1)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(y) != len(pts):
        raise ShapeError(f"plot_decision_boundary: need points (n, 2) and labels (n,), got {pts.shape} and {y.shape}")
    lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    out = _array(predict(grid)).astype(np.float64)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim == 1:
        score = out.reshape(gx.shape)
        classes = (score > 0.5).astype(int)
        n_classes = 2
    else:
        n_classes = out.shape[1]
        classes = out.argmax(axis=1).reshape(gx.shape)
        score = None
        if n_classes == 2:  # the share of class 1 among the two outputs: 0.5 on the boundary
            score = _softmax_rows(out)[:, 1].reshape(gx.shape) if out.min() < 0 or out.max() > 1 \
                else (out[:, 1] / np.maximum(out.sum(axis=1), 1e-12)).reshape(gx.shape)
    fig = new_figure(6.4, 5.6, dpi)
    ax = fig.subplots()
    n_classes = max(n_classes, int(y.max()) + 1)
    cmap = "coolwarm" if n_classes == 2 else "tab10"
    ax.contourf(gx, gy, classes, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.3,
                vmin=-0.5, vmax=n_classes - 0.5)
    if score is not None:
        ax.contour(gx, gy, score, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(pts[:, 0], pts[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5, s=12, edgecolors="k",
               linewidths=0.3)
    accuracy = float(np.mean(_array(predict(pts)).reshape(len(pts), -1).argmax(axis=1) == y)) \
        if out.ndim == 2 else float(np.mean((_array(predict(pts)).reshape(-1) > 0.5) == y))
    ax.set_title(title or f"Decision regions ({accuracy:.1%} of the points on the right side)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    fig.tight_layout()
    return save_figure(fig, path)


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Each row's softmax: the library's own (``Tensor.softmax``), on plain arrays."""
    return Tensor(logits).softmax(axis=1).numpy()


def plot_report(model, x_test, y_test, folder, *, history=None, k: int = 16, batch_size: int = 1000) -> list[Path]:
    """All the pictures of a trained digit reader, in ``folder``; returns their paths.

    ``weights.png`` (when the first layer takes 28x28 images), ``confusion.png``,
    ``worst.png`` (the ``k`` worst-classified test digits) and, given a training
    ``history``, ``curves.png``. Confidences are the output activations, or the
    softmax of the outputs for a model with a linear output layer (raw logits).
    This is what ``tinygrad-mlp train --plot`` and ``eval --plot`` draw.
    """
    from ..tensor_core import no_grad

    folder = Path(folder)
    x_test, y_test = np.asarray(x_test), np.asarray(y_test).astype(np.int64)
    with no_grad():
        outputs = np.concatenate([_array(model(Tensor(x_test[i:i + batch_size])))
                                  for i in range(0, len(x_test), batch_size)]).astype(np.float64)
    if getattr(model, "output_activation", "sigmoid") is None:  # logits: show probabilities
        confidence = _softmax_rows(outputs)
    else:
        confidence = outputs
    guesses = outputs.argmax(axis=1)
    classes = outputs.shape[1]
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (y_test, guesses), 1)
    paths = []
    weights = getattr(model, "weights", None)
    if weights and _array(weights[0]).shape[1:] == (784,):
        paths.append(plot_first_layer_weights(weights[0], folder / "weights.png"))
    if history:
        paths.append(plot_training_curves(history, folder / "curves.png"))
    paths.append(plot_confusion(confusion, folder / "confusion.png"))
    worst = worst_predictions(outputs, y_test, k)
    if x_test.shape[1:] == (784,) and len(worst):
        paths.append(plot_worst_digits(x_test[worst], y_test[worst], guesses[worst],
                                       confidence[worst, guesses[worst]], folder / "worst.png",
                                       label_confidences=confidence[worst, y_test[worst]]))
    return paths


