"""Shared pytest set-up."""

import os

from hypothesis import settings

# In CI (CI=true) every property test draws the same examples on every run, so a red CI always means that a
# change broke something, never that a rare draw was hit; without CI each run explores new examples.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
