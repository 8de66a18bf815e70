"""The default float dtype, and the dtype rules of tensors that do not hold floats.

Tensors made from Python numbers (``Tensor([1.0])``, ``tm.tensor([1.0])``, ``zeros(3)`` ...) get the default
float dtype: float32 unless :func:`set_default_dtype` changed it, as in PyTorch. A floating numpy array keeps
its own dtype (``Tensor(np.zeros(3))`` is float64, whatever the default).

Most tensors hold floats: they are what is differentiated. Some hold booleans or integers, as in PyTorch:
the results of comparisons (bool), of ``argmax``/``argmin``, ``randint`` and ``long()`` (int64), and what
``tm.tensor`` / ``tm.from_numpy`` make of integer or boolean data. They never require grad. In arithmetic
with a float operand they are converted to that operand's float dtype first (a Python float next to them
gives the default dtype), and a true division of two of them gives the default dtype, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .errors import DTypeError

__all__ = ["get_default_dtype", "set_default_dtype", "dtype_or_default", "scalar_dtype", "operand_dtypes",
           "float_dtype", "any_dtype"]

_default = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The float dtype of tensors made from Python numbers (float32 unless :func:`set_default_dtype` changed it)."""
    return _default


def set_default_dtype(dtype) -> None:
    """Make ``dtype`` (float16, float32 or float64) the dtype of tensors made from Python numbers from now on.

    Process-wide, as in PyTorch. Arrays given as data keep their own float dtype; modules made afterwards take
    the new default for their weights.
    """
    global _default
    _default = float_dtype(dtype, "set_default_dtype")


def any_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` as a numpy dtype if tensors can hold it (floats, integers, bool), else a DTypeError naming ``what``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{what}: {dtype!r} is not a dtype") from None
    if dt.kind not in "fiub":
        raise DTypeError(f"{what}: tensors hold floats, integers or bools, not {dt}")
    return dt


def float_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` as a numpy dtype if it is a floating one (tensors hold floats), else a DTypeError naming ``what``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{what}: {dtype!r} is not a dtype") from None
    if dt.kind != "f":
        raise DTypeError(f"{what}: dtype must be a floating type, got {dt}")
    return dt


def dtype_or_default(dtype):
    """``dtype`` as given (the caller checks it), or the default float dtype for None (``dtype=None`` arguments)."""
    return _default if dtype is None else dtype


def scalar_dtype(value, dtype: np.dtype) -> np.dtype:
    """The dtype a Python number ``value`` takes next to a tensor of ``dtype``.

    A float tensor's own dtype for any number; next to a bool or integer tensor a float is of the default
    dtype, an int is int64 beside bools (else the tensor's integer dtype), a bool the tensor's dtype.
    """
    if dtype.kind == "f" or isinstance(value, bool):
        return dtype
    if isinstance(value, float):
        return _default
    return np.dtype(np.int64) if dtype.kind == "b" else dtype


def operand_dtypes(a: np.dtype, b: np.dtype, division: bool = False) -> tuple[np.dtype, np.dtype]:
    """The dtypes two different-dtype operands are converted to before an op, where one is not a float.

    A bool or integer operand next to a float one takes the float's dtype; two non-floats keep numpy's
    promotion, except in a true division, where both become the default float dtype.
    """
    fa, fb = a.kind == "f", b.kind == "f"
    if fa and not fb:
        return a, a
    if fb and not fa:
        return b, b
    if division and not fa and not fb:
        return _default, _default
    return a, b
