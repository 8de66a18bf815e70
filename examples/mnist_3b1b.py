"""The lesson notes' network, end to end: 784 -> 16 -> 16 -> 10, sigmoid everywhere, 13,002 weights and biases.

    python examples/mnist_3b1b.py                 # synthetic digits, no download, well under a minute
    python examples/mnist_3b1b.py --mnist         # real MNIST ($TINYGRAD_MLP_DATA, or downloaded to the cache)

It follows the notes step by step: random weights and biases, the quadratic cost
of one example (sum of squared differences from the one-hot target) averaged over
a mini-batch, the gradient by backpropagation (here: reverse-mode autograd), a
small step against it, repeated over shuffled mini-batches. Then it looks inside:
the first layer's weights as 28x28 pictures (blue positive, red negative), the
training curves, the confusion matrix and the worst-classified test digits.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from tinygrad_mlp import Tensor, no_grad
from tinygrad_mlp.data import DataLoader, ascii_digit, load_mnist, load_synthetic
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--mnist", action="store_true",
                        help="Train on real MNIST instead of the built-in synthetic digits.")
    parser.add_argument("--data-dir", default=None,
                        help="The folder with the four MNIST files (default: $TINYGRAD_MLP_DATA, then the download cache).")
    parser.add_argument("--epochs", type=int, default=None,
                        help="How many passes over the training data (default 8, or 3 with --quick).")
    parser.add_argument("--lr", type=float, default=3.0, help="The learning rate (default 3.0, the notes' classic).")
    parser.add_argument("--batch-size", type=int, default=10,
                        help="How many examples each mini-batch holds (default 10).")
    parser.add_argument("--seed", type=int, default=0, help="The seed of the weights and the data order (default 0).")
    parser.add_argument("--quick", action="store_true", help="Make a small run, as the test suite does.")
    parser.add_argument("--out-dir", default="examples-out",
                        help="The folder the pictures are written to (default examples-out).")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    epochs = args.epochs or (3 if args.quick else 8)

    if args.mnist:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
        source = "MNIST"
    else:
        n_train, n_test = (3000, 1000) if args.quick else (10000, 2000)
        x_train, y_train, x_test, y_test = load_synthetic(n_train, n_test, seed=args.seed)
        source = "synthetic digits"
    print(f"data: {source}, {len(x_train)} training and {len(x_test)} test images of 28x28 = 784 pixels")

    # 1. The network: a(l) = sigmoid(W(l) a(l-1) + b(l)), weights and biases drawn at random.
    model = MLP([784, 16, 16, 10], init="random", seed=args.seed)  # the notes' N(0, 1) start
    print(f"network: 784 -> 16 -> 16 -> 10 with {model.num_parameters():,} weights and biases")

    # 2. Learning: gradient descent on the average cost, one shuffled mini-batch at a time.
    optimizer = SGD(model.parameters(), lr=args.lr)
    loader = DataLoader(x_train, y_train, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    history = []
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        for xb, yb in loader:
            cost = F.quadratic_cost(model(Tensor(xb)), yb)  # average over the batch of C0 = sum((a(L) - y)^2)
            optimizer.zero_grad()
            cost.backward()                          # backpropagation: dC/dw for all 13,002 parameters
            optimizer.step()                         # w <- w - lr * dC/dw
            total += cost.item() * len(xb)
        with no_grad():
            outputs = model(Tensor(x_test)).data
        accuracy = float(np.mean(outputs.argmax(axis=1) == y_test))
        history.append({"epoch": epoch, "train_loss": total / len(x_train), "test_accuracy": accuracy})
        print(f"epoch {epoch:2d}: average cost {total / len(x_train):.4f}, test accuracy {accuracy:.1%} "
              f"({time.perf_counter() - start:.1f} s)")

    # 3. Looking inside.
    guesses = outputs.argmax(axis=1)
    print(f"\nOne test image, labelled {y_test[0]}; the network says {guesses[0]} "
          f"(output activation {outputs[0, guesses[0]]:.2f}):")
    print(ascii_digit(x_test[0]))
    try:
        from tinygrad_mlp import viz
    except ImportError as e:  # viz itself imports without matplotlib; the pictures need it
        print(e)
        return
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_test, guesses), 1)
    worst = viz.worst_predictions(outputs, y_test, k=16)
    try:
        paths = [
            viz.plot_first_layer_weights(model.weights[0], out / "weights.png",
                                         title=f"First-layer weights after {epochs} epochs on {source} "
                                               "(blue +, red -, one shared scale)"),
            viz.plot_training_curves(history, out / "curves.png"),
            viz.plot_confusion(confusion, out / "confusion.png"),
            viz.plot_worst_digits(x_test[worst], y_test[worst], guesses[worst], outputs[worst, guesses[worst]],
                                  out / "worst.png", label_confidences=outputs[worst, y_test[worst]]),
        ]
    except ImportError as e:
        print(e)
        return
    print("\npictures: " + ", ".join(str(p) for p in paths))
    print("In weights.png each panel is one hidden neuron's 784 weights: look for the tidy edges and loops the")
    print("notes hoped for; what training finds are blobs and loose strokes that still separate the digits.")


if __name__ == "__main__":
    main()
