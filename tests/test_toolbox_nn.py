"""Tests of the toolbox modules (issue 14): containers, Dropout, LayerNorm, BatchNorm1d, Flatten, the loss modules,
module bookkeeping (buffers, shared parameters, dicts, children, apply, requires_grad_), nn.init, the creation
functions and the seeding story.

Dropout, LayerNorm and BatchNorm1d are checked against their definitions written out in numpy, in training and
in eval mode; gradients by ``gradcheck`` in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import ArgumentError, CheckpointError, Tensor, gradcheck
from tinygrad_mlp import nn
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.nn import init as I
from tinygrad_mlp.optim import SGD

RNG = np.random.default_rng(1234)


def leaf(*shape, scale=1.0, seed=0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape) * scale, requires_grad=True)


# ====================================================================== Dropout


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_train_is_mask_over_keep_probability(p):
    x = leaf(6, 7, seed=1)
    out = nn.Dropout(p, seed=3)(x)
    keep = np.random.default_rng(3).random((6, 7)) >= p  # the definition: keep with probability 1 - p
    np.testing.assert_allclose(out.data, x.data * keep / (1 - p), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, keep / (1 - p), rtol=1e-12)


def test_dropout_eval_is_identity_and_train_mode_comes_back():
    drop = nn.Dropout(0.5, seed=0)
    model = nn.Sequential(drop)
    x = leaf(4, 5)
    model.eval()
    assert not drop.training
    np.testing.assert_array_equal(model(x).data, x.data)
    model.train()
    assert np.any(model(x).data == 0)


def test_dropout_edge_probabilities_and_statistics():
    x = Tensor(np.ones((200, 200)))
    assert np.all(nn.Dropout(0.0)(x).data == 1)
    assert np.all(nn.Dropout(1.0, seed=0)(x).data == 0)
    out = nn.Dropout(0.3, seed=5)(x).data
    assert abs(np.mean(out == 0) - 0.3) < 0.01  # 40,000 draws: the standard error is 0.0023
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation


def test_dropout_seeding_story():
    x = Tensor(np.ones((3, 4)))
    a, b = nn.Dropout(0.5, seed=7), nn.Dropout(0.5, seed=7)
    np.testing.assert_array_equal(a(x).data, b(x).data)  # same seed, same masks
    big = Tensor(np.ones((10, 10)))
    assert not np.array_equal(a(big).data, a(big).data)  # the seeded stream advances: a new mask each call
    tm.manual_seed(11)
    first = nn.Dropout(0.5)(Tensor(np.ones((8, 8)))).data
    tm.manual_seed(11)
    np.testing.assert_array_equal(nn.Dropout(0.5)(Tensor(np.ones((8, 8)))).data, first)


# ====================================================================== LayerNorm


def np_layer_norm(x, axes, weight, bias, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # biased, as the definition
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((3, 2, 5), (2, 5)), ((2, 3, 4), 4)])
def test_layer_norm_matches_definition_in_train_and_eval(shape, normalized):
    ln = nn.LayerNorm(normalized, eps=1e-5, dtype=np.float64)
    ln.weight.data[...] = RNG.standard_normal(ln.weight.shape)
    ln.bias.data[...] = RNG.standard_normal(ln.bias.shape)
    x = RNG.standard_normal(shape) * 3 + 1
    k = len(ln.normalized_shape)
    expected = np_layer_norm(x, tuple(range(len(shape) - k, len(shape))), ln.weight.data, ln.bias.data, 1e-5)
    np.testing.assert_allclose(ln(Tensor(x)).data, expected, rtol=1e-10, atol=1e-12)
    ln.eval()  # no running statistics: eval is the same function
    np.testing.assert_allclose(ln(Tensor(x)).data, expected, rtol=1e-10, atol=1e-12)


def test_layer_norm_without_affine_has_zero_mean_unit_variance_and_gradchecks():
    ln = nn.LayerNorm(5, elementwise_affine=False)
    assert ln.parameters() == []
    out = ln(Tensor(RNG.standard_normal((4, 5)) * 10)).data
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(out.var(axis=1), 1, atol=1e-3)
    ln64 = nn.LayerNorm(5, dtype=np.float64)
    ln64.weight.data[...] = RNG.standard_normal(5)
    x, proj = leaf(3, 5), Tensor(RNG.standard_normal((3, 5)))
    assert gradcheck(lambda x, w, b: (ln64(x) * proj).sum(), x, ln64.weight, ln64.bias)


# ====================================================================== BatchNorm1d


def test_batch_norm_train_eval_and_running_statistics_from_the_definition():
    bn = nn.BatchNorm1d(3, eps=1e-5, momentum=0.1, dtype=np.float64)
    bn.weight.data[...] = [1.5, -0.5, 2.0]
    bn.bias.data[...] = [0.1, 0.2, -0.3]
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = RNG.standard_normal((8, 3)) * [1, 2, 3] + [0, 5, -2]
        mean, var = x.mean(axis=0), x.var(axis=0)  # biased variance normalizes in training
        expected = (x - mean) / np.sqrt(var + 1e-5) * bn.weight.data + bn.bias.data
        np.testing.assert_allclose(bn(Tensor(x)).data, expected, rtol=1e-10, atol=1e-12)
        running_mean = 0.9 * running_mean + 0.1 * mean
        running_var = 0.9 * running_var + 0.1 * x.var(axis=0, ddof=1)  # unbiased into the running estimate
        np.testing.assert_allclose(bn.running_mean.data, running_mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.data, running_var, rtol=1e-12)
    bn.eval()
    x = RNG.standard_normal((5, 3))
    expected = (x - running_mean) / np.sqrt(running_var + 1e-5) * bn.weight.data + bn.bias.data
    np.testing.assert_allclose(bn(Tensor(x)).data, expected, rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.data, running_mean)  # eval does not move the statistics
    one = bn(Tensor(x[:1])).data  # a single example is fine in eval
    np.testing.assert_allclose(one, expected[:1], rtol=1e-10)


def test_batch_norm_three_dimensional_input_normalizes_over_batch_and_length():
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    x = RNG.standard_normal((4, 2, 5))
    mean, var = x.mean(axis=(0, 2), keepdims=True), x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(bn(Tensor(x)).data, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mean.ravel(), rtol=1e-12)


def test_batch_norm_buffers_are_state_not_parameters():
    bn = nn.BatchNorm1d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    bn(Tensor(RNG.standard_normal((6, 3))))
    other = nn.BatchNorm1d(3)
    other.load_state_dict(bn.state_dict())
    np.testing.assert_array_equal(other.running_var.data, bn.running_var.data)
    bn.requires_grad_(False)
    bn.requires_grad_(True)  # the running statistics never become parameters
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert not bn.running_mean.requires_grad


def test_batch_norm_gradcheck_in_training_and_without_running_stats():
    bn = nn.BatchNorm1d(3, dtype=np.float64, track_running_stats=False)
    proj = Tensor(RNG.standard_normal((5, 3)))
    x = leaf(5, 3)
    assert gradcheck(lambda x, w, b: (bn(x) * proj).sum(), x, bn.weight, bn.bias)
    bn.eval()  # without running statistics the batch's are used in eval too
    out = bn(Tensor(x.data)).data
    np.testing.assert_allclose(out, (x.data - x.data.mean(0)) / np.sqrt(x.data.var(0) + 1e-5), rtol=1e-10)


# ====================================================================== containers and bookkeeping


def test_module_list_and_dict_register_their_modules():
    class Net(nn.Module):
        def __init__(self):
            self.blocks = nn.ModuleList([nn.Linear(2, 3, seed=0), nn.ReLU(), nn.Linear(3, 1, seed=1)])
            self.heads = nn.ModuleDict({"a": nn.Linear(1, 1, seed=2)})

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.heads["a"](x)

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.2.weight", "blocks.2.bias",
                     "heads.a.weight", "heads.a.bias"]
    assert len(net.blocks) == 3 and isinstance(net.blocks[1], nn.ReLU) and len(net.blocks[:2]) == 2
    assert "a" in net.heads and list(net.heads) == ["a"]
    net(Tensor(np.ones((4, 2)))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert [n for n, _ in net.named_modules()][:3] == ["", "blocks", "blocks.0"]
    assert [type(m).__name__ for m in net.children()] == ["ModuleList", "ModuleDict"]


def test_apply_visits_every_module_children_first_and_reinitializes():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Sequential(nn.Linear(4, 2, seed=1)))
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Sequential", "Sequential"]  # post-order, as PyTorch
    model.apply(lambda m: I.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert all(np.all(m.weight.data == 0) for m in model.modules() if isinstance(m, nn.Linear))


def test_requires_grad_freezes_and_unfreezes_keeping_state_names():
    model = nn.MLP([3, 4, 2], seed=0)
    names = list(model.state_dict())
    model.layers[0].requires_grad_(False)
    assert [n for n, _ in model.named_parameters()] == ["layers.1.weight", "layers.1.bias"]
    assert list(model.state_dict()) == names  # frozen weights are still saved, under the same names
    model.requires_grad_(True)
    assert len(model.parameters()) == 4


def test_flatten():
    x = leaf(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Flatten(1, 1)(x).shape == (2, 3, 4)
    assert nn.Flatten(-2, -1)(x).shape == (2, 12)
    nn.Flatten()(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3, 4)))


# ====================================================================== loss modules and cross_entropy targets


def np_log_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def test_mse_loss_reductions():
    out, t = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    sq = (out - t) ** 2
    for reduction, expected in [("batchmean", sq.sum() / 4), ("mean", sq.mean()), ("sum", sq.sum()), ("none", sq)]:
        np.testing.assert_allclose(nn.MSELoss(reduction)(Tensor(out), t).data, expected, rtol=1e-12)
    assert nn.MSELoss().reduction == "mean"  # PyTorch's default; the notes' cost is nn.QuadraticCost
    assert nn.QuadraticCost().reduction == "batchmean"


def test_cross_entropy_reductions_probability_targets_and_label_smoothing():
    z = RNG.standard_normal((5, 4)) * 2
    labels = np.array([0, 3, 1, 1, 2])
    lp = np_log_softmax(z)
    per_example = -lp[np.arange(5), labels]
    for reduction, expected in [("mean", per_example.mean()), ("sum", per_example.sum()), ("none", per_example)]:
        np.testing.assert_allclose(nn.CrossEntropyLoss(reduction=reduction)(Tensor(z), labels).data, expected, rtol=1e-12)
    q = RNG.dirichlet(np.ones(4), size=5)
    np.testing.assert_allclose(F.cross_entropy(Tensor(z), q).data, -(q * lp).sum(axis=1).mean(), rtol=1e-12)
    s = 0.2
    smooth = np.eye(4)[labels] * (1 - s) + s / 4  # PyTorch's definition of label smoothing
    np.testing.assert_allclose(F.cross_entropy(Tensor(z), labels, label_smoothing=s).data,
                               -(smooth * lp).sum(axis=1).mean(), rtol=1e-12)
    x = leaf(5, 4)
    assert gradcheck(lambda x: F.cross_entropy(x, q, label_smoothing=0.1), x)


def test_cross_entropy_against_torch_when_available():
    torch = pytest.importorskip("torch")
    z = RNG.standard_normal((6, 5))
    labels = RNG.integers(0, 5, 6)
    for kwargs in [dict(), dict(reduction="sum"), dict(label_smoothing=0.3), dict(reduction="none")]:
        want = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(labels), **kwargs).numpy()
        np.testing.assert_allclose(F.cross_entropy(Tensor(z), labels, **kwargs).data, want, rtol=1e-10)


# ====================================================================== inits and the MLP default


def test_mlp_default_init_is_the_clis():
    from tinygrad_mlp import runs
    for activation in ("sigmoid", "relu", "tanh", "gelu"):
        settings = runs.new_run({"activation": activation})
        model = nn.MLP([784, 16, 10], activation=activation)
        assert model.init == settings["init"] == nn.default_init(activation)
    w = nn.MLP([784, 16, 10]).layers[0].weight.data  # xavier: no sigmoid starts saturated any more
    assert np.abs(w).max() <= np.sqrt(6 / (784 + 16))
    notes = nn.MLP([784, 16, 10], init="random", seed=0).layers[0].weight.data
    assert 0.95 < notes.std() < 1.05  # the notes' N(0, 1) start is still there by name


def test_nn_init_statistics_and_seeds():
    w = Tensor(np.zeros((400, 300)), requires_grad=True)
    I.xavier_uniform_(w, seed=0)
    assert np.abs(w.data).max() <= np.sqrt(6 / 700) and abs(w.data.var() - 2 / 700) < 0.05 * 2 / 700
    I.xavier_normal_(w, seed=0)
    assert abs(w.data.std() - np.sqrt(2 / 700)) < 0.02 * np.sqrt(2 / 700)
    I.kaiming_normal_(w, seed=0)
    assert abs(w.data.std() - np.sqrt(2 / 300)) < 0.02 * np.sqrt(2 / 300)
    I.kaiming_uniform_(w, mode="fan_out", seed=0)
    assert np.abs(w.data).max() <= np.sqrt(3) * np.sqrt(2 / 400)
    I.normal_(w, 2.0, 0.5, seed=1)
    assert abs(w.data.mean() - 2) < 0.01 and abs(w.data.std() - 0.5) < 0.01
    I.uniform_(w, -1, 3, seed=2)
    assert w.data.min() >= -1 and w.data.max() < 3
    assert I.constant_(w, 0.25) is w and np.all(w.data == 0.25)
    assert np.all(I.ones_(w).data == 1) and np.all(I.zeros_(w).data == 0)
    a, b = Tensor(np.zeros((3, 3))), Tensor(np.zeros((3, 3)))
    np.testing.assert_array_equal(I.normal_(a, seed=5).data, I.normal_(b, seed=5).data)
    assert I.calculate_gain("relu") == pytest.approx(np.sqrt(2)) and I.calculate_gain("tanh") == pytest.approx(5 / 3)
    # Linear's named inits draw the same distributions as nn.init's functions
    layer = nn.Linear(300, 400, init="he", seed=0)
    assert abs(layer.weight.data.std() - np.sqrt(2 / 300)) < 0.02 * np.sqrt(2 / 300)


# ====================================================================== creation and seeding


def test_creation_functions():
    assert tm.zeros(2, 3).shape == (2, 3) and tm.zeros((2, 3)).dtype == np.float32
    assert np.all(tm.ones(4, dtype=np.float64).data == 1) and tm.ones(4, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(tm.full((2, 2), 7.5).data, np.full((2, 2), 7.5))
    np.testing.assert_array_equal(tm.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(tm.eye(2, 3).data, np.eye(2, 3))
    np.testing.assert_array_equal(tm.arange(5).data, np.arange(5.0))
    np.testing.assert_allclose(tm.arange(1, 2, 0.25).data, [1, 1.25, 1.5, 1.75])
    t = Tensor(np.ones((2, 5)), dtype=np.float64)
    assert tm.zeros_like(t).shape == (2, 5) and tm.zeros_like(t).dtype == np.float64
    assert np.all(tm.ones_like(t).data == 1)
    assert tm.zeros(3, requires_grad=True).requires_grad
    r = tm.rand(1000, seed=0).data
    assert r.min() >= 0 and r.max() < 1
    assert abs(tm.randn(10_000, seed=0).data.std() - 1) < 0.03


def test_one_seeding_story():
    np.testing.assert_array_equal(tm.randn(5, seed=3).data, tm.randn(5, seed=3).data)  # an int: repeatable
    g = np.random.default_rng(0)
    a, b = tm.rand(3, seed=g).data, tm.rand(3, seed=g).data  # a Generator: advanced
    assert not np.array_equal(a, b)
    tm.manual_seed(42)
    first = (tm.randn(3).data, nn.Linear(3, 2, seed=None).weight.data.copy())
    tm.manual_seed(42)
    second = (tm.randn(3).data, nn.Linear(3, 2, seed=None).weight.data.copy())
    for u, v in zip(first, second):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ArgumentError):
        tm.manual_seed(-1)


def test_load_state_dict_refusal_changes_nothing():
    model = nn.MLP([3, 4, 2], seed=0)
    before = model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state["layers.1.bias"] = np.zeros(7)
    with pytest.raises(tm.ShapeError):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(CheckpointError):
        model.load_state_dict({k: v for k, v in before.items() if k != "layers.0.bias"})


def test_shared_module_is_listed_once_and_trains_once():
    shared = nn.Linear(2, 2, seed=0)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(model.parameters()) == 2 and len(list(model.modules())) == 3
    SGD(model.parameters(), lr=0.1)  # no "appears twice" refusal
