"""``vans: solver``: one FDC's wave routed as a capacitated VRP (`sim.routing.vans`), orders timed by route.

Stops are the distinct zones with orders in the wave (orders carry their zone's coordinates, so equal
coordinates = one zone); a zone whose orders exceed a van's volume or ``MAX_STOP_S`` of hand-overs is
split into several stops at the same place, so that several vans can share a busy zone. A stop's demand is its orders' litres and its service time is ``van_stop_s`` per order
(each order is a hand-over at its own door; driving inside a zone is not modelled, the zone is a
point). Distances are great-circle x circuity, the same road km as the network's zone x node matrix.

Vans leave at the wave's cut-off and may not serve before the window opens. An order is delivered
when its hand-over ends: departure + driving and earlier stops along its van's route (with any wait
for the window) + the hand-overs before it at its stop + its own. A route that overruns the window
makes its late orders late (the engine charges lateness against the promise, the window's end).

Van cost: ``per_stop`` per order (as ``approx`` counts a stop per order) + ``per_km`` x the route's
actual km, shared equally by the route's orders (as ``approx`` shares a van's cost). Busy time per
van: driving + hand-overs, at most the window (as ``approx``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sim.network.geo import distance_matrix_km
from sim.routing.vans import VanProblem, route_wave


class Waves(Protocol):
    """What a wave's VRP reads of ``sim.engine.warehouse.Waves`` (a protocol: no import cycle)."""

    vans: np.ndarray
    van_l: np.ndarray
    speed: np.ndarray
    stop_s: np.ndarray
    fdc_lat: np.ndarray
    fdc_lon: np.ndarray
    circuity: float
    per_stop: float
    per_km: float

    def cutoff_s(self, g: int) -> float: ...

    def window_s(self, g: int) -> tuple[float, float]: ...


MAX_STOP_S = 1800.0  # longest hand-over time of one stop: 10 orders at the default 180 s


def wave_stops(
    lat: np.ndarray, lon: np.ndarray, vol: np.ndarray, capacity_l: float, max_orders: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stop of each order, the orders before it at its stop, and each stop's first order (for its place).
    A zone is cut into stops of at most `max_orders` orders and at most `capacity_l` litres."""
    _, zone = np.unique(np.column_stack([lat, lon]), axis=0, return_inverse=True)
    zone = zone.ravel()
    order = np.argsort(zone, kind="stable")
    zs = zone[order]
    first = np.r_[0, np.flatnonzero(np.diff(zs)) + 1]
    start = np.repeat(first, np.diff(np.r_[first, zs.size]))
    cum = np.cumsum(vol[order])
    before = cum - vol[order] - (cum[start] - vol[order][start])  # litres ahead of it at its zone
    over = np.bincount(zs, weights=vol[order])[zs] > capacity_l
    room = max(capacity_l - float(vol.max(initial=0.0)), 1e-9)  # chunks of <= room + one order <= capacity
    by_volume = np.where(over, np.floor(before / room), 0).astype(np.int64)
    by_count = (np.arange(zs.size) - start) // max(max_orders, 1)
    chunk = by_volume * (zs.size + 1) + by_count  # a new stop when either limit is reached
    _, stop_sorted = np.unique(np.column_stack([zs, chunk]), axis=0, return_inverse=True)
    stop = np.empty(zone.size, np.int64)
    stop[order] = stop_sorted.ravel()
    so = stop[order]
    firsts = np.r_[0, np.flatnonzero(np.diff(so)) + 1]
    rank_sorted = np.arange(so.size) - np.repeat(firsts, np.diff(np.r_[firsts, so.size]))
    rank = np.empty(zone.size, np.int64)
    rank[order] = rank_sorted
    return stop, rank, order[firsts]


def wave_problem(
    w: Waves, f: int, g: int, lat: np.ndarray, lon: np.ndarray, vol: np.ndarray
) -> tuple[VanProblem, np.ndarray, np.ndarray]:
    """The VRP of FDC row f's orders in wave g, with each order's stop and rank at its stop."""
    max_orders = int(MAX_STOP_S // max(float(w.stop_s[f]), 1e-9))
    stop, rank, rep = wave_stops(lat, lon, vol, float(w.van_l[f]), max_orders)
    n = rep.size
    plat = np.r_[w.fdc_lat[f], lat[rep]]
    plon = np.r_[w.fdc_lon[f], lon[rep]]
    km = distance_matrix_km(plat, plon, plat, plon).astype(float) * w.circuity
    np.fill_diagonal(km, 0.0)
    count = np.bincount(stop, minlength=n)
    cut = w.cutoff_s(g)
    a, b = w.window_s(g)
    p = VanProblem(
        km=km,
        demand_l=np.bincount(stop, weights=vol, minlength=n),
        service_s=count * float(w.stop_s[f]),
        vans=int(w.vans[f]),
        capacity_l=float(w.van_l[f]),
        speed_kmh=float(w.speed[f]),
        open_s=a - cut,
        close_s=b - cut,
    )
    return p, stop, rank


def solver_fdc(
    w: Waves, f: int, g: int, lat: np.ndarray, lon: np.ndarray, km: np.ndarray, vol: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Route FDC row f's orders of wave g; per-order delivery time and van cost, and each route's busy seconds."""
    del km  # the solver's distance matrix covers the stems
    p, stop, rank = wave_problem(w, f, g, lat, lon, vol)
    r = route_wave(p)
    a, b = w.window_s(g)
    delivered = w.cutoff_s(g) + r.start_s[stop] + float(w.stop_s[f]) * (rank + 1)
    orders_per_route = np.bincount(r.van[stop], minlength=len(r.routes))
    route_cost = w.per_stop * orders_per_route + w.per_km * r.route_km
    cost = (route_cost / np.maximum(orders_per_route, 1))[r.van[stop]]
    service = np.bincount(r.van, weights=p.service_s, minlength=len(r.routes))
    drive = r.route_km / float(w.speed[f]) * 3600.0 + service
    return delivered, cost, np.minimum(drive, b - a)
