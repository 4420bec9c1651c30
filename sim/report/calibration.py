"""Calibration: a run's figures held against public ranges (``shangou calibrate``, DESIGN.md 9 and 13).

The targets live in one table, ``sim/data/calibration_targets.csv`` (id, figure, low, high, unit,
source), each row citing ``shared/reference/parameters.md`` "Calibration targets"; an empty bound is
open. Each figure is computed here from the run directory's tables (orders, lines, inventory,
nodes Parquet, kpis.json for network-level costs, the resolved scenario.yaml for the catalog):

- ``near_mean_min`` / ``mid_mean_min`` / ``far_mean_h``: mean creation-to-delivery time of measured
  orders delivered at the tier.
- ``near_on_time_quoted``: delivered <= the ETA quoted to the customer (an orders column
  ``quoted_s``, or the near promise itself under ``tiers.near.quote: eta``); "not measured" while the
  engine quotes no ETA.
- ``near_within_30min`` / ``mid_within_4h``: share of the tier's delivered orders within 30 min / 4 h
  of *ordering*; ``far_on_time``: far deliveries by their promise (next day after the cut-off).
- ``rider_orders_per_day``: near orders delivered / rider-days: kpis.json ``riders.rider_days`` (each
  store-day's most riders on shift, sim/engine/staffing.py) when riders work by the hour, else the
  stores' rider-seconds available over the measured days / the near service span.
- ``rider_cost_per_order``: mean transport cost of delivered near orders (the rider's pay).
- ``spoilage_pct_fresh``: fresh (finite shelf life) units spoiled at any node / fresh units the NDCs
  received from suppliers, over the measured days (a unit is counted once, on entering the network).
- ``fresh_dos_{ndc,fdc,store}``: mean end-of-day fresh units / mean daily outflow (shipped +
  transferred out) per node kind, as ``inventory.days_of_supply`` but fresh SKUs only.
- ``stockout_*``: stock-out lines are lines of measured orders with a preferred node (not a
  coverage gap) that were lost or served slower than requested, or substituted (a lines column
  ``substitute_sku``, not null); substitution and lost shares of those. Substitution is "not
  measured" while lines carry no substitution.
- ``night_share`` / ``night_lost_rate``: measured orders created 21:00-06:00 and their loss rate;
  the target is for flash warehouses open around the clock, so it is "n/a" (not counted) unless
  the near tier serves 24 hours.
- ``peak_multiplier``: orders created on the promotion day / mean of the other simulated days;
  "n/a" for a scenario without promotions.
- ``fulfilment_cost_*``: all costs of the measured days except lost sales and lateness penalties
  (order handling, transport, split; fixed, holding, transfer, spoilage from kpis.json) per
  delivered order, and over the value (qty x unit value) of the delivered orders' lines.
- ``avg_order_value``: mean value of measured orders' lines (all created orders).

With several runs (replications), each figure's mean and Student-t 95% CI; in/out is judged on the
mean. A figure that cannot be measured counts as out (honest: the gate fails until it is measured).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.experiments.stats import summarize
from sim.io.results import RunResult, load_run
from sim.units import DAY, HOUR, MINUTE, parse_clock

TARGET_COLUMNS = ("id", "figure", "low", "high", "unit", "source")
NIGHT = (21 * HOUR, 6 * HOUR)  # night window, local clock: [21:00, 24:00) + [00:00, 06:00)
IN, OUT, NOT_MEASURED, NA = "in", "out", "not measured", "n/a"


@dataclass(frozen=True)
class Target:
    id: str
    figure: str
    low: float | None
    high: float | None
    unit: str
    source: str

    def contains(self, x: float) -> bool:
        return (self.low is None or x >= self.low - 1e-12) and (self.high is None or x <= self.high + 1e-12)

    def range_text(self) -> str:
        def f(v: float) -> str:
            return f"{v:.0%}" if self.unit == "share" else f"{v:g}"

        if self.low is not None and self.high is not None:
            return f"{f(self.low)} - {f(self.high)}"
        return (
            f">= {f(self.low)}"
            if self.low is not None
            else f"<= {f(self.high)}"
            if self.high is not None
            else "any"
        )


def default_targets_path() -> Path:
    return Path(str(resources.files("sim.data").joinpath("calibration_targets.csv")))


def load_targets(path: str | Path | None = None) -> list[Target]:
    """The targets table; ScenarioError (exit 2) naming the file, row and column of a bad cell."""
    p = Path(path) if path is not None else default_targets_path()
    if not p.is_file():
        raise ScenarioError(f"{p}: file not found")
    with p.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        header = tuple(rows[0].keys()) if rows else ()
    missing = [c for c in TARGET_COLUMNS if c not in header]
    if missing:
        raise ScenarioError(f"{p}: missing column(s) {', '.join(missing)}")
    out: list[Target] = []
    seen: set[str] = set()
    for i, r in enumerate(rows, start=2):
        fid = (r["id"] or "").strip()
        if fid not in FIGURES:
            raise ScenarioError(
                f"{p}: row {i}, column id: unknown figure {fid!r} (known: {', '.join(FIGURES)})"
            )
        if fid in seen:
            raise ScenarioError(f"{p}: row {i}, column id: duplicate figure {fid!r}")
        seen.add(fid)
        bounds: list[float | None] = []
        for col in ("low", "high"):
            cell = (r[col] or "").strip()
            try:
                v = float(cell) if cell else None
            except ValueError:
                raise ScenarioError(
                    f"{p}: row {i}, column {col}: expected a number or empty, got {cell!r}"
                ) from None
            if v is not None and not math.isfinite(v):
                raise ScenarioError(f"{p}: row {i}, column {col}: must be finite, got {cell!r}")
            bounds.append(v)
        lo, hi = bounds
        if lo is not None and hi is not None and lo > hi:
            raise ScenarioError(f"{p}: row {i}, column low: {lo:g} is above high {hi:g}")
        out.append(
            Target(fid, r["figure"].strip(), lo, hi, (r["unit"] or "").strip(), (r["source"] or "").strip())
        )
    return out


# --------------------------------------------------------------------------- one run's tables
class RunTables:
    """A run directory's tables with the measured-order / measured-day selections figures share."""

    def __init__(self, run: RunResult) -> None:
        from sim.catalog import build_catalog
        from sim.io.scenario import load_scenario

        self.run = run
        self.sc = load_scenario(run.path / "scenario.yaml")
        cat = build_catalog(self.sc)
        self.value = np.asarray(cat.value_cny, float)
        self.fresh = np.isfinite(np.asarray(cat.shelf_life_s, float))
        o = run.orders
        self.orders = o[~o["warmup"].astype(bool)]
        self.delivered = self.orders[self.orders["status"] == "delivered"]
        self.warmup_days = int(self.sc.horizon.warmup_days)
        self.measured_days = int(run.kpis.get("measured_days", self.sc.horizon.days))
        inv = run.inventory
        d = inv["day"].to_numpy()
        self.inv = inv[(d >= self.warmup_days) & (d < self.warmup_days + self.measured_days)]

    def minutes(self, tier: str) -> pd.Series:
        o = self.delivered[self.delivered["served_tier"] == tier]
        return (o["delivered_s"] - o["created_s"]) / MINUTE

    @cached_property
    def node_kind(self) -> dict[str, str]:
        n = self.run.nodes
        return dict(zip(n["id"], n["kind"], strict=True))

    @cached_property
    def order_value(self) -> pd.Series:
        """Value (qty x unit value) per measured order id, over all its lines."""
        li = self.run.lines
        li = li[li["order_id"].isin(self.orders["order_id"])]
        v = li["qty"].to_numpy() * self.value[li["sku"].to_numpy()]
        return pd.Series(v, index=li["order_id"].to_numpy()).groupby(level=0).sum()


Figure = Callable[[RunTables], "float | None | str"]  # a value, None (not measured) or NA
FIGURES: dict[str, Figure] = {}


def figure(fid: str) -> Callable[[Figure], Figure]:
    def deco(fn: Figure) -> Figure:
        FIGURES[fid] = fn
        return fn

    return deco


def _mean(s: pd.Series) -> float | None:
    return float(s.mean()) if len(s) else None


def _share(mask: pd.Series | np.ndarray) -> float | None:
    m = np.asarray(mask, bool)
    return float(m.mean()) if m.size else None


@figure("near_mean_min")
def _near_mean(t: RunTables) -> float | None:
    return _mean(t.minutes("near"))


@figure("mid_mean_min")
def _mid_mean(t: RunTables) -> float | None:
    return _mean(t.minutes("mid"))


@figure("far_mean_h")
def _far_mean(t: RunTables) -> float | None:
    m = _mean(t.minutes("far"))
    return None if m is None else m / 60.0


@figure("near_on_time_quoted")
def _near_quoted(t: RunTables) -> float | None:
    o = t.delivered[t.delivered["served_tier"] == "near"]
    if "quoted_s" in o.columns:
        return _share(o["delivered_s"] <= o["quoted_s"])
    if t.sc.tiers.near.quote == "eta":  # the near promise (promised_s) is the ETA quoted to the customer
        return _share(o["on_time"])
    return None


@figure("near_within_30min")
def _near_30(t: RunTables) -> float | None:
    return _share(t.minutes("near") <= 30.0)


@figure("mid_within_4h")
def _mid_4h(t: RunTables) -> float | None:
    return _share(t.minutes("mid") <= 240.0)


@figure("far_on_time")
def _far_on_time(t: RunTables) -> float | None:
    o = t.delivered[t.delivered["served_tier"] == "far"]
    return _share(o["on_time"])


@figure("rider_orders_per_day")
def _rider_orders(t: RunTables) -> float | None:
    near_n = int((t.delivered["served_tier"] == "near").sum())
    shifts = (t.run.kpis.get("riders") or {}).get("rider_days")
    if shifts:  # riders by the hour (sim/engine/staffing.py): each store-day's most riders on shift
        return near_n / float(shifts)
    n = t.run.nodes
    if "riders_available_s" not in n.columns:
        return None
    a, b = (parse_clock(c) for c in t.sc.tiers.near.service_hours)
    rider_days = float(n.loc[n["kind"] == "store", "riders_available_s"].sum()) / (b - a)
    near = int((t.delivered["served_tier"] == "near").sum())
    return near / rider_days if rider_days > 0 else None


@figure("rider_cost_per_order")
def _rider_cost(t: RunTables) -> float | None:
    return _mean(t.delivered.loc[t.delivered["served_tier"] == "near", "cost_transport_cny"])


@figure("spoilage_pct_fresh")
def _spoilage(t: RunTables) -> float | None:
    inv = t.inv[t.fresh[t.inv["sku"].to_numpy()]]
    ndc = inv["node_id"].map(t.node_kind) == "ndc"
    received = float(inv.loc[ndc, "received"].sum())
    return float(inv["spoiled"].sum()) / received if received > 0 else None


def _fresh_dos(t: RunTables, kind: str) -> float | None:
    inv = t.inv[t.fresh[t.inv["sku"].to_numpy()]]
    inv = inv[inv["node_id"].map(t.node_kind) == kind]
    out = float((inv["shipped"] + inv["transferred_out"]).sum())
    return float(inv["end"].sum()) / out if out > 0 else None


@figure("fresh_dos_ndc")
def _fresh_dos_ndc(t: RunTables) -> float | None:
    return _fresh_dos(t, "ndc")


@figure("fresh_dos_fdc")
def _fresh_dos_fdc(t: RunTables) -> float | None:
    return _fresh_dos(t, "fdc")


@figure("fresh_dos_store")
def _fresh_dos_store(t: RunTables) -> float | None:
    return _fresh_dos(t, "store")


def _stockout_lines(t: RunTables) -> pd.DataFrame:
    rank = {"near": 0, "mid": 1, "far": 2}
    li = t.run.lines.merge(t.orders[["order_id", "requested_tier"]], on="order_id")
    slower = li["served_tier"].map(rank) > li["requested_tier"].map(rank)
    subst = (
        li["substitute_sku"].notna() if "substitute_sku" in li.columns else pd.Series(False, index=li.index)
    )
    hit = li["preferred_node_id"].notna() & ((li["status"] == "lost") | slower | subst)
    return li.assign(substituted=subst)[hit]


@figure("stockout_substitution_rate")
def _subst(t: RunTables) -> float | None:
    if "substitute_sku" not in t.run.lines.columns:
        return None
    return _share(_stockout_lines(t)["substituted"])


@figure("stockout_lost_rate")
def _stockout_lost(t: RunTables) -> float | None:
    return _share(_stockout_lines(t)["status"] == "lost")


def _night(t: RunTables) -> pd.Series:
    clock = t.orders["created_s"] % DAY
    return (clock >= NIGHT[0]) | (clock < NIGHT[1])


def _around_the_clock(t: RunTables) -> bool:
    a, b = (parse_clock(c) for c in t.sc.tiers.near.service_hours)
    return b - a >= DAY


@figure("night_share")
def _night_share(t: RunTables) -> float | None | str:
    return _share(_night(t)) if _around_the_clock(t) else NA


@figure("night_lost_rate")
def _night_lost(t: RunTables) -> float | None | str:
    if not _around_the_clock(t):
        return NA
    return _share(t.orders.loc[_night(t), "status"] == "lost")


@figure("peak_multiplier")
def _peak(t: RunTables) -> float | None | str:
    promos = t.sc.demand.promotions
    if not promos:
        return NA
    o = t.run.orders
    per_day = np.bincount(
        np.floor(o["created_s"].to_numpy() / DAY).astype(np.int64), minlength=t.warmup_days + t.measured_days
    ).astype(float)
    start = t.sc.horizon.start_date
    peak_days = [(p.date - start).days for p in promos]
    peak_days = [d for d in peak_days if 0 <= d < per_day.size]
    others = np.delete(per_day, peak_days)
    if not peak_days or not others.size or others.mean() <= 0:
        return None
    return float(per_day[peak_days].max() / others.mean())


def _fulfilment_cost(t: RunTables) -> float:
    o = t.orders
    order_part = float(o[["cost_handling_cny", "cost_transport_cny", "cost_split_cny"]].to_numpy().sum())
    cb = t.run.kpis.get("cost_breakdown_cny", {})
    return order_part + sum(
        float(cb.get(k, 0.0) or 0.0) for k in ("fixed", "holding", "transfer", "spoilage")
    )


@figure("fulfilment_cost_per_order")
def _cost_per_order(t: RunTables) -> float | None:
    n = len(t.delivered)
    return _fulfilment_cost(t) / n if n else None


@figure("fulfilment_cost_share")
def _cost_share(t: RunTables) -> float | None:
    value = float(t.order_value.reindex(t.delivered["order_id"]).fillna(0.0).sum())
    return _fulfilment_cost(t) / value if value > 0 else None


@figure("avg_order_value")
def _aov(t: RunTables) -> float | None:
    return float(t.order_value.reindex(t.orders["order_id"]).fillna(0.0).mean()) if len(t.orders) else None


# --------------------------------------------------------------------------- the table
def run_figures(run: RunResult, ids: list[str] | None = None) -> dict[str, float | None | str]:
    """Every figure of one run: a float, None (not measured) or "n/a"."""
    t = RunTables(run)
    return {fid: FIGURES[fid](t) for fid in (ids if ids is not None else FIGURES)}


def calibration_table(runs: list[RunResult], targets: list[Target] | None = None) -> pd.DataFrame:
    """One row per target: value (mean over runs), 95% CI when several, target range, source, status."""
    targets = targets if targets is not None else load_targets()
    ids = [tg.id for tg in targets]
    per_run = [run_figures(r, ids) for r in runs]
    rows: list[dict[str, Any]] = []
    for tg in targets:
        vals = [p[tg.id] for p in per_run]
        if any(v == NA for v in vals):
            mean = lo = hi = math.nan
            status = NA
        elif any(v is None for v in vals) or not vals:
            mean = lo = hi = math.nan
            status = NOT_MEASURED
        else:
            s = summarize([float(v) for v in vals])  # type: ignore[arg-type]
            mean, lo, hi = s.mean, s.ci_low, s.ci_high
            status = IN if tg.contains(mean) else OUT
        rows.append(
            {
                "id": tg.id,
                "figure": tg.figure,
                "value": mean,
                "ci_low": lo,
                "ci_high": hi,
                "unit": tg.unit,
                "low": tg.low,
                "high": tg.high,
                "target": tg.range_text(),
                "status": status,
                "source": tg.source,
            }
        )
    return pd.DataFrame(rows)


def all_in(table: pd.DataFrame) -> bool:
    """True when every applicable figure is in range (not measured counts as out, n/a is skipped)."""
    st = table["status"]
    return bool(((st == IN) | (st == NA)).all())


def format_value(row: pd.Series) -> str:
    """The model value as text, with its CI when there is one."""
    v = row["value"]
    if row["status"] in (NOT_MEASURED, NA) or v != v:
        return str(row["status"])
    share = row["unit"] == "share"

    def f(x: float) -> str:
        return f"{x:.1%}" if share else f"{x:,.2f}"

    text = f(v)
    if row["ci_low"] == row["ci_low"]:
        text += f" [{f(row['ci_low'])}, {f(row['ci_high'])}]"
    return text


def report_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a reader sees it (report.html and the CLI)."""
    return pd.DataFrame(
        {
            "figure": table["figure"],
            "model (95% CI)": [format_value(r) for _, r in table.iterrows()],
            "target": [
                f"{t} {u}".strip()
                for t, u in zip(table["target"], table["unit"].replace("share", ""), strict=True)
            ],
            "in/out": table["status"],
            "source": table["source"],
        }
    )


def calibrate_dirs(paths: list[Path], targets_path: str | Path | None = None) -> pd.DataFrame:
    return calibration_table([load_run(p) for p in paths], load_targets(targets_path))
