"""Exact traces of the engine's components, every event time computed by hand (as SimPy tests its
resources): store pickers and riders, parcels, van-wave clocks, the order book and the stock repair.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.demand.orders import Orders
from sim.engine.book import OrderBook
from sim.engine.parcel import Parcels
from sim.engine.routing_step import repair
from sim.engine.store import StoreOps, StoreRules
from sim.engine.warehouse import VanFleet, Waves
from sim.records import RouterStats
from sim.units import DAY, HOUR

T3 = 3 * HOUR  # 03:00, outside the peak hours: riders at the normal speed


def store(pickers: int = 2, riders: int = 1, max_batch: int = 3, hold_s: float = 300.0) -> StoreOps:
    """One store, deterministic picking (cv 0), 18 km/h riders (15 at peaks), platform pay 3 + 0.6/km."""
    rules = StoreRules(
        pick_cv=0.0,
        speed_kmh=18.0,
        peak_speed_kmh=15.0,
        max_batch=max_batch,
        max_hold_s=hold_s,
        circuity=1.3,
        rider_model="platform",
        base_per_trip=3.0,
        per_km=0.6,
        per_hour=30.0,
    )
    return StoreOps(
        np.array([pickers]), np.array([riders]), rules, np.array([30.0, 30.0]), np.array([120.0, 120.0])
    )


def test_pickers_are_a_fifo_c_server_queue() -> None:
    ops = store(pickers=2)
    start, end = ops.pick(100.0, np.zeros(3, np.int64), np.array([60.0, 60.0, 60.0]), np.full(3, 0.5))
    # two pickers free at 0: the first two start at 100, the third when the first frees at 160
    assert start.tolist() == [100.0, 100.0, 160.0]
    assert end.tolist() == [160.0, 160.0, 220.0]
    assert ops.picker_busy.tolist() == [180.0]
    start, end = ops.pick(150.0, np.zeros(1, np.int64), np.array([30.0]), np.array([0.5]))
    assert (start[0], end[0]) == (160.0, 190.0)  # both pickers busy until 160 and 220: the earlier one


def test_one_order_rides_after_the_hold() -> None:
    ops = store()
    ready = T3 + 60.0
    ops.ready(
        np.array([0]), np.array([7]), np.array([ready]), np.array([3.0]), np.array([0]), np.array([T3 + HOUR])
    )
    # a lone order waits max_hold_s for a batch to form: departs at ready + 300
    assert ops.next_departure() == ready + 300.0
    ops.flush(ready + 299.0)
    assert ops.take_delivered().ref.size == 0  # not yet
    ops.flush(ready + 301.0)
    d = ops.take_delivered()
    assert d.ref.tolist() == [7]
    # 3 km at 18 km/h = 600 s after departure; platform pay 3 + 0.6 x 3 km for the one order
    assert d.delivered_s.tolist() == [ready + 300.0 + 600.0]
    assert d.cost.tolist() == pytest.approx([4.8])
    # the rider rides 3 km out and 3 km back: free 1200 s after departure
    assert ops.rider_free[0, 0] == ready + 300.0 + 1200.0
    assert ops.rider_busy.tolist() == [1200.0]


def test_two_orders_batch_and_share_the_trip() -> None:
    ops = store()
    promise = np.array([T3 + HOUR, T3 + HOUR])
    ops.ready(
        np.array([0, 0]),
        np.array([1, 2]),
        np.array([T3 + 60.0, T3 + 100.0]),
        np.array([3.0, 3.0]),
        np.array([0, 0]),
        promise,
    )
    assert ops.b_count.tolist() == [2]  # the second joined: ready before the planned departure, both on time
    ops.flush(T3 + 400.0)  # planned: first ready + hold = T3 + 360
    d = ops.take_delivered()
    assert sorted(d.ref.tolist()) == [1, 2]
    # same zone: the second stop is 0 km further; both arrive 600 s after T3 + 360
    assert d.delivered_s.tolist() == [T3 + 960.0, T3 + 960.0]
    assert d.cost.tolist() == pytest.approx([2.4, 2.4])  # (3 + 0.6 x 3) / 2 orders
    assert d.trips == 1


def test_a_full_batch_leaves_at_once() -> None:
    ops = store(max_batch=2)
    ops.ready(
        np.array([0, 0]),
        np.array([1, 2]),
        np.array([T3 + 60.0, T3 + 100.0]),
        np.array([3.0, 3.0]),
        np.array([0, 0]),
        np.array([T3 + HOUR, T3 + HOUR]),
    )
    d = ops.take_delivered()  # full: departs at the last order's ready time, no hold
    assert d.delivered_s.tolist() == [T3 + 700.0, T3 + 700.0]


def test_an_order_that_would_make_the_batch_late_closes_it() -> None:
    ops = store()
    # the first order's promise allows no wait beyond 100 s; the second is ready after that
    ops.ready(
        np.array([0]), np.array([1]), np.array([T3]), np.array([3.0]), np.array([0]), np.array([T3 + 700.0])
    )
    assert ops.next_departure() == T3 + 100.0  # latest on-time departure: promise - 600 s ride
    ops.ready(
        np.array([0]),
        np.array([2]),
        np.array([T3 + 150.0]),
        np.array([3.0]),
        np.array([0]),
        np.array([T3 + HOUR]),
    )
    d = ops.take_delivered()  # the open batch left without it
    assert d.ref.tolist() == [1] and d.delivered_s.tolist() == [T3 + 700.0]
    assert ops.b_count.tolist() == [1]


def test_components_from_the_toy_scenario(toy) -> None:  # noqa: ANN001
    from sim.network import build_network

    net = build_network(toy)
    stores, fdcs, ndcs = (np.flatnonzero(net.node_kind == k) for k in (2, 1, 0))
    ops = StoreOps.from_scenario(toy, net, stores)
    assert (
        ops.max_batch == toy.nodes.stores.capacity.rider_max_batch and ops.picker_free.shape[0] == stores.size
    )
    assert (np.isfinite(ops.rider_free).sum(axis=1) == toy.nodes.stores.capacity.riders).all()
    w = Waves.from_scenario(toy, net, fdcs)
    assert w.cut.size == len(toy.tiers.mid.waves) and w.vans.tolist() == [toy.nodes.fdcs.capacity.vans]
    p = Parcels.from_scenario(toy, net, ndcs)
    assert p.cutoff == 23 * HOUR


def test_parcels_cutoff_promise_and_delivery() -> None:
    p = Parcels(23 * HOUR, np.array([2]), np.array([[1]]))
    assert p.ship_day(23 * HOUR) == 0 and p.ship_day(23 * HOUR + 1) == 1  # at the cut-off still makes it
    assert p.cutoff_s(1) == DAY + 23 * HOUR
    assert p.promise_s(0, np.array([0]), np.array([0])).tolist() == [2 * DAY]  # end of day 0 + 1 transit day
    p.add(0, np.array([5]), np.array([0]), np.array([0]), np.array([0.5]))
    assert p.capacity(0).tolist() == [1] and p.pending() == 1
    res = p.dispatch(0)
    # delivered on day 1 between 09:00 and 21:00: u = 0.5 -> 15:00
    assert res.ref.tolist() == [5] and res.delivered_s.tolist() == [DAY + 15 * HOUR]
    assert p.pending() == 0 and p.capacity(0).tolist() == [2]


def test_wave_clock() -> None:
    fleet = VanFleet(
        np.array([1]),
        np.array([5300.0]),
        np.array([30.0]),
        np.array([180.0]),
        np.array([30.0]),
        np.array([120.0]),
        np.array([10.0]),
        1.3,
        4.0,
        2.5,
    )
    w = Waves(
        np.array([9 * HOUR, 15 * HOUR]), np.array([[10 * HOUR, 13 * HOUR], [16 * HOUR, 19 * HOUR]]), fleet
    )
    assert w.wave_at(9 * HOUR) == 0  # at the cut-off: still this wave
    assert w.wave_at(9 * HOUR + 1) == 1
    assert w.wave_at(15 * HOUR + 1) == 2  # the next day's first wave
    assert w.cutoff_s(2) == DAY + 9 * HOUR
    assert w.window_s(3) == (DAY + 16 * HOUR, DAY + 19 * HOUR)
    assert w.next_cutoff_s(np.array([8 * HOUR, 10 * HOUR, 16 * HOUR])).tolist() == [
        9 * HOUR,
        15 * HOUR,
        DAY + 9 * HOUR,
    ]


def _orders(created: list[float], lines: list[list[tuple[int, int]]]) -> Orders:
    n = len(created)
    off = np.concatenate([[0], np.cumsum([len(x) for x in lines])]).astype(np.int64)
    flat = [x for order in lines for x in order]
    return Orders(
        order_id=np.arange(n, dtype=np.int64),
        created_s=np.array(created),
        zone=np.zeros(n, np.int32),
        city=np.zeros(n, np.int32),
        requested_tier=np.zeros(n, np.int8),
        line_offsets=off,
        line_sku=np.array([s for s, _ in flat], np.int32),
        line_qty=np.array([q for _, q in flat], np.int32),
        u_service=np.full(n, 0.5),
        u_decision=np.full(n, 0.5),
    )


def test_order_book_batches_carried_orders_first() -> None:
    b = OrderBook()
    b.add_day(_orders([10.0, 50.0, 70.0], [[(0, 1)], [(1, 2), (2, 1)], [(0, 3)]]), warmup=False)
    assert b.take_batch(60.0).tolist() == [0, 1]  # created before the end of the epoch
    assert b.n_lines(np.array([0, 1, 2])).tolist() == [1, 2, 1]
    assert b.units(np.array([0, 1, 2])).tolist() == [1, 3, 3]
    b.carry = np.array([1])
    assert b.take_batch(120.0).tolist() == [1, 2]  # the carried order, then the new one
    assert b.take_batch(180.0).tolist() == []


def test_repair_unassigns_the_later_order_that_overdraws_stock() -> None:
    b = OrderBook()
    b.add_day(_orders([0.0, 1.0, 2.0], [[(0, 2)], [(0, 2)], [(1, 1)]]), warmup=False)
    on_hand = np.array([[3, 1]])
    sim = SimpleNamespace(
        book=b, inv=SimpleNamespace(on_hand=on_hand, reserved=np.zeros_like(on_hand)), stats=RouterStats()
    )
    # no substitutes, no line dropped
    ep = SimpleNamespace(idx=np.array([0, 1, 2]), p_node=np.array([0, 0, 0]), sub_sku=None, drop=None)
    chosen = np.array([0, 1, 2])
    # SKU 0 at node 0: 3 units, the first order takes 2, the second needs 2 more: repaired; SKU 1 is fine
    out = repair(sim, ep, chosen)  # type: ignore[arg-type]
    assert out.tolist() == [0, -1, 2]
    assert chosen.tolist() == [0, 1, 2]  # the router's choice is left as it was
    assert sim.stats.repairs == 1
