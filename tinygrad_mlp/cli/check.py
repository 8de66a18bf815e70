"""``tinygrad-mlp gradcheck``: autograd against the hand-derived backprop and finite differences."""

from __future__ import annotations

import numpy as np

from .. import runs
from ..nn import functional, parse_sizes
from . import options as o

__all__: list[str] = []  # internal: tinygrad_mlp.cli re-exports what is public

MAX_SECONDS = 120.0  # a check the estimate says takes longer is refused up front

# said here rather than imported from threeway, so that building the parser imports nothing of the check
WHY_FLOAT64 = ("finite differences in float32 are swamped by rounding, and the 1e-10 agreement of autograd with "
               "the hand-derived gradients is only meaningful in float64")


def add_gradcheck(subparsers) -> None:
    p = subparsers.add_parser(
        "gradcheck", help="check autograd against the hand-derived backprop and finite differences",
        description="Build a random MLP with random inputs and labels and compute the loss's gradient three ways: "
                    "autograd (loss.backward()), the notes' backprop equations by hand (tinygrad_mlp.backprop), "
                    "and central finite differences. Prints one row per weight/bias tensor with the max absolute "
                    "and relative difference of each pair; exits 0 when all agree, 1 otherwise. Runs in float64 "
                    f"by default: {WHY_FLOAT64}. --model cnn checks a small CNN instead (conv 3x3, relu, flatten, "
                    "linear, cross-entropy; the hand column is the convolution written out in "
                    "tinygrad_mlp.backprop.conv2d_backward).")
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                   help="mlp: the network of --arch (default); cnn: Conv2d(1, 3, 3, padding 1) on 6x6 images, ReLU, "
                        "Flatten, Linear(108, 4), cross-entropy (--arch, --activation, --loss do not apply)")
    p.add_argument("--arch", default="4-5-3", help="layer widths, input first (default 4-5-3)")
    p.add_argument("--activation", choices=sorted(functional.ACTIVATIONS), default="sigmoid",
                   help="hidden-layer activation (default sigmoid)")
    p.add_argument("--loss", choices=[*functional.LOSSES, *functional.LOSS_ALIASES], default="mse",
                   help="(default mse)")
    p.add_argument("--output-activation", choices=[*sorted(functional.ACTIVATIONS), "none"],
                   help="default: sigmoid for mse (the notes), none (raw logits) for cross_entropy")
    p.add_argument("--batch-size", type=o.int_at_least(1), default=7, help="(default 7)")
    p.add_argument("--seed", type=o.seed, default=0, help="seeds the weights, inputs and labels (default 0)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help=f"default float64: {WHY_FLOAT64}; float32 runs with looser tolerances (stated in the output)")
    p.set_defaults(func=run_gradcheck)


def run_gradcheck(args) -> int:
    from .. import threeway

    if args.model == "cnn":
        result = threeway.make_cnn_problem(batch_size=args.batch_size, seed=args.seed, dtype=args.dtype).check()
        o.say(threeway.dtype_note(args.dtype), result.format_table())
        return 0 if result.passed else 1
    out = "auto" if args.output_activation is None else args.output_activation
    try:
        sizes = parse_sizes(args.arch, "--arch", "4-5-3")
    except ValueError as e:
        raise o.UsageError(str(e)) from None
    # three gradients (autograd, backprop, finite differences), each with its forward pass's arrays, in float64
    itemsize = np.dtype(args.dtype).itemsize
    o.check_fits(4 * runs.mlp_bytes(list(sizes), args.batch_size, itemsize)
                 + 8 * args.batch_size * sizes[0] * itemsize,
                 f"gradcheck of MLP {args.arch} on a batch of {args.batch_size}")
    seconds = threeway.check_seconds(sizes, args.batch_size)
    if seconds > MAX_SECONDS:
        raise o.UsageError(f"gradcheck of MLP {args.arch} on a batch of {args.batch_size} would take about "
                           f"{o.duration(seconds)} (finite differences: two forward passes per parameter); "
                           f"at most {o.duration(MAX_SECONDS)} is allowed: use a smaller --arch or --batch-size")
    try:
        problem = threeway.make_problem(sizes, args.activation, args.loss,
                                        args.batch_size, args.seed, args.dtype, out)
    except ValueError as e:
        raise o.UsageError(str(e)) from None
    result = problem.check()
    o.say(threeway.dtype_note(args.dtype), result.format_table())
    return 0 if result.passed else 1
