"""The one auction step, and the contract every registered mechanism passes in both simulators and the analyses.

``mechanism.auction`` is the only auction step: ``rollout`` and ``train`` call it, and so do the
analyses. The contract: for every registered mechanism, (i) its declared fast path agrees with its
functions on hypothesis-generated bids, ties included; (ii) what each simulator records at every
step (winner, every bidder's payment, the credit) is what the mechanism's own functions give for
the bids recorded there; (iii) on a deterministic MDP with a fixed bid table the two simulators
walk the same episode, step for step; (iv) the truthful fixed point solves its own equation with
the lookahead of that same step, and the credit ledger balances with payments by every bidder.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tasks
from mechanism import (
    MECHANISMS,
    Auction,
    Mechanism,
    Society,
    auction,
    credit_gap,
    cumulative_discounts,
    ledger,
    rollout,
    train,
    validate_mechanism,
)
from mechanism.learners import Transition
from mechanism.society import primitive_of
from verify import truthful_fixed_point

#: Every registered mechanism once (the registry also holds an alias).
REGISTERED = list(dict.fromkeys(MECHANISMS.values()))
IDS = [m.name for m in REGISTERED]

bid_arrays = st.integers(1, 6).flatmap(
    lambda M: hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.just(M)),
        elements=st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0, -0.5]), st.floats(-3, 3)),
    )
)


def _reference(mech: Mechanism, bids: np.ndarray) -> Auction:
    """The auction computed one bid array at a time from the mechanism's own functions."""
    rows = []
    for b in bids.reshape(-1, bids.shape[-1]):
        w = int(mech.winner(b))
        pay = mech.charge(b, np.asarray(w))
        rows.append((w, pay[w], pay, float(mech.credit(b))))
    w, price, pay, value = (np.array(x) for x in zip(*rows, strict=True))
    shape = bids.shape[:-1]
    return Auction(w.reshape(shape), price.reshape(shape), pay.reshape(bids.shape), value.reshape(shape))


@pytest.mark.parametrize("mech", REGISTERED, ids=IDS)
@given(bids=bid_arrays)
def test_auction_equals_the_rules_applied_one_array_at_a_time(mech: Mechanism, bids: np.ndarray) -> None:
    got, want = auction(mech, bids), _reference(mech, bids)
    np.testing.assert_array_equal(got.winner, want.winner)
    for field in ("price", "payments", "value"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=0, atol=1e-12)


def test_hand_worked_auction() -> None:
    # Bids (0.3, 0.7, 0.5, 0.69): bidder 1 wins; b(1) = 0.7, b(2) = 0.69 (DESIGN §1 table).
    bids = np.array([0.3, 0.7, 0.5, 0.69])
    v = auction(MECHANISMS["vickrey"], bids)
    assert (int(v.winner), float(v.price), float(v.value)) == (1, 0.69, 0.7)
    np.testing.assert_array_equal(v.payments, [0.0, 0.69, 0.0, 0.0])
    assert float(auction(MECHANISMS["ccv"], bids).value) == 0.69
    all_pay = auction(MECHANISMS["all_pay"], bids)
    np.testing.assert_array_equal(all_pay.payments, bids)  # everyone pays its own bid
    assert float(all_pay.price) == 0.7
    assert float(auction(MECHANISMS["reserve_vickrey"], np.array([0.05, 0.02])).price) == 0.1  # the floor


@pytest.mark.parametrize("mech", REGISTERED, ids=IDS)
@pytest.mark.parametrize("M", [1, 2, 3, 7])
def test_every_registered_mechanism_passes_its_contract_check(mech: Mechanism, M: int) -> None:
    assert validate_mechanism(mech, M) is mech


# ---------------------------------------------------------------------------- both simulators
class _FixedBids:
    """A test learner: a fixed bid table (S, M), never updated; keeps every round it is shown."""

    name = "fixed"
    monolithic = False

    def __init__(self, table: np.ndarray) -> None:
        self.table = table
        self.rounds: list[Transition] = []

    def init(self, n_seeds: int, n_states: int, n_primitives: int, clones: int, rng: Any) -> None:
        return None

    def sample(self, params: Any, seed: np.ndarray, s: np.ndarray, progress: float, rng: Any) -> np.ndarray:
        return self.table[s].copy()

    def update(self, params: Any, step: Transition) -> None:
        self.rounds.append(step)

    def mean_bids(self, params: Any) -> np.ndarray:
        return self.table[None].copy()

    def greedy(self, params: Any) -> np.ndarray:
        return np.argmax(self.table, axis=-1)[None]


class _Steps(NamedTuple):
    states: np.ndarray
    winners: np.ndarray
    prices: np.ndarray
    payments: np.ndarray
    credits: np.ndarray


def _train_steps(mdp: tasks.FiniteMDP, mech: Mechanism, table: np.ndarray, n: int) -> _Steps:
    learner = _FixedBids(table)
    train(mdp, mech, clones=table.shape[1] // mdp.n_actions, learner=learner, steps=n, seeds=1, episodes=1)
    r = learner.rounds
    return _Steps(*(np.array([getattr(x, k)[0, 0] for x in r]) for k in ("s_t", "winner", "price_t", "payments_t",
                                                                          "credit_t")))


def _chain_table(M: int) -> np.ndarray:
    """Bids that vary by state and bidder, under which the society walks 0 → 1 → 2 → 3 → 2 → 3 → ...

    The right-moving bidders (odd m) outbid the left-moving ones except at state 3.
    """
    table = np.random.default_rng(3).uniform(0.0, 1.0, size=(6, M))
    table[[0, 1, 2, 4], 1::2] += 1.0
    table[3, 0::2] += 1.0
    return table


@pytest.mark.parametrize("mech", REGISTERED, ids=IDS)
@pytest.mark.parametrize("clones", [1, 2])
def test_rollout_and_train_walk_the_same_episode(mech: Mechanism, clones: int) -> None:
    """Deterministic chain, fixed bids: no randomness at all, so both simulators see the same steps."""
    mdp = tasks.chain(6)
    table = _chain_table(2 * clones)
    traj = rollout(mdp, table, mech, Society(2, clones), episodes=1, time_limit=20, seed=0)
    n = int(traj.mask.sum())
    assert n == 20
    assert set(traj.states[0].tolist()) == {0, 1, 2, 3}
    got = _train_steps(mdp, mech, table, n)
    np.testing.assert_array_equal(got.states, traj.states[0, :n])
    np.testing.assert_array_equal(got.winners, traj.winners[0, :n])
    np.testing.assert_allclose(got.prices, traj.prices[0, :n], atol=1e-15)
    np.testing.assert_allclose(got.payments, traj.payments[0, :n], atol=1e-15)
    np.testing.assert_allclose(got.credits, traj.credits[0, :n], atol=1e-15)


@pytest.mark.parametrize("mech", REGISTERED, ids=IDS)
def test_every_rollout_step_is_the_auction_of_its_bids(mech: Mechanism) -> None:
    mdp = tasks.random_mdp(5, 3, seed=4, terminal_fraction=0.2)
    society = Society(3, 2)
    table = np.random.default_rng(1).uniform(-0.5, 1.5, size=(5, 6))
    traj = rollout(mdp, table, mech, society, episodes=16, time_limit=7, seed=2)
    m = traj.mask
    ref = _reference(mech, traj.bids[m])
    np.testing.assert_array_equal(traj.winners[m], ref.winner)
    np.testing.assert_allclose(traj.payments[m], ref.payments, atol=1e-15)
    np.testing.assert_allclose(traj.prices[m], ref.price, atol=1e-15)
    # The credit of step t is the value of the auction at s_{t+1}; 0 after a terminal transition.
    nxt = np.concatenate([traj.bids[:, 1:], traj.final_bids[:, None]], axis=1)
    last = np.arange(traj.horizon)[None, :] == (traj.lengths - 1)[:, None]
    nxt = np.where(last[..., None], traj.final_bids[:, None], nxt)
    want = np.where(traj.terminated, 0.0, _reference(mech, nxt).value)
    np.testing.assert_allclose(traj.credits[m], want[m], atol=1e-15)


@pytest.mark.parametrize("mech", REGISTERED, ids=IDS)
def test_ledger_balances_with_payments_by_every_bidder(mech: Mechanism) -> None:
    """credit_gap = Σ_{t≥1} c_t·(κ_{t−1} − P_t) (mechanism/ledger.py), recomputed step by step here."""
    mdp = tasks.random_mdp(4, 2, seed=7, terminal_fraction=0.25)
    table = np.random.default_rng(5).uniform(0.0, 1.0, size=(4, 4))
    traj = rollout(mdp, table, mech, Society(2, 2), episodes=32, time_limit=6, seed=9)
    c = cumulative_discounts(traj)
    paid = traj.payments.sum(axis=2)
    want = (c[:, 1:] * (traj.credits[:, :-1] - paid[:, 1:]) * traj.mask[:, 1:]).sum(axis=1)
    np.testing.assert_allclose(credit_gap(traj), want, atol=1e-12)
    wealth = ledger(traj, discounted=True)[:, -1].sum(axis=1)
    earned = (c * traj.rewards).sum(axis=1)
    boot = (traj.truncated * c * traj.discounts * traj.credits).sum(axis=1)
    np.testing.assert_allclose(wealth - (earned - paid[:, 0] + boot), want, atol=1e-12)


@pytest.mark.parametrize("mech", REGISTERED, ids=IDS)
@pytest.mark.parametrize("clones", [1, 2])
def test_truthful_fixed_point_solves_its_equation_with_the_same_auction_step(mech: Mechanism, clones: int) -> None:
    mdp = tasks.random_mdp(6, 3, seed=11, terminal_fraction=0.2)
    b = truthful_fixed_point(mdp, mech, clones)
    ell = np.where(mdp.terminal, 0.0, auction(mech, b).value)
    Q = mdp.R + mdp.gamma * (mdp.dense_P @ ell)
    Q[np.asarray(mdp.terminal)] = 0.0
    np.testing.assert_allclose(b, Q[:, primitive_of(3, clones)], atol=1e-8)


def test_sparse_and_dense_kernels_train_identically() -> None:
    """One transition sampler: the CSR and dense forms of one MDP give the same run, bit for bit."""
    dense = tasks.random_mdp(12, 3, seed=2, successors=4)
    sparse = tasks.FiniteMDP(
        _csr(dense), dense.R, dense.gamma, start=dense.start, terminal=dense.terminal, time_limit=dense.time_limit
    )
    a = train(dense, "ccv", clones=2, steps=4_000, seeds=2, time_limit=10)
    b = train(sparse, "ccv", clones=2, steps=4_000, seeds=2, time_limit=10)
    np.testing.assert_array_equal(a.bids, b.bids)


def _csr(mdp: tasks.FiniteMDP) -> Any:
    import scipy.sparse as sp

    return sp.csr_array(mdp.dense_P.reshape(mdp.n_states * mdp.n_actions, mdp.n_states))
