"""tinygrad_mlp.jit.compile: a captured training step replays bit for bit what eager mode computes.

Each test trains two copies of a network from the same weights on the same batches, one with the plain
step function and one with ``compile(step)``, and compares the results exactly (``array_equal``, no
tolerance). The guard tests change what the recording assumed (a batch shape, a dtype, requires_grad)
and check the compiled step records again instead of replaying something that no longer applies; the
fallback tests give it steps it must not replay (control flow on values, arrays made from the data)
and check it runs them eagerly, with a warning that says why.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_mlp import Tensor, detect_anomaly, optim
from tinygrad_mlp.jit import CaptureError, compile
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F

RNG = np.random.default_rng(0)
X = RNG.random((230, 12), dtype=np.float32)
Y = RNG.integers(0, 4, 230)

OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=3.0),
    "momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=1e-3),
}
SETUPS = {  # name: (activation, output activation, loss, optimizer)
    "sigmoid-mse-sgd": ("sigmoid", "sigmoid", "mse", "sgd"),
    "relu-ce-momentum": ("relu", None, "cross_entropy", "momentum"),
    "relu-ce-adam": ("relu", None, "cross_entropy", "adam"),
    "tanh-mse-nesterov": ("tanh", None, "mse", "nesterov"),
    "relu-ce-adamw": ("relu", None, "cross_entropy", "adamw"),
    "sigmoid-ce-rmsprop": ("sigmoid", None, "cross_entropy", "rmsprop"),
}


def make_step(setup: str, sizes=(12, 8, 6, 4), dtype=np.float32):
    act, out_act, loss, opt_name = SETUPS[setup]
    model = MLP(list(sizes), act, out_act, seed=1, dtype=dtype)
    opt = OPTIMIZERS[opt_name](model.parameters())
    loss_fn = F.loss(loss)

    def step(xb, yb):
        opt.zero_grad()
        out = loss_fn(model(Tensor(xb)), yb)
        out.backward()
        opt.step()
        return out

    return model, opt, step


def train_both(setup: str, batch: int, epochs: int = 3):
    eager_model, eager_opt, eager_step = make_step(setup)
    model, opt, step = make_step(setup)
    compiled = compile(step)
    for _ in range(epochs):
        for i in range(0, len(X), batch):
            want = eager_step(X[i:i + batch], Y[i:i + batch])
            got = compiled(X[i:i + batch], Y[i:i + batch])
            assert np.array_equal(want.data, got.data), "the losses differ"
    return eager_model, eager_opt, model, opt, compiled


def assert_same_parameters(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert p.data.dtype == q.data.dtype
        assert np.array_equal(p.data, q.data), f"{name} differs"


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_replayed_training_is_bit_identical_to_eager(setup):
    # 230 = 23 * 10: batches of 10, then of 7 (ten of them and a last one of 6): two signatures
    for batch in (10, 7):
        eager_model, eager_opt, model, opt, compiled = train_both(setup, batch)
        assert_same_parameters(eager_model, model)
        assert compiled.stats["replayed"] > compiled.stats["recorded"] > 0 and compiled.stats["eager"] == 0
        for key, arrays in eager_opt.state_dict()["buffers"].items():
            for a, b in zip(arrays, opt.state_dict()["buffers"][key], strict=True):
                assert np.array_equal(a, b), f"optimizer state {key} differs"
        assert eager_opt.steps == opt.steps


def test_the_last_partial_batch_records_its_own_replay():
    _, _, _, _, compiled = train_both("sigmoid-mse-sgd", 7, epochs=4)
    # batches of 7 are recorded twice (the second to check the first), then replayed; the last batch of 6
    # comes once per epoch: recorded in epochs 1 and 2, replayed in 3 and 4
    steps = -(-len(X) // 7)
    assert compiled.stats == {"recorded": 4, "replayed": 4 * steps - 4, "eager": 0}


def test_gradients_are_left_as_eager_leaves_them():
    eager_model, _, model, _, _ = train_both("relu-ce-momentum", 10, epochs=1)
    for p, q in zip(eager_model.parameters(), model.parameters(), strict=True):
        assert np.array_equal(p.grad.data, q.grad.data)


def test_step_without_zero_grad_accumulates_as_eager():
    models = []
    for use_compile in (False, True):
        model = MLP([12, 5, 4], seed=3)
        opt = optim.SGD(model.parameters(), lr=0.01)

        def step(xb, yb):
            F.quadratic_cost(model(Tensor(xb)), yb).backward()  # gradients pile up: no zero_grad
            opt.step()

        run = compile(step) if use_compile else step
        for i in range(0, 100, 10):
            run(X[i:i + 10], Y[i:i + 10])
        models.append(model)
    assert_same_parameters(*models)


def test_two_backward_walks_through_the_same_nodes():
    models = []
    for use_compile in (False, True):
        model = MLP([12, 5, 4], seed=3)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(xb, yb):
            opt.zero_grad()
            out = model(Tensor(xb))
            loss = F.quadratic_cost(out, yb)
            loss.backward(retain_graph=True)
            (out * out).sum().backward()  # a second walk, through nodes the first one walked
            opt.step()
            return loss

        run = compile(step) if use_compile else step
        for i in range(0, 100, 10):
            run(X[i:i + 10], Y[i:i + 10])
        models.append(model)
    assert run.stats["replayed"] == 8
    assert_same_parameters(*models)


def test_a_returned_tuple_of_tensors_is_replayed():
    model = MLP([12, 4], seed=0)

    @compile
    def forward(xb):
        out = model(Tensor(xb))
        return out, (out * out).sum()

    for i in range(4):
        out, total = forward(X[i * 5:i * 5 + 5])
        expected = model(Tensor(X[i * 5:i * 5 + 5]))
        assert np.array_equal(out.data, expected.data) and total.data == (expected * expected).sum().data
    assert forward.stats["replayed"] == 2


# ---------------------------------------------------------------------- the guard


def test_a_new_batch_shape_records_again_never_replays_the_old_one():
    model, _, step = make_step("sigmoid-mse-sgd")
    compiled = compile(step)
    for n in (10, 10, 10, 5, 5, 5, 10):
        compiled(X[:n], Y[:n])
    assert compiled.stats == {"recorded": 4, "replayed": 3, "eager": 0}


def test_a_dtype_change_records_again():
    eager_model, _, eager_step = make_step("relu-ce-momentum")
    model, _, step = make_step("relu-ce-momentum")
    compiled = compile(step)
    for x in (X[:10], X[10:20], X[20:30], X[:10].astype(np.float64), X[10:20].astype(np.float64),
              X[20:30].astype(np.float64)):
        assert np.array_equal(eager_step(x, Y[:10]).data, compiled(x, Y[:10]).data)
    assert compiled.stats == {"recorded": 4, "replayed": 2, "eager": 0}
    assert_same_parameters(eager_model, model)


def test_freezing_a_parameter_records_again():
    eager_model, _, eager_step = make_step("sigmoid-mse-sgd")
    model, _, step = make_step("sigmoid-mse-sgd")
    compiled = compile(step)
    for i in range(8):
        if i == 4:  # freeze the first layer's weight: its gradient and update must stop
            eager_model.parameters()[0].requires_grad = False
            model.parameters()[0].requires_grad = False
        batch = slice(i * 10, i * 10 + 10)
        assert np.array_equal(eager_step(X[batch], Y[batch]).data, compiled(X[batch], Y[batch]).data)
    assert compiled.stats == {"recorded": 4, "replayed": 4, "eager": 0}
    assert_same_parameters(eager_model, model)


def test_a_parameter_given_a_new_array_records_again():
    model, _, step = make_step("sigmoid-mse-sgd")
    compiled = compile(step)
    for i in range(3):
        compiled(X[:10], Y[:10])
    w = model.parameters()[0]
    w.data = np.zeros((8, 12), dtype=np.float64)  # a new array, of another dtype
    compiled(X[:10], Y[:10])
    assert compiled.stats["recorded"] == 3 and w.data.dtype == np.float64


def test_tensor_arguments_and_their_requires_grad_are_part_of_the_signature():
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)

    @compile
    def f(x):
        return (x * w).sum()

    for requires_grad in (False, False, False, True, True, True):
        x = Tensor(np.arange(3, dtype=np.float32), requires_grad=requires_grad)
        out = f(x)
        out.data  # noqa: B018
    assert f.stats == {"recorded": 4, "replayed": 2, "eager": 0}


# ---------------------------------------------------------------------- what is not captured


def _expect_eager(compiled, args_list, match: str):
    with pytest.warns(UserWarning, match=match):
        for args in args_list:
            compiled(*args)
    assert compiled.stats["replayed"] == 0 and compiled.stats["eager"] >= 1
    assert any(match.split(".*")[0] in r for r in compiled.reasons)


def test_control_flow_on_values_is_run_eagerly():
    model = MLP([12, 4], seed=0)

    @compile
    def f(xb):
        out = model(Tensor(xb))
        return out.relu() if xb.sum() > 0 else -out  # a branch on the values

    _expect_eager(f, [(X[i:i + 1] * (-1) ** i,) for i in range(5)], "control flow")


def test_arrays_made_from_the_data_are_not_baked_in():
    model, opt, _ = make_step("sigmoid-mse-sgd")

    @compile
    def step(xb, yb):
        opt.zero_grad()
        loss = F.quadratic_cost(model(Tensor(xb / 2)), yb)  # xb / 2: a new array each call, made outside the ops
        loss.backward()
        opt.step()
        return loss

    _expect_eager(step, [(X[i:i + 10], Y[i:i + 10]) for i in range(0, 50, 10)], "rebuilds on every call")


def test_a_python_number_cannot_be_returned():
    model = MLP([12, 4], seed=0)

    @compile
    def f(xb):
        return model(Tensor(xb)).sum().item()

    _expect_eager(f, [(X[:2],), (X[2:4],)], "returns a float")


def test_model_zero_grad_is_seen_through():
    model, opt, _ = make_step("sigmoid-mse-sgd")

    @compile
    def step(xb, yb):
        for p in model.parameters():  # not an optimizer's zero_grad(): a recording cannot see it
            p.grad = None
        F.quadratic_cost(model(Tensor(xb)), yb).backward()
        opt.step()

    _expect_eager(step, [(X[i:i + 10], Y[i:i + 10]) for i in range(0, 40, 10)], "zero_grad")


def test_batchnorm_running_statistics_are_not_lost():
    from tinygrad_mlp.nn import BatchNorm1d, Linear, Sequential

    model = Sequential(Linear(12, 6), BatchNorm1d(6), Linear(6, 4))
    opt = optim.SGD(model.parameters(), lr=0.1)

    @compile
    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(Tensor(xb)), yb)
        loss.backward()
        opt.step()
        return loss

    _expect_eager(step, [(X[i:i + 10], Y[i:i + 10]) for i in range(0, 40, 10)], "running statistics")


def test_inside_detect_anomaly_the_step_runs_eagerly():
    _, _, step = make_step("sigmoid-mse-sgd")
    compiled = compile(step)
    with detect_anomaly():
        for i in range(3):
            compiled(X[:10], Y[:10])
    assert compiled.stats == {"recorded": 0, "replayed": 0, "eager": 3}


def test_labels_out_of_range_are_refused_by_a_replay_too():
    _, _, step = make_step("sigmoid-mse-sgd")
    compiled = compile(step)
    for _ in range(3):
        compiled(X[:4], Y[:4])
    assert compiled.stats["replayed"] == 1
    for bad in ([0, 1, 2, 4], [0, -1, 2, 3]):
        with pytest.raises(IndexError, match=r"labels must lie in \[0, 4\)"):
            compiled(X[:4], np.array(bad))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_minus_inf_mask_first_seen_by_a_replay_is_masked_as_eager(reduction):
    """cross_entropy takes 0 * log_softmax as 0 for a class of weight 0 masked with a -inf logit. The masking is
    inside a rule (WeightedLogSum), so a replay recorded on batches without any -inf masks a later batch's too:
    bit for bit what eager mode computes, and finite (it used to be 0 * -inf = NaN)."""
    nomask = np.zeros((6, 4), np.float32)
    mask = nomask.copy()
    mask[0, [c for c in range(4) if c != Y[0]]] = -np.inf  # only the true class left in the first row
    mask[3, (Y[3] + 1) % 4] = -np.inf
    losses, models = [], []
    for use_compile in (False, True):
        model = MLP([12, 8, 4], "relu", seed=1, dtype=np.float32)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(xb, mb, yb):
            opt.zero_grad()
            loss = F.cross_entropy(model(Tensor(xb)) + mb, yb, reduction=reduction)
            (loss.sum() if reduction == "none" else loss).backward()
            opt.step()
            return loss

        run = compile(step) if use_compile else step
        losses.append([run(X[:6], m, Y[:6]).data for m in (nomask, nomask, nomask, mask, nomask, mask)])
        models.append(model)
        if use_compile:
            assert run.stats == {"recorded": 2, "replayed": 4, "eager": 0}
    for want, got in zip(*losses, strict=True):
        assert np.all(np.isfinite(got)) and np.array_equal(want, got)
    assert_same_parameters(*models)


def test_capture_error_is_a_library_error():
    from tinygrad_mlp.errors import TinygradMLPError

    assert issubclass(CaptureError, TinygradMLPError)


def test_the_replay_source_names_the_rules():
    _, _, step = make_step("sigmoid-mse-sgd")
    compiled = compile(step)
    assert compiled.source() is None
    for _ in range(3):
        compiled(X[:10], Y[:10])
    src = compiled.source()
    assert src.startswith("def replay(args):")
    for rule in ("Linear.forward", "Sigmoid.backward", "OneHot.forward", "SquaredError.backward", "SGD.step()",
                 "SGD.zero_grad()"):
        assert rule in src, rule


def test_recording_leaves_no_listener_behind_even_after_an_error():
    from tinygrad_mlp import engine

    model = MLP([12, 4], seed=0)

    @compile
    def f(xb):
        model(Tensor(xb))
        raise KeyError("boom")

    with pytest.raises(KeyError):
        f(X[:2])
    assert engine.active_listeners() == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(Tensor(X[:2]))


def test_optimizer_calls_are_announced_to_engine_listeners_once_per_outermost_call():
    from tinygrad_mlp import engine

    class Shouting(optim.SGD):  # a subclass whose step calls its parent's: still one step
        def step(self):
            super().step()

    class Ear(engine.Listener):
        def __init__(self):
            self.heard = []

        def on_optimizer(self, opt, name):
            self.heard.append((opt, name))

    p = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    opt = Shouting([p], lr=0.5)
    with engine.listen(Ear()) as ear:
        opt.zero_grad()
        p.grad = Tensor(np.ones(2, dtype=np.float32))
        opt.step()
    opt.step()  # nobody listens any more
    assert ear.heard == [(opt, "zero_grad"), (opt, "step")] and engine.active_listeners() == []
    np.testing.assert_array_equal(p.data, [0.0, 0.0])


# ---------------------------------------------------------------------- masks taken from the values


def _hidden_signs(model, xb):
    """The sign pattern of every hidden layer's pre-activations on ``xb`` (what leaky_relu and elu branch on)."""
    a, signs = xb.astype(np.float64), []
    for layer in model.layers[:-1]:
        z = a @ layer.weight.data.T + layer.bias.data
        signs.append(z > 0)
        a = np.where(z > 0, z, 0.0)  # only the signs matter here
    return signs


@pytest.mark.parametrize("activation", ["leaky_relu", "elu"])
def test_full_batch_training_with_leaky_relu_or_elu_is_bit_identical_to_eager(activation):
    """leaky_relu and elu branch on x > 0. Full-batch training shows the recording the same batch twice, so the two
    recordings agree on every mask; the masks must then be taken again from the values on each replay (they used to
    be Where settings, replayed as recorded: the compiled loss drifted once a hidden unit changed sign)."""
    xb, yb = X[:40], Y[:40]
    models, losses, sign_changes = [], [], 0
    for use_compile in (False, True):
        model = MLP([12, 8, 6, 4], activation, seed=1)
        opt = optim.SGD(model.parameters(), lr=0.02)  # slow enough that the two recordings see the same masks

        def step(xb, yb):
            opt.zero_grad()
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            loss.backward()
            opt.step()
            return loss

        run = compile(step) if use_compile else step
        first = _hidden_signs(model, xb)
        losses.append([run(xb, yb).data for _ in range(30)])
        sign_changes = sum(int((a != b).sum()) for a, b in zip(first, _hidden_signs(model, xb), strict=True))
        models.append(model)
        stats = run.stats if use_compile else None
    assert sign_changes > 0, "the test needs a mask that changes during training"
    for i, (want, got) in enumerate(zip(*losses, strict=True)):
        assert np.array_equal(want, got), f"step {i}: loss {got} compiled, {want} eager"
    assert_same_parameters(*models)
    assert stats == {"recorded": 2, "replayed": 28, "eager": 0}


def test_clip_takes_its_masks_from_every_call():
    """Two recordings with the same values, then a call with values above the bound: clipped as eager (the replay
    used to keep the recorded masks and gave 15.0)."""
    w = Tensor(np.ones(3), requires_grad=True)
    scale = Tensor(np.array([1.0, 2.0, 3.0]))  # made once, outside: a constant (made inside, it would be rebuilt)
    for lo, hi in ((-1, 1), (None, 1), (-1, None), (2, 1)):

        def f(x):
            return ((Tensor(x) * w).clip(lo, hi) * scale).sum()

        compiled = compile(f)
        inside = np.array([0.5, 0.2, 0.1])
        for x in (inside, inside, np.array([5.0, 5.0, 5.0]), np.array([-5.0, 0.5, 5.0]), inside):
            assert np.array_equal(compiled(x).data, f(x).data), (lo, hi, x)
        assert compiled.stats == {"recorded": 2, "replayed": 3, "eager": 0}


def test_clip_gradient_in_a_replay_follows_each_batch():
    models = []
    for use_compile in (False, True):
        w = Tensor(np.ones(3), requires_grad=True)
        opt = optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (Tensor(x) * w).clip(-1, 1).sum()
            loss.backward()
            opt.step()
            return loss

        run = compile(step) if use_compile else step
        for x in ([0.5, 0.2, 0.1], [0.5, 0.2, 0.1], [5.0, -0.5, -5.0], [0.3, 3.0, 0.3]):
            run(np.array(x))
        models.append(w.data.copy())
    assert np.array_equal(*models)


def test_logsumexp_shifts_every_call_by_its_own_maximum():
    """The shift (the maximum) is computed inside the LogSumExp rule: a replay recorded on calls of the same maximum
    gives eager's bits on data of another maximum, and does not overflow on data far larger."""
    w = Tensor(np.ones(3), requires_grad=True)

    def f(x):
        return (Tensor(x) * w).logsumexp()

    compiled = compile(f)
    for x in ([1.0, 0.5, 0.25], [1.0, 0.3, 0.2], [0.1, 0.7, 0.2], [800.0, 799.0, 1.0], [-900.0, -901.0, -950.0]):
        x = np.array(x)
        want = f(x).data
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = compiled(x).data
        assert np.isfinite(got) and np.array_equal(want, got), (x, want, got)
    assert compiled.stats == {"recorded": 2, "replayed": 3, "eager": 0}


@pytest.mark.parametrize("method", ["gather", "take_along_axis"])
def test_gather_reads_each_calls_own_indices(method):
    """The indices of gather/take_along_axis are an input of their rule (TakeAlongAxis), not a setting: a replay
    recorded on two calls with the same indices picks a later call's own (it used to keep the recorded ones)."""
    models, losses = [], []
    picks = [np.array([[0], [1], [2]]), np.array([[0], [1], [2]]), np.array([[3], [3], [0]]), np.array([[1], [2], [3]])]
    for use_compile in (False, True):
        model = MLP([12, 8, 4], "relu", seed=1)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(xb, idx):
            opt.zero_grad()
            log_probs = model(Tensor(xb)).log_softmax(axis=1)
            picked = log_probs.gather(1, idx) if method == "gather" else log_probs.take_along_axis(idx, 1)
            loss = -picked.mean()
            loss.backward()
            opt.step()
            return loss

        run = compile(step) if use_compile else step
        losses.append([run(X[:3], idx).data for idx in picks + picks])
        models.append(model)
        if use_compile:
            assert run.stats == {"recorded": 2, "replayed": 6, "eager": 0}
    for want, got in zip(*losses, strict=True):
        assert np.array_equal(want, got)
    assert_same_parameters(*models)


@pytest.mark.parametrize("passed", ["array", "tensor"])
def test_tensor_index_reads_each_calls_own_indices(passed):
    """``W[Tensor(idx)]`` (an embedding lookup) is one Take rule with the indices as its input, not a GetItem
    setting: a replay recorded on two calls with the same indices uses a later call's own (it used to keep the
    recorded ones, silently). The indices are float64, so ``Tensor(idx)`` holds the argument's own array (an
    integer array would be converted: a constant made from the data, see docs/compile.md)."""
    table = np.random.default_rng(4).standard_normal((6, 4))
    picks = [[0, 1, 2], [0, 1, 2], [3, 3, 0], [5, -1, 2], [0, 1, 2]]
    calls = [np.array(p, dtype=np.float64) if passed == "array" else Tensor(np.array(p, dtype=np.float64))
             for p in picks]
    results = []
    for use_compile in (False, True):
        embed = Tensor(table.copy(), requires_grad=True)
        opt = optim.SGD([embed], lr=0.1)

        def step(idx, embed=embed, opt=opt):
            opt.zero_grad()
            rows = embed[Tensor(idx)]
            loss = (rows * rows).sum() + rows[:, 0].sum()
            loss.backward()
            opt.step()
            return loss

        run = compile(step) if use_compile else step
        results.append(([run(i).data for i in calls], embed.data.copy()))
        if use_compile:
            assert run.stats == {"recorded": 2, "replayed": 3, "eager": 0}
    (want_losses, want_table), (got_losses, got_table) = results
    for want, got in zip(want_losses, got_losses, strict=True):
        assert np.array_equal(want, got)
    assert np.array_equal(want_table, got_table)


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy smoothed", "mse int target"])
def test_loss_targets_given_as_arrays_are_read_from_each_call(loss):
    """Probability targets of cross_entropy and integer targets of quadratic_cost of the output's shape: turned into the
    loss's weights with ops on the argument itself, so a replay recorded on two calls with the same targets uses a
    later call's own (it used to keep a constant computed from the recorded ones)."""
    rng = np.random.default_rng(3)
    targets = [np.eye(4)[rng.integers(0, 4, 6)] for _ in range(3)]
    if loss == "mse int target":
        targets = [t.astype(np.int64) for t in targets]
    calls = [targets[0], targets[0], targets[1], targets[2], targets[0]]
    models, losses = [], []
    for use_compile in (False, True):
        model = MLP([12, 8, 4], "relu", seed=1)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(xb, target):
            opt.zero_grad()
            out = model(Tensor(xb))
            if loss == "mse int target":
                value = F.quadratic_cost(out, target)
            else:
                value = F.cross_entropy(out, target, label_smoothing=0.1 if "smoothed" in loss else 0.0)
            value.backward()
            opt.step()
            return value

        run = compile(step) if use_compile else step
        losses.append([run(X[:6], t).data for t in calls])
        models.append(model)
        if use_compile:
            assert run.stats == {"recorded": 2, "replayed": 3, "eager": 0}
    for want, got in zip(*losses, strict=True):
        assert np.array_equal(want, got)
    assert_same_parameters(*models)


def test_a_step_that_clips_gradients_runs_eagerly():
    """clip_grad_norm_ scales .grad in numpy, which a recording cannot see: the step runs eagerly (a replay used to
    skip the clipping silently)."""
    models = []
    for use_compile in (False, True):
        model = MLP([12, 8, 4], "relu", seed=1)
        opt = optim.SGD(model.parameters(), lr=0.5)

        def step(xb, yb):
            opt.zero_grad()
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 0.05)
            opt.step()
            return loss

        run = step
        if use_compile:
            run = compile(step)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(0, 50, 10):
                run(X[i:i + 10], Y[i:i + 10])
        models.append(model)
    assert_same_parameters(*models)
    assert run.stats == {"recorded": 1, "replayed": 0, "eager": 4}
    assert any("clip_grad_norm_" in str(w.message) for w in caught)


def test_batchnorm_in_eval_mode_reads_its_running_statistics_on_every_replay():
    """An evaluation step compiled while the running statistics hold some values, replayed after training changed
    them: the replay uses the new ones, as eager mode does (it used to keep numpy copies of the recorded ones)."""
    from tinygrad_mlp import no_grad
    from tinygrad_mlp.nn import BatchNorm1d, Sequential

    model = Sequential(BatchNorm1d(12), MLP([12, 8, 4], "relu", seed=1))
    opt = optim.SGD(model.parameters(), lr=0.1)

    def train(start):
        model.train()
        for i in range(start, start + 30, 10):
            opt.zero_grad()
            F.cross_entropy(model(Tensor(X[i:i + 10] * 3 + 1)), Y[i:i + 10]).backward()
            opt.step()
        model.eval()

    def evaluate(xb):
        return model(Tensor(xb))

    compiled = compile(evaluate)
    for start in (0, 30, 60):
        train(start)
        with no_grad():
            for _ in range(3):
                assert np.array_equal(compiled(X[:5]).data, evaluate(X[:5]).data)
    assert compiled.stats == {"recorded": 2, "replayed": 7, "eager": 0}


def test_dropout_runs_eagerly_even_when_the_two_recordings_draw_the_same_mask():
    """A new random mask every call: with few elements the two recordings can draw the same one, and a replay
    would then keep it for ever (dropout no longer random). Dropout makes the step run eagerly."""
    from tinygrad_mlp.nn import Dropout

    def same_first_masks(seed):
        rng = np.random.default_rng(seed)
        return np.array_equal(rng.random(3) >= 0.5, rng.random(3) >= 0.5)

    seed = next(s for s in range(1000) if same_first_masks(s))
    outs = []
    for use_compile in (False, True):
        drop = Dropout(0.5, seed=seed)
        w = Tensor(np.ones(3), requires_grad=True)

        def f(x):
            return drop(Tensor(x) * w).sum()

        run = compile(f) if use_compile else f
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append([run(np.array([1.0, 2.0, 4.0])).data for _ in range(12)])
    assert [float(v) for v in outs[0]] == [float(v) for v in outs[1]]
    assert run.stats == {"recorded": 1, "replayed": 0, "eager": 11}
    assert "random mask" in run.reasons[0]


def test_a_setting_holding_an_argument_array_is_not_replayed():
    """tm.where(mask_arg, ...) and t[idx_arg] keep the argument's array as a rule setting, which a replay would reuse
    on later calls (silently, when the first two calls pass equal arrays): such steps run eagerly."""
    import tinygrad_mlp as tm

    w = Tensor(np.ones(3), requires_grad=True)
    x = np.array([1.0, 2.0, 4.0])
    steps = {"where": (lambda a, m: tm.where(m, Tensor(a) * w, 0.0).sum(), [np.array([True, False, False])] * 2
                       + [np.array([True, True, True])]),
             "index": (lambda a, i: (Tensor(a) * w)[i[:2]].sum(), [np.array([0, 0, 1])] * 2 + [np.array([2, 2, 1])])}
    for name, (f, seconds) in steps.items():
        run = compile(f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for s in seconds:
                assert np.array_equal(run(x, s).data, f(x, s).data), name
        assert run.stats["replayed"] == 0 and "setting" in run.reasons[0], name


def test_settings_of_a_rule_without_slots_are_compared():
    """A user's rule written without __slots__ keeps its settings in __dict__: two recordings with different ones
    are not replayed (their settings used to go unchecked)."""
    from tinygrad_mlp.primitives import Function

    class Scale(Function):
        def __init__(self, factor):
            self.factor = factor

        def forward(self, v):
            return v * self.factor

        def backward(self, g, out, v):
            return (g * self.factor,)

    w = Tensor(np.ones(2), requires_grad=True)

    def f(a):
        return Tensor.apply(Scale(float(a[0] > 0)), Tensor(a) * w).sum()  # a setting made from the data

    run = compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a in ([1.0, 2.0], [-1.0, 2.0], [1.0, 2.0]):
            assert np.array_equal(run(np.array(a)).data, f(np.array(a)).data)
    assert run.stats["replayed"] == 0 and "different settings" in run.reasons[0]


def test_a_view_of_an_argument_used_as_a_constant_is_not_replayed():
    """gather(1, labels[:, None]): the view is a constant of the recording (not the argument), which a replay would
    reuse when the first two calls pass equal labels; such steps run eagerly."""
    w = Tensor(np.ones((3, 4)), requires_grad=True)
    x = np.arange(12.0).reshape(3, 4)

    def f(a, labels):
        return (Tensor(a) * w).gather(1, labels[:, None]).sum()

    run = compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for labels in ([0, 1, 2], [0, 1, 2], [3, 3, 3]):
            assert np.array_equal(run(x, np.array(labels)).data, f(x, np.array(labels)).data)
    assert run.stats["replayed"] == 0 and "view of an argument" in run.reasons[0]
