"""Options and the exact semi-MDP they induce (Sutton, Precup & Singh 1999).

An *option* o = (π, β, I) over a base MDP runs from a state of its initiation set I: at each step
it takes an action a ~ π(· | s), the environment moves to s' ~ P(· | s, a) and pays r(s, a), and
the option stops at s' with probability β(s') (always at a terminal state of the base MDP). It
runs τ >= 1 steps. Seen from the states where options start and stop, the options form a
*semi-MDP* with

    M[s, o, s'] = E[γ^τ · 1{s_τ = s'} | s_0 = s],     R[s, o] = E[Σ_{k<τ} γ^k r_k | s_0 = s]

(Sutton, Precup & Singh 1999, "Between MDPs and semi-MDPs", eqs. 8-9), and the optimal option
values solve Q(s, o) = R[s, o] + Σ_{s'} M[s, o, s'] max_{o'} Q(s', o').

Both are computed exactly, by one linear solve per option. With P_π[s, s'] = Σ_a π(a|s) P(s'|s, a),
r_π[s] = Σ_a π(a|s) r(s, a) and c = 1 − β (0 at terminal states: the option must stop there),
conditioning on the first step gives

    N = P_π·diag(1 − c) + γ·P_π·diag(c)·N,   i.e.   (I − γ·P_π·diag(c))·N = P_π·diag(1 − c),
    (I − γ·P_π·diag(c))·R_o = r_π,

with N[s, s'] = E[γ^(τ−1)·1{s_τ = s'}] = M[s, o, s']/γ. Agora stores N as the semi-MDP's kernel
(``FiniteMDP(..., substochastic=True)``): its rows sum to E[γ^(τ−1)] <= 1, and ``γ·N = M``, so
every solver, fixed point and exploitability, written with ``γ·P``, needs no change. The matrix
I − γ·P_π·diag(c) is invertible: for γ < 1 the rows of γ·P_π·diag(c) sum to at most γ, and at
γ = 1 the base MDP is proper (``FiniteMDP`` checks it: every policy reaches a terminal state,
where every option stops), so P_π·diag(c) is transient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from tasks.mdp import ROW_SUM_TOL, FiniteMDP, as_float_array

__all__ = ["DENSE_SOLVE_UP_TO", "Option", "OptionsMDP", "one_step_options", "options_mdp"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Option:
    """An option (π, β, I) over a base MDP with S states and A actions.

    Parameters
    ----------
    policy : array (S, A) of probabilities, or int array (S,) of actions
        π(a | s), the action distribution the option plays at s, or the action it plays at each
        state. Checked where the option can act: at the non-terminal states where it may start or
        go on (β < 1); there a row sums to 1 and plays available actions only.
    termination : array (S,)
        β(s) in [0, 1], the probability that the option stops on *reaching* s (after a step; an
        option always runs at least one step). It always stops at a terminal state.
    initiation : bool array (S,), optional
        I, the states where the option may start; default every state.
    name : str
        A label for reports (e.g. ``"open door"``).

    Shapes are checked against the base MDP by :func:`options_mdp`; values here.
    """

    policy: Any
    termination: Any
    initiation: Any = None
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        pol = np.asarray(self.policy)
        if pol.ndim == 1:
            if pol.dtype.kind not in "iu":
                raise TypeError(
                    f"Option policy of shape {pol.shape} must hold action indices (ints); for probabilities pass "
                    "an (S, A) array."
                )
            pol = pol.astype(np.intp)
        elif pol.ndim == 2:
            pol = as_float_array(pol, "Option policy")
            if not np.isfinite(pol).all() or (pol < 0).any():
                raise ValueError("Option policy holds a negative or non-finite probability; pass pi(a|s) in [0, 1].")
        else:
            raise ValueError(f"Option policy must be (S, A) probabilities or (S,) actions; got shape {pol.shape}.")
        beta = as_float_array(self.termination, "Option termination")
        if beta.ndim != 1:
            raise ValueError(f"Option termination must be beta(s), shape (S,); got shape {beta.shape}.")
        if not np.isfinite(beta).all() or (beta < 0).any() or (beta > 1).any():
            s = int(np.argmax(~np.isfinite(beta) | (beta < 0) | (beta > 1)))
            raise ValueError(f"Option termination[{s}] = {float(beta[s])!r}; a stop probability must lie in [0, 1].")
        init = None
        if self.initiation is not None:
            init = np.asarray(self.initiation)
            if init.dtype != bool:
                raise TypeError(f"Option initiation must be a boolean mask of shape (S,); got dtype {init.dtype}.")
            if init.ndim != 1:
                raise ValueError(f"Option initiation must be a boolean mask of shape (S,); got shape {init.shape}.")
            init = init.copy()
        for a in (pol, beta, init):
            if a is not None:
                a.setflags(write=False)
        object.__setattr__(self, "policy", pol)
        object.__setattr__(self, "termination", beta)
        object.__setattr__(self, "initiation", init)

    def probabilities(self, n_actions: int) -> FloatArray:
        """π as an (S, A) matrix of probabilities."""
        if self.policy.ndim == 2:
            return np.asarray(self.policy)
        out = np.zeros((self.policy.shape[0], n_actions))
        out[np.arange(self.policy.shape[0]), self.policy] = 1.0
        return out


def one_step_options(mdp: FiniteMDP) -> list[Option]:
    """One option per action a: play a once and stop (β = 1), where a is available.

    Their semi-MDP is the base MDP itself: ``options_mdp(mdp, one_step_options(mdp))`` has the same
    P, R and Q* (Sutton, Precup & Singh 1999, §3: primitive actions are one-step options).
    """
    S, A = mdp.n_states, mdp.n_actions
    available = np.asarray(mdp.available)
    return [
        Option(np.full(S, a, dtype=np.intp), np.ones(S), initiation=available[:, a].copy(), name=f"action {a}")
        for a in range(A)
    ]


@dataclass(frozen=True, eq=False)
class OptionsMDP(FiniteMDP):
    """The semi-MDP of ``options`` over ``base``: a :class:`FiniteMDP` with ``substochastic=True``.

    Its action o is option ``options[o]``; ``P``, ``R`` as in the module docstring; ``gamma``,
    ``start``, ``terminal`` and ``time_limit`` (in *base* steps) are the base MDP's, and
    ``available[s, o]`` is the option's initiation set. The simulator (:func:`mechanism.rollout`,
    :func:`mechanism.train`) runs each option step by step in ``base``; the solvers use the kernel.
    """

    base: FiniteMDP = field(kw_only=True)
    options: tuple[Option, ...] = field(kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.base, FiniteMDP) or not self.substochastic:
            raise TypeError("build an OptionsMDP with tasks.options_mdp(mdp, options).")

    @property
    def option_policies(self) -> FloatArray:
        """π_o(a | s) of every option, shape (O, S, A)."""
        return np.stack([o.probabilities(self.base.n_actions) for o in self.options])

    @property
    def option_terminations(self) -> FloatArray:
        """β_o(s) of every option with the forced stop at terminal states, shape (O, S)."""
        beta = np.stack([np.asarray(o.termination) for o in self.options])
        return np.where(np.asarray(self.base.terminal)[None, :], 1.0, beta)

    def __repr__(self) -> str:
        return f"OptionsMDP({len(self.options)} options over {self.base!r})"


# ---------------------------------------------------------------------------------------------- building
def _resolved(option: Any, k: int, mdp: FiniteMDP) -> tuple[FloatArray, FloatArray, BoolArray]:
    """(π (S, A), β (S,), I (S,)) of ``option``, checked against the base MDP ``mdp``."""
    if not isinstance(option, Option):
        raise TypeError(f"options[{k}] is {type(option).__name__}; pass tasks.Option(policy, termination, initiation).")
    S, A = mdp.n_states, mdp.n_actions
    pol = option.policy
    if pol.ndim == 1:
        if pol.shape != (S,) or (pol < 0).any() or (pol >= A).any():
            raise ValueError(f"options[{k}].policy must be {S} actions in 0..{A - 1}; got shape {pol.shape}, "
                             f"values {int(pol.min())}..{int(pol.max())}.")
    elif pol.shape != (S, A):
        raise ValueError(f"options[{k}].policy has shape {pol.shape}; over this MDP it must be (S, A) = ({S}, {A}).")
    beta = option.termination
    if beta.shape != (S,):
        raise ValueError(f"options[{k}].termination has shape {beta.shape}; it must be beta(s), shape ({S},).")
    init = np.ones(S, dtype=bool) if option.initiation is None else option.initiation
    if init.shape != (S,):
        raise ValueError(f"options[{k}].initiation has shape {init.shape}; it must be a mask of shape ({S},).")
    pi = option.probabilities(A)
    # The option acts where it may start and where it may go on after arriving (β < 1); its policy
    # elsewhere is never used.
    live = ~np.asarray(mdp.terminal) & (init | (beta < 1.0))
    off = live & (np.abs(pi.sum(axis=1) - 1.0) > ROW_SUM_TOL)
    if off.any():
        s = int(np.argmax(off))
        raise ValueError(f"options[{k}].policy[{s}] sums to {float(pi[s].sum())!r}, not 1; normalise each row.")
    wrong = live[:, None] & (pi > 0) & ~np.asarray(mdp.available)
    if wrong.any():
        s, a = (int(i) for i in np.argwhere(wrong)[0])
        raise ValueError(f"options[{k}] plays action {a} at state {s}, where it is unavailable (mdp.available); "
                         "give that action probability 0 there.")
    return pi, np.where(np.asarray(mdp.terminal), 1.0, beta), init


def _policy_rows(mdp: FiniteMDP, pi: FloatArray) -> tuple[Any, FloatArray]:
    """P_π (S, S) (dense, or CSR for a sparse base) and r_π (S,) of the stationary policy π."""
    S, A = mdp.n_states, mdp.n_actions
    r_pi = np.einsum("sa,sa->s", pi, mdp.R)
    if mdp.is_sparse:
        W = sp.csr_array((pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
        return sp.csr_array(W @ mdp.kernel), r_pi
    return np.einsum("sa,sat->st", pi, mdp.dense_P), r_pi


#: Up to this many states the (S, S) system is solved dense even for a sparse base: an option's
#: kernel row reaches most states (N is dense in practice) and a sparse LU's column-by-column solves
#: of the stop columns cost more than one LAPACK solve (S = 2,000: 2.3 s against 0.8 s).
DENSE_SOLVE_UP_TO = 4096


def option_model(mdp: FiniteMDP, pi: FloatArray, beta: FloatArray) -> tuple[Any, FloatArray]:
    """(N, R_o) of one option: N[s, s'] = E[γ^(τ−1) 1{s_τ = s'}], R_o[s] = E[Σ_{k<τ} γ^k r_k] (module docstring).

    Up to :data:`DENSE_SOLVE_UP_TO` states, ``numpy.linalg.solve`` on the (S, S) system (N in CSR
    for a sparse base); above, one sparse LU (``scipy.sparse.linalg.splu``) solved for the columns
    where the option can stop.
    """
    S = mdp.n_states
    P_pi, r_pi = _policy_rows(mdp, pi)
    c = 1.0 - beta
    if isinstance(P_pi, np.ndarray) or S <= DENSE_SOLVE_UP_TO:
        dense = P_pi if isinstance(P_pi, np.ndarray) else P_pi.toarray()
        lhs = np.eye(S) - mdp.gamma * dense * c[None, :]
        out = np.asarray(np.linalg.solve(lhs, np.column_stack([dense * beta[None, :], r_pi])), dtype=np.float64)
        N = _clean(out[:, :S])
        return (N if isinstance(P_pi, np.ndarray) else sp.csr_array(N)), out[:, S]
    lhs = sp.csc_array(sp.eye_array(S) - mdp.gamma * (P_pi @ sp.diags_array(c)))
    stops = np.flatnonzero(beta > 0)
    rhs = (P_pi @ sp.diags_array(beta)).tocsc()[:, stops].toarray()
    cols = spla.splu(lhs).solve(np.column_stack([rhs, r_pi]))
    place = sp.csr_array((np.ones(stops.size), (np.arange(stops.size), stops)), shape=(stops.size, S))
    return sp.csr_array(sp.csr_array(_clean(cols[:, :-1])) @ place), cols[:, -1]


def _clean(N: FloatArray) -> FloatArray:
    """Round-off of the solve: entries in (−1e-12, 0) are 0 (a probability-weighted sum is never negative)."""
    return np.where((N < 0.0) & (N > -1e-12), 0.0, N)


def options_mdp(mdp: FiniteMDP, options: Sequence[Option], name: str | None = None) -> OptionsMDP:
    """The exact semi-MDP of ``options`` over ``mdp`` (module docstring: one linear solve per option).

    Parameters
    ----------
    mdp : tasks.FiniteMDP
        The base MDP (dense or sparse; γ < 1, or γ = 1 when it is proper).
    options : sequence of Option
        O >= 1 options; option o becomes action o of the semi-MDP.
    name : str, optional
        Default ``"options(<base name>)"``.

    Returns
    -------
    OptionsMDP
        ``P`` (S, O, S) dense (or (S·O, S) CSR for a sparse base) with ``γ·P[s, o, s'] =
        E[γ^τ 1{s_τ = s'}]``, ``R[s, o] = E[Σ_{k<τ} γ^k r_k]``, ``available[s, o]`` the initiation
        sets (at a terminal state that no option may start in, every option: it loops there with
        value 0).

    Raises
    ------
    TypeError, ValueError
        Naming the option and what is wrong: not an Option, shapes that do not fit the base MDP, a
        policy that plays an unavailable action, or a state where no option may start.
    """
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}.")
    if isinstance(mdp, OptionsMDP):
        raise TypeError("mdp is already a semi-MDP of options; build options over its base MDP (mdp.base).")
    options = tuple(options)
    if not options:
        raise ValueError("options is empty; pass at least one tasks.Option.")
    S, O = mdp.n_states, len(options)
    models = [option_model(mdp, *_resolved(o, k, mdp)[:2]) for k, o in enumerate(options)]
    terminal = np.asarray(mdp.terminal)
    available = np.column_stack([_resolved(o, k, mdp)[2] for k, o in enumerate(options)])
    available |= (terminal & ~available.any(axis=1))[:, None]  # a terminal state needs an action; it is never auctioned
    R = np.column_stack([r for _, r in models])
    if mdp.is_sparse:
        blocks = [sp.csr_array(N) for N, _ in models]
        order = (np.arange(S)[:, None] + S * np.arange(O)[None, :]).ravel()  # row s·O + o of the stack
        P: Any = sp.csr_array(sp.vstack(blocks, format="csr")[order])
    else:
        P = np.stack([N for N, _ in models], axis=1)
    label = f"options({mdp.name})" if name is None else name
    empty = ~available.any(axis=1)
    if empty.any():
        s = int(np.argmax(empty))
        raise ValueError(f"no option may start at state {s} (every initiation set leaves it out); "
                         "every non-terminal state needs at least one option.")
    return OptionsMDP(
        P, R, mdp.gamma, start=mdp.start, terminal=terminal, time_limit=mdp.time_limit, name=label,
        available=available, substochastic=True, base=mdp, options=options,
    )
