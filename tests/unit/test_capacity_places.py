"""Issue #15: a store's places in the capacity look-ahead are rider trips under the near quote cap
(``router.capacity_places: quote``), and a longer trip takes more of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.units import HOUR

ROOT = Path(__file__).resolve().parents[2]
QUEUE = ["tiers.near.quote=eta", "tiers.near.quote_from=queue", "tiers.near.max_quote_min=40"]


def _epochs(sets: list[str], keep: int = 6) -> list[tuple[Any, Any]]:
    """(sim, epoch options) of a few busy epochs of a short toy day with few riders (queues build up)."""
    import sim.engine.routing_step as rs
    from sim.engine.simulation import Simulation
    from sim.run import prepare

    sc = prepare(
        ROOT / "scenarios" / "toy.yaml",
        days=1,
        router="flow",
        overrides=[
            "demand.orders_per_day=600",
            "horizon.warmup_days=2",
            "nodes.stores.capacity.riders=2",
            *sets,
        ],
    )
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router="flow")
    seen: list[tuple[Any, Any, np.ndarray]] = []
    price = rs.price

    def spy(s: Any, ep: Any) -> Any:
        out = price(s, ep)
        if len(seen) < keep and ep.t > 2.5 * 24 * HOUR and (ep.p_tier == 0).sum() > 3:
            seen.append((s, ep, rs.quote_trips(s, ep.t, rs.store_ref_km(s), float(np.mean(ep.n_lines)))))
        return out

    rs.price = spy
    try:
        sim.run()
    finally:
        rs.price = price
    return [(s, ep) for s, ep, _ in seen]


def test_quote_trips_is_the_count_of_queue_places_under_the_cap() -> None:
    """Brute force per store: the queue quote of an own order placed now with open batches + j ahead, j = 0, 1,
    ...; the places are the j before the first whose quote (estimate + buffer) is over max_quote_min."""
    import sim.engine.routing_step as rs

    got = _epochs(QUEUE)
    assert got
    saw_short = False
    for sim, ep in got:
        near = sim.sc.tiers.near
        ref = rs.store_ref_km(sim)
        mean_lines = float(np.mean(ep.n_lines))
        places = rs.quote_trips(sim, ep.t, ref, mean_lines)
        for s in range(sim.stores.size):
            ready = max(ep.t, float(sim.ops.earliest_picker()[s])) + (
                sim.store_pick_base[s] + sim.store_pick_line[s] * mean_lines
            )
            fits = []
            for j in range(rs.MAX_TRIPS):
                ahead = np.array([float(sim.ops.open_batches(np.array([s]))[0] + j)])
                eta = sim.ops.eta(ep.t, np.array([ready]), np.array([s]), np.array([ref[s]]), ahead=ahead)[0]
                fits.append(eta + near.quote_buffer_min * 60 <= ep.t + near.max_quote_min * 60)
            first_over = fits.index(False) if False in fits else len(fits)
            assert places[s] == first_over  # the trips before the first one over the cap
            saw_short |= places[s] < rs.MAX_TRIPS
    assert saw_short  # some store was short of riders in these epochs: the test saw the cap bind


def test_a_longer_trip_takes_more_places_and_slots_mode_is_the_router_before() -> None:
    """quote: places are at most the epoch's capacity; a store pair takes its trip / the trip at the store's
    mean own km (reach + pickup + ride + handover by hand); slots (or no queue quote): capacity, one each."""
    import sim.engine.routing_step as rs

    for sets, quote in ((QUEUE, True), ([*QUEUE, "router.capacity_places=slots"], False), ([], False)):
        for sim, ep in _epochs(sets, keep=2):
            pairs = np.flatnonzero(ep.p_tier >= 0)
            places, share = rs.capacity_places(sim, ep, pairs)
            if not quote:
                np.testing.assert_array_equal(places, ep.capacity)
                np.testing.assert_array_equal(share, 1.0)
                continue
            assert (places <= ep.capacity).all()
            st = ep.p_tier[pairs] == 0
            np.testing.assert_array_equal(share[~st], 1.0)
            srow = sim.row[ep.p_node[pairs[st]]]
            tp, speed = sim.ops.trip, sim.ops.speed_at(np.array([ep.t]))[0]

            def by_hand(
                km: np.ndarray, srow: np.ndarray = srow, tp: Any = tp, speed: float = speed
            ) -> np.ndarray:
                ride = km / speed * HOUR
                if tp is None:
                    return 2 * ride
                lead = tp.reach_s[srow] if tp.pool else ride
                return lead + tp.pickup_trip_s[srow] + tp.pickup_order_s[srow] + ride + tp.handover_s[srow]

            ref = rs.store_ref_km(sim)[srow]
            np.testing.assert_allclose(share[st], by_hand(ep.km[pairs[st]]) / by_hand(ref), rtol=1e-12)
            longer = ep.km[pairs[st]] > ref + 1e-9
            assert (share[st][longer] > 1.0).all() and (share[st][~longer] <= 1.0 + 1e-12).all()
