"""Issue 15: hostile files and absurd arguments.

* Bombs (a checkpoint zip bomb, an IDX gzip bomb, a huge sparse raw IDX file, metadata claiming giant sizes)
  are refused with peak memory at most about twice what is legitimately loaded, measured with tracemalloc, and
  through the real command under an address-space limit smaller than the bomb.
* Every bad argument and bad file ends the real command (a subprocess) with exactly one line on stderr and a
  non-zero status, never a traceback; so does Ctrl-C while the modules import.
* Files: stale temporaries are cleaned, writes are atomic (a full disk names the file and what was kept),
  checkpoints respect the umask, two trainings cannot write one --out.

No test touches the network, and no test writes more than a few megabytes (bombs are compressed, big files sparse).
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import hostile_files as H
import numpy as np
import pytest

import tinygrad_mlp
from tinygrad_mlp import _guard, checkpoint, cli, data
from tinygrad_mlp.errors import CheckpointError, DataError, TinygradMLPError, WriteError
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.optim import SGD

REPO_ROOT = Path(tinygrad_mlp.__file__).resolve().parents[1]
QUICK = ["--dataset", "synthetic", "--arch", "784-16-10", "--limit-train", "200", "--epochs", "1", "--no-progress"]


# ---------------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------------


def _env(cwd: Path, **extra: str) -> dict:
    env = dict(os.environ)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", data.DATA_ENV):
        env.pop(var, None)  # and no data folder configured (a configured one without MNIST is an error)
    env.update({"PYTHONPATH": str(REPO_ROOT),
                data.CACHE_ENV: str(cwd / "cache"), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "no_proxy": "*", "MPLBACKEND": "Agg"})
    env.update(extra)
    return env


def _limits(address_space: int | None = None, file_size: int | None = None):
    def apply() -> None:
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    return apply


def run(args, cwd: Path, *, env: dict | None = None, address_space: int | None = None, file_size: int | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command, ``python -m tinygrad_mlp ARGS``, in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "tinygrad_mlp", *map(str, args)], cwd=cwd,
                          env=env or _env(cwd), capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_limits(address_space, file_size))


def refused(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exactly one line on stderr, a non-zero status, no traceback; the line contains every needle."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, (proc.returncode, proc.stdout[-500:], proc.stderr[-500:])
    assert len(lines) == 1, f"expected one line on stderr, got: {proc.stderr[-2000:]!r}"
    assert "Traceback" not in proc.stderr and lines[0].startswith("tinygrad-mlp: "), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def peak_of(fn) -> tuple[int, BaseException | None]:
    """Peak bytes traced while ``fn()`` runs (numpy's buffers included), and what it raised."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    raised = None
    try:
        fn()
    except BaseException as e:
        raised = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


def _train_quietly(argv) -> int:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return cli.main(argv)


# ---------------------------------------------------------------------------------------------------------------------
# files shared by the tests (made once)
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    f: dict[str, Path] = {}
    f["good"], f["legit_bytes"] = H.genuine(d / "good.npz")  # type: ignore[assignment]
    # a real checkpoint of 'train' (settings, train_state, history), for --resume
    assert _train_quietly(["train", *QUICK, "--out", str(d / "run.npz")]) == 0
    f["run"] = d / "run.npz"
    f["bomb"] = H.checkpoint_zip_bomb(d / "bomb.npz", f["good"])                     # + 2 GiB of zeros
    f["member_bomb"] = H.member_bomb(d / "member_bomb.npz", f["good"])              # a weight of 784 MiB
    arrays = H.read_members(f["good"])
    meta = H.meta_of(arrays)
    meta["model"] = dict(meta["model"], sizes=[784, 100000000, 10])
    f["giant_meta"] = H.write_npz(d / "giant_meta.npz", H.resign(arrays, meta))
    run_arrays = H.read_members(f["run"])
    run_meta = H.meta_of(run_arrays)
    run_meta["model"] = dict(run_meta["model"], sizes=[784, 100000000, 10])
    run_meta["metadata"]["settings"] = dict(run_meta["metadata"]["settings"], arch="784-100000000-10",
                                            sizes=[784, 100000000, 10])
    f["giant_run"] = H.write_npz(d / "giant_run.npz", H.resign(run_arrays, run_meta))
    narrow = MLP([784, 16, 5], seed=0)
    f["narrow"] = checkpoint.save(narrow, d / "narrow.npz")
    nan_arrays = dict(run_arrays)
    w = run_arrays["param/layers.0.weight"].copy()
    w[3, 7] = np.nan
    nan_arrays["param/layers.0.weight"] = w
    f["nan"] = H.write_npz(d / "nan.npz", H.resign(nan_arrays, run_meta | {"model": H.meta_of(run_arrays)["model"],
                                                                           "metadata": H.meta_of(run_arrays)[
                                                                               "metadata"]}))
    return f


def _edited(files, tmp_path: Path, name: str, edit, source: str = "run") -> Path:
    """A copy of a genuine checkpoint whose metadata ``edit(meta)`` changed, with the checksum recomputed."""
    arrays = H.read_members(files[source])
    meta = H.meta_of(arrays)
    edit(meta)
    return H.write_npz(tmp_path / name, H.resign(arrays, meta))


# ---------------------------------------------------------------------------------------------------------------------
# bombs: refused before decompressing or allocating, peak memory measured
# ---------------------------------------------------------------------------------------------------------------------


def test_checkpoint_zip_bomb_is_refused_from_the_directory(files):
    bomb = files["bomb"]
    assert bomb.stat().st_size < 4 * H.MiB  # 2 GiB inside
    legit = files["legit_bytes"]
    peak, err = peak_of(lambda: checkpoint.load(bomb))
    assert isinstance(err, CheckpointError) and "unexpected member 'extra'" in str(err)
    print(f"checkpoint zip bomb (2 GiB member): peak {peak} bytes, legit arrays {legit} bytes")
    assert peak <= 2 * legit
    # the genuine file, for comparison: loading it takes about its arrays
    peak_good, err = peak_of(lambda: checkpoint.load(files["good"]))
    assert err is None
    print(f"genuine checkpoint: peak {peak_good} bytes, legit arrays {legit} bytes")
    assert peak_good <= 2 * legit


def test_member_bomb_with_a_genuine_name_is_refused_from_its_header(files):
    peak, err = peak_of(lambda: checkpoint.load(files["member_bomb"]))
    assert isinstance(err, CheckpointError)
    assert "layers.0.weight is (262144, 784)" in str(err) and "784-16-10" in str(err)
    print(f"member bomb (784 MiB weight): peak {peak} bytes, legit arrays {files['legit_bytes']} bytes")
    assert peak <= 2 * files["legit_bytes"]


def test_metadata_claiming_giant_sizes_allocates_nothing(files):
    peak, err = peak_of(lambda: checkpoint.load_model(files["giant_meta"]))
    assert isinstance(err, CheckpointError)
    assert "layers.0.weight is (16, 784) but the architecture 784-100000000-10 it declares needs (100000000, 784)" \
        in str(err)
    print(f"metadata claiming 784-100000000-10: peak {peak} bytes, legit arrays {files['legit_bytes']} bytes")
    assert peak <= 2 * files["legit_bytes"]


def test_consistent_but_giant_checkpoint_is_refused_by_the_memory_budget(files, tmp_path, monkeypatch):
    monkeypatch.setattr(_guard, "memory_budget", lambda: 100_000)  # the machine has 100 kB
    with pytest.raises(CheckpointError, match=r"needs about .* of memory, more than this machine can give it"):
        checkpoint.load(files["good"])


def test_idx_gzip_bomb_is_refused_after_the_declared_data(tmp_path):
    images = np.zeros((10000, 28, 28), np.uint8)
    bomb = H.idx_gzip_bomb(tmp_path / "t10k-images-idx3-ubyte.gz", images, copies=64)  # + 1 GiB of zeros
    assert bomb.stat().st_size < 4 * H.MiB
    legit = images.nbytes
    peak, err = peak_of(lambda: data.read_idx(bomb))
    assert isinstance(err, DataError) and "more than 1048576 unexpected trailing bytes" in str(err)
    print(f"IDX gzip bomb (1 GiB after a valid file): peak {peak} bytes, legit {legit} bytes")
    assert peak <= 2 * legit


def test_huge_sparse_raw_idx_is_refused_before_reading(tmp_path):
    path = H.sparse_idx(tmp_path / "train-labels-idx1-ubyte", (60000,), 1 << 40)   # 1 TiB, no disk used
    peak, err = peak_of(lambda: data.read_idx(path))
    assert isinstance(err, DataError) and "unexpected trailing bytes" in str(err)
    assert peak <= 2 * 60000
    # a header that agrees with the huge size: refused by what the machine has, before allocating
    dims = (1 << 20, 1 << 10, 1 << 10)
    path = H.sparse_idx(tmp_path / "huge", dims, 16 + (1 << 40))
    peak, err = peak_of(lambda: data.read_idx(path))
    assert isinstance(err, DataError) and "needs about 1.0 TiB of memory" in str(err)
    assert peak <= 1 << 20
    print(f"sparse 1 TiB raw IDX: peak {peak} bytes")


def test_bombs_through_the_real_command_under_a_memory_limit(files, tmp_path):
    """With 1.5 GiB of address space (less than the 2 GiB bomb), each bomb still ends in one clear line."""
    limit = 3 * H.GiB // 2
    refused(run(["predict", files["bomb"], "--random"], tmp_path, address_space=limit), "unexpected member 'extra'")
    refused(run(["eval", files["giant_meta"], "--dataset", "synthetic"], tmp_path, address_space=limit),
            "784-100000000-10")
    refused(run(["predict", files["giant_meta"], "--random"], tmp_path, address_space=limit), "784-100000000-10")
    refused(run(["train", "--resume", files["giant_run"], "--no-progress"], tmp_path, address_space=limit),
            "784-100000000-10")
    refused(run(["predict", files["member_bomb"], "--random"], tmp_path, address_space=limit), "(262144, 784)")


# ---------------------------------------------------------------------------------------------------------------------
# arguments: one line, non-zero, no traceback
# ---------------------------------------------------------------------------------------------------------------------

ARGUMENT_CASES = {
    "train-seed": (["train", "--seed", "-1"], ["--seed", "-1"]),
    "predict-seed": (["predict", "GOOD", "--random", "--seed", "-1"], ["--seed"]),
    "show-weights-format": (["show-weights", "GOOD", "--out", "w.xyz"], ["unsupported picture format", ".png"]),
    "show-weights-folder": (["show-weights", "GOOD", "--out", "."], ["is a folder"]),
    "show-weights-no-suffix": (["show-weights", "GOOD", "--out", "weights"], ["no suffix"]),
    "graph-format": (["graph", "--out", "g.xyz"], ["unsupported picture format", ".svg"]),
    "graph-under-a-file": (["graph", "--out", "GOOD/g.svg"], ["cannot be written"]),
    "graph-huge-arch": (["graph", "--arch", "784-100000000-10"], ["needs about", "of memory"]),
    "graph-huge-batch": (["graph", "--arch", "784-16-10", "--batch-size", "1000000000"], ["needs about"]),
    "graph-batch-without-model": (["graph", "--batch-size", "1000000000"], ["--batch-size applies"]),
    "graph-huge-chain": (["graph", "--chain", "100000-100000-1"], ["needs about", "chain 100000-100000-1"]),
    "gradcheck-huge-batch": (["gradcheck", "--batch-size", "1000000000"], ["needs about"]),
    "train-absurd-arch": (["train", "--arch", "784-100000000000000000000-10"], ["needs about", "e+"]),
    "explain-layers": (["explain", "--layers", "20000"], ["--layers", "from 1 to 50", "got 20000"]),
    "explain-deep-arch": (["explain", "--arch", "-".join(["1"] * 60)], ["at most 50 layers"]),
    "data-dir-missing": (["train", "--data-dir", "nowhere", "--epochs", "1"], ["--data-dir", "does not exist"]),
    "eval-data-dir-missing": (["eval", "GOOD", "--data-dir", "nowhere"], ["does not exist"]),
    "plot-is-a-file": (["eval", "GOOD", "--dataset", "synthetic", "--plot", "GOOD"], ["not a folder"]),
    "show-hidden-format": (["show-hidden", "GOOD", "--out", "h.xyz", "--dataset", "synthetic"],
                           ["unsupported picture format"]),
    "lab-seed": (["lab", "--seed", "-1", "--no-plot", "--dataset", "synthetic"], ["--seed"]),
    "lab-format": (["lab", "--out", "l.xyz", "--dataset", "synthetic", "--limit-train", "10", "--lrs", "3"],
                   ["unsupported picture format"]),
}


@pytest.mark.parametrize("case", sorted(ARGUMENT_CASES))
def test_bad_arguments_end_in_one_line(case, files, tmp_path):
    args, needles = ARGUMENT_CASES[case]
    args = [str(files["good"]) if a == "GOOD" else a.replace("GOOD", str(files["good"])) for a in args]
    refused(run(args, tmp_path), *needles)
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.svg")) and not list(tmp_path.glob("*.dot"))


def test_train_beyond_the_machines_memory_names_the_estimate(tmp_path):
    """784-1000000-10 needs about 12 GiB: with 2 GiB of address space it is refused before anything is built."""
    line = refused(run(["train", "--arch", "784-1000000-10", "--dataset", "synthetic"], tmp_path,
                       address_space=2 * H.GiB), "training MLP 784-1000000-10", "needs about")
    assert "GiB of memory, more than this machine can give it" in line


def test_graph_into_a_read_only_folder(tmp_path):
    if os.geteuid() == 0:  # root writes through file modes; sysfs refuses new files even to root
        target = "/sys/graph.svg"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        target = str(ro / "graph.svg")
    refused(run(["graph", "--out", target], tmp_path), "cannot be written")


def test_non_ascii_file_names_with_an_ascii_terminal(tmp_path):
    env = _env(tmp_path, PYTHONIOENCODING="ascii")
    line = refused(run(["eval", "nöpe-✓.npz"], tmp_path, env=env), "no such checkpoint file")
    assert "\\xf6" in line or "\\u" in line
    ok = run(["train", *QUICK, "--out", "ünï.npz"], tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "ünï.npz").is_file() and "\\xfcn\\xef.npz" in ok.stdout


# ---------------------------------------------------------------------------------------------------------------------
# checkpoints: one line naming what is wrong
# ---------------------------------------------------------------------------------------------------------------------


def test_output_width_is_checked_against_the_ten_classes(files, tmp_path):
    for args in (["eval", files["narrow"], "--dataset", "synthetic"], ["graph", "--model", files["narrow"]],
                 ["predict", files["narrow"], "--random"]):
        refused(run(args, tmp_path), "5 outputs", "10 classes")
    ok = run(["show-weights", files["narrow"], "--out", "w.png"], tmp_path)  # needs only the first layer
    assert ok.returncode == 0 and (tmp_path / "w.png").is_file(), ok.stderr


def _raw_meta_member(tmp_path: Path, good: Path, name: str, content: bytes) -> Path:
    import zipfile

    with zipfile.ZipFile(good) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist() if i.filename != "meta.json.npy"]
    return H.write_zip(tmp_path / f"raw-{name}.npz", [*members, (name, content)])


def test_deeply_nested_or_raw_metadata(files, tmp_path):
    nested = b"[" * 100000 + b"]" * 100000
    deep = H.write_npz(tmp_path / "deep.npz", {**{k: v for k, v in H.read_members(files["good"]).items()
                                                  if k != "meta.json"},
                                               "meta.json": np.frombuffer(nested, np.uint8)})
    refused(run(["eval", deep, "--dataset", "synthetic"], tmp_path), "metadata is corrupt", "nested too deeply")
    npy_named = _raw_meta_member(tmp_path, files["good"], "meta.json.npy", b'{"format": 1}')
    refused(run(["eval", npy_named, "--dataset", "synthetic"], tmp_path), "not a valid .npy array")
    bare = _raw_meta_member(tmp_path, files["good"], "meta.json", b'{"format": 1}')
    refused(run(["predict", bare, "--random"], tmp_path), "unexpected member 'meta.json'")


def _set(path: str, value):
    def edit(meta: dict) -> None:
        *parents, last = path.split(".")
        node = meta
        for key in parents:
            node = node[key]
        node[last] = value
    return edit


BAD_METADATA = {  # path in meta.json: (value, words of the expected message)
    "model.sizes": (5, "model.sizes must be"),
    "model.activation": (["x"], "model.activation must be"),
    "model.init": ({}, "model.init must be"),
    "metadata": ([1, 2], "metadata must be an object"),
    "optimizer.lr": ("abc", "optimizer.lr must be a finite number"),
    "format_version": ("1", "format_version '1'"),
}
BAD_RESUME = {
    "metadata.settings.lr": ("3.0", "settings: lr must be a finite number > 0"),
    "metadata.settings.batch_size": (0, "batch_size must be an integer >= 1"),
    "metadata.train_state.seconds": ("abc", "train_state.seconds must be a finite number"),
    "metadata.history": ([1, 2], "history[0] must be an object"),
    "metadata.settings.arch": ("784-16-16-10", "do not match arch"),
    "metadata.train_state": ([], "holds no training state"),
}


@pytest.mark.parametrize("field", sorted(BAD_METADATA))
def test_wrong_metadata_types_with_a_recomputed_checksum(field, files, tmp_path):
    value, words = BAD_METADATA[field]
    bad = _edited(files, tmp_path, "bad.npz", _set(field, value))
    for args in (["eval", bad, "--dataset", "synthetic"], ["train", "--resume", bad, "--no-progress"]):
        refused(run(args, tmp_path), words)


@pytest.mark.parametrize("field", sorted(BAD_RESUME))
def test_resume_validates_as_strictly_as_eval(field, files, tmp_path):
    value, words = BAD_RESUME[field]
    bad = _edited(files, tmp_path, "bad.npz", _set(field, value))
    refused(run(["train", "--resume", bad, "--no-progress"], tmp_path), words)
    assert not (tmp_path / "model.npz").exists()


def test_every_activation_mlp_accepts_round_trips(tmp_path):
    from tinygrad_mlp.nn import functional

    names = [*functional.ACTIVATIONS, *getattr(functional, "EXTRA_ACTIVATIONS", {})]
    for name in names:
        model = MLP([4, 3, 2], activation=name, output_activation=None)
        rebuilt, _ = checkpoint.load_model(checkpoint.save(model, tmp_path / f"{name}.npz"))
        assert rebuilt.activation == name


def test_format_versions(files, tmp_path):
    for value, words in (("1", "must be an integer from 1 to 1"), (-7, "format_version -7"),
                         (True, "format_version True"), (2, "newer than this library reads (1)")):
        bad = _edited(files, tmp_path, "v.npz", _set("format_version", value), source="good")
        with pytest.raises(CheckpointError, match="version") as e:
            checkpoint.load(bad)
        assert words in str(e.value)
        assert "format 1, newer" not in str(e.value)


def test_non_finite_weights_are_refused_naming_the_tensor(files, tmp_path):
    for args in (["predict", files["nan"], "--random"], ["eval", files["nan"], "--dataset", "synthetic"]):
        refused(run(args, tmp_path), "layers.0.weight holds 1 NaN or infinite value")
    line = refused(run(["train", "--resume", files["nan"], "--out", "fresh.npz", "--epochs", "2", "--no-progress"],
                       tmp_path), "layers.0.weight")
    assert "learning rate" not in line and "kept" not in line and not (tmp_path / "fresh.npz").exists()


def test_divergence_never_claims_a_file_that_does_not_exist(tmp_path):
    from tinygrad_mlp.train import TrainingDiverged, fit

    model = MLP([784, 16, 10], seed=0)
    x, y = np.random.default_rng(0).random((50, 784), np.float32), np.arange(50) % 10
    with pytest.raises(TrainingDiverged) as e, np.errstate(all="ignore"):
        fit(model, SGD(model.parameters(), lr=1e30), "mse", x * 1e30, y, epochs=1, batch_size=10, progress=False,
            checkpoint=tmp_path / "fresh.npz", handle_signals=False)
    assert f"nothing was written to {tmp_path / 'fresh.npz'}" in str(e.value) and "kept" not in str(e.value)


# ---------------------------------------------------------------------------------------------------------------------
# data: a damaged file is an error, only absent files fall back
# ---------------------------------------------------------------------------------------------------------------------


def test_auto_with_a_corrupt_local_mnist_is_an_error(tmp_path):
    folder = H.fake_mnist(tmp_path / "mnist", bad_label=True)
    env = _env(tmp_path, **{data.DATA_ENV: str(folder)})
    proc = run(["train", "--no-download", "--epochs", "1", "--no-progress"], tmp_path, env=env)
    refused(proc, "train-labels-idx1-ubyte", "labels must be 0..9", "10")
    assert "SYNTHETIC" not in proc.stderr and "epoch" not in proc.stdout
    fine = run(["train", "--no-download", "--epochs", "1", "--no-progress", "--limit-train", "100",
                "--arch", "784-4-10"], tmp_path, env=_env(tmp_path, **{data.DATA_ENV: str(H.fake_mnist(
                    tmp_path / "good"))}))
    assert fine.returncode == 0 and "on mnist" in fine.stdout, fine.stderr


def test_auto_fallback_names_the_folders_searched_and_why_the_download_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setitem(data.MIRRORS, "mnist", ["http://127.0.0.1:9/"])
    tiny = (np.zeros((10, 784), np.float32), np.zeros(10, np.int64), np.zeros((10, 784), np.float32),
            np.zeros(10, np.int64))
    monkeypatch.setattr(data.synthetic, "load_synthetic", lambda **kw: tiny)
    used = cli.load_dataset("auto", None, None, download=True).name
    err = capsys.readouterr().err
    assert used == "synthetic" and len(err.strip().splitlines()) == 1
    assert str(tmp_path / "cache") in err and "Searched:" in err
    assert "http://127.0.0.1:9/" in err and "refused" in err.lower()


# ---------------------------------------------------------------------------------------------------------------------
# files: atomic, umask, stale temporaries, full disk, checked before training, one writer
# ---------------------------------------------------------------------------------------------------------------------


def test_full_disk_names_the_file_and_what_was_kept(files, tmp_path):
    before = (tmp_path / "model.npz")
    before.write_bytes(files["run"].read_bytes())
    proc = run(["train", *QUICK, "--out", "model.npz"], tmp_path, file_size=20_000)
    line = refused(proc, "model.npz: could not write the checkpoint", "File too large",
                   f"the previous {'model.npz'} was kept")
    assert before.read_bytes() == files["run"].read_bytes() and line
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    proc = run(["train", *QUICK, "--out", "new.npz"], tmp_path, file_size=20_000)
    refused(proc, "new.npz: could not write the checkpoint", "nothing was written")
    assert not (tmp_path / "new.npz").exists()


def test_metrics_and_pictures_are_written_atomically(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text('{"old": true}')

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match=r"metrics.json: could not write the metrics .No space left on device.; "
                                         "the previous .* was kept"):
        _guard.atomic_write(target, lambda f: f.write(b"{}" * 1000), "the metrics")
    assert target.read_text() == '{"old": true}' and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
    pytest.importorskip("matplotlib")
    from tinygrad_mlp import viz

    with pytest.raises(WriteError, match=r"weights.png: could not write the picture .*nothing was written"):
        viz.plot_first_layer_weights(np.zeros((4, 784), np.float32), tmp_path / "weights.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_outputs_are_checked_before_the_first_epoch(files, tmp_path):
    for args, words in ((["--out", f"{files['good']}/x.npz"], "--out"),
                        (["--metrics-json", f"{files['good']}/m.json"], "--metrics-json"),
                        (["--out", str(tmp_path)], "is a folder"),
                        (["--plot", str(files["good"])], "not a folder")):
        proc = run(["train", *QUICK, *args], tmp_path)
        refused(proc, words)
        assert "epoch" not in proc.stdout and not (tmp_path / "model.npz").exists()
    ok = run(["train", *QUICK, "--out", "new/folder/m.npz", "--metrics-json", "other/m.json"], tmp_path)
    assert ok.returncode == 0 and (tmp_path / "new/folder/m.npz").is_file(), ok.stderr  # folders made as needed
    assert json.loads((tmp_path / "other/m.json").read_text())["checkpoint"] == "new/folder/m.npz"


def test_checkpoints_respect_the_umask(tmp_path):
    model = MLP([4, 3], seed=0)
    old = os.umask(0o022)
    try:
        assert checkpoint.save(model, tmp_path / "a.npz").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert checkpoint.save(model, tmp_path / "b.npz").stat().st_mode & 0o777 == 0o600
        os.umask(0o002)
        (tmp_path / "a.npz").chmod(0o640)  # an existing file keeps its mode, as open() would
        assert checkpoint.save(model, tmp_path / "a.npz").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_are_removed_on_the_next_save(tmp_path):
    target = tmp_path / "model.npz"
    dead = tmp_path / f".model.npz.{_dead_pid()}-abc123.tmp"
    alive = tmp_path / f".model.npz.{os.getppid()}-abc123.tmp"   # a writer still running: not touched
    legacy = tmp_path / ".model.npz.k2j4h5g6.tmp"                # an older version's, two hours old
    other = tmp_path / f".other.npz.{_dead_pid()}-abc123.tmp"    # another target's: not this save's business
    for p in (dead, alive, legacy, other):
        p.write_bytes(b"x" * 1000)
    os.utime(legacy, (time.time() - 7200, time.time() - 7200))
    checkpoint.save(MLP([4, 3]), target)
    assert not dead.exists() and not legacy.exists() and alive.exists() and other.exists()
    assert checkpoint.load(target)


def test_kill_9_leftovers_are_cleaned_by_the_next_save(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text("import sys\nfrom tinygrad_mlp.checkpoint import save\nfrom tinygrad_mlp.nn import MLP\n"
                      "m = MLP([784, 1000, 1000, 10])\nprint('go', flush=True)\n"
                      "while True:\n    save(m, sys.argv[1])\n")
    target = tmp_path / "big.npz"
    leftovers = 0
    for delay in (0.05, 0.15, 0.3):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE,
                                env=_env(tmp_path), text=True)
        assert proc.stdout.readline().strip() == "go"
        time.sleep(delay)
        proc.kill()
        proc.wait()
        proc.stdout.close()
        leftovers = max(leftovers, len(list(tmp_path.glob(".big.npz.*.tmp"))))
    checkpoint.save(MLP([4, 3]), target)
    assert list(tmp_path.glob(".big.npz.*.tmp")) == []
    print(f"temporaries left by kill -9 before the next save: up to {leftovers}; after it: 0")


def test_two_trainings_cannot_write_the_same_out(tmp_path):
    first = subprocess.Popen([sys.executable, "-m", "tinygrad_mlp", "train", "--dataset", "synthetic", "--arch",
                              "784-16-10", "--epochs", "1000", "--no-progress", "--out", "shared.npz"], cwd=tmp_path,
                             env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = first.stdout.readline()
        assert line.startswith("training"), first.stderr.read() if first.poll() is not None else line
        second = run(["train", *QUICK, "--out", "shared.npz"], tmp_path)
        refused(second, "shared.npz: another process", f"(process {first.pid})", "already writing")
    finally:
        first.send_signal(signal.SIGTERM)
        _out, err = first.communicate(timeout=60)
    assert first.returncode == 143 and "saved to shared.npz" in err
    assert not (tmp_path / ".shared.npz.lock").exists()


_TRY_LOCK = ("import sys\nfrom tinygrad_mlp import _guard\n"
             "try:\n    _guard.exclusive_lock(sys.argv[1], 'a test').__enter__()\n"
             "except Exception as e:\n    print(type(e).__name__, e)\n")


def test_lock_is_exclusive_and_released(tmp_path):
    with _guard.exclusive_lock(tmp_path / "new" / "folder" / "x.npz", "a test"):   # its folder is made
        assert (tmp_path / "new" / "folder" / ".x.npz.lock").is_file()
    target = tmp_path / "x.npz"
    with _guard.exclusive_lock(target, "a test"):
        assert (tmp_path / ".x.npz.lock").read_text() == str(os.getpid())
        probe = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(target)], env=_env(tmp_path),
                               capture_output=True, text=True)
        assert probe.stdout.startswith("WriteError") and "already writing a test" in probe.stdout, probe
    assert not (tmp_path / ".x.npz.lock").exists()
    with _guard.exclusive_lock(target, "a test"):
        pass


# ---------------------------------------------------------------------------------------------------------------------
# Ctrl-C while the modules import
# ---------------------------------------------------------------------------------------------------------------------

# The console script's code (argv[0] is tinygrad-mlp), which also says when the first SIGINT handler is put in
# place, and whether numpy had been imported by then: `armed False`. The delays count from that moment. Before
# it, while Python starts and finds the package, Ctrl-C is still Python's own (a KeyboardInterrupt traceback),
# and how long that takes depends on the machine's load: counted from a line printed before the import, a delay
# ran out inside that window whenever the child was descheduled or its path lookups were slow.
_LAUNCH = ("import runpy, signal, sys\n"
           "sys.argv = ['tinygrad-mlp', 'train', '--dataset', 'synthetic', '--epochs', '1000', '--no-progress']\n"
           "set_handler = signal.signal\n"
           "def announce(signum, handler):\n"
           "    previous = set_handler(signum, handler)\n"
           "    if signum == signal.SIGINT and signal.signal is announce:\n"
           "        signal.signal = set_handler  # the first one only; later calls go straight through\n"
           "        print('armed', 'numpy' in sys.modules, flush=True)\n"
           "    return previous\n"
           "signal.signal = announce\n"
           "runpy.run_module('tinygrad_mlp', run_name='__main__', alter_sys=True)\n")


def _default_sigint() -> None:
    """In the child, before it starts: Ctrl-C as a terminal gives it (a test run started in the background with
    `&` inherits SIGINT ignored, and the command rightly keeps an ignored SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("delay", [0.03, 0.06, 0.1, 0.15, 0.25])
def test_ctrl_c_while_importing_exits_quietly_with_130(delay, tmp_path):
    """SIGINT ``delay`` seconds after the command (the console script's code: argv[0] is tinygrad-mlp) puts its
    Ctrl-C handler in place, which it must do before numpy's import starts: during numpy's import (about 0.1 s)
    and just after, before and as main() starts."""
    proc = subprocess.Popen([sys.executable, "-c", _LAUNCH], cwd=tmp_path, env=_env(tmp_path), preexec_fn=_default_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        readable, _, _ = select.select([proc.stdout], [], [], 60)
        armed = proc.stdout.readline().split() if readable else ["nothing within 60 s"]
        assert armed == ["armed", "False"], (armed, proc.poll())
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, (proc.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and lines[0].startswith("tinygrad-mlp: "), err
    assert "interrupted" in lines[0]


def test_only_the_command_changes_how_ctrl_c_behaves(monkeypatch, tmp_path):
    from tinygrad_mlp import _interrupt

    for argv0, orig, expected in (("/venv/bin/tinygrad-mlp", [], True), ("-m", ["python", "-m", "tinygrad_mlp"], True),
                                  ("script.py", ["python", "script.py"], False), ("", ["python"], False)):
        monkeypatch.setattr(sys, "argv", [argv0])
        monkeypatch.setattr(sys, "orig_argv", orig, raising=False)
        assert _interrupt.is_the_command() is expected
    # a program that imports the library keeps Python's KeyboardInterrupt
    probe = subprocess.run([sys.executable, "-c", ("import signal, tinygrad_mlp.cli\n"
                            "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)")],
                           env=_env(tmp_path), capture_output=True, text=True)
    assert probe.stdout.strip() == "True", probe.stderr


def test_readme_says_the_checksum_is_not_a_signature():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "detects damage, not forgery" in text


def test_write_errors_are_library_errors_and_os_errors():
    assert issubclass(WriteError, TinygradMLPError) and issubclass(WriteError, OSError)


def test_a_reader_that_goes_away_ends_the_command_quietly():
    # `tinygrad-mlp explain | head -1` once head has exited: every write meets a closed pipe (EPIPE)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "tinygrad_mlp", "explain", "--arch", "2-2-1"],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141
