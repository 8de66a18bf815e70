"""The page's HTTP server: the standard library's ``http.server`` (no dependency to install, audit or pin; the
page needs a dozen small JSON endpoints and a few static files, nothing a framework would add), threaded so that a
slow client never blocks another, and the training job runs in its own thread.

Safety, by construction:

* static files are looked up by name in a fixed table of the package's own assets (:data:`ASSETS`): nothing a
  request sends becomes a file path;
* a request body is at most :data:`MAX_BODY` bytes, must be JSON of the expected shape, and is read with a socket
  timeout; each client address gets at most :data:`RATE` requests a second (a burst of :data:`BURST`);
* a malformed request gets a 4xx status with a one-line JSON ``{"error": reason}``; an unexpected failure a 500
  with one line (the exception's class and message), never a traceback in the response or on the terminal;
* :func:`serve` stops cleanly on Ctrl-C (and SIGTERM): the training job is told to stop and given two seconds to
  finish its step; the page never writes a file (no checkpoint), so there is nothing half-written to lose.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs

import numpy as np

from ..errors import ArgumentError, DataError, TinygradMLPError
from .preprocess import SIDE, prepare_like_mnist
from .session import Session, forward

__all__ = ["ASSETS", "MAX_BODY", "RATE", "BURST", "make_server", "serve", "LOCAL_HOSTS"]

# name in the URL -> (file in tinygrad_mlp/web/static, content type)
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
MAX_BODY = 64 * 1024  # a 28x28 drawing as JSON is about 5 KB
RATE, BURST = 40.0, 120.0  # requests per second per client address, and the burst allowed
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _quiet(line: str) -> None:
    """Says nothing: the default of every ``log``/``say`` (only the command line talks to the terminal)."""


class RequestError(Exception):
    """A request the server refuses: its HTTP status and a one-line reason."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("static").joinpath(name).read_bytes()


class _RateLimiter:
    """A token bucket per client address."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if len(self._buckets) > 10_000:  # many addresses (an open --host): forget the idle ones
                self._buckets.clear()
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return False
            self._buckets[client] = (tokens - 1, now)
            return True


def _pixels(body: dict) -> np.ndarray:
    """The drawing or digit of a request: ``pixels`` a list of 784 numbers in [0, 1], row by row."""
    pixels = body.get("pixels")
    if not isinstance(pixels, list) or len(pixels) != SIDE * SIDE:
        raise ArgumentError(f"pixels must be a list of {SIDE * SIDE} numbers (28x28, row by row)")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pixels):
        raise ArgumentError("pixels must all be numbers")
    a = np.asarray(pixels, dtype=np.float64)
    if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
        raise ArgumentError("pixels must be between 0 and 1")
    return a


def _int(body: dict, name: str, lo: int, hi: int, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ArgumentError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}"[:120])
    return value


def _image(body: dict) -> np.ndarray:
    """The image the network sees: the drawing prepared like MNIST, unless ``prepare`` is false (a test digit)."""
    a = _pixels(body)
    prepare = body.get("prepare", True)
    if not isinstance(prepare, bool):
        raise ArgumentError("prepare must be true or false")
    return prepare_like_mnist(a.reshape(SIDE, SIDE)).ravel() if prepare else a.astype(np.float32)


class Handler(BaseHTTPRequestHandler):
    """Routes: GET the assets, ``/api/network``, ``/api/digit?index=N``, ``/api/train/status?since=N``;
    POST (JSON) ``/api/forward``, ``/api/nudges``, ``/api/train/start``, ``/api/train/stop``."""

    server: PageServer
    timeout = 10  # seconds a client may take to send its request
    protocol_version = "HTTP/1.0"
    server_version = "tinygrad-mlp"
    sys_version = ""

    # ---------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            self.server.log(f"{self.address_string()} {format % args}")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload: dict, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(payload, allow_nan=False).encode(), "application/json")

    def _body(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length header")
        if int(length) > MAX_BODY:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY} bytes")
        raw = self.rfile.read(int(length))
        if len(raw) != int(length):
            raise RequestError(HTTPStatus.BAD_REQUEST, "request body shorter than its Content-Length")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RequestError(HTTPStatus.BAD_REQUEST, "request body is not JSON") from None
        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "request body must be a JSON object")
        return body

    def _handle(self, route: Callable[[], None]) -> None:
        try:
            if not self.server.limiter.allow(self.client_address[0]):
                raise RequestError(HTTPStatus.TOO_MANY_REQUESTS, "too many requests: slow down")
            route()
        except RequestError as e:
            self._json({"error": str(e)}, e.status)
        except (ArgumentError, DataError) as e:
            self._json({"error": " ".join(str(e).split())}, HTTPStatus.BAD_REQUEST)
        except RuntimeError as e:  # a training job is running
            self._json({"error": str(e)}, HTTPStatus.CONFLICT)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # one line, never a traceback
            reason = f"internal error: {type(e).__name__}: {e}".splitlines()[0][:300]
            self.server.log(f"tinygrad-mlp serve: {reason}")
            try:
                self._json({"error": reason}, HTTPStatus.INTERNAL_SERVER_ERROR)
            except OSError:
                pass

    # ---------------------------------------------------------------- routes

    def do_GET(self) -> None:
        self._handle(self._get)

    def do_HEAD(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def _query(self) -> tuple[str, dict[str, str]]:
        # the raw path, compared as a string with the fixed routes (never parsed as a URL with a host, never a file)
        path, _, text = self.path.partition("?")
        try:
            query = parse_qs(text, strict_parsing=bool(text), max_num_fields=5)
        except ValueError:
            raise RequestError(HTTPStatus.BAD_REQUEST, "malformed query string") from None
        return path, {k: v[-1] for k, v in query.items()}

    def _get(self) -> None:
        path, query = self._query()
        session = self.server.session
        if path in ASSETS:
            name, content_type = ASSETS[path]
            self._send(HTTPStatus.OK, self.server.assets[name], content_type)
        elif path == "/api/network":
            self._json({**session.snapshot.to_json(), "test_dataset": session.test_dataset})
        elif path == "/api/digit":
            text = query.get("index", "")
            if not text.isdigit() or len(text) > 9:
                raise ArgumentError("index must be a whole number, e.g. /api/digit?index=0")
            image, label, count = session.test_digit(int(text))
            self._json({"index": int(text), "label": label, "count": count,
                        "pixels": np.round(image.astype(np.float64), 4).tolist()})
        elif path == "/api/train/status":
            text = query.get("since", "0")
            if not text.isdigit() or len(text) > 9:
                raise ArgumentError("since must be a whole number")
            self._json({**session.training_status(int(text)), "version": session.snapshot.version})
        else:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such page: {path[:80]}")

    def _post(self) -> None:
        path, _ = self._query()
        session = self.server.session
        routes = {"/api/forward", "/api/nudges", "/api/train/start", "/api/train/stop"}
        if path not in routes:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such endpoint: {path[:80]}")
        body = self._body()
        if path == "/api/forward":
            image = _image(body)
            self._json({**forward(session.snapshot, image), "input": np.round(image.astype(np.float64), 4).tolist()})
        elif path == "/api/nudges":
            image = _image(body)
            label = _int(body, "label", 0, session.snapshot.sizes[-1] - 1)
            batch = _int(body, "batch", 1, 100, 1)
            index = _int(body, "index", 0, 10**9, 0)
            self._json(session.nudges(image, label, batch, index))
        elif path == "/api/train/start":
            self._json(session.start_training(body))
        else:
            self._json(session.stop_training())


class PageServer(ThreadingHTTPServer):
    """A threaded HTTP server holding the :class:`Session`, the assets (read once) and the rate limiter."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], session: Session, verbose: bool = False,
                 log: Callable[[str], None] | None = None) -> None:
        self.session, self.verbose = session, verbose
        self.log: Callable[[str], None] = log or _quiet  # the command gives its stderr; the library never prints
        self.limiter = _RateLimiter(RATE, BURST)
        self.assets = {name: _asset(name) for name, _ in ASSETS.values()}
        super().__init__(address, Handler)

    def handle_error(self, request, client_address) -> None:
        # a client that vanished mid-request, or a request that timed out: one line, never a traceback
        exc = sys.exc_info()[1]
        if self.verbose:
            self.log(f"tinygrad-mlp serve: {client_address[0]}: {type(exc).__name__}: {exc}")

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"


def make_server(session: Session, host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
                log: Callable[[str], None] | None = None) -> PageServer:
    """The server bound to ``host:port`` (port 0: a free one the system picks), not yet serving. ``log`` receives
    one line per unexpected failure (and per request, with ``verbose``); without it nothing is said.

    Raises :class:`TinygradMLPError` with one line when the address cannot be bound (in use, not this machine's).
    """
    if not isinstance(session, Session):
        raise ArgumentError(f"make_server: need a Session, got {type(session).__name__}")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ArgumentError(f"make_server: port must be a whole number from 0 to 65535, got {port!r}"[:120])
    try:
        return PageServer((host, port), session, verbose, log)
    except (OSError, TypeError, ValueError, OverflowError) as e:
        reason = getattr(e, "strerror", None) or e
        raise TinygradMLPError(f"cannot listen on {host}:{port}: {reason}") from None


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(server: PageServer, open_browser: bool = True, say: Callable[[str], None] | None = None) -> None:
    """Serve until Ctrl-C (or SIGTERM, taken the same way), then stop the training job and close the socket.
    ``say`` receives the lines for the person who started it (the address, "stopping")."""
    say = say or _quiet
    if not isinstance(server, PageServer):
        raise ArgumentError(f"serve: need the server make_server returns, got {type(server).__name__}")
    say(f"tinygrad-mlp: the page is at {server.url}  (Ctrl-C stops the server)")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        say("tinygrad-mlp: stopping")
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        server.session.stop_training(wait=2.0)
        server.server_close()
