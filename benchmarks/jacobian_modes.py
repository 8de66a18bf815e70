"""Time Jacobians by reverse mode (row by row) and by forward mode (column by column).

    python benchmarks/jacobian_modes.py                      # input sizes 2 8 16 784, 10 outputs, 1 thread
    python benchmarks/jacobian_modes.py --sizes 2 64 --reps 7 --json out.json

Two experiments, on ``MLP([n, 16, 16, 10])`` (sigmoid everywhere, float32 like the library's default):

1. the Jacobian of the 10 outputs with respect to one input of ``n`` values (shape ``(1, 10, 1, n)``),
   with the parameters frozen. Reverse mode: one forward pass, then one backward pass per output
   (10). Forward mode: one dual-number forward pass per input value (``n``).
2. the gradient of the scalar MSE loss of a batch of 32 with respect to all parameters of
   ``MLP([784, 16, 16, 10])`` (13,002 numbers). Reverse mode: one backward pass. Forward mode: one
   pass per parameter (13,002), i.e. the "Jacobian" of a 1-output function column by column.

Reported: the median wall time over ``--reps`` repetitions (experiment 2's forward mode runs once:
it takes seconds), the number of passes, and the largest difference between the two results.
"""

from __future__ import annotations

import argparse
import platform
import time

from _machine import cpu_name, set_threads


def _parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=int, default=[2, 8, 16, 784], help="input sizes n of experiment 1")
    p.add_argument("--outputs", type=int, default=10, help="output size of experiment 1")
    p.add_argument("--reps", type=int, default=5, help="repetitions (median is reported)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads")
    p.add_argument("--skip-params", action="store_true", help="skip experiment 2 (forward mode takes seconds)")
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    return p.parse_args(argv)


ARGS = _parse_args()
set_threads(ARGS.threads)  # before numpy is imported

import json  # noqa: E402

import numpy as np  # noqa: E402

from tinygrad_mlp import Tensor  # noqa: E402
from tinygrad_mlp.autograd import grad, jacfwd, jacrev  # noqa: E402
from tinygrad_mlp.nn import MLP  # noqa: E402
from tinygrad_mlp.nn import functional as F  # noqa: E402


def median_time(fn, reps: int) -> tuple[float, object]:
    result = fn()  # warm-up, and the value to compare
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def input_jacobians(sizes, n_out: int, reps: int) -> list[dict]:
    rows = []
    for n in sizes:
        model = MLP([n, 16, 16, n_out], seed=0)
        for p in model.parameters():
            p.requires_grad = False  # d out / d x only: no weight gradients in the backward passes
        x = Tensor(np.random.default_rng(1).standard_normal((1, n)).astype(np.float32))
        t_rev, j_rev = median_time(lambda: jacrev(model)(x), reps)
        t_fwd, j_fwd = median_time(lambda: jacfwd(model)(x), reps)
        assert j_rev.shape == j_fwd.shape == (1, n_out, 1, n)
        rows.append({"n_in": n, "n_out": n_out, "reverse_s": t_rev, "forward_s": t_fwd,
                     "reverse_passes": f"1 fwd + {n_out} bwd", "forward_passes": f"{n} fwd (dual)",
                     "max_abs_diff": float(np.max(np.abs(j_rev.data - j_fwd.data)))})
    return rows


def parameter_gradient(reps: int) -> dict:
    model = MLP([784, 16, 16, 10], seed=0)
    params = model.parameters()
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((32, 784)).astype(np.float32))
    y = rng.integers(0, 10, 32)

    def loss(*ps):
        saved = [(layer.weight, layer.bias) for layer in model.layers]
        try:
            for layer, w, b in zip(model.layers, ps[0::2], ps[1::2]):
                layer.weight, layer.bias = w, b
            return F.quadratic_cost(model(x), y)
        finally:
            for layer, (w, b) in zip(model.layers, saved):
                layer.weight, layer.bias = w, b

    frozen = [Tensor(p.data) for p in params]  # plain values: the transforms make their own variables
    nums = tuple(range(len(frozen)))
    t_rev, g_rev = median_time(lambda: grad(loss, argnums=nums)(*frozen), reps)
    start = time.perf_counter()
    g_fwd = jacfwd(loss, argnums=nums)(*frozen)
    t_fwd = time.perf_counter() - start
    diff = max(float(np.max(np.abs(a.data - b.data))) for a, b in zip(g_rev, g_fwd))
    n = sum(p.numel() for p in params)
    return {"n_in": n, "n_out": 1, "reverse_s": t_rev, "forward_s": t_fwd,
            "reverse_passes": "1 fwd + 1 bwd", "forward_passes": f"{n:,} fwd (dual)", "max_abs_diff": diff}


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    print(f"# {cpu_name()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}, {ARGS.threads} BLAS thread(s), median of {ARGS.reps}")
    rows = input_jacobians(ARGS.sizes, ARGS.outputs, ARGS.reps)
    if not ARGS.skip_params:
        rows.append(parameter_gradient(ARGS.reps))
    print("| what | inputs | outputs | reverse mode | forward mode | forward / reverse | max diff |")
    print("|---|---:|---:|---|---|---:|---:|")
    for r in rows:
        what = "d loss / d params (batch 32)" if r["n_out"] == 1 else "d out / d x (one input)"
        print(f"| {what} | {r['n_in']:,} | {r['n_out']} | {fmt(r['reverse_s'])} ({r['reverse_passes']}) | "
              f"{fmt(r['forward_s'])} ({r['forward_passes']}) | {r['forward_s'] / r['reverse_s']:.2f} | "
              f"{r['max_abs_diff']:.1e} |")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump({"threads": ARGS.threads, "reps": ARGS.reps, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
