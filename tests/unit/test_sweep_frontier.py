"""The sweep report's cost-against-perfect figure: every point, the Pareto front joined (issue #15)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.report.sweep_report import frontier_figure, sweep_report


def _table(points: dict[str, tuple[float, float]]) -> pd.DataFrame:
    rows = []
    for name, (cost, perfect) in points.items():
        for key, m in (("cost_per_order_cny", cost), ("perfect_order_rate", perfect)):
            rows.append(
                {
                    "point": f"router.name={name}",
                    "router.name": name,
                    "kpi": key,
                    "n": 3,
                    "mean": m,
                    "ci_low": m * 0.99,
                    "ci_high": m * 1.01,
                    "diff_mean": np.nan,
                    "diff_ci_low": np.nan,
                    "diff_ci_high": np.nan,
                    "diff_n": 0,
                }
            )
    return pd.DataFrame(rows)


def test_frontier_figure_is_written_with_every_point(tmp_path: Path) -> None:
    table = _table({"flow": (17.0, 0.78), "nearest": (18.0, 0.77), "tier_first": (18.5, 0.79)})
    table.to_parquet(tmp_path / "sweep.parquet")
    (tmp_path / "experiment.json").write_text(
        json.dumps(
            {
                "scenario": "toy",
                "grid": {"router.name": ["flow", "nearest", "tier_first"]},
                "replications": 3,
                "seed": 7,
                "days": 1,
            }
        )
    )
    plots = tmp_path / "plots"
    plots.mkdir()
    html = sweep_report(tmp_path, plots)
    assert 'id="fig-sweep_frontier"' in html and (plots / "sweep_frontier.png").stat().st_size > 1000
    # no cost or no perfect-order rate in the table: no figure
    assert frontier_figure(table[table["kpi"] == "cost_per_order_cny"], ["router.name"], None) == ""
