"""The engine's contracts: the one walk, the listeners, and what a rule is told (tinygrad_mlp.engine)."""

import numpy as np
import pytest

from tinygrad_mlp import GraphError, Tensor, engine
from tinygrad_mlp import primitives as P
from tinygrad_mlp.errors import ArgumentError


class Recorder(engine.Listener):
    def __init__(self):
        self.forward, self.backward = [], []

    def on_forward(self, rule, inputs, out):
        self.forward.append((rule.name, inputs, out))

    def on_backward(self, out, rule, inputs, grad, input_grads, leaf_grads):
        self.backward.append((out, rule.name, inputs, grad, input_grads, leaf_grads))


def test_a_listener_sees_every_op_and_every_walk_step():
    x = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
    b = Tensor(np.array([0.1, 0.2]), requires_grad=True)
    with engine.listen(Recorder()) as rec:
        h = (x + b).tanh()  # b is broadcast over the rows
        loss = (h * h).sum()
        loss.backward()
    assert not engine.active_listeners()  # unregistered on leaving the block
    assert [name for name, _, _ in rec.forward] == ["Add", "Tanh", "Mul", "Sum"]
    assert rec.forward[1][1][0] is rec.forward[0][2]  # inputs and outputs are the Tensors themselves
    assert [step[1] for step in rec.backward] == ["Sum", "Mul", "Tanh", "Add"]  # newest node first
    out, _, inputs, grad, input_grads, leaf_grads = rec.backward[-1]
    assert inputs == (x, b)
    assert input_grads[1].shape == (2,)  # summed back to b's shape by the walk
    np.testing.assert_allclose(input_grads[0], grad)
    assert [leaf for leaf, _ in leaf_grads] == [x, b]
    np.testing.assert_allclose(x.grad.data, leaf_grads[0][1])
    np.testing.assert_allclose(b.grad.data, leaf_grads[1][1])
    with pytest.raises(ArgumentError):
        with engine.listen(object()):
            pass


def test_walk_yields_each_node_once_with_its_complete_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.exp()
    z = y * 3.0 + y  # y is used twice: its node is walked once, with both contributions summed
    steps = list(engine.walk([z.sum()], [np.ones(())], keep_graph=True))
    names = [rule.name for _, rule, *_ in steps]
    assert names.count("Exp") == 1
    out, rule, inputs, grad, input_grads, leaf_grads = next(s for s in steps if s[1].name == "Exp")
    np.testing.assert_allclose(grad, [4.0, 4.0])
    np.testing.assert_allclose(leaf_grads[0][1], 4 * np.exp([1.0, 2.0]))
    assert x.grad is None  # the walk itself keeps nothing: a caller does


def test_a_rule_is_told_which_inputs_need_a_gradient():
    seen = []

    class Scale(P.Function):
        def forward(self, x, w):
            return x * w

        def backward(self, g, out, x, w, *, needs_grad):
            seen.append(tuple(needs_grad))
            return (g * w if needs_grad[0] else None, (g * x).sum() if needs_grad[1] else None)

    x = Tensor(np.ones(3))
    w = Tensor(np.array(2.0), requires_grad=True)
    Tensor.apply(Scale(), x, w).sum().backward()
    assert seen == [(False, True)] and x.grad is None and w.grad.item() == 3.0

    class Plain(P.Function):  # no needs_grad keyword: called exactly as before, its unneeded gradients dropped
        def forward(self, x, w):
            return x * w

        def backward(self, g, out, x, w):
            return g * w, (g * x).sum()

    assert Scale.takes_needs_grad and not Plain.takes_needs_grad
    w2 = Tensor(np.array(2.0), requires_grad=True)
    Tensor.apply(Plain(), x, w2).sum().backward()
    assert x.grad is None and w2.grad.item() == 3.0


def test_a_stopped_walk_and_a_released_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.exp()
    loss = (y * y).sum()
    steps = engine.walk([loss], [np.ones(())], keep_graph=True)
    next(steps), next(steps)  # Sum, then Mul: y's node now holds a gradient
    assert y.node.grad is not None
    steps.close()
    assert y.node.grad is None  # a walk that stops leaves nothing half-summed behind
    loss.backward()
    with pytest.raises(GraphError, match="retain_graph"):
        loss.backward(gradient=np.ones(()))


@pytest.mark.parametrize("returned", [1, 3])
def test_a_backward_returning_the_wrong_number_of_gradients_is_named(returned):
    class Lopsided(P.Function):  # a rule with a slip: not one gradient per input
        def forward(self, x, y):
            return x * y

        def backward(self, g, out, x, y):
            return (g * y, g * x, g)[:returned]

    x, y = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(GraphError, match=f"backward of Lopsided returned {returned} gradients for its 2 inputs"):
        Tensor.apply(Lopsided(), x, y).sum().backward()
    assert x.grad is None and y.grad is None
