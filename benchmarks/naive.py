"""A naive baseline for the benchmark: one SimPy process per order (what Shangou avoids).

Each order is a process: it asks its nearest covering store for a picker (a SimPy Resource with c
servers), holds the pick time, asks for a rider, rides; orders without a store are parcels (a
timeout). No stock, no batching, no routing optimisation: strictly less work than the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import simpy


def run_naive(orders: Any, network: Any, pick_s: float, riders: int, pickers: int, speed_kmh: float) -> float:
    """Simulate the orders; returns the simulated mean delivery time (s) so the work cannot be skipped."""
    env = simpy.Environment()
    stores = np.flatnonzero(network.node_kind == 2)
    covers = network.covers()[:, stores]
    km = np.where(covers, network.road_km[:, stores], np.inf)
    best = km.argmin(axis=1)
    has = np.isfinite(km[np.arange(len(best)), best])
    pick_res = [simpy.Resource(env, capacity=pickers) for _ in stores]
    ride_res = [simpy.Resource(env, capacity=riders) for _ in stores]
    done: list[float] = []

    def order(created: float, zone: int):  # type: ignore[no-untyped-def]
        yield env.timeout(max(created - env.now, 0.0))
        if not has[zone]:
            yield env.timeout(86400.0)
        else:
            s = int(best[zone])
            with pick_res[s].request() as req:
                yield req
                yield env.timeout(pick_s)
            with ride_res[s].request() as req:
                yield req
                yield env.timeout(2 * km[zone, s] / speed_kmh * 3600.0)
        done.append(env.now - created)

    for created, zone in zip(orders.created_s.tolist(), orders.zone.tolist(), strict=True):
        env.process(order(created, zone))
    env.run()
    return float(np.mean(done))
