"""Periodic-review order-up-to replenishment along supply lanes, in truck shipments.

At each review, every forward node asks its supplier for ``max(0, target - position)`` units per
SKU. FDCs are served before the stores they supply, so a store sees what its FDC has left. A
supplier short of stock rations what it has in proportion to the requests (largest-remainder
rounding, deterministic). One lane's units travel together: the number of trucks is the shipped
volume over the truck capacity, rounded up, and each truck costs the lane's fixed cost; every unit
costs the per-unit handling. NDCs are refilled from an external supplier: immediately
(``unlimited``) or after ``lead_time_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sim.inventory.state import InventoryState
from sim.units import DAY, HOUR, haversine_km

if TYPE_CHECKING:
    from sim.io.scenario.models import Scenario
    from sim.network.build import Network


@dataclass
class Shipment:
    """Units in transit on lanes (one row per node x SKU moved), arriving at `arrive_s`."""

    arrive_s: np.ndarray
    node: np.ndarray
    sku: np.ndarray
    qty: np.ndarray
    # inventory.fresh.carry_age: the day a perishable unit would have been received new (departure day - its
    # age); it enters the receiver's cohorts aged (arrival day - origin). None / -1: received new
    origin_day: np.ndarray | None = None

    def origins(self) -> np.ndarray:
        return self.origin_day if self.origin_day is not None else np.full(self.qty.size, -1, np.int64)


def _aged(ship: Shipment, split: tuple[np.ndarray, np.ndarray, np.ndarray] | None, now_s: float) -> Shipment:
    """`ship`'s rows split by the age of their units (``InventoryState.transfer_out`` with carry_age)."""
    if split is None:
        return ship
    r, slot, q = split
    return Shipment(ship.arrive_s[r], ship.node[r], ship.sku[r], q, origin_day=int(now_s // DAY) - slot)


def _concat(parts: list[Shipment]) -> Shipment:
    origin = (
        None if all(p.origin_day is None for p in parts) else np.concatenate([p.origins() for p in parts])
    )
    a, n, s, q = (np.concatenate([getattr(p, f) for p in parts]) for f in ("arrive_s", "node", "sku", "qty"))
    return Shipment(a, n, s, q, origin_day=origin)


def ration(request: np.ndarray, supply: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Split each group's supply over its requests in proportion to need (integers, never above a request).

    `request` and `group` are per row; `supply[g]` is what group g has. Largest-remainder rounding
    with ties broken by row order, so the result is deterministic.
    """
    total = np.bincount(group, weights=request, minlength=supply.size)
    short = total > supply
    if not short[group].any():
        return request.copy()
    frac = np.where(short[group], request * (supply[group] / np.maximum(total[group], 1)), request)
    give = np.floor(frac).astype(np.int64)
    left = supply - np.bincount(group, weights=give, minlength=supply.size).astype(np.int64)
    rem = frac - give
    order = np.lexsort((np.arange(rem.size), -rem, group))  # by group, largest remainder first
    g_sorted = group[order]
    first = np.searchsorted(g_sorted, g_sorted)  # index of each group's first row in sorted order
    rank = np.arange(order.size) - first
    extra = (rank < left[g_sorted]) & short[g_sorted] & (rem[order] > 0)
    give[order[extra]] += 1
    return cast(np.ndarray, np.minimum(give, request))


def plan_replenishment(
    inv: InventoryState,
    targets: np.ndarray,
    supplier: np.ndarray,
    level: np.ndarray,
    volume_l: np.ndarray,
    truck_capacity_m3: np.ndarray,
    truck_fixed_cny: np.ndarray,
    truck_per_unit_cny: np.ndarray,
    lead_time_s: np.ndarray,
    now_s: float,
    cross_dock: np.ndarray | None = None,
) -> tuple[Shipment, float]:
    """Create the review's shipments (stock leaves suppliers now) and return them with their cost (CNY).

    `level` orders the echelons: nodes with a smaller level are replenished first (FDCs before stores).
    `cross_dock` (S,) bool marks the SKUs (fresh, ``inventory.fresh.cross_dock``) a node whose supplier has a
    supplier of its own (a store below an FDC) receives straight from that upper supplier through its own
    supplier the same day: the row takes the upper supplier's stock (rationed with the requests made to it),
    arrives after both lanes' lead times and rides both lanes' trucks (the middle node's inbound volume this
    review gains it: its extra trucks and per-unit handling are paid), and is never on the middle node's books.
    """
    parts: list[Shipment] = []
    cost = 0.0
    inbound_m3 = np.zeros(supplier.size)  # each node's inbound lane volume this review (cross-dock trucks)
    for lv in np.unique(level[supplier >= 0]):
        dest = np.flatnonzero((supplier >= 0) & (level == lv))
        need = np.maximum(targets[dest] - inv.position()[dest], 0)
        rows_n, rows_s = np.nonzero(need)
        if rows_n.size == 0:
            continue
        node, sku, req = dest[rows_n], rows_s, need[rows_n, rows_s]
        src = supplier[node]
        via = np.full(node.size, -1, np.int64)  # the middle node a cross-docked row passes through
        if cross_dock is not None:
            through = cross_dock[sku] & (supplier[src] >= 0)
            via[through] = src[through]
            src = np.where(through, supplier[src], src)
        # ration per (supplier, sku) pair
        key = src * inv.on_hand.shape[1] + sku
        uniq, grp = np.unique(key, return_inverse=True)
        have = np.maximum(inv.available(uniq // inv.on_hand.shape[1], uniq % inv.on_hand.shape[1]), 0)
        give = ration(req, have, grp)
        m = give > 0
        node, sku, give, src, via = node[m], sku[m], give[m], src[m], via[m]
        if node.size == 0:
            continue
        split = inv.transfer_out(src, sku, give)
        inv.ship_in(node, sku, give)
        vol_m3 = np.bincount(node, weights=give * volume_l[sku], minlength=supplier.size) / 1000.0
        units = np.bincount(node, weights=give, minlength=supplier.size)
        trucks = np.ceil(
            np.divide(vol_m3, truck_capacity_m3, out=np.zeros_like(vol_m3), where=units > 0) - 1e-9
        )
        cost += float((trucks * truck_fixed_cny).sum() + (units * truck_per_unit_cny).sum())
        inbound_m3 += vol_m3
        lead = lead_time_s[node]
        x = via >= 0
        if x.any():  # cross-docked rows: the upper lane first, then this one
            lead = lead + lead_time_s[np.maximum(via, 0)] * x
            cost += _through_cost(
                via[x],
                give[x] * volume_l[sku[x]] / 1000.0,
                give[x],
                inbound_m3,
                truck_capacity_m3,
                truck_fixed_cny,
                truck_per_unit_cny,
            )
        parts.append(_aged(Shipment(now_s + lead, node, sku, give), split, now_s))
    if not parts:
        return Shipment(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)), 0.0
    return _concat(parts), cost


def _through_cost(
    via: np.ndarray,
    m3: np.ndarray,
    units: np.ndarray,
    inbound_m3: np.ndarray,
    capacity_m3: np.ndarray,
    fixed_cny: np.ndarray,
    per_unit_cny: np.ndarray,
) -> float:
    """Cost of cross-docked units on their middle node's inbound lane: the trucks they add to what that lane
    already carries this review (``inbound_m3``, updated) and the lane's per-unit handling."""
    add = np.bincount(via, weights=m3, minlength=inbound_m3.size)
    n = np.bincount(via, weights=units, minlength=inbound_m3.size)
    before = np.ceil(
        np.divide(inbound_m3, capacity_m3, out=np.zeros_like(inbound_m3), where=inbound_m3 > 0) - 1e-9
    )
    inbound_m3 += add
    after = np.ceil(
        np.divide(inbound_m3, capacity_m3, out=np.zeros_like(inbound_m3), where=inbound_m3 > 0) - 1e-9
    )
    return float(((after - before) * fixed_cny).sum() + (n * per_unit_cny).sum())


def lateral_transfers(
    inv: InventoryState, moves: Any, net: Network, sc: Scenario, volume_l: np.ndarray, now_s: float
) -> tuple[Shipment, float]:
    """Move stock between nodes as a policy asks (e.g. rebalancing FDCs), capped at what the source has.

    Each (src, dst) pair is one lane priced like an NDC->FDC lane (``lanes.ndc_fdc``) over the road
    distance: trucks = ceil(volume / capacity) at fixed + per-km cost, plus the per-unit cost.
    """
    if moves is None or not len(moves.qty):
        return Shipment(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)), 0.0
    src, dst, sku = (np.asarray(a, np.int64) for a in (moves.src, moves.dst, moves.sku))
    qty = np.asarray(moves.qty, np.int64).copy()
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # carry_age: (row, age slot, units)
    # cap in row order so two rows from one source never take the same units
    for i in range(qty.size):
        qty[i] = max(0, min(qty[i], int(inv.available(src[i], sku[i]))))
        if qty[i]:
            split = inv.transfer_out(src[i : i + 1], sku[i : i + 1], qty[i : i + 1])
            if split is not None:
                pieces.append((split[0] + i, split[1], split[2]))
    keep = qty > 0
    src, dst, sku, qty = src[keep], dst[keep], sku[keep], qty[keep]
    if not qty.size:
        return Shipment(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)), 0.0
    inv.ship_in(dst, sku, qty)
    lane = sc.lanes.ndc_fdc
    pair, inverse = np.unique(np.stack([src, dst]), axis=1, return_inverse=True)
    km = (
        haversine_km(
            net.node_lat[pair[0]], net.node_lon[pair[0]], net.node_lat[pair[1]], net.node_lon[pair[1]]
        )
        * sc.geography.circuity
    )
    vol_m3 = np.bincount(inverse, weights=qty * volume_l[sku], minlength=pair.shape[1]) / 1000.0
    trucks = np.ceil(vol_m3 / lane.truck_capacity_m3 - 1e-9)
    cost = float((trucks * (lane.fixed_cny + lane.per_km_cny * km)).sum() + qty.sum() * lane.per_unit_cny)
    lead = HOUR * (lane.base_h + km / lane.truck_speed_kmh)
    ship = Shipment(now_s + lead[inverse], dst, sku, qty)
    if pieces:
        at = np.cumsum(keep) - 1  # original row -> row of the kept ones
        ship = _aged(
            ship,
            (
                at[np.concatenate([p[0] for p in pieces])],
                *(np.concatenate([p[k] for p in pieces]) for k in (1, 2)),
            ),
            now_s,
        )
    return ship, cost


class Pipeline:
    """Shipments in transit; `arrivals(until)` pops everything due."""

    def __init__(self) -> None:
        self.pending = Shipment(
            np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
        )
        self.origin = np.empty(0, np.int64)  # per pending row: Shipment.origin_day (-1: received new)

    def add(self, s: Shipment) -> None:
        if s.qty.size:
            self.pending = Shipment(
                *(
                    np.concatenate([getattr(self.pending, f), getattr(s, f)])
                    for f in ("arrive_s", "node", "sku", "qty")
                )
            )
            self.origin = np.concatenate([self.origin, s.origins()])

    def add_external(self, arrive_s: float, node: np.ndarray, sku: np.ndarray, qty: np.ndarray) -> None:
        """Units from the external supplier (already counted in the pipeline by the caller)."""
        self.add(Shipment(np.full(node.size, arrive_s), node, sku, qty))

    def arrivals(self, until_s: float) -> Shipment:
        due = self.pending.arrive_s <= until_s
        p = self.pending
        out = Shipment(p.arrive_s[due], p.node[due], p.sku[due], p.qty[due], origin_day=self.origin[due])
        self.pending = Shipment(*(getattr(self.pending, f)[~due] for f in ("arrive_s", "node", "sku", "qty")))
        self.origin = self.origin[~due]
        return out

    def next_arrival(self) -> float:
        return float(self.pending.arrive_s.min()) if self.pending.arrive_s.size else np.inf
