"""The native backend of :func:`tinygrad_mlp.compile`: a recorded MLP training step as one C function.

``tm.compile(step, backend="native")`` records the step as the numpy replay does (:mod:`tinygrad_mlp.jit`);
then, when the recording is a supported MLP step, this module writes it as C (straight-line, every shape
fixed), compiles it with the system's C compiler (``$CC``, else ``cc``), loads it with ``ctypes`` and
replays through it. Supported: ``Linear`` layers, each followed by ``sigmoid``, ``relu``, ``tanh`` or
nothing; the notes' quadratic cost (``mse_loss``) or ``cross_entropy`` on integer labels; one ``SGD``
(momentum, Nesterov, weight decay), ``Adam`` or ``AdamW`` optimizer with one parameter group, its
``zero_grad()`` and ``step()``; float32 or float64. Anything else raises :class:`NativeUnsupported`, and
the compiled step keeps its numpy replay (``jit`` says so in one line).

Products large enough to pay for a call (``_BLAS_MIN`` multiply-adds) go to the BLAS numpy itself loaded
(its ``cblas_?gemm``, found with ``ctypes``), the rest are loops in the C. Results equal eager mode up to
float rounding (sums are taken in another order): docs/compile.md gives the tolerance the tests hold.
Compiled libraries are kept in a per-user cache (``$XDG_CACHE_HOME/tinygrad_mlp/native``, else
``~/.cache/...``), named by a hash of the source, the compiler and the machine.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import optim
from ._blas import openblas_paths
from .errors import ArgumentError, TinygradMLPError
from .ops import Linear, LogSoftmax, OneHot, Relu, Sigmoid, SquaredError, Tanh, WeightedLogSum

__all__ = ["NativeUnsupported", "build"]

_ACTIVATIONS = {Sigmoid: "sigmoid", Relu: "relu", Tanh: "tanh"}
_BLAS_MIN = 32768  # multiply-adds from which a product calls BLAS rather than the C loops (measured: README)
_FLAGS = ["-O3", "-march=native", "-fopenmp-simd", "-fPIC", "-shared", "-std=c99"]


class NativeUnsupported(TinygradMLPError):
    """The recorded step is outside what the native backend compiles, or there is no C compiler; says which."""


# ---------------------------------------------------------------------- what the recording says


class _Layer:
    __slots__ = ("w", "b", "act", "n_in", "n_out", "z", "a")

    def __init__(self, w: int, b: int, n_in: int, n_out: int, z: int):
        self.w, self.b, self.n_in, self.n_out, self.z = w, b, n_in, n_out, z
        self.act: str | None = None
        self.a = z  # the slot of the layer's output (after its activation)


class _Program:
    """The MLP step a trace holds: layers, loss, optimizer, and where each array comes from."""

    def __init__(self) -> None:
        self.layers: list[_Layer] = []
        self.x_arg = self.y_arg = -1
        self.loss = ""  # "mse" or "ce"
        self.loss_slot = -1
        self.onehot: Any = None  # the OneHot rule (its value and class count)
        self.dtype: np.dtype = np.dtype(np.float32)
        self.batch = 0
        self.opt: Any = None
        self.has_step = True
        self.zero_after_step = False
        self.zero_before_labels = False
        self.returns_loss = False


def _program(trace) -> _Program:
    """Read ``trace`` (a :class:`tinygrad_mlp.jit` recording) as an MLP step, or raise NativeUnsupported."""
    prog = _Program()
    persistent: set[int] = getattr(trace, "persistent", set())
    leaves = trace.leaves
    forwards = [op for op in trace.ops if op[0] == "forward"]
    backwards = [op for op in trace.ops if op[0] == "backward"]

    def param(ref) -> int:
        if ref[0] != "leaf" or ref[1] not in persistent or not leaves[ref[1]].requires_grad:
            raise NativeUnsupported("a layer's weight or bias is not a parameter that requires grad")
        return ref[1]

    current: tuple | None = None  # ref of the latest layer output
    onehot_slot = logsm_slot = -1
    for _, rule, refs, j in forwards:
        kind = type(rule)
        if kind is Linear and ((current is None and refs[0][0] == "arg") or refs[0] == current):
            w, b = param(refs[1]), param(refs[2])
            n_out, n_in = leaves[w].data.shape
            if current is None:
                prog.x_arg = refs[0][1]
                prog.batch = trace.out_info[j][0][0]
            prog.layers.append(_Layer(w, b, n_in, n_out, j))
            current = ("out", j)
        elif kind in _ACTIVATIONS and prog.layers and prog.layers[-1].act is None and refs == (current,) \
                and prog.layers[-1].a == prog.layers[-1].z:
            prog.layers[-1].act, prog.layers[-1].a = _ACTIVATIONS[kind], j
            current = ("out", j)
        elif kind is OneHot and refs[0][0] == "arg" and onehot_slot < 0:
            prog.y_arg, prog.onehot, onehot_slot = refs[0][1], rule, j
        elif kind is SquaredError and refs == (current, ("out", onehot_slot)) and not prog.loss:
            prog.loss, prog.loss_slot = "mse", j
        elif kind is LogSoftmax and rule.axis in (1, -1) and refs == (current,) and logsm_slot < 0:
            logsm_slot = j
        elif (kind is WeightedLogSum and rule.axis is None and refs == (("out", logsm_slot), ("out", onehot_slot))
              and not prog.loss):
            prog.loss, prog.loss_slot = "ce", j
        else:
            raise NativeUnsupported(f"{rule.name} where the native backend expects Linear layers, their "
                                    "activations (sigmoid, relu, tanh) and mse_loss or cross_entropy")
    if not prog.loss or forwards[-1][3] != prog.loss_slot:
        raise NativeUnsupported("the step does not end in mse_loss or cross_entropy of the last layer")
    first, last = prog.layers[0], prog.layers[-1]
    if last.n_out != prog.onehot.num_classes:
        raise NativeUnsupported("the labels' class count differs from the last layer's width")
    prog.dtype = leaves[first.w].data.dtype
    if prog.dtype not in (np.dtype(np.float32), np.dtype(np.float64)) or prog.onehot.dtype != prog.dtype or any(
            leaves[i].data.dtype != prog.dtype for layer in prog.layers for i in (layer.w, layer.b)):
        raise NativeUnsupported("parameters, labels' one-hot and data must all be float32 or all float64")
    if trace.out_info[first.z][1] != prog.dtype:
        raise NativeUnsupported("the batch's dtype differs from the parameters'")
    # the backward walk: one, seeded with 1, through every node but the one-hot, gradients to the parameters
    seeds = [c[0] if isinstance(c, tuple) else c for c in trace.consts]  # (array, source) or the array
    if len(seeds) != 1 or np.asarray(seeds[0]).shape != () or float(seeds[0]) != 1.0:
        raise NativeUnsupported("backward() must be called once, on the loss, with no gradient argument")
    walked = [op[2] for op in backwards]
    expected = {op[3] for op in forwards if type(op[1]) is not OneHot}
    if sorted(walked) != sorted(expected) or len(walked) != len(expected) or walked[0] != prog.loss_slot:
        raise NativeUnsupported("backward() did not walk the whole network once")
    for op in backwards:
        if type(op[1]) is Linear and op[5][1:] != (True, True):
            raise NativeUnsupported("a layer's weight or bias does not take a gradient")
        if type(op[1]) is Linear and op[2] == first.z and op[5][0]:
            raise NativeUnsupported("the batch requires grad")
    # the optimizer: one, its zero_grad() before backward() (or after step()), its step() after backward() or not
    # at all (a training loop that looks at the loss before stepping, as tinygrad_mlp.train does)
    calls = [k for k, op in enumerate(trace.ops) if op[0] == "optimizer"]
    names = [trace.ops[k][2] for k in calls]
    if sorted(names) not in (["step", "zero_grad"], ["zero_grad"]) or any(
            trace.ops[k][1] is not trace.ops[calls[0]][1] for k in calls):
        raise NativeUnsupported("the step must call one optimizer's zero_grad() once, and its step() once or never")
    last_backward = max(k for k, op in enumerate(trace.ops) if op[0] == "backward")
    first_backward = min(k for k, op in enumerate(trace.ops) if op[0] == "backward")
    zero_at = calls[names.index("zero_grad")]
    step_at = calls[names.index("step")] if "step" in names else None
    if step_at is None:
        if zero_at > first_backward:
            raise NativeUnsupported("zero_grad() must come before backward()")
    elif step_at < last_backward or first_backward < zero_at < step_at:
        raise NativeUnsupported("step() must follow backward(), and zero_grad() come before backward() or after step()")
    prog.has_step = step_at is not None
    prog.zero_after_step = step_at is not None and zero_at > step_at
    labels_at = next(k for k, op in enumerate(trace.ops) if op[0] == "forward" and type(op[1]) is OneHot)
    prog.zero_before_labels = zero_at < labels_at
    opt = prog.opt = trace.ops[zero_at][1]
    if prog.has_step and (type(opt) not in (optim.SGD, optim.Adam, optim.AdamW) or len(opt.param_groups) != 1):
        raise NativeUnsupported(f"{type(opt).__name__} with {len(opt.param_groups)} parameter group(s): the native "
                                "backend steps SGD, Adam and AdamW with one group")
    mine = {id(leaves[i]) for layer in prog.layers for i in (layer.w, layer.b)}
    if {id(p) for p in opt.params} != mine or len(opt.params) != len(mine):
        raise NativeUnsupported("the optimizer's parameters are not exactly the network's")
    if trace.result is not None:
        if trace.result != ("tensor", ("out", prog.loss_slot)):
            raise NativeUnsupported("the step may return the loss or nothing")
        prog.returns_loss = True
    return prog


# ---------------------------------------------------------------------- the C source


def _blas() -> tuple[tuple[int, int], str] | None:
    """((address of numpy's BLAS ``cblas_sgemm``, of its ``cblas_dgemm``), the C type of their sizes), or None."""
    for path in openblas_paths():
        try:
            lib = ctypes.CDLL(path)  # already loaded by numpy: the same library, nothing new is loaded
        except OSError:
            continue
        for prefix, suffix, int_type in (("scipy_", "64_", "long long"), ("", "64_", "long long"),
                                         ("scipy_", "", "int"), ("", "", "int")):
            s = getattr(lib, f"{prefix}cblas_sgemm{suffix}", None)
            d = getattr(lib, f"{prefix}cblas_dgemm{suffix}", None)
            if s is not None and d is not None:
                s_at, d_at = ctypes.cast(s, ctypes.c_void_p).value, ctypes.cast(d, ctypes.c_void_p).value
                if s_at and d_at:
                    return (s_at, d_at), int_type
    return None


def _source(prog: _Program, int_type: str | None, label_type: str) -> str:
    """The C of one step: ``int step(void **p, PyObject-like args..., double lr)``; 0, or 1 on a bad label."""
    T = "float" if prog.dtype == np.float32 else "double"
    f = "f" if T == "float" else ""
    B, L = prog.batch, len(prog.layers)
    out: list[str] = [
        "#include <math.h>", "#include <string.h>", "#include <stdint.h>", "#include <stddef.h>",
        f"typedef {T} T;",
        "#define DATA(o) (*(char **)((char *)(o) + DATA_OFFSET))",
    ]
    if int_type is not None:
        out.append("typedef void (*gemm_t)(int, int, int, I, I, I, T, const T *, I, const T *, I, T, T *, I);"
                   .replace("I", int_type))
    emit = out.append
    # a product C (m, n) = op(A) op(B) with row-major arrays: BLAS when large, loops otherwise
    def gemm(kind: str, m: int, n: int, k: int, a: str, b: str, c: str) -> None:
        if int_type is not None and m * n * k >= _BLAS_MIN:
            ta, tb, lda, ldb = {"nt": (111, 112, k, k), "tn": (112, 111, m, n), "nn": (111, 111, k, n)}[kind]
            emit(f"    gemm(101, {ta}, {tb}, {m}, {n}, {k}, 1, {a}, {lda}, {b}, {ldb}, 0, {c}, {n});")
        elif kind == "nt":  # C = A (m,k) B^T, B (n,k): dots of rows
            emit(f"    for (int i = 0; i < {m}; i++) for (int j = 0; j < {n}; j++) {{ T s = 0;")
            emit(f"        _Pragma(\"omp simd reduction(+:s)\") for (int q = 0; q < {k}; q++) "
                 f"s += {a}[i*{k}+q] * {b}[j*{k}+q];")
            emit(f"        {c}[i*{n}+j] = s; }}")
        elif kind == "tn":  # C = A^T B, A (k,m), B (k,n): rows of B scaled and added
            emit(f"    memset({c}, 0, sizeof(T) * {m * n});")
            emit(f"    for (int q = 0; q < {k}; q++) for (int i = 0; i < {m}; i++) {{ T s = {a}[q*{m}+i];")
            emit(f"        _Pragma(\"omp simd\") for (int j = 0; j < {n}; j++) {c}[i*{n}+j] += s * {b}[q*{n}+j]; }}")
        else:  # nn: C = A (m,k) B (k,n)
            emit(f"    memset({c}, 0, sizeof(T) * {m * n});")
            emit(f"    for (int i = 0; i < {m}; i++) for (int q = 0; q < {k}; q++) {{ T s = {a}[i*{k}+q];")
            emit(f"        _Pragma(\"omp simd\") for (int j = 0; j < {n}; j++) {c}[i*{n}+j] += s * {b}[q*{n}+j]; }}")

    n_params = 2 * L
    emit("int step(T **keep, T *work, void *x_obj, void *y_obj, void **grad_objs, void *loss_obj, double lr"
         f"{', void *gemm_ptr' if int_type else ''}) {{")
    if int_type is not None:
        emit("    gemm_t gemm = (gemm_t)gemm_ptr;")
    emit("    const T *x = (const T *)DATA(x_obj);")
    emit(f"    const {label_type} *y = (const {label_type} *)DATA(y_obj);")
    emit("    T *loss = (T *)DATA(loss_obj);")
    n_classes = prog.onehot.num_classes
    unsigned = label_type.startswith("u")
    emit(f"    for (int i = 0; i < {B}; i++) if ({'' if unsigned else 'y[i] < 0 || '}y[i] >= {n_classes}) return 1;")
    for i in range(n_params):
        emit(f"    T *g{i} = (T *)DATA(grad_objs[{i}]);")
    offset = 0
    for l, layer in enumerate(prog.layers):  # activations a{l} and deltas d{l}, (B, n_out), in the work arena
        emit(f"    T *a{l} = work + {offset}; T *d{l} = work + {offset + B * layer.n_out};")
        offset += 2 * B * layer.n_out
    # forward
    for l, layer in enumerate(prog.layers):
        src = "x" if l == 0 else f"a{l - 1}"
        n, k = layer.n_out, layer.n_in
        gemm("nt", B, n, k, src, f"keep[{2 * l}]", f"a{l}")
        act = {None: "z", "relu": "z > 0 ? z : 0", "tanh": f"tanh{f}(z)",
               "sigmoid": f"1 / (1 + exp{f}(-z < LIM ? -z : LIM))"}[layer.act]
        emit(f"    for (int i = 0; i < {B}; i++) for (int j = 0; j < {n}; j++) {{")
        emit(f"        T z = a{l}[i*{n}+j] + keep[{2 * l + 1}][j]; a{l}[i*{n}+j] = {act}; }}")
    # the loss and its gradient with respect to the last output
    last = L - 1
    n = prog.layers[-1].n_out
    value = repr(float(prog.onehot.value))
    emit("    double total = 0;")
    if prog.loss == "mse":
        emit(f"    for (int i = 0; i < {B}; i++) for (int j = 0; j < {n}; j++) {{")
        emit(f"        T diff = a{last}[i*{n}+j] - (y[i] == j ? (T){value} : 0); total += (double)diff * diff;")
        emit(f"        d{last}[i*{n}+j] = diff * (T)(2.0 / {B}); }}")
        emit(f"    *loss = (T)(total / {B});")
    else:  # cross-entropy of log_softmax with weights value * one-hot: delta = value * (one-hot - softmax)
        emit(f"    for (int i = 0; i < {B}; i++) {{ const T *z = a{last} + i*{n}; T *d = d{last} + i*{n};")
        emit(f"        T top = z[0]; for (int j = 1; j < {n}; j++) top = z[j] > top ? z[j] : top;")
        emit(f"        T sum = 0; for (int j = 0; j < {n}; j++) {{ d[j] = exp{f}(z[j] - top); sum += d[j]; }}")
        emit(f"        T shift = top + log{f}(sum); total += (double)(z[y[i]] - shift);")
        emit(f"        for (int j = 0; j < {n}; j++) "
             f"d[j] = (T){value} * (y[i] == j) - exp{f}(z[j] - shift) * (T){value}; }}")
        emit(f"    *loss = (T)({value} * total);")
    # backward, layer by layer
    for l in range(L - 1, -1, -1):
        layer = prog.layers[l]
        n, k = layer.n_out, layer.n_in
        deriv = {None: None, "relu": "(a > 0 ? 1 : 0)", "tanh": "(1 - a * a)", "sigmoid": "a * (1 - a)"}[layer.act]
        if deriv is not None:
            emit(f"    for (int i = 0; i < {B * n}; i++) {{ T a = a{l}[i]; d{l}[i] *= {deriv}; }}")
        src = "x" if l == 0 else f"a{l - 1}"
        gemm("tn", n, k, B, f"d{l}", src, f"g{2 * l}")
        emit(f"    memset(g{2 * l + 1}, 0, sizeof(T) * {n});")  # the bias gradient: the rows of delta summed
        emit(f"    for (int i = 0; i < {B}; i++) _Pragma(\"omp simd\") for (int j = 0; j < {n}; j++) "
             f"g{2 * l + 1}[j] += d{l}[i*{n}+j];")
        if l:
            gemm("nn", B, k, n, f"d{l}", f"keep[{2 * l}]", f"d{l - 1}")
    # the optimizer, parameter by parameter (keep: the parameters, then each state buffer, in layer order)
    opt, group = prog.opt, prog.opt.param_groups[0]
    wd = float(group.get("weight_decay", 0.0))
    for slot in range(n_params if prog.has_step else 0):
        layer = prog.layers[slot // 2]
        size = layer.n_out * (layer.n_in if slot % 2 == 0 else 1)
        p, g = f"keep[{slot}]", f"g{slot}"
        if type(opt) is optim.SGD:
            emit(f"    for (int i = 0; i < {size}; i++) {{ T grad = {g}[i];")
            if wd:
                emit(f"        grad = grad + (T){wd!r} * {p}[i];")
            momentum = float(group["momentum"])
            if momentum:
                v = f"keep[{n_params + slot}]"
                emit(f"        {v}[i] *= (T){momentum!r}; {v}[i] += grad;")
                nesterov = f"grad + (T){momentum!r} * {v}[i]"
                emit(f"        grad = {nesterov if group['nesterov'] else v + '[i]'};")
            emit(f"        {p}[i] -= (T)lr * grad; }}")
        else:  # Adam, AdamW: the bias corrections from this parameter's own step count
            (b1, b2), eps = group["betas"], float(group["eps"])
            m, v, t = f"keep[{n_params + slot}]", f"keep[{2 * n_params + slot}]", f"keep[{3 * n_params + slot}]"
            emit(f"    {{ int64_t *t = (int64_t *){t}; *t += 1;")
            emit(f"    T step_size = (T)(lr / (1 - pow({b1!r}, (double)*t))), "
                 f"v_correction = (T)sqrt(1 - pow({b2!r}, (double)*t));")
            emit(f"    for (int i = 0; i < {size}; i++) {{ T grad = {g}[i];")
            if wd and type(opt) is optim.AdamW:
                emit(f"        {p}[i] *= (T)(1 - lr * {wd!r});")
            elif wd:
                emit(f"        grad = grad + (T){wd!r} * {p}[i];")
            emit(f"        {m}[i] *= (T){b1!r}; {m}[i] += (T)(1 - {b1!r}) * grad;")
            emit(f"        {v}[i] *= (T){b2!r}; {v}[i] += (T)(1 - {b2!r}) * (grad * grad);")
            emit(f"        {p}[i] -= step_size * {m}[i] / (sqrt{f}({v}[i]) / v_correction + (T){eps!r}); }} }}")
    emit("    return 0;")
    emit("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- compiling and loading


def cache_dir() -> Path:
    """Where compiled steps are kept: ``$XDG_CACHE_HOME/tinygrad_mlp/native`` (default ``~/.cache``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "tinygrad_mlp" / "native"


def _machine() -> str:
    """What a ``-march=native`` binary depends on: the CPU's model and flags."""
    try:
        with open("/proc/cpuinfo") as f:
            return "".join(line for line in f if line.startswith(("model name", "flags")))[:4096]
    except OSError:
        return platform.processor() + platform.machine()


def _compile(source: str) -> ctypes.CDLL:
    """Compile ``source`` to a shared library (or find it in the cache) and load it."""
    cc = os.environ.get("CC") or "cc"
    compiler = shutil.which(cc)
    if compiler is None:
        raise NativeUnsupported(f"no C compiler: {cc!r} (from $CC, else cc) is not on PATH")
    key = hashlib.sha256("\0".join([source, compiler, *_FLAGS, _machine()]).encode()).hexdigest()[:24]
    folder = cache_dir()
    path = folder / f"step_{key}.so"
    if not path.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NativeUnsupported(f"cannot create the cache folder {folder}: {e.strerror}") from None
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            c_file, so_file = Path(tmp) / "step.c", Path(tmp) / "step.so"
            c_file.write_text(source)
            try:
                proc = subprocess.run([compiler, *_FLAGS, "-o", str(so_file), str(c_file), "-lm"],
                                      capture_output=True, text=True, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise NativeUnsupported(f"the C compiler {compiler} could not be run: {e}") from None
            if proc.returncode != 0:
                first = (proc.stderr.strip().splitlines() or ["(no message)"])[0]
                raise NativeUnsupported(f"the C compiler {compiler} failed: {first}")
            os.replace(so_file, path)  # atomic: another process compiling the same step finds a whole file
    try:
        return ctypes.CDLL(str(path))
    except OSError as e:  # a damaged file in the cache (it is compiled again next time) or a foreign one
        path.unlink(missing_ok=True)
        raise NativeUnsupported(f"cannot load the compiled step {path}: {e}") from None


_DATA_OFFSET: int | None = None


def _data_offset() -> int:
    """Where an ndarray object keeps its data pointer (numpy's ABI: after the object header), checked here."""
    global _DATA_OFFSET
    if _DATA_OFFSET is None:
        probes: list[np.ndarray] = [np.empty(3), np.zeros((2, 5), np.float32)]
        for offset in range(8, 64, 8):
            if all(ctypes.c_void_p.from_address(id(a) + offset).value == a.ctypes.data for a in probes):
                _DATA_OFFSET = offset
                break
        else:
            raise NativeUnsupported("cannot find numpy arrays' data pointer in this Python")
    return _DATA_OFFSET


# ---------------------------------------------------------------------- the replay


def build(trace, args: tuple, stale: object, wrap: Callable) -> tuple[Callable, str]:
    """A replay of ``trace`` through a compiled C step: ``(replay(args), C source)``; raises NativeUnsupported.

    ``args`` are the recorded call's. ``replay`` returns ``stale`` when a parameter, the optimizer's state or its
    hyperparameters (other than ``lr``, read on every call) changed since recording; ``wrap`` makes the returned
    loss and the ``.grad`` Tensors.
    """
    if not all(hasattr(trace, a) for a in ("ops", "leaves", "consts", "out_info", "result", "tensor_args")):
        raise ArgumentError(f"native.build: needs a tinygrad_mlp.jit recording, got {type(trace).__name__}")
    prog = _program(trace)
    params = [trace.leaves[i] for layer in prog.layers for i in (layer.w, layer.b)]
    opt, group = prog.opt, prog.opt.param_groups[0]
    order = [next(k for k, q in enumerate(opt.params) if q is p) for p in params]  # state index of each parameter
    if not prog.has_step:  # gradients only: the optimizer's state and settings are not read
        lists: list[str] = []
        hyper: tuple[str, ...] = ()
    elif type(opt) is optim.SGD:
        lists = ["velocity"] if group["momentum"] else []
        hyper = ("momentum", "weight_decay", "nesterov")
    else:
        lists, hyper = ["m", "v", "t"], ("betas", "eps", "weight_decay")
    state = [_state_list(opt, name)[k] for name in lists for k in order]
    keep_arrays = [p.data for p in params] + state
    if any(not a.flags.c_contiguous for a in keep_arrays):
        raise NativeUnsupported("a parameter or optimizer buffer is not C-contiguous")
    labels = args[prog.y_arg]
    labels = labels.data if prog.y_arg in trace.tensor_args else labels
    if labels.dtype.kind not in "iu":
        raise NativeUnsupported(f"the labels must be integers, got {labels.dtype}")
    label_type = f"{'u' if labels.dtype.kind == 'u' else ''}int{8 * labels.dtype.itemsize}_t"
    blas = _blas()
    source = (f"#define DATA_OFFSET {_data_offset()}\n#define LIM ((T){_exp_limit(prog.dtype)!r})\n"
              + _source(prog, None if blas is None else blas[1], label_type))
    fn = _compile(source).step
    fn.restype = ctypes.c_int
    work = np.empty(sum(2 * prog.batch * layer.n_out for layer in prog.layers), prog.dtype)
    ns: dict[str, Any] = {
        "_fn": fn, "_stale": stale, "_T": wrap, "_empty": np.empty, "_obj": ctypes.py_object,
        "_contiguous": np.ascontiguousarray, "_onehot": prog.onehot.forward, "opt": opt, "group": group,
        "_keep": (ctypes.c_void_p * len(keep_arrays))(*[a.ctypes.data for a in keep_arrays]),
        "_work": ctypes.c_void_p(work.ctypes.data), "_grads": (ctypes.py_object * len(params))(), "_workarray": work,
        "_lr": ctypes.c_double, "_recorded": tuple(group[h] for h in hyper), "_dtype": prog.dtype,
        "_gemm": None if blas is None else ctypes.c_void_p(blas[0][0 if prog.dtype == np.float32 else 1])}
    lines: list[str] = []
    emit = lines.append
    conds = []  # the guard: the same parameter arrays, still requiring grad, the same optimizer state and settings
    for i, p in enumerate(params):
        ns[f"p{i}"], ns[f"d{i}"] = p, p.data
        conds += [f"p{i}.data is not d{i}", f"p{i}.requires_grad is not True"]
    for j, name in enumerate(lists):
        for i, k in enumerate(order):
            ns[f"s{j}_{i}"] = _state_list(opt, name)[k]
            where = f"opt.state[{name!r}]" if isinstance(getattr(opt, "state", None), dict) else f"opt.{name}"
            conds.append(f"{where}[{k}] is not s{j}_{i}")
    if prog.has_step:
        conds.append("opt.param_groups[0] is not group")
        conds.append(f"({', '.join(f'group[{h!r}]' for h in hyper)},) != _recorded")
    emit("    if " + " or ".join(conds) + ":")
    emit("        return _stale")
    for name, k in (("x", prog.x_arg), ("y", prog.y_arg)):
        emit(f"    {name} = args[{k}]{'.data' if k in trace.tensor_args else ''}")
        emit(f"    if not {name}.flags.c_contiguous:")
        emit(f"        {name} = _contiguous({name})")
    # Gradients: eager mode gives each step's .grad a new array. The one this replay made last step is written
    # over instead when nothing but the parameter holds it (reference counts), as then nobody can tell; otherwise
    # (the caller kept p.grad or its array, or set another) a new one is made. With zero_grad() after step(), the
    # gradients never leave the step: the same arrays every time.
    ns["_held"], ns["_rc"] = [None] * len(params), sys.getrefcount
    if prog.zero_after_step:
        for i, p in enumerate(params):
            ns["_grads"][i] = np.empty(p.data.shape, prog.dtype)
    else:
        for i, p in enumerate(params):
            emit(f"    t = p{i}.grad")
            emit(f"    new{i} = t is not _held[{i}] or _rc(t) != 4 or _rc(t.data) != 3")
            emit(f"    if new{i}:")
            emit(f"        p{i}.grad = None")
            emit(f"        _grads[{i}] = _empty({p.data.shape!r}, _dtype)")
        emit("    del t")
    emit("    loss = _empty((), _dtype)")
    emit("    if _fn(_keep, _work, _obj(x), _obj(y), _grads, _obj(loss), _lr(group['lr'])"
         f"{', _gemm' if blas is not None else ''}):")
    if prog.zero_before_labels:  # as eager mode, whose zero_grad() ran before the labels were read
        for i in range(len(params)):
            emit(f"        p{i}.grad = None")
    emit("        _onehot(y)  # raises the eager step's IndexError for these labels")
    emit("        raise IndexError('labels out of range')")
    if prog.has_step:
        emit("    opt.steps += 1")
    for i in range(len(params)):
        if prog.zero_after_step:
            emit(f"    p{i}.grad = None")
        else:
            emit(f"    if new{i}:")
            emit(f"        p{i}.grad = _held[{i}] = _T(_grads[{i}])")
    emit(f"    return {'_T(loss)' if prog.returns_loss else 'None'}")
    python = "def replay(args):\n" + "\n".join(lines) + "\n"
    exec(python, ns)  # our own generated code: the guard and one call of the compiled step
    return ns["replay"], source


def _state_list(opt, name: str) -> list:
    """The optimizer's per-parameter state arrays ``name`` (velocity, m, v, t): ``opt.state[name]`` where the
    optimizer keeps a ``state`` dict of them, else its attribute of that name."""
    state = getattr(opt, "state", None)
    return state[name] if isinstance(state, dict) else getattr(opt, name)


def _exp_limit(dtype: np.dtype) -> float:
    """The cap ``Sigmoid`` puts on ``-x`` before ``exp`` (the largest finite-exp argument of ``dtype``)."""
    limit = dtype.type(np.log(np.finfo(dtype).max))
    with np.errstate(over="ignore"):
        while not np.isfinite(np.exp(limit)):
            limit = np.nextafter(limit, dtype.type(0))
    return float(limit)
