"""A dataset by name: MNIST, Fashion-MNIST, the synthetic digits, or ``auto`` (MNIST, else the synthetic ones).

:func:`load_dataset` returns the arrays with the name of what was used and, when ``auto`` fell back to the
synthetic digits, a notice saying so: the caller shows it (the command line prints it at the start and
repeats it in its final line). Nothing here prints.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ArgumentError, DataNotFoundError
from . import mnist, synthetic

__all__ = ["DATASETS", "SYNTHETIC", "Dataset", "load_dataset"]

DATASETS = ("auto", "mnist", "fashion-mnist", "synthetic")
SYNTHETIC = {"n_train": 10000, "n_test": 2000, "seed": 0}  # what "synthetic" draws (load_synthetic's defaults)


class Dataset(NamedTuple):
    """``arrays``: ``(x_train, y_train, x_test, y_test)``; ``name``: the dataset actually used; ``synthetic``:
    the synthetic draw's parameters (None for MNIST); ``notice``: a line the user must see (a fallback), or None."""

    arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    name: str
    synthetic: dict | None
    notice: str | None


def load_dataset(name: str, data_dir=None, synthetic_params: dict | None = None, download: bool = True) -> Dataset:
    """The dataset ``name`` (one of :data:`DATASETS`).

    ``auto`` is MNIST when it can be found (``data_dir``, ``$TINYGRAD_MLP_DATA``, the cache) or downloaded,
    and otherwise (the files are absent: not when one is damaged, which is an error naming it) the synthetic
    digits, with a notice naming the folders searched and why the download failed. ``mnist`` and
    ``fashion-mnist`` never fall back: their absence is a :class:`~tinygrad_mlp.errors.DataNotFoundError`.
    """
    params = dict(SYNTHETIC, **(synthetic_params or {}))
    if name == "synthetic":
        return Dataset(synthetic.load_synthetic(**params), "synthetic", params, None)
    if name in ("mnist", "fashion-mnist"):
        return Dataset(mnist.load_mnist(root=data_dir, download=download, kind=name), name, None, None)
    if name != "auto":
        raise ArgumentError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    try:
        return Dataset(mnist.load_mnist(root=data_dir, download=download, kind="mnist"), "mnist", None, None)
    except DataNotFoundError as e:  # absent: fall back, loudly; a damaged file is an error (not caught here)
        reason = " ".join(str(e).split()).split(" To supply the files by hand")[0].rstrip(". ")
        notice = (f"MNIST is not available ({reason}); using the SYNTHETIC digits instead, so the accuracies "
                  f"below are NOT MNIST results. Put the MNIST files in a folder and set {mnist.DATA_ENV} or pass "
                  "--data-dir, or use --dataset mnist to require them.")
        return Dataset(synthetic.load_synthetic(**params), "synthetic", params, notice)
