"""Interactive charts of a run, a comparison and a sweep, as Altair (Vega-Lite) charts.

Labels and units come from the KPI registry. Every function takes plain DataFrames (built by the
report modules) and returns an Altair chart; ``sim.report.vega`` embeds it. Tooltips carry the
exact values, so reading a bar needs no table. Peak day = the measured day with the most orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from sim.metrics import registry as reg
from sim.report import basemap

GOOD, BAD, NEUTRAL, PEAK = "#1b7837", "#b2182b", "#4a78b0", "#f4a582"
KIND_SHAPE = {"ndc": "square", "fdc": "triangle-up", "store": "circle"}
WIDTH = 170


def _axis_format(key: str) -> str:
    return ".0%" if reg.get(key).percent else ",.2f" if reg.get(key).unit == "CNY" else ",.1f"


def _tip_format(key: str) -> str:
    return ".1%" if reg.get(key).percent else ",.2f"


# --------------------------------------------------------------------------- a run
def headline_days(days: pd.DataFrame, keys: Sequence[str], targets: dict[str, float]) -> Any:
    """One small panel per headline KPI: its value per measured day (bars; the peak day outlined),
    and the scenario's target as a dashed rule when one is set. `days`: day, date, orders, one
    column per key."""
    d = days.copy()
    d["label"] = d["date"].fillna(d["day"].astype(str)) if "date" in d else d["day"].astype(str)
    d["peak"] = np.where(d["orders"] == d["orders"].max(), "peak day (most orders)", "other days")
    panels = []
    for key in keys:
        k = reg.get(key)
        base = alt.Chart(d).encode(x=alt.X("label:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)))
        bars = base.mark_bar(color=NEUTRAL).encode(
            y=alt.Y(f"{key}:Q", title=k.label_unit, axis=alt.Axis(format=_axis_format(key))),
            stroke=alt.Stroke(
                "peak:N",
                scale=alt.Scale(
                    domain=["peak day (most orders)", "other days"], range=["#000000", "transparent"]
                ),
                legend=None,
            ),
            strokeWidth=alt.value(2),
            tooltip=[
                alt.Tooltip("label:N", title="day"),
                alt.Tooltip("orders:Q", title="orders", format=","),
                alt.Tooltip(f"{key}:Q", title=k.label, format=_tip_format(key)),
            ],
        )
        layers: list[Any] = [bars]
        if key in targets:
            rule = (
                alt.Chart(pd.DataFrame({"target": [targets[key]]}))
                .mark_rule(color=BAD, strokeDash=[5, 3], size=2)
                .encode(
                    y="target:Q",
                    tooltip=[
                        alt.Tooltip(
                            "target:Q",
                            title=f"target ({'at least' if k.better == 'higher' else 'at most'})",
                            format=_tip_format(key),
                        )
                    ],
                )
            )
            layers.append(rule)
        panels.append(alt.layer(*layers).properties(width=max(WIDTH, 34 * len(d)), height=150, title=k.label))
    return alt.hconcat(*panels).resolve_scale(y="independent")


def _node_layer(nodes: pd.DataFrame, metric: alt.Parameter, projection: dict[str, Any], size: int) -> Any:
    cols: list[Any] = ["orders", "lost_lines", "utilisation"]
    return (
        alt.Chart(nodes)
        .transform_fold(cols, as_=["metric", "value"])
        .transform_filter(alt.datum.metric == metric)
        .mark_point(filled=True, opacity=0.9, stroke="#333333", strokeWidth=0.6)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            shape=alt.Shape(
                "kind:N",
                scale=alt.Scale(domain=list(KIND_SHAPE), range=list(KIND_SHAPE.values())),
                title="node kind",
            ),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="viridis"), title="colour = chosen KPI"),
            size=alt.condition(alt.datum.kind == "store", alt.value(size), alt.value(size * 4)),
            tooltip=[
                alt.Tooltip("id:N", title="node"),
                alt.Tooltip("kind:N"),
                alt.Tooltip("city:N"),
                alt.Tooltip("orders:Q", title="orders served", format=","),
                alt.Tooltip("lost_lines:Q", title="lost or downgraded lines (stock-outs)", format=","),
                alt.Tooltip("utilisation:Q", title="busiest resource utilisation", format=".1%"),
            ],
        )
        .project(**projection)
    )


def _base(features: list[dict[str, Any]], projection: dict[str, Any], stroke: str = "#ffffff") -> alt.Chart:
    return (
        alt.Chart(alt.Data(values=features))
        .mark_geoshape(fill="#e9e6df", stroke=stroke, strokeWidth=0.8, clip=True)
        .encode(tooltip=[alt.Tooltip("properties.name:N", title="area")])
        .project(**projection)
    )


def _fit(bbox: tuple[float, ...], width: int, height: int) -> dict[str, Any]:
    x0, y0, x1, y1 = bbox
    # corners as points: a polygon's winding would decide whether it means the box or the rest of the globe
    frame = {
        "type": "Feature",
        "geometry": {"type": "MultiPoint", "coordinates": [[x0, y0], [x1, y1]]},
        "properties": {},
    }
    return {"type": "mercator", "fit": frame}


def far_nodes(nodes: pd.DataFrame) -> np.ndarray:
    """Nodes far from where the orders are (e.g. a national warehouse 1,000 km away): farther from
    the stores' median than three times the stores' own spread and than 1 degree."""
    core = nodes[nodes["kind"] == "store"] if (nodes["kind"] == "store").any() else nodes
    cx, cy = float(core["lon"].median()), float(core["lat"].median())
    d = np.hypot(nodes["lon"].to_numpy(float) - cx, nodes["lat"].to_numpy(float) - cy)
    spread = float(np.percentile(np.hypot(core["lon"] - cx, core["lat"] - cy), 95)) if len(core) else 0.0
    return np.asarray(d > max(3 * spread, 1.0))


def network_map(nodes: pd.DataFrame) -> Any:
    """Nodes on province / prefecture outlines, coloured by a KPI chosen in a drop-down (orders served,
    stock-outs = lost or downgraded lines preferring the node, utilisation of its busiest resource).
    Nodes far from the orders get their own national panel beside the city panel."""
    metric = alt.param(
        name="kpi",
        value="lost_lines",
        bind=alt.binding_select(
            options=["lost_lines", "orders", "utilisation"],
            name="colour nodes by ",
            labels=["stock-outs (lost or downgraded lines)", "orders served", "utilisation"],
        ),
    )
    far = far_nodes(nodes)
    near = nodes[~far]
    bbox = basemap.pad(
        (
            float(near["lon"].min()),
            float(near["lat"].min()),
            float(near["lon"].max()),
            float(near["lat"].max()),
        ),
        0.15,
        0.25,
    )
    w, h = 560, 420
    proj = _fit(bbox, w, h)
    main = (
        alt.layer(_base(basemap.outlines(bbox, "prefecture"), proj), _node_layer(near, metric, proj, 40))
        .properties(width=w, height=h, title="where the orders are")
        .add_params(metric)
    )
    if not far.any():
        return alt.vconcat(main)
    allbox = basemap.pad(
        (
            float(nodes["lon"].min()),
            float(nodes["lat"].min()),
            float(nodes["lon"].max()),
            float(nodes["lat"].max()),
        ),
        0.15,
        1.0,
    )
    pw, ph = 300, 300
    pproj = _fit(allbox, pw, ph)
    x0, y0, x1, y1 = bbox
    frame = pd.DataFrame({"lon": [x0, x1, x1, x0, x0], "lat": [y0, y0, y1, y1, y0], "i": range(5)})
    box = (
        alt.Chart(frame)
        .mark_line(color=BAD)
        .encode(longitude="lon:Q", latitude="lat:Q", order="i:O")
        .project(**pproj)
    )
    national = alt.layer(
        _base(basemap.outlines(allbox, "province"), pproj, "#bbbbbb"),
        box,
        _node_layer(nodes, metric, pproj, 25),
    ).properties(
        width=pw, height=ph, title=f"whole network ({int(far.sum())} far node(s); red box = left panel)"
    )
    return alt.hconcat(main, national)


# --------------------------------------------------------------------------- comparisons and sweeps
def ranking_bars(rows: pd.DataFrame, key: str, name: str = "policy", baseline: str | None = None) -> Any:
    """Mean per configuration with 95% CI whiskers, in the rows' order (the ranking); the best and
    the baseline marked. `rows`: name, mean, ci_low, ci_high, in ranking order."""
    k = reg.get(key)
    d = rows.assign(
        role=[
            ("best" if i == 0 else "baseline" if r == baseline else "other") for i, r in enumerate(rows[name])
        ]
    )
    order = list(d[name])
    y = alt.Y(f"{name}:N", sort=order, title=None)
    bars = (
        alt.Chart(d)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("mean:Q", title=k.label_unit, axis=alt.Axis(format=_axis_format(key))),
            color=alt.Color(
                "role:N",
                scale=alt.Scale(domain=["best", "baseline", "other"], range=[GOOD, "#888888", NEUTRAL]),
                title=None,
            ),
            tooltip=[
                alt.Tooltip(f"{name}:N"),
                alt.Tooltip("mean:Q", format=_tip_format(key)),
                alt.Tooltip("ci_low:Q", title="95% CI low", format=_tip_format(key)),
                alt.Tooltip("ci_high:Q", title="95% CI high", format=_tip_format(key)),
            ],
        )
    )
    whisk = (
        alt.Chart(d)
        .mark_errorbar(color="#222222")
        .encode(y=y, x=alt.X("ci_low:Q", title=k.label_unit), x2="ci_high:Q")
    )
    return alt.layer(bars, whisk).properties(width=380, height=max(60, 26 * len(d)), title=k.label_unit)


def per_day_lines(days: pd.DataFrame, key: str, name: str = "policy") -> Any:
    """KPI per measured day per configuration (mean line, 95% CI band), the peak day shaded.
    `days`: name, day, mean, ci_low, ci_high, orders (mean orders of the day)."""
    k = reg.get(key)
    x = alt.X("day:O", title="measured day")
    colour = alt.Color(f"{name}:N", title=None)
    band = (
        alt.Chart(days)
        .mark_errorband(opacity=0.2)
        .encode(x=x, y=alt.Y("ci_low:Q", title=k.label_unit), y2="ci_high:Q", color=colour)
    )
    line = (
        alt.Chart(days)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                "mean:Q",
                title=k.label_unit,
                axis=alt.Axis(format=_axis_format(key)),
                scale=alt.Scale(zero=False),
            ),
            color=colour,
            tooltip=[
                alt.Tooltip(f"{name}:N"),
                alt.Tooltip("day:O"),
                alt.Tooltip("mean:Q", format=_tip_format(key)),
                alt.Tooltip("ci_low:Q", format=_tip_format(key)),
                alt.Tooltip("ci_high:Q", format=_tip_format(key)),
            ],
        )
    )
    peak = days.groupby("day")["orders"].mean()
    mark = pd.DataFrame({"day": [peak.idxmax()] if len(peak) else [], "what": "peak day (most orders)"})
    rule = alt.Chart(mark).mark_rule(color=PEAK, size=14, opacity=0.5).encode(x="day:O", tooltip=["what:N"])
    return alt.layer(rule, band, line).properties(width=360, height=200, title=f"{k.label} per day")


def per_tier_bars(tiers: pd.DataFrame, name: str = "policy", order: Sequence[str] = ()) -> Any:
    """Per configuration and served tier: share of delivered orders and on-time rate of that tier's
    delivered orders (means over replications). `tiers`: name, tier, share, on_time_rate."""
    common = {
        "y": alt.Y(f"{name}:N", sort=list(order) or None, title=None),
        "color": alt.Color(
            "tier:N", scale=alt.Scale(domain=["near", "mid", "far"], range=["#1b9e77", "#7570b3", "#d95f02"])
        ),
    }
    share = (
        alt.Chart(tiers)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", stack="zero", title="share of delivered orders", axis=alt.Axis(format=".0%")),
            tooltip=[f"{name}:N", "tier:N", alt.Tooltip("share:Q", format=".1%")],
            **common,
        )
        .properties(width=300, height=max(60, 26 * tiers[name].nunique()), title="served tier mix")
    )
    ontime = (
        alt.Chart(tiers)
        .mark_bar()
        .encode(
            x=alt.X(
                "on_time_rate:Q",
                title="on time (of the tier's delivered orders)",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            yOffset="tier:N",
            tooltip=[f"{name}:N", "tier:N", alt.Tooltip("on_time_rate:Q", format=".1%")],
            **common,
        )
        .properties(width=300, height=max(60, 26 * tiers[name].nunique()), title="on time per tier")
    )
    return alt.hconcat(share, ontime)


def field(name: str) -> str:
    """A column name as a Vega-Lite field: dots and brackets escaped (``forecast.error`` is one column)."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def sweep_chart(table: pd.DataFrame, key: str, axes: Sequence[str]) -> Any:
    """A 1-D grid: mean with CI whiskers against the parameter; 2-D: a heat map with values in tooltips."""
    k = reg.get(key)
    d = table[table["kpi"] == key].copy()
    if len(axes) >= 2:
        a, b = field(axes[0]), field(axes[1])
        return (
            alt.Chart(d)
            .mark_rect()
            .encode(
                x=alt.X(f"{b}:N", sort=None, title=axes[1]),
                y=alt.Y(f"{a}:N", sort=None, title=axes[0]),
                color=alt.Color("mean:Q", title=k.label_unit, scale=alt.Scale(scheme="viridis")),
                tooltip=[
                    f"{a}:N",
                    f"{b}:N",
                    alt.Tooltip("mean:Q", format=_tip_format(key)),
                    alt.Tooltip("ci_low:Q", format=_tip_format(key)),
                    alt.Tooltip("ci_high:Q", format=_tip_format(key)),
                ],
            )
            .properties(width=300, height=220, title=k.label_unit)
        )
    a = field(axes[0])
    x = alt.X(f"{a}:N", sort=None, title=axes[0])
    line = (
        alt.Chart(d)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                "mean:Q",
                title=k.label_unit,
                axis=alt.Axis(format=_axis_format(key)),
                scale=alt.Scale(zero=False),
            ),
            tooltip=[
                f"{a}:N",
                alt.Tooltip("mean:Q", format=_tip_format(key)),
                alt.Tooltip("ci_low:Q", format=_tip_format(key)),
                alt.Tooltip("ci_high:Q", format=_tip_format(key)),
            ],
        )
    )
    whisk = alt.Chart(d).mark_errorbar().encode(x=x, y=alt.Y("ci_low:Q", title=k.label_unit), y2="ci_high:Q")
    return alt.layer(whisk, line).properties(width=300, height=200, title=k.label_unit)
