"""PyTorch's top-level functions of tensors: ``tm.sin(x)``, ``tm.matmul(a, b)``, ``tm.cat(ts, dim=1)`` ...

Each ``tm.NAME(x, *args, **kwargs)`` is the Tensor method ``x.NAME(*args, **kwargs)``, with the same
arguments (PyTorch's and numpy's names) and the same gradient; ``x`` may also be an array or a number (it is
then made a Tensor first, as ``Tensor(x)``). The functions of several tensors (``cat``, ``stack``,
``einsum`` ...) are written out below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import tensor_core
from .errors import ArgumentError
from .tensor_core import Tensor

# The Tensor methods PyTorch also offers as functions (torch.sin(x) is x.sin()).
METHOD_FUNCTIONS = (
    "abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "erf", "softplus",
    "softmax", "log_softmax", "logsumexp", "sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "std",
    "cumsum", "matmul", "mm", "bmm", "clamp", "clip", "reshape", "flatten", "squeeze", "unsqueeze", "permute",
    "transpose", "swapaxes", "flip", "gather", "take_along_axis", "t", "numel", "pow", "masked_fill", "norm",
    "repeat_interleave", "tile", "eq", "ne", "lt", "le", "gt", "ge", "equal", "any", "all", "neg", "add", "sub",
    "mul", "div", "clone", "detach",
)

__all__ = [*METHOD_FUNCTIONS, "cat", "concat", "stack"]


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
