"""The Tensor: a numpy array that remembers how it was made.

Every operation on Tensors goes through :meth:`Tensor.apply`, which runs one rule's forward (see
:mod:`tinygrad_mlp.primitives`) and, when gradients are wanted, records a :class:`~tinygrad_mlp.engine.Node` (the
rule and its input Tensors) on the result. Those nodes form the computation graph. :meth:`Tensor.backward` walks it
from the output back to the leaves with :func:`tinygrad_mlp.engine.walk` and adds the gradients that reach the
leaves into their ``.grad``.

This file holds what a Tensor is (its data, ``apply``, ``backward``, Python's arithmetic operators and the dtype
rules) and the functions of several tensors; the named methods and comparisons (``exp``, ``sum``, ``reshape``, ``<``
...) it inherits from :class:`tinygrad_mlp.methods.TensorOps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np

from . import engine
from . import primitives as P
from .dtypes import float_dtype, get_default_dtype, operand_dtypes, scalar_dtype
from .engine import Node, graph_tensors, is_grad_enabled, no_grad
from .errors import DTypeError, GraphError, IndexingError, ShapeError
from .methods import TensorOps, float_array, initial_gradient, made_from, retained, values_of
from .ops import Linear, Maximum, Take

__all__ = ["Tensor", "DEFAULT_DTYPE", "no_grad", "is_grad_enabled", "graph_tensors", "linear", "concatenate",
           "stack", "maximum", "minimum", "where"]

DEFAULT_DTYPE = np.float32  # the default float dtype until tm.set_default_dtype changes it (tm.get_default_dtype)


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
        dtype = float_dtype(dtype, "Tensor")
        if arr.dtype.kind not in "fbiu":  # numpy would parse strings ('1.5' -> 1.5): refuse them as below
            raise DTypeError(f"Tensor: cannot make a float tensor from data of dtype {arr.dtype}")
        out = arr.astype(dtype, copy=False)
    elif arr.dtype.kind == "f" and from_numpy:  # numpy floats keep their precision, used as they are
        out = arr
    elif arr.dtype.kind in "fbiu":  # Python floats, integers and booleans become the default dtype
        out = arr.astype(get_default_dtype())
    else:
        raise DTypeError(f"Tensor: cannot make a float tensor from data of dtype {arr.dtype}")
    return out if out is data else made_from(out, partial(float_array, dtype=out.dtype), data)


class Tensor(TensorOps):
    """A float ndarray with an optional gradient and a record of the op that produced it.

    ``Tensor(data, requires_grad=False, dtype=None)``: ``data`` is a Python scalar, a nested list or an ndarray.
    Python data becomes the default dtype (float32 unless ``tm.set_default_dtype`` changed it); a floating ndarray
    keeps its dtype and is used as is (no copy, like ``np.asarray``); integer or boolean data becomes the default
    dtype. Arithmetic with Python scalars keeps the dtype. (Tensors of bools or integers come from comparisons,
    ``argmax``, ``tm.tensor`` ...: see :mod:`tinygrad_mlp.dtypes`.)
    """

    __slots__ = ("data", "grad", "requires_grad", "node", "name", "version", "__weakref__")  # version: inplace.py

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data: np.ndarray = _as_float_array(data, dtype)
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.node: Node | None = None  # how this tensor was made; None for a leaf
        self.name = name

    @staticmethod
    def wrap(data: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A leaf around the array ``data`` as it is: no copy, no conversion, no checks.

        For arrays your own code has just made (a gradient, an optimizer's update, integer labels for
        ``OneHot``); anything else should go through ``Tensor(data)``, which checks and converts it.
        """
        t = object.__new__(Tensor)
        t.data, t.grad, t.requires_grad, t.node, t.name = data, None, requires_grad, None, None
        return t

    @staticmethod
    def apply(rule: P.Function, *inputs: Tensor) -> Tensor:
        """Run ``rule`` (a primitive) on ``inputs``; if gradients are wanted and an input requires one, record it.

        This is how every op is made, and how to use a rule of your own: ``Tensor.apply(Softplus(), x)``.
        """
        # one loop over the inputs, not a list comprehension and a second loop (fewer instructions per op)
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
        node = Node(rule, inputs) if any_requires_grad and (engine.quiet or engine.state.grad_enabled) else None
        out = object.__new__(Tensor)  # Tensor.wrap, inlined: it runs for every op
        out.data, out.grad, out.name = data, None, None  # (one assignment of five values builds a tuple)
        out.requires_grad, out.node = node is not None, node
        if not engine.quiet and engine.state.listeners:
            for listener in engine.state.listeners:
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

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor.wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; returns self."""
        if self.node is not None:
            raise GraphError("requires_grad_: only leaf tensors can change requires_grad; use detach() first")
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"requires_grad_: only float tensors can require grad, this one is {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="Tensor(")
        extra = "" if self.dtype == get_default_dtype() else f", dtype={self.dtype}"
        if self.node is not None:
            extra += f", op={self.node.rule.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # constructors: Tensor.zeros / ones / randn are tinygrad_mlp.creation's functions (attached there)

    # ------------------------------------------------------------------ arithmetic

    def _lift(self, other) -> Tensor:
        """Turn a scalar or array operand into a constant Tensor. Python numbers take this tensor's dtype (if a
        float one: else see ``dtypes.scalar_dtype``), integer and boolean arrays too."""
        if isinstance(other, Tensor):
            return other
        dtype = self.data.dtype
        if isinstance(other, (bool, int, float)):
            arr = np.asarray(other, dtype=dtype if dtype.kind == "f" else scalar_dtype(other, dtype))
            return Tensor.wrap(made_from(arr, None, other))  # a number of the code: a recording keeps it
        arr = np.asarray(other)
        if arr.dtype.kind != "f":
            if arr.dtype.kind not in "biu":
                raise DTypeError(f"cannot combine a tensor with data of dtype {arr.dtype}")
            arr = made_from(arr.astype(dtype), partial(np.asarray, dtype=dtype), other) if dtype.kind == "f" else arr
        return Tensor.wrap(arr)

    def _operands(self, other, reflected: bool = False, division: bool = False) -> tuple[Tensor, Tensor]:
        """``(self, other)`` (or reversed) as Tensors, after the dtype rules (PyTorch's).

        Between floats: an operand without dimensions (a Python number, a numpy scalar, a 0-d array or a 0-d
        Tensor) takes the dtype of an operand with dimensions, so ``float32 vector * Tensor(np.array(2.0))``
        stays float32 (numpy 2 would give float64); two operands both with, or both without, dimensions
        promote as numpy does (float32 with float64 gives float64). A bool or integer operand takes the float
        one's dtype; a ``division`` of two of them gives the default dtype (``dtypes.operand_dtypes``).
        """
        o, a = self._lift(other), self
        if (o.data.dtype is not a.data.dtype and o.data.dtype != a.data.dtype) or division:
            da, do = operand_dtypes(a.data.dtype, o.data.dtype, division)
            if da != do and da.kind == do.kind and (o.data.ndim == 0) != (a.data.ndim == 0):
                da = do = a.data.dtype if o.data.ndim == 0 else o.data.dtype
            a, o = a.astype(da), o.astype(do)
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
        return Tensor.apply(P.Div(), *self._operands(other, division=True))

    def __rtruediv__(self, other) -> Tensor:
        return Tensor.apply(P.Div(), *self._operands(other, True, division=True))

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

    # ------------------------------------------------------------------ indexing

    def __getitem__(self, index) -> Tensor:
        """Basic slicing and integer-array indexing, as numpy (the gradient scatters back)."""
        try:
            if isinstance(index, Tensor) and index.data.dtype != bool:  # an input, not a setting: replays read theirs
                return Tensor.apply(Take(), self, index)
            return Tensor.apply(P.GetItem(_index_arg(index)), self)
        except (IndexError, TypeError) as e:  # an IndexingError is also an IndexError: `for row in t` stops at it
            raise IndexingError(f"index {index!r} does not fit a tensor of shape {self.shape} ({e})") from None

    # ------------------------------------------------------------------ backward

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``gradient`` is the seed (the gradient of some final scalar with respect to ``self``); it may be left out
        only when ``self`` has one element, and is then 1. Unless ``retain_graph``, the graph is released as it is
        walked, so a second backward through it raises :class:`GraphError`. With ``create_graph=True`` the
        gradients are themselves Tensors with a graph (for gradients of gradients); it implies ``retain_graph``.
        """
        if not self.requires_grad:
            raise GraphError("backward: this tensor does not require grad and has no graph "
                             "(did you forget requires_grad=True, or compute it under no_grad()?)")
        array = initial_gradient(self, values_of(gradient))
        seed = Tensor.wrap(array) if create_graph else array
        if self.node is None:  # the output is itself a leaf
            if not engine.quiet and engine.state.listeners:
                engine.announce("effect", "backward() of a leaf Tensor adds into its .grad outside any walk")
            accumulate_grad(self, seed)
            return
        steps = engine.walk([self], [seed], keep_graph=retain_graph or create_graph, create_graph=create_graph,
                            by="backward")
        keep = retained()  # the non-leaf tensors whose gradient is kept too (retain_grad; almost always none)
        for out, _rule, _inputs, g, input_grads, leaf_grads in steps:
            if keep and out.retains_grad:
                accumulate_grad(out, g)
            for leaf, grad in leaf_grads:
                # an array that also went elsewhere (g passed through, or one array for two inputs) is not the
                # leaf's to keep and add into: accumulate_grad copies it
                accumulate_grad(leaf, grad, shared=grad is g or _given_twice(grad, input_grads))


def _given_twice(grad, grads: list) -> bool:
    """Whether the array ``grad`` is given to two inputs of one step."""
    count = 0
    for other in grads:
        if other is grad:
            count += 1
    return count > 1


def accumulate_grad(leaf: Tensor, grad, shared: bool = True) -> None:
    """Add ``grad`` (an array, or a Tensor with ``create_graph``) into ``leaf.grad``: what ``Tensor.backward``
    does with each leaf gradient, and a replay of ``tm.compile`` too (the one place it is done).

    A leaf used twice, or in two backward calls, gets the sum, added in place: the leaf's array is its own. So the
    first gradient is adopted as it is only when nothing else holds it (not ``shared``, a fresh writable array of
    the leaf's dtype, not a view); else it is copied. Adopting rather than copying saves 7% of the instructions of a
    784-16-16-10 training step (copies of the weights' gradients).
    """
    if isinstance(grad, Tensor):  # create_graph: keep the gradient's own graph
        if leaf.grad is not None:
            leaf.grad = leaf.grad + grad
        else:  # one without a graph (maybe shared, or a read-only broadcast) gets its own array, as below
            leaf.grad = grad if grad.requires_grad else Tensor.wrap(np.array(grad.data, dtype=leaf.data.dtype))
    elif leaf.grad is None:
        own = not shared and grad.base is None and grad.flags.writeable and grad.dtype == leaf.data.dtype
        kept = object.__new__(Tensor)  # Tensor.wrap, inlined: it runs for every leaf
        kept.data, kept.grad, kept.name = grad if own else np.array(grad, dtype=leaf.data.dtype), None, None
        kept.requires_grad, kept.node = False, None
        leaf.grad = kept
    elif leaf.grad.requires_grad:  # a gradient with a graph (from create_graph) is never written in place
        leaf.grad = leaf.grad + Tensor.wrap(grad)
    else:
        leaf.grad.data += grad


# ---------------------------------------------------------------------- argument helpers


def _index_arg(index):
    """Replace Tensors inside an index by integer arrays."""
    if isinstance(index, tuple):
        return tuple(_index_arg(i) for i in index)
    if isinstance(index, Tensor):  # a boolean mask stays one
        return index.data if index.data.dtype == bool else index.data.astype(np.intp)
    return index


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
        return Tensor.apply(Linear(), x, weight, bias)
    return x @ weight.T + bias


def maximum(x, y) -> Tensor:
    """Elementwise maximum with broadcasting; at ties the gradient is split equally."""
    return Tensor.apply(Maximum(), *_tensors(x, y))


def minimum(x, y) -> Tensor:
    """Elementwise minimum, as ``-maximum(-x, -y)``."""
    x, y = _tensors(x, y)
    return -maximum(-x, -y)


def where(cond, x, y) -> Tensor:
    """``x`` where ``cond`` is true, else ``y`` (broadcasting). ``cond`` is a constant boolean mask."""
    return Tensor.apply(P.Where(np.asarray(values_of(cond), dtype=bool)), *_tensors(x, y))
