"""Stateless functions for networks: activations by name, ``one_hot``, and the two losses.

Everything here is composed from Tensor ops; nothing computes its own gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import primitives as P
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, linear  # noqa: F401  (re-exported: F.linear)


def sigmoid(x: Tensor) -> Tensor:
    """Elementwise 1 / (1 + e**-x)."""
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    """Elementwise max(x, 0)."""
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return x.tanh()


def identity(x: Tensor) -> Tensor:
    """Returns x unchanged (a linear output layer)."""
    return x


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": sigmoid, "relu": relu, "tanh": tanh, "identity": identity,
}
# The same functions as unbound Tensor methods: one call less per layer on the training hot path.
_FAST = {"sigmoid": Tensor.sigmoid, "relu": Tensor.relu, "tanh": Tensor.tanh, "identity": identity}


def activation(name: str | None) -> Callable[[Tensor], Tensor]:
    """The activation function called ``name`` (``None`` means identity)."""
    if name is None:
        return identity
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return _FAST[name]


def _labels(labels, what: str) -> np.ndarray:
    """Check class indices are a 1-D integer array (integral floats are converted).

    Their range is checked by the :class:`~tinygrad_mlp.primitives.OneHot` op that reads them,
    at no cost (it looks them up as unsigned integers), so a captured step checks it too.
    """
    arr = labels.data if isinstance(labels, Tensor) else labels
    if type(arr) is not np.ndarray:
        arr = np.asarray(arr)
    if arr.ndim != 1:
        raise ShapeError(f"{what}: labels must be a 1-D array of class indices, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise DTypeError(f"{what}: labels must be integers, got dtype {arr.dtype}")
    return arr


def _one_hot_tensor(idx: np.ndarray, num_classes: int, dtype, value: float, what: str) -> Tensor:
    """The OneHot op applied to the labels (a leaf holding the integer array itself)."""
    try:
        return Tensor._apply(P.OneHot(num_classes, dtype, value), Tensor._make(idx))
    except IndexError as e:
        raise ValueError(f"{what}: {str(e).split(': ', 1)[1]}") from None


def one_hot(labels, num_classes: int = 10, dtype=np.float32) -> Tensor:
    """Rows of the identity: shape (batch,) of class indices -> (batch, num_classes) constant Tensor."""
    return _one_hot_tensor(_labels(labels, "one_hot"), num_classes, dtype, 1.0, "one_hot")


def mse_loss(output: Tensor, target) -> Tensor:
    """The notes' quadratic cost: ``sum((output - target)**2) / batch``.

    For each example, the squared differences are **summed over the outputs**
    (the cost of one example, C0 in the notes); the result is the **average of
    C0 over the examples** of the batch. There is no factor 1/2. ``output`` has
    shape (batch, classes); ``target`` is either the same shape, or a 1-D array
    of integer labels, turned into one-hot rows.
    """
    if output.ndim != 2:
        raise ShapeError(f"mse_loss: output must have shape (batch, outputs), got {output.shape}")
    if isinstance(target, Tensor):
        t = target
    else:
        arr = target if type(target) is np.ndarray else np.asarray(target)
        if arr.ndim == 1 and arr.dtype.kind in "iu":
            t = _one_hot_tensor(_labels(arr, "mse_loss"), output.shape[1], output.dtype, 1.0, "mse_loss")
        else:
            t = output._lift(arr)
    if t.shape != output.shape:
        raise ShapeError(f"mse_loss: target shape {t.shape} does not match output shape {output.shape}")
    return Tensor._apply(P.SquaredError(), output, t)


def cross_entropy(logits: Tensor, labels) -> Tensor:
    """Softmax cross-entropy, averaged over the batch: ``mean(-log softmax(logits)[i, labels[i]])``.

    ``logits`` has shape (batch, classes) and are raw scores (no activation);
    ``labels`` is a 1-D array of integer class indices. Built on the stable
    ``log_softmax``, so logits of any finite size are fine.
    """
    if logits.ndim != 2:
        raise ShapeError(f"cross_entropy: logits must have shape (batch, classes), got {logits.shape}")
    idx = _labels(labels, "cross_entropy")
    if idx.shape[0] != logits.shape[0]:
        raise ShapeError(f"cross_entropy: {idx.shape[0]} labels for a batch of {logits.shape[0]} logits")
    # Picking each example's log-probability by a product with one-hot rows (scaled by -1/batch for the
    # negated mean) keeps the graph small and the backward a plain product.
    weights = _one_hot_tensor(idx, logits.shape[1], logits.dtype, -1 / logits.shape[0], "cross_entropy")
    return (logits.log_softmax(axis=1) * weights).sum()


LOSSES: dict[str, Callable[[Tensor, object], Tensor]] = {"mse": mse_loss, "cross_entropy": cross_entropy}


def loss(name: str) -> Callable[[Tensor, object], Tensor]:
    """The loss function called ``name`` ("mse" or "cross_entropy"; "ce" is accepted too)."""
    name = {"ce": "cross_entropy"}.get(name, name)
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]
