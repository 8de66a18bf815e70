"""Custom ops in PyTorch's style (``torch.autograd.Function``), as a thin adapter over the library's rules.

::

    class Exp(tm.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            (y,) = ctx.saved_tensors
            return grad_output * y

    y = Exp.apply(x)

Each ``apply`` makes one rule (a :class:`~tinygrad_mlp.primitives.Function`) holding the call's ``ctx`` and runs
it with ``Tensor.apply``, so the engine records it like any op: ``forward`` receives its Tensor arguments as
constant Tensors (no graph is recorded inside it) and returns one Tensor; ``backward`` receives one gradient per
output and returns one gradient per argument of ``forward`` (``None`` for arguments that are not Tensors or need
none). With ``create_graph=True`` (or forward over reverse), ``backward`` runs on Tensors and is recorded: saved
inputs and the saved output are then the graph's own tensors, so it can be differentiated again; a saved
intermediate cannot be, and is refused in that case. A staticmethod ``jvp(ctx, *tangents)`` gives forward mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import engine
from . import primitives as P
from .errors import ArgumentError, GraphError, ShapeError
from .methods import broadcasts_to
from .tensor_core import Tensor, no_grad

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """What ``forward`` hands to ``backward``: ``save_for_backward(*tensors)`` / ``saved_tensors``,
    ``needs_input_grad`` (one bool per argument of ``forward``), and any attribute you set on it."""

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._swap: dict[int, Tensor] | None = None  # saved tensor -> graph tensor, while backward is recorded

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` (inputs, the output, or intermediates; None allowed) for ``backward``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise ArgumentError(f"save_for_backward: expected Tensors, got {type(t).__name__} (keep other "
                                    "values as attributes of ctx)")
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._swap is None:
            return self._saved
        return tuple(t if t is None else self._swap.get(id(t), t) for t in self._saved)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Accepted for PyTorch's code: an output here is differentiable or not by what backward returns."""

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for PyTorch's code: the gradient handed to backward is always a Tensor here."""


def _as_array(value, like: np.ndarray, what: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = value.data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ArgumentError(f"{what} must be a Tensor, got {type(value).__name__}")
    if not broadcasts_to(like.shape, arr.shape):  # a gradient may come broadcast (engine.unbroadcast reduces it)
        raise ShapeError(f"{what} has shape {arr.shape}, which does not fit the input's {like.shape}")
    return arr.astype(like.dtype, copy=False)


class _Custom(P.Function):
    """The rule made by one ``apply``: calls the user's forward/backward/jvp with the call's ctx."""

    def __init__(self, fn: type[Function], args: tuple, tensor_positions: list[int], ctx: FunctionCtx):
        self.fn, self.args, self.positions, self.ctx = fn, args, tensor_positions, ctx
        self.inputs: list[Tensor] = []
        self.result: Tensor | None = None
        doc = (fn.__doc__ or "").strip().splitlines()
        self.derivative = doc[0] if doc else f"custom autograd.Function {fn.__name__}"

    @property
    def name(self) -> str:
        return self.fn.__name__

    def forward(self, *arrays):
        self.inputs = [Tensor.wrap(a) for a in arrays]  # constants: nothing is recorded inside forward
        args = list(self.args)
        for pos, t in zip(self.positions, self.inputs, strict=True):
            args[pos] = t
        with no_grad():
            out = self.fn.forward(self.ctx, *args)
        if isinstance(out, (tuple, list)):
            raise ArgumentError(f"{self.name}.forward: return one Tensor (several outputs are not supported)")
        if not isinstance(out, Tensor):
            raise ArgumentError(f"{self.name}.forward must return a Tensor, got {type(out).__name__}")
        self.result = out
        return out.data

    def backward(self, g, out, *xs):
        recorded = isinstance(g, Tensor)  # create_graph, or forward over reverse: work on the graph's tensors
        if recorded:
            swap = {id(w): x for w, x in zip(self.inputs, xs, strict=True)}
            if self.result is not None:
                swap[id(self.result)] = out
            stray = [t for t in self.ctx._saved if t is not None and id(t) not in swap]
            if stray:
                raise GraphError(f"{self.name}: its backward cannot be differentiated again: it saved a tensor that "
                                 "is neither an input nor the output (save those, recompute the rest in backward)")
            self.ctx._swap = swap
            try:
                grads = self.fn.backward(self.ctx, g)
            finally:
                self.ctx._swap = None
        else:
            with no_grad():
                grads = self.fn.backward(self.ctx, Tensor.wrap(g))
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != len(self.args):
            raise GraphError(f"{self.name}.backward returned {len(grads)} gradients for the {len(self.args)} "
                             "arguments of forward (give None for those without one)")
        picked = [grads[pos] for pos in self.positions]
        if recorded:
            return tuple(None if gx is None else gx if isinstance(gx, Tensor) else Tensor(gx)
                         for gx in picked)
        return tuple(_as_array(gx, x, f"{self.name}.backward's gradient {pos}")
                     for gx, x, pos in zip(picked, xs, self.positions, strict=True))

    def jvp(self, tangents, out, *xs):
        user_jvp = getattr(self.fn, "jvp", None)
        if user_jvp is None or user_jvp is Function.jvp:
            raise GraphError(f"{self.name} has no forward-mode rule: define a staticmethod jvp(ctx, *tangents) "
                             "to use it inside autograd.jvp")
        full: list[Any] = [None] * len(self.args)
        for pos, t, x in zip(self.positions, tangents, xs, strict=True):
            full[pos] = Tensor.wrap(np.zeros_like(x) if t is None else t)
        with no_grad():
            result = user_jvp(self.ctx, *full)
        return _as_array(result, out, f"{self.name}.jvp's result")


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``; call ``apply(*args)``."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Tensor:
        raise NotImplementedError("define a staticmethod forward(ctx, *args) returning a Tensor")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError("define a staticmethod backward(ctx, grad_output) returning one gradient per "
                                  "argument of forward")

    jvp: Any = None  # optional staticmethod jvp(ctx, *tangents) -> the output's tangent (forward mode)

    def __init__(self, *args, **kwargs):
        raise ArgumentError(f"{type(self).__name__}: call {type(self).__name__}.apply(...), as in PyTorch; "
                            "a Function is not instantiated")

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run ``forward`` on ``args`` and record the op; returns its output Tensor."""
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not positions:
            raise ArgumentError(f"{cls.__name__}.apply: give at least one Tensor argument")
        # the user's Python runs at every call (it may keep anything on ctx), which a replay would not do
        engine.announce("effect", f"the custom autograd.Function {cls.__name__} runs its own Python code on every call")
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        return Tensor.apply(_Custom(cls, args, positions, ctx), *[args[i] for i in positions])
