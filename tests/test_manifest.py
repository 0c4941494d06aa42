"""verify.records' manifest: written last, checked before any report; every planted fragment is caught."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from verify import records
from verify.records import (
    MANIFEST,
    IncompleteRecordsError,
    check_manifest,
    count_rows,
    read_jsonl,
    write_csv,
    write_jsonl,
    write_manifest,
    write_records,
)

ROWS = [{"claim": "truthful", "holds": True, "note": "two\nlines"}, {"claim": "credit", "holds": False, "note": "x"}]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_records(tmp_path, "verdicts", ROWS)
    write_manifest(tmp_path, ["verdicts.jsonl", "verdicts.csv"], command="agora check --out x")
    return tmp_path


def test_the_manifest_lists_rows_and_digests_of_every_file(folder: Path) -> None:
    manifest = check_manifest(folder)
    assert manifest == json.loads((folder / MANIFEST).read_text())
    for name in ("verdicts.jsonl", "verdicts.csv"):
        entry = manifest["files"][name]
        assert entry["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()  # independent digest
        assert entry["command"] == "agora check --out x"
    assert manifest["files"]["verdicts.jsonl"]["rows"] == len(read_jsonl(folder / "verdicts.jsonl")) == 2
    # A CSV cell holding a newline is one row, as csv.DictReader reads it back.
    with (folder / "verdicts.csv").open(newline="", encoding="utf-8") as fh:
        assert manifest["files"]["verdicts.csv"]["rows"] == len(list(csv.DictReader(fh))) == 2
    assert manifest["command"] == "agora check --out x"
    assert {"agora_version", "numpy_version", "python_version", "timestamp"} <= manifest["environment"].keys()
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_incomplete_records_error_is_a_value_error() -> None:
    assert issubclass(IncompleteRecordsError, ValueError)
    assert "IncompleteRecordsError" in records.__all__


def test_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    write_records(tmp_path, "verdicts", ROWS)
    with pytest.raises(IncompleteRecordsError, match=r"no manifest\.json.*rerun the command"):
        check_manifest(tmp_path)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"files": 3}', "\udcff"])
def test_an_unreadable_manifest_is_refused(folder: Path, text: str) -> None:
    (folder / MANIFEST).write_text(text, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(IncompleteRecordsError, match=r"manifest\.json"):
        check_manifest(folder)


def test_an_absent_file_is_named(folder: Path) -> None:
    (folder / "verdicts.csv").unlink()
    with pytest.raises(IncompleteRecordsError, match=r"verdicts\.csv is listed .*\(2 rows\) but absent.*agora check"):
        check_manifest(folder)


def test_a_truncated_file_says_expected_and_found(folder: Path) -> None:
    # The case: a SIGKILL left the first rows, every line valid JSON.
    write_jsonl(folder / "verdicts.jsonl", ROWS[:1])
    with pytest.raises(IncompleteRecordsError) as err:
        check_manifest(folder)
    message = str(err.value)
    assert "verdicts.jsonl" in message
    assert "expected 2 rows" in message
    assert "found 1 rows" in message
    assert "rerun `agora check --out x` on the same folder (it resumes)" in message


def test_same_rows_other_content_is_caught_by_the_digest(folder: Path) -> None:
    write_csv(folder / "verdicts.csv", [{**ROWS[0], "holds": False}, ROWS[1]])
    assert count_rows(folder / "verdicts.csv") == 2
    with pytest.raises(IncompleteRecordsError, match=r"verdicts\.csv does not match.*expected 2 rows.*found 2 rows"):
        check_manifest(folder)


@pytest.mark.parametrize("content", ["", "\n\n", "claim,holds\n"])
def test_an_empty_file_is_refused(folder: Path, content: str) -> None:
    name = "verdicts.csv" if "," in content else "verdicts.jsonl"
    (folder / name).write_text(content)
    with pytest.raises(IncompleteRecordsError, match=rf"{name} is empty: manifest\.json expects 2 rows, found 0"):
        check_manifest(folder)


def test_write_manifest_refuses_what_it_could_not_check(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "runs.jsonl", [{"run": "a"}])
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match="non-empty list"):
        write_manifest(tmp_path, [])
    with pytest.raises(ValueError, match="non-empty list"):
        write_manifest(tmp_path, "runs.jsonl")
    with pytest.raises(ValueError, match=r"missing\.jsonl .*does not exist"):
        write_manifest(tmp_path, ["runs.jsonl", "missing.jsonl"])
    with pytest.raises(ValueError, match="no rows"):
        write_manifest(tmp_path, ["empty.jsonl"])
    with pytest.raises(ValueError, match=r"without '\.\.'"):
        write_manifest(tmp_path, ["../runs.jsonl"])
    with pytest.raises(ValueError, match="cannot list itself"):
        write_manifest(tmp_path, [MANIFEST])
    assert not (tmp_path / MANIFEST).exists()


def test_commands_sharing_a_folder_each_add_their_files(folder: Path) -> None:
    write_jsonl(folder / "runs.jsonl", [{"run": "a"}, {"run": "b"}])
    write_manifest(folder, ["runs.jsonl"], command="agora train chain/0 --out x")
    files = check_manifest(folder)["files"]
    assert set(files) == {"verdicts.jsonl", "verdicts.csv", "runs.jsonl"}
    assert files["verdicts.jsonl"]["command"] == "agora check --out x"
    assert files["runs.jsonl"]["command"] == "agora train chain/0 --out x"
    # A file that has gone since is dropped from the next manifest rather than listed forever.
    (folder / "verdicts.csv").unlink()
    write_manifest(folder, ["runs.jsonl"], command="agora train chain/0 --out x")
    assert set(check_manifest(folder)["files"]) == {"verdicts.jsonl", "runs.jsonl"}


def test_a_failed_manifest_write_keeps_the_old_manifest(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (folder / MANIFEST).read_bytes()
    write_jsonl(folder / "verdicts.jsonl", ROWS[:1])

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(records.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_manifest(folder, ["verdicts.jsonl"])
    assert (folder / MANIFEST).read_bytes() == before
    monkeypatch.undo()
    with pytest.raises(IncompleteRecordsError, match="expected 2 rows"):
        check_manifest(folder)


def test_count_rows_counts_records_not_lines(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"a": 1}, {"a": "x\ny"}, {"a": 3}])
    assert count_rows(tmp_path / "a.jsonl") == 3  # a newline inside a JSON string is escaped
    write_csv(tmp_path / "a.csv", [{"a": "x\ny"}, {"a": 2}])
    assert count_rows(tmp_path / "a.csv") == 2
    (tmp_path / "b.bin").write_bytes(b"\x89PNG\n\x00\x01\n")
    assert count_rows(tmp_path / "b.bin") == 2
