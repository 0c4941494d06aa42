"""verify.testing: assert_claim's messages, the strategies for users' tests, and the pytest plugin on a user project.

The plugin runs in a fresh pytest (``pytester.runpytest_subprocess``) on a small user project: one
file without a conftest, with a claim that holds, one that fails, a ``@given`` test on Agora's
strategies that passes and one that fails; ``--agora-report DIR`` must write the verdicts, the
report and the property-test records, with the user's own hypothesis profile in force.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.statistics import collector

import agora.pytest_plugin
import mechanism
import verify
import verify.strategies
import verify.testing
from tests.planted import NAN_PRICE
from verify.records import check_manifest, read_jsonl
from verify.testing import (
    AgoraCheckError,
    ClaimFailedError,
    assert_claim,
    describe_verdict,
    recording,
    summarise_statistics,
    write_pytest_report,
)
from verify.verdicts import Counterexample, Verdict, format_counterexample

pytest_plugins = ["pytester"]

#: The user's test file: no conftest, its own hypothesis profile (7 examples, derandomised).
USER_TESTS = '''
from hypothesis import given, settings
from verify.testing import assert_claim, finite_mdps

settings.register_profile("user", max_examples=7, derandomize=True, database=None)
settings.load_profile("user")


def test_ccv_cloned_is_a_myopic_equilibrium():
    assert_claim("ccv", "q_star_equilibrium", clones=[2], budget=10)


def test_env_reward_is_not():
    assert_claim("env_reward", "q_star_equilibrium", clones=[2], budget=10)


@given(finite_mdps(dense=None))
def test_rewards_lie_on_the_grid(mdp):
    assert abs(mdp.R).max() <= 1.0


@given(finite_mdps(dense=None))
def test_one_state_only(mdp):
    assert mdp.n_states < 2
'''


# ---------------------------------------------------------------------------------------------- assert_claim
def test_a_claim_that_holds_returns_its_verdicts_and_records_them() -> None:
    with recording() as seen:
        verdicts = assert_claim("ccv", "truthful", clones=(1, 2), budget=5)
    assert [(v.clones, v.holds) for v in verdicts] == [(1, True), (2, True)]
    assert seen == verdicts
    assert verify.testing._RECORDERS == []  # the block's recorder is gone


def test_a_failing_claim_raises_the_whole_counterexample() -> None:
    with recording() as seen, pytest.raises(ClaimFailedError) as info:
        assert_claim("env_reward", "q_star_equilibrium", clones=[2], budget=10)
    (v,) = info.value.verdicts
    assert seen == [v]
    assert isinstance(info.value, AssertionError)
    text = str(info.value)
    assert v.counterexample is not None
    assert format_counterexample(v.counterexample.to_dict()) in text  # every line of it, nothing cut
    assert "..." not in text
    assert f"searched: {v.searched}" in text
    assert f"battery: {v.notes}" in text
    assert "replay: verify.check('env_reward', clones=[2], claims=['q_star_equilibrium'], budget=10, seed=0)" in text
    assert text == describe_verdict(v)


def test_a_check_that_cannot_run_is_no_assertion_error() -> None:
    # Planted: a mechanism whose price is NaN; its verdicts are errors, which must never read as "holds"
    # nor be taken by pytest.raises(AssertionError) for an expected failure.
    with pytest.raises(AgoraCheckError) as info:
        assert_claim(NAN_PRICE, "truthful", clones=[1], budget=5)
    assert not isinstance(info.value, AssertionError)
    (v,) = info.value.verdicts
    assert not v.ran
    assert "could not be checked" in str(info.value)
    assert "MechanismError" in str(info.value)


def test_assert_claim_refuses_bad_arguments() -> None:
    with pytest.raises(TypeError, match="one claim name"):
        assert_claim("ccv", ["truthful"], budget=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown claim"):
        assert_claim("ccv", "truthfull", budget=5)
    with pytest.raises(ValueError, match="unknown mechanism"):
        assert_claim("cvv", "truthful", budget=5)
    with pytest.raises(ValueError, match=r"cannot import module 'no_such_module_xyz'"):
        assert_claim("no_such_module_xyz:THING", "truthful", budget=5)
    assert [v.holds for v in assert_claim("tests.planted:ROUNDED", "conserves_credit", clones=[2], budget=3)] == [True]


def test_verify_testing_imports_without_pytest() -> None:
    # A user without pytest (the wheel's dependencies) can still call assert_claim; the hooks stay plain methods.
    code = (
        "import sys\n"
        "for m in ('pytest', '_pytest', 'pluggy'): sys.modules[m] = None\n"
        "import verify.testing as t\n"
        "assert [v.holds for v in t.assert_claim('ccv', 'truthful', clones=[2], budget=3)] == [True]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# ---------------------------------------------------------------------------------------------- strategies
def test_the_strategies_are_agoras_own() -> None:
    for name in ("finite_mdps", "options_mdps", "bid_profiles", "valuations", "one_auctions"):
        assert getattr(verify.testing, name) is getattr(verify.strategies, name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = verify.testing.nope  # type: ignore[attr-defined]


@settings(max_examples=10)
@given(verify.testing.mechanisms())
def test_mechanisms_draws_the_built_ins(m: mechanism.Mechanism) -> None:
    assert m.name in mechanism.BUILTINS
    assert mechanism.MECHANISMS[m.name] is m


def test_statistics_are_summarised_from_hypothesis_own_numbers() -> None:
    got: list[dict[str, Any]] = []

    @settings(max_examples=9, database=None, derandomize=True)
    @given(verify.testing.valuations(3))
    def inner(v: np.ndarray) -> None:
        assert v.shape == (3,)

    with collector.with_value(got.append):
        inner()
    s = summarise_statistics(got[0])
    assert (s["generated"], s["passing"], s["failing"], s["invalid"]) == (9, 9, 0, 0)
    assert s["stopped_because"] == "settings.max_examples=9"
    assert "9 passing" in s["statistics"]  # "9 passing examples" or "9 passing, 0 failing, ..." (newer hypothesis)


# ---------------------------------------------------------------------------------------------- the plugin
def _failure_section(stdout: str, test: str) -> str:
    """The FAILURES section of one test in pytest's output."""
    match = re.search(rf"_{{3,}} {test} _{{3,}}\n(.*?)(?=\n_{{3,}} |\n={{3,}} )", stdout, flags=re.S)
    assert match, f"no failure section for {test}"
    return match.group(1)


def test_a_user_project_gets_a_report(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    report = pytester.path / "agora-out"
    result = pytester.runpytest_subprocess(
        "--agora-report", str(report), "-p", "no:cacheprovider", "--hypothesis-show-statistics",
        "-W", "ignore::DeprecationWarning",
    )
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert "Hypothesis Statistics" in out  # hypothesis's own option still works beside the plugin

    # The failing claim's message is its whole counterexample, every line, nothing cut.
    rows = read_jsonl(report / "verdicts.jsonl")
    by_test = {r["test"].split("::")[-1]: r for r in rows}
    assert set(by_test) == {"test_ccv_cloned_is_a_myopic_equilibrium", "test_env_reward_is_not"}
    assert by_test["test_ccv_cloned_is_a_myopic_equilibrium"]["holds"] is True
    failed = by_test["test_env_reward_is_not"]
    assert (failed["holds"], failed["mechanism"], failed["clones"]) == (False, "env_reward", 2)
    section = _failure_section(out, "test_env_reward_is_not")
    assert "ClaimFailedError: Claim 'q_star_equilibrium'" in section
    assert "..." not in section
    for line in format_counterexample(failed["counterexample"]).splitlines():
        assert line.strip() in section
    assert "MDP: S=" in section
    assert "bids[s, m]" in section

    # The records replay: the counterexample from the row still has the recorded exploitability.
    cx = Counterexample.from_row(failed)
    assert cx.mdp is not None
    assert cx.bids is not None
    gain = verify.exploitability(cx.mdp, cx.bids, mechanism.MECHANISMS["env_reward"], 2).value
    assert gain == cx.numbers["gain"] > 0
    assert Verdict.from_dict(failed).holds is False

    # The report, and the property tests with the user's profile (7 examples) in force.
    assert "✗" in (report / "report.md").read_text(encoding="utf-8")
    assert (report / "report.html").is_file()
    props = {r["test"].split("::")[-1]: r for r in read_jsonl(report / "property_tests.jsonl")}
    assert set(props) == {"test_rewards_lie_on_the_grid", "test_one_state_only"}
    ok, bad = props["test_rewards_lie_on_the_grid"], props["test_one_state_only"]
    assert (ok["outcome"], ok["profile"], ok["max_examples"], ok["generated"], ok["passing"]) == (
        "passed", "user", 7, 7, 7)
    assert ok["stopped_because"] == "settings.max_examples=7"
    assert bad["outcome"] == "failed"
    assert bad["failing"] >= 1
    # hypothesis < 6.16x says "Falsifying example:", newer ones "Failing test case:"
    assert bad["falsifying_example"].startswith(("Falsifying example: test_one_state_only(",
                                                 "Failing test case: test_one_state_only("))
    assert "mdp=" in bad["falsifying_example"]
    assert bad["error"].startswith("AssertionError")
    text = (report / f"{verify.testing.PROPERTY_TESTS}.md").read_text(encoding="utf-8")
    assert "test_user.py::test_one_state_only | failed" in text
    assert "Shrunk falsifying example" in text
    # The same report as `agora check`, with the property tests as a section of it (both renderings).
    for name in ("report.md", "report.html"):
        page = (report / name).read_text(encoding="utf-8")
        assert "Property tests" in page
        assert "test_user.py::test_one_state_only" in page
        assert "settings.max_examples=7" in page
        assert "test_one_state_only(" in page  # the shrunk falsifying example
    manifest = check_manifest(report)  # whole and consistent: `agora report` and `agora show` read it
    assert set(manifest["files"]) == {"verdicts.jsonl", "verdicts.csv", "property_tests.jsonl"}
    assert manifest["command"].startswith("pytest ")
    assert f"wrote {report / 'manifest.json'}" in out or "wrote agora-out/manifest.json" in out

    # `agora show` replays the folder the plugin wrote.
    from reports import cli

    if "reports.commands.show" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "reports.commands.show"))
    capsys.readouterr()
    assert cli.main(["show", str(report)]) == 0
    shown = capsys.readouterr().out
    assert "== env_reward x2: q_star_equilibrium (test test_user.py::test_env_reward_is_not) ==" in shown
    assert format_counterexample(failed["counterexample"]) in shown


def test_without_the_option_the_plugin_does_nothing(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure()
    assert config.pluginmanager.get_plugin("agora") is agora.pytest_plugin, "the pytest11 entry point is not installed"
    assert config.pluginmanager.get_plugin("agora-report") is None  # no hooks run per test
    pytester.makepyfile(test_small='''
from hypothesis import given, settings
from verify.testing import valuations

@settings(max_examples=3)
@given(valuations(2))
def test_two(v):
    assert v.shape == (2,)
''')
    before = sorted(p.name for p in pytester.path.iterdir())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "Agora report" not in result.stdout.str()
    assert sorted(p.name for p in pytester.path.iterdir() if p.name != ".hypothesis") == before


def test_without_the_option_pytest_does_not_import_verify(pytester: pytest.Pytester) -> None:
    # The entry point is loaded by every pytest run of every project: it must cost nothing there.
    pytester.makepyfile(test_probe='''
import sys

def test_probe():
    assert "verify" not in sys.modules and "numpy" not in sys.modules
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)


def test_with_the_option_the_reporter_is_registered(pytester: pytest.Pytester, tmp_path: Path) -> None:
    config = pytester.parseconfigure("--agora-report", str(tmp_path / "r"))
    reporter = config.pluginmanager.get_plugin("agora-report")
    assert reporter is not None
    assert reporter.keep in verify.testing._RECORDERS
    config._ensure_unconfigure()
    assert reporter.keep not in verify.testing._RECORDERS  # gone with its session
    (tmp_path / "file").write_text("x")
    with pytest.raises(pytest.UsageError, match=r"--agora-report '.*file': the path is a file"):
        pytester.parseconfigure("--agora-report", str(tmp_path / "file"))


def test_a_folder_the_plugin_wrote_never_mixes_two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def render(directory: Path, rows: Any) -> tuple[Path, ...]:  # the renderer's files, without its drawing time
        (Path(directory) / "report.md").write_text("report")
        (Path(directory) / "figure-a.svg").write_text("<svg/>")
        return Path(directory) / "report.md", Path(directory) / "figure-a.svg"

    monkeypatch.setattr("reports.markdown.write_verdict_report", render)
    v = Verdict("truthful", "ccv", 2, True, None, 5, title="truthful bid is dominant (one auction)")
    first = write_pytest_report(tmp_path, [("t.py::a", v)], [{"test": "t.py::b", "outcome": "passed"}], "pytest x")
    assert {p.name for p in first} == {"verdicts.jsonl", "verdicts.csv", "report.md", "figure-a.svg",
                                       "property_tests.jsonl", "property_tests.md", "manifest.json"}
    (tmp_path / "notes.txt").write_text("the user's")
    write_pytest_report(tmp_path, [], [{"test": "t.py::b", "outcome": "passed"}], "pytest y")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"property_tests.jsonl", "property_tests.md", "manifest.json", ".agora-pytest.json", "notes.txt"}
    assert set(check_manifest(tmp_path)["files"]) == {"property_tests.jsonl"}
    # A folder another command wrote keeps its files: only what the plugin itself wrote is ever removed.
    other = tmp_path / "other"
    other.mkdir()
    (other / "report.md").write_text("mine")
    write_pytest_report(other, [], [{"test": "t.py::b", "outcome": "passed"}], "pytest z")
    assert (other / "report.md").read_text() == "mine"
