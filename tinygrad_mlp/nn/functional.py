"""Stateless functions for networks: activations by name, ``one_hot``, and the losses.

Everything here is composed from Tensor ops; nothing computes its own gradient.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .. import convolution, engine
from ..errors import ArgumentError, DTypeError, ShapeError
from ..methods import broadcasts_to, made_from
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
        if not engine.quiet and engine.state.listeners:  # tm.compile runs such a step eagerly
            engine.announce("effect", "dropout draws a new random mask on every call, which a replay would not do")
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
    # a converted copy (of floats, a list): announced, so that a recording converts each call's labels again
    return arr if arr is labels or (isinstance(labels, Tensor) and arr is labels.data) else \
        made_from(arr, functools.partial(_labels, what=what), labels)


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
        raise ShapeError(f"{what}: {name} must have shape (batch, {'outputs' if name == 'output' else 'classes'}), "
                         f"got {output.shape}")
    return output


def _target_array(target, what: str) -> np.ndarray:
    """A target that is not a Tensor, as an array (a ragged list is a ShapeError)."""
    try:
        return target if type(target) is np.ndarray else np.asarray(target)
    except ValueError:
        raise ShapeError(f"{what}: target is a ragged list") from None


def _float_target(input: Tensor, target, what: str) -> Tensor:
    """``target`` as a Tensor of ``input``'s shape: a Tensor as it is, an array lifted (the array itself, so a
    captured step reads each call's own target); a ShapeError when the shapes differ (PyTorch would broadcast,
    with a warning: (N, 1) against (N,) becomes (N, N), a silent wrong answer)."""
    if isinstance(target, Tensor):
        t = target
    else:
        arr = _target_array(target, what)
        if arr.dtype.kind not in "biuf":
            raise DTypeError(f"{what}: target must be numbers, got dtype {arr.dtype}")
        if type(target) is not np.ndarray:  # Python numbers take the input's dtype, as they do in arithmetic
            arr = arr.astype(input.dtype)
        # float arrays as they are; others through a Cast op of the array itself (not a converted copy, which a
        # captured step would keep as a constant)
        t = input._lift(arr) if arr.dtype.kind == "f" else Tensor.wrap(arr).astype(input.dtype)
    if t.shape != input.shape:
        labels = t.ndim == 1 and t.shape[0] == input.shape[0] and input.ndim == 2 and not isinstance(target, Tensor) \
            and np.asarray(target).dtype.kind in "iu"
        hint = ("; these look like class labels: the notes' cost with labels is quadratic_cost, or compare with "
                "one_hot(labels)") if labels else " (they must be equal; nothing is broadcast)"
        raise ShapeError(f"{what}: target shape {t.shape} does not match input shape {input.shape}{hint}")
    return t


def _input(input, what: str) -> Tensor:
    """A loss's input must be a Tensor (an array would have no gradient to give)."""
    if not isinstance(input, Tensor):
        raise ArgumentError(f"{what}: input must be a Tensor, got {type(input).__name__}")
    return input


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    """PyTorch's reductions of an elementwise loss: "mean" over every element, "sum", or "none"."""
    if reduction == "none":
        return loss
    total = loss.sum()
    return total / max(loss.data.size, 1) if reduction == "mean" else total


def quadratic_cost(output: Tensor, target, reduction: str = "batchmean") -> Tensor:
    """The notes' quadratic cost: ``sum((output - target)**2) / batch``.

    For each example, the squared differences are **summed over the outputs**
    (the cost of one example, C0 in the notes); the result is the **average of
    C0 over the examples** of the batch. There is no factor 1/2. ``output`` has
    shape (batch, classes); ``target`` is either the same shape, or a 1-D array
    of integer labels, turned into one-hot rows. A target Tensor that requires
    grad gets its gradient too. This is the CLI's ``--loss mse``, ``train.fit``'s
    ``"mse"`` and the hand-written backprop's cost.

    ``reduction``: "batchmean" (the default above), "mean" (over every element,
    PyTorch's ``mse_loss``: "batchmean" divided by the number of outputs), "sum", or
    "none" (the squared differences, shape of ``output``).
    """
    output = _check_output(output, "quadratic_cost")
    check_reduction(reduction, MSE_REDUCTIONS, "quadratic_cost")
    if isinstance(target, Tensor):
        t = target
    else:
        arr = _target_array(target, "quadratic_cost")
        if arr.ndim == 1 and arr.dtype.kind in "iu":
            t = _one_hot_tensor(_labels(arr, "quadratic_cost"), output.shape[1], output.dtype, 1.0, "quadratic_cost")
        else:
            t = _float_target(output, arr, "quadratic_cost")
    if t.shape != output.shape:
        raise ShapeError(f"quadratic_cost: target shape {t.shape} does not match output shape {output.shape}")
    if reduction == "batchmean":
        return Tensor.apply(SquaredError(), output, t)  # the notes' cost, one fused node
    diff = output - t
    return _reduce(diff * diff, reduction)


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """PyTorch's mean squared error: ``mean((input - target)**2)`` over **every element** (``reduction="mean"``).

    ``input`` has any shape (a 1-D prediction too) and ``target`` the same shape (never broadcast).
    ``reduction``: "mean" (default), "sum", "none" (the squared differences), or "batchmean" (the notes'
    cost, :func:`quadratic_cost`). The notes' cost is :func:`quadratic_cost`: squares summed over the outputs,
    averaged over the batch, with integer labels accepted as one-hot targets.
    """
    check_reduction(reduction, MSE_REDUCTIONS, "mse_loss")
    if reduction == "batchmean":
        return quadratic_cost(input, target)
    input = _input(input, "mse_loss")
    diff = input - _float_target(input, target, "mse_loss")
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``mean(|input - target|)`` (``reduction`` "mean", "sum" or "none"), as PyTorch."""
    check_reduction(reduction, CE_REDUCTIONS, "l1_loss")
    input = _input(input, "l1_loss")
    return _reduce((input - _float_target(input, target, "l1_loss")).abs(), reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """PyTorch's Huber loss: ``0.5 d**2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``, d = input - target.

    Written without a mask, as ``0.5 c**2 + delta (|d| - c)`` with ``c = min(|d|, delta)``, so a captured step
    computes each call's own branch.
    """
    check_reduction(reduction, CE_REDUCTIONS, "huber_loss")
    delta = _positive_number(delta, "huber_loss: delta")
    input = _input(input, "huber_loss")
    magnitude = (input - _float_target(input, target, "huber_loss")).abs()
    c = magnitude.clip(None, delta)
    return _reduce(c * c * 0.5 + (magnitude - c) * delta, reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """PyTorch's smooth L1 loss: ``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``
    (``huber_loss(delta=beta) / beta``); ``beta=0`` is :func:`l1_loss`."""
    check_reduction(reduction, CE_REDUCTIONS, "smooth_l1_loss")
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, (int, float, np.floating)) or not beta >= 0:
        raise ArgumentError(f"smooth_l1_loss: beta must be a number >= 0, got {beta!r}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) / float(beta)


def _positive_number(value, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating)) or not value > 0:
        raise ArgumentError(f"{what} must be a number > 0, got {value!r}")
    return float(value)


def _elementwise_weight(weight, input: Tensor, what: str, name: str = "weight") -> Tensor | None:
    """A rescaling weight broadcast against ``input`` (PyTorch's ``weight=`` / ``pos_weight=``), or None."""
    if weight is None:
        return None
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, dtype=input.dtype))
    if not broadcasts_to(w.shape, input.shape):
        raise ShapeError(f"{what}: {name} of shape {w.shape} does not broadcast to the input's {input.shape}")
    return w


# log(p) is clamped at -100, as PyTorch's binary_cross_entropy does, by clamping p at exp(-100) (a float32 denormal)
_LOG_FLOOR = float(np.exp(-100.0))


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """``-(t log p + (1 - t) log(1 - p))`` elementwise, ``p = input`` probabilities in [0, 1] (e.g. after a sigmoid),
    each log clamped at -100 as PyTorch does; ``weight`` rescales each element (broadcast); reduced as
    :func:`mse_loss`. Probabilities outside [0, 1] are refused (:class:`ArgumentError`)."""
    check_reduction(reduction, CE_REDUCTIONS, "binary_cross_entropy")
    input = _input(input, "binary_cross_entropy")
    t = _float_target(input, target, "binary_cross_entropy")
    if input.data.size and not (np.min(input.data) >= 0 and np.max(input.data) <= 1):
        raise ArgumentError("binary_cross_entropy: input must be probabilities in [0, 1] (apply sigmoid first, or "
                            "use binary_cross_entropy_with_logits on raw scores)")
    loss = -(t * input.clip(_LOG_FLOOR, None).log() + (1 - t) * (1 - input).clip(_LOG_FLOOR, None).log())
    w = _elementwise_weight(weight, input, "binary_cross_entropy")
    return _reduce(loss if w is None else loss * w, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """:func:`binary_cross_entropy` of ``sigmoid(input)``, computed stably from the raw scores:
    ``(1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)``. ``pos_weight`` weighs the positive term (broadcast
    along the last axis, one per class), ``weight`` each element; reduced as :func:`mse_loss`."""
    check_reduction(reduction, CE_REDUCTIONS, "binary_cross_entropy_with_logits")
    input = _input(input, "binary_cross_entropy_with_logits")
    t = _float_target(input, target, "binary_cross_entropy_with_logits")
    pw = _elementwise_weight(pos_weight, input, "binary_cross_entropy_with_logits", "pos_weight")
    log_weight = 1.0 if pw is None else (pw - 1) * t + 1
    loss = (1 - t) * input + log_weight * (-input).softplus()
    w = _elementwise_weight(weight, input, "binary_cross_entropy_with_logits")
    return _reduce(loss if w is None else loss * w, reduction)


def _class_weight(weight, classes: int, dtype, what: str) -> np.ndarray | None:
    if weight is None:
        return None
    if isinstance(weight, str):
        raise ArgumentError(f"{what}: weight must be one number per class, got {weight!r} (pass reduction= by name)")
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.dtype.kind not in "biuf" or w.shape != (classes,):
        raise ShapeError(f"{what}: weight must be {classes} numbers (one per class), got shape {w.shape} "
                         f"of dtype {w.dtype}")
    return w.astype(dtype)


def _target_weights(logp: Tensor, target, weight, ignore_index: int, label_smoothing: float, reduction: str,
                    what: str) -> Tensor:
    """The weights Q (batch, classes) with ``loss = sum(Q * logp)`` (one WeightedLogSum): the target distribution
    q (one-hot rows for class indices, or the given probabilities), smoothed to ``(1 - s) q + s / classes``,
    times the class weights, with rows of ``ignore_index`` zeroed; negated, and for "mean" divided by the
    number of (weighted, not ignored) examples, as PyTorch counts them."""
    batch, classes = logp.shape
    if isinstance(target, Tensor):
        if target.requires_grad:
            raise ArgumentError(f"{what}: a target that requires grad is not supported; pass target.detach()")
        target = target.data
    arr = _target_array(target, what)
    w = _class_weight(weight, classes, logp.dtype, what)
    if arr.ndim == 2:  # probabilities
        if arr.shape != logp.shape or arr.dtype.kind != "f":
            raise ShapeError(f"{what}: target must be 1-D class indices or float probabilities of the input's "
                             f"shape {logp.shape}, got shape {arr.shape} of dtype {arr.dtype}")
        if ignore_index != -100:
            raise ArgumentError(f"{what}: ignore_index applies to class-index targets, not to probabilities")
        if arr.size and (np.any(arr < 0) or not np.allclose(arr.sum(axis=1), 1, atol=1e-3)):
            raise ArgumentError(f"{what}: probability targets must be non-negative with rows summing to 1")
        # with Tensor ops on the array itself (not numpy on a copy, which a captured step could not read again),
        # so tm.compile reads each call's own probabilities; the same values, bit for bit
        q = Tensor.wrap(arr)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / classes
        if w is not None:
            q = q * Tensor.wrap(w)
        return (q * (-1 / batch if reduction == "mean" else -1.0)).astype(logp.dtype)
    idx = _labels(arr, what)
    if idx.shape[0] != batch:
        raise ShapeError(f"{what}: {idx.shape[0]} labels for a batch of {batch} inputs")
    ignored = idx == ignore_index
    if w is None and not 0 <= ignore_index < classes and not ignored.any():
        # every label counts with weight 1: the OneHot op reads the labels as an input of the graph, so a captured
        # step (tm.compile) reads each call's own (and refuses an ignore_index among them, being out of range)
        scale = -1 / batch if reduction == "mean" else -1.0
        weights = _one_hot_tensor(idx, classes, logp.dtype, (1 - label_smoothing) * scale, what)
        if label_smoothing:
            weights = weights + label_smoothing * scale / classes
        return weights
    # class weights or ignored labels: the weights are computed here with numpy from this call's labels, which a
    # replay could not redo, so the step runs eagerly under tm.compile
    engine.announce("effect", f"{what} with class weights or ignore_index computes its weights from each call's labels")
    kept = ~ignored
    safe = np.where(kept, idx, 0)
    if np.any(safe < 0) or np.any(safe >= classes):
        bad = idx[kept & ((idx < 0) | (idx >= classes))][0]
        raise ArgumentError(f"{what}: labels must lie in [0, {classes}) (or equal ignore_index={ignore_index}), "
                            f"got {bad}")
    w_full = np.ones(classes, dtype=logp.dtype) if w is None else w
    row = w_full[safe] * kept  # each example's weight: w[y_i], 0 if ignored
    dense = np.zeros((batch, classes), dtype=np.float64)
    dense[np.arange(batch), safe] = (1 - label_smoothing) * row
    if label_smoothing:
        dense += (label_smoothing / classes) * kept[:, None] * w_full[None, :]
    if reduction == "mean":
        total = float(row.sum())
        dense *= -1 / total if total else np.nan  # nothing counted: nan, as PyTorch
    else:
        dense *= -1.0
    return Tensor.wrap(dense.astype(logp.dtype))


def _weighted_log_sum(logp: Tensor, weights: Tensor, reduction: str) -> Tensor:
    # one WeightedLogSum node: product and sum, a zero weight on a -inf log-probability counting 0 (not NaN) inside
    # the rule, so a captured step (tm.compile) masks each batch's own -infs
    return Tensor.apply(WeightedLogSum(axis=1 if reduction == "none" else None), logp, weights)


def _check_ignore_index(ignore_index, what: str) -> int:
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, (int, np.integer)):
        raise ArgumentError(f"{what}: ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


def cross_entropy(input: Tensor, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy ``-sum(q * log softmax(input))`` per example, averaged over the batch (PyTorch's).

    ``input`` has shape (batch, classes) and holds raw scores (logits, no activation).
    ``target`` is a 1-D array of integer class indices (q is their one-hot rows)
    or an array of probabilities of the input's shape (q itself). With
    ``label_smoothing`` s, q becomes ``(1 - s) q + s / classes``. ``weight`` (one
    number per class) rescales each class; examples whose label is ``ignore_index``
    count for nothing. ``reduction``: "mean" (default: divided by the summed weights
    of the counted examples, as PyTorch), "sum", or "none" (one loss per example).
    Built on the stable ``log_softmax``, so logits of any finite size are fine: a class whose
    probability underflows to 0, or whose logit is -inf (a mask), contributes
    nothing when its target weight is 0 (and infinity, honestly, when it is not);
    the :class:`~tinygrad_mlp.ops.WeightedLogSum` rule does this, so a compiled
    step does it too.
    """
    logits = _check_output(input, "cross_entropy", "input")
    check_reduction(reduction, CE_REDUCTIONS, "cross_entropy")
    label_smoothing = check_label_smoothing(label_smoothing, "cross_entropy")
    ignore_index = _check_ignore_index(ignore_index, "cross_entropy")
    logp = logits.log_softmax(axis=1)
    weights = _target_weights(logp, target, weight, ignore_index, label_smoothing, reduction, "cross_entropy")
    return _weighted_log_sum(logp, weights, reduction)


def nll_loss(input: Tensor, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood ``-input[i, target[i]]`` of log-probabilities ``input`` (batch, classes) (e.g. from
    ``log_softmax``), with class ``weight``, ``ignore_index`` and ``reduction`` as :func:`cross_entropy`:
    ``nll_loss(log_softmax(z, dim=1), y) == cross_entropy(z, y)``."""
    logp = _check_output(input, "nll_loss", "input")
    check_reduction(reduction, CE_REDUCTIONS, "nll_loss")
    ignore_index = _check_ignore_index(ignore_index, "nll_loss")
    arr = target.data if isinstance(target, Tensor) else np.asarray(target)
    if arr.ndim != 1:
        raise ShapeError(f"nll_loss: target must be 1-D class indices, got shape {arr.shape}")
    weights = _target_weights(logp, target, weight, ignore_index, 0.0, reduction, "nll_loss")
    return _weighted_log_sum(logp, weights, reduction)


# the CLI's and train.fit's names: "mse" is the notes' quadratic cost (not PyTorch's mse_loss, which averages over
# every element)
LOSSES: dict[str, Callable[..., Tensor]] = {"mse": quadratic_cost, "cross_entropy": cross_entropy}


#: Short names of losses: the one place they are expanded.
LOSS_ALIASES = {"ce": "cross_entropy"}


def loss_name(name: str) -> str:
    """The full name of the loss ``name``: ``"ce"`` -> ``"cross_entropy"``; ArgumentError for an unknown one."""
    full = LOSS_ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(full, str) or full not in LOSSES:
        raise ArgumentError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return full


def loss(name: str) -> Callable[..., Tensor]:
    """The loss function called ``name``: "mse" (the notes' :func:`quadratic_cost`) or "cross_entropy" ("ce")."""
    return LOSSES[loss_name(name)]
