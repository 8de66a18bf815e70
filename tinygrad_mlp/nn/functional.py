"""Stateless functions for networks: activations by name, ``one_hot``, and the two losses.

Everything here is composed from Tensor ops; nothing computes its own gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import convolution
from ..errors import ArgumentError, DTypeError, ShapeError
from ..jit import uncapturable
from ..ops import OneHot, SquaredError, WeightedLogSum
from ..random import generator
from ..tensor_core import Tensor, linear, where  # noqa: F401  (re-exported: F.linear)


def _tensor(x, what: str) -> Tensor:
    """``x`` itself if a Tensor, else a constant Tensor of it (an array or a number), else an ArgumentError."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (str, bytes)) or not isinstance(x, (int, float, list, tuple, np.ndarray, np.generic)):
        raise ArgumentError(f"{what}: expected a Tensor or an array, got {type(x).__name__}")
    return Tensor(x)


def sigmoid(x: Tensor) -> Tensor:
    """Elementwise 1 / (1 + e**-x)."""
    return _tensor(x, "sigmoid").sigmoid()


def relu(x: Tensor) -> Tensor:
    """Elementwise max(x, 0)."""
    return _tensor(x, "relu").relu()


def tanh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return _tensor(x, "tanh").tanh()


def identity(x: Tensor) -> Tensor:
    """Returns x unchanged (a linear output layer)."""
    return x


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Elementwise ``x`` for ``x > 0``, else ``negative_slope * x``."""
    return _tensor(x, "leaky_relu").leaky_relu(negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Elementwise ``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return _tensor(x, "elu").elu(alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Elementwise GELU ``x * Phi(x)``: exact (erf) form by default, ``approximate="tanh"`` for the tanh form."""
    return _tensor(x, "gelu").gelu(approximate)


def silu(x: Tensor) -> Tensor:
    """Elementwise ``x * sigmoid(x)``."""
    return _tensor(x, "silu").silu()


def softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    """Elementwise ``log(1 + exp(beta * x)) / beta``, stable."""
    return _tensor(x, "softplus").softplus(beta)


def softmax(x: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (the last by default)."""
    return _tensor(x, "softmax").softmax(axis, dim=dim)


def log_softmax(x: Tensor, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x)`` along ``axis`` (the last by default)."""
    return _tensor(x, "log_softmax").log_softmax(axis, dim=dim)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, *, seed=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` when ``training``; else
    return ``x``. ``seed``: an int or a Generator (default: the global generator). See ``nn.Dropout``."""
    x = _tensor(x, "dropout")
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ArgumentError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return x
    if not isinstance(seed, (int, np.integer)):  # a new random mask every call (an int seed: the same one each time)
        uncapturable("dropout draws a new random mask on every call, which a replay would not do")
    keep = generator(seed).random(x.shape) >= p
    return x * (keep * (0.0 if p == 1 else 1.0 / (1.0 - p))).astype(x.dtype)


# THE table of activations (adding one usable in MLP(activation=...) is one line here): name -> (the function,
# the same as an unbound Tensor method (one call less per layer on the training hot path), whether it is one of
# the notes' (which the CLI offers and the hand-derived backprop of tinygrad_mlp.backprop knows)).
_ACTIVATION_TABLE: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor], bool]] = {
    "sigmoid": (sigmoid, Tensor.sigmoid, True), "relu": (relu, Tensor.relu, True),
    "tanh": (tanh, Tensor.tanh, True), "identity": (identity, identity, True),
    "leaky_relu": (leaky_relu, Tensor.leaky_relu, False), "elu": (elu, Tensor.elu, False),
    "gelu": (gelu, Tensor.gelu, False), "silu": (silu, Tensor.silu, False),
    "softplus": (softplus, Tensor.softplus, False),
}
# Views of it: the notes' activations; the others, for networks built in code (MLP(activation="gelu")).
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {n: f for n, (f, _, notes) in _ACTIVATION_TABLE.items() if notes}
EXTRA_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    n: f for n, (f, _, notes) in _ACTIVATION_TABLE.items() if not notes}
_FAST = {name: fast for name, (_, fast, _) in _ACTIVATION_TABLE.items()}


# ---------------------------------------------------------------------- convolution and pooling (convolution.py)


def _optional(x, what: str) -> Tensor | None:
    return None if x is None else _tensor(x, what)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-d convolution of ``input`` ``(N, C, L)`` by ``weight`` ``(O, C / groups, k)`` (see :func:`conv2d`)."""
    return convolution.conv1d(_tensor(input, "conv1d"), _tensor(weight, "conv1d"), _optional(bias, "conv1d"),
                              stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-d convolution of ``input`` ``(N, C, H, W)`` by ``weight`` ``(O, C / groups, kh, kw)`` plus ``bias``
    ``(O,)``, as ``torch.nn.functional.conv2d`` (a cross-correlation): output ``(N, O, OH, OW)``.
    ``stride``, ``padding`` (or ``'valid'``, ``'same'``) and ``dilation`` are an int or one per axis."""
    return convolution.conv2d(_tensor(input, "conv2d"), _tensor(weight, "conv2d"), _optional(bias, "conv2d"),
                              stride, padding, dilation, groups)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` ``(N, C, L)`` (see :func:`max_pool2d`)."""
    return convolution.max_pool1d(_tensor(input, "max_pool1d"), kernel_size, stride, padding, dilation, ceil_mode,
                                  return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` ``(N, C, H, W)``, stride defaulting to the kernel size. Ties: the
    gradient goes to the window's first maximum in row-major order, as in PyTorch."""
    return convolution.max_pool2d(_tensor(input, "max_pool2d"), kernel_size, stride, padding, dilation, ceil_mode,
                                  return_indices)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``input`` ``(N, C, L)`` (see :func:`avg_pool2d`)."""
    return convolution.avg_pool1d(_tensor(input, "avg_pool1d"), kernel_size, stride, padding, ceil_mode,
                                  count_include_pad)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window of ``input`` ``(N, C, H, W)``: a convolution by a constant kernel, one group per
    channel (``ceil_mode=True`` is refused)."""
    return convolution.avg_pool2d(_tensor(input, "avg_pool2d"), kernel_size, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override)


def activation(name: str | None) -> Callable[[Tensor], Tensor]:
    """The activation function called ``name`` (``None`` means identity)."""
    if name is None:
        return identity
    if not isinstance(name, str) or name not in _FAST:
        raise ArgumentError(f"unknown activation {name!r}; choose one of {', '.join(_FAST)}")
    return _FAST[name]


def _labels(labels, what: str) -> np.ndarray:
    """Check class indices are a 1-D integer array (integral floats are converted).

    Their range is checked by the :class:`~tinygrad_mlp.ops.OneHot` op that reads them,
    at no cost (it looks them up as unsigned integers), so a captured step checks it too.
    """
    arr = labels.data if isinstance(labels, Tensor) else labels
    if type(arr) is not np.ndarray:
        try:
            arr = np.asarray(arr)
        except ValueError:  # a ragged list
            raise ShapeError(f"{what}: labels must be a 1-D array of class indices, got {labels!r}") from None
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
        return Tensor.apply(OneHot(num_classes, dtype, value), Tensor.wrap(idx))
    except IndexError as e:
        raise ArgumentError(f"{what}: {str(e).split(': ', 1)[1]}") from None


def one_hot(labels, num_classes: int = 10, dtype=np.float32) -> Tensor:
    """Rows of the identity: shape (batch,) of class indices -> (batch, num_classes) constant Tensor."""
    return _one_hot_tensor(_labels(labels, "one_hot"), num_classes, dtype, 1.0, "one_hot")


MSE_REDUCTIONS = ("batchmean", "mean", "sum", "none")
CE_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, allowed: tuple[str, ...], what: str) -> str:
    """``reduction`` if it is one of ``allowed``, else an ArgumentError naming ``what`` (loss modules use it too)."""
    if reduction not in allowed:
        raise ArgumentError(f"{what}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


def check_label_smoothing(label_smoothing, what: str) -> float:
    """``label_smoothing`` as a float in [0, 1], else an ArgumentError naming ``what``."""
    if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(label_smoothing, (int, float, np.floating)) \
            or not 0 <= label_smoothing <= 1:
        raise ArgumentError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)


def _check_output(output, what: str, name: str = "output") -> Tensor:
    if not isinstance(output, Tensor):
        raise ArgumentError(f"{what}: {name} must be a Tensor, got {type(output).__name__}")
    if output.ndim != 2:
        raise ShapeError(f"{what}: {name} must have shape (batch, {'classes' if name == 'logits' else 'outputs'}), "
                         f"got {output.shape}")
    return output


def mse_loss(output: Tensor, target, reduction: str = "batchmean") -> Tensor:
    """The notes' quadratic cost: ``sum((output - target)**2) / batch``.

    For each example, the squared differences are **summed over the outputs**
    (the cost of one example, C0 in the notes); the result is the **average of
    C0 over the examples** of the batch. There is no factor 1/2. ``output`` has
    shape (batch, classes); ``target`` is either the same shape, or a 1-D array
    of integer labels, turned into one-hot rows. A target Tensor that requires
    grad gets its gradient too.

    ``reduction``: "batchmean" (the default above), "mean" (over every element,
    PyTorch's default: "batchmean" divided by the number of outputs), "sum", or
    "none" (the squared differences, shape of ``output``).
    """
    output = _check_output(output, "mse_loss")
    check_reduction(reduction, MSE_REDUCTIONS, "mse_loss")
    if isinstance(target, Tensor):
        t = target
    else:
        try:
            arr = target if type(target) is np.ndarray else np.asarray(target)
        except ValueError:
            raise ShapeError("mse_loss: target is a ragged list") from None
        if arr.dtype.kind not in "biuf":
            raise DTypeError(f"mse_loss: target must be numbers, got dtype {arr.dtype}")
        if arr.ndim == 1 and arr.dtype.kind in "iu":
            t = _one_hot_tensor(_labels(arr, "mse_loss"), output.shape[1], output.dtype, 1.0, "mse_loss")
        elif arr.dtype.kind == "f":
            t = output._lift(arr)  # the array itself: a captured step reads each call's own target
        else:  # a Cast op of the array itself (not a converted copy, which a captured step would keep as a constant)
            t = Tensor.wrap(arr).astype(output.dtype)
    if t.shape != output.shape:
        raise ShapeError(f"mse_loss: target shape {t.shape} does not match output shape {output.shape}")
    if reduction == "batchmean":
        return Tensor.apply(SquaredError(), output, t)  # the notes' cost, one fused node
    diff = output - t
    if reduction == "none":
        return diff * diff
    total = (diff * diff).sum()
    return total / output.numel() if reduction == "mean" else total


def _target_weights(logits: Tensor, target, label_smoothing: float, scale: float) -> Tensor:
    """``scale * q`` (batch, classes), q the target distribution: one-hot rows for class indices (the OneHot op,
    so the labels are an input of the graph), or the given probabilities; then smoothed,
    ``(1 - label_smoothing) * q + label_smoothing / classes``."""
    batch, classes = logits.shape
    if isinstance(target, Tensor):
        if target.requires_grad:
            raise ArgumentError("cross_entropy: a target that requires grad is not supported; pass target.detach()")
        target = target.data
    try:
        arr = target if type(target) is np.ndarray else np.asarray(target)
    except ValueError:
        raise ShapeError("cross_entropy: target is a ragged list") from None
    if arr.ndim == 2:  # probabilities
        if arr.shape != logits.shape or arr.dtype.kind != "f":
            raise ShapeError(f"cross_entropy: target must be 1-D class indices or float probabilities of the logits' "
                             f"shape {logits.shape}, got shape {arr.shape} of dtype {arr.dtype}")
        if arr.size and (np.any(arr < 0) or not np.allclose(arr.sum(axis=1), 1, atol=1e-3)):
            raise ArgumentError("cross_entropy: probability targets must be non-negative with rows summing to 1")
        # with Tensor ops on the array itself (not numpy on a copy, which a captured step would keep as a constant),
        # so tm.compile reads each call's own probabilities; the same values, bit for bit
        q = Tensor.wrap(arr)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / classes
        return (q * scale).astype(logits.dtype)
    idx = _labels(arr, "cross_entropy")
    if idx.shape[0] != batch:
        raise ShapeError(f"cross_entropy: {idx.shape[0]} labels for a batch of {batch} logits")
    weights = _one_hot_tensor(idx, classes, logits.dtype, (1 - label_smoothing) * scale, "cross_entropy")
    if label_smoothing:
        weights = weights + label_smoothing * scale / classes
    return weights


def cross_entropy(logits: Tensor, target, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy ``-sum(q * log softmax(logits))`` per example, averaged over the batch.

    ``logits`` has shape (batch, classes) and are raw scores (no activation).
    ``target`` is a 1-D array of integer class indices (q is their one-hot rows)
    or an array of probabilities of the logits' shape (q itself). With
    ``label_smoothing`` s, q becomes ``(1 - s) q + s / classes``. ``reduction``:
    "mean" (default), "sum", or "none" (one loss per example). Built on the
    stable ``log_softmax``, so logits of any finite size are fine: a class whose
    probability underflows to 0, or whose logit is -inf (a mask), contributes
    nothing when its target weight is 0 (and infinity, honestly, when it is not);
    the :class:`~tinygrad_mlp.ops.WeightedLogSum` rule does this, so a compiled
    step does it too.
    """
    logits = _check_output(logits, "cross_entropy", "logits")
    check_reduction(reduction, CE_REDUCTIONS, "cross_entropy")
    label_smoothing = check_label_smoothing(label_smoothing, "cross_entropy")
    # The target weights q are scaled by -1/batch for the negated mean (-1 otherwise): the loss is then one
    # weighted sum, and its backward a plain product.
    scale = -1 / logits.shape[0] if reduction == "mean" else -1.0
    weights = _target_weights(logits, target, label_smoothing, scale)
    # one WeightedLogSum node: product and sum, a zero weight on a -inf log-probability counting 0 (not NaN) inside
    # the rule, so a captured step (tm.compile) masks each batch's own -infs
    return Tensor.apply(WeightedLogSum(axis=1 if reduction == "none" else None), logits.log_softmax(axis=1), weights)


LOSSES: dict[str, Callable[..., Tensor]] = {"mse": mse_loss, "cross_entropy": cross_entropy}


#: Short names of losses: the one place they are expanded.
LOSS_ALIASES = {"ce": "cross_entropy"}


def loss_name(name: str) -> str:
    """The full name of the loss ``name``: ``"ce"`` -> ``"cross_entropy"``; ArgumentError for an unknown one."""
    full = LOSS_ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(full, str) or full not in LOSSES:
        raise ArgumentError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return full


def loss(name: str) -> Callable[..., Tensor]:
    """The loss function called ``name`` ("mse" or "cross_entropy"; "ce" is accepted too)."""
    return LOSSES[loss_name(name)]
