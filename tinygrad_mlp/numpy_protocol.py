"""numpy's functions given Tensors: ``np.tanh(np.dot(W, x) + b)`` returns a recorded Tensor, never a silent array.

A Tensor implements numpy's two protocols, ``__array_ufunc__`` (``np.exp``, ``np.add``, ``ndarray * Tensor`` ...)
and ``__array_function__`` (``np.dot``, ``np.sum``, ``np.concatenate`` ...). Each numpy function is looked up in
the tables below, the one place that says which functions dispatch:

* :data:`UFUNCS` and :data:`FUNCTIONS`: numpy function -> the Tensor computation that replaces it (recorded, so
  numpy-written code is differentiable as it is);
* :data:`VALUES_ONLY`: functions whose results carry no gradient (shapes, comparisons, ``argmax``, ``allclose``):
  computed by numpy on the values, as numpy's own result;
* anything else, given a Tensor that requires grad (with grad mode on), is refused in one line naming the
  function; without a graph to lose it runs on the values and gives numpy's result.

Writing into numpy arrays stays numpy arithmetic: ``p.data -= lr * p.grad`` computes on the values (refused only
when a Tensor that requires grad would silently leave its graph). ``np.asarray(t)`` and ``t.numpy()`` still give
the values. To add a function, ``register(np.fn, implementation)`` (or an entry in the table here), where
``implementation`` takes numpy's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import engine
from . import primitives as P
from .errors import ArgumentError, GraphError
from .ops import Maximum

__all__ = ["NumpyProtocol", "UFUNCS", "REDUCERS", "FUNCTIONS", "VALUES_ONLY", "register"]


class NumpyProtocol:
    """numpy's dispatch protocols for Tensors (mixed into :class:`~tinygrad_mlp.methods.TensorOps`)."""

    __slots__ = ()
    data: np.ndarray  # slots of Tensor (declared here for type checkers)
    requires_grad: bool

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if out is not None:  # numpy arithmetic into arrays (``p.data -= lr * p.grad``): on the values
            if any(isinstance(o, NumpyProtocol) for o in out):
                raise ArgumentError(f"np.{ufunc.__name__}(..., out=Tensor): write t.{ufunc.__name__}_(...)-style "
                                    "in-place methods or `t += ...` instead (they keep the graph)")
            _no_graph_lost(f"np.{ufunc.__name__} into a numpy array (out=)", inputs)
            if not engine.quiet:
                for listener in engine.state.listeners:  # tm.compile: a replay would not make this change
                    listener.on_effect(f"np.{ufunc.__name__}(..., out=array) on a Tensor changes an array in place, "
                                       "which a replay would not do")
            return getattr(ufunc, method)(*_values(inputs), out=out, **kwargs)
        if method == "__call__" and not kwargs:
            impl = UFUNCS.get(ufunc)
            if impl is not None:
                return impl(*inputs)
        elif method == "reduce" and ufunc in REDUCERS and set(kwargs) <= {"axis", "keepdims"}:
            return getattr(_tensor(inputs[0], inputs[0]), REDUCERS[ufunc])(**kwargs)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        if ufunc in VALUES_ONLY or not _needs_graph(inputs):
            return getattr(ufunc, method)(*_values(inputs), **kwargs)
        raise ArgumentError(f"np.{name}{' with ' + ', '.join(kwargs) if kwargs else ''} has no op for Tensors, and "
                            f"its result would lose the graph of a Tensor that requires grad; use Tensor ops "
                            f"(see the numpy table in docs/coming-from-pytorch.md), or np.{name}(t.detach().numpy()) "
                            "to drop the gradient knowingly")

    def __array_function__(self, func: Callable, types, args: tuple, kwargs: dict):
        impl = FUNCTIONS.get(func)
        if impl is not None:
            return impl(*args, **kwargs)
        name = getattr(func, "__name__", repr(func))
        if func in VALUES_ONLY or (not _needs_graph(args) and not _needs_graph(kwargs.values())):
            return func(*_values(args), **dict(zip(kwargs, _values(kwargs.values()), strict=True)))
        raise ArgumentError(f"np.{name} has no op for Tensors, and its result would lose the graph of a Tensor that "
                            f"requires grad; use Tensor ops (see the numpy table in docs/coming-from-pytorch.md), "
                            f"or np.{name}(t.detach().numpy(), ...) to drop the gradient knowingly")


# ---------------------------------------------------------------------- helpers


def _walk(values):
    """Every value in ``values``, looking into lists and tuples (np.concatenate takes a list of arrays)."""
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _walk(v)
        else:
            yield v


def _needs_graph(values) -> bool:
    """Whether a Tensor among ``values`` would record a graph (it requires grad, and grad mode is on)."""
    return engine.is_grad_enabled() and any(isinstance(v, NumpyProtocol) and v.requires_grad for v in _walk(values))


def _no_graph_lost(what: str, values) -> None:
    if _needs_graph(values):
        raise GraphError(f"{what}: a Tensor that requires grad would leave its graph; do it inside "
                         "`with tm.no_grad():`, or on t.detach()")


def _values(values) -> list:
    """``values`` with every Tensor replaced by its array (inside lists and tuples too)."""
    return [type(v)(_values(v)) if isinstance(v, (list, tuple)) else
            v.data if isinstance(v, NumpyProtocol) else v for v in values]


def _tensor(like, v):
    """``v`` as a Tensor of ``like``'s family: Tensors as they are, numbers and arrays lifted (dtype rules)."""
    return v if isinstance(v, NumpyProtocol) else like._lift(v)


def _first_tensor(values):
    return next(v for v in _walk(values) if isinstance(v, NumpyProtocol))


def _binary(op: Callable[[Any, Any], Any]) -> Callable:
    """A binary ufunc as the Tensor operator ``op``, with the Tensor first in its own dtype rules."""
    def apply(a, b):
        like: Any = a if isinstance(a, NumpyProtocol) else b
        a_t, b_t = like._operands(b) if like is a else like._operands(a, True)
        return op(a_t, b_t)
    return apply


def _maximum(a, b):
    like = _first_tensor((a, b))
    return like.apply(Maximum(), *like._operands(b if like is a else a, like is not a))


def _minimum(a, b):
    return -_maximum(-_tensor(_first_tensor((a, b)), a), -_tensor(_first_tensor((a, b)), b))


def _numpy_axis(kwargs: dict, what: str, allowed=("axis", "keepdims")) -> dict:
    """numpy's keyword arguments that the Tensor method takes too; others (out=, dtype=, where=) are refused."""
    extra = [k for k, v in kwargs.items() if k not in allowed and v is not None and v is not np._NoValue]
    if extra:
        raise ArgumentError(f"np.{what} on a Tensor: {', '.join(extra)}= is not supported")
    return {k: v for k, v in kwargs.items() if k in allowed and v is not np._NoValue}


def _reduction(name: str, allowed=("axis", "keepdims")) -> Callable:
    def reduce(a, *args, **kwargs):
        if args:  # numpy's positional axis
            kwargs["axis"] = args[0]
        return getattr(_tensor(a, a), name)(**_numpy_axis(kwargs, name, allowed))
    return reduce


def _join(method: str) -> Callable:
    def join(arrays, axis=0, **kwargs):
        _numpy_axis(kwargs, method, ())
        like = _first_tensor(arrays)
        ts = [_tensor(like, a) for a in arrays]
        if method == "stack":
            ts = [t.reshape(*t.shape[:axis % (t.ndim + 1)], 1, *t.shape[axis % (t.ndim + 1):]) for t in ts]
        return like.apply(P.Concatenate(axis), *ts)
    return join


def _where(cond, x=None, y=None):
    if x is None and y is None:  # np.where(cond): the indices, no gradient
        return np.where(_values([cond])[0])
    like = _first_tensor((x, y))
    mask = np.asarray(_values([cond])[0], dtype=bool)
    return like.apply(P.Where(mask), *like._operands(y if like is x else x, like is not x))


def _clip(a, a_min=None, a_max=None, **kwargs):
    lo, hi = kwargs.pop("min", a_min), kwargs.pop("max", a_max)
    _numpy_axis(kwargs, "clip", ())
    return _tensor(a, a).clip(lo, hi)


def _method(name: str) -> Callable:
    """``np.fn(t, *args)`` as ``t.fn(*args)``."""
    return lambda a, *args, **kwargs: getattr(_tensor(a, a), name)(*args, **kwargs)


# ---------------------------------------------------------------------- the tables

UFUNCS: dict[np.ufunc, Callable] = {
    np.add: _binary(lambda a, b: a + b),
    np.subtract: _binary(lambda a, b: a - b),
    np.multiply: _binary(lambda a, b: a * b),
    np.true_divide: _binary(lambda a, b: a / b),
    np.power: _binary(lambda a, b: a ** b),
    np.matmul: _binary(lambda a, b: a.matmul(b)),
    np.maximum: _maximum,
    np.minimum: _minimum,
    np.negative: lambda a: -a,
    np.positive: lambda a: a,
    np.exp: lambda a: a.exp(),
    np.log: lambda a: a.log(),
    np.sqrt: lambda a: a.sqrt(),
    np.absolute: lambda a: a.abs(),
    np.tanh: lambda a: a.tanh(),
    np.sin: lambda a: a.sin(),
    np.cos: lambda a: a.cos(),
    np.log1p: lambda a: a.log1p(),
    np.expm1: lambda a: a.expm1(),
    np.square: lambda a: a * a,
    np.reciprocal: lambda a: 1.0 / a,
    np.tan: lambda a: a.tan(),
    np.arcsin: lambda a: a.arcsin(),
    np.arccos: lambda a: a.arccos(),
    np.arctan: lambda a: a.arctan(),
    np.sinh: lambda a: a.sinh(),
    np.cosh: lambda a: a.cosh(),
    np.arcsinh: lambda a: a.arcsinh(),
    np.arccosh: lambda a: a.arccosh(),
    np.arctanh: lambda a: a.arctanh(),
    np.exp2: lambda a: a.exp2(),
    np.log2: lambda a: a.log2(),
    np.log10: lambda a: a.log10(),
    np.remainder: _binary(lambda a, b: a.remainder(b)),
    np.fmod: _binary(lambda a, b: a.fmod(b)),
    # piecewise constant: Tensors with gradient 0, as PyTorch's
    np.sign: lambda a: a.sign(),
    np.floor: lambda a: a.floor(),
    np.ceil: lambda a: a.ceil(),
    np.trunc: lambda a: a.trunc(),
    np.rint: lambda a: a.round(),
}

# ufunc.reduce given a Tensor: the Tensor method it is
REDUCERS = {np.add: "sum", np.maximum: "max", np.minimum: "min", np.multiply: "prod"}

FUNCTIONS: dict[Callable, Callable] = {
    np.sum: _reduction("sum"),
    np.mean: _reduction("mean"),
    np.max: _reduction("max"),
    np.min: _reduction("min"),
    np.amax: _reduction("max"),
    np.amin: _reduction("min"),
    np.prod: _reduction("prod"),
    np.var: _reduction("var", ("axis", "keepdims", "ddof")),
    np.std: _reduction("std", ("axis", "keepdims", "ddof")),
    np.cumsum: _reduction("cumsum", ("axis",)),
    np.concatenate: _join("concatenate"),
    np.stack: _join("stack"),
    np.where: _where,
    np.clip: _clip,
    np.reshape: lambda a, *args, **kwargs: _tensor(a, a).reshape(*args, **kwargs),
    np.transpose: lambda a, axes=None: _tensor(a, a).transpose(*(() if axes is None else (axes,))),
    np.swapaxes: _method("swapaxes"),
    np.squeeze: _method("squeeze"),
    np.expand_dims: _method("unsqueeze"),
    np.flip: _method("flip"),
    np.take_along_axis: _method("take_along_axis"),
    np.round: _method("round"),
    np.trace: _method("trace"),
    np.diagonal: _method("diagonal"),
    np.diag: lambda v, k=0: _tensor(v, v).diag(k),
    np.tril: lambda m, k=0: _tensor(m, m).tril(k),
    np.triu: lambda m, k=0: _tensor(m, m).triu(k),
    np.tile: lambda a, reps: _tensor(a, a).tile(*(reps if isinstance(reps, (tuple, list)) else (reps,))),
    np.repeat: lambda a, repeats, axis=None: _tensor(a, a).repeat_interleave(repeats, axis),
}
# The functions of several Tensors whose Tensor versions live above this layer (tinygrad_mlp.functions: np.dot,
# np.einsum, np.tensordot, np.arctan2, np.hypot, np.outer, np.inner, np.hstack, np.vstack and numpy's split family)
# are added to these tables there, with register().

# no gradient to lose: computed by numpy on the values, whatever requires grad. Only functions whose results are
# not values of the input (shapes, indices, booleans, text): a function returning the values themselves (np.sort,
# np.copy) would silently drop the gradient.
VALUES_ONLY: set = {
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.allclose, np.isclose, np.array_equal,
    np.array_equiv, np.count_nonzero, np.any, np.all, np.nonzero, np.array2string, np.array_repr, np.array_str,
    np.result_type, np.broadcast_shapes, np.searchsorted, np.isfinite, np.isnan, np.isinf, np.signbit, np.equal,
    np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal, np.logical_and, np.logical_or,
    np.logical_not, np.logical_xor,
}


def register(numpy_function: Callable, implementation: Callable) -> None:
    """Make ``numpy_function`` (a ufunc or a function) given Tensors call ``implementation`` (same arguments)."""
    if not callable(numpy_function) or not callable(implementation):
        raise ArgumentError("register: needs a numpy function and a function implementing it for Tensors")
    if isinstance(numpy_function, np.ufunc):
        UFUNCS[numpy_function] = implementation
    else:
        FUNCTIONS[numpy_function] = implementation
