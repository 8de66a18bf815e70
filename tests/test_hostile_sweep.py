"""An adversarial sweep (issue 15), like test_fuzz does for the ops: many generated bad checkpoints, IDX files and
command lines, each run through the code a user's file or argument meets. Every outcome must be one of

* refused: the library's own error (a ``TinygradMLPError``), or for the command a non-zero status with exactly
  one line on stderr;
* accepted: and then the result is right (a checkpoint gives back the genuine arrays, an IDX file its values);

never another exception, a traceback, or a silent wrong answer; and loading never peaks above about twice what
is legitimately loaded (tracemalloc). The counts are printed at the end of the run (seeded; the genuine run's
timings, stored in its checkpoint, shift a few byte positions, so a count may move by one between runs).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import random
import struct
import tracemalloc
import zipfile
from collections import Counter
from pathlib import Path

import hostile_files as H
import numpy as np
import pytest

from tinygrad_mlp import _guard, checkpoint, cli, data, runs
from tinygrad_mlp.errors import TinygradMLPError
from tinygrad_mlp.nn import MLP

SEED = 15
COUNTS: dict[str, Counter] = {}
PEAKS: dict[str, int] = {}   # the largest excess of a traced peak over twice the bytes legitimately loaded
HOSTILE_VALUES = [None, True, -1, 0, 1, 2**70, -2**63, 1e308, float("nan"), float("inf"), "", "x", "3.0", "١٢",
                  [], [1, 2], [[[[]]]], {}, {"a": 1}, "\u202e" * 3, "a" * 5000, [784, 100000000, 10], 0.5]


def _report(name: str, counts: Counter) -> None:
    COUNTS[name] = counts   # printed by _show after the test, past pytest's capture (so CI logs show them)


@pytest.fixture(autouse=True)
def _show(capsys):
    yield
    with capsys.disabled():
        for name, counts in COUNTS.items():
            peak = (f"; peak memory at most 2x the bytes legitimately loaded + {PEAKS[name]} bytes"
                    if name in PEAKS else "")
            print(f"\nhostile sweep, {name}: {sum(counts.values())} cases: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + peak)
    COUNTS.clear()


# ---------------------------------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------------------------------


_draw_synthetic = data.load_synthetic


@functools.cache
def _synthetic(n_train=10000, n_test=2000, seed=0):
    return _draw_synthetic(n_train, n_test, seed)


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    path, legit = H.genuine(d / "genuine.npz", epoch=3, note="x")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(data.synthetic, "load_synthetic", _synthetic)
            assert cli.main(["train", "--dataset", "synthetic", "--arch", "784-16-10", "--limit-train", "200",
                             "--epochs", "1", "--no-progress", "--out", str(d / "run.npz")]) == 0
    return path, legit, d / "run.npz"


def _leaves(obj, prefix=()):
    """Every path into a JSON value (containers too)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _leaves(v, (*prefix, i))


def _set_path(meta, path, value):
    meta = json.loads(json.dumps(meta))
    if not path:
        return value
    node = meta
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return meta


def _check_checkpoint(path: Path, genuine_params: dict, legit: int, counts: Counter, resume: bool = False) -> None:
    """Load as eval/predict/--resume do before using anything; classify; check memory and correctness."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    outcome = "accepted"
    try:
        model, ck = checkpoint.load_model(str(path))
        if model.sizes[0] != 784:
            raise TinygradMLPError("not a model of 28x28 images")  # what the commands say
        if resume:
            runs.resume_run(ck, {}, path)
    except TinygradMLPError as e:
        outcome = "refused"
        assert "\n" not in str(e), str(e)
    except Exception as e:
        outcome = f"CRASHED {type(e).__name__}: {e}"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    counts[outcome if not outcome.startswith("CRASHED") else "crashed"] += 1
    assert not outcome.startswith("CRASHED"), f"{path.name}: {outcome}"
    assert peak <= 2 * legit + (1 << 20), f"{path.name}: peak {peak} for {legit} legit bytes"
    PEAKS["checkpoints"] = max(PEAKS.get("checkpoints", 0), peak - 2 * legit)
    if outcome == "accepted":  # then the arrays are exactly the genuine ones: no silent wrong answer
        got = dict(ck.params.items())
        assert sorted(got) == sorted(genuine_params)
        for k in got:
            np.testing.assert_array_equal(got[k], genuine_params[k])


def test_sweep_checkpoints(genuine, tmp_path):
    rng = random.Random(SEED)
    good, _, run = genuine
    counts: Counter = Counter()
    for source in (good, run):
        raw = source.read_bytes()
        params = checkpoint.load(source).params
        legit = sum(a.nbytes for name, a in H.read_members(source).items() if name != "meta.json")
        resume = source == run
        # damaged bytes: flips, truncations, garbage
        for _i in range(120):
            b = bytearray(raw)
            for _ in range(rng.choice((1, 1, 2, 8))):
                b[rng.randrange(len(b))] ^= rng.randrange(1, 256)
            (tmp_path / "f.npz").write_bytes(bytes(b))
            _check_checkpoint(tmp_path / "f.npz", params, legit, counts, resume)
        for n in rng.sample(range(len(raw)), 30):
            (tmp_path / "t.npz").write_bytes(raw[:n])
            _check_checkpoint(tmp_path / "t.npz", params, legit, counts, resume)
        for junk in (b"\0" * 10, b"PK\x05\x06" + bytes(18), b"x" * 70000, raw):
            (tmp_path / "g.npz").write_bytes(raw + junk)
            _check_checkpoint(tmp_path / "g.npz", params, legit, counts, resume)
        # metadata edited and re-signed (anyone can recompute the checksum)
        arrays = H.read_members(source)
        meta = H.meta_of(arrays)
        paths = list(_leaves(meta))
        for _ in range(150):
            path, value = rng.choice(paths), rng.choice(HOSTILE_VALUES)
            edited = _set_path(meta, path, value)
            if isinstance(edited, dict):
                out = H.resign(arrays, edited)
            else:  # the whole metadata replaced by a non-object
                out = dict(arrays, **{"meta.json": np.frombuffer(json.dumps(edited).encode(), np.uint8)})
            H.write_npz(tmp_path / "m.npz", out)
            _check_checkpoint(tmp_path / "m.npz", params, legit, counts, resume)
        # members replaced, added or removed; headers lying about shapes and dtypes; small bombs
        with zipfile.ZipFile(source) as zf:
            members = [(i.filename, zf.read(i)) for i in zf.infolist()]
        for _ in range(40):
            kind = rng.choice(("drop", "add", "header", "bomb", "rename"))
            ms = list(members)
            bombs = []
            j = rng.randrange(len(ms))
            name, content = ms[j]
            if kind == "drop":
                ms.pop(j)
            elif kind == "add":
                ms.append((rng.choice(("param/x.npy", "optim/m/99.npy", "extra", "meta.json", name)),
                           H.npy_bytes(np.zeros(rng.randrange(0, 50), np.float32))))
            elif kind == "header":
                shape = tuple(rng.choice((0, 1, 16, 784, 10**9, 2**40)) for _ in range(rng.randrange(0, 3)))
                dtype = rng.choice(("<f4", ">f8", "|u1", "|O", "<c16", "|V8", "<i8"))
                header = H.npy_header(np.dtype(dtype) if dtype != "|O" else object, shape)
                ms[j] = (name, header + content[len(header):][:rng.randrange(0, 5000)])
            elif kind == "bomb":
                ms.pop(j)
                stream, crc, size = H.deflate_bomb(H.npy_header(np.float32, (rng.randrange(1, 3) * H.CHUNK // 4,)),
                                                   rng.randrange(1, 3))
                bombs.append((name, stream, crc, size))
            else:
                ms[j] = (rng.choice(("../evil.npy", "param/layers.0.weight", "/abs.npy", "é.npy")), content)
            H.write_zip(tmp_path / "z.npz", ms, bombs)
            _check_checkpoint(tmp_path / "z.npz", params, legit, counts, resume)
    _report("checkpoints", counts)
    assert counts["crashed"] == 0 and counts["refused"] > 500


# ---------------------------------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------------------------------


def _check_idx(path: Path, counts: Counter, expect: np.ndarray | None = None) -> None:
    tracemalloc.start()
    tracemalloc.reset_peak()
    outcome, declared = "accepted", 0
    try:
        got = data.read_idx(path)
        declared = got.nbytes
    except TinygradMLPError as e:
        outcome = "refused"
        assert "\n" not in str(e)
    except Exception as e:
        outcome = f"CRASHED {type(e).__name__}: {e}"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    counts["crashed" if outcome.startswith("CRASHED") else outcome] += 1
    assert not outcome.startswith("CRASHED"), f"{path.name}: {outcome}"
    assert peak <= 2 * declared + (2 << 20), f"{path.name}: peak {peak} for {declared} bytes returned"
    PEAKS["IDX files"] = max(PEAKS.get("IDX files", 0), peak - 2 * declared)
    if outcome == "accepted" and expect is not None:
        np.testing.assert_array_equal(got, expect)


def test_sweep_idx_files(tmp_path):
    rng = random.Random(SEED)
    counts: Counter = Counter()
    values = np.random.default_rng(SEED).integers(0, 256, (100, 28, 28), dtype=np.uint8)
    labels = (np.arange(1000) % 10).astype(np.uint8)
    for arr in (values, labels):
        raw = H.idx_bytes(arr)
        for packed, name in ((raw, "raw"), (gzip.compress(raw, compresslevel=1), "gz")):
            path = tmp_path / name
            path.write_bytes(packed)
            _check_idx(path, counts, arr)
            for _ in range(60):   # header bytes damaged
                b = bytearray(packed)
                b[rng.randrange(min(len(b), 24))] ^= rng.randrange(1, 256)
                path.write_bytes(bytes(b))
                _check_idx(path, counts)
            for _ in range(25):   # dims and type code rewritten (written uncompressed)
                ndim = rng.choice((1, 2, 3, 4, 255))
                dims = [rng.choice((0, 1, 28, 100, 1000, 2**31, 2**32 - 1)) for _ in range(ndim)]
                path.write_bytes(bytes([0, 0, rng.choice((8, 9, 11, 12, 13, 14, 7)), ndim])
                                 + struct.pack(f">{ndim}I", *dims) + raw[4 + 4 * arr.ndim:])
                _check_idx(path, counts)
            for n in rng.sample(range(len(packed)), 20):   # truncated
                path.write_bytes(packed[:n])
                _check_idx(path, counts)
            for junk in (b"\0", b"\x1f\x8b", b"junk" * 100, gzip.compress(b"more")):
                path.write_bytes(packed + junk)
                _check_idx(path, counts)
        for copies in (1, 2, 4):   # gzip bombs after a valid file (up to 64 MiB)
            _check_idx(H.idx_gzip_bomb(tmp_path / "bomb.gz", arr, copies), counts)
        for size in (10, 1 << 30, 1 << 40):   # sparse raw files, headers claiming big sizes
            _check_idx(H.sparse_idx(tmp_path / "sparse", (2**31, 28, 28), size), counts)
    _report("IDX files", counts)
    assert counts["crashed"] == 0 and counts["refused"] > 300


# ---------------------------------------------------------------------------------------------------------------------
# command lines
# ---------------------------------------------------------------------------------------------------------------------

TOKENS = ["-1", "0", "1", "3", "1e309", "nan", "inf", "-0", "١٢", "", " ", "x", "--", "-", "9" * 40, "\x00",
          "784-16-10", "784-0-10", "784--10", "5-10", "784-1000000-10", "1-1-1", "2-2-1", "a-b", "784,16,10",
          "w.xyz", "w.png", "w", ".", "nowhere/x.png", "GOOD", "NARROW", "MISSING", "FOLDER", "ünï.npz",
          "NOTES", "CSV", "FAKEPNG", "FAKEPNG", "NOTES"]
# Files no command may change (none is a checkpoint, metrics file or picture of ours): named often, as outputs too
BYSTANDERS = {"NOTES": ("notes.txt", b"my lecture notes\n"), "CSV": ("results.csv", b"lr,acc\n3,0.95\n"),
              "FAKEPNG": ("photo.png", b"not a png, whatever its name says")}
OPTIONS = {
    "train": ["--arch", "--activation", "--loss", "--optimizer", "--lr", "--momentum", "--weight-decay",
              "--lr-schedule", "--batch-size", "--epochs", "--seed", "--init", "--dataset", "--data-dir",
              "--limit-train", "--out", "--metrics-json", "--resume", "--plot"],
    "eval": ["MODEL", "--dataset", "--data-dir", "--plot"],
    "predict": ["MODEL", "--index", "--random", "--seed", "--dataset"],
    "show-weights": ["MODEL", "--out", "--cols"],
    "graph": ["--chain", "--arch", "--model", "--batch-size", "--out"],
    "explain": ["--layers", "--arch", "--seed"],
    "gradcheck": ["--arch", "--activation", "--loss", "--batch-size", "--seed", "--dtype", "--output-activation"],
    "nudges": ["MODEL", "--index", "--batch", "--dataset"],
    "show-hidden": ["MODEL", "--out", "--top", "--no-plot", "--dataset"],
}


def _argv(rng: random.Random, files: dict[str, str]) -> list[str]:
    command = rng.choice([*OPTIONS, "bogus", ""])
    argv = [command] if command else []
    for _ in range(rng.randrange(0, 5)):
        option = rng.choice(OPTIONS.get(command, ["--x"]))
        if option == "MODEL":
            argv.append(files[rng.choice(("GOOD", "NARROW", "MISSING", "FOLDER", "NAN"))])
            continue
        argv.append(option)
        if option not in ("--random", "--no-download", "--no-progress", "--no-plot") and rng.random() < 0.95:
            token = rng.choice(TOKENS)
            argv.append(files.get(token, token))
    if command == "train":   # keep accepted runs tiny: a few hundred synthetic images, one epoch at most
        argv += ["--dataset", "synthetic", "--limit-train", "100", "--epochs", "1", "--no-progress"]
    return argv


def test_sweep_command_lines(genuine, tmp_path, monkeypatch):
    rng = random.Random(SEED)
    good, _, _ = genuine
    narrow = checkpoint.save(MLP([784, 8, 5]), tmp_path / "narrow.npz")
    nan_model = MLP([784, 8, 10])
    nan_model.layers[0].weight.data[0, 0] = np.nan
    nan_path = tmp_path / "nan.npz"
    arrays = {f"param/{k}": v for k, v in nan_model.state_dict().items()}
    meta = {"format": checkpoint.FORMAT, "format_version": 1, "library_version": "0", "model": nan_model.config(),
            "optimizer": None, "metadata": {}}
    meta["checksum"] = checkpoint._checksum(arrays, meta)
    H.write_npz(nan_path, {**arrays, "meta.json": np.frombuffer(json.dumps(meta).encode(), np.uint8)})
    (tmp_path / "folder").mkdir()
    files = {"GOOD": str(good), "NARROW": str(narrow), "MISSING": str(tmp_path / "missing.npz"),
             "FOLDER": str(tmp_path / "folder"), "NAN": str(nan_path)}
    for token, (name, content) in BYSTANDERS.items():
        (tmp_path / name).write_bytes(content)
        files[token] = str(tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data.synthetic, "load_synthetic", _synthetic)
    monkeypatch.setattr(_guard, "memory_budget", lambda: 512 << 20)   # the machine has 512 MiB
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    for kind in list(data.MIRRORS):   # never the network: every mirror is a closed local port
        monkeypatch.setitem(data.MIRRORS, kind, ["http://127.0.0.1:9/"])
    counts: Counter = Counter()
    for _ in range(300):
        argv = _argv(rng, files)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="ignore"):
                status = cli.main(argv)
        except BaseException as e:
            pytest.fail(f"{argv}: {type(e).__name__}: {e}")
        lines = err.getvalue().strip().splitlines()
        for name, content in BYSTANDERS.values():
            assert (tmp_path / name).read_bytes() == content, f"{argv} changed {name}"
        if status == 0:
            counts["accepted"] += 1
            continue
        counts["refused"] += 1
        refusal = [line for line in lines if not line.startswith("tinygrad-mlp: WARNING")]
        assert len(refusal) == 1 and refusal[0].startswith("tinygrad-mlp: "), (argv, err.getvalue())
        assert "Traceback" not in err.getvalue()
    _report("command lines", counts)
    assert counts["refused"] > 150


# ---------------------------------------------------------------------------------------------------------------------
# --resume of schema-valid but hostile training states
# ---------------------------------------------------------------------------------------------------------------------

RESUME_PATHS = [
    ("metadata", "train_state", "loader", "epoch"), ("metadata", "train_state", "loader", "batch"),
    ("metadata", "train_state", "loader", "rng_state"), ("metadata", "train_state", "loader", "rng_state", "state"),
    ("metadata", "train_state", "loader", "rng_state", "state", "state"),
    ("metadata", "train_state", "loader", "rng_state", "state", "inc"),
    ("metadata", "train_state", "loader", "rng_state", "bit_generator"),
    ("metadata", "train_state", "loader", "rng_state", "has_uint32"),
    ("metadata", "train_state", "loader", "rng_state", "uinteger"), ("metadata", "train_state", "loader", "n"),
    ("metadata", "train_state", "epoch"), ("metadata", "train_state", "step"),
    ("metadata", "train_state", "seconds"), ("metadata", "train_state", "epoch_loss_sum"),
    ("metadata", "train_state", "epoch_samples"), ("metadata", "train_state", "global_step"),
    ("optimizer", "param_groups", 0, "lr"), ("optimizer", "param_groups", 0, "betas"),
    ("optimizer", "param_groups", 0, "eps"), ("optimizer", "param_groups", 0, "weight_decay"),
    ("optimizer", "param_groups", 0, "momentum"), ("optimizer", "lr"), ("optimizer", "steps"),
    ("metadata", "history"), ("metadata", "settings", "epochs"), ("metadata", "settings", "lr"),
]
RESUME_VALUES = [*HOSTILE_VALUES, 2**64, 2**128, 10**400, -1e-300, 1.5, [0.9], [0.9, 0.999, 0.5], [1, 2],
                 [-1.0, 0.5], [2.0, 3.0], {"state": 1, "inc": 2}]


def test_sweep_resume_states(tmp_path, monkeypatch):
    """--resume of a genuine Adam run with one field of its training or optimizer state replaced (and the file
    re-signed): every outcome is a clean run or one line, never a traceback, and nothing is written on refusal."""
    rng = random.Random(SEED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data.synthetic, "load_synthetic", _synthetic)
    assert cli.main(["train", "--dataset", "synthetic", "--arch", "784-8-10", "--limit-train", "100", "--epochs",
                     "1", "--no-progress", "--optimizer", "adam", "--lr", "0.01", "--out", "run.npz"]) == 0
    base = H.read_members(tmp_path / "run.npz")
    counts: Counter = Counter()
    for _ in range(120):
        where, value = rng.choice(RESUME_PATHS), rng.choice(RESUME_VALUES)
        meta = H.meta_of(base)
        node = meta
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
        try:
            H.write_npz(tmp_path / "h.npz", H.resign(base, meta))
        except ValueError:   # NaN and inf cannot be written as JSON
            continue
        out_path = tmp_path / "o.npz"
        out_path.unlink(missing_ok=True)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="ignore"):
                status = cli.main(["train", "--resume", "h.npz", "--out", "o.npz", "--epochs", "2", "--no-progress"])
        except BaseException as e:
            pytest.fail(f"{where}={value!r:.60}: {type(e).__name__}: {e}")
        if status == 0:
            counts["accepted"] += 1
            continue
        counts["refused"] += 1
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tinygrad-mlp: "), (where, value, err.getvalue())
        assert not out_path.exists() or status == 1 and "diverged" in lines[0], (where, value)
    _report("resumed states", counts)
    assert counts["refused"] > 60
