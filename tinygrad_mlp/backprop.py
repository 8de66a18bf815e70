"""Backpropagation written out by hand, in plain numpy: the lesson notes' equations.

This module is the reference the autograd engine is checked against, and the
"hand-written numpy" baseline of the benchmarks. It contains no ``Tensor``:
every derivative below is derived on paper, the way the notes on
backpropagation calculus do it, and then typed in.

Notation (the notes', with layers numbered 1..L and a(0) the input):

    z(l) = W(l) a(l-1) + b(l)          weighted sum of layer l
    a(l) = f(z(l))                     its activation (sigmoid, ReLU, tanh or identity)
    C    = cost of the output a(L) against the target y

Layer l's weights ``W(l)`` have shape (n_l, n_{l-1}) and its biases ``b(l)``
shape (n_l,), stored in Python lists ``weights[l - 1]`` and ``biases[l - 1]``.
The public functions take inputs ``x`` with one example per ROW, shape
(batch, n_0), like the rest of the library; inside, they work with one example
per COLUMN, a(l) of shape (n_l, batch), so that the code reads like the notes:
``z = W @ a + b``.

The notes' one-neuron chain says, for the last weight,

    dC0/dw(L) = dz(L)/dw(L) * da(L)/dz(L) * dC0/da(L) = a(L-1) * f'(z(L)) * 2(a(L) - y).

With many neurons per layer and many examples per batch the same chain rule
becomes four vectorised equations, computed by ``backprop``:

    delta(L)   = dC/da(L) * f'(z(L))                      output error
    delta(l)   = (W(l+1)^T delta(l+1)) * f'(z(l))         error moved back one layer
    dC/db(l)   = delta(l) summed over the examples
    dC/dW(l)   = delta(l) a(l-1)^T                        (also sums over the examples)

where ``delta(l) = dC/dz(l)`` is one column per example. The cost is the average
over the batch, so the 1/batch factor is put into dC/da(L) once; every delta
already carries it, and the gradients just SUM over the examples (the matmul in
dC/dW does the summing), which gives exactly the average of the per-example
gradients the notes describe ("average together those desired changes").

Costs (``loss=``):

- ``"mse"``: the notes' quadratic cost. Per example C0 = sum_j (a_j(L) - y_j)^2
  with y the one-hot target (no 1/2 factor); C is its mean over the batch, so
  dC/da(L) = 2 (a(L) - y) / batch.
- ``"cross_entropy"``: softmax cross-entropy on the output layer's values
  (usually logits: ``output_activation=None``), C = mean over the batch of
  -log softmax(a(L))[label].

dtypes are preserved: all weights and biases must share one floating dtype, the
computation runs in it (``x`` and float targets are cast to it), so float32
parameters give float32 gradients and float64 give float64. Only Python scalars
are mixed into arrays, which never upcast them; nothing is cast back at the end,
so an accidental upcast would show in the results' dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinygrad_mlp.errors import ArgumentError, DTypeError, ShapeError

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "forward",
    "loss",
    "backprop",
    "sgd_step",
    "train_step",
    "numerical_gradients",
    "closed_form_last_layer",
    "conv2d_forward",
    "conv2d_backward",
    "cnn_forward",
    "cnn_backprop",
]

# ---------------------------------------------------------------------------
# Activations f and their derivatives f'.
#
# Each derivative is given both z and a = f(z): the sigmoid's and tanh's
# derivatives are cheapest written in terms of a, which the forward pass has
# already stored (sigmoid'(z) = a (1 - a), tanh'(z) = 1 - a^2).
# ---------------------------------------------------------------------------


def _sigmoid(z):
    # sigmoid(z) = 1 / (1 + e^-z) = (1 + tanh(z/2)) / 2. The tanh form never
    # overflows (e^-z does for z < -709 in float64, -88 in float32).
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _sigmoid_prime(z, a):
    return a * (1.0 - a)


def _relu(z):
    return np.maximum(z, 0)


def _relu_prime(z, a):
    # 1 where the neuron is active, 0 elsewhere (0 at the kink z = 0 itself).
    # A bool array times a float array keeps the float array's dtype.
    return z > 0


def _tanh_prime(z, a):
    return 1.0 - a * a


# name -> (f, f'); f' is None for the identity, whose derivative is 1.
ACTIVATIONS: dict[str, tuple[Callable, Callable | None]] = {
    "sigmoid": (_sigmoid, _sigmoid_prime),
    "relu": (_relu, _relu_prime),
    "tanh": (np.tanh, _tanh_prime),
    "identity": (lambda z: z, None),
}

LOSSES = ("mse", "cross_entropy")


def _activation(name: str | None) -> tuple[Callable, Callable | None]:
    key = "identity" if name is None else name
    if key not in ACTIVATIONS:
        raise ArgumentError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)} or None"
        )
    return ACTIVATIONS[key]


def _times_fprime(grad: np.ndarray, fprime: Callable | None, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """grad * f'(z): the step 'da/dz = f'(z)' of the chain rule (skipped for the identity)."""
    if fprime is None:
        return grad
    return grad * fprime(z, a)


# ---------------------------------------------------------------------------
# Argument checks: one-line messages naming the shapes that do not fit.
# ---------------------------------------------------------------------------


def _check_network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> np.dtype:
    """Check layer shapes; return the dtype the computation runs in."""
    if len(weights) == 0:
        raise ShapeError("a network needs at least one layer; got an empty weights list")
    if len(weights) != len(biases):
        raise ShapeError(f"got {len(weights)} weight matrices but {len(biases)} bias vectors")
    for l, (W, b) in enumerate(zip(weights, biases, strict=True), start=1):
        if np.ndim(W) != 2:
            raise ShapeError(f"W({l}) must be 2-D (n_{l}, n_{l - 1}); got shape {np.shape(W)}")
        if np.ndim(b) != 1 or b.shape[0] != W.shape[0]:
            raise ShapeError(
                f"b({l}) must have shape ({W.shape[0]},) to match W({l}) of shape {W.shape}; "
                f"got {np.shape(b)}"
            )
        if l > 1 and W.shape[1] != weights[l - 2].shape[0]:
            raise ShapeError(
                f"W({l}) of shape {W.shape} does not fit W({l - 1}) of shape "
                f"{weights[l - 2].shape}: W({l}) needs {weights[l - 2].shape[0]} columns"
            )
    dtypes = {np.asarray(p).dtype for p in (*weights, *biases)}
    if len(dtypes) != 1:
        raise DTypeError(f"weights and biases must share one dtype; got {sorted(map(str, dtypes))}")
    dtype = dtypes.pop()
    if not np.issubdtype(dtype, np.floating):
        raise DTypeError(f"weights and biases must be floating point; got dtype {dtype}")
    return dtype


def _check_input(x: np.ndarray, weights: Sequence[np.ndarray], dtype: np.dtype) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ShapeError(f"x must be 2-D (batch, n_0); got shape {x.shape}")
    if x.shape[0] == 0:
        raise ShapeError(f"x must hold at least one example; got shape {x.shape}")
    if x.shape[1] != weights[0].shape[1]:
        raise ShapeError(
            f"x of shape {x.shape} does not fit W(1) of shape {weights[0].shape}: "
            f"expected x of shape (batch, {weights[0].shape[1]})"
        )
    return x.astype(dtype, copy=False)


def _check_targets(targets: np.ndarray, batch: int, n_out: int, dtype: np.dtype) -> np.ndarray:
    """Return integer labels (batch,) or a float target matrix (batch, n_out) in ``dtype``."""
    targets = np.asarray(targets)
    if targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer):
        if targets.shape[0] != batch:
            raise ShapeError(f"got {targets.shape[0]} labels for a batch of {batch} examples")
        if targets.min() < 0 or targets.max() >= n_out:
            raise ArgumentError(
                f"labels must lie in [0, {n_out}) for {n_out} output neurons; "
                f"got min {targets.min()}, max {targets.max()}"
            )
        return targets
    if targets.ndim == 2 and np.issubdtype(targets.dtype, np.floating):
        if targets.shape != (batch, n_out):
            raise ShapeError(
                f"target matrix of shape {targets.shape} does not fit the output: "
                f"expected ({batch}, {n_out})"
            )
        return targets.astype(dtype, copy=False)
    raise ShapeError(
        f"targets must be integer labels of shape ({batch},) or a float matrix of shape "
        f"({batch}, {n_out}); got dtype {targets.dtype}, shape {targets.shape}"
    )


def _check_loss(name: str) -> None:
    if name not in LOSSES:
        raise ArgumentError(f"unknown loss {name!r}; expected one of {list(LOSSES)}")


def _check_batch(weights, biases, x, targets, loss_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The checks before a cost: the layers, the input, the loss name, the targets, in that order.

    Returns ``(x, targets)`` in the parameters' dtype (integer labels stay integers).
    """
    dtype = _check_network(weights, biases)
    x = _check_input(x, weights, dtype)
    _check_loss(loss_name)
    return x, _check_targets(targets, x.shape[0], weights[-1].shape[0], dtype)


# ---------------------------------------------------------------------------
# Forward pass and cost.
# ---------------------------------------------------------------------------


def _forward(weights, biases, a0, f_hidden, f_out):
    """The forward pass on an input already in column form a0 (n_0, batch)."""
    zs: list[np.ndarray] = []
    activations: list[np.ndarray] = [a0]
    L = len(weights)
    a = a0
    for l, (W, b) in enumerate(zip(weights, biases, strict=True), start=1):
        z = W @ a
        z += b[:, None]  # z(l) = W(l) a(l-1) + b(l); b broadcast over the batch columns
        a = (f_out if l == L else f_hidden)(z)  # a(l) = f(z(l))
        zs.append(z)
        activations.append(a)
    return zs, activations


def forward(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    activation: str | None = "sigmoid",
    output_activation: str | None = "sigmoid",
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run the network on ``x`` and keep every intermediate value.

    Args:
        weights: [W(1), ..., W(L)], W(l) of shape (n_l, n_{l-1}).
        biases: [b(1), ..., b(L)], b(l) of shape (n_l,).
        x: inputs, shape (batch, n_0), one example per row.
        activation: f of the hidden layers 1..L-1: "sigmoid", "relu", "tanh",
            or None / "identity".
        output_activation: f of the output layer L (same choices).

    Returns:
        ``(zs, activations)`` in COLUMN layout (one example per column):
        ``zs[l - 1]`` is z(l) of shape (n_l, batch) for l = 1..L, and
        ``activations[l]`` is a(l) of shape (n_l, batch) for l = 0..L, with
        ``activations[0] = x.T`` (a view of the input, cast to the parameters'
        dtype) and ``activations[L].T`` the network's output (batch, n_L).
        For a linear output layer ``activations[L]`` is the same array as
        ``zs[L - 1]``.
    """
    dtype = _check_network(weights, biases)
    x = _check_input(x, weights, dtype)
    f_hidden, _ = _activation(activation)
    f_out, _ = _activation(output_activation)
    return _forward(weights, biases, x.T, f_hidden, f_out)


def _log_softmax_parts(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For output columns ``out`` (n_L, batch): (log-sum-exp per column (batch,), exp(out - max))."""
    m = out.max(axis=0)
    e = np.exp(out - m)  # max-subtraction: every exponent <= 0, nothing overflows
    s = e.sum(axis=0)
    return m + np.log(s), e / s


def _cost_and_output_gradient(out, targets, loss_name, need_grad):
    """The cost C of the output a(L) (columns) and, if asked, dC/da(L) (n_L, batch).

    ``targets`` are integer labels (batch,) or a target matrix (batch, n_L).
    """
    _, batch = out.shape
    cols = np.arange(batch)
    if loss_name == "mse":
        # a(L) - y, with y the one-hot target columns (n_L, batch)
        if targets.ndim == 1:
            diff = out.copy()
            diff[targets, cols] -= 1  # y is 1 at the label, 0 elsewhere
        else:
            diff = out - targets.T
        # C = (1/batch) sum over examples of C0, C0 = sum_j (a_j(L) - y_j)^2
        cost = float(np.vdot(diff, diff)) / batch
        if not need_grad:
            return cost, None
        # dC/da(L) = 2 (a(L) - y) / batch: the notes' dC0/da(L) = 2(a(L) - y),
        # averaged over the batch
        diff *= 2.0 / batch
        return cost, diff
    # cross_entropy: C = mean over examples of -log softmax(a(L))[label]
    lse, p = _log_softmax_parts(out)  # log-sum-exp (batch,), softmax(a(L)) (n_L, batch)
    if targets.ndim == 1:
        cost = float((lse - out[targets, cols]).sum()) / batch
        if not need_grad:
            return cost, None
        # dC0/da_j = softmax_j - [j == label]  (see backprop for the derivation)
        p[targets, cols] -= 1
    else:
        # soft/one-hot targets y: C0 = -sum_k y_k log softmax_k(a)
        y = targets.T
        cost = float((y * (lse - out)).sum()) / batch
        if not need_grad:
            return cost, None
        # dC0/da_j = softmax_j * sum_k y_k - y_j   (= softmax_j - y_j when y sums to 1)
        p *= y.sum(axis=0)
        p -= y
    p *= 1.0 / batch  # the mean over the batch
    return cost, p


def _loss_value(weights, biases, x, targets, activation, output_activation, loss_name):
    x, targets = _check_batch(weights, biases, x, targets, loss_name)
    f_hidden, _ = _activation(activation)
    f_out, _ = _activation(output_activation)
    _, activations = _forward(weights, biases, x.T, f_hidden, f_out)
    cost, _ = _cost_and_output_gradient(activations[-1], targets, loss_name, need_grad=False)
    return cost


def loss(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    targets: np.ndarray,
    activation: str | None = "sigmoid",
    output_activation: str | None = "sigmoid",
    loss: str = "mse",
) -> float:
    """The cost C of the network on the batch ``x`` (batch, n_0).

    Args:
        targets: integer labels of shape (batch,) in [0, n_L), or a float
            target matrix of shape (batch, n_L) (one-hot or any target; for
            cross-entropy, rows of probabilities).
        loss: "mse" (mean over the batch of sum_j (a_j(L) - y_j)^2) or
            "cross_entropy" (mean over the batch of -log softmax(a(L))[label]).
        Other arguments as in ``forward``.

    Returns:
        C as a Python float (computed in the parameters' dtype).
    """
    return _loss_value(weights, biases, x, targets, activation, output_activation, loss)


# ---------------------------------------------------------------------------
# Backpropagation.
# ---------------------------------------------------------------------------


def backprop(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    targets: np.ndarray,
    activation: str | None = "sigmoid",
    output_activation: str | None = "sigmoid",
    loss: str = "mse",
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """The cost and its gradient with respect to every weight and bias.

    The whole batch goes through at once (one column per example, no Python
    loop over examples).

    Args:
        weights: [W(1), ..., W(L)], W(l) of shape (n_l, n_{l-1}).
        biases: [b(1), ..., b(L)], b(l) of shape (n_l,).
        x: inputs, shape (batch, n_0).
        targets: integer labels (batch,) or float target matrix (batch, n_L).
        activation, output_activation, loss: as in ``forward`` and ``loss``.

    Returns:
        ``(C, grad_weights, grad_biases)``: C as a float; ``grad_weights[l-1]``
        = dC/dW(l) of shape (n_l, n_{l-1}) and ``grad_biases[l-1]`` = dC/db(l)
        of shape (n_l,), all in the parameters' dtype.
    """
    x, targets = _check_batch(weights, biases, x, targets, loss)
    f_hidden, fprime_hidden = _activation(activation)
    f_out, fprime_out = _activation(output_activation)

    # Forward pass, remembering every z(l) and a(l): the backward pass needs them.
    zs, activations = _forward(weights, biases, x.T, f_hidden, f_out)
    L = len(weights)

    # dC/da(L): how the cost changes with the output activations, with the
    # 1/batch of the average already in it (see _cost_and_output_gradient).
    cost, dC_da = _cost_and_output_gradient(activations[L], targets, loss, need_grad=True)

    # Output error: delta(L) = dC/da(L) * da(L)/dz(L) = dC/da(L) * f'(z(L)).
    #
    # Softmax cross-entropy on logits (output_activation=None, f' = 1) makes this
    # delta(L) = (softmax(z(L)) - onehot) / batch. That is still the chain rule,
    # only with two links multiplied out by hand: C0 = -log p_y with
    # p = softmax(z), so dC0/dp_k = -[k = y] / p_y, and the softmax's Jacobian is
    # dp_k/dz_j = p_k ([k = j] - p_j); their product summed over k is
    # -([y = j] - p_j) = p_j - [j = y]. The 1/p_y and the p_y cancel, which is why
    # the combined form is both shorter and numerically safer than chaining the
    # two factors separately.
    delta = _times_fprime(dC_da, fprime_out, zs[L - 1], activations[L])

    grad_weights: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    grad_biases: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    for l in range(L, 0, -1):  # layers L, L-1, ..., 1: backwards, as the name says
        # delta is delta(l) = dC/dz(l), shape (n_l, batch); z(l) = W(l) a(l-1) + b(l).
        # dC/db(l) = dz(l)/db(l) * dC/dz(l) = 1 * delta(l), summed over the
        # examples (each column already carries its 1/batch share of the average).
        grad_biases[l - 1] = delta.sum(axis=1)
        # dC/dW(l) = delta(l) a(l-1)^T: entry (j, k) is sum over examples of
        # dz_j(l)/dw_jk(l) * dC/dz_j(l) = a_k(l-1) * delta_j(l), the notes'
        # a(L-1) * sigmoid'(z(L)) * 2(a(L) - y) for every weight at once.
        grad_weights[l - 1] = delta @ activations[l - 1].T
        if l > 1:
            # Move the error back one layer: dC/da(l-1) = W(l)^T delta(l) (each
            # neuron of layer l-1 adds up the nudges all neurons of layer l want
            # from it, weighted by the connecting weights), then
            # delta(l-1) = dC/da(l-1) * f'(z(l-1)).
            dC_da_prev = weights[l - 1].T @ delta
            delta = _times_fprime(dC_da_prev, fprime_hidden, zs[l - 2], activations[l - 1])
    return cost, grad_weights, grad_biases


# ---------------------------------------------------------------------------
# Gradient descent.
# ---------------------------------------------------------------------------


def sgd_step(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    grad_weights: Sequence[np.ndarray],
    grad_biases: Sequence[np.ndarray],
    lr: float,
) -> None:
    """One gradient-descent step, in place: W(l) -= lr * dC/dW(l), b(l) -= lr * dC/db(l).

    Shapes as returned by ``backprop``; the parameter arrays keep their dtype
    (``lr`` is used as a Python float, which does not upcast float32).
    """
    if len(grad_weights) != len(weights) or len(grad_biases) != len(biases):
        raise ShapeError(
            f"got {len(grad_weights)} weight and {len(grad_biases)} bias gradients for "
            f"{len(weights)} weight and {len(biases)} bias arrays"
        )
    lr = float(lr)
    for l, (W, b, gW, gb) in enumerate(zip(weights, biases, grad_weights, grad_biases, strict=True), start=1):
        if gW.shape != W.shape or gb.shape != b.shape:
            raise ShapeError(
                f"layer {l}: gradients of shapes {gW.shape}, {gb.shape} do not match "
                f"W({l}) {W.shape}, b({l}) {b.shape}"
            )
        W -= lr * gW  # step against the gradient: downhill
        b -= lr * gb


def train_step(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    targets: np.ndarray,
    lr: float,
    activation: str | None = "sigmoid",
    output_activation: str | None = "sigmoid",
    loss: str = "mse",
) -> float:
    """One step of mini-batch gradient descent on the batch ``x`` (batch, n_0).

    ``backprop`` followed by ``sgd_step``; the parameters are updated in place.
    Returns the cost on this batch BEFORE the update.
    """
    cost, grad_weights, grad_biases = backprop(
        weights, biases, x, targets, activation, output_activation, loss
    )
    sgd_step(weights, biases, grad_weights, grad_biases, lr)
    return cost


# ---------------------------------------------------------------------------
# Checks.
# ---------------------------------------------------------------------------


def numerical_gradients(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    targets: np.ndarray,
    activation: str | None = "sigmoid",
    output_activation: str | None = "sigmoid",
    loss: str = "mse",
    eps: float = 1e-6,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """dC/dW(l) and dC/db(l) by central finite differences, in float64.

    Every weight and bias p in turn is nudged: dC/dp ~ (C(p + eps) - C(p - eps)) / (2 eps).
    Slow (two cost evaluations per parameter): for cross-checking ``backprop``
    on small networks only. The inputs are not modified (float64 copies are nudged).

    Returns:
        ``(grad_weights, grad_biases)``, float64, same shapes as ``weights``/``biases``.
    """
    if not eps > 0:
        raise ArgumentError(f"eps must be positive; got {eps}")
    _check_network(weights, biases)
    params_w = [np.array(W, dtype=np.float64) for W in weights]
    params_b = [np.array(b, dtype=np.float64) for b in biases]
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.floating):
        targets = targets.astype(np.float64)

    def cost() -> float:
        return _loss_value(params_w, params_b, x, targets, activation, output_activation, loss)

    cost()  # validate the arguments once, before the long loop
    grads: list[np.ndarray] = []
    for p in params_w + params_b:
        g = np.empty_like(p)
        flat, gflat = p.reshape(-1), g.reshape(-1)  # views: nudging flat nudges p
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            c_plus = cost()
            flat[i] = saved - eps
            c_minus = cost()
            flat[i] = saved
            gflat[i] = (c_plus - c_minus) / (2 * eps)
        grads.append(g)
    return grads[: len(params_w)], grads[len(params_w) :]


def closed_form_last_layer(a_prev, w_L, b_L, y):
    """The notes' one-neuron-per-layer chain, for ONE example, in closed form.

    With z(L) = w(L) a(L-1) + b(L), a(L) = sigmoid(z(L)) and C0 = (a(L) - y)^2:

        dC0/dw(L)   = a(L-1) * sigmoid'(z(L)) * 2(a(L) - y)
        dC0/db(L)   =      1 * sigmoid'(z(L)) * 2(a(L) - y)
        dC0/da(L-1) = w(L)   * sigmoid'(z(L)) * 2(a(L) - y)

    Each is dz(L)/d(that thing) * da(L)/dz(L) * dC0/da(L). Arguments are scalars
    (or arrays broadcast together, evaluated elementwise, nothing averaged).

    Returns:
        ``(dC0/dw_L, dC0/db_L, dC0/da_prev)``.
    """
    try:
        a_prev, w_L, b_L, y = (np.asarray(v, dtype=np.float64) for v in (a_prev, w_L, b_L, y))
        np.broadcast_shapes(a_prev.shape, w_L.shape, b_L.shape, y.shape)
    except (TypeError, ValueError) as e:
        raise ShapeError(f"closed_form_last_layer: arguments must be numbers or arrays that broadcast ({e})") from None
    z = w_L * a_prev + b_L  # z(L)
    a = _sigmoid(z)  # a(L)
    dC0_da = 2 * (a - y)  # dC0/da(L)
    da_dz = a * (1 - a)  # da(L)/dz(L) = sigmoid'(z(L))
    dC0_dz = da_dz * dC0_da
    return a_prev * dC0_dz, dC0_dz, w_L * dC0_dz


# ---------------------------------------------------------------------------
# A convolution by hand: the same chain rule, one step further.
#
# A convolution layer computes each output as a weighted sum of shifted inputs
# (x zero-padded by `padding` on every side, stride s):
#
#     z[n, o, i, j] = b[o] + sum over c, p, q of  w[o, c, p, q] * x[n, c, i*s + p, j*s + q]
#
# It is the notes' z = W a + b with one twist: the same weight w[o, c, p, q] is
# used at EVERY output position (i, j) (weight sharing). The chain rule adds up
# the contributions of all the places where a number was used, so
#
#     dC/dw[o, c, p, q] = sum over n, i, j of  dC/dz[n, o, i, j] * x[n, c, i*s + p, j*s + q]
#     dC/db[o]          = sum over n, i, j of  dC/dz[n, o, i, j]
#     dC/dx[n, c, i*s + p, j*s + q]  collects  dC/dz[n, o, i, j] * w[o, c, p, q]
#                                    from every output (o, i, j) whose window read it.
#
# The loops below go over the kernel positions (p, q), as the sums are written:
# for one (p, q), the inputs that met w[:, :, p, q] are one strided slice of x
# (every (i, j) at once).
# ---------------------------------------------------------------------------


def _padded_image(x: np.ndarray, padding: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))) if padding else x


def _met(xp: np.ndarray, p: int, q: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """x[n, c, i*s + p, j*s + q] for every n, c, i, j: the inputs that kernel position (p, q) met."""
    return xp[:, :, p:p + stride * (out_h - 1) + 1:stride, q:q + stride * (out_w - 1) + 1:stride]


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """``z[n, o, i, j] = b[o] + sum over c, p, q of w[o, c, p, q] x[n, c, i*s + p, j*s + q]``.

    ``x`` (N, C, H, W), ``w`` (O, C, kh, kw), ``b`` (O,); returns (N, O, OH, OW) with
    ``OH = (H + 2 padding - kh) // stride + 1``.
    """
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1] or b.shape != (w.shape[0],):
        raise ShapeError(f"conv2d_forward: x {x.shape}, w {w.shape} and b {b.shape} do not make a convolution "
                         "(x (N, C, H, W), w (O, C, kh, kw), b (O,))")
    xp = _padded_image(x, padding)
    kh, kw = w.shape[2:]
    out_h, out_w = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    if out_h < 1 or out_w < 1:
        raise ShapeError(f"conv2d_forward: the kernel {(kh, kw)} does not fit the padded image {xp.shape[2:]}")
    z = np.zeros((x.shape[0], w.shape[0], out_h, out_w), dtype=np.result_type(x, w))
    for p in range(kh):
        for q in range(kw):
            # every output adds w[o, c, p, q] times the input it meets at (p, q), summed over c
            z += np.einsum("oc,ncij->noij", w[:, :, p, q], _met(xp, p, q, stride, out_h, out_w))
    return z + b[:, None, None]


def conv2d_backward(dz: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1,
                    padding: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dC/dx, dC/dw, dC/db)`` of a convolution, from ``dz = dC/dz`` (N, O, OH, OW): the sums above."""
    xp = _padded_image(x, padding)
    kh, kw = w.shape[2:]
    out_h, out_w = dz.shape[2:]
    if (x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1] or dz.shape[:2] != (x.shape[0], w.shape[0])
            or (out_h, out_w) != ((xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1)):
        raise ShapeError(f"conv2d_backward: dz {dz.shape}, x {x.shape} and w {w.shape} are not a convolution's "
                         f"(stride {stride}, padding {padding})")
    dw = np.zeros_like(w)
    dxp = np.zeros(xp.shape, dtype=np.result_type(dz, w))
    for p in range(kh):
        for q in range(kw):
            met = _met(xp, p, q, stride, out_h, out_w)
            # w[o, c, p, q] was used at every (n, i, j): its gradient is the sum over all of them
            dw[:, :, p, q] = np.einsum("noij,ncij->oc", dz, met)
            # and each input it met gets dC/dz times that weight (added: a pixel sits in several windows)
            dxp[:, :, p:p + stride * (out_h - 1) + 1:stride, q:q + stride * (out_w - 1) + 1:stride] += np.einsum(
                "noij,oc->ncij", dz, w[:, :, p, q])
    db = dz.sum(axis=(0, 2, 3))  # b[o] is added to every output of channel o
    dx = dxp[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]] if padding else dxp
    return dx, dw, db


def cnn_forward(params: Sequence[np.ndarray], x: np.ndarray, stride: int = 1,
                padding: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A one-conv-layer network: ``z1 = conv(x)``, ``a1 = relu(z1)``, flattened, ``out = W2 a1 + b2``.

    ``params`` = [w1 (O, C, kh, kw), b1 (O,), W2 (classes, O*OH*OW), b2 (classes,)]. Returns (z1, a1, out) with
    ``out`` (batch, classes): the logits.
    """
    w1, b1, w2, b2 = params
    z1 = conv2d_forward(x, w1, b1, stride, padding)
    a1 = np.maximum(z1, 0)
    if w2.ndim != 2 or w2.shape[1] != a1[0].size or b2.shape != (w2.shape[0],):
        raise ShapeError(f"cnn_forward: the dense layer W2 {w2.shape}, b2 {b2.shape} does not take the conv layer's "
                         f"{a1[0].size} outputs (it needs W2 (classes, {a1[0].size}) and b2 (classes,))")
    return z1, a1, a1.reshape(len(x), -1) @ w2.T + b2


def cnn_backprop(params: Sequence[np.ndarray], x: np.ndarray, labels: np.ndarray, stride: int = 1,
                 padding: int = 0) -> tuple[float, list[np.ndarray]]:
    """The softmax cross-entropy of :func:`cnn_forward`'s logits and its gradient for every parameter, by hand.

    Returns ``(C, [dC/dw1, dC/db1, dC/dW2, dC/db2])``.
    """
    w1, w2 = params[0], params[2]
    z1, a1, out = cnn_forward(params, x, stride, padding)
    labels = np.asarray(labels)
    if labels.shape != (len(x),) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= out.shape[1]:
        raise ShapeError(f"cnn_backprop: labels must be {len(x)} integers from 0 to {out.shape[1] - 1}, got "
                         f"{labels.dtype} of shape {labels.shape}")
    # the dense layer and the cost, exactly as for the MLP (one column per example)
    cost, d_out = _cost_and_output_gradient(out.T, labels, "cross_entropy", need_grad=True)
    d_out = d_out.T  # dC/dout, (batch, classes), with its 1/batch
    flat = a1.reshape(len(x), -1)
    dw2, db2 = d_out.T @ flat, d_out.sum(axis=0)
    d_a1 = (d_out @ w2).reshape(a1.shape)  # back through the flattening: the same numbers, the image's shape
    d_z1 = d_a1 * (z1 > 0)  # relu'(z) = 1 where z > 0
    _, dw1, db1 = conv2d_backward(d_z1, x, w1, stride, padding)
    return cost, [dw1, db1, dw2, db2]
