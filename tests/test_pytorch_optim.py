"""Optimizers under PyTorch's names and behaviours (issue 23): SGD's ``dampening``, Adam's ``amsgrad``,
``add_param_group``, ``zero_grad(set_to_none=...)``, a repr with the hyperparameters; compared step by step
with PyTorch when it is installed. Red on 411df7f: none of these existed (``dampening=``/``amsgrad=`` were
refused, the repr was ``<... object at 0x...>``).
"""

from __future__ import annotations

import numpy as np
import pytest

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



def test_bad_hyperparameters_are_refused_in_one_line():
    for call in [lambda: SGD(_pair()[0], lr=0.1, momentum=0.9, dampening=0.5, nesterov=True),
                 lambda: SGD(_pair()[0], lr=0.1, momentum=0.9, dampening=1.5),
                 lambda: SGD(_pair()[0], lr=0.1).add_param_group([])]:
        with pytest.raises(TinygradMLPError) as info:
            call()
        assert "\n" not in str(info.value)
