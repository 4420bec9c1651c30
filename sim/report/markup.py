"""HTML building blocks of the self-contained reports (run, comparison, sweep, decisions): the sections'
names, escaping, tables, embedded figures, the page, the files section. No report logic here, so every
report module builds on it and ``sim.report.html`` (the dispatcher) imports them without a cycle."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim import __version__
from sim.io.files import write_atomic
from sim.report import result_plots as rp

REPORT = "report.html"
PLOTS_DIR = "plots"
RUN_SECTIONS = (
    "headline",
    "by-day",
    "by-city",
    "map",
    "summary",
    "method",
    "kpis",
    "calibration",
    "plots",
    "stockouts",
    "files",
)
COMPARE_SECTIONS = (
    "verdict",
    "ranking",
    "per-day",
    "per-tier",
    "compare-plots",
    "summary",
    "method",
    "crn",
    "runs",
    "comparison-table",
    "files",
)
RUN_FIGURES: tuple[tuple[str, str, Callable[[Any], Figure], str], ...] = (
    (
        "tier_share",
        "Served tier over the day",
        rp.tier_share_by_hour,
        "Share of delivered orders per served tier by the hour they were created; the black line is the share of "
        "that hour's orders lost.",
    ),
    (
        "delivery_times",
        "Delivery time by tier",
        rp.delivery_times,
        "Creation-to-delivery time per served tier, with each order's promise (outline) and the median promise.",
    ),
    (
        "service_by_hour",
        "On-time and perfect-order rate per hour",
        rp.service_by_hour,
        "On time is of delivered orders; perfect (on time, complete, unsplit, requested tier or faster) of created.",
    ),
    (
        "cost_breakdown",
        "Cost per order",
        rp.cost_breakdown,
        "All costs of the measured days per created order; inventory = holding + spoilage + transfer, transport "
        "includes split shipments.",
    ),
    (
        "inventory",
        "Inventory by echelon",
        rp.inventory_by_echelon,
        "Units on hand at the end of each simulated day, per echelon.",
    ),
    (
        "node_map",
        "Nodes",
        rp.node_map,
        "Nodes on their coordinates: marker area = measured orders served, colour = utilisation of the busiest "
        "resource (pickers, riders or vans).",
    ),
)
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4;text-align:left}td.n{text-align:right}figure{margin:1em 0}img{max-width:100%}
figcaption{color:#555;font-size:.9em}pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.8em}
.muted{color:#777;font-size:.85em}nav a{margin-right:1em}
.verdict{font-size:1.2em;line-height:1.45;background:#f3f6fa;border-left:5px solid #4a78b0;padding:.6em .9em}
.cards{display:flex;flex-wrap:wrap;gap:.7em;margin:.8em 0}.card{flex:1 1 180px;border:1px solid #ddd;
border-radius:6px;padding:.6em .8em;background:#fff}.card .lab{font-size:.85em;color:#555}
.card .val{font-size:1.9em;font-weight:600;margin:.1em 0}.card .det{font-size:.78em;color:#666}
.card .tgt{font-size:.85em;margin-top:.3em}.card.met{border-top:5px solid #1b7837}
.card.missed{border-top:5px solid #b2182b}.scroll{overflow-x:auto;max-width:100%}
td.best{background:#e7f4e4}.vega-chart{max-width:100%;overflow-x:auto}
"""


# --------------------------------------------------------------------------- html helpers
def esc(text: Any) -> str:
    """HTML-escape, and break every '//' so no URL (http://, //cdn) survives from user text."""
    return html.escape(str(text)).replace("//", "/&#47;")


def png_base64(fig: Figure, dpi: int = 90) -> tuple[bytes, str]:
    """The figure as PNG bytes and base64 text (re-rendered in the unlikely case the text contains '//cdn')."""
    for i in range(3):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi + i, metadata={"Software": None})
        data = buf.getvalue()
        text = base64.b64encode(data).decode("ascii")
        if "//cdn" not in text.lower():
            break
    return data, text


def kv_table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def df_table(df: pd.DataFrame, max_rows: int = 200) -> str:
    if df is None or df.empty:
        return '<p class="muted">(none)</p>'
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        cells = "".join(
            f'<td class="n">{esc(_fmt(v))}</td>'
            if isinstance(v, int | float) and not isinstance(v, bool)
            else f"<td>{esc(_fmt(v))}</td>"
            for v in rec
        )
        rows.append(f"<tr>{cells}</tr>")
    more = f'<p class="muted">... {len(df) - max_rows:,} more rows</p>' if len(df) > max_rows else ""
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(rows)}</table></div>{more}'


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
    return str(v)


def section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{esc(title)}</h2>{body}</section>'


def figure_html(name: str, title: str, fig: Figure, caption: str, plots_dir: Path | None) -> str:
    """An embedded figure; also written to plots_dir/<name>.png when given."""
    data, text = png_base64(fig)
    if plots_dir is not None:
        _write_atomic(plots_dir / f"{name}.png", lambda p: p.write_bytes(data))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return (
        f'<figure id="fig-{esc(name)}"><h3>{esc(title)}</h3><img alt="{esc(title)}" '
        f'src="data:image/png;base64,{text}"><figcaption>{esc(caption)}</figcaption></figure>'
    )


def page(title: str, sections: list[str], nav: Iterable[tuple[str, str]], scripts: str = "") -> str:
    """The whole document; `scripts` (the chart library and loader, sim.report.vega) goes last."""
    links = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label in nav)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>"
        f'<p class="muted">Shangou {esc(__version__)} report, written {stamp}; self-contained (no network).</p>'
        f"<nav>{links}</nav>{''.join(sections)}{scripts}</body></html>\n"
    )


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, write)


def files_section(root: Path, man: dict[str, Any], yaml_text: str) -> str:
    body = (
        f"<p>Reproduce this run with <code>shangou run {esc(root / 'scenario.yaml')} --replication "
        f"{esc(man.get('replication', 0))}</code> (the resolved scenario, every default filled in).</p>"
        f"<details><summary>manifest.json</summary><pre>{esc(json.dumps(man, indent=2, sort_keys=True))}</pre>"
        f"</details><details><summary>scenario.yaml</summary><pre>{esc(yaml_text)}</pre></details>"
    )
    return section("files", "Files", body)
