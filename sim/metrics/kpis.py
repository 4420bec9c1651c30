"""Headline KPIs of a run (the kpis.json of DESIGN.md 10) from the engine's RunRecords.

Scope. Order KPIs are over *measured* orders (``warmup`` False). Network-level figures (fixed,
holding, transfer, spoilage costs; inventory) are over the *measured days*: day indices
``warmup_days .. warmup_days + measured_days - 1`` of ``DayRecords`` / ``InventoryRecords`` that
are not flagged warm-up. Drain days (after the measured days, no new orders) are not measured
days, with one exception: their ``lost_sales`` cost is counted, because only measured orders can
still be lost then, and leaving it out would make a policy that loses orders late look cheaper.
An order's day is ``floor(created_s / 86400)``.

Denominators. Every headline rate is over measured orders *created* (``orders``), so rates of
the same run add up (delivered + lost + open orders = 1): ``perfect_order_rate``,
``requested_tier_rate`` (delivered at the requested tier or faster), ``lost_sales_rate``,
``downgrade_rate`` (orders flagged downgraded), ``split_rate`` (delivered with more than one
shipment) and ``local_fulfilment_rate`` (delivered from a node in the order's own city).
``line_fill_rate`` is delivered lines / lines of measured orders. Per-tier figures are over
*delivered* orders: ``share`` of delivered orders served at the tier (0.0 when the tier served
none; None only when nothing was delivered), ``on_time_rate`` and creation-to-delivery
percentiles in minutes (None when the tier served no order), ``mean_min`` and ``within_promise_rate``:
the share delivered within the tier's nominal promise (near: ``tiers.near.promise_min`` minutes from
creation, passed as ``meta["near_promise_min"]``; mid and far: their own deadline, so it equals their
on-time rate). ``on_time_rate`` is against ``promised_s``, which for near is the quoted ETA when
``tiers.near.quote`` is ``eta`` (and the nominal promise otherwise); the perfect-order rate uses the
same deadline. ``by_day.on_time_rate`` is on-time
/ delivered orders of the day.

Every number is a plain Python int/float or None (JSON null), never NaN.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from sim.records import DAILY_COSTS, DELIVERED, LOST, OPEN, TIER_NAMES, RunRecords
from sim.units import DAY, MINUTE
from sim.vocab import KIND_NAMES

RESOURCES = ("pickers", "riders", "vans")
ORDER_COSTS = ("handling", "transport", "split", "penalty")


def num(x: Any) -> float | None:
    """A plain float, or None for NaN/inf/None (JSON has no NaN)."""
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def rate(numerator: Any, denominator: Any) -> float | None:
    """numerator / denominator as a float, None when the denominator is 0."""
    return float(numerator) / float(denominator) if denominator else None


def measured_days(records: RunRecords) -> range:
    """Day indices of the measured days (after warm-up, before drain)."""
    return range(records.warmup_days, records.warmup_days + records.measured_days)


class _OrderFlags:
    """Per-order boolean columns every KPI group needs, computed once."""

    def __init__(self, records: RunRecords, node_city: np.ndarray) -> None:
        o = records.orders
        self.measured = ~np.asarray(o.warmup, bool)
        self.delivered = o.status == DELIVERED
        self.lost = o.status == LOST
        self.open = o.status == OPEN
        self.on_time = o.on_time
        self.perfect = o.perfect
        self.at_tier = self.delivered & (o.served_tier >= 0) & (o.served_tier <= o.requested_tier)
        self.split = self.delivered & (o.n_shipments > 1)
        served_city = (
            np.where(o.node >= 0, node_city[np.clip(o.node, 0, None)], -1)
            if len(node_city)
            else np.full(o.n, -1)
        )
        self.local = self.delivered & (served_city == o.city)
        self.downgraded = np.asarray(o.downgraded, bool)
        self.day = np.floor(o.created_s / DAY).astype(np.int64)
        self.cost = o.cost

    def headline(self, sel: np.ndarray) -> dict[str, Any]:
        """The rates shared by the headline, by_day and by_city, over the orders in `sel`."""
        n = int(sel.sum())
        return {
            "orders": n,
            "perfect_order_rate": rate((self.perfect & sel).sum(), n),
            "requested_tier_rate": rate((self.at_tier & sel).sum(), n),
            "lost_sales_rate": rate((self.lost & sel).sum(), n),
            "local_fulfilment_rate": rate((self.local & sel).sum(), n),
        }


def _daily_costs(records: RunRecords) -> tuple[dict[str, float], dict[int, float]]:
    """Network-level costs: totals over the measured days (+ drain lost sales), and all kinds per day."""
    d = records.days
    day = np.asarray(d.day, np.int64)
    not_warm = ~np.asarray(d.warmup, bool)
    days = measured_days(records)
    in_measured = not_warm & (day >= days.start) & (day < days.stop)
    drain = not_warm & (day >= days.stop)
    totals: dict[str, float] = {}
    per_day = dict.fromkeys(days, 0.0)
    for kind in (*DAILY_COSTS, *(k for k in d.costs if k not in DAILY_COSTS)):  # + rider_idle (issue #13)
        c = np.asarray(d.costs.get(kind, np.zeros(len(day))), float)
        sel = in_measured | drain if kind == "lost_sales" else in_measured
        totals[kind] = float(c[sel].sum())
        for i in np.flatnonzero(in_measured):
            per_day[int(day[i])] += float(c[i])
    return totals, per_day


def _tiers(
    records: RunRecords, f: _OrderFlags, near_promise_min: float | None
) -> dict[str, dict[str, float | None]]:
    o = records.orders
    dlv = f.measured & f.delivered
    n_dlv = int(dlv.sum())
    out: dict[str, dict[str, float | None]] = {}
    for code, name in enumerate(TIER_NAMES):
        sel = dlv & (o.served_tier == code)
        n = int(sel.sum())
        share = rate(n, n_dlv)
        if n == 0:
            out[name] = {
                "share": share,
                "on_time_rate": None,
                "p50_min": None,
                "p90_min": None,
                "p99_min": None,
                "mean_min": None,
                "within_promise_rate": None,
            }
            continue
        minutes = (o.delivered_s[sel] - o.created_s[sel]) / MINUTE
        p50, p90, p99 = np.percentile(minutes, [50, 90, 99])
        # the nominal promise: near's advertised minutes; mid and far are judged by their own deadline
        within = (
            minutes <= near_promise_min + 1e-9
            if code == 0 and near_promise_min is not None
            else o.delivered_s[sel] <= o.promised_s[sel] + 1e-6
        )
        out[name] = {
            "share": share,
            "on_time_rate": rate((f.on_time & sel).sum(), n),
            "p50_min": num(p50),
            "p90_min": num(p90),
            "p99_min": num(p99),
            "mean_min": num(minutes.mean()),
            "within_promise_rate": rate(within.sum(), n),
        }
    return out


def _riders(records: RunRecords, f: _OrderFlags, daily: dict[str, float]) -> dict[str, Any]:
    """Issue #13: near orders per rider-day and per rider-hour on shift, rider cost per near order (trip
    pay of near orders + idle shift pay in fleet mode), rider utilisation by hour of day."""
    r = records.riders or {}
    o = records.orders
    near = f.measured & f.delivered & (o.served_tier == 0)
    n = int(near.sum())
    pay = float(o.cost_transport[near].sum()) + daily.get("rider_idle", 0.0)
    return {
        "near_orders": n,
        "rider_days": num(r.get("rider_days")),
        "rider_hours": num(r.get("rider_hours")),
        "orders_per_rider_day": rate(n, r.get("rider_days")),
        "orders_per_rider_hour": rate(n, r.get("rider_hours")),
        "hours_per_rider_day": rate(r.get("rider_hours"), r.get("rider_days")),
        "utilisation": rate(r.get("busy_hours"), r.get("rider_hours")),
        "cost_per_near_order_cny": rate(pay, n),
        "utilisation_by_hour": r.get("utilisation_by_hour"),
    }


def _utilisation(records: RunRecords) -> dict[str, float | None]:
    """Busy / available seconds summed over nodes, per resource (None when none was available)."""
    nr = records.nodes
    out: dict[str, float | None] = {}
    for r in RESOURCES:
        busy, avail = nr.busy_s.get(r), nr.available_s.get(r)
        out[r] = None if busy is None or avail is None else rate(np.sum(busy), np.sum(avail))
    return out


def _inventory(records: RunRecords, node_kind: np.ndarray, sku_value_cny: np.ndarray) -> dict[str, Any]:
    """Average end-of-day units and value per echelon over the measured days, and days of supply."""
    inv = records.inventory
    days = measured_days(records)
    n_days = max(len(days), 1)
    day = np.asarray(inv.day, np.int64)
    in_days = (day >= days.start) & (day < days.stop)
    kind = node_kind[inv.node] if len(inv.node) else np.zeros(0, np.int8)
    end = np.asarray(inv.end, float)
    value = end * np.asarray(sku_value_cny, float)[inv.sku] if len(inv.sku) else end
    outflow = np.asarray(inv.shipped, float) + np.asarray(inv.transferred_out, float)
    if inv.sold_offline is not None:  # a shop's stock also turns over its counter
        outflow = outflow + np.asarray(inv.sold_offline, float)
    units: dict[str, float | None] = {}
    values: dict[str, float | None] = {}
    supply: dict[str, float | None] = {}
    for code, name in enumerate(KIND_NAMES):
        sel = in_days & (kind == code)
        u = float(end[sel].sum()) / n_days
        units[name] = u
        values[name] = float(value[sel].sum()) / n_days
        supply[name] = rate(u, float(outflow[sel].sum()) / n_days)
    return {"avg_units": units, "avg_value_cny": values, "days_of_supply": supply}


def _offline(records: RunRecords, f: _OrderFlags, node_kind: np.ndarray) -> dict[str, float | None]:
    """Counter sales at shops: measured orders oversold (sent back from a store whose shelf was short) / orders
    created; and the stores' units sold offline / all their units sold (counter + online), measured days."""
    o, inv = records.orders, records.inventory
    assert o.oversold is not None and inv.sold_offline is not None
    m = f.measured
    days = measured_days(records)
    day = np.asarray(inv.day, np.int64)
    sel = (day >= days.start) & (day < days.stop) & (node_kind[inv.node] == KIND_NAMES.index("store"))
    off = float(inv.sold_offline[sel].sum())
    return {
        "oversell_rate": rate((o.oversold & m).sum(), m.sum()),
        "store_unit_share": rate(off, off + float(inv.shipped[sel].sum())),
    }


def _start_date(meta: dict[str, Any]) -> dt.date | None:
    s = meta.get("start_date")
    if s is None:
        return None
    return s if isinstance(s, dt.date) else dt.date.fromisoformat(str(s))


def _by_day(
    records: RunRecords, f: _OrderFlags, per_day_cost: dict[int, float], start: dt.date | None
) -> list[dict[str, Any]]:
    out = []
    for d in measured_days(records):
        sel = f.measured & (f.day == d)
        row: dict[str, Any] = {"day": d}
        if start is not None:
            row["date"] = (start + dt.timedelta(days=d)).isoformat()
        h = f.headline(sel)
        row.update(h)
        row["on_time_rate"] = rate((f.on_time & sel).sum(), (f.delivered & sel).sum())
        row["cost_per_order_cny"] = rate(float(f.cost[sel].sum()) + per_day_cost[d], h["orders"])
        out.append(row)
    return out


def _by_city(records: RunRecords, f: _OrderFlags, city_names: tuple[str, ...]) -> dict[str, Any]:
    city = records.orders.city
    out: dict[str, Any] = {}
    for c, name in enumerate(city_names):
        sel = f.measured & (city == c)
        if sel.any():
            out[name] = f.headline(sel)
    return out


def compute_kpis(
    records: RunRecords, network: Any, sku_value_cny: np.ndarray, meta: dict[str, Any]
) -> dict[str, Any]:
    """The kpis.json dict (every key of DESIGN.md 10; see the module docstring for scopes).

    `network` needs ``node_kind``, ``node_city`` and ``city_names``; `meta` may hold ``start_date``
    (date of day 0, a date or ISO string) to label ``by_day``.
    """
    o, lines = records.orders, records.lines
    f = _OrderFlags(records, np.asarray(network.node_city))
    m = f.measured
    n = int(m.sum())
    head = f.headline(m)

    measured_lines = np.isin(lines.order_id, o.order_id[m])
    n_lines = int(measured_lines.sum())
    line_fill = rate((measured_lines & (lines.status == DELIVERED)).sum(), n_lines)

    daily, per_day = _daily_costs(records)
    breakdown = {k: float(getattr(o, f"cost_{k}")[m].sum()) for k in ORDER_COSTS}
    breakdown.update(daily)

    rs = records.router
    extra: dict[str, Any] = {} if records.riders is None else {"riders": _riders(records, f, daily)}
    if lines.substitute_sku is not None:  # tiers.substitution: lines shipped as a substitute / lines
        extra["substitution_rate"] = rate((measured_lines & (lines.substitute_sku >= 0)).sum(), n_lines)
    if o.oversold is not None:  # nodes.stores.offline
        extra["offline"] = _offline(records, f, np.asarray(network.node_kind))
    return {
        "orders": n,
        "delivered": int((f.delivered & m).sum()),
        "lost": int((f.lost & m).sum()),
        "open": int((f.open & m).sum()),
        "measured_days": int(records.measured_days),
        "perfect_order_rate": head["perfect_order_rate"],
        "requested_tier_rate": head["requested_tier_rate"],
        "lost_sales_rate": head["lost_sales_rate"],
        "downgrade_rate": rate((f.downgraded & m).sum(), n),
        "split_rate": rate((f.split & m).sum(), n),
        "line_fill_rate": line_fill,
        "local_fulfilment_rate": head["local_fulfilment_rate"],
        "cost_per_order_cny": rate(sum(breakdown.values()), n),
        "tiers": _tiers(records, f, meta.get("near_promise_min")),
        "cost_breakdown_cny": breakdown,
        "utilisation": _utilisation(records),
        "inventory": _inventory(records, np.asarray(network.node_kind), sku_value_cny),
        "router": {
            "epochs": int(rs.epochs),
            "solver_ms_mean": rate(rs.solver_ms_total, rs.epochs),
            "repairs": int(rs.repairs),
            "fallbacks": int(rs.fallbacks),
        },
        "by_day": _by_day(records, f, per_day, _start_date(meta)),
        "by_city": _by_city(records, f, tuple(network.city_names)),
        **extra,
    }
