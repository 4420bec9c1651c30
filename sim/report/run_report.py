"""report.html of one run directory: the verdict first, then the detail.

Order: headline (one sentence; perfect-order rate, cost per order, near share with its on-time rate,
on time of requested orders, lost sales, each with its denominator and the scenario's target, met or
missed; one interactive chart of those numbers per measured day), per day, per city, the network
map, then scenario, method, every KPI, the figures, stock-outs, any extra sections
(``sim.report.extra``) and the files that reproduce the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.io.query import connect
from sim.io.results import load_run
from sim.metrics import registry as reg
from sim.report import charts, extra, vega
from sim.report import result_plots as rp
from sim.report import sections as sec
from sim.report import verdict as vd
from sim.report.markup import RUN_FIGURES, df_table, esc, figure_html, files_section, kv_table, page, section

NODE_STOCKOUT_SQL = """
SELECT l.preferred_node_id AS id,
       count(*) FILTER (WHERE l.status = 'lost' OR (l.status = 'delivered' AND
           list_position(['near', 'mid', 'far'], l.served_tier) > list_position(['near', 'mid', 'far'], o.requested_tier)))
           AS lost_lines
FROM lines AS l JOIN orders AS o ON o.run_id = l.run_id AND o.order_id = l.order_id
WHERE NOT o.warmup AND l.preferred_node_id IS NOT NULL GROUP BY 1
"""
DAY_KEYS = ("perfect_order_rate", "cost_per_order_cny", "on_time_requested_rate", "lost_sales_rate")


def headline_html(kpis: dict[str, Any], orders: pd.DataFrame, targets: dict[str, float]) -> str:
    cards = vd.run_cards(kpis, orders, targets)
    boxes = "".join(
        f'<div class="card {c.status}"><div class="lab">{esc(c.label)}</div><div class="val">{esc(c.value)}</div>'
        f'<div class="det">{esc(c.detail)}</div>'
        + (f'<div class="tgt">{esc(c.target)}: <b>{esc(c.status)}</b></div>' if c.target else "")
        + "</div>"
        for c in cards
    )
    return f'<p class="verdict">{esc(vd.run_sentence(kpis, cards))}</p><div class="cards">{boxes}</div>'


def day_frame(kpis: dict[str, Any], orders: pd.DataFrame) -> pd.DataFrame:
    """Per measured day: kpis.json by_day joined with the KPIs computed from the orders table."""
    days = pd.DataFrame(kpis.get("by_day") or [])
    if days.empty:
        return days
    extra_cols = reg.orders_kpis(orders, by="day")
    out = days.merge(extra_cols, on="day", how="left") if len(extra_cols) else days
    if "date" not in out:
        out["date"] = None
    return out


def day_table(days: pd.DataFrame) -> pd.DataFrame:
    if days.empty:
        return days
    peak = int(days["orders"].to_numpy().argmax())
    cols = {
        "orders": "orders",
        "perfect_order_rate": None,
        "on_time_requested_rate": None,
        "on_time_delivered_rate": None,
        "requested_tier_rate": None,
        "lost_sales_rate": None,
        "cost_per_order_cny": None,
    }
    rows = []
    for i, (_, d) in enumerate(days.iterrows()):
        row = {"day": f"{d.get('date') or d['day']}" + (" (peak)" if i == peak and len(days) > 1 else "")}
        for key in cols:
            row[reg.get(key).label_unit] = reg.get(key).fmt(d.get(key))
        rows.append(row)
    return pd.DataFrame(rows)


def city_table(kpis: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for city, d in (kpis.get("by_city") or {}).items():
        row = {"city": city}
        for key in (
            "orders",
            "perfect_order_rate",
            "requested_tier_rate",
            "lost_sales_rate",
            "local_fulfilment_rate",
        ):
            row[reg.get(key).label_unit] = reg.get(key).fmt(d.get(key))
        rows.append(row)
    return pd.DataFrame(rows)


def map_nodes(run: Any, con: Any) -> pd.DataFrame:
    n = run.nodes[["id", "kind", "city", "lat", "lon", "orders"]].copy()
    n["utilisation"] = rp.node_utilisation(run.nodes)
    lost = con.execute(NODE_STOCKOUT_SQL).df().set_index("id")["lost_lines"]
    n["lost_lines"] = n["id"].map(lost).fillna(0).astype(int)
    n["utilisation"] = n["utilisation"].where(np.isfinite(n["utilisation"]), None)
    return n


def calibration_html(run_dir: Path) -> str:
    """The calibration table of one run (``sim.report.calibration``; ``shangou calibrate`` gates on it)."""
    from sim.report import calibration as cal

    table = cal.calibrate_dirs([run_dir])
    n_in, n_app = int((table["status"] == cal.IN).sum()), int((table["status"] != cal.NA).sum())
    return (
        f"<p>{n_in} of {n_app} applicable figures in range (not measured counts as out; n/a: the target "
        "does not apply to this scenario). Targets: sim/data/calibration_targets.csv, from parameters.md "
        "Calibration targets.</p>" + df_table(cal.report_table(table))
    )


def run_report(run_dir: Path, plots_dir: Path | None = None) -> str:
    """The HTML of one run directory (PNG figures also written to plots_dir if given)."""
    run = load_run(run_dir)
    man, k = run.manifest, run.kpis
    sc, yaml_text = sec.scenario_yaml(run_dir)
    targets = vd.targets_of(sc)
    con = connect(run_dir)
    try:
        stock = sec.top_stockouts(con)
        if "sku" in stock.columns and len(
            stock
        ):  # the planner's SKU ids and names (products table or history)
            from sim.io.skus import sku_labels

            labels = sku_labels(run_dir)
            stock.insert(
                list(stock.columns).index("sku") + 1,
                "product",
                [labels.get(int(x), f"SKU {int(x)}") for x in stock["sku"]],
            )
        gap_lost, gap_down = sec.uncovered_lines(con)
        nodes = map_nodes(run, con)
    finally:
        con.close()
    days = day_frame(k, run.orders)
    extras = extra.run_sections(run_dir, run)
    head_chart = (
        vega.chart_html(
            "headline-days",
            "The four numbers per measured day",
            charts.headline_days(days, DAY_KEYS, targets),
            "Bars: value per measured day (outlined: the peak day, most orders); dashed red: the scenario's target "
            "(report.targets). On time of requested orders is of created orders.",
        )
        if len(days)
        else ""
    )
    figs = "".join(
        figure_html(name, title, fn(run), caption, plots_dir) for name, title, fn, caption in RUN_FIGURES
    )
    body = [
        section("headline", "Verdict", headline_html(k, run.orders, targets) + head_chart),
        section(
            "by-day",
            "Per day",
            "<p>Rates of the day's created orders, except on time (of delivered orders), which leaves lost "
            "orders out; on time of requested orders counts them as late.</p>" + df_table(day_table(days)),
        ),
        section(
            "by-city", "Per city", "<p>Rates of the city's created orders.</p>" + df_table(city_table(k))
        ),
        section(
            "map",
            "Network map",
            vega.chart_html(
                "network-map",
                "Nodes on the map",
                charts.network_map(nodes),
                "Province and prefecture outlines (offline base; "
                + charts.basemap.source_note()
                + "). Colour: the KPI "
                "chosen above the map; hover a node for its figures. Stock-outs: measured lines lost or downgraded "
                "whose preferred node it was.",
            ),
        ),
        section("summary", "Scenario", kv_table(sec.scenario_rows(sc, man, run.nodes))),
        section("method", "Method", kv_table(sec.method_rows(man, k, sec.drain_days(run.inventory, man)))),
        section(
            "kpis",
            "All KPIs (measured days)",
            kv_table(sec.kpi_rows(k, run.orders))
            + "<h3>Tiers (of delivered orders)</h3>"
            + df_table(sec.tier_table(k))
            + "<h3>Costs</h3>"
            + df_table(sec.cost_table(k))
            + "<h3>Inventory and utilisation</h3>"
            + df_table(sec.resource_table(k)),
        ),
        section("calibration", "Calibration against public figures", calibration_html(run_dir)),
        section("plots", "Figures", figs),
        section(
            "stockouts",
            "Top stock-outs",
            "<p>Preferred node &times; SKU with the most lost or downgraded lines among measured orders "
            "(a line is lost when its order was lost, downgraded when delivered at a slower tier than "
            "requested).</p>"
            + df_table(stock)
            + f"<p>Not stock-outs: {gap_lost:,} lost and {gap_down:,} downgraded lines had no preferred node "
            "(no node of the requested tier reaches the order's zone, a coverage gap).</p>",
        ),
        *(section(sid, title, html) for sid, title, html in extras),
        files_section(run_dir, man, yaml_text),
    ]
    nav = [
        ("headline", "verdict"),
        ("by-day", "per day"),
        ("by-city", "per city"),
        ("map", "map"),
        ("summary", "scenario"),
        ("method", "method"),
        ("kpis", "KPIs"),
        ("calibration", "calibration"),
        ("plots", "figures"),
        ("stockouts", "stock-outs"),
        *((sid, title.lower()) for sid, title, _ in extras),
        ("files", "files"),
    ]
    return page(
        f"Shangou run: {man.get('scenario', run_dir.name)} - {man.get('policy', '')}",
        body,
        nav,
        scripts=vega.scripts(),
    )
