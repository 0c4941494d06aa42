"""`agora check` and `agora report`: files, exit codes, clear errors, raising mechanisms kept as failed checks."""

import json
from pathlib import Path

import pytest

from reports.cli import main

BAD_MODULE = """
import numpy as np
from mechanism import Mechanism, highest_bid

def _price(bids, winner):
    raise RuntimeError("no price today")

RAISES = Mechanism("raises", price=_price, lookahead=highest_bid)
NOT_A_MECHANISM = 42
"""


@pytest.fixture(scope="module")
def bare_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("report")
    return main(["check", "--budget", "5", "--out", str(out), "--no-progress"]), out


def test_bare_check_writes_every_file_and_exits_0(bare_report: tuple[int, Path], capsys: pytest.CaptureFixture) -> None:
    code, out = bare_report
    assert code == 0
    for name in ("verdicts.jsonl", "verdicts.csv", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert len(rows) == 4 * 2 * 4  # built-ins × clone settings × claims
    assert {"agora_version", "numpy_version", "hypothesis_version", "timestamp", "seed", "budget"} <= set(rows[0])
    assert len((out / "verdicts.csv").read_text().splitlines()) >= 33
    md = (out / "report.md").read_text()
    assert "| ccv, solitary | ✓ | ✓ | ✗ | ✗ |" in md
    assert "Counterexample (shrunk)" in md


def test_report_re_renders_from_the_records(bare_report: tuple[int, Path]) -> None:
    _, out = bare_report
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert "ccv, solitary" in (out / "report.md").read_text()


def test_report_on_a_folder_without_records_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "verdicts.jsonl" in capsys.readouterr().err


def test_strict_exits_1_when_a_claim_fails(tmp_path: Path) -> None:
    args = ["check", "--mechanism", "first_price", "--clones", "1", "--budget", "5", "--out", str(tmp_path)]
    assert main([*args, "--no-progress"]) == 0
    assert main([*args, "--no-progress", "--strict"]) == 1
    assert (
        main(
            [
                "check",
                "--mechanism",
                "ccv",
                "--clones",
                "2",
                "--budget",
                "5",
                "--out",
                str(tmp_path),
                "--no-progress",
                "--strict",
            ]
        )
        == 0
    )  # every claim holds for cloned ccv


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown mechanism 'nope'"),
        ("no_such_module_xyz:M", "cannot import module 'no_such_module_xyz'"),
        ("usermech:MISSING", "has no attribute 'MISSING'"),
        ("usermech:NOT_A_MECHANISM", "is a int, not a mechanism.Mechanism"),
    ],
)
def test_a_bad_mechanism_is_a_clear_error(
    spec: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "usermech.py").write_text(BAD_MODULE)
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--mechanism", spec, "--budget", "2", "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_raising_user_mechanism_is_reported_and_the_other_verdicts_survive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "usermech_ok.py").write_text(BAD_MODULE)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    code = main(
        [
            "check",
            "--mechanism",
            "usermech_ok:RAISES",
            "--mechanism",
            "ccv",
            "--clones",
            "2",
            "--budget",
            "4",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 3  # some check could not run
    assert "no price today" in capsys.readouterr().err
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    raising = [r for r in rows if r["mechanism"] == "raises"]
    assert any(r["error"] and "no price today" in r["error"] for r in raising)
    assert all(r["error"] is None for r in rows if r["mechanism"] == "ccv")
    assert "could not run" in (out / "report.md").read_text()
