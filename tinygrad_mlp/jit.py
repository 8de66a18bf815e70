"""Capture a training step once and replay it: :func:`compile`.

>>> step = compile(train_step)        # or @compile above its def   # doctest: +SKIP
>>> loss = step(xb, yb)               # first calls run eagerly and record; later ones replay   # doctest: +SKIP

A training step at the notes' batch size of 10 is a few dozen numpy calls on
tiny arrays, and most of the time goes to the engine's own Python work: making
Tensors, recording nodes, walking the graph. :func:`compile` runs your step
function eagerly (twice, to check it behaves the same on different data) while
listening to the engine, and writes down what happened as straight-line Python:
each op's ``forward`` on plain arrays, each node's ``backward`` in the order the
engine's walk took them, the gradients added into the parameters' ``.grad`` as
``Tensor.backward`` does, and the optimizer's ``zero_grad()``/``step()`` calls.
Later calls with arguments of the same shapes and dtypes run that code: the
same rules' ``forward`` and ``backward`` that eager mode calls (no gradient code
of its own), without Tensors, nodes, the walk or its checks. The result is bit
for bit what eager mode computes.

What is captured, what makes it record again, and what cannot be captured:
see ``docs/compile.md``.
"""

from __future__ import annotations

import functools
import re
import sys
import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from . import engine
from .engine import Listener
from .errors import ArgumentError, TinygradMLPError
from .tensor_core import Tensor

__all__ = ["compile", "CompiledStep", "CaptureError", "uncapturable"]


class CaptureError(TinygradMLPError, RuntimeError):
    """A step function cannot be captured (its reason says why); the compiled step runs it eagerly instead."""


@overload
def compile(fn: Callable, *, backend: str = "numpy") -> CompiledStep: ...
@overload
def compile(fn: None = None, *, backend: str = "numpy") -> Callable[[Callable], CompiledStep]: ...
def compile(fn: Callable | None = None, *,  # the name users expect (jax.jit, torch.compile)
            backend: str = "numpy") -> CompiledStep | Callable[[Callable], CompiledStep]:
    """Capture ``fn`` (a training step) once and replay it: returns a callable :class:`CompiledStep`.

    ``fn`` takes arrays and/or Tensors (plus any hashable plain values) and does
    Tensor ops, ``backward()`` and optimizer ``zero_grad()``/``step()``; it may
    return ``None`` or Tensors it computed (a loss), alone or in a tuple/list.
    Usable as a decorator (``@compile`` or ``@compile(backend="native")``).

    ``backend="numpy"`` replays the recorded numpy calls, bit for bit eager mode; ``"native"`` compiles a
    supported MLP step to C (:mod:`tinygrad_mlp.native`; equal to eager up to float rounding) and falls back
    to the numpy replay, with a one-line warning, for any other step or without a C compiler.
    """
    if backend not in ("numpy", "native"):
        raise ArgumentError(f"compile: backend must be 'numpy' or 'native', got {backend!r}")
    if fn is None:
        return functools.partial(CompiledStep, backend=backend)
    return CompiledStep(fn, backend)


class CompiledStep:
    """``fn`` with its recorded replays, one per signature (shapes, dtypes, requires_grad of the arguments).

    ``stats`` counts the calls that ``"recorded"``, ``"replayed"`` and ran ``"eager"``;
    ``source()`` is the replay code of the last signature used (for the curious);
    ``reasons`` lists why a signature could not be captured, if any.
    """

    def __init__(self, fn: Callable, backend: str = "numpy"):
        if not callable(fn):
            raise ArgumentError(f"compile: needs a function (the training step), got {type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.backend = backend
        self._entries: dict[tuple, _Entry] = {}
        self._last: _Entry | None = None
        self.stats = {"recorded": 0, "replayed": 0, "eager": 0}
        self.reasons: list[str] = []

    def __call__(self, *args, **kwargs):
        sig = None if kwargs else _signature(args)
        if sig is None or engine.active_listeners():
            # keyword or unhashable arguments, or someone listening (detect_anomaly, jvp, an outer recording)
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        entry = self._entries.get(sig)
        if entry is None:
            entry = self._entries[sig] = _Entry()
        self._last = entry
        if entry.replay is not None:
            out = entry.replay(args)
            if out is not _STALE:
                self.stats["replayed"] += 1
                return out
            entry.replay, entry.previous = None, None  # a parameter changed shape, dtype or requires_grad
        if entry.reason is not None:
            self.stats["eager"] += 1
            return self.fn(*args)
        self.stats["recorded"] += 1
        return self._record(entry, args)

    def source(self) -> str | None:
        """The Python source of the replay of the last signature called (``None`` before it is built)."""
        return None if self._last is None else self._last.source

    def _record(self, entry: _Entry, args: tuple):
        from . import optim  # here, not at the top: `import tinygrad_mlp` stays light (tm.compile is in it)

        recorder = _Recorder(args, entry.previous)
        _recording.append(recorder)
        try:
            with engine.listen(recorder), optim.listen(recorder.on_optimizer):
                result = self.fn(*args)
        finally:
            _recording.remove(recorder)
        try:
            trace = recorder.finish(result)
            if entry.previous is not None:
                _same_program(entry.previous, trace)
                entry.replay, entry.source = self._native(trace, args) if self.backend == "native" else _build(trace)
            entry.previous = trace
        except CaptureError as e:
            entry.reason = str(e)
            self.reasons.append(entry.reason)
            warnings.warn(f"compile({getattr(self.fn, '__name__', 'fn')}): runs eagerly: {e}", stacklevel=3)
        return result

    def _native(self, trace: _Trace, args: tuple) -> tuple[Callable, str]:
        """The native replay of ``trace`` (and its C source), or else the numpy one, with a one-line warning why."""
        from . import native

        try:
            return native.build(trace, args, _STALE, Tensor.wrap)
        except native.NativeUnsupported as e:
            warnings.warn(f"compile({getattr(self.fn, '__name__', 'fn')}, backend='native'): uses the numpy "
                          f"replay: {e}", stacklevel=4)
            return _build(trace)


class _Entry:
    __slots__ = ("previous", "replay", "source", "reason")

    def __init__(self):
        self.previous: _Trace | None = None
        self.replay: Callable | None = None
        self.source: str | None = None
        self.reason: str | None = None


_STALE = object()  # returned by a replay whose parameters no longer match what was recorded


def _signature(args: tuple) -> tuple | None:
    """What a recording depends on in the arguments: shapes, dtypes, requires_grad, other values (or None)."""
    sig: list = [engine.is_grad_enabled()]
    for a in args:
        if type(a) is np.ndarray:  # the usual case first: a batch of inputs or labels
            sig += (a.shape, a.dtype)
        elif isinstance(a, Tensor):
            sig += (a.data.shape, a.data.dtype, a.requires_grad)
        else:
            try:
                hash(a)
            except TypeError:
                return None
            sig += (type(a), a)
    return tuple(sig)


# ---------------------------------------------------------------------- recording

_recording: list[_Recorder] = []  # the recordings in progress (one, or none)


def uncapturable(reason: str) -> None:
    """Say that the running code has an effect a recording cannot see (an in-place update of some state).

    Does nothing unless a step is being recorded; then that step is not replayed but runs eagerly,
    and ``reason`` is the warning's. ``BatchNorm1d`` calls it when it updates its running statistics.
    """
    for recorder in _recording:
        recorder.fail(reason)



class _Trace:
    """What one eager run did, with every array named by where it comes from (a "ref").

    refs: ``("arg", k)`` the k-th argument's array (or the array of a Tensor argument), ``("out", j)``
    the result of op j, ``("leaf", i)`` the i-th leaf Tensor met (a parameter if the next recording
    meets the very same object, read as ``.data`` at replay; else a constant array made inside the
    step, which must then have the same value every time), ``("const", i)`` a walk's seed.
    """

    def __init__(self):
        self.ops: list[tuple] = []  # ("forward", ...), ("backward", ...), ("optimizer", opt, name)
        self.leaves: list[Tensor] = []
        self.consts: list[np.ndarray] = []
        self.out_info: list[tuple] = []  # per op result: (shape, dtype, is 0-d)
        self.result: Any = None
        self.tensor_args: set[int] = set()  # positions of the arguments that are Tensors


class _Recorder(Listener):
    """Listens to the engine (ops and walk steps) and to the optimizers while ``fn`` runs eagerly."""

    def __init__(self, args: tuple, previous: _Trace | None):
        self.arg_arrays = {id(a.data if isinstance(a, Tensor) else a): k for k, a in enumerate(args)
                           if isinstance(a, (np.ndarray, Tensor))}
        self.arg_tensors = {id(a): k for k, a in enumerate(args) if isinstance(a, Tensor)}
        self.trace = _Trace()
        self.trace.tensor_args = set(self.arg_tensors.values())
        self.forget: list[weakref.ref] = []  # callbacks that drop freed results from the two maps below
        self.slot_of_tensor: dict[int, int] = {}
        self.slot_of_array: dict[int, int] = {}
        self.leaf_index: dict[int, int] = {}
        # the frame of the walk being recorded (each backward() walks in a generator of its own)
        self.walk: types.FrameType | None = None
        self.walk_sent: set[int] = set()  # node slots that have received a gradient in that walk
        self.problem: str | None = None
        # .grad of the previous recording's leaves as the call began, to see whether anything the recording
        # cannot see (p.grad = None by hand, model.zero_grad()) changes them during the step
        self.grad_was_none = {} if previous is None else {id(t): t.grad is None for t in previous.leaves}
        self.zeroed: set[int] = set()
        self.checked: set[int] = set()

    def ref(self, t: Tensor) -> tuple:
        slot = self.slot_of_tensor.get(id(t))
        if slot is not None:
            return ("out", slot)
        k = self.arg_arrays.get(id(t.data))
        if k is not None:
            return ("arg", k)
        slot = self.slot_of_array.get(id(t.data))
        if slot is not None:  # a detached result shares the array
            return ("out", slot)
        if t.node is not None:
            self.fail(f"the step used the result of an op ({t.op}) made before it began")
        i = self.leaf_index.get(id(t))
        if i is None:
            if _holds_argument(t.data, self.arg_arrays):  # a view: its values would be replayed as recorded
                self.fail("a Tensor made inside the step holds a view of an argument's array (such as idx[:, None] "
                          "or x[:, :5]): pass that array as an argument, or make it with Tensor ops")
            i = self.leaf_index[id(t)] = len(self.trace.leaves)
            self.trace.leaves.append(t)
        return ("leaf", i)

    def fail(self, reason: str) -> None:
        if self.problem is None:
            self.problem = reason

    on_effect = fail  # an in-place update (inplace.py, ndarray -= Tensor): a replay would not make it

    def on_forward(self, rule, inputs, out) -> None:
        refs = tuple(self.ref(x) for x in inputs)
        if any(_holds_argument(v, self.arg_arrays) for v in _settings(rule).values()):
            self.fail(f"{rule.name} holds an argument's array (or a view of one) as a setting, such as a mask or an "
                      "index: a replay would keep the recorded one; use an op that takes it as an input")
        j = len(self.trace.out_info)
        self.slot_of_tensor[id(out)] = j
        self.slot_of_array.setdefault(id(out.data), j)
        # Results are known by id(); when one is freed (as eager mode frees them during backward), its id may
        # be reused, so it is forgotten then. (Keeping them all alive instead would double the memory.)
        self.forget.append(weakref.ref(out, functools.partial(_forget, self.slot_of_tensor, id(out))))
        if self.slot_of_array[id(out.data)] == j:
            self.forget.append(weakref.ref(out.data, functools.partial(_forget, self.slot_of_array, id(out.data))))
        self.trace.out_info.append((out.data.shape, out.data.dtype, out.data.ndim == 0))
        self.trace.ops.append(("forward", rule, refs, j))

    def on_backward(self, out, rule, inputs, grad, input_grads, leaf_grads) -> None:
        walk = sys._getframe(1)  # the walk, a generator; its caller is the consumer of its steps
        consumer = walk.f_back
        if consumer is None or consumer.f_code is not Tensor.backward.__code__:
            return self.fail("gradients were taken by something other than Tensor.backward() (autograd.grad?)")
        if consumer.f_locals.get("create_graph"):
            return self.fail("backward(create_graph=True) is not captured")
        j = self.slot_of_tensor.get(id(out))
        if j is None:
            return self.fail("backward() went through an op made before the step began")
        seed = None
        if walk is not self.walk:  # a new walk starts at its root: its seed is a constant (usually 1)
            self.walk, self.walk_sent = walk, set()
            self.trace.consts.append(grad)
            seed = len(self.trace.consts) - 1
        elif j not in self.walk_sent:
            return self.fail("a walk reached a node no gradient was sent to")
        needs = tuple(bool(x.requires_grad) for x in inputs)
        in_refs = tuple(self.ref(x) for x in inputs)
        dests: list = []
        for i, (x, gx) in enumerate(zip(inputs, input_grads, strict=True)):
            if gx is None:
                dests.append(None)
            elif x.node is not None:
                slot = self.slot_of_tensor.get(id(x))
                if slot is None:
                    return self.fail("backward() went through an op made before the step began")
                dests.append(("node", slot, slot in self.walk_sent))
                self.walk_sent.add(slot)
            else:
                r = self.ref(x)
                if r[0] == "arg" and id(x) not in self.arg_tensors:
                    return self.fail("a gradient went to a Tensor made inside the step from an argument")
                if id(x) not in self.checked and id(x) in self.grad_was_none:
                    self.checked.add(id(x))
                    if (x.grad is None) != (self.grad_was_none[id(x)] or id(x) in self.zeroed):
                        self.fail("a parameter's .grad was changed by something other than an optimizer's "
                                  "zero_grad() (model.zero_grad() or p.grad = None?): use optimizer.zero_grad()")
                # a gradient array this rule made for this input alone can become .grad as it is (no copy)
                others = [o for k, o in enumerate(input_grads) if k != i]
                fresh = (gx.base is None and gx.flags.writeable and gx.dtype == x.data.dtype and gx is not grad
                         and id(gx) not in self.slot_of_array and all(gx is not o for o in others))
                dests.append(("leaf", r, fresh))
        shapes = tuple(x.data.shape for x in inputs)
        self.trace.ops.append(("backward", rule, j, seed, in_refs, needs, shapes, tuple(dests)))

    def on_optimizer(self, opt, name: str) -> None:
        self.trace.ops.append(("optimizer", opt, name))
        if name == "zero_grad":
            self.zeroed.update(id(p) for p in getattr(opt, "params", ()))

    def finish(self, result) -> _Trace:
        self.trace.result = self._result_template(result)
        self.forget, self.walk = [], None
        if self.problem is not None:
            raise CaptureError(self.problem)
        return self.trace

    def _result_template(self, result):
        if result is None:
            return None
        if isinstance(result, Tensor):
            r = self.ref(result)
            if r[0] != "out":
                raise CaptureError("the step returns a Tensor that no op of the step computed")
            return ("tensor", r)
        if isinstance(result, (tuple, list)):
            return (type(result), tuple(self._result_template(r) for r in result))
        raise CaptureError(f"the step returns a {type(result).__name__}: return Tensors (call .item() outside "
                           "the step) or None")


def _holds_argument(value, arg_arrays: dict) -> bool:
    """Whether a rule's setting is (or contains) an argument's array or a view of one: ``tm.where(mask_arg, ...)``,
    ``t[idx_arg]``. A setting is replayed as recorded, so such a step must not be replayed."""
    if isinstance(value, np.ndarray):
        while value is not None:
            if id(value) in arg_arrays:
                return True
            value = value.base
        return False
    if isinstance(value, (tuple, list)):
        return any(_holds_argument(v, arg_arrays) for v in value)
    return False


def _forget(mapping: dict, key: int, _ref) -> None:
    mapping.pop(key, None)


def _same_program(a: _Trace, b: _Trace) -> None:
    """Raise CaptureError unless two recordings did the same (ops, settings, wiring, constants)."""
    if len(a.ops) != len(b.ops) or a.result != b.result or a.out_info != b.out_info or len(a.leaves) != len(b.leaves):
        raise CaptureError("two calls with the same shapes ran different ops: the step's Python control flow "
                           "depends on values")
    for x, y in zip(a.ops, b.ops, strict=True):
        if x[0] != y[0] or type(x[1]) is not type(y[1]):
            raise CaptureError(f"two calls ran different ops ({_name(x)}, then {_name(y)}): the step's control "
                               "flow depends on values")
        if x[0] == "optimizer":
            if x[1] is not y[1] or x[2] != y[2]:
                raise CaptureError("two calls used different optimizers or methods")
        elif not _same_config(x[1], y[1]) or x[2:] != y[2:]:
            raise CaptureError(f"two calls ran {_name(x)} with different settings or inputs: something in the step "
                               "depends on the values of the data (a mask or an index made from it?)")
    for s, t in zip(a.leaves, b.leaves, strict=True):
        if s is not t and not (_same_value(s.data, t.data) and s.requires_grad == t.requires_grad):
            raise CaptureError("an array made inside the step differs between calls (made from the data, or "
                               "random?): pass it as an argument, or make it with Tensor ops")
    if len(a.consts) != len(b.consts) or not all(_same_value(c, d) for c, d in zip(a.consts, b.consts, strict=True)):
        raise CaptureError("backward() was seeded with different gradients in two calls")
    persistent = {i for i, (s, t) in enumerate(zip(a.leaves, b.leaves, strict=True)) if s is t}
    for op in b.ops:
        if op[0] == "backward" and any(d is not None and d[0] == "leaf" and d[1][0] == "leaf"
                                       and d[1][1] not in persistent for d in op[7]):
            raise CaptureError("a gradient went to a Tensor made inside the step; only parameters and Tensor "
                               "arguments can receive gradients")
    b.persistent = persistent  # type: ignore[attr-defined]


def _name(op: tuple) -> str:
    return f"{op[2]}()" if op[0] == "optimizer" else f"{op[1].name} ({op[0]})"


def _slots(cls) -> list[str]:
    return [s for k in cls.__mro__ for s in getattr(k, "__slots__", ()) if s != "__weakref__"]


def _settings(rule) -> dict:
    """A rule's settings: its slots, and its instance attributes if it has any (a user's rule without __slots__)."""
    settings = {s: getattr(rule, s, None) for s in _slots(type(rule))}
    settings.update(getattr(rule, "__dict__", {}))
    return settings


def _same_config(r1, r2) -> bool:
    a, b = _settings(r1), _settings(r2)
    return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


def _same_value(x, y) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                and x.dtype == y.dtype and bool(np.array_equal(x, y)))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return type(x) is type(y) and len(x) == len(y) and all(_same_value(a, b) for a, b in zip(x, y, strict=True))
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return x is y


# ---------------------------------------------------------------------- the replay, as Python source


def _accumulate(leaf: Tensor, grad: np.ndarray, fresh: bool) -> None:
    """Add ``grad`` into ``leaf.grad`` exactly as ``Tensor.backward`` does for an array gradient.

    The first gradient is copied there unless ``fresh`` (an array that only this call holds).
    """
    if leaf.grad is None:
        leaf.grad = Tensor.wrap(grad if fresh else np.array(grad, dtype=leaf.data.dtype))
    elif leaf.grad.requires_grad:
        leaf.grad = leaf.grad + Tensor.wrap(grad)
    else:
        leaf.grad.data += grad


def _build(trace: _Trace) -> tuple[Callable, str]:
    """Write the replay of ``trace`` as one straight-line Python function, and compile it."""
    ns: dict[str, Any] = {"_STALE": _STALE, "_T": Tensor.wrap, "_Tensor": Tensor, "_acc": _accumulate,
                          "_asarray": np.asarray, "_unbroadcast": engine.unbroadcast}
    lines: list[str] = []
    emit = lines.append

    def name(obj, prefix: str) -> str:  # a new global of the replay, for obj
        key = f"{prefix}_{len(ns)}" if prefix[-1].isalpha() and len(prefix) > 2 else f"{prefix}{len(ns)}"
        ns[key] = obj
        return key

    persistent = trace.persistent  # type: ignore[attr-defined]
    leaf_names = {i: name(t, "p" if i in persistent else "c") for i, t in enumerate(trace.leaves)}
    seeds = [name(c, "s") for c in trace.consts]

    def val(r: tuple) -> str:
        kind, i = r
        if kind == "arg":
            return f"a{i}"
        if kind == "out":
            return f"v{i}"
        return f"l{i}" if i in persistent else f"{leaf_names[i]}.data"

    # The guard: each parameter still holds the array it held when recorded (so its shape and dtype are
    # the recorded ones) and still requires grad as it did. Parameters are read through local names.
    conds = []
    for i, t in enumerate(trace.leaves):
        if i in persistent:
            conds.append(f"{leaf_names[i]}.data is not {name(t.data, 'd')}")
            conds.append(f"{leaf_names[i]}.requires_grad is not {t.requires_grad!r}")
    if conds:
        emit("    if " + " or ".join(conds) + ":")
        emit("        return _STALE")
    for i in sorted(persistent):
        emit(f"    l{i} = {leaf_names[i]}.data")
    used = sorted({r[1] for op in trace.ops if op[0] != "optimizer"
                   for r in (op[2] if op[0] == "forward" else op[4]) if r[0] == "arg"})
    for k in used:
        emit(f"    a{k} = args[{k}].data" if k in trace.tensor_args else f"    a{k} = args[{k}]")
    for op in trace.ops:
        if op[0] == "forward":
            _, rule, refs, j = op
            emit(f"    v{j} = {name(rule.forward, rule.name + '_forward')}({', '.join(val(x) for x in refs)})")
            if trace.out_info[j][2]:
                emit(f"    v{j} = _asarray(v{j})")
        elif op[0] == "backward":
            _, rule, j, seed, in_refs, needs, shapes, dests = op
            if seed is not None:
                emit(f"    g{j} = {seeds[seed]}")
            if not any(needs):
                continue
            kw = f", needs_grad={needs!r}" if rule.takes_needs_grad else ""
            emit(f"    t = {name(rule.backward, rule.name + '_backward')}(g{j}, v{j}, "
                 f"{', '.join(val(x) for x in in_refs)}{kw})")
            for i, d in enumerate(dests):
                if d is None:
                    continue
                # summed back after broadcasting exactly when the walk does it: when the shapes differ
                summed = f"t[{i}] if t[{i}].shape == {shapes[i]!r} else _unbroadcast(t[{i}], {shapes[i]!r})"
                if d[0] == "node":
                    _, slot, again = d
                    emit(f"    g{slot} = g{slot} + ({summed})" if again else f"    g{slot} = {summed}")
                else:
                    gx = f"t{i}"
                    emit(f"    {gx} = {summed}")
                    _, r, fresh = d
                    target = f"args[{r[1]}]" if r[0] == "arg" else leaf_names[r[1]]
                    if fresh:  # the common case, inline: a first gradient made for this parameter alone
                        emit(f"    if {target}.grad is None:")
                        emit(f"        {target}.grad = _T({gx})")
                        emit("    else:")
                        emit(f"        _acc({target}, {gx}, True)")
                    else:
                        emit(f"    _acc({target}, {gx}, False)")
        else:
            _, opt, method = op
            emit(f"    {name(opt, 'opt')}.{method}()")
    emit(f"    return {_result_code(trace.result)}")
    source = "def replay(args):\n" + "\n".join(_free_early(lines)) + "\n"
    exec(source, ns)  # our own generated code: straight-line calls of the recorded rules
    return ns["replay"], source


_LOCAL = re.compile(r"\b[vgt]\d*\b")  # the replay's array-holding locals: values, gradients, backward results


def _free_early(lines: list[str]) -> list[str]:
    """``lines`` with ``del name`` after the last use of each local array, as eager mode frees its buffers.

    Without it every intermediate of the step would live until the replay returns (peak memory).
    An ``if``/``else`` block (nested lines) counts as one statement.
    """
    statements: list[list[str]] = []
    for line in lines:
        if line.startswith(("        ", "    else")):
            statements[-1].append(line)
        else:
            statements.append([line])
    last: dict[str, int] = {}
    for k, stmt in enumerate(statements):
        for name in _LOCAL.findall("\n".join(stmt)):
            last[name] = k
    out = []
    for k, stmt in enumerate(statements):
        out.extend(stmt)
        done = sorted(n for n, at in last.items() if at == k)
        if done and not stmt[0].lstrip().startswith("return"):
            out.append(f"    del {', '.join(done)}")
    return out


def _result_code(template) -> str:
    if template is None:
        return "None"
    if template[0] == "tensor":
        return f"_T(v{template[1][1]})"
    kind, items = template
    inner = ", ".join(_result_code(t) for t in items)
    return f"({inner},)" if kind is tuple else f"[{inner}]"
