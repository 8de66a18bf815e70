"""How many threads numpy's BLAS uses, read and set while the program runs.

The matrices of these networks are small (a batch of 10 to 128 rows, layers of 16 to 128 units): a second BLAS
thread saves little on them, and when the cores are busy it makes every product wait for a thread that is not
running (the README's measurements). The CLI therefore runs BLAS on one thread unless told otherwise.

threadpoolctl, when installed, does this for any BLAS numpy may be built with. Without it we call OpenBLAS's own
``openblas_set_num_threads`` through ctypes: numpy's wheels bundle OpenBLAS on every platform, so that covers a
plain ``pip install``; another BLAS (MKL, Accelerate, BLIS) without threadpoolctl is left alone, and the caller
is told so. Setting OPENBLAS_NUM_THREADS in the environment instead would only work before numpy is imported,
which is too late by the time any of our code runs.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

# Variables with which a user may already have chosen a thread count for the BLAS libraries.
ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

# numpy >= 2 bundles "scipy_openblas" (symbols prefixed scipy_ and, for the 64-bit integer build, suffixed 64_);
# older wheels and Linux distributions ship a plain libopenblas.
_NAMES = [f"{prefix}openblas_{{}}_num_threads{suffix}"
          for prefix in ("scipy_", "") for suffix in ("64_", "")]


def openblas_paths() -> list[str]:
    """Files of the OpenBLAS this process has loaded (Linux: from its memory map), or that numpy bundles."""
    paths: list[str] = []
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            path = line.split(maxsplit=5)[-1]
            if "openblas" in Path(path).name.lower() and path not in paths:
                paths.append(path)
    import numpy as np  # loaded by now: this only finds its folder

    root = Path(np.__file__).resolve().parent
    for folder in (root.parent / "numpy.libs", root / ".dylibs", root / ".libs"):
        paths += [str(p) for p in sorted(folder.glob("*openblas*")) if str(p) not in paths]
    return paths


def _openblas_function(action: str) -> Any:
    """OpenBLAS's ``*_set_num_threads`` or ``*_get_num_threads`` (``action`` "set" or "get"), or None."""
    for path in openblas_paths():
        try:
            lib = ctypes.CDLL(path)  # already loaded by numpy: this returns the same library, it loads nothing new
        except OSError:
            continue
        for name in _NAMES:
            function = getattr(lib, name.format(action), None)
            if function is not None:
                return function
    return None


def blas_threads() -> int | None:
    """How many threads numpy's BLAS uses now, or None when no known BLAS can be asked."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        counts = [int(info["num_threads"]) for info in threadpool_info() if info.get("user_api") == "blas"]
        if counts:
            return max(counts)
    get = _openblas_function("get")
    if get is None:
        return None
    get.restype = ctypes.c_int
    return int(get())


def set_blas_threads(n: int) -> bool:
    """Make numpy's BLAS use ``n`` (>= 1) threads from now on; returns False when no known BLAS could be set."""
    if n < 1:
        raise ValueError(f"set_blas_threads: n must be >= 1, got {n}")
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        pass
    else:
        if any(info.get("user_api") == "blas" for info in threadpool_info()):
            threadpool_limits(limits=n, user_api="blas")  # not used as a context: the limit stays
            return True
    set_ = _openblas_function("set")
    if set_ is None:
        return False
    set_.argtypes = [ctypes.c_int]
    set_.restype = None
    set_(n)
    return True
