"""A 2-D classifier you can see: two interleaved half-moons, a small MLP, and its decision boundary.

    python examples/two_moons.py               # draws examples-out/two_moons.png

The data is generated here (no files): two noisy half circles that no straight
line separates. A 2 -> 16 -> 16 -> 2 network with tanh hidden units and a
cross-entropy cost bends the boundary around them. The picture shades the plane
by the network's answer, so the whole learned function is visible at once,
which a 784-input digit reader never lets you see.
"""

import argparse
from pathlib import Path

import numpy as np

from tinygrad_mlp import Tensor, no_grad
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import Adam


def two_moons(n: int, noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (n, 2) float32 and labels (n,) int64: class 0 the upper moon, class 1 the lower one."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)])
    x = np.where(y[:, None] == 0, upper, lower) + rng.normal(0, noise, (n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--steps", type=int, default=None,
                        help="How many training steps (default 1500, or 300 with --quick).")
    parser.add_argument("--seed", type=int, default=0, help="The seed of the data and the weights (default 0).")
    parser.add_argument("--quick", action="store_true", help="Make a short run, as the test suite does.")
    parser.add_argument("--out-dir", default="examples-out",
                        help="The folder the picture is written to (default examples-out).")
    args = parser.parse_args(argv)
    steps = args.steps or (300 if args.quick else 1500)

    x, y = two_moons(400, seed=args.seed)
    x_test, y_test = two_moons(400, seed=args.seed + 1)
    model = MLP([2, 16, 16, 2], activation="tanh", output_activation=None, init="xavier", seed=args.seed)
    optimizer = Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(args.seed)
    for step in range(1, steps + 1):
        batch = rng.choice(len(x), size=32, replace=False)
        loss = F.cross_entropy(model(Tensor(x[batch])), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % (steps // 5) == 0 or step == 1:
            with no_grad():
                accuracy = float(np.mean(model(Tensor(x_test)).data.argmax(axis=1) == y_test))
            print(f"step {step:5d}: cross-entropy {loss.item():.4f}, test accuracy {accuracy:.1%}")

    def predict(points):
        with no_grad():
            return model(Tensor(points.astype(np.float32))).data

    try:
        from tinygrad_mlp import viz

        path = viz.plot_decision_boundary(predict, x_test, y_test, Path(args.out_dir) / "two_moons.png",
                                          title=f"Two moons: a 2-16-16-2 tanh network after {steps} steps")
    except ImportError as e:
        print(e)
        return 0
    print(f"picture: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
