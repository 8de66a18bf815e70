"""MNIST and Fashion-MNIST files: the IDX format, finding the four files, downloading and verifying them."""


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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Union

import numpy as np

from .._guard import check_memory
from ..errors import DataError, DataNotFoundError

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
_TRAIN_COUNT, _TEST_COUNT = 60000, 10000
#: Height and width of an MNIST image, in pixels.
IMAGE_SIDE = 28
_USER_AGENT = "tinygrad_mlp-data/1 (python urllib)"  # some mirrors refuse urllib's default agent
_CHUNK = 1 << 16
_MAX_HASHED = 64 << 20  # bytes: a larger .gz cannot be one of the known files, so it is not hashed to find out
#: The most bytes a download may bring (the largest known file, Fashion-MNIST's train images, is 26 MB): an
#: endless or oversized response is cut off here rather than filling the disk before its checksum fails.
MAX_DOWNLOAD_BYTES = _MAX_HASHED

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


def _open_idx(path: Path):
    """The open file, whether it is gzip (by its magic bytes, whatever its name) and its size on disk."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an IDX file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        size = os.fstat(f.fileno()).st_size
        is_gzip = f.read(2) == b"\x1f\x8b"
        f.seek(0)
    except OSError as e:
        f.close()
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    return f, is_gzip, size


def _read_up_to(stream, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream)."""
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _read_idx(path: PathLike, check: Callable[[np.dtype, tuple[int, ...]], None] | None = None) -> np.ndarray:
    """:func:`read_idx`, calling ``check(dtype, dims)`` on the header before the payload is read."""
    path = Path(path)
    f, is_gzip, size = _open_idx(path)
    with f:
        stream = gzip.GzipFile(fileobj=f, mode="rb") if is_gzip else f
        try:
            return _read_idx_stream(path, stream, None if is_gzip else size, check)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut-off stream is an EOFError
            if not is_gzip:
                raise DataError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
            raise DataError(f"{path}: corrupt gzip data ({e or type(e).__name__})") from None


def _read_idx_stream(path: Path, stream, raw_size: int | None, check) -> np.ndarray:
    head = _read_up_to(stream, 4)
    if len(head) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(head)} bytes)")
    if head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: bad IDX magic number 0x{head.hex()} (must start with two zero bytes; "
                        "expected 0x00000803 for images, 0x00000801 for labels)")
    code, ndim = head[2], head[3]
    if code not in _IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX data type code 0x{code:02x} in magic number 0x{head.hex()}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    dims_raw = _read_up_to(stream, 4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header: expected {header_len} bytes for {ndim} dimensions, "
                        f"got {4 + len(dims_raw)}")
    dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
    dtype = _IDX_DTYPES[code]
    if check is not None:
        check(dtype, dims)
    expected = math.prod(dims) * dtype.itemsize
    said = f"header says {'x'.join(map(str, dims))} {dtype.name} values = {expected} bytes of data"
    if raw_size is not None:  # an uncompressed file: its size tells everything before a byte of data is read
        got = raw_size - header_len
        if got < expected:
            raise DataError(f"{path}: truncated: {said}, got {got} bytes")
        if got > expected:
            raise DataError(f"{path}: {got - expected} unexpected trailing bytes: {said}, got {got}")
    check_memory(expected, f"{path}: its data ({'x'.join(map(str, dims))} {dtype.name} values)", DataError)
    if raw_size is not None:  # the file holds exactly that many bytes: read them into the array
        arr = np.empty(dims, dtype=dtype)
        flat = arr.reshape(-1).view(np.uint8)
        pos = 0
        while pos < expected:
            chunk = stream.read(min(_CHUNK * 16, expected - pos))
            if not chunk:
                raise DataError(f"{path}: truncated: {said}, got {pos} bytes")
            flat[pos:pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            pos += len(chunk)
    else:  # gzip: nothing says the stream holds what the header claims, so grow with what really arrives
        buf = bytearray()
        while len(buf) < expected:
            chunk = stream.read(min(_CHUNK * 16, expected - len(buf)))
            if not chunk:
                raise DataError(f"{path}: truncated: {said}, got {len(buf)} bytes")
            buf += chunk
        arr = np.frombuffer(buf, dtype=dtype).reshape(dims)  # no copy: a bytearray's buffer is writable
    if raw_size is None:  # gzip: look past the end without decompressing more than a bounded amount
        extra, cap = 0, _CHUNK * 16
        while extra <= cap:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            extra += len(chunk)
        if extra:
            count = f"more than {cap}" if extra > cap else str(extra)
            raise DataError(f"{path}: {count} unexpected trailing bytes after the data: {said}")
    return arr.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw; gzip is recognised by its magic bytes, not the name).

    Returns a writable array of the shape in the file's header (MNIST images: ``(N, 28, 28)`` uint8; labels:
    ``(N,)`` uint8) in native byte order. Raises :class:`DataError` when the magic number is wrong, the type
    code unknown, or the payload is not exactly ``prod(dims) * itemsize`` bytes (truncated or trailing bytes).
    The header is read first: a raw file's size is compared with it before any data is read, and a gzip
    stream is decompressed only up to what the header declares (plus a bounded look for trailing bytes), so a
    small file cannot make it allocate more than its header declares, nor more than the machine has.
    """
    return _read_idx(path)


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
    """The folders :func:`load_mnist` may read, in order: ``root`` alone when given; else ``$TINYGRAD_MLP_DATA``
    when set (for MNIST the folder itself, then its ``mnist`` subfolder; for Fashion-MNIST only its
    ``fashion-mnist`` subfolder, since both sets use the same file names), then the download cache (which a set
    ``$TINYGRAD_MLP_DATA`` without MNIST never reaches: see :func:`find_mnist`)."""
    _check_kind(kind)
    if root is not None:
        return [Path(root).expanduser()]
    dirs: list[Path] = []
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
            if total is not None and total > MAX_DOWNLOAD_BYTES:
                raise DataError(f"{url}: announces {total} bytes, more than any MNIST file ({MAX_DOWNLOAD_BYTES} "
                                "at most); not downloaded")
            digest = hashlib.sha256()
            got = 0
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name, leave=False,
                      disable=None if progress is None else not progress) as bar:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
                    if got > MAX_DOWNLOAD_BYTES:
                        raise DataError(f"{url}: the response passed {MAX_DOWNLOAD_BYTES} bytes, more than any "
                                        f"{_KIND_NAMES.get(dest.parent.name, 'MNIST')} file; download abandoned")
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
    try:
        if path.stat().st_size > _MAX_HASHED:  # the real files are about 10 MB; never hash a huge one
            return None
        hasher = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK * 16):
                hasher.update(chunk)
    except OSError:
        return None  # read_idx reports an unreadable file
    digest = hasher.hexdigest()
    for k in others:
        if SHA256[k][path.name] == digest:
            return _KIND_NAMES.get(k, k)
    return None


def _load_split(images_path: Path, labels_path: Path, count: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    for p in (images_path, labels_path):
        other = _other_kind_sha(p, kind)
        if other is not None:
            raise DataError(f"{p}: this is the {other} file, not {_KIND_NAMES[kind]}")

    def images_fit(dtype: np.dtype, dims: tuple[int, ...]) -> None:  # checked on the header, before the data
        if dtype != np.uint8 or len(dims) != 3:
            raise DataError(f"{images_path}: expected uint8 images of 3 dimensions (magic 0x00000803), "
                            f"got {dtype.name} with {len(dims)} dimensions")
        if dims != (count, IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(f"{images_path}: expected {count} images of {IMAGE_SIDE}x{IMAGE_SIDE}, "
                            f"got {dims[0]} of {dims[1]}x{dims[2]}")

    def labels_fit(dtype: np.dtype, dims: tuple[int, ...]) -> None:
        if dtype != np.uint8 or len(dims) != 1:
            raise DataError(f"{labels_path}: expected uint8 labels of 1 dimension (magic 0x00000801), "
                            f"got {dtype.name} with {len(dims)} dimensions")
        if dims[0] != count:
            raise DataError(f"{labels_path}: expected {count} labels, got {dims[0]}")

    images = _read_idx(images_path, images_fit)
    labels = _read_idx(labels_path, labels_fit)
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: labels must be 0..9, found {int(labels.max())}")
    x = images.reshape(count, IMAGE_SIDE * IMAGE_SIDE).astype(np.float32)
    np.divide(x, np.float32(255), out=x)  # exact division keeps 255 -> 1.0 (a multiply by 1/255 may not)
    return x, labels.astype(np.int64)


def _complete(folder: Path) -> bool:
    return folder.is_dir() and all(_find_file(folder, n) for n in MNIST_FILES)


def find_mnist(root: PathLike | None = None, kind: str = "mnist") -> Path | None:
    """The local folder :func:`load_mnist` reads, or None when the files must be downloaded into the cache.

    A location the user configured is used alone, never completed from elsewhere: ``root`` (``--data-dir``)
    when given, else ``$TINYGRAD_MLP_DATA`` when set (for Fashion-MNIST: when its ``fashion-mnist`` subfolder
    exists). A configured location without all four files is a :class:`DataError` naming what it lacks (not a
    :class:`DataNotFoundError`, so ``auto`` does not replace a mistyped location by the synthetic digits).
    With nothing configured: the download cache, when it holds the four files.
    """
    _check_kind(kind)
    title = _KIND_NAMES[kind]
    if root is not None:
        folder = Path(root).expanduser()
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise DataError(f"data folder {root} {what}")
        if not _complete(folder):
            raise DataError(f"data folder {root} does not hold {title}: {_folder_status(folder)} (a folder given "
                            "with --data-dir is used alone, never completed from elsewhere)")
        return folder
    env = os.environ.get(DATA_ENV)
    if env:
        env_dir = Path(env).expanduser()
        candidates = [env_dir, env_dir / "mnist"] if kind == "mnist" else [env_dir / kind]
        found = next((d for d in candidates if _complete(d)), None)
        if found is not None:
            return found
        if kind == "mnist" or candidates[0].exists():
            statuses = "; ".join(f"{d} ({_folder_status(d)})" for d in candidates)
            raise DataError(f"{DATA_ENV}={env} holds no {title}: {statuses}. Fix or unset {DATA_ENV} (a configured "
                            "location is never replaced by a download or the synthetic digits)")
    cache = cache_dir(kind)
    return cache if _complete(cache) else None


def checksum_mismatches(folder: PathLike, kind: str = "mnist") -> list[str]:
    """The gzip files of ``folder`` whose SHA-256 differs from the published one (a modified or damaged copy);
    decompressed files have no published checksum and are not listed."""
    _check_kind(kind)
    bad = []
    for name in MNIST_FILES:
        path = Path(folder) / name
        if not path.is_file() or name not in SHA256[kind]:
            continue
        try:
            if path.stat().st_size > _MAX_HASHED:
                bad.append(name)
                continue
            hasher = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK * 16):
                    hasher.update(chunk)
        except OSError:
            continue  # read_idx reports an unreadable file
        if hasher.hexdigest() != SHA256[kind][name]:
            bad.append(name)
    return bad


def load_mnist(root: PathLike | None = None, download: bool = True, kind: str = "mnist", *,
               mirrors: Sequence[str] | None = None, checksums: Mapping[str, str] | None = None,
               timeout: float = 30.0, progress: bool | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST (``kind="mnist"``) or Fashion-MNIST (``kind="fashion-mnist"``).

    Returns ``(x_train, y_train, x_test, y_test)``: ``x_*`` float32 in [0, 1] of shape ``(60000, 784)`` and
    ``(10000, 784)`` (rows of 28x28 pixels, flattened), ``y_*`` int64 of shape ``(60000,)`` and ``(10000,)``.

    The folder :func:`find_mnist` names is used (a configured one alone: ``root``, else ``$TINYGRAD_MLP_DATA``;
    else the cache). If there is none and ``download`` is true, the files are downloaded into :func:`cache_dir`
    (see :func:`download_mnist` for ``mirrors``,
    ``checksums``, ``timeout`` and ``progress``; ``progress=None`` shows a bar only on a terminal). Raises
    :class:`~tinygrad_mlp.errors.DataNotFoundError` (a :class:`DataError`) naming the folders searched (and the
    URLs tried) when the files cannot be had, and a plain :class:`DataError` naming the file when one is corrupt
    or not the expected shape, or when ``root`` is given but is not a folder.
    """
    folder = find_mnist(root, kind)
    dirs = search_dirs(root, kind)
    if folder is None:
        searched = "; ".join(f"{d} ({_folder_status(d)})" for d in dirs)
        title = _KIND_NAMES[kind]
        if not download:
            raise DataNotFoundError(f"{title} files not found and download=False. Searched: {searched}. "
                                    + _manual_hint(kind))
        try:
            folder = download_mnist(cache_dir(kind), kind, mirrors=mirrors, checksums=checksums, timeout=timeout,
                                    progress=progress)
        except DataError as e:
            raise DataNotFoundError(f"{title} files not found locally and the download failed. Searched: "
                                    f"{searched}. Download: {e}") from None
    paths = [_find_file(folder, n) for n in MNIST_FILES]
    assert all(p is not None for p in paths)  # checked (or downloaded) above
    x_train, y_train = _load_split(paths[0], paths[1], _TRAIN_COUNT, kind)  # type: ignore[arg-type]
    x_test, y_test = _load_split(paths[2], paths[3], _TEST_COUNT, kind)  # type: ignore[arg-type]
    return x_train, y_train, x_test, y_test


