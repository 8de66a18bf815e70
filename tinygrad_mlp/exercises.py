"""The notes' backpropagation with bugs planted on purpose, for the gradient-checking exercises.

:func:`notes_backprop` is the notes' network (sigmoid everywhere, the quadratic
cost ``C0 = sum_j (a_j(L) - y_j)^2`` averaged over the batch) differentiated by
hand, in the notes' ``j, k`` notation: ``j`` a neuron of layer ``l``, ``k`` one of
layer ``l - 1``, ``w_jk(l)`` the weight from ``k`` to ``j``. Given ``bug=``, it
makes one of the classic mistakes of :data:`PLANTED_BUGS`; each entry says which
parameter tensors and which pairs of the three-way check
(:func:`tinygrad_mlp.threeway.three_way_check`, with ``hand=``) must then fail,
and why. ``tests/test_exercises.py`` plants every bug and checks exactly that;
docs/gradient-checking.md (exercises 7 and 8) teaches it.

Plain numpy, no Tensor: this is the "hand" column of the three-way check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ArgumentError

__all__ = ["PlantedBug", "PLANTED_BUGS", "notes_backprop", "expected_failures"]

HAND_PAIRS = (("autograd", "hand"), ("hand", "FD"))  # the pairs a wrong hand-written gradient is part of


@dataclass(frozen=True)
class PlantedBug:
    """One classic mistake in a hand-written backprop, and what the three-way check must see."""

    name: str
    mistake: str  # what the code does wrong, in one line
    tensors: str  # which parameter tensors come out wrong: "all", "below the last layer" or "biases"
    loss_value_differs: bool  # does the cost itself come out different (not only its gradient)?
    why: str


PLANTED_BUGS: dict[str, PlantedBug] = {bug.name: bug for bug in (
    PlantedBug("missing factor 2", "dC0/da(L) = (a(L) - y) instead of 2 (a(L) - y)", "all", False,
               "every gradient is half the true one: the error starts at the output and every delta carries it"),
    PlantedBug("sum instead of mean", "the cost and its gradient summed over the examples, not averaged", "all", True,
               "a different cost (batch times the notes' one), so its value and every gradient are batch times too "
               "large; invisible with a batch of one"),
    PlantedBug("W instead of W^T", "dC/da(l-1) = W(l) delta(l) instead of W(l)^T delta(l) (square layers only)",
               "below the last layer", False,
               "the output layer's gradients use no transpose and are right; every error moved back one layer "
               "goes through the wrong matrix, so all earlier layers are wrong"),
    PlantedBug("sigma'(a) instead of a(1 - a)", "the sigmoid's derivative evaluated at a = sigmoid(z): "
               "sigmoid(a) (1 - sigmoid(a)) instead of a (1 - a) = sigmoid'(z)", "all", False,
               "already delta(L) is wrong, and every other gradient is built from it"),
    PlantedBug("bias not summed over the batch", "dC/db(l) = delta(l) of the last example only, "
               "not summed over the examples", "biases", False,
               "the weight gradients (delta a^T sums over the examples in the matmul) are right; each bias keeps "
               "one example's share; invisible with a batch of one"),
)}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def notes_backprop(weights, biases, x, labels, bug: str | None = None) -> tuple[float, list, list]:
    """The notes' cost and gradient, derived by hand; ``bug`` plants one mistake of :data:`PLANTED_BUGS`.

    Args:
        weights: [W(1), ..., W(L)], W(l) of shape (n_l, n_{l-1}): ``W[j, k] = w_jk(l)``.
        biases: [b(1), ..., b(L)], b(l) of shape (n_l,).
        x: inputs, one example per row, (batch, n_0).
        labels: integer labels (batch,) (a one-hot target per example).
        bug: None (correct) or a key of :data:`PLANTED_BUGS`.

    Returns:
        ``(C, grad_weights, grad_biases)``, the signature ``three_way_check(hand=)`` takes.
    """
    if bug is not None and bug not in PLANTED_BUGS:
        raise ArgumentError(f"unknown bug {bug!r}; the planted bugs are {sorted(PLANTED_BUGS)}")
    L = len(weights)
    x = np.asarray(x)
    n = x.shape[0]
    # one example per column, as in the notes: a(0) of shape (n_0, batch)
    activations = [x.T]
    for W, b in zip(weights, biases, strict=True):
        z = W @ activations[-1] + b[:, None]  # z_j(l) = sum_k w_jk(l) a_k(l-1) + b_j(l)
        activations.append(_sigmoid(z))  # a_j(l) = sigmoid(z_j(l))
    out = activations[L]
    y = np.zeros_like(out)
    y[np.asarray(labels), np.arange(n)] = 1.0  # the one-hot target, one column per example
    per_example = np.sum((out - y) ** 2, axis=0)  # C0 = sum_j (a_j(L) - y_j)^2
    average = 1.0 if bug == "sum instead of mean" else 1.0 / n
    cost = float(per_example.sum() * average)  # C = the average of C0 over the examples
    factor = 1.0 if bug == "missing factor 2" else 2.0
    dC_da = factor * (out - y) * average  # dC/da_j(L) = 2 (a_j(L) - y_j), with the 1/n of the average in it

    grad_w: list = [None] * L
    grad_b: list = [None] * L
    for l in range(L, 0, -1):
        a = activations[l]
        if bug == "sigma'(a) instead of a(1 - a)":
            sigmoid_prime = _sigmoid(a) * (1 - _sigmoid(a))
        else:
            sigmoid_prime = a * (1 - a)  # sigmoid'(z_j(l)) = a_j(l) (1 - a_j(l))
        delta = sigmoid_prime * dC_da  # delta_j(l) = dC/dz_j(l), one column per example
        # dC/dw_jk(l) = a_k(l-1) delta_j(l), summed over the examples (the matmul sums)
        grad_w[l - 1] = delta @ activations[l - 1].T
        if bug == "bias not summed over the batch":
            grad_b[l - 1] = delta[:, -1].copy()
        else:
            grad_b[l - 1] = delta.sum(axis=1)  # dC/db_j(l) = delta_j(l), summed over the examples
        if l > 1:  # (nothing to move back into the input image)
            W = weights[l - 1]
            # dC/da_k(l-1) = sum_j w_jk(l) delta_j(l): every neuron j's wish for neuron k, added up
            dC_da = (W if bug == "W instead of W^T" else W.T) @ delta
    return cost, grad_w, grad_b


def expected_failures(bug: str, layers: int) -> set[tuple[str, str, str]]:
    """The ``(parameter name, first method, second method)`` cells that fail with ``bug`` in a net of ``layers``."""
    if bug not in PLANTED_BUGS:
        raise ArgumentError(f"unknown bug {bug!r}; the planted bugs are {sorted(PLANTED_BUGS)}")
    planted = PLANTED_BUGS[bug]
    names = []
    for i in range(layers):
        wrong_layer = planted.tensors in ("all", "biases") or (planted.tensors == "below the last layer"
                                                              and i < layers - 1)
        if wrong_layer and planted.tensors != "biases":
            names.append(f"layers.{i}.weight")
        if wrong_layer:
            names.append(f"layers.{i}.bias")
    return {(name, a, b) for name in names for a, b in HAND_PAIRS}
