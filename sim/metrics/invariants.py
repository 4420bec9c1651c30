"""Accounting invariants of a run (DESIGN.md 4), checked on the records at the end of every run.

A violated invariant is a simulator bug, never bad input, so ``assert_invariants`` raises
``InvariantViolation`` (exit 1). Each message names the invariant, counts the offending rows and
shows one example, so a failing run points straight at the broken bookkeeping. Every check is
vectorised (runs have millions of orders and inventory rows). ``0 <= reserved <= on_hand`` is the
engine's own assertion: reservations are not in the records.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.errors import InvariantViolation
from sim.records import DELIVERED, LOST, OPEN, STATUS_NAMES, RunRecords
from sim.units import format_clock

Check = Callable[[RunRecords], list[str]]


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _problem(name: str, bad: np.ndarray, total: int, what: str, example: Callable[[int], str]) -> list[str]:
    """One message if any row of `bad` is True: ``name: k of total what; e.g. ...``."""
    k = int(np.count_nonzero(bad))
    if k == 0:
        return []
    return [f"{name}: {k} of {total} {what}; e.g. {example(_first(bad))}"]


def _shapes(r: RunRecords) -> list[str]:
    """Columns of one record set have one length (otherwise no other check can run)."""
    out = []
    for label, rec in (("orders", r.orders), ("lines", r.lines), ("inventory", r.inventory)):
        lengths = {k: len(v) for k, v in vars(rec).items() if isinstance(v, np.ndarray)}
        if len(set(lengths.values())) > 1:
            out.append(f"{label} columns have one length: got {lengths}")
    return out


def _orders(r: RunRecords, drained: bool) -> list[str]:
    o = r.orders
    n, oid = o.n, o.order_id
    status = o.status

    def at(i: int) -> str:
        return f"order {int(oid[i])} (created {format_clock(float(o.created_s[i]))})"

    out = _problem(
        "order ids are unique",
        np.r_[False, np.diff(np.sort(oid)) == 0],
        n,
        "order ids repeat",
        lambda i: f"order id {int(np.sort(oid)[i])}",
    )
    out += _problem(
        "created = delivered + lost + open",
        ~np.isin(status, (DELIVERED, LOST, OPEN)),
        n,
        "orders have a status that is none of delivered/lost/open",
        lambda i: f"{at(i)} has status {int(status[i])}",
    )
    if drained:
        out += _problem(
            "open = 0 for measured orders after the drain",
            (status == OPEN) & ~o.warmup,
            int(np.count_nonzero(~o.warmup)),
            "measured orders are still open",
            at,
        )
    dlv, lost = status == DELIVERED, status == LOST
    undelivered = lost | (status == OPEN)
    out += _problem(
        "delivered_s >= created_s",
        dlv & ~(o.delivered_s >= o.created_s),
        int(dlv.sum()),
        "delivered orders arrive before they were created (or at NaN)",
        lambda i: f"{at(i)} delivered_s={float(o.delivered_s[i])}",
    )
    out += _problem(
        "delivered_s is NaN unless delivered",
        undelivered & ~np.isnan(o.delivered_s),
        int(undelivered.sum()),
        "lost or open orders have a delivery time",
        lambda i: f"{at(i)} is {STATUS_NAMES[status[i]]} with delivered_s={float(o.delivered_s[i])}",
    )
    served = o.served_tier >= 0
    out += _problem(
        "promised_s >= created_s for served orders",
        served & ~(o.promised_s >= o.created_s),
        int(served.sum()),
        "served orders are promised before they were created (or at NaN)",
        lambda i: f"{at(i)} promised_s={float(o.promised_s[i])}",
    )
    out += _problem(
        "a delivered order has a served tier, a node and a shipment",
        dlv & ((o.served_tier < 0) | (o.node < 0) | (o.n_shipments < 1)),
        int(dlv.sum()),
        "delivered orders lack one",
        lambda i: (
            f"{at(i)} served_tier={int(o.served_tier[i])} node={int(o.node[i])} "
            f"n_shipments={int(o.n_shipments[i])}"
        ),
    )
    out += _problem(
        "a lost order has no served tier and no node",
        lost & (served | (o.node >= 0)),
        int(lost.sum()),
        "lost orders have one",
        lambda i: f"{at(i)} served_tier={int(o.served_tier[i])} node={int(o.node[i])}",
    )
    return out


def _lines(r: RunRecords) -> list[str]:
    """Lines belong to orders and agree with them on count, units, status, nodes and shipments."""
    o, ln = r.orders, r.lines
    n_lines = len(ln.order_id)
    sort = np.argsort(o.order_id, kind="stable")
    pos = np.clip(np.searchsorted(o.order_id[sort], ln.order_id), 0, max(o.n - 1, 0))
    known = o.order_id[sort][pos] == ln.order_id if o.n else np.zeros(n_lines, bool)
    out = _problem(
        "every line belongs to an order",
        ~known,
        n_lines,
        "lines name an unknown order",
        lambda i: f"line {i} of order {int(ln.order_id[i])}",
    )
    out += _problem(
        "line qty >= 1",
        ln.qty < 1,
        n_lines,
        "lines have no units",
        lambda i: f"line {i} (SKU {int(ln.sku[i])}) of order {int(ln.order_id[i])} qty={int(ln.qty[i])}",
    )
    if not known.all():
        return out
    row = sort[pos]  # order row of each line
    st = o.status[row]
    ldlv = ln.status == DELIVERED
    count = np.bincount(row, minlength=o.n)
    units = np.bincount(row, weights=ln.qty, minlength=o.n)
    delivered_lines = np.bincount(row, weights=ldlv, minlength=o.n)

    def at(i: int) -> str:
        return f"order {int(o.order_id[i])}"

    out += _problem(
        "n_lines = number of lines",
        count != o.n_lines,
        o.n,
        "orders disagree",
        lambda i: f"{at(i)} n_lines={int(o.n_lines[i])} but {int(count[i])} lines",
    )
    out += _problem(
        "units = sum of line qty",
        units != o.units,
        o.n,
        "orders disagree",
        lambda i: f"{at(i)} units={int(o.units[i])} but lines sum to {int(units[i])}",
    )
    out += _problem(
        "a lost order has no delivered line",
        ldlv & (st == LOST),
        int(np.count_nonzero(st == LOST)),
        "lines of lost orders are delivered",
        lambda i: f"line {i} (SKU {int(ln.sku[i])}) of lost order {int(ln.order_id[i])}",
    )
    out += _problem(
        "a delivered line has a node and a served tier",
        ldlv & ((ln.node < 0) | (ln.served_tier < 0)),
        int(ldlv.sum()),
        "delivered lines lack one",
        lambda i: (
            f"line {i} of order {int(ln.order_id[i])} node={int(ln.node[i])} "
            f"served_tier={int(ln.served_tier[i])}"
        ),
    )
    dlv = o.status == DELIVERED
    n_dlv = int(dlv.sum())
    missing = count - delivered_lines
    out += _problem(
        "missing_lines of a delivered order = its lines not delivered",
        dlv & ((missing != o.missing_lines) | (delivered_lines == 0)),
        n_dlv,
        "delivered orders disagree",
        lambda i: (
            f"{at(i)} missing_lines={int(o.missing_lines[i])} but {int(missing[i])} "
            f"of {int(count[i])} lines not delivered"
        ),
    )
    # one shipment per node: n_shipments = distinct nodes of the delivered lines; the order's node is one of them
    width = int(ln.node.max(initial=0)) + 1
    pair = np.sort(row[ldlv].astype(np.int64) * width + ln.node[ldlv])
    pair = pair[np.r_[True, pair[1:] != pair[:-1]]] if pair.size else pair  # distinct (order row, node)
    pair_row, pair_node = pair // width, pair % width
    nodes_used = np.bincount(pair_row, minlength=o.n)
    out += _problem(
        "n_shipments = distinct nodes of a delivered order's lines",
        dlv & (nodes_used != o.n_shipments),
        n_dlv,
        "delivered orders disagree",
        lambda i: f"{at(i)} n_shipments={int(o.n_shipments[i])} but lines from {int(nodes_used[i])} nodes",
    )
    own = np.zeros(o.n, bool)
    own[pair_row[o.node[pair_row] == pair_node]] = True
    out += _problem(
        "a delivered order's node shipped one of its lines",
        dlv & ~own,
        n_dlv,
        "delivered orders disagree",
        lambda i: f"{at(i)} node={int(o.node[i])}",
    )
    return out


def _inventory(r: RunRecords) -> list[str]:
    """Per row flow balance and non-negativity; day-to-day chaining per node x SKU."""
    v = r.inventory
    n = len(v.day)
    if n == 0:
        return []

    def at(i: int) -> str:
        return (
            f"node {int(v.node[i])} SKU {int(v.sku[i])} day {int(v.day[i])}: start={int(v.start[i])} "
            f"received={int(v.received[i])} shipped={int(v.shipped[i])} "
            f"transferred_out={int(v.transferred_out[i])} spoiled={int(v.spoiled[i])} end={int(v.end[i])}"
        )

    balance = v.start + v.received - v.shipped - v.transferred_out - v.spoiled
    if v.sold_offline is not None:  # counter sales at shops (nodes.stores.offline)
        balance = balance - v.sold_offline
    out = _problem(
        "start + received - shipped - transferred_out - spoiled = end",
        balance != v.end,
        n,
        "inventory rows do not balance",
        at,
    )
    unnamed = _problem(
        "inventory rows name a node and a SKU", (v.node < 0) | (v.sku < 0), n, "rows do not", at
    )
    if unnamed:
        return out + unnamed  # the checks below index by node and SKU
    cols = (
        v.start,
        v.received,
        v.shipped,
        v.transferred_out,
        v.spoiled,
        v.end,
        v.lost_demand,
        *(() if v.sold_offline is None else (v.sold_offline,)),
    )
    out += _problem(
        "inventory figures >= 0 (end >= 0)",
        np.any(np.stack(cols) < 0, axis=0),
        n,
        "inventory rows have a negative figure",
        at,
    )

    d0, d1 = int(v.day.min()), int(v.day.max())
    span = d1 - d0 + 2
    n_sku = int(v.sku.max()) + 1
    key = (v.node.astype(np.int64) * n_sku + v.sku) * span + (v.day - d0)
    order = np.argsort(key, kind="stable")
    skey = key[order]
    dup = np.zeros(n, bool)
    dup[order[1:][skey[1:] == skey[:-1]]] = True
    out += _problem("one inventory row per day x node x SKU", dup, n, "rows repeat", at)

    def lookup(delta: int, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: is there a row of the same node x SKU `delta` days away, and its `col` (else 0)."""
        k = skey + delta  # sorted queries keep searchsorted cache-friendly
        p = np.clip(np.searchsorted(skey, k), 0, n - 1)
        found_s = skey[p] == k
        found, value = np.empty(n, bool), np.empty(n, np.int64)
        found[order], value[order] = found_s, np.where(found_s, col[order][p], 0)
        return found, value

    _, prev_end = lookup(-1, v.end)
    has_next, next_start = lookup(1, v.start)
    bad_start = (v.day > d0) & (v.start != prev_end)
    bad_end = (v.day < d1) & ~has_next & (v.end != 0)
    out += _problem(
        "start of day d+1 = end of day d per node x SKU (absent rows are zero)",
        bad_start | bad_end,
        n,
        "rows break the chain",
        lambda i: f"{at(i)}; previous day's end={int(prev_end[i])}, next day's start={int(next_start[i])}",
    )
    return out


def _shipped(r: RunRecords) -> list[str]:
    """Units shipped per node (inventory) = delivered line units (+ at most the open lines assigned there)."""
    v, ln = r.inventory, r.lines
    nodes = np.concatenate([v.node, ln.node, [-1]])
    size = int(nodes.max()) + 1
    if size <= 0:
        return []
    ok = v.node >= 0
    shipped = np.bincount(v.node[ok], weights=v.shipped[ok], minlength=size)
    has_node = ln.node >= 0
    dlv = has_node & (ln.status == DELIVERED)
    opn = has_node & (ln.status == OPEN)
    delivered = np.bincount(ln.node[dlv], weights=ln.qty[dlv], minlength=size)
    pending = np.bincount(ln.node[opn], weights=ln.qty[opn], minlength=size)
    bad = (shipped < delivered - 1e-9) | (shipped > delivered + pending + 1e-9)
    return _problem(
        "shipped units per node = delivered line units",
        bad,
        size,
        "nodes disagree",
        lambda i: (
            f"node {i} shipped {int(shipped[i])} but delivered {int(delivered[i])} "
            f"(+{int(pending[i])} on open lines)"
        ),
    )


def _fresh_age(r: RunRecords, shelf_life_days: np.ndarray) -> list[str]:
    """No fresh unit sits at a node longer than its shelf life (to the day, FIFO): the stock of a perishable
    node x SKU at the end of day d is at most what the node received on days d - L + 1 .. d, L = ceil(life);
    the stock it starts the first day with counts as received that day."""
    v = r.inventory
    life = np.asarray(shelf_life_days, float)
    if not len(v.day) or not np.isfinite(life).any():
        return []
    per = np.isfinite(life[v.sku])
    if not per.any():
        return []
    rows = np.flatnonzero(per)
    node, sku, day = v.node[rows].astype(np.int64), v.sku[rows].astype(np.int64), v.day[rows].astype(np.int64)
    d0 = int(day.min())
    span = int(day.max()) - d0 + 1
    cell, inverse = np.unique(node * (int(sku.max()) + 1) + sku, return_inverse=True)
    received = np.zeros((cell.size, span + 1), np.int64)  # column 0 stays 0: cumulative sums start there
    received[inverse, day - d0 + 1] = v.received[rows]
    first = day == d0  # the stock a run starts with (a planner's starting stock) counts as received on day 0
    received[inverse[first], 1] += v.start[rows][first]
    cum = received.cumsum(axis=1)
    L = np.ceil(life[sku]).astype(np.int64)
    hi = day - d0 + 1
    window = cum[inverse, hi] - cum[inverse, np.maximum(hi - L, 0)]
    bad = v.end[rows] > window
    return _problem(
        "no fresh unit older than its shelf life at any node",
        bad,
        rows.size,
        "perishable rows hold more than they received within their shelf life",
        lambda i: (
            f"node {int(node[i])} SKU {int(sku[i])} day {int(day[i])}: end={int(v.end[rows][i])} "
            f"> received in the last {int(L[i])} day(s)={int(window[i])}"
        ),
    )


def check_invariants(
    records: RunRecords, *, drained: bool, shelf_life_days: np.ndarray | None = None
) -> list[str]:
    """Every violated invariant as one message (empty = consistent). `drained`: the run ran its drain;
    `shelf_life_days` (per SKU, inf for non-perishables) adds the fresh-age invariant."""
    problems = _shapes(records)
    if problems:
        return problems
    out = _orders(records, drained) + _lines(records) + _inventory(records) + _shipped(records)
    if shelf_life_days is not None:
        out += _fresh_age(records, shelf_life_days)
    return out


def assert_invariants(
    records: RunRecords, *, drained: bool, shelf_life_days: np.ndarray | None = None
) -> None:
    """Raise ``InvariantViolation`` listing every violated invariant."""
    problems = check_invariants(records, drained=drained, shelf_life_days=shelf_life_days)
    if problems:
        raise InvariantViolation(problems)
