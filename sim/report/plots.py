"""Figures a planner reads; every function returns its matplotlib Figure (headless, Agg)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

KIND_STYLE = {0: ("NDC", "s", "#b2182b", 90), 1: ("FDC", "^", "#2166ac", 60), 2: ("store", "o", "#1b7837", 10)}


def network_map(net: Any, title: str = "") -> Figure:
    """Zones (grey, size = demand weight) and nodes by kind on real coordinates."""
    fig, ax = plt.subplots(figsize=(8, 7))
    w = net.zone_weight / net.zone_weight.max()
    ax.scatter(net.zone_lon, net.zone_lat, s=4 + 60 * w, c="#bbbbbb", alpha=0.6, linewidths=0, label="zones")
    for k, (label, marker, colour, size) in KIND_STYLE.items():
        m = net.node_kind == k
        if m.any():
            ax.scatter(net.node_lon[m], net.node_lat[m], s=size, marker=marker, c=colour, label=f"{label} ({m.sum()})",
                       edgecolors="white", linewidths=0.4, zorder=3)
    for i, name in enumerate(net.city_names):
        if net.city_population[i] >= np.sort(net.city_population)[-12:].min():
            ax.annotate(name, (net.city_lon[i], net.city_lat[i]), fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1.0 / np.cos(np.radians(float(np.mean(net.city_lat)))))
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or "network")
    fig.tight_layout()
    return fig
