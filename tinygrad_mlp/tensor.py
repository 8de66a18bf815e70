"""The Tensor: a numpy array that remembers how it was made.

Every operation on Tensors goes through :meth:`Tensor.apply`, which runs one
rule's forward (see :mod:`tinygrad_mlp.primitives`) and, when gradients are
wanted, records a :class:`~tinygrad_mlp.engine.Node` (the rule and its input
Tensors) on the result. Those nodes form the computation graph.
:meth:`Tensor.backward` walks it from the output back to the leaves with
:func:`tinygrad_mlp.engine.walk` and adds the gradients that reach the leaves into
their ``.grad``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from . import engine
from . import primitives as P
from .engine import Node, graph_tensors, is_grad_enabled, no_grad
from .errors import ArgumentError, DTypeError, GraphError, IndexingError, ShapeError

__all__ = ["Tensor", "DEFAULT_DTYPE", "no_grad", "is_grad_enabled", "graph_tensors", "linear", "concatenate",
           "stack", "maximum", "minimum", "where"]

DEFAULT_DTYPE = np.float32


def _as_float_array(data, dtype) -> np.ndarray:
    """Convert user data to a floating ndarray following the library's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    try:
        arr = np.asarray(data)
    except ValueError:  # numpy's complaint about a ragged nested list
        raise ShapeError("Tensor: nested lists must be rectangular (every row the same length)") from None
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise DTypeError(f"Tensor: {dtype!r} is not a dtype") from None
        if dtype.kind != "f":
            raise DTypeError(f"Tensor: dtype must be a floating type, got {dtype}")
        if arr.dtype.kind not in "fbiu":  # numpy would parse strings ('1.5' -> 1.5): refuse them as below
            raise DTypeError(f"Tensor: cannot make a float tensor from data of dtype {arr.dtype}")
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind == "f":
        # Python floats become the default float32; numpy floats keep their precision.
        return arr if from_numpy else arr.astype(DEFAULT_DTYPE)
    if arr.dtype.kind in "biu":
        return arr.astype(DEFAULT_DTYPE)
    raise DTypeError(f"Tensor: cannot make a float tensor from data of dtype {arr.dtype}")


class Tensor:
    """A float ndarray with an optional gradient and a record of the op that produced it.

    ``Tensor(data, requires_grad=False, dtype=None)``: ``data`` is a Python scalar,
    a nested list or an ndarray. Python data becomes float32; a floating ndarray
    keeps its dtype and is used as is (no copy, like ``np.asarray``); integer or
    boolean data becomes float32. Arithmetic with Python scalars keeps the dtype.
    """

    __slots__ = ("data", "grad", "requires_grad", "node", "name", "__weakref__")
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__ instead of numpy broadcasting

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data: np.ndarray = _as_float_array(data, dtype)
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.node: Node | None = None  # how this tensor was made; None for a leaf
        self.name = name

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool = False, node: Node | None = None) -> Tensor:
        """Wrap an array without any checks (the fast path used by ``apply``)."""
        t = object.__new__(Tensor)
        t.data, t.grad, t.requires_grad, t.node, t.name = data, None, requires_grad, node, None
        return t

    @staticmethod
    def apply(rule: P.Function, *inputs: Tensor) -> Tensor:
        """Run ``rule`` (a primitive) on ``inputs``; if gradients are wanted and an input requires one, record it.

        This is how every op is made, and how to use a rule of your own:
        ``Tensor.apply(Softplus(), x)``.
        """
        # one loop over the inputs, not a list comprehension and a second loop (1% of a 784-16-16-10 step)
        arrays, any_requires_grad = [], False
        for x in inputs:
            arrays.append(x.data)
            if x.requires_grad:
                any_requires_grad = True
        try:
            data = rule.forward(*arrays)
        except ValueError as e:  # numpy's complaints about shapes, re-said with the op's name and shapes
            what = (f"cannot be applied to shape {inputs[0].shape}" if len(inputs) == 1 else
                    "incompatible shapes " + " and ".join(str(x.shape) for x in inputs))
            raise ShapeError(f"{rule.name.lower()}: {what} ({e})") from None
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        node = Node(rule, inputs) if any_requires_grad and engine.grad_enabled else None
        out = object.__new__(Tensor)  # Tensor._make, inlined: it runs for every op (0.4% of a step's instructions)
        out.data, out.grad, out.requires_grad, out.node, out.name = data, None, node is not None, node, None
        if engine.listeners:
            for listener in engine.listeners:
                listener.on_forward(rule, inputs, out)
        return out

    # ------------------------------------------------------------------ attributes

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op that records a graph."""
        return self.node is None

    @property
    def op(self) -> str | None:
        """Name of the primitive that produced this tensor (``None`` for a leaf)."""
        return None if self.node is None else self.node.rule.name

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ShapeError(f"item: only a one-element tensor has an item, this one has shape {self.shape}")
        return self.data.item()

    def __float__(self) -> float:
        return self.item()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise ArgumentError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __bool__(self) -> bool:
        """The truth of a one-element tensor (``bool(Tensor([0.]))`` is False); more elements are refused."""
        if self.data.size != 1:
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use (t.data != 0).any() or .all()")
        return bool(self.data.item())

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(t)`` is ``t``'s values (so ``np.allclose(t, x)`` works); no graph goes with them."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def tolist(self):
        """The values as nested Python lists (a float for a 0-d tensor)."""
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor._make(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; returns self."""
        if self.node is not None:
            raise GraphError("requires_grad_: only leaf tensors can change requires_grad; use detach() first")
        self.requires_grad = requires_grad
        return self

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="Tensor(")
        extra = "" if self.dtype == DEFAULT_DTYPE else f", dtype={self.dtype}"
        if self.node is not None:
            extra += f", op={self.node.rule.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ------------------------------------------------------------------ constructors

    @staticmethod
    def zeros(*shape: int, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
        return Tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad)

    @staticmethod
    def ones(*shape: int, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
        return Tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad)

    @staticmethod
    def randn(*shape: int, seed: int | None = None, dtype=DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
        """Standard normal values, from ``np.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        return Tensor(rng.standard_normal(_shape_arg(shape)).astype(dtype), requires_grad)

    # ------------------------------------------------------------------ arithmetic

    def _lift(self, other) -> Tensor:
        """Turn a scalar or array operand into a constant Tensor. Python numbers take this tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float)):
            return Tensor._make(np.asarray(other, dtype=self.data.dtype))
        arr = np.asarray(other)
        if arr.dtype.kind != "f":
            if arr.dtype.kind not in "biu":
                raise DTypeError(f"cannot combine a tensor with data of dtype {arr.dtype}")
            arr = arr.astype(self.data.dtype)
        return Tensor._make(arr)

    def _operands(self, other, reflected: bool = False) -> tuple[Tensor, Tensor]:
        """``(self, other)`` (or reversed) as Tensors, after the dtype rule for operands without dimensions.

        The rule, PyTorch's: an operand without dimensions (a Python number, a numpy scalar, a 0-d array
        or a 0-d Tensor) takes the dtype of an operand with dimensions, so ``float32 vector * Tensor(np.array(2.0))``
        stays float32 (numpy 2 would give float64). Two operands both with, or both without, dimensions
        promote as numpy does (float32 with float64 gives float64).
        """
        o = self._lift(other)
        a = self
        if o.data.dtype is not a.data.dtype and (o.data.ndim == 0) != (a.data.ndim == 0) \
                and o.data.dtype != a.data.dtype:
            if o.data.ndim == 0:
                o = o.astype(a.data.dtype)
            else:
                a = a.astype(o.data.dtype)
        return (o, a) if reflected else (a, o)

    def __add__(self, other) -> Tensor:
        return Tensor.apply(P.Add(), *self._operands(other))

    def __radd__(self, other) -> Tensor:
        return Tensor.apply(P.Add(), *self._operands(other, True))

    def __sub__(self, other) -> Tensor:
        return Tensor.apply(P.Sub(), *self._operands(other))

    def __rsub__(self, other) -> Tensor:
        return Tensor.apply(P.Sub(), *self._operands(other, True))

    def __mul__(self, other) -> Tensor:
        return Tensor.apply(P.Mul(), *self._operands(other))

    def __rmul__(self, other) -> Tensor:
        return Tensor.apply(P.Mul(), *self._operands(other, True))

    def __truediv__(self, other) -> Tensor:
        return Tensor.apply(P.Div(), *self._operands(other))

    def __rtruediv__(self, other) -> Tensor:
        return Tensor.apply(P.Div(), *self._operands(other, True))

    def __pow__(self, other) -> Tensor:
        return Tensor.apply(P.Pow(), *self._operands(other))

    def __rpow__(self, other) -> Tensor:
        return Tensor.apply(P.Pow(), *self._operands(other, True))

    def __neg__(self) -> Tensor:
        return Tensor.apply(P.Neg(), self)

    def __matmul__(self, other) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other) -> Tensor:
        return self._lift(other).matmul(self)

    # Comparisons, == and != included, give plain boolean arrays (elementwise, as numpy and PyTorch): they have
    # no gradient. A Tensor stays hashable by identity, so it can be a dict key or a set member.
    __hash__ = object.__hash__

    def __eq__(self, other) -> np.ndarray:  # type: ignore[override]
        return self.data == _data_of(other)

    def __ne__(self, other) -> np.ndarray:  # type: ignore[override]
        return self.data != _data_of(other)

    def __lt__(self, other) -> np.ndarray:
        return self.data < _data_of(other)

    def __le__(self, other) -> np.ndarray:
        return self.data <= _data_of(other)

    def __gt__(self, other) -> np.ndarray:
        return self.data > _data_of(other)

    def __ge__(self, other) -> np.ndarray:
        return self.data >= _data_of(other)

    def matmul(self, other) -> Tensor:
        """Matrix product with numpy's rules: 1-D operands are treated as a row / column vector."""
        other = self._lift(other)
        if self.ndim == 0 or other.ndim == 0:
            raise ShapeError(f"matmul: operands must have at least 1 dimension, "
                             f"got shapes {self.shape} and {other.shape}")
        x = self.reshape(1, -1) if self.ndim == 1 else self
        y = other.reshape(-1, 1) if other.ndim == 1 else other
        if x.shape[-1] != y.shape[-2]:
            raise ShapeError(f"matmul: shapes {self.shape} and {other.shape} are not aligned "
                             f"({x.shape[-1]} != {y.shape[-2]})")
        out = Tensor.apply(P.MatMul(), x, y)
        if self.ndim == 1 or other.ndim == 1:
            drop = ([-2] if self.ndim == 1 else []) + ([-1] if other.ndim == 1 else [])
            out = out.reshape(*[n for i, n in enumerate(out.shape) if i - out.ndim not in drop])
        return out

    # ------------------------------------------------------------------ elementwise functions

    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return Tensor.apply(P.Exp(), self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm (domain x > 0)."""
        return Tensor.apply(P.Log(), self)

    def sqrt(self) -> Tensor:
        """Elementwise square root, as ``x ** 0.5`` (domain x > 0 for a finite gradient)."""
        return self**0.5

    def abs(self) -> Tensor:
        """Elementwise |x|, as ``maximum(x, -x)`` (gradient 0 at x = 0)."""
        return maximum(self, -self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return Tensor.apply(P.Tanh(), self)

    def sigmoid(self) -> Tensor:
        """Elementwise logistic function 1 / (1 + e**-x)."""
        return Tensor.apply(P.Sigmoid(), self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0)."""
        return Tensor.apply(P.Relu(), self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        """Limit values to [lo, hi]; gradient 1 inside (boundaries included), 0 outside."""
        out = self
        if lo is not None:
            out = where(out.data < lo, lo, out)
        if hi is not None:  # tested on the lower-clipped values, so lo > hi gives hi everywhere, as numpy does
            out = where(out.data > hi, hi, out)
        return out

    # ------------------------------------------------------------------ reductions
    # Every reduction takes numpy's ``axis=``/``keepdims=`` or, the same, PyTorch's ``dim=``/``keepdim=``.

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Sum over ``axis`` (all axes by default)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "sum")
        return Tensor.apply(P.Sum(axis, keepdims), self)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
             dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Arithmetic mean over ``axis``, as ``sum / count``."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "mean")
        total = self.sum(axis, keepdims)  # first, so a bad axis is refused by Sum with a ShapeError
        count = int(np.prod([self.shape[a] for a in P.normalize_axis(axis, self.ndim)]))
        return total / count

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Maximum over ``axis``; tied maxima share the gradient equally. (A Tensor: see ``argmax`` for where.)"""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "max")
        return Tensor.apply(P.Max(axis, keepdims), self)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
            dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Minimum over ``axis``, as ``-max(-x)``."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "min")
        return -((-self).max(axis, keepdims))

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> np.ndarray:
        """Index of the largest value over ``axis`` (of the flattened tensor by default): an integer array, no
        gradient. Ties give the first index."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "argmax")
        return _arg_reduce(np.argmax, self, axis, keepdims, "argmax")

    def argmin(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> np.ndarray:
        """Index of the smallest value over ``axis``: an integer array, no gradient."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "argmin")
        return _arg_reduce(np.argmin, self, axis, keepdims, "argmin")

    def var(self, axis: int | Sequence[int] | None = None, ddof: float = 0, keepdims: bool = False, *,
            correction: float | None = None, dim: int | Sequence[int] | None = None,
            keepdim: bool | None = None) -> Tensor:
        """Variance over ``axis``: ``sum((x - mean)**2) / (n - ddof)``.

        ``ddof=0`` (numpy's default) is the biased variance; ``ddof=1`` (or PyTorch's ``correction=1``, PyTorch's
        default) the unbiased one. ``n - ddof`` must be positive.
        """
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "var")
        if correction is not None:
            if ddof:
                raise ArgumentError("var: give ddof= or correction= (the same thing), not both")
            ddof = correction
        centered = self - self.mean(axis, keepdims=True)
        count = int(np.prod([self.shape[a] for a in _checked_axes(axis, self.ndim, "var")]))
        if not count - ddof > 0:
            raise ArgumentError(f"var: {count} values with ddof={ddof} leave no degrees of freedom")
        return (centered * centered).sum(axis, keepdims) / (count - ddof)

    def std(self, axis: int | Sequence[int] | None = None, ddof: float = 0, keepdims: bool = False, *,
            correction: float | None = None, dim: int | Sequence[int] | None = None,
            keepdim: bool | None = None) -> Tensor:
        """Standard deviation, ``sqrt(var(...))``, with the same arguments (``ddof=0`` by default)."""
        return self.var(axis, ddof, keepdims, correction=correction, dim=dim, keepdim=keepdim).sqrt()

    def prod(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
             dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """Product over ``axis`` (all axes by default).

        Composed of products of halves (a tree of ``log2(n)`` levels of ``Mul``), so the gradient is exact where
        some factors are 0 (it is not ``out / x``), and derivatives of any order come with it.
        """
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "prod")
        axes = _checked_axes(axis, self.ndim, "prod")
        rest = [i for i in range(self.ndim) if i not in axes]
        x = self if list(rest) + list(axes) == list(range(self.ndim)) else self.transpose(tuple(rest + list(axes)))
        lead = tuple(self.shape[i] for i in rest)
        n = int(np.prod([self.shape[a] for a in axes]))
        x = x.reshape(*lead, n)
        if n == 0:  # the empty product is 1 (kept in the graph, with a zero gradient for the empty input)
            x = x.sum(axis=-1, keepdims=True) + 1
        while x.shape[-1] > 1:
            m = x.shape[-1]
            if m % 2:
                x = concatenate([x, Tensor._make(np.ones((*lead, 1), dtype=self.dtype))], axis=-1)
                m += 1
            x = x[..., : m // 2] * x[..., m // 2:]
        kept = tuple(1 if i in axes else s for i, s in enumerate(self.shape)) if keepdims else lead
        return x.reshape(kept)

    def logsumexp(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
                  dim: int | Sequence[int] | None = None, keepdim: bool | None = None) -> Tensor:
        """``log(sum(exp(x)))`` over ``axis``, stable: the maximum is taken out first (as a constant, which leaves
        the gradient, ``softmax(x)``, exact), so no exp overflows and large negative values do not all vanish."""
        axis, keepdims = _aliases(axis, dim, keepdims, keepdim, "logsumexp")
        axes = _checked_axes(axis, self.ndim, "logsumexp")
        with np.errstate(invalid="ignore"):
            top = np.max(self.data, axis=axes, keepdims=True, initial=-np.inf)
        top = np.where(np.isfinite(top), top, 0).astype(self.dtype)  # all -inf (or empty): shift by nothing
        with np.errstate(divide="ignore"):
            out = (self - top).exp().sum(axes, keepdims=True).log() + top
        if keepdims:
            return out
        return out.reshape(tuple(s for i, s in enumerate(self.shape) if i not in axes))

    def log_softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """``x - log(sum(exp(x)))`` along ``axis`` (the last by default); stable for any finite logits (a fused
        primitive)."""
        axis, _ = _aliases(axis, dim, False, None, "log_softmax")
        return Tensor.apply(P.LogSoftmax(-1 if axis is None else axis), self)

    def softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """``exp(x) / sum(exp(x))`` along ``axis`` (the last by default), as ``exp(log_softmax(x))``."""
        return self.log_softmax(axis, dim=dim).exp()

    def cumsum(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Cumulative sum along ``axis`` (of the flattened tensor when None, as numpy)."""
        axis, _ = _aliases(axis, dim, False, None, "cumsum")
        if axis is None:
            return Tensor.apply(P.Cumsum(0), self.reshape(-1))
        (a,) = _checked_axes(axis, self.ndim, "cumsum") if isinstance(axis, (int, np.integer)) else (None,)
        if a is None:
            raise ArgumentError(f"cumsum: axis must be one int (or None), got {axis!r}")
        return Tensor.apply(P.Cumsum(a), self)

    # ------------------------------------------------------------------ more elementwise functions

    def log1p(self) -> Tensor:
        """Elementwise ``log(1 + x)``, exact for tiny x (domain x > -1)."""
        return Tensor.apply(P.Log1p(), self)

    def expm1(self) -> Tensor:
        """Elementwise ``exp(x) - 1``, exact for tiny x."""
        return Tensor.apply(P.Expm1(), self)

    def sin(self) -> Tensor:
        """Elementwise sine."""
        return Tensor.apply(P.Sin(), self)

    def cos(self) -> Tensor:
        """Elementwise cosine."""
        return Tensor.apply(P.Cos(), self)

    def erf(self) -> Tensor:
        """Elementwise error function (exact to float64 rounding)."""
        return Tensor.apply(P.Erf(), self)

    def softplus(self, beta: float = 1.0) -> Tensor:
        """Elementwise ``log(1 + exp(beta * x)) / beta``, stable for any x (a primitive for ``beta = 1``)."""
        if beta == 1:
            return Tensor.apply(P.Softplus(), self)
        if not beta > 0:
            raise ArgumentError(f"softplus: beta must be > 0, got {beta}")
        return Tensor.apply(P.Softplus(), self * beta) / beta

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """Elementwise ``x`` for ``x > 0``, else ``negative_slope * x`` (derivative ``negative_slope`` at 0, as
        PyTorch)."""
        return where(self.data > 0, self, self * negative_slope)

    def elu(self, alpha: float = 1.0) -> Tensor:
        """Elementwise ``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

        The exponential is taken only where it is used (elsewhere of 0), so a large positive x cannot overflow
        it and send a NaN back through the unused branch.
        """
        positive = self.data > 0
        return where(positive, self, where(positive, 0.0, self).expm1() * alpha)

    def gelu(self, approximate: str = "none") -> Tensor:
        """Elementwise GELU, ``x * Phi(x)`` with ``Phi`` the standard normal CDF.

        ``approximate="none"`` (default, PyTorch's) is the exact form ``0.5 x (1 + erf(x / sqrt 2))``;
        ``"tanh"`` the approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))`` (GPT-2's; within
        about 1e-3 of the exact form). Both are exact derivatives of what they compute.
        """
        if approximate == "none":
            return self * ((self * _SQRT_HALF).erf() + 1) * 0.5
        if approximate == "tanh":
            inner = (self + self * self * self * 0.044715) * _SQRT_2_OVER_PI
            return self * (inner.tanh() + 1) * 0.5
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")

    def silu(self) -> Tensor:
        """Elementwise ``x * sigmoid(x)`` (also called swish)."""
        return self * self.sigmoid()

    # ------------------------------------------------------------------ dtype

    def astype(self, dtype) -> Tensor:
        """This tensor in the floating ``dtype`` (itself if already), differentiable: the gradient comes back in
        this tensor's dtype."""
        try:
            target = np.dtype(dtype)
        except TypeError:
            raise DTypeError(f"astype: {dtype!r} is not a dtype") from None
        if target.kind != "f":
            raise DTypeError(f"astype: tensors hold floats, got dtype {target}")
        if target == self.data.dtype:
            return self
        return Tensor.apply(P.Cast(target), self)

    def float(self) -> Tensor:
        """``astype(float32)``."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """``astype(float64)``."""
        return self.astype(np.float64)

    # ------------------------------------------------------------------ movement

    def reshape(self, *shape) -> Tensor:
        """Same data in a new shape (one entry may be -1); ``reshape(2, 3)`` or ``reshape((2, 3))``."""
        shape = _shape_arg(shape)
        if shape == self.shape:
            return self
        return Tensor.apply(P.Reshape(shape), self)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes ``start_dim`` .. ``end_dim`` (all, by default) into one, as PyTorch."""
        n = max(self.ndim, 1)
        if not (-n <= start_dim < n and -n <= end_dim < n) or start_dim % n > end_dim % n:
            raise ShapeError(f"flatten: dims {start_dim}..{end_dim} do not fit a tensor of shape {self.shape}")
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % n, end_dim % n
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(*self.shape[:start], merged, *self.shape[end + 1:])

    def squeeze(self, axis: int | Sequence[int] | None = None, *, dim: int | Sequence[int] | None = None) -> Tensor:
        """Drop size-1 axes: all of them, or those of ``axis``; an axis of another size is refused (as numpy)."""
        axis, _ = _aliases(axis, dim, False, None, "squeeze")
        axes = tuple(i for i, s in enumerate(self.shape) if s == 1) if axis is None else \
            _checked_axes(axis, self.ndim, "squeeze")
        wrong = [a for a in axes if self.shape[a] != 1]
        if wrong:
            raise ShapeError(f"squeeze: axis {wrong[0]} of shape {self.shape} has size {self.shape[wrong[0]]}, not 1")
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Insert a size-1 axis at position ``axis`` (``-1``: at the end), as PyTorch's unsqueeze / numpy's
        expand_dims."""
        axis, _ = _aliases(axis, dim, False, None, "unsqueeze")
        n = self.ndim + 1
        if not isinstance(axis, (int, np.integer)) or not -n <= axis < n:
            raise ShapeError(f"unsqueeze: axis {axis!r} is out of range for a result of {n} axes")
        a = int(axis) % n
        return self.reshape(*self.shape[:a], 1, *self.shape[a:])

    def transpose(self, *axes) -> Tensor:
        """Permute axes as numpy: ``transpose()`` reverses them, ``transpose((2, 0, 1))`` or ``transpose(2, 0, 1)``
        lists them all.

        Two ints swap those two axes, as PyTorch (numpy refuses them unless the tensor has 2 axes). On a 2-D
        tensor ``transpose(0, 1)`` is refused: numpy reads it as "keep the order", PyTorch as "swap", and which
        one you meant cannot be told; write ``.T``, ``swapaxes(0, 1)`` or ``permute(1, 0)``.
        """
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            if self.ndim == 2 and all(-2 <= a < 2 for a in axes) and (axes[0] % 2, axes[1] % 2) == (0, 1):
                raise ArgumentError("transpose(0, 1) of a 2-D tensor is ambiguous (numpy: no change; PyTorch: swap); "
                                    "write .T, swapaxes(0, 1) or permute(1, 0)")
            return self.swapaxes(*axes)
        axes = _shape_arg(axes) if axes else tuple(reversed(range(self.ndim)))
        n = self.ndim
        if not all(-n <= a < n for a in axes) or sorted(a % n for a in axes) != list(range(n)):
            raise ShapeError(f"transpose: axes {axes} are not a permutation of the {n} axes of shape {self.shape}")
        return Tensor.apply(P.Transpose(tuple(a % n for a in axes)), self)

    def permute(self, *axes) -> Tensor:
        """Reorder the axes: ``permute(2, 0, 1)`` (or a tuple) lists every axis once, as PyTorch."""
        axes = _shape_arg(axes)
        n = self.ndim
        if len(axes) != n or not all(-n <= a < n for a in axes) or sorted(a % n for a in axes) != list(range(n)):
            raise ShapeError(f"permute: {axes} is not a permutation of the {n} axes of shape {self.shape}")
        return Tensor.apply(P.Transpose(tuple(a % n for a in axes)), self)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes (numpy's swapaxes, PyTorch's transpose(a, b))."""
        (a,) = _checked_axes(axis1, self.ndim, "swapaxes")
        (b,) = _checked_axes(axis2, self.ndim, "swapaxes")
        order = list(range(self.ndim))
        order[a], order[b] = order[b], order[a]
        return Tensor.apply(P.Transpose(tuple(order)), self)

    @property
    def T(self) -> Tensor:
        """All axes reversed (the matrix transpose for 2-D)."""
        return self.transpose()

    def expand(self, *shape) -> Tensor:
        """Broadcast to ``shape`` without copying; the gradient is summed back."""
        return Tensor.apply(P.Expand(_shape_arg(shape)), self)

    def flip(self, axis: int | Sequence[int] | None = None, *, dim: int | Sequence[int] | None = None) -> Tensor:
        """Reverse the order along ``axis`` (all axes by default, as numpy)."""
        axis, _ = _aliases(axis, dim, False, None, "flip")
        axes = _checked_axes(axis, self.ndim, "flip")
        if not axes:
            return self
        return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]

    def take_along_axis(self, indices, axis: int) -> Tensor:
        """numpy's ``take_along_axis``: ``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis``;
        ``indices`` (integers) has this tensor's number of axes; its other axes broadcast with this tensor's."""
        return _along_axis(self, indices, axis, "take_along_axis", broadcast=True)

    def gather(self, dim: int, index) -> Tensor:
        """PyTorch's ``gather``: ``out[i][j] = x[index[i][j]][j]`` for ``dim=0`` (and so on); ``index`` has this
        tensor's number of axes, and the result its shape."""
        return _along_axis(self, index, dim, "gather", broadcast=False)

    def __getitem__(self, index) -> Tensor:
        """Basic slicing and integer-array indexing, as numpy (the gradient scatters back)."""
        try:
            return Tensor.apply(P.GetItem(_index_arg(index)), self)
        except (IndexError, TypeError) as e:  # an IndexingError is also an IndexError: `for row in t` stops at it
            raise IndexingError(f"index {index!r} does not fit a tensor of shape {self.shape} ({e})") from None

    # ------------------------------------------------------------------ backward

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``gradient`` is the seed (the gradient of some final scalar with respect
        to ``self``); it may be left out only when ``self`` has one element, and
        is then 1. Unless ``retain_graph`` is true, the graph is released as it is
        walked, so a second backward through it raises :class:`GraphError`.
        With ``create_graph=True`` the gradients are themselves Tensors with a
        graph (for gradients of gradients); it implies ``retain_graph``.
        """
        if not self.requires_grad:
            raise GraphError("backward: this tensor does not require grad and has no graph "
                             "(did you forget requires_grad=True, or compute it under no_grad()?)")
        array = engine.initial_gradient(self, _data_of(gradient))
        seed = Tensor._make(array) if create_graph else array
        if self.node is None:  # the output is itself a leaf
            _accumulate(self, seed)
            return
        steps = engine.walk([self], [seed], keep_graph=retain_graph or create_graph, create_graph=create_graph)
        for _out, _rule, _inputs, g, input_grads, leaf_grads in steps:
            for leaf, grad in leaf_grads:
                # an array that also went elsewhere (g passed through, or one array for two inputs) is not the
                # leaf's to keep and add into: _accumulate copies it
                _accumulate(leaf, grad, shared=grad is g or _given_twice(grad, input_grads))


def _given_twice(grad, grads: list) -> bool:
    """Whether the array ``grad`` is given to two inputs of one step."""
    count = 0
    for other in grads:
        if other is grad:
            count += 1
    return count > 1


def _accumulate(leaf: Tensor, grad, shared: bool = True) -> None:
    """Add ``grad`` (an array, or a Tensor with ``create_graph``) into ``leaf.grad``.

    A leaf used twice, or in two backward calls, gets the sum, added in place: the
    leaf's array is its own. So the first gradient is adopted as it is only when
    nothing else holds it (not ``shared``, a fresh writable array of the leaf's
    dtype, not a view); else it is copied. Adopting rather than copying saves 7%
    of the instructions of a 784-16-16-10 training step (copies of the weights'
    gradients).
    """
    if isinstance(grad, Tensor):  # create_graph: keep the gradient's own graph
        if leaf.grad is not None:
            leaf.grad = leaf.grad + grad
        else:  # one without a graph (maybe shared, or a read-only broadcast) gets its own array, as below
            leaf.grad = grad if grad.requires_grad else Tensor._make(np.array(grad.data, dtype=leaf.data.dtype))
    elif leaf.grad is None:
        own = not shared and grad.base is None and grad.flags.writeable and grad.dtype == leaf.data.dtype
        leaf.grad = Tensor._make(grad if own else np.array(grad, dtype=leaf.data.dtype))
    elif leaf.grad.requires_grad:  # a gradient with a graph (from create_graph) is never written in place
        leaf.grad = leaf.grad + Tensor._make(grad)
    else:
        leaf.grad.data += grad


# ---------------------------------------------------------------------- argument helpers


def _shape_arg(shape) -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise ShapeError(f"a shape is made of ints, got {shape!r}") from None


def _index_arg(index):
    """Replace Tensors inside an index by integer arrays."""
    if isinstance(index, tuple):
        return tuple(_index_arg(i) for i in index)
    if isinstance(index, Tensor):
        return index.data.astype(np.intp)
    return index


def _data_of(v):
    return v.data if isinstance(v, Tensor) else v


_SQRT_HALF = float(np.sqrt(0.5))
_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))


def _aliases(axis, dim, keepdims, keepdim, what: str):
    """numpy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim`` (the same things): one of each pair."""
    if dim is not None:
        if axis is not None:
            raise ArgumentError(f"{what}: give axis= or dim= (the same thing), not both")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise ArgumentError(f"{what}: give keepdims= or keepdim= (the same thing), not both")
        keepdims = keepdim
    return axis, bool(keepdims)


def _checked_axes(axis, ndim: int, what: str) -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence) as non-negative ints, or a ShapeError naming ``what``."""
    try:
        axes = P.normalize_axis(axis, ndim)
    except (np.exceptions.AxisError, TypeError):
        raise ShapeError(f"{what}: axis {axis!r} is out of range for a tensor with {ndim} axes") from None
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{what}: axis {axis!r} repeats an axis")
    return axes


def _arg_reduce(fn, t: Tensor, axis, keepdims: bool, what: str) -> np.ndarray:
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise ArgumentError(f"{what}: axis must be one int or None, got {axis!r}")
    if axis is not None:
        _checked_axes(axis, t.ndim, what)
    if t.size == 0:
        raise ShapeError(f"{what}: a tensor of shape {t.shape} has no elements to choose from")
    return np.asarray(fn(t.data, axis=axis, keepdims=keepdims))


def _along_axis(t: Tensor, indices, axis, what: str, broadcast: bool) -> Tensor:
    """``t`` indexed by ``indices`` along ``axis`` and by position along every other axis (one ``GetItem``)."""
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and np.all(idx == np.round(idx)):
            idx = idx.astype(np.intp)
        else:
            raise DTypeError(f"{what}: indices must be integers, got dtype {idx.dtype}")
    if idx.ndim != t.ndim:
        raise ShapeError(f"{what}: indices of shape {idx.shape} need as many axes as the tensor {t.shape}")
    if not isinstance(axis, (int, np.integer)):
        raise ArgumentError(f"{what}: axis must be one int, got {axis!r}")
    (a,) = _checked_axes(axis, t.ndim, what)
    sizes = t.shape if broadcast else idx.shape
    if not broadcast and any(idx.shape[i] > t.shape[i] for i in range(t.ndim) if i != a):
        raise ShapeError(f"{what}: index of shape {idx.shape} is larger than the tensor {t.shape} off axis {a}")
    parts = []
    for i in range(t.ndim):
        if i == a:
            parts.append(idx)
        else:
            shape = [1] * t.ndim
            shape[i] = sizes[i]
            parts.append(np.arange(sizes[i]).reshape(shape))
    try:
        np.broadcast_shapes(*(p.shape for p in parts))
    except ValueError:
        raise ShapeError(f"{what}: indices of shape {idx.shape} do not broadcast with the tensor {t.shape}") from None
    return t[tuple(parts)]


# ---------------------------------------------------------------------- module-level functions


def _tensors(*values) -> list[Tensor]:
    """Make Tensors of all ``values``; plain numbers and arrays take the dtype of the first Tensor among them."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    ts = [v if isinstance(v, Tensor) else like._lift(v) if like is not None else Tensor(v) for v in values]
    # the dtype rule of Tensor._operands: operands without dimensions take the dtype of those with them
    dims = [t.data.dtype for t in ts if t.data.ndim]
    if dims and len(dims) < len(ts):
        target = np.result_type(*dims)
        ts = [t.astype(target) if not t.data.ndim and t.data.dtype != target else t for t in ts]
    return ts


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (as ``np.concatenate``)."""
    if not tensors:
        raise ShapeError("concatenate: needs at least one tensor")
    return Tensor.apply(P.Concatenate(axis), *_tensors(*tensors))


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis (as ``np.stack``), as reshape + concatenate."""
    if not tensors:
        raise ShapeError("stack: needs at least one tensor")
    ts = _tensors(*tensors)
    shapes = {t.shape for t in ts}
    if len(shapes) != 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    ndim = ts[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ShapeError(f"stack: axis {axis} is out of range for {ndim}-D result")
    axis %= ndim
    return concatenate([t.reshape(*t.shape[:axis], 1, *t.shape[axis:]) for t in ts], axis)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``: x (batch, in), weight (out, in), bias (out,) -> (batch, out).

    A single fused primitive for the common 2-D case (one graph node per layer);
    other ranks fall back to the composite ``matmul`` + ``add``.
    """
    if not (isinstance(x, Tensor) and isinstance(weight, Tensor)):
        x, weight = _tensors(x, weight)
    if bias is None:
        return x @ weight.T
    if not isinstance(bias, Tensor):
        bias = x._lift(bias)
    if x.data.ndim == 2 and weight.data.ndim == 2 and bias.data.ndim == 1:
        return Tensor.apply(P.Linear(), x, weight, bias)
    return x @ weight.T + bias


def maximum(x, y) -> Tensor:
    """Elementwise maximum with broadcasting; at ties the gradient is split equally."""
    return Tensor.apply(P.Maximum(), *_tensors(x, y))


def minimum(x, y) -> Tensor:
    """Elementwise minimum, as ``-maximum(-x, -y)``."""
    x, y = _tensors(x, y)
    return -maximum(-x, -y)


def where(cond, x, y) -> Tensor:
    """``x`` where ``cond`` is true, else ``y`` (broadcasting). ``cond`` is a constant boolean mask."""
    return Tensor.apply(P.Where(np.asarray(_data_of(cond), dtype=bool)), *_tensors(x, y))
