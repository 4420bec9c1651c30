"""Stock as arrays ``[node, sku]``: on-hand, reserved, pipeline, and the day's flows.

Stock is reserved when an order is assigned (so it is no longer *available*) and leaves the shelf
when it is picked; picks are queued with their time and applied in time order, so a day's flows
are attributed to the day the units physically moved. Perishable units age in FIFO cohorts by day
of receipt and spoil when older than their shelf life.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from sim.records import InventoryRecords
from sim.units import DAY


class InventoryState:
    """All stock in the network; every mutation keeps on_hand >= reserved >= 0."""

    def __init__(self, n_nodes: int, n_skus: int, shelf_life_days: np.ndarray, offline: bool = False) -> None:
        shape = (n_nodes, n_skus)
        self.on_hand = np.zeros(shape, np.int64)
        self.reserved = np.zeros(shape, np.int64)
        self.pipeline = np.zeros(shape, np.int64)
        self.start = np.zeros(shape, np.int64)
        self.received = np.zeros(shape, np.int64)
        self.shipped = np.zeros(shape, np.int64)
        self.transferred_out = np.zeros(shape, np.int64)
        self.spoiled = np.zeros(shape, np.int64)
        self.lost_demand = np.zeros(shape, np.int64)
        self.offline = (
            offline  # counter sales at shops (sim.engine.offline): the sold_offline flow is recorded
        )
        self.carry_age = False  # inventory.fresh.carry_age: a perishable unit keeps its age through transfers
        self.sold_offline = np.zeros(shape, np.int64)
        # perishables: units received per day cohort, [age_slot, node, perishable sku]
        life = np.where(np.isfinite(shelf_life_days), np.ceil(shelf_life_days), 0).astype(np.int64)
        self.perishable = np.flatnonzero(life > 0)
        self.life = life[self.perishable]
        self.max_life = int(self.life.max()) if self.perishable.size else 0
        self.cohorts = np.zeros((max(self.max_life, 1), n_nodes, self.perishable.size), np.int64)
        self._pending: list[
            tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
        ] = []  # (time, node, sku, qty)
        self._rows: list[InventoryRecords] = []

    # ------------------------------------------------------------------ queries
    def available(
        self, nodes: np.ndarray | slice = slice(None), skus: np.ndarray | slice = slice(None)
    ) -> np.ndarray:
        return self.on_hand[nodes, skus] - self.reserved[nodes, skus]

    def position(self) -> np.ndarray:
        """Inventory position: on hand - reserved + pipeline (what order-up-to compares with targets)."""
        return self.on_hand - self.reserved + self.pipeline

    # ------------------------------------------------------------------ mutations
    def reserve(self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray, pick_s: np.ndarray) -> None:
        """Reserve units now; they leave the shelf (are shipped) at `pick_s`."""
        np.add.at(self.reserved, (node, sku), qty)
        self._pending.append((pick_s, node, sku, qty))  # chunks: appending must not cost O(pending)

    def pending_picks(self) -> int:
        """Reserved lines not yet picked (picks scheduled after the last applied time)."""
        return sum(chunk[0].size for chunk in self._pending)

    def apply_picks(self, until_s: float) -> None:
        """Ship every reserved unit whose pick time is before `until_s`."""
        if not self._pending:
            return
        t, node, sku, qty = (np.concatenate(parts) for parts in zip(*self._pending, strict=True))
        due = t < until_s
        self._pending = [(t[~due], node[~due], sku[~due], qty[~due])] if (~due).any() else []
        if not due.any():
            return
        node, sku, qty = node[due], sku[due], qty[due]
        np.add.at(self.reserved, (node, sku), -qty)
        np.add.at(self.on_hand, (node, sku), -qty)
        np.add.at(self.shipped, (node, sku), qty)
        self._consume_cohorts(node, sku, qty)

    def sell_offline(self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray) -> None:
        """Units sold over a shop's counter leave the stock (when the online view learns of them); never units
        reserved for online orders (the shop locks them)."""
        qty = np.minimum(qty, self.on_hand[node, sku] - self.reserved[node, sku])
        np.add.at(self.on_hand, (node, sku), -qty)
        np.add.at(self.sold_offline, (node, sku), qty)
        self._consume_cohorts(node, sku, qty)

    def transfer_out(
        self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Units leave `node` for another node. With ``carry_age`` returns the rows split by age, FIFO in row
        order: (row, age slot, units) (slot 0 for non-perishables); else None."""
        np.add.at(self.on_hand, (node, sku), -qty)
        np.add.at(self.transferred_out, (node, sku), qty)
        if not self.carry_age:
            self._consume_cohorts(node, sku, qty)
            return None
        return self._take_by_row(node, sku, qty)

    def _take_by_row(
        self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Take rows' units from the cohorts oldest first, rows of one (node, SKU) in order; (row, slot, units)."""
        qty = np.asarray(qty, np.int64)
        rows = np.arange(qty.size)
        col = self._perishable_col(sku) if self.perishable.size else np.full(qty.size, -1)
        per = np.flatnonzero(col >= 0)
        out_r, out_s, out_q = [rows[col < 0]], [np.zeros(int((col < 0).sum()), np.int64)], [qty[col < 0]]
        if per.size:
            n, c, q = node[per], col[per], qty[per]
            o = np.lexsort((per, c, n))  # groups of one (node, SKU), rows in order
            n, c, q, r = n[o], c[o], q[o], per[o]
            cum = np.cumsum(q)
            g_first = np.r_[True, (n[1:] != n[:-1]) | (c[1:] != c[:-1])]
            g_start = np.maximum.accumulate(np.where(g_first, np.arange(q.size), 0))
            hi = cum - np.where(
                g_start > 0, cum[g_start - 1], 0
            )  # the row's units are [hi - q, hi) of its group
            lo = hi - q
            base = np.zeros(q.size, np.int64)
            for slot in range(self.cohorts.shape[0] - 1, -1, -1):  # oldest slot first
                have = self.cohorts[slot][n, c]
                a = np.clip(np.minimum(hi, base + have) - np.maximum(lo, base), 0, None)
                base = base + have
                m = a > 0
                if m.any():
                    out_r.append(r[m])
                    out_s.append(np.full(int(m.sum()), slot, np.int64))
                    out_q.append(a[m])
                    np.add.at(self.cohorts[slot], (n[m], c[m]), -a[m])
            rest = q - np.clip(np.minimum(hi, base) - lo, 0, None)  # beyond the cohorts: counted as new
            m = rest > 0
            out_r.append(r[m])
            out_s.append(np.zeros(int(m.sum()), np.int64))
            out_q.append(rest[m])
        r_all, s_all, q_all = (np.concatenate(x) for x in (out_r, out_s, out_q))
        o = np.lexsort((s_all, r_all))
        return r_all[o], s_all[o], q_all[o]

    def ship_in(self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray) -> None:
        """Units put on a truck towards `node` (pipeline until they arrive)."""
        np.add.at(self.pipeline, (node, sku), qty)

    def receive(
        self,
        node: np.ndarray,
        sku: np.ndarray,
        qty: np.ndarray,
        from_pipeline: bool = True,
        slot: np.ndarray | None = None,
    ) -> None:
        """Units arrive; perishables enter cohort `slot` (days already aged; None: new, slot 0)."""
        if from_pipeline:
            np.add.at(self.pipeline, (node, sku), -qty)
        np.add.at(self.on_hand, (node, sku), qty)
        np.add.at(self.received, (node, sku), qty)
        if self.perishable.size:
            col = self._perishable_col(sku)
            m = col >= 0
            if slot is None:
                np.add.at(self.cohorts[0], (node[m], col[m]), qty[m])
            else:  # a unit past its life arrives in the last slot and spoils at the day's close
                s = np.clip(slot[m], 0, self.cohorts.shape[0] - 1)
                np.add.at(self.cohorts, (s, node[m], col[m]), qty[m])

    def _perishable_col(self, sku: np.ndarray) -> np.ndarray:
        """Column of each SKU in the perishable arrays, -1 if not perishable."""
        lookup = np.full(self.on_hand.shape[1], -1, np.int64)
        lookup[self.perishable] = np.arange(self.perishable.size)
        return cast(np.ndarray, lookup[sku])

    def _consume_cohorts(self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray) -> None:
        """Take units from the oldest cohorts first (FIFO)."""
        if not self.perishable.size:
            return
        col = self._perishable_col(sku)
        m = col >= 0
        if not m.any():
            return
        take = np.zeros((self.on_hand.shape[0], self.perishable.size), np.int64)
        np.add.at(take, (node[m], col[m]), qty[m])
        for age in range(self.cohorts.shape[0] - 1, -1, -1):  # oldest slot first
            used = np.minimum(self.cohorts[age], take)
            self.cohorts[age] -= used
            take -= used
            if not take.any():
                break

    def age_and_spoil(self) -> np.ndarray:
        """End of day: units older than their shelf life spoil; returns spoiled units [node, sku]."""
        spoiled = np.zeros_like(self.on_hand)
        if not self.perishable.size:
            return spoiled
        # a unit received on day d in slot 0 has age 1 at the end of day d; it spoils when age > life
        for j, life in enumerate(self.life):
            expired = self.cohorts[life - 1 :, :, j].sum(axis=0)
            self.cohorts[life - 1 :, :, j] = 0
            spoiled[:, self.perishable[j]] = expired
        self.cohorts[1:] = self.cohorts[:-1].copy()
        self.cohorts[0] = 0
        # spoil only what is not promised to a customer: reserved units are picked first
        spoiled = np.minimum(spoiled, self.on_hand - self.reserved)
        spoiled = np.maximum(spoiled, 0)
        self.on_hand -= spoiled
        self.spoiled += spoiled
        return cast(np.ndarray, spoiled)

    # ------------------------------------------------------------------ daily accounting
    def close_day(self, day: int) -> None:
        """Apply the day's remaining picks, record one row per active cell, reset the flows."""
        self.apply_picks((day + 1) * DAY)
        active = (
            self.start
            | self.received
            | self.shipped
            | self.transferred_out
            | self.spoiled
            | self.on_hand
            | self.lost_demand
            | self.sold_offline
        ) != 0
        node, sku = np.nonzero(active)
        self._rows.append(
            InventoryRecords(
                day=np.full(node.size, day, np.int32),
                node=node.astype(np.int32),
                sku=sku.astype(np.int32),
                start=self.start[active],
                received=self.received[active],
                shipped=self.shipped[active],
                transferred_out=self.transferred_out[active],
                spoiled=self.spoiled[active],
                end=self.on_hand[active].copy(),
                lost_demand=self.lost_demand[active],
                sold_offline=self.sold_offline[active] if self.offline else None,
            )
        )
        self.start = self.on_hand.copy()
        for a in (
            self.received,
            self.shipped,
            self.transferred_out,
            self.spoiled,
            self.lost_demand,
            self.sold_offline,
        ):
            a.fill(0)

    def records(self) -> InventoryRecords:
        """The run's rows, one column at a time: each day's part of a column is released as soon as the column
        is joined, so the peak is the rows once plus one column (not the rows twice)."""
        rows, self._rows = self._rows, []
        parts = [vars(r) for r in rows]
        out: dict[str, np.ndarray | None] = {}
        for f in InventoryRecords.__dataclass_fields__:
            if f == "sold_offline" and not self.offline:
                out[f] = None
                continue
            out[f] = np.concatenate([p[f] for p in parts]) if parts else np.empty(0, np.int64)
            for p in parts:
                p[f] = None  # the day's copy of this column is no longer needed
        joined = InventoryRecords(**out)  # type: ignore[arg-type]
        self._rows = [joined]  # a second call returns the same rows
        return joined
