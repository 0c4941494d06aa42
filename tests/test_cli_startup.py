"""The command line as a user meets it: `python -m agora`, a light start, quiet pipes.

Every test runs a real interpreter (subprocess), since what is imported at start-up and what a
closed pipe does are properties of a fresh process. Timings are in tests/benchmarks, not here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports.cli import COMMAND_MODULES, main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "matplotlib", "networkx", "hypothesis")


def _env() -> dict[str, str]:
    """The test's environment with the checkout first on the path (works installed or not)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _agora(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agora", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=_env(), timeout=300)


def _modules_after(argv: list[str]) -> list[str]:
    """The heavy modules a fresh interpreter holds after ``python -m agora *argv`` (run through runpy)."""
    code = (
        "import runpy, sys, json\n"
        f"sys.argv = ['agora', *{argv!r}]\n"
        "try:\n    runpy.run_module('agora', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_env())
    return json.loads(done.stderr.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- python -m agora
def test_python_m_agora_is_the_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mechanisms"]) == 0
    in_process = capsys.readouterr().out
    done = _agora("mechanisms")
    assert done.returncode == 0
    assert done.stdout == in_process
    assert "vickrey" in done.stdout


def test_python_m_agora_keeps_exit_statuses_and_errors() -> None:
    bad = _agora("solve", "nope/0")
    assert bad.returncode == 2
    assert bad.stderr.startswith("agora solve: error:")
    usage = _agora("solve", "chain/0", "--method", "dp")
    assert usage.returncode == 2
    assert "unknown method 'dp'; choose one of auto," in usage.stderr
    assert _agora().returncode == 2  # a command is required
    version = _agora("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("agora-rl ")


def test_python_m_agora_runs_outside_the_checkout(tmp_path: Path) -> None:
    done = _agora("solve", "chain/0", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0
    # PAPER.md, "Chain": V*(0) = 0.768477 at γ = 0.99.
    assert json.loads(done.stdout)["V"][0] == pytest.approx(0.768477, abs=1e-6)


# ---------------------------------------------------------------------------- start-up imports
def test_help_imports_no_heavy_module() -> None:
    assert _modules_after(["--help"]) == []


@pytest.mark.parametrize(
    "command", ["mechanisms", "tasks", "solve", "check", "report", "show", "train", "reproduce", "sweep", "completion"]
)
def test_every_subcommand_help_imports_no_heavy_module(command: str) -> None:
    assert _modules_after([command, "--help"]) == []


def test_tasks_imports_only_the_task_registry() -> None:
    # `agora tasks` lists each setting's declared shape: it builds no MDP, so it needs no numpy, scipy
    # or networkx, and never the solvers, the plotting library or the search engine.
    code = (
        "import sys; from reports.cli import main; rc = main(['tasks']); assert rc == 0\n"
        "bad = sorted(m for m in ('numpy', 'scipy', 'networkx', 'matplotlib', 'hypothesis', 'verify', "
        "'mechanism', 'reports.learning') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=_env(), capture_output=True)


def test_command_modules_import_nothing_heavy_at_the_top() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {COMMAND_MODULES!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in {HEAVY!r} if m in sys.modules); assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=_env(), capture_output=True)


# ---------------------------------------------------------------------------- quiet pipes
def _closed_pipe(argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` with its standard output a pipe whose reader has already gone; (status, stderr)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=_env())
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # the reader leaves before the first byte: every write hits EPIPE
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=300), err


def test_the_closed_pipe_harness_sees_a_broken_pipe() -> None:
    # Planted: a plain Python print into the same closed pipe does complain; the tests below would see it.
    status, err = _closed_pipe([sys.executable, "-c", "print('x' * 100_000)"])
    assert "BrokenPipeError" in err
    assert status != 0


@pytest.mark.parametrize("args", [["tasks"], ["solve", "chain/0"], ["--help"], ["mechanisms"]])
def test_a_closed_pipe_ends_quietly_with_the_commands_status(args: list[str]) -> None:
    status, err = _closed_pipe([sys.executable, "-m", "agora", *args])
    assert err == ""
    assert status == 0


@pytest.mark.skipif(shutil.which("head") is None or shutil.which("bash") is None, reason="needs bash and head")
def test_piping_into_head_prints_the_first_line_only() -> None:
    script = f'set -o pipefail; "{sys.executable}" -m agora tasks | head -1; echo "status $?"'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, env=_env())
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "S", "A"]
    assert lines[1] == "status 0"
    assert "Traceback" not in done.stderr


def test_a_closed_pipe_does_not_lose_the_files_a_command_writes(tmp_path: Path) -> None:
    from verify.records import check_manifest, read_learning_records

    out = tmp_path / "out"
    args = ["train", "chain/0", "--steps", "320", "--seeds", "1", "--episodes", "4", "--no-progress", "--out", str(out)]
    status, err = _closed_pipe([sys.executable, "-m", "agora", *args])
    assert (status, err) == (0, "")
    assert set(check_manifest(out)["files"]) == {"runs.jsonl", "checkpoints.jsonl", "checkpoints.csv"}
    assert [r["task"] for r in read_learning_records(out).runs] == ["chain/0"]
    assert (out / "training.md").exists()
