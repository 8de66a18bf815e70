"""The toolbox on digits: LayerNorm, GELU, Dropout, AdamW with parameter groups, label smoothing, a cosine
schedule and gradient clipping, all PyTorch-shaped.

    python examples/toolbox_digits.py             # 3,000 synthetic digits, 3 epochs: a few seconds
    python examples/toolbox_digits.py --full      # 20,000 synthetic digits, 5 epochs: about half a minute
    python examples/toolbox_digits.py --mnist     # real MNIST ($TINYGRAD_MLP_DATA, or downloaded), 5 epochs

The network is 784 -> 128 -> LayerNorm -> GELU -> Dropout(0.2) -> 10 (logits). AdamW decays the weight
matrices only: the biases and LayerNorm's gain and shift form a second parameter group with
``weight_decay=0``, as is usual (shrinking a bias or a gain towards 0 is not regularization). Dropout is
active in ``model.train()`` and off in ``model.eval()``, which the evaluation switches to.
"""

import argparse

import numpy as np

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor, no_grad, nn
from tinygrad_mlp.data import DataLoader, load_mnist, load_synthetic
from tinygrad_mlp.optim import AdamW, CosineLR, clip_grad_norm_


def build(seed: int) -> nn.Module:
    tm.manual_seed(seed)  # the one seed behind every random draw below (weights and dropout masks)
    return nn.Sequential(
        nn.Linear(784, 128, init="he"),
        nn.LayerNorm(128),
        nn.GELU(),
        nn.Dropout(0.2),
        nn.Linear(128, 10, init="xavier"),
    )


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight matrices decayed; biases and LayerNorm's parameters (all 1-D) not."""
    params = model.parameters()
    return [{"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()  # Dropout off
    with no_grad():
        right = sum(int((model(Tensor(x[i:i + 1000])).argmax(axis=1) == y[i:i + 1000]).sum())
                    for i in range(0, len(x), 1000))
    model.train()
    return right / len(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--mnist", action="store_true",
                        help="Train on real MNIST (60,000 images, 5 epochs by default) instead of synthetic digits.")
    parser.add_argument("--data-dir", default=None,
                        help="The folder with the four MNIST files (default: $TINYGRAD_MLP_DATA, then the download cache).")
    parser.add_argument("--epochs", type=int, default=None,
                        help="How many passes over the training set (default 3, 5 with --full or --mnist, 1 with --quick).")
    parser.add_argument("--seed", type=int, default=0,
                        help="The one seed of the weights, the dropout masks and the data order (default 0).")
    parser.add_argument("--quick", action="store_true", help="Make a short run, as the test suite does.")
    parser.add_argument("--full", action="store_true", help="Train on 20,000 synthetic digits for 5 epochs.")
    parser.add_argument("--out-dir", default="examples-out",
                        help="Accepted like the other examples' option; this example draws no pictures.")
    args = parser.parse_args(argv)
    epochs = args.epochs or (1 if args.quick else 5 if args.full or args.mnist else 3)

    if args.mnist:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
        source = "MNIST"
    else:
        x_train, y_train, x_test, y_test = load_synthetic(20000 if args.full else 3000, 1000,
                                                          seed=args.seed)
        source = "synthetic digits"
    model = build(args.seed)
    optimizer = AdamW(parameter_groups(model, weight_decay=0.05), lr=3e-3)
    steps_per_epoch = -(-len(x_train) // 64)
    schedule = CosineLR(optimizer, total=epochs * steps_per_epoch)  # stepped every batch here
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    loader = DataLoader(x_train, y_train, batch_size=64, shuffle=True, seed=args.seed)
    print(f"{source}: {len(x_train)} training and {len(x_test)} test images; {model.num_parameters():,} parameters "
          f"in {len(optimizer.param_groups)} groups (decayed: {sum(p.numel() for p in optimizer.param_groups[0]['params']):,})")
    for epoch in range(1, epochs + 1):
        total, norms = 0.0, []
        for xb, yb in loader:
            loss = loss_fn(model(Tensor(xb)), yb)
            optimizer.zero_grad()
            loss.backward()
            norms.append(clip_grad_norm_(model.parameters(), max_norm=5.0))
            optimizer.step()
            schedule.step()
            total += loss.item() * len(xb)
        print(f"epoch {epoch}: loss {total / len(x_train):.4f}, median gradient norm {np.median(norms):.2f}, "
              f"lr {optimizer.lr:.2e}, test accuracy {accuracy(model, x_test, y_test):.1%}")


if __name__ == "__main__":
    main()
