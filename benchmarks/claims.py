"""Every measured number in README.md and docs/, from one command.

    python benchmarks/claims.py                   # measure everything (about 30 CPU-minutes), rewrite the docs
    python benchmarks/claims.py --only noise,tests  # measure some claims again, keep the others as committed
    python benchmarks/claims.py --render          # rewrite the docs from benchmarks/claims.json, measure nothing
    python benchmarks/claims.py --check           # measure again; report every number outside its stated spread
    python benchmarks/claims.py --quick           # tiny data, into a scratch copy: the pipeline works (CI runs it)

The measured numbers live in one data file, ``benchmarks/claims.json`` (each claim's raw per-seed or per-run
values, the machine, the date and the commit it was measured at). The docs show them between markers,
``<!-- claims:NAME -->`` and ``<!-- /claims:NAME -->``: everything between is written by this script from that
file, so an edit there is overwritten, and tests/test_claims.py fails when the docs and the file disagree.

Every number that varies between machines or runs is given over seeds (mean ± sd and each seed's value) or
over runs (median and range), with the machine and the date. ``--check`` measures again and compares with the
committed file: an accuracy must lie within 3 standard deviations of the committed mean (at least 0.3
percentage points), a count of neurons over seeds within 3 standard deviations (at least 2); a time or a speed
ratio within a factor of 2 of the committed median (times depend on the machine's load; the two-thread BLAS
times, which swing with it most, only within the committed runs' range widened by 2x); a blown-up loss within
the committed range of orders of magnitude widened by 3; a count of tests or epochs must be equal. It exits 1 and
names each claim that does not hold.

Numbers in the docs that this script does not measure say so where they stand, with their command, seeds, machine
and date: the LeNet accuracy table in README.md (three 12-epoch runs, 20 to 45 minutes) and docs/compile.md's
comparison with numba (numba is no dependency).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "benchmarks" / "claims.json"
SEEDS = (0, 1, 2)

# ---------------------------------------------------------------------------------------------------------------
# What is measured: the training recipes of the README's accuracy table, each run with --seed 0, 1 and 2.
# (name, what the table calls it, the command's options after `tinygrad-mlp train`, quick-mode options)

RECIPES: list[tuple[str, str, str]] = [
    ("notes-96", "notes' network, softmax cross-entropy output, momentum, cosine, weight decay, 60 epochs",
     "--loss ce --momentum 0.9 --lr 0.05 --weight-decay 1e-4 --lr-schedule cosine --epochs 60"),
    ("notes-96-quadratic", "the same, but the notes' quadratic cost at the output (`--lr 0.3`)",
     "--momentum 0.9 --lr 0.3 --weight-decay 1e-4 --lr-schedule cosine --epochs 60"),
    ("notes-cosine", "notes' network, quadratic cost, `--weight-decay 1e-4 --lr-schedule cosine`",
     "--weight-decay 1e-4 --lr-schedule cosine"),
    ("notes-plain", "notes' network, the notes' plain recipe (`tinygrad-mlp train`)", ""),
    ("relu-ce", "784-128-64-10 ReLU + cross-entropy",
     ("--arch 784-128-64-10 --activation relu --loss ce --momentum 0.9 --lr 0.05 --batch-size 64 --epochs 10 "
      "--lr-schedule cosine")),
]
QUICK_TRAIN = "--dataset synthetic --limit-train 300 --epochs 1"
REUSE = False  # --reuse: trainings whose results are already in --work are not run again


def run(argv: list[str], *, env: dict | None = None, timeout: float = 3600, status: int = 0,
        stderr: bool = False, unset: tuple[str, ...] = ()) -> tuple[str, float]:
    """Run a command from the repository root, with ``env`` added to this environment and ``unset`` removed from
    it; its stdout (then its stderr, with ``stderr=True``) and its wall seconds. Raises unless it exits with
    ``status``."""
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.update({"PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", **(env or {})})
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if proc.returncode != status:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SystemExit(f"claims: {shlex.join(argv)} exited {proc.returncode}, not {status}: {' | '.join(tail)}")
    return (proc.stdout + proc.stderr if stderr else proc.stdout), seconds


def train_command(options: str, seed: int, out: Path, metrics: Path, quick: bool) -> list[str]:
    extra = QUICK_TRAIN.split() if quick else ["--dataset", "mnist"]
    return [sys.executable, "-m", "tinygrad_mlp", "train", *options.split(), *extra, "--seed", str(seed),
            "--no-progress", "--out", str(out), "--metrics-json", str(metrics)]


# ---------------------------------------------------------------------------------------------------------------
# Measurements: each returns the JSON-able data its blocks are rendered from.

def measure_machine(quick: bool, work: Path) -> dict:
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    return {"date": datetime.date.today().isoformat(), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__, "commit": commit,
            "load": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None}


def measure_accuracy(quick: bool, work: Path) -> dict:
    results: dict = {}
    for name, _, options in RECIPES[:1] if quick else RECIPES:
        runs = []
        for seed in SEEDS[:1] if quick else SEEDS:
            out, metrics = work / f"{name}-{seed}.npz", work / f"{name}-{seed}.json"
            if not (REUSE and metrics.exists()):
                run(train_command(options, seed, out, metrics, quick), env={"OPENBLAS_NUM_THREADS": "1"})
            m = json.loads(metrics.read_text())
            runs.append({"seed": seed, "accuracy": round(100 * m["test_accuracy"], 2),
                         "train_seconds": round(m["train_seconds"], 1), "epochs": m["epochs"]})
        results[name] = runs
    return results


NOISE_LINES = {
    "median_top": r"largest output activation, median over the noise images: ([\d.]+)",
    "above_half": r"above 0\.5: (\d+)%",
    "above_09": r"above 0\.9: (\d+)%",
}


def notes_checkpoints(quick: bool, work: Path) -> tuple[str, list[tuple[int, Path]]]:
    """The README's `notes.npz`, one per seed: the notes' cosine recipe, trained by `accuracy` into ``work`` (here
    if absent). Quick: the first recipe's tiny stand-ins."""
    name = RECIPES[0][0] if quick else "notes-cosine"
    options = {r[0]: r[2] for r in RECIPES}[name]
    checkpoints = []
    for seed in SEEDS[:1] if quick else SEEDS:
        checkpoint = work / f"{name}-{seed}.npz"
        if not checkpoint.exists():
            run(train_command(options, seed, checkpoint, work / f"{name}-{seed}.json", quick),
                env={"OPENBLAS_NUM_THREADS": "1"})
        checkpoints.append((seed, checkpoint))
    return name, checkpoints


def measure_noise(quick: bool, work: Path) -> dict:
    """examples/random_noise.py on each seed's `notes.npz`."""
    name, checkpoints = notes_checkpoints(quick, work)
    runs = []
    for seed, checkpoint in checkpoints:
        argv = [sys.executable, "examples/random_noise.py", "--checkpoint", str(checkpoint), "--seed", str(seed),
                "--out-dir", str(work / "noise")]
        stdout, _ = run([*argv, "--quick"] if quick else [*argv, "--mnist"])
        values = {key: float(re.search(pattern, stdout).group(1)) for key, pattern in NOISE_LINES.items()}
        runs.append({"seed": seed, **values})
    return {"recipe": name, "runs": runs}


def measure_hidden(quick: bool, work: Path) -> dict:
    """`tinygrad-mlp show-hidden --no-plot` on each seed's `notes.npz`: how many neurons of each hidden layer have a
    mean activation above 0.5 for three or more digits (the tutorial's 'each takes part in many digits')."""
    name, checkpoints = notes_checkpoints(quick, work)
    runs = []
    for seed, checkpoint in checkpoints:
        argv = [sys.executable, "-m", "tinygrad_mlp", "show-hidden", str(checkpoint), "--no-plot"]
        stdout, _ = run(argv if quick else [*argv, "--dataset", "mnist"])
        broad = [int(n) for n in re.findall(r"^ +(\d+) of \d+ neurons have a mean activation above 0\.5", stdout,
                                             re.M)]
        if len(broad) != 2:
            raise SystemExit(f"claims: {shlex.join(argv)} did not print the two layers' counts")
        runs.append({"seed": seed, "layer1": broad[0], "layer2": broad[1]})
    return {"recipe": name, "runs": runs}


# The README's example of a loss that blows up without a NaN: tests/test_trust.py's command, whatever the data.
DIVERGE = ("--dataset synthetic --arch 784-32-10 --activation relu --loss ce --lr 1e6 --limit-train 300 --epochs 3 "
           "--no-progress")


def measure_cli(quick: bool, work: Path) -> dict:
    """Two statements of the README about `tinygrad-mlp`: the finite blow-up that stops `train` (DIVERGE with seeds
    0, 1, 2: the train loss of the epoch it stopped after, and how many epochs it ran), and how long `eval` of a
    notes' network takes on the 10,000 MNIST test images (wall seconds, 3 runs; the weights do not matter)."""
    divergence = []
    for seed in SEEDS[:1] if quick else SEEDS:
        argv = [sys.executable, "-m", "tinygrad_mlp", "train", *DIVERGE.split(), "--seed", str(seed),
                "--out", str(work / f"diverge-{seed}.npz"), "--force"]
        output, _ = run(argv, env={"OPENBLAS_NUM_THREADS": "1"}, status=1, stderr=True)
        loss = re.search(r"training diverged: the train loss is ([\d.e+-]+),", output)
        if not loss:
            raise SystemExit(f"claims: {shlex.join(argv)} did not stop with the divergence message")
        divergence.append({"seed": seed, "loss": float(loss.group(1)),
                           "epochs": len(re.findall(r"^epoch +\d+/", output, re.M))})
    model = work / "eval-model.npz"
    run(train_command("", 0, model, work / "eval-model.json", True))
    argv = [sys.executable, "-m", "tinygrad_mlp", "eval", str(model), "--dataset", "synthetic" if quick else "mnist"]
    seconds = [round(run(argv)[1], 2) for _ in range(1 if quick else 3)]
    return {"divergence": divergence, "eval_seconds": seconds}


# The README's BLAS-threads table: the notes' network (batch 10) and the ReLU one (batch 64), 2 epochs each.
THREAD_NETWORKS = {"notes": "notes-cosine", "relu": "relu-ce"}
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # obeyed over --threads: unset


def measure_threads(quick: bool, work: Path) -> dict:
    """`tinygrad-mlp train --threads 1` against `--threads 0` (BLAS's default, a thread per core) on the README's
    notes' and ReLU commands for 2 epochs: training seconds (the metrics file's), runs alternating, 3 of each."""
    options = {r[0]: r[2] for r in RECIPES}
    times: dict = {network: {"1": [], "0": []} for network in THREAD_NETWORKS}
    load = round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None
    for _ in range(1 if quick else 3):
        for network, recipe in THREAD_NETWORKS.items():
            for threads in ("1", "0"):
                metrics = work / f"threads-{network}-{threads}.json"
                argv = train_command(f"{options[recipe]} --epochs {1 if quick else 2} --threads {threads}", 0,
                                     work / f"threads-{network}.npz", metrics, quick)
                run([*argv, "--force"], unset=BLAS_VARIABLES)
                times[network][threads].append(round(json.loads(metrics.read_text())["train_seconds"], 2))
    return {"load_at_start": load, "epochs": 1 if quick else 2, "seconds": times}


def measure_tests(quick: bool, work: Path) -> dict:
    """The README's test command (`pytest`; its -ra lists each skip's reason), on this checkout: how many tests
    passed and were skipped, and why they were skipped (the README says which extras the count assumes)."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    stdout, seconds = run([*argv, "--collect-only"] if quick else argv,
                          env={"CI": "true", "TINYGRAD_MLP_CLAIMS_MEASURING": "tests"})
    last = stdout.strip().splitlines()[-1]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|skipped|failed|tests? collected)", last)}
    if quick:
        return {"passed": counts.get("tests collected", counts.get("test collected", 0)), "skipped": 0,
                "seconds": round(seconds)}
    if counts.get("failed"):
        raise SystemExit(f"claims: the test suite failed: {last}")
    return {"passed": counts.get("passed", 0), "skipped": counts.get("skipped", 0), "seconds": round(seconds),
            "skip_reasons": skip_reasons(stdout)}


def skip_reasons(pytest_output: str) -> list[str]:
    """The reasons in the SKIPPED lines of pytest's -ra summary, with their counts when more than one."""
    return [f"{n} x {why}" if n != "1" else why
            for n, why in re.findall(r"^SKIPPED \[(\d+)\] [^\n]*?:\d+: (.*)$", pytest_output, re.M)]


def measure_examples(quick: bool, work: Path) -> dict:
    """Each example's default run (no options): wall seconds, median of 3 runs."""
    times = {}
    for path in sorted((ROOT / "examples").glob("*.py"))[:2] if quick else sorted((ROOT / "examples").glob("*.py")):
        argv = [sys.executable, str(path.relative_to(ROOT)), "--out-dir", str(work / "examples")]
        samples = []
        for _ in range(1 if quick else 3):
            samples.append(round(run([*argv, "--quick"] if quick else argv)[1], 1))
        times[path.name] = samples
    return times


def measure_tutorial(quick: bool, work: Path) -> dict:
    """examples/mnist_3b1b.py --mnist --epochs 10, the tutorial's run, over three seeds."""
    runs = []
    for seed in SEEDS[:1] if quick else SEEDS:
        argv = [sys.executable, "examples/mnist_3b1b.py", "--seed", str(seed), "--out-dir", str(work / "tutorial")]
        stdout, _ = run([*argv, "--quick"] if quick else [*argv, "--mnist", "--epochs", "10"])
        runs.append({"seed": seed, "accuracy": float(re.findall(r"test accuracy ([\d.]+)%", stdout)[-1])})
    return {"runs": runs}


def measure_toolbox(quick: bool, work: Path) -> dict:
    """examples/toolbox_digits.py --mnist (5 epochs) over three seeds: final and first-epoch accuracy, CPU time."""
    runs = []
    for seed in SEEDS[:1] if quick else SEEDS:
        argv = [sys.executable, "examples/toolbox_digits.py", "--seed", str(seed)]
        before = os.times()
        stdout, _ = run([*argv, "--quick"] if quick else [*argv, "--mnist"], env={"OPENBLAS_NUM_THREADS": "1"})
        after = os.times()
        accuracies = [float(a) for a in re.findall(r"test accuracy ([\d.]+)%", stdout)]
        runs.append({"seed": seed, "accuracy": accuracies[-1], "first_epoch": accuracies[0],
                     "cpu_seconds": round(after.children_user + after.children_system
                                          - before.children_user - before.children_system, 1)})
    return {"runs": runs}


def measure_lab(quick: bool, work: Path) -> dict:
    """`tinygrad-mlp lab` on MNIST: its two printed tables, as printed."""
    argv = [sys.executable, "-m", "tinygrad_mlp", "lab", "--no-plot", "--dataset", "mnist"]
    quick_options = ["--dataset", "synthetic", "--limit-train", "500", "--epochs", "1", "--repeats", "2"]
    stdout, _ = run([*argv, *quick_options] if quick else argv, env={"OPENBLAS_NUM_THREADS": "1"})
    table = [line for line in stdout.splitlines() if re.match(r"^\s+(batch size|lr\s|[\d.]+\s)", line)]
    return {"transcript": table}


def measure_jacobian(quick: bool, work: Path) -> dict:
    """benchmarks/jacobian_modes.py: forward against reverse mode, median of 5 repetitions."""
    out = work / "jacobian.json"
    argv = [sys.executable, "benchmarks/jacobian_modes.py", "--json", str(out)]
    run([*argv, "--reps", "1", "--sizes", "2", "8"] if quick else argv,
        env={"OPENBLAS_NUM_THREADS": "1"})
    return json.loads(out.read_text())


def measure_conv(quick: bool, work: Path) -> dict:
    """benchmarks/conv_speed.py: a LeNet training step, eager and compiled, against PyTorch (when installed)."""
    out = work / "conv.json"
    argv = [sys.executable, "benchmarks/conv_speed.py", "--json", str(out)]
    run([*argv, "--steps", "2", "--rounds", "1"] if quick else argv)
    result = json.loads(out.read_text())
    return {key: result[key] for key in ("batch", "steps", "rounds", "threads")} | {
        "cpu_us": {name: round(impl["cpu_us"]) for name, impl in result["impls"].items()}}


def measure_speed(quick: bool, work: Path) -> dict:
    """benchmarks/train_speed.py as the README shows it (OPENBLAS_CORETYPE/L2_SIZE unset): its markdown table."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    argv = [sys.executable, "benchmarks/train_speed.py"]
    quick_options = ["--samples", "500", "--reps", "1", "--configs", "3b1b", "--impls", "tinygrad_mlp", "numpy"]
    full_env = {**env, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.run([*argv, *quick_options] if quick else argv, cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=7200)
    if proc.returncode != 0:
        raise SystemExit(f"claims: train_speed.py exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return {"header": [line for line in proc.stdout.splitlines() if line.startswith("# ")],
            "table": [line for line in proc.stdout.splitlines() if line.startswith("|")]}


# ---------------------------------------------------------------------------------------------------------------
# Rendering: the markdown between each block's markers, from the data file alone.

def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def spread(values: list[float], digits: int = 2, unit: str = "%") -> str:
    """Mean ± standard deviation: ``spread([96.39, 96.30, 96.59])`` is ``96.43 ± 0.15%``."""
    mean, sd = mean_sd(values)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}{unit}"


def per_seed(runs: list[dict], digits: int, key: str = "accuracy", unit: str = "%") -> str:
    """Each run's value, in the runs' order: ``96.39%, 96.30%, 96.59%``."""
    return ", ".join(f"{r[key]:.{digits}f}{unit}" for r in runs)


def each_seed(runs: list[dict], digits: int, key: str = "accuracy") -> str:
    """Each run's value, labelled with the runs' seeds: ``seeds 0, 1, 2: 98.0%, 97.9%, 98.0%``."""
    return f"seeds {', '.join(str(r['seed']) for r in runs)}: {per_seed(runs, digits, key)}"


def over_seeds(runs: list[dict], digits: int, key: str = "accuracy", bold: bool = False) -> str:
    """A percentage over seeds, the one way the docs give it: mean ± sd (2 decimals), then each seed's value
    (``digits`` decimals), e.g. ``**96.43 ± 0.15%** (seeds 0, 1, 2: 96.39%, 96.30%, 96.59%)``."""
    mark = "**" if bold else ""
    return f"{mark}{spread([r[key] for r in runs])}{mark} ({each_seed(runs, digits, key)})"


def machine_line(m: dict) -> str:
    load = f", load average {m['load']}" if m.get("load") is not None else ""
    return (f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']}; "
            f"measured {m['date']} at commit {m['commit']}{load}")


def render_accuracy(data: dict) -> str:
    acc = data["accuracy"]
    machine = machine_line(data["machines"]["accuracy"])
    lines = [(f"Measured by `python benchmarks/claims.py --only accuracy` ({machine}), "
              "on the real MNIST test set of 10,000 images, each command run with `--seed 0`, `1` and `2`, "
              "one BLAS thread: mean ± standard deviation over the three seeds, then each seed's value."),
             "",
             "| run | test accuracy, mean ± sd | seeds 0, 1, 2 | training time, median |",
             "|---|---:|---|---:|"]
    for name, label, _ in RECIPES:
        if name not in acc:
            continue
        runs = acc[name]
        seconds = statistics.median(r["train_seconds"] for r in runs)
        bold = "**" if name in ("notes-96", "relu-ce") else ""
        lines.append(f"| {label} | {bold}{spread([r['accuracy'] for r in runs])}{bold} | "
                     f"{per_seed(runs, 2, unit='')} | {seconds:.0f} s ({runs[0]['epochs']} epochs) |")
    return "\n".join(lines)


def render_accuracy_96(data: dict) -> str:
    return over_seeds(data["accuracy"]["notes-96"], 2, bold=True)


def render_noise(data: dict) -> str:
    runs = data["noise"]["runs"]
    seeds = "; ".join(f"seed {r['seed']}: {r['median_top']:.2f}, {r['above_half']:.0f}%, {r['above_09']:.0f}%"
                      for r in runs)
    return (f"Over the three seeds' `notes.npz` (the cosine recipe above, `--seed 0`, `1`, `2`), the largest "
            f"output's median over 1,000 noise images was {spread([r['median_top'] for r in runs], 2, '')}, "
            f"{spread([r['above_half'] for r in runs], 0)} of the images got an output above 0.5 and "
            f"{spread([r['above_09'] for r in runs], 0)} above 0.9 ({seeds}): how confidently the network "
            f"answers noise depends strongly on the training run. Measured by `python benchmarks/claims.py "
            f"--only noise` ({data['machines']['noise']['date']}).")


def render_divergence(data: dict) -> str:
    runs = data["cli"]["divergence"]
    losses = sorted(r["loss"] for r in runs)
    epochs = sorted({r["epochs"] for r in runs})
    return (f"the train loss of the first epoch was {losses[0]:.1e} to {losses[-1]:.1e} over seeds "
            f"{', '.join(str(r['seed']) for r in runs)} of `tinygrad-mlp train {DIVERGE}`, which stopped after epoch "
            f"{' or '.join(map(str, epochs))}; measured by `python benchmarks/claims.py --only cli`, "
            f"{data['machines']['cli']['date']}")


def render_eval_seconds(data: dict) -> str:
    seconds = data["cli"]["eval_seconds"]
    return (f"{statistics.median(seconds):.1f} s (median of {len(seconds)} runs, {min(seconds):.1f} to "
            f"{max(seconds):.1f} s, {data['machines']['cli']['date']})")


def render_threads(data: dict) -> str:
    threads = data["threads"]
    labels = {"notes": "notes' 784-16-16-10, batch 10", "relu": "784-128-64-10 ReLU, batch 64"}

    def cell(samples: list[float]) -> str:
        return f"{statistics.median(samples):.1f} s ({', '.join(f'{t:.1f}' for t in samples)})"

    machine = machine_line(data["machines"]["threads"])
    rows = [(f"Measured by `python benchmarks/claims.py --only threads` ({machine}): training seconds of "
             f"{threads['epochs']} epochs of real MNIST, the two settings alternating, median of 3 (all 3 in "
             "brackets). How much one thread gains depends on the machine's load."), "",
            (f"| network (the commands above, `--epochs {threads['epochs']}`) | 1 thread (`--threads 1`) | "
             "BLAS default, a thread per core (`--threads 0`) | default / 1 thread |"), "|---|---:|---:|---:|"]
    for network, seconds in threads["seconds"].items():
        ratio = statistics.median(seconds["0"]) / max(statistics.median(seconds["1"]), 1e-9)
        rows.append(f"| {labels[network]} | {cell(seconds['1'])} | {cell(seconds['0'])} | {ratio:.2f} |")
    return "\n".join(rows)


def render_tests(data: dict) -> str:
    t = data["tests"]
    why = f"; skipped: {'; '.join(t['skip_reasons'])}" if t.get("skip_reasons") else ""
    return (f"{t['passed']:,} passed, {t['skipped']} skipped in {t['seconds']} s "
            f"({machine_line(data['machines']['tests'])}){why}")


def render_examples(data: dict) -> str:
    rows = ["| example | default run, wall seconds (median of 3) |", "|---|---:|"]
    for name, samples in data["examples"].items():
        rows.append(f"| `{name}` | {statistics.median(samples):.1f} |")
    rows.append("")
    machine = machine_line(data["machines"]["examples"])
    rows.append(f"Measured by `python benchmarks/claims.py --only examples` ({machine}).")
    return "\n".join(rows)


def render_tutorial(data: dict) -> str:
    return over_seeds(data["tutorial"]["runs"], 1)


def render_toolbox(data: dict) -> str:
    runs = data["toolbox"]["runs"]
    cpu = statistics.median(r["cpu_seconds"] for r in runs) / 60
    return (f"**{spread([r['accuracy'] for r in runs])}** test accuracy on MNIST "
            f"({spread([r['first_epoch'] for r in runs])} after the first epoch; {each_seed(runs, 1)}; "
            f"{cpu:.1f} CPU-minutes each, median; "
            f"{data['machines']['toolbox']['date']})")


def render_hidden(data: dict) -> str:
    runs = data["hidden"]["runs"]

    def counts(key: str) -> str:
        low, high = min(r[key] for r in runs), max(r[key] for r in runs)
        return f"{low} of the 16" if low == high else f"{low} to {high} of the 16"

    seeds = "; ".join(f"seed {r['seed']}: {r['layer1']} and {r['layer2']}" for r in runs)
    return (f"{counts('layer1')} first-layer neurons and {counts('layer2')} second-layer neurons ({seeds}; "
            f"`python benchmarks/claims.py --only hidden`, {data['machines']['hidden']['date']})")


def render_noise_range(data: dict) -> str:
    runs = data["noise"]["runs"]
    half = sorted(r["above_half"] for r in runs)
    high = sorted(r["above_09"] for r in runs)
    return (f"between {half[0]:.0f}% and {half[-1]:.0f}% of 1,000 noise images get an output above 0.5, and between "
            f"{high[0]:.0f}% and {high[-1]:.0f}% above 0.9.")


def render_lab(data: dict) -> str:
    return "```text\n" + "\n".join(data["lab"]["transcript"]) + "\n```"


def seconds_text(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render_jacobian(data: dict) -> str:
    jac, machine = data["jacobian"], data["machines"]["jacobian"]
    lines = [(f"{machine_line(machine)}, {jac['threads']} BLAS thread, median of {jac['reps']} repetitions "
              "(the many-pass forward run once):"), "",
             "| what | inputs | outputs | reverse mode | forward mode | forward / reverse | max diff |",
             "|---|---:|---:|---|---|---:|---:|"]
    for r in jac["rows"]:
        what = "d loss / d params (batch 32)" if r["n_out"] == 1 else "d out / d x (one input)"
        lines.append(f"| {what} | {r['n_in']:,} | {r['n_out']} | {seconds_text(r['reverse_s'])} "
                     f"({r['reverse_passes']}) | {seconds_text(r['forward_s'])} ({r['forward_passes']}) | "
                     f"{r['forward_s'] / r['reverse_s']:.2f} | {r['max_abs_diff']:.1e} |")
    return "\n".join(lines)


def render_conv(data: dict) -> str:
    conv, cpu = data["conv"], data["conv"]["cpu_us"]
    torch = cpu.get("torch")

    def ms(name: str) -> str:
        return f"{cpu[name] / 1e3:.1f} ms" + (f" ({cpu[name] / torch:.2f}x)" if torch and name != "torch" else "")

    shown = [("PyTorch eager", "torch"), ("this library eager", "tinygrad_mlp"), ("compiled", "compiled")]
    return (f"CPU time per step ({conv['threads']} BLAS thread, batch {conv['batch']}, median of {conv['rounds']} "
            f"rounds of {conv['steps']} steps): "
            + ", ".join(f"{label} {ms(name)}" for label, name in shown if name in cpu)
            + f" ({machine_line(data['machines']['conv'])})")


# issue 22's targets: CPU time as a ratio to the lean numpy step
SPEED_TARGETS = {"compiled": {"3b1b": 0.95, "relu-ce": 0.95, "wide": 1.0},
                 "native": {"3b1b": 0.45, "relu-ce": 0.8, "wide": 0.95}}
SPEED_ROWS = {"compiled": "numpy replay (`tm.compile`)", "native": "native (`tm.compile(..., backend=\"native\")`)",
              "tinygrad_mlp": "eager", "gemms": "the matrix products alone (`gemms`)", "jax": "JAX `jit`",
              "torch": "PyTorch eager", "backprop-module": "`tinygrad_mlp.backprop` (readable, checked)"}


def speed_ratios(table: list[str]) -> dict[tuple[str, str], float]:
    """``(config, implementation) -> CPU-time ratio to the numpy step``, from train_speed.py's table."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    return {(row[0], row[1]): float(row[7]) for row in rows if len(row) > 7 and row[7] not in ("", "n/a")}


def render_speed(data: dict) -> str:
    speed = data["speed"]
    ratios = speed_ratios(speed["table"])
    configs = list(dict.fromkeys(config for config, _ in ratios))
    lines = [(f"Measured by `python benchmarks/claims.py --only speed` ({machine_line(data['machines']['speed'])}), "
              "which runs the first command above with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` unset; "
              "its header:"), "", "```text", *speed.get("header", []), "```", "", *speed["table"], "",
             "The CPU-time ratios to the lean numpy step, against the targets of issue 22:", "",
             f"| | {' | '.join(configs)} |", "|---|" + "---:|" * len(configs)]
    for impl, label in SPEED_ROWS.items():
        if not any((config, impl) in ratios for config in configs):
            continue
        cells = []
        for config in configs:
            ratio = ratios.get((config, impl))
            target = SPEED_TARGETS.get(impl, {}).get(config)
            verdict = f" (target {target}: {'met' if ratio <= target else 'missed'})" if target and ratio else ""
            cells.append("n/a" if ratio is None else f"{ratio:.2f}{verdict}")
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Claim:
    measure: Callable[[bool, Path], dict]
    blocks: dict[str, Callable[[dict], str]]   # block name -> its renderer
    kind: str | dict[str, str]  # how --check compares: "accuracy" (percent), "fraction", "time" and "ratio"
    # (factor 2), "range" (median within the committed range widened 2x), "count", "neurons" (a count over seeds:
    # within 3 sd, at least 2), "magnitude" (log10, within the committed range widened by 3); a dict: per label
    # (or its last part after "/")


CLAIMS: dict[str, Claim] = {
    "accuracy": Claim(measure_accuracy, {"accuracy-table": render_accuracy, "accuracy-96": render_accuracy_96},
                      "accuracy"),
    "noise": Claim(measure_noise, {"noise": render_noise, "noise-range": render_noise_range}, "fraction"),
    "hidden": Claim(measure_hidden, {"hidden": render_hidden}, "neurons"),
    "tutorial": Claim(measure_tutorial, {"tutorial-accuracy": render_tutorial}, "accuracy"),
    "toolbox": Claim(measure_toolbox, {"toolbox": render_toolbox}, "accuracy"),
    "lab": Claim(measure_lab, {"lab": render_lab}, "fraction"),
    "jacobian": Claim(measure_jacobian, {"jacobian": render_jacobian}, "ratio"),
    "conv": Claim(measure_conv, {"conv": render_conv}, "ratio"),
    "speed": Claim(measure_speed, {"speed": render_speed}, "ratio"),
    "cli": Claim(measure_cli, {"divergence": render_divergence, "eval-seconds": render_eval_seconds},
                 {"divergence/log10 loss": "magnitude", "divergence/epochs": "count", "eval seconds": "time"}),
    "threads": Claim(measure_threads, {"threads": render_threads}, {"--threads 1": "time", "--threads 0": "range"}),
    "examples": Claim(measure_examples, {"examples": render_examples}, "time"),
    "tests": Claim(measure_tests, {"tests": render_tests}, "count"),  # last: the suite checks the docs just written
}
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- claims:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /claims:(?P=name) -->)", re.S)


def render_docs(data: dict, root: Path) -> dict[str, str]:
    """Each doc's text with its blocks rewritten from `data`; raises on an unknown block name."""
    renderers = {block: render for claim in CLAIMS.values() for block, render in claim.blocks.items()}
    owner = {block: name for name, claim in CLAIMS.items() for block in claim.blocks}
    texts = {}
    for doc in DOCS:
        path = root / doc
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")

        def replace(match: re.Match, doc: str = doc) -> str:
            name = match.group("name")
            if name not in renderers:
                raise SystemExit(f"claims: {doc} has a block `{name}` that no claim renders")
            if owner[name] not in data:  # not measured yet: left as it is (tests/test_claims.py requires them all)
                return match.group(0)
            return match.group(1) + renderers[name](data) + "\n" + match.group(4)

        texts[doc] = BLOCK.sub(replace, text)
    found = {m.group("name") for text in texts.values() for m in BLOCK.finditer(text)}
    missing = set(renderers) - found
    if missing:
        raise SystemExit(f"claims: no doc has the block(s) {', '.join(sorted(missing))}")
    return texts


# ---------------------------------------------------------------------------------------------------------------
# --check: the measured values against the committed ones.

def values_of(name: str, data: dict) -> dict[str, list[float]]:
    """A claim's data as {label: the values one spread is taken over}."""
    d = data[name]
    if name == "accuracy":
        return {recipe: [r["accuracy"] for r in runs] for recipe, runs in d.items()}
    if name in ("tutorial", "toolbox"):
        return {name: [r["accuracy"] for r in d["runs"]]}
    if name == "noise":
        return {key: [r[key] for r in d["runs"]] for key in NOISE_LINES}
    if name == "hidden":
        return {key: [r[key] for r in d["runs"]] for key in ("layer1", "layer2")}
    if name == "examples":
        return dict(d)
    if name == "lab":  # the last column of each row: a percentage or a similarity
        return {line.split()[0] + "/" + str(i): [float(line.split()[-1].rstrip("%"))]
                for i, line in enumerate(d["transcript"]) if re.match(r"^\s+[\d.]+\s", line)}
    if name == "speed":  # each implementation's CPU-time ratio to the numpy step (the table's 8th column)
        return {f"{config}/{impl}": [ratio] for (config, impl), ratio in speed_ratios(d["table"]).items()}
    if name == "conv":  # each implementation's CPU time per step as a ratio to PyTorch's (none without torch)
        base = d["cpu_us"].get("torch")
        return {impl: [us / base] for impl, us in d["cpu_us"].items() if impl != "torch"} if base else {}
    if name == "threads":
        return {f"{network}/--threads {n}": samples for network, by in d["seconds"].items()
                for n, samples in by.items()}
    if name == "cli":
        runs = d["divergence"]
        return {"divergence/log10 loss": [math.log10(r["loss"]) for r in runs],
                "divergence/epochs": [r["epochs"] for r in runs], "eval seconds": d["eval_seconds"]}
    if name == "jacobian":
        return {f"{r['n_in']}x{r['n_out']}": [r["forward_s"] / r["reverse_s"]] for r in d["rows"]}
    return {key: [d[key]] for key in ("passed", "skipped")}


def disagreements(name: str, old: dict, new: dict) -> list[str]:
    kinds = CLAIMS[name].kind
    found = []
    old_values, new_values = values_of(name, old), values_of(name, new)
    for label, committed in old_values.items():
        kind = kinds.get(label, kinds.get(label.split("/")[-1], "count")) if isinstance(kinds, dict) else kinds
        measured = new_values.get(label)
        if measured is None:
            found.append(f"{name}/{label}: not measured")
            continue
        if kind == "range":  # a time that swings with the load: its median within the committed runs' range, +-2x
            low, high = min(committed) / 2, max(committed) * 2
            ok = low <= statistics.median(measured) <= high
            bound = f"a median within {low:.2f} to {high:.2f}, the committed range widened by a factor of 2"
        elif kind == "magnitude":
            low, high = min(committed) - 3, max(committed) + 3
            ok, bound = all(low <= v <= high for v in measured), f"within 1e{low:.0f} to 1e{high:.0f}"
        elif kind == "count":
            ok = committed == measured
            bound = "equal"
        elif kind in ("time", "ratio"):
            ratio = statistics.median(measured) / max(statistics.median(committed), 1e-9)
            ok, bound = 0.5 <= ratio <= 2.0, "within a factor of 2"
        else:
            mean, sd = mean_sd(committed)
            floor = {"accuracy": 0.3, "neurons": 2.0}.get(kind, 0.05 * max(abs(mean), 1e-9))
            tolerance = max(3 * sd, floor)
            ok, bound = abs(statistics.fmean(measured) - mean) <= tolerance, f"within ±{tolerance:.2f}"
        if not ok:
            found.append(f"{name}/{label}: committed {committed}, measured {measured} (should be {bound})")
    return found


# ---------------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"Measure only these claims, comma-separated (of: {', '.join(CLAIMS)}).")
    parser.add_argument("--render", action="store_true", help="Measure nothing: rewrite the docs from the data file.")
    parser.add_argument("--check", action="store_true",
                        help="Measure, compare with the committed data file, change no file; exit 1 on a difference.")
    parser.add_argument("--quick", action="store_true",
                        help="Measure on tiny data into a scratch copy of the docs, to show the pipeline works.")
    parser.add_argument("--work", type=Path, default=None,
                        help="Where the trained checkpoints go (default: a temporary folder).")
    parser.add_argument("--reuse", action="store_true",
                        help="Reuse the trainings whose results are already in --work (after an interrupted run).")
    args = parser.parse_args(argv)
    if args.reuse and not args.work:
        parser.error("--reuse needs --work")
    global REUSE
    REUSE = args.reuse
    names = list(CLAIMS) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in CLAIMS]
    if unknown:
        parser.error(f"unknown claim(s) {', '.join(unknown)}; known: {', '.join(CLAIMS)}")

    committed = json.loads(DATA_FILE.read_text()) if DATA_FILE.exists() else {"machines": {}}
    if args.render:
        write(committed)
        return 0

    data = copy.deepcopy(committed)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        measured: dict = {"machines": {}}
        for name in names:
            print(f"claims: measuring {name} ...", flush=True)
            start = time.perf_counter()
            measured[name] = CLAIMS[name].measure(args.quick, work)
            measured["machines"][name] = measure_machine(args.quick, work)
            print(f"claims: {name} done in {time.perf_counter() - start:.0f} s", flush=True)
            if not (args.quick or args.check):  # written claim by claim: an interrupted run keeps what it measured
                data[name] = measured[name]
                data["machines"][name] = measured["machines"][name]
                write(data)
        if args.quick:
            data = {**committed, **measured, "machines": {**committed.get("machines", {}), **measured["machines"]}}
            for name in CLAIMS:  # claims not measured now render from quick stand-ins, so every renderer runs
                data.setdefault(name, CLAIMS[name].measure(True, work))
                data["machines"].setdefault(name, measure_machine(True, work))
            texts = render_docs(data, ROOT)
            print(f"claims: quick run rendered {sum(len(list(BLOCK.finditer(t))) for t in texts.values())} blocks "
                  f"in {len(texts)} docs (nothing written)")
            return 0
        if args.check:
            problems = [p for name in names if name in committed for p in disagreements(name, committed, measured)]
            for problem in problems:
                print(f"claims: DIFFERS {problem}")
            print(f"claims: {len(names)} claim(s) checked, {len(problems)} difference(s)")
            return 1 if problems else 0
    print(f"claims: wrote {DATA_FILE.relative_to(ROOT)} and the docs' blocks")
    return 0


def write(data: dict) -> None:
    """The data file, then every doc's blocks rendered from it."""
    DATA_FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for doc, text in render_docs(data, ROOT).items():
        (ROOT / doc).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
