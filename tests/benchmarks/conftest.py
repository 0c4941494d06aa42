"""Benchmarks: marked `benchmark` so the default `pytest` run skips them.

Run: ``pytest tests/benchmarks -m benchmark --benchmark-enable``.
"""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "benchmarks" in str(item.fspath):
            item.add_marker(pytest.mark.benchmark)
