"""tinygrad_mlp.viz: the pictures are drawn (right size, right colours), the DOT text describes the
graph, and the narrated backward pass gives the engine's numbers by calling the primitives' backward."""

import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_mlp import Tensor, viz
from tinygrad_mlp import ops
from tinygrad_mlp import primitives as P
from tinygrad_mlp.errors import GraphError, ShapeError
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F

mpl = pytest.importorskip("matplotlib")


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_drawn_at(path, inches: tuple[float, float], dpi: int = 100):
    """The picture is ``inches`` x ``dpi`` pixels, give or take the last pixel: a size like 4.1 in at 100 dpi is
    409.99... px in floating point, which matplotlib before 3.11 truncates to 409 and later versions round to 410."""
    width, height = png_size(path)
    assert abs(width - inches[0] * dpi) < 1 and abs(height - inches[1] * dpi) < 1, (width, height, inches)


def pixels(path):
    import matplotlib.image

    return matplotlib.image.imread(path)[..., :3]


def count_near(img, rgb, tol=0.03):
    return int(np.sum(np.all(np.abs(img - np.asarray(rgb)[None, None, :]) < tol, axis=-1)))


# ---------------------------------------------------------------------- pictures


def test_first_layer_weights_size_and_shared_symmetric_scale(tmp_path):
    from matplotlib import colormaps

    w = np.zeros((16, 784))
    w[0] = 1.0  # the largest |w|: the darkest blue
    w[1] = -0.5  # half as large, negative: a pale red on a shared symmetric scale, NOT the darkest red
    path = viz.plot_first_layer_weights(Tensor(w), tmp_path / "w.png")
    assert png_size(path) == (740, 710)  # 4x4 grid: figsize (4*1.5+1.4, 4*1.5+1.1) inches at 100 dpi
    img = pixels(path)
    cmap = colormaps["RdBu"]
    darkest_blue, pale_red, darkest_red = cmap(1.0)[:3], cmap(0.25)[:3], cmap(0.0)[:3]
    assert count_near(img, darkest_blue) > 10_000  # a whole panel (~130x130 px), plus the colour bar's end
    assert count_near(img, pale_red) > 10_000
    assert count_near(img, darkest_red) < 2_000  # only the colour bar's end: no panel is drawn darkest red


def test_first_layer_weights_grid_and_shape_check(tmp_path):
    w = np.random.default_rng(0).standard_normal((10, 784))
    path = viz.plot_first_layer_weights(w, tmp_path / "sub" / "w.png", cols=5)
    assert_drawn_at(path, (5 * 1.5 + 1.4, 2 * 1.5 + 1.1))
    with pytest.raises(ShapeError, match="784"):
        viz.plot_first_layer_weights(np.zeros((16, 100)), tmp_path / "bad.png")


@pytest.mark.parametrize("history", [
    [{"epoch": 1, "train_loss": 0.5, "test_accuracy": 0.8, "seconds": 1.0},
     {"epoch": 2, "train_loss": 0.3, "test_accuracy": 0.9, "seconds": 1.1}],
    {"train_loss": [0.5, 0.3, 0.2], "test_accuracy": [0.8, 0.85, 0.9]},
])
def test_training_curves(tmp_path, history):
    path = viz.plot_training_curves(history, tmp_path / "curves.png")
    assert png_size(path) == (1000, 400)
    img = pixels(path)
    assert count_near(img, mpl.colors.to_rgb("tab:blue"), tol=0.02) > 100  # the curves are drawn


def test_training_curves_needs_loss_or_accuracy(tmp_path):
    with pytest.raises(ValueError, match="no loss or accuracy"):
        viz.plot_training_curves([{"epoch": 1, "seconds": 2.0}], tmp_path / "c.png")


def test_confusion(tmp_path):
    c = np.diag(np.full(10, 90)) + 1
    path = viz.plot_confusion(c, tmp_path / "confusion.png")
    assert png_size(path) == (700, 600)
    with pytest.raises(ShapeError):
        viz.plot_confusion(np.zeros((3, 4)), tmp_path / "bad.png")


def test_worst_predictions_orders_by_margin():
    outputs = np.array([[0.9, 0.1],    # right, margin +0.8
                        [0.2, 0.7],    # wrong, margin -0.5
                        [0.45, 0.55],  # wrong, margin -0.1
                        [0.05, 0.99]])  # very wrong, margin -0.94
    labels = np.array([0, 0, 0, 0])
    assert list(viz.worst_predictions(outputs, labels, k=3)) == [3, 1, 2]


def test_worst_digits(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((6, 784))
    path = viz.plot_worst_digits(images, [1, 2, 3, 4, 5, 6], [1, 7, 3, 9, 5, 0], rng.random(6), tmp_path / "worst.png")
    assert png_size(path) == (490, 430)  # 3x2 grid: ((3*1.5+0.4), (2*1.75+0.8)) inches at 100 dpi
    img = pixels(path)
    assert count_near(img, mpl.colors.to_rgb("crimson"), tol=0.05) > 20  # wrong guesses are captioned in red
    with pytest.raises(ShapeError):
        viz.plot_worst_digits(images, [1, 2], [1, 2], [0.5, 0.5], tmp_path / "bad.png")


def test_output_activations_and_decision_boundary(tmp_path):
    path = viz.plot_output_activations(np.random.default_rng(0).random(784), np.linspace(0, 1, 10), tmp_path / "a.png")
    assert png_size(path) == (900, 380)
    pts = np.random.default_rng(1).standard_normal((50, 2))
    labels = (pts[:, 0] > 0).astype(int)

    def predict(p):  # two "probabilities" from a logistic on x1
        s = 1 / (1 + np.exp(-5 * p[:, 0]))
        return np.column_stack([1 - s, s])

    path = viz.plot_decision_boundary(predict, pts, labels, tmp_path / "b.png", resolution=50)
    assert png_size(path) == (640, 560)


def test_report_draws_every_picture_of_a_model(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 784)).astype(np.float32), rng.integers(0, 10, 40)
    model = MLP([784, 6, 10], output_activation=None, seed=0)  # logits: confidences become softmax probabilities
    paths = viz.plot_report(model, x, y, tmp_path / "report", history={"train_loss": [1.0, 0.5]}, k=6)
    assert [p.name for p in paths] == ["weights.png", "curves.png", "confusion.png", "worst.png"]
    assert_drawn_at(paths[0], (3 * 1.5 + 1.4, 2 * 1.5 + 1.1))
    assert png_size(paths[3]) == (490, 430)  # the 6 worst, 3x2
    small = MLP([20, 10], seed=0)  # not images: no weight or digit pictures, and no history: no curves
    paths = viz.plot_report(small, rng.random((5, 20)), rng.integers(0, 10, 5), tmp_path / "small")
    assert [p.name for p in paths] == ["confusion.png"]


def test_missing_matplotlib_gives_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes `from matplotlib.figure import ...` fail
    with pytest.raises(ImportError) as info:
        viz.plot_first_layer_weights(np.zeros((1, 784)), tmp_path / "w.png")
    assert str(info.value) == 'matplotlib is needed for pictures: pip install "tinygrad_mlp[viz]"'


def test_pictures_never_touch_pyplot(tmp_path):
    code = ("import sys, numpy as np; from tinygrad_mlp import viz; "
            f"viz.plot_first_layer_weights(np.ones((2, 784)), r'{tmp_path / 'w.png'}'); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "", "MPLBACKEND": "TkAgg"}, timeout=60)
    assert (tmp_path / "w.png").stat().st_size > 1000


# ---------------------------------------------------------------------- DOT


def parse_dot(text):
    nodes = dict(re.findall(r"^\s+(\w+) \[shape=(\w+)", text, re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+)", text, re.M)
    return nodes, edges


def test_to_dot_of_the_chain():
    cost, parts = viz.one_neuron_chain((1, 1, 1, 1))
    text = viz.to_dot(cost)
    nodes, edges = parse_dot(text)
    boxes = [n for n, s in nodes.items() if s == "box"]
    ellipses = [n for n, s in nodes.items() if s == "ellipse"]
    # tensors: a0, y, 2 (the exponent), w/b for 3 layers, 3 x (w*a, z, a), a3-y, C0
    assert len(boxes) == 3 + 6 + 9 + 2
    # ops: 3 x (Mul, Add, Sigmoid), Sub, Pow
    assert len(ellipses) == 11
    assert all(a in nodes and b in nodes for a, b in edges)
    assert len(edges) == 3 * (3 + 3 + 2) + 3 + 3  # Mul, Add: 2 in + 1 out, Sigmoid: 1 + 1; Sub, Pow: 2 + 1
    for label in ("w1", "b3", "z2", "a3", "C0", "Sigmoid", "Mul", "Pow"):
        assert f'label="{label}' in text
    assert f"= {parts['a1'].item():.4g}" in text  # one-element tensors show their value
    assert "grad" not in text


def test_to_dot_after_backward_needs_retain_graph():
    cost, parts = viz.one_neuron_chain((1, 1, 1))
    cost.backward(retain_graph=True)
    text = viz.to_dot(cost)
    assert f"grad {parts['w2'].grad.item():.4g}" in text
    cost2, _ = viz.one_neuron_chain((1, 1, 1))
    cost2.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        viz.to_dot(cost2)


def test_to_dot_tensors_show_shape_and_grad_norm():
    model = MLP([4, 3, 2], seed=0)
    for name, p in model.named_parameters():
        p.name = name
    loss = F.quadratic_cost(model(Tensor(np.ones((5, 4), np.float32))), np.array([0, 1, 0, 1, 1]))
    loss.backward(retain_graph=True)
    text = viz.to_dot(loss)
    assert "layers.0.weight\\nshape (3, 4)" in text
    norm = np.linalg.norm(model.layers[0].weight.grad.data.astype(np.float64))
    assert f"|grad| {norm:.4g}" in text
    assert "Linear" in text


def test_to_dot_deep_graph_without_recursion():
    x = Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = y * 1.0001
    nodes, edges = parse_dot(viz.to_dot(y))
    assert sum(s == "ellipse" for s in nodes.values()) == 3 * sys.getrecursionlimit()


def test_render_dot_without_graphviz_writes_dot(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.warns(viz.GraphvizMissing, match="dot -Tpng"):
        out = viz.render_dot("digraph { a -> b }\n", tmp_path / "g.png")
    assert out == tmp_path / "g.dot" and out.read_text() == "digraph { a -> b }\n"
    assert capsys.readouterr().out == ""  # the library never prints


def test_render_dot_with_graphviz(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed")
    cost, _ = viz.one_neuron_chain((1, 1, 1))
    out = viz.render_dot(viz.to_dot(cost), tmp_path / "g.png")
    assert out == tmp_path / "g.png"
    width, height = png_size(out)
    assert width > 200 and height > 50


# ---------------------------------------------------------------------- the backward pass in words


def test_explain_backward_matches_the_engine_on_a_network():
    rng = np.random.default_rng(0)
    model = MLP([3, 4, 2], seed=1, dtype=np.float64)
    x = Tensor(rng.standard_normal((5, 3)))
    diff = model(x) - F.one_hot(np.array([0, 1, 1, 0, 1]), 2, np.float64)
    loss = (diff * diff).sum() / 5  # diff used twice: a fan-out the walk must add up
    text, grads = viz.explain_backward(loss)
    assert all(p.grad is None for p in model.parameters())  # the walk sets no .grad
    loss.backward()
    for p in model.parameters():
        np.testing.assert_allclose(grads[id(p)], p.grad.data, rtol=1e-12)
    assert "(sum of 2 contributions)" in text


def test_explain_backward_steps_are_products():
    cost, parts = viz.one_neuron_chain((1, 1, 1))
    text, _ = viz.explain_backward(cost)
    n_ops = 2 * 3 + 2
    assert len(re.findall(r"^step \d+:", text, re.M)) == n_ops
    # every scalar step shows incoming x local = passed, and the arithmetic holds
    products = re.findall(r"passes .* = (\S+) x (\S+) = (\S+)$", text, re.M)
    # Pow, Sub: one input that needs a gradient each; per layer Sigmoid one, Add two, Mul two (w and a)
    # except w1*a0, whose a0 is a constant input
    assert len(products) == 2 + 2 * (1 + 2 + 2) - 1
    for g, local, passed in products:
        assert float(g) * float(local) == pytest.approx(float(passed), rel=2e-3)


def test_explain_backward_uses_the_primitives_backward(monkeypatch):
    # a broken Sigmoid backward shows up in the walk and in the comparison with the closed form
    monkeypatch.setattr(ops.Sigmoid, "backward", lambda self, g, out, x: (g * out,))
    text = viz.explain((1, 1, 1))
    assert "DISAGREE" in text


def test_explain_refuses_released_graphs_and_vectors():
    cost, _ = viz.one_neuron_chain((1, 1))
    cost.backward()
    with pytest.raises(GraphError):
        viz.explain_backward(cost)
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ShapeError):
        viz.explain_backward(x * 2)


@pytest.mark.parametrize("arch", ["1-1-1-1", "2-2-1", (3, 2, 2)])
def test_explain_ends_with_agreeing_closed_form(arch):
    text = viz.explain(arch, seed=3)
    assert "DISAGREE" not in text
    sizes = [int(s) for s in arch.split("-")] if isinstance(arch, str) else list(arch)
    assert text.count("(agree)") == 2 * (len(sizes) - 1)  # a weight and a bias per layer
    assert "sigmoid'(z" in text


def test_explain_refuses_wide_or_malformed_networks():
    with pytest.raises(ShapeError, match="widths up to 8"):
        viz.explain("784-16-10")
    with pytest.raises(ShapeError, match="1-1-1-1"):
        viz.explain("2-x-1")
    with pytest.raises(ShapeError):
        viz.one_neuron_chain("3")


def test_explain_closed_form_numbers_are_the_notes_formula():
    text = viz.explain("1-1", seed=0)
    cost, parts = viz.one_neuron_chain((1, 1), seed=0)
    a0, w1, b1, y = (parts[k].item() for k in ("a0", "w1", "b1", "y"))
    a1 = 1 / (1 + np.exp(-(w1 * a0 + b1)))
    dw = a0 * a1 * (1 - a1) * 2 * (a1 - y)
    assert re.search(rf"dC0/dw1: walk {dw:.4g} \| backward\(\) {dw:.4g} \|", text)


# ---------------------------------------------------------------------- the command line: show-weights, graph, explain, --plot


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tinygrad_mlp import cli

    folder = tmp_path_factory.mktemp("cli")
    ckpt = folder / "model.npz"
    code = cli.main(["train", "--dataset", "synthetic", "--limit-train", "500", "--epochs", "2", "--no-progress",
                     "--out", str(ckpt), "--plot", str(folder / "train-plots")])
    assert code == 0
    return ckpt


def test_cli_train_plot_draws_the_report(trained):
    folder = trained.parent / "train-plots"
    assert sorted(p.name for p in folder.iterdir()) == ["confusion.png", "curves.png", "weights.png", "worst.png"]
    assert png_size(folder / "curves.png") == (1000, 400)


def test_cli_eval_plot_defaults_next_to_the_checkpoint(trained, capsys):
    from tinygrad_mlp import cli

    assert cli.main(["eval", str(trained), "--plot"]) == 0
    folder = trained.parent / "model-plots"
    assert sorted(p.name for p in folder.iterdir()) == ["confusion.png", "weights.png", "worst.png"]
    assert "pictures: " in capsys.readouterr().out


def test_cli_show_weights(trained, tmp_path, capsys):
    from tinygrad_mlp import cli

    out = tmp_path / "w.png"
    assert cli.main(["show-weights", str(trained), "--out", str(out)]) == 0
    assert png_size(out) == (740, 710)  # 16 neurons, 4x4
    assert "16 first-layer neurons" in capsys.readouterr().out


def test_cli_show_weights_without_matplotlib(trained, tmp_path, monkeypatch, capsys):
    from tinygrad_mlp import cli

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert cli.main(["show-weights", str(trained), "--out", str(tmp_path / "w.png")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == 'tinygrad-mlp: error: matplotlib is needed for pictures: pip install "tinygrad_mlp[viz]"'


def test_cli_graph(trained, tmp_path, monkeypatch, capsys):
    from tinygrad_mlp import cli

    assert cli.main(["graph", "--out", "-"]) == 0  # the notes' chain, 3 layers, DOT on stdout
    nodes, edges = parse_dot(capsys.readouterr().out)
    assert sum(s == "ellipse" for s in nodes.values()) == 3 * 3 + 2
    assert cli.main(["graph", "--model", str(trained), "--batch-size", "4", "--out", str(tmp_path / "g.dot")]) == 0
    text = (tmp_path / "g.dot").read_text()
    assert "layers.0.weight\\nshape (16, 784)\\n|grad|" in text and "x (4 images)" in text
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no Graphviz: the .dot file and a hint
    assert cli.main(["graph", "--chain", "2-2-1", "--out", str(tmp_path / "chain.svg")]) == 0
    assert (tmp_path / "chain.dot").is_file() and "dot -Tsvg" in capsys.readouterr().out
    assert cli.main(["graph", "--chain", "2-x"]) == 2


def test_cli_explain(capsys):
    from tinygrad_mlp import cli

    assert cli.main(["explain"]) == 0
    out = capsys.readouterr().out
    assert out.count("(agree)") == 6 and "step 11:" in out and "a2 sigmoid'(z3) 2(a3 - y)" in out
    assert cli.main(["explain", "--layers", "1", "--seed", "2"]) == 0
    assert capsys.readouterr().out.count("(agree)") == 2
    assert cli.main(["explain", "--arch", "2-2-1"]) == 0
    assert "delta2 a1^T" in capsys.readouterr().out
    assert cli.main(["explain", "--arch", "784-16-10"]) == 2
    assert "widths up to 8" in capsys.readouterr().err
