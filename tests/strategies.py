"""Hypothesis strategies shared by the core's tests: shapes, broadcastable shape pairs, and float64 arrays kept
inside each op's domain.

Every op test draws its inputs from here, so the domain rules live in one place:

* ``values``: any real input, bounded (default ``[-3, 3]``) so that ``exp``/``tanh``/``sigmoid`` neither
  overflow nor saturate and finite differences stay accurate;
* ``positive``: ``[0.1, 3]``, for ``log``, ``sqrt``, the base of ``**`` and denominators;
* ``away_from_zero``: ``0.05 <= |x| <= 3``, for the kinks of ``relu`` and ``abs`` (central differences with
  ``eps = 1e-6`` never straddle a kink);
* ``distinct``: values at least ``0.075`` apart (a shuffled ladder plus a small jitter), so ``max``/``min``
  over axes have no ties; ``separated_pair``: two broadcastable arrays whose elements never come within
  ``0.075`` of each other, for ``maximum``/``minimum``;
* ``clip_cases``: an array and bounds ``lo < hi`` with every element at least ``0.05`` from both.

Shapes have 0 to 3 axes of size 1 to 4 (at most 64 elements: a gradcheck stays cheap).
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_DIMS = 3
MAX_SIDE = 4
KINK_MARGIN = 0.05  # distance kept from the kink of relu/abs and from the bounds of clip
SPACING = 0.1  # ladder step of `distinct` and `separated_pair`; the jitter eats at most a quarter of it


# ---------------------------------------------------------------- shapes


def shapes(min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 1, max_side: int = MAX_SIDE):
    """Array shapes with ``min_dims..max_dims`` axes, each of size ``min_side..max_side``."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@st.composite
def broadcast_pairs(draw, min_dims: int = 0, max_dims: int = MAX_DIMS):
    """Two shapes that broadcast together, as numpy does.

    A full shape is drawn; each operand drops some of its leading axes (so ranks differ, down to a scalar)
    and replaces some of the remaining sizes by 1 (so size-1 axes are stretched). Both operands may
    stretch, e.g. ``(3, 1)`` with ``(1, 4)``.
    """
    full = draw(shapes(min_dims, max_dims))

    def operand():
        kept = full[draw(st.integers(0, len(full))):]
        ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        return tuple(1 if one else n for n, one in zip(kept, ones))

    return operand(), operand()


# Hand-picked pairs that every broadcasting test also runs (hypothesis may or may not find them).
KEY_BROADCAST_PAIRS = [
    ((3, 1), (1, 4)),
    ((4,), (2, 3, 4)),
    ((), (3, 4)),
    ((2, 1, 4), (3, 1)),
    ((1,), (2, 3)),
    ((2, 3), (2, 3)),
]


@st.composite
def expand_cases(draw):
    """``(shape, target)`` where ``shape`` broadcasts to ``target`` (fewer axes and/or size-1 axes)."""
    small, full = draw(broadcast_pairs())
    return small, np.broadcast_shapes(small, full)


@st.composite
def matmul_shape_pairs(draw):
    """Operand shapes for ``@``: 1-D (vector), 2-D and 3-D (batched, batch sizes possibly 1 to broadcast)."""
    n, k, m, batch = (draw(st.integers(1, MAX_SIDE)) for _ in range(4))
    rank_a, rank_b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    a = {1: (k,), 2: (n, k), 3: (draw(st.sampled_from([batch, 1])), n, k)}[rank_a]
    b = {1: (k,), 2: (k, m), 3: (draw(st.sampled_from([batch, 1])), k, m)}[rank_b]
    return a, b


@st.composite
def reduction_axes(draw, ndim: int):
    """An ``axis`` argument valid for ``ndim`` axes: None, an int, or a tuple of distinct ints (negatives too)."""
    kinds = ["none", "int", "tuple"] if ndim else ["none"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@st.composite
def reshape_targets(draw, shape: tuple[int, ...]):
    """A shape with as many elements as ``shape`` (up to 3 axes, maybe with one -1)."""
    size = int(np.prod(shape))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    candidates = {(size,), ()} if size == 1 else {(size,)}
    for a, b in itertools.product(divisors, divisors):
        if size % (a * b) == 0:
            candidates.update({(a, size // a), (a, b, size // (a * b))})
    target = list(draw(st.sampled_from(sorted(candidates))))
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@st.composite
def indices(draw, shape: tuple[int, ...]):
    """An index for an array of ``shape`` (at least 1-D), as numpy takes it.

    Each of the first few axes gets an int (negatives too), a basic slice (negative steps too, possibly
    empty) or an integer array with repeated entries; a single part is sometimes passed bare, not in a tuple.
    """
    n_parts = draw(st.integers(1, len(shape)))
    array_len = draw(st.integers(1, 5))  # every integer array of one index has the same length (they broadcast)
    parts = []
    for n in shape[:n_parts]:
        kind = draw(st.sampled_from(["int", "slice", "array"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            parts.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -2]))))
        else:
            entries = draw(st.lists(st.integers(-n, n - 1), min_size=array_len, max_size=array_len))
            parts.append(np.array(entries, dtype=np.intp))
    if len(parts) == 1 and draw(st.booleans()):
        return parts[0]
    return tuple(parts)


# ---------------------------------------------------------------- float64 arrays in a domain


def _floats(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def arrays(shape, elements):
    """float64 arrays of ``shape`` (a tuple or a strategy of tuples) with the given element strategy."""
    return hnp.arrays(np.float64, shape, elements=elements)


def values(shape, bound: float = 3.0):
    """Any real values in ``[-bound, bound]``."""
    return arrays(shape, _floats(-bound, bound))


def positive(shape, lo: float = 0.1, hi: float = 3.0):
    """Values in ``[lo, hi]``, ``lo > 0``: the domain of log, sqrt, the base of pow, and safe denominators."""
    return arrays(shape, _floats(lo, hi))


def away_from_zero(shape, margin: float = KINK_MARGIN, bound: float = 3.0):
    """Values with ``margin <= |x| <= bound``, either sign: away from the kinks of relu and abs, and from 1/0."""
    return arrays(shape, _floats(margin, bound) | _floats(-bound, -margin))


@st.composite
def distinct(draw, shape, spacing: float = SPACING):
    """Values that differ pairwise by at least ``0.75 * spacing``: no ties for max/min over axes."""
    size = int(np.prod(shape))
    ladder = np.array(draw(st.permutations(range(size))), dtype=np.float64) * spacing
    jitter = draw(arrays(size, _floats(0.0, spacing / 4)))
    offset = draw(_floats(-2.0, 2.0)) - size * spacing / 2
    return (ladder + jitter + offset).reshape(shape)


@st.composite
def separated_pair(draw, shape_a, shape_b, spacing: float = SPACING):
    """Two arrays (broadcastable shapes) whose elements all differ by at least ``0.75 * spacing``.

    ``a`` sits on the odd rungs of a ladder of step ``spacing``, ``b`` on the even ones, each plus a jitter
    below ``spacing / 4``; which one tends to be larger varies element by element.
    """
    def rungs(shape, parity):
        k = draw(hnp.arrays(np.int64, shape, elements=st.integers(-10, 10)))
        jitter = draw(arrays(shape, _floats(0.0, spacing / 4)))
        return (2 * k + parity) * spacing + jitter

    return rungs(shape_a, 1), rungs(shape_b, 0)


@st.composite
def clip_cases(draw, shape, margin: float = KINK_MARGIN):
    """``(x, lo, hi)`` with ``hi - lo >= 0.5`` and every element of ``x`` at least ``margin`` from lo and hi."""
    lo = draw(_floats(-2.0, 0.5))
    hi = lo + draw(_floats(0.5, 2.0))

    def push(v: float) -> float:
        for bound in (lo, hi):
            if abs(v - bound) < margin:
                v = bound + margin if v >= bound else bound - margin
        return v

    x = draw(arrays(shape, _floats(-4.0, 4.0).map(push)))
    return x, lo, hi


def bool_masks(shape):
    """Boolean arrays of ``shape`` (constant conditions for ``where``)."""
    return hnp.arrays(np.bool_, shape)


# ---------------------------------------------------------------- convolution and pooling geometry


@st.composite
def conv_geometries(draw, max_dims: int = 2, max_kernel: int = 3):
    """``(x_shape, w_shape, stride, pads, dilation, groups)`` of a convolution whose kernel fits its padded input.

    One or two spatial axes; ``pads`` is (before, after) per axis, uneven sometimes (as ``padding='same'`` makes);
    stride and dilation 1 or 2; 1 or 2 groups of 1 or 2 channels; every size small (a gradcheck stays cheap).
    """
    nd = draw(st.integers(1, max_dims))
    groups = draw(st.integers(1, 2))
    c_g, o_g, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, max_kernel)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    spatial = []
    for k, d, (lo, hi) in zip(kernel, dilation, pads):
        least = max(1, d * (k - 1) + 1 - lo - hi)  # the dilated kernel fits the padded input at least once
        spatial.append(draw(st.integers(least, least + (3 if nd == 1 else 2))))
    return (n, groups * c_g, *spatial), (groups * o_g, c_g, *kernel), stride, pads, dilation, groups


@st.composite
def pool_geometries(draw, max_dims: int = 2):
    """``(x_shape, kernel, stride, pads, dilation)`` of a max pooling: padding at most half the kernel (PyTorch's
    rule), sometimes one more window at the end (``ceil_mode``, PyTorch's formula); every window reads at least one
    input element (else its maximum would be the padding's -inf)."""
    nd = draw(st.integers(1, max_dims))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    ceil_mode = draw(st.booleans())
    pads, spatial = [], []
    for k, s, d in zip(kernel, stride, dilation):
        lo, span = draw(st.integers(0, k // 2)), d * (k - 1) + 1
        n = draw(st.integers(max(1, span - 2 * lo), max(1, span - 2 * lo) + 3))
        windows = (n + 2 * lo - span) // s + 1
        if ceil_mode:
            windows = -(-(n + 2 * lo - span) // s) + 1
            if (windows - 1) * s >= n + lo:
                windows -= 1
        hi = max(lo, (windows - 1) * s + span - n - lo)  # the padding the last window reaches into
        reads = [{start + j * d for j in range(k)} & set(range(lo, lo + n)) for start in range(0, windows * s, s)]
        assume(all(reads))
        pads.append((lo, hi))
        spatial.append(n)
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial), kernel, stride, tuple(pads), dilation
