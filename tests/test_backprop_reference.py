"""Tests of tinygrad_mlp.backprop, the hand-derived numpy reference of the notes' equations.

Everything here is float64 unless a test is about float32. The property tests
draw a seed with hypothesis and build the arrays from it with numpy (much
faster than drawing every float through hypothesis, and still shrinkable).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_mlp import backprop as bp
from tinygrad_mlp.errors import DTypeError, ShapeError

ACTIVATION_NAMES = ["sigmoid", "relu", "tanh", None, "identity"]
RELU_MARGIN = 1e-3  # keep every ReLU pre-activation at least this far from the kink at 0


def make_network(rng, widths, dtype=np.float64):
    """W(l) ~ N(0, 1/n_{l-1}) so activations stay O(1); b(l) ~ N(0, 0.5^2)."""
    weights = [
        (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
        for n_in, n_out in zip(widths[:-1], widths[1:])
    ]
    biases = [(0.5 * rng.standard_normal(n_out)).astype(dtype) for n_out in widths[1:]]
    return weights, biases


def make_targets(rng, kind, batch, n_out, loss):
    if kind == "labels":
        return rng.integers(0, n_out, size=batch)
    if loss == "cross_entropy":  # rows of probabilities
        return rng.dirichlet(np.ones(n_out), size=batch)
    return rng.uniform(0.0, 1.0, size=(batch, n_out))  # any float target matrix for mse


def min_abs_relu_z(weights, biases, x, activation, output_activation):
    """Smallest |z| over the layers whose activation is ReLU (inf if none is)."""
    zs, _ = bp.forward(weights, biases, x, activation, output_activation)
    L = len(weights)
    relu_zs = [
        z for l, z in enumerate(zs, start=1)
        if (output_activation if l == L else activation) == "relu"
    ]
    return min((np.abs(z).min() for z in relu_zs), default=np.inf)


def assert_grads_close(got, want, rtol, atol):
    for l, (g, w) in enumerate(zip(got, want), start=1):
        assert g.shape == w.shape, f"layer {l}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"layer {l}")


# ---------------------------------------------------------------------------
# backprop against central finite differences
# ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    widths=st.lists(st.integers(1, 12), min_size=2, max_size=5),  # 1-4 layers
    batch=st.integers(1, 16),
    activation=st.sampled_from(ACTIVATION_NAMES),
    output_activation=st.sampled_from(ACTIVATION_NAMES),
    loss=st.sampled_from(["mse", "cross_entropy"]),
    target_kind=st.sampled_from(["labels", "matrix"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_backprop_matches_numerical_gradients(
    widths, batch, activation, output_activation, loss, target_kind, seed
):
    rng = np.random.default_rng(seed)
    # ReLU is not differentiable at z = 0, and a finite difference that steps
    # across the kink measures neither side's slope. So the network and input
    # are redrawn (from the same seeded rng, up to 20 times) until every ReLU
    # layer's |z| >= 1e-3 for every example; a nudge of eps = 1e-6 to any
    # parameter moves z by far less than that. If 20 draws all fail (rare: wide
    # batches of ReLU layers), hypothesis discards the example via assume().
    for _ in range(20):
        weights, biases = make_network(rng, widths)
        x = rng.uniform(-1.0, 1.0, size=(batch, widths[0]))
        if min_abs_relu_z(weights, biases, x, activation, output_activation) >= RELU_MARGIN:
            break
    else:
        assume(False)
    targets = make_targets(rng, target_kind, batch, widths[-1], loss)
    kwargs = dict(activation=activation, output_activation=output_activation, loss=loss)

    cost, grad_w, grad_b = bp.backprop(weights, biases, x, targets, **kwargs)
    num_w, num_b = bp.numerical_gradients(weights, biases, x, targets, **kwargs)

    assert cost == pytest.approx(bp.loss(weights, biases, x, targets, **kwargs), rel=1e-12)
    assert all(g.dtype == np.float64 for g in grad_w + grad_b)
    # central differences in float64 with eps = 1e-6 are good to ~1e-9 here
    assert_grads_close(grad_w, num_w, rtol=1e-5, atol=1e-7)
    assert_grads_close(grad_b, num_b, rtol=1e-5, atol=1e-7)


@settings(max_examples=50, deadline=None)
@given(
    widths=st.lists(st.integers(1, 8), min_size=2, max_size=4),
    batch=st.integers(1, 8),
    activation=st.sampled_from(ACTIVATION_NAMES),
    loss=st.sampled_from(["mse", "cross_entropy"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_batch_gradient_is_average_of_per_example_gradients(widths, batch, activation, loss, seed):
    # The notes: run backprop for each training example and average the desired
    # changes. The vectorised batch version must give exactly that average.
    rng = np.random.default_rng(seed)
    weights, biases = make_network(rng, widths)
    x = rng.uniform(-1.0, 1.0, size=(batch, widths[0]))
    labels = rng.integers(0, widths[-1], size=batch)
    kwargs = dict(activation=activation, output_activation=None if loss == "cross_entropy" else "sigmoid", loss=loss)

    cost, grad_w, grad_b = bp.backprop(weights, biases, x, labels, **kwargs)
    singles = [bp.backprop(weights, biases, x[i : i + 1], labels[i : i + 1], **kwargs) for i in range(batch)]

    assert cost == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    assert_grads_close(grad_w, [np.mean([s[1][l] for s in singles], axis=0) for l in range(len(weights))], 1e-10, 1e-13)
    assert_grads_close(grad_b, [np.mean([s[2][l] for s in singles], axis=0) for l in range(len(weights))], 1e-10, 1e-13)


def test_mse_is_notes_quadratic_cost_without_half():
    # C = mean over examples of sum_j (a_j - y_j)^2, y one-hot; labels and an
    # explicit one-hot matrix give the same cost and gradients.
    rng = np.random.default_rng(0)
    weights, biases = make_network(rng, [3, 4, 5])
    x = rng.uniform(size=(6, 3))
    labels = np.array([0, 4, 2, 2, 1, 3])
    onehot = np.eye(5)[labels]
    _, acts = bp.forward(weights, biases, x)
    expected = np.mean(np.sum((acts[-1].T - onehot) ** 2, axis=1))
    assert bp.loss(weights, biases, x, labels) == pytest.approx(expected, rel=1e-13)
    c1, gw1, gb1 = bp.backprop(weights, biases, x, labels)
    c2, gw2, gb2 = bp.backprop(weights, biases, x, onehot)
    assert c1 == pytest.approx(c2, rel=1e-13)
    assert_grads_close(gw1 + gb1, gw2 + gb2, rtol=1e-13, atol=0)


def test_cross_entropy_is_stable_and_matches_log_softmax():
    # Huge logits must not overflow (log-sum-exp with max subtraction).
    weights = [np.array([[1000.0], [-1000.0], [0.0]])]
    biases = [np.zeros(3)]
    x = np.array([[1.0], [-1.0]])
    labels = np.array([0, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        cost, grad_w, grad_b = bp.backprop(weights, biases, x, labels, output_activation=None, loss="cross_entropy")
    # example 1: logits (1000, -1000, 0), label 0 -> loss ~ 0
    # example 2: logits (-1000, 1000, 0), label 0 -> loss ~ 2000
    assert cost == pytest.approx(1000.0, rel=1e-12)
    assert np.all(np.isfinite(grad_w[0])) and np.all(np.isfinite(grad_b[0]))
    # delta(L) = (softmax - onehot)/batch: ((0,0,0) + (-1, 1, 0)) summed -> (-0.5, 0.5, 0)
    np.testing.assert_allclose(grad_b[0], [-0.5, 0.5, 0.0], atol=1e-12)


# ---------------------------------------------------------------------------
# The notes' one-neuron-per-layer chain
# ---------------------------------------------------------------------------


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_closed_form_last_layer_by_hand():
    # a(L-1) = 0.0, b = 0: z = 0, a = 1/2, sigmoid'(0) = 1/4; y = 1: 2(a - y) = -1.
    dw, db, da_prev = bp.closed_form_last_layer(0.0, 3.0, 0.0, 1.0)
    assert (dw, db, da_prev) == (0.0, -0.25, -0.75)
    # a(L-1) = 2, w = 0.5, b = -1: z = 0 again; y = 0: 2(a - y) = 1.
    dw, db, da_prev = bp.closed_form_last_layer(2.0, 0.5, -1.0, 0.0)
    assert (dw, db, da_prev) == (0.5, 0.25, 0.125)


unit = st.floats(-2.0, 2.0, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(w=st.tuples(unit, unit, unit), b=st.tuples(unit, unit, unit), x=st.floats(0.0, 1.0), y=st.floats(0.0, 1.0))
def test_one_neuron_chain_matches_closed_form(w, b, x, y):
    # Widths [1, 1, 1, 1]: three weights and three biases, sigmoid everywhere,
    # C0 = (a(3) - y)^2 for one example with a scalar target y.
    weights = [np.array([[wl]]) for wl in w]
    biases = [np.array([bl]) for bl in b]
    xs, ys = np.array([[x]]), np.array([[y]])
    _, grad_w, grad_b = bp.backprop(weights, biases, xs, ys)
    zs, acts = bp.forward(weights, biases, xs)
    a1, a2, a3 = (acts[l][0, 0] for l in (1, 2, 3))

    assert a3 == pytest.approx(_sigmoid(w[2] * a2 + b[2]), rel=1e-12)
    dw3, db3, da2 = bp.closed_form_last_layer(a2, w[2], b[2], y)
    assert grad_w[2][0, 0] == pytest.approx(dw3, rel=1e-10, abs=1e-15)
    assert grad_b[2][0] == pytest.approx(db3, rel=1e-10, abs=1e-15)
    # "keep iterating the same chain rule backwards": the layer before uses
    # dC0/da(2) in place of 2(a - y): dC0/dw(2) = a(1) sigmoid'(z(2)) dC0/da(2).
    sp2 = a2 * (1 - a2)
    assert grad_w[1][0, 0] == pytest.approx(a1 * sp2 * da2, rel=1e-10, abs=1e-15)
    assert grad_b[1][0] == pytest.approx(sp2 * da2, rel=1e-10, abs=1e-15)


# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh", None])
@pytest.mark.parametrize("loss,output_activation", [("mse", "sigmoid"), ("mse", None), ("cross_entropy", None)])
def test_float32_in_float32_out_and_close_to_float64(activation, loss, output_activation):
    rng = np.random.default_rng(1)
    weights, biases = make_network(rng, [6, 10, 8, 4])
    x = rng.uniform(0.0, 1.0, size=(16, 6))
    labels = rng.integers(0, 4, size=16)
    kwargs = dict(activation=activation, output_activation=output_activation, loss=loss)
    w32, b32 = [w.astype(np.float32) for w in weights], [b.astype(np.float32) for b in biases]
    x32 = x.astype(np.float32)

    zs, acts = bp.forward(w32, b32, x32, activation, output_activation)
    assert all(a.dtype == np.float32 for a in zs + acts)
    c32, gw32, gb32 = bp.backprop(w32, b32, x32, labels, **kwargs)
    assert all(g.dtype == np.float32 for g in gw32 + gb32)
    c64, gw64, gb64 = bp.backprop(weights, biases, x, labels, **kwargs)
    assert all(g.dtype == np.float64 for g in gw64 + gb64)

    assert c32 == pytest.approx(c64, rel=1e-5)
    assert_grads_close(gw32, gw64, rtol=1e-3, atol=1e-5)
    assert_grads_close(gb32, gb64, rtol=1e-3, atol=1e-5)

    # float32 one-hot targets and the update keep float32 too, in place
    onehot32 = np.eye(4, dtype=np.float32)[labels]
    ids = [id(a) for a in w32 + b32]
    bp.train_step(w32, b32, x32, onehot32 if loss == "mse" else labels, 0.1, **kwargs)
    assert [id(a) for a in w32 + b32] == ids
    assert all(a.dtype == np.float32 for a in w32 + b32)


# ---------------------------------------------------------------------------
# gradient descent
# ---------------------------------------------------------------------------


def test_sgd_step_is_in_place_and_goes_downhill():
    rng = np.random.default_rng(2)
    weights, biases = make_network(rng, [4, 5, 3])
    x = rng.uniform(size=(8, 4))
    labels = rng.integers(0, 3, size=8)
    before = [a.copy() for a in weights + biases]
    cost, gw, gb = bp.backprop(weights, biases, x, labels)
    bp.sgd_step(weights, biases, gw, gb, lr=0.5)
    for new, old, g in zip(weights + biases, before, gw + gb):
        np.testing.assert_allclose(new, old - 0.5 * g, rtol=1e-15, atol=0)
    assert bp.loss(weights, biases, x, labels) < cost


@pytest.mark.parametrize(
    "activation,output_activation,loss,lr",
    [("sigmoid", "sigmoid", "mse", 3.0), ("relu", None, "cross_entropy", 0.5), ("tanh", None, "mse", 0.05)],
)
def test_train_step_learns_a_small_problem(activation, output_activation, loss, lr):
    # Four Gaussian blobs in 2-D, one class each; a [2, 8, 4] network.
    rng = np.random.default_rng(3)
    centers = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    labels = rng.integers(0, 4, size=64)
    x = centers[labels] + 0.2 * rng.standard_normal((64, 2))
    weights, biases = make_network(rng, [2, 8, 4])
    kwargs = dict(activation=activation, output_activation=output_activation, loss=loss)

    first = bp.loss(weights, biases, x, labels, **kwargs)
    costs = [bp.train_step(weights, biases, x, labels, lr, **kwargs) for _ in range(300)]
    last = bp.loss(weights, biases, x, labels, **kwargs)

    assert costs[0] == pytest.approx(first)  # train_step returns the cost before its update
    assert last < 0.25 * first
    _, acts = bp.forward(weights, biases, x, activation, output_activation)
    assert np.mean(acts[-1].argmax(axis=0) == labels) > 0.9


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def _net():
    rng = np.random.default_rng(4)
    return make_network(rng, [3, 4, 2])


# Each case: (weights, biases, x, labels) -> the same with one thing broken, plus kwargs.
NETWORK_ERRORS = [  # apply to forward, loss and backprop
    (lambda w, b, x: (w, b, x, dict(activation="softmax")), ValueError, r"unknown activation 'softmax'"),
    (lambda w, b, x: (w, b, x, dict(output_activation="Sigmoid")), ValueError, r"unknown activation 'Sigmoid'"),
    (lambda w, b, x: (w, b, x[:, :2], {}), ShapeError, r"x of shape \(5, 2\) does not fit W\(1\) of shape \(4, 3\)"),
    (lambda w, b, x: (w, b, x[0], {}), ShapeError, r"x must be 2-D \(batch, n_0\); got shape \(3,\)"),
    (lambda w, b, x: ([w[0], w[1][:, :3]], b, x, {}), ShapeError, r"W\(2\) of shape \(2, 3\) does not fit W\(1\) of shape \(4, 3\)"),
    (lambda w, b, x: (w, [b[0][:3], b[1]], x, {}), ShapeError, r"b\(1\) must have shape \(4,\) to match W\(1\) of shape \(4, 3\); got \(3,\)"),
    (lambda w, b, x: (w, b[:1], x, {}), ShapeError, r"2 weight matrices but 1 bias vectors"),
    (lambda w, b, x: ([], [], x, {}), ShapeError, r"at least one layer"),
]
TARGET_ERRORS = [  # apply to loss and backprop; the network and x are fine
    (np.array([0, 1]), {}, ShapeError, r"got 2 labels for a batch of 5 examples"),
    (np.array([0, 1, 2, 0, 1]), {}, ValueError, r"labels must lie in \[0, 2\).*max 2"),
    (np.array([0, -1, 1, 0, 1]), {}, ValueError, r"labels must lie in \[0, 2\).*min -1"),
    (np.zeros((5, 3)), {}, ShapeError, r"target matrix of shape \(5, 3\).*expected \(5, 2\)"),
    (np.array([0.0, 1.0, 1.0, 0.0, 1.0]), {}, ShapeError, r"targets must be integer labels of shape \(5,\)"),
    (np.array([0, 1, 1, 0, 1]), dict(loss="l2"), ValueError, r"unknown loss 'l2'"),
]


def _check_one_line_error(call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("mutate,exc,match", NETWORK_ERRORS)
@pytest.mark.parametrize("fn", ["forward", "loss", "backprop"])
def test_network_errors_name_what_is_wrong(mutate, exc, match, fn):
    weights, biases = _net()
    w, b, x, kwargs = mutate(weights, biases, np.zeros((5, 3)))
    labels = np.array([0, 1, 1, 0, 1])
    if fn == "forward":
        _check_one_line_error(lambda: bp.forward(w, b, x, **kwargs), exc, match)
    else:
        _check_one_line_error(lambda: getattr(bp, fn)(w, b, x, labels, **kwargs), exc, match)


@pytest.mark.parametrize("targets,kwargs,exc,match", TARGET_ERRORS)
@pytest.mark.parametrize("fn", ["loss", "backprop", "train_step"])
def test_target_errors_name_what_is_wrong(targets, kwargs, exc, match, fn):
    weights, biases = _net()
    x = np.zeros((5, 3))
    if fn == "train_step":
        call = lambda: bp.train_step(weights, biases, x, targets, 0.1, **kwargs)
    else:
        call = lambda: getattr(bp, fn)(weights, biases, x, targets, **kwargs)
    _check_one_line_error(call, exc, match)


def test_sgd_step_and_numerical_gradients_reject_bad_arguments():
    weights, biases = _net()
    x, labels = np.zeros((2, 3)), np.array([0, 1])
    _, gw, gb = bp.backprop(weights, biases, x, labels)
    with pytest.raises(ShapeError, match=r"layer 2: gradients of shapes \(4, 3\), \(2,\) do not match W\(2\) \(2, 4\)"):
        bp.sgd_step(weights, biases, [gw[0], gw[0]], gb, 0.1)
    with pytest.raises(ShapeError, match=r"got 1 weight and 2 bias gradients"):
        bp.sgd_step(weights, biases, gw[:1], gb, 0.1)
    with pytest.raises(ValueError, match=r"eps must be positive"):
        bp.numerical_gradients(weights, biases, x, labels, eps=0.0)
    with pytest.raises(ValueError, match=r"unknown loss"):
        bp.numerical_gradients(weights, biases, x, labels, loss="hinge")


def test_dtype_errors():
    weights, biases = _net()
    x, labels = np.zeros((2, 3)), np.array([0, 1])
    mixed = [weights[0].astype(np.float32), weights[1]]
    with pytest.raises(DTypeError, match=r"must share one dtype; got \['float32', 'float64'\]"):
        bp.backprop(mixed, biases, x, labels)
    ints = [w.astype(np.int64) for w in weights]
    with pytest.raises(DTypeError, match=r"must be floating point; got dtype int64"):
        bp.forward(ints, [b.astype(np.int64) for b in biases], x)
