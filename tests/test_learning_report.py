"""reports.learning and the learning commands: ties, "never", significance, records through `agora report`."""

import dataclasses
import json

import numpy as np
import pytest

import tasks
from mechanism import train
from reports.cli import main
from reports.learning import claim_verdict, closest_to_q_star, learning_markdown, main_table, write_training_report
from verify.experiments import assess
from verify.records import read_learning_records, write_learning_records, write_manifest
from verify.solve import solve


def _planted_run(mdp, mechanism, bids_of, clones=2, seeds=3):
    """Run records of a chain run whose bids are ``bids_of(Q, shape)`` at every checkpoint."""
    res = train(mdp, mechanism, clones=clones, steps=320, seeds=seeds, checkpoints=2)
    bids = bids_of(np.tile(solve(mdp).Q, clones), res.bids.shape)
    a = assess(dataclasses.replace(res, bids=bids), mdp)
    run = f"chain/0:valuation:{mechanism}:{clones}:320"
    return a.run_record(run, task="chain/0", experiment="chain"), a.checkpoint_records(run)


def _exact(Q, shape):
    return np.broadcast_to(Q, shape).copy()


def _noisy(Q, shape):
    # The same seed-dependent error for every mechanism: identical bids, a real spread over seeds.
    bids = np.broadcast_to(Q, shape).copy()
    bids[:, :, :5] += np.linspace(0.0, 0.03, shape[1])[None, :, None, None]
    return bids


@pytest.mark.parametrize("bids_of", [_exact, _noisy])
def test_a_planted_tie_is_reported_as_a_tie(bids_of):
    mdp = tasks.make("chain/0")
    runs, points = [], []
    for mech in ("vickrey", "ccv", "first_price"):
        r, p = _planted_run(mdp, mech, bids_of)
        runs.append(r)
        points += p
    md = learning_markdown(runs)
    assert "disagrees" not in md
    assert "'CCV's bids closest to Q*', max error over reachable pairs: **tie**" in md
    assert "**tie** between all 3 societies" in md
    verdict, comps = claim_verdict(runs[1]["final_max_error"], {"v": runs[0]["final_max_error"]})
    assert verdict == "tie"
    assert comps["v"].outcome == "tie"


def test_a_planted_never_is_counted_not_used_in_the_median():
    mdp = tasks.make("chain/0")

    def one_seed_never(Q, shape):
        bids = np.broadcast_to(Q, shape).copy()
        bids[-1, 2, 0, 1] += 0.5  # seed 2 is off at the last checkpoint: it never stays below ε
        return bids

    run, _ = _planted_run(mdp, "ccv", one_seed_never)
    assert run["steps_to"]["0.01"] == [0, 0, None]
    row = main_table([run]).rows[0]
    assert "0 over 2 of 3; 1 never" in row
    assert not any("-1" in cell for cell in row)


def test_closest_needs_the_difference_to_exceed_the_spread():
    clear = {"ccv cloned": [0.01, 0.012, 0.011], "vickrey cloned": [0.2, 0.21, 0.19]}
    assert closest_to_q_star(clear).startswith("closest: **ccv cloned**")
    overlap = {"ccv cloned": [0.0, 0.3, 0.1], "vickrey cloned": [0.05, 0.35, 0.15]}
    text = closest_to_q_star(overlap)
    assert "no conclusion against vickrey cloned" in text
    assert "no single closest society" in text


def test_records_round_trip_through_agora_report(tmp_path):
    mdp = tasks.make("chain/0")
    r1, p1 = _planted_run(mdp, "ccv", _exact)
    r2, p2 = _planted_run(mdp, "vickrey", _noisy)
    from verify.records import LearningRecords

    paths = write_learning_records(tmp_path, LearningRecords([r1, r2], p1 + p2))
    write_manifest(tmp_path, [p.name for p in paths])  # `agora report` renders only a folder with its manifest
    back = read_learning_records(tmp_path)
    assert back.runs == json.loads(json.dumps([r1, r2]))
    assert back.checkpoints == json.loads(json.dumps(p1 + p2))
    assert main(["report", str(tmp_path)]) == 0
    md = (tmp_path / "training.md").read_text()
    assert "## chain" in md
    assert "| valuation | CCV, cloned |" in md  # the paper's names
    for name in ("chain_bids.svg", "chain_curves.svg", "chain_errors.svg", "training.html", "learning.tex",
                 "learning.csv"):
        assert (tmp_path / name).stat().st_size > 0
    page = (tmp_path / "training.html").read_text()
    assert page.count('src="data:image/svg+xml;base64,') == 3  # every figure inlined: the page fetches nothing
    assert "CCV, cloned" in (tmp_path / "learning.csv").read_text()
    assert write_training_report(tmp_path, back.runs, back.checkpoints)[-1].name == "training.md"


def test_merging_replaces_a_run_with_the_same_id(tmp_path):
    mdp = tasks.make("chain/0")
    from verify.records import LearningRecords

    r1, p1 = _planted_run(mdp, "ccv", _exact)
    write_learning_records(tmp_path, LearningRecords([r1], p1))
    r1b, p1b = _planted_run(mdp, "ccv", _noisy)
    r2, p2 = _planted_run(mdp, "vickrey", _exact)
    write_learning_records(tmp_path, LearningRecords([r1b, r2], p1b + p2))
    back = read_learning_records(tmp_path)
    assert [r["run"] for r in back.runs] == [r1["run"], r2["run"]]
    assert back.runs[0]["final_max_error"] == r1b["final_max_error"]
    assert len(back.checkpoints) == len(p1b) + len(p2)


def test_cli_train_out_and_report(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "bandit/0", "--mechanism", "vickrey", "--clones", "1,2", "--steps", "640", "--seeds", "2"]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Q*" in text
    assert "steps to max error < 0.01 (exact" in text
    runs = read_learning_records(out).runs
    assert [r["run"] for r in runs] == ["bandit/0:valuation:vickrey:1:640", "bandit/0:valuation:vickrey:2:640"]
    assert runs[0]["command"].startswith("agora train bandit/0 --mechanism vickrey --clones 1,2")
    assert main(["train", "bandit/0", "--learner", "q_learning", "--steps", "640", "--seeds", "2",
                 "--out", str(out)]) == 0
    assert len(read_learning_records(out).runs) == 3
    (out / "training.md").unlink()
    assert main(["report", str(out)]) == 0
    md = (out / "training.md").read_text()
    assert "## bandit/0" in md
    assert "q_learning (monolithic)" in md
    assert main(["train", "bandit/0", "--clones", "0"]) == 2


def test_cli_train_accepts_a_user_mdp(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_tasks.py").write_text("import tasks\n\ndef tiny():\n    return tasks.chain(4)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["train", "my_tasks:tiny", "--steps", "320", "--seeds", "1", "--out", "o"]) == 0
    assert read_learning_records(tmp_path / "o").runs[0]["task"] == "my_tasks:tiny"
    assert main(["train", "my_tasks:nothing", "--steps", "320"]) == 2


def test_cli_reproduce_and_report(tmp_path, capsys):
    assert main(["reproduce", "bandit", "--out", str(tmp_path), "--seeds", "2", "--steps", "640",
                 "--budgets", "640,1280"]) == 0
    recs = read_learning_records(tmp_path)
    assert {r["experiment"] for r in recs.runs} == {"bandit"}
    assert any("sample_efficiency" in r["studies"] for r in recs.runs)
    md = (tmp_path / "training.md").read_text()
    assert "## bandit" in md
    assert "Sample efficiency" in md
    assert "'cloned Vickrey closest to Q*'" in md
    assert (tmp_path / "bandit_bids.svg").stat().st_size > 0
    (tmp_path / "training.md").unlink()
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "training.md").exists()
    assert main(["reproduce", "pong", "--out", str(tmp_path)]) == 2
    assert main(["reproduce", "bandit", "--budgets", "x", "--out", str(tmp_path)]) == 2


def test_report_names_the_old_format(tmp_path, capsys):
    (tmp_path / "training.jsonl").write_text("{}\n")
    assert main(["report", str(tmp_path)]) == 2
    assert "old one-table format" in capsys.readouterr().err
