"""In-place operations with PyTorch's semantics (tinygrad_mlp/inplace.py): the same object changes, leaves that
require grad change only under no_grad, and a backward through an op whose input was changed since raises
GraphError rather than computing a wrong gradient (a version counter, engine.changed_in_place)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import nn, optim
from tinygrad_mlp.errors import GraphError, IndexingError, ShapeError

LR = 0.1


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 3)).astype(np.float32), rng.integers(0, 2, 16)


def _trained(update, steps=20):
    """The weights of a small MLP after ``steps`` full-batch steps, updated by ``update(model)`` after backward."""
    x, y = _data()
    model = nn.MLP([3, 5, 2], seed=0)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(tm.Tensor(x)), y)
        loss.backward()
        update(model)
    return [p.data.copy() for p in model.parameters()]


def _with_sgd():
    x, y = _data()
    model = nn.MLP([3, 5, 2], seed=0)
    opt = optim.SGD(model.parameters(), lr=LR)
    for _ in range(20):
        opt.zero_grad()
        nn.functional.cross_entropy(model(tm.Tensor(x)), y).backward()
        opt.step()
    return [p.data.copy() for p in model.parameters()]


def _isub(model):
    with tm.no_grad():
        for p in model.parameters():
            p -= LR * p.grad
            p.grad = None


def _sub_(model):
    with tm.no_grad():
        for p in model.parameters():
            p.sub_(LR * p.grad)
            p.grad = None


def _data_isub(model):  # numpy arithmetic on the arrays: ndarray -= Tensor
    for p in model.parameters():
        p.data -= LR * p.grad
        p.grad = None


def _zero_grad(model):  # the gradient kept and zeroed in place, as PyTorch's tutorials do
    with tm.no_grad():
        for p in model.parameters():
            p -= LR * p.grad
            p.grad.zero_()


@pytest.mark.parametrize("update", [_isub, _sub_, _data_isub, _zero_grad],
                         ids=["p -= lr * p.grad", "p.sub_(lr * p.grad)", "p.data -= lr * p.grad", "p.grad.zero_()"])
def test_manual_sgd_idioms_train_exactly_as_optim_sgd(update):
    expected = _with_sgd()
    got = _trained(update)
    assert not np.array_equal(expected[0], nn.MLP([3, 5, 2], seed=0).parameters()[0].data)  # it did train
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(e, g)


def test_augmented_assignment_changes_the_same_object():
    lin = nn.Linear(2, 1)
    w = lin.weight
    before = w.data.copy()
    with tm.no_grad():
        w += 1.0
        w *= 2.0
    assert lin.weight is w and np.array_equal(lin.weight.data, (before + 1) * 2)
    assert w.is_leaf and w.requires_grad


def test_in_place_on_a_leaf_that_requires_grad_is_refused_with_grad_mode_on():
    p = tm.Tensor([1.0, 2.0], requires_grad=True)
    for change in (lambda: p.__iadd__(1.0), lambda: p.add_(1.0), lambda: p.zero_(), lambda: p.normal_(seed=0)):
        with pytest.raises(GraphError, match=r"in place while gradients are recorded.*no_grad") as e:
            change()
        assert "\n" not in str(e.value)
    assert p.data.tolist() == [1.0, 2.0]


def test_backward_through_an_op_whose_input_was_changed_raises_naming_the_op():
    x = tm.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.exp()  # Exp's backward uses its output and so needs y's old value too
    with tm.no_grad():
        y += 1
    with pytest.raises(GraphError, match=r"input 0 of Exp \(shape \(2,\)\) was changed in place"):
        z.sum().backward()


def test_a_parameter_changed_before_backward_raises_not_a_wrong_gradient():
    w = tm.Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with tm.no_grad():
        w.sub_(0.5)  # the update before backward: dloss/dw would be computed from the new w
    with pytest.raises(GraphError, match="Mul"):
        loss.backward()


def test_the_output_changed_in_place_is_caught_too():
    x = tm.Tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # Exp's backward reads its output
    with tm.no_grad():
        y.mul_(3.0)
    with pytest.raises(GraphError, match="the output of Exp"):
        y.sum().backward()


def test_in_place_on_a_non_leaf_is_recorded_and_gradients_flow():
    # the documented choice: with grad mode on, an in-place op on a tensor in a graph is recorded
    x = tm.Tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=np.float64)
    b = tm.Tensor([0.5, 0.5, 0.5], requires_grad=True, dtype=np.float64)
    h = x * x
    h += b
    h *= 3
    h.relu_()
    h.sum().backward()
    assert not h.is_leaf and h.op == "Relu"
    np.testing.assert_allclose(x.grad.data, 6 * x.data)
    np.testing.assert_allclose(b.grad.data, [3.0, 3.0, 3.0])


def test_in_place_ops_pass_gradcheck():
    def f(x, y):
        h = x * 1.0
        h.add_(y, alpha=2.0)
        h.mul_(x)
        h.tanh_()
        h.sub_(y)
        h.clamp_(-0.9, 0.9)
        h.pow_(2)
        return h.sum()

    rng = np.random.default_rng(1)
    x = tm.Tensor(rng.uniform(0.1, 0.4, 5), requires_grad=True)
    y = tm.Tensor(rng.uniform(0.1, 0.4, 5), requires_grad=True)
    assert tm.gradcheck(f, x, y)


def test_a_constant_changed_by_a_tensor_that_requires_grad_joins_the_graph():
    w = tm.Tensor([2.0, 3.0], requires_grad=True)
    acc = tm.Tensor([0.0, 0.0])
    acc += w * w
    acc.sum().backward()
    assert acc.requires_grad and w.grad.data.tolist() == [4.0, 6.0]


def test_overwriting_fills_and_copies():
    t = tm.Tensor(np.ones((2, 3), dtype=np.float32))
    assert t.zero_() is t and t.data.tolist() == [[0.0] * 3] * 2
    t.fill_(2.5)
    assert (t.data == 2.5).all()
    t.copy_(np.arange(3))
    assert t.data.tolist() == [[0.0, 1.0, 2.0]] * 2 and t.dtype == np.float32
    t.uniform_(-1, 1, seed=0)
    assert np.array_equal(t.data, np.random.default_rng(0).uniform(-1, 1, (2, 3)).astype(np.float32))
    t.normal_(0, 2, seed=1)
    assert np.array_equal(t.data, np.random.default_rng(1).normal(0, 2, (2, 3)).astype(np.float32))
    # copy_ from a tensor that requires grad: the gradient goes to the source, 0 to the old value
    src = tm.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = tm.Tensor(np.ones(3), requires_grad=True)
    h = x * 5
    h.copy_(src)
    (h * h).sum().backward()
    assert src.grad.data.tolist() == [2.0, 4.0, 6.0] and x.grad.data.tolist() == [0.0, 0.0, 0.0]


def test_views_see_the_change_and_the_data_array_is_kept():
    t = tm.Tensor(np.zeros(4))
    array = t.data
    view = t.data[:2]
    t += 1
    assert t.data is array and view.tolist() == [1.0, 1.0]


def test_bad_in_place_calls_say_what_is_wrong_in_one_line():
    with pytest.raises(ShapeError, match="result has shape"):
        tm.Tensor(np.ones(3)).add_(np.ones((2, 3)))
    with pytest.raises(ShapeError, match="read-only"):
        tm.Tensor.wrap(np.broadcast_to(np.ones(1), (3,))).mul_(2)
    with pytest.raises(ShapeError, match="one-element"):
        tm.Tensor(np.ones(3)).fill_(np.ones(2))
    t = tm.Tensor([1.0, 2.0], requires_grad=True)
    y = t * t
    with pytest.raises(ShapeError):
        y.add_(np.ones((3, 2)))  # refused, and nothing changed: the graph behind y still works
    y.sum().backward()
    assert t.grad.data.tolist() == [2.0, 4.0]


def test_ndarray_minus_tensor_into_the_array_refuses_to_drop_a_graph():
    w = tm.Tensor([1.0, 2.0], requires_grad=True)
    a = np.zeros(2, dtype=np.float32)
    with pytest.raises(GraphError, match="leave its graph"):
        a -= w * 2
    with tm.no_grad():
        a -= w * 2
    assert a.tolist() == [-2.0, -4.0]


@pytest.mark.parametrize("update", [_isub, _sub_, _data_isub, _zero_grad],
                         ids=["p -= lr * p.grad", "p.sub_(lr * p.grad)", "p.data -= lr * p.grad", "p.grad.zero_()"])
def test_a_compiled_step_with_an_in_place_update_trains_as_the_eager_one(update):
    # a replay would not make the in-place change: tm.compile hears of it (Listener.on_effect) and runs eagerly
    # (before, the p.grad.zero_() step was replayed without its updates: silently wrong weights)
    x, y = _data()

    def trained(compiled):
        model = nn.MLP([3, 5, 2], seed=0)

        def step(xb, yb):
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            update(model)
            return loss

        run = tm.compile(step) if compiled else step
        for _ in range(6):
            run(tm.Tensor(x), y)
        return [p.data.copy() for p in model.parameters()], getattr(run, "reasons", [])

    with pytest.warns(UserWarning, match="in place"):
        compiled, reasons = trained(True)
    eager, _ = trained(False)
    assert any("in place" in r for r in reasons)
    for e, c in zip(eager, compiled, strict=True):
        assert np.array_equal(e, c)


def test_item_assignment_changes_the_tensor_in_place():
    t = tm.Tensor(np.arange(6.0).reshape(2, 3))
    array = t.data
    t[t.data > 3] = 0
    t[0, 1] = 9
    t[:, 2] = tm.Tensor([7.0, 8.0])
    t[tm.Tensor([1.0])] = -1  # a Tensor index: its values as integers
    assert t.data is array and t.data.tolist() == [[0.0, 9.0, 7.0], [-1.0, -1.0, -1.0]]


def test_item_assignment_in_a_graph_is_recorded():
    x = tm.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    h[1] = 0.0
    (h * h).sum().backward()
    assert h.data.tolist() == [2.0, 0.0, 6.0] and x.grad.data.tolist() == [8.0, 0.0, 24.0]


def test_bad_item_assignments_are_refused_in_one_line():
    with pytest.raises(IndexingError, match="does not fit"):
        tm.Tensor(np.ones(3))["a"] = 1.0
    with pytest.raises(GraphError, match="in place while gradients are recorded"):
        tm.Tensor([1.0, 2.0], requires_grad=True)[0] = 5.0
    with pytest.raises(GraphError, match=r"tm\.where"):
        tm.Tensor(np.ones(3))[0] = tm.Tensor([2.0], requires_grad=True)


def test_backward_after_an_optimizer_step_through_the_old_graph_raises():
    # opt.step() changes the weights in place; a graph recorded before it would give the gradient at the new
    # weights with the old activations (PyTorch raises here through its version counter)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = tm.Tensor(np.ones((2, 3), dtype=np.float32))
    model(x).sum().backward()
    stale = (model(x) ** 2).sum()
    opt.step()
    with pytest.raises(GraphError, match=r"input 1 of Linear \(shape \(1, 3\)\) was changed in place"):
        stale.backward()
    opt.zero_grad()
    (model(x) ** 2).sum().backward()  # a graph recorded after the step is fine
    assert model.weight.grad is not None
