"""What a simulation run produces: struct-of-arrays records handed from the engine to metrics/io.

This is the contract between ``sim/engine`` (which fills it) and ``sim/metrics`` + ``sim/io`` +
``sim/inventory`` (which turn it into KPIs and the run directory): it lives outside the engine so
that they read results, never the simulation. No SimPy here. Tiers, statuses and node kinds are the
int8 codes of ``sim.vocab`` (``Tier``, ``OrderStatus``; -1 none); node indices refer to
``Network.node_ids`` (-1 none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from sim.vocab import NO_TIER, OUTCOME_NAMES, REASON_NAMES, STATUS_NAMES, TIER_NAMES, OrderStatus

DELIVERED, LOST, OPEN = OrderStatus.DELIVERED, OrderStatus.LOST, OrderStatus.OPEN
REASONS, OUTCOMES = REASON_NAMES, OUTCOME_NAMES  # explain.parquet's reason / outcome codes
__all__ = [
    "DAILY_COSTS",
    "DELIVERED",
    "LOST",
    "NO_TIER",
    "OPEN",
    "OUTCOMES",
    "REASONS",
    "STATUS_NAMES",
    "TIER_NAMES",
    "DayRecords",
    "ExplainRecords",
    "InventoryRecords",
    "LineRecords",
    "NodeRecords",
    "OrderRecords",
    "RouterStats",
    "RunRecords",
]

#: network-level cost kinds recorded per day (CNY); order-level kinds live on OrderRecords
DAILY_COSTS = ("fixed", "holding", "transfer", "spoilage", "lost_sales")


@dataclass
class OrderRecords:
    """One row per order, in creation order (column meanings as orders.parquet in DESIGN.md 10)."""

    order_id: np.ndarray  # int64
    created_s: np.ndarray  # float64, seconds from simulation start
    zone: np.ndarray  # int32
    city: np.ndarray  # int32
    n_lines: np.ndarray  # int16
    units: np.ndarray  # int32
    requested_tier: np.ndarray  # int8
    served_tier: np.ndarray  # int8, -1 if lost/open
    node: np.ndarray  # int32, node of the largest shipment, -1 if lost/open
    status: np.ndarray  # int8
    promised_s: np.ndarray  # float64, deadline of the served tier (NaN if lost)
    delivered_s: np.ndarray  # float64, NaN unless delivered
    downgraded: np.ndarray  # bool
    n_shipments: np.ndarray  # int8
    warmup: np.ndarray  # bool
    cost_handling: np.ndarray  # float64 CNY
    cost_transport: np.ndarray
    cost_split: np.ndarray
    cost_penalty: np.ndarray  # lateness penalty (lost-sale cost is network-level, per day)
    missing_lines: np.ndarray  # int16, lines not delivered (0 for a complete order)
    substituted_lines: np.ndarray | None = (
        None  # int16, lines shipped as a substitute (None: substitution off)
    )
    oversold: np.ndarray | None = (
        None  # bool, sent back once from a store whose shelf was short (None: offline off)
    )
    near_stocked: np.ndarray | None = (
        None  # bool, routed while a covering store in its hours held every line (None: tiers.near.record_stocked off)
    )

    @property
    def n(self) -> int:
        return len(self.order_id)

    @property
    def on_time(self) -> np.ndarray:
        return cast(np.ndarray, (self.status == DELIVERED) & (self.delivered_s <= self.promised_s + 1e-6))

    @property
    def perfect(self) -> np.ndarray:
        """Delivered, on time, complete (one shipment, no missing line), at the requested tier or faster, and
        (with substitution on) no line substituted: most platforms count a substituted order imperfect."""
        perfect: np.ndarray = (
            self.on_time
            & (self.n_shipments == 1)
            & (self.missing_lines == 0)
            & (self.served_tier >= 0)
            & (self.served_tier <= self.requested_tier)
        )
        return perfect if self.substituted_lines is None else perfect & (self.substituted_lines == 0)

    @property
    def cost(self) -> np.ndarray:
        return cast(
            np.ndarray, self.cost_handling + self.cost_transport + self.cost_split + self.cost_penalty
        )


@dataclass
class LineRecords:
    """One row per order line."""

    order_id: np.ndarray  # int64
    sku: np.ndarray  # int32
    qty: np.ndarray  # int32
    preferred_node: np.ndarray  # int32: the node the requested tier would have used first (-1 none)
    node: np.ndarray  # int32: the node that shipped it (-1 lost)
    served_tier: np.ndarray  # int8
    status: np.ndarray  # int8
    substitute_sku: np.ndarray | None = None  # int32: the SKU shipped instead of `sku` (-1 none); None: off
    # bool: the line met a stock-out (short at every open, in-reach node of its tier or faster with capacity for
    # the order, sim.engine.substitution); None: substitution off
    stockout: np.ndarray | None = None


@dataclass
class InventoryRecords:
    """Per day x node x SKU with any stock or activity that day (flow conservation holds per row:
    start + received - shipped - transferred_out - spoiled (- sold_offline) == end)."""

    day: np.ndarray  # int32 day index from the simulation start
    node: np.ndarray  # int32
    sku: np.ndarray  # int32
    start: np.ndarray  # int64 units on hand at 00:00
    received: np.ndarray
    shipped: np.ndarray  # to customers
    transferred_out: np.ndarray  # to other nodes (replenishment)
    spoiled: np.ndarray
    end: np.ndarray
    lost_demand: np.ndarray  # units of lost or downgraded lines whose preferred node this was
    sold_offline: np.ndarray | None = (
        None  # units sold over a shop's counter (None: nodes.stores.offline off)
    )


@dataclass
class DayRecords:
    """Per simulated day: network-level costs (CNY) and utilisation."""

    day: np.ndarray  # int32
    warmup: np.ndarray  # bool
    costs: dict[str, np.ndarray] = field(default_factory=dict)  # keys DAILY_COSTS
    utilisation: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # pickers, riders, vans: busy / available


@dataclass
class NodeRecords:
    """Per node over the measured days: resource seconds busy and available (utilisation = ratio)."""

    busy_s: dict[str, np.ndarray] = field(default_factory=dict)  # keys pickers, riders, vans; (N,) each
    available_s: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class RouterStats:
    epochs: int = 0
    solver_ms_total: float = 0.0
    repairs: int = 0
    fallbacks: int = 0


@dataclass
class RunRecords:
    orders: OrderRecords
    lines: LineRecords
    inventory: InventoryRecords
    days: DayRecords
    nodes: NodeRecords
    router: RouterStats
    measured_days: int
    warmup_days: int
    riders: dict[str, Any] | None = (
        None  # issue #13 rider reporting (sim.engine.staffing.rider_report); None: off
    )


@dataclass
class ExplainRecords:
    """Every candidate row of a ``--explain`` run (columns: ``sim.engine.explain``): pair-level columns
    plus ``order_row`` into the order-level ones."""

    pairs: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]

    @property
    def n_rows(self) -> int:
        return int(self.pairs["order_row"].size)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (*self.pairs.values(), *self.orders.values()))
