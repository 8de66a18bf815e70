"""The ``tinygrad-mlp`` command (also ``python -m tinygrad_mlp``): train, eval, predict, and looking inside.

    tinygrad-mlp train                      # the notes' 784-16-16-10 sigmoid net, quadratic cost, SGD lr 3.0
    tinygrad-mlp train --arch 784-128-64-10 --activation relu --loss cross_entropy \\
                       --optimizer adam --lr 1e-3 --batch-size 128 --epochs 10
    tinygrad-mlp eval model.npz
    tinygrad-mlp predict model.npz --index 0

A thin layer: each command module parses, calls the library and prints.

* ``options.py``: argparse types, the flags several commands share, printing, loading a model or dataset;
* ``train.py`` (train), ``score.py`` (eval, predict), ``look.py`` (show-weights, graph, explain, show-hidden),
  ``check.py`` (gradcheck), ``learn.py`` (nudges, lab), ``serve.py`` (serve: the page of :mod:`tinygrad_mlp.web`).

Adding a command: in a module of its group (or a new one), write ``add_<name>(subparsers)`` (which calls
``subparsers.add_parser`` and ``set_defaults(func=run_<name>)``) and ``run_<name>(args) -> int``, and list
``add_<name>`` in :data:`COMMANDS`. Raise :class:`UsageError` for bad arguments (exit 2) and any other
``TinygradMLPError`` for failures (exit 1): :func:`main` turns them into one ``tinygrad-mlp: error: ...``
line on stderr. Library decisions (a run's settings, data, diagnoses) belong in the library, not here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from .._guard import human_bytes, memory_budget
from .._interrupt import main_takes_over
from ..data import DATASETS, SYNTHETIC
from ..errors import TinygradMLPError
from ..runs import RUN_SETTINGS, TRAIN_DEFAULTS
from ..train import TrainingDiverged, TrainingInterrupted
from ..version import __version__
from . import check, learn, look, score, serve, train
from .options import PROG, Parser, UsageError, load_dataset, parse_arch, use_threads
from .score import format_bars, format_confusion

__all__ = ["main", "build_parser", "COMMANDS", "UsageError", "parse_arch", "load_dataset", "format_confusion",
           "format_bars", "PROG", "DATASETS", "SYNTHETIC", "TRAIN_DEFAULTS", "RUN_SETTINGS", "__version__"]

#: One entry per subcommand, in the order ``--help`` lists them.
COMMANDS: list[Callable] = [train.add_train, score.add_eval, score.add_predict, look.add_show_weights,
                            look.add_graph, look.add_explain, check.add_gradcheck, learn.add_nudges,
                            look.add_show_hidden, learn.add_lab, serve.add_serve]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="Train, score and look at the MLPs of tinygrad_mlp (numpy autograd).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def _error(message: object) -> None:
    text = " ".join(str(message).split()) or type(message).__name__
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:  # argparse keeps no public list of a parser's subcommands
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def _run(argv: list[str] | None) -> int:
    main_takes_over()  # from here on Ctrl-C is a KeyboardInterrupt, handled by main (or by training, which saves)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help and --version print and "exit" 0
        return e.code if isinstance(e.code, int) else 0
    if args.command is None:
        raise UsageError(f"choose a command: {', '.join(_command_names(parser))} (see {PROG} --help)")
    if hasattr(args, "threads"):
        use_threads(args.threads)
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    for stream in (sys.stdout, sys.stderr):  # a file name the terminal's encoding cannot show is escaped, not fatal
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return _run(argv)
    except UsageError as e:
        _error(e)
        return 2
    except TrainingInterrupted as e:
        print(f"{PROG}: {e}", file=sys.stderr, flush=True)
        return e.exit_code
    except TrainingDiverged as e:
        _error(e)
        return 1
    except BrokenPipeError:
        # the reader went away (`tinygrad-mlp explain | head`): nobody is left to tell. Point stdout at devnull
        # so the interpreter's final flush cannot fail again, and exit as a process ended by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except (TinygradMLPError, OSError) as e:
        _error(e)
        return 1
    except MemoryError:
        _error(f"ran out of memory (the machine has {human_bytes(memory_budget())} available); try smaller "
               "--arch, --batch-size or --limit-train")
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return 130
