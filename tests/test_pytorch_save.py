"""``tm.save`` / ``tm.load`` (issue 23): state dicts and nested containers round-trip through a file as safe as a
checkpoint (no pickle, atomic writes, bounded reads, one-line errors). Red on 411df7f: ``tm.save`` did not exist.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import CheckpointError, Tensor, nn
from tinygrad_mlp.optim import Adam

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None


class Net(nn.Module):
    def __init__(self):
        self.body = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x):
        return self.body(x)


def test_a_models_state_dict_saves_and_loads_into_a_new_model(tmp_path):
    net = Net()
    net(Tensor(np.random.default_rng(0).standard_normal((5, 4)), dtype=np.float32))  # running statistics move
    path = tm.save(net.state_dict(), tmp_path / "net.pt")
    state = tm.load(path)
    assert list(state) == list(net.state_dict())
    fresh = Net()
    assert fresh.load_state_dict(state) == ([], [])
    for (name, a), b in zip(net.state_dict().items(), fresh.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype


def test_nested_structures_of_arrays_tensors_and_numbers_round_trip(tmp_path):
    model = nn.Linear(3, 2)
    opt = Adam(model.parameters(), lr=1e-3)
    model(Tensor(np.ones((2, 3), np.float32))).sum().backward()
    opt.step()
    obj = {"epoch": 7, "loss": 0.125, "best": float("inf"), "name": "run", "done": False, "none": None,
           "model": model.state_dict(), "optimizer": opt.state_dict(), "history": [1.5, 2, (3, "x")],
           "weights": Tensor(np.arange(3.0), requires_grad=True), "scalar": np.float64(2.5), 3: "int key"}
    back = tm.load(tm.save(obj, tmp_path / "ckpt"))
    assert back["epoch"] == 7 and back["loss"] == 0.125 and back["best"] == float("inf") and back[3] == "int key"
    assert back["name"] == "run" and back["done"] is False and back["none"] is None
    assert back["history"] == [1.5, 2, (3, "x")] and isinstance(back["history"][2], tuple)
    assert isinstance(back["weights"], Tensor) and back["weights"].requires_grad
    np.testing.assert_array_equal(back["weights"].data, [0.0, 1.0, 2.0])
    assert back["scalar"] == 2.5 and isinstance(back["scalar"], np.float64)
    fresh = Adam(nn.Linear(3, 2).parameters(), lr=1e-3)
    fresh.load_state_dict(back["optimizer"])
    assert fresh.steps == 1


def test_the_file_holds_no_pickle_and_a_save_that_fails_keeps_the_old_file(tmp_path):
    path = tm.save({"w": np.ones(3)}, tmp_path / "w.pt")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["a0.npy", "tree.json.npy"]
    with pytest.raises(CheckpointError, match="state_dict"):
        tm.save({"model": nn.Linear(2, 2)}, path)  # a module: refused, and the old file is kept
    np.testing.assert_array_equal(tm.load(path)["w"], np.ones(3))
    with pytest.raises(CheckpointError, match="dtype object"):
        tm.save({"o": np.array([object()])}, path)


def _rewrite(path, members: dict):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(arr) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _tree(tree) -> bytes:
    return _npy(np.frombuffer(json.dumps({"format": "tinygrad_mlp-save", "format_version": 1, "tree": tree})
                              .encode(), dtype=np.uint8))


@pytest.mark.parametrize("members,match", [
    ({"a0.npy": _npy(np.array([{"x": 1}], dtype=object)), "tree.json.npy": _tree({"t": "array", "a": "a0"})},
     "pickle"),
    ({"a0.npy": _npy(np.ones(2))}, "no tree.json"),
    ({"tree.json.npy": _tree({"t": "array", "a": "a9"})}, "missing or repeated array"),
    ({"a0.npy": _npy(np.ones(2)), "tree.json.npy": _tree({"t": "value", "v": None})}, "a0"),
    ({"tree.json.npy": _tree({"t": "value", "v": 1})}, "value node"),
    ({"tree.json.npy": _tree({"t": "float", "v": "1" * 500})}, "number node"),
    ({"tree.json.npy": _tree({"t": "eval", "v": "__import__('os')"})}, "unknown node kind"),
    ({"tree.json.npy": _npy(np.frombuffer(b"{not json", dtype=np.uint8))}, "damaged"),
])
def test_hostile_files_are_refused_in_one_line(tmp_path, members, match):
    path = tmp_path / "bad.pt"
    _rewrite(path, members)
    with pytest.raises(CheckpointError, match=match) as info:
        tm.load(path)
    assert "\n" not in str(info.value)


def test_a_deeply_nested_structure_is_refused(tmp_path):
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(CheckpointError, match="nested"):
        tm.save(deep, tmp_path / "deep.pt")


def test_a_missing_file_and_a_training_checkpoint_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="nothing-here"):
        tm.load(tmp_path / "nothing-here.pt")


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed (an optional test oracle)")
def test_a_pytorch_state_dict_loads_through_numpy(tmp_path):
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    ours = Net().body
    assert ours.load_state_dict(tm.load(tm.save(state, tmp_path / "from_torch.pt"))) == ([], [])


def test_checkpoint_save_of_your_own_module_loads_back_and_the_cli_refuses_it_in_one_line(tmp_path, capsys):
    from tinygrad_mlp import checkpoint
    from tinygrad_mlp.cli import main

    net = Net()
    path = checkpoint.save(net, tmp_path / "net.npz", epoch=3)  # red on 411df7f: saved, but never loaded back
    fresh = Net()
    model, ckpt = checkpoint.load_model(path, model=fresh)
    assert model is fresh and ckpt.module == "Net" and ckpt.metadata["epoch"] == 3
    for a, b in zip(net.state_dict().values(), fresh.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CheckpointError, match=r"weights of a Net.*model=net") as info:
        checkpoint.load_model(path)
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="do not fit the Linear"):
        checkpoint.load_model(path, model=nn.Linear(4, 3))
    assert main(["eval", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert "weights of a Net" in err and len(err.splitlines()) == 1
