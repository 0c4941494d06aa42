"""The truthful fixed point: every bidder bids its valuation given everyone's future bids.

A bidder that plays primitive ``a`` at state ``s`` values winning the auction at

    v(s, a) = R[s, a] + γ · Σ_{s'} P[s, a, s'] · L(b(s'))                       (1)

with ``L`` the mechanism's lookahead (``max`` for vickrey and first price, the second-highest
bid for ccv, nothing for the environment-reward society) and ``L = 0`` when ``s'`` is terminal
(DESIGN §1). The *truthful fixed point* is the profile with ``b(s, m) = v(s, prim(m))`` for every
bidder ``m``, where bidder ``m`` plays primitive ``m % n_actions`` (``clones`` bidders share each
primitive). For ``L = max`` this is the Bellman optimality equation, so the fixed point is Q*; for
the cloned ccv society the second-highest of a list in which every value appears twice is its
maximum, so it is Q* again; for the solitary ccv society it is the "second-best Bellman" equation
of Chang et al. (2020, §4) and differs from Q* whenever action values differ.

Why iterating (1) converges. Write ``T`` for the map ``b ↦ v`` of (1). A k-th order statistic
is 1-Lipschitz in the sup norm: if ``|b_j − c_j| ≤ ε`` for every ``j`` then at least ``k``
entries of ``c`` are ``≥ b⁽ᵏ⁾ − ε`` and at most ``k − 1`` exceed ``b⁽ᵏ⁾ + ε``, so
``|c⁽ᵏ⁾ − b⁽ᵏ⁾| ≤ ε``. ``P[s, a, ·]`` is a probability vector, so
``‖T b − T c‖∞ ≤ γ · ‖b − c‖∞``: ``T`` is a γ-contraction for the max and k-th-largest lookaheads
(and for any other 1-Lipschitz one, e.g. a mean), it has one fixed point ``b*`` (Banach), and
for any iterate

    ‖T b − b*‖∞ ≤ γ / (1 − γ) · ‖T b − b‖∞,                                       (2)

the stopping rule used here (Puterman 1994, Thm 6.3.3; QuantEcon's ``DiscreteDP`` uses the same
bound). A user lookahead that is not 1-Lipschitz (say ``2·max``) need not contract; then the
iteration is stopped after ``max_iter`` sweeps or as soon as it leaves the finite numbers, and
:class:`FixedPointError` reports the bound (2) reached.

Acceleration. For an order-statistic lookahead ``L(b(s'))`` equals one bidder's bid, so it
selects one primitive ``a(s')`` per state; with the selection frozen, (1) is linear and one
policy-evaluation solve gives its fixed point. Every ``block`` sweeps the selection read off the
current iterate is solved for and kept only when (2) certifies it, so the answer is always
certified by (2), whichever route found it.

Action masks. Where action ``a`` is unavailable at ``s`` (:attr:`tasks.FiniteMDP.available`) its
bidders take no part in the auction of ``s`` (the rule of :mod:`mechanism.auction`): (1) is the
valuation of the available pairs only, and ``L(b(s'))`` is the lookahead of the auction among the
bidders available at ``s'`` (a lone bidder's second-highest bid is 0). An order statistic of the
available bids is still 1-Lipschitz, so the argument above is unchanged; cloned vickrey and ccv
still give Q* of the masked MDP (every available value appears twice, so the second-highest is
the maximum over the available actions). Profiles hold NaN ("no bid") at the unavailable
(state, bidder) pairs and valuations ``Q`` hold −inf there (the value of an action that cannot be
taken, QuantEcon's convention for infeasible actions).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from mechanism.auction import auction, validate_for_mask
from mechanism.market import Mechanism
from mechanism.society import bidder_mask, primitive_of
from tasks.mdp import FiniteMDP
from verify.solvers.evaluate import evaluate

__all__ = [
    "FixedPoint",
    "FixedPointError",
    "bellman_bids",
    "check_profile",
    "solve_fixed_point",
    "takes_part",
    "terminal_mask",
    "truthful_fixed_point",
    "validate_society",
]

FloatArray = NDArray[np.float64]

#: An iterate this large has left every range a contraction keeps it in (|b| <= (|R| + γ|L(0)|)/(1 − γ)).
_DIVERGED = 1e150


class FixedPointError(RuntimeError):
    """The iteration of (1) did not converge: the lookahead is not a contraction (or too slow)."""


class FixedPoint(NamedTuple):
    """The truthful fixed point with its certificate.

    Attributes
    ----------
    bids : array (S, M)
        ``bids[s, m]``: the valuation of bidder ``m`` at ``s``; 0 at terminal states; NaN (no bid)
        where the bidder's action is unavailable.
    Q : array (S, A)
        The same numbers per primitive (``bids = Q[:, m % A]`` on the available pairs); −inf where
        the action is unavailable.
    iterations : int
        Sweeps of (1) performed (linear solves not counted).
    error_bound : float
        ``γ/(1−γ)·‖T b − b‖∞`` of the returned profile's predecessor: a bound on the sup-norm
        distance to the exact fixed point.
    """

    bids: FloatArray
    Q: FloatArray
    iterations: int
    error_bound: float


def validate_society(mdp: object, mechanism: object, clones: object) -> int:
    """Check the common arguments once; return ``clones`` as an int.

    The mechanism's rules are checked too (:func:`mechanism.validate_mechanism`), for every
    auction size the MDP's action mask holds (:func:`mechanism.validate_for_mask`): a rule that
    returns NaN, a wrong shape or an invalid winner, or is not a function of the bids, raises a
    :class:`mechanism.MechanismError` here rather than giving a wrong answer later.

    The society analyses (fixed points, exploitability, best responses, the claims) certify their
    answers with bounds in ``1/(1 − γ)``; an undiscounted episodic MDP (γ = 1, which the exact solvers
    take) is refused here with a ``ValueError`` rather than left to an infinite bound.
    """
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}.")
    if mdp.gamma >= 1.0:
        raise ValueError(
            "the society analyses need a discount gamma < 1 (their certificates scale with 1/(1 - gamma)); "
            "this MDP has gamma = 1. Solve it exactly with verify.solve / verify.evaluate, or analyse the "
            "society on dataclasses.replace(mdp, gamma=0.99)."
        )
    if not isinstance(mechanism, Mechanism):
        raise TypeError(
            "mechanism must be a mechanism.Mechanism (e.g. mechanism.MECHANISMS['ccv']); "
            f"got {type(mechanism).__name__}."
        )
    if isinstance(clones, bool) or not isinstance(clones, int | np.integer) or clones < 1:
        raise ValueError(f"clones must be an int >= 1 (1 = solitary, 2 = cloned); got {clones!r}.")
    validate_for_mask(mechanism, bidder_mask(mdp.available, int(clones)), mdp.n_actions * int(clones))
    return int(clones)


def takes_part(mdp: FiniteMDP, n_bidders: int) -> NDArray[np.bool_] | None:
    """Which of the ``n_bidders`` bidders take part in the auction of each state, (S, M); None if all do.

    ``mdp.available[s, m % A]`` (:func:`mechanism.society.bidder_mask`): the mask the analyses pass
    to :func:`mechanism.auction`.
    """
    return bidder_mask(mdp.available, n_bidders // mdp.n_actions)


def check_profile(
    bids: object, n_states: int, n_bidders: int, part: NDArray[np.bool_] | None = None
) -> FloatArray:
    """A bid profile ``bids[s, m]`` as a float array (S, M), or a clear error naming the entry.

    The one check of a profile the analyses take (exploitability, best responses). Every bid of a
    bidder that takes part (``part``, (S, M); None: all) must be finite; the others are "no bid",
    whatever they hold, and come back as NaN.
    """
    try:
        arr = np.asarray(bids, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"bids must be an array of real numbers of shape (n_states, M) = {(n_states, n_bidders)}; {err}."
        ) from err
    if arr.shape != (n_states, n_bidders):
        raise ValueError(
            f"bids has shape {arr.shape}; it must be (n_states, n_actions * clones) = {(n_states, n_bidders)}, "
            "bids[s, m] for bidder m (primitive m % n_actions)."
        )
    bad = ~np.isfinite(arr)
    if part is not None:
        bad &= part
    if bad.any():
        s, m = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"bids[{s}, {m}] = {arr[s, m]!r} is non-finite; every bid must be a finite number "
            "(NaN only where the bidder's action is unavailable)."
        )
    return arr if part is None else np.where(part, arr, np.nan)


def terminal_mask(mdp: FiniteMDP) -> NDArray[np.bool_]:
    """The terminal mask of ``mdp`` as a bool array (S,) (FiniteMDP fills it in on construction)."""
    return np.asarray(mdp.terminal, dtype=bool)


def _lookahead(mdp: FiniteMDP, mechanism: Mechanism, bids: FloatArray) -> FloatArray:
    """ℓ(s') = L(b(s')) over the bidders that take part at s', 0 at terminal states; shape (S,)."""
    part = takes_part(mdp, bids.shape[1])
    if part is None:
        ell = np.asarray(mechanism.credit(bids), dtype=np.float64).reshape(mdp.n_states)
    else:
        ell = auction(mechanism, bids, part).value
    return np.where(terminal_mask(mdp), 0.0, ell)


def bellman_bids(mdp: FiniteMDP, bids: FloatArray, mechanism: Mechanism) -> FloatArray:
    """Valuations per primitive under a bid profile: ``Q[s, a] = R[s, a] + γ·Σ P[s, a, s']·L(b(s'))``.

    Equation (1) of this module; terminal rows are 0, unavailable pairs −inf (their bids are not
    read: the lookahead is over the bidders that take part). ``bids`` has shape (S, M); returns (S, A).
    """
    ell = _lookahead(mdp, mechanism, bids)
    Q = mdp.R + mdp.gamma * np.asarray(mdp.kernel @ ell).reshape(mdp.n_states, mdp.n_actions)
    Q[terminal_mask(mdp)] = 0.0
    Q[~np.asarray(mdp.available)] = -np.inf
    return Q


def _selection_solve(
    mdp: FiniteMDP, bids: FloatArray, ell: FloatArray, prim: NDArray[np.intp], tol: float
) -> FloatArray | None:
    """Freeze the primitive whose bid equals ℓ(s') and solve the linear fixed point; None if none is selected.

    With the selection ``a(s')`` frozen, ℓ(s') = V(s') solves ``V = R_a + γ·P_a V``: the value of the
    deterministic policy ``a``, by the project's one policy evaluator (:func:`verify.solvers.evaluate`;
    terminal states are absorbing with zero reward, so V = 0 there). What the bound (2) of the
    candidate ``Q = R + γ·P V`` sees is the residual ``r = R_a + γ·P_a V − V``: ``Q(s, a(s)) = V(s) + r(s)``,
    so while ``Q`` selects ``a`` again, ``T Q − Q = γ·P r`` and (2) is at most ``γ²/(1 − γ)·max|r|``.
    The evaluator stops on ``max|r| <= e·(1 − γ)`` for a bound ``e`` on ``|V − V^π|``; ``e = tol / (2γ²)``
    makes (2) at most ``tol / 2``. (Below the rounding of the residual, ``ε·|V|``, it stops there,
    as a direct solve would.) The candidate is kept only when its own bound (2) is below ``tol``.
    """
    live = ~terminal_mask(mdp)
    hit = bids == ell[:, None]
    has = hit.any(axis=1) | ~live
    if not has.all():
        return None
    available = np.asarray(mdp.available)
    a_sel = np.where(live, prim[np.argmax(hit, axis=1)], np.argmax(available, axis=1))
    gamma = mdp.gamma
    V = evaluate(mdp, a_sel, tol=0.5 * tol / (gamma * gamma) if 0.0 < gamma < 1.0 else None)
    if not np.all(np.isfinite(V)):
        return None
    S, A = mdp.n_states, mdp.n_actions
    Q = mdp.R + gamma * np.asarray(mdp.kernel @ V).reshape(S, A)
    Q[~live] = 0.0
    Q[~available] = -np.inf
    return Q


def solve_fixed_point(
    mdp: FiniteMDP,
    mechanism: Mechanism,
    clones: int,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    block: int = 25,
) -> FixedPoint:
    """The truthful fixed point of (1) with its iteration count and error bound (2).

    Parameters
    ----------
    mdp : FiniteMDP
    mechanism : Mechanism
        Its ``lookahead`` is ``L`` in (1); ``None`` means ``L = 0`` (valuations = immediate rewards).
    clones : int
        Bidders per primitive; ``M = n_actions · clones``.
    tol : float
        Stop when the bound (2) on the sup-norm error is at most ``tol``.
    max_iter : int
        Sweeps allowed before :class:`FixedPointError` is raised.
    block : int
        Sweeps between attempts of the linear (selection) step described in the module docstring.

    Raises
    ------
    FixedPointError
        When (2) is not below ``tol`` after ``max_iter`` sweeps, or the iterates stop being finite.
    """
    clones = validate_society(mdp, mechanism, clones)
    if not (isinstance(tol, int | float) and tol > 0):
        raise ValueError(f"tol must be a positive number; got {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int; got {max_iter!r}.")
    gamma = mdp.gamma
    prim = primitive_of(mdp.n_actions, clones)
    factor = gamma / (1.0 - gamma)
    avail = np.asarray(mdp.available)
    Q = np.where(terminal_mask(mdp)[:, None], 0.0, mdp.R)
    bound = np.inf
    for it in range(1, max_iter + 1):
        bids = Q[:, prim]
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected just below
            Q_new = bellman_bids(mdp, bids, mechanism)
        if not np.all(np.abs(Q_new[avail]) < _DIVERGED):
            raise FixedPointError(
                f"the iteration of {mechanism.name!r}'s valuation map left the finite numbers after {it} sweeps "
                f"(last error bound {bound:.3g}); its lookahead is not a contraction (it should be 1-Lipschitz "
                "in the sup norm, like max or a k-th largest bid)."
            )
        bound = factor * _gap(Q_new, Q, avail) if gamma > 0 else 0.0
        if bound <= tol:
            return _result(mdp, Q_new, prim, it, bound)
        Q = Q_new
        if it % block == 0:
            cand = _selection_solve(mdp, Q[:, prim], _lookahead(mdp, mechanism, Q[:, prim]), prim, tol)
            if cand is not None:
                T_cand = bellman_bids(mdp, cand[:, prim], mechanism)
                cand_bound = factor * _gap(T_cand, cand, avail)
                if cand_bound <= tol:
                    return _result(mdp, T_cand, prim, it, cand_bound)
                if cand_bound < bound:
                    Q = T_cand
    raise FixedPointError(
        f"the truthful fixed point of {mechanism.name!r} did not converge in {max_iter} sweeps: the error bound "
        f"γ/(1−γ)·‖Tb − b‖∞ reached {bound:.3g} > tol = {tol:g}. A lookahead that is not 1-Lipschitz in the sup "
        "norm need not give a contraction; for max / k-th-largest lookaheads raise max_iter of "
        "verify.fixed_point.solve_fixed_point."
    )


def _gap(Q_new: FloatArray, Q: FloatArray, avail: NDArray[np.bool_]) -> float:
    """‖Q_new − Q‖∞ over the available pairs (the unavailable ones hold no valuation)."""
    return float(np.max(np.abs(Q_new[avail] - Q[avail])))


def _result(mdp: FiniteMDP, Q: FloatArray, prim: NDArray[np.intp], iterations: int, bound: float) -> FixedPoint:
    """The :class:`FixedPoint` of valuations ``Q``: bids per bidder, NaN (no bid) where unavailable."""
    bids = Q[:, prim]
    part = takes_part(mdp, prim.size)
    return FixedPoint(bids if part is None else np.where(part, bids, np.nan), Q, iterations, bound)


def truthful_fixed_point(mdp: FiniteMDP, mechanism: Mechanism, clones: int, tol: float = 1e-10) -> FloatArray:
    """``bids[s, m]``: the profile where every bidder bids its valuation (1); see the module docstring.

    Cloned vickrey and cloned ccv give Q*(s, m % A); solitary ccv gives the second-best fixed point.

    Parameters
    ----------
    mdp : FiniteMDP
    mechanism : Mechanism
    clones : int
        Bidders per primitive; bidder ``m`` plays primitive ``m % n_actions``.
    tol : float
        Bound (2) on the sup-norm error of the returned profile.

    Returns
    -------
    bids : array (S, n_actions · clones)

    Raises
    ------
    FixedPointError
        When the map does not converge (a lookahead that is not 1-Lipschitz).
    """
    return solve_fixed_point(mdp, mechanism, clones, tol=tol).bids
