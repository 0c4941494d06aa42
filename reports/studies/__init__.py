"""Studies: one module per `agora reproduce` study, each with ``run(out, *, seeds, seed, quick, command) -> dict``."""

from __future__ import annotations

import pathlib
from typing import Any

__all__ = ["study_folder"]


def study_folder(out: Any, seeds: Any, seed: Any) -> pathlib.Path:
    """Check a study's ``seeds`` (an int >= 1) and first ``seed`` (an int >= 0); create and return ``out``."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be an int >= 1; got {seeds!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0; got {seed!r}.")
    path = pathlib.Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return path
