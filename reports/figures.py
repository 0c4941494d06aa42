"""Figures of claim checks and learning runs, in one style, drawn from records.

Checks: :func:`verdict_heatmap` (societies × claims, ✓ / ✗ / error), :func:`exploitability_by_state`
(the one-auction or best-response gain at each state), :func:`credit_ledger` (each bidder's wealth
over an episode, from :func:`mechanism.ledger`). Learning: :func:`bids_vs_q_star` (every state's
bids over training against Q*, small multiples), :func:`error_curves` (error over training, log
axis), :func:`final_error_bars` (final errors, log axis). The networkx drawings of MDPs and
counterexamples are :mod:`reports.drawing`; display names are :mod:`reports.names`.

Learning figures read the tables of :mod:`verify.records` (``runs.jsonl``: one row per run;
``checkpoints.jsonl``: one row per run × seed × recorded checkpoint), so `agora report DIR` can
redraw them without re-running anything. Curves are the median over seeds with a band from the
lowest to the highest seed, at the recorded checkpoints. A checkpoint row holds every primitive's
mean bid at the start state (``bids_start``) and, where the records have it, at every state
(``bids``, (S, A)); :func:`bids_vs_q_star` draws every state when ``bids`` is there and the start
state otherwise.

Conventions. Every plotting function takes ``ax=`` (``fig=`` for small multiples), draws into it
(a new figure when None) and returns the :class:`~matplotlib.figure.Figure`; it writes nothing.
:func:`save` writes SVG (text kept as text: crisp and searchable in HTML), PDF and PNG, atomically.
Figures are made without pyplot (``Figure`` on the Agg canvas): nothing is registered globally,
nothing needs closing, a figure is freed when the last reference to it goes. Style
(:data:`STYLE`): fonts of at least :data:`MIN_FONT_SIZE` pt, at most six ticks on a step axis
written with SI prefixes ("12.5k"), the Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008,
"Color Universal Design"), the paper's names for mechanisms. Errors on log axes are drawn at
:data:`FLOOR` when below it (an exact 0 included). The functions that write a file
(:func:`bids_over_training`, :func:`error_over_training`, :func:`final_errors`) are the older
entry points of :mod:`reports.learning`, kept with their signatures.
"""

from __future__ import annotations

import textwrap
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

import matplotlib

matplotlib.use("Agg")
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter, MaxNLocator

from mechanism.ledger import credit_gap, cumulative_discounts, ledger
from mechanism.rollout import Trajectories
from reports.names import claim_title, mechanism_name, society_label
from verify.records import atomic_write_bytes

__all__ = [
    "ERROR_METRICS",
    "FLOOR",
    "FORMATS",
    "MAX_PANELS",
    "MIN_FONT_SIZE",
    "PALETTE",
    "STYLE",
    "VERDICT_COLOURS",
    "bids_over_training",
    "bids_vs_q_star",
    "credit_ledger",
    "error_curves",
    "error_over_training",
    "exploitability_by_state",
    "final_error_bars",
    "final_errors",
    "group_runs",
    "run_label",
    "save",
    "verdict_heatmap",
]

Row = Mapping[str, Any]
RunKey = tuple[str, str, int]  # (learner, mechanism, clones)
_P = ParamSpec("_P")
_T = TypeVar("_T")

#: The formats :func:`save` writes.
FORMATS: tuple[str, ...] = ("svg", "pdf", "png")
#: No text in a figure is smaller than this (pt).
MIN_FONT_SIZE = 9
#: Okabe & Ito (2008), the colour-blind-safe qualitative palette (blue, vermillion, green, purple, ...).
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: Verdict cells: blue and vermillion, the pair the palette keeps apart for every colour vision; grey for errors.
VERDICT_COLOURS: dict[str, str] = {"held": "#0072B2", "failed": "#D55E00", "error": "#BBBBBB"}
_GLYPHS = {"held": "✓", "failed": "✗", "error": "error"}
_GLYPH_COLOURS = {"held": "white", "failed": "white", "error": "black"}
#: Errors below this are drawn at it on log axes (an exact 0 has no place on a log scale).
FLOOR = 1e-6
#: The checkpoint fields :func:`error_curves` can draw, and their axis labels.
ERROR_METRICS: dict[str, str] = {
    "max_error": "max |bid − Q*| over reachable pairs",
    "mean_error": "mean |bid − Q*| over reachable pairs",
    "max_error_optimal": "max |bid − Q*| of the optimal primitive",
    "max_error_fixed_point": "max |bid − truthful fixed point|",
}
#: Matplotlib settings of every figure here (applied while it is drawn).
STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": MIN_FONT_SIZE,
    "ytick.labelsize": MIN_FONT_SIZE,
    "legend.fontsize": MIN_FONT_SIZE,
    "legend.title_fontsize": MIN_FONT_SIZE,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
}
#: :func:`bids_vs_q_star` draws at most this many states unless told which (``states=``).
MAX_PANELS = 24
#: PNG resolution; SVG and PDF are vector.
PNG_DPI = 150
#: Dates left out so that the same figure gives the same bytes (reproducible reports).
_METADATA: dict[str, dict[str, Any]] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}


# ---------------------------------------------------------------------------------------------- style
def _styled(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``func`` under :data:`STYLE`."""

    @wraps(func)
    def inner(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with matplotlib.rc_context(cast(Any, STYLE)):
            return func(*args, **kwargs)

    return inner


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure outside pyplot, on the Agg canvas, laid out by constrained layout."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure with one axes."""
    if ax is None:
        ax = _new_figure(figsize).add_subplot()
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (or None for a new figure); got {type(ax).__name__}.")
    ax.tick_params(labelsize=MIN_FONT_SIZE)
    root = getattr(ax.figure, "figure", None)  # the Figure itself, or the Figure above a SubFigure
    if not isinstance(root, Figure):
        raise ValueError("ax belongs to no figure; pass an Axes made by a Figure (fig.add_subplot()).")
    return root, ax


def _grid_figure(fig: Figure | None, figsize: tuple[float, float]) -> Figure:
    """``fig`` (empty, given constrained layout when it has none) or a new figure."""
    if fig is None:
        return _new_figure(figsize)
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure (or None for a new one); got {type(fig).__name__}.")
    if fig.axes:
        raise ValueError("fig already holds axes; pass an empty Figure (the panels are added to it) or None.")
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    return fig


def _colour(i: int, n: int) -> Any:
    """The i-th of n series colours: the palette for n <= 8, tab20 beyond."""
    if n <= len(PALETTE):
        return PALETTE[i % len(PALETTE)]
    return matplotlib.colormaps["tab20"](i % 20)


def _steps_axis(ax: Axes) -> None:
    """Env steps: at most six ticks, SI prefixes ("12.5k"), so no two labels run together."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=2))
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))


def _formats(formats: Iterable[str] | str) -> list[str]:
    chosen = [formats] if isinstance(formats, str) else list(formats)
    if not chosen:
        raise ValueError(f"formats is empty; choose some of {', '.join(FORMATS)}.")
    for f in chosen:
        if f not in FORMATS:
            raise ValueError(f"unknown figure format {f!r} in formats; choose from {', '.join(FORMATS)}.")
    return list(dict.fromkeys(chosen))


def save(fig: Figure, stem: str | Path, formats: Iterable[str] | str = ("svg",)) -> list[Path]:
    """Write ``fig`` to ``stem.svg`` / ``stem.pdf`` / ``stem.png``, each atomically; return the paths.

    Each file goes to a temporary file beside it and then ``os.replace`` onto its name
    (:func:`verify.records.atomic_write_bytes`): a reader sees the old file or the new one. SVG
    keeps text as text (``svg.fonttype = "none"``): crisp at any zoom and searchable in an HTML
    page; PNG at :data:`PNG_DPI` dpi; no dates are embedded, so the same figure gives the same
    bytes. ``stem`` is used as given plus ``.<format>`` (a dot inside it is kept). The figure is
    left open and unchanged: the caller may draw more and save again (figures made here are
    outside pyplot and need no closing).

    Raises
    ------
    ValueError
        When ``formats`` is empty or names a format outside :data:`FORMATS`.
    """
    chosen = _formats(formats)
    paths = []
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "agora"}):
        for fmt in chosen:
            path = Path(f"{stem}.{fmt}")
            with atomic_write_bytes(path) as fh:
                fig.savefig(fh, format=fmt, dpi=PNG_DPI, bbox_inches="tight", metadata=_METADATA[fmt])
            paths.append(path)
    return paths


def _save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` in the format its suffix names (:func:`save`); return the path."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"figure path {path} must end in one of .{', .'.join(FORMATS)}.")
    return save(fig, str(path)[: -len(path.suffix)], (fmt,))[0]


# ---------------------------------------------------------------------------------------------- verdicts
def _outcome(k: int, row: Row) -> str:
    """"held", "failed" or "error" of the k-th verdict row."""
    for key in ("claim", "mechanism", "clones", "holds"):
        if key not in row:
            raise ValueError(
                f"rows[{k}] lacks {key!r}; a verdict row (verdicts.jsonl) has claim, mechanism, clones, holds."
            )
    if row.get("error"):
        return "error"
    if not isinstance(row["holds"], bool):
        raise ValueError(f"rows[{k}]['holds'] must be True or False; got {row['holds']!r}.")
    return "held" if row["holds"] else "failed"


def _verdict_grid(
    rows: Sequence[Row],
) -> tuple[list[str], list[str], dict[tuple[int, int], tuple[str, Row]]]:
    """Row labels (societies), column labels (claim titles) and the cells (a later row for a cell wins)."""
    domains = {str(r.get("domain", "mdps")) for r in rows}
    societies: dict[tuple[str, int, str], int] = {}
    claims: dict[str, str] = {}
    cells: dict[tuple[int, int], tuple[str, Row]] = {}
    for k, row in enumerate(rows):
        outcome = _outcome(k, row)
        key = (str(row["mechanism"]), int(row["clones"]), str(row.get("domain", "mdps")))
        i = societies.setdefault(key, len(societies))
        name = str(row["claim"])
        if name not in claims:
            claims[name] = claim_title(name, row.get("title"))
        cells[i, list(claims).index(name)] = (outcome, row)
    labels = [society_label(m, c) + (f" ({d})" if len(domains) > 1 else "") for m, c, d in societies]
    return labels, list(claims.values()), cells


@_styled
def verdict_heatmap(
    rows: Sequence[Row], ax: Axes | None = None, *, href: Callable[[Row], str | None] | None = None
) -> Figure:
    """The verdict table as a grid: one row per society (mechanism × clones), one column per claim.

    Each cell holds ✓ (the claim held: no counterexample in the search), ✗ (a counterexample was
    found) or "error" (the check could not run, :func:`verify.verdicts.error_verdict`), on blue,
    vermillion and grey; an empty cell with "—" was not checked. Rows are labelled with
    :func:`reports.names.society_label` (and the searched domain when the rows hold more than
    one), columns with the claim titles, wrapped.

    Parameters
    ----------
    rows : sequence of mappings
        Verdict rows as in ``verdicts.jsonl`` (:meth:`verify.Verdict.to_dict`): ``claim``,
        ``mechanism``, ``clones``, ``holds``, ``error`` and optionally ``title``, ``domain``.
    ax : Axes, optional
    href : callable, optional
        A cell's link (``row -> URL or None``): the glyph becomes a hyperlink in SVG output.
    """
    if not rows:
        raise ValueError("rows is empty; pass the verdict rows of verdicts.jsonl (verify.Verdict.to_dict()).")
    labels, titles, cells = _verdict_grid(rows)
    n, m = len(labels), len(titles)
    fig, ax = _axes(ax, (2.6 + 1.5 * m, 1.9 + 0.45 * n))
    codes = np.full((n, m), np.nan)
    order = list(VERDICT_COLOURS)
    for (i, j), (outcome, row) in cells.items():
        codes[i, j] = order.index(outcome)
        text = ax.text(j, i, _GLYPHS[outcome], ha="center", va="center", fontsize=12 if outcome != "error" else 9,
                       color=_GLYPH_COLOURS[outcome], fontweight="bold", gid=f"verdict {i},{j}")
        url = href(row) if href is not None else None
        if url:
            text.set_url(url)
    for i, j in np.argwhere(np.isnan(codes)):
        ax.text(j, i, "—", ha="center", va="center", color="0.4", gid=f"verdict {i},{j}")
    cmap = ListedColormap([VERDICT_COLOURS[o] for o in order]).with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(codes), cmap=cmap, vmin=-0.5, vmax=len(order) - 0.5, aspect="auto")
    ax.set_xticks(range(m), [textwrap.fill(t, 18) for t in titles])
    ax.set_yticks(range(n), labels)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(m + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    handles = [Patch(facecolor=VERDICT_COLOURS["held"], label="✓ held (no counterexample found)"),
               Patch(facecolor=VERDICT_COLOURS["failed"], label="✗ failed (counterexample)"),
               Patch(facecolor=VERDICT_COLOURS["error"], label="error (the check could not run)")]
    if np.isnan(codes).any():
        handles.append(Patch(facecolor="white", edgecolor="0.6", label="— not checked"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncols=2, frameon=False)
    return fig


# ---------------------------------------------------------------------------------------------- records
def group_runs(runs: Sequence[Row]) -> dict[RunKey, Row]:
    """Run rows by (learner, mechanism, clones), in first-seen order (a later run with the same key wins)."""
    return {(str(r["learner"]), str(r["mechanism"]), int(r["clones"])): r for r in runs}


def run_label(key: RunKey) -> str:
    """``"CCV, cloned (valuation)"``; a monolithic baseline by its learner alone."""
    learner, mech, clones = key
    if mech == "monolithic":
        return f"{learner} (monolithic)"
    return f"{society_label(mech, clones)} ({learner})"


def _series_labels(runs: Sequence[Row]) -> list[str]:
    """A legend entry per run: the society, with the learner when the runs use more than one."""
    learners = {str(r["learner"]) for r in runs}
    out = []
    for r in runs:
        key = (str(r["learner"]), str(r["mechanism"]), int(r["clones"]))
        if key[1] == "monolithic" or len(learners) > 1:
            out.append(run_label(key))
        else:
            out.append(society_label(key[1], key[2]))
    return out


def _check_runs(runs: Sequence[Row]) -> list[Row]:
    if isinstance(runs, Mapping):
        raise TypeError("runs must be a sequence of run rows (runs.jsonl); wrap a single row in a list: [row].")
    runs = list(runs)
    if not runs:
        raise ValueError("runs is empty; pass the rows of runs.jsonl (verify.records.read_learning_records).")
    return runs


def _by_run(checkpoints: Sequence[Row]) -> dict[str, list[Row]]:
    """Checkpoint rows grouped by their run id."""
    out: dict[str, list[Row]] = defaultdict(list)
    for c in checkpoints:
        out[str(c["run"])].append(c)
    return out


def _curves(pts: Sequence[Row], field: str) -> tuple[np.ndarray, np.ndarray]:
    """Env steps (K,) and ``field`` per (checkpoint, seed) (K, N, ...) of one run's rows; NaN where missing."""
    steps = np.array(sorted({int(c["env_steps"]) for c in pts}))
    seeds = sorted({int(c["seed"]) for c in pts})
    first = next((c[field] for c in pts if c.get(field) is not None), None)
    shape = np.shape(first) if first is not None else ()
    out = np.full((len(steps), len(seeds), *shape), np.nan)
    for c in pts:
        value = c.get(field)
        out[np.searchsorted(steps, int(c["env_steps"])), seeds.index(int(c["seed"]))] = (
            np.nan if value is None else value
        )
    return steps, out


#: Line styles and markers of the j-th curve on one axes: curves that coincide stay told apart.
_LINESTYLES = ("-", "--", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _band(ax: Axes, steps: np.ndarray, y: np.ndarray, color: Any, label: str, j: int | None = None) -> None:
    """Median over seeds (axis 1) and a band from the lowest to the highest seed; a checkpoint no seed
    recorded is a gap (numpy's "All-NaN slice" warning silenced). With ``j``, the j-th line style and marker."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med, lo, hi = np.nanmedian(y, axis=1), np.nanmin(y, axis=1), np.nanmax(y, axis=1)
    style: dict[str, Any] = {} if j is None else {"ls": _LINESTYLES[j % 3], "marker": _MARKERS[j % 6], "ms": 4}
    ax.plot(steps, med, color=color, lw=1.5, label=label, **style)
    ax.fill_between(steps, lo, hi, color=color, alpha=0.2, lw=0)


# ---------------------------------------------------------------------------------------------- bids
def _per_state(pts: Sequence[Row]) -> bool:
    """Whether a run's checkpoint rows hold every state's bids (``bids``) or the start state's alone."""
    return any(c.get("bids") is not None for c in pts)


def _default_states(run: Row, pts: Sequence[Row]) -> list[int]:
    """The states drawn by default: every recorded state that is reachable and not terminal (where the
    run row says so), else every recorded one."""
    recorded = list(range(int(run["n_states"]))) if _per_state(pts) else [int(run["start_state"])]
    reachable, terminal = run.get("reachable"), run.get("terminal")
    keep = [s for s in recorded if (reachable is None or reachable[s]) and not (terminal and terminal[s])]
    return keep or recorded


def _chosen_states(runs: Sequence[Row], points: Mapping[str, Sequence[Row]], states: Any) -> tuple[list[int], int]:
    """``states`` checked against every run's records, or the states every run draws by default
    (the first :data:`MAX_PANELS` of them); and how many there were to choose from."""
    if states is None:
        common = set.intersection(*(set(_default_states(r, points.get(str(r["run"]), []))) for r in runs))
        return sorted(common)[:MAX_PANELS] or [int(runs[0]["start_state"])], max(len(common), 1)
    chosen = [int(s) for s in np.atleast_1d(np.asarray(states))]
    if not chosen:
        raise ValueError("states is empty; pass some state indices or None for every recorded state.")
    for run in runs:
        S, s0 = int(run["n_states"]), int(run["start_state"])
        per_state = _per_state(points.get(str(run["run"]), []))
        for s in chosen:
            if not 0 <= s < S:
                raise ValueError(f"state {s} in states is outside 0..{S - 1} (run {run['run']}).")
            if not per_state and s != s0:
                raise ValueError(
                    f"run {run['run']} records the bids of its start state {s0} only (checkpoint field "
                    f"'bids_start'): pass states=[{s0}], or records whose checkpoint rows hold 'bids' (S, A)."
                )
    return chosen, len(chosen)


def _bids_panel(ax: Axes, run: Row, pts: Sequence[Row], s: int) -> tuple[float, float]:
    """Every primitive's mean bid at ``s`` over training (median, seed band) and Q*(s, ·) dashed;
    returns the range drawn. A state whose recorded bids never moved says so in the title."""
    q = np.asarray(run["q_star"][s], dtype=float)
    A = q.size
    values = [q]
    if pts:
        per_state = _per_state(pts)
        steps, bids = _curves(pts, "bids" if per_state else "bids_start")
        y = bids[:, :, s, :] if per_state else bids
        for a in range(A):
            _band(ax, steps, y[..., a], _colour(a, A), f"primitive {a}")
        values.append(y[np.isfinite(y)])
        still = y.shape[0] > 1 and bool(np.all(np.nanmax(y, axis=0) == np.nanmin(y, axis=0)))
        ax.set_title(f"state {s}" + (" (bids never moved)" if still else ""))
    for a in range(A):
        ax.axhline(q[a], color=_colour(a, A), ls="--", lw=1.0)
    _steps_axis(ax)
    flat = np.concatenate(values)
    return float(flat.min()), float(flat.max())


def _share_y_if_comparable(axes: Sequence[Axes], ranges: Sequence[tuple[float, float]]) -> bool:
    """One y range for every panel when each panel's own range is at least a quarter of the union's
    (no panel is squashed to less than a quarter of its height); returns whether it shared."""
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    union = hi - lo
    if len(axes) < 2 or union <= 0 or min(r[1] - r[0] for r in ranges) < union / 4:
        return False
    for ax in axes[1:]:
        ax.sharey(axes[0])
    pad = 0.05 * union
    axes[0].set_ylim(lo - pad, hi + pad)
    return True


def _primitive_handles(A: int) -> list[Line2D]:
    return [*(Line2D([], [], color=_colour(a, A), lw=1.5, label=f"primitive {a}") for a in range(A)),
            Line2D([], [], color="0.2", ls="--", lw=1.0, label="Q*(s, a)")]


@_styled
def bids_vs_q_star(
    runs: Sequence[Row], checkpoints: Sequence[Row], *, states: Sequence[int] | None = None, fig: Figure | None = None
) -> Figure:
    """Small multiples of every primitive's mean bid over training against Q*(s, a), one panel per state.

    In each panel: per primitive a, the median over seeds of its mean bid at s (solid) with a band
    from the lowest to the highest seed, and Q*(s, a) (dashed, the same colour); the cloned
    society's truthful fixed point is Q* (DESIGN §1), so the bids should meet the dashed lines. One
    run: its states in rows of up to four panels. Several runs: a row per run, a column per state.
    Panels share one y range when their ranges are comparable (each at least a quarter of the
    union), so levels can be compared across states; otherwise each panel has its own.

    Parameters
    ----------
    runs, checkpoints : sequences of mappings
        Rows of ``runs.jsonl`` and ``checkpoints.jsonl`` (:class:`verify.records.LearningRecords`).
    states : sequence of int, optional
        The states to draw. Default: every state the checkpoints record bids for (all of them
        with the ``bids`` field, the start state with ``bids_start`` alone) that is reachable and
        not terminal (when the run row has ``terminal``), common to every run; the first
        :data:`MAX_PANELS` of them (a large task: pass the states to look at).
    fig : Figure, optional
        An empty figure to draw the panels in.

    Raises
    ------
    ValueError
        When a state is out of range or its bids are not recorded.
    """
    runs = _check_runs(runs)
    points = _by_run(checkpoints)
    chosen, among = _chosen_states(runs, points, states)
    if len(runs) == 1:
        ncols = min(4, len(chosen))
        nrows = -(-len(chosen) // ncols)
        panels = [(runs[0], s, k // ncols, k % ncols) for k, s in enumerate(chosen)]
    else:
        nrows, ncols = len(runs), len(chosen)
        panels = [(r, s, i, j) for i, r in enumerate(runs) for j, s in enumerate(chosen)]
    fig = _grid_figure(fig, (3.1 * ncols + 0.6, 2.5 * nrows + 1.0))
    grid = fig.subplots(nrows, ncols, squeeze=False)
    used, ranges = [], []
    labels = _series_labels(runs)
    for run, s, i, j in panels:
        ax = grid[i][j]
        ax.tick_params(labelsize=MIN_FONT_SIZE)
        ranges.append(_bids_panel(ax, run, points.get(str(run["run"]), []), s))
        used.append(ax)
        if i == nrows - 1 or (len(runs) == 1 and i * ncols + j + ncols >= len(chosen)):
            ax.set_xlabel("env steps per seed")
        if j == 0:
            ax.set_ylabel("mean bid" if len(runs) == 1 else f"{textwrap.fill(labels[i], 22)}\nmean bid")
    for ax in grid.flat[len(used):] if len(runs) == 1 else []:
        ax.set_visible(False)
    _share_y_if_comparable(used, ranges)
    A = max(len(r["q_star"][0]) for r in runs)
    fig.legend(handles=_primitive_handles(A), loc="outside lower center", ncols=min(A + 1, 6), frameon=False)
    seeds = max(len(r.get("seeds") or [0]) for r in runs)
    who = f"{run_label(next(iter(group_runs(runs))))}: " if len(runs) == 1 else ""
    more = f"; the first {len(chosen)} of {among} states" if among > len(chosen) else ""
    fig.suptitle(f"{who}mean bids over training against Q* (median of {seeds} seeds; band: lowest to highest seed"
                 f"{more})")
    return fig


# ---------------------------------------------------------------------------------------------- errors
@_styled
def error_curves(
    runs: Sequence[Row], checkpoints: Sequence[Row], *, ax: Axes | None = None, metric: str = "max_error"
) -> Figure:
    """The error of each society's bids over training: one line per run (median over seeds) with a
    band from the lowest to the highest seed, on a log axis.

    Parameters
    ----------
    runs, checkpoints : sequences of mappings
        Rows of ``runs.jsonl`` and ``checkpoints.jsonl``.
    ax : Axes, optional
    metric : str
        A checkpoint field of :data:`ERROR_METRICS`; values below :data:`FLOOR` (an exact 0) are
        drawn at it, and a dotted line marks it when that happens. A run with no value of the
        field (no fixed point, say) is left out.
    """
    if metric not in ERROR_METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(ERROR_METRICS)}.")
    runs = _check_runs(runs)
    beside = len(runs) > _LEGEND_INSIDE_UP_TO  # room for the legend beside the axes
    fig, ax = _axes(ax, (6.4 + 3.6 * beside, 3.8))
    points = _by_run(checkpoints)
    floored = False
    for j, (run, label) in enumerate(zip(runs, _series_labels(runs), strict=True)):
        pts = points.get(str(run["run"]), [])
        steps, err = _curves(pts, metric)
        if not np.isfinite(err).any():
            continue
        floored |= bool(np.nanmin(err) < FLOOR)
        _band(ax, steps, np.maximum(err, FLOOR), _colour(j, len(runs)), label, j)
    ax.set_yscale("log")
    if floored:
        ax.axhline(FLOOR, color="0.5", ls=":", lw=0.8, label=f"below {FLOOR:g}: drawn at {FLOOR:g}")
    _steps_axis(ax)
    ax.set_xlabel("env steps per seed")
    ax.set_ylabel(ERROR_METRICS[metric])
    handles = ax.get_legend_handles_labels()[0]
    if len(handles) > _LEGEND_INSIDE_UP_TO:  # many societies: beside the axes, never over the curves
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    elif handles:
        ax.legend(loc="best")
    return fig


#: A legend with more entries than this goes beside the axes instead of inside them.
_LEGEND_INSIDE_UP_TO = 6


@_styled
def final_error_bars(runs: Sequence[Row], *, ax: Axes | None = None) -> Figure:
    """Final |bid − Q*| per run: median over seeds (marker) with a whisker from the best to the worst
    seed, over all reachable pairs (circles) and for the optimal primitive alone (diamonds).

    The y axis is logarithmic, so a worst seed at 0.58 and medians at 0.004 are both readable (on a
    linear axis the whisker flattens the medians to the baseline); values below :data:`FLOOR` are
    drawn at it. Markers rather than bars, as the length of a bar means nothing on a log axis.
    """
    groups = group_runs(_check_runs(runs))
    keys = list(groups)
    fig, ax = _axes(ax, (max(6.4, 1.25 * len(keys) + 1.8), 4.2))
    x = np.arange(len(keys))
    series = (("final_max_error", "all reachable pairs", "o", -0.12),
              ("final_max_error_optimal", "optimal primitive's bid", "D", 0.12))
    floored = False
    for k, (field, name, marker, off) in enumerate(series):
        vals = [np.asarray(groups[key][field], dtype=float) for key in keys]
        floored |= any(bool(np.min(v) < FLOOR) for v in vals)
        med = np.array([max(float(np.median(v)), FLOOR) for v in vals])
        lo = np.array([max(float(v.min()), FLOOR) for v in vals])
        hi = np.array([max(float(v.max()), FLOOR) for v in vals])
        ax.errorbar(x + off, med, yerr=[med - lo, hi - med], fmt=marker, ms=6, capsize=3, color=PALETTE[k],
                    label=name)
    ax.set_yscale("log")
    if floored:
        ax.axhline(FLOOR, color="0.5", ls=":", lw=0.8, label=f"below {FLOOR:g}: drawn at {FLOOR:g}")
    ax.set_xticks(x, [textwrap.fill(run_label(key), 16) for key in keys])
    ax.set_xlim(-0.6, len(keys) - 0.4)
    ax.set_ylabel("final |bid − Q*| (log scale)")
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.legend(loc="best")
    return fig


# ---------------------------------------------------------------------------------------------- checks
def _gains(gain_by_state: Any) -> np.ndarray:
    """``gain_by_state`` as a finite (bidders, S) float array."""
    try:
        g = np.array(gain_by_state, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"gain_by_state must be an array of numbers, (S,) or (bidders, S); {err}.") from None
    if g.ndim == 1:
        g = g[None, :]
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"gain_by_state must have shape (S,) or (bidders, S) with S >= 1; got shape {g.shape}.")
    bad = np.argwhere(~np.isfinite(g))
    if bad.size:
        where = tuple(int(i) for i in bad[0]) if g.shape[0] > 1 else int(bad[0][1])
        raise ValueError(f"gain_by_state is not finite at {where} ({g[tuple(bad[0])]}); a gain is a number.")
    return g


@_styled
def exploitability_by_state(
    gain_by_state: Any,
    *,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    ylabel: str = "gain from deviating",
    title: str = "",
) -> Figure:
    """Bars of the largest gain a single bidder gets by deviating, at each state.

    ``gain_by_state`` is (S,) (the largest over bidders, as :func:`verify.exploitability` and a
    counterexample's ``numbers["gain_by_state"]`` give it) or (bidders, S) (one bar per bidder,
    grouped by state): the one-auction (myopic) gain or the best-response (farsighted) gain,
    DESIGN §1; ``ylabel`` says which. The largest bar is labelled with its value; 0 everywhere
    means no single bidder gains anywhere.

    Parameters
    ----------
    labels : sequence of str, optional
        One per state (x axis); default ``s0, s1, ...``.

    Raises
    ------
    ValueError
        On a NaN or infinite gain, a shape other than (S,) or (bidders, S), or ``labels`` of the
        wrong length.
    """
    g = _gains(gain_by_state)
    B, S = g.shape
    names = [f"s{s}" for s in range(S)] if labels is None else [str(v) for v in labels]
    if len(names) != S:
        raise ValueError(f"labels has {len(names)} entries; gain_by_state has {S} states.")
    fig, ax = _axes(ax, (min(12.0, max(4.8, 0.45 * S * max(1.0, B / 2) + 1.8)), 3.6))
    x = np.arange(S)
    width = 0.8 / B
    for b in range(B):
        ax.bar(x + (b - (B - 1) / 2) * width, g[b], width=width, color=_colour(b, B), label=f"bidder {b}")
    ax.axhline(0.0, color="0.3", lw=0.8)
    top, at = (int(i) for i in np.unravel_index(int(np.argmax(g)), g.shape))
    if g[top, at] > 0:
        ax.annotate(f"{g[top, at]:.3g}", xy=(x[at] + (top - (B - 1) / 2) * width, g[top, at]), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom")
    else:
        ax.text(0.5, 0.5, "no gain at any state", transform=ax.transAxes, ha="center", va="center")
    step = -(-S // 16)
    ax.set_xticks(x[::step], names[::step])
    ax.set_xlabel("state")
    ax.set_ylabel(ylabel)
    ax.margins(y=0.12)  # room for the value of the largest bar
    if B > 1:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=min(B, 4), frameon=False)
    if title:
        ax.set_title(title)
    return fig


def _episode(traj: Any, episode: Any) -> int:
    if not isinstance(traj, Trajectories):
        raise TypeError(f"trajectories must be a mechanism.Trajectories (from rollout); got {type(traj).__name__}.")
    if isinstance(episode, bool) or not isinstance(episode, int | np.integer) or not 0 <= episode < traj.episodes:
        raise ValueError(f"episode must be an int in 0..{traj.episodes - 1}; got {episode!r}.")
    return int(episode)


def _conserved_total(traj: Trajectories, e: int) -> np.ndarray:
    """The society's total after t auctions of episode e had the market created no credit, (L + 1,):

        Σ_{k<t} c_k·r_k − P_0 + c_{t−1}·γ_{t−1}·κ_{t−1}

    (what the winners collected from the environment, less the price of the start state, plus the
    credit the last winner holds for the state it sold, which the next winner pays; 0 after a
    terminal transition, the bootstrap at a time limit). The society's total exceeds it by the
    credit created so far, Σ_{1≤k<t} c_k·(κ_{k−1} − P_k) (:mod:`mechanism.ledger`)."""
    L = int(traj.lengths[e])
    c = cumulative_discounts(traj)[e, :L]
    held = c * traj.discounts[e, :L] * traj.credits[e, :L]
    return np.concatenate([[0.0], np.cumsum(c * traj.rewards[e, :L]) - traj.payments[e, 0].sum() + held])


@_styled
def credit_ledger(trajectories: Trajectories, *, episode: int = 0, ax: Axes | None = None) -> Figure:
    """Each bidder's wealth over one episode: the discounted sum of what it earned minus what it paid.

    wealth[t, m] = Σ_{k<t} c_k·(1{i*_k = m}·revenue_k − p^m_k) after t auctions, with c_k the
    cumulative discount before auction k (:func:`mechanism.ledger` with ``discounted=True``); a
    dot marks each auction's winner. Beside the bidders: the society's total (black) and what it
    would hold had the market created no credit (dashed grey; :func:`_conserved_total`). The two
    lines coincide for a credit-conserving market and end apart by exactly
    :func:`mechanism.credit_gap`, given in the title: 0 for CCV, Bucket Brigade and Environment
    Reward, Σ_{t≥1} c_t·(b⁽¹⁾_t − b⁽²⁾_t) for Vickrey (the identity in :mod:`mechanism.ledger`).
    """
    e = _episode(trajectories, episode)
    traj = trajectories
    L = int(traj.lengths[e])
    wealth = np.vstack([np.zeros(traj.n_bidders), ledger(traj, discounted=True)[e, :L]])
    M = wealth.shape[1]
    fig, ax = _axes(ax, (6.8, 4.2))
    t = np.arange(L + 1)
    ax.plot(t, wealth.sum(axis=1), color="black", lw=1.2, ls="-.", label="society (sum)", zorder=5)
    ax.plot(t, _conserved_total(traj, e), color="0.45", ls="--", lw=1.2, zorder=2,
            label="the society's total had no credit been created")
    for m in range(M):
        ax.plot(t, wealth[:, m], color=_colour(m, M), lw=1.8, label=f"bidder {m}", zorder=3)
    won = traj.winners[e, :L]
    ax.scatter(t[1:], wealth[t[1:], won], c=[_colour(int(i), M) for i in won], s=22, zorder=4,
               label="winner of the auction")
    ends = ("terminated" if traj.episode_terminated[e] else
            "cut by the time limit" if traj.episode_truncated[e] else "not finished")
    ax.set_title(textwrap.fill(
        f"{mechanism_name(traj.mechanism)}: discounted wealth per bidder, episode {e} ({L} auctions, {ends}); "
        f"credit created {float(credit_gap(traj)[e]):.3g}", 80))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_xlabel("auctions held")
    ax.set_ylabel("cumulative discounted utility")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2, frameon=False)
    return fig


# ---------------------------------------------------------------------------------------------- files
def _panels(groups: Mapping[RunKey, Row]) -> list[tuple[str, int, list[Row]]]:
    """Panel rows of a grid figure: (learner, clones, the runs of that pair in first-seen mechanism order)."""
    rows: dict[tuple[str, int], list[Row]] = {}
    for (lr, _, c), run in groups.items():
        rows.setdefault((lr, c), []).append(run)
    order = sorted(rows, key=lambda k: (list(dict.fromkeys(g[0] for g in groups)).index(k[0]), -k[1]))
    return [(lr, c, rows[lr, c]) for lr, c in order]


def _kind(learner: str, clones: int, runs: Sequence[Row]) -> str:
    if all(r["mechanism"] == "monolithic" for r in runs):
        return f"{learner} (monolithic)"
    return f"{learner}, {'cloned' if clones == 2 else 'solitary' if clones == 1 else f'{clones} clones'}"


@_styled
def bids_over_training(runs: Sequence[Row], checkpoints: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """One panel per run, a row per (learner, clones): every primitive's mean bid at the start state
    over training (median over seeds, band from the lowest to the highest seed), Q* dashed; written
    to ``path`` (its suffix names the format). Every state of one run: :func:`bids_vs_q_star`."""
    groups, points = group_runs(runs), _by_run(checkpoints)
    rows = _panels(groups)
    ncols = max(len(r[2]) for r in rows)
    fig = _new_figure((3.3 * ncols + 0.4, 2.7 * len(rows) + 1.0))
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    used, ranges = [], []
    for i, (_, _, row) in enumerate(rows):
        for j in range(ncols):
            ax = axes[i][j]
            if j >= len(row):
                ax.set_visible(False)
                continue
            run = row[j]
            s0 = int(run["start_state"])
            ranges.append(_bids_panel(ax, run, points.get(str(run["run"]), []), s0))
            used.append(ax)
            ax.set_title(textwrap.fill(run_label((str(run["learner"]), str(run["mechanism"]), int(run["clones"]))), 34))
            if i == len(rows) - 1:
                ax.set_xlabel("env steps per seed")
            if j == 0:
                ax.set_ylabel(f"mean bid at state {s0}")
    _share_y_if_comparable(used, ranges)
    A = max(len(r["q_star"][0]) for r in runs)
    fig.legend(handles=_primitive_handles(A), loc="outside lower center", ncols=min(A + 1, 6), frameon=False)
    fig.suptitle(title or "bids (solid, seed band) against Q* (dashed)")
    return _save(fig, path)


@_styled
def error_over_training(runs: Sequence[Row], checkpoints: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """One panel per (learner, clones): :func:`error_curves` of its runs (max |bid − Q*| over reachable
    pairs, log scale), the ε thresholds dotted, and a tick on the x axis at the median steps to the
    smallest ε of the seeds that got there (measured on the run's own, finer grid); written to ``path``."""
    rows = _panels(group_runs(runs))
    fig = _new_figure((7.2, 3.0 * len(rows) + 0.8))
    axes = fig.subplots(len(rows), 1, squeeze=False)
    for i, (lr, c, row) in enumerate(rows):
        ax = axes[i][0]
        error_curves(row, checkpoints, ax=ax)
        for j, run in enumerate(row):
            eps = min(float(e) for e in run["epsilons"])
            hit = [int(v) for v in run["steps_to"][f"{eps:g}"] if v is not None]
            if hit:
                ax.plot([int(np.median(hit))], [0.0], marker="|", ms=14, mew=2, color=_colour(j, len(row)),
                        transform=ax.get_xaxis_transform(), clip_on=False)
        for e in row[0]["epsilons"]:
            ax.axhline(float(e), color="0.4", ls=":", lw=0.8)
        ax.set_title(_kind(lr, c, row))
        if i < len(rows) - 1:
            ax.set_xlabel("")
    axes[-1][0].set_xlabel("env steps per seed (ticks: median steps to the smallest ε)")
    fig.suptitle(title or "max error over training (median, seed band; ε dotted)")
    return _save(fig, path)


def final_errors(runs: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """:func:`final_error_bars` with a title, written to ``path`` (its suffix names the format)."""
    fig = final_error_bars(runs)
    with matplotlib.rc_context(cast(Any, STYLE)):
        fig.axes[0].set_title(title or "final bid error against Q* (reachable states)")
    return _save(fig, path)
