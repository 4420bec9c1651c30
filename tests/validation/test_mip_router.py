"""The ``mip`` router against brute force and HiGHS on multi-line batches, and against ``flow``.

Batches are built like the engine's: an order's lines are distinct SKUs; a node is an option only if
it holds every line; option lines take their units from (node, SKU) stock keys (``option_stock``).
Brute force enumerates every assignment (each order one of its options or none) and keeps those
within node capacity and stock per key; must-serve orders (unassigned cost inf) make the objective
lexicographic: first the number of them left unserved, then money, where a must-serve order left
unserved (carried to the next epoch) counts at its cheapest usable option, the routers' per-order shift.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

import sim.routing.mip as mip_module
from sim.routing import Batch, batch_objective, make_router
from sim.routing.base import option_stock
from sim.routing.flow import COST_SCALE, Flow
from sim.routing.lookahead import option_reservation
from sim.routing.mip import Mip, solve_orders, stock_uses


def multi_line_batch(
    seed: int,
    *,
    n_min: int = 1,
    n_max: int = 4,
    nodes_max: int = 3,
    n_skus: int = 3,
    lines_max: int = 3,
    qty_max: int = 2,
    must: float = 0.3,
    reach: float = 0.8,
    cap_max: int = 3,
    stock_max: int = 4,
    reservation: bool = False,
) -> Batch:
    rng = np.random.default_rng(seed)
    n, n_nodes = int(rng.integers(n_min, n_max + 1)), int(rng.integers(2, nodes_max + 1))
    on_hand = rng.integers(0, stock_max, (n_nodes, n_skus))
    node_tier = rng.integers(0, 3, n_nodes)
    req = rng.integers(0, 3, n).astype(np.int8)
    lines = []
    for _ in range(n):
        k = int(rng.integers(1, min(lines_max, n_skus) + 1))
        lines.append((rng.choice(n_skus, k, replace=False), rng.integers(1, qty_max + 1, k)))
    o, nd = [], []
    for i, (sku, qty) in enumerate(lines):
        for j in range(n_nodes):
            if rng.random() < reach and (on_hand[j, sku] >= qty).all():
                o.append(i), nd.append(j)
    opt_order, opt_node = np.array(o, np.int64), np.array(nd, np.int64)
    use_option = np.concatenate([np.full(lines[i][0].size, k) for k, i in enumerate(o)] or [[]])
    use_option = use_option.astype(np.int64)
    use_sku = np.concatenate([lines[i][0] for i in o] or [[]]).astype(np.int64)
    use_qty = np.concatenate([lines[i][1] for i in o] or [[]]).astype(np.int64)
    single = np.array([lines[i][0].size == 1 for i in o], bool)
    opt_key, use_key, left = option_stock(opt_node, use_option, use_sku, single, on_hand)
    tier = node_tier[opt_node].astype(np.int8)
    cost = rng.choice([rng.uniform(1, 30, opt_order.size), rng.integers(1, 5, opt_order.size).astype(float)])
    res = None
    if reservation:
        res = option_reservation(
            use_option,
            opt_node[use_option],
            use_sku,
            use_qty,
            tier < req[opt_order],
            rng.uniform(0, 1e-3, (n_nodes, n_skus)),
            on_hand,
            4 * 3600.0,
            25.0,
        )
    unassigned = np.where(rng.random(n) < must, np.inf, rng.uniform(5, 40, n))
    return Batch(
        n_orders=n,
        requested_tier=req,
        opt_order=opt_order,
        opt_node=opt_node,
        opt_tier=tier,
        opt_km=rng.uniform(0, 20, opt_order.size),
        opt_cost=cost,
        opt_eta_s=np.zeros(opt_order.size),
        opt_offer=tier > req[opt_order],
        unassigned_cost=unassigned,
        node_capacity=rng.integers(0, cap_max + 1, n_nodes),
        opt_reservation=res,
        opt_stock_key=opt_key,
        stock_left=left,
        use_option=use_option,
        use_key=use_key,
        use_qty=use_qty,
    )


def feasible(batch: Batch, choice: np.ndarray) -> bool:
    got = choice >= 0
    if not (batch.opt_order[choice[got]] == np.flatnonzero(got)).all():
        return False
    if (
        np.bincount(batch.opt_node[choice[got]], minlength=batch.node_capacity.size) > batch.node_capacity
    ).any():
        return False
    use_option, use_key, use_qty, left = stock_uses(batch)
    taken = np.zeros(batch.opt_order.size, bool)
    taken[choice[got]] = True
    m = taken[use_option]
    return bool((np.bincount(use_key[m], weights=use_qty[m], minlength=left.size) <= left).all())


def score(batch: Batch, choice: np.ndarray, cost: np.ndarray) -> tuple[int, float]:
    """(must-serve orders left unserved, money of the choice under `cost`). An unserved must-serve order
    is carried to a later epoch: it counts at its cheapest usable option (the routers' per-order shift)."""
    got = choice >= 0
    u = batch.unassigned_cost
    use_option, use_key, use_qty, left = stock_uses(batch)
    usable = (batch.node_capacity[batch.opt_node] > 0) & ~np.isin(
        np.arange(cost.size), use_option[use_qty > left[use_key]]
    )
    cheapest = np.full(batch.n_orders, np.inf)
    np.minimum.at(cheapest, batch.opt_order[usable], cost[usable])
    carried = ~got & ~np.isfinite(u)
    unserved = int(carried.sum())
    money = (
        cost[choice[got]].sum()
        + u[~got & np.isfinite(u)].sum()
        + np.where(np.isfinite(cheapest), cheapest, 0.0)[carried].sum()
    )
    return unserved, float(money)


def brute_force(batch: Batch, cost: np.ndarray) -> tuple[int, float]:
    per = [np.r_[np.flatnonzero(batch.opt_order == i), -1] for i in range(batch.n_orders)]
    best = (batch.n_orders + 1, np.inf)
    for combo in itertools.product(*per):
        choice = np.array(combo, np.int64)
        if feasible(batch, choice):
            best = min(best, score(batch, choice, cost))
    return best


def test_mip_equals_brute_force_on_tiny_multi_line_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """2-4 orders x 2-3 nodes x 1-3 lines; at least 50 instances must reach CP-SAT (not just the reduction)."""
    solves = [0]
    real = mip_module._cp_sat

    def counted(*args: object, **kwargs: object) -> object:
        solves[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(mip_module, "_cp_sat", counted)
    router = Mip()
    reached = 0
    for seed in range(240):
        tight = seed % 2 == 1  # scarcer stock and capacity: more contested batches
        batch = multi_line_batch(
            seed,
            n_min=2,
            reservation=seed % 3 == 0,
            stock_max=3 if tight else 4,
            cap_max=2 if tight else 3,
            reach=0.9,
        )
        before = solves[0]
        choice = router.route(batch)
        reached += solves[0] > before
        assert feasible(batch, choice), seed
        cost = router.decision_cost(batch)
        unserved, money = score(batch, choice, cost)
        best_unserved, best_money = brute_force(batch, cost)
        assert unserved == best_unserved, seed
        assert best_money - 1e-9 <= money <= best_money + batch.n_orders / (2 * COST_SCALE) + 1e-9, seed
    assert router.fallbacks == 0
    assert reached >= 50, reached


def repaired(batch: Batch, choice: np.ndarray) -> np.ndarray:
    """The engine's repair: in batch order, an order whose lines exceed the stock left is unassigned."""
    use_option, use_key, use_qty, left = stock_uses(batch)
    left = left.copy()
    out = choice.copy()
    for i in np.flatnonzero(choice >= 0):
        m = use_option == choice[i]
        if (left[use_key[m]] >= use_qty[m]).all():
            np.subtract.at(left, use_key[m], use_qty[m])
        else:
            out[i] = -1
    return out


def milp_money(batch: Batch, cost: np.ndarray) -> float:
    """HiGHS optimum with exact stock per key (finite unassigned costs only)."""
    n, k = batch.n_orders, batch.opt_order.size
    c = np.concatenate([cost, batch.unassigned_cost])
    rows = [
        coo_matrix(
            (np.ones(k + n), (np.concatenate([batch.opt_order, np.arange(n)]), np.arange(k + n))),
            shape=(n, k + n),
        )
    ]
    cons = [LinearConstraint(rows[0], 1, 1)]
    cons.append(
        LinearConstraint(
            coo_matrix((np.ones(k), (batch.opt_node, np.arange(k))), shape=(batch.node_capacity.size, k + n)),
            -np.inf,
            batch.node_capacity.astype(float),
        )
    )
    use_option, use_key, use_qty, left = stock_uses(batch)
    cons.append(
        LinearConstraint(
            coo_matrix((use_qty.astype(float), (use_key, use_option)), shape=(left.size, k + n)),
            -np.inf,
            left.astype(float),
        )
    )
    res = milp(
        c, constraints=cons, integrality=np.ones(k + n), bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0}
    )
    assert res.status == 0, res.message
    return float(c @ np.rint(res.x))


@pytest.mark.parametrize("reservation", [False, True])
def test_mip_equals_highs_and_beats_repaired_flow_on_larger_batches(reservation: bool) -> None:
    """Contested stock over many orders: the reduction and components must keep the optimum."""
    router, flow = Mip(), Flow()
    worse = 0
    for seed in range(30):
        batch = multi_line_batch(
            500 + seed,
            n_max=60,
            nodes_max=8,
            n_skus=6,
            lines_max=3,
            must=0.0,
            reach=0.5,
            cap_max=12,
            stock_max=5,
            reservation=reservation,
        )
        cost = router.decision_cost(batch)
        choice = router.route(batch)
        assert feasible(batch, choice), seed
        ours = score(batch, choice, cost)[1]
        best = milp_money(batch, cost)
        assert best - 1e-6 <= ours <= best + batch.n_orders / (2 * COST_SCALE) + 1e-6, seed
        whole = solve_orders(
            batch.n_orders,
            batch.opt_order,
            batch.opt_node,
            cost,
            batch.unassigned_cost,
            batch.node_capacity,
            *stock_uses(batch),
            reduce=False,
        )  # one model, no reduction
        assert whole is not None and score(batch, whole, cost)[1] == pytest.approx(ours, abs=1e-6), seed
        f = repaired(batch, flow.route(batch))
        assert feasible(batch, f)
        worse += ours < score(batch, f, cost)[1] - 1e-6
        assert ours <= score(batch, f, cost)[1] + batch.n_orders / (2 * COST_SCALE) + 1e-9, seed
    assert worse > 0  # flow's repairs cost money on some of these batches
    assert router.fallbacks == 0


def test_mip_equals_flow_on_single_line_single_unit_batches() -> None:
    """Both are exact there and share the integer costs: the same objective (choices may differ on ties)."""
    mip, flow = Mip(), Flow()
    for seed in range(80):
        batch = multi_line_batch(
            900 + seed,
            n_max=40,
            nodes_max=6,
            n_skus=4,
            lines_max=1,
            qty_max=1,
            must=0.2,
            cap_max=8,
            reservation=seed % 2 == 0,
        )
        a, b = mip.route(batch), flow.route(batch)
        cost = mip.decision_cost(batch)
        assert feasible(batch, b)
        sa, sb = score(batch, a, cost), score(batch, b, cost)
        assert sa[0] == sb[0] and sa[1] == pytest.approx(sb[1], abs=batch.n_orders / COST_SCALE + 1e-9), seed


def test_forced_fallback_returns_flow_and_counts() -> None:
    batch = multi_line_batch(
        42, n_max=120, nodes_max=10, n_skus=8, lines_max=3, must=0.0, reach=0.7, cap_max=30, stock_max=6
    )
    router = make_router("mip", max_deterministic_time=1e-9)
    assert isinstance(router, Mip) and router.fallbacks == 0
    assert (
        make_router("nearest", max_deterministic_time=1e-9).name == "nearest"
    )  # settings it does not declare
    choice = router.route(batch)
    assert router.fallbacks == 1
    assert np.array_equal(choice, Flow().route(batch))
    exact = Mip().route(batch)  # the default limit proves the optimum on the same batch
    assert batch_objective(batch, exact) <= batch_objective(batch, repaired(batch, choice)) + 1e-6


def test_mip_is_deterministic_and_works_without_option_lines() -> None:
    batch = multi_line_batch(7, n_max=50, nodes_max=6, n_skus=5, must=0.1, cap_max=10)
    assert np.array_equal(Mip().route(batch), Mip().route(batch))
    # without option lines mip sees flow's model (single-line keys, one unit each): the same objective
    bare = Batch(**{**batch.__dict__, "use_option": None, "use_key": None, "use_qty": None})
    assert batch_objective(bare, Mip().route(bare)) == pytest.approx(
        batch_objective(bare, Flow().route(bare)), abs=batch.n_orders / COST_SCALE
    )
    empty = Batch(
        **{
            **batch.__dict__,
            "opt_stock_key": None,
            "stock_left": None,
            "use_option": None,
            "use_key": None,
            "use_qty": None,
        }
    )
    assert Mip().route(empty).shape == (batch.n_orders,)
