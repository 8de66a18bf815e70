"""What ``tinygrad-mlp serve`` does, as functions: the session for a checkpoint (or a fresh network), and the
server run until Ctrl-C. The command only parses its options and calls :func:`run`."""

from __future__ import annotations

from collections.abc import Callable

from .. import checkpoint, data
from ..errors import CheckpointError, DataError, DataNotFoundError
from ..nn import MLP
from .server import LOCAL_HOSTS, make_server, serve
from .session import NOTES_SIZES, Session

__all__ = ["build_session", "run", "SYNTHETIC_SIZES"]

SYNTHETIC_SIZES = {"n_train": 10000, "n_test": 2000}


def _loader(data_dir: str | None) -> Callable[[str], tuple]:
    def load(name: str) -> tuple:
        if name == "synthetic":
            return data.load_synthetic(**SYNTHETIC_SIZES)
        # never downloads from a request: MNIST is used when its files are already here
        return data.load_mnist(root=data_dir, download=False)
    return load


def build_session(checkpoint_path: str | None = None, data_dir: str | None = None,
                  test_dataset: str = "auto") -> Session:
    """The page's session: the checkpoint's network (it must take 784 pixels and give 10 outputs), or the notes'
    784-16-16-10 with fresh random weights; test digits from MNIST when found locally (``auto``), else synthetic."""
    if checkpoint_path is None:
        model, loss, source = MLP(NOTES_SIZES), "mse", "fresh random weights (untrained: press Start training)"
    else:
        model, ck = checkpoint.load_model(checkpoint_path)
        if model.sizes[0] != 784 or model.sizes[-1] != 10:
            raise CheckpointError(f"{checkpoint_path}: the page needs a network of 784 inputs and 10 outputs, this "
                                  f"one is {'-'.join(map(str, model.sizes))}")
        if max(model.sizes[1:-1], default=0) > 64 or len(model.sizes) > 5:
            raise CheckpointError(f"{checkpoint_path}: the page draws up to 3 hidden layers of up to 64 neurons, "
                                  f"this network is {'-'.join(map(str, model.sizes))}")
        meta = ck.metadata if isinstance(ck.metadata, dict) else {}
        settings = meta.get("settings")
        if not isinstance(settings, dict):
            settings = {}
        loss = "cross_entropy" if settings.get("loss") in ("ce", "cross_entropy") else "mse"
        source = f"{checkpoint_path}"
    loader = _loader(data_dir)
    if test_dataset == "auto":
        try:
            loader("mnist")
            test_dataset = "mnist"
        except DataNotFoundError:
            test_dataset = "synthetic"
    elif test_dataset not in ("mnist", "synthetic"):
        raise DataError(f"unknown dataset {test_dataset!r}; choose auto, mnist or synthetic")
    return Session(model, loss, source, loader, test_dataset)


def run(checkpoint_path: str | None = None, host: str = "127.0.0.1", port: int = 0, open_browser: bool = True,
        data_dir: str | None = None, test_dataset: str = "auto", verbose: bool = False,
        say: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None) -> int:
    """Build the session, bind, tell ``say`` the URL, open the browser (unless told not to), serve until Ctrl-C.

    ``warn`` gets the warning for a non-local ``host`` and the server's one-line failure reports (the command gives
    its stderr; the library itself never prints).
    """
    if host not in LOCAL_HOSTS and warn is not None:
        warn(f"tinygrad-mlp: WARNING: --host {host} makes the page reachable from other machines; it has no "
             "login, and anyone who reaches it can start training jobs on this machine")
    session = build_session(checkpoint_path, data_dir, test_dataset)
    server = make_server(session, host, port, verbose, log=warn)
    serve(server, open_browser, say=say)
    return 0
