"""What the page asks of the library, without HTTP: the network's forward pass on one digit, backprop's nudges
for a chosen right answer (computed by ``backward()``), test digits, and one live training job at a time.

The network the page shows is a :class:`Snapshot` (numpy copies of the weights and biases, and a version number);
a training job publishes a new snapshot every few steps, so a request never sees a half-updated network and never
waits for the trainer. Every computation builds its own Tensors from a snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import ArgumentError, DataError
from ..nn import MLP, functional
from ..optim import SGD
from ..tensor_core import Tensor, linear, no_grad

__all__ = ["ACTIVATIONS", "DATASETS", "LIMITS", "NOTES_SIZES", "TOP_NUDGES", "Snapshot", "Session", "TrainingJob",
           "forward", "nudges"]

ACTIVATIONS = ("sigmoid", "relu", "tanh")
DATASETS = ("synthetic", "mnist")
NOTES_SIZES = [784, 16, 16, 10]
# bounds on what one request may ask for
LIMITS: dict[str, tuple[float, float]] = {"lr": (1e-4, 100.0), "batch_size": (1, 1000), "epochs": (1, 50)}
TOP_NUDGES = 10  # weight nudges and bias nudges listed
POINTS_KEPT = 2000  # curve points kept per job (older ones are thinned)


@dataclass(frozen=True)
class Snapshot:
    """The network the page shows: float64 copies of W(1)..W(L) (each (out, in)) and b(1)..b(L)."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str
    output_activation: str | None
    loss: str
    version: int
    source: str

    @classmethod
    def of(cls, model: MLP, loss: str, version: int, source: str) -> Snapshot:
        if not isinstance(model, MLP):
            raise ArgumentError(f"Snapshot.of: need an MLP, got {type(model).__name__}")
        if loss not in ("mse", "cross_entropy"):
            raise ArgumentError(f"Snapshot.of: loss must be 'mse' or 'cross_entropy', got {loss!r}"[:160])
        return cls(tuple(np.array(W.data, dtype=np.float64) for W in model.weights),
                   tuple(np.array(b.data, dtype=np.float64) for b in model.biases),
                   str(model.activation), model.output_activation, loss, version, source)

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1], *(W.shape[0] for W in self.weights)]

    def to_json(self) -> dict:
        """Everything the page needs to draw the network: sizes, weights and biases (rounded to 5 digits)."""
        return {"version": self.version, "sizes": self.sizes, "activation": self.activation,
                "output_activation": self.output_activation, "loss": self.loss, "source": self.source,
                "weights": [np.round(W, 5).tolist() for W in self.weights],
                "biases": [np.round(b, 5).tolist() for b in self.biases]}


def _forward(snap: Snapshot, x: np.ndarray, probes: list[Tensor] | None = None,
             params: list[tuple[Tensor, Tensor]] | None = None) -> list[Tensor]:
    """Activations a(1)..a(L) of the batch ``x`` (batch, 784), each a Tensor. With ``probes`` (a list to fill), a
    zero leaf is added to each activation, so that ``backward()`` leaves dC/da(l) in its ``.grad``; with ``params``,
    the weights and biases are leaves that require grad, listed there as (W, b) per layer."""
    hidden = functional.activation(snap.activation)
    last = functional.activation(snap.output_activation)
    a = Tensor(x)
    acts = []
    for i, (W, b) in enumerate(zip(snap.weights, snap.biases, strict=True)):
        w_t, b_t = Tensor(W, requires_grad=params is not None), Tensor(b, requires_grad=params is not None)
        if params is not None:
            params.append((w_t, b_t))
        a = (last if i == len(snap.weights) - 1 else hidden)(linear(a, w_t, b_t))
        if probes is not None:
            probe = Tensor(np.zeros(a.shape), requires_grad=True)
            probes.append(probe)
            a = a + probe
        acts.append(a)
    return acts


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


def forward(snap: Snapshot, image: np.ndarray) -> dict:
    """One prepared image (784,) through the network: every layer's activations, the outputs and the guess."""
    with no_grad():
        acts = [a.data[0] for a in _forward(snap, image.reshape(1, -1).astype(np.float64))]
    out = acts[-1]
    # the outputs are sigmoids (not probabilities): the page shows them as they are, and, for a linear output
    # trained with cross-entropy, their softmax
    shown = _softmax(out) if snap.output_activation is None else out
    return {"activations": [np.round(a, 5).tolist() for a in acts], "outputs": np.round(shown, 5).tolist(),
            "guess": int(np.argmax(out)), "version": snap.version}


def _top(grads: list[np.ndarray], kind: str, count: int) -> list[dict]:
    """The ``count`` largest nudges (-gradient) over every tensor of ``grads``, biggest magnitude first."""
    found = []
    for layer, g in enumerate(grads, start=1):
        flat = -g.ravel()
        k = min(count, flat.size)
        for i in np.argpartition(-np.abs(flat), k - 1)[:k]:
            entry = {"layer": layer, "nudge": float(flat[i])}
            if kind == "weight":
                entry["to"], entry["from"] = (int(j) for j in np.unravel_index(i, g.shape))
            else:
                entry["to"] = int(i)
            found.append(entry)
    found.sort(key=lambda e: -abs(e["nudge"]))
    return found[:count]


def _grad(t: Tensor) -> np.ndarray:
    assert t.grad is not None  # every leaf here is on the cost's path
    return np.asarray(t.grad.data)


def nudges(snap: Snapshot, images: np.ndarray, labels: np.ndarray, top: int = 10) -> dict:
    """Backprop's nudges (the notes' lesson 3) for the batch ``images`` (K, 784) with right answers ``labels`` (K,).

    One ``cost.backward()`` on the batch's cost (the snapshot's loss, averaged over the K examples) gives dC/dW and
    dC/db of every layer, and, through a zero "probe" leaf added to every activation, dC/da(l) of every layer.
    Returned as desired changes (the negative gradient): ``outputs`` and ``hidden`` are the first example's
    (multiplied by K: its own cost's wish, not its share of the average), ``weights`` and ``biases`` the ``top``
    largest over the whole batch.
    """
    k = len(images)
    probes: list[Tensor] = []
    params: list[tuple[Tensor, Tensor]] = []
    acts = _forward(snap, images.astype(np.float64), probes, params)
    cost = functional.loss(snap.loss)(acts[-1], np.asarray(labels, dtype=np.int64))
    cost.backward()
    grads_w = [_grad(W) for W, _ in params]
    grads_b = [_grad(b) for _, b in params]
    wish = [-(k * _grad(p)[0]) for p in probes]
    return {"cost": float(cost.data), "batch": k, "outputs": np.round(wish[-1], 6).tolist(),
            "hidden": [np.round(w, 6).tolist() for w in wish[:-1]],
            "weights": _top(grads_w, "weight", top), "biases": _top(grads_b, "bias", top)}


def _number(body: dict, name: str, kind: type, default):
    """``body[name]`` as ``kind`` within LIMITS[name], or ``default`` when absent; ArgumentError naming it if not."""
    value = body.get(name, default)
    lo, hi = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise ArgumentError(f"{name} must be a number, got {value!r}"[:120])
    if not lo <= value <= hi:
        raise ArgumentError(f"{name} must be between {lo} and {hi}, got {value}")
    return kind(value)


def _choice(body: dict, name: str, choices: tuple[str, ...], default: str) -> str:
    value = body.get(name, default)
    if value not in choices:
        raise ArgumentError(f"{name} must be one of {', '.join(choices)}, got {value!r}"[:160])
    return value


@dataclass
class TrainingJob:
    """One live training run of the notes' network in a background thread; read its state with :meth:`status`."""

    settings: dict
    points: list = field(default_factory=list)  # {"step", "epoch", "loss", "accuracy"}
    state: str = "starting"  # starting, running, stopped, finished, failed
    message: str = ""
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def status(self, since: int = 0) -> dict:
        return {"state": self.state, "message": self.message, "settings": self.settings,
                "points": self.points[since:], "total_points": len(self.points)}


class Session:
    """The server's state: the network shown, the datasets (loaded once, on first use), the training job.

    ``dataset_loader(name)`` returns ``(x_train, y_train, x_test, y_test)`` or raises ``DataError``; the page's
    test digits come from ``test_dataset``. Thread-safe: every method may be called from any request thread.
    """

    def __init__(self, model: MLP, loss: str, source: str, dataset_loader: Callable[[str], tuple],
                 test_dataset: str) -> None:
        if not callable(dataset_loader):
            raise ArgumentError(f"Session: dataset_loader must be a function of a dataset's name, got "
                                f"{type(dataset_loader).__name__}")
        if test_dataset not in DATASETS:
            raise ArgumentError(f"Session: test_dataset must be one of {', '.join(DATASETS)}, got {test_dataset!r}"
                                [:160])
        self._lock = threading.Lock()
        self._snapshot = Snapshot.of(model, loss, 1, source)
        self._loader = dataset_loader
        self._datasets: dict[str, tuple] = {}
        self.test_dataset = test_dataset
        self._job: TrainingJob | None = None

    # ------------------------------------------------------------------ the network and the data

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def dataset(self, name: str) -> tuple:
        with self._lock:
            if name not in self._datasets:
                self._datasets[name] = self._loader(name)
            return self._datasets[name]

    def test_digit(self, index: int) -> tuple[np.ndarray, int, int]:
        """``(image (784,), label, number of test digits)`` of test digit ``index``."""
        _, _, x_test, y_test = self.dataset(self.test_dataset)
        if not 0 <= index < len(y_test):
            raise ArgumentError(f"index must be between 0 and {len(y_test) - 1}, got {index}")
        return x_test[index], int(y_test[index]), len(y_test)

    def nudges(self, image: np.ndarray, label: int, batch: int, index: int) -> dict:
        """Nudges for ``image`` with right answer ``label``; with ``batch`` > 1, summed over it and the test digits
        ``index + 1 ..`` (with their own labels), averaged as the cost is."""
        if not isinstance(label, int) or not 0 <= label < self.snapshot.sizes[-1]:
            raise ArgumentError(f"label must be one of the {self.snapshot.sizes[-1]} outputs, got {label!r}"[:120])
        images, labels = [image], [label]
        if batch > 1:
            _, _, x_test, y_test = self.dataset(self.test_dataset)
            rows = (np.arange(index + 1, index + batch)) % len(y_test)
            images += list(x_test[rows])
            labels += [int(v) for v in y_test[rows]]
        with np.errstate(over="ignore"):
            return nudges(self.snapshot, np.asarray(images), np.asarray(labels), top=TOP_NUDGES)

    # ------------------------------------------------------------------ training

    def start_training(self, body: dict) -> dict:
        if not isinstance(body, dict):
            raise ArgumentError(f"start_training: the settings must be a dict, got {type(body).__name__}")
        settings = {"dataset": _choice(body, "dataset", DATASETS, "synthetic"),
                    "activation": _choice(body, "activation", ACTIVATIONS, "sigmoid"),
                    "lr": _number(body, "lr", float, 3.0), "batch_size": _number(body, "batch_size", int, 10),
                    "epochs": _number(body, "epochs", int, 5)}
        with self._lock:
            if self._job is not None and self._job.state in ("starting", "running"):
                raise RuntimeError("a training job is already running: stop it first")
            job = TrainingJob(settings)
            job.thread = threading.Thread(target=self._train, args=(job,), name="tinygrad-mlp-train", daemon=True)
            self._job = job
        job.thread.start()
        return job.status()

    def stop_training(self, wait: float = 0.0) -> dict:
        job = self._job
        if job is None:
            return {"state": "idle"}
        job.stop_event.set()
        if wait and job.thread is not None:
            job.thread.join(wait)
        return job.status()

    def training_status(self, since: int = 0) -> dict:
        job = self._job
        return {"state": "idle", "points": [], "total_points": 0} if job is None else job.status(since)

    def _publish(self, model: MLP, source: str) -> None:
        self._snapshot = Snapshot.of(model, "mse", self._snapshot.version + 1, source)

    def _train(self, job: TrainingJob) -> None:
        """The notes' recipe: 784-16-16-10, quadratic cost, plain SGD on shuffled mini-batches; a curve point and a
        new snapshot 20 times an epoch and at least every 0.4 s (test accuracy on the first 1,000 test digits)."""
        s = job.settings
        try:
            x_train, y_train, x_test, y_test = self.dataset(s["dataset"])
        except DataError as e:
            job.state, job.message = "failed", " ".join(str(e).split())[:300]
            return
        x_eval, y_eval = x_test[:1000], y_test[:1000]
        model = MLP(NOTES_SIZES, activation=s["activation"], seed=int(time.time()) % 1000)
        optimizer = SGD(model.parameters(), lr=s["lr"])
        loss_fn = functional.loss("mse")
        source = f"trained on the page ({s['dataset']}, {s['activation']}, lr {s['lr']:g}, batch {s['batch_size']})"
        rng = np.random.default_rng()
        n, bs = len(y_train), s["batch_size"]
        steps_per_epoch = -(-n // bs)
        every = max(1, steps_per_epoch // 20)  # 20 curve points an epoch, and one at least every 0.4 s
        job.state = "running"
        step, running, last = 0, [], 0.0
        try:
            for _ in range(s["epochs"]):
                order = rng.permutation(n)
                for first in range(0, n, bs):
                    if job.stop_event.is_set():
                        job.state = "stopped"
                        return
                    rows = order[first:first + bs]
                    loss = loss_fn(model(Tensor(x_train[rows])), y_train[rows])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    step += 1
                    running.append(float(loss.data))
                    now = time.monotonic()
                    end = first + bs >= n
                    if step % every == 0 or now - last > 0.4 or end:
                        if not np.isfinite(running[-1]):
                            job.state, job.message = "failed", "the loss became NaN or infinite: lower the lr"
                            return
                        with no_grad():
                            guess = np.argmax(model(Tensor(x_eval)).data, axis=1)
                        job.points.append({"step": step, "epoch": round(step / steps_per_epoch, 4),
                                           "loss": float(np.mean(running)),
                                           "accuracy": float(np.mean(guess == y_eval))})
                        if len(job.points) > POINTS_KEPT:
                            del job.points[1:POINTS_KEPT // 2:2]
                        running = []
                        last = now
                        self._publish(model, source)
            job.state = "finished"
        except Exception as e:  # a failed job says so on the page; the server goes on
            job.state, job.message = "failed", f"{type(e).__name__}: {e}"[:300]
        finally:
            self._publish(model, source)
