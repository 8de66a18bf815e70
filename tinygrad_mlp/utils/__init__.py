"""``tm.utils``, PyTorch's module path for :mod:`tinygrad_mlp.utils.data` (datasets and their loader)."""

from . import data

__all__ = ["data"]
