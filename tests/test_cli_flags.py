"""One flag vocabulary (reports/flags.py): every command × shared flag, accepted with one meaning and one error.

The table :data:`VOCABULARY` is the contract (DESIGN §4, issue 14): which command takes which shared
flag. The tests check that the parsers match it exactly, that a flag parses to the same values and
fails with the same message on every command that takes it, and what the values do: ``--mechanism``
lists and ``package.module:NAME`` (a user module written to tmp_path), ``--clones 1,2`` trains both,
``--seeds 3 --seed 5`` is seeds 5, 6, 7 in the records, ``--format json`` is one JSON document and
nothing else on standard output, a progress bar with an ETA only on a terminal.

The reports each command renders are other tests' subject (test_cli_check, test_learning_report):
here the renderers are replaced by no-ops (fixture ``no_reports``), so these tests stay fast.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from reports import flags
from reports.cli import build_parser, main

#: command -> the shared flags it takes (the README's flag table).
VOCABULARY: dict[str, set[str]] = {
    "mechanisms": {"--mechanism", "--format"},
    "tasks": {"--format"},
    "solve": {"--format", "--out"},
    "check": {"--mechanism", "--clones", "--seeds", "--seed", "--format", "--out", "--jobs", "--no-progress"},
    "train": {"--mechanism", "--clones", "--seeds", "--seed", "--format", "--out", "--no-progress"},
    "reproduce": {"--mechanism", "--clones", "--seeds", "--seed", "--format", "--out", "--jobs", "--no-progress"},
    "sweep": {"--format", "--out", "--jobs", "--no-progress"},
}
SHARED = sorted(set().union(*VOCABULARY.values()))

#: A user mechanism module: a copy of the first-price rule under another name, and one whose price
#: rule prints (on standard output) at import and when first called.
USER_MODULE = """
import numpy as np
from mechanism import Mechanism, highest_bid, second_price

MINE = Mechanism.top_two("mine", price="first", lookahead="first", doc="first price, by a user")
print("usermech imported")
_said = []

def _loud(bids, winner):
    if not _said:
        print("usermech pricing")
        _said.append(1)
    return second_price(bids, winner)

LOUD = Mechanism("loud", price=_loud, lookahead=highest_bid, doc="vickrey that talks")
NOT_A_MECHANISM = 42
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``usermech_flags.py`` in a fresh folder that is the working directory (as a user runs agora)."""
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "usermech_flags.py").write_text(USER_MODULE)
    monkeypatch.chdir(folder)
    monkeypatch.delitem(sys.modules, "usermech_flags", raising=False)
    return folder


@pytest.fixture
def no_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands write their records but render no report (the renderers are tested elsewhere)."""
    import reports.commands.check as check
    import reports.commands.reproduce as reproduce
    import reports.commands.sweep as sweep
    import reports.commands.train as train
    from verify.records import write_learning_records, write_manifest

    def records_only(out: Path, records: Any, command: str) -> list[Path]:
        paths = write_learning_records(out, records)
        return [*paths, write_manifest(out, [p.name for p in paths], command=command)]

    monkeypatch.setattr(check, "_render", lambda out, records: [])
    monkeypatch.setattr(reproduce, "render_learning", lambda out, records: [])
    monkeypatch.setattr(sweep, "render_learning", lambda out, records: [])
    monkeypatch.setattr(sweep, "render_verdicts", lambda out, records: [])
    monkeypatch.setattr(train, "write_out", records_only)


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _tiny(command: str, out: Path) -> list[str]:
    """The command with its smallest work: positional arguments, tiny budgets, no progress bar."""
    return {
        "mechanisms": ["mechanisms"],
        "tasks": ["tasks"],
        "solve": ["solve", "chain/0"],
        "check": ["check", "--mechanism", "ccv", "--clones", "2", "--claims", "truthful", "--budget", "2", "--out",
                  str(out), "--no-progress"],
        "train": ["train", "chain/0", "--steps", "64", "--episodes", "4", "--seeds", "1", "--no-progress"],
        "reproduce": ["reproduce", "bandit", "--steps", "64", "--budgets", "none", "--seeds", "1", "--out", str(out),
                      "--no-progress"],
        "sweep": ["sweep", str(out / "sweep.toml"), "--out", str(out), "--no-progress"],
    }[command]


# ---------------------------------------------------------------------------- the table itself
@pytest.mark.parametrize("command", sorted(VOCABULARY))
def test_each_command_takes_exactly_its_shared_flags(command: str) -> None:
    options = set(_subparser(command)._option_string_actions)
    assert {f for f in SHARED if f in options} == VOCABULARY[command]


@pytest.mark.parametrize("flag", SHARED)
def test_a_shared_flag_is_one_argparse_action_everywhere(flag: str) -> None:
    # Same action class, type, choices, destination and metavar wherever the flag is taken: one meaning.
    def shape(command: str) -> tuple[Any, ...]:
        a = _subparser(command)._option_string_actions[flag]
        item = getattr(a, "item", None)
        return (type(a).__name__, a.dest, a.choices, a.metavar, a.nargs, getattr(a.type, "__name__", a.type),
                getattr(item, "__name__", None), getattr(item, "__qualname__", None))

    shapes = {command: shape(command) for command, taken in VOCABULARY.items() if flag in taken}
    assert len(set(shapes.values())) == 1, shapes


# ---------------------------------------------------------------------------- same error on bad values
BAD = [
    ("--clones", "0", "argument --clones: expected an int >= 1 (bidders per primitive); got '0'."),
    ("--clones", "1,,2", "argument --clones: '1,,2' has an empty entry; write a comma list such as 1,2, or repeat "
                         "the flag."),
    ("--clones", "two", "argument --clones: expected an int >= 1 (bidders per primitive); got 'two'."),
    ("--seeds", "0", "argument --seeds: expected an int >= 1 (how many seeds: S..S+N-1 with --seed S); got '0'."),
    ("--seed", "-1", "argument --seed: expected an int >= 0 (the first seed); got '-1'."),
    ("--format", "xml", "argument --format: invalid choice: 'xml' (choose from 'table', 'json')"),
    ("--jobs", "-1", "argument --jobs: expected an int >= 0 (worker processes; 0 = every core); got '-1'."),
    ("--mechanism", "nope", "argument --mechanism: unknown mechanism 'nope'; registered: vickrey, ccv, first_price, "
                            "env_reward, bucket_brigade, all_pay, reserve_vickrey. A user mechanism is given as "
                            "package.module:NAME."),
    ("--mechanism", "ccv,", "argument --mechanism: 'ccv,' has an empty entry; write a comma list such as ccv,vickrey, "
                            "or repeat the flag."),
]


@pytest.mark.parametrize(("flag", "value", "message"), BAD, ids=[f"{f}={v}" for f, v, _ in BAD])
def test_a_bad_value_is_the_same_argparse_error_on_every_command(
    flag: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command, taken in VOCABULARY.items():
        if flag not in taken:
            continue
        assert main([*_tiny(command, tmp_path), flag, value]) == 2, command
        err = capsys.readouterr().err
        assert err.startswith(f"usage: agora {command}"), err
        assert err.splitlines()[-1] == f"agora {command}: error: {message}", command
    assert not any(tmp_path.iterdir())  # refused while parsing: no command started, nothing written


@pytest.mark.parametrize("command", sorted(VOCABULARY))
def test_a_flag_a_command_does_not_take_is_refused(command: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for flag in sorted(set(SHARED) - VOCABULARY[command] - {"--no-progress"}):
        assert main([*_tiny(command, tmp_path), flag, "1"]) == 2
        assert f"unrecognized arguments: {flag} 1" in capsys.readouterr().err


def test_two_names_of_one_rule_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twice = ["--mechanism", "first_price,ccv", "--mechanism", "bucket_brigade"]
    for command in ("check", "train", "reproduce"):
        assert main([*_tiny(command, tmp_path), *twice]) == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"agora {command}: error: argument --mechanism: 'first_price' and 'bucket_brigade' are one rule, "
            "'first_price'; give it once (records name a mechanism by its rule).")
    assert not any(tmp_path.iterdir())
    assert main(["mechanisms", *twice]) == 0  # listing names both: nothing is run or recorded
    assert "bucket_brigade  Bucket Brigade (BB) (alias of first_price)" in capsys.readouterr().out


def test_user_mechanism_errors_name_the_flag(user_module: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("check", "train", "mechanisms"):
        assert main([*_tiny(command, user_module / "o"), "--mechanism", "usermech_flags:NOT_A_MECHANISM"]) == 2
        last = capsys.readouterr().err.splitlines()[-1]
        assert last.startswith(f"agora {command}: error: argument --mechanism: 'usermech_flags:NOT_A_MECHANISM': ")
        assert "is a int, not a mechanism.Mechanism" in last
    assert main([*_tiny("reproduce", user_module / "o"), "--mechanism", "usermech_flags:MINE"]) == 2
    assert "`agora reproduce` runs registered mechanisms only" in capsys.readouterr().err


# ---------------------------------------------------------------------------- same meaning
def test_lists_are_repeatable_and_comma_separated_with_one_meaning(tmp_path: Path) -> None:
    argv = ["--mechanism", "ccv,vickrey", "--mechanism", "first_price,ccv", "--clones", "2,1",
            "--clones", "3,2", "--seeds", "3", "--seed", "5"]
    for command, taken in VOCABULARY.items():
        given = [a for i, a in enumerate(argv) if (argv[i - (i % 2)] in taken)]
        args = build_parser().parse_args([*_tiny(command, tmp_path), *given])
        if "--mechanism" in taken:
            assert flags.mechanisms(args, ["x"]) == ["ccv", "vickrey", "first_price"]
        if "--clones" in taken:
            assert flags.clones(args, [9]) == [2, 1, 3]
        if "--seeds" in taken:
            assert flags.seeds(args, 99) == [5, 6, 7]
    # Absent, each command's default applies; --seed alone shifts the default count.
    args = build_parser().parse_args(["train", "chain/0", "--seed", "4"])
    assert (flags.mechanisms(args, ["ccv"]), flags.clones(args, [2]), flags.seeds(args, 10)) == (
        ["ccv"], [2], list(range(4, 14)))


def test_progress_is_drawn_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    args = argparse.Namespace(no_progress=False)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert flags.progress(args)
    assert not flags.progress(argparse.Namespace(no_progress=True))
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not flags.progress(args)


def test_jsonable_makes_strict_json() -> None:
    np = pytest.importorskip("numpy")
    doc = {"a": float("nan"), "b": (1, float("inf")), "c": np.arange(3), "d": np.float64(0.5), 3: Path("x")}
    assert json.loads(json.dumps(flags.jsonable(doc), allow_nan=False)) == {
        "a": None, "b": [1, None], "c": [0, 1, 2], "d": 0.5, "3": "x"}


# ---------------------------------------------------------------------------- what the values do
def test_check_takes_lists_user_mechanisms_and_seeds(user_module: Path, no_reports: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = user_module / "out"
    argv = ["check", "--mechanism", "usermech_flags:MINE", "--mechanism", "ccv,first_price", "--clones", "1",
            "--claims", "truthful", "--budget", "3", "--seeds", "3", "--seed", "5", "--out", str(out),
            "--no-progress", "--format", "json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    got = [(r["mechanism"], r["clones"], r["seed"]) for r in doc["verdicts"]]
    assert got == [(m, 1, s) for m in ("mine", "ccv", "first_price") for s in (5, 6, 7)]
    assert doc["seeds"] == [5, 6, 7]
    # The user's copy of the first-price rule is the rule used: first price is not truthful (DESIGN §1),
    # under every seed, and ccv is.
    holds = {(r["mechanism"], r["seed"]): r["holds"] for r in doc["verdicts"]}
    assert [holds["mine", s] for s in (5, 6, 7)] == [holds["first_price", s] for s in (5, 6, 7)] == [False] * 3
    assert all(holds["ccv", s] for s in (5, 6, 7))
    assert doc["command"].startswith("agora check --mechanism usermech_flags:MINE,ccv,first_price --clones 1")
    assert "--seeds 3" in doc["command"]
    rows = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [r["seed"] for r in rows] == [5, 6, 7] * 3


def test_train_runs_every_mechanism_and_clone_setting_over_the_seeds(
    user_module: Path, no_reports: None, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = ["--steps", "128", "--episodes", "4", "--seeds", "3", "--seed", "5", "--no-progress", "--format", "json"]
    assert main(["train", "chain/0", "--mechanism", "usermech_flags:MINE,first_price", "--mechanism", "ccv",
                 "--clones", "1,2", *tiny]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run"] for r in runs] == [f"chain/0:valuation:{m}:{k}:128" for m in ("mine", "first_price", "ccv")
                                        for k in (1, 2)]
    assert all(r["seeds"] == [5, 6, 7] for r in runs)
    bids = {(r["mechanism"], r["clones"]): r["final_bids"] for r in runs}
    # The user's rule is first price: the same bids as the built-in, seed for seed; CCV's differ.
    for k in (1, 2):
        assert bids["mine", k] == bids["first_price", k]
        assert bids["ccv", k] != bids["first_price", k]


def test_train_out_records_the_runs(tmp_path: Path, no_reports: None, capsys: pytest.CaptureFixture[str]) -> None:
    from verify.records import check_manifest, read_learning_records

    out = tmp_path / "o"
    assert main(["train", "bandit/0", "--clones", "2,1", "--steps", "64", "--episodes", "4", "--seeds", "2",
                 "--out", str(out), "--no-progress"]) == 0
    assert [r["run"] for r in read_learning_records(out).runs] == ["bandit/0:valuation:ccv:2:64",
                                                                   "bandit/0:valuation:ccv:1:64"]
    assert "runs.jsonl" in check_manifest(out)["files"]
    assert "wrote " in capsys.readouterr().out


def test_reproduce_narrows_the_grid_and_takes_the_seeds(tmp_path: Path, no_reports: None,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_tiny("reproduce", tmp_path), "--mechanism", "ccv,vickrey", "--clones", "2", "--seeds", "3",
                 "--seed", "5", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(r["run"] for r in doc["runs"]) == sorted(
        f"bandit:{learner}:{m}:2:64" for learner in ("valuation", "policy_gradient") for m in ("ccv", "vickrey"))
    assert all(r["seeds"] == [5, 6, 7] for r in doc["runs"])
    assert doc["experiments"] == {"bandit": {"runs": 4, "checkpoints": doc["experiments"]["bandit"]["checkpoints"]}}


def test_solve_out_writes_a_record_and_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from verify.records import check_manifest, read_jsonl

    out = tmp_path / "s"
    assert main(["solve", "chain/0", "--out", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["files"] == [str(out / "solve.jsonl"), str(out / "manifest.json")]
    assert main(["solve", "chain/0", "--out", str(out)]) == 0  # the same task, method and tol: replaced
    assert main(["solve", "duality/0", "--out", str(out)]) == 0
    rows = read_jsonl(out / "solve.jsonl")
    assert [r["task"] for r in rows] == ["chain/0", "duality/0"]
    assert rows[0]["V"][0] == pytest.approx(0.768477, abs=1e-6)  # PAPER.md, "Chain": V*(0) at γ = 0.99
    assert rows[1]["Q"][0] == pytest.approx([-99.0, 50.0], abs=1e-6)  # PAPER.md, "Duality": Q*(0, ·)
    assert check_manifest(out)["files"]["solve.jsonl"]["rows"] == 2


def test_mechanisms_lists_the_named_ones_user_mechanisms_included(
    user_module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mechanisms", "--mechanism", "usermech_flags:MINE,ccv", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["rule"], r["user"]) for r in rows] == [("usermech_flags:MINE", "mine", True),
                                                                 ("ccv", "ccv", False)]
    assert main(["mechanisms", "--mechanism", "bucket_brigade"]) == 0
    assert "(alias of first_price)" in capsys.readouterr().out


# ---------------------------------------------------------------------------- --format json: stdout is one document
def _sweep_config(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sweep.toml").write_text('[sweep]\nkind = "check"\nmechanism = "ccv"\nclones = 2\n'
                                       'claim = "truthful"\nbudget = 2\n')


@pytest.mark.parametrize("command", sorted(VOCABULARY))
def test_format_json_is_one_document_and_nothing_else(
    command: str, user_module: Path, no_reports: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = user_module / "out"
    _sweep_config(out)
    loud = ["--mechanism", "usermech_flags:LOUD", "--clones", "2"] if command in ("check", "train") else []
    assert main([*_tiny(command, out), *loud, "--format", "json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # the whole of standard output is one JSON document
    assert "NaN" not in captured.out
    if loud:  # a user mechanism that prints at import and while pricing: its words go to standard error
        assert "usermech imported" in captured.err
        assert "usermech pricing" in captured.err


def test_the_json_test_would_see_a_stray_print(user_module: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # Planted: without reports.cli's redirection the user module's print lands on standard output.
    import contextlib

    import reports.cli as cli

    monkeypatch.setattr(cli.contextlib, "redirect_stdout", lambda stream: contextlib.nullcontext())
    assert main(["mechanisms", "--mechanism", "usermech_flags:LOUD", "--format", "json"]) == 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------------------- progress bars
class _Terminal(io.StringIO):
    """A standard error that says it is a terminal (tqdm draws on it) and keeps what is drawn."""

    def isatty(self) -> bool:
        return True


ETA = re.compile(r"\d+/\d+ \[\d\d:\d\d<\d\d:\d\d")  # tqdm's "n/total [elapsed<remaining"


@pytest.mark.parametrize("command", ["check", "train", "reproduce", "sweep"])
def test_long_commands_draw_a_bar_with_an_eta_on_a_terminal_only(
    command: str, tmp_path: Path, no_reports: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    _sweep_config(tmp_path / "a")
    _sweep_config(tmp_path / "b")
    argv = [a for a in _tiny(command, tmp_path / "a") if a != "--no-progress"]
    if command == "train":
        argv += ["--steps", "4096"]  # enough rounds for mechanism.train's bar
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([*argv, "--format", "json"]) == 0
    assert ETA.search(terminal.getvalue()), terminal.getvalue()
    json.loads(capsys.readouterr().out)  # the bar never reaches standard output
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main([*_tiny(command, tmp_path / "b"), "--format", "json"]) == 0  # --no-progress
    assert not ETA.search(quiet.getvalue())


STUDY_MODULE = """
import json, pathlib

def run(out, *, seeds=5, seed=0, quick=False, command=None):
    out = pathlib.Path(out)
    rows = [{"seed": s} for s in range(seed, seed + seeds)]
    (out / "fakestudy.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in rows))
    (out / "fakestudy.md").write_text("# fake\\n")
    print("fakestudy says hello")
    return {"headline": f"{len(rows)} seeds", "seeds": [r["seed"] for r in rows]}
"""


def test_reproduce_runs_a_study_with_the_seeds_and_only_the_keywords_it_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import reports.commands.reproduce as reproduce
    from verify.records import check_manifest

    (tmp_path / "fakestudy.py").write_text(STUDY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(reproduce, "STUDIES", {"fakestudy": "fakestudy"})
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = tmp_path / "o"
    # The study takes no `command` and no `progress`: they are not passed (a TypeError otherwise).
    assert main(["reproduce", "fakestudy", "--seeds", "3", "--seed", "5", "--out", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["studies"]["fakestudy"]["seeds"] == [5, 6, 7]
    assert doc["files"] == [str(out / n) for n in ("fakestudy.md", "fakestudy.jsonl", "manifest.json")]
    assert check_manifest(out)["files"]["fakestudy.jsonl"]["rows"] == 3
    assert "fakestudy says hello" in terminal.getvalue()  # the study's print, sent to standard error
    assert ETA.search(terminal.getvalue())  # a bar over the studies
    assert main(["reproduce", "fakestudy", "--out", str(out), "--no-progress"]) == 0  # default: STUDY_SEEDS
    assert "fakestudy: 5 seeds (" in capsys.readouterr().out


# ---------------------------------------------------------------------------- check: one verdict over the seeds
def _row(seed: int, holds: bool, error: str | None = None) -> dict[str, Any]:
    return {"mechanism": "m", "clones": 2, "claim": "truthful", "seed": seed, "holds": holds, "error": error}


def test_merge_seeds_keeps_the_row_that_speaks_for_every_seed() -> None:
    from reports.commands.check import merge_seeds

    assert merge_seeds([_row(5, True), _row(6, False), _row(7, False)]) == [_row(6, False)]  # any counterexample
    assert merge_seeds([_row(5, False), _row(6, True, "E")]) == [_row(6, True, "E")]  # could not run: said first
    assert merge_seeds([_row(5, True), _row(6, True)]) == [_row(5, True)]
    other = {**_row(5, True), "clones": 1}
    assert merge_seeds([_row(5, True), other, _row(6, False)]) == [_row(6, False), other]  # first-seen order


# ---------------------------------------------------------------------------- shell completion
def test_completion_prints_a_script_with_the_shared_flags(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("shtab", reason="shell completion needs the optional package shtab")
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    for flag in SHARED:
        assert flag in script
    assert "_shtab_compgen_dirs" in script  # --out completes folder names
    assert main(["completion", "fish"]) == 2


def test_completion_without_shtab_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "shtab", None)  # import shtab raises ImportError
    assert main(["completion", "zsh"]) == 2
    assert capsys.readouterr().err == "agora completion: error: needs the optional package shtab: pip install shtab\n"
