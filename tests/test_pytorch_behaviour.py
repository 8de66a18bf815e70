"""The Tensor behaviours where PyTorch and numpy disagree and the library now follows PyTorch (issues 23 and 28).

Each test failed on main at 411df7f (checked by running this file against that code: there ``size`` was
numpy's int, comparisons and ``argmax`` gave numpy arrays, ``tm.tensor`` was a module, ``f"{t:.3f}"`` raised
TypeError, ``x.max(1)`` gave the maxima and ``x.max(1)[1]`` silently the second of them, ``tm.arange(3)`` floats,
and ``tm.set_default_dtype`` did not exist), except ``test_a_bool_mask_tensor_indexes_as_a_mask``: that one
passed there (the mask was a numpy array) and fails if a bool Tensor index is read as row numbers (checked by
removing that case from ``__getitem__``), the silent wrong answer the new bool Tensors would otherwise bring.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import DTypeError, Tensor


def test_size_is_a_method_as_in_pytorch():
    x = Tensor(np.zeros((2, 3)))
    assert x.size() == (2, 3)
    assert x.size(1) == 3 and x.size(-2) == 2
    assert x.numel() == 6


def test_comparisons_give_bool_tensors_that_float_and_mean_follow():
    logits = Tensor(np.array([[0.1, 2.0, 0.3], [3.0, 0.0, 1.0], [0.0, 0.2, 0.1]]))
    y = tm.tensor([1, 0, 2])
    correct = logits.argmax(1) == y
    assert isinstance(correct, Tensor) and correct.dtype == np.bool_ and not correct.requires_grad
    accuracy = correct.float().mean()
    assert isinstance(accuracy, Tensor) and accuracy.item() == pytest.approx(2 / 3)
    assert (logits.argmax(1) == y).sum().item() == 2


def test_argmax_is_an_int64_tensor():
    idx = Tensor(np.array([[1.0, 5.0], [7.0, 2.0]])).argmax(dim=1)
    assert isinstance(idx, Tensor) and idx.dtype == np.int64
    assert idx.tolist() == [1, 0]


def test_tm_tensor_is_a_function_with_pytorchs_dtype_inference():
    assert tm.tensor([1.0]).dtype == np.float32
    assert tm.tensor([1, 2]).dtype == np.int64
    assert tm.tensor([True]).dtype == np.bool_
    assert tm.tensor(np.array([1.0])).dtype == np.float64
    with pytest.raises(DTypeError):
        tm.tensor([1, 2], requires_grad=True)


def test_format_of_a_one_element_tensor_formats_its_value():
    loss = Tensor([1.23456]).sum()
    assert f"{loss:.3f}" == "1.235"
    assert f"{loss}" == str(loss)


def test_max_with_a_dim_gives_values_and_indices():
    x = Tensor(np.array([[1.0, 9.0, 3.0], [4.0, 2.0, 8.0]]))
    values, indices = x.max(1)
    assert values.tolist() == [9.0, 8.0] and indices.tolist() == [1, 2]
    assert x.max(1)[1].tolist() == [1, 2]  # was the second maximum, 8.0: a silent wrong answer for PyTorch code
    assert x.min(dim=0).indices.tolist() == [0, 1, 0]
    assert x.max(axis=1).tolist() == [9.0, 8.0]  # numpy's keyword still gives the values


def test_arange_of_ints_is_int64_as_in_pytorch():
    assert tm.arange(3).dtype == np.int64 and tm.arange(3).tolist() == [0, 1, 2]
    assert tm.arange(0.0, 1.0, 0.5).dtype == np.float32


def test_default_dtype_is_respected_by_creation_and_python_floats():
    try:
        tm.set_default_dtype(np.float64)
        assert tm.get_default_dtype() == np.float64
        assert Tensor([1.0]).dtype == np.float64 and tm.tensor([1.5]).dtype == np.float64
        assert tm.zeros(2).dtype == np.float64 and tm.randn(2).dtype == np.float64
        assert tm.linspace(0, 1, 3).dtype == np.float64
        assert Tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32  # an array keeps its dtype
    finally:
        tm.set_default_dtype(np.float32)
    assert Tensor([1.0]).dtype == np.float32


def test_a_bool_mask_tensor_indexes_as_a_mask():
    x = Tensor(np.array([3.0, -1.0, 2.0]), requires_grad=True)
    picked = x[x > 0]
    assert picked.tolist() == [3.0, 2.0]
    picked.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]


def test_integer_tensors_promote_to_float_in_arithmetic_as_in_pytorch():
    counts = tm.tensor([1, 2, 3])
    assert (counts * 2.5).tolist() == [2.5, 5.0, 7.5] and (counts * 2.5).dtype == np.float32
    assert (counts / 2).dtype == np.float32 and (counts / 2).tolist() == [0.5, 1.0, 1.5]
    assert (counts + 1).dtype == np.int64
    mask = Tensor(np.array([1.0, -2.0])) > 0
    assert (mask + 1).tolist() == [2, 1]  # bool + int is int64, not a bool


def test_creation_functions_make_integer_and_bool_tensors_as_in_pytorch():
    assert tm.zeros(2, 3, dtype=np.int64).dtype == np.int64  # was refused: "dtype must be a floating type"
    assert tm.ones_like(tm.tensor([1, 2])).tolist() == [1, 1]
    assert tm.full((2,), 7).dtype == np.int64 and tm.full((2,), True).dtype == np.bool_
    assert tm.full((2,), 7.0).dtype == np.float32
    with pytest.raises(DTypeError):
        tm.zeros(2, dtype=np.int64, requires_grad=True)


def test_conversions_to_integer_dtypes_and_int_of_a_tensor():
    x = Tensor(np.array([1.7, -1.7]), requires_grad=True)
    as_int = x.astype(np.int32)  # was refused: "dtype must be a floating type"
    assert as_int.dtype == np.int32 and as_int.tolist() == [1, -1] and not as_int.requires_grad
    assert int(Tensor([3.9]).sum()) == 3  # was TypeError: int() of a Tensor
    assert [10, 20, 30][tm.tensor([1.0, 5.0]).argmax()] == 20  # an int64 tensor is an index


def test_comparing_with_a_non_number_is_false_not_an_array():
    t = Tensor(np.array([1.0, 2.0]))
    assert (t == None) is False  # noqa: E711  (was an array of False)
    assert (t != "a") is True
