"""Society: bidder m plays primitive m % N; clones >= 1; frozen."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mechanism import Society


@pytest.mark.parametrize(("n", "clones"), [(1, 1), (4, 1), (4, 2), (3, 3)])
def test_bidders_and_primitives(n: int, clones: int) -> None:
    s = Society(n, clones=clones)
    assert s.n_bidders == n * clones
    assert s.primitive_of.tolist() == [m % n for m in range(n * clones)]
    assert s.clone_of.tolist() == [m // n for m in range(n * clones)]
    assert s.solitary == (clones == 1)
    assert np.bincount(s.primitive_of).tolist() == [clones] * n


def test_default_is_cloned() -> None:
    assert Society(2).clones == 2


def test_frozen() -> None:
    s = Society(2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.clones = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        s.primitive_of[0] = 1
    assert Society(2, 2) == Society(2, 2)
    assert hash(Society(2, 2)) == hash(Society(np.int64(2), 2))


@pytest.mark.parametrize(("n", "clones", "err", "match"), [
    (0, 2, ValueError, "n_primitives must be >= 1"),
    (2, 0, ValueError, "clones must be >= 1"),
    (2, -1, ValueError, "clones"),
    (2.0, 2, TypeError, "n_primitives must be a positive int"),
    (2, 1.5, TypeError, "clones must be a positive int"),
    (True, 2, TypeError, "n_primitives"),
    ("2", 2, TypeError, "n_primitives"),
])
def test_bad_input(n: object, clones: object, err: type[Exception], match: str) -> None:
    with pytest.raises(err, match=match):
        Society(n, clones=clones)  # type: ignore[arg-type]
