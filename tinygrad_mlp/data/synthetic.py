"""Synthetic digits: MNIST-like 28x28 images drawn from strokes, so nothing needs a file or a network."""


from __future__ import annotations

import math

import numpy as np

from .._guard import check_memory
from ..errors import ArgumentError, DataError
from .mnist import IMAGE_SIDE

# ---------------------------------------------------------------------------------------------------------------------
# Synthetic digits: drawn from strokes, no files needed
# ---------------------------------------------------------------------------------------------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> list[tuple[float, float]]:
    """Points on an elliptical arc in the unit box (y grows downwards; angles in degrees, 90 = top,
    counter-clockwise as seen on screen)."""
    t = np.radians(np.linspace(a0, a1, n + 1))
    return [(cx + rx * math.cos(a), cy - ry * math.sin(a)) for a in t]


# Each digit: a list of (polyline, probability the stroke is drawn). Coordinates in a unit box, x right, y down,
# the digit spanning y from 0 to 1 (the box maps to ~20x20 pixels, like MNIST's size normalisation).
_DIGIT_STROKES: list[list[tuple[list[tuple[float, float]], float]]] = [
    # 0: an ellipse
    [(_arc(0.5, 0.5, 0.3, 0.5, 90, 450, 12), 1.0)],
    # 1: a vertical bar, sometimes with a flag at the top
    [([(0.52, 0.0), (0.48, 1.0)], 1.0), ([(0.32, 0.2), (0.52, 0.0)], 0.45)],
    # 2: a hook over the top, a diagonal down to the left, a base bar
    [([*_arc(0.5, 0.28, 0.3, 0.27, 165, -35, 6), (0.17, 1.0), (0.85, 1.0)], 1.0)],
    # 3: two bumps opening to the left
    [(_arc(0.47, 0.25, 0.28, 0.25, 150, -90, 6), 1.0), (_arc(0.47, 0.74, 0.32, 0.26, 90, -150, 6), 1.0)],
    # 4: a diagonal to the left, a bar across, a stem
    [([(0.6, 0.0), (0.12, 0.66), (0.88, 0.66)], 1.0), ([(0.66, 0.12), (0.64, 1.0)], 1.0)],
    # 5: a top bar, a short stem, a bowl opening to the left
    [([(0.82, 0.0), (0.3, 0.0), (0.25, 0.44), *_arc(0.48, 0.7, 0.33, 0.3, 130, -150, 7)], 1.0)],
    # 6: a curve down from the top right into a loop at the bottom
    [([(0.75, 0.02), (0.45, 0.17), (0.26, 0.42), *_arc(0.5, 0.72, 0.3, 0.28, 180, -180, 10)], 1.0)],
    # 7: a top bar and a diagonal, sometimes crossed
    [([(0.13, 0.0), (0.87, 0.0), (0.42, 1.0)], 1.0), ([(0.4, 0.52), (0.78, 0.52)], 0.2)],
    # 8: two loops
    [(_arc(0.5, 0.25, 0.25, 0.25, -90, 270, 10), 1.0), (_arc(0.5, 0.74, 0.3, 0.26, 90, 450, 10), 1.0)],
    # 9: a loop at the top and a stem
    [(_arc(0.48, 0.28, 0.28, 0.28, 0, 360, 10), 1.0), ([(0.76, 0.28), (0.68, 1.0)], 1.0)],
]


def _digit_geometry() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per digit: its points (P, 2), each segment's two point indices (S, 2), each segment's stroke index (S,),
    and each stroke's drawing probability."""
    out = []
    for strokes in _DIGIT_STROKES:
        points: list[tuple[float, float]] = []
        segs: list[tuple[int, int]] = []
        seg_stroke: list[int] = []
        probs: list[float] = []
        for k, (line, p) in enumerate(strokes):
            start = len(points)
            points += line
            segs += [(start + i, start + i + 1) for i in range(len(line) - 1)]
            seg_stroke += [k] * (len(line) - 1)
            probs.append(p)
        out.append((np.array(points, np.float32), np.array(segs), np.array(seg_stroke), np.array(probs)))
    return out


_GEOMETRY = _digit_geometry()
_PIXELS = np.arange(IMAGE_SIDE, dtype=np.float32)


def _render_class(points: np.ndarray, segs: np.ndarray, seg_on: np.ndarray, half_width: np.ndarray,
                  chunk: int = 256) -> np.ndarray:
    """Anti-aliased thick polylines: ``points`` (n, P, 2) in pixel coordinates, ``segs`` (S, 2) point indices,
    ``seg_on`` (n, S) which segments are drawn, ``half_width`` (n,). Returns ink in [0, 1] of shape (n, 28, 28)."""
    n = points.shape[0]
    out = np.empty((n, IMAGE_SIDE, IMAGE_SIDE), np.float32)
    px = _PIXELS[None, None, None, :]  # columns
    py = _PIXELS[None, None, :, None]  # rows
    for lo in range(0, n, chunk):  # chunks keep the (m, S, 28, 28) temporaries small
        p = points[lo:lo + chunk]
        a, b = p[:, segs[:, 0]], p[:, segs[:, 1]]  # (m, S, 2)
        d = b - a
        inv_len2 = 1.0 / np.maximum((d * d).sum(-1), 1e-6)
        ax, ay = a[..., 0, None, None], a[..., 1, None, None]
        dx, dy = d[..., 0, None, None], d[..., 1, None, None]
        # distance from every pixel centre to every segment: project onto the segment, clamp to its ends
        wx = px - ax  # (m, S, 1, 28)
        wy = py - ay  # (m, S, 28, 1)
        t = wx * dx + wy * dy
        t *= inv_len2[..., None, None]
        np.clip(t, 0.0, 1.0, out=t)
        ex = wx - t * dx
        ey = wy - t * dy
        ex *= ex
        ey *= ey
        ex += ey
        # segments of strokes left out this time count as infinitely far away
        ex[~seg_on[lo:lo + chunk]] = np.inf
        dist = np.sqrt(ex.min(axis=1))  # (m, 28, 28)
        # ink falls off linearly over about one pixel at the stroke's edge (anti-aliasing)
        out[lo:lo + chunk] = np.clip(half_width[lo:lo + chunk, None, None] + 0.5 - dist, 0.0, 1.0)
    return out


def synthetic_digits(n: int, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` MNIST-like handwritten-looking digits, with no files or network needed.

    Each digit is a few strokes (lines and arcs) rendered as anti-aliased thick lines, with random stroke width,
    slant, rotation, scale, aspect, shift, a gentle warp, and a little pixel noise: white ink on black, the digit
    in about a 20x20 box centred in 28x28. Labels are drawn uniformly at random.

    Returns ``(x, y)``: ``x`` float32 in [0, 1] of shape ``(n, 784)`` (28x28 rows flattened), ``y`` int64 of
    shape ``(n,)`` with values 0..9. The same ``seed`` always gives the same images.
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ArgumentError(f"synthetic_digits: n must be an int >= 0, got {n!r}")
    n = int(n)
    # the images (float32) and about as much again in per-image drawing state and a chunk's temporaries
    check_memory(2 * n * IMAGE_SIDE * IMAGE_SIDE * 4, f"synthetic_digits: {n} images", DataError)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    # per-image affine parameters (all drawn up front so the result does not depend on rendering order)
    aspect = rng.uniform(0.8, 1.15, n)  # width / height
    slant = rng.normal(0.08, 0.18, n)  # shear: positive leans the top to the right, as most handwriting does
    angle = np.radians(rng.normal(0.0, 7.0, n))
    half_width = rng.uniform(0.7, 1.6, n).astype(np.float32)
    # like MNIST's normalisation: the larger side of the ink fits a ~20 px box (some digits drawn a bit smaller)
    extent = 20.0 - 2 * half_width - rng.uniform(0.0, 3.0, n)
    shift = rng.normal(0.0, 0.8, (n, 2))
    gain = rng.uniform(0.85, 1.0, n).astype(np.float32)
    warp_amp = rng.normal(0.0, 0.04, (n, 2))
    warp_phase = rng.uniform(0.0, 2 * np.pi, (n, 2))

    cos, sin = np.cos(angle), np.sin(angle)
    # M = R(angle) @ Shear(slant) @ diag(aspect, 1), applied to (u - 0.5); rows are output x, y
    m00 = cos * aspect
    m01 = cos * -slant - sin
    m10 = sin * aspect
    m11 = sin * -slant + cos

    x = np.empty((n, IMAGE_SIDE, IMAGE_SIDE), np.float32)
    for digit, (pts, segs, seg_stroke, probs) in enumerate(_GEOMETRY):
        idx = np.flatnonzero(y == digit)
        if idx.size == 0:
            continue
        k = idx.size
        u = np.broadcast_to(pts, (k, *pts.shape)).astype(np.float64)  # (k, P, 2)
        # a smooth warp (one sine wave across each axis) plus a slight wobble of every control point
        wa, wp = warp_amp[idx], warp_phase[idx]
        u = u + np.stack([wa[:, None, 0] * np.sin(2 * np.pi * u[..., 1] + wp[:, None, 0]),
                          wa[:, None, 1] * np.sin(2 * np.pi * u[..., 0] + wp[:, None, 1])], axis=-1)
        u = u + rng.normal(0.0, 0.015, u.shape)
        cu, cv = u[..., 0] - 0.5, u[..., 1] - 0.5
        p = np.stack([m00[idx, None] * cu + m01[idx, None] * cv, m10[idx, None] * cu + m11[idx, None] * cv], -1)
        # scale the stroke centre-lines' bounding box to this image's extent, then centre it (plus a small shift
        # that never pushes ink into the outer two pixels)
        lo, hi = p.min(axis=1), p.max(axis=1)  # (k, 2)
        p *= (extent[idx] / (hi - lo).max(axis=1))[:, None, None]
        lo, hi = p.min(axis=1), p.max(axis=1)
        slack = np.maximum((23.0 - 2 * half_width[idx, None] - (hi - lo)) / 2, 0.0)  # ink stays in rows 2..25
        p += (13.5 + np.clip(shift[idx], -slack, slack) - (lo + hi) / 2)[:, None, :]
        stroke_on = rng.random((k, probs.size)) < probs
        x[idx] = _render_class(p.astype(np.float32), segs, stroke_on[:, seg_stroke], half_width[idx])
    x *= gain[:, None, None]
    x += rng.normal(0.0, 0.03, x.shape).astype(np.float32) * (x > 0)  # noise on the ink only: background stays 0
    np.clip(x, 0.0, 1.0, out=x)
    return x.reshape(n, IMAGE_SIDE * IMAGE_SIDE), y


def load_synthetic(n_train: int = 10000, n_test: int = 2000, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic stand-in for :func:`load_mnist`: ``(x_train, y_train, x_test, y_test)`` with the same dtypes and
    layout (``x`` float32 ``(N, 784)`` in [0, 1], ``y`` int64 ``(N,)``). Train and test use independent random
    streams derived from ``seed``."""
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    x_train, y_train = synthetic_digits(n_train, train_seed)
    x_test, y_test = synthetic_digits(n_test, test_seed)
    return x_train, y_train, x_test, y_test


