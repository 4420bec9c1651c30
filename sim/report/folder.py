"""A folder of runs (a compare or sweep output, or any directory of run directories) as tables per
configuration and measured day, for the compare report and notebooks/05_runs_folder.ipynb.

A run's configuration is its policy when the folder's runs differ by policy (``shangou compare``),
else the directory its replications sit in (``runs/<point slug>/r<k>`` of ``shangou sweep``). Values
come from each run's kpis.json (``by_day``) and orders.parquet through the KPI registry, so any
registered KPI that exists per day can be plotted: kpis.json's per-day rates and cost per order, and
the orders-table KPIs (on time of requested orders, on time of delivered, p90 delivery).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.io.query import Catalogue
from sim.metrics import registry as reg
from sim.report.comparison import t_interval

ORDER_COLUMNS = [
    "created_s",
    "delivered_s",
    "status",
    "warmup",
    "on_time",
    "served_tier",
    "requested_tier",
    "downgraded",
]


def _groups(cat: Catalogue) -> list[str]:
    pols = [str(m["policy"]) for m in cat.meta]
    parents = [str(Path(str(m["run_id"])).parent) for m in cat.meta]
    by_parent = {p: {q for q, par in zip(pols, parents, strict=True) if par == p} for p in set(parents)}
    if len(set(pols)) == len(set(parents)) and all(len(v) == 1 for v in by_parent.values()):
        return pols
    return [Path(p).name or p for p in parents]


def runs_and_days(root: str | Path | Catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per run: config, replication, every compare KPI; one row per run and measured day:
    config, replication, day, date, orders and every per-day KPI)."""
    cat = root if isinstance(root, Catalogue) else Catalogue(root)
    rows, days = [], []
    for g, m, k, p in zip(_groups(cat), cat.meta, cat.kpis, cat.paths, strict=True):
        orders = pd.read_parquet(Path(p) / "orders.parquet", columns=ORDER_COLUMNS)
        rows.append(
            {
                "config": g,
                "policy": m["policy"],
                "replication": m["replication"],
                **{kk.key: reg.value(kk.key, k, orders) for kk in reg.shown_in("compare")},
            }
        )
        extra = reg.orders_kpis(orders, by="day").set_index("day") if len(orders) else pd.DataFrame()
        for d in k.get("by_day") or []:
            row: dict[str, Any] = {"config": g, "policy": m["policy"], "replication": m["replication"], **d}
            if d["day"] in extra.index:
                row.update(extra.loc[d["day"]].to_dict())
            days.append(row)
    runs, per = pd.DataFrame(rows), pd.DataFrame(days)
    for df in (runs, per):  # None (undefined) as NaN, every KPI column numeric
        for c in df.columns:
            if c in reg.REGISTRY or c in ("on_time_rate",):
                df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return runs, per


def per_day(days: pd.DataFrame, key: str, by: str = "config") -> pd.DataFrame:
    """Per configuration and measured day: n replications, mean of `key` and its Student-t 95% CI,
    mean orders of the day, and ``peak`` (the day with the most orders, over all configurations)."""
    out = []
    for (c, _), g in days.groupby([by, "day"], sort=False):
        n, mean, _, lo, hi = t_interval(g[key].to_numpy(float))
        out.append(
            {
                by: c,
                "day": int(g["day"].iloc[0]),
                "date": g["date"].iloc[0] if "date" in g else None,
                "n": n,
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "orders": float(g["orders"].mean()),
            }
        )
    df = pd.DataFrame(out)
    if len(df):
        busiest = df.groupby("day")["orders"].mean().idxmax()
        df["peak"] = df["day"] == busiest
    return df


def plot_per_day(table: pd.DataFrame, key: str, by: str = "config") -> Any:
    """Matplotlib figure: `key` per measured day per configuration, 95% CI bands, the peak day shaded."""
    import matplotlib.pyplot as plt

    k = reg.get(key)
    fig, ax = plt.subplots(figsize=(8, 4))
    for c, g in table.groupby(by, sort=False):
        g = g.sort_values("day")
        line = ax.plot(g["day"], g["mean"], "o-", label=str(c))[0]
        ax.fill_between(g["day"], g["ci_low"], g["ci_high"], color=line.get_color(), alpha=0.2, linewidth=0)
    if "peak" in table and table["peak"].any():
        d = int(table.loc[table["peak"], "day"].iloc[0])
        ax.axvspan(d - 0.4, d + 0.4, color="#f4a582", alpha=0.35, label="peak day (most orders)")
    ax.set_xticks(sorted(table["day"].unique()))
    ax.set_xlabel("measured day (day index of the run)")
    ax.set_ylabel(k.label_unit)
    if k.percent:
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(f"{k.label} per day (mean, 95% CI over replications)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
