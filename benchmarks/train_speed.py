"""Time one training epoch: tinygrad_mlp (eager and compiled) vs hand-written numpy vs PyTorch eager vs JAX jit.

    python benchmarks/train_speed.py                 # all configs, 3 repetitions, 1 thread
    python benchmarks/train_speed.py --json out.json --reps 5 --configs 3b1b relu-ce
    python benchmarks/train_speed.py --callgrind     # also instructions per step (valgrind; minutes)

The implementations run alternately in this one process, on the same float32
data (real MNIST when it can be found, else random data of the same shape:
content does not change the time), from the same initial weights, in the same
batch order, with the same thread count. "tinygrad_mlp" is the step as a user
writes it (nn + optim + backward()), run eagerly; "compiled" is that same
function under ``tinygrad_mlp.compile`` (recorded on its first calls, replayed
after). The ratio baseline "numpy" is a minimal vectorised numpy step written
for speed (no checks, rows are examples); "backprop-module" is the library's
readable hand-derived reference ``tinygrad_mlp.backprop.train_step``, which
validates its inputs every call; "gemms" is not a step but the lean step's
matrix products alone, the part of any numpy step that BLAS does. "torch" (PyTorch eager) and "jax" (the whole
step under ``jax.jit``, parameters donated, XLA asked for one thread) run when
installed. Reported per configuration and implementation: the median epoch time
over the repetitions, samples/s, microseconds per step, the ratio to the numpy
reference, the median CPU seconds of the process (all its threads) and their
ratio (on a machine shared with other work the scheduler does not give every
process the same share of a core: a step that waits on a worker thread, as
JAX's asynchronous dispatch does, gets more wall-clock share than one that
computes without pause, so CPU time is the fairer comparison there), the first
call's milliseconds (JAX compiles then, and the compiled
step records), the peak memory traced by ``tracemalloc`` during a shorter run
(numpy allocations are traced; PyTorch's and XLA's are not: n/a), and with
``--callgrind`` the instructions per steady-state step counted by valgrind,
a figure that does not move with the machine's load. The floor is the epoch's
floating-point work divided by this machine's measured float32 GEMM rate.
"""

from __future__ import annotations

import argparse
import os
import sys

from _machine import cpu_name, set_threads


def _parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=["3b1b", "relu-ce", "wide"], choices=["3b1b", "relu-ce", "wide"])
    p.add_argument("--impls", nargs="+",
                   default=["tinygrad_mlp", "compiled", "native", "numpy", "gemms", "backprop-module", "torch", "jax"],
                   choices=["tinygrad_mlp", "compiled", "native", "numpy", "gemms", "backprop-module", "torch", "jax"],
                   help="tinygrad_mlp: eager; compiled: the same step under tinygrad_mlp.compile; "
                        "native: under tinygrad_mlp.compile(backend='native') (C, compiled at run time); "
                        "numpy: a minimal vectorised step written for speed (the ratio baseline); "
                        "gemms: not a step, the lean step's matrix products alone (what any numpy step pays); "
                        "backprop-module: tinygrad_mlp.backprop.train_step, the readable reference with its checks")
    p.add_argument("--reps", type=int, default=3, help="repetitions per implementation (median is reported)")
    p.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    p.add_argument("--samples", type=int, default=60000, help="samples per epoch")
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    p.add_argument("--callgrind", action="store_true",
                   help="also count instructions per step under valgrind's callgrind (slow: minutes)")
    p.add_argument("--count-instructions", nargs=3, metavar=("IMPL", "CONFIG", "STEPS"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = _parse_args()
set_threads(ARGS.threads)  # before numpy (and its BLAS) and jax are imported

import functools  # noqa: E402
import importlib.util  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from datetime import date  # noqa: E402

import numpy as np  # noqa: E402

from tinygrad_mlp import Tensor, backprop, optim  # noqa: E402
from tinygrad_mlp import compile as compile_step  # noqa: E402
from tinygrad_mlp.errors import DataError  # noqa: E402
from tinygrad_mlp.nn import MLP  # noqa: E402
from tinygrad_mlp.nn import functional as F  # noqa: E402

CONFIGS = {
    # name: (sizes, hidden activation, output activation, loss, batch, lr)
    "3b1b": ([784, 16, 16, 10], "sigmoid", "sigmoid", "mse", 10, 3.0),
    "relu-ce": ([784, 128, 64, 10], "relu", None, "cross_entropy", 128, 0.1),
    "wide": ([784, 512, 512, 10], "relu", None, "cross_entropy", 256, 0.1),
}


def load_data(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from tinygrad_mlp.data import load_mnist

        x, y, _, _ = load_mnist(download=False)
        source = "MNIST"
    except (ImportError, DataError):
        rng = np.random.default_rng(0)
        x, y, source = rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000), "random"
    reps = -(-n // len(x))
    return np.concatenate([x] * reps)[:n], np.concatenate([y] * reps)[:n].astype(np.int64), source


# ---------------------------------------------------------------------- the three implementations


def make_tinygrad(cfg, init_w, init_b):
    sizes, act, out_act, loss_name, _, lr = cfg
    model = MLP(sizes, act, out_act)
    model.load_state_dict({f"layers.{i}.{k}": v for i, (w, b) in enumerate(zip(init_w, init_b, strict=True))
                           for k, v in (("weight", w), ("bias", b))})
    opt = optim.SGD(model.parameters(), lr=lr)
    loss_fn = F.loss(loss_name)

    def step(xb, yb):  # exactly what a user writes
        opt.zero_grad()
        loss = loss_fn(model(Tensor(xb)), yb)
        loss.backward()
        opt.step()

    return step


def make_compiled(cfg, init_w, init_b):
    """The same user code, captured by ``tinygrad_mlp.compile`` on its first calls and replayed after."""
    return compile_step(make_tinygrad(cfg, init_w, init_b))


def make_native(cfg, init_w, init_b):
    """The same user code under ``tinygrad_mlp.compile(..., backend="native")``: one C function per step."""
    return compile_step(make_tinygrad(cfg, init_w, init_b), backend="native")


def make_numpy(cfg, init_w, init_b):
    _, act, out_act, loss_name, _, lr = cfg
    weights, biases = [w.copy() for w in init_w], [b.copy() for b in init_b]

    def step(xb, yb):
        backprop.train_step(weights, biases, xb, yb, lr, act, out_act, loss_name)

    return step


def make_torch(cfg, init_w, init_b):
    import torch

    torch.set_num_threads(ARGS.threads)
    sizes, act, out_act, loss_name, _, lr = cfg
    acts = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
    layers = []
    for i, (w, b) in enumerate(zip(init_w, init_b, strict=True)):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        name = act if i < len(init_w) - 1 else out_act
        if name:
            layers.append(acts[name]())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    eye = torch.eye(sizes[-1])

    def step(xb, yb):
        opt.zero_grad()
        out = model(torch.from_numpy(xb))
        labels = torch.from_numpy(yb)
        if loss_name == "mse":  # the notes' cost: sum over outputs, mean over examples
            loss = ((out - eye[labels]) ** 2).sum() / out.shape[0]
        else:
            loss = torch.nn.functional.cross_entropy(out, labels)
        loss.backward()
        opt.step()

    return step


def make_jax(cfg, init_w, init_b):
    """The same step as a pure function, ``jax.jit``-compiled once per batch shape (parameters donated)."""
    import jax
    import jax.numpy as jnp

    sizes, act, out_act, loss_name, _, lr = cfg
    acts = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "tanh": jnp.tanh, None: lambda z: z}
    n_layers = len(init_w)

    def loss_of(params, xb, yb):
        a = xb
        for i, (w, b) in enumerate(params):
            a = acts[act if i < n_layers - 1 else out_act](a @ w.T + b)
        if loss_name == "mse":  # the notes' cost: sum over outputs, mean over examples
            return jnp.sum((a - jax.nn.one_hot(yb, sizes[-1], dtype=a.dtype)) ** 2) / a.shape[0]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(a, axis=1), yb[:, None], axis=1))

    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(params, xb, yb):
        loss, grads = jax.value_and_grad(loss_of)(params, xb, yb)
        return [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)], loss

    state = {"params": [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(init_w, init_b, strict=True)]}

    def step(xb, yb):
        state["params"], _ = train_step(state["params"], xb, yb)

    def block():  # jax dispatches asynchronously: wait for the last step before the clock stops
        jax.block_until_ready(state["params"])

    step.block = block
    return step


def make_numpy_lean(cfg, init_w, init_b):
    """The leanest numpy step we know how to write: rows are examples, no checks, every array preallocated.

    The notes' math (docs/notes-errata.md): ``z = a W^T + b`` per layer; the quadratic cost
    ``sum((a - y)^2) / n`` gives ``delta = 2 (a - y) / n * sigma'(z)`` (``sigma' = a (1 - a)``), the
    cross-entropy of softmax ``delta = (softmax(z) - y) / n``; then ``dW = delta^T a_prev``,
    ``db = sum of delta's rows``, ``delta_prev = delta W * sigma'(z_prev)``, and SGD ``W -= lr dW``. Every ufunc
    and product writes into a buffer made once per batch size (``out=``), updates are in place, and nothing
    is computed that the step does not use (no loss value: the other implementations compute theirs).
    """
    sizes, act, out_act, loss_name, _, lr = cfg
    weights, biases = [w.copy() for w in init_w], [b.copy() for b in init_b]
    n_layers, dtype = len(weights), weights[0].dtype
    eye = np.eye(sizes[-1], dtype=dtype)
    limit = dtype.type(np.log(np.finfo(dtype).max) - 1e-3)  # below ln(max): exp stays finite
    buffers: dict[int, dict] = {}

    def buffers_for(batch: int) -> dict:
        found = buffers.get(batch)
        if found is None:
            found = buffers[batch] = {
                "a": [np.empty((batch, n), dtype) for n in sizes[1:]],  # each layer's output, in place of z
                "delta": [np.empty((batch, n), dtype) for n in sizes[1:]],
                "tmp": [np.empty((batch, n), dtype) for n in sizes[1:]],
                "mask": [np.empty((batch, n), bool) for n in sizes[1:]],
                "gw": [np.empty_like(w) for w in weights], "gb": [np.empty_like(b) for b in biases],
                "onehot": np.empty((batch, sizes[-1]), dtype), "row": np.empty((batch, 1), dtype)}
        return found

    def activate(name, z):  # in place
        if name == "sigmoid":  # capped where exp(-z) would overflow, as the library's Sigmoid (no warnings)
            np.negative(z, out=z)
            np.minimum(z, limit, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)
        elif name == "relu":
            np.maximum(z, 0, out=z)

    def times_fprime(name, d, a, tmp, mask):  # d *= sigma'(z), from the activation a = sigma(z); in place
        if name == "sigmoid":
            np.subtract(1, a, out=tmp)
            tmp *= a
            d *= tmp
        elif name == "relu":
            np.greater(a, 0, out=mask)
            d *= mask

    def step(xb, yb):
        bufs = buffers_for(len(xb))
        acts, deltas = bufs["a"], bufs["delta"]
        prev = xb
        for i in range(n_layers):
            z = acts[i]
            np.matmul(prev, weights[i].T, out=z)
            z += biases[i]
            activate(act if i < n_layers - 1 else out_act, z)
            prev = z
        out, delta, onehot, batch = acts[-1], deltas[-1], bufs["onehot"], len(xb)
        np.take(eye, yb, axis=0, out=onehot)
        if loss_name == "mse":
            np.subtract(out, onehot, out=delta)
            delta *= 2 / batch
            times_fprime(out_act, delta, out, bufs["tmp"][-1], bufs["mask"][-1])
        else:  # softmax - one-hot, over the batch
            row = bufs["row"]
            np.maximum.reduce(out, axis=1, keepdims=True, out=row)
            np.subtract(out, row, out=delta)
            np.exp(delta, out=delta)
            np.add.reduce(delta, axis=1, keepdims=True, out=row)
            delta /= row
            delta -= onehot
            delta *= 1 / batch
        for i in range(n_layers - 1, -1, -1):
            delta, gw, gb = deltas[i], bufs["gw"][i], bufs["gb"][i]
            np.matmul(delta.T, acts[i - 1] if i else xb, out=gw)
            np.add.reduce(delta, axis=0, out=gb)
            if i:
                np.matmul(delta, weights[i], out=deltas[i - 1])
                times_fprime(act, deltas[i - 1], acts[i - 1], bufs["tmp"][i - 1], bufs["mask"][i - 1])
            gw *= lr
            weights[i] -= gw
            gb *= lr
            biases[i] -= gb

    return step


def make_gemms(cfg, init_w, init_b):
    """Not a training step: the lean step's matrix products alone, the same shapes through numpy's BLAS (the
    forward ``a W^T`` of each layer, each ``delta^T a_prev`` and each ``delta W`` but the first layer's). Every
    numpy-based step pays at least this; what an implementation takes beyond it is everything else."""
    sizes = cfg[0]
    weights = [w.copy() for w in init_w]
    buffers: dict[int, tuple] = {}

    def step(xb, yb):
        batch = len(xb)
        if batch not in buffers:  # the deltas hold small numbers (no denormals, no NaN to slow a product)
            buffers[batch] = ([np.empty((batch, n), xb.dtype) for n in sizes[1:]],
                              [np.full((batch, n), 0.01, xb.dtype) for n in sizes[1:]],
                              [np.empty_like(w) for w in weights])
        acts, deltas, grads = buffers[batch]
        prev = xb
        for i, w in enumerate(weights):
            np.matmul(prev, w.T, out=acts[i])
            prev = acts[i]
        for i in range(len(weights) - 1, -1, -1):
            np.matmul(deltas[i].T, acts[i - 1] if i else xb, out=grads[i])
            if i:
                np.matmul(deltas[i], weights[i], out=deltas[i - 1])

    return step


MAKERS = {"tinygrad_mlp": make_tinygrad, "compiled": make_compiled, "native": make_native, "numpy": make_numpy_lean,
          "gemms": make_gemms, "backprop-module": make_numpy, "torch": make_torch, "jax": make_jax}
OPTIONAL = {"torch": "`pip install torch==2.13.0`", "jax": "`pip install jax jaxlib` (CPU)"}


def available(impl: str) -> bool:
    """Whether an optional implementation's package can be imported (found without importing it)."""
    return impl not in OPTIONAL or importlib.util.find_spec(impl) is not None


# ---------------------------------------------------------------------- measurement


def run_epoch(step, x, y, batch: int, limit: int | None = None) -> float:
    return timed_epoch(step, x, y, batch, limit)[0]


def timed_epoch(step, x, y, batch: int, limit: int | None = None) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of the whole process, all its threads) of one epoch."""
    n = len(x) if limit is None else min(len(x), limit * batch)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, n, batch):
        step(x[i:i + batch], y[i:i + batch])
    if hasattr(step, "block"):
        step.block()
    return time.perf_counter() - start, time.process_time() - cpu


def peak_memory(make, cfg, init_w, init_b, x, y, batch: int, steps: int = 200) -> int:
    """Peak bytes traced by tracemalloc while building the model and running ``steps`` steps."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    step = make(cfg, init_w, init_b)
    run_epoch(step, x, y, batch, limit=steps)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def blas_kernel() -> str:
    """Which BLAS numpy runs and which of its kernels (threadpoolctl's ``architecture``), with its thread count.

    OpenBLAS picks its kernel for the CPU when it is loaded; ``OPENBLAS_CORETYPE`` overrides that choice (and
    ``OPENBLAS_L2_SIZE`` its blocking), which can make a current numpy slower: unset both for a run
    (``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/train_speed.py``) to time the kernel
    OpenBLAS chooses by itself; the header says whether they were set.
    """
    forced = ", ".join(f"{v}={os.environ[v]}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ)
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see it)" + (f"; {forced} set" if forced else "")
    found = [f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')}, {i.get('num_threads')} "
             "thread(s)" for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(found or ["none found"]) + (f"; set in the environment: {forced}" if forced else
                                                    "; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")


def gemm_flops_per_second() -> float:
    """Measured float32 GEMM rate on a (512 x 784) @ (784 x 512) product, best of several."""
    rng = np.random.default_rng(0)
    a, b = rng.random((512, 784), dtype=np.float32), rng.random((784, 512), dtype=np.float32)
    best = min(_time(lambda: a @ b, 20) for _ in range(5))
    return 2 * 512 * 784 * 512 / best


def _time(fn, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def epoch_flops(sizes, n: int) -> float:
    """Multiply-adds of forward (x W^T), weight gradients (g^T x) and input gradients (g W, not for layer 1)."""
    pairs = list(itertools.pairwise(sizes))
    per_sample = sum(2 * i * o for i, o in pairs) * 2 + sum(2 * i * o for i, o in pairs[1:])
    return per_sample * n


def first_call_ms(make, cfg, init_w, init_b, x, y, batch: int) -> float:
    """Milliseconds of a fresh step's first call (JAX compiles then; the compiled step records)."""
    step = make(cfg, init_w, init_b)
    start = time.perf_counter()
    step(x[:batch], y[:batch])
    if hasattr(step, "block"):
        step.block()
    return (time.perf_counter() - start) * 1e3


def count_instructions(impl: str, config: str, steps: int) -> None:
    """(Run under callgrind by ``instructions_per_step``.) Warm up, then take ``steps`` steps, nothing else."""
    cfg = CONFIGS[config]
    x, y, _ = load_data(cfg[4] * (steps + 4))
    init = MLP(cfg[0], cfg[1], cfg[2], init="he" if cfg[1] == "relu" else "xavier", seed=0)
    step = MAKERS[impl](cfg, [m.weight.data.copy() for m in init.layers], [m.bias.data.copy() for m in init.layers])
    run_epoch(step, x, y, cfg[4], limit=4)
    run_epoch(step, x[cfg[4] * 4:], y[cfg[4] * 4:], cfg[4], limit=steps)


def instructions_per_step(impl: str, config: str) -> float | None:
    """Instructions per steady-state step, counted by ``valgrind --tool=callgrind`` (deterministic, unlike seconds).

    Two runs of the same process with n and 3n steps, with the same hash seed; the difference over 2n steps
    cancels start-up, imports and warm-up. ``None`` when valgrind cannot be run.
    """
    import os
    import re
    import shutil
    import subprocess

    if shutil.which("valgrind") is None:
        return None
    n = {"3b1b": 20, "relu-ce": 10, "wide": 2}[config]
    counts = []
    for steps in (n, 3 * n):
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
               "--threads", str(ARGS.threads), "--count-instructions", impl, config, str(steps)]
        # one hash seed for both runs: with a random one each, start-up differs by about 3% of a 3b1b step's
        # instructions (dict and set layouts), and the difference would not cancel it
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        found = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
        if proc.returncode != 0 or not found:
            return None
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / (2 * n)


def main() -> int:
    if ARGS.count_instructions:
        impl, config, steps = ARGS.count_instructions
        count_instructions(impl, config, int(steps))
        return 0
    x, y, source = load_data(ARGS.samples)
    impls = [i for i in ARGS.impls if available(i)]
    skipped = [i for i in ARGS.impls if i not in impls]
    gemm = gemm_flops_per_second()
    print(f"# train_speed: {date.today()}, {cpu_name()}, {ARGS.threads} thread(s), numpy {np.__version__}, "
          f"python {platform.python_version()}, data: {source}, {len(x)} samples/epoch, {ARGS.reps} reps")
    versions = {i: importlib.import_module(i).__version__ for i in ("torch", "jax") if i in impls}
    if versions:
        print("# " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for impl in skipped:
        print(f"# skipped: {impl} (not installed; {OPTIONAL[impl]} to include it)")
    print(f"# BLAS: {blas_kernel()}")
    print(f"# measured float32 GEMM rate: {gemm / 1e9:.1f} GFLOP/s; load average {os.getloadavg()[0]:.2f} at the start")
    print()
    cols = ("| config | implementation | median epoch s | samples/s | us/step | ratio to numpy | CPU s | CPU ratio "
            "| first call ms | peak memory MiB |")
    if ARGS.callgrind:
        cols += " instructions/step |"
    print(cols)
    print("|---|---|" + "---:|" * (cols.count("|") - 3))
    results = []
    for name in ARGS.configs:
        cfg = CONFIGS[name]
        sizes, batch = cfg[0], cfg[4]
        init = MLP(sizes, cfg[1], cfg[2], init="he" if cfg[1] == "relu" else "xavier", seed=0)
        init_w = [layer.weight.data.copy() for layer in init.layers]
        init_b = [layer.bias.data.copy() for layer in init.layers]
        first = {impl: first_call_ms(MAKERS[impl], cfg, init_w, init_b, x, y, batch) for impl in impls}
        steps = {impl: MAKERS[impl](cfg, init_w, init_b) for impl in impls}
        tail = len(x) % batch
        for step in steps.values():  # warm-up (imports, BLAS buffers, caches, JAX's compilations for both shapes)
            run_epoch(step, x, y, batch, limit=50)
            if tail:
                step(x[-tail:], y[-tail:])
        times: dict[str, list[float]] = {impl: [] for impl in impls}
        cpu_times: dict[str, list[float]] = {impl: [] for impl in impls}
        for _ in range(ARGS.reps):
            for impl in impls:  # alternate, so drifts in machine load hit all implementations alike
                wall, cpu = timed_epoch(steps[impl], x, y, batch)
                times[impl].append(wall)
                cpu_times[impl].append(cpu)
        n_steps = -(-len(x) // batch)
        ref = statistics.median(times["numpy"]) if "numpy" in times else None
        cpu_ref = statistics.median(cpu_times["numpy"]) if "numpy" in times else None
        for impl in impls:
            med = statistics.median(times[impl])
            cpu_med = statistics.median(cpu_times[impl])
            # tracemalloc sees numpy's allocations, not PyTorch's or XLA's
            mem = None if impl in OPTIONAL else peak_memory(MAKERS[impl], cfg, init_w, init_b, x, y, batch)
            ins = instructions_per_step(impl, name) if ARGS.callgrind and impl not in OPTIONAL else None
            row = {"config": name, "implementation": impl, "median_epoch_s": med, "samples_per_s": len(x) / med,
                   "us_per_step": med / n_steps * 1e6, "ratio_to_numpy": med / ref if ref else None,
                   "median_cpu_s": cpu_med, "cpu_ratio_to_numpy": cpu_med / cpu_ref if cpu_ref else None,
                   "first_call_ms": first[impl], "peak_memory_mib": None if mem is None else mem / 2**20,
                   "instructions_per_step": ins, "epoch_times_s": times[impl], "epoch_cpu_s": cpu_times[impl]}
            results.append(row)
            ratio = f"{row['ratio_to_numpy']:.2f}" if ref else "n/a"
            cpu_ratio = f"{row['cpu_ratio_to_numpy']:.2f}" if cpu_ref else "n/a"
            mem_s = "n/a" if mem is None else f"{mem / 2**20:.1f}"
            line = (f"| {name} | {impl} | {med:.3f} | {row['samples_per_s']:,.0f} | {row['us_per_step']:.1f} | "
                    f"{ratio} | {cpu_med:.3f} | {cpu_ratio} | {first[impl]:.1f} | {mem_s} |")
            if ARGS.callgrind:
                line += " n/a |" if ins is None else f" {ins:,.0f} |"
            print(line)
            sys.stdout.flush()
        floor = epoch_flops(sizes, len(x)) / gemm
        results.append({"config": name, "implementation": "floor (FLOPs / GEMM rate)", "median_epoch_s": floor})
        print(f"| {name} | floor: {epoch_flops(sizes, len(x)) / 1e9:.1f} GFLOP at {gemm / 1e9:.1f} GFLOP/s | "
              f"{floor:.3f} |" + " |" * (cols.count("|") - 4))
        sys.stdout.flush()
    if ARGS.json:
        meta = {"date": str(date.today()), "cpu": cpu_name(), "threads": ARGS.threads, "data": source,
                "samples": len(x), "reps": ARGS.reps, "gemm_flops_per_s": gemm, "numpy": np.__version__, **versions}
        with open(ARGS.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
