"""The sweep runner's jobs: one cell = one kind's ``run(config, seed) -> tables``, pure and picklable.

A :class:`Cell` is a job kind, a JSON configuration and a :class:`Seed`; its :attr:`Cell.key`
(sha256 of the canonical JSON of the three) names its record file, so a cell is found again
whatever the order of a sweep or the worker that ran it. :func:`run_cell` runs one and returns its
:class:`CellRecord`: the configuration, the seed, the command line, the versions
(:func:`verify.records.environment`, taken on the worker) and the kind's table rows, built by the
same code as the serial commands (one home each):

``check``
    One society (mechanism × clones) and one claim: :func:`verify.check` and
    :func:`verify.records.verdict_rows`, the row `agora check` writes to ``verdicts.jsonl``.
``train``
    One :func:`mechanism.train` call for one seed (:func:`verify.experiments.run_experiment`): the
    run's ``runs.jsonl`` row and its ``checkpoints.jsonl`` rows (:meth:`Assessment.run_record`).
    The seeds of one configuration are merged into one run row when the tables are written
    (:func:`merge_seed_runs`), so `agora report` compares societies over seeds as usual.
``reproduce``
    One run of a paper experiment, every seed in lockstep (:func:`verify.experiments.reproduction_run`),
    the rows `agora reproduce` writes.

Seeds. A cell's seed is ``Seed(root, spawn_key)``: with an empty spawn key the integer handed to
the job is ``root`` itself (what `agora check --seed` and `agora train --seed` use); with spawn key
``(i,)`` it is the first 32-bit word of ``numpy.random.SeedSequence(root, spawn_key=(i,))`` (the
i-th child of ``SeedSequence(root).spawn``), which depends on ``root`` and ``i`` only, never on the
order or the worker.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "KINDS",
    "RECORD_SCHEMA",
    "Cell",
    "CellRecord",
    "Kind",
    "Outcome",
    "Seed",
    "attempt",
    "canonical_json",
    "check_cells",
    "load_mechanism",
    "merge_seed_runs",
    "reproduce_cells",
    "run_cell",
    "train_cells",
]

#: Version of the cell record format (:class:`CellRecord`); a record of another version is run again.
RECORD_SCHEMA = 1

Tables = dict[str, list[dict[str, Any]]]


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: the same text for the same value, whatever the key order."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


# ---------------------------------------------------------------------------- seeds and cells
@dataclass(frozen=True)
class Seed:
    """A root seed and a spawn key (see the module docstring for the integer a job gets)."""

    root: int
    spawn_key: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        ints = (self.root, *self.spawn_key)
        if any(isinstance(x, bool) or not isinstance(x, int) for x in ints) or (
            self.spawn_key and min(ints) < 0
        ):
            raise ValueError(
                f"a seed is ints (non-negative to be spawned); got root={self.root!r}, spawn_key={self.spawn_key!r}."
            )

    @property
    def value(self) -> int:
        """``root`` for an empty spawn key, else ``SeedSequence(root, spawn_key=key).generate_state(1)[0]``."""
        if not self.spawn_key:
            return self.root
        import numpy as np

        return int(np.random.SeedSequence(self.root, spawn_key=self.spawn_key).generate_state(1)[0])

    def to_dict(self) -> dict[str, Any]:
        """``{"root", "spawn_key", "value"}``, as every record carries it."""
        return {"root": self.root, "spawn_key": list(self.spawn_key), "value": self.value}


@dataclass(frozen=True)
class Cell:
    """One job of a sweep: its kind, its configuration (JSON values) and its seed."""

    kind: str
    config: dict[str, Any] = field(hash=False)
    seed: Seed

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown job kind {self.kind!r}; choose one of {', '.join(KINDS)}.")
        # Lists, not tuples: the configuration compares equal to the one read back from its record.
        object.__setattr__(self, "config", json.loads(canonical_json(dict(self.config))))

    @property
    def key(self) -> str:
        """20 hex digits of sha256 over the canonical JSON of kind, configuration and seed: the record's name."""
        seed = self.seed
        ident = {"kind": self.kind, "config": self.config, "root": seed.root, "spawn_key": list(seed.spawn_key)}
        return hashlib.sha256(canonical_json(ident).encode()).hexdigest()[:20]

    @property
    def label(self) -> str:
        """A short description for the progress bar and error messages."""
        return KINDS[self.kind].label(self.config, self.seed)


@dataclass(frozen=True)
class CellRecord:
    """A finished cell, as written to ``cells/<key>.json``: the cell, its provenance and its table rows."""

    key: str
    kind: str
    config: dict[str, Any]
    seed: dict[str, Any]  #: :meth:`Seed.to_dict`
    command: str | None  #: the command line of the sweep that ran it
    versions: dict[str, str]  #: :func:`verify.records.environment` on the worker
    seconds: float  #: wall time of the job
    tables: Tables  #: table name (``verdicts``, ``runs``, ``checkpoints``) -> rows
    schema: int = RECORD_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the record file."""
        return {"schema": self.schema, "key": self.key, "kind": self.kind, "config": self.config, "seed": self.seed,
                "command": self.command, "versions": self.versions, "seconds": self.seconds, "tables": self.tables}

    @classmethod
    def read(cls, text: str, cell: Cell) -> CellRecord | None:
        """The record in ``text`` if it is whole and is ``cell``'s (same key, kind, configuration, seed); else None."""
        try:
            data = json.loads(text)
            rec = cls(**{k: data[k] for k in ("key", "kind", "config", "seed", "command", "versions", "seconds",
                                              "tables", "schema")})
        except (ValueError, KeyError, TypeError):
            return None
        same = (rec.schema == RECORD_SCHEMA and rec.key == cell.key and rec.kind == cell.kind
                and rec.config == cell.config and isinstance(rec.seed, dict) and rec.seed.get("root") == cell.seed.root
                and rec.seed.get("spawn_key") == list(cell.seed.spawn_key))
        tables_ok = isinstance(rec.tables, dict) and all(isinstance(v, list) for v in rec.tables.values())
        return rec if same and tables_ok else None


# ---------------------------------------------------------------------------- user mechanisms
def load_mechanism(spec: str, flag: str = "--mechanism") -> Any:
    """A Mechanism from a registry name or ``package.module:NAME`` (importable from the working directory).

    Raises
    ------
    ValueError
        For an unknown name, a module that cannot be imported or lacks the attribute (``flag``
        names where the spec came from).
    TypeError
        When the attribute is not a :class:`mechanism.Mechanism`.
    """
    from mechanism import MECHANISMS, Mechanism
    from mechanism.registry import import_user_module

    if ":" not in spec:
        if spec not in MECHANISMS:
            raise ValueError(
                f"unknown mechanism {spec!r}; registered: {', '.join(MECHANISMS)}. "
                "A user mechanism is given as package.module:NAME."
            )
        return MECHANISMS[spec]
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{flag} {spec!r}: expected package.module:NAME, e.g. mymech.rules:third_price.")
    try:
        module = import_user_module(module_name)
    except Exception as err:  # any failure while importing user code is a bad argument
        raise ValueError(f"{flag} {spec!r}: cannot import module {module_name!r}: {type(err).__name__}: {err}") from err
    if not hasattr(module, attr):
        raise ValueError(f"{flag} {spec!r}: module {module_name!r} has no attribute {attr!r}.")
    obj = getattr(module, attr)
    if not isinstance(obj, Mechanism):
        raise TypeError(
            f"{flag} {spec!r}: {module_name}.{attr} is a {type(obj).__name__}, not a mechanism.Mechanism; "
            "build one with mechanism.Mechanism(name, price=..., lookahead=...)."
        )
    return obj


# ---------------------------------------------------------------------------- the three kinds
def _run_check(config: Mapping[str, Any], seed: Seed, command: str | None) -> Tables:
    """One society and one claim: the verdict row `agora check` writes."""
    from verify.checker import check
    from verify.records import VERDICTS, verdict_rows

    mech = load_mechanism(config["mechanism"])
    verdicts = check(mech, clones=[config["clones"]], claims=[config["claim"]], budget=config["budget"],
                     seed=seed.value, domain=config.get("domain", "mdps"))
    return {VERDICTS: verdict_rows(verdicts, config["columns"])}


def _train_run_id(config: Mapping[str, Any], steps: int) -> str:
    """`agora train`'s id ``task:learner:mechanism:clones:steps``, then ``:e<episodes>``, ``:raw`` if not default."""
    run = f"{config['task']}:{config['learner']}:{config['mechanism']}:{config['clones']}:{steps}"
    if config["episodes"] != TRAIN_DEFAULTS["episodes"]:
        run += f":e{config['episodes']}"
    return run if config["rescale"] else run + ":raw"


def _run_train(config: Mapping[str, Any], seed: Seed, command: str | None) -> Tables:
    """One training run for one seed: its ``runs`` row and ``checkpoints`` rows."""
    import tasks
    from verify.experiments import bid_task, run_experiment
    from verify.records import CHECKPOINTS, RUNS

    mdp = tasks.make(config["task"])
    if config["rescale"]:
        mdp = bid_task(mdp)
    name = config["mechanism"]
    mech = "ccv" if name == "monolithic" else load_mechanism(name, flag="mechanism")  # a baseline is never auctioned
    a = run_experiment(mdp, mech, clones=config["clones"], learner=config["learner"], steps=config["steps"],
                       seeds=[seed.value], episodes=config["episodes"])
    run = _train_run_id(config, a.result.config.steps)
    row = a.run_record(run, task=config["task"], budget=config["steps"], command=command)
    return {RUNS: [row], CHECKPOINTS: a.checkpoint_records(run)}


def _run_reproduce(config: Mapping[str, Any], seed: Seed, command: str | None) -> Tables:
    """One run of a paper experiment, seeds ``root .. root + seeds − 1`` in lockstep: `agora reproduce`'s rows."""
    from verify.experiments import Job, reproduction_run
    from verify.records import CHECKPOINTS, RUNS

    job = Job(config["learner"], config["mechanism"], config["clones"], config["steps"])
    seeds = list(range(seed.root, seed.root + config["seeds"]))
    _, rec = reproduction_run(config["experiment"], job, config["studies"], seeds, config["episodes"],
                              config["recorded"], command)
    return {RUNS: rec.runs, CHECKPOINTS: rec.checkpoints}


# ---------------------------------------------------------------------------- cells of each kind
#: Defaults of a ``train`` cell (those of `agora train`).
TRAIN_DEFAULTS: dict[str, Any] = {"mechanism": "ccv", "clones": 2, "learner": "valuation", "steps": 100_000,
                                  "episodes": 32, "rescale": True}


def check_cells(
    mechanisms: Sequence[str],
    clones: Sequence[int],
    claims: Sequence[str],
    budget: int | None,
    seeds: Sequence[Seed],
    columns: Mapping[str, Any],
    domain: str = "mdps",
) -> list[Cell]:
    """Every (mechanism, clones, claim, seed) cell, mechanisms outermost, as `agora check` orders its verdicts.

    ``columns`` are added to every verdict row (`agora check`'s ``command, mechanisms,
    clones_checked, claims_checked``); ``budget`` None is each claim's own.
    """
    return [
        Cell("check", {"mechanism": m, "clones": int(k), "claim": c, "budget": budget, "columns": dict(columns),
                       **({} if domain == "mdps" else {"domain": domain})}, s)
        for m in mechanisms for s in seeds for k in clones for c in claims
    ]


def train_cells(grid: Sequence[Mapping[str, Any]], seeds: Sequence[Seed]) -> list[Cell]:
    """A ``train`` cell per configuration of ``grid`` and seed; a monolithic learner: mechanism "monolithic", 1 clone.

    Each configuration holds ``task`` and any of :data:`TRAIN_DEFAULTS` (the rest default).
    Configurations that coincide (a monolithic learner under two mechanisms) are one cell.
    """
    from mechanism import SOCIETY_LEARNERS

    cells: dict[str, Cell] = {}
    for point in grid:
        config = {"task": point["task"], **{k: point.get(k, v) for k, v in TRAIN_DEFAULTS.items()}}
        if config["learner"] not in SOCIETY_LEARNERS:
            config.update(mechanism="monolithic", clones=1)
        for s in seeds:
            cell = Cell("train", config, s)
            cells.setdefault(cell.key, cell)
    return list(cells.values())


def reproduce_cells(
    names: Sequence[str],
    seeds: int | None,
    first_seed: int = 0,
    steps: int | None = None,
    budgets: Sequence[int] | None = None,
    episodes: int = 64,
    recorded: int | None = None,
) -> list[Cell]:
    """A ``reproduce`` cell per run of each experiment (:func:`verify.experiments.reproduction_jobs`), in its order.

    ``seeds`` and ``budgets`` None are each experiment's own (:class:`verify.experiments.Experiment`).
    """
    from verify.experiments import EXPERIMENTS, RECORDED, reproduction_jobs

    cells = []
    for name in names:
        jobs = reproduction_jobs(name, steps, budgets=budgets)
        n = EXPERIMENTS[name].seeds if seeds is None else seeds
        for job, studies in jobs.items():
            config = {"experiment": name, **job._asdict(), "studies": studies, "seeds": n, "episodes": episodes,
                      "recorded": RECORDED if recorded is None else recorded}
            cells.append(Cell("reproduce", config, Seed(first_seed)))
    return cells


# ---------------------------------------------------------------------------- consolidation
#: Fields of a ``runs`` row that hold one entry per seed (joined in seed order when seeds are merged).
PER_SEED = ("seeds", "final_max_error", "final_mean_error", "final_max_error_optimal", "final_max_error_fixed_point",
            "final_value", "final_regret", "final_spread_clones", "final_policy", "final_bids", "optimal_win_share")
#: Fields that map ε to one entry per seed.
PER_SEED_BY_EPS = ("steps_to", "steps_to_optimal")
#: Fields pooled over seeds, recomputed from the per-seed fields.
POOLED = ("final_spread_seeds", "win_rate", "win_visits")
#: Provenance that may differ between the seeds' cells, e.g. a resumed sweep's (the first seed's is kept).
PROVENANCE = ("timestamp", "command", "agora_version", "numpy_version", "scipy_version", "hypothesis_version",
              "python_version")


def _pool(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The pooled fields of a run made of ``rows`` (one per seed), as :func:`verify.experiments.assess` pools them.

    ``final_spread_seeds`` = max over reachable (s, i) of the standard deviation over seeds of the
    final mean bid; ``win_rate`` by :func:`verify.experiments.pool_win_rates`; ``win_visits`` summed.
    """
    import numpy as np

    from verify.experiments import nullable, pool_win_rates

    bids = np.array([b for r in rows for b in r["final_bids"]], dtype=float)  # (N, S, A)
    live = np.asarray(rows[0]["reachable"], dtype=bool)
    rates = np.array([np.array(r["win_rate"], dtype=float) for r in rows])  # None -> NaN
    return {
        "final_spread_seeds": float(bids.std(axis=0)[live].max()),
        "win_rate": nullable(pool_win_rates(rates)),
        "win_visits": np.sum([r["win_visits"] for r in rows], axis=0).tolist(),
    }


def merge_seed_runs(runs: Sequence[Mapping[str, Any]], checkpoints: Sequence[Mapping[str, Any]]) -> Any:
    """Single-seed ``runs`` rows with the same run id merged into one row per run, first-seen order.

    Per-seed fields (:data:`PER_SEED`, :data:`PER_SEED_BY_EPS`) are joined in the order given,
    pooled ones (:data:`POOLED`) recomputed, provenance taken from the first; every other field
    must agree. Checkpoint rows already carry their run and seed and are kept as they are.

    Raises
    ------
    ValueError
        When rows of one run disagree on a field that is neither per-seed, pooled nor provenance
        (a new per-seed field must be named in :data:`PER_SEED`), or a run has one seed twice.
    """
    from verify.records import LearningRecords

    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in runs:
        groups.setdefault(str(r["run"]), []).append(r)
    merged = []
    for run, rows in groups.items():
        out = dict(rows[0])
        for key in PER_SEED:
            out[key] = [x for r in rows for x in r[key]]
        for key in PER_SEED_BY_EPS:
            out[key] = {e: [x for r in rows for x in r[key][e]] for e in rows[0][key]}
        if len(set(out["seeds"])) != len(out["seeds"]):
            raise ValueError(f"run {run!r}: a seed appears twice in its cells ({out['seeds']}).")
        if len(rows) > 1:
            out.update(_pool(rows))
        skip = {*PER_SEED, *PER_SEED_BY_EPS, *POOLED, *PROVENANCE}
        for r in rows[1:]:
            bad = sorted(k for k in {*r, *rows[0]} - skip if r.get(k) != rows[0].get(k))
            if bad:
                raise ValueError(f"run {run!r}: its seeds' rows disagree on {bad}; they are not one configuration.")
        merged.append(out)
    return LearningRecords(merged, [dict(c) for c in checkpoints])


def _tables(records: Sequence[CellRecord], name: str) -> list[dict[str, Any]]:
    return [row for rec in records for row in rec.tables.get(name, [])]


def _write_check(out: Path, records: Sequence[CellRecord]) -> list[Path]:
    from verify.records import VERDICTS, write_records

    return list(write_records(out, VERDICTS, _tables(records, VERDICTS)))


def _write_train(out: Path, records: Sequence[CellRecord]) -> list[Path]:
    from verify.records import CHECKPOINTS, RUNS, write_learning_records

    merged = merge_seed_runs(_tables(records, RUNS), _tables(records, CHECKPOINTS))
    return write_learning_records(out, merged, merge=False)


def _write_reproduce(out: Path, records: Sequence[CellRecord]) -> list[Path]:
    from verify.records import CHECKPOINTS, RUNS, LearningRecords, write_learning_records

    return write_learning_records(out, LearningRecords(_tables(records, RUNS), _tables(records, CHECKPOINTS)))


# ---------------------------------------------------------------------------- registry and worker entry
@dataclass(frozen=True)
class Kind:
    """A job kind: how one cell runs, how its records become the folder's tables, how it is named."""

    name: str
    run: Callable[[Mapping[str, Any], Seed, str | None], Tables]
    write: Callable[[Path, Sequence[CellRecord]], list[Path]]  #: the tables, from the records in cell order
    label: Callable[[Mapping[str, Any], Seed], str]


def _seed_label(seed: Seed) -> str:
    return f"seed {seed.root}" + "".join(f"/{i}" for i in seed.spawn_key)


#: The job kinds by name.
KINDS: dict[str, Kind] = {
    "check": Kind("check", _run_check, _write_check,
                  lambda c, s: f"{c['mechanism']} x{c['clones']} {c['claim']} {_seed_label(s)}"),
    "train": Kind("train", _run_train, _write_train,
                  lambda c, s: f"{c['task']} {c['learner']} {c['mechanism']} x{c['clones']} {_seed_label(s)}"),
    "reproduce": Kind("reproduce", _run_reproduce, _write_reproduce,
                      lambda c, s: f"{c['experiment']} {c['learner']} {c['mechanism']} x{c['clones']} {c['steps']:,}"),
}


def run_cell(cell: Cell, command: str | None = None) -> CellRecord:
    """Run one cell and return its record (pure: the same cell gives the same tables on any worker)."""
    from verify.records import environment

    t0 = time.perf_counter()
    tables = KINDS[cell.kind].run(cell.config, cell.seed, command)
    # Through JSON: what a worker returns is exactly what the record file will hold when read back.
    tables = json.loads(json.dumps(tables, default=_jsonable))
    return CellRecord(cell.key, cell.kind, cell.config, cell.seed.to_dict(), command, environment(),
                      round(time.perf_counter() - t0, 4), tables)


def _jsonable(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


class Outcome(NamedTuple):
    """What a worker sends back: the cell's key, and its record as JSON text or the error's traceback."""

    key: str
    text: str | None
    error: str | None


def attempt(cell: Cell, command: str | None = None) -> Outcome:
    """:func:`run_cell` on a worker: the record as JSON text, or the traceback of a job that raised."""
    try:
        return Outcome(cell.key, json.dumps(run_cell(cell, command).to_dict(), ensure_ascii=False), None)
    except Exception:  # a job's failure is reported with its cell; the sweep goes on
        return Outcome(cell.key, None, traceback.format_exc())
