"""What ``run --explain`` costs: run time with and without it, recording time, rows, memory and disk per row.

The toy scenario scaled up (SHANGOU_BENCH_ORDERS orders a day, default 20,000; one measured day after
two warm-up days) with the ``flow`` router, once without and once with the recorder. Printed figures
only, never timed assertions. Run: ``.venv/bin/python benchmarks/bench_explain.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.engine.simulation import Simulation  # noqa: E402
from sim.io.explain import explain_table  # noqa: E402
from sim.run import prepare, simulate  # noqa: E402


def main() -> None:
    per_day = int(os.environ.get("SHANGOU_BENCH_ORDERS", "20000"))
    sets = [f"demand.orders_per_day={per_day}", "horizon.warmup_days=2"]
    sc = prepare(ROOT / "scenarios" / "toy.yaml", days=1, router="flow", overrides=sets)
    times = {}
    for explain in (False, True):
        t0 = time.perf_counter()
        sim = Simulation(
            sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router="flow", explain=explain
        )
        records = sim.run()
        times[explain] = time.perf_counter() - t0
    assert sim.explain is not None
    rec = sim.explain.records()
    t0 = time.perf_counter()
    table = explain_table(rec, sim.net.node_ids)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        res = simulate(sc, out=Path(tmp) / "r", report=False, explain=True)
        disk = (res.path / "explain.parquet").stat().st_size
    n = records.orders.n
    print(
        f"toy x {per_day:,} orders/day, flow router: {n:,} orders, {rec.n_rows:,} candidate rows "
        f"({rec.n_rows / n:.2f} per order)"
    )
    print(
        f"run without --explain {times[False]:.2f} s, with {times[True]:.2f} s "
        f"(recording {sim.explain.seconds:.2f} s over {records.router.epochs:,} epochs, "
        f"{sim.explain.seconds / max(records.router.epochs, 1) * 1e3:.3f} ms/epoch)"
    )
    print(
        f"memory: {rec.nbytes() / rec.n_rows:.0f} B/row while running, Arrow table {table.nbytes / rec.n_rows:.0f} "
        f"B/row (built in {build:.2f} s); disk {disk / rec.n_rows:.1f} B/row ({disk / 2**20:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
