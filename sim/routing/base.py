"""The router interface: a batch of orders with their feasible options as arrays, one choice each.

Options are rows (order, node, tier) with money cost and an estimated delivery time. An order's
options at its requested tier or faster come first; slower-tier options are downgrade *offers*,
costed as p * cost + (1 - p) * lost-sale cost (p = the customer's acceptance probability). A router
returns, per order, the index of the chosen option row or -1 (unassigned: the engine carries the
order to the next epoch or treats it as unservable).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from sim.registry import ROUTERS

if TYPE_CHECKING:
    from sim.routing.split import LineChoice, SplitRows


@dataclass(frozen=True)
class Batch:
    """One epoch's routing problem. Option rows are grouped by order (opt_order is non-decreasing)."""

    n_orders: int
    requested_tier: np.ndarray  # (n,) int8
    opt_order: np.ndarray  # (K,) index into the batch's orders
    opt_node: np.ndarray  # (K,) node index
    opt_tier: np.ndarray  # (K,) int8 tier the option serves at
    opt_km: np.ndarray  # (K,) road km from node to the order's zone (0 for parcels)
    opt_cost: np.ndarray  # (K,) expected money cost, CNY (offers already weighted by acceptance)
    opt_eta_s: np.ndarray  # (K,) estimated delivery time
    opt_offer: np.ndarray  # (K,) bool: a slower-tier (downgrade) offer
    unassigned_cost: np.ndarray  # (n,) cost of leaving the order unassigned this epoch
    node_capacity: np.ndarray  # (N,) orders each node can still take this epoch
    # Optional, filled by the engine when available (routers must work without them):
    opt_reservation: np.ndarray | None = None  # (K,) CNY reservation price of the stock the option takes
    # (a look-ahead decision signal, never a cost; see sim.routing.lookahead.option_reservation)
    opt_stock_key: np.ndarray | None = (
        None  # (K,) int64 index into stock_left of the option's node x SKU, -1 none
    )
    # (single-line orders only; see stock_keys)
    stock_left: np.ndarray | None = None  # (M,) int64 units available per stock key at routing time
    # Stock every option takes, one row per option x order line (see option_stock): option row, stock key
    # (into stock_left, the same key space as opt_stock_key) and units. Exact stock per node x SKU for
    # multi-line orders; routers that only look at opt_stock_key ignore them.
    use_option: np.ndarray | None = None  # (R,) int64 option row, non-decreasing
    use_key: np.ndarray | None = None  # (R,) int64 index into stock_left
    use_qty: np.ndarray | None = None  # (R,) int64 units
    # Shipment and line rows for routers that split orders (``route_lines``; see sim.routing.split)
    split: SplitRows | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a router supports beyond ``route``, declared by the router as its ``capabilities`` attribute
    (the engine reads this instead of sniffing types or attributes)."""

    max_shipments: int = 1  # > 1: ``route_lines`` may split an order over up to this many nodes (RoutesLines)
    counts_fallbacks: bool = (
        False  # a ``fallbacks`` counter of epochs answered by another model (CountsFallbacks)
    )
    decision_cost: bool = False  # ``decision_cost(batch)``: what it minimises per option (ShowsDecisionCost)


NO_CAPABILITIES = Capabilities()


def router_capabilities(router: object) -> Capabilities:
    """The router's declared ``capabilities`` (a router that declares none supports only ``route``)."""
    caps = getattr(router, "capabilities", NO_CAPABILITIES)
    assert isinstance(caps, Capabilities), f"router capabilities must be a Capabilities, got {caps!r}"
    return caps


class Router(Protocol):
    name: str
    capabilities: Capabilities

    def route(self, batch: Batch) -> np.ndarray:
        """Chosen option row per order, or -1."""
        ...


@runtime_checkable
class RoutesLines(Protocol):
    """A router that may split an order across nodes: ``route_lines`` answers with a node per line (see
    ``sim.routing.split``); the engine fills ``Batch.split`` and calls it instead of ``route``."""

    max_shipments: int

    def route_lines(self, batch: Batch) -> LineChoice: ...


@runtime_checkable
class CountsFallbacks(Protocol):
    """A router that may give up on its own model and answer with another: ``fallbacks`` counts those
    epochs over the router's life (the engine copies it into ``router.fallbacks``)."""

    fallbacks: int


@runtime_checkable
class ShowsDecisionCost(Protocol):
    """A router whose per-option objective differs from ``Batch.opt_cost`` (e.g. plus look-ahead
    reservations): ``decision_cost(batch)`` is what it minimises per option row (shown by --explain)."""

    def decision_cost(self, batch: Batch) -> np.ndarray: ...


register_router = ROUTERS.register


def make_router(name: str, **params: object) -> Router:
    """The registered router `name`, given those of `params` its constructor declares (so the engine can
    offer every scenario router setting, e.g. ``max_deterministic_time``, to any router)."""
    cls: Callable[..., Router] = ROUTERS.get(name)
    sig = inspect.signature(cls)
    if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        params = {k: v for k, v in params.items() if k in sig.parameters}
    return cls(**params)


def batch_objective(batch: Batch, choice: np.ndarray, *, with_reservation: bool = False) -> float:
    """Money objective of a choice: chosen options' cost + unassigned orders' cost (reservation optional)."""
    choice = np.asarray(choice, np.int64)
    got = choice >= 0
    total = float(batch.opt_cost[choice[got]].sum() + batch.unassigned_cost[~got].sum())
    if with_reservation and batch.opt_reservation is not None:
        total += float(batch.opt_reservation[choice[got]].sum())
    return total


def stock_keys(
    opt_node: np.ndarray, opt_sku: np.ndarray, on_hand: np.ndarray, reserved: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(opt_stock_key, stock_left) for Batch: one key per distinct (node, SKU) that single-line options draw on.

    ``opt_sku`` is the option's SKU for a single-line order and -1 otherwise (multi-line orders get no
    key: their stock competition is repaired). ``stock_left`` = on_hand - reserved at those keys.
    """
    opt_node = np.asarray(opt_node, np.int64)
    opt_sku = np.asarray(opt_sku, np.int64)
    key = np.full(opt_node.size, -1, np.int64)
    single = opt_sku >= 0
    flat = opt_node[single] * on_hand.shape[1] + opt_sku[single]
    uniq, inv = np.unique(flat, return_inverse=True)
    key[single] = inv
    n, s = np.divmod(uniq, on_hand.shape[1])
    left = on_hand[n, s].astype(np.int64)
    if reserved is not None:
        left = left - reserved[n, s].astype(np.int64)
    return key, np.maximum(left, 0)


def option_stock(
    opt_node: np.ndarray,
    use_option: np.ndarray,
    use_sku: np.ndarray,
    single: np.ndarray,
    on_hand: np.ndarray,
    reserved: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(opt_stock_key, use_key, stock_left) for Batch from every option line (option row, SKU).

    One key per distinct (node, SKU) any option line draws on, numbered in (node, SKU) order;
    ``opt_stock_key`` gives the key of the options marked ``single`` (single-line orders, each with exactly
    one line row) and -1 for the others, so a flow router sees the same keys as with ``stock_keys``.
    """
    opt_node = np.asarray(opt_node, np.int64)
    use_option = np.asarray(use_option, np.int64)
    flat = opt_node[use_option] * on_hand.shape[1] + np.asarray(use_sku, np.int64)
    uniq, use_key = np.unique(flat, return_inverse=True)
    use_key = use_key.astype(np.int64).ravel()
    opt_key = np.full(opt_node.size, -1, np.int64)
    one = np.asarray(single, bool)[use_option]
    opt_key[use_option[one]] = use_key[one]
    n, s = np.divmod(uniq, on_hand.shape[1])
    left = on_hand[n, s].astype(np.int64)
    if reserved is not None:
        left = left - reserved[n, s].astype(np.int64)
    return opt_key, use_key, np.maximum(left, 0)


def option_ranges(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Start and end row of each order's options (rows are grouped by order)."""
    starts = np.searchsorted(batch.opt_order, np.arange(batch.n_orders), side="left")
    ends = np.searchsorted(batch.opt_order, np.arange(batch.n_orders), side="right")
    return starts, ends


def greedy_by_key(
    batch: Batch,
    key: np.ndarray,
    allowed: np.ndarray,
    choice: np.ndarray | None = None,
    left: np.ndarray | None = None,
) -> np.ndarray:
    """Give each still-unassigned order its allowed option with the smallest key whose node has capacity left.

    Orders compete in batch order. `choice` and `left` (capacity per node) are updated in place when
    given, so successive passes (e.g. a fallback to offers) share one capacity budget.
    """
    choice = np.full(batch.n_orders, -1, np.int64) if choice is None else choice
    left = batch.node_capacity.astype(np.int64).copy() if left is None else left
    # rank each order's options by key; then walk rank by rank, vectorised across orders
    order = np.lexsort((key, batch.opt_order))
    rows = order[allowed[order]]
    if rows.size == 0:
        return choice
    o = batch.opt_order[rows]
    first = np.searchsorted(o, o)
    rank = np.arange(rows.size) - first
    for r in range(int(rank.max()) + 1):
        cand = rows[(rank == r)]
        cand = cand[choice[batch.opt_order[cand]] < 0]
        if cand.size == 0:
            continue
        # orders compete for node capacity in batch order
        nodes = batch.opt_node[cand]
        seq = np.lexsort((batch.opt_order[cand], nodes))
        cn = nodes[seq]
        pos = np.arange(cn.size) - np.searchsorted(cn, cn)
        ok = pos < left[cn]
        won = cand[seq][ok]
        choice[batch.opt_order[won]] = won
        np.subtract.at(left, batch.opt_node[won], 1)
    return choice
