"""PyTorch's module-side names and behaviours (issues 23 and 28): nn.Parameter, Softmax, Sequential's names,
dtype conversion of modules, BatchNorm1d(momentum=None), kaiming's ``a``, load_state_dict's report, nn.utils,
and the losses under PyTorch's names and semantics (with the notes' cost kept as ``quadratic_cost``).

Values and gradients are compared with PyTorch when it is installed (the tests that need it skip cleanly
without it), and every loss is gradchecked in float64 always. The tests marked "red on 411df7f" failed on that
commit (checked by running this file against it).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import CheckpointError, Tensor, TinygradMLPError, checkpoint, gradcheck, nn
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.nn import init as I

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (an optional test oracle)")
RNG = np.random.default_rng(23)
DATA = Path(__file__).resolve().parent / "data"


def _t64(a, requires_grad=True) -> Tensor:
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def _torch(a, requires_grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# ====================================================================== modules


def test_parameter_is_a_tensor_that_requires_grad_and_shares_the_array():  # red on 411df7f (no nn.Parameter)
    data = np.arange(3.0)
    p = nn.Parameter(Tensor(data))
    assert isinstance(p, Tensor) and isinstance(p, nn.Parameter) and p.requires_grad
    assert p.data is data  # as torch.nn.Parameter(t) shares t's storage

    class Scale(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(Tensor(np.ones(2)))

        def forward(self, x):
            return x * self.w

    m = Scale()
    assert [n for n, _ in m.named_parameters()] == ["w"]
    m(Tensor(np.array([2.0, 3.0]))).sum().backward()
    np.testing.assert_array_equal(m.w.grad.data, [2.0, 3.0])
    assert type(m.w * 2) is Tensor  # results of ops are plain tensors, as PyTorch's


@needs_torch
@pytest.mark.parametrize("shape,dim", [((5,), None), ((3, 4), None), ((3, 4), 0), ((2, 3, 4), 1)])
def test_softmax_and_log_softmax_modules_match_pytorch(shape, dim):  # red on 411df7f (no nn.Softmax)
    x = RNG.standard_normal(shape)
    for ours, theirs in [(nn.Softmax, torch.nn.Softmax), (nn.LogSoftmax, torch.nn.LogSoftmax)]:
        with pytest.warns(UserWarning) if dim is None else _no_warning():
            want = theirs(dim=dim)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours(dim=dim)(Tensor(x)).data, want, rtol=1e-12)


def _no_warning():
    import contextlib
    return contextlib.nullcontext()


def test_softmax_without_dim_on_three_axes_is_refused():
    with pytest.raises(TinygradMLPError, match="dim="):
        nn.Softmax()(Tensor(np.ones((2, 3, 4))))


def test_sequential_names_its_parameters_as_pytorch():  # red on 411df7f (keys were layers.0.weight)
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 4)), ("act", nn.Tanh()), ("out", nn.Linear(4, 2))]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert named.fc is named[0] and named[-1] is named.out and len(named[1:]) == 2
    named.add_module("extra", nn.Sigmoid())
    assert len(named) == 4 and isinstance(named[3], nn.Sigmoid)


@needs_torch
def test_sequential_weights_exchange_with_pytorch_by_name():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    report = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert report == ([], [])
    x = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    back = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    back.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})  # and the other way


def test_a_checkpoint_saved_by_the_old_code_with_layers_keys_still_loads():
    # tests/data/sequential_411df7f.npz was written by checkpoint.save at commit 411df7f, when a Sequential named
    # its weights layers.<i>.weight; it holds the input and the output the model gave then
    ckpt = checkpoint.load(DATA / "sequential_411df7f.npz")
    assert "body.layers.0.weight" in ckpt.params

    class Net(nn.Module):
        def __init__(self):
            self.body = nn.Sequential(nn.Linear(3, 4, seed=5, dtype=np.float64), nn.Tanh(),
                                      nn.Linear(4, 2, seed=6, dtype=np.float64))

        def forward(self, x):
            return self.body(x)

    net = Net()
    assert net.load_state_dict(ckpt.params) == ([], [])
    np.testing.assert_allclose(net(Tensor(np.array(ckpt.metadata["x"]))).data, ckpt.metadata["y"], rtol=1e-15)
    assert list(net.state_dict()) == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"]


def test_load_state_dict_reports_missing_and_unexpected_keys():  # red on 411df7f (returned None)
    seq = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    state = seq.state_dict()
    del state["1.bias"]
    state["2.weight"] = np.zeros(1)
    before = seq[0].weight.data.copy()
    state["0.weight"] = before + 1
    report = seq.load_state_dict(state, strict=False)
    assert report.missing_keys == ["1.bias"] and report.unexpected_keys == ["2.weight"]
    np.testing.assert_array_equal(seq[0].weight.data, before + 1)  # what matched was loaded
    with pytest.raises(CheckpointError, match=r"missing keys \['1.bias'\], unexpected keys \['2.weight'\]"):
        seq.load_state_dict(state)


@needs_torch
def test_load_state_dict_report_is_pytorchs():
    ours, theirs = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)), torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items() if k != "1.bias"}
    state["9.weight"] = np.zeros(1)
    got = ours.load_state_dict(state, strict=False)
    want = theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    assert (got.missing_keys, got.unexpected_keys) == (want.missing_keys, want.unexpected_keys)


def test_module_double_and_float_convert_every_weight_in_place():  # red on 411df7f (no Module.double)
    bn = nn.BatchNorm1d(3)
    model = nn.Sequential(nn.Linear(3, 3), bn)
    w = model[0].weight
    assert model.double() is model
    assert w.dtype == np.float64 and bn.running_var.dtype == np.float64  # the same tensor, converted
    assert bn.num_batches_tracked.dtype == np.int64  # a count stays an integer
    model(Tensor(np.ones((4, 3)))).sum().backward()
    assert w.grad.dtype == np.float64
    model.float()
    assert w.dtype == np.float32 and w.grad.dtype == np.float32
    assert model.to(np.float64) is model and w.dtype == np.float64
    assert model.to("cpu") is model and model.cpu() is model
    with pytest.raises(TinygradMLPError, match="cuda"):
        model.to("cuda")


@needs_torch
@pytest.mark.parametrize("momentum", [None, 0.1, 0.5])
def test_batchnorm_running_statistics_match_pytorch(momentum):  # momentum=None: red on 411df7f
    ours = nn.BatchNorm1d(3, momentum=momentum, dtype=np.float64)
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    for _ in range(4):
        x = RNG.standard_normal((6, 3)) * 3 + 1
        np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).data, getattr(theirs, name).numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    x = RNG.standard_normal((5, 3))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert set(ours.state_dict()) == set(theirs.state_dict())


def test_batchnorm_momentum_none_is_the_plain_average_of_the_batches():
    bn = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    batches = [RNG.standard_normal((5, 2)) for _ in range(3)]
    for x in batches:
        bn(Tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([x.mean(0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, np.mean([x.var(0, ddof=1) for x in batches], axis=0), rtol=1e-12)


def test_a_batchnorm_state_saved_before_the_batch_counter_still_loads():
    bn = nn.BatchNorm1d(2)
    state = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert nn.BatchNorm1d(2).load_state_dict(state) == ([], [])


def test_a_model_with_batchnorm_still_checkpoints_and_loads_back(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None))
    model(Tensor(np.ones((5, 3), np.float32)))
    path = checkpoint.save(model, tmp_path / "bn.npz")  # the int64 batch counter among float32 weights
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None))
    assert fresh.load_state_dict(checkpoint.load(path).params) == ([], [])
    assert fresh[1].num_batches_tracked.data == 1


def test_kaiming_takes_the_leaky_relu_slope_a():  # red on 411df7f (a= was refused)
    w0, w1 = Tensor(np.zeros((30, 40))), Tensor(np.zeros((30, 40)))
    I.kaiming_normal_(w0, seed=3)
    I.kaiming_normal_(w1, a=1.0, seed=3)  # gain sqrt(2 / (1 + 1)) = 1, against relu's sqrt(2)
    np.testing.assert_allclose(w1.data, w0.data / np.sqrt(2), rtol=1e-6)
    u = Tensor(np.zeros((200, 50)))
    I.kaiming_uniform_(u, np.sqrt(5), seed=0)  # PyTorch's Linear default: bound 1 / sqrt(fan_in)
    assert np.abs(u.data).max() <= 1 / np.sqrt(50) and np.abs(u.data).max() > 0.99 / np.sqrt(50)
    I.kaiming_uniform_(u, mode="fan_out", nonlinearity="relu", seed=0)
    assert np.abs(u.data).max() <= np.sqrt(6 / 200)


@needs_torch
def test_kaiming_gain_for_a_is_pytorchs():
    for a in (0.0, 0.2, np.sqrt(5)):
        assert I.calculate_gain("leaky_relu", a) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", a))


@needs_torch
def test_nn_utils_clip_grad_norm_and_value_match_pytorch():  # red on 411df7f (no tm.nn.utils)
    grads = [RNG.standard_normal((3, 4)) * 5, RNG.standard_normal(4)]
    ours = [_t64(np.zeros_like(g)) for g in grads]
    theirs = [_torch(np.zeros_like(g)) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad, q.grad = Tensor(g.copy()), torch.tensor(g.copy())
    norm = tm.nn.utils.clip_grad_norm_(ours, max_norm=1.0)
    assert norm == pytest.approx(float(torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0)))
    tm.nn.utils.clip_grad_value_(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-6)


def test_add_module_registers_a_child():
    m = nn.Module()
    m.add_module("encoder", nn.Linear(2, 2))
    assert [n for n, _ in m.named_children()] == ["encoder"] and m.get_submodule("encoder") is m.encoder
    with pytest.raises(TinygradMLPError):
        m.add_module("a.b", nn.ReLU())


# ====================================================================== losses


def test_mse_loss_is_pytorchs_mean_over_every_element():  # red on 411df7f (19 where PyTorch gives 6.33)
    out = Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    target = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 9.0]])
    assert F.mse_loss(out, target).item() == pytest.approx(38 / 6)
    assert nn.MSELoss()(out, target).item() == pytest.approx(38 / 6)
    assert F.quadratic_cost(out, target).item() == pytest.approx(19.0)  # the notes' cost keeps its value


def test_mse_loss_takes_a_1d_prediction():  # red on 411df7f (refused: output must be (batch, outputs))
    pred, y = _t64([0.5, 1.5, -1.0]), np.array([1.0, 1.0, 1.0])
    loss = nn.MSELoss(reduction="sum")(pred, y)
    assert loss.item() == pytest.approx(0.25 + 0.25 + 4)
    loss.backward()
    np.testing.assert_allclose(pred.grad.data, 2 * (pred.data - y))


def test_mse_loss_refuses_labels_and_mismatched_shapes_instead_of_broadcasting():
    with pytest.raises(TinygradMLPError, match="quadratic_cost"):
        F.mse_loss(_t64(np.zeros((2, 3))), np.array([0, 2]))
    with pytest.raises(TinygradMLPError, match=r"\(3, 1\)"):  # PyTorch broadcasts (3, 1) against (3,) to (3, 3)
        F.mse_loss(_t64(np.zeros((3, 1))), np.zeros(3))


def test_the_clis_mse_is_still_the_notes_cost():
    assert F.loss("mse") is F.quadratic_cost and F.LOSSES["mse"] is F.quadratic_cost
    out, labels = _t64(RNG.random((4, 3))), np.array([0, 2, 1, 1])
    expected = ((out.data - np.eye(3)[labels]) ** 2).sum() / 4
    assert F.loss("mse")(out, labels).item() == pytest.approx(expected, rel=1e-12)


def _losses():
    """(name, our function, PyTorch's (by name), input maker, target maker, keyword arguments)."""
    probs = lambda s: RNG.uniform(0.05, 0.95, s)  # noqa: E731
    normal = lambda s: RNG.standard_normal(s)  # noqa: E731
    away = lambda s: RNG.choice([-1, 1], s) * RNG.uniform(0.2, 3, s)  # noqa: E731  (|d| away from 0 and from 1)
    zeros = lambda s: np.zeros(s)  # noqa: E731
    weight = RNG.uniform(0.5, 2, (4, 3))
    return [
        ("mse_loss", normal, normal, {}),
        ("mse_loss", normal, normal, {"reduction": "sum"}),
        ("l1_loss", away, zeros, {}),
        ("huber_loss", away, zeros, {"delta": 1.3}),
        ("smooth_l1_loss", away, zeros, {"beta": 0.7, "reduction": "sum"}),
        ("smooth_l1_loss", away, zeros, {"beta": 0.0}),
        ("binary_cross_entropy", probs, probs, {}),
        ("binary_cross_entropy", probs, probs, {"weight": weight, "reduction": "none"}),
        ("binary_cross_entropy_with_logits", normal, probs, {}),
        ("binary_cross_entropy_with_logits", normal, probs,
         {"pos_weight": np.array([0.5, 2.0, 3.0]), "weight": weight, "reduction": "sum"}),
    ]


@pytest.mark.parametrize("name,make_x,make_t,kwargs", _losses(), ids=lambda v: v if isinstance(v, str) else "")
def test_elementwise_losses_gradcheck(name, make_x, make_t, kwargs):
    x, t = make_x((4, 3)), make_t((4, 3))
    fn = getattr(F, name)
    assert gradcheck(lambda a: fn(a, t, **kwargs).sum(), _t64(x))


@needs_torch
@pytest.mark.parametrize("name,make_x,make_t,kwargs", _losses(), ids=lambda v: v if isinstance(v, str) else "")
def test_elementwise_losses_match_pytorch(name, make_x, make_t, kwargs):  # red on 411df7f (missing names)
    x, t = make_x((4, 3)), make_t((4, 3))
    ours_x, theirs_x = _t64(x), _torch(x)
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    ours = getattr(F, name)(ours_x, t, **kwargs)
    theirs = getattr(torch.nn.functional, name)(theirs_x, torch.tensor(t), **torch_kwargs)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(ours_x.grad.data, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-15)


@needs_torch
@pytest.mark.parametrize("module,args", [("MSELoss", {}), ("L1Loss", {}), ("HuberLoss", {"delta": 0.5}),
                                         ("SmoothL1Loss", {"beta": 2.0}), ("BCEWithLogitsLoss", {})])
def test_loss_modules_match_pytorchs(module, args):
    x, t = RNG.standard_normal(7), RNG.uniform(0.1, 0.9, 7)  # 1-D, as in PyTorch's tutorials
    ours = getattr(nn, module)(**args)(_t64(x), t).item()
    assert ours == pytest.approx(getattr(torch.nn, module)(**args)(torch.tensor(x), torch.tensor(t)).item(), rel=1e-12)


def test_binary_cross_entropy_clamps_the_log_at_minus_100_as_pytorch():
    loss = F.binary_cross_entropy(_t64([0.0, 1.0]), np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0])


def test_binary_cross_entropy_with_logits_is_stable_for_large_scores():
    loss = F.binary_cross_entropy_with_logits(_t64([800.0, -800.0]), np.array([0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [800.0, 800.0])


CLASSIFICATION = [
    {},
    {"weight": np.array([0.2, 1.0, 3.0, 0.5])},
    {"ignore_index": 2},
    {"ignore_index": -100},  # the default, with a -100 among the labels
    {"weight": np.array([0.2, 1.0, 3.0, 0.5]), "ignore_index": 1, "reduction": "sum"},
    {"weight": np.array([0.2, 1.0, 3.0, 0.5]), "reduction": "none"},
    {"ignore_index": 0, "reduction": "none"},
]


def _labels_for(kwargs):
    labels = np.array([0, 2, 1, 3, 2, 0])
    if kwargs.get("ignore_index") == -100:
        labels[3] = -100
    return labels


@pytest.mark.parametrize("kwargs", CLASSIFICATION)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_weights_and_ignored_labels_gradchecks(kwargs, smoothing):
    z, labels = RNG.standard_normal((6, 4)), _labels_for(kwargs)
    assert gradcheck(lambda a: F.cross_entropy(a, labels, label_smoothing=smoothing, **kwargs).sum(), _t64(z))
    assert gradcheck(lambda a: F.nll_loss(a.log_softmax(dim=1), labels, **kwargs).sum(), _t64(z))


@needs_torch
@pytest.mark.parametrize("kwargs", CLASSIFICATION)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_and_nll_loss_match_pytorch(kwargs, smoothing):  # red on 411df7f (no weight, ignore_index)
    z, labels = RNG.standard_normal((6, 4)), _labels_for(kwargs)
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    for ours_fn, theirs_fn, extra in [(F.cross_entropy, torch.nn.functional.cross_entropy,
                                       {"label_smoothing": smoothing}),
                                      (lambda a, *r, **k: F.nll_loss(a.log_softmax(dim=1), *r, **k),
                                       lambda a, *r, **k: torch.nn.functional.nll_loss(a.log_softmax(dim=1), *r, **k),
                                       {})]:
        if extra.get("label_smoothing") == 0.0 or not extra:
            extra = {}
        ours_z, theirs_z = _t64(z), _torch(z)
        ours = ours_fn(ours_z, labels, **kwargs, **extra)
        theirs = theirs_fn(theirs_z, torch.tensor(labels), **torch_kwargs, **extra)
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-15)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(ours_z.grad.data, theirs_z.grad.numpy(), rtol=1e-10, atol=1e-15)


@needs_torch
def test_cross_entropy_class_weights_on_probability_targets_match_pytorch():
    z, q, w = RNG.standard_normal((5, 3)), RNG.dirichlet(np.ones(3), 5), np.array([0.5, 2.0, 1.0])
    for smoothing in (0.0, 0.1):
        ours = F.cross_entropy(_t64(z), q, weight=w, label_smoothing=smoothing).item()
        theirs = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(q), weight=torch.tensor(w),
                                                   label_smoothing=smoothing).item()
        assert ours == pytest.approx(theirs, rel=1e-12)


def test_cross_entropy_loss_and_nll_loss_modules():
    z, labels = RNG.standard_normal((6, 4)), np.array([0, 2, 1, 3, 2, 0])
    w = np.array([1.0, 2.0, 0.5, 1.0])
    ce = nn.CrossEntropyLoss(weight=w, ignore_index=3)(_t64(z), labels).item()
    nll = nn.NLLLoss(weight=w, ignore_index=3)(nn.LogSoftmax(dim=1)(_t64(z)), labels).item()
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    kept = labels != 3
    want = -(w[labels] * logp[np.arange(6), labels])[kept].sum() / w[labels][kept].sum()
    assert ce == pytest.approx(want, rel=1e-12) and nll == pytest.approx(want, rel=1e-12)


def test_cross_entropy_with_class_weights_under_compile_runs_each_calls_labels():
    model = nn.Linear(4, 3, seed=0, dtype=np.float64)
    w = np.array([1.0, 3.0, 0.5])

    def step(x, y):
        return F.cross_entropy(model(Tensor(x)), y, weight=w, ignore_index=1)

    compiled = tm.compile(step)
    with pytest.warns(UserWarning):  # the step runs eagerly, saying why
        for _ in range(3):
            x, y = RNG.standard_normal((5, 4)), RNG.integers(0, 3, 5)
            np.testing.assert_allclose(compiled(x, y).data, step(x, y).data, rtol=1e-15)


def test_a_positional_reduction_is_not_taken_for_a_class_weight():
    with pytest.raises(TinygradMLPError, match="reduction="):
        F.cross_entropy(_t64(np.zeros((2, 3))), [0, 1], "sum")


def test_modules_take_the_default_dtype():  # red before: weights were always float32
    tm.set_default_dtype(np.float64)
    try:
        assert nn.Linear(2, 2).weight.dtype == np.float64 and nn.LayerNorm(2).weight.dtype == np.float64
        assert nn.BatchNorm1d(2).running_mean.dtype == np.float64 and nn.MLP([2, 3]).weights[0].dtype == np.float64
        assert nn.Linear(2, 2, dtype=np.float32).weight.dtype == np.float32
    finally:
        tm.set_default_dtype(np.float32)
    assert nn.Linear(2, 2).weight.dtype == np.float32
