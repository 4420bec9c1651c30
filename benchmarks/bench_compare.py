"""Benchmark: speed-up of ``compare`` with 2 workers against 1 (printed, never a timed test).

Runs the same comparison - toy scenario, 1 measured day, 2 policies x 4 replications = 8 jobs by
default - into fresh directories (no re-use) with --workers 1 and --workers 2, alternating, and
reports the best wall time of each and their ratio. The fork server is started before timing (it
is paid once per process, not per comparison). The ideal is min(2, CPUs); what is left is the
serial part (planning, tables, plots) and memory bandwidth shared by the workers.

    .venv/bin/python benchmarks/bench_compare.py [--replications 4] [--repeats 2] [--executor local|dask]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.experiments import compare  # noqa: E402
from sim.experiments.executors import LocalExecutor  # noqa: E402

POLICIES = ["central_only", "top_n(n=100)"]


def _noop(x: int) -> int:
    return x


def one(workers: int, args: argparse.Namespace, tmp: Path) -> tuple[float, float]:
    """(wall seconds of compare, mean wall seconds of one job)."""
    out = tmp / f"w{workers}-{time.perf_counter_ns()}"
    t0 = time.perf_counter()
    res = compare(
        ROOT / "scenarios" / "toy.yaml",
        POLICIES,
        replications=args.replications,
        days=args.days,
        out=out,
        executor=args.executor,
        workers=workers,
        progress=False,
    )
    wall = time.perf_counter() - t0
    if res.failures or res.ran != len(POLICIES) * args.replications:
        raise SystemExit(f"benchmark run failed: {[f.error for f in res.failures]}")
    return wall, float(res.replications["wall_s"].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=4, help="per policy (2 policies): jobs = 2 x this")
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs per worker count; best is kept")
    ap.add_argument("--executor", default="local", choices=("local", "dask"))
    args = ap.parse_args()
    jobs = len(POLICIES) * args.replications
    print(
        f"compare toy: {jobs} jobs ({', '.join(POLICIES)} x {args.replications} replications, "
        f"{args.days} measured day), executor {args.executor}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.executor == "local":  # start the fork server (once per process) outside the timings
        ex = LocalExecutor(1)
        ex.map(_noop, [0], lambda item, exc: -1)
        ex.close()
    best: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as d:
        for rep in range(args.repeats):
            for workers in (1, 2):
                wall, job = one(workers, args, Path(d))
                print(
                    f"  repeat {rep + 1}: {workers} worker{'s' if workers > 1 else ''}: {wall:6.2f} s "
                    f"(mean job {job:.2f} s)",
                    flush=True,
                )
                if workers not in best or wall < best[workers][0]:
                    best[workers] = (wall, job)
    speedup = best[1][0] / best[2][0]
    print(
        f"best: 1 worker {best[1][0]:.2f} s, 2 workers {best[2][0]:.2f} s -> speed-up {speedup:.2f}x "
        f"(ideal {min(2, os.cpu_count() or 1)}x); load average now {os.getloadavg()[0]:.2f}"
    )
    slower = best[2][1] / best[1][1] - 1
    print(
        f"a job took {slower:+.0%} longer beside a second worker than alone: near 0 means two free CPUs; "
        f"near +100% means other processes held one of them (the machine is shared), so rerun when quiet"
    )


if __name__ == "__main__":
    main()
