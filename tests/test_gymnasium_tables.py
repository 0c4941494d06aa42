"""Agora's rebuilt toy-text tables against gymnasium's own, where gymnasium is installed.

Checked with gymnasium 1.4.0: `gym.make("Taxi-v3")` raises `DeprecatedEnv` and `Taxi-v4` serves the
same table that `tasks.importers.taxi_dict` rebuilds from gymnasium's documented rules; FrozenLake-v1's
slippery tables agree to one ulp (gymnasium computes 1/3 as 1 − 2/3 on some entries).
"""

from __future__ import annotations

import pytest

from tasks.importers import frozen_lake_dict, taxi_dict

gym = pytest.importorskip("gymnasium")


def _same_table(ours, theirs, atol):
    assert set(ours) == set(theirs)
    for s in ours:
        assert set(ours[s]) == set(theirs[s])
        for a in ours[s]:
            mine = sorted(ours[s][a], key=lambda t: (t[1], t[0]))
            gyms = sorted(theirs[s][a], key=lambda t: (t[1], t[0]))
            assert len(mine) == len(gyms), (s, a)
            for (p, s2, r, done), (q, t2, u, end) in zip(mine, gyms, strict=True):
                assert (s2, float(r), bool(done)) == (t2, float(u), bool(end)), (s, a)
                assert abs(p - q) <= atol, (s, a, p, q)


def _env_table(env_id, **kwargs):
    return gym.make(env_id, **kwargs).unwrapped.P


def test_taxi_table_is_gymnasiums_latest_taxi():
    latest = "Taxi-v4" if "Taxi-v4" in gym.registry else "Taxi-v3"
    _same_table(taxi_dict(), _env_table(latest), atol=0.0)


@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
def test_frozen_lake_tables_match_to_one_ulp(map_name):
    _same_table(frozen_lake_dict(map_name), _env_table("FrozenLake-v1", map_name=map_name), atol=2.3e-16)


@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
def test_frozen_lake_non_slippery_tables_are_identical(map_name):
    ours = frozen_lake_dict(map_name, is_slippery=False)
    _same_table(ours, _env_table("FrozenLake-v1", map_name=map_name, is_slippery=False), atol=0.0)
