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


def _synthetic(params: dict, test_only: bool) -> tuple:
    if not test_only:
        return synthetic.load_synthetic(**params)
    # train and test are independent streams: drawing one training image leaves the test set as it was
    x_train, y_train, x_test, y_test = synthetic.load_synthetic(**dict(params, n_train=1))
    return x_train[:0], y_train[:0], x_test, y_test


def _mnist(kind: str, data_dir, download: bool) -> Dataset:
    """MNIST or Fashion-MNIST, with a notice when a local gzip file is not the published one."""
    folder = mnist.find_mnist(data_dir, kind)  # a configured location without the files raises here
    arrays = mnist.load_mnist(root=data_dir, download=download, kind=kind)
    notice = None
    if folder is not None:  # a download is checked before it lands; local files are checked here
        bad = mnist.checksum_mismatches(folder, kind)
        if bad:
            notice = (f"{', '.join(str(folder / n) for n in bad)}: SHA-256 differs from the published {kind} "
                      "file(s), a modified or damaged copy; results may not be comparable with others'")
    return Dataset(arrays, kind, None, notice)


def load_dataset(name: str, data_dir=None, synthetic_params: dict | None = None, download: bool = True, *,
                 test_only: bool = False) -> Dataset:
    """The dataset ``name`` (one of :data:`DATASETS`).

    ``auto`` is MNIST when it can be found (``data_dir``, ``$TINYGRAD_MLP_DATA``, the cache) or downloaded,
    and otherwise (the files are absent: not when one is damaged, which is an error naming it) the synthetic
    digits, with a notice naming the folders searched and why the download failed. ``mnist`` and
    ``fashion-mnist`` never fall back: their absence is a :class:`~tinygrad_mlp.errors.DataNotFoundError`. A
    configured location (``data_dir``, else ``$TINYGRAD_MLP_DATA``) that lacks the files is a
    :class:`~tinygrad_mlp.errors.DataError` for ``auto`` too (see :func:`~tinygrad_mlp.data.find_mnist`). Local
    gzip files whose SHA-256 differs from the published ones are used, with a notice saying so. ``test_only``:
    the training arrays may come back empty (the synthetic training set is then not drawn).
    """
    params = dict(SYNTHETIC, **(synthetic_params or {}))
    if name == "synthetic":
        return Dataset(_synthetic(params, test_only), "synthetic", params, None)
    if name in ("mnist", "fashion-mnist"):
        return _mnist(name, data_dir, download)
    if name != "auto":
        raise ArgumentError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    try:
        return _mnist("mnist", data_dir, download)
    except DataNotFoundError as e:  # absent: fall back, loudly; a damaged file is an error (not caught here)
        reason = " ".join(str(e).split()).split(" To supply the files by hand")[0].rstrip(". ")
        notice = (f"MNIST is not available ({reason}); using the SYNTHETIC digits instead, so the accuracies "
                  f"below are NOT MNIST results. Put the MNIST files in a folder and set {mnist.DATA_ENV} or pass "
                  "--data-dir, or use --dataset mnist to require them.")
        return Dataset(_synthetic(params, test_only), "synthetic", params, notice)
