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

from pathlib import Path

from sim.errors import ScenarioError
from sim.io.query import is_run_dir
from sim.report.markup import (  # re-exported: the building blocks live in sim.report.markup
    COMPARE_SECTIONS,
    CSS,
    PLOTS_DIR,
    REPORT,
    RUN_FIGURES,
    RUN_SECTIONS,
    _write_atomic,
    df_table,
    esc,
    figure_html,
    files_section,
    kv_table,
    page,
    png_base64,
    section,
)

__all__ = [
    "COMPARE_SECTIONS",
    "CSS",
    "PLOTS_DIR",
    "REPORT",
    "RUN_FIGURES",
    "RUN_SECTIONS",
    "df_table",
    "esc",
    "figure_html",
    "files_section",
    "kv_table",
    "page",
    "png_base64",
    "section",
    "write_report",
]


def write_report(path: str | Path, baseline: str | None = None) -> Path:
    """(Re)write DIR/report.html and DIR/plots/*.png for a run or comparison directory; returns the report path.
    `baseline`: the policy a comparison's differences are taken to (default its first; refused if unknown)."""
    root = Path(path)
    if (root / "comparison.parquet").is_file():
        from sim.report.compare_report import comparison_report  # these build on this module's helpers

        text = comparison_report(root, root / PLOTS_DIR, baseline=baseline)
    elif (root / "sweep.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.sweep_report import sweep_report

        text = sweep_report(root, root / PLOTS_DIR)
    elif (root / "levels.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.decide_report import staff_report

        text = staff_report(root, root / PLOTS_DIR)
    elif (root / "promise.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.decide_report import promise_report

        text = promise_report(root, root / PLOTS_DIR)
    elif (root / "sites.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.decide_report import sites_report

        text = sites_report(root, root / PLOTS_DIR)
    elif (root / "trials.parquet").is_file() and (root / "experiment.json").is_file():
        from sim.report.decide_report import optimize_report  # it builds on this module's helpers

        text = optimize_report(root, root / PLOTS_DIR)
    elif is_run_dir(root):
        from sim.report.run_report import run_report

        text = run_report(root, root / PLOTS_DIR)
    else:
        raise ScenarioError(
            f"{root}: not a run directory (no manifest.json, kpis.json and Parquet files) "
            "and not a comparison or sweep directory (no comparison.parquet or sweep.parquet)"
        )
    target = root / REPORT
    _write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))
    return target
