"""`agora show DIR`: the counterexamples of a report folder replayed, printed in full and drawn.

The folder is the one ``agora check --mechanism env_reward --budget 10 --out DIR`` writes
(env_reward fails four claims in each society, DESIGN §1; it conserves credit trivially).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reports import cli
from verify.records import read_jsonl
from verify.verdicts import Counterexample, format_counterexample

Show = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("check")
    assert cli.main(["check", "--mechanism", "env_reward", "--budget", "10", "--out", str(out)]) == 0
    return out


@pytest.fixture
def show(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Show:
    """``agora show ARGS`` through the real entry point (registering the command if cli.py does not yet)."""
    if "reports.commands.show" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "reports.commands.show"))
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["show", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _failed(folder: Path) -> list[dict]:
    return [r for r in read_jsonl(folder / "verdicts.jsonl") if r["error"] is None and not r["holds"]]


def test_every_failed_counterexample_is_printed_as_recorded(folder: Path, show: Show) -> None:
    failed = _failed(folder)
    assert len(failed) == 8  # 4 claims x 2 societies; conserves_credit holds
    code, out, _ = show(str(folder))
    assert code == 0
    assert out.count("\n== env_reward x") + out.startswith("== env_reward x") == 8
    for row in failed:
        # The text of the replayed counterexample (MDP rebuilt, bids, numbers) is the record's, line for line.
        assert format_counterexample(row["counterexample"]) in out
        assert f"replay: verify.check('env_reward', clones=[{row['clones']}], claims=['{row['claim']}']" in out
    assert "..." not in out


def test_the_flags_narrow_the_choice(folder: Path, show: Show) -> None:
    code, out, _ = show(str(folder), "--society", "env_reward x2", "--claim", "q_star_equilibrium")
    assert code == 0
    assert out.count("== env_reward x") == 1
    assert "== env_reward x2: q_star_equilibrium ==" in out
    code, out, _ = show(str(folder), "--mechanism", "env_reward", "--clones", "1",
                        "--claim", "truthful,fixed_point_optimal")
    assert code == 0
    assert out.count("== env_reward x1: ") == 2
    assert "x2" not in out.split("\n", 1)[0]


def test_json_gives_the_counterexamples_back(folder: Path, show: Show) -> None:
    code, out, _ = show(str(folder), "--claim", "q_star_farsighted_equilibrium", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    rows = {(r["clones"], r["claim"]): r for r in _failed(folder)}
    assert [(c["clones"], c["claim"]) for c in doc["counterexamples"]] == [
        (1, "q_star_farsighted_equilibrium"), (2, "q_star_farsighted_equilibrium")]
    for c in doc["counterexamples"]:
        assert c["counterexample"] == rows[(c["clones"], c["claim"])]["counterexample"]  # read back and written again
        cx = Counterexample.from_dict(c["counterexample"])
        assert cx.mdp is not None
        assert format_counterexample(c["counterexample"]) in c["text"]
    assert doc["figures"] == []


def test_clear_errors(folder: Path, show: Show, tmp_path: Path) -> None:
    code, _, err = show(str(tmp_path / "missing"))
    assert code == 2
    assert "is not a folder" in err
    (tmp_path / "runs.jsonl").write_text("{}\n")
    code, _, err = show(str(tmp_path))
    assert code == 2
    assert "has no verdicts.jsonl (it holds runs.jsonl" in err
    code, _, err = show(str(folder), "--claim", "conserves_credit")
    assert code == 2
    assert "no failed verdict in" in err
    assert "matching and holding: env_reward x1 conserves_credit, env_reward x2 conserves_credit" in err
    assert "The failed verdicts there: env_reward x1 truthful," in err
    code, _, err = show(str(folder), "--society", "ccv x1")
    assert code == 2
    assert "matches --society \"ccv x1\"" in err
    code, _, err = show(str(folder), "--out", str(tmp_path / "cx.gif"))
    assert code == 2
    assert "must end in .svg, .png, .pdf" in err
    try:  # argparse's error; main returns its status (or, in an older cli.py, raises SystemExit)
        code, _, err = show(str(folder), "--society", "ccv")
    except SystemExit as done:
        code = int(done.code or 0)
    assert code == 2


def test_drawing_needs_the_drawing_module(folder: Path, show: Show, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "reports.drawing", None)  # planted: the module cannot be imported
    code, _, err = show(str(folder), "--out", str(tmp_path / "cx.svg"))
    assert code == 2
    assert "drawing needs reports.drawing" in err
    assert not list(tmp_path.iterdir())


def test_out_draws_each_chosen_counterexample(folder: Path, show: Show, tmp_path: Path) -> None:
    drawing = pytest.importorskip("reports.drawing")
    assert hasattr(drawing, "draw_counterexample")
    code, out, _ = show(str(folder), "--society", "env_reward x2", "--claim", "q_star_equilibrium",
                        "--out", str(tmp_path / "cx.svg"))
    assert code == 0
    one = tmp_path / "cx.svg"
    assert f"wrote {one}" in out
    assert "<svg" in one.read_text(encoding="utf-8")
    code, out, _ = show(str(folder), "--clones", "1", "--claim", "truthful,q_star_equilibrium",
                        "--out", str(tmp_path / "many.pdf"))
    assert code == 0
    assert sorted(p.name for p in tmp_path.glob("many-*.pdf")) == [
        "many-env_reward-x1-q_star_equilibrium.pdf", "many-env_reward-x1-truthful.pdf"]
    assert (tmp_path / "many-env_reward-x1-truthful.pdf").read_bytes().startswith(b"%PDF")
