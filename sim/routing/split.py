"""Split orders for the ``mip`` router: each line of a multi-line order from a node of its own.

The engine describes, besides the whole-order option rows of ``Batch``, *shipment rows* (order, node)
at the order's requested tier or faster where the node can ship now, and *line rows* (shipment row,
order line) where that node holds the line (``SplitRows``). A shipment's money cost is a per-shipment
part (transport, base handling) plus a per-line part for each line it carries (pick time per line), so
a partial shipment is costed like a whole one. The model, one per epoch (split into independent parts)::

    z_i  order i served by shipments      y_s  shipment row s used      x_r  line row r used
    w_k  whole option row k (downgrade offers, and every option of an order without shipment rows)

    minimise  Σ c_k w_k + Σ f_s y_s + Σ g_r x_r + σ (Σ_{s of i} y_s − z_i) + Σ u_i (1 − z_i − Σ_{k of i} w_k)
    s.t.      z_i + Σ_{k of i} w_k ≤ 1                         an order: served once, or not at all
              Σ_{r of line l} x_r = z_i                          every line of a served order, once (no partial orders)
              x_r ≤ y_{s(r)} ;  y_s ≤ Σ_{r of s} x_r             a shipment is used iff it carries a line
              Σ_{s of i} y_s ≤ max_shipments                     shipments per order are capped
              Σ_{s at n} y_s + Σ_{k at n} w_k ≤ capacity[n]      a shipment takes a node place like an order
              Σ_r q_r x_r + Σ_k q_{k,key} w_k ≤ stock_left[key]   exact stock per node x SKU

σ is ``costs.split_per_extra_shipment_cny``. An order's served tier is its slowest shipment's; every
shipment row is at the requested tier or faster and can make its own promise, so a split order is
never a downgrade (offers stay whole orders). A whole order at one node is the one-shipment case.

**Integers and must-serve orders.** Costs are rounded to multiples of 1/(2S) CNY (S = ``COST_SCALE``
of ``sim.routing.flow``); an order's solution has at most max_shipments + n_lines + 1 terms, so the
optimum of the integer model is within Σ_i (max_shipments + n_lines_i + 1)/(2S) CNY of the true
one. An unassigned cost of +inf (must serve) becomes a big M above the spread of every order's costs
in the model: serve as many of them as possible, then cheapest.

**Reduction.** A resource whose every possible use fits never binds and is dropped; orders linked by
binding resources form components (exact: the rest of the model separates). Components are packed
into models of at most ``PACK_ORDERS`` orders (a model of independent parts is solved exactly too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from ortools.sat.python import cp_model
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.routing.integer_costs import COST_SCALE

PACK_ORDERS = 64  # orders per CP-SAT model when packing independent components
SEED = 0
DEFAULT_MAX_SHIPMENTS = 2


@dataclass(frozen=True)
class SplitRows:
    """Shipment and line rows of one batch (see the module docstring). Shipment rows are grouped by order."""

    line_order: np.ndarray  # (L,) batch order of each line, non-decreasing
    ship_order: np.ndarray  # (S,) batch order of each shipment row
    ship_node: np.ndarray  # (S,) node
    ship_cost: np.ndarray  # (S,) per-shipment money part, CNY
    sl_ship: np.ndarray  # (R,) shipment row of each line row
    sl_line: np.ndarray  # (R,) batch line (index into line_order)
    sl_cost: np.ndarray  # (R,) per-line money part, CNY
    sl_key: np.ndarray  # (R,) stock key (index into Batch.stock_left)
    sl_qty: np.ndarray  # (R,) units
    split_cost: float  # CNY per shipment beyond the first
    ship_reservation: np.ndarray | None = None  # (S,) look-ahead price of a node place (a signal, not a cost)
    sl_reservation: np.ndarray | None = None  # (R,) look-ahead price of the line's stock


@dataclass(frozen=True)
class LineChoice:
    """A router's answer with splits: a whole option row per order (or -1), and a shipment row per line
    (or -1). An order is served whole (choice >= 0), by shipments (all its lines >= 0), or not at all."""

    choice: np.ndarray  # (n,)
    line_ship: np.ndarray  # (L,)


def _int(c: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, np.rint(np.asarray(c, float) * 2 * COST_SCALE).astype(np.int64))


def solve_split(
    n_orders: int,
    opt_order: np.ndarray,
    opt_node: np.ndarray,
    opt_cost: np.ndarray,
    opt_offer: np.ndarray,
    unassigned_cost: np.ndarray,
    node_capacity: np.ndarray,
    use_option: np.ndarray,
    use_key: np.ndarray,
    use_qty: np.ndarray,
    stock_left: np.ndarray,
    rows: SplitRows,
    ship_cost: np.ndarray,
    sl_cost: np.ndarray,
    *,
    max_deterministic_time: float,
    max_shipments: int = DEFAULT_MAX_SHIPMENTS,
) -> LineChoice | None:
    """Optimal whole options and shipments (module docstring), or None if CP-SAT stopped unproven.
    ``ship_cost`` / ``sl_cost`` are the decision costs of the rows (money, plus reservation if looking ahead)."""
    opt_order, opt_node = np.asarray(opt_order, np.int64), np.asarray(opt_node, np.int64)
    c, u = np.asarray(opt_cost, float), np.asarray(unassigned_cost, float)
    cap, left = np.asarray(node_capacity, np.int64), np.asarray(stock_left, np.int64)
    n_nodes = cap.size
    L = rows.line_order.size
    choice, line_ship = np.full(n_orders, -1, np.int64), np.full(L, -1, np.int64)
    s_order, s_node = np.asarray(rows.ship_order, np.int64), np.asarray(rows.ship_node, np.int64)
    sl_ship, sl_line = np.asarray(rows.sl_ship, np.int64), np.asarray(rows.sl_line, np.int64)
    sl_key, sl_qty = np.asarray(rows.sl_key, np.int64), np.asarray(rows.sl_qty, np.int64)
    f, g = np.asarray(ship_cost, float), np.asarray(sl_cost, float)

    # usable line rows: shipment at a node with capacity, stock enough, finite costs
    ok_s = (cap[s_node] > 0) & np.isfinite(f)
    ok_r = ok_s[sl_ship] & (sl_qty <= left[sl_key]) & np.isfinite(g)
    # an order is split-servable only if every line has a usable row; otherwise drop its rows
    line_has = np.bincount(sl_line[ok_r], minlength=L) > 0
    n_lines = np.bincount(rows.line_order, minlength=n_orders)
    covered = np.bincount(rows.line_order[line_has], minlength=n_orders) == n_lines
    ok_r &= covered[s_order[sl_ship]]
    ok_s &= np.bincount(sl_ship[ok_r], minlength=s_order.size) > 0
    has_rows = np.bincount(s_order, minlength=n_orders) > 0

    short = (
        np.bincount(use_option[use_qty > left[use_key]], minlength=c.size) > 0
        if use_option.size
        else np.zeros(c.size, bool)
    )
    whole = (
        (np.asarray(opt_offer, bool) | ~has_rows[opt_order])
        & np.isfinite(c)
        & (c < u[opt_order])
        & (cap[opt_node] > 0)
        & ~short
    )
    W, S, R = np.flatnonzero(whole), np.flatnonzero(ok_s), np.flatnonzero(ok_r)
    if W.size + S.size == 0:
        return LineChoice(choice, line_ship)

    # variables: whole rows [0, nW), shipments [nW, nW+nS), line rows after; resources: node r, key N + k
    nW, nS = W.size, S.size
    vpos_w = np.full(c.size, -1, np.int64)
    vpos_w[W] = np.arange(nW)
    vpos_s = np.full(s_order.size, -1, np.int64)
    vpos_s[S] = nW + np.arange(nS)
    m = vpos_w[use_option] >= 0 if use_option.size else np.zeros(0, bool)
    inc_var = np.concatenate(
        [np.arange(nW), nW + np.arange(nS), vpos_w[use_option[m]], nW + nS + np.arange(R.size)]
    )
    inc_res = np.concatenate([opt_node[W], s_node[S], n_nodes + use_key[m], n_nodes + sl_key[R]])
    inc_amt = np.concatenate([np.ones(nW + nS, np.int64), use_qty[m], sl_qty[R]])
    res_cap = np.concatenate([cap, left])
    demand = np.bincount(inc_res, weights=inc_amt, minlength=res_cap.size)
    b = demand[inc_res] > res_cap[inc_res]
    inc_var, inc_res, inc_amt = inc_var[b], inc_res[b], inc_amt[b]
    var_order = np.concatenate([opt_order[W], s_order[S], s_order[sl_ship[R]]])

    # components of orders linked by binding resources, packed into models
    orders = np.unique(var_order)
    o_loc = np.full(n_orders, -1, np.int64)
    o_loc[orders] = np.arange(orders.size)
    res_used, r_loc = np.unique(inc_res, return_inverse=True)
    nv = orders.size + res_used.size
    gph = coo_matrix(
        (np.ones(inc_var.size), (o_loc[var_order[inc_var]], orders.size + r_loc.ravel())), shape=(nv, nv)
    )
    _, lab = connected_components(gph, directed=False)
    _, comp = np.unique(lab[: orders.size], return_inverse=True)
    comp = comp.ravel()
    sizes = np.bincount(comp)
    model_of_comp = np.zeros(sizes.size, np.int64)
    k, filled = 0, 0
    for j, sz in enumerate(sizes.tolist()):
        if filled and filled + sz > PACK_ORDERS:
            k, filled = k + 1, 0
        model_of_comp[j], filled = k, filled + sz
    model_of_order = np.full(n_orders, -1, np.int64)
    model_of_order[orders] = model_of_comp[comp]

    qc, qf, qg = _int(np.where(whole, c, 0.0)), _int(np.where(ok_s, f, 0.0)), _int(np.where(ok_r, g, 0.0))
    qsig = int(_int(np.array([rows.split_cost]))[0])
    var_model = model_of_order[var_order]
    for mdl in range(k + 1):
        sel = np.flatnonzero(var_model == mdl)
        got = _cp_sat(
            sel,
            nW,
            nS,
            W,
            S,
            R,
            opt_order,
            s_order,
            sl_ship,
            sl_line,
            rows.line_order,
            u,
            qc,
            qf,
            qg,
            qsig,
            int(max_shipments),
            inc_var,
            inc_res,
            inc_amt,
            res_cap,
            max_deterministic_time,
        )
        if got is None:
            return None
        gw, gr = got
        choice[opt_order[W[gw]]] = W[gw]
        line_ship[sl_line[R[gr]]] = sl_ship[R[gr]]
    return LineChoice(choice, line_ship)


def _cp_sat(
    sel: np.ndarray,
    nW: int,
    nS: int,
    W: np.ndarray,
    S: np.ndarray,
    R: np.ndarray,
    opt_order: np.ndarray,
    s_order: np.ndarray,
    sl_ship: np.ndarray,
    sl_line: np.ndarray,
    line_order: np.ndarray,
    u: np.ndarray,
    qc: np.ndarray,
    qf: np.ndarray,
    qg: np.ndarray,
    qsig: int,
    max_ship: int,
    inc_var: np.ndarray,
    inc_res: np.ndarray,
    inc_amt: np.ndarray,
    res_cap: np.ndarray,
    max_deterministic_time: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """One model over the variables `sel`: (chosen whole-row positions into W, chosen line-row positions into R)."""
    model = cp_model.CpModel()
    var: dict[int, cp_model.IntVar] = {v: model.new_bool_var(f"v{v}") for v in sel.tolist()}
    ws = [v for v in sel.tolist() if v < nW]
    ss = [v for v in sel.tolist() if nW <= v < nW + nS]
    rs = [v for v in sel.tolist() if v >= nW + nS]
    by_order: dict[int, list[int]] = {}
    for v in ws:
        by_order.setdefault(int(opt_order[W[v]]), []).append(v)
    ship_of_order: dict[int, list[int]] = {}
    for v in ss:
        ship_of_order.setdefault(int(s_order[S[v - nW]]), []).append(v)
    rows_of_ship: dict[int, list[int]] = {}
    rows_of_line: dict[int, list[int]] = {}
    for v in rs:
        r = R[v - nW - nS]
        rows_of_ship.setdefault(int(sl_ship[r]), []).append(v)
        rows_of_line.setdefault(int(sl_line[r]), []).append(v)
    lines_of_order: dict[int, list[int]] = {}
    for ln in rows_of_line:
        lines_of_order.setdefault(int(line_order[ln]), []).append(ln)

    obj_v: list[cp_model.IntVar] = []
    obj_c: list[int] = []
    z: dict[int, cp_model.IntVar] = {}
    for i in ship_of_order:
        z[i] = model.new_bool_var(f"z{i}")
        for ln in lines_of_order[i]:
            model.add(sum(var[v] for v in rows_of_line[ln]) == z[i])
        ys = ship_of_order[i]
        for y in ys:
            xs = [var[v] for v in rows_of_ship[int(S[y - nW])]]
            for x in xs:
                model.add_implication(x, var[y])
            model.add(sum(xs) >= var[y])
            obj_v.append(var[y])
            obj_c.append(int(qf[S[y - nW]]) + qsig)
        if len(ys) > max_ship:
            model.add(sum(var[y] for y in ys) <= max_ship)
    for v in rs:
        obj_v.append(var[v])
        obj_c.append(int(qg[R[v - nW - nS]]))
    for v in ws:
        obj_v.append(var[v])
        obj_c.append(int(qc[W[v]]))
    # unassigned: u_i (1 - served_i); must-serve orders get a big M above the model's whole spread
    all_orders = sorted(set(by_order) | set(z))
    finite = [i for i in all_orders if np.isfinite(u[i])]
    q_u = {i: int(_int(np.array([u[i]]))[0]) for i in finite}
    big_m = sum(max(cf, 0) for cf in obj_c) + sum(q_u.values()) + qsig * len(z) + 1
    for i in all_orders:
        served: list[cp_model.IntVar] = [var[v] for v in by_order.get(i, [])] + ([z[i]] if i in z else [])
        if len(served) > 1:
            model.add_at_most_one(served)
        cu = q_u.get(i, big_m)
        for s in served:
            obj_v.append(s)
            obj_c.append(-cu - (qsig if i in z and s is z[i] else 0))
    # binding resources
    m = np.isin(inc_var, sel)
    p, r, a = inc_var[m], inc_res[m], inc_amt[m]
    seq = np.lexsort((p, r))
    p, r, a = p[seq], r[seq], a[seq]
    bounds = np.flatnonzero(np.r_[True, r[1:] != r[:-1], True]) if r.size else np.zeros(1, np.int64)
    for s0, e0 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        model.add(
            cp_model.LinearExpr.weighted_sum([var[int(v)] for v in p[s0:e0]], a[s0:e0].tolist())
            <= int(res_cap[r[s0]])
        )
    model.minimize(cp_model.LinearExpr.weighted_sum(obj_v, obj_c))
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers = 1
    prm.random_seed = SEED
    prm.max_deterministic_time = float(max_deterministic_time)
    status = solver.solve(model)
    if status != cp_model.OPTIMAL:
        return None
    gw = np.array([v for v in ws if solver.boolean_value(var[v])], np.int64)
    gr = np.array([v - nW - nS for v in rs if solver.boolean_value(var[v])], np.int64)
    return gw, gr
