"""A drawn digit prepared the way MNIST's digits were: the ink's bounding box scaled to fit a 20x20 box (aspect
ratio kept, anti-aliased), then placed in the 28x28 field so that its centre of mass is the field's centre.

LeCun, Cortes and Burges describe MNIST so: "normalized to fit in a 20x20 pixel box while preserving their aspect
ratio ... centered in a 28x28 image by computing the center of mass of the pixels, and translating the image so as
to position this point at the center of the 28x28 field". A digit drawn large in a corner, or small, is otherwise
a picture the network never saw, and it misreads it.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError

__all__ = ["BOX", "SIDE", "prepare_like_mnist", "resample_matrix"]

SIDE = 28  # the field
BOX = 20  # the box the ink is scaled to fit


def resample_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in): row i averages the input cells that output cell i covers, by the length of their overlap.

    Stretching ``n_in`` cells over ``n_out``, output cell i spans ``[i, i+1) * n_in / n_out`` in input units; each
    row sums to 1, so a constant stays that constant (area averaging when shrinking, nearest-cell when enlarging).
    """
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in (n_out, n_in)):
        raise ShapeError(f"resample_matrix: need two sizes of at least 1, got {n_out!r} and {n_in!r}")
    scale = n_in / n_out
    lo = np.arange(n_out)[:, None] * scale
    hi = lo + scale
    cells = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, cells + 1) - np.maximum(lo, cells), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def prepare_like_mnist(image) -> np.ndarray:
    """A 2-D ink image (values in [0, 1], any size) as MNIST would have it: float32 (28, 28) in [0, 1].

    The bounding box of the pixels above 0 is scaled so that its longer side is 20 pixels, put in the 28x28 field,
    and shifted by whole pixels so that its centre of mass lands as near as possible to the field's centre (13.5,
    13.5 in pixel indices), never pushing ink out of the field. An image without ink comes back as zeros.
    """
    try:
        a = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError):
        raise ShapeError(f"prepare_like_mnist: need a 2-D array of numbers, got {type(image).__name__}") from None
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ShapeError(f"prepare_like_mnist: need a 2-D image, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ShapeError("prepare_like_mnist: the image holds NaN or infinity")
    a = np.clip(a, 0.0, 1.0)
    rows, cols = np.nonzero(a > 0)
    out = np.zeros((SIDE, SIDE), dtype=np.float64)
    if rows.size == 0:
        return out.astype(np.float32)
    crop = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    box = resample_matrix(nh, h) @ crop @ resample_matrix(nw, w).T
    top, left = (SIDE - nh) // 2, (SIDE - nw) // 2
    out[top:top + nh, left:left + nw] = box
    mass = out.sum()
    centre_r = (out.sum(axis=1) @ np.arange(SIDE)) / mass
    centre_c = (out.sum(axis=0) @ np.arange(SIDE)) / mass
    centre = (SIDE - 1) / 2
    # whole-pixel shifts, kept so that the box stays inside the field
    dr = int(np.clip(round(centre - centre_r), -top, SIDE - nh - top))
    dc = int(np.clip(round(centre - centre_c), -left, SIDE - nw - left))
    out = np.roll(out, (dr, dc), axis=(0, 1))
    return np.clip(out, 0.0, 1.0).astype(np.float32)
