"""`agora reproduce bandit-neural chain-neural`: the paper's experiments with PPO bidders, tiny budgets.

The full runs (102,400 and 51,200 env steps per seed) and their numbers are in the README ("Neural
bidders"); here a few hundred steps check the registry, the records and their shapes.
"""

import numpy as np
import pytest

import tasks
from reports.cli import main
from verify.experiments import EXPERIMENTS, GROUPS, experiment_names, reproduce, reproduction_jobs
from verify.jobs import reproduce_cells
from verify.records import read_learning_records
from verify.solve import solve


def test_groups_keep_all_tabular_and_name_the_neural_experiments():
    assert GROUPS["all"] == ("bandit", "chain", "duality")
    assert GROUPS["neural"] == ("bandit-neural", "chain-neural")
    assert experiment_names("all") == ["bandit", "chain", "duality"]
    assert experiment_names(["chain-neural", "neural", "chain"]) == ["chain-neural", "bandit-neural", "chain"]
    with pytest.raises(ValueError, match=r"unknown experiment 'pong'.*'neural'"):
        experiment_names(["chain", "pong"])
    assert {EXPERIMENTS[n].learners for n in GROUPS["neural"]} == {("ppo",)}
    assert (EXPERIMENTS["chain-neural"].seeds, EXPERIMENTS["bandit-neural"].seeds) == (3, 5)


def test_neural_jobs_are_every_society_with_ppo_and_the_monolithic_ppo_baseline_on_request():
    jobs = reproduction_jobs("chain-neural")
    # 4 mechanisms × {cloned, solitary}, one learner, no sample-efficiency study by default
    assert len(jobs) == 8
    assert {(j.learner, j.steps) for j in jobs} == {("ppo", 102_400)}
    assert {s for studies in jobs.values() for s in studies} == {"main"}
    study = reproduction_jobs("chain-neural", steps=256, budgets=(256,))
    assert study[next(j for j in study if j.mechanism == "ccv" and j.clones == 2)] == ["main", "sample_efficiency"]
    assert ("ppo_monolithic", "monolithic", 1, 256) in study
    # the tabular experiments keep their learners and budgets
    assert {j.learner for j in reproduction_jobs("chain")} == {"valuation", "policy_gradient", "q_learning"}
    cells = reproduce_cells(["bandit-neural", "chain-neural"], None, steps=256)
    assert {(c.config["experiment"], c.config["seeds"]) for c in cells} == {("bandit-neural", 5), ("chain-neural", 3)}


def test_reproduce_neural_with_the_monolithic_baseline_records_both_studies():
    recs = reproduce("chain-neural", steps=256, mechanisms=("ccv",), clones=(2,), budgets=(256,), recorded=2)
    by_id = {r["run"]: r for r in recs.runs}
    assert set(by_id) == {"chain-neural:ppo:ccv:2:256", "chain-neural:ppo_monolithic:monolithic:1:256"}
    assert by_id["chain-neural:ppo:ccv:2:256"]["studies"] == ["main", "sample_efficiency"]
    assert len(recs.checkpoints) == 2 * 3 * 3  # runs × seeds (the experiment's 3) × (start + 2 recorded)


def test_cli_reproduces_both_neural_experiments_with_records_and_figures(tmp_path):
    assert main(["reproduce", "chain-neural", "bandit-neural", "--out", str(tmp_path), "--steps", "256",
                 "--no-progress"]) == 0
    recs = read_learning_records(tmp_path)
    assert len(recs.runs) == 16  # 2 experiments × 4 mechanisms × {cloned, solitary}
    for r in recs.runs:
        exp = EXPERIMENTS[r["experiment"]]
        mdp = tasks.make(exp.task)
        assert r["learner"] == "ppo"
        assert r["steps"] == 256
        assert r["transform"] is None
        assert r["seeds"] == list(range(exp.seeds))
        q = np.asarray(r["q_star"])
        np.testing.assert_allclose(q, solve(mdp).Q, atol=1e-9)  # the exact Q*, solved independently here
        bids = np.asarray(r["final_bids"], dtype=float)  # (seeds, states, primitives): mean over a primitive's clones
        assert bids.shape == (exp.seeds, mdp.n_states, mdp.n_actions)
        assert len(r["final_max_error"]) == exp.seeds
    # every 64-step round of 256 steps is recorded: start + 4 checkpoints per run and seed
    assert len(recs.checkpoints) == 8 * (3 + 5) * 5
    md = (tmp_path / "training.md").read_text()
    assert "## chain-neural" in md
    assert "## bandit-neural" in md
    assert "bid 0.63 away from Q*" in md
    assert "bid 0.33 away from Q*" in md
    assert "'CCV's bids closest to Q*'" in md
    assert "'cloned Vickrey closest to Q*'" in md
    for stem in ("chain-neural", "bandit-neural"):
        for fig in ("bids", "curves", "errors"):
            assert (tmp_path / f"{stem}_{fig}.svg").stat().st_size > 0
    assert recs.runs[0]["command"].startswith("agora reproduce chain-neural bandit-neural --out")
    assert main(["reproduce", "neural", "pong", "--out", str(tmp_path)]) == 2
