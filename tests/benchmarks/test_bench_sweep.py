"""Wall time of one sweep on the serial backend against loky with two workers (issue 11, §2).

The issue's example grid (2 tasks x 2 mechanisms x 2 clone settings x valuation x 4 seeds, 20,000
steps): 32 cells of about a third of a second each. Loky's time includes starting its workers and
importing agora in each (about 2 s of CPU: what `agora sweep --jobs 2` costs from the command line). Run:
``pytest tests/benchmarks/test_bench_sweep.py -m benchmark --benchmark-enable -s``.
"""

import os
import time
from pathlib import Path

from verify.sweep import sweep
from verify.sweep_config import cells_from_config

CONFIG = {"sweep": {"kind": "train", "task": ["chain/0", "duality/0"], "mechanism": ["vickrey", "ccv"],
                    "clones": [1, 2], "learner": ["valuation"], "steps": 20_000, "seeds": 4}}


def _wall(out: Path, backend: str, jobs: int) -> float:
    t0 = time.perf_counter()
    assert sweep(cells_from_config(CONFIG), out, backend=backend, jobs=jobs, progress=False).complete
    return time.perf_counter() - t0


def test_loky_with_two_workers_against_serial(benchmark, tmp_path: Path) -> None:
    def three() -> tuple[float, float, float]:
        serial = _wall(tmp_path / "serial", "serial", 1)
        cold = _wall(tmp_path / "loky", "loky", 2)
        return serial, cold, _wall(tmp_path / "warm", "loky", 2)  # joblib reuses the started workers

    serial, loky, warm = benchmark.pedantic(three, rounds=1, iterations=1)
    print(f"32 cells: serial {serial:.2f} s, loky x2 {loky:.2f} s with its workers started (loky/serial "
          f"{loky / serial:.2f}), {warm:.2f} s on started workers ({warm / serial:.2f}); {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    if (os.cpu_count() or 1) >= 2:
        assert loky < serial
