"""Output folders: `--out` checked before any work, `agora report` refuses fragments and writes only inside DIR."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reports import outdir
from reports.cli import main
from reports.outdir import check_out_dir, output_path, safe_name, unique_stems
from verify.records import MANIFEST, read_jsonl, write_jsonl, write_manifest, write_records

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
VERDICT_ROWS = [{"mechanism": "vickrey", "clones": 2, "claim": "truthful", "title": "truthful", "holds": True}]


# ---------------------------------------------------------------------------- check_out_dir
def test_a_new_nested_folder_is_created_and_returned(tmp_path: Path) -> None:
    out = check_out_dir(tmp_path / "a" / "b")
    assert out == tmp_path / "a" / "b"
    assert out.is_dir()
    assert list(out.iterdir()) == []  # the write probe leaves nothing behind
    assert check_out_dir(out) == out  # an existing folder is fine


def test_a_file_is_refused_naming_the_flag(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("keep")
    with pytest.raises(ValueError, match=r"^--out '.*f': the path is a file, not a folder; pass a folder path"):
        check_out_dir(tmp_path / "f")
    assert (tmp_path / "f").read_text() == "keep"


def test_a_path_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("keep")
    with pytest.raises(ValueError, match=r"--out '.*f/sub/deeper': the path has a parent '.*f' that is a file"):
        check_out_dir(tmp_path / "f" / "sub" / "deeper")


def test_a_dangling_symlink_parent_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    with pytest.raises(ValueError, match="symbolic link to a missing target"):
        check_out_dir(tmp_path / "link" / "sub")
    assert not (tmp_path / "missing").exists()


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(ValueError, match="--out"):
        check_out_dir(tmp_path / "loop" / "sub")


@pytest.mark.skipif(IS_ROOT or os.name != "posix", reason="root ignores permission bits (see the next tests)")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ValueError, match="not writable"):
            check_out_dir(ro)
        with pytest.raises(ValueError, match=r"would be created in '.*ro', which is not writable"):
            check_out_dir(ro / "sub")
    finally:
        ro.chmod(0o755)


def test_a_folder_the_permissions_deny_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What os.access answers for a chmod 555 folder to anyone but root; runs as root too.
    monkeypatch.setattr(outdir.os, "access", lambda path, mode: False)
    with pytest.raises(ValueError, match=r"--out .*not writable \(read-only\); pass a folder you can write"):
        check_out_dir(tmp_path)


def test_a_folder_where_files_cannot_be_created_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A read-only file system: permission bits allow, the kernel refuses (root included).
    def erofs(*args: object, **kwargs: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(outdir.tempfile, "mkstemp", erofs)
    with pytest.raises(ValueError, match=r"--out .*cannot create the folder or write a file in it \(Read-only file"):
        check_out_dir(tmp_path / "new")


def test_must_be_empty_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "old.jsonl").write_text("{}\n")
    with pytest.raises(ValueError, match="not empty"):
        check_out_dir(tmp_path, must_be_empty=True)
    assert check_out_dir(tmp_path / "fresh", must_be_empty=True).is_dir()


def test_train_checks_out_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import mechanism
    import verify.experiments

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained before checking --out")

    monkeypatch.setattr(verify.experiments, "run_experiment", no_training)
    monkeypatch.setattr(mechanism, "train", no_training)
    (tmp_path / "f").write_text("keep")
    for bad in (tmp_path / "f", tmp_path / "f" / "sub"):
        assert main(["train", "chain/0", "--steps", "10000000", "--out", str(bad)]) == 2
        assert "agora train: error: --out" in capsys.readouterr().err
    assert (tmp_path / "f").read_text() == "keep"


# ---------------------------------------------------------------------------- safe names
@pytest.mark.parametrize(
    ("text", "stem"),
    [("../x", "x"), ("/etc/passwd", "etc-passwd"), ("chain/0", "chain-0"), ("..", "untitled"), ("", "untitled"),
     ("a\\b", "a-b"), ("-rf", "rf"), ("bandit", "bandit")],
)
def test_safe_name(text: str, stem: str) -> None:
    assert safe_name(text) == stem


@pytest.mark.parametrize("name", ["../x.md", "/tmp/x.md", "a/b.md", "..", ".", "", "x\0.md"])
def test_output_path_refuses_names_that_leave_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a plain file name"):
        output_path(tmp_path, name)


def test_output_path_refuses_a_folder_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "report.md").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        output_path(tmp_path, "report.md")
    assert output_path(tmp_path, "report.html") == tmp_path / "report.html"


# ---------------------------------------------------------------------------- agora report
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "run"
    args = ["train", "bandit/0", "--steps", "320", "--seeds", "1", "--episodes", "4", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    return out


@pytest.fixture
def run_dir(trained: Path, tmp_path: Path) -> Path:
    out = tmp_path / "box" / "run"
    shutil.copytree(trained, out)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_report_refuses_a_folder_without_a_manifest(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / MANIFEST).unlink()
    before = _files(run_dir)
    assert main(["report", str(run_dir)]) == 2
    assert f"has no {MANIFEST}" in capsys.readouterr().err
    assert _files(run_dir) == before  # nothing written


def test_report_refuses_a_fragment_and_keeps_the_good_report(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = read_jsonl(run_dir / "checkpoints.jsonl")
    write_jsonl(run_dir / "checkpoints.jsonl", rows[: len(rows) // 2])  # a killed writer's fragment
    before = _files(run_dir)
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"checkpoints.jsonl does not match {MANIFEST}: expected {len(rows)} rows" in err
    assert "rerun `agora train bandit/0" in err
    assert _files(run_dir) == before


def test_report_refuses_an_unlisted_record_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_records(tmp_path, "verdicts", VERDICT_ROWS)
    write_manifest(tmp_path, ["verdicts.jsonl", "verdicts.csv"])
    write_jsonl(tmp_path / "runs.jsonl", [{"run": "a"}])  # a later command died before its manifest
    assert main(["report", str(tmp_path)]) == 2
    assert "runs.jsonl is not listed in" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()


def test_a_whole_folder_renders(run_dir: Path) -> None:
    (run_dir / "training.md").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert "## bandit/0" in (run_dir / "training.md").read_text()


@pytest.mark.parametrize("experiment", ["../x", "../../escaped", "/ABS/x", "a/b", "..", "\\..\\x"])
def test_a_record_cannot_make_the_report_write_outside(run_dir: Path, experiment: str) -> None:
    box = run_dir.parent
    if experiment.startswith("/ABS"):
        experiment = str(box / "abs" / "x")
    rows = [{**r, "experiment": experiment} for r in read_jsonl(run_dir / "runs.jsonl")]
    write_jsonl(run_dir / "runs.jsonl", rows)
    write_manifest(run_dir, ["runs.jsonl"])
    outside = {k: v for k, v in _files(box.parent).items() if not k.startswith("box/run/")}
    assert main(["report", str(run_dir)]) == 0
    assert {k: v for k, v in _files(box.parent).items() if not k.startswith("box/run/")} == outside
    stem = safe_name(experiment)
    assert {f"{stem}_bids.svg", f"{stem}_curves.svg", f"{stem}_errors.svg"} <= {p.name for p in run_dir.iterdir()}


def test_a_symlinked_report_does_not_overwrite_its_target(tmp_path: Path) -> None:
    write_records(tmp_path / "d", "verdicts", VERDICT_ROWS)
    write_manifest(tmp_path / "d", ["verdicts.jsonl", "verdicts.csv"])
    target = tmp_path / "precious.html"
    target.write_text("precious")
    (tmp_path / "d" / "report.html").symlink_to(target)
    (tmp_path / "d" / "report.md").symlink_to(target)
    assert main(["report", str(tmp_path / "d")]) == 0
    assert target.read_text() == "precious"
    page = tmp_path / "d" / "report.html"
    assert not page.is_symlink()
    assert "<h1>Agora check: verdicts</h1>" in page.read_text()


def test_a_symlinked_training_md_does_not_overwrite_its_target(run_dir: Path) -> None:
    target = run_dir.parent / "precious.md"
    target.write_text("precious")
    (run_dir / "training.md").unlink()
    (run_dir / "training.md").symlink_to(target)
    assert main(["report", str(run_dir)]) == 0
    assert target.read_text() == "precious"
    assert not (run_dir / "training.md").is_symlink()


def test_unique_stems_keep_distinct_keys_apart() -> None:
    # "a/b" and "a-b" both sanitise to "a-b": without a suffix one section's figures would overwrite the other's.
    stems = unique_stems(["a/b", "a-b", "chain", "chain/0"])
    assert stems["chain"] == "chain"
    assert stems["chain/0"] == "chain-0"
    assert stems["a/b"] != stems["a-b"]
    assert stems["a/b"].startswith("a-b-")
    assert len(set(stems.values())) == 4
    assert unique_stems(["a-b", "a/b"]) == {"a-b": stems["a-b"], "a/b": stems["a/b"]}  # order-free
