"""Grad modes by PyTorch's names: the engine's ``no_grad`` and ``enable_grad``, also as bare decorators
(``@tm.no_grad`` without parentheses), and ``inference_mode``. Kept out of the engine (its line budget) and out
of :mod:`tinygrad_mlp.autograd` (``import tinygrad_mlp`` stays light)."""

from __future__ import annotations

import numpy as np

from . import engine
from .errors import ArgumentError

__all__ = ["no_grad", "enable_grad", "inference_mode"]


def _decorated(mode, func):
    """``mode`` (a grad-mode block) wrapped around ``func``: the bare ``@no_grad`` form, without parentheses."""
    if not callable(func):
        raise ArgumentError(f"{type(mode).__name__}: expected a function to decorate, got {type(func).__name__}")
    return mode(func)


class no_grad(engine.no_grad):
    """The engine's ``no_grad`` (this thread records no graph in the block), also as a bare decorator:
    ``@tm.no_grad`` as well as ``@tm.no_grad()`` and ``with tm.no_grad():``."""

    def __new__(cls, func=None):
        mode = super().__new__(cls)
        return mode if func is None else _decorated(mode, func)


class enable_grad(engine.enable_grad):
    """The engine's ``enable_grad`` (graphs recorded again, even inside ``no_grad``), also as a bare decorator."""

    def __new__(cls, func=None):
        mode = super().__new__(cls)
        return mode if func is None else _decorated(mode, func)


class inference_mode(engine.no_grad):
    """PyTorch's ``inference_mode(mode=True)``: :class:`no_grad` here (there are no inference-only tensors), a
    context manager or a decorator, with or without parentheses; ``inference_mode(False)`` records graphs, even
    inside ``no_grad`` (:class:`enable_grad`), as PyTorch's does."""

    def __new__(cls, mode=True):
        if callable(mode):
            return _decorated(super().__new__(cls), mode)
        if not isinstance(mode, (bool, np.bool_)):
            raise ArgumentError(f"inference_mode: mode must be True or False, got {mode!r}")
        return super().__new__(cls) if mode else enable_grad()

    def __init__(self, mode: bool = True) -> None:
        pass  # (mode was read by __new__)
