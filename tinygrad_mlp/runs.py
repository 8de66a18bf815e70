"""A training run as the ``train`` command records it: its settings, their defaults and their one schema.

A checkpoint written by ``tinygrad-mlp train`` carries, in its metadata, ``settings`` (what this module
describes), ``train_state`` and ``history`` (what :func:`tinygrad_mlp.train.fit` writes). This module owns
the settings:

* :data:`TRAIN_DEFAULTS`: the notes' network and learning rate; :func:`new_run` fills a command line's
  choices in around them;
* :data:`SETTINGS_SCHEMA` and :func:`validate_settings`: the one check of a saved run's settings (types,
  ranges, the architecture), as strict as the command line;
* :func:`resume_run`: the saved settings of a run being resumed, refusing a setting that differs from them;
* :func:`parse_arch`: ``"784-16-16-10"`` for 28x28 images and 10 classes;
* :func:`mlp_bytes` / :func:`train_bytes`: the memory a run needs, estimated before it starts.

The model itself is described by :data:`MODEL_KINDS`: a run's ``settings["model"]`` names a kind
(``"mlp"`` when absent, the only kind of format 1); a new kind adds an entry there with its own checks.

Everything here raises :class:`~tinygrad_mlp.errors.ArgumentError` (a setting the caller chose) or
:class:`~tinygrad_mlp.errors.CheckpointError` (a setting read from a file); nothing prints.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping

from . import checkpoint
from ._schema import is_int, is_number, one_of, short
from .data import DATASETS, SYNTHETIC
from .errors import ArgumentError, CheckpointError, ShapeError
from .nn import INITS, default_init, functional, parse_sizes
from .train import OPTIMIZERS, SCHEDULES, validate_train_metadata

__all__ = [
    "DATASETS", "SYNTHETIC", "INPUTS", "CLASSES", "SEED_MAX", "TRAIN_DEFAULTS", "RUN_SETTINGS", "SETTINGS_SCHEMA",
    "MODEL_KINDS", "parse_arch", "dataset_of", "new_run", "resume_run", "validate_settings", "saved_settings",
    "mlp_bytes", "train_bytes", "train_seconds", "dataset_images",
]

SYNTHETIC_MAX = 10**5  # the command always draws SYNTHETIC's sizes; a file claiming more is not trusted
INPUTS, CLASSES = 784, 10  # every dataset here: 28x28 pixels, 10 classes
SEED_MAX = 2**63 - 1

TRAIN_DEFAULTS = {
    "arch": "784-16-16-10", "activation": "sigmoid", "loss": "mse", "optimizer": "sgd", "lr": 3.0,
    "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "none", "batch_size": 10, "epochs": 30, "seed": 0,
    "init": None, "dataset": "auto", "limit_train": None,
}
# Settings that define a run: a resumed run takes them from its checkpoint (only epochs may change).
RUN_SETTINGS = ("arch", "activation", "loss", "optimizer", "lr", "momentum", "weight_decay", "lr_schedule",
                "batch_size", "seed", "init", "dataset", "limit_train")


# ---------------------------------------------------------------------- architecture


def parse_arch(text: str, option: str = "--arch") -> list[int]:
    """``"784-16-16-10"`` -> ``[784, 16, 16, 10]``; the first width must be 784 and the last 10 (ArgumentError)."""
    try:
        sizes = parse_sizes(text, option)
    except ShapeError as e:
        raise ArgumentError(str(e)) from None
    if sizes[0] != INPUTS:
        raise ArgumentError(f"{option} {text!r} must start with {INPUTS}: the images have 28x28 = {INPUTS} pixels")
    if sizes[-1] != CLASSES:
        raise ArgumentError(f"{option} {text!r} must end with {CLASSES}: one output per class (digit)")
    return sizes


def _mlp_kind_check(settings: Mapping, path) -> None:
    try:
        sizes = parse_arch(settings["arch"])
    except ArgumentError as e:
        raise CheckpointError(f"{path}: invalid training settings: {e}") from None
    if settings["sizes"] != sizes:
        raise CheckpointError(f"{path}: invalid training settings: sizes {short(settings['sizes'])} do not match "
                              f"arch {settings['arch']}")


#: The model kinds a run can train: kind name -> check of the settings that describe it (raises
#: CheckpointError). Runs of format 1 have no ``model`` setting and are MLPs. A new kind (a CNN ...) adds its
#: entry here, its builder where the command builds models, and its architecture check in checkpoint.py.
MODEL_KINDS: dict[str, Callable[[Mapping, object], None]] = {"mlp": _mlp_kind_check}


# ---------------------------------------------------------------------- the schema of a saved run's settings


def _is_int(v, lowest: int = 0, highest: int = SEED_MAX) -> bool:
    return is_int(v, lowest, highest)


def _one_of(choices) -> Callable[[object], bool]:
    return lambda v: one_of(v, choices)


def _synthetic_ok(v) -> bool:
    return v is None or (isinstance(v, dict) and set(v) <= set(SYNTHETIC) and all(
        _is_int(v[k], 0 if k == "seed" else 1, SEED_MAX if k == "seed" else SYNTHETIC_MAX) for k in v))


#: key -> (accept(value), what it must be, required)
SETTINGS_SCHEMA: dict[str, tuple[Callable[[object], bool], str, bool]] = {
    "model": (_one_of(MODEL_KINDS), f"one of {', '.join(MODEL_KINDS)}", False),
    "arch": (lambda v: isinstance(v, str) and len(v) < 10000, "a string like 784-16-16-10", True),
    "sizes": (lambda v: isinstance(v, list), "a list of layer widths", True),
    "activation": (_one_of(functional.ACTIVATIONS), f"one of {', '.join(functional.ACTIVATIONS)}", True),
    "loss": (_one_of(("mse", "cross_entropy")), "mse or cross_entropy", True),
    "optimizer": (_one_of(OPTIMIZERS), f"one of {', '.join(OPTIMIZERS)}", True),
    "lr": (lambda v: is_number(v, lambda x: x > 0), "a finite number > 0", True),
    "momentum": (lambda v: is_number(v, lambda x: 0 <= x < 1), "a number in [0, 1)", True),
    "weight_decay": (lambda v: is_number(v, lambda x: x >= 0), "a finite number >= 0", False),
    "lr_schedule": (_one_of(SCHEDULES), f"one of {', '.join(SCHEDULES)}", False),
    "batch_size": (lambda v: _is_int(v, 1), "an integer >= 1", True),
    "epochs": (lambda v: _is_int(v, 1), "an integer >= 1", True),
    "seed": (lambda v: _is_int(v, 0), f"an integer from 0 to {SEED_MAX}", True),
    "init": (_one_of(INITS), f"one of {', '.join(INITS)}", True),
    "dataset": (_one_of(DATASETS), f"one of {', '.join(DATASETS)}", True),
    "dataset_requested": (_one_of(DATASETS), f"one of {', '.join(DATASETS)}", False),
    "limit_train": (lambda v: v is None or _is_int(v, 1), "null or an integer >= 1", True),
    "synthetic": (_synthetic_ok, f"null or an object of n_train, n_test (1 to {SYNTHETIC_MAX}) and seed", False),
}


def validate_settings(saved: Mapping, path) -> None:
    """A saved run's settings, checked as strictly as the command line checks them (CheckpointError)."""
    if not isinstance(saved, Mapping):
        raise CheckpointError(f"{path}: invalid training settings: not an object")
    for key, (accept, wanted, required) in SETTINGS_SCHEMA.items():
        if key not in saved:
            if required:
                raise CheckpointError(f"{path}: invalid training settings: {key} is missing")
            continue
        if not accept(saved[key]):
            raise CheckpointError(f"{path}: invalid training settings: {key} must be {wanted}, "
                                  f"got {short(saved[key])}")
    MODEL_KINDS[saved.get("model", "mlp")](saved, path)


def saved_settings(ck: checkpoint.Checkpoint, path) -> dict | None:
    """The checked settings of a checkpoint written by ``train`` (None when it has none: an API-saved model).

    Settings that are present but fail :func:`validate_settings` raise CheckpointError: nothing read from a
    file is used before it is checked.
    """
    meta = ck.metadata if isinstance(ck.metadata, dict) else {}
    settings = meta.get("settings")
    if settings is None:
        return None
    validate_settings(settings, path)
    return dict(settings)


def dataset_of(ck: checkpoint.Checkpoint, path) -> tuple[str | None, dict | None]:
    """The dataset a saved model was trained on, as far as its file says and the schema allows: ``(name,
    synthetic parameters)``, each None where the file says nothing. Only these two fields are read (a model
    saved by the API may carry other settings, or none); a value outside the schema raises CheckpointError."""
    meta = ck.metadata if isinstance(ck.metadata, dict) else {}
    settings: dict = meta["settings"] if isinstance(meta.get("settings"), dict) else {}
    for where, key, value in (("dataset", "dataset", meta.get("dataset")),
                              ("settings.dataset", "dataset", settings.get("dataset")),
                              ("settings.synthetic", "synthetic", settings.get("synthetic"))):
        accept, wanted, _ = SETTINGS_SCHEMA[key]
        if value is not None and not accept(value):
            raise CheckpointError(f"{path}: invalid metadata: {where} must be {wanted}, got {short(value)}")
    return meta.get("dataset") or settings.get("dataset"), settings.get("synthetic")


# ---------------------------------------------------------------------- a new run, a resumed one


def new_run(given: Mapping) -> dict:
    """The settings of a new run: :data:`TRAIN_DEFAULTS` overridden by ``given`` (None values ignored), with
    the initialisation chosen for the activation and ``sizes`` parsed from ``arch``."""
    given = {k: v for k, v in given.items() if v is not None}
    if "loss" in given:
        given["loss"] = functional.loss_name(given["loss"])
    settings = {**TRAIN_DEFAULTS, **given}
    if settings["init"] is None:
        settings["init"] = default_init(settings["activation"])
    settings["sizes"] = parse_arch(settings["arch"])
    if settings["momentum"] and settings["optimizer"] != "sgd":
        raise ArgumentError("--momentum applies to --optimizer sgd only")
    return settings


def _check_optimizer_state(state: dict | None, settings: Mapping, path) -> None:
    """The saved optimizer's hyperparameters must be the run's: its weight decay, momentum (SGD) or Adam's
    defaults, and a learning rate no larger than the run's (a schedule only lowers it)."""
    if state is None:
        return
    wanted: dict[str, object] = {"weight_decay": settings.get("weight_decay", 0.0)}
    if settings["optimizer"] == "sgd":
        wanted["momentum"] = settings["momentum"]
    else:
        wanted.update(betas=[0.9, 0.999], eps=1e-8)
    groups = [("optimizer", {"lr": state["lr"]})]
    groups += [(f"parameter group {i}", g) for i, g in enumerate(state.get("param_groups") or [])]
    for where, group in groups:
        for key, value in wanted.items():
            if key in group and group[key] != value:
                raise CheckpointError(f"{path}: its {where}'s {key} {short(group[key])} is not the run's {value}")
        lr = group.get("lr", state["lr"])
        if not is_number(lr, lambda v: 0 < v <= settings["lr"] * (1 + 1e-12)):
            raise CheckpointError(f"{path}: its {where}'s learning rate {short(lr)} is not in (0, "
                                  f"{settings['lr']:g}], the run's lr (a schedule only lowers it)")


def resume_run(ck: checkpoint.Checkpoint, given: Mapping, path) -> dict:
    """The settings of the run saved in ``ck``, checked; ``given`` (a command line's choices, None ignored) may
    change ``epochs`` only: any other setting that differs from the saved one raises ArgumentError."""
    given = {k: v for k, v in given.items() if v is not None}
    if "loss" in given:
        given["loss"] = functional.loss_name(given["loss"])
    saved = ck.metadata.get("settings") if isinstance(ck.metadata, dict) else None
    if not isinstance(saved, dict) or "train_state" not in ck.metadata:
        raise CheckpointError(f"{path}: not a checkpoint written by 'tinygrad-mlp train', so it cannot be resumed")
    validate_train_metadata(ck.metadata, str(path))
    validate_settings(saved, path)
    for key in RUN_SETTINGS:
        if key in given and given[key] != saved.get(key) and not (key == "dataset" and given[key] == "auto"
                                                                  and saved.get("dataset_requested") == "auto"):
            flag = "--" + key.replace("_", "-")
            raise ArgumentError(f"{flag} {given[key]} differs from the resumed run's {saved.get(key)}; a resumed "
                                f"run keeps its settings (only --epochs may change)")
    _check_optimizer_state(ck.optimizer, saved, path)
    settings = dict(saved)
    if "epochs" in given:
        settings["epochs"] = given["epochs"]
    return settings


# ---------------------------------------------------------------------- memory estimates


def mlp_bytes(sizes: list[int], batch: int, itemsize: int = 4, optimizer_copies: int = 0) -> int:
    """About the memory a model of ``sizes`` takes to train on mini-batches of ``batch``: the parameters, their
    gradients, the optimizer's buffers and the initialisation's float64 draws, plus a few arrays per layer and
    example (pre-activations, activations and their gradients)."""
    params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    return params * (itemsize * (2 + optimizer_copies) + 8) + 4 * batch * sum(sizes) * itemsize


def dataset_images(settings: Mapping) -> int:
    """How many images (train + test) a run's dataset holds."""
    synthetic = settings.get("synthetic") or {}
    if settings["dataset"] == "synthetic":
        return synthetic.get("n_train", SYNTHETIC["n_train"]) + synthetic.get("n_test", SYNTHETIC["n_test"])
    return 70000  # MNIST and Fashion-MNIST: 60000 + 10000 (auto may fall back to fewer synthetic ones)


def train_seconds(settings: Mapping) -> float:
    """About how long a run of ``settings`` takes, known before its data is loaded: per step about 0.1 ms of
    Python plus the products of a forward and backward pass, per epoch a scoring pass, at 1e9 multiply-adds a
    second (a slow machine's figure: the estimate errs long)."""
    synthetic = settings.get("synthetic") or {}
    if settings["dataset"] == "synthetic":
        n_train = synthetic.get("n_train", SYNTHETIC["n_train"])
        n_test = synthetic.get("n_test", SYNTHETIC["n_test"])
    else:
        n_train, n_test = 60000, 10000  # MNIST and Fashion-MNIST (auto may fall back to fewer synthetic ones)
    n_train = min(n_train, settings.get("limit_train") or n_train)
    params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(settings["sizes"]))
    steps = -(-n_train // settings["batch_size"])
    epoch = steps * (1e-4 + 6 * settings["batch_size"] * params / 1e9) + 2 * (n_train + n_test) * params / 1e9
    return settings["epochs"] * epoch


def train_bytes(settings: Mapping) -> int:
    """About the memory a run of ``settings`` needs: its data (as float32 plus the uint8 files) and its model."""
    images = dataset_images(settings)
    copies = 2 if settings["optimizer"] == "adam" else 1 if settings["momentum"] else 0
    batch = max(min(settings["batch_size"], images), 1000)  # the test set is scored in batches of 1000
    return images * INPUTS * 5 + mlp_bytes(settings["sizes"], batch, 4, copies)
