"""`agora solve`: the numbers it prints are the solver's, and the chain's match PAPER.md."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reports.cli import main


def test_solve_chain_json_matches_paper_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "chain/0", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # PAPER.md, "Chain": Q* at γ = 0.99.
    expected = [[0.760792, 0.768477], [0.760792, 0.776239], [0.768477, 0.784080], [0.776239, 0.792], [0.78408, 0.8]]
    np.testing.assert_allclose(np.array(out["Q"])[:5], expected, atol=1e-6)
    np.testing.assert_allclose(out["V"][:5], np.max(expected, axis=1), atol=1e-6)
    assert out["policy"][:5] == [1] * 5
    assert out["terminal"][5] is True
    assert 0 < out["error_bound"] <= 1e-10
    assert out["method"].startswith("auto:")
    assert out["gamma"] == 0.99


def test_solve_table_has_one_row_per_state(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "duality/0", "--method", "vi", "--tol", "1e-9"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "method vi" in lines[0]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["0", "1", "2"]
    # PAPER.md, "Duality": Q*(0,·) = (−99, 50), V*(2) = −100.
    assert float(rows[0][1]) == pytest.approx(-99.0, abs=1e-6)
    assert float(rows[0][2]) == pytest.approx(50.0, abs=1e-6)
    assert float(rows[2][3]) == pytest.approx(-100.0, abs=1e-6)


def test_solve_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "nope/0"]) == 2
    assert "chain/0" in capsys.readouterr().err
    assert main(["solve", "chain/0", "--tol", "-1"]) == 2
    assert "tol" in capsys.readouterr().err
    assert main(["solve", "chain/0", "--method", "dp"]) == 2  # argparse's error: main returns its status
    assert "argument --method: unknown method 'dp'" in capsys.readouterr().err
