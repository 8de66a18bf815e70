"""Gradient descent on a cost you can see: two weights, a cost surface with two minima.

    python examples/descent_2d.py                  # prints the runs, draws examples-out/descent_2d.png

The lessons' picture of learning, on a cost of only two "weights" (x, y) so that it can be drawn:
a global minimum, a shallower local one, and paths of gradient descent, p <- p - lr * gradient,
for several learning rates and starting points. What to look for:

* a small learning rate creeps, and its steps shrink as the slope flattens near the bottom
  (the step is lr times the slope, so it is large on steep ground and tiny near a minimum);
* a larger one gets there in fewer steps; larger still, it overshoots, across the valley and
  even into the other valley; too large and every step overshoots by more than the last: it
  diverges;
* the same learning rate from two starts ends in two different minima: gradient descent finds
  *a* local minimum, the one whose valley it starts in;
* a noisy gradient (a mini-batch's estimate) stumbles around the exact path but still gets down.
"""

import argparse
from pathlib import Path

import numpy as np

from tinygrad_mlp.learning import TWO_MINIMA, descend, two_minima_cost


def describe(name: str, path: np.ndarray) -> str:
    end = path[-1]
    if not np.all(np.isfinite(end)) or np.abs(end).max() > 1e3:
        return f"{name:<34} diverged after {len(path) - 1} steps (|p| = {np.abs(end).max():.1e})"
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    nearest = min(range(2), key=lambda i: np.hypot(*(end - TWO_MINIMA[i])))
    which = "the global minimum" if nearest == 0 else "the local minimum"
    return (f"{name:<34} ends at ({end[0]:+.3f}, {end[1]:+.3f}), cost {float(two_minima_cost(*end)):+.4f}, "
            f"{which}; first step {steps[0]:.3f}, last step {steps[-1]:.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--steps", type=int, default=60, help="How many gradient steps each path takes (default 60).")
    parser.add_argument("--out-dir", default="examples-out",
                        help="The folder the picture is written to (default examples-out).")
    parser.add_argument("--quick", action="store_true",
                        help="Accepted for the test suite; the default run is already quick.")
    args = parser.parse_args(argv)

    start = (-1.9, 1.5)
    runs = {
        "lr 0.02: slow, steps shrink": descend(start, 0.02, args.steps),
        "lr 0.1: gets there": descend(start, 0.1, args.steps),
        "lr 0.3: overshoots into the other valley": descend(start, 0.3, args.steps),
        "lr 0.6: diverges": descend(start, 0.6, args.steps),
        "lr 0.1 from (1.9, -1.5): the local minimum": descend((1.9, -1.5), 0.1, args.steps),
        "lr 0.05, noisy gradient (mini-batches)": descend((0.2, 1.6), 0.05, args.steps, noise=1.5, seed=0),
        "lr 0.05, exact gradient": descend((0.2, 1.6), 0.05, args.steps),
    }
    print("the cost: global minimum at (%.3f, %.3f), local minimum at (%.3f, %.3f)" % (*TWO_MINIMA[0], *TWO_MINIMA[1]))
    for name, path in runs.items():
        print(describe(name, path))
    try:
        from tinygrad_mlp import viz

        out = viz.plot_descent_2d(two_minima_cost, runs, Path(args.out_dir) / "descent_2d.png")
    except ImportError as e:
        print(e)
        return 0
    print(f"picture: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
