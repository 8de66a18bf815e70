"""Hypothesis fuzz test: random programs of tensor ops, run on Tensors and on numpy arrays side by side.

Each hypothesis example builds a small program with an interpreter (``_Program``):
one random input, then 1..``MAX_STEPS`` steps drawn from a menu

* unary: neg exp log sqrt abs tanh sigmoid relu log1p expm1 sin cos softplus erf gelu (both forms) silu
  leaky_relu elu sinh cosh tan arcsin arccos arctan arcsinh arccosh arctanh sign floor round log2 log10 exp2
  square reciprocal ``% 0.75``
* issue 23's einsum (permutations, sums, diagonals, too many letters), repeat, tril/triu, diagonal, and split
  (PyTorch's pieces of a size) joined back with a weight per piece
* conv1d/conv2d (stride, padding, dilation, groups; a weight and bias drawn as new leaves, sometimes with the
  wrong channel count), max_pool and avg_pool, on the current value as (N, C, *spatial), against numpy's
  sliding windows; other ranks and windows larger than the padded input must be refused
* the toolbox's logsumexp var std prod (random axes, keepdims, ddof) cumsum flip flatten squeeze unsqueeze
  permute swapaxes take_along_axis, with valid and invalid axes (and out-of-range indices)
* binary ``+ - * / **`` maximum minimum, against a second operand that is a new
  leaf Tensor, an earlier value of the program (possibly the same one: ``x * x``),
  a numpy array constant (float or int/bool: lifted to the tensor's dtype) or a
  Python scalar, on either side, of a broadcast-compatible OR deliberately
  incompatible shape
* ``@`` with compatible or incompatible shapes (1-D, 2-D and batched, either side)
* reductions sum mean max min with a random axis (None, int, tuple, possibly out
  of range or repeated) and keepdims
* reshape (valid, with -1, or invalid), transpose (valid or invalid axes, ``.T``),
  getitem (ints, slices with any step, int arrays as ndarray / list / Tensor,
  Ellipsis, None; in range or not), softmax / log_softmax with an axis, clip,
  stack / concatenate, where

Inputs have random shapes of 0..4 dimensions (0-d scalars, size-1 axes and empty
arrays with a 0-size axis included), dtypes float16/float32/float64 and
int64/int32/uint8/bool (which become float32), and layouts contiguous, transposed,
Fortran, strided (``[::2]``), reversed (``[::-1]``) and ``np.broadcast_to``
(read-only, 0 strides); they are given to ``Tensor`` as ndarrays, numpy scalars,
Python scalars, nested lists or with an explicit ``dtype=``. Values are mapped into
each op's domain with smooth maps written in the program itself (``log``/``sqrt``
of ``x*x + 0.5``, ``exp`` of ``4*tanh(x)``, a base ``x*x + 0.5`` and an exponent
``2*tanh(y)`` for ``**``, a denominator ``y*y + 0.5``), and a value whose
magnitude exceeds 8 is scaled back by a recorded constant, so everything stays
finite even in float16.

Every step is run on the Tensors and, with the same input arrays, in plain numpy.
The step then must either

(a) succeed in both, with the result's shape equal to numpy's, its dtype equal to
    numpy's on the arrays the library's dtype rules produce (a float dtype; an operand
    without dimensions takes the dtype of one with them, PyTorch's rule, ``_promote_0d``), its
    ``requires_grad`` right, and its values equal to numpy's computed in float64
    within ``8 * eps(lowest float dtype involved) * scale`` (scale: ``1 + |result|``
    times an op-specific factor, or for sums and matmul ``1 + sum(|x|)``), or
(b) fail in both, the library raising one of its own errors (``TinygradMLPError``).

After the program: no array made earlier (inputs included) has been modified;
``backward()`` from the last value gives every leaf that requires grad and feeds
it a gradient of the leaf's shape and dtype; an all-float64 program matches the
same program run end to end in numpy; and when the last value depends on float64
leaves, is finite and no kink was met, ``tinygrad_mlp.gradcheck`` checks the
gradients. The gradcheck is skipped (and counted) when a step met a kink: ``abs``
or ``relu`` of a value within 1e-3 of 0, ``maximum``/``minimum`` of two values
within 1e-3 of each other, a ``max``/``min`` reduction with two candidates within
1e-3, ``clip`` of a value within 1e-3 of a bound (the finite difference straddles
the kink there and does not equal either one-sided derivative); also when a value
is NaN/inf (``mean`` of an empty axis) or the float64 leaves have more than
``GRADCHECK_MAX_SIZE`` elements (cost).

No built-in exception is allowed: a refused index raises the library's ``IndexingError``, which is
also an ``IndexError`` (Python's protocol: ``iter()`` on an object with ``__getitem__`` stops at it).

A numpy ``ValueError``/``AxisError``/``TypeError`` leaking
out of the library is a failure. One refusal is accepted where numpy does not
refuse: a reduction over an int axis of a 0-d array (numpy accepts axis 0 and -1 on
0-d arrays for sum/max/min as a legacy quirk, but rejects them for mean; the library
allows none, as numpy's mean does); it must then be a ``TinygradMLPError``.

Library bugs found by this fuzzer (six so far, all fixed) keep a minimal reproducer at the
end of this file as a regression test.

Counts (one run of ``python -m pytest tests/test_fuzz.py``: 15-20 s on the development
machine, the 6 reproducers included): ``MAX_EXAMPLES = 1200`` (environment variable
``TINYGRAD_FUZZ_EXAMPLES`` to change it) gives about 1,300 random programs of 1..6 steps,
about 4,000 op steps (about 3,300 valid ones checked against numpy, 500-600 deliberately
invalid ones raising the library's own errors, about 85 of them ``IndexingError`` from indexing),
about 700 backward shape/dtype checks, 150-200 end-to-end
float64 comparisons and 250-300 gradchecks. The test prints the exact counts of its run
(``[test_fuzz] ...`` lines, shown without ``-s``; also in ``record_property``) and asserts
at least ``MAX_EXAMPLES // 2`` programs and ``MAX_EXAMPLES`` steps were run.
"""

from __future__ import annotations

import contextlib
import operator
import os
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import tinygrad_mlp as tg
from tinygrad_mlp import GradcheckError, Tensor, TinygradMLPError, gradcheck

MAX_EXAMPLES = int(os.environ.get("TINYGRAD_FUZZ_EXAMPLES", "1200"))  # raise it locally for a longer hunt
MAX_STEPS = 6
MAX_SIZE = 48  # elements of any drawn operand
GRADCHECK_MAX_SIZE = 40  # elements of the float64 leaves a gradcheck perturbs one by one
RESCALE_ABOVE = 8.0
C_TOL = 8.0
KINK = 1e-3

STATS: Counter = Counter()

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
INPUT_DTYPES = ("float16", "float32", "float64", "float64", "int64", "int32", "uint8", "bool")
LAYOUTS = ("c", "c", "T", "F", "strided", "neg", "bcast")


# ============================================================================ helpers


@contextlib.contextmanager
def _quiet():
    """numpy warnings (overflow in float16, mean of an empty axis) are expected in both runs."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _float_eps(*dtypes) -> float:
    return max((float(np.finfo(d).eps) for d in dtypes if np.dtype(d).kind == "f"), default=float(np.finfo(np.float64).eps))


def _lift_np(c, dtype):
    """What the library makes of a non-Tensor operand next to a tensor of ``dtype`` (Tensor._lift)."""
    if isinstance(c, (bool, int, float)):
        return np.asarray(c, dtype=dtype)
    a = np.asarray(c)
    return a if a.dtype.kind == "f" else a.astype(dtype)


def _expected_tensor_dtype(data, dtype_arg):
    """The dtype rule of ``Tensor(data, dtype=...)`` as documented in Tensor's docstring."""
    if dtype_arg is not None:
        return np.dtype(dtype_arg)
    if isinstance(data, (np.ndarray, np.generic)) and np.asarray(data).dtype.kind == "f":
        return np.asarray(data).dtype
    return np.dtype(np.float32)


def _promote_0d(*arrays):
    """The library's dtype rule for operands without dimensions (Tensor._operands): a 0-d float operand takes
    the dtype of the operands with dimensions, which numpy 2 would promote instead."""
    arrays = [np.asarray(a) for a in arrays]
    dims = [a.dtype for a in arrays if a.ndim]
    if not dims or len(dims) == len(arrays):
        return arrays
    target = np.result_type(*dims)
    return [a.astype(target) if a.ndim == 0 and a.dtype.kind == "f" and a.dtype != target else a for a in arrays]


def _close(got: np.ndarray, ref: np.ndarray, tol) -> np.ndarray:
    """Where ``got`` (any float dtype) matches the float64 ``ref`` within ``tol``.

    A value beyond the largest finite number of ``got``'s dtype (within ``tol``) rightly overflows to an
    infinity of the same sign: float16 ``2700 ** 2`` is inf, where float64 gives 7.3e6.
    """
    largest = float(np.finfo(got.dtype).max)
    got = got.astype(np.float64)
    both_nan = np.isnan(got) & np.isnan(ref)
    same_inf = np.isinf(got) & (got == ref)
    with _quiet():
        overflow = np.isinf(got) & (np.sign(got) == np.sign(ref)) & (np.abs(ref) + tol >= largest)
        return both_nan | same_inf | overflow | (np.abs(got - ref) <= tol)


def _sq(v):
    """Smooth map into (0.5, inf): the domain of log, sqrt, a denominator, a base of **."""
    return v * v + 0.5


def _th2(v):
    """Smooth map into (-2, 2): an exponent of ** or (times 2) an argument of exp."""
    return (v.tanh() if isinstance(v, Tensor) else np.tanh(v)) * 2.0


def _maxabs(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    finite = a[np.isfinite(a)]
    return float(np.max(np.abs(finite))) if finite.size else 0.0


def _axis_tuple(axis):
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(axis)


# ============================================================================ steps


class Step:
    """One op of a program: its library and numpy versions, and how to judge it.

    ``args`` are ("v", index into the program's values) or ("c", library object,
    numpy counterpart made by the library's lifting rules).
    """

    def __init__(self, op, desc, args, lib, ref, *, scale=None, kink=None, k=2.0):
        self.op, self.desc, self.args = op, desc, args
        self.lib, self.ref = lib, ref
        self.scale = scale  # (np64 args, ref64) -> tolerance scale; default (1 + |ref|) * k
        self.kink = kink  # (*input arrays) -> True when a finite difference would straddle a kink
        self.k = k

    def builtin_ok(self, exc) -> bool:
        return False  # every refusal must be the library's own error (an index too: IndexingError)


def _abs_scale(k):
    """Scale for sums and products: the same op applied to |inputs| (the classic rounding-error bound)."""

    def scale(ref_fn):
        def f(args64, ref64):
            with _quiet():
                return (1.0 + np.abs(np.asarray(ref_fn(*[np.abs(a) for a in args64]), dtype=np.float64))) * k
        return f

    return scale


class _Entry:
    __slots__ = ("tensor", "snapshot", "step", "deps", "is_leaf")

    def __init__(self, tensor, step, deps, is_leaf):
        self.tensor, self.step, self.deps, self.is_leaf = tensor, step, deps, is_leaf
        self.snapshot = np.array(tensor.data, copy=True)


class _Program:
    def __init__(self, data, rng):
        self.data, self.rng = data, rng
        self.entries: list[_Entry] = []
        self.kink = False
        self.nonfinite = False
        self.desc: list[str] = []

    def draw(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    # ---------------------------------------------------------------- values

    def values(self, shape, style=None):
        rng = self.rng
        style = style or self.draw(st.sampled_from(["uniform", "uniform", "uniform", "ints", "const"]))
        if style == "uniform":
            return rng.uniform(-3, 3, shape)
        if style == "ints":  # exact zeros and ties: kinks for relu/abs/max, which the gradcheck must skip
            return rng.integers(-2, 3, shape).astype(np.float64)
        return np.full(shape, rng.uniform(-3, 3))

    def cast(self, vals, dtype):
        if dtype == "bool":
            return vals > 0
        if dtype == "uint8":
            return np.abs(vals).astype(np.uint8)
        return vals.astype(dtype)

    def array(self, shape, dtype, layout, style=None):
        """An array of ``shape`` and ``dtype`` with the memory ``layout`` asked for (same values either way)."""
        shape = tuple(shape)
        if layout == "bcast" and len(shape) > 0:
            small = tuple(1 if self.rng.random() < 0.5 else n for n in shape)
            return np.broadcast_to(self.cast(self.values(small, style), dtype), shape)
        arr = self.cast(self.values(shape, style), dtype)
        if arr.ndim >= 2 and layout == "T":
            perm = self.rng.permutation(arr.ndim)
            return np.ascontiguousarray(arr.transpose(perm)).transpose(np.argsort(perm))
        if arr.ndim >= 1 and layout == "F":
            return np.asfortranarray(arr)
        if arr.ndim >= 1 and layout == "strided":
            big = np.zeros(tuple(2 * n for n in shape), dtype=arr.dtype)
            every_other = tuple(slice(None, None, 2) for _ in shape)
            big[every_other] = arr
            return big[every_other]
        if arr.ndim >= 1 and layout == "neg":
            rev = tuple(slice(None, None, -1) for _ in shape)
            return np.ascontiguousarray(arr[rev])[rev]
        return arr

    def leaf(self, shape) -> int:
        """A new input Tensor of ``shape``; checks the constructor's dtype rules. Returns its index."""
        dtype = self.draw(st.sampled_from(INPUT_DTYPES), "dtype")
        layout = self.draw(st.sampled_from(LAYOUTS), "layout")
        arr = self.array(shape, dtype, layout)
        size = int(np.prod(shape, dtype=np.int64))
        forms = ["array", "array", "array", "dtype="]
        if size > 0:
            forms.append("list")  # a nested list of a 0-size array would lose its shape
        if len(shape) == 0:
            forms += ["python scalar", "numpy scalar"]
        form = self.draw(st.sampled_from(forms), "form")
        dtype_arg = None
        if form == "list":
            data = arr.tolist()
        elif form == "python scalar":
            data = arr.item()
        elif form == "numpy scalar":
            data = arr[()]
        else:
            data = arr
            if form == "dtype=":
                dtype_arg = self.draw(st.sampled_from(FLOAT_DTYPES))
        expected = _expected_tensor_dtype(data, dtype_arg)
        requires_grad = expected == np.float64 or self.draw(st.booleans(), "requires_grad")
        t = Tensor(data, requires_grad=requires_grad, dtype=dtype_arg)
        assert t.shape == tuple(shape), f"Tensor({form} of shape {shape}) has shape {t.shape}"
        assert t.dtype == expected, f"Tensor({form} of {dtype}, dtype={dtype_arg}) is {t.dtype}, expected {expected}"
        np.testing.assert_array_equal(t.data, np.asarray(data, dtype=expected))
        if form == "array" and arr.dtype.kind == "f":
            assert t.data is arr, "a floating ndarray must be used as is (no copy)"
        idx = len(self.entries)
        self.entries.append(_Entry(t, None, {idx} if requires_grad else set(), True))
        self.desc.append(f"v{idx} = Tensor({form}, {dtype} {layout} {tuple(shape)}, dtype={dtype_arg}, "
                         f"requires_grad={requires_grad}) -> {t.dtype}")
        note(self.desc[-1])
        return idx

    def const(self, shape, dtype_like, domain="any"):
        """A non-Tensor operand: a numpy array (float, int or bool) or a Python scalar, inside ``domain``."""
        kind = self.draw(st.sampled_from(["float array", "int array", "python float", "python int"]), "const")
        rng = self.rng
        if kind.startswith("python"):
            if domain == "den":
                v = rng.uniform(0.5, 3) * rng.choice([-1, 1])
            elif domain == "base":
                v = rng.uniform(0.5, 3)
            elif domain == "expo":
                v = rng.uniform(-2, 2)
            else:
                v = rng.uniform(-3, 3)
            c = float(v) if kind == "python float" else int(np.clip(np.round(v), 1 if domain == "base" else -3, 3) or 1)
            return c, _lift_np(c, dtype_like), repr(c)
        shape = tuple(shape)
        if kind == "float array":
            dt = self.draw(st.sampled_from(FLOAT_DTYPES))
            if domain == "den":
                vals = rng.uniform(0.5, 3, shape) * rng.choice([-1, 1], shape)
            elif domain == "base":
                vals = rng.uniform(0.5, 3, shape)
            elif domain == "expo":
                vals = rng.uniform(-2, 2, shape)
            else:
                vals = self.values(shape)
            c = vals.astype(dt)
        else:
            dt = self.draw(st.sampled_from(["int64", "int32", "bool"]))
            if dt == "bool":
                c = np.ones(shape, bool) if domain in ("den", "base") else rng.random(shape) < 0.5
            else:
                lo = 1 if domain in ("den", "base") else -2
                c = rng.integers(lo, 4, shape).astype(dt)
                if domain == "den":
                    c = c * rng.choice([-1, 1], shape).astype(dt)
        return c, _lift_np(c, dtype_like), f"ndarray({c.dtype}, {c.shape})"

    def operand(self, shape_of, dtype_like, domain):
        """The second operand of a binary op: ("v", i) for a Tensor value, or ("c", obj, np_obj)."""
        source = self.draw(st.sampled_from(["leaf", "leaf", "earlier", "const", "const"]), "operand")
        if source == "earlier":
            i = self.draw(st.integers(0, len(self.entries) - 1))
            return ("v", i), f"v{i}"
        shape = shape_of()
        if source == "leaf":
            i = self.leaf(shape)
            return ("v", i), f"v{i}"
        obj, np_obj, desc = self.const(shape, dtype_like, domain)
        return ("c", obj, np_obj), desc

    # ---------------------------------------------------------------- running

    def resolve(self, args):
        lib = [self.entries[a[1]].tensor if a[0] == "v" else a[1] for a in args]
        arrs = [self.entries[a[1]].tensor.data if a[0] == "v" else a[2] for a in args]
        return lib, arrs

    def run(self, step: Step, cur: int) -> int:
        """Run ``step`` on Tensors and in numpy and judge it; return the new current value's index."""
        STATS["steps"] += 1
        STATS[f"op {step.op}"] += 1
        self.desc.append(f"{step.op}: {step.desc}")
        note(self.desc[-1])
        lib_args, arrs = self.resolve(step.args)
        np_exc = ref = None
        with _quiet():
            try:
                ref = np.asarray(step.ref(*arrs))
            except Exception as e:  # numpy refuses: the library must refuse too
                np_exc = e
        try:
            with _quiet():
                out = step.lib(*lib_args)
        except Exception as e:
            own = isinstance(e, TinygradMLPError)
            if not (own or step.builtin_ok(e)):
                raise AssertionError(f"{step.op} ({step.desc}) leaked a foreign exception "
                                     f"{type(e).__module__}.{type(e).__qualname__}: {e}") from e
            if np_exc is None:
                quirk = (step.op in ("sum", "max", "min") and len(arrs) == 1 and np.ndim(arrs[0]) == 0)
                if not (own and quirk):
                    raise AssertionError(f"{step.op} ({step.desc}) raised {type(e).__name__}: {e}, but numpy "
                                         f"accepts it and gives shape {ref.shape}") from e
                STATS["refused: 0-d reduction axis"] += 1
            STATS["raised own error" if own else "raised IndexError"] += 1
            note(f"   raised {type(e).__name__}: {e}")
            return cur
        if np_exc is not None:
            raise AssertionError(f"{step.op} ({step.desc}) succeeded with shape {getattr(out, 'shape', None)}, "
                                 f"but numpy refuses it: {type(np_exc).__name__}: {np_exc}")
        assert isinstance(out, Tensor), f"{step.op} returned {type(out).__name__}"
        assert isinstance(out.data, np.ndarray), f"{step.op}: .data is a {type(out.data).__name__}"
        assert ref.dtype.kind == "f", f"test bug: numpy reference of {step.op} has dtype {ref.dtype}"
        assert out.shape == ref.shape, f"{step.op} ({step.desc}): shape {out.shape}, numpy gives {ref.shape}"
        assert out.dtype == ref.dtype, f"{step.op} ({step.desc}): dtype {out.dtype}, expected {ref.dtype}"
        deps = set().union(*[self.entries[a[1]].deps for a in step.args if a[0] == "v"])
        assert out.requires_grad == bool(deps), f"{step.op}: requires_grad {out.requires_grad}, inputs say {bool(deps)}"
        # values: numpy in float64 on the same inputs, within a tolerance of the lowest precision involved
        args64 = [np.asarray(a, dtype=np.float64) for a in arrs]
        with _quiet():
            ref64 = np.asarray(step.ref(*args64), dtype=np.float64)
            scale = step.scale(args64, ref64) if step.scale else (1.0 + np.abs(ref64)) * step.k
        eps = _float_eps(out.dtype, *[np.asarray(a).dtype for a in arrs])
        tiny = float(np.finfo(out.dtype).tiny)
        ok = _close(out.data, ref64, C_TOL * eps * scale + tiny)
        if not ok.all():
            bad = tuple(int(i) for i in np.argwhere(~ok)[0]) if ok.ndim else ()
            raise AssertionError(f"{step.op} ({step.desc}) on {[np.asarray(a).dtype for a in arrs]}: value "
                                 f"{out.data[bad]!r} at {bad}, numpy (float64) gives {ref64[bad]!r} "
                                 f"({int((~ok).sum())} of {ok.size} elements wrong)")
        if step.kink is not None and step.kink(*args64):
            self.kink = True
            note("   (near a kink: no gradcheck)")
        if not np.isfinite(out.data).all():
            self.nonfinite = True
        STATS["ok steps"] += 1
        idx = len(self.entries)
        self.entries.append(_Entry(out, step, deps, False))
        note(f"   -> v{idx}: {out.shape} {out.dtype}")
        return self.rescale(idx)

    def rescale(self, i: int) -> int:
        """Keep magnitudes small (float16 has max 65504): multiply by a recorded constant when above 8."""
        m = _maxabs(self.entries[i].tensor.data)
        if m <= RESCALE_ABOVE:
            return i
        c = 4.0 / m
        dt = self.entries[i].tensor.dtype
        step = Step("rescale", f"v{i} * {c:.4g}", [("v", i), ("c", c, _lift_np(c, dt))],
                    operator.mul, operator.mul)
        return self.run(step, i)

    # ---------------------------------------------------------------- after the program

    def replay_lib(self):
        vals = []
        for e in self.entries:
            if e.is_leaf:
                vals.append(e.tensor)
            else:
                args = [vals[a[1]] if a[0] == "v" else a[1] for a in e.step.args]
                vals.append(e.step.lib(*args))
        return vals

    def check_unmodified(self, when: str):
        for i, e in enumerate(self.entries):
            if not np.array_equal(e.tensor.data, e.snapshot, equal_nan=True):
                raise AssertionError(f"v{i} ({'input' if e.is_leaf else e.step.op}) was modified in place {when}")

    def check_backward(self, final: int):
        out = self.entries[final].tensor
        if not out.requires_grad:
            return
        STATS["backward checks"] += 1
        for e in self.entries:
            e.tensor.grad = None
        with _quiet():
            out.backward(gradient=np.ones(out.shape, dtype=out.dtype))
        deps = self.entries[final].deps
        for i, e in enumerate(self.entries):
            if not e.is_leaf or not e.tensor.requires_grad:
                continue
            g = e.tensor.grad
            if i in deps:
                assert g is not None, f"leaf v{i} feeds v{final} but got no gradient"
            if g is not None:
                assert isinstance(g, Tensor)
                assert g.shape == e.tensor.shape, f"grad of v{i} has shape {g.shape}, leaf has {e.tensor.shape}"
                assert g.dtype == e.tensor.dtype, f"grad of v{i} has dtype {g.dtype}, leaf has {e.tensor.dtype}"
            e.tensor.grad = None

    def check_end_to_end(self, final: int):
        """An all-float64 program equals the same program computed from the inputs in numpy alone."""
        if any(e.tensor.dtype != np.float64 for e in self.entries) or self.entries[final].is_leaf:
            return
        STATS["end-to-end float64 checks"] += 1
        vals = []
        with _quiet():
            for e in self.entries:
                if e.is_leaf:
                    vals.append(np.asarray(e.snapshot, dtype=np.float64))
                else:
                    args = [vals[a[1]] if a[0] == "v" else np.asarray(a[2], dtype=np.float64) for a in e.step.args]
                    vals.append(np.asarray(e.step.ref(*args), dtype=np.float64))
        big = max(_maxabs(v) for v in vals)
        ok = _close(self.entries[final].tensor.data, vals[final], 1e-7 * (1.0 + big))
        assert ok.all(), f"v{final} differs from the numpy program: {self.entries[final].tensor.data} vs {vals[final]}"

    def check_gradients(self, final: int):
        leaves = [e.tensor for i, e in enumerate(self.entries)
                  if e.is_leaf and i in self.entries[final].deps and e.tensor.dtype == np.float64]
        if self.entries[final].is_leaf or not leaves:
            return
        if self.entries[final].tensor.dtype != np.float64:
            STATS["gradcheck skipped: not float64"] += 1
            return
        ids = {i for i, e in enumerate(self.entries) if e.is_leaf and e.tensor.dtype == np.float64}
        if any(not e.is_leaf and e.tensor.dtype != np.float64 and e.deps & ids for e in self.entries):
            # a float64 leaf cast down on its way (a 0-d float64 operand takes a float16 vector's dtype): a
            # finite difference of 1e-6 is lost in the rounding there
            STATS["gradcheck skipped: a float64 leaf passes through a lower precision"] += 1
            return
        if self.kink:
            STATS["gradcheck skipped: kink"] += 1
            return
        if self.nonfinite:
            STATS["gradcheck skipped: NaN/inf"] += 1
            return
        if sum(t.numel() for t in leaves) > GRADCHECK_MAX_SIZE:
            STATS["gradcheck skipped: size"] += 1
            return
        STATS["gradchecks"] += 1

        def f(*_inputs):  # gradcheck perturbs the leaf Tensors in place; the replay reads them
            return self.replay_lib()[final]

        try:
            with _quiet():
                gradcheck(f, *leaves)
        except GradcheckError as e:
            raise AssertionError(f"wrong gradient: {e}") from e


# ============================================================================ the op menu


_ERF = np.vectorize(__import__("math").erf, otypes=[np.float64])


def _in_dtype(f):
    """A numpy reference computed in float64 and returned in the input's dtype (as the library's op does)."""
    return lambda a: np.asarray(f(np.asarray(a, dtype=np.float64))).astype(np.asarray(a).dtype)


def _unary(p: _Program, cur: int) -> Step:
    name = p.draw(st.sampled_from(["neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "log1p", "expm1",
                                   "sin", "cos", "softplus", "erf", "gelu", "gelu_tanh", "silu", "leaky_relu",
                                   "elu", "sinh", "cosh", "tan", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
                                   "arctanh", "sign", "floor", "round", "log2", "log10", "exp2", "square",
                                   "reciprocal", "mod"]), "unary")
    x = p.entries[cur].tensor
    near0 = lambda a: bool((np.abs(a) < KINK).any())  # noqa: E731
    near_step = lambda a: bool((np.abs(a - np.round(a)) < KINK).any())  # noqa: E731
    near_half = lambda a: bool((np.abs(np.abs(a - np.floor(a)) - 0.5) < KINK).any())  # noqa: E731
    near_mod = lambda a: bool((np.abs(a / 0.75 - np.round(a / 0.75)) < KINK).any())  # noqa: E731
    table = {
        "neg": (operator.neg, operator.neg, None, 2),
        "exp": (lambda t: (_th2(t) * 2.0).exp(), lambda a: np.exp(_th2(a) * 2.0), None, 8),
        "log": (lambda t: _sq(t).log(), lambda a: np.log(_sq(a)), None, 4),
        "sqrt": (lambda t: _sq(t).sqrt(), lambda a: np.sqrt(_sq(a)), None, 4),
        "abs": (lambda t: t.abs(), np.abs, near0, 2),
        "tanh": (lambda t: t.tanh(), np.tanh, None, 4),
        "sigmoid": (lambda t: t.sigmoid(), lambda a: 1.0 / (1.0 + np.exp(-a)), None, 4),
        "relu": (lambda t: t.relu(), lambda a: np.maximum(a, a.dtype.type(0)), near0, 2),
        "log1p": (lambda t: _sq(t).log1p(), lambda a: np.log1p(_sq(a)), None, 4),
        "expm1": (lambda t: _th2(t).expm1(), lambda a: np.expm1(_th2(a)), None, 8),
        "sin": (lambda t: t.sin(), np.sin, None, 4),
        "cos": (lambda t: t.cos(), np.cos, None, 4),
        "softplus": (lambda t: t.softplus(), lambda a: np.logaddexp(a.dtype.type(0), a), None, 4),
        "erf": (lambda t: t.erf(), _in_dtype(_ERF), None, 4),
        "gelu": (lambda t: t.gelu(), lambda a: a * (_ERF(a.astype(np.float64) / np.sqrt(2)).astype(a.dtype) + 1) / 2,
                 None, 8),
        "gelu_tanh": (lambda t: t.gelu("tanh"),
                      lambda a: a * (np.tanh((a + a * a * a * 0.044715) * float(np.sqrt(2 / np.pi))) + 1) * 0.5, None, 16),
        "silu": (lambda t: t.silu(), lambda a: a * (1.0 / (1.0 + np.exp(-a))), None, 8),
        "leaky_relu": (lambda t: t.leaky_relu(0.1), lambda a: np.where(a > 0, a, a * 0.1), near0, 2),
        "elu": (lambda t: t.elu(), lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0))), None, 4),
        # issue 23's numpy coverage; the inverse functions take a smooth map into their domain
        "sinh": (lambda t: _th2(t).sinh(), lambda a: np.sinh(_th2(a)), None, 8),
        "cosh": (lambda t: _th2(t).cosh(), lambda a: np.cosh(_th2(a)), None, 8),
        "tan": (lambda t: (_th2(t) * 0.6).tan(), lambda a: np.tan(_th2(a) * 0.6), None, 16),
        "arcsin": (lambda t: (_th2(t) * 0.4).arcsin(), lambda a: np.arcsin(_th2(a) * 0.4), None, 8),
        "arccos": (lambda t: (_th2(t) * 0.4).arccos(), lambda a: np.arccos(_th2(a) * 0.4), None, 8),
        "arctan": (lambda t: t.arctan(), np.arctan, None, 4),
        "arcsinh": (lambda t: t.arcsinh(), np.arcsinh, None, 4),
        "arccosh": (lambda t: (_sq(t) + 1.0).arccosh(), lambda a: np.arccosh(_sq(a) + 1.0), None, 8),
        "arctanh": (lambda t: (_th2(t) * 0.4).arctanh(), lambda a: np.arctanh(_th2(a) * 0.4), None, 8),
        # piecewise constant: the gradient is 0 (no kink to skip: finite differences see 0 unless they straddle a
        # jump, which the kink test reports)
        "sign": (lambda t: t.sign(), np.sign, near0, 1),
        "floor": (lambda t: t.floor(), np.floor, near_step, 1),
        "round": (lambda t: t.round(), np.round, near_half, 1),
        "log2": (lambda t: _sq(t).log2(), lambda a: np.log2(_sq(a)), None, 4),
        "log10": (lambda t: _sq(t).log10(), lambda a: np.log10(_sq(a)), None, 4),
        "exp2": (lambda t: (_th2(t) * 2.0).exp2(), lambda a: np.exp2(_th2(a) * 2.0), None, 8),
        "square": (lambda t: t.square(), np.square, None, 2),
        "reciprocal": (lambda t: _sq(t).reciprocal(), lambda a: np.reciprocal(_sq(a)), None, 4),
        "mod": (lambda t: t % 0.75, lambda a: np.mod(a, a.dtype.type(0.75)), near_mod, 4),
    }
    lib, ref, kink, k = table[name]
    return Step(name, f"v{cur}", [("v", cur)], lib, ref, kink=kink, k=k)


def _broadcast_partner(p: _Program, shape) -> tuple[int, ...]:
    """A shape that broadcasts with ``shape``, or (sometimes) deliberately does not."""
    shape = tuple(shape)
    mode = p.draw(st.sampled_from(["same", "bcast", "bcast", "scalar", "incompatible", "random"]), "partner")
    if mode == "same":
        return shape
    if mode == "scalar":
        return ()
    if mode == "incompatible":
        cands = [i for i, n in enumerate(shape) if n != 1]
        if cands:
            i = p.draw(st.sampled_from(cands))
            m = p.draw(st.sampled_from([v for v in (0, 2, 3, 4, 5) if v != shape[i]]))
            return shape[:i] + (m,) + shape[i + 1:]
        mode = "random"
    if mode == "random":
        return tuple(p.draw(st.lists(st.integers(0, 4), max_size=3)))
    drop = p.draw(st.integers(0, len(shape)))
    out = [1 if p.draw(st.booleans()) else (p.draw(st.integers(2, 3)) if n == 1 else n) for n in shape[drop:]]
    lead = p.draw(st.lists(st.integers(1, 3), max_size=2)) if drop == 0 else []
    out = tuple(lead) + tuple(out)
    return out if int(np.prod(out, dtype=np.int64)) <= MAX_SIZE else shape


def _binary(p: _Program, cur: int) -> Step:
    name = p.draw(st.sampled_from(["+", "-", "*", "/", "**", "maximum", "minimum"]), "binary")
    x = p.entries[cur].tensor
    swap = p.draw(st.booleans(), "swap")  # the current value on the right
    # domain of the other operand: it is the denominator of x / y, or base / exponent of **
    side = 0 if swap else 1
    domain = {"/": "den" if side == 1 else "any", "**": "base" if side == 0 else "expo"}.get(name, "any")
    arg, odesc = p.operand(lambda: _broadcast_partner(p, x.shape), x.dtype, domain)
    args = [arg, ("v", cur)] if swap else [("v", cur), arg]
    descs = [odesc, f"v{cur}"] if swap else [f"v{cur}", odesc]
    lib_fns = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "**": operator.pow, "maximum": tg.maximum, "minimum": tg.minimum}
    np_fns = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
              "**": np.power, "maximum": np.maximum, "minimum": np.minimum}
    ident = lambda v: v  # noqa: E731
    maps = [ident, ident]
    if name == "/" and args[1][0] == "v":
        maps[1] = _sq
    if name == "**":
        if args[0][0] == "v":
            maps[0] = _sq
        if args[1][0] == "v":
            maps[1] = _th2
    m0, m1 = maps
    flib, fnp = lib_fns[name], np_fns[name]
    kink = None
    if name in ("maximum", "minimum"):
        def kink(a, b):
            return bool((np.abs(a - b) < KINK).any())
    k = {"**": 32, "/": 4}.get(name, 2)
    return Step(name, f"{descs[0]} {name} {descs[1]}", args,
                lambda a, b: flib(m0(a), m1(b)), lambda a, b: fnp(*_promote_0d(m0(a), m1(b))), kink=kink, k=k)


def _matmul(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    shape = x.shape
    swap = p.draw(st.booleans(), "swap")
    compatible = p.draw(st.sampled_from([True, True, True, False]), "compatible")

    def partner():
        if len(shape) == 0:
            return tuple(p.draw(st.lists(st.integers(1, 3), max_size=2)))
        k = shape[0] if (swap and len(shape) == 1) else shape[-2] if swap else shape[-1]
        if not compatible:
            k = p.draw(st.sampled_from([v for v in (0, 1, 2, 3, 5) if v != k]))
        if p.draw(st.booleans()):
            return (k,)
        m = p.draw(st.integers(0, 3))
        batch = list(shape[:-2])
        batch = [1 if p.draw(st.booleans()) else n for n in batch[p.draw(st.integers(0, len(batch))):]]
        if not batch and p.draw(st.booleans()):
            batch = [p.draw(st.integers(1, 2))]
        out = (*batch, m, k) if swap else (*batch, k, m)
        return out if int(np.prod(out, dtype=np.int64)) <= MAX_SIZE else (k,)

    arg, odesc = p.operand(partner, x.dtype, "any")
    args = [arg, ("v", cur)] if swap else [("v", cur), arg]
    desc = f"{odesc} @ v{cur}" if swap else f"v{cur} @ {odesc}"
    return Step("matmul", desc, args, operator.matmul, np.matmul, scale=_abs_scale(4)(np.matmul))


def _axis_spec(p: _Program, ndim: int):
    kind = p.draw(st.sampled_from(["none", "int", "int", "tuple", "list", "bad int", "repeated"]), "axis")
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if kind == "none":
        return None
    if kind == "int":
        return p.draw(st.integers(lo, hi))
    if kind == "bad int":
        return p.draw(st.sampled_from([ndim, ndim + 1, -ndim - 1]))
    if kind == "repeated" and ndim >= 1:
        a = p.draw(st.integers(0, ndim - 1))
        return (a, a - ndim)
    axes = p.draw(st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim)) if ndim else []
    axes = [a - ndim if p.draw(st.booleans()) else a for a in axes]
    return list(axes) if kind == "list" else tuple(axes)


def _reduction(p: _Program, cur: int) -> Step:
    name = p.draw(st.sampled_from(["sum", "mean", "max", "min"]), "reduction")
    x = p.entries[cur].tensor
    axis = _axis_spec(p, x.ndim)
    keepdims = p.draw(st.booleans(), "keepdims")
    ax = _axis_tuple(axis)
    np_fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[name]

    bare = axis is None and not keepdims and p.draw(st.booleans())

    def lib(t):
        return getattr(t, name)() if bare else getattr(t, name)(axis=axis, keepdims=keepdims)

    def ref(a):
        return np_fn(a, axis=ax, keepdims=keepdims)

    kink = None
    if name in ("max", "min"):
        def kink(a):
            s = a if name == "max" else -a
            try:
                m = np.max(s, axis=ax, keepdims=True)
                return bool((np.sum(s >= m - KINK, axis=ax) > 1).any())
            except Exception:
                return True
    scale = _abs_scale(4)(ref) if name in ("sum", "mean") else None
    return Step(name, f"v{cur}.{name}(axis={axis!r}, keepdims={keepdims})", [("v", cur)], lib, ref,
                scale=scale, kink=kink)


def _factor_shape(p: _Program, size: int) -> list[int]:
    """A random shape with ``size`` elements."""
    if size == 0:
        dims = [0] + p.draw(st.lists(st.integers(0, 3), max_size=2))
    else:
        primes, n, d = [], size, 2
        while n > 1:
            while n % d == 0:
                primes.append(d)
                n //= d
            d += 1
        k = p.draw(st.integers(1, 3)) if primes else 0
        dims = [1] * k
        for q in primes:
            dims[p.draw(st.integers(0, k - 1))] *= q
        dims += [1] * p.draw(st.integers(0, 1))
    p.rng.shuffle(dims)
    return dims


def _reshape(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    mode = p.draw(st.sampled_from(["valid", "valid", "-1", "invalid", "two -1", "random"]), "reshape")
    dims = _factor_shape(p, x.numel())
    if mode == "-1" and dims:
        dims[p.draw(st.integers(0, len(dims) - 1))] = -1
    elif mode == "invalid":
        dims.append(2)
    elif mode == "two -1":
        dims = dims + [-1, -1]
    elif mode == "random":
        dims = p.draw(st.lists(st.integers(-1, 4), max_size=3))
    shape = tuple(dims)
    style = p.draw(st.sampled_from(["star", "tuple"])) if shape else "tuple"
    lib = (lambda t: t.reshape(*shape)) if style == "star" else (lambda t: t.reshape(shape))
    return Step("reshape", f"v{cur}.reshape{shape}", [("v", cur)], lib, lambda a: np.reshape(a, shape))


def _transpose(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    n = x.ndim
    mode = p.draw(st.sampled_from(["none", "T", "perm", "perm", "duplicate", "short", "out of range"]), "transpose")
    if mode == "T":
        return Step("transpose", f"v{cur}.T", [("v", cur)], lambda t: t.T, lambda a: a.T)
    if mode == "none":
        return Step("transpose", f"v{cur}.transpose()", [("v", cur)], lambda t: t.transpose(), lambda a: a.transpose())
    axes = [int(a) for a in p.rng.permutation(n)]
    axes = [a - n if p.draw(st.booleans()) else a for a in axes]
    if mode == "duplicate" and n >= 2:
        axes[1] = axes[0]
    elif mode == "short" and n >= 1:
        axes = axes[:-1]
    elif mode == "out of range":
        i = p.draw(st.integers(0, n)) if n else 0
        bad = p.draw(st.sampled_from([n, n + 1, -n - 1]))
        axes = axes[:i] + [bad] + axes[i + 1:]
    axes = tuple(axes)
    style = p.draw(st.sampled_from(["star", "tuple"])) if axes else "tuple"
    lib = (lambda t: t.transpose(*axes)) if style == "star" else (lambda t: t.transpose(axes))
    ref = lambda a: np.transpose(a, axes)  # noqa: E731
    if style == "star" and len(axes) == 2:  # two ints: PyTorch's swap
        ref = lambda a: np.swapaxes(a, *axes)  # noqa: E731
    return Step("transpose", f"v{cur}.transpose{axes}", [("v", cur)], lib, ref)


def _getitem(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    shape = x.shape
    n = p.draw(st.integers(0, len(shape) + 1), "n index parts")
    lib_parts, np_parts, descs = [], [], []
    dim = 0
    for _ in range(n):
        d = shape[dim] if dim < len(shape) else 2
        kind = p.draw(st.sampled_from(["int", "slice", "slice", "int array", "ellipsis", "none"]), "index part")
        in_range = p.draw(st.sampled_from([True, True, True, True, False]))
        if kind == "int":
            i = p.draw(st.integers(-d, d - 1)) if in_range and d > 0 else p.draw(st.sampled_from([d, -d - 1]))
            lib_parts.append(i), np_parts.append(i), descs.append(str(i))
            dim += 1
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-d - 2, d + 2))
            s = slice(p.draw(bound), p.draw(bound), p.draw(st.sampled_from([None, 1, 2, -1, -2, 3])))
            lib_parts.append(s), np_parts.append(s), descs.append(f"{s.start}:{s.stop}:{s.step}")
            dim += 1
        elif kind == "int array":
            length = p.draw(st.integers(0, 3))
            if in_range and d > 0:
                vals = [p.draw(st.integers(-d, d - 1)) for _ in range(length)]
            else:
                vals = [p.draw(st.integers(-d - 2, d + 1)) for _ in range(length)]
            form = p.draw(st.sampled_from(["ndarray", "list", "Tensor"]))
            arr = np.asarray(vals, dtype=np.intp)
            lib_parts.append(arr if form == "ndarray" else vals if form == "list" else Tensor(arr))
            np_parts.append(arr)
            descs.append(f"{form}{vals}")
            dim += 1
        elif kind == "ellipsis":
            lib_parts.append(Ellipsis), np_parts.append(Ellipsis), descs.append("...")
            dim = max(dim, len(shape) - (n - len(lib_parts)))
        else:
            lib_parts.append(None), np_parts.append(None), descs.append("None")
    bare = len(lib_parts) == 1 and p.draw(st.booleans())
    lib_index = lib_parts[0] if bare else tuple(lib_parts)
    np_index = np_parts[0] if bare else tuple(np_parts)
    if bare and isinstance(lib_index, list):  # numpy reads a bare list as an int array, so does x[[...]]
        np_index = np.asarray(lib_index, dtype=np.intp)
    return Step("getitem", f"v{cur}[{', '.join(descs)}{',' if not bare and len(descs) == 1 else ''}]", [("v", cur)],
                lambda t: t[lib_index], lambda a: a[np_index])


def _np_log_softmax(a, axis):
    shifted = a - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    name = p.draw(st.sampled_from(["softmax", "log_softmax"]))
    n = x.ndim
    axis = p.draw(st.one_of(st.none(), st.integers(-n - 1, n)), "axis")  # None: the default axis -1
    ax = -1 if axis is None else axis

    def lib(t):
        f = getattr(t, name)
        return f() if axis is None else f(axis=axis)

    if name == "softmax":
        def ref(a):
            return np.exp(_np_log_softmax(a, ax))
    else:
        def ref(a):
            return _np_log_softmax(a, ax)

    def scale(args64, ref64):
        return (1.0 + np.abs(ref64)) * (4.0 + 2.0 * _maxabs(args64[0]))

    return Step(name, f"v{cur}.{name}(axis={axis})", [("v", cur)], lib, ref, scale=scale)


def _clip(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    bound = st.one_of(st.floats(-3, 3), st.integers(-2, 2))
    lo, hi = p.draw(st.one_of(st.none(), bound)), p.draw(st.one_of(st.none(), bound))
    if lo is None and hi is None:
        lo = 0.0
    style = p.draw(st.sampled_from(["positional", "keywords"]))
    lo_c = None if lo is None else _lift_np(lo, x.dtype)
    hi_c = None if hi is None else _lift_np(hi, x.dtype)

    def lib(t):
        return t.clip(lo, hi) if style == "positional" else t.clip(lo=lo, hi=hi)

    def ref(a):
        return np.clip(a, None if lo_c is None else lo_c.astype(a.dtype), None if hi_c is None else hi_c.astype(a.dtype))

    def kink(a):
        return any(c is not None and bool((np.abs(a - float(c)) < KINK).any()) for c in (lo_c, hi_c))

    return Step("clip", f"v{cur}.clip({lo!r}, {hi!r})", [("v", cur)], lib, ref, kink=kink)


def _join(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    name = p.draw(st.sampled_from(["stack", "concatenate"]))
    n = x.ndim + (1 if name == "stack" else 0)
    axis = p.draw(st.integers(-n - 1, n), "axis")
    count = p.draw(st.integers(1, 3))

    def partner():
        mode = p.draw(st.sampled_from(["same", "same", "along axis", "random"]))
        if mode == "same" or x.ndim == 0:
            return x.shape
        if mode == "along axis" and name == "concatenate" and -x.ndim <= axis < x.ndim:
            s = list(x.shape)
            s[axis] = p.draw(st.integers(0, 3))
            return tuple(s)
        return _broadcast_partner(p, x.shape)

    items, descs = [("v", cur)], [f"v{cur}"]
    for _ in range(count - 1):
        arg, d = p.operand(partner, x.dtype, "any")
        items.append(arg), descs.append(d)
    order = p.rng.permutation(len(items))
    items = [items[i] for i in order]
    descs = [descs[i] for i in order]
    # non-Tensor items take the dtype of the first Tensor in the list (tensor._tensors)
    first_tensor_dtype = next(p.entries[a[1]].tensor.dtype for a in items if a[0] == "v")
    items = [a if a[0] == "v" else ("c", a[1], _lift_np(a[1], first_tensor_dtype)) for a in items]
    lib_fn, np_fn = (tg.stack, np.stack) if name == "stack" else (tg.concatenate, np.concatenate)
    return Step(name, f"{name}([{', '.join(descs)}], axis={axis})", items,
                lambda *ts: lib_fn(list(ts), axis=axis), lambda *arrs: np_fn(list(arrs), axis=axis))


def _where(p: _Program, cur: int) -> Step:
    x = p.entries[cur].tensor
    mode = p.draw(st.sampled_from(["from values", "random mask", "mask Tensor"]), "cond")
    if mode == "from values":
        thr = float(p.rng.uniform(-1, 1))
        cond_lib = x > thr  # a Tensor comparison gives a bool Tensor
        cond_np = cond_lib.data
        cdesc = f"v{cur} > {thr:.3g}"
    else:
        cshape = _broadcast_partner(p, x.shape)
        cond_np = p.rng.random(cshape) < 0.5
        cond_lib = Tensor(cond_np.astype(np.float32)) if mode == "mask Tensor" else cond_np
        cdesc = f"{mode}{cshape}"
    swap = p.draw(st.booleans())
    arg, odesc = p.operand(lambda: _broadcast_partner(p, x.shape), x.dtype, "any")
    args = [arg, ("v", cur)] if swap else [("v", cur), arg]
    descs = [odesc, f"v{cur}"] if swap else [f"v{cur}", odesc]
    return Step("where", f"where({cdesc}, {descs[0]}, {descs[1]})", args,
                lambda a, b: tg.where(cond_lib, a, b), lambda a, b: np.where(cond_np, *_promote_0d(a, b)))


def _toolbox(p: _Program, cur: int) -> Step:
    """The toolbox's reductions, scans and shape ops, with valid and invalid axes."""
    x = p.entries[cur].tensor
    n = x.ndim
    name = p.draw(st.sampled_from(["logsumexp", "var", "std", "prod", "cumsum", "flip", "flatten", "squeeze",
                                   "unsqueeze", "permute", "swapaxes", "take_along_axis"]), "toolbox op")
    desc = f"v{cur}.{name}"
    if name in ("logsumexp", "var", "std", "prod"):
        axis = _axis_spec(p, n)
        keepdims = p.draw(st.booleans(), "keepdims")
        ddof = p.draw(st.sampled_from([0, 1])) if name in ("var", "std") else 0
        ax = _axis_tuple(axis)

        def ref(a):
            if n == 0 and ax is not None and ax != ():  # the library takes no int axis of a 0-d tensor
                raise ValueError("axis of a 0-d array")
            axes = tuple(range(a.ndim)) if ax is None else (ax,) if isinstance(ax, int) else ax
            if len({int(np.core.multiarray.normalize_axis_index(i, a.ndim)) for i in axes}) != len(axes):
                raise ValueError("repeated axis")
            if name == "logsumexp":
                m = np.max(a, axis=ax, keepdims=True, initial=-np.inf)
                m = np.where(np.isfinite(m), m, 0).astype(a.dtype)
                out = np.log(np.sum(np.exp(a - m), axis=ax, keepdims=True)) + m
                return out if keepdims else np.squeeze(out, axis=axes)
            if name == "prod":
                return np.prod(a, axis=ax, keepdims=keepdims)
            count = int(np.prod([a.shape[i] for i in axes]))
            if count - ddof <= 0:
                raise ValueError("no degrees of freedom")
            v = np.var(a, axis=ax, ddof=ddof, keepdims=keepdims)
            return np.sqrt(v) if name == "std" else v

        def lib(t):
            if name in ("var", "std"):
                return getattr(t, name)(axis=axis, ddof=ddof, keepdims=keepdims)
            return getattr(t, name)(axis=axis, keepdims=keepdims)

        kink = None
        if name == "std":  # sqrt at a zero variance: an infinite derivative
            def kink(a):
                try:
                    return bool((np.var(a, axis=ax, ddof=ddof) < KINK).any())
                except Exception:
                    return True
        scale = _abs_scale(8)(lambda a: np.prod(a, axis=ax, keepdims=keepdims)) if name == "prod" else None
        return Step(name, f"{desc}(axis={axis!r}, keepdims={keepdims}, ddof={ddof})", [("v", cur)], lib, ref,
                    scale=scale, kink=kink, k=16)
    if name == "cumsum":
        axis = p.draw(st.integers(-n, n - 1)) if n and p.draw(st.booleans()) else None
        return Step(name, f"{desc}({axis})", [("v", cur)], lambda t: t.cumsum(axis),
                    lambda a: np.cumsum(a, axis=axis), scale=_abs_scale(4)(lambda a: np.cumsum(a, axis=axis)))
    if name == "flip":
        axis = _axis_spec(p, n)

        def ref(a):
            if n == 0 and axis is not None and _axis_tuple(axis) != ():
                raise ValueError("axis of a 0-d array")
            return np.flip(a, _axis_tuple(axis))
        return Step(name, f"{desc}({axis!r})", [("v", cur)], lambda t: t.flip(axis), ref)
    if name == "flatten":
        m = max(n, 1)
        lo, hi = p.draw(st.integers(-m - 1, m)), p.draw(st.integers(-m - 1, m))

        def ref(a):
            if not (-m <= lo < m and -m <= hi < m) or lo % m > hi % m:
                raise ValueError("bad dims")
            if a.ndim == 0:
                return a.reshape(1)
            return a.reshape(*a.shape[:lo % m], -1 if a.size else int(np.prod(a.shape[lo % m:hi % m + 1])),
                             *a.shape[hi % m + 1:])
        return Step(name, f"{desc}({lo}, {hi})", [("v", cur)], lambda t: t.flatten(lo, hi), ref)
    if name == "squeeze":
        axis = p.draw(st.one_of(st.none(), st.integers(-n - 1, n)), "axis")
        def ref(a):
            if a.ndim == 0 and axis is not None:  # numpy's legacy quirk accepts axis 0 of a 0-d array; not here
                raise ValueError("axis of a 0-d array")
            return np.squeeze(a, axis=axis)
        return Step(name, f"{desc}({axis})", [("v", cur)], lambda t: t.squeeze(axis), ref)
    if name == "unsqueeze":
        axis = p.draw(st.integers(-n - 2, n + 1), "axis")
        return Step(name, f"{desc}({axis})", [("v", cur)], lambda t: t.unsqueeze(axis),
                    lambda a: np.expand_dims(a, axis))
    if name == "permute":
        axes = [int(a) for a in p.rng.permutation(n)]
        if n and p.draw(st.booleans()):
            axes[0] = axes[-1] if p.draw(st.booleans()) else n  # a repeated or out-of-range axis
        axes_t = tuple(axes)
        return Step(name, f"{desc}{axes_t}", [("v", cur)], lambda t: t.permute(*axes_t),
                    lambda a: np.transpose(a, axes_t))
    if name == "swapaxes":
        a1, a2 = (p.draw(st.integers(-n - 1, n)) for _ in range(2))
        return Step(name, f"{desc}({a1}, {a2})", [("v", cur)], lambda t: t.swapaxes(a1, a2),
                    lambda a: np.swapaxes(a, a1, a2))
    # take_along_axis: indices in range, or one out of it
    axis = p.draw(st.integers(-n - 1, n), "axis") if n else 0
    ishape = list(x.shape)
    if n and -n <= axis < n:
        ishape[axis] = p.draw(st.integers(1, 3))
    size = x.shape[axis] if n and -n <= axis < n else 1
    idx = p.rng.integers(0, max(size, 1) + (1 if p.draw(st.booleans()) else 0), tuple(ishape))
    return Step(name, f"{desc}(indices{tuple(ishape)}, {axis})", [("v", cur)],
                lambda t: t.take_along_axis(idx, axis), lambda a: np.take_along_axis(a, idx, axis))


def _pytorch_ops(p: _Program, cur: int) -> Step:
    """Issue 23's movement and matrix ops: einsum (a permutation, a diagonal, a sum), repeat, tril/triu, diagonal,
    and a split put back together; with invalid arguments sometimes."""
    x = p.entries[cur].tensor
    n = x.ndim
    name = p.draw(st.sampled_from(["einsum", "repeat", "tril", "diagonal", "split"]), "pytorch op")
    desc = f"v{cur}.{name}"
    letters = "abcd"[:n]
    if name == "einsum":
        mode = p.draw(st.sampled_from(["permute", "sum", "diagonal", "bad"]), "einsum")
        if mode == "permute":
            spec = f"{letters}->{''.join(p.rng.permutation(list(letters))) if n else ''}"
        elif mode == "sum":
            spec = f"{letters}->{letters[:p.draw(st.integers(0, n))]}"
        elif mode == "diagonal":  # the first letter twice: only valid for equal first two sides
            spec = f"a{letters}->{letters}" if n else "a->"
        else:
            spec = f"{letters}z->{letters}"  # one letter too many
        return Step(name, f"einsum({spec!r}, v{cur})", [("v", cur)], lambda t: tg.einsum(spec, t),
                    lambda a: np.einsum(spec, a), scale=_abs_scale(4)(lambda a: np.einsum(spec, a)))
    if name == "repeat":
        reps = tuple(p.draw(st.integers(0 if p.draw(st.booleans()) else 1, 2)) for _ in range(n + p.draw(
            st.integers(-1 if n else 0, 1))))

        def ref(a):
            if len(reps) < a.ndim:
                raise ValueError("fewer sizes than axes")
            return np.tile(a, reps)
        return Step(name, f"{desc}{reps}", [("v", cur)], lambda t: t.repeat(*reps), ref)
    k = p.draw(st.integers(-2, 2), "k")
    if name == "tril":
        lower = p.draw(st.booleans())

        def ref(a):
            if a.ndim < 2:
                raise ValueError("needs 2 axes")
            return np.tril(a, k) if lower else np.triu(a, k)
        return Step(name, f"{desc}({k}, lower={lower})", [("v", cur)],
                    lambda t: t.tril(k) if lower else t.triu(k), ref)
    if name == "diagonal":
        return Step(name, f"{desc}({k})", [("v", cur)], lambda t: t.diagonal(k), lambda a: np.diagonal(a, k))
    axis = p.draw(st.integers(-1, n), "axis") if n else 0
    size = p.draw(st.integers(0, 3), "size")

    def lib(t):
        return tg.cat([piece * (i + 1.0) for i, piece in enumerate(t.split(size, axis))], dim=axis)

    def ref(a):
        if a.ndim == 0 or not -a.ndim <= axis < a.ndim or size <= 0:
            raise ValueError("bad split")
        m = a.shape[axis]
        pieces = np.split(a, list(range(size, m, size)), axis) if m else [a]
        return np.concatenate([piece * (i + 1.0) for i, piece in enumerate(pieces)], axis)
    return Step(name, f"{desc}({size}, {axis}) joined", [("v", cur)], lib, ref, k=8)


def _np_conv(x, w, b, stride, padding, dilation, groups):
    """The convolution from numpy's sliding windows and one einsum: the reference of ``conv`` steps."""
    nd = w.ndim - 2
    if x.ndim == nd + 1 and w.ndim >= 3:  # an unbatched input (C, *spatial), as PyTorch takes it
        return _np_conv(x[None], w, b, stride, padding, dilation, groups)[0]
    if x.ndim != nd + 2 or x.size == 0 or w.size == 0 or w.shape[1] * groups != x.shape[1] or w.shape[0] % groups:
        raise ValueError("shapes do not make a convolution")
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    spans = [d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation, strict=True)]
    if any(n < s for n, s in zip(xp.shape[2:], spans, strict=True)):
        raise ValueError("kernel larger than the padded input")
    win = np.lib.stride_tricks.sliding_window_view(xp, spans, axis=tuple(range(2, nd + 2)))
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
              + tuple(slice(None, None, d) for d in dilation)]  # (N, C, *out, *kernel)
    n, c = x.shape[:2]
    win = win.reshape(n, groups, c // groups, *win.shape[2:])
    wg = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
    spec = "ngcij,gocj->ngoi" if nd == 1 else "ngcijkl,gockl->ngoij"
    out = np.einsum(spec, win, wg).reshape(n, w.shape[0], *win.shape[3:3 + nd])
    return out if b is None else out + b.reshape((-1,) + (1,) * nd)


def _np_pool(x, kernel, stride, padding, kind):
    """Max or mean over each window (padding -inf for the max, zeros counted in the mean): ``pool`` steps' reference."""
    nd = len(kernel)
    if x.ndim == nd + 1:  # an unbatched input (C, *spatial), as PyTorch takes it
        return _np_pool(x[None], kernel, stride, padding, kind)[0]
    if x.ndim != nd + 2 or x.size == 0 or any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise ValueError("shapes do not make a pooling")
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding],
                constant_values=-np.inf if kind == "max" else 0.0)
    if any(n < k for n, k in zip(xp.shape[2:], kernel, strict=True)):
        raise ValueError("window larger than the padded input")
    win = np.lib.stride_tricks.sliding_window_view(xp, kernel, axis=tuple(range(2, nd + 2)))
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]
    axes = tuple(range(-nd, 0))
    return np.max(win, axis=axes) if kind == "max" else np.mean(win, axis=axes)


def _conv(p: _Program, cur: int) -> Step:
    """conv1d/conv2d with a weight (and maybe a bias) that is a new leaf, max/avg pooling; the current value is the
    input (N, C, *spatial) when it has 3 or 4 axes. Other ranks, channel counts that do not match the weight, and
    windows larger than the padded input must be refused."""
    x = p.entries[cur].tensor
    name = p.draw(st.sampled_from(["conv", "conv", "max_pool", "avg_pool"]), "conv op")
    nd = x.ndim - 2 if x.ndim in (3, 4) else p.draw(st.integers(1, 2))
    kernel = tuple(p.draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(p.draw(st.integers(1, 2)) for _ in range(nd))
    if name != "conv":
        padding = tuple(p.draw(st.integers(0, k // 2)) for k in kernel)
        fn = {("max_pool", 1): tg.nn.functional.max_pool1d, ("max_pool", 2): tg.nn.functional.max_pool2d,
              ("avg_pool", 1): tg.nn.functional.avg_pool1d, ("avg_pool", 2): tg.nn.functional.avg_pool2d}[name, nd]
        near = None
        if name == "max_pool":
            def near(a):  # two candidates of a window within KINK: a kink of the max
                try:
                    win = np.sort(_np_pool_windows(a, kernel, stride, padding), axis=-1)
                except ValueError:
                    return False
                return bool((np.abs(win[..., -1] - win[..., -2]) < KINK).any()) if win.shape[-1] > 1 else False
        return Step(name, f"{name}{nd}d(v{cur}, {kernel}, {stride}, {padding})", [("v", cur)],
                    lambda t: fn(t, kernel, stride, padding), lambda a: _np_pool(a, kernel, stride, padding, name[:3]),
                    kink=near, k=4)
    padding = tuple(p.draw(st.integers(0, 2)) for _ in range(nd))
    dilation = tuple(p.draw(st.integers(1, 2)) for _ in range(nd))
    groups = p.draw(st.integers(1, 2))
    channels = x.shape[1] if x.ndim >= 2 else 1
    c_g = max(channels // groups, 1) if p.draw(st.integers(0, 5)) else channels + 1  # sometimes wrong on purpose
    w = p.leaf((groups * p.draw(st.integers(1, 2)), c_g, *kernel))
    args = [("v", cur), ("v", w)]
    if p.draw(st.booleans()):
        args.append(("v", p.leaf((p.entries[w].tensor.shape[0],))))
    fn = tg.nn.functional.conv1d if nd == 1 else tg.nn.functional.conv2d
    return Step("conv", f"conv{nd}d(v{cur}, v{w}, stride={stride}, padding={padding}, dilation={dilation}, "
                f"groups={groups})", args,
                lambda t, wt, bt=None: fn(t, wt, bt, stride, padding, dilation, groups),
                lambda a, wa, ba=None: _np_conv(a, wa, ba, stride, padding, dilation, groups),
                scale=lambda args64, ref64: (1.0 + np.abs(_np_conv(*[np.abs(a) for a in args64], *[None] * (
                    3 - len(args64)), stride, padding, dilation, groups))) * 4)


def _np_pool_windows(a, kernel, stride, padding):
    nd = len(kernel)
    if a.ndim != nd + 2:
        a = a[None]
    ap = np.pad(a, [(0, 0), (0, 0)] + [(q, q) for q in padding], constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(ap, kernel, axis=tuple(range(2, nd + 2)))
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]
    return win.reshape(*win.shape[:2 + nd], -1)


MENU = {
    "pytorch": _pytorch_ops,
    "toolbox": _toolbox,
    "unary": _unary, "binary": _binary, "matmul": _matmul, "reduction": _reduction, "reshape": _reshape,
    "transpose": _transpose, "getitem": _getitem, "softmax": _softmax, "clip": _clip, "join": _join,
    "where": _where, "conv": _conv,
}
MENU_WEIGHTS = ["unary"] * 3 + ["binary"] * 3 + ["matmul", "reduction", "reduction", "reshape", "transpose",
                                                  "getitem", "getitem", "softmax", "clip", "join", "where",
                                                  "toolbox", "toolbox", "pytorch", "conv"]


def _draw_shape(data) -> tuple[int, ...]:
    ndim = data.draw(st.sampled_from([0, 1, 1, 2, 2, 2, 3, 3, 4]), "ndim")
    dims = data.draw(st.lists(st.sampled_from([1, 2, 2, 3, 3, 4, 0]), min_size=ndim, max_size=ndim), "dims")
    while int(np.prod(dims, dtype=np.int64)) > MAX_SIZE:
        dims[dims.index(max(dims))] -= 1
    return tuple(dims)


@settings(max_examples=MAX_EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.data())
def _fuzz_one_program(data):
    STATS["programs"] += 1
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), "seed"))
    p = _Program(data, rng)
    cur = p.leaf(_draw_shape(data))
    for _ in range(data.draw(st.integers(1, MAX_STEPS), "steps")):
        step = MENU[data.draw(st.sampled_from(MENU_WEIGHTS), "op")](p, cur)
        cur = p.run(step, cur)
    p.check_unmodified("by the program")
    p.check_backward(cur)
    p.check_unmodified("by backward()")
    p.check_end_to_end(cur)
    p.check_gradients(cur)
    p.check_unmodified("by gradcheck")


def test_fuzz_random_programs(record_property, capsys):
    STATS.clear()
    _fuzz_one_program()
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items()) if not k.startswith("op "))
    ops = ", ".join(f"{k[3:]} {v}" for k, v in sorted(STATS.items()) if k.startswith("op "))
    for key, value in STATS.items():
        record_property(key, value)
    with capsys.disabled():
        print(f"\n[test_fuzz] {summary}\n[test_fuzz] steps per op: {ops}")
    assert STATS["programs"] >= MAX_EXAMPLES // 2
    assert STATS["steps"] >= MAX_EXAMPLES
    assert STATS["ok steps"] > 0 and STATS["raised own error"] > 0 and STATS["gradchecks"] > 0


# ============================================================================ bugs found, as minimal reproducers
# Each failed before its fix (they were strict xfails until then) and now guards against its return.


def test_sigmoid_of_0d_tensor():
    x = Tensor(np.float64(0.5), requires_grad=True)
    y = x.sigmoid()
    assert y.shape == ()
    np.testing.assert_allclose(y.data, 1 / (1 + np.exp(-0.5)))


def test_mean_axis_out_of_range():
    with pytest.raises(tg.ShapeError):
        Tensor(np.ones((2, 3))).mean(axis=2)


def test_mean_of_0d_tensor_with_axis():
    with pytest.raises(tg.ShapeError):
        Tensor(np.float64(1.0)).mean(axis=0)


def test_transpose_out_of_range_axes():
    with pytest.raises(tg.ShapeError):
        Tensor(np.ones((2, 3))).transpose(0, 3)


def test_reduction_axis_given_as_list():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.sum(axis=[0, 1]).data, 15.0)


def test_clip_with_lo_above_hi():
    x = Tensor(np.array([0.0, 1.5, 3.0]))
    np.testing.assert_array_equal(x.clip(2.0, 1.0).data, np.clip(x.data, 2.0, 1.0))
