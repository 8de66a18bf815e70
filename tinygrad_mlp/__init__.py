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
    CheckpointError,
    DataError,
    DataNotFoundError,
    DTypeError,
    GradcheckError,
    GraphError,
    ShapeError,
    TinygradMLPError,
    WriteError,
)
from .anomaly import detect_anomaly
from .gradcheck import gradcheck, numerical_grad
from .tensor import Tensor, concatenate, is_grad_enabled, linear, maximum, minimum, no_grad, stack, where

__all__ = [
    "AnomalyError", "CheckpointError", "DataError", "DataNotFoundError", "DTypeError", "GradcheckError", "GraphError", "ShapeError",
    "TinygradMLPError", "WriteError", "Tensor", "detect_anomaly", "concatenate", "gradcheck", "is_grad_enabled", "linear", "maximum", "minimum",
    "no_grad", "numerical_grad", "stack", "where", "__version__",
]
