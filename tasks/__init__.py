"""Finite MDPs as validated arrays: the type, the paper's tasks, random and imported MDPs."""

from tasks.builders import GRID_ACTIONS, Grid, bandit, chain, duality, gridworld
from tasks.generate import random_mdp
from tasks.graph import reachable, to_graph
from tasks.importers import (
    FROZEN_LAKE_MAPS,
    TAXI_MAP,
    from_gymnasium,
    from_mdptoolbox,
    frozen_lake,
    frozen_lake_dict,
    taxi,
    taxi_dict,
    to_gymnasium,
    to_mdptoolbox,
)
from tasks.mdp import ROW_SUM_TOL, FiniteMDP
from tasks.registry import SETTINGS, TASKS, TaskSpec, UnknownTaskError, make
from tasks.transform import rescale_rewards

__all__ = [
    "FROZEN_LAKE_MAPS",
    "GRID_ACTIONS",
    "ROW_SUM_TOL",
    "SETTINGS",
    "TASKS",
    "TAXI_MAP",
    "FiniteMDP",
    "Grid",
    "TaskSpec",
    "UnknownTaskError",
    "bandit",
    "chain",
    "duality",
    "from_gymnasium",
    "from_mdptoolbox",
    "frozen_lake",
    "frozen_lake_dict",
    "gridworld",
    "make",
    "random_mdp",
    "reachable",
    "rescale_rewards",
    "taxi",
    "taxi_dict",
    "to_graph",
    "to_gymnasium",
    "to_mdptoolbox",
]
