"""reports.figures and reports.names: what each figure draws is read back from the artists and
compared with the records it was drawn from (numbers, glyphs, colours, tick labels)."""

import itertools
import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator

import mechanism
import tasks
import verify
from reports import figures
from reports.names import PAPER_NAMES, SHORT_NAMES, claim_title, society_label


# ---------------------------------------------------------------------------------------------- records
def _records(S=3, A=2, seeds=(0, 1), steps=(0, 1000, 2000), per_state=True, mech="ccv", clones=2, scale=None):
    """A run row and its checkpoint rows (the schema of verify.records) with known bids.

    Q*(s, a) = 0.2 + 0.1·(s·A + a) (times ``scale[s]``); at checkpoint k of K seed n bids
    Q*·(k + 1)/K + 0.01·n, so the median over two seeds is Q*·(k + 1)/K + 0.005.
    """
    Q = 0.2 + 0.1 * np.arange(S * A, dtype=float).reshape(S, A)
    if scale is not None:
        Q *= np.asarray(scale, dtype=float)[:, None]
    run_id = f"t/0:valuation:{mech}:{clones}:{steps[-1]}"
    run = {"run": run_id, "learner": "valuation", "mechanism": mech, "clones": clones, "n_states": S, "n_actions": A,
           "start_state": 0, "reachable": [True] * S, "q_star": Q.tolist(), "seeds": list(seeds),
           "final_max_error": [0.004, 0.003, 0.58][: max(2, len(seeds))], "final_max_error_optimal": [0.002, 0.001],
           "epsilons": [0.05, 0.01], "steps_to": {"0.05": [1000, None], "0.01": [2000, None]}}
    points = []
    for k, step in enumerate(steps):
        for n, seed in enumerate(seeds):
            bids = Q * (k + 1) / len(steps) + 0.01 * n
            row = {"run": run_id, "seed": seed, "checkpoint": k, "env_steps": step,
                   "max_error": float(np.abs(bids - Q).max()), "bids_start": bids[0].tolist()}
            if per_state:
                row["bids"] = bids.tolist()
            points.append(row)
    return run, points, Q


def _figure(width=6.0, height=4.0):
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _small_texts(fig):
    """Visible texts smaller than the style's minimum, after a draw (tick labels exist only then)."""
    fig.canvas.draw()
    return [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < figures.MIN_FONT_SIZE]


# ---------------------------------------------------------------------------------------------- names
def test_names_are_the_papers_and_user_names_pass_through():
    assert society_label("ccv", 2) == "CCV, cloned"
    assert society_label("vickrey", 1) == "Vickrey, solitary"
    assert society_label("first_price", 3) == "Bucket Brigade, 3 clones"
    assert society_label("my_pkg.rules:AllPay", 2) == "my_pkg.rules:AllPay, cloned"
    assert PAPER_NAMES["ccv"] == "Credit-Conserving Vickrey (CCV)"
    assert [SHORT_NAMES[k] for k in ("vickrey", "ccv", "first_price", "env_reward")] == ["V", "CCV", "BB", "ER"]
    assert claim_title("truthful") == verify.CLAIMS["truthful"].title
    assert claim_title("my_claim") == "my_claim"
    assert claim_title("truthful", "given title") == "given title"
    with pytest.raises(ValueError, match="clones"):
        society_label("ccv", 0)


# ---------------------------------------------------------------------------------------------- save
def test_save_writes_three_formats_atomically_with_svg_text_as_text(tmp_path):
    run, points, _ = _records()
    fig = figures.error_curves([run], points)
    fig.axes[0].set_title("searchable title")
    paths = figures.save(fig, tmp_path / "curves.v1", ("svg", "pdf", "png"))
    assert [p.name for p in paths] == ["curves.v1.svg", "curves.v1.pdf", "curves.v1.png"]
    svg = paths[0].read_text()
    assert "<text" in svg
    assert "searchable title" in svg
    assert paths[1].read_bytes().startswith(b"%PDF")
    assert paths[2].read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temporary left
    again = figures.save(fig, tmp_path / "again", "svg")[0]  # the figure is still usable; no dates: same bytes
    assert again.read_text() == svg
    with pytest.raises(ValueError, match="'jpg'"):
        figures.save(fig, tmp_path / "x", ("svg", "jpg"))
    with pytest.raises(ValueError, match="empty"):
        figures.save(fig, tmp_path / "x", ())


# ---------------------------------------------------------------------------------------------- verdicts
def _verdict_rows():
    rows = []
    for mech in ("vickrey", "ccv"):
        for clones in (1, 2):
            for claim in ("truthful", "conserves_credit", "q_star_equilibrium"):
                holds = not (mech == "vickrey" and claim == "conserves_credit") and not (
                    mech == "ccv" and clones == 1 and claim == "q_star_equilibrium")
                rows.append({"claim": claim, "title": verify.CLAIMS[claim].title, "mechanism": mech,
                             "clones": clones, "holds": holds, "error": None, "domain": "mdps"})
    rows[0] = {**rows[0], "holds": False, "error": "MechanismError: planted"}
    return rows[:-1]  # ccv cloned, q_star_equilibrium: not checked


def _expected_cells(rows):
    out = {}
    for r in rows:
        outcome = "error" if r["error"] else "held" if r["holds"] else "failed"
        glyph = {"held": "✓", "failed": "✗", "error": "error"}[outcome]
        out[society_label(r["mechanism"], r["clones"]), r["title"]] = (glyph, to_hex(figures.VERDICT_COLOURS[outcome]))
    return out


def _read_cells(fig):
    """(row label, column title) -> (glyph, cell colour), read back from the drawn heat-map."""
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    image = ax.images[0]
    rgba = image.to_rgba(image.get_array())
    out = {}
    for t in ax.texts:
        x, y = t.get_position()
        i, j = round(y), round(x)
        if t.get_text() != "—":
            out[rows[i], cols[j]] = (t.get_text(), to_hex(rgba[i, j]))
        else:
            assert to_hex(rgba[i, j]) == "#ffffff"
    return out


def test_heatmap_cells_match_the_rows_and_a_planted_wrong_row_is_caught():
    rows = _verdict_rows()
    fig = figures.verdict_heatmap(rows)
    drawn = _read_cells(fig)
    assert drawn == _expected_cells(rows)
    assert len(drawn) == 11
    assert sum(t.get_text() == "—" for t in fig.axes[0].texts) == 1
    planted = [dict(r) for r in rows]
    planted[2]["holds"] = not planted[2]["holds"]  # vickrey solitary, q_star_equilibrium
    wrong = _expected_cells(planted)
    assert {k for k in wrong if wrong[k] != drawn[k]} == {("Vickrey, solitary", "Q* profile: myopic equilibrium")}
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][-1] == "— not checked"


def test_heatmap_honours_ax_links_cells_and_names_domains():
    rows = [*_verdict_rows()[:2], {**_verdict_rows()[1], "domain": "options"}]
    fig = _figure()
    ax = fig.add_subplot()
    assert figures.verdict_heatmap(rows, ax=ax, href=lambda r: f"#{r['claim']}-{r['domain']}") is fig
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Vickrey, solitary (mdps)", "Vickrey, solitary (options)"]
    assert {t.get_url() for t in ax.texts if t.get_text() != "—"} == {
        "#truthful-mdps", "#conserves_credit-mdps", "#conserves_credit-options"}
    assert not _small_texts(fig)
    with pytest.raises(ValueError, match="holds"):
        figures.verdict_heatmap([{"claim": "truthful", "mechanism": "ccv", "clones": 2}])
    with pytest.raises(ValueError, match="True or False"):
        figures.verdict_heatmap([{"claim": "truthful", "mechanism": "ccv", "clones": 2, "holds": "False"}])


# ---------------------------------------------------------------------------------------------- bids
def _panel_lines(ax):
    """{label: ydata} of the median lines, and the y of every dashed (Q*) line."""
    medians = {ln.get_label(): np.asarray(ln.get_ydata(), float) for ln in ax.lines if ln.get_linestyle() == "-"}
    dashed = sorted(float(ln.get_ydata()[0]) for ln in ax.lines if ln.get_linestyle() == "--")
    return medians, dashed


def test_bids_vs_q_star_draws_every_state_with_q_star_at_its_value():
    run, points, Q = _records(S=3)
    fig = figures.bids_vs_q_star([run], points)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["state 0", "state 1", "state 2"]
    K = 3
    for s, ax in enumerate(panels):
        medians, dashed = _panel_lines(ax)
        assert dashed == pytest.approx(sorted(Q[s]))
        for a in range(2):
            assert medians[f"primitive {a}"] == pytest.approx(Q[s, a] * np.arange(1, K + 1) / K + 0.005)
        band = ax.collections[0].get_paths()[0].vertices[:, 1]  # primitive 0: lowest to highest seed
        assert band.min() == pytest.approx(Q[s, 0] / K)
        assert band.max() == pytest.approx(Q[s, 0] + 0.01)
    assert panels[0].get_shared_y_axes().joined(panels[0], panels[2])  # comparable ranges: one y axis
    assert not _small_texts(fig)


def test_bids_vs_q_star_shares_y_only_when_ranges_are_comparable():
    run, points, _ = _records(S=2, scale=[1.0, 50.0])
    panels = figures.bids_vs_q_star([run], points).axes
    assert not panels[0].get_shared_y_axes().joined(panels[0], panels[1])


def test_bids_vs_q_star_with_start_state_records_only_and_several_runs():
    run, points, Q = _records(per_state=False)
    fig = figures.bids_vs_q_star([run], points)
    assert [ax.get_title() for ax in fig.axes] == ["state 0"]
    assert _panel_lines(fig.axes[0])[1] == pytest.approx(sorted(Q[0]))
    with pytest.raises(ValueError, match="bids_start"):
        figures.bids_vs_q_star([run], points, states=[1])
    with pytest.raises(ValueError, match="outside"):
        figures.bids_vs_q_star([run], points, states=[7])
    r2, p2, _ = _records(mech="vickrey")
    r1, p1, _ = _records(mech="ccv")
    fig = figures.bids_vs_q_star([r1, r2], p1 + p2, states=[0, 2], fig=_figure())
    assert len(fig.axes) == 4
    assert fig.axes[2].get_ylabel().startswith("Vickrey, cloned")
    with pytest.raises(ValueError, match="empty Figure"):
        figures.bids_vs_q_star([r1], p1, fig=fig)


def test_bids_vs_q_star_reads_real_learning_records():
    import dataclasses

    from verify.experiments import assess

    mdp = tasks.make("chain/0")
    res = mechanism.train(mdp, "ccv", clones=2, steps=320, seeds=2, checkpoints=2)
    a = assess(dataclasses.replace(res), mdp)
    run = a.run_record("chain/0:valuation:ccv:2:320", task="chain/0")
    fig = figures.bids_vs_q_star([run], a.checkpoint_records("chain/0:valuation:ccv:2:320"))
    assert _panel_lines(fig.axes[0])[1] == pytest.approx(sorted(verify.solve(mdp).Q[0]))


# ---------------------------------------------------------------------------------------------- errors
def test_error_curves_log_axis_one_line_per_society_with_paper_names():
    r1, p1, _ = _records(mech="ccv")
    r2, p2, _ = _records(mech="first_price")
    fig = _figure()
    ax = fig.add_subplot()
    assert figures.error_curves([r1, r2], p1 + p2, ax=ax) is fig
    assert ax.get_yscale() == "log"
    lines = {ln.get_label(): np.asarray(ln.get_ydata()) for ln in ax.lines}
    assert set(lines) == {"CCV, cloned", "Bucket Brigade, cloned", "below 1e-06: drawn at 1e-06"}
    # median over the seeds of max|bid − Q*|: seed 0 is exact at the last checkpoint (drawn at the floor)
    errs = np.array([[c["max_error"] for c in p1 if c["checkpoint"] == k] for k in range(3)])
    assert lines["CCV, cloned"] == pytest.approx(np.median(np.maximum(errs, figures.FLOOR), axis=1))
    with pytest.raises(ValueError, match="unknown metric"):
        figures.error_curves([r1], p1, metric="bogus")
    with pytest.raises(TypeError, match=r"\[row\]"):
        figures.error_curves(r1, p1)


def _visible_tick_labels(ax):
    lo, hi = sorted(ax.get_xlim())
    return [t for t in ax.get_xticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]


def _run_together(fig, ax):
    fig.canvas.draw()
    boxes = sorted((t.get_window_extent() for t in _visible_tick_labels(ax)), key=lambda b: b.x0)
    return any(a.x1 >= b.x0 for a, b in itertools.pairwise(boxes))


def test_a_20000_step_axis_has_few_separate_tick_labels():
    run, points, _ = _records(steps=tuple(range(0, 20001, 1250)))
    fig = _figure(3.0, 2.4)  # a narrow panel, where the old labels ran together
    ax = fig.add_subplot()
    figures.error_curves([run], points, ax=ax)
    assert not _run_together(fig, ax)
    labels = [t.get_text() for t in _visible_tick_labels(ax)]
    assert 2 <= len(labels) <= 6
    assert all(re.fullmatch(r"\d+(\.\d+)?k?", s) for s in labels), labels
    # The check catches the old fault: every 1,250 steps written out in full.
    ax.xaxis.set_major_locator(MaxNLocator(16))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))
    assert _run_together(fig, ax)


def test_final_errors_on_a_log_axis_keep_small_medians_readable(tmp_path):
    run, _, _ = _records(seeds=(0, 1, 2))
    fig = figures.final_error_bars([run])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lo, hi = ax.get_ylim()
    assert lo <= 0.003
    assert hi >= 0.58
    # the median 0.004 sits well above the bottom (on a linear axis up to 0.58 it would be at 0.7 %)
    frac = ax.transLimits.transform(ax.transScale.transform((0, 0.004)))[1]
    assert frac > 0.1
    assert not _small_texts(fig)
    path = figures.final_errors([run], tmp_path / "errors.svg", title="chain: final errors")
    assert "chain: final errors" in path.read_text()
    with pytest.raises(ValueError, match="must end in"):
        figures.final_errors([run], tmp_path / "errors.jpg")


def test_the_learning_report_figures_still_write(tmp_path):
    r1, p1, _ = _records(mech="ccv")
    r2, p2, _ = _records(mech="vickrey", per_state=False)
    assert figures.bids_over_training([r1, r2], p1 + p2, tmp_path / "b.svg").exists()
    out = figures.error_over_training([r1, r2], p1 + p2, tmp_path / "c.svg")
    assert "CCV, cloned" in out.read_text()


# ---------------------------------------------------------------------------------------------- checks
def test_exploitability_by_state_bars_are_the_gains():
    gains = [0.0, 0.2, 0.0, 0.004]
    fig = figures.exploitability_by_state(gains, labels=["a", "b", "c", "d"])
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx(gains)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert any(t.get_text() == "0.2" for t in ax.texts)  # the largest gain is labelled
    two = np.array([[0.1, 0.0], [0.0, 0.3]])
    fig = _figure()
    ax = fig.add_subplot()
    assert figures.exploitability_by_state(two, ax=ax) is fig
    assert sorted(p.get_height() for p in ax.patches) == pytest.approx(sorted(two.ravel()))
    with pytest.raises(ValueError, match="not finite at 2"):
        figures.exploitability_by_state([0.1, 0.2, np.nan])
    with pytest.raises(ValueError, match="labels has 1"):
        figures.exploitability_by_state([0.1, 0.2], labels=["x"])
    with pytest.raises(ValueError, match="shape"):
        figures.exploitability_by_state(np.zeros((2, 2, 2)))


def _episode(mech, clones):
    mdp = tasks.make("chain/0")
    bids = verify.truthful_fixed_point(mdp, mechanism.MECHANISMS[mech], clones=clones)
    return mechanism.rollout(mdp, bids, mech, mechanism.Society(2, clones), episodes=3, seed=0)


@pytest.mark.parametrize(("mech", "clones"), [("vickrey", 1), ("ccv", 1)])
def test_credit_ledger_draws_the_ledger_and_the_created_credit(mech, clones):
    traj = _episode(mech, clones)
    fig = figures.credit_ledger(traj, episode=1)
    lines = {ln.get_label(): np.asarray(ln.get_ydata()) for ln in fig.axes[0].lines}
    L = int(traj.lengths[1])
    wealth = mechanism.ledger(traj, discounted=True)[1, :L]
    for m in range(traj.n_bidders):
        assert lines[f"bidder {m}"][1:] == pytest.approx(wealth[:, m], abs=1e-12)
    gap = lines["society (sum)"] - lines["the society's total had no credit been created"]
    assert gap[-1] == pytest.approx(mechanism.credit_gap(traj)[1], abs=1e-12)
    if mech == "ccv":  # conserving: the two lines coincide at every step
        assert np.abs(gap).max() < 1e-12
    else:  # vickrey solitary creates b(1) − b(2) > 0 at every later auction
        assert gap[-1] > 0.01
        assert np.all(np.diff(gap[1:]) > 0)
    assert "Vickrey" in fig.axes[0].get_title() or "CCV" in fig.axes[0].get_title()


def test_credit_ledger_refuses_bad_input():
    traj = _episode("ccv", 2)
    with pytest.raises(ValueError, match="episode"):
        figures.credit_ledger(traj, episode=3)
    with pytest.raises(TypeError, match="Trajectories"):
        figures.credit_ledger({"states": []})


def test_every_figure_uses_readable_fonts():
    run, points, _ = _records()
    figs = [figures.bids_vs_q_star([run], points), figures.error_curves([run], points),
            figures.credit_ledger(_episode("ccv", 2)), figures.exploitability_by_state([0.1, 0.0, 0.3])]
    assert all(isinstance(f, Figure) for f in figs)
    assert [t for f in figs for t in _small_texts(f)] == []


def test_bids_vs_q_star_leaves_out_terminal_states_and_caps_the_panels():
    run, points, _ = _records(S=3)
    run["terminal"] = [False, False, True]
    assert [ax.get_title() for ax in figures.bids_vs_q_star([run], points).axes if ax.get_visible()] == [
        "state 0", "state 1"]
    run, points, _ = _records(S=figures.MAX_PANELS + 6, steps=(0, 1000))
    fig = figures.bids_vs_q_star([run], points)
    assert sum(ax.get_visible() for ax in fig.axes) == figures.MAX_PANELS
    assert f"the first {figures.MAX_PANELS} of {figures.MAX_PANELS + 6} states" in fig.get_suptitle()
    assert len(figures.bids_vs_q_star([run], points, states=[29]).axes) == 1
