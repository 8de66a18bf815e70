"""``tm.save(obj, path)`` / ``tm.load(path)``: state dicts and nested containers of arrays, Tensors and numbers,
in a file as safe as a checkpoint.

PyTorch pickles whatever it is given; this library never pickles. ``obj`` is a (nested) dict, list or tuple whose
leaves are numpy arrays, Tensors, numpy scalars, Python numbers, strings, booleans or None: a model's or an
optimizer's ``state_dict()``, or ``{"epoch": 3, "model": model.state_dict(), ...}``. The file is an ``.npz``
archive: one ``.npy`` member per array and a JSON member describing the structure. It is written atomically (a
failed save keeps the previous file), and read with the checkpoint reader's limits (no pickled objects, sizes
checked from the zip directory and the array headers before anything is decompressed, memory checked first),
every problem a one-line :class:`~tinygrad_mlp.errors.CheckpointError`. ``load`` gives back the same structure:
Tensors as Tensors (with their ``requires_grad``), arrays as arrays, numbers as numbers.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint
from ._guard import atomic_write
from .errors import CheckpointError
from .tensor_core import Tensor

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION"]

FORMAT = "tinygrad_mlp-save"
FORMAT_VERSION = 1
_TREE = "tree.json"  # the member holding the structure (the arrays are a0, a1, ...)
_MAX_DEPTH = 64
_MAX_NODES = 1_000_000
_MAX_TREE_BYTES = 64 << 20


def _encode(obj: Any, arrays: dict[str, np.ndarray], depth: int, where: str) -> dict:
    if depth > _MAX_DEPTH:
        raise CheckpointError(f"save: {where} is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(obj, Tensor) or (isinstance(obj, (np.ndarray, np.generic)) and not isinstance(obj, np.bool_)):
        arr = np.asarray(obj.data if isinstance(obj, Tensor) else obj)
        if arr.dtype.kind not in "biuf" or arr.dtype.fields is not None:
            raise CheckpointError(f"save: {where} is an array of dtype {arr.dtype}; only numbers can be saved")
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(arr, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        if isinstance(obj, Tensor):
            return {"t": "tensor", "a": name, "requires_grad": bool(obj.requires_grad)}
        return {"t": "scalar" if isinstance(obj, np.generic) else "array", "a": name}
    if obj is None or isinstance(obj, (bool, np.bool_, str)):
        return {"t": "value", "v": bool(obj) if isinstance(obj, np.bool_) else obj}
    if isinstance(obj, int):
        return {"t": "int", "v": str(obj)}
    if isinstance(obj, float):
        return {"t": "float", "v": repr(obj)}  # repr: exact, and nan/inf survive (JSON has neither)
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise CheckpointError(f"save: {where} has a key {key!r}; keys must be strings or ints")
            items.append([key, _encode(value, arrays, depth + 1, f"{where}[{key!r}]")])
        return {"t": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"t": type(obj).__name__,
                "items": [_encode(v, arrays, depth + 1, f"{where}[{i}]") for i, v in enumerate(obj)]}
    hint = " (save model.state_dict(), and rebuild the model in code to load it)" if hasattr(obj, "state_dict") else ""
    raise CheckpointError(f"save: {where} is a {type(obj).__name__}, which is not saved without pickle{hint}")


def save(obj: Any, f: str | os.PathLike, **ignored: Any) -> Path:
    """Write ``obj`` (see the module docstring) to the path ``f`` atomically; returns the path. PyTorch's other
    arguments (``pickle_module`` ...) are accepted and change nothing."""
    if not isinstance(f, (str, os.PathLike)):
        raise CheckpointError(f"save: give a file path, got {type(f).__name__} (file objects are not supported)")
    arrays: dict[str, np.ndarray] = {}
    tree = {"format": FORMAT, "format_version": FORMAT_VERSION, "tree": _encode(obj, arrays, 0, "the object")}
    arrays[_TREE] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)

    def write(out) -> None:
        archive = io.BytesIO()  # built in memory, written in one call: a full disk fails cleanly
        np.savez(archive, **arrays)  # type: ignore[arg-type]  # numpy's stubs see **arrays colliding with allow_pickle
        out.write(archive.getbuffer())

    return atomic_write(Path(f), write, "the file")


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], path: Path):
        self.arrays, self.path, self.nodes = arrays, path, 0
        self.used: set[str] = set()

    def fail(self, why: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: not a tm.save file, or damaged ({why})")

    def node(self, n: Any, depth: int) -> Any:
        self.nodes += 1
        if depth > _MAX_DEPTH or self.nodes > _MAX_NODES:
            raise self.fail("its structure is nested too deeply or too large")
        if not isinstance(n, dict) or not isinstance(n.get("t"), str):
            raise self.fail("a node of its structure is malformed")
        kind = n["t"]
        if kind in ("tensor", "array", "scalar"):
            name = n.get("a")
            if not isinstance(name, str) or name not in self.arrays or name in self.used:
                raise self.fail(f"it refers to a missing or repeated array {str(name)[:40]!r}")
            self.used.add(name)
            arr = self.arrays[name]
            if kind == "tensor":
                grad = n.get("requires_grad")
                if not isinstance(grad, bool) or (grad and arr.dtype.kind != "f"):
                    raise self.fail(f"array {name} has a bad requires_grad")
                return Tensor.wrap(arr, requires_grad=grad)
            return arr[()] if kind == "scalar" else arr
        if kind == "value":
            v = n.get("v")
            if v is not None and not isinstance(v, (bool, str)):
                raise self.fail("a value node holds something else than a string, a bool or None")
            return v
        if kind in ("int", "float"):
            text = n.get("v")
            try:
                if not isinstance(text, str) or len(text) > 400:
                    raise ValueError(text)
                return int(text) if kind == "int" else float(text)
            except ValueError:
                raise self.fail(f"a number node holds {str(text)[:40]!r}") from None
        if kind not in ("dict", "list", "tuple"):
            raise self.fail(f"unknown node kind {kind[:20]!r}")
        items = n.get("items")
        if not isinstance(items, list):
            raise self.fail(f"a {kind} node has no items")
        if kind == "dict":
            out = {}
            for pair in items:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))
                        and not isinstance(pair[0], bool)):
                    raise self.fail("a dict entry is malformed")
                out[pair[0]] = self.node(pair[1], depth + 1)
            return out
        values = [self.node(v, depth + 1) for v in items]
        return values if kind == "list" else tuple(values)


def load(f: str | os.PathLike, map_location: Any = None, weights_only: bool | None = None, **ignored: Any) -> Any:
    """Read what :func:`save` wrote (the same structure). ``map_location`` and ``weights_only`` are PyTorch's and
    change nothing: arrays live on the CPU, and nothing but numbers, strings and containers is ever read."""
    if not isinstance(f, (str, os.PathLike)):
        raise CheckpointError(f"load: give a file path, got {type(f).__name__} (file objects are not supported)")
    path = Path(f)
    arrays = checkpoint.read_arrays(path)
    raw = arrays.pop(_TREE, None)
    if raw is None:
        raise CheckpointError(f"{path}: not a tm.save file (no {_TREE} member); for a training checkpoint use "
                              "checkpoint.load")
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_TREE_BYTES:
        raise CheckpointError(f"{path}: not a tm.save file, or damaged (its structure member is not JSON text)")
    try:
        tree = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: not a tm.save file, or damaged ({' '.join(str(e).split())[:100]})") from None
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        found = tree.get("format") if isinstance(tree, dict) else tree
        raise CheckpointError(f"{path}: not a tm.save file (format {str(found)[:40]!r})")
    version = tree.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{path}: written in tm.save format {str(version)[:20]}, which this library does not "
                              f"read (it reads 1 to {FORMAT_VERSION}); upgrade tinygrad_mlp")
    decoder = _Decoder(arrays, path)
    value = decoder.node(tree.get("tree"), 0)
    unused = sorted(set(arrays) - decoder.used)
    if unused:
        raise CheckpointError(f"{path}: not a tm.save file, or damaged (array {unused[0][:40]!r} is not part of it)")
    return value
