"""Memory estimate (``sim.io.scenario.checks.estimate_memory_bytes``) against measured peak RSS.

Each case runs ``shangou run`` in a child process (no report, --quiet) and reads the child's peak
resident set size from ``os.wait4``; the estimate is computed for the same resolved scenario. The
``--max-memory`` guard is meant to hold within +-25 % of the peak.

    PYTHONPATH=$PWD python benchmarks/bench_memory.py [--only NAME ...] [--estimate-only]

national is too large for a shared machine: it is listed estimate-only unless named with --only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# substitution builds a dense SKU x SKU mask per category (sim/engine/substitution.py): 74.5 GiB at 200k SKUs
NO_SUBST = "tiers.substitution.enabled=false"
# (name, scenario, measured days, --set overrides)
CASES: list[tuple[str, str, int, list[str]]] = [
    ("toy", "toy", 1, []),
    ("toy_history", "toy_history", 1, []),
    (
        "toy 100k orders/day",
        "toy",
        1,
        [
            "demand.orders_per_day=100000",
            "nodes.stores.capacity.riders=200",
            "nodes.stores.capacity.pickers=100",
        ],
    ),
    ("toy 200k SKUs", "toy", 1, ["catalog.n_skus=200000", "policy=central_only", NO_SUBST]),
    ("toy 200k SKUs top_n", "toy", 1, ["catalog.n_skus=200000", "policy=top_n(n=20000)", NO_SUBST]),
    ("shanghai_hangzhou 150k/day", "shanghai_hangzhou", 1, ["demand.orders_per_day=150000"]),
    ("shanghai_hangzhou", "shanghai_hangzhou", 1, []),
    ("double11 20k/day", "double11", 3, ["demand.orders_per_day=20000"]),
    ("double11 100k/day", "double11", 3, ["demand.orders_per_day=100000"]),
    ("national 20k/day", "national", 1, ["demand.orders_per_day=20000"]),
    ("national 100k/day", "national", 1, ["demand.orders_per_day=100000"]),
    ("national", "national", 1, []),
]
DEFAULT_SKIP = {"national"}
SHARD_CHILD = """
import json, sys
from dataclasses import replace
from sim.io.scenario import load_scenario
from sim.shard import plan_shards, run_shard
sc = load_scenario(sys.argv[1], sys.argv[4:])
shard = next(s for s in plan_shards(sc) if s.region == sys.argv[2])
out = run_shard(replace(shard, spool=sys.argv[3]))
print(json.dumps({"cpu_s": out.cpu_s, "orders": out.n_orders}))
"""


def estimate(scenario: str, days: int, sets: list[str]) -> tuple[int, str]:
    from sim.io.scenario.checks import estimate_memory_bytes, memory_breakdown
    from sim.run import prepare

    sc = prepare(ROOT / "scenarios" / f"{scenario}.yaml", days=days, overrides=sets)
    return estimate_memory_bytes(sc), memory_breakdown(sc)


def measure(scenario: str, days: int, sets: list[str]) -> tuple[int, float]:
    """Peak RSS (bytes) and wall seconds of one run in a child process."""
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        argv = [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(ROOT / "scenarios" / f"{scenario}.yaml"),
            "--days",
            str(days),
            "--out",
            str(Path(tmp) / "run"),
            "--quiet",
            "--no-report",
            "--max-memory",
            "100%",
            *(a for s in sets for a in ("--set", s)),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{scenario} {sets}: run failed ({os.waitstatus_to_exitcode(status)})")
    return int(usage.ru_maxrss) * 1024, wall  # Linux: KiB


def shards(scenario: str, sets: list[str]) -> float:
    """Every shard of a regional scenario in a child process of its own (as a worker runs it, spool
    included): its estimate (``shard_estimates``) against the child's peak RSS; returns the worst deviation."""
    import json

    from sim.io.scenario import load_scenario
    from sim.io.scenario.memory import shard_estimates

    path = ROOT / "scenarios" / f"{scenario}.yaml"
    sc = load_scenario(path, sets)
    worst = 0.0
    print(
        f"{'shards of ' + scenario:24} {'estimate':>9} {'peak RSS':>9} {'est/peak':>8} {'CPU s':>7}  orders"
    )
    for region, est, _share in shard_estimates(sc):
        with tempfile.TemporaryDirectory(prefix="bench-mem-shard-") as tmp:
            argv = [sys.executable, "-c", SHARD_CHILD, str(path), region, str(Path(tmp) / "spool"), *sets]
            with open(Path(tmp) / "out", "w") as fh:
                p = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=fh)
                _, status, usage = os.wait4(p.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"shard {region}: exit {os.waitstatus_to_exitcode(status)}")
            got = json.loads((Path(tmp) / "out").read_text().strip().splitlines()[-1])
        peak = float(usage.ru_maxrss) * 1024  # Linux: KiB
        worst = max(worst, abs(est / peak - 1))
        print(
            f"  {region:22} {est / 2**30:8.2f}G {peak / 2**30:8.2f}G {est / peak:8.2f} {got['cpu_s']:7.1f}  "
            f"{got['orders']:,}",
            flush=True,
        )
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--only", nargs="*", help="case names to run (default all but national)")
    ap.add_argument("--estimate-only", action="store_true", help="print estimates, run nothing")
    ap.add_argument(
        "--shards",
        nargs="*",
        metavar="SET",
        help="national's shards, each in a child process, with these --set overrides (e.g. "
        "demand.orders_per_day=100000), instead of the cases",
    )
    args = ap.parse_args()
    if args.shards is not None:
        worst = shards("national", args.shards)
        print(f"largest deviation of a shard's estimate from its peak: {worst:.0%} (target <= 25%)")
        return 0
    gib = 2**30
    print(f"{'case':24} {'estimate':>9} {'peak RSS':>9} {'est/peak':>8} {'wall s':>7}  breakdown")
    worst = 0.0
    for name, scenario, days, sets in CASES:
        if args.only and name not in args.only:
            continue
        est, parts = estimate(scenario, days, sets)
        run = not args.estimate_only and (bool(args.only) or name not in DEFAULT_SKIP)
        if run:
            peak, wall = measure(scenario, days, sets)
            ratio = est / peak
            worst = max(worst, abs(ratio - 1))
            print(
                f"{name:24} {est / gib:8.2f}G {peak / gib:8.2f}G {ratio:8.2f} {wall:7.1f}  {parts}",
                flush=True,
            )
        else:
            print(
                f"{name:24} {est / gib:8.2f}G {'-':>9} {'-':>8} {'-':>7}  {parts} (estimate only)", flush=True
            )
    if worst:
        print(f"largest deviation of estimate from peak: {worst:.0%} (target <= 25%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
