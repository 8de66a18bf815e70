"""The numpy replay with the common rules' and SGD's bodies written out (tinygrad_mlp.inline): still eager, bit for bit.

A compiled step writes Linear, the activations, the losses' rules and SGD as numpy calls into arrays planned
once (``out=``), leaves out a loss value nobody reads, writes an activation over the array it came from, and
reuses last step's ``.grad`` arrays when nothing else holds them. Each of those is a way to be silently wrong:
these tests compare with eager mode exactly (``array_equal``) where they apply, and check the arrays a caller
holds (a returned loss, a kept ``.grad``) are never written over.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import Tensor, optim
from tinygrad_mlp.jit import compile
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F

RNG = np.random.default_rng(7)
X = RNG.standard_normal((120, 12)).astype(np.float32)  # (the models' dtype: a float64 batch takes other paths)
Y = RNG.integers(0, 4, 120)

OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.5),
    "momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "momentum-dampening-wd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=1e-2),
    "nesterov-wd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
}


def _pair(act: str, out_act: str | None, loss: str, opt_name: str, dtype, returns: bool):
    """Two identical (model, optimizer, step) triples: one to run eagerly, one to compile."""
    made = []
    for _ in range(2):
        model = MLP([12, 9, 7, 4], act, out_act, seed=2, dtype=dtype)
        opt = OPTIMIZERS[opt_name](model.parameters())
        loss_fn = F.loss(loss)

        def step(xb, yb, model=model, opt=opt, loss_fn=loss_fn):
            opt.zero_grad()
            value = loss_fn(model(Tensor(xb)), yb)
            value.backward()
            opt.step()
            return value if returns else None

        made.append((model, opt, step))
    return made


def _twins(make):
    """Two identical ``(model, optimizer, step)``, each from ``make()`` (a new model and optimizer), stepping with
    the plain cross-entropy step that returns the loss: one to run eagerly, one to compile."""
    made = []
    for _ in range(2):
        model, opt = make()

        def step(xb, yb, model=model, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            loss.backward()
            opt.step()
            return loss

        made.append((model, opt, step))
    return made


def _assert_same(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert p.data.dtype == q.data.dtype and np.array_equal(p.data, q.data), f"{name} differs"
        assert np.array_equal(p.grad.data, q.grad.data), f"the gradient of {name} differs"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("act, out_act, loss", [("sigmoid", "sigmoid", "mse"), ("relu", None, "cross_entropy"),
                                                ("tanh", None, "mse"), ("sigmoid", None, "cross_entropy")])
@pytest.mark.parametrize("returns", [True, False])
def test_the_written_out_replay_is_bit_identical_to_eager(act, out_act, loss, opt_name, dtype, returns):
    (eager_model, eager_opt, eager_step), (model, opt, step) = _pair(act, out_act, loss, opt_name, dtype, returns)
    compiled = compile(step)
    losses = []
    for epoch in range(3):
        for i in range(0, len(X), 10):
            xb = X[i:i + 10].astype(dtype)
            want, got = eager_step(xb, Y[i:i + 10]), compiled(xb, Y[i:i + 10])
            if returns:
                assert np.array_equal(want.data, got.data), f"the loss differs at epoch {epoch}, batch {i}"
                losses.append((got, got.data.copy()))
    assert compiled.stats["replayed"] == 36 - 2 and compiled.stats["eager"] == 0
    _assert_same(eager_model, model)
    assert eager_opt.steps == opt.steps
    # a returned loss is the caller's: later calls do not write over it
    assert all(np.array_equal(t.data, kept) for t, kept in losses)


def _compiled_step(act="sigmoid", out_act="sigmoid", loss="mse", opt_name="sgd", returns=False):
    (_, _, _), (model, opt, step) = _pair(act, out_act, loss, opt_name, np.float32, returns)
    compiled = compile(step)
    for _ in range(3):
        compiled(X[:10], Y[:10])
    return model, opt, compiled


def test_the_common_rules_and_sgd_are_written_out_and_an_unread_loss_is_left_out():
    _, _, compiled = _compiled_step()
    src = compiled.source()
    for called in ("Linear_forward", "Sigmoid_forward", "Linear_backward", "Sigmoid_backward",
                   "SquaredError_backward", "SquaredError_forward"):
        assert called not in src, f"{called} is called, not written out"
    assert "steps += 1" in src  # SGD's update written out (its own step() only when a hyperparameter was set)
    _, _, compiled = _compiled_step(act="relu", out_act=None, loss="cross_entropy", returns=True)
    src = compiled.source()
    assert "WeightedLogSum_forward" in src  # the loss is returned: computed
    assert "LogSoftmax_backward" not in src and "Relu_backward" not in src and "_held" in src


def test_a_gradient_the_caller_keeps_is_never_written_over():
    # kept from the last recording (eager mode's own .grad), then written over by the first replay?
    (_, _, _), (model, _, step) = _pair("sigmoid", "sigmoid", "mse", "sgd", np.float32, False)
    compiled = compile(step)
    compiled(X[:10], Y[:10])
    compiled(X[10:20], Y[10:20])
    recorded = model.parameters()[0].grad
    recorded_values = recorded.data.copy()
    compiled(X[20:30], Y[20:30])
    assert compiled.stats["replayed"] == 1 and np.array_equal(recorded.data, recorded_values)
    model, _, compiled = _compiled_step()
    w = model.parameters()[0]
    kept, kept_array = w.grad, w.grad.data.copy()
    compiled(X[10:20], Y[10:20])
    assert w.grad is not kept and np.array_equal(kept.data, kept_array)
    array = w.grad.data  # the array alone, without its Tensor
    array_values = array.copy()
    compiled(X[20:30], Y[20:30])
    assert w.grad.data is not array and np.array_equal(array, array_values)
    # nobody holds it: the next step writes the new gradient into the same Tensor (as eager mode's new one)
    held = id(w.grad)
    compiled(X[30:40], Y[30:40])
    assert id(w.grad) == held


def test_a_learning_rate_schedule_and_replaced_state_give_the_eager_answer():
    (eager_model, eager_opt, eager_step), (model, opt, step) = _pair("relu", None, "cross_entropy", "momentum",
                                                                     np.float32, True)
    compiled = compile(step)
    for k, i in enumerate(range(0, len(X), 10)):
        if k == 5:  # a schedule sets lr (the group is checked again, then written-out steps resume)
            eager_opt.param_groups[0]["lr"] = opt.param_groups[0]["lr"] = 0.03
        if k == 8:  # a checkpoint's velocity arrays replace the optimizer's own
            state = eager_opt.state_dict()
            eager_opt.load_state_dict(state)
            opt.load_state_dict(state)
        want, got = eager_step(X[i:i + 10], Y[i:i + 10]), compiled(X[i:i + 10], Y[i:i + 10])
        assert np.array_equal(want.data, got.data), f"the loss differs at batch {k}"
    _assert_same(eager_model, model)
    assert compiled.stats["eager"] == 0 and "Linear_forward" not in compiled.source()


def test_hyperparameters_set_mid_run_are_checked_and_used_as_eager():
    (eager_model, eager_opt, eager_step), (model, opt, step) = _pair("sigmoid", "sigmoid", "mse", "sgd", np.float32,
                                                                     True)
    compiled = compile(step)
    for k, i in enumerate(range(0, len(X), 10)):
        if k == 4:  # momentum switched on: written-out lines for plain SGD no longer apply
            eager_opt.param_groups[0]["momentum"] = opt.param_groups[0]["momentum"] = 0.9
        want, got = eager_step(X[i:i + 10], Y[i:i + 10]), compiled(X[i:i + 10], Y[i:i + 10])
        assert np.array_equal(want.data, got.data), f"the loss differs at batch {k}"
    _assert_same(eager_model, model)
    opt.param_groups[0]["lr"] = -1.0  # refused by the optimizer's check, as eagerly
    with pytest.raises(Exception, match="learning rate"):
        compiled(X[:10], Y[:10])


def test_exact_zeros_into_relu_give_the_eager_mask():
    # relu's backward takes its mask from relu(x) instead of x: the same at x == 0 (and -0.0)
    def make():
        model = MLP([3, 4, 2], "relu", None, seed=0)
        model.layers[0].weight.data[:] = 0.0
        model.layers[0].bias.data[:] = np.array([0.0, -0.0, 1.0, -1.0], np.float32)
        return model, optim.SGD(model.parameters(), lr=0.1)

    (eager_model, _, eager_step), (model, _, step) = _twins(make)
    compiled = compile(step)
    xb = np.ones((5, 3), np.float32)
    for _ in range(4):
        eager_step(xb, Y[:5] % 2)
        compiled(xb, Y[:5] % 2)
    _assert_same(eager_model, model)


def test_bad_labels_raise_as_eager_and_leave_the_gradients_as_eager_does():
    model, _, compiled = _compiled_step()
    with pytest.raises(IndexError, match="labels must lie in"):
        compiled(X[:10], np.array([0, 1, 2, 3, 4, 0, 1, 2, 3, -1]))
    assert all(p.grad is None for p in model.parameters())  # zero_grad() ran before the labels were read
    compiled(X[:10], Y[:10])
    assert compiled.stats["replayed"] == 2


def test_a_rule_without_written_out_body_mixes_with_written_out_ones():
    made = []
    for _ in range(2):
        model = MLP([12, 6, 4], "sigmoid", None, seed=4)
        opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.5)

        def step(xb, yb, model=model, opt=opt):
            opt.zero_grad()
            h = model.layers[0](Tensor(xb)).sigmoid()
            out = model.layers[1](h * h.exp() - 0.5)  # Mul, Exp, Sub: called, between written-out rules
            loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            return loss

        made.append((model, step))
    (eager_model, eager_step), (model, step) = made
    compiled = compile(step)
    for i in range(0, len(X), 10):
        xb = X[i:i + 10]
        assert np.array_equal(eager_step(xb, Y[i:i + 10]).data, compiled(xb, Y[i:i + 10]).data)
    assert "Mul_backward" in compiled.source() and "Linear_backward" not in compiled.source()
    _assert_same(eager_model, model)


def test_a_returned_value_from_a_planned_array_is_a_copy_of_its_own():
    made = []
    for _ in range(2):
        model = MLP([12, 6, 4], "tanh", None, seed=5)
        opt = optim.SGD(model.parameters(), lr=0.2)

        def step(xb, yb, model=model, opt=opt):
            opt.zero_grad()
            logits = model(Tensor(xb))
            hidden = model.layers[0](Tensor(xb)).tanh()
            F.cross_entropy(logits, yb).backward()
            opt.step()
            return logits, hidden

        made.append(step)
    eager_step, step = made
    compiled = compile(step)
    kept = []
    for i in range(0, 60, 10):
        want, got = eager_step(X[i:i + 10], Y[i:i + 10]), compiled(X[i:i + 10], Y[i:i + 10])
        assert all(np.array_equal(w.data, g.data) for w, g in zip(want, got, strict=True))
        kept.append((got, [g.data.copy() for g in got]))
    assert compiled.stats["replayed"] == 4 and "Linear_forward" not in compiled.source()
    assert all(np.array_equal(g.data, c) for got, copies in kept for g, c in zip(got, copies, strict=True))


def test_threads_sharing_one_compiled_function_never_mix_their_planned_arrays():
    import sys
    import threading

    model = MLP([12, 16, 4], "sigmoid", None, seed=6)
    compiled = compile(lambda xb: model(Tensor(xb)).softmax(axis=1))
    batches = [RNG.standard_normal((10, 12)).astype(np.float32) for _ in range(40)]
    wanted = [model(Tensor(b)).softmax(axis=1).data for b in batches]
    for b in batches[:3]:
        compiled(b)
    assert "Sigmoid.forward" in compiled.source()
    wrong: list[int] = []

    def work(offset: int) -> None:
        for k in range(400):
            i = (k * 7 + offset) % len(batches)
            if not np.array_equal(compiled(batches[i]).data, wanted[i]):
                wrong.append(i)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: between any two numpy calls
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        sys.setswitchinterval(interval)
    assert not wrong, f"{len(wrong)} of 1,200 calls returned another call's values"


def test_a_parameter_without_velocity_yet_keeps_momentum_sgd_as_eager():
    made = []
    for _ in range(2):
        model = MLP([12, 6, 4], "relu", None, seed=8)
        extra = Tensor(np.ones(3, np.float32), requires_grad=True)  # no gradient from the loss: no velocity yet
        opt = optim.SGD([*model.parameters(), extra], lr=0.1, momentum=0.9)

        def step(xb, yb, model=model, opt=opt):  # zero_grad() outside: .grad is whatever the caller left
            loss = F.cross_entropy(model(Tensor(xb)), yb)
            loss.backward()
            opt.step()
            return loss

        made.append((model, opt, extra, step))
    (eager_model, eager_opt, eager_extra, eager_step), (model, opt, extra, step) = made
    compiled = compile(step)
    for k, i in enumerate(range(0, 80, 10)):
        eager_opt.zero_grad()
        opt.zero_grad()
        if k >= 5:  # a gradient set by hand: its velocity is made now, in eager mode and in the replay alike
            eager_extra.grad, extra.grad = Tensor(np.full(3, 0.5, np.float32)), Tensor(np.full(3, 0.5, np.float32))
        assert np.array_equal(eager_step(X[i:i + 10], Y[i:i + 10]).data, compiled(X[i:i + 10], Y[i:i + 10]).data)
    assert compiled.stats["replayed"] == 6
    _assert_same(eager_model, model)
    assert np.array_equal(eager_extra.data, extra.data)


def test_any_memory_layout_of_parameters_and_batches_replays_as_eager():
    # the planned arrays are C-ordered; the parameters and the batch may be anything numpy allows: a Fortran-
    # ordered weight (BLAS takes another kernel), a batch that is a strided view of a wider array
    def make():
        model = MLP([12, 9, 4], "sigmoid", None, seed=9)
        for layer in model.layers:
            layer.weight.data = np.asfortranarray(layer.weight.data)
        return model, optim.SGD(model.parameters(), lr=0.3, momentum=0.5)

    (eager_model, _, eager_step), (model, _, step) = _twins(make)
    compiled = compile(step)
    wide = np.repeat(X, 2, axis=1)  # every other column of it is X, as a strided view
    for i in range(0, len(X), 10):
        xb = wide[i:i + 10, ::2]
        assert not xb.flags.c_contiguous
        assert np.array_equal(eager_step(xb, Y[i:i + 10]).data, compiled(xb, Y[i:i + 10]).data)
    assert compiled.stats["replayed"] == 10 and "Linear_forward" not in compiled.source()
    _assert_same(eager_model, model)
    assert model.layers[0].weight.data.flags.f_contiguous  # the replay left the user's layout as it was


@pytest.mark.parametrize("opt_name", ["sgd", "nesterov-wd"])
def test_a_large_parameter_is_updated_a_block_of_rows_at_a_time_as_eager(opt_name):
    from tinygrad_mlp import inline

    def make():
        model = MLP([300, 250, 4], "relu", None, seed=3)  # 75,000 weights in the first layer: three blocks
        return model, OPTIMIZERS[opt_name](model.parameters())

    (eager_model, _, eager_step), (model, _, step) = _twins(make)
    compiled = compile(step)
    x = np.random.default_rng(3).standard_normal((40, 300)).astype(np.float32)
    for i in range(0, 40, 8):
        assert np.array_equal(eager_step(x[i:i + 8], Y[i:i + 8]).data, compiled(x[i:i + 8], Y[i:i + 8]).data)
    assert model.layers[0].weight.data.size > 2 * inline.UPDATE_BLOCK
    assert compiled.source().count("_sub(R") >= 3  # the first layer's rows, block by block
    _assert_same(eager_model, model)


def test_two_shapes_in_turn_keep_their_signature_tests():
    # the fast path's test of the arguments is made once per signature, not again at each switch of shape
    _, _, compiled = _compiled_step()
    for _ in range(4):  # batches of 7 recorded (twice), then both shapes replay in turn
        compiled(X[:7], Y[:7])
        compiled(X[:10], Y[:10])
    tests = {sig: entry.test for sig, entry in compiled._entries.items()}
    assert len(tests) == 2 and all(t is not None for t in tests.values())
    for _ in range(3):
        compiled(X[:7], Y[:7])
        compiled(X[:10], Y[:10])
    assert all(entry.test is tests[sig] for sig, entry in compiled._entries.items())
    assert compiled.stats["eager"] == 0 and compiled.stats["replayed"] == 1 + 2 + 4 + 6
