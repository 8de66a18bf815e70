"""The computation graph and the one walk over it.

A Tensor made by a recorded op holds a :class:`Node`: the rule that made it (a
primitive of :mod:`tinygrad_mlp.primitives`), its input Tensors and a creation
number. Nodes are the graph; rules never see them.

:func:`walk` is the reverse sweep, the only one in the library. From the roots
it visits the nodes newest first (a node is always created after its inputs, so
by then every use of its output has sent in its share of the gradient), calls
each rule's vector-Jacobian product, undoes broadcasting, passes each input's
gradient on to that input's node, and yields what happened there.
``Tensor.backward`` (which adds the leaves' gradients into ``.grad``),
``autograd.grad`` (which collects them) and ``viz.explain_backward`` (which
narrates them) are loops over it.

Grad mode and the :class:`Listener` objects registered with :func:`listen` (which see every
op and walk step: ``detect_anomaly``, forward mode) belong to the thread.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator, Sequence
from heapq import heappop, heappush

import numpy as np

from .errors import ArgumentError, GraphError

_sequence, _last_change = itertools.count(), 0  # creation numbers (inputs' are smaller); the latest in-place change's


class Node:
    """One recorded op: ``rule`` (the primitive applied), its ``inputs`` (Tensors; ``None`` once a walk has
    released the graph), ``seq`` (its creation number) and, during a walk, the ``grad`` of its output so far."""

    __slots__ = ("rule", "inputs", "seq", "grad")

    def __init__(self, rule, inputs: tuple) -> None:
        # two assignments: one of four values builds a tuple first (measurable on the training hot path)
        self.rule, self.inputs = rule, inputs
        self.seq, self.grad = next(_sequence), None

    def __repr__(self) -> str:
        return f"<{self.rule.name}Backward>"  # PyTorch prints a grad_fn as <MulBackward0 object at ...>


# ---------------------------------------------------------------------- grad mode and listeners, per thread


class _ThreadState(threading.local):
    """One thread's grad mode, listeners (oldest first) and the grad modes its open blocks will restore."""
    def __init__(self) -> None:  # run once in each thread that reads it: every thread starts with the defaults
        self.grad_enabled, self.listeners, self.saved = True, [], []  # type: bool, list[Listener], list[bool]


# Change state only with no_grad/enable_grad/listen. `quiet`: none is open in any thread (so the ops skip `state`)
state, quiet, _open_blocks, _open_lock = _ThreadState(), True, 0, threading.Lock()


def _count_block(delta: int) -> None:
    global _open_blocks, quiet
    with _open_lock:  # += on a global is not atomic between threads
        _open_blocks += delta
        quiet = _open_blocks == 0


class _GradMode(contextlib.ContextDecorator):
    """Context manager (or decorator) setting this thread's grad mode for its block."""

    enabled = True

    def __enter__(self) -> None:
        _count_block(1)  # first: `quiet` must never be True while some thread is off the defaults
        # one stack per thread, not per instance: a decorator's instance is entered again by recursion and threads
        state.saved.append(state.grad_enabled)
        state.grad_enabled = self.enabled

    def __exit__(self, *exc) -> None:
        state.grad_enabled = state.saved.pop()
        _count_block(-1)


class no_grad(_GradMode):
    """Context manager (or decorator) inside which this thread records no graph: results don't require grad."""

    enabled = False


class enable_grad(_GradMode):
    """Context manager (or decorator) inside which graphs are recorded again, even within :class:`no_grad`."""


def is_grad_enabled() -> bool:
    """True unless this thread is inside :class:`no_grad` (grad mode is per thread, as in PyTorch)."""
    return quiet or state.grad_enabled


class Listener:
    """Something that watches the engine work; register it with :func:`listen`. The methods do nothing here.

    ``on_forward(rule, inputs, out)`` runs after every op: the rule, its input Tensors and the result Tensor (its
    ``node`` set when the op was recorded). ``on_backward(out, rule, inputs, grad, input_grads, leaf_grads)`` runs
    at every step of every walk; ``on_walk_start``/``on_walk_end`` bracket each walk. Code above the engine calls
    the others with :func:`announce`. Any of them may raise to stop the computation.
    """

    def on_forward(self, rule, inputs: tuple, out) -> None: pass
    def on_backward(self, out, rule, inputs: tuple, grad, input_grads: list, leaf_grads: list) -> None: pass
    def on_walk_start(self, roots: Sequence, seeds: Sequence, by: str, create_graph: bool) -> None: pass
    def on_walk_end(self) -> None: pass
    def on_made(self, array: np.ndarray, fn, source) -> None: pass  # the library made array as fn(source)
    def on_optimizer(self, optimizer, name: str) -> None: pass  # its step()/zero_grad() begins
    def on_effect(self, reason: str) -> None: pass  # an in-place update no op records


def changed_in_place(*tensors) -> None:
    """Note that these Tensors are being changed in place (PyTorch's version counter; see :func:`walk`)."""
    global _last_change
    stamp = next(_sequence)
    for t in tensors:
        t.version = stamp
    with _open_lock:  # max: another thread may have stamped a later change meanwhile
        _last_change = max(_last_change, stamp)


def active_listeners() -> list[Listener]:
    """A copy of the listeners registered in this thread, oldest first."""
    return [] if quiet else list(state.listeners)


@contextlib.contextmanager
def listen(listener: Listener) -> Iterator[Listener]:
    """Context manager: ``listener`` sees every op and walk step of this thread (only) inside the block."""
    if not isinstance(listener, Listener):
        raise ArgumentError(f"listen: expected a Listener, got {type(listener).__name__}")
    _count_block(1)
    state.listeners.append(listener)
    try:
        yield listener
    finally:
        state.listeners.remove(listener)  # (the same thread's list: a with block does not change threads)
        _count_block(-1)


def announce(event: str, *args) -> None:
    """Call every listener's ``on_<event>(*args)``: ``"made"``, ``"optimizer"``, ``"effect"`` (see Listener)."""
    for listener in active_listeners():
        getattr(listener, "on_" + event)(*args)


# ---------------------------------------------------------------------- the walk


def walk(roots: Sequence, seeds: Sequence, *, keep_graph: bool = False, create_graph: bool = False,
         tensors: bool = False, wanted: set[int] | None = None, by: str = "") -> Iterator[tuple]:
    """Walk the graph behind ``roots`` backwards once, newest node first, yielding one step per node.

    ``seeds[i]`` is the gradient of the final scalar with respect to ``roots[i]`` (of its shape). At each node the
    walk calls the rule's ``backward`` (its vector-Jacobian product), sums each result back to its input's shape
    (the one place where broadcasting is undone), adds it into the input's node (the node is walked once every use
    of its output has done so), and yields ``(out, rule, inputs, grad, input_grads, leaf_grads)``: the node's output
    Tensor, its rule and input Tensors, the complete gradient with respect to ``out``, the gradient with respect to
    each input in its shape (``None`` where none is needed), and the ``(leaf, gradient)`` pairs among them, which
    are the caller's to keep. (A plain tuple: a named one costs 1% of a training step.)

    Only inputs that require grad, and whose ``id`` is in ``wanted`` when it is given (``autograd.grad`` passes the
    tensors that lead to its inputs), get gradients; the rule is told which (``needs_grad``) if its backward takes
    it. Leaf roots are skipped (the caller has their seeds). Unless ``keep_graph``, each node is released as it is
    visited, so a second walk through it raises :class:`GraphError`. Gradients are arrays, or Tensors computed by
    Tensor ops when ``create_graph`` (recorded, so they can be differentiated again) or ``tensors`` (not recorded;
    forward mode sees them) is set. A node whose output or input was changed in place after it was recorded
    (:func:`changed_in_place`) raises :class:`GraphError`.
    """
    pending: list = []  # a heap of (-seq, tensor): the newest node comes out first
    grad_mode = enable_grad if create_graph else no_grad
    if not quiet and state.listeners:
        announce("walk_start", roots, seeds, by, create_graph)
    try:
        for root, seed in zip(roots, seeds, strict=True):
            if root.node is not None and (wanted is None or id(root) in wanted):
                _send(pending, root, seed)
        while pending:
            out = heappop(pending)[1]
            node = out.node
            g, node.grad = node.grad, None
            rule, inputs = node.rule, node.inputs
            if inputs is None:
                raise GraphError(f"backward: the graph through {rule.name} was already released by an earlier "
                                 "backward; pass retain_graph=True to that first call to go through it twice")
            if node.seq < _last_change:  # something changed in place since this node was recorded: was it its own?
                for i, x in enumerate((out, *inputs)):
                    if getattr(x, "version", 0) > node.seq:  # (the slot is set only by changed_in_place)
                        raise GraphError(f"backward: {'the output' if i == 0 else f'input {i - 1}'} of {rule.name} "
                                         f"(shape {x.shape}) was changed in place after {rule.name} used it")
            if not keep_graph:
                node.inputs = None  # release: the inputs' buffers may be freed once this step is done
            needs, arrays = [], []  # one loop, not two list comprehensions (fewer instructions per node)
            for x in inputs:
                needs.append(x.requires_grad and (wanted is None or id(x) in wanted))
                arrays.append(x.data)
            # the rule's vector-Jacobian product, on arrays, or on Tensors (recorded with create_graph)
            if True not in needs:
                grads: Sequence = needs  # nothing to compute
            elif create_graph or tensors:
                with grad_mode():
                    grads = (rule.backward(g, out, *inputs, needs_grad=needs) if rule.takes_needs_grad
                             else rule.backward(g, out, *inputs))
            else:
                grads = (rule.backward(g, out.data, *arrays, needs_grad=needs) if rule.takes_needs_grad
                         else rule.backward(g, out.data, *arrays))
            if len(grads) != len(inputs):  # a rule's mistake, said plainly (else an IndexError, or inputs skipped)
                raise GraphError(f"backward of {rule.name} returned {len(grads)} gradients "
                                 f"for its {len(inputs)} inputs")
            input_grads, leaf_grads = [], []
            for i, x in enumerate(inputs):  # (zip(inputs, grads, needs) costs more instructions)
                gx = grads[i]
                if not needs[i] or gx is None:
                    gx = None
                else:
                    if gx.shape != x.data.shape:
                        gx = unbroadcast(gx, x.data.shape)
                    xnode = x.node
                    if xnode is None:
                        leaf_grads.append((x, gx))
                    elif xnode.grad is None:  # _send, inlined (it runs for every edge of the graph)
                        xnode.grad = gx
                        heappush(pending, (-xnode.seq, x))
                    else:
                        xnode.grad = xnode.grad + gx
                input_grads.append(gx)
            if not quiet and state.listeners:
                for listener in state.listeners:
                    listener.on_backward(out, rule, inputs, g, input_grads, leaf_grads)
            yield out, rule, inputs, g, input_grads, leaf_grads
    finally:
        for _, t in pending:  # after an error (or a caller that stopped early), leave no half-summed gradients
            t.node.grad = None
        if not quiet and state.listeners:
            announce("walk_end")


def _send(pending: list, t, grad) -> None:
    """Add ``grad`` into the gradient of ``t``'s node; the first contribution puts the node on the heap."""
    node = t.node
    if node.grad is None:
        node.grad = grad
        heappush(pending, (-node.seq, t))
    else:
        node.grad = node.grad + grad  # fan-out: the contributions of all uses add up


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` down to ``shape``, undoing numpy broadcasting (the only place this is done).

    Broadcasting copies an operand along new leading axes and along its size-1
    axes; each copy contributed to the output, so their gradients add up.
    """
    lead = grad.ndim - len(shape)
    if lead == 1 and grad.shape[1:] == shape and isinstance(grad, np.ndarray):  # a bias added to every row
        return np.add.reduce(grad, axis=0)  # (the common case: cheaper than the general path below)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    # np.add.reduce is ndarray.sum without its Python-level wrapper; a Tensor (create_graph) has .sum
    grad = np.add.reduce(grad, axis=axes) if isinstance(grad, np.ndarray) else grad.sum(axis=axes)
    return grad if grad.shape == shape else grad.reshape(shape)


def graph_tensors(root) -> list:
    """Every tensor in the graph behind ``root`` (leaves included), inputs before the ops that use them (for
    pictures): collected with an explicit stack (any depth works), in creation order (a topological order)."""
    if not hasattr(root, "node"):
        raise ArgumentError(f"graph_tensors: expected a Tensor, got {type(root).__name__}")
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
