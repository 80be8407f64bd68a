"""wfkit's pytest plugin (entry point ``pytest11``).

Kept light on purpose: pytest loads it in every project that has wfkit installed, so it imports
nothing heavy (no libcst, no rich) until a wfkit feature is actually used.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# Small and derandomized for CI (same examples every run, nothing flaky); large on demand with
# `--hypothesis-profile=wfkit-thorough`.
settings.register_profile(
    "wfkit-ci", max_examples=25, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "wfkit-thorough", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "workflow: a test that runs a durable workflow through wfkit")
