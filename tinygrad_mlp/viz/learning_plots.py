"""Pictures of learning: descent on a 2-D cost, mini-batch noise, a learning-rate sweep, hidden neurons.

Like :mod:`tinygrad_mlp.viz.pictures`, matplotlib's object-oriented API on an Agg canvas. Each function
takes ``path``: a file name (the format from its suffix), an open binary file (PNG), or ``None`` to get
the matplotlib ``Figure`` back (a notebook shows it inline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ShapeError
from .pictures import new_figure, save_figure

__all__ = ["plot_descent_2d", "plot_gradient_noise", "plot_lr_sweep", "plot_hidden_neurons", "finish"]


def finish(fig, path):
    """Save ``fig`` to ``path`` (a name or a binary file) and return ``path``; with ``path=None`` return ``fig``."""
    return save_figure(fig, path)


def plot_descent_2d(cost, paths: Mapping[str, np.ndarray], path=None, *, extent=(-2.2, 2.2, -1.8, 1.8),
                    title: str | None = None, dpi: int = 100):
    """Contours of ``cost(x, y)`` with gradient-descent paths drawn on them.

    ``paths`` maps a legend label to the visited points, shape (steps + 1, 2) (e.g. from
    :func:`tinygrad_mlp.learning.descend`); a path leaving the plot is drawn as far as it stays in.
    """
    x0, x1, y0, y1 = extent
    xs, ys = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 160))
    with np.errstate(all="ignore"):
        zs = cost(xs, ys)
    fig = new_figure(7.5, 5.6, dpi)
    ax = fig.add_subplot(1, 1, 1)
    levels = np.quantile(zs, np.linspace(0.0, 0.97, 24))
    cs = ax.contourf(xs, ys, zs, levels=np.unique(levels), cmap="Greys_r", alpha=0.8)
    fig.colorbar(cs, ax=ax, label="cost C(x, y)")
    for label, pts in paths.items():
        pts = np.asarray(pts, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ShapeError(f"plot_descent_2d: path {label!r} must have shape (n, 2), got {pts.shape}")
        inside = np.all(np.isfinite(pts), axis=1) & (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & \
            (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
        stop = len(pts) if inside.all() else int(np.argmin(inside)) + 1
        shown = pts[:stop]
        line, = ax.plot(shown[:, 0], shown[:, 1], "-o", ms=2.5, lw=1.2, label=label)
        ax.plot(shown[0, 0], shown[0, 1], "s", color=line.get_color(), ms=6)
        if stop < len(pts):
            ax.annotate("diverges", shown[-1], color=line.get_color(), fontsize=8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x (one weight)")
    ax.set_ylabel("y (another weight)")
    ax.legend(fontsize=7, loc="lower left", framealpha=0.85)
    ax.set_title(title or "Gradient descent on a cost with two minima (squares: starts)")
    return finish(fig, path)


def plot_gradient_noise(noise: Mapping[int, tuple[float, float]], path=None, *, title: str | None = None,
                        dpi: int = 100):
    """Cosine similarity and relative error of mini-batch gradients against the full gradient, by batch size
    (the output of :func:`tinygrad_mlp.learning.gradient_noise`)."""
    if not noise:
        raise ShapeError("plot_gradient_noise: no batch sizes to draw")
    sizes = np.array(sorted(noise))
    cos = np.array([noise[s][0] for s in sizes])
    rel = np.array([noise[s][1] for s in sizes])
    fig = new_figure(9, 3.8, dpi)
    fig.set_layout_engine("constrained", w_pad=0.1, wspace=0.08)  # room for every label: none cut or squeezed
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax1.semilogx(sizes, cos, "o-")
    ax1.set_ylim(min(0.0, float(cos.min())) - 0.05, 1.02)
    ax1.set_xlabel("mini-batch size")
    ax1.set_ylabel("cosine similarity with the full gradient")
    ax2.loglog(sizes, rel, "o-", label="measured")
    ax2.loglog(sizes, rel[0] / np.sqrt(sizes / sizes[0]), "--", label="1/sqrt(batch size)")
    ax2.set_xlabel("mini-batch size")
    ax2.set_ylabel("relative error |g_batch - g| / |g|")
    ax2.legend(fontsize=9)
    fig.suptitle(title or "How far a mini-batch gradient is from the full one (median over random batches)")
    return finish(fig, path)


def plot_lr_sweep(results: Mapping[float, Mapping[str, Sequence[float]]], path=None, *, title: str | None = None,
                  dpi: int = 100):
    """Cost per epoch for several learning rates, and the fraction of saturated hidden sigmoids.

    ``results[lr]`` has lists ``"loss"`` (per epoch) and ``"saturated"`` (per epoch).
    """
    for lr, r in results.items():
        if not isinstance(r, Mapping) or "loss" not in r or "saturated" not in r:
            raise ShapeError(f"plot_lr_sweep: results[{lr!r}] needs the lists 'loss' and 'saturated'")
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(10, 3.8, dpi)
    fig.set_layout_engine("constrained", w_pad=0.1, wspace=0.08)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ordered = sorted(results.items())
    styles = ["-", "--", "-.", ":"]
    markers = ["o", "s", "^", "D", "v", "P"]
    # larger rates first, with bigger markers, so that a curve lying on another (lr 30 and 300 both stuck at a
    # cost of 1) still shows: its line style and marker are drawn on top of the other's
    for i, (lr, r) in reversed(list(enumerate(ordered))):
        epochs = np.arange(1, len(r["loss"]) + 1)
        same = [f"{other:g}" for other, o in ordered if other != lr and len(o["loss"]) == len(r["loss"])
                and np.allclose(o["loss"], r["loss"], rtol=1e-3)]
        label = f"lr {lr:g}" + (f" (same cost as lr {', '.join(same)})" if same else "")
        style = {"color": f"C{i % 10}", "linestyle": styles[i % len(styles)], "marker": markers[i % len(markers)],
                 "ms": 4 + 2.5 * i, "mfc": "none" if i < len(ordered) - 1 else None, "lw": 1.5, "label": label}
        ax1.plot(epochs, r["loss"], **style)
        style["label"] = f"lr {lr:g}"
        ax2.plot(epochs, r["saturated"], **style)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training cost")
    ax1.set_yscale("log")
    handles, labels = ax1.get_legend_handles_labels()
    ax1.legend(handles[::-1], labels[::-1], fontsize=9)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("hidden sigmoids within 0.01 of 0 or 1")
    ax2.set_ylim(-0.02, 1.02)
    fig.suptitle(title or "Learning rate: too small is slow, too large saturates the sigmoids and stalls")
    return finish(fig, path)


def plot_hidden_neurons(images, top: np.ndarray, means: np.ndarray, path=None, *, layer: int = 1,
                        templates: np.ndarray | None = None, title: str | None = None, dpi: int = 72):
    """One row per hidden neuron: its number, its top-activating images, (optionally) its template (e.g.
    :func:`tinygrad_mlp.learning.layer2_templates`), and its mean activation per digit on a 0-to-1 scale.

    ``images`` (n, 784); ``top`` (neurons, k) image indices; ``means`` (neurons, 10). The text is 10 points or more
    (at the default 72 dpi, 10 pixels high or more).
    """
    images = np.asarray(images, dtype=np.float64)
    top, means = np.asarray(top), np.asarray(means, dtype=np.float64)
    if top.ndim != 2 or means.ndim != 2 or len(top) != len(means):
        raise ShapeError(f"plot_hidden_neurons: top (neurons, k) and means (neurons, 10) must match, got {top.shape} "
                         f"and {means.shape}")
    neurons, k = top.shape
    extra = 1 if templates is not None else 0
    cols = k + 2 + extra
    fig = new_figure(1.0 * cols + 2.4, 1.0 * neurons + 1.3, dpi)
    top_margin = 1 - 1.0 / (1.0 * neurons + 1.3)
    fig.subplots_adjust(left=0.07, right=0.93, bottom=0.5 / (neurons + 1.3), top=top_margin)
    grid = fig.add_gridspec(neurons, cols, width_ratios=[1] * (k + extra) + [0.25, 3.2], wspace=0.08, hspace=0.2)
    vmax = float(np.nanmax(np.abs(templates))) if templates is not None else 1.0
    for j in range(neurons):
        for i in range(k):
            ax = fig.add_subplot(grid[j, i])
            ax.imshow(images[top[j, i]].reshape(28, 28), cmap="gray_r", interpolation="nearest")  # crisp, small PNG
            ax.set_axis_off()
            if i == 0:  # the neuron's number, left of its row (not over its bars)
                ax.text(-0.12, 0.5, f"{j}", transform=ax.transAxes, ha="right", va="center", fontsize=11)
                if j == 0:
                    ax.set_title(f"top {k} images", fontsize=11, loc="left")
                    ax.text(-0.12, 1.25, "neuron", transform=ax.transAxes, ha="right", va="bottom", fontsize=10)
        if templates is not None:
            ax = fig.add_subplot(grid[j, k])
            ax.imshow(np.asarray(templates[j]).reshape(28, 28), cmap="RdBu", vmin=-vmax, vmax=vmax,
                      interpolation="nearest")
            ax.set_axis_off()
            if j == 0:
                ax.set_title("template", fontsize=11)
        ax = fig.add_subplot(grid[j, k + extra + 1])
        ax.bar(np.arange(means.shape[1]), means[j], color="tab:blue")
        ax.set_ylim(0, 1)
        ax.yaxis.tick_right()
        ax.set_yticks([0, 0.5, 1], ["0", "", "1"], fontsize=10)
        ax.grid(axis="y", alpha=0.4)
        ax.set_xticks(range(means.shape[1]))
        ax.tick_params(axis="x", labelbottom=j == neurons - 1, labelsize=10, length=2 if j == neurons - 1 else 0)
        if j == 0:
            ax.set_title("mean activation per digit (0 to 1)", fontsize=11)
        if j == neurons - 1:
            ax.set_xlabel("digit", fontsize=10)
    fig.suptitle(title or f"Hidden layer {layer}: what excites each neuron", fontsize=13)
    return finish(fig, path)
