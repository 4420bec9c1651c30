"""``report.html``: one self-contained page per run or comparison directory (``shangou report DIR``).

Self-contained means no network at all: figures are PNGs embedded as base64 data URIs, the style
is inline, and no external URL appears anywhere in the file (text taken from the scenario, such
as a description quoting a link, is escaped so ``//`` never appears literally either). The same
figures are also written to ``DIR/plots/*.png``. Every file is written atomically.

A run directory gets: scenario summary, method (warm-up, drain, replications, CI method), KPI
tables, the figures, the top stock-outs and the files that reproduce it. A directory holding
``comparison.parquet`` (``shangou compare``) gets the comparison sections instead: ranking with
Student-t CIs, the correlation common random numbers induced, Pareto chart and KPI bars, cost per
order per policy, every run, and comparison.parquet itself; the statistics are recomputed from the
runs' KPIs (``sim.report.comparison``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim.errors import ScenarioError
from sim.io.query import Catalogue, connect, is_run_dir
from sim.io.results import load_run
from sim.report import comparison as cmp
from sim.report import result_plots as rp
from sim.report import sections as sec
from sim.report.markup import CSS, df_table, esc, figure_html, kv_table, page, png_base64, section  # noqa: F401
from sim.report.markup import write_atomic_with as _write_atomic

REPORT = "report.html"
PLOTS_DIR = "plots"
RUN_SECTIONS = ("summary", "method", "kpis", "calibration", "plots", "stockouts", "files")
COMPARE_SECTIONS = ("summary", "method", "ranking", "crn", "compare-plots", "runs", "comparison-table", "files")
RUN_FIGURES: tuple[tuple[str, str, Callable[[Any], Figure], str], ...] = (
    ("tier_share", "Served tier over the day", rp.tier_share_by_hour,
     "Share of delivered orders per served tier by the hour they were created; the black line is the share of "
     "that hour's orders lost."),
    ("delivery_times", "Delivery time by tier", rp.delivery_times,
     "Creation-to-delivery time per served tier, with each order's promise (outline) and the median promise."),
    ("service_by_hour", "On-time and perfect-order rate per hour", rp.service_by_hour,
     "On time is of delivered orders; perfect (on time, complete, unsplit, requested tier or faster) of created."),
    ("cost_breakdown", "Cost per order", rp.cost_breakdown,
     "All costs of the measured days per created order; inventory = holding + spoilage + transfer, transport "
     "includes split shipments."),
    ("inventory", "Inventory by echelon", rp.inventory_by_echelon,
     "Units on hand at the end of each simulated day, per echelon."),
    ("node_map", "Nodes", rp.node_map,
     "Nodes on their coordinates: marker area = measured orders served, colour = utilisation of the busiest "
     "resource (pickers, riders or vans)."),
)
def _files_section(root: Path, man: dict[str, Any], yaml_text: str) -> str:
    body = (f"<p>Reproduce this run with <code>shangou run {esc(root / 'scenario.yaml')} --replication "
            f"{esc(man.get('replication', 0))}</code> (the resolved scenario, every default filled in).</p>"
            f"<details><summary>manifest.json</summary><pre>{esc(json.dumps(man, indent=2, sort_keys=True))}</pre>"
            f"</details><details><summary>scenario.yaml</summary><pre>{esc(yaml_text)}</pre></details>")
    return section("files", "Files", body)


# --------------------------------------------------------------------------- a run
def calibration_html(run_dir: Path) -> str:
    """The calibration table of one run (``sim.report.calibration``; ``shangou calibrate`` gates on it)."""
    from sim.report import calibration as cal

    table = cal.calibrate_dirs([run_dir])
    n_in, n_app = int((table["status"] == cal.IN).sum()), int((table["status"] != cal.NA).sum())
    return (f"<p>{n_in} of {n_app} applicable figures in range (not measured counts as out; n/a: the target "
            "does not apply to this scenario). Targets: sim/data/calibration_targets.csv, from parameters.md "
            "Calibration targets.</p>" + df_table(cal.report_table(table)))


def run_report(run_dir: Path, plots_dir: Path | None = None) -> str:
    """The HTML of one run directory (figures also written to plots_dir if given)."""
    run = load_run(run_dir)
    man, k = run.manifest, run.kpis
    sc, yaml_text = sec.scenario_yaml(run_dir)
    con = connect(run_dir)
    try:
        stock = sec.top_stockouts(con)
        gap_lost, gap_down = sec.uncovered_lines(con)
    finally:
        con.close()
    figs = "".join(figure_html(name, title, fn(run), caption, plots_dir) for name, title, fn, caption in RUN_FIGURES)
    body = [
        section("summary", "Scenario", kv_table(sec.scenario_rows(sc, man, run.nodes))),
        section("method", "Method", kv_table(sec.method_rows(man, k, sec.drain_days(run.inventory, man)))),
        section("kpis", "KPIs (measured days)",
                kv_table(sec.kpi_rows(k, run.orders)) + "<h3>Tiers (delivered orders)</h3>" + df_table(sec.tier_table(k))
                + "<h3>Costs</h3>" + df_table(sec.cost_table(k)) + "<h3>Inventory and utilisation</h3>"
                + df_table(sec.resource_table(k)) + "<h3>By day</h3>" + df_table(sec.by_day_table(k))),
        section("calibration", "Calibration against public figures", calibration_html(run_dir)),
        section("plots", "Figures", figs),
        section("stockouts", "Top stock-outs",
                "<p>Preferred node &times; SKU with the most lost or downgraded lines among measured orders "
                "(a line is lost when its order was lost, downgraded when delivered at a slower tier than "
                "requested).</p>" + df_table(stock)
                + f"<p>Not stock-outs: {gap_lost:,} lost and {gap_down:,} downgraded lines had no preferred node "
                "(no node of the requested tier reaches the order's zone, a coverage gap).</p>"),
        _files_section(run_dir, man, yaml_text),
    ]
    nav = [("summary", "scenario"), ("method", "method"), ("kpis", "KPIs"), ("calibration", "calibration"),
           ("plots", "figures"),
           ("stockouts", "stock-outs"), ("files", "files")]
    return page(f"Shangou run: {man.get('scenario', run_dir.name)} - {man.get('policy', '')}", body, nav)


# --------------------------------------------------------------------------- a comparison
PARETO = (("pareto_perfect", "perfect_order_rate", "max"), ("pareto_p90", "delivery_p90_min", "min"),
          ("pareto_near", "near_share", "max"))
BAR_KPIS = ("cost_per_order_cny", "perfect_order_rate", "lost_sales_rate", "near_mid_share", "near_share",
            "delivery_p90_min", "forward_inventory_value_cny")


def _pareto_figures(summary: pd.DataFrame) -> list[tuple[str, str, Figure, str]]:
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
        out.append((name, f"Pareto: cost per order against {kpi}", fig,
                    "Mean per policy with 95% CI whiskers; the dashed line joins the policies no other beats on both."))
    return out


def comparison_report(root: Path, plots_dir: Path | None = None) -> str:
    """The HTML of a comparison directory (comparison.parquet plus the run directories under it)."""
    table = pd.read_parquet(root / "comparison.parquet")
    cat = Catalogue(root)
    runs = pd.DataFrame(cat.runs_table().to_pylist())
    summary, source = cmp.summary_from(table, runs)
    pols = list(dict.fromkeys(summary["policy"]))
    sc, yaml_text = sec.scenario_yaml(cat.paths[0])
    man = cat.meta[0]
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for m, k in zip(cat.meta, cat.kpis, strict=True):
        by_policy.setdefault(str(m["policy"]), []).append(k)
    figs = [*_pareto_figures(summary),
            ("kpi_bars", "KPIs per policy", rp.kpi_bars(summary, [k for k in BAR_KPIS if (summary["kpi"] == k).any()][:4]),
             "Means with Student-t 95% confidence intervals over replications."),
            ("cost_breakdown_policies", "Cost per order by policy", rp.cost_breakdown(cmp.mean_cost_kpis(by_policy)),
             "Mean over replications of each cost per created order.")]
    pair = cmp.paired(summary)
    cost_corr = pair[pair["kpi"] == "cost_per_order_cny"]["corr"] if "corr" in pair else pd.Series(dtype=float)
    corr_text = ", ".join(f"{p}: {c:.3f}" for p, c in zip(pair.loc[cost_corr.index, "policy"], cost_corr,
                                                          strict=True)) or "n/a (fewer than 3 paired replications)"
    reps = runs.groupby("policy").size()
    method = sec.method_rows(man, {}, 0)[:2] + [
        ("replications", ", ".join(f"{p}: {int(n)}" for p, n in reps.items())),
        ("confidence intervals", "Student t, 95%, over replications; differences to the baseline "
                                 f"({pols[0] if pols else '-'}) paired by replication"),
        ("common random numbers", "every policy sees the same orders, baskets, service times and customer "
                                  f"choices per replication; correlation of cost per order with the baseline: "
                                  f"{corr_text}"),
        ("statistics from", source)]
    body = [
        section("summary", "Scenario", kv_table(sec.scenario_rows(sc, {**man, "policy": ", ".join(pols)}, None))),
        section("method", "Method", kv_table(method)),
        section("ranking", "Ranking (mean [95% CI], cheapest first)", df_table(cmp.ranking(summary))),
        section("crn", "Paired differences to the baseline",
                "<p>Difference to the baseline per KPI over matched replications, its 95% CI (excluding 0 means "
                "the policies differ) and the correlation common random numbers induced.</p>" + df_table(pair)),
        section("compare-plots", "Figures", "".join(figure_html(n, t, f, c, plots_dir) for n, t, f, c in figs)),
        section("runs", "Runs", df_table(runs.drop(columns=["path"]))),
        section("comparison-table", "comparison.parquet", df_table(table)),
        _files_section(cat.paths[0], man, yaml_text),
    ]
    nav = [(s, s.replace("-", " ")) for s in COMPARE_SECTIONS]
    return page(f"Shangou comparison: {man.get('scenario', root.name)}", body, nav)


def write_report(path: str | Path) -> Path:
    """(Re)write DIR/report.html and DIR/plots/*.png for a run or comparison directory; returns the report path."""
    root = Path(path)
    if (root / "comparison.parquet").is_file():
        text = comparison_report(root, root / PLOTS_DIR)
    elif (root / "sweep.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.sweep_report import sweep_report  # it builds on this module's helpers

        text = sweep_report(root, root / PLOTS_DIR)
    elif (root / "levels.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.decide_report import staff_report

        text = staff_report(root, root / PLOTS_DIR)
    elif (root / "sites.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.decide_report import sites_report

        text = sites_report(root, root / PLOTS_DIR)
    elif (root / "trials.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.decide_report import optimize_report  # it builds on this module's helpers

        text = optimize_report(root, root / PLOTS_DIR)
    elif is_run_dir(root):
        text = run_report(root, root / PLOTS_DIR)
    else:
        raise ScenarioError(f"{root}: not a run directory (no manifest.json, kpis.json and Parquet files) "
                            "and not a comparison or sweep directory (no comparison.parquet or sweep.parquet)")
    target = root / REPORT
    _write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))
    return target
