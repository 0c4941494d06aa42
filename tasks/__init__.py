"""Finite MDPs as validated arrays: the type, the paper's tasks, random and imported MDPs.

Names load on first use (PEP 562), so ``import tasks.registry`` (what `agora tasks` needs) pulls in
neither numpy nor scipy nor networkx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasks.builders import GRID_ACTIONS, Grid, bandit, chain, duality, gridworld
    from tasks.generate import random_mdp
    from tasks.glyphs import frozen_classifier, render_glyphs
    from tasks.graph import reachable, to_graph
    from tasks.importers import (
        FROZEN_LAKE_MAPS,
        TAXI_MAP,
        from_gymnasium,
        from_mdptoolbox,
        from_quantecon,
        frozen_lake,
        frozen_lake_dict,
        taxi,
        taxi_dict,
        to_gymnasium,
        to_mdptoolbox,
    )
    from tasks.mdp import ROW_SUM_TOL, FiniteMDP
    from tasks.options import Option, OptionsMDP, one_step_options, options_mdp
    from tasks.registry import SETTINGS, TASKS, TaskSpec, UnknownTaskError, make
    from tasks.rotation import RotationTask, rotation, rotation_features, rotation_task
    from tasks.tworooms import (
        TWOROOMS_ACTIONS,
        TWOROOMS_OPTIONS,
        TwoRooms,
        tworooms,
        tworooms_geometry,
        tworooms_options,
    )

#: Public name -> the module that defines it.
_HOMES: dict[str, str] = {
    "FROZEN_LAKE_MAPS": "tasks.importers",
    "FiniteMDP": "tasks.mdp",
    "GRID_ACTIONS": "tasks.builders",
    "Grid": "tasks.builders",
    "Option": "tasks.options",
    "OptionsMDP": "tasks.options",
    "ROW_SUM_TOL": "tasks.mdp",
    "RotationTask": "tasks.rotation",
    "SETTINGS": "tasks.registry",
    "TASKS": "tasks.registry",
    "TAXI_MAP": "tasks.importers",
    "TWOROOMS_ACTIONS": "tasks.tworooms",
    "TWOROOMS_OPTIONS": "tasks.tworooms",
    "TaskSpec": "tasks.registry",
    "TwoRooms": "tasks.tworooms",
    "UnknownTaskError": "tasks.registry",
    "bandit": "tasks.builders",
    "chain": "tasks.builders",
    "duality": "tasks.builders",
    "from_gymnasium": "tasks.importers",
    "from_mdptoolbox": "tasks.importers",
    "from_quantecon": "tasks.importers",
    "frozen_classifier": "tasks.glyphs",
    "frozen_lake": "tasks.importers",
    "frozen_lake_dict": "tasks.importers",
    "gridworld": "tasks.builders",
    "make": "tasks.registry",
    "one_step_options": "tasks.options",
    "options_mdp": "tasks.options",
    "random_mdp": "tasks.generate",
    "reachable": "tasks.graph",
    "render_glyphs": "tasks.glyphs",
    "rotation": "tasks.rotation",
    "rotation_features": "tasks.rotation",
    "rotation_task": "tasks.rotation",
    "taxi": "tasks.importers",
    "taxi_dict": "tasks.importers",
    "to_graph": "tasks.graph",
    "to_gymnasium": "tasks.importers",
    "to_mdptoolbox": "tasks.importers",
    "tworooms": "tasks.tworooms",
    "tworooms_geometry": "tasks.tworooms",
    "tworooms_options": "tasks.tworooms",
}

__all__ = [
    "FROZEN_LAKE_MAPS",
    "GRID_ACTIONS",
    "ROW_SUM_TOL",
    "SETTINGS",
    "TASKS",
    "TAXI_MAP",
    "TWOROOMS_ACTIONS",
    "TWOROOMS_OPTIONS",
    "FiniteMDP",
    "Grid",
    "Option",
    "OptionsMDP",
    "RotationTask",
    "TaskSpec",
    "TwoRooms",
    "UnknownTaskError",
    "bandit",
    "chain",
    "duality",
    "from_gymnasium",
    "from_mdptoolbox",
    "from_quantecon",
    "frozen_classifier",
    "frozen_lake",
    "frozen_lake_dict",
    "gridworld",
    "make",
    "one_step_options",
    "options_mdp",
    "random_mdp",
    "reachable",
    "render_glyphs",
    "rotation",
    "rotation_features",
    "rotation_task",
    "taxi",
    "taxi_dict",
    "to_graph",
    "to_gymnasium",
    "to_mdptoolbox",
    "tworooms",
    "tworooms_geometry",
    "tworooms_options",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tasks' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
