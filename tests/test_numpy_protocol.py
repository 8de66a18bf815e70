"""numpy's functions given Tensors (tinygrad_mlp/numpy_protocol.py): recorded Tensors for every function in the
table, a one-line error for others when a graph would be lost, numpy's own result when none would."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import numpy_protocol
from tinygrad_mlp.errors import ArgumentError, GraphError


def _leaf(*shape, low=0.2, high=0.9, seed=0):
    return tm.Tensor(np.random.default_rng(seed).uniform(low, high, shape), requires_grad=True)


def test_numpy_written_functions_pass_gradcheck():
    W, x, b = _leaf(3, 4), _leaf(4, 2, seed=1), _leaf(3, 1, seed=2)
    assert tm.gradcheck(lambda W, x, b: np.tanh(np.dot(W, x) + b), W, x, b)
    z = _leaf(5, seed=3)
    assert tm.gradcheck(lambda z: np.sum(np.log(np.exp(z) + 1)), z)
    assert tm.gradcheck(lambda z: np.mean(np.sqrt(z) * np.maximum(z, 0.5)) / np.max(z), z)
    a, c = _leaf(2, 3, seed=4), _leaf(2, 3, seed=5)
    assert tm.gradcheck(lambda a, c: np.concatenate([a, np.stack([c, a], axis=0)[1]], axis=1).std(), a, c)
    assert tm.gradcheck(lambda a, c: np.where(a.data > 0.5, a, c) ** 2 + np.clip(c, 0.3, 0.7), a, c)
    assert tm.gradcheck(lambda a, c: np.matmul(a, c.T).sum() + np.square(a).sum() - np.minimum(a, c).sum(), a, c)
    # the functions of several tensors (tinygrad_mlp.functions registers them)
    m = _leaf(3, 3, seed=6)
    assert tm.gradcheck(lambda a, c: np.einsum("ij,kj->ik", a, c) + np.arctan2(a, 1.0).sum() * np.hypot(a, c).mean(),
                        a, c)
    assert tm.gradcheck(lambda m: np.trace(np.dot(m, np.tril(m))) + np.hstack(np.split(m, 3, axis=0)).std()
                        + np.log10(np.tile(m, 2)).sum() + np.tensordot(m, m, 2), m)


def test_numpy_functions_keep_the_graph_where_np_dot_lost_it():
    # main 411df7f: np.dot went through __array__ and returned a plain array, so W.grad stayed None
    W = tm.Tensor(np.ones((3, 2)), requires_grad=True)
    b = tm.Tensor(np.zeros(2), requires_grad=True)
    x = np.arange(6.0).reshape(2, 3)
    out = np.dot(x, W) + b
    assert isinstance(out, tm.Tensor) and out.requires_grad
    out.sum().backward()
    assert W.grad.data.tolist() == [[3.0, 3.0], [5.0, 5.0], [7.0, 7.0]] and b.grad.data.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("fn", [np.exp, np.tanh, np.log, np.sqrt, np.abs, np.negative, np.sin, np.cos, np.square])
def test_ufuncs_give_the_tensor_ops_result(fn):
    x = _leaf(4)
    y = fn(x)
    assert isinstance(y, tm.Tensor) and y.requires_grad and np.allclose(y.data, fn(x.data))


def test_an_array_operand_on_the_left_still_records():
    w = _leaf(3)
    for y in (np.ones(3) * w, np.ones(3) - w, np.ones(3) / w, np.ones(3) + w, np.ones(3) ** w):
        assert isinstance(y, tm.Tensor) and y.requires_grad
    assert (np.ones((2, 3)) @ tm.Tensor(np.ones((3, 1)), requires_grad=True)).requires_grad


def test_functions_without_an_op_are_refused_in_one_line_naming_them():
    w = _leaf(3)
    for call, name in ((lambda: np.cbrt(w), "cbrt"), (lambda: np.median(w), "median"),
                       (lambda: np.add.accumulate(w), "add.accumulate"), (lambda: np.sort(w), "sort"),
                       (lambda: np.copy(w), "copy")):
        with pytest.raises(ArgumentError, match=rf"np\.{re.escape(name)} has no op .* requires grad") as e:
            call()
        assert "\n" not in str(e.value)


def test_without_a_graph_to_lose_numpy_computes_on_the_values():
    c = tm.Tensor([1.0, 4.0])
    assert np.median(c) == 2.5
    with tm.no_grad():
        w = _leaf(2)
        assert np.allclose(np.logaddexp(w, 1.0), np.logaddexp(w.data, 1.0))
    w = _leaf(3)
    assert np.shape(w) == (3,) and np.argmax(w) == np.argmax(w.data) and np.allclose(w, w.data)
    assert np.isfinite(w).all() and (np.greater(w, 0)).all()


def test_explicit_conversion_still_gives_the_values():
    w = _leaf(2, 2)
    assert type(np.asarray(w)) is np.ndarray and np.asarray(w) is w.data
    assert type(np.array(w)) is np.ndarray and w.numpy() is w.data


def test_writing_into_a_tensor_with_out_is_refused():
    t = tm.Tensor(np.ones(3))
    with pytest.raises(ArgumentError, match="out=Tensor"):
        np.add(t, 1, out=t)


def test_ndarray_in_place_arithmetic_is_numpy_arithmetic():
    p = tm.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    p.grad = tm.Tensor(np.array([1.0, 2.0], dtype=np.float32))
    array = p.data
    p.data -= 0.5 * p.grad
    assert p.data is array and p.data.tolist() == [0.5, 0.0] and p.data.dtype == np.float32
    with pytest.raises(GraphError):
        p.data += p * 1  # would drop the graph of p * 1


def test_registering_a_function():
    calls = []

    def fake_median(a, axis=None):
        calls.append(axis)
        return a.mean(axis=axis)

    numpy_protocol.register(np.median, fake_median)
    try:
        assert np.median(_leaf(2, 3), axis=1).requires_grad and calls == [1]
    finally:
        del numpy_protocol.FUNCTIONS[np.median]


def test_the_docs_table_lists_exactly_the_dispatching_functions():
    text = (Path(__file__).resolve().parent.parent / "docs" / "coming-from-pytorch.md").read_text(encoding="utf-8")
    section = text.split("## numpy functions on Tensors", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`np\.([\w.]+)`", section))
    ufuncs = {u.__name__ for u in numpy_protocol.UFUNCS}
    functions = {f.__name__ for f in numpy_protocol.FUNCTIONS}
    assert {n for n in listed if n in ufuncs | functions} == ufuncs | functions
    reducers = {f"{u.__name__}.reduce" for u in numpy_protocol.REDUCERS}
    assert listed - ufuncs - functions == {u.__name__ for u in numpy_protocol.VALUES_ONLY} | reducers
