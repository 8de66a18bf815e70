"""How a network learns: ``nudges`` (what one digit asks of every weight) and ``lab`` (noise, learning rates)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import data, learning, runs
from ..nn import MLP
from . import options as o

__all__: list[str] = []  # internal: tinygrad_mlp.cli re-exports what is public


def add_nudges(subparsers) -> None:
    p = subparsers.add_parser("nudges", help="what one digit's cost asks of every weight and bias (the notes' nudges)",
                              description="Backpropagation for one test digit, in the notes' words: the output "
                                          "layer's desired changes, the three ways to get there (bias, weights in "
                                          "proportion to activations, activations in proportion to weights), the "
                                          "largest dC/dw = a_k delta_j, and the previous layer's desired change added "
                                          "up term by term. --batch K averages the per-example gradients of K digits "
                                          "and compares them with the gradient of the K-digit batch cost.")
    p.add_argument("model", help="checkpoint written by 'train'")
    p.add_argument("--index", type=o.int_at_least(0), default=0, metavar="N", help="test image number N (default 0)")
    p.add_argument("--batch", type=o.int_at_least(1), default=1, metavar="K",
                   help="also average over test images N..N+K-1 (default 1: just one)")
    o.add_data_options(p, None, "default: the dataset the model was trained on")
    p.set_defaults(func=run_nudges)


def _batch_lines(args, weights, biases, x_test, y_test, kinds) -> list[str]:
    xb, yb = x_test[args.index:args.index + args.batch], y_test[args.index:args.index + args.batch]
    with np.errstate(over="ignore"):
        average, batch = learning.per_example_average(weights, biases, xb, yb, *kinds)
    lines = ["", (f"6. {args.batch} digits (test images {args.index}..{args.index + args.batch - 1}): the average "
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
    return lines


def run_nudges(args) -> int:
    model, ck = o.load_model(args.model)
    loaded, x_test, y_test = o.model_test_set(args, ck)
    if args.index + args.batch > len(y_test):
        last = args.index + args.batch - 1
        raise o.UsageError(f"--index {args.index} --batch {args.batch} needs test images up to {last}"
                           f", but the {loaded.name} test set has {len(y_test)} (0..{len(y_test) - 1})")
    weights = [W.data for W in model.weights]
    biases = [b.data for b in model.biases]
    loss = o.model_loss(ck)
    kinds = (model.activation, model.output_activation, loss)
    image, label = x_test[args.index], int(y_test[args.index])
    with np.errstate(over="ignore"):
        n = learning.nudges(weights, biases, image, label, *kinds)
    o.refuse_non_finite(np.concatenate([np.ravel(g) for g in n.all_grads]), args.model, "gradients on this image")
    lines = [data.ascii_digit(image), (f"{loaded.name} test image {args.index}, label {label}; "
             f"{o.describe(args.model, model)}; cost {loss}"), "",
             learning.format_nudges(n, weights)]
    if args.batch > 1:
        lines += _batch_lines(args, weights, biases, x_test, y_test, kinds)
    o.say(*lines)
    return 0


# ---------------------------------------------------------------------- lab


def add_lab(subparsers) -> None:
    p = subparsers.add_parser("lab", help="mini-batch noise and learning-rate experiments, with a picture",
                              description="Two experiments on the notes' network. (1) How far is a mini-batch "
                                          "gradient from the full one? Cosine similarity and relative error against "
                                          "the gradient over the whole training set, for batch sizes 1 to 1000. (2) "
                                          "A learning-rate sweep: cost per epoch and the fraction of saturated "
                                          "hidden sigmoids, which explains why a huge rate stalls without NaN.")
    p.add_argument("--model", help="checkpoint to measure the gradient noise at (default: a fresh notes' network)")
    p.add_argument("--lrs", default="0.3,3,30,300", help="learning rates of the sweep (default 0.3,3,30,300)")
    p.add_argument("--epochs", type=o.int_at_least(1), default=3, help="epochs per learning rate (default 3)")
    p.add_argument("--limit-train", type=o.int_at_least(10), metavar="N", help="use only the first N training images")
    p.add_argument("--repeats", type=o.int_at_least(1), default=20, help="random batches per size (default 20)")
    p.add_argument("--out", metavar="PATH", default="lab.png",
                   help="picture prefix: PATH with -noise and -lr before the suffix (default lab.png)")
    p.add_argument("--no-plot", action="store_true", help="only print the numbers")
    p.add_argument("--seed", type=o.seed, default=0)
    o.add_data_options(p, "auto", "default: auto")
    p.set_defaults(func=run_lab)


def _learning_rates(text: str) -> list[float]:
    try:
        lrs = [float(v) for v in text.split(",")]
    except ValueError:
        raise o.UsageError(f"--lrs {text!r}: give learning rates separated by commas, e.g. 0.3,3,30") from None
    if not lrs or min(lrs) <= 0 or not all(math.isfinite(v) for v in lrs):
        raise o.UsageError(f"--lrs {text!r}: every learning rate must be a finite number > 0")
    return lrs


def _noise_lines(args, model_name: str, used: str, n: int, noise: dict, sizes: list[int]) -> list[str]:
    lines = [(f"1. mini-batch gradients against the full gradient over all {n:,} {used} training images, "
             f"at {model_name} (median of {args.repeats} random batches)"),
             "   batch size   cosine similarity   relative error |g_B - g| / |g|"]
    lines += [f"   {s:>10}   {c:>17.3f}   {r:>30.3f}" for s, (c, r) in noise.items()]
    ratio = noise[sizes[0]][1] / max(noise[sizes[-1]][1], 1e-300)
    lines += [(f"   from batch {sizes[0]} to {sizes[-1]} the relative error shrinks {ratio:.1f}x "
              f"(1/sqrt(batch size) would be {np.sqrt(sizes[-1] / sizes[0]):.1f}x)"), ""]
    return lines


def _sweep_lines(args, n: int, sweep: dict) -> list[str]:
    lines = [(f"2. learning-rate sweep: the notes' network (xavier, seed {args.seed}), batch 10, {args.epochs} "
              f"epochs each, {n:,} images"),
             "   lr       cost per epoch                 saturated: hidden  outputs   train accuracy"]
    for lr, r in sweep.items():
        per_epoch = " ".join(f"{c:.4f}" for c in r["loss"])
        lines.append(f"   {lr:<7g}  {per_epoch:<30} {r['saturated'][-1]:>17.0%} {r['out_saturated']:>8.0%}   "
                     f"{r['accuracy']:>13.1%}")
    lines.append("   saturated: activations within 0.01 of 0 or 1, where sigmoid' = a (1 - a) < 0.01. A huge rate "
                 "throws the weights so far in the first steps that the sigmoids sit at 0 or 1 whatever the image; "
                 "the gradient reaching the weights through them is ~0 and the cost stays put: a silent plateau "
                 "(exactly 1.0 when every output is ~0), not a NaN")
    return lines


MAX_SECONDS = 3600.0  # a lab the estimate says takes longer is refused up front


def _check_duration(seconds: float) -> None:
    if seconds > MAX_SECONDS:
        raise o.UsageError(f"this lab would take about {o.duration(seconds)}; at most {o.duration(MAX_SECONDS)} is "
                           "allowed: use fewer --repeats, --lrs or --epochs, or --limit-train")
    if seconds > 60:
        o.say(f"(this will take about {o.duration(seconds)})", err=True)


def run_lab(args) -> int:
    lrs = _learning_rates(args.lrs)
    if not args.no_plot:
        o.picture_prefix(args.out, "--out", ("noise", "lr"))
    loaded = o.load_dataset(args.dataset, args.data_dir, None, not args.no_download)
    x_train, y_train, _, _ = loaded.arrays
    if args.limit_train:
        x_train, y_train = x_train[:args.limit_train], y_train[:args.limit_train]
    if args.model:
        model, _ = o.load_model(args.model)
        what = args.model
    else:
        model = MLP([runs.INPUTS, 16, 16, runs.CLASSES], init="xavier", seed=args.seed)
        what = "a fresh notes' network (xavier, seed 0)"
    weights = [W.data.astype(np.float64) for W in model.weights]
    biases = [b.data.astype(np.float64) for b in model.biases]
    sizes = [s for s in (1, 3, 10, 30, 100, 300, 1000) if s <= len(x_train)]
    _check_duration(learning.lab_seconds(len(x_train), args.repeats, sizes, lrs, args.epochs))
    with np.errstate(over="ignore"):
        noise = learning.gradient_noise(weights, biases, x_train, y_train, sizes, args.repeats, args.seed,
                                        model.activation, model.output_activation)
    sweep = learning.lr_sweep(x_train, y_train, lrs, args.epochs, args.seed)
    lines = _noise_lines(args, what, loaded.name, len(x_train), noise, sizes) + _sweep_lines(args, len(x_train), sweep)
    if not args.no_plot:
        out = Path(args.out)
        paths = [o.pictures(lambda: o.viz().plot_gradient_noise(noise, o.prefixed(out, "noise"))),
                 o.pictures(lambda: o.viz().plot_lr_sweep(sweep, o.prefixed(out, "lr")))]
        lines.append("wrote " + ", ".join(str(p) for p in paths))
    o.say(*lines)
    return 0
