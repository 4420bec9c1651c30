"""report.html for a sweep folder (``shangou sweep``): the grid, a table of means with 95% CIs and
paired differences to the first point, and one figure per headline KPI (a line for a 1-D grid, a
heat map for a 2-D one). The per-run reports stay in the run directories."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.metrics import registry as reg
from sim.report.compare_plots import heatmap, sweep_line
from sim.report.markup import df_table, figure_html, kv_table, page, section

HEADLINE = tuple((k.key, k.label_unit, k.percent) for k in (reg.get("cost_per_order_cny"),
                  reg.get("perfect_order_rate"), reg.get("on_time_requested_rate"), reg.get("lost_sales_rate")))


def _cell(r: pd.Series) -> str:
    if r["mean"] != r["mean"]:
        return "-"
    return f"{r['mean']:,.4g} [{r['ci_low']:,.4g}, {r['ci_high']:,.4g}]"


def sweep_report(root: Path, plots_dir: Path | None = None) -> str:
    """The HTML of a sweep folder (sweep.parquet and experiment.json written by ``shangou sweep``)."""
    table = pd.read_parquet(root / "sweep.parquet")
    info = json.loads((root / "experiment.json").read_text(encoding="utf-8"))
    axes = list(info.get("grid", {}))
    kpis = [k for k, _, _ in HEADLINE if (table["kpi"] == k).any()]
    wide = (table[table["kpi"].isin(kpis)].assign(value=lambda d: d.apply(_cell, axis=1))
            .pivot_table(index="point", columns="kpi", values="value", aggfunc="first", sort=False)
            .reset_index())
    diffs = table[table["kpi"].isin(kpis)][["point", "kpi", "diff_mean", "diff_ci_low", "diff_ci_high", "corr"]]
    method = [("grid", "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in info.get("grid", {}).items())),
              ("replications per point", str(info.get("replications_per_group", info.get("replications")))),
              ("confidence intervals", "Student t, 95%, over replications; differences to the first point paired "
                                       "by replication (common random numbers: the same orders at every point)"),
              ("scenario", f"{info.get('scenario')} (seed {info.get('seed')}, {info.get('days')} measured day(s))")]
    figs = []
    for kpi, label, pct in HEADLINE:
        if kpi not in kpis or not axes:
            continue
        if len(axes) == 2:
            fig = heatmap(table, kpi, axes[0], axes[1], label=label, percent=pct)
        else:
            fig = sweep_line(table, kpi, axes[0], label=label)
        figs.append(figure_html(f"sweep_{kpi}", label, fig, "Mean over replications with 95% CIs.", plots_dir))
    body = [section("method", "Method", kv_table(method)),
            section("points", "Points (mean [95% CI])", df_table(wide)),
            section("diffs", "Paired differences to the first point", df_table(diffs)),
            section("sweep-plots", "Figures", "".join(figs)),
            section("sweep-table", "sweep.parquet", df_table(table))]
    nav = [(s, s.replace("-", " ")) for s in ("method", "points", "diffs", "sweep-plots", "sweep-table")]
    return page(f"Shangou sweep: {info.get('scenario', root.name)}", body, nav)
