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
  of *ordering*; for the mid tier, of the orders created when it promises 4 h (the next wave's window
  closes within 4 h: an order after the last cut-off is promised the next morning); ``far_on_time``: far deliveries by their promise (next day after the cut-off).
- ``rider_orders_per_day``: near orders delivered / rider-days: kpis.json ``riders.rider_days`` (each
  store-day's most riders on shift, sim/engine/staffing.py) when riders work by the hour, else the
  stores' rider-seconds available over the measured days / the near service span.
- ``rider_cost_per_order``: mean transport cost of delivered near orders (the rider's pay).
- ``spoilage_pct_fresh``: fresh (finite shelf life) units spoiled at any node / fresh units the NDCs
  received from suppliers, over the measured days (a unit is counted once, on entering the network).
- ``fresh_dos_{ndc,fdc,store}``: mean end-of-day fresh units / mean daily outflow (shipped +
  transferred out) per node kind, as ``inventory.days_of_supply`` but fresh SKUs only.
- ``stockout_*``: stock-out lines are lines of measured orders that met a stock-out, by the routing
  reason the engine records per line (lines ``stockout``, sim/engine/substitution.py
  ``mark_stockouts``: short at every open, in-reach node of the requested tier or faster that had
  capacity for the order), or were substituted (``substitute_sku`` not null), or were dropped (partial
  fulfilment, ``tiers.substitution.drop``: a lost line of a served order); the shares of those lines
  substituted and lost (the study's "substitute" and "buy elsewhere / do not buy"), counted in lines:
  a dropped line is a lost line sale, a line of a lost order too. Lines of orders
  lost or slowed by capacity, hours or reach met no stock-out. Runs without the column fall back to
  every line of a lost or slower order with a preferred node. Substitution is "not measured" while
  lines carry no substitution.
- ``night_share``: of the measured orders served by the stores open around the clock (the flash
  warehouses, as the source counts), the share created 21:00-06:00; ``night_vs_day_loss``: issue
  #13's criterion, the loss rate of
  near-requested orders created 23:00-08:00 over that of those created 08:00-23:00 (<= 1: the night
  no worse than the day). All "n/a" (not counted) unless the near tier serves 24 hours.
- ``peak_multiplier``: orders created on the promotion day / mean of the other simulated days;
  "n/a" for a scenario without promotions.
- ``fulfilment_cost_*``: all-in costs of the measured days except lost sales and lateness penalties
  (order handling, transport, split; fixed, holding, transfer, spoilage from kpis.json), with the
  stores' picking paid as the business pays it, by the pickers' hours on shift (nodes
  ``pickers_available_s`` x ``costs.picker_per_hour_cny``) instead of the seconds they pick, per
  delivered order, and over the value (qty x unit value) of the delivered orders' lines.
- ``avg_order_value``: mean value of the lines of measured instant-retail orders (requested near or
  mid: the sources' population; far parcels are another channel).

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
NEAR_NIGHT = (23 * HOUR, 8 * HOUR)  # issue #13's night for the near tier: [23:00, 24:00) + [00:00, 08:00)
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
    def net(self) -> Any:
        """The run's network, rebuilt from its scenario (deterministic: network streams only)."""
        from sim.network.build import build_network

        return build_network(self.sc)

    @cached_property
    def node_kind(self) -> dict[str, str]:
        n = self.run.nodes
        return dict(zip(n["id"], n["kind"], strict=True))

    def ids_of(self, *kinds: str) -> list[str]:
        """Ids of the nodes of `kinds` (``isin`` of these equals ``map(node_kind).isin(kinds)``, without a
        per-row map)."""
        return [nid for nid, k in self.node_kind.items() if k in kinds]

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


def mid_in_hours(t: RunTables, created_s: pd.Series, hours: float = 4.0) -> np.ndarray:
    """True for an order created when the mid tier can promise `hours`: the next wave's window (its cut-off at or
    after the order, that day) closes within `hours` of the order. An order after the last
    cut-off rides the next day's first wave, promised the next morning, not 4 hours."""
    mid = t.sc.tiers.mid
    cut = np.array([parse_clock(w.cutoff) for w in mid.waves], float)
    end = np.array([parse_clock(w.window[1]) for w in mid.waves], float)
    order = np.argsort(cut, kind="stable")
    cut, end = cut[order], end[order]
    clock = np.asarray(created_s, float) % DAY
    k = np.searchsorted(cut, clock, side="left")
    ok = k < cut.size
    close = np.where(ok, end[np.minimum(k, cut.size - 1)], np.inf)
    return ok & (close - clock <= hours * HOUR + 1e-9)


@figure("mid_within_4h")
def _mid_4h(t: RunTables) -> float | None:
    o = t.delivered[t.delivered["served_tier"] == "mid"]
    o = o[mid_in_hours(t, o["created_s"])]
    return _share((o["delivered_s"] - o["created_s"]) <= 4 * HOUR)


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
    ndc = inv["node_id"].isin(t.ids_of("ndc"))  # map(t.node_kind) == "ndc", vectorised
    received = float(inv.loc[ndc, "received"].sum())
    return float(inv["spoiled"].sum()) / received if received > 0 else None


def _fresh_dos(t: RunTables, kind: str) -> float | None:
    inv = t.inv[t.fresh[t.inv["sku"].to_numpy()]]
    inv = inv[inv["node_id"].isin(t.ids_of(kind))]
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
    li = t.run.lines.merge(
        t.orders[["order_id", "requested_tier", "status"]].rename(columns={"status": "order_status"}),
        on="order_id",
    )
    subst = (
        li["substitute_sku"].notna() if "substitute_sku" in li.columns else pd.Series(False, index=li.index)
    )
    # a line dropped by partial fulfilment (tiers.substitution.drop): lost while the rest of its order is served
    dropped = (li["status"] == "lost") & (li["order_status"] != "lost")
    if "stockout" in li.columns:  # the routing reason per line (sim.engine.substitution.mark_stockouts)
        hit = li["stockout"].astype(bool) | subst | dropped
    else:  # no reason recorded: every line of a lost or slower order with a preferred node
        rank = {"near": 0, "mid": 1, "far": 2}
        slower = li["served_tier"].map(rank) > li["requested_tier"].map(rank)
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


def _night(
    t: RunTables, orders: pd.DataFrame | None = None, window: tuple[float, float] = NIGHT
) -> pd.Series:
    clock = (t.orders if orders is None else orders)["created_s"] % DAY
    return (clock >= window[0]) | (clock < window[1])


def _around_the_clock(t: RunTables) -> bool:
    a, b = (parse_clock(c) for c in t.sc.tiers.near.service_hours)
    return b - a >= DAY


def _stores_24h(t: RunTables) -> set[str]:
    """Ids of the stores open around the clock (their own service_hours, else the near tier's)."""
    net = t.net
    out: set[str] = set()
    for nid, kind, cap in zip(net.node_ids, net.node_kind, net.node_capacity, strict=True):
        hours = getattr(cap, "service_hours", None) or t.sc.tiers.near.service_hours
        a, b = (parse_clock(c) for c in hours)
        if int(kind) == 2 and b - a >= DAY:
            out.add(str(nid))
    return out


@figure("night_share")
def _night_share(t: RunTables) -> float | None | str:
    """Share of the orders served by the 24 h stores (flash warehouses) that were created at night."""
    if not _around_the_clock(t):
        return NA
    flash = _stores_24h(t)
    if not flash:
        return NA
    o = t.orders[t.orders["node_id"].isin(flash)]
    return _share(_night(t, o))


@figure("night_vs_day_loss")
def _night_vs_day(t: RunTables) -> float | None | str:
    """Loss rate of near-requested orders created 23:00-08:00 / the rate of those created 08:00-23:00."""
    if not _around_the_clock(t):
        return NA
    near = t.orders[t.orders["requested_tier"] == "near"]
    night = _night(t, near, NEAR_NIGHT)
    lost = near["status"] == "lost"
    n_rate, d_rate = _share(lost[night]), _share(lost[~night])
    if n_rate is None or d_rate is None:
        return None
    return n_rate / d_rate if d_rate > 0 else (1.0 if n_rate == 0 else math.inf)


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


def _picker_labour(t: RunTables) -> float | None:
    """Pickers' pay as the business pays it, x ``costs.picker_per_hour_cny``: at stores, their hours on shift
    (nodes ``pickers_available_s``, measured days); at FDCs, pickers x the hours their wave capacity counts on
    (sim/engine/warehouse.py: from 00:00 to the last cut-off) x measured days. None when no store picker hours."""
    n = t.run.nodes
    if "pickers_available_s" not in n.columns:
        return None
    hours = float(n.loc[n["kind"] == "store", "pickers_available_s"].fillna(0.0).sum()) / HOUR
    if hours <= 0:
        return None
    cuts = [parse_clock(w.cutoff) for w in t.sc.tiers.mid.waves]
    if cuts:
        fdc_pickers = sum(
            float(getattr(c, "pickers", 0))
            for k, c in zip(t.net.node_kind, t.net.node_capacity, strict=True)
            if int(k) == 1
        )
        hours += fdc_pickers * max(cuts) / HOUR * t.measured_days
    return hours * float(t.sc.costs.picker_per_hour_cny)


def _fulfilment_cost(t: RunTables) -> float:
    """All-in (picking labour, rent, delivery, stock): the orders' transport and split costs, their handling
    (picking) with the stores' part replaced by the pickers' hours on shift (a store pays its pickers for the
    shift, not for the seconds they pick; the engine's per-order handling is the marginal cost its router
    weighs), plus the network's fixed (rent and base staff), holding, transfer and spoilage costs."""
    o = t.orders
    order_part = float(o[["cost_handling_cny", "cost_transport_cny", "cost_split_cny"]].to_numpy().sum())
    labour = _picker_labour(t)
    if labour is not None:
        picked = o["node_id"].isin(t.ids_of("store", "fdc"))
        order_part += labour - float(o.loc[picked, "cost_handling_cny"].sum())
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
    """Mean value of the instant-retail orders (requested near or mid), the population of the sources (Meituan,
    Dingdong, Hema); next-day parcels (far) are a different channel."""
    o = t.orders[t.orders["requested_tier"].isin(["near", "mid"])]
    return float(t.order_value.reindex(o["order_id"]).fillna(0.0).mean()) if len(o) else None


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
