"""Build one epoch's options, vectorised across orders and nodes.

Candidates of an order: the stores whose rider radius covers its zone (near), the FDCs whose van
radius covers it (mid) and every NDC (far). A candidate is *stock-feasible* when every line is in
stock at the node and eligible for the node's tier, and *feasible* when, in addition, the node can
make the tier's promise now (service hours, picker/rider queue for stores, wave and outbound
capacity left). Options at the requested tier or faster are *primary*; slower ones are downgrade
*offers*, built only for orders with no primary option whose shortage cannot be waited out.

``EpochOptions`` is that epoch as one struct (built by ``sim.engine.option_build.build_options``):
every later step of ``sim.engine.routing_step.route_epoch`` (prices, solve, repair, offers, dispatch)
and ``--explain`` read it instead of passing its arrays one by one. Three index spaces: the batch's
*orders* (n), candidate *pairs* (P, grouped by order) and the pair x order-line *expansion* (L).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from sim.vocab import Tier

NEAR, MID, FAR = Tier.NEAR, Tier.MID, Tier.FAR  # aliases of sim.vocab.Tier (new code names Tier.*)


@dataclass(frozen=True)
class ShipmentRows:
    """Shipment rows of an epoch for a router that splits orders (``sim.engine.shipments.split_rows``):
    pairs that may ship part of their order, and entries (a line the pair's node holds)."""

    cover: np.ndarray  # (n,) bool: the order's lines are covered by at most max_shipments shipment pairs
    ships: np.ndarray  # (S,) pair index of each shipment row
    fixed: np.ndarray  # (S,) the shipment's cost apart from its lines' picking
    entry: np.ndarray  # (R,) index into the pair x line expansion of each line row
    sl_ship: np.ndarray  # (R,) shipment row of each line row
    sl_cost: np.ndarray  # (R,) picking cost of the line at its pair's node


@dataclass
class EpochOptions:
    """One routing epoch's candidates with their stock, estimates and classification (see module doc)."""

    t: float  # routing time (the end of the epoch)
    idx: np.ndarray  # (n,) book indices of the batch's orders
    zone: np.ndarray  # (n,)
    req: np.ndarray  # (n,) int64 requested tier
    created: np.ndarray  # (n,)
    n_lines: np.ndarray  # (n,)
    p_row: np.ndarray  # (P,) order row of each pair, non-decreasing
    p_node: np.ndarray  # (P,)
    p_tier: np.ndarray  # (P,) int64 tier the pair's node serves at
    pair: np.ndarray  # (L,) pair of each expansion entry (grouped)
    line: np.ndarray  # (L,) global line index (book)
    sku: np.ndarray  # (L,)
    qty: np.ndarray  # (L,)
    avail_line: np.ndarray  # (L,) on hand - reserved at the pair's node
    elig_line: np.ndarray  # (L,) the SKU may be served at the pair's tier
    ok_line: np.ndarray  # (L,) in stock and eligible
    stock_ok: np.ndarray  # (P,) every line ok
    km: np.ndarray  # (P,) road km (0 for parcels)
    eta: np.ndarray  # (P,) estimated delivery
    promise: np.ndarray  # (P,) the tier's deadline
    handling: np.ndarray  # (P,) estimated handling cost
    transport_est: np.ndarray  # (P,) transport estimate (rider trip, van stop bound, parcel)
    transport: np.ndarray  # (P,) the estimate scaled by the node's realised / estimated cost once seen
    feasible: np.ndarray  # (P,) the node can make the promise now
    is_open: np.ndarray  # (P,) near pairs: the store is within its service hours (True for other tiers)
    wave: int  # the mid wave an FDC option rides
    ship_day: int  # the day an NDC option ships
    capacity: np.ndarray  # (N,) orders each node can still take this epoch
    at_or_faster: np.ndarray  # (P,) the pair's tier is the requested one or faster
    primary: np.ndarray  # (P,) stock-feasible, feasible, at or faster, capacity left
    has_primary: np.ndarray  # (n,) a primary option (or a split covering the order)
    can_wait: np.ndarray  # (n,) the order's carry deadline is after the next epoch
    wait: np.ndarray  # (n,) no primary, a store queue shortage, may wait: carried, not offered
    accept: np.ndarray  # (P,) acceptance probability of the pair's tier for the order
    offer: np.ndarray  # (P,) a downgrade offer
    lost_cost: np.ndarray  # (n,) the order's lost-sale cost
    ships: ShipmentRows | None = None  # shipment rows, for a router that splits
    sub_sku: np.ndarray | None = None  # (L,) substitute SKU of each entry (-1 none); None: substitution off
    # partial fulfilment (tiers.substitution.drop): (L,) the entry's line is dropped if its pair is chosen (qty 0),
    # and (P,) the dropped lines' lost margin per pair; None: no line dropped this epoch
    drop: np.ndarray | None = None
    drop_cost: np.ndarray | None = None
    # orders certain to wait this epoch with no option (``option_build.park``): in the batch, without pairs
    parked: np.ndarray | None = None  # (n,) bool, or None when nothing is parked
    capacity_done: bool = False  # ``capacity`` already filled (by ``candidates``, for parking)

    @property
    def n(self) -> int:
        return int(self.idx.size)

    @property
    def n_pairs(self) -> int:
        return int(self.p_row.size)


@dataclass(frozen=True)
class Candidates:
    """Zone -> covering nodes of one kind, as CSR (rows sorted by road km)."""

    offsets: np.ndarray
    nodes: np.ndarray

    @classmethod
    def build(cls, covers: np.ndarray, road_km: np.ndarray, nodes_of_kind: np.ndarray) -> Candidates:
        sub = covers[:, nodes_of_kind]
        km = np.where(sub, road_km[:, nodes_of_kind], np.inf)
        order = np.argsort(km, axis=1, kind="stable")
        counts = sub.sum(axis=1)
        ranked = nodes_of_kind[order]
        keep = np.arange(len(nodes_of_kind))[None, :] < counts[:, None]
        return cls(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), ranked[keep].astype(np.int64))

    def expand(self, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row into `zones`, node) for every candidate of every zone."""
        start, end = self.offsets[zones], self.offsets[zones + 1]
        n = end - start
        rows = np.repeat(np.arange(zones.size), n)
        pos = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
        return rows, self.nodes[pos]


def pairs_lines(pair_order: np.ndarray, line_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand (pair) x (lines of the pair's order): returns (pair index, global line index)."""
    start, end = line_offsets[pair_order], line_offsets[pair_order + 1]
    n = end - start
    pair = np.repeat(np.arange(pair_order.size), n)
    line = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
    return pair, line


def all_per_pair(ok_line: np.ndarray, pair: np.ndarray, n_pairs: int) -> np.ndarray:
    """True for pairs whose every line is ok."""
    bad = np.bincount(pair[~ok_line], minlength=n_pairs)
    return cast(np.ndarray, bad == 0)


def lines_of(line_offsets: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Global line indices of the orders `idx`, grouped by order in `idx` order."""
    start, end = line_offsets[idx], line_offsets[idx + 1]
    n = end - start
    return cast(np.ndarray, np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n))
