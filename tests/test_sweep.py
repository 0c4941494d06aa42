"""The sweep runner (verify.sweep, verify.jobs, `agora sweep`): the same records on every backend, resumable
after SIGKILL, one run per folder, clear config errors; `agora check` and `agora reproduce` on the runner."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tasks
from reports.cli import main
from verify.experiments import bid_task, reproduce, run_experiment
from verify.jobs import Cell, CellRecord, Seed, merge_seed_runs, run_cell, train_cells
from verify.records import check_manifest, read_jsonl, read_learning_records
from verify.sweep import CELLS, FolderInUseError, sweep
from verify.sweep_config import cells_from_config, load_config

ROOT = Path(__file__).resolve().parents[1]

#: The example of issue 11, §2, as the issue fixes it.
EXAMPLE = """[sweep]
kind = "train"
task = ["chain/0", "duality/0"]
mechanism = ["vickrey", "ccv"]
clones = [1, 2]
learner = ["valuation"]
steps = 20000
seeds = 4
"""
#: Fields that say when, how long and from which command line (its --out), not what was found: the only
#: ones allowed to differ between two runs of the same cells.
WHEN = {"timestamp", "seconds", "command"}


def _numbers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in WHEN} for r in rows]


def _cell_records(out: Path) -> dict[str, tuple[Any, ...]]:
    """Every record file of a sweep folder: key -> (config, seed, tables without timestamps)."""
    found = {}
    for path in sorted((out / CELLS).glob("*.json")):
        rec = json.loads(path.read_text())
        tables = {name: _numbers(rows) for name, rows in rec["tables"].items()}
        found[path.stem] = (rec["kind"], rec["config"], rec["seed"], tables)
    return found


def _small(tmp_path: Path, steps: int = 640, seeds: int = 2, extra: str = "") -> Path:
    config = tmp_path / "small.toml"
    config.write_text(EXAMPLE.replace("steps = 20000", f"steps = {steps}").replace("seeds = 4", f"seeds = {seeds}")
                      + extra)
    return config


def test_the_readme_documents_the_tested_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.replace("# grid.toml\n", "") for b in re.findall(r"```toml\n(.*?)```", readme, flags=re.S)]
    assert EXAMPLE in blocks


# ---------------------------------------------------------------------------- seeds and cells
def test_a_spawned_seed_is_the_spawned_child_of_the_root() -> None:
    # numpy's SeedSequence(root).spawn(n)[i] is SeedSequence(root, spawn_key=(i,)): the seed depends on (root, i) only.
    children = np.random.SeedSequence(7).spawn(4)
    assert [Seed(7, (i,)).value for i in range(4)] == [int(c.generate_state(1)[0]) for c in children]
    assert Seed(7).value == 7  # no spawn key: the root itself, as `agora train --seed 7`
    assert len({Seed(7, (i,)).value for i in range(100)}) == 100


def test_a_cell_key_is_its_configuration_not_its_spelling() -> None:
    a = Cell("train", {"task": "chain/0", "steps": 640, "clones": (1, 2)}, Seed(0, (1,)))
    b = Cell("train", {"clones": [1, 2], "steps": 640, "task": "chain/0"}, Seed(0, (1,)))
    assert a.key == b.key
    assert a.key != Cell("train", dict(a.config), Seed(0, (2,))).key
    assert a.key != Cell("train", {**a.config, "steps": 641}, Seed(0, (1,))).key


def test_a_train_cell_is_the_serial_training_run() -> None:
    # Cross-check: the job's numbers are those of run_experiment on the same task, mechanism and seed.
    (cell,) = train_cells([{"task": "duality/0", "mechanism": "ccv", "clones": 2, "steps": 640}], [Seed(3, (1,))])
    rec = run_cell(cell, command="agora sweep x.toml")
    a = run_experiment(bid_task(tasks.make("duality/0")), "ccv", clones=2, steps=640, seeds=[Seed(3, (1,)).value])
    row = rec.tables["runs"][0]
    assert row["final_max_error"] == a.max_error[-1].tolist()
    assert row["q_star"] == a.Q.tolist()
    assert row["seeds"] == [Seed(3, (1,)).value]
    assert row["command"] == rec.command == "agora sweep x.toml"
    assert {"agora_version", "numpy_version", "python_version", "timestamp"} <= set(rec.versions)
    assert rec.seed == {"root": 3, "spawn_key": [1], "value": Seed(3, (1,)).value}


# ---------------------------------------------------------------------------- backends agree
def test_the_issue_example_gives_the_same_records_on_loky_and_serial(tmp_path: Path) -> None:
    config = tmp_path / "example.toml"
    config.write_text(EXAMPLE)
    serial, loky = tmp_path / "serial", tmp_path / "loky"
    assert main(["sweep", str(config), "--out", str(serial), "--no-progress"]) == 0
    assert main(["sweep", str(config), "--out", str(loky), "--backend", "loky", "--jobs", "2", "--no-progress"]) == 0
    a, b = _cell_records(serial), _cell_records(loky)
    assert len(a) == 2 * 2 * 2 * 1 * 4  # tasks x mechanisms x clones x learners x seeds
    assert a == b
    runs = read_jsonl(serial / "runs.jsonl")
    assert _numbers(runs) == _numbers(read_jsonl(loky / "runs.jsonl"))
    assert len(runs) == 8
    assert all(len(r["seeds"]) == 4 for r in runs)
    assert [(r["task"], r["mechanism"], r["clones"]) for r in runs] == [
        (t, m, k) for t in ("chain/0", "duality/0") for m in ("vickrey", "ccv") for k in (1, 2)]
    assert all(r["run"] == f"{r['task']}:valuation:{r['mechanism']}:{r['clones']}:{r['steps']}" for r in runs)
    points = read_jsonl(serial / "checkpoints.jsonl")
    assert len(points) == 32 * 21  # cells x (start + 20 recorded checkpoints)
    check_manifest(serial)
    assert "## duality/0" in (serial / "training.md").read_text()


def test_merged_runs_pool_the_seeds_as_assess_does(tmp_path: Path) -> None:
    out = tmp_path / "o"
    cells = load_config(_small(tmp_path, seeds=3))
    sweep(cells, out, progress=False)
    by_run: dict[str, list[dict[str, Any]]] = {}
    for rec in (json.loads(p.read_text()) for p in (out / CELLS).glob("*.json")):
        row = rec["tables"]["runs"][0]
        by_run.setdefault(row["run"], []).append(row)
    for run in read_jsonl(out / "runs.jsonl"):
        rows = sorted(by_run[run["run"]], key=lambda r: run["seeds"].index(r["seeds"][0]))
        bids = np.array([r["final_bids"][0] for r in rows])  # (N, S, A)
        live = np.array(run["reachable"])
        assert run["final_spread_seeds"] == pytest.approx(bids.std(axis=0)[live].max(), abs=1e-15)
        assert run["win_visits"] == np.sum([r["win_visits"] for r in rows], axis=0).tolist()
        assert run["final_max_error"] == [r["final_max_error"][0] for r in rows]
        assert run["steps_to"]["0.05"] == [r["steps_to"]["0.05"][0] for r in rows]


def test_merging_refuses_rows_that_are_not_one_configuration() -> None:
    # Planted bug: two cells of "one" run that disagree on the task's gamma, or repeat a seed.
    row = {"run": "r", "seeds": [1], "gamma": 0.9, "steps_to": {}, "steps_to_optimal": {}}
    row.update({k: [0.0] for k in ("final_max_error", "final_mean_error", "final_max_error_optimal",
                                   "final_max_error_fixed_point", "final_value", "final_regret",
                                   "final_spread_clones", "final_policy", "optimal_win_share")})
    row.update(final_bids=[[[0.5]]], reachable=[True], win_rate=[[1.0]], win_visits=[3])
    with pytest.raises(ValueError, match=r"disagree on \['gamma'\]"):
        merge_seed_runs([row, {**row, "seeds": [2], "gamma": 0.99}], [])
    with pytest.raises(ValueError, match="a seed appears twice"):
        merge_seed_runs([row, row], [])
    merged = merge_seed_runs([row, {**row, "seeds": [2], "win_rate": [[None]], "win_visits": [0]}], [])
    assert merged.runs[0]["seeds"] == [1, 2]
    assert merged.runs[0]["win_rate"] == [[1.0]]  # the mean over the seeds that visit the state


# ---------------------------------------------------------------------------- kill, resume, lock
def _sweep_process(config: Path, out: Path, *flags: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "reports.cli", "sweep", str(config), "--out", str(out), "--no-progress", *flags]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_sweep_killed_with_sigkill_resumes_to_one_record_per_cell(tmp_path: Path) -> None:
    config, out = _small(tmp_path, steps=3200, seeds=2), tmp_path / "killed"
    proc = _sweep_process(config, out, "--backend", "loky", "--jobs", "2")
    deadline = time.monotonic() + 120
    while len(list((out / CELLS).glob("*.json"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = list((out / CELLS).glob("*.json"))
    assert 3 <= len(written) < 16, "the kill should land mid-sweep"
    assert not (out / "manifest.json").exists()
    for path in written:  # every record that exists is whole
        json.loads(path.read_text())
    before = {p.name: p.stat().st_mtime_ns for p in written}
    cells = load_config(config)
    result = sweep(cells, out, progress=False)
    assert result.complete
    assert result.ran == 16 - len(written)
    files = sorted(p.name for p in (out / CELLS).iterdir())
    assert files == sorted(f"{c.key}.json" for c in cells)  # exactly one record per cell, nothing else
    assert all((out / CELLS / n).stat().st_mtime_ns == t for n, t in before.items())  # finished cells not rerun
    fresh = tmp_path / "fresh"
    sweep(cells, fresh, progress=False)
    assert _cell_records(out) == _cell_records(fresh)
    check_manifest(out)


def test_a_half_written_temporary_file_is_removed_and_the_cell_run(tmp_path: Path) -> None:
    cells = load_config(_small(tmp_path, steps=320, seeds=1))
    out = tmp_path / "o"
    sweep(cells[:3], out, progress=False)
    victim = cells[1]
    (out / CELLS / f"{victim.key}.json").unlink()
    torn = out / CELLS / f".{victim.key}.json.x1y2z3.tmp"
    torn.write_text('{"schema": 1, "key": "' + victim.key + '", "tables": {"runs": [{"run": ')
    (out / CELLS / f"{cells[2].key}.json").write_text('{"schema": 1, "key": "not this one"}')  # not the cell's
    result = sweep(cells[:3], out, progress=False)
    assert result.ran == 2
    assert not torn.exists()
    assert all(CellRecord.read((out / CELLS / f"{c.key}.json").read_text(), c) for c in cells[:3])


def test_a_second_run_on_the_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from verify.sweep import _locked\n"
         "with _locked(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        cells = load_config(_small(tmp_path, steps=320, seeds=1))
        with pytest.raises(FolderInUseError, match=rf"{out}.*PID {holder.pid}"):
            sweep(cells, out, progress=False)
        assert main(["sweep", str(_small(tmp_path)), "--out", str(out), "--no-progress"]) == 2
        assert f"PID {holder.pid}" in capsys.readouterr().err
        assert not list((out / CELLS).glob("*.json"))
    finally:
        holder.kill()
        holder.wait()
    assert sweep(cells[:1], out, progress=False).complete  # the lock dies with its holder


def test_a_failing_cell_keeps_the_others_and_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # tests.planted:NAN_PRICE prices with NaN: train refuses it, so its cells raise; vickrey's run.
    monkeypatch.chdir(ROOT)
    config = _small(tmp_path, steps=320, seeds=1).read_text().replace('["vickrey", "ccv"]',
                                                                      '["vickrey", "tests.planted:NAN_PRICE"]')
    path = tmp_path / "bad.toml"
    path.write_text(config)
    out = tmp_path / "o"
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "4 of 8 cells failed" in err
    assert "nan_price" in err.lower()
    assert len(list((out / CELLS).glob("*.json"))) == 4
    assert not (out / "runs.jsonl").exists()
    assert not (out / "manifest.json").exists()


# ---------------------------------------------------------------------------- config errors
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('task = ["chain/0"]', "has no 'kind'"),
        ('kind = "fit"\ntask = ["chain/0"]', "'kind' must be one of 'train', 'check', 'reproduce'"),
        ('kind = "train"', "'task' is required"),
        ('kind = "train"\ntask = ["chain/0"]\nlearning_rate = 0.1', "unknown sweep key(s) ['learning_rate']"),
        ('kind = "train"\ntask = ["chain/0"]\nsteps = "many"', "'steps' must be an int or a list of them"),
        ('kind = "train"\ntask = ["chain/0"]\nsteps = 0', "'steps' must be >= 1"),
        ('kind = "train"\ntask = ["chain/0"]\nclones = true', "'clones' must be an int"),
        ('kind = "train"\ntask = ["chain/0"]\nseeds = [1, 2]', "'seeds' takes one value, not a list"),
        ('kind = "train"\ntask = []', "'task' is an empty list"),
        ('kind = "train"\ntask = ["chain/9"]', "'task': unknown task 'chain/9'"),
        ('kind = "train"\ntask = ["chain/0"]\nmechanism = ["vickery"]', "'mechanism': unknown mechanism 'vickery'"),
        ('kind = "train"\ntask = ["chain/0"]\nlearner = ["sarsa"]', "'learner': unknown learner 'sarsa'"),
        ('kind = "check"\nclaim = ["truthfull"]', "'claim': unknown claim 'truthfull'"),
        ('kind = "reproduce"\nexperiment = "pong"', "'experiment': unknown experiment 'pong'"),
        ('kind = "reproduce"\nbudgets = 5', "'budgets' must be a list of ints"),
    ],
)
def test_config_errors_name_the_key(body: str, message: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[sweep]\n" + body + "\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert str(path) in err
    assert not out.exists()  # refused before any work


def test_other_tables_missing_files_and_bad_toml_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown table\(s\) or key\(s\) \['extra'\]"):
        cells_from_config({"sweep": {"kind": "check"}, "extra": {}})
    with pytest.raises(ValueError, match=r"needs a \[sweep\] table"):
        cells_from_config({"grid": {}})
    with pytest.raises(FileNotFoundError, match="cannot read the sweep config"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[sweep\nkind=")
    with pytest.raises(ValueError, match="is not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_out_and_runner_flags_are_checked_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _small(tmp_path)
    (tmp_path / "file").write_text("x")
    assert main(["sweep", str(config), "--out", str(tmp_path / "file" / "sub")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["sweep", str(config), "--out", str(tmp_path / "o"), "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler names a Dask or Ray cluster" in capsys.readouterr().err
    assert main(["sweep", str(config), "--out", str(tmp_path / "o"), "--backend", "serial", "--jobs", "2"]) == 2
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        sweep(load_config(config), tmp_path / "o", backend="spark")


def test_defaults_and_product_of_a_train_config() -> None:
    cells = cells_from_config({"sweep": {"kind": "train", "task": "chain/0", "learner": ["valuation", "q_learning"],
                                         "mechanism": ["vickrey", "ccv"], "seed": 5}})
    # The product in key order (task, mechanism, clones, learner, ...): valuation under each mechanism, and
    # one monolithic q_learning cell, first met under vickrey (its mechanism is never auctioned).
    assert [(c.config["learner"], c.config["mechanism"], c.config["clones"]) for c in cells] == [
        ("valuation", "vickrey", 2), ("q_learning", "monolithic", 1), ("valuation", "ccv", 2)]
    assert all(c.seed == Seed(5) and c.config["steps"] == 100_000 and c.config["episodes"] == 32 for c in cells)


# ---------------------------------------------------------------------------- check and reproduce on the runner
def test_agora_check_on_loky_matches_serial_and_resumes(tmp_path: Path) -> None:
    args = ["check", "--mechanism", "ccv", "--budget", "5", "--no-progress"]
    serial, loky = tmp_path / "serial", tmp_path / "loky"
    assert main([*args, "--out", str(serial)]) == 0
    assert main([*args, "--out", str(loky), "--jobs", "2"]) == 0
    rows = read_jsonl(serial / "verdicts.jsonl")
    assert len(rows) == 2 * 5  # clone settings x claims
    assert _numbers(rows) == _numbers(read_jsonl(loky / "verdicts.jsonl"))
    # The same verdicts as verify.check called directly (the serial path of before).
    from verify import check

    direct = [v.to_dict() for v in check("ccv", clones=[1, 2], budget=5, seed=0)]
    assert _numbers([{k: r[k] for k in direct[0]} for r in rows]) == _numbers(direct)
    # Resume: drop three records; the rerun checks those three only, and the table is the same.
    gone = sorted((serial / CELLS).glob("*.json"))[:3]
    kept = {p.name: p.stat().st_mtime_ns for p in (serial / CELLS).glob("*.json") if p not in gone}
    for p in gone:
        p.unlink()
    assert main([*args, "--out", str(serial)]) == 0
    assert all((serial / CELLS / n).stat().st_mtime_ns == t for n, t in kept.items())
    assert _numbers(read_jsonl(serial / "verdicts.jsonl")) == _numbers(rows)
    check_manifest(serial)


def test_agora_reproduce_on_loky_gives_the_records_of_reproduce(tmp_path: Path) -> None:
    assert main(["reproduce", "bandit", "--out", str(tmp_path), "--seeds", "2", "--steps", "640",
                 "--budgets", "640", "--jobs", "2", "--no-progress"]) == 0
    got = read_learning_records(tmp_path)
    want = reproduce("bandit", seeds=[0, 1], steps=640, budgets=(640,))

    def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in WHEN} for r in rows]

    assert strip(got.runs) == strip(want.runs)
    assert got.checkpoints == want.checkpoints
    assert got.runs[0]["command"].startswith("agora reproduce bandit --out")
    assert "--jobs" not in got.runs[0]["command"]  # where it ran does not change what it found
    check_manifest(tmp_path)
