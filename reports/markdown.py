"""Verdict records → ``report.md``, a self-contained ``report.html``, ``verdicts.tex`` and the figures.

All are rendered from the rows of ``verdicts.jsonl`` (:func:`verify.records.verdict_rows`) through
one model (:func:`reports.model.check_report`) and its two renderers (:mod:`reports.render`), so
`agora report DIR` re-renders them without re-running anything and the two pages cannot drift
apart. The table's columns are the claims in the order the rows first name them, each headed by
the ``title`` its rows carry (the claim's :attr:`verify.Claim.title`); the societies carry the
paper's names (:func:`reports.names.society_label`). Figures: the verdict heat-map
(:func:`reports.figures.verdict_heatmap`) and, for every failed claim, its counterexample drawn
(:func:`reports.drawing.draw_counterexample`). Nothing here imports the claim checker or hypothesis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reports.model import (
    MARKS,
    Figure,
    check_report,
    detail_anchors,
    figure_formats,
    mark,
    property_tests_section,
    save_figure,
)
from reports.names import society_label
from reports.outdir import output_path
from reports.verdict_rows import merge_seeds
from verify.records import read_jsonl, write_text

__all__ = [
    "HEATMAP",
    "check_figures",
    "render_html",
    "render_markdown",
    "verdict_table",
    "write_verdict_report",
]

Row = Mapping[str, Any]

#: File stem of the verdict heat-map.
HEATMAP = "verdicts_heatmap"
#: File-stem prefix of a drawn counterexample (then the anchor of its check).
COUNTEREXAMPLE = "counterexample-"


def verdict_table(rows: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """Header and body of the society × claim table as plain text (✓ holds, ✗ fails, ``error`` could not
    run, — not checked): what `agora check` prints. Societies by their paper names."""
    claims: dict[str, str] = {}
    for r in rows:
        claims.setdefault(str(r["claim"]), str(r.get("title") or r["claim"]))
    index = {(str(r["mechanism"]), int(r["clones"]), str(r["claim"])): r for r in rows}
    header = ["society", *claims.values()]
    body = []
    for mech, clones in dict.fromkeys((str(r["mechanism"]), int(r["clones"])) for r in rows):
        cells = [MARKS[mark(index[(mech, clones, c)])] if (mech, clones, c) in index else MARKS["absent"]
                 for c in claims]
        body.append([society_label(mech, clones), *cells])
    return header, body


def render_markdown(rows: Sequence[Row], directory: str | Path | None = None) -> str:
    """``report.md`` of the rows without figures (:func:`write_verdict_report` draws and links them)."""
    from reports.render import render_markdown as render

    return render(check_report(rows, directory=directory))


def render_html(rows: Sequence[Row], directory: str | Path | None = None) -> str:
    """``report.html`` of the rows without figures: the same content as :func:`render_markdown`, self-contained."""
    from reports.render import render_html as render

    return render(check_report(rows, directory=directory))


def _alt(cx: Mapping[str, Any], society: str, title: str) -> str:
    mdp = cx.get("mdp")
    where = "".join(f", {k} {cx[k]}" for k in ("state", "bidder") if cx.get(k) is not None)
    if mdp:
        return (f"Graph of the {mdp['n_states']}-state, {mdp['n_actions']}-action MDP on which '{title}' fails for "
                f"{society}{where}: states as nodes, actions as edges with their rewards and probabilities.")
    return f"The one auction in which '{title}' fails for {society}{where}: every bidder's bid."


def check_figures(
    directory: str | Path, rows: Sequence[Row], formats: Iterable[str] | str = ("svg",)
) -> tuple[list[Figure], dict[str, Figure], list[Path]]:
    """Draw the verdict heat-map and every failed claim's counterexample into ``directory``.

    Returns the report's figures, the counterexample figures by detail anchor
    (:func:`reports.model.detail_anchors`) and the paths written. A counterexample that cannot be
    drawn (a user claim's unusual record) is left without a figure rather than losing the report.
    """
    from reports.drawing import draw_counterexample
    from reports.figures import verdict_heatmap

    directory, chosen = Path(directory), figure_formats(formats)
    anchors = detail_anchors(rows)
    written = save_figure(verdict_heatmap(rows), directory, HEATMAP, chosen)
    paths = list(written)
    heatmap = Figure(written[0].name, "Verdicts at a glance: societies (rows) × claims (columns); ✓ held on everything "
                     "searched, ✗ a counterexample was found, error: the check could not run.",
                     f"Heat-map of {len(rows)} verdicts: one row per society, one column per claim, each cell ✓, ✗ or "
                     "error.", "figure-heatmap", tuple(p.name for p in written))
    drawn: dict[str, Figure] = {}
    for i, r in enumerate(rows):
        cx = r.get("counterexample")
        if r.get("error") or r.get("holds") or not cx:
            continue
        society, title = society_label(str(r["mechanism"]), int(r["clones"])), str(r.get("title") or r["claim"])
        try:
            fig = draw_counterexample({**cx, "title": title}, caption=False)  # the row title: no claim registry
        except Exception:  # a record the drawing does not understand: the text still explains it
            continue
        files = save_figure(fig, directory, COUNTEREXAMPLE + anchors[i], chosen)
        paths += files
        drawn[anchors[i]] = Figure(files[0].name, f"The counterexample to '{title}' for {society}, drawn.",
                                   _alt(cx, society, title), f"figure-{anchors[i]}", tuple(p.name for p in files))
    return [heatmap], drawn, paths


def write_verdict_report(
    directory: str | Path,
    rows: Sequence[Row],
    *,
    formats: Iterable[str] | str = ("svg",),
    figures: bool = True,
) -> tuple[Path, ...]:
    """Write ``report.md``, ``report.html``, ``verdicts.tex`` and the figures into ``directory``.

    Parameters
    ----------
    directory : path
        The report folder (it holds ``verdicts.jsonl``).
    rows : sequence of mappings
        The verdict rows; several seeds of one society and claim become the row that speaks for
        all of them (:func:`reports.verdict_rows.merge_seeds`: a counterexample in any seed fails it).
    formats : str or iterable of str
        Figure formats besides SVG, which is always written (the page inlines it): "pdf", "png".
    figures : bool
        Draw the heat-map and the counterexamples (False: text and tables only).

    Returns
    -------
    tuple of Path
        ``report.md``, ``report.html``, ``verdicts.tex``, then the figures.

    Every text is rendered before any is written, each atomically, and each name is checked to lie
    inside ``directory`` (:func:`reports.outdir.output_path`); a symbolic link at a name is replaced,
    its target never written.
    """
    from reports.latex import verdicts_latex
    from reports.render import render_html as html
    from reports.render import render_markdown as markdown

    if not rows:
        raise ValueError("no verdict rows to render; run `agora check` first.")
    rows = merge_seeds(rows)  # one verdict per society and claim: a seed's counterexample is never hidden
    directory = Path(directory)
    figs, drawn, paths = check_figures(directory, rows, formats) if figures else ([], {}, [])
    report = check_report(rows, directory=directory, figures=figs, counterexample_figures=drawn)
    tests = directory / "property_tests.jsonl"  # a pytest --agora-report run: its hypothesis tests too
    if tests.is_file():
        report = dataclasses.replace(report, sections=(*report.sections, property_tests_section(read_jsonl(tests))))
    texts = {"report.md": markdown(report), "report.html": html(report, base=directory),
             "verdicts.tex": verdicts_latex(report)}
    written = tuple(write_text(output_path(directory, name), text) for name, text in texts.items())
    return (*written, *paths)
