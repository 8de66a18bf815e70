"""How a network learns, computed: the notes' "nudges", mini-batch noise, and descent on a 2-D cost.

numpy plus the hand-derived :mod:`tinygrad_mlp.backprop` (no Tensor, no command line): the
commands ``tinygrad-mlp nudges`` and ``tinygrad-mlp lab`` and ``examples/descent_2d.py`` print
and draw what these functions compute.

* :func:`nudges` / :func:`format_nudges`: for one training digit, what the cost wants of the
  output layer (``-dC/da_j``), the three ways to get there (the bias, the weights in proportion
  to the activations, the activations in proportion to the weights), the largest
  ``dC/dw_jk = a_k delta_j`` (the Hebbian "fire together, wire together" reading), and the
  previous layer's desired change added up term by term from every output neuron's wish;
  over ``K`` examples, the average of the per-example gradients next to the batch gradient.
* :func:`gradient_noise`: how far a mini-batch gradient is from the full one (cosine
  similarity and relative error) for several batch sizes.
* :func:`saturation`: the fraction of sigmoid activations pinned near 0 or 1, the reason a
  too-large learning rate can stall with no NaN in sight.
* :func:`two_minima_cost`, :func:`descend`: a 2-D cost with two minima, and gradient descent
  on it (with optional gradient noise, a stand-in for mini-batches).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import backprop as bp
from .errors import ArgumentError, ShapeError
from .nn import MLP, Module, functional
from .nn.functional import loss_name
from .tensor_core import Tensor, no_grad

__all__ = [
    "Nudges", "nudges", "format_nudges", "per_example_average", "full_gradient", "gradient_noise", "saturation",
    "two_minima_cost", "two_minima_gradient", "TWO_MINIMA", "descend", "hidden_activations",
    "mean_activation_per_digit", "top_activating", "layer2_templates", "parameter_names",
    "layer_summary", "lr_sweep", "plateau_hint", "starting_loss", "divergence_hint", "DIVERGENCE_RATIO",
    "lab_seconds",
]


# ---------------------------------------------------------------------- nudges


@dataclass
class Nudges:
    """What one example's cost asks of the network (all arrays float64)."""

    label: int
    output: np.ndarray  # a(L), (n_L,)
    target: np.ndarray  # y, (n_L,)
    wish: np.ndarray  # -dC/da(L): how each output activation should move, (n_L,)
    delta: np.ndarray  # dC/dz(L) = dC/db(L), (n_L,)
    previous: np.ndarray  # a(L-1), (n_{L-1},)
    grad_w: np.ndarray  # dC/dW(L) = delta a(L-1)^T, (n_L, n_{L-1})
    terms: np.ndarray  # terms[j, k] = -w_jk delta_j: output neuron j's wish for previous neuron k
    all_grads: list[np.ndarray]  # dC/dW(1), dC/db(1), ..., dC/dW(L), dC/db(L)


def _output_gradient(out: np.ndarray, target: np.ndarray, loss: str) -> np.ndarray:
    """dC0/da(L) of one example (column vectors)."""
    if loss == "mse":
        return 2.0 * (out - target)
    if loss_name(loss) == "cross_entropy":
        p = np.exp(out - out.max())
        return p / p.sum() - target
    raise ArgumentError(f"nudges: unknown loss {loss!r}; use 'mse' or 'cross_entropy'")


def nudges(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray, label: int,
           activation: str | None = "sigmoid", output_activation: str | None = "sigmoid",
           loss: str = "mse") -> Nudges:
    """The notes' backpropagation for ONE example, kept in pieces: see :class:`Nudges`.

    ``x`` is one image (n_0,); ``label`` its digit. Everything is computed in float64.
    """
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    n_out = weights[-1].shape[0]
    if not 0 <= int(label) < n_out:
        raise ArgumentError(f"nudges: label {label} is not one of the {n_out} outputs")
    zs, acts = bp.forward(weights, biases, x, activation, output_activation)
    out, prev = acts[-1][:, 0], acts[-2][:, 0]
    target = np.zeros(n_out)
    target[int(label)] = 1.0
    dC_da = _output_gradient(out, target, loss_name(loss))
    _, fprime = bp.ACTIVATIONS["identity" if output_activation is None else output_activation]
    delta = dC_da if fprime is None else dC_da * fprime(zs[-1][:, 0], out)
    _, gw, gb = bp.backprop(weights, biases, x, np.array([int(label)]), activation, output_activation,
                            loss_name(loss))
    grads = [g for pair in zip(gw, gb, strict=True) for g in pair]
    return Nudges(int(label), out, target, -dC_da, np.asarray(delta, dtype=np.float64), prev,
                  np.outer(delta, prev), -weights[-1] * delta[:, None], grads)


def per_example_average(weights, biases, x, labels, activation="sigmoid", output_activation="sigmoid",
                        loss="mse") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(average of the K per-example gradients, the gradient of the K-example batch cost)``, per tensor.

    The first is computed one example at a time (the notes' "average together those desired
    changes"), the second by one backprop on the whole batch; they agree to rounding because the
    derivative of an average is the average of the derivatives.
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(labels) or len(x) == 0:
        raise ShapeError(f"per_example_average: need a batch of images (K, n_0) and K labels, got {x.shape} "
                         f"and {labels.shape}")
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    total: list[np.ndarray] | None = None
    for image, label in zip(x, labels, strict=True):
        one = nudges(weights, biases, image, int(label), activation, output_activation, loss).all_grads
        total = one if total is None else [t + g for t, g in zip(total, one, strict=True)]
    assert total is not None
    average = [t / len(x) for t in total]
    _, gw, gb = bp.backprop(weights, biases, x, labels, activation, output_activation,
                            loss_name(loss))
    return average, [g for pair in zip(gw, gb, strict=True) for g in pair]


def parameter_names(L: int) -> list[str]:
    """The notes' names of an ``L``-layer network's parameters, in order: ``W(1)``, ``b(1)``, ... ``b(L)``."""
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise ArgumentError(f"parameter_names: L must be a positive number of layers, got {L!r}")
    return [f"{kind}({l})" for l in range(1, L + 1) for kind in ("W", "b")]


def format_nudges(n: Nudges, weights: Sequence[np.ndarray], top: int = 5) -> str:
    """The printout of ``tinygrad-mlp nudges`` for one example."""
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    L = len(weights)
    j_star = n.label
    lines = [
        f"1. What the cost wants of the output layer (label {n.label}): -dC0/da_j = 2 (y_j - a_j)",
        "   digit  a_j      y_j  wish -dC0/da_j   delta_j = dC0/dz_j",
    ]
    for j in range(len(n.output)):
        mark = "  <- the right digit" if j == j_star else ""
        lines.append(f"   {j:>5}  {n.output[j]:.4f}   {n.target[j]:.0f}   {n.wish[j]:+10.4f}   "
                     f"{n.delta[j]:+12.5f}{mark}")
    biggest = int(np.argmax(np.abs(n.wish)))
    lines += [(f"   the largest wish is output {biggest}'s ({n.wish[biggest]:+.3f}): the size of a nudge is how far "
              "that activation is from its target"), ""]
    prev = n.previous
    contrib = n.grad_w[j_star]
    k_hi = np.argsort(-np.abs(contrib))[:3]
    w_row = weights[-1][j_star]
    t_hi = np.argsort(-np.abs(w_row * n.delta[j_star]))[:3]
    lines += [
        f"2. Three ways to move output {j_star} (z_{j_star} = sum_k w_{j_star}k a_k + b_{j_star}), each a derivative:",
        f"   (1) its bias:      dC0/db_{j_star} = delta_{j_star} = {n.delta[j_star]:+.5f}",
        (f"   (2) its weights, in proportion to the activations a_k: dC0/dw_{j_star}k = a_k delta_{j_star}; the "
        "largest:"),
    ]
    lines += [f"         k={k:>2}: a_k {prev[k]:.3f} x delta {n.delta[j_star]:+.4f} = {contrib[k]:+.5f}" for k in k_hi]
    lines += [(f"   (3) the previous activations, in proportion to the weights: dC0/da_k gets w_{j_star}k "
              f"delta_{j_star}; the largest:")]
    lines += [f"         k={k:>2}: w {w_row[k]:+.3f} x delta {n.delta[j_star]:+.4f} = {w_row[k] * n.delta[j_star]:+.5f}"
              for k in t_hi]
    lines.append("")
    flat = np.argsort(-np.abs(n.grad_w), axis=None)[:top]
    lines.append(f"3. The {top} largest dC0/dw_jk of the output layer: a_k delta_j, 'neurons that fire together "
                 "wire together':")
    lines.append("   a bright neuron k (large a_k) feeding an output j that is far off (large delta_j) gets the "
                 "biggest change")
    for idx in flat:
        j, k = np.unravel_index(idx, n.grad_w.shape)
        lines.append(f"   w_{j},{k:<3} a_k {prev[k]:.3f} x delta_j {n.delta[j]:+.4f} = {n.grad_w[j, k]:+.5f}")
    lines.append("")
    lines.append(f"4. The previous layer's desired change -dC0/da_k = sum_j (-w_jk delta_j): every output's wish, "
                 f"added up (the competing nudges; columns j = 0..{len(n.output) - 1})")
    wish_prev = n.terms.sum(axis=0)
    for k in range(n.terms.shape[1]):
        terms = " ".join(f"{t:+.3f}" for t in n.terms[:, k])
        lines.append(f"   k={k:>2}: {terms} = {wish_prev[k]:+.4f}")
    lines.append("")
    sizes = np.concatenate([np.abs(g).ravel() for g in n.all_grads])
    order = np.sort(sizes)[::-1]
    share = float((order[:130] ** 2).sum() / max((order**2).sum(), 1e-300))
    lines.append(f"5. All {sizes.size:,} nudges -dC0/dp at once: the largest 1% (130 of them) carry {share:.0%} of "
                 "the gradient's squared length; their sizes rank which changes matter most")
    names = parameter_names(L)
    for name, g in zip(names, n.all_grads, strict=True):
        lines.append(f"   {name:<6} {g.size:>6} numbers, largest |dC0/dp| {np.abs(g).max():.2e}, "
                     f"mean {np.abs(g).mean():.2e}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- mini-batch noise


def _flat(grads: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in grads])


def full_gradient(weights, biases, x, labels, activation="sigmoid", output_activation="sigmoid", loss="mse",
                  chunk: int = 5000) -> list[np.ndarray]:
    """The gradient of the average cost over ALL of ``x`` ([dC/dW(1), dC/db(1), ...]), in chunks of
    ``chunk`` images (the average of the chunks' averages, weighted by their sizes), so 60,000 images
    never sit in memory at once as float64 activations."""
    total: list[np.ndarray] | None = None
    labels = np.asarray(labels)
    for start in range(0, len(x), chunk):
        xb, yb = x[start:start + chunk], labels[start:start + chunk]
        _, gw, gb = bp.backprop(weights, biases, xb, yb, activation, output_activation, loss)
        part = [np.asarray(g, dtype=np.float64) * (len(xb) / len(x)) for pair in zip(gw, gb, strict=True)
                for g in pair]
        total = part if total is None else [t + g for t, g in zip(total, part, strict=True)]
    if total is None:
        raise ShapeError("full_gradient: no images")
    return total


def gradient_noise(weights, biases, x, labels, batch_sizes: Sequence[int], repeats: int = 20, seed: int = 0,
                   activation="sigmoid", output_activation="sigmoid", loss="mse") -> dict[int, tuple[float, float]]:
    """For each batch size ``B``: the median over ``repeats`` random batches of (cosine similarity,
    relative error ``|g_B - g| / |g|``) between the batch gradient ``g_B`` and the full gradient
    ``g`` over all of ``x``."""
    if repeats < 1 or not batch_sizes or min(batch_sizes) < 1 or max(batch_sizes) > len(x):
        raise ArgumentError(f"gradient_noise: batch sizes must be 1..{len(x)} and repeats >= 1")
    loss = loss_name(loss)
    full = _flat(full_gradient(weights, biases, x, labels, activation, output_activation, loss))
    norm = float(np.linalg.norm(full))
    rng = np.random.default_rng(seed)
    out = {}
    for size in batch_sizes:
        cos, rel = [], []
        for _ in range(repeats):
            idx = rng.choice(len(x), size=int(size), replace=False)
            _, bw, bb = bp.backprop(weights, biases, x[idx], np.asarray(labels)[idx], activation,
                                    output_activation, loss)
            g = _flat([v for pair in zip(bw, bb, strict=True) for v in pair])
            cos.append(float(g @ full / max(np.linalg.norm(g) * norm, 1e-300)))
            rel.append(float(np.linalg.norm(g - full) / max(norm, 1e-300)))
        out[int(size)] = (float(np.median(cos)), float(np.median(rel)))
    return out


def saturation(weights, biases, x, activation="sigmoid", output_activation="sigmoid",
               threshold: float = 0.01) -> list[float]:
    """Per layer, the fraction of activations within ``threshold`` of 0 or 1 (a sigmoid's flat tails,
    where ``sigmoid' = a (1 - a) < threshold`` and learning all but stops)."""
    _, acts = bp.forward(weights, biases, np.asarray(x), activation, output_activation)
    return [float(np.mean((a < threshold) | (a > 1 - threshold))) for a in acts[1:]]


# ---------------------------------------------------------------------- a 2-D cost with two minima


#: The two minima of :func:`two_minima_cost`: the global one (cost -0.587) and a shallower local one (-0.150).
TWO_MINIMA = ((-1.1708, -0.3012), (1.0, 0.35))


def two_minima_cost(x, y):
    """A smooth 2-D cost with a global minimum near (-1.17, -0.30) and a local one at (1.00, 0.35).

    ``C(x, y) = 0.25 x^4 - 0.6 x^2 + 0.2 x + 0.5 (y - 0.3 x - 0.05)^2 * (1 + 0.5 x^2)``
    elementwise on arrays.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    r = y - 0.3 * x - 0.05
    return 0.25 * x**4 - 0.6 * x**2 + 0.2 * x + 0.5 * r**2 * (1 + 0.5 * x**2)


def two_minima_gradient(x, y) -> tuple[np.ndarray, np.ndarray]:
    """``(dC/dx, dC/dy)`` of :func:`two_minima_cost`, derived by hand."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    r = y - 0.3 * x - 0.05
    s = 1 + 0.5 * x**2
    dx = x**3 - 1.2 * x + 0.2 + r * s * (-0.3) + 0.5 * r**2 * x
    dy = r * s
    return dx, dy


def descend(start: Sequence[float], lr: float, steps: int, noise: float = 0.0, seed: int = 0,
            limit: float = 1e6) -> np.ndarray:
    """Gradient descent on :func:`two_minima_cost` from ``start``: the points visited, shape (steps + 1, 2).

    ``noise`` adds Gaussian noise of that standard deviation to every gradient component, as a
    mini-batch's estimate would. A path that leaves ``|x|, |y| < limit`` (diverged) stops there.
    """
    if steps < 0 or lr <= 0:
        raise ArgumentError(f"descend: need steps >= 0 and lr > 0, got {steps} and {lr}")
    rng = np.random.default_rng(seed)
    p = np.array(start, dtype=np.float64)
    if p.shape != (2,):
        raise ShapeError(f"descend: start must be a point (x, y), got shape {p.shape}")
    path = [p.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            g = np.array(two_minima_gradient(*p))
            if noise:
                g = g + noise * rng.standard_normal(2)
            p = p - lr * g
            path.append(p.copy())
            if not np.all(np.isfinite(p)) or np.abs(p).max() > limit:
                break
    return np.array(path)


# ---------------------------------------------------------------------- looking inside


def hidden_activations(weights, biases, x, activation="sigmoid", output_activation="sigmoid") -> list[np.ndarray]:
    """Every hidden layer's activations, one row per image: ``[a(1) (n, n_1), ..., a(L-1)]``."""
    _, acts = bp.forward(weights, biases, np.asarray(x), activation, output_activation)
    return [a.T for a in acts[1:-1]]


def mean_activation_per_digit(acts: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """(neurons, classes): each neuron's mean activation over the images of each digit."""
    acts, labels = np.asarray(acts, dtype=np.float64), np.asarray(labels)
    if acts.ndim != 2 or len(acts) != len(labels):
        raise ShapeError(f"mean_activation_per_digit: need activations (n, neurons) and n labels, got {acts.shape} "
                         f"and {labels.shape}")
    out = np.full((acts.shape[1], classes), np.nan)
    for d in range(classes):
        if np.any(labels == d):
            out[:, d] = acts[labels == d].mean(axis=0)
    return out


def top_activating(acts: np.ndarray, k: int = 6) -> np.ndarray:
    """(neurons, k): for each neuron, the indices of the ``k`` images that excite it most, most first."""
    acts = np.asarray(acts)
    if acts.ndim != 2 or not 1 <= k <= len(acts):
        raise ArgumentError(f"top_activating: need activations (n, neurons) and 1 <= k <= n, got {acts.shape}, k={k}")
    return np.argsort(-acts, axis=0, kind="stable")[:k].T


def layer2_templates(weights) -> np.ndarray:
    """(n_2, n_0): each second-layer neuron's weights pushed back through the first layer, ``W(2) W(1)``.

    Ignoring the sigmoids, neuron j of layer 2 sees ``sum_k w_jk(2) (W(1) a)_k``, i.e. the image
    dotted with row j of ``W(2) W(1)``: its "template" (only a first-order picture: the sigmoid
    between the layers is what lets it do more).
    """
    if len(weights) < 2:
        raise ShapeError("layer2_templates: the network has no second layer")
    return np.asarray(weights[1], dtype=np.float64) @ np.asarray(weights[0], dtype=np.float64)


def layer_summary(acts: np.ndarray, labels: np.ndarray, top: int = 6) -> dict:
    """What one hidden layer's neurons respond to, from its activations ``acts`` (n, neurons) on labelled images:
    ``means`` (neurons, 10) per digit, ``top`` (neurons, top) image indices, the most and least selective
    neurons (by the range of their means), and ``broad``: how many have a mean above 0.5 for three or more
    digits (a distributed code rather than one detector per part)."""
    means = mean_activation_per_digit(acts, labels)
    spread = np.nanmax(means, axis=1) - np.nanmin(means, axis=1)
    best = int(np.argmax(spread))
    return {"means": means, "top": top_activating(acts, top), "most_selective": best,
            "favourite": int(np.nanargmax(means[best])), "best_mean": float(np.nanmax(means[best])),
            "best_range": float(spread.max()), "least_selective": int(np.argmin(spread)),
            "least_range": float(spread.min()), "broad": int(np.sum(np.sum(means > 0.5, axis=1) >= 3))}


# ---------------------------------------------------------------------- the learning-rate sweep and its diagnosis


def lr_sweep(x, labels, lrs: Sequence[float], epochs: int, seed: int = 0, sizes=(784, 16, 16, 10),
             batch_size: int = 10, should_stop=None) -> dict[float, dict]:
    """The notes' network (xavier, ``seed``) trained by plain SGD with each learning rate of ``lrs``, in float64:
    per rate, ``loss`` and ``saturated`` (the hidden layers' mean fraction of saturated sigmoids) per epoch,
    ``out_saturated`` (the outputs', last epoch) and ``accuracy`` on ``x``. One data order (seeded) is shared
    by the rates, as the notes' experiment; ``should_stop()`` is polled between mini-batches."""
    rng = np.random.default_rng(seed)
    out: dict[float, dict] = {}
    for lr in lrs:
        fresh = MLP(list(sizes), init="xavier", seed=seed)
        w = [W.data.astype(np.float64) for W in fresh.weights]
        b = [v.data.astype(np.float64) for v in fresh.biases]
        costs, saturated, out_saturated = [], [], 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(epochs):
                order = rng.permutation(len(x))
                for start in range(0, len(order), batch_size):
                    idx = order[start:start + batch_size]
                    bp.train_step(w, b, x[idx], labels[idx], lr)
                costs.append(bp.loss(w, b, x, labels))
                fractions = saturation(w, b, x)
                saturated.append(float(np.mean(fractions[:-1])))
                out_saturated = fractions[-1]
            _, acts = bp.forward(w, b, x)
        accuracy = float(np.mean(acts[-1].argmax(axis=0) == labels))
        out[lr] = {"loss": costs, "saturated": saturated, "out_saturated": out_saturated, "accuracy": accuracy}
    return out


def plateau_hint(model: MLP, x_train: np.ndarray, losses: Sequence[float], accuracy=None) -> str | None:
    """A hint when the training loss has stopped moving, far from a good model, while the sigmoids are
    saturated (a too-large learning rate stalls silently: no NaN, just sigmoid' = a (1 - a) ~ 0); else None.
    ``model`` is an MLP; ``losses`` the training losses per epoch so far; ``accuracy`` the latest test accuracy."""
    if len(losses) < 2 or "sigmoid" not in (model.activation, model.output_activation):
        return None
    if accuracy is not None and np.isfinite(accuracy) and accuracy >= 0.5:
        return None  # a converged, working model also has a flat loss and many outputs near 0 or 1
    if abs(losses[-1] - losses[-2]) > 1e-4 * max(abs(losses[-2]), 1e-12):
        return None
    sample = x_train[:1000]
    with np.errstate(over="ignore"):
        fractions = saturation([W.data for W in model.weights], [b.data for b in model.biases], sample,
                               model.activation, model.output_activation)
    if max(fractions) < 0.5:
        return None
    return (f"hint: the train loss has stopped moving and up to {max(fractions):.0%} of a layer's sigmoids "
            f"sit within 0.01 of 0 or 1 on {len(sample):,} training images: there the slope a (1 - a) is ~0 and "
            "almost no gradient gets through. The learning rate is probably too large: try a smaller --lr")


#: An epoch's training loss this many times the untrained network's means the run has diverged, NaN or not.
DIVERGENCE_RATIO = 10.0


def starting_loss(model: Module, x, labels, loss: str = "mse") -> float:
    """The untrained ``model``'s average ``loss`` on ``x`` (the yardstick of :func:`divergence_hint`)."""
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        return float(functional.loss(loss)(model(Tensor(np.asarray(x))), np.asarray(labels)).data)


def divergence_hint(losses: Sequence[float], start: float) -> str | None:
    """A message when the latest training loss is finite but more than :data:`DIVERGENCE_RATIO` times the
    untrained network's ``start`` (a too-large learning rate throws relu networks far off without any NaN;
    sigmoid outputs cannot get there, and stall instead: :func:`plateau_hint`); else None."""
    if not losses or not np.isfinite(start) or start <= 0 or not losses[-1] > DIVERGENCE_RATIO * start:
        return None
    return (f"training diverged: the train loss is {losses[-1]:.4g}, {losses[-1] / start:.3g} times the untrained "
            f"network's {start:.4g} (finite, but the network is garbage). The learning rate is probably too large: "
            "try a smaller --lr")


def lab_seconds(n_images: int, repeats: int, batch_sizes: Sequence[int], lrs: Sequence[float], epochs: int,
                sizes: Sequence[int] = (784, 16, 16, 10)) -> float:
    """About how long ``tinygrad-mlp lab`` takes: the full gradient and ``repeats`` batch gradients per batch
    size (:func:`gradient_noise`), then ``epochs`` of SGD on batches of 10 per learning rate (:func:`lr_sweep`);
    each backprop about 0.1 ms of Python plus its products at 1e9 multiply-adds a second (so it errs long)."""
    params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))

    def backprop(batch: float) -> float:
        return 1e-4 + 6 * batch * params / 1e9

    noise = backprop(n_images) + repeats * sum(backprop(b) for b in batch_sizes)
    sweep = len(lrs) * epochs * (n_images / 10 * backprop(10) + 2 * backprop(n_images))
    return noise + sweep
