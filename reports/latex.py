r"""Tables to paste into a paper: booktabs LaTeX of a report's verdicts and learning results, and CSV.

``verdicts.tex`` (:func:`verdicts_latex`) is the verdict table of a check report: a row per society
(the paper's names), a column per claim, numbered (1), (2), ... with the claims' titles in the
caption; ✓ is ``\checkmark``, ✗ is ``$\times$``, "error" is italic, a contradiction of the paper
``\dag``. ``learning.tex`` (:func:`learning_latex`) holds the main table of every section of a
training report; ``learning.csv`` (:func:`learning_csv_rows`) the same cells, one row per run, with
the section in the first column. Each ``.tex`` is a fragment (``table`` environments) to
``\input``; it needs ``\usepackage{booktabs}`` (``\toprule``, ``\midrule``, ``\bottomrule``) and
``\usepackage{amssymb}`` (``\checkmark``) for the verdicts, ``\usepackage{graphicx}`` (``\resizebox``: the
learning tables have ten columns and are scaled to the line) for the learning results, as its first lines
say. Text is escaped (:func:`escape`): LaTeX's special characters and the Unicode the reports use (γ, ε,
×, −, —, ·, ≥, …) become commands that pdflatex understands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from reports.model import Report, Table

__all__ = [
    "PACKAGES",
    "PACKAGES_LEARNING",
    "escape",
    "learning_csv_rows",
    "learning_latex",
    "tabular",
    "verdicts_latex",
]

#: What a document that inputs the tables needs.
PACKAGES = r"% Needs \usepackage{booktabs} (rules) and \usepackage{amssymb} (\checkmark)."
PACKAGES_LEARNING = r"% Needs \usepackage{booktabs} (rules) and \usepackage{graphicx} (\resizebox)."
_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
_UNICODE = {
    "γ": r"$\gamma$", "ε": r"$\varepsilon$", "π": r"$\pi$", "ψ": r"$\psi$", "φ": r"$\varphi$", "ω": r"$\omega$",
    "τ": r"$\tau$", "Σ": r"$\Sigma$", "×": r"$\times$", "−": r"$-$", "–": "--", "—": "---", "·": r"$\cdot$",
    "≥": r"$\geq$", "≤": r"$\leq$", "±": r"$\pm$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "…": r"\dots{}",
    "✓": r"\checkmark{}", "✗": r"$\times$", "†": r"\dag{}", "∞": r"$\infty$", "≈": r"$\approx$", "°": r"\textdegree{}",
    "’": "'", "‘": "`", "“": "``", "”": "''", "\u00a0": "~",
}
#: Verdict marks in the table (the model's texts).
_MARKS = {"✓": r"\checkmark", "✗": r"$\times$", "error": r"\textit{error}", "—": "---"}


def escape(text: Any) -> str:
    r"""``text`` as LaTeX: ``\ & % $ # _ { } ~ ^ < > |`` escaped, the reports' Unicode as commands, no newlines."""
    return "".join(_SPECIAL.get(ch) or _UNICODE.get(ch) or (" " if ch in "\r\n" else ch) for ch in str(text))


def tabular(header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> list[str]:
    r"""A booktabs ``tabular``: ``\toprule``, the header, ``\midrule``, the rows, ``\bottomrule``. Cells are
    given as LaTeX (escape them first); every row must have ``len(header)`` cells."""
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"rows[{i}] has {len(row)} cells; the header has {len(header)}.")
    spec = align or "l" * len(header)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(row) + r" \\" for row in rows]
    return [*lines, r"\bottomrule", r"\end{tabular}"]


def _table(body: list[str], caption: str, label: str, size: str = r"\small") -> list[str]:
    return [r"\begin{table}[htbp]", r"\centering", size, *body, rf"\caption{{{caption}}}", rf"\label{{{label}}}",
            r"\end{table}", ""]


def _mark(text: str) -> str:
    """A verdict cell: its mark as a symbol, and ``\\dag`` where it contradicts the paper."""
    dagger = text.endswith("†")
    core = text.removesuffix("†")
    return _MARKS.get(core, escape(core)) + (r"\dag{}" if dagger else "")


def verdicts_latex(report: Report) -> str:
    """``verdicts.tex``: the verdict table of a check report (booktabs), claims numbered, their titles in the caption.

    Raises
    ------
    ValueError
        When the report has no verdict table (a training report).
    """
    table = report.verdicts
    if table is None:
        raise ValueError("verdicts_latex needs a check report (reports.model.check_report); this one has no verdicts.")
    header = ["Society", *(f"({i})" for i in range(1, len(table.columns) + 1))]
    rows = [[escape(r.society), *(_mark(c.text) for c in r.cells)] for r in table.rows]
    key = "; ".join(f"({i}) {escape(title)}" for i, (_, title) in enumerate(table.columns, 1))
    caption = (
        rf"Claims checked by Agora: {key}. \checkmark: the claim held on everything searched; $\times$: a "
        r"counterexample was found; \textit{error}: the check could not run; \dag: contradicts Chang et al. (2020)."
    )
    lines = ["% Agora verdicts (generated; do not edit).", PACKAGES, ""]
    lines += _table(tabular(header, rows, "l" + "c" * len(table.columns)), caption, "tab:agora-verdicts")
    return "\n".join(lines)


def _main_tables(report: Report) -> list[tuple[str, str, Table]]:
    """(section title, section anchor, main table) of every section of a training report."""
    out = []
    for s in report.sections:
        first = next((b for b in s.blocks if isinstance(b, Table)), None)
        if first is not None:
            out.append((s.title, s.anchor, first))
    return out


def _stack(top: str, bottom: str, align: str = "r") -> str:
    """Two lines in one cell (a one-column tabular: no package needed), the second smaller."""
    if not bottom:
        return top
    return rf"\begin{{tabular}}[t]{{@{{}}{align}@{{}}}}{top}\\{{\scriptsize {bottom}}}\end{{tabular}}"


def _cell(text: str) -> str:
    """A learning-table cell: ``median [min, max]`` and ``N over k of n; m never`` on two lines."""
    for pattern in (r"^(\S+) (\[.*\])$", r"^(\S+) (over .*)$", r"^(never) (\(.*\))$"):
        m = re.match(pattern, text)
        if m:
            return _stack(escape(m.group(1)), escape(m.group(2)))
    return escape(text)


def _head(text: str) -> str:
    """A header cell on two lines, split at its middle space."""
    words = text.split(" ")
    if len(words) < 2:
        return escape(text)
    k = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    top, bottom = escape(" ".join(words[:k])), escape(" ".join(words[k:]))
    return rf"\begin{{tabular}}[b]{{@{{}}c@{{}}}}{top}\\{bottom}\end{{tabular}}"


def learning_latex(report: Report) -> str:
    """``learning.tex``: the main table of every section of a training report (one ``table`` each).

    The tables are wide (ten columns): each is scaled to the line width with ``\resizebox`` (graphicx),
    medians stacked over their [min, max] and step counts over how many seeds got there.
    """
    lines = ["% Agora learning results (generated; do not edit).", PACKAGES_LEARNING, ""]
    for title, anchor, t in _main_tables(report):
        header = [_head(h) for h in t.header]
        rows = [[_cell(c) for c in row] for row in t.rows]
        caption = (rf"{escape(title)}: final errors against the exact $Q^*$ (median over seeds, [min, max] below), "
                   r"steps to $\varepsilon$ and the share of auctions won by an optimal primitive.")
        body = [r"\resizebox{\linewidth}{!}{%", *tabular(header, rows, "ll" + "r" * (len(header) - 2)), "}"]
        lines += _table(body, caption, f"tab:agora-{anchor}", r"\small")
    return "\n".join(lines)


def learning_csv_rows(report: Report) -> list[dict[str, str]]:
    """The cells of :func:`learning_latex`'s tables, one dict per run, ``section`` first (for ``learning.csv``)."""
    return [{"section": title, **dict(zip(t.header, row, strict=True))}
            for title, _, t in _main_tables(report) for row in t.rows]
