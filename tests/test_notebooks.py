"""The tutorial's notebooks (docs/notebooks, one per lesson) run top to bottom in a fresh kernel, show their
pictures inline, and are what docs/notebooks/make_notebooks.py writes. Skipped when nbclient, nbformat or
ipykernel is missing (they are in the dev extra)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parent.parent / "docs" / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))


def _maker():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_notebook_per_lesson_and_in_sync_with_the_maker():
    assert [p.name for p in ALL] == sorted(_maker().LESSONS)
    for path in ALL:
        on_disk = [(c.cell_type, c.source) for c in nbformat.read(path, as_version=4).cells]
        written = [("markdown" if kind == "md" else "code", src) for kind, src in _maker().LESSONS[path.name]]
        assert on_disk == written, f"{path.name} differs from make_notebooks.py: run python docs/notebooks/make_notebooks.py"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_pictures(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and the traceback, if any cell fails
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    if path.name != "lesson4_backpropagation_calculus.ipynb":  # the calculus lesson is text and tables
        assert images, f"{path.name} shows no picture inline"
    assert sys.executable  # (the kernel is the one installed with ipykernel in this environment)
