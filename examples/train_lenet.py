"""Train a small convolutional network (LeNet-5's shape) on MNIST: 99% on the test set.

    python examples/train_lenet.py                       # quick: synthetic digits, three short epochs (seconds)
    python examples/train_lenet.py --mnist               # real MNIST, 12 epochs, seed 0: 99% on the test set
    python examples/train_lenet.py --mnist --seed 1 --json run1.json

The network (``tinygrad_mlp.nn.LeNet``): two convolution + ReLU + 2x2 max-pool blocks, then three dense layers,
61,706 weights and biases. The images go in as (batch, 1, 28, 28). Adam (lr 1e-3), batches of 64, the learning
rate annealed to 0 along half a cosine over the run; the loop is ``tinygrad_mlp.train.fit``, which replays a
captured step (``tm.compile``). The convolutions' gradients come from the same engine as the MLP's: the only new
derivative code is the convolution's rule (docs/convolution.md).
"""

import argparse
import json
import time

import numpy as np

from tinygrad_mlp.data import load_mnist, load_synthetic
from tinygrad_mlp.nn import LeNet
from tinygrad_mlp.optim import Adam, CosineLR
from tinygrad_mlp.train import evaluate, fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", action="store_true",
                        help="Train on real MNIST ($TINYGRAD_MLP_DATA, or downloaded) for --epochs epochs.")
    parser.add_argument("--epochs", type=int, default=12, help="Passes over MNIST with --mnist (default 12).")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the starting weights and the batch order.")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's initial learning rate (default 1e-3).")
    parser.add_argument("--batch-size", type=int, default=64, help="Images per step (default 64).")
    parser.add_argument("--data-dir", help="The folder with the four MNIST files.")
    parser.add_argument("--quick", action="store_true",
                        help="The smallest run: synthetic digits, three short epochs (the default without --mnist).")
    parser.add_argument("--json", metavar="PATH", help="Also write the per-epoch history and the result as JSON.")
    parser.add_argument("--out-dir", help="Accepted for symmetry with the other examples; nothing is written.")
    args = parser.parse_args(argv)

    if args.mnist and not args.quick:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    else:
        args.quick = True
        x_train, y_train, x_test, y_test = load_synthetic(1500, 300)
        args.epochs = 3
    # images, channels first: (N, 784) rows -> (N, 1, 28, 28)
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    print(f"data: {'synthetic digits' if args.quick else 'MNIST'}, {len(x_train)} training / {len(x_test)} test "
          f"images of shape {x_train.shape[1:]}")

    model = LeNet(seed=args.seed)
    optimizer = Adam(model.parameters(), lr=args.lr)
    schedule = CosineLR(optimizer, total=args.epochs)
    print(f"network: LeNet, {model.num_parameters():,} weights and biases; Adam lr {args.lr} (cosine to 0), "
          f"batches of {args.batch_size}, {args.epochs} epochs, seed {args.seed}")

    def report(record):
        print(f"epoch {record['epoch']:2d}: train loss {record['train_loss']:.4f}, test accuracy "
              f"{100 * record['test_accuracy']:.2f}%, {record['seconds']:.0f} s", flush=True)

    start = time.perf_counter()
    result = fit(model, optimizer, "cross_entropy", x_train, y_train, x_test, y_test, epochs=args.epochs,
                 batch_size=args.batch_size, seed=args.seed, scheduler=schedule, callbacks=[report], progress=False)
    seconds = time.perf_counter() - start
    accuracy, per_digit, _ = evaluate(model, x_test, y_test)
    print(f"test accuracy {100 * accuracy:.2f}% after {args.epochs} epochs, {seconds:.0f} s")
    print("accuracy per digit: " + ", ".join(f"{d}: {100 * a:.1f}%" for d, a in enumerate(per_digit)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"seed": args.seed, "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                       "test_accuracy": accuracy, "seconds": seconds, "history": result.history,
                       "per_digit": [float(a) for a in np.nan_to_num(per_digit)]}, f, indent=1)
    return accuracy


if __name__ == "__main__":
    main()
