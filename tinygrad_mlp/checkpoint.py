"""Checkpoints that cannot execute code.

A checkpoint is a numpy ``.npz`` archive read with ``allow_pickle=False``:

* ``param/<name>``: the model's parameter arrays (``layers.0.weight`` ...);
* ``optim/<buffer>/<i>``: the optimizer's state arrays, when one is saved;
* ``meta.json``: a uint8 array holding UTF-8 JSON: format name and version,
  library version, the model's architecture, the optimizer's settings, the
  caller's metadata (training settings, metrics ...), and a SHA-256 over every
  array's name, dtype, shape and bytes.

It is written to a temporary file in the same folder, flushed to disk, then
renamed over the target, so a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .errors import CheckpointError
from .nn import MLP, Module
from .optim import Optimizer

FORMAT = "tinygrad_mlp-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """What :func:`load` returns: parameter arrays, optimizer state (or None) and metadata."""

    params: dict[str, np.ndarray]
    model_config: dict | None
    metadata: dict = field(default_factory=dict)
    optimizer: dict | None = None
    library_version: str = ""

    def build_model(self) -> MLP:
        """A new ``MLP`` with the saved architecture and weights."""
        if not self.model_config or "sizes" not in self.model_config:
            raise CheckpointError("checkpoint: it does not record an MLP architecture, so the model cannot be rebuilt")
        cfg = self.model_config
        dtype = next(iter(self.params.values())).dtype if self.params else np.float32
        model = MLP(cfg["sizes"], cfg.get("activation", "sigmoid"), cfg.get("output_activation", "sigmoid"),
                    init=cfg.get("init", "normal"), dtype=dtype)
        model.load_state_dict(self.params)
        return model


def _checksum(arrays: dict[str, np.ndarray], meta: dict) -> str:
    """SHA-256 over the metadata (minus the checksum itself) and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "checksum"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(model: Module, path: str | os.PathLike, *, optimizer: Optimizer | None = None, **metadata) -> Path:
    """Write ``model`` (and ``optimizer``'s state) to ``path`` atomically; ``metadata`` must be JSON-serialisable."""
    path = Path(path)
    arrays = {f"param/{k}": v for k, v in model.state_dict().items()}
    optim_meta = None
    if optimizer is not None:
        state = optimizer.state_dict()
        for key, buffers in state["buffers"].items():
            for i, a in enumerate(buffers):
                arrays[f"optim/{key}/{i}"] = a
        optim_meta = {"class": type(optimizer).__name__, "lr": state["lr"], "steps": state["steps"],
                      "buffers": {k: len(v) for k, v in state["buffers"].items()}}
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__,
        "model": model.config() if hasattr(model, "config") else None,
        "optimizer": optim_meta, "metadata": metadata,
    }
    try:
        meta["checksum"] = _checksum(arrays, meta)
        meta_bytes = json.dumps(meta).encode()
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"save: metadata must be JSON-serialisable ({e})") from None
    arrays["meta.json"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stubs see **arrays colliding with allow_pickle
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint, refusing anything that is not one: pickles, truncated or tampered files, newer formats."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise CheckpointError(f"{path}: refused, it contains pickled Python objects (which could run code)") \
                from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({e})") from None
    except Exception as e:  # anything else a damaged archive makes zipfile or numpy raise
        raise CheckpointError(f"{path}: not a checkpoint, or damaged/truncated ({type(e).__name__}: {e})") from None
    if "meta.json" not in arrays:
        raise CheckpointError(f"{path}: not a tinygrad_mlp checkpoint (no meta.json entry)")
    try:
        meta = json.loads(arrays.pop("meta.json").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: its metadata is corrupt ({e})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: not a tinygrad_mlp checkpoint (its metadata is not a JSON object)")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinygrad_mlp checkpoint (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written in checkpoint format {version}, newer than this library reads "
                              f"({FORMAT_VERSION}); upgrade tinygrad_mlp")
    if _checksum(arrays, meta) != meta.get("checksum"):
        raise CheckpointError(f"{path}: checksum mismatch, the file was modified or damaged after saving")
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    optimizer = None
    if meta.get("optimizer"):
        om = meta["optimizer"]
        try:
            buffers = {key: [arrays[f"optim/{key}/{i}"] for i in range(n)] for key, n in om["buffers"].items()}
            optimizer = {"class": om["class"], "lr": om["lr"], "steps": om["steps"], "buffers": buffers}
        except (KeyError, TypeError, AttributeError) as e:
            raise CheckpointError(f"{path}: its optimizer state is incomplete ({type(e).__name__}: {e})") from None
    return Checkpoint(params=params, model_config=meta.get("model"), metadata=meta.get("metadata", {}),
                      optimizer=optimizer, library_version=meta.get("library_version", ""))


def load_model(path: str | os.PathLike) -> tuple[MLP, Checkpoint]:
    """Rebuild the saved ``MLP``; returns it with the whole :class:`Checkpoint`."""
    ckpt = load(path)
    try:
        return ckpt.build_model(), ckpt
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"{path}: the saved weights do not fit the saved architecture ({e})") from None
