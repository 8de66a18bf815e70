"""The notes' observation: show the trained network pure noise and it still answers (how confidently: measured).

    python examples/random_noise.py                           # trains on synthetic digits first (seconds)
    python examples/random_noise.py --mnist                   # trains on real MNIST
    python examples/random_noise.py --checkpoint model.npz    # or uses a model from `tinygrad-mlp train`

The network was only ever shown digits, and its ten sigmoid outputs have no way
to say "this is not a digit": every input lands somewhere in the space the
training carved up. This example feeds it random images and prints the output
activations, next to those for a real digit, and draws both.
"""

import argparse
from pathlib import Path

import numpy as np

from tinygrad_mlp import Tensor, no_grad
from tinygrad_mlp.data import DataLoader, load_mnist, load_synthetic
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD


def train(x, y, epochs: int, seed: int) -> MLP:
    model = MLP([784, 16, 16, 10], init="random", seed=seed)  # the notes' N(0, 1) start
    optimizer = SGD(model.parameters(), lr=3.0)
    loader = DataLoader(x, y, batch_size=10, seed=seed)
    for _ in range(epochs):
        for xb, yb in loader:
            cost = F.quadratic_cost(model(Tensor(xb)), yb)
            optimizer.zero_grad()
            cost.backward()
            optimizer.step()
    return model


def outputs_of(model, images: np.ndarray) -> np.ndarray:
    with no_grad():
        return model(Tensor(images.astype(np.float32))).data


def bars(activations: np.ndarray) -> str:
    return "  ".join(f"{d}:{a:.2f}" for d, a in enumerate(activations))


def conclusion(above_half: float, above_09: float) -> str:
    """The sentence the numbers support: every noise image gets a digit; how confidently, as measured."""
    first = "The network never says 'none of these': every noise image gets a digit"
    if above_09 >= 0.25:
        return f"{first}, and often a confident one ({above_09:.0%} above 0.9)."
    if above_09 > 0:
        return (f"{first}; {above_half:.0%} with an output above 0.5, but only {above_09:.0%} above 0.9 "
                "(how many depends strongly on the training run).")
    if above_half >= 0.5:
        return f"{first}, most with an output above 0.5 ({above_half:.0%}), though none above 0.9 for this model."
    return f"{first}, but this model's outputs for noise are mostly low ({above_half:.0%} above 0.5)."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--mnist", action="store_true",
                        help="Train on real MNIST instead of the built-in synthetic digits.")
    parser.add_argument("--data-dir", default=None,
                        help="The folder with the four MNIST files (default: $TINYGRAD_MLP_DATA, then the download cache).")
    parser.add_argument("--checkpoint", default=None,
                        help="Use the model saved in this checkpoint instead of training one.")
    parser.add_argument("--epochs", type=int, default=None,
                        help="How many epochs to train (default 5, or 2 with --quick).")
    parser.add_argument("--samples", type=int, default=1000,
                        help="How many random images to show the network (default 1000).")
    parser.add_argument("--seed", type=int, default=0,
                        help="The seed of the weights, the data order and the noise (default 0).")
    parser.add_argument("--quick", action="store_true", help="Make a small run, as the test suite does.")
    parser.add_argument("--out-dir", default="examples-out",
                        help="The folder the pictures are written to (default examples-out).")
    args = parser.parse_args(argv)

    if args.mnist:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    else:
        x_train, y_train, x_test, y_test = load_synthetic(*((3000, 500) if args.quick else (10000, 2000)),
                                                          seed=args.seed)
    if args.checkpoint:
        from tinygrad_mlp import checkpoint

        model = checkpoint.load(args.checkpoint).build_model()
        print(f"model: {args.checkpoint}")
    else:
        epochs = args.epochs or (2 if args.quick else 5)
        model = train(x_train, y_train, epochs, args.seed)
        print(f"model: the notes' 784-16-16-10 network, trained {epochs} epochs on "
              f"{'MNIST' if args.mnist else 'synthetic digits'}")
    test_out = outputs_of(model, x_test)
    print(f"test accuracy on real digits: {np.mean(test_out.argmax(axis=1) == y_test):.1%}\n")

    rng = np.random.default_rng(args.seed)
    noise = rng.random((args.samples, 784))  # every pixel uniform in [0, 1]
    noise_out = outputs_of(model, noise)
    top = noise_out.max(axis=1)
    digit_top = test_out.max(axis=1)
    print(f"{args.samples} images of random noise, every pixel uniform in [0, 1]:")
    for i in range(3):
        print(f"  noise #{i}: guess {noise_out[i].argmax()}   {bars(noise_out[i])}")
    real = int(np.argmax(test_out.argmax(axis=1) == y_test))  # the first test digit it gets right
    print(f"  a real {y_test[real]}:  guess {test_out[real].argmax()}   {bars(test_out[real])}\n")
    counts = np.bincount(noise_out.argmax(axis=1), minlength=10)
    print(f"largest output activation, median over the noise images: {np.median(top):.2f} "
          f"(real test digits: {np.median(digit_top):.2f})")
    print(f"noise images answered with an activation above 0.5: {np.mean(top > 0.5):.0%}, "
          f"above 0.9: {np.mean(top > 0.9):.0%}")
    print("guesses for the noise images, digit by digit: " + ", ".join(f"{d}: {c}" for d, c in enumerate(counts)))
    print(conclusion(float(np.mean(top > 0.5)), float(np.mean(top > 0.9))))

    try:
        from tinygrad_mlp import viz

        out = Path(args.out_dir)
        worst = int(np.argmax(top))
        paths = [
            viz.plot_output_activations(noise[worst], noise_out[worst], out / "random_noise.png",
                                        title=f"Random noise, the most confident of {args.samples} tries"),
            viz.plot_output_activations(x_test[real], test_out[real], out / "real_digit.png",
                                        title=f"A real test digit (label {y_test[real]})"),
        ]
    except ImportError as e:
        print(e)
        return 0
    print("pictures: " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
