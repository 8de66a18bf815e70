"""The learning half of the notes, computed: nudges, mini-batch noise, saturation, descent on a 2-D cost, the
hidden neurons; and the commands that print them (nudges, show-hidden, lab), on synthetic digits."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import ArgumentError, ShapeError, backprop, learning
from tinygrad_mlp.cli import main
from tinygrad_mlp.nn import MLP

QUICK = ["--dataset", "synthetic", "--limit-train", "600", "--epochs", "1", "--no-progress"]


def small_net(seed=0, sizes=(12, 5, 4, 3)):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((n, m)) / np.sqrt(m) for m, n in zip(sizes, sizes[1:], strict=False)]
    biases = [0.5 * rng.standard_normal(n) for n in sizes[1:]]
    x = rng.random((7, sizes[0]))
    labels = rng.integers(0, sizes[-1], 7)
    return weights, biases, x, labels


def test_nudges_pieces_are_the_chain_rule():
    weights, biases, x, labels = small_net()
    n = learning.nudges(weights, biases, x[0], int(labels[0]))
    _, acts = backprop.forward(weights, biases, x[:1])
    a, y = acts[-1][:, 0], np.eye(3)[labels[0]]
    np.testing.assert_allclose(n.wish, -2 * (a - y))                       # -dC0/da(L)
    np.testing.assert_allclose(n.delta, 2 * (a - y) * a * (1 - a))          # delta(L) = dC0/da * sigmoid'
    np.testing.assert_allclose(n.grad_w, np.outer(n.delta, acts[-2][:, 0]))  # dC0/dw_jk = a_k delta_j
    np.testing.assert_allclose(n.all_grads[-1], n.delta)                    # dC0/db = delta
    np.testing.assert_allclose(n.all_grads[-2], n.grad_w, atol=1e-15)
    # the previous layer's wish, term by term, adds up to -dC0/da(L-1) = -W^T delta
    np.testing.assert_allclose(n.terms.sum(axis=0), -weights[-1].T @ n.delta)
    text = learning.format_nudges(n, weights)
    for phrase in ("-dC0/da_j = 2 (y_j - a_j)", "Three ways", "fire together", "competing nudges", "nudges -dC0/dp"):
        assert phrase in text


def test_average_of_per_example_gradients_is_the_batch_gradient():
    weights, biases, x, labels = small_net(1)
    average, batch = learning.per_example_average(weights, biases, x, labels)
    for a, b in zip(average, batch, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    # and it is a real comparison: one example alone is not the batch gradient
    single = learning.nudges(weights, biases, x[0], int(labels[0])).all_grads
    assert max(np.abs(s - b).max() for s, b in zip(single, batch, strict=True)) > 1e-3


def test_full_gradient_in_chunks_is_the_gradient_of_the_whole_batch():
    weights, biases, x, labels = small_net(2)
    chunked = learning.full_gradient(weights, biases, x, labels, chunk=3)
    _, gw, gb = backprop.backprop(weights, biases, x, labels)
    for c, g in zip(chunked, [v for pair in zip(gw, gb, strict=True) for v in pair], strict=True):
        np.testing.assert_allclose(c, g, rtol=1e-12, atol=1e-16)


def test_gradient_noise_shrinks_with_the_batch_and_is_exact_for_the_whole_set():
    weights, biases, _, _ = small_net(3)
    rng = np.random.default_rng(0)
    x, labels = rng.random((400, 12)), rng.integers(0, 3, 400)
    noise = learning.gradient_noise(weights, biases, x, labels, [1, 10, 100, 400], repeats=10)
    rel = [noise[s][1] for s in (1, 10, 100)]
    assert rel[0] > rel[1] > rel[2]
    assert noise[400][1] < 1e-12 and noise[400][0] == pytest.approx(1.0)
    with pytest.raises(ArgumentError):
        learning.gradient_noise(weights, biases, x, labels, [401])


def test_saturation_counts_the_flat_tails():
    weights, biases, x, _ = small_net(4)
    assert max(learning.saturation(weights, biases, x)) < 0.2     # moderate weights: sigmoids in their slope
    huge = [w * 1000 for w in weights]
    assert min(learning.saturation(huge, biases, x)) > 0.8        # huge weights: pinned at 0 or 1


def test_two_minima_cost_gradient_and_descent():
    x, y = np.random.default_rng(0).uniform(-2, 2, (2, 20))
    dx, dy = learning.two_minima_gradient(x, y)
    eps = 1e-6
    np.testing.assert_allclose(dx, (learning.two_minima_cost(x + eps, y) - learning.two_minima_cost(x - eps, y)) / (2 * eps),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dy, (learning.two_minima_cost(x, y + eps) - learning.two_minima_cost(x, y - eps)) / (2 * eps),
                               rtol=1e-6, atol=1e-8)
    for minimum in learning.TWO_MINIMA:
        assert np.hypot(*learning.two_minima_gradient(*minimum)) < 1e-3
    left = learning.descend((-1.9, 1.5), 0.1, 200)[-1]
    right = learning.descend((1.9, -1.5), 0.1, 200)[-1]
    np.testing.assert_allclose(left, learning.TWO_MINIMA[0], atol=1e-3)   # two starts, two minima
    np.testing.assert_allclose(right, learning.TWO_MINIMA[1], atol=1e-3)
    slow = learning.descend((-1.9, 1.5), 0.02, 60)
    steps = np.linalg.norm(np.diff(slow, axis=0), axis=1)
    assert steps[-1] < steps[0] / 10                                       # steps shrink near the bottom
    diverged = learning.descend((-1.9, 1.5), 0.6, 60)
    assert len(diverged) < 61 and np.abs(diverged[-1]).max() > 1e6        # too large: diverges, and stops
    noisy = learning.descend((0.2, 1.6), 0.05, 60, noise=1.5)
    assert not np.allclose(noisy, learning.descend((0.2, 1.6), 0.05, 60))
    with pytest.raises(ShapeError):
        learning.descend((1.0, 2.0, 3.0), 0.1, 5)


def test_hidden_neuron_tables():
    acts = np.array([[0.9, 0.1], [0.8, 0.3], [0.1, 0.7]])
    labels = np.array([0, 0, 1])
    np.testing.assert_allclose(learning.mean_activation_per_digit(acts, labels, 2), [[0.85, 0.1], [0.2, 0.7]])
    np.testing.assert_array_equal(learning.top_activating(acts, 2), [[0, 1], [2, 1]])
    w1, w2 = np.ones((3, 4)), np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(learning.layer2_templates([w1, w2]), w2 @ w1)


@pytest.fixture(scope="module")
def notes_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    assert main(["train", *QUICK, "--out", str(path)]) == 0
    return path


def test_nudges_command(notes_model, capsys):
    capsys.readouterr()
    assert main(["nudges", str(notes_model), "--index", "3", "--batch", "5"]) == 0
    out = capsys.readouterr().out
    for phrase in ("test image 3", "Three ways", "fire together", "competing nudges", "13,002 nudges",
                   "5 digits (test images 3..7)", "IS the batch gradient"):
        assert phrase in out
    worst = float(out.split("relative difference at most ")[1].split(":")[0])
    assert worst < 1e-10  # computed, and it holds


def test_nudges_takes_the_cost_the_model_was_trained_with(notes_model, tmp_path, capsys):
    ce_model = tmp_path / "ce.npz"
    assert main(["train", *QUICK, "--arch", "784-8-10", "--loss", "ce", "--out", str(ce_model)]) == 0
    for path, cost in ((notes_model, "cost mse"), (ce_model, "cost cross_entropy")):
        capsys.readouterr()
        assert main(["nudges", str(path)]) == 0
        assert cost in capsys.readouterr().out


def test_nudges_index_out_of_range_is_one_line(notes_model, capsys):
    assert main(["nudges", str(notes_model), "--index", "1999", "--batch", "2"]) == 2
    assert "test set has 2000" in capsys.readouterr().err


def test_show_hidden_command(notes_model, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    capsys.readouterr()
    out_png = tmp_path / "h.png"
    assert main(["show-hidden", str(notes_model), "--out", str(out_png), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "hidden layer 1" in out and "hidden layer 2" in out and "neurons have a mean activation above 0.5" in out
    rows = [line.split() for line in out.splitlines() if line[:6].strip().isdigit() and len(line.split()) == 14]
    assert len(rows) == 32  # 16 neurons x 10 digits + 3 top labels, for each of the two layers
    assert (tmp_path / "h-layer1.png").stat().st_size > 1000 and (tmp_path / "h-layer2.png").stat().st_size > 1000


def test_lab_command(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_png = tmp_path / "lab.png"
    assert main(["lab", "--dataset", "synthetic", "--limit-train", "1000", "--lrs", "3,300", "--epochs", "1",
                 "--repeats", "3", "--out", str(out_png)]) == 0
    out = capsys.readouterr().out
    table = {int(line.split()[0]): float(line.split()[2]) for line in out.splitlines()
             if line.strip() and line.split()[0].isdigit() and len(line.split()) == 3}
    assert set(table) == {1, 3, 10, 30, 100, 300, 1000}
    assert table[1000] < 1e-12 and table[1] > table[100]   # the whole set is exact; one example is far off
    lr300 = next(line for line in out.splitlines() if line.strip().startswith("300 ") and len(line.split()) > 3)
    assert "1.0000" in lr300 and "silent plateau" in out
    assert (tmp_path / "lab-noise.png").exists() and (tmp_path / "lab-lr.png").exists()


def test_lab_refuses_bad_learning_rates(capsys):
    assert main(["lab", "--dataset", "synthetic", "--lrs", "3,x"]) == 2
    assert main(["lab", "--dataset", "synthetic", "--lrs", "-1"]) == 2


def test_viz_functions_return_a_figure_or_write_a_file_object(tmp_path):
    pytest.importorskip("matplotlib")
    import io

    from tinygrad_mlp import viz

    paths = {"lr 0.1": learning.descend((-1.9, 1.5), 0.1, 20)}
    fig = viz.plot_descent_2d(learning.two_minima_cost, paths)
    assert type(fig).__name__ == "Figure"
    buffer = io.BytesIO()
    assert viz.plot_descent_2d(learning.two_minima_cost, paths, buffer) is buffer
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    # the older pictures too: a Figure without a path, PNG into an open file
    weights = np.random.default_rng(0).standard_normal((4, 784))
    assert type(viz.plot_first_layer_weights(weights)).__name__ == "Figure"
    buffer = io.BytesIO()
    assert viz.plot_first_layer_weights(weights, buffer) is buffer and buffer.getvalue()[:4] == b"\x89PNG"
    assert viz.plot_confusion(np.eye(3, dtype=int), tmp_path / "c.png") == tmp_path / "c.png"
    MLP([4, 3, 2])  # (the model classes stay importable next to viz)


def test_train_hints_at_the_silent_plateau_of_a_huge_learning_rate(tmp_path, capsys):
    args = ["train", "--dataset", "synthetic", "--limit-train", "500", "--epochs", "4", "--no-progress"]
    assert main([*args, "--lr", "300", "--out", str(tmp_path / "a.npz")]) == 0
    out = capsys.readouterr().out
    assert out.count("hint: the train loss has stopped moving") == 1 and "try a smaller --lr" in out
    assert main([*args, "--lr", "3", "--out", str(tmp_path / "b.npz")]) == 0
    assert "hint:" not in capsys.readouterr().out
