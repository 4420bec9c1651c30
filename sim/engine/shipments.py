"""Split orders in the engine: shipment rows for routers with ``route_lines`` and the orders' shipments.

Only routers that split (``sim.routing.base.RoutesLines``, i.e. ``mip`` with ``router.max_shipments`` > 1)
see these rows; for every other router the epoch is exactly as before.

**Rows.** A shipment row is a candidate (order, node) pair of a multi-line order at the requested tier
or faster that can make its promise now (the pair's feasibility, computed for the whole order: a
partial shipment picks fewer lines, so it is only earlier) at a node with capacity left, holding at
least one line; a line row is a line that node holds (stock and tier-eligible). A pair's cost
``handling + transport`` splits into a per-line part (picker time per line at the pair's rate) and
the rest (base handling, transport), so a shipment of all lines costs exactly the whole option.
An order whose lines can be covered by at most ``max_shipments`` nodes counts as having a primary option
(no downgrade offer, must serve), as an order with a whole option does.

**Shipments.** A split order's shipments are rows of the book (refs ``SHIP_BASE + j``) that go through
their node's process like orders: store pickers then riders, the FDC's wave, the NDC's parcels; each
reserves its lines' stock at its node at its pick time. The order: served tier = the slowest
shipment's, promise = the latest shipment promise, node = the node of the shipment with most units,
costs summed plus the split cost, delivered with its last shipment (``deliver_shipments``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.book import SHIP_BASE
from sim.engine.options import EpochOptions, ShipmentRows, lines_of
from sim.routing.split import SplitRows
from sim.units import HOUR
from sim.vocab import Tier

if TYPE_CHECKING:
    from sim.engine.protocols import SimState

MAX_SPLIT_LINES = 62  # orders with more lines are never split (line sets are int64 bit masks)


def coverable(ship_order: np.ndarray, ship_mask: np.ndarray, full: np.ndarray, n: int, k: int) -> np.ndarray:
    """(n,) bool: order i's lines (bit mask full[i]) are the union of the masks of at most k of its rows."""
    order = np.argsort(ship_order, kind="stable")
    so, sm = ship_order[order], ship_mask[order]
    start = np.searchsorted(so, np.arange(n))
    cnt = np.bincount(so, minlength=n)
    r_o, r_m = so, sm
    for _ in range(k - 1):
        c = cnt[r_o]
        rep_o = np.repeat(r_o, c)
        j = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c) + np.repeat(start[r_o], c)
        both = (
            np.unique(np.stack([rep_o, np.repeat(r_m, c) | sm[j]]), axis=1)
            if c.sum()
            else np.zeros((2, 0), np.int64)
        )
        r_o, r_m = both[0], both[1]
    out = np.zeros(n, bool)
    out[r_o[r_m == full[r_o]]] = True
    return out


def split_rows(sim: SimState, ep: EpochOptions, max_shipments: int) -> ShipmentRows:
    """Shipment pairs and line entries of the batch: pairs of multi-line orders at the requested tier or
    faster that can make their promise now at a node with capacity left, holding at least one line."""
    costs = sim.sc.costs
    p_row, p_node, p_tier, pair, n_lines = ep.p_row, ep.p_node, ep.p_tier, ep.pair, ep.n_lines
    line_part = np.zeros(p_row.size)
    m = p_tier == Tier.NEAR
    line_part[m] = costs.picker_per_hour_cny * sim.store_pick_line[sim.row[p_node[m]]] / HOUR
    m = p_tier == Tier.MID
    line_part[m] = costs.picker_per_hour_cny * sim.fdc_pick_line[sim.row[p_node[m]]] / HOUR
    ship_ok = ep.feasible & ep.at_or_faster & (ep.capacity[p_node] > 0)
    ship_ok = ship_ok & (n_lines[p_row] > 1) & (n_lines[p_row] <= MAX_SPLIT_LINES)
    e = np.flatnonzero(ep.ok_line & ship_ok[pair])
    first = np.searchsorted(pair, np.arange(p_row.size))  # pairs are grouped in the expansion
    pos = np.arange(pair.size) - first[pair]  # the line's position within its order
    mask = np.zeros(p_row.size, np.int64)
    np.bitwise_or.at(mask, pair[e], np.left_shift(np.int64(1), pos[e]))
    ships = np.flatnonzero(mask != 0)
    full = np.left_shift(np.int64(1), np.minimum(n_lines, MAX_SPLIT_LINES)) - 1
    cover = coverable(p_row[ships], mask[ships], full, ep.n, max_shipments)
    ships = ships[cover[p_row[ships]]]
    ship_of_pair = np.full(p_row.size, -1, np.int64)
    ship_of_pair[ships] = np.arange(ships.size)
    e = e[ship_of_pair[pair[e]] >= 0]
    base = ep.handling + ep.transport
    fixed = base[ships] - line_part[ships] * n_lines[p_row[ships]]
    return ShipmentRows(
        cover=cover,
        ships=ships,
        fixed=fixed,
        entry=e,
        sl_ship=ship_of_pair[pair[e]],
        sl_cost=line_part[pair[e]],
    )


def make_split(
    ep: EpochOptions,
    line_offsets_idx: np.ndarray,
    sl_key: np.ndarray,
    split_cost: float,
    ship_res: np.ndarray | None,
    sl_res: np.ndarray | None,
) -> SplitRows:
    """``SplitRows`` of the batch (``sl_key``: each line row's stock key, in the batch's key space;
    ``line_offsets_idx``: the book's first line of each batch order)."""
    assert ep.ships is not None
    sr, n_lines, p_row = ep.ships, ep.n_lines, ep.p_row
    e = sr.entry
    first_line = np.cumsum(n_lines) - n_lines  # batch line index of each order's first line
    sl_line = first_line[p_row[ep.pair[e]]] + (ep.line[e] - line_offsets_idx[p_row[ep.pair[e]]])
    return SplitRows(
        line_order=np.repeat(np.arange(n_lines.size), n_lines),
        ship_order=p_row[sr.ships],
        ship_node=ep.p_node[sr.ships],
        ship_cost=sr.fixed,
        sl_ship=sr.sl_ship,
        sl_line=sl_line,
        sl_cost=sr.sl_cost,
        sl_key=sl_key,
        sl_qty=ep.qty[e].astype(np.int64),
        split_cost=split_cost,
        ship_reservation=ship_res,
        sl_reservation=sl_res,
    )


def apply_split(
    sim: SimState, ep: EpochOptions, orders: np.ndarray, line_ship: np.ndarray, rows: SplitRows
) -> None:
    """Assign the split orders `orders` (book indices): one book shipment per (order, node) their lines use.
    ``line_ship``: shipment row of each of their lines (global lines grouped by order)."""
    b, inv, costs = sim.book, sim.inv, sim.sc.costs
    assert ep.ships is not None
    ships, t, g, ship_day = ep.ships.ships, ep.t, ep.wave, ep.ship_day
    p_node, p_tier, promise, km, est, transport = (
        ep.p_node,
        ep.p_tier,
        ep.promise,
        ep.km,
        ep.transport_est,
        ep.transport,
    )
    lines = lines_of(b.line_offsets, orders)
    # shipments, grouped by order in line order: (order position, shipment row) distinct
    opos = np.repeat(np.arange(orders.size), b.n_lines(orders))
    key = opos * (ships.size + 1) + line_ship
    uniq, inv_k = np.unique(key, return_inverse=True)
    inv_k = inv_k.ravel()
    s_pos, s_row = uniq // (ships.size + 1), uniq % (ships.size + 1)
    s_pair = ships[s_row]
    j0 = b.ship_parent.size
    J = uniq.size
    ref = SHIP_BASE + j0 + np.arange(J)
    parent = orders[s_pos]
    node, tier = p_node[s_pair], p_tier[s_pair]
    by_ship = np.argsort(inv_k, kind="stable")
    n_l = np.bincount(inv_k, minlength=J)
    units = np.bincount(inv_k, weights=b.line_qty[lines], minlength=J)
    b.ship_parent = np.concatenate([b.ship_parent, parent])
    b.ship_node = np.concatenate([b.ship_node, node.astype(np.int32)])
    b.ship_est = np.concatenate([b.ship_est, est[s_pair]])
    b.ship_delivered = np.concatenate([b.ship_delivered, np.full(J, np.nan)])
    b.ship_line_offsets = np.concatenate([b.ship_line_offsets, b.ship_line_offsets[-1] + np.cumsum(n_l)])
    b.ship_lines = np.concatenate([b.ship_lines, lines[by_ship]])
    b.line_node[lines] = node[inv_k]
    b.line_tier[lines] = tier[inv_k]

    # the order: the largest shipment's node, the slowest tier, the latest promise, summed costs
    k = np.bincount(s_pos, minlength=orders.size)
    big = np.lexsort((-units, s_pos))
    lead = big[np.r_[0, np.cumsum(k)[:-1]]]
    b.node[orders] = node[lead]
    worst_tier = np.zeros(orders.size, np.int64)
    np.maximum.at(worst_tier, s_pos, tier)
    latest = np.full(orders.size, -np.inf)
    np.maximum.at(latest, s_pos, promise[s_pair])
    b.served_tier[orders], b.promised_s[orders] = worst_tier, latest
    b.downgraded[orders] = False
    b.n_ship[orders] = k
    b.ship_pending[orders] = k
    # booked at the scenario's cost (rows.split_cost, what the router saw, may add the service-level price)
    b.cost_split[orders] = float(sim.sc.costs.split_per_extra_shipment_cny) * (k - 1)
    handling = np.zeros(J)
    ship_transport = est[s_pair].copy()  # the routing estimate until delivery books the realised cost

    pick_s = np.empty(J)
    near, mid, far = tier == Tier.NEAR, tier == Tier.MID, tier == Tier.FAR
    if near.any():
        srow = sim.row[node[near]]
        mean = sim.store_pick_base[srow] + sim.store_pick_line[srow] * n_l[near]
        start, end = sim.ops.pick(t, srow, mean, b.u_service[parent[near]])
        pick_s[near] = start
        handling[near] = costs.picker_per_hour_cny * (end - start) / HOUR
        sim.ops.ready(
            srow,
            ref[near],
            end,
            km[s_pair[near]],
            b.zone[parent[near]],
            promise[s_pair[near]] - sim.quote_slack_s,
            u=sim.trip_u[parent[near]] if sim.ops.trip is not None else None,
            assigned_s=t,
        )
    if mid.any():
        frow = sim.row[node[mid]]
        pick_s[mid] = sim.waves.cutoff_s(g)
        handling[mid] = (
            costs.picker_per_hour_cny * (sim.fdc_pick_base[frow] + sim.fdc_pick_line[frow] * n_l[mid]) / HOUR
        )
        z = b.zone[parent[mid]]
        sim.waves.add(g, ref[mid], frow, sim.net.zone_lat[z], sim.net.zone_lon[z], km[s_pair[mid]])
    if far.any():
        nrow = sim.row[node[far]]
        pick_s[far] = sim.parcels.cutoff_s(ship_day)
        handling[far] = costs.ndc_handling_per_order_cny
        ship_transport[far] = transport[s_pair[far]]
        sim.parcels.add(ship_day, ref[far], nrow, b.city[parent[far]], b.u_service[parent[far]])
    b.cost_handling[orders] = np.bincount(s_pos, weights=handling, minlength=orders.size)
    b.cost_transport[orders] = np.bincount(s_pos, weights=ship_transport, minlength=orders.size)
    first_pick = np.full(orders.size, np.inf)
    np.minimum.at(first_pick, s_pos, pick_s)
    b.pick_start_s[orders] = first_pick
    inv.reserve(
        node[inv_k].astype(np.int64),
        b.line_sku[lines].astype(np.int64),
        b.line_qty[lines].astype(np.int64),
        pick_s[inv_k],
    )


def deliver_shipments(
    sim: SimState, j: np.ndarray, delivered_s: np.ndarray, transport: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Book delivered shipments `j`; returns the split orders now complete and their delivery times
    (their last shipment's). Realised transport replaces each shipment's estimate in its order's cost
    and calibrates its node as for whole orders."""
    b = sim.book
    b.ship_delivered[j] = delivered_s
    parent = b.ship_parent[j]
    if transport is not None:
        nodes = b.ship_node[j]
        np.add.at(sim.estimated, nodes, b.ship_est[j])
        np.add.at(b.cost_transport, parent, transport - b.ship_est[j])
        np.add.at(sim.realised, nodes, transport)
        np.add.at(sim.realised_n, nodes, 1)
    np.subtract.at(b.ship_pending, parent, 1)
    np.maximum.at(b.ship_last, parent, delivered_s)
    done = np.unique(parent[b.ship_pending[parent] == 0])
    return done, b.ship_last[done]
