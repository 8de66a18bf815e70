"""The static pictures, readable as rendered: text big enough at the size the docs show them, nothing cut off or
squeezed, numbers where a learner reads them (issue 25). Each test draws the figure as the command does and
measures the rendered text."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install -e '.[viz]')")

from matplotlib.text import Text

from tinygrad_mlp import viz


def rendered_texts(fig):
    """(Text, its window extent in pixels) of every visible non-empty text of ``fig``, after drawing it."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(t, t.get_window_extent(renderer)) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.figure is fig]


def assert_inside_and_readable(fig, min_pixels: float):
    """Every panel with its drawn labels and ticks, and every figure-level text, lies inside the picture; every text
    is at least ``min_pixels`` high."""
    width, height = fig.canvas.get_width_height()
    texts = rendered_texts(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [(f"panel {i}", ax.get_tightbbox(renderer)) for i, ax in enumerate(fig.axes)]
    figure_texts = [*fig.texts, *([fig._suptitle] if fig._suptitle is not None else [])]
    boxes += [(repr(t.get_text()), t.get_window_extent(renderer)) for t in figure_texts]
    for where, box in boxes:
        assert box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= width + 0.5 and box.y1 <= height + 0.5, \
            f"{where} is cut off: {box} in a {width}x{height} picture"
    for text, _ in texts:
        pixels = text.get_fontsize() * fig.dpi / 72
        assert pixels >= min_pixels, f"{text.get_text()!r} is {pixels:.1f} px high"


def test_lab_noise_has_no_cut_or_squeezed_label():
    noise = {1: (0.78, 0.85), 3: (0.92, 0.45), 10: (0.97, 0.25), 100: (0.997, 0.08), 1000: (0.9997, 0.027)}
    fig = viz.plot_gradient_noise(noise)
    assert_inside_and_readable(fig, 9)
    left, right = fig.axes[:2]
    renderer = fig.canvas.get_renderer()
    label = right.yaxis.label.get_window_extent(renderer)
    assert label.x0 > left.get_tightbbox(renderer).x1, "the right panel's y label overlaps the left panel"


def test_lab_lr_shows_overlapping_curves_and_whole_epochs():
    sweep = {0.3: {"loss": [0.14, 0.11, 0.09], "saturated": [0.2, 0.25, 0.28]},
             3.0: {"loss": [0.15, 0.13, 0.135], "saturated": [0.6, 0.66, 0.67]},
             30.0: {"loss": [1.0, 1.0, 1.0], "saturated": [0.27, 0.35, 0.37]},
             300.0: {"loss": [1.0, 1.0, 1.0], "saturated": [0.93, 0.93, 0.93]}}
    fig = viz.plot_lr_sweep(sweep)
    assert_inside_and_readable(fig, 9)
    cost = fig.axes[0]
    legend = [t.get_text() for t in cost.get_legend().get_texts()]
    assert "lr 30 (same cost as lr 300)" in legend and "lr 300 (same cost as lr 30)" in legend
    lines = {line.get_label(): line for line in cost.get_lines()}
    a, b = lines["lr 30 (same cost as lr 300)"], lines["lr 300 (same cost as lr 30)"]
    assert (a.get_linestyle(), a.get_marker()) != (b.get_linestyle(), b.get_marker())
    assert a.get_zorder() >= b.get_zorder() and cost.get_lines().index(a) > cost.get_lines().index(b)  # on top
    for ax in fig.axes[:2]:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_worst_digits_show_the_right_answers_output_too():
    rng = np.random.default_rng(0)
    fig = viz.plot_worst_digits(rng.random((2, 784)), [4, 9], [6, 9], [0.997, 0.55], label_confidences=[0.0031, 0.55])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0] == "label 4 → 6\n6: 1.00, 4: 0.0031"
    assert titles[1] == "label 9 → 9\n9: 0.55"  # right: one output to show
    assert "right answer" in fig._suptitle.get_text()


def test_training_curves_show_accuracy_in_percent():
    fig = viz.plot_training_curves({"train_loss": [0.25, 0.15, 0.12], "test_accuracy": [0.892, 0.915, 0.9276]})
    accuracy = fig.axes[1]
    assert accuracy.get_ylabel() == "accuracy (%)"
    np.testing.assert_allclose(accuracy.get_lines()[0].get_ydata(), [89.2, 91.5, 92.76])


def test_show_hidden_is_readable_with_a_scale_and_numbers_beside_the_bars():
    rng = np.random.default_rng(0)
    neurons = 6  # the layout of 16 rows, at a third of the drawing time
    fig = viz.plot_hidden_neurons(rng.random((50, 784)), rng.integers(0, 50, (neurons, 6)), rng.random((neurons, 10)),
                                  templates=rng.normal(0, 1, (neurons, 784)))
    assert_inside_and_readable(fig, 9.5)
    renderer = fig.canvas.get_renderer()
    bars = [ax for ax in fig.axes if ax.patches]
    assert len(bars) == neurons
    for ax in bars:
        assert [t.get_text() for t in ax.get_yticklabels() if t.get_text()] == ["0", "1"]  # the scale
    numbers = [t for ax in fig.axes for t in ax.texts if t.get_text().isdigit()]
    assert sorted(int(t.get_text()) for t in numbers) == list(range(neurons))
    for number in numbers:
        box = number.get_window_extent(renderer)
        for ax in bars:
            assert not box.overlaps(ax.get_window_extent(renderer)), "a neuron's number is printed over the bars"
