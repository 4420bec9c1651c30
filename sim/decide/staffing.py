"""Staffing the near tier: a queueing start per store and hour, refined by simulation to a service target.

Queueing start. Near orders reach store n in hour h at rate λ_nh = orders/day x day factor x the
share of demand whose nearest covering store is n x the near share of the tier mix x the hour's
share (Poisson, the demand model's own). Pickers are an M/M/c queue with mean service
``pick_base_s + pick_per_line_s x mean_lines`` per order; riders one with mean service per order
``(rider_reach_s + rider_pickup_trip_s + 2 x km / speed + rider_handover_s x batch) / batch`` (a trip
of ``rider_max_batch`` orders, out and back over the catchment's mean road km). The start is the
fewest servers c with P(wait <= slack) = 1 - C(c, a) exp(-(c mu - lambda) slack) >= target (Erlang C,
a = lambda / mu; square-root staffing is its large-load approximation), per store at its busiest hour.

Refinement. The start scaled by a factor α (riders and pickers per store = ceil(α x start), at least 1)
is simulated on common replications, α on a grid from small to large; the answer is the smallest α
whose one-sided 95% lower bound of the target KPI clears the target, so the grid point below it (fewer
staff everywhere) does not. It is then verified on fresh replications (other replication indices).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.demand.conversion import orders_factor
from sim.demand.forecast import catchment
from sim.demand.profiles import day_factor, intraday_shares


def erlang_c(c: int, a: float) -> float:
    """P(an arrival waits) in M/M/c with offered load a = λ/μ (1 when c <= a: the queue is unstable)."""
    if a <= 0:
        return 0.0
    if c <= a:
        return 1.0
    b = 1.0  # Erlang B by its stable recursion B(k) = a B(k-1) / (k + a B(k-1))
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def p_wait_within(c: int, lam: float, mean_s: float, slack_s: float) -> float:
    """P(wait <= slack) in M/M/c with arrival rate `lam` per second and mean service `mean_s`."""
    if lam <= 0:
        return 1.0
    a = lam * mean_s
    if c <= a:
        return 0.0
    return 1.0 - erlang_c(c, a) * math.exp(-(c / mean_s - lam) * slack_s)


def min_servers(lam: float, mean_s: float, slack_s: float, target: float, c_max: int = 100_000) -> int:
    """Fewest servers with P(wait <= slack) >= target (0 when nothing arrives)."""
    if lam <= 0:
        return 0
    c = max(1, math.floor(lam * mean_s))
    while p_wait_within(c, lam, mean_s, slack_s) < target:
        c += 1
        if c > c_max:
            raise ValueError(f"no staffing up to {c_max} servers meets the target")
    return c


@dataclass(frozen=True)
class StoreHours:
    """Per store (rows) and hour: near arrival rates and the queueing start."""

    node: np.ndarray  # (S,) node index of each store
    lam_per_s: np.ndarray  # (S, 24) near orders per second
    pick_s: np.ndarray  # (S,) mean picking time per order
    ride_s: np.ndarray  # (S,) mean rider time per order
    pickers: np.ndarray  # (S, 24) queueing start
    riders: np.ndarray  # (S, 24)


def store_hours(sc: Any, net: Any, date: Any, *, target: float, slack_s: float) -> StoreHours:
    """The queueing start of every store on `date` (a datetime.date) for P(wait <= slack_s) >= target."""
    stores = np.flatnonzero(net.node_kind == 2)
    c = catchment(net, 2)
    share = np.bincount(c[c >= 0], weights=net.zone_weight[c >= 0], minlength=net.n_nodes)[stores]
    day = (
        float(sc.demand.orders_per_day)
        * day_factor(sc.demand, date)
        * float(sc.demand.tier_mix.near)
        * float(orders_factor(sc)[0])
    )  # near orders won at the promise (ones without demand.conversion)
    lam = day * share[:, None] * intraday_shares(sc.demand)[None, :] / 3600.0
    km = np.zeros(stores.size)
    for i, n in enumerate(stores):
        z = np.flatnonzero(c == n)
        w = net.zone_weight[z]
        km[i] = float((net.road_km[z, n] * w).sum() / w.sum()) if w.sum() > 0 else 0.0
    caps = [net.node_capacity[n] for n in stores]
    lines = float(sc.demand.basket.mean_lines)
    pick = np.array([float(cp.pick_base_s) + float(cp.pick_per_line_s) * lines for cp in caps])

    def get(cp: Any, name: str) -> float:
        return float(getattr(cp, name, 0.0) or 0.0)  # trip fields of the near-tier issue, 0 when absent

    ride = np.array(
        [
            (
                get(cp, "rider_reach_s")
                + get(cp, "rider_pickup_trip_s")
                + 2.0 * k / float(cp.rider_speed_kmh) * 3600.0
                + get(cp, "rider_handover_s") * float(cp.rider_max_batch)
            )
            / float(cp.rider_max_batch)
            for cp, k in zip(caps, km, strict=True)
        ]
    )
    pickers = np.array(
        [
            [min_servers(float(lam[i, h]), float(pick[i]), slack_s, target) for h in range(24)]
            for i in range(stores.size)
        ]
    )
    riders = np.array(
        [
            [min_servers(float(lam[i, h]), float(ride[i]), slack_s, target) for h in range(24)]
            for i in range(stores.size)
        ]
    )
    return StoreHours(stores, lam, pick, ride, pickers, riders)
