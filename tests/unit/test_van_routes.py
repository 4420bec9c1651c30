"""Van wave routes: feasibility properties of both back ends, the schedule, and how orders become stops."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.van_waves import wave_stops
from sim.routing.vans import VanProblem, route_wave, schedule, solve_ortools, solve_pyvrp


def wave(seed: int, n: int = 40, vans: int = 4, close_h: float = 4.0) -> VanProblem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-10.0, 10.0, (n + 1, 2))
    xy[0] = 0.0
    km = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) * 1.3
    count = rng.integers(1, 5, n)
    return VanProblem(
        km=km,
        demand_l=count * rng.uniform(3.0, 30.0, n),
        service_s=180.0 * count,
        vans=vans,
        capacity_l=700.0,
        speed_kmh=30.0,
        open_s=3600.0,
        close_s=close_h * 3600.0,
    )


SOLVERS = {"pyvrp": lambda p: solve_pyvrp(p, 200), "ortools": lambda p: solve_ortools(p, 30)}


@pytest.mark.parametrize("name", sorted(SOLVERS))
@pytest.mark.parametrize("seed", [1, 2])
def test_routes_visit_each_stop_once_within_capacity_in_time_order(name, seed):
    p = wave(seed)
    r = SOLVERS[name](p)
    visits = np.concatenate(r.routes)
    assert np.array_equal(np.sort(visits), np.arange(p.n))  # every stop exactly once
    for v, stops in enumerate(r.routes):
        assert p.demand_l[stops].sum() <= p.capacity_l + 1e-9
        assert (r.van[stops] == v).all()
        starts = r.start_s[stops]
        assert (np.diff(starts) >= p.service_s[stops[:-1]] - 1e-9).all()  # non-decreasing, serve then drive
        assert starts[0] >= max(p.open_s, p.km[0, stops[0] + 1] / p.speed_kmh * 3600.0) - 1e-9
        path = np.r_[0, stops + 1, 0]
        assert r.route_km[v] == pytest.approx(p.km[path[:-1], path[1:]].sum())
    assert r.km == pytest.approx(r.route_km.sum())
    assert len(r.routes) <= p.vans  # the fleet suffices here: no extra trips


def test_engine_solver_is_deterministic():
    p = wave(3, n=50, vans=6)
    a, b = route_wave(p), route_wave(p)
    assert len(a.routes) == len(b.routes)
    assert all(np.array_equal(x, y) for x, y in zip(a.routes, b.routes, strict=True))
    assert np.array_equal(a.start_s, b.start_s)


def test_overfull_wave_is_late_not_hidden():
    """Two vans cannot hand over 40 stops' orders in a one-hour window: every stop is still routed, and the
    schedule shows stops ending after the close."""
    p = wave(4, n=40, vans=2, close_h=2.0)
    r = route_wave(p)
    assert np.array_equal(np.sort(np.concatenate(r.routes)), np.arange(p.n))
    assert (r.start_s + p.service_s > p.close_s).any()


def test_loads_beyond_the_fleet_get_extra_trips():
    p = wave(5, n=30, vans=1)
    r = route_wave(p)
    assert p.demand_l.sum() > p.capacity_l
    assert len(r.routes) >= int(np.ceil(p.demand_l.sum() / p.capacity_l))
    assert all(p.demand_l[s].sum() <= p.capacity_l + 1e-9 for s in r.routes)


def test_schedule_by_hand():
    km = np.array([[0.0, 15.0, 30.0], [15.0, 0.0, 15.0], [30.0, 15.0, 0.0]])  # 30 km/h: 30 min a leg of 15 km
    p = VanProblem(
        km=km,
        demand_l=np.array([1.0, 1.0]),
        service_s=np.array([600.0, 300.0]),
        vans=1,
        capacity_l=10.0,
        speed_kmh=30.0,
        open_s=3600.0,
        close_s=4 * 3600.0,
    )
    r = schedule(p, [[0, 1]])
    # wait at stop 0 until the window opens (arrive 1800 s), serve 600 s, drive 1800 s to stop 1
    assert r.start_s.tolist() == [3600.0, 3600.0 + 600.0 + 1800.0]
    assert r.km == 60.0
    assert r.route_s[0] == 6000.0 + 300.0 + 3600.0


def test_wave_stops_group_zones_and_split_busy_ones():
    rng = np.random.default_rng(6)
    zone = rng.integers(0, 5, 200)
    lat, lon = 30.0 + zone * 0.01, 120.0 + zone * 0.02
    vol = rng.uniform(1.0, 20.0, 200)
    stop, rank, first = wave_stops(lat, lon, vol, capacity_l=150.0, max_orders=10)
    n = first.size
    assert (np.bincount(stop, minlength=n) <= 10).all()
    assert (np.bincount(stop, weights=vol, minlength=n) <= 150.0 + 1e-9).all()
    assert (lat == lat[first][stop]).all() and (lon == lon[first][stop]).all()  # a stop is one zone
    for s in range(n):  # ranks 0..k-1 within each stop
        assert sorted(rank[stop == s].tolist()) == list(range(int((stop == s).sum())))
    assert n >= max(int(np.ceil(np.bincount(zone, weights=vol).max() / 150.0)), 200 // 50)
