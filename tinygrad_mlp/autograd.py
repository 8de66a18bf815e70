"""Beyond ``backward()``: gradients returned rather than stored, derivatives of derivatives, and forward mode.

Two layers, both built on the same primitives as :meth:`Tensor.backward`:

**Tensor level** (like ``torch.autograd.grad``)::

    gx, gw = grad(loss, [x, w])                      # d loss / dx, d loss / dw; no .grad is touched
    gx, = grad(loss, [x], create_graph=True)         # gx has a graph: differentiate it again
    hv, = grad(gx, [x], grad_outputs=[v])            # a Hessian-vector product, reverse over reverse

**Function transforms** (like ``jax.grad`` / ``torch.func``): they take a function of Tensors and
return a new function. Arguments may be Tensors, numpy arrays or nested lists (those that are
differentiated are converted with ``Tensor(...)``: numpy arrays keep their dtype).

======================================  ======================================================
``grad(f, argnums=0)(*args)``            gradient of a one-element ``f``: shape of the argument
``value_and_grad(f, argnums=0)(*args)``  ``(f(*args), gradient)``
``..., has_aux=True``                    ``f`` returns ``(loss, aux)``; ``aux`` comes back beside
``vjp(f, *primals)``                     ``(out, pullback)``; ``pullback(u)`` is ``u^T J`` per primal
``jvp(f, primals, tangents)``            ``(out, J v)`` by forward mode, in one pass
``jacobian(f, argnums=0, mode=...)``     ``out.shape + arg.shape``; rows by reverse, columns by forward
``jacrev`` / ``jacfwd``                  ``jacobian`` with ``mode="reverse"`` / ``"forward"``
``hessian(f, argnums=0, mode=...)``      ``arg.shape + arg.shape``, for small inputs
``hvp(f, primals, tangents, mode=...)``  ``H v`` without forming ``H``: reverse over reverse or
                                         forward over reverse
======================================  ======================================================

Where ``argnums`` is a tuple, gradients and Jacobians come as a tuple, one per argument.

Arguments that are not differentiated are passed through, except floating numpy arrays, which
become constant Tensors (so ``f`` can compute with them); integer arrays such as labels stay arrays.

Transforms compose: ``grad(grad(f))`` is a second derivative. This works because a transform that
is handed an argument which already requires grad (an outer transform's variable) builds its result
with ``create_graph=True``, so the outer one can differentiate through it; otherwise results are
plain Tensors without a graph and the fast first-order path (arrays only) is used.

**Forward mode** (``jvp``, ``jacfwd``, ``hvp(mode="forward")``) works with dual numbers: while it
runs, every tensor made by a primitive also gets a *tangent* (the directional derivative of its
value), computed by the primitive's ``jvp`` rule from its inputs' tangents, in the same pass as the
value. A :class:`~tinygrad_mlp.engine.Listener` does it; the tangents live in a table inside the
``jvp`` call (keyed by tensor identity, emptied at the end). Tangents are
plain arrays: forward mode is differentiable by neither mode again (forward over reverse is fine:
``jvp`` of a function that calls ``grad``; call this module's ``grad`` there, not ``.backward()``,
whose fast array path carries no tangents), and ``jvp`` calls do not nest.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from . import engine
from . import primitives as P
from .errors import ArgumentError, GradcheckError, GraphError, ShapeError
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, inference_mode, no_grad  # (re-exported: torch.autograd has them too)
from .methods import initial_gradient
from .tensor_core import Tensor, concatenate, stack

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd", "hessian", "hvp",
           "elementwise_grad", "flatten", "check_grads", "gradcheck", "Function", "FunctionCtx",
           "no_grad", "enable_grad", "inference_mode"]


# ====================================================================== forward mode: the tangent table

class _ForwardMode(threading.local):
    """This thread's tangent table: id(tensor) -> (tensor, tangent) inside ``jvp``, else None (per thread, so
    two threads can each run their own ``jvp``)."""

    tangents: dict[int, tuple[Tensor, np.ndarray]] | None = None


_forward = _ForwardMode()


class _Tangents(engine.Listener):
    """Forward mode: give each new tensor the tangent of its op applied to its inputs' tangents (dual numbers)."""

    def __init__(self, table: dict[int, tuple[Tensor, np.ndarray]]) -> None:
        self.table = table

    def on_forward(self, rule, inputs, out) -> None:
        tangents = [None if (entry := self.table.get(id(x))) is None else entry[1] for x in inputs]
        if all(t is None for t in tangents):  # no input depends on the primals: out is a constant here
            return
        t = rule.jvp(tangents, out.data, *[x.data for x in inputs])
        if t is not None:
            self.table[id(out)] = (out, t)


@contextlib.contextmanager
def _forward_mode() -> Iterator[dict[int, tuple[Tensor, np.ndarray]]]:
    """Switch forward mode on: every op made inside gets its tangent."""
    if _forward.tangents is not None:
        raise NotImplementedError("jvp: nested forward mode (jvp inside jvp) is not supported")
    table: dict[int, tuple[Tensor, np.ndarray]] = {}
    _forward.tangents = table
    try:
        with engine.listen(_Tangents(table)):
            yield table
    finally:
        _forward.tangents = None


def _tangent_of(t: Tensor) -> np.ndarray | None:
    table = _forward.tangents
    entry = None if table is None else table.get(id(t))
    return None if entry is None else entry[1]


# ====================================================================== reverse mode without .grad


def _reaching(roots: Sequence, targets: Sequence) -> set[int]:
    """ids of the tensors behind ``roots`` from which one of ``targets`` can be reached (targets included).

    The ``wanted`` set of the walk for gradients with respect to ``targets`` only:
    branches that lead to none of them are not walked. Raises :class:`GraphError`
    if part of the graph was released.
    """
    order, seen, stack = [], set(), list(roots)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.node is not None:
            if t.node.inputs is None:
                raise GraphError(f"grad: the graph through {t.node.rule.name} was already released by an earlier "
                                 "backward or grad; pass retain_graph=True to that first call to differentiate twice")
            order.append(t)
            stack.extend(t.node.inputs)
    useful = {id(t) for t in targets if id(t) in seen}
    for t in sorted(order, key=lambda t: t.node.seq):  # inputs before the nodes that use them
        if any(id(x) in useful for x in t.node.inputs):
            useful.add(id(t))
    return useful


def _sweep(outputs: Sequence[Tensor], seeds: Sequence, inputs: Sequence[Tensor], *,
           create_graph: bool, retain_graph: bool) -> list:
    """One walk from ``outputs``, collecting the gradients of ``inputs`` instead of storing them in ``.grad``.

    Works with arrays (fast) or, when ``create_graph`` is set or forward mode is on, with Tensors
    (so the backward pass is itself recorded, or carries tangents). Returns one gradient per input
    (an array or a Tensor), ``None`` for an input the outputs do not depend on.
    """
    as_tensors = create_graph or _forward.tangents is not None
    if as_tensors:
        seeds = [s if isinstance(s, Tensor) else Tensor(s) for s in seeds]
    else:
        seeds = [s.data if isinstance(s, Tensor) else s for s in seeds]
    targets: dict[int, list[int]] = {}
    for k, t in enumerate(inputs):
        targets.setdefault(id(t), []).append(k)
    results: list = [None] * len(inputs)

    def add(t: Tensor, g) -> None:
        for k in targets[id(t)]:
            results[k] = g if results[k] is None else results[k] + g

    for out, seed in zip(outputs, seeds, strict=True):
        if out.node is None and id(out) in targets:  # an output that is itself an input leaf
            add(out, seed)
    steps = engine.walk(outputs, seeds, keep_graph=retain_graph, create_graph=create_graph, tensors=as_tensors,
                       wanted=_reaching(outputs, inputs))
    for out, _rule, _inputs, g, _input_grads, leaf_grads in steps:
        if id(out) in targets:  # a non-leaf input: every use of it has been handled, its gradient is complete
            add(out, g)
        for leaf, grad in leaf_grads:
            add(leaf, grad)
    return results


def _tensor_list(values, what: str) -> list[Tensor]:
    items = [values] if isinstance(values, Tensor) else list(values)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise ArgumentError(f"grad: {what}[{i}] must be a Tensor, got {type(t).__name__}")
    return items


def _grad_tensors(outputs, inputs, grad_outputs=None, create_graph: bool = False, retain_graph: bool | None = None,
                  allow_unused: bool = False) -> tuple:
    outputs, inputs = _tensor_list(outputs, "outputs"), _tensor_list(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, (Tensor, np.ndarray)) else list(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ShapeError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise GraphError(f"grad: inputs[{i}] (shape {t.shape}) does not require grad")
    seeds: list = []
    for i, (out, go) in enumerate(zip(outputs, grad_outputs, strict=True)):
        if not out.requires_grad:
            raise GraphError(f"grad: outputs[{i}] (shape {out.shape}) does not require grad and has no graph "
                             "(it does not depend on anything that requires grad)")
        if isinstance(go, Tensor) and create_graph and go.requires_grad:
            if go.shape != out.shape:
                raise ShapeError(f"grad: grad_outputs[{i}] has shape {go.shape} but outputs[{i}] has {out.shape}")
            seeds.append(go)  # keep its graph: the result is differentiable with respect to it too
        else:
            seeds.append(initial_gradient(out, go.data if isinstance(go, Tensor) else go))
    retain = create_graph if retain_graph is None else retain_graph
    results = _sweep(outputs, seeds, inputs, create_graph=create_graph, retain_graph=retain)
    grads: list[Tensor | None] = []
    for k, (t, r) in enumerate(zip(inputs, results, strict=True)):
        if r is None:
            if not allow_unused:
                raise GraphError(f"grad: inputs[{k}] (shape {t.shape}) is not used to compute the outputs; "
                                 "pass allow_unused=True to get None for it")
            grads.append(None)
        elif isinstance(r, Tensor):
            grads.append(r)
        else:
            grads.append(Tensor(np.array(r, dtype=t.data.dtype)))  # a fresh array the caller owns
    return tuple(grads)


# ====================================================================== function transforms: helpers


def _argnums(argnums, nargs: int, what: str) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    if not nums:
        raise ArgumentError(f"{what}: argnums must name at least one argument")
    for a in nums:
        if not -nargs <= a < nargs:
            raise ArgumentError(f"{what}: argnums {a} is out of range for {nargs} positional arguments")
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ArgumentError(f"{what}: argnums {argnums} repeats an argument")
    return nums, single


def _variable(x) -> tuple[Tensor, bool]:
    """The Tensor to differentiate with respect to, for argument ``x``; and whether it is an outer variable.

    An argument that already requires grad is used as is (an outer transform differentiates through
    us: build the result's graph). Anything else becomes a new leaf (sharing the data) that requires
    grad; in forward mode it keeps the argument's tangent.
    """
    if isinstance(x, Tensor):
        if x.requires_grad:
            return x, True
        t = Tensor(x.data, requires_grad=True)
        tangent = _tangent_of(x)
        table = _forward.tangents
        if tangent is not None and table is not None:
            table[id(t)] = (t, tangent)
        return t, False
    return Tensor(x, requires_grad=True), False


def _constant(x):
    """A non-differentiated argument: floating numpy arrays become constant Tensors, the rest passes through."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return Tensor(x)
    return x


def _variables(args: tuple, nums: tuple[int, ...]) -> tuple[list, list[Tensor], bool]:
    values = [_constant(a) for a in args]
    variables, nested = [], False
    for i in nums:
        values[i], outer = _variable(values[i])
        variables.append(values[i])
        nested = nested or outer
    return values, variables, nested


def _check_output(out, what: str, scalar: bool = False) -> Tensor:
    if not isinstance(out, Tensor):
        raise ArgumentError(f"{what}: the function must return a Tensor, got {type(out).__name__}")
    if scalar and out.numel() != 1:
        raise ShapeError(f"{what}: the function must return a one-element Tensor, got shape {out.shape} "
                         "(use jacobian for vector outputs, or vjp with a cotangent)")
    return out


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor(np.zeros(t.shape, dtype=t.data.dtype))


def _fill(grads, variables: list[Tensor]) -> list[Tensor]:
    """Gradients with ``None`` (an input the output does not depend on) replaced by zeros."""
    return [_zeros_like(v) if g is None else g for g, v in zip(grads, variables, strict=True)]


def _finish(value: Tensor, nested: bool) -> Tensor:
    """The value returned next to a gradient: detached on the plain path (its graph was released)."""
    return value if nested or _forward.tangents is not None else value.detach()


# ====================================================================== nested arguments (HIPS autograd's containers)


def _is_tree(x) -> bool:
    """A dict, or a list/tuple holding a Tensor or an array somewhere: a container of parameters. (A list of plain
    numbers stays one array, as before.)"""
    if isinstance(x, dict):
        return True
    return isinstance(x, (list, tuple)) and any(isinstance(v, (Tensor, np.ndarray)) or _is_tree(v) for v in x)


def _leaves(x) -> list:
    """The leaves of a container, depth first (dicts in their own order); a non-container is its own leaf."""
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in _leaves(v)]
    if isinstance(x, (list, tuple)) and _is_tree(x):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def _rebuild(x, leaves: Iterator):
    """``x``'s structure with its leaves taken, in order, from ``leaves``."""
    if isinstance(x, dict):
        return {k: _rebuild(v, leaves) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and _is_tree(x):
        items = [_rebuild(v, leaves) for v in x]
        return tuple(items) if isinstance(x, tuple) else items
    return next(leaves)


def _flat_call(f: Callable, args: tuple, nums: tuple[int, ...]):
    """Containers among the differentiated arguments, unpacked: ``(flat_args, flat_nums, f_flat, regroup)``.

    Each container argument's leaves are appended after ``args`` and differentiated in its place; ``f_flat``
    rebuilds the containers before calling ``f``; ``regroup`` turns one result per flat argument (in
    ``flat_nums`` order) back into one per ``nums``, containers of the argument's structure.
    """
    trees = {i: _leaves(args[i]) for i in nums if _is_tree(args[i])}
    if not trees:
        return args, nums, f, list
    flat_args, spans = list(args), {}
    flat_nums: list[int] = []
    for i in nums:
        if i in trees:
            spans[i] = (len(flat_args), len(trees[i]))
            flat_nums += range(len(flat_args), len(flat_args) + len(trees[i]))
            flat_args += trees[i]
        else:
            flat_nums.append(i)
    n = len(args)

    def f_flat(*values):
        call = list(values[:n])
        for i, (start, count) in spans.items():
            call[i] = _rebuild(args[i], iter(values[start:start + count]))
        return f(*call)

    def regroup(results) -> list:
        results, out = list(results), []
        for i in nums:
            count = spans[i][1] if i in spans else 1
            part, results = results[:count], results[count:]
            out.append(_rebuild(args[i], iter(part)) if i in spans else part[0])
        return out

    return tuple(flat_args), tuple(flat_nums), f_flat, regroup


def flatten(value):
    """``flatten(params) -> (vector, unflatten)``, HIPS autograd's: every leaf of a (nested) dict/list/tuple of
    Tensors, arrays or numbers, raveled and concatenated into one 1-D vector; ``unflatten(v)`` rebuilds the
    structure from such a vector. With a Tensor among the leaves the vector is a Tensor (made by differentiable
    ops), else a numpy array; ``unflatten`` of a Tensor gives Tensors by differentiable slicing, so a function of
    the structure becomes a function of one vector that can be differentiated."""
    leaves = _leaves(value)
    shapes = [np.shape(leaf.data if isinstance(leaf, Tensor) else leaf) for leaf in leaves]
    for leaf in leaves:
        arr = leaf.data if isinstance(leaf, Tensor) else np.asarray(leaf)
        if arr.dtype.kind not in "biuf":
            raise ArgumentError(f"flatten: leaves must be Tensors, arrays or numbers, got {type(leaf).__name__}")
    if any(isinstance(leaf, Tensor) for leaf in leaves):
        vector: Tensor | np.ndarray = concatenate([(leaf if isinstance(leaf, Tensor) else Tensor(np.asarray(leaf)))
                                                   .reshape(-1) for leaf in leaves])
    else:
        vector = np.concatenate([np.ravel(leaf) for leaf in leaves]) if leaves else np.zeros(0)
    sizes = [int(np.prod(shape)) for shape in shapes]

    def unflatten(v):
        length = v.shape[0] if v.ndim == 1 else -1
        if length != sum(sizes):
            raise ShapeError(f"unflatten: expected a vector of {sum(sizes)} numbers, got shape {v.shape}")
        parts, start = [], 0
        for shape, size in zip(shapes, sizes, strict=True):
            parts.append(v[start:start + size].reshape(shape))
            start += size
        return _rebuild(value, iter(parts))

    return vector, unflatten


# ====================================================================== grad, value_and_grad, vjp


def grad(f, inputs=None, grad_outputs=None, create_graph: bool = False, retain_graph: bool | None = None,
         allow_unused: bool = False, *, argnums=None, has_aux: bool = False):
    """Gradients, in two forms.

    **Tensor level**, ``grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
    allow_unused=False) -> tuple of Tensors``, like ``torch.autograd.grad``: the gradient of
    ``sum(grad_outputs[i] * outputs[i])`` with respect to each of ``inputs`` (each result has its
    input's shape), without touching any ``.grad``. ``outputs``/``inputs`` are a Tensor or a
    sequence of Tensors; every input must require grad (it may be an intermediate, not only a leaf).
    ``grad_outputs`` may be left out for one-element outputs (seed 1); otherwise one per output, of its
    shape. With ``create_graph=True`` the results carry a graph and can be differentiated again.
    ``retain_graph`` defaults to ``create_graph``; without it the graph walked is released. An input
    the outputs do not depend on raises :class:`GraphError`, or gives ``None`` with ``allow_unused=True``.

    **Function transform**, ``grad(f, argnums=0) -> g``, like ``jax.grad``: ``g(*args)`` is the
    gradient of the one-element Tensor ``f(*args)`` with respect to ``args[argnums]`` (a Tensor of that
    argument's shape), or a tuple of gradients when ``argnums`` is a tuple. The second positional
    parameter is ``argnums`` in this form: ``grad(f, 1)`` differentiates with respect to the second
    argument. The form is chosen by ``f``: a callable that is not a Tensor means the transform.
    An argument may be a (nested) dict, list or tuple of Tensors or arrays (HIPS autograd's containers): its
    gradient is the same structure, one gradient per leaf.
    With ``has_aux=True`` (as in JAX) ``f`` returns a pair ``(loss, aux)``; only ``loss`` is
    differentiated and ``g(*args)`` returns ``(gradient, aux)``, ``aux`` as ``f`` gave it (predictions,
    accuracy, anything you want from the same pass).
    """
    if callable(f) and not isinstance(f, (Tensor, list, tuple)):
        if argnums is None:
            argnums = 0 if inputs is None else inputs
        return _grad_transform(f, argnums, has_aux=has_aux)
    if has_aux:
        raise ArgumentError("grad: has_aux=True belongs to the function form, grad(f, has_aux=True)")
    if inputs is None:
        raise ArgumentError("grad(outputs, inputs, ...): inputs is required")
    return _grad_tensors(f, inputs, grad_outputs, create_graph, retain_graph, allow_unused)


def _grad_transform(f: Callable[..., Tensor], argnums, with_value: bool = False, has_aux: bool = False) -> Callable:
    what = "value_and_grad" if with_value else "grad"
    if not callable(f):
        raise ArgumentError(f"{what}: expected a function, got {type(f).__name__}")

    def gradient(*args):
        nums, single = _argnums(argnums, len(args), what)
        flat_args, flat_nums, f_flat, regroup = _flat_call(f, args, nums)
        values, variables, nested = _variables(flat_args, flat_nums)
        out = f_flat(*values)
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise ArgumentError(f"{what}: with has_aux=True the function must return a pair (loss, aux), "
                                    f"got {type(out).__name__}")
            out, aux = out
        out = _check_output(out, what, scalar=True)
        if out.requires_grad:
            grads = _fill(_grad_tensors(out, variables, create_graph=nested, allow_unused=True), variables)
        else:  # f does not depend on its arguments at all
            grads = [_zeros_like(v) for v in variables]
        grads = regroup(grads)  # containers of parameters come back as their structure
        result = grads[0] if single else tuple(grads)
        if has_aux:
            return ((_finish(out, nested), aux), result) if with_value else (result, aux)
        return (_finish(out, nested), result) if with_value else result

    gradient.__name__ = f"{what}_{getattr(f, '__name__', 'f')}"
    gradient.__doc__ = f"The {what} of {getattr(f, '__name__', 'f')} with respect to argument(s) {argnums}."
    return gradient


def value_and_grad(f: Callable[..., Tensor], argnums=0, *, has_aux: bool = False) -> Callable:
    """``value_and_grad(f, argnums=0)(*args) -> (f(*args), grad)``: the value and its gradient from one pass.

    Same conventions as the transform form of :func:`grad`; the value is the one-element Tensor
    ``f`` returned (detached, unless an outer transform differentiates through it). With
    ``has_aux=True``, ``f`` returns ``(loss, aux)`` and the result is ``((loss, aux), grad)``, as in JAX.
    """
    return _grad_transform(f, argnums, with_value=True, has_aux=has_aux)


def vjp(f: Callable[..., Tensor], *primals) -> tuple[Tensor, Callable]:
    """``vjp(f, *primals) -> (out, pullback)``: the vector-Jacobian product, reverse mode.

    ``out = f(*primals)`` has any shape; ``pullback(u)``, for a cotangent ``u`` of ``out.shape``,
    returns a tuple with one Tensor per primal, of that primal's shape: ``u^T J_i``, i.e. the gradient
    of ``sum(u * f(*primals))`` with respect to primal ``i``. The graph is kept, so ``pullback`` may be
    called many times (once per row of the Jacobian, for instance). A primal that is a (nested) dict, list or
    tuple of Tensors gets its gradients in the same structure.
    """
    if not primals:
        raise ArgumentError("vjp: needs at least one primal")
    flat_primals, flat_nums, f_flat, regroup = _flat_call(f, primals, tuple(range(len(primals))))
    args, variables, nested = _variables(flat_primals, flat_nums)
    out = _check_output(f_flat(*args), "vjp")

    def pullback(cotangent) -> tuple:
        if not out.requires_grad:
            return tuple(regroup([_zeros_like(v) for v in variables]))
        grads = _grad_tensors(out, variables, [cotangent], create_graph=nested, retain_graph=True,
                              allow_unused=True)
        return tuple(regroup(_fill(grads, variables)))

    return (out if nested or _forward.tangents is not None else out.detach()), pullback


# ====================================================================== jvp (forward mode)


def _as_tuple(x) -> tuple[tuple, bool]:
    if isinstance(x, (tuple, list)):
        return tuple(x), False
    return (x,), True


def jvp(f: Callable[..., Tensor], primals, tangents) -> tuple:
    """``jvp(f, primals, tangents) -> (out, tangent_out)``: the Jacobian-vector product by forward mode.

    ``primals`` and ``tangents`` are a Tensor/array each, or tuples of them (one tangent per primal,
    of the primal's shape; ``None`` is a zero tangent). ``out = f(*primals)``; ``tangent_out`` has
    ``out``'s shape and is ``sum_i J_i v_i``, the derivative of ``f`` along the tangents, computed
    in ONE forward pass with dual numbers (no graph, no backward). If ``f`` returns a tuple of
    Tensors, ``out`` and ``tangent_out`` are tuples. Cost: about 2-3 forward passes, whatever the
    size of the output.
    """
    primals, _ = _as_tuple(primals)
    tangents, _ = _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    with _forward_mode() as table:
        args = []
        for i, (x, v) in enumerate(zip(primals, tangents, strict=True)):
            if not isinstance(x, Tensor):
                x = Tensor(x)
            elif id(x) in table:  # the same Tensor passed twice: give the second use its own identity
                x = Tensor.apply(P.Reshape(x.shape), x)
            if v is not None:
                v = np.asarray(v.data if isinstance(v, Tensor) else v, dtype=x.data.dtype)
                if v.shape != x.shape:
                    raise ShapeError(f"jvp: tangent {i} has shape {v.shape} but its primal has shape {x.shape}")
                table[id(x)] = (x, v)
            args.append(x)
        result = f(*args)
        outs, single = _as_tuple(result)
        for o in outs:
            _check_output(o, "jvp")
        tangent_outs = []
        for o in outs:
            t = _tangent_of(o)
            # a copy: the tangent may be a read-only broadcast view, or the caller's own tangent array
            tangent_outs.append(Tensor(np.zeros(o.shape, o.data.dtype) if t is None
                                       else np.array(t, dtype=o.data.dtype)))
    if single:
        return outs[0], tangent_outs[0]
    return outs, tuple(tangent_outs)


# ====================================================================== Jacobians, Hessians, hvp


def jacobian(f: Callable[..., Tensor], argnums=0, mode: str = "reverse") -> Callable:
    """``jacobian(f, argnums=0, mode="reverse")(*args)``: the full Jacobian, shape ``out.shape + arg.shape``.

    ``J[o..., i...] = d out[o...] / d arg[i...]``. ``mode="reverse"`` builds it row by row: one
    forward pass, then one backward pass per output element (best when the output is small).
    ``mode="forward"`` builds it column by column: one forward-mode pass per input element (best
    when the input is small). Tuple ``argnums`` give a tuple of Jacobians. The reverse-mode
    Jacobian is itself differentiable when an outer transform differentiates through it (this is how
    :func:`hessian` works); the forward-mode one is not.
    """
    if mode not in ("reverse", "forward"):
        raise ArgumentError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")

    def jac_reverse(*args):
        nums, single = _argnums(argnums, len(args), "jacobian")
        values, variables, nested = _variables(args, nums)
        out = _check_output(f(*values), "jacobian")
        rows: list[list] = [[] for _ in variables]
        if out.requires_grad:
            for k in range(out.numel()):
                seed = np.zeros(out.numel(), dtype=out.data.dtype)
                seed[k] = 1
                grads = _grad_tensors(out, variables, [seed.reshape(out.shape)], create_graph=nested,
                                      retain_graph=nested or k < out.numel() - 1, allow_unused=True)
                for r, g in zip(rows, _fill(grads, variables), strict=True):
                    r.append(g)
        jacs = []
        for r, v in zip(rows, variables, strict=True):
            if not r:
                jacs.append(Tensor(np.zeros(out.shape + v.shape, dtype=v.data.dtype)))
            elif any(isinstance(g, Tensor) and g.requires_grad for g in r):
                jacs.append(stack(r).reshape(out.shape + v.shape))
            else:
                jacs.append(Tensor(np.stack([g.data for g in r]).reshape(out.shape + v.shape)))
        return jacs[0] if single else tuple(jacs)

    def jac_forward(*args):
        nums, single = _argnums(argnums, len(args), "jacobian")
        values = [_constant(a) for a in args]
        for i in nums:
            if not isinstance(values[i], Tensor):
                values[i] = Tensor(values[i])
        diff = [values[i] for i in nums]

        def f_of_diff(*xs):
            full = list(values)
            for i, x in zip(nums, xs, strict=True):
                full[i] = x
            return f(*full)

        out = None
        jacs = []
        for n, x in enumerate(diff):
            columns = []
            for k in range(x.numel()):
                v = np.zeros(x.numel(), dtype=x.data.dtype)
                v[k] = 1
                tangents = [None] * len(diff)
                tangents[n] = v.reshape(x.shape)
                out, t = jvp(f_of_diff, tuple(diff), tuple(tangents))
                columns.append(t.data.reshape(-1))
            if out is None:  # an argument with no elements: still need the output's shape
                out = _check_output(f(*values), "jacobian")
            j = np.stack(columns, axis=-1) if columns else np.zeros((out.numel(), 0), dtype=x.data.dtype)
            jacs.append(Tensor(j.reshape(out.shape + x.shape)))
        return jacs[0] if single else tuple(jacs)

    jac = jac_reverse if mode == "reverse" else jac_forward
    jac.__doc__ = f"Jacobian of {getattr(f, '__name__', 'f')} by {mode} mode (out.shape + arg.shape)."
    return jac


def jacrev(f: Callable[..., Tensor], argnums=0) -> Callable:
    """:func:`jacobian` by reverse mode (one backward pass per output element)."""
    return jacobian(f, argnums, mode="reverse")


def jacfwd(f: Callable[..., Tensor], argnums=0) -> Callable:
    """:func:`jacobian` by forward mode (one dual-number forward pass per input element)."""
    return jacobian(f, argnums, mode="forward")


def hessian(f: Callable[..., Tensor], argnums: int = 0, mode: str = "reverse") -> Callable:
    """``hessian(f, argnums=0)(*args)``: second derivatives of a one-element ``f``, shape ``x.shape + x.shape``.

    The Jacobian of the gradient: ``mode="reverse"`` is reverse over reverse (one gradient with a
    graph, then one backward pass per element of ``x``); ``mode="forward"`` is forward over reverse
    (one dual-number gradient per element of ``x``). Both cost ``x.size`` passes: for small inputs
    only. Use :func:`hvp` for ``H v`` without forming ``H``.
    """
    if not isinstance(argnums, (int, np.integer)):
        raise ArgumentError("hessian: argnums must be a single int")
    return jacobian(grad(f, argnums=argnums), argnums, mode=mode)


def hvp(f: Callable[..., Tensor], primals, tangents, mode: str = "reverse"):
    """``hvp(f, x, v) -> H v``: the Hessian of a one-element ``f`` times ``v``, without forming ``H``.

    ``x`` and ``v`` are a Tensor each (the result has ``x``'s shape) or tuples of them (then
    ``f(*x)`` is differentiated with respect to all of them and the result is a tuple: the
    blocks ``sum_j H_ij v_j``). ``mode="reverse"``: reverse over reverse, ``grad(<grad f(x), v>)``;
    ``mode="forward"``: forward over reverse, ``jvp(grad f, x, v)``. Either costs a few gradient
    evaluations, whatever the size of ``x``.
    """
    primals, single = _as_tuple(primals)
    tangents, _ = _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentError(f"hvp: {len(primals)} primals but {len(tangents)} tangents")
    nums = tuple(range(len(primals)))
    if mode == "forward":
        _, hv = jvp(grad(f, argnums=nums), primals, tangents)
    elif mode == "reverse":
        args, variables, nested = _variables(primals, nums)
        out = _check_output(f(*args), "hvp", scalar=True)
        hv = [_zeros_like(v) for v in variables]
        if out.requires_grad:
            grads = _grad_tensors(out, variables, create_graph=True, allow_unused=True)
            pairs = [(g, v) for g, v in zip(grads, tangents, strict=True) if g is not None and g.requires_grad]
            if pairs:
                gs = [g for g, _ in pairs]
                vs = [np.asarray(v.data if isinstance(v, Tensor) else v, dtype=g.data.dtype) for g, v in pairs]
                hv = _fill(_grad_tensors(gs, variables, vs, create_graph=nested, allow_unused=True), variables)
        hv = tuple(hv)
    else:
        raise ArgumentError(f"hvp: mode must be 'reverse' or 'forward', got {mode!r}")
    return hv[0] if single else tuple(hv)


# ====================================================================== HIPS autograd's and PyTorch's checking names


def elementwise_grad(f: Callable[..., Tensor], argnum=0) -> Callable:
    """``elementwise_grad(f)(x)``, HIPS autograd's: the gradient of ``sum(f(x))``, i.e. the vector-Jacobian product
    with ones. For an elementwise ``f`` this is each output's derivative in its own input: ``f'(x)`` elementwise."""
    if not callable(f):
        raise ArgumentError(f"elementwise_grad: expected a function, got {type(f).__name__}")

    def summed(*args):
        return _check_output(f(*args), "elementwise_grad").sum()

    summed.__name__ = getattr(f, "__name__", "f")
    return grad(summed, argnums=argnum)


def gradcheck(func: Callable[..., Tensor], inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **ignored) -> bool:
    """PyTorch's ``torch.autograd.gradcheck(func, inputs)``, by PyTorch's method: for every input that requires grad
    (float64), the Jacobian by reverse mode against the one by central differences (step ``eps``), element by
    element within ``atol + rtol * |numerical|``. ``inputs`` is a Tensor or a tuple of them and other arguments.
    True, or a one-line :class:`GradcheckError` (``False`` with ``raise_exception=False``); PyTorch's other options
    (``fast_mode`` ...) are accepted. For large inputs :func:`tinygrad_mlp.gradcheck` (a random projection) is
    cheaper."""
    args = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    wrt = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    try:
        for i in wrt:
            if args[i].dtype != np.float64:
                raise GradcheckError(f"gradcheck: input {i} is {args[i].dtype}; finite differences need float64")
        if not wrt:
            return True
        analytic = jacobian(lambda *a: _check_output(func(*a), "gradcheck"), argnums=tuple(wrt))(*args)
        for k, i in enumerate(wrt):
            x = args[i].data
            numeric = np.empty(analytic[k].shape, dtype=np.float64).reshape(-1, x.size)
            for j in range(x.size):
                shifted = []
                for step in (eps, -eps):
                    probe = x.copy()
                    probe.reshape(-1)[j] += step
                    call = list(args)
                    call[i] = Tensor(probe)
                    shifted.append(np.asarray(func(*call).data, dtype=np.float64))
                numeric[:, j] = ((shifted[0] - shifted[1]) / (2 * eps)).reshape(-1)
            got = analytic[k].data.reshape(numeric.shape)
            bad = np.abs(got - numeric) > atol + rtol * np.abs(numeric)
            if bad.any():
                row, col = (int(v[0]) for v in np.nonzero(bad))
                raise GradcheckError(f"gradcheck: Jacobian mismatch for input {i}, output {row}, element {col}: "
                                     f"autograd {got[row, col]!r}, finite differences {numeric[row, col]!r}")
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


_CHECK_TOL = 1e-6  # HIPS autograd's: an absolute or a relative (to |a + b|) difference under it


def _close(exact: float, numeric: float) -> bool:
    return abs(exact - numeric) < _CHECK_TOL or abs(exact - numeric) <= _CHECK_TOL * abs(exact + numeric)


def _float64(x):
    """Check arguments in float64: Tensors (kept as graph tensors when they require grad), arrays, numbers."""
    if isinstance(x, Tensor):
        return x if x.requires_grad or x.dtype == np.float64 else Tensor(x.data.astype(np.float64))
    return np.asarray(x, dtype=np.float64)


def _inner(a, b) -> float:
    return float(np.sum(np.asarray(a.data if isinstance(a, Tensor) else a, dtype=np.float64) * np.asarray(
        b.data if isinstance(b, Tensor) else b, dtype=np.float64)))


def check_grads(f: Callable[..., Tensor], argnum=0, modes: Sequence[str] = ("fwd", "rev"), order: int = 2) -> Callable:
    """HIPS autograd's ``check_grads(f, argnum=0, modes=["fwd", "rev"], order=2)(*args)``: check ``f``'s derivatives
    with respect to ``args[argnum]`` (an int or a tuple; an argument may be a nested container) against central
    finite differences along one random direction, in float64: reverse mode (``u . J v`` from ``vjp``) and forward
    mode (``jvp``). ``order=2`` checks the vector-Jacobian product's own derivatives too (reverse over reverse,
    forward over reverse); forward mode's tangents are not differentiable again here, so a jvp is checked to first
    order. Raises :class:`GradcheckError` naming the mode; returns None when all agree."""
    if not callable(f):
        raise ArgumentError(f"check_grads: expected a function, got {type(f).__name__}")
    if not set(modes) <= {"fwd", "rev"} or isinstance(modes, str):
        raise ArgumentError(f"check_grads: modes must be a list of 'fwd' and 'rev', got {modes!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ArgumentError(f"check_grads: order must be an int >= 1, got {order!r}")
    name = getattr(f, "__name__", "f")

    def checker(*args, **kwargs) -> None:
        nums, single = _argnums(argnum, len(args), "check_grads")
        chosen = args[nums[0]] if single else tuple(args[i] for i in nums)
        vector, unflatten = flatten(_rebuild(chosen, iter([_float64(x) for x in _leaves(chosen)])))
        vector = vector.data if isinstance(vector, Tensor) else vector

        def g(v: Tensor) -> Tensor:  # f as a function of one float64 vector
            call = list(args)
            parts = unflatten(v)
            for k, i in enumerate(nums):
                call[i] = parts if single else parts[k]
            return _check_output(f(*call, **kwargs), "check_grads")

        _check_one(g, vector, modes, order, name)

    return checker


def _check_one(g: Callable[[Tensor], Tensor], x: np.ndarray, modes: Sequence[str], order: int, name: str) -> None:
    rng = np.random.default_rng(0)
    out = g(Tensor(x))
    x_dir, u = rng.standard_normal(x.shape), rng.standard_normal(out.shape)
    eps = 1e-6
    numeric = _inner(u, (g(Tensor(x + x_dir * eps / 2)).data - g(Tensor(x - x_dir * eps / 2)).data) / eps)
    if "rev" in modes:
        _, pullback = vjp(g, Tensor(x))
        exact = _inner(pullback(u)[0], x_dir)
        if not _close(exact, numeric):
            raise GradcheckError(f"check_grads: the reverse-mode derivative of {name} is {exact!r} along a random "
                                 f"direction, finite differences give {numeric!r}")
    if "fwd" in modes:
        _, tangent = jvp(g, Tensor(x), x_dir)
        exact = _inner(u, tangent)
        if not _close(exact, numeric):
            raise GradcheckError(f"check_grads: the forward-mode derivative of {name} is {exact!r} along a random "
                                 f"direction, finite differences give {numeric!r}")
    if order > 1:  # the vjp's own derivatives: in (x, u) by reverse over reverse; in x by forward over reverse
        n = x.size

        def pulled(xu: Tensor) -> Tensor:
            _, back = vjp(g, xu[:n])
            return back(xu[n:].reshape(out.shape))[0]

        def pulled_at_u(v: Tensor) -> Tensor:  # (a cotangent's own tangent is not carried by forward mode)
            return vjp(g, v)[1](u)[0]

        if "rev" in modes:
            _check_one(pulled, np.concatenate([x, u.reshape(-1)]), ["rev"], order - 1, f"vjp of {name}")
        if "fwd" in modes:
            _check_one(pulled_at_u, x, ["fwd"], order - 1, f"vjp of {name}")
