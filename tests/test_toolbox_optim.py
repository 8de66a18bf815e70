"""Tests of the optimizers and tools added for issue 14: AdamW and RMSprop against PyTorch's documented update
rules written out in numpy, parameter groups, scheduler state, clip_grad_norm_."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_mlp import ArgumentError, CheckpointError, Tensor
from tinygrad_mlp.optim import SGD, Adam, AdamW, CosineLR, RMSprop, StepLR, clip_grad_norm_

from optim_cases import SHAPES, assert_matches, make_grads, make_params, run


def torch_adamw(params, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """torch.optim.AdamW as documented: p = p - lr * wd * p; then Adam's step on the plain gradient."""
    b1, b2 = betas
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            params[i] = params[i] - lr * weight_decay * params[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + eps)
    return params


def torch_rmsprop(params, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    """torch.optim.RMSprop as documented."""
    params = [p.copy() for p in params]
    sq = [np.zeros_like(p) for p in params]
    ga = [np.zeros_like(p) for p in params]
    buf = [np.zeros_like(p) for p in params]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            g = g + weight_decay * params[i]
            sq[i] = alpha * sq[i] + (1 - alpha) * g * g
            if centered:
                ga[i] = alpha * ga[i] + (1 - alpha) * g
                avg = np.sqrt(sq[i] - ga[i] ** 2) + eps
            else:
                avg = np.sqrt(sq[i]) + eps
            if momentum:
                buf[i] = momentum * buf[i] + g / avg
                params[i] = params[i] - lr * buf[i]
            else:
                params[i] = params[i] - lr * g / avg
    return params


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.05, weight_decay=0.1), dict(lr=0.01, betas=(0.8, 0.9))])
def test_adamw_matches_reference(kwargs):
    params, grads = make_params(), make_grads()
    expected = torch_adamw([p.data for p in params], grads, **kwargs)
    run(AdamW(params, **kwargs), params, grads)
    assert_matches(params, expected)


def test_adamw_decay_differs_from_adams_l2():
    a, b = make_params(), make_params()
    grads = make_grads()
    run(AdamW(a, lr=0.01, weight_decay=0.1), a, grads)
    run(Adam(b, lr=0.01, weight_decay=0.1), b, grads)
    assert not np.allclose(a[0].data, b[0].data)


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.01, momentum=0.9), dict(lr=0.01, centered=True),
                                    dict(lr=0.02, alpha=0.9, weight_decay=0.1, momentum=0.5, centered=True)])
def test_rmsprop_matches_reference(kwargs):
    params, grads = make_params(), make_grads()
    expected = torch_rmsprop([p.data for p in params], grads, **kwargs)
    run(RMSprop(params, **kwargs), params, grads)
    assert_matches(params, expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("make", [lambda ps, **k: SGD(ps, **k, momentum=0.9),
                                  lambda ps, **k: AdamW(ps, **k),
                                  lambda ps, **k: RMSprop(ps, **k, momentum=0.5)], ids=["sgd", "adamw", "rmsprop"])
def test_parameter_groups_equal_separate_optimizers(make):
    params, grads = make_params(), make_grads()
    opt = make([{"params": params[:2], "lr": 0.1, "weight_decay": 0.0},
                {"params": params[2:], "weight_decay": 0.05}], lr=0.01)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    run(opt, params, grads)
    ref = make_params()
    first, second = make(ref[:2], lr=0.1, weight_decay=0.0), make(ref[2:], lr=0.01, weight_decay=0.05)
    run(first, ref[:2], [g[:2] for g in grads])
    run(second, ref[2:], [g[2:] for g in grads])
    for p, r in zip(params, ref):
        np.testing.assert_allclose(p.data, r.data, rtol=1e-13, atol=1e-15)


def test_parameter_groups_state_round_trip_and_lr_property():
    params = make_params()
    opt = AdamW([{"params": params[:1], "lr": 0.1}, {"params": params[1:]}], lr=0.01)
    run(opt, params, make_grads(3))
    state = opt.state_dict()
    assert [g["lr"] for g in state["param_groups"]] == [0.1, 0.01]
    other = AdamW([{"params": make_params()[:1]}, {"params": make_params()[1:]}], lr=0.5)
    other.load_state_dict(state)
    assert [g["lr"] for g in other.param_groups] == [0.1, 0.01] and other.steps == 3
    opt.lr = 0.2  # setting lr sets every group's
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]
    with pytest.raises(CheckpointError):
        AdamW(make_params(), lr=0.1).load_state_dict(state)  # one group, two saved


def test_schedulers_scale_each_group_and_resume_from_state():
    params = make_params()
    opt = SGD([{"params": params[:1], "lr": 1.0}, {"params": params[1:]}], lr=0.1)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.5, 0.05])
    opt2 = SGD([{"params": params[:1], "lr": 1.0}, {"params": params[1:]}], lr=0.1)
    resumed = StepLR(opt2, step_size=2, gamma=0.5)
    resumed.load_state_dict(sched.state_dict())
    assert [g["lr"] for g in opt2.param_groups] == pytest.approx([0.5, 0.05])
    assert resumed.step() == sched.step() == pytest.approx(0.25)
    cos = CosineLR(SGD(make_params(), lr=1.0), total=4)
    cos.step()
    cos2 = CosineLR(SGD(make_params(), lr=1.0), total=4)
    cos2.load_state_dict(cos.state_dict())
    assert cos2.step() == cos.step() == pytest.approx((1 + math.cos(math.pi / 2)) / 2)
    with pytest.raises(CheckpointError):
        cos2.load_state_dict({"epoch": 1})


def test_clip_grad_norm():
    params = make_params()
    grads = make_grads(1)[0]
    for p, g in zip(params, grads):
        p.grad = Tensor(g.copy())
    total = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    assert clip_grad_norm_(params, 1.0) == pytest.approx(total)
    clipped = math.sqrt(sum(float((p.grad.data ** 2).sum()) for p in params))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    for p, g in zip(params, grads):  # the direction is kept
        np.testing.assert_allclose(p.grad.data, g * (1.0 / (total + 1e-6)), rtol=1e-12)
    before = [p.grad.data.copy() for p in params]
    assert clip_grad_norm_(params, 100.0) == pytest.approx(1.0, rel=1e-5)  # under the limit: untouched
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.grad.data, b)
    assert clip_grad_norm_(params, 0.5, norm_type=float("inf")) == pytest.approx(max(np.abs(b).max() for b in before))
    params[0].grad = Tensor(np.full(SHAPES[0], np.inf))
    with pytest.raises(ArgumentError):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_a_checkpoint_keeps_each_groups_hyperparameters(tmp_path):
    from tinygrad_mlp import checkpoint
    from tinygrad_mlp.nn import MLP

    model = MLP([3, 4, 2], seed=0, dtype=np.float64)
    params = model.parameters()
    opt = AdamW([{"params": params[:2], "lr": 0.1, "betas": (0.8, 0.9)}, {"params": params[2:], "weight_decay": 0.0}],
                lr=0.01)
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    checkpoint.save(model, tmp_path / "run.npz", optimizer=opt)
    resumed = AdamW([{"params": params[:2]}, {"params": params[2:]}], lr=0.5)
    resumed.load_state_dict(checkpoint.load(tmp_path / "run.npz").optimizer)
    assert [(g["lr"], g["weight_decay"], tuple(g["betas"])) for g in resumed.param_groups] == \
        [(0.1, 0.01, (0.8, 0.9)), (0.01, 0.0, (0.9, 0.999))]
    np.testing.assert_array_equal(resumed.m[0], opt.m[0])
