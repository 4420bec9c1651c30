"""report.html for a sweep folder (``shangou sweep``): a verdict sentence, the points as a table
with one column per grid parameter (mean ± 95% CI half-width per headline KPI, the paired
difference to the first point with * when its CI excludes 0), one interactive chart per headline
KPI (a line for a 1-D grid, a heat map for a 2-D one), cost per order against perfect-order rate for
every point with the points no other beats on both joined (a router's frontier over
``router.imperfect_order_cny``, beside the rules' points when the grid also varies ``router.name``)
and sweep.parquet. The per-run reports stay in the run directories. Labels, units and directions
from the KPI registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics import registry as reg
from sim.report import charts, vega
from sim.report import comparison as cmp
from sim.report.markup import df_table, esc, figure_html, kv_table, page, section

KEYS = (
    "cost_per_order_cny",
    "perfect_order_rate",
    "on_time_requested_rate",
    "lost_sales_rate",
    "delivery_p90_min",
)


def _cell(k: reg.Kpi, r: pd.Series) -> str:
    if r["mean"] != r["mean"]:
        return "-"
    half = (r["ci_high"] - r["ci_low"]) / 2
    text = k.fmt(r["mean"])
    return text if half != half else f"{text} ± {k.fmt(half).replace(' CNY', '').replace(' min', '')}"


def _diff(k: reg.Kpi, r: pd.Series) -> str:
    if r.get("diff_mean") != r.get("diff_mean"):
        return "first point" if r.get("diff_n", 0) == 0 else "-"
    lo, hi = r["diff_ci_low"], r["diff_ci_high"]
    star = " *" if (lo > 0 or hi < 0) else ""
    return k.fmt(r["diff_mean"], signed=True) + star


def points_table(table: pd.DataFrame, axes: list[str], keys: list[str]) -> pd.DataFrame:
    """One row per grid point: the grid parameters as columns, then each KPI and its difference."""
    rows = []
    for point, g in table.groupby("point", sort=False):
        first = g.iloc[0]
        row: dict[str, Any] = {a: first.get(a, "") for a in axes} if axes else {"point": point}
        row["n"] = int(first["n"]) if "n" in g else ""
        byk = {str(r["kpi"]): r for _, r in g.iterrows()}
        for key in keys:
            if key in byk:
                k = reg.get(key)
                row[k.label_unit] = _cell(k, byk[key])
                if key in ("cost_per_order_cny", "perfect_order_rate"):
                    row[f"Δ {k.label.lower()}"] = _diff(k, byk[key])
        rows.append(row)
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame, axes: list[str]) -> str:
    k = reg.get("cost_per_order_cny")
    cost = table[table["kpi"] == k.key]
    if cost.empty or cost["mean"].isna().all():
        return "No successful runs."
    means = cost["mean"].to_numpy(float)
    best, worst = cost.iloc[int(np.nanargmin(means))], cost.iloc[int(np.nanargmax(means))]
    where = ", ".join(f"{a} = {best[a]}" for a in axes) or str(best["point"])
    return (
        f"Cheapest point: {where} at {k.fmt(best['mean'])} per order; the dearest costs "
        f"{k.fmt(worst['mean'] - best['mean'])} more per order ({len(cost)} points, means over replications)."
    )


def _label(row: pd.Series, axes: list[str]) -> str:
    return ", ".join(f"{a.rsplit('.', 1)[-1]}={row[a]}" for a in axes) if axes else str(row["point"])


def frontier_figure(table: pd.DataFrame, axes: list[str], plots_dir: Path | None) -> str:
    """Cost per order against perfect-order rate per point (95% CI whiskers), the Pareto front joined."""
    from sim.report.compare_plots import pareto_plot

    x, y = "cost_per_order_cny", "perfect_order_rate"
    sub = table[table["kpi"].isin([x, y])].copy()
    if sub.empty or not (sub["kpi"] == x).any() or not (sub["kpi"] == y).any():
        return ""
    sub["label"] = [_label(r, axes) for _, r in sub.iterrows()]
    cost, perfect = (sub[sub["kpi"] == k].set_index("label")["mean"] for k in (x, y))
    labels = [lab for lab in cost.index if lab in perfect.index]
    front = cmp.pareto_front(cost.loc[labels].to_numpy(), perfect.loc[labels].to_numpy(), ("min", "max"))
    fig = pareto_plot(
        sub,
        x,
        y,
        key="label",
        front=list(front),
        xlabel=reg.get(x).label_unit,
        ylabel=reg.get(y).label_unit,
        title="Cost per order against perfect-order rate",
    )
    return figure_html(
        "sweep_frontier",
        "Cost against perfect orders",
        fig,
        "Mean per point with 95% CI whiskers; the dashed line joins the points no other beats on "
        "both (with router.imperfect_order_cny on the grid: the router's cost-vs-perfect frontier).",
        plots_dir,
    )


def sweep_report(root: Path, plots_dir: Path | None = None) -> str:
    """The HTML of a sweep folder (sweep.parquet and experiment.json written by ``shangou sweep``)."""
    table = pd.read_parquet(root / "sweep.parquet")
    info = json.loads((root / "experiment.json").read_text(encoding="utf-8"))
    axes = [a for a in info.get("grid", {}) if a in table.columns]
    keys = [k for k in KEYS if (table["kpi"] == k).any()]
    method = [
        ("grid", "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in info.get("grid", {}).items())),
        ("replications per point", str(info.get("replications_per_group", info.get("replications")))),
        (
            "confidence intervals",
            "Student t, 95%, over replications; differences to the first point paired "
            "by replication (common random numbers: the same orders at every point); "
            "* = the difference's 95% CI excludes 0",
        ),
        ("scenario", f"{info.get('scenario')} (seed {info.get('seed')}, {info.get('days')} measured day(s))"),
    ]
    figs = [
        vega.chart_html(
            f"sweep-{key}",
            reg.get(key).label_unit,
            charts.sweep_chart(table, key, axes),
            "Mean over replications with 95% CIs (hover for the values).",
        )
        for key in keys[:4]
        if axes
    ]
    figs.append(frontier_figure(table, axes, plots_dir))
    body = [
        section("verdict", "Verdict", f'<p class="verdict">{esc(verdict(table, axes))}</p>'),
        section(
            "points",
            "Points (mean ± 95% CI half-width; Δ to the first point)",
            df_table(points_table(table, axes, keys)),
        ),
        section("sweep-plots", "Figures", "".join(figs)),
        section("method", "Method", kv_table(method)),
        section(
            "sweep-table",
            "sweep.parquet",
            f"<details><summary>{len(table)} rows</summary>{df_table(table)}</details>",
        ),
    ]
    nav = [(s, s.replace("-", " ")) for s in ("verdict", "points", "sweep-plots", "method", "sweep-table")]
    return page(f"Shangou sweep: {info.get('scenario', root.name)}", body, nav, scripts=vega.scripts())
