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

Loading trusts nothing before it is checked, and allocates nothing before it
knows the size is right: from the zip directory, the ``.npy`` headers and the
metadata (validated against a schema: types, ranges, sizes, nesting depth) it
knows every array's shape, refuses any that does not fit the declared
architecture (or would not fit in memory) before decompressing a byte of data,
then reads each array into its own buffer while hashing the stream. So the
peak memory of a load is the size of the arrays it returns plus small chunks.
The checksum detects damage (a flipped bit, a cut-off copy), not forgery:
anyone can recompute it, so it is not a signature.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import os
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, overload

import numpy as np

from ._guard import atomic_write, check_memory
from ._schema import is_int, is_number, one_of, short
from .errors import CheckpointError, TinygradMLPError
from .nn import INITS, MLP, Module, functional
from .optim import Optimizer
from .version import __version__

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
    module: str = "MLP"  # the saved model's class

    def build_model(self) -> MLP:
        """A new ``MLP`` with the saved architecture and weights."""
        if not self.model_config or "sizes" not in self.model_config:
            raise CheckpointError(f"checkpoint: it holds the weights of a {self.module}, not an MLP that can be "
                                  f"rebuilt from the file; build the {self.module} in code and pass it: "
                                  "load_model(path, model=net)")
        cfg = self.model_config
        dtype = next(iter(self.params.values())).dtype if self.params else np.float32
        model = MLP(cfg["sizes"], cfg.get("activation", "sigmoid"), cfg.get("output_activation", "sigmoid"),
                    init=cfg.get("init", "normal"), dtype=dtype)
        model.load_state_dict(self.params)
        return model


# ---------------------------------------------------------------------- limits of what load() accepts

_MAX_MEMBERS = 20000            # arrays in one archive (1000 layers with Adam: 2000 parameters x 4 arrays)
_MAX_DIRECTORY_BYTES = 8 << 20  # the zip's central directory
_MAX_META_BYTES = 64 << 20      # meta.json (a long run's history is well under 1 MiB)
_MAX_DEPTH = 64                 # nesting of the metadata's JSON
_MAX_LAYERS = 1000
_MAX_NAME = 128                 # optimizer class and buffer names
_MAX_BUFFERS = 100              # per-parameter buffer lists of an optimizer
_MAX_NPY_HEADER = 10000         # numpy's own default limit
_CHUNK = 1 << 16                # bytes read (and hashed) at a time
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what np.savez / np.savez_compressed write
_MAX_RATIO = 1032               # deflate never expands data more than this (stored members: 1)
_TOP_KEYS = {"format", "format_version", "library_version", "model", "optimizer", "metadata", "checksum",
             "module"}  # module: the saved model's class name, when it is not an MLP (optional)
_MODEL_KEYS = {"sizes", "activation", "output_activation", "init"}
_OPTIMIZER_KEYS = {"class", "lr", "steps", "buffers"}
_OPTIONAL_OPTIMIZER_KEYS = {"param_groups"}  # each group's hyperparameters (lr, weight_decay ...), when saved
_MAX_GROUPS = 1000


def _array_tag(name: str, dtype: np.dtype, shape: tuple) -> bytes:
    # a 0-d array is tagged as shape (1,): format 1 hashed np.ascontiguousarray(a), which is at least 1-d
    return f"{name}|{dtype.str}|{tuple(shape) or (1,)}|".encode()


def _meta_digest(meta: dict):
    return hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "checksum"}, sort_keys=True).encode())


def _checksum(arrays: dict[str, np.ndarray], meta: dict) -> str:
    """SHA-256 over the metadata (minus the checksum itself) and every array's name, dtype, shape and bytes."""
    h = _meta_digest(meta)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(_array_tag(name, a.dtype, a.shape))
        h.update(a.tobytes())
    return h.hexdigest()


def save(model: Module, path: str | os.PathLike, *, optimizer: Optimizer | None = None, **metadata) -> Path:
    """Write ``model`` (and ``optimizer``'s state) to ``path`` atomically; ``metadata`` must be JSON-serialisable.

    A full disk (or any other write failure) raises :class:`~tinygrad_mlp.errors.WriteError` naming the file and
    saying that its previous version was kept; temporaries left by a killed earlier save are removed.
    """
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
        if "param_groups" in state:  # per-group lr and weight decay: a resumed AdamW with groups keeps them
            optim_meta["param_groups"] = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
                                          for g in state["param_groups"]]
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__,
        "model": model.config() if hasattr(model, "config") else None,
        "optimizer": optim_meta, "metadata": metadata,
    }
    if meta["model"] is None:  # a model of your own: its class is named, for load_model's refusal
        meta["module"] = type(model).__name__
    try:
        meta["checksum"] = _checksum(arrays, meta)
        meta_bytes = json.dumps(meta).encode()
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"save: metadata must be JSON-serialisable ({e})") from None
    arrays["meta.json"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    def write(f) -> None:
        # The archive is built in memory, then written in one call: when the disk fills up, only that write fails,
        # and no half-written ZipFile is left to complain later (Python 3.10's zipfile prints an ignored exception
        # from its __del__ when its file was closed under it, after our one-line error).
        archive = io.BytesIO()
        np.savez(archive, **arrays)  # type: ignore[arg-type]  # numpy's stubs see **arrays colliding with allow_pickle
        f.write(archive.getbuffer())

    return atomic_write(path, write, "the checkpoint")


# ---------------------------------------------------------------------- load: schema of the metadata


def _is_param_groups(groups) -> bool:
    """A list of ``{name: number, bool or short list of numbers}`` (what Optimizer.state_dict's groups hold)."""
    def ok(v) -> bool:
        return isinstance(v, bool) or is_number(v) or (isinstance(v, list) and len(v) <= 4
                                                        and all(is_number(x) for x in v))
    return (isinstance(groups, list) and 1 <= len(groups) <= _MAX_GROUPS
            and all(isinstance(g, dict) and len(g) <= 16
                    and all(isinstance(k, str) and k.isidentifier() and len(k) <= _MAX_NAME and ok(v)
                            for k, v in g.items()) for g in groups))


def _is_activation(name) -> bool:
    """A name MLP accepts (the notes' four and the toolbox's extra ones)."""
    if not isinstance(name, str) or len(name) > _MAX_NAME:
        return False
    try:
        functional.activation(name)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _invalid(path: Path, where: str, want: str, value) -> CheckpointError:
    return CheckpointError(f"{path}: invalid metadata: {where} must be {want}, got {short(value)}")


def _check_depth(obj, path: Path) -> None:
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise CheckpointError(f"{path}: invalid metadata: nested more than {_MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _validate_meta(meta: dict, path: Path) -> None:
    """Types and ranges of everything :func:`load` uses (the caller's ``metadata`` only has to be an object)."""
    extra = sorted(set(meta) - _TOP_KEYS)
    if extra:
        raise CheckpointError(f"{path}: invalid metadata: unknown field(s) {', '.join(map(repr, extra[:5]))}")
    if not isinstance(meta.get("library_version", ""), str):
        raise _invalid(path, "library_version", "a string", meta["library_version"])
    checksum = meta.get("checksum")
    if not (isinstance(checksum, str) and len(checksum) == 64):
        raise _invalid(path, "checksum", "a SHA-256 of 64 hex digits", checksum)
    if not isinstance(meta.get("metadata", {}), dict):
        raise _invalid(path, "metadata", "an object", meta["metadata"])
    module = meta.get("module", "Module")
    if not (isinstance(module, str) and module.isidentifier() and len(module) <= _MAX_NAME):
        raise _invalid(path, "module", "a class name", module)
    cfg = meta.get("model")
    if cfg is not None:
        if not isinstance(cfg, dict):
            raise _invalid(path, "model", "an object or null", cfg)
        extra = sorted(set(cfg) - _MODEL_KEYS)
        if extra or "sizes" not in cfg:
            raise _invalid(path, "model", f"an object with fields {', '.join(sorted(_MODEL_KEYS))}", cfg)
        sizes = cfg["sizes"]
        if (not isinstance(sizes, list) or not 2 <= len(sizes) <= _MAX_LAYERS + 1
                or not all(is_int(n) and n >= 1 for n in sizes)):
            raise _invalid(path, "model.sizes", f"a list of 2 to {_MAX_LAYERS + 1} integers >= 1", sizes)
        if not _is_activation(cfg.get("activation", "sigmoid")):
            raise _invalid(path, "model.activation", "the name of an activation", cfg["activation"])
        out = cfg.get("output_activation", "sigmoid")
        if out is not None and not _is_activation(out):
            raise _invalid(path, "model.output_activation", "null or the name of an activation", out)
        if not one_of(cfg.get("init", "normal"), INITS):
            raise _invalid(path, "model.init", f"one of {', '.join(INITS)}", cfg["init"])
    if meta.get("optimizer") is not None:
        _validate_optimizer_meta(meta["optimizer"], path)


def _validate_optimizer_meta(om, path: Path) -> None:
    """The saved optimizer's description: class, lr, steps, buffer counts and (optional) parameter groups."""
    if not isinstance(om, dict) or not _OPTIMIZER_KEYS <= set(om) <= _OPTIMIZER_KEYS | _OPTIONAL_OPTIMIZER_KEYS:
        raise _invalid(path, "optimizer", f"null or an object with fields {', '.join(sorted(_OPTIMIZER_KEYS))}", om)
    if "param_groups" in om and not _is_param_groups(om["param_groups"]):
        raise _invalid(path, "optimizer.param_groups", "a list of objects of hyperparameter names to numbers",
                       om["param_groups"])
    if not (isinstance(om["class"], str) and om["class"].isidentifier() and len(om["class"]) <= _MAX_NAME):
        raise _invalid(path, "optimizer.class", "a class name", om["class"])
    if not (is_number(om["lr"]) and om["lr"] >= 0):
        raise _invalid(path, "optimizer.lr", "a finite number >= 0", om["lr"])
    if not (is_int(om["steps"]) and om["steps"] >= 0):
        raise _invalid(path, "optimizer.steps", "an integer >= 0", om["steps"])
    buffers = om["buffers"]
    if (not isinstance(buffers, dict) or len(buffers) > _MAX_BUFFERS
            or not all(k.isidentifier() and len(k) <= _MAX_NAME for k in buffers)
            or not all(is_int(n) and 0 <= n <= _MAX_MEMBERS for n in buffers.values())):
        raise _invalid(path, "optimizer.buffers", "an object of buffer names to counts", buffers)


# ---------------------------------------------------------------------- load: the archive


def _check_directory(f, path: Path) -> None:
    """Refuse an archive whose end record announces more members (or a bigger directory) than a checkpoint has,
    before :mod:`zipfile` reads the directory into memory."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    tail_len = min(size, (1 << 16) + 22)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return  # not a zip end record: zipfile reports it
    entries, directory_bytes = struct.unpack("<HI", tail[at + 10:at + 16])
    if entries > _MAX_MEMBERS or directory_bytes > _MAX_DIRECTORY_BYTES:
        raise CheckpointError(f"{path}: not a checkpoint: its zip directory announces {entries} members in "
                              f"{directory_bytes} bytes (a checkpoint has at most {_MAX_MEMBERS})")


@dataclass
class _Member:
    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple
    offset: int            # bytes of .npy header before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> _Member:
    """The member's dtype and shape from its ``.npy`` header alone (a few hundred bytes decompressed)."""
    name = info.filename
    fmt = np.lib.format
    try:
        with zf.open(info) as fp:
            version = fmt.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fp, max_header_size=_MAX_NPY_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = fmt.read_array_header_2_0(fp, max_header_size=_MAX_NPY_HEADER)
            else:
                raise ValueError(f"unknown .npy version {version}")
            offset = fp.tell()
    except CheckpointError:
        raise
    except Exception as e:  # a damaged member makes numpy/zipfile/zlib raise many kinds of errors
        raise CheckpointError(f"{path}: member {name!r} is not a valid .npy array "
                              f"({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
    if dtype.hasobject:
        raise CheckpointError(f"{path}: refused, it contains pickled Python objects (which could run code): "
                              f"member {name!r}")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise CheckpointError(f"{path}: member {name!r} has dtype {dtype}, not a plain number type")
    if fortran:
        raise CheckpointError(f"{path}: member {name!r} is stored in Fortran order, which checkpoints never use")
    if info.file_size > _MAX_RATIO * info.compress_size + _CHUNK:
        raise CheckpointError(f"{path}: member {name!r} is damaged: it declares {info.file_size} bytes from "
                              f"{info.compress_size} compressed ones, more than compression can give")
    member = _Member(info, dtype, tuple(shape), offset)
    if any(n < 0 for n in member.shape) or offset + member.nbytes != info.file_size:
        raise CheckpointError(f"{path}: member {name!r} is damaged: its header says {member.shape} {dtype} "
                              f"({member.nbytes} bytes) but the archive declares {info.file_size - offset} bytes")
    return member


def _read_meta(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> dict:
    if info.file_size > _MAX_META_BYTES:
        raise CheckpointError(f"{path}: its metadata declares {info.file_size} bytes, more than the "
                              f"{_MAX_META_BYTES} a checkpoint may hold")
    member = _read_header(zf, info, path)
    if member.dtype != np.uint8 or len(member.shape) != 1:
        raise CheckpointError(f"{path}: its metadata is corrupt (an array of {member.dtype} {member.shape}, "
                              "not bytes)")
    with zf.open(info) as fp:
        fp.read(member.offset)
        raw = fp.read(member.nbytes)
    try:
        meta = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError, as are giant integers
        raise CheckpointError(f"{path}: its metadata is corrupt ({' '.join(str(e).split())[:120]})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: its metadata is corrupt (nested too deeply)") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: not a tinygrad_mlp checkpoint (its metadata is not a JSON object)")
    _check_depth(meta, path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinygrad_mlp checkpoint (format {short(meta.get('format'))})")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path}: invalid checkpoint format_version {short(version)}: it must be an "
                              f"integer from 1 to {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written in checkpoint format {version}, newer than this library reads "
                              f"({FORMAT_VERSION}); upgrade tinygrad_mlp")
    _validate_meta(meta, path)
    return meta


def _check_members(members: dict[str, _Member], meta: dict, path: Path) -> None:
    """Every member must be one the metadata declares, of the shape its architecture implies; and all of them
    must fit in memory. Nothing has been decompressed yet."""
    def fail(message: str):
        raise CheckpointError(f"{path}: {message}")

    params = {k[len("param/"):]: m for k, m in members.items() if k.startswith("param/")}
    stray = sorted(k for k in members if not k.startswith(("param/", "optim/")))
    if stray:
        fail(f"unexpected member {stray[0]!r} (a checkpoint holds only param/, optim/ and meta.json)")
    dtypes = {m.dtype for m in params.values()}
    floats = {d for d in dtypes if d.kind == "f"}  # integer buffers (BatchNorm1d's num_batches_tracked) aside
    if len(floats) > 1 or any(d.kind not in "fiu" for d in dtypes):
        fail(f"the parameters must share one float dtype (integer counters aside), got "
             f"{', '.join(sorted(map(str, dtypes)))}")
    order = sorted(params)
    cfg = meta.get("model")
    if cfg is not None:
        sizes = cfg["sizes"]
        expected: dict[str, tuple] = {}
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            expected[f"layers.{i}.weight"], expected[f"layers.{i}.bias"] = (n_out, n_in), (n_out,)
        arch = "-".join(map(str, sizes))
        missing, unexpected = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
        if missing or unexpected:
            fail(f"its arrays do not fit the architecture {arch} it declares (missing {missing[:4]}, "
                 f"unexpected {unexpected[:4]})")
        for name, shape in expected.items():
            if params[name].shape != shape:
                fail(f"array {name} is {params[name].shape} but the architecture {arch} it declares needs {shape}")
        order = list(expected)
    om = meta.get("optimizer")
    declared = set()
    if om is not None:
        for key, count in om["buffers"].items():
            if cfg is not None and count not in (0, len(order)):
                fail(f"optimizer buffer {key!r} has {count} arrays for {len(order)} parameters")
            for i in range(count):
                name = f"optim/{key}/{i}"
                if name not in members:
                    fail(f"its optimizer state is incomplete (no {name})")
                if cfg is not None and members[name].shape not in (params[order[i]].shape, ()):
                    fail(f"optimizer array {name} is {members[name].shape}, not the shape of "
                         f"{order[i]} {params[order[i]].shape}")
                declared.add(name)
    extra = sorted(k for k in members if k.startswith("optim/") and k not in declared)
    if extra:
        fail(f"unexpected member {extra[0]!r} (not in the optimizer state it declares)")
    # the arrays, then the model built from them: both must fit
    check_memory(2 * sum(m.nbytes for m in members.values()), f"{path}: loading its arrays", CheckpointError)


def _read_array(zf: zipfile.ZipFile, name: str, member: _Member, digest, path: Path) -> np.ndarray:
    """Decompress one member straight into its array, feeding the bytes to ``digest`` on the way."""
    arr = np.empty(member.shape, member.dtype)
    flat = arr.reshape(-1).view(np.uint8)
    digest.update(_array_tag(name, member.dtype, member.shape))
    with zf.open(member.info) as fp:
        fp.read(member.offset)
        pos, n = 0, member.nbytes
        while pos < n:
            chunk = fp.read(min(_CHUNK, n - pos))
            if not chunk:
                raise CheckpointError(f"{path}: member {name!r} is truncated")
            flat[pos:pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            digest.update(chunk)
            pos += len(chunk)
    return arr


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a checkpoint of this library: an archive whose metadata names this format and passes
    its schema. Only the zip directory and ``meta.json`` are read (bounded), never the arrays; used before
    overwriting a file, so that nothing but a checkpoint is replaced by one."""
    def meta_only(zf: zipfile.ZipFile, path: Path) -> dict:
        infos = _member_infos(zf, path)
        if "meta.json" not in infos:
            raise CheckpointError(f"{path}: no meta.json entry")
        return _read_meta(zf, infos["meta.json"], path)

    try:
        _open_archive(Path(path), meta_only)
    except CheckpointError:
        return False
    return True


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint, refusing anything that is not one: pickles, truncated, tampered or malformed files,
    newer formats, arrays that do not fit the declared architecture or memory, non-finite weights.

    Sizes are checked from the zip directory, the ``.npy`` headers and the (schema-validated) metadata before
    any array is decompressed; each array is then read into its own buffer while the checksum is computed, so
    the memory used is the size of what is returned plus small chunks.
    """
    return _open_archive(Path(path), _load_archive)


def read_arrays(path: str | os.PathLike, *, error: type[TinygradMLPError] = CheckpointError) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, by member name (without ``.npy``), read as safely as :func:`load` reads
    a checkpoint but with no metadata required: no pickles or object dtypes, only stored or deflated members,
    the zip directory and each ``.npy`` header checked and the total size checked against the memory available
    before anything is decompressed, each array read straight into its own buffer. Problems raise ``error``
    (a library error class, CheckpointError by default) in one line naming the file. Checksums and schemas are
    the caller's (``tm.load`` and :func:`load` build on this)."""
    try:
        return _open_archive(Path(path), _read_all)
    except CheckpointError as e:
        if error is CheckpointError:
            raise
        raise error(str(e)) from None


def _open_archive(path: Path, read):
    """``read(zipfile, path)`` on the archive at ``path``, every failure a one-line CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror or e})") from None
    with f:
        if f.read(4) != b"PK\x03\x04":
            raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive)")
        try:
            _check_directory(f, path)
            with zipfile.ZipFile(f) as zf:
                return read(zf, path)
        except CheckpointError:
            raise
        except MemoryError:
            raise CheckpointError(f"{path}: ran out of memory while reading it") from None
        except Exception as e:  # anything else a damaged archive makes zipfile, zlib or numpy raise
            raise CheckpointError(f"{path}: not a checkpoint, or damaged/truncated ({type(e).__name__}: "
                                  f"{' '.join(str(e).split())[:120]})") from None


def _read_all(zf: zipfile.ZipFile, path: Path) -> dict[str, np.ndarray]:
    members = {key: _read_header(zf, info, path) for key, info in _member_infos(zf, path).items()}
    check_memory(sum(m.nbytes for m in members.values()), f"{path}: loading its arrays", CheckpointError)
    digest = hashlib.sha256()  # read_array hashes as it goes; here nothing compares the digest
    return {name: _read_array(zf, name, members[name], digest, path) for name in sorted(members)}


def _member_infos(zf: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name without ``.npy``: each an ``.npy`` file, stored or deflated, named once."""
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy") or info.is_dir():
            raise CheckpointError(f"{path}: unexpected member {info.filename!r} (not an .npy array)")
        if info.compress_type not in _METHODS:
            # bzip2 and lzma decompress a whole block (up to hundreds of MB) per read: no bound holds for them
            raise CheckpointError(f"{path}: member {info.filename!r} uses compression method "
                                  f"{info.compress_type}; a checkpoint holds only stored or deflated members "
                                  "(what numpy's savez writes)")
        key = info.filename[:-len(".npy")]
        if key in infos:
            raise CheckpointError(f"{path}: member {key!r} appears twice")
        infos[key] = info
    return infos


def _load_archive(zf: zipfile.ZipFile, path: Path) -> Checkpoint:
    infos = _member_infos(zf, path)
    if "meta.json" not in infos:
        raise CheckpointError(f"{path}: not a tinygrad_mlp checkpoint (no meta.json entry)")
    meta = _read_meta(zf, infos.pop("meta.json"), path)
    members = {key: _read_header(zf, info, path) for key, info in infos.items()}
    _check_members(members, meta, path)
    digest = _meta_digest(meta)
    arrays = {name: _read_array(zf, name, members[name], digest, path) for name in sorted(members)}
    if digest.hexdigest() != meta["checksum"]:
        raise CheckpointError(f"{path}: checksum mismatch, the file was modified or damaged after saving")
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            shown = name[len("param/"):] if name.startswith("param/") else name
            raise CheckpointError(f"{path}: {shown} holds {bad} NaN or infinite value(s) of {a.size}; refusing "
                                  "to load non-finite weights")
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    optimizer = None
    om = meta.get("optimizer")
    if om is not None:
        buffers = {key: [arrays[f"optim/{key}/{i}"] for i in range(n)] for key, n in om["buffers"].items()}
        optimizer = {"class": om["class"], "lr": om["lr"], "steps": om["steps"], "buffers": buffers}
        if "param_groups" in om:
            optimizer["param_groups"] = om["param_groups"]
    return Checkpoint(params=params, model_config=meta.get("model"), metadata=meta.get("metadata", {}),
                      optimizer=optimizer, library_version=meta.get("library_version", ""),
                      module=meta.get("module", "MLP" if meta.get("model") else "Module"))


_M = TypeVar("_M", bound=Module)


@overload
def load_model(path: str | os.PathLike) -> tuple[MLP, Checkpoint]: ...
@overload
def load_model(path: str | os.PathLike, model: _M) -> tuple[_M, Checkpoint]: ...
def load_model(path, model=None):
    """Rebuild the saved ``MLP``, or load the saved weights into ``model`` (a module of your own, built in code as
    the one that was saved; its old ``Sequential`` names ``layers.<i>.`` are read too); returns it with the whole
    :class:`Checkpoint`. A module of your own without ``model=`` is refused in one line naming its class."""
    ckpt = load(path)
    if model is not None:
        if not isinstance(model, Module):
            raise CheckpointError(f"load_model: model must be an nn.Module, got {type(model).__name__}")
        try:
            model.load_state_dict(ckpt.params)
        except (ValueError, TypeError) as e:  # the library's ShapeError/DTypeError/CheckpointError are among them
            raise CheckpointError(f"{path}: the saved weights do not fit the {type(model).__name__} given ({e})") \
                from None
        return model, ckpt
    if not ckpt.model_config:
        raise CheckpointError(f"{path}: holds the weights of a {ckpt.module}, not an MLP that can be rebuilt from "
                              f"the file; build the {ckpt.module} in code and call load_model(path, model=net)")
    try:
        return ckpt.build_model(), ckpt
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"{path}: the saved weights do not fit the saved architecture ({e})") from None
