"""Files and data the command line and the API can trust (issue 24, part 2): each test here was red on 411df7f.

Checkpoints compressed with anything but stored/deflate, saves that would replace a device or a pipe, outputs that
are not ours, settings read from a file, hostile training states, NaN outputs, the data's provenance, divergence,
long runs estimated up front, and the small things (a shell-quoted resume hint, long file names, --plot checks).
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import hostile_files as H
import numpy as np
import pytest

from tinygrad_mlp import checkpoint, data
from tinygrad_mlp.cli import main
from tinygrad_mlp.errors import CheckpointError, DataError, WriteError
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.optim import SGD
from tinygrad_mlp.train import fit

QUICK = ["--dataset", "synthetic", "--arch", "784-16-10", "--limit-train", "200", "--epochs", "1", "--no-progress"]


def _one_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-mlp: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(autouse=True)
def small_synthetic(monkeypatch):
    """The synthetic digits, drawn small (these tests check refusals, not accuracy)."""
    draw = data.synthetic.load_synthetic
    cache: dict = {}

    def small(n_train=10000, n_test=2000, seed=0):
        key = (min(n_train, 300), min(n_test, 100), seed)
        if key not in cache:
            cache[key] = draw(*key)
        return cache[key]
    monkeypatch.setattr(data.synthetic, "load_synthetic", small)


# ---------------------------------------------------------------------- checkpoints: compression, devices


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_checkpoint_compressed_with_bzip2_or_lzma_is_refused(tmp_path, method):
    good, _ = H.genuine(tmp_path / "good.npz")
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", compression=method) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    with pytest.raises(CheckpointError, match="compression method"):
        checkpoint.load(bad)


def test_save_and_fit_never_replace_a_pipe_with_a_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    model = MLP([4, 3], seed=0)
    with pytest.raises(WriteError, match="not a regular file"):
        checkpoint.save(model, fifo)
    x, y = np.random.default_rng(0).random((8, 4), dtype=np.float32), np.arange(8) % 3
    with pytest.raises(WriteError, match="not a regular file"):
        fit(model, SGD(model.parameters(), lr=0.1), "mse", x, y, epochs=1, batch_size=4, progress=False,
            checkpoint=fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# ---------------------------------------------------------------------- data: where it came from, said plainly


def _gz_mnist(folder: Path) -> Path:
    """The four MNIST files gzipped, all-zero images: valid IDX, but not the published files."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    for name, count in (("train", 60000), ("t10k", 10000)):
        images = bytes([0, 0, 8, 3]) + count.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(count * 784)
        (folder / f"{name}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images, compresslevel=1))
        labels = bytes([0, 0, 8, 1]) + count.to_bytes(4, "big") + bytes(np.arange(count, dtype=np.uint8) % 10)
        (folder / f"{name}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels, compresslevel=1))
    return folder


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No data folder configured, an empty cache, every mirror a closed local port."""
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    for kind in list(data.MIRRORS):
        monkeypatch.setitem(data.MIRRORS, kind, ["http://127.0.0.1:9/"])
    monkeypatch.chdir(tmp_path)


TINY_RUN = ["--arch", "784-4-10", "--limit-train", "50", "--epochs", "1", "--no-progress"]


def test_a_data_dir_missing_a_file_is_never_completed_from_the_environment(tmp_path, offline, monkeypatch, capsys):
    full = H.fake_mnist(tmp_path / "full")
    partial = H.fake_mnist(tmp_path / "partial")
    (partial / "t10k-labels-idx1-ubyte").unlink()
    monkeypatch.setenv(data.DATA_ENV, str(full))
    assert main(["train", "--data-dir", str(partial), *TINY_RUN]) == 1
    line = _one_error(capsys.readouterr().err)
    assert str(partial) in line and "t10k-labels-idx1-ubyte" in line
    assert not (tmp_path / "model.npz").exists()


def test_a_configured_data_folder_without_mnist_is_an_error_not_synthetic(tmp_path, offline, monkeypatch, capsys):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "mnsit-typo"))
    assert main(["train", *TINY_RUN]) == 1
    out, err = capsys.readouterr()
    line = _one_error(err)
    assert data.DATA_ENV in line and "mnsit-typo" in line and "epoch" not in out
    assert not (tmp_path / "model.npz").exists()


def test_local_mnist_that_differs_from_the_published_checksum_is_announced(tmp_path, offline, monkeypatch, capsys):
    monkeypatch.setenv(data.DATA_ENV, str(_gz_mnist(tmp_path / "copy")))
    assert main(["train", *TINY_RUN]) == 0
    out, err = capsys.readouterr()
    assert "SHA-256 differs" in err and "train-images-idx3-ubyte.gz" in err
    assert "on mnist" in out


def test_the_automatic_fallback_is_said_at_the_start_and_in_the_final_line(tmp_path, offline, capsys):
    assert main(["train", *TINY_RUN]) == 0
    out, err = capsys.readouterr()
    assert "SYNTHETIC" in err.splitlines()[0]
    final = out.strip().splitlines()[-1]
    assert final.startswith("done:") and "NOT MNIST" in final


def test_a_download_is_cut_off_at_its_size_cap(tmp_path):
    import http.server
    import threading

    sent = [0]

    class Endless(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()  # no Content-Length: the body ends when the server closes
            block = bytes(1 << 20)
            try:
                for _ in range(200):  # 200 MiB, more than any MNIST file
                    self.wfile.write(block)
                    sent[0] += len(block)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(DataError) as e:
            data.download_mnist(tmp_path / "dl", mirrors=[f"http://127.0.0.1:{server.server_address[1]}/"],
                                progress=False)
    finally:
        server.shutdown()
    assert "more than any" in str(e.value)
    assert sent[0] <= 80 << 20   # the client stopped reading at the cap (plus what sat in the socket buffers)
    assert not any((tmp_path / "dl").iterdir())


# ---------------------------------------------------------------------- NaN from finite weights, empty test sets


def _overflowing_model(path: Path) -> Path:
    """Finite weights (+-3e38, float32's edge) whose first layer sums inf and -inf: NaN for any real image."""
    model = MLP([784, 16, 16, 10], seed=0)
    w = model.layers[0].weight.data
    w[:, 0::2], w[:, 1::2] = 3e38, -3e38
    checkpoint.save(model, path, dataset="synthetic")
    return path


@pytest.mark.parametrize("command", [["eval"], ["predict", "--index", "0"], ["show-hidden", "--no-plot"]])
def test_nan_outputs_from_finite_weights_are_refused_in_one_line(tmp_path, command, capsys):
    path = _overflowing_model(tmp_path / "overflow.npz")
    assert main([command[0], str(path), *command[1:], "--dataset", "synthetic"]) == 1
    out, err = capsys.readouterr()
    assert "NaN" in _one_error(err) and "accuracy" not in out


def test_an_empty_test_set_has_no_accuracy(tmp_path):
    from tinygrad_mlp.train import evaluate

    with pytest.raises(ValueError, match="no examples"):
        evaluate(MLP([784, 10], seed=0), np.zeros((0, 784), np.float32), np.zeros(0, np.int64))


# ---------------------------------------------------------------------- eval and predict: settings read from a file


@pytest.mark.parametrize("synthetic", [{"n_train": 10**9}, {"n_test": 10**9}, {"digits": 5}, [1, 2], "default"])
@pytest.mark.parametrize("command", [["eval"], ["predict", "--index", "0"]])
def test_eval_and_predict_check_the_synthetic_settings_of_a_file(tmp_path, synthetic, command, capsys):
    path = tmp_path / "api.npz"
    checkpoint.save(MLP([784, 16, 10], seed=0), path, dataset="synthetic", settings={"synthetic": synthetic})
    assert main([command[0], str(path), *command[1:]]) == 1
    assert "settings.synthetic" in _one_error(capsys.readouterr().err)


def test_eval_draws_only_the_test_set_the_file_names(tmp_path, monkeypatch, capsys):
    asked = []
    draw = data.synthetic.load_synthetic

    def recording(n_train=10000, n_test=2000, seed=0):
        asked.append(n_train)
        return draw(min(n_train, 50), min(n_test, 50), seed)
    monkeypatch.setattr(data.synthetic, "load_synthetic", recording)
    path = tmp_path / "api.npz"
    checkpoint.save(MLP([784, 16, 10], seed=0), path, dataset="synthetic",
                    settings={"synthetic": {"n_train": 90000, "n_test": 50, "seed": 0}})
    assert main(["eval", str(path)]) == 0
    assert asked and max(asked) <= 1   # the training images are not drawn to score a model
    assert "50 images" in capsys.readouterr().out


# ---------------------------------------------------------------------- outputs: only ours are overwritten


def _targets(tmp_path: Path) -> dict[str, bytes]:
    H.genuine(tmp_path / "other-run.npz")
    made = {"notes.txt": b"my lecture notes\n", "results.csv": b"lr,acc\n3.0,0.95\n",
            "train-images-idx3-ubyte.gz": b"\x1f\x8b\x08\x00" + bytes(100),
            "metrics.json": json.dumps({"test_accuracy": 0.9, "settings": {}, "history": [],
                                        "library_version": "1"}).encode()}
    for name, content in made.items():
        (tmp_path / name).write_bytes(content)
    return {name: (tmp_path / name).read_bytes() for name in [*made, "other-run.npz"]}


@pytest.mark.parametrize("argv", [
    ["--out", "notes.txt"], ["--out", "results.csv"], ["--out", "train-images-idx3-ubyte.gz"],
    ["--out", "metrics.json"], ["--metrics-json", "other-run.npz"], ["--metrics-json", "notes.txt"],
    ["--resume", "run.npz", "--out", "notes.txt"]])
def test_train_overwrites_nothing_that_is_not_its_own(tmp_path, monkeypatch, argv, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *QUICK, "--out", "run.npz"]) == 0
    before = _targets(tmp_path)
    capsys.readouterr()
    extra = [] if "--resume" in argv else QUICK
    status = main(["train", *extra, *argv] + (["--epochs", "2"] if "--resume" in argv else []))
    assert status == 2 and "--force" in _one_error(capsys.readouterr().err)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_train_replaces_its_own_files_and_anything_with_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _targets(tmp_path)
    assert main(["train", *QUICK, "--out", "other-run.npz", "--metrics-json", "metrics.json"]) == 0
    assert checkpoint.is_checkpoint("other-run.npz") and "confusion_matrix" in json.loads(Path("metrics.json").read_text())
    assert main(["train", *QUICK, "--out", "notes.txt", "--force"]) == 0
    assert checkpoint.is_checkpoint("notes.txt")


# ---------------------------------------------------------------------- --resume: schema-valid but hostile values


@pytest.fixture(scope="module")
def resumable(tmp_path_factory):
    """A genuine run of `train` with Adam, one epoch, as its arrays (to edit and re-sign)."""
    folder = tmp_path_factory.mktemp("resumable")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        assert main(["train", "--dataset", "synthetic", "--arch", "784-8-10", "--limit-train", "100", "--epochs", "1",
                     "--no-progress", "--optimizer", "adam", "--lr", "0.01", "--out", "run.npz"]) == 0
    finally:
        os.chdir(cwd)
    return H.read_members(folder / "run.npz")


LOADER = ("metadata", "train_state", "loader")
GROUP = ("optimizer", "param_groups", 0)
HOSTILE_RESUMES = [
    (LOADER + ("rng_state", "state", "state"), -1), (LOADER + ("rng_state", "state", "inc"), 2**128),
    (LOADER + ("rng_state", "has_uint32"), 2**64), (LOADER + ("rng_state", "uinteger"), -1),
    (LOADER + ("epoch",), float("inf")), (LOADER + ("epoch",), 1.5),
    (("metadata", "train_state", "seconds"), 10**40), (("metadata", "train_state", "epoch_loss_sum"), 10**400),
    (GROUP + ("betas",), 0.9), (GROUP + ("betas",), [0.9]), (GROUP + ("betas",), [0.9, 0.999, 0.5]),
    (GROUP + ("betas",), [1, 2]), (GROUP + ("betas",), [-1.0, 0.5]), (GROUP + ("eps",), [1, 2]),
    (GROUP + ("weight_decay",), [2.0, 3.0]), (GROUP + ("lr",), 1e308), (GROUP + ("eps",), 0.5),
    (GROUP + ("weight_decay",), 1.5), (("optimizer", "lr"), 5.0), (GROUP + ("momentum",), 0.9),
]


@pytest.mark.parametrize("where,value", HOSTILE_RESUMES, ids=lambda v: str(v)[-40:])
def test_resume_refuses_hostile_values_in_one_line(tmp_path, resumable, where, value, capsys):
    meta = H.meta_of(resumable)
    node = meta
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path = H.write_npz(tmp_path / "hostile.npz", H.resign(resumable, meta))
    assert main(["train", "--resume", str(path), "--out", str(tmp_path / "out.npz"), "--epochs", "2",
                 "--no-progress"]) in (1, 2)
    _one_error(capsys.readouterr().err)
    assert not (tmp_path / "out.npz").exists()


# ---------------------------------------------------------------------- divergence: finite garbage


@pytest.mark.parametrize("optimizer", [["--optimizer", "sgd", "--lr", "1e6"], ["--optimizer", "adam", "--lr", "1e10"]])
def test_a_finite_but_exploded_loss_stops_the_run_with_a_hint(tmp_path, optimizer, capsys):
    out = tmp_path / "run.npz"
    status = main(["train", "--dataset", "synthetic", "--arch", "784-32-10", "--activation", "relu", "--loss", "ce",
                   *optimizer, "--limit-train", "300", "--epochs", "3", "--no-progress", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 1
    line = _one_error(err)
    assert "diverged" in line and "--lr" in line and "done:" not in stdout
    assert stdout.count("epoch ") == 1 and checkpoint.is_checkpoint(out)   # the epoch that showed it is kept


# ---------------------------------------------------------------------- long runs: estimated and refused up front


@pytest.mark.parametrize("argv,words", [
    (["gradcheck", "--arch", "784-1000-10", "--batch-size", "100"], "would take about"),
    (["lab", "--repeats", "1000000000", "--no-plot", "--dataset", "synthetic"], "would take about"),
    (["graph", "--chain", "-".join(["1"] * 3001), "--out", "-"], "at most 100"),
    (["graph", "--arch", "784-" + "4-" * 2999 + "10", "--out", "-"], "at most 100"),
    (["train", "--dataset", "synthetic", "--epochs", "100000000", "--no-progress"], "would take about"),
])
def test_long_runs_are_refused_before_they_start(tmp_path, monkeypatch, argv, words, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert words in _one_error(err) and out == ""


# ---------------------------------------------------------------------- small things


def test_a_255_byte_out_name_is_written(tmp_path, capsys):
    out = tmp_path / ("m" * 251 + ".npz")
    assert main(["train", *QUICK, "--out", str(out)]) == 0, capsys.readouterr().err
    assert checkpoint.is_checkpoint(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary or lock left behind


@pytest.mark.parametrize("command", [["train", *QUICK, "--plot"], ["lab", "--dataset", "synthetic", "--epochs", "1",
                                                                     "--repeats", "1", "--limit-train", "50"]])
def test_pictures_without_matplotlib_are_refused_before_any_work(tmp_path, monkeypatch, command, capsys):
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    from tinygrad_mlp import learning

    def no_work(*args, **kwargs):
        raise AssertionError("the experiment ran before the missing matplotlib was noticed")
    monkeypatch.setattr(learning, "gradient_noise", no_work)
    assert main(command) == 1
    out, err = capsys.readouterr()
    assert "matplotlib" in _one_error(err) and out == "" and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- checkpoint.read_arrays: the safe reader, public


def test_read_arrays_reads_any_npz_safely(tmp_path):
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "tree": np.frombuffer(b'{"a": 1}', np.uint8)}
    path = tmp_path / "plain.npz"
    np.savez(path, **arrays)
    got = checkpoint.read_arrays(path)
    assert set(got) == set(arrays) and all(np.array_equal(got[k], arrays[k]) for k in arrays)
    np.savez(tmp_path / "pickled.npz", x=np.array([{"code": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="pickled"):
        checkpoint.read_arrays(tmp_path / "pickled.npz")
    with zipfile.ZipFile(tmp_path / "bz.npz", "w", compression=zipfile.ZIP_BZIP2) as z, zipfile.ZipFile(path) as src:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
    with pytest.raises(DataError, match="compression method"):
        checkpoint.read_arrays(tmp_path / "bz.npz", error=DataError)


# ---------------------------------------------------------------------- one creation API


def test_tensor_constructors_are_the_creation_functions():
    import tinygrad_mlp as tm
    from tinygrad_mlp import Tensor

    tm.manual_seed(5)
    first = Tensor.randn(4).data
    tm.manual_seed(5)
    assert np.array_equal(Tensor.randn(4).data, first)
    tm.manual_seed(5)
    assert np.array_equal(tm.randn(4).data, first)
    assert Tensor.zeros(2, dtype="int64").dtype == tm.zeros(2, dtype="int64").dtype == np.int64
    with pytest.raises(TypeError):
        Tensor.zeros(2, dtype="int64", requires_grad=True)


@pytest.mark.parametrize("name,function", [("xavier", "xavier_uniform_"), ("he", "normal_"), ("random", "normal_")])
def test_linear_initialises_through_nn_init(monkeypatch, name, function):
    from tinygrad_mlp.nn import Linear
    from tinygrad_mlp.nn import init as nn_init

    seen = []
    original = getattr(nn_init, function)

    def spy(tensor, *args, **kwargs):
        seen.append(tensor.shape)
        return original(tensor, *args, **kwargs)
    monkeypatch.setattr(nn_init, function, spy)
    layer = Linear(6, 4, init=name, seed=0)
    assert (4, 6) in seen
    # the same numbers as the formulas of the notes' inits, drawn in float64 and rounded once
    rng = np.random.default_rng(0)
    want = {"xavier": lambda: rng.uniform(-np.sqrt(6 / 10), np.sqrt(6 / 10), (4, 6)),
            "he": lambda: rng.standard_normal((4, 6)) * np.sqrt(2 / 6), "random": lambda: rng.standard_normal((4, 6))}
    assert np.array_equal(layer.weight.data, want[name]().astype(np.float32))


def test_the_readme_names_the_pictures_show_hidden_and_lab_write(tmp_path, monkeypatch):
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "synthetic", "--arch", "784-16-16-10", "--limit-train", "200", "--epochs", "1",
                 "--no-progress", "--out", "notes.npz"]) == 0
    quick = {"show-hidden": ["--dataset", "synthetic"],
             "lab": ["--dataset", "synthetic", "--epochs", "1", "--repeats", "1", "--limit-train", "100", "--lrs", "3"]}
    for command, extra in quick.items():
        line = next(line for line in readme.splitlines() if line.startswith(f"tinygrad-mlp {command} "))
        argv, comment = line.split("#", 1)
        promised = re.findall(r"[\w-]+\.png", comment)
        assert promised, f"the README's comment on {command} does not name the pictures it writes"
        assert main([*shlex.split(argv)[1:], *extra]) == 0
        assert all((tmp_path / name).is_file() for name in promised), (promised, sorted(os.listdir(tmp_path)))


def test_pictures_never_replace_a_file_that_is_not_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *QUICK, "--out", "run.npz"]) == 0
    Path("weights.png").write_text("my notes, not a picture\n")
    Path("hidden-layer1.png").write_bytes(Path("run.npz").read_bytes())   # a checkpoint under a picture's name
    capsys.readouterr()
    for argv in (["show-weights", "run.npz"], ["show-hidden", "run.npz", "--dataset", "synthetic"]):
        assert main(argv) == 2 and "refusing to overwrite" in _one_error(capsys.readouterr().err)
    assert Path("weights.png").read_text() == "my notes, not a picture\n"
    assert checkpoint.is_checkpoint("hidden-layer1.png")


def test_building_the_parser_imports_no_command_s_machinery():
    import subprocess
    import sys

    code = ("import sys\nfrom tinygrad_mlp.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in ('tinygrad_mlp.threeway', 'tinygrad_mlp.viz', 'matplotlib') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
