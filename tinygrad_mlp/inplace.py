"""In-place operations with PyTorch's semantics: ``p -= lr * p.grad``, ``p.sub_(...)``, ``p.grad.zero_()``.

An in-place op changes the Tensor it is called on, the same object, so a module or an optimizer holding it sees the
new values. The rules, PyTorch's:

* On a leaf that requires grad, only inside ``no_grad()`` (the manual-SGD idiom); with grad mode on it is refused in
  one line, since the update would not be part of any graph.
* Without a graph to record (under ``no_grad``, or nothing requires grad) the new values are written into the
  tensor's own array: views of it and anything holding ``.data`` see them.
* With one (the tensor, or the other operand, requires grad, and grad mode is on) the op is recorded: the tensor
  takes the result's value and node, and gradients flow through it to what it was before (``h += bias`` in a
  forward pass works).
* Either way the tensor's version moves on (:func:`tinygrad_mlp.engine.changed_in_place`): a backward that reaches an
  op recorded earlier that used the tensor raises :class:`GraphError` naming that op, never a wrong gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import engine
from . import primitives as P
from . import random as _random
from .errors import GraphError, IndexingError, ShapeError

if TYPE_CHECKING:
    from .tensor_core import Tensor

__all__ = ["InPlaceOps"]


class InPlaceOps:
    """The in-place methods of a Tensor (mixed into :class:`~tinygrad_mlp.methods.TensorOps`)."""

    __slots__ = ()
    data: np.ndarray  # a slot of Tensor (declared here for type checkers)

    def _update(self: Tensor, what: str, fn, overwrite: bool = False) -> Tensor:
        """Make this tensor ``fn(before)``, where ``before`` is a tensor standing for its current value.

        ``overwrite``: ``fn`` ignores ``before`` (fill, copy, random draws); the gradient to ``before`` is then 0.
        """
        if not engine.quiet:
            for listener in engine.state.listeners:  # tm.compile: a replay would not make this change
                listener.on_effect(f"{what} changes a tensor in place, which a replay would not do")
        if self.node is None and self.requires_grad and engine.is_grad_enabled():
            raise GraphError(f"{what}: a leaf tensor that requires grad cannot be changed in place while "
                             "gradients are recorded; do it inside `with tm.no_grad():` (as an optimizer step does)")
        # stands for the value before: the recorded op takes it as its input, so the graph has no cycle
        before = self.wrap(self.data, self.requires_grad)
        before.node = self.node
        version = getattr(self, "version", 0)
        # first: the nodes recorded before now can no longer be walked through this tensor; the new one can
        engine.changed_in_place(self)
        try:
            new = fn(before)
            if overwrite:
                try:
                    fits = np.broadcast_shapes(new.shape, self.shape) == self.shape
                except ValueError:
                    fits = False
                if not fits:
                    raise ShapeError(f"{what}: a value of shape {new.shape} does not fit this tensor's {self.shape}")
                if new.requires_grad or (before.requires_grad and engine.is_grad_enabled()):
                    # recorded as an op of its own (never the value's own node): gradient 0 to the old value
                    new = self.apply(P.Where(np.zeros(self.shape, dtype=bool)), before, new)
            elif new.shape != self.shape:
                raise ShapeError(f"{what}: the result has shape {new.shape}, not this tensor's {self.shape} "
                                 "(an in-place op cannot change a tensor's shape)")
            if new.node is None and not self.data.flags.writeable:
                raise ShapeError(f"{what}: this tensor's array is read-only (a broadcast view or a read-only numpy "
                                 "array); use the out-of-place op instead")
        except BaseException:
            self.version = version  # nothing changed
            raise
        if new.node is None:  # nothing recorded: the values go into this tensor's own array (views see them)
            np.copyto(self.data, new.data, casting="unsafe")  # an in-place op keeps the tensor's dtype
        else:  # recorded: this tensor becomes the op's result
            self.data = new.data if new.dtype == self.dtype else new.data.astype(self.dtype)
            self.node, self.requires_grad = new.node, True
        return self

    # ------------------------------------------------------------------ Python's augmented assignment

    def __iadd__(self: Tensor, other) -> Tensor:
        return self._update("+=", lambda t: t + other)

    def __isub__(self: Tensor, other) -> Tensor:
        return self._update("-=", lambda t: t - other)

    def __imul__(self: Tensor, other) -> Tensor:
        return self._update("*=", lambda t: t * other)

    def __itruediv__(self: Tensor, other) -> Tensor:
        return self._update("/=", lambda t: t / other)

    def __ipow__(self: Tensor, other) -> Tensor:
        return self._update("**=", lambda t: t ** other)

    def __setitem__(self: Tensor, index, value) -> None:
        """``t[index] = value``, in place (numpy's indexing; ``value`` broadcast to the indexed part).

        Recorded when grad mode is on and ``t`` requires grad: the gradient to the old values is 0 where they were
        replaced. A ``value`` that requires grad is refused there (no op scatters it back): use ``tm.where``.
        """
        index = tuple(_index_array(i) for i in index) if isinstance(index, tuple) else _index_array(index)
        if isinstance(value, InPlaceOps):
            if value.requires_grad and engine.is_grad_enabled():
                raise GraphError("t[index] = value: a value that requires grad is not recorded here; build the "
                                 "tensor with tm.where(mask, value, t) or concatenate instead")
            value = value.data
        try:
            replaced = np.zeros(self.shape, dtype=bool)
            replaced[index] = True
            placed = np.zeros(self.shape, dtype=self.dtype)
            placed[index] = value
        except (IndexError, ValueError, TypeError) as e:
            raise IndexingError(f"t[{index!r}] = value: does not fit a tensor of shape {self.shape} ({e})") from None
        self._update("t[index] = value", lambda t: t.apply(P.Where(replaced), t.wrap(placed), t)
                     if t.requires_grad and engine.is_grad_enabled() else t.wrap(np.where(replaced, placed, t.data)))

    # ------------------------------------------------------------------ PyTorch's in-place methods

    def add_(self: Tensor, other, *, alpha: float = 1) -> Tensor:
        """``self += alpha * other``, in place."""
        return self._update("add_", lambda t: t + (other if alpha == 1 else other * alpha))

    def sub_(self: Tensor, other, *, alpha: float = 1) -> Tensor:
        """``self -= alpha * other``, in place."""
        return self._update("sub_", lambda t: t - (other if alpha == 1 else other * alpha))

    def mul_(self: Tensor, other) -> Tensor:
        """``self *= other``, in place."""
        return self._update("mul_", lambda t: t * other)

    def div_(self: Tensor, other) -> Tensor:
        """``self /= other``, in place."""
        return self._update("div_", lambda t: t / other)

    def pow_(self: Tensor, exponent) -> Tensor:
        """``self **= exponent``, in place."""
        return self._update("pow_", lambda t: t ** exponent)

    def neg_(self: Tensor) -> Tensor:
        """``self = -self``, in place."""
        return self._update("neg_", lambda t: -t)

    def clamp_(self: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
        """Clip into ``[min, max]``, in place."""
        return self._update("clamp_", lambda t: t.clip(min, max))

    clip_ = clamp_

    def exp_(self: Tensor) -> Tensor:
        return self._update("exp_", lambda t: t.exp())

    def log_(self: Tensor) -> Tensor:
        return self._update("log_", lambda t: t.log())

    def sqrt_(self: Tensor) -> Tensor:
        return self._update("sqrt_", lambda t: t.sqrt())

    def abs_(self: Tensor) -> Tensor:
        return self._update("abs_", lambda t: t.abs())

    def relu_(self: Tensor) -> Tensor:
        return self._update("relu_", lambda t: t.relu())

    def sigmoid_(self: Tensor) -> Tensor:
        return self._update("sigmoid_", lambda t: t.sigmoid())

    def tanh_(self: Tensor) -> Tensor:
        return self._update("tanh_", lambda t: t.tanh())

    def zero_(self: Tensor) -> Tensor:
        """Set every element to 0, in place (``p.grad.zero_()``)."""
        return self.fill_(0.0)

    def fill_(self: Tensor, value) -> Tensor:
        """Set every element to ``value`` (a number or a one-element tensor), in place."""
        if np.size(value.data if isinstance(value, InPlaceOps) else value) != 1:
            raise ShapeError(f"fill_: needs a number or a one-element tensor, got shape {np.shape(value)}")
        return self._update("fill_", lambda t: value if isinstance(value, InPlaceOps) else
                            t.wrap(np.full((), value, dtype=t.dtype)), overwrite=True)

    def copy_(self: Tensor, src) -> Tensor:
        """Set this tensor to ``src`` (broadcast to its shape, cast to its dtype), in place."""
        return self._update("copy_", lambda t: src if isinstance(src, InPlaceOps) else
                            t.wrap(np.asarray(src, dtype=t.dtype)), overwrite=True)

    def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, seed=None) -> Tensor:
        """Fill with uniform draws from ``[a, b)``, in place (``seed=`` as everywhere, else the global generator)."""
        draw = _random.generator(seed).uniform(a, b, self.shape).astype(self.dtype)
        return self._update("uniform_", lambda t: t.wrap(draw), overwrite=True)

    def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, seed=None) -> Tensor:
        """Fill with normal draws of ``mean`` and ``std``, in place."""
        draw = _random.generator(seed).normal(mean, std, self.shape).astype(self.dtype)
        return self._update("normal_", lambda t: t.wrap(draw), overwrite=True)


def _index_array(i):
    """A Tensor index becomes its array (a boolean mask as it is, else integers); anything else is numpy's."""
    if not isinstance(i, InPlaceOps):
        return i
    return i.data if i.data.dtype == bool else i.data.astype(np.intp)
