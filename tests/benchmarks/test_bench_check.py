"""Bare `agora check` (every built-in, cloned and solitary, default budget) under 2 minutes on 2 cores."""

from pathlib import Path

import pytest

from reports.commands.check import register


def _bare_check(out: Path) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["check", "--out", str(out), "--no-progress"])
    return int(args.func(args))


def test_bare_check_under_two_minutes(benchmark: pytest.FixtureRequest, tmp_path: Path) -> None:
    code = benchmark.pedantic(_bare_check, args=(tmp_path,), rounds=1, iterations=1)
    assert code == 0
    assert benchmark.stats.stats.max < 120.0  # the target; measured ~15 s (2-core machine)
