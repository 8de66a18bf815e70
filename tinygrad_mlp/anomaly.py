"""Find the first operation that produces NaN or infinity.

>>> with detect_anomaly():
...     loss = model(x).log().sum()   # raises AnomalyError at the op that made the first NaN/inf
...     loss.backward()               # ... or at the first backward step that does

Inside ``detect_anomaly()`` every primitive's output (forward) and every
gradient it passes back (backward) is checked for NaN and infinity. The first
one found raises :class:`~tinygrad_mlp.errors.AnomalyError` naming the op, the
file and line of *your* code that created the tensor, and statistics of the
op's inputs. Off by default; when off, the engine pays one ``is None`` test per op.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np

from . import tensor as _tensor
from .errors import AnomalyError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """``file:line`` of the innermost caller outside this package (where the user's code made the op)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _stats(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.size == 0:
        return f"shape {a.shape} (empty)"
    finite = a[np.isfinite(a)]
    bad = f", {np.isnan(a).sum()} nan, {np.isinf(a).sum()} inf" if finite.size != a.size else ""
    if finite.size == 0:
        return f"shape {a.shape}{bad}"
    return (f"shape {a.shape}, min {finite.min():.4g}, max {finite.max():.4g}, "
            f"mean {finite.mean():.4g}, max |x| {np.abs(finite).max():.4g}{bad}")


def _bad(a) -> bool:
    return a is not None and not np.isfinite(np.asarray(a)).all()


def _check(stage: str, fn, parents, values) -> None:
    """The hook the engine calls: after each forward (``values`` = output) and backward (``values`` = input grads)."""
    if stage == "forward":
        fn.origin = _user_frame()
        if _bad(values):
            inputs = "; ".join(f"input {i}: {_stats(p.data)}" for i, p in enumerate(parents))
            raise AnomalyError(f"detect_anomaly: {fn.name} produced {_describe(values)} in its forward, "
                               f"in the tensor created at {fn.origin}; {inputs}")
        return
    for i, g in enumerate(values):
        g = getattr(g, "data", g)
        if _bad(g):
            origin = getattr(fn, "origin", "<created outside detect_anomaly()>")
            inputs = "; ".join(f"input {j}: {_stats(p.data)}" for j, p in enumerate(parents))
            raise AnomalyError(f"detect_anomaly: the backward of {fn.name} produced {_describe(g)} in the gradient "
                               f"for its input {i}, for the tensor created at {origin}; {inputs}")


def _describe(a) -> str:
    a = np.asarray(a)
    return f"{int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} infinite values (of {a.size})"


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Context manager: raise :class:`AnomalyError` at the first op whose forward or backward makes NaN/inf."""
    previous = _tensor._anomaly_hook
    _tensor._anomaly_hook = _check
    try:
        with np.errstate(all="ignore"):  # the check reports it with context; numpy's own warning would only add noise
            yield
    finally:
        _tensor._anomaly_hook = previous
