"""MentalRotation: the task (tasks/rotation.py), its exact analysis (verify/rotation.py) and its study report."""

import dataclasses
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp

import mechanism
import verify
from mechanism.learners.ppo import mean_bids_at
from mechanism.neural.features import state_features
from tasks.glyphs import N_CLASSES, PRIMITIVES, Classifier, apply_sequence
from tasks.mdp import FiniteMDP
from tasks.rotation import GAMMA, INVERSE, rotation, rotation_features, rotation_task
from verify.rotation import (
    PAPER_MEAN_REWARD,
    QUICK,
    Society,
    brute_force,
    check_optimum,
    fixed_point_reward,
    greedy_of,
    mean_reward,
)

N = 20  # images of the small task the tests build (141 states)


@pytest.fixture(scope="module")
def task():
    return rotation_task(N)


def test_the_mdp_is_the_unrolled_two_step_graph(task):
    mdp = task.mdp
    S, A = 7 * N + 1, len(PRIMITIVES)
    assert (mdp.n_states, mdp.n_actions, mdp.gamma) == (S, A, GAMMA)
    assert np.array_equal(np.flatnonzero(mdp.terminal), [S - 1])
    np.testing.assert_array_equal(mdp.start, np.r_[np.full(N, 1 / N), np.zeros(6 * N + 1)])
    P = mdp.dense_P
    assert set(np.unique(P)) == {0.0, 1.0}  # deterministic
    succ = P.argmax(axis=2)
    for i in range(N):
        assert np.array_equal(succ[i], [task.state(i, a) for a in range(A)])
    assert (succ[N:] == S - 1).all()  # the second step always ends the episode
    assert (mdp.R[:N] == 0).all()
    assert (mdp.R[S - 1] == 0).all()
    np.testing.assert_array_equal(mdp.R[N:-1], task.correct.reshape(N * A, A))
    # Every episode lasts exactly two steps: the terminal is two transitions from every root.
    two = np.linalg.matrix_power(P.mean(axis=1), 2)
    np.testing.assert_allclose(two[:N, S - 1], 1.0)
    assert rotation(N) is task.mdp


def test_states_hold_the_images_the_primitives_make(task):
    for i in (0, 7, N - 1):
        r, t = task.distortion[i]
        np.testing.assert_array_equal(task.images[i], apply_sequence(task.upright[i], (r, t)))
        for a in range(len(PRIMITIVES)):
            np.testing.assert_array_equal(task.images[task.state(i, a)], apply_sequence(task.images[i], (a,)))
    assert (task.images[task.terminal_state] == 0).all()
    # The distortions: one rotation then one translation, the 8 kinds balanced.
    assert set(task.distortion[:, 0]) <= {0, 1}
    assert set(task.distortion[:, 1]) <= {2, 3, 4, 5}
    kinds = np.bincount(4 * task.distortion[:, 0] + task.distortion[:, 1] - 2, minlength=8)
    assert kinds.max() - kinds.min() <= 1


def test_features_are_pixels_and_depth(task):
    F = task.features
    assert F.shape == (7 * N + 1, 16 * 16 + 3)
    np.testing.assert_array_equal(F[:, :-3], task.images.reshape(len(F), -1))
    np.testing.assert_array_equal(F[:, -3:].argmax(axis=1), task.depth)
    np.testing.assert_array_equal(task.depth, np.r_[np.zeros(N), np.ones(6 * N), [2]])
    f = task.feature_fn()
    np.testing.assert_array_equal(state_features(f, task.mdp.n_states), F)
    assert "rotation train" in repr(f)
    np.testing.assert_array_equal(rotation_features(N)(np.arange(3)), F[:3])


def test_heldout_images_are_new_with_the_same_classifier(task):
    held = rotation_task(N, split="heldout")
    assert held.classifier is task.classifier
    assert not {x.tobytes() for x in held.upright} & {x.tobytes() for x in task.upright}
    assert held.mdp.n_states == task.mdp.n_states
    with pytest.raises(ValueError, match="split must be"):
        rotation_task(N, split="test")
    with pytest.raises(ValueError, match="shift must be"):
        rotation_task(N, shift=8)


def test_brute_force_optimum_is_the_solved_optimum(task):
    brute = brute_force(task)
    check = check_optimum(task, brute)
    assert check.agree
    assert check.max_gap <= 1e-12
    sol = verify.solve(task.mdp)
    assert np.asarray(task.mdp.start) @ sol.V == pytest.approx(GAMMA * brute.optimum, abs=1e-12)
    # The brute force, from the images, is the MDP's reward table.
    np.testing.assert_array_equal(brute.table, task.correct)
    # The optimal policy's exact mean reward is the optimum.
    assert mean_reward(task, sol.policy) == pytest.approx(brute.optimum, abs=1e-12)


def test_the_task_is_solvable_but_not_trivially(task):
    brute = brute_force(rotation_task(100))
    t = brute.table
    idx = np.arange(100)
    undo = np.asarray(INVERSE)[rotation_task(100).distortion]
    # Undoing exactly (translate back, then rotate back) works; the reverse order and every fixed
    # sequence mostly do not (measured: 1.00, 0.06 and at best 0.29).
    assert brute.optimum >= 0.95
    assert brute.inverse_rate >= 0.95
    assert t[idx, undo[:, 0], undo[:, 1]].mean() <= 0.3
    assert t.reshape(100, -1).mean(axis=0).max() <= 0.4


def test_a_constant_classifier_drops_the_optimum_to_its_class_share(task):
    # Planted bug: a classifier that always answers c fixes exactly the images of class c.
    for c in (0, 3):
        W, b = np.zeros((N_CLASSES, 256)), np.eye(N_CLASSES)[c]
        broken = dataclasses.replace(task, classifier=Classifier(W, b, 16, 0.1, 0, 0))
        assert brute_force(broken).optimum == pytest.approx((task.labels == c).mean())
        assert brute_force(broken).optimum <= 0.15


def test_a_miswired_reward_is_caught_by_the_cross_check(task):
    # Planted bug: the depth-1 rewards of rotate left and rotate right swapped.
    mdp = task.mdp
    R = np.array(mdp.R)
    R[:, [0, 1]] = R[:, [1, 0]]
    bad = dataclasses.replace(task, mdp=FiniteMDP(mdp.P, R, mdp.gamma, start=mdp.start, terminal=mdp.terminal))
    check = check_optimum(bad)
    assert not check.agree
    assert check.max_gap == pytest.approx(1.0)
    assert N <= check.state < 7 * N
    # Planted bug: root i's primitives lead to root j's successors (j an image whose first steps differ).
    brute = brute_force(task)
    reach = brute.table.max(axis=2)  # (n, A): can the image still be fixed after first step a
    i, j = next((i, j) for i in range(N) for j in range(N) if not np.array_equal(reach[i], reach[j]))
    A = mdp.n_actions
    K = sp.csr_array(mdp.kernel).toarray()
    K[i * A:(i + 1) * A] = K[j * A:(j + 1) * A]
    moved = dataclasses.replace(task, mdp=FiniteMDP(sp.csr_array(K), mdp.R, mdp.gamma, start=mdp.start,
                                                    terminal=mdp.terminal))
    check = check_optimum(moved, brute)
    assert not check.agree
    assert check.state == i


def test_fixed_point_rewards_match_a_hand_computation(task):
    brute = brute_force(task)
    assert fixed_point_reward(task, Society("ccv", 2, "valuation")) == pytest.approx(brute.optimum)
    assert fixed_point_reward(task, Society("vickrey", 1, "valuation")) == pytest.approx(brute.optimum)
    # Solitary ccv credits the *second*-highest bid of the next state: after first step a, the root
    # bids γ·(second largest of table[i, a, :]); it is γ only where two second steps both fix the image.
    second = np.sort(brute.table, axis=2)[:, :, -2]
    first = np.argmax(second, axis=1)  # ties to the lowest primitive, as the auction's
    hand = brute.table[np.arange(N), first].max(axis=1).mean()
    assert fixed_point_reward(task, Society("ccv", 1, "valuation")) == pytest.approx(hand, abs=1e-12)
    assert hand < brute.optimum  # the second-best fixed point loses reward here


def test_greedy_of_reads_primitives_through_clones():
    bids = np.array([[0.1, 0.9, 0.2, 0.1, 0.9, 0.2]])  # 3 primitives, 2 clones
    assert greedy_of(bids, 2, 3).tolist() == [1]
    assert greedy_of(np.array([[0.5, 0.5, 0.1]]), 1, 3).tolist() == [0]  # ties to the lowest


def test_mean_bids_at_reproduces_the_trained_bids_and_generalises(task):
    res = mechanism.train(task.mdp, "ccv", clones=2, learner="ppo", steps=640, seeds=2, episodes=32,
                          features=task.feature_fn(), checkpoints=1)
    params = res.params
    np.testing.assert_array_equal(mean_bids_at(params, task.features), params.mean)
    np.testing.assert_array_equal(np.argmax(mean_bids_at(params, task.features), axis=-1), res.final_policy)
    held = rotation_task(N, split="heldout")
    assert mean_bids_at(params, held.features).shape == (2, held.mdp.n_states, 6)
    with pytest.raises(ValueError, match="features must be"):
        mean_bids_at(params, task.features[:, :-1])


def test_quick_study_writes_records_and_a_table_that_match(tmp_path):
    from reports.studies.rotation import MARKDOWN, RECORDS, run

    summary = run(tmp_path, seeds=2, seed=3, quick=True)
    for name in (RECORDS, MARKDOWN, "rotation_rewards.png", "rotation_rewards.svg", "rotation_examples.png",
                 "rotation_examples.svg", "rotation_curves.png"):
        assert (tmp_path / name).stat().st_size > 0
    rows = [json.loads(line) for line in (tmp_path / RECORDS).read_text().splitlines()]
    assert len(rows) == 2 * len(QUICK.societies)
    assert {r["seed"] for r in rows} == {3, 4}
    assert all(r["optimum_gap"] <= 1e-12 and "reproduce rotation" in r["command"] for r in rows)
    assert all(r["numpy_version"] and r["paper_mean_reward"] == PAPER_MEAN_REWARD for r in rows)
    # Every record's numbers are exact recomputations: the optimum by brute force on the quick task.
    assert rows[0]["optimum"] == brute_force(rotation_task(QUICK.n_images)).optimum
    md = (tmp_path / MARKDOWN).read_text()
    for society in dict.fromkeys(r["society"] for r in rows):
        group = [r for r in rows if r["society"] == society]
        train = np.array([r["mean_reward"] for r in group])
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {society} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[3] == f"{train.mean():.3f} ± {train.std(ddof=1):.3f} [{train.min():.3f}, {train.max():.3f}]"
        assert cells[5] == f"{group[0]['fixed_point_reward']:.3f}"
        assert cells[6] == f"{rows[0]['optimum']:.3f}"
        assert cells[7] == "0.933"
        if group[0]["neural"]:
            held = np.array([r["mean_reward_heldout"] for r in group])
            assert re.match(rf"{held.mean():.3f} ± ", cells[4])
        else:
            assert cells[4] == "—"
        assert summary["societies"][society]["train"]["mean"] == pytest.approx(train.mean())
    assert f"{rows[0]['classifier_accuracy']:.3f}" in md
    assert summary["classifier_accuracy"] == rows[0]["classifier_accuracy"]


def test_building_is_deterministic_and_cached(task):
    from tasks.rotation import _build

    fresh = _build.__wrapped__(N, 0, "train", 60.0, 3, 16, GAMMA, 0)  # bypass the cache
    for name in ("upright", "labels", "distortion", "images", "correct", "features"):
        np.testing.assert_array_equal(getattr(fresh, name), getattr(task, name))
    np.testing.assert_array_equal(fresh.mdp.R, task.mdp.R)
    assert rotation_task(N, 0, "train") is task
    assert not np.array_equal(rotation_task(N, seed=1).upright, task.upright)


def test_study_config_refuses_bad_values():
    from verify.rotation import StudyConfig

    with pytest.raises(ValueError, match="seeds must be"):
        StudyConfig(seeds=0)
    with pytest.raises(ValueError, match="seed must be"):
        StudyConfig(seed=-1)
    with pytest.raises(ValueError, match="societies is empty"):
        StudyConfig(societies=())
    assert StudyConfig(seeds=3, seed=4).seed_tuple == (4, 5, 6)
