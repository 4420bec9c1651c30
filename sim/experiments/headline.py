"""The headline KPIs an experiment compares, and how to read them from a run directory.

Most come straight from kpis.json (DESIGN.md 10). Two are derived: ``near_mid_share`` (share of
delivered orders served near or mid) and ``forward_inventory_value_cny`` (average stock value at
FDCs plus stores). ``delivery_p90_min`` is the p90 of creation-to-delivery time over *all* delivered
measured orders, read from orders.parquet: the per-tier p90s cannot rank policies that change the
tier mix (central_only has no near orders at all), so the Pareto plot of speed uses this one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Kpi:
    name: str  # column name in the experiment tables
    label: str  # what a planner reads
    sense: str | None  # "min" / "max": which way is better (None: neither, e.g. an investment)
    percent: bool = False  # shown as a percentage


HEADLINE: tuple[Kpi, ...] = (
    Kpi("cost_per_order_cny", "cost per order (CNY)", "min"),
    Kpi("perfect_order_rate", "perfect-order rate", "max", True),
    Kpi("requested_tier_rate", "requested tier or faster", "max", True),
    Kpi("lost_sales_rate", "lost sales", "min", True),
    Kpi("near_mid_share", "near+mid share", "max", True),
    Kpi("delivery_p90_min", "p90 delivery (min)", "min"),
    Kpi("tiers.near.p90_min", "near p90 (min)", "min"),
    Kpi("tiers.near.mean_min", "near mean (min)", "min"),
    Kpi("tiers.near.on_time_rate", "near on time (quoted)", "max", True),
    Kpi("tiers.near.within_promise_rate", "near within promise", "max", True),
    Kpi("tiers.mid.p90_min", "mid p90 (min)", "min"),
    Kpi("tiers.far.p90_min", "far p90 (min)", "min"),
    Kpi("forward_inventory_value_cny", "forward inventory (CNY)", None),
)
KPI_NAMES: tuple[str, ...] = tuple(k.name for k in HEADLINE)
BY_NAME: dict[str, Kpi] = {k.name: k for k in HEADLINE}


def _num(x: Any) -> float:
    """A KPI value as float; None (undefined) becomes NaN."""
    if x is None:
        return math.nan
    return float(x)


def _get(kpis: dict[str, Any], dotted: str) -> float:
    node: Any = kpis
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return math.nan
        node = node[part]
    return _num(node)


def delivery_p90_min(run_dir: str | Path) -> float:
    """p90 (minutes) of delivered_s - created_s over delivered, measured (non-warm-up) orders."""
    t = pq.read_table(Path(run_dir) / "orders.parquet", columns=["created_s", "delivered_s", "status", "warmup"])
    status = np.asarray(t.column("status").to_numpy(zero_copy_only=False), dtype=object)
    warm = t.column("warmup").to_numpy(zero_copy_only=False).astype(bool)
    ok = (status == "delivered") & ~warm
    if not ok.any():
        return math.nan
    dt = t.column("delivered_s").to_numpy()[ok] - t.column("created_s").to_numpy()[ok]
    return float(np.percentile(dt, 90) / 60.0)


def headline(kpis: dict[str, Any], run_dir: str | Path | None = None) -> dict[str, float]:
    """The headline KPI values of one run (NaN where undefined); `run_dir` adds delivery_p90_min."""
    out = {k.name: _get(kpis, k.name) for k in HEADLINE}
    out["near_mid_share"] = _get(kpis, "tiers.near.share") + _get(kpis, "tiers.mid.share")
    out["forward_inventory_value_cny"] = (_get(kpis, "inventory.avg_value_cny.fdc")
                                          + _get(kpis, "inventory.avg_value_cny.store"))
    out["delivery_p90_min"] = delivery_p90_min(run_dir) if run_dir is not None else math.nan
    return out


def read_headline(run_dir: str | Path) -> dict[str, float]:
    """Headline KPIs of a finished run directory."""
    kpis = json.loads((Path(run_dir) / "kpis.json").read_text(encoding="utf-8"))
    return headline(kpis, run_dir)
