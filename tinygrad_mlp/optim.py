"""Optimizers (SGD, Adam) and learning-rate schedules.

``step()`` reads each parameter's ``.grad`` and updates ``.data`` in place, so the
model, the optimizer and any other holder of the parameter see the new values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .errors import CheckpointError
from .tensor import Tensor


class Optimizer:
    """Base class: holds the parameters, ``lr`` and per-parameter state arrays."""

    def __init__(self, params: Iterable[Tensor], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not all(isinstance(p, Tensor) and p.requires_grad for p in self.params):
            raise ValueError(f"{type(self).__name__}: every parameter must be a Tensor with requires_grad=True")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be > 0, got {lr}")
        self.lr = float(lr)
        self.steps = 0

    def zero_grad(self) -> None:
        """Forget the parameters' gradients (set them to None)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        return {}

    def state_dict(self) -> dict:
        """The optimizer's state: ``lr``, step count and per-parameter buffers (copies)."""
        return {"lr": self.lr, "steps": self.steps,
                "buffers": {k: [a.copy() for a in v] for k, v in self._state_arrays().items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (for resuming a run exactly)."""
        mine = self._state_arrays()
        buffers = state.get("buffers", {})
        if set(buffers) != set(mine):
            raise CheckpointError(f"{type(self).__name__}: optimizer state has buffers {sorted(buffers)}, "
                                  f"expected {sorted(mine)}")
        for key, arrays in mine.items():
            if len(buffers[key]) != len(arrays) or any(
                    a.shape != np.shape(b) for a, b in zip(arrays, buffers[key], strict=True)):
                raise CheckpointError(f"{type(self).__name__}: optimizer buffer {key!r} does not fit the parameters")
            for a, b in zip(arrays, buffers[key], strict=True):
                np.copyto(a, b, casting="same_kind")
        self.lr, self.steps = float(state["lr"]), int(state["steps"])


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g`` (with optional momentum, Nesterov, L2 weight decay).

    With momentum ``m``: ``v = m * v + g``; the step uses ``v`` (or ``g + m * v``
    with ``nesterov=True``), as PyTorch's SGD does.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False):
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.velocity = [np.zeros_like(p.data) for p in self.params] if momentum else []

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        return {"velocity": self.velocity} if self.momentum else {}

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        self.steps += 1
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                v = self.velocity[i]
                v *= self.momentum
                v += g
                g = g + self.momentum * v if self.nesterov else v
            p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba): per-parameter steps scaled by running averages of g and g**2.

    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g**2``, then
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with the bias-corrected
    ``m_hat = m / (1 - b1**t)``, ``v_hat = v / (1 - b2**t)``. ``weight_decay`` adds
    ``weight_decay * p`` to ``g`` (L2, as PyTorch's Adam).
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        given = tuple(betas)  # any sequence of two numbers, e.g. a list read back from JSON
        if len(given) != 2 or not all(0 <= b < 1 for b in given):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {given}")
        if eps <= 0 or weight_decay < 0:
            raise ValueError(f"Adam: eps must be > 0 and weight_decay >= 0, got eps={eps}, weight_decay={weight_decay}")
        self.betas, self.eps, self.weight_decay = (given[0], given[1]), eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        # steps taken by each parameter (a parameter without a gradient is not stepped), for the bias corrections
        self.t = [np.zeros((), dtype=np.int64) for _ in self.params]

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        return {"m": self.m, "v": self.v, "t": self.t}

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        self.steps += 1
        b1, b2 = self.betas
        for p, m, v, t in zip(self.params, self.m, self.v, self.t, strict=True):
            if p.grad is None:
                continue
            t += 1
            step_size = self.lr / (1 - b1 ** int(t))
            v_correction = math.sqrt(1 - b2 ** int(t))
            g = p.grad.data
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            # m_hat / (sqrt(v_hat) + eps), with both corrections folded into step_size and v_correction
            p.data -= step_size * m / (np.sqrt(v) / v_correction + self.eps)


class StepLR:
    """Multiply the optimizer's ``lr`` by ``gamma`` every ``step_size`` calls to :meth:`step` (once per epoch)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1 or gamma <= 0:
            raise ValueError(f"StepLR: step_size must be >= 1 and gamma > 0, got {step_size}, {gamma}")
        self.optimizer, self.step_size, self.gamma = optimizer, step_size, gamma
        self.base_lr, self.epoch = optimizer.lr, 0

    def step(self) -> float:
        self.epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.epoch // self.step_size)
        return self.optimizer.lr


class CosineLR:
    """Anneal ``lr`` from its initial value to ``min_lr`` along half a cosine over ``total`` calls to :meth:`step`."""

    def __init__(self, optimizer: Optimizer, total: int, min_lr: float = 0.0):
        if total < 1 or min_lr < 0:
            raise ValueError(f"CosineLR: total must be >= 1 and min_lr >= 0, got {total}, {min_lr}")
        self.optimizer, self.total, self.min_lr = optimizer, total, min_lr
        self.base_lr, self.epoch = optimizer.lr, 0

    def step(self) -> float:
        self.epoch = min(self.epoch + 1, self.total)
        cos = (1 + math.cos(math.pi * self.epoch / self.total)) / 2
        self.optimizer.lr = self.min_lr + (self.base_lr - self.min_lr) * cos
        return self.optimizer.lr
