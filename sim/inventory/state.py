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

    def __init__(self, n_nodes: int, n_skus: int, shelf_life_days: np.ndarray) -> None:
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
        # perishables: units received per day cohort, [age_slot, node, perishable sku]
        life = np.where(np.isfinite(shelf_life_days), np.ceil(shelf_life_days), 0).astype(np.int64)
        self.perishable = np.flatnonzero(life > 0)
        self.life = life[self.perishable]
        self.max_life = int(self.life.max()) if self.perishable.size else 0
        self.cohorts = np.zeros((max(self.max_life, 1), n_nodes, self.perishable.size), np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # (time, node, sku, qty)
        self._rows: list[InventoryRecords] = []

    # ------------------------------------------------------------------ queries
    def available(self, nodes: np.ndarray | slice = slice(None), skus: np.ndarray | slice = slice(None)) -> np.ndarray:
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

    def transfer_out(self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray) -> None:
        np.add.at(self.on_hand, (node, sku), -qty)
        np.add.at(self.transferred_out, (node, sku), qty)
        self._consume_cohorts(node, sku, qty)

    def ship_in(self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray) -> None:
        """Units put on a truck towards `node` (pipeline until they arrive)."""
        np.add.at(self.pipeline, (node, sku), qty)

    def receive(self, node: np.ndarray, sku: np.ndarray, qty: np.ndarray, from_pipeline: bool = True) -> None:
        if from_pipeline:
            np.add.at(self.pipeline, (node, sku), -qty)
        np.add.at(self.on_hand, (node, sku), qty)
        np.add.at(self.received, (node, sku), qty)
        if self.perishable.size:
            col = self._perishable_col(sku)
            m = col >= 0
            np.add.at(self.cohorts[0], (node[m], col[m]), qty[m])

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
        active = (self.start | self.received | self.shipped | self.transferred_out | self.spoiled
                  | self.on_hand | self.lost_demand) != 0
        node, sku = np.nonzero(active)
        self._rows.append(InventoryRecords(
            day=np.full(node.size, day, np.int32), node=node.astype(np.int32), sku=sku.astype(np.int32),
            start=self.start[active], received=self.received[active], shipped=self.shipped[active],
            transferred_out=self.transferred_out[active], spoiled=self.spoiled[active],
            end=self.on_hand[active].copy(), lost_demand=self.lost_demand[active]))
        self.start = self.on_hand.copy()
        for a in (self.received, self.shipped, self.transferred_out, self.spoiled, self.lost_demand):
            a.fill(0)

    def records(self) -> InventoryRecords:
        rows = self._rows
        fields = InventoryRecords.__dataclass_fields__
        return InventoryRecords(**{f: np.concatenate([getattr(r, f) for r in rows]) if rows else np.empty(0, np.int64)
                                   for f in fields})
