"""Tests of tinygrad_mlp.checkpoint: round trips, atomic writes (including kill -9 mid-save), and refusal of
anything that is not an intact checkpoint of this format (pickles, junk, truncated, tampered, newer files).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mlp
from tinygrad_mlp import Tensor
from tinygrad_mlp import checkpoint as ckpt_mod
from tinygrad_mlp.checkpoint import FORMAT_VERSION, load, load_model, save
from tinygrad_mlp.errors import CheckpointError, ShapeError
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.optim import SGD, Adam

REPO_ROOT = Path(tinygrad_mlp.__file__).resolve().parents[1]


def trained(sizes=(4, 5, 3), opt_cls=Adam, steps=3, dtype=np.float64, **model_kwargs):
    model = MLP(list(sizes), dtype=dtype, **model_kwargs)
    opt = opt_cls(model.parameters(), lr=0.05) if opt_cls is Adam else opt_cls(model.parameters(), lr=0.05,
                                                                                  momentum=0.9)
    rng = np.random.default_rng(0)
    x, y = Tensor(rng.uniform(0, 1, (6, sizes[0])).astype(dtype)), rng.integers(0, sizes[-1], 6)
    loss_fn = F.cross_entropy if model.output_activation is None else F.quadratic_cost
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return model, opt, (x, y, loss_fn)


def raw_arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def raw_meta(arrays):
    return json.loads(arrays["meta.json"].tobytes().decode())


def with_meta(arrays, meta):
    out = dict(arrays)
    out["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return out


def write_npz(path, arrays):
    with open(path, "wb") as f:  # a file object: np.savez does not append ".npz"
        np.savez(f, **arrays)


def assert_same_params(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype
        np.testing.assert_array_equal(sa[k], sb[k])


@pytest.fixture
def saved(tmp_path):
    model, opt, data = trained()
    path = save(model, tmp_path / "model.ckpt", optimizer=opt, epoch=3, note="first")
    return path, model, opt, data


# ====================================================================== round trip


@pytest.mark.parametrize("kwargs", [dict(), dict(activation="relu", output_activation=None, init="xavier"),
                                    dict(activation="tanh", init="he", dtype=np.float32)])
def test_round_trip_weights_config_metadata(tmp_path, kwargs):
    model, opt, _ = trained(**kwargs)
    metadata = dict(epoch=7, lr=0.05, metrics={"accuracy": 0.91, "history": [1.5, 0.75]}, note="héllo ✓",
                    flag=True, nothing=None)
    path = save(model, tmp_path / "ck.npz", optimizer=opt, **metadata)
    assert path == tmp_path / "ck.npz" and path.is_file()
    rebuilt, ckpt = load_model(path)
    assert_same_params(model, rebuilt)
    assert rebuilt.config() == model.config()
    assert ckpt.model_config == model.config()
    assert ckpt.metadata == metadata
    assert ckpt.library_version == tinygrad_mlp.__version__
    x = Tensor(np.random.default_rng(1).uniform(0, 1, (3, 4)).astype(model.weights[0].dtype))
    np.testing.assert_array_equal(rebuilt(x).data, model(x).data)


def test_save_writes_exactly_the_given_path(tmp_path):
    model, _, _ = trained(opt_cls=SGD)
    path = save(model, tmp_path / "sub" / "dir" / "weights")   # no suffix, missing folders
    assert path == tmp_path / "sub" / "dir" / "weights"
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights"]
    assert load(path).optimizer is None


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
def test_optimizer_state_restored_and_training_continues_identically(tmp_path, opt_cls):
    model, opt, (x, y, loss_fn) = trained(opt_cls=opt_cls)
    path = save(model, tmp_path / "ck.npz", optimizer=opt)
    rebuilt, ckpt = load_model(path)
    assert ckpt.optimizer["class"] == opt_cls.__name__
    assert ckpt.optimizer["steps"] == opt.steps == 3 and ckpt.optimizer["lr"] == opt.lr
    opt2 = opt_cls(rebuilt.parameters(), lr=1.0) if opt_cls is Adam else opt_cls(rebuilt.parameters(), lr=1.0,
                                                                                  momentum=0.9)
    opt2.load_state_dict(ckpt.optimizer)
    assert opt2.lr == opt.lr and opt2.steps == opt.steps
    for m, o in ((model, opt), (rebuilt, opt2)):
        for _ in range(3):
            o.zero_grad()
            loss_fn(m(x), y).backward()
            o.step()
    assert_same_params(model, rebuilt)


def test_file_is_a_plain_npz_without_pickles(saved):
    path, model, opt, _ = saved
    with np.load(path, allow_pickle=False) as npz:
        names = set(npz.files)
        arrays = {k: npz[k] for k in npz.files}
    assert {f"param/{k}" for k in model.state_dict()} | {"meta.json"} <= names
    assert {"optim/m/0", "optim/v/0"} <= names
    assert all(a.dtype != object for a in arrays.values())
    np.testing.assert_array_equal(arrays["param/layers.0.weight"], model.weights[0].data)
    meta = raw_meta(arrays)
    assert meta["format"] == "tinygrad_mlp-checkpoint" and meta["format_version"] == FORMAT_VERSION
    assert meta["metadata"] == {"epoch": 3, "note": "first"}
    assert len(meta["checksum"]) == 64


# ====================================================================== atomic writes


def test_failed_savez_leaves_previous_checkpoint_and_no_temp_files(saved, monkeypatch):
    path, model, _, _ = saved
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04" + b"\0" * 1000)   # part of an archive, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    model.weights[0].data[...] = 0.0
    with pytest.raises(OSError, match=r"model\.ckpt: could not write the checkpoint \(No space left on device\); "
                                      r"the previous .*model\.ckpt was kept"):
        save(model, path, note="second")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load(path).metadata == {"epoch": 3, "note": "first"}
    assert sorted(os.listdir(path.parent)) == [path.name]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_interrupted_save_cleans_up(saved, monkeypatch, exc):
    path, model, _, _ = saved
    before = path.read_bytes()
    real_savez = np.savez

    def interrupted(file, **arrays):
        real_savez(file, **arrays)
        raise exc()

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(exc):
        save(model, path, note="second")
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == [path.name]


def test_failed_rename_cleans_up(saved, monkeypatch):
    path, model, _, _ = saved
    before = path.read_bytes()

    def no_replace(src, dst):
        raise PermissionError("rename refused")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OSError, match="rename refused.*previous .* was kept"):
        save(model, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == [path.name]


@pytest.mark.parametrize("bad", [object(), {1, 2}, np.float32(1.5), b"bytes"])
def test_non_json_metadata_is_refused_and_previous_kept(saved, bad):
    path, model, _, _ = saved
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="JSON"):
        save(model, path, extra=bad)
    assert path.read_bytes() == before
    load(path)
    assert sorted(os.listdir(path.parent)) == [path.name]


def test_failed_first_save_creates_nothing(tmp_path):
    model, _, _ = trained()
    with pytest.raises(CheckpointError):
        save(model, tmp_path / "new.npz", extra=object())
    assert os.listdir(tmp_path) == []


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from tinygrad_mlp.checkpoint import save
    from tinygrad_mlp.nn import MLP

    path, base = sys.argv[1], int(sys.argv[2])
    model = MLP([784, 2000, 2000, 10], seed=base)
    for i in range(base, base + 1000):
        model.layers[0].bias.data[0] = i        # the weights tell which save they come from
        save(model, path, iteration=i)
        print(i, flush=True)
""")


def test_kill_9_during_save_leaves_a_loadable_checkpoint(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path = tmp_path / "big.npz"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    rnd = random.Random()
    for round_ in range(6):
        base = 1000 * (round_ + 1)
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(base)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, text=True)
        try:
            first = proc.stdout.readline()
            assert first.strip() == str(base), proc.stderr.read()
            time.sleep(rnd.uniform(0.0, 0.35))
        finally:
            proc.send_signal(signal.SIGKILL)
            rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        printed = [int(s) for s in (first + rest).split()]
        ckpt = load(path)                      # never a broken file
        it = ckpt.metadata["iteration"]
        assert it in (printed[-1], printed[-1] + 1)   # the last completed save, or one that finished unreported
        assert ckpt.params["layers.0.bias"][0] == it
        assert ckpt.params["layers.0.weight"].shape == (2000, 784)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    print(f"temp files left by killed saves: {len(leftovers)} of 6 kills")


# ====================================================================== refusal


class Evil:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (open, (str(self.sentinel), "w"))


def test_pickle_bearing_npz_is_refused_without_running_code(saved, tmp_path):
    path = saved[0]
    sentinel = tmp_path / "pwned"
    arrays = raw_arrays(path)
    arrays["param/evil"] = np.array([Evil(sentinel)], dtype=object)
    bad = tmp_path / "evil.npz"
    write_npz(bad, arrays)
    with pytest.raises(CheckpointError, match="pickle"):
        load(bad)
    with pytest.raises(CheckpointError, match="pickle"):
        load_model(bad)
    assert not sentinel.exists()


def test_plain_pickle_file_is_refused_without_running_code(tmp_path):
    import pickle

    sentinel = tmp_path / "pwned"
    bad = tmp_path / "model.npz"
    bad.write_bytes(pickle.dumps({"layers.0.weight": Evil(sentinel)}))
    with pytest.raises(CheckpointError, match="pickle"):
        load(bad)
    assert not sentinel.exists()


@pytest.mark.parametrize("content", [b"", np.random.default_rng(0).bytes(4096), b"PK\x03\x04" + b"\0" * 64,
                                     b"hello, world\n"], ids=["empty", "random", "zip-magic", "text"])
def test_files_that_are_not_checkpoints(tmp_path, content):
    bad = tmp_path / "x.npz"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError):
        load(bad)
    with pytest.raises(CheckpointError):
        load_model(bad)


def test_npz_without_meta_json_is_refused(tmp_path, saved):
    bad = tmp_path / "plain.npz"
    write_npz(bad, {"layers.0.weight": np.ones((3, 3))})
    with pytest.raises(CheckpointError, match="meta.json"):
        load(bad)
    arrays = raw_arrays(saved[0])
    del arrays["meta.json"]
    write_npz(bad, arrays)
    with pytest.raises(CheckpointError, match="meta.json"):
        load(bad)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointError):
        load(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError):
        load(tmp_path)


def test_npy_file_is_refused(tmp_path):
    bad = tmp_path / "weights.npy"
    np.save(bad, np.ones((3, 3)))
    with pytest.raises(CheckpointError):
        load(bad)


@pytest.mark.parametrize("meta_bytes", [b"\xff\xfe garbage", b"{not json", b'{"format": "something-else"}',
                                        b'{"format_version": 1}', b"[1, 2]"])  # the last: JSON, but no object
def test_corrupt_or_foreign_metadata(saved, tmp_path, meta_bytes):
    arrays = raw_arrays(saved[0])
    arrays["meta.json"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    bad = tmp_path / "bad.npz"
    write_npz(bad, arrays)
    with pytest.raises(CheckpointError):
        load(bad)


def test_metadata_naming_missing_optimizer_buffers(saved, tmp_path):
    arrays = raw_arrays(saved[0])
    meta = raw_meta(arrays)
    meta["optimizer"]["buffers"]["m"] += 5
    bad = tmp_path / "bad.npz"
    write_npz(bad, with_meta(arrays, meta))
    with pytest.raises(CheckpointError):
        load(bad)


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9, 0.999])
def test_truncated_checkpoint_is_refused(saved, tmp_path, fraction):
    data = saved[0].read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CheckpointError):
        load(bad)


def test_flipped_byte_in_array_data_is_refused(saved, tmp_path):
    path, model, _, _ = saved
    data = bytearray(path.read_bytes())
    needle = model.weights[0].data.tobytes()[:16]
    pos = bytes(data).index(needle)
    data[pos + 3] ^= 0x01
    bad = tmp_path / "flip.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load(bad)


def test_damaged_zip_directory_is_refused(saved, tmp_path):
    data = bytearray(saved[0].read_bytes())
    central = bytes(data).index(b"PK\x01\x02")
    data[central + 10: central + 12] = (99).to_bytes(2, "little")   # compression method of the first entry
    bad = tmp_path / "dir.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load(bad)


@pytest.mark.parametrize("key", ["param/layers.0.weight", "param/layers.1.bias", "optim/v/2"])
def test_tampered_array_fails_the_checksum(saved, tmp_path, key):
    arrays = raw_arrays(saved[0])                      # keeps the old meta.json and its checksum
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] += 1e-3
    bad = tmp_path / "tampered.npz"
    write_npz(bad, arrays)
    with pytest.raises(CheckpointError, match="checksum"):
        load(bad)


def test_tampered_dtype_or_extra_array_fails_the_checksum(saved, tmp_path):
    arrays = raw_arrays(saved[0])
    bad = tmp_path / "tampered.npz"
    write_npz(bad, dict(arrays, **{"param/layers.0.weight": arrays["param/layers.0.weight"].astype(np.float32)}))
    with pytest.raises(CheckpointError, match="one float dtype"):   # found from the headers, before the data
        load(bad)
    arrays["param/layers.1.bias"] = arrays["param/layers.1.bias"].astype(np.float32)  # consistent, but not signed
    write_npz(bad, {k: v.astype(np.float32) if k.startswith("param/") else v for k, v in arrays.items()})
    with pytest.raises(CheckpointError, match="checksum"):
        load(bad)
    arrays = raw_arrays(saved[0])
    write_npz(bad, dict(arrays, **{"param/extra": np.zeros(3)}))
    with pytest.raises(CheckpointError, match=r"unexpected \['extra'\]"):
        load(bad)
    # the unmodified re-save still loads (so the failures above are the tampering, not the re-save)
    write_npz(bad, arrays)
    load(bad)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 99, "1", None])
def test_newer_or_unknown_format_version_is_refused(saved, tmp_path, version):
    arrays = raw_arrays(saved[0])
    meta = raw_meta(arrays)
    meta["format_version"] = version
    bad = tmp_path / "future.npz"
    write_npz(bad, with_meta(arrays, meta))
    with pytest.raises(CheckpointError, match="version|format") as info:
        load(bad)
    if isinstance(version, int):   # names the file's version, says it is newer, and this library's version
        assert f"format {version}" in str(info.value) and "newer" in str(info.value)
        assert f"({FORMAT_VERSION})" in str(info.value)


def test_loading_into_a_different_architecture_is_a_clear_error(saved):
    path = saved[0]
    ckpt = load(path)
    wider = MLP([4, 6, 3], dtype=np.float64)
    with pytest.raises(ShapeError) as info:
        wider.load_state_dict(ckpt.params)
    msg = str(info.value)
    assert "layers.0.weight" in msg and "(5, 4)" in msg and "(6, 4)" in msg
    deeper = MLP([4, 5, 5, 3], dtype=np.float64)
    with pytest.raises(CheckpointError, match=r"layers\.2\.weight"):
        deeper.load_state_dict(ckpt.params)


def _resign(arrays, meta):
    """Recompute the checksum after editing the metadata, as a consistent (not tampered) file would have."""
    meta["checksum"] = ckpt_mod._checksum({k: v for k, v in arrays.items() if k != "meta.json"}, meta)
    return meta


def test_edited_metadata_is_refused_by_the_checksum(saved, tmp_path):
    arrays = raw_arrays(saved[0])
    meta = raw_meta(arrays)
    meta["metadata"]["epochs"] = 999  # the checksum covers the metadata too
    bad = tmp_path / "meta.npz"
    write_npz(bad, with_meta(arrays, meta))
    with pytest.raises(CheckpointError, match="checksum"):
        load(bad)


def test_architecture_that_does_not_fit_the_weights(saved, tmp_path):
    arrays = raw_arrays(saved[0])
    meta = raw_meta(arrays)
    meta["model"]["sizes"] = [4, 7, 3]
    bad = tmp_path / "arch.npz"
    write_npz(bad, with_meta(arrays, _resign(arrays, meta)))
    with pytest.raises(CheckpointError, match=r"layers\.0\.weight is \(5, 4\).*4-7-3.*needs \(7, 4\)"):
        load(bad)                              # refused from the headers, before any array is read
    meta["model"] = None
    write_npz(bad, with_meta(arrays, _resign(arrays, meta)))
    with pytest.raises(CheckpointError, match="architecture"):
        load_model(bad)


def test_checkpoint_module_constants():
    assert ckpt_mod.FORMAT == "tinygrad_mlp-checkpoint" and FORMAT_VERSION == 1
