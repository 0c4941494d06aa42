"""The Dask and Ray backends of the sweep runner give the records of the serial backend (skipped where not installed).

Dask runs on an in-process ``LocalCluster`` (threads, one per worker) reached through its scheduler
address, as a real cluster is; Ray on ``ray.init`` with two local CPUs, one small sweep only (its
start-up takes seconds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from verify.records import check_manifest, read_jsonl
from verify.sweep import CELLS, sweep
from verify.sweep_config import cells_from_config

#: Four cells: two mechanisms x two seeds on the paper's chain, a few hundred steps each.
CONFIG = {"sweep": {"kind": "train", "task": "chain/0", "mechanism": ["vickrey", "ccv"], "clones": 2,
                    "steps": 640, "seeds": 2}}
#: When, how long and from which command: the only fields allowed to differ between two runs of the cells.
WHEN = {"timestamp", "seconds", "command"}


def _records(out: Path) -> dict[str, Any]:
    found = {}
    for path in sorted((out / CELLS).glob("*.json")):
        rec = json.loads(path.read_text())
        tables = {k: [{c: v for c, v in row.items() if c not in WHEN} for row in rows]
                  for k, rows in rec["tables"].items()}
        found[path.stem] = (rec["config"], rec["seed"], tables)
    return found


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    assert sweep(cells_from_config(CONFIG), out, progress=False).complete
    return out


def _same_as_serial(out: Path, serial: Path) -> None:
    assert len(_records(out)) == 4
    assert _records(out) == _records(serial)
    runs = [{k: v for k, v in r.items() if k not in WHEN} for r in read_jsonl(out / "runs.jsonl")]
    assert runs == [{k: v for k, v in r.items() if k not in WHEN} for r in read_jsonl(serial / "runs.jsonl")]
    check_manifest(out)


def test_dask_on_a_local_cluster_gives_the_serial_records(serial: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        result = sweep(cells_from_config(CONFIG), tmp_path, backend="dask", scheduler=cl.scheduler_address,
                       progress=False)
    assert result.ran == 4
    _same_as_serial(tmp_path, serial)


def test_ray_on_a_local_instance_gives_the_serial_records(serial: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    result = sweep(cells_from_config(CONFIG), tmp_path, backend="ray", jobs=2, progress=False)
    assert result.ran == 4
    _same_as_serial(tmp_path, serial)
