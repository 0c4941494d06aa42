"""A sweep's TOML configuration → its cells (:mod:`verify.jobs`), every key checked and named in errors.

One table, ``[sweep]``. A list takes part in the product (every combination of the lists is a
configuration); a scalar is fixed. ``kind`` picks the job and the keys it takes:

common
    ``kind`` ("train", "check" or "reproduce"; required), ``seed`` (root seed, int ≥ 0, default 0).
``train`` (one cell per configuration and seed; :data:`verify.jobs.TRAIN_DEFAULTS`)
    ``task`` (registry ids, required), ``mechanism`` (registry names or ``package.module:NAME``,
    default "ccv"), ``clones`` (default 2), ``learner`` (default "valuation"), ``steps`` (env
    steps per seed, default 100000), ``episodes`` (parallel episodes, default 32): each a scalar
    or a list; ``rescale`` (bool, default true: a task whose Q* leaves (0, 1) is rescaled onto
    (0.1, 0.9) for every learner, so one task's runs share one MDP); ``seeds`` (count: replicates
    ``SeedSequence(seed).spawn(seeds)``; absent: one replicate run with ``seed`` itself).
``check`` (one cell per mechanism × clones × claim × seed)
    ``mechanism`` (default the four built-ins), ``clones`` (default [1, 2]), ``claim`` (default
    DESIGN §1's five; names in ``verify.CLAIMS``), each a scalar or a list; ``budget`` (cases per
    claim, default each claim's own); ``seeds`` as for ``train``.
``reproduce`` (one cell per run of each paper experiment, as `agora reproduce`)
    ``experiment`` ("bandit", "chain", "duality"; a scalar or a list, default all three); fixed:
    ``steps`` (default each experiment's budget), ``budgets`` (the sample-efficiency budgets, a
    list that is a value, not an axis; [] skips the study), ``episodes`` (default 64), and
    ``seeds`` (default 10): here, as in `agora reproduce`, the seeds ``seed .. seed + seeds − 1``
    run in lockstep inside each cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify.jobs import Cell, Seed, check_cells, load_mechanism, reproduce_cells, train_cells

__all__ = ["SCHEMA", "Key", "cells_from_config", "load_config"]


@dataclass(frozen=True)
class Key:
    """One key of ``[sweep]``: its type, whether a list of it is an axis of the product, its least value."""

    type: type
    axis: bool = True
    minimum: int | None = None
    list_value: bool = False  #: the value itself is a list (``budgets``), not an axis


_COMMON = {"kind": Key(str, axis=False), "seed": Key(int, axis=False, minimum=0),
           "seeds": Key(int, axis=False, minimum=1)}
#: The keys of each kind (see the module docstring).
SCHEMA: dict[str, dict[str, Key]] = {
    "train": {**_COMMON, "task": Key(str), "mechanism": Key(str), "clones": Key(int, minimum=1),
              "learner": Key(str), "steps": Key(int, minimum=1), "episodes": Key(int, minimum=1),
              "rescale": Key(bool, axis=False)},
    "check": {**_COMMON, "mechanism": Key(str), "clones": Key(int, minimum=1), "claim": Key(str),
              "budget": Key(int, axis=False, minimum=1)},
    "reproduce": {**_COMMON, "experiment": Key(str), "steps": Key(int, axis=False, minimum=1),
                  "budgets": Key(int, axis=False, minimum=1, list_value=True),
                  "episodes": Key(int, axis=False, minimum=1)},
}


def _scalar(name: str, value: Any, key: Key) -> Any:
    what = {str: "a string", int: "an int", bool: "true or false"}[key.type]
    ok = isinstance(value, key.type) and (key.type is bool or not isinstance(value, bool))
    if not ok:
        raise TypeError(f"sweep key {name!r} must be {what}{' or a list of them' if key.axis else ''}; got {value!r}.")
    if key.minimum is not None and value < key.minimum:
        raise ValueError(f"sweep key {name!r} must be >= {key.minimum}; got {value!r}.")
    return value


def _values(name: str, value: Any, key: Key) -> list[Any]:
    """The key's values as a list (one for a scalar), each checked."""
    if isinstance(value, list):
        if not (key.axis or key.list_value):
            raise TypeError(f"sweep key {name!r} takes one value, not a list; got {value!r}.")
        if not value and key.axis:
            raise ValueError(f"sweep key {name!r} is an empty list; give at least one value.")
        return [_scalar(name, v, key) for v in value]
    if key.list_value:
        raise TypeError(f"sweep key {name!r} must be a list of ints (e.g. [50000, 200000]; [] for none); "
                        f"got {value!r}.")
    return [_scalar(name, value, key)]


def _checked(table: Mapping[str, Any]) -> tuple[str, dict[str, list[Any]]]:
    """The kind and every key's values, after the checks of the module docstring."""
    if "kind" not in table:
        raise ValueError(f"[sweep] has no 'kind'; set kind = one of {', '.join(map(repr, SCHEMA))}.")
    kind = table["kind"]
    if kind not in SCHEMA:
        raise ValueError(f"sweep key 'kind' must be one of {', '.join(map(repr, SCHEMA))}; got {kind!r}.")
    schema = SCHEMA[kind]
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise ValueError(f"unknown sweep key(s) {unknown} for kind {kind!r}; known: {', '.join(schema)}.")
    return kind, {name: _values(name, value, schema[name]) for name, value in table.items() if name != "kind"}


def _known(name: str, values: list[str], known: Any, what: str) -> None:
    bad = [v for v in values if v not in known]
    if bad:
        raise ValueError(f"sweep key {name!r}: unknown {what} {bad[0]!r}; known: {', '.join(known)}.")


def _mechanisms(specs: list[str]) -> list[str]:
    """``specs`` after loading each (a registry name or ``package.module:NAME``), errors naming the key."""
    for spec in specs:
        try:
            load_mechanism(spec, flag="mechanism")
        except (ValueError, TypeError) as err:
            raise type(err)(f"sweep key 'mechanism': {err}") from None
    return specs


def _seeds(values: Mapping[str, list[Any]]) -> list[Seed]:
    root = values.get("seed", [0])[0]
    if "seeds" not in values:
        return [Seed(root)]
    return [Seed(root, (i,)) for i in range(values["seeds"][0])]


def _train(values: dict[str, list[Any]]) -> list[Cell]:
    import tasks
    from mechanism import LEARNERS

    if "task" not in values:
        raise ValueError("sweep key 'task' is required for kind 'train' (registry ids, e.g. task = [\"chain/0\"]).")
    _known("task", values["task"], tasks.TASKS, "task")
    _known("learner", values.get("learner", []), LEARNERS, "learner")
    _mechanisms(values.get("mechanism", []))
    axes = [k for k in ("task", "mechanism", "clones", "learner", "steps", "episodes", "rescale") if k in values]
    grid = [dict(zip(axes, point, strict=True)) for point in itertools.product(*(values[k] for k in axes))]
    return train_cells(grid, _seeds(values))


def _check(values: dict[str, list[Any]], command: str) -> list[Cell]:
    from mechanism import BUILTINS
    from verify import CLAIMS
    from verify.claims import DEFAULT_CLAIMS

    mechanisms = _mechanisms(values.get("mechanism", list(BUILTINS)))
    clones = values.get("clones", [1, 2])
    _known("claim", values.get("claim", []), CLAIMS, "claim")
    claims = [c for c in CLAIMS if c in values["claim"]] if "claim" in values else list(DEFAULT_CLAIMS)
    columns = {"command": command, "mechanisms": ",".join(mechanisms), "clones_checked": ",".join(map(str, clones)),
               "claims_checked": ",".join(claims)}
    return check_cells(mechanisms, clones, claims, values.get("budget", [None])[0], _seeds(values), columns)


def _reproduce(values: dict[str, list[Any]]) -> list[Cell]:
    from verify.experiments import EXPERIMENTS, GROUPS

    names = values.get("experiment", list(GROUPS["all"]))  # the tabular ones, as `agora reproduce all`
    _known("experiment", names, EXPERIMENTS, "experiment")
    return reproduce_cells(names, values.get("seeds", [10])[0], values.get("seed", [0])[0],
                           values.get("steps", [None])[0], values.get("budgets"), values.get("episodes", [64])[0])


def cells_from_config(config: Mapping[str, Any], command: str = "agora sweep") -> list[Cell]:
    """The cells of a parsed configuration (``{"sweep": {...}}``), in the product's order.

    ``command`` is the ``command`` column of a ``check`` sweep's verdict rows.

    Raises
    ------
    ValueError, TypeError
        Naming the key: no ``[sweep]`` table or another table, no ``kind``, an unknown key, a
        value of the wrong type, an unknown task, mechanism, learner, claim or experiment.
    """
    if not isinstance(config, Mapping) or "sweep" not in config or not isinstance(config["sweep"], Mapping):
        raise ValueError("a sweep config needs a [sweep] table (see the README, `agora sweep`).")
    extra = sorted(set(config) - {"sweep"})
    if extra:
        raise ValueError(f"unknown table(s) or key(s) {extra} outside [sweep]; everything goes in [sweep].")
    kind, values = _checked(config["sweep"])
    if kind == "train":
        return _train(values)
    if kind == "check":
        return _check(values, command)
    return _reproduce(values)


def load_config(path: str | Path, command: str = "agora sweep") -> list[Cell]:
    """Read a TOML sweep config (:mod:`tomllib`) and return its cells (:func:`cells_from_config`)."""
    import tomllib

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise FileNotFoundError(f"cannot read the sweep config {str(path)!r}: {err.strerror or err}.") from None
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path} is not valid TOML: {err}.") from None
    try:
        return cells_from_config(config, command)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{path}: {err}") from None
