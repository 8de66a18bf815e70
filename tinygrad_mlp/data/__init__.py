"""Data: MNIST / Fashion-MNIST (IDX files, found locally or downloaded), an offline synthetic digit set, batching.

* :mod:`.mnist`: :func:`read_idx` parses one IDX file (gzip-compressed or raw) into a numpy array;
  :func:`load_mnist` finds the four standard files (``root``, ``$TINYGRAD_MLP_DATA``, the per-user cache) or
  downloads them into the cache with :func:`download_mnist`, verifying each file's SHA-256 before it lands.
* :mod:`.synthetic`: :func:`synthetic_digits` / :func:`load_synthetic` draw MNIST-like 28x28 digits from
  strokes: no files needed.
* :mod:`.datasets`: :func:`load_dataset` by name (``auto``: MNIST, else the synthetic digits with a notice
  saying so; it returns the notice, it never prints).
* :mod:`.loader`: :class:`DataLoader` yields shuffled mini-batches whose order can be saved and resumed.
* :mod:`.ascii`: :func:`ascii_digit` draws a 28x28 image with characters, for terminals.

Every problem with a data file, or with finding one, raises :class:`~tinygrad_mlp.errors.DataError` (a
``ValueError``) with a one-line message naming the file or folders and what is wrong.
"""

from .ascii import ascii_digit
from .datasets import DATASETS, SYNTHETIC, Dataset, load_dataset
from .loader import DataLoader
from .mnist import (
    CACHE_ENV,
    DATA_ENV,
    IMAGE_SIDE,
    MAX_DOWNLOAD_BYTES,
    MIRRORS,
    MNIST_FILES,
    SHA256,
    PathLike,
    cache_dir,
    checksum_mismatches,
    download_mnist,
    find_mnist,
    load_mnist,
    read_idx,
    search_dirs,
)
from .synthetic import load_synthetic, synthetic_digits

__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "IMAGE_SIDE",
    "MIRRORS",
    "MNIST_FILES",
    "SHA256",
    "PathLike",
    "DATASETS",
    "SYNTHETIC",
    "Dataset",
    "DataLoader",
    "ascii_digit",
    "MAX_DOWNLOAD_BYTES",
    "cache_dir",
    "checksum_mismatches",
    "find_mnist",
    "download_mnist",
    "load_dataset",
    "load_mnist",
    "load_synthetic",
    "read_idx",
    "search_dirs",
    "synthetic_digits",
]
