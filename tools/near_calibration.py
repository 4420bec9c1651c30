"""The near tier of a run against the public ranges (parameters.md "Calibration targets"), as a Markdown table.

    python tools/near_calibration.py RUN_DIR

Reads kpis.json and orders.parquet only. Night = orders created 23:00-08:00 (measured days); the loss
rate of near-requested orders at night is compared with the day's (08:00-23:00).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

TARGETS = [  # (KPI, key, low, high, source)
    (
        "mean order-to-door, near (min)",
        "mean",
        29.0,
        40.0,
        "Dingdong 29 min; Meituan 34 min (2025); Missfresh 35-40 min",
    ),
    ("on time vs quoted ETA, near", "on_time", 0.95, 0.99, "Meituan ~99% (2025); Dingdong 95.2% (Q1 2021)"),
    ("share within 30 min, near", "within", None, 0.85, "well under 85% at a ~34 min mean"),
    ("near orders per rider-day", "per_day", 30.0, 50.0, "Ele.me 2018: 48/day; 30-50"),
    ("near orders per rider-hour on shift", "per_hour", 4.0, 5.0, "parameters.md Riders: 4-5"),
    ("rider cost per near order (CNY)", "cost", 3.0, 8.0, "parameters.md Riders: 3-8 CNY"),
    (
        "night (23-08) loss rate minus day's, near-requested",
        "night_gap",
        None,
        0.0,
        "issue #13: no worse than day",
    ),
]


def figures(run: Path) -> dict[str, float]:
    k = json.loads((run / "kpis.json").read_text())
    near, riders = k["tiers"]["near"], k.get("riders") or {}
    o = pq.read_table(
        run / "orders.parquet", columns=["created_s", "requested_tier", "status", "warmup"]
    ).to_pandas()
    o = o[~o.warmup & (o.requested_tier == "near")]
    hour = (o.created_s % 86400) // 3600
    night = (hour >= 23) | (hour < 8)
    lost = o.status == "lost"
    return {
        "mean": near.get("mean_min"),
        "on_time": near.get("on_time_rate"),
        "within": near.get("within_promise_rate"),
        "per_day": riders.get("orders_per_rider_day"),
        "per_hour": riders.get("orders_per_rider_hour"),
        "cost": riders.get("cost_per_near_order_cny"),
        "night_gap": float(lost[night].mean() - lost[~night].mean()),
        "night_loss": float(lost[night].mean()),
        "day_loss": float(lost[~night].mean()),
        "utilisation": riders.get("utilisation"),
        "near_share": near.get("share"),
    }


def table(f: dict[str, float]) -> str:
    rows = ["| KPI | model | target | in range | source |", "|---|---|---|---|---|"]
    for label, key, lo, hi, src in TARGETS:
        v = f[key]
        ok = v is not None and (lo is None or v >= lo) and (hi is None or v <= hi)
        rng = f"{'' if lo is None else lo:g}-{'' if hi is None else hi:g}" if lo is not None else f"<= {hi:g}"
        shown = (
            "-" if v is None else (f"{v:.1%}" if key in ("on_time", "within", "night_gap") else f"{v:.2f}")
        )
        rows.append(f"| {label} | {shown} | {rng} | {'yes' if ok else 'no'} | {src} |")
    return "\n".join(rows)


if __name__ == "__main__":
    f = figures(Path(sys.argv[1]))
    print(table(f))
    print(
        f"\nnight loss {f['night_loss']:.1%}, day loss {f['day_loss']:.1%}, rider utilisation "
        f"{f['utilisation'] if f['utilisation'] is None else round(f['utilisation'], 3)}, near share {f['near_share']}"
    )
