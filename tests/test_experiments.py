"""verify.experiments: errors against Q* over reachable states, exact steps to ε, comparisons, win rates, reproduce."""

import dataclasses

import numpy as np
import pytest

import tasks
from mechanism import train
from verify.experiments import (
    Reach,
    assess,
    bid_task,
    compare,
    measurement_grid,
    reach,
    reproduce,
    run_experiment,
    steps_until,
)
from verify.solve import solve


# ---------------------------------------------------------------------------- steps to ε
def test_steps_until_is_the_first_step_after_which_the_error_stays_below():
    steps = np.array([0, 10, 20, 30, 40])
    err = np.array([
        [1.0, 1.0, 1.0, 0.0],
        [0.0, 0.5, 1.0, 0.0],  # seed 0 dips below at 10 and comes back: not "there" at the dip
        [0.5, 0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ])
    # seed 0 settles at 30, seed 1 at 20, seed 2 never (above at the end), seed 3 from the first measurement.
    assert steps_until(steps, err, 0.1) == (30, 20, None, 0)


def test_steps_until_needs_strictly_below_and_treats_nan_as_not_there():
    steps = [0, 5, 10]
    assert steps_until(steps, [0.2, 0.1, 0.05], 0.1) == (10,)  # 0.1 is not below 0.1
    assert steps_until(steps, [0.0, 0.0, np.nan], 0.1) == (None,)
    with pytest.raises(ValueError, match="C = len"):
        steps_until(steps, np.zeros((2, 3)), 0.1)


def test_reach_counts_never_and_takes_the_median_over_the_seeds_that_got_there():
    r = reach([300, None, 100, None, 200, None])
    assert r == Reach(200, 3, 6)
    assert str(r) == "200 over 3 of 6; 3 never"
    # Even count: the lower median, a step some seed has (never an average of two).
    assert reach([100, 300, None]).median == 100
    assert str(reach([None, None])) == "never (0 of 2 seeds)"
    assert str(reach([64, 64])) == "64 over 2 of 2"


def test_measurement_grid_is_every_update_or_thins_to_the_memory_budget():
    grid = measurement_grid(640, 64, cells=10)
    np.testing.assert_array_equal(grid, np.arange(0, 641, 64))
    thin = measurement_grid(64_000, 64, cells=10, max_bytes=48 * 10 * 101)  # room for ~101 checkpoints
    assert thin[0] == 0
    assert thin[-1] == 64_000
    assert len(thin) <= 102
    assert set(np.diff(thin)[:-1]) == {640}  # every 10th update


def test_run_experiment_measures_at_every_update_and_matches_a_dense_train():
    mdp = tasks.chain()
    a = run_experiment(mdp, "ccv", steps=3_200, seeds=3, episodes=32)
    assert a.exact
    assert a.resolution == 32
    assert len(a.result.steps) == 101
    dense = train(mdp, "ccv", steps=3_200, seeds=3, episodes=32, checkpoints=list(range(0, 3_201, 32)))
    b = assess(dense, mdp)
    assert a.steps_to == b.steps_to
    # The coarse default (20 checkpoints) reports points of its own grid, and says it is a grid.
    coarse = assess(train(mdp, "ccv", steps=3_200, seeds=3, episodes=32), mdp)
    assert not coarse.exact
    assert coarse.resolution == 160
    for exact, grid in zip(a.steps_to[0.05], coarse.steps_to[0.05], strict=True):
        assert exact is None or exact % 32 == 0
        assert grid is None or grid % 160 == 0
        if exact is None:  # above ε at the end: the last measurement is shared by both grids
            assert grid is None


# ---------------------------------------------------------------------------- assessment
def _exact(res, mdp):
    """``res`` with every checkpoint's bids at Q* and the optimal greedy policy."""
    Q = solve(mdp).Q
    k = res.bids.shape[-1] // mdp.n_actions
    bids = np.broadcast_to(np.tile(Q, k), res.bids.shape).copy()
    policy = np.broadcast_to(solve(mdp).policy, res.policy.shape).copy()
    return dataclasses.replace(res, bids=bids, policy=policy)


def test_assess_counts_reachable_live_states_only_and_catches_a_planted_error():
    mdp = tasks.chain()
    res = _exact(train(mdp, "ccv", steps=320, seeds=2, checkpoints=1), mdp)
    exact = res.bids.copy()
    exact[:, :, 5] = 123.0  # the terminal state: never auctioned, must not count
    good = dataclasses.replace(res, bids=exact)
    a = assess(good, mdp)
    assert a.max_error.max() == pytest.approx(0.0, abs=1e-12)
    assert a.reachable.tolist() == [True] * 5 + [False]
    planted = exact.copy()
    planted[-1, 1, 2, 0] += 0.1  # seed 1, state 2, clone 0 of primitive 0: the clone average moves 0.05
    b = assess(dataclasses.replace(res, bids=planted), mdp)
    assert b.max_error[-1].tolist() == pytest.approx([0.0, 0.05])
    assert b.spread_clones[-1, 1, 2, 0] == pytest.approx(0.1)
    assert b.value[-1] == pytest.approx([a.v_star] * 2)
    assert b.steps_to[0.01] == (0, None)


def test_win_rates_of_planted_bids():
    mdp = tasks.chain()
    res = _exact(train(mdp, "ccv", steps=320, seeds=2, checkpoints=1), mdp)
    a = assess(res, mdp)
    assert a.wins.optimal_share.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(a.wins.rate[:5], np.tile([0.0, 1.0], (5, 1)))
    assert np.isnan(a.wins.rate[5]).all()  # terminal: never auctioned
    # Seed 1 prefers "left" at the start state: it stays there, so only state 0 is visited.
    bids = res.bids.copy()
    bids[:, 1, 0, ::2] = 0.9
    b = assess(dataclasses.replace(res, bids=bids), mdp)
    assert b.wins.optimal_share.tolist() == [1.0, 0.0]
    assert b.wins.rate[0].tolist() == pytest.approx([0.5, 0.5])  # mean over the two seeds that visit s0
    assert b.wins.rate[1].tolist() == pytest.approx([0.0, 1.0])  # only seed 0 visits s1


def test_solitary_ccv_is_measured_against_its_own_fixed_point():
    mdp = tasks.chain()
    a = assess(train(mdp, "ccv", clones=1, steps=50_000, seeds=3), mdp)
    # The second-best fixed point differs from Q* (DESIGN §1), and the learner goes to it.
    assert np.median(a.max_error[-1]) > 0.5
    assert np.median(a.max_error_fixed_point[-1]) < 0.05


def test_bid_task_rescales_only_outside_the_unit_interval():
    assert bid_task(tasks.chain()) is tasks.chain() or bid_task(tasks.chain()).name == tasks.chain().name
    Q = solve(bid_task(tasks.duality())).Q  # every state is reachable and none terminal
    assert Q.min() == pytest.approx(0.1)
    assert Q.max() == pytest.approx(0.9)


# ---------------------------------------------------------------------------- comparisons
def test_compare_concludes_only_when_the_spreads_do_not_overlap():
    rng = np.random.default_rng(0)
    low = 0.10 + 0.01 * rng.standard_normal(10)
    high = 0.20 + 0.01 * rng.standard_normal(10)
    assert compare(low, high).outcome == "lower"
    assert compare(high, low).outcome == "higher"
    c = compare(low, high)
    assert c.high < 0
    assert "bootstrap" in c.method
    assert "10 and 10 seeds" in c.method
    # Overlapping spreads: means 0.10 and 0.12, seed spread 0.1.
    a = 0.10 + 0.1 * rng.standard_normal(10)
    b = a[::-1] + 0.02
    assert compare(a, b).outcome == "inconclusive"


def test_compare_reports_an_exact_tie_as_a_tie():
    zeros = np.zeros(10)
    assert compare(zeros, zeros).outcome == "tie"
    spread = np.linspace(0.0, 0.3, 10)
    assert compare(spread, spread[::-1]).outcome == "tie"  # identical errors, whatever their spread
    assert compare(zeros, np.full(10, 5e-4), tolerance=1e-3).outcome == "tie"  # within the tolerance
    assert compare(zeros, np.full(10, 5e-4)).outcome == "lower"  # without one, a constant gap is a gap
    with pytest.raises(ValueError, match="non-empty"):
        compare([], [1.0])


# ---------------------------------------------------------------------------- reproduce
def test_reproduce_records_are_tidy():
    recs = reproduce(
        "bandit", seeds=2, steps=640, mechanisms=("vickrey",), recorded=2,
        budgets=(640,), societies=(("vickrey", 2, "valuation"),),
    )
    # Main: 2 learners × 1 mechanism × 2 clone settings; the study's vickrey×2 valuation run at 640
    # steps is the main one (trained once, both studies), plus the Q-learning baseline.
    assert len(recs.runs) == 5
    by_id = {r["run"]: r for r in recs.runs}
    assert by_id["bandit:valuation:vickrey:2:640"]["studies"] == ["main", "sample_efficiency"]
    assert by_id["bandit:q_learning:monolithic:1:640"]["studies"] == ["sample_efficiency"]
    assert len(recs.checkpoints) == 5 * 2 * 3  # runs × seeds × (start + 2 recorded)
    run = recs.runs[0]
    assert run["task"] == "bandit/0"
    assert run["experiment"] == "bandit"
    assert run["transform"] is None
    for key in ("mechanism", "clones", "learner", "seeds", "q_star", "fixed_point", "steps_to", "win_rate",
                "agora_version", "numpy_version", "command", "final_max_error", "optimal_win_share"):
        assert key in run
    assert run["exact"]
    assert run["resolution"] == 64
    point = recs.checkpoints[0]
    assert set(point) == {
        "run", "seed", "checkpoint", "env_steps", "max_error", "mean_error", "max_error_optimal",
        "max_error_fixed_point", "max_spread_clones", "value", "bids_start", "bids",
    }
    # Every state's bids (S, A), the start state's among them.
    assert np.shape(point["bids"]) == (len(run["q_star"]), len(run["q_star"][0]))
    assert point["bids"][run["start_state"]] == point["bids_start"]
    assert run["terminal"] == [False, True]  # tasks.bandit: the arm state, then the terminal state


def test_reproduce_names_rescaled_tasks_by_id():
    recs = reproduce("duality", seeds=1, steps=320, learners=("valuation",), mechanisms=("ccv",), clones=(2,),
                     budgets=(), recorded=1)
    assert recs.runs[0]["task"] == "duality/0"
    assert recs.runs[0]["transform"] == "rescaled[0.1,0.9]"
    with pytest.raises(ValueError, match="unknown experiment"):
        reproduce("pong")


def test_progress_bars_only_on_a_terminal(monkeypatch):
    from verify import experiments

    assert experiments._bar(True, 100, "x") is None  # pytest's stderr is not a terminal
    monkeypatch.setattr(experiments.sys.stderr, "isatty", lambda: True, raising=False)
    bar = experiments._bar(True, 100, "x")
    assert bar is not None
    bar.close()
    assert experiments._bar(False, 100, "x") is None
