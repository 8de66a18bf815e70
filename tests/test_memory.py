"""The graph and its buffers are released after each backward: nothing leaks across training steps."""

import gc
import weakref

import numpy as np

from tinygrad_mlp import Tensor, optim
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.engine import Node


def _live_graph_nodes() -> int:
    gc.collect()
    return sum(isinstance(o, Node) for o in gc.get_objects())


def _train_step(model, opt, x, y, keep=None):
    opt.zero_grad()
    hidden = model.layers[0](Tensor(x)).sigmoid()
    if keep is not None:
        keep.append(weakref.ref(hidden))
    out = model.layers[1](hidden).sigmoid()
    loss = F.quadratic_cost(out, y)
    loss.backward()
    opt.step()
    return loss.item()


def test_no_graph_nodes_survive_a_training_step():
    rng = np.random.default_rng(0)
    model = MLP([20, 8, 3], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.5)
    x, y = rng.random((16, 20), dtype=np.float32), rng.integers(0, 3, 16)
    before = _live_graph_nodes()
    for _ in range(50):
        _train_step(model, opt, x, y)
    assert _live_graph_nodes() == before  # not one primitive record is left over from 50 steps


def test_intermediate_tensors_are_freed_after_backward():
    rng = np.random.default_rng(1)
    model = MLP([20, 8, 3], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.5)
    refs = []
    _train_step(model, opt, rng.random((4, 20), dtype=np.float32), rng.integers(0, 3, 4), keep=refs)
    gc.collect()
    assert refs[0]() is None  # the hidden activation (and its buffer) is gone


def test_retain_graph_keeps_it_until_the_last_reference_goes():
    x = Tensor(np.arange(3.0), requires_grad=True)
    y = x.exp()
    ref = weakref.ref(y)
    loss = (y * 2).sum()
    del y
    loss.backward(retain_graph=True)
    assert ref() is not None  # the graph still needs it for a second backward
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 4 * np.exp(np.arange(3.0)))
    del loss
    gc.collect()
    assert ref() is None


def test_graph_without_backward_is_freed_with_its_output():
    x = Tensor(np.ones((5, 5)), requires_grad=True)
    before = _live_graph_nodes()
    loss = (x * 3).tanh().sum()
    assert _live_graph_nodes() > before
    del loss
    assert _live_graph_nodes() == before  # no cycles: reference counting alone frees an unused graph
