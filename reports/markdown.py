"""Verdict records → ``report.md`` and a self-contained ``report.html``.

Both are rendered from the rows of ``verdicts.jsonl`` (:func:`verify.records.verdict_rows`), so
`agora report DIR` can re-render them without re-running anything. The table's columns are the
claims in the order the rows first name them, each headed by the ``title`` its rows carry (the
claim's :attr:`verify.Claim.title`); nothing here imports the claim checker or hypothesis.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reports.outdir import output_path
from verify.records import write_text
from verify.verdicts import format_counterexample

__all__ = ["render_html", "render_markdown", "verdict_table", "write_verdict_report"]

Row = Mapping[str, Any]


def _mark(row: Row) -> str:
    if row.get("error"):
        return "error"
    return "✓" if row.get("holds") else "✗"


def _claims_in(rows: Sequence[Row]) -> dict[str, str]:
    """Claim name → column header, in the order the rows first name the claims (a row without a title: its name)."""
    titles: dict[str, str] = {}
    for r in rows:
        titles.setdefault(str(r["claim"]), str(r.get("title") or r["claim"]))
    return titles


def _societies(rows: Sequence[Row]) -> list[tuple[str, int]]:
    return list(dict.fromkeys((str(r["mechanism"]), int(r["clones"])) for r in rows))


def _society_name(mechanism: str, clones: int) -> str:
    kind = "solitary" if clones == 1 else "cloned" if clones == 2 else f"{clones} clones"
    return f"{mechanism}, {kind}"


def verdict_table(rows: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """Header and body of the society × claim table (✓ holds, ✗ fails, ``error`` could not run)."""
    claims = _claims_in(rows)
    index = {(r["mechanism"], int(r["clones"]), r["claim"]): r for r in rows}
    header = ["society", *claims.values()]
    body = []
    for mech, clones in _societies(rows):
        cells = [_mark(index[(mech, clones, c)]) if (mech, clones, c) in index else "" for c in claims]
        body.append([_society_name(mech, clones), *cells])
    return header, body


def _provenance(rows: Sequence[Row]) -> list[tuple[str, str]]:
    first = rows[0]
    keys = (
        "seed",
        "budget",
        "agora_version",
        "numpy_version",
        "scipy_version",
        "hypothesis_version",
        "python_version",
        "timestamp",
    )
    return [(k, str(first.get(k, ""))) for k in keys]


def render_markdown(rows: Sequence[Row]) -> str:
    """``report.md``: the verdict table, each counterexample in readable form, what was searched, provenance."""
    if not rows:
        raise ValueError("no verdict rows to render; run `agora check` first.")
    header, body = verdict_table(rows)
    out = ["# Agora check: verdicts", ""]
    out.append(
        "✓ the claim held on everything searched; ✗ a counterexample was found (below); error: the check could not run."
    )
    out.append("")
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    out.extend("| " + " | ".join(line) + " |" for line in body)
    out += ["", "## Provenance", ""]
    out.extend(f"- {k}: {v}" for k, v in _provenance(rows))
    out += ["", "## Details", ""]
    for r in rows:
        out.append(f"### {_society_name(r['mechanism'], int(r['clones']))}: {r['claim']} {_mark(r)}")
        out.append("")
        if r.get("error"):
            out.append(f"The check could not run: `{r['error']}`")
            out.append("")
            continue
        out.append(f"- searched: {r.get('searched', '')}")
        out.append(
            f"- examples tried: {r.get('examples_tried')} (budget {r.get('budget')}, seed {r.get('seed')}), "
            f"relative tolerance {r.get('tolerance')}, {float(r.get('seconds') or 0):.2f} s"
        )
        if r.get("notes"):
            out.append(f"- battery: {r['notes']}")
        cx = r.get("counterexample")
        if cx:
            out += ["", "Counterexample (shrunk):", "", "```", format_counterexample(cx), "```"]
        out.append("")
    return "\n".join(out)


def render_html(rows: Sequence[Row]) -> str:
    """``report.html``: the same content as :func:`render_markdown`, self-contained (inline style, no scripts)."""
    if not rows:
        raise ValueError("no verdict rows to render; run `agora check` first.")
    e = html.escape
    header, body = verdict_table(rows)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Agora check: verdicts</title>",
        "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;text-align:center}"
        "td.yes{background:#dfd}td.no{background:#fdd}td.err{background:#fd9}pre{background:#f4f4f4;padding:.6em;"
        "overflow-x:auto}</style></head><body>",
        "<h1>Agora check: verdicts</h1>",
        "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>",
    ]
    cls = {"✓": "yes", "✗": "no", "error": "err", "": ""}
    for line in body:
        cells = f"<td>{e(line[0])}</td>" + "".join(f"<td class='{cls[c]}'>{e(c)}</td>" for c in line[1:])
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</table><h2>Provenance</h2><ul>")
    parts.extend(f"<li>{e(k)}: {e(v)}</li>" for k, v in _provenance(rows))
    parts.append("</ul><h2>Details</h2>")
    for r in rows:
        parts.append(f"<h3>{e(_society_name(r['mechanism'], int(r['clones'])))}: {e(r['claim'])} {e(_mark(r))}</h3>")
        if r.get("error"):
            parts.append(f"<p>The check could not run: <code>{e(r['error'])}</code></p>")
            continue
        parts.append(
            f"<ul><li>searched: {e(str(r.get('searched', '')))}</li>"
            f"<li>examples tried: {e(str(r.get('examples_tried')))}"
            f" (budget {e(str(r.get('budget')))}, seed {e(str(r.get('seed')))})</li>"
            + (f"<li>battery: {e(r['notes'])}</li>" if r.get("notes") else "")
            + "</ul>"
        )
        if r.get("counterexample"):
            parts.append(f"<p>Counterexample (shrunk):</p><pre>{e(format_counterexample(r['counterexample']))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_verdict_report(directory: str | Path, rows: Sequence[Row]) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``directory``, each atomically; returns both paths.

    Both are rendered before either is written, and each name is checked to lie inside
    ``directory`` (:func:`reports.outdir.output_path`); a symbolic link at either name is replaced,
    its target never written.
    """
    markdown, page = render_markdown(rows), render_html(rows)
    md_path = write_text(output_path(directory, "report.md"), markdown)
    html_path = write_text(output_path(directory, "report.html"), page)
    return md_path, html_path
