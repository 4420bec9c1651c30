"""The rider pool as a queue (issue #13): one rider, one order per trip, Poisson ready times and noisy
trips is an M/G/1 queue whose service is the whole trip (pickup, ride out, handover, ride back). The
mean wait for the rider (departure - ready - pickup) must match Pollaczek-Khinchine,
W_q = lambda E[S^2] / (2 (1 - rho)), inside a batch-means 99% CI after dropping the first 10%.

The trip is S = pickup + handover + 360 s x (f_out + f_back) with f lognormal (mean 1, CV 0.3) drawn
independently for the two legs from each order's uniforms: E[S] and E[S^2] follow in closed form.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.engine.riders import N_U, TripParams
from sim.engine.store import StoreOps, StoreRules
from sim.rng import RandomStreams

PICKUP, HANDOVER, LEG, CV, RHO, N = 60.0, 120.0, 360.0, 0.3, 0.7, 16_000


def test_single_rider_is_mg1() -> None:
    es = PICKUP + HANDOVER + 2 * LEG
    es2 = es**2 + 2 * (LEG * CV) ** 2
    lam = RHO / es
    wq = lam * es2 / (2 * (1 - RHO))
    rng = RandomStreams(2026).get("test.mg1")
    ready = np.cumsum(rng.exponential(1 / lam, N))
    u = rng.random((N, N_U))
    tp = TripParams(
        pool=False,
        reach_s=np.zeros(1),
        reach_cv=0.0,
        pickup_trip_s=np.full(1, PICKUP),
        pickup_order_s=np.zeros(1),
        handover_s=np.full(1, HANDOVER),
        travel_cv=CV,
        speed_hour=np.full(24, 20.0),
        day_factor=None,
    )  # 2 km at 20 km/h: 360 s a leg
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
    o = StoreOps(np.ones(1, np.int64), np.ones(1, np.int64), rules, np.zeros(1), np.zeros(1), trip=tp)
    depart = np.empty(N)
    chunk = 1000  # feed in ready order, as epochs would
    for a in range(0, N, chunk):
        b = min(a + chunk, N)
        for i in range(a, b):
            o.ready(
                np.zeros(1, np.int64),
                np.array([i]),
                ready[i : i + 1],
                np.full(1, 2.0),
                np.zeros(1, np.int64),
                np.full(1, 1e12),
                u=u[i : i + 1],
                assigned_s=ready[i],
            )
        d = o.take_delivered()
        out_leg = LEG * np.exp(np.sqrt(np.log1p(CV**2)) * stats.norm.ppf(u[d.ref, 0]) - np.log1p(CV**2) / 2)
        depart[d.ref] = d.delivered_s - HANDOVER - out_leg
    wait = depart - ready - PICKUP
    assert wait.min() >= -1e-6
    w = wait[N // 10 :]
    batches = w[: w.size // 20 * 20].reshape(20, -1).mean(axis=1)
    half = stats.t.ppf(0.995, 19) * batches.std(ddof=1) / np.sqrt(20)
    assert abs(batches.mean() - wq) < half, (batches.mean(), wq, half)
