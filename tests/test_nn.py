"""Tests of tinygrad_mlp.nn (Module, Linear, Sequential, MLP, inits) and nn.functional (one_hot, losses).

Values are compared with plain numpy written out in the tests; gradients are
checked in float64 with ``tinygrad_mlp.gradcheck`` and against closed forms.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mlp import Tensor, gradcheck, ops
from tinygrad_mlp.errors import CheckpointError, DTypeError, ShapeError
from tinygrad_mlp.nn import INITS, MLP, Identity, Linear, Module, ReLU, Sequential, Sigmoid, Tanh
from tinygrad_mlp.nn import functional as F

SETTINGS = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def np_one_hot(labels, k):
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1.0
    return out


# ====================================================================== the notes' network


def test_notes_network_has_13002_parameters():
    model = MLP([784, 16, 16, 10])
    assert model.num_parameters() == 13002
    # 784*16 + 16 + 16*16 + 16 + 16*10 + 10
    assert 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10 == 13002


def test_notes_network_parameter_names_and_shapes():
    model = MLP([784, 16, 16, 10])
    shapes = {name: p.shape for name, p in model.named_parameters()}
    assert list(shapes) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                            "layers.2.weight", "layers.2.bias"]
    assert shapes == {
        "layers.0.weight": (16, 784), "layers.0.bias": (16,),   # W(1) is (next, previous), as in the notes
        "layers.1.weight": (16, 16), "layers.1.bias": (16,),
        "layers.2.weight": (10, 16), "layers.2.bias": (10,),
    }
    assert [w.shape for w in model.weights] == [(16, 784), (16, 16), (10, 16)]
    assert [b.shape for b in model.biases] == [(16,), (16,), (10,)]
    assert all(p.requires_grad and p.dtype == np.float32 for p in model.parameters())
    out = model(Tensor(np.random.default_rng(0).uniform(0, 1, (5, 784))))
    assert out.shape == (5, 10)
    assert np.all((out.data > 0) & (out.data < 1))  # sigmoid output layer by default


# ====================================================================== Linear


@SETTINGS
@given(seed=seeds, batch=st.integers(1, 6), n_in=st.integers(1, 7), n_out=st.integers(1, 7), bias=st.booleans())
def test_linear_matches_numpy_batch(seed, batch, n_in, n_out, bias):
    layer = Linear(n_in, n_out, bias=bias, seed=seed, dtype=np.float64)
    x = np.random.default_rng(seed).standard_normal((batch, n_in))
    expected = x @ layer.weight.data.T + (layer.bias.data if bias else 0.0)
    out = layer(Tensor(x))
    assert out.shape == (batch, n_out)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    # each row is the notes' W a + b for that example's column a
    for i in range(batch):
        col = layer.weight.data @ x[i] + (layer.bias.data if bias else 0.0)
        np.testing.assert_allclose(out.data[i], col, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_numpy_one_dimensional_input(bias):
    layer = Linear(5, 3, bias=bias, seed=1, dtype=np.float64)
    a = np.random.default_rng(2).standard_normal(5)
    out = layer(Tensor(a))
    assert out.shape == (3,)
    expected = layer.weight.data @ a + (layer.bias.data if bias else 0.0)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_linear_without_bias_has_only_a_weight():
    layer = Linear(4, 3, bias=False)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.num_parameters() == 12


def test_linear_dtype_argument():
    assert Linear(3, 2, dtype=np.float64).weight.dtype == np.float64
    assert Linear(3, 2, dtype=np.float64).bias.dtype == np.float64
    assert Linear(3, 2).weight.dtype == np.float32


@pytest.mark.parametrize("shape", [(4, 5), (5,), (2, 3, 7)])
def test_linear_wrong_input_width_is_a_shape_error_naming_shapes(shape):
    layer = Linear(3, 2)
    with pytest.raises(ShapeError) as info:
        layer(Tensor(np.ones(shape)))
    msg = str(info.value)
    assert str(shape) in msg and "3" in msg


def test_linear_scalar_input_is_a_shape_error():
    with pytest.raises(ShapeError):
        Linear(3, 2)(Tensor(1.0))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck_float64(bias):
    layer = Linear(4, 3, bias=bias, seed=5, dtype=np.float64)
    x = Tensor(np.random.default_rng(6).standard_normal((5, 4)), requires_grad=True)
    params = [layer.weight] + ([layer.bias] if bias else [])
    assert gradcheck(lambda x, *ps: layer(x), x, *params)
    # and the same in the 1-D case (the composite matmul path)
    a = Tensor(np.random.default_rng(7).standard_normal(4), requires_grad=True)
    assert gradcheck(lambda a, *ps: layer(a), a, *params)


def test_linear_gradients_equal_closed_form():
    rng = np.random.default_rng(8)
    layer = Linear(4, 3, seed=9, dtype=np.float64)
    x = Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    g = rng.standard_normal((6, 3))
    (layer(x) * g).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, g.T @ x.data, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, g @ layer.weight.data, rtol=1e-12)


def test_linear_bad_feature_counts():
    with pytest.raises(ShapeError):
        Linear(0, 3)
    with pytest.raises(ShapeError):
        Linear(3, 0)


# ====================================================================== inits


def test_init_names():
    assert set(INITS) == {"random", "normal", "xavier", "he"}
    assert INITS["random"] is INITS["normal"]  # the notes' N(0, 1) start, under its old name too


def test_init_normal_weights_and_biases_standard_normal():
    layer = Linear(400, 500, init="normal", seed=0, dtype=np.float64)
    w, b = layer.weight.data, layer.bias.data
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    assert abs(b.mean()) < 0.15 and abs(b.std() - 1) < 0.1     # 500 samples
    assert np.any(b != 0)


def test_init_xavier_uniform_within_limit_zero_bias():
    n_in, n_out = 300, 200
    layer = Linear(n_in, n_out, init="xavier", seed=0, dtype=np.float64)
    w, b = layer.weight.data, layer.bias.data
    limit = np.sqrt(6 / (n_in + n_out))
    assert np.all(np.abs(w) <= limit)
    assert w.max() > 0.98 * limit and w.min() < -0.98 * limit   # uniform on the whole interval
    assert abs(w.std() - limit / np.sqrt(3)) < 0.02 * limit      # variance 2 / (in + out)
    assert np.all(b == 0)


def test_init_he_std_sqrt_2_over_fan_in_zero_bias():
    n_in, n_out = 250, 400
    layer = Linear(n_in, n_out, init="he", seed=0, dtype=np.float64)
    w, b = layer.weight.data, layer.bias.data
    assert abs(w.std() / np.sqrt(2 / n_in) - 1) < 0.02
    assert abs(w.mean()) < 0.05 * np.sqrt(2 / n_in)
    assert np.all(b == 0)


@pytest.mark.parametrize("init", ["normal", "xavier", "he"])
def test_mlp_init_by_name_reaches_every_layer(init):
    model = MLP([300, 200, 100], init=init, dtype=np.float64)
    assert model.config()["init"] == init
    for layer in model.layers:
        ref = Linear(layer.in_features, layer.out_features, init=init, seed=0, dtype=np.float64)
        assert abs(layer.weight.data.std() / ref.weight.data.std() - 1) < 0.1


@pytest.mark.parametrize("init", ["normal", "xavier", "he"])
def test_seeded_determinism_and_different_seeds_differ(init):
    a = MLP([6, 5, 4], init=init, seed=3)
    b = MLP([6, 5, 4], init=init, seed=3)
    c = MLP([6, 5, 4], init=init, seed=4)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert any(not np.array_equal(pa.data, pc.data) for pa, pc in zip(a.parameters(), c.parameters()))
    # the layers of one network are not copies of each other
    assert not np.array_equal(MLP([5, 5, 5], init=init).weights[0].data, MLP([5, 5, 5], init=init).weights[1].data)
    # Linear: int seeds and Generators
    np.testing.assert_array_equal(Linear(4, 3, init=init, seed=7).weight.data, Linear(4, 3, init=init, seed=7).weight.data)
    np.testing.assert_array_equal(Linear(4, 3, init=init, seed=np.random.default_rng(7)).weight.data,
                                  Linear(4, 3, init=init, seed=7).weight.data)
    assert not np.array_equal(Linear(4, 3, init=init, seed=7).weight.data, Linear(4, 3, init=init, seed=8).weight.data)


def test_unknown_init_is_a_value_error_naming_the_choices():
    for make in (lambda: Linear(3, 2, init="kaiming"), lambda: MLP([3, 2], init="kaiming")):
        with pytest.raises(ValueError) as info:
            make()
        msg = str(info.value)
        assert "kaiming" in msg and all(name in msg for name in ("normal", "xavier", "he"))


@pytest.mark.parametrize("kwargs", [{"activation": "hardtanh"}, {"output_activation": "hardtanh"}])
def test_unknown_activation_is_a_value_error_naming_the_choices(kwargs):
    with pytest.raises(ValueError) as info:
        MLP([3, 4, 2], **kwargs)
    msg = str(info.value)
    assert "hardtanh" in msg and all(name in msg for name in ("sigmoid", "relu", "tanh", "gelu"))


def test_bad_mlp_sizes():
    for sizes in ([784], [], [784, 0, 10]):
        with pytest.raises(ShapeError):
            MLP(sizes)


# ====================================================================== MLP forward and gradients


def numpy_forward(model: MLP, x: np.ndarray, hidden=np_sigmoid, output=np_sigmoid) -> np.ndarray:
    """The notes' layer rule, one example at a time: a' = f(W a + b) with a a column vector."""
    rows = []
    for a in x:
        a = a.reshape(-1, 1)
        for i, layer in enumerate(model.layers):
            z = layer.weight.data @ a + layer.bias.data.reshape(-1, 1)
            a = output(z) if i == len(model.layers) - 1 else hidden(z)
        rows.append(a.ravel())
    return np.array(rows)


@SETTINGS
@given(seed=seeds, batch=st.integers(1, 5),
       sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4))
def test_mlp_forward_equals_numpy_sigmoid_layers(seed, batch, sizes):
    model = MLP(sizes, seed=seed, dtype=np.float64)
    x = np.random.default_rng(seed).uniform(0, 1, (batch, sizes[0]))
    np.testing.assert_allclose(model(Tensor(x)).data, numpy_forward(model, x), rtol=1e-12, atol=1e-14)


def test_notes_network_forward_equals_numpy():
    model = MLP([784, 16, 16, 10], seed=11, dtype=np.float64)
    x = np.random.default_rng(12).uniform(0, 1, (3, 784))
    np.testing.assert_allclose(model(Tensor(x)).data, numpy_forward(model, x), rtol=1e-12, atol=1e-14)


def test_output_activation_none_gives_raw_logits():
    model = MLP([5, 7, 4], output_activation=None, seed=2, dtype=np.float64)
    x = np.random.default_rng(3).uniform(0, 1, (6, 5))
    out = model(Tensor(x)).data
    np.testing.assert_allclose(out, numpy_forward(model, x, output=lambda z: z), rtol=1e-12, atol=1e-14)
    assert np.any(out < 0) or np.any(out > 1)
    h = np_sigmoid(x @ model.weights[0].data.T + model.biases[0].data)
    np.testing.assert_allclose(out, h @ model.weights[1].data.T + model.biases[1].data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,fn", [("relu", lambda z: np.maximum(z, 0)), ("tanh", np.tanh),
                                     ("identity", lambda z: z)])
def test_mlp_hidden_activation_by_name(name, fn):
    model = MLP([4, 6, 6, 3], activation=name, output_activation=None, seed=1, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((5, 4))
    np.testing.assert_allclose(model(Tensor(x)).data, numpy_forward(model, x, hidden=fn, output=lambda z: z),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation,output_activation", [("sigmoid", "sigmoid"), ("tanh", None)])
def test_mlp_gradcheck_float64(activation, output_activation):
    model = MLP([5, 4, 3, 2], activation=activation, output_activation=output_activation, seed=4,
                dtype=np.float64)
    x = Tensor(np.random.default_rng(5).uniform(0, 1, (3, 5)))
    labels = np.array([0, 1, 1])
    loss = F.quadratic_cost if output_activation else F.cross_entropy
    assert gradcheck(lambda *ps: loss(model(x), labels), *model.parameters())


def test_mlp_gradcheck_input():
    model = MLP([4, 3, 2], seed=6, dtype=np.float64)
    x = Tensor(np.random.default_rng(7).uniform(0, 1, (2, 4)), requires_grad=True)
    assert gradcheck(lambda x: model(x), x)


# ====================================================================== Module machinery


def test_named_parameters_order_and_parameters_are_the_same_objects():
    model = MLP([3, 4, 5, 2])
    names = [n for n, _ in model.named_parameters()]
    assert names == [f"layers.{i}.{k}" for i in range(3) for k in ("weight", "bias")]
    params = model.parameters()
    expected = [t for pair in zip(model.weights, model.biases) for t in pair]
    assert len(params) == 6 and all(p is q for p, q in zip(params, expected))
    assert model.parameters()[0] is model.layers[0].weight


def test_custom_module_attributes_in_assignment_order():
    class Net(Module):
        def __init__(self):
            self.second = Linear(2, 3)
            self.first = Linear(3, 1, bias=False)
            self.scale = Tensor(np.ones(1), requires_grad=True)
            self.constant = Tensor(np.ones(1))            # no grad: not a parameter
            self.blocks = (Linear(1, 1),)

        def forward(self, x):
            return self.first(self.second(x)) * self.scale

    names = [n for n, _ in Net().named_parameters()]
    assert names == ["second.weight", "second.bias", "first.weight", "scale", "blocks.0.weight", "blocks.0.bias"]


def test_zero_grad_sets_grads_to_none():
    model = MLP([3, 4, 2], dtype=np.float64)
    F.quadratic_cost(model(Tensor(np.ones((2, 3)))), [0, 1]).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_eval_propagate_to_submodules():
    inner = Sequential(Linear(3, 3), Tanh())
    model = Sequential(Linear(2, 3), Sigmoid(), inner, ReLU(), Identity())
    assert all(m.training for m in model.modules())
    assert len(list(model.modules())) == 8
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    assert not inner[0].training
    assert model.train() is model
    assert all(m.training for m in model.modules())
    mlp = MLP([3, 2, 2]).eval()
    assert all(not m.training for m in mlp.layers)
    # a fresh module is not affected by another one's mode
    assert Linear(2, 2).training


def test_state_dict_returns_copies():
    model = MLP([3, 4, 2])
    state = model.state_dict()
    assert list(state) == [n for n, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(state[name], p.data)
        assert not np.shares_memory(state[name], p.data)
    before = model.weights[0].data.copy()
    state["layers.0.weight"][...] = 123.0
    np.testing.assert_array_equal(model.weights[0].data, before)


def test_load_state_dict_round_trip_in_place():
    a, b = MLP([3, 4, 2], seed=1), MLP([3, 4, 2], seed=2)
    arrays = [p.data for p in b.parameters()]
    state = a.state_dict()
    b.load_state_dict(state)
    for pa, pb, arr in zip(a.parameters(), b.parameters(), arrays):
        np.testing.assert_array_equal(pa.data, pb.data)
        assert pb.data is arr                       # copied into the existing arrays
    state["layers.0.weight"][...] = 5.0            # the model does not alias the state given to it
    assert not np.any(b.weights[0].data == 5.0)


def test_load_state_dict_missing_and_unexpected_keys_are_checkpoint_errors():
    model = MLP([3, 4, 2])
    state = model.state_dict()
    missing = dict(state)
    del missing["layers.1.bias"]
    with pytest.raises(CheckpointError, match=r"layers\.1\.bias"):
        model.load_state_dict(missing)
    unexpected = dict(state, **{"layers.9.weight": np.zeros((1, 1))})
    with pytest.raises(CheckpointError, match=r"layers\.9\.weight"):
        model.load_state_dict(unexpected)
    # nothing was copied by the refused loads
    before = [p.data.copy() for p in model.parameters()]
    bad = {k: v + 1 for k, v in missing.items()}
    with pytest.raises(CheckpointError):
        model.load_state_dict(bad)
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, q)
    # strict=False loads what is there
    model.load_state_dict(bad, strict=False)
    np.testing.assert_array_equal(model.weights[0].data, state["layers.0.weight"] + 1)
    np.testing.assert_array_equal(model.biases[1].data, state["layers.1.bias"])


def test_load_state_dict_shape_mismatch_is_a_shape_error_naming_key_and_shapes():
    model = MLP([3, 4, 2])
    state = model.state_dict()
    state["layers.0.weight"] = np.zeros((4, 5), dtype=np.float32)
    with pytest.raises(ShapeError) as info:
        model.load_state_dict(state)
    msg = str(info.value)
    assert "layers.0.weight" in msg and "(4, 5)" in msg and "(4, 3)" in msg


def test_sequential():
    l1, l2 = Linear(3, 4, seed=1, dtype=np.float64), Linear(4, 2, seed=2, dtype=np.float64)
    seq = Sequential(l1, Sigmoid(), l2, Tanh())
    assert len(seq) == 4 and seq[0] is l1 and seq[2] is l2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]  # PyTorch's
    x = np.random.default_rng(0).standard_normal((5, 3))
    h = np_sigmoid(x @ l1.weight.data.T + l1.bias.data)
    expected = np.tanh(h @ l2.weight.data.T + l2.bias.data)
    np.testing.assert_allclose(seq(Tensor(x)).data, expected, rtol=1e-12)
    assert seq.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2


def test_module_forward_must_be_defined():
    with pytest.raises(NotImplementedError):
        Module()(Tensor(1.0))


# ====================================================================== one_hot


@SETTINGS
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=20))
def test_one_hot_rows_of_the_identity(labels):
    out = F.one_hot(np.array(labels), 10)
    assert out.shape == (len(labels), 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, np.eye(10)[labels])
    assert not out.requires_grad


def test_one_hot_examples():
    np.testing.assert_array_equal(F.one_hot([2, 0], 3).data, [[0, 0, 1], [1, 0, 0]])
    assert F.one_hot([1], 4, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(F.one_hot(np.array([1.0, 0.0]), 2).data, [[0, 1], [1, 0]])


# ====================================================================== quadratic_cost


@SETTINGS
@given(seed=seeds, batch=st.integers(1, 8), classes=st.integers(1, 10))
def test_quadratic_cost_equals_numpy_formula_integer_labels(seed, batch, classes):
    rng = np.random.default_rng(seed)
    out = rng.uniform(0, 1, (batch, classes))
    labels = rng.integers(0, classes, batch)
    expected = np.sum((out - np_one_hot(labels, classes)) ** 2) / batch
    got = F.quadratic_cost(Tensor(out), labels)
    assert got.numel() == 1
    np.testing.assert_allclose(float(got.data), expected, rtol=1e-12)


@SETTINGS
@given(seed=seeds, batch=st.integers(1, 8), classes=st.integers(1, 10))
def test_quadratic_cost_equals_numpy_formula_float_targets(seed, batch, classes):
    rng = np.random.default_rng(seed)
    out, y = rng.standard_normal((batch, classes)), rng.standard_normal((batch, classes))
    expected = np.sum((out - y) ** 2) / batch
    np.testing.assert_allclose(float(F.quadratic_cost(Tensor(out), y).data), expected, rtol=1e-12)
    np.testing.assert_allclose(float(F.quadratic_cost(Tensor(out), Tensor(y)).data), expected, rtol=1e-12)


def test_quadratic_cost_is_sum_over_outputs_mean_over_examples():
    # one example: C0 = (0.5-0)^2 + (0.5-1)^2 = 0.5; two identical examples: still 0.5 (mean, no 1/2 factor)
    out = np.array([[0.5, 0.5]])
    assert float(F.quadratic_cost(Tensor(out), [1]).data) == pytest.approx(0.5)
    assert float(F.quadratic_cost(Tensor(np.vstack([out, out])), [1, 1]).data) == pytest.approx(0.5)


@pytest.mark.parametrize("target_kind", ["labels", "floats"])
def test_quadratic_cost_gradient_is_2_diff_over_batch(target_kind):
    rng = np.random.default_rng(3)
    out = Tensor(rng.uniform(0, 1, (4, 5)), requires_grad=True)
    labels = rng.integers(0, 5, 4)
    y = np_one_hot(labels, 5) if target_kind == "labels" else rng.uniform(0, 1, (4, 5))
    F.quadratic_cost(out, labels if target_kind == "labels" else y).backward()
    np.testing.assert_allclose(out.grad.data, 2 * (out.data - y) / 4, rtol=1e-12)
    assert gradcheck(lambda o: F.quadratic_cost(o, y), Tensor(out.data, requires_grad=True))


# ====================================================================== cross_entropy


@SETTINGS
@given(seed=seeds, batch=st.integers(1, 8), classes=st.integers(1, 10), scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_cross_entropy_equals_numpy_stable_formula(seed, batch, classes, scale):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, classes)) * scale
    labels = rng.integers(0, classes, batch)
    expected = -np.mean(np_log_softmax(z)[np.arange(batch), labels])
    got = float(F.cross_entropy(Tensor(z), labels).data)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_finite_for_huge_logits(dtype):
    z = Tensor(np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], dtype=dtype), requires_grad=True)
    loss = F.cross_entropy(z, [2, 1])
    assert np.isfinite(loss.data).all()
    assert float(loss.data) == pytest.approx((2e4 + 0.0) / 2, rel=1e-6)
    loss.backward()
    assert np.isfinite(z.grad.data).all()
    expected = (np.array([[1, 0, 0], [0, 1, 0]]) - np.array([[0, 0, 1], [0, 1, 0]])) / 2
    np.testing.assert_allclose(z.grad.data, expected, atol=1e-6)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_batch():
    rng = np.random.default_rng(4)
    z = Tensor(rng.standard_normal((5, 4)) * 3, requires_grad=True)
    labels = rng.integers(0, 4, 5)
    F.cross_entropy(z, labels).backward()
    softmax = np.exp(np_log_softmax(z.data))
    np.testing.assert_allclose(z.grad.data, (softmax - np_one_hot(labels, 4)) / 5, rtol=1e-10, atol=1e-14)


def test_cross_entropy_gradcheck():
    rng = np.random.default_rng(5)
    z = Tensor(rng.standard_normal((4, 6)) * 2, requires_grad=True)
    assert gradcheck(lambda z: F.cross_entropy(z, [0, 5, 2, 2]), z)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target_kind", ["labels", "probabilities", "smoothed"])
def test_a_class_masked_with_minus_inf_is_as_if_it_were_not_there(reduction, target_kind):
    """A logit of -inf (a user's mask) on a class of target weight 0 contributes nothing, not 0 * -inf = NaN: the
    loss and the other classes' gradients are those of the logits without that class, its gradient is 0, and no
    numpy warning is raised. With a weight on it (label smoothing), the loss is an honest infinity."""
    rng = np.random.default_rng(6)
    z = rng.standard_normal((4, 5))
    labels = np.array([0, 1, 3, 3])
    probs = np_one_hot(labels, 5) * 0.7 + np_one_hot([1, 3, 0, 1], 5) * 0.3  # column 2 (the masked one) is 0
    target = probs if target_kind == "probabilities" else labels
    kept = [0, 1, 3, 4]
    masked = z.copy()
    masked[:, 2] = -np.inf
    smoothing = 0.1 if target_kind == "smoothed" else 0.0
    a = Tensor(masked, requires_grad=True)
    b = Tensor(z[:, kept], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(a, target, reduction=reduction, label_smoothing=smoothing)
        if target_kind == "smoothed":  # every class has a weight: -log(0) is +inf
            assert np.all(loss.data == np.inf)
            return
        loss.sum().backward()
    fewer = probs[:, kept] if target_kind == "probabilities" else np.searchsorted(kept, labels)
    reference = F.cross_entropy(b, fewer, reduction=reduction)
    reference.sum().backward()
    np.testing.assert_allclose(loss.data, reference.data, rtol=1e-12)
    np.testing.assert_array_equal(a.grad.data[:, 2], 0.0)
    np.testing.assert_allclose(a.grad.data[:, kept], b.grad.data, rtol=1e-12, atol=1e-15)


def test_weighted_log_sum_takes_a_zero_weight_on_minus_inf_as_zero():
    y = np.array([[-np.inf, -1.0], [-2.0, -np.inf]])
    w = np.array([[0.0, 2.0], [1.0, 0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ops.WeightedLogSum().forward(y, w) == -np.inf  # the weight 0.5 on -inf: honest
        np.testing.assert_array_equal(ops.WeightedLogSum(1).forward(y, w), [-2.0, -np.inf])
        np.testing.assert_array_equal(ops.WeightedLogSum(0).forward(y, np.where(np.isinf(y), 0.0, w)), [-2.0, -2.0])
    with pytest.raises(ShapeError, match="weightedlogsum"):
        Tensor.apply(ops.WeightedLogSum(), Tensor(y), Tensor(w[:1]))


# ====================================================================== bad labels and shapes


@pytest.mark.parametrize("fn", ["quadratic_cost", "cross_entropy", "one_hot"])
def test_labels_out_of_range_are_value_errors(fn):
    for labels in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            call_with_labels(fn, labels)


@pytest.mark.parametrize("fn", ["cross_entropy", "one_hot"])
def test_non_integer_float_labels_are_dtype_errors(fn):
    with pytest.raises(DTypeError, match="float64"):
        call_with_labels(fn, np.array([0.5, 1.0]))
    with pytest.raises(DTypeError):
        call_with_labels(fn, np.array([np.nan, 1.0]))


def test_quadratic_cost_non_integer_float_labels_are_shape_errors():
    # 1-D floats are not labels for quadratic_cost; they are a target of the wrong shape
    with pytest.raises(ShapeError, match=r"\(2,\).*\(2, 3\)"):
        F.quadratic_cost(Tensor(np.zeros((2, 3))), np.array([0.5, 1.0]))


@pytest.mark.parametrize("fn", ["cross_entropy", "one_hot"])
def test_two_dimensional_labels_are_shape_errors(fn):
    with pytest.raises(ShapeError, match=r"\(2, 1\)"):
        call_with_labels(fn, np.array([[1], [2]]))


def test_quadratic_cost_shape_mismatches_name_the_shapes():
    out = Tensor(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"\(2, 4\).*\(2, 3\)"):
        F.quadratic_cost(out, np.zeros((2, 4)))
    with pytest.raises(ShapeError, match=r"\(3, 3\).*\(2, 3\)"):
        F.quadratic_cost(out, np.array([0, 1, 2]))             # three labels for two rows
    with pytest.raises(ShapeError, match=r"\(2, 1\)"):
        F.quadratic_cost(out, np.array([[1], [2]]))
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        F.quadratic_cost(Tensor(np.zeros(3)), np.zeros(3))


def test_cross_entropy_shape_mismatches_name_the_shapes():
    with pytest.raises(ShapeError, match="3 labels for a batch of 2"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), [0, 1, 2])
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        F.cross_entropy(Tensor(np.zeros(3)), [1])


def call_with_labels(fn, labels):
    if fn == "one_hot":
        return F.one_hot(labels, 3)
    return getattr(F, fn)(Tensor(np.zeros((2, 3))), np.asarray(labels))


def test_loss_by_name():
    assert F.loss("mse") is F.quadratic_cost
    assert F.loss("cross_entropy") is F.cross_entropy and F.loss("ce") is F.cross_entropy
    with pytest.raises(ValueError, match="mse"):
        F.loss("hinge")
