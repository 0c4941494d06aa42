"""Finite MDPs as validated arrays: the type, the paper's tasks, random and imported MDPs."""

from tasks.mdp import ROW_SUM_TOL, FiniteMDP

__all__ = ["ROW_SUM_TOL", "FiniteMDP"]
