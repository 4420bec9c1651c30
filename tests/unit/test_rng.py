"""RandomStreams: named, order-independent, replication rules of DESIGN.md section 5."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from sim.rng import RandomStreams, ignores_replication, stable_hash


def draw(streams: RandomStreams, name: str, n: int = 8) -> np.ndarray:
    return streams.get(name).random(n)


def test_stable_hash_is_first_8_bytes_of_sha256():
    expected = int.from_bytes(hashlib.sha256(b"demand.arrivals/2026-11-11/Hangzhou").digest()[:8], "big")
    assert stable_hash("demand.arrivals/2026-11-11/Hangzhou") == expected


def test_seeding_matches_the_documented_seed_sequence():
    got = RandomStreams(42, 3).get("demand.arrivals/x").random(4)
    ss = np.random.SeedSequence([42, 3, stable_hash("demand.arrivals/x")])
    assert np.array_equal(got, np.random.Generator(np.random.PCG64(ss)).random(4))


def test_streams_do_not_depend_on_request_order():
    a, b = RandomStreams(7, 1), RandomStreams(7, 1)
    xa, ya = draw(a, "x"), draw(a, "y")
    yb, xb = draw(b, "y"), draw(b, "x")
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


def test_get_twice_gives_the_same_stream():
    s = RandomStreams(1)
    assert np.array_equal(draw(s, "demand.tiers/d/c"), draw(s, "demand.tiers/d/c"))


def test_different_names_seeds_and_replications_differ():
    s = RandomStreams(1, 0)
    assert not np.array_equal(draw(s, "demand.a"), draw(s, "demand.b"))
    assert not np.array_equal(draw(s, "demand.a"), draw(RandomStreams(2, 0), "demand.a"))
    assert not np.array_equal(draw(s, "demand.a"), draw(RandomStreams(1, 1), "demand.a"))


@pytest.mark.parametrize(
    "name", ["network.zones/Shanghai", "network.placement/store/Hangzhou", "catalog.skus"]
)
def test_network_and_catalog_streams_ignore_the_replication(name):
    assert ignores_replication(name)
    assert np.array_equal(draw(RandomStreams(5, 0), name), draw(RandomStreams(5, 9), name))
    assert not np.array_equal(draw(RandomStreams(5, 0), name), draw(RandomStreams(6, 0), name))


def test_demand_streams_do_not_ignore_the_replication():
    assert not ignores_replication("demand.arrivals/2026-11-11/Hangzhou")
    assert not ignores_replication("networkish")  # only the dotted prefix counts


def test_streams_are_statistically_independent():
    s = RandomStreams(11)
    x, y = s.get("a").random(20000), s.get("b").random(20000)
    # correlation of independent U(0,1) samples: sd 1/sqrt(n) = 0.007; 5 sd bound
    assert abs(np.corrcoef(x, y)[0, 1]) < 5 / np.sqrt(20000)


def test_negative_seed_is_rejected():
    with pytest.raises(ValueError):
        RandomStreams(-1)
