"""National day, one process against sharded (``make bench``; printed figures, never timed assertions).

national.yaml has ``scope: regional``: its seven regions are independent shards (sim/shard.py). Each
mode runs ``shangou run`` in a child process (--quiet --no-report) on the same scenario and seed:

- ``serial``: the one-process path (the shards one after the other, then the merge);
- ``local``: a process pool of --workers workers; ``dask``: a LocalCluster of --workers workers;
- ``national-scope``: the same network with ``scope: national`` (every RDC serves every city), the
  pre-sharding one-engine model, for reference (a different model, not the same outputs).

It prints wall seconds (end to end, interpreter start included), the load average around each child
and the ratio to ``serial`` measured in the same invocation (back to back: on a loaded machine the wall
ratio says little), the child's peak RSS and the parent's merge peak, every shard's in-worker seconds and
worker peak RSS (manifest.json), and the load-independent figures from the shards' CPU seconds: the
busiest worker when the shards go largest first (LPT, as ``sim.shard.run``) on 2 and 16 workers, the
bound that puts on the speed-up with and without the serial rest (start, plan, merge, KPIs, write), and
the largest shard's share of the orders (no packing beats 1/share while that region is one shard). The
16-worker projection is the serial rest + the largest shard (national has 7 shards, so at most 7 are
busy); ``--largest-full`` takes the largest shard's CPU seconds measured at full volume instead of the
linear fit. The Dask overhead per shard is the sharded wall minus the local pool's, per shard, and a
round trip of the shard jobs through the cluster with trivial work. A reduced day (``--orders``,
default 250,000 of the scenario's 5,000,000 orders/day) keeps the shared 2-core machine usable. Checks
the sharded outputs equal the serial ones.

    PYTHONPATH=$PWD python benchmarks/bench_shard.py [--orders N] [--workers 2] [--modes serial local dask]
    PYTHONPATH=$PWD python benchmarks/bench_shard.py --platform   # platform_sample.yaml, extrapolated

--platform runs scenarios/platform_sample.yaml (12 brand-sized networks, 10 stores each) on the local
pool and extrapolates to the platform (parameters.md: ~37,000 brands, ~400,000 stores): mean shard CPU
seconds x (400,000 / 37,000) / 10 stores per brand x 37,000 brands / workers, i.e. linear in stores
at the sample's orders per store (a brand's shard is independent, so workers divide it evenly).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FULL_ORDERS = 5_000_000  # national.yaml demand.orders_per_day
PARQUETS = ("orders", "lines", "inventory", "nodes", "skus")


def run_child(out: Path, orders: int, extra: list[str]) -> dict[str, Any]:
    """One `shangou run` in a child process: wall, peak RSS of the child (GiB), its manifest."""
    argv = [
        sys.executable,
        "-m",
        "sim",
        "run",
        str(ROOT / "scenarios" / "national.yaml"),
        "--out",
        str(out),
        "--quiet",
        "--no-report",
        "--max-memory",
        "100%",
        "--set",
        f"demand.orders_per_day={orders}",
        *extra,
    ]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {os.waitstatus_to_exitcode(status)}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,  # the child alone (its pool's workers are not its children)
        "rss_gib": usage.ru_maxrss / 2**20,
        "manifest": json.loads((out / "manifest.json").read_text()),
    }


def same_outputs(a: Path, b: Path) -> bool:
    ka, kb = (json.loads((p / "kpis.json").read_text()) for p in (a, b))
    for k in (ka, kb):
        k["router"].pop("solver_ms_mean")
    return ka == kb and all(
        (a / f"{t}.parquet").read_bytes() == (b / f"{t}.parquet").read_bytes() for t in PARQUETS
    )


def dask_round_trip(orders: int, workers: int) -> tuple[float, float, int]:
    """(cluster start s, seconds per shard job with trivial work, shards): the cost of Dask itself."""
    from sim.experiments.executors import DaskExecutor
    from sim.io.scenario import load_scenario
    from sim.shard import plan_shards

    sc = load_scenario(ROOT / "scenarios" / "national.yaml", [f"demand.orders_per_day={orders}"])
    shards = plan_shards(sc)
    t0 = time.perf_counter()
    ex = DaskExecutor(workers=workers)
    start = time.perf_counter() - t0
    try:
        ex.map(_trivial, shards, lambda s, e: -1)  # warm the workers' imports
        t1 = time.perf_counter()
        ex.map(_trivial, shards, lambda s, e: -1)
        per = (time.perf_counter() - t1) / len(shards)
    finally:
        ex.close()
    return start, per, len(shards)


def _trivial(shard: Any) -> int:
    return len(shard.cities)


def lpt(cpu: list[float], workers: int) -> list[float]:
    """Per-worker load when shards go largest first to the next free worker (sim.shard.run.lpt_order)."""
    load = [0.0] * workers
    for c in sorted(cpu, reverse=True):
        load[load.index(min(load))] += c
    return load


def project(
    run: dict[str, Any], scale: float, orders: int, largest_full: float | None, rest_cpu: float | None
) -> None:
    """Per-shard CPU seconds, a fit cpu = a + b x orders over the shards, the LPT bounds on 2 and 16 workers
    and the 16-worker projection (largest shard bound)."""
    import numpy as np

    m = run["manifest"]
    shards = m["shards"]
    print("shards (orders, in-worker wall s, CPU s, worker peak RSS MiB):")
    for s in shards:
        print(
            f"  {s['region']:15} {s['orders']:>10,} {s['wall_s']:8.1f} {s['cpu_s']:8.1f} {s['peak_rss_mib']:8.0f}"
        )
    n = np.array([s["orders"] for s in shards], float)
    cpu = np.array([s["cpu_s"] for s in shards], float)
    b, a = np.polyfit(n, cpu, 1) if len(shards) > 1 else (cpu[0] / n[0], 0.0)
    rest = run["wall"] - m["shards_s"]  # interpreter, network, plan, merge, invariants, write (end to end)
    print(
        f"per shard: CPU ~ {a:.1f} s + {b * 1e6:.1f} us x orders (least squares over {len(shards)} shards); "
        f"outside the shards (serial: start, plan, merge, invariants, KPIs, write): {rest:.1f} s end to end"
    )
    total = float(cpu.sum())
    if rest_cpu is not None:  # load-independent: the one process's CPU outside its shards
        print(f"serial rest in CPU seconds (the serial child's CPU minus its shards'): {rest_cpu:.1f} s")
        rest = rest_cpu
    for w in (2, 16):
        load = max(lpt(cpu.tolist(), w))
        print(
            f"LPT on {w:2} workers: busiest worker {load:.1f} of {total:.1f} shard CPU-s: shard phase bound "
            f"{total / load:.2f}x; with the serial rest {rest:.1f} s: run bound {(total + rest) / (load + rest):.2f}x"
        )
    largest = float(cpu.max())
    share = float(n.max() / n.sum())
    print(
        f"largest shard {shards[int(cpu.argmax())]['region']}: {largest:.1f} CPU-s, {share:.1%} of the orders: "
        f"no packing beats {1 / max(share, 1e-9):.2f}x while it is one shard"
    )
    print(
        f"projected on 16 workers at {orders:,}/day (7 shards, so at most 7 busy): {rest:.1f} + largest shard "
        f"{largest:.1f} CPU s = {rest + largest:.1f} s"
    )
    big = float((a + b * n * scale).max())
    src = "by the fit"
    if largest_full is not None:
        big, src = largest_full, "measured at full volume (--largest-full)"
    print(
        f"extrapolated to {FULL_ORDERS:,}/day (x{scale:.0f} orders; largest shard CPU {src}, the rest scaled "
        f"x{scale:.0f} as an upper bound): largest shard {big:.0f} s + rest {rest * scale:.0f} s = "
        f"{(big + rest * scale) / 60:.1f} min; shard part alone {big / 60:.1f} min"
    )


BRANDS, STORES = 37_000, 400_000  # parameters.md: the instant-retail channel


def platform(workers: int) -> None:
    """platform_sample.yaml on `workers` local workers: per-shard CPU and the extrapolation to the platform."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="bench-platform-") as tmp:
        argv = [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(ROOT / "scenarios" / "platform_sample.yaml"),
            "--out",
            str(Path(tmp) / "run"),
            "--quiet",
            "--no-report",
            "--executor",
            "local",
            "--workers",
            str(workers),
        ]
        t0 = time.perf_counter()
        subprocess.run(
            argv, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, stdout=subprocess.DEVNULL
        )
        wall = time.perf_counter() - t0
        m = json.loads((Path(tmp) / "run" / "manifest.json").read_text())
    shards = m["shards"]
    cpu = np.array([s["cpu_s"] for s in shards])
    orders = np.array([s["orders"] for s in shards], float)
    stores = 10  # per network in platform_sample.yaml
    print(
        f"platform_sample: {len(shards)} brand networks ({stores} stores each), {orders.sum():,.0f} orders, "
        f"{wall:.1f} s end to end on {workers} workers; shard CPU mean {cpu.mean():.1f} s, max {cpu.max():.1f} s, "
        f"{orders.sum() / cpu.sum():,.0f} orders per CPU-second"
    )
    per_brand = cpu.mean() * (STORES / BRANDS) / stores  # a platform brand has ~10.8 stores
    for w in (16, 256, 4096):
        print(
            f"  platform ({BRANDS:,} brands, {STORES:,} stores, the sample's orders per store): "
            f"{BRANDS:,} x {per_brand:.1f} CPU-s / {w} workers = {BRANDS * per_brand / w / 3600:.1f} h per "
            f"simulated {m['warmup_days'] + m['measured_days']}-day run"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--orders", type=int, default=250_000, help="demand.orders_per_day (national: 5,000,000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--modes", nargs="*", default=["serial", "local", "dask", "national-scope"])
    ap.add_argument("--platform", action="store_true", help="only platform_sample.yaml and its extrapolation")
    ap.add_argument(
        "--largest-full",
        type=float,
        help="CPU seconds of the largest shard measured at full volume (else extrapolated by the fit)",
    )
    args = ap.parse_args()
    if args.platform:
        platform(args.workers)
        return 0
    scale = FULL_ORDERS / args.orders
    res: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-shard-") as tmp:
        for mode in args.modes:
            extra = {"serial": [], "national-scope": ["--set", "nodes.ndcs.capacity.scope=national"]}.get(
                mode, ["--executor", mode, "--workers", str(args.workers)]
            )
            load0 = os.getloadavg()[0]
            res[mode] = r = run_child(Path(tmp) / mode, args.orders, extra)
            m = r["manifest"]
            print(
                f"{mode:15} {r['wall']:7.1f} s end to end, {m.get('wall_s', 0):7.1f} s simulated "
                f"({m.get('orders_per_s') or 0:,.0f} orders/s), child peak RSS {r['rss_gib']:.2f} GiB "
                f"(parent/merge {m.get('merge_peak_rss_mib', 0) / 1024:.2f} GiB); load average "
                f"{load0:.1f} -> {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        base = res.get("serial")
        for mode, r in res.items():
            if base is not None and mode != "serial":
                same = (
                    ""
                    if mode == "national-scope"
                    else f"; outputs {'==' if same_outputs(Path(tmp) / 'serial', Path(tmp) / mode) else '!='} serial"
                )
                print(f"{mode:15} speed-up against serial: {base['wall'] / r['wall']:.2f}x{same}")
        sharded = next((res[m] for m in ("local", "dask", "serial") if m in res), None)
        if sharded is not None:
            rest_cpu = None
            if "serial" in res:
                ser = res["serial"]
                rest_cpu = ser["cpu"] - sum(s["cpu_s"] for s in ser["manifest"]["shards"])
            project(sharded, scale, args.orders, args.largest_full, rest_cpu)
        for mode in ("local", "dask"):
            if mode in res:  # load-independent: CPU seconds per worker process (the busiest bounds the run)
                per_pid: dict[int, float] = {}
                for s in res[mode]["manifest"]["shards"]:
                    per_pid[s["pid"]] = per_pid.get(s["pid"], 0.0) + s["cpu_s"]
                total, busiest = sum(per_pid.values()), max(per_pid.values())
                one = (
                    sum(s["cpu_s"] for s in res["serial"]["manifest"]["shards"]) if "serial" in res else total
                )
                print(
                    f"{mode:15} shard CPU {total:.1f} s over {len(per_pid)} workers, busiest {busiest:.1f} s: "
                    f"shard phase on an idle machine {one / busiest:.2f}x the one process's ({one:.1f} CPU-s; "
                    f"balance {total / busiest:.2f}x)"
                )
        if "local" in res and "dask" in res:
            n = len(res["dask"]["manifest"]["shards"])
            print(
                f"dask overhead against the local pool: {(res['dask']['wall'] - res['local']['wall']) / n:+.2f} s "
                f"per shard ({n} shards)"
            )
            start, per, n = dask_round_trip(args.orders, args.workers)
            print(
                f"dask itself: LocalCluster start {start:.1f} s; a shard job with trivial work {per * 1e3:.0f} ms "
                f"round trip (scenario pickled to the worker)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
