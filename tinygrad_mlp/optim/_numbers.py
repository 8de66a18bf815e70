"""The range check of the optimizers' and schedules' numbers (one place for both)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentError


def number(value, what: str, *, low: float = 0.0, low_ok: bool = True, high: float = math.inf,
            high_ok: bool = True) -> float:
    """``value`` as a float inside the given bounds, or an ArgumentError naming ``what``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{what} must be a number, got {value!r}")
    try:
        v = float(value)
    except OverflowError:  # an int with hundreds of digits
        raise ArgumentError(f"{what} must be in [{low}, {high}], got an integer of {len(str(value))} digits") from None
    ok = (v >= low if low_ok else v > low) and (v <= high if high_ok else v < high)
    if not ok:  # NaN fails every comparison, so it lands here too
        lo, hi = ("[" if low_ok else "("), ("]" if high_ok else ")")
        raise ArgumentError(f"{what} must be in {lo}{low}, {high}{hi}, got {value!r}")
    return v
