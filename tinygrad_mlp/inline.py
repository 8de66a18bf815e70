"""The common rules' and SGD's numpy bodies, written straight into a replay of :func:`tinygrad_mlp.compile`.

A replay that calls ``rule.forward`` and ``rule.backward`` for every recorded op, and the optimizer's ``step()``,
spends most of a small training step in Python: the calls, a new array for every result, the optimizer's loop
over its groups. For the rules of the common MLP step (``Linear``, ``Sigmoid``, ``Relu``, ``Tanh``, ``OneHot``,
the losses' ``SquaredError``, ``LogSoftmax`` and ``WeightedLogSum``) and for ``SGD``, this module writes the
numpy calls those methods make, in the same order, on the same operands, as lines of the replay's source. Each
call writes into an array planned once, when the replay is built (``out=``): the values of the forward pass, the
gradients sent between nodes, a little scratch. numpy computes the same numbers into a given array as into a
new one, so the replay stays bit for bit eager mode (tests/test_jit_inline.py holds it to that).

Planned arrays never leave the step: a returned value is copied, and a parameter's ``.grad`` is a new array
every step, as in eager mode, unless nobody could tell (the replay checks reference counts: see
``jit._Writer._leaf_target``). A rule, shape or dtype not covered here is replayed by calling the rule's methods,
as before; the two mix freely in one replay.

The ``*_lines`` functions return source lines (indented for the replay's body) and name the arrays and
constants they need through the :class:`Plan` they are given; ``forward_lines`` and ``optimizer_lines`` return
``None`` for a case they do not cover, and :func:`backward_covered` says which cases ``backward_lines`` covers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import engine
from .ops import EXP_LIMIT, Linear, LogSoftmax, OneHot, Relu, Sigmoid, SquaredError, Tanh, WeightedLogSum

__all__ = ["Plan", "NUMPY", "forward_lines", "backward_covered", "backward_lines", "backward_reads", "pure",
           "elementwise", "optimizer_lines", "optimizer_guards"]

# the numpy functions the lines call, by the replay's global names
NUMPY: dict[str, Any] = {
    "_mm": np.matmul, "_add": np.add, "_sub": np.subtract, "_mul": np.multiply, "_neg": np.negative,
    "_min": np.minimum, "_max": np.maximum, "_exp": np.exp, "_rec": np.reciprocal, "_log": np.log,
    "_tanh": np.tanh, "_gt": np.greater, "_sum": np.add.reduce, "_maxr": np.maximum.reduce,
    "_changed": engine.changed_in_place,
}

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
UPDATE_BLOCK = 32768  # numbers of a parameter updated at a time by the written-out SGD step (its temporary's size)
Info = tuple[tuple[int, ...], np.dtype]  # an array's (shape, dtype)
Target = tuple[str, bool]  # where a result goes: (name, fresh): a new array of that name, or into that array


class Plan:
    """The arrays and constants a replay's lines use, made its globals through ``name(obj, prefix)``.

    ``buffer`` plans an array of the replay's own (one per value or gradient); ``scratch`` one shared by every
    kernel that needs a temporary of that shape and dtype (used within one kernel's lines only); ``shared`` a view
    of one array per dtype. They are made by :meth:`settle`, after the replay's source is compiled (compiling
    takes about half a megabyte for a while: not on top of them).
    """

    def __init__(self, name: Callable[[Any, str], str]):
        self.name = name
        self.buffers: list[np.ndarray] = []  # the arrays made by settle()
        self.constants: dict[str, np.ndarray] = {}  # the names of arrays the replay never changes (a seed)
        self.arrays: dict[str, np.ndarray] = {}  # arrays that exist already and stay the same (parameters'), by name
        self._planned: dict[str, tuple[tuple[int, ...], np.dtype]] = {}  # name -> (shape, dtype), made by settle()
        self._views: list[tuple[str, str, Callable]] = []  # (name, planned array's name, view of it)
        self._scratch: dict[tuple, str] = {}
        self._scalars: dict[tuple, str] = {}
        self._shared: dict[np.dtype, list[tuple[str, tuple]]] = {}

    def buffer(self, shape: tuple[int, ...], dtype) -> str:
        name = self.name(object(), "buf")  # (a placeholder: settle() puts the array there)
        self._planned[name] = (tuple(shape), np.dtype(dtype))
        return name

    def info(self, name: str) -> Info | None:
        """The (shape, dtype) of the planned array ``name``, or None."""
        return self._planned.get(name)

    def transposed(self, expr: str) -> str:
        """``expr.T``, made once when ``expr`` names an array that stays the same object (a view, a few attribute
        reads less per call)."""
        if expr in self.arrays:
            return self.name(self.arrays[expr].T, "T")
        if expr in self._planned:
            name = self.name(object(), "T")
            self._views.append((name, expr, lambda a: a.T))
            return name
        return f"{expr}.T"

    def rows(self, expr: str, start: int, stop: int) -> str:
        """``expr[start:stop]``, made once like :meth:`transposed`."""
        if expr in self.arrays:
            return self.name(self.arrays[expr][start:stop], "R")
        return f"{expr}[{start}:{stop}]"

    def scratch(self, shape: tuple[int, ...], dtype, k: int = 0) -> str:
        key = (shape, np.dtype(dtype), k)
        if key not in self._scratch:
            self._scratch[key] = self.buffer(shape, dtype)
        return self._scratch[key]

    def shared(self, shape: tuple[int, ...], dtype) -> str:
        """A scratch array of ``shape`` and ``dtype`` that is a view of one array shared by every such request of
        that dtype: for values used in one statement pair only (the optimizer's update), so that they take the
        room of the largest alone."""
        views = self._shared.setdefault(np.dtype(dtype), [])
        name = self.name(object(), "U")
        views.append((name, shape))
        return name

    def scalar(self, value, dtype) -> str:
        """A 0-d array of ``value`` in ``dtype``: the number a ufunc would make of the Python or numpy scalar, given
        ready (numpy takes a 0-d array of the other operand's dtype about 0.3 us faster than a Python number)."""
        key = (repr(value), np.dtype(dtype).str)
        if key not in self._scalars:
            self._scalars[key] = self.name(np.array(value, dtype), "s")
        return self._scalars[key]

    def settle(self, ns: dict[str, Any]) -> None:
        """Make the planned arrays, their views and the shared ones (one per dtype, of the largest size asked
        for), as the replay's globals ``ns``."""
        for name, (shape, dtype) in self._planned.items():
            ns[name] = np.empty(shape, dtype)
            self.buffers.append(ns[name])
        for name, of, view in self._views:
            ns[name] = view(ns[of])
        for dtype, views in self._shared.items():
            base = np.empty(max(math.prod(shape) for _, shape in views), dtype)
            self.buffers.append(base)
            for name, shape in views:
                ns[name] = base[:math.prod(shape)].reshape(shape)


def _into(call: str, target: Target) -> str:
    """``call`` (``"_mm(a, b"``, its closing parenthesis left off) writing into ``target``."""
    name, fresh = target
    return f"    {name} = {call})" if fresh else f"    {call}, out={name})"


def _same_float(*infos: Info) -> bool:
    return infos[0][1] in _FLOATS and all(i[1] == infos[0][1] for i in infos)


# ---------------------------------------------------------------------- forward


def pure(rule) -> bool:
    """Whether ``rule``'s forward may be left out of a replay when nothing reads its value (no effect, no check
    a later op depends on)."""
    return type(rule) in (Linear, Sigmoid, Relu, Tanh, SquaredError, LogSoftmax, WeightedLogSum)


def elementwise(rule) -> bool:
    """Whether ``rule``'s lines here may write their result over their (single) input, forward and backward."""
    return type(rule) in (Sigmoid, Relu, Tanh, LogSoftmax)


def forward_lines(rule, ins: list[str], info: tuple[Info, ...], out_info: Info, plan: Plan,
                  into: str | None = None) -> tuple[str, list[str]] | None:
    """``(out, lines)``: lines computing ``rule``'s forward of ``ins`` into ``out``, an array planned for it (or
    ``into``, the input's, for an :func:`elementwise` rule), as ``rule.forward`` does; ``None`` for a rule, shape
    or dtype not covered here."""
    lines = _forward_lines(rule, "{out}", ins, info, out_info, plan)
    if lines is None:
        return None
    out = into if into is not None and elementwise(rule) else plan.buffer(*out_info)
    return out, [line.replace("{out}", out) for line in lines]


def _forward_lines(rule, out: str, ins: list[str], info: tuple[Info, ...], out_info: Info,
                   plan: Plan) -> list[str] | None:
    kind = type(rule)
    if kind is Linear and len(info) == 3 and _same_float(*info, out_info):
        (xs, _), (ws, _), (bs, _) = info
        if len(xs) != 2 or len(ws) != 2 or len(bs) != 1:
            return None
        x, w, b = ins
        return [f"    _mm({x}, {plan.transposed(w)}, out={out})",  # x @ w.T
                f"    _add({out}, {b}, out={out})"]  # out += b
    if len(info) != 1 or not info[0][0]:
        return None  # (0-d values take another path in some rules)
    (x,) = ins
    dtype = info[0][1]
    if kind is Sigmoid and _same_float(*info, out_info):
        limit, one = plan.scalar(EXP_LIMIT.get(dtype, 709.0), dtype), plan.scalar(1, dtype)
        return [f"    _neg({x}, out={out})", f"    _min({out}, {limit}, out={out})", f"    _exp({out}, out={out})",
                f"    _add({out}, {one}, out={out})", f"    _rec({out}, out={out})"]
    if kind is Relu and _same_float(*info, out_info):
        return [f"    _max({x}, {plan.scalar(0, dtype)}, out={out})"]
    if kind is Tanh and _same_float(*info, out_info):
        return [f"    _tanh({x}, out={out})"]
    if kind is LogSoftmax and _same_float(*info, out_info):
        shape, dtype = info[0]
        axis = rule.axis % len(shape)
        row = plan.scratch((*shape[:axis], 1, *shape[axis + 1:]), dtype)
        e = plan.scratch(shape, dtype, 1)  # (another than row's, should the axis have length 1)
        return [f"    _maxr({x}, axis={axis}, keepdims=True, out={row})", f"    _sub({x}, {row}, out={out})",
                f"    _exp({out}, out={e})", f"    _sum({e}, axis={axis}, keepdims=True, out={row})",
                f"    _log({row}, out={row})", f"    _sub({out}, {row}, out={out})"]
    if kind is OneHot and len(info[0][0]) == 1 and info[0][0][0] and info[0][1].kind in "iu" \
            and info[0][1].itemsize == 8 and out_info[1] == rule.dtype:
        # as OneHot.forward: labels read as unsigned (a negative one is out of range), checked, rows taken
        view = [f"    u = {x}.view({plan.name(np.dtype(np.uint64), 'u64')})"] if info[0][1].kind == "i" else []
        labels = "u" if view else x
        return [*view, f"    if _maxr({labels}) >= {rule.num_classes}:",
                f"        {plan.name(rule.forward, 'OneHot_forward')}({x})  # raises eager mode's IndexError",
                f"    {plan.name(rule.table, 'table')}.take({labels}, axis=0, out={out})"]
    return None


# ---------------------------------------------------------------------- backward


def backward_reads(rule, needs: tuple[bool, ...]) -> tuple[bool, tuple[bool, ...]] | None:
    """What ``rule``'s backward lines read besides the gradient: ``(its forward's value, each input)``; ``None``
    for a rule without lines here (its ``backward`` is called and may read everything)."""
    kind = type(rule)
    if kind is Linear:
        return False, (False, needs[1], needs[0])  # g @ w for x, g.T @ x for w
    if kind in (Sigmoid, Tanh, LogSoftmax, Relu):  # (Relu's x > 0 is the same mask as relu(x) > 0)
        return True, (False,)
    if kind is SquaredError:
        return False, (True, True)
    if kind is WeightedLogSum and rule.axis is None:
        return False, (needs[1], needs[0])  # g * w for y, g * y for w
    return None


def backward_covered(rule, info: tuple[Info, ...], grads: tuple, wanted: tuple[bool, ...]) -> bool:
    """Whether :func:`backward_lines` writes ``rule``'s backward for inputs of ``info`` (shape, dtype), the
    recorded gradients' ``grads`` (``(g's dtype, (each input gradient's (shape, dtype) or None))``) and the
    inputs ``wanted``: a rule covered here, every array of one float dtype, and each wanted gradient of its
    input's shape (nothing to sum back after broadcasting, nothing to cast)."""
    kind = type(rule)
    if backward_reads(rule, tuple(wanted)) is None or not info or not all(i[0] for i in info):
        return False
    g_dtype, input_grads = grads
    if not _same_float(*info, ((), g_dtype)) or any(w and input_grads[k] != info[k] for k, w in enumerate(wanted)):
        return False
    if kind is Linear:
        return len(info[0][0]) == 2 and len(info[1][0]) == 2 and len(info[2][0]) == 1
    if kind in (SquaredError, WeightedLogSum):
        return info[0][0] == info[1][0]
    return True


def backward_lines(rule, g: str, out: str, ins: list[str], info: tuple[Info, ...], targets: list[Target | None],
                   plan: Plan) -> list[str]:
    """Lines computing ``rule``'s backward into ``targets`` (one per input: ``None`` where no gradient is
    wanted), as ``rule.backward`` does; for a case :func:`backward_covered` covers."""
    kind = type(rule)
    lines: list[str] = []
    if kind is Linear:
        x, w, _ = ins
        tx, tw, tb = targets
        if tx is not None:
            lines.append(_into(f"_mm({g}, {w}", tx))  # g @ w
        if tw is not None:
            lines.append(_into(f"_mm({plan.transposed(g)}, {x}", tw))  # g.T @ x
        if tb is not None:
            lines.append(_into(f"_sum({g}, axis=0", tb))
        return lines
    if kind in (Sigmoid, Tanh, Relu, LogSoftmax):
        (tx,) = targets
        if tx is None:
            return lines
        shape, dtype = info[0]
        one = plan.scalar(1, dtype)
        if kind is Sigmoid:  # g * out * (1 - out)
            s = plan.scratch(shape, dtype)
            return [_into(f"_mul({g}, {out}", tx), f"    _sub({one}, {out}, out={s})",
                    f"    _mul({tx[0]}, {s}, out={tx[0]})"]
        if kind is Tanh:  # g * (1 - out * out)
            s = plan.scratch(shape, dtype)
            return [f"    _mul({out}, {out}, out={s})", f"    _sub({one}, {s}, out={s})", _into(f"_mul({g}, {s}", tx)]
        if kind is Relu:  # g * (x > 0), with the mask taken from relu(x) (the same: x > 0 exactly where it is > 0)
            mask = plan.scratch(shape, np.bool_)
            return [f"    _gt({out}, {plan.scalar(0, dtype)}, out={mask})", _into(f"_mul({g}, {mask}", tx)]
        # LogSoftmax: g - exp(out) * g.sum(axis, keepdims=True)
        axis = rule.axis % len(shape)
        row, e = plan.scratch((*shape[:axis], 1, *shape[axis + 1:]), dtype), plan.scratch(shape, dtype, 1)
        return [f"    _sum({g}, axis={axis}, keepdims=True, out={row})", f"    _exp({out}, out={e})",
                f"    _mul({e}, {row}, out={e})", _into(f"_sub({g}, {e}", tx)]
    if kind is SquaredError:
        # (x - t) * (g * (2 / n)), and its negative for t
        x, t = ins
        tx, tt = targets
        gx = tx if tx is not None else (plan.scratch(*info[0]), False)
        scale = f"{g} * {2 / info[0][0][0]!r}"
        if g in plan.constants:  # (the seed: the same product on every call)
            scale = plan.scalar(plan.constants[g] * (2 / info[0][0][0]), info[0][1])
        lines += [_into(f"_sub({x}, {t}", gx), f"    _mul({gx[0]}, {scale}, out={gx[0]})"]
        if tt is not None:
            lines.append(_into(f"_neg({gx[0]}", tt))
        return lines
    y, w = ins  # WeightedLogSum over everything
    ty, tw = targets
    if ty is not None:
        lines.append(_into(f"_mul({g}, {w}", ty))
    if tw is not None:
        lines.append(_into(f"_mul({g}, {y}", tw))
    return lines


# ---------------------------------------------------------------------- the optimizer


def _inline_sgd(opt) -> bool:
    """Whether ``opt.step()`` is written out: plain ``SGD`` with one group (of the optimizer's parameters, in its
    order), and with momentum, a velocity array for every parameter (made by the recorded steps)."""
    from . import optim  # (here: `import tinygrad_mlp` does not import the optimizers)

    if type(opt) is not optim.SGD or type(opt).step is not optim.SGD.step or len(opt.param_groups) != 1:
        return False
    group = opt.param_groups[0]
    if not hasattr(group, "changed") or len(group["params"]) != len(opt.params) or any(
            p is not q for p, q in zip(group["params"], opt.params, strict=True)):
        return False
    velocity = opt.state.get("velocity")
    return not group["momentum"] or (velocity is not None and all(v is not None for v in velocity))


def optimizer_guards(opt, plan: Plan) -> list[tuple[str, Any]]:
    """What the lines of :func:`optimizer_lines` rely on, for the replay's guard: ``(expression, expected)``
    pairs compared by identity (``*`` unpacks): the optimizer's parameters and its groups."""
    o = plan.name(opt, "opt")
    same_object: list[tuple[str, Any]] = [(f"*{o}.params", tuple(opt.params))]
    if _inline_sgd(opt):
        group = opt.param_groups[0]
        same_object += [(f"*{o}.param_groups", tuple(opt.param_groups)),
                        (f"*{plan.name(group, 'group')}['params']", tuple(group["params"]))]
    return same_object


def optimizer_lines(opt, method: str, plan: Plan, data: Callable[[Any], str],
                    known_grad: dict[int, str | None]) -> list[str] | None:
    """Lines doing ``opt.<method>()``, for ``zero_grad`` and for ``SGD.step`` with one parameter group (``lr`` read
    on every call; a group whose hyperparameters were set since the last step takes the optimizer's own
    ``step()``, which checks them); ``None`` for any other (the replay calls it). ``data(p)`` names ``p.data``;
    ``known_grad`` maps a parameter (by id) to the name of the array the replay has just made its ``.grad``, or
    to None where it set it to None: this updates it, and the step reads a gradient from it when it can."""
    from . import optim

    o = plan.name(opt, "opt")
    params = [plan.name(p, "p") for p in opt.params]
    if method == "zero_grad" and type(opt).zero_grad is optim.Optimizer.zero_grad:
        known_grad.update((id(p), None) for p in opt.params)
        return [f"    # {type(opt).__name__}.zero_grad()", *(f"    {p}.grad = None" for p in params)]  # set_to_none
    if method != "step" or not _inline_sgd(opt):
        return None
    group = opt.param_groups[0]
    g = plan.name(group, "group")
    hyper = ("momentum", "dampening", "weight_decay", "nesterov")
    momentum, dampening, wd, nesterov = (group[h] for h in hyper)
    # the optimizer's own step() when a hyperparameter was set since the last step (it checks them: a schedule's
    # lr), when the others are not those these lines were written for, or the velocity arrays were replaced
    recorded = plan.name(tuple(group[h] for h in hyper), "hyper")
    moved = f"{g}.changed or ({', '.join(f'{g}[{h!r}]' for h in hyper)},) != {recorded}"
    if momentum:
        velocity = tuple(opt.state["velocity"])
        moved += (f" or len(vs := {o}.state.get('velocity', ())) != {len(velocity)}"
                  f" or not _all(_map(_is, vs, {plan.name(velocity, 'vs')}))")
    lines = ["    # SGD.step()", f"    if {moved}:", f"        {o}.step()", "    else:", f"        {o}.steps += 1"]
    lrs: dict[np.dtype, str] = {}  # the lr as a 0-d array of each parameter dtype, set on every call
    for i, (p, t) in enumerate(zip(params, opt.params, strict=True)):
        known = known_grad.get(id(t), "?")
        if known is None:  # no gradient (set to None by this replay's zero_grad, and none came): not stepped
            continue
        dtype = t.data.dtype
        if dtype not in lrs:
            lrs[dtype] = plan.name(np.zeros((), dtype), "lr")
            lines.append(f"        {lrs[dtype]}[()] = {g}['lr']")
        indent, q = "        ", known
        if known == "?":  # whatever the .grad is now
            lines += [f"        q = {p}.grad", "        if q is not None:", "            q = q.data"]
            indent, q = "            ", "q"
        if wd:  # g = g + wd * p.data
            lines.append(f"{indent}q = {q} + {plan.scalar(wd, dtype)} * {data(t)}")
            q = "q"
        if momentum:  # v *= m; v += g (or (1 - dampening) * g); the step uses v, or g + m * v (Nesterov)
            v, m = plan.name(opt.state["velocity"][i], "vel"), plan.scalar(momentum, dtype)
            lines.append(f"{indent}_mul({v}, {m}, out={v})")
            lines.append(f"{indent}_add({v}, {q}, out={v})" if not dampening else
                         f"{indent}_add({v}, {plan.scalar(1 - dampening, dtype)} * {q}, out={v})")
            if nesterov:
                lines.append(f"{indent}q = {q} + {m} * {v}")
            q = "q" if nesterov else v
        # p.data -= lr * g, a block of rows at a time: lr * g needs a temporary array, and a small one does
        shape = t.data.shape
        step_rows = max(1, UPDATE_BLOCK // max(1, math.prod(shape[1:]))) if shape else 1
        for start in range(0, shape[0], step_rows) if shape and math.prod(shape) > UPDATE_BLOCK else (None,):
            if start is None:
                p_rows, g_rows, update = data(t), q, plan.shared(shape, dtype)
            else:
                stop = min(shape[0], start + step_rows)
                p_rows, g_rows = plan.rows(data(t), start, stop), f"{q}[{start}:{stop}]"
                update = plan.shared((stop - start, *shape[1:]), dtype)
            lines += [f"{indent}_mul({lrs[dtype]}, {g_rows}, out={update})",
                      f"{indent}_sub({p_rows}, {update}, out={p_rows})"]
    lines.append(f"        _changed(*{o}.params)")
    return lines
