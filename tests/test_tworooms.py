"""TwoRooms (tasks.tworooms), its exact success rate and the transfer study (verify/reports tworooms)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tasks
import verify
from tasks.tworooms import OPEN, TWOROOMS_ACTIONS, TwoRooms, tworooms, tworooms_geometry, tworooms_options
from verify.tworooms import success_rate, weights_moved

GAMMA = 0.99
LEFT, DOWN, RIGHT, UP = range(4)


def _left_cells(n: int) -> list[tuple[int, int]]:
    return [(r, c) for r in range(n) for c in range(n) if (r, c) != (n - 1, 0)]


def _d_green(n: int, r: int, c: int) -> int:
    # Green is the left room's bottom-left corner and nothing blocks the left room: Manhattan distance.
    return (n - 1 - r) + c


def _d_blue_closed(n: int, r: int, c: int) -> int:
    # To the front (n//2, n-1), open (1), into the door (1), then down-right to (n-1, 2n): n columns, n-1-n//2 rows.
    dr = n // 2
    return abs(r - dr) + (n - 1 - c) + 2 + (n - 1 - dr) + n


# ------------------------------------------------------------------------------------------ the task
@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_geometry_states_actions_and_the_door(n: int) -> None:
    geo = tworooms_geometry(n)
    mdp = tworooms("blue", n)
    assert (mdp.n_states, mdp.n_actions) == (3 * n * n + 1, len(TWOROOMS_ACTIONS)) == (geo.n_states, 5)
    assert mdp.gamma == GAMMA
    assert mdp.time_limit == 10 * n
    front = geo.state(*geo.front, False)
    assert np.flatnonzero(mdp.available[:, OPEN]).tolist() == [front]  # open only in front of the closed door
    assert mdp.P[front, OPEN, geo.state(*geo.front, True)] == 1.0
    # The closed door blocks, the open one lets the agent through.
    assert mdp.P[front, RIGHT, front] == 1.0
    assert mdp.P[geo.state(*geo.front, True), RIGHT, geo.state(*geo.door, True)] == 1.0
    assert int(mdp.terminal.sum()) == 3  # green (door closed and open) and blue
    starts = np.flatnonzero(mdp.start)
    assert len(starts) == n * n - 1
    assert all(not geo.states[s][2] for s in starts)
    # The variants differ in R only.
    green = tworooms("green", n)
    np.testing.assert_array_equal(green.P, mdp.P)
    assert not np.array_equal(green.R, mdp.R)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_flat_optimal_values_match_the_shortest_path_closed_form(n: int) -> None:
    # V*(s) = gamma^(d(s) - 1) for a reward of 1 on the d-th step (the open action counted).
    geo = TwoRooms(n)
    V_green = verify.solve(tworooms("green", n)).V
    V_blue = verify.solve(tworooms("blue", n)).V
    for r, c in _left_cells(n):
        for door in (False, True):
            s = geo.state(r, c, door)
            assert V_green[s] == pytest.approx(GAMMA ** (_d_green(n, r, c) - 1), rel=1e-10)
        d = _d_blue_closed(n, r, c)
        assert V_blue[geo.state(r, c, False)] == pytest.approx(GAMMA ** (d - 1), rel=1e-10)
        assert V_blue[geo.state(r, c, True)] == pytest.approx(GAMMA ** (d - 2), rel=1e-10)  # no open action


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_options_reach_the_flat_optimum_with_the_documented_ties(n: int) -> None:
    geo = TwoRooms(n)
    for goal in ("green", "blue"):
        mdp = tworooms(goal, n)
        smdp = tasks.options_mdp(mdp, tworooms_options(mdp))
        flat, opt = verify.solve(mdp), verify.solve(smdp)
        np.testing.assert_allclose(opt.V, flat.V, atol=1e-10)  # every option walks a shortest path
        closed = [geo.state(r, c, False) for r, c in _left_cells(n)]
        Q = opt.Q[closed]
        if goal == "green":
            np.testing.assert_allclose(Q[:, 1], flat.V[closed], atol=1e-10)  # reach green alone is optimal
            assert (opt.policy[closed] == 1).all()
        else:
            assert np.abs(Q[:, 1]).max() < 1e-12  # reach green ends the episode unpaid
            np.testing.assert_allclose(Q[:, 0], flat.V[closed], atol=1e-10)  # open door, then reach blue
            front = closed.index(geo.state(*geo.front, False))
            other = [i for i in range(len(closed)) if i != front]
            np.testing.assert_allclose(Q[other, 2], Q[other, 0], atol=1e-10)  # ... or reach blue, open, reach blue
            assert Q[front, 2] == -np.inf  # reach blue cannot start in front of the closed door
            assert (opt.policy[closed] == 0).all()  # ties to the lowest index


def _run_option(mdp: tasks.FiniteMDP, option: tasks.Option, s: int) -> tuple[int, int, float]:
    """(s_tau, tau, sum_k gamma^k r_k) by stepping the deterministic option through the base MDP."""
    nxt = mdp.dense_P.argmax(axis=2)
    tau, ret = 0, 0.0
    while True:
        a = int(option.policy[s])
        ret += GAMMA**tau * mdp.R[s, a]
        s, tau = int(nxt[s, a]), tau + 1
        if mdp.terminal[s] or option.termination[s] == 1.0:
            return s, tau, ret


@pytest.mark.parametrize("goal", ["green", "blue"])
def test_the_semi_mdp_kernel_matches_stepping_every_option_from_every_state(goal: str) -> None:
    # The base MDP and the options are deterministic, so one rollout is the expectation:
    # P[s, o, s_tau] = gamma^(tau - 1) and R[s, o] = sum_k gamma^k r_k (tasks.options docstring).
    mdp = tworooms(goal, 3)
    options = tworooms_options(mdp)
    smdp = tasks.options_mdp(mdp, options)
    for o, option in enumerate(options):
        for s in np.flatnonzero(option.initiation):
            s_tau, tau, ret = _run_option(mdp, option, int(s))
            row = smdp.dense_P[s, o]
            assert row[s_tau] == pytest.approx(GAMMA ** (tau - 1), rel=1e-12)
            assert np.count_nonzero(row > 1e-15) == 1
            assert smdp.R[s, o] == pytest.approx(ret, abs=1e-12)


def test_options_refuse_an_mdp_that_is_not_tworooms() -> None:
    with pytest.raises(ValueError, match="3n"):
        tworooms_options(tasks.chain(6))
    with pytest.raises(ValueError, match="exactly one"):
        tworooms_options()
    with pytest.raises(ValueError, match="goal"):
        tworooms("red", 3)


# ------------------------------------------------------------------------------------------ success rate
def _brute_success(mdp: tasks.FiniteMDP, options: list[tasks.Option], policy: np.ndarray, goal: np.ndarray) -> float:
    """Share of start cells from which the deterministic greedy policy reaches ``goal`` in the time limit."""
    nxt = mdp.dense_P.argmax(axis=2)
    hits = 0.0
    for s0 in np.flatnonzero(mdp.start):
        s, o, t = int(s0), int(policy[s0]), 0
        while t < mdp.time_limit and not mdp.terminal[s]:
            s, t = int(nxt[s, int(options[o].policy[s])]), t + 1
            if options[o].termination[s] == 1.0:
                o = int(policy[s])
        hits += mdp.start[s0] * bool(goal[s])
    return hits


def test_success_rate_hand_case_every_cell_walks_left() -> None:
    # Only the bottom row's n - 1 cells reach green by walking left: (n - 1)/(n^2 - 1) = 1/(n + 1).
    for n in (2, 3, 4):
        mdp = tworooms("green", n)
        rate = success_rate(mdp, np.full(mdp.n_states, LEFT), TwoRooms(n).is_goal("green"))
        assert rate == pytest.approx(1 / (n + 1))


@pytest.mark.parametrize("goal", ["green", "blue"])
def test_success_rate_is_one_for_the_optimum_and_drops_for_a_planted_bug(goal: str) -> None:
    n = 4
    geo = TwoRooms(n)
    mdp = tworooms(goal, n)
    options = tworooms_options(mdp)
    smdp = tasks.options_mdp(mdp, options)
    target = geo.is_goal(goal)
    for m in (mdp, smdp):
        assert success_rate(m, verify.solve(m).policy, target) == pytest.approx(1.0)
    # Planted bug: from one start cell the options policy ends on the wrong goal (flat: bumps into the wall).
    # Blue: reach green there. Green: open the door there, and reach blue wherever the door is open.
    pol = verify.solve(smdp).policy.copy()
    corner = geo.state(0, 0, False)
    if goal == "blue":
        pol[corner] = 1
    else:
        pol[corner] = 0
        pol[[s for s, (_, _, door) in enumerate(geo.states) if door and not geo.terminal[s]]] = 2
    rate = success_rate(smdp, pol, target)
    assert rate == pytest.approx(1 - 1 / (n * n - 1))
    assert rate == pytest.approx(_brute_success(mdp, options, pol, target))
    # Flat: the optimal paths (ties to the lowest action) pass through neither (0, n-1) for green (they walk
    # left, then down) nor (0, 0) for blue (down, then right): bumping up there fails that cell alone.
    flat = verify.solve(mdp).policy.copy()
    lone = geo.state(0, n - 1 if goal == "green" else 0, False)
    flat[lone] = UP
    rate = success_rate(mdp, flat, target)
    assert rate == pytest.approx(1 - 1 / (n * n - 1))
    assert rate == pytest.approx(_brute_success(mdp, tasks.one_step_options(mdp), flat, target))


def test_success_rate_counts_base_steps_against_the_horizon() -> None:
    # Blue from the farthest start cell takes d_max base steps: one step less and that cell fails.
    n = 3
    geo, mdp = TwoRooms(n), tworooms("blue", n)
    smdp = tasks.options_mdp(mdp, tworooms_options(mdp))
    d = {cell: _d_blue_closed(n, *cell) for cell in _left_cells(n)}
    d_max = max(d.values())
    far = sum(1 for v in d.values() if v == d_max)
    pol = verify.solve(smdp).policy
    goal = geo.is_goal("blue")
    assert success_rate(smdp, pol, goal, horizon=d_max) == pytest.approx(1.0)
    assert success_rate(smdp, pol, goal, horizon=d_max - 1) == pytest.approx(1 - far / (n * n - 1))
    # A batch of policies (checkpoints x seeds) gives one rate each, and agrees with the brute force.
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 3, size=(3, 4, smdp.n_states))
    batch = np.where(smdp.available[np.arange(smdp.n_states), batch], batch, 1)
    rates = success_rate(smdp, batch, goal)
    assert rates.shape == (3, 4)
    options = tworooms_options(mdp)
    for idx in np.ndindex(3, 4):
        assert rates[idx] == pytest.approx(_brute_success(mdp, options, batch[idx], goal))


def test_success_rate_refuses_bad_policies() -> None:
    mdp = tworooms("green", 2)
    with pytest.raises(ValueError, match="policy"):
        success_rate(mdp, np.full(mdp.n_states, 7), TwoRooms(2).is_goal("green"))


def test_weights_moved_hand_case() -> None:
    before = {"W": np.array([[1.0, 2.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])}
    after = {"W": np.array([[1.0, 2.5, 0.0, 0.001], [1.0, 1.0, 1.0, 1.0]])}
    moved = weights_moved(before, after, threshold=0.01)
    np.testing.assert_allclose(moved.fraction, [0.25, 0.0])
    np.testing.assert_allclose(moved.relative, [math.hypot(0.5, 0.001) / math.sqrt(5), 0.0])
    with pytest.raises(ValueError, match="same"):
        weights_moved(before, {"V": before["W"]})


# ------------------------------------------------------------------------------------------ the study
def test_quick_study_writes_records_table_and_figures_that_agree(tmp_path) -> None:
    from reports.studies import tworooms as study

    summary = study.run(tmp_path, seeds=2, seed=3, quick=True)
    for name in (study.RECORDS, study.MARKDOWN, f"{study.FIGURE}.png", f"{study.FIGURE}.svg"):
        assert (tmp_path / name).stat().st_size > 0
    rows = [json.loads(line) for line in (tmp_path / study.RECORDS).read_text().splitlines()]
    keys = list(dict.fromkeys(r["key"] for r in rows))
    assert len(rows) == 2 * len(keys)
    assert {r["seed"] for r in rows} == {3, 4}
    md = (tmp_path / study.MARKDOWN).read_text()
    for key in keys:
        group = [r for r in rows if r["key"] == key]
        med, hit, total = study.reach_of(group)
        text = f"never (0 of {total})" if med is None else f"{med:,} ({hit} of {total})"
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {group[0]['label']} |"))
        assert text in line
        assert f"{np.mean([r['success_final'] for r in group]):.2f}" in line
        assert summary["learners"][key]["steps_to_threshold"] == [r["steps_to_threshold"] for r in group]
        for r in group:  # the records' scalars are the ends of their curves
            assert r["success_pretrained"] == r["pretrain_success"][-1]
            assert r["success_zero_shot"] == r["transfer_success"][0]
            assert (r["moved_policy"] is None) == (r["learner"] not in ("ppo", "ppo_monolithic"))
    assert summary["verdict"] in md


def test_steps_to_threshold_reads_each_seed_on_its_own_clock() -> None:
    from verify.tworooms import steps_to_threshold

    steps = np.array([[0, 0], [100, 120], [200, 260], [300, 390]])
    success = np.array([[0.0, 0.0], [0.95, 0.5], [0.5, 0.9], [1.0, 0.95]])
    # Seed 0 dips below 90 % after its first hit: it counts from its last failure; seed 1 reaches 0.9 at 260.
    assert steps_to_threshold(steps, success, 0.9) == (300, 260)
    assert steps_to_threshold(steps, success[:, ::-1] * 0.5, 0.9) == (None, None)
