"""``tm.optim.lr_scheduler``: PyTorch's learning-rate schedules, by name and signature.

Each sets every parameter group's ``lr`` from the group's starting value (``base_lrs``) and the count of
``step()`` calls (``last_epoch``), in closed form, as PyTorch's do when nothing else changes the lr:
``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``CosineAnnealingLR``, ``LambdaLR``, ``LinearLR``; and
``ReduceLROnPlateau``, which steps on a metric. ``get_last_lr()`` gives the lrs set last, one per group.
The library's shorter spellings stay: ``optim.StepLR`` is this ``StepLR``, ``optim.CosineLR(total, min_lr)``
is ``CosineAnnealingLR(T_max, eta_min)`` held at its end instead of rising again.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .. import engine
from ..errors import ArgumentError, CheckpointError
from ._numbers import number as _number

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineLR", "LambdaLR",
           "LinearLR", "ReduceLROnPlateau"]


def _count(value, what: str, low: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ArgumentError(f"{what} must be an int >= {low}, got {value!r}")
    return int(value)


def _check_optimizer(optimizer, what: str) -> None:
    # an optimizer by what a schedule uses of it (importing the Optimizer class here would be an import cycle)
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, dict) and "lr" in g for g in groups):
        raise ArgumentError(f"{what}: expected an optimizer (with param_groups), got {type(optimizer).__name__}")


class LRScheduler:
    """Base of the schedules: ``lr = factor(last_epoch) * base_lr`` for each group, set at each :meth:`step`.

    ``last_epoch=-1`` (PyTorch's default) starts a schedule; resuming goes through :meth:`load_state_dict`.
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        _check_optimizer(optimizer, type(self).__name__)
        if last_epoch != -1:
            raise ArgumentError(f"{type(self).__name__}: last_epoch={last_epoch!r}; to resume a schedule, make it "
                                "with the default and call load_state_dict(state)")
        self.optimizer = optimizer
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = list(self.base_lrs)

    @property
    def epoch(self) -> int:
        """The number of :meth:`step` calls so far (``last_epoch``)."""
        return self.last_epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.last_epoch = int(value)

    @property
    def base_lr(self) -> float:
        return self.base_lrs[0]

    def _lr(self, base: float) -> float:
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set (the starting ones before any), one per group."""
        return list(self._last_lr)

    def _set(self) -> float:
        if not engine.quiet and engine.state.listeners:  # a compiled step that steps a schedule runs eagerly
            engine.announce("effect", f"{type(self).__name__}.step() changes the learning rate, which a replay "
                            "would not do: step the schedule outside the compiled step")
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self._lr(base)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]
        return self._last_lr[0]

    def step(self) -> float:
        """Count one epoch and set the groups' lrs; returns the first group's."""
        self.last_epoch += 1
        return self._set()

    def state_dict(self) -> dict:
        """``epoch`` and ``base_lrs``: what the schedule needs to continue where it was."""
        return {"epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: Mapping) -> None:
        """Restore :meth:`state_dict`'s result (and the optimizer's lrs that follow from it)."""
        name = type(self).__name__
        if not isinstance(state, Mapping) or not {"epoch", "base_lrs"} <= set(state):
            raise CheckpointError(f"{name}: scheduler state must have 'epoch' and 'base_lrs', got {state!r}")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise CheckpointError(f"{name}: scheduler state has {len(state['base_lrs'])} learning rates for "
                                  f"{len(self.optimizer.param_groups)} parameter groups")
        self.last_epoch, self.base_lrs = int(state["epoch"]), [float(b) for b in state["base_lrs"]]
        if self.last_epoch:
            self._set()


class StepLR(LRScheduler):
    """``lr = base * gamma ** (epoch // step_size)``: divided by ``1/gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = _count(step_size, "StepLR: step_size")
        self.gamma = _number(gamma, "StepLR: gamma", low_ok=False)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base: float) -> float:
        return base * self.gamma ** (self.last_epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """``lr = base * gamma ** (number of milestones <= epoch)``."""

    def __init__(self, optimizer, milestones: Sequence[int], gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = sorted(_count(m, "MultiStepLR: each milestone", low=0) for m in milestones)
        self.gamma = _number(gamma, "MultiStepLR: gamma", low_ok=False)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base: float) -> float:
        return base * self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch)


class ExponentialLR(LRScheduler):
    """``lr = base * gamma ** epoch``."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _number(gamma, "ExponentialLR: gamma", low_ok=False)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base: float) -> float:
        return base * self.gamma ** self.last_epoch


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2``: half a cosine down to ``eta_min`` in
    ``T_max`` steps, then up again (PyTorch's; :class:`CosineLR` stays at ``eta_min`` instead)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = _count(T_max, f"{type(self).__name__}: T_max")
        self.eta_min = _number(eta_min, f"{type(self).__name__}: eta_min")
        super().__init__(optimizer, last_epoch)

    def _lr(self, base: float) -> float:
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2


class CosineLR(CosineAnnealingLR):
    """The library's cosine schedule: ``CosineAnnealingLR(T_max=total, eta_min=min_lr)`` that stays at ``min_lr``
    after ``total`` steps (the CLI's ``--lr-schedule cosine``)."""

    def __init__(self, optimizer, total: int, min_lr: float = 0.0):
        super().__init__(optimizer, T_max=total, eta_min=min_lr)

    @property
    def total(self) -> int:
        return self.T_max

    @property
    def min_lr(self) -> float:
        return self.eta_min

    def step(self) -> float:
        """Count one epoch (up to ``total``); returns the new lr (of the first group)."""
        self.last_epoch = min(self.last_epoch + 1, self.T_max)
        return self._set()


class LambdaLR(LRScheduler):
    """``lr = base * lr_lambda(epoch)``; ``lr_lambda`` a function or one per group."""

    def __init__(self, optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1):
        groups = len(getattr(optimizer, "param_groups", ()))
        fns: list = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if not all(callable(f) for f in fns) or (groups and len(fns) != groups):
            raise ArgumentError(f"LambdaLR: lr_lambda must be a function or one per parameter group ({groups})")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def _set(self) -> float:
        self._group = 0
        return super()._set()

    def _lr(self, base: float) -> float:
        fn = self.lr_lambdas[self._group]
        self._group += 1
        return base * float(fn(self.last_epoch))


class LinearLR(LRScheduler):
    """``lr = base * factor``, the factor going linearly from ``start_factor`` to ``end_factor`` in
    ``total_iters`` steps, then staying there."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        self.start_factor = _number(start_factor, "LinearLR: start_factor", low_ok=False, high=1.0)
        self.end_factor = _number(end_factor, "LinearLR: end_factor", high=1.0)
        self.total_iters = _count(total_iters, "LinearLR: total_iters")
        super().__init__(optimizer, last_epoch)
        self._set()  # PyTorch's LinearLR applies start_factor at construction

    def _lr(self, base: float) -> float:
        t = min(self.last_epoch, self.total_iters) / self.total_iters
        return base * (self.start_factor + (self.end_factor - self.start_factor) * t)


class ReduceLROnPlateau:
    """Multiply each group's lr by ``factor`` when ``step(metric)`` has not improved for ``patience`` steps.

    PyTorch's rules: improvement beyond ``threshold`` (relative with ``threshold_mode="rel"``, absolute with
    "abs"), in direction ``mode`` ("min" or "max"); ``cooldown`` steps of rest after a reduction; no lr below
    ``min_lr`` (a number or one per group); a change smaller than ``eps`` is skipped.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8):
        _check_optimizer(optimizer, "ReduceLROnPlateau")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ArgumentError(f"ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode 'rel' or "
                                f"'abs', got {mode!r}, {threshold_mode!r}")
        self.factor = _number(factor, "ReduceLROnPlateau: factor", high=1.0, high_ok=False)
        self.optimizer, self.mode, self.threshold_mode = optimizer, mode, threshold_mode
        self.patience = _count(patience, "ReduceLROnPlateau: patience", low=0)
        self.cooldown = _count(cooldown, "ReduceLROnPlateau: cooldown", low=0)
        self.threshold = _number(threshold, "ReduceLROnPlateau: threshold")
        self.eps = _number(eps, "ReduceLROnPlateau: eps")
        groups = len(optimizer.param_groups)
        lows = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        if len(lows) != groups:
            raise ArgumentError(f"ReduceLROnPlateau: min_lr has {len(lows)} values for {groups} parameter groups")
        self.min_lrs = [_number(v, "ReduceLROnPlateau: min_lr") for v in lows]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _better(self, value: float) -> bool:
        if self.threshold_mode == "rel":
            margin = self.best * self.threshold if math.isfinite(self.best) else 0.0
            return value < self.best - margin if self.mode == "min" else value > self.best + margin
        return value < self.best - self.threshold if self.mode == "min" else value > self.best + self.threshold

    def step(self, metrics: float) -> None:
        """Record this epoch's ``metrics`` (a number, e.g. the validation loss) and reduce the lrs if due."""
        value = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new = max(group["lr"] * self.factor, low)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The groups' learning rates after the last :meth:`step`."""
        return list(self._last_lr)
