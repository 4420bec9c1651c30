"""report.html of a comparison directory (``shangou compare``): the verdict first.

Order: verdict (one sentence naming the cheapest policy and its paired lead over the baseline with
its 95% CI and significance; bars of the headline KPIs in ranking order), the ranking table (best
first, differences to the best and to the baseline, * = significant), per-day panels (each KPI per
measured day with CI bands, the peak day marked) and per-tier panels, the Pareto figures, scenario,
method, paired differences, every run and comparison.parquet.

The per-run values are read from each run's kpis.json and orders.parquet through the KPI registry
(the same numbers ``sim.experiments`` tabulates), so the report needs nothing from
``sim.experiments``. The baseline is the experiment's first policy unless one is chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim.errors import ScenarioError
from sim.io.query import Catalogue
from sim.metrics import registry as reg
from sim.report import charts, folder, vega
from sim.report import comparison as cmp
from sim.report import result_plots as rp
from sim.report import sections as sec
from sim.report import verdict as vd
from sim.report.markup import (
    COMPARE_SECTIONS,
    df_table,
    esc,
    figure_html,
    files_section,
    kv_table,
    page,
    section,
)

RANK_KEYS = [
    "cost_per_order_cny",
    "perfect_order_rate",
    "on_time_requested_rate",
    "lost_sales_rate",
    "near_mid_share",
    "delivery_p90_min",
]
DAY_KEYS = ("cost_per_order_cny", "perfect_order_rate", "on_time_requested_rate", "lost_sales_rate")

PARETO = (
    ("pareto_perfect", "perfect_order_rate", "max"),
    ("pareto_p90", "delivery_p90_min", "min"),
    ("pareto_near", "near_share", "max"),
)
BAR_KPIS = (
    "cost_per_order_cny",
    "perfect_order_rate",
    "lost_sales_rate",
    "near_mid_share",
    "near_share",
    "delivery_p90_min",
    "forward_inventory_value_cny",
)


def pareto_figures(summary: pd.DataFrame) -> list[tuple[str, str, Figure, str]]:
    """Cost per order against service and speed (the first two such KPIs the summary has)."""
    from sim.report.compare_plots import pareto_plot

    out: list[tuple[str, str, Figure, str]] = []
    cost = summary[summary["kpi"] == "cost_per_order_cny"].set_index("policy")["mean"]
    for name, kpi, sense in PARETO:
        if len(out) == 2 or not (summary["kpi"] == kpi).any() or cost.empty:
            continue
        other = summary[summary["kpi"] == kpi].set_index("policy")["mean"]
        pols = [p for p in other.index if p in cost.index]
        front = cmp.pareto_front(cost.loc[pols].to_numpy(), other.loc[pols].to_numpy(), ("min", sense))
        fig = pareto_plot(summary[summary["policy"].isin(pols)], "cost_per_order_cny", kpi, front=list(front))
        out.append(
            (
                name,
                f"Pareto: cost per order against {reg.label(kpi)}",
                fig,
                "Mean per policy with 95% CI whiskers; the dashed line joins the policies no other beats on both.",
            )
        )
    return out


def per_run(cat: Catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per run, one row per run and measured day), grouped by policy (sim.report.folder)."""
    values, days = folder.runs_and_days(cat)
    return values.drop(columns=["config"]), days.drop(columns=["config"]) if len(days) else days


def day_summary(days: pd.DataFrame, key: str) -> pd.DataFrame:
    return folder.per_day(days, key, by="policy")


def tier_frame(cat: Catalogue) -> pd.DataFrame:
    rows = [
        {
            "policy": m["policy"],
            "tier": t,
            "share": ((k.get("tiers") or {}).get(t) or {}).get("share"),
            "on_time_rate": ((k.get("tiers") or {}).get(t) or {}).get("on_time_rate"),
        }
        for m, k in zip(cat.meta, cat.kpis, strict=True)
        for t in reg.TIERS
    ]
    return (
        pd.DataFrame(rows)
        .groupby(["policy", "tier"], sort=False)[["share", "on_time_rate"]]
        .mean()
        .reset_index()
    )


def comparison_report(root: Path, plots_dir: Path | None = None, baseline: str | None = None) -> str:
    """The HTML of a comparison directory (comparison.parquet plus the run directories under it)."""
    table = pd.read_parquet(root / "comparison.parquet")
    cat = Catalogue(root)
    runs = pd.DataFrame(cat.runs_table().to_pylist())
    stored, source = cmp.summary_from(table, runs)
    first = list(dict.fromkeys(table["policy"])) if "policy" in table else []
    values, days = per_run(cat)
    keys = [k for k in RANK_KEYS if k in values and values[k].notna().any()]
    summary = cmp.summarise(values, kpis=keys, order=first)
    pols = list(dict.fromkeys(summary["policy"]))
    if baseline is not None and baseline not in pols:
        raise ScenarioError(
            f"--baseline: {baseline!r} is not a policy of this comparison ({', '.join(map(str, pols))})"
        )
    base: str = str(baseline) if baseline is not None else (str(pols[0]) if pols else "")
    order = vd.ranking_order(summary)
    sentence = vd.compare_sentence(summary, values, base)
    bars = [
        vega.chart_html(
            f"rank-{k}",
            reg.get(k).label_unit,
            charts.ranking_bars(
                summary[summary["kpi"] == k].set_index("policy").loc[order].reset_index(), k, baseline=base
            ),
            "Mean over replications with its 95% CI; green: the cheapest, grey: the baseline.",
        )
        for k in keys[:4]
    ]
    day_charts = [
        vega.chart_html(
            f"day-{k}",
            f"{reg.get(k).label} per day",
            charts.per_day_lines(day_summary(days, k), k),
            "Mean per measured day over replications with its 95% CI band; the shaded day "
            "is the peak (most orders).",
        )
        for k in DAY_KEYS
        if not days.empty and k in days and days[k].notna().any()
    ]
    tiers = vega.chart_html(
        "tiers",
        "Per tier",
        charts.per_tier_bars(tier_frame(cat), order=order),
        "Means over replications: the served-tier mix of delivered orders, and each tier's "
        "on-time rate of its own delivered orders.",
    )
    sc, yaml_text = sec.scenario_yaml(cat.paths[0])
    man = cat.meta[0]
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for m, k in zip(cat.meta, cat.kpis, strict=True):
        by_policy.setdefault(str(m["policy"]), []).append(k)
    figs = [
        *pareto_figures(stored),
        (
            "kpi_bars",
            "KPIs per policy",
            rp.kpi_bars(stored, [k for k in BAR_KPIS if (stored["kpi"] == k).any()][:4]),
            "Means with Student-t 95% confidence intervals over replications.",
        ),
        (
            "cost_breakdown_policies",
            "Cost per order by policy",
            rp.cost_breakdown({p: cmp.mean_cost_kpis(by_policy)[p] for p in order if p in by_policy}),
            "Mean over replications of each cost per created order, cheapest first.",
        ),
    ]
    reps = runs.groupby("policy").size()
    method = sec.method_rows(man, {}, 0)[:2] + [
        ("replications", ", ".join(f"{p}: {int(n)}" for p, n in reps.items())),
        (
            "confidence intervals",
            f"Student t, 95%, over replications; differences paired by replication (common "
            f"random numbers); baseline: {base}",
        ),
        ("significance", "* = the paired difference's 95% CI excludes 0"),
        (
            "statistics from",
            f"the runs' kpis.json and orders.parquet (ranking, verdict); {source} (paired "
            "differences table, figures)",
        ),
    ]
    rank = vd.ranking_table(summary, values, base, keys)
    body = [
        section("verdict", "Verdict", f'<p class="verdict">{esc(sentence)}</p>' + "".join(bars)),
        section(
            "ranking",
            "Ranking (cheapest first)",
            "<p>Mean over replications. Differences are paired over common replications: to the best "
            f"(cost) and to the baseline <b>{esc(base)}</b>; * = significant at 95%.</p>" + df_table(rank),
        ),
        section("per-day", "Per day", "".join(day_charts) or '<p class="muted">(no per-day figures)</p>'),
        section("per-tier", "Per tier", tiers),
        section(
            "compare-plots", "Figures", "".join(figure_html(n, t, f, c, plots_dir) for n, t, f, c in figs)
        ),
        section(
            "summary", "Scenario", kv_table(sec.scenario_rows(sc, {**man, "policy": ", ".join(pols)}, None))
        ),
        section("method", "Method", kv_table(method)),
        section(
            "crn",
            "Paired differences to the first policy",
            "<p>Difference to the first policy per KPI over matched replications, its 95% CI (excluding 0 "
            "means the policies differ) and the correlation common random numbers induced.</p>"
            + df_table(cmp.paired(stored)),
        ),
        section("runs", "Runs", df_table(runs.drop(columns=["path"]))),
        section(
            "comparison-table",
            "comparison.parquet",
            f"<details><summary>{len(table)} rows</summary>{df_table(table)}</details>",
        ),
        files_section(cat.paths[0], man, yaml_text),
    ]
    nav = [(s, s.replace("-", " ")) for s in COMPARE_SECTIONS]
    return page(f"Shangou comparison: {man.get('scenario', root.name)}", body, nav, scripts=vega.scripts())
