"""reports.drawing: the drawn graph is read back (edge labels, highlighted arrows, node texts) and
checked against the MDP's kernel, rewards, Q* and policy; counterexamples from real checks."""

import json
import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import tasks
import verify
from reports import drawing, figures

BLUE, VERMILLION = to_hex(figures.PALETTE[0]), to_hex(figures.PALETTE[1])
LINE = re.compile(r"(▸ )?a(\d+)(?: p=([0-9.e+-]+))? r=(≈0|[0-9.e+-]+)")


def _edge_labels(ax):
    """{(s, t, a): (p, r)} parsed from the drawn edge labels."""
    return {k: v[:2] for k, v in _labelled(ax).items()}


def _marked(ax):
    """The (s, t, a) whose label line carries the policy's mark ▸."""
    return {k for k, v in _labelled(ax).items() if v[2]}


def _labelled(ax):
    out = {}
    for t in ax.texts:
        gid = t.get_gid() or ""
        if gid.startswith("edge-label "):
            s, dest = map(int, gid.removeprefix("edge-label ").split("->"))
            for line in t.get_text().split("\n"):
                mark, a, p, r = LINE.fullmatch(line).groups()
                out[s, dest, int(a)] = (1.0 if p is None else float(p), 0.0 if r == "≈0" else float(r), bool(mark))
    return out


def _arrows(ax):
    """{(s, t): (colour, linewidth)} of the drawn arrows."""
    out = {}
    for p in ax.patches:
        gid = p.get_gid() or ""
        if gid.startswith("edge "):
            s, t = map(int, gid.removeprefix("edge ").split("->"))
            out[s, t] = (to_hex(p.get_edgecolor()), p.get_linewidth())
    return out


def _node_texts(ax):
    return [t.get_text() for t in ax.texts if not (t.get_gid() or "").startswith("edge-label")]


def test_edge_labels_carry_the_kernel_and_rewards():
    mdp = tasks.random_mdp(4, 2, gamma=0.9, successors=2, seed=3)
    ax = drawing.draw_mdp(mdp).axes[0]
    drawn = _edge_labels(ax)
    P = mdp.dense_P
    assert set(drawn) == {tuple(int(i) for i in (s, t, a)) for s, a, t in zip(*np.nonzero(P > 0), strict=True)}
    for (s, t, a), (p, r) in drawn.items():
        assert p == pytest.approx(P[s, a, t], rel=5e-3)  # 3 significant digits
        assert r == pytest.approx(mdp.R[s, a], rel=5e-3, abs=1e-9)
    assert any(p < 1 for p, _ in drawn.values())


def test_policy_arrows_are_highlighted_and_nodes_show_v_star():
    mdp = tasks.make("chain/0")
    sol = verify.solve(mdp)
    fig = figures._new_figure((7, 7))
    ax = fig.add_subplot()
    assert drawing.draw_mdp(mdp, Q=sol.Q, policy=sol.policy, ax=ax) is fig
    arrows = _arrows(ax)
    on_policy = {(s, t) for s in range(mdp.n_states) if not mdp.terminal[s]
                 for t in np.flatnonzero(mdp.dense_P[s, sol.policy[s]])}
    assert {k for k, (colour, _) in arrows.items() if colour == BLUE} == on_policy
    assert all(lw < 2 for k, (_, lw) in arrows.items() if k not in on_policy)
    assert _marked(ax) == {(s, t, int(sol.policy[s])) for s, t in on_policy}
    assert min(lw for k, (_, lw) in arrows.items() if k in on_policy) > 2
    texts = _node_texts(ax)
    for s in range(5):
        assert any(t.startswith(f"s{s}\n") and f"V*={sol.V[s]:.3g}" in t for t in texts)
    assert "s0\nstart\n" in "\n".join(texts)
    assert "s5\nterminal" in texts
    assert not any(s == 5 for s, _ in arrows)  # nothing leaves the terminal state
    # A planted wrong policy highlights other arrows: the check above would catch it.
    other = drawing.draw_mdp(mdp, Q=sol.Q, policy=1 - sol.policy).axes[0]
    assert {k for k, (c, _) in _arrows(other).items() if c == BLUE} != on_policy


def test_layouts_keep_nodes_apart_and_inside_and_refuse_large_mdps():
    for mdp in (tasks.bandit(3), tasks.chain(10, time_limit=40), tasks.random_mdp(1, 2, seed=0)):
        ax = drawing.draw_mdp(mdp).axes[0]
        nodes = [p for p in ax.patches if (p.get_gid() or "").startswith("state ")]
        assert len(nodes) == mdp.n_states
        centres = np.array([n.center for n in nodes])
        r = nodes[0].radius
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert np.all((centres[:, 0] - 3 * r > x0) & (centres[:, 0] + 3 * r < x1))
        assert np.all((centres[:, 1] - 3 * r > y0) & (centres[:, 1] + 3 * r < y1))
        gaps = np.hypot(*(centres[:, None] - centres[None]).transpose(2, 0, 1)) + np.eye(len(nodes)) * 9
        assert gaps.min() > 3 * r
    with pytest.raises(ValueError, match="max_states=10"):
        drawing.draw_mdp(tasks.chain(12), max_states=10)
    with pytest.raises(ValueError, match="policy"):
        drawing.draw_mdp(tasks.chain(4), policy=[0, 1])


def test_draw_mdp_saves_in_three_formats(tmp_path):
    paths = figures.save(drawing.draw_mdp(tasks.make("duality/0")), tmp_path / "duality", ("svg", "pdf", "png"))
    assert [p.suffix for p in paths] == [".svg", ".pdf", ".png"]
    assert "edge 0-&gt;1" in paths[0].read_text()  # arrows keep their ids in SVG


def test_an_mdp_counterexample_is_drawn_with_its_bids_and_failing_state():
    v = verify.check("env_reward", clones=[2], claims=["q_star_equilibrium"], budget=20)[0]
    cx = v.counterexample
    assert not v.holds
    assert cx.mdp is not None
    for given in (cx, json.loads(json.dumps(cx.to_dict()))):
        fig = drawing.draw_counterexample(given)
        ax = fig.axes[0]
        ring = next(p for p in ax.patches if p.get_gid() == f"state {cx.state}")
        assert to_hex(ring.get_edgecolor()) == VERMILLION
        bids = np.asarray(cx.bids)
        assert f"bids {', '.join(f'{b:.3g}' for b in bids[cx.state])}" in _node_texts(ax)
        assert " ".join(ax.get_title(loc="left").split()).endswith(cx.description)
        assert ax.get_title(loc="left").startswith(verify.CLAIMS["q_star_equilibrium"].title)
        edges = _edge_labels(ax)
        assert {(s, t, a) for s, t, a in edges} == {
            (s, t, a) for s, a, t in zip(*np.nonzero(cx.mdp.dense_P > 0), strict=True)}
    # the society's greedy policy under the bids: bidder argmax % A at each state
    winner = int(np.argmax(bids[cx.state])) % cx.mdp.n_actions
    blue = {k for k, (c, _) in _arrows(ax).items() if c == BLUE}
    assert blue == {(cx.state, int(t)) for t in np.flatnonzero(cx.mdp.dense_P[cx.state, winner])}
    assert _marked(ax) == {(cx.state, t, winner) for _, t in blue}


def test_a_one_auction_counterexample_is_drawn_as_bids():
    v = verify.check("first_price", clones=[1], claims=["truthful"], budget=20)[0]
    cx = v.counterexample
    assert not v.holds
    assert cx.mdp is None
    fig = figures._new_figure((7, 5))
    ax = fig.add_subplot()
    assert drawing.draw_counterexample(cx.to_dict(), ax=ax) is fig
    bars = [p for p in ax.patches if p.get_gid() is None]
    bids = np.asarray(cx.bids).ravel()
    assert [b.get_height() for b in bars] == pytest.approx(bids)
    winner = int(np.argmax(bids))
    assert [to_hex(b.get_facecolor()) == BLUE for b in bars] == [m == winner for m in range(bids.size)]
    assert to_hex(bars[cx.bidder].get_edgecolor()) == VERMILLION
    marker = next(ln for ln in ax.lines if ln.get_gid() == "deviation")
    assert float(marker.get_ydata()[0]) == pytest.approx(float(cx.deviation))
    assert "truthful bidding is not dominant" in ax.get_title(loc="left").replace("\n", " ")
    fig.canvas.draw()
    assert not [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize")) if
                t.get_visible() and t.get_text().strip() and t.get_fontsize() < figures.MIN_FONT_SIZE]


def test_draw_counterexample_refuses_what_is_not_one():
    with pytest.raises(TypeError, match="Counterexample"):
        drawing.draw_counterexample("no")
    with pytest.raises(ValueError, match="nothing to draw"):
        drawing.draw_counterexample({"claim": "x", "description": "d", "mdp": None, "bids": None})


def test_an_options_counterexample_mdp_is_rebuilt():
    fig = Figure()
    FigureCanvasAgg(fig)
    P = np.array([[[0.5], [0.9]]])  # a semi-MDP: rows sum to E[γ^(τ−1)] < 1
    d = {"claim": "q_star_farsighted_equilibrium", "description": "planted", "state": 0, "bids": [[1.0, 0.5]],
         "mdp": {"name": "", "n_states": 1, "n_actions": 2, "gamma": 0.5, "P": P.tolist(), "R": [[0.0, 1.0]],
                 "terminal": [False], "start": [1.0], "time_limit": None, "sparse": False}}
    ax = fig.add_subplot()
    drawing.draw_counterexample(d, ax=ax)
    assert {k: v[0] for k, v in _edge_labels(ax).items()} == {(0, 0, 0): 0.5, (0, 0, 1): 0.9}
