"""Ctrl-C before the ``tinygrad-mlp`` command's ``main()`` runs (numpy alone takes a tenth of a second to
import): one line and exit status 130, not a ``KeyboardInterrupt`` traceback from deep inside an import.

:func:`quiet_until_main` is the first thing the package does on import; it acts only when this process is the
command (the ``tinygrad-mlp`` script or ``python -m tinygrad_mlp``), never in a program or a session that merely
imports the library. :func:`main_takes_over` (called by ``cli.main``) puts Python's own handler back, so from
then on Ctrl-C is a ``KeyboardInterrupt`` that the command handles (training saves the run, others say
"interrupted"). Imports only what the interpreter has already loaded at startup.
"""

import itertools
import os
import signal
import sys

_SCRIPT_NAMES = ("tinygrad-mlp", "tinygrad-mlp.exe", "tinygrad-mlp-script.py")
_MODULES = ("tinygrad_mlp", "tinygrad_mlp.cli", "tinygrad_mlp.__main__")


def is_the_command() -> bool:
    """True when this process runs the command line rather than a program that imports the library."""
    if os.path.basename(sys.argv[0] if sys.argv else "") in _SCRIPT_NAMES:
        return True
    argv = getattr(sys, "orig_argv", [])
    return any(flag == "-m" and module in _MODULES for flag, module in itertools.pairwise(argv))


def _quit(signum, frame) -> None:
    os.write(2, b"tinygrad-mlp: interrupted\n")
    os._exit(128 + signal.SIGINT)  # nothing has been written yet: nothing to clean up


def quiet_until_main() -> None:
    """In the command, make Ctrl-C exit quietly with status 130 until :func:`main_takes_over`."""
    if is_the_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        try:
            signal.signal(signal.SIGINT, _quit)
        except ValueError:  # not the main thread
            pass


def main_takes_over() -> None:
    """Python's own Ctrl-C handling again (a ``KeyboardInterrupt``), if :func:`quiet_until_main` replaced it."""
    if signal.getsignal(signal.SIGINT) is _quit:
        signal.signal(signal.SIGINT, signal.default_int_handler)
