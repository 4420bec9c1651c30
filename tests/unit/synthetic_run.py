"""A hand-built, internally consistent RunRecords on the toy network (no engine involved).

Orders are delivered, lost (a downgrade offer declined or no stock) or open; some are split, some
miss a line, some are late, some are served from the other city. Inventory is derived from the
delivered lines so every accounting invariant holds; tests corrupt copies of it.
"""

from __future__ import annotations

import copy

import numpy as np

from sim.records import (
    DAILY_COSTS,
    DELIVERED,
    LOST,
    OPEN,
    DayRecords,
    InventoryRecords,
    LineRecords,
    NodeRecords,
    OrderRecords,
    RouterStats,
    RunRecords,
)
from sim.units import DAY, HOUR, MINUTE

N_SKUS = 12
PROMISE_S = (30 * MINUTE, 4 * HOUR, 36 * HOUR)


def sku_values() -> np.ndarray:
    return np.linspace(5.0, 60.0, N_SKUS)


def _nodes_for_tier(net, tier: int, city: int) -> np.ndarray:
    kind = {0: 2, 1: 1, 2: 0}[tier]
    local = np.flatnonzero((net.node_kind == kind) & (net.node_city == city))
    return local if len(local) else np.flatnonzero(net.node_kind == kind)


def make_records(
    net,
    seed: int = 0,
    *,
    n_orders: int = 400,
    warmup_days: int = 2,
    measured_days: int = 2,
    open_orders: int = 0,
) -> RunRecords:
    """`open_orders` measured orders (the last ones created) are left open (an undrained run)."""
    rng = np.random.default_rng(seed)
    n_days = warmup_days + measured_days
    created = np.sort(rng.uniform(0, n_days * DAY - 1, n_orders))
    zones = np.where(
        rng.random(n_orders) < 0.1,
        rng.choice(np.flatnonzero(net.zone_city == 1), n_orders),
        rng.choice(np.flatnonzero(net.zone_city == 0), n_orders),
    ).astype(np.int32)
    cols: dict[str, list] = {
        k: []
        for k in (
            "served_tier",
            "node",
            "status",
            "promised_s",
            "delivered_s",
            "downgraded",
            "n_shipments",
            "handling",
            "transport",
            "split",
            "penalty",
            "missing",
            "n_lines",
            "units",
            "requested",
        )
    }
    lines: dict[str, list] = {
        k: [] for k in ("order_id", "sku", "qty", "preferred_node", "node", "tier", "status")
    }
    for i in range(n_orders):
        city = int(net.zone_city[zones[i]])
        req = int(rng.integers(0, 3))
        nl = int(rng.integers(1, 4))
        skus = rng.choice(N_SKUS, nl, replace=False)
        qty = rng.integers(1, 4, nl)
        u = rng.random()
        status = OPEN if i >= n_orders - open_orders else LOST if u < 0.12 else DELIVERED
        downgraded = status != OPEN and rng.random() < 0.1 and req < 2
        served = -1
        node = -1
        line_node = np.full(nl, -1)
        line_status = np.full(nl, status)
        promised = delivered = np.nan
        shipments, missing = 0, 0
        cost = np.zeros(4)
        if status == DELIVERED:
            served = req + 1 if downgraded else (0 if (req > 0 and rng.random() < 0.1) else req)
            cands = _nodes_for_tier(net, served, city if rng.random() < 0.9 else 1 - city)
            node = int(rng.choice(cands))
            line_node[:] = node
            if nl >= 2 and rng.random() < 0.2:  # split: the last line from another node
                line_node[-1] = int(rng.choice(np.setdiff1d(np.arange(net.n_nodes), [node])))
            if nl >= 2 and rng.random() < 0.1:  # a line not delivered
                line_status[0] = LOST
                line_node[0] = -1
                missing = 1
            if not np.any(line_node == node):  # the order's node is that of its largest shipment
                node = int(line_node[line_node >= 0][0])
            shipments = len(np.unique(line_node[line_node >= 0]))
            promised = created[i] + PROMISE_S[served] + (HOUR if downgraded else 0.0)
            delivered = created[i] + PROMISE_S[served] * rng.uniform(0.3, 1.2)
            late_min = max(0.0, (delivered - promised) / MINUTE)
            cost = np.array([rng.uniform(1, 4), rng.uniform(3, 12), 5.0 * (shipments > 1), 0.1 * late_min])
        for k, v in (
            ("served_tier", served),
            ("node", node),
            ("status", status),
            ("promised_s", promised),
            ("delivered_s", delivered),
            ("downgraded", downgraded),
            ("n_shipments", shipments),
            ("handling", cost[0]),
            ("transport", cost[1]),
            ("split", cost[2]),
            ("penalty", cost[3]),
            ("missing", missing),
            ("n_lines", nl),
            ("units", int(qty.sum())),
            ("requested", req),
        ):
            cols[k].append(v)
        for j in range(nl):
            for k, v in (
                ("order_id", i),
                ("sku", skus[j]),
                ("qty", qty[j]),
                ("preferred_node", int(rng.integers(-1, net.n_nodes))),
                ("node", line_node[j]),
                ("tier", served if line_status[j] == DELIVERED else -1),
                ("status", line_status[j]),
            ):
                lines[k].append(v)
    orders = OrderRecords(
        order_id=np.arange(n_orders, dtype=np.int64),
        created_s=created,
        zone=zones,
        city=net.zone_city[zones].astype(np.int32),
        n_lines=np.array(cols["n_lines"], np.int16),
        units=np.array(cols["units"], np.int32),
        requested_tier=np.array(cols["requested"], np.int8),
        served_tier=np.array(cols["served_tier"], np.int8),
        node=np.array(cols["node"], np.int32),
        status=np.array(cols["status"], np.int8),
        promised_s=np.array(cols["promised_s"], float),
        delivered_s=np.array(cols["delivered_s"], float),
        downgraded=np.array(cols["downgraded"], bool),
        n_shipments=np.array(cols["n_shipments"], np.int8),
        warmup=created < warmup_days * DAY,
        cost_handling=np.array(cols["handling"]),
        cost_transport=np.array(cols["transport"]),
        cost_split=np.array(cols["split"]),
        cost_penalty=np.array(cols["penalty"]),
        missing_lines=np.array(cols["missing"], np.int16),
    )
    line_rec = LineRecords(
        order_id=np.array(lines["order_id"], np.int64),
        sku=np.array(lines["sku"], np.int32),
        qty=np.array(lines["qty"], np.int32),
        preferred_node=np.array(lines["preferred_node"], np.int32),
        node=np.array(lines["node"], np.int32),
        served_tier=np.array(lines["tier"], np.int8),
        status=np.array(lines["status"], np.int8),
    )
    last_day = int(np.nanmax(orders.delivered_s) // DAY)
    inventory = _inventory(net, orders, line_rec, last_day + 1, rng)
    days = np.arange(last_day + 1, dtype=np.int32)
    day_rec = DayRecords(
        day=days, warmup=days < warmup_days, costs={k: rng.uniform(50, 500, len(days)) for k in DAILY_COSTS}
    )
    n = net.n_nodes
    store, fdc = (net.node_kind == 2).astype(float), (net.node_kind == 1).astype(float)
    avail = {"pickers": store * 3 * 16 * HOUR, "riders": store * 8 * 16 * HOUR, "vans": fdc * 4 * 12 * HOUR}
    busy = {k: v * rng.uniform(0.2, 0.9, n) for k, v in avail.items()}
    return RunRecords(
        orders=orders,
        lines=line_rec,
        inventory=inventory,
        days=day_rec,
        nodes=NodeRecords(busy_s=busy, available_s=avail),
        router=RouterStats(epochs=500, solver_ms_total=1234.5, repairs=3, fallbacks=1),
        measured_days=measured_days,
        warmup_days=warmup_days,
    )


def _inventory(net, orders: OrderRecords, lines: LineRecords, n_days: int, rng) -> InventoryRecords:
    """Stock flows that balance: each node ships its delivered lines on the delivery day; forward nodes
    receive what they ship plus a little, transferred out of the NDC; stores spoil a unit now and then."""
    n = net.n_nodes
    shipped = np.zeros((n_days, n, N_SKUS), np.int64)
    ok = lines.status == DELIVERED
    row = lines.order_id[ok]  # order ids are row indices here
    day = (orders.delivered_s[row] // DAY).astype(int)
    np.add.at(shipped, (day, lines.node[ok], lines.sku[ok]), lines.qty[ok])
    ndc = net.node_kind == 0
    stock = np.where(ndc[:, None], 500, 0).astype(np.int64) * np.ones((n, N_SKUS), np.int64)
    rows = []
    for d in range(n_days):
        spoiled = np.where((net.node_kind == 2)[:, None] & (rng.random((n, N_SKUS)) < 0.05), 1, 0)
        spoiled = np.minimum(spoiled, stock)
        received = np.where(ndc[:, None], 0, shipped[d] + spoiled + rng.integers(0, 2, (n, N_SKUS)))
        out = np.zeros((n, N_SKUS), np.int64)
        out[np.flatnonzero(ndc)[0]] = received.sum(axis=0)
        end = stock + received - shipped[d] - out - spoiled
        lost = rng.integers(0, 2, (n, N_SKUS))
        for nd in range(n):
            for s in range(N_SKUS):
                vals = (
                    stock[nd, s],
                    received[nd, s],
                    shipped[d, nd, s],
                    out[nd, s],
                    spoiled[nd, s],
                    end[nd, s],
                    lost[nd, s],
                )
                if any(vals):  # absent rows mean zero
                    rows.append((d, nd, s, *vals))
        stock = end
    a = np.array(rows, np.int64)
    return InventoryRecords(
        day=a[:, 0].astype(np.int32),
        node=a[:, 1].astype(np.int32),
        sku=a[:, 2].astype(np.int32),
        start=a[:, 3],
        received=a[:, 4],
        shipped=a[:, 5],
        transferred_out=a[:, 6],
        spoiled=a[:, 7],
        end=a[:, 8],
        lost_demand=a[:, 9],
    )


def clone(records: RunRecords) -> RunRecords:
    return copy.deepcopy(records)
