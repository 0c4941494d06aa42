"""`agora check` and `agora report`: files, exit codes, clear errors, raising mechanisms kept as failed checks."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reports.cli import main

ROOT = Path(__file__).resolve().parents[1]

#: DESIGN.md §1, "Expected verdicts", as the report's rows: society (the paper's names), then one mark per claim in
#: table order (truthful, credit, myopic equilibrium, farsighted equilibrium, fixed point optimal).
DESIGN_ROWS = [
    "| Vickrey, solitary | ✓ | ✗ | ✓ | ✗ | ✓ |",
    "| Vickrey, cloned | ✓ | ✗ | ✓ | ✗ | ✓ |",
    "| CCV, solitary | ✓ | ✓ | ✗ | ✗ | ✗ |",
    "| CCV, cloned | ✓ | ✓ | ✓ | ✓ | ✓ |",
    "| Bucket Brigade, solitary | ✗ | ✓ | ✗ | ✗ | ✓ |",
    "| Bucket Brigade, cloned | ✗ | ✓ | ✓ | ✓ | ✓ |",
    "| Environment Reward, solitary | ✗ | ✓ | ✗ | ✗ | ✗ |",
    "| Environment Reward, cloned | ✗ | ✓ | ✗ | ✗ | ✗ |",
]


def _verdict_rows(md: str) -> list[str]:
    """The verdict table of report.md: its rows with the cells' links stripped and the paper's column dropped."""
    table = md.split("\n## Verdicts\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| society")]
    return ["|".join(re.sub(r"\[([^]]*)\]\(#[^)]*\)", r"\1", line).split("|")[:-2]) + "|" for line in lines]

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
    return main(["check", "--budget", "10", "--out", str(out), "--no-progress"]), out


def test_bare_check_writes_every_file_and_exits_0(bare_report: tuple[int, Path], capsys: pytest.CaptureFixture) -> None:
    code, out = bare_report
    assert code == 0
    for name in ("verdicts.jsonl", "verdicts.csv", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert len(rows) == 4 * 2 * 5  # built-ins × clone settings × claims
    provenance = {"agora_version", "numpy_version", "hypothesis_version", "timestamp", "seed", "budget"}
    assert {*provenance, "title"} <= set(rows[0])
    assert len((out / "verdicts.csv").read_text().splitlines()) >= 41
    md = (out / "report.md").read_text()
    header = (
        "| society | truthful bid is dominant (one auction) | credit conserved | Q* profile: myopic equilibrium "
        "| Q* profile: farsighted equilibrium | truthful fixed point is optimal | the paper says |"
    )
    assert header in md.splitlines()
    assert "Counterexample (shrunk)" in md


def test_bare_check_reproduces_the_design_table(bare_report: tuple[int, Path]) -> None:
    # Every mark is computed by the searches; the expected rows are DESIGN §1's table, farsighted column included.
    _, out = bare_report
    md = (out / "report.md").read_text()
    assert _verdict_rows(md) == DESIGN_ROWS
    for name in ("report.html", "verdicts.tex", "verdicts_heatmap.svg"):
        assert (out / name).stat().st_size > 0
    failed = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    failed = [r for r in failed if not r["holds"]]
    assert len(failed) == 19  # the ✗ of DESIGN_ROWS
    assert len(list(out.glob("counterexample-*.svg"))) == len(failed)  # every failed claim drawn


def test_report_re_renders_from_the_records(bare_report: tuple[int, Path]) -> None:
    _, out = bare_report
    before = (out / "report.md").read_text()
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == before  # the titles come from the rows


def test_reports_never_import_hypothesis(bare_report: tuple[int, Path]) -> None:
    # Reading and rendering verdicts must not load the claim checker's search engine.
    code = "import reports.markdown, reports.commands.report, sys; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    _, out = bare_report
    code = (
        "import sys; from reports.cli import main; rc = main(['report', sys.argv[1]]); "
        "assert rc == 0, rc; assert 'hypothesis' not in sys.modules, 'agora report imported hypothesis'"
    )
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=ROOT)


def test_claims_flag_checks_only_the_named_claims(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["check", "--mechanism", "vickrey", "--clones", "2", "--budget", "5", "--out", str(tmp_path)]
    assert main([*args, "--claims", "q_star_farsighted_equilibrium,truthful", "--no-progress"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "verdicts.jsonl").read_text().splitlines()]
    assert [(r["claim"], r["holds"]) for r in rows] == [("truthful", True), ("q_star_farsighted_equilibrium", False)]
    assert rows[0]["claims_checked"] == "truthful,q_star_farsighted_equilibrium"
    assert "farsighted equilibrium" in capsys.readouterr().out


def test_unknown_claim_names_are_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["check", "--claims", "truthful,nope", "--budget", "2", "--out", str(tmp_path), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown claim(s) ['nope']" in err
    assert "truthful, conserves_credit, q_star_equilibrium, q_star_farsighted_equilibrium, fixed_point_optimal" in err


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


@pytest.mark.parametrize("name", ["NAN_PRICE", "ALLOCATE_MINUS_ONE", "RANDOM_PRICE"])
def test_a_broken_planted_mechanism_exits_3_with_error_verdicts(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(ROOT)  # tests.planted is importable from the repository root
    out = tmp_path / "out"
    code = main(["check", "--mechanism", f"tests.planted:{name}", "--budget", "3", "--out", str(out), "--no-progress"])
    assert code == 3
    assert "MechanismError" in capsys.readouterr().err
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 5
    assert all(r["error"].startswith("MechanismError: ") and not r["holds"] for r in rows)
    table = _verdict_rows((out / "report.md").read_text())
    assert table == [f"| {name.lower()}, {kind} |" + " error |" * 5 for kind in ("solitary", "cloned")]


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
