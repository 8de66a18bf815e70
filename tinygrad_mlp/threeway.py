"""Backprop by hand beside autograd: the three-way gradient check.

For one network, one batch and one loss, the gradient of the loss with respect
to every weight and bias is computed three independent ways:

1. **autograd**: ``loss.backward()`` through the graph the :class:`~tinygrad_mlp.nn.MLP`
   records (the primitives' vector-Jacobian products);
2. **hand**: :func:`tinygrad_mlp.backprop.backprop`, the lesson notes' equations
   derived on paper and typed in, run on the model's weight arrays (no Tensor);
3. **FD**: central finite differences ``(C(p + eps) - C(p - eps)) / (2 eps)`` of the
   model's own loss (:func:`tinygrad_mlp.gradcheck.numerical_grad`), always in
   float64 (on an exact float64 copy of the weights when the model is float32).

and each pair is compared, per parameter tensor (``layers.<i>.weight``,
``layers.<i>.bias``). If one method is wrong, the two pairs it takes part in
fail and the third passes, which names the culprit (:meth:`ThreeWayResult.diagnosis`).

Definitions (``a`` the left-hand method of a pair, ``b`` the right-hand one, the
maxima taken over all elements of one parameter tensor, everything in float64):

* ``max_abs = max|a - b|``;
* ``max_rel = max|a - b| / max(max|b|, tiny)``, with ``tiny`` the smallest normal
  float64 (2.2e-308; it only keeps an all-zero ``b`` from dividing by zero). The
  scale is the whole tensor's largest entry, not each element's own: an element
  whose true value happens to be near 0 is compared at the tensor's scale, where
  its rounding error lives, instead of blowing up an elementwise ratio;
* a pair **passes** when ``max_abs <= atol + rtol * max|b|``, i.e. when
  ``max_rel <= rtol`` up to the small absolute floor ``atol``.

Tolerances (:data:`TOLERANCES`):

* float64, autograd vs hand: ``rtol = 1e-10``, ``atol = 1e-14``. Both compute the
  same exact derivative with the same float64 operations in a different order, so
  they differ by rounding only (~1e-16 relative); 1e-10 leaves room for
  cancellation in the sums over the batch. The floor ``1e-14`` (about 50 units in
  the last place of 1) serves gradients that cancel to (almost) zero, where no
  relative bound is meaningful.
* float64, either vs FD: ``rtol = 1e-3`` of the tensor's largest entry (as
  :func:`~tinygrad_mlp.gradcheck.gradcheck`'s default) and ``atol = 1e-8``. With
  ``eps = 1e-6`` the difference quotient is off by ~``eps**2`` (truncation) plus
  ~``1e-16 * |C| / eps = 1e-10`` (rounding, for a cost of order 1); the floor
  ``1e-8`` is well above that, and far below the gradients of a sigmoid network
  whose early layers' gradients are small (a fixed ``atol = 1e-5`` would let a
  three-times-wrong gradient of size 1e-7 pass).
* float32: the analytic gradients carry float32 rounding (machine eps 1.2e-7,
  grown by the depth and the sums), so autograd vs hand uses ``rtol = 1e-4,
  atol = 1e-6`` and vs FD ``rtol = 1e-2, atol = 1e-4``. The FD column itself
  stays float64: in float32 its rounding error ``1.2e-7 * |C| / eps`` would be
  0.1 for ``eps = 1e-6`` (and no ``eps`` makes both errors small). That is also
  why float64 is the default: a 1e-10 agreement can only be seen there.

ReLU has a kink at 0, where neither derivative is "the" derivative and a
central difference straddling it measures the average slope. Finite differences
are only meaningful when every ReLU pre-activation stays clear of 0:
:func:`make_problem` redraws the inputs and biases until ``min |z| >= relu_margin``
(1e-3, a thousand times ``eps``) and counts the redraws; :func:`three_way_check`
reports the smallest ``|z|`` it saw and warns when it is below that margin.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import backprop as bp
from .errors import ArgumentError, DTypeError, IndexingError, ShapeError
from .gradcheck import analytic_grad, numerical_grad
from .nn import MLP, Conv2d, Flatten, Linear, ReLU, Sequential, functional
from .tensor_core import Tensor, no_grad

__all__ = [
    "PAIRS", "METHODS", "Tolerance", "Tolerances", "TOLERANCES", "PairDiff", "Row", "ThreeWayResult",
    "Problem", "three_way_check", "make_problem", "check_seconds", "default_output_activation",
    "canonical_loss", "dtype_note", "relative_difference", "RELU_MARGIN", "DEFAULT_EPS", "WHY_FLOAT64", "HandBackprop",
    "CNNProblem", "make_cnn_problem", "cnn_three_way_check",
]

#: What each column of the table is.
METHODS = {
    "autograd": "loss.backward() through the autograd graph",
    "hand": "backprop.backprop, the notes' equations in plain numpy",
    "FD": "central finite differences of the loss, in float64",
}

#: The three pairs, in the table's column order: (left ``a``, right ``b``); ``b`` is the reference scale.
PAIRS: tuple[tuple[str, str], ...] = (("autograd", "hand"), ("autograd", "FD"), ("hand", "FD"))

TINY = float(np.finfo(np.float64).tiny)
DEFAULT_EPS = 1e-6
RELU_MARGIN = 1e-3  # keep every ReLU pre-activation at least this far from its kink (1000 x eps)

WHY_FLOAT64 = ("finite differences in float32 are swamped by rounding (error ~1e-7*|C|/eps, about 0.1 for "
               "eps=1e-6), and the 1e-10 agreement of autograd with the hand-derived gradients is only "
               "meaningful in float64 (float32 itself resolves only ~1e-7)")


# ---------------------------------------------------------------------- tolerances


@dataclass(frozen=True)
class Tolerance:
    """A pair passes when ``max|a - b| <= atol + rtol * max|b|`` over one parameter tensor."""

    atol: float
    rtol: float

    def __post_init__(self) -> None:
        for name in ("atol", "rtol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not v >= 0:
                raise ArgumentError(f"Tolerance: {name} must be a number >= 0, got {v!r}")

    def allows(self, max_abs: float, scale: float) -> bool:
        return bool(max_abs <= self.atol + self.rtol * scale)  # False for NaN

    def __str__(self) -> str:
        return f"atol {self.atol:g}, rtol {self.rtol:g}"


@dataclass(frozen=True)
class Tolerances:
    """``hand``: autograd vs hand (and the loss values); ``fd``: either analytic gradient vs FD."""

    hand: Tolerance
    fd: Tolerance

    def __post_init__(self) -> None:
        if not (isinstance(self.hand, Tolerance) and isinstance(self.fd, Tolerance)):
            raise ArgumentError(f"Tolerances: hand and fd must be Tolerance objects, got {self.hand!r}, {self.fd!r}")

    def for_pair(self, pair: tuple[str, str]) -> Tolerance:
        return self.fd if "FD" in pair else self.hand


TOLERANCES: dict[np.dtype, Tolerances] = {
    np.dtype(np.float64): Tolerances(hand=Tolerance(atol=1e-14, rtol=1e-10), fd=Tolerance(atol=1e-8, rtol=1e-3)),
    np.dtype(np.float32): Tolerances(hand=Tolerance(atol=1e-6, rtol=1e-4), fd=Tolerance(atol=1e-4, rtol=1e-2)),
}


def relative_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(max|a - b|, max|a - b| / max(max|b|, tiny), max|b|)`` in float64 (see the module docstring)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ArgumentError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0, 0.0, 0.0
    max_abs = float(np.max(np.abs(a - b)))
    scale = float(np.max(np.abs(b)))
    return max_abs, max_abs / max(scale, TINY), scale


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class PairDiff:
    """One pair of methods compared on one parameter tensor."""

    first: str
    second: str
    max_abs: float
    max_rel: float
    scale: float  # max|b|, the scale of the relative difference
    tolerance: Tolerance
    passed: bool


@dataclass(frozen=True)
class Row:
    """One parameter tensor: its name, shape, and the three pairs in :data:`PAIRS` order."""

    name: str
    shape: tuple[int, ...]
    pairs: tuple[PairDiff, ...]

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.pairs)

    def pair(self, first: str, second: str) -> PairDiff:
        for p in self.pairs:
            if (p.first, p.second) == (first, second):
                return p
        raise IndexingError(f"no pair {first} vs {second}; pairs are {PAIRS}")


@dataclass
class ThreeWayResult:
    """The outcome of :func:`three_way_check`; ``passed`` is the overall verdict."""

    rows: list[Row]
    sizes: list[int]
    activation: str | None
    output_activation: str | None
    loss: str
    batch_size: int
    dtype: str
    eps: float
    tolerances: Tolerances
    loss_autograd: float
    loss_hand: float
    loss_passed: bool
    relu_min_abs_z: float | None  # smallest |z| over the ReLU layers (None: no ReLU layer)
    notes: list[str] = field(default_factory=list)
    #: method ("autograd", "hand", "FD") -> parameter name -> gradient (float64 copy)
    gradients: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    #: what the "hand" column is: the library's backprop, or the name of the function passed as ``hand=``
    hand_name: str = "backprop.backprop (the notes' equations)"
    #: the network in words, for a network other than an MLP (the table's first line then names it)
    network: str = ""

    @property
    def passed(self) -> bool:
        return self.loss_passed and all(row.passed for row in self.rows)

    def pair_passed(self, first: str, second: str) -> bool:
        """True when the pair agrees on every parameter tensor."""
        return all(row.pair(first, second).passed for row in self.rows)

    def failures(self) -> list[str]:
        """One line per failing (tensor, pair), and the loss values if they disagree."""
        out = []
        if not self.loss_passed:
            out.append(f"loss value: autograd {self.loss_autograd!r} vs hand {self.loss_hand!r}")
        for row in self.rows:
            for p in row.pairs:
                if not p.passed:
                    out.append(f"{row.name}: {p.first} vs {p.second}: max abs {p.max_abs:.3g}, max rel "
                               f"{p.max_rel:.3g} > {p.tolerance}")
        return out

    def diagnosis(self) -> str:
        """Which method is the odd one out, from which pairs fail."""
        ok = {pair: self.pair_passed(*pair) for pair in PAIRS}
        if all(ok.values()):
            return "all three methods agree"
        odd = [m for m in ("autograd", "hand", "FD")
               if all(not ok[p] for p in PAIRS if m in p) and all(ok[p] for p in PAIRS if m not in p)]
        if odd == ["autograd"]:
            return ("autograd is the odd one out: the hand-derived gradients and the finite differences agree, "
                    "so a primitive's backward (VJP) or the engine is wrong")
        if odd == ["hand"]:
            return ("the hand-derived reference is the odd one out: autograd and the finite differences agree, "
                    "so backprop.backprop is wrong")
        if odd == ["FD"]:
            return ("the finite differences are the odd one out: autograd and the hand derivation agree; suspect "
                    "a ReLU kink, saturation or eps, or a mistake shared by both derivations")
        return "more than one method disagrees with the others"

    def format_table(self) -> str:
        """A fixed-width table: one row per parameter tensor, three pair columns and a verdict."""
        hidden = "linear" if self.activation in (None, "identity") else self.activation
        output = "linear" if self.output_activation in (None, "identity") else self.output_activation
        t = self.tolerances
        network = self.network or f"MLP {'-'.join(map(str, self.sizes))} ({hidden} hidden, {output} output)"
        lines = [
            f"three-way gradient check: {network}, loss {self.loss}, batch {self.batch_size}, {self.dtype}",
            f"  autograd = loss.backward() through the graph;  hand = {self.hand_name}",
            f"  FD = central finite differences of the loss, eps {self.eps:g}, in float64",
            "  abs = max|a - b|,  rel = max|a - b| / max(max|b|, tiny) over the tensor;  b = the right-hand method",
            "  a pair passes when abs <= atol + rtol * max|b|",
            f"  tolerances: autograd vs hand {t.hand};  vs FD {t.fd}",
            "",
        ]
        name_w = max([len("parameter")] + [len(r.name) for r in self.rows])
        shape_w = max([len("shape")] + [len(_shape_text(r.shape)) for r in self.rows])
        cell_w = 24  # "abs rel flag" (8 + 1 + 8 + 1 + 4) and two spaces
        lead = " " * (name_w + 2 + shape_w + 2)
        head1 = lead + "".join(f"{a + ' vs ' + b:<{cell_w}}" for a, b in PAIRS)
        head2 = (f"{'parameter':<{name_w}}  {'shape':<{shape_w}}  "
                 + "".join(f"{'abs':>8} {'rel':>8}{'':<{cell_w - 17}}" for _ in PAIRS) + "result")
        lines += [head1.rstrip(), head2, "-" * len(head2)]
        for row in self.rows:
            cells = "".join(f"{_num(p.max_abs)} {_num(p.max_rel)} {'ok' if p.passed else 'FAIL':<{cell_w - 18}}"
                            for p in row.pairs)
            lines.append(f"{row.name:<{name_w}}  {_shape_text(row.shape):<{shape_w}}  {cells}"
                         f"{'pass' if row.passed else 'FAIL'}")
        lines.append("-" * len(head2))
        loss_abs = abs(self.loss_autograd - self.loss_hand)
        lines.append(f"loss value: autograd {self.loss_autograd:.12g}, hand {self.loss_hand:.12g}, |diff| "
                     f"{loss_abs:.1e} ({'ok' if self.loss_passed else 'FAIL'})")
        if self.relu_min_abs_z is not None:
            lines.append(f"smallest |z| at a ReLU: {self.relu_min_abs_z:.3g} (finite differences need it well above "
                         f"eps {self.eps:g}; kept >= {RELU_MARGIN:g})")
        lines += self.notes
        n = len(self.rows)
        if self.passed:
            lines.append(f"overall: PASS: all {n} parameter tensors agree in all three pairs ({self.diagnosis()})")
        else:
            bad = sum(not r.passed for r in self.rows)
            lines.append(f"overall: FAIL: {bad} of {n} parameter tensors disagree"
                         + ("" if self.loss_passed else ", and the loss values differ")
                         + f"; {self.diagnosis()}")
        return "\n".join(lines)


def _num(v: float) -> str:
    return f"{v:8.1e}" if math.isfinite(v) else f"{v!s:>8}"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


# ---------------------------------------------------------------------- the check


def dtype_note(dtype) -> str:
    """One or two lines saying why the check runs in ``dtype`` and what that costs (the CLI prints them)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"dtype_note: {dtype!r} is not a dtype") from None
    if dtype == np.float64:
        return textwrap.fill(f"dtype float64 (the default), because {WHY_FLOAT64}", 110)
    t = TOLERANCES.get(dtype)
    loose = "" if t is None else (f"; tolerances loosened to autograd vs hand {t.hand} and vs FD {t.fd}")
    return textwrap.fill(f"dtype {dtype}: autograd and hand run in {dtype}, FD still in float64 on an exact float64 "
                         f"copy of the weights (in {dtype} finite differences are swamped by rounding){loose}; the "
                         f"1e-10 agreement of autograd with hand is only meaningful in float64 (--dtype float64, "
                         f"the default)", 110)


def canonical_loss(name: str) -> str:
    """``"ce"`` -> ``"cross_entropy"``; raises ValueError for an unknown loss."""
    return functional.loss_name(name)


def _activation_name(name: str | None) -> str | None:
    return None if name in (None, "identity", "none", "None") else name


def _every_gradient(names: list[str], grads: list[np.ndarray | None]) -> dict[str, np.ndarray]:
    """name -> gradient, for parameters that all require grad (so none of them has None)."""
    for name, g in zip(names, grads, strict=True):
        assert g is not None, f"{name} has no gradient"
    return {name: g for name, g in zip(names, grads, strict=True) if g is not None}


def _targets_as(targets: np.ndarray, dtype) -> np.ndarray:
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    return t.astype(dtype) if t.dtype.kind == "f" else t


def _relu_min_abs_z(weights, biases, x, activation, output_activation) -> float | None:
    L = len(weights)
    if activation != "relu" and output_activation != "relu":
        return None
    zs, _ = bp.forward(weights, biases, x, activation, output_activation)
    relu_zs = [z for l, z in enumerate(zs, start=1) if (output_activation if l == L else activation) == "relu"]
    return min((float(np.abs(z).min()) for z in relu_zs), default=None)


#: A hand-written backprop for ``three_way_check(..., hand=)``:
#: ``hand(weights, biases, x, targets) -> (cost, grad_weights, grad_biases)``.
HandBackprop = Callable[[list, list, np.ndarray, np.ndarray], tuple]


def _hand_gradients(hand: HandBackprop, weights, biases, x, targets) -> tuple[float, list, list]:
    """Call a user's backprop on copies of the arrays and check what it returns, naming what is wrong."""
    name = getattr(hand, "__name__", "hand")
    out = hand([W.copy() for W in weights], [b.copy() for b in biases], x.copy(), np.array(targets, copy=True))
    if not (isinstance(out, tuple) and len(out) == 3):
        raise ShapeError(f"three_way_check: hand={name} must return (cost, grad_weights, grad_biases), "
                         f"got {type(out).__name__}")
    cost, gw, gb = out
    if len(gw) != len(weights) or len(gb) != len(biases):
        raise ShapeError(f"three_way_check: hand={name} returned {len(gw)} weight and {len(gb)} bias gradients "
                         f"for a network of {len(weights)} layers")
    for what, grads, params in (("weight", gw, weights), ("bias", gb, biases)):
        for l, (g, p) in enumerate(zip(grads, params, strict=True), start=1):
            if np.shape(g) != p.shape:
                raise ShapeError(f"three_way_check: hand={name}'s gradient of layer {l}'s {what} has shape "
                                 f"{np.shape(g)}, the {what} has shape {p.shape}")
    return float(cost), list(gw), list(gb)


def three_way_check(model: MLP, x, targets, loss: str = "mse", *, eps: float = DEFAULT_EPS,
                    tolerances: Tolerances | None = None, hand: HandBackprop | None = None) -> ThreeWayResult:
    """Compare autograd, the hand-derived backprop and finite differences on ``model``.

    Args:
        model: an :class:`~tinygrad_mlp.nn.MLP` (float64 or float32). Its
            parameters are left exactly as they were (FD nudges and restores them),
            and so are their ``.grad``.
        x: inputs (batch, sizes[0]); cast to the model's dtype (and to float64 for FD).
        targets: integer labels (batch,), or for ``"mse"`` a float target matrix
            (batch, sizes[-1]).
        loss: "mse" (the notes' quadratic cost) or "cross_entropy" ("ce").
        eps: the finite-difference step.
        tolerances: defaults to ``TOLERANCES[model dtype]`` (see the module docstring).
        hand: your own backprop, to check in place of :func:`tinygrad_mlp.backprop.backprop`:
            ``hand(weights, biases, x, targets) -> (cost, grad_weights, grad_biases)``
            with ``weights[l-1]`` = W(l) of shape (n_l, n_{l-1}), ``biases[l-1]`` = b(l)
            of shape (n_l,), ``x`` (batch, n_0) and ``targets`` as given here (it gets
            copies, so it cannot disturb the model). It must use the model's
            activations and ``loss`` itself.

    Returns:
        A :class:`ThreeWayResult`: one :class:`Row` per parameter tensor, in the
        order W(1), b(1), W(2), ..., each with the three :class:`PairDiff`.
    """
    loss = canonical_loss(loss)
    loss_fn = functional.loss(loss)
    params = dict(model.named_parameters())
    dtype = np.dtype(model.layers[0].weight.dtype)
    if tolerances is None:
        if dtype not in TOLERANCES:
            raise DTypeError(f"three_way_check: no tolerances for dtype {dtype}; use float64 or float32, "
                            "or pass tolerances=")
        tolerances = TOLERANCES[dtype]
    activation = _activation_name(model.activation)
    output_activation = _activation_name(model.output_activation)
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    x_model = x.astype(dtype, copy=False)
    t_model = _targets_as(targets, dtype)

    # (1) autograd: loss.backward() (analytic_grad saves and restores every .grad)
    names = list(params)
    tensors = [params[n] for n in names]
    with no_grad():
        loss_autograd = float(loss_fn(model(Tensor(x_model)), t_model).data)
    auto = analytic_grad(lambda *_: loss_fn(model(Tensor(x_model)), t_model), *tensors)
    grads = {"autograd": _every_gradient(names, auto)}

    # (2) by hand, on the weight arrays
    weights = [W.data for W in model.weights]
    biases = [b.data for b in model.biases]
    if hand is None:
        loss_hand, gw, gb = bp.backprop(weights, biases, x_model, t_model, activation, output_activation, loss)
    else:
        loss_hand, gw, gb = _hand_gradients(hand, weights, biases, x_model, t_model)
    by_hand = {}
    for i, (g_w, g_b) in enumerate(zip(gw, gb, strict=True)):
        by_hand[f"layers.{i}.weight"], by_hand[f"layers.{i}.bias"] = g_w, g_b
    grads["hand"] = {n: np.array(by_hand[n], dtype=np.float64) for n in names}

    # (3) finite differences of the model's own loss, in float64
    if dtype == np.float64:
        model64 = model
    else:  # an exact float64 copy (every float32 is a float64)
        model64 = MLP(model.sizes, model.activation, model.output_activation, dtype=np.float64)
        for p64, p in zip(model64.parameters(), model.parameters(), strict=True):
            p64.data = p.data.astype(np.float64)
    params64 = dict(model64.named_parameters())
    x64 = Tensor(x_model.astype(np.float64))
    t64 = _targets_as(t_model, np.float64)
    fd = numerical_grad(lambda *_: loss_fn(model64(x64), t64), *[params64[n] for n in names], eps=eps)
    grads["FD"] = _every_gradient(names, fd)

    rows = _compare(names, {n: tuple(params[n].shape) for n in names}, grads, tolerances)
    loss_passed = tolerances.hand.allows(abs(loss_autograd - loss_hand), abs(loss_hand))
    relu_z = _relu_min_abs_z(weights, biases, x_model, activation, output_activation)
    notes = []
    if relu_z is not None and relu_z < RELU_MARGIN:
        notes.append(f"WARNING: a ReLU pre-activation is only {relu_z:.2g} from the kink at 0 (< {RELU_MARGIN:g}): "
                     f"finite differences with eps {eps:g} may straddle it and mean nothing there")
    return ThreeWayResult(
        rows=rows, sizes=list(model.sizes), activation=activation, output_activation=output_activation, loss=loss,
        batch_size=int(x_model.shape[0]), dtype=str(dtype), eps=eps, tolerances=tolerances,
        loss_autograd=loss_autograd, loss_hand=float(loss_hand), loss_passed=loss_passed, relu_min_abs_z=relu_z,
        notes=notes, gradients=grads,
        **({} if hand is None else {"hand_name": f"{getattr(hand, '__name__', 'hand')} (your backprop)"}))


# ---------------------------------------------------------------------- random problems (the CLI's)


def check_seconds(sizes: Sequence[int], batch_size: int) -> float:
    """About how long :func:`make_problem` and its check take: finite differences run two forward passes per
    parameter, each about 0.1 ms of Python plus its float64 products (taken at 1e9 multiply-adds a second, a
    slow machine's figure, so the estimate errs long)."""
    params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    return 2 * params * (1e-4 + 2 * batch_size * params / 1e9)


def default_output_activation(loss: str) -> str | None:
    """The notes' sigmoid outputs for ``"mse"``; raw logits (None) for ``"cross_entropy"``."""
    return "sigmoid" if canonical_loss(loss) == "mse" else None


@dataclass
class Problem:
    """A random network, batch and labels for :func:`three_way_check`."""

    model: MLP
    x: np.ndarray
    labels: np.ndarray
    loss: str
    resamples: int  # how many times inputs and biases were redrawn to clear the ReLU kink
    relu_min_abs_z: float | None

    def check(self, eps: float = DEFAULT_EPS, tolerances: Tolerances | None = None) -> ThreeWayResult:
        result = three_way_check(self.model, self.x, self.labels, self.loss, eps=eps, tolerances=tolerances)
        if self.resamples:
            result.notes.append(f"inputs and biases were redrawn {self.resamples} time(s) until every ReLU "
                                f"pre-activation was at least {RELU_MARGIN:g} from the kink")
        return result


def make_problem(sizes: Sequence[int], activation: str = "sigmoid", loss: str = "mse", batch_size: int = 7,
                 seed: int = 0, dtype=np.float64, output_activation: str | None = "auto", *,
                 relu_margin: float = RELU_MARGIN, max_draws: int = 1000) -> Problem:
    """A random MLP of ``sizes`` with random inputs and labels, all from ``numpy.random.default_rng(seed)``.

    Weights W(l) ~ N(0, 1/n_{l-1}) (so sums stay O(1)), biases ~ N(0, 0.5^2),
    inputs ~ N(0, 1), labels uniform over the outputs. ``output_activation="auto"``
    picks :func:`default_output_activation`. When any layer uses ReLU, inputs and
    biases are redrawn (weights and labels kept) until every ReLU pre-activation
    satisfies ``|z| >= relu_margin``; ``Problem.resamples`` counts the redraws.
    """
    loss = canonical_loss(loss)
    if output_activation == "auto":
        output_activation = default_output_activation(loss)
    output_activation = _activation_name(output_activation)
    hidden = _activation_name(activation)
    dtype = np.dtype(dtype)
    if batch_size < 1:
        raise ArgumentError(f"batch size must be >= 1, got {batch_size}")
    model = MLP(sizes, hidden, output_activation, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.weight.data = (rng.standard_normal(layer.weight.shape) / np.sqrt(layer.in_features)).astype(dtype)
    labels = rng.integers(0, model.sizes[-1], size=batch_size)
    for draw in range(max_draws):
        for b in model.biases:
            b.data = (0.5 * rng.standard_normal(b.shape)).astype(dtype)
        x = rng.standard_normal((batch_size, model.sizes[0])).astype(dtype)
        z = _relu_min_abs_z([W.data for W in model.weights], [b.data for b in model.biases], x,
                            hidden, output_activation)
        if z is None or z >= relu_margin:
            return Problem(model, x, labels, loss, draw, z)
    raise ArgumentError(f"could not keep every ReLU pre-activation >= {relu_margin:g} from the kink in {max_draws} "
                     f"draws of inputs and biases; use a smaller network or batch")


# ---------------------------------------------------------------------- a small CNN (issue 26)


def _compare(names: list[str], shapes: dict[str, tuple], grads: dict[str, dict[str, np.ndarray]],
             tolerances: Tolerances) -> list[Row]:
    rows = []
    for n in names:
        diffs = []
        for first, second in PAIRS:
            tol = tolerances.for_pair((first, second))
            max_abs, max_rel, scale = relative_difference(grads[first][n], grads[second][n])
            diffs.append(PairDiff(first, second, max_abs, max_rel, scale, tol, tol.allows(max_abs, scale)))
        rows.append(Row(n, shapes[n], tuple(diffs)))
    return rows


def _cnn_parts(model: Sequential) -> tuple[Conv2d, Linear]:
    layers = list(model) if isinstance(model, Sequential) else []
    if (len(layers) != 4 or not isinstance(layers[0], Conv2d) or not isinstance(layers[1], ReLU)
            or not isinstance(layers[2], Flatten) or not isinstance(layers[3], Linear)):
        raise ArgumentError("cnn_three_way_check: the model must be Sequential(Conv2d, ReLU, Flatten, Linear), "
                            "the network backprop.cnn_backprop is written for")
    conv, fc = layers[0], layers[3]
    if conv.groups != 1 or conv.dilation != (1, 1) or len(set(conv.stride)) != 1 or isinstance(conv.padding, str) \
            or len(set(conv.padding)) != 1:
        raise ArgumentError("cnn_three_way_check: the hand-written convolution takes one stride and one padding "
                            "for both axes, no dilation and no groups")
    return conv, fc


def cnn_three_way_check(model: Sequential, x, labels, *, eps: float = DEFAULT_EPS,
                        tolerances: Tolerances | None = None) -> ThreeWayResult:
    """:func:`three_way_check` for a small CNN, ``Sequential(Conv2d, ReLU, Flatten, Linear)`` with the
    cross-entropy: autograd against :func:`tinygrad_mlp.backprop.cnn_backprop` (the convolution written out by
    hand, each weight's gradient a sum over the positions where it was used) and central differences.

    ``x`` (batch, C, H, W) and integer ``labels`` (batch,). The model's parameters and their ``.grad`` are left
    as they were.
    """
    conv, fc = _cnn_parts(model)
    params = dict(model.named_parameters())
    names = list(params)
    dtype = np.dtype(conv.weight.dtype)
    if tolerances is None:
        if dtype not in TOLERANCES:
            raise DTypeError(f"cnn_three_way_check: no tolerances for dtype {dtype}; use float64 or float32")
        tolerances = TOLERANCES[dtype]
    x_model = np.asarray(x.data if isinstance(x, Tensor) else x).astype(dtype, copy=False)
    labels = np.asarray(labels)
    loss_fn = functional.loss("cross_entropy")
    with no_grad():
        loss_autograd = float(loss_fn(model(Tensor(x_model)), labels).data)
    auto = analytic_grad(lambda *_: loss_fn(model(Tensor(x_model)), labels), *[params[n] for n in names])
    grads = {"autograd": _every_gradient(names, auto)}

    stride, padding = conv.stride[0], (0 if isinstance(conv.padding, str) else conv.padding[0])  # (not 'same')
    arrays = [conv.weight.data, conv.bias.data if conv.bias is not None else np.zeros(conv.out_channels, dtype),
              fc.weight.data, fc.bias.data if fc.bias is not None else np.zeros(fc.out_features, dtype)]
    loss_hand, hand = bp.cnn_backprop(arrays, x_model, labels, stride, padding)
    by_hand = dict(zip(("conv.weight", "conv.bias", "fc.weight", "fc.bias"), hand, strict=True))
    keys = ["conv.weight"] + (["conv.bias"] if conv.bias is not None else []) + ["fc.weight"] + (
        ["fc.bias"] if fc.bias is not None else [])
    grads["hand"] = {n: np.array(by_hand[k], dtype=np.float64) for n, k in zip(names, keys, strict=True)}

    saved = [p.data for p in params.values()]  # FD in float64, on float64 copies of the parameters
    try:
        for p in params.values():
            p.data = p.data.astype(np.float64)
        x64 = Tensor(x_model.astype(np.float64))
        fd = numerical_grad(lambda *_: loss_fn(model(x64), labels), *[params[n] for n in names], eps=eps)
    finally:
        for p, data in zip(params.values(), saved, strict=True):
            p.data = data
    grads["FD"] = _every_gradient(names, fd)

    rows = _compare(names, {n: tuple(params[n].shape) for n in names}, grads, tolerances)
    z1 = bp.conv2d_forward(x_model, arrays[0], arrays[1], stride, padding)
    relu_z = float(np.abs(z1).min())
    notes = []
    if relu_z < RELU_MARGIN:
        notes.append(f"WARNING: a ReLU pre-activation is only {relu_z:.2g} from the kink at 0 (< {RELU_MARGIN:g}): "
                     f"finite differences with eps {eps:g} may straddle it and mean nothing there")
    c, h, w = x_model.shape[1:]
    network = (f"CNN conv {c}->{conv.out_channels} {conv.kernel_size[0]}x{conv.kernel_size[1]} (stride {stride}, "
               f"padding {padding}) on {h}x{w}, relu, flatten, linear {fc.in_features}->{fc.out_features}")
    return ThreeWayResult(
        rows=rows, sizes=[fc.in_features, fc.out_features], activation="relu", output_activation=None,
        loss="cross_entropy", batch_size=int(x_model.shape[0]), dtype=str(dtype), eps=eps, tolerances=tolerances,
        loss_autograd=loss_autograd, loss_hand=float(loss_hand),
        loss_passed=tolerances.hand.allows(abs(loss_autograd - loss_hand), abs(loss_hand)), relu_min_abs_z=relu_z,
        notes=notes, gradients=grads, hand_name="backprop.cnn_backprop (the convolution by hand)", network=network)


@dataclass
class CNNProblem:
    """A random small CNN, batch and labels for :func:`cnn_three_way_check`."""

    model: Sequential
    x: np.ndarray
    labels: np.ndarray
    resamples: int  # how many times inputs and conv biases were redrawn to clear the ReLU kink

    def check(self, eps: float = DEFAULT_EPS, tolerances: Tolerances | None = None) -> ThreeWayResult:
        result = cnn_three_way_check(self.model, self.x, self.labels, eps=eps, tolerances=tolerances)
        if self.resamples:
            result.notes.append(f"inputs and conv biases were redrawn {self.resamples} time(s) until every ReLU "
                                f"pre-activation was at least {RELU_MARGIN:g} from the kink")
        return result


def make_cnn_problem(channels: int = 3, kernel: int = 3, image: int = 6, classes: int = 4, batch_size: int = 3,
                     stride: int = 1, padding: int = 1, in_channels: int = 1, seed: int = 0, dtype=np.float64, *,
                     relu_margin: float = RELU_MARGIN, max_draws: int = 1000) -> CNNProblem:
    """A random ``Sequential(Conv2d(in_channels, channels, kernel, stride, padding), ReLU, Flatten, Linear(.,
    classes))`` with random images (batch, in_channels, image, image) and labels, all from
    ``numpy.random.default_rng(seed)``; inputs and conv biases redrawn until every ``|z| >= relu_margin``."""
    for name, v in (("channels", channels), ("kernel", kernel), ("image", image), ("classes", classes),
                    ("batch_size", batch_size), ("stride", stride), ("in_channels", in_channels)):
        if v < 1:
            raise ArgumentError(f"make_cnn_problem: {name} must be >= 1, got {v}")
    out = (image + 2 * padding - kernel) // stride + 1
    if padding < 0 or out < 1:
        raise ArgumentError(f"make_cnn_problem: a {kernel}x{kernel} kernel does not fit a {image}x{image} image "
                            f"padded by {padding}")
    dtype = np.dtype(dtype)
    conv = Conv2d(in_channels, channels, kernel, stride, padding, seed=seed, dtype=dtype)
    fc = Linear(channels * out * out, classes, seed=seed, dtype=dtype)
    model = Sequential(conv, ReLU(), Flatten(), fc)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=batch_size)
    bias = conv.bias
    assert bias is not None  # made with one
    for draw in range(max_draws):
        bias.data = (0.5 * rng.standard_normal(channels)).astype(dtype)
        x = rng.standard_normal((batch_size, in_channels, image, image)).astype(dtype)
        z = bp.conv2d_forward(x, conv.weight.data, bias.data, stride, padding)
        if float(np.abs(z).min()) >= relu_margin:
            return CNNProblem(model, x, labels, draw)
    raise ArgumentError(f"could not keep every ReLU pre-activation >= {relu_margin:g} from the kink in {max_draws} "
                        "draws of inputs and biases; use a smaller network or batch")
