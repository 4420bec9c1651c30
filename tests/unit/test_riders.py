"""A rider's whole trip (sim/engine/riders.py, issue #13): hand-computed timelines on a one-rider
store, travel noise and the speed profile against their definitions, common random numbers."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.riders import N_U, TripParams, day_factors, lognormal_factor, speed_by_hour
from sim.engine.store import StoreOps, StoreRules
from sim.rng import RandomStreams

V = 20.0  # km/h all day: 2 km take 360 s


def trip(
    pool: bool = False,
    reach: float = 0.0,
    travel_cv: float = 0.0,
    speed: np.ndarray | None = None,
    n: int = 1,
) -> TripParams:
    return TripParams(
        pool=pool,
        reach_s=np.full(n, reach),
        reach_cv=0.0,
        pickup_trip_s=np.full(n, 60.0),
        pickup_order_s=np.full(n, 20.0),
        handover_s=np.full(n, 150.0),
        travel_cv=travel_cv,
        speed_hour=np.full(24, V) if speed is None else speed,
        day_factor=None,
    )


def ops(tp: TripParams | None, riders: int = 1, max_batch: int = 2, n: int = 1) -> StoreOps:
    zl = np.array([30.0, 30.0])
    rules = StoreRules(
        pick_cv=0.0,
        speed_kmh=V,
        peak_speed_kmh=V,
        max_batch=max_batch,
        max_hold_s=0.0,
        circuity=1.32,
        rider_model="fleet",
        base_per_trip=0.0,
        per_km=0.0,
        per_hour=36.0,
    )
    return StoreOps(
        np.full(n, 1, np.int64), np.full(n, riders, np.int64), rules, zl, np.array([120.0, 120.0]), trip=tp
    )


def feed(o: StoreOps, refs: list[int], ready: list[float], km: float = 2.0, assigned: float = 900.0) -> None:
    k = len(refs)
    o.ready(
        np.zeros(k, np.int64),
        np.array(refs),
        np.array(ready),
        np.full(k, km),
        np.zeros(k, np.int64),
        np.full(k, 1e9),
        u=np.full((k, N_U), 0.5),
        assigned_s=assigned,
    )


def test_store_rider_timeline_by_hand() -> None:
    """Rider at the store: leave after the last ready + pickup (60 + 20 per order), ride, hand over at each
    door (150 s), ride back."""
    o = ops(trip())
    feed(o, [0, 1], [1000.0, 1010.0])  # the second order fills the batch of two
    d = o.take_delivered()
    depart = 1010.0 + 60 + 2 * 20  # 1110
    # same zone: order 0's door at +360 s of riding, delivered after its handover; order 1 right after
    assert dict(zip(d.ref.tolist(), d.delivered_s.tolist(), strict=True)) == {
        0: depart + 360 + 150,
        1: depart + 360 + 150 + 150,
    }
    assert o.rider_free[0, 0] == depart + 360 + 300 + 360  # back at the store
    assert o.rider_busy[0] == 100 + 360 + 300 + 360  # pickup + legs + handovers + return
    assert np.allclose(d.cost, 36.0 * (100 + 1020) / 3600 / 2)  # fleet pay for the busy time, per order


def test_pool_rider_timeline_by_hand() -> None:
    """Pool rider: called at the first assignment, reaches the store in 300 s, free at the last door; the
    next batch waits for it and its reach."""
    o = ops(trip(pool=True, reach=300.0))
    feed(o, [0, 1], [1000.0, 1010.0], assigned=900.0)
    d = o.take_delivered()
    depart = max(1010.0, 900.0 + 300.0) + 100  # 1300
    assert sorted(d.delivered_s.tolist()) == [depart + 510, depart + 660]
    assert o.rider_free[0, 0] == depart + 660  # free at the last door, no ride back
    feed(o, [2], [1500.0], assigned=1400.0)
    assert o.take_delivered().ref.size == 0  # one order, not full: held
    o.close_all()
    d = o.take_delivered()
    call = depart + 660  # the rider is busy until then
    assert d.delivered_s.tolist() == [call + 300 + 80 + 360 + 150]


def test_mechanism_off_is_the_old_engine() -> None:
    """trip None keeps the old departure rule: with no hold the first order leaves alone when ready (the
    second is ready after it left), riding time only, back at the store; the second waits for the rider."""
    o = ops(None)
    feed(o, [0, 1], [1000.0, 1010.0])
    o.close_all()
    d = o.take_delivered()
    assert d.delivered_s.tolist() == [1000.0 + 360, 1000.0 + 720 + 360]


def test_zero_handover_and_pickup_match_the_off_times() -> None:
    tp = TripParams(
        pool=False,
        reach_s=np.zeros(1),
        reach_cv=0.0,
        pickup_trip_s=np.zeros(1),
        pickup_order_s=np.zeros(1),
        handover_s=np.zeros(1),
        travel_cv=0.0,
        speed_hour=speed_by_hour("legacy", V, V, (1.0,) * 24),
        day_factor=None,
    )
    a, b = ops(tp), ops(None)
    for o in (a, b):
        feed(o, [0, 1], [1000.0, 1010.0])
    assert np.array_equal(a.take_delivered().delivered_s, b.take_delivered().delivered_s)


def test_noise_mean_matches_the_profile() -> None:
    """Single-order trips with lognormal leg noise (CV 0.3) and an hourly profile: the mean riding time
    per hour of departure is km / v(hour) within a 99.9% CI over many trips."""
    speed = np.linspace(12.0, 24.0, 24)
    n = 24 * 2000
    o = ops(trip(travel_cv=0.3, speed=speed, n=n), n=n)
    rows = np.arange(n)
    depart = (rows % 24) * 3600.0 + 1800.0
    u = RandomStreams(3).get("test").random((n, 1, N_U))
    ref, km, zone = np.zeros((n, 1), np.int64), np.full((n, 1), 3.0), np.zeros((n, 1), np.int64)
    arrive, *_ = o._route(rows, ref, km, zone, depart, u)
    ride = arrive[:, 0] - depart - 150.0
    for h in (0, 11, 23):
        x = ride[rows % 24 == h]
        expected = 3.0 / speed[h] * 3600
        se = x.std(ddof=1) / np.sqrt(x.size)
        assert abs(x.mean() - expected) < 3.3 * se, (h, x.mean(), expected)
        assert x.std() / x.mean() == pytest.approx(0.3, rel=0.1)


def test_lognormal_factor_mean_and_cv() -> None:
    u = RandomStreams(1).get("t").random(200_000)
    f = lognormal_factor(u, 0.25)
    assert f.mean() == pytest.approx(1.0, abs=0.003)
    assert f.std() / f.mean() == pytest.approx(0.25, rel=0.02)
    assert np.all(lognormal_factor(u, 0.0) == 1.0)


def test_speed_profiles() -> None:
    legacy = speed_by_hour("legacy", 18.0, 15.0, (1.0,) * 24)
    assert legacy[11] == 15.0 and legacy[13] == 18.0 and legacy[20] == 15.0 and legacy[21] == 18.0
    w = tuple(float(h) for h in range(24))
    intra = speed_by_hour("intraday", 18.0, 15.0, w)
    assert intra[0] == 18.0 and intra[23] == 15.0 and np.all(np.diff(intra) < 0)


def test_day_factors_are_per_day_and_city() -> None:
    import datetime as dt

    city = np.array([0, 0, 1])
    f = day_factors(RandomStreams(5), dt.date(2026, 11, 2), 30, city, ["A", "B"], 0.2)
    assert np.all(f[:, 0] == f[:, 1]) and not np.all(f[:, 0] == f[:, 2])
    g = day_factors(RandomStreams(5), dt.date(2026, 11, 3), 29, city, ["A", "B"], 0.2)
    assert np.array_equal(f[1:], g)  # keyed by date: another start does not shift a day's factor
    assert np.all(day_factors(RandomStreams(5), dt.date(2026, 11, 2), 3, city, ["A", "B"], 0.0) == 1.0)
