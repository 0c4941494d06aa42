"""Speed and memory of the exact solvers, side by side with QuantEcon and pymdptoolbox (issue 3).

Run: ``pytest tests/benchmarks/test_bench_solve.py -m benchmark --benchmark-enable -s``.
Each measurement runs in a subprocess started with one BLAS thread (``OPENBLAS_NUM_THREADS=1``
and friends), so BLAS threading cannot favour one solver. Times are medians of 5 runs; the true
error of each solver is ``max|V − V*|`` against a tight reference (Agora's PI at tol 1e-12, whose
own guaranteed bound is printed). Needs the ``[bench]`` extra (quantecon, pymdptoolbox).

The comparison (issue 11 §4) asks every method for 1e-8: Agora's ``solve(mdp, tol=1e-8)``, each
peer's iterative methods at ``epsilon=1e-8`` and at their defaults, their exact policy
iterations as they are; a method counts when its true error is at most 1e-8, and Agora's time
(the mean of its medians before and after the peers, in the same process) must be below the
fastest such method's on every instance, small ones included.
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
INSTANCES = ("dense", "sparse", "frozenlake", "frozenlake4x4", "gridworld", "taxi")


def _run(*args: str, timeout: float = 1800) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, **ONE_THREAD}
    out = subprocess.run(
        [sys.executable, str(HERE), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if out.returncode != 0:
        raise AssertionError(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- the subprocess side
def _median_time(f, n: int = 5, budget_s: float = 30.0):  # type: ignore[no-untyped-def]
    """Median wall time of up to ``n`` calls of ``f`` and its last result; fewer calls once ``budget_s`` is spent."""
    import time

    import numpy as np

    times, result = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t0)
        if sum(times) > budget_s:
            break
    return float(np.median(times)), result


def _instance(name: str):  # type: ignore[no-untyped-def]
    import tasks

    if name == "dense":
        return tasks.random_mdp(2000, 4, gamma=0.99, seed=0)
    if name == "sparse":
        return tasks.random_mdp(100_000, 4, gamma=0.99, successors=8, seed=0, sparse=True)
    if name == "frozenlake":
        return tasks.frozen_lake("8x8", is_slippery=True, gamma=0.99)
    if name == "frozenlake4x4":
        return tasks.frozen_lake("4x4", is_slippery=True, gamma=0.99)
    if name == "taxi":
        return tasks.taxi(gamma=0.99)
    if name == "gridworld":
        return tasks.make("gridworld/1")
    raise ValueError(name)


def _peers(mdp):  # type: ignore[no-untyped-def]
    """``(name, run)`` for every peer method that applies; ``run()`` returns ``(V, note)``.

    Each iterative method is asked for 1e-8 (``epsilon``; QuantEcon and pymdptoolbox stop on an
    epsilon-optimality rule) with an iteration cap high enough not to bind, and also run at its
    defaults: a default run that happens to reach 1e-8 is a method that reaches it.
    """
    import numpy as np
    import quantecon as qe
    import scipy.sparse as sp

    S, A = mdp.n_states, mdp.n_actions
    if mdp.is_sparse:
        s_ind, a_ind = np.repeat(np.arange(S), A), np.tile(np.arange(A), S)
        ddp = qe.markov.DiscreteDP(mdp.R.ravel(), mdp.kernel, mdp.gamma, s_ind, a_ind)
    else:
        ddp = qe.markov.DiscreteDP(mdp.R, mdp.P, mdp.gamma)
    runs = []
    for method in ("policy_iteration", "modified_policy_iteration", "value_iteration"):
        for kw in ({}, {"epsilon": 1e-8, "max_iter": 10**6}):
            if method == "policy_iteration" and (kw or (mdp.is_sparse and S > 20_000)):
                continue  # exact evaluation: no epsilon; spsolve fills in on 10^5 random-sparse states
            label = f"quantecon {method}" + (" eps=1e-8" if kw else "")
            runs.append((label, lambda m=method, kw=kw: _qe_run(ddp, m, kw)))
    import mdptoolbox.mdp as tb

    K = sp.csr_matrix(mdp.kernel) if mdp.is_sparse else None
    P_tb = [K[a::A] for a in range(A)] if K is not None else np.ascontiguousarray(mdp.dense_P.transpose(1, 0, 2))
    R_tb = np.array(mdp.R)
    direct_ok = not (mdp.is_sparse and S > 20_000)  # its PolicyIteration solves each policy directly
    for label, make, applies in (
        ("pymdptoolbox ValueIteration", lambda: tb.ValueIteration(P_tb, R_tb, mdp.gamma), True),
        ("pymdptoolbox ValueIteration eps=1e-8", lambda: tb.ValueIteration(P_tb, R_tb, mdp.gamma, 1e-8, 10**6), True),
        (
            "pymdptoolbox PolicyIterationModified eps=1e-8",
            lambda: tb.PolicyIterationModified(P_tb, R_tb, mdp.gamma, 1e-8, 10**4),
            True,
        ),
        ("pymdptoolbox PolicyIteration", lambda: tb.PolicyIteration(P_tb, R_tb, mdp.gamma), direct_ok),
    ):
        if applies:
            runs.append((label, lambda make=make: _tb_run(make)))
    return runs


def _qe_run(ddp, method, kw):  # type: ignore[no-untyped-def]
    res = ddp.solve(method, **kw)
    return res.v, f"{res.num_iter} iterations"


def _tb_run(make):  # type: ignore[no-untyped-def]
    solver = make()
    solver.run()
    return solver.V, f"{solver.iter} iterations"


def compare(name: str) -> dict:  # type: ignore[type-arg]
    """Agora's ``solve(mdp, tol=1e-8)`` and every peer method on one instance, in one process, interleaved."""
    import warnings

    import numpy as np

    import verify

    warnings.simplefilter("ignore")
    mdp = _instance(name)
    ref = verify.solve(mdp, "pi", tol=1e-12)
    rows = []

    def record(solver: str, seconds: float, V, note: str = "") -> None:  # type: ignore[no-untyped-def]
        rows.append(
            {"solver": solver, "ms": 1e3 * seconds, "error": float(np.abs(np.asarray(V) - ref.V).max()), "note": note}
        )

    verify.solve(mdp, tol=1e-8)  # warm the imports and caches, as the peers get below
    t, sol = _median_time(lambda: verify.solve(mdp, tol=1e-8), n=9 if mdp.n_states < 1000 else 5)
    record("agora solve(auto, tol=1e-8)", t, sol.V, f"{sol.method}, bound {sol.error_bound:.1e}")
    for label, run in _peers(mdp):
        try:
            run()  # numba compiles QuantEcon's kernels on the first call
            t, (V, note) = _median_time(run, n=9 if mdp.n_states < 1000 else 5)
            record(label, t, V, note)
        except Exception as err:  # a third-party failure is a reported result
            rows.append({"solver": label, "ms": None, "error": None, "note": f"failed: {type(err).__name__}"})
    t, _again = _median_time(lambda: verify.solve(mdp, tol=1e-8), n=9 if mdp.n_states < 1000 else 5)
    rows[0]["ms_again"] = 1e3 * t  # Agora timed again after the peers: the load did not favour it
    return {"instance": name, "mdp": repr(mdp), "reference_bound": ref.error_bound, "rows": rows}


def sweep(S: int) -> dict:  # type: ignore[type-arg]
    import numpy as np

    from verify.bellman import Problem, q_values

    A = 4
    rng = np.random.default_rng(0)
    K = rng.random((S * A, S))
    K /= K.sum(axis=1, keepdims=True)
    problem = Problem(np.zeros((S, A)), K, 0.99, 1.0, 1.0)
    V = rng.random(S)
    dst = np.empty_like(K)
    t_copy, _ = _median_time(lambda: np.copyto(dst, K), n=7)
    t_sweep, _ = _median_time(lambda: q_values(problem, V), n=7)
    return {"S": S, "bytes": K.nbytes, "copy_ms": 1e3 * t_copy, "sweep_ms": 1e3 * t_sweep, "ratio": t_sweep / t_copy}


def ring(S: int) -> dict:  # type: ignore[type-arg]
    """A deterministic ring (steps +1 or +2, random rewards) at γ = 0.999, where plain VI needs ~3·10^4 sweeps."""
    import numpy as np
    import scipy.sparse as sp

    import tasks
    import verify

    gamma = 0.999
    s = np.arange(S)
    cols = np.stack([(s + 1) % S, (s + 2) % S], axis=1).ravel()
    K = sp.csr_array((np.ones(2 * S), cols, np.arange(2 * S + 1)), shape=(2 * S, S))
    mdp = tasks.FiniteMDP(K, np.random.default_rng(0).random((S, 2)), gamma)
    t, sol = _median_time(lambda: verify.solve(mdp, tol=1e-8))
    TV = (mdp.R + gamma * (K @ sol.V).reshape(S, 2)).max(axis=1)
    residual_bound = float(np.abs(TV - sol.V).max()) / (1 - gamma)  # |V − V*| <= |TV − V|/(1 − γ)
    return {"ms": 1e3 * t, "method": sol.method, "iterations": sol.iterations, "bound": residual_bound}


def large() -> dict:  # type: ignore[type-arg]
    import resource
    import time

    import tasks
    import verify

    t0 = time.perf_counter()
    mdp = tasks.random_mdp(1_000_000, 4, gamma=0.99, successors=8, seed=0, sparse=True)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = verify.solve(mdp, tol=1e-8)
    t_solve = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"build_s": t_build, "solve_s": t_solve, "peak_bytes": peak, "bound": sol.error_bound, "method": sol.method}


# ---------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", INSTANCES)
def test_default_beats_every_peer_method_that_reaches_1e_8(name: str) -> None:
    pytest.importorskip("quantecon")
    pytest.importorskip("mdptoolbox")
    result = _run("compare", name)
    print(f"\n{result['instance']}: {result['mdp']} (reference bound {result['reference_bound']:.1e})")
    for r in result["rows"]:
        ms = "      -" if r["ms"] is None else f"{r['ms']:9.3f} ms"
        err = "      -" if r["error"] is None else f"{r['error']:.1e}"
        print(f"  {r['solver']:46s} {ms}  error {err}  {r['note']}")
    ours = result["rows"][0]
    accurate = [r for r in result["rows"][1:] if r["error"] is not None and r["error"] <= 1e-8]
    assert ours["error"] <= 1e-8
    if accurate:
        best = min(accurate, key=lambda r: r["ms"])
        mine = 0.5 * (ours["ms"] + ours["ms_again"])  # timed before and after the peers
        print(
            f"  TABLE | {name} | {mine:.3f} ms | {best['solver']} {best['ms']:.3f} ms | "
            f"x{best['ms'] / mine:.1f} | {ours['error']:.1e}"
        )
        assert mine < best["ms"], (ours, best)


@pytest.mark.parametrize("S", [2000, 4000])
def test_dense_sweep_at_memory_floor(S: int) -> None:
    r = _run("sweep", str(S))
    print(
        f"\nsweep S={S}, A=4: {r['bytes'] / 1e6:.0f} MB, copy {r['copy_ms']:.1f} ms, sweep {r['sweep_ms']:.1f} ms, "
        f"ratio {r['ratio']:.2f}"
    )
    assert r["ratio"] <= 1.5


def test_deterministic_ring_auto() -> None:
    r = _run("ring", "100000")
    print(
        f"\nring S=1e5, A=2, γ=0.999: {r['ms']:.0f} ms ({r['method']}, {r['iterations']} iterations), "
        f"|TV − V|/(1 − γ) = {r['bound']:.1e}"
    )
    assert r["bound"] <= 1e-8
    assert r["iterations"] <= 200
    assert r["ms"] < 2000


def test_sparse_million_states_time_and_memory() -> None:
    r = _run("large")
    print(
        f"\nS=1e6, A=4, k=8: build {r['build_s']:.1f} s, solve {r['solve_s']:.1f} s ({r['method']}), "
        f"peak RSS {r['peak_bytes'] / 2**30:.2f} GiB, bound {r['bound']:.1e}"
    )
    assert r["bound"] <= 1e-8
    assert r["solve_s"] < 30
    assert r["peak_bytes"] < 4 * 2**30


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "compare":
        print(json.dumps(compare(rest[0])))
    elif cmd == "sweep":
        print(json.dumps(sweep(int(rest[0]))))
    elif cmd == "ring":
        print(json.dumps(ring(int(rest[0]))))
    elif cmd == "large":
        print(json.dumps(large()))
