"""MDPs from other toolkits: gymnasium's toy-text tables (here) and the peers' arrays (:mod:`tasks.peers`).

No dependency on either package: the importers read their data layouts, and
:func:`frozen_lake_dict` / :func:`taxi_dict` rebuild gymnasium's FrozenLake-v1 and Taxi-v3
tables from their documented rules (gymnasium/envs/toy_text/frozen_lake.py and taxi.py).
QuantEcon's ``DiscreteDP`` and pymdptoolbox's layouts are read by :func:`tasks.peers.from_quantecon`
and :func:`tasks.peers.from_mdptoolbox` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from tasks.mdp import ROW_SUM_TOL, FiniteMDP, as_float_array
from tasks.peers import from_mdptoolbox, from_quantecon, to_mdptoolbox

__all__ = [
    "FROZEN_LAKE_MAPS",
    "TAXI_MAP",
    "from_gymnasium",
    "from_mdptoolbox",
    "from_quantecon",
    "frozen_lake",
    "frozen_lake_dict",
    "taxi",
    "taxi_dict",
    "to_gymnasium",
    "to_mdptoolbox",
]

GymDict = dict[int, dict[int, list[tuple[float, int, float, bool]]]]


# ---------------------------------------------------------------------- gymnasium tables
def _is_absorbing_terminated(entries: Mapping[int, Any], s: int) -> bool:
    """Whether state ``s`` is listed as an absorbing, zero-reward, terminated state (FrozenLake's H/G)."""
    for trans in entries.values():
        # malformed entries are not absorbing; the main loop reports them with their key
        if not isinstance(trans, Sequence) or len(trans) != 1:
            return False
        if not isinstance(trans[0], Sequence) or len(trans[0]) != 4:
            return False
        p, s_next, r, term = trans[0]
        if not (p == 1.0 and s_next == s and r == 0 and bool(term)):
            return False
    return True


def from_gymnasium(
    P_dict: Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]],
    gamma: float,
    start: ArrayLike | None = None,
    time_limit: int | None = None,
    *,
    sparse: bool = False,
    name: str = "gymnasium",
) -> FiniteMDP:
    r"""Build a FiniteMDP from a gymnasium toy-text table ``P[s][a] = [(p, s', r, terminated), ...]``.

    ``R[s, a] = Σ p·r`` over the listed transitions, and duplicate successors are merged
    (their probabilities add). A *terminated* transition ends the episode: it goes to an
    absorbing, zero-reward terminal state instead of ``s'``. That terminal is ``s'`` itself when
    the table already lists ``s'`` as absorbing, zero-reward and terminated under every action
    (FrozenLake's holes and goal: ``P[s'][a] = [(1.0, s', 0, True)]``), and otherwise ONE added
    state, index ``S`` (Taxi's successful dropoff), so the MDP then has S + 1 states.

    Parameters
    ----------
    P_dict : mapping
        ``P_dict[s][a]`` for s in 0..S-1 and a in 0..A-1 (every state has the same actions).
    gamma : float
        Discount in [0, 1).
    start : array (S,), optional
        Start distribution over the table's states (padded with 0 for an added terminal).
        Default: uniform over the non-terminal states.
    time_limit : int, optional
        Episode cut.
    sparse : bool
        Return a CSR kernel instead of a dense one.
    name : str
        Label of the result.

    Raises
    ------
    ValueError, TypeError
        Naming the key ``P_dict[s][a]`` (and entry) that is malformed.
    """
    if not isinstance(P_dict, Mapping):
        raise TypeError(f"P_dict must be a mapping state -> action -> transitions; got {type(P_dict).__name__}.")
    S = len(P_dict)
    if S == 0 or set(P_dict) != set(range(S)):
        raise ValueError(f"P_dict's keys must be the states 0..{S - 1}; got {sorted(P_dict, key=repr)[:10]}...")
    A = -1
    rows: list[int] = []
    cols: list[int] = []
    probs: list[float] = []
    rewards = np.zeros((S, 0))
    term_states = {s for s in range(S) if isinstance(P_dict[s], Mapping) and _is_absorbing_terminated(P_dict[s], s)}
    needs_extra = False
    for s in range(S):
        entries = P_dict[s]
        if not isinstance(entries, Mapping):
            raise TypeError(f"P_dict[{s}] must map actions to transition lists; got {type(entries).__name__}.")
        if A < 0:
            A = len(entries)
            if A == 0:
                raise ValueError("P_dict[0] has no actions; every state needs the same actions 0..A-1.")
            rewards = np.zeros((S, A))
        if set(entries) != set(range(A)):
            raise ValueError(
                f"P_dict[{s}] has actions {sorted(entries, key=repr)}; expected 0..{A - 1} like P_dict[0]."
            )
        for a in range(A):
            trans = entries[a]
            if isinstance(trans, str | bytes) or not isinstance(trans, Sequence) or len(trans) == 0:
                raise ValueError(f"P_dict[{s}][{a}] must be a non-empty list of (p, s', r, terminated) tuples.")
            total = 0.0
            for j, item in enumerate(trans):
                where = f"P_dict[{s}][{a}][{j}]"
                if isinstance(item, str | bytes) or not isinstance(item, Sequence) or len(item) != 4:
                    raise ValueError(f"{where} = {item!r}; each transition must be (p, s', r, terminated).")
                p, s_next, r, term = item
                if isinstance(p, bool) or not isinstance(p, Real) or not np.isfinite(p) or p < 0:
                    raise ValueError(f"{where} has probability {p!r}; it must be a finite number >= 0.")
                if isinstance(s_next, bool) or not isinstance(s_next, int | np.integer) or not 0 <= s_next < S:
                    raise ValueError(f"{where} has next state {s_next!r}; it must be an int in 0..{S - 1}.")
                if isinstance(r, bool) or not isinstance(r, Real) or not np.isfinite(r):
                    raise ValueError(f"{where} has reward {r!r}; it must be a finite number.")
                if not isinstance(term, bool | np.bool_ | int | np.integer) or term not in (0, 1):
                    raise ValueError(f"{where} has terminated = {term!r}; it must be a bool.")
                target = int(s_next)
                if term and target not in term_states:
                    target, needs_extra = S, True
                if s in term_states:
                    target = s
                rows.append(s * A + a)
                cols.append(target)
                probs.append(float(p))
                rewards[s, a] += float(p) * float(r)
                total += float(p)
            if abs(total - 1.0) > ROW_SUM_TOL:
                raise ValueError(f"P_dict[{s}][{a}] probabilities sum to {total!r}, not 1 (tolerance {ROW_SUM_TOL:g}).")
    S_out = S + 1 if needs_extra else S
    terminal = np.zeros(S_out, dtype=bool)
    terminal[list(term_states)] = True
    R = np.zeros((S_out, A))
    R[:S] = rewards
    if needs_extra:
        terminal[S] = True
        rows.extend(S * A + a for a in range(A))
        cols.extend([S] * A)
        probs.extend([1.0] * A)
    # COO -> CSR sums duplicate (row, col) entries: the merge of repeated successors.
    K = sp.csr_array(
        (np.asarray(probs), (np.asarray(rows), np.asarray(cols))), shape=(S_out * A, S_out), dtype=np.float64
    )
    K.sum_duplicates()
    start_arr: NDArray[np.float64] | None = None
    if start is not None:
        d = as_float_array(start, "start")
        if d.shape != (S,):
            raise ValueError(f"start has shape {d.shape}; it must be a distribution over the table's {S} states.")
        start_arr = np.concatenate([d, np.zeros(S_out - S)])
    P: NDArray[np.float64] | sp.csr_array = K if sparse else K.toarray().reshape(S_out, A, S_out)
    return FiniteMDP(P, R, gamma, start=start_arr, terminal=terminal, time_limit=time_limit, name=name)


def to_gymnasium(mdp: FiniteMDP) -> GymDict:
    """The toy-text table of ``mdp``: ``P[s][a] = [(p, s', R[s, a], s' is terminal), ...]``.

    Every listed transition carries the expected reward ``R[s, a]`` (the MDP stores no
    per-transition rewards), so ``Σ p·r = R[s, a]`` and :func:`from_gymnasium` inverts it exactly.
    Terminal states are listed as ``[(1.0, s, 0.0, True)]``.

    Raises
    ------
    ValueError
        For an MDP with unavailable actions: a toy-text table lists every action in every state.
    """
    if not np.asarray(mdp.available).all():
        s, a = (int(i) for i in np.argwhere(~np.asarray(mdp.available))[0])
        raise ValueError(
            f"{mdp!r} has unavailable actions (e.g. action {a} at state {s}); a gymnasium toy-text table lists "
            "every action in every state, so it cannot hold this MDP."
        )
    S, A = mdp.n_states, mdp.n_actions
    terminal = np.zeros(S, dtype=bool) if mdp.terminal is None else mdp.terminal
    K = sp.csr_array(mdp.kernel)
    table: GymDict = {}
    for s in range(S):
        table[s] = {}
        for a in range(A):
            if terminal[s]:
                table[s][a] = [(1.0, s, 0.0, True)]
                continue
            row = s * A + a
            lo, hi = K.indptr[row], K.indptr[row + 1]
            r = float(mdp.R[s, a])
            table[s][a] = [
                (float(p), int(t), r, bool(terminal[t])) for p, t in zip(K.data[lo:hi], K.indices[lo:hi], strict=True)
            ]
    return table


# ---------------------------------------------------------------------- FrozenLake-v1
#: gymnasium's FrozenLake maps: 'S' start, 'F' frozen, 'H' hole, 'G' goal.
FROZEN_LAKE_MAPS: dict[str, tuple[str, ...]] = {
    "4x4": ("SFFF", "FHFH", "FFFH", "HFFG"),
    "8x8": ("SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"),
}
_FL_MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))  # 0 left, 1 down, 2 right, 3 up


def _frozen_lake_desc(map_name: str, desc: Sequence[str] | None) -> tuple[str, ...]:
    if desc is not None:
        return tuple(desc)
    if map_name not in FROZEN_LAKE_MAPS:
        raise ValueError(f"map_name = {map_name!r}; choose one of {sorted(FROZEN_LAKE_MAPS)} or pass desc.")
    return FROZEN_LAKE_MAPS[map_name]


def frozen_lake_dict(map_name: str = "8x8", is_slippery: bool = True, desc: Sequence[str] | None = None) -> GymDict:
    """gymnasium FrozenLake-v1's table ``P[s][a]``, state ``s = row·ncol + col``.

    Actions 0 left, 1 down, 2 right, 3 up; a move off the map stays put. Slippery: the intended
    direction and the two perpendicular ones, 1/3 each (listed separately, as gymnasium does,
    so an edge can repeat a successor). Entering 'G' pays 1 and terminates, entering 'H'
    terminates with 0; in H and G every action is ``(1.0, s, 0, True)``.
    """
    rows = _frozen_lake_desc(map_name, desc)
    nrow, ncol = len(rows), len(rows[0])
    table: GymDict = {}
    for r in range(nrow):
        for c in range(ncol):
            s = r * ncol + c
            table[s] = {}
            for a in range(4):
                if rows[r][c] in "GH":
                    table[s][a] = [(1.0, s, 0.0, True)]
                    continue
                moves = ((a - 1) % 4, a, (a + 1) % 4) if is_slippery else (a,)
                trans = []
                for m in moves:
                    dr, dc = _FL_MOVES[m]
                    nr, nc = min(max(r + dr, 0), nrow - 1), min(max(c + dc, 0), ncol - 1)
                    letter = rows[nr][nc]
                    trans.append((1.0 / len(moves), nr * ncol + nc, float(letter == "G"), letter in "GH"))
                table[s][a] = trans
    return table


def frozen_lake(
    map_name: str = "8x8", is_slippery: bool = True, gamma: float = 0.99, desc: Sequence[str] | None = None
) -> FiniteMDP:
    """FrozenLake-v1 as a FiniteMDP: S = nrow·ncol, holes and goal terminal, start at 'S'.

    Time limit as gymnasium registers it: 100 steps (4x4) and 200 (8x8 or a custom map).
    """
    rows = _frozen_lake_desc(map_name, desc)
    start = np.array([ch == "S" for row in rows for ch in row], dtype=np.float64)
    if start.sum() == 0:
        raise ValueError("the map has no 'S' cell to start from.")
    limit = 100 if desc is None and map_name == "4x4" else 200
    label = map_name if desc is None else f"{len(rows)}x{len(rows[0])} custom"
    table = frozen_lake_dict(map_name, is_slippery, desc)
    name = f"frozen_lake({label}, slippery={bool(is_slippery)})"
    return from_gymnasium(table, gamma, start=start / start.sum(), time_limit=limit, name=name)


# ---------------------------------------------------------------------- Taxi-v3
#: gymnasium Taxi-v3's map: '|' is a wall between two columns, ':' an open passage.
TAXI_MAP: tuple[str, ...] = (
    "+---------+",
    "|R: | : :G|",
    "| : | : : |",
    "| : : : : |",
    "| | : | : |",
    "|Y| : |B: |",
    "+---------+",
)
_TAXI_LOCS = ((0, 0), (0, 4), (4, 0), (4, 3))  # R, G, Y, B


def _taxi_encode(row: int, col: int, pass_loc: int, dest: int) -> int:
    return ((row * 5 + col) * 5 + pass_loc) * 4 + dest


def taxi_dict() -> GymDict:
    """gymnasium Taxi-v3's table: 500 states ``((row·5 + col)·5 + pass_loc)·4 + dest``, 6 actions.

    Actions 0 south, 1 north, 2 east, 3 west, 4 pickup, 5 dropoff; pass_loc 0..3 = R, G, Y, B
    and 4 = in the taxi. Every step pays −1; an illegal pickup or dropoff −10; dropping the
    passenger at the destination pays +20 and terminates; dropping it at another of the four
    locations leaves it there (−1). East/west moves are blocked by the map's '|'. Deterministic.
    """
    table: GymDict = {}
    for row in range(5):
        for col in range(5):
            for pass_loc in range(5):
                for dest in range(4):
                    s = _taxi_encode(row, col, pass_loc, dest)
                    table[s] = {}
                    for a in range(6):
                        new_row, new_col, new_pass, reward, term = row, col, pass_loc, -1.0, False
                        here = (row, col)
                        if a == 0:
                            new_row = min(row + 1, 4)
                        elif a == 1:
                            new_row = max(row - 1, 0)
                        elif a == 2 and TAXI_MAP[1 + row][2 * col + 2] == ":":
                            new_col = min(col + 1, 4)
                        elif a == 3 and TAXI_MAP[1 + row][2 * col] == ":":
                            new_col = max(col - 1, 0)
                        elif a == 4:
                            if pass_loc < 4 and here == _TAXI_LOCS[pass_loc]:
                                new_pass = 4
                            else:
                                reward = -10.0
                        elif a == 5:
                            if here == _TAXI_LOCS[dest] and pass_loc == 4:
                                new_pass, term, reward = dest, True, 20.0
                            elif here in _TAXI_LOCS and pass_loc == 4:
                                new_pass = _TAXI_LOCS.index(here)
                            else:
                                reward = -10.0
                        table[s][a] = [(1.0, _taxi_encode(new_row, new_col, new_pass, dest), reward, term)]
    return table


def taxi(gamma: float = 0.99, *, sparse: bool = False) -> FiniteMDP:
    """Taxi-v3 as a FiniteMDP with 501 states: gymnasium's 500 (same encoding) plus terminal 500.

    A successful dropoff is a terminated transition, so it goes to the added absorbing terminal
    state 500 (see :func:`from_gymnasium`). Start: uniform over the 300 states with the passenger
    at one of the four locations and a different destination, as gymnasium's reset; time limit 200.
    """
    start = np.zeros(500)
    for row in range(5):
        for col in range(5):
            for pass_loc in range(4):
                for dest in range(4):
                    if pass_loc != dest:
                        start[_taxi_encode(row, col, pass_loc, dest)] = 1.0
    return from_gymnasium(taxi_dict(), gamma, start=start / start.sum(), time_limit=200, sparse=sparse, name="taxi")
