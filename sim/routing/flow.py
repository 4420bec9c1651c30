"""Exact batch assignment by min-cost flow (OR-Tools ``SimpleMinCostFlow``) and the ``flow`` router.

The network, one per epoch::

    order i --(cap 1, cost c[option])--> [stock key (n, s)] --(cap stock)--> node n --(cap capacity[n])--> sink
    order i --(cap 1, cost unassigned_cost[i])-------------------------------------------------------> sink

Every order supplies one unit and the sink absorbs all of them, so a feasible flow always exists
(the unassigned arc). The stock layer is present only for options that carry a stock key (single-line
orders, ``Batch.opt_stock_key``); other options go straight to their node.

**Why it is exact for single-line, single-unit orders.** The engine's constraints for one batch are:
each order takes at most one option; node n serves at most ``capacity[n]`` orders; at most
``stock[n, s]`` units of SKU s leave node n. With single-line single-unit orders an assigned order uses
exactly one unit of one (n, s) pair at its own node, so integral flows and feasible assignments are in
one-to-one correspondence: order i's unit flows along exactly one path (option arc, key arc, node arc)
or along its unassigned arc, and the key and node arc capacities are exactly the stock and capacity
constraints. Both have the same cost, Σ chosen option costs + Σ unassigned costs. The constraint
matrix of a flow network is totally unimodular, so with integer capacities min-cost flow has an
integral optimum, which the push-relabel solver returns; hence the optimal flow is an optimal
assignment. For a single-line order of q > 1 units the key arc counts it as one unit: a relaxation
(every stock-feasible assignment stays feasible), and multi-line orders skip the stock layer; the
engine repairs any over-use in both cases and counts it in ``router.repairs``.

**Integer scale and error bound.** Costs are money (CNY, floats); the solver needs int64. With the
documented scale S = ``COST_SCALE`` = 10^6 every arc cost is rounded to the nearest multiple of
1/(2S) CNY (integer = rint(2S·c)), an error of at most 1/(4S) per arc. Each order contributes exactly
one arc to any solution's cost, so the rounded and true totals of any assignment differ by at most
n/(4S), and the assignment optimal for the rounded costs is within 2·n/(4S) = n/(2S) of the true
optimum. Before rounding, costs are shifted per order (which changes no decision, since every order
uses exactly one of its arcs) so only the differences within an order must fit in int64; OR-Tools
scales costs by the number of graph nodes + 1, so a spread too wide for that raises ``ValueError``.

**Infeasible, dominated and "must-serve" entries.** ``inf`` costs have no arc. An option costing at
least the order's unassigned cost is dropped: any solution using it is no better than leaving the
order unassigned, which also frees capacity (so the optimum is unchanged; ties go to "unassigned").
An unassigned cost of ``inf`` means the order must be served if at all possible: its unassigned arc
gets a cost M larger than the total spread of every order's costs, so the solver first maximises the
number of such orders served, then minimises cost (lexicographically). In a huge batch (a Double-11
peak carries ~10^5 orders per epoch) that sum can exceed what the solver represents; M is then capped
at that limit (over 10^6 CNY at such sizes), and the priority still holds for every exchange that
shifts less than M of the other orders' cost — one more must-serve order is never traded for less.

**Exact reduction before the solver.** A resource (a node's capacity or a stock key) with at least
as many units as options that could use it never binds, so it is dropped (its arcs go to the sink).
Every order then takes its cheapest option (or stays unassigned if that is no dearer); if no binding
resource is over-used, that is optimal and the solver is skipped. Otherwise only orders reachable
from an over-used resource are re-optimised: follow "an order sitting (by first choice) at a reached
resource" -> "every binding resource its options use", to closure. Why this is exact: clip the
first-choice pseudo-flow x0 to the capacities, leaving excess at the over-used resources; an optimal
flow x* differs from x0 by paths from those excesses to the sink plus cycles, all in x0's residual
graph and conformal with x* - x0. Every cycle moves orders away from their cheapest option, so it
costs >= 0 and x0 + paths is feasible and optimal; the paths touch only reachable orders. Orders
outside the closure keep their first choice on resources no reachable order can use, so the small
flow problem over the closure sees its resources' full capacities.

**Determinism.** Arcs are added in option-row order and the solver has no randomness and no time
limit, so the same batch always gives the same assignment; ties go to whichever optimum the solver
reaches from that order.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from ortools.graph.python import min_cost_flow

from sim.errors import SolverError
from sim.routing.base import Batch, Capabilities, register_router
from sim.routing.integer_costs import COST_SCALE, as_capacity, as_unassigned, first_choice, integer_costs

__all__ = ["COST_SCALE", "Flow", "assign_min_cost", "solve_assignment"]


def assign_min_cost(cost: np.ndarray, capacity: np.ndarray, unassigned_cost: np.ndarray) -> np.ndarray:
    """Optimal order -> node assignment (node index or -1 per order), within n/(2S) of the optimum.

    ``cost`` (n_orders, n_nodes) float, ``inf`` where infeasible; ``capacity`` (n_nodes,) int, one unit
    per order; ``unassigned_cost`` (n_orders,) float (``inf``: serve if at all possible).
    """
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2:
        raise ValueError(f"cost must be a 2-D array (n_orders, n_nodes), got shape {c.shape}")
    n, n_nodes = c.shape
    cap = as_capacity(capacity, n_nodes, "capacity")
    u = as_unassigned(unassigned_cost, n)
    if np.isnan(c).any():
        raise ValueError(
            f"cost contains NaN at (order, node) {tuple(int(x) for x in np.argwhere(np.isnan(c))[0])}; "
            "use numpy.inf for infeasible pairs"
        )
    if np.isneginf(c).any():
        raise ValueError("cost contains -inf; costs must be finite or +inf (infeasible)")
    rows, cols = np.nonzero(np.isfinite(c))  # row-major: grouped by order, as the solver expects
    chosen = solve_assignment(n, rows, cols, c[rows, cols], u, cap)
    out = np.full(n, -1, dtype=np.int64)
    got = chosen >= 0
    out[got] = cols[chosen[got]]
    return out


def solve_assignment(
    n_orders: int,
    opt_order: np.ndarray,
    opt_node: np.ndarray,
    opt_cost: np.ndarray,
    unassigned_cost: np.ndarray,
    node_capacity: np.ndarray,
    opt_key: np.ndarray | None = None,
    key_capacity: np.ndarray | None = None,
) -> np.ndarray:
    """Min-cost choice of one option row per order (or -1) under node and optional stock-key capacities.

    Options are sparse rows (order, node, cost[, key]); ``key_capacity[k]`` bounds the options using
    key k (units of one node x SKU; all options of a key must be at the same node).
    """
    opt_order = np.asarray(opt_order, dtype=np.int64)
    opt_node = np.asarray(opt_node, dtype=np.int64)
    opt_cost = np.asarray(opt_cost, dtype=float)
    u = as_unassigned(unassigned_cost, n_orders)
    node_capacity = np.asarray(node_capacity)
    cap = as_capacity(
        node_capacity, node_capacity.shape[0] if node_capacity.ndim == 1 else -1, "node_capacity"
    )
    if not (opt_order.shape == opt_node.shape == opt_cost.shape) or opt_order.ndim != 1:
        raise ValueError(
            f"option arrays must be 1-D of one length, got {opt_order.shape}, {opt_node.shape}, "
            f"{opt_cost.shape}"
        )
    if np.isnan(opt_cost).any() or np.isneginf(opt_cost).any():
        raise ValueError("option costs must be finite or +inf (no NaN, no -inf)")
    if opt_order.size and (opt_order.min() < 0 or opt_order.max() >= n_orders):
        raise ValueError(f"option order index out of range [0, {n_orders})")
    if opt_node.size and (opt_node.min() < 0 or opt_node.max() >= cap.size):
        raise ValueError(f"option node index out of range [0, {cap.size})")
    choice = np.full(n_orders, -1, dtype=np.int64)
    key, kcap = _as_keys(opt_key, key_capacity, opt_order.shape)

    keep = np.isfinite(opt_cost) & (opt_cost < u[opt_order]) & (cap[opt_node] > 0)
    if kcap.size:
        keep &= (key < 0) | (kcap[np.maximum(key, 0)] > 0)
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return choice
    o, nd, c, k = opt_order[rows], opt_node[rows], opt_cost[rows], key[rows]
    key_node = np.full(kcap.size, -1, np.int64)
    key_node[k[k >= 0]] = nd[k >= 0]
    if (key_node[k[k >= 0]] != nd[k >= 0]).any():
        raise ValueError("all options of one stock key must be at the same node")
    orders, o_idx = np.unique(o, return_inverse=True)
    q, q_un = integer_costs(o_idx, c, u[orders], n_graph=orders.size + 2 * rows.size + 2)

    # resources: node r -> r, key k -> N + k, "none" -> the last slot (never binding)
    n_res = cap.size + kcap.size
    res_cap = np.concatenate([cap, kcap, [0]])
    users = np.bincount(np.concatenate([nd, cap.size + k[k >= 0]]), minlength=n_res + 1)
    binding = users > res_cap  # more options than units: the capacity can bind
    binding[-1] = False
    rn = np.where(binding[nd], nd, -1)
    rk = np.where((k >= 0) & binding[cap.size + k], cap.size + k, -1)

    first = first_choice(o_idx, q, q_un)
    has = first >= 0
    f_rn, f_rk = np.where(has, rn[first], -1), np.where(has, rk[first], -1)
    use = np.bincount(np.concatenate([f_rn, f_rk]) % (n_res + 1), minlength=n_res + 1)
    reach = (use > res_cap) & binding
    active = np.zeros(orders.size, bool)
    while (
        True
    ):  # orders a residual path from an over-used resource can reach; the rest keep their first choice
        new = ~active & (reach[f_rn] | reach[f_rk])
        if not new.any():
            break
        active |= new
        touched = new[o_idx]
        reach[rn[touched]] = True
        reach[rk[touched]] = True
        reach[-1] = False
    keep_first = has & ~active
    choice[orders[keep_first]] = rows[first[keep_first]]
    if active.any():
        sub = active[o_idx]
        local = _min_cost_flow(
            o_idx[sub], rn[sub], rk[sub], q[sub], q_un, active, res_cap, cap.size, key_node
        )
        got = local >= 0
        choice[orders[got]] = rows[np.flatnonzero(sub)[local[got]]]
    return choice


def _min_cost_flow(
    o_idx: np.ndarray,
    rn: np.ndarray,
    rk: np.ndarray,
    q: np.ndarray,
    q_un: np.ndarray,
    active: np.ndarray,
    res_cap: np.ndarray,
    n_nodes: int,
    key_node: np.ndarray,
) -> np.ndarray:
    """Solve the reduced network (active orders, binding resources) with OR-Tools; option index per order."""
    orders = np.flatnonzero(active)
    m = orders.size
    loc = np.full(active.size, -1, np.int64)
    loc[orders] = np.arange(m)
    res, r_idx = np.unique(np.concatenate([rn[rn >= 0], rk[rk >= 0]]), return_inverse=True)
    sink = m + res.size
    g_res = np.full(res_cap.size, sink, np.int64)  # a resource that cannot bind (or "none"): the sink
    g_res[res] = m + np.arange(res.size)
    is_key = res >= n_nodes
    res_next = np.full(
        res.size, sink, np.int64
    )  # a key's arc leads to its node if that node binds, else the sink
    res_next[is_key] = g_res[key_node[res[is_key] - n_nodes]]
    head = np.where(rk >= 0, g_res[rk], g_res[rn])
    tails = np.concatenate([loc[o_idx], m + np.arange(res.size), np.arange(m)])
    heads = np.concatenate([head, res_next, np.full(m, sink)])
    caps = np.concatenate([np.ones(q.size, np.int64), np.minimum(res_cap[res], m), np.ones(m, np.int64)])
    costs = np.concatenate([q, np.zeros(res.size, np.int64), q_un[orders]])

    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32), caps, costs)
    supplies = np.ones(m + 1, np.int64)
    supplies[m] = -m
    smcf.set_nodes_supplies(np.append(np.arange(m), sink).astype(np.int32), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise SolverError(f"min-cost flow failed with status {status} on {m} orders and {q.size} options")
    used = np.asarray(smcf.flows(np.arange(q.size, dtype=np.int32))) > 0
    out = np.full(active.size, -1, np.int64)
    out[o_idx[used]] = np.flatnonzero(used)
    return out


def _as_keys(
    opt_key: np.ndarray | None, key_capacity: np.ndarray | None, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Stock key per option (-1: none) and units per key; no keys at all when opt_key is None."""
    if opt_key is None:
        return np.full(shape, -1, np.int64), np.zeros(0, np.int64)
    if key_capacity is None:
        raise ValueError("opt_stock_key needs stock_left (units available per key)")
    key = np.asarray(opt_key, dtype=np.int64)
    kcap = np.asarray(key_capacity, dtype=np.int64)
    if key.shape != shape:
        raise ValueError(f"opt_stock_key has shape {key.shape}, options {shape}")
    if key.size and key.max() >= kcap.size:
        raise ValueError(f"stock key out of range [0, {kcap.size})")
    if (kcap < 0).any():
        raise ValueError("stock_left must be >= 0")
    return key, kcap


@register_router("flow")
class Flow:
    """One min-cost flow per epoch over the batch's options (DESIGN.md section 6); the default router.

    With ``lookahead`` (default) an option's cost includes its reservation price
    (``Batch.opt_reservation``, when the engine provides it); without it the router is myopic.
    """

    name = "flow"
    capabilities = Capabilities(decision_cost=True)

    def __init__(self, lookahead: bool = True) -> None:
        self.lookahead = lookahead

    def decision_cost(self, batch: Batch) -> np.ndarray:
        """Per option: money cost plus, when looking ahead, the reservation price (a signal, not a cost)."""
        if self.lookahead and batch.opt_reservation is not None:
            return cast(np.ndarray, batch.opt_cost + batch.opt_reservation)
        return batch.opt_cost

    def route(self, batch: Batch) -> np.ndarray:
        return solve_assignment(
            batch.n_orders,
            batch.opt_order,
            batch.opt_node,
            self.decision_cost(batch),
            batch.unassigned_cost,
            batch.node_capacity,
            batch.opt_stock_key,
            batch.stock_left,
        )
