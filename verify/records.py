"""Tidy records: one row per observation, written as JSON lines and CSV with the run's provenance.

The writer is generic: :func:`write_records` takes any list of dicts or dataclasses (a dataclass
with a ``to_dict`` method uses it) and writes ``<name>.jsonl`` and ``<name>.csv`` side by side;
nested values (lists, dicts: a counterexample, an array) are JSON-encoded in the CSV so every row
stays one line. :func:`verdict_rows` turns claim verdicts into rows (one per mechanism × clones ×
claim, each with its claim's ``title``, the verdict table's column header) with the configuration,
seed, budget and :func:`environment` on every row. Nothing here imports hypothesis.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import platform
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from verify.verdicts import Verdict

__all__ = [
    "VERDICTS",
    "environment",
    "read_jsonl",
    "to_row",
    "verdict_rows",
    "write_csv",
    "write_jsonl",
    "write_records",
]

#: Base name of the verdict records (``verdicts.jsonl``, ``verdicts.csv``).
VERDICTS = "verdicts"


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def environment() -> dict[str, str]:
    """Provenance for every row: agora, numpy, scipy and hypothesis versions, Python, and a UTC timestamp."""
    return {
        "agora_version": _version("agora-rl"),
        "numpy_version": _version("numpy"),
        "scipy_version": _version("scipy"),
        "hypothesis_version": _version("hypothesis"),
        "python_version": platform.python_version(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def to_row(record: Any) -> dict[str, Any]:
    """A record as a flat-ish dict: a mapping as is, a dataclass through ``to_dict`` or its fields."""
    if isinstance(record, Mapping):
        return dict(record)
    to_dict = getattr(record, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    if hasattr(record, "_asdict"):
        return dict(record._asdict())
    raise TypeError(f"a record must be a dict, a dataclass or a NamedTuple; got {type(record).__name__}.")


def _default(x: Any) -> Any:
    """JSON for numpy scalars and arrays (without importing numpy here)."""
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def write_jsonl(path: str | Path, records: Iterable[Any]) -> Path:
    """Write one JSON object per line; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(to_row(rec), default=_default, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read the rows written by :func:`write_jsonl`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no records at {path}; run the command that writes them first.")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_csv(path: str | Path, records: Iterable[Any]) -> Path:
    """Write a CSV with the union of the rows' keys as columns (first-seen order); nested values as JSON."""
    rows = [to_row(r) for r in records]
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v, default=_default, ensure_ascii=False) if isinstance(v, dict | list | tuple) else v
                    for k, v in row.items()
                }
            )
    return path


def write_records(directory: str | Path, name: str, records: Sequence[Any]) -> tuple[Path, Path]:
    """Write ``directory/name.jsonl`` and ``directory/name.csv``; returns both paths."""
    directory = Path(directory)
    rows = [to_row(r) for r in records]
    return write_jsonl(directory / f"{name}.jsonl", rows), write_csv(directory / f"{name}.csv", rows)


def verdict_rows(verdicts: Sequence[Verdict], config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One tidy row per verdict: its fields (its claim's ``title`` too), then ``config`` and :func:`environment`."""
    env = environment()
    return [{**v.to_dict(), **(dict(config) if config else {}), **env} for v in verdicts]
