"""Average reward: gain, bias and a gain-optimal policy by multichain policy iteration (or the LP).

The gain of a stationary policy π is its long-run average reward and its bias the Cesàro sum of
the deviations from it (Puterman 1994, §8.2.1):

    g_π = P*_π r_π,    h_π = Σ_t (P_π^t − P*_π) r_π,    P*_π = lim_N (1/N) Σ_{t<N} P_π^t.

They are the unique solution of (§8.2.3)

    g = P_π g,    g + h = r_π + P_π h,    P*_π h = 0.                                   (E)

Evaluation solves (E) exactly, without P*_π: the recurrent classes of P_π are its closed strongly
connected components (scipy's csgraph); on them one sparse system, with h = 0 pinned at the
smallest state of each class and g constant per class, gives (g, h − const); the transposed
system of the same factorisation gives every class's stationary distribution μ_c, and
h ← h − μ_c·h makes P*_π h = 0; on the transient states (I − P_TT) g_T = P_TR g_R and
(I − P_TT) h_T = r_T − g_T + P_TR h_R.

Improvement is Puterman's multichain policy iteration (§9.2.1): first on the gain,
``argmax_a Σ_j P(j|s, a) g(j)``; only when no state's gain improves, on the bias among the
gain-maximising actions B_s, ``argmax_{a ∈ B_s} r(s, a) + Σ_j P(j|s, a) h(j)``; the incumbent
action is kept whenever it ties (within a rounding tolerance). It ends after finitely many steps
at a policy whose (g, h) solve the multichain optimality equations (§9.1, eqs. 9.1.1-9.1.2), and
g = g*. Improving on the bias first, as unichain PI does, can stop at a policy of lower gain.

The discount ``mdp.gamma`` is not used. Terminal states are absorbing with reward 0, so their
gain and bias are 0. Actions with ``mdp.available[s, a] = False`` are never chosen.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

from tasks.episodic import end_components
from tasks.mdp import FiniteMDP
from verify.bellman import Problem
from verify.solution import AverageSolution, ConvergenceWarning
from verify.solve import compact

__all__ = ["AVERAGE_METHODS", "solve_average"]

Kernel: TypeAlias = NDArray[np.float64] | sp.csr_array | sp.csr_matrix
Chain: TypeAlias = NDArray[np.float64] | sp.csr_array
Solve: TypeAlias = Callable[[NDArray[np.float64], bool], NDArray[np.float64]]

#: Accepted ``method`` values of :func:`solve_average`.
AVERAGE_METHODS: tuple[str, ...] = ("pi", "lp")

_EPS = float(np.finfo(np.float64).eps)

#: Two action values closer than this, relative to 1 + max|r| + max|g| + max|h|, tie.
_TIE = 1e-11

#: Most sweeps spent tightening the gain bound of a multichain solution (:func:`_gain_upper_bound`).
_BOUND_SWEEPS = 100

#: Graphs with at most this many states are analysed by a dense closure (no scipy call overhead).
_SMALL = 64

#: Blocks with at most this many states, or more than 10% full, are factorised dense (LAPACK).
_DENSE_MAX = 500

#: Larger sparse blocks try BiCGSTAB first: relative residual target and iteration cap.
_KRYLOV_RTOL = 1e-14
_KRYLOV_MAXITER = 300


class _Model(NamedTuple):
    """What the solver reads from an MDP: the (S·A, S) kernel, rewards and the action mask."""

    K: Kernel
    R: NDArray[np.float64]
    allowed: NDArray[np.bool_]


class _Evaluated(NamedTuple):
    policy: NDArray[np.int64]
    gain: NDArray[np.float64]
    bias: NDArray[np.float64]
    labels: NDArray[np.int64]
    iterations: int
    capped: bool


def _model(mdp: FiniteMDP) -> _Model:
    """The kernel (a large dense one that is mostly zeros re-stored as CSR, as ``solve``'s ``auto`` does)."""
    available = getattr(mdp, "available", None)
    allowed = np.ones(mdp.R.shape, dtype=bool) if available is None else np.asarray(available, dtype=bool)
    R = np.asarray(mdp.R, dtype=np.float64)
    return _Model(compact(Problem(R, mdp.kernel, 0.0, 1.0, 1.0)).K, R, allowed)


def _policy_chain(model: _Model, policy: NDArray[np.int64]) -> tuple[Chain, NDArray[np.float64]]:
    """``(P_π, r_π)``: the rows ``s·A + π(s)`` of the kernel (dense, or CSR without stored zeros), ``R[s, π(s)]``."""
    S, A = model.R.shape
    rows = np.arange(S) * A + policy
    if isinstance(model.K, np.ndarray):
        return model.K[rows], model.R[np.arange(S), policy]
    P = sp.csr_array(model.K[rows])
    P.eliminate_zeros()
    return P, model.R[np.arange(S), policy]


def _closure(S: int, src: NDArray[np.int64], dst: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``reach[s, j]``: j is reachable from s (reflexive-transitive closure), by repeated squaring."""
    reach = np.eye(S, dtype=bool)
    reach[src, dst] = True
    for _ in range(max(1, S).bit_length() + 1):
        f = reach.astype(np.float32)  # path counts stay exact far below 2**24
        nxt = (f @ f) > 0
        if np.array_equal(nxt, reach):
            break
        reach = nxt
    return reach


def _components(S: int, src: NDArray[np.int64], dst: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
    """Strongly connected components of the graph ``src → dst``: ``(n, label of each state)``, labels < n.

    Up to ``_SMALL`` states the label is the smallest state of the component (from the closure:
    no scipy call overhead on tiny problems); above, scipy's csgraph.
    """
    if S <= _SMALL:
        reach = _closure(S, src, dst)
        return S, np.argmax(reach & reach.T, axis=1).astype(np.int64)
    graph = sp.csr_array((np.ones(src.size), (src, dst)), shape=(S, S))
    n, comp = connected_components(graph, directed=True, connection="strong")
    return int(n), comp.astype(np.int64)


def _recurrent_labels(P: Chain) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Class label of every state (−1: transient) and the smallest state of each class.

    A recurrent class of a finite chain is a strongly connected component that no edge leaves
    (Puterman 1994, App. A); classes are numbered in the order of their smallest state.
    """
    S = P.shape[0]
    rows, cols = P.nonzero()
    n, comp = _components(S, rows, cols)
    leaving = comp[rows] != comp[cols]
    closed = np.ones(n, dtype=bool)
    closed[comp[rows[leaving]]] = False
    first = np.full(n, S, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(S, dtype=np.int64))
    ids = np.flatnonzero(closed & (first < S))
    ids = ids[np.argsort(first[ids])]
    relabel = np.full(n, -1, dtype=np.int64)
    relabel[ids] = np.arange(ids.size)
    return relabel[comp], first[ids]


def _factor(M: Chain) -> Solve:
    """A solver ``solve(b, transpose)`` for ``M x = b`` (or ``Mᵀ x = b``).

    Small or dense blocks: one LAPACK LU. Large sparse ones: BiCGSTAB to a 2-norm residual of
    ``_KRYLOV_RTOL·√n·max(1, |b|_∞)`` (fast-mixing chains converge in tens of iterations), else
    a sparse LU (``splu``), factorised once on first need: it fills in on random sparsity but is
    exact on slowly mixing chains (rings, long transient paths) where Krylov methods stall.
    """
    n = M.shape[0]
    if isinstance(M, np.ndarray) or n <= _DENSE_MAX or M.nnz > 0.1 * n * n:
        lu = sla.lu_factor(M if isinstance(M, np.ndarray) else M.toarray(), check_finite=False)

        def dense(b: NDArray[np.float64], transpose: bool) -> NDArray[np.float64]:
            return np.asarray(sla.lu_solve(lu, b, trans=int(transpose), check_finite=False))

        return dense
    MT = sp.csr_array(M.T)
    factor: list[Any] = []

    def sparse(b: NDArray[np.float64], transpose: bool) -> NDArray[np.float64]:
        op = MT if transpose else M
        atol = _KRYLOV_RTOL * np.sqrt(n) * max(1.0, float(np.abs(b).max(initial=0.0)))
        x, info = spla.bicgstab(op, b, rtol=0.0, atol=atol, maxiter=_KRYLOV_MAXITER)
        if info == 0 and np.isfinite(x).all() and float(np.linalg.norm(op @ x - b)) <= atol:
            return np.asarray(x)
        if not factor:
            factor.append(spla.splu(sp.csc_matrix(M)))
        return np.asarray(factor[0].solve(b, trans="T" if transpose else "N"))

    return sparse


def _recurrent_part(
    P: Chain, r: NDArray[np.float64], labels: NDArray[np.int64], pins: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(g, h)`` of (E) on the recurrent states (in increasing order).

    Unknowns x: h(s), except x(pin_c) = g_c. The rows are g_c + h(s) − Σ P(s, s') h(s') = r(s);
    M is I − P_RR with column pin_c replaced by the indicator of class c, block diagonal and
    non-singular. For the stationary row vector μ_c of class c (summing to 1), μ_c M = e_{pin_c}:
    one transposed solve gives every μ_c, and the shift h ← h − μ_c·h on each class.
    """
    rec = np.flatnonzero(labels >= 0)
    n = rec.size
    lab = labels[rec]
    local = np.full(labels.size, -1, dtype=np.int64)
    local[rec] = np.arange(n)
    pin = local[pins]
    is_pin = np.zeros(n, dtype=bool)
    is_pin[pin] = True
    M: Chain
    if isinstance(P, np.ndarray):
        M = np.eye(n) - P[np.ix_(rec, rec)]
        M[:, pin] = lab[:, None] == np.arange(pin.size)
    else:
        coo = (sp.identity(n, format="csr") - P[rec][:, rec]).tocoo()
        off = ~is_pin[coo.col]
        rows = np.concatenate([coo.row[off], np.arange(n)])
        M = sp.csr_array(
            (np.concatenate([coo.data[off], np.ones(n)]), (rows, np.concatenate([coo.col[off], pin[lab]]))),
            shape=(n, n),
        )
    solve = _factor(M)
    x = solve(np.ascontiguousarray(r[rec]), False)
    g = x[pin][lab]
    h = np.where(is_pin, 0.0, x)
    mu = solve(is_pin.astype(np.float64), True)
    h -= np.bincount(lab, weights=mu * h, minlength=pin.size)[lab]
    return g, h


def _evaluate(P: Chain, r: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Gain, bias (P*h = 0) and recurrent-class labels of the chain ``(P, r)``: (E) solved exactly."""
    labels, pins = _recurrent_labels(P)
    g, h = np.empty(r.size), np.empty(r.size)
    rec, tr = np.flatnonzero(labels >= 0), np.flatnonzero(labels < 0)
    g[rec], h[rec] = _recurrent_part(P, r, labels, pins)
    if tr.size:
        P_T = P[tr]
        P_TR = P_T[:, rec]
        I_T = np.eye(tr.size) if isinstance(P, np.ndarray) else sp.identity(tr.size, format="csr")
        solve = _factor(I_T - P_T[:, tr])
        g[tr] = solve(P_TR @ g[rec], False)
        h[tr] = solve(r[tr] - g[tr] + P_TR @ h[rec], False)
    return g, h, labels


def _action_values(
    model: _Model, g: NDArray[np.float64], h: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(Σ_j P(j|s, a) g(j), r(s, a) + Σ_j P(j|s, a) h(j))`` as (S, A) arrays, −inf where unavailable."""
    S, A = model.R.shape
    Qg = np.asarray(model.K @ g).reshape(S, A)
    Qh = np.asarray(model.K @ h).reshape(S, A) + model.R
    return np.where(model.allowed, Qg, -np.inf), np.where(model.allowed, Qh, -np.inf)


def _tie(model: _Model, g: NDArray[np.float64], h: NDArray[np.float64]) -> float:
    return _TIE * (1.0 + float(np.abs(model.R).max()) + float(np.abs(g).max()) + float(np.abs(h).max()))


def _improve(
    Qg: NDArray[np.float64], Qh: NDArray[np.float64], policy: NDArray[np.int64], tie: float
) -> NDArray[np.int64]:
    """Puterman's improvement step (§9.2.1, step 3): on the gain first, then on the bias within B_s.

    An action replaces the incumbent only when it is better by more than ``tie``.
    """
    rows = np.arange(policy.size)
    best_g = Qg.max(axis=1)
    better = best_g > Qg[rows, policy] + tie
    if better.any():
        return np.where(better, Qg.argmax(axis=1), policy)
    Qh_B = np.where(Qg >= best_g[:, None] - tie, Qh, -np.inf)
    better = Qh_B.max(axis=1) > Qh[rows, policy] + tie
    return np.where(better, Qh_B.argmax(axis=1), policy)


def _policy_iteration(model: _Model, policy: NDArray[np.int64], max_iter: int) -> _Evaluated:
    """Evaluate (E) exactly and improve until the policy is stable, or for ``max_iter`` evaluations."""
    for k in range(1, max_iter + 1):
        g, h, labels = _evaluate(*_policy_chain(model, policy))
        new = _improve(*_action_values(model, g, h), policy, _tie(model, g, h))
        if np.array_equal(new, policy):
            return _Evaluated(policy, g, h, labels, k, capped=False)
        policy = new
    g, h, labels = _evaluate(*_policy_chain(model, policy))
    return _Evaluated(policy, g, h, labels, max_iter, capped=True)


def _linear_program(model: _Model) -> tuple[NDArray[np.int64], int]:
    """An optimal policy from the multichain LP (Puterman 1994, §9.3), solved by HiGHS.

    Primal: minimise Σ_j g(j)/S subject to g(s) >= Σ_j P(j|s, a) g(j) and
    g(s) + h(s) >= r(s, a) + Σ_j P(j|s, a) h(j) for every available (s, a); its optimal g is g*.
    The dual variables y(s, a) >= 0 of the first block and x(s, a) >= 0 of the second give the
    policy: in a state with Σ_a x(s, a) > 0 an action with x(s, a) > 0, elsewhere one with
    y(s, a) > 0 (the largest). Returns ``(policy, HiGHS iterations)``.
    """
    from scipy.optimize import linprog  # scipy.optimize takes ~0.3 s to import: only when used

    S, A = model.R.shape
    keep = np.flatnonzero(model.allowed.ravel())
    n = keep.size
    E = sp.csr_array((np.ones(n), (np.arange(n), keep // A)), shape=(n, S))
    D = sp.csr_array(sp.csr_array(model.K)[keep] - E)
    A_ub = sp.vstack([sp.hstack([D, sp.csr_array((n, S))]), sp.hstack([-E, D])], format="csr")
    b_ub = np.concatenate([np.zeros(n), -model.R.ravel()[keep]])
    c = np.concatenate([np.full(S, 1.0 / S), np.zeros(S)])
    tight = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=(None, None), method="highs", options=tight)
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"linprog (HiGHS) failed on the average-reward LP: status {res.status}, {res.message}")
    duals = -np.asarray(res.ineqlin.marginals)
    y, x = np.full((S, A), -np.inf), np.full((S, A), -np.inf)
    y.flat[keep], x.flat[keep] = duals[:n], duals[n:]
    recurrent = np.where(model.allowed, x, 0.0).sum(axis=1) > 1e-9
    policy = np.where(recurrent, x.argmax(axis=1), y.argmax(axis=1))
    return policy.astype(np.int64), int(res.nit)


def _support(model: _Model) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The edges of the kernel's support over available actions: pair index ``s·A + a`` and successor."""
    S, A = model.R.shape
    if isinstance(model.K, np.ndarray):
        pair, dst = np.nonzero((model.K > 0) & model.allowed.reshape(S * A, 1))
        return pair.astype(np.int64), dst.astype(np.int64)
    K = sp.csr_array(model.K)
    pair = np.repeat(np.arange(S * A, dtype=np.int64), np.diff(K.indptr))
    used = (K.data > 0) & model.allowed.ravel()[pair]
    return pair[used], K.indices[used].astype(np.int64)


def _reach_max(S: int, src: NDArray[np.int64], dst: NDArray[np.int64], D: NDArray[np.float64]) -> NDArray[np.float64]:
    """``max_{j reachable from s} D(j)`` for every s: over the DAG of strongly connected components,
    from the sinks up (Kahn's order); up to ``_SMALL`` states, from the closure."""
    if S <= _SMALL:
        return np.where(_closure(S, src, dst), D, -np.inf).max(axis=1)
    n, comp = _components(S, src, dst)
    val = np.full(n, -np.inf)
    np.maximum.at(val, comp, D)
    edges = np.unique(comp[src] * n + comp[dst])
    e_src, e_dst = edges // n, edges % n
    e_src, e_dst = e_src[e_src != e_dst], e_dst[e_src != e_dst]
    into = sp.csr_array((np.ones(e_src.size), (e_dst, e_src)), shape=(n, n))
    out_deg = np.bincount(e_src, minlength=n)
    ready = np.flatnonzero(out_deg == 0)
    while ready.size:
        sub = into[ready]
        preds = sub.indices
        np.maximum.at(val, preds, np.repeat(val[ready], np.diff(sub.indptr)))
        np.subtract.at(out_deg, preds, 1)
        ready = np.unique(preds[out_deg[preds] == 0])
    return val[comp]


def _gain_upper_bound(
    model: _Model, d: NDArray[np.float64], g: NDArray[np.float64], target: float
) -> NDArray[np.float64]:
    """An upper bound ``U >= g*`` (elementwise), from ``d(s, a) = r(s, a) + Σ_j P(j|s, a) h(j) − h(s)``.

    For every policy π, P*_π (P_π h − h) = 0, so g_π(s) = Σ_j P*_π(s, j) d(j, π(j)): an average of
    d over pairs (j, π(j)) recurrent under π, which lie in end components reachable from s. So
    g*(s) <= U_0(s), the max of d over the end-component pairs reachable from s. Since
    g* = max_a P_a g* (Puterman 1994, eq. 9.1.1) and P_a >= 0, ``U ← min(U, max_a P_a U)`` keeps
    U >= g*; it is swept (at most ``_BOUND_SWEEPS`` times) while ``max(U − g)`` is above
    ``target`` and still falling, so that states every policy leaves see the gains they drain into.
    """
    S, A = model.R.shape
    pair, dst = _support(model)
    in_ec = end_components(model.K, model.allowed, np.zeros(S, dtype=bool)).keep
    U = _reach_max(S, pair // A, dst, np.where(in_ec, d, -np.inf).max(axis=1))
    gap = float((U - g).max())
    for _ in range(_BOUND_SWEEPS):
        if gap <= target:
            break
        TU = np.where(model.allowed, np.asarray(model.K @ U).reshape(S, A), -np.inf).max(axis=1)
        U = np.minimum(U, TU)
        gap, before = float((U - g).max()), gap
        if gap > before - 1e-3 * abs(before):
            break
    return U


def _certificate(model: _Model, g: NDArray[np.float64], h: NDArray[np.float64]) -> tuple[float, float]:
    """``(residual, error_bound)``: the optimality-equation violation of a policy's ``(g, h)``, and a
    bound on ``max |g* − g|``: ``g`` is a policy's gain, so g <= g* <= U (:func:`_gain_upper_bound`)."""
    tie = _tie(model, g, h)
    Qg, Qh = _action_values(model, g, h)
    best_g = Qg.max(axis=1)
    e_gain = best_g - g
    e_bias = np.where(Qg >= best_g[:, None] - tie, Qh, -np.inf).max(axis=1) - g - h
    residual = float(max(np.abs(e_gain).max(), np.abs(e_bias).max()))
    rounding = (8.0 + _BOUND_SWEEPS) * _EPS * tie / _TIE
    U = _gain_upper_bound(model, Qh - h[:, None], g, max(residual, rounding))
    return residual, max(float((U - g).max()), 0.0) + rounding


def _finish(model: _Model, ev: _Evaluated, iterations: int, method: str, tol: float) -> AverageSolution:
    """The record: residual, gain bound and recurrent classes; warns when ``tol`` is missed."""
    residual, bound = _certificate(model, ev.gain, ev.bias)
    classes = tuple(np.flatnonzero(ev.labels == c) for c in range(int(ev.labels.max()) + 1))
    if ev.capped or residual > tol:
        why = "hit its iteration cap" if ev.capped else "could not reach tol (rounding in an ill-conditioned chain)"
        warnings.warn(
            f"solve_average(method={method!r}) {why} after {iterations} iterations: the optimality residual "
            f"is {residual:.3g} (tol = {tol:.3g}). Raise max_iter or loosen tol.",
            ConvergenceWarning,
            stacklevel=3,
        )
    for arr in (ev.gain, ev.bias, ev.policy, *classes):
        arr.setflags(write=False)
    return AverageSolution(ev.gain, ev.bias, ev.policy, int(iterations), method, residual, bound, classes)


def _validate(mdp: Any, method: Any, tol: Any, max_iter: Any) -> None:
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(
            f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}. Build one with tasks.FiniteMDP(P, R, gamma)."
        )
    if mdp.substochastic:
        raise ValueError(
            f"{mdp!r} is a semi-MDP (options): its average reward per step needs each option's expected duration, "
            "which its discounted kernel does not hold. Solve its base MDP (mdp.base) or use verify.solve (discounted)."
        )
    if not isinstance(method, str) or method not in AVERAGE_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(AVERAGE_METHODS)}.")
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.integer | np.floating):
        raise TypeError(f"tol must be a positive number; got {tol!r}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0; got {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer):
        raise TypeError(f"max_iter must be a positive int; got {max_iter!r}.")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1; got {max_iter}.")


def solve_average(mdp: FiniteMDP, method: str = "pi", tol: float = 1e-9, max_iter: int = 10_000) -> AverageSolution:
    """Solve an MDP under the average-reward criterion: optimal gain, bias and a gain-optimal policy.

    Handles unichain and multichain MDPs: the gain g*(s) may differ by state. ``mdp.gamma`` is
    ignored (the criterion has no discount); the link to the discounted problem is the Laurent
    expansion V*_γ = g*/(1 − γ) + h* + O(1 − γ) as γ → 1 (Puterman 1994, §8.2.2, §10.1), so
    (1 − γ)·V*_γ → g*.

    Parameters
    ----------
    mdp : FiniteMDP
        Dense or sparse; terminal states get gain 0; ``mdp.available`` (when present) is honoured.
    method : {"pi", "lp"}
        ``pi``: multichain policy iteration with exact evaluation (Puterman 1994, §9.2; module
        docstring), started from the policy greedy for R. ``lp``: the multichain linear program
        (§9.3) by HiGHS, its policy read from the dual solution, then policy iteration from it,
        which only adjusts actions for the bias when the LP's policy is gain-optimal (recorded
        ``lp``; ``lp+pi`` when it had to raise the gain). The LP has 2·S·A rows: a cross-check for
        up to about a thousand states (S = 1000, A = 2: 3 s; S = 2000, A = 4 sparse: HiGHS had not
        finished after 10 minutes).
    tol : float > 0
        Target for ``residual``, the largest violation of the optimality equations; a result that
        misses it (rounding in very ill-conditioned chains, or the iteration cap) comes with a
        :class:`verify.ConvergenceWarning`.
    max_iter : int
        Cap on policy evaluations.

    Returns
    -------
    AverageSolution
        ``(gain (S,), bias (S,), policy (S,), iterations, method, residual, error_bound,
        recurrent_classes)``; ``bias`` is the bias of ``policy`` (P*_π h = 0).

    Examples
    --------
    >>> import numpy as np, tasks, verify
    >>> P = np.zeros((3, 2, 3)); P[0, 0, 1] = P[0, 1, 2] = 1; P[1, :, 1] = P[2, :, 2] = 1
    >>> R = np.array([[5.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> sol = verify.solve_average(tasks.FiniteMDP(P, R, 0.9))
    >>> sol.gain.tolist(), sol.bias.tolist(), sol.policy.tolist()
    ([2.0, 1.0, 2.0], [-2.0, 0.0, 0.0], [1, 0, 0])
    """
    _validate(mdp, method, tol, max_iter)
    model = _model(mdp)
    if method == "lp":
        start, nit = _linear_program(model)
        lp_gain = _evaluate(*_policy_chain(model, start))[0]
        ev = _policy_iteration(model, start, int(max_iter))
        name = "lp" if float(np.abs(ev.gain - lp_gain).max()) <= tol else "lp+pi"
        return _finish(model, ev, nit + ev.iterations, name, float(tol))
    start = np.where(model.allowed, model.R, -np.inf).argmax(axis=1).astype(np.int64)
    ev = _policy_iteration(model, start, int(max_iter))
    return _finish(model, ev, ev.iterations, "pi", float(tol))
