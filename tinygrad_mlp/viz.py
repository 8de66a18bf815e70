"""See inside: pictures of a network, drawings of its computation graph, and the backward pass in words.

Pictures (PNG or any format matplotlib writes, chosen by the file's suffix):

* :func:`plot_first_layer_weights`: each first-layer neuron's 784 weights as a
  28x28 image, positive blue and negative red on one shared symmetric scale;
* :func:`plot_training_curves`: loss and test accuracy per epoch;
* :func:`plot_confusion`, :func:`plot_worst_digits` (with :func:`worst_predictions`);
* :func:`plot_output_activations`: an image next to the network's ten outputs;
* :func:`plot_decision_boundary`: a 2-D classifier's regions and its data.

matplotlib is an optional extra (``pip install "tinygrad_mlp[viz]"``). It is
imported only when a picture is drawn, and only its object-oriented API with
the Agg canvas is used: no window ever opens, and pyplot's global state (and
backend) is left alone, so these work the same in scripts, tests and notebooks.

Text (numpy only):

* :func:`to_dot`: Graphviz DOT source of the graph that produced a tensor, and
  :func:`render_dot` to turn it into a picture when Graphviz's ``dot`` program is
  installed (it is optional; otherwise the ``.dot`` file is written);
* :func:`explain_backward`: the backward pass narrated node by node, by calling
  each primitive's own backward; :func:`explain` builds the notes' one-neuron
  chain (or a tiny network) and narrates it, ending with the closed form.

``backward()`` releases the graph as it walks it (unless ``retain_graph=True``),
so draw or explain a graph *before* calling backward, or call
``backward(retain_graph=True)`` if the drawing should show the gradients.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import GraphError, ShapeError
from .tensor import Tensor, _unbroadcast, graph_tensors

__all__ = [
    "MATPLOTLIB_MISSING",
    "plot_first_layer_weights",
    "plot_training_curves",
    "plot_confusion",
    "plot_worst_digits",
    "worst_predictions",
    "plot_output_activations",
    "plot_decision_boundary",
    "plot_report",
    "to_dot",
    "render_dot",
    "explain_backward",
    "one_neuron_chain",
    "explain",
    "EXPLAIN_MAX_WIDTH",
]

MATPLOTLIB_MISSING = 'matplotlib is needed for pictures: pip install "tinygrad_mlp[viz]"'


# ---------------------------------------------------------------------- helpers


def _figure(width: float, height: float, dpi: int):
    """A matplotlib Figure on an Agg canvas (no pyplot, no window), or a one-line ImportError."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(MATPLOTLIB_MISSING) from None
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=fig.dpi)  # no bbox_inches="tight": the pixel size is exactly figsize * dpi
    return path


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


def plot_first_layer_weights(weights, path, *, image_shape: tuple[int, int] = (28, 28), cols: int | None = None,
                             title: str | None = None, dpi: int = 100) -> Path:
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
    fig = _figure(cols * cell + 1.4, rows * cell + 1.1, dpi)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=0.02, right=0.84, bottom=0.03, top=1 - 0.95 / (rows * cell + 1.1), wspace=0.08, hspace=0.25)
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
    return _save(fig, path)


def _history_columns(history) -> dict[str, list[float]]:
    """A training history (dict of lists, or a list of per-epoch dicts / dataclasses / objects) as columns."""
    if isinstance(history, dict):
        return {str(k): [float(x) for x in v] for k, v in history.items()
                if isinstance(v, (list, tuple, np.ndarray)) and all(_is_number(x) for x in v)}
    rows = []
    for row in history:
        if dataclasses.is_dataclass(row):
            row = dataclasses.asdict(row)
        elif not isinstance(row, dict):
            row = vars(row)
        rows.append(row)
    keys = [k for k in dict.fromkeys(k for row in rows for k in row) if all(_is_number(r.get(k)) or r.get(k) is None
                                                                           for r in rows)]
    return {str(k): [float("nan") if r.get(k) is None else float(r[k]) for r in rows] for k in keys}


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def plot_training_curves(history, path, *, title: str | None = None, dpi: int = 100) -> Path:
    """Two panels: every ``*loss*`` column per epoch, and every ``*acc*`` column (e.g. test accuracy) per epoch.

    ``history`` is a dict of per-epoch lists (``{"train_loss": [...], "test_accuracy": [...]}``)
    or a list of per-epoch records (dicts, dataclasses or objects) with such fields;
    an ``epoch`` field, if present, gives the x axis.
    """
    cols = _history_columns(history)
    losses = [k for k in cols if "loss" in k.lower() or k.lower() in ("cost", "train_cost")]
    accs = [k for k in cols if "acc" in k.lower()]
    if not losses and not accs:
        raise ValueError(f"plot_training_curves: the history has no loss or accuracy columns (found {sorted(cols)})")
    n = max(len(cols[k]) for k in losses + accs)
    epochs = cols.get("epoch") if len(cols.get("epoch", ())) == n else list(range(1, n + 1))
    fig = _figure(10, 4, dpi)
    left, right = fig.subplots(1, 2)
    from matplotlib.ticker import MaxNLocator

    for ax, keys, label in ((left, losses, "loss (cost)"), (right, accs, "accuracy")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for k in keys:
            ax.plot(epochs[: len(cols[k])], cols[k], marker="o", label=k.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if keys:
            ax.legend()
        else:
            ax.text(0.5, 0.5, f"no {label} recorded", ha="center", va="center", transform=ax.transAxes)
    left.set_title("loss per epoch")
    right.set_title("accuracy per epoch")
    fig.suptitle(title or "Training curves")
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion(confusion, path, *, class_names: Sequence[str] | None = None, title: str | None = None,
                   dpi: int = 100) -> Path:
    """A confusion matrix (rows: true label, columns: the network's guess) with the counts written in."""
    c = _array(confusion)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ShapeError(f"plot_confusion: expected a square matrix, got shape {c.shape}")
    k = c.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    total = c.sum()
    accuracy = float(np.trace(c) / total) if total else float("nan")
    fig = _figure(7, 6, dpi)
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
    return _save(fig, path)


def worst_predictions(outputs, labels, k: int = 16) -> np.ndarray:
    """Indices of the ``k`` worst-classified examples, worst first.

    "Worst" is the smallest margin: output for the true label minus the largest
    other output, so confidently wrong answers come first, then the narrow misses.
    """
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


def plot_worst_digits(images, labels, guesses, confidences, path, *, image_shape: tuple[int, int] = (28, 28),
                      cols: int | None = None, title: str | None = None, dpi: int = 100) -> Path:
    """A grid of digits, each captioned ``label -> guess (confidence)``; wrong guesses in red.

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
        raise ValueError("plot_worst_digits: no images to draw")
    rows, cols = _grid(n, cols)
    cell = 1.5
    fig = _figure(cols * cell + 0.4, rows * (cell + 0.25) + 0.8, dpi)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.7 / (rows * (cell + 0.25) + 0.8), hspace=0.45)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        ax.imshow(imgs[k], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        wrong = int(labels[k]) != int(guesses[k])
        ax.set_title(f"label {int(labels[k])} → {int(guesses[k])}\n({float(confidences[k]):.2f})", fontsize=8,
                     color="crimson" if wrong else "black", pad=2)
    fig.suptitle(title or "Worst-classified digits: label → guess (confidence)", fontsize=10)
    return _save(fig, path)


def plot_output_activations(image, activations, path, *, image_shape: tuple[int, int] = (28, 28),
                            title: str | None = None, dpi: int = 100) -> Path:
    """An input image beside the network's output activations (one bar per digit, the guess highlighted)."""
    img = _as_images(image, image_shape, "plot_output_activations")[0]
    act = _array(activations).astype(np.float64).reshape(-1)
    fig = _figure(9, 3.8, dpi)
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
    return _save(fig, path)


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], points, labels, path, *,
                           resolution: int = 200, margin: float = 0.5, title: str | None = None,
                           dpi: int = 100) -> Path:
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
            e = np.exp(out - out.max(axis=1, keepdims=True))
            score = (e[:, 1] / e.sum(axis=1)).reshape(gx.shape) if out.min() < 0 or out.max() > 1 \
                else (out[:, 1] / np.maximum(out.sum(axis=1), 1e-12)).reshape(gx.shape)
    fig = _figure(6.4, 5.6, dpi)
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
    return _save(fig, path)


def plot_report(model, x_test, y_test, folder, *, history=None, k: int = 16, batch_size: int = 1000) -> list[Path]:
    """All the pictures of a trained digit reader, in ``folder``; returns their paths.

    ``weights.png`` (when the first layer takes 28x28 images), ``confusion.png``,
    ``worst.png`` (the ``k`` worst-classified test digits) and, given a training
    ``history``, ``curves.png``. Confidences are the output activations, or the
    softmax of the outputs for a model with a linear output layer (raw logits).
    This is what ``tinygrad-mlp train --plot`` and ``eval --plot`` draw.
    """
    from .tensor import no_grad

    folder = Path(folder)
    x_test, y_test = np.asarray(x_test), np.asarray(y_test).astype(np.int64)
    with no_grad():
        outputs = np.concatenate([_array(model(Tensor(x_test[i:i + batch_size])))
                                  for i in range(0, len(x_test), batch_size)]).astype(np.float64)
    if getattr(model, "output_activation", "sigmoid") is None:  # logits: show probabilities
        e = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        confidence = e / e.sum(axis=1, keepdims=True)
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
                                       confidence[worst, guesses[worst]], folder / "worst.png"))
    return paths


# ---------------------------------------------------------------------- the graph as text


def _fmt(a, precision: int = 4) -> str:
    """A number, or a small array on one line."""
    a = np.asarray(a)
    if a.size == 1:
        return f"{float(a.reshape(())):.{precision}g}"
    suffix = ""
    if a.ndim == 2 and a.shape[1] == 1:  # a column vector, as the notes write activations
        a, suffix = a[:, 0], "^T"
    text = np.array2string(a, precision=precision, separator=", ", max_line_width=10_000, suppress_small=True)
    return " ".join(line.strip() for line in text.splitlines()) + suffix


def _d(name: str) -> str:
    """``d`` in front of a name, with parentheses when the name is an expression: dz1, d(w1*a0)."""
    return f"d{name}" if name.replace("_", "").isalnum() else f"d({name})"


def _namer(tensors: Sequence[Tensor]) -> dict[int, str]:
    """A display name for every tensor: its ``.name``; else a one-element constant's value, const<k>, or t<k>."""
    names, k, c = {}, 0, 0
    for t in tensors:
        if t.name:
            names[id(t)] = str(t.name)
        elif t._ctx is None and not t.requires_grad:  # a constant: an input, a target, a number
            if t.size == 1:
                names[id(t)] = _fmt(t.data)
            else:
                names[id(t)] = f"const{c}"
                c += 1
        else:
            names[id(t)] = f"t{k}"
            k += 1
    return names


def _check_graph(root: Tensor, what: str) -> None:
    if not isinstance(root, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(root).__name__}")
    if root._ctx is not None and root._ctx.parents is None:
        raise GraphError(f"{what}: the graph behind this tensor was released by backward(); draw it before calling "
                         "backward(), or call backward(retain_graph=True)")


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _op_label(fn) -> str:
    extras = []
    for attr in ("axis", "axes", "shape"):
        if attr in getattr(type(fn), "__slots__", ()) and hasattr(fn, attr):
            value = getattr(fn, attr)
            if value is not None:
                extras.append(f"{attr}={value}")
    return fn.name + (f"\n{', '.join(extras)}" if extras else "")


def to_dot(root: Tensor, *, rankdir: str = "LR", title: str | None = None, precision: int = 4) -> str:
    """Graphviz DOT source for the computation graph that produced ``root``.

    One box per tensor (its ``.name`` if set, its shape, its value when it has one
    element and, when it has one, the norm of its ``.grad``, or the gradient
    itself for one element) and one ellipse per op, labelled with the primitive's
    name. Parameters (leaves that require grad) are filled blue, constants grey,
    the root orange. Built from :func:`graph_tensors`, so any depth works.

    ``backward()`` releases the graph unless called with ``retain_graph=True``:
    draw before backward, or use ``retain_graph=True`` to see the leaves' gradients.
    """
    _check_graph(root, "to_dot")
    tensors = graph_tensors(root)
    names = _namer(tensors)
    index = {id(t): i for i, t in enumerate(tensors)}
    lines = [f'digraph "{_dot_escape(title or "graph")}" {{', f"  rankdir={rankdir};",
             '  graph [fontname="Helvetica"];', '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8];']
    if title:
        lines.append(f'  label="{_dot_escape(title)}"; labelloc=t; fontsize=12;')
    for t in tensors:
        i = index[id(t)]
        parts = [names[id(t)]] if (t.name or t._ctx is not None or t.requires_grad or t.size != 1) else []
        if t.size == 1:
            parts.append(f"= {_fmt(t.data, precision)}" if parts else _fmt(t.data, precision))
        else:
            parts.append(f"shape {tuple(t.shape)}")
        if t.grad is not None:
            g = _array(t.grad)
            parts.append(f"grad {_fmt(g, precision)}" if g.size == 1
                         else f"|grad| {float(np.linalg.norm(g.astype(np.float64))):.{precision}g}")
        if t is root:
            style = 'style=filled, fillcolor="#fdd49e"'
        elif t._ctx is not None:
            style = 'style=filled, fillcolor="white"'
        elif t.requires_grad:
            style = 'style=filled, fillcolor="#c6dbef"'
        else:
            style = 'style="filled,dashed", fillcolor="#eeeeee"'
        lines.append(f'  t{i} [shape=box, label="{_dot_escape(chr(10).join(parts))}", {style}];')
    for t in tensors:
        fn = t._ctx
        if fn is None or fn.parents is None:
            continue
        i = index[id(t)]
        lines.append(f'  op{i} [shape=ellipse, label="{_dot_escape(_op_label(fn))}"];')
        many = len(fn.parents) > 1
        for k, p in enumerate(fn.parents):
            attrs = f' [label="{k}"]' if many else ""
            lines.append(f"  t{index[id(p)]} -> op{i}{attrs};")
        lines.append(f"  op{i} -> t{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_dot(dot_text: str, out_path, *, quiet: bool = False) -> Path:
    """Render DOT text to ``out_path`` (format from its suffix: .png, .svg, .pdf ...) with Graphviz's ``dot``.

    Graphviz is optional. When ``dot`` is not installed (or ``out_path`` ends in
    ``.dot``) the DOT text is written to ``out_path`` with a ``.dot`` suffix and,
    unless ``quiet``, a line says how to render it. Returns the path written.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dot_path = out_path.with_suffix(".dot")
    dot = shutil.which("dot")
    if out_path.suffix.lower() in ("", ".dot", ".gv") or dot is None:
        dot_path.write_text(dot_text, encoding="utf-8")
        if not quiet and out_path.suffix.lower() not in ("", ".dot", ".gv"):
            fmt = out_path.suffix.lstrip(".") or "png"
            print(f"Graphviz 'dot' was not found, so wrote the graph as {dot_path}; render it with "
                  f"`dot -T{fmt} {dot_path} -o {out_path}` (install Graphviz, e.g. apt-get install graphviz) "
                  "or paste the file into an online Graphviz viewer.")
        return dot_path
    fmt = out_path.suffix.lstrip(".").lower()
    result = subprocess.run([dot, f"-T{fmt}", "-o", os.fspath(out_path)], input=dot_text, text=True,
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"render_dot: dot failed ({result.returncode}): {result.stderr.strip()}")
    return out_path


# ---------------------------------------------------------------------- the backward pass in words

# What each primitive's local derivative is, in words. Only for reading: every number printed
# comes from the primitive's own backward().
_LOCAL_RULES = {
    "Add": "d(x + y)/dx = 1, d(x + y)/dy = 1",
    "Sub": "d(x - y)/dx = 1, d(x - y)/dy = -1",
    "Mul": "d(x y)/dx = y, d(x y)/dy = x",
    "Div": "d(x / y)/dx = 1/y, d(x / y)/dy = -x/y^2",
    "Pow": "d(x^p)/dx = p x^(p-1)",
    "Neg": "d(-x)/dx = -1",
    "Exp": "d(e^x)/dx = e^x",
    "Log": "d(log x)/dx = 1/x",
    "Sigmoid": "d sigmoid(z)/dz = sigmoid(z) (1 - sigmoid(z)) = a (1 - a)",
    "Tanh": "d tanh(z)/dz = 1 - tanh(z)^2",
    "Relu": "d relu(z)/dz = 1 if z > 0 else 0",
    "Sum": "d(sum x)/dx_i = 1 for every i",
    "MatMul": "d(W a)_i/dW_ij = a_j, d(W a)_i/da_j = W_ij",
    "Linear": "z = x W^T + b: dz/dW = x, dz/dx = W, dz/db = 1",
    "Maximum": "1 for the larger input, 0 for the other (1/2 each at a tie)",
    "LogSoftmax": "I - softmax(x)",
    "Reshape": "moves numbers, derivative 1",
    "Transpose": "moves numbers, derivative 1",
    "Expand": "copies numbers: the copies' gradients add up",
    "GetItem": "picks numbers: 1 where picked, 0 elsewhere",
    "Where": "1 where chosen, 0 elsewhere",
    "Concatenate": "moves numbers, derivative 1",
}


def _local_jacobian(fn, out: Tensor, i: int, xs: list[np.ndarray]) -> np.ndarray:
    """d out / d parents[i] as a (out.size, parent.size) matrix, one primitive backward per output element."""
    shape = fn.parents[i].data.shape
    rows = []
    for k in range(out.size):
        seed = np.zeros(out.data.shape, dtype=out.data.dtype)
        seed.reshape(-1)[k] = 1
        g = fn.backward(seed, out.data, *xs)[i]
        g = np.zeros(shape) if g is None else np.asarray(g)
        if g.shape != shape:
            g = _unbroadcast(g, shape)
        rows.append(np.asarray(g, dtype=np.float64).reshape(-1))
    return np.array(rows)


def _describe_jacobian(jac: np.ndarray, out_shape, parent_shape, precision: int) -> str:
    if jac.size == 1:
        return _fmt(jac, precision)
    if tuple(out_shape) == tuple(parent_shape) and np.allclose(jac, np.diag(np.diag(jac))):
        return f"diag({_fmt(np.diag(jac), precision)})  (elementwise)"
    return (f"{jac.shape[0]}x{jac.shape[1]} Jacobian {_fmt(jac, precision)}  (a row per output element, "
            "a column per input element)")


def explain_backward(root: Tensor, *, precision: int = 4, max_jacobian: int = 64) -> tuple[str, dict[int, np.ndarray]]:
    """Run the backward pass of ``root`` by hand, one primitive at a time, and describe each step.

    The graph is walked with :func:`graph_tensors` in reverse creation order (every
    node is reached after all the nodes that used it). At each node the text
    shows the gradient arriving (dC/d node), each input's local derivative (the
    Jacobian d node / d input, got by calling the primitive's ``backward`` with
    one-hot seeds when it is at most ``max_jacobian`` numbers), and the product
    passed on to that input: exactly what the primitive's ``backward`` returns
    for the arriving gradient, summed back over broadcast axes as the engine does.

    ``root`` must have one element and a live graph (call this before
    ``backward()``). The tensors are not modified and no ``.grad`` is set.
    Returns ``(text, grads)`` with ``grads`` mapping ``id(tensor)`` to dC/d tensor
    for every tensor of the graph that needs a gradient.
    """
    _check_graph(root, "explain_backward")
    if root.size != 1:
        raise ShapeError(f"explain_backward: the root must be a one-element cost, got shape {root.shape}")
    if not root.requires_grad:
        raise GraphError("explain_backward: the root does not require grad, so it has no graph to walk")
    tensors = graph_tensors(root)
    names = _namer(tensors)
    rname = names[id(root)]
    grads: dict[int, np.ndarray] = {id(root): np.ones(root.data.shape, dtype=root.data.dtype)}
    sources: dict[int, int] = {id(root): 1}
    lines = [f"Backward pass: start at {rname} with {_d(rname)}/{_d(rname)} = 1, then visit every op from the "
             "last one made back to the first,", "multiplying the gradient that arrives by each input's local "
             "derivative (the chain rule):", ""]
    ops = [t for t in tensors if t._ctx is not None and t._ctx.parents is not None]
    for step, t in enumerate(reversed(ops), start=1):
        fn = t._ctx
        g = grads.get(id(t))
        if g is None:
            continue
        parents = fn.parents
        pnames = ", ".join(names[id(p)] for p in parents)
        xs = [p.data for p in parents]
        lines.append(f"step {step}: {names[id(t)]} = {fn.name}({pnames}) = {_fmt(t.data, precision)}")
        if fn.name in _LOCAL_RULES:
            lines.append(f"    rule      {_LOCAL_RULES[fn.name]}")
        summed = f"  (sum of {sources[id(t)]} contributions)" if sources.get(id(t), 1) > 1 else ""
        lines.append(f"    incoming  {_d(rname)}/{_d(names[id(t)])} = {_fmt(g, precision)}{summed}")
        in_grads = fn.backward(g, t.data, *xs)
        for i, p in enumerate(parents):
            pg = in_grads[i]
            if pg is None or not p.requires_grad:
                continue
            pg = np.asarray(pg)
            if pg.shape != p.data.shape:
                pg = _unbroadcast(pg, p.data.shape)
            pn = names[id(p)]
            if t.size * p.size <= max_jacobian:
                jac = _local_jacobian(fn, t, i, xs)
                local = _describe_jacobian(jac, t.shape, p.shape, precision)
                lines.append(f"    local     {_d(names[id(t)])}/{_d(pn)} = {local}")
            if g.size == 1 and pg.size == 1 and t.size * p.size <= max_jacobian:
                product = f"{_fmt(g, precision)} x {_fmt(jac, precision)} = {_fmt(pg, precision)}"
            else:
                product = _fmt(pg, precision)
            lines.append(f"    passes    {_d(rname)}/{_d(pn)} {'+' if id(p) in grads else ''}= {product}")
            if id(p) in grads:
                grads[id(p)] = grads[id(p)] + pg
                sources[id(p)] += 1
            else:
                grads[id(p)] = pg
                sources[id(p)] = 1
        lines.append("")
    leaves = [t for t in tensors if t._ctx is None and t.requires_grad]
    if leaves:
        lines.append("Gradients that reached the parameters (leaves):")
        width = max(len(names[id(t)]) for t in leaves)
        for t in leaves:
            value = grads.get(id(t))
            lines.append(f"    {_d(rname)}/{_d(names[id(t)]):<{width + 1}} = "
                         f"{_fmt(value, precision) if value is not None else '0 (not reached)'}")
    return "\n".join(lines), grads


# ---------------------------------------------------------------------- the notes' examples, explained


def _rounded(rng: np.random.Generator, shape, scale: float = 1.0) -> np.ndarray:
    return np.round(rng.standard_normal(shape) * scale, 2)


EXPLAIN_MAX_WIDTH = 8


def _parse_sizes(sizes, what: str) -> list[int]:
    """Layer widths from a list or a string like "2-2-1"; at least two, all >= 1 (ShapeError otherwise)."""
    if isinstance(sizes, str):
        try:
            sizes = [int(s) for s in sizes.replace(",", "-").split("-")]
        except ValueError:
            raise ShapeError(f"{what}: layer widths must look like 1-1-1-1 or 2-2-1, got {sizes!r}") from None
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ShapeError(f"{what}: give at least two layer widths, all >= 1, got {sizes}")
    return sizes


def one_neuron_chain(sizes: Sequence[int] | str = (1, 1, 1, 1), *, seed: int = 0, x=None, y=None) -> tuple[Tensor, dict]:
    """Build the notes' cost C0 = sum((a(L) - y)^2) with a(l) = sigmoid(W(l) a(l-1) + b(l)), in float64.

    With every width 1 (the default: input and three layers of one neuron) it is
    the notes' chain of scalars, ``z_l = w_l a_(l-1) + b_l``; otherwise a tiny
    network with column vectors, ``z(l) = W(l) @ a(l-1) + b(l)`` (e.g. sizes 2-2-1).
    Weights and biases are random (rounded to 2 decimals, from ``seed``); ``x``
    defaults to random pixel-like values, ``y`` to 1 for the first output, 0 elsewhere.

    Returns ``(C0, parts)``: ``parts`` maps the notes' names (a0, y, w1, b1, z1, a1 ...)
    to the Tensors, every one of them named for :func:`to_dot` and :func:`explain_backward`.
    """
    sizes = _parse_sizes(sizes, "one_neuron_chain")
    rng = np.random.default_rng(seed)
    scalar = all(n == 1 for n in sizes)
    L = len(sizes) - 1
    x = np.round(rng.uniform(0.1, 0.9, sizes[0]), 2) if x is None else np.asarray(x, dtype=np.float64)
    yv = np.eye(sizes[-1])[0] if y is None else np.asarray(y, dtype=np.float64)
    parts: dict[str, Tensor] = {}
    if scalar:  # one-element vectors rather than 0-d arrays: every op keeps a real ndarray
        a = Tensor(np.reshape(x, -1)[:1].astype(np.float64), name="a0")
        target = Tensor(np.reshape(yv, -1)[:1].astype(np.float64), name="y")
    else:
        a = Tensor(np.reshape(x, (sizes[0], 1)).astype(np.float64), name="a0")
        target = Tensor(np.reshape(yv, (sizes[-1], 1)).astype(np.float64), name="y")
    parts["a0"], parts["y"] = a, target
    for l in range(1, L + 1):
        n_in, n_out = sizes[l - 1], sizes[l]
        if scalar:
            w = Tensor(_rounded(rng, 1), requires_grad=True, name=f"w{l}")
            b = Tensor(_rounded(rng, 1, 0.5), requires_grad=True, name=f"b{l}")
            wa = w * a
            wa.name = f"w{l}*a{l - 1}"
        else:
            w = Tensor(_rounded(rng, (n_out, n_in)), requires_grad=True, name=f"W{l}")
            b = Tensor(_rounded(rng, (n_out, 1), 0.5), requires_grad=True, name=f"b{l}")
            wa = w @ a
            wa.name = f"W{l}@a{l - 1}"
        z = wa + b
        z.name = f"z{l}"
        a = z.sigmoid()
        a.name = f"a{l}"
        parts.update({w.name: w, b.name: b, wa.name: wa, z.name: z, a.name: a})
    diff = a - target
    diff.name = f"a{L}-y"
    sq = diff**2
    if scalar:
        cost = sq
    else:
        sq.name = f"(a{L}-y)^2"
        cost = sq.sum()
        parts[sq.name] = sq
    cost.name = "C0"
    parts[diff.name], parts["C0"] = diff, cost
    return cost, parts


def _closed_form(parts: dict, L: int, scalar: bool) -> list[tuple[str, str, np.ndarray]]:
    """The notes' closed form, written out by hand (the only hand derivatives here): for the comparison."""
    a = {l: parts[f"a{l}"].data for l in range(L + 1)}
    y = parts["y"].data
    W = {l: parts[f"w{l}" if scalar else f"W{l}"].data for l in range(1, L + 1)}
    rows = []
    # delta(L) = sigmoid'(z(L)) 2(a(L) - y), sigmoid'(z) = a (1 - a); delta(l) = sigmoid'(z(l)) W(l+1)^T delta(l+1)
    delta = a[L] * (1 - a[L]) * 2 * (a[L] - y)
    chain = "sigmoid'(z{L}) 2(a{L} - y)"
    for l in range(L, 0, -1):
        wname, bname = (f"w{l}", f"b{l}") if scalar else (f"W{l}", f"b{l}")
        if scalar:
            rows.append((wname, f"a{l - 1} {chain.format(L=L)}", a[l - 1] * delta))
        else:
            rows.append((wname, f"delta{l} a{l - 1}^T", delta @ a[l - 1].T))
        rows.append((bname, chain.format(L=L) if scalar else f"delta{l}", delta))
        if l > 1:
            delta = a[l - 1] * (1 - a[l - 1]) * (W[l] * delta if scalar else W[l].T @ delta)
            chain = f"sigmoid'(z{l - 1}) w{l} " + chain
    return rows


def explain(sizes: Sequence[int] | str = (1, 1, 1, 1), *, seed: int = 0, x=None, y=None,
            precision: int = 4) -> str:
    """The text of ``tinygrad-mlp explain``: the notes' chain (or a tiny network) forward, backward, and checked.

    ``sizes`` is a list of widths or a string like ``"1-1-1-1"`` (the default:
    one neuron per layer, three layers, C0 = (a3 - y)^2) or ``"2-2-1"``. Prints
    the forward values, the backward pass node by node (:func:`explain_backward`),
    then the parameters' gradients three ways: from that walk, from the engine's
    ``backward()``, and from the notes' closed form dC0/dw(L) = a(L-1) sigmoid'(z(L)) 2(a(L) - y).
    """
    sizes = _parse_sizes(sizes, "explain")
    if max(sizes) > EXPLAIN_MAX_WIDTH:
        raise ShapeError(f"explain: layer widths up to {EXPLAIN_MAX_WIDTH} keep the printout readable, got "
                         f"{'-'.join(map(str, sizes))}; try 1-1-1-1 or 2-2-1")
    cost, parts = one_neuron_chain(sizes, seed=seed, x=x, y=y)
    L, scalar = len(sizes) - 1, all(n == 1 for n in sizes)
    p = precision
    out = []
    if scalar:
        out.append(f"The notes' chain: one neuron per layer, {L} layers, one training example.")
        out.append("  z_l = w_l a_(l-1) + b_l,   a_l = sigmoid(z_l),   C0 = (a_L - y)^2")
    else:
        out.append(f"A tiny network {'-'.join(map(str, sizes))}, one training example (column vectors).")
        out.append("  z(l) = W(l) @ a(l-1) + b(l),   a(l) = sigmoid(z(l)),   C0 = sum((a(L) - y)^2)")
    out.append("")
    out.append("Forward pass:")
    out.append(f"  a0 = {_fmt(parts['a0'].data, p)} (input),  y = {_fmt(parts['y'].data, p)} (target)")
    for l in range(1, L + 1):
        wn = f"w{l}" if scalar else f"W{l}"
        out.append(f"  {wn} = {_fmt(parts[wn].data, p)},  b{l} = {_fmt(parts[f'b{l}'].data, p)}  ->  "
                   f"z{l} = {_fmt(parts[f'z{l}'].data, p)},  a{l} = sigmoid(z{l}) = {_fmt(parts[f'a{l}'].data, p)}")
    out.append(f"  C0 = {_fmt(cost.data, p)}")
    out.append("")
    text, grads = explain_backward(cost, precision=p)
    out.append(text)
    out.append("")
    cost.backward()  # the engine's own walk, for the comparison (this releases the graph)
    out.append("The same gradients three ways: the walk above, the engine's backward(), and the closed form")
    out.append("(notes: dC0/dw_L = a_(L-1) sigmoid'(z_L) 2(a_L - y), dC0/db_L = sigmoid'(z_L) 2(a_L - y);")
    if scalar:
        out.append(" each earlier layer adds one factor w sigmoid'(z) to the chain):")
    else:
        out.append(" with vectors: delta(L) = sigmoid'(z(L)) * 2(a(L) - y), delta(l) = sigmoid'(z(l)) * W(l+1)^T delta(l+1),")
        out.append(" dC0/dW(l) = delta(l) a(l-1)^T, dC0/db(l) = delta(l); sigmoid'(z) = a (1 - a)):")
    for name, formula, value in _closed_form(parts, L, scalar):
        t = parts[name]
        engine = t.grad.data if t.grad is not None else np.zeros_like(t.data)
        walked = grads[id(t)]
        agree = np.allclose(walked, engine, rtol=1e-9, atol=1e-12) and np.allclose(value, engine, rtol=1e-9,
                                                                                   atol=1e-12)
        out.append(f"  dC0/d{name}: walk {_fmt(walked, p)} | backward() {_fmt(engine, p)} | "
                   f"{formula} = {_fmt(value, p)}  {'(agree)' if agree else '(DISAGREE)'}")
    return "\n".join(out) + "\n"
