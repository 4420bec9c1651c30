"""The reports in a real browser (issue 16 item 4): headless Chromium opens a run report, a compare report
and a sweep report with the network off, and every chart must render (Vega's SVG marks present, as many
as the data say), with no console error, no uncaught exception and no request leaving the page. Each
first screen is saved as a PNG (``SHANGOU_SCREENSHOTS=DIR`` keeps them; default the test's tmp dir).

Skipped, with the reason, when no Chromium is installed (Debian package ``chromium``; ``.ci/run``
installs it) or websocket-client is missing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim.report.html import write_report

pytest.importorskip("websocket", reason="websocket-client not installed (pip install -e '.[dev]')")
from browser import Browser, find_browser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BINARY = find_browser()
if BINARY is None and os.environ.get("SHANGOU_REQUIRE_BROWSER"):
    raise RuntimeError("SHANGOU_REQUIRE_BROWSER is set (CI installed chromium) but no Chromium was found")
pytestmark = pytest.mark.skipif(
    BINARY is None,
    reason="no Chromium found: install the Debian package chromium "
    "(apt-get install chromium) or set SHANGOU_CHROMIUM; the "
    "browser test of the reports is skipped",
)
SELECTORS = {
    "charts": ".vega-chart svg",
    "bars": ".vega-chart svg .mark-rect.role-mark path",
    "symbols": ".vega-chart svg .mark-symbol.role-mark path",
    "shapes": ".vega-chart svg .mark-shape.role-mark path",
    "lines": ".vega-chart svg .mark-line.role-mark path",
    "map_symbols": "#vis-network-map svg .mark-symbol.role-mark path",
    "map_shapes": "#vis-network-map svg .mark-shape.role-mark path",
    "verdict": "p.verdict",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return sim.simulate(
        ROOT / "scenarios" / "toy.yaml", out=tmp_path_factory.mktemp("br") / "run", days=2, report=False
    )


def _copy(src: Path, dst: Path, policy: str, replication: int) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("plots", "report.html"))
    man = json.loads((dst / "manifest.json").read_text())
    man.update(policy=policy, replication=replication)
    (dst / "manifest.json").write_text(json.dumps(man))


@pytest.fixture(scope="module")
def browser() -> Any:
    assert BINARY is not None
    with Browser(BINARY) as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(os.environ.get("SHANGOU_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _open(browser: Any, path: Path, shots: Path, name: str) -> Any:
    res = browser.open_page(path, SELECTORS)
    (shots / f"{name}.png").write_bytes(res.png)
    assert res.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not res.state.get("errors"), res.state
    assert res.state.get("done") == res.state.get("charts") > 0, res.state
    assert res.console_errors == [] and res.exceptions == [], (res.console_errors, res.exceptions)
    assert res.requests == [], res.requests  # nothing fetched: the report is self-contained
    assert res.counts["charts"] == res.state["charts"] and res.counts["verdict"] == 1
    text = browser.evaluate(
        "Array.from(document.querySelectorAll('.vega-chart svg')).map(s => s.textContent).join(' ')"
    )
    assert "undefined" not in text and "NaN" not in text  # every axis label and title resolved to data
    return res


def test_run_report_renders(run: Any, browser: Any, shots: Path) -> None:
    res = _open(browser, write_report(run.path), shots, "run_report")
    n_nodes = len(run.nodes)
    # the toy's national warehouse is far (Shanghai): a city panel and a national panel, each with nodes
    assert res.counts["map_symbols"] == n_nodes + (run.nodes["kind"] != "ndc").sum()
    assert res.counts["map_shapes"] >= 2  # outlines drawn under the nodes
    assert res.counts["bars"] >= 4 * run.kpis["measured_days"]  # the four numbers, one bar per day each


def test_compare_report_renders(run: Any, browser: Any, shots: Path, tmp_path: Path) -> None:
    pols = ("alpha", "beta", "gamma")
    for p in pols:
        for r in range(3):
            _copy(run.path, tmp_path / "runs" / p / f"r{r}", p, r)
    pd.DataFrame({"policy": list(pols), "kpi": ["cost_per_order_cny"] * 3}).to_parquet(
        tmp_path / "comparison.parquet"
    )
    res = _open(browser, write_report(tmp_path), shots, "compare_report")
    assert res.counts["bars"] >= 4 * len(pols)  # ranking bars of four KPIs, one per policy
    assert res.counts["lines"] >= len(pols)  # per-day lines, one per policy


def test_sweep_report_renders(run: Any, browser: Any, shots: Path, tmp_path: Path) -> None:
    values = ("0.1", "0.5")
    rows = []
    for i, v in enumerate(values):
        for key in ("cost_per_order_cny", "perfect_order_rate", "on_time_requested_rate", "lost_sales_rate"):
            base = float(run.kpis.get(key) or 0.5)
            m = base * (1 + 0.1 * i)
            rows.append(
                {
                    "point": f"forecast.error={v}",
                    "forecast.error": v,
                    "kpi": key,
                    "n": 3,
                    "mean": m,
                    "ci_low": m * 0.97,
                    "ci_high": m * 1.03,
                    "diff_mean": np.nan if i == 0 else m - base,
                    "diff_ci_low": np.nan if i == 0 else (m - base) * 0.5,
                    "diff_ci_high": np.nan if i == 0 else (m - base) * 1.5,
                    "diff_n": 0 if i == 0 else 3,
                }
            )
    pd.DataFrame(rows).to_parquet(tmp_path / "sweep.parquet")
    (tmp_path / "experiment.json").write_text(
        json.dumps(
            {
                "scenario": "toy",
                "grid": {"forecast.error": list(values)},
                "replications": 3,
                "seed": 7,
                "days": 2,
            }
        )
    )
    res = _open(browser, write_report(tmp_path), shots, "sweep_report")
    assert res.counts["charts"] == 4 and res.counts["lines"] == 4 and res.counts["symbols"] >= 8
