"""The numpy coverage HIPS autograd's test suites reach for (issue 23): einsum, the split and stacking families,
tensordot, trace/diag/tril/triu, repeat/tile, remainder and the elementwise functions, against numpy (values) and
by their promises (gradients at the jumps of piecewise-constant functions, signs of remainders, errors).

Their derivatives are checked with the shared cases (primitive_cases: CASES for the rules, COMPOSITES for the
composites) in test_higher_order.py, test_forward_mode.py and test_toolbox_ops.py, and against PyTorch in
test_torch_oracle.py. Every test here failed on main at 411df7f (the names did not exist).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import ArgumentError, ShapeError, Tensor, gradcheck
from tinygrad_mlp.gradcheck import gradgradcheck

RNG = np.random.default_rng(1)


def _t(*shape):
    return Tensor(RNG.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("spec,shapes", [
    ("ij,jk", [(2, 3), (3, 4)]), ("ba", [(2, 3)]), ("Ba,aC", [(2, 3), (3, 2)]), ("ii", [(3, 3)]),
    ("i...->...", [(3, 2, 2)]), ("...ii->...i", [(2, 3, 3)]), ("a...,...->a...", [(2, 3), (3,)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]), ("i,i", [(4,), (4,)]), ("", [()]), (",", [(), ()]),
    ("...,...", [(2, 1), (1, 3)]),
])
def test_einsum_values_match_numpy_and_gradients_are_right(spec, shapes):
    ts = [_t(*s) for s in shapes]
    out = tm.einsum(spec, *ts)
    np.testing.assert_allclose(out.data, np.einsum(spec, *[t.data for t in ts]), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda *a: (tm.einsum(spec, *a) ** 2).sum(), *ts)


def test_einsum_takes_a_list_and_its_gradient_is_differentiable_again():
    a, b = _t(2, 3), _t(3, 2)
    np.testing.assert_allclose(tm.einsum("ij,jk->ik", [a, b]).data, a.data @ b.data)
    # second derivatives through the einsum backward (itself einsums), diagonals included
    assert gradgradcheck(lambda x, y: (tm.einsum("ij,jk->ik", x, y) ** 3).sum(), a, b)
    assert gradgradcheck(lambda x: (tm.einsum("ii->i", x) ** 3).sum(), _t(3, 3))


def test_einsum_refuses_what_numpy_refuses_in_one_line():
    for spec, shapes in [("ij,jk", [(2, 3), (4, 2)]), ("ij->k", [(2, 3)]), ("ijk", [(2, 3)]), ("ij->ii", [(2, 2)]),
                         ("i#", [(2, 2)]), ("...i,...i", [(2, 3), (4, 3)]), ("i,i", [(2,)])]:
        with pytest.raises((ShapeError, ArgumentError)) as info:
            tm.einsum(spec, *[_t(*s) for s in shapes])
        assert "\n" not in str(info.value)


def test_piecewise_constant_functions_have_zero_gradient_even_at_their_jumps():
    x = Tensor(np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]), requires_grad=True)
    for name in ("sign", "floor", "ceil", "round", "trunc"):
        x.grad = None
        (getattr(x, name)() * 3.0).sum().backward()
        np.testing.assert_array_equal(x.grad.data, np.zeros(6))
        np.testing.assert_array_equal(getattr(tm, name)(x).data, getattr(np, name)(x.data))


def test_remainder_takes_the_divisors_sign_and_fmod_the_dividends():
    x, y = Tensor(np.array([-3.0, 3.0, -3.0, 3.0])), Tensor(np.array([2.0, 2.0, -2.0, -2.0]))
    np.testing.assert_array_equal((x % y).data, [1.0, 1.0, -1.0, -1.0])
    np.testing.assert_array_equal(tm.remainder(x, y).data, np.mod(x.data, y.data))
    np.testing.assert_array_equal(tm.fmod(x, y).data, [-1.0, 1.0, -1.0, 1.0])
    np.testing.assert_array_equal((7.0 % Tensor(np.array([4.0, -4.0]))).data, [3.0, -1.0])


def test_split_family_numpy_and_pytorch_meanings():
    x = Tensor(np.arange(10.0))
    assert [p.tolist() for p in x.split(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]  # PyTorch: pieces of 4
    assert [p.shape for p in x.split([2, 8])] == [(2,), (8,)]
    assert [p.shape for p in x.tensor_split(3)] == [(4,), (3,), (3,)]  # numpy's array_split
    assert [p.shape for p in tm.array_split(x, [3, 5])] == [(3,), (2,), (5,)]
    assert [p.shape for p in x.chunk(3)] == [(4,), (4,), (2,)]
    assert [p.shape for p in tm.numpy_split(x, 5)] == [(2,)] * 5
    with pytest.raises(ShapeError, match="equal"):
        tm.numpy_split(x, 3)  # numpy refuses an unequal division too
    m = Tensor(np.arange(12.0).reshape(3, 4))
    assert [p.shape for p in tm.hsplit(m, 2)] == [(3, 2), (3, 2)]
    assert [p.shape for p in tm.vsplit(m, [1])] == [(1, 4), (2, 4)]
    assert [p.tolist() for p in m.unbind(1)][0] == [0.0, 4.0, 8.0]


def test_stacking_family_matches_numpy():
    a, b = np.arange(3.0), np.arange(3.0, 6.0)
    for name, ref in (("hstack", np.hstack), ("vstack", np.vstack), ("dstack", np.dstack),
                      ("column_stack", np.column_stack), ("row_stack", np.vstack)):  # (numpy 2 deprecates row_stack)
        np.testing.assert_array_equal(getattr(tm, name)([Tensor(a), Tensor(b)]).data, ref([a, b]))
        np.testing.assert_array_equal(getattr(tm, name)([Tensor(a[:, None]), Tensor(b[:, None])]).data,
                                      ref([a[:, None], b[:, None]]))


def test_matrix_functions_match_numpy():
    m = RNG.standard_normal((4, 5))
    t = Tensor(m)
    for k in (-2, 0, 1, 7):
        np.testing.assert_array_equal(t.tril(k).data, np.tril(m, k))
        np.testing.assert_array_equal(t.triu(k).data, np.triu(m, k))
        np.testing.assert_array_equal(t.diag(k).data, np.diag(m, k))
        np.testing.assert_array_equal(t[0].diag(k).data, np.diag(m[0], k))
        np.testing.assert_allclose(t.trace(k).data, np.trace(m, k))
    np.testing.assert_allclose(tm.tensordot(t, Tensor(m.T), 1).data, np.tensordot(m, m.T, 1))
    np.testing.assert_allclose(tm.dot(Tensor(m.reshape(2, 2, 5)), Tensor(m.T)).data, np.dot(m.reshape(2, 2, 5), m.T))


def test_repeat_is_pytorchs_tiling_and_repeat_interleave_is_numpys_repeat():
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    np.testing.assert_array_equal(x.repeat(2, 3).data, np.tile(x.data, (2, 3)))
    np.testing.assert_array_equal(x.repeat_interleave(2, dim=0).data, np.repeat(x.data, 2, axis=0))
    np.testing.assert_array_equal(x.tile(2).data, np.tile(x.data, 2))
    x.repeat(2, 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 2), 6.0))  # each element copied 6 times


# ---------------------------------------------------------------- numpy's own functions given Tensors (HIPS's style)


@pytest.mark.parametrize("name,call,domain", [
    ("einsum", lambda x: np.einsum("ij,jk->ik", x, x.T), None),
    ("einsum diagonal", lambda x: np.einsum("ii->i", x[:, :3]), None),
    ("tensordot", lambda x: np.tensordot(x, x, ([0, 1], [0, 1])), None),
    ("dot N-D", lambda x: np.dot(x.reshape(3, 1, 4), x.T), None),
    ("outer", lambda x: np.outer(x[0], x[1]), None), ("inner", lambda x: np.inner(x, x), None),
    ("trace", lambda x: np.trace(x), None), ("diag", lambda x: np.diag(x[0], 1), None),
    ("diagonal", lambda x: np.diagonal(x, 1), None), ("tril", lambda x: np.tril(x, -1), None),
    ("triu", lambda x: np.triu(x), None),
    ("split", lambda x: np.concatenate([p * (i + 1.0) for i, p in enumerate(np.split(x, 2, axis=1))], 1), None),
    ("array_split", lambda x: np.concatenate([p * 2.0 for p in np.array_split(x, 3, axis=1)], 1), None),
    ("hsplit", lambda x: np.hsplit(x, 2)[1], None), ("vsplit", lambda x: np.vsplit(x, [1])[1], None),
    ("hstack", lambda x: np.hstack([x, x * 2]), None), ("vstack", lambda x: np.vstack([x, x[0]]), None),
    ("dstack", lambda x: np.dstack([x, x]), None), ("column_stack", lambda x: np.column_stack([x[0], x[1]]), None),
    ("repeat", lambda x: np.repeat(x, 2, axis=0), None), ("tile", lambda x: np.tile(x, (2, 1)), None),
    ("mod", lambda x: np.mod(x, 0.7), "mod"), ("remainder", lambda x: np.remainder(3.0, x), "positive"),
    ("fmod", lambda x: np.fmod(x, 0.7), "mod"),
    ("sinh", np.sinh, None), ("cosh", np.cosh, None), ("tan", np.tan, "small"), ("arcsin", np.arcsin, "small"),
    ("arccos", np.arccos, "small"), ("arctan", np.arctan, None), ("arcsinh", np.arcsinh, None),
    ("arccosh", lambda x: np.arccosh(x * x + 1.5), None), ("arctanh", np.arctanh, "small"),
    ("sign", np.sign, "mod"), ("floor", np.floor, "mod"), ("ceil", np.ceil, "mod"), ("rint", np.rint, "mod"),
    ("round", lambda x: np.round(x, 1), "mod"), ("log2", lambda x: np.log2(x * x + 1), None),
    ("log10", lambda x: np.log10(x * x + 1), None), ("exp2", np.exp2, None),
    ("hypot", lambda x: np.hypot(x, 2.0), None), ("arctan2", lambda x: np.arctan2(x, 2.0), None),
    ("logaddexp", lambda x: np.logaddexp(x, 0.3), None), ("logaddexp2", lambda x: np.logaddexp2(x, 0.3), None),
    ("deg2rad", np.deg2rad, None), ("radians", np.radians, None), ("degrees", np.degrees, None),
    ("fabs", lambda x: np.fabs(x), "positive"), ("diff", lambda x: np.diff(x, axis=0), None),
    ("roll", lambda x: np.roll(x, 1, 1), None), ("fliplr", np.fliplr, None), ("flipud", np.flipud, None),
    ("atleast_3d", np.atleast_3d, None),
])
def test_numpys_functions_on_tensors_are_recorded_and_match_numpy(name, call, domain):
    x0 = RNG.uniform(-0.8, 0.8, (3, 4))
    if domain == "mod":  # off the jumps of floor, mod ...: fractional parts of x / 0.7 in [0.3, 0.4)
        x0 = 0.7 * (np.floor(x0 * 3) + 0.3 + 0.1 * RNG.random((3, 4)))
    elif domain == "positive":
        x0 = np.abs(x0) + 0.5
    x = Tensor(x0, requires_grad=True)
    out = call(x)
    assert isinstance(out, Tensor) and out.requires_grad, f"np.{name} lost the graph"
    np.testing.assert_allclose(out.data, np.asarray(call(x0)), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda t: (call(t) ** 2).sum(), x)
