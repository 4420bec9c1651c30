"""Report pages of the decision folders: the answer first, then how it was found.

``optimize``: the chosen design with every headline KPI's 95% CI (or why none was chosen), the
selection stage (finalists, paired differences to the chosen design at simultaneous 95%), the
search (every design evaluated, the cost-vs-perfect frontier), and the options that reproduce it.
``sites``: the frontier "sites opened -> cost per order, perfect-order rate" with 95% CIs over
common replications, the best K, each proposal's sites and model cost, and the candidates.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.report.markup import df_table, esc, figure_html, kv_table, page, section


def frontier_figure(trials: pd.DataFrame, chosen_label: str | None) -> Figure:
    """Cost per order against perfect-order rate for every design; the frontier joined, the choice ringed."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    ok = trials[np.isfinite(trials["cost_per_order_cny"]) & np.isfinite(trials["perfect_order_rate"])]
    feas = ok["feasible"].astype(bool)
    ax.scatter(
        ok.loc[feas, "perfect_order_rate"] * 100,
        ok.loc[feas, "cost_per_order_cny"],
        s=22,
        color="#4878a8",
        label="feasible design",
    )
    ax.scatter(
        ok.loc[~feas, "perfect_order_rate"] * 100,
        ok.loc[~feas, "cost_per_order_cny"],
        s=22,
        color="#bbbbbb",
        label="infeasible design",
    )
    front = ok[ok["pareto_cost_perfect"].astype(bool)].sort_values("perfect_order_rate")
    ax.plot(
        front["perfect_order_rate"] * 100,
        front["cost_per_order_cny"],
        color="#d62728",
        lw=1.2,
        label="frontier (search means)",
    )
    if chosen_label is not None:
        c = ok[ok["design"] == chosen_label]
        ax.scatter(
            c["perfect_order_rate"] * 100,
            c["cost_per_order_cny"],
            s=140,
            facecolors="none",
            edgecolors="black",
            lw=1.5,
            label="chosen",
        )
    ax.set_xlabel("perfect-order rate (%)")
    ax.set_ylabel("cost per order (CNY)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def optimize_report(root: Path, plots_dir: Path | None = None) -> str:
    info = json.loads((root / "experiment.json").read_text(encoding="utf-8"))
    trials = pd.read_parquet(root / "trials.parquet")
    finalists = pd.read_parquet(root / "finalists.parquet")
    chosen = pd.read_parquet(root / "chosen.parquet")
    pick = info.get("chosen")
    obj = info["objective"]
    if pick:
        label = ", ".join(f"{k}={v}" for k, v in pick["design"].items())
        row = chosen.set_index("kpi")
        kpi = obj.split(":", 1)[1]
        mean, lo, hi = (float(row.loc[kpi, c]) for c in ("mean", "ci_low", "ci_high"))
        verdict = (
            f"<p><b>Chosen: {esc(label)}</b> — {esc(kpi)} {mean:,.4g} (95% CI {lo:,.4g} to {hi:,.4g}) over "
            f"{int(row.loc[kpi, 'n'])} common replications, after {info.get('simulations', '?')} simulations."
            f"</p><p>Policy <code>{esc(pick['policy'])}</code>"
            + (f", overrides <code>{esc(' '.join(pick['set']))}</code>" if pick["set"] else "")
            + "</p>"
        )
        chosen_rows = chosen[["label", "n", "mean", "ci_low", "ci_high"]]
    else:
        label = None
        verdict = (
            "<p><b>No design met every constraint</b> on its search mean; relax a constraint or widen a "
            "range.</p>"
        )
        chosen_rows = chosen
    sections = [
        section("answer", "Answer", verdict + df_table(chosen_rows)),
        section(
            "selection",
            "Selection among the finalists",
            '<p class="muted">Each finalist re-run on more common replications; differences to the chosen design '
            "with Bonferroni-corrected simultaneous 95% intervals.</p>" + df_table(finalists),
        ),
        section(
            "search",
            "Search",
            figure_html(
                "optimize_frontier",
                "Designs evaluated",
                frontier_figure(trials, label),
                "Search means of every design (few replications each).",
                plots_dir,
            )
            + df_table(trials),
        ),
        section(
            "method", "Options", kv_table([(k, json.dumps(v)) for k, v in info.items() if k != "chosen"])
        ),
    ]
    nav = [("answer", "answer"), ("selection", "selection"), ("search", "search"), ("method", "options")]
    return page(f"optimize {info.get('scenario', '')}: {obj}", sections, nav)


def sites_figure(table: pd.DataFrame) -> Figure:
    """K against cost per order and perfect-order rate, mean and 95% CI per proposal."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    ax2 = ax.twinx()
    for kpi, axis, colour, scale, label in (
        ("cost_per_order_cny", ax, "#4878a8", 1.0, "cost per order (CNY)"),
        ("perfect_order_rate", ax2, "#d62728", 100.0, "perfect-order rate (%)"),
    ):
        t = table[table["kpi"] == kpi].sort_values("k")
        axis.errorbar(
            t["k"],
            t["mean"] * scale,
            yerr=t["half_width"].fillna(0) * scale,
            color=colour,
            marker="o",
            capsize=3,
            label=label,
        )
        axis.set_ylabel(label, color=colour)
    ax.set_xlabel("sites opened (K)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def sites_report(root: Path, plots_dir: Path | None = None) -> str:
    info = json.loads((root / "experiment.json").read_text(encoding="utf-8"))
    table = pd.read_parquet(root / "sites.parquet")
    proposals = pd.read_parquet(root / "proposals.parquet")
    cands = pd.read_parquet(root / "candidates.parquet")
    cost = table[table["kpi"] == "cost_per_order_cny"].sort_values("mean")
    if len(cost) and np.isfinite(cost["mean"].iloc[0]):
        b = cost.iloc[0]
        perfect = table[(table["kpi"] == "perfect_order_rate") & (table["proposal"] == b["proposal"])].iloc[0]
        verdict = (
            f"<p><b>Cheapest: open {int(b['k'])} ({esc(b['sites'])})</b> — {b['mean']:,.2f} ± "
            f"{b['half_width']:,.2f} CNY per order, perfect-order rate {perfect['mean']:.1%} ± "
            f"{perfect['half_width'] * 100:.1f} points over {int(b['n'])} common replications.</p>"
        )
    else:
        verdict = "<p><b>No proposal ran successfully</b>; see experiment.json for the errors.</p>"
    wide = table.pivot_table(index=["k", "sites"], columns="kpi", values="mean").reset_index()
    sections = [
        section(
            "answer",
            "Answer",
            verdict
            + figure_html(
                "sites_frontier",
                "Sites opened",
                sites_figure(table),
                "Mean and 95% CI per proposal (common random numbers).",
                plots_dir,
            )
            + df_table(wide),
        ),
        section("proposals", "Proposals of the location model", df_table(proposals)),
        section("candidates", f"Candidates ({info.get('kind', '')})", df_table(cands)),
        section("table", "Statistics", df_table(table)),
        section("method", "Options", kv_table([(k, json.dumps(v)) for k, v in info.items()])),
    ]
    nav = [
        ("answer", "answer"),
        ("proposals", "proposals"),
        ("candidates", "candidates"),
        ("table", "statistics"),
        ("method", "options"),
    ]
    return page(
        f"sites {info.get('scenario', '')}: which {info.get('kind', '')} sites to open", sections, nav
    )


def staff_report(root: Path, plots_dir: Path | None = None) -> str:
    info = json.loads((root / "experiment.json").read_text(encoding="utf-8"))
    levels = pd.read_parquet(root / "levels.parquet")
    by_hour = pd.read_parquet(root / "by_hour.parquet")
    pick = info.get("chosen")
    profile = pd.DataFrame()
    if pick:
        verdict = (
            f"<p><b>{pick.get('rider_hours', '?')} rider-hours (peak {pick['riders']} riders) and "
            f"{pick['pickers']} pickers</b> over all stores (pickers x{pick.get('alpha_pickers', pick['alpha']):g}"
            f", riders x{pick.get('alpha_riders', pick['alpha']):g} the hourly queueing start) meet "
            f"{esc(info['target'])} on {esc(info['day'])}: verified "
            f"mean {pick['verified_mean']:.3f}, one-sided 95% lower bound {pick['verified_lower_95']:.3f} on "
            f"fresh replications ({'met' if pick['verified'] else 'NOT met'}); staff cost "
            f"{pick['cost_cny_per_day']:,.0f} CNY per day at the hourly rates. The per-store, per-hour riders "
            "are <code>staffing_profile.csv</code>, read back by <code>staffed.yaml</code>.</p>"
        )
        staffing = pd.read_parquet(root / "staffing.parquet")
        if (root / "staffing_profile.parquet").is_file():
            profile = pd.read_parquet(root / "staffing_profile.parquet")
    else:
        verdict = "<p><b>No level on the grid met the target</b>; the largest is in the table below.</p>"
        staffing = pd.DataFrame()
    heat = profile if len(profile) else by_hour
    column, label = (
        ("riders", "riders on shift (chosen)")
        if len(profile)
        else ("orders_per_hour", "near orders per hour (expected)")
    )
    fig = Figure(figsize=(7.0, 0.25 * max(4, heat["store"].nunique()) + 1.2))
    ax = fig.subplots()
    grid = heat.pivot(index="store", columns="hour", values=column)
    im = ax.imshow(grid.to_numpy(), aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(grid.index)), list(grid.index), fontsize=7)
    ax.set_xlabel("hour of day")
    fig.colorbar(im, ax=ax, label=label)
    fig.tight_layout()
    sections = [
        section("answer", "Answer", verdict + df_table(staffing)),
        section(
            "levels",
            "Designs simulated",
            '<p class="muted">Stage uniform: every store-hour scaled together; '
            "then fewer riders at the chosen pickers, then fewer pickers at the chosen riders; each judged by "
            "its one-sided 95% lower bound.</p>" + df_table(levels),
        ),
        section(
            "hours",
            "Staff by store and hour",
            figure_html(
                "staff_heat",
                "Riders per store-hour",
                fig,
                "The chosen profile (or the queueing start's arrival rates when nothing met the target).",
                plots_dir,
            ),
        ),
        section("method", "Options", kv_table([(k, json.dumps(v)) for k, v in info.items()])),
    ]
    nav = [("answer", "answer"), ("levels", "designs"), ("hours", "by hour"), ("method", "options")]
    return page(f"staff {info.get('scenario', '')}: {info.get('target', '')}", sections, nav)


def promise_figure(table: pd.DataFrame, won: pd.DataFrame) -> Figure:
    """Orders won per day, cost per order and perfect-order rate against the near promise, a line per mid
    promise; mean and 95% CI over common replications."""
    fig = Figure(figsize=(10.5, 3.6))
    axes = fig.subplots(1, 3)
    colours = ["#4878a8", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    for i, h in enumerate(sorted(won["mid_h"].unique())):
        c = colours[i % len(colours)]
        w = won[won["mid_h"] == h].sort_values("near_min")
        axes[0].errorbar(
            w["near_min"],
            w["orders_won_per_day"],
            yerr=[
                w["orders_won_per_day"] - w["orders_won_per_day_ci_low"],
                w["orders_won_per_day_ci_high"] - w["orders_won_per_day"],
            ],
            color=c,
            marker="o",
            capsize=3,
            label=f"mid {h:g} h",
        )
        for ax, kpi, scale in ((axes[1], "cost_per_order_cny", 1.0), (axes[2], "perfect_order_rate", 100.0)):
            t = table[(table["kpi"] == kpi) & (table["mid_h"] == h)].sort_values("near_min")
            ax.errorbar(
                t["near_min"],
                t["mean"] * scale,
                yerr=t["half_width"].fillna(0) * scale,
                color=c,
                marker="o",
                capsize=3,
            )
    for ax, label in zip(
        axes,
        ("orders won per day (delivered)", "cost per order (CNY)", "perfect-order rate (%)"),
        strict=True,
    ):
        ax.set_xlabel("near promise (min)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def promise_report(root: Path, plots_dir: Path | None = None) -> str:
    info = json.loads((root / "experiment.json").read_text(encoding="utf-8"))
    table = pd.read_parquet(root / "promise.parquet")
    won = pd.read_parquet(root / "won.parquet")
    if len(won) and np.isfinite(won["orders_won_per_day"]).any():
        best = won.iloc[int(np.nanargmax(won["orders_won_per_day"].to_numpy()))]
        cost = table[(table["kpi"] == "cost_per_order_cny") & (table["design"] == best["design"])].iloc[0]
        verdict = (
            f"<p><b>Most orders won: {esc(best['design'])}</b> — {best['orders_won_per_day']:,.0f} delivered "
            f"per day (95% CI {best['orders_won_per_day_ci_low']:,.0f} to "
            f"{best['orders_won_per_day_ci_high']:,.0f}) at {cost['mean']:,.2f} ± {cost['half_width']:,.2f} CNY "
            f"per order, over {int(best['n'])} common replications. Shoppers order less at a longer promise "
            "(demand.conversion); each near promise brings the rider radius it allows.</p>"
        )
    else:
        verdict = "<p><b>No design ran successfully</b>; see experiment.json for the errors.</p>"
    wide = table.pivot_table(
        index=["design", "near_min", "rider_radius_km", "mid_h"], columns="kpi", values="mean"
    ).reset_index()
    wide = wide.merge(won[["design", "orders_placed_per_day", "orders_won_per_day"]], on="design")
    sections = [
        section(
            "answer",
            "Answer",
            verdict
            + figure_html(
                "promise_grid",
                "Promise what-ifs",
                promise_figure(table, won),
                "Mean and 95% CI per design (common random numbers).",
                plots_dir,
            )
            + df_table(wide),
        ),
        section("won", "Orders placed and won", df_table(won)),
        section("table", "Statistics", df_table(table)),
        section("method", "Options", kv_table([(k, json.dumps(v)) for k, v in info.items()])),
    ]
    nav = [("answer", "answer"), ("won", "orders"), ("table", "statistics"), ("method", "options")]
    return page(f"promise {info.get('scenario', '')}: what a promise wins and costs", sections, nav)
