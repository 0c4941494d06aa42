"""Shared pytest configuration: hypothesis profiles.

``ci``: derandomised and bounded, what `.ci/run` uses. ``dev``: more examples for local hunting.
Select with ``HYPOTHESIS_PROFILE=dev`` or ``pytest --hypothesis-profile dev``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=300, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
