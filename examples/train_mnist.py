"""Train a digit classifier by hand: an MLP, SGD, a loop over a DataLoader, then evaluate.

    python examples/train_mnist.py            # quick: synthetic digits (no files, no network), well under a minute
    python examples/train_mnist.py --mnist    # the notes' full run: real MNIST, 784-16-16-10, 30 epochs

This is the loop that ``tinygrad-mlp train`` (``tinygrad_mlp.train.fit``) runs for you,
written out: forward, cost, backward, step, for every shuffled mini-batch. The
command adds progress bars, checkpoints, the NaN guard and Ctrl-C/--resume.
"""

import argparse
import time

from tinygrad_mlp import Tensor
from tinygrad_mlp.data import DataLoader, load_mnist, load_synthetic
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD
from tinygrad_mlp.train import evaluate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--mnist", action="store_true",
                        help="Train on real MNIST ($TINYGRAD_MLP_DATA, or downloaded once) instead of synthetic digits.")
    parser.add_argument("--data-dir",
                        help="The folder with the four MNIST files (default: $TINYGRAD_MLP_DATA, then the download cache).")
    parser.add_argument("--epochs", type=int, help="How many passes over the data (default 30 with --mnist, else 5).")
    parser.add_argument("--quick", action="store_true",
                        help="Make the smallest run, as the test suite does; without --mnist it is the default.")
    parser.add_argument("--out-dir", help="Accepted like the other examples' option; this example writes no files.")
    args = parser.parse_args(argv)

    if args.mnist:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
        epochs = args.epochs or 50
    else:
        x_train, y_train, x_test, y_test = load_synthetic(5000, 1000)
        epochs = args.epochs or 5
    print(f"data: {'MNIST' if args.mnist else 'synthetic digits'}, {len(x_train)} training / {len(x_test)} test images")

    model = MLP([784, 16, 16, 10], activation="sigmoid", output_activation="sigmoid", init="xavier", seed=0)
    optimizer = SGD(model.parameters(), lr=3.0)
    loader = DataLoader(x_train, y_train, batch_size=10, shuffle=True, seed=0)
    print(f"network: 784-16-16-10, {model.num_parameters():,} weights and biases; SGD lr 3.0, batches of 10")

    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.quadratic_cost(model(Tensor(xb)), yb)  # the quadratic cost, averaged over the batch
            loss.backward()                           # backpropagation
            optimizer.step()                          # a small step downhill
            total += loss.item() * len(yb)
        accuracy, per_digit, _ = evaluate(model, x_test, y_test)
        print(f"epoch {epoch:2d}: train cost {total / len(x_train):.4f}, test accuracy {100 * accuracy:.2f}%, "
              f"{time.perf_counter() - start:.1f} s")
    print("accuracy per digit: " + ", ".join(f"{d}: {100 * a:.0f}%" for d, a in enumerate(per_digit)))


if __name__ == "__main__":
    main()
