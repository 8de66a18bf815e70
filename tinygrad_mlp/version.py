"""The library's version, in one place: the package (``tinygrad_mlp.__version__``), the checkpoints it writes,
the command's ``--version`` and the wheel's metadata (pyproject.toml reads it from here) all take it from this file.
"""

__version__ = "0.1.0"
