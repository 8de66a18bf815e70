"""Convolution and pooling: three rules for the convolution, one for max pooling, and the functions that check
their arguments and apply them (``conv1d``, ``conv2d``, ``max_pool1d``, ``max_pool2d``, ``avg_pool1d``,
``avg_pool2d``; ``nn.functional`` re-exports them under PyTorch's names).

Channels come first, as in PyTorch: an input is ``(N, C, *spatial)`` (one or two spatial axes), a weight
``(O, C / groups, *kernel)``. A convolution here is PyTorch's: a cross-correlation (the kernel is not flipped),

    out[n, o, i] = bias[o] + sum over c, k of  w[o, c, k] * x_padded[n, g*C_g + c, i*stride + k*dilation]

for ``o`` in group ``g``. Its forward lays the input's windows out as columns (a strided view of the padded
input, copied once) and does one batched matrix product with the weight.

The three convolution rules are the two halves of one bilinear map and its two adjoints:

* :class:`Conv` ``(x, w[, b]) -> y``;
* :class:`ConvInputGrad` ``(g, w) -> dx``: ``y``'s adjoint in ``x`` (a "transposed convolution");
* :class:`ConvWeightGrad` ``(x, g) -> dw``: ``y``'s adjoint in ``w``.

Each one's backward is made of the three, so the backward of a backward is again a convolution and gradients of
any order work (``create_graph=True``). Nothing is saved for the backward but the inputs the engine keeps anyway:
the columns (``N * C * kh * kw * OH * OW`` numbers, ``kh * kw`` times the input) are made again when needed and
dropped at once.

Max pooling's ties: a window's gradient goes to its **first** maximum (in row-major order within the window),
as in PyTorch; an element that is the maximum of several overlapping windows gets the sum of theirs. Average
pooling is composed: a convolution with a constant kernel, one group per channel, so it needs no rule of its own.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import primitives as P
from .errors import ArgumentError, ShapeError
from .primitives import Function, array_of, is_array

if TYPE_CHECKING:
    from .tensor_core import Tensor

__all__ = ["Geometry", "Conv", "ConvInputGrad", "ConvWeightGrad", "MaxPool", "conv1d", "conv2d", "max_pool1d",
           "max_pool2d", "avg_pool1d", "avg_pool2d", "conv_output_size"]

Pads = tuple[tuple[int, int], ...]  # (before, after) for each spatial axis
_EVERY_N_C = (slice(None), slice(None))  # the batch and channel axes, whole


# ---------------------------------------------------------------- the array kernels


def conv_output_size(size: int, kernel: int, stride: int, pad: tuple[int, int], dilation: int) -> int:
    """The number of windows along one axis: ``(size + pads - dilation*(kernel-1) - 1) // stride + 1``."""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def _padded(x: np.ndarray, pads: Pads, fill: float = 0.0) -> np.ndarray:
    """``x`` with its spatial axes (all but the first two) padded by ``fill``; ``x`` itself if there is no padding."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads, strict=True))
    out = np.full(shape, fill, dtype=x.dtype)  # cheaper than np.pad, which goes through Python per axis
    out[_inside(x.shape, pads)] = x
    return out


def _unpadded(xp: np.ndarray, pads: Pads, shape: tuple[int, ...]) -> np.ndarray:
    """The part of ``xp`` (padded as ``pads``) that ``x`` of ``shape`` occupies."""
    if not any(lo or hi for lo, hi in pads):
        return xp
    return xp[_inside(shape, pads)]


def _inside(shape: tuple[int, ...], pads: Pads) -> tuple:
    """The index of the part of a padded array that an unpadded one of ``shape`` occupies."""
    return _EVERY_N_C + tuple(slice(lo, lo + n) for n, (lo, _) in zip(shape[2:], pads, strict=True))


def _windows(xp: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
             out_size: tuple[int, ...]) -> np.ndarray:
    """A read-only view ``(N, C, *kernel, *out_size)`` of the padded input: ``[n, c, k, i] = xp[n, c, i*s + k*d]``."""
    st = xp.strides
    strides = (st[:2] + tuple(s * d for s, d in zip(st[2:], dilation, strict=True))
               + tuple(s * t for s, t in zip(st[2:], stride, strict=True)))
    return as_strided(xp, xp.shape[:2] + kernel + out_size, strides, writeable=False)


def _window_slices(k: tuple[int, ...], stride, dilation, out_size) -> tuple:
    """The index of ``xp[:, :, i*s + k*d for every i]``: where kernel position ``k`` reads, for all outputs at once."""
    return _EVERY_N_C + tuple(slice(j * d, j * d + s * (o - 1) + 1, s)
                              for j, s, d, o in zip(k, stride, dilation, out_size, strict=True))


class Geometry:
    """Where a convolution's windows lie: ``stride``, ``pads`` ((before, after) per axis), ``dilation``, ``groups``.

    The configuration all three convolution rules share (a value, compared by ``tm.compile`` like any setting).
    """

    __slots__ = ("stride", "pads", "dilation", "groups")

    def __init__(self, stride: tuple[int, ...], pads: Pads, dilation: tuple[int, ...], groups: int):
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups

    def __eq__(self, other) -> bool:
        return isinstance(other, Geometry) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple:
        return self.stride, self.pads, self.dilation, self.groups

    def __repr__(self) -> str:
        return f"stride={self.stride}, pads={self.pads}, dilation={self.dilation}, groups={self.groups}"

    def out_size(self, in_size: tuple[int, ...], kernel: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(conv_output_size(n, k, s, p, d)
                     for n, k, s, p, d in zip(in_size, kernel, self.stride, self.pads, self.dilation, strict=True))

    # The output positions form a grid. With stride 1 on every axis it is laid over the padded input, flattened:
    # output (i, j) sits at i * W_padded + j, and kernel position (p, q) reads at a fixed offset from there,
    # p * dilation * W_padded + q * dilation. Every kernel position then reads (and its gradient adds into) one
    # contiguous run of the flat input, instead of many rows of length OW: numpy's inner loops get long, which
    # makes copying the columns and adding their gradients back several times faster. The grid is "wide": it has
    # W_padded - OW positions per row that are not outputs, whose gradient is kept zero. With any stride > 1 the
    # grid is the outputs themselves and the windows a strided view.

    def _flat(self) -> bool:
        return all(s == 1 for s in self.stride)

    def _padded_size(self, in_size: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(n + lo + hi for n, (lo, hi) in zip(in_size, self.pads, strict=True))

    def _grid_length(self, padded: tuple[int, ...], out_size: tuple[int, ...]) -> int:
        """How many grid positions: all outputs, and in the flat layout the gaps between the rows."""
        if not self._flat():
            return math.prod(out_size)
        flat_strides = [math.prod(padded[a + 1:]) for a in range(len(padded))]
        return sum((o - 1) * f for o, f in zip(out_size, flat_strides, strict=True)) + 1

    def _outputs_view(self, grid: np.ndarray, padded: tuple[int, ...], out_size: tuple[int, ...]) -> np.ndarray:
        """The outputs ``(N, C, *out_size)`` inside a flat grid ``(N, C, L)`` (C-contiguous in its last axis)."""
        e = grid.strides[-1]
        flat_strides = tuple(math.prod(padded[a + 1:]) * e for a in range(len(padded)))
        return as_strided(grid, grid.shape[:2] + out_size, grid.strides[:2] + flat_strides)

    def columns(self, x: np.ndarray, kernel: tuple[int, ...]) -> np.ndarray:
        """The windows of ``x`` as ``(N, groups, C_g * prod(kernel), L)``, L the grid's length: a fresh buffer, dropped
        by the caller (never kept for the backward)."""
        out_size = self.out_size(x.shape[2:], kernel)
        xp = _padded(x, self.pads)
        n, c = x.shape[:2]
        if self._flat():
            padded = xp.shape[2:]
            xp = np.ascontiguousarray(xp)
            e = xp.itemsize
            offsets = tuple(math.prod(padded[a + 1:]) * d * e for a, d in enumerate(self.dilation))
            length = self._grid_length(padded, out_size)
            view = as_strided(xp, (n, c, *kernel, length), xp.strides[:2] + offsets + (e,), writeable=False)
        else:
            view = _windows(xp, kernel, self.stride, self.dilation, out_size)
        return view.reshape(n, self.groups, (c // self.groups) * math.prod(kernel), -1)

    def _to_grid(self, g: np.ndarray, in_size: tuple[int, ...]) -> np.ndarray:
        """An output gradient ``(N, O, *out)`` laid out on the grid ``(N, O, L)`` (zeros between the rows)."""
        n, o = g.shape[:2]
        if not self._flat() or g.ndim == 3:  # one axis: the grid is the outputs
            return g.reshape(n, o, -1)
        padded = self._padded_size(in_size)
        grid = np.zeros((n, o, self._grid_length(padded, g.shape[2:])), dtype=g.dtype)
        self._outputs_view(grid, padded, g.shape[2:])[...] = g
        return grid

    def convolve(self, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        """``conv(x, w) + bias``: one batched matrix product of the weight with the columns, then the bias."""
        kernel, o = w.shape[2:], w.shape[0]
        out_size = self.out_size(x.shape[2:], kernel)
        cols = self.columns(x, kernel)
        grid = np.matmul(w.reshape(self.groups, o // self.groups, -1), cols)  # (N, groups, O_g, L)
        grid = grid.reshape(x.shape[0], o, -1)
        b = None if bias is None else bias.reshape((-1,) + (1,) * len(out_size))
        if not self._flat() or x.ndim == 3:
            out = grid.reshape((x.shape[0], o, *out_size))
            if b is None:
                return out
            if b.dtype == out.dtype:
                out += b  # in place: a fresh array
                return out
            return out + b  # a wider bias widens the result, as numpy's addition does
        view = self._outputs_view(grid, self._padded_size(x.shape[2:]), out_size)
        if b is None:
            return np.ascontiguousarray(view)
        return np.add(view, b)  # the outputs copied out of the grid and the bias added, in one pass

    def input_grad(self, g: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
        """The adjoint of ``conv(., w)`` at ``g``: each column's gradient added back where the window read it."""
        kernel, n, c = w.shape[2:], x_shape[0], x_shape[1]
        out_size, padded = g.shape[2:], self._padded_size(x_shape[2:])
        wg = w.reshape(self.groups, w.shape[0] // self.groups, -1)
        grid = self._to_grid(g, x_shape[2:])
        cols = np.matmul(wg.swapaxes(-1, -2), grid.reshape(n, self.groups, -1, grid.shape[-1]))
        gxp = np.zeros((n, c, *padded), dtype=cols.dtype)
        if self._flat():
            cols = cols.reshape((n, c, *kernel, -1))
            flat, length = gxp.reshape(n, c, -1), cols.shape[-1]
            strides = [math.prod(padded[a + 1:]) * d for a, d in enumerate(self.dilation)]
            for k in itertools.product(*(range(j) for j in kernel)):  # one contiguous run per kernel position
                start = sum(i * f for i, f in zip(k, strides, strict=True))
                flat[:, :, start:start + length] += cols[_EVERY_N_C + k]
        else:
            cols = cols.reshape((n, c, *kernel, *out_size))
            for k in itertools.product(*(range(j) for j in kernel)):  # each kernel position reads distinct places
                gxp[_window_slices(k, self.stride, self.dilation, out_size)] += cols[_EVERY_N_C + k]
        return np.ascontiguousarray(_unpadded(gxp, self.pads, x_shape))

    def weight_grad(self, x: np.ndarray, g: np.ndarray, kernel: tuple[int, ...]) -> np.ndarray:
        """The adjoint of ``conv(x, .)`` at ``g``: for each weight, the sum over every place it was used."""
        cols = self.columns(x, kernel)  # (N, groups, C_g * K, L)
        n, o = g.shape[:2]
        grid = self._to_grid(g, x.shape[2:]).reshape(n, self.groups, o // self.groups, -1)  # (N, groups, O_g, L)
        # one product per example, then the sum over the batch; the transposed operand is the small gradient,
        # copied (numpy's batched matmul is three times slower with a transposed, non-contiguous operand)
        gw = np.add.reduce(np.matmul(cols, np.ascontiguousarray(grid.swapaxes(-1, -2))), axis=0)  # (groups, CK, O_g)
        return gw.swapaxes(-1, -2).reshape((o, x.shape[1] // self.groups, *kernel))


def _run(rule: Function, *values):
    """``rule`` on arrays (its forward); applied as a recorded op when a value is a Tensor (``create_graph``)."""
    tensor = next((v for v in values if not is_array(v)), None)
    if tensor is None:
        return rule.forward(*values)
    return tensor.apply(rule, *(tensor.wrap(v) if is_array(v) else v for v in values))


def _add_tangent(a, b):
    return b if a is None else a + b


def _bilinear_tangent(f, tangents, a, b):
    """The tangent of ``f(a, b)``, linear in each argument: ``f(ta, b) + f(a, tb)`` (a None tangent is zero)."""
    ta, tb = tangents
    t = None if ta is None else f(ta, b)
    return t if tb is None else _add_tangent(t, f(a, tb))


# ---------------------------------------------------------------- the convolution rules


class Conv(Function):
    """``conv(x, w) + b``: ``x`` ``(N, C, *S)``, ``w`` ``(O, C / groups, *K)``, optional ``b`` ``(O,)``.

    The output is ``(N, O, *S_out)``. Holds only its geometry (stride, padding, dilation, groups).
    """

    __slots__ = ("geometry",)
    derivative = "dy[n,o,i]/dw[o,c,k] = x[n,c,i*s + k*d]; dy[n,o,i]/dx[n,c,i*s + k*d] = w[o,c,k]; dy/db[o] = 1"

    def __init__(self, geometry: Geometry):
        self.geometry = geometry

    def forward(self, x, w, *bias):
        return self.geometry.convolve(x, w, bias[0] if bias else None)

    def backward(self, g, out, x, w, *bias, needs_grad=(True, True, True)):
        xs, ws = array_of(x).shape, array_of(w).shape
        gx = _run(ConvInputGrad(self.geometry, xs), g, w) if needs_grad[0] else None
        gw = _run(ConvWeightGrad(self.geometry, ws[2:]), x, g) if needs_grad[1] else None
        if not bias:
            return gx, gw
        spatial = tuple(range(2, len(xs)))
        gb = (np.add.reduce(g, axis=(0, *spatial)) if is_array(g) else g.sum(axis=(0, *spatial))) \
            if needs_grad[2] else None
        return gx, gw, gb

    def jvp(self, tangents, out, x, w, *bias):
        tx, tw = tangents[:2]
        t = None if tx is None else self.geometry.convolve(tx, w)
        if tw is not None:
            t = _add_tangent(t, self.geometry.convolve(x, tw))
        if bias and tangents[2] is not None:
            t = _add_tangent(t, np.broadcast_to(tangents[2].reshape((-1,) + (1,) * (x.ndim - 2)), out.shape))
        return t


class ConvInputGrad(Function):
    """``(g, w) -> dx``: the gradient of ``conv(x, w)`` in ``x`` (of shape ``x_shape``) for an output gradient ``g``.

    Linear in each input; its adjoints are the two other rules, so it can be differentiated again.
    """

    __slots__ = ("geometry", "x_shape")
    derivative = "adjoint of conv(., w): d/dg = conv(., w), d/dw = conv's weight gradient"

    def __init__(self, geometry: Geometry, x_shape: tuple[int, ...]):
        self.geometry, self.x_shape = geometry, tuple(x_shape)

    def forward(self, g, w):
        return self.geometry.input_grad(g, w, self.x_shape)

    def backward(self, h, out, g, w, *, needs_grad=(True, True)):
        # <h, A(w)^T g> = <conv(h, w), g>: in g, conv(h, w); in w, conv's weight gradient at input h, output g
        gg = _run(Conv(self.geometry), h, w) if needs_grad[0] else None
        gw = _run(ConvWeightGrad(self.geometry, array_of(w).shape[2:]), h, g) if needs_grad[1] else None
        return gg, gw

    def jvp(self, tangents, out, g, w):
        return _bilinear_tangent(self.forward, tangents, g, w)


class ConvWeightGrad(Function):
    """``(x, g) -> dw``: the gradient of ``conv(x, w)`` in ``w`` (kernel ``kernel``) for an output gradient ``g``.

    Linear in each input; its adjoints are the two other rules, so it can be differentiated again.
    """

    __slots__ = ("geometry", "kernel")
    derivative = "adjoint of conv(x, .): d/dx = conv's input gradient, d/dg = conv(x, .)"

    def __init__(self, geometry: Geometry, kernel: tuple[int, ...]):
        self.geometry, self.kernel = geometry, tuple(kernel)

    def forward(self, x, g):
        return self.geometry.weight_grad(x, g, self.kernel)

    def backward(self, h, out, x, g, *, needs_grad=(True, True)):
        # <h, B(x)^T g> = <conv(x, h), g>: in x, conv's input gradient at (g, h); in g, conv(x, h)
        gx = _run(ConvInputGrad(self.geometry, array_of(x).shape), g, h) if needs_grad[0] else None
        gg = _run(Conv(self.geometry), x, h) if needs_grad[1] else None
        return gx, gg

    def jvp(self, tangents, out, x, g):
        return _bilinear_tangent(self.forward, tangents, x, g)


# ---------------------------------------------------------------- max pooling


class MaxPool(Function):
    """The maximum of each window of ``x`` ``(N, C, *S)``: padding counts as -inf.

    Ties: the window's gradient goes to its first maximum in row-major order within the window (PyTorch's rule);
    a NaN counts as the maximum of its window. ``pads`` may be uneven (``ceil_mode`` pads the end).
    """

    __slots__ = ("kernel", "stride", "pads", "dilation")
    derivative = "1 for the first maximum of each window, 0 for the others; overlapping windows add up"

    def __init__(self, kernel: tuple[int, ...], stride: tuple[int, ...], pads: Pads, dilation: tuple[int, ...]):
        self.kernel, self.stride, self.pads, self.dilation = kernel, stride, pads, dilation

    def _out_size(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(conv_output_size(n, k, s, p, d)
                     for n, k, s, p, d in zip(shape[2:], self.kernel, self.stride, self.pads, self.dilation,
                                              strict=True))

    def _slices(self, out_size):
        for k in itertools.product(*(range(j) for j in self.kernel)):
            yield _window_slices(k, self.stride, self.dilation, out_size)

    def forward(self, x):
        xp = _padded(x, self.pads, -np.inf)
        out = None
        for where in self._slices(self._out_size(x.shape)):  # kernel positions one at a time: no window copies
            out = xp[where].copy() if out is None else np.maximum(out, xp[where], out=out)  # NaN wins, as PyTorch
        return out

    def _first_maxima(self, x: np.ndarray, out: np.ndarray) -> list[tuple[tuple, np.ndarray]]:
        """For each kernel position, where it reads and the outputs whose first maximum it is."""
        xp = _padded(x, self.pads, -np.inf)
        nan = bool(np.isnan(out).any())  # a window holding a NaN has the NaN as its maximum: its first NaN
        taken: np.ndarray | None = None
        found = []
        for where in self._slices(out.shape[2:]):
            read = xp[where]
            hit = read == out
            if nan:
                hit |= read != read
            if taken is None:
                taken = hit.copy()
            else:
                hit = np.greater(hit, taken)  # a maximum, and not after the first one: hit & ~taken in one pass
                taken |= hit
            found.append((where, hit))
        return found

    def _flat_index(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The flat index into ``x`` of each output's first maximum, shaped like ``out``."""
        positions = np.arange(x.size).reshape(x.shape)
        padded = _padded(positions, self.pads, -1)
        index = np.zeros(out.shape, dtype=np.intp)
        for where, hit in self._first_maxima(x, out):
            index[hit] = np.broadcast_to(padded[where], out.shape)[hit]
        return index

    def backward(self, g, out, x):
        xv, ov = array_of(x), array_of(out)
        if not is_array(g):  # create_graph: a scatter by the first maxima (linear in g). The index is a setting of
            # IndexAdd, taken from this call's values: tm.compile never replays it (it does not capture create_graph)
            index = self._flat_index(xv, ov).reshape(-1)
            flat = g.apply(P.IndexAdd((index,), (xv.size,)), g.reshape(-1))
            return (flat.reshape(xv.shape),)
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(xv.shape[2:], self.pads, strict=True))
        gxp = np.zeros(xv.shape[:2] + padded, dtype=g.dtype)
        apart = all(s >= d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation, strict=True))
        for where, hit in self._first_maxima(xv, ov):
            if apart:  # windows that do not overlap write to distinct places: a copy, no sum
                np.copyto(gxp[where], g, where=hit)
            else:
                gxp[where] += g * hit
        return (np.ascontiguousarray(_unpadded(gxp, self.pads, xv.shape)),)

    def jvp(self, tangents, out, x):
        return tangents[0].reshape(-1)[self._flat_index(x, out)]


# ---------------------------------------------------------------- argument checks and the functions


def _int_tuple(v, n: int, what: str, name: str, minimum: int) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints, each at least ``minimum``, as a tuple of ``n`` ints."""
    items = [v] * n if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else v
    try:
        out = tuple(int(i) for i in items if not isinstance(i, (bool, np.bool_)) and
                    isinstance(i, (int, np.integer)))
        ok = len(out) == n == len(items)
    except TypeError:
        ok = False
    if not ok or min(out) < minimum:
        raise ArgumentError(f"{what}: {name} must be an int >= {minimum} or {n} of them, got {v!r}")
    return out


def _check_input(x, nd: int, what: str) -> tuple[Tensor, bool]:
    """``x`` as ``(N, C, *spatial)`` and whether it was given without its batch axis (PyTorch allows that)."""
    if not hasattr(x, "apply") or not hasattr(x, "data"):
        raise ArgumentError(f"{what}: expected a Tensor, got {type(x).__name__}")
    if x.ndim == nd + 1:
        return x.reshape(1, *x.shape), True
    if x.ndim != nd + 2:
        axes = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        raise ShapeError(f"{what}: input must be {axes} or without N, got shape {x.shape}")
    return x, False


def _pads_of(padding, nd: int, what: str) -> Pads:
    return tuple((p, p) for p in _int_tuple(padding, nd, what, "padding", 0))


def _same_pads(kernel, dilation) -> Pads:
    # PyTorch's 'same': the total d*(k-1), the odd one left over going at the end
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation, strict=True))


def _conv(nd: int, x, weight, bias, stride, padding, dilation, groups, what: str):
    x, unbatched = _check_input(x, nd, what)
    if not hasattr(weight, "apply") or weight.ndim != nd + 2:
        shape = getattr(weight, "shape", type(weight).__name__)
        raise ShapeError(f"{what}: weight must be (out_channels, in_channels / groups, {nd} kernel sizes), "
                         f"got {shape}")
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ArgumentError(f"{what}: groups must be a positive int, got {groups!r}")
    stride = _int_tuple(stride, nd, what, "stride", 1)
    dilation = _int_tuple(dilation, nd, what, "dilation", 1)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads: Pads = ((0, 0),) * nd
        elif padding == "same":
            if stride != (1,) * nd:
                raise ArgumentError(f"{what}: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
            pads = _same_pads(kernel, dilation)
        else:
            raise ArgumentError(f"{what}: padding must be an int, {nd} ints, 'valid' or 'same', got {padding!r}")
    else:
        pads = _pads_of(padding, nd, what)
    c, o = x.shape[1], weight.shape[0]
    if c % groups or o % groups:
        raise ShapeError(f"{what}: {c} input channels and {o} output channels must both divide into {groups} groups")
    if weight.shape[1] * groups != c:
        raise ShapeError(f"{what}: input has {c} channels, but the weight {weight.shape} with groups={groups} "
                         f"expects {weight.shape[1] * groups}")
    if min(kernel, default=1) < 1 or x.shape[0] == 0 or min(x.shape[1:]) < 1:
        raise ShapeError(f"{what}: empty input {x.shape} or kernel {kernel}")
    geometry = Geometry(stride, pads, dilation, int(groups))
    out_size = geometry.out_size(x.shape[2:], kernel)
    if min(out_size) < 1:
        raise ShapeError(f"{what}: the kernel {kernel} (dilation {dilation}) does not fit the padded input "
                         f"{tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads, strict=True))}")
    inputs = [x, weight]
    if bias is not None:
        if not hasattr(bias, "apply") or bias.shape != (o,):
            raise ShapeError(f"{what}: bias must have shape ({o},), got {getattr(bias, 'shape', bias)!r}")
        inputs.append(bias)
    out = x.apply(Conv(geometry), *inputs)
    return out.reshape(*out.shape[1:]) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-d convolution of ``input`` ``(N, C, L)`` by ``weight`` ``(O, C / groups, k)``, as ``torch.nn.functional``."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-d convolution (PyTorch's: a cross-correlation) of ``input`` ``(N, C, H, W)`` by ``weight``
    ``(O, C / groups, kh, kw)``, plus ``bias`` ``(O,)``: output ``(N, O, OH, OW)``, ``OH = (H + 2 padding -
    dilation (kh - 1) - 1) // stride + 1``. ``stride``, ``padding``, ``dilation``: an int or one per axis;
    ``padding`` may be ``'valid'`` or ``'same'``. An input without its batch axis, ``(C, H, W)``, works too."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, "conv2d")


def _pool_geometry(nd, x, kernel_size, stride, padding, dilation, ceil_mode, what):
    kernel = _int_tuple(kernel_size, nd, what, "kernel_size", 1)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _int_tuple(stride, nd, what, "stride", 1)
    padding = _int_tuple(padding, nd, what, "padding", 0)
    dilation = _int_tuple(dilation, nd, what, "dilation", 1)
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise ArgumentError(f"{what}: padding {padding} must be at most half the kernel size {kernel} (as PyTorch)")
    pads = []
    for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation, strict=True):
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            raise ShapeError(f"{what}: the window {kernel} (dilation {dilation}) does not fit the padded input "
                             f"of shape {x.shape}")
        extra = 0
        if ceil_mode:
            o = -(-(n + 2 * p - span) // s) + 1
            if (o - 1) * s >= n + p:  # PyTorch: the last window must start inside the input or the left padding
                o -= 1
            extra = (o - 1) * s + span - (n + 2 * p)
        pads.append((p, p + max(extra, 0)))
    return kernel, stride, tuple(pads), dilation


def _max_pool(nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, what):
    x, unbatched = _check_input(x, nd, what)
    if return_indices:
        raise ArgumentError(f"{what}: return_indices=True is not supported")
    if min(x.shape, default=1) < 1:
        raise ShapeError(f"{what}: empty input {x.shape}")
    kernel, stride, pads, dilation = _pool_geometry(nd, x, kernel_size, stride, padding, dilation, ceil_mode, what)
    out = x.apply(MaxPool(kernel, stride, pads, dilation), x)
    return out.reshape(*out.shape[1:]) if unbatched else out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` ``(N, C, L)``; see :func:`max_pool2d`."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, "max_pool1d")


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The maximum of each ``kernel_size`` window of ``input`` ``(N, C, H, W)``, every ``stride`` (default: the
    kernel size) positions; ``padding`` (at most half the kernel) counts as -inf. The gradient of a window goes to
    its first maximum in row-major order (PyTorch's rule for ties)."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, "max_pool2d")


def _avg_pool(nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, what):
    x, unbatched = _check_input(x, nd, what)
    if ceil_mode:
        raise ArgumentError(f"{what}: ceil_mode=True is not supported (pad the input instead)")
    if min(x.shape, default=1) < 1:
        raise ShapeError(f"{what}: empty input {x.shape}")
    kernel, stride, pads, _ = _pool_geometry(nd, x, kernel_size, stride, padding, 1, False, what)
    c = x.shape[1]
    # a convolution with a kernel of ones, one group per channel: no rule of its own
    ones = x.wrap(np.ones((c, 1, *kernel), dtype=x.dtype))
    geometry = Geometry(stride, pads, (1,) * nd, c)
    total = x.apply(Conv(geometry), x, ones)
    if divisor_override is not None:
        if isinstance(divisor_override, (bool, np.bool_)) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override < 1:
            raise ArgumentError(f"{what}: divisor_override must be a positive int, got {divisor_override!r}")
        out = total / x.dtype.type(divisor_override)
    elif count_include_pad or not any(lo for lo, _ in pads):
        out = total / x.dtype.type(math.prod(kernel))
    else:  # each window divided by how many of its places lie inside the input
        inside = Geometry(stride, pads, (1,) * nd, 1).convolve(np.ones((1, 1, *x.shape[2:]), x.dtype),
                                                                np.ones((1, 1, *kernel), x.dtype))
        out = total / x.wrap(inside)
    return out.reshape(*out.shape[1:]) if unbatched else out


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``input`` ``(N, C, L)``; see :func:`avg_pool2d`."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, "avg_pool1d")


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each ``kernel_size`` window of ``input`` ``(N, C, H, W)`` (padding counts as zeros, and in the
    divisor unless ``count_include_pad=False``). Composed: a convolution by a constant kernel, one group per
    channel, so its gradient is the convolution's."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                     "avg_pool2d")

