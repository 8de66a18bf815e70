"""Check autograd against central finite differences.

``numerical_grad`` nudges every input element by ``+eps`` and ``-eps`` and takes
``(f(x + eps) - f(x - eps)) / (2 eps)``: its error shrinks like ``eps**2``
(a one-sided difference only like ``eps``). Rounding adds an error of about
``machine_eps * |f| / eps``; in float32 (machine eps ~1e-7) no ``eps`` makes
both small, which is why ``gradcheck`` insists on float64 (machine eps ~2e-16).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import DTypeError, GradcheckError, ShapeError
from .tensor import Tensor, no_grad


def _scalar(out: Tensor, what: str) -> float:
    if not isinstance(out, Tensor) or out.size != 1:
        shape = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise ShapeError(f"{what}: the function must return a one-element Tensor, got {shape}")
    return float(out.data.reshape(()))


def numerical_grad(f: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6) -> list[np.ndarray | None]:
    """Central-difference gradient of the scalar ``f(*inputs)`` for each input that requires grad.

    Returns one array per input (the input's shape, float64), ``None`` for inputs
    that do not require grad. Inputs are perturbed in place and restored exactly.
    """
    grads: list[np.ndarray | None] = []
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
            grads.append(grad)
    return grads


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
        for t, g in zip(inputs, saved):
            if isinstance(t, Tensor):
                t.grad = g


def _projected(f: Callable[..., Tensor], inputs: tuple[Tensor, ...], seed: int) -> Callable[..., Tensor]:
    """``f`` made scalar: a non-scalar output is contracted with a fixed random tensor of its shape."""
    with no_grad():
        out = f(*inputs)
    if not isinstance(out, Tensor):
        raise ShapeError(f"gradcheck: the function must return a Tensor, got {type(out).__name__}")
    if out.size == 1:
        return f
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    return lambda *xs: (f(*xs) * weights).sum()


def gradcheck(
    f: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Assert that autograd's gradient of ``f`` matches central finite differences.

    Every input that requires grad must be float64. A non-scalar output is
    checked through a fixed random projection ``sum(f(x) * R)``. Elementwise,
    ``|analytic - numerical| <= atol + rtol * |numerical|`` must hold; otherwise a
    :class:`GradcheckError` names the input, the element index and both values.
    Returns True when everything matches.
    """
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise DTypeError(f"gradcheck: input {i} is {t.dtype}; finite differences need float64 inputs "
                             "(in float32 rounding error swamps the difference quotient)")
    scalar_f = _projected(f, inputs, seed)
    analytic = analytic_grad(scalar_f, *inputs)
    numerical = numerical_grad(scalar_f, *inputs, eps=eps)
    for i, (a, n) in enumerate(zip(analytic, numerical)):
        if a is None:
            continue
        bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
        if bad.any():
            where = tuple(int(k) for k in np.argwhere(bad)[0])
            name = getattr(inputs[i], "name", None) or f"input {i}"
            raise GradcheckError(f"gradcheck: gradient of {name} (shape {inputs[i].shape}) differs at index {where}: "
                                 f"analytic {a[where]!r}, numerical {n[where]!r} "
                                 f"({int(bad.sum())} of {a.size} elements outside atol={atol}, rtol={rtol})")
    return True
