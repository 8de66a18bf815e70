"""A property of tm.compile: for any small training run, compiled equals eager bit for bit, or the compiled step
said (a warning) that it runs eagerly. Never a different answer in silence.

Each example draws a small MLP (widths, activation, dtype), a loss, an optimizer, a sequence of batch sizes and
one trap from the ways a step can depend on something a replay could keep stale (labels as floats, an array
computed with numpy, pseudo-labels from argmax, a mask from .data, a seed or a counter passed in, a parameter or
optimizer replaced, a hyperparameter or a global changed mid-run, train/eval switched). The first two calls
always see the same batch: the two recordings then agree on every value the data decides, which is where a
compiler that takes equal values for constants goes wrong.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor, optim
from tinygrad_mlp.jit import compile
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F

TRAPS = ["none", "float_labels", "numpy_input", "argmax_labels", "where_mask", "seed_argument", "replace_weight",
         "replace_optimizer", "momentum_on", "lr_by_hand", "counter_argument", "global_scale", "eval_switch",
         "tensor_labels"]
OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.01),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
}


def _run(case, compiled: bool):
    """The losses and final parameters of one run of ``case`` (and the warnings the compiled step gave)."""
    widths, act, dtype, loss_name, opt_name, sizes, trap, seed = case
    rng = np.random.default_rng(seed)
    classes = widths[-1]
    model = MLP(list(widths), act, None, seed=seed, dtype=dtype)
    env = {"opt": OPTIMIZERS[opt_name](model.parameters()), "scale": 1.0}
    loss_fn = F.cross_entropy if loss_name == "cross_entropy" else F.quadratic_cost
    if trap == "eval_switch":
        model.eval()

    def step(x, y, extra):
        opt = env["opt"]
        opt.zero_grad()
        if trap == "numpy_input":
            x = x / 2 + 0.25  # an array computed from the data: rebuilt on every call
        out = model(Tensor(x))
        if trap == "where_mask":
            out = tm.where(out.data > 0, out, out * 0.5)
        if trap == "argmax_labels":
            y = out.data.argmax(1)
        loss = loss_fn(out, y)
        if trap == "global_scale":
            loss = loss * env["scale"]
        if trap == "counter_argument":
            loss = loss * (1 + extra % 5)
        if trap == "seed_argument":
            loss.backward(gradient=extra)
        else:
            loss.backward()
        opt.step()
        return loss

    f = compile(step) if compiled else step
    batches = []
    for k, n in enumerate(sizes):
        if k == 1:
            batches.append(batches[0])  # the first two calls see the same batch
            continue
        x = rng.standard_normal((n, widths[0])).astype(dtype)
        y = rng.integers(0, classes, n)
        batches.append((x, y))
    losses, caught = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k, (x, y) in enumerate(batches):
            if k == 2:  # after the two recordings of the first signature
                if trap == "replace_weight":
                    layer = model.layers[0]
                    layer.weight = Tensor(np.full(layer.weight.shape, 0.01, dtype=dtype), requires_grad=True)
                    env["opt"] = OPTIMIZERS[opt_name](model.parameters())
                elif trap == "replace_optimizer":
                    env["opt"] = OPTIMIZERS["adam" if opt_name != "adam" else "sgd"](model.parameters())
                elif trap == "momentum_on" and "momentum" in env["opt"].param_groups[0]:
                    env["opt"].param_groups[0]["momentum"] = 0.5
                elif trap == "lr_by_hand":
                    env["opt"].lr = env["opt"].lr * 3
                elif trap == "eval_switch":
                    model.train()
            if trap == "global_scale":
                env["scale"] = 1.0 + (k % 3)
            labels = y
            if trap == "float_labels" and loss_name == "cross_entropy":
                labels = y.astype(dtype)
            elif trap == "tensor_labels" and loss_name == "cross_entropy":
                labels = Tensor(y.astype(dtype))
            extra = k if trap == "counter_argument" else 0
            if trap == "seed_argument":
                extra = np.array(1.0 + (k % 2) if k > 1 else 1.0, dtype=dtype)
            losses.append(np.array(f(x, labels, extra).data))
    params = [np.array(p.data) for p in model.parameters()]
    said = [str(w.message) for w in caught if str(w.message).startswith("compile(")]
    return losses, params, said


cases = st.tuples(
    st.lists(st.integers(2, 5), min_size=2, max_size=3).map(lambda w: [4, *w]),  # widths: 4 inputs, 2-5 classes
    st.sampled_from(["relu", "sigmoid", "tanh"]),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["cross_entropy", "mse"]),
    st.sampled_from(sorted(OPTIMIZERS)),
    st.lists(st.sampled_from([2, 3, 5]), min_size=4, max_size=7),  # batch sizes, call by call
    st.sampled_from(TRAPS),
    st.integers(0, 2**16),
)


@settings(max_examples=200, deadline=None)
@given(cases)
def test_compiled_equals_eager_bit_for_bit_or_says_it_runs_eagerly(case):
    want_losses, want_params, _ = _run(case, compiled=False)
    got_losses, got_params, said = _run(case, compiled=True)
    same = all(np.array_equal(a, b) for a, b in zip(want_losses, got_losses, strict=True)) and all(
        np.array_equal(a, b) for a, b in zip(want_params, got_params, strict=True))
    assert same or said, f"compiled differs from eager in silence (trap {case[6]})"
    if case[6] in ("none", "float_labels", "tensor_labels", "seed_argument", "lr_by_hand", "momentum_on"):
        assert same, f"trap {case[6]}: these are replayed (or recorded again) with the eager answer: {said}"
