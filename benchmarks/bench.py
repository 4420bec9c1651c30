"""Shangou benchmarks (`make bench`): printed figures, never timed assertions.

Each figure is reported as a ratio against a naive baseline measured in the same run, because the
machines are shared and noisy:
- the engine's orders/s on Shanghai-Hangzhou against a process-per-order SimPy model of the same
  orders (benchmarks/naive.py, which does strictly less work);
- the vectorised zone x node distance matrix against a per-pair Python loop.
Set SHANGOU_BENCH_ORDERS to change the engine's daily volume (default 600,000, the scenario's own).
"""

from __future__ import annotations

import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.naive import run_naive  # noqa: E402
from sim.catalog import build_catalog  # noqa: E402
from sim.demand.generate import generate_day  # noqa: E402
from sim.io.scenario import load_scenario  # noqa: E402
from sim.network import build_network  # noqa: E402
from sim.network.geo import distance_matrix_km  # noqa: E402
from sim.rng import RandomStreams  # noqa: E402
from sim.run import simulate  # noqa: E402


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def engine(orders_per_day: int) -> None:
    overrides = [f"demand.orders_per_day={orders_per_day}", "horizon.warmup_days=2", "horizon.days=1"]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()  # end to end: load, build, simulate, check invariants, write the run directory
        res = simulate(ROOT / "scenarios/shanghai_hangzhou.yaml", overrides=overrides, out=Path(tmp) / "run")
        wall = time.perf_counter() - t0
    n = len(res.orders)
    rate = n / wall
    print(f"engine: {n:,} orders (2 warm-up + 1 measured day of Shanghai-Hangzhou at {orders_per_day:,}/day) "
          f"end to end in {wall:.1f} s = {rate:,.0f} orders/s; peak RSS {peak_rss_gib():.2f} GiB")
    sc = load_scenario(ROOT / "scenarios/shanghai_hangzhou.yaml", overrides)

    net, cat = build_network(sc), build_catalog(sc)
    day = generate_day(sc, net, cat, RandomStreams(sc.seed), 0)
    n = min(day.n_orders, 100_000)
    sub = day.take(np.arange(n))
    cap = sc.nodes.stores.capacity
    t0 = time.perf_counter()
    run_naive(sub, net, cap.pick_base_s, cap.riders, cap.pickers, cap.rider_speed_kmh)
    naive = n / (time.perf_counter() - t0)
    print(f"naive process-per-order SimPy: {n:,} orders at {naive:,.0f} orders/s; engine / naive = {rate / naive:.1f}x")


def generation() -> None:
    """Demand generation alone: one Shanghai-Hangzhou day (issue 4 target: >= 2 million orders/s, one core)."""
    sc = load_scenario(ROOT / "scenarios/shanghai_hangzhou.yaml", ["demand.orders_per_day=2500000"])
    net, cat = build_network(sc), build_catalog(sc)
    streams = RandomStreams(sc.seed)
    generate_day(sc, net, cat, streams, 0)  # warm caches
    best = 0.0
    for day in range(1, 4):
        t0 = time.perf_counter()
        orders = generate_day(sc, net, cat, streams, day)
        best = max(best, orders.n_orders / (time.perf_counter() - t0))
    print(f"demand generation: {orders.n_orders:,} orders in a Shanghai-Hangzhou day at 2.5M/day, "
          f"best of 3 days {best:,.0f} orders/s (one core)")


def naive_distances(zlat, zlon, nlat, nlon) -> list[list[float]]:  # type: ignore[no-untyped-def]
    out = []
    for a, b in zip(zlat, zlon, strict=True):
        row = []
        for c, d in zip(nlat, nlon, strict=True):
            p1, p2 = math.radians(a), math.radians(c)
            h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(d - b) / 2) ** 2
            row.append(2 * 6371.0088 * math.asin(math.sqrt(h)))
        out.append(row)
    return out


def network() -> None:
    t0 = time.perf_counter()
    sc = load_scenario(ROOT / "scenarios/national.yaml")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = build_network(sc)
    t_build = time.perf_counter() - t0
    print(f"national: load+validate {t_load * 1e3:.0f} ms; network build {t_build:.2f} s "
          f"({net.n_zones} zones x {net.n_nodes} nodes)")
    z = slice(0, 200)
    t0 = time.perf_counter()
    fast = distance_matrix_km(net.zone_lat, net.zone_lon, net.node_lat, net.node_lon)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = naive_distances(net.zone_lat[z], net.zone_lon[z], net.node_lat, net.node_lon)
    t_naive = time.perf_counter() - t0
    ratio = (net.n_zones * net.n_nodes / t_vec) / (200 * net.n_nodes / t_naive)
    print(f"distance matrix: vectorised / per-pair Python = {ratio:.0f}x (agree: {np.allclose(fast[z], slow, rtol=1e-5)})")


if __name__ == "__main__":
    generation()
    engine(int(os.environ.get("SHANGOU_BENCH_ORDERS", "600000")))
    network()
