"""Split orders in the ``mip`` router (``route_lines``) against brute force over every per-line assignment.

Tiny batches (2-3 orders x 2-3 nodes x 1-3 lines): each order may be left unassigned, take one of its
whole option rows (downgrade offers), or ship every line from a node holding it, at most
``max_shipments`` distinct nodes, paying the shipments' fixed parts, the lines' parts and the split
cost per extra shipment. Brute force enumerates all of them, keeps those within node capacity (a
shipment or a whole order takes one place) and stock per node x SKU, and ranks them as the router's
objective: first the must-serve orders left unserved, then money.
"""

from __future__ import annotations

import itertools

import numpy as np

from sim.routing import Batch
from sim.routing.flow import COST_SCALE, Flow
from sim.routing.mip import Mip
from sim.routing.split import LineChoice, SplitRows


def split_batch(seed: int, *, reservation: bool = False) -> tuple[Batch, np.ndarray, np.ndarray, np.ndarray]:
    """A tiny batch with shipment rows; also (line_sku, line_qty, on_hand) for the independent check."""
    rng = np.random.default_rng(seed)
    friendly = seed % 2 == 1
    n, n_nodes, n_skus = int(rng.integers(2, 4)), int(rng.integers(2, 4)), 4
    on_hand = rng.integers(0, 4, (n_nodes, n_skus))
    if friendly:  # split-friendly: each node misses about half the SKUs, most nodes reach the requested tier
        on_hand[rng.random(on_hand.shape) < 0.5] = 0
    node_tier = rng.integers(0, 2 if friendly else 3, n_nodes)
    req = rng.integers(1 if friendly else 0, 3, n).astype(np.int8)
    line_order, line_sku, line_qty = [], [], []
    for i in range(n):
        k = int(rng.integers(1, 4))
        line_order += [i] * k
        line_sku += rng.choice(n_skus, k, replace=False).tolist()
        line_qty += rng.integers(1, 3, k).tolist()
    lo, ls, lq = np.array(line_order), np.array(line_sku), np.array(line_qty)
    s_order, s_node, s_cost, r_ship, r_line, r_cost = [], [], [], [], [], []
    o, nd, cost, offer = [], [], [], []
    for i in range(n):
        lines = np.flatnonzero(lo == i)
        for j in range(n_nodes):
            if rng.random() > 0.9:
                continue
            has = on_hand[j, ls[lines]] >= lq[lines]
            if node_tier[j] <= req[i] and has.any():
                f = float(rng.uniform(0.5, 4) if friendly else rng.uniform(1, 10))
                g = rng.uniform(0.2, 3, lines.size)
                for ln in lines[has]:
                    (
                        r_ship.append(len(s_order)),
                        r_line.append(int(ln)),
                        r_cost.append(float(g[lines == ln][0])),
                    )
                s_order.append(i), s_node.append(j), s_cost.append(f)
                if has.all():  # the whole-order option the engine also builds (flow's view)
                    o.append(i), nd.append(j), cost.append(f + float(g.sum())), offer.append(False)
            elif node_tier[j] > req[i] and has.all() and rng.random() < 0.7:
                o.append(i), nd.append(j), cost.append(float(rng.uniform(3, 25))), offer.append(True)
    opt_order, opt_node = np.array(o, np.int64), np.array(nd, np.int64)
    use_option = np.concatenate([np.full(int((lo == i).sum()), k) for k, i in enumerate(o)] or [[]]).astype(
        np.int64
    )
    use_line = np.concatenate([np.flatnonzero(lo == i) for i in o] or [[]]).astype(np.int64)
    use_key = (opt_node[use_option] * n_skus + ls[use_line]).astype(np.int64)
    sl_ship, sl_line = np.array(r_ship, np.int64), np.array(r_line, np.int64)
    ship_node = np.array(s_node, np.int64)
    rows = SplitRows(
        line_order=lo,
        ship_order=np.array(s_order, np.int64),
        ship_node=ship_node,
        ship_cost=np.array(s_cost),
        sl_ship=sl_ship,
        sl_line=sl_line,
        sl_cost=np.array(r_cost),
        sl_key=ship_node[sl_ship] * n_skus + ls[sl_line],
        sl_qty=lq[sl_line].astype(np.int64),
        split_cost=float(rng.choice([0.0, 0.5, 2.0, 6.0])),
        ship_reservation=rng.uniform(0, 2, len(s_order)) if reservation else None,
        sl_reservation=rng.uniform(0, 1, len(r_ship)) if reservation else None,
    )
    must = rng.random(n) < 0.4
    batch = Batch(
        n_orders=n,
        requested_tier=req,
        opt_order=opt_order,
        opt_node=opt_node,
        opt_tier=node_tier[opt_node].astype(np.int8),
        opt_km=np.zeros(opt_order.size),
        opt_cost=np.array(cost),
        opt_eta_s=np.zeros(opt_order.size),
        opt_offer=np.array(offer, bool),
        unassigned_cost=np.where(must, np.inf, rng.uniform(5, 40, n)),
        node_capacity=rng.integers(1 if friendly else 0, 3, n_nodes),
        stock_left=on_hand.ravel().astype(np.int64),
        use_option=use_option,
        use_key=use_key,
        use_qty=lq[use_line].astype(np.int64),
        split=rows,
    )
    return batch, ls, lq, on_hand


def order_states(
    batch: Batch, i: int, ls: np.ndarray, lq: np.ndarray, on_hand: np.ndarray, max_ship: int
) -> list[tuple[float, int, np.ndarray, int, tuple[int, ...]]]:
    """Every way to serve order i: (decision cost, must-serve left unserved, resource use, shipments, line nodes)."""
    rows = batch.split
    assert rows is not None
    n_nodes, n_skus = on_hand.shape
    use = lambda: np.zeros(n_nodes + n_nodes * n_skus, np.int64)  # noqa: E731
    lines = np.flatnonzero(rows.line_order == i)
    u = float(batch.unassigned_cost[i])
    out = [(0.0 if not np.isfinite(u) else u, int(not np.isfinite(u)), use(), 0, (-1,) * lines.size)]
    has_ship = bool((rows.ship_order == i).any())
    for k in np.flatnonzero(batch.opt_order == i):
        if has_ship and not batch.opt_offer[k]:
            continue  # an order with shipment rows is served at its tier only through them
        v = use()
        v[batch.opt_node[k]] += 1
        for ln in lines:
            v[n_nodes + batch.opt_node[k] * n_skus + ls[ln]] += lq[ln]
        out.append((float(batch.opt_cost[k]), 0, v, 1, (-2,) * lines.size))
    fixed, per_line = dict(), dict()  # (node) -> shipment decision cost; (line, node) -> line decision cost
    for s in np.flatnonzero(rows.ship_order == i):
        res = rows.ship_reservation[s] if rows.ship_reservation is not None else 0.0
        fixed[int(rows.ship_node[s])] = float(rows.ship_cost[s] + res)
    for r in np.flatnonzero(np.isin(rows.sl_line, lines)):
        res = rows.sl_reservation[r] if rows.sl_reservation is not None else 0.0
        per_line[(int(rows.sl_line[r]), int(rows.ship_node[rows.sl_ship[r]]))] = float(rows.sl_cost[r] + res)
    choices = [[nd for (ln2, nd) in per_line if ln2 == ln] for ln in lines]
    for combo in itertools.product(*choices):
        nodes = sorted(set(combo))
        if len(nodes) > max_ship:
            continue
        v = use()
        v[nodes] += 1
        for ln, nd in zip(lines, combo, strict=True):
            v[n_nodes + nd * n_skus + ls[ln]] += lq[ln]
        c = sum(fixed[nd] for nd in nodes) + sum(
            per_line[(int(ln), nd)] for ln, nd in zip(lines, combo, strict=True)
        )
        out.append((c + rows.split_cost * (len(nodes) - 1), 0, v, len(nodes), tuple(combo)))
    return out


def brute_force(
    batch: Batch, ls: np.ndarray, lq: np.ndarray, on_hand: np.ndarray, max_ship: int
) -> tuple[int, float, int]:
    """(must-serve unserved, money, shipments of the largest split) of the best feasible combination."""
    states = [order_states(batch, i, ls, lq, on_hand, max_ship) for i in range(batch.n_orders)]
    limit = np.concatenate([batch.node_capacity, on_hand.ravel()])
    best: tuple[int, float, int] = (batch.n_orders + 1, np.inf, 0)
    for combo in itertools.product(*states):
        if (sum(s[2] for s in combo) > limit).any():
            continue
        key = (sum(s[1] for s in combo), sum(s[0] for s in combo))
        if key < best[:2]:
            best = (key[0], key[1], max(s[3] for s in combo))
    return best


def evaluate(
    batch: Batch, got: LineChoice, ls: np.ndarray, lq: np.ndarray, on_hand: np.ndarray, max_ship: int
) -> tuple[int, float, int]:
    """Check the router's answer independently (feasible, each order fully served or not) and score it."""
    rows = batch.split
    assert rows is not None
    n_nodes, n_skus = on_hand.shape
    used = np.zeros(n_nodes + n_nodes * n_skus, np.int64)
    money, unserved, ships = 0.0, 0, 0
    for i in range(batch.n_orders):
        lines = np.flatnonzero(rows.line_order == i)
        sh = got.line_ship[lines]
        if got.choice[i] >= 0:
            k = int(got.choice[i])
            assert batch.opt_order[k] == i and (sh < 0).all()
            state = next(
                s
                for s in order_states(batch, i, ls, lq, on_hand, max_ship)
                if s[4][0] == -2 and s[0] == float(batch.opt_cost[k])
            )
        elif (sh >= 0).any():
            assert (sh >= 0).all(), f"order {i} partly served"
            assert (rows.ship_order[sh] == i).all()
            combo = tuple(int(rows.ship_node[s]) for s in sh)
            assert all(
                ((rows.sl_ship == s) & (rows.sl_line == ln)).any() for s, ln in zip(sh, lines, strict=True)
            )
            state = next(s for s in order_states(batch, i, ls, lq, on_hand, max_ship) if s[4] == combo)
        else:
            state = order_states(batch, i, ls, lq, on_hand, max_ship)[0]
        used += state[2]
        money += state[0]
        unserved += state[1]
        ships = max(ships, state[3])
    assert (used <= np.concatenate([batch.node_capacity, on_hand.ravel()])).all()
    return unserved, money, ships


def test_route_lines_equals_brute_force_on_tiny_batches() -> None:
    """>= 50 tiny instances; the optimum splits in a good share of them (so splitting is really exercised)."""
    splits, solved = 0, 0
    for seed in range(160):
        max_ship = 2 if seed % 4 else 3
        router = Mip(max_shipments=max_ship)
        batch, ls, lq, on_hand = split_batch(seed, reservation=seed % 3 == 0)
        got = router.route_lines(batch)
        unserved, money, ships = evaluate(batch, got, ls, lq, on_hand, max_ship)
        best_unserved, best_money, best_ships = brute_force(batch, ls, lq, on_hand, max_ship)
        assert unserved == best_unserved, seed
        tol = (batch.n_orders * (max_ship + 4)) / (2 * COST_SCALE) + 1e-9
        assert abs(money - best_money) <= tol, (seed, money, best_money)
        assert ships <= max_ship
        splits += ships > 1
        solved += 1
        assert router.fallbacks == 0
    assert solved >= 50
    assert splits >= 15, splits


def test_route_lines_is_deterministic_and_falls_back_to_flow() -> None:
    batch, *_ = split_batch(3)
    a, b = Mip().route_lines(batch), Mip().route_lines(batch)
    assert np.array_equal(a.choice, b.choice) and np.array_equal(a.line_ship, b.line_ship)
    router = Mip(max_deterministic_time=0.0)
    got = router.route_lines(batch)
    if router.fallbacks:  # a zero budget may still prove a tiny model; when it does not, flow answers whole
        assert np.array_equal(got.choice, Flow().route(batch)) and (got.line_ship < 0).all()
    bare = Batch(**{**batch.__dict__, "split": None})
    assert np.array_equal(Mip().route_lines(bare).choice, Mip().route(bare))


def test_max_shipments_one_never_splits() -> None:
    for seed in range(20):
        batch, ls, lq, on_hand = split_batch(200 + seed)
        got = Mip(max_shipments=1).route_lines(batch)
        assert evaluate(batch, got, ls, lq, on_hand, 1)[2] <= 1
        assert brute_force(batch, ls, lq, on_hand, 1)[:2][0] == evaluate(batch, got, ls, lq, on_hand, 1)[0]


def test_coverable_equals_brute_force() -> None:
    """The engine's pre-check (an order's lines covered by at most k of its shipment rows) on random masks."""
    from sim.engine.shipments import coverable

    rng = np.random.default_rng(5)
    for _ in range(200):
        n, k = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        n_lines = rng.integers(1, 5, n)
        ship_order = np.sort(rng.integers(0, n, int(rng.integers(0, 10))))
        full = (1 << n_lines) - 1
        mask = np.array([int(rng.integers(1, full[i] + 1)) for i in ship_order], np.int64)
        got = coverable(ship_order, mask, full.astype(np.int64), n, k)
        for i in range(n):
            ms = mask[ship_order == i].tolist()
            want = any(
                np.bitwise_or.reduce(c) == full[i]
                for r in range(1, k + 1)
                for c in itertools.combinations(ms, r)
            )
            assert got[i] == want
