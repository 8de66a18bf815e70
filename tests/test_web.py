"""The page's library side: MNIST-style preparation of a drawing, the forward pass and backprop's nudges it serves,
and the HTTP server's safety (nothing becomes a path, bounded bodies and rates, one-line 4xx, no traceback)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from web_page import running_page

from tinygrad_mlp import learning
from tinygrad_mlp.errors import ShapeError
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.web import server as web_server
from tinygrad_mlp.web.preprocess import prepare_like_mnist, resample_matrix
from tinygrad_mlp.web.session import Snapshot, forward, nudges

# ------------------------------------------------------------------ preparing a drawing like MNIST


def test_a_block_in_the_corner_is_scaled_to_20_high_and_centred():
    drawing = np.zeros((28, 28))
    drawing[0:4, 0:2] = 1.0  # 4 high, 2 wide: scaled 5x to 20x10, its centre of mass already central
    seen = prepare_like_mnist(drawing)
    expected = np.zeros((28, 28), np.float32)
    expected[4:24, 9:19] = 1.0
    np.testing.assert_array_equal(seen, expected)


def test_an_l_shape_is_shifted_by_its_centre_of_mass_not_its_box():
    # [[1, 0], [1, 1]] scaled 10x to 20x20 and boxed at rows/cols 4..23: its centre of mass is at (15.17, 11.83)
    # (300 ink pixels: 100 at mean row 8.5 and 200 at 18.5; 200 at mean column 8.5 and 100 at 18.5), so it moves
    # by round(13.5 - 15.17) = -2 rows and round(13.5 - 11.83) = +2 columns: to rows 2..21, columns 6..25
    drawing = np.zeros((28, 28))
    drawing[10, 10] = drawing[11, 10] = drawing[11, 11] = 1.0
    seen = prepare_like_mnist(drawing)
    expected = np.zeros((28, 28), np.float32)
    expected[2:22, 6:26] = 1.0
    expected[2:12, 16:26] = 0.0
    np.testing.assert_array_equal(seen, expected)
    rows, cols = np.nonzero(seen)
    com = (rows.mean(), cols.mean())
    assert abs(com[0] - 13.5) <= 0.5 and abs(com[1] - 13.5) <= 0.5


def test_a_large_drawing_is_shrunk_by_area_averaging():
    drawing = np.zeros((112, 112))
    drawing[:, 40:50] = 1.0  # a bar 112 high, 10 wide: 20 high, 10/112*20 = 1.79 wide -> 2 pixels
    seen = prepare_like_mnist(drawing)
    assert np.count_nonzero(seen.sum(axis=1)) == 20
    assert seen.sum() == pytest.approx(20 * 2 * (10 / 112 * 20) / 2, rel=0.15)
    np.testing.assert_allclose(resample_matrix(3, 7).sum(axis=1), 1.0)


def test_an_empty_drawing_stays_empty_and_bad_shapes_are_refused():
    assert not prepare_like_mnist(np.zeros((28, 28))).any()
    with pytest.raises(ShapeError, match="2-D image"):
        prepare_like_mnist(np.zeros(784))
    with pytest.raises(ShapeError, match="NaN"):
        prepare_like_mnist(np.full((28, 28), np.nan))


def test_mnist_digits_are_already_prepared(mnist_or_skip=None):
    from tinygrad_mlp.data import load_synthetic
    x = load_synthetic(50, 10, seed=3)[2]
    for image in x:  # the synthetic digits are drawn inside a 20x20 box too: preparing keeps their mass central
        seen = prepare_like_mnist(image.reshape(28, 28))
        rows = seen.sum(axis=1) @ np.arange(28) / seen.sum()
        cols = seen.sum(axis=0) @ np.arange(28) / seen.sum()
        assert abs(rows - 13.5) <= 0.5 and abs(cols - 13.5) <= 0.5


# ------------------------------------------------------------------ forward and nudges


@pytest.fixture
def snapshot():
    return Snapshot.of(MLP([784, 16, 16, 10], seed=1), "mse", 1, "test")


def test_forward_gives_the_models_own_outputs(snapshot):
    model = MLP([784, 16, 16, 10], seed=1)
    x = np.random.default_rng(0).random(784)
    result = forward(snapshot, x)
    expected = model(x.reshape(1, -1).astype(np.float32)).data[0]
    np.testing.assert_allclose(result["outputs"], expected, atol=1e-5)
    assert result["guess"] == int(np.argmax(expected))
    assert [len(a) for a in result["activations"]] == [16, 16, 10]


def test_nudges_from_backward_agree_with_the_hand_derived_backprop(snapshot):
    rng = np.random.default_rng(1)
    x = rng.random((4, 784))
    labels = np.array([3, 1, 4, 1])
    one = nudges(snapshot, x[:1], labels[:1], top=5)
    hand = learning.nudges(snapshot.weights, snapshot.biases, x[0], 3)
    np.testing.assert_allclose(one["outputs"], hand.wish, atol=1e-6)
    # the hidden wish of the last hidden layer is the sum of the output neurons' wishes for it
    np.testing.assert_allclose(one["hidden"][-1], hand.terms.sum(axis=0), atol=1e-6)
    # the largest weight nudges over the batch are the largest of -(hand batch gradient)
    batch = nudges(snapshot, x, labels, top=3)
    _, batch_grads = learning.per_example_average(snapshot.weights, snapshot.biases, x, labels)
    weight_grads = batch_grads[0::2]
    biggest = max(float(np.abs(g).max()) for g in weight_grads)
    assert abs(batch["weights"][0]["nudge"]) == pytest.approx(biggest, rel=1e-9)
    top = batch["weights"][0]
    assert top["nudge"] == pytest.approx(-weight_grads[top["layer"] - 1][top["to"], top["from"]], rel=1e-9)
    assert batch["batch"] == 4 and batch["cost"] > 0


# ------------------------------------------------------------------ the HTTP server


@pytest.fixture(scope="module")
def page():
    with running_page() as srv:
        yield srv


def request(srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=20)
    payload = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=payload, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def error_of(data: bytes) -> str:
    reason = json.loads(data)["error"]
    assert "\n" not in reason and "Traceback" not in reason
    return reason


def test_the_page_and_its_assets_come_from_the_package(page):
    status, html = request(page, "GET", "/")
    assert status == 200 and b"<canvas id=\"draw\"" in html
    for name in ("/app.js", "/style.css"):
        assert request(page, "GET", name)[0] == 200
    assert b"http" not in html.replace(b"http://www.w3.org", b"")  # nothing from another site


@pytest.mark.parametrize("path", ["/../tinygrad_mlp/web/server.py", "/static/app.js", "/%2e%2e/etc/passwd",
                                  "/etc/passwd", "/app.js/..", "/app.js%00"])
def test_nothing_the_page_sends_becomes_a_path(page, path):
    status, data = request(page, "GET", path)
    assert status == 404
    assert error_of(data).startswith("no such page")


def test_forward_over_http(page):
    drawing = np.zeros(784)
    drawing.reshape(28, 28)[10, 5:15] = 1.0  # a bar 1 high, 10 wide
    status, data = request(page, "POST", "/api/forward", {"pixels": drawing.tolist()})
    assert status == 200
    result = json.loads(data)
    assert len(result["input"]) == 784 and 0 <= result["guess"] <= 9
    assert np.asarray(result["input"]).reshape(28, 28).sum(axis=0).nonzero()[0].size == 20  # prepared: 20 wide


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"not json", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    ({"pixels": [0] * 10}, 400, "784 numbers"),
    ({"pixels": [2] * 784}, 400, "between 0 and 1"),
    ({"pixels": ["a"] * 784}, 400, "numbers"),
    ({"pixels": [0] * 784, "prepare": "yes"}, 400, "prepare"),
    (b"x" * (web_server.MAX_BODY + 1), 413, "over"),
])
def test_malformed_requests_get_a_4xx_with_one_line(page, body, status, reason):
    got, data = request(page, "POST", "/api/forward", body)
    assert got == status
    assert reason in error_of(data)


def test_malformed_nudges_digits_and_training_requests(page):
    pixels = [0.0] * 784
    assert request(page, "POST", "/api/nudges", {"pixels": pixels, "label": 10})[0] == 400
    assert request(page, "POST", "/api/nudges", {"pixels": pixels, "label": 1, "batch": 1000})[0] == 400
    assert request(page, "GET", "/api/digit?index=-1")[0] == 400
    assert request(page, "GET", "/api/digit?index=99999")[0] == 400
    assert request(page, "GET", "/api/digit?index=1&index=2&a=1&b=2&c=3&d=4")[0] == 400
    status, data = request(page, "POST", "/api/train/start", {"lr": 1e9})
    assert status == 400 and "lr must be between" in error_of(data)
    status, data = request(page, "POST", "/api/train/start", {"dataset": "../../etc"})
    assert status == 400 and "dataset must be one of" in error_of(data)
    assert request(page, "POST", "/api/nowhere", {})[0] == 404
    assert request(page, "POST", "/api/forward", b"")[0] == 400


def test_a_slow_client_does_not_hang_the_server(page):
    stalled = socket.create_connection(page.server_address[:2])
    stalled.sendall(b"POST /api/forward HTTP/1.0\r\nContent-Length: 100\r\n\r\n{")  # and then nothing
    try:
        status, _ = request(page, "GET", "/api/network")
        assert status == 200
    finally:
        stalled.close()


def test_training_runs_one_job_at_a_time_and_stops(page):
    status, data = request(page, "POST", "/api/train/start", {"dataset": "synthetic", "lr": 3, "batch_size": 10,
                                                                 "activation": "sigmoid", "epochs": 1})
    assert status == 200, data
    status, data = request(page, "POST", "/api/train/start", {})
    assert status == 409 and "already running" in error_of(data)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = json.loads(request(page, "GET", "/api/train/status")[1])
        if len(state["points"]) >= 2:
            break
        time.sleep(0.2)
    assert len(state["points"]) >= 2 and state["version"] > 1
    assert state["points"][-1]["step"] > state["points"][0]["step"]
    status, data = request(page, "POST", "/api/train/stop", {})
    assert status == 200
    page.session.stop_training(wait=10.0)
    assert json.loads(request(page, "GET", "/api/train/status")[1])["state"] in ("stopped", "finished")


def test_requests_are_rate_limited():
    limiter = web_server._RateLimiter(rate=1.0, burst=3.0)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # per client


def test_the_page_shows_a_saved_checkpoint_and_refuses_one_it_cannot_draw(tmp_path):
    from tinygrad_mlp import checkpoint
    from tinygrad_mlp.errors import CheckpointError
    from tinygrad_mlp.web.app import build_session

    model = MLP([784, 16, 16, 10], seed=3)
    path = checkpoint.save(model, tmp_path / "notes.npz")
    session = build_session(str(path), None, "synthetic")
    np.testing.assert_array_equal(session.snapshot.weights[1], model.weights[1].data)
    assert session.snapshot.source == str(path) and session.snapshot.loss == "mse"
    checkpoint.save(MLP([784, 100, 10]), tmp_path / "wide.npz")
    with pytest.raises(CheckpointError, match="up to 64 neurons"):
        build_session(str(tmp_path / "wide.npz"), None, "synthetic")
    checkpoint.save(MLP([4, 3]), tmp_path / "tiny.npz")
    with pytest.raises(CheckpointError, match="784 inputs and 10 outputs"):
        build_session(str(tmp_path / "tiny.npz"), None, "synthetic")


# ------------------------------------------------------------------ the command


def _serve(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    # a child of a background job may start with Ctrl-C ignored: give it the terminal's default back
    return subprocess.Popen([sys.executable, "-m", "tinygrad_mlp", "serve", "--no-browser", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_its_address_serves_the_page_and_stops_cleanly(stop):
    server = _serve("--test-digits", "synthetic")
    try:
        line = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line + server.stderr.read()
        with urllib.request.urlopen(found.group(0), timeout=30) as response:
            assert b'<canvas id="draw"' in response.read()
        server.send_signal(stop)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert "stopping" in out and "Traceback" not in err


def test_serve_warns_about_another_host_and_refuses_a_bad_checkpoint_in_one_line(tmp_path):
    server = _serve("--host", "0.0.0.0", str(tmp_path / "missing.npz"))
    _, err = server.communicate(timeout=60)
    assert server.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "WARNING: --host 0.0.0.0" in lines[0] and "missing.npz" in lines[1]
