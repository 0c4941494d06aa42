"""verify.records: atomic writes (a record file is never half-written), learning tables, command lines."""

import json

import pytest

from verify import records
from verify.records import (
    LearningRecords,
    atomic_write,
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
