"""Figures a planner reads; every function returns its matplotlib Figure (headless, Agg)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.vocab import NodeKind  # noqa: E402

KIND_STYLE = {
    NodeKind.NDC: ("NDC", "s", "#b2182b", 90),
    NodeKind.FDC: ("FDC", "^", "#2166ac", 60),
    NodeKind.STORE: ("store", "o", "#1b7837", 10),
}


def network_map(net: Any, title: str = "") -> Figure:
    """Zones (grey, size = demand weight) and nodes by kind on real coordinates."""
    fig, ax = plt.subplots(figsize=(8, 7))
    w = net.zone_weight / net.zone_weight.max()
    ax.scatter(net.zone_lon, net.zone_lat, s=4 + 60 * w, c="#bbbbbb", alpha=0.6, linewidths=0, label="zones")
    for k, (label, marker, colour, size) in KIND_STYLE.items():
        m = net.node_kind == k
        if m.any():
            ax.scatter(
                net.node_lon[m],
                net.node_lat[m],
                s=size,
                marker=marker,
                c=colour,
                label=f"{label} ({m.sum()})",
                edgecolors="white",
                linewidths=0.4,
                zorder=3,
            )
    for i, name in enumerate(net.city_names):
        if net.city_population[i] >= np.sort(net.city_population)[-12:].min():
            ax.annotate(
                name,
                (net.city_lon[i], net.city_lat[i]),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1.0 / np.cos(np.radians(float(np.mean(net.city_lat)))))
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or "network")
    fig.tight_layout()
    return fig


def intraday_profile(hour_share: np.ndarray, hour_counts: np.ndarray, title: str = "") -> Figure:
    """Share of orders per hour of the day: measured (bars) against the scenario's rate (steps)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    hours = np.arange(24)
    total = max(int(np.sum(hour_counts)), 1)
    ax.bar(
        hours + 0.5,
        np.asarray(hour_counts) / total,
        width=0.9,
        color="#9ecae1",
        label=f"measured ({total:,} orders)",
    )
    ax.step(
        np.append(hours, 24),
        np.append(hour_share, hour_share[-1]),
        where="post",
        color="#08519c",
        linewidth=1.8,
        label="expected (demand.intraday)",
    )
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("hour of day")
    ax.set_ylabel("share of the day's orders")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title or "intraday profile")
    fig.tight_layout()
    return fig


def popularity_curve(
    units_by_rank: np.ndarray, model_share: np.ndarray, zipf: np.ndarray, title: str = ""
) -> Figure:
    """SKU unit shares by popularity rank (log-log) and the cumulative share, measured against the model."""
    fig, (ax, cum) = plt.subplots(1, 2, figsize=(10, 4))
    units = np.asarray(units_by_rank, dtype=float)
    share = units / max(units.sum(), 1.0)
    rank = np.arange(1, len(units) + 1)
    seen = share > 0
    ax.loglog(rank[seen], share[seen], ".", ms=3, color="#9e9ac8", label="measured")
    ax.loglog(rank, model_share, color="#54278f", linewidth=1.5, label="model (expected units)")
    ax.loglog(rank, zipf, "--", color="#999999", linewidth=1, label="Zipf popularity")
    ax.set_xlabel("SKU popularity rank")
    ax.set_ylabel("share of units")
    ax.legend(fontsize=8)
    frac = rank / len(rank)
    cum.plot(frac, np.cumsum(share), color="#9e9ac8", linewidth=2, label="measured")
    cum.plot(frac, np.cumsum(model_share), color="#54278f", linewidth=1, label="model")
    cum.axvline(0.2, color="#cccccc", linewidth=1)
    cum.set_xlabel("share of SKUs (most popular first)")
    cum.set_ylabel("cumulative share of units")
    cum.set_ylim(0, 1.01)
    cum.legend(loc="lower right", fontsize=8)
    fig.suptitle(title or "SKU popularity")
    fig.tight_layout()
    return fig


# Figures of a run's results and of comparisons live in result_plots.py (one concept per module);
# re-exported here so ``from sim.report.plots import node_map`` works alongside the network figures.
from sim.report.result_plots import (  # noqa: E402,F401
    cost_breakdown,
    delivery_times,
    inventory_by_echelon,
    kpi_bars,
    node_map,
    service_by_hour,
    tier_share_by_hour,
)
