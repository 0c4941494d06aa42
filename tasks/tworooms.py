"""TwoRooms: two rooms, a door to open, a green and a blue goal, and the paper's three options.

Chang et al. (2020, §7, "transfer") pretrain a society on TwoRooms with the green goal and
transfer it to the blue one; its primitives are three options: open the (red) door, reach the
blue goal, reach the green goal. This is a finite, exact version of that task.

**Geometry** (``size = n``): two n×n rooms side by side, a wall column between them (column n)
with one door cell at ``(n // 2, n)``. The left room is columns 0..n−1, the right room columns
n+1..2n. The green goal is the left room's bottom-left corner ``(n − 1, 0)``, the blue goal the
right room's bottom-right corner ``(n − 1, 2n)``: the agent starts in the left room with the door
closed, so green is reachable at once and blue only through the door.

**States**: (cell, door) for the cells the agent can be in: every left-room cell with the door
closed and with it open, the door cell and every right-room cell with the door open (the door
never closes, so the right room with a closed door is unreachable and left out): S = 3n² + 1.
Both goal cells are terminal (absorbing, value 0) in both task variants; only the variant's goal
pays. So the two variants have the same states, actions, kernel and terminal states and differ in R
only: a society trained on one is a warm start on the other.

**Actions** (A = 5): ``left, down, right, up`` (:data:`tasks.GRID_ACTIONS`' order) and ``open``.
A move into a wall, the edge, or the closed door leaves the agent where it is; a move onto the open
door cell goes through. ``open`` is available only in front of the closed door, at ``(n // 2, n −
1)`` (``mdp.available`` masks it elsewhere), and opens it (the agent stays put). Deterministic.

**Reward**: 1 on entering the variant's goal, 0 otherwise; γ = 0.99 (the paper's); time limit
``10·n`` base steps by default (an episode is truncated, not terminated, there). With d(s) the
number of base steps of a shortest path to the goal, the ``open`` action included, V*(s) = γ^(d(s)−1).

**Options** (:func:`tworooms_options`; action o of the semi-MDP is option o, in this order):

- ``open door`` (o = 0): walk a shortest path to the cell in front of the door and open it; stops as
  soon as the door is open. Initiation: the states with the door closed.
- ``reach green`` (o = 1), ``reach blue`` (o = 2): walk a shortest path to the goal (around the
  other goal, a terminal trap). Where the goal is behind the closed door (blue, from the left room)
  the option walks to the cell in front of the door and stops there: it never opens the door. It
  stops at its goal (a terminal state) and, for blue behind the closed door, in front of the door.
  Initiation: every non-terminal state except the one where it could not move (reach blue in front
  of the closed door).

So in the blue variant no single option reaches the goal from a start state: the optimal
option sequences are (open door, reach blue) and (reach blue, open door, reach blue), of equal
length in base steps; in the green variant (reach green) alone is optimal. Every option follows a
shortest path, so the options' optimal value equals the base MDP's, V*_O = V* (tested).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from tasks.builders import GRID_ACTIONS, PAPER_GAMMA
from tasks.mdp import FiniteMDP
from tasks.options import Option

__all__ = [
    "GOALS",
    "TWOROOMS_ACTIONS",
    "TWOROOMS_OPTIONS",
    "TwoRooms",
    "tworooms",
    "tworooms_geometry",
    "tworooms_options",
]

#: Action names of :func:`tworooms`, in action-index order: the grid's four moves, then ``open``.
TWOROOMS_ACTIONS: tuple[str, ...] = (*GRID_ACTIONS, "open")
#: Option names of :func:`tworooms_options`, in option-index order.
TWOROOMS_OPTIONS: tuple[str, ...] = ("open door", "reach green", "reach blue")
#: The two task variants.
GOALS: tuple[str, ...] = ("green", "blue")
OPEN = 4
_MOVES: tuple[tuple[int, int], ...] = ((0, -1), (1, 0), (0, 1), (-1, 0))

Cell = tuple[int, int]
State = tuple[int, int, bool]  # (row, col, door open)
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class TwoRooms:
    """The geometry of TwoRooms of room side ``size`` and its state numbering (module docstring).

    Attributes
    ----------
    size : int
        n, the side of each room (n >= 2).
    states : tuple of (row, col, door_open)
        State s is ``states[s]``: left-room cells with the door closed (row-major), then with it
        open, then the door cell, then the right-room cells (door open).
    """

    size: int

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int | np.integer):
            raise TypeError(f"size must be an int >= 2 (the side of each room); got {self.size!r}.")
        if self.size < 2:
            raise ValueError(f"size must be >= 2 (the side of each room); got {self.size}.")

    @property
    def door(self) -> Cell:
        """The door cell, in the wall column."""
        return (self.size // 2, self.size)

    @property
    def front(self) -> Cell:
        """The left-room cell in front of the door, where ``open`` is available."""
        return (self.size // 2, self.size - 1)

    @property
    def green(self) -> Cell:
        """The green goal: the left room's bottom-left corner."""
        return (self.size - 1, 0)

    @property
    def blue(self) -> Cell:
        """The blue goal: the right room's bottom-right corner."""
        return (self.size - 1, 2 * self.size)

    def goal(self, name: str) -> Cell:
        """The cell of goal ``"green"`` or ``"blue"``."""
        if name not in GOALS:
            raise ValueError(f"goal must be one of {GOALS}; got {name!r}.")
        return self.green if name == "green" else self.blue

    @cached_property
    def states(self) -> tuple[State, ...]:
        n = self.size
        left = [(r, c) for r in range(n) for c in range(n)]
        right = [(r, c) for r in range(n) for c in range(n + 1, 2 * n + 1)]
        return (
            *((r, c, False) for r, c in left),
            *((r, c, True) for r, c in left),
            (*self.door, True),
            *((r, c, True) for r, c in right),
        )

    @cached_property
    def _index(self) -> dict[State, int]:
        return {st: s for s, st in enumerate(self.states)}

    @property
    def n_states(self) -> int:
        """S = 3n² + 1."""
        return 3 * self.size**2 + 1

    def state(self, row: int, col: int, door_open: bool) -> int:
        """The index of state (row, col, door_open); ValueError for one that is not a state."""
        try:
            return self._index[(int(row), int(col), bool(door_open))]
        except KeyError:
            raise ValueError(
                f"({row}, {col}, door_open={door_open}) is not a TwoRooms state of size {self.size}: cells are "
                f"0 <= row < {self.size}, 0 <= col <= {2 * self.size}, the door is {self.door} (open only), "
                "and the right room exists with the door open only."
            ) from None

    def is_goal(self, name: str) -> BoolArray:
        """(S,) mask of the states on goal ``name``'s cell (door closed or open)."""
        cell = self.goal(name)
        return np.array([(r, c) == cell for r, c, _ in self.states])

    @cached_property
    def terminal(self) -> BoolArray:
        """(S,) mask of the terminal states: both goals' cells."""
        return self.is_goal("green") | self.is_goal("blue")

    @property
    def start(self) -> NDArray[np.float64]:
        """Uniform over the left room's non-goal cells with the door closed."""
        live = np.array([not d for _, _, d in self.states]) & ~self.terminal
        return live / live.sum()

    def step(self, s: int, a: int) -> int:
        """The state reached from state ``s`` by action ``a`` (deterministic; terminal states stay)."""
        r, c, open_ = self.states[s]
        if self.terminal[s]:
            return s
        if a == OPEN:
            return self.state(r, c, True) if (r, c) == self.front and not open_ else s
        dr, dc = _MOVES[a]
        nr, nc = r + dr, c + dc
        if (nr, nc) == self.door:
            return self.state(nr, nc, True) if open_ else s
        n = self.size
        if not (0 <= nr < n and 0 <= nc <= 2 * n) or nc == n:
            return s
        return self.state(nr, nc, open_)

    @cached_property
    def available(self) -> BoolArray:
        """(S, A): every move everywhere; ``open`` only in front of the closed door."""
        mask = np.ones((self.n_states, len(TWOROOMS_ACTIONS)), dtype=bool)
        mask[:, OPEN] = False
        mask[self.state(*self.front, False), OPEN] = True
        return mask

    def successors(self) -> NDArray[np.intp]:
        """(S, A) table of :meth:`step` (unavailable actions: the state itself)."""
        avail = self.available
        return np.array(
            [[self.step(s, a) if avail[s, a] else s for a in range(len(TWOROOMS_ACTIONS))]
             for s in range(self.n_states)],
            dtype=np.intp,
        )

    def distances(
        self, targets: BoolArray, avoid: BoolArray | None = None, moves_only: bool = False
    ) -> NDArray[np.float64]:
        """Base steps of a shortest path from every state to a state of ``targets`` (inf: none).

        Breadth-first search backwards over :meth:`successors`, never passing through a state of
        ``avoid`` (the path may not enter a terminal trap on the way); a target has distance 0.
        ``moves_only``: paths of the four moves (never ``open``).
        """
        nxt = self.successors()[:, :OPEN] if moves_only else self.successors()
        S = self.n_states
        blocked = np.zeros(S, dtype=bool) if avoid is None else np.asarray(avoid) & ~targets
        preds: list[list[int]] = [[] for _ in range(S)]
        for s in range(S):
            if not blocked[s] and not self.terminal[s]:
                for t in set(nxt[s].tolist()) - {s}:
                    preds[t].append(s)
        dist = np.full(S, np.inf)
        queue = deque(int(t) for t in np.flatnonzero(targets))
        dist[list(queue)] = 0.0
        while queue:
            t = queue.popleft()
            for s in preds[t]:
                if np.isinf(dist[s]) and not blocked[s] and not targets[s]:
                    dist[s] = dist[t] + 1.0
                    queue.append(s)
        return dist


def tworooms_geometry(size: int = 5) -> TwoRooms:
    """The geometry and state numbering of :func:`tworooms` for rooms of side ``size``."""
    return TwoRooms(size)


def tworooms(
    goal: Literal["green", "blue"] | str = "green",
    size: int = 5,
    time_limit: int | None = None,
    gamma: float = PAPER_GAMMA,
) -> FiniteMDP:
    """TwoRooms with the ``goal`` variant (module docstring): S = 3·size² + 1 states, 5 actions.

    Parameters
    ----------
    goal : {"green", "blue"}
        The goal that pays 1; both goals are terminal.
    size : int >= 2
        Side of each room.
    time_limit : int, optional
        Base steps per episode; default ``10·size``.
    gamma : float
        Default 0.99, the paper's.

    Returns
    -------
    FiniteMDP
        Named ``"tworooms(<goal>, <size>)"``; ``tworooms_geometry(size)`` maps its states to cells.
    """
    geo = TwoRooms(size)
    target = geo.is_goal(goal)
    nxt = geo.successors()
    S, A = geo.n_states, len(TWOROOMS_ACTIONS)
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    R = np.where(geo.terminal[:, None], 0.0, target[nxt].astype(np.float64))
    limit = 10 * geo.size if time_limit is None else time_limit
    return FiniteMDP(
        P, R, gamma, start=geo.start, terminal=geo.terminal, time_limit=limit,
        name=f"tworooms({goal}, {geo.size})", available=geo.available,
    )


def _size_of(mdp: FiniteMDP) -> int:
    n = round(np.sqrt((mdp.n_states - 1) / 3))
    if n < 2 or 3 * n * n + 1 != mdp.n_states or mdp.n_actions != len(TWOROOMS_ACTIONS):
        raise ValueError(
            f"mdp has {mdp.n_states} states and {mdp.n_actions} actions; a TwoRooms MDP has 3n²+1 states and "
            f"{len(TWOROOMS_ACTIONS)} actions. Build it with tasks.tworooms.tworooms(goal, size)."
        )
    return n


def _walk(geo: TwoRooms, dist: NDArray[np.float64]) -> NDArray[np.intp]:
    """At every state, the first move (in action order) that lowers ``dist`` by one; 0 (left) where none does."""
    nxt, avail = geo.successors()[:, :OPEN], geo.available[:, :OPEN]
    drop = avail & (dist[nxt] == dist[:, None] - 1.0) & np.isfinite(dist)[:, None]
    return np.where(drop.any(axis=1), np.argmax(drop, axis=1), 0).astype(np.intp)


def _reach(geo: TwoRooms, name: str) -> Option:
    goal, other = geo.is_goal(name), geo.terminal & ~geo.is_goal(name)
    to_goal = geo.distances(goal, avoid=other, moves_only=True)
    front_closed = np.zeros(geo.n_states, dtype=bool)
    front_closed[geo.state(*geo.front, False)] = True
    stuck = np.isinf(to_goal) & ~geo.terminal  # the goal is behind the closed door
    to_front = geo.distances(front_closed, avoid=geo.terminal, moves_only=True)
    policy = np.where(stuck, _walk(geo, to_front), _walk(geo, to_goal))
    stop = goal | (front_closed & stuck)
    initiation = ~geo.terminal & ~(front_closed & stuck)
    return Option(policy, stop.astype(np.float64), initiation=initiation, name=f"reach {name}")


def _open_door(geo: TwoRooms) -> Option:
    front_closed = np.zeros(geo.n_states, dtype=bool)
    front_closed[geo.state(*geo.front, False)] = True
    closed = np.array([not d for _, _, d in geo.states])
    policy = _walk(geo, geo.distances(front_closed, avoid=geo.terminal, moves_only=True))
    policy[front_closed] = OPEN
    return Option(policy, (~closed).astype(np.float64), initiation=closed & ~geo.terminal, name="open door")


def tworooms_options(mdp: FiniteMDP | None = None, size: int | None = None) -> list[Option]:
    """The paper's three options over a TwoRooms MDP: open door, reach green, reach blue (module docstring).

    Parameters
    ----------
    mdp : FiniteMDP, optional
        A :func:`tworooms` MDP (either goal); its size is read from its state count.
    size : int, optional
        The room side instead of ``mdp``.

    Returns
    -------
    list of Option
        In :data:`TWOROOMS_OPTIONS` order; deterministic policies (shortest paths, ties to the
        lowest action index) and 0/1 terminations. ``tasks.options_mdp(mdp, tworooms_options(mdp))``
        is the semi-MDP.
    """
    if (mdp is None) == (size is None):
        raise ValueError("pass exactly one of mdp (a tasks.tworooms MDP) and size (the room side).")
    geo = TwoRooms(_size_of(mdp) if mdp is not None else size)  # type: ignore[arg-type]
    return [_open_door(geo), _reach(geo, "green"), _reach(geo, "blue")]
