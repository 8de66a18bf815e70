"""tinygrad_mlp: reverse-mode automatic differentiation on numpy arrays, and the MLPs built with it.

>>> from tinygrad_mlp import Tensor
>>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
Tensor([2., 4., 6.])
"""

__version__ = "0.1.0"

from .errors import (
    AnomalyError,
    ArgumentError,
    CheckpointError,
    DataError,
    DTypeError,
    GradcheckError,
    GraphError,
    IndexingError,
    ShapeError,
    TinygradMLPError,
)
from .anomaly import detect_anomaly
from .gradcheck import gradcheck, numerical_grad
from .tensor import Tensor, concatenate, is_grad_enabled, linear, maximum, minimum, no_grad, stack, where
from .random import manual_seed
from .creation import arange, eye, full, ones, ones_like, rand, randn, zeros, zeros_like

__all__ = [
    "AnomalyError", "ArgumentError", "IndexingError", "CheckpointError", "DataError", "DTypeError", "GradcheckError", "GraphError", "ShapeError",
    "TinygradMLPError", "Tensor", "detect_anomaly", "concatenate", "gradcheck", "is_grad_enabled", "linear", "maximum", "minimum",
    "no_grad", "numerical_grad", "stack", "where", "manual_seed", "zeros", "ones", "full", "eye", "arange", "rand",
    "randn", "zeros_like", "ones_like", "__version__",
]
