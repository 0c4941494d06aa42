"""Exact solvers, truthful fixed points, exploitability, claim checks and experiments."""

__all__: list[str] = []
