"""Shangou benchmarks (`make bench`): printed figures, never timed assertions.

Each figure is reported as a ratio against a naive baseline measured in the same run, because the
machines are shared and noisy:
- the engine's orders/s on Shanghai-Hangzhou against a process-per-order SimPy model of the same
  orders (benchmarks/naive.py, which does strictly less work);
- the engine at 1x, 4x and 10x the Shanghai-Hangzhou volume (issue #19: cost per order must not grow
  with load), each as a ratio to the 1x day of the same invocation; each scale runs in its own process
  so its peak RSS is its own;
- the 1x day with the near tier's mechanisms on (the bundled scenario) and switched off (the golden
  runs' ``OFF`` list, the engine before issue #13): on / off is issue #13's "within 25%" criterion;
- the vectorised zone x node distance matrix against a per-pair Python loop.
Set SHANGOU_BENCH_ORDERS to change the engine's 1x daily volume (default 600,000, the scenario's own),
SHANGOU_BENCH_SCALES the multiples run (default "1,4,10"; 1 is always run), SHANGOU_BENCH_OFF=0 to skip
the mechanisms-off day. The load average is printed: the machine may be shared.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
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


def engine_run(orders_per_day: int, off: bool = False) -> dict[str, float]:
    """One end-to-end run (load, build, simulate, check invariants, write the run directory and report):
    2 warm-up days + 1 measured day of Shanghai-Hangzhou at `orders_per_day`; `off` switches the
    mechanisms added since the golden recording off."""
    overrides = [f"demand.orders_per_day={orders_per_day}", "horizon.warmup_days=2", "horizon.days=1"]
    if off:
        from tools.golden import OFF

        overrides += OFF
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        res = simulate(ROOT / "scenarios/shanghai_hangzhou.yaml", overrides=overrides, out=Path(tmp) / "run")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(res.orders)
    return {
        "orders": n,
        "wall_s": wall,
        "rate": n / wall,
        "cpu_s": cpu,
        "rate_cpu": n / cpu,
        "rss_gib": peak_rss_gib(),
        "epoch_ms": float(res.kpis["router"]["solver_ms_mean"] or 0.0),
    }


def engine_in_process(orders_per_day: int, off: bool) -> dict[str, float]:
    """``engine_run`` in a fresh interpreter (its own peak RSS, no memory left over between scales)."""
    cmd = [sys.executable, __file__, "--engine-run", str(orders_per_day)] + (["--off"] if off else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def naive_rate(orders_per_day: int) -> tuple[int, float, float]:
    """The naive process-per-order SimPy peer on (up to) 100,000 orders of the same day: (orders, orders per
    wall second, orders per CPU second)."""
    sc = load_scenario(ROOT / "scenarios/shanghai_hangzhou.yaml", [f"demand.orders_per_day={orders_per_day}"])
    net, cat = build_network(sc), build_catalog(sc)
    day = generate_day(sc, net, cat, RandomStreams(sc.seed), 0)
    n = min(day.n_orders, 100_000)
    sub = day.take(np.arange(n))
    cap = sc.nodes.stores.capacity
    t0, c0 = time.perf_counter(), time.process_time()
    run_naive(sub, net, cap.pick_base_s, cap.riders, cap.pickers, cap.rider_speed_kmh)
    return n, n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def engine(orders_per_day: int, scales: list[int], off: bool) -> None:
    """Orders/s end to end at each scale, as ratios to the 1x day and to the naive peer of the same run
    (a row is printed as soon as its run ends). The same ratios on CPU time (orders per CPU second of each
    process) follow: on a shared machine they are the ones to compare."""
    n_naive, naive, naive_cpu = naive_rate(orders_per_day)
    print(
        f"naive process-per-order SimPy: {n_naive:,} orders of the 1x day at {naive:,.0f} orders/s "
        f"({naive_cpu:,.0f} per CPU-s)"
    )
    print("engine, Shanghai-Hangzhou 2 warm-up + 1 measured day, end to end (mechanisms on unless 'off'):")
    print(
        f"  {'run':8} {'orders/day':>11} {'orders':>11} {'wall s':>8} {'orders/s':>9} {'/ 1x':>6} {'/ naive':>8} "
        f"{'epoch ms':>9} {'peak RSS GiB':>13} {'load':>5} {'CPU s':>7} {'per CPU-s':>9} {'/ 1x':>6} "
        f"{'/ naive':>8}",
        flush=True,
    )
    base = base_cpu = 0.0
    for name, k, is_off in (
        [(f"{k}x", k, False) for k in scales[:1]]
        + ([("1x off", 1, True)] if off else [])
        + [(f"{k}x", k, False) for k in scales[1:]]
    ):
        r = engine_in_process(orders_per_day * k, off=is_off)
        base, base_cpu = base or r["rate"], base_cpu or r["rate_cpu"]
        print(
            f"  {name:8} {orders_per_day * k:>11,} {int(r['orders']):>11,} {r['wall_s']:>8.1f} {r['rate']:>9,.0f} "
            f"{r['rate'] / base:>6.2f} {r['rate'] / naive:>8.2f} {r['epoch_ms']:>9.1f} {r['rss_gib']:>13.2f} "
            f"{os.getloadavg()[0]:>5.1f} {r['cpu_s']:>7.1f} {r['rate_cpu']:>9,.0f} {r['rate_cpu'] / base_cpu:>6.2f} "
            f"{r['rate_cpu'] / naive_cpu:>8.2f}",
            flush=True,
        )


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
    print(
        f"demand generation: {orders.n_orders:,} orders in a Shanghai-Hangzhou day at 2.5M/day, "
        f"best of 3 days {best:,.0f} orders/s (one core)"
    )


def naive_distances(zlat, zlon, nlat, nlon) -> list[list[float]]:  # type: ignore[no-untyped-def]
    out = []
    for a, b in zip(zlat, zlon, strict=True):
        row = []
        for c, d in zip(nlat, nlon, strict=True):
            p1, p2 = math.radians(a), math.radians(c)
            h = (
                math.sin((p2 - p1) / 2) ** 2
                + math.cos(p1) * math.cos(p2) * math.sin(math.radians(d - b) / 2) ** 2
            )
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
    print(
        f"national: load+validate {t_load * 1e3:.0f} ms; network build {t_build:.2f} s "
        f"({net.n_zones} zones x {net.n_nodes} nodes)"
    )
    z = slice(0, 200)
    t0 = time.perf_counter()
    fast = distance_matrix_km(net.zone_lat, net.zone_lon, net.node_lat, net.node_lon)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = naive_distances(net.zone_lat[z], net.zone_lon[z], net.node_lat, net.node_lon)
    t_naive = time.perf_counter() - t0
    ratio = (net.n_zones * net.n_nodes / t_vec) / (200 * net.n_nodes / t_naive)
    print(
        f"distance matrix: vectorised / per-pair Python = {ratio:.0f}x (agree: {np.allclose(fast[z], slow, rtol=1e-5)})"
    )


def main() -> None:
    if (
        len(sys.argv) > 2 and sys.argv[1] == "--engine-run"
    ):  # one scale, in its own process (engine_in_process)
        print(json.dumps(engine_run(int(sys.argv[2]), off="--off" in sys.argv)))
        return
    print(
        f"load average at the start: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores; 'load' below: "
        "the 1-min load average when the run ended",
        flush=True,
    )
    generation()
    scales = sorted(
        {1} | {int(x) for x in os.environ.get("SHANGOU_BENCH_SCALES", "1,4,10").split(",") if x.strip()}
    )
    engine(
        int(os.environ.get("SHANGOU_BENCH_ORDERS", "600000")),
        scales,
        os.environ.get("SHANGOU_BENCH_OFF", "1") != "0",
    )
    network()


if __name__ == "__main__":
    main()
