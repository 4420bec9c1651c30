"""Replay a planner's own orders (``demand.source: file``) as the same ``Orders`` arrays the generator makes.

File: CSV (header row) or Parquet, one row per order line. Column names are matched after
stripping and lower-casing; other columns are ignored.

========================  ==================================================================
``created`` (required)     ISO datetime (``2026-11-02T08:15:00``; naive = local time, with an
                           offset or ``Z`` = converted to China time, UTC+8) or seconds from
                           the simulation start (``horizon.start_date`` 00:00). Rows before the
                           start are the forecasts' history (``Forecaster.warm_up``), not run.
``city`` / ``lat, lon``    at least one per row. ``lat, lon`` -> the nearest zone (of ``city``
                           when given, else of any city; more than 2 city radii away is an
                           error); ``city`` alone -> a zone drawn by zone weight from the
                           ``demand.zones/<date>/<city>`` stream. City names as in the scenario
                           (any case, or the Chinese name).
``sku`` (required)         a column of non-negative integers is read as catalog indices (must
                           be < ``catalog.n_skus``); anything else as string ids, mapped by
                           popularity: ids ranked by total units in the file (ties by id), each
                           takes the most popular free catalog SKU eligible for every tier the
                           id was requested at (so requested tiers stay eligible); ids left
                           over once no such SKU is free wrap round the catalog.
``qty`` (required)         units, a positive integer.
``requested_tier``         ``near|mid|far`` or empty: empty cells are drawn from the scenario's
                           mix as the generator does (``demand.tiers/<date>/<city>``).
``order_id``               rows sharing one are the lines of one order (they must agree on
                           created, city, lat/lon, requested_tier); empty or absent = one line,
                           one order. Order ids in the run are ``day * 10**9 + sequence``.
========================  ==================================================================

Mapping rules (as in the generator): a repeated SKU within an order is one line with the summed
quantity; an order whose lines share no eligible tier keeps its first line; a given requested tier
not eligible for every line becomes the nearest eligible one (slower first). ``u_service`` and
``u_decision`` come from ``demand.uniforms/<date>/<city>`` in creation order, exactly as the
generator draws them, so a generated day written out and replayed gives back the same orders.

Bad rows raise ``ScenarioError`` (exit 2) naming the row (CSV: the file's line, header = row 1;
Parquet: the record, first = row 1) and the column. Parsed files are cached by path, size and
modification time, so the engine can ask for one day at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.catalog import Catalog
from sim.demand.generate import _draw_tier, _tier_mix_by_category, stream_key
from sim.demand.history_columns import (
    MAX_BAD_ROWS,
    Cells,
    bad_rows,
    cell_text,
    created_seconds,
    locations,
    map_skus,
    numbers,
    read_table,
    tiers,
    zones,
)
from sim.demand.orders import Orders, empty_orders, number_day
from sim.errors import ScenarioError
from sim.rng import RandomStreams
from sim.units import DAY

# nearest eligible tier for a requested one that is not eligible, slower first
_FALLBACK = {0: (1, 2), 1: (2, 0), 2: (1, 0)}


@dataclass(frozen=True)
class History:
    """A file's orders mapped onto a network and catalog (no random draws yet)."""

    day: np.ndarray  # (n,) int64 day index
    created_s: np.ndarray  # (n,) float64 seconds from the simulation start
    city: np.ndarray  # (n,) int32
    zone: np.ndarray  # (n,) int32, -1 = draw by weight within the city
    tier: np.ndarray  # (n,) int8, -1 = draw from the mix
    line_offsets: np.ndarray  # (n + 1,) int64
    line_sku: np.ndarray  # (L,) int32
    line_qty: np.ndarray  # (L,) int32
    stats: dict[str, Any] = field(default_factory=dict)
    order_key: np.ndarray | None = None  # (n,) str: the file's order_id per order ('' = a line without one)
    sku_map: dict[str, int] = field(default_factory=dict)  # the file's SKU id -> catalog index ('id' mode)


_CACHE: dict[tuple[Any, ...], History] = {}


def _fingerprint(sc: Any, network: Any, catalog: Catalog) -> str:
    h = hashlib.sha256()
    for a in (
        network.zone_lat,
        network.zone_lon,
        network.zone_weight,
        catalog.rank,
        catalog.tier_eligible,
        catalog.category,
    ):
        h.update(np.ascontiguousarray(a).tobytes())
    if catalog.sku_id is not None:
        h.update("\x00".join(catalog.sku_id).encode())
    h.update(repr((network.city_names, sc.horizon.start_date)).encode())
    return h.hexdigest()


def load_history(sc: Any, network: Any, catalog: Catalog) -> History:
    """The scenario's history file parsed, validated and mapped (cached; ScenarioError on bad rows)."""
    path = Path(sc.demand.file)
    if not path.exists():
        raise ScenarioError(f"demand.file: file not found ({path})")
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, _fingerprint(sc, network, catalog))
    if key not in _CACHE:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _load(path, sc, network, catalog)
    return _CACHE[key]


def history_days(sc: Any, network: Any, catalog: Catalog) -> list[int]:
    """Every day index on which the file has orders, ascending (negative = before the start)."""
    return [int(d) for d in np.unique(load_history(sc, network, catalog).day)]


def history_day_indices(sc: Any, network: Any, catalog: Catalog) -> list[int]:
    """Day indices >= 0 (days of the run) on which the file has orders, ascending."""
    return [d for d in history_days(sc, network, catalog) if d >= 0]


def check_history(sc: Any) -> None:
    """Read and map the history file exactly as a run would (ScenarioError naming the row and column),
    and refuse a file none of whose orders fall within the simulated days (a run of 0 orders)."""
    from sim.catalog import build_catalog
    from sim.network import build_network

    net, cat = build_network(sc), build_catalog(sc)
    h = load_history(sc, net, cat)
    total = sc.horizon.warmup_days + sc.horizon.days
    inside = (h.day >= 0) & (h.day < total)
    if not inside.any():
        first, last = (sc.horizon.start_date + dt.timedelta(days=int(d)) for d in (h.day.min(), h.day.max()))
        end = sc.horizon.start_date + dt.timedelta(days=total - 1)
        raise ScenarioError(
            f"demand.file: {Path(sc.demand.file).name}: no orders within the simulated days "
            f"({sc.horizon.start_date} to {end}, warm-up included); the file's orders run from "
            f"{first} to {last} (set horizon.start_date)"
        )


def _load(path: Path, sc: Any, network: Any, catalog: Catalog) -> History:
    where = f"demand.file: {path.name}"
    raw, first = read_table(path)
    cols = set(raw.columns)
    need = [c for c in ("created", "sku", "qty") if c not in cols]
    has_ll = {"lat", "lon"} & cols
    if need or ("city" not in cols and has_ll != {"lat", "lon"}) or len(has_ll) == 1:
        raise ScenarioError(
            f"{where}: needs columns created, sku, qty and city and/or lat, lon "
            f"(optional requested_tier, order_id); got {', '.join(raw.columns) or 'none'}"
        )
    if raw.empty:
        raise ScenarioError(f"{where}: no rows")
    n = len(raw)
    rows = np.arange(first, first + n)
    secs = created_seconds(raw["created"], sc.horizon.start_date, rows, where)

    # quantities
    qty, qcells = numbers(raw["qty"], rows, where, "qty")
    bad = ~(np.isfinite(qty) & (qty >= 1) & (qty == np.floor(qty)) & (qty < 2**31))
    if bad.any():
        shown = qcells.text(bad) if qcells is not None else [cell_text(float(v)) for v in qty[bad]]
        raise bad_rows(
            where, rows[bad], "qty", [f"must be a positive integer, got {v!r}" for v in shown[:MAX_BAD_ROWS]]
        )

    tier = tiers(raw, rows, where)
    sku, sku_mode, n_ids, sku_map = map_skus(raw["sku"], qty, tier, catalog, rows, where)
    city, lat, lon = locations(raw, network, rows, where)
    if "order_id" in cols:
        ocells = Cells.of(raw["order_id"])
        code = ocells.codes.copy()
        alone = ocells.empty()
    else:
        ocells, code, alone = None, np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
    code[alone] = code.max(initial=0) + 1 + np.arange(int(alone.sum()))  # a line without an id is an order
    _, first_idx, inv = np.unique(code, return_index=True, return_inverse=True)
    code = np.argsort(np.argsort(first_idx))[inv].astype(np.int64)  # orders numbered by first appearance
    n_orders = len(first_idx)
    first_row = np.full(n_orders, n, dtype=np.int64)
    np.minimum.at(first_row, code, np.arange(n))
    lead = first_row[code]
    for name, vals in (
        ("created", secs),
        ("city", city),
        ("lat", lat),
        ("lon", lon),
        ("requested_tier", tier),
    ):
        same = (vals == vals[lead]) | ((vals != vals) & (vals[lead] != vals[lead]))  # NaN == NaN here
        if not same.all():
            wrong = np.flatnonzero(~same)
            raise bad_rows(
                where,
                rows[wrong],
                name,
                [
                    f"order {ocells.values[ocells.codes[i]] if ocells else ''!r} has a different {name} on row "
                    f"{rows[lead[i]]}; the lines of an order share created, city, lat/lon and requested_tier"
                    for i in wrong[:MAX_BAD_ROWS]
                ],
            )

    o_secs, o_city, o_tier = secs[first_row], city[first_row], tier[first_row]
    o_zone = zones(network, o_city, lat[first_row], lon[first_row], rows[first_row], where)
    o_city = np.where(o_zone >= 0, network.zone_city[np.maximum(o_zone, 0)], o_city)

    # lines: file order within each order, repeated SKUs merged
    lo = np.lexsort((np.arange(n), code))
    c, s_, q = code[lo], sku[lo], qty[lo]
    _, first_pos, inv = np.unique(
        c.astype(np.int64) * catalog.n_skus + s_, return_index=True, return_inverse=True
    )
    merged = np.bincount(inv, weights=q)
    keep = np.sort(first_pos)  # first occurrence of each (order, SKU): grouped by order, file order within
    l_code, l_sku, l_qty = c[keep], s_[keep], merged[inv[keep]].astype(np.int64)
    counts = np.bincount(l_code, minlength=n_orders)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    if (l_qty >= 2**31).any():
        raise ScenarioError(f"{where}: an order line's merged quantity exceeds 2^31")

    offsets, l_sku, l_qty, eligible, cut = _common_tier(catalog, offsets, l_sku, l_qty)
    moved = (o_tier >= 0) & ~eligible[np.arange(n_orders), np.maximum(o_tier, 0)]
    for i in np.flatnonzero(moved):
        o_tier[i] = next(t for t in _FALLBACK[int(o_tier[i])] if eligible[i, t])

    before = int((o_secs < 0).sum())
    stats = {
        "rows": n,
        "orders": n_orders,
        "before_start": before,
        "sku_mode": sku_mode,
        "sku_ids": n_ids,
        "merged_lines": int(n - len(keep)),
        "cut_orders": int(cut.sum()),
        "tier_moved": int(moved.sum()),
    }
    if before == n_orders:
        raise ScenarioError(f"{where}: no orders on or after horizon.start_date ({sc.horizon.start_date})")
    return History(
        day=np.floor(o_secs / DAY).astype(np.int64),
        created_s=o_secs,
        city=o_city.astype(np.int32),
        zone=o_zone.astype(np.int32),
        tier=o_tier.astype(np.int8),
        line_offsets=offsets,
        line_sku=l_sku.astype(np.int32),
        line_qty=l_qty.astype(np.int32),
        stats=stats,
        order_key=None if ocells is None else ocells.values[ocells.codes[first_row]].astype(str),
        sku_map=sku_map,
    )


def _common_tier(
    catalog: Catalog, offsets: np.ndarray, sku: np.ndarray, qty: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The generator's rule: orders whose lines share no eligible tier keep their first line."""
    starts = offsets[:-1]
    bits = catalog.tier_eligible.astype(np.uint8) @ np.array([1, 2, 4], dtype=np.uint8)
    common = np.bitwise_and.reduceat(bits[sku], starts) if len(sku) else np.zeros(0, np.uint8)
    eligible = ((common[:, None] >> np.arange(3, dtype=np.uint8)) & 1).astype(bool)
    cut = np.asarray(~eligible.any(axis=1), dtype=bool)
    if not cut.any():
        return offsets, sku, qty, eligible, cut
    lens = np.diff(offsets)
    position = np.arange(len(sku)) - np.repeat(starts, lens)
    keep = ~(np.repeat(cut, lens) & (position > 0))
    lens = np.where(cut, 1, lens)
    eligible[cut] = catalog.tier_eligible[sku[starts[cut]]]
    return np.concatenate([[0], np.cumsum(lens)]).astype(np.int64), sku[keep], qty[keep], eligible, cut


def history_day(sc: Any, network: Any, catalog: Catalog, streams: RandomStreams, day_index: int) -> Orders:
    """The file's orders created on day `day_index`, sorted by creation time (file order on ties).

    Negative days are the file's days before the start: the forecasts' history, never simulated.
    """
    h = load_history(sc, network, catalog)
    sel = np.flatnonzero(h.day == day_index)
    if not sel.size:
        return empty_orders()
    sel = sel[np.argsort(h.created_s[sel], kind="stable")]
    date = sc.horizon.start_date + dt.timedelta(days=int(day_index))
    mix = _tier_mix_by_category(sc.demand, catalog)
    parts = []
    for c in np.unique(h.city[sel]):
        idx = sel[h.city[sel] == c]
        parts.append(_city_orders(h, idx, int(c), network, catalog, streams, date, mix))
    return number_day(parts, day_index)


def _city_orders(
    h: History,
    idx: np.ndarray,
    city: int,
    network: Any,
    catalog: Catalog,
    streams: RandomStreams,
    date: dt.date,
    mix: np.ndarray,
) -> Orders:
    """One city's orders of a day, with zones, tiers and uniforms drawn from that (day, city)'s streams."""
    name = network.city_names[city]
    n = len(idx)
    zone = h.zone[idx].copy()
    draw = zone < 0
    if draw.any():
        zones = np.flatnonzero(network.zone_city == city)
        w = network.zone_weight[zones]
        cdf = np.cumsum(w if w.sum() > 0 else np.ones(len(zones)))
        u = streams.get(stream_key("zones", date, name)).random(n)[draw]
        zone[draw] = zones[np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(zones) - 1)]
    lens = np.diff(h.line_offsets)[idx]
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    li = np.repeat(h.line_offsets[idx] - offsets[:-1], lens) + np.arange(offsets[-1])
    sku, qty = h.line_sku[li], h.line_qty[li]
    tier = h.tier[idx].copy()
    u_tier = streams.get(stream_key("tiers", date, name)).random(n)
    todo = tier < 0
    if todo.any():
        bits = catalog.tier_eligible.astype(np.uint8) @ np.array([1, 2, 4], dtype=np.uint8)
        common = np.bitwise_and.reduceat(bits[sku], offsets[:-1])
        eligible = ((common[:, None] >> np.arange(3, dtype=np.uint8)) & 1).astype(bool)
        w = mix[catalog.category[sku[offsets[:-1]]]] * eligible
        w = np.where(w.sum(axis=1, keepdims=True) > 0, w, eligible.astype(float))
        tier[todo] = _draw_tier(u_tier[todo], w[todo])
    ru = streams.get(stream_key("uniforms", date, name))
    u_service, u_decision = ru.random(n), ru.random(n)
    return Orders(
        order_id=np.zeros(n, dtype=np.int64),
        created_s=h.created_s[idx].astype(np.float64),
        zone=zone.astype(np.int32),
        city=np.full(n, city, dtype=np.int32),
        requested_tier=tier.astype(np.int8),
        line_offsets=offsets,
        line_sku=sku.astype(np.int32),
        line_qty=qty.astype(np.int32),
        u_service=u_service,
        u_decision=u_decision,
    )


def run_order_keys(sc: Any, network: Any, catalog: Catalog, day_index: int) -> np.ndarray | None:
    """The file's ``order_id`` of each order of day `day_index`, in the run's order (position = the run
    order id's sequence, ``day * 10**9 + position``); None when the file has no order_id column."""
    h = load_history(sc, network, catalog)
    if h.order_key is None:
        return None
    sel = np.flatnonzero(h.day == day_index)
    sel = sel[np.argsort(h.created_s[sel], kind="stable")]
    if not sel.size:
        return np.zeros(0, dtype=object)
    idx = np.concatenate([sel[h.city[sel] == c] for c in np.unique(h.city[sel])])  # history_day's parts
    return h.order_key[idx[np.argsort(h.created_s[idx], kind="stable")]]  # concat's stable merge
