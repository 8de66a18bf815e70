"""``python -m tinygrad_mlp ...`` runs the ``tinygrad-mlp`` command line (see :mod:`tinygrad_mlp.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
