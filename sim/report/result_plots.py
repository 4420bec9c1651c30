"""Figures of a run's results (and of a comparison); every function returns its matplotlib Figure.

Order figures are over *measured* orders (``warmup`` False), with the same definitions as
kpis.json: tier shares are of delivered orders, on-time rates of delivered orders, perfect-order
and lost-sales rates of created orders; an order's hour is the hour of day of ``created_s``. The
data are drawn so they can be read back from the artists (bar containers labelled by series,
lines labelled by series), which is how the tests check them against the Parquet files.
Re-exported by ``sim.report.plots``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.vocab import TIER_NAMES  # noqa: E402

TIERS = TIER_NAMES
TIER_COLOUR = {"near": "#1b9e77", "mid": "#7570b3", "far": "#d95f02"}
KINDS = {"ndc": ("NDC", "s", "#b2182b"), "fdc": ("FDC", "^", "#2166ac"), "store": ("stores", "o", "#1b7837")}
# cost_breakdown_cny keys grouped as a planner reads them; keys not listed fall into "other"
COST_GROUPS: dict[str, tuple[str, ...]] = {
    "fixed": ("fixed",),
    "handling": ("handling",),
    "transport": ("transport", "split"),
    "inventory": ("holding", "spoilage", "transfer"),
    "lateness": ("penalty",),
    "lost sales": ("lost_sales",),
}
COST_COLOUR = {
    "fixed": "#6a51a3",
    "handling": "#9e9ac8",
    "transport": "#3182bd",
    "inventory": "#31a354",
    "lateness": "#fd8d3c",
    "lost sales": "#de2d26",
    "other": "#969696",
}
TIER_UNIT = {
    "near": ("minutes", 1.0),
    "mid": ("hours", 60.0),
    "far": ("hours", 60.0),
}  # (label, minutes per unit)
SIZE_MIN, SIZE_SPAN = 20.0, 380.0  # node marker area = SIZE_MIN + SIZE_SPAN * orders / max orders
HOURS = np.arange(24)


_MEASURED: list[tuple[pd.DataFrame, pd.DataFrame]] = []  # the last (run.orders, measured_orders of it)


def measured_orders(run: Any) -> pd.DataFrame:
    """Measured orders with their hour of day (``hour``), the population of the order figures (computed once
    per orders table: the figures of one report share it and do not modify it)."""
    if _MEASURED and _MEASURED[0][0] is run.orders:
        return _MEASURED[0][1]
    o = run.orders.loc[~run.orders["warmup"].astype(bool)].copy()
    o["hour"] = (np.floor(o["created_s"].to_numpy() / 3600.0) % 24).astype(int)
    _MEASURED[:] = [(run.orders, o)]
    return o


def _per_hour(num: pd.Series, den: pd.Series) -> np.ndarray:
    """num / den per hour 0..23 (NaN where den is 0)."""
    n = num.reindex(HOURS, fill_value=0).to_numpy(float)
    d = den.reindex(HOURS, fill_value=0).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)


def _hour_axis(ax: Any) -> None:
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("hour of day (order created)")


def tier_share_by_hour(run: Any, title: str = "") -> Figure:
    """Served tier mix of delivered orders per hour (stacked bars), and the lost-sales rate per hour."""
    o = measured_orders(run)
    dlv = o[o["status"] == "delivered"]
    n_dlv = dlv.groupby("hour").size()
    fig, ax = plt.subplots(figsize=(9, 4))
    bottom = np.zeros(24)
    for t in TIERS:
        share = np.nan_to_num(_per_hour(dlv[dlv["served_tier"] == t].groupby("hour").size(), n_dlv))
        ax.bar(HOURS + 0.5, share, width=0.9, bottom=bottom, color=TIER_COLOUR[t], label=t)
        bottom += share
    lost = _per_hour(o[o["status"] == "lost"].groupby("hour").size(), o.groupby("hour").size())
    ax.plot(HOURS + 0.5, lost, "k.-", linewidth=1.2, label="lost (share of created)")
    _hour_axis(ax)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of delivered orders")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_title(title or "served tier over the day")
    fig.tight_layout()
    return fig


def delivery_times(run: Any, title: str = "") -> Figure:
    """Creation-to-delivery time per served tier (histogram), the promise per order (outline) and its median."""
    o = measured_orders(run)
    dlv = o[o["status"] == "delivered"]
    tiers = [t for t in TIERS if (dlv["served_tier"] == t).any()] or ["near"]
    fig, axes = plt.subplots(1, len(tiers), figsize=(4.2 * len(tiers), 3.8), squeeze=False)
    for ax, t in zip(axes[0], tiers, strict=True):
        d = dlv[dlv["served_tier"] == t]
        unit, per = TIER_UNIT[t]
        took = (d["delivered_s"] - d["created_s"]).to_numpy() / 60.0 / per
        promise = (d["promised_s"] - d["created_s"]).to_numpy() / 60.0 / per
        top = float(max(np.max(took, initial=0.0), np.max(promise, initial=0.0), 1e-9)) * 1.02
        bins = np.linspace(0.0, top, 41)
        ax.hist(took, bins=bins, color=TIER_COLOUR[t], alpha=0.8, label="delivered")
        if len(d):
            med = float(np.median(promise))
            if np.ptp(promise) > 0.01 * max(med, 1e-9):  # promises vary (waves, transit days): show them
                ax.hist(
                    promise,
                    bins=bins,
                    histtype="step",
                    color="#333333",
                    linewidth=1,
                    label="promise (per order)",
                )
            ax.axvline(
                med, color="#000000", linestyle="--", linewidth=1.4, label=f"median promise {med:.3g} {unit}"
            )
        on_time = float(d["on_time"].mean()) if len(d) else float("nan")
        ax.set_title(f"{t}: {len(d):,} orders, {on_time:.1%} on time", fontsize=10)
        ax.set_xlabel(f"{unit} from order to delivery")
        ax.set_ylabel("orders")
        ax.legend(fontsize=7)
    fig.suptitle(title or "delivery time by served tier")
    fig.tight_layout()
    return fig


def service_by_hour(run: Any, title: str = "") -> Figure:
    """On-time rate (of delivered) and perfect-order rate (of created) per hour; orders per hour behind."""
    o = measured_orders(run)
    created = o.groupby("hour").size()
    dlv = o[o["status"] == "delivered"]
    on_time = _per_hour(dlv[dlv["on_time"].astype(bool)].groupby("hour").size(), dlv.groupby("hour").size())
    perfect = _per_hour(o[o["perfect"].astype(bool)].groupby("hour").size(), created)
    fig, ax = plt.subplots(figsize=(9, 4))
    back = ax.twinx()
    back.bar(
        HOURS + 0.5,
        created.reindex(HOURS, fill_value=0).to_numpy(),
        width=0.9,
        color="#dddddd",
        label="orders created",
    )
    back.set_ylabel("orders created")
    ax.set_zorder(back.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot(HOURS + 0.5, on_time, "o-", color="#2166ac", markersize=4, label="on time (of delivered)")
    ax.plot(HOURS + 0.5, perfect, "s-", color="#b2182b", markersize=4, label="perfect order (of created)")
    _hour_axis(ax)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(title or "service per hour")
    fig.tight_layout()
    return fig


def cost_per_order(kpis: Mapping[str, Any]) -> dict[str, float]:
    """cost_breakdown_cny grouped (COST_GROUPS, plus "other" if needed) and divided by created orders."""
    bd = dict(kpis.get("cost_breakdown_cny") or {})
    n = float(kpis.get("orders") or 0)
    out: dict[str, float] = {}
    for group, keys in COST_GROUPS.items():
        out[group] = sum(float(bd.pop(k, 0.0) or 0.0) for k in keys) / n if n else 0.0
    if bd:
        out["other"] = sum(float(v or 0.0) for v in bd.values()) / n if n else 0.0
    return out


def cost_breakdown(runs: Any, title: str = "") -> Figure:
    """Cost per created order split into fixed, handling, transport, inventory, lateness, lost sales.

    `runs` is a run (``.kpis``) or a mapping label -> kpis dict (one stacked bar each, e.g. per policy).
    """
    if hasattr(runs, "kpis"):
        items = {str(getattr(runs, "manifest", {}).get("policy") or "run"): runs.kpis}
    else:
        items = dict(runs)
    parts = {label: cost_per_order(k) for label, k in items.items()}
    groups = list(dict.fromkeys(g for p in parts.values() for g in p))
    labels = list(parts)
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.6 * len(labels)))
    y = np.arange(len(labels))
    left = np.zeros(len(labels))
    for g in groups:
        w = np.array([parts[lb].get(g, 0.0) for lb in labels])
        ax.barh(y, w, left=left, height=0.6, color=COST_COLOUR.get(g, "#969696"), label=g)
        left += w
    for i, total in enumerate(left):
        ax.annotate(
            f"{total:.2f} CNY", (total, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9
        )
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, max(float(left.max(initial=0.0)), 1e-9) * 1.18)
    ax.set_xlabel("CNY per created order")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(title or "cost per order")
    fig.tight_layout()
    return fig


def inventory_series(run: Any) -> pd.DataFrame:
    """End-of-day units per echelon (columns ndc, fdc, store) per simulated day (index)."""
    kind = run.nodes.set_index("id")["kind"]
    inv = run.inventory.assign(kind=run.inventory["node_id"].map(kind))
    table = inv.pivot_table(index="day", columns="kind", values="end", aggfunc="sum", fill_value=0)
    days = range(int(inv["day"].max()) + 1) if len(inv) else range(0)
    return table.reindex(index=days, columns=list(KINDS), fill_value=0)


def inventory_by_echelon(run: Any, title: str = "") -> Figure:
    """End-of-day units on hand per echelon per day (one panel each, as NDC stock dwarfs a store's);
    warm-up and drain days shaded."""
    s = inventory_series(run)
    warm = int(run.manifest.get("warmup_days") or 0)
    measured = int(run.manifest.get("measured_days") or 0)
    last = max(len(s) - 0.5, 0.5)
    fig, axes = plt.subplots(1, len(KINDS), figsize=(11, 3.4), sharex=True, squeeze=False)
    for ax, (k, (label, marker, colour)) in zip(axes[0], KINDS.items(), strict=True):
        ax.axvspan(-0.5, warm - 0.5, color="#eeeeee", label="warm-up")
        if warm + measured - 0.5 < last:
            ax.axvspan(warm + measured - 0.5, last, color="#f6e8c3", label="drain")
        ax.plot(s.index.to_numpy(), s[k].to_numpy(float), marker=marker, color=colour, label=label)
        ax.set_xlim(-0.5, last)
        ax.set_ylim(bottom=0)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("day")
    axes[0][0].set_ylabel("units on hand (end of day)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title or "inventory by echelon (grey: warm-up, sand: drain)")
    fig.tight_layout()
    return fig


def node_utilisation(nodes: pd.DataFrame) -> np.ndarray:
    """Per node, the utilisation of its busiest resource (pickers, riders, vans); NaN if it has none."""
    cols = [c for c in ("pickers_utilisation", "riders_utilisation", "vans_utilisation") if c in nodes]
    u = nodes[cols].to_numpy(float) if cols else np.full((len(nodes), 1), np.nan)
    out = np.full(len(nodes), np.nan)
    has = ~np.all(np.isnan(u), axis=1)
    out[has] = np.nanmax(u[has], axis=1)
    return out


def node_map(run: Any, title: str = "") -> Figure:
    """Nodes on real coordinates: marker area = measured orders served, colour = busiest resource's utilisation."""
    n = run.nodes
    util = node_utilisation(n)
    top = max(float(n["orders"].max()) if len(n) else 0.0, 1.0)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#bbbbbb")
    fig, ax = plt.subplots(figsize=(8, 7))
    sc = None
    for k, (label, marker, _) in KINDS.items():
        m = (n["kind"] == k).to_numpy()
        if not m.any():
            continue
        sizes = SIZE_MIN + SIZE_SPAN * n["orders"].to_numpy(float)[m] / top
        sc = ax.scatter(
            n["lon"].to_numpy()[m],
            n["lat"].to_numpy()[m],
            s=sizes,
            c=util[m],
            cmap=cmap,
            vmin=0.0,
            vmax=1.0,
            marker=marker,
            edgecolors="#333333",
            linewidths=0.6,
            label=f"{label} ({int(m.sum())})",
            zorder=3,
            plotnonfinite=True,
        )
    big = n[n["kind"] != "store"]
    if len(big) <= 25:
        for _, row in big.iterrows():
            ax.annotate(
                str(row["id"]),
                (row["lon"], row["lat"]),
                fontsize=7,
                xytext=(5, 4),
                textcoords="offset points",
            )
    if sc is not None:
        fig.colorbar(sc, ax=ax, shrink=0.7, label="utilisation of the busiest resource (grey: none)")
        ax.set_aspect(1.0 / np.cos(np.radians(float(n["lat"].mean()))), adjustable="datalim")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.legend(loc="best", fontsize=8, markerscale=0.6)
    ax.set_title(title or "nodes: size = orders served, colour = utilisation")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- comparisons
def kpi_bars(table: pd.DataFrame, kpis: Sequence[str], key: str = "policy", title: str = "") -> Figure:
    """One panel per KPI: the mean per configuration with its 95% confidence interval as whiskers.

    `table` is long, as comparison.parquet: columns `key`, kpi, mean, ci_low, ci_high (a missing
    interval, from one replication, draws no whisker). KPIs absent from the table are skipped.
    """
    kpis = [k for k in kpis if (table["kpi"] == k).any()] or list(dict.fromkeys(table["kpi"]))[:1]
    fig, axes = plt.subplots(1, max(len(kpis), 1), figsize=(3.6 * max(len(kpis), 1), 3.8), squeeze=False)
    for ax, kpi in zip(axes[0], kpis, strict=False):
        s = table[table["kpi"] == kpi]
        x = np.arange(len(s))
        mean = s["mean"].to_numpy(float)
        err = np.vstack([mean - s["ci_low"].to_numpy(float), s["ci_high"].to_numpy(float) - mean])
        ax.bar(x, mean, yerr=np.nan_to_num(err), capsize=4, color="#9ecae1", label=kpi)
        ax.set_xticks(x, [str(v) for v in s[key]], rotation=30, ha="right", fontsize=8)
        ax.set_title(kpi, fontsize=9)
    fig.suptitle(title or f"KPIs per {key} (mean and 95% CI)")
    fig.tight_layout()
    return fig
