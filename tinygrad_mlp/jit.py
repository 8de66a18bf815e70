"""Capture a training step once and replay it: :func:`compile`.

>>> step = compile(train_step)        # or @compile above its def   # doctest: +SKIP
>>> loss = step(xb, yb)               # first calls run eagerly and record; later ones replay   # doctest: +SKIP

A training step at the notes' batch size of 10 is a few dozen numpy calls on
tiny arrays, and most of the time goes to the engine's own Python work: making
Tensors, recording nodes, walking the graph. :func:`compile` runs your step
function eagerly (twice, to check it behaves the same on different data) while
listening to the engine, and writes down what happened as straight-line Python:
each op's forward, each node's backward in the order the engine's walk took
them, the gradients added into the parameters' ``.grad`` as ``Tensor.backward``
does, and the optimizer's ``zero_grad()``/``step()``. The common rules' and
SGD's numpy bodies are written out (:mod:`tinygrad_mlp.inline`), into arrays
planned once; any other rule's ``forward``/``backward`` is called, as eager mode
calls it (no gradient code of its own). Later calls with arguments of the same
shapes and dtypes run that code, without Tensors, nodes, the walk or its
checks. The result is bit for bit what eager mode computes.

What is captured, what makes it record again, and what cannot be captured:
see ``docs/compile.md``.
"""

from __future__ import annotations

import functools
import inspect
import operator
import re
import sys
import threading
import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from . import engine, inline
from .engine import Listener
from .errors import ArgumentError, TinygradMLPError
from .tensor_core import Tensor, accumulate_grad

__all__ = ["compile", "CompiledStep", "CaptureError", "uncapturable", "guard_lines"]

RECORDING_LIMIT = 8  # recordings per compiled function before it gives up and runs eagerly (torch.compile's default)


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

    What a step may depend on (the contract), and what happens to everything else: ``docs/compile.md``.
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
    ``reasons`` lists why a signature could not be captured, if any; ``changes`` counts what made
    it record again (an argument's value, a replaced parameter, a module switched to eval ...).
    After ``limit`` recordings (8) it runs eagerly, with one warning naming what kept changing.
    """

    limit = RECORDING_LIMIT

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
        self.changes: dict[str, int] = {}
        self._gave_up = False
        # the replay last used, with a test of its signature written for it: (test, replay) or None
        self._fast: tuple[Callable, Callable] | None = None
        # a replay writes into arrays planned for it (and a native one into its work array): one call at a time
        self._replaying = threading.Lock()

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and engine.quiet and not kwargs and fast[0](args):
            # the usual call: grad mode on, nobody listening (engine.quiet), arguments of the last replay's shapes
            with self._replaying:
                out = fast[1](args)
            if out is not _STALE:
                self.stats["replayed"] += 1
                return out
        sig = None if kwargs else _signature(args)
        if sig is None or engine.active_listeners() or self._gave_up:
            # keyword or unhashable arguments, someone listening (detect_anomaly, jvp, an outer recording), or
            # past the limit of recordings
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        entry = self._entries.get(sig)
        if entry is None:
            entry = self._entries[sig] = _Entry()
        self._last = entry
        if entry.replay is not None:
            with self._replaying:
                out = entry.replay(args)
            if out is not _STALE:
                self.stats["replayed"] += 1
                if entry.test is None:  # (made once per signature: a step alternating two shapes pays it twice)
                    entry.test = _signature_test(sig)
                self._fast = (entry.test, entry.replay) if sig[0] else None
                return out
            self._fast = None
            # something the recording relied on changed: a guard failed; record again
            guards = entry.previous.guards if entry.previous is not None else None
            self._changed("a parameter's array or requires_grad" if guards is None else guards.first_failure(), entry)
        if entry.reason is not None:
            self.stats["eager"] += 1
            return self.fn(*args)
        if self.stats["recorded"] >= self.limit:
            self._give_up()
            self.stats["eager"] += 1
            return self.fn(*args)
        self.stats["recorded"] += 1
        return self._record(entry, args)

    def source(self) -> str | None:
        """The Python source of the replay of the last signature called (``None`` before it is built)."""
        return None if self._last is None else self._last.source

    def _changed(self, what: str, entry: _Entry) -> None:
        self.changes[what] = self.changes.get(what, 0) + 1
        entry.replay, entry.previous = None, None

    def _give_up(self) -> None:
        self._gave_up, self._fast = True, None
        name = getattr(self.fn, "__name__", "fn")
        warnings.warn(f"compile({name}): {self.limit} recordings made, and it would need more: runs eagerly from "
                      f"now on. {_what_kept_changing(self)}", stacklevel=3)

    def _record(self, entry: _Entry, args: tuple):
        guards = _Guards(self.fn, args)  # what the step reaches through Python, as this call begins
        recorder = _Recorder(args, entry.previous)
        with engine.listen(recorder):
            result = self.fn(*args)
        try:
            trace = recorder.finish(result)
            trace.guards = guards
            previous, entry.previous = entry.previous, trace
            if previous is not None:
                changed = previous.guards.difference(guards) if previous.guards is not None else None
                if changed is not None:  # changed between the two recordings: this one is the first of two again
                    self.changes[changed] = self.changes.get(changed, 0) + 1
                    return result
                _same_program(previous, trace)
                entry.replay, entry.source = self._native(trace, args) if self.backend == "native" else _build(trace)
        except _Changed as e:  # a constant's values changed between the two calls: this one is the first of two again
            self.changes[str(e)] = self.changes.get(str(e), 0) + 1
        except CaptureError as e:
            entry.reason = str(e)
            self.reasons.append(entry.reason)
            warnings.warn(f"compile({getattr(self.fn, '__name__', 'fn')}): runs eagerly: {e}", stacklevel=3)
        return result

    def _native(self, trace: _Trace, args: tuple) -> tuple[Callable, str]:
        """The native replay of ``trace`` (and its C source), or else the numpy one, with a one-line warning why."""
        from . import native

        try:
            replay, source = native.build(trace, args, _STALE, Tensor.wrap)
            return _with_guards(trace, replay), source
        except native.NativeUnsupported as e:
            warnings.warn(f"compile({getattr(self.fn, '__name__', 'fn')}, backend='native'): uses the numpy "
                          f"replay: {e}", stacklevel=4)
            return _build(trace)


class _Changed(Exception):
    """Two recordings met the same array with other values (changed in place, by the step or between calls):
    record again; a step that changes it on every call reaches the limit of recordings and runs eagerly."""


class _Entry:
    __slots__ = ("previous", "replay", "source", "reason", "test")

    def __init__(self):
        self.previous: _Trace | None = None
        self.replay: Callable | None = None
        self.source: str | None = None
        self.reason: str | None = None
        self.test: Callable[[tuple], bool] | None = None  # whether arguments have this signature (the fast path)


_STALE = object()  # returned by a replay whose guards failed: something it relied on changed


def _signature(args: tuple) -> tuple | None:
    """What a recording depends on in the arguments: grad mode, then per argument its shape, dtype (and
    requires_grad), or its type and value (or None: an unhashable argument). Flat: one tuple, no tuple per
    argument (it is made on every call); :func:`_per_argument` splits it when a warning needs it."""
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


def _signature_test(sig: tuple) -> Callable[[tuple], bool]:
    """A function telling whether ``args`` have the signature ``sig`` (grad mode aside), faster than making
    theirs: dtypes compared by identity (numpy's built-in ones are single objects; any other takes the long way)."""
    ns: dict[str, Any] = {"_ndarray": np.ndarray, "_Tensor": Tensor}
    tests = []
    for k, part in enumerate(_per_argument(sig)):
        a = f"args[{k}]"
        if len(part) == 3:
            ns[f"s{k}"], ns[f"d{k}"], ns[f"r{k}"] = part
            tests.append(f"type({a}) is _Tensor and {a}.data.shape == s{k} and {a}.data.dtype is d{k} "
                         f"and {a}.requires_grad is r{k}")
        elif isinstance(part[0], tuple) and isinstance(part[1], np.dtype):
            ns[f"s{k}"], ns[f"d{k}"] = part
            tests.append(f"type({a}) is _ndarray and {a}.shape == s{k} and {a}.dtype is d{k}")
        else:
            ns[f"t{k}"], ns[f"v{k}"] = part
            tests.append(f"type({a}) is t{k} and {a} == v{k}")
    exec(f"def test(args):\n    return len(args) == {len(tests)}{''.join(' and ' + t for t in tests)}\n", ns)
    return ns["test"]


def _per_argument(sig: tuple) -> list[tuple]:
    """A flat signature split back into one tuple per argument (a Tensor's has three items, others two)."""
    parts, k = [], 1
    while k < len(sig):
        n = 3 if k + 2 < len(sig) and type(sig[k + 2]) is bool and isinstance(sig[k], tuple) else 2
        parts.append(sig[k:k + n])
        k += n
    return parts


def _what_kept_changing(step: CompiledStep) -> str:
    """One sentence naming the argument whose values (or the global, attribute ...) kept changing."""
    sigs: list[tuple] = [(None, *_per_argument(sig)) for sig in step._entries]
    try:
        names = list(inspect.signature(step.fn).parameters)
    except (TypeError, ValueError):
        names = []
    for k in range(1, max((len(s) for s in sigs), default=1)):
        values = {s[k] for s in sigs if len(s) > k}
        if len(values) > 1:
            what = f"argument {names[k - 1]!r}" if k - 1 < len(names) else f"argument {k - 1}"
            shown = ", ".join(sorted(repr(v[1]) if isinstance(v[0], type) else f"shape {v[0]}" for v in values
                                     if v is not None)[:4])
            return (f"The {what} (position {k - 1}) kept changing ({shown}, ...): each new value or shape needs "
                    "recordings of its own; pass a number that changes as a Tensor or array argument, or keep it "
                    "out of the step")
    if step.changes:
        what = max(step.changes, key=step.changes.__getitem__)
        return (f"{what} kept changing between calls ({step.changes[what]} times), and each change needs new "
                "recordings: keep it fixed while training, or out of the step")
    return "Each recording differed from the one before"


# ---------------------------------------------------------------------- guards

_MISSING = object()
_PLAIN_VALUES = (int, float, bool, str, bytes, complex, type(None))
_MAX_OBJECTS = 500  # a bound on what is watched through Python (a step reaching a huge object graph)


def _is_plain_value(v) -> bool:
    """A value compared by value (a number, a string ...), not by identity."""
    if type(v) in _PLAIN_VALUES or isinstance(v, np.generic):
        return True
    return type(v) is tuple and len(v) <= 16 and all(_is_plain_value(x) for x in v)


def _is_module(v) -> bool:
    return hasattr(type(v), "training") and hasattr(v, "named_parameters")


def _is_watched_object(v) -> bool:
    """A user object whose attributes a step reads: a Module, or an instance of a user class (not a function,
    class, Python module, optimizer, Tensor, array or compiled step, whose state changes as they work)."""
    if _is_module(v):
        return True
    if isinstance(v, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                      functools.partial, Tensor, np.ndarray, CompiledStep)) or hasattr(v, "param_groups"):
        return False
    return hasattr(v, "__dict__")


class _Guards:
    """What a step reaches through Python when a call begins, to be checked again before each replay.

    ``checks``: the globals and closure variables the function names, ``(label, how, where, key, expected)``
    (``how`` "global" or "cell"; numbers and strings compared by value, anything else by identity).
    ``objects``: the modules and user objects among them, with their sub-modules, lists, tuples and dicts,
    each ``(label, object, kind, items)``: every attribute (``vars``) or item with the object it held, compared
    by identity (a parameter, buffer or layer replaced, a ``training`` flag or a number set, an attribute added).
    """

    def __init__(self, fn: Callable, args: tuple):
        self.checks: list[tuple] = []
        self.objects: list[tuple[str, Any, str, tuple]] = []
        self.seen: set[int] = set()
        code = getattr(fn, "__code__", None)
        if isinstance(fn, types.MethodType):
            self._watch(fn.__self__, "self", 0)
            code = fn.__func__.__code__
            fn = fn.__func__
        if code is None:  # a callable object (a Module?): watch it
            self._watch(fn, type(fn).__name__, 0)
            return
        globals_ = getattr(fn, "__globals__", {})
        for name in sorted(_names(code)):
            if name in globals_:
                self.checks.append((f"the global {name!r}", "global", globals_, name, globals_[name]))
                self._watch(globals_[name], name, 0)
        for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            self.checks.append((f"the closure variable {name!r}", "cell", cell, "cell_contents", value))
            self._watch(value, name, 0)
        for k, default in enumerate((*(getattr(fn, "__defaults__", None) or ()),
                                     *(getattr(fn, "__kwdefaults__", None) or {}).values())):
            self._watch(default, f"default value {k}", 0)  # a mutable default (a dict of settings) is read too
        for k, a in enumerate(args):
            self._watch(a, f"argument {k}", 0)

    def _watch(self, value, label: str, depth: int) -> None:
        """Snapshot what ``value`` holds, if it is a module (every level), a user object (two levels) or a
        list, tuple or dict (of up to 256 items, three levels), and what they hold in turn."""
        if id(value) in self.seen or len(self.objects) >= _MAX_OBJECTS:
            return
        if _is_watched_object(value):
            if depth > 1 and not _is_module(value):
                return
            try:
                items = tuple(vars(value).items())
            except TypeError:  # no __dict__ (slots, a builtin): nothing to watch but its identity
                return
            kind, sep = "vars", "."
        elif isinstance(value, (list, tuple, dict)) and len(value) <= 256 and depth <= 2:
            items = tuple(value.items() if isinstance(value, dict) else enumerate(value))
            kind, sep = ("dict" if isinstance(value, dict) else "list"), "["
        else:
            return
        self.seen.add(id(value))
        self.objects.append((label, value, kind, items))
        for key, item in items:
            self._watch(item, f"{label}.{key}" if sep == "." else f"{label}[{key!r}]", depth + 1)

    @staticmethod
    def _items(obj, kind: str) -> tuple:
        return tuple(vars(obj).items() if kind == "vars" else obj.items() if kind == "dict" else enumerate(obj))

    @staticmethod
    def _same(a, b) -> bool:
        if _is_plain_value(b):
            return type(a) is type(b) and bool(a == b)
        return a is b

    @staticmethod
    def _moved(label: str, kind: str, was: tuple, now: tuple) -> str | None:
        """The label of the first attribute or item that differs between two snapshots of one object."""
        for (k, v), (k2, v2) in zip(was, now, strict=False):
            if k != k2 or v is not v2:
                return f"{label}.{k}" if kind == "vars" else f"{label}[{k!r}]"
        return None if len(was) == len(now) else f"the attributes (or items) of {label}"

    def first_failure(self) -> str:
        """The label of the first check that fails now (after a replay found one did)."""
        for label, how, where, key, expected in self.checks:
            now = where.get(key, _MISSING) if how == "global" else getattr(where, key, _MISSING)
            if not self._same(now, expected):
                return label
        for label, obj, kind, items in self.objects:
            moved = self._moved(label, kind, items, self._items(obj, kind))
            if moved is not None:
                return moved
        return "a parameter's array or requires_grad"

    def difference(self, other: _Guards) -> str | None:
        """The label of the first check on which two calls' guards differ (None: they agree)."""
        for a, b in zip(self.checks, other.checks, strict=False):
            if a[0] != b[0] or a[2] is not b[2] or not self._same(b[4], a[4]):
                return a[0]
        for a, b in zip(self.objects, other.objects, strict=False):
            if a[0] != b[0] or a[1] is not b[1]:
                return a[0]
            moved = self._moved(a[0], a[2], a[3], b[3])
            if moved is not None:
                return moved
        if len(self.checks) != len(other.checks) or len(self.objects) != len(other.objects):
            return "what the step reaches through Python"
        return None

    def reads(self, name: Callable[[Any, str], str]) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        """The checks as Python expressions with what they must give: ``(by identity, by value)`` lists of
        ``(expression, expected)``; an expression starting with ``*`` unpacks several values, each compared by
        identity (``name(obj, prefix)`` names a global of the replay)."""
        same_object: list[tuple[str, Any]] = []
        same_value: list[tuple[str, Any]] = []
        for _label, how, where, key, expected in self.checks:
            # (a global deleted since raises KeyError: the replay's except returns _STALE)
            read = f"{name(where, 'G')}[{key!r}]" if how == "global" else f"{name(where, 'cell')}.cell_contents"
            (same_value if _is_plain_value(expected) else same_object).append((read, expected))
        for _label, obj, kind, items in self.objects:
            o = name(obj, "o")
            read = f"*{o}.__dict__.values()" if kind == "vars" else f"*{o}.values()" if kind == "dict" else f"*{o}"
            same_object.append((read, tuple(v for _, v in items)))
        return same_object, same_value


def _names(code: types.CodeType) -> set[str]:
    """The global names a function's code (and the code nested in it: comprehensions, lambdas) reads."""
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return names


# ---------------------------------------------------------------------- recording


def uncapturable(reason: str) -> None:
    """Say that the running code has an effect a recording cannot see (an in-place update of some state).

    Does nothing unless a step is being recorded; then that step is not replayed but runs eagerly,
    and ``reason`` is the warning's. The library's own code says it with ``engine.announce("effect", reason)``
    (``BatchNorm1d`` updating its running statistics, ``clip_grad_norm_``), which is what this calls.
    """
    engine.announce("effect", reason)


class _Trace:
    """What one eager run did, with every array named by where it comes from (a "ref").

    refs: ``("arg", k)`` the k-th argument's array (or the array of a Tensor argument); ``("out", j)``
    the result of op j, or of a conversion the library announced (``"made"``: labels, indices, a
    seed, made again from each call's source); ``("leaf", i)`` the i-th leaf Tensor met (a parameter,
    a buffer, a constant Tensor: read as ``.data`` at replay, so the next recording must meet the very
    same object, or at least the same array); ``("const", i)`` an array the library made from a Python
    value (the ``2`` of ``x * 2``, the implied seed 1), replayed as recorded; ``("array", i)`` a plain
    array used as the source of a conversion, read at replay (the same object in both recordings).
    Arrays and Tensors that neither are nor come from these are values rebuilt on every call: such a
    step runs eagerly.
    """

    def __init__(self):
        self.ops: list[tuple] = []  # ("forward"...), ("made"...), ("backward", ...), ("optimizer", opt, name)
        self.leaves: list[Tensor] = []
        self.leaf_values: dict[int, np.ndarray] = {}  # leaf -> a copy of its values when met (no-grad leaves)
        self.consts: list[tuple[np.ndarray, Any]] = []  # (array, the Python value it was made from)
        self.arrays: list[tuple[np.ndarray, np.ndarray]] = []  # (array, a copy of its values when met)
        self.setting_arrays: list[tuple[np.ndarray, np.ndarray]] = []  # arrays held by rules' settings
        self.out_info: list[tuple] = []  # per op result: (shape, dtype, is 0-d)
        self.in_info: dict[int, tuple] = {}  # per forward's result j: its inputs' (shape, dtype)
        self.grad_info: dict[int, tuple] = {}  # per backward (index in ops): (g's dtype, (each input grad's
        # (shape, dtype), or None))
        self.result: Any = None
        self.tensor_args: set[int] = set()  # positions of the arguments that are Tensors
        self.guards: _Guards | None = None
        self.persistent: set[int] = set()  # leaves met as the same object in both recordings (set on the second)


class _Recorder(Listener):
    """Listens to the engine (ops, walks, conversions, optimizers, effects) while ``fn`` runs eagerly."""

    def __init__(self, args: tuple, previous: _Trace | None):
        self.arg_arrays = {id(a.data if isinstance(a, Tensor) else a): k for k, a in enumerate(args)
                           if isinstance(a, (np.ndarray, Tensor))}
        self.arg_tensors = {id(a): k for k, a in enumerate(args) if isinstance(a, Tensor)}
        self.trace = _Trace()
        self.trace.tensor_args = set(self.arg_tensors.values())
        self.forget: list[weakref.ref] = []  # callbacks that drop freed results from the two maps below
        self.slot_of_tensor: dict[int, int] = {}
        self.slot_of_array: dict[int, int] = {}
        self.const_of_array: dict[int, int] = {}
        self.array_index: dict[int, int] = {}
        self.rebuilt: dict[int, np.ndarray] = {}  # arrays the library made from values no replay can read again
        self.keep: list = []  # arrays known by id: kept alive while recording, so that no id is reused
        self.leaf_index: dict[int, int] = {}
        self.walking = False  # inside a walk of Tensor.backward (between on_walk_start and on_walk_end)
        self.seed: np.ndarray | None = None  # that walk's seed, until its first step
        self.walk_sent: set[int] = set()  # node slots that have received a gradient in that walk
        self.problem: str | None = None
        # .grad of the previous recording's leaves as the call began, to see whether anything the recording
        # cannot see (p.grad = None by hand, model.zero_grad()) changes them during the step
        self.grad_was_none = {} if previous is None else {id(t): t.grad is None for t in previous.leaves}
        self.zeroed: set[int] = set()
        self.checked: set[int] = set()

    def array_ref(self, a: np.ndarray) -> tuple | None:
        k = self.arg_arrays.get(id(a))
        if k is not None:
            return ("arg", k)
        slot = self.slot_of_array.get(id(a))
        if slot is not None:  # a detached result shares the array; a conversion's result
            return ("out", slot)
        i = self.const_of_array.get(id(a))
        if i is not None:
            return ("const", i)
        return None

    def ref(self, t: Tensor) -> tuple:
        slot = self.slot_of_tensor.get(id(t))
        if slot is not None:
            return ("out", slot)
        r = self.array_ref(t.data)
        if r is not None:
            return r
        if t.node is not None:
            self.fail(f"the step used the result of an op ({t.op}) made before it began")
        i = self.leaf_index.get(id(t))
        if i is None:
            if _holds_argument(t.data, self.arg_arrays):  # a view: its values would be replayed as recorded
                self.fail("a Tensor made inside the step holds a view of an argument's array (such as idx[:, None] "
                          "or x[:, :5]): pass that array as an argument, or make it with Tensor ops")
            i = self.leaf_index[id(t)] = len(self.trace.leaves)
            self.trace.leaves.append(t)
            if not t.requires_grad:  # a buffer or a constant: its values now, to see whether the step changes them
                self.trace.leaf_values[i] = t.data.copy()
        return ("leaf", i)

    def fail(self, reason: str) -> None:
        if self.problem is None:
            self.problem = reason

    on_effect = fail  # an in-place update (inplace.py, ndarray -= Tensor, BatchNorm1d's statistics ...)

    def on_made(self, array: np.ndarray, fn, source) -> None:
        """The library made ``array`` as ``fn(source)``: the replay does the same from each call's source."""
        self.keep.append(array)
        src = source.data if isinstance(source, Tensor) else source
        if isinstance(src, np.ndarray):
            r = self.array_ref(src)
            if r is None:
                if _holds_argument(src, self.arg_arrays):
                    return self.fail("the step converts a view of an argument's array (such as labels[:5]): pass "
                                     "that array as an argument, or make it with Tensor ops")
                if id(src) in self.rebuilt or (isinstance(source, Tensor) and source.node is not None):
                    self.rebuilt[id(array)] = array
                    return None
                i = self.array_index.get(id(src))
                if i is None:
                    i = self.array_index[id(src)] = len(self.trace.arrays)
                    self.trace.arrays.append((src, src.copy()))
                    self.keep.append(src)
                r = ("array", i)
            j = len(self.trace.out_info)
            self.slot_of_array[id(array)] = j
            self.trace.out_info.append((array.shape, array.dtype, array.ndim == 0))
            self.trace.ops.append(("made", fn, r, j))
        elif _is_python_value(source):  # a number or list written in (or computed by) the step's Python code
            self.const_of_array[id(array)] = len(self.trace.consts)
            self.trace.consts.append((array, source))
        else:  # a numpy scalar (computed from the data?) or another object: nothing a replay can read again
            self.rebuilt[id(array)] = array
        return None

    def on_walk_start(self, roots, seeds, by: str, create_graph: bool) -> None:
        if by != "backward":
            self.fail("gradients were taken by something other than Tensor.backward() (autograd.grad?)")
        elif create_graph:
            self.fail("backward(create_graph=True) is not captured")
        self.walking, self.walk_sent, self.seed = True, set(), seeds[0] if len(seeds) == 1 else None

    def on_walk_end(self) -> None:
        self.walking, self.seed = False, None

    def on_forward(self, rule, inputs, out) -> None:
        refs = tuple(self.ref(x) for x in inputs)
        for v in _arrays_in(_settings(rule).values()):
            if _holds_argument(v, self.arg_arrays):
                self.fail(f"{rule.name} holds an argument's array (or a view of one) as a setting, such as a mask or "
                          "an index: a replay would keep the recorded one; use an op that takes it as an input")
            elif id(v) in self.slot_of_array or id(v) in self.rebuilt:
                self.fail(f"{rule.name} holds an array made from the data as a setting (a mask or an index): a "
                          "replay would keep the recorded one; use an op that takes it as an input")
            else:
                self.trace.setting_arrays.append((v, v.copy()))
        j = len(self.trace.out_info)
        self.slot_of_tensor[id(out)] = j
        self.slot_of_array.setdefault(id(out.data), j)
        # Results are known by id(); when one is freed (as eager mode frees them during backward), its id may
        # be reused, so it is forgotten then. (Keeping them all alive instead would double the memory.)
        self.forget.append(weakref.ref(out, functools.partial(_forget, self.slot_of_tensor, id(out))))
        if self.slot_of_array[id(out.data)] == j:
            self.forget.append(weakref.ref(out.data, functools.partial(_forget, self.slot_of_array, id(out.data))))
        self.trace.out_info.append((out.data.shape, out.data.dtype, out.data.ndim == 0))
        self.trace.in_info[j] = tuple((x.data.shape, x.data.dtype) for x in inputs)
        self.trace.ops.append(("forward", rule, refs, j))

    def on_backward(self, out, rule, inputs, grad, input_grads, leaf_grads) -> None:
        if not self.walking or self.problem is not None:
            return self.fail("a walk step outside a walk")
        j = self.slot_of_tensor.get(id(out))
        if j is None:
            return self.fail("backward() went through an op made before the step began")
        seed = None
        if self.seed is not None:  # the walk's first step, at its root
            seed = self.array_ref(self.seed)
            if seed is None:
                if id(self.seed) in self.rebuilt:
                    return self.fail("backward(gradient=...) was given a value computed in the step with numpy: "
                                     "pass it as an argument, or compute it with Tensor ops")
                # the implied seed, ones of the root's shape and dtype (which every recording of this signature has)
                seed = ("const", len(self.trace.consts))
                self.trace.consts.append((self.seed, "the implied seed"))
            self.seed = None
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
                if r[0] not in ("arg", "leaf"):
                    return self.fail("a gradient went to a Tensor made inside the step")
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
        self.trace.grad_info[len(self.trace.ops)] = (getattr(grad, "dtype", None), tuple(
            None if gx is None else (np.shape(gx), getattr(gx, "dtype", None)) for gx in input_grads))
        self.trace.ops.append(("backward", rule, j, seed, in_refs, needs, shapes, tuple(dests)))

    def on_optimizer(self, opt, name: str) -> None:  # an optimizer's step() or zero_grad() begins
        self.trace.ops.append(("optimizer", opt, name))
        if name == "zero_grad":
            self.zeroed.update(id(p) for p in getattr(opt, "params", ()))

    def finish(self, result) -> _Trace:
        self.trace.result = self._result_template(result)
        self.forget, self.keep = [], []
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


def _is_python_value(v) -> bool:
    """A value written in Python (a number, a string, None, a list or tuple of them), not a numpy value."""
    if type(v) in _PLAIN_VALUES:
        return True
    return type(v) in (list, tuple) and len(v) <= 10_000 and all(_is_python_value(x) for x in v)


def _arrays_in(values) -> list[np.ndarray]:
    """The arrays among ``values`` and inside their tuples and lists."""
    found, stack = [], list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, np.ndarray):
            found.append(v)
        elif isinstance(v, (tuple, list)):
            stack.extend(v)
    return found


def _holds_argument(value, arg_arrays: dict) -> bool:
    """Whether ``value`` is (or contains) an argument's array or a view of one: ``tm.where(mask_arg, ...)``,
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


_REBUILT = ("the step uses a value it rebuilds on every call (a new array each time: numpy computed from the data, "
            "Tensor(x / 2), a mask from .data, labels from argmax): a replay would keep the recorded one. "
            "Compute it with Tensor ops, or pass it as an argument")


def _same_program(a: _Trace, b: _Trace) -> None:
    """Raise CaptureError unless two recordings did the same (ops, settings, wiring, constants).

    What is taken for a constant is what both recordings met as the same object, unchanged (a parameter,
    a buffer, a fixed mask), or made from the same Python value (the 2 of ``x * 2``). Equal values in two
    different arrays are never taken for a constant: such a value is rebuilt on every call.
    """
    if len(a.ops) != len(b.ops) or a.result != b.result or a.out_info != b.out_info or len(a.leaves) != len(b.leaves):
        raise CaptureError("two calls with the same shapes ran different ops: the step's Python control flow "
                           "depends on values")
    for x, y in zip(a.ops, b.ops, strict=True):
        if x[0] != y[0] or (x[0] != "made" and type(x[1]) is not type(y[1])):
            raise CaptureError(f"two calls ran different ops ({_name(x)}, then {_name(y)}): the step's control "
                               "flow depends on values")
        if x[0] == "optimizer":
            if x[1] is not y[1] or x[2] != y[2]:
                raise CaptureError("two calls used different optimizers or methods")
        elif x[0] == "made":
            if not _same_function(x[1], y[1]) or x[2:] != y[2:]:
                raise CaptureError("two calls converted different values (labels, indices or a seed from "
                                   "different sources)")
        elif not _same_config(x[1], y[1]) or x[2:] != y[2:]:
            if x[2:] == y[2:] and _same_config(x[1], y[1], _same_value):  # equal values, in two different arrays
                raise CaptureError(_REBUILT)
            raise CaptureError(f"two calls ran {_name(x)} with different settings or inputs: something in the step "
                               "depends on the values of the data (a mask or an index made from it?)")
    _same_arrays(a.setting_arrays, b.setting_arrays, "an array held by a rule's settings (a mask)")
    for i, (s, t) in enumerate(zip(a.leaves, b.leaves, strict=True)):
        if s is t:
            b.persistent.add(i)
        elif s.data is not t.data or s.requires_grad or t.requires_grad:
            if s.requires_grad or t.requires_grad:
                raise CaptureError("a gradient went to a Tensor made inside the step; only parameters and Tensor "
                                   "arguments can receive gradients")
            raise CaptureError(_REBUILT)
        if i in a.leaf_values and not _same_value(a.leaf_values[i], b.leaf_values.get(i)):
            raise _Changed(f"the values of a constant Tensor (a buffer, a mask) of shape {s.data.shape}")
    _same_arrays(a.arrays, b.arrays, "an array the library converts (labels, indices)")
    if len(a.consts) != len(b.consts):
        raise CaptureError(_REBUILT)
    for (sa, s_from), (ta, t_from) in zip(a.consts, b.consts, strict=True):
        if sa.shape != ta.shape or sa.dtype != ta.dtype or not _same_value(s_from, t_from):
            raise CaptureError(f"a Python value used in the step changed between calls ({s_from!r}, then {t_from!r}): "
                               "pass a number that changes as an array or Tensor argument")


def _same_arrays(a: list[tuple], b: list[tuple], what: str) -> None:
    """Two recordings' ``(array, its values when met)`` lists name the same arrays, with the same values."""
    if len(a) != len(b) or any(x is not y for (x, _), (y, _) in zip(a, b, strict=True)):
        raise CaptureError(_REBUILT)
    if not all(_same_value(x_was, y_was) for (_, x_was), (_, y_was) in zip(a, b, strict=True)):
        raise _Changed(f"the values of {what}")


def _name(op: tuple) -> str:
    if op[0] == "optimizer":
        return f"{op[2]}()"
    if op[0] == "made":
        return f"a conversion ({getattr(op[1], '__name__', None) or getattr(op[1], 'func', op[1]).__name__})"
    return f"{op[1].name} ({op[0]})"


def _same_function(f, g) -> bool:
    """The same conversion: the same function, or partials of it with equal arguments."""
    if isinstance(f, functools.partial) and isinstance(g, functools.partial):
        return f.func is g.func and _same_value(f.args, g.args) and _same_value(f.keywords, g.keywords)
    return f is g


def _slots(cls) -> list[str]:
    return [s for k in cls.__mro__ for s in getattr(k, "__slots__", ()) if s != "__weakref__"]


def _settings(rule) -> dict:
    """A rule's settings: its slots, and its instance attributes if it has any (a user's rule without __slots__)."""
    settings = {s: getattr(rule, s, None) for s in _slots(type(rule))}
    settings.update(getattr(rule, "__dict__", {}))
    return settings


def _same_config(r1, r2, same_array: Callable = operator.is_) -> bool:
    """The same settings: equal plain values, and the very same arrays (compared for changes elsewhere)."""
    a, b = _settings(r1), _settings(r2)
    return a.keys() == b.keys() and all(_same_setting(a[k], b[k], same_array) for k in a)


def _same_setting(x, y, same_array: Callable) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return bool(same_array(x, y))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return type(x) is type(y) and len(x) == len(y) and all(
            _same_setting(a, b, same_array) for a, b in zip(x, y, strict=True))
    return _same_value(x, y)


def _same_value(x, y) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                and x.dtype == y.dtype and bool(np.array_equal(x, y)))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return type(x) is type(y) and len(x) == len(y) and all(_same_value(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same_value(x[k], y[k]) for k in x)
    try:
        return type(x) is type(y) and bool(x == y)
    except (TypeError, ValueError):
        return x is y


# ---------------------------------------------------------------------- the replay, as Python source


def guard_lines(trace: _Trace, name: Callable[[Any, str], str], parameters: dict[int, str], stale: str,
                more: tuple[list[tuple[str, Any]], list[tuple[str, Any]]] = ([], [])) -> list[str]:
    """The first lines of any replay of ``trace`` (a function of ``args``): they return ``stale`` unless every
    parameter (``parameters``: leaf index -> the replay's global name of that Tensor) still holds the array it held
    and still requires grad as it did, and what the step reaches through Python is what it was (``trace.guards``),
    and ``more`` checks hold (``(by identity, by value)`` lists as :meth:`_Guards.reads` gives).
    ``name(obj, prefix)`` makes an object a global of the replay and returns its name; the replay's globals must
    hold ``_all``, ``_map`` and ``_is`` (``all``, ``map``, ``operator.is_``). A faster replay must begin with them.
    """
    same_object = [(f"{parameters[i]}.data", trace.leaves[i].data) for i in sorted(parameters)]
    same_value = [(f"{parameters[i]}.requires_grad", trace.leaves[i].requires_grad) for i in sorted(parameters)]
    if trace.guards is not None:
        more_objects, more_values = trace.guards.reads(name)
        same_object += more_objects
        same_value += more_values
    same_object += more[0]
    same_value += more[1]
    if not same_object and not same_value:
        return []
    # two comparisons of tuples, not one test per check: a guard costs about two bytecodes, not five (on the notes'
    # step, 3% of its instructions against 1.5%). Whatever cannot be read (a deleted global, a shorter list) raises,
    # and returns too; the length catches an attribute added or removed.
    objects = [o for r, v in same_object for o in (v if r.startswith("*") else (v,))]
    return ["    try:",
            f"        ids = ({', '.join(r for r, _ in same_object)},)",
            (f"        if ({', '.join(r for r, _ in same_value)},) != {name(tuple(v for _, v in same_value), 'V')} "
             f"or len(ids) != {len(objects)} or not _all(_map(_is, ids, {name(tuple(objects), 'I')})):"),
            f"            return {stale}",
            "    except Exception:",
            f"        return {stale}"]


def _with_guards(trace: _Trace, replay: Callable) -> Callable:
    """``replay`` (a native one) behind the guards every replay of ``trace`` begins with (:func:`guard_lines`)."""
    ns: dict[str, Any] = {"_STALE": _STALE, "_all": all, "_map": map, "_is": operator.is_, "_replay": replay}
    names: dict[int, str] = {}

    def name(obj, prefix: str) -> str:
        if id(obj) not in names:
            names[id(obj)] = f"{prefix}{len(ns)}"
            ns[names[id(obj)]] = obj
        return names[id(obj)]

    parameters = {i: name(trace.leaves[i], "p") for i in sorted(trace.persistent)}
    lines = guard_lines(trace, name, parameters, "_STALE")
    exec("def guarded(args):\n" + "\n".join([*lines, "    return _replay(args)"]) + "\n", ns)  # our own code
    return ns["guarded"]


def _build(trace: _Trace) -> tuple[Callable, str]:
    """Write the replay of ``trace`` as one straight-line Python function, and compile it: ``(replay, source)``.

    It begins with the guards: each parameter still holds the array it held when recorded (so its shape and
    dtype are the recorded ones) and still requires grad as it did, and what the step reaches through Python
    (globals, closure variables, module attributes, ``training`` flags, the optimizers' parameters) is what it
    was; else it returns ``_STALE`` and the step is recorded again. Then each op: the common rules' and SGD's
    numpy bodies written out into planned arrays (:mod:`tinygrad_mlp.inline`), any other rule's ``forward`` or
    ``backward`` called; a forward whose value nothing reads is left out.
    """
    return _Writer(trace).write()


class _Writer:
    """Writes the replay of one trace (see :func:`_build`); ``lines`` is its body, ``ns`` its globals."""

    def __init__(self, trace: _Trace):
        self.trace = trace
        self.ns: dict[str, Any] = {"_STALE": _STALE, "_all": all, "_map": map, "_is": operator.is_,
                                   "_T": Tensor.wrap, "_acc": accumulate_grad, "_asarray": np.asarray,
                                   "_unbroadcast": engine.unbroadcast, **inline.NUMPY}
        self.names: dict[int, str] = {}
        self.lines: list[str | list[str]] = []  # (a list: room for lines added later, see optimizer())
        self.plan = inline.Plan(self.name)
        self.leaf_names = {i: self.name(t, "p" if i in trace.persistent else "c") for i, t in enumerate(trace.leaves)}
        self.value: dict[int, str] = {}  # op result j -> its name in the replay (a planned array; else v{j})
        self.readers: dict[int, int] = {}  # op result j -> how many ops of the replay read it
        self.grad: dict[int, str] = {}  # node j -> the name of its gradient so far (a planned array, or g{j})
        self.planned: set[int] = set()  # nodes whose gradient is in a planned array (added to in place)
        # parameters whose .grad this replay knows (by id): None (set to None by a zero_grad written out here),
        # or the name of the array it has just made their .grad
        self.known_grad: dict[int, str | None] = {}
        self.zeroed_at: dict[int, tuple[list, list]] = {}  # parameter (by id) -> room around its zero_grad's lines
        self.held: list[Tensor | None] = []  # the .grad Tensors the replay made last call, to be written over
        self.reused: dict[str, str] = {}  # a leaf gradient's name -> the Tensor holding it (see _leaf_target)

    def name(self, obj, prefix: str) -> str:
        """A global of the replay for ``obj`` (one per object)."""
        key = self.names.get(id(obj))
        if key is None:
            key = f"{prefix}_{len(self.ns)}" if prefix[-1].isalpha() and len(prefix) > 2 else f"{prefix}{len(self.ns)}"
            self.ns[key] = obj
            self.names[id(obj)] = key
        return key

    def val(self, r: tuple) -> str:
        """The replay's expression for the array of ref ``r``."""
        kind, i = r
        if kind == "arg":
            return f"a{i}"
        if kind == "out":
            return self.value.get(i, f"v{i}")
        if kind == "const":
            return self.name(self.trace.consts[i][0], "k")
        if kind == "array":
            return self.name(self.trace.arrays[i][0], "A")
        return f"l{i}" if i in self.trace.persistent else f"{self.leaf_names[i]}.data"

    def data(self, t: Tensor) -> str:
        """The replay's expression for a parameter's array."""
        for i, leaf in enumerate(self.trace.leaves):
            if leaf is t and i in self.trace.persistent:
                return f"l{i}"
        return f"{self.name(t, 'p')}.data"

    def write(self) -> tuple[Callable, str]:
        trace, emit = self.trace, self.lines.append
        optimizers = list({id(op[1]): op[1] for op in trace.ops if op[0] == "optimizer"}.values())
        checks = [check for opt in optimizers for check in inline.optimizer_guards(opt, self.plan)]
        self.lines += guard_lines(trace, self.name, {i: self.leaf_names[i] for i in trace.persistent}, "_STALE",
                                  (checks, []))
        for i in sorted(trace.persistent):
            emit(f"    l{i} = {self.leaf_names[i]}.data")
            self.plan.arrays[f"l{i}"] = trace.leaves[i].data  # (the guard holds it the same)
        used: set[int] = set()
        for op in trace.ops:
            refs = (op[2] if op[0] == "forward" else op[4] if op[0] == "backward" else (op[2],) if op[0] == "made"
                    else ())
            used.update(r[1] for r in (*refs, *((op[3],) if op[0] == "backward" and op[3] else ())) if r[0] == "arg")
        for k in sorted(used):
            emit(f"    a{k} = args[{k}].data" if k in trace.tensor_args else f"    a{k} = args[{k}]")
        unread, self.readers = _readers(trace)
        for k, op in enumerate(trace.ops):
            if op[0] == "forward":
                if op[3] not in unread:
                    self.forward(*op[1:])
            elif op[0] == "made":  # a conversion the library made (labels, indices, a seed), from this call's source
                _, fn, src, j = op
                emit(f"    v{j} = {self.name(fn, 'made')}({self.val(src)})")
            elif op[0] == "backward":
                _, _, j, seed, _, needs, _, _ = op
                if seed is not None and seed[0] == "const":  # (the seed is read where it is used)
                    self.grad[j] = self.val(seed)
                    self.plan.constants[self.grad[j]] = trace.consts[seed[1]][0]
                elif seed is not None:
                    emit(f"    g{j} = {self.val(seed)}")
                    self.grad[j] = f"g{j}"
                if any(needs):
                    self.backward(op, trace.grad_info[k])
            else:
                self.optimizer(op[1], op[2])
        emit(f"    return {self.result_code(trace.result, set(self.value.values()))}")
        lines = [line for item in self.lines for line in (item if isinstance(item, list) else (item,))]
        source = "def replay(args):\n" + "\n".join(_free_early(lines)) + "\n"
        exec(source, self.ns)  # our own generated code: straight-line numpy calls and calls of the recorded rules
        self.plan.settle(self.ns)  # (after compiling: the compiler's memory is given back first)
        planned_ids = frozenset(id(a) for a in self.plan.buffers)
        # a value returned by a rule called here may be a planned array, or a view of one: the caller gets a copy
        self.ns["_own"] = lambda a: a.copy() if a.base is not None or id(a) in planned_ids else a
        self.ns.update(_held=self.held, _rc=sys.getrefcount, _empty=np.empty, _fits=_fits)
        return self.ns["replay"], source

    def forward(self, rule, refs: tuple, j: int) -> None:
        out_shape, out_dtype, zero_d = self.trace.out_info[j]
        # an elementwise rule whose input is a planned array that no other op reads writes over it (as a hand-
        # written step computes an activation in place: half the arrays, and the cache holds them)
        into = None
        if (len(refs) == 1 and refs[0][0] == "out" and refs[0][1] in self.value and self.readers.get(refs[0][1]) == 1
                and self.trace.out_info[refs[0][1]][:2] == (out_shape, out_dtype)):
            into = self.value[refs[0][1]]
        planned = None if zero_d else inline.forward_lines(
            rule, [self.val(x) for x in refs], self.trace.in_info[j], (out_shape, out_dtype), self.plan, into)
        if planned is not None:
            self.value[j], body = planned
            self.lines += [f"    # {rule.name}.forward", *body]
            return
        self.lines.append(f"    v{j} = {self.name(rule.forward, rule.name + '_forward')}"
                          f"({', '.join(self.val(x) for x in refs)})")
        if zero_d:
            self.lines.append(f"    v{j} = _asarray(v{j})")

    def backward(self, op: tuple, grad_info: tuple) -> None:
        """One walk step: node ``j``'s rule sends its gradient to its inputs (``dests``)."""
        _, rule, j, _, in_refs, needs, shapes, dests = op
        emit, plan = self.lines.append, self.plan
        g, out = self.grad.get(j, f"g{j}"), self.val(("out", j))
        if inline.backward_covered(rule, self.trace.in_info[j], grad_info, tuple(d is not None for d in dests)):
            # the rule's numpy body: a node's gradient into a planned array, a leaf's into a new one (its .grad)
            # an elementwise rule writes its input's gradient over its own (planned) one: no other op reads it
            over = (inline.elementwise(rule) and j in self.planned and dests[0] is not None and dests[0][0] == "node"
                    and grad_info[1][0] == self.plan.info(g))
            targets = [None if d is None else (g, False) if over else (plan.buffer(*grad_info[1][i]), False)
                       if d[0] == "node" else self._leaf_target(d[1], grad_info[1][i]) for i, d in enumerate(dests)]
            emit(f"    # {rule.name}.backward")
            self.lines += inline.backward_lines(rule, g, out, [self.val(x) for x in in_refs], self.trace.in_info[j],
                                                targets, plan)
            results = [None if t is None else t[0] for t in targets]
            fresh, planned = [True] * len(dests), True
        else:  # any other rule: its backward, called; each result summed back after broadcasting exactly when the
            # walk does it (when the shapes differ)
            kw = f", needs_grad={needs!r}" if rule.takes_needs_grad else ""
            emit(f"    t = {self.name(rule.backward, rule.name + '_backward')}({g}, {out}, "
                 f"{', '.join(self.val(x) for x in in_refs)}{kw})")
            results = []
            for i, d in enumerate(dests):
                summed = f"t[{i}] if t[{i}].shape == {shapes[i]!r} else _unbroadcast(t[{i}], {shapes[i]!r})"
                if d is not None and d[0] == "leaf":
                    emit(f"    {self._leaf_grad_name(d[1])} = {summed}")
                    results.append(self._leaf_grad_name(d[1]))
                else:
                    results.append(f"({summed})")
            fresh, planned = [d is not None and d[0] == "leaf" and d[2] for d in dests], False
        for d, result, is_fresh in zip(dests, results, fresh, strict=True):
            if d is None or result is None:
                continue
            if d[0] == "node":
                self._to_node(d[1], d[2], result, planned)
            else:
                self._to_leaf(d[1], result, is_fresh)

    def _leaf_grad_name(self, r: tuple) -> str:
        return f"d{r[1]}" if r[0] == "leaf" else f"da{r[1]}"

    def _leaf_target(self, r: tuple, info: tuple) -> tuple[str, bool]:
        """Where a covered rule writes a leaf's gradient: a new array (``fresh``), or, for a parameter whose .grad
        this replay's zero_grad set to None and which gets its first gradient here, last step's .grad array when
        nothing but the parameter held it (reference counts: then nobody can tell it from a new one; eager mode
        makes a new one every step, and so does this when the caller kept ``p.grad`` or its array)."""
        name = self._leaf_grad_name(r)
        leaf = None if r[0] == "arg" else self.trace.leaves[r[1]]
        if leaf is None or self.known_grad.get(id(leaf), "?") is not None or id(leaf) not in self.zeroed_at:
            return name, True
        before, after = self.zeroed_at.pop(id(leaf))
        held, p = f"h{r[1]}", self.leaf_names[r[1]]
        k = len(self.held)
        self.held.append(None)
        before.append(f"    {held} = {p}.grad")
        shape, dtype = info[0], self.name(info[1], "dtype")
        after += [f"    if {held} is not _held[{k}] or _rc({held}) != 3 or _rc({held}.data) != 2:",
                  # not last step's: one nothing else holds may still be taken (eager mode's, on the first replay)
                  (f"        if {held} is None or _rc({held}) != 2 or _rc({held}.data) != 2 or not _fits({held}.data, "
                   f"{shape!r}, {dtype}):"),
                  f"            {held} = _T(_empty({shape!r}, {dtype}))",
                  f"        _held[{k}] = {held}",
                  f"    {name} = {held}.data"]
        self.reused[name] = held
        return name, False

    def _to_node(self, slot: int, again: bool, result: str, planned: bool) -> None:
        """Node ``slot``'s gradient gets ``result``: a planned array (``planned``), or an expression."""
        emit = self.lines.append
        if not again:  # its first gradient
            if not planned:
                emit(f"    g{slot} = {result}")
                self.grad[slot] = f"g{slot}"
            else:
                self.grad[slot] = result
                self.planned.add(slot)
        elif slot in self.planned:  # added to the first, as the walk does (first + this), in place
            emit(f"    _add({self.grad[slot]}, {result}, out={self.grad[slot]})")
        else:
            emit(f"    g{slot} = {self.grad[slot]} + {result}")
            self.grad[slot] = f"g{slot}"

    def _to_leaf(self, r: tuple, grad: str, fresh: bool) -> None:
        """A leaf's gradient, the array ``grad``, added into its ``.grad`` as ``Tensor.backward`` does (through
        :func:`accumulate_grad`): the first one, made for this leaf alone (``fresh``), becomes its .grad as it is."""
        emit = self.lines.append
        leaf = None if r[0] == "arg" else self.trace.leaves[r[1]]
        target = f"args[{r[1]}]" if leaf is None else self.leaf_names[r[1]]
        if grad in self.reused:  # last step's .grad (or a new one): see _leaf_target
            emit(f"    {target}.grad = {self.reused.pop(grad)}")
            self.known_grad[id(leaf)] = grad
            return
        if leaf is not None and fresh and id(leaf) in self.known_grad and self.known_grad[id(leaf)] is None:
            emit(f"    {target}.grad = _T({grad})")  # its .grad was set to None by this replay's zero_grad
            self.known_grad[id(leaf)] = grad
            return
        if leaf is not None:
            self.known_grad.pop(id(leaf), None)
        if fresh:  # (inline, as accumulate_grad would do it: 1% of a small step's instructions)
            self.lines += [f"    if {target}.grad is None:", f"        {target}.grad = _T({grad})", "    else:",
                           f"        _acc({target}, {grad}, False)"]
        else:
            emit(f"    _acc({target}, {grad}, True)")

    def optimizer(self, opt, method: str) -> None:
        lines = inline.optimizer_lines(opt, method, self.plan, self.data, self.known_grad)
        if lines is None:  # the optimizer's own method, called: any .grad may have changed
            self.lines.append(f"    {self.name(opt, 'opt')}.{method}()")
            self.known_grad.clear()
            self.zeroed_at.clear()
        elif method == "zero_grad":  # with room before and after it for lines _leaf_target may add
            before: list[str] = []
            after: list[str] = []
            self.lines += [before, *lines, after]
            self.zeroed_at.update((id(p), (before, after)) for p in opt.params)
        else:
            self.lines += lines

    def result_code(self, template, planned: set[str]) -> str:
        """The replay's return value: Tensors around the arrays the step returns, copied from a planned array
        (the next call writes over it) or from a view (of one, maybe)."""
        if template is None:
            return "None"
        if template[0] == "tensor":
            v = self.val(template[1])
            return f"_T({v}.copy())" if v in planned else f"_T(_own({v}))" if planned else f"_T({v})"
        kind, items = template
        inner = ", ".join(self.result_code(t, planned) for t in items)
        return f"({inner},)" if kind is tuple else f"[{inner}]"


def _fits(a: np.ndarray, shape: tuple, dtype: np.dtype) -> bool:
    """Whether ``a`` can take a gradient of ``shape`` and ``dtype`` written into it: its own C-ordered memory."""
    return a.shape == shape and a.dtype == dtype and a.base is None and a.flags.c_contiguous and a.flags.writeable


def _readers(trace: _Trace) -> tuple[set[int], dict[int, int]]:
    """``(unread, readers)``: the forward results nothing reads, of rules without effects (:func:`inline.pure`:
    the loss's value of a step that neither returns it nor differentiates through it, as a covered backward does
    not read it), left out of the replay; and how many ops of the replay read each other result (a value read by
    one op only may be written over by it)."""
    readers: dict[int, int] = {}

    def read(j: int) -> None:
        readers[j] = readers.get(j, 0) + 1

    stack = [trace.result]
    while stack:  # what the step returns
        t = stack.pop()
        if t is None:
            continue
        if t[0] == "tensor":
            read(t[1][1])
            read(t[1][1])  # (never written over: returned)
        else:
            stack.extend(t[1])
    for k, op in enumerate(trace.ops):
        if op[0] == "made" and op[2][0] == "out":
            read(op[2][1])
        elif op[0] == "backward":
            _, rule, j, _, in_refs, needs, _, dests = op
            if not any(needs):
                continue
            wanted = tuple(d is not None for d in dests)
            reads = inline.backward_reads(rule, wanted)
            if reads is not None and inline.backward_covered(rule, trace.in_info[j], trace.grad_info[k], wanted):
                reads_out, reads_inputs = reads
            else:
                reads_out, reads_inputs = True, (True,) * len(in_refs)
            if reads_out:
                read(j)
            for r, wanted_input in zip(in_refs, reads_inputs, strict=True):
                if wanted_input and r[0] == "out":
                    read(r[1])
    unread = set()
    for op in reversed(trace.ops):
        if op[0] == "forward":
            _, rule, refs, j = op
            if j not in readers and inline.pure(rule):
                unread.add(j)
            else:
                for r in refs:
                    if r[0] == "out":
                        read(r[1])
    return unread, readers


_LOCAL = re.compile(r"\b(?:[vgt]\d*|da?\d+)\b")  # the replay's array-holding locals: values, gradients,
# backward results, leaves' gradients


def _free_early(lines: list[str]) -> list[str]:
    """``lines`` with ``del name`` after the last use of each local array, as eager mode frees its buffers.

    Without it every intermediate of the step would live until the replay returns (peak memory).
    An ``if``/``else`` block (nested lines) counts as one statement.
    """
    statements: list[list[str]] = []
    for line in lines:
        if line.startswith(("        ", "    else", "    except")):
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
