"""What the benchmarks share about the machine: the thread count, set before numpy is imported, and the CPU's name.

Each benchmark is run as a script (``python benchmarks/NAME.py``), so this folder is on ``sys.path`` and
``from _machine import ...`` finds this file. It imports nothing that starts a BLAS.
"""

from __future__ import annotations

import os
import platform


def set_threads(n: int) -> None:
    """Ask every BLAS (and XLA, and numexpr) for ``n`` threads. Call it before numpy, torch or jax is imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(n)
    if n == 1:  # XLA's CPU backend: no Eigen thread pool, one intra-op thread
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
