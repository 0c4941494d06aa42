"""The credit ledger: conservation over generated MDPs, vickrey's created credit, cloned societies,
a step-by-step state machine, and a planted bug that the property catches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mechanism import (
    MECHANISMS,
    GaussianBids,
    Mechanism,
    Society,
    Trajectories,
    credit_gap,
    cumulative_discounts,
    highest_bid,
    ledger,
    rollout,
    second_price,
)
from tests.strategies import BID_GRID, bid_profiles, examples, finite_mdps

TOL = 1e-9
#: ccv with the lookahead of first price: credits b⁽¹⁾_{t+1} but the buyer pays b⁽²⁾_{t+1} (a planted bug).
LEAKY_CCV = Mechanism("leaky_ccv", price=second_price, lookahead=highest_bid)


@st.composite
def cases(draw: Any, bids: str = "table") -> tuple[Any, Any, Society, int]:
    """(MDP, bids, society, seed): small MDPs with terminals and time limits, grid bid tables (ties are common)."""
    mdp = draw(finite_mdps(dense=None, terminals=True, time_limits=True, max_states=4, max_actions=3))
    clones = draw(st.integers(1, 3))
    society = Society(mdp.n_actions, clones=clones)
    width = draw(st.sampled_from([mdp.n_actions, society.n_bidders]))
    table = draw(bid_profiles(mdp.n_states, width))
    source: Any = table if bids == "table" else GaussianBids(table, 0.1)
    return mdp, source, society, draw(st.integers(0, 2**16))


def _run(case: tuple[Any, Any, Society, int], mech: Mechanism | str) -> Trajectories:
    mdp, source, society, seed = case
    return rollout(mdp, source, mech, society, episodes=4, time_limit=mdp.time_limit or 6, seed=seed)


def _vickrey_created(traj: Trajectories) -> np.ndarray:
    """Σ_{t≥1} c_t·(b⁽¹⁾_t − b⁽²⁾_t), computed from the recorded bids with np.sort (independent of the rules)."""
    srt = np.sort(traj.bids, axis=-1)
    spread = srt[..., -1] - (srt[..., -2] if traj.n_bidders > 1 else 0.0)
    c = cumulative_discounts(traj)
    return (c * spread * traj.mask)[:, 1:].sum(axis=1)


@pytest.mark.parametrize("name", ["ccv", "first_price", "bucket_brigade", "env_reward"])
@given(case=st.one_of(cases("table"), cases("gaussian")))
def test_conserving_mechanisms_have_zero_gap(name: str, case: tuple[Any, Any, Society, int]) -> None:
    traj = _run(case, name)
    assert np.abs(credit_gap(traj)).max() <= TOL


@given(case=st.one_of(cases("table"), cases("gaussian")))
def test_vickrey_gap_is_the_created_spread(case: tuple[Any, Any, Society, int]) -> None:
    traj = _run(case, "vickrey")
    assert np.allclose(credit_gap(traj), _vickrey_created(traj), rtol=0, atol=TOL)
    if traj.n_bidders > 1:  # with one bidder b⁽²⁾ = 0 by convention, and the "spread" is the bid itself
        assert (credit_gap(traj) >= -TOL).all()


@given(case=cases("table"))
def test_cloned_identical_bids_make_vickrey_and_ccv_agree(case: tuple[Any, Any, Society, int]) -> None:
    mdp, table, society, seed = case
    society = Society(mdp.n_actions, clones=max(2, society.clones))
    shared = np.asarray(table)[:, : mdp.n_actions]  # one column per primitive: twins bid the same
    v = _run((mdp, shared, society, seed), "vickrey")
    c = _run((mdp, shared, society, seed), "ccv")
    assert np.array_equal(v.states, c.states)
    assert np.array_equal(v.utilities, c.utilities)
    assert np.abs(credit_gap(v)).max() <= TOL  # b⁽¹⁾ = b⁽²⁾ everywhere: vickrey conserves too


@given(case=cases("table"))
def test_ledger_sums_to_the_utilities(case: tuple[Any, Any, Society, int]) -> None:
    traj = _run(case, "first_price")
    wealth = ledger(traj)
    assert wealth.shape == (*traj.mask.shape, traj.n_bidders)
    assert np.allclose(wealth.sum(axis=2), np.cumsum(traj.utilities, axis=1), atol=TOL)
    discounted = ledger(traj, discounted=True)[:, -1].sum(axis=1)
    assert np.allclose(discounted, (cumulative_discounts(traj) * traj.utilities).sum(axis=1), atol=TOL)
    # Losers get 0: a bidder's wealth only moves at the auctions it wins.
    moved = np.diff(wealth, axis=1, prepend=0.0) != 0
    won = traj.winners[:, :, None] == np.arange(traj.n_bidders)
    assert not (moved & ~won).any()


def test_planted_bug_fails_conservation() -> None:
    """A ccv whose lookahead is the first price creates credit, and the property finds a case."""

    def leaks(case: tuple[Any, Any, Society, int]) -> bool:
        return bool(np.abs(credit_gap(_run(case, LEAKY_CCV))).max() > TOL)

    case = find(cases("table"), leaks, settings=settings(max_examples=500, database=None))
    gap = credit_gap(_run(case, LEAKY_CCV))
    assert np.abs(gap).max() > TOL
    assert np.abs(credit_gap(_run(case, "ccv"))).max() <= TOL  # the same case conserves under real ccv


def test_credit_gap_by_hand() -> None:
    """Two steps of vickrey on a 2-state chain: gap = γ·(b⁽¹⁾ − b⁽²⁾) at the second auction."""
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1.0
    from tasks import FiniteMDP

    mdp = FiniteMDP(P, np.array([[0.0], [1.0], [0.0]]), 0.5, start=np.eye(3)[0], terminal=np.array([0, 0, 1]))
    bids = np.array([[0.3, 0.1], [0.9, 0.4], [0.0, 0.0]])
    traj = rollout(mdp, bids, "vickrey", Society(1, 2), episodes=1, time_limit=5, seed=0)
    # U_0 = 0 + 0.5·0.9 − 0.1 = 0.35; U_1 = 1 − 0.4 = 0.6 (terminal). Σ c U = 0.35 + 0.5·0.6 = 0.65;
    # Σ c r − p_0 = 0.5 − 0.1 = 0.4; gap = 0.25 = c_1·(0.9 − 0.4).
    assert traj.utilities[0].tolist() == pytest.approx([0.35, 0.6])
    assert float(credit_gap(traj)[0]) == pytest.approx(0.25, abs=1e-15)
    assert ledger(traj)[0, -1].tolist() == pytest.approx([0.95, 0.0])


class AuctionLedger(RuleBasedStateMachine):
    """Hold auctions one at a time with the rules, and check the ledger after every step.

    The machine keeps its own books (each bidder's discounted wealth, Σ c_t r_t, p_0 and the
    credit created) and, after every step, builds the :class:`Trajectories` of the steps so far
    (the last one cut by the time limit unless it was terminal) and checks ``ledger`` and
    ``credit_gap`` against them.
    """

    @initialize(
        name=st.sampled_from(["vickrey", "ccv", "first_price", "env_reward"]),
        n=st.integers(1, 3),
        clones=st.integers(1, 3),
        gamma=st.sampled_from([0.5, 0.9, 0.99]),
        data=st.data(),
    )
    def setup(self, name: str, n: int, clones: int, gamma: float, data: Any) -> None:
        self.mech = MECHANISMS[name]
        self.M, self.n, self.gamma = n * clones, n, gamma
        self.bids_t = np.array(data.draw(st.lists(st.sampled_from(BID_GRID), min_size=self.M, max_size=self.M)))
        self.rows: list[dict[str, Any]] = []
        self.wealth = np.zeros(self.M)
        self.c = 1.0
        self.earned = 0.0
        self.created = 0.0
        self.done = False

    @precondition(lambda self: not self.done and len(self.rows) < 8)
    @rule(
        reward=st.sampled_from([0.0, 1.0, 0.5, -0.5]),
        terminal=st.booleans(),
        data=st.data(),
    )
    def auction(self, reward: float, terminal: bool, data: Any) -> None:
        b = self.bids_t
        b_tp1 = np.array(data.draw(st.lists(st.sampled_from(BID_GRID), min_size=self.M, max_size=self.M)))
        w = int(self.mech.winner(b))
        price = float(self.mech.price(b, np.asarray(w)))
        credit = 0.0 if terminal else float(self.mech.credit(b_tp1))
        utility = reward + self.gamma * credit - price
        if self.rows and self.mech.name == "vickrey":
            self.created += self.c * (np.sort(b)[-1] - (np.sort(b)[-2] if self.M > 1 else 0.0))
        self.wealth[w] += self.c * utility
        self.earned += self.c * reward
        self.rows.append(dict(bids=b, winner=w, reward=reward, price=price, credit=credit, terminal=terminal))
        self.c *= self.gamma
        self.bids_t, self.done = b_tp1, terminal

    @precondition(lambda self: self.done or len(self.rows) >= 8)
    @rule()
    def new_episode(self) -> None:
        """Close the books and start a fresh episode from the current bids."""
        self.rows, self.wealth = [], np.zeros(self.M)
        self.c, self.earned, self.created, self.done = 1.0, 0.0, 0.0, False

    def _trajectories(self) -> Trajectories:
        T = len(self.rows)
        col = {k: np.array([[r[k] for r in self.rows]]) for k in ("winner", "reward", "price", "credit", "terminal")}
        truncated = np.zeros((1, T), dtype=bool)
        truncated[0, -1] = not self.done
        disc = np.full((1, T), self.gamma)
        revenue = col["reward"] + disc * col["credit"]
        return Trajectories(
            states=np.zeros((1, T), dtype=np.intp),
            bids=np.array([[r["bids"] for r in self.rows]]),
            winners=col["winner"],
            primitives=col["winner"] % self.n,
            rewards=col["reward"],
            taus=np.ones((1, T), dtype=np.intp),
            discounts=disc,
            prices=col["price"],
            payments=np.array([[np.where(np.arange(self.M) == r["winner"], r["price"], 0.0) for r in self.rows]]),
            credits=col["credit"],
            revenues=revenue,
            utilities=revenue - col["price"],
            terminated=col["terminal"].astype(bool),
            truncated=truncated,
            mask=np.ones((1, T), dtype=bool),
            final_states=np.zeros(1, dtype=np.intp),
            final_bids=self.bids_t[None, :],
            gamma=self.gamma,
            mechanism=self.mech.name,
        )

    @invariant()
    def books_balance(self) -> None:
        if not self.rows:
            return
        p_0 = self.rows[0]["price"]
        outstanding = 0.0 if self.done else self.c * self.rows[-1]["credit"]
        # Σ_m wealth_m = Σ c_t r_t − p_0 + c_T·κ_{T−1} (if cut) + credit created (vickrey only).
        assert self.wealth.sum() == pytest.approx(self.earned - p_0 + outstanding + self.created, abs=TOL)
        traj = self._trajectories()
        assert np.allclose(ledger(traj, discounted=True)[0, -1], self.wealth, atol=TOL)
        assert float(credit_gap(traj)[0]) == pytest.approx(self.created, abs=TOL)


TestAuctionLedger = AuctionLedger.TestCase
TestAuctionLedger.settings = settings(max_examples=examples(40), stateful_step_count=8, deadline=None)
