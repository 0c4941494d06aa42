"""verify.records: atomic writes (a record file is never half-written), learning tables, command lines."""

import csv
import json

import pytest

from verify import records
from verify.records import (
    LearningRecords,
    atomic_write,
    atomic_write_bytes,
    command_line,
    read_jsonl,
    write_csv,
    write_jsonl,
    write_learning_records,
    write_text,
)


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_write_that_fails_midway_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "runs.jsonl"
    write_jsonl(path, [{"a": 1}, {"a": 2}])
    before = path.read_bytes()
    # The third row cannot be encoded: the writer raises after two rows are in the temporary file.
    with pytest.raises(TypeError, match="not JSON serialisable"):
        write_jsonl(path, [{"a": 10}, {"a": 20}, {"a": object()}])
    assert path.read_bytes() == before
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
    assert _leftovers(tmp_path) == []


def test_a_kill_between_rows_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "checkpoints.csv"
    write_csv(path, [{"x": 1}])
    before = path.read_bytes()

    def interrupted_write():
        with atomic_write(path) as fh:
            fh.write(json.dumps({"x": 2}))
            raise KeyboardInterrupt  # as if the process were interrupted mid-write

    with pytest.raises(KeyboardInterrupt):
        interrupted_write()
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_failing_replace_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "training.md"
    write_text(path, "old\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(records.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_a_new_file_is_not_created_when_the_write_fails(tmp_path):
    path = tmp_path / "sub" / "new.jsonl"
    with pytest.raises(TypeError):
        write_jsonl(path, [{"a": object()}])
    assert not path.exists()


def test_learning_records_without_a_runs_table_are_not_read(tmp_path):
    write_learning_records(tmp_path, LearningRecords([{"run": "a", "x": 1}], [{"run": "a", "seed": 0},
                                                                              {"run": "b", "seed": 0}]))
    back = records.read_learning_records(tmp_path)
    assert back.runs == [{"run": "a", "x": 1}]
    assert back.checkpoints == [{"run": "a", "seed": 0}]  # a checkpoint of an unknown run is dropped


def test_command_line_spells_out_every_option():
    line = command_line("agora", ["train", "chain/0"], {"clones": [1, 2], "no_rescale": True, "out": None,
                                                       "steps": 100, "verbose": False, "out_dir": "a b"})
    assert line == "agora train chain/0 --clones 1,2 --no-rescale --steps 100 --out-dir 'a b'"


def _csv_rows(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path):
    # OWASP "CSV Injection": a text cell starting with = + - @ tab or CR gets a leading single quote.
    evil = '=HYPERLINK("http://x.invalid","click")'
    rows = [{"mechanism": evil, "a": "+1", "b": "-2", "c": "@SUM(A1)", "d": "\tx", "e": "\rx", "ok": "vickrey"}]
    path = write_csv(tmp_path / "v.csv", rows)
    back = _csv_rows(path)[0]
    assert back["mechanism"] == "'" + evil  # read back as text, the formula intact after the quote
    assert [back[k] for k in "abcde"] == ["'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx"]
    assert back["ok"] == "vickrey"
    assert all(not line.startswith(("=", "+", "-", "@")) for line in path.read_text().splitlines())


def test_csv_numbers_are_written_as_they_are(tmp_path):
    path = write_csv(tmp_path / "n.csv", [{"x": -0.5, "k": -3, "big": 1e-7, "flag": True, "none": None,
                                          "nested": ["=x", -1]}])
    back = _csv_rows(path)[0]
    assert back == {"x": "-0.5", "k": "-3", "big": "1e-07", "flag": "True", "none": "", "nested": '["=x", -1]'}
    assert float(back["x"]) == -0.5


def test_csv_headers_are_neutralised_too(tmp_path):
    path = write_csv(tmp_path / "h.csv", [{"=cmd": 1, "plain": 2}])
    assert path.read_text().splitlines()[0] == "'=cmd,plain"


def test_atomic_write_bytes_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "fig.png"
    with atomic_write_bytes(path) as fh:
        fh.write(b"\x89PNG old")

    def failing_savefig():
        with atomic_write_bytes(path) as fh:
            fh.write(b"half")
            raise RuntimeError("savefig failed")

    with pytest.raises(RuntimeError):
        failing_savefig()
    assert path.read_bytes() == b"\x89PNG old"
    assert _leftovers(tmp_path) == []


def test_atomic_write_replaces_a_symlink_not_its_target(tmp_path):
    target = tmp_path / "target.md"
    target.write_text("precious")
    link = tmp_path / "report.md"
    link.symlink_to(target)
    write_text(link, "new")
    assert target.read_text() == "precious"
    assert not link.is_symlink()
    assert link.read_text() == "new"
