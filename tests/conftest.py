"""Suite-wide settings: the Hypothesis profile follows CI (small) unless one is asked for."""

from __future__ import annotations

import os

from hypothesis import settings

if os.environ.get("CI") and not os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile("wfkit-ci")
elif os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
