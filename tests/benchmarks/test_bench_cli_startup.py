"""Start-up time of the command line (issue 11): `agora --help` and `agora tasks` as a user runs them.

Run: ``pytest tests/benchmarks/test_bench_cli_startup.py -m benchmark --benchmark-enable``.
Each round is a fresh interpreter (``python -m agora ...``, what the console script runs), so the
time includes Python's own start-up; ``python -c pass`` is measured beside them as the floor.
Target: well under 0.5 s for ``--help``; ``agora tasks`` also builds every registered MDP, and
imports ``tasks`` with its numpy, scipy and networkx (see the note in reports/cli.py's history).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "agora --help": ["-m", "agora", "--help"],
    "agora tasks": ["-m", "agora", "tasks"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_startup(benchmark, name: str) -> None:  # type: ignore[no-untyped-def]
    argv = [sys.executable, *COMMANDS[name]]

    def run() -> int:
        return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=ENV,
                              check=True).returncode

    assert benchmark.pedantic(run, rounds=7, warmup_rounds=1) == 0
    benchmark.extra_info["command"] = name
