"""The shards' records merged into one run's, column by column (see ``sim.shard`` for the rules).

Each column is read from the shards (``ShardOutput.column``: from the spool when the workers wrote one),
joined, put in the merged order and kept, one column at a time, so the parent holds the merged records
plus one column's parts, never every shard's records and the merged copy together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from sim.records import (
    DayRecords,
    InventoryRecords,
    LineRecords,
    NodeRecords,
    OrderRecords,
    RouterStats,
    RunRecords,
)
from sim.shard.worker import ShardOutput

ORDER_ID_STRIDE = 10**9  # sim.demand.orders.ORDER_ID_STRIDE: order ids of day d are d * stride + sequence
REMAPPED = {"orders": ("node",), "lines": ("preferred_node", "node"), "inventory": ("node",)}


def _remap(index: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Shard node indices to full-network ones (-1 stays -1)."""
    index = np.asarray(index)
    out = np.where(index >= 0, mapping[np.maximum(index, 0)], -1)
    return out.astype(index.dtype)


def _parts(
    outs: Sequence[ShardOutput], maps: Sequence[np.ndarray], part: str, name: str
) -> list[np.ndarray] | None:
    """Column `name` of `part` from every shard, node indices remapped; None when no shard recorded it (a
    mechanism that is off: every shard runs the same scenario, so all or none have it)."""
    cols = [o.column(part, name) for o in outs]
    if all(c is None for c in cols):
        return None
    if any(c is None for c in cols):
        raise AssertionError(f"merge: {part}.{name} recorded by some shards only")
    if name in REMAPPED[part]:
        return [_remap(c, m) for c, m in zip(cols, maps, strict=True)]  # type: ignore[arg-type]
    return [c for c in cols if c is not None]


def _merge_orders(
    outs: Sequence[ShardOutput], maps: Sequence[np.ndarray]
) -> tuple[OrderRecords, LineRecords]:
    local_parts = _parts(outs, maps, "orders", "order_id") or []
    local = np.concatenate(local_parts)
    bounds = np.concatenate([[0], np.cumsum([p.size for p in local_parts])])
    del local_parts
    day = local // ORDER_ID_STRIDE
    perm = np.lexsort(  # the day's numbering over cities (sim.demand.orders.number_day)
        (
            local,
            np.concatenate(_parts(outs, maps, "orders", "city") or []),
            np.concatenate(_parts(outs, maps, "orders", "created_s") or []),
            day,
        )
    )
    sday = day[perm]
    del day
    new_sorted = (sday * ORDER_ID_STRIDE + (np.arange(perm.size) - np.searchsorted(sday, sday))).astype(
        np.int64
    )
    del sday
    new_id = np.empty_like(new_sorted)
    new_id[perm] = new_sorted
    cols: dict[str, Any] = {"order_id": new_sorted}
    for f in fields(OrderRecords):
        if f.name != "order_id":
            p = _parts(outs, maps, "orders", f.name)
            cols[f.name] = None if p is None else np.concatenate(p)[perm]
    del perm
    merged_orders = OrderRecords(**cols)
    # lines: each shard's order ids -> the new ones, then grouped by new id (line order within an order kept)
    line_new = []
    for k, o in enumerate(outs):
        ids = local[bounds[k] : bounds[k + 1]]
        if ids.size > 1 and np.any(np.diff(ids) <= 0):
            raise AssertionError(f"shard {o.region}: order ids are not increasing")
        lo = o.column("lines", "order_id")
        assert lo is not None
        line_new.append(new_id[bounds[k] : bounds[k + 1]][np.searchsorted(ids, lo)])
    del local, new_id
    lid = np.concatenate(line_new)
    del line_new
    lperm = np.argsort(lid, kind="stable")
    lines: dict[str, Any] = {"order_id": lid[lperm].astype(np.int64)}
    del lid
    for f in fields(LineRecords):
        if f.name != "order_id":
            p = _parts(outs, maps, "lines", f.name)
            lines[f.name] = None if p is None else np.concatenate(p)[lperm]
    return merged_orders, LineRecords(**lines)


@dataclass(frozen=True)
class _Carry:
    """A shard whose drain ended on day `own` < `last`: its rows `keep` (stock left on day `own`) repeat,
    untouched, on days own + 1 .. last."""

    own: int
    last: int
    keep: np.ndarray  # row indices

    @property
    def extra(self) -> int:
        return self.last - self.own


def _carry_plan(day: np.ndarray, end: np.ndarray, last: int) -> _Carry | None:
    if day.size == 0 or int(day.max()) >= last:
        return None
    own = int(day.max())
    return _Carry(own, last, np.flatnonzero((day == own) & (end != 0)))


def _pad(name: str, col: np.ndarray, end: np.ndarray, c: _Carry) -> np.ndarray:
    """The carried rows of column `name` (a quiet day: start = end = the last day's end, no flows)."""
    n = c.keep.size
    if name == "day":
        pad = np.repeat(np.arange(c.own + 1, c.last + 1), n)
    elif name in ("node", "sku"):
        pad = np.tile(col[c.keep], c.extra)
    elif name in ("start", "end"):
        pad = np.tile(end[c.keep], c.extra)
    else:
        pad = np.zeros(n * c.extra, col.dtype)
    return pad.astype(col.dtype)


def _carry_to(v: InventoryRecords, last: int) -> InventoryRecords:
    """A region whose drain ended before `last` (the longest shard's last day) keeps its stock, untouched, on
    the later days: rows start = end = its last day's end, no flows (as a run records a quiet day)."""
    c = _carry_plan(np.asarray(v.day), np.asarray(v.end), last)
    if c is None:
        return v
    end = np.asarray(v.end)
    cols: dict[str, Any] = {}
    for f in fields(InventoryRecords):
        col = getattr(v, f.name)
        cols[f.name] = None if col is None else np.concatenate([col, _pad(f.name, np.asarray(col), end, c)])
    return InventoryRecords(**cols)


def _merge_inventory(outs: Sequence[ShardOutput], maps: Sequence[np.ndarray]) -> InventoryRecords:
    """Every shard's rows, in shard order, node indices remapped, early-settled shards carried to the last day."""
    ends: list[np.ndarray] = []
    days: list[np.ndarray] = []
    for o in outs:
        d, e = o.column("inventory", "day"), o.column("inventory", "end")
        assert d is not None and e is not None
        days.append(d)
        ends.append(e)
    last = max((int(d.max()) for d in days if d.size), default=0)
    plans = [_carry_plan(d, e, last) for d, e in zip(days, ends, strict=True)]
    del days
    cols: dict[str, Any] = {}
    for f in fields(InventoryRecords):
        parts = _parts(outs, maps, "inventory", f.name)
        if parts is None:
            cols[f.name] = None
            continue
        for k, c in enumerate(plans):
            if c is not None:
                parts[k] = np.concatenate([parts[k], _pad(f.name, parts[k], ends[k], c)])
        cols[f.name] = np.concatenate(parts)
        del parts
    return InventoryRecords(**cols)


def _merge_days(recs: Sequence[RunRecords]) -> DayRecords:
    n = max(r.days.day.size for r in recs)
    costs: dict[str, np.ndarray] = {}
    for r in recs:
        for k, v in r.days.costs.items():
            acc = costs.setdefault(k, np.zeros(n))
            acc[: v.size] += v
    base = max(recs, key=lambda r: r.days.day.size).days
    return DayRecords(day=base.day.copy(), warmup=base.warmup.copy(), costs=costs, utilisation={})


def _merge_nodes(recs: Sequence[RunRecords], maps: Sequence[np.ndarray], n_nodes: int) -> NodeRecords:
    busy: dict[str, np.ndarray] = {}
    avail: dict[str, np.ndarray] = {}
    for r, m in zip(recs, maps, strict=True):
        for src, dst in ((r.nodes.busy_s, busy), (r.nodes.available_s, avail)):
            for k, v in src.items():
                dst.setdefault(k, np.zeros(n_nodes))[m] += np.asarray(v, float)
    return NodeRecords(busy_s=busy, available_s=avail)


def _merge_riders(recs: Sequence[RunRecords]) -> dict[str, Any] | None:
    parts = [r.riders for r in recs if r.riders is not None]
    if not parts:
        return None
    out: dict[str, Any] = {
        k: float(sum(p[k] for p in parts)) for k in ("rider_hours", "rider_days", "busy_hours")
    }
    on = np.sum([p["on_shift_by_hour"] for p in parts], axis=0)
    busy = np.sum(
        [
            np.asarray([u or 0.0 for u in p["utilisation_by_hour"]]) * np.asarray(p["on_shift_by_hour"])
            for p in parts
        ],
        axis=0,
    )
    out["on_shift_by_hour"] = [float(x) for x in on]
    out["utilisation_by_hour"] = [float(b / a) if a > 0 else None for b, a in zip(busy, on, strict=True)]
    return out


def merge_records(outs: Sequence[ShardOutput], node_ids: Sequence[str]) -> RunRecords:
    """The shards' records as one run's, in the full network's node indices (see ``sim.shard``)."""
    index = {nid: i for i, nid in enumerate(node_ids)}
    maps = [np.array([index[n] for n in o.node_ids], dtype=np.int64) for o in outs]
    recs = [o.records for o in outs]
    if any(r is None for r in recs):
        raise AssertionError("merge_records: a shard has no records")
    rs: list[RunRecords] = [r for r in recs if r is not None]
    orders, lines = _merge_orders(outs, maps)
    router = RouterStats(
        epochs=max(r.router.epochs for r in rs),
        solver_ms_total=float(sum(r.router.solver_ms_total for r in rs)),
        repairs=sum(r.router.repairs for r in rs),
        fallbacks=sum(r.router.fallbacks for r in rs),
    )
    return RunRecords(
        orders=orders,
        lines=lines,
        inventory=_merge_inventory(outs, maps),
        days=_merge_days(rs),
        nodes=_merge_nodes(rs, maps, len(node_ids)),
        router=router,
        measured_days=rs[0].measured_days,
        warmup_days=rs[0].warmup_days,
        riders=_merge_riders(rs),
    )


@dataclass(frozen=True)
class MergedNetwork:
    """What the run directory writers read of a network, with the positions the shards simulated."""

    node_ids: tuple[str, ...]
    node_kind: np.ndarray
    node_city: np.ndarray
    node_lat: np.ndarray
    node_lon: np.ndarray
    city_names: tuple[str, ...]


def merged_network(net: Any, outs: Sequence[ShardOutput]) -> MergedNetwork:
    lat, lon = np.array(net.node_lat, float), np.array(net.node_lon, float)
    index = {nid: i for i, nid in enumerate(net.node_ids)}
    for o in outs:
        m = np.array([index[n] for n in o.node_ids], dtype=np.int64)
        lat[m], lon[m] = o.node_lat, o.node_lon
    return MergedNetwork(
        tuple(net.node_ids),
        np.asarray(net.node_kind),
        np.asarray(net.node_city),
        lat,
        lon,
        tuple(net.city_names),
    )
