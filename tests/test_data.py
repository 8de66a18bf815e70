"""Tests of tinygrad_mlp.data: the IDX reader, finding / downloading / validating MNIST, synthetic digits,
DataLoader and ascii_digit.

No test touches the internet: an autouse fixture points every mirror table at a closed local port and refuses any
request to a host other than 127.0.0.1; downloads are tested against an http.server on 127.0.0.1.
Real MNIST is used when TINYGRAD_MLP_DATA names a folder holding it (CI sets it), else those tests skip.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import socket
import struct
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mlp import data
from tinygrad_mlp.data import (
    MNIST_FILES,
    DataLoader,
    ascii_digit,
    download_mnist,
    load_mnist,
    load_synthetic,
    read_idx,
    synthetic_digits,
)
from tinygrad_mlp.errors import DataError, DataNotFoundError, ShapeError

REAL_DATA = os.environ.get(data.DATA_ENV)  # read before the autouse fixture clears it
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

_real_urlopen = urllib.request.urlopen


def _closed_port() -> int:
    """A local port nothing listens on (bound then released), so connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No internet, no user folders: mirrors point at a closed local port, the cache lives in tmp_path, the data
    env var is unset, and urlopen refuses any host but loopback. Yields the list of URLs requested."""
    requested: list[str] = []

    def guarded_urlopen(req, *args, **kwargs):
        url = req.full_url if isinstance(req, urllib.request.Request) else str(req)
        host = urllib.parse.urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"a test tried to reach the network: {url}")  # not caught by the downloader
        requested.append(url)
        return _real_urlopen(req, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", guarded_urlopen)
    dead = f"http://127.0.0.1:{_closed_port()}/"
    for kind in list(data.MIRRORS):
        monkeypatch.setitem(data.MIRRORS, kind, [dead])
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    yield requested


# ---------------------------------------------------------------------------------------------------------------------
# helpers: tiny IDX files
# ---------------------------------------------------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """IDX encoding of ``arr`` (big-endian header and, for multi-byte types, payload)."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.ascontiguousarray(arr, dtype=dtype).tobytes()


def tiny_set(n_train: int = 3, n_test: int = 2, seed: int = 0) -> dict[str, bytes]:
    """The four files (gzip bytes by standard name) of a tiny MNIST-format dataset."""
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8),
              rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8)]
    # mtime=0 keeps the gzip bytes (and so the checksums) reproducible
    return {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in zip(MNIST_FILES, arrays)}


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def write_set(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def assert_one_line(err: BaseException, *needles: str) -> str:
    msg = str(err)
    assert "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    return msg


# ---------------------------------------------------------------------------------------------------------------------
# read_idx
# ---------------------------------------------------------------------------------------------------------------------


def test_read_idx_raw_and_gzip_detected_by_content_not_name(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    # gzip data under a name without .gz, and raw data under a .gz name: both must be read by their bytes
    (tmp_path / "images").write_bytes(gzip.compress(idx_bytes(images)))
    (tmp_path / "labels.gz").write_bytes(idx_bytes(labels))
    got_images, got_labels = read_idx(tmp_path / "images"), read_idx(str(tmp_path / "labels.gz"))
    assert got_images.dtype == np.uint8 and got_images.shape == (5, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    got_images[0, 0, 0] = 7  # the result is an ordinary writable array


@pytest.mark.parametrize("code,values", [
    (0x09, np.array([-3, 0, 5], np.int8)),
    (0x0B, np.array([[-300, 2], [7, 32000]], np.int16)),
    (0x0C, np.array([1, -70000, 2 ** 30], np.int32)),
    (0x0D, np.array([[0.5, -1.25]], np.float32)),
    (0x0E, np.array([1e300, -2.5], np.float64)),
])
def test_read_idx_other_types_big_endian(tmp_path, code, values):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(values, code))
    got = read_idx(path)
    assert got.dtype.isnative and got.dtype.kind == values.dtype.kind and got.dtype.itemsize == values.dtype.itemsize
    np.testing.assert_array_equal(got, values)


def test_read_idx_truncated_says_expected_and_got(tmp_path):
    good = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(good[:-100])
    with pytest.raises(DataError) as e:
        read_idx(path)
    assert_one_line(e.value, str(path), "truncated", str(4 * 28 * 28), str(4 * 28 * 28 - 100))
    # the same truncation inside a valid gzip stream
    gz = tmp_path / "t.gz"
    gz.write_bytes(gzip.compress(good[:-1]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(gz)


def test_read_idx_truncated_header(tmp_path):
    path = tmp_path / "h"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 10))  # says 3 dims, has one
    with pytest.raises(DataError) as e:
        read_idx(path)
    assert_one_line(e.value, str(path), "header")
    (tmp_path / "short").write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="too short"):
        read_idx(tmp_path / "short")


def test_read_idx_trailing_bytes(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.arange(10, dtype=np.uint8)) + b"\x00\x01\x02")
    with pytest.raises(DataError) as e:
        read_idx(path)
    assert_one_line(e.value, str(path), "3 unexpected trailing bytes")


def test_read_idx_bad_magic_and_type_code(tmp_path):
    good = idx_bytes(np.arange(10, dtype=np.uint8))
    bad_magic = tmp_path / "bad_magic"
    bad_magic.write_bytes(b"\x01" + good[1:])
    with pytest.raises(DataError) as e:
        read_idx(bad_magic)
    assert_one_line(e.value, str(bad_magic), "magic", "0x01000801")
    bad_code = tmp_path / "bad_code"
    bad_code.write_bytes(good[:2] + b"\x07" + good[3:])
    with pytest.raises(DataError) as e:
        read_idx(bad_code)
    assert_one_line(e.value, str(bad_code), "type code 0x07")
    zero_dims = tmp_path / "zero_dims"
    zero_dims.write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(DataError, match="0 dimensions"):
        read_idx(zero_dims)
    text = tmp_path / "page.html"  # what a captive portal or a bad mirror may serve
    text.write_bytes(b"<html><body>Not found</body></html>")
    with pytest.raises(DataError, match="magic"):
        read_idx(text)


def test_read_idx_corrupt_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)))
    flipped = bytearray(packed)
    flipped[len(flipped) // 2] ^= 0xFF
    cases = {"flipped.gz": bytes(flipped), "cut.gz": packed[: len(packed) // 2],
             "header_only.gz": packed[:10], "garbage_after.gz": packed + b"garbage!"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DataError) as e:
            read_idx(path)
        assert_one_line(e.value, str(path))
        assert isinstance(e.value, ValueError)


def test_read_idx_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError) as e:
        read_idx(tmp_path / "nope.gz")
    assert_one_line(e.value, "nope.gz", "not found")
    with pytest.raises(DataError, match="folder"):
        read_idx(tmp_path)


# ---------------------------------------------------------------------------------------------------------------------
# load_mnist: real files, search order, validation
# ---------------------------------------------------------------------------------------------------------------------


def _real_data_dir() -> Path:
    if not REAL_DATA or not all((Path(REAL_DATA) / n).is_file() for n in MNIST_FILES):
        pytest.skip(f"real MNIST not available (set {data.DATA_ENV} to a folder with the four .gz files)")
    return Path(REAL_DATA)


def test_real_mnist_loads_with_known_shapes_and_label_counts(monkeypatch):
    folder = _real_data_dir()
    monkeypatch.setenv(data.DATA_ENV, str(folder))  # found through the env var, as CI and users do
    x_train, y_train, x_test, y_test = load_mnist(download=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0 and x_test.min() == 0.0 and x_test.max() == 1.0
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    # row-major flattening: the first training image is a 5 whose ink fills the centre, not the border
    assert y_train[0] == 5
    img = x_train[0].reshape(28, 28)
    assert img[:4].sum() == 0 and img[8:20, 8:20].mean() > 0.2
    # the files in the table's checksums are exactly these
    for name in MNIST_FILES:
        assert sha((folder / name).read_bytes()) == data.SHA256["mnist"][name]


def test_real_mnist_refused_as_fashion_mnist():
    folder = _real_data_dir()
    with pytest.raises(DataError) as e:
        load_mnist(folder, download=False, kind="fashion-mnist")
    assert_one_line(e.value, "MNIST file, not Fashion-MNIST")


def test_search_order_root_alone_then_env_then_cache(tmp_path, monkeypatch):
    """A configured folder is used alone: an incomplete --data-dir is an error, never completed from
    $TINYGRAD_MLP_DATA (it was, on 411df7f); the error from the tiny files names the folder used."""
    files = tiny_set()
    root, env, cache = tmp_path / "root", tmp_path / "env", tmp_path / "cache" / "mnist"
    write_set(cache, files)
    write_set(env, files)
    write_set(root, {k: v for k, v in files.items() if k != MNIST_FILES[3]})  # incomplete: an error
    monkeypatch.setenv(data.DATA_ENV, str(env))
    assert data.search_dirs(root) == [root]
    assert data.search_dirs() == [env, env / "mnist", cache]
    with pytest.raises(DataError) as e:
        load_mnist(root, download=True)
    assert not isinstance(e.value, DataNotFoundError)  # so --dataset auto does not fall back on it
    assert_one_line(e.value, str(root), f"missing {MNIST_FILES[3]}", "never completed")
    with pytest.raises(DataError) as e:
        load_mnist(download=False)
    assert_one_line(e.value, str(env / MNIST_FILES[0]), "expected 60000 images")
    (root / MNIST_FILES[3].removesuffix(".gz")).write_bytes(gzip.decompress(files[MNIST_FILES[3]]))  # unzipped
    with pytest.raises(DataError) as e:
        load_mnist(root, download=False)
    assert str(root / MNIST_FILES[0]) in str(e.value)
    monkeypatch.delenv(data.DATA_ENV)
    with pytest.raises(DataError) as e:
        load_mnist(download=False)
    assert str(cache / MNIST_FILES[0]) in str(e.value)


def test_cache_dir_locations(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "c"))
    assert data.cache_dir("fashion-mnist") == tmp_path / "c" / "fashion-mnist"
    monkeypatch.delenv(data.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "tinygrad_mlp" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "tinygrad_mlp" / "mnist"
    with pytest.raises(DataError, match="unknown dataset kind"):
        data.cache_dir("cifar")


def test_validation_of_counts_shapes_and_labels(tmp_path):
    # uncompressed files under the names without .gz: also accepted, and much faster to write than gzip
    names = [n.removesuffix(".gz") for n in MNIST_FILES]
    rng = np.random.default_rng(0)
    images = idx_bytes(np.zeros((60000, 28, 28), np.uint8))
    label_values = rng.integers(0, 10, 60000).astype(np.uint8)
    labels = idx_bytes(label_values)
    base = {names[1]: labels, names[2]: idx_bytes(np.zeros((10000, 28, 28), np.uint8)),
            names[3]: idx_bytes(np.zeros(10000, np.uint8))}
    # 60000 images of the wrong size
    folder = write_set(tmp_path / "a", {**base, names[0]: idx_bytes(np.zeros((60000, 27, 28), np.uint8))})
    with pytest.raises(DataError) as e:
        load_mnist(folder, download=False)
    assert_one_line(e.value, names[0], "28x28", "27x28")
    # labels where the images should be
    folder = write_set(tmp_path / "b", {**base, names[0]: labels})
    with pytest.raises(DataError, match="3 dimensions"):
        load_mnist(folder, download=False)
    # too few labels
    folder = write_set(tmp_path / "c", {**base, names[0]: images, names[1]: idx_bytes(label_values[:-10])})
    with pytest.raises(DataError) as e:
        load_mnist(folder, download=False)
    assert_one_line(e.value, names[1], "expected 60000 labels, got 59990")
    # a label out of range
    bad = rng.integers(0, 10, 60000).astype(np.uint8)
    bad[123] = 10
    folder = write_set(tmp_path / "d", {**base, names[0]: images, names[1]: idx_bytes(bad)})
    with pytest.raises(DataError) as e:
        load_mnist(folder, download=False)
    assert_one_line(e.value, names[1], "0..9", "10")
    # and when everything fits, the loader returns the documented layout
    folder = write_set(tmp_path / "e", {**base, names[0]: images})
    x_train, y_train, x_test, y_test = load_mnist(folder, download=False)
    assert x_train.shape == (60000, 784) and x_train.dtype == np.float32 and y_test.dtype == np.int64
    np.testing.assert_array_equal(y_train, label_values)


def test_not_found_without_download_names_searched_folders(tmp_path, monkeypatch, isolated):
    env = tmp_path / "from_env"
    write_set(env, {MNIST_FILES[0]: b"x"})
    monkeypatch.setenv(data.DATA_ENV, str(env))
    root = tmp_path / "given_root"
    root.mkdir()
    with pytest.raises(DataError) as e:
        load_mnist(root, download=True)
    assert not isinstance(e.value, DataNotFoundError)
    assert_one_line(e.value, str(root), "has none of the files")
    with pytest.raises(DataError) as e:  # a configured $TINYGRAD_MLP_DATA without MNIST: an error, not a download
        load_mnist(download=True)
    assert not isinstance(e.value, DataNotFoundError)
    msg = assert_one_line(e.value, str(env), f"missing {MNIST_FILES[1]}", data.DATA_ENV)
    assert MNIST_FILES[0] not in msg.split(str(env))[1].split(";")[0]  # the present file is not reported missing
    monkeypatch.delenv(data.DATA_ENV)
    with pytest.raises(DataNotFoundError) as e:
        load_mnist(download=False)
    assert_one_line(e.value, str(data.cache_dir()), "download=False", data.DATA_ENV, "--data-dir")
    assert isolated == []  # nothing was requested


def test_a_given_root_that_is_not_a_folder_is_an_error(tmp_path, monkeypatch, isolated):
    """A mistyped --data-dir is an error, never silently replaced by $TINYGRAD_MLP_DATA or the cache."""
    env = write_set(tmp_path / "from_env", {n: b"x" for n in MNIST_FILES})
    monkeypatch.setenv(data.DATA_ENV, str(env))
    with pytest.raises(DataError) as e:
        load_mnist(tmp_path / "typo", download=True)
    assert not isinstance(e.value, DataNotFoundError)   # so --dataset auto does not fall back on it
    assert_one_line(e.value, str(tmp_path / "typo"), "does not exist")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(DataError, match="is not a folder"):
        load_mnist(tmp_path / "file")
    assert isolated == []


# ---------------------------------------------------------------------------------------------------------------------
# downloads from a local HTTP server
# ---------------------------------------------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes``: path -> (mode, body); mode "ok" sends it, "cut" announces the full length but
    sends half and hangs up. Anything else is a 404."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.hits.append(self.path)
        mode, body = self.server.routes.get(self.path, ("404", b""))
        if mode == "404":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode == "ok" else body[: len(body) // 2])
        self.close_connection = True

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.routes, srv.hits = {}, []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def serve(srv, mirror: str, files: dict[str, bytes], mode: str = "ok") -> str:
    for name, body in files.items():
        srv.routes[f"/{mirror}/{name}"] = (mode, body)
    return f"{srv.url}/{mirror}/"


def assert_clean(folder: Path, expected: dict[str, bytes]) -> None:
    """The folder holds exactly the expected files with exactly the expected bytes: no partial or wrong file."""
    present = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    assert present == sorted(expected), present
    for name, content in expected.items():
        assert (folder / name).read_bytes() == content, name


def test_download_skips_404_and_lands_verified_files(tmp_path, server):
    files = tiny_set()
    empty = serve(server, "empty", {})
    good = serve(server, "good", files)
    dest = tmp_path / "dl"
    got = download_mnist(dest, mirrors=[empty, good], checksums={k: sha(v) for k, v in files.items()}, timeout=5)
    assert got == dest
    assert_clean(dest, files)
    # each file was asked of the 404 mirror first, then of the good one
    assert server.hits == [p for n in MNIST_FILES for p in (f"/empty/{n}", f"/good/{n}")]
    assert read_idx(dest / MNIST_FILES[0]).shape == (3, 28, 28)
    # present files are not fetched again
    server.hits.clear()
    download_mnist(dest, mirrors=[good], checksums={k: sha(v) for k, v in files.items()}, timeout=5)
    assert server.hits == []


def test_download_checksum_mismatch_and_truncation_fall_through(tmp_path, server):
    files = tiny_set()
    sums = {k: sha(v) for k, v in files.items()}
    wrong = serve(server, "wrong", tiny_set(seed=1))  # valid IDX gzips, but not the files the checksums name
    cut = serve(server, "cut", files, mode="cut")  # Content-Length says more than arrives
    short = serve(server, "short", {k: v[:-5] for k, v in files.items()})  # honest length, missing tail
    good = serve(server, "good", files)
    dest = tmp_path / "dl"
    download_mnist(dest, mirrors=[wrong, cut, short, good], checksums=sums, timeout=5)
    assert_clean(dest, files)
    assert [h.split("/")[1] for h in server.hits] == ["wrong", "cut", "short", "good"] * 4


def test_download_all_mirrors_fail_lists_urls_and_leaves_nothing(tmp_path, server):
    files = tiny_set()
    sums = {k: sha(v) for k, v in files.items()}
    mirrors = [serve(server, "wrong", tiny_set(seed=1)), serve(server, "cut", files, mode="cut"),
               serve(server, "empty", {})]
    dest = tmp_path / "dl"
    with pytest.raises(DataError) as e:
        download_mnist(dest, mirrors=mirrors, checksums=sums, timeout=5)
    name = MNIST_FILES[0]
    assert_one_line(e.value, f"could not download {name}", str(dest),
                    f"{mirrors[0]}{name} (", "SHA-256 mismatch",
                    f"{mirrors[1]}{name} (", "truncated download: expected",
                    f"{mirrors[2]}{name} (HTTP 404", data.DATA_ENV, "--data-dir")
    assert_clean(dest, {})  # no temporary, partial or wrong file left behind
    # it stopped at the first file nobody could supply instead of trying the other three
    assert {h.rsplit("/", 1)[1] for h in server.hits} == {name}


def test_download_truncation_caught_without_a_checksum(tmp_path, server):
    files = tiny_set()
    cut = serve(server, "cut", files, mode="cut")
    dest = tmp_path / "dl"
    with pytest.raises(DataError) as e:
        download_mnist(dest, mirrors=[cut], checksums={}, timeout=5)  # no checksum: the length check must catch it
    n = len(files[MNIST_FILES[0]])
    assert_one_line(e.value, f"truncated download: expected {n} bytes, got {n // 2}")
    assert_clean(dest, {})


def test_download_partial_success_keeps_only_verified_files(tmp_path, server):
    files = tiny_set()
    sums = {k: sha(v) for k, v in files.items()}
    partial = serve(server, "partial", {k: files[k] for k in MNIST_FILES[:2]})  # the images/labels of train only
    dest = tmp_path / "dl"
    with pytest.raises(DataError, match=MNIST_FILES[2]):
        download_mnist(dest, mirrors=[partial], checksums=sums, timeout=5)
    assert_clean(dest, {k: files[k] for k in MNIST_FILES[:2]})
    # a later run only fetches what is missing
    server.hits.clear()
    download_mnist(dest, mirrors=[serve(server, "rest", files)], checksums=sums, timeout=5)
    assert_clean(dest, files)
    assert sorted(server.hits) == sorted(f"/rest/{n}" for n in MNIST_FILES[2:])


def test_download_unreachable_mirror_is_skipped_for_later_files(tmp_path, server, isolated):
    files = tiny_set()
    dead = f"http://127.0.0.1:{_closed_port()}/mnist/"
    good = serve(server, "good", files)
    download_mnist(tmp_path / "dl", mirrors=[dead, good], checksums={k: sha(v) for k, v in files.items()}, timeout=5)
    assert_clean(tmp_path / "dl", files)
    assert sum(u.startswith(dead) for u in isolated) == 1  # refused once, then not asked again


def test_download_interrupted_removes_temporary_file(tmp_path, server, monkeypatch):
    files = tiny_set()
    good = serve(server, "good", files)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)  # Ctrl-C at the last moment, after the file was written
    with pytest.raises(KeyboardInterrupt):
        download_mnist(tmp_path / "dl", mirrors=[good], checksums={k: sha(v) for k, v in files.items()}, timeout=5)
    assert_clean(tmp_path / "dl", {})


def test_load_mnist_offline_error_is_readable(tmp_path, monkeypatch, isolated):
    dead = f"http://127.0.0.1:{_closed_port()}/mnist/"
    with pytest.raises(DataError) as e:
        load_mnist(mirrors=[dead], timeout=5)  # nothing configured: the cache, then the download
    cache = data.cache_dir()
    assert_one_line(e.value, "MNIST files not found locally and the download failed", str(cache),
                    f"{dead}{MNIST_FILES[0]} (", "refused", data.DATA_ENV, "--data-dir")
    assert isolated == [f"{dead}{MNIST_FILES[0]}"]
    assert_clean(cache, {})
    # the module-level table is what load_mnist uses by default (the autouse fixture pointed it at a dead port)
    with pytest.raises(DataError) as e:
        load_mnist(download=True, kind="fashion-mnist", timeout=5)
    assert_one_line(e.value, "Fashion-MNIST", data.MIRRORS["fashion-mnist"][0], "refused")


def test_load_mnist_downloads_real_files_into_cache(tmp_path, server):
    folder = _real_data_dir()
    files = {n: (folder / n).read_bytes() for n in MNIST_FILES}
    mirrors = [serve(server, "wrong", tiny_set()), serve(server, "real", files)]
    x_train, y_train, x_test, y_test = load_mnist(mirrors=mirrors, timeout=10)  # default checksums table
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    assert_clean(data.cache_dir(), files)
    server.hits.clear()
    load_mnist(mirrors=mirrors)  # now found in the cache: no request at all
    assert server.hits == []


# ---------------------------------------------------------------------------------------------------------------------
# synthetic digits
# ---------------------------------------------------------------------------------------------------------------------


def test_synthetic_digits_shapes_range_and_classes():
    x, y = synthetic_digits(500, seed=3)
    assert x.shape == (500, 784) and x.dtype == np.float32
    assert y.shape == (500,) and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert set(np.unique(y)) == set(range(10))
    assert np.bincount(y, minlength=10).min() > 20  # balanced-ish
    imgs = x.reshape(-1, 28, 28)
    assert (imgs.max(axis=(1, 2)) > 0.8).all()  # every image has solid ink
    ink = (imgs > 0.1).mean(axis=(1, 2))
    assert 0.05 < ink.mean() < 0.35  # MNIST's ink covers ~19% of the pixels
    assert imgs[:, :2].max() < 0.5 and imgs[:, :, :2].max() < 0.5 and imgs[:, -2:].max() < 0.5  # centred: clear border
    rows, cols = np.mgrid[0:28, 0:28]
    mass = imgs.sum(axis=(1, 2))
    assert abs((imgs * rows).sum(axis=(1, 2)) / mass - 13.5).max() < 4.5
    assert abs((imgs * cols).sum(axis=(1, 2)) / mass - 13.5).max() < 4.5
    assert synthetic_digits(0)[0].shape == (0, 784)


def test_synthetic_digits_deterministic_and_seed_dependent():
    x1, y1 = synthetic_digits(300, seed=11)
    x2, y2 = synthetic_digits(300, seed=11)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x3, y3 = synthetic_digits(300, seed=12)
    assert not np.array_equal(y1, y3) and not np.array_equal(x1, x3)
    # two images of the same class are not copies of each other
    sevens = x1[y1 == 7]
    assert np.abs(sevens[0] - sevens[1]).mean() > 0.02


def test_load_synthetic_layout_and_independent_splits():
    x_train, y_train, x_test, y_test = load_synthetic(200, 50, seed=5)
    assert x_train.shape == (200, 784) and x_test.shape == (50, 784)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == y_test.dtype == np.int64
    assert not np.array_equal(x_train[:50], x_test)
    again = load_synthetic(200, 50, seed=5)
    np.testing.assert_array_equal(again[2], x_test)


def softmax_regression_accuracy(x_train, y_train, x_test, y_test, epochs=5, lr=0.5, batch=100) -> float:
    rng = np.random.default_rng(0)
    w, b = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        for lo in range(0, len(order), batch):
            idx = order[lo:lo + batch]
            z = x_train[idx] @ w + b
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y_train[idx]] -= 1  # gradient of cross-entropy wrt the logits
            w -= lr * x_train[idx].T @ p / len(idx)
            b -= lr * p.mean(axis=0)
    return float((np.argmax(x_test @ w + b, axis=1) == y_test).mean())


def test_synthetic_digits_learnable_by_softmax_regression():
    acc = softmax_regression_accuracy(*load_synthetic(4000, 1000, seed=0))
    assert acc > 0.90, acc


# ---------------------------------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------------------------------


def make_xy(n=103):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return x, np.arange(n)


def epoch_ids(loader) -> list[list[int]]:
    return [yb.tolist() for _, yb in loader]


def test_dataloader_covers_each_sample_once_per_epoch():
    x, y = make_xy(103)
    loader = DataLoader(x, y, batch_size=10, seed=0)
    assert len(loader) == 11
    seen_orders = []
    for _ in range(3):
        batches = list(loader)
        assert [len(yb) for _, yb in batches] == [10] * 10 + [3]
        for xb, yb in batches:
            np.testing.assert_array_equal(xb[:, 0], yb * 2)  # x and y stay paired
        ids = np.concatenate([yb for _, yb in batches])
        assert sorted(ids.tolist()) == list(range(103))
        seen_orders.append(ids.tolist())
    assert seen_orders[0] != seen_orders[1] != seen_orders[2]  # reshuffled every epoch
    assert seen_orders[0] != list(range(103))
    assert loader.epoch == 3


def test_dataloader_without_shuffle_and_drop_last():
    x, y = make_xy(25)
    assert epoch_ids(DataLoader(x, y, 10, shuffle=False)) == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    loader = DataLoader(x, y, 10, seed=1, drop_last=True)
    assert len(loader) == 2
    for _ in range(2):
        batches = epoch_ids(loader)
        assert [len(b) for b in batches] == [10, 10]
        assert len(set(sum(batches, []))) == 20
    assert len(DataLoader(x, y, 30, drop_last=True)) == 0 and list(DataLoader(x, y, 30, drop_last=True)) == []
    assert len(DataLoader(x, y, 30)) == 1


def test_dataloader_deterministic_by_seed():
    x, y = make_xy(50)
    a, b, c = DataLoader(x, y, 8, seed=7), DataLoader(x, y, 8, seed=7), DataLoader(x, y, 8, seed=8)
    orders_a = [epoch_ids(a) for _ in range(3)]
    assert orders_a == [epoch_ids(b) for _ in range(3)]
    assert orders_a != [epoch_ids(c) for _ in range(3)]


def test_dataloader_state_round_trip_resumes_same_order():
    x, y = make_xy(53)
    reference = DataLoader(x, y, 5, seed=3)
    expected = [epoch_ids(reference) for _ in range(4)]  # epochs 0..3 uninterrupted

    run = DataLoader(x, y, 5, seed=3)
    assert epoch_ids(run) == expected[0]
    it = iter(run)
    first = [next(it)[1].tolist() for _ in range(4)]  # 4 batches of epoch 1, then "crash"
    state = json.loads(json.dumps(run.state_dict()))  # survives JSON, as in a checkpoint's metadata
    assert state["epoch"] == 1 and state["batch"] == 4

    resumed = DataLoader(x, y, 5, seed=999)  # the saved generator state wins over the seed
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state
    assert first + epoch_ids(resumed) == expected[1]
    assert epoch_ids(resumed) == expected[2]
    assert epoch_ids(resumed) == expected[3]

    # a state saved between epochs resumes at the next one
    between = DataLoader(x, y, 5, seed=3)
    epoch_ids(between)
    fresh = DataLoader(x, y, 5)
    fresh.load_state_dict(between.state_dict())
    assert epoch_ids(fresh) == expected[1]


def test_dataloader_validation():
    x, y = make_xy(10)
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(DataError, match="batch_size"):
            DataLoader(x, y, bad)
    with pytest.raises(ValueError) as e:
        DataLoader(x, y[:9], 2)
    assert_one_line(e.value, "10", "9")
    loader = DataLoader(x, y, 3, seed=0)
    state = loader.state_dict()
    with pytest.raises(DataError, match="n=10"):
        DataLoader(*make_xy(11), 3).load_state_dict(state)
    with pytest.raises(DataError, match="batch_size"):
        DataLoader(x, y, 4).load_state_dict(state)
    with pytest.raises(DataError, match="malformed"):
        loader.load_state_dict({"epoch": 0})
    with pytest.raises(DataError, match="rng_state"):
        loader.load_state_dict({**state, "rng_state": {"bit_generator": "nope"}})
    with pytest.raises(DataError, match="out of range"):
        loader.load_state_dict({**state, "batch": 99})


# ---------------------------------------------------------------------------------------------------------------------
# ascii_digit
# ---------------------------------------------------------------------------------------------------------------------


def test_ascii_digit():
    img = np.zeros((28, 28), np.float32)
    img[5:23, 13:15] = 1.0  # a vertical bar: a "1"
    img[4, 13] = 0.55
    art = ascii_digit(img.reshape(784))
    lines = art.split("\n")
    assert len(lines) == 28 and all(len(line) == 56 for line in lines)
    assert lines[0] == " " * 56
    assert lines[10] == " " * 26 + "@@@@" + " " * 26
    assert lines[4][26:28] not in ("  ", "@@")  # mid-grey gets a middle character
    assert ascii_digit(img, double_width=False).split("\n")[10] == " " * 13 + "@@" + " " * 13
    assert ascii_digit((img * 255).astype(np.uint8)) == art  # uint8 0..255 drawn the same
    with pytest.raises(ShapeError):
        ascii_digit(np.zeros(100))
