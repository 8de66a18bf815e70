"""Check autograd against central finite differences.

``numerical_grad`` nudges every input element by ``+eps`` and ``-eps`` and takes
``(f(x + eps) - f(x - eps)) / (2 eps)``: its error shrinks like ``eps**2``
(a one-sided difference only like ``eps``). Rounding adds an error of about
``machine_eps * |f| / eps``; in float32 (machine eps ~1e-7) no ``eps`` makes
both small, which is why ``gradcheck`` insists on float64 (machine eps ~2e-16).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .errors import ArgumentError, DTypeError, GradcheckError, ShapeError
from .tensor_core import Tensor, no_grad


def _scalar(out: Tensor, what: str) -> float:
    if not isinstance(out, Tensor) or out.numel() != 1:
        shape = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise ShapeError(f"{what}: the function must return a one-element Tensor, got {shape}")
    return float(out.data.reshape(()))


def numerical_grad(f: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6) -> list[np.ndarray | None]:
    """Central-difference gradient of the scalar ``f(*inputs)`` for each input that requires grad.

    Returns one array per input (the input's shape, float64), ``None`` for inputs
    that do not require grad. Inputs are perturbed in place and restored exactly.
    Inputs that require grad must be float64 (a DTypeError otherwise): in float32 a step of 1e-6 is
    lost in the rounding and the "gradient" comes out silently wrong.
    """
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise DTypeError(f"numerical_grad: input {i} is {t.dtype}; finite differences need float64 inputs "
                             "(Tensor(x, dtype=np.float64))")
    return _central_differences(f, inputs, eps)[0]


def _central_differences(f: Callable[..., Tensor], inputs: tuple[Tensor, ...],
                         eps: float) -> tuple[list[np.ndarray | None], float]:
    """:func:`numerical_grad`, and the largest ``|f|`` it evaluated (the scale of its rounding error)."""
    grads: list[np.ndarray | None] = []
    largest = 0.0
    with no_grad():
        for t in inputs:
            if not (isinstance(t, Tensor) and t.requires_grad):
                grads.append(None)
                continue
            if not t.data.flags.writeable:
                t.data = t.data.copy()
            grad = np.zeros(t.shape, dtype=np.float64)
            for i in np.ndindex(t.shape):
                original = t.data[i]
                try:
                    t.data[i] = original + eps
                    up = _scalar(f(*inputs), "numerical_grad")
                    t.data[i] = original - eps
                    down = _scalar(f(*inputs), "numerical_grad")
                finally:
                    t.data[i] = original
                grad[i] = (up - down) / (2 * eps)
                largest = max(largest, abs(up), abs(down))
            grads.append(grad)
    return grads, largest


def analytic_grad(f: Callable[..., Tensor], *inputs: Tensor) -> list[np.ndarray | None]:
    """Gradient of the scalar ``f(*inputs)`` by ``backward()``, leaving the inputs' ``.grad`` as it was."""
    saved = [t.grad if isinstance(t, Tensor) else None for t in inputs]
    try:
        for t in inputs:
            if isinstance(t, Tensor):
                t.grad = None
        out = f(*inputs)
        _scalar(out, "gradcheck")
        if out.requires_grad:
            out.backward()
        return [
            None if not (isinstance(t, Tensor) and t.requires_grad)
            else (np.zeros(t.shape) if t.grad is None else np.array(t.grad.data, dtype=np.float64))
            for t in inputs
        ]
    finally:
        for t, g in zip(inputs, saved, strict=True):
            if isinstance(t, Tensor):
                t.grad = g


def _projected(f: Callable[..., Tensor], inputs: tuple[Tensor, ...], seed: int) -> tuple[Callable[..., Tensor], float]:
    """``f`` made scalar (a non-scalar output is contracted with a fixed random tensor of its shape),
    and the magnitude of the numbers summed into that scalar at ``inputs`` (for the rounding-noise floor)."""
    with no_grad():
        out = f(*inputs)
    if not isinstance(out, Tensor):
        raise ShapeError(f"gradcheck: the function must return a Tensor, got {type(out).__name__}")
    values = np.asarray(out.data, dtype=np.float64)
    if out.numel() == 1:
        return f, float(np.abs(values).sum())
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    return (lambda *xs: (f(*xs) * weights).sum()), float(np.abs(values * weights).sum())


#: The default check's tolerances (see :func:`gradcheck`).
DEFAULT_RTOL = 1e-3   # elementwise, relative to the element's own numerical value
SCALE_ATOL = 1e-5     # absolute part, in units of the tensor's largest numerical entry
NOISE_FACTOR = 10.0   # the rounding floor: this many times u * |f| / eps
TRUNCATION_FACTOR = 100.0  # and the truncation floor: this many times eps**2
LEGACY_ATOL, LEGACY_RTOL = 1e-5, 1e-3  # the fixed tolerances used when a caller sets atol or rtol


def _check_eps(eps, what: str) -> None:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)) or not (
            math.isfinite(eps) and eps > 0):
        raise ArgumentError(f"{what}: eps must be a finite number > 0, got {eps!r}")


def rounding_floor(magnitude: float, eps: float) -> float:
    """The smallest error a central difference in float64 can be blamed for: ``10 u |f| / eps + 100 eps^2``.

    Each value of ``f`` carries a rounding error of about ``u * |f|`` (``u`` = 2.2e-16, float64's
    machine epsilon); the difference quotient divides it by ``2 eps``. ``magnitude`` is the largest ``|f|``
    at ``x`` and at the nudged points (for a projected output also ``sum |f_i R_i|``, the size of the terms
    before they cancel). The second term is the truncation error ``eps^2 |f'''| / 6`` of a central
    difference for ``|f'''|`` up to 600: what remains where the true gradient is 0 (``x^3`` at 0 gives
    1e-12). With ``eps = 1e-6`` and ``|f| = 0.41`` the floor is 1e-9, almost 300x below the 2.9e-7
    error of the vanishing-gradient chain of docs/gradient-checking.md.
    """
    _check_eps(eps, "rounding_floor")
    return NOISE_FACTOR * float(np.finfo(np.float64).eps) * magnitude / eps + TRUNCATION_FACTOR * eps * eps


def gradient_tolerance(numerical: np.ndarray, magnitude: float, eps: float) -> np.ndarray:
    """The default elementwise tolerance: ``1e-3 |n| + 1e-5 max|n| + rounding_floor(|f|, eps)``.

    The absolute part is measured in units of the whole tensor's largest numerical gradient, so
    the check means the same thing for a gradient of size 1 and one of size 1e-7 (the notes'
    sigmoid networks live in that vanishing-gradient regime, where a fixed ``atol = 1e-5``
    passes anything). The rounding floor keeps an all-zero or tiny gradient from demanding more
    than finite differences can resolve.
    """
    n = np.abs(np.asarray(numerical, dtype=np.float64))
    scale = float(n.max()) if n.size else 0.0
    return DEFAULT_RTOL * n + SCALE_ATOL * scale + rounding_floor(magnitude, eps)


def gradcheck(
    f: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> bool:
    """Assert that autograd's gradient of ``f`` matches central finite differences.

    Every input that requires grad must be float64. A non-scalar output is
    checked through a fixed random projection ``sum(f(x) * R)``.

    By default the check is scale-aware: for each input, with ``n`` its numerical
    gradient and ``a`` autograd's, every element must satisfy
    ``|a - n| <= 1e-3 |n| + 1e-5 max|n| + 10 u |f| / eps + 100 eps^2`` (``u`` = 2.2e-16),
    see :func:`gradient_tolerance`. A gradient three times too large fails whether
    its entries are of size 1 or 1e-7. Give ``atol`` or ``rtol`` (either one; the
    other then defaults to 1e-5 or 1e-3) for the fixed elementwise rule
    ``|a - n| <= atol + rtol |n|`` instead.

    Raises :class:`GradcheckError` naming the input, the element index, both values
    and the tensor's relative error ``max|a - n| / max|n|``. Returns True when everything matches.
    """
    _check_eps(eps, "gradcheck")
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise DTypeError(f"gradcheck: input {i} is {t.dtype}; finite differences need float64 inputs "
                             "(in float32 rounding error swamps the difference quotient)")
    scalar_f, magnitude = _projected(f, inputs, seed)
    analytic = analytic_grad(scalar_f, *inputs)
    numerical, largest = _central_differences(scalar_f, inputs, eps)
    magnitude = max(magnitude, largest)  # |f| where it was evaluated: at x and at x +- eps
    fixed = atol is not None or rtol is not None
    if fixed:
        atol = LEGACY_ATOL if atol is None else atol
        rtol = LEGACY_RTOL if rtol is None else rtol
    for i, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        if a is None or n is None:  # both None together: an input that does not require grad
            continue
        error = np.abs(a - n)
        allowed = atol + rtol * np.abs(n) if fixed else gradient_tolerance(n, magnitude, eps)
        bad = ~(error <= allowed)
        if bad.any():
            where = tuple(int(k) for k in np.argwhere(bad)[0])
            name = getattr(inputs[i], "name", None) or f"input {i}"
            scale = float(np.abs(n).max())
            rule = (f"atol={atol}, rtol={rtol}" if fixed else
                    "the default tolerance 1e-3 |n| + 1e-5 max|n| + rounding floor "
                    f"{rounding_floor(magnitude, eps):.1e}")
            raise GradcheckError(f"gradcheck: gradient of {name} (shape {inputs[i].shape}) differs at index {where}: "
                                 f"analytic {a[where]!r}, numerical {n[where]!r}; relative error of the tensor "
                                 f"max|a - n| / max|n| = {float(error.max()) / max(scale, 1e-300):.2g} "
                                 f"({int(bad.sum())} of {a.size} elements outside {rule})")
    return True


# ---------------------------------------------------------------------- second order and forward mode


def _require_float64(inputs, what: str) -> None:
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise DTypeError(f"{what}: input {i} is {t.dtype}; finite differences need float64 inputs")


def _compare(what: str, a: np.ndarray, n: np.ndarray, label: str, atol: float, rtol: float,
             a_name: str = "analytic", n_name: str = "numerical") -> None:
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        raise GradcheckError(f"{what}: {label} differs at index {where}: {a_name} {a[where]!r}, {n_name} {n[where]!r} "
                             f"({int(bad.sum())} of {a.size} elements outside atol={atol}, rtol={rtol})")


def gradgradcheck(
    f: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Assert that second derivatives by ``backward(create_graph=True)`` match finite differences.

    ``f`` is made scalar as in :func:`gradcheck` (``s = sum(f(x) * R)``); its gradient ``G(x)`` is
    projected on fixed random weights ``W`` (``q = sum_i <G_i(x), W_i>``, a Hessian-vector product in
    disguise). The analytic ``dq/dx`` comes from differentiating the graph that
    ``backward(create_graph=True)`` built; the numerical one from central differences of ``q``, where
    ``G`` is the ordinary first-order gradient at the nudged inputs. Inputs that require grad must be
    float64; raises :class:`GradcheckError` at the first mismatch, returns True otherwise.
    """
    _require_float64(inputs, "gradgradcheck")
    scalar_f, _ = _projected(f, inputs, seed)
    rng = np.random.default_rng(seed + 1)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    weights = {i: rng.standard_normal(inputs[i].shape) for i in diff}
    saved = {i: inputs[i].grad for i in diff}
    try:
        # analytic: dq/dx through the graph of the backward pass
        for i in diff:
            inputs[i].grad = None
        out = scalar_f(*inputs)
        _scalar(out, "gradgradcheck")
        analytic = {i: np.zeros(inputs[i].shape) for i in diff}
        if out.requires_grad:
            out.backward(create_graph=True)
            grads = {i: inputs[i].grad for i in diff}
            terms = [(g * weights[i]).sum() for i in diff if (g := grads[i]) is not None and g.requires_grad]
            for i in diff:
                inputs[i].grad = None
            if terms:
                q = terms[0]
                for term in terms[1:]:
                    q = q + term
                q.backward()
                for i in diff:
                    if (g := inputs[i].grad) is not None:
                        analytic[i] = np.array(g.data, dtype=np.float64)
    finally:
        for i in diff:
            inputs[i].grad = saved[i]

    def q_value() -> float:
        first = analytic_grad(scalar_f, *inputs)
        total = 0.0
        for i in diff:
            g = first[i]
            assert g is not None  # every input in diff requires grad, so it has a gradient
            total += float(np.sum(g * weights[i]))
        return total

    for i in diff:
        t = inputs[i]
        if not t.data.flags.writeable:
            t.data = t.data.copy()
        numerical = np.zeros(t.shape)
        for idx in np.ndindex(t.shape):
            original = t.data[idx]
            try:
                t.data[idx] = original + eps
                up = q_value()
                t.data[idx] = original - eps
                down = q_value()
            finally:
                t.data[idx] = original
            numerical[idx] = (up - down) / (2 * eps)
        name = getattr(t, "name", None) or f"input {i}"
        _compare("gradgradcheck", analytic[i], numerical, f"second derivative for {name} (shape {t.shape})", atol, rtol)
    return True


def jvpcheck(
    f: Callable[..., Tensor],
    primals,
    tangents=None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Assert that forward mode's ``jvp`` matches finite differences and reverse mode's ``J v``.

    ``primals`` is a Tensor or a tuple of them (float64), ``tangents`` the same structure (random
    normal when left out). Three numbers are compared for every output element: ``jvp(f, x, v)``
    (one forward pass, dual numbers); the central difference ``(f(x + eps v) - f(x - eps v)) / 2 eps``;
    and ``J v`` with ``J`` assembled row by row by reverse mode. Raises :class:`GradcheckError` at
    the first mismatch, returns True otherwise.
    """
    from . import autograd  # on first use: `import tinygrad_mlp` (which imports gradcheck) stays light

    primals = tuple(primals) if isinstance(primals, (tuple, list)) else (primals,)
    primals = tuple(p if isinstance(p, Tensor) else Tensor(np.asarray(p, dtype=np.float64)) for p in primals)
    for i, p in enumerate(primals):
        if p.dtype != np.float64:
            raise DTypeError(f"jvpcheck: primal {i} is {p.dtype}; finite differences need float64 inputs")
    if tangents is None:
        rng = np.random.default_rng(seed)
        tangents = tuple(rng.standard_normal(p.shape) for p in primals)
    else:
        tangents = tuple(tangents) if isinstance(tangents, (tuple, list)) else (tangents,)
        tangents = tuple(np.asarray(v.data if isinstance(v, Tensor) else v, dtype=np.float64) for v in tangents)
    if len(tangents) != len(primals):
        raise ShapeError(f"jvpcheck: {len(primals)} primals but {len(tangents)} tangents")

    out, forward = autograd.jvp(f, primals, tangents)
    if not isinstance(out, Tensor):
        raise ShapeError(f"jvpcheck: the function must return a Tensor, got {type(out).__name__}")
    if forward.shape != out.shape:
        raise GradcheckError(f"jvpcheck: the tangent has shape {forward.shape} but the output has shape {out.shape}")
    with no_grad():
        up = f(*[Tensor(p.data + eps * v) for p, v in zip(primals, tangents, strict=True)]).data
        down = f(*[Tensor(p.data - eps * v) for p, v in zip(primals, tangents, strict=True)]).data
    numerical = (np.asarray(up, dtype=np.float64) - down) / (2 * eps)
    jacobians = autograd.jacobian(f, argnums=tuple(range(len(primals))), mode="reverse")(*primals)
    reverse = np.zeros(out.shape)
    for jac, v in zip(jacobians, tangents, strict=True):
        reverse = reverse + np.tensordot(jac.data, v, axes=v.ndim)
    _compare("jvpcheck", forward.data, numerical, f"jvp (output shape {out.shape})", atol, rtol,
             "forward mode", "finite differences")
    _compare("jvpcheck", forward.data, reverse, f"jvp (output shape {out.shape})", atol, rtol,
             "forward mode", "reverse-mode J v")
    return True
