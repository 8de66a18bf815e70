"""Hostile files for the tests of issue 15, made fast and small on disk: zip and gzip bombs (gigabytes when
decompressed, a few megabytes stored, written in well under a second), sparse files, re-signed metadata.

A deflate stream that is fully flushed after each chunk compresses every identical chunk to identical bytes,
so a bomb of N identical 16 MiB chunks is one compression of a chunk repeated N times.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from tinygrad_mlp import checkpoint
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.optim import Adam

CHUNK = 16 << 20
MiB, GiB = 1 << 20, 1 << 30


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def npy_header(dtype, shape) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                               "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def deflate_bomb(prefix: bytes, chunks: int) -> tuple[bytes, int, int]:
    """A raw deflate stream of ``prefix`` and ``chunks`` x 16 MiB of zeros: (stream, crc32, uncompressed size)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(CHUNK)
    first = c.compress(prefix + zeros) + c.flush(zlib.Z_FULL_FLUSH)
    repeat = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush()
    crc = zlib.crc32(prefix)
    for _ in range(chunks):
        crc = zlib.crc32(zeros, crc)
    return first + repeat * (chunks - 1) + end, crc, len(prefix) + chunks * CHUNK


def write_zip(path: Path, members: list[tuple[str, bytes]], bombs: list[tuple[str, bytes, int, int]] = ()) -> Path:
    """A zip of stored ``members`` (name, data) and deflated ``bombs`` (name, stream, crc, size), by hand."""
    out, directory = io.BytesIO(), []
    entries = [(name, 0, zlib.crc32(data), data, len(data)) for name, data in members]
    entries += [(name, 8, crc, stream, size) for name, stream, crc, size in bombs]
    for name, method, crc, data, size in entries:
        offset = out.tell()
        raw_name = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), size,
                              len(raw_name), 0) + raw_name)
        out.write(data)
        directory.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data), size,
                                     len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name)
    start = out.tell()
    for d in directory:
        out.write(d)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), out.tell() - start,
                          start, 0))
    path.write_bytes(out.getvalue())
    return path


def genuine(path: Path, sizes=(784, 16, 10), optimizer: bool = True, **metadata) -> tuple[Path, int]:
    """A real checkpoint of MLP(sizes) (with Adam's state); returns it and the bytes of its arrays."""
    model = MLP(list(sizes), seed=0)
    opt = Adam(model.parameters(), lr=1e-3) if optimizer else None
    checkpoint.save(model, path, optimizer=opt, **metadata)
    return path, sum(a.nbytes for a in read_members(path).values() if a is not None)


def read_members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def meta_of(arrays: dict[str, np.ndarray]) -> dict:
    return json.loads(arrays["meta.json"].tobytes().decode())


def resign(arrays: dict[str, np.ndarray], meta: dict) -> dict[str, np.ndarray]:
    """``arrays`` with ``meta`` as metadata and the checksum recomputed (as anyone can: it is not a signature)."""
    meta = dict(meta)
    meta["checksum"] = checkpoint._checksum({k: v for k, v in arrays.items() if k != "meta.json"}, meta)
    out = dict(arrays)
    out["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return out


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def checkpoint_zip_bomb(path: Path, good: Path, chunks: int = 128) -> Path:
    """``good``'s members plus an extra member of ``chunks`` x 16 MiB of zeros (2 GiB by default), as the issue's
    ``savez_compressed`` member; a few hundred kB on disk."""
    with zipfile.ZipFile(good) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    header = npy_header(np.float32, (chunks * CHUNK // 4,))
    stream, crc, size = deflate_bomb(header, chunks)
    return write_zip(path, members, [("extra.npy", stream, crc, size)])


def member_bomb(path: Path, good: Path, name: str = "param/layers.0.weight", chunks: int = 49) -> Path:
    """``good`` with one genuine member replaced by a bomb of the same name and dtype but a giant shape
    (rows of 784 float32: 49 chunks of 16 MiB are exactly 262144 rows)."""
    with zipfile.ZipFile(good) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist() if info.filename != name + ".npy"]
    header = npy_header(np.float32, (chunks * CHUNK // 4 // 784, 784))
    stream, crc, size = deflate_bomb(header, chunks)
    return write_zip(path, members, [(name + ".npy", stream, crc, size)])


def idx_bytes(values: np.ndarray, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, values.ndim]) + struct.pack(f">{values.ndim}I", *values.shape) + values.tobytes()


def idx_gzip_bomb(path: Path, values: np.ndarray, copies: int = 32) -> Path:
    """A valid gzip IDX file of ``values`` followed by ``copies`` gzip members of 16 MiB of zeros each."""
    zeros_member = gzip.compress(bytes(CHUNK), compresslevel=9)
    path.write_bytes(gzip.compress(idx_bytes(values), compresslevel=1) + zeros_member * copies)
    return path


def sparse_idx(path: Path, dims: tuple[int, ...], size: int) -> Path:
    """A raw IDX header of uint8 ``dims``, the file then extended (sparsely: no disk used) to ``size`` bytes."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims))
        f.truncate(size)
    return path


def fake_mnist(folder: Path, bad_label: bool = False) -> Path:
    """The four MNIST files, raw and sparse (all-zero images take no disk), labels 0..9 (one 10 if ``bad_label``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, count in (("train", 60000), ("t10k", 10000)):
        sparse_idx(folder / f"{name}-images-idx3-ubyte", (count, 28, 28), 16 + count * 784)
        labels = (np.arange(count) % 10).astype(np.uint8)
        if bad_label and name == "train":
            labels[5] = 10
        (folder / f"{name}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    return folder
