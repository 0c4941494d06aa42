"""The paper's tasks (bandit, chain, duality) and a grid world to build options tasks on.

Every builder returns a validated :class:`~tasks.mdp.FiniteMDP` with γ = 0.99 unless told
otherwise (PAPER.md: "γ = 0.99 everywhere"). Episode lengths live in ``time_limit``; reaching a
time limit *truncates* an episode (the value is bootstrapped), reaching a ``terminal`` state ends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP

__all__ = ["GRID_ACTIONS", "Grid", "bandit", "chain", "duality", "gridworld"]

#: γ of every task in the paper (PAPER.md, "Experiments and numbers").
PAPER_GAMMA = 0.99

#: Action names of :func:`gridworld`, in action-index order (gymnasium FrozenLake's order).
GRID_ACTIONS: tuple[str, ...] = ("left", "down", "right", "up")
_MOVES: tuple[tuple[int, int], ...] = ((0, -1), (1, 0), (0, 1), (-1, 0))

Cell = tuple[int, int]


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def bandit(k: int = 4, gamma: float = PAPER_GAMMA) -> FiniteMDP:
    """The paper's one-state bandit: ``k`` arms, arm ``a`` pays ``(a + 1) / (k + 1)``.

    State 0 is the decision state; state 1 is an absorbing terminal state, so every episode
    lasts one step (``time_limit = 1``) and ``Q*(0, a) = R[0, a]``. With the paper's ``k = 4``
    the payments are 0.2, 0.4, 0.6, 0.8 = (a + 1)/5 (PAPER.md, "Bandit"); other ``k`` keep
    them evenly spaced inside (0, 1), the bid range of the paper's Beta bidders.

    Parameters
    ----------
    k : int
        Number of arms (actions), >= 1.
    gamma : float
        Discount; irrelevant to Q* here since the episode ends after one step.
    """
    k = _check_int(k, "k", 1)
    P = np.zeros((2, k, 2))
    P[:, :, 1] = 1.0
    R = np.zeros((2, k))
    R[0] = np.arange(1, k + 1) / (k + 1)
    return FiniteMDP(
        P, R, gamma, start=np.array([1.0, 0.0]), terminal=np.array([False, True]), time_limit=1, name=f"bandit(k={k})"
    )


def chain(n: int = 6, reward: float = 0.8, time_limit: int | None = 20, gamma: float = PAPER_GAMMA) -> FiniteMDP:
    """The paper's chain: states ``0..n-1`` in a row, start 0, goal ``n-1`` terminal.

    Action 0 = left (``max(s - 1, 0)``: left at 0 stays), action 1 = right (``s + 1``). Entering
    the goal pays ``reward``; every other transition pays 0 (PAPER.md, "Chain"). Closed form:
    ``Q*(s, right) = reward·γ^(n-2-s)`` and ``Q*(s, left) = γ·V*(max(s - 1, 0))``.

    Parameters
    ----------
    n : int
        Number of states, >= 2.
    reward : float
        Reward for entering the goal.
    time_limit : int or None
        Episode cut (the paper's 20 steps).
    gamma : float
        Discount.
    """
    n = _check_int(n, "n", 2)
    S = n
    goal = n - 1
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    s = np.arange(goal)
    P[s, 0, np.maximum(s - 1, 0)] = 1.0
    P[s, 1, s + 1] = 1.0
    P[goal, :, goal] = 1.0
    R[goal - 1, 1] = reward
    start = np.zeros(S)
    start[0] = 1.0
    terminal = np.zeros(S, dtype=bool)
    terminal[goal] = True
    return FiniteMDP(P, R, gamma, start=start, terminal=terminal, time_limit=time_limit, name=f"chain(n={n})")


def duality(gamma: float = PAPER_GAMMA, time_limit: int | None = 10) -> FiniteMDP:
    """The paper's duality task: alternate between states 0 and 1, avoid the absorbing state 2.

    Transitions (PAPER.md, "Duality"): (0, 0) → 2 r 0; (0, 1) → 1 r 0.5; (1, 0) → 0 r 0.5;
    (1, 1) → 1 r 0.3; state 2 → 2 with r −1 under both actions. State 2 is absorbing but *not*
    terminal (its reward is not 0); episodes never terminate and are cut at ``time_limit``.
    At γ = 0.99: ``Q*(0,·) = (−99, 50)``, ``Q*(1,·) = (50, 49.8)``, ``V*(2) = −1/(1−γ) = −100``.
    """
    P = np.zeros((3, 2, 3))
    R = np.zeros((3, 2))
    P[0, 0, 2] = 1.0
    P[0, 1, 1], R[0, 1] = 1.0, 0.5
    P[1, 0, 0], R[1, 0] = 1.0, 0.5
    P[1, 1, 1], R[1, 1] = 1.0, 0.3
    P[2, :, 2], R[2, :] = 1.0, -1.0
    return FiniteMDP(P, R, gamma, start=np.array([1.0, 0.0, 0.0]), time_limit=time_limit, name="duality")


@dataclass(frozen=True)
class Grid:
    """A grid map and its state numbering: open cells, row-major, are states ``0..S-1``.

    Attributes
    ----------
    rows, cols : int
        Size of the rectangle.
    walls : frozenset of (row, col)
        Blocked cells; they are not states.
    goals : tuple of ((row, col), reward)
        Terminal cells and the reward paid on entering each.
    starts : tuple of (row, col)
        Start cells (uniform start distribution); empty means every non-goal cell.
    """

    rows: int
    cols: int
    walls: frozenset[Cell] = frozenset()
    goals: tuple[tuple[Cell, float], ...] = ()
    starts: tuple[Cell, ...] = ()

    def __post_init__(self) -> None:
        _check_int(self.rows, "rows", 1)
        _check_int(self.cols, "cols", 1)
        for name, cells in (("walls", self.walls), ("goals", [c for c, _ in self.goals]), ("starts", self.starts)):
            for cell in cells:
                r, c = cell
                if not (0 <= r < self.rows and 0 <= c < self.cols):
                    raise ValueError(f"{name} cell {cell} lies outside the {self.rows}x{self.cols} grid.")
        for cell in [c for c, _ in self.goals] + list(self.starts):
            if cell in self.walls:
                raise ValueError(f"cell {cell} is both a wall and a goal/start; remove one of them.")
        goal_cells = [c for c, _ in self.goals]
        if len(set(goal_cells)) != len(goal_cells):
            raise ValueError(f"goals lists a cell twice: {goal_cells}.")
        if len(self.cells) == 0:
            raise ValueError("every cell is a wall; a grid world needs an open cell.")

    @classmethod
    def from_ascii(cls, layout: str | Sequence[str], goal_reward: float = 1.0) -> Grid:
        """Parse a map: ``'#'`` wall, ``'S'`` start, ``'G'`` goal (pays ``goal_reward``), ``'.'`` open.

        ``layout`` is one string with a line per row or a sequence of row strings; blank lines
        and surrounding spaces are ignored.
        """
        lines = layout.split("\n") if isinstance(layout, str) else list(layout)
        rows_txt = [line.strip() for line in lines if line.strip()]
        if not rows_txt:
            raise ValueError("layout is empty; give one string per row, e.g. ['S..', '.#.', '..G'].")
        cols = len(rows_txt[0])
        walls, goals, starts = set(), [], []
        for r, line in enumerate(rows_txt):
            if len(line) != cols:
                raise ValueError(f"layout row {r} has {len(line)} characters, row 0 has {cols}; rows must be equal.")
            for c, ch in enumerate(line):
                if ch == "#":
                    walls.add((r, c))
                elif ch == "G":
                    goals.append(((r, c), float(goal_reward)))
                elif ch == "S":
                    starts.append((r, c))
                elif ch != ".":
                    raise ValueError(f"layout[{r}][{c}] = {ch!r}; use '#' wall, 'S' start, 'G' goal, '.' open.")
        return cls(len(rows_txt), cols, frozenset(walls), tuple(goals), tuple(starts))

    @property
    def cells(self) -> tuple[Cell, ...]:
        """Open cells in state order (row-major)."""
        return tuple((r, c) for r in range(self.rows) for c in range(self.cols) if (r, c) not in self.walls)

    @property
    def n_states(self) -> int:
        """Number of open cells, the MDP's S."""
        return self.rows * self.cols - len(self.walls)

    def state(self, row: int, col: int) -> int:
        """The state index of open cell ``(row, col)``."""
        if (row, col) in self.walls or not (0 <= row < self.rows and 0 <= col < self.cols):
            raise ValueError(f"({row}, {col}) is not an open cell of this {self.rows}x{self.cols} grid.")
        return self.cells.index((row, col))

    def cell(self, state: int) -> Cell:
        """The ``(row, col)`` of state ``state``."""
        cells = self.cells
        if not 0 <= state < len(cells):
            raise ValueError(f"state {state} is out of range; this grid has {len(cells)} states.")
        return cells[state]


def gridworld(
    layout: str | Sequence[str] | Grid | None = None,
    *,
    rows: int | None = None,
    cols: int | None = None,
    walls: Iterable[Cell] = (),
    goals: Mapping[Cell, float] | None = None,
    start: Iterable[Cell] = (),
    goal_reward: float = 1.0,
    slip: float = 0.0,
    step_reward: float = 0.0,
    gamma: float = PAPER_GAMMA,
    time_limit: int | None = None,
) -> FiniteMDP:
    """A grid world: move left/down/right/up, bump into walls and edges, stop at a goal.

    Give either an ASCII ``layout`` (see :meth:`Grid.from_ascii`), a :class:`Grid`, or
    ``rows``/``cols`` with ``walls``, ``goals`` ({cell: reward}) and ``start`` cells. The states
    are the open cells in row-major order: ``Grid.state(row, col)`` and ``Grid.cell(s)`` map
    between them (build the same ``Grid`` with :meth:`Grid.from_ascii` or ``Grid(...)``).

    Dynamics: actions follow :data:`GRID_ACTIONS` (0 left, 1 down, 2 right, 3 up, as in
    gymnasium's FrozenLake). The intended move happens with probability ``1 − slip``; with
    ``slip`` the agent moves in one of the two perpendicular directions, ``slip/2`` each
    (FrozenLake's slippery ice is ``slip = 2/3``). A move into a wall or off the grid stays put.
    Rewards: ``step_reward`` on every step from a non-goal cell plus the goal's reward on
    entering it, so ``R[s, a] = step_reward + Σ_g P(g | s, a)·reward(g)``. Goal cells are
    absorbing ``terminal`` states.

    Parameters
    ----------
    layout : str, sequence of str, Grid, or None
        The map; None to use ``rows``/``cols``/``walls``/``goals``/``start``.
    goal_reward : float
        Reward of each ``'G'`` of an ASCII layout.
    slip : float in [0, 1]
        Probability of slipping sideways.
    step_reward : float
        Reward of every step taken outside a goal (e.g. −0.01 to prefer short paths).
    gamma, time_limit
        As in :class:`~tasks.mdp.FiniteMDP`.
    """
    grid = _as_grid(layout, rows, cols, walls, goals, start, goal_reward)
    slip = float(slip)
    if not 0.0 <= slip <= 1.0:
        raise ValueError(f"slip must be a probability in [0, 1]; got {slip}.")
    cells = grid.cells
    S, A = len(cells), len(_MOVES)
    index = {cell: i for i, cell in enumerate(cells)}
    goal_reward_of = {index[c]: float(r) for c, r in grid.goals}
    terminal = np.zeros(S, dtype=bool)
    terminal[list(goal_reward_of)] = True
    goal_value = np.zeros(S)
    for g, r in goal_reward_of.items():
        goal_value[g] = r

    def step(cell: Cell, move: int) -> int:
        dr, dc = _MOVES[move]
        nxt = (cell[0] + dr, cell[1] + dc)
        return index.get(nxt, index[cell])  # walls and the outside are not in ``index``: stay

    P = np.zeros((S, A, S))
    for s, cell in enumerate(cells):
        if terminal[s]:
            P[s, :, s] = 1.0
            continue
        for a in range(A):
            for move, p in ((a, 1.0 - slip), ((a - 1) % A, slip / 2), ((a + 1) % A, slip / 2)):
                P[s, a, step(cell, move)] += p
    R = np.where(terminal[:, None], 0.0, step_reward + P @ goal_value)
    start_dist: NDArray[np.float64] | None = None
    if grid.starts:
        start_dist = np.zeros(S)
        start_dist[[index[c] for c in grid.starts]] = 1.0 / len(grid.starts)
    name = f"gridworld({grid.rows}x{grid.cols}, slip={slip:g})"
    return FiniteMDP(P, R, gamma, start=start_dist, terminal=terminal, time_limit=time_limit, name=name)


def _as_grid(
    layout: str | Sequence[str] | Grid | None,
    rows: int | None,
    cols: int | None,
    walls: Iterable[Cell],
    goals: Mapping[Cell, float] | None,
    start: Iterable[Cell],
    goal_reward: float,
) -> Grid:
    if layout is not None:
        if rows is not None or cols is not None:
            raise ValueError("give either a layout or rows/cols, not both.")
        grid = layout if isinstance(layout, Grid) else Grid.from_ascii(layout, goal_reward)
        if goals is not None or tuple(walls) or tuple(start):
            raise ValueError("walls, goals and start come from the layout; do not pass them as well.")
        return grid
    if rows is None or cols is None:
        raise ValueError("give a layout (e.g. ['S..', '.#.', '..G']) or both rows and cols.")
    goal_items = tuple((tuple(c), float(r)) for c, r in (goals or {}).items())
    return Grid(
        rows,
        cols,
        frozenset(tuple(c) for c in walls),  # type: ignore[misc]
        goal_items,  # type: ignore[arg-type]
        tuple(tuple(c) for c in start),  # type: ignore[misc]
    )
