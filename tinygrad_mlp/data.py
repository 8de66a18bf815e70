"""Data: MNIST / Fashion-MNIST (IDX files, found locally or downloaded), an offline synthetic digit set, batching.

* :func:`read_idx` parses one IDX file (gzip-compressed or raw) into a numpy array.
* :func:`load_mnist` finds the four standard files (``root``, ``$TINYGRAD_MLP_DATA``, the per-user cache) or
  downloads them into the cache with :func:`download_mnist`, verifying each file's SHA-256 before it lands.
* :func:`synthetic_digits` / :func:`load_synthetic` draw MNIST-like 28x28 digits from strokes: no files needed.
* :class:`DataLoader` yields shuffled mini-batches whose order can be saved and resumed.
* :func:`ascii_digit` draws a 28x28 image with characters, for terminals.

Every problem with a data file, or with finding one, raises :class:`~tinygrad_mlp.errors.DataError` (a
``ValueError``) with a one-line message naming the file or folders and what is wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from .errors import DataError, ShapeError

PathLike = Union[str, "os.PathLike[str]"]

# ---------------------------------------------------------------------------------------------------------------------
# Where the datasets come from. Tests (and users behind a proxy mirror) may replace these tables' entries.
# ---------------------------------------------------------------------------------------------------------------------

#: Environment variable naming a folder that holds the four files (the same folder ``--data-dir`` names).
DATA_ENV = "TINYGRAD_MLP_DATA"
#: Environment variable overriding the base of the download cache (``<it>/<kind>``).
CACHE_ENV = "TINYGRAD_MLP_CACHE"

#: The four files of a dataset, in the order load_mnist returns them: train images, train labels, test images,
#: test labels. The same names without ``.gz`` (already decompressed) are accepted too.
MNIST_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

#: Base URLs tried in order for each file (file name appended).
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

#: SHA-256 of each gzip file, checked before a download is moved into place.
#: MNIST: from the dataset's README. Fashion-MNIST publishes only MD5s (train-images 8d4fb7e6c68d591d4c3dfef9ec88bf0d,
#: train-labels 25c81989df183df01b3e8a0aad5dffbe, t10k-images bef4ecab320f06d8554ea6380940ec79, t10k-labels
#: bb300cfdad3c16e7a12a480ee83cd310); the SHA-256s below are those of the files with exactly those MD5s, as recorded
#: by several independent public projects that checked both.
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

_KIND_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_TRAIN_COUNT, _TEST_COUNT, _SIDE = 60000, 10000, 28
_USER_AGENT = "tinygrad_mlp-data/1 (python urllib)"  # some mirrors refuse urllib's default agent
_CHUNK = 1 << 16

# ---------------------------------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------------------------------

# IDX type codes (byte 2 of the magic number); multi-byte types are big-endian on disk.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes (whatever its name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an IDX file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut-off stream is an EOFError
        raise DataError(f"{path}: corrupt gzip data ({e or type(e).__name__})") from None


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw; gzip is recognised by its magic bytes, not the name).

    Returns a writable array of the shape in the file's header (MNIST images: ``(N, 28, 28)`` uint8; labels:
    ``(N,)`` uint8) in native byte order. Raises :class:`DataError` when the magic number is wrong, the type
    code unknown, or the payload is not exactly ``prod(dims) * itemsize`` bytes (truncated or trailing bytes).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: bad IDX magic number 0x{data[:4].hex()} (must start with two zero bytes; "
                        "expected 0x00000803 for images, 0x00000801 for labels)")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX data type code 0x{code:02x} in magic number 0x{data[:4].hex()}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path}: truncated IDX header: expected {header_len} bytes for {ndim} dimensions, "
                        f"got {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    got = len(data) - header_len
    if got < expected:
        raise DataError(f"{path}: truncated: header says {'x'.join(map(str, dims))} {dtype.name} values = "
                        f"{expected} bytes of data, got {got} bytes")
    if got > expected:
        raise DataError(f"{path}: {got - expected} unexpected trailing bytes: header says "
                        f"{'x'.join(map(str, dims))} {dtype.name} values = {expected} bytes of data, got {got}")
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header_len).reshape(dims)
    # frombuffer over immutable bytes is read-only; astype copies into a writable, native-endian array
    return arr.astype(dtype.newbyteorder("="), copy=True)


# ---------------------------------------------------------------------------------------------------------------------
# Finding, downloading and loading MNIST / Fashion-MNIST
# ---------------------------------------------------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in _KIND_NAMES:
        raise DataError(f"unknown dataset kind {kind!r}: expected one of {', '.join(map(repr, _KIND_NAMES))}")
    return kind


def cache_dir(kind: str = "mnist") -> Path:
    """The per-user download folder of a dataset: ``$TINYGRAD_MLP_CACHE/<kind>``, else
    ``$XDG_CACHE_HOME/tinygrad_mlp/<kind>``, else ``~/.cache/tinygrad_mlp/<kind>``. It is not created here."""
    _check_kind(kind)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser() / kind
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"  # XDG: relative paths are invalid
    return base / "tinygrad_mlp" / kind


def search_dirs(root: PathLike | None = None, kind: str = "mnist") -> list[Path]:
    """The folders :func:`load_mnist` looks in, in order: ``root``; ``$TINYGRAD_MLP_DATA`` (for MNIST the folder
    itself, then its ``mnist`` subfolder; for Fashion-MNIST only its ``fashion-mnist`` subfolder, since both sets
    use the same file names); the download cache."""
    _check_kind(kind)
    dirs: list[Path] = []
    if root is not None:
        dirs.append(Path(root).expanduser())
    env = os.environ.get(DATA_ENV)
    if env:
        env_dir = Path(env).expanduser()
        dirs += [env_dir, env_dir / "mnist"] if kind == "mnist" else [env_dir / kind]
    dirs.append(cache_dir(kind))
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _find_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` or, failing that, the same file decompressed (``name`` without ``.gz``)."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _folder_status(folder: Path) -> str:
    """A few words on why a folder was not used, for error messages."""
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "not a folder"
    missing = [n for n in MNIST_FILES if _find_file(folder, n) is None]
    return f"missing {', '.join(missing)}" if len(missing) < len(MNIST_FILES) else "has none of the files"


def _short_error(e: BaseException) -> str:
    """One short phrase for a failed download."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}".strip()
    if isinstance(e, urllib.error.URLError):
        reason = e.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return "timed out"
        return str(getattr(reason, "strerror", None) or reason)
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(e, http.client.IncompleteRead):
        return f"connection closed early ({len(e.partial)} bytes read, {e.expected} more expected)"
    return str(e) or type(e).__name__


def _connection_failed(e: BaseException) -> bool:
    """True when the mirror itself is unreachable (not a per-file problem like a 404), so later files skip it."""
    if isinstance(e, urllib.error.HTTPError):
        return False
    if isinstance(e, urllib.error.URLError):
        return True
    return isinstance(e, (socket.timeout, TimeoutError, ConnectionError))


def _download_one(url: str, dest: Path, sha256: str | None, timeout: float, progress: bool | None) -> None:
    """Stream ``url`` to a temporary file beside ``dest``, check its length and SHA-256, then ``os.replace`` it
    into place. On any failure the temporary file is removed and the exception propagates."""
    from tqdm.auto import tqdm  # imported here: only downloads need it

    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            digest = hashlib.sha256()
            got = 0
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name, leave=False,
                      disable=None if progress is None else not progress) as bar:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            if total is not None and got != total:
                raise DataError(f"{url}: truncated download: expected {total} bytes, got {got}")
            out.flush()
            os.fsync(out.fileno())  # the bytes are on disk before the rename makes them visible
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise DataError(f"{url}: SHA-256 mismatch: expected {sha256[:12]}..., got {digest.hexdigest()[:12]}...")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a wrong or half-written file never stays behind, even on Ctrl-C
        raise


def _manual_hint(kind: str) -> str:
    return (f"To supply the files by hand, put {', '.join(MNIST_FILES)} (gzipped or not) from any "
            f"{_KIND_NAMES[kind]} mirror into one folder and set {DATA_ENV}=<folder> or pass --data-dir <folder>.")


def download_mnist(dest: PathLike | None = None, kind: str = "mnist", *, mirrors: Sequence[str] | None = None,
                   checksums: Mapping[str, str] | None = None, timeout: float = 30.0,
                   progress: bool | None = None) -> Path:
    """Download whichever of the four files ``dest`` (default: :func:`cache_dir` of ``kind``) lacks, trying each
    mirror in order, and return ``dest``.

    ``mirrors`` defaults to ``MIRRORS[kind]`` and ``checksums`` (file name -> SHA-256) to ``SHA256[kind]``. A file
    lands only after its SHA-256 matched (a mismatch, 404, timeout or cut-off transfer moves on to the next mirror).
    A mirror that cannot be reached at all is not tried again for the remaining files. Raises :class:`DataError`
    listing every URL tried, with its error, when some file could not be obtained from any mirror.
    """
    _check_kind(kind)
    folder = Path(dest).expanduser() if dest is not None else cache_dir(kind)
    mirror_list = list(MIRRORS[kind] if mirrors is None else mirrors)
    sums = SHA256[kind] if checksums is None else checksums
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{folder}: cannot create the download folder ({e.strerror or e})") from None
    unreachable: set[str] = set()
    for name in MNIST_FILES:
        if _find_file(folder, name) is not None:
            continue
        tried: list[str] = []
        for base in mirror_list:
            url = urllib.parse.urljoin(base if base.endswith("/") else base + "/", name)
            if base in unreachable:
                tried.append(f"{url} (skipped: mirror unreachable)")
                continue
            try:
                _download_one(url, folder / name, sums.get(name), timeout, progress)
                break
            except (OSError, http.client.HTTPException, DataError, ValueError) as e:  # URLError is an OSError
                tried.append(f"{url} ({_short_error(e)})")
                if _connection_failed(e):
                    unreachable.add(base)
        else:
            what = "; ".join(tried) if tried else "no mirrors configured"
            raise DataError(f"could not download {name} for {_KIND_NAMES[kind]} into {folder}: tried {what}. "
                            + _manual_hint(kind))
    return folder


def _other_kind_sha(path: Path, kind: str) -> str | None:
    """The other dataset's name when a gzip file is byte-for-byte that dataset's file (same names in both)."""
    if path.suffix != ".gz":
        return None
    others = [k for k in SHA256 if k != kind and SHA256[k].get(path.name)]
    if not others:
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for k in others:
        if SHA256[k][path.name] == digest:
            return _KIND_NAMES.get(k, k)
    return None


def _load_split(images_path: Path, labels_path: Path, count: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    for p in (images_path, labels_path):
        other = _other_kind_sha(p, kind)
        if other is not None:
            raise DataError(f"{p}: this is the {other} file, not {_KIND_NAMES[kind]}")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{images_path}: expected uint8 images of 3 dimensions (magic 0x00000803), "
                        f"got {images.dtype} with {images.ndim} dimensions")
    if images.shape != (count, _SIDE, _SIDE):
        raise DataError(f"{images_path}: expected {count} images of {_SIDE}x{_SIDE}, "
                        f"got {images.shape[0]} of {images.shape[1]}x{images.shape[2]}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{labels_path}: expected uint8 labels of 1 dimension (magic 0x00000801), "
                        f"got {labels.dtype} with {labels.ndim} dimensions")
    if labels.shape[0] != count:
        raise DataError(f"{labels_path}: expected {count} labels, got {labels.shape[0]}")
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: labels must be 0..9, found {int(labels.max())}")
    x = images.reshape(count, _SIDE * _SIDE).astype(np.float32)
    np.divide(x, np.float32(255), out=x)  # exact division keeps 255 -> 1.0 (a multiply by 1/255 may not)
    return x, labels.astype(np.int64)


def load_mnist(root: PathLike | None = None, download: bool = True, kind: str = "mnist", *,
               mirrors: Sequence[str] | None = None, checksums: Mapping[str, str] | None = None,
               timeout: float = 30.0, progress: bool | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST (``kind="mnist"``) or Fashion-MNIST (``kind="fashion-mnist"``).

    Returns ``(x_train, y_train, x_test, y_test)``: ``x_*`` float32 in [0, 1] of shape ``(60000, 784)`` and
    ``(10000, 784)`` (rows of 28x28 pixels, flattened), ``y_*`` int64 of shape ``(60000,)`` and ``(10000,)``.

    The first folder of :func:`search_dirs` holding all four files is used. If none does and ``download`` is
    true, the missing files are downloaded into :func:`cache_dir` (see :func:`download_mnist` for ``mirrors``,
    ``checksums``, ``timeout`` and ``progress``; ``progress=None`` shows a bar only on a terminal). Raises
    :class:`DataError` naming the folders searched (and the URLs tried) when the files cannot be had, or naming
    the file when one is corrupt or not the expected shape.
    """
    _check_kind(kind)
    dirs = search_dirs(root, kind)
    folder = next((d for d in dirs if d.is_dir() and all(_find_file(d, n) for n in MNIST_FILES)), None)
    if folder is None:
        searched = "; ".join(f"{d} ({_folder_status(d)})" for d in dirs)
        title = _KIND_NAMES[kind]
        if not download:
            raise DataError(f"{title} files not found and download=False. Searched: {searched}. "
                            + _manual_hint(kind))
        try:
            folder = download_mnist(cache_dir(kind), kind, mirrors=mirrors, checksums=checksums, timeout=timeout,
                                    progress=progress)
        except DataError as e:
            raise DataError(f"{title} files not found locally and the download failed. Searched: {searched}. "
                            f"Download: {e}") from None
    paths = [_find_file(folder, n) for n in MNIST_FILES]
    assert all(p is not None for p in paths)  # checked (or downloaded) above
    x_train, y_train = _load_split(paths[0], paths[1], _TRAIN_COUNT, kind)  # type: ignore[arg-type]
    x_test, y_test = _load_split(paths[2], paths[3], _TEST_COUNT, kind)  # type: ignore[arg-type]
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------------------------------------------------
# Synthetic digits: drawn from strokes, no files needed
# ---------------------------------------------------------------------------------------------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> list[tuple[float, float]]:
    """Points on an elliptical arc in the unit box (y grows downwards; angles in degrees, 90 = top,
    counter-clockwise as seen on screen)."""
    t = np.radians(np.linspace(a0, a1, n + 1))
    return [(cx + rx * math.cos(a), cy - ry * math.sin(a)) for a in t]


# Each digit: a list of (polyline, probability the stroke is drawn). Coordinates in a unit box, x right, y down,
# the digit spanning y from 0 to 1 (the box maps to ~20x20 pixels, like MNIST's size normalisation).
_DIGIT_STROKES: list[list[tuple[list[tuple[float, float]], float]]] = [
    # 0: an ellipse
    [(_arc(0.5, 0.5, 0.3, 0.5, 90, 450, 12), 1.0)],
    # 1: a vertical bar, sometimes with a flag at the top
    [([(0.52, 0.0), (0.48, 1.0)], 1.0), ([(0.32, 0.2), (0.52, 0.0)], 0.45)],
    # 2: a hook over the top, a diagonal down to the left, a base bar
    [(_arc(0.5, 0.28, 0.3, 0.27, 165, -35, 6) + [(0.17, 1.0), (0.85, 1.0)], 1.0)],
    # 3: two bumps opening to the left
    [(_arc(0.47, 0.25, 0.28, 0.25, 150, -90, 6), 1.0), (_arc(0.47, 0.74, 0.32, 0.26, 90, -150, 6), 1.0)],
    # 4: a diagonal to the left, a bar across, a stem
    [([(0.6, 0.0), (0.12, 0.66), (0.88, 0.66)], 1.0), ([(0.66, 0.12), (0.64, 1.0)], 1.0)],
    # 5: a top bar, a short stem, a bowl opening to the left
    [([(0.82, 0.0), (0.3, 0.0), (0.25, 0.44)] + _arc(0.48, 0.7, 0.33, 0.3, 130, -150, 7), 1.0)],
    # 6: a curve down from the top right into a loop at the bottom
    [([(0.75, 0.02), (0.45, 0.17), (0.26, 0.42)] + _arc(0.5, 0.72, 0.3, 0.28, 180, -180, 10), 1.0)],
    # 7: a top bar and a diagonal, sometimes crossed
    [([(0.13, 0.0), (0.87, 0.0), (0.42, 1.0)], 1.0), ([(0.4, 0.52), (0.78, 0.52)], 0.2)],
    # 8: two loops
    [(_arc(0.5, 0.25, 0.25, 0.25, -90, 270, 10), 1.0), (_arc(0.5, 0.74, 0.3, 0.26, 90, 450, 10), 1.0)],
    # 9: a loop at the top and a stem
    [(_arc(0.48, 0.28, 0.28, 0.28, 0, 360, 10), 1.0), ([(0.76, 0.28), (0.68, 1.0)], 1.0)],
]


def _digit_geometry() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per digit: its points (P, 2), each segment's two point indices (S, 2), each segment's stroke index (S,),
    and each stroke's drawing probability."""
    out = []
    for strokes in _DIGIT_STROKES:
        points, segs, seg_stroke, probs = [], [], [], []
        for k, (line, p) in enumerate(strokes):
            start = len(points)
            points += line
            segs += [(start + i, start + i + 1) for i in range(len(line) - 1)]
            seg_stroke += [k] * (len(line) - 1)
            probs.append(p)
        out.append((np.array(points, np.float32), np.array(segs), np.array(seg_stroke), np.array(probs)))
    return out


_GEOMETRY = _digit_geometry()
_PIXELS = np.arange(_SIDE, dtype=np.float32)


def _render_class(points: np.ndarray, segs: np.ndarray, seg_on: np.ndarray, half_width: np.ndarray,
                  chunk: int = 256) -> np.ndarray:
    """Anti-aliased thick polylines: ``points`` (n, P, 2) in pixel coordinates, ``segs`` (S, 2) point indices,
    ``seg_on`` (n, S) which segments are drawn, ``half_width`` (n,). Returns ink in [0, 1] of shape (n, 28, 28)."""
    n = points.shape[0]
    out = np.empty((n, _SIDE, _SIDE), np.float32)
    px = _PIXELS[None, None, None, :]  # columns
    py = _PIXELS[None, None, :, None]  # rows
    for lo in range(0, n, chunk):  # chunks keep the (m, S, 28, 28) temporaries small
        p = points[lo:lo + chunk]
        a, b = p[:, segs[:, 0]], p[:, segs[:, 1]]  # (m, S, 2)
        d = b - a
        inv_len2 = 1.0 / np.maximum((d * d).sum(-1), 1e-6)
        ax, ay = a[..., 0, None, None], a[..., 1, None, None]
        dx, dy = d[..., 0, None, None], d[..., 1, None, None]
        # distance from every pixel centre to every segment: project onto the segment, clamp to its ends
        wx = px - ax  # (m, S, 1, 28)
        wy = py - ay  # (m, S, 28, 1)
        t = wx * dx + wy * dy
        t *= inv_len2[..., None, None]
        np.clip(t, 0.0, 1.0, out=t)
        ex = wx - t * dx
        ey = wy - t * dy
        ex *= ex
        ey *= ey
        ex += ey
        # segments of strokes left out this time count as infinitely far away
        ex[~seg_on[lo:lo + chunk]] = np.inf
        dist = np.sqrt(ex.min(axis=1))  # (m, 28, 28)
        # ink falls off linearly over about one pixel at the stroke's edge (anti-aliasing)
        out[lo:lo + chunk] = np.clip(half_width[lo:lo + chunk, None, None] + 0.5 - dist, 0.0, 1.0)
    return out


def synthetic_digits(n: int, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` MNIST-like handwritten-looking digits, with no files or network needed.

    Each digit is a few strokes (lines and arcs) rendered as anti-aliased thick lines, with random stroke width,
    slant, rotation, scale, aspect, shift, a gentle warp, and a little pixel noise: white ink on black, the digit
    in about a 20x20 box centred in 28x28. Labels are drawn uniformly at random.

    Returns ``(x, y)``: ``x`` float32 in [0, 1] of shape ``(n, 784)`` (28x28 rows flattened), ``y`` int64 of
    shape ``(n,)`` with values 0..9. The same ``seed`` always gives the same images.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"synthetic_digits: n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    # per-image affine parameters (all drawn up front so the result does not depend on rendering order)
    aspect = rng.uniform(0.8, 1.15, n)  # width / height
    slant = rng.normal(0.08, 0.18, n)  # shear: positive leans the top to the right, as most handwriting does
    angle = np.radians(rng.normal(0.0, 7.0, n))
    half_width = rng.uniform(0.7, 1.6, n).astype(np.float32)
    # like MNIST's normalisation: the larger side of the ink fits a ~20 px box (some digits drawn a bit smaller)
    extent = 20.0 - 2 * half_width - rng.uniform(0.0, 3.0, n)
    shift = rng.normal(0.0, 0.8, (n, 2))
    gain = rng.uniform(0.85, 1.0, n).astype(np.float32)
    warp_amp = rng.normal(0.0, 0.04, (n, 2))
    warp_phase = rng.uniform(0.0, 2 * np.pi, (n, 2))

    cos, sin = np.cos(angle), np.sin(angle)
    # M = R(angle) @ Shear(slant) @ diag(aspect, 1), applied to (u - 0.5); rows are output x, y
    m00 = cos * aspect
    m01 = cos * -slant - sin
    m10 = sin * aspect
    m11 = sin * -slant + cos

    x = np.empty((n, _SIDE, _SIDE), np.float32)
    for digit, (pts, segs, seg_stroke, probs) in enumerate(_GEOMETRY):
        idx = np.flatnonzero(y == digit)
        if idx.size == 0:
            continue
        k = idx.size
        u = np.broadcast_to(pts, (k,) + pts.shape).astype(np.float64)  # (k, P, 2)
        # a smooth warp (one sine wave across each axis) plus a slight wobble of every control point
        wa, wp = warp_amp[idx], warp_phase[idx]
        u = u + np.stack([wa[:, None, 0] * np.sin(2 * np.pi * u[..., 1] + wp[:, None, 0]),
                          wa[:, None, 1] * np.sin(2 * np.pi * u[..., 0] + wp[:, None, 1])], axis=-1)
        u = u + rng.normal(0.0, 0.015, u.shape)
        cu, cv = u[..., 0] - 0.5, u[..., 1] - 0.5
        p = np.stack([m00[idx, None] * cu + m01[idx, None] * cv, m10[idx, None] * cu + m11[idx, None] * cv], -1)
        # scale the stroke centre-lines' bounding box to this image's extent, then centre it (plus a small shift
        # that never pushes ink into the outer two pixels)
        lo, hi = p.min(axis=1), p.max(axis=1)  # (k, 2)
        p *= (extent[idx] / (hi - lo).max(axis=1))[:, None, None]
        lo, hi = p.min(axis=1), p.max(axis=1)
        slack = np.maximum((23.0 - 2 * half_width[idx, None] - (hi - lo)) / 2, 0.0)  # ink stays in rows 2..25
        p += (13.5 + np.clip(shift[idx], -slack, slack) - (lo + hi) / 2)[:, None, :]
        stroke_on = rng.random((k, probs.size)) < probs
        x[idx] = _render_class(p.astype(np.float32), segs, stroke_on[:, seg_stroke], half_width[idx])
    x *= gain[:, None, None]
    x += rng.normal(0.0, 0.03, x.shape).astype(np.float32) * (x > 0)  # noise on the ink only: background stays 0
    np.clip(x, 0.0, 1.0, out=x)
    return x.reshape(n, _SIDE * _SIDE), y


def load_synthetic(n_train: int = 10000, n_test: int = 2000, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic stand-in for :func:`load_mnist`: ``(x_train, y_train, x_test, y_test)`` with the same dtypes and
    layout (``x`` float32 ``(N, 784)`` in [0, 1], ``y`` int64 ``(N,)``). Train and test use independent random
    streams derived from ``seed``."""
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    x_train, y_train = synthetic_digits(n_train, train_seed)
    x_test, y_test = synthetic_digits(n_test, test_seed)
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------------------------------


class DataLoader:
    """Mini-batches ``(xb, yb)`` of numpy arrays, in a new random order every epoch.

    Each ``for xb, yb in loader`` is one epoch. The order comes from the loader's own ``np.random.Generator``
    (seeded by ``seed``), so epoch k's order is fixed by the seed. The last, smaller batch is kept unless
    ``drop_last``. :meth:`state_dict` records the epoch, the next batch and the generator state (plain ints and
    strings, JSON-friendly); after :meth:`load_state_dict` the next iteration resumes that epoch at that batch,
    in the same order, so an interrupted run continues on the same data. Without a load, every new iteration
    starts a new epoch (an abandoned epoch is not resumed).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                 seed: int | None = None, drop_last: bool = False) -> None:
        self.x, self.y = np.asarray(x), np.asarray(y)
        if self.x.ndim == 0 or self.y.ndim == 0:
            raise DataError(f"DataLoader: x and y must be arrays of samples, got shapes {self.x.shape} and "
                            f"{self.y.shape}")
        if len(self.x) != len(self.y):
            raise DataError(f"DataLoader: x has {len(self.x)} samples but y has {len(self.y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise DataError(f"DataLoader: batch_size must be an integer >= 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._epoch = 0  # index of the epoch the next fresh iteration starts
        self._current: dict[str, Any] | None = None  # the epoch in progress: epoch, next batch, rng state at start
        self._resume: dict[str, Any] | None = None  # set by load_state_dict, consumed by the next iteration

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def epoch(self) -> int:
        """Number of epochs started so far (the index the next fresh epoch will have)."""
        return self._epoch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self._resume is not None:
            epoch, start = self._resume["epoch"], self._resume["batch"]
            self._rng.bit_generator.state = self._resume["rng_state"]
            self._resume = None
        else:
            epoch, start = self._epoch, 0
        rng_state = self._rng.bit_generator.state
        n = len(self.x)
        order = self._rng.permutation(n) if self.shuffle else None
        self._epoch = epoch + 1
        self._current = {"epoch": epoch, "batch": start, "rng_state": rng_state}
        current = self._current
        nb = len(self)
        for i in range(start, nb):
            lo, hi = i * self.batch_size, min((i + 1) * self.batch_size, n)
            current["batch"] = i + 1  # updated before yielding: a state saved after using batch i resumes at i+1
            if order is None:
                yield self.x[lo:hi], self.y[lo:hi]
            else:
                idx = order[lo:hi]
                yield self.x[idx], self.y[idx]
        if self._current is current:
            self._current = None

    def state_dict(self) -> dict[str, Any]:
        """Where the data stream is: ``{"epoch", "batch", "rng_state", "n", "batch_size", "drop_last", "shuffle"}``.
        ``batch`` is the next batch of ``epoch`` to yield; ``rng_state`` the generator state that epoch's order
        is drawn from. Plain Python values (JSON-serialisable)."""
        if self._resume is not None:
            pos = dict(self._resume)
        elif self._current is not None and self._current["batch"] < len(self):
            pos = dict(self._current)
        else:
            pos = {"epoch": self._epoch, "batch": 0, "rng_state": self._rng.bit_generator.state}
        return {"epoch": int(pos["epoch"]), "batch": int(pos["batch"]), "rng_state": _plain(pos["rng_state"]),
                "n": len(self.x), "batch_size": self.batch_size, "drop_last": self.drop_last,
                "shuffle": self.shuffle}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Make the next iteration resume where :meth:`state_dict` was taken. Raises :class:`DataError` if the
        state does not fit this loader (another dataset size or batch size) or is malformed."""
        try:
            epoch, batch, rng_state = int(state["epoch"]), int(state["batch"]), dict(state["rng_state"])
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"DataLoader.load_state_dict: malformed state ({type(e).__name__}: {e})") from None
        for key, mine in (("n", len(self.x)), ("batch_size", self.batch_size), ("drop_last", self.drop_last),
                          ("shuffle", self.shuffle)):
            if key in state and state[key] != mine:
                raise DataError(f"DataLoader.load_state_dict: state has {key}={state[key]!r}, this loader {mine!r}")
        if epoch < 0 or not 0 <= batch <= len(self):
            raise DataError(f"DataLoader.load_state_dict: epoch {epoch} / batch {batch} out of range "
                            f"({len(self)} batches per epoch)")
        probe = np.random.default_rng()
        try:
            probe.bit_generator.state = rng_state  # validate before touching our own generator
        except (TypeError, ValueError, KeyError) as e:
            raise DataError(f"DataLoader.load_state_dict: bad rng_state ({e})") from None
        self._resume = {"epoch": epoch, "batch": batch, "rng_state": rng_state}
        self._current = None
        self._epoch = epoch


def _plain(obj: Any) -> Any:
    """A deep copy with numpy scalars turned into Python ones, so states survive JSON."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# ---------------------------------------------------------------------------------------------------------------------
# Terminal display
# ---------------------------------------------------------------------------------------------------------------------

_RAMP = " .:-=+*#%@"


def ascii_digit(image: np.ndarray, double_width: bool = True) -> str:
    """Draw a 28x28 image (784 values, flat or 28x28; floats in [0, 1] or uint8 0..255) with the characters
    ``" .:-=+*#%@"``, dark to bright. Returns 28 lines joined by newlines; each pixel is two characters wide
    when ``double_width`` (terminal cells are about twice as tall as wide)."""
    a = np.asarray(image)
    if a.size != _SIDE * _SIDE:
        raise ShapeError(f"ascii_digit: expected 784 values (28x28), got shape {a.shape}")
    a = a.reshape(_SIDE, _SIDE).astype(np.float64)
    if np.issubdtype(np.asarray(image).dtype, np.integer):
        a = a / 255.0
    a = np.nan_to_num(np.clip(a, 0.0, 1.0))
    levels = np.minimum((a * len(_RAMP)).astype(int), len(_RAMP) - 1)
    w = 2 if double_width else 1
    return "\n".join("".join(_RAMP[v] * w for v in row) for row in levels)
