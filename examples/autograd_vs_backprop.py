"""Three ways to the same gradient, on the notes' network: autograd, hand-derived backprop, finite differences.

    python examples/autograd_vs_backprop.py            # 784-16-16-10 on 8 synthetic digits (a few seconds)
    python examples/autograd_vs_backprop.py --quick    # a smaller 784-4-4-10 network

* autograd: the network built from Tensor ops, ``cost.backward()`` walks the
  graph of generic primitives (Linear, Sigmoid, Sub, Mul, Sum, Div), each with
  its own vector-Jacobian product;
* backprop: ``tinygrad_mlp.backprop``, the four layered delta equations of the
  notes typed in by hand in numpy;
* finite differences: every one of the parameters nudged by +-eps, the cost
  recomputed, (C(w + eps) - C(w - eps)) / (2 eps).

Everything in float64, so the three should agree to about 1e-7 or better.
"""

import argparse
import time

import numpy as np

from tinygrad_mlp import Tensor
from tinygrad_mlp import backprop as hand
from tinygrad_mlp.data import synthetic_digits
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--quick", action="store_true", help="Use a smaller network, as the test suite does.")
    parser.add_argument("--batch", type=int, default=8, help="How many training examples the batch holds (default 8).")
    parser.add_argument("--seed", type=int, default=0, help="The seed of the weights and the batch (default 0).")
    parser.add_argument("--out-dir", default=None,
                        help="Accepted like the other examples' option; this example writes no files.")
    args = parser.parse_args(argv)
    sizes = [784, 4, 4, 10] if args.quick else [784, 16, 16, 10]

    x, y = synthetic_digits(args.batch, seed=args.seed)
    x = x.astype(np.float64)
    model = MLP(sizes, seed=args.seed, dtype=np.float64)
    names = [name for name, _ in model.named_parameters()]
    print(f"network {'-'.join(map(str, sizes))}: {model.num_parameters():,} parameters, "
          f"{args.batch} examples, quadratic cost")

    # 1. autograd
    t = time.perf_counter()
    cost = F.quadratic_cost(model(Tensor(x)), y)
    cost.backward()
    auto = {name: p.grad.data for name, p in model.named_parameters()}
    t_auto = time.perf_counter() - t

    # 2. the notes' equations, by hand
    weights = [W.data for W in model.weights]
    biases = [b.data for b in model.biases]
    t = time.perf_counter()
    hand_cost, gw, gb = hand.backprop(weights, biases, x, y)
    t_hand = time.perf_counter() - t
    by_hand = {}
    for layer, (dw, db) in enumerate(zip(gw, gb)):
        by_hand[f"layers.{layer}.weight"], by_hand[f"layers.{layer}.bias"] = dw, db

    # 3. finite differences
    t = time.perf_counter()
    nw, nb = hand.numerical_gradients(weights, biases, x, y)
    t_num = time.perf_counter() - t
    numeric = {}
    for layer, (dw, db) in enumerate(zip(nw, nb)):
        numeric[f"layers.{layer}.weight"], numeric[f"layers.{layer}.bias"] = dw, db

    print(f"cost: autograd {cost.item():.10f}, backprop {hand_cost:.10f}")
    print(f"time: autograd {t_auto * 1e3:.1f} ms, backprop {t_hand * 1e3:.1f} ms, "
          f"finite differences {t_num:.1f} s ({2 * model.num_parameters():,} cost evaluations)\n")
    header = f"{'parameter':<16} {'shape':>10} {'max |grad|':>11} {'autograd-backprop':>18} {'autograd-numerical':>19}"
    print(header)
    print("-" * len(header))
    worst_hand = worst_num = 0.0
    for name in names:
        a, h, n = auto[name], by_hand[name], numeric[name]
        d_hand, d_num = float(np.max(np.abs(a - h))), float(np.max(np.abs(a - n)))
        worst_hand, worst_num = max(worst_hand, d_hand), max(worst_num, d_num)
        print(f"{name:<16} {str(a.shape):>10} {np.max(np.abs(a)):>11.3e} {d_hand:>18.2e} {d_num:>19.2e}")
    print()
    ok = worst_hand < 1e-10 and worst_num < 1e-6
    print(f"largest difference: autograd vs backprop {worst_hand:.1e}, autograd vs finite differences {worst_num:.1e}")
    print("all three agree" if ok else "THE GRADIENTS DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
