"""Batching: a DataLoader whose order can be saved and resumed."""


from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import DataError

# ---------------------------------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------------------------------


class DataLoader:
    """Mini-batches ``(xb, yb)`` of numpy arrays, in a new random order every epoch.

    Each ``for xb, yb in loader`` is one epoch. The order comes from the loader's own ``np.random.Generator``
    (seeded by ``seed``), so epoch k's order is fixed by the seed. The last, smaller batch is kept unless
    ``drop_last``. :meth:`state_dict` records the epoch, the next batch and the generator state (plain ints and
    strings, JSON-friendly); after :meth:`load_state_dict` the next iteration resumes that epoch at that batch,
    in the same order, so an interrupted run continues on the same data. Without a load, every new iteration
    starts a new epoch (an abandoned epoch is not resumed).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                 seed: int | None = None, drop_last: bool = False) -> None:
        self.x, self.y = np.asarray(x), np.asarray(y)
        if self.x.ndim == 0 or self.y.ndim == 0:
            raise DataError(f"DataLoader: x and y must be arrays of samples, got shapes {self.x.shape} and "
                            f"{self.y.shape}")
        if len(self.x) != len(self.y):
            raise DataError(f"DataLoader: x has {len(self.x)} samples but y has {len(self.y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise DataError(f"DataLoader: batch_size must be an integer >= 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._epoch = 0  # index of the epoch the next fresh iteration starts
        self._current: dict[str, Any] | None = None  # the epoch in progress: epoch, next batch, rng state at start
        self._resume: dict[str, Any] | None = None  # set by load_state_dict, consumed by the next iteration

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def epoch(self) -> int:
        """Number of epochs started so far (the index the next fresh epoch will have)."""
        return self._epoch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self._resume is not None:
            epoch, start = self._resume["epoch"], self._resume["batch"]
            self._rng.bit_generator.state = self._resume["rng_state"]
            self._resume = None
        else:
            epoch, start = self._epoch, 0
        rng_state = self._rng.bit_generator.state
        n = len(self.x)
        order = self._rng.permutation(n) if self.shuffle else None
        self._epoch = epoch + 1
        self._current = {"epoch": epoch, "batch": start, "rng_state": rng_state}
        current = self._current
        nb = len(self)
        for i in range(start, nb):
            lo, hi = i * self.batch_size, min((i + 1) * self.batch_size, n)
            current["batch"] = i + 1  # updated before yielding: a state saved after using batch i resumes at i+1
            if order is None:
                yield self.x[lo:hi], self.y[lo:hi]
            else:
                idx = order[lo:hi]
                yield self.x[idx], self.y[idx]
        if self._current is current:
            self._current = None

    def state_dict(self) -> dict[str, Any]:
        """Where the data stream is: ``{"epoch", "batch", "rng_state", "n", "batch_size", "drop_last", "shuffle"}``.
        ``batch`` is the next batch of ``epoch`` to yield; ``rng_state`` the generator state that epoch's order
        is drawn from. Plain Python values (JSON-serialisable)."""
        if self._resume is not None:
            pos = dict(self._resume)
        elif self._current is not None and self._current["batch"] < len(self):
            pos = dict(self._current)
        else:
            pos = {"epoch": self._epoch, "batch": 0, "rng_state": self._rng.bit_generator.state}
        return {"epoch": int(pos["epoch"]), "batch": int(pos["batch"]), "rng_state": _plain(pos["rng_state"]),
                "n": len(self.x), "batch_size": self.batch_size, "drop_last": self.drop_last,
                "shuffle": self.shuffle}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Make the next iteration resume where :meth:`state_dict` was taken. Raises :class:`DataError` if the
        state does not fit this loader (another dataset size or batch size) or is malformed."""
        for key in ("epoch", "batch"):
            value = state.get(key) if isinstance(state, Mapping) else None
            if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
                raise DataError(f"DataLoader.load_state_dict: malformed state: {key} must be an integer, "
                                f"got {value!r:.60}")
        try:
            epoch, batch, rng_state = int(state["epoch"]), int(state["batch"]), dict(state["rng_state"])
        except (KeyError, TypeError, ValueError, OverflowError) as e:  # int(inf) overflows
            raise DataError(f"DataLoader.load_state_dict: malformed state ({type(e).__name__}: {e})") from None
        for key, mine in (("n", len(self.x)), ("batch_size", self.batch_size), ("drop_last", self.drop_last),
                          ("shuffle", self.shuffle)):
            if key in state and state[key] != mine:
                raise DataError(f"DataLoader.load_state_dict: state has {key}={state[key]!r}, this loader {mine!r}")
        if not 0 <= epoch < 2**63 or not 0 <= batch <= len(self):
            raise DataError(f"DataLoader.load_state_dict: epoch {epoch} / batch {batch} out of range "
                            f"({len(self)} batches per epoch)")
        probe = np.random.default_rng()
        try:
            probe.bit_generator.state = rng_state  # validate before touching our own generator
        except (TypeError, ValueError, KeyError, OverflowError) as e:  # numpy overflows on ints out of uint64
            raise DataError(f"DataLoader.load_state_dict: bad rng_state ({type(e).__name__}: "
                            f"{' '.join(str(e).split())[:100]})") from None
        self._resume = {"epoch": epoch, "batch": batch, "rng_state": rng_state}
        self._current = None
        self._epoch = epoch


def _plain(obj: Any) -> Any:
    """A deep copy with numpy scalars turned into Python ones, so states survive JSON."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


