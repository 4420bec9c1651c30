"""Figures of a comparison or sweep (tables from sim.experiments); every function returns its Figure.

Tables are long: one row per configuration and KPI with columns ``kpi``, ``mean``, ``ci_low`` and
``ci_high`` and a key column (``policy`` for compare, ``point`` for a sweep). Whiskers are 95%
confidence intervals; a missing interval (one replication) draws no whisker. The Pareto front is
computed by the caller (sim.experiments.stats.pareto_front) and passed in, so this module needs
nothing from a later stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def kpi_frame(table: pd.DataFrame, kpi: str, key: str) -> pd.DataFrame:
    """Rows of one KPI indexed by `key`, in table order."""
    return table[table["kpi"] == kpi].set_index(key)


def _whiskers(df: pd.DataFrame) -> np.ndarray:
    mean = df["mean"].to_numpy(float)
    err = np.vstack([mean - df["ci_low"].to_numpy(float), df["ci_high"].to_numpy(float) - mean])
    return np.nan_to_num(err, nan=0.0)


def pareto_plot(
    table: pd.DataFrame,
    x: str,
    y: str,
    *,
    key: str = "policy",
    front: Sequence[bool] | np.ndarray | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str = "",
) -> Figure:
    """KPI `y` against KPI `x` per configuration (mean, 95% CI whiskers on both axes), the front joined."""
    fx, fy = kpi_frame(table, x, key), kpi_frame(table, y, key)
    labels = [k for k in fx.index if k in fy.index]
    fx, fy = fx.loc[labels], fy.loc[labels]
    mx, my = fx["mean"].to_numpy(float), fy["mean"].to_numpy(float)
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    ax.errorbar(
        mx,
        my,
        xerr=_whiskers(fx),
        yerr=_whiskers(fy),
        fmt="o",
        color="#2166ac",
        ecolor="#6baed6",
        capsize=3,
        label="mean, 95% CI",
    )
    if front is not None:
        on = np.asarray(front, dtype=bool)
        if on.size == len(labels) and on.any():
            order = np.argsort(mx[on], kind="stable")
            ax.plot(mx[on][order], my[on][order], "--", color="#b2182b", lw=1.2, label="Pareto front")
            ax.scatter(mx[on], my[on], s=80, facecolors="none", edgecolors="#b2182b", zorder=3)
    for lab, a, b in zip(labels, mx, my, strict=True):
        if np.isfinite(a) and np.isfinite(b):
            ax.annotate(str(lab), (a, b), fontsize=8, xytext=(5, 5), textcoords="offset points")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title or f"{ylabel or y} against {xlabel or x}")
    fig.tight_layout()
    return fig


def heatmap(
    table: pd.DataFrame,
    kpi: str,
    rows: str,
    cols: str,
    *,
    row_values: Sequence[Any] | None = None,
    col_values: Sequence[Any] | None = None,
    label: str | None = None,
    percent: bool = False,
    title: str = "",
) -> Figure:
    """Mean of `kpi` over a 2-D grid (`rows` x `cols` columns of the table), each cell annotated with
    its mean and 95% CI half-width; cells with no successful replication are blank."""
    df = table[table["kpi"] == kpi]
    rv = list(row_values) if row_values is not None else list(dict.fromkeys(df[rows]))
    cv = list(col_values) if col_values is not None else list(dict.fromkeys(df[cols]))
    mean = np.full((len(rv), len(cv)), np.nan)
    half = np.full_like(mean, np.nan)
    for _, r in df.iterrows():
        if r[rows] in rv and r[cols] in cv:
            i, j = rv.index(r[rows]), cv.index(r[cols])
            mean[i, j] = r["mean"]
            half[i, j] = (r["ci_high"] - r["ci_low"]) / 2.0
    fig, ax = plt.subplots(figsize=(1.6 * len(cv) + 3.0, 0.9 * len(rv) + 2.2))
    im = ax.imshow(np.ma.masked_invalid(mean), cmap="viridis", aspect="auto")
    fig.colorbar(im, ax=ax, label=label or kpi)
    finite = mean[np.isfinite(mean)]
    mid = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
    for i in range(len(rv)):
        for j in range(len(cv)):
            if not np.isfinite(mean[i, j]):
                continue
            text = f"{mean[i, j]:.1%}" if percent else f"{mean[i, j]:,.3g}"
            if np.isfinite(half[i, j]):
                text += f"\n±{half[i, j]:.1%}" if percent else f"\n±{half[i, j]:,.2g}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="black" if mean[i, j] > mid else "white",
            )
    ax.set_xticks(range(len(cv)), [str(v) for v in cv])
    ax.set_yticks(range(len(rv)), [str(v) for v in rv])
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    ax.set_title(title or f"{label or kpi} (mean, ±95% CI half-width)")
    fig.tight_layout()
    return fig


def sweep_line(
    table: pd.DataFrame,
    kpi: str,
    x: str,
    *,
    values: Sequence[Any] | None = None,
    label: str | None = None,
    title: str = "",
) -> Figure:
    """Mean of `kpi` with 95% CI whiskers against the one swept parameter `x` (in grid order)."""
    df = table[table["kpi"] == kpi]
    xs = list(values) if values is not None else list(dict.fromkeys(df[x]))
    df = df.set_index(x).loc[[v for v in xs if v in set(df[x])]]
    pos = np.arange(len(df))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.errorbar(
        pos,
        df["mean"].to_numpy(float),
        yerr=_whiskers(df),
        fmt="o-",
        color="#2166ac",
        capsize=3,
        label="mean, 95% CI",
    )
    ax.set_xticks(pos, [str(v) for v in df.index], rotation=20, ha="right")
    ax.set_xlabel(x)
    ax.set_ylabel(label or kpi)
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{label or kpi} against {x}")
    fig.tight_layout()
    return fig


def save(fig: Figure, path: Any) -> None:
    """Write a PNG and free the figure (sweeps draw many)."""
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
