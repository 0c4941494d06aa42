"""What every tabular learner shares: the transition record, the interface, and table scatters.

Every learner holds its tables with a leading *seed* axis, shape (N, S, A) for N seeds, S states
and A primitives (actions), so that :func:`mechanism.train` advances all seeds in lockstep with
no Python loop over seeds or bidders. Within a round, each seed runs E parallel episodes; the
visits of one round to the same (seed, state, primitive) cell are aggregated before the update
(:func:`scatter_mean`), which is what makes the batched update well defined.

Bidder m plays primitive ``m % A`` (clone ``m // A``), the :class:`mechanism.Society`
convention, so a table over primitives becomes a table over bidders with ``np.tile(x, clones)``.

Schedules. Learners converge when their step sizes and their exploration are scheduled in the
units the convergence theory counts: the step size of a cell by the cell's own visit count
(:func:`robbins_monro_rate`), exploration by the environment steps a seed has taken
(:func:`exploration_rate`), not by the fraction of a run (which makes the same number of steps
behave differently in a short and a long run). :func:`mechanism.train` passes both counters: the
visit counts live in the learners' tables, the env steps in :attr:`Transition.env_steps` and in
the ``env_steps`` keyword of :meth:`Learner.sample` / ``act``.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SCHEDULES",
    "STEP_SIZES",
    "Learner",
    "StepCounters",
    "Transition",
    "accepts_env_steps",
    "accepts_keyword",
    "advance",
    "available_table",
    "check_exploration",
    "check_step_size",
    "exploration_rate",
    "group_cells",
    "horizon_gamma",
    "kesten_rate",
    "linear_schedule",
    "masked_argmax",
    "offset_for_gamma",
    "robbins_monro_rate",
    "robbins_monro_step",
    "scatter_mean",
    "step_counters",
    "step_power",
    "step_rate",
    "tile_clones",
]

#: Exploration schedules: in env steps per seed (the default), or the old linear run-fraction one.
SCHEDULES: tuple[str, ...] = ("steps", "run_fraction")
#: Step-size schedules by name (a float is a constant step).
STEP_SIZES: tuple[str, ...] = ("kesten", "robbins_monro", "1/n")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class Transition(NamedTuple):
    """One round of every seed's E parallel auctions, the data a learner updates from.

    All arrays have the batch shape (N, E) unless stated; ``seed`` is the seed row of each
    entry, so ``(seed, s_t)`` indexes the learner's (N, S, ·) tables.

    Primitives that run for several steps (the options of a :class:`tasks.OptionsMDP`): one
    round is one auction per episode, ``r_t`` is the discounted reward Σ_{k<τ} γ^k r_k the winner's
    option collected over its τ base steps, and ``discount_t`` is γ^τ, per episode: whatever
    bootstraps (a credit, a TD target, GAE) must discount by ``discount_t``, never by a scalar γ.
    """

    seed: IntArray  #: (N, E) seed row
    s_t: IntArray  #: (N, E) state auctioned
    #: (N, E, M) bids submitted at s_t; NaN for a bidder whose action is unavailable at s_t (it took no part)
    bids_t: FloatArray
    winner: IntArray  #: (N, E) winning bidder
    a_t: IntArray  #: (N, E) primitive (action or option) applied, winner % A
    r_t: FloatArray  #: (N, E) environment reward (discounted over the option's steps, Σ_{k<τ} γ^k r_k)
    s_tp1: IntArray  #: (N, E) state reached
    terminated: NDArray[np.bool_]  #: (N, E) the transition entered a terminal state
    #: (N, E) γ^τ, the discount of the state reached (γ for a literal action); a float (hand-built
    #: transitions, older code) means that discount for every entry
    discount_t: FloatArray | float
    credit_t: FloatArray  #: (N, E) lookahead(b_{t+1}) at s_tp1, 0 after termination
    revenue_t: FloatArray  #: (N, E) r_t + γ^τ·credit_t
    price_t: FloatArray  #: (N, E) what the winner pays
    progress: float  #: fraction of the run completed, in [0, 1), for run-fraction schedules
    payments_t: FloatArray  #: (N, E, M) what every bidder pays (the winner's entry is ``price_t``)
    #: decisions (auctions) each seed had taken before this round (every seed runs in lockstep, so
    #: one count; env steps for literal actions): the clock of env-step schedules. A trailing field
    #: with a default, so a Transition built positionally from the first 14 fields (older code)
    #: still works, with 0.
    env_steps: int = 0
    #: γ of one environment step (the MDP's discount factor), for what needs a horizon rather than a
    #: discount (the step offset h = 1/(1 − γ)); None (older code): the largest ``discount_t``
    gamma: float | None = None


def horizon_gamma(step: Transition) -> float:
    """γ of one environment step of ``step``: ``step.gamma``, or the largest ``discount_t`` when it is None.

    For literal actions every ``discount_t`` is γ, so both agree; for options ``discount_t`` is
    γ^τ <= γ, which varies with the option's duration, and a schedule keyed to a horizon
    (:func:`offset_for_gamma`) takes the MDP's γ: the horizon of the slowest possible progress.
    """
    if step.gamma is not None:
        return float(step.gamma)
    return float(np.max(step.discount_t))


class Learner(Protocol):
    """The interface :func:`mechanism.train` drives; every learner is a frozen dataclass of hyperparameters.

    ``params`` is a NamedTuple of arrays with a leading seed axis; :meth:`update` changes them in
    place (the training loop is the only caller, and copying tables every round would dominate
    its cost). ``monolithic`` learners choose the action themselves and ignore the auction.

    Backward compatibility. :func:`mechanism.train` passes ``env_steps`` (the env steps per seed
    so far) to :meth:`sample` (and a monolithic learner's ``act``) as a keyword only when the
    method accepts it (:func:`accepts_env_steps`), so a learner written against the older
    ``sample(params, seed, s, progress, rng)`` keeps working; ``progress`` is still the run
    fraction. One optional method, ``bid_params(params) -> dict[str, (N, S, A) array]``: the full
    bid parameters that :class:`mechanism.TrainResult` records at checkpoints (a learner without
    it records none).

    Action masks. When the MDP has actions unavailable in some states, :func:`mechanism.train`
    passes the (S, A) mask to :meth:`init` as ``available=`` when ``init`` accepts that keyword
    (:func:`accepts_keyword`); the built-in learners keep it and then never bid to win, explore,
    update or act greedily with an unavailable primitive, and report NaN as its mean bid. Whatever
    the learner, the training loop holds every auction among the available primitives only
    (:mod:`mechanism.auction`), records NaN as the bid of the others (``Transition.bids_t``), and
    refuses a monolithic learner that acts with an unavailable action.
    """

    name: str
    monolithic: bool

    def init(self, n_seeds: int, n_states: int, n_primitives: int, clones: int, rng: np.random.Generator) -> Any:
        """Fresh tables for every seed (a mask-aware learner also takes ``available=``, a bool (S, A) mask or None)."""
        ...

    def sample(
        self, params: Any, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator, env_steps: int = 0
    ) -> FloatArray:
        """Bids (..., M) of every bidder at states ``s`` (...) of seed rows ``seed`` (...).

        ``progress`` is the run fraction in [0, 1); ``env_steps`` the env steps per seed so far.
        """
        ...

    def update(self, params: Any, step: Transition) -> None:
        """Learn from one round, in place."""
        ...

    def mean_bids(self, params: Any) -> FloatArray:
        """The mean bid of every (seed, state, bidder), shape (N, S, M)."""
        ...

    def greedy(self, params: Any) -> IntArray:
        """The greedy policy of every seed, shape (N, S): the primitive the learner would apply."""
        ...


def accepts_keyword(method: Any, name: str) -> bool:
    """Whether ``method`` takes the keyword ``name`` (by name or through ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def accepts_env_steps(method: Any) -> bool:
    """Whether ``method`` takes an ``env_steps`` keyword (by name or through ``**kwargs``)."""
    return accepts_keyword(method, "env_steps")


def available_table(available: Any, n_states: int, n_primitives: int) -> NDArray[np.bool_] | None:
    """The (S, A) action mask a learner keeps: a read-only bool copy, or None when every action is available."""
    if available is None:
        return None
    mask = np.array(available, dtype=bool)
    if mask.shape != (n_states, n_primitives):
        raise ValueError(f"available has shape {mask.shape}; it must be the (S, A) = {(n_states, n_primitives)} mask.")
    if mask.all():
        return None
    mask.setflags(write=False)
    return mask


def masked_argmax(x: FloatArray, available: NDArray[np.bool_] | None) -> IntArray:
    """``argmax`` over the last axis among the available entries (ties to the lowest index).

    ``x`` (..., S, A) and ``available`` (S, A) or None (every entry available: plain argmax).
    """
    if available is None:
        return np.argmax(x, axis=-1)
    return np.argmax(np.where(available, x, -np.inf), axis=-1)


def tile_clones(x: FloatArray, clones: int) -> FloatArray:
    """A per-primitive array (..., A) as a per-bidder one (..., A·clones): bidder m plays m % A."""
    return np.tile(x, clones) if clones > 1 else x


def linear_schedule(start: float, end: float, progress: float) -> float:
    """``start + (end − start)·progress``: a linearly annealed hyperparameter."""
    return float(start + (end - start) * progress)


def group_cells(index: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
    """The distinct flat cells of ``index``, each entry's position among them, and the visits per cell.

    Work is O(n log n) in the n entries of one round, never O(table size): a round of N·E auctions
    touches at most N·E·M cells however many states the MDP has.

    Returns
    -------
    cells : int array (K,)
        The distinct cells, sorted.
    inverse : int array (n,)
        ``cells[inverse] == index.ravel()``.
    count : float array (K,)
        How many entries landed in each cell.
    """
    cells, inverse = np.unique(np.ravel(index), return_inverse=True)
    return cells, inverse.reshape(-1), np.bincount(inverse.reshape(-1)).astype(np.float64)


def scatter_mean(values: FloatArray, index: IntArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per visited cell, the mean and the count of ``values`` scattered to flat cells ``index``.

    Parameters
    ----------
    values, index : arrays of the same shape
        What to add, and the flat cell (e.g. ``(seed·S + s)·A + a``) it goes to.

    Returns
    -------
    cells, mean, count : arrays (K,)
        The K distinct cells visited, the mean of the values that landed in each, and how many did.
    """
    cells, inverse, count = group_cells(index)
    return cells, np.bincount(inverse, weights=np.ravel(values)) / count, count


# ---------------------------------------------------------------------------- schedules
def robbins_monro_step(n: FloatArray, power: float, offset: float) -> FloatArray:
    """α_n = (h / (h + n − 1))^ω for the n-th visit of a cell (n >= 1): α_1 = 1, then a Robbins–Monro decay.

    With ω ∈ (1/2, 1] and h > 0, Σ_n α_n = ∞ (ω <= 1) and Σ_n α_n² < ∞ (2ω > 1): the step-size
    conditions of stochastic approximation (Robbins & Monro 1951). ω = 1, h = 1 is the plain
    average 1/n; ω = 1 with h ≈ 1/(1 − γ) is the "rescaled linear" step of Wainwright (2019) and
    Li et al. (2021), whose sample complexity is polynomial in 1/(1 − γ), while 1/n needs a time
    exponential in it (Even-Dar & Mansour 2003, Thm 4); ω < 1 is polynomial too (ibid., Thm 2).
    The first visit has α_1 = 1, so the initial estimate is forgotten at once.
    """
    return np.power(offset / (offset + np.asarray(n, dtype=np.float64) - 1.0), power)


def _visits(k: FloatArray) -> tuple[IntArray, FloatArray]:
    """For k visits per cell: the cell of every single visit, and its position 1..k among the cell's visits."""
    counts = np.asarray(k, dtype=np.intp)
    group = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return group, (np.arange(group.size) - first[group] + 1).astype(np.float64)


def _rate(n_before: FloatArray, visits: tuple[IntArray, FloatArray], power: float, offset: float) -> FloatArray:
    """1 − Π over the round's visits of (1 − α_j), j = n_before + position, as a sum of log1p terms."""
    group, position = visits
    alpha = robbins_monro_step(np.asarray(n_before, dtype=np.float64)[group] + position, power, offset)
    with np.errstate(divide="ignore"):  # α_1 = 1: log(1 − 1) = −inf, the rate is 1
        keep = np.bincount(group, weights=np.log1p(-alpha), minlength=np.size(n_before))
    return -np.expm1(keep)


def robbins_monro_rate(n_before: FloatArray, k: FloatArray, power: float, offset: float) -> FloatArray:
    """The step of a cell that gets k visits in one round after ``n_before``: 1 − Π_{j=n+1}^{n+k} (1 − α_j).

    Moving the estimate by this rate towards the mean target of the k visits is exactly k
    sequential :func:`robbins_monro_step` updates when the k targets are equal, and the round
    counts k visits towards the cell's schedule. The product is summed as Σ log1p(−α_j) over the
    round's visits (O(visits) work): the closed form for ω = 1, Γ(n + k)·Γ(h + n)/(Γ(n)·Γ(h + n + k)),
    loses 5 digits to cancellation at n = 10^6.

    Parameters
    ----------
    n_before, k : float arrays (K,)
        Visits before the round and in it, per cell (k >= 1, whole numbers).
    power, offset : float
        ω and h of :func:`robbins_monro_step`.

    Returns
    -------
    float array (K,) in (0, 1]
    """
    return _rate(n_before, _visits(k), power, offset)


def exploration_rate(
    epsilon: float, epsilon_final: float, epsilon_steps: float, schedule: str, progress: float, env_steps: int
) -> float:
    """ε of the current round.

    ``schedule="steps"`` (in env steps t per seed, the default):
    ε_t = ε_final + (ε − ε_final)·T / (T + t), T = ``epsilon_steps``: ε at the start, halfway to
    ε_final after T steps, ε_final in the limit, the same at step t in a run of any length.
    ``schedule="run_fraction"``: the older ε + (ε_final − ε)·progress, linear over the run.

    With ε_final > 0 every primitive keeps a probability of at least ε_final per visit of being
    explored, so every (state, primitive) that the society can reach is tried infinitely often,
    the condition of the asynchronous convergence theorems. With ε_final = 0 the harmonic decay
    still explores the states visited at a positive rate infinitely often (Σ_t ε_t = ∞), but a
    state that needs d >= 2 exploring steps in a row to reach is seen with Σ_t ε_t^d < ∞: finitely
    often. The run-fraction schedule reaches ε_final within the run: no guarantee at all.
    """
    if schedule == "run_fraction":
        return linear_schedule(epsilon, epsilon_final, progress)
    return float(epsilon_final + (epsilon - epsilon_final) * epsilon_steps / (epsilon_steps + env_steps))


def offset_for_gamma(offset: float | None, gamma: float) -> float:
    """h of the Robbins–Monro step: ``offset``, or 1/(1 − γ) when it is None (γ = 0 gives 1: the plain average)."""
    return float(offset) if offset is not None else 1.0 / (1.0 - float(gamma))


def check_step_size(step_size: Any, power: float | None, offset: float | None) -> None:
    """Refuse a step size that is not a float in (0, 1] or a name of :data:`STEP_SIZES`, and bad ω, h."""
    if isinstance(step_size, str):
        if step_size not in STEP_SIZES:
            raise ValueError(f"step_size must be a float in (0, 1] or one of {STEP_SIZES}; got {step_size!r}.")
    elif isinstance(step_size, bool) or not isinstance(step_size, int | float) or not 0.0 < float(step_size) <= 1.0:
        raise ValueError(f"step_size must lie in (0, 1] or be one of {STEP_SIZES}; got {step_size!r}.")
    if power is not None and not 0.5 < float(power) <= 1.0:
        raise ValueError(f"step_power must lie in (1/2, 1] (Σα = ∞, Σα² < ∞); got {power!r}.")
    if offset is not None and not (np.isfinite(offset) and float(offset) > 0.0):
        raise ValueError(f"step_offset must be a finite float > 0, or None for 1/(1 − γ); got {offset!r}.")


def check_exploration(epsilon: float, epsilon_final: float, epsilon_steps: float, schedule: str) -> None:
    """Refuse ε outside [0, 1], a schedule not in :data:`SCHEDULES`, or ``epsilon_steps`` <= 0."""
    for key, value in (("epsilon", epsilon), ("epsilon_final", epsilon_final)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{key} must lie in [0, 1]; got {value!r}.")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}; got {schedule!r}.")
    if not (np.isfinite(epsilon_steps) and float(epsilon_steps) > 0.0):
        raise ValueError(f"epsilon_steps must be a finite number > 0 (env steps per seed); got {epsilon_steps!r}.")


class StepCounters(NamedTuple):
    """What the step-size schedules count per (seed, state, primitive), all (N, S, A) float arrays."""

    n: FloatArray  #: visits (updates) of the cell so far
    clock: FloatArray  #: Kesten's clock: visits counted at the rounds where the mean error changed sign, doubled
    sign: FloatArray  #: sign of the cell's last mean error (0 before the first)


def step_counters(shape: tuple[int, ...]) -> StepCounters:
    """Fresh counters: no visit, clock 0, no sign."""
    return StepCounters(np.zeros(shape), np.zeros(shape), np.zeros(shape))


def kesten_rate(
    n_before: FloatArray, clock_before: FloatArray, k: FloatArray, power: float, offset: float
) -> FloatArray:
    """Kesten's accelerated step (Kesten 1958) between two Robbins–Monro envelopes, for k visits in a round.

    The step is the rescaled linear one read on Kesten's clock m instead of the visit count n,
    h/(h + m − 1), where m advances only when the error changes sign; it is clipped between the
    envelopes a_n = h/(h + n − 1) (ω = 1) and b_n = (h/(h + n − 1))^ω (ω = ``power`` < 1), both
    as k-visit rates (:func:`robbins_monro_rate`). While bootstrapped targets drift (the values
    still rising towards the fixed point, as in a deterministic task), the error keeps its sign,
    the clock stops and the step stays at b_n; once the error is noise, its sign changes about
    every other round, the clock runs at the visit rate and the step falls to a_n.

    Convergence: a_n <= α_n <= b_n with Σ a_n = ∞ and Σ b_n² < ∞ (2ω > 1), and α_n is a function
    of the past, which is all the asynchronous stochastic-approximation theorems ask of a step
    (Tsitsiklis 1994, Thm 3: step sizes may be random, adapted to the history).
    """
    visits = _visits(k)
    lo, hi = _rate(n_before, visits, 1.0, offset), _rate(n_before, visits, power, offset)
    return np.clip(_rate(clock_before, visits, 1.0, offset), lo, hi)


def step_rate(
    step_size: float | str,
    n_before: FloatArray,
    k: FloatArray,
    power: float,
    offset: float,
    clock_before: FloatArray | None = None,
) -> FloatArray:
    """The per-cell step of one round of k visits after ``n_before``, for any step-size setting.

    A constant α: 1 − (1 − α)^k (k sequential steps); ``"1/n"``: k/(n + k), the running average;
    ``"robbins_monro"``: :func:`robbins_monro_rate`; ``"kesten"``: :func:`kesten_rate` (which
    needs ``clock_before``).
    """
    if step_size == "kesten":
        clock = n_before if clock_before is None else clock_before
        return kesten_rate(n_before, clock, k, power, offset)
    if step_size == "robbins_monro":
        return robbins_monro_rate(n_before, k, power, offset)
    if step_size == "1/n":
        return k / (n_before + k)
    alpha = float(step_size)
    return -np.expm1(k * np.log1p(-alpha)) if alpha < 1 else np.ones_like(k)


def step_power(step_size: float | str, power: float | None) -> float:
    """ω of a step-size setting: ``power``, or by default 0.6 for "kesten" (its upper envelope) and 1 otherwise."""
    if power is not None:
        return float(power)
    return KESTEN_POWER if step_size == "kesten" else 1.0


def advance(
    counters: StepCounters,
    step_size: float | str,
    power: float | None,
    offset: float | None,
    gamma: float,
    cells: IntArray,
    k: FloatArray,
    error: FloatArray,
) -> FloatArray:
    """The step of every visited cell this round, and the counters advanced (in place).

    Parameters
    ----------
    counters : StepCounters
    step_size, power, offset
        The learner's setting (:func:`step_rate`); ``offset`` None is h = 1/(1 − γ).
    gamma : float
        γ of the transitions (for the default h).
    cells : int array (K,)
        The flat cells visited this round; ``k`` (K,) their visits.
    error : float array (K,)
        Mean target minus the estimate, per cell (its sign drives Kesten's clock).

    Returns
    -------
    float array (K,): the rate to move each estimate towards its mean target.
    """
    n, clock, sign = (x.reshape(-1) for x in counters)
    h = offset_for_gamma(offset, gamma)
    rate = step_rate(step_size, n[cells], k, step_power(step_size, power), h, clock[cells])
    now = np.sign(error)
    clock[cells] += np.where(now * sign[cells] < 0, 2.0 * k, 0.0)
    sign[cells] = np.where(now != 0, now, sign[cells])
    n[cells] += k
    return rate


#: Defaults shared by the valuation bidders and Q-learning (matched schedules): the step-size rule,
#: its ω (None: per rule, :func:`step_power`) and h (None: 1/(1 − γ)), ε_0, the exploration floor
#: ε_final and the half-life T of ε in env steps per seed. See :mod:`mechanism.learners.valuation`
#: for the measurements behind them.
STEP_SIZE = "kesten"
STEP_POWER: float | None = None
STEP_OFFSET: float | None = None
#: ω of the upper envelope of the Kesten step (:func:`kesten_rate`).
KESTEN_POWER = 0.6
EPSILON = 1.0
EPSILON_FINAL = 0.5
EPSILON_STEPS = 10_000.0
