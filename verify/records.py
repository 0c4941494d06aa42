"""Tidy records: one row per observation, written as JSON lines and CSV with the run's provenance.

The writer is generic: :func:`write_records` takes any list of dicts or dataclasses (a dataclass
with a ``to_dict`` method uses it) and writes ``<name>.jsonl`` and ``<name>.csv`` side by side;
nested values (lists, dicts: a counterexample, an array) are JSON-encoded in the CSV so every row
stays one line. Every file is written atomically: to a temporary file in the same folder, then
``os.replace`` onto the name, so a reader sees the old file or the new one, never half of one.
CSV text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
first) get a leading ``'`` (OWASP's recipe); numbers are written as they are. A command writes
``manifest.json`` last (:func:`write_manifest`: rows and sha256 of every record file, the command
line, :func:`environment`); :func:`check_manifest` raises :class:`IncompleteRecordsError` for a
folder whose manifest is missing or does not match, the trace of a writer that did not finish.
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
    ``gamma, n_states, n_actions, start_state, reachable, terminal, q_star, v_star`` and the mechanism's
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
    ``bids_start`` (every primitive's mean bid at the start state), to 6 significant digits, and
    for MDPs of up to 64 states ``bids`` (S, A: every primitive's mean bid at every state, None
    where it has no bid). A checkpoint's configuration, versions and command line are those of its
    run row.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
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
    "MANIFEST",
    "RUNS",
    "VERDICTS",
    "IncompleteRecordsError",
    "LearningRecords",
    "atomic_write",
    "atomic_write_bytes",
    "check_manifest",
    "command_line",
    "count_rows",
    "environment",
    "merge_learning_records",
    "read_jsonl",
    "read_learning_records",
    "to_row",
    "verdict_rows",
    "write_csv",
    "write_jsonl",
    "write_learning_records",
    "write_manifest",
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
def _atomic(path: str | Path, mode: str, newline: str | None = None) -> Iterator[IO[Any]]:
    """The body of :func:`atomic_write` and :func:`atomic_write_bytes` (``mode`` "w" or "wb")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: str | Path, newline: str | None = None) -> Iterator[IO[str]]:
    """Open a temporary text file beside ``path``; on success it replaces ``path`` in one step.

    The file is flushed and synced before ``os.replace``, which is atomic on POSIX and Windows
    within one folder; if the body raises, the temporary file is removed and ``path`` is left as
    it was (absent, or the old contents). When ``path`` is a symbolic link, the link itself is
    replaced by the new file: its target is never written.
    """
    with _atomic(path, "w", newline) as fh:
        yield fh


@contextmanager
def atomic_write_bytes(path: str | Path) -> Iterator[IO[bytes]]:
    """:func:`atomic_write` for binary files (figures: ``fig.savefig(fh, format="png")``)."""
    with _atomic(path, "wb") as fh:
        yield fh


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


#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell: nested values JSON-encoded; text a spreadsheet would run as a formula prefixed with ``'``.

    Numbers are never touched (a float -0.5 is written as ``-0.5``): only strings are neutralised,
    the OWASP recipe (prefix a single quote), so ``=HYPERLINK(...)`` is read back as the text ``'=HYPERLINK(...)``.
    """
    if isinstance(value, dict | list | tuple):
        value = json.dumps(value, default=_default, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(path: str | Path, records: Iterable[Any]) -> Path:
    """Write a CSV atomically: the union of the rows' keys as columns (first-seen order), nested values as JSON.

    Text cells (and headers) that a spreadsheet would run as a formula are neutralised (:func:`_cell`).
    """
    rows = [to_row(r) for r in records]
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    path = Path(path)
    with atomic_write(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([_cell(c) for c in columns])
        for row in rows:
            writer.writerow([_cell(row[c]) if c in row else "" for c in columns])
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


# ---------------------------------------------------------------------------- manifest
#: Name of the manifest a command writes last into its folder (:func:`write_manifest`).
MANIFEST = "manifest.json"
_FIX = "rerun the command that wrote this folder, on the same folder (it resumes)"


class IncompleteRecordsError(ValueError):
    """A folder's records do not match its ``manifest.json`` (or it has none): the writer did not finish."""


def count_rows(path: str | Path) -> int:
    """Rows of a record file: CSV records after the header for ``.csv``; non-blank lines for anything else."""
    path = Path(path)
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            return max(sum(1 for rec in csv.reader(fh) if rec) - 1, 0)
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _listed(directory: Path, name: str) -> Path:
    """``directory/name`` for a name a manifest may list: relative, inside ``directory``."""
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"manifest entry {name!r} must be a path relative to the folder, without '..'.")
    if name == MANIFEST:
        raise ValueError(f"{MANIFEST} cannot list itself.")
    return directory / name


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.exists():
        raise IncompleteRecordsError(
            f"{directory} has no {MANIFEST}: the command that wrote it did not finish (the manifest is written "
            f"last) or was an older agora; {_FIX}."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IncompleteRecordsError(f"{path} cannot be read ({err}); {_FIX}.") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise IncompleteRecordsError(f"{path} is not an agora manifest (no 'files' table); {_FIX}.")
    return manifest


def write_manifest(directory: str | Path, names: Sequence[str], *, command: str | None = None) -> Path:
    """Write ``directory/manifest.json`` atomically, after the record files ``names`` are complete.

    Per file: ``rows`` (:func:`count_rows`), ``sha256``, ``bytes`` and ``command`` (the command line
    that wrote it); at the top: ``command`` and :func:`environment`. Entries of an existing manifest
    for other files still present are kept, so commands that share a folder (`agora check`, then
    `agora train --out`) each add theirs. Call it last: a folder whose manifest is missing or does
    not match its files (:func:`check_manifest`) was left by a writer that did not finish.

    Raises
    ------
    ValueError
        When ``names`` is empty, a name leaves the folder, or a file is absent or has no rows.
    """
    directory = Path(directory)
    if isinstance(names, str) or not names:
        raise ValueError(f"names must be a non-empty list of record file names in {directory}; got {names!r}.")
    entries: dict[str, Any] = {}
    for name in names:
        path = _listed(directory, name)
        if not path.is_file():
            raise ValueError(f"cannot list {path} in {MANIFEST}: it does not exist; write the records first.")
        rows = count_rows(path)
        if rows == 0:
            raise ValueError(f"cannot list {path} in {MANIFEST}: it has no rows; a record file holds at least one.")
        entries[name] = {"rows": rows, "sha256": _sha256(path), "bytes": path.stat().st_size, "command": command}
    try:
        old = _read_manifest(directory)["files"]
    except IncompleteRecordsError:
        old = {}
    kept = {k: v for k, v in old.items() if k not in entries and isinstance(k, str) and (directory / k).is_file()}
    manifest = {"manifest_version": 1, "command": command, "environment": environment(), "files": {**kept, **entries}}
    return write_text(directory / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def check_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of ``directory``, after checking every file it lists; raises if the folder is incomplete.

    Raises
    ------
    IncompleteRecordsError
        When ``manifest.json`` is missing or unreadable, or a file it lists is absent, empty, or
        has other rows or another sha256 digest than listed; the message names the file, what was
        expected and what was found, and the command to rerun.
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    for name, entry in manifest["files"].items():
        path = _listed(directory, name)
        fix = f"rerun `{entry.get('command')}` on the same folder (it resumes)" if entry.get("command") else _FIX
        if not path.is_file():
            raise IncompleteRecordsError(
                f"{path} is listed in {MANIFEST} ({entry.get('rows')} rows) but absent; {fix}."
            )
        rows = count_rows(path)
        if rows == 0:
            raise IncompleteRecordsError(
                f"{path} is empty: {MANIFEST} expects {entry.get('rows')} rows, found 0; {fix}."
            )
        digest = _sha256(path)
        if rows != entry.get("rows") or digest != entry.get("sha256"):
            raise IncompleteRecordsError(
                f"{path} does not match {MANIFEST}: expected {entry.get('rows')} rows (sha256 "
                f"{str(entry.get('sha256'))[:12]}…), found {rows} rows (sha256 {digest[:12]}…); the command that "
                f"wrote it did not finish or the file was changed since; {fix}."
            )
    return manifest
