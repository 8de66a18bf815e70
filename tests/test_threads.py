"""`tinygrad-mlp train/eval --threads N` reaches numpy's BLAS: one thread by default (measured faster for these
small networks, see README), N when asked, BLAS's own default with 0, and the user's environment variable when one
is set. Checked through OpenBLAS's own thread count, with threadpoolctl and with the ctypes fallback used without it.

Each case runs in a fresh interpreter: the thread count is process-wide and OpenBLAS reads its variables at load.
"""

import ast
import os
import subprocess
import sys

import pytest

from tinygrad_mlp import _blas

SCRIPT = r"""
import functools, sys
if {block_threadpoolctl}:
    sys.modules["threadpoolctl"] = None  # as if it were not installed: the ctypes fallback does the work
from tinygrad_mlp import _blas, cli, data
data.load_synthetic = functools.lru_cache(maxsize=None)(data.load_synthetic)  # draw the digits once
train = ["train", "--dataset", "synthetic", "--arch", "784-10", "--limit-train", "100", "--epochs", "1",
         "--no-progress", "--out", sys.argv[1]]
counts = [_blas.blas_threads()]
for extra in {runs}:
    assert cli.main(train + extra) == 0
    counts.append(_blas.blas_threads())
print(counts)
"""


def _thread_counts(tmp_path, runs, *, block_threadpoolctl, env_threads=None):
    env = {k: v for k, v in os.environ.items() if k not in _blas.ENV_VARS}
    if env_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(env_threads)
    code = SCRIPT.format(block_threadpoolctl=block_threadpoolctl, runs=runs)
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.npz")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def _backends():
    backends = [pytest.param(True, id="ctypes-fallback")]
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        backends.append(pytest.param(False, id="threadpoolctl", marks=pytest.mark.skip("threadpoolctl not installed")))
    else:
        backends.append(pytest.param(False, id="threadpoolctl"))
    return backends


def _started_with(counts):
    """Skip when the fresh interpreter's BLAS could not be asked, or started with one thread (one core), where no
    setting can be told from the default."""
    if counts[0] is None:
        pytest.skip("numpy's BLAS here is neither OpenBLAS nor visible to threadpoolctl")
    if counts[0] < 2:
        pytest.skip("BLAS starts with one thread here (one core?), so no setting can be told from the default")


@pytest.mark.parametrize("block_threadpoolctl", _backends())
def test_threads_option_reaches_blas(tmp_path, block_threadpoolctl):
    counts = _thread_counts(tmp_path, [[], ["--threads", "2"], ["--threads", "0"], []],
                            block_threadpoolctl=block_threadpoolctl)
    _started_with(counts)
    # then: our default 1; 2 when asked; 0 leaves it as it is; the default again
    assert counts[1:] == [1, 2, 2, 1]


def test_threads_from_the_environment_are_kept(tmp_path):
    counts = _thread_counts(tmp_path, [[], ["--threads", "1"]], block_threadpoolctl=True, env_threads=2)
    _started_with(counts)
    assert counts == [2, 2, 1]  # OPENBLAS_NUM_THREADS=2 holds without --threads; --threads overrides it


def test_set_blas_threads_refuses_less_than_one():
    with pytest.raises(ValueError, match="n must be >= 1"):
        _blas.set_blas_threads(0)
