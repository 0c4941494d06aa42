"""MDPs and counterexamples drawn as graphs: states as nodes, transitions as labelled arrows.

The structure comes from :func:`tasks.to_graph` (networkx: one edge per (s, a, s') with its
probability and reward); the drawing is plain matplotlib patches, so that every arrow and label
sits where the code says (and carries a ``gid`` for tests and SVG: ``state s``, ``edge s->t``,
``edge-label s->t``). Layout: states on a circle, state 0 on the left and the rest clockwise
(1 to 10 states; one state in the middle), networkx's Kamada–Kawai layout above that. An arrow
per (s, s') pair, curved so that s → s' and s' → s never overlap, self-loops drawn outside the
circle; its label has a line per action: ``a1 p=0.8 r=0`` (the probability is omitted when it is
1; ``▸`` marks the policy's action). Terminal states (grey, double ring) have no outgoing arrows,
nor do unavailable actions. The start states say so; with Q*, each state shows
V*(s) = max over available a of Q*(s, a); the greedy policy's arrows are blue and thick.

:func:`draw_counterexample` draws a :class:`verify.Counterexample` (or its ``to_dict()`` form):
the MDP with every state's bids, the society's greedy policy under those bids (the highest bid
wins, ties to the lowest index as in the built-in mechanisms), the state where the claim fails
ringed in vermillion, and the description as the title; a one-auction counterexample (no MDP)
as bars of the bids with the winner and the profitable deviation marked.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, Patch
from matplotlib.path import Path as MplPath

from reports.figures import PALETTE, _axes, _styled
from reports.names import claim_title
from tasks.graph import to_graph
from tasks.mdp import FiniteMDP
from verify.verdicts import Counterexample, mdp_from_dict

__all__ = ["MAX_STATES", "draw_counterexample", "draw_mdp"]

#: Larger MDPs are refused: their labels would not be readable.
MAX_STATES = 30
_POLICY = PALETTE[0]  # blue
_FAIL = PALETTE[1]  # vermillion
_EDGE = "0.55"
_TERMINAL = "0.88"
#: Layout scale (data units): the closest two states' centres, a node's radius, inches per unit.
_SPACING, _RADIUS, _INCHES = 1.5, 0.28, 1.35

Pair = tuple[int, int]
Transition = tuple[int, float, float]  # (action, probability, reward)


# ---------------------------------------------------------------------------------------------- geometry
def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(*v))
    return v / n if n > 0 else np.array([0.0, 1.0])


def _rotate(v: np.ndarray, degrees: float) -> np.ndarray:
    t = math.radians(degrees)
    return np.array([v[0] * math.cos(t) - v[1] * math.sin(t), v[0] * math.sin(t) + v[1] * math.cos(t)])


def _layout(mdp: FiniteMDP) -> dict[int, np.ndarray]:
    """Node positions, scaled so that the closest two states are :data:`_SPACING` apart."""
    S = mdp.n_states
    if S == 1:
        return {0: np.zeros(2)}
    if S <= 10:
        R = _SPACING / (2 * math.sin(math.pi / S))  # neighbours on the circle are _SPACING apart
        angles = math.pi - 2 * math.pi * np.arange(S) / S  # state 0 on the left, then clockwise
        return {s: R * np.array([math.cos(a), math.sin(a)]) for s, a in enumerate(angles)}
    raw = nx.kamada_kawai_layout(nx.Graph(nx.DiGraph(to_graph(mdp))))
    xy = np.array([raw[s] for s in range(S)], dtype=float)
    gaps = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    closest = float(gaps[~np.eye(S, dtype=bool)].min())
    return {s: xy[s] * (_SPACING / closest if closest > 0 else 1.0) for s in range(S)}


def _arc(p0: np.ndarray, p1: np.ndarray, r: float, rad: float = 0.2) -> tuple[MplPath, np.ndarray]:
    """A quadratic Bézier from circle p0 to circle p1, bent to the right of its direction (so the
    reverse arrow bends the other way), and its midpoint (where the label goes)."""
    d = p1 - p0
    ctrl = (p0 + p1) / 2 + rad * np.array([d[1], -d[0]])
    start, end = p0 + r * _unit(ctrl - p0), p1 + r * _unit(ctrl - p1)
    path = MplPath([start, ctrl, end], [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])
    return path, 0.25 * start + 0.5 * ctrl + 0.25 * end


def _loop(p: np.ndarray, r: float, out: np.ndarray) -> tuple[MplPath, np.ndarray]:
    """A self-loop: a cubic Bézier leaving and re-entering the node on its outer side, and its tip."""
    start, end = p + r * _rotate(out, 35), p + r * _rotate(out, -35)
    c1, c2 = p + 3.0 * r * _rotate(out, 40), p + 3.0 * r * _rotate(out, -40)
    path = MplPath([start, c1, c2, end], [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4])
    return path, p + 2.45 * r * out


def _align(out: np.ndarray) -> dict[str, str]:
    """Text alignment for a label placed in direction ``out`` from what it labels."""
    ha = "left" if out[0] > 0.35 else "right" if out[0] < -0.35 else "center"
    va = "bottom" if out[1] > 0.35 else "top" if out[1] < -0.35 else "center"
    return {"ha": ha, "va": va}


# ---------------------------------------------------------------------------------------------- content
def _transitions(mdp: FiniteMDP) -> dict[Pair, list[Transition]]:
    """(s, s') → [(a, P[s, a, s'], R[s, a]), ...] from :func:`tasks.to_graph`, leaving out terminal
    states' (absorbing, zero-reward) self-loops and unavailable actions."""
    terminal = np.asarray(mdp.terminal, dtype=bool)
    available = np.asarray(mdp.available, dtype=bool)
    out: dict[Pair, list[Transition]] = {}
    for s, t, data in to_graph(mdp).edges(data=True):
        a = int(data["action"])
        if terminal[s] or not available[s, a]:
            continue
        out.setdefault((int(s), int(t)), []).append((a, float(data["probability"]), float(data["reward"])))
    return {k: sorted(v) for k, v in out.items()}


def _num(v: float) -> str:
    """A number for a label: 3 significant digits, and "≈0" below 5e-7 in size (a solver's residue;
    the exact numbers are in the text of the report)."""
    return "0" if v == 0 else "≈0" if abs(v) < 5e-7 else f"{v:.3g}"


def _edge_label(items: Sequence[Transition], chosen: int | None = None) -> str:
    """``a0 p=0.8 r=1`` per action (the probability left out when it is 1); ``▸`` before the policy's action."""
    return "\n".join(("▸ " if a == chosen else "") + f"a{a}" + ("" if p == 1.0 else f" p={p:.3g}") + f" r={_num(r)}"
                     for a, p, r in items)


def _check_policy(policy: Any, mdp: FiniteMDP) -> np.ndarray | None:
    if policy is None:
        return None
    pi = np.asarray(policy)
    S, A = mdp.n_states, mdp.n_actions
    if pi.shape != (S,) or pi.dtype.kind not in "iu" or pi.min() < 0 or pi.max() >= A:
        raise ValueError(f"policy must be ({S},) action indices in 0..{A - 1}, one per state; got {pi.tolist()!r}.")
    return pi.astype(int)


def _values(Q: Any, mdp: FiniteMDP) -> np.ndarray | None:
    """V*(s) = max over available a of Q(s, a), or None."""
    if Q is None:
        return None
    q = np.asarray(Q, dtype=float)
    if q.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"Q must have shape (S, A) = {(mdp.n_states, mdp.n_actions)}; got {q.shape}.")
    return np.asarray(np.where(np.asarray(mdp.available, dtype=bool), q, -np.inf).max(axis=1))


def _node_text(mdp: FiniteMDP, s: int, V: np.ndarray | None) -> str:
    start = float(np.asarray(mdp.start)[s])
    lines = [f"s{s}"]
    if start > 0:
        lines.append("start" if start == 1.0 else f"start {start:.2g}")
    if bool(np.asarray(mdp.terminal)[s]):
        lines.append("terminal")
    elif V is not None:
        v = _num(float(V[s]))
        lines.append(f"V*{'' if v.startswith('≈') else '='}{v}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- drawing
def _draw_nodes(ax: Axes, mdp: FiniteMDP, pos: Mapping[int, np.ndarray], r: float, V: np.ndarray | None,
                notes: Mapping[int, str], fail: int | None) -> None:
    terminal = np.asarray(mdp.terminal, dtype=bool)
    start = np.asarray(mdp.start)
    for s, p in pos.items():
        ring = {"ec": _FAIL, "lw": 3.0} if s == fail else {"ec": "black", "lw": 2.2 if start[s] > 0 else 1.1}
        ax.add_patch(Circle(tuple(p), r, fc=_TERMINAL if terminal[s] else "white", zorder=3, gid=f"state {s}", **ring))
        if terminal[s]:
            ax.add_patch(Circle(tuple(p), 0.82 * r, fc="none", ec="black", lw=0.9, zorder=3))
        ax.text(p[0], p[1], _node_text(mdp, s, V), ha="center", va="center", zorder=4, fontsize=9,
                fontweight="bold" if s == fail else "normal")
        if s in notes:
            ax.text(p[0], p[1] - 1.08 * r, notes[s], ha="center", va="top", zorder=5, fontsize=9,
                    color=_FAIL if s == fail else "black",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.8", "alpha": 0.9})


def _free_direction(s: int, pos: Mapping[int, np.ndarray], pairs: Iterable[Pair], below: bool) -> np.ndarray:
    """The unit vector from state s into the widest angular gap between its arrows (for its self-loop):
    outward on a circle, sideways on a line; straight up for a state with no other arrow. ``below``:
    the space under the node is taken (by its bids)."""
    others = {t for p in pairs for t in p if s in p and t != s}
    angles = sorted([math.atan2(*(pos[t] - pos[s])[::-1]) for t in others] + ([-math.pi / 2] if below else []))
    if not angles:
        return np.array([0.0, 1.0])
    gaps = [(b - a) % (2 * math.pi) or 2 * math.pi for a, b in zip(angles, angles[1:] + angles[:1], strict=True)]
    k = int(np.argmax(gaps))
    mid = angles[k] + gaps[k] / 2
    return np.array([math.cos(mid), math.sin(mid)])


def _draw_edges(ax: Axes, mdp: FiniteMDP, pos: Mapping[int, np.ndarray], r: float, pi: np.ndarray | None,
                notes: Mapping[int, str]) -> None:
    edges = _transitions(mdp)
    for (s, t), items in edges.items():
        on_policy = pi is not None and any(a == pi[s] for a, _, _ in items)
        if s == t:
            out = _free_direction(s, pos, edges, s in notes)
            path, at = _loop(pos[s], r, out)
            align = _align(out)
        else:
            path, at = _arc(pos[s], pos[t], r)
            align = {"ha": "center", "va": "center"}
        colour, lw = (_POLICY, 2.4) if on_policy else (_EDGE, 1.1)
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=13, color=colour, lw=lw,
                                     zorder=2 if on_policy else 1, gid=f"edge {s}->{t}"))
        chosen = None if pi is None else int(pi[s])
        ax.text(at[0], at[1], _edge_label(items, chosen), fontsize=9, color=_POLICY if on_policy else "0.25", zorder=5,
                gid=f"edge-label {s}->{t}", linespacing=1.1, ha=align["ha"], va=align["va"],
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})


def _legend(ax: Axes, pi: np.ndarray | None, policy_label: str, fail: int | None, terminal: bool) -> None:
    handles: list[Any] = [Line2D([], [], color=_EDGE, lw=1.1, label="transition: a action, p probability "
                                 "(when < 1), r reward")]
    if pi is not None:
        handles.append(Line2D([], [], color=_POLICY, lw=2.4, label=f"{policy_label} (▸ its action)"))
    handles.append(Patch(fc="white", ec="black", lw=2.2, label="start state"))
    if terminal:
        handles.append(Patch(fc=_TERMINAL, ec="black", label="terminal state"))
    if fail is not None:
        handles.append(Patch(fc="white", ec=_FAIL, lw=3.0, label=f"state {fail}: where the claim fails"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, frameon=False)


def _draw(mdp: FiniteMDP, Q: Any, policy: Any, ax: Axes | None, max_states: int, *,
          notes: Mapping[int, str] | None = None, fail: int | None = None,
          policy_label: str = "greedy policy", title_lines: int = 0) -> tuple[Figure, Axes]:
    """The body of :func:`draw_mdp`, with a counterexample's extras (per-state notes, a failing state)."""
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}.")
    if mdp.n_states > max_states:
        raise ValueError(f"the MDP has {mdp.n_states} states, more than max_states={max_states}: its drawing "
                         "would not be readable; raise max_states or draw a smaller MDP.")
    pi, V = _check_policy(policy, mdp), _values(Q, mdp)
    pos, r = _layout(mdp), _RADIUS
    xy = np.array(list(pos.values()))
    # Room for self-loops (2.5 r out) and their labels (wider than tall).
    x0, x1 = xy[:, 0].min() - 2.6 * r - 0.8, xy[:, 0].max() + 2.6 * r + 0.8
    y0, y1 = xy[:, 1].min() - 2.6 * r - 0.45, xy[:, 1].max() + 2.6 * r + 0.45
    # Below: the legend (~1.1 in, ~6.6 in wide); above: a title of title_lines lines.
    width = float(np.clip((x1 - x0) * _INCHES, 6.6, 16.0))
    height = float(np.clip((y1 - y0) * _INCHES, 3.0, 16.0)) + 1.1 + 0.2 * title_lines
    fig, ax = _axes(ax, (width, height))
    _draw_edges(ax, mdp, pos, r, pi, notes or {})
    _draw_nodes(ax, mdp, pos, r, V, notes or {}, fail)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _legend(ax, pi, policy_label, fail, bool(np.asarray(mdp.terminal).any()))
    return fig, ax


@_styled
def draw_mdp(
    mdp: FiniteMDP, *, Q: Any = None, policy: Any = None, ax: Axes | None = None, max_states: int = MAX_STATES
) -> Figure:
    """Draw ``mdp`` as a graph (see the module docstring for the conventions).

    Parameters
    ----------
    mdp : tasks.FiniteMDP
    Q : array (S, A), optional
        Action values (Q*: :func:`verify.solve`); each state then shows V*(s) = max_a Q(s, a).
    policy : int array (S,), optional
        A greedy policy (the society's, or ``Q.argmax(axis=1)``); its arrows are drawn blue and thick.
    ax : Axes, optional
    max_states : int
        Larger MDPs raise ``ValueError``.
    """
    return _draw(mdp, Q, policy, ax, max_states)[0]


# ---------------------------------------------------------------------------------------------- counterexamples
def _as_dict(cx: Any) -> dict[str, Any]:
    if isinstance(cx, Counterexample):
        return cx.to_dict()
    if isinstance(cx, Mapping):
        return dict(cx)
    raise TypeError(f"cx must be a verify.Counterexample or its to_dict() form; got {type(cx).__name__}.")


def _bid_text(row: np.ndarray) -> str:
    shown = ", ".join(_num(float(b)) for b in row[:6])
    return f"bids {shown}" + (", …" if row.size > 6 else "")


def _greedy(bids: np.ndarray, A: int) -> np.ndarray | None:
    """The action of the highest bidder at each state (ties to the lowest index; bidder m plays m % A)."""
    if bids.ndim != 2 or bids.shape[1] % A or not np.isfinite(bids).all():
        return None
    return np.asarray(np.argmax(bids, axis=1) % A)


def _caption(d: Mapping[str, Any]) -> str:
    claim = str(d.get("claim") or "")
    title = claim_title(claim, d.get("title")) if claim else "claim"  # the row's title: no verify import
    head = f"{title} — counterexample ({d.get('source') or 'search'})"
    text = str(d.get("description") or "")
    return head + "\n" + textwrap.fill(text, 80) if text else head


def _draw_mdp_case(d: Mapping[str, Any], ax: Axes | None) -> Figure:
    mdp = mdp_from_dict(d["mdp"])  # the records' own reader: masks and semi-MDPs as recorded
    S, A = mdp.n_states, mdp.n_actions
    bids = None if d.get("bids") is None else np.asarray(d["bids"], dtype=float)
    q = (d.get("numbers") or {}).get("Q_star")
    Q = q if q is not None and np.shape(q) == (S, A) else None
    notes = {s: _bid_text(bids[s]) for s in range(S)} if bids is not None and bids.shape[0] == S else {}
    pi = _greedy(bids, A) if bids is not None and bids.shape[0] == S else None
    fail = d.get("state")
    caption = _caption(d)
    fig, ax = _draw(mdp, Q, pi, ax, MAX_STATES, notes=notes, fail=None if fail is None else int(fail),
                    policy_label="society's greedy policy (highest bid wins)", title_lines=caption.count("\n") + 1)
    ax.set_title(caption, loc="left")
    return fig


def _draw_auction_case(d: Mapping[str, Any], ax: Axes | None) -> Figure:
    """A one-auction counterexample: bars of the bids (each labelled with its value), the winner blue,
    the deviating bidder outlined and its profitable bid a vermillion diamond beside its bar."""
    bids = np.asarray(d["bids"], dtype=float).reshape(-1)
    numbers = d.get("numbers") or {}
    winner = int(numbers["winner"]) if "winner" in numbers else int(np.nanargmax(bids))
    bidder = d.get("bidder")
    caption = _caption(d)
    fig, ax = _axes(ax, (max(7.2, 1.1 * bids.size + 2.5), 4.4 + 0.2 * caption.count("\n")))
    x = np.arange(bids.size)
    ax.bar(x, bids, width=0.5, color=[_POLICY if m == winner else "0.75" for m in x],
           edgecolor=[_FAIL if m == bidder else "none" for m in x], linewidth=2.5)
    for m, b in zip(x, bids, strict=True):
        ax.annotate(_num(float(b)), xy=(m, b), xytext=(0, 3 if b >= 0 else -3), textcoords="offset points",
                    ha="center", va="bottom" if b >= 0 else "top", gid=f"bid {m}")
    ax.axhline(0.0, color="0.3", lw=0.8)
    handles: list[Any] = [Patch(fc=_POLICY, label=f"winner (bidder {winner}, highest bid)"),
                          Patch(fc="0.75", label="other bids")]
    dev = d.get("deviation")
    if bidder is not None and dev is not None and np.ndim(dev) == 0:
        handles += _deviation(ax, int(bidder), float(dev), bids, numbers)
    ax.set_xticks(x, [f"bidder {m}" for m in x])
    ax.set_xlim(-0.6, bids.size - 0.4)
    ax.use_sticky_edges = False  # room below 0 for a deviation to 0
    ax.margins(y=0.12)
    ax.set_ylabel("bid (every bidder bids its valuation)")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False)
    ax.set_title(caption, loc="left")
    return fig


def _deviation(ax: Axes, b: int, v: float, bids: np.ndarray, numbers: Mapping[str, Any]) -> list[Any]:
    """Bidder b's deviation to v: an arrow from its bid to v beside its bar, a diamond at v, its valuation."""
    side = b + 0.38
    ax.annotate("", xy=(side, v), xytext=(side, bids[b]), arrowprops={"arrowstyle": "->", "color": _FAIL, "lw": 1.5})
    ax.plot([side], [v], marker="D", ms=10, color=_FAIL, zorder=4, ls="none", gid="deviation")
    gain = numbers.get("gain")
    out: list[Any] = [Line2D([], [], marker="D", ms=9, color=_FAIL, ls="none",
                             label=f"bidder {b} deviates to {_num(v)}" + (f" (gains {_num(gain)})" if gain else ""))]
    if "valuation" in numbers:
        ax.hlines(float(numbers["valuation"]), b - 0.3, b + 0.5, colors="black", linestyles="--", zorder=5)
        out.append(Line2D([], [], color="black", ls="--", label=f"bidder {b}'s valuation"))
    return out


@_styled
def draw_counterexample(cx: Any, *, ax: Axes | None = None, caption: bool = True) -> Figure:
    """Draw a counterexample (:class:`verify.Counterexample` or its ``to_dict()`` form).

    With an MDP: :func:`draw_mdp` of it, each state's bids in a box below it, Q* (from
    ``numbers["Q_star"]`` when present) as V*, the society's greedy policy under the bids in blue,
    and the state where the claim fails ringed in vermillion. Without one (a one-auction claim such
    as ``truthful``): the bids as bars, the winner blue, the deviating bidder outlined and its
    profitable bid a vermillion diamond (with its valuation dashed when recorded). The title is
    the claim and, with ``caption`` (default), the counterexample's description, wrapped; a report
    that prints the description beside the figure passes ``caption=False``.
    """
    d = _as_dict(cx)
    if not caption:
        d = {**d, "description": ""}
    if d.get("mdp"):
        return _draw_mdp_case(d, ax)
    if d.get("bids") is None:
        raise ValueError("the counterexample has neither an MDP nor bids: there is nothing to draw.")
    return _draw_auction_case(d, ax)
