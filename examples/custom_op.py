"""A new primitive with its own backward: softplus(x) = log(1 + e^x), checked by gradcheck, used in a network.

    python examples/custom_op.py

1. Write the op as a subclass of ``primitives.Function``: ``forward`` on numpy
   arrays, ``backward(g, out, x)`` returning the gradient for each input (the
   vector-Jacobian product: here d softplus/dx = sigmoid(x), elementwise).
2. Apply it with ``Tensor.apply(Softplus(), x)``: the engine records it in the
   graph like any built-in op.
3. ``gradcheck`` compares its backward with central finite differences (float64).
   A deliberately wrong backward is caught the same way.
4. Use it as the hidden activation of a small digit reader, trained with SGD.
"""

import argparse

import numpy as np

from tinygrad_mlp import Tensor, gradcheck, no_grad
from tinygrad_mlp.data import DataLoader, load_synthetic
from tinygrad_mlp.errors import GradcheckError
from tinygrad_mlp.nn import Linear, Module
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD
from tinygrad_mlp.primitives import Function


class Softplus(Function):
    """softplus(x) = log(1 + e^x), a smooth ReLU; its derivative is the sigmoid."""

    def forward(self, x):
        return np.logaddexp(0.0, x).astype(x.dtype)  # log(e^0 + e^x), without overflow for large x

    def backward(self, g, out, x):
        return (g / (1.0 + np.exp(-x)),)  # one gradient per input: g * sigmoid(x)


class BrokenSoftplus(Softplus):
    """The same forward with a plausible-looking but wrong backward (e^x instead of sigmoid(x))."""

    def backward(self, g, out, x):
        return (g * np.exp(x),)


def softplus(x: Tensor) -> Tensor:
    return Tensor.apply(Softplus(), x)


class SoftplusNet(Module):
    """784 -> hidden -> 10: softplus hidden units, linear outputs (logits) for cross-entropy."""

    def __init__(self, hidden: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.hidden = Linear(784, hidden, init="he", seed=rng)
        self.out = Linear(hidden, 10, init="xavier", seed=rng)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(softplus(self.hidden(x)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--quick", action="store_true", help="Make a smaller run, as the test suite does.")
    parser.add_argument("--seed", type=int, default=0, help="The seed of the data and the weights (default 0).")
    parser.add_argument("--out-dir", default=None,
                        help="Accepted like the other examples' option; this example writes no files.")
    args = parser.parse_args(argv)

    x = Tensor(np.random.default_rng(args.seed).standard_normal((3, 4)) * 3, requires_grad=True)
    print("softplus(x) on a few values:", np.round(softplus(Tensor(np.array([-30.0, -1.0, 0.0, 1.0, 30.0]))).data, 4))

    gradcheck(softplus, x)
    print("gradcheck(softplus): backward matches finite differences")
    try:
        gradcheck(lambda t: Tensor.apply(BrokenSoftplus(), t), x)
        print("gradcheck(broken softplus) passed: THIS SHOULD NOT HAPPEN")
        return 1
    except GradcheckError as e:
        print(f"gradcheck(broken softplus) caught the wrong backward:\n    {e}")

    n_train, n_test, epochs = (2000, 500, 2) if args.quick else (8000, 2000, 4)
    x_train, y_train, x_test, y_test = load_synthetic(n_train, n_test, seed=args.seed)
    model = SoftplusNet(hidden=32, seed=args.seed)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(1, epochs + 1):
        total = 0.0
        for xb, yb in DataLoader(x_train, y_train, batch_size=32, seed=args.seed + epoch):
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        with no_grad():
            accuracy = float(np.mean(model(Tensor(x_test)).data.argmax(axis=1) == y_test))
        print(f"epoch {epoch}: cross-entropy {total / n_train:.4f}, test accuracy {accuracy:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
