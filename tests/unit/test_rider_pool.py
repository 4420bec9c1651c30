"""A city rider pool shared by stores (sim/engine/rider_pool.py, issue #13 item 4) and quotes from the
dispatch state (tiers.near.quote_from: queue): hand-computed traces, conservation, identities."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sim.engine.option_build import earlier_share, queue_places
from sim.engine.rider_pool import pool_of_stores, pool_open, pool_rounds, pooled, store_available
from sim.engine.riders import N_U, TripParams
from sim.engine.staffing import build_shifts
from sim.engine.store import StoreOps, StoreRules
from sim.io.scenario import load_scenario
from sim.units import HOUR

TOY = Path(__file__).resolve().parents[2] / "scenarios" / "toy.yaml"
V = 18.0  # km/h all day (outside the legacy peak hours at 03:00): 3 km take 600 s
T3 = 3 * HOUR


def two_stores(
    riders: list[int],
    pool_of: list[int] | None,
    max_batch: int = 1,
    trip: TripParams | None = None,
    pickers: int = 1,
) -> StoreOps:
    rules = StoreRules(
        pick_cv=0.0,
        speed_kmh=V,
        peak_speed_kmh=15.0,
        max_batch=max_batch,
        max_hold_s=0.0,
        circuity=1.3,
        rider_model="platform",
        base_per_trip=3.0,
        per_km=0.6,
        per_hour=30.0,
    )
    return StoreOps(
        np.full(2, pickers, np.int64),
        np.array(riders, np.int64),
        rules,
        np.array([30.0, 30.0]),
        np.array([120.0, 120.0]),
        trip=trip,
        pool_of=None if pool_of is None else np.array(pool_of),
    )


def feed(o: StoreOps, store: int, ref: int, ready: float, km: float, u: np.ndarray | None = None) -> None:
    o.ready(
        np.array([store]),
        np.array([ref]),
        np.array([ready]),
        np.array([km]),
        np.array([0]),
        np.array([1e9]),
        u=u,
        assigned_s=ready,
    )


def test_two_stores_share_one_rider_by_hand() -> None:
    """One rider for two stores: store 0's order (3 km) leaves at 03:00 and the rider is back at 03:20; store
    1's order (1.5 km), ready at 03:05, waits for her: leaves 03:20, delivered 03:25, rider free 03:30."""
    o = two_stores([1], [0, 0])
    feed(o, 0, 10, T3, 3.0)
    feed(o, 1, 11, T3 + 300.0, 1.5)
    o.close_all()
    d = o.take_delivered()
    got = dict(zip(d.ref.tolist(), d.delivered_s.tolist(), strict=True))
    assert got == {10: T3 + 600.0, 11: T3 + 1200.0 + 300.0}
    assert o.rider_free.shape == (1, 1) and o.rider_free[0, 0] == T3 + 1200.0 + 600.0
    assert o.rider_busy.tolist() == [1200.0, 600.0]  # busy time stays with the store that called


def test_own_pools_keep_their_riders() -> None:
    """The same two orders with a rider per store: both leave at once (the engine before, pool: store)."""
    o = two_stores([1, 1], None)
    feed(o, 0, 10, T3, 3.0)
    feed(o, 1, 11, T3 + 300.0, 1.5)
    o.close_all()
    d = o.take_delivered()
    assert dict(zip(d.ref.tolist(), d.delivered_s.tolist(), strict=True)) == {10: T3 + 600.0, 11: T3 + 600.0}


def test_distinct_pools_equal_own_pools() -> None:
    """pool_of with one store per pool is the engine with each store's own riders, trip mechanism on."""
    tp = TripParams(
        pool=True,
        reach_s=np.full(2, 360.0),
        reach_cv=0.5,
        pickup_trip_s=np.full(2, 60.0),
        pickup_order_s=np.full(2, 20.0),
        handover_s=np.full(2, 150.0),
        travel_cv=0.3,
        speed_hour=np.full(24, V),
        day_factor=None,
    )
    out = []
    for pool_of in (None, [0, 1]):
        o = two_stores([2, 2], pool_of, max_batch=3, trip=tp)
        r = np.random.default_rng(3)
        for i in range(40):
            feed(o, int(r.integers(2)), i, T3 + 120.0 * i, float(r.uniform(0.5, 3.0)), u=r.random((1, N_U)))
            o.flush(T3 + 120.0 * i)
        o.close_all()
        d = o.take_delivered()
        out.append((d.ref[np.argsort(d.ref)], d.delivered_s[np.argsort(d.ref)], o.rider_busy.copy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_array_equal(out[0][2], out[1][2])


def test_pool_never_runs_more_trips_than_riders() -> None:
    """Conservation: 2 riders shared by 2 stores, one order per trip, riders back at their store: at any
    instant at most 2 trips are under way, every order is delivered once, busy time = the trips' lengths."""
    o = two_stores([2], [0, 0], pickers=3)
    r = np.random.default_rng(7)
    km = r.uniform(0.5, 3.0, 30)
    for i in range(30):  # both stores at once, faster than 2 riders can ride
        feed(o, i % 2, i, T3 + 60.0 * i, float(km[i]))
    o.close_all()
    d = o.take_delivered()
    assert sorted(d.ref.tolist()) == list(range(30))
    ride = km[d.ref] / V * HOUR
    depart = d.delivered_s - ride
    ends = depart + 2 * ride
    t = np.sort(np.concatenate([depart, ends - 1e-9]))
    under_way = ((depart[None, :] <= t[:, None]) & (t[:, None] < ends[None, :])).sum(axis=1)
    assert under_way.max() == 2
    assert o.rider_busy.sum() == pytest.approx((2 * ride).sum())


def test_pool_helpers() -> None:
    pool_of = np.array([0, 1, 0, 0])
    assert pooled(np.array([3, 5, 2, 1]), pool_of).tolist() == [6, 5]
    assert pooled(np.array([3, 5]), None).tolist() == [3, 5]
    opened = np.array([[True, False], [False, False], [False, True], [False, False]])
    assert pool_open(opened, pool_of).tolist() == [[True, True], [False, False]]
    rounds = [x.tolist() for x in pool_rounds(np.array([5, 6, 7, 8]), np.array([0, 0, 1, 0]))]
    assert rounds == [[5, 7], [6], [8]]
    avail = store_available(np.array([100.0, 50.0]), pool_of, np.array([10.0, 0.0, 30.0, 0.0]))
    assert avail.tolist() == [25.0, 50.0, 75.0, 0.0]  # pool 1 did nothing: its one store gets it all
    assert avail.sum() == pytest.approx(150.0)  # conservation of rider-hours


def test_city_pool_shifts_follow_any_open_store() -> None:
    """A city pool of a 10:00-22:00 store (4 riders) and a 24 h one (6): 10 riders x by_hour, on shift in every
    hour since one store is open all day; the stores' own pools send the brand store's riders home at night."""
    by_hour = "[" + ",".join(["0.5"] * 24) + "]"
    sc = load_scenario(
        TOY, overrides=[f"nodes.stores.staffing.by_hour={by_hour}", "nodes.stores.staffing.pool=city"]
    )
    hours = (np.array([10 * HOUR, 0.0]), np.array([22 * HOUR, 24 * HOUR]))
    pool_of = pool_of_stores(sc, np.array([0, 0]))
    assert pool_of is not None and pool_of.tolist() == [0, 0]
    sh = build_shifts(sc, pooled(np.array([4, 6]), pool_of), 1, hours, pool_of=pool_of)
    assert sh is not None and sh.count.tolist() == [[5] * 24]
    own = build_shifts(sc, np.array([4, 6]), 1, hours)
    assert (
        own is not None
        and own.count[0].tolist() == [0] * 10 + [2] * 12 + [0] * 2
        and own.count[1].tolist() == [3] * 24
    )


def test_earlier_share_by_hand() -> None:
    """Orders 0, 1, 2 (in epoch order) at stores A=0 / B=1: order 0 has both (weight 1/2 each), 1 only A, 2 A
    and B. At A: order 0 has none before it, order 1 has 1/2, order 2 has 1/2 + 1; at B: 0, then 1/2."""
    row = np.array([0, 0, 1, 2, 2])
    group = np.array([0, 1, 0, 0, 1])
    w = np.array([0.5, 0.5, 1.0, 0.5, 0.5])
    assert earlier_share(group, row, w).tolist() == [0.0, 0.0, 0.5, 1.5, 0.5]
    # one order's two stores in one pool count once: the whole order is ahead of the next
    assert earlier_share(np.zeros(5, np.int64), row, w).tolist() == [0.0, 0.0, 1.0, 2.0, 2.0]


def test_queue_places_and_rider_by_hand() -> None:
    """A store with 2 pickers free at 100 and 400, riders free at 0, 500 and 900, an open batch: the third
    order of the epoch at that store (two earlier orders only there) is picked by the first picker after one
    mean pick (100 + 60 + 60 ready), and takes the 4th rider call: 3 riders, so the first again after one trip."""
    o = two_stores([3, 3], None, max_batch=3, pickers=2)
    o.picker_free[0] = [100.0, 400.0]
    o.rider_free[0] = [0.0, 500.0, 900.0]
    feed(o, 0, 99, 50.0, 1.0)  # opens a batch at store 0 (ready before the riders' times matter)
    sim = SimpleNamespace(ops=o)
    ready, ahead = queue_places(sim, np.array([0, 1, 2]), np.zeros(3, np.int64), 0.0, np.full(3, 60.0))
    assert ready.tolist() == [160.0, 460.0, 220.0]
    assert ahead.tolist() == [1.0, 2.0, 3.0]
    rider = o.queued_rider(0.0, np.zeros(3, np.int64), ahead, np.full(3, 1000.0))
    assert rider.tolist() == [500.0, 900.0, 1000.0]
    # order 1 not counted (a carried order, or a slower request): order 2 has only order 0 ahead
    ready, ahead = queue_places(
        sim, np.array([0, 1, 2]), np.zeros(3, np.int64), 0.0, np.full(3, 60.0), np.array([True, False, True])
    )
    assert ready.tolist() == [160.0, 460.0, 460.0] and ahead.tolist() == [1.0, 2.0, 2.0]


def test_pool_capacity_by_hand() -> None:
    """Routing capacity with a shared pool: 2 free riders x batches of 3, less the pool's one open order, is 5
    for each store (either may use them); own pools of 1 rider each: 3 - 1 at store 0, 3 at store 1."""
    for pool_of, riders, want in (([0, 0], [2], [5, 5]), (None, [1, 1], [2, 3])):
        o = two_stores(riders, pool_of, max_batch=3)
        feed(o, 0, 1, T3 + 100.0, 1.0)
        assert o.capacity(T3, np.full(2, 60.0), 900.0).tolist() == want
