"""wfkit's Hypothesis profiles, registered when Hypothesis is imported.

Hypothesis runs every function of the ``hypothesis`` entry-point group at the end of its own
import, so ``register_profiles`` is listed there (pyproject.toml): the profiles exist in any
process that can use them — ``--hypothesis-profile=wfkit-thorough``, a conftest's
``settings.load_profile("wfkit-ci")`` — while the pytest plugin, which every project with wfkit
installed loads, never imports Hypothesis itself (~90 ms of every pytest start).
"""

from __future__ import annotations

CI_PROFILE = "wfkit-ci"
THOROUGH_PROFILE = "wfkit-thorough"


def register_profiles() -> None:
    """Small and derandomized for CI (same examples every run, nothing flaky); large on demand
    with ``--hypothesis-profile=wfkit-thorough``. Registering again is harmless."""
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        CI_PROFILE,
        max_examples=25,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        THOROUGH_PROFILE,
        max_examples=2000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
