"""Verdict rows over several seeds: the one row that speaks for a society and claim.

`agora check --seeds N` checks every claim under N seeds and records every row; the table, the
report (``agora check``, ``agora report DIR``, ``pytest --agora-report``) show one verdict per
(domain, mechanism, clones, claim). A claim fails when any seed finds a counterexample, so a folder
re-rendered from its records never shows a ✓ that one of its seeds contradicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["merge_seeds"]


def merge_seeds(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One verdict row per (domain, mechanism, clones, claim), first-seen order: the one that speaks for every seed.

    The row kept is the first that could not run, else the first that fails, else the first.
    """
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        key = (r.get("domain", "mdps"), r["mechanism"], int(r["clones"]), r["claim"])
        groups.setdefault(key, []).append(r)

    def rank(r: Mapping[str, Any]) -> int:
        return 0 if r.get("error") is not None else (1 if not r["holds"] else 2)  # rows of old records lack "error"

    return [min(group, key=rank) for group in groups.values()]  # min keeps the first of equal rank
