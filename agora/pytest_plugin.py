"""The pytest plugin Agora installs (entry point ``pytest11``: ``agora``): the ``--agora-report DIR`` option.

It stays thin: without the option nothing else is imported, so installing Agora costs every
pytest run of every project nothing but this module. With it, :func:`verify.testing.start_report`
registers the reporter that records every ``assert_claim`` verdict and every hypothesis test and
writes the report at the end of the session (see :mod:`verify.testing`). ``-p no:agora`` turns the
plugin off.
"""

from __future__ import annotations

from typing import Any


def pytest_addoption(parser: Any) -> None:
    """``--agora-report DIR`` (pytest hook)."""
    group = parser.getgroup("agora", "Agora claim checks and property-test reports")
    group.addoption(
        "--agora-report",
        dest="agora_report",
        default=None,
        metavar="DIR",
        help="write an Agora report of this run into DIR: every assert_claim verdict (verdicts.jsonl, report.md, "
        "report.html) and every hypothesis test's outcome and statistics (property_tests.jsonl, property_tests.md)",
    )


def pytest_configure(config: Any) -> None:
    """With ``--agora-report DIR``, start the reporter (pytest hook); else nothing, and nothing imported."""
    if config.getoption("agora_report", None):
        from verify.testing import start_report

        start_report(config)
