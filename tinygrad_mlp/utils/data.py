"""PyTorch's ``torch.utils.data``: ``Dataset``, ``TensorDataset``, ``Subset``, ``random_split``, ``default_collate``
and a ``DataLoader`` with PyTorch's signature and defaults (``batch_size=1``, ``shuffle=False``, ``.dataset``).

Batches are collated as PyTorch's ``default_collate`` does (see :func:`default_collate`); a
:class:`TensorDataset` is batched by indexing each of its arrays once. The training loop's own loader, whose
order can be saved and resumed, is :class:`tinygrad_mlp.data.DataLoader` (arrays in, shuffled by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ArgumentError, DataError, IndexingError
from ..random import generator as rng_for  # (random_split and DataLoader have a parameter named generator)
from ..tensor_core import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "default_collate", "DataLoader"]


class Dataset:
    """A sized collection of samples: subclasses define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _rows(x, what: str) -> Tensor | np.ndarray:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{what}: expected Tensors or arrays of numbers, got dtype {arr.dtype}")
    return arr


class TensorDataset(Dataset):
    """Samples ``(t0[i], t1[i], ...)`` of Tensors or arrays sharing their first axis; ``tensors`` holds them."""

    def __init__(self, *tensors):
        if not tensors:
            raise DataError("TensorDataset: give at least one Tensor or array")
        self.tensors = tuple(_rows(t, "TensorDataset") for t in tensors)
        sizes = {t.shape[0] if t.ndim else None for t in self.tensors}
        if None in sizes or len(sizes) != 1:
            raise DataError(f"TensorDataset: every tensor needs the same first axis, got shapes "
                            f"{[t.shape for t in self.tensors]}")

    def __getitem__(self, index):
        return tuple(_take(t, index) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def _take(t: Tensor | np.ndarray, index) -> Tensor | np.ndarray:
    """Rows ``index`` (an int or an index array) of a Tensor (a constant Tensor of them) or of an array."""
    try:
        return Tensor.wrap(t.data[index]) if isinstance(t, Tensor) else t[index]
    except IndexError:
        raise IndexingError(f"dataset: index {index!r} out of range for {t.shape[0]} samples") from None


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given ``lengths`` (counts summing to
    ``len(dataset)``, or fractions summing to 1, the remainder handed out one by one as PyTorch does).
    ``generator``: a seed or a numpy Generator (default: the global generator, see ``tm.manual_seed``)."""
    n = len(dataset)
    if lengths and all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-9:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if any(c < 0 for c in counts) or sum(counts) != n:
        raise DataError(f"random_split: the lengths {list(lengths)} do not add up to the dataset's {n} samples")
    order = rng_for(generator).permutation(n)
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, order[start:start + c].tolist()))
        start += c
    return out


def default_collate(batch: Sequence[Any]) -> Any:
    """Samples -> one batch, as PyTorch's ``default_collate``: tuples, lists and dicts are collated field by field;
    Tensors and float arrays are stacked into one Tensor (a new first axis, their dtype), Python floats into a
    float64 Tensor (PyTorch's choice), integers and integer arrays (class labels) into an int64 Tensor; anything
    else is returned as the list it came in."""
    first = batch[0]
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        try:
            fields = [default_collate(list(field)) for field in zip(*batch, strict=True)]
        except ValueError:
            raise DataError("default_collate: every sample must have the same number of fields") from None
        return tuple(fields) if isinstance(first, tuple) else fields
    try:
        if isinstance(first, Tensor):
            return _batch(np.stack([s.data for s in batch]))
        if isinstance(first, (bool, int, float, np.generic, np.ndarray)):
            return _batch(np.stack([np.asarray(s) for s in batch]) if isinstance(first, np.ndarray) else
                          np.asarray(batch, dtype=np.float64 if isinstance(first, float) else None))
    except ValueError as e:
        raise DataError(f"default_collate: samples of different shapes cannot be stacked ({e})") from None
    return list(batch)


def _batch(rows: np.ndarray) -> Tensor:
    """A batch as default_collate gives it: a Tensor of floats (their dtype), or of int64 for integers (labels)."""
    if rows.dtype.kind == "f":
        return Tensor.wrap(rows)
    if rows.dtype.kind in "biu":
        return Tensor.wrap(rows.astype(np.int64))
    raise DataError(f"default_collate: cannot batch samples of dtype {rows.dtype}")


def _positive_int(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"DataLoader: {what} must be an integer >= 1, got {value!r}")
    return int(value)


class DataLoader:
    """Batches of ``dataset`` (anything with ``__getitem__`` and ``__len__``), PyTorch's way.

    ``DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, num_workers=0, collate_fn=None,
    drop_last=False, generator=None)``: each ``for batch in loader`` is one epoch, in order unless ``shuffle``
    (a new order every epoch, drawn from ``generator``: a seed or a numpy Generator; by default the global
    generator, so ``tm.manual_seed`` repeats it, as ``torch.manual_seed`` does). ``sampler`` is an iterable of
    indices giving the order instead. ``batch_size=None`` yields single samples, uncollated. ``num_workers``,
    ``pin_memory`` and the other process options are accepted and change nothing: batches are made in this
    process, with the same result.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool = False,
                 sampler: Iterable[int] | None = None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn=None, generator=None, **process_options):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise DataError(f"DataLoader: the dataset must have __getitem__ and __len__, got {type(dataset).__name__}"
                            " (for arrays x, y use TensorDataset(x, y))")
        if batch_sampler is not None:
            raise ArgumentError("DataLoader: batch_sampler is not supported; give batch_size (and sampler)")
        if sampler is not None and shuffle:
            raise ArgumentError("DataLoader: sampler and shuffle=True exclude each other (as in PyTorch)")
        unknown = set(process_options) - {"prefetch_factor", "persistent_workers", "pin_memory_device",
                                          "multiprocessing_context", "in_order"}
        if unknown:
            raise ArgumentError(f"DataLoader: unexpected arguments {sorted(unknown)}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ArgumentError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else _positive_int(batch_size, "batch_size")
        self.shuffle, self.drop_last, self.sampler = bool(shuffle), bool(drop_last), sampler
        self.num_workers = num_workers
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.generator = generator

    def _order(self) -> np.ndarray:
        if self.sampler is not None:
            return np.asarray(list(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        return rng_for(self.generator).permutation(n) if self.shuffle else np.arange(n)

    def __len__(self) -> int:
        """Batches per epoch (samples when ``batch_size`` is None)."""
        n = len(self.sampler) if isinstance(self.sampler, Sequence) else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        size = self.batch_size
        stop = len(order) - len(order) % size if self.drop_last else len(order)
        tensors = self.dataset.tensors if type(self.dataset) is TensorDataset and self.collate_fn is default_collate \
            else None
        for lo in range(0, stop, size):
            idx = order[lo:lo + size]
            if tensors is not None:  # one indexing per array, not one per sample; the same batches
                yield tuple(_batch(t.data[idx] if isinstance(t, Tensor) else t[idx]) for t in tensors)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])
