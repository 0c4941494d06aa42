"""Average reward: ``verify.solve_average`` beside pymdptoolbox's RelativeValueIteration (issue 11).

Run: ``pytest tests/benchmarks/test_bench_average.py -m benchmark --benchmark-enable -s``.
Each instance runs in a subprocess with one BLAS thread, as in ``test_bench_solve.py``; times are
medians of 5 runs. The reference gain g* comes from an independent route: the multichain LP
(``solve_average(method="lp")``, HiGHS) on the forests; on the sparse instance, where HiGHS did
not finish the LP in 10 minutes, RVI itself at ``epsilon = 1e-12`` (its span stopping rule puts
g* within epsilon of ``average_reward``). Every instance is unichain, so g* is one number and
RVI's error is ``|average_reward − g*|``. RVI runs at its default ``epsilon = 0.01`` and at 1e-10.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()
ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
INSTANCES = ("forest3", "forest1000", "sparse2000")


def _run(*args: str, timeout: float = 1800) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, **ONE_THREAD}
    out = subprocess.run(
        [sys.executable, str(HERE), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if out.returncode != 0:
        raise AssertionError(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- the subprocess side
def _median_time(f, n: int = 5):  # type: ignore[no-untyped-def]
    import time

    import numpy as np

    times, result = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), result


def _instance(name: str):  # type: ignore[no-untyped-def]
    """``(P, R)`` in pymdptoolbox's layout and the same MDP for Agora."""
    import mdptoolbox.example
    import numpy as np
    import scipy.sparse as sp

    import tasks

    if name.startswith("forest"):
        P, R = mdptoolbox.example.forest(S=int(name.removeprefix("forest")))
        return P, R, tasks.from_mdptoolbox(P, R, 0.9)
    if name == "sparse2000":
        mdp = tasks.random_mdp(2000, 4, successors=4, seed=0, sparse=True)
        K = sp.csr_matrix(mdp.kernel)
        A = mdp.n_actions
        return [K[a::A] for a in range(A)], np.array(mdp.R), mdp
    raise ValueError(name)


def compare(name: str) -> dict:  # type: ignore[type-arg]
    import mdptoolbox.mdp

    import verify

    P, R, mdp = _instance(name)
    if mdp.n_states <= 1000:
        ref = verify.solve_average(mdp, method="lp")
        g_star, reference = float(ref.gain[0]), f"LP ({ref.method})"
    else:
        tight = mdptoolbox.mdp.RelativeValueIteration(P, R, epsilon=1e-12, max_iter=1_000_000)
        tight.run()
        g_star, reference = float(tight.average_reward), "RVI eps=1e-12"
    rows = []
    t, sol = _median_time(lambda: verify.solve_average(mdp))
    rows.append(
        {
            "solver": "agora solve_average (pi)",
            "ms": 1e3 * t,
            "error": float(abs(sol.gain - g_star).max()),
            "note": f"{sol.iterations} evaluations, bound {sol.error_bound:.1e}, residual {sol.residual:.1e}",
        }
    )
    for eps in (0.01, 1e-10):

        def rvi(e: float = eps):  # type: ignore[no-untyped-def]
            run = mdptoolbox.mdp.RelativeValueIteration(P, R, epsilon=e, max_iter=1_000_000)
            run.run()
            return run

        t, run = _median_time(rvi)
        rows.append(
            {
                "solver": f"pymdptoolbox RVI eps={eps:g}",
                "ms": 1e3 * t,
                "error": abs(float(run.average_reward) - g_star),
                "note": f"{run.iter} iterations",
            }
        )
    return {"instance": name, "mdp": repr(mdp), "g_star": g_star, "reference": reference, "rows": rows}


# ---------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", INSTANCES)
def test_average_vs_relative_value_iteration(name: str) -> None:
    pytest.importorskip("mdptoolbox")
    result = _run("compare", name)
    print(f"\n{result['instance']}: {result['mdp']}  g* = {result['g_star']:.12g} ({result['reference']})")
    for r in result["rows"]:
        print(f"  {r['solver']:32s} {r['ms']:10.2f} ms  error {r['error']:.1e}  {r['note']}")
    ours = result["rows"][0]
    assert ours["error"] <= 1e-9
    assert result["reference"] != "LP (lp+pi)"  # the LP's own policy, not one that PI improved


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]](*sys.argv[2:])))
