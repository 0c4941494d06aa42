"""The task registry, bsuite style: each builder with its SETTINGS; ids ``"family/i"``.

Everything is derived from :data:`SETTINGS`, one place: ``TASKS["chain/0"]`` is the first setting
of the chain family, and the first setting of every family is its quick case (the one CI runs).

Listing the registry costs nothing: builders are named ``"module:function"`` and imported when a
task is made, and each setting declares its ``(S, A, gamma, time_limit)`` (a test checks every
declaration against the built MDP), so `agora tasks` needs neither numpy nor scipy.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from tasks.mdp import FiniteMDP

__all__ = ["SETTINGS", "TASKS", "Shape", "TaskSpec", "UnknownTaskError", "make"]

#: A 4x4 room with one inner wall; the goal pays 1.
GRID_4X4 = ("S...", ".##.", "...#", "#..G")
#: Two 5x5-ish rooms joined by a door; the base of the options tasks.
GRID_TWO_ROOMS = ("S.#..", "..#..", ".....", "..#..", "..#.G")


class Shape(NamedTuple):
    """What `agora tasks` lists of a task without building it: ``(S, A, gamma, time_limit)``."""

    n_states: int
    n_actions: int
    gamma: float
    time_limit: int | None


@dataclass(frozen=True)
class TaskSpec:
    """One registered task: ``builder(**kwargs)`` with a one-line description and its declared shape.

    ``builder_path`` is ``"module:function"``; the module is imported by :attr:`builder` on first use.
    """

    id: str
    builder_path: str
    kwargs: Mapping[str, Any]
    description: str
    shape: Shape

    @property
    def builder(self) -> Callable[..., FiniteMDP]:
        """The builder function, imported on first use."""
        module, name = self.builder_path.split(":")
        return getattr(importlib.import_module(module), name)

    def make(self) -> FiniteMDP:
        """Build the MDP, named after the task id."""
        return dataclasses.replace(self.builder(**self.kwargs), name=self.id)


#: family -> ("module:builder", ((kwargs, description, Shape), ...)); the first setting is the quick case.
SETTINGS: Mapping[str, tuple[str, tuple[tuple[dict[str, Any], str, Shape], ...]]] = MappingProxyType(
    {
        "bandit": (
            "tasks.builders:bandit",
            (
                ({"k": 4}, "one state, 4 arms paying 0.2, 0.4, 0.6, 0.8 (the paper's bandit)", Shape(2, 4, 0.99, 1)),
                ({"k": 10}, "one state, 10 arms paying 1/11 .. 10/11", Shape(2, 10, 0.99, 1)),
            ),
        ),
        "chain": (
            "tasks.builders:chain",
            (
                (
                    {"n": 6},
                    "6-state chain, 0.8 on reaching the terminal right end (the paper's chain)",
                    Shape(6, 2, 0.99, 20),
                ),
                ({"n": 10, "time_limit": 40}, "10-state chain, 0.8 at the right end", Shape(10, 2, 0.99, 40)),
                ({"n": 20, "time_limit": 80}, "20-state chain, 0.8 at the right end", Shape(20, 2, 0.99, 80)),
            ),
        ),
        "duality": (
            "tasks.builders:duality",
            (
                (
                    {},
                    "alternate 0 <-> 1 and avoid the absorbing -1 state (the paper's duality task)",
                    Shape(3, 2, 0.99, 10),
                ),
            ),
        ),
        "gridworld": (
            "tasks.builders:gridworld",
            (
                (
                    {"layout": GRID_4X4, "time_limit": 50},
                    "4x4 grid, deterministic moves, goal pays 1",
                    Shape(12, 4, 0.99, 50),
                ),
                (
                    {"layout": GRID_TWO_ROOMS, "slip": 0.2, "step_reward": -0.01, "time_limit": 100},
                    "two rooms joined by a gap, slip 0.2, step -0.01, goal pays 1",
                    Shape(21, 4, 0.99, 100),
                ),
            ),
        ),
        "frozenlake": (
            "tasks.importers:frozen_lake",
            (
                ({"map_name": "4x4"}, "gymnasium FrozenLake-v1 4x4, slippery", Shape(16, 4, 0.99, 100)),
                ({"map_name": "8x8"}, "gymnasium FrozenLake-v1 8x8, slippery", Shape(64, 4, 0.99, 200)),
            ),
        ),
        "taxi": (
            "tasks.importers:taxi",
            (
                (
                    {},
                    "gymnasium Taxi-v3/v4 (one table): 500 states plus the terminal, 6 actions",
                    Shape(501, 6, 0.99, 200),
                ),
            ),
        ),
        "random": (
            "tasks.generate:random_mdp",
            (
                (
                    {"n_states": 10, "n_actions": 3, "seed": 0},
                    "dense random MDP, 10 states x 3 actions, seed 0",
                    Shape(10, 3, 0.99, None),
                ),
                (
                    {"n_states": 1000, "n_actions": 4, "successors": 8, "sparse": True, "seed": 0},
                    "sparse random MDP, 1000 states x 4 actions, 8 successors, seed 0",
                    Shape(1000, 4, 0.99, None),
                ),
            ),
        ),
        "rotation": (
            "tasks.rotation:rotation",
            (
                ({"n_images": 20}, "MentalRotation: 20 procedural glyphs rotated ±60° and shifted 3 px; 6 affine "
                 "primitives, 2 steps, reward 1 when a frozen classifier is right", Shape(141, 6, 0.99, None)),
                ({"n_images": 100}, "MentalRotation with 100 glyphs (the rotation study's training set)",
                 Shape(701, 6, 0.99, None)),
            ),
        ),
        "tworooms": (
            "tasks.tworooms:tworooms",
            (
                ({"goal": "green", "size": 3}, "TwoRooms 3x3 rooms, a door to open; the green goal pays 1",
                 Shape(28, 5, 0.99, 30)),
                ({"goal": "green", "size": 5}, "TwoRooms 5x5 rooms: the pretraining task, green pays 1",
                 Shape(76, 5, 0.99, 50)),
                ({"goal": "blue", "size": 5}, "TwoRooms 5x5 rooms: the transfer task, blue behind the door pays 1",
                 Shape(76, 5, 0.99, 50)),
            ),
        ),
    }
)

#: Every registered task by id, e.g. ``TASKS["chain/0"]``.
TASKS: dict[str, TaskSpec] = {
    f"{family}/{i}": TaskSpec(f"{family}/{i}", builder, kwargs, description, shape)
    for family, (builder, settings) in SETTINGS.items()
    for i, (kwargs, description, shape) in enumerate(settings)
}


class UnknownTaskError(KeyError, ValueError):
    """An id that is not in :data:`TASKS`; the message lists the valid ids."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def make(task_id: str) -> FiniteMDP:
    """Build the registered task ``task_id`` (e.g. ``"chain/0"``); ``mdp.name == task_id``.

    Raises
    ------
    UnknownTaskError
        (a ``KeyError`` and a ``ValueError``) for an unknown id, listing close matches and every valid id.
    """
    spec = TASKS.get(task_id) if isinstance(task_id, str) else None
    if spec is None:
        close = difflib.get_close_matches(str(task_id), TASKS, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownTaskError(f"unknown task {task_id!r}.{hint} Valid ids: {', '.join(TASKS)}.")
    return spec.make()
