"""Van wave routes vs brute force: on random waves of at most 7 stops the engine's solver finds the optimum.

The brute force is independent of any solver: for every subset of stops, the shortest route over all
permutations that fits one van and ends every stop's service by the window's close (the same integer
metres / seconds the solver sees); then the best partition of the stops into at most `vans` such
routes, by dynamic programming over subsets.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.routing.vans import VanProblem, route_wave


def random_wave(rng: np.random.Generator, n: int, tight: bool) -> VanProblem:
    xy = rng.uniform(-8.0, 8.0, (n + 1, 2))
    xy[0] = rng.uniform(-3.0, 3.0, 2)  # the FDC, near the middle
    km = np.rint(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) * 1.3 * 1000.0) / 1000.0  # whole metres
    demand = rng.integers(5, 60, n).astype(float)
    vans = int(rng.integers(1, 4))
    capacity = float(max(demand.max(), np.ceil(demand.sum() / vans * rng.uniform(1.0, 1.6))))
    service = 180.0 * rng.integers(1, 6, n)
    close = 3600.0 + (rng.uniform(0.6, 1.2) if tight else 4.0) * 3600.0
    return VanProblem(
        km=km,
        demand_l=demand,
        service_s=service,
        vans=vans,
        capacity_l=capacity,
        speed_kmh=30.0,
        open_s=3600.0,
        close_s=close,
    )


def brute_force_m(p: VanProblem) -> float:
    """Least total metres over feasible solutions (inf if none), by enumeration."""
    metres, secs, demand, service, cap = p.int_data()
    latest = p.latest_start()
    open_s = int(np.ceil(p.open_s))
    n = p.n
    best_route = np.full(1 << n, np.inf)
    best_route[0] = 0.0
    for mask in range(1, 1 << n):
        stops = [i for i in range(n) if mask >> i & 1]
        if demand[stops].sum() > cap:
            continue
        for perm in itertools.permutations(stops):
            t, pos, dist, ok = 0, 0, 0, True
            for s in perm:
                t = max(t + secs[pos, s + 1], open_s)
                if t > latest[s]:
                    ok = False
                    break
                t += service[s]
                dist += metres[pos, s + 1]
                pos = s + 1
            if ok:
                best_route[mask] = min(best_route[mask], dist + metres[pos, 0])
    full = (1 << n) - 1
    best = np.full((p.vans + 1, 1 << n), np.inf)  # best[k][mask]: mask served by k routes
    best[0][0] = 0.0
    for k in range(1, p.vans + 1):
        for mask in range(1, 1 << n):
            low = mask & -mask  # the block holding the lowest stop: each partition counted once
            sub = mask
            while sub:
                if sub & low and best_route[sub] < np.inf:
                    best[k][mask] = min(best[k][mask], best[k - 1][mask ^ sub] + best_route[sub])
                sub = (sub - 1) & mask
    return float(best[:, full].min())


CASES = [(seed, 3 + seed % 5, seed % 3 == 0) for seed in range(36)]


@pytest.mark.parametrize(("seed", "n", "tight"), CASES)
def test_solver_matches_brute_force_on_small_waves(seed, n, tight):
    rng = np.random.default_rng(1000 + seed)
    for _ in range(50):  # redraw until some routes end every stop within the window
        p = random_wave(rng, n, tight)
        optimum = brute_force_m(p)
        if np.isfinite(optimum):
            break
    assert np.isfinite(optimum)
    r = route_wave(p)
    assert len(r.routes) <= p.vans
    assert round(r.km * 1000.0) == round(optimum), (r.km * 1000.0, optimum)
    assert (r.start_s + p.service_s <= p.close_s + 5.0).all()  # on time (whole-second rounding of legs)
