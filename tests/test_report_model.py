"""reports.model, reports.render, reports.latex: one model, two renderings that cannot drift, LaTeX tables.

The fields test renders Markdown and HTML from the same model and looks for every verdict, link,
tolerance, timing and provenance field in both; the planted-drift tests drop one line from a copy
of a template and check that the same test then fails. The LaTeX tests check structure (braces,
cells per row, escaping) and compile with pdflatex where it exists.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import mechanism
import verify
from reports.latex import escape, learning_latex, tabular, verdicts_latex
from reports.markdown import verdict_table, write_verdict_report
from reports.model import DIFFERS, check_report, git_commit, paper_says, provenance, source_digests
from reports.render import TEMPLATES, fields, missing, render_html, render_markdown
from verify.records import verdict_rows

CX = {
    "claim": "truthful",
    "description": "In one auction bidder 0 gains 1 by shading its bid to 0 " + "because " * 40 + "(a long sentence).",
    "source": "search",
    "mdp": None,
    "bids": [[1.0, 0.0]],
    "state": 0,
    "bidder": 0,
    "deviation": 0.0,
    "numbers": {"gain": 1.0, "valuation": 1.0},
}


def _row(mech: str, clones: int, claim: str, holds: bool, **extra: Any) -> dict[str, Any]:
    row = {"mechanism": mech, "clones": clones, "claim": claim, "title": claim.replace("_", " "), "holds": holds,
           "counterexample": None, "examples_tried": 7, "seed": 3, "budget": 9, "tolerance": 1e-9,
           "searched": "7 generated auctions", "notes": "", "error": None, "seconds": 0.25, "domain": "mdps",
           "agora_version": "0.1.0", "numpy_version": "2.0", "scipy_version": "1.14", "hypothesis_version": "6.1",
           "python_version": "3.11", "timestamp": "2026-01-01T00:00:00+00:00", "command": "agora check"}
    return {**row, **extra}


ROWS = [
    _row("vickrey", 2, "truthful", True),
    _row("vickrey", 2, "conserves_credit", False, counterexample={**CX, "claim": "conserves_credit"}, seconds=1.5),
    _row("first_price", 1, "truthful", False, counterexample=CX, tolerance=1e-6),
    _row("broken", 1, "truthful", False, error="MechanismError: price is NaN"),
]


@pytest.fixture
def report() -> Any:
    return check_report(ROWS)


# ---------------------------------------------------------------------------- the model
def test_the_table_is_societies_by_claims_with_links_and_the_papers_column(report: Any) -> None:
    table = report.verdicts
    assert table.header == ("society", "truthful", "conserves credit", "the paper says")
    assert [r.society for r in table.rows] == ["Vickrey, cloned", "Bucket Brigade, solitary", "broken, solitary"]
    texts = [[c.text for c in r.cells] for r in table.rows]
    assert texts == [["✓", "✗"], ["✗", "—"], ["error", "—"]]
    anchors = [c.anchor for r in table.rows for c in r.cells]
    assert anchors == ["vickrey-2-truthful", "vickrey-2-conserves-credit", "first-price-1-truthful", "",
                       "broken-1-truthful", ""]
    assert [d.anchor for d in report.details] == [a for a in anchors if a]
    # PAPER.md, claims 2 and 4: Vickrey is truthful and creates credit; BB is not truthful and conserves.
    assert table.rows[0].paper.startswith("truthful: yes; conserves credit: no")
    assert table.rows[1].paper.startswith("truthful: no; conserves credit: yes")
    assert table.rows[2].paper == "—"  # the paper says nothing about a user's mechanism


def test_a_verdict_that_contradicts_the_paper_is_marked() -> None:
    # Planted: Vickrey "fails" truthful, which the paper claims (claim 2); the cell must say so.
    rep = check_report([_row("vickrey", 1, "truthful", False, counterexample=CX)])
    cell = rep.verdicts.rows[0].cells[0]
    assert cell.differs
    assert cell.text == "✗" + DIFFERS
    assert not check_report([_row("vickrey", 1, "truthful", True)]).verdicts.rows[0].cells[0].differs


def test_what_the_paper_says_by_society() -> None:
    said = {(c.claim, c.holds, c.qualifier) for c in paper_says("ccv", 1)}
    assert ("fixed_point_optimal", False, "in general") in said  # the second-best fixed point (DESIGN §1)
    assert ("fixed_point_optimal", True, "") in {(c.claim, c.holds, c.qualifier) for c in paper_says("ccv", 2)}
    assert paper_says("env_reward", 2) == ()
    assert paper_says("pkg.mod:MINE", 1) == ()


def test_tolerances_and_timings_come_from_the_rows(report: Any) -> None:
    assert {f.name: f.value for f in report.tolerances} == {"truthful": "relative 1e-09, 1e-06",
                                                           "conserves credit": "relative 1e-09"}
    assert report.timings.total == "2.25 s"  # 0.25 + 1.5 + 0.25 + 0.25
    assert report.timings.table.rows[0] == ("Vickrey, cloned", "0.25 s", "1.50 s")


def test_an_explanation_is_a_sentence_then_the_numbers(report: Any) -> None:
    d = report.details[1]
    assert d.explanation.sentence == CX["description"]
    assert d.explanation.numbers.splitlines()[0] == "bids[s, m] (bidder m plays primitive m % A):"
    assert "gain = 1" in d.explanation.numbers
    assert "source:" not in d.explanation.numbers  # said once, beside the heading


def test_empty_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="no verdict rows"):
        check_report([])


def test_the_plain_table_of_the_command_line() -> None:
    header, body = verdict_table(ROWS)
    assert header == ["society", "truthful", "conserves credit"]
    assert body == [["Vickrey, cloned", "✓", "✗"], ["Bucket Brigade, solitary", "✗", "—"],
                    ["broken, solitary", "error", "—"]]


# ---------------------------------------------------------------------------- two renderings
def test_both_renderings_show_every_field(report: Any) -> None:
    md, page = render_markdown(report), render_html(report)
    assert len(fields(report)) > 60
    assert missing(report, md, "md") == []
    assert missing(report, page, "html") == []
    for d in report.details:
        assert f'<a id="{d.anchor}"></a>' in md
        assert f'<section class="detail" id="{d.anchor}">' in page
        assert f"](#{d.anchor})" in md
        assert f'href="#{d.anchor}"' in page


@pytest.mark.parametrize(
    ("kind", "template", "line", "lost"),
    [
        ("html", "report.html.j2", "{% for f in r.provenance %}", "provenance"),
        ("md", "report.md.j2", "- {{ f.name|md }}: {{ f.value|md }}\n{% else %}", "tolerance"),
        ("html", "report.html.j2", "<p>Total: {{ r.timings.total }}", "total time"),
        ("md", "report.md.j2", "{{ d.explanation.sentence|md }}", "counterexample"),
    ],
)
def test_a_template_that_drops_a_field_is_caught(report: Any, tmp_path: Path, kind: str, template: str,
                                                 line: str, lost: str) -> None:
    # Planted drift: one template loses a line; the fields check must name what went missing.
    shutil.copytree(TEMPLATES, tmp_path / "t")
    text = (tmp_path / "t" / template).read_text()
    assert line in text
    start = text.index(line)
    end = text.index("\n", start + len(line.split("\n")[0]))
    broken = text[:start] + ("{% for f in [] %}" if line.startswith("{% for") else "") + text[end:]
    (tmp_path / "t" / template).write_text(broken)
    render = render_markdown if kind == "md" else render_html
    out = render(report, templates=tmp_path / "t")
    gone = missing(report, out, kind)
    assert gone, "the drift went unnoticed"
    assert any(lost in what for what, _ in gone)


def test_prose_wraps_and_nothing_is_fetched(report: Any) -> None:
    page = render_html(report)
    sentence = CX["description"].replace("'", "&#39;")
    assert f'<p class="explanation">{sentence}</p>' in page  # a paragraph, never the first line of a <pre>
    assert re.search(r"pre\.numbers \{[^}]*white-space: pre-wrap;[^}]*overflow-wrap: anywhere", page)
    assert "overflow-x" not in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page
    assert "<script" not in page


def test_text_from_records_is_escaped(tmp_path: Path) -> None:
    nasty = "<script>alert(1)</script> | **x**"
    rows = [_row(nasty, 1, "truthful", False, counterexample={**CX, "description": nasty})]
    rep = check_report(rows)
    page, md = render_html(rep), render_markdown(rep)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<script>" not in md
    assert "&lt;script>alert(1)&lt;/script> \\|" in md  # raw HTML neutralised, the pipe cannot split a cell
    assert missing(rep, md, "md") == []
    assert missing(rep, page, "html") == []


def test_rendering_is_deterministic(report: Any) -> None:
    assert render_markdown(report) == render_markdown(check_report(ROWS))
    assert render_html(report) == render_html(check_report(ROWS))


# ---------------------------------------------------------------------------- provenance
def test_the_git_commit_is_recorded_inside_a_checkout_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert git_commit(outside) is None
    assert "git commit" not in {f.name for f in provenance(ROWS, outside)}
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=a@b.c", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "f").write_text("x")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert git_commit(repo) == head
    assert {f.name: f.value for f in provenance(ROWS, repo)}["git commit"] == head


def test_a_user_mechanism_source_is_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = "from mechanism import MECHANISMS\nMINE = MECHANISMS['ccv']\n"
    (tmp_path / "agora_usermech_hash.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    (fact,) = source_digests(["vickrey", "agora_usermech_hash:MINE"])
    assert fact.name == "sha256 of agora_usermech_hash:MINE"
    assert fact.value == f"{hashlib.sha256(source.encode()).hexdigest()} (agora_usermech_hash.py)"
    (missing_module,) = source_digests(["no_such_module_anywhere:X"])
    assert missing_module.value.startswith("unavailable (ModuleNotFoundError")
    rows = [_row("ccv", 1, "truthful", True, mechanisms="agora_usermech_hash:MINE")]
    assert "sha256 of agora_usermech_hash:MINE" in {f.name for f in provenance(rows)}


def test_the_command_comes_from_the_folder(tmp_path: Path) -> None:
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / "a.json").write_text('{"kind": "check", "command": "agora check --budget 9"}')
    facts = {f.name: f.value for f in provenance(ROWS, tmp_path)}
    assert facts["command"] == "agora check --budget 9"
    assert facts["seed"] == "3"
    assert facts["budget"] == "9"
    assert {f.name: f.value for f in provenance(ROWS)}["command"] == "agora check"  # the rows' own, lacking a folder


# ---------------------------------------------------------------------------- a real check, written
@pytest.fixture(scope="module")
def checked() -> list[dict[str, Any]]:
    verdicts = verify.check(mechanism.MECHANISMS["first_price"], clones=[1], budget=5, seed=0,
                            claims=["truthful", "conserves_credit", "q_star_farsighted_equilibrium"])
    return verdict_rows(verdicts, {"command": "agora check", "mechanisms": "first_price"})


def test_write_verdict_report_draws_every_failed_claim(checked: list[dict[str, Any]], tmp_path: Path) -> None:
    paths = write_verdict_report(tmp_path, checked, formats=("png",))
    names = [p.name for p in paths]
    assert names[:3] == ["report.md", "report.html", "verdicts.tex"]
    failed = [r for r in checked if not r["holds"]]
    assert len(failed) == 2  # truthful (shading, DESIGN §1) and farsighted equilibrium fail for solitary BB
    for r in failed:
        stem = f"counterexample-first-price-1-{r['claim'].replace('_', '-')}"
        assert {f"{stem}.svg", f"{stem}.png"} <= set(names)
    assert {"verdicts_heatmap.svg", "verdicts_heatmap.png"} <= set(names)
    page = (tmp_path / "report.html").read_text()
    assert page.count('src="data:image/svg+xml;base64,') == 1 + len(failed)  # heat-map + one per failure
    md = (tmp_path / "report.md").read_text()
    assert "![" in md
    assert "(verdicts_heatmap.svg)" in md
    assert all(f"(counterexample-first-price-1-{r['claim'].replace('_', '-')}.svg)" in md for r in failed)


def test_an_unknown_format_is_refused_before_anything_is_written(checked: list[dict[str, Any]],
                                                                 tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown figure format 'gif'"):
        write_verdict_report(tmp_path, checked, formats=("gif",))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- LaTeX
def _balanced(tex: str) -> bool:
    """Whether the unescaped braces balance (a brace after an odd run of backslashes is escaped: ``\\{`` is not)."""
    depth = 0
    for i, ch in enumerate(tex):
        run = len(tex[:i]) - len(tex[:i].rstrip("\\"))
        if ch in "{}" and run % 2 == 0:
            depth += 1 if ch == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def _rows_of(tex: str) -> list[list[str]]:
    """The cells of every row between \\toprule and \\bottomrule (rule lines skipped)."""
    out = []
    for block in re.findall(r"\\toprule\n(.*?)\\bottomrule", tex, flags=re.S):
        for line in block.splitlines():
            if line.startswith("\\midrule"):
                continue
            assert line.endswith(r" \\"), line
            out.append(re.split(r"(?<!\\)&", line[: -len(r" \\")]))
    return out


def test_the_brace_check_catches_a_planted_imbalance() -> None:
    assert _balanced(r"a\\{b \} c}")  # a row break, then a group holding an escaped brace
    assert not _balanced(r"\caption{a \{b}}")  # one close too many
    assert not _balanced(r"{\\\}")  # a row break, then an escaped brace: the group never closes


def test_escape_makes_every_special_character_text() -> None:
    assert escape("a_b 5% x&y #1 {z} ~^\\") == (
        r"a\_b 5\% x\&y \#1 \{z\} \textasciitilde{}\textasciicircum{}\textbackslash{}")
    assert escape("γ = 0.99, ε — ×") == r"$\gamma$ = 0.99, $\varepsilon$ --- $\times$"
    with pytest.raises(ValueError, match="rows\\[0\\] has 1 cells; the header has 2"):
        tabular(["a", "b"], [["x"]])


def test_verdicts_tex_structure(report: Any) -> None:
    nasty = check_report([*ROWS, _row("my_mech%&#", 2, "truthful", True)])
    tex = verdicts_latex(nasty)
    assert _balanced(tex)
    assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 1
    rows = _rows_of(tex)
    assert all(len(r) == len(rows[0]) == 1 + len(nasty.verdicts.columns) for r in rows)
    assert rows[1] == ["Vickrey, cloned ", r" \checkmark ", r" $\times$"]
    assert rows[-1][0] == r"my\_mech\%\&\#, cloned "
    assert r"\usepackage{booktabs}" in tex
    assert r"\usepackage{amssymb}" in tex
    assert r"(2) conserves credit" in tex
    with pytest.raises(ValueError, match="check report"):
        verdicts_latex(check_report(ROWS).__class__(kind="training", title="t"))


def _compile(tmp_path: Path, body: str) -> None:
    doc = ("\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs}\n\\usepackage{amssymb}\n"
           "\\usepackage{graphicx}\n"
           f"\\begin{{document}}\n{body}\n\\end{{document}}\n")
    (tmp_path / "doc.tex").write_text(doc)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed: structure checked only")
def test_verdicts_tex_compiles(report: Any, tmp_path: Path) -> None:
    _compile(tmp_path, verdicts_latex(report))


def _learning_report() -> Any:
    from reports.learning import training_report

    run: Mapping[str, Any] = {
        "run": "chain:valuation:ccv:2:320", "experiment": "chain_%&#", "studies": ["main"], "task": "chain/0",
        "transform": None, "mechanism": "ccv", "clones": 2, "learner": "valuation", "steps": 320, "seeds": [0, 1],
        "episodes": 4, "gamma": 0.99, "n_actions": 2, "reachable": [True, False], "epsilons": [0.05, 0.01],
        "resolution": 4, "exact": True, "steps_to": {"0.05": [8, None], "0.01": [None, None]},
        "final_max_error": [0.01, 0.02], "final_max_error_optimal": [0.0, 0.01], "final_max_error_fixed_point":
        [0.01, 0.02], "final_regret": [0.0, 0.0], "optimal_win_share": [1.0, 0.5], "win_rate": [[0.0, 1.0],
        [None, None]], "command": "agora reproduce chain", "agora_version": "0.1.0", "timestamp": "t"}
    return training_report([run])


def test_learning_tex_structure() -> None:
    rep = _learning_report()
    tex = learning_latex(rep)
    assert _balanced(tex)
    rows = _rows_of(tex)
    assert len(rows) == 2
    assert len(rows[0]) == len(rows[1]) == 10
    assert rows[1][1].strip() == "CCV, cloned"
    # median over [min, max] in one cell (PAPER-style stacking, no package): 0.5 and 1.0 → 75% [50%, 100%]
    assert rows[1][-1].strip() == r"\begin{tabular}[t]{@{}r@{}}75\%\\{\scriptsize [50\%, 100\%]}\end{tabular}"
    assert rows[1][7].strip().startswith(r"\begin{tabular}[t]{@{}r@{}}8\\{\scriptsize over 1 of 2; 1 never}")
    assert r"\resizebox{\linewidth}{!}{%" in tex
    assert r"\usepackage{graphicx}" in tex
    assert r"chain\_\%\&\#" in tex  # the section title, escaped, in the caption


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed: structure checked only")
def test_learning_tex_compiles(tmp_path: Path) -> None:
    _compile(tmp_path, learning_latex(_learning_report()))


# ---------------------------------------------------------------------------- agora report
def test_agora_report_takes_figure_formats(checked: list[dict[str, Any]], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from reports.cli import main
    from reports.commands.report import FIGURE_FORMATS
    from reports.figures import FORMATS
    from verify.records import write_manifest, write_records

    assert FIGURE_FORMATS == FORMATS  # the flag's list (no matplotlib at --help) is the figures' own
    write_records(tmp_path, "verdicts", checked)
    write_manifest(tmp_path, ["verdicts.jsonl", "verdicts.csv"])
    assert main(["report", str(tmp_path), "--figure-formats", "pdf"]) == 0
    assert (tmp_path / "verdicts_heatmap.pdf").stat().st_size > 0
    assert (tmp_path / "verdicts_heatmap.svg").stat().st_size > 0  # always: the page inlines it
    assert (tmp_path / "verdicts.tex").exists()
    assert main(["report", str(tmp_path), "--figure-formats", "gif"]) == 2
    assert "--figure-formats 'gif': choose from svg, pdf, png" in capsys.readouterr().err


def test_a_seed_that_fails_is_never_hidden_by_one_that_holds(tmp_path: Path) -> None:
    # `agora report DIR` on a `--seeds 2` folder: seed 1 held, seed 0 found a counterexample. The
    # report (like the printed table) must show the failure, whatever the order of the rows.
    failed = verdict_rows(verify.check("env_reward", clones=[2], claims=["q_star_equilibrium"], budget=5))[0]
    held = {**failed, "holds": True, "counterexample": None, "seed": 1}
    for rows in ([held, failed], [failed, held]):
        md = write_verdict_report(tmp_path, rows, figures=False)[0].read_text(encoding="utf-8")
        body = [line for line in md.splitlines() if line.startswith("| Environment Reward, cloned | [")]
        assert len(body) == 1, body  # one verdict row for the society (the timings table has its own)
        assert "✗" in body[0]
        assert "✓" not in body[0]
