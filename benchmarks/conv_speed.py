"""Time one LeNet training step (MNIST shapes, batch 64, one BLAS thread): tinygrad_mlp eager and compiled vs PyTorch.

    python benchmarks/conv_speed.py                  # 200 steps per implementation, 5 rounds
    python benchmarks/conv_speed.py --steps 100 --rounds 3 --json out.json
    python benchmarks/conv_speed.py --profile        # also where the eager step's time goes (cProfile)

The network is ``tinygrad_mlp.nn.LeNet`` (conv 1->6 5x5 pad 2, relu, 2x2 max pool, conv 6->16 5x5, relu, 2x2 max
pool, dense 400-120-84-10) and the same network in PyTorch with the same starting weights; one step is zero_grad,
forward, cross-entropy, backward and an Adam update, on the same batches (real MNIST when it can be found, else
random images: content does not change the time). The implementations run in turns in this one process ("rounds":
eager, compiled, torch, eager, ...), so a change in the machine's load hits all of them; each round times
``--steps`` steps, and the median round is reported, as microseconds per step in wall-clock time and in this
process's CPU time (on a machine shared with other work, CPU time is the fairer figure), with the ratios to
PyTorch eager. Targets (issue 26): eager within 1.5x of PyTorch, compiled within 1.2x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from _machine import cpu_name, set_threads

set_threads(1)

import numpy as np  # noqa: E402  (after the thread count is set)


def _parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200, help="steps timed per round (default 200)")
    p.add_argument("--rounds", type=int, default=5, help="rounds of every implementation in turn (default 5)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    p.add_argument("--profile", action="store_true", help="also profile the eager step (cProfile, top 15)")
    return p.parse_args(argv)


def load_batches(n: int, batch: int) -> tuple[list, str]:
    from tinygrad_mlp.data import load_mnist
    try:
        x, y, _, _ = load_mnist(download=False)
        source = "MNIST"
    except Exception:
        rng = np.random.default_rng(0)
        x, y, source = rng.random((n * batch, 784), dtype=np.float32), rng.integers(0, 10, n * batch), "random"
    x = x[: n * batch].reshape(-1, 1, 28, 28)
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, n * batch, batch)], source


def make_ours(compiled: bool):
    import tinygrad_mlp as tm
    from tinygrad_mlp.nn import LeNet
    from tinygrad_mlp.nn import functional as F
    from tinygrad_mlp.optim import Adam

    model = LeNet(seed=0)
    opt = Adam(model.parameters(), lr=1e-3)

    def forward_backward(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(tm.Tensor(xb)), yb)
        loss.backward()
        return loss

    run = tm.compile(forward_backward) if compiled else forward_backward

    def step(xb, yb):
        run(xb, yb)
        opt.step()

    return step, model


def make_torch(model):
    import torch
    torch.set_num_threads(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))
    with torch.no_grad():  # the same starting weights as ours
        for p, q in zip(net.parameters(), model.parameters(), strict=True):
            p.copy_(torch.from_numpy(q.data))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb))
        loss.backward()
        opt.step()

    return step


def time_round(step, batches, steps: int) -> tuple[float, float]:
    """(wall, cpu) microseconds per step over ``steps`` steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        step(*batches[i % len(batches)])
    return (time.perf_counter() - wall) / steps * 1e6, (time.process_time() - cpu) / steps * 1e6


def main(argv=None) -> int:
    args = _parse_args(argv)
    batches, source = load_batches(64, args.batch)
    eager, model = make_ours(False)
    impls = {"tinygrad_mlp": eager, "compiled": make_ours(True)[0]}
    try:
        impls["torch"] = make_torch(model)
    except ImportError:
        print("torch is not installed (`pip install torch==2.13.0`): no baseline, no ratios", file=sys.stderr)
    for step in impls.values():  # warm up: first calls (the compiled step records on them)
        time_round(step, batches, 5)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in impls}
    for _ in range(args.rounds):
        for name, step in impls.items():
            times[name].append(time_round(step, batches, args.steps))
    result = {"cpu": cpu_name(), "data": source, "batch": args.batch, "steps": args.steps, "rounds": args.rounds,
              "threads": 1, "impls": {}}
    print(f"LeNet training step, batch {args.batch}, {source} data, 1 thread, {cpu_name()}; median of {args.rounds} "
          f"rounds of {args.steps} steps")
    print(f"{'implementation':<14} {'wall us/step':>13} {'cpu us/step':>12} {'wall ratio':>11} {'cpu ratio':>10}")
    base = times.get("torch")
    for name, rounds in times.items():
        wall = statistics.median(w for w, _ in rounds)
        cpu = statistics.median(c for _, c in rounds)
        ratios = ("", "")
        if base:
            ratios = (f"{wall / statistics.median(w for w, _ in base):.2f}x",
                      f"{cpu / statistics.median(c for _, c in base):.2f}x")
        print(f"{name:<14} {wall:>13.0f} {cpu:>12.0f} {ratios[0]:>11} {ratios[1]:>10}")
        result["impls"][name] = {"wall_us": wall, "cpu_us": cpu, "rounds": rounds}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    if args.profile:
        import cProfile
        import pstats
        profile = cProfile.Profile()
        profile.enable()
        time_round(eager, batches, args.steps)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
