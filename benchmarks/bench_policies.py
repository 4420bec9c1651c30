"""Wall seconds of each pre-positioning policy's review on a Shanghai-Hangzhou-sized context.

A synthetic PolicyContext (tests/unit/policy_ctx.py) of 1 NDC + 6 FDCs + 280 stores x 5,000 SKUs,
with the reference capacities (store 2,500 slots / 120 m3, FDC 8,000 slots / 4,000 m3) and, for
``cost_optimal``, a tight-volume variant (stores 3 m3) that sends every store to CP-SAT.
Printed figures only, never timed assertions. Run: ``.venv/bin/python benchmarks/bench_policies.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit"))

from policy_ctx import synthetic_ctx  # noqa: E402

from sim.policies.base import make_policy  # noqa: E402
from sim.spec import parse_spec  # noqa: E402


def main() -> None:
    big = dict(n_ndcs=1, n_fdcs=6, n_stores=280, n_skus=5000)
    cases = [
        ("reference capacities", synthetic_ctx(**big)),
        ("tight store volume (3 m3)", synthetic_ctx(**big, store_volume_m3=3.0)),
    ]
    specs = sys.argv[1:] or [
        "base_stock(service=0.95)",
        "base_stock(service=0.95,measure='fill')",
        "base_stock(service=0.95,dist='negbin',cv=0.4)",
        "forecast_push(service=0.95)",
        "cost_optimal",
        "cost_optimal(gap=0)",
        "cost_optimal(solver='greedy')",
    ]
    for label, ctx in cases:
        print(f"--- {label}: {ctx.forecast.shape[0]} nodes x {ctx.forecast.shape[1]} SKUs")
        for s in specs:
            if label.startswith("tight") and not s.startswith("cost_optimal"):
                continue
            pol = make_policy(parse_spec(s))
            t0 = time.perf_counter()
            tg = pol.targets(ctx)
            dt = time.perf_counter() - t0
            fwd = ctx.node_kind > 0
            stats = getattr(pol, "last_stats", {})
            extra = (
                f" objective {stats['objective_cny']:.1f} CNY/review methods {stats['methods']}"
                f" max node {stats['max_node_wall_s']:.2f}s items {stats['items']}"
                if stats
                else ""
            )
            print(
                f"{s:50s} {dt:7.2f}s  units {int(tg[fwd].sum()):>10d}  SKU-slots {int((tg[fwd] > 0).sum()):>8d}{extra}",
                flush=True,
            )
    np.set_printoptions()


if __name__ == "__main__":
    main()
