"""The one seeding story: every random thing takes ``seed=``, else draws from the library's generator.

Everything in the library that draws random numbers (``rand``, ``randn``, weight
initialisations, ``Dropout``, ``nn.init``) accepts ``seed=``: an int (a fresh
``np.random.default_rng(seed)``, so the same int gives the same numbers), or a
``np.random.Generator`` (used and advanced, to share one stream between several
calls). Without ``seed=`` the numbers come from one global generator, which
:func:`manual_seed` resets, so ``manual_seed(0)`` at the top of a script makes
the whole script repeatable, as ``torch.manual_seed`` does.
"""

from __future__ import annotations

import numpy as np

from .errors import ArgumentError

__all__ = ["manual_seed", "generator"]

_global = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the global generator to ``np.random.default_rng(seed)``; returns it."""
    global _global
    _global = generator(seed)
    return _global


def generator(seed: int | np.random.Generator | None = None) -> np.random.Generator:
    """The generator for ``seed``: the global one for None, a new one for an int, ``seed`` itself for a Generator."""
    if seed is None:
        return _global
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"seed must be a non-negative int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))
