"""PyTorch as the oracle for the names of issues 23 and 28: values and gradients (float64) of each Tensor method
and ``tm.`` function against ``torch``'s, and the dtypes and shapes of the results (skipped when torch is not
installed). Each case runs the same code on both sides after the mechanical rename ``torch.`` -> ``tm.``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _values(shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape)


def _both(arrays):
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, theirs


def _check(fn, *arrays, rtol=1e-10, atol=1e-12, lib_fn=None):
    """``fn(lib, *tensors)`` with lib = tm and lib = torch: the same value and the same gradients of its sum of
    squares (or of it, for a scalar) with respect to every input."""
    ours, theirs = _both(arrays)
    out = (lib_fn or fn)(tm, *ours)
    ref = fn(torch, *theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    assert out.shape == tuple(ref.shape)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        expected = np.zeros(o.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(o.shape) if o.grad is None else o.grad.data
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)


UNARY = {
    "sin": (), "cos": (), "tanh": (), "exp": (), "sigmoid": (), "sinh": (), "cosh": (), "tan": (-1.2, 1.2),
    "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": (), "asinh": (), "acosh": (1.1, 3.0), "atanh": (-0.9, 0.9),
    "log": (0.2, 3.0), "log2": (0.2, 3.0), "log10": (0.2, 3.0), "log1p": (-0.5, 2.0), "expm1": (), "exp2": (),
    "sqrt": (0.2, 3.0), "rsqrt": (0.2, 3.0), "square": (), "reciprocal": (0.3, 2.0), "abs": (0.1, 2.0),
    "sign": (0.1, 2.0), "floor": (), "ceil": (), "round": (), "trunc": (), "relu": (0.1, 2.0), "erf": (),
    "neg": (), "deg2rad": (), "rad2deg": (), "fliplr": (), "flipud": (),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_elementwise_functions_and_methods_match_pytorch(name):
    x = _values((3, 4), *(UNARY[name] or (-2.0, 2.0)))
    _check(lambda lib, t: getattr(lib, name)(t), x)  # tm.sin(x)
    _check(lambda lib, t: getattr(t, name)(), x)  # x.sin()


def test_two_argument_functions_match_pytorch():
    a, b = _values((3, 4)), _values((4,), 0.5, 2.0)
    _check(lambda lib, x, y: lib.atan2(x, y), a, b)
    _check(lambda lib, x, y: lib.hypot(x, y + 1.0), a + 3.0, b)  # away from the origin
    _check(lambda lib, x, y: lib.remainder(x, y), a, b)
    _check(lambda lib, x, y: lib.fmod(x, y), a, b)
    _check(lambda lib, x, y: x % y, a, b)
    _check(lambda lib, x, y: x % -y, a, b)  # the divisor's sign, as numpy and PyTorch
    _check(lambda lib, x, y: lib.pow(x.abs() + 0.5, y), a, b)
    _check(lambda lib, x, y: lib.max(x, y), a, b)  # a Tensor second argument: elementwise maximum
    _check(lambda lib, x, y: lib.min(x, y), a, b)
    _check(lambda lib, x, y: lib.logaddexp(x, y), a, b)
    _check(lambda lib, x, y: lib.logaddexp2(x, y), a, b)
    _check(lambda lib, x, y: lib.diff(x, 2, 0), a, b)
    _check(lambda lib, x, y: x.diff(), a, b)
    _check(lambda lib, x, y: lib.roll(x, 2), a, b)
    _check(lambda lib, x, y: x.roll((1, -3), (0, 1)), a, b)


@pytest.mark.parametrize("spec,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij", [(2, 3)]), ("ji", [(2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("...ij,...jk->...ik", [(2, 2, 3), (1, 3, 2)]), ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]), ("iij->j", [(2, 2, 3)]), ("ijk,jil->kl", [(3, 2, 4), (2, 3, 5)]), ("...i,i", [(2, 3), (3,)]),
    ("bii->bi", [(2, 3, 3)]), ("ab,ab,ab->", [(2, 2), (2, 2), (2, 2)]),
])
def test_einsum_matches_pytorch(spec, shapes):
    _check(lambda lib, *ts: lib.einsum(spec, *ts), *[_values(s) for s in shapes])


def test_products_match_pytorch():
    a, b = _values((2, 3, 4)), _values((4, 3, 5))
    _check(lambda lib, x, y: lib.tensordot(x, y, ([1, 2], [1, 0])), a, b)
    _check(lambda lib, x, y: lib.tensordot(x[0], y[:, :, 0], 1), a, b)
    _check(lambda lib, x, y: lib.matmul(x, y[:, :, 0]), a, b)
    _check(lambda lib, x, y: lib.mm(x[0], y[:, 0]), a, b)
    _check(lambda lib, x, y: x[0].mm(y[:, 0]), a, b)
    _check(lambda lib, x, y: lib.bmm(x, x.transpose(1, 2)), a, b)
    _check(lambda lib, x, y: lib.outer(x[0, 0], y[0, 0]), a, b)
    _check(lambda lib, x, y: lib.inner(x[0], y[:, 0].t()), a, b)


def test_matrix_functions_match_pytorch():
    x = _values((4, 4))
    for k in (-1, 0, 2):
        _check(lambda lib, t: lib.tril(t, k), x)
        _check(lambda lib, t: lib.triu(t, k), x)
        _check(lambda lib, t: lib.diag(t, k), x)
        _check(lambda lib, t: lib.diag(t[0], k), x)
        _check(lambda lib, t: lib.diagonal(t, k), x)
        _check(lambda lib, t: t.reshape(2, 2, 4).diagonal(k, 0, 2), x)
    _check(lambda lib, t: lib.trace(t) * t, x)
    _check(lambda lib, t: t.t(), x)
    _check(lambda lib, t: t.norm(), x)
    _check(lambda lib, t: t.norm(1, 0), x)
    _check(lambda lib, t: t.norm(3, 1, True), x)
    _check(lambda lib, t: lib.norm(t, float("inf"), 1), x)


def test_movement_and_copies_match_pytorch():
    x = _values((2, 3))
    _check(lambda lib, t: t.view(3, 2), x)
    _check(lambda lib, t: t.view(-1), x)
    _check(lambda lib, t: t.view_as(t.t()), x)
    _check(lambda lib, t: t.repeat(2, 3), x)
    _check(lambda lib, t: t.repeat(2, 1, 2), x)
    _check(lambda lib, t: t.repeat_interleave(2), x)
    _check(lambda lib, t: t.repeat_interleave(2, dim=1), x)
    _check(lambda lib, t: lib.repeat_interleave(t, lib.tensor([1, 0, 2]), dim=1), x)
    _check(lambda lib, t: lib.tile(t, (2,)), x)
    _check(lambda lib, t: t.clone() * 2, x)
    _check(lambda lib, t: lib.cat([t, t * 2], dim=1), x)
    _check(lambda lib, t: lib.stack([t, t * 2], dim=2), x)
    _check(lambda lib, t: lib.hstack([t, t]), x)
    _check(lambda lib, t: lib.vstack([t, t[0]]), x)
    _check(lambda lib, t: lib.dstack([t, t]), x)
    _check(lambda lib, t: lib.column_stack([t[0], t[1]]), x)
    _check(lambda lib, t: t.clamp(-0.5, 0.5), x)
    _check(lambda lib, t: t.clamp(min=-0.5), x)
    _check(lambda lib, t: lib.clamp(t, max=0.5), x)
    _check(lambda lib, t: t.masked_fill(t > 0.3, -1.0), x)
    _check(lambda lib, t: t.max(1).values.sum() + t.min(dim=0, keepdim=True)[0], x)
    _check(lambda lib, t: t.sort(1).values * lib.arange(3), x)
    _check(lambda lib, t: t.sort(0, descending=True)[0] * lib.arange(3), x)
    _check(lambda lib, t: t.topk(2, 1).values * lib.arange(2), x)
    _check(lambda lib, t: lib.topk(t, 1, 0, largest=False)[0], x)
    for lib in (tm, torch):  # the indices too
        t = lib.tensor(x)
        got = (t.argsort(1).tolist(), t.topk(2).indices.tolist(), t.sort(0, descending=True).indices.tolist())
        assert got == (torch.tensor(x).argsort(1).tolist(), torch.tensor(x).topk(2).indices.tolist(),
                       torch.tensor(x).sort(0, descending=True).indices.tolist())


@pytest.mark.parametrize("how", ["split2", "split_list", "chunk", "tensor_split", "unbind", "hsplit", "vsplit"])
def test_splitting_matches_pytorch(how):
    x = _values((4, 6))
    calls = {
        "split2": lambda lib, t: t.split(4, 1), "split_list": lambda lib, t: lib.split(t, [1, 3], 0),
        "chunk": lambda lib, t: t.chunk(4, 1), "tensor_split": lambda lib, t: t.tensor_split(4, 1),
        "unbind": lambda lib, t: t.unbind(1), "hsplit": lambda lib, t: lib.hsplit(t, 3),
        "vsplit": lambda lib, t: lib.vsplit(t, [1, 3]),
    }

    def joined(lib, t):
        pieces = calls[how](lib, t)
        return lib.cat([(p * (i + 1.0)).reshape(-1) for i, p in enumerate(pieces)])
    _check(joined, x)


def test_comparisons_argmax_and_accuracy_match_pytorch():
    logits = _values((5, 4))
    labels = RNG.integers(0, 4, 5)
    for lib, make in ((tm, Tensor), (torch, torch.tensor)):
        out, y = make(logits), lib.tensor(labels)
        accuracy = (out.argmax(1) == y).float().mean()
        correct = out.argmax(dim=1).eq(y).sum().item()
        assert isinstance(correct, int)
        if lib is tm:
            ours = (accuracy.item(), correct, out.argmax(1).dtype, (out > 0).dtype)
        else:
            theirs = (accuracy.item(), correct)
    assert ours[:2] == pytest.approx(theirs)
    assert ours[2] == np.int64 and ours[3] == np.bool_


def test_creation_and_dtypes_match_pytorch():
    pairs = [
        (tm.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])), (tm.tensor([1, 2]), torch.tensor([1, 2])),
        (tm.tensor([True, False]), torch.tensor([True, False])), (tm.arange(4), torch.arange(4)),
        (tm.arange(0.0, 1.0, 0.25), torch.arange(0.0, 1.0, 0.25)), (tm.linspace(-1, 1, 5), torch.linspace(-1, 1, 5)),
        (tm.tensor([1, 2]) * 2.5, torch.tensor([1, 2]) * 2.5), (tm.tensor([1, 2]) / 2, torch.tensor([1, 2]) / 2),
        (tm.tensor([1, 2]) + 1, torch.tensor([1, 2]) + 1), ((tm.tensor([1.0]) > 0) + 1, (torch.tensor([1.0]) > 0) + 1),
        (tm.from_numpy(np.arange(3)), torch.from_numpy(np.arange(3))),
        (tm.from_numpy(np.zeros(2)), torch.from_numpy(np.zeros(2))), (tm.zeros(2, 3).long(), torch.zeros(2, 3).long()),
        (tm.tensor([1.7, -1.7]).long(), torch.tensor([1.7, -1.7]).long()),
        (tm.tensor([1.5]).to(tm.float64), torch.tensor([1.5]).to(torch.float64)),
        (tm.zeros(2, dtype=tm.long), torch.zeros(2, dtype=torch.long)), (tm.full((2,), 7), torch.full((2,), 7)),
        (tm.full((2,), 7.0), torch.full((2,), 7.0)), (tm.full((2,), True), torch.full((2,), True)),
        (tm.ones_like(tm.tensor([1, 2])), torch.ones_like(torch.tensor([1, 2]))),
        (tm.tensor([0.5, 2.0]).type(tm.long), torch.tensor([0.5, 2.0]).type(torch.long)),
    ]
    for ours, theirs in pairs:
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    a, b = np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7])
    assert tm.allclose(tm.tensor(a), tm.tensor(b)) == torch.allclose(torch.tensor(a), torch.tensor(b))
    assert tm.isclose(tm.tensor(a), tm.tensor(b), atol=0, rtol=1e-9).tolist() == torch.isclose(
        torch.tensor(a), torch.tensor(b), atol=0, rtol=1e-9).tolist()
    assert tm.is_tensor(tm.zeros(1)) and not tm.is_tensor([1.0]) and not tm.tensor([1]).is_floating_point()
    assert tm.ones(3).expand_as(tm.zeros(2, 3)).shape == (2, 3) and tm.tensor([1]).type_as(tm.zeros(1)).dtype == np.float32
    x = tm.zeros(2, 3)
    assert x.size() == tuple(torch.zeros(2, 3).size()) and x.size(1) == 3 and x.numel() == 6 and x.dim() == 2
    assert f"{tm.tensor(2.0 / 3):.3f}" == f"{torch.tensor(2.0 / 3):.3f}"


def test_default_dtype_matches_pytorch():
    before = torch.get_default_dtype()
    try:
        tm.set_default_dtype(np.float64)
        torch.set_default_dtype(torch.float64)
        for ours, theirs in ((tm.tensor([1.0]), torch.tensor([1.0])), (tm.zeros(2), torch.zeros(2)),
                             (tm.randn(2), torch.randn(2)), (tm.tensor([1, 2]) / 2, torch.tensor([1, 2]) / 2)):
            assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    finally:
        tm.set_default_dtype(np.float32)
        torch.set_default_dtype(before)


def test_retain_grad_and_grad_fn_match_pytorch():
    x0 = _values((3,))
    for lib in (tm, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = x * 2
        y.retain_grad()
        (y * y).sum().backward()
        if lib is tm:
            ours = (y.grad.data.copy(), x.grad.data.copy(), y.grad_fn is not None, x.grad_fn is None, y.retains_grad)
        else:
            theirs = (y.grad.numpy(), x.grad.numpy(), y.grad_fn is not None, x.grad_fn is None, y.retains_grad)
    np.testing.assert_allclose(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1])
    assert ours[2:] == theirs[2:]
