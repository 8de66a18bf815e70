"""The page's server for the tests: started on a free port of 127.0.0.1 in a thread, with a fresh network and the
synthetic test digits; stopped (training job included) when the block ends."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from tinygrad_mlp.web import server as web_server
from tinygrad_mlp.web.app import build_session


@contextlib.contextmanager
def running_page() -> Iterator[web_server.PageServer]:
    session = build_session(None, None, "synthetic")
    srv = web_server.make_server(session, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        session.stop_training(wait=10.0)
        srv.shutdown()
        srv.server_close()
