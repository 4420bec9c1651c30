"""Riders by the hour (sim/engine/staffing.py, issue #13): shift tables and who can take a call when."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np

from sim.engine.riders import N_U, TripParams
from sim.engine.staffing import Shifts, day_multipliers, next_on_shift, riders_on_shift
from sim.engine.store import StoreOps, StoreRules
from sim.units import HOUR


def shifts(count: np.ndarray) -> Shifts:
    return Shifts(count, next_on_shift(count, int(count.max())))


def test_riders_on_shift_rounding_and_multiplier() -> None:
    by_hour = np.array([0.0] * 8 + [0.5] * 8 + [1.0] * 8)
    c = riders_on_shift(np.array([10.0, 3.0]), by_hour, np.array([1.0, 2.0]))
    assert c.shape == (2, 48)
    assert c[0, 0] == 0 and c[0, 8] == 5 and c[0, 16] == 10 and c[0, 24 + 16] == 20
    assert c[1, 8] == 2 and c[1, 24 + 8] == 3  # rint(1.5) = 2, rint(3.0) = 3


def test_next_on_shift_and_availability() -> None:
    count = np.array([[2, 0, 1, 2]])  # hour 1 nobody, hour 2 only rider 0
    nxt = next_on_shift(count, 2)
    assert nxt[0, 0].tolist() == [0, 2, 2, 3, 4] and nxt[0, 1].tolist() == [0, 3, 3, 3, 4]
    sh = shifts(count)
    free = np.array([[0.5 * HOUR, 1.5 * HOUR]])
    assert sh.available(free, np.array([0])).tolist() == [[0.5 * HOUR, 3 * HOUR]]
    assert sh.available(np.array([[1.2 * HOUR, 3.5 * HOUR]]), np.array([0])).tolist() == [
        [2 * HOUR, 3.5 * HOUR]
    ]
    assert np.isinf(sh.available(np.array([[4.5 * HOUR, np.inf]]), np.array([0]))).all()


def test_day_multipliers() -> None:
    st = SimpleNamespace(day_multiplier={dt.date(2026, 11, 3): 1.2}, promotion_multiplier=1.5)
    promos = (SimpleNamespace(date=dt.date(2026, 11, 4)),)
    assert day_multipliers(st, promos, dt.date(2026, 11, 2), 4).tolist() == [1.0, 1.2, 1.5, 1.0]


def test_zero_riders_in_an_hour_sends_no_trip_in_it() -> None:
    """Two riders all day except 10:00-11:00: orders ready in that hour leave at 11:00 at the earliest; a
    trip called at 09:59 still runs."""
    count = np.full((1, 48), 2)
    count[0, 10] = 0
    tp = TripParams(
        pool=False,
        reach_s=np.zeros(1),
        reach_cv=0.0,
        pickup_trip_s=np.full(1, 60.0),
        pickup_order_s=np.zeros(1),
        handover_s=np.full(1, 120.0),
        travel_cv=0.0,
        speed_hour=np.full(24, 20.0),
        day_factor=None,
    )
    rules = StoreRules(
        pick_cv=0.0,
        speed_kmh=20.0,
        peak_speed_kmh=20.0,
        max_batch=1,
        max_hold_s=0.0,
        circuity=1.32,
        rider_model="platform",
        base_per_trip=3.0,
        per_km=0.6,
        per_hour=30.0,
    )
    o = StoreOps(
        np.ones(1, np.int64),
        np.full(1, 2, np.int64),
        rules,
        np.zeros(1),
        np.zeros(1),
        trip=tp,
        shifts=shifts(count),
    )
    ready = np.array([9 * HOUR + 3540, 10 * HOUR + 300, 10 * HOUR + 1200, 10 * HOUR + 2400, 11 * HOUR + 600])
    for i, r in enumerate(ready):  # one order per trip (max_batch 1), assigned 5 min before it is ready
        o.ready(
            np.zeros(1, np.int64),
            np.array([i]),
            np.array([r]),
            np.full(1, 2.0),
            np.zeros(1, np.int64),
            np.full(1, 1e9),
            u=np.full((1, N_U), 0.5),
            assigned_s=r - 300,
        )
    d = o.take_delivered()
    depart = dict(zip(d.ref.tolist(), (d.delivered_s - 360 - 120).tolist(), strict=True))
    assert depart[0] == ready[0] + 60  # called at 09:59, before the gap
    print({i: v / HOUR for i, v in depart.items()})
    assert all(not (10 * HOUR <= depart[i] - 60 < 11 * HOUR) for i in depart)  # no call in the empty hour
    assert depart[1] == 11 * HOUR + 60 and depart[2] == 11 * HOUR + 60  # both riders at 11:00
    # the third waits for the first rider back (11:01 + 6 + 2 + 6 min), the fourth for the second
    assert depart[3] == 11 * HOUR + 60 + 840 + 60
