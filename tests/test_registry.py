"""The task registry: every id builds, declared metadata matches the MDP, unknown ids are explained."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import tasks
from reports.cli import main
from tasks import SETTINGS, TASKS, FiniteMDP, UnknownTaskError, make

REQUIRED_IDS = [
    "bandit/0",
    "bandit/1",
    "chain/0",
    "chain/1",
    "chain/2",
    "duality/0",
    "gridworld/0",
    "gridworld/1",
    "frozenlake/0",
    "frozenlake/1",
    "taxi/0",
    "random/0",
    "random/1",
]


def test_required_ids_present_and_derived_from_settings():
    assert set(REQUIRED_IDS) <= set(TASKS)
    derived = [f"{family}/{i}" for family, (_, settings) in SETTINGS.items() for i in range(len(settings))]
    assert list(TASKS) == derived


@pytest.mark.parametrize("task_id", list(TASKS))
def test_every_task_builds(task_id):
    mdp = make(task_id)
    assert isinstance(mdp, FiniteMDP)
    assert mdp.name == task_id
    assert mdp.gamma == 0.99
    assert TASKS[task_id].description
    # the contract every consumer relies on: valid start, absorbing zero-reward terminals
    assert mdp.start.sum() == pytest.approx(1.0)
    assert (mdp.start[mdp.terminal] == 0).all()


@pytest.mark.parametrize(
    ("task_id", "S", "A", "limit"),
    [
        ("bandit/0", 2, 4, 1),
        ("bandit/1", 2, 10, 1),
        ("chain/0", 6, 2, 20),
        ("chain/1", 10, 2, 40),
        ("chain/2", 20, 2, 80),
        ("duality/0", 3, 2, 10),
        ("frozenlake/0", 16, 4, 100),
        ("frozenlake/1", 64, 4, 200),
        ("taxi/0", 501, 6, 200),
        ("random/0", 10, 3, None),
        ("random/1", 1000, 4, None),
    ],
)
def test_task_sizes(task_id, S, A, limit):
    mdp = make(task_id)
    assert (mdp.n_states, mdp.n_actions, mdp.time_limit) == (S, A, limit)


def test_random_1_is_sparse_with_8_successors():
    mdp = make("random/1")
    assert mdp.is_sparse
    np.testing.assert_array_equal(np.diff(mdp.kernel.indptr), 8)


def test_make_is_deterministic():
    a, b = make("random/1"), make("random/1")
    np.testing.assert_array_equal(a.kernel.data, b.kernel.data)
    np.testing.assert_array_equal(a.R, b.R)


def test_unknown_id_lists_valid_ids_and_suggests():
    with pytest.raises(KeyError) as info:
        make("chian/0")
    message = str(info.value)
    assert "unknown task 'chian/0'" in message
    assert "Did you mean 'chain/0'" in message
    for task_id in TASKS:
        assert task_id in message
    assert isinstance(info.value, ValueError)  # either except clause catches it
    assert isinstance(info.value, UnknownTaskError)


def test_unknown_id_without_close_match():
    with pytest.raises(ValueError, match=r"unknown task 'zzz'\. Valid ids: bandit/0"):
        make("zzz")


def test_cli_tasks_table(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:5] == ["id", "S", "A", "gamma", "limit"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert set(rows) == set(TASKS)
    assert rows["taxi/0"][1:5] == ["501", "6", "0.99", "200"]
    assert rows["random/0"][4] == "-"


def test_cli_tasks_json(capsys):
    assert main(["tasks", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in rows}
    assert by_id["chain/0"] == {
        "id": "chain/0",
        "S": 6,
        "A": 2,
        "gamma": 0.99,
        "time_limit": 20,
        "description": TASKS["chain/0"].description,
    }


# ------------------------------------------------------------------ listing without building
@pytest.mark.parametrize("task_id", list(TASKS))
def test_declared_shape_is_the_built_mdps(task_id):
    # `agora tasks` prints the declared Shape without building; it must be what make() builds.
    mdp = TASKS[task_id].make()
    assert TASKS[task_id].shape == (mdp.n_states, mdp.n_actions, mdp.gamma, mdp.time_limit)


def test_every_public_name_of_tasks_resolves_lazily():
    code = (
        "import sys, tasks\n"
        "assert 'numpy' not in sys.modules\n"
        "missing = [n for n in tasks.__all__ if getattr(tasks, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert sorted(tasks.__all__) == sorted(tasks._HOMES)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_an_unknown_attribute_of_tasks_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = tasks.nonsense
