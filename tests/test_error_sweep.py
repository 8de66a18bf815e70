"""The promise of the README, swept over the whole public API: everything raised on purpose is a
``TinygradMLPError``, said in one line.

``BAD_CALLS`` maps the name of every public function and class (of every public module, found as
``tests/test_docs.py`` finds them for api.md) to calls that are wrong in some way a user might
try: an unknown name, a wrong type, a bad shape, an empty list, a negative count. Each must raise
a ``TinygradMLPError`` (not numpy's or Python's complaint from deep inside) whose message is one line.
A public callable missing from the table fails ``test_every_public_callable_has_bad_calls``, so a new
public name cannot slip past the sweep. Calling with the wrong number of arguments is Python's own
``TypeError`` and is not swept.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import tinygrad_mlp as tm
from tinygrad_mlp import Tensor, TinygradMLPError
from tinygrad_mlp import autograd as ag
from tinygrad_mlp import (
    backprop, checkpoint, cli, data, engine, exercises, jit, learning, methods, native, numpy_protocol, optim, runs,
    threeway, train, viz,
)
from tinygrad_mlp import random as tr
from tinygrad_mlp import tensor_core as tt
from tinygrad_mlp.dtypes import any_dtype, float_dtype
from tinygrad_mlp.methods import TensorOps, check_device, shape_arg
from tinygrad_mlp.primitives import Function
from tinygrad_mlp.nn import functional as F
from tinygrad_mlp.nn import init as I
import tinygrad_mlp.nn as nn

from test_docs import public_modules, public_names

gradcheck = importlib.import_module("tinygrad_mlp.gradcheck")  # the package's `gradcheck` is the function


def _t(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


def _params():
    return [Tensor(np.zeros(2), requires_grad=True)]


def _model():
    return nn.MLP([2, 3, 2], seed=0)


def _w():
    return [np.zeros((3, 2)), np.zeros((2, 3))], [np.zeros(3), np.zeros(2)]


X = np.zeros((4, 2))
L = np.array([0, 1, 0, 1])

BAD_CALLS: dict[str, list] = {
    # ------------------------------------------------ tensor and creation
    "Tensor": [lambda: Tensor([[1.0, 2.0], [3.0]]), lambda: Tensor(np.ones(2), dtype="nope"),
               lambda: Tensor(np.ones(2), dtype=np.int64), lambda: Tensor("abc"), lambda: Tensor(object()),
               lambda: Tensor(np.ones(3))["a"], lambda: Tensor(np.ones(3))[5], lambda: Tensor(np.ones(3)).reshape("a"),
               lambda: Tensor(np.ones(3)).reshape(2, 2), lambda: Tensor(np.ones(3)).sum(axis=3),
               lambda: Tensor(np.ones(3)).transpose(1, 0), lambda: Tensor(np.ones(3)) @ Tensor(np.ones(2)),
               lambda: Tensor(np.ones(3)) + Tensor(np.ones(2)), lambda: Tensor(np.ones(3)) + "a",
               lambda: Tensor(np.ones(3)).item(), lambda: Tensor(np.ones(3)).backward(),
               lambda: Tensor(np.ones(3)).expand(2), lambda: Tensor(np.ones((2, 3))).log_softmax(axis=4),
               lambda: Tensor(np.ones((2, 3))).transpose(0, 2), lambda: bool(Tensor(np.ones(3))),
               lambda: len(Tensor(1.0)), lambda: Tensor(np.ones((2, 3))).squeeze(0),
               lambda: Tensor(np.ones((2, 3))).unsqueeze(4), lambda: Tensor(np.ones((2, 3))).permute(0, 0),
               lambda: Tensor(np.ones((2, 3))).swapaxes(0, 2), lambda: Tensor(np.ones((2, 3))).flatten(1, 0),
               lambda: Tensor(np.ones((2, 3))).sum(axis=0, dim=0), lambda: Tensor(np.ones((2, 3))).var(axis=5),
               lambda: Tensor(np.ones((1, 3))).var(axis=0, ddof=1), lambda: Tensor(np.ones((2, 3))).prod(axis=(0, 0)),
               lambda: Tensor(np.ones((2, 3))).cumsum(axis=(0, 1)), lambda: Tensor(np.ones((2, 3))).argmax(axis=2),
               lambda: Tensor(np.ones((2, 3))).flip(3), lambda: Tensor(np.ones((2, 3))).logsumexp(axis=-3),
               lambda: Tensor(np.ones((2, 3))).gather(1, np.array([[5]])),
               lambda: Tensor(np.ones((2, 3))).take_along_axis(np.array([0]), 0),
               lambda: Tensor(np.ones((2, 3))).astype("U3"), lambda: Tensor(np.ones((2, 3))).gelu("x"),
               lambda: Tensor(np.ones((2, 3))).softplus(beta=0.0)],
    "no_grad": [lambda: tm.no_grad(3)],  # nothing, or a function to decorate
    "is_grad_enabled": [],  # takes nothing
    "graph_tensors": [lambda: tt.graph_tensors(np.ones(2))],
    "shape_arg": [lambda: shape_arg(("a",)), lambda: shape_arg((2.5, 3))],
    "float_dtype": [lambda: float_dtype("int32", "Tensor"), lambda: float_dtype("nonsense", "Tensor")],
    # ------------------------------------------------ engine
    "Node": [],  # made by Tensor.apply only
    "Listener": [],  # a base class with no-op hooks
    "active_listeners": [],  # takes nothing
    "changed_in_place": [],  # low level: called by the in-place methods, swept below
    "InPlaceOps": [lambda: Tensor(np.ones(3)).add_(np.ones(2)), lambda: Tensor(np.ones(3)).fill_(np.ones(2)),
                   lambda: Tensor(np.ones(3)).copy_(np.ones(2)),
                   lambda: Tensor(np.ones(3), requires_grad=True).mul_(2),
                   lambda: Tensor.wrap(np.broadcast_to(np.ones(1), (3,))).zero_()],
    "NumpyProtocol": [lambda: np.cbrt(Tensor(np.ones(3), requires_grad=True)),
                      lambda: np.add(Tensor(np.ones(3)), 1, out=Tensor(np.ones(3))),
                      lambda: np.sum(Tensor(np.ones(3)), dtype=np.float64),
                      lambda: np.sum(Tensor(np.ones(3)), where=np.ones(3, dtype=bool))],
    "register": [lambda: numpy_protocol.register(np.add, 3)],
    "listen": [lambda: engine.listen("not a listener").__enter__()],
    "announce": [],  # low level: tells the listeners an event (their methods check what they are given)
    "made_from": [],  # low level: returns its array, after telling the listeners how it was made
    "enable_grad": [],  # takes nothing
    "initial_gradient": [lambda: methods.initial_gradient(_t(2), np.ones(3))],
    "walk": [],  # low level: its callers (Tensor.backward, autograd.grad, explain_backward) check their arguments
    "unbroadcast": [],  # low level, as walk
    "concatenate": [lambda: tm.concatenate([]), lambda: tm.concatenate([_t(2), _t(3, 1)]),
                    lambda: tm.concatenate([_t(2)], axis=2)],
    "stack": [lambda: tm.stack([]), lambda: tm.stack([_t(2), _t(3)]), lambda: tm.stack([_t(2)], axis=5)],
    "linear": [lambda: tm.linear(_t(2, 3), _t(4, 2)), lambda: tm.linear(_t(2, 3), _t(4, 3), _t(5))],
    "maximum": [lambda: tm.maximum(_t(2), _t(3)), lambda: tm.maximum(_t(2), "a")],
    "minimum": [lambda: tm.minimum(_t(2), _t(3))],
    "where": [lambda: tm.where(np.ones(3, bool), _t(2), _t(2))],
    "zeros": [lambda: tm.zeros(-1), lambda: tm.zeros("a"), lambda: tm.zeros(2, dtype=np.int32, requires_grad=True),
              lambda: tm.zeros(2, dtype="nope"), lambda: tm.zeros(2, dtype="U3")],
    "ones": [lambda: tm.ones(2.5), lambda: tm.ones((2, -3))],
    "full": [lambda: tm.full((2,), "x"), lambda: tm.full((-2,), 1.0), lambda: tm.full((2,), 1, requires_grad=True)],
    "eye": [lambda: tm.eye(-1), lambda: tm.eye(2, "a")],
    "arange": [lambda: tm.arange(0, 5, 0), lambda: tm.arange("a")],
    "rand": [lambda: tm.rand(2, seed=-1), lambda: tm.rand(2, seed="a")],
    "randn": [lambda: tm.randn(-2), lambda: tm.randn(2, seed=1.5)],
    "zeros_like": [lambda: tm.zeros_like(np.ones(2)), lambda: tm.zeros_like(_t(2), dtype=int, requires_grad=True)],
    "ones_like": [lambda: tm.ones_like([1.0])],
    "manual_seed": [lambda: tm.manual_seed(-1), lambda: tm.manual_seed("a")],
    "generator": [lambda: tr.generator(-5), lambda: tr.generator(True)],
    "detect_anomaly": [],  # takes nothing
    # ------------------------------------------------ PyTorch's names (issues 23 and 28)
    "tensor": [lambda: tm.tensor("abc"), lambda: tm.tensor([1, 2], requires_grad=True),
               lambda: tm.tensor([1.0], dtype="U3"), lambda: tm.tensor([[1.0], [2.0, 3.0]])],
    "as_tensor": [lambda: tm.as_tensor(["a"]), lambda: tm.as_tensor(np.ones(2), dtype="nope")],
    "from_numpy": [lambda: tm.from_numpy([1.0]), lambda: tm.from_numpy(np.array(["a"]))],
    "linspace": [lambda: tm.linspace(0, 1, -1), lambda: tm.linspace("a", 1, 3), lambda: tm.linspace(0, 1, 2.5)],
    "randint": [lambda: tm.randint(5, 2, (3,)), lambda: tm.randint(0, 5, 3), lambda: tm.randint(0.5, 2, (2,))],
    "empty": [lambda: tm.empty(-1)],
    "full_like": [lambda: tm.full_like(np.ones(2), 1.0), lambda: tm.full_like(_t(2), "x")],
    "rand_like": [lambda: tm.rand_like([1.0])],
    "randn_like": [lambda: tm.randn_like(_t(2), seed=-1)],
    "get_default_dtype": [],  # takes nothing
    "set_default_dtype": [lambda: tm.set_default_dtype(np.int64), lambda: tm.set_default_dtype("nope")],
    "dtype_or_default": [],  # a helper of the creation functions: their bad dtypes are swept above
    "scalar_dtype": [],  # the dtype rule of Tensor._lift, swept through arithmetic
    "operand_dtypes": [],  # the dtype rule of Tensor._operands, swept through arithmetic
    "any_dtype": [lambda: any_dtype("U3", "Tensor"), lambda: any_dtype("nonsense", "Tensor")],
    "check_device": [lambda: check_device("cuda", "to"), lambda: Tensor(np.ones(2)).to("cuda:0")],
    "retained": [],  # takes nothing
    "ValuesIndices": [],  # a named tuple made by max(dim) / min(dim)
    "cat": [lambda: tm.cat([]), lambda: tm.cat([_t(2), _t(2)], dim=1, axis=0), lambda: tm.cat([_t(2), _t(3, 1)])],
    "concat": [lambda: tm.concat([_t(2)], dim=3)],
    "max": [lambda: tm.max(_t(2, 3), (0, 1)), lambda: tm.max(_t(2, 3), 0, axis=1), lambda: tm.max(_t(2, 3), 4)],
    "min": [lambda: tm.min(_t(2, 3), 1.5), lambda: tm.min(_t(2), _t(3))],
    "mm": [lambda: tm.mm(_t(3), _t(3, 2)), lambda: tm.mm(_t(2, 3), _t(2, 3))],
    "bmm": [lambda: tm.bmm(_t(2, 2, 3), _t(3, 3, 2))],
    "t": [lambda: tm.t(_t(2, 3, 4))],
    "masked_fill": [lambda: tm.masked_fill(_t(2, 3), np.ones(3), 0.0),
                    lambda: tm.masked_fill(_t(2, 3), np.ones(4, bool), 0.0),
                    lambda: tm.masked_fill(_t(2, 3), np.ones(3, bool), _t(2))],
    "norm": [lambda: tm.norm(_t(3), p=-1), lambda: tm.norm(_t(3), p="nuc"), lambda: tm.norm(_t(3), dim=2)],
    "repeat_interleave": [lambda: tm.repeat_interleave(_t(3), -1), lambda: tm.repeat_interleave(_t(3), [1, 2]),
                          lambda: tm.repeat_interleave(_t(3), 2.5), lambda: tm.repeat_interleave(_t(3), 2, dim=1)],
    "tile": [lambda: tm.tile(_t(3), -1), lambda: tm.tile(_t(3), "a")],
    "equal": [],  # compares anything: a different shape is False, not an error
    "numel": [lambda: tm.numel("abc")],
    **{name: [lambda name=name: getattr(tm, name)("abc")]
       for name in ("abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "erf",
                    "softplus", "detach", "clone", "neg")},
    **{name: [lambda name=name: getattr(tm, name)(_t(2, 3), 4)]
       for name in ("softmax", "log_softmax", "logsumexp", "sum", "mean", "prod", "argmax", "argmin", "var", "std",
                    "cumsum", "squeeze", "unsqueeze", "flip")},
    **{name: [lambda name=name: getattr(tm, name)(_t(2, 3), _t(4))]
       for name in ("matmul", "eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "pow")},
    "any": [lambda: tm.any(_t(2, 3), 2)],
    **{name: [lambda name=name: getattr(tm, name)("abc")]
       for name in ("sinh", "cosh", "tan", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "asin",
                    "acos", "atan", "asinh", "acosh", "atanh", "sign", "floor", "ceil", "trunc", "log2", "log10",
                    "exp2", "square", "reciprocal", "rsqrt", "atleast_1d", "atleast_2d", "atleast_3d")},
    "round": [lambda: tm.round(_t(2), decimals=1.5)],
    "deg2rad": [lambda: tm.deg2rad("abc")],
    "rad2deg": [lambda: tm.rad2deg("abc")],
    "logaddexp": [lambda: tm.logaddexp(_t(2), _t(3))],
    "logaddexp2": [lambda: tm.logaddexp2(_t(2), _t(3))],
    "diff": [lambda: tm.diff(_t(3), 1.5), lambda: tm.diff(_t(3), 1, 2)],
    "roll": [lambda: tm.roll(_t(3), 1, 2), lambda: tm.roll(_t(3), (1, 2), 0), lambda: tm.roll(_t(3), 1.5, 0)],
    "fliplr": [lambda: tm.fliplr(_t(3))],
    "allclose": [],  # compares anything numpy can (a shape mismatch is numpy's broadcasting error: see isclose)
    "isclose": [],
    "is_floating_point": [lambda: tm.is_floating_point(["a"])],
    "is_tensor": [],  # any object
    "sort": [lambda: tm.sort(_t(3), 2)],
    "argsort": [lambda: tm.argsort(_t(3), 1)],
    "topk": [lambda: tm.topk(_t(3), 4), lambda: tm.topk(_t(3), 1.5), lambda: tm.topk(_t(3), 1, 2)],
    "flipud": [lambda: tm.flipud(_t())],
    **{name: [lambda name=name: getattr(tm, name)(_t(2, 3), _t(4))]
       for name in ("remainder", "fmod", "hypot", "arctan2", "atan2", "dot", "inner", "view_as")},
    "diagonal": [lambda: tm.diagonal(_t(2, 3), 0, 0, 0), lambda: tm.diagonal(_t(3), 0)],
    "trace": [lambda: tm.trace(_t(3))],
    "diag": [lambda: tm.diag(_t(2, 2, 2))],
    "tril": [lambda: tm.tril(_t(3))],
    "triu": [lambda: tm.triu(_t(3), 0.5)],
    "split": [lambda: tm.split(_t(4), 0), lambda: tm.split(_t(4), [1, 2]), lambda: tm.split(_t(4), 2, 1),
              lambda: tm.split(_t(4), 2.5), lambda: tm.split(_t(4), [1.5, 2.5])],
    "tensor_split": [lambda: tm.tensor_split(_t(4), 0), lambda: tm.tensor_split(_t(4), 2, 3),
                     lambda: tm.tensor_split(_t(4), 1.5), lambda: tm.tensor_split(_t(4), ["a"])],
    "chunk": [lambda: tm.chunk(_t(4), 0), lambda: tm.chunk(_t(4), 2.5)],
    "unbind": [lambda: tm.unbind(_t(4), 1)],
    "repeat": [lambda: tm.repeat(_t(2, 3), 2), lambda: tm.repeat(_t(2), -1)],
    "einsum": [lambda: tm.einsum("ij,jk", _t(2, 3)), lambda: tm.einsum("ij,jk", _t(2, 3), _t(4, 2)),
               lambda: tm.einsum("ij->k", _t(2, 3)), lambda: tm.einsum("i!", _t(2)), lambda: tm.einsum(3, _t(2)),
               lambda: tm.einsum("...i,...i", _t(2, 3), _t(4, 3)), lambda: tm.einsum("ijk", _t(2, 3)),
               lambda: tm.einsum("ij->ii", _t(2, 2))],
    "tensordot": [lambda: tm.tensordot(_t(2, 3), _t(4, 3), 5), lambda: tm.tensordot(_t(2, 3), _t(3, 2), ([0], [0, 1])),
                  lambda: tm.tensordot(_t(2, 3), _t(3, 2), "a"), lambda: tm.tensordot(_t(2, 3), _t(3, 2), ([5], [0]))],
    "outer": [lambda: tm.outer("a", _t(2))],
    "hstack": [lambda: tm.hstack([]), lambda: tm.hstack(_t(2)), lambda: tm.hstack([_t(2, 3), _t(3, 3)])],
    "vstack": [lambda: tm.vstack([_t(2), _t(3)])],
    "row_stack": [lambda: tm.row_stack([])],
    "dstack": [lambda: tm.dstack([_t(2, 3), _t(2, 4)])],
    "column_stack": [lambda: tm.column_stack([_t(2), _t(3)])],
    "array_split": [lambda: tm.array_split(_t(4), 0), lambda: tm.array_split(_t(4), 2, axis=1)],
    "numpy_split": [lambda: tm.numpy_split(_t(5), 2), lambda: tm.numpy_split(_t(5), 5, axis=2)],
    "hsplit": [lambda: tm.hsplit(_t(2, 5), 2)],
    "vsplit": [lambda: tm.vsplit(_t(5), 5)],
    "dsplit": [lambda: tm.dsplit(_t(2, 2), 2)],
    "without_grad": [],  # a helper of the methods: their bad arguments are swept above
    "all": [lambda: tm.all(_t(2, 3), dim=(0, 0))],
    "clamp": [lambda: tm.clamp(_t(2, 3), _t(4))],
    "clip": [lambda: tm.clip(_t(2, 3), _t(4))],
    "reshape": [lambda: tm.reshape(_t(2, 3), (4, 2))],
    "flatten": [lambda: tm.flatten(_t(2, 3), 2)],
    "permute": [lambda: tm.permute(_t(2, 3), (0, 0))],
    "transpose": [lambda: tm.transpose(_t(2, 3), 0, 2)],
    "swapaxes": [lambda: tm.swapaxes(_t(2, 3), 0, 2)],
    "gather": [lambda: tm.gather(_t(2, 3), 1, np.array([[5]]))],
    "take_along_axis": [lambda: tm.take_along_axis(_t(2, 3), np.array([0]), 0)],
    # ------------------------------------------------ gradcheck
    "numerical_grad": [lambda: tm.numerical_grad(lambda x: x.sum(), Tensor(np.ones(2, np.float32), requires_grad=True))],
    "analytic_grad": [lambda: gradcheck.analytic_grad(lambda x: x, np.ones(2))],
    "gradcheck": [lambda: tm.gradcheck(lambda x: x.sum(), Tensor(np.ones(2, np.float32), requires_grad=True)),
                  lambda: tm.gradcheck(lambda x: (x * x).sum(), _t(2), eps=-1.0)],
    "gradgradcheck": [lambda: gradcheck.gradgradcheck(lambda x: x.sum(), Tensor(np.ones(2, np.float32),
                                                                                  requires_grad=True))],
    "jvpcheck": [lambda: gradcheck.jvpcheck(lambda x: x, [Tensor(np.ones(2, np.float32))]),
                 lambda: gradcheck.jvpcheck(lambda x: x, [np.ones(2)], [np.ones(3)])],
    # ------------------------------------------------ autograd
    "grad": [lambda: ag.grad(_t(2).sum(), ["a"]), lambda: ag.grad(lambda x: x.sum(), argnums=5)(_t(2)),
             lambda: ag.grad(lambda x: x, argnums=0)(_t(2)), lambda: ag.grad(lambda x: "a")(_t(2))],
    "value_and_grad": [lambda: ag.value_and_grad(lambda x: x.sum(), argnums=(0, 0))(_t(2))],
    "vjp": [lambda: ag.vjp(lambda x: x)],
    "jvp": [lambda: ag.jvp(lambda x: x, (_t(2),), (_t(2), _t(2)))],
    "jacobian": [lambda: ag.jacobian(lambda x: x, mode="sideways")],
    "jacrev": [lambda: ag.jacrev(lambda x: x, argnums=3)(_t(2))],
    "jacfwd": [lambda: ag.jacfwd(lambda x: x, argnums=3)(_t(2))],
    "hessian": [lambda: ag.hessian(lambda x: x.sum(), argnums=(0, 1)), lambda: ag.hessian(lambda x: x, mode="up")],
    "hvp": [lambda: ag.hvp(lambda x: x.sum(), (_t(2),), (_t(2), _t(2))),
            lambda: ag.hvp(lambda x: x.sum(), (_t(2),), (_t(2),), mode="up")],
    # ------------------------------------------------ nn
    # (an abstract forward() raising NotImplementedError is Python's protocol for "subclass me", not swept)
    "Module": [lambda: _model().load_state_dict({}),
               lambda: _model().load_state_dict([1, 2]), lambda: nn.Module().register_buffer("b", _t(2))],
    "Linear": [lambda: nn.Linear(2, 3, init="kaiming"), lambda: nn.Linear(0, 3), lambda: nn.Linear(2, 3, seed=-1),
               lambda: nn.Linear(2, 3)(Tensor(np.ones((1, 4)))), lambda: nn.Linear("a", 3),
               lambda: nn.Linear(2, 3)("x")],
    "Sequential": [lambda: nn.Sequential(1), lambda: nn.Sequential(nn.ReLU())[3]],
    "ModuleList": [lambda: nn.ModuleList([1]), lambda: nn.ModuleList(nn.ReLU()), lambda: nn.ModuleList()[0]],
    "ModuleDict": [lambda: nn.ModuleDict({1: nn.ReLU()}), lambda: nn.ModuleDict({"a.b": nn.ReLU()}),
                   lambda: nn.ModuleDict()["x"], lambda: nn.ModuleDict({"a": 3})],
    "Flatten": [lambda: nn.Flatten(3)(_t(2, 2))],
    "Dropout": [lambda: nn.Dropout(1.5), lambda: nn.Dropout("a"), lambda: nn.Dropout(seed=-1)],
    "LayerNorm": [lambda: nn.LayerNorm(0), lambda: nn.LayerNorm(3)(_t(2, 4)), lambda: nn.LayerNorm(3, eps=0)],
    "BatchNorm1d": [lambda: nn.BatchNorm1d(0), lambda: nn.BatchNorm1d(3)(_t(2, 4)), lambda: nn.BatchNorm1d(3)(_t(1, 3)),
                    lambda: nn.BatchNorm1d(3, momentum=2.0)],
    "Sigmoid": [lambda: nn.Sigmoid()("a")],
    "ReLU": [lambda: nn.ReLU()(object())],
    "Tanh": [lambda: nn.Tanh()("a")],
    "Identity": [],  # returns anything it is given
    "LeakyReLU": [lambda: nn.LeakyReLU()("a")],
    "ELU": [lambda: nn.ELU()(None)],
    "GELU": [lambda: nn.GELU("fast"), lambda: nn.GELU()("a")],
    "SiLU": [lambda: nn.SiLU()("a")],
    "Softplus": [lambda: nn.Softplus(beta=0), lambda: nn.Softplus()("a")],
    "MSELoss": [lambda: nn.MSELoss(reduction="avg"), lambda: nn.MSELoss()(_t(2, 3), np.ones((2, 4)))],
    "CrossEntropyLoss": [lambda: nn.CrossEntropyLoss(reduction="batchmean"), lambda: nn.CrossEntropyLoss(label_smoothing=2),
                         lambda: nn.CrossEntropyLoss()(_t(2, 3), [0, 3])],
    "Softmax": [lambda: nn.Softmax()(_t(2, 2, 2)), lambda: nn.Softmax(dim=3)(_t(2, 2))],
    "LogSoftmax": [lambda: nn.LogSoftmax()(_t(2, 2, 2))],
    "Parameter": [lambda: nn.Parameter("a"), lambda: nn.Parameter([[1.0], [2.0, 3.0]])],
    "IncompatibleKeys": [],  # a named tuple of two lists: any values are kept
    "QuadraticCost": [lambda: nn.QuadraticCost("mean-ish"), lambda: nn.QuadraticCost()(_t(2, 3), [0, 7])],
    "L1Loss": [lambda: nn.L1Loss("avg"), lambda: nn.L1Loss()(_t(3), _t(2))],
    "HuberLoss": [lambda: nn.HuberLoss(delta=0)(_t(3), _t(3)), lambda: nn.HuberLoss()(_t(3), _t(2))],
    "SmoothL1Loss": [lambda: nn.SmoothL1Loss(beta=-1.0)(_t(3), _t(3))],
    "BCELoss": [lambda: nn.BCELoss()(_t(3) * 2, _t(3)), lambda: nn.BCELoss(weight=np.ones(4))(_t(3) * 0.5, _t(3))],
    "BCEWithLogitsLoss": [lambda: nn.BCEWithLogitsLoss(pos_weight=np.ones(2))(_t(3), _t(3))],
    "NLLLoss": [lambda: nn.NLLLoss()(_t(2, 3), [0, 3]), lambda: nn.NLLLoss(weight=[1.0])(_t(2, 3), [0, 1]),
                lambda: nn.NLLLoss(ignore_index=1.5)(_t(2, 3), [0, 1])],
    "MLP": [lambda: nn.MLP([3, 4, 2], activation="nope"), lambda: nn.MLP([3, 2], seed=-1), lambda: nn.MLP([3]),
            lambda: nn.MLP([3, "a"]), lambda: nn.MLP(5), lambda: nn.MLP([3, 2], init="kaiming"),
            lambda: nn.MLP([3, 2], output_activation="softmax")],
    "default_init": [],  # any activation name has a default (unknown names are refused by MLP itself)
    # ------------------------------------------------ nn.functional
    "sigmoid": [lambda: F.sigmoid("a")],
    "relu": [lambda: F.relu([1, "a"])],
    "tanh": [lambda: F.tanh("a")],
    "identity": [],  # returns anything it is given
    "leaky_relu": [lambda: F.leaky_relu("a")],
    "elu": [lambda: F.elu({})],
    "gelu": [lambda: F.gelu(_t(2), approximate="erf"), lambda: F.gelu("a")],
    "silu": [lambda: F.silu("a")],
    "softplus": [lambda: F.softplus(_t(2), beta=-1.0)],
    "softmax": [lambda: F.softmax(_t(2, 3), axis=5), lambda: F.softmax(_t(2, 3), axis=1, dim=1)],
    "log_softmax": [lambda: F.log_softmax(_t(2, 3), axis=-3)],
    "dropout": [lambda: F.dropout(_t(2), p=2.0), lambda: F.dropout(_t(2), seed=-3)],
    "activation": [lambda: F.activation("gelu_fast"), lambda: F.activation(3)],
    "one_hot": [lambda: F.one_hot([0, 10]), lambda: F.one_hot([[0]]), lambda: F.one_hot([0.5]),
                lambda: F.one_hot([[0, 1], [2]])],
    "check_reduction": [lambda: F.check_reduction("avg", F.MSE_REDUCTIONS, "mse_loss")],
    "check_label_smoothing": [lambda: F.check_label_smoothing(1.5, "cross_entropy"),
                              lambda: F.check_label_smoothing(True, "cross_entropy")],
    "mse_loss": [lambda: F.mse_loss(_t(2, 3), np.ones((2, 4))), lambda: F.mse_loss(_t(2, 3), [0, 7]),
                 lambda: F.mse_loss(_t(2, 3), [[1, 2], [3]]), lambda: F.mse_loss(_t(2, 3), np.ones((2, 3)), reduction="x"),
                 lambda: F.mse_loss(np.ones((2, 3)), np.ones((2, 3))), lambda: F.mse_loss(_t(2, 3), np.array([["a"] * 3] * 2))],
    "quadratic_cost": [lambda: F.quadratic_cost(_t(2, 3), [0, 7]), lambda: F.quadratic_cost(_t(3), [0]),
                       lambda: F.quadratic_cost(_t(2, 3), np.ones((2, 4)))],
    "l1_loss": [lambda: F.l1_loss(np.ones(2), np.ones(2)), lambda: F.l1_loss(_t(2), _t(3))],
    "huber_loss": [lambda: F.huber_loss(_t(2), _t(2), delta="a")],
    "smooth_l1_loss": [lambda: F.smooth_l1_loss(_t(2), _t(2), beta=True)],
    "binary_cross_entropy": [lambda: F.binary_cross_entropy(_t(2) - 2, _t(2)),
                             lambda: F.binary_cross_entropy(_t(2) * 0.5, _t(3))],
    "binary_cross_entropy_with_logits": [lambda: F.binary_cross_entropy_with_logits(_t(2), _t(2), reduction="avg")],
    "nll_loss": [lambda: F.nll_loss(_t(2, 3), [[0, 1]]), lambda: F.nll_loss(_t(2, 3), [0, 1], weight=np.ones(4)),
                 lambda: F.nll_loss(_t(2, 3), [0, -1], ignore_index=-100)],
    "cross_entropy": [lambda: F.cross_entropy(_t(2, 3), [0, 3]), lambda: F.cross_entropy(_t(2, 3), [0, 1], "sum"),
                      lambda: F.cross_entropy(_t(2, 3), [0, 1], ignore_index=1, weight=[1.0, 2.0]),
                      lambda: F.cross_entropy(_t(2, 3), np.full((2, 3), 1 / 3), ignore_index=0), lambda: F.cross_entropy(_t(2, 3), [0]),
                      lambda: F.cross_entropy(_t(3), [0]), lambda: F.cross_entropy(_t(2, 3), np.ones((2, 3))),
                      lambda: F.cross_entropy(_t(2, 3), [0, 1], reduction="avg"),
                      lambda: F.cross_entropy(_t(2, 3), [0, 1], label_smoothing=-0.1),
                      lambda: F.cross_entropy(_t(2, 3), _t(2, 3))],
    "loss": [lambda: F.loss("hinge"), lambda: F.loss(None),
             lambda: backprop.loss(*_w(), X, L, activation="nope")],
    # ------------------------------------------------ nn.init
    "calculate_gain": [lambda: I.calculate_gain("swish")],
    "uniform_": [lambda: I.uniform_(np.ones(2)), lambda: I.uniform_(_t(2), 1.0, 0.0)],
    "normal_": [lambda: I.normal_(_t(2), std=-1.0), lambda: I.normal_(_t(2), seed=-1)],
    "constant_": [lambda: I.constant_([1.0], 2.0)],
    "Function": [lambda: ag.Function(), lambda: ag.Function.apply(1.0)],
    "FunctionCtx": [lambda: ag.FunctionCtx(()).save_for_backward(np.ones(2))],
    "elementwise_grad": [lambda: ag.elementwise_grad(3), lambda: ag.elementwise_grad(lambda x: 1.0)(np.ones(2))],
    "flatten": [lambda: ag.flatten({"a": "text"}), lambda: ag.flatten([np.ones(2), np.ones(3)])[1](np.ones(4))],
    "check_grads": [lambda: ag.check_grads(lambda x: x, modes=["sideways"]), lambda: ag.check_grads(lambda x: x, order=0),
                    lambda: ag.check_grads(lambda x: (x * x).sum() + Tensor(x.data).sum() * 0 + x.detach().sum() * x.sum())(np.ones(2) * 3)],
    "inference_mode": [lambda: tm.inference_mode("yes"), lambda: tm.inference_mode(mode=2)],
    "Dataset": [],  # an abstract base class: its subclasses define the samples
    "TensorDataset": [lambda: tm.utils.data.TensorDataset(), lambda: tm.utils.data.TensorDataset(X, L[:2])],
    "Subset": [lambda: tm.utils.data.Subset(tm.utils.data.TensorDataset(X), [99])[0]],
    "random_split": [lambda: tm.utils.data.random_split(tm.utils.data.TensorDataset(X), [1, 1])],
    "default_collate": [lambda: tm.utils.data.default_collate([np.ones(2), np.ones(3)]),
                        lambda: tm.utils.data.default_collate([(1, 2), (1,)])],
    "clip_grad_value_": [lambda: nn.utils.clip_grad_value_([1.0], 1.0), lambda: nn.utils.clip_grad_value_(_t(2), -1)],
    "zeros_": [lambda: I.zeros_(None)],
    "ones_": [lambda: I.ones_(3)],
    "xavier_uniform_": [lambda: I.xavier_uniform_(_t(3))],
    "xavier_normal_": [lambda: I.xavier_normal_(_t(3))],
    "kaiming_uniform_": [lambda: I.kaiming_uniform_(_t(2, 2), mode="fan_mid")],
    "kaiming_normal_": [lambda: I.kaiming_normal_(_t(2, 2), nonlinearity="swish")],
    # ------------------------------------------------ optim
    "Optimizer": [lambda: optim.Optimizer(_params(), {"lr": -0.1}), lambda: optim.Optimizer(_params(), {})],
    "SGD": [lambda: optim.SGD([], lr=0.1), lambda: optim.SGD(_params(), lr=-1), lambda: optim.SGD(_params(), lr="a"),
            lambda: optim.SGD(_t(2), lr=0.1), lambda: optim.SGD([np.ones(2)], lr=0.1),
            lambda: optim.SGD([{"params": _params(), "lr": 0.1, "betas": (0.9, 0.9)}], lr=0.1),
            lambda: optim.SGD([{"lr": 0.1}], lr=0.1), lambda: optim.SGD(_params() * 2, lr=0.1),
            lambda: optim.SGD(_params(), lr=0.1).load_state_dict({}),
            lambda: optim.SGD(_params(), lr=0.1, momentum=0.9).load_state_dict({"lr": 0.1, "steps": 0}),
            lambda: optim.SGD(5, lr=0.1)],
    "Adam": [lambda: optim.Adam(_params(), betas=(0.9,)), lambda: optim.Adam(_params(), betas=0.9),
             lambda: optim.Adam(_params(), eps=0), lambda: optim.Adam(_params()).load_state_dict(None)],
    "AdamW": [lambda: optim.AdamW(_params(), weight_decay=-1), lambda: optim.AdamW([])],
    "RMSprop": [lambda: optim.RMSprop(_params(), alpha=1.5), lambda: optim.RMSprop(_params(), momentum=1.0)],
    "StepLR": [lambda: optim.StepLR(optim.SGD(_params(), lr=0.1), 0), lambda: optim.StepLR("opt", 1),
               lambda: optim.StepLR(optim.SGD(_params(), lr=0.1), 1).load_state_dict({"epoch": 1})],
    "CosineLR": [lambda: optim.CosineLR(optim.SGD(_params(), lr=0.1), 0),
                 lambda: optim.CosineLR(optim.SGD(_params(), lr=0.1), 5, min_lr=-1)],
    "CosineAnnealingLR": [lambda: optim.CosineAnnealingLR(optim.SGD(_params(), lr=0.1), 0),
                          lambda: optim.CosineAnnealingLR(optim.SGD(_params(), lr=0.1), 5, eta_min=-1)],
    "LRScheduler": [lambda: optim.LRScheduler(object()), lambda: optim.LRScheduler(optim.SGD(_params(), lr=0.1), 5)],
    "MultiStepLR": [lambda: optim.MultiStepLR(optim.SGD(_params(), lr=0.1), [-1])],
    "ExponentialLR": [lambda: optim.ExponentialLR(optim.SGD(_params(), lr=0.1), gamma=-1)],
    "LambdaLR": [lambda: optim.LambdaLR(optim.SGD(_params(), lr=0.1), lr_lambda=3)],
    "LinearLR": [lambda: optim.LinearLR(optim.SGD(_params(), lr=0.1), start_factor=0)],
    "ReduceLROnPlateau": [lambda: optim.ReduceLROnPlateau(optim.SGD(_params(), lr=0.1), mode="up"),
                          lambda: optim.ReduceLROnPlateau(optim.SGD(_params(), lr=0.1), factor=1.5)],
    "clip_grad_norm_": [lambda: optim.clip_grad_norm_(_params(), -1.0), lambda: optim.clip_grad_norm_([1.0], 1.0)],
    # ------------------------------------------------ the notes' backprop by hand
    "forward": [lambda: backprop.forward(*_w(), np.zeros((4, 3))), lambda: backprop.forward(*_w(), X, activation="nope")],
    "backprop": [lambda: backprop.backprop(*_w(), X, np.array([0, 5, 0, 1]))],
    "sgd_step": [lambda: backprop.sgd_step(*_w(), [np.zeros((2, 2))], [np.zeros(3)], 0.1)],
    "train_step": [lambda: backprop.train_step(*_w(), X, L, lr=0.1, loss="hinge")],
    "numerical_gradients": [lambda: backprop.numerical_gradients(*_w(), np.zeros((4, 5)), L)],
    "closed_form_last_layer": [lambda: backprop.closed_form_last_layer(np.ones(2), np.ones(3), 0.0, 1.0),
                               lambda: backprop.closed_form_last_layer("a", 1.0, 0.0, 1.0)],
    # ------------------------------------------------ threeway
    "Tolerance": [lambda: threeway.Tolerance(-1.0, 0.1)],
    "Tolerances": [lambda: threeway.Tolerances(1.0, 2.0)],
    "PairDiff": [],  # a plain record of results, made by three_way_check
    "Row": [],
    "ThreeWayResult": [],
    "Problem": [],
    "three_way_check": [lambda: threeway.three_way_check(_model(), X, L, loss="hinge"),
                        lambda: threeway.three_way_check(_model(), np.zeros((4, 3)), L)],
    "Nudges": [],  # a plain record, made by nudges
    "nudges": [lambda: learning.nudges(*_w(), np.zeros(2), 5)],
    "format_nudges": [],  # formats what nudges made
    "parameter_names": [lambda: learning.parameter_names(0), lambda: learning.parameter_names("3")],
    "per_example_average": [lambda: learning.per_example_average(*_w(), np.zeros((3, 2)), [0, 1])],
    "full_gradient": [lambda: learning.full_gradient(*_w(), np.zeros((0, 2)), [])],
    "gradient_noise": [lambda: learning.gradient_noise(*_w(), X, L, [5])],
    "saturation": [lambda: learning.saturation(*_w(), np.zeros((4, 3)))],
    "two_minima_cost": [],  # any numbers
    "two_minima_gradient": [],
    "descend": [lambda: learning.descend((0, 0), -1.0, 5), lambda: learning.descend((1, 2, 3), 0.1, 5)],
    "hidden_activations": [lambda: learning.hidden_activations(*_w(), np.zeros((4, 3)))],
    "mean_activation_per_digit": [lambda: learning.mean_activation_per_digit(np.zeros((3, 2)), [0, 1])],
    "top_activating": [lambda: learning.top_activating(np.zeros((3, 2)), 5)],
    "layer2_templates": [lambda: learning.layer2_templates([np.zeros((2, 2))])],
    "finish": [],  # saves the figure it is given
    "plot_descent_2d": [lambda: viz.plot_descent_2d(learning.two_minima_cost, {"a": np.zeros(3)})],
    "plot_gradient_noise": [lambda: viz.plot_gradient_noise({})],
    "plot_lr_sweep": [lambda: viz.plot_lr_sweep({1.0: {}})],
    "plot_hidden_neurons": [lambda: viz.plot_hidden_neurons(np.zeros((3, 784)), np.zeros((2, 1), int), np.zeros((3, 10)))],
    "notes_backprop": [lambda: exercises.notes_backprop(*_w(), X, L, bug="typo")],
    "expected_failures": [lambda: exercises.expected_failures("typo", 3)],
    "PlantedBug": [],  # a plain record describing a bug
    "rounding_floor": [lambda: gradcheck.rounding_floor(1.0, 0.0), lambda: gradcheck.rounding_floor(1.0, "a")],
    "gradient_tolerance": [lambda: gradcheck.gradient_tolerance(np.ones(2), 1.0, -1e-6)],
    "make_problem": [lambda: threeway.make_problem([3], loss="mse"), lambda: threeway.make_problem([3, 2], "nope")],
    "parse_sizes": [lambda: nn.parse_sizes("3-a"), lambda: nn.parse_sizes(""),
                    lambda: nn.parse_sizes("784"), lambda: nn.parse_sizes([3, 0])],
    "check_seconds": [],  # arithmetic on sizes the caller has parsed
    "lab_seconds": [],
    "starting_loss": [lambda: learning.starting_loss(nn.MLP([3, 2]), np.zeros((2, 4)), [0, 1])],
    "divergence_hint": [],  # a diagnosis: None when there is nothing to say
    "default_output_activation": [lambda: threeway.default_output_activation("hinge")],
    "canonical_loss": [lambda: threeway.canonical_loss("hinge")],
    "dtype_note": [lambda: threeway.dtype_note("nope")],
    "relative_difference": [lambda: threeway.relative_difference(np.ones(2), np.ones(3))],
    # ------------------------------------------------ data
    "read_idx": [lambda: data.read_idx("/nonexistent/file.idx")],
    "cache_dir": [lambda: data.cache_dir("cifar")],
    "search_dirs": [lambda: data.search_dirs(kind="cifar")],
    "download_mnist": [lambda: data.download_mnist(kind="cifar")],
    "load_mnist": [lambda: data.load_mnist(kind="cifar")],
    "synthetic_digits": [lambda: data.synthetic_digits(-1), lambda: data.synthetic_digits("a")],
    "load_synthetic": [lambda: data.load_synthetic(-5, 2)],
    "DataLoader": [lambda: data.DataLoader(X, L, batch_size=0), lambda: data.DataLoader(X, L[:3], batch_size=2),
                   lambda: tm.utils.data.DataLoader(object()), lambda: tm.utils.data.DataLoader([1], batch_sampler=[])],
    "ascii_digit": [lambda: data.ascii_digit(np.zeros(10))],
    # ------------------------------------------------ train and checkpoint
    # ------------------------------------------------ jit
    "compile": [lambda: tm.compile(42)],
    "CompiledStep": [lambda: jit.CompiledStep("step")],
    "uncapturable": [],  # says why the step being recorded (if any) must run eagerly; any text will do
    "guard_lines": [],  # low level: code for a replay of a recording, called by jit._build (and a faster backend)
    "build": [lambda: native.build(42, (), None, None)],  # native: a jit recording, not anything else
    # inline: low level, lines of a replay's source written from a jit recording, called by jit._build only
    **{name: [] for name in ("Plan", "forward_lines", "backward_covered", "backward_lines", "backward_reads", "pure",
                             "elementwise", "optimizer_lines", "optimizer_guards")},
    "TrainConfig": [lambda: train.TrainConfig(epochs=0), lambda: train.TrainConfig(batch_size=-1)],
    "FitResult": [],  # a plain record of results
    "Evaluation": [],
    "Callback": [],  # a base class with no-op hooks
    "fit": [lambda: train.fit(_model(), optim.SGD(_model().parameters(), lr=0.1), F.mse_loss, X, L[:3])],
    "evaluate": [lambda: train.evaluate(_model(), X, L[:3]), lambda: train.evaluate(_model(), np.zeros((4, 5)), L)],
    "predict": [lambda: train.predict(_model(), np.zeros((4, 5)))],
    "build_optimizer": [lambda: train.build_optimizer("lbfgs", _params(), 0.1),
                        lambda: train.build_optimizer("adam", _params(), 0.1, momentum=0.9)],
    "build_scheduler": [lambda: train.build_scheduler("exp", optim.SGD(_params(), lr=0.1), 3)],
    "validate_train_metadata": [lambda: train.validate_train_metadata([1, 2]),
                                lambda: train.validate_train_metadata({"train_state": {"version": 1}}),
                                lambda: train.validate_train_metadata({"train_state": {"version": 1}, "history": 5})],
    "save_checkpoint": [lambda: train.save_checkpoint("/tmp/x/ck.npz", _model(), bad=object())],
    "Checkpoint": [],  # a record made by load()
    "save": [lambda: checkpoint.save(_model(), "/tmp/x/ck.npz", bad=object())],
    "load": [lambda: checkpoint.load("/nonexistent/ck.npz")],
    "load_model": [lambda: checkpoint.load_model("/nonexistent/ck.npz")],
    # ------------------------------------------------ runs
    "new_run": [lambda: runs.new_run({"arch": "784-10-9"}), lambda: runs.new_run({"loss": "hinge"}),
                lambda: runs.new_run({"optimizer": "adam", "momentum": 0.9})],
    "resume_run": [lambda: runs.resume_run(checkpoint.Checkpoint({}, None, {}), {}, "x.npz")],
    "validate_settings": [lambda: runs.validate_settings({"arch": 5}, "x.npz"),
                          lambda: runs.validate_settings([], "x.npz")],
    "saved_settings": [lambda: runs.saved_settings(checkpoint.Checkpoint({}, None, {"settings": {}}), "x.npz")],
    "mlp_bytes": [],  # arithmetic on sizes the caller has checked
    "train_bytes": [],
    "train_seconds": [],
    "dataset_images": [],
    "inference_mode": [lambda: tm.inference_mode("yes"), lambda: tm.inference_mode(mode=2)],
    "Dataset": [],  # a record made by load_dataset
    "dataset_of": [lambda: runs.dataset_of(checkpoint.Checkpoint({}, None, {"dataset": "cifar"}), "x.npz"),
                   lambda: runs.dataset_of(checkpoint.Checkpoint({}, None, {"settings": {"synthetic": 5}}), "x.npz")],
    "is_checkpoint": [],  # answers True or False
    "read_arrays": [lambda: checkpoint.read_arrays("/nonexistent/x.npz")],
    "find_mnist": [lambda: data.find_mnist("/nonexistent/folder"), lambda: data.find_mnist(kind="cifar")],
    "checksum_mismatches": [lambda: data.checksum_mismatches(".", kind="cifar")],
    "loss_name": [lambda: F.loss_name("hinge"), lambda: F.loss_name(None)],
    "layer_summary": [lambda: learning.layer_summary(np.zeros((3, 2)), np.zeros(4, int))],
    "lr_sweep": [],  # trains; its inputs are checked by backprop.train_step
    "plateau_hint": [],  # a diagnosis that answers None when it has nothing to say
    # ------------------------------------------------ cli
    "UsageError": [],
    "parse_arch": [lambda: cli.parse_arch("784-a-10"), lambda: cli.parse_arch("5-10")],
    "load_dataset": [lambda: cli.load_dataset("cifar")],
    "format_confusion": [lambda: cli.format_confusion(np.zeros(3))],
    "format_bars": [lambda: cli.format_bars(np.zeros((2, 2))), lambda: cli.format_bars(np.zeros(3), width=-1)],
    "build_parser": [],  # takes nothing
    "main": [],  # returns an exit status rather than raising (tests/test_cli.py checks its messages)
    # ------------------------------------------------ viz
    "plot_first_layer_weights": [lambda: viz.plot_first_layer_weights(np.zeros((2, 5)), "/tmp/x/w.png")],
    "plot_training_curves": [lambda: viz.plot_training_curves([], "/tmp/x/c.png")],
    "plot_confusion": [lambda: viz.plot_confusion(np.zeros(3), "/tmp/x/c.png")],
    "plot_worst_digits": [lambda: viz.plot_worst_digits(np.zeros((2, 5)), [0, 1], [0, 1], [0.5, 0.5], "/tmp/x/d.png")],
    "worst_predictions": [lambda: viz.worst_predictions(np.zeros((3, 2)), [0, 1]),
                          lambda: viz.worst_predictions(np.zeros((2, 2)), [0, 1], k=-1)],
    "plot_output_activations": [lambda: viz.plot_output_activations(np.zeros(5), np.zeros(10), "/tmp/x/o.png")],
    "plot_decision_boundary": [lambda: viz.plot_decision_boundary(lambda p: p, np.zeros((3, 3)), [0, 1, 0], "/tmp/x/b.png")],
    "plot_report": [lambda: viz.plot_report(_model(), np.zeros((4, 5)), L, "/tmp/x/rep")],
    "to_dot": [lambda: viz.to_dot(np.zeros(2)), lambda: viz.to_dot(_t(2).sum(), rankdir="XY")],
    "render_dot": [lambda: viz.render_dot(123, "/tmp/x/g.svg")],
    "explain_backward": [lambda: viz.explain_backward("x")],
    "one_neuron_chain": [lambda: viz.one_neuron_chain("1-a")],
    "explain": [lambda: viz.explain([1, 100])],
    # ------------------------------------------------ convolutions (issue 26)
    "conv1d": [lambda: F.conv1d(_t(1, 2, 5), _t(3, 1, 3)), lambda: F.conv1d(_t(1, 1, 2), _t(1, 1, 3)),
               lambda: F.conv1d(_t(1, 1, 5), _t(1, 1, 3), stride=(1, 2))],
    "conv2d": [lambda: F.conv2d(_t(1, 3, 5, 5), _t(2, 2, 3, 3)), lambda: F.conv2d(_t(2, 5), _t(1, 1, 3, 3)),
               lambda: F.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="full"),
               lambda: F.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), dilation=0),
               lambda: F.conv2d(_t(1, 2, 5, 5), _t(2, 1, 3, 3), groups=3),
               lambda: F.conv2d(_t(1, 1, 5, 5), _t(2, 1, 3, 3), _t(3)), lambda: F.conv2d("x", _t(1, 1, 3, 3))],
    "max_pool1d": [lambda: F.max_pool1d(_t(1, 1, 2), 3), lambda: F.max_pool1d(_t(1, 1, 5), 2, padding=2)],
    "max_pool2d": [lambda: F.max_pool2d(_t(1, 1, 4, 4), 0), lambda: F.max_pool2d(_t(4, 4), 2),
                   lambda: F.max_pool2d(_t(1, 1, 4, 4), 2, return_indices=True),
                   lambda: F.max_pool2d(_t(1, 1, 4, 4), (2, 2, 2))],
    "avg_pool1d": [lambda: F.avg_pool1d(_t(1, 1, 2), 3), lambda: F.avg_pool1d(_t(1, 1, 5), 2, ceil_mode=True)],
    "avg_pool2d": [lambda: F.avg_pool2d(_t(1, 1, 4, 4), 2, divisor_override=0),
                   lambda: F.avg_pool2d(_t(1, 1, 4, 4), 5), lambda: F.avg_pool2d(_t(1, 1, 4, 4), 3, padding=2)],
    "conv_output_size": [],  # arithmetic on ints: the functions above check their arguments before using it
    "Geometry": [],  # a rule's setting, made by the functions above after their checks
    "Conv1d": [lambda: nn.Conv1d(0, 2, 3), lambda: nn.Conv1d(1, 2, 3)(_t(1, 2, 5)), lambda: nn.Conv1d(1, 2, "3")],
    "Conv2d": [lambda: nn.Conv2d(2, 3, 3, groups=2), lambda: nn.Conv2d(1, 2, 3, padding_mode="circular"),
               lambda: nn.Conv2d(1, 2, 3, padding="full"), lambda: nn.Conv2d(1, 2, 3)(_t(1, 1, 2, 2)),
               lambda: nn.Conv2d(1, 2, 3, stride=-1)],
    "MaxPool1d": [lambda: nn.MaxPool1d(5)(_t(1, 1, 3))],
    "MaxPool2d": [lambda: nn.MaxPool2d(2, padding=3)(_t(1, 1, 8, 8)), lambda: nn.MaxPool2d(2)("x")],
    "AvgPool1d": [lambda: nn.AvgPool1d(5)(_t(1, 1, 3))],
    "AvgPool2d": [lambda: nn.AvgPool2d(2, ceil_mode=True)(_t(1, 1, 4, 4))],
    "BatchNorm2d": [lambda: nn.BatchNorm2d(0), lambda: nn.BatchNorm2d(3)(_t(2, 3, 4)),
                    lambda: nn.BatchNorm2d(3)(_t(2, 4, 2, 2))],
    "LeNet": [lambda: nn.LeNet((0, 16)), lambda: nn.LeNet()(_t(2, 1, 27, 27)), lambda: nn.LeNet()(_t(2, 100))],
    "conv2d_forward": [lambda: backprop.conv2d_forward(np.zeros((1, 2, 5, 5)), np.zeros((1, 1, 3, 3)), np.zeros(1)),
                       lambda: backprop.conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), np.zeros(1))],
    "conv2d_backward": [lambda: backprop.conv2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 2, 5, 5)),
                                                         np.zeros((1, 1, 3, 3)))],
    "cnn_forward": [lambda: backprop.cnn_forward([np.zeros((2, 1, 3, 3)), np.zeros(2), np.zeros((3, 5)),
                                                  np.zeros(3)], np.zeros((1, 1, 4, 4)))],
    "cnn_backprop": [lambda: backprop.cnn_backprop([np.zeros((2, 1, 3, 3)), np.zeros(2), np.zeros((3, 8)),
                                                    np.zeros(3)], np.zeros((1, 1, 4, 4)), np.array([7]))],
    "cnn_three_way_check": [lambda: threeway.cnn_three_way_check(_model(), X, L)],
    "make_cnn_problem": [lambda: threeway.make_cnn_problem(kernel=9), lambda: threeway.make_cnn_problem(channels=0)],
    "CNNProblem": [],  # a plain record, made by make_cnn_problem
    "ModelKind": [],  # a table entry of checkpoint.MODEL_KINDS
    "expanded": [lambda: viz.expanded(np.zeros(2))],
    # ------------------------------------------------ ops' decompositions
    "decompose": [lambda: tm.ops.decompose(tm.ops.Linear(), "x", "w", "b"),
                  lambda: tm.ops.decompose(tm.ops.Linear(), _t(2, 3))],
    # ------------------------------------------------ web (the page of `serve`)
    "prepare_like_mnist": [lambda: _web().preprocess.prepare_like_mnist(np.zeros(784)),
                           lambda: _web().preprocess.prepare_like_mnist([["a"]]),
                           lambda: _web().preprocess.prepare_like_mnist(np.full((28, 28), np.nan))],
    "resample_matrix": [lambda: _web().preprocess.resample_matrix(0, 5), lambda: _web().preprocess.resample_matrix(3, 2.5)],
    "Snapshot": [lambda: _web().session.Snapshot.of("not a model", "mse", 1, "x"),
                 lambda: _web().session.Snapshot.of(nn.MLP([784, 10]), "hinge", 1, "x")],
    "Session": [lambda: _web().session.Session(nn.MLP([784, 10]), "mse", "x", None, "synthetic"),
                lambda: _web().session.Session(nn.MLP([784, 10]), "mse", "x", print, "cifar"),
                lambda: _web().app.build_session(None, None, "synthetic").start_training({"lr": -1}),
                lambda: _web().app.build_session(None, None, "synthetic").start_training({"dataset": "../x"}),
                lambda: _web().app.build_session(None, None, "synthetic").test_digit(10**6)],
    "TrainingJob": [],  # a record the Session makes; its settings are checked by Session.start_training (above)
    "build_session": [lambda: _web().app.build_session("/tmp/x/missing.npz"),
                      lambda: _web().app.build_session(None, None, "cifar")],
    "make_server": [lambda: _web().server.make_server("not a session"),
                    lambda: _web().server.make_server(_web().app.build_session(None, None, "synthetic"), port=70000),
                    lambda: _web().server.make_server(_web().app.build_session(None, None, "synthetic"),
                                                      host="256.1.1.1")],
    "serve": [lambda: _web().server.serve("not a server", open_browser=False)],
    "run": [lambda: _web().app.run("/tmp/x/missing.npz", open_browser=False),
            lambda: _web().app.run(None, port=-1, open_browser=False, test_dataset="synthetic")],
}


def _web():
    import tinygrad_mlp.web.app
    import tinygrad_mlp.web.preprocess
    import tinygrad_mlp.web.server
    import tinygrad_mlp.web.session  # noqa: F401

    return tm.web


def _public_callables() -> dict[str, object]:
    found = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if isinstance(obj, type) and issubclass(obj, BaseException):
                continue  # the error classes themselves
            if not getattr(obj, "__module__", "").startswith("tinygrad_mlp"):
                continue  # numpy's float32 as DEFAULT_DTYPE, typing aliases
            if module_name == "tinygrad_mlp.primitives" or obj is TensorOps or (
                    isinstance(obj, type) and issubclass(obj, Function)):
                continue  # rules (and their helpers) and the methods' mixin: used through the Tensor ops swept
                # under "Tensor" and the functions
            found.setdefault(name, obj)
    return found


def test_every_public_callable_has_bad_calls():
    missing = sorted(set(_public_callables()) - set(BAD_CALLS))
    assert not missing, f"add bad calls for {missing} to BAD_CALLS (or an empty list with a reason)"


# Calls that still leak a built-in exception, each as a strict xfail (once fixed it passes, the xfail turns
# into a failure and the entry must go). None are left; add one only with a reason and an issue.
KNOWN_LEAKS: set[str] = set()

CASES = [pytest.param(name, i, call, id=f"{name}-{i}",
                      marks=[pytest.mark.xfail(strict=True, reason="known leak")] if f"{name}-{i}" in KNOWN_LEAKS else [])
         for name, calls in BAD_CALLS.items() for i, call in enumerate(calls)]


@pytest.mark.parametrize("name,i,call", CASES)
def test_bad_call_raises_the_librarys_error_in_one_line(name, i, call, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_MLP_DATA", str(tmp_path / "nothing-here"))  # no real data, and no network:
    monkeypatch.setenv("TINYGRAD_MLP_CACHE", str(tmp_path / "cache"))
    with pytest.raises(TinygradMLPError) as info:
        with np.errstate(all="ignore"):
            call()
    message = str(info.value)
    assert message and "\n" not in message.strip(), f"{name}: the message is not one line: {message!r}"
