"""The ``mip`` router: OR-Tools CP-SAT with exact stock per node x SKU for multi-line orders.

The model, one per epoch (DESIGN.md section 6)::

    minimise   Σ_k c_k x_k + Σ_i u_i (1 − Σ_{k of i} x_k)          x_k ∈ {0, 1}, one per option row
    s.t.       Σ_{k of i} x_k ≤ 1                                  every order: one option or none
               Σ_{k at n} x_k ≤ capacity[n]                        every node: orders it can still take
               Σ_k q_{k,key} x_k ≤ stock_left[key]                 every node x SKU: units its options take

``q_{k,key}`` comes from the batch's option lines (``Batch.use_option/use_key/use_qty``: option k
takes q units of the key's SKU at its node, summed over the order's lines). This is the constraint the
``flow`` router can only repair for multi-line (or multi-unit) orders; here no choice ever over-uses
stock, so the engine's repair count stays 0 unless the router falls back. A batch without option
lines uses ``opt_stock_key`` with one unit per option (then the model equals flow's network).

**Objective and error bound.** Costs are the flow module's integers (``sim.routing.flow``: scale
S = ``COST_SCALE`` = 10^6, each cost rounded to a multiple of 1/(2S) CNY after a per-order shift, the
unassigned cost of a must-serve order a big M that makes the objective lexicographic: serve as many
as possible, then cheapest). Each order contributes exactly one term, so the assignment optimal for the
integers is within n/(2S) CNY of the true optimum, as for ``flow``; on single-line single-unit batches
both routers solve the same integer problem and reach the same objective. With ``lookahead`` the
option cost includes the reservation price, as ``Flow.decision_cost``.

**Exact reduction.** A resource (node capacity or node x SKU stock) that every option using it could
take at once never binds and is dropped. Every order's first choice is its cheapest option (or none
if that is no dearer); if no binding resource is over-used, that is optimal. Otherwise the orders to
optimise are closed under "first choice uses a reached resource" -> "every binding resource of any of
its options is reached", starting from the over-used resources. Why exact: active orders only touch
reached resources, inactive orders' first choices only unreached ones (none over-used), so keeping the
inactive first choices and solving the active orders alone over the full capacities of reached
resources is feasible; and it is a lower bound, since any solution's active part is feasible for that
sub-problem and its inactive part costs at least the first choices. Only the active part goes to
CP-SAT, split into connected components (orders linked by shared binding resources), one small model each.

**Limits and fallback.** CP-SAT runs with ``max_deterministic_time`` (scenario ``router.
max_deterministic_time``, default 2 deterministic seconds per component), one worker and a fixed
``random_seed``, so the same batch gives the same answer on any machine. If a component stops without
a proven optimum the whole epoch is routed by ``flow`` instead (whose choices the engine repairs) and
``fallbacks`` counts it: never a crash, never a wall-clock limit.

**Split orders.** ``route_lines`` (used by the engine instead of ``route``) also lets a multi-line
order ship its lines from up to ``max_shipments`` nodes at ``costs.split_per_extra_shipment_cny`` per
extra shipment; the model and its bounds are in ``sim.routing.split``. Without ``Batch.split`` it is
``route``. The same deterministic limit and fallback to ``flow`` (whole orders only) apply.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from ortools.sat.python import cp_model
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.routing.base import Batch, Capabilities, register_router
from sim.routing.flow import Flow
from sim.routing.integer_costs import as_capacity, as_unassigned, first_choice, integer_costs
from sim.routing.split import DEFAULT_MAX_SHIPMENTS, LineChoice, solve_split

DEFAULT_DETERMINISTIC_TIME = 2.0  # CP-SAT deterministic seconds per component (the scenario default)
SEED = 0  # CP-SAT random_seed: fixed, so ties and search order never depend on the run


def stock_uses(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(use_option, use_key, use_qty, stock_left) of a batch; from opt_stock_key (1 unit) without option lines."""
    if batch.use_option is not None and batch.use_key is not None and batch.use_qty is not None:
        if batch.stock_left is None:
            raise ValueError("Batch.use_key needs stock_left (units available per key)")
        return (
            np.asarray(batch.use_option, np.int64),
            np.asarray(batch.use_key, np.int64),
            np.asarray(batch.use_qty, np.int64),
            np.asarray(batch.stock_left, np.int64),
        )
    if batch.opt_stock_key is None or batch.stock_left is None:
        z = np.zeros(0, np.int64)
        return z, z, z, z
    k = np.flatnonzero(batch.opt_stock_key >= 0)
    return (
        k,
        batch.opt_stock_key[k].astype(np.int64),
        np.ones(k.size, np.int64),
        np.asarray(batch.stock_left, np.int64),
    )


def solve_orders(
    n_orders: int,
    opt_order: np.ndarray,
    opt_node: np.ndarray,
    opt_cost: np.ndarray,
    unassigned_cost: np.ndarray,
    node_capacity: np.ndarray,
    use_option: np.ndarray,
    use_key: np.ndarray,
    use_qty: np.ndarray,
    stock_left: np.ndarray,
    *,
    max_deterministic_time: float = DEFAULT_DETERMINISTIC_TIME,
    reduce: bool = True,
) -> np.ndarray | None:
    """Optimal option row per order (or -1) under node capacity and stock per key; None if CP-SAT
    stopped without proving an optimum (see the module docstring for the model and the reduction).
    ``reduce=False`` hands every order and resource to one CP-SAT model (benchmarks and tests only)."""
    opt_order = np.asarray(opt_order, np.int64)
    opt_node = np.asarray(opt_node, np.int64)
    c = np.asarray(opt_cost, float)
    u = as_unassigned(unassigned_cost, n_orders)
    cap = as_capacity(np.asarray(node_capacity), np.asarray(node_capacity).shape[0], "node_capacity")
    left = np.asarray(stock_left, np.int64)
    if np.isnan(c).any() or np.isneginf(c).any():
        raise ValueError("option costs must be finite or +inf (no NaN, no -inf)")
    choice = np.full(n_orders, -1, np.int64)

    # options that can never be taken: no arc, as in flow
    short = (
        np.bincount(use_option[use_qty > left[use_key]], minlength=c.size) > 0
        if use_option.size
        else np.zeros(c.size, bool)
    )
    keep = np.isfinite(c) & (c < u[opt_order]) & (cap[opt_node] > 0) & ~short
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return choice
    local = np.full(c.size, -1, np.int64)
    local[rows] = np.arange(rows.size)
    o = opt_order[rows]
    orders, o_idx = np.unique(o, return_inverse=True)
    q, q_un = integer_costs(o_idx, c[rows], u[orders], n_graph=orders.size + rows.size + 1)

    # incidence (option, resource, amount): node r -> r, key k -> N + k
    m = local[use_option] >= 0
    inc_opt = np.concatenate([np.arange(rows.size), local[use_option[m]]])
    inc_res = np.concatenate([opt_node[rows], cap.size + use_key[m]])
    inc_amt = np.concatenate([np.ones(rows.size, np.int64), use_qty[m]])
    res_cap = np.concatenate([cap, left])
    demand = np.bincount(inc_res, weights=inc_amt, minlength=res_cap.size)
    binding = demand > res_cap if reduce else demand > 0
    b = binding[inc_res]
    inc_opt, inc_res, inc_amt = inc_opt[b], inc_res[b], inc_amt[b]

    first = first_choice(o_idx, q, q_un)
    is_first = first[o_idx[inc_opt]] == inc_opt
    used = np.bincount(inc_res[is_first], weights=inc_amt[is_first], minlength=res_cap.size)
    reached = used > res_cap
    active = np.zeros(orders.size, bool) if reduce else np.ones(orders.size, bool)
    while reduce:  # close over "first choice on a reached resource" -> "all binding resources of its options"
        hit = is_first & reached[inc_res]
        new = np.zeros(orders.size, bool)
        new[o_idx[inc_opt[hit]]] = True
        new &= ~active
        if not new.any():
            break
        active |= new
        reached[inc_res[new[o_idx[inc_opt]]]] = True
    keep_first = (first >= 0) & ~active
    choice[orders[keep_first]] = rows[first[keep_first]]
    if not active.any():
        return choice

    sub = np.flatnonzero(active[o_idx])  # local options of active orders
    comp = (
        _components(o_idx[sub], inc_opt, inc_res, sub, rows.size, res_cap.size)
        if reduce
        else np.zeros(sub.size, np.int64)
    )
    for g in range(int(comp.max()) + 1):
        opts = sub[comp == g]
        got = _cp_sat(opts, o_idx, q, q_un, inc_opt, inc_res, inc_amt, res_cap, max_deterministic_time)
        if got is None:
            return None
        choice[orders[o_idx[got]]] = rows[got]
    return choice


def _components(
    order_of: np.ndarray, inc_opt: np.ndarray, inc_res: np.ndarray, sub: np.ndarray, n_opts: int, n_res: int
) -> np.ndarray:
    """Connected component of each option in `sub` (graph: option - its order, option - its binding resources)."""
    pos = np.full(n_opts, -1, np.int64)
    pos[sub] = np.arange(sub.size)
    m = pos[inc_opt] >= 0
    n_ord = int(order_of.max()) + 1
    # vertices: options [0, S), orders [S, S + n_ord), resources after
    a = np.concatenate([np.arange(sub.size), pos[inc_opt[m]]])
    bb = np.concatenate([sub.size + order_of, sub.size + n_ord + inc_res[m]])
    n_v = sub.size + n_ord + n_res
    g = coo_matrix((np.ones(a.size), (a, bb)), shape=(n_v, n_v))
    _, labels = connected_components(g, directed=False)
    lab = labels[: sub.size]
    _, dense = np.unique(lab, return_inverse=True)  # components numbered by their first option
    return dense.ravel()


def _cp_sat(
    opts: np.ndarray,
    o_idx: np.ndarray,
    q: np.ndarray,
    q_un: np.ndarray,
    inc_opt: np.ndarray,
    inc_res: np.ndarray,
    inc_amt: np.ndarray,
    res_cap: np.ndarray,
    max_deterministic_time: float,
) -> np.ndarray | None:
    """Solve one component (local option indices `opts`); the chosen options, or None if not proven optimal."""
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in opts.tolist()]
    ords = o_idx[opts]
    by_order = np.argsort(ords, kind="stable")
    so = ords[by_order]
    starts = np.flatnonzero(np.r_[True, so[1:] != so[:-1]])
    for s, e in zip(starts.tolist(), np.r_[starts[1:], opts.size].tolist(), strict=True):
        if e - s > 1:
            model.add_at_most_one([x[i] for i in by_order[s:e].tolist()])
    pos = np.full(q.size, -1, np.int64)
    pos[opts] = np.arange(opts.size)
    m = pos[inc_opt] >= 0
    p, r, a = pos[inc_opt[m]], inc_res[m], inc_amt[m]
    seq = np.lexsort((p, r))
    p, r, a = p[seq], r[seq], a[seq]
    bounds = np.flatnonzero(np.r_[True, r[1:] != r[:-1], True])
    for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        model.add(
            cp_model.LinearExpr.weighted_sum([x[i] for i in p[s:e].tolist()], a[s:e].tolist())
            <= int(res_cap[r[s]])
        )
    coef = q[opts] - q_un[ords]  # u_i (1 - Σ x) + Σ c x = const + Σ (c - u_i) x
    model.minimize(cp_model.LinearExpr.weighted_sum(x, coef.tolist()))
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers = 1
    prm.random_seed = SEED
    prm.max_deterministic_time = float(max_deterministic_time)
    prm.log_search_progress = False
    status = solver.solve(model)
    if status != cp_model.OPTIMAL:
        return None
    val = np.array([solver.boolean_value(v) for v in x], bool)
    return cast(np.ndarray, opts[val])


@register_router("mip")
class Mip:
    """CP-SAT per epoch with exact stock per node x SKU (DESIGN.md section 6); falls back to ``flow``."""

    name = "mip"

    def __init__(
        self,
        lookahead: bool = True,
        max_deterministic_time: float = DEFAULT_DETERMINISTIC_TIME,
        max_shipments: int = DEFAULT_MAX_SHIPMENTS,
    ) -> None:
        self.lookahead = lookahead
        self.max_deterministic_time = max_deterministic_time
        self.max_shipments = max_shipments  # shipments per split order (1: never split)
        self.fallbacks = 0  # epochs routed by flow because CP-SAT stopped without a proven optimum

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(max_shipments=self.max_shipments, counts_fallbacks=True, decision_cost=True)

    def decision_cost(self, batch: Batch) -> np.ndarray:
        """Per option: money cost plus, when looking ahead, the reservation price (as ``Flow``)."""
        if self.lookahead and batch.opt_reservation is not None:
            return cast(np.ndarray, batch.opt_cost + batch.opt_reservation)
        return batch.opt_cost

    def route(self, batch: Batch) -> np.ndarray:
        use_option, use_key, use_qty, left = stock_uses(batch)
        choice = solve_orders(
            batch.n_orders,
            batch.opt_order,
            batch.opt_node,
            self.decision_cost(batch),
            batch.unassigned_cost,
            batch.node_capacity,
            use_option,
            use_key,
            use_qty,
            left,
            max_deterministic_time=self.max_deterministic_time,
        )
        if choice is None:
            self.fallbacks += 1
            return Flow(lookahead=self.lookahead).route(batch)
        return choice

    def route_lines(self, batch: Batch) -> LineChoice:
        """Whole options and split shipments (``sim.routing.split``); ``route`` without ``Batch.split``."""
        rows = batch.split
        if rows is None:
            return LineChoice(self.route(batch), np.zeros(0, np.int64))
        ship, line = rows.ship_cost, rows.sl_cost
        if self.lookahead:
            ship = ship if rows.ship_reservation is None else ship + rows.ship_reservation
            line = line if rows.sl_reservation is None else line + rows.sl_reservation
        use_option, use_key, use_qty, left = stock_uses(batch)
        got = solve_split(
            batch.n_orders,
            batch.opt_order,
            batch.opt_node,
            self.decision_cost(batch),
            batch.opt_offer,
            batch.unassigned_cost,
            batch.node_capacity,
            use_option,
            use_key,
            use_qty,
            left,
            rows,
            ship,
            line,
            max_deterministic_time=self.max_deterministic_time,
            max_shipments=self.max_shipments,
        )
        if got is None:
            self.fallbacks += 1
            return LineChoice(
                Flow(lookahead=self.lookahead).route(batch), np.full(rows.line_order.size, -1, np.int64)
            )
        return got
