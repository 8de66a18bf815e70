"""Tensors made from nothing: ``zeros``, ``ones``, ``full``, ``eye``, ``arange``, ``rand``, ``randn``, ``*_like``.

Shapes are given as ``zeros(2, 3)`` or ``zeros((2, 3))``. The dtype is the default
(float32 unless ``tm.set_default_dtype`` changed it) unless ``dtype=`` says otherwise
(``zeros``, ``ones``, ``full``, ``eye``, ``arange`` and ``*_like`` also make integer and
bool tensors, which cannot require grad; ``rand``/``randn`` make floats).
``tensor``, ``from_numpy``, ``linspace`` and ``randint`` are PyTorch's.
``rand``/``randn`` follow the seeding story of :mod:`tinygrad_mlp.random`:
``seed=`` an int or a Generator, else the global generator that
``manual_seed`` resets.
"""

from __future__ import annotations

import numpy as np

from .dtypes import any_dtype, dtype_or_default, float_dtype, get_default_dtype
from .errors import ArgumentError, DTypeError, ShapeError
from .methods import shape_arg
from .random import generator
from .tensor_core import Tensor

__all__ = ["zeros", "ones", "full", "eye", "arange", "rand", "randn", "zeros_like", "ones_like", "tensor",
           "from_numpy", "as_tensor", "linspace", "randint", "empty", "full_like", "rand_like", "randn_like"]


def _shape(shape, what: str) -> tuple[int, ...]:
    dims = shape_arg(shape, what)
    if any(n < 0 for n in dims):
        raise ShapeError(f"{what}: negative dimension in shape {dims}")
    return dims


def _dtype(dtype, requires_grad: bool, what: str) -> np.dtype:
    """The dtype to make (the default for None): a float one, or an integer or bool one without ``requires_grad``."""
    dt = any_dtype(dtype_or_default(dtype), what)
    if requires_grad and dt.kind != "f":
        raise DTypeError(f"{what}: only float tensors can require grad, got dtype {dt}")
    return dt


def _made(values: np.ndarray, requires_grad: bool) -> Tensor:
    """A leaf of the array just made (of the dtype ``_dtype`` chose)."""
    return Tensor(values, requires_grad) if values.dtype.kind == "f" else Tensor.wrap(values)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros, ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _made(np.zeros(_shape(shape, "zeros"), dtype=_dtype(dtype, requires_grad, "zeros")), requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _made(np.ones(_shape(shape, "ones"), dtype=_dtype(dtype, requires_grad, "ones")), requires_grad)


def full(shape, fill_value: float, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (an int or a tuple) filled with ``fill_value``; without ``dtype=`` its dtype follows
    the value as in PyTorch (an int: int64, a bool: bool, a float: the default)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(fill_value, (int, float, np.number)):
        raise ArgumentError(f"full: fill_value must be a number or a bool, got {fill_value!r}")
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dtype = np.bool_
    if dtype is None and isinstance(fill_value, (int, np.integer)):  # PyTorch's inference: full((2,), 7) is int64
        dtype = np.int64
    dt = _dtype(dtype, requires_grad, "full")
    return _made(np.full(_shape((shape,), "full"), fill_value, dtype=dt), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """The (n, m) identity matrix (m defaults to n)."""
    n, m = _shape((n, n if m is None else m), "eye")
    return _made(np.eye(n, m, dtype=_dtype(dtype, requires_grad, "eye")), requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, *, dtype=None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in ``[start, stop)``, as ``np.arange`` (``arange(5)`` is 0 .. 4). As PyTorch: int64
    when ``start``, ``stop`` and ``step`` are all ints and no ``dtype=`` is given, else the default float dtype."""
    for v in (start, stop, step):
        if v is not None and (not isinstance(v, (int, float, np.number)) or isinstance(v, (bool, np.bool_))):
            raise ArgumentError(f"arange: start, stop and step must be numbers, got {v!r}")
    if step == 0:
        raise ArgumentError("arange: step must not be 0")
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step) if v is not None)
    dt = _dtype(np.int64 if dtype is None and ints else dtype, requires_grad, "arange")
    return _made(values.astype(dt), requires_grad)


def rand(*shape, seed=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform values in [0, 1); ``seed`` an int or a Generator, else the global generator."""
    dims, dt = _shape(shape, "rand"), float_dtype(dtype_or_default(dtype), "rand")
    return Tensor(generator(seed).random(dims).astype(dt), requires_grad)


def randn(*shape, seed=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal values; ``seed`` an int or a Generator, else the global generator."""
    dims, dt = _shape(shape, "randn"), float_dtype(dtype_or_default(dtype), "randn")
    return Tensor(generator(seed).standard_normal(dims).astype(dt), requires_grad)


def _like(t, what: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise ArgumentError(f"{what}: expected a Tensor, got {type(t).__name__}")
    return t


def zeros_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and dtype (or ``dtype``)."""
    t = _like(t, "zeros_like")
    return zeros(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and dtype (or ``dtype``)."""
    t = _like(t, "ones_like")
    return ones(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


# ---------------------------------------------------------------------- PyTorch's creation functions


def tensor(data, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``, with PyTorch's dtype inference: Python floats give the default
    dtype, Python ints int64, bools bool; a numpy array (or a Tensor) keeps its dtype. ``dtype=`` may be a
    float, integer or bool dtype; only a float tensor may require grad."""
    try:
        arr = np.array(data.data if isinstance(data, Tensor) else data)  # a copy, as torch.tensor makes
    except ValueError:  # numpy's complaint about a ragged nested list
        raise ShapeError("tensor: nested lists must be rectangular (every row the same length)") from None
    if arr.dtype.kind not in "fiub":
        raise DTypeError(f"tensor: cannot make a tensor of data of dtype {arr.dtype} (numbers or bools only)")
    from_array = isinstance(data, (np.ndarray, np.generic, Tensor))
    if dtype is not None:
        arr = arr.astype(any_dtype(dtype, "tensor"))
    elif arr.dtype.kind == "f" and not from_array:
        arr = arr.astype(get_default_dtype())
    elif arr.dtype.kind in "iu" and not from_array:
        arr = arr.astype(np.int64)
    if requires_grad and arr.dtype.kind != "f":
        raise DTypeError(f"tensor: only float tensors can require grad, this one is {arr.dtype}")
    return Tensor.wrap(arr, bool(requires_grad))


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` as a tensor: a Tensor of that dtype as it is, an array shared when its dtype fits (as
    ``from_numpy``), anything else as ``tensor(data)``."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.astype(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or any_dtype(dtype, "as_tensor") == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (float, integer or bool), as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise ArgumentError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"from_numpy: cannot make a tensor of an array of dtype {array.dtype}")
    return Tensor.wrap(array)


def linspace(start: float, end: float, steps: int, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (PyTorch's and numpy's)."""
    for v in (start, end):
        if not isinstance(v, (int, float, np.number)) or isinstance(v, (bool, np.bool_)):
            raise ArgumentError(f"linspace: start and end must be numbers, got {v!r}")
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ArgumentError(f"linspace: steps must be a non-negative int, got {steps!r}")
    dt = float_dtype(dtype_or_default(dtype), "linspace")
    return Tensor(np.linspace(start, end, int(steps)).astype(dt), requires_grad)


def randint(low: int, high: int | None = None, size=None, *, seed=None, dtype=np.int64) -> Tensor:
    """Random integers in ``[low, high)`` of shape ``size`` (a tuple), as ``torch.randint(low, high, size)``;
    ``randint(high, size)`` draws from ``[0, high)``. int64 unless ``dtype=`` says otherwise; never a gradient."""
    if size is None:  # randint(high, size), PyTorch's short form
        low, high, size = 0, low, high
    if size is None or isinstance(size, (int, np.integer)):
        raise ArgumentError(f"randint: size must be a tuple of ints, got {size!r}")
    for v in (low, high):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ArgumentError(f"randint: low and high must be ints, got {v!r}")
    if not low < high:  # type: ignore[operator]
        raise ArgumentError(f"randint: low must be below high, got low={low}, high={high}")
    dims = _shape((size,), "randint")
    return Tensor.wrap(generator(seed).integers(low, high, dims).astype(any_dtype(dtype, "randint")))


def empty(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (zeros here: numpy's uninitialized memory could leak old values into results)."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in ``t``'s shape and dtype (or ``dtype``)."""
    t = _like(t, "full_like")
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, *, seed=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform values in [0, 1) in ``t``'s shape and dtype (or ``dtype``)."""
    t = _like(t, "rand_like")
    return rand(t.shape, seed=seed, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, *, seed=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal values in ``t``'s shape and dtype (or ``dtype``)."""
    t = _like(t, "randn_like")
    return randn(t.shape, seed=seed, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)



# One creation API: ``Tensor.zeros(...)`` is ``tm.zeros(...)`` (same dtypes, same checks) and ``Tensor.randn``
# draws from the generator ``tm.manual_seed`` resets. Attached here because creation sits above the Tensor.
for _name, _function in (("zeros", zeros), ("ones", ones), ("randn", randn), ("rand", rand)):
    setattr(Tensor, _name, staticmethod(_function))
