"""Optimizers and schedules under PyTorch's names and behaviours (issues 23 and 28): SGD's ``dampening``, Adam's
``amsgrad``, ``add_param_group``, ``zero_grad(set_to_none=...)``, a repr with the hyperparameters, and
``tm.optim.lr_scheduler``; compared step by step with PyTorch when it is installed. Red on 411df7f: none of
these existed (``dampening=``/``amsgrad=`` were refused, the repr was ``<... object at 0x...>``).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor, TinygradMLPError
from tinygrad_mlp.optim import SGD, Adam, AdamW

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (an optional test oracle)")
RNG = np.random.default_rng(4)


def _pair(shapes=((3, 2), (2,))):
    values = [RNG.standard_normal(s) for s in shapes]
    return ([Tensor(v.copy(), requires_grad=True) for v in values],
            [torch.tensor(v.copy(), requires_grad=True) for v in values] if torch is not None else None)


def _run(ours_opt, ours, theirs_opt, theirs, steps=6):
    for k in range(steps):
        grads = [RNG.standard_normal(p.shape) for p in ours]
        for p, q, g in zip(ours, theirs, grads, strict=True):
            p.grad, q.grad = Tensor(g.copy()), torch.tensor(g.copy())
        ours_opt.step()
        theirs_opt.step()
        for p, q in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=f"step {k}")


@needs_torch
@pytest.mark.parametrize("kwargs", [{"momentum": 0.9, "dampening": 0.5}, {"momentum": 0.8, "dampening": 0.1,
                                                                          "weight_decay": 0.01},
                                    {"momentum": 0.9, "nesterov": True}])
def test_sgd_dampening_matches_pytorch(kwargs):
    ours, theirs = _pair()
    _run(SGD(ours, lr=0.1, **kwargs), ours, torch.optim.SGD(theirs, lr=0.1, **kwargs), theirs)


@needs_torch
@pytest.mark.parametrize("cls,kwargs", [(Adam, {"amsgrad": True}), (Adam, {"amsgrad": True, "weight_decay": 0.1}),
                                        (AdamW, {"amsgrad": True})])
def test_amsgrad_matches_pytorch(cls, kwargs):
    ours, theirs = _pair()
    _run(cls(ours, lr=0.05, **kwargs), ours, getattr(torch.optim, cls.__name__)(theirs, lr=0.05, **kwargs), theirs,
         steps=10)


@needs_torch
def test_add_param_group_matches_pytorch():
    ours, theirs = _pair()
    extra_ours, extra_theirs = _pair(((4,),))
    o, t = Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    _run(o, ours, t, theirs, steps=2)
    o.add_param_group({"params": extra_ours, "lr": 0.1})
    t.add_param_group({"params": extra_theirs, "lr": 0.1})
    assert o.param_groups[1]["lr"] == 0.1 and o.param_groups[1]["betas"] == (0.9, 0.999)
    _run(o, ours + extra_ours, t, theirs + extra_theirs, steps=3)
    with pytest.raises(TinygradMLPError, match="twice"):
        o.add_param_group({"params": ours[:1]})


def test_zero_grad_set_to_none():
    params, _ = _pair()
    opt = SGD(params, lr=0.1)
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() and p.grad.shape == p.shape for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


@needs_torch
def test_the_repr_lists_the_hyperparameters_as_pytorch():
    ours, theirs = _pair()
    assert repr(SGD(ours, lr=0.1, momentum=0.9)).startswith("SGD (\nParameter Group 0\n")
    text = repr(Adam(ours, lr=0.01, amsgrad=True))
    for line in ("Adam (", "Parameter Group 0", "    amsgrad: True", "    betas: (0.9, 0.999)", "    lr: 0.01"):
        assert line in text.splitlines()
    assert text.endswith("\n)")


SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 6], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.01}),
    ("LinearLR", {"start_factor": 0.25, "total_iters": 4}),
    ("LambdaLR", {"lr_lambda": lambda e: 1 / (1 + e)}),
]


@needs_torch
@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_lr_schedulers_match_pytorch(name, kwargs):  # red on 411df7f (no tm.optim.lr_scheduler)
    ours, theirs = _pair()
    o = SGD([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.5}], lr=0.1)
    t = torch.optim.SGD([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.5}], lr=0.1)
    s_ours = getattr(tm.optim.lr_scheduler, name)(o, **kwargs)
    s_theirs = getattr(torch.optim.lr_scheduler, name)(t, **kwargs)
    np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12)
    for _ in range(11):
        o.step(), t.step()
        s_ours.step(), s_theirs.step()
        np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12)
        assert [g["lr"] for g in o.param_groups] == s_ours.get_last_lr()


@needs_torch
def test_reduce_lr_on_plateau_matches_pytorch():
    ours, theirs = _pair()
    o, t = SGD(ours, lr=1.0), torch.optim.SGD(theirs, lr=1.0)
    s_ours = tm.optim.lr_scheduler.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=1, min_lr=0.1)
    s_theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(t, patience=2, factor=0.5, cooldown=1, min_lr=0.1)
    for loss in [5, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2]:
        s_ours.step(loss), s_theirs.step(loss)
        assert s_ours.get_last_lr() == pytest.approx(s_theirs.get_last_lr())


def test_the_librarys_schedules_are_the_same_classes():
    assert tm.optim.StepLR is tm.optim.lr_scheduler.StepLR
    opt = SGD(_pair()[0], lr=1.0)
    cos = tm.optim.CosineLR(opt, total=2, min_lr=0.0)
    assert [cos.step() for _ in range(4)] == pytest.approx([0.5, 0.0, 0.0, 0.0])  # held at the end
    assert isinstance(cos, tm.optim.lr_scheduler.CosineAnnealingLR)


def test_bad_schedules_are_refused_in_one_line():
    opt = SGD(_pair()[0], lr=1.0)
    for call in [lambda: tm.optim.lr_scheduler.StepLR(opt, 0), lambda: tm.optim.lr_scheduler.StepLR(opt, 2, last_epoch=3),
                 lambda: tm.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1, lambda e: 2]),
                 lambda: tm.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="up"),
                 lambda: SGD(_pair()[0], lr=0.1, momentum=0.9, dampening=0.5, nesterov=True).step()]:
        with pytest.raises(TinygradMLPError) as info:
            call()
        assert "\n" not in str(info.value)


def test_bad_hyperparameters_are_refused_in_one_line():
    for call in [lambda: SGD(_pair()[0], lr=0.1, momentum=0.9, dampening=0.5, nesterov=True),
                 lambda: SGD(_pair()[0], lr=0.1, momentum=0.9, dampening=1.5),
                 lambda: SGD(_pair()[0], lr=0.1).add_param_group([])]:
        with pytest.raises(TinygradMLPError) as info:
            call()
        assert "\n" not in str(info.value)


def test_the_schedules_have_one_home():
    from tinygrad_mlp.optim.lr_scheduler import StepLR
    assert StepLR is tm.optim.StepLR is tm.optim.lr_scheduler.StepLR
    assert tm.optim.lr_scheduler.__file__.endswith("lr_scheduler.py")
