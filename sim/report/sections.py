"""The facts a report states, computed from a run directory: scenario summary, method, KPI rows, stock-outs.

Kept apart from the HTML so notebooks and tests can use the same tables (pandas DataFrames or
lists of (label, value) pairs, already formatted for reading).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sim.io.scenario import read_yaml
from sim.metrics import registry as reg

Rows = list[tuple[str, str]]

STOCKOUT_SQL = """
WITH l AS (
    SELECT l.preferred_node_id AS node, l.sku, l.qty, l.status,
           list_position(['near', 'mid', 'far'], l.served_tier) AS served,
           list_position(['near', 'mid', 'far'], o.requested_tier) AS requested
    FROM lines AS l JOIN orders AS o ON o.run_id = l.run_id AND o.order_id = l.order_id
    WHERE NOT o.warmup AND l.preferred_node_id IS NOT NULL)
SELECT l.node, any_value(n.kind) AS kind, l.sku,
       count(*) FILTER (WHERE l.status = 'lost') AS lost_lines,
       count(*) FILTER (WHERE l.status = 'delivered' AND l.served > l.requested) AS downgraded_lines,
       coalesce(sum(l.qty) FILTER (WHERE l.status = 'lost'), 0) AS lost_units,
       count(*) AS lines
FROM l LEFT JOIN nodes AS n ON n.id = l.node
GROUP BY l.node, l.sku
HAVING lost_lines + downgraded_lines > 0
ORDER BY lost_lines + downgraded_lines DESC, l.node, l.sku
LIMIT {limit}
"""
UNCOVERED_SQL = """
SELECT count(*) FILTER (WHERE l.status = 'lost') AS lost,
       count(*) FILTER (WHERE l.status = 'delivered' AND list_position(['near', 'mid', 'far'], l.served_tier)
                              > list_position(['near', 'mid', 'far'], o.requested_tier)) AS downgraded
FROM lines AS l JOIN orders AS o ON o.run_id = l.run_id AND o.order_id = l.order_id
WHERE NOT o.warmup AND l.preferred_node_id IS NULL
"""


def pct(x: Any) -> str:
    return "-" if x is None or x != x else f"{float(x):.1%}"


def num(x: Any, digits: int = 2) -> str:
    return "-" if x is None or x != x else f"{float(x):,.{digits}f}"


def duration(minutes: Any) -> str:
    """Minutes as '22.5 min' below two hours, else '16.5 h'."""
    if minutes is None or minutes != minutes:
        return "-"
    m = float(minutes)
    return f"{m:.1f} min" if m < 120 else f"{m / 60:.1f} h"


def top_stockouts(con: duckdb.DuckDBPyConnection, limit: int = 15) -> pd.DataFrame:
    """Preferred node x SKU with the most lost or downgraded lines among measured orders.

    A line is lost when its order was lost; downgraded when delivered at a slower tier than its
    order requested. Lines without a preferred node (no node of the requested tier reaches the
    zone) are coverage gaps, not stock-outs, and are counted by ``uncovered_lines`` instead.
    `con` is a ``sim.io.query.connect`` connection to one run."""
    return con.execute(STOCKOUT_SQL.format(limit=int(limit))).df()


def uncovered_lines(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(lost, downgraded) measured lines that had no preferred node: the requested tier's coverage gap."""
    row = con.execute(UNCOVERED_SQL).fetchone()
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def scenario_yaml(run_dir: Path) -> tuple[dict[str, Any], str]:
    """The run's resolved scenario as a dict (empty if unreadable) and as text."""
    path = Path(run_dir) / "scenario.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}, ""
    try:
        data = read_yaml(path)
    except Exception:  # an older or newer schema must not stop the report
        data = {}
    return (data if isinstance(data, dict) else {}), text


def scenario_rows(sc: dict[str, Any], man: dict[str, Any], nodes: pd.DataFrame | None) -> Rows:
    """Scenario summary: what was simulated, with which policy, router and seed."""
    g = sc.get("geography") or {}
    cities = [c.get("name", "?") for c in g.get("cities") or [] if (c.get("demand_weight") or 0) > 0]
    d = sc.get("demand") or {}
    mix = d.get("tier_mix") or {}
    h = sc.get("horizon") or {}
    rows: Rows = [
        ("scenario", str(man.get("scenario") or sc.get("name") or "-")),
        ("description", str(sc.get("description") or "-")),
        ("cities with demand", ", ".join(cities) or "-"),
    ]
    if nodes is not None:
        counts = nodes["kind"].value_counts()
        rows.append(
            (
                "nodes",
                ", ".join(
                    f"{int(counts.get(k, 0))} {k.upper() if k != 'store' else 'stores'}"
                    for k in ("ndc", "fdc", "store")
                ),
            )
        )
    rows += [
        ("SKUs", num((sc.get("catalog") or {}).get("n_skus"), 0)),
        ("orders per day (expected)", num(d.get("orders_per_day"), 0)),
        (
            "requested tier mix",
            ", ".join(f"{t} {pct(mix.get(t))}" for t in ("near", "mid", "far")) if mix else "-",
        ),
        ("policy", str(man.get("policy", "-"))),
        ("router", str(man.get("router", "-"))),
        ("seed / replication", f"{man.get('seed', '-')} / {man.get('replication', '-')}"),
        ("start date", str(h.get("start_date", "-"))),
        ("shangou version", str(man.get("shangou_version", "-"))),
        ("scenario hash", str(man.get("scenario_hash", "-"))[:16]),
        ("wall time", f"{num(man.get('wall_s'), 1)} s ({num(man.get('orders_per_s'), 0)} orders/s)"),
    ]
    return rows


def drain_days(inventory: pd.DataFrame, man: dict[str, Any]) -> int:
    """Days simulated after the last measured day (the drain), from the inventory's day range."""
    last = int(inventory["day"].max()) if len(inventory) else -1
    return max(last + 1 - int(man.get("warmup_days") or 0) - int(man.get("measured_days") or 0), 0)


def method_rows(man: dict[str, Any], kpis: dict[str, Any], drain: int, replications: int = 1) -> Rows:
    """How the numbers were made: warm-up, measured days, drain, replications, CI method."""
    warm, measured = int(man.get("warmup_days") or 0), int(man.get("measured_days") or 0)
    ci = (
        "none: a single run has no confidence interval (run `shangou compare --replications K` for Student-t "
        "95% intervals over replications with common random numbers)"
        if replications <= 1
        else "Student t, 95%, over replications; differences to the baseline are paired by replication "
        "(common random numbers)"
    )
    return [
        ("warm-up", f"{warm} day(s) fill the pipeline and forward stock; excluded from every KPI"),
        ("measured", f"{measured} day(s): orders created then are the KPIs' population"),
        (
            "drain",
            f"{drain} day(s) after the measured days without new orders, until every measured order is "
            f"delivered or lost (measured orders still open: {kpis.get('open', '-')})",
        ),
        ("replications", f"{replications}" + (" (this run)" if replications <= 1 else " per policy")),
        ("confidence intervals", ci),
        (
            "rates",
            "perfect-order, requested-tier, lost-sales, downgrade, split and local rates are over created "
            "orders; tier shares, on-time rates and delivery times over delivered orders",
        ),
    ]


def kpi_rows(k: dict[str, Any], orders: pd.DataFrame | None = None) -> Rows:
    """The run KPIs (registry entries shown in "run" that are not per tier / resource / echelon),
    labelled and formatted by the registry; `orders` adds the KPIs computed from the orders table."""
    grouped = ("tiers.", "utilisation.", "inventory.")
    return [
        (f"{kpi.label_unit}", kpi.fmt(reg.value(kpi.key, k, orders)))
        for kpi in reg.shown_in("run")
        if not kpi.key.startswith(grouped) and (kpi.source != "orders" or orders is not None)
    ]


def tier_table(k: dict[str, Any]) -> pd.DataFrame:
    """Per served tier: share of delivered orders, on-time rate (near: against the quoted ETA when
    tiers.near.quote is eta), share within the nominal promise, mean and percentile delivery times."""
    rows = []
    for t in ("near", "mid", "far"):
        d = (k.get("tiers") or {}).get(t) or {}
        rows.append(
            {
                "tier": t,
                "share": pct(d.get("share")),
                "on time": pct(d.get("on_time_rate")),
                "within promise": pct(d.get("within_promise_rate")),
                "mean": duration(d.get("mean_min")),
                "p50": duration(d.get("p50_min")),
                "p90": duration(d.get("p90_min")),
                "p99": duration(d.get("p99_min")),
            }
        )
    return pd.DataFrame(rows)


def cost_table(k: dict[str, Any]) -> pd.DataFrame:
    """cost_breakdown_cny: total and per created order, with the grand total."""
    bd = k.get("cost_breakdown_cny") or {}
    n = k.get("orders") or 0
    rows = [
        {"cost": key, "total CNY": num(v), "per order CNY": num(float(v or 0) / n if n else None)}
        for key, v in bd.items()
    ]
    total = sum(float(v or 0) for v in bd.values())
    rows.append({"cost": "all", "total CNY": num(total), "per order CNY": num(total / n if n else None)})
    return pd.DataFrame(rows)


def resource_table(k: dict[str, Any]) -> pd.DataFrame:
    """Utilisation per resource and inventory per echelon (units, value, days of supply)."""
    inv = k.get("inventory") or {}
    rows = [
        {
            "echelon": e,
            "avg units": num((inv.get("avg_units") or {}).get(e), 0),
            "avg value CNY": num((inv.get("avg_value_cny") or {}).get(e), 0),
            "days of supply": num((inv.get("days_of_supply") or {}).get(e)),
        }
        for e in ("ndc", "fdc", "store")
    ]
    util = k.get("utilisation") or {}
    for r in ("pickers", "riders", "vans"):
        rows.append(
            {
                "echelon": f"{r} utilisation",
                "avg units": pct(util.get(r)),
                "avg value CNY": "",
                "days of supply": "",
            }
        )
    return pd.DataFrame(rows)


def by_day_table(k: dict[str, Any]) -> pd.DataFrame:
    """kpis.json by_day, formatted."""
    rows = [
        {
            "day": d.get("date") or d.get("day"),
            "orders": num(d.get("orders"), 0),
            "perfect": pct(d.get("perfect_order_rate")),
            "requested tier": pct(d.get("requested_tier_rate")),
            "lost": pct(d.get("lost_sales_rate")),
            "on time": pct(d.get("on_time_rate")),
            "cost/order CNY": num(d.get("cost_per_order_cny")),
        }
        for d in k.get("by_day") or []
    ]
    return pd.DataFrame(rows)
