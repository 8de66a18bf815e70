"""The checks every validator of a file's JSON shares (checkpoint metadata, a run's settings, a training state).

JSON read from a file can hold anything: bools where numbers belong (``True`` is an ``int`` in Python),
integers of thousands of digits that overflow a float, NaN. These say what a value is, strictly; each
validator says what it wanted in its own one-line error, showing the value with :func:`short`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["short", "is_int", "is_number", "one_of"]


def short(value: object) -> str:
    """``repr(value)``, cut to 60 characters (a hostile file's values can be megabytes long)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_int(value: object, lowest: int | None = None, highest: int | None = None) -> bool:
    """An ``int`` (not a bool) in ``[lowest, highest]`` (each bound optional)."""
    return (isinstance(value, int) and not isinstance(value, bool) and (lowest is None or value >= lowest)
            and (highest is None or value <= highest))


def is_number(value: object, accept: Callable[[float], bool] | None = None) -> bool:
    """An ``int`` or ``float`` (not a bool) that is a finite float (a huge int overflows: no), for which
    ``accept`` (when given) holds."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and (accept is None or accept(number))


def one_of(value: object, choices) -> bool:
    """A string among ``choices``."""
    return isinstance(value, str) and value in choices
