"""What the optimizer tests share: a few parameters, gradients for several steps, the loop that steps an
optimizer through them, and the comparison with a reference update written out in numpy."""

from __future__ import annotations

import numpy as np

from tinygrad_mlp import Tensor

SHAPES = [(3, 4), (4,), (2, 2)]


def make_params(seed=0, dtype=np.float64) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


def make_grads(steps=5, seed=1, scale=1.0) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) * scale for s in SHAPES] for _ in range(steps)]


def run(opt, params, grads) -> None:
    """One ``opt.step()`` per entry of ``grads``, each parameter given its gradient first (None: none)."""
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = None if g is None else Tensor(g.copy())
        opt.step()


def assert_matches(params, expected, rtol=1e-12, atol=1e-14) -> None:
    """Each parameter's values equal the reference arrays ``expected`` (to rounding)."""
    assert len(params) == len(expected)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=rtol, atol=atol)
