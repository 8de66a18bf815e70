"""``LeNet``: a small convolutional network for 28x28 digits, LeNet-5's shape with ReLU and max pooling.

::

    (N, 1, 28, 28) -> Conv2d(1, 6, 5, padding=2) -> ReLU -> MaxPool2d(2)    (N, 6, 14, 14)
                   -> Conv2d(6, 16, 5)           -> ReLU -> MaxPool2d(2)    (N, 16, 5, 5)
                   -> Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)

61,706 weights and biases, every layer started as PyTorch starts it (uniform in +-1/sqrt(fan_in)). The output
is 10 raw scores (logits) for ``functional.cross_entropy``. Rows of 784 pixels (the MLP's input) are taken too,
and seen as 28x28 images.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..random import generator
from ..tensor_core import Tensor
from . import Conv2d, Linear, Module, functional, init

__all__ = ["LeNet"]


class LeNet(Module):
    """LeNet-5's layout with ReLU and max pooling (see the module's docstring); ``channels`` are the two conv
    layers' widths (6 and 16 as in LeNet-5), ``seed`` an int or a Generator for the starting weights."""

    output_activation = None  # the outputs are raw scores (logits), as an MLP's with output_activation=None

    def __init__(self, channels: tuple[int, int] = (6, 16), num_classes: int = 10, *, seed=0, dtype=np.float32):
        c1, c2 = (int(c) for c in channels)
        if c1 < 1 or c2 < 1 or int(num_classes) < 1:
            raise ShapeError(f"LeNet: channels and num_classes must be >= 1, got {channels}, {num_classes}")
        rng = generator(seed)
        self.channels, self.num_classes = (c1, c2), int(num_classes)
        self.conv1 = Conv2d(1, c1, 5, padding=2, seed=rng, dtype=dtype)
        self.conv2 = Conv2d(c1, c2, 5, seed=rng, dtype=dtype)
        self.fc1 = _linear(c2 * 25, 120, rng, dtype)
        self.fc2 = _linear(120, 84, rng, dtype)
        self.fc3 = _linear(84, self.num_classes, rng, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim == 2 and x.shape[1] == 784:  # the MLP's rows of pixels
            x = x.reshape(x.shape[0], 1, 28, 28)
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ShapeError(f"LeNet: input must be (batch, 1, 28, 28) images or (batch, 784) rows, got {x.shape}")
        x = functional.max_pool2d(self.conv1(x).relu(), 2)  # (N, 6, 14, 14)
        x = functional.max_pool2d(self.conv2(x).relu(), 2)  # (N, 16, 5, 5)
        x = x.reshape(x.shape[0], -1)  # flattened: (N, 400)
        return self.fc3(self.fc2(self.fc1(x).relu()).relu())

    @property
    def sizes(self) -> list[int]:
        """``[784, num_classes]``: the pixels it reads and the scores it gives (an MLP's first and last widths)."""
        return [784, self.num_classes]

    @staticmethod
    def parameter_shapes(channels: tuple[int, int] = (6, 16), num_classes: int = 10) -> dict[str, tuple[int, ...]]:
        """Each parameter's name and shape, without building the network (to check a file before loading it)."""
        c1, c2 = channels
        layers = {"conv1": ((c1, 1, 5, 5), (c1,)), "conv2": ((c2, c1, 5, 5), (c2,)), "fc1": ((120, c2 * 25), (120,)),
                  "fc2": ((84, 120), (84,)), "fc3": ((num_classes, 84), (num_classes,))}
        return {f"{name}.{kind}": shape for name, shapes in layers.items()
                for kind, shape in zip(("weight", "bias"), shapes, strict=True)}

    @property
    def first_filters(self) -> np.ndarray:
        """The first conv layer's filters, (channels[0], 5, 5): what ``show-weights`` draws."""
        return self.conv1.weight.data[:, 0]

    def config(self) -> dict:
        """What is needed to rebuild this architecture (stored in checkpoints)."""
        return {"kind": "lenet", "channels": list(self.channels), "num_classes": self.num_classes}

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_classes={self.num_classes}"


def _linear(n_in: int, n_out: int, rng: np.random.Generator, dtype) -> Linear:
    """A Linear layer started as PyTorch's: weight and bias uniform in +-1/sqrt(n_in)."""
    layer = Linear(n_in, n_out, seed=rng, dtype=dtype)
    bound = 1.0 / np.sqrt(n_in)
    init.uniform_(layer.weight, -bound, bound, seed=rng)
    if layer.bias is not None:
        init.uniform_(layer.bias, -bound, bound, seed=rng)
    return layer
