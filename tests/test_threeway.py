"""Tests of tinygrad_mlp.threeway: autograd, the hand-derived backprop and finite differences, side by side.

Hypothesis example counts (each example builds a random network and runs all three methods; the finite
differences dominate, two forward passes per parameter):

* ``test_three_ways_agree_float64``: 200 examples (1-4 layers, widths 1-12, batch 1-16, every activation and
  loss, several output activations);
* ``test_three_ways_agree_float32``: 50 examples (same space, float32 tolerances);
* ``test_single_neuron_chain_matches_the_notes_closed_form``: 100 examples (the notes' one-neuron chain);
* ``test_relative_difference_definition``: 50 examples (plain numpy arithmetic).

Hypothesis favours small networks, so ``test_three_ways_agree_on_the_largest_network`` adds the top of the
range (4 layers of width 12, batch 16) for all six activation/loss pairs, deterministically.

Everything else is deterministic. The whole file (47 tests) runs in 6-7 s wall time (measured with
``pytest tests/test_threeway.py --durations=0``; the float64 property test is ~3 s of it), well inside the
one-minute budget.

Random values: hypothesis draws a seed and the architecture; numpy builds the arrays from the seed (much faster
than drawing every float through hypothesis, and still shrinkable to a small network).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mlp import backprop as bp
from tinygrad_mlp import ops
from tinygrad_mlp import threeway as tw
from tinygrad_mlp.nn import MLP, functional
from tinygrad_mlp.optim import SGD
from tinygrad_mlp.tensor_core import Tensor

ACTIVATIONS = ["sigmoid", "relu", "tanh"]
LOSSES = ["mse", "cross_entropy"]
PAIRS_6 = [(a, l) for a in ACTIVATIONS for l in LOSSES]

# Independent of threeway's own pass rule: elementwise checks with numpy.
HAND_RTOL, HAND_ATOL = 1e-10, 1e-14  # autograd vs hand, float64
FD_RTOL, FD_ATOL = 1e-3, 1e-5  # gradcheck's tolerances


@st.composite
def problems(draw, dtype=np.float64):
    """A random MLP, batch and labels: 1-4 layers of widths 1-12, batch 1-16, any activation and loss.

    ReLU's kink: ``make_problem`` redraws the inputs and biases (weights and labels kept) until every ReLU
    pre-activation z of the batch satisfies |z| >= 1e-3 = tw.RELU_MARGIN. A central difference with eps = 1e-6
    moves a z by at most ~1e-6 * |input|, so it never straddles the kink and measures the one-sided slope that
    autograd and the hand derivation use. ``test_make_problem_keeps_relu_away_from_the_kink`` checks that
    guarantee independently.
    """
    n_layers = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 12), min_size=n_layers + 1, max_size=n_layers + 1))
    activation = draw(st.sampled_from(ACTIVATIONS))
    loss = draw(st.sampled_from(LOSSES))
    output_activation = draw(st.sampled_from(["auto", "auto", "sigmoid", "relu", "tanh", None]))
    batch = draw(st.integers(1, 16))
    seed = draw(st.integers(0, 2**32 - 1))
    return tw.make_problem(sizes, activation, loss, batch, seed, dtype, output_activation)


def _assert_all_close(result, dtype=np.float64):
    g = result.gradients
    for name in g["autograd"]:
        a, h, n = g["autograd"][name], g["hand"][name], g["FD"][name]
        if dtype == np.float64:
            np.testing.assert_allclose(a, h, rtol=HAND_RTOL, atol=HAND_ATOL, err_msg=f"{name}: autograd vs hand")
            np.testing.assert_allclose(a, n, rtol=FD_RTOL, atol=FD_ATOL, err_msg=f"{name}: autograd vs FD")
            np.testing.assert_allclose(h, n, rtol=FD_RTOL, atol=FD_ATOL, err_msg=f"{name}: hand vs FD")


# ---------------------------------------------------------------------- the property tests


@settings(max_examples=200, deadline=None)
@given(problems())
def test_three_ways_agree_float64(problem):
    result = problem.check()
    assert result.passed, "\n" + result.format_table()
    _assert_all_close(result)
    for row in result.rows:
        p = row.pair("autograd", "hand")
        assert p.max_rel <= HAND_RTOL or p.max_abs <= HAND_ATOL, row


@pytest.mark.parametrize("activation,loss", PAIRS_6)
def test_three_ways_agree_on_the_largest_network(activation, loss):
    problem = tw.make_problem([12, 12, 12, 12, 12], activation, loss, 16, 2024)
    result = problem.check()
    assert result.passed, "\n" + result.format_table()
    _assert_all_close(result)


@settings(max_examples=50, deadline=None)
@given(problems(np.float32))
def test_three_ways_agree_float32(problem):
    result = problem.check()
    assert result.dtype == "float32"
    assert result.passed, "\n" + result.format_table()
    t = tw.TOLERANCES[np.dtype(np.float32)]
    for name, a in result.gradients["autograd"].items():
        np.testing.assert_allclose(a, result.gradients["FD"][name], rtol=t.fd.rtol, atol=t.fd.atol)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_relative_difference_definition(n, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    max_abs, max_rel, scale = tw.relative_difference(a, b)
    assert max_abs == np.max(np.abs(a - b))
    assert scale == np.max(np.abs(b))
    assert max_rel == max_abs / scale


def test_relative_difference_of_zeros_and_zero_reference():
    assert tw.relative_difference(np.zeros(3), np.zeros(3)) == (0.0, 0.0, 0.0)
    max_abs, max_rel, scale = tw.relative_difference(np.array([1e-300]), np.zeros(1))
    assert (max_abs, scale) == (1e-300, 0.0) and max_rel == 1e-300 / tw.TINY  # finite, huge: not a NaN
    with pytest.raises(ValueError, match="shapes"):
        tw.relative_difference(np.zeros(2), np.zeros(3))


def test_the_pass_rule_is_atol_plus_rtol_times_the_tensors_scale():
    tol = tw.Tolerance(atol=1e-5, rtol=1e-3)
    assert tol.allows(1e-5 + 1e-3 * 2.0, 2.0)
    assert not tol.allows(1.0001 * (1e-5 + 1e-3 * 2.0), 2.0)
    assert not tol.allows(float("nan"), 1.0)


# ---------------------------------------------------------------------- the notes' one-neuron chain


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=7, max_size=7), st.floats(0, 1))
def test_single_neuron_chain_matches_the_notes_closed_form(values, y):
    """One neuron per layer, C0 = (a(L) - y)^2: the three ways agree, and the hand values are the notes'."""
    w1, w2, w3, b1, b2, b3, x0 = values
    model = MLP([1, 1, 1, 1], "sigmoid", "sigmoid", dtype=np.float64)
    for layer, w, b in zip(model.layers, (w1, w2, w3), (b1, b2, b3)):
        layer.weight.data = np.array([[w]])
        layer.bias.data = np.array([b])
    x, target = np.array([[x0]]), np.array([[y]])  # quadratic_cost on a (1, 1) output and a float target: C0
    result = tw.three_way_check(model, x, target, "mse")
    assert result.passed, "\n" + result.format_table()
    _assert_all_close(result)
    hand = result.gradients["hand"]

    _, activations = bp.forward([w.data for w in model.weights], [b.data for b in model.biases], x)
    a_prev = activations[2][0, 0]  # a(L-1)
    dw, db, da_prev = bp.closed_form_last_layer(a_prev, w3, b3, y)
    assert hand["layers.2.weight"][0, 0] == pytest.approx(dw, rel=1e-12, abs=1e-15)
    assert hand["layers.2.bias"][0] == pytest.approx(db, rel=1e-12, abs=1e-15)
    # one link further back: dC0/db(L-1) = sigmoid'(z(L-1)) * dC0/da(L-1)
    assert hand["layers.1.bias"][0] == pytest.approx(a_prev * (1 - a_prev) * da_prev, rel=1e-12, abs=1e-15)
    assert result.loss_hand == pytest.approx((activations[3][0, 0] - y) ** 2, rel=1e-14, abs=1e-300)


# ---------------------------------------------------------------------- trajectories


@pytest.mark.parametrize("activation,loss", PAIRS_6)
def test_sgd_trajectory_autograd_equals_reference(activation, loss):
    """Five SGD steps with nn + optim.SGD and with backprop.train_step reach the same weights (float64)."""
    out = tw.default_output_activation(loss)
    model = MLP([6, 5, 4, 3], activation, out, init="xavier", seed=3, dtype=np.float64)
    rng = np.random.default_rng(7)
    for b in model.biases:
        b.data = 0.3 * rng.standard_normal(b.shape)  # xavier zeroes the biases; make them count
    weights = [w.data.copy() for w in model.weights]
    biases = [b.data.copy() for b in model.biases]
    opt = SGD(model.parameters(), lr=0.5)
    loss_fn = functional.loss(loss)
    for _ in range(5):
        x = rng.standard_normal((8, 6))
        labels = rng.integers(0, 3, size=8)
        opt.zero_grad()
        value = loss_fn(model(Tensor(x)), labels)
        value.backward()
        opt.step()
        ref = bp.train_step(weights, biases, x, labels, 0.5, activation, out, loss)
        assert float(value.data) == pytest.approx(ref, rel=1e-12)
    for w, w_ref in zip(model.weights, weights):
        np.testing.assert_allclose(w.data, w_ref, rtol=0, atol=1e-12)
    for b, b_ref in zip(model.biases, biases):
        np.testing.assert_allclose(b.data, b_ref, rtol=0, atol=1e-12)
    assert not np.array_equal(weights[0], MLP([6, 5, 4, 3], init="xavier", seed=3, dtype=np.float64).weights[0].data)


# ---------------------------------------------------------------------- catching a wrong gradient


def _negated(backward):
    def wrong(self, g, out, *xs):
        return tuple(None if v is None else -v for v in backward(self, g, out, *xs))
    return wrong


@pytest.mark.parametrize("primitive,activation,loss", [
    ("Sigmoid", "sigmoid", "mse"),
    ("Tanh", "tanh", "mse"),
    ("Relu", "relu", "cross_entropy"),
    ("LogSoftmax", "sigmoid", "cross_entropy"),
])
def test_a_sign_flipped_primitive_is_caught(monkeypatch, capsys, primitive, activation, loss):
    cls = getattr(ops, primitive)
    monkeypatch.setattr(cls, "backward", _negated(cls.backward))
    result = tw.make_problem([4, 5, 3], activation, loss, 7, 0).check()
    assert not result.passed
    assert not result.pair_passed("autograd", "hand") and not result.pair_passed("autograd", "FD")
    assert result.pair_passed("hand", "FD")  # the forward pass is intact: FD still agrees with the hand values
    assert result.diagnosis().startswith("autograd is the odd one out")
    assert "overall: FAIL" in result.format_table()

    from tinygrad_mlp.cli import main
    assert main(["gradcheck", "--arch", "4-5-3", "--activation", activation, "--loss", loss,
                 "--batch-size", "7", "--seed", "0"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL" in printed and "autograd is the odd one out" in printed


def test_a_wrong_hand_derivation_is_named(monkeypatch):
    monkeypatch.setitem(bp.ACTIVATIONS, "sigmoid", (bp._sigmoid, lambda z, a: -a * (1 - a)))
    result = tw.make_problem([4, 5, 3], "sigmoid", "mse", 7, 0).check()
    assert not result.passed and result.pair_passed("autograd", "FD")
    assert result.diagnosis().startswith("the hand-derived reference is the odd one out")


def test_wrong_finite_differences_are_named(monkeypatch):
    real = tw.numerical_grad
    monkeypatch.setattr(tw, "numerical_grad", lambda *a, **k: [2 * g + 1 for g in real(*a, **k)])
    result = tw.make_problem([4, 5, 3], "tanh", "mse", 7, 0).check()
    assert not result.passed and result.pair_passed("autograd", "hand")
    assert result.diagnosis().startswith("the finite differences are the odd one out")


def test_a_different_loss_value_fails_the_check(monkeypatch):
    real = bp.backprop
    monkeypatch.setattr(bp, "backprop", lambda *a, **k: (real(*a, **k)[0] + 1e-9, *real(*a, **k)[1:]))
    result = tw.make_problem([3, 2], "sigmoid", "mse", 4, 1).check()
    assert not result.loss_passed and not result.passed
    assert all(row.passed for row in result.rows)
    assert "the loss values differ" in result.format_table()


# ---------------------------------------------------------------------- the check itself


def test_autograd_column_is_loss_backward_and_the_model_is_left_untouched():
    problem = tw.make_problem([3, 4, 2], "tanh", "cross_entropy", 5, 11)
    model = problem.model
    before = [p.data.copy() for p in model.parameters()]
    result = problem.check()
    for p, b in zip(model.parameters(), before):
        assert np.array_equal(p.data, b) and p.grad is None  # FD restores exactly; grads left as they were
    functional.cross_entropy(model(Tensor(problem.x)), problem.labels).backward()
    for name, p in model.named_parameters():
        assert np.array_equal(result.gradients["autograd"][name], p.grad.data)
    assert [r.name for r in result.rows] == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert [r.shape for r in result.rows] == [(4, 3), (4,), (2, 4), (2,)]
    assert [(p.first, p.second) for p in result.rows[0].pairs] == list(tw.PAIRS)


def test_make_problem_keeps_relu_away_from_the_kink():
    for seed in range(40):
        problem = tw.make_problem([5, 12, 12, 3], "relu", "cross_entropy", 16, seed, output_activation="relu")
        zs, _ = bp.forward([w.data for w in problem.model.weights], [b.data for b in problem.model.biases],
                           problem.x, "relu", "relu")
        assert min(np.abs(z).min() for z in zs) >= tw.RELU_MARGIN
        assert problem.relu_min_abs_z == min(np.abs(z).min() for z in zs)
    # deterministic, and the redraws are counted and reported
    p1, p2 = tw.make_problem([4, 5, 3], "relu", "mse", 7, 2), tw.make_problem([4, 5, 3], "relu", "mse", 7, 2)
    assert p1.resamples == p2.resamples == 1 and np.array_equal(p1.x, p2.x)
    assert "redrawn 1 time(s)" in p1.check().format_table()
    assert tw.make_problem([4, 5, 3], "sigmoid", "mse", 7, 2).resamples == 0  # no ReLU, nothing redrawn


def test_a_relu_at_its_kink_is_warned_about():
    model = MLP([2, 3, 2], "relu", None, dtype=np.float64)
    for b in model.biases:
        b.data = np.zeros_like(b.data)
    result = tw.three_way_check(model, np.zeros((2, 2)), np.array([0, 1]), "cross_entropy")
    assert result.relu_min_abs_z == 0.0
    assert any(note.startswith("WARNING: a ReLU pre-activation") for note in result.notes)


def test_default_output_activation_and_loss_names():
    assert tw.default_output_activation("mse") == "sigmoid"
    assert tw.default_output_activation("cross_entropy") is None
    assert tw.default_output_activation("ce") is None
    assert tw.make_problem([2, 2], "tanh", "ce", 2, 0).model.output_activation is None
    with pytest.raises(ValueError, match="unknown loss"):
        tw.canonical_loss("hinge")


def test_float_targets_work_with_mse():
    problem = tw.make_problem([3, 4, 2], "sigmoid", "mse", 6, 5)
    target = np.random.default_rng(0).uniform(size=(6, 2))
    assert tw.three_way_check(problem.model, problem.x, target, "mse").passed


def test_format_table_layout():
    text = tw.make_problem([4, 5, 3], "sigmoid", "mse", 7, 0).check().format_table()
    lines = text.splitlines()
    assert lines[0].startswith("three-way gradient check: MLP 4-5-3 (sigmoid hidden, sigmoid output), loss mse")
    rows = [ln for ln in lines if ln.startswith("layers.")]
    assert [r.split()[0] for r in rows] == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert all(r.split()[-1] == "pass" and r.count(" ok") == 3 for r in rows)
    assert len({len(r) for r in rows}) == 1  # fixed width
    assert lines[-1].startswith("overall: PASS")


def test_parse_sizes():
    from tinygrad_mlp.nn import parse_sizes

    assert parse_sizes("4-5-3") == [4, 5, 3]
    for bad in ("4-x-3", "4", "4-0-3", ""):
        with pytest.raises(ValueError, match="--arch"):
            parse_sizes(bad, "--arch")


# ---------------------------------------------------------------------- the command line


def _gradcheck(*args):
    from tinygrad_mlp.cli import main
    return main(["gradcheck", *args])


@pytest.mark.parametrize("activation,loss", PAIRS_6)
def test_cli_gradcheck_passes_for_every_activation_and_loss(capsys, activation, loss):
    assert _gradcheck("--arch", "4-5-3", "--activation", activation, "--loss", loss, "--batch-size", "7",
                      "--seed", "0") == 0
    out = capsys.readouterr().out
    assert "dtype float64 (the default), because finite differences in float32 are swamped" in out
    out_act = "sigmoid" if loss == "mse" else "linear"
    assert f"MLP 4-5-3 ({activation} hidden, {out_act} output), loss {loss}, batch 7, float64" in out
    assert sum(line.startswith("layers.") and line.endswith("pass") for line in out.splitlines()) == 4
    assert "overall: PASS" in out


def test_cli_gradcheck_float32_runs_with_looser_tolerances(capsys):
    assert _gradcheck("--dtype", "float32", "--activation", "tanh") == 0
    out = capsys.readouterr().out
    assert "dtype float32" in out and "loosened" in out and "rtol 0.0001" in out
    assert "float32" in out.splitlines()[1]  # the table's title line


def test_cli_gradcheck_output_activation_and_relu_redraws(capsys):
    assert _gradcheck("--activation", "relu", "--loss", "ce", "--output-activation", "tanh", "--seed", "2") == 0
    out = capsys.readouterr().out
    assert "(relu hidden, tanh output), loss cross_entropy" in out
    assert "redrawn 1 time(s)" in out and "smallest |z| at a ReLU" in out


def test_cli_gradcheck_help_says_why_float64(capsys):
    assert _gradcheck("--help") == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "swamped by rounding" in text and "only meaningful in float64" in text


@pytest.mark.parametrize("args,fragment", [
    (["--arch", "4-x-3"], "--arch '4-x-3' is malformed"),
    (["--activation", "softplus"], "--activation"),
    (["--loss", "hinge"], "--loss"),
    (["--batch-size", "0"], "--batch-size"),
    (["--dtype", "float16"], "--dtype"),
])
def test_cli_gradcheck_bad_arguments_one_line_error(capsys, args, fragment):
    assert _gradcheck(*args) != 0
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinygrad-mlp: error:") and fragment in err[0]
    assert captured.out == ""


def test_the_table_in_the_docs_is_what_the_command_prints(capsys):
    from pathlib import Path
    page = Path(__file__).resolve().parent.parent / "docs" / "gradient-checking.md"
    text = page.read_text(encoding="utf-8") if page.is_file() else ""
    command = "tinygrad-mlp gradcheck --arch 4-5-3 --activation sigmoid --loss mse --batch-size 7 --seed 0"
    if command not in text:
        pytest.skip("docs/gradient-checking.md has no three-way check section")
    shown = text.split(command, 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert _gradcheck(*command.split()[2:]) == 0
    assert capsys.readouterr().out == shown
