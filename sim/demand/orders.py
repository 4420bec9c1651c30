"""Orders as a struct of arrays: one row per order, lines in CSR layout (``line_offsets``).

Order i owns lines ``line_offsets[i]:line_offsets[i + 1]`` of ``line_sku`` / ``line_qty``, in the
order they were drawn (the first line is the one whose category chose the tier mix). Rows are
sorted by ``created_s``. Requested tiers are int8 codes 0 near, 1 mid, 2 far. ``u_service`` and
``u_decision`` are the per-order uniforms of common random numbers (DESIGN.md section 5): the
engine turns them into service times and downgrade decisions, so every policy sees the same
customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from sim.vocab import Tier

NEAR, MID, FAR = Tier.NEAR, Tier.MID, Tier.FAR  # aliases of sim.vocab.Tier

_ORDER_FIELDS = ("order_id", "created_s", "zone", "city", "requested_tier", "u_service", "u_decision")
_DTYPES = {
    "order_id": np.int64,
    "created_s": np.float64,
    "zone": np.int32,
    "city": np.int32,
    "requested_tier": np.int8,
    "line_offsets": np.int64,
    "line_sku": np.int32,
    "line_qty": np.int32,
    "u_service": np.float64,
    "u_decision": np.float64,
}


@dataclass(frozen=True)
class Orders:
    """A batch of orders (a day, a run, a city's slice); see the module docstring."""

    order_id: np.ndarray  # (n,) int64, unique over the run: day_index * 10**9 + sequence in the day
    created_s: np.ndarray  # (n,) float64 seconds from the simulation start
    zone: np.ndarray  # (n,) int32 network zone index
    city: np.ndarray  # (n,) int32 network city index
    requested_tier: np.ndarray  # (n,) int8: 0 near, 1 mid, 2 far
    line_offsets: np.ndarray  # (n + 1,) int64, line_offsets[0] == 0
    line_sku: np.ndarray  # (L,) int32 catalog index, distinct within an order
    line_qty: np.ndarray  # (L,) int32 units, >= 1
    u_service: np.ndarray  # (n,) float64 in [0, 1)
    u_decision: np.ndarray  # (n,) float64 in [0, 1)

    @property
    def n_orders(self) -> int:
        return len(self.order_id)

    @property
    def n_lines(self) -> int:
        return len(self.line_sku)

    def __len__(self) -> int:
        return self.n_orders

    def lines_per_order(self) -> np.ndarray:
        """(n,) number of lines of each order."""
        return np.diff(self.line_offsets)

    def units(self) -> np.ndarray:
        """(n,) units (sum of line quantities) of each order."""
        cum = np.concatenate([[0], np.cumsum(self.line_qty, dtype=np.int64)])
        return cum[self.line_offsets[1:]] - cum[self.line_offsets[:-1]]

    def line_order(self) -> np.ndarray:
        """(L,) index of the order each line belongs to."""
        return np.repeat(np.arange(self.n_orders), self.lines_per_order())

    def first_sku(self) -> np.ndarray:
        """(n,) SKU of each order's first line."""
        return self.line_sku[self.line_offsets[:-1]]

    def lines_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(skus, quantities) of order i (a view, for inspection and tests; never in a hot loop)."""
        a, b = int(self.line_offsets[i]), int(self.line_offsets[i + 1])
        return self.line_sku[a:b], self.line_qty[a:b]

    def take(self, idx: np.ndarray) -> Orders:
        """The orders at `idx` (an index array or a boolean mask), with their lines, in that order."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        lens = self.lines_per_order()[idx]
        offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        line_idx = np.repeat(self.line_offsets[idx] - offsets[:-1], lens) + np.arange(offsets[-1])
        return Orders(
            **{f: getattr(self, f)[idx] for f in _ORDER_FIELDS},
            line_offsets=offsets,
            line_sku=self.line_sku[line_idx],
            line_qty=self.line_qty[line_idx],
        )

    def validate(self) -> None:
        """Raise AssertionError if the arrays are inconsistent (shapes, dtypes, sorting, CSR layout)."""
        n = self.n_orders
        for f in fields(self):
            a = getattr(self, f.name)
            assert a.dtype == _DTYPES[f.name], f"{f.name}: dtype {a.dtype}"
            if f.name in _ORDER_FIELDS:
                assert a.shape == (n,), f"{f.name}: shape {a.shape}, expected ({n},)"
        assert self.line_offsets.shape == (n + 1,) and self.line_offsets[0] == 0
        assert self.line_offsets[-1] == self.n_lines == len(self.line_qty)
        assert np.all(np.diff(self.line_offsets) >= 1), "every order has at least one line"
        assert np.all(np.diff(self.created_s) >= 0), "orders must be sorted by created_s"


def empty_orders() -> Orders:
    """An Orders with no rows."""
    return Orders(
        **{f: np.zeros(0, dtype=_DTYPES[f]) for f in _ORDER_FIELDS},
        line_offsets=np.zeros(1, dtype=np.int64),
        line_sku=np.zeros(0, dtype=np.int32),
        line_qty=np.zeros(0, dtype=np.int32),
    )


def concat(parts: Sequence[Orders]) -> Orders:
    """All orders of `parts`, sorted by created_s (stable: ties keep the parts' order)."""
    parts = [p for p in parts if p.n_orders]
    if not parts:
        return empty_orders()
    if len(parts) == 1:
        return parts[0]
    shift = np.cumsum([0] + [p.n_lines for p in parts[:-1]])
    offsets = np.concatenate(
        [parts[0].line_offsets[:1]] + [p.line_offsets[1:] + s for p, s in zip(parts, shift, strict=True)]
    )
    out = Orders(
        **{f: np.concatenate([getattr(p, f) for p in parts]) for f in _ORDER_FIELDS},
        line_offsets=offsets.astype(np.int64),
        line_sku=np.concatenate([p.line_sku for p in parts]),
        line_qty=np.concatenate([p.line_qty for p in parts]),
    )
    if np.all(np.diff(out.created_s) >= 0):
        return out
    return out.take(np.argsort(out.created_s, kind="stable"))


ORDER_ID_STRIDE = 10**9  # order ids of day d are d * stride + sequence: unique while a day has < 1e9 orders


def number_day(parts: Sequence[Orders], day_index: int) -> Orders:
    """One day's orders from per-city parts: merged by creation time, ids day_index * stride + sequence."""
    day = concat(parts)
    if day.n_orders >= ORDER_ID_STRIDE:
        raise ValueError(
            f"{day.n_orders} orders on day {day_index}: more than order ids allow ({ORDER_ID_STRIDE})"
        )
    ids = np.int64(day_index) * ORDER_ID_STRIDE + np.arange(day.n_orders, dtype=np.int64)
    return Orders(
        order_id=ids,
        created_s=day.created_s,
        zone=day.zone,
        city=day.city,
        requested_tier=day.requested_tier,
        line_offsets=day.line_offsets,
        line_sku=day.line_sku,
        line_qty=day.line_qty,
        u_service=day.u_service,
        u_decision=day.u_decision,
    )
