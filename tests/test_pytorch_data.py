"""``tm.utils.data`` (issue 28): Dataset, TensorDataset, Subset, random_split and a DataLoader with PyTorch's
signature and defaults, compared with ``torch.utils.data`` when PyTorch is installed. Red on 411df7f: the
module did not exist (``tm.utils`` raised AttributeError)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor, TinygradMLPError

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (an optional test oracle)")
X = np.arange(30, dtype=np.float64).reshape(10, 3)
Y = np.arange(10) % 3


def test_dataloader_has_pytorchs_defaults_and_keeps_its_dataset():
    data = tm.utils.data
    ds = data.TensorDataset(Tensor(X), Y)
    loader = data.DataLoader(ds)
    assert loader.dataset is ds and loader.batch_size == 1 and not loader.shuffle and len(loader) == 10
    batches = list(loader)
    assert len(batches) == 10
    xb, yb = batches[3]
    assert isinstance(xb, Tensor) and xb.shape == (1, 3) and xb.dtype == np.float64  # in order, no shuffling
    np.testing.assert_array_equal(xb.data, X[3:4])
    assert yb.dtype == np.int64 and yb.tolist() == [Y[3]]


@needs_torch
@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (4, False), (4, True), (10, False), (None, False)])
def test_batches_are_pytorchs(batch_size, drop_last):
    ours = tm.utils.data.DataLoader(tm.utils.data.TensorDataset(Tensor(X), Y), batch_size=batch_size,
                                    drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for (xb, yb), (xt, yt) in zip(got, want, strict=True):
        np.testing.assert_array_equal(xb.data, xt.numpy())
        np.testing.assert_array_equal(np.asarray(yb), yt.numpy())


class Squares(tm.utils.data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "label": i % 2, "weight": float(i)}


@needs_torch
def test_default_collate_of_a_custom_dataset_is_pytorchs():
    class TorchSquares(torch.utils.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return Squares()[i]

    got = list(tm.utils.data.DataLoader(Squares(), batch_size=2))
    want = list(torch.utils.data.DataLoader(TorchSquares(), batch_size=2))
    for ours, theirs in zip(got, want, strict=True):
        assert set(ours) == set(theirs)
        for key in ours:
            value = ours[key].data if isinstance(ours[key], Tensor) else ours[key]
            np.testing.assert_array_equal(value, theirs[key].numpy())
            assert value.dtype == theirs[key].numpy().dtype


def test_shuffle_draws_a_new_order_each_epoch_repeatable_with_manual_seed():
    loader = tm.utils.data.DataLoader(tm.utils.data.TensorDataset(X, Y), batch_size=10, shuffle=True)
    tm.manual_seed(0)
    first, second = [list(loader)[0][1].tolist() for _ in range(2)]
    assert sorted(first) == sorted(Y.tolist()) and first != second
    tm.manual_seed(0)
    assert list(loader)[0][1].tolist() == first
    seeded = tm.utils.data.DataLoader(tm.utils.data.TensorDataset(X, Y), batch_size=10, shuffle=True, generator=3)
    assert list(seeded)[0][1].tolist() == list(seeded)[0][1].tolist()  # an int seed: the same order each epoch


def test_random_split_and_subset():
    ds = tm.utils.data.TensorDataset(X, Y)
    train, test = tm.utils.data.random_split(ds, [7, 3], generator=0)
    assert len(train) == 7 and len(test) == 3
    assert sorted(train.indices + test.indices) == list(range(10))
    xb, _ = next(iter(tm.utils.data.DataLoader(test, batch_size=3)))
    np.testing.assert_array_equal(xb.data, X[test.indices])
    a, b = tm.utils.data.random_split(ds, [0.5, 0.5])
    assert len(a) == len(b) == 5


def test_bad_datasets_and_arguments_are_refused_in_one_line():
    data = tm.utils.data
    for call in [lambda: data.TensorDataset(X, Y[:3]), lambda: data.TensorDataset(),
                 lambda: data.DataLoader(X.tolist, batch_size=2), lambda: data.DataLoader(data.TensorDataset(X), 0),
                 lambda: data.DataLoader(data.TensorDataset(X), shuffle=True, sampler=[0, 1]),
                 lambda: data.DataLoader(data.TensorDataset(X), num_workers=-1),
                 lambda: data.random_split(data.TensorDataset(X), [3, 3]),
                 lambda: data.TensorDataset(X)[20]]:
        with pytest.raises(TinygradMLPError) as info:
            call()
        assert "\n" not in str(info.value)


def test_the_training_loaders_resumable_batching_is_unchanged():
    loader = tm.data.DataLoader(X, Y, batch_size=4, seed=0)  # shuffles by default, resumable
    assert loader.shuffle and len(loader) == 3
