"""Shared pytest set-up."""

import importlib.util
import os

import pytest
from hypothesis import settings

# In CI (CI=true) every property test draws the same examples on every run, so a red CI always means that a
# change broke something, never that a rare draw was hit; without CI each run explores new examples.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


# `pip install -e ".[dev]"` has no matplotlib (it is the `viz` extra). A test that fails only because the library
# said it needs matplotlib is then reported as skipped, with that reason, rather than failed: the README's two
# set-up commands pass as written. With matplotlib installed (CI installs `.[dev,viz]`) nothing is changed.
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
NEEDS_MATPLOTLIB = "matplotlib is needed for pictures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if HAVE_MATPLOTLIB or not report.failed or call.excinfo is None:
        return
    if NEEDS_MATPLOTLIB in str(call.excinfo.value):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0,
                           'Skipped: draws a picture and matplotlib is not installed (pip install -e ".[viz]")')
