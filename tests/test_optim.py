"""Tests of tinygrad_mlp.optim: SGD and Adam against PyTorch's documented update rules written out in numpy,
state round trips, argument checks, and the learning-rate schedules.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_mlp import Tensor
from tinygrad_mlp.errors import ArgumentError, CheckpointError
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD, Adam, AdamW, CosineLR, Optimizer, RMSprop, StepLR

from optim_cases import assert_matches, make_grads, make_params, run

# ---------------------------------------------------------------- reference updates (PyTorch's documented rules)


def torch_sgd(params, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD, as documented:
    g = g + wd * p
    if momentum: b = g at the first step, else b = momentum * b + (1 - dampening) * g;
                 g = g + momentum * b if nesterov else b
    p = p - lr * g
    """
    params = [p.copy() for p in params]
    bufs = [None] * len(params)
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            g = g + weight_decay * params[i]
            if momentum:
                bufs[i] = g.copy() if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            params[i] = params[i] - lr * g
    return params


def torch_adam(params, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """torch.optim.Adam (amsgrad=False), as documented, with a per-parameter step count t:
    g = g + wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
    m_hat = m / (1 - b1^t); v_hat = v / (1 - b2^t); p = p - lr m_hat / (sqrt(v_hat) + eps)
    """
    b1, b2 = betas
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = [0] * len(params)
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            t[i] += 1
            g = g + weight_decay * params[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = m[i] / (1 - b1 ** t[i])
            v_hat = v[i] / (1 - b2 ** t[i])
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.02, momentum=0.8, weight_decay=0.1),
    dict(lr=0.02, momentum=0.5, weight_decay=0.1, nesterov=True),
]


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_sgd_matches_reference(kwargs):
    params, grads = make_params(), make_grads()
    expected = torch_sgd([p.data for p in params], grads, **kwargs)
    run(SGD(params, **kwargs), params, grads)
    assert_matches(params, expected)


ADAM_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.003, betas=(0.8, 0.99), eps=1e-6),
    # gradients of the size of eps: catches eps placed inside the sqrt or before the bias correction
    dict(lr=0.01, eps=1e-3, grad_scale=1e-3),
    dict(lr=0.01, eps=1e-3, weight_decay=0.5, grad_scale=1e-3),
]


@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_adam_matches_reference(kwargs):
    kwargs = dict(kwargs)
    scale = kwargs.pop("grad_scale", 1.0)
    params, grads = make_params(), make_grads(scale=scale)
    expected = torch_adam([p.data for p in params], grads, **kwargs)
    run(Adam(params, **kwargs), params, grads)
    assert_matches(params, expected)


def test_adam_first_step_moves_each_element_by_lr():
    # with bias correction, the first step is lr * g / (|g| + eps) ~ lr * sign(g), whatever the scale of g
    params = make_params()
    before = [p.data.copy() for p in params]
    grads = make_grads(steps=1, scale=1e3)
    run(Adam(params, lr=0.01), params, grads)
    for p, b, g in zip(params, before, grads[0]):
        np.testing.assert_allclose(b - p.data, 0.01 * np.sign(g), rtol=1e-6)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: SGD(ps, lr=0.1, weight_decay=0.5), lambda ps: Adam(ps, lr=0.1),
                                  lambda ps: Adam(ps, lr=0.1, weight_decay=0.5)],
                         ids=["sgd", "sgd-momentum", "sgd-wd", "adam", "adam-wd"])
def test_params_without_grad_are_skipped(make):
    params = make_params()
    frozen = params[1].data.copy()
    opt = make(params)
    grads = make_grads(steps=3)
    for step in grads:
        step[1] = None
    run(opt, params, grads)
    np.testing.assert_array_equal(params[1].data, frozen)
    assert not np.array_equal(params[0].data, make_params()[0].data)


def test_sgd_momentum_param_that_gets_its_first_grad_late():
    params, grads = make_params(), make_grads()
    grads[0][2] = grads[1][2] = None
    expected = torch_sgd([p.data for p in params], grads, lr=0.05, momentum=0.9)
    run(SGD(params, lr=0.05, momentum=0.9), params, grads)
    assert_matches(params, expected)


def test_adam_param_that_gets_its_first_grad_late():
    params, grads = make_params(), make_grads()
    grads[0][2] = grads[1][2] = None
    expected = torch_adam([p.data for p in params], grads, lr=0.01)
    run(Adam(params, lr=0.01), params, grads)
    assert_matches(params, expected)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda ps: Adam(ps, lr=0.1, weight_decay=0.1)], ids=["sgd", "nesterov", "adam"])
def test_step_updates_in_place(make):
    model = MLP([3, 4, 2], dtype=np.float64)
    arrays = [p.data for p in model.parameters()]
    before = [a.copy() for a in arrays]
    opt = make(model.parameters())
    F.quadratic_cost(model(Tensor(np.ones((2, 3)))), [0, 1]).backward()
    opt.step()
    for p, a, b in zip(model.parameters(), arrays, before):
        assert p.data is a                      # the same ndarray object was modified
        assert not np.array_equal(a, b)
    assert model.layers[0].weight.data is arrays[0]


def test_float32_params_stay_float32():
    params = make_params(dtype=np.float32)
    for opt in (SGD(params, lr=0.1, momentum=0.9), Adam(params, lr=0.1)):
        run(opt, params, make_grads(steps=2))
        assert all(p.dtype == np.float32 for p in params)


def test_zero_grad():
    params = make_params()
    opt = SGD(params, lr=0.1)
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    opt.zero_grad()
    assert all(p.grad is None for p in params)


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize("lr", [0, -0.1, float("nan")])
@pytest.mark.parametrize("cls", [SGD, Adam])
def test_bad_learning_rate(cls, lr):
    with pytest.raises(ValueError, match="learning rate"):
        cls(make_params(), lr=lr)


@pytest.mark.parametrize("kwargs", [dict(momentum=-0.1), dict(momentum=1.0), dict(momentum=1.5),
                                    dict(momentum=float("nan")), dict(weight_decay=-1.0),
                                    dict(nesterov=True), dict(nesterov=True, momentum=0.0)])
def test_sgd_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        SGD(make_params(), lr=0.1, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(betas=(1.0, 0.999)), dict(betas=(0.9, 1.0)), dict(betas=(-0.1, 0.999)),
                                    dict(betas=(0.9, -0.5)), dict(eps=0.0), dict(eps=-1e-8),
                                    dict(weight_decay=-0.1)])
def test_adam_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        Adam(make_params(), lr=0.1, **kwargs)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
def test_weight_decay_is_checked_per_group_and_read_from_the_first(cls):
    params = make_params()
    opt = cls([{"params": params[:1], "weight_decay": 0.25}, {"params": params[1:]}], lr=0.1, weight_decay=0.5)
    assert opt.weight_decay == 0.25 and [g["weight_decay"] for g in opt.param_groups] == [0.25, 0.5]
    with pytest.raises(ValueError, match=f"{cls.__name__}: weight_decay"):
        cls([{"params": params[:1]}, {"params": params[1:], "weight_decay": -1.0}], lr=0.1)


def test_an_optimizer_without_weight_decay_reads_zero():
    class Plain(Optimizer):
        def step(self):
            pass

    assert Plain(make_params(), {"lr": 0.1}).weight_decay == 0.0


def test_adam_betas_must_be_a_pair():
    with pytest.raises(ValueError, match="betas"):
        Adam(make_params(), lr=0.1, betas=(0.9,))


def test_bad_parameter_lists():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="requires_grad"):
        SGD([Tensor(np.zeros(2))], lr=0.1)
    with pytest.raises(ValueError):
        Adam(iter([]), lr=0.1)


# ---------------------------------------------------------------- state round trip


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                                  lambda ps: SGD(ps, lr=0.05),
                                  lambda ps: Adam(ps, lr=0.01, weight_decay=0.01)],
                         ids=["sgd-nesterov", "sgd-plain", "adam"])
def test_state_dict_round_trip_continues_identically(make):
    grads = make_grads(steps=6)
    params_a = make_params()
    opt_a = make(params_a)
    run(opt_a, params_a, grads[:3])
    state = opt_a.state_dict()
    # a second run restored mid-way from the first one's parameters and optimizer state
    params_b = make_params(seed=99)
    for pa, pb in zip(params_a, params_b):
        pb.data[...] = pa.data
    opt_b = make(params_b)
    opt_b.load_state_dict(state)
    assert opt_b.steps == opt_a.steps == 3
    run(opt_a, params_a, grads[3:])
    run(opt_b, params_b, grads[3:])
    for pa, pb in zip(params_a, params_b):
        np.testing.assert_array_equal(pa.data, pb.data)
    # the restored run equals one uninterrupted run of six steps
    params_c = make_params()
    run(make(params_c), params_c, grads)
    for pa, pc in zip(params_a, params_c):
        np.testing.assert_array_equal(pa.data, pc.data)
    # and the state matters: continuing with a fresh optimizer (no load) gives different parameters
    if state["buffers"]:
        params_d = make_params(seed=99)
        for pd, pb in zip(params_d, make_params()):
            pd.data[...] = pb.data
        opt_d = make(params_d)
        run(opt_d, params_d, grads[:3])
        run(make(params_d), params_d, grads[3:])
        assert any(not np.allclose(pa.data, pd.data) for pa, pd in zip(params_a, params_d))


def test_state_dict_is_a_copy():
    params = make_params()
    opt = Adam(params, lr=0.01)
    run(opt, params, make_grads(steps=2))
    state = opt.state_dict()
    saved_m = state["buffers"]["m"][0].copy()
    state["buffers"]["m"][0][...] = 1e9
    np.testing.assert_array_equal(opt.m[0], saved_m)
    assert state["lr"] == 0.01 and state["steps"] == 2


def test_load_state_dict_restores_lr_and_rejects_wrong_buffers():
    params = make_params()
    sgd = SGD(params, lr=0.1, momentum=0.9)
    state = sgd.state_dict()
    state["lr"] = 0.5
    other = SGD(make_params(), lr=0.1, momentum=0.9)
    other.load_state_dict(state)
    assert other.lr == 0.5
    with pytest.raises(CheckpointError, match="velocity"):
        Adam(make_params(), lr=0.1).load_state_dict(state)
    with pytest.raises(CheckpointError):
        SGD(make_params()[:2], lr=0.1, momentum=0.9).load_state_dict(state)
    bad = sgd.state_dict()
    bad["buffers"]["velocity"][0] = np.zeros((9, 9))
    with pytest.raises(CheckpointError):
        SGD(make_params(), lr=0.1, momentum=0.9).load_state_dict(bad)


# ---------------------------------------------------------------- schedules


def test_step_lr_values():
    opt = SGD(make_params(), lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    got = [sched.step() for _ in range(7)]
    # PyTorch's StepLR: lr after epoch e is base * gamma ** (e // step_size)
    assert got == pytest.approx([1.0 * 0.5 ** (e // 2) for e in range(1, 8)])
    assert got == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125])
    assert opt.lr == pytest.approx(0.125)


def test_cosine_lr_values():
    opt = SGD(make_params(), lr=0.5)
    sched = CosineLR(opt, total=4, min_lr=0.1)
    got = [sched.step() for _ in range(6)]
    expected = [0.1 + 0.4 * (1 + math.cos(math.pi * min(e, 4) / 4)) / 2 for e in range(1, 7)]
    assert got == pytest.approx(expected)
    assert got[1] == pytest.approx(0.3)                 # half way: the mean of base and min
    assert got[3:] == pytest.approx([0.1, 0.1, 0.1])    # stays at min_lr after `total`
    assert all(a > b for a, b in zip(got[:4], got[1:4]))
    assert opt.lr == pytest.approx(0.1)


def test_schedules_drive_the_optimizer_step():
    params = [Tensor(np.zeros(1), requires_grad=True)]
    opt = SGD(params, lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    moves = []
    for _ in range(3):
        params[0].grad = Tensor(np.ones(1))
        before = params[0].data.copy()
        opt.step()
        moves.append(float(before[0] - params[0].data[0]))
        sched.step()
    assert moves == pytest.approx([1.0, 0.5, 0.25])


def test_schedule_bad_arguments():
    opt = SGD(make_params(), lr=0.1)
    for make in (lambda: StepLR(opt, 0), lambda: StepLR(opt, 1, gamma=0), lambda: CosineLR(opt, 0),
                 lambda: CosineLR(opt, 5, min_lr=-1)):
        with pytest.raises(ValueError):
            make()


# ---------------------------------------------------------------- training


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_sgd_training_reduces_loss_on_separable_problem(loss):
    rng = np.random.default_rng(0)
    n = 64
    labels = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 2)) * 0.5 + np.where(labels[:, None] == 1, 2.0, -2.0)
    model = MLP([2, 8, 2], output_activation="sigmoid" if loss == "mse" else None, init="xavier", seed=1,
                dtype=np.float64)
    loss_fn = F.loss(loss)
    opt = SGD(model.parameters(), lr=0.5, momentum=0.9)
    xs = Tensor(x)
    first = float(loss_fn(model(xs), labels).data)
    for _ in range(60):
        opt.zero_grad()
        value = loss_fn(model(xs), labels)
        value.backward()
        opt.step()
    final = float(loss_fn(model(xs), labels).data)
    assert final < 0.25 * first
    assert np.mean(model(xs).data.argmax(axis=1) == labels) == 1.0


# ---------------------------------------------------------------- state made on first use, checked at step()


def test_momentum_switched_on_mid_run_starts_from_zeros_as_torch_does():
    grads = make_grads(steps=4)
    params = make_params()
    opt = SGD(params, lr=0.1)
    run(opt, params, grads[:2])
    opt.param_groups[0]["momentum"] = 0.9  # was an IndexError: the buffers existed only if momentum began > 0
    run(opt, params, grads[2:])
    # the same as two plain steps, then a momentum SGD that starts from those parameters (its buffers zeros)
    want = make_params()
    run(SGD(want, lr=0.1), want, grads[:2])
    run(SGD(want, lr=0.1, momentum=0.9), want, grads[2:])
    for p, q in zip(params, want, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    # and the reference rule, which makes the buffer at the first step it is needed
    ref = torch_sgd([p.data for p in make_params()], grads[:2], lr=0.1)
    ref = torch_sgd(ref, grads[2:], lr=0.1, momentum=0.9)
    for p, r in zip(params, ref, strict=True):
        np.testing.assert_allclose(p.data, r, rtol=1e-6)


def test_state_is_made_when_a_step_first_needs_it():
    params = make_params()
    opt = Adam(params, lr=0.01)
    assert opt.state == {}  # nothing allocated before the first step
    run(opt, params, make_grads(steps=1))
    assert sorted(opt.state) == ["m", "t", "v"]


@pytest.mark.parametrize("make,key,value,match", [
    (lambda ps: SGD(ps, lr=0.1), "momentum", 1.5, r"SGD: momentum must be in \[0.0, 1.0\), got 1.5"),
    (lambda ps: SGD(ps, lr=0.1), "lr", -0.5, "SGD: learning rate"),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9), "nesterov", True, None),
    (lambda ps: Adam(ps, lr=0.1), "betas", (0.9, 1.2), "Adam: betas"),
    (lambda ps: RMSprop(ps, lr=0.1), "alpha", float("nan"), "RMSprop: alpha"),
    (lambda ps: AdamW(ps, lr=0.1), "weight_decay", -1.0, "AdamW: weight_decay"),
])
def test_hyperparameters_set_after_construction_are_checked_at_step(make, key, value, match):
    params = make_params()
    opt = make(params)
    opt.param_groups[0][key] = value
    grads = make_grads(steps=1)
    if match is None:  # a valid change is taken
        run(opt, params, grads)
        return
    before = [p.data.copy() for p in params]
    with pytest.raises(ArgumentError, match=match) as info:
        run(opt, params, grads)
    assert "\n" not in str(info.value)
    for p, b in zip(params, before, strict=True):  # refused before any parameter moved
        np.testing.assert_array_equal(p.data, b)
