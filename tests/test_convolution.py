"""Convolution and pooling (issue 26): ``F.conv1d/conv2d``, ``F.max_pool1d/2d``, ``F.avg_pool1d/2d`` and the layers.

* values against a loop-by-loop numpy reference written from the definition (hypothesis over shapes, strides,
  uneven padding, dilation and groups: ``strategies.conv_geometries``), and values and gradients against
  ``torch.nn.functional`` in float64 (skipped without torch);
* max pooling's tie rule (the window's first maximum in row-major order takes the gradient, as PyTorch's), on
  hand-made windows and against torch on inputs full of ties;
* second derivatives through a convolution against torch's double backward;
* the layers: PyTorch's initialisation, ``BatchNorm2d`` against torch in training and eval, ``Flatten`` feeding
  ``Linear``, ``LeNet``'s input shapes;
* memory: a convolution keeps no column buffer for its backward (tracemalloc);
* ``tm.compile`` of a CNN step equals the eager step;
* bad input: one line naming the problem, as the library's own errors.

The rules' gradcheck, second derivatives and forward mode run with every other rule in test_higher_order and
test_forward_mode (tests/primitive_cases.py); the fuzzer (test_fuzz) runs them in random programs.
"""

from __future__ import annotations

import itertools
import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
import tinygrad_mlp as tm
from tinygrad_mlp import ArgumentError, ShapeError, Tensor, gradcheck, nn
from tinygrad_mlp import convolution as conv
from tinygrad_mlp.nn import functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # torch is an optional test oracle
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (the optional oracle)")
PROPERTY = settings(max_examples=40, deadline=None)


def _naive_conv(x, w, b, stride, pads, dilation, groups):
    """The definition, one output element and one product at a time (float64)."""
    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0), *pads])
    out_size = [(xp.shape[2 + a] - dilation[a] * (w.shape[2 + a] - 1) - 1) // stride[a] + 1 for a in range(nd)]
    o_total, c_g = w.shape[:2]
    out = np.zeros((x.shape[0], o_total, *out_size))
    for n, o in itertools.product(range(x.shape[0]), range(o_total)):
        group = o // (o_total // groups)
        for i in np.ndindex(*out_size):
            total = 0.0 if b is None else b[o]
            for c in range(c_g):
                for k in np.ndindex(*w.shape[2:]):
                    at = tuple(i[a] * stride[a] + k[a] * dilation[a] for a in range(nd))
                    total += w[(o, c, *k)] * xp[(n, group * c_g + c, *at)]
            out[(n, o, *i)] = total
    return out


def _apply_conv(x, w, b, stride, pads, dilation, groups):
    """Our convolution with uneven ``pads`` (the rule itself; the functions take PyTorch's even padding)."""
    inputs = [x, w] if b is None else [x, w, b]
    return Tensor.apply(conv.Conv(conv.Geometry(stride, pads, dilation, groups)), *inputs)


def _leaves(*arrays):
    return [None if a is None else Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]


def _draw_conv_inputs(data, x_shape, w_shape):
    """Values for a convolution's input and weight, and a bias ``(O,)`` or None."""
    x, w = data.draw(S.values(x_shape)), data.draw(S.values(w_shape))
    return x, w, data.draw(st.none() | S.values(w_shape[:1]))


# ---------------------------------------------------------------- values: the definition, and torch


@PROPERTY
@given(geometry=S.conv_geometries(), data=st.data())
def test_conv_equals_the_definition(geometry, data):
    x_shape, w_shape, stride, pads, dilation, groups = geometry
    x, w, b = _draw_conv_inputs(data, x_shape, w_shape)
    got = _apply_conv(*[None if a is None else Tensor(a) for a in (x, w, b)], stride, pads, dilation, groups)
    np.testing.assert_allclose(got.data, _naive_conv(x, w, b, stride, pads, dilation, groups), rtol=1e-12,
                               atol=1e-12)


@needs_torch
@PROPERTY
@given(geometry=S.conv_geometries(), data=st.data())
def test_conv_values_and_gradients_equal_torch(geometry, data):
    x_shape, w_shape, stride, pads, dilation, groups = geometry
    x, w, b = _draw_conv_inputs(data, x_shape, w_shape)
    tx, tw, tb = _leaves(x, w, b)
    y = _apply_conv(tx, tw, tb, stride, pads, dilation, groups)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    X, W = (torch.tensor(a, requires_grad=True) for a in (x, w))
    B = None if b is None else torch.tensor(b, requires_grad=True)
    flat_pads = [p for lo_hi in reversed(pads) for p in lo_hi]  # torch's F.pad: last axis first
    conv_fn = TF.conv1d if len(x_shape) == 3 else TF.conv2d
    Y = conv_fn(TF.pad(X, flat_pads), W, B, stride, 0, dilation, groups)
    Y.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, Y.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tx.grad.data, X.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tw.grad.data, W.grad.numpy(), rtol=1e-10, atol=1e-12)
    if b is not None:
        np.testing.assert_allclose(tb.grad.data, B.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("padding", [0, 1, (2, 1), "same", "valid"])
def test_conv2d_function_matches_torch_with_its_own_arguments(padding):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    dilation = (2, 1) if padding == "same" else 1
    ours = F.conv2d(Tensor(x), Tensor(w), Tensor(b), 1, padding, dilation, 2)
    theirs = TF.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), 1, padding, dilation, 2)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-12)
    x1, w1 = rng.standard_normal((2, 2, 9)), rng.standard_normal((3, 2, 3))  # conv1d, and an unbatched input
    np.testing.assert_allclose(F.conv1d(Tensor(x1), Tensor(w1), None, 2, 1).data,
                               TF.conv1d(torch.tensor(x1), torch.tensor(w1), None, 2, 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.conv2d(Tensor(x[0]), Tensor(w), None, 1, 1, 1, 2).data,
                               TF.conv2d(torch.tensor(x[0]), torch.tensor(w), None, 1, 1, 1, 2).numpy(), rtol=1e-12)


@st.composite
def _pool_args(draw, ties: bool):
    """PyTorch's own max/avg pooling arguments (padding at most half the kernel), and an input: distinct values, or
    small integers (windows full of ties)."""
    nd = draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    size = tuple(draw(st.integers(d * (k - 1) + 1, d * (k - 1) + 5)) for k, d in zip(kernel, dilation, strict=True))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size)
    x = np.random.default_rng(draw(st.integers(0, 2**16))).integers(-2, 3, shape).astype(np.float64) if ties \
        else draw(S.distinct(shape))
    return x, kernel, stride, padding, dilation, draw(st.booleans())


@needs_torch
@PROPERTY
@given(args=_pool_args(ties=False) | _pool_args(ties=True))
def test_max_pool_values_and_gradients_equal_torch_ties_included(args):
    x, kernel, stride, padding, dilation, ceil_mode = args
    ours_fn, torch_fn = (F.max_pool1d, TF.max_pool1d) if x.ndim == 3 else (F.max_pool2d, TF.max_pool2d)
    X = torch.tensor(x, requires_grad=True)
    Y = torch_fn(X, kernel, stride, padding, dilation, ceil_mode)
    (tx,) = _leaves(x)
    y = ours_fn(tx, kernel, stride, padding, dilation, ceil_mode)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    Y.backward(torch.tensor(g))
    np.testing.assert_array_equal(y.data, Y.detach().numpy())
    np.testing.assert_allclose(tx.grad.data, X.grad.numpy(), rtol=1e-12, atol=1e-12)  # the same element of each tie


@needs_torch
@PROPERTY
@given(args=_pool_args(ties=False), count_include_pad=st.booleans(), divisor=st.none() | st.integers(1, 5))
def test_avg_pool_values_and_gradients_equal_torch(args, count_include_pad, divisor):
    x, kernel, stride, padding, _, _ = args
    (tx,) = _leaves(x)
    X = torch.tensor(x, requires_grad=True)
    if x.ndim == 3:
        y = F.avg_pool1d(tx, kernel, stride, padding, False, count_include_pad)
        Y = TF.avg_pool1d(X, kernel, stride, padding, False, count_include_pad)
    else:
        y = F.avg_pool2d(tx, kernel, stride, padding, False, count_include_pad, divisor)
        Y = TF.avg_pool2d(X, kernel, stride, padding, False, count_include_pad, divisor)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    Y.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, Y.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tx.grad.data, X.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_avg_pool_is_a_convolution_and_gradchecks():
    x = Tensor(np.random.default_rng(2).standard_normal((2, 3, 5, 6)), requires_grad=True)
    y = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    assert y.node.inputs[0].node.rule.name == "Conv"  # divided by the window counts after a grouped Conv
    assert gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False), x)


@needs_torch
def test_second_derivatives_through_a_convolution_equal_torch():
    """d/dw of |d loss/dx|^2 (a gradient penalty): the backward of ConvInputGrad, through all three rules."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((4, 1, 3, 3))
    tx, tw = _leaves(x, w)
    y = F.conv2d(tx, tw, None, stride=(1, 2), padding=1, dilation=1, groups=2)
    (gx,) = tm.autograd.grad((y * y).sum(), [tx], create_graph=True)
    (gx * gx).sum().backward()
    X, W = (torch.tensor(a, requires_grad=True) for a in (x, w))
    Y = TF.conv2d(X, W, None, (1, 2), 1, 1, 2)
    (GX,) = torch.autograd.grad((Y * Y).sum(), [X], create_graph=True)
    (GX * GX).sum().backward()
    np.testing.assert_allclose(tw.grad.data, W.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(tx.grad.data, X.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------- max pooling's tie rule


def test_max_pool_tie_rule_first_maximum_in_row_major_order_takes_the_gradient():
    x = Tensor(np.array([[[[1.0, 1.0, 0.0, 2.0],
                           [1.0, 0.0, 2.0, 2.0],
                           [3.0, 5.0, 4.0, 4.0],
                           [5.0, 5.0, 4.0, 4.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[1.0, 2.0], [5.0, 4.0]])
    y.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    np.testing.assert_array_equal(x.grad.data[0, 0], [[10.0, 0.0, 0.0, 20.0],
                                                      [0.0, 0.0, 0.0, 0.0],
                                                      [0.0, 30.0, 40.0, 0.0],
                                                      [0.0, 0.0, 0.0, 0.0]])


def test_max_pool_overlapping_windows_add_up_and_nan_is_the_maximum():
    x = Tensor(np.array([[[0.0, 3.0, 1.0, 2.0]]]), requires_grad=True)
    y = F.max_pool1d(x, 2, stride=1)  # windows (0, 3), (3, 1), (1, 2): 3 is the maximum of two
    np.testing.assert_array_equal(y.data, [[[3.0, 3.0, 2.0]]])
    y.backward(np.array([[[1.0, 10.0, 100.0]]]))
    np.testing.assert_array_equal(x.grad.data, [[[0.0, 11.0, 0.0, 100.0]]])
    z = Tensor(np.array([[[1.0, np.nan, 2.0, 0.0]]]), requires_grad=True)
    out = F.max_pool1d(z, 2)
    assert np.isnan(out.data[0, 0, 0]) and out.data[0, 0, 1] == 2.0  # NaN propagates, as in PyTorch
    out.backward(np.ones((1, 1, 2)))
    np.testing.assert_array_equal(z.grad.data, [[[0.0, 1.0, 1.0, 0.0]]])


def test_max_pool_padding_is_minus_infinity_and_never_the_maximum():
    x = Tensor(-np.ones((1, 1, 3, 3)), requires_grad=True)
    y = F.max_pool2d(x, 3, stride=2, padding=1)
    np.testing.assert_array_equal(y.data, -np.ones((1, 1, 2, 2)))  # zeros as padding would give 0
    y.sum().backward()
    assert x.grad.data.sum() == 4.0


# ---------------------------------------------------------------- the layers


def test_conv2d_layer_starts_as_pytorch_and_has_the_right_shapes():
    layer = nn.Conv2d(6, 16, 5, seed=0)
    bound = 1 / np.sqrt(6 * 25)
    assert layer.weight.shape == (16, 6, 5, 5) and layer.bias.shape == (16,)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and p.requires_grad and p.dtype == np.float32
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # uniform over the whole interval, not a narrower one
    assert abs(float(layer.weight.data.std()) - bound / np.sqrt(3)) < 0.1 * bound
    grouped = nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, bias=False, seed=1)
    assert grouped.weight.shape == (6, 2, 3, 2) and grouped.bias is None
    assert np.abs(grouped.weight.data).max() <= 1 / np.sqrt(2 * 6)
    assert grouped(Tensor(np.zeros((3, 4, 7, 7)))).shape == (3, 6, 4, 4)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert nn.Conv1d(2, 3, 3, padding="same")(Tensor(np.ones((1, 2, 5)))).shape == (1, 3, 5)


@needs_torch
def test_conv2d_layer_computes_torchs_layer_with_the_same_weights():
    ours = nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64, seed=0)
    theirs = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 8))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


@needs_torch
def test_batchnorm2d_equals_torch_in_training_and_eval():
    rng = np.random.default_rng(5)
    ours = nn.BatchNorm2d(3, momentum=0.2, dtype=np.float64)
    theirs = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    for _ in range(3):
        x = rng.standard_normal((4, 3, 5, 5)) * 2 + 1
        tx = Tensor(x, requires_grad=True)
        X = torch.tensor(x, requires_grad=True)
        y, Y = ours(tx), theirs(X)
        g = rng.standard_normal(y.shape)
        y.backward(g)
        Y.backward(torch.tensor(g))
        np.testing.assert_allclose(y.data, Y.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(tx.grad.data, X.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert sorted(ours.state_dict()) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]


def test_pooling_layers_flatten_and_linear_make_a_cnn():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2), nn.BatchNorm2d(2),
                          nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(2 * 6 * 6, 3, seed=0))
    x = Tensor(np.random.default_rng(6).random((4, 1, 14, 14)))
    out = model(x)
    assert out.shape == (4, 3)
    F.cross_entropy(out, np.array([0, 1, 2, 0])).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    assert nn.MaxPool1d(2)(Tensor(np.ones((1, 1, 5)))).shape == (1, 1, 2)
    assert nn.AvgPool1d(3, 1, 1)(Tensor(np.ones((1, 1, 5)))).shape == (1, 1, 5)


def test_lenet_takes_images_or_rows_of_pixels():
    model = nn.LeNet(seed=0)
    assert model.num_parameters() == 61706
    images = np.random.default_rng(7).random((3, 1, 28, 28)).astype(np.float32)
    out = model(Tensor(images))
    assert out.shape == (3, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(model(Tensor(images.reshape(3, 784))).data, out.data)
    assert model.first_filters.shape == (6, 5, 5)
    with pytest.raises(ShapeError, match=r"LeNet: input must be \(batch, 1, 28, 28\)"):
        model(Tensor(np.zeros((3, 1, 27, 28))))
    same = nn.LeNet(seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(same.state_dict().values(), model.state_dict().values(),
                                                    strict=True))


# ---------------------------------------------------------------- memory and compile


def test_a_convolution_keeps_no_column_buffer_for_its_backward():
    """The columns are 25 times the input here; the rule keeps only its inputs, so they are freed at once."""
    rng = np.random.default_rng(8)
    x = Tensor(rng.standard_normal((8, 4, 32, 32)), requires_grad=True)
    w = Tensor(rng.standard_normal((8, 4, 5, 5)), requires_grad=True)
    columns = 8 * 4 * 25 * 28 * 36 * 8  # the flat layout's columns, float64
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = F.conv2d(x, w)
        kept = tracemalloc.get_traced_memory()[0] - before
        y.sum().backward()
        after_backward = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < y.data.nbytes + columns // 10, f"the forward keeps {kept} bytes (columns: {columns})"
    grads = x.grad.data.nbytes + w.grad.data.nbytes
    assert after_backward < y.data.nbytes + grads + columns // 10


def test_compile_replays_a_cnn_step_exactly():
    def make():
        model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(3, 4, 3, stride=2, seed=1), nn.ReLU(), nn.Flatten(), nn.Linear(4, 5, seed=0))
        return model, tm.optim.SGD(model.parameters(), lr=0.1)

    rng = np.random.default_rng(9)
    batches = [(rng.random((6, 1, 8, 8)).astype(np.float32), rng.integers(0, 5, 6)) for _ in range(4)]
    results = []
    for compiled in (False, True):
        model, opt = make()

        def step(xb, yb, model=model, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            loss.backward()
            return loss

        run = tm.compile(step) if compiled else step
        losses = []
        for xb, yb in batches:
            losses.append(run(xb, yb).item())
            opt.step()
        results.append((losses, [p.data.copy() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(results[0][1], results[1][1], strict=True))


# ---------------------------------------------------------------- bad input: one line, the library's errors


BAD = {
    "rank": (lambda: F.conv2d(Tensor(np.ones((2, 3))), Tensor(np.ones((1, 1, 1, 1)))), ShapeError,
             r"conv2d: input must be \(N, C, H, W\)"),
    "channels": (lambda: F.conv2d(Tensor(np.ones((1, 3, 5, 5))), Tensor(np.ones((2, 2, 3, 3)))), ShapeError,
                 r"input has 3 channels, but the weight \(2, 2, 3, 3\) with groups=1 expects 2"),
    "groups": (lambda: F.conv2d(Tensor(np.ones((1, 4, 5, 5))), Tensor(np.ones((3, 2, 3, 3))), groups=2),
               ShapeError, "must both divide into 2 groups"),
    "kernel too large": (lambda: F.conv2d(Tensor(np.ones((1, 1, 3, 3))), Tensor(np.ones((1, 1, 5, 5)))),
                         ShapeError, r"the kernel \(5, 5\) .* does not fit the padded input \(3, 3\)"),
    "weight rank": (lambda: F.conv1d(Tensor(np.ones((1, 1, 5))), Tensor(np.ones((1, 3)))), ShapeError,
                    "weight must be"),
    "bias shape": (lambda: F.conv2d(Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((2, 1, 3, 3))),
                                    Tensor(np.ones(3))), ShapeError, r"bias must have shape \(2,\)"),
    "stride": (lambda: F.conv2d(Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3))), stride=0),
               ArgumentError, "stride must be an int >= 1"),
    "padding": (lambda: F.conv2d(Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3))), padding=(1, 2, 3)),
                ArgumentError, "padding must be an int >= 0 or 2 of them"),
    "same with stride": (lambda: F.conv2d(Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3))), stride=2,
                                          padding="same"), ArgumentError, "padding='same' needs stride 1"),
    "empty": (lambda: F.conv2d(Tensor(np.ones((0, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3)))), ShapeError,
              "empty input"),
    "pool padding": (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 5, 5))), 2, padding=2), ArgumentError,
                     "at most half the kernel size"),
    "pool window": (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 2, 2))), 3), ShapeError, "does not fit"),
    "pool indices": (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 4, 4))), 2, return_indices=True), ArgumentError,
                     "return_indices=True is not supported"),
    "avg ceil_mode": (lambda: F.avg_pool2d(Tensor(np.ones((1, 1, 4, 4))), 3, ceil_mode=True), ArgumentError,
                      "ceil_mode=True is not supported"),
    "not a tensor": (lambda: F.conv2d("image", Tensor(np.ones((1, 1, 3, 3)))), ArgumentError,
                     "conv2d: expected a Tensor or an array, got str"),
    "layer channels": (lambda: nn.Conv2d(3, 4, 3, groups=2), ShapeError, "must both divide into 2 groups"),
    "layer kernel": (lambda: nn.Conv2d(3, 4, (3, 3, 3)), ArgumentError, "kernel_size must be an int >= 1 or 2"),
    "padding mode": (lambda: nn.Conv2d(1, 1, 3, padding_mode="reflect"), ArgumentError, "padding_mode='zeros'"),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3)(Tensor(np.ones((2, 3, 4)))), ShapeError,
                    r"BatchNorm2d\(3\): input must be \(batch, 3, height, width\)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_in_one_line_naming_it(case):
    call, error, pattern = BAD[case]
    with pytest.raises(error, match=pattern) as info:
        call()
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- the lesson's side: by hand, and three ways


@PROPERTY
@given(data=st.data())
def test_the_hand_written_convolution_equals_the_engines(data):
    n, c, o, k = (data.draw(st.integers(1, 3)) for _ in range(4))
    stride, padding = data.draw(st.integers(1, 2)), data.draw(st.integers(0, 2))
    size = data.draw(st.integers(max(1, k - 2 * padding), k + 3))
    x, w, b = data.draw(S.values((n, c, size, size))), data.draw(S.values((o, c, k, k))), data.draw(S.values((o,)))
    tx, tw, tb = _leaves(x, w, b)
    y = F.conv2d(tx, tw, tb, stride, padding)
    np.testing.assert_allclose(tm.backprop.conv2d_forward(x, w, b, stride, padding), y.data, rtol=1e-12, atol=1e-12)
    dz = data.draw(S.values(y.shape))
    y.backward(dz)
    dx, dw, db = tm.backprop.conv2d_backward(dz, x, w, stride, padding)
    for hand, engine in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(hand, engine.grad.data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_three_way_check_of_a_small_cnn_passes(dtype):
    problem = tm.threeway.make_cnn_problem(channels=2, image=5, in_channels=2, stride=2, padding=1, dtype=dtype)
    result = problem.check()
    assert result.passed, result.format_table()
    assert [row.name for row in result.rows][0].endswith("weight") and len(result.rows) == 4
    assert "CNN conv 2->2 3x3 (stride 2, padding 1)" in result.format_table()


def test_three_way_check_of_a_cnn_names_the_wrong_method(monkeypatch):
    problem = tm.threeway.make_cnn_problem()
    right = tm.backprop.conv2d_backward
    monkeypatch.setattr(tm.backprop, "conv2d_backward", lambda *a: (lambda dx, dw, db: (dx, dw * 1.01, db))(
        *right(*a)))
    result = problem.check()
    assert not result.passed and "hand-derived reference is the odd one out" in result.diagnosis()
    assert [row.name for row in result.rows if not row.passed] == [result.rows[0].name]  # the conv weight only
    monkeypatch.setattr(tm.backprop, "conv2d_backward", right)
    wrong = conv.Geometry.weight_grad
    monkeypatch.setattr(conv.Geometry, "weight_grad", lambda self, *a: wrong(self, *a) * 1.01)
    result = problem.check()
    assert not result.passed and "autograd is the odd one out" in result.diagnosis()


# ---------------------------------------------------------------- the command line: tinygrad-mlp train --model lenet


LENET_QUICK = ["--model", "lenet", "--dataset", "synthetic", "--limit-train", "256", "--no-progress"]


def test_cli_trains_saves_resumes_and_scores_a_lenet(tmp_path, capsys):
    from tinygrad_mlp.cli import main
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    assert main(["train", *LENET_QUICK, "--epochs", "2", "--out", str(whole)]) == 0
    out = capsys.readouterr().out
    assert "training LeNet (conv 1->6->16" in out and "adam lr 0.001 (cosine schedule), batch 64" in out
    lenet, ck = tm.checkpoint.load_model(whole)
    assert isinstance(lenet, nn.LeNet) and ck.model_config == {"kind": "lenet", "channels": [6, 16], "num_classes": 10}
    assert ck.metadata["settings"]["model"] == "lenet" and ck.metadata["settings"]["init"] == "pytorch"
    # one epoch, then --resume to two: the very weights of the run that did both at once (at a constant lr: a
    # cosine schedule over one epoch is not the first half of one over two)
    constant = tmp_path / "constant.npz"
    assert main(["train", *LENET_QUICK, "--lr-schedule", "none", "--epochs", "2", "--out", str(constant)]) == 0
    model, _ = tm.checkpoint.load_model(constant)
    assert main(["train", *LENET_QUICK, "--lr-schedule", "none", "--epochs", "1", "--out", str(part)]) == 0
    assert main(["train", "--resume", str(part), "--epochs", "2", "--no-progress"]) == 0
    resumed, _ = tm.checkpoint.load_model(part)
    assert all(np.array_equal(a, b) for a, b in zip(model.state_dict().values(), resumed.state_dict().values(),
                                                    strict=True))
    capsys.readouterr()
    assert main(["eval", str(whole)]) == 0
    assert "LeNet (conv 1->6, conv 6->16, dense 400-120-84-10, 61,706 parameters)" in capsys.readouterr().out
    assert main(["predict", str(whole), "--index", "0"]) == 0
    assert "softmax of the output logits" in capsys.readouterr().out


def test_cli_show_weights_draws_a_lenets_filters(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from tinygrad_mlp.cli import main
    ck = tmp_path / "l.npz"
    tm.checkpoint.save(nn.LeNet(seed=3), ck)
    assert main(["show-weights", str(ck), "--out", str(tmp_path / "filters.png")]) == 0
    assert "the 6 first-layer filters of the LeNet" in capsys.readouterr().out
    assert (tmp_path / "filters.png").stat().st_size > 5000


@pytest.mark.parametrize("args, message", [
    (["train", *LENET_QUICK, "--activation", "sigmoid"], "--activation sigmoid does not apply to --model lenet"),
    (["train", *LENET_QUICK, "--loss", "mse"], "--loss mse does not apply to --model lenet"),
    (["nudges", "{ck}"], "holds a LeNet (a small CNN); this command looks inside an MLP's layers"),
    (["train", "--resume", "{ck}", "--model", "mlp"], "--model mlp differs from the resumed run's lenet"),
])
def test_cli_refuses_what_a_lenet_cannot_do_in_one_line(tmp_path, capsys, args, message):
    from tinygrad_mlp.cli import main
    ck = tmp_path / "l.npz"
    assert main(["train", *LENET_QUICK, "--epochs", "1", "--out", str(ck)]) == 0
    capsys.readouterr()
    assert main([a.format(ck=ck) for a in args]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_lenet_checkpoint_is_checked_before_it_is_built(tmp_path):
    path = tmp_path / "l.npz"
    tm.checkpoint.save(nn.LeNet(channels=(2, 3), seed=0), path)
    assert isinstance(tm.checkpoint.load_model(path)[0], nn.LeNet)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta.json"].tobytes())
    for config, pattern in (({"kind": "lenet", "channels": [2, 10**6], "num_classes": 10}, "model must be"),
                            ({"kind": "resnet"}, "model.kind must be one of lenet"),
                            ({"kind": "lenet", "channels": [2, 4], "num_classes": 10},
                             r"array conv2.weight is \(3, 2, 5, 5\) but the architecture lenet")):
        bad = dict(meta, model=config)
        bad["checksum"] = tm.checkpoint._checksum({k: v for k, v in arrays.items() if k != "meta.json"}, bad)
        np.savez(tmp_path / "bad.npz", **{**arrays, "meta.json": np.frombuffer(json.dumps(bad).encode(), np.uint8)})
        with pytest.raises(tm.CheckpointError, match=pattern):
            tm.checkpoint.load(tmp_path / "bad.npz")


def test_cli_gradcheck_of_a_cnn(capsys):
    from tinygrad_mlp.cli import main
    assert main(["gradcheck", "--model", "cnn", "--batch-size", "2", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "three-way gradient check: CNN conv 1->3 3x3 (stride 1, padding 1) on 6x6" in out
    assert "overall: PASS: all 4 parameter tensors agree" in out
