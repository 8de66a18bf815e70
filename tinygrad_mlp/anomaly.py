"""Find the first operation that produces NaN or infinity.

>>> with detect_anomaly():
...     loss = model(x).log().sum()   # raises AnomalyError at the op that made the first NaN/inf
...     loss.backward()               # ... or at the first backward step that does

Inside ``detect_anomaly()`` every primitive's output (forward) and every
gradient it passes back (backward) is checked for NaN and infinity. The first
one found raises :class:`~tinygrad_mlp.errors.AnomalyError` naming the op, the
file and line of *your* code that created the tensor, and statistics of the
op's inputs. Off by default. It is a :class:`~tinygrad_mlp.engine.Listener`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import weakref
from collections.abc import Iterator
from types import FrameType

import numpy as np

from .engine import Listener, listen
from .errors import AnomalyError
from .tensor_core import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """``file:line`` of the innermost caller outside this package (where the user's code made the op)."""
    frame: FrameType | None = sys._getframe(1)
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


class _AnomalyCheck(Listener):
    """Checks every op's output (forward) and every gradient it passes back (backward) for NaN and infinity."""

    def on_forward(self, rule, inputs, out) -> None:
        origin = _user_frame()
        key = id(out)  # (not a WeakKeyDictionary: Tensor's == is elementwise) the entry goes when the tensor does
        _ORIGINS[key] = (weakref.ref(out, lambda _: _ORIGINS.pop(key, None)), origin)
        if _bad(out.data):
            stats = "; ".join(f"input {i}: {_stats(x.data)}" for i, x in enumerate(inputs))
            raise AnomalyError(f"detect_anomaly: {rule.name} produced {_nonfinite_counts(out.data)} in its forward, "
                               f"in the tensor created at {origin}; {stats}")

    def on_backward(self, out, rule, inputs, grad, input_grads, leaf_grads) -> None:
        for i, g in enumerate(input_grads):
            g = g.data if isinstance(g, Tensor) else g
            if _bad(g):
                entry = _ORIGINS.get(id(out))
                origin = entry[1] if entry is not None and entry[0]() is out else "<created outside detect_anomaly()>"
                stats = "; ".join(f"input {j}: {_stats(x.data)}" for j, x in enumerate(inputs))
                raise AnomalyError(f"detect_anomaly: the backward of {rule.name} produced {_nonfinite_counts(g)} in "
                                   f"the gradient for its input {i}, for the tensor created at {origin}; {stats}")


# where each tensor made under detect_anomaly() was created: id(tensor) -> (weak reference, "file:line")
_ORIGINS: dict[int, tuple[weakref.ref, str]] = {}


def _nonfinite_counts(a) -> str:
    a = np.asarray(a)
    return f"{int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} infinite values (of {a.size})"


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Context manager: raise :class:`AnomalyError` at the first op whose forward or backward makes NaN/inf."""
    with listen(_AnomalyCheck()), np.errstate(all="ignore"):
        # numpy's own warning would only add noise: the check reports it with context
        yield
