"""The sweep runner: cells (:mod:`verify.jobs`) on one core, every local core, a Dask or a Ray cluster.

:func:`sweep` runs every cell that has no valid record in ``out/cells/`` yet and writes each record
as it arrives, atomically (``cells/<key>.json`` through :func:`verify.records.write_text`: a
temporary file, then ``os.replace``), so a SIGKILL at any moment loses at most the cells that were
running, and a rerun of the same cells on the same folder runs only the missing ones. When every
cell has its record, the kind's tables are written from the records in cell order (``verdicts``,
or ``runs`` and ``checkpoints``), then the caller's ``render`` (reports), then
:func:`verify.records.write_manifest`, last. One run at a time per folder: an exclusive lock on
``out/.lock`` (``fcntl.flock``, non-blocking), and a second run is refused with the PID that holds it.

Backends (:data:`BACKENDS`); records are the same on every one (:func:`verify.jobs.run_cell` is pure):

``serial``
    In this process, in order.
``loky``
    ``jobs`` worker processes through joblib, results as they complete, BLAS pinned to one thread
    per worker (``inner_max_num_threads=1``: loky sets ``OMP_NUM_THREADS`` and the BLAS variables);
    idle workers exit after :data:`LOKY_IDLE` seconds.
``dask``
    ``distributed``: the scheduler at ``scheduler`` (or ``$DASK_SCHEDULER_ADDRESS``), else a
    ``LocalCluster`` of ``jobs`` single-threaded worker processes (its nannies set the BLAS
    variables to 1). Futures are collected with ``as_completed``.
``ray``
    ``ray.init(address=scheduler)`` (or ``$RAY_ADDRESS``), else a local instance with ``jobs`` CPUs;
    one CPU per task (Ray then sets ``OMP_NUM_THREADS=1``, which OpenBLAS and MKL follow unless
    their own variable is set), collected with ``ray.wait``.

On a cluster every worker needs the same agora-rl installed (and any user mechanism importable).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from verify.jobs import Cell, CellRecord, Outcome, attempt

__all__ = ["BACKENDS", "CELLS", "LOCK", "FolderInUseError", "SweepResult", "sweep"]

#: Subfolder of the cell records.
CELLS = "cells"
#: The lock file of a sweep folder.
LOCK = ".lock"
#: Seconds an idle loky worker waits for a cell before it exits.
LOKY_IDLE = 10


class FolderInUseError(ValueError):
    """Another run holds the folder's lock (a ValueError: the CLI prints it as one line and exits 2)."""


@dataclass(frozen=True)
class SweepResult:
    """What a sweep left: every cell's record (None for a failed cell) and the files written."""

    cells: tuple[Cell, ...]
    records: tuple[CellRecord | None, ...]  #: in cell order
    failed: tuple[tuple[Cell, str], ...]  #: cells whose job raised, with the traceback; no record was written
    ran: int  #: cells run now (the rest were found finished)
    paths: tuple[Path, ...]  #: tables, rendered files and manifest; empty when a cell failed

    @property
    def complete(self) -> bool:
        """Every cell has its record, and the tables and the manifest were written."""
        return not self.failed


# ---------------------------------------------------------------------------- the folder
@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out/.lock`` for the body; refuse at once if another process holds it."""
    import fcntl

    fh: IO[str] = open(out / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 (held across the yield)
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "unknown"
            raise FolderInUseError(
                f"{out} is being written by another agora run (PID {pid}); wait for it to finish, or pass another "
                "--out folder (two runs on one folder would mix their records)."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()  # closing the file releases the lock


def _clean(out: Path) -> None:
    """Remove the temporary files a killed writer left (we hold the lock: no writer of this folder is live).

    Only the names :func:`verify.records.atomic_write` gives the temporary files of cell records
    and of the tables and manifest a sweep writes; nothing else in ``out`` is touched.
    """
    from verify.records import CHECKPOINTS, MANIFEST, RUNS, VERDICTS

    patterns = [f"{CELLS}/.*.json.*.tmp", f".{MANIFEST}.*.tmp"]
    patterns += [f".{name}.{ext}.*.tmp" for name in (VERDICTS, RUNS, CHECKPOINTS) for ext in ("jsonl", "csv")]
    for pattern in patterns:
        for tmp in out.glob(pattern):
            tmp.unlink(missing_ok=True)


def _finished(cells: Sequence[Cell], folder: Path) -> dict[str, CellRecord]:
    """The valid records already in ``folder``, by key (a file that is not the cell's record is ignored)."""
    done = {}
    for cell in cells:
        path = folder / f"{cell.key}.json"
        if path.is_file():
            rec = CellRecord.read(path.read_text(encoding="utf-8"), cell)
            if rec is not None:
                done[cell.key] = rec
    return done


# ---------------------------------------------------------------------------- backends
Backend = Callable[[Sequence[Cell], int, "str | None", "str | None"], Iterator[Outcome]]


def _serial(cells: Sequence[Cell], jobs: int, command: str | None, scheduler: str | None) -> Iterator[Outcome]:
    for cell in cells:
        yield attempt(cell, command)


def _loky(cells: Sequence[Cell], jobs: int, command: str | None, scheduler: str | None) -> Iterator[Outcome]:
    from joblib import Parallel, delayed, parallel_config

    # Idle workers leave after LOKY_IDLE seconds (loky's default is 300): after a SIGKILL of this process its
    # workers finish the cell in hand, which nobody will write, and exit instead of idling for minutes.
    with parallel_config(backend="loky", n_jobs=jobs, inner_max_num_threads=1, idle_worker_timeout=LOKY_IDLE):
        yield from Parallel(return_as="generator_unordered")(delayed(attempt)(c, command) for c in cells)


def _dask(cells: Sequence[Cell], jobs: int, command: str | None, scheduler: str | None) -> Iterator[Outcome]:
    from distributed import Client, LocalCluster, as_completed

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    cluster = None if address else LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                                dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(address or cluster)
    try:
        futures = client.map(attempt, list(cells), command=command, pure=False)
        for future in as_completed(futures):
            yield future.result()
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _ray(cells: Sequence[Cell], jobs: int, command: str | None, scheduler: str | None) -> Iterator[Outcome]:
    import ray

    started = not ray.is_initialized()
    if started:
        address = scheduler or os.environ.get("RAY_ADDRESS")
        # Ray sets OMP_NUM_THREADS to a task's num_cpus (1), which OpenBLAS and MKL follow when their own
        # variable is unset; a runtime_env with the BLAS variables would cost seconds of start-up per sweep.
        ray.init(address=address, num_cpus=None if address else jobs, include_dashboard=False, log_to_driver=False)
    try:
        # Typed Any: Ray's stubs (when Ray is installed) do not see attempt's signature through remote().
        submit: Any = ray.remote(num_cpus=1)(attempt).remote
        pending = [submit(c, command) for c in cells]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


#: The backends by name (see the module docstring).
BACKENDS: dict[str, Backend] = {"serial": _serial, "loky": _loky, "dask": _dask, "ray": _ray}


# ---------------------------------------------------------------------------- the runner
def _checked(cells: Sequence[Cell], backend: str, jobs: int) -> tuple[Cell, ...]:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1 (worker processes); got {jobs!r}.")
    needs = {"loky": ("joblib", "dist"), "dask": ("distributed", "dask"), "ray": ("ray", "ray")}
    if backend in needs and importlib.util.find_spec(needs[backend][0]) is None:
        raise ValueError(f"backend {backend!r} needs {needs[backend][0]}: pip install 'agora-rl[{needs[backend][1]}]'.")
    cells = tuple(dict((c.key, c) for c in cells).values())  # one cell per key, first-seen order
    if not cells or not all(isinstance(c, Cell) for c in cells):
        raise ValueError("cells must be a non-empty list of verify.jobs.Cell.")
    kinds = {c.kind for c in cells}
    if len(kinds) != 1:
        raise ValueError(f"a sweep runs one job kind; got {sorted(kinds)}.")
    return cells


def _bar(progress: bool, total: int, initial: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="cell", file=sys.stderr, disable=not progress,
                dynamic_ncols=True, smoothing=0.1)


def _run(todo: Sequence[Cell], folder: Path, backend: str, jobs: int, command: str | None, scheduler: str | None,
         bar: Any) -> tuple[dict[str, CellRecord], list[tuple[Cell, str]]]:
    """Run ``todo`` on the backend and write each record the moment it arrives."""
    from verify.records import write_text

    by_key = {c.key: c for c in todo}
    done: dict[str, CellRecord] = {}
    failed: list[tuple[Cell, str]] = []
    for outcome in BACKENDS[backend](todo, jobs, command, scheduler):
        cell = by_key[outcome.key]
        rec = None if outcome.text is None else CellRecord.read(outcome.text, cell)
        if rec is None:
            failed.append((cell, outcome.error or "the worker returned a record that is not this cell's"))
        else:
            write_text(folder / f"{cell.key}.json", outcome.text + "\n")  # type: ignore[operator]
            done[cell.key] = rec
        bar.set_postfix_str(cell.label, refresh=False)
        bar.update(1)
    return done, failed


def sweep(
    cells: Sequence[Cell],
    out_dir: str | os.PathLike[str],
    backend: str = "serial",
    jobs: int = 1,
    progress: bool = True,
    command: str | None = None,
    scheduler: str | None = None,
    render: Callable[[Path, Sequence[CellRecord]], Sequence[Path]] | None = None,
) -> SweepResult:
    """Run every cell that has no valid record in ``out_dir`` and write the kind's tables; see the module docstring.

    Parameters
    ----------
    cells : sequence of Cell
        One kind; duplicates (same key) run once. Their order is the order of the tables' rows.
    out_dir : path
        The sweep folder: ``cells/<key>.json`` per cell, the tables, ``manifest.json``.
    backend : {"serial", "loky", "dask", "ray"}
    jobs : int
        Worker processes (loky; the local Dask or Ray cluster); a cluster at ``scheduler`` has its own.
    progress : bool
        A tqdm bar with an ETA on stderr.
    command : str, optional
        The command line recorded with every cell and in the manifest.
    scheduler : str, optional
        Dask scheduler address (``tcp://host:8786``) or Ray address (``ray://host:10001``, ``auto``).
    render : callable, optional
        ``render(out_dir, records)`` writes reports after the tables and returns their paths.

    Returns
    -------
    SweepResult
        When a job raised, its cell is listed in ``failed``, the others' records are kept, and no
        table is written (rerun to retry the failed cells only).

    Raises
    ------
    FolderInUseError
        When another run holds ``out_dir``'s lock.
    ValueError
        For an unknown backend, a bad ``jobs`` or no cells.
    """
    from verify.records import write_manifest

    cells = _checked(cells, backend, jobs)
    out = Path(out_dir)
    folder = out / CELLS
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _clean(out)
        done = _finished(cells, folder)
        todo = [c for c in cells if c.key not in done]
        bar = _bar(progress, len(cells), len(cells) - len(todo))
        try:
            new, failed = _run(todo, folder, backend, jobs, command, scheduler, bar) if todo else ({}, [])
        finally:
            bar.close()
        done.update(new)
        records = tuple(done.get(c.key) for c in cells)
        if failed:
            return SweepResult(cells, records, tuple(failed), len(todo), ())
        finished = [r for r in records if r is not None]
        from verify.jobs import KINDS

        paths = KINDS[cells[0].kind].write(out, finished)
        if render is not None:
            paths += render(out, finished)
        tables = [p.name for p in paths if p.suffix in (".jsonl", ".csv")]
        paths.append(write_manifest(out, tables, command=command))
    return SweepResult(cells, records, (), len(todo), tuple(paths))
