"""Tidy records: one row per observation, written as JSON lines and CSV with the run's provenance.

The writer is generic: :func:`write_records` takes any list of dicts or dataclasses (a dataclass
with a ``to_dict`` method uses it) and writes ``<name>.jsonl`` and ``<name>.csv`` side by side;
nested values (lists, dicts: a counterexample, an array) are JSON-encoded in the CSV so every row
stays one line. Every file is written atomically: to a temporary file in the same folder, then
``os.replace`` onto the name, so a reader sees the old file or the new one, never half of one.
:func:`verdict_rows` turns claim verdicts into rows (one per mechanism × clones × claim, each with
its claim's ``title``, the verdict table's column header) with the configuration, seed, budget and
:func:`environment` on every row. Nothing here imports hypothesis.

Learning records (:func:`write_learning_records`, written by `agora train --out` and `agora
reproduce`, rendered by `agora report`) are two tables joined by the run id ``run``:

``runs.jsonl``, one row per run (one :func:`mechanism.train` call, every seed in lockstep):
    ``run`` (id: ``experiment-or-task:learner:mechanism:clones:steps``), ``experiment`` (or None),
    ``studies`` (``"main"``, ``"sample_efficiency"``), ``task`` (the registry id, or the TASK
    given to `agora train`), ``transform`` (``"rescaled[0.1,0.9]"`` or None), the configuration
    (``mechanism, clones, learner, steps, seeds, episodes, time_limit, hp_*``), ``command`` (the
    command line that reproduces it), the versions and timestamp (:func:`environment`), the task's
    ``gamma, n_states, n_actions, start_state, reachable, q_star, v_star`` and the mechanism's
    truthful ``fixed_point`` (S, A) or None; the measurement: ``epsilons``, ``resolution`` (env
    steps per seed between two measurements of the error), ``exact`` (measured after every learner
    update, so ``resolution`` is one update: the exact step), ``steps_to`` (ε as text → one entry
    per seed: env steps or None for "never within the run"), ``steps_to_optimal`` (the same for the
    optimal primitive's bid alone), ``budget`` (the requested steps); per seed: ``final_max_error``,
    ``final_mean_error``, ``final_max_error_optimal``, ``final_max_error_fixed_point`` (None when
    there is no fixed point), ``final_value``, ``final_regret``, ``final_spread_clones``,
    ``final_policy`` (N, S), ``final_bids`` (N, S, A: every primitive's mean bid); the run's
    ``final_spread_seeds``; win rates from an evaluation rollout on the final mean bids:
    ``win_rate`` (S, A: the share of auctions at s won by primitive i, averaged over the seeds
    that visit s; None where no seed does), ``win_visits`` (S,) and ``optimal_win_share`` (per
    seed: the share of all auctions won by an optimal primitive).
``checkpoints.jsonl`` (and ``.csv``), one row per (run, seed, recorded checkpoint):
    ``run, seed, checkpoint`` (0..K−1), ``env_steps``, ``max_error, mean_error,
    max_error_optimal, max_error_fixed_point`` (None when there is none), ``max_spread_clones``,
    ``value`` (start·V^π of the greedy policy; the regret is the run's ``v_star`` − value) and
    ``bids_start`` (every primitive's mean bid at the start state), to 6 significant digits. A
    checkpoint's configuration, versions and command line are those of its run row.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import platform
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, NamedTuple

from verify.verdicts import Verdict

__all__ = [
    "CHECKPOINTS",
    "RUNS",
    "VERDICTS",
    "LearningRecords",
    "atomic_write",
    "command_line",
    "environment",
    "merge_learning_records",
    "read_jsonl",
    "read_learning_records",
    "to_row",
    "verdict_rows",
    "write_csv",
    "write_jsonl",
    "write_learning_records",
    "write_records",
    "write_text",
]

#: Base name of the verdict records (``verdicts.jsonl``, ``verdicts.csv``).
VERDICTS = "verdicts"
#: Base name of the learning runs table (``runs.jsonl``): one row per training run.
RUNS = "runs"
#: Base name of the learning checkpoints table (``checkpoints.jsonl``, ``.csv``): one row per (run, seed, checkpoint).
CHECKPOINTS = "checkpoints"


class LearningRecords(NamedTuple):
    """The two learning tables (see the module docstring), joined by ``run``."""

    runs: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]


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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | Path, newline: str | None = None) -> Iterator[IO[str]]:
    """Open a temporary text file beside ``path``; on success it replaces ``path`` in one step.

    The file is flushed and synced before ``os.replace``, which is atomic on POSIX and Windows
    within one folder; if the body raises, the temporary file is removed and ``path`` is left as
    it was (absent, or the old contents).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`); returns the path."""
    with atomic_write(path) as fh:
        fh.write(text)
    return Path(path)


def write_jsonl(path: str | Path, records: Iterable[Any]) -> Path:
    """Write one JSON object per line, atomically (:func:`atomic_write`); returns the path."""
    path = Path(path)
    with atomic_write(path) as fh:
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
    """Write a CSV atomically: the union of the rows' keys as columns (first-seen order), nested values as JSON."""
    rows = [to_row(r) for r in records]
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    path = Path(path)
    with atomic_write(path, newline="") as fh:
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


def merge_learning_records(old: LearningRecords, new: LearningRecords) -> LearningRecords:
    """``old`` with every run of ``new`` added; a run of ``old`` with the same id (and its checkpoints) is replaced."""
    replaced = {r["run"] for r in new.runs}
    runs = [r for r in old.runs if r["run"] not in replaced] + list(new.runs)
    kept = {r["run"] for r in runs} - replaced
    checkpoints = [c for c in old.checkpoints if c["run"] in kept] + list(new.checkpoints)
    return LearningRecords(runs, checkpoints)


def write_learning_records(directory: str | Path, records: LearningRecords, merge: bool = True) -> list[Path]:
    """Write ``runs.jsonl``, ``checkpoints.jsonl`` and ``checkpoints.csv`` into ``directory``; returns the paths.

    With ``merge`` the runs already in the folder are kept, except those with an id in ``records``
    (replaced). Each file is atomic; the checkpoints are written before the runs table, which is
    the index a reader starts from (a checkpoint row without its run row is ignored).
    """
    directory = Path(directory)
    if merge and (directory / f"{RUNS}.jsonl").exists():
        records = merge_learning_records(read_learning_records(directory), records)
    return [
        write_jsonl(directory / f"{CHECKPOINTS}.jsonl", records.checkpoints),
        write_csv(directory / f"{CHECKPOINTS}.csv", records.checkpoints),
        write_jsonl(directory / f"{RUNS}.jsonl", records.runs),
    ]


def read_learning_records(directory: str | Path) -> LearningRecords:
    """Read the tables written by :func:`write_learning_records` (checkpoints of unknown runs dropped)."""
    directory = Path(directory)
    runs = read_jsonl(directory / f"{RUNS}.jsonl")
    ids = {r["run"] for r in runs}
    path = directory / f"{CHECKPOINTS}.jsonl"
    checkpoints = [c for c in read_jsonl(path) if c["run"] in ids] if path.exists() else []
    return LearningRecords(runs, checkpoints)


def command_line(program: str, positional: Sequence[Any], options: Mapping[str, Any]) -> str:
    """A command line that repeats a run: ``program`` and its arguments, every option spelled out.

    ``options`` maps flag names (without dashes, ``_`` for ``-``) to values: True is a bare flag,
    False and None are left out, a list or tuple is joined by commas.
    """
    import shlex

    parts = [program, *map(str, positional)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(flag)
        else:
            parts += [flag, ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)]
    return " ".join(shlex.quote(p) for p in parts)
