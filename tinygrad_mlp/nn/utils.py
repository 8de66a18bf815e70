"""``nn.utils``, PyTorch's home of the gradient clipping functions: ``clip_grad_norm_`` (the one in
:mod:`tinygrad_mlp.optim`) and ``clip_grad_value_``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import engine
from ..errors import ArgumentError
from ..optim import clip_grad_norm_
from ..tensor_core import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient of ``parameters`` in place to ``[-clip_value, clip_value]``; parameters without a
    gradient are skipped. Inside a step given to ``tm.compile`` it makes that step run eagerly."""
    engine.announce("effect", "clip_grad_value_ clips the gradients in place, which a replay would not do")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not all(isinstance(p, Tensor) for p in params):
        raise ArgumentError("clip_grad_value_: parameters must be Tensors")
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float, np.integer, np.floating)) \
            or not clip_value >= 0:
        raise ArgumentError(f"clip_grad_value_: clip_value must be a number >= 0, got {clip_value!r}")
    for p in params:
        if p.grad is not None:
            p.grad = Tensor.wrap(np.clip(p.grad.data, -clip_value, clip_value).astype(p.grad.dtype, copy=False))
