"""tinygrad_mlp: reverse-mode automatic differentiation on numpy arrays, and the MLPs built with it.

>>> from tinygrad_mlp import Tensor
>>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
Tensor([2., 4., 6.])
"""

# ruff: noqa: E402  (the imports below come after _quiet_until_main() on purpose)
from ._interrupt import quiet_until_main as _quiet_until_main

_quiet_until_main()  # first: in the tinygrad-mlp command, Ctrl-C while numpy imports exits quietly (status 130)

import builtins as _builtins
import importlib as _importlib
import importlib.util as _importlib_util
import types as _types
import typing as _typing

import numpy as _np

from .anomaly import detect_anomaly
from .creation import (
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import get_default_dtype, set_default_dtype
from .errors import (
    AnomalyError,
    ArgumentError,
    CheckpointError,
    DataError,
    DataNotFoundError,
    DTypeError,
    GradcheckError,
    GraphError,
    IndexingError,
    ShapeError,
    TinygradMLPError,
    WriteError,
)

# PyTorch's top-level functions of tensors (tm.sin(x) is x.sin()); `max`, `sum`, `abs` ... shadow the builtins
# in this namespace only, as in torch's (nothing below uses the builtins).
from .functions import *  # noqa: F403
from .functions import __all__ as _functions_all
from .functions import stack
from .grad_mode import enable_grad, inference_mode, no_grad  # the engine's grad modes, also as bare decorators
from .gradcheck import gradcheck, numerical_grad
from .jit import compile  # tm.compile, as jax.jit / torch.compile (builtins.compile is untouched)
from .random import manual_seed
from .tensor_core import Tensor, concatenate, is_grad_enabled, linear, maximum, minimum, where
from .version import __version__

# PyTorch's dtype names, as numpy dtypes: tm.float32, tm.long, tm.bool ... (y.to(tm.long), dtype=tm.float64)
float16 = half = _np.float16
float32 = float = _np.float32
float64 = double = _np.float64
int32 = int = _np.int32
int64 = long = _np.int64
bool = _np.bool_

__all__ = [
    "AnomalyError", "ArgumentError", "CheckpointError", "DataError", "DataNotFoundError", "DTypeError",
    "GradcheckError", "GraphError", "IndexingError", "ShapeError", "TinygradMLPError", "WriteError", "Tensor",
    "detect_anomaly", "concatenate", "gradcheck",
    "is_grad_enabled", "linear", "maximum", "minimum", "no_grad", "numerical_grad", "stack", "where", "manual_seed",
    "zeros", "ones", "full", "eye", "arange", "rand", "randn", "zeros_like", "ones_like", "compile", "__version__",
    "tensor", "as_tensor", "from_numpy", "linspace", "randint", "empty", "full_like", "rand_like", "randn_like",
    "get_default_dtype", "set_default_dtype", "float16", "half", "float32", "float64", "double", "int32", "int64",
    "long",
    # PyTorch's functions, except those named like Python's own (max, sum, abs, round, pow, any, all ...) and the
    # dtype names float, int, bool: `from tinygrad_mlp import *` must not replace the builtins of the importing
    # module. They are attributes all the same (tm.max, tm.float).
    *[name for name in _functions_all if not hasattr(_builtins, name)],
    "save", "load", "enable_grad", "inference_mode",
]


def save(obj, f, **kwargs):
    """``tm.save(state_dict, path)``: a state dict (or nested dicts/lists/tuples of arrays, Tensors and numbers)
    written atomically to ``path``, without pickle (:func:`tinygrad_mlp.serialization.save`)."""
    from .serialization import save as save_file  # here: `import tinygrad_mlp` stays light

    return save_file(obj, f, **kwargs)


def load(f, **kwargs):
    """``tm.load(path)``: what :func:`save` wrote, read with a checkpoint's limits
    (:func:`tinygrad_mlp.serialization.load`)."""
    from .serialization import load as load_file

    return load_file(f, **kwargs)

# The submodules are attributes too (`tm.nn.Linear`, `tm.optim.SGD`, `tm.data`, `tm.viz`, ...), imported on first
# use by the module-level __getattr__ below (PEP 562), so `import tinygrad_mlp` stays as light as the engine:
# no matplotlib, urllib, argparse or tqdm until a submodule that needs them is touched. Any submodule or
# subpackage added later is found the same way, without an edit here. (`tm.gradcheck` stays the function
# gradcheck(), as it always was.)
if _typing.TYPE_CHECKING:  # the same names, spelled out for type checkers, which do not run __getattr__
    from . import anomaly as anomaly
    from . import autograd as autograd
    from . import backprop as backprop
    from . import checkpoint as checkpoint
    from . import cli as cli
    from . import data as data
    from . import errors as errors
    from . import jit as jit
    from . import nn as nn
    from . import ops as ops
    from . import optim as optim
    from . import primitives as primitives
    from . import tensor_core as tensor_core
    from . import threeway as threeway
    from . import train as train
    from . import version as version
    from . import viz as viz


def _submodule_names() -> list[str]:
    import pkgutil  # here, not at the top: only dir() needs it

    return [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]  # noqa: F405


def __getattr__(name: str) -> _types.ModuleType:
    # Only called for names not found the ordinary way; importing a submodule also binds it here, so this runs
    # once per submodule.
    if not name.startswith("_") and _importlib_util.find_spec(f"{__name__}.{name}") is not None:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_submodule_names()})
