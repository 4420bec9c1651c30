"""Why this node? Records every routing decision's candidates when a run is made with ``--explain``.

Off by default: the engine holds ``Simulation.explain = None`` and ``route_epoch`` tests it once per
epoch. When on, each epoch appends numpy chunks (one row per candidate (order, node) pair, plus the
order-level facts) after the epoch is applied; the recorder only reads engine state (no random draws,
no writes), so every other output of the run is byte-identical with and without it. At the end,
``sim.io.explain`` writes the rows to ``DIR/explain.parquet``, one row per candidate pair per routing
epoch, in routing order (epoch, the batch's order, candidates as the engine built them):

==================  =======  ====================================================================
column              type     meaning
==================  =======  ====================================================================
epoch_s             float64  routing time (end of the epoch), seconds from the simulation start
order_id            int64    the order (orders.parquet)
requested_tier      string   near | mid | far
node_id             string   the candidate node (nodes.parquet id)
tier                string   the tier the node serves at: store near, FDC mid, NDC far
km                  float64  road km node -> the order's zone (0 for parcels)
handling_cny        float64  estimated handling cost (picking; NDC per-order handling)
transport_cny       float64  estimated transport (rider trip, van stop bound, parcel; or the node's
                             realised mean once it has delivered)
offer               bool     a slower-tier (downgrade) offer
accept_p            float64  customer acceptance probability of the tier (1 at or above requested)
cost_cny            float64  expected cost the router sees: handling + transport, or for an offer
                             p * (handling + transport) + (1 - p) * lost-sale cost; NaN if not an option
reservation_cny     float64  look-ahead reservation price of the stock it takes (NaN: not computed)
decision_cny        float64  what the router minimises (``flow``: cost + reservation with look-ahead)
eta_s, promise_s    float64  estimated delivery and the tier's promise
feasible            bool     the node can make the promise now (service hours, queue, ETA)
stock               int32    units available (on hand - reserved) of the order's scarcest line
capacity            int32    orders the node can still take this epoch
node_taken          int32    orders of this batch the router sent to the node
key_taken           int32    single-line options: orders of the batch the router gave the same
                             node x SKU (the flow router's stock arc); -1 otherwise
reason              string   option, or why the pair is not one: not_eligible (SKU not allowed at
                             the tier), no_stock, closed (outside service hours), late (ETA after
                             the promise), no_capacity, slower_tier (a faster option exists or the
                             order waits), not_offered (acceptance 0)
chosen              bool     the router's choice (before the stock repair)
unassigned_cny      float64  the order's cost of staying unassigned (inf: must be served)
waiting             bool     the order may wait for a busy store queue instead of an offer
u_decision          float64  the customer's decision uniform (an offer is accepted iff u < p)
repaired            bool     the router's choice was undone by the stock repair
outcome             string   assigned | accepted (an offer) | declined | carried | lost
==================  =======  ====================================================================

Memory: about ``ROW_BYTES`` (120) bytes per candidate row while the run is in progress and ~300 while
the file is written; a candidate row is one (order, node) pair per epoch the order is routed (the toy
scenario: 2.6 rows per order, 27 bytes per row on disk).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sim.engine.options import EpochOptions, all_per_pair
from sim.records import OUTCOMES, REASONS, ExplainRecords
from sim.routing.base import Batch, ShowsDecisionCost, router_capabilities
from sim.vocab import OrderStatus, Outcome, Reason, Tier

if TYPE_CHECKING:
    from sim.engine.protocols import SimState

__all__ = ["OUTCOMES", "REASONS", "ROW_BYTES", "ExplainRecorder", "ExplainRecords"]
ROW_BYTES = (
    120  # measured per candidate row while running (9 float64, 5 int32, int64 order row, 5 one-byte, plus
)
# the order-level columns' share); writing builds the Arrow table, ~180 more, then frees both

_I4_MAX = int(np.iinfo(np.int32).max)
_PAIR_F8 = (
    "km",
    "handling_cny",
    "transport_cny",
    "accept_p",
    "cost_cny",
    "reservation_cny",
    "decision_cny",
    "eta_s",
    "promise_s",
)
_PAIR_I4 = ("node", "stock", "capacity", "node_taken", "key_taken")
_PAIR_I1 = ("tier", "reason")
_PAIR_B = ("offer", "feasible", "chosen")
_ORDER = (
    "epoch_s",
    "order_id",
    "requested_tier",
    "unassigned_cny",
    "waiting",
    "u_decision",
    "repaired",
    "outcome",
)


class ExplainRecorder:
    """Collects one chunk per routing epoch (see the module docstring for the columns)."""

    def __init__(self) -> None:
        self._pairs: list[dict[str, np.ndarray]] = []
        self._orders: list[dict[str, np.ndarray]] = []
        self._n_orders = 0
        self.seconds = 0.0  # wall time spent recording (kept out of the router's solver time)

    def record(
        self,
        sim: SimState,
        ep: EpochOptions,
        batch: Batch,
        opt: np.ndarray,
        routed: np.ndarray,
        chosen: np.ndarray,
    ) -> None:
        """Append one epoch, called after it is applied. ``opt``: the pair of each option row of ``batch``;
        ``routed`` / ``chosen``: per order the candidate pair index the router picked / that survived the
        stock repair (-1 none)."""
        t0 = time.perf_counter()
        b, t, idx, p_row, p_node, p_tier, pair = (
            sim.book,
            ep.t,
            ep.idx,
            ep.p_row,
            ep.p_node,
            ep.p_tier,
            ep.pair,
        )
        avail_line, acc, at_or_faster, offer, feasible = (
            ep.avail_line,
            ep.accept,
            ep.at_or_faster,
            ep.offer,
            ep.feasible,
        )
        has_primary, wait, is_open = ep.has_primary, ep.wait, ep.is_open
        n, P = idx.size, p_row.size
        elig = all_per_pair(ep.elig_line, pair, P)
        has_stock = all_per_pair(avail_line >= ep.qty, pair, P)
        # pairs are grouped and every order has a line: the scarcest line per pair by one reduceat
        stock = (
            np.minimum.reduceat(avail_line, np.searchsorted(pair, np.arange(P)))
            if P
            else np.zeros(0, np.int64)
        )
        cap = np.asarray(batch.node_capacity, np.int64)[p_node]

        reason = np.zeros(P, np.int8)
        # later assignments win, so the most basic failing check is reported: closed, then not eligible,
        # no stock, late, no capacity, a slower tier not offered, acceptance 0
        for code, bad in (
            (Reason.NOT_OFFERED, acc <= 0),
            (Reason.SLOWER_TIER, ~at_or_faster & (has_primary | wait)[p_row]),
            (Reason.NO_CAPACITY, cap <= 0),
            (Reason.LATE, ~feasible),
            (Reason.NO_STOCK, ~has_stock),
            (Reason.NOT_ELIGIBLE, ~elig),
            (Reason.CLOSED, (p_tier == Tier.NEAR) & ~np.asarray(is_open)),
        ):
            reason[bad] = code
        reason[opt] = Reason.OPTION

        cost, res, dec = (np.full(P, np.nan) for _ in range(3))
        cost[opt] = batch.opt_cost
        if batch.opt_reservation is not None:
            res[opt] = batch.opt_reservation
        dec[opt] = (
            cast(ShowsDecisionCost, sim.router).decision_cost(batch)
            if router_capabilities(sim.router).decision_cost
            else batch.opt_cost
        )

        got = routed >= 0
        chosen_pair = np.zeros(P, bool)
        chosen_pair[routed[got]] = True
        node_taken = np.bincount(p_node[routed[got]], minlength=sim.net.n_nodes)[p_node]
        key_taken = np.full(P, -1, np.int64)
        if batch.opt_stock_key is not None:
            key = np.full(P, -1, np.int64)
            key[opt] = batch.opt_stock_key
            kc = np.bincount(key[routed[got]][key[routed[got]] >= 0], minlength=int(key.max()) + 1)
            key_taken[key >= 0] = kc[key[key >= 0]]

        outcome = np.full(n, Outcome.CARRIED, np.int8)  # carried unless assigned or lost
        assigned = b.node[idx] >= 0
        outcome[assigned] = np.where(b.downgraded[idx[assigned]], Outcome.ACCEPTED, Outcome.ASSIGNED)
        lost = ~assigned & (b.status[idx] == OrderStatus.LOST)
        outcome[lost] = np.where(chosen[lost] >= 0, Outcome.DECLINED, Outcome.LOST)

        def i4(a: np.ndarray) -> np.ndarray:  # NDC capacities can be huge
            return cast(np.ndarray, np.minimum(a, _I4_MAX).astype(np.int32))

        self._pairs.append(
            {
                "order_row": p_row.astype(np.int64) + self._n_orders,
                "node": p_node.astype(np.int32),
                "tier": p_tier.astype(np.int8),
                "reason": reason,
                "km": ep.km.astype(float),
                "handling_cny": ep.handling.astype(float),
                "transport_cny": ep.transport.astype(float),
                "accept_p": acc.astype(float),
                "cost_cny": cost,
                "reservation_cny": res,
                "decision_cny": dec,
                "eta_s": ep.eta.astype(float),
                "promise_s": ep.promise.astype(float),
                "stock": i4(stock),
                "capacity": i4(cap),
                "node_taken": i4(node_taken),
                "key_taken": i4(key_taken),
                "offer": offer.copy(),
                "feasible": feasible.copy(),
                "chosen": chosen_pair,
            }
        )
        self._orders.append(
            {
                "epoch_s": np.full(n, float(t)),
                "order_id": b.order_id[idx].astype(np.int64),
                "requested_tier": b.requested_tier[idx].astype(np.int8),
                "unassigned_cny": np.asarray(batch.unassigned_cost, float).copy(),
                "waiting": wait.copy(),
                "u_decision": b.u_decision[idx].astype(float),
                "repaired": got & (chosen < 0),
                "outcome": outcome,
            }
        )
        self._n_orders += n
        self.seconds += time.perf_counter() - t0

    def records(self) -> ExplainRecords:
        """All chunks concatenated (empty arrays of the right types for a run without routing)."""

        def cat(
            chunks: list[dict[str, np.ndarray]], names: tuple[str, ...], dtype: Any
        ) -> dict[str, np.ndarray]:
            return {
                k: (np.concatenate([c[k] for c in chunks]) if chunks else np.empty(0, dtype)) for k in names
            }

        pairs = {
            **cat(self._pairs, ("order_row",), np.int64),
            **cat(self._pairs, _PAIR_F8, float),
            **cat(self._pairs, _PAIR_I4, np.int32),
            **cat(self._pairs, _PAIR_I1, np.int8),
            **cat(self._pairs, _PAIR_B, bool),
        }
        orders = {
            **cat(self._orders, ("epoch_s", "unassigned_cny", "u_decision"), float),
            **cat(self._orders, ("order_id",), np.int64),
            **cat(self._orders, ("requested_tier", "outcome"), np.int8),
            **cat(self._orders, ("waiting", "repaired"), bool),
        }
        return ExplainRecords(pairs=pairs, orders=orders)
