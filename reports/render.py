"""Render a :class:`reports.model.Report` to Markdown and to one self-contained HTML page.

Both renderings come from the same model through Jinja2 templates (``reports/templates/``:
``report.md.j2`` and ``report.html.j2``); the HTML environment autoescapes everything, and the
only markup a model string may carry is ``**bold**`` and ```code``` (:func:`inline_html` turns
them into tags *after* escaping). The page is self-contained: its style is inline and every figure
is inlined as a ``data:`` URI (SVG, else PNG) read from the report folder, so it opens offline and
fetches nothing. Prose wraps: a counterexample's sentence is a paragraph and its numbers a
monospace block with ``white-space: pre-wrap``, so nothing scrolls sideways at any width.

:func:`fields` lists every string both renderings must show (verdicts, the paper's column, legend,
tolerances, timings, provenance, details); :func:`missing` says which of them a rendering lacks,
so a template that drops one is caught by a test rather than by a reader.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from reports.model import Figure, Report

__all__ = ["TEMPLATES", "environment", "fields", "inline_html", "md", "missing", "render_html", "render_markdown"]

#: The packaged templates (``reports/templates/*`` is package data).
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Media types of the figure formats a page can inline, in order of preference.
MEDIA = {".svg": "image/svg+xml", ".png": "image/png"}


def md(text: Any) -> str:
    """Text for Markdown, table cells included: one line, ``|`` escaped, ``<`` as ``&lt;`` (no raw HTML)."""
    s = " ".join(str(text).split("\n"))
    return s.replace("\\|", "|").replace("|", "\\|").replace("<", "&lt;")


def fence(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in ``text``."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def inline_html(text: Any) -> Markup:
    """Escaped text with ``**bold**`` → ``<strong>`` and ```code``` → ``<code>`` (tags added after escaping)."""
    s = str(escape(str(text)))
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return Markup(s)


def _figure_src(fig: Figure, base: Path | None) -> str | None:
    """A ``data:`` URI of the figure's file (SVG preferred, else PNG), or None when there is no such file."""
    if base is None:
        return None
    names = [fig.path, *fig.files]
    for suffix in MEDIA:
        for name in names:
            path = base / name
            if Path(name).suffix == suffix and path.is_file():
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                return f"data:{MEDIA[suffix]};base64,{data}"
    return None


@cache
def _default_environment(kind: str) -> jinja2.Environment:
    return _make_environment(kind, TEMPLATES)


def _make_environment(kind: str, templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=kind == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    # Markdown's own **bold** and `code` pass through md() untouched: inline_md is md.
    env.filters.update(md=md, inline_md=md, inline=inline_html, fence=fence)
    return env


def environment(kind: str, templates: str | Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment of ``kind`` ("md" or "html"); ``templates`` a folder replacing the packaged one.

    HTML autoescapes; Markdown escapes through its ``md`` filter.
    """
    if kind not in ("md", "html"):
        raise ValueError(f"kind must be 'md' or 'html'; got {kind!r}.")
    return _default_environment(kind) if templates is None else _make_environment(kind, Path(templates))


def render_markdown(report: Report, *, templates: str | Path | None = None) -> str:
    """``report.md``: the report as GitHub-flavoured Markdown (explicit ``<a id>`` anchors for the cell links)."""
    text = environment("md", templates).get_template("report.md.j2").render(r=report)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def render_html(report: Report, *, base: str | Path | None = None, templates: str | Path | None = None) -> str:
    """``report.html``: one self-contained page; the figures are read from ``base`` (the report folder)."""
    folder = None if base is None else Path(base)
    sources = {id(f): _figure_src(f, folder) for f in report.all_figures()}
    template = environment("html", templates).get_template("report.html.j2")
    return template.render(r=report, src=lambda fig: sources.get(id(fig)))


# ---------------------------------------------------------------------------- what both must show
def _table_fields(what: str, header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> Iterator[tuple[str, str]]:
    for h in header:
        yield f"{what} header", h
    for row in rows:
        for cell in row:
            yield what, cell


def fields(report: Report) -> list[tuple[str, str]]:
    """Every (what, string) that both renderings of ``report`` must show, in reading order."""
    out: list[tuple[str, str]] = [("title", report.title)]
    if report.verdicts is not None:
        for header in report.verdicts.header:
            out.append(("verdict header", header))
        for row in report.verdicts.rows:
            out += [("society", row.society), ("the paper says", row.paper)]
            for cell in row.cells:
                out.append((f"verdict {row.society} / {cell.claim}", cell.text))
                if cell.anchor:
                    out.append((f"link {row.society} / {cell.claim}", f"#{cell.anchor}"))
    out += [(f"legend {f.name}", f.value) for f in report.legend]
    out += [(f"tolerance {f.name}", f.value) for f in report.tolerances]
    out += [("tolerance claim", f.name) for f in report.tolerances]
    if report.timings is not None:
        out += list(_table_fields("timing", report.timings.table.header, report.timings.table.rows))
        out.append(("total time", report.timings.total))
    out += [(f"provenance {f.name}", f.value) for f in report.provenance]
    out += [("provenance field", f.name) for f in report.provenance]
    for d in report.details:
        out += [(f"detail {d.anchor}", d.anchor), (f"detail {d.anchor} paper", d.paper)]
        out += [(f"detail {d.anchor} {f.name}", f.value) for f in d.facts]
        if d.explanation is not None:
            out.append((f"detail {d.anchor} counterexample", d.explanation.sentence))
        if d.error:
            out.append((f"detail {d.anchor} error", d.error))
    for fig in report.all_figures():
        out.append(("figure caption", fig.caption))
    return out


def missing(report: Report, text: str, kind: str) -> list[tuple[str, str]]:
    """The :func:`fields` of ``report`` that the rendering ``text`` (``kind`` "md" or "html") does not show."""
    if kind == "md":
        return [(what, v) for what, v in fields(report) if md(v) not in text]
    if kind == "html":
        return [(what, v) for what, v in fields(report) if str(inline_html(v)) not in text]
    raise ValueError(f"kind must be 'md' or 'html'; got {kind!r}.")
