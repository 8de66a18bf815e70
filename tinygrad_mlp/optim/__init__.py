"""Optimizers (SGD, Adam, AdamW, RMSprop), parameter groups, learning-rate schedules and gradient clipping.

``step()`` reads each parameter's ``.grad`` and updates ``.data`` in place, so the
model, the optimizer and any other holder of the parameter see the new values.

Parameters are given as PyTorch takes them: an iterable of Tensors, or a list of
dicts (parameter groups), each with its ``"params"`` and any hyperparameter that
differs from the optimizer's defaults::

    AdamW([{"params": model.layers[0].parameters(), "lr": 1e-2},
           {"params": biases, "weight_decay": 0.0}], lr=1e-3, weight_decay=1e-2)

``optimizer.param_groups`` is that list of dicts, completed with the defaults;
``optimizer.lr`` reads the first group's lr and sets every group's.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Mapping

import numpy as np

from .. import engine
from ..errors import ArgumentError, CheckpointError
from ..tensor_core import Tensor
from . import lr_scheduler  # PyTorch's path, tm.optim.lr_scheduler; its schedules are re-exported here too
from ._numbers import number as _number
from .lr_scheduler import (
    CosineAnnealingLR,
    CosineLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
    StepLR,
)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "clip_grad_norm_", "lr_scheduler", "LRScheduler", "StepLR",
           "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineLR", "LambdaLR", "LinearLR", "ReduceLROnPlateau"]


class _Running(threading.local):
    """How many announced methods this thread is running now (counted only while someone listens)."""

    def __init__(self) -> None:
        self.count = 0


_running = _Running()


def _announced(method):
    """``method`` (``step`` or ``zero_grad``), announced first to this thread's engine listeners (``on_optimizer``)
    when there are any: ``tm.compile`` hears them to make the same calls when it replays a step. A subclass's method
    calling its parent's is announced once. After a ``step`` the parameters count as changed in place
    (``engine.changed_in_place``: a graph recorded before cannot be walked through them, as with PyTorch's version
    counter)."""
    step = method.__name__ == "step"

    @functools.wraps(method)
    def announced(self, *args, **kwargs):
        if engine.quiet or not engine.state.listeners:
            result = method(self, *args, **kwargs)
        else:
            here = _running
            if not here.count:
                engine.announce("optimizer", self, method.__name__)
            here.count += 1
            try:
                result = method(self, *args, **kwargs)
            finally:
                here.count -= 1
        if step:
            engine.changed_in_place(*self.params)
        return result

    announced.announced = True  # type: ignore[attr-defined]
    return announced


class _Group(dict):
    """A parameter group: a dict that notes when a hyperparameter is set, so ``step()`` checks it again."""

    changed = True

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.changed = True

    def update(self, *args, **kwargs) -> None:
        super().update(*args, **kwargs)
        self.changed = True

    def setdefault(self, key, default=None):
        self.changed = True
        return super().setdefault(key, default)


class Optimizer:
    """Base class: holds the parameter groups and per-parameter state arrays.

    ``defaults`` are the hyperparameters (``lr`` among them) a group takes unless it names its own.
    Subclasses check a group's hyperparameters in :meth:`_check_group` (this one checks ``lr`` and, when
    there is one, ``weight_decay``): when the group is made, and again at the next ``step()`` after any of
    them is set (``opt.param_groups[0]["momentum"] = 1.5`` is refused there, in one line).
    ``state[name][i]`` is the state array ``name`` of the i-th parameter (flat order over the groups), made
    by :meth:`_state` when a step first needs it (so momentum switched on mid-run starts from zeros, as
    PyTorch's buffers do). Subclasses name the arrays they may make in ``state_names``.
    ``step`` and ``zero_grad`` are announced to the engine's listeners (``engine.announce("optimizer", ...)``;
    wrapped once, when the subclass is defined).
    """

    state_names: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("step", "zero_grad"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "announced", False):
                setattr(cls, name, _announced(method))

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise ArgumentError(f"{type(self).__name__}: params must be an iterable of Tensors (or of dicts), "
                                "not one Tensor; wrap it in a list")
        try:
            items = list(params)
        except TypeError:
            raise ArgumentError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, "
                                f"got {type(params).__name__}") from None
        if not items:
            raise ArgumentError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(defaults, Mapping) or "lr" not in defaults:
            raise ArgumentError(f"{type(self).__name__}: defaults must be a dict with at least 'lr', got {defaults!r}")
        if not all(isinstance(g, Mapping) for g in items):
            if any(isinstance(g, Mapping) for g in items):
                raise ArgumentError(f"{type(self).__name__}: give either Tensors or parameter-group dicts, not both")
            items = [{"params": items}]
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        seen: set[int] = set()
        for group in items:
            self._add_group(dict(group), seen)
        self.params = [p for g in self.param_groups for p in g["params"]]
        self.steps = 0
        self.state: dict[str, list[np.ndarray | None]] = {}

    def _add_group(self, group: dict, seen: set[int]) -> None:
        name = type(self).__name__
        if "params" not in group:
            raise ArgumentError(f"{name}: a parameter group needs a 'params' entry")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ArgumentError(f"{name}: unknown hyperparameters {sorted(unknown)} in a parameter group; "
                                f"known: {sorted(self.defaults)}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ArgumentError(f"{name}: a parameter group has an empty parameter list")
        if not all(isinstance(p, Tensor) and p.requires_grad for p in params):
            raise ArgumentError(f"{name}: every parameter must be a Tensor with requires_grad=True")
        for p in params:
            if id(p) in seen:  # stepping it twice per step would be a silent double update
                raise ArgumentError(f"{name}: a parameter appears twice (in one group or in two)")
            seen.add(id(p))
        full = _Group({**self.defaults, **group, "params": params})
        self._check_group(full)
        full.changed = False
        self.param_groups.append(full)

    def _checked_group(self, mine: dict, saved) -> dict:
        """A saved group's hyperparameters, checked as the constructor checks them (and finite): CheckpointError."""
        name = type(self).__name__
        if not isinstance(saved, Mapping) or not set(saved) - {"params"} <= set(mine) - {"params"}:
            keys = sorted(saved) if isinstance(saved, Mapping) else type(saved).__name__
            raise CheckpointError(f"{name}: a saved parameter group has hyperparameters {keys}, this optimizer's "
                                  f"are {sorted(set(mine) - {'params'})}")
        group = {**mine, **{k: v for k, v in saved.items() if k != "params"}}
        try:
            self._check_group(group)
            values = [v for k, v in group.items() if k != "params" and not isinstance(v, bool)]
            if not all(math.isfinite(x) for v in values for x in (v if isinstance(v, tuple) else (v,))
                       if isinstance(x, (int, float))):
                raise ArgumentError(f"{name}: hyperparameters must be finite, got {values}")
        except ArgumentError as e:
            raise CheckpointError(f"saved optimizer state: {e}") from None
        return {k: v for k, v in group.items() if k != "params"}

    def _check_group(self, group: dict) -> None:
        name = type(self).__name__
        group["lr"] = _number(group["lr"], f"{name}: learning rate", low_ok=False)
        if "weight_decay" in group:  # every built-in optimizer has one, and it means a number >= 0 in all of them
            group["weight_decay"] = _number(group["weight_decay"], f"{name}: weight_decay")

    @property
    def lr(self) -> float:
        """The first group's learning rate (setting it sets every group's)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = _number(value, f"{type(self).__name__}: learning rate", low_ok=True)
        for group in self.param_groups:
            group["lr"] = value

    @property
    def weight_decay(self) -> float:
        """The first group's weight decay (0.0 for an optimizer that has none)."""
        return self.param_groups[0].get("weight_decay", 0.0)

    def _indexed_groups(self):
        """``(group, [(flat index, parameter), ...])`` for each group: state arrays are kept in flat order.

        A group whose hyperparameters were set since they were last checked is checked again first.
        """
        i = 0
        for k, group in enumerate(self.param_groups):
            if getattr(group, "changed", True):
                if not isinstance(group, _Group):  # a plain dict put in by hand
                    group = self.param_groups[k] = _Group(group)
                self._check_group(group)
                group.changed = False
            n = len(group["params"])
            yield group, list(zip(range(i, i + n), group["params"], strict=True))
            i += n

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients: set them to None (default), or to zeros with ``set_to_none=False``."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor.wrap(np.zeros_like(p.grad.data))

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with ``"params"`` and any hyperparameters, the others from the
        defaults), as PyTorch's; a parameter already held is refused."""
        if not isinstance(param_group, Mapping):
            raise ArgumentError(f"{type(self).__name__}.add_param_group: expected a dict, got "
                                f"{type(param_group).__name__}")
        self._add_group(dict(param_group), {id(p) for p in self.params})
        added = self.param_groups[-1]["params"]
        self.params.extend(added)
        for arrays in self.state.values():  # the new parameters' state is made on first use, as the others'
            arrays.extend([None] * len(added))

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def step(self) -> None:
        raise NotImplementedError

    def _state(self, name: str, i: int) -> np.ndarray:
        """The state array ``name`` of the i-th parameter, made (zeros, see :meth:`_new_state`) on first use."""
        arrays = self.state.get(name)
        if arrays is None:
            arrays = self.state[name] = [None] * len(self.params)
        a = arrays[i]
        if a is None:
            a = arrays[i] = self._new_state(name, self.params[i].data)
        return a

    def _new_state(self, name: str, p: np.ndarray) -> np.ndarray:
        """A fresh state array ``name`` for a parameter of array ``p``: zeros of its shape and dtype."""
        return np.zeros_like(p)

    def _needed_state(self) -> list[str]:
        """The state arrays the current hyperparameters use (those :meth:`state_dict` saves)."""
        return list(self.state_names)

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        """Every state array the hyperparameters use or a step has made, zeros (their first value) if not yet made."""
        names = [*self._needed_state(), *(n for n in self.state if n not in self._needed_state())]
        return {name: [self._state(name, i) for i in range(len(self.params))] for name in names}

    def state_dict(self) -> dict:
        """The state: ``lr``, step count, each group's hyperparameters and per-parameter buffers (copies)."""
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        return {"lr": self.lr, "steps": self.steps, "param_groups": groups,
                "buffers": {k: [a.copy() for a in v] for k, v in self._state_arrays().items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (for resuming a run exactly). Nothing changes if it does not fit."""
        name = type(self).__name__
        if not isinstance(state, Mapping) or not {"lr", "steps"} <= set(state):
            keys = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise CheckpointError(f"{name}: optimizer state must have 'lr' and 'steps' (and 'buffers'), got {keys}")
        buffers = state.get("buffers", {})
        if not isinstance(buffers, Mapping) or not set(self._needed_state()) <= set(buffers) <= set(self.state_names):
            raise CheckpointError(f"{name}: optimizer state has buffers {sorted(buffers)}, expected "
                                  f"{sorted(self._needed_state())} (and maybe some of {sorted(self.state_names)})")
        for key in buffers:
            shapes = [self._new_state(key, p.data).shape for p in self.params]
            if len(buffers[key]) != len(shapes) or any(
                    s != np.shape(b) for s, b in zip(shapes, buffers[key], strict=True)):
                raise CheckpointError(f"{name}: optimizer buffer {key!r} does not fit the parameters")
        groups = state.get("param_groups")
        if groups is not None and (not isinstance(groups, (list, tuple)) or len(groups) != len(self.param_groups)):
            count = len(groups) if isinstance(groups, (list, tuple)) else "?"
            raise CheckpointError(f"{name}: optimizer state has {count} parameter groups, "
                                  f"this optimizer {len(self.param_groups)}")
        checked = [] if groups is None else [self._checked_group(g, s) for g, s in
                                             zip(self.param_groups, groups, strict=True)]
        lr = _number(state["lr"], f"{name}: saved learning rate", low_ok=False, high=1e300)
        self.state = {}  # a buffer the saved state lacks was not made yet: zeros, on first use
        for key, arrays in buffers.items():
            for i, b in enumerate(arrays):
                np.copyto(self._state(key, i), b, casting="same_kind")
        for mine_g, group in zip(self.param_groups, checked, strict=True):
            mine_g.update(group)
        if groups is None or lr != self.lr:
            self.lr = lr  # a state without groups (older), or whose "lr" was edited: one lr for all
        self.steps = int(state["steps"])


Optimizer.zero_grad = _announced(Optimizer.zero_grad)  # type: ignore[method-assign]


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g`` (with optional momentum, Nesterov, L2 weight decay).

    With momentum ``m``: ``v = m * v + (1 - dampening) * g`` (the first step ``v = g``); the step uses ``v``
    (or ``g + m * v`` with ``nesterov=True``), as PyTorch's SGD does. Hyperparameters may differ per group.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        group["momentum"] = _number(group["momentum"], "SGD: momentum", high=1.0, high_ok=False)
        group["dampening"] = _number(group["dampening"], "SGD: dampening", high=1.0)
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ArgumentError("SGD: nesterov=True needs momentum > 0 and dampening 0 (as PyTorch's)")

    state_names = ("velocity",)

    @property
    def momentum(self) -> float:
        return self.param_groups[0]["momentum"]

    def _needed_state(self) -> list[str]:
        return ["velocity"] if any(g["momentum"] for g in self.param_groups) else []

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        self.steps += 1
        for group, indexed in self._indexed_groups():
            lr, momentum, wd, nesterov = group["lr"], group["momentum"], group["weight_decay"], group["nesterov"]
            dampening = group["dampening"]
            for i, p in indexed:
                if p.grad is None:
                    continue
                g = p.grad.data
                if wd:
                    g = g + wd * p.data
                if momentum:
                    fresh = self.state.get("velocity") is None or self.state["velocity"][i] is None
                    v = self._state("velocity", i)
                    v *= momentum
                    # PyTorch's buffer starts as the first gradient itself, undamped; later ones are damped
                    v += g if fresh or not dampening else (1 - dampening) * g
                    g = g + momentum * v if nesterov else v
                p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba): per-parameter steps scaled by running averages of g and g**2.

    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g**2``, then
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with the bias-corrected
    ``m_hat = m / (1 - b1**t)``, ``v_hat = v / (1 - b2**t)``. ``weight_decay`` adds
    ``weight_decay * p`` to ``g`` (L2, as PyTorch's Adam; see :class:`AdamW` for the decoupled form). With
    ``amsgrad=True`` the denominator uses the largest ``v`` seen so far (Reddi et al.), as PyTorch's.
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad})

    # m, v: the running averages of g and g**2; t: the steps each parameter has taken (one without a gradient is
    # not stepped), for the bias corrections
    state_names = ("m", "v", "t", "v_max")  # v_max: the largest v so far, with amsgrad

    def _needed_state(self) -> list[str]:
        return ["m", "v", "t", *(["v_max"] if any(g["amsgrad"] for g in self.param_groups) else [])]

    def _new_state(self, name: str, p: np.ndarray) -> np.ndarray:
        return np.zeros((), dtype=np.int64) if name == "t" else np.zeros_like(p)

    @property
    def m(self) -> list:
        return self._state_arrays()["m"]

    @property
    def v(self) -> list:
        return self._state_arrays()["v"]

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        name = type(self).__name__
        try:
            betas = tuple(group["betas"])
        except TypeError:
            betas = ()
        if len(betas) != 2:
            raise ArgumentError(f"{name}: betas must be two numbers in [0, 1), got {group['betas']!r}")
        group["betas"] = tuple(_number(b, f"{name}: betas", high=1.0, high_ok=False) for b in betas)
        group["eps"] = _number(group["eps"], f"{name}: eps", low_ok=False)
        group["amsgrad"] = bool(group["amsgrad"])

    @property
    def betas(self) -> tuple[float, float]:
        return self.param_groups[0]["betas"]

    @property
    def eps(self) -> float:
        return self.param_groups[0]["eps"]

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        self.steps += 1
        for group, indexed in self._indexed_groups():
            lr, (b1, b2), eps, wd, amsgrad = (group["lr"], group["betas"], group["eps"], group["weight_decay"],
                                              group["amsgrad"])
            for i, p in indexed:
                if p.grad is None:
                    continue
                m, v, t = self._state("m", i), self._state("v", i), self._state("t", i)
                t += 1
                step_size = lr / (1 - b1 ** int(t))
                v_correction = math.sqrt(1 - b2 ** int(t))
                g = p.grad.data
                if wd:
                    if self._decoupled:
                        p.data *= 1 - lr * wd  # AdamW: shrink the weight itself, outside the adaptive scaling
                    else:
                        g = g + wd * p.data
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * (g * g)
                if amsgrad:  # AMSGrad: the denominator uses the largest v so far, so steps never grow back
                    v = np.maximum(self._state("v_max", i), v, out=self._state("v_max", i))
                # m_hat / (sqrt(v_hat) + eps), with both corrections folded into step_size and v_correction
                p.data -= step_size * m / (np.sqrt(v) / v_correction + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW.

    Each step first shrinks the weight, ``p -= lr * weight_decay * p``, then takes Adam's step on the plain
    gradient, so the decay is not scaled by the adaptive ``1 / sqrt(v_hat)``. Default ``weight_decay=1e-2``.
    Give biases and norm weights a group with ``"weight_decay": 0.0`` to leave them undecayed.
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class RMSprop(Optimizer):
    """RMSprop (Hinton), as PyTorch's: steps scaled by a running root mean square of the gradient.

    ``s = alpha s + (1 - alpha) g**2``; with ``centered``, ``a = alpha a + (1 - alpha) g`` and the scale is
    ``sqrt(s - a**2)``, else ``sqrt(s)``; ``d = g / (scale + eps)``; with momentum ``b = momentum b + d`` and
    ``p -= lr b``, else ``p -= lr d``. ``weight_decay`` adds ``weight_decay * p`` to ``g`` (L2).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered})

    state_names = ("square_avg", "grad_avg", "momentum_buffer")

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        group["alpha"] = _number(group["alpha"], "RMSprop: alpha", high=1.0)
        group["eps"] = _number(group["eps"], "RMSprop: eps", low_ok=False)
        group["momentum"] = _number(group["momentum"], "RMSprop: momentum", high=1.0, high_ok=False)
        group["centered"] = bool(group["centered"])

    def _needed_state(self) -> list[str]:
        return ["square_avg", *(["grad_avg"] if any(g["centered"] for g in self.param_groups) else []),
                *(["momentum_buffer"] if any(g["momentum"] for g in self.param_groups) else [])]

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        self.steps += 1
        for group, indexed in self._indexed_groups():
            lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            momentum, centered = group["momentum"], group["centered"]
            for i, p in indexed:
                if p.grad is None:
                    continue
                g = p.grad.data
                if wd:
                    g = g + wd * p.data
                s = self._state("square_avg", i)
                s *= alpha
                s += (1 - alpha) * (g * g)
                if centered:
                    a = self._state("grad_avg", i)
                    a *= alpha
                    a += (1 - alpha) * g
                    scale = np.sqrt(s - a * a)
                else:
                    scale = np.sqrt(s)
                d = g / (scale + eps)
                if momentum:
                    b = self._state("momentum_buffer", i)
                    b *= momentum
                    b += d
                    d = b
                p.data -= lr * d


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale the gradients of ``parameters`` in place so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one vector (``norm_type`` 2 by
    default; ``float("inf")`` for the largest absolute value). When it exceeds ``max_norm`` every gradient is
    multiplied by ``max_norm / (norm + 1e-6)``, as PyTorch does. Parameters without a gradient are skipped.
    Returns the norm before clipping. A non-finite norm raises ``ArgumentError`` when ``error_if_nonfinite``.
    Inside a step given to ``tm.compile`` it makes that step run eagerly (a replay would skip it).
    """
    # it reads and scales .grad in numpy, which a recording cannot see: a replay would leave the gradients unclipped
    if not engine.quiet and engine.state.listeners:
        engine.announce("effect", "clip_grad_norm_ scales the gradients in place, which a replay would not do")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not all(isinstance(p, Tensor) for p in params):
        raise ArgumentError("clip_grad_norm_: parameters must be Tensors")
    max_norm = _number(max_norm, "clip_grad_norm_: max_norm")
    norm_type = _number(norm_type, "clip_grad_norm_: norm_type", low_ok=False)
    grads = [p.grad.data for p in params if p.grad is not None]
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    if not math.isfinite(total) and error_if_nonfinite:
        raise ArgumentError(f"clip_grad_norm_: the gradients' total norm is {total}; clipping cannot fix that")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            if p.grad is not None:
                if p.grad.requires_grad or not p.grad.data.flags.writeable:
                    p.grad = Tensor.wrap(p.grad.data * np.asarray(coef, dtype=p.grad.dtype))
                else:
                    p.grad.data *= np.asarray(coef, dtype=p.grad.dtype)
    return total

