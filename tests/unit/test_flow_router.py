"""The ``flow`` router: exact on single-line batches (vs HiGHS), never worse than the baselines, look-ahead."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from scipy.stats import poisson

from sim.routing import Batch, batch_objective, make_router, stock_keys
from sim.routing.flow import COST_SCALE, Flow, solve_assignment
from sim.routing.lookahead import option_reservation, prob_at_least, reservation_price, shortfall_value

NEAR, MID, FAR = 0, 1, 2


def random_batch(
    seed: int,
    *,
    keyed: bool = True,
    reservation: bool = False,
    n_max: int = 12,
    nodes_max: int = 6,
    multi_line: float = 0.0,
    reach: float = 0.6,
) -> Batch:
    """Single-line orders (a `multi_line` share without a stock key); nodes of each tier; each node is an
    option with probability `reach` (at, faster or slower than requested), only where it has the SKU."""
    rng = np.random.default_rng(seed)
    n, n_nodes = int(rng.integers(0, n_max + 1)), int(rng.integers(1, nodes_max + 1))
    n_skus = int(rng.integers(1, 4))
    node_tier = rng.integers(0, 3, n_nodes)
    req = rng.integers(0, 3, n).astype(np.int8)
    sku = rng.integers(0, n_skus, n)
    on_hand = rng.integers(0, 3, (n_nodes, n_skus))
    rows = [
        (i, j) for i in range(n) for j in range(n_nodes) if rng.random() < reach and on_hand[j, sku[i]] > 0
    ]
    o = np.array([r[0] for r in rows], np.int64)
    nd = np.array([r[1] for r in rows], np.int64)
    tier = node_tier[nd].astype(np.int8)
    offer = tier > req[o]
    cost = rng.choice([rng.uniform(1, 30, o.size), rng.integers(1, 5, o.size).astype(float)])
    key_sku = np.where(rng.random(n) < multi_line, -1, sku)
    key, left = stock_keys(nd, key_sku[o], on_hand) if keyed else (None, None)
    res = None
    if reservation:
        charged = tier < req[o]
        res = option_reservation(
            np.arange(o.size),
            nd,
            sku[o],
            np.ones(o.size, np.int64),
            charged,
            rng.uniform(0, 1e-3, (n_nodes, n_skus)),
            on_hand,
            3600.0 * 4,
            25.0,
        )
    return Batch(
        n_orders=n,
        requested_tier=req,
        opt_order=o,
        opt_node=nd,
        opt_tier=tier,
        opt_km=rng.uniform(0, 20, o.size),
        opt_cost=cost,
        opt_eta_s=rng.uniform(0, 1e4, o.size),
        opt_offer=offer,
        unassigned_cost=rng.uniform(5, 40, n),
        node_capacity=rng.integers(0, 4, n_nodes),
        opt_reservation=res,
        opt_stock_key=key,
        stock_left=left,
    )


def milp_batch(batch: Batch, cost: np.ndarray) -> float:
    """HiGHS optimum of the batch: one option or unassigned per order, node capacity, stock per key."""
    n, k = batch.n_orders, batch.opt_order.size
    if n == 0:
        return 0.0
    c = np.concatenate([cost, batch.unassigned_cost])
    a_ord = coo_matrix(
        (np.ones(k + n), (np.concatenate([batch.opt_order, np.arange(n)]), np.arange(k + n))),
        shape=(n, k + n),
    )
    cons = [LinearConstraint(a_ord, 1, 1)]
    if k:
        n_nodes = batch.node_capacity.size
        cons.append(
            LinearConstraint(
                coo_matrix((np.ones(k), (batch.opt_node, np.arange(k))), shape=(n_nodes, k + n)),
                -np.inf,
                batch.node_capacity.astype(float),
            )
        )
        if batch.opt_stock_key is not None and batch.stock_left is not None and batch.stock_left.size:
            m = batch.opt_stock_key >= 0
            a_key = coo_matrix(
                (np.ones(m.sum()), (batch.opt_stock_key[m], np.flatnonzero(m))),
                shape=(batch.stock_left.size, k + n),
            )
            cons.append(LinearConstraint(a_key, -np.inf, batch.stock_left.astype(float)))
    res = milp(
        c, constraints=cons, integrality=np.ones(k + n), bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0}
    )
    assert res.status == 0, res.message
    return float(c @ np.rint(res.x))


def check_feasible(batch: Batch, choice: np.ndarray) -> None:
    assert choice.shape == (batch.n_orders,)
    got = choice >= 0
    assert (batch.opt_order[choice[got]] == np.flatnonzero(got)).all()
    assert (
        np.bincount(batch.opt_node[choice[got]], minlength=batch.node_capacity.size) <= batch.node_capacity
    ).all()
    if batch.opt_stock_key is not None and batch.stock_left is not None:
        k = batch.opt_stock_key[choice[got]]
        assert (np.bincount(k[k >= 0], minlength=batch.stock_left.size) <= batch.stock_left).all()


@pytest.mark.parametrize("reservation", [False, True])
def test_flow_equals_milp_on_single_line_batches(reservation: bool) -> None:
    router = Flow(lookahead=True)
    for seed in range(120):
        batch = random_batch(seed, reservation=reservation)
        choice = router.route(batch)
        check_feasible(batch, choice)
        cost = router.decision_cost(batch)
        ours = batch_objective(batch, choice, with_reservation=reservation)
        best = milp_batch(batch, cost)
        assert best - 1e-9 <= ours <= best + batch.n_orders / (2 * COST_SCALE) + 1e-9, seed


def test_flow_equals_milp_on_larger_batches() -> None:
    """Bigger batches: conflicts propagate through several stores and stock keys (the exact reduction)."""
    router = Flow()
    for seed in range(40):
        batch = random_batch(
            1000 + seed,
            reservation=seed % 2 == 0,
            n_max=90,
            nodes_max=25,
            multi_line=0.2 * (seed % 3),
            reach=(0.1, 0.2, 0.5)[seed % 3],
        )
        choice = router.route(batch)
        check_feasible(batch, choice)
        ours = batch_objective(batch, choice, with_reservation=seed % 2 == 0)
        best = milp_batch(batch, router.decision_cost(batch))
        assert best - 1e-9 <= ours <= best + batch.n_orders / (2 * COST_SCALE) + 1e-9, seed


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 40))
def test_flow_never_costlier_than_baselines(seed: int, n_max: int) -> None:
    batch = random_batch(seed, keyed=False, n_max=n_max)
    flow = make_router("flow").route(batch)
    ours = batch_objective(batch, flow)
    for name in ("nearest", "cheapest", "tier_first"):
        other = make_router(name).route(batch)
        check_feasible(batch, other)
        assert ours <= batch_objective(batch, other) + batch.n_orders / (2 * COST_SCALE) + 1e-9, name


def test_flow_is_registered_and_deterministic() -> None:
    router = make_router("flow")
    assert router.name == "flow" and isinstance(router, Flow)
    batch = random_batch(3)
    assert np.array_equal(router.route(batch), make_router("flow").route(batch))


def test_lookahead_off_ignores_reservation() -> None:
    batch = random_batch(11, reservation=True)
    assert np.array_equal(
        Flow(lookahead=False).route(batch),
        solve_assignment(
            batch.n_orders,
            batch.opt_order,
            batch.opt_node,
            batch.opt_cost,
            batch.unassigned_cost,
            batch.node_capacity,
            batch.opt_stock_key,
            batch.stock_left,
        ),
    )


def test_stock_keys() -> None:
    on_hand = np.array([[3, 0], [1, 5]])
    reserved = np.array([[1, 0], [1, 0]])
    key, left = stock_keys(np.array([0, 1, 0, 1, 1]), np.array([0, 1, 0, -1, 0]), on_hand, reserved)
    assert key.tolist() == [0, 2, 0, -1, 1]
    assert left.tolist() == [2, 0, 5]


def test_empty_batch() -> None:
    empty = np.zeros(0)
    batch = Batch(
        n_orders=0,
        requested_tier=empty.astype(np.int8),
        opt_order=empty.astype(np.int64),
        opt_node=empty.astype(np.int64),
        opt_tier=empty.astype(np.int8),
        opt_km=empty,
        opt_cost=empty,
        opt_eta_s=empty,
        opt_offer=empty.astype(bool),
        unassigned_cost=empty,
        node_capacity=np.array([1, 2]),
    )
    assert make_router("flow").route(batch).shape == (0,)


# ---------------------------------------------------------------- look-ahead helpers
def test_prob_at_least_matches_poisson() -> None:
    mu = np.array([0.0, 0.3, 2.0, 2.0, 15.0, 15.0, 4.0])
    a = np.array([1, 1, 0, 3, 10, 30, -2])
    expected = np.where(a <= 0, 1.0, poisson.sf(a - 1, mu))
    assert np.allclose(prob_at_least(mu, a), expected, rtol=1e-12, atol=1e-15)


def test_reservation_price_multi_unit() -> None:
    # taking 3 of 2 units: P(N >= 2) + P(N >= 1) + P(N >= 0)
    r = reservation_price(1.5, 2, 10.0, units=3)
    assert r == pytest.approx(10.0 * (poisson.sf(1, 1.5) + poisson.sf(0, 1.5) + 1.0))
    assert reservation_price(np.array([0.0, 5.0]), np.array([1, 1]), -4.0).tolist() == [
        0.0,
        0.0,
    ]  # Δ < 0 -> 0


def test_option_reservation_sums_lines_of_charged_options() -> None:
    rate = np.array([[1.0, 2.0], [0.5, 0.0]]) / 3600.0
    available = np.array([[1, 2], [4, 0]])
    horizon = np.array([[7200.0], [3600.0]])  # per node
    value = np.array([[10.0, 20.0]])  # per SKU
    # option 0: lines (node 0, sku 0, 1 unit), (node 0, sku 1, 2 units); option 1 not charged; option 2 at node 1
    r = option_reservation(
        np.array([0, 0, 1, 2]),
        np.array([0, 0, 0, 1]),
        np.array([0, 1, 0, 0]),
        np.array([1, 2, 1, 1]),
        np.array([True, False, True]),
        rate,
        available,
        horizon,
        value,
    )
    exp0 = 10 * poisson.sf(0, 2.0) + 20 * (poisson.sf(1, 4.0) + poisson.sf(0, 4.0))
    assert r == pytest.approx([exp0, 0.0, 10 * poisson.sf(3, 0.5)])
    on_hand, reserved = available + 3, np.full_like(available, 3)
    r2 = option_reservation(
        np.array([0, 0, 1, 2]),
        np.array([0, 0, 0, 1]),
        np.array([0, 1, 0, 0]),
        np.array([1, 2, 1, 1]),
        np.array([True, False, True]),
        rate,
        on_hand,
        horizon,
        value,
        reserved=reserved,
    )
    assert r2 == pytest.approx(r)


def test_shortfall_value() -> None:
    assert shortfall_value(40.0, 0.3, 3.0) == pytest.approx(0.3 * 3 + 0.7 * 40)
    assert shortfall_value(np.array([10.0, 0.0]), 1.5, -1.0).tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- the look-ahead scenario of issue 6
STORE, NDC = 0, 1
STORE_COST, NDC_COST, LOST, ACCEPT = 9.0, 12.0, 40.0, 0.3  # CNY; near -> far offer acceptance


def epoch(requested: int, stock: np.ndarray, lookahead: bool) -> tuple[Batch, int]:
    """One single-order batch at the store/NDC pair, built like the engine does; returns (batch, chosen node)."""
    node, tier, offer, cost = [], [], [], []
    if stock[STORE, 0] > 0:  # the engine offers a node only with stock
        node.append(STORE), tier.append(NEAR), offer.append(False), cost.append(STORE_COST)
    p = 1.0 if requested == FAR else ACCEPT
    node.append(NDC), tier.append(FAR), offer.append(requested < FAR)
    cost.append(p * NDC_COST + (1 - p) * LOST)
    nd, tr = np.array(node), np.array(tier, np.int8)
    req = np.array([requested], np.int8)
    o = np.zeros(nd.size, np.int64)
    key, left = stock_keys(nd, np.zeros(nd.size, np.int64), stock)
    res = None
    if lookahead:
        rate = np.array([[1.0 / 3600.0], [0.0]])  # the store's near-tier forecast: 1 unit/h
        delta = shortfall_value(LOST, ACCEPT, NDC_COST - STORE_COST)  # a near customer short at the store
        res = option_reservation(
            np.arange(nd.size),
            nd,
            np.zeros(nd.size, np.int64),
            np.ones(nd.size, np.int64),
            tr < req[o],
            rate,
            stock,
            6 * 3600.0,
            delta,
        )
    batch = Batch(
        n_orders=1,
        requested_tier=req,
        opt_order=o,
        opt_node=nd,
        opt_tier=tr,
        opt_km=np.array([2.0, 0.0][-nd.size :]),
        opt_cost=np.array(cost),
        opt_eta_s=np.zeros(nd.size),
        opt_offer=np.array(offer),
        unassigned_cost=np.array([LOST]),
        node_capacity=np.array([5, 5]),
        opt_reservation=res,
        opt_stock_key=key,
        stock_left=left,
    )
    choice = make_router("flow").route(batch)
    return batch, int(nd[choice[0]])


@pytest.mark.parametrize("lookahead", [True, False])
def test_lookahead_keeps_the_last_unit_for_the_near_order(lookahead: bool) -> None:
    stock = np.array([[1], [100]])  # the store's last unit; the NDC has plenty
    _, far_node = epoch(FAR, stock, lookahead)  # a far order first...
    stock[far_node, 0] -= 1
    batch, near_node = epoch(NEAR, stock, lookahead)  # ...then a near order in a later epoch
    if lookahead:
        assert (far_node, near_node) == (NDC, STORE)  # the far order pays r > 3 CNY at the store
    else:
        assert (far_node, near_node) == (STORE, NDC)  # myopic: the near order only gets a far offer
        assert batch.opt_offer.all()
