"""Executing a primitive: the one place where a winner's transformation is run, for a batch of episodes.

A society's auction picks a primitive; the primitive then *acts* until it hands the state back
(DESIGN §1). For a batch of episodes at states s_0 with primitives o, :func:`execute` returns

    s_τ,    Σ_{k<τ} γ^k r_k,    γ^τ,    τ,    cut

the state reached, the discounted reward collected on the way, the discount of the next auction,
the number of environment steps taken, and whether the episode's step budget (its time limit)
ran out before the primitive stopped. Both :func:`mechanism.rollout` and :func:`mechanism.train`
call it; neither knows how long a primitive runs.

* **Literal actions** (a plain :class:`tasks.FiniteMDP`): τ = 1, s_1 ~ P(· | s_0, a) by
  :func:`mechanism.transitions.transitions` (one uniform per draw, none where the successor is
  deterministic), reward R[s_0, a], discount γ, never cut. These are exactly the draws the
  simulator made before options existed, so seeds give the same trajectories as before.
* **Options** (a :class:`tasks.OptionsMDP`, built by :func:`tasks.options_mdp`): the option
  (π_o, β_o) runs in the base MDP step by step (Sutton, Precup & Singh 1999, §2): at step k it plays
  a_k ~ π_o(· | s_k), the base MDP moves to s_{k+1} ~ P(· | s_k, a_k) and pays r_k = R(s_k, a_k),
  counted as γ^k·r_k, and the option stops at s_{k+1} with probability β_o(s_{k+1}) (always at a
  terminal state). Every episode still running advances in lockstep: one Python iteration per
  inner step, numpy over the episodes; the batch shrinks as options stop. A uniform is drawn for
  the action only where π_o(· | s) is not a single action, and for the stop only where
  0 < β_o(s) < 1. An option still running when the episode's budget is spent is *cut*: it
  returns the state it reached (a truncation, not a termination: the caller bootstraps).

Its expectation is the semi-MDP the exact solvers use: E[γ^τ·1{s_τ = s'}] = γ·P[s_0, o, s'] and
E[Σ_{k<τ} γ^k r_k] = R[s_0, o] for ``tasks.options_mdp`` (checked by Monte Carlo in
``tests/test_options_society.py``).

A bare ``FiniteMDP(..., substochastic=True)`` is a discounted kernel without durations: it can
be solved but not simulated, and :func:`executor` refuses it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from mechanism.transitions import Transitions, transitions
from tasks.mdp import FiniteMDP
from tasks.options import OptionsMDP

__all__ = ["MAX_OPTION_STEPS", "Execution", "Executor", "execute", "executor"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

#: Without a step budget, an option that has run this many base steps without stopping is refused
#: (an option may loop for ever in a discounted MDP: the exact kernel gives it mass 0, a simulator
#: cannot run it); pass a budget (a time limit) instead.
MAX_OPTION_STEPS = 100_000
#: Batch shapes whose literal-action constants (γ, 1, False) an Executor keeps.
_SHAPES_KEPT = 8


class Execution(NamedTuple):
    """What running the primitives did, every array the shape of the batch of states."""

    s_tau: IntArray  #: the state reached, s_τ
    reward: FloatArray  #: Σ_{k<τ} γ^k r_k, the discounted reward collected (r_0 for a literal action)
    discount: FloatArray  #: γ^τ, the discount of the next auction
    tau: IntArray  #: τ >= 1, the base (environment) steps taken
    cut: BoolArray  #: the step budget ran out while the option was still running (a truncation)


@dataclass(frozen=True, eq=False)
class _OptionTables:
    """Every option's policy and termination as flat arrays over cells o·S + s, for gathers by batch."""

    n_states: int
    action: IntArray  #: (O·S,) the action where π_o(· | s) is a single action (else its first positive one)
    stochastic: BoolArray  #: (O·S,) π_o(· | s) has two or more actions of positive probability
    cdf: FloatArray  #: (O·S, A) cumulative π_o(· | s), +inf from the last positive action on
    beta: FloatArray  #: (O·S,) β_o(s), 1 at the base's terminal states
    any_stochastic: bool
    any_fractional: bool  #: some 0 < β_o(s) < 1


def _option_tables(mdp: OptionsMDP) -> _OptionTables:
    pi = mdp.option_policies  # (O, S, A)
    O, S, A = pi.shape
    positive = pi > 0
    count = positive.sum(axis=-1)
    action = np.argmax(positive, axis=-1).astype(np.intp)  # an all-zero row (a terminal state): action 0
    last = A - 1 - np.argmax(positive[..., ::-1], axis=-1)
    cdf = np.cumsum(pi, axis=-1)
    cdf[np.arange(A) >= last[..., None]] = np.inf  # a uniform that rounding leaves above the sum: the last action
    beta = mdp.option_terminations
    return _OptionTables(
        S, action.reshape(-1), (count > 1).reshape(-1), cdf.reshape(O * S, A), beta.reshape(-1),
        bool((count > 1).any()), bool(((beta > 0) & (beta < 1)).any()),
    )


def _actions(tab: _OptionTables, cell: IntArray, rng: np.random.Generator) -> IntArray:
    """a ~ π_o(· | s) at cells o·S + s (inverse CDF); uniforms only where π_o(· | s) is stochastic."""
    a = np.take(tab.action, cell)
    if tab.any_stochastic:
        draw = np.flatnonzero(np.take(tab.stochastic, cell))
        if draw.size:
            u = rng.random(draw.size)
            a[draw] = (u[:, None] >= tab.cdf[cell[draw]]).sum(axis=-1)
    return a


def _stops(tab: _OptionTables, cell: IntArray, rng: np.random.Generator) -> BoolArray:
    """Whether each option stops at cells o·S + s': β = 1, or a uniform below a fractional β (drawn only there)."""
    beta = np.take(tab.beta, cell)
    stop = beta >= 1.0
    if tab.any_fractional:
        draw = np.flatnonzero((beta > 0.0) & ~stop)
        if draw.size:
            stop[draw] = rng.random(draw.size) < beta[draw]
    return stop


@dataclass(frozen=True, eq=False)
class Executor:
    """Runs the primitives of one MDP (build with :func:`executor`); see the module docstring."""

    gamma: float
    n_primitives: int
    R: FloatArray  #: flat rewards s·A + a of the MDP the steps are taken in (the base for options)
    env: Transitions  #: the transition sampler of that MDP
    n_actions: int  #: actions of that MDP
    options: _OptionTables | None  #: None: literal actions
    _constants: dict[tuple[int, ...], tuple[FloatArray, IntArray, BoolArray]] = field(
        default_factory=dict, repr=False
    )

    @property
    def literal(self) -> bool:
        """Whether every primitive is a literal action (τ = 1)."""
        return self.options is None

    def __call__(
        self, states: IntArray, primitives: IntArray, rng: np.random.Generator, budget: IntArray | None = None
    ) -> Execution:
        """Run primitive ``primitives[i]`` from ``states[i]`` for every i (module docstring).

        ``budget`` (same shape, each >= 1, or None: no limit) is how many base steps each episode
        has left; internal callers guarantee its range (:func:`execute` checks it).
        """
        if self.options is None:
            rows = states * self.n_actions + primitives
            return Execution(self.env.successor(rows, rng), np.take(self.R, rows), *self._one_step(states.shape))
        return self._run_options(np.asarray(states, dtype=np.intp), np.asarray(primitives, dtype=np.intp), rng, budget)

    def _one_step(self, shape: tuple[int, ...]) -> tuple[FloatArray, IntArray, BoolArray]:
        """γ, 1 and False of a literal action over ``shape``: read-only arrays, built once per shape."""
        cached = self._constants.get(shape)
        if cached is None:
            cached = (np.full(shape, self.gamma), np.ones(shape, dtype=np.intp), np.zeros(shape, dtype=bool))
            for x in cached:
                x.setflags(write=False)
            if len(self._constants) >= _SHAPES_KEPT:
                self._constants.clear()
            self._constants[shape] = cached
        return cached

    def _run_options(
        self, states: IntArray, primitives: IntArray, rng: np.random.Generator, budget: IntArray | None
    ) -> Execution:
        """Every option step by step in the base MDP, in lockstep over the episodes still running.

        The episodes still running after k inner steps have all taken k steps, so γ^k is one
        number per step. The working arrays hold the running episodes only; an episode that stops
        (or is cut) is written out and dropped.
        """
        tab = self.options
        if tab is None:
            raise TypeError("literal actions have no options to run")
        shape = states.shape
        s_out = states.reshape(-1).copy()
        n = s_out.size
        reward_out, discount_out = np.zeros(n), np.ones(n)
        tau_out, cut_out = np.zeros(n, dtype=np.intp), np.zeros(n, dtype=bool)
        idx = np.arange(n)  # which episodes are running
        s, o_cell, reward = s_out.copy(), primitives.reshape(-1) * tab.n_states, np.zeros(n)
        left = None if budget is None else np.asarray(budget, dtype=np.intp).reshape(-1).copy()
        cap = MAX_OPTION_STEPS if left is None else int(left.max(initial=1))
        g = 1.0  # γ^k
        for k in range(cap):
            rows = s * self.n_actions + _actions(tab, o_cell + s, rng)
            reward += g * np.take(self.R, rows)
            s = self.env.successor(rows, rng)
            g *= self.gamma
            stop = _stops(tab, o_cell + s, rng)
            cut = None if left is None else (left <= k + 1) & ~stop
            done = stop if cut is None else stop | cut
            if not done.any():
                continue
            out = idx[done]
            s_out[out], reward_out[out], discount_out[out], tau_out[out] = s[done], reward[done], g, k + 1
            if cut is not None:
                cut_out[out] = cut[done]
            keep = ~done
            idx, s, o_cell, reward = idx[keep], s[keep], o_cell[keep], reward[keep]
            if left is not None:
                left = left[keep]
            if idx.size == 0:
                break
        if idx.size:
            raise ValueError(
                f"an option ran {MAX_OPTION_STEPS} base steps without stopping (option "
                f"{int(o_cell[0]) // tab.n_states}); its termination never fires on that path. Give the episodes "
                "a time limit (time_limit=), or make the option stop (termination > 0 somewhere it goes)."
            )
        return Execution(
            s_out.reshape(shape), reward_out.reshape(shape), discount_out.reshape(shape), tau_out.reshape(shape),
            cut_out.reshape(shape),
        )


#: One Executor per MDP, built on first use (a FiniteMDP is immutable).
_CACHE: weakref.WeakKeyDictionary[FiniteMDP, Executor] = weakref.WeakKeyDictionary()


def executor(mdp: FiniteMDP) -> Executor:
    """The executor of ``mdp``'s primitives: its actions, or the options of an :class:`tasks.OptionsMDP`.

    Raises
    ------
    ValueError
        For a substochastic ``FiniteMDP`` that is not an ``OptionsMDP``: its kernel says where a
        primitive ends and at what discount, not how long it runs, so it cannot be simulated.
    """
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}.")
    cached = _CACHE.get(mdp)
    if cached is not None:
        return cached
    if isinstance(mdp, OptionsMDP):
        base = mdp.base
        out = Executor(
            float(mdp.gamma), mdp.n_actions, np.ascontiguousarray(base.R, dtype=np.float64).reshape(-1),
            transitions(base), base.n_actions, _option_tables(mdp),
        )
    elif mdp.substochastic:
        raise ValueError(
            f"{mdp!r} has a substochastic (discounted) kernel but no options: it can be solved, not simulated, "
            "since its kernel does not say how many steps a transition takes. Build it with "
            "tasks.options_mdp(base_mdp, options), which keeps the options to run."
        )
    else:
        out = Executor(
            float(mdp.gamma), mdp.n_actions, np.ascontiguousarray(mdp.R, dtype=np.float64).reshape(-1),
            transitions(mdp), mdp.n_actions, None,
        )
    _CACHE[mdp] = out
    return out


def execute(
    mdp: FiniteMDP, states: Any, primitives: Any, rng: np.random.Generator, budget: Any = None
) -> Execution:
    """Run primitive ``primitives[i]`` of ``mdp`` from ``states[i]`` for a batch of episodes.

    Parameters
    ----------
    mdp : tasks.FiniteMDP
        Literal actions, or a :class:`tasks.OptionsMDP` (whose options run in ``mdp.base``).
    states, primitives : int arrays of one shape
        s_0 and the primitive (action or option) each episode runs.
    rng : numpy.random.Generator
        The only source of randomness.
    budget : int array of that shape, or int, optional
        Base steps each episode has left before its time limit (>= 1); None: no limit.

    Returns
    -------
    Execution
        ``(s_tau, reward, discount, tau, cut)``, each of the shape of ``states``: s_τ,
        Σ_{k<τ} γ^k r_k, γ^τ, τ and whether the budget cut the option (module docstring).
    """
    run = executor(mdp)
    s = np.asarray(states)
    o = np.asarray(primitives)
    if s.shape != o.shape or s.dtype.kind not in "iu" or o.dtype.kind not in "iu":
        raise ValueError(f"states and primitives must be int arrays of one shape; got {s.shape} and {o.shape}.")
    if s.size and ((s < 0).any() or (s >= mdp.n_states).any() or (o < 0).any() or (o >= run.n_primitives).any()):
        raise ValueError(f"states must lie in 0..{mdp.n_states - 1} and primitives in 0..{run.n_primitives - 1}.")
    left = None
    if budget is not None:
        left = np.broadcast_to(np.asarray(budget), s.shape)
        if left.dtype.kind not in "iu" or (left < 1).any():
            raise ValueError("budget must be ints >= 1 (base steps left before the time limit), or None.")
    return run(s, o, rng, left)
