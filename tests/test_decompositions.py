"""Every fused rule of ops.py against its decomposition into basis ops (ops.DECOMPOSITIONS): the same value and the
same gradient for every input, in float64, at random values inside each rule's domain and away from its kinks and
ties; and the decomposed graph holds basis ops only. The decompositions are what `graph --expand` and
`explain --expand` draw, so this is what keeps those pictures honest."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import ops
from tinygrad_mlp import primitives as P
from tinygrad_mlp.tensor_core import Tensor, graph_tensors

# the rules of ops.py without a decomposition, each with the reason
NOT_COMPOSABLE = {
    ops.Sin: "no sine in the basis", ops.Cos: "no cosine in the basis", ops.Erf: "no erf in the basis",
    ops.Cumsum: "no running sum in the basis",
    ops.OneHot: "integer labels in, no gradient to them", ops.TakeAlongAxis: "integer indices in (an input)",
    ops.Take: "integer indices in (an input)",
    ops.Tan: "no sine or cosine in the basis", ops.Arcsin: "no inverse sine in the basis",
    ops.Arccos: "no inverse cosine in the basis", ops.Arctan: "no inverse tangent in the basis",
    ops.Arctan2: "no inverse tangent in the basis", ops.ZeroGradient: "no sign, floor, ceil or round in the basis",
    ops.Remainder: "no floor or trunc in the basis",
    ops.Einsum: "any contraction is Transpose, Reshape, Mul and Sum, but not written out for every subscript",
    ops.Compare: "a bool result: no gradient, nothing to expand", ops.Logical: "a bool result: no gradient",
    ops.ArgReduce: "an integer result: no gradient", ops.AnyAll: "a bool result: no gradient",
    ops.ArgSort: "an integer result: no gradient",
}


def away_from_zero(rng, shape, low=0.2, high=2.0):
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def cases():
    """(id, rule, input arrays): inputs inside the domain, away from kinks (0 for relu-like, ties for maximum)."""
    rng = np.random.default_rng(0)
    x = away_from_zero(rng, (3, 4))
    y = x + away_from_zero(rng, (3, 4))  # never tied with x
    return [
        ("Sigmoid", ops.Sigmoid(), [rng.normal(0, 3, (3, 4))]),
        ("Silu", ops.Silu(), [rng.normal(0, 3, (3, 4))]),
        ("Tanh", ops.Tanh(), [rng.normal(0, 2, (3, 4))]),
        ("Maximum", ops.Maximum(), [x, y]),
        ("Maximum-broadcast", ops.Maximum(), [x, np.array([0.05, -0.1, 0.3, -0.7])]),
        ("Relu", ops.Relu(), [x]),
        ("LeakyRelu", ops.LeakyRelu(0.1), [x]),
        ("Elu", ops.Elu(0.7), [x]),
        ("Clip-both", ops.Clip(True, True), [x, np.array(-0.5), np.array(0.6)]),
        ("Clip-lo", ops.Clip(True, False), [x, np.array(0.1)]),
        ("Clip-hi", ops.Clip(False, True), [x, np.array(-0.1)]),
        ("LogSoftmax", ops.LogSoftmax(axis=1), [rng.normal(0, 3, (3, 5))]),
        ("LogSoftmax-axis0", ops.LogSoftmax(axis=0), [rng.normal(0, 3, (3, 5))]),
        ("LogSumExp", ops.LogSumExp((1,)), [rng.normal(0, 3, (3, 5))]),
        ("LogSumExp-keepdims", ops.LogSumExp((0, 1), keepdims=True), [rng.normal(0, 3, (3, 5))]),
        ("WeightedLogSum", ops.WeightedLogSum(), [rng.normal(0, 1, (3, 5)), rng.normal(0, 1, (3, 5))]),
        ("WeightedLogSum-axis", ops.WeightedLogSum(axis=1), [rng.normal(0, 1, (3, 5)), rng.normal(0, 1, (3, 5))]),
        ("SquaredError", ops.SquaredError(), [rng.random((4, 10)), rng.random((4, 10))]),
        ("Linear", ops.Linear(), [rng.normal(0, 1, (4, 3)), rng.normal(0, 1, (2, 3)), rng.normal(0, 1, (2,))]),
        ("Log1p", ops.Log1p(), [rng.uniform(-0.5, 3, (3, 4))]),
        ("Expm1", ops.Expm1(), [rng.normal(0, 1, (3, 4))]),
        ("Softplus", ops.Softplus(), [rng.normal(0, 3, (3, 4))]),
        ("Select", ops.Select(), [x > 0, x, y]),
        ("Sinh", ops.Sinh(), [rng.normal(0, 2, (3, 4))]),
        ("Cosh", ops.Cosh(), [rng.normal(0, 2, (3, 4))]),
        ("Arcsinh", ops.Arcsinh(), [rng.normal(0, 2, (3, 4))]),
        ("Arccosh", ops.Arccosh(), [rng.uniform(1.1, 4, (3, 4))]),
        ("Arctanh", ops.Arctanh(), [rng.uniform(-0.9, 0.9, (3, 4))]),
    ]


CASES = cases()


def test_every_fused_rule_has_a_decomposition_and_a_case():
    rules = {getattr(ops, name) for name in ops.__all__ if isinstance(getattr(ops, name), type)}
    missing = sorted(r.__name__ for r in rules - set(NOT_COMPOSABLE) - set(ops.DECOMPOSITIONS))
    assert not missing, (f"rules of ops.py with no decomposition: {missing}: give each one in ops.DECOMPOSITIONS "
                         "(and a case here), or list it in NOT_COMPOSABLE if the basis cannot express it")
    assert set(ops.DECOMPOSITIONS) <= rules
    assert {type(rule) for _, rule, _ in CASES} == set(ops.DECOMPOSITIONS)


def leaf(a: np.ndarray) -> Tensor:
    """A float64 leaf that requires grad, or a constant for a mask (Select's condition)."""
    return Tensor.wrap(a) if a.dtype == bool else Tensor(a.astype(np.float64), requires_grad=True)


def value_and_grads(build, arrays, seed_weights):
    leaves = [leaf(a) for a in arrays]
    out = build(*leaves)
    (out * Tensor(seed_weights)).sum().backward() if out.numel() > 1 else out.backward()
    return out, [x.grad.data for x in leaves if x.requires_grad]


@pytest.mark.parametrize(("rule", "arrays"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fused_and_decomposed_agree_in_value_and_gradient(rule, arrays):
    shape = Tensor.apply(rule, *[leaf(a) for a in arrays]).shape
    weights = np.random.default_rng(1).normal(0, 1, shape)  # a random output gradient
    fused, fused_grads = value_and_grads(lambda *xs: Tensor.apply(rule, *xs), arrays, weights)
    parts, part_grads = value_and_grads(lambda *xs: ops.decompose(rule, *xs), arrays, weights)
    assert parts.shape == fused.shape and parts.dtype == fused.dtype
    np.testing.assert_allclose(parts.data, fused.data, rtol=1e-12, atol=1e-12)
    for i, (a, b) in enumerate(zip(part_grads, fused_grads, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"gradient of input {i}")


@pytest.mark.parametrize(("rule", "arrays"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_decomposition_is_made_of_basis_ops_only(rule, arrays):
    out = ops.decompose(rule, *[leaf(a) for a in arrays])
    used = {type(t.node.rule) for t in graph_tensors(out) if t.node is not None}
    assert used and all(r.__module__ == P.__name__ for r in used), used


def test_rules_without_a_decomposition_say_so():
    assert ops.decompose(ops.Sin(), Tensor([1.0])) is None
    assert ops.decompose(P.Add(), Tensor([1.0]), Tensor([2.0])) is None


def test_an_expanded_training_cost_is_basis_ops_with_the_same_value_and_gradients():
    from tinygrad_mlp.nn import MLP, functional
    from tinygrad_mlp.viz import expanded

    rng = np.random.default_rng(2)
    for loss, output in (("mse", "sigmoid"), ("cross_entropy", None)):
        model = MLP([5, 4, 3], output_activation=output, seed=0, dtype=np.float64)
        x, y = rng.random((6, 5)), rng.integers(0, 3, 6)
        cost = functional.loss(loss)(model(Tensor(x)), y)
        fused_rules = {type(t.node.rule) for t in graph_tensors(cost) if t.node is not None}
        assert fused_rules & set(ops.DECOMPOSITIONS), fused_rules  # there is something to expand
        big = expanded(cost)
        rules = {type(t.node.rule) for t in graph_tensors(big) if t.node is not None}
        assert not rules & set(ops.DECOMPOSITIONS), rules & set(ops.DECOMPOSITIONS)
        assert float(big.data) == pytest.approx(float(cost.data), rel=1e-12)
        big.backward()
        expanded_grads = [p.grad.data.copy() for p in model.parameters()]
        model.zero_grad()
        cost.backward()
        for a, b in zip(expanded_grads, [p.grad.data for p in model.parameters()], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_explain_expand_narrates_the_sigmoid_as_basis_ops():
    from tinygrad_mlp.viz import explain

    fused, plain = explain("1-1-1"), explain("1-1-1", expand=True)
    assert "Sigmoid(" in fused and "Sigmoid(" not in plain
    assert "Exp(" in plain and "Neg(" in plain and "(agree)" in plain and "DISAGREE" not in plain


def test_graph_and_explain_expand_from_the_command_line(capsys):
    from tinygrad_mlp.cli import main

    assert main(["graph", "--arch", "784-16-10", "--batch-size", "2", "--out", "-"]) == 0
    fused = capsys.readouterr().out
    assert main(["graph", "--arch", "784-16-10", "--batch-size", "2", "--expand", "--out", "-"]) == 0
    plain = capsys.readouterr().out
    for name in ("Linear", "Sigmoid", "SquaredError"):
        assert f'label="{name}"' in fused and f'label="{name}"' not in plain
    assert 'label="MatMul"' in plain and 'label="Exp"' in plain and "expanded into basis ops" in plain
    assert main(["explain", "--layers", "1", "--expand"]) == 0
    assert "= Exp(" in capsys.readouterr().out
