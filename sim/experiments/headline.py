"""The headline KPIs an experiment compares, and how to read them from a run directory.

Which KPIs, their labels, units and directions come from the KPI registry
(``sim.metrics.registry``, the entries shown in "compare"): most straight from kpis.json
(DESIGN.md 10); ``near_mid_share`` and ``forward_inventory_value_cny`` derived from it;
``delivery_p90_min`` (p90 of creation-to-delivery time over *all* delivered measured orders: the
per-tier p90s cannot rank policies that change the tier mix, so the Pareto plot of speed uses this
one) and ``on_time_requested_rate`` computed from orders.parquet.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.metrics import registry as reg
from sim.metrics.registry import Kpi

HEADLINE: tuple[Kpi, ...] = reg.shown_in("compare")
KPI_NAMES: tuple[str, ...] = tuple(k.name for k in HEADLINE)
BY_NAME: dict[str, Kpi] = {k.name: k for k in HEADLINE}
ORDER_COLUMNS = (
    "created_s",
    "delivered_s",
    "status",
    "warmup",
    "on_time",
    "served_tier",
    "requested_tier",
    "downgraded",
)


OPTIONAL_ORDER_COLUMNS = ("near_stocked",)  # read when the run wrote them (tiers.near.record_stocked)


def read_orders(run_dir: str | Path) -> pd.DataFrame:
    """The columns of orders.parquet the orders-table KPIs need (and the optional ones the run wrote)."""
    path = Path(run_dir) / "orders.parquet"
    have = set(pq.read_schema(path).names)
    cols = list(ORDER_COLUMNS) + [c for c in OPTIONAL_ORDER_COLUMNS if c in have]
    return pd.read_parquet(path, columns=cols)


def delivery_p90_min(run_dir: str | Path) -> float:
    """p90 (minutes) of delivered_s - created_s over delivered, measured (non-warm-up) orders."""
    v = reg.value("delivery_p90_min", {}, read_orders(run_dir))
    return math.nan if v is None else v


def headline(kpis: dict[str, Any], run_dir: str | Path | None = None) -> dict[str, float]:
    """The headline KPI values of one run (NaN where undefined); `run_dir` adds the KPIs computed
    from orders.parquet (NaN without it)."""
    orders = read_orders(run_dir) if run_dir is not None else None
    out: dict[str, float] = {}
    for k in HEADLINE:
        v = reg.value(k.key, kpis, orders)
        out[k.name] = math.nan if v is None else v
    return out


def read_headline(run_dir: str | Path) -> dict[str, float]:
    """Headline KPIs of a finished run directory."""
    kpis = json.loads((Path(run_dir) / "kpis.json").read_text(encoding="utf-8"))
    return headline(kpis, run_dir)
