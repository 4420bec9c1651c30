"""The order book: every order of the run as growing arrays, with its outcome as it happens."""

from __future__ import annotations

from typing import cast

import numpy as np

from sim.demand.orders import Orders
from sim.records import LOST, NO_TIER, OPEN, LineRecords, OrderRecords

SHIP_BASE = (
    1 << 40
)  # refs >= SHIP_BASE name shipment SHIP_BASE + j of a split order, smaller ones whole orders


class OrderBook:
    def __init__(self) -> None:
        z = np.empty(0)
        self.order_id = np.empty(0, np.int64)
        self.created_s, self.u_service, self.u_decision = z, z, z
        self.zone = np.empty(0, np.int32)
        self.city = np.empty(0, np.int32)
        self.requested_tier = np.empty(0, np.int8)
        self.line_offsets = np.zeros(1, np.int64)
        self.line_sku = np.empty(0, np.int32)
        self.line_qty = np.empty(0, np.int32)
        # substitution (sim.engine.substitution): line_sku is the SKU shipped, line_ordered the one ordered;
        # line_sub_u each line's substitution uniform (common random numbers, drawn with the demand)
        self.line_ordered = np.empty(0, np.int32)
        self.line_sub_u = np.empty(0)
        # the routing reason of a short line (sim.engine.substitution): True when the line was short in stock at
        # every node of its requested tier or faster that was open, in reach and had capacity for the order
        self.line_stockout = np.empty(0, bool)
        # partial fulfilment (sim.engine.substitution): a line the customer dropped (no units picked, a lost line
        # sale) while the rest of its order is served
        self.line_dropped = np.empty(0, bool)
        self._warmup = np.empty(0, bool)
        self.served_tier = np.empty(0, np.int8)
        self.node = np.empty(0, np.int32)
        self.status = np.empty(0, np.int8)
        self.promised_s, self.delivered_s, self.deadline_s, self.pick_start_s = z, z, z, z
        self.downgraded = np.empty(0, bool)
        # tiers.near.record_stocked: routed while a covering store in its hours held every line (routing_step)
        self.near_stocked = np.empty(0, bool)
        self.oversold = np.empty(0, bool)  # sent back from a store whose shelf was short (sim.engine.offline)
        self.cost_handling, self.cost_transport, self.cost_penalty, self.cost_split = z, z, z, z
        self.carry = np.empty(0, np.int64)
        self.next_new = 0
        # split orders (sim.engine.shipments): per order, shipments and the ones not yet delivered; per line,
        # the node and tier of its shipment (-1: the order's own); per shipment j (ref SHIP_BASE + j) below
        self.n_ship = np.empty(0, np.int8)
        self.ship_pending = np.empty(0, np.int8)
        self.ship_last = np.empty(0)  # latest delivery among a split order's delivered shipments
        self.line_node = np.empty(0, np.int32)
        self.line_tier = np.empty(0, np.int8)
        self.ship_parent = np.empty(0, np.int64)
        self.ship_node = np.empty(0, np.int32)
        self.ship_est = np.empty(0)  # routing estimate of the shipment's transport cost (calibration)
        self.ship_delivered = np.empty(0)
        self.ship_line_offsets = np.zeros(1, np.int64)
        self.ship_lines = np.empty(0, np.int64)  # global line indices

    @property
    def n(self) -> int:
        return int(self.order_id.size)

    def add_day(self, o: Orders, warmup: bool) -> None:
        n = o.n_orders
        cat = np.concatenate
        self.line_offsets = cat([self.line_offsets, self.line_offsets[-1] + o.line_offsets[1:]])
        self.line_sku, self.line_qty = cat([self.line_sku, o.line_sku]), cat([self.line_qty, o.line_qty])
        self.line_ordered = cat([self.line_ordered, o.line_sku])
        self.line_stockout = cat([self.line_stockout, np.zeros(o.line_sku.size, bool)])
        self.line_dropped = cat([self.line_dropped, np.zeros(o.line_sku.size, bool)])
        self.line_node = cat([self.line_node, np.full(o.line_sku.size, -1, np.int32)])
        self.line_tier = cat([self.line_tier, np.full(o.line_sku.size, NO_TIER, np.int8)])
        self.n_ship = cat([self.n_ship, np.zeros(n, np.int8)])
        self.ship_pending = cat([self.ship_pending, np.zeros(n, np.int8)])
        self.ship_last = cat([self.ship_last, np.full(n, -np.inf)])
        for name in ("order_id", "created_s", "zone", "city", "requested_tier", "u_service", "u_decision"):
            setattr(self, name, cat([getattr(self, name), getattr(o, name)]))
        self._warmup = cat([self._warmup, np.full(n, warmup)])
        self.served_tier = cat([self.served_tier, np.full(n, NO_TIER, np.int8)])
        self.node = cat([self.node, np.full(n, -1, np.int32)])
        self.status = cat([self.status, np.full(n, OPEN, np.int8)])
        for name in ("promised_s", "delivered_s", "deadline_s", "pick_start_s"):
            setattr(self, name, cat([getattr(self, name), np.full(n, np.nan)]))
        self.downgraded = cat([self.downgraded, np.zeros(n, bool)])
        self.oversold = cat([self.oversold, np.zeros(n, bool)])
        self.near_stocked = cat([self.near_stocked, np.zeros(n, bool)])
        for name in ("cost_handling", "cost_transport", "cost_penalty", "cost_split"):
            setattr(self, name, cat([getattr(self, name), np.zeros(n)]))

    def warmup_mask(self) -> np.ndarray:
        return self._warmup

    def n_lines(self, idx: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, self.line_offsets[idx + 1] - self.line_offsets[idx])

    def units(self, idx: np.ndarray) -> np.ndarray:
        cs = np.concatenate([[0], np.cumsum(self.line_qty, dtype=np.int64)])
        return cast(np.ndarray, cs[self.line_offsets[idx + 1]] - cs[self.line_offsets[idx]])

    def ref_lines(self, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in `ref`, global line) for every line of each ref: a whole order's lines or a shipment's."""
        ref = np.asarray(ref, np.int64)
        ship = ref >= SHIP_BASE
        j = np.where(ship, ref - SHIP_BASE, 0)
        o = np.where(ship, 0, ref)
        start = np.where(ship, self.ship_line_offsets[j], self.line_offsets[o])
        end = np.where(ship, self.ship_line_offsets[j + 1], self.line_offsets[o + 1])
        n = end - start
        pos = np.repeat(np.arange(ref.size), n)
        k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
        return pos, np.where(
            ship[pos], self.ship_lines[np.where(ship[pos], k, 0)] if self.ship_lines.size else 0, k
        )

    def take_batch(self, t: float) -> np.ndarray:
        """Carried orders (oldest first), then the orders created before t not yet routed."""
        if not self.carry.size and (self.next_new >= self.n or self.created_s[self.next_new] >= t):
            return self.carry
        end = int(np.searchsorted(self.created_s, t, side="left"))
        new = np.arange(self.next_new, max(end, self.next_new), dtype=np.int64)
        self.next_new = max(end, self.next_new)
        out = np.concatenate([self.carry, new])
        self.carry = np.empty(0, np.int64)
        return out

    def records(
        self,
        preferred: np.ndarray,
        substitution: bool = False,
        offline: bool = False,
        stocked: bool = False,
    ) -> tuple[OrderRecords, LineRecords]:
        """The order and line records; with `substitution` the lines' substitutes and the orders' count of them,
        with `offline` the orders' oversold flags, with `stocked` their near_stocked flags."""
        n_lines = np.diff(self.line_offsets)
        sub = (
            np.where(self.line_sku != self.line_ordered, self.line_sku, -1).astype(np.int32)
            if substitution
            else None
        )
        pref = np.where(self.requested_tier >= 0, preferred[self.requested_tier, self.zone], -1)
        line_order = np.repeat(np.arange(self.n), n_lines)
        dropped = np.bincount(line_order, weights=self.line_dropped, minlength=self.n).astype(np.int64)
        orders = OrderRecords(
            order_id=self.order_id,
            created_s=self.created_s,
            zone=self.zone,
            city=self.city,
            n_lines=n_lines.astype(np.int16),
            units=self.units(np.arange(self.n)).astype(np.int32),
            requested_tier=self.requested_tier,
            served_tier=self.served_tier,
            node=self.node,
            status=self.status,
            promised_s=self.promised_s,
            delivered_s=self.delivered_s,
            downgraded=self.downgraded,
            n_shipments=np.where(self.node >= 0, np.maximum(self.n_ship, 1), 0).astype(np.int8),
            warmup=self._warmup,
            cost_handling=self.cost_handling,
            cost_transport=self.cost_transport,
            cost_split=self.cost_split,
            cost_penalty=self.cost_penalty,
            missing_lines=np.where(self.status == LOST, n_lines, dropped).astype(np.int16),
            substituted_lines=None
            if sub is None
            else np.bincount(line_order, weights=sub >= 0, minlength=self.n).astype(np.int16),
            oversold=self.oversold.copy() if offline else None,
            near_stocked=self.near_stocked.copy() if stocked else None,
        )

        def rep(a: np.ndarray) -> np.ndarray:
            return np.repeat(a, n_lines)

        lines = LineRecords(
            order_id=rep(self.order_id),
            sku=self.line_ordered,
            qty=self.line_qty,
            preferred_node=rep(pref).astype(np.int32),
            # a dropped line (partial fulfilment) is a lost line of a served order: no node, no tier
            node=np.where(
                self.line_dropped, -1, np.where(self.line_node >= 0, self.line_node, rep(self.node))
            ).astype(np.int32),
            served_tier=np.where(
                self.line_dropped,
                np.int8(NO_TIER),
                np.where(self.line_node >= 0, self.line_tier, rep(self.served_tier)),
            ).astype(np.int8),
            status=np.where(self.line_dropped, np.int8(LOST), rep(self.status)).astype(np.int8),
            substitute_sku=sub,
            stockout=self.line_stockout.copy() if substitution else None,
        )
        return orders, lines
