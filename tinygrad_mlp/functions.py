"""PyTorch's top-level functions of tensors: ``tm.sin(x)``, ``tm.matmul(a, b)``, ``tm.cat(ts, dim=1)`` ...

Each ``tm.NAME(x, *args, **kwargs)`` is the Tensor method ``x.NAME(*args, **kwargs)``, with the same
arguments (PyTorch's and numpy's names) and the same gradient; ``x`` may also be an array or a number (it is
then made a Tensor first, as ``Tensor(x)``). The functions of several tensors (``cat``, ``stack``,
``einsum`` ...) are written out below. (``max``, ``sum``, ``any`` ... are this module's: the builtins are
spelled ``builtins.max`` here.)
"""

from __future__ import annotations

import builtins
import collections
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import numpy_protocol, tensor_core
from .errors import ArgumentError, ShapeError
from .ops import EINSUM_LETTERS, Arctan2, Einsum
from .tensor_core import Tensor

# The Tensor methods PyTorch also offers as functions (torch.sin(x) is x.sin()).
METHOD_FUNCTIONS = (
    "abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "erf", "softplus",
    "softmax", "log_softmax", "logsumexp", "sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "std",
    "cumsum", "matmul", "mm", "bmm", "clamp", "clip", "reshape", "flatten", "squeeze", "unsqueeze", "permute",
    "transpose", "swapaxes", "flip", "gather", "take_along_axis", "t", "numel", "pow", "masked_fill", "norm",
    "repeat_interleave", "tile", "eq", "ne", "lt", "le", "gt", "ge", "equal", "any", "all", "neg", "add", "sub",
    "mul", "div", "clone", "detach",
    "sinh", "cosh", "tan", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "asin", "acos", "atan",
    "asinh", "acosh", "atanh", "sign", "floor", "ceil", "trunc", "round", "log2", "log10", "exp2", "square",
    "reciprocal", "rsqrt", "remainder", "fmod", "diagonal", "trace", "diag", "tril", "triu", "split",
    "tensor_split", "chunk", "unbind", "view_as", "repeat", "deg2rad", "rad2deg", "logaddexp", "logaddexp2", "diff",
    "roll", "fliplr", "flipud", "allclose", "isclose",
    "is_floating_point", "sort", "argsort", "topk",
)

__all__ = [*METHOD_FUNCTIONS, "is_tensor", "cat", "concat", "stack", "einsum", "tensordot", "dot", "outer", "inner",
           "hypot", "arctan2", "atan2", "hstack", "vstack", "row_stack", "dstack", "column_stack", "atleast_1d",
           "atleast_2d", "atleast_3d", "array_split", "numpy_split", "hsplit", "vsplit", "dsplit"]


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _method_function(name: str) -> Callable[..., Any]:
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return getattr(_as_tensor(input), name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    first = (method.__doc__ or "").strip().split("\n")[0]
    function.__doc__ = f"``tm.{name}(x, ...)`` is ``x.{name}(...)``: {first}"
    return function


# one line each (not a loop over globals()), so that type checkers and readers see every name
abs = _method_function("abs")
exp = _method_function("exp")
log = _method_function("log")
log1p = _method_function("log1p")
expm1 = _method_function("expm1")
sqrt = _method_function("sqrt")
sin = _method_function("sin")
cos = _method_function("cos")
tanh = _method_function("tanh")
sigmoid = _method_function("sigmoid")
relu = _method_function("relu")
erf = _method_function("erf")
softplus = _method_function("softplus")
softmax = _method_function("softmax")
log_softmax = _method_function("log_softmax")
logsumexp = _method_function("logsumexp")
sum = _method_function("sum")
mean = _method_function("mean")
prod = _method_function("prod")
max = _method_function("max")
min = _method_function("min")
argmax = _method_function("argmax")
argmin = _method_function("argmin")
var = _method_function("var")
std = _method_function("std")
cumsum = _method_function("cumsum")
matmul = _method_function("matmul")
mm = _method_function("mm")
bmm = _method_function("bmm")
clamp = _method_function("clamp")
clip = _method_function("clip")
reshape = _method_function("reshape")
flatten = _method_function("flatten")
squeeze = _method_function("squeeze")
unsqueeze = _method_function("unsqueeze")
permute = _method_function("permute")
transpose = _method_function("transpose")
swapaxes = _method_function("swapaxes")
flip = _method_function("flip")
gather = _method_function("gather")
take_along_axis = _method_function("take_along_axis")
t = _method_function("t")
numel = _method_function("numel")
pow = _method_function("pow")
masked_fill = _method_function("masked_fill")
norm = _method_function("norm")
repeat_interleave = _method_function("repeat_interleave")
tile = _method_function("tile")
eq = _method_function("eq")
ne = _method_function("ne")
lt = _method_function("lt")
le = _method_function("le")
gt = _method_function("gt")
ge = _method_function("ge")
equal = _method_function("equal")
any = _method_function("any")
all = _method_function("all")
neg = _method_function("neg")
add = _method_function("add")
sub = _method_function("sub")
mul = _method_function("mul")
div = _method_function("div")
clone = _method_function("clone")
detach = _method_function("detach")
sinh = _method_function("sinh")
cosh = _method_function("cosh")
tan = _method_function("tan")
arcsin = _method_function("arcsin")
arccos = _method_function("arccos")
arctan = _method_function("arctan")
arcsinh = _method_function("arcsinh")
arccosh = _method_function("arccosh")
arctanh = _method_function("arctanh")
asin = _method_function("asin")
acos = _method_function("acos")
atan = _method_function("atan")
asinh = _method_function("asinh")
acosh = _method_function("acosh")
atanh = _method_function("atanh")
sign = _method_function("sign")
floor = _method_function("floor")
ceil = _method_function("ceil")
trunc = _method_function("trunc")
round = _method_function("round")
log2 = _method_function("log2")
log10 = _method_function("log10")
exp2 = _method_function("exp2")
square = _method_function("square")
reciprocal = _method_function("reciprocal")
rsqrt = _method_function("rsqrt")
remainder = _method_function("remainder")
fmod = _method_function("fmod")
diagonal = _method_function("diagonal")
trace = _method_function("trace")
diag = _method_function("diag")
tril = _method_function("tril")
triu = _method_function("triu")
split = _method_function("split")
tensor_split = _method_function("tensor_split")
chunk = _method_function("chunk")
unbind = _method_function("unbind")
view_as = _method_function("view_as")
repeat = _method_function("repeat")
deg2rad = _method_function("deg2rad")
rad2deg = _method_function("rad2deg")
logaddexp = _method_function("logaddexp")
logaddexp2 = _method_function("logaddexp2")
diff = _method_function("diff")
roll = _method_function("roll")
fliplr = _method_function("fliplr")
flipud = _method_function("flipud")
allclose = _method_function("allclose")
isclose = _method_function("isclose")
is_floating_point = _method_function("is_floating_point")
sort = _method_function("sort")
argsort = _method_function("argsort")
topk = _method_function("topk")


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def _axis(axis, dim, what: str) -> int:
    if dim is not None:
        if axis is not None:
            raise ArgumentError(f"{what}: give axis= or dim= (the same thing), not both")
        return dim
    return 0 if axis is None else axis


def cat(tensors: Sequence[Tensor], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing axis ``dim`` (0 by default), as ``torch.cat`` / ``np.concatenate``."""
    return tensor_core.concatenate(tensors, _axis(axis, dim, "cat"))


def concat(tensors: Sequence[Tensor], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """``cat`` (PyTorch's other name, numpy 2's ``concat``)."""
    return tensor_core.concatenate(tensors, _axis(axis, dim, "concat"))


def stack(tensors: Sequence[Tensor], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis ``dim`` (0 by default), as ``torch.stack`` / ``np.stack``."""
    return tensor_core.stack(tensors, _axis(axis, dim, "stack"))


# ---------------------------------------------------------------------- einsum and the products built on it


def _same_float_dtype(ts: list[Tensor]) -> list[Tensor]:
    """The tensors in one float dtype (numpy's promotion of theirs; a bool or integer one takes the floats')."""
    floats = [t.dtype for t in ts if t.dtype.kind == "f"]
    from .dtypes import get_default_dtype  # here: the module's imports are shared with numpy_protocol's hook

    target = np.result_type(*floats) if floats else get_default_dtype()
    return [t.astype(target) for t in ts]


def einsum(subscripts: str, *operands) -> Tensor:
    """numpy's and PyTorch's ``einsum``: ``einsum("ij,jk->ik", a, b)`` (operands also as one list), with an
    implicit output (the letters used once, in alphabetical order), a letter repeated within an operand (its
    diagonal), and ``...`` for the leading axes (broadcast between operands). One ``Einsum`` node; its gradient
    is computed by einsum too."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(subscripts, str):
        raise ArgumentError(f"einsum: subscripts must be a string, got {type(subscripts).__name__}")
    ts = _same_float_dtype([_as_tensor(o) for o in operands])
    spec = subscripts.replace(" ", "")
    if builtins.any(c not in EINSUM_LETTERS and c not in ",->." for c in spec) or spec.count("->") > 1:
        raise ArgumentError(f"einsum: subscripts {subscripts!r} may hold letters, ',', '->' and '...' only")
    lhs, arrow, rhs = spec.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(ts):
        raise ShapeError(f"einsum: {len(inputs)} operand subscripts in {subscripts!r} for {len(ts)} operands")
    fresh = [c for c in EINSUM_LETTERS if c not in spec]
    # the axes ``...`` stands for, per operand, and their broadcast shape
    ellipses = []
    for sub, t in zip(inputs, ts, strict=True):
        letters = sub.replace("...", "")
        if "." in letters or sub.count("...") > 1:
            raise ArgumentError(f"einsum: {sub!r} is not subscripts (letters and at most one '...')")
        count = t.ndim - len(letters)
        if count < 0 or (count and "..." not in sub):
            raise ShapeError(f"einsum: subscripts {sub!r} do not fit an operand of shape {t.shape}")
        start = sub.index("...") if "..." in sub else 0
        ellipses.append(t.shape[start:start + count])
    try:
        broadcast = np.broadcast_shapes(*ellipses)
    except ValueError:
        raise ShapeError(f"einsum: the axes of '...' do not broadcast: {ellipses}") from None
    if len(broadcast) > len(fresh):
        raise ArgumentError("einsum: too many axes for the 52 letters einsum has")
    dots = "".join(fresh[:len(broadcast)])
    explicit: list[str] = []
    sizes: dict[str, int] = {}
    for i, (sub, t, ell) in enumerate(zip(inputs, ts, ellipses, strict=True)):
        if "..." in sub:
            start = sub.index("...")
            target = (*t.shape[:start], *broadcast[len(broadcast) - len(ell):], *t.shape[start + len(ell):])
            if target != t.shape:  # a size-1 axis of '...' broadcast against another operand's
                ts[i] = t = t.expand(*target)
            sub = sub.replace("...", dots[len(dots) - len(ell):])
        for c, n in zip(sub, t.shape, strict=True):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"einsum: letter {c!r} stands for axes of sizes {sizes[c]} and {n}")
        explicit.append(sub)
    if arrow:
        output = rhs.replace("...", dots)
        if "." in output or len(set(output)) != len(output) or builtins.any(c not in sizes for c in output):
            raise ArgumentError(f"einsum: output {rhs!r} must name letters of the operands, each at most once")
    else:
        counts = collections.Counter("".join(explicit))
        output = dots + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in dots))
    return Tensor.apply(Einsum(tuple(explicit), output), *ts)


def tensordot(a, b, dims=2, *, axes=None) -> Tensor:
    """numpy's and PyTorch's ``tensordot``: the sum over ``dims`` (an int n: the last n axes of ``a`` with the
    first n of ``b``; or two lists of axes) of the products; numpy's name ``axes=`` is accepted too."""
    a, b = _as_tensor(a), _as_tensor(b)
    spec = dims if axes is None else axes
    if isinstance(spec, (int, np.integer)):
        n = int(spec)
        if not 0 <= n <= builtins.min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: cannot sum over {n} axes of shapes {a.shape} and {b.shape}")
        axes_a, axes_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        try:
            first, second = spec
            axes_a = [int(first)] if isinstance(first, (int, np.integer)) else list(first)
            axes_b = [int(second)] if isinstance(second, (int, np.integer)) else list(second)
        except (TypeError, ValueError):
            raise ArgumentError(f"tensordot: dims must be an int or two lists of axes, got {spec!r}") from None
    if len(axes_a) != len(axes_b):
        raise ShapeError(f"tensordot: {len(axes_a)} axes of a paired with {len(axes_b)} of b")
    axes_a = [int(x) % a.ndim if -a.ndim <= x < a.ndim else -1 for x in axes_a]
    axes_b = [int(x) % b.ndim if -b.ndim <= x < b.ndim else -1 for x in axes_b]
    if -1 in axes_a or -1 in axes_b:
        raise ShapeError(f"tensordot: axes {spec!r} out of range for shapes {a.shape} and {b.shape}")
    letters = iter(EINSUM_LETTERS)
    sub_a = [next(letters) for _ in range(a.ndim)]
    sub_b = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(axes_a, axes_b, strict=True):
        sub_b[j] = sub_a[i]
    out = [c for i, c in enumerate(sub_a) if i not in axes_a] + [c for j, c in enumerate(sub_b) if j not in axes_b]
    return einsum(f"{''.join(sub_a)},{''.join(sub_b)}->{''.join(out)}", a, b)


def dot(a, b) -> Tensor:
    """numpy's ``dot``: the product of two numbers, vectors (the inner product) or matrices; for more axes the
    sum over the last axis of ``a`` and the second-to-last of ``b``."""
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([-1], [0 if b.ndim == 1 else -2]))


def outer(a, b) -> Tensor:
    """The outer product of two vectors (of the flattened tensors, as numpy), ``out[i, j] = a[i] * b[j]``."""
    a, b = _as_tensor(a), _as_tensor(b)
    return einsum("i,j->ij", a.reshape(-1), b.reshape(-1))


def inner(a, b) -> Tensor:
    """numpy's ``inner``: the sum over the last axes of both (the product for numbers)."""
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([-1], [-1]))


# ---------------------------------------------------------------------- elementwise functions of two tensors


def hypot(x, y) -> Tensor:
    """Elementwise ``sqrt(x**2 + y**2)`` (its gradient is undefined where both are 0)."""
    x = _as_tensor(x)
    return (x * x + y * y).sqrt()


def arctan2(y, x) -> Tensor:
    """Elementwise angle of the point ``(x, y)``, in ``(-pi, pi]`` (numpy's ``arctan2``, PyTorch's ``atan2``)."""
    y = _as_tensor(y)
    return Tensor.apply(Arctan2(), *y._operands(x))


atan2 = arctan2


# ---------------------------------------------------------------------- numpy's stacking and splitting family


def atleast_1d(x) -> Tensor:
    """``x`` with at least 1 axis (a number becomes shape (1,))."""
    x = _as_tensor(x)
    return x.reshape(1) if x.ndim == 0 else x


def atleast_2d(x) -> Tensor:
    """``x`` with at least 2 axes: a vector (n,) becomes a row (1, n)."""
    x = _as_tensor(x)
    return x.reshape(1, -1) if x.ndim < 2 else x


def atleast_3d(x) -> Tensor:
    """``x`` with at least 3 axes, as numpy: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1)."""
    x = _as_tensor(x)
    if x.ndim == 0:
        return x.reshape(1, 1, 1)
    if x.ndim == 1:
        return x.reshape(1, -1, 1)
    return x.reshape(*x.shape, 1) if x.ndim == 2 else x


def _joined(tensors, what: str) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence) or not tensors:
        raise ArgumentError(f"{what}: expects a non-empty list of tensors")
    return [_as_tensor(t) for t in tensors]


def hstack(tensors) -> Tensor:
    """Join along the second axis (the first for vectors), as numpy's ``hstack``."""
    ts = [atleast_1d(t) for t in _joined(tensors, "hstack")]
    return tensor_core.concatenate(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along the first axis, vectors taken as rows, as numpy's ``vstack``."""
    return tensor_core.concatenate([atleast_2d(t) for t in _joined(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Join along the third axis (depth), as numpy's ``dstack``."""
    return tensor_core.concatenate([atleast_3d(t) for t in _joined(tensors, "dstack")], 2)


def column_stack(tensors) -> Tensor:
    """Vectors as columns (and matrices as they are), joined along the second axis, as numpy's ``column_stack``."""
    ts = [t.reshape(-1, 1) if t.ndim < 2 else t for t in _joined(tensors, "column_stack")]
    return tensor_core.concatenate(ts, 1)


def array_split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """numpy's ``array_split``: an int n gives n pieces as equal as can be, a list of indices the pieces between
    them (``x.tensor_split``)."""
    return _as_tensor(x).tensor_split(indices_or_sections, axis)


def numpy_split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """numpy's ``split``: as ``array_split``, but an int n must divide the axis into n equal pieces. (PyTorch's
    ``split``, pieces of a given size, is ``tm.split`` and ``x.split``.)"""
    x = _as_tensor(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        (a,) = [int(axis) % x.ndim] if x.ndim and -x.ndim <= axis < x.ndim else [None]
        if a is None:
            raise ShapeError(f"split: axis {axis} is out of range for a tensor with {x.ndim} axes")
        if indices_or_sections <= 0 or x.shape[a] % indices_or_sections:
            raise ShapeError(f"split: an axis of length {x.shape[a]} cannot be split into "
                             f"{indices_or_sections} equal pieces (array_split allows unequal ones)")
    return x.tensor_split(indices_or_sections, axis)


def hsplit(x, indices_or_sections) -> list[Tensor]:
    """numpy's ``hsplit``: ``split`` along the second axis (the first for a vector)."""
    x = _as_tensor(x)
    return numpy_split(x, indices_or_sections, 0 if x.ndim == 1 else 1)


def vsplit(x, indices_or_sections) -> list[Tensor]:
    """numpy's ``vsplit``: ``split`` along the first axis (at least 2 axes)."""
    x = _as_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"vsplit: expects at least 2 axes, got shape {x.shape}")
    return numpy_split(x, indices_or_sections, 0)


def dsplit(x, indices_or_sections) -> list[Tensor]:
    """numpy's ``dsplit``: ``split`` along the third axis (at least 3 axes)."""
    x = _as_tensor(x)
    if x.ndim < 3:
        raise ShapeError(f"dsplit: expects at least 3 axes, got shape {x.shape}")
    return numpy_split(x, indices_or_sections, 2)


# ---------------------------------------------------------------------- numpy's functions given Tensors
# numpy_protocol's table (boundary's): with these, numpy-written code on Tensors (HIPS autograd's style, ``import
# numpy as np`` and Tensors in) is recorded and differentiable: np.einsum(spec, a, b) is tm.einsum(spec, a, b).


def _first_tensor_pair(a, b) -> tuple[Tensor, Any]:
    """``(a, b)`` with ``a`` made a Tensor like ``b`` when only ``b`` is one (numpy calls ``np.mod(3.0, t)``)."""
    return (a, b) if isinstance(a, Tensor) else (b._lift(a), b)


def _pair_method(name: str) -> Callable[..., Tensor]:
    def call(a, b):
        x, y = _first_tensor_pair(a, b)
        return getattr(x, name)(y)
    return call


def _unary_method(name: str) -> Callable[..., Tensor]:
    return lambda a: getattr(_as_tensor(a), name)()


def _no_out(kwargs: dict, what: str) -> None:
    if kwargs.get("out") is not None:
        raise ArgumentError(f"np.{what}(..., out=) on Tensors: not supported (the result is a new Tensor)")


def _checked_out(out, what: str, result: Tensor) -> Tensor:
    _no_out({"out": out}, what)
    return result


def _numpy_einsum(subscripts, *operands, **kwargs):
    _no_out(kwargs, "einsum")
    return einsum(subscripts, *operands)


def _numpy_round(a, decimals=0, out=None):
    _no_out({"out": out}, "round")
    return _as_tensor(a).round(decimals)


NUMPY_UFUNCS: dict[np.ufunc, Callable[..., Tensor]] = {
    **{getattr(np, name): _unary_method(name) for name in (
        "sinh", "cosh", "tan", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "sign", "floor",
        "ceil", "trunc", "log2", "log10", "exp2", "square", "reciprocal", "deg2rad", "rad2deg")},
    np.rint: _unary_method("round"), np.fabs: _unary_method("abs"), np.radians: _unary_method("deg2rad"),
    np.degrees: _unary_method("rad2deg"),
    np.remainder: _pair_method("remainder"), np.fmod: _pair_method("fmod"), np.hypot: lambda a, b: hypot(a, b),
    np.arctan2: lambda y, x: arctan2(y, x), np.logaddexp: _pair_method("logaddexp"),
    np.logaddexp2: _pair_method("logaddexp2"),
}

NUMPY_FUNCTIONS: dict[Callable, Callable[..., Any]] = {
    np.einsum: _numpy_einsum,
    np.split: numpy_split, np.array_split: array_split, np.hsplit: hsplit, np.vsplit: vsplit, np.dsplit: dsplit,
    np.tensordot: lambda a, b, axes=2: tensordot(a, b, axes),
    np.dot: lambda a, b, out=None: _checked_out(out, "dot", dot(a, b)),
    np.outer: lambda a, b, out=None: _checked_out(out, "outer", outer(a, b)),
    np.inner: inner,
    np.trace: lambda a, offset=0, axis1=0, axis2=1: _as_tensor(a).trace(offset, axis1, axis2),
    np.diagonal: lambda a, offset=0, axis1=0, axis2=1: _as_tensor(a).diagonal(offset, axis1, axis2),
    np.diag: lambda v, k=0: _as_tensor(v).diag(k),
    np.tril: lambda m, k=0: _as_tensor(m).tril(k),
    np.triu: lambda m, k=0: _as_tensor(m).triu(k),
    np.hstack: lambda tup, **kwargs: hstack(tup), np.vstack: lambda tup, **kwargs: vstack(tup),
    np.dstack: dstack, np.column_stack: column_stack,
    np.atleast_1d: atleast_1d, np.atleast_2d: atleast_2d, np.atleast_3d: atleast_3d,
    np.repeat: lambda a, repeats, axis=None: _as_tensor(a).repeat_interleave(repeats, axis),
    np.tile: lambda a, reps: _as_tensor(a).tile(reps),
    np.round: _numpy_round, np.around: _numpy_round,
    np.diff: lambda a, n=1, axis=-1: _as_tensor(a).diff(n, axis),
    np.roll: lambda a, shift, axis=None: _as_tensor(a).roll(shift, axis),
    np.fliplr: fliplr, np.flipud: flipud,
}

for _ufunc, _implementation in NUMPY_UFUNCS.items():
    numpy_protocol.register(_ufunc, _implementation)
for _numpy_function, _implementation in NUMPY_FUNCTIONS.items():
    numpy_protocol.register(_numpy_function, _implementation)
