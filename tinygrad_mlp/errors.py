"""The library's own exceptions.

Each subclasses the built-in a user would expect to catch (a shape error is a
``ValueError``), so ``except ValueError`` keeps working, while
``except TinygradMLPError`` catches everything this library raises on purpose.
"""


class TinygradMLPError(Exception):
    """Base class of every error raised deliberately by tinygrad_mlp."""


class ShapeError(TinygradMLPError, ValueError):
    """Operands whose shapes do not fit the operation (broadcasting, matmul, reshape, ...)."""


class DTypeError(TinygradMLPError, TypeError):
    """An array of a dtype the operation does not accept (e.g. float32 given to gradcheck)."""


class ArgumentError(TinygradMLPError, ValueError, TypeError):
    """An argument a function does not accept: an unknown name, a negative rate, an empty list, a bad seed, a
    string where a Tensor belongs. Both a ``ValueError`` and a ``TypeError``, so either ``except`` catches it."""


class IndexingError(TinygradMLPError, IndexError, KeyError):
    """A lookup that fails: an index out of range or of a kind a tensor cannot take, a key that is not there.

    Both an ``IndexError`` (so ``for row in tensor`` stops at the end, as for any sequence) and a
    ``KeyError`` (so a missing key of a ``ModuleDict`` is caught as in a dict).
    """

    __str__ = Exception.__str__  # the message as written (KeyError's str() would quote it)


class GraphError(TinygradMLPError, RuntimeError):
    """Misuse of the computation graph: backward on a released graph, non-scalar seed, ..."""


class GradcheckError(TinygradMLPError, AssertionError):
    """Analytic and numerical gradients disagree."""


class DataError(TinygradMLPError, ValueError):
    """A data file is missing, truncated, corrupt, or fails its checksum."""


class DataNotFoundError(DataError):
    """The data files are absent: not found in any folder searched, and not downloadable (not: present but damaged)."""


class CheckpointError(TinygradMLPError, ValueError):
    """A file is not a checkpoint this version can load, or does not fit the model."""


class AnomalyError(TinygradMLPError, FloatingPointError):
    """An operation produced NaN or infinity while anomaly detection was on."""


class WriteError(TinygradMLPError, OSError):
    """A file could not be written (disk full, no permission, a folder in the way ...); the message names the
    file and says whether its previous version was kept."""
