"""Looking inside a network: ``show-weights``, ``graph``, ``explain`` and ``show-hidden``."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from .. import data, learning, runs
from ..errors import ShapeError, TinygradMLPError
from ..nn import MLP, LeNet, functional, parse_sizes
from ..tensor_core import Tensor
from . import options as o

__all__: list[str] = []  # internal: tinygrad_mlp.cli re-exports what is public

EXPLAIN_MAX_LAYERS = 50       # explain's text grows with the square of the depth
GRAPH_MAX_LAYERS = 100        # a deeper graph is no picture anyone can read, and Graphviz takes minutes on it


def _check_graph_depth(sizes: list[int], what: str) -> None:
    if len(sizes) - 1 > GRAPH_MAX_LAYERS:
        raise o.UsageError(f"{what} has {len(sizes) - 1} layers; graph draws at most {GRAPH_MAX_LAYERS}")


def add_show_weights(subparsers) -> None:
    p = subparsers.add_parser("show-weights", help="draw the first layer's weights as 28x28 images (blue +, red -)",
                              description="Draw each first-layer neuron's 784 incoming weights as a 28x28 image, "
                                          "positive blue and negative red on one shared symmetric scale: the "
                                          "notes' look at what the first hidden layer has learned. For a LeNet: "
                                          "its first conv layer's filters, each a 5x5 image.")
    p.add_argument("model", help="checkpoint written by 'train'")
    p.add_argument("--out", metavar="PATH", default="weights.png", help="picture to write (default weights.png)")
    p.add_argument("--cols", type=o.int_at_least(1), help="panels per row (default: a square grid)")
    p.set_defaults(func=run_show_weights)


def run_show_weights(args) -> int:
    o.picture_path(args.out, "--out", o.PICTURE_FORMATS)
    model, _ = o.load_any_model(args.model, classes=False)
    if isinstance(model, LeNet):  # the first conv layer's filters, each a 5x5 image
        filters = model.first_filters
        path = o.pictures(lambda: o.viz().plot_first_layer_weights(
            filters.reshape(len(filters), -1), args.out, image_shape=filters.shape[1:], cols=args.cols,
            panel="filter", title=f"First conv layer of a LeNet: {len(filters)} filters of "
                                  f"{filters.shape[1]}x{filters.shape[2]} (one shared scale)"))
        o.say(f"wrote {path}: the {len(filters)} first-layer filters of the LeNet, blue positive, red negative, "
              f"one shared scale (±{float(np.abs(filters).max()):.3g})")
        return 0
    w = model.weights[0].data
    path = o.pictures(lambda: o.viz().plot_first_layer_weights(w, args.out, cols=args.cols))
    o.say(f"wrote {path}: the {w.shape[0]} first-layer neurons' weights, blue positive, red negative, "
          f"one shared scale (±{float(np.abs(w).max()):.3g})")
    return 0


# ---------------------------------------------------------------------- graph


_EXPAND_HELP = ("draw each fused rule (Linear, Sigmoid, SquaredError ...) as the basis ops it stands for "
                "(Transpose, MatMul, Add; Neg, Exp, Add, Div; Sub, Mul, Sum, Div): the same values and gradients")


def add_graph(subparsers) -> None:
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
    p.add_argument("--batch-size", type=o.int_at_least(1),
                   help="synthetic images in the mini-batch for --arch / --model (default 10)")
    p.add_argument("--out", metavar="PATH", default="graph.svg",
                   help="graph.svg, .png or .pdf (with Graphviz; without it the .dot file is written), "
                        "a .dot file, or - to print the DOT text (default graph.svg)")
    p.add_argument("--expand", action="store_true", help=_EXPAND_HELP)
    p.set_defaults(func=run_graph)


def _chain_sizes(text: str) -> list[int] | None:
    try:
        return parse_sizes(text, "--chain")
    except ShapeError:
        return None  # one_neuron_chain says what is wrong


def _graph_bytes(sizes: list[int], batch: int) -> int:
    # the graph keeps every intermediate array (and the batch is drawn with a few temporaries per pixel)
    return runs.mlp_bytes(sizes, batch) + batch * runs.INPUTS * 4 * 8


def _network_cost(args):
    """A network's cost on a synthetic mini-batch (--arch or --model), its parameters named; and a title."""
    if args.model:
        model, _ = o.load_model(args.model)
        _check_graph_depth(model.sizes, args.model)
        o.check_fits(_graph_bytes(model.sizes, args.batch_size),
                     f"graph of MLP {'-'.join(map(str, model.sizes))} on a mini-batch of {args.batch_size}")
    else:
        model = MLP(o.parse_arch(args.arch), output_activation="sigmoid", seed=0)
    for name, param in model.named_parameters():
        param.name = name
    x, y = data.synthetic_digits(args.batch_size, seed=0)
    with np.errstate(over="ignore"):
        out = model(Tensor(x, name=f"x ({args.batch_size} images)"))
        loss = functional.cross_entropy if model.output_activation is None else functional.quadratic_cost
        cost = loss(out, y)
    cost.name = "cost"
    return cost, f"MLP {'-'.join(map(str, model.sizes))} on a mini-batch of {args.batch_size}"


def _check_graph_args(args) -> None:
    if args.batch_size is None:
        args.batch_size = 10
    elif not (args.arch or args.model):
        raise o.UsageError("--batch-size applies to --arch and --model only (the chain has one example)")
    if args.out != "-":
        out = o.picture_path(args.out, "--out", o.GRAPH_FORMATS)
        o.check_picture_target(out.with_suffix(".dot"), "--out")  # written instead when Graphviz is missing
    if args.arch or args.model:
        sizes = o.parse_arch(args.arch) if args.arch else [runs.INPUTS, runs.CLASSES]
        _check_graph_depth(sizes, f"--arch {args.arch}")
        o.check_fits(_graph_bytes(sizes, args.batch_size),
                     f"graph of MLP {args.arch or args.model} on a mini-batch of {args.batch_size}")
    else:
        chain = _chain_sizes(args.chain)
        if chain is not None:
            _check_graph_depth(chain, "--chain")
            o.check_fits(2 * runs.mlp_bytes(chain, 1, 8), f"graph of the chain {args.chain}")


def run_graph(args) -> int:
    _check_graph_args(args)
    viz = o.viz()
    if args.arch or args.model:
        cost, title = _network_cost(args)
    else:
        try:
            cost, _ = viz.one_neuron_chain(args.chain)
        except ValueError as e:
            raise o.UsageError(str(e)) from None
        title = f"the notes' chain {args.chain}: C0 = (a_L - y)^2"
    if args.expand:
        cost, title = viz.expanded(cost), f"{title}, fused rules expanded into basis ops"
    cost.backward(retain_graph=True)  # keep the graph, so the drawing shows it with the parameters' gradients
    dot_text = viz.to_dot(cost, title=title)
    if args.out == "-":
        sys.stdout.write(dot_text)
        return 0
    try:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", viz.GraphvizMissing)
            path = viz.render_dot(dot_text, args.out)
    except RuntimeError as e:  # Graphviz's dot failed
        raise TinygradMLPError(str(e)) from None
    o.say(*[str(w.message) for w in said if issubclass(w.category, viz.GraphvizMissing)], f"wrote {path}")
    return 0


# ---------------------------------------------------------------------- explain


def add_explain(subparsers) -> None:
    p = subparsers.add_parser("explain", help="backpropagation step by step on the notes' one-neuron chain",
                              description="Print the chain rule at work: the notes' chain C0 = (a_L - y)^2, "
                                          "a_l = sigmoid(w_l a_(l-1) + b_l) (or a tiny network, --arch 2-2-1) "
                                          "forward, then every node of its graph from the cost back to the "
                                          "parameters with its local derivative, the gradient arriving and the "
                                          "product passed on, and finally the gradients beside the closed form "
                                          "dC0/dw_L = a_(L-1) sigmoid'(z_L) 2(a_L - y).")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--layers", type=o.int_in(1, EXPLAIN_MAX_LAYERS),
                      help=f"one neuron per layer, this many layers (default 3, at most {EXPLAIN_MAX_LAYERS})")
    what.add_argument("--arch", help="layer widths, input first, each at most 8: e.g. 1-1-1-1 or 2-2-1")
    p.add_argument("--seed", type=o.seed, default=0, help="seed of the random weights, biases and input (default 0)")
    p.add_argument("--expand", action="store_true", help=_EXPAND_HELP)
    p.set_defaults(func=run_explain)


def run_explain(args) -> int:
    sizes = args.arch or "-".join(["1"] * ((args.layers or 3) + 1))
    if len(sizes.replace(",", "-").split("-")) > EXPLAIN_MAX_LAYERS + 1:
        shown = sizes if len(sizes) <= 60 else sizes[:57] + "..."
        raise o.UsageError(f"--arch {shown!r}: at most {EXPLAIN_MAX_LAYERS} layers (the printout grows with "
                           "the square of the depth)")
    try:
        text = o.viz().explain(sizes, seed=args.seed, expand=args.expand)
    except ValueError as e:
        raise o.UsageError(str(e)) from None
    o.say(text.rstrip("\n"))
    return 0


# ---------------------------------------------------------------------- show-hidden


def add_show_hidden(subparsers) -> None:
    p = subparsers.add_parser("show-hidden", help="what excites each hidden neuron: top images, mean per digit",
                              description="For every hidden neuron of the first two hidden layers: the test images "
                                          "that activate it most, and its mean activation for each digit (a "
                                          "neurons x 10 table); for layer 2 also its 'template' W(2) W(1), its "
                                          "weights pushed back onto the pixels. The notes' question: do hidden "
                                          "neurons learn edges and loops?")
    p.add_argument("model", help="checkpoint written by 'train'")
    p.add_argument("--out", metavar="PATH", default="hidden.png",
                   help="picture prefix: writes PATH with -layer1 / -layer2 before the suffix (default hidden.png)")
    p.add_argument("--top", type=o.int_at_least(1), default=6, help="images shown per neuron (default 6)")
    p.add_argument("--no-plot", action="store_true", help="only print the tables")
    o.add_data_options(p, None, "default: the dataset the model was trained on")
    p.set_defaults(func=run_show_hidden)


def _layer_lines(layer: int, s: dict, y_test: np.ndarray) -> list[str]:
    means = s["means"]
    lines = [(f"hidden layer {layer}: mean activation per digit (rows: neurons; columns: digits 0..9), "
              "and the digits of its top images"),
             "neuron " + "".join(f"{d:>6}" for d in range(means.shape[1])) + "   top images' labels"]
    for j in range(means.shape[0]):
        lines.append(f"{j:>6} " + "".join(f"{v:6.2f}" for v in means[j]) + "   "
                     + " ".join(str(int(y_test[i])) for i in s["top"][j]))
    lines.append(f"  most selective: neuron {s['most_selective']} (mean {s['best_mean']:.2f} "
                 f"for digit {s['favourite']}, range {s['best_range']:.2f}); least: neuron "
                 f"{s['least_selective']} (range {s['least_range']:.2f})")
    lines.append(f"  {s['broad']} of {means.shape[0]} neurons have a mean activation above 0.5 for three or more "
                 "digits")
    return [*lines, ""]


def run_show_hidden(args) -> int:
    if not args.no_plot:
        o.picture_prefix(args.out, "--out", ("layer1", "layer2"))
    model, ck = o.load_model(args.model)
    loaded, x_test, y_test = o.model_test_set(args, ck)
    if args.top > len(y_test):
        raise o.UsageError(f"--top {args.top} is more than the {len(y_test)} test images")
    weights = [W.data for W in model.weights]
    with np.errstate(over="ignore"):
        hidden = learning.hidden_activations(weights, [b.data for b in model.biases], x_test, model.activation,
                                             model.output_activation)
    if not hidden:
        raise o.UsageError(f"{args.model} has no hidden layer")
    for acts in hidden[:2]:
        o.refuse_non_finite(acts, args.model, "hidden activations")
    lines = [o.describe(args.model, model), f"{loaded.name} test set, {len(y_test)} images", ""]
    out = Path(args.out)
    written = []
    summaries = []
    for layer, acts in enumerate(hidden[:2], start=1):
        s = learning.layer_summary(acts, y_test, args.top)
        summaries.append(s)
        lines += _layer_lines(layer, s, y_test)
        if not args.no_plot:
            templates = learning.layer2_templates(weights) if layer == 2 else weights[0]
            target = o.prefixed(out, f"layer{layer}")
            written.append(o.pictures(lambda s=s, layer=layer, templates=templates, target=target:
                                      o.viz().plot_hidden_neurons(x_test, s["top"], s["means"], target,
                                                                  layer=layer, templates=templates)))
    summary = " and ".join(f"{s['broad']} of {s['means'].shape[0]}" for s in summaries)
    lines.append(f"the notes hoped for one detector per edge or loop; here {summary} hidden neurons (layer 1, layer 2) "
                 "respond to three or more digits: each takes part in many digits, a distributed code rather than "
                 "tidy parts")
    if written:
        lines.append("wrote " + ", ".join(str(p) for p in written) + " (layer 1 templates: the neuron's own weights; "
                     "layer 2: W(2) W(1), blue +, red -)")
    o.say(*lines)
    return 0
