"""The comparison part of a report: the summary table of a compare directory, and its fallback.

``shangou compare`` writes comparison.parquet in the layout of ``sim.experiments`` (one row per
policy and KPI: n, mean, std, ``ci_low`` / ``ci_high`` (Student t, 95%), the paired difference to
the baseline ``diff_mean`` / ``diff_ci_low`` / ``diff_ci_high`` over ``diff_n`` replications and
``corr``, the correlation common random numbers induced). The report reads that table as it is;
only when it lacks those columns (an older or foreign file) does ``summarise`` recompute the same
columns from the runs' own KPIs (the ``runs`` query view), so a report never needs
``sim.experiments`` (which comes later in the pipeline).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

REQUIRED = ("policy", "kpi", "mean", "ci_low", "ci_high")
DIFF = ("diff_mean", "diff_ci_low", "diff_ci_high", "corr")
FALLBACK_KPIS = (
    "cost_per_order_cny",
    "perfect_order_rate",
    "requested_tier_rate",
    "lost_sales_rate",
    "local_fulfilment_rate",
    "near_share",
    "mid_share",
    "far_share",
)
LEVEL = 0.95


def t_interval(
    values: Sequence[float] | np.ndarray, level: float = LEVEL
) -> tuple[int, float, float, float, float]:
    """(n, mean, std, lo, hi): the Student-t interval of the mean of the finite values (NaN bounds if n < 2)."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (0, np.nan, np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if x.size < 2:
        return (1, mean, np.nan, np.nan, np.nan)
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * std / np.sqrt(x.size)
    return (int(x.size), mean, std, mean - half, mean + half)


def policy_order(runs: pd.DataFrame, preferred: Sequence[str] = ()) -> list[str]:
    """Policies in `preferred` order first (e.g. comparison.parquet's), then as they appear in `runs`."""
    present = set(runs["policy"])
    first = [p for p in dict.fromkeys(preferred) if p in present]
    return first + [p for p in dict.fromkeys(runs["policy"]) if p not in first]


def summarise(
    runs: pd.DataFrame, kpis: Sequence[str] = FALLBACK_KPIS, order: Sequence[str] = ()
) -> pd.DataFrame:
    """Per (policy, kpi) the columns of comparison.parquet, from one row per run (policy, replication, KPIs);
    the baseline is the first policy, differences are paired by replication."""
    pols = policy_order(runs, order)
    rows: list[dict[str, Any]] = []
    base = runs[runs["policy"] == pols[0]].set_index("replication") if pols else runs
    for p in pols:
        mine = runs[runs["policy"] == p].set_index("replication")
        reps = sorted(set(mine.index) & set(base.index))
        for k in kpis:
            if k not in mine:
                continue
            n, mean, std, lo, hi = t_interval(mine[k].to_numpy(float))
            row: dict[str, Any] = {
                "policy": p,
                "kpi": k,
                "n": n,
                "mean": mean,
                "std": std,
                "ci_low": lo,
                "ci_high": hi,
                "diff_mean": np.nan,
                "diff_ci_low": np.nan,
                "diff_ci_high": np.nan,
                "diff_n": 0,
                "corr": np.nan,
                "baseline": pols[0],
            }
            if p != pols[0] and reps:
                a, b = base.loc[reps, k].to_numpy(float), mine.loc[reps, k].to_numpy(float)
                dn, dmean, _, dlo, dhi = t_interval(b - a)
                row.update(diff_mean=dmean, diff_ci_low=dlo, diff_ci_high=dhi, diff_n=dn)
                if len(reps) >= 3 and np.std(a) > 0 and np.std(b) > 0:
                    row["corr"] = float(np.corrcoef(a, b)[0, 1])
            rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            "policy",
            "kpi",
            "n",
            "mean",
            "std",
            "ci_low",
            "ci_high",
            "diff_mean",
            "diff_ci_low",
            "diff_ci_high",
            "diff_n",
            "corr",
            "baseline",
        ],
    )


def summary_from(table: pd.DataFrame, runs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The comparison summary and where it came from: comparison.parquet if it has the expected
    columns, else recomputed from the runs."""
    if all(c in table.columns for c in (*REQUIRED, *DIFF)):
        return table, "comparison.parquet"
    order = list(dict.fromkeys(table["policy"])) if "policy" in table.columns else []
    return (
        summarise(runs, order=order),
        "recomputed from the runs' kpis.json (comparison.parquet lacks "
        f"{', '.join(c for c in (*REQUIRED, *DIFF) if c not in table.columns)})",
    )


def ranking(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per policy: replications and 'mean [lo, hi]' per KPI, cheapest first when cost is known."""

    def cell(r: Any) -> str:
        if r["mean"] != r["mean"]:
            return "-"
        if r["ci_low"] != r["ci_low"]:
            return f"{r['mean']:.4g}"
        return f"{r['mean']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]"

    s = summary.assign(cell=summary.apply(cell, axis=1))
    pols = list(dict.fromkeys(s["policy"]))
    wide = s.pivot(index="policy", columns="kpi", values="cell").reindex(
        index=pols, columns=list(dict.fromkeys(s["kpi"]))
    )
    n = s.groupby("policy")["n"].max()
    if "cost_per_order_cny" in set(s["kpi"]):
        cost = s[s["kpi"] == "cost_per_order_cny"].set_index("policy")["mean"].reindex(pols)
        wide = wide.loc[cost.sort_values(kind="stable").index]
    wide.insert(0, "replications", [int(n.get(p, 0)) for p in wide.index])
    return wide.reset_index()


def paired(summary: pd.DataFrame) -> pd.DataFrame:
    """Paired differences to the baseline with their CI and the CRN correlation (non-baseline rows)."""
    base = summary["baseline"].iloc[0] if "baseline" in summary and len(summary) else None
    rows = summary[summary["policy"] != base] if base is not None else summary.iloc[0:0]
    cols = [
        c
        for c in ("policy", "baseline", "kpi", "diff_n", "diff_mean", "diff_ci_low", "diff_ci_high", "corr")
        if c in rows.columns
    ]
    return rows[cols].reset_index(drop=True)


def pareto_front(x: np.ndarray, y: np.ndarray, senses: tuple[str, str]) -> np.ndarray:
    """Mask of the points no other point beats on both axes (senses 'min'/'max'); NaN points are off it."""
    p = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    p = p * np.array([1.0 if s == "min" else -1.0 for s in senses])
    ok = np.all(np.isfinite(p), axis=1)
    front = ok.copy()
    for i in np.flatnonzero(ok):
        others = p[ok]
        front[i] = not np.any(np.all(others <= p[i], axis=1) & np.any(others < p[i], axis=1))
    return front


def mean_cost_kpis(runs_kpis: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per policy a kpis-like dict whose cost_breakdown_cny is the mean per-order cost over its runs
    (with orders = 1): the input of ``cost_breakdown`` for one bar per policy."""
    out: dict[str, dict[str, Any]] = {}
    for policy, ks in runs_kpis.items():
        keys = sorted({key for k in ks for key in (k.get("cost_breakdown_cny") or {})})
        per = {
            key: float(
                np.mean(
                    [
                        float((k.get("cost_breakdown_cny") or {}).get(key) or 0.0)
                        / max(float(k.get("orders") or 0), 1.0)
                        for k in ks
                    ]
                )
            )
            for key in keys
        }
        out[policy] = {"orders": 1, "cost_breakdown_cny": per}
    return out
