"""The computation graph and the one walk over it.

A Tensor made by a recorded op holds a :class:`Node`: the rule that made it (a
primitive of :mod:`tinygrad_mlp.primitives`), its input Tensors and a creation
number. Nodes are the graph; rules never see them.

:func:`walk` is the reverse sweep, the only one in the library. From the roots
it visits every node that leads back to a wanted input, newest first (a node is
always created after its inputs, so by then every use of its output has sent in
its share of the gradient), calls the rule's vector-Jacobian product through
:func:`pullback`, which also undoes broadcasting, passes each input's gradient on
to that input's node, and yields a :class:`Step` saying what happened.
``Tensor.backward`` (which adds the leaves' gradients into ``.grad``),
``autograd.grad`` (which collects them) and ``viz.explain_backward`` (which
narrates them) are loops over it.

:class:`Listener` objects registered with :func:`listen` see every op applied
and every step of every walk: ``detect_anomaly`` and forward mode
(``autograd.jvp``) are listeners. With none registered, the engine pays one
truth test per op.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from .errors import GraphError, ShapeError

_sequence = itertools.count()  # creation numbers: a node's inputs always have smaller ones


class Node:
    """One recorded op application: what the engine needs to walk back through it.

    ``rule``: the primitive applied; ``inputs``: its input Tensors (``None`` once a
    walk has released the graph); ``seq``: its creation number; ``grad``: during a
    walk, the gradient with respect to the node's output gathered so far.
    """

    __slots__ = ("rule", "inputs", "seq", "grad")

    def __init__(self, rule, inputs: tuple) -> None:
        self.rule, self.inputs, self.seq, self.grad = rule, inputs, next(_sequence), None


# ---------------------------------------------------------------------- grad mode and listeners

_grad_enabled = True


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator) inside which no graph is recorded: results have ``requires_grad=False``."""

    def __init__(self) -> None:
        # a stack, not one saved flag: as a decorator the same instance is entered again by recursive calls
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = False

    def __exit__(self, *exc) -> None:
        global _grad_enabled
        _grad_enabled = self._previous.pop()


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager inside which graphs are recorded again, even within :class:`no_grad`."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad`."""
    return _grad_enabled


class Step(NamedTuple):
    """What happened at one node of a :func:`walk`.

    ``grad`` is the complete gradient with respect to ``out`` (every use of ``out``
    has been handled); ``input_grads[i]`` is the gradient with respect to
    ``inputs[i]``, in its shape, or ``None`` where the walk needs none. The walk
    has already added it into the input's node when the input has one
    (``inputs[i].node is not None``); for a leaf it is the consumer's to keep.
    Arrays on the plain path, Tensors with ``create_graph`` or in forward mode.
    """

    out: Any
    rule: Any
    inputs: tuple
    grad: Any
    input_grads: tuple


class Listener:
    """Something that watches the engine work; register it with :func:`listen`. Both methods do nothing here.

    ``on_forward(rule, inputs, out)`` runs after every op: the rule, its input
    Tensors and the result Tensor (its ``node`` set when the op was recorded).
    ``on_backward(step)`` runs at every node of every walk, after the input
    gradients are computed and before they are passed on (see :class:`Step`).
    Either may raise to stop the computation.
    """

    def on_forward(self, rule, inputs: tuple, out) -> None:
        pass

    def on_backward(self, step: Step) -> None:
        pass


listeners: list[Listener] = []  # the registered listeners, oldest first; change it only through listen()


@contextlib.contextmanager
def listen(listener: Listener) -> Iterator[Listener]:
    """Context manager: ``listener`` sees every op and every walk step inside the ``with`` block."""
    listeners.append(listener)
    try:
        yield listener
    finally:
        listeners.remove(listener)


# ---------------------------------------------------------------------- one node's chain rule


def _unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` down to ``shape``, undoing numpy broadcasting (the only place this is done).

    Broadcasting copies an operand along new leading axes and along its size-1
    axes; each copy contributed to the output, so their gradients add up.
    """
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=bool(axes[lead:]))
    return grad if grad.shape == shape else grad.reshape(shape)


def pullback(rule, g, out, inputs: Sequence, needs: Sequence[bool]) -> tuple:
    """The gradients of ``rule``'s inputs, given the gradient ``g`` of its output ``out``.

    Calls the rule's ``backward`` (telling it which inputs ``needs`` a gradient, if
    it asks) and sums each result back to its input's shape. ``inputs`` are arrays
    or Tensors, like ``g`` and ``out``. ``None`` for an input that needs nothing.
    """
    if rule.takes_needs_grad:
        grads = rule.backward(g, out, *inputs, needs_grad=tuple(needs))
    else:
        grads = rule.backward(g, out, *inputs)
    result = []
    for x, gx, need in zip(inputs, grads, needs):
        if gx is None or not need:
            result.append(None)
        else:
            result.append(gx if gx.shape == x.shape else _unbroadcast(gx, x.shape))
    return tuple(result)


# ---------------------------------------------------------------------- the walk


def walk(roots: Sequence, seeds: Sequence, *, keep_graph: bool = False, create_graph: bool = False,
         tensors: bool = False, wanted: set[int] | None = None) -> Iterator[Step]:
    """Walk the graph behind ``roots`` backwards once, yielding a :class:`Step` per node, newest first.

    ``seeds[i]`` is the gradient of the final scalar with respect to ``roots[i]``
    (their shape). Leaf roots are skipped (the caller has their gradient already).
    Only inputs that require grad, and whose ``id`` is in ``wanted`` when it is
    given (see :func:`reaching`), get gradients. Unless ``keep_graph``, each node
    is released as it is visited, so a second walk through it raises
    :class:`GraphError`. Gradients are arrays, or Tensors computed by Tensor ops
    when ``create_graph`` (recorded, so they can be differentiated again) or
    ``tensors`` (not recorded: forward mode sees them) is set.
    """
    pending: list = []  # a heap of (-seq, tensor): the newest node comes out first

    def send(t, grad) -> None:  # add a gradient into t's node; the first one queues the node
        node = t.node
        if node.grad is None:
            node.grad = grad
            heapq.heappush(pending, (-node.seq, t))
        else:
            node.grad = node.grad + grad  # fan-out: the contributions of all uses add up

    grad_mode = enable_grad if create_graph else no_grad
    try:
        for root, seed in zip(roots, seeds):
            if root.node is not None and (wanted is None or id(root) in wanted):
                send(root, seed)
        while pending:
            out = heapq.heappop(pending)[1]
            node = out.node
            g, node.grad = node.grad, None
            inputs = node.inputs
            if inputs is None:
                raise GraphError(f"backward: the graph through {node.rule.name} was already released by an earlier "
                                 "backward; pass retain_graph=True to that first call to go through it twice")
            if not keep_graph:
                node.inputs = None  # release: the inputs' buffers may be freed once this step is done
            needs = [x.requires_grad and (wanted is None or id(x) in wanted) for x in inputs]
            if not any(needs):
                input_grads: tuple = (None,) * len(inputs)
            elif create_graph or tensors:
                with grad_mode():
                    input_grads = pullback(node.rule, g, out, inputs, needs)
            else:
                input_grads = pullback(node.rule, g, out.data, [x.data for x in inputs], needs)
            step = Step(out, node.rule, inputs, g, input_grads)
            for listener in listeners:
                listener.on_backward(step)
            for x, gx in zip(inputs, input_grads):
                if gx is not None and x.node is not None:
                    send(x, gx)
            yield step
    finally:
        for _, t in pending:  # after an error (or a consumer that stopped early), leave no half-summed gradients
            t.node.grad = None


def reaching(roots: Sequence, targets: Sequence) -> set[int]:
    """ids of the tensors behind ``roots`` from which one of ``targets`` can be reached (targets included).

    The ``wanted`` set of :func:`walk` for gradients with respect to ``targets``
    only: branches that lead to none of them are not walked. Raises
    :class:`GraphError` if part of the graph was released.
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


def graph_tensors(root) -> list:
    """Every tensor in the graph behind ``root`` (leaves included), inputs before the ops that use them.

    Collected with an explicit stack (no recursion, so any depth works) and put
    in creation order, which is a topological order. Used for pictures.
    """
    seen, stack, found = {id(root)}, [root], [root]
    while stack:
        node = stack.pop().node
        if node is None or node.inputs is None:
            continue
        for x in node.inputs:
            if id(x) not in seen:
                seen.add(id(x))
                stack.append(x)
                found.append(x)
    leaves = [t for t in found if t.node is None or t.node.inputs is None]
    ops = sorted((t for t in found if t.node is not None and t.node.inputs is not None), key=lambda t: t.node.seq)
    return leaves + ops


def initial_gradient(root, gradient) -> np.ndarray:
    """The seed of a walk from ``root``: ``gradient`` (array-like) as a fresh array of ``root``'s dtype, or 1."""
    if gradient is None:
        if root.data.size != 1:
            raise GraphError(f"backward: the output has shape {root.shape}; a gradient can be implied only for a "
                             "one-element output, so pass backward(gradient=...) with the output's shape")
        return np.ones(root.data.shape, dtype=root.data.dtype)
    seed = np.array(gradient, dtype=root.data.dtype)
    if seed.shape != root.data.shape:
        raise ShapeError(f"backward: gradient has shape {seed.shape} but the output has shape {root.shape}")
    return seed
