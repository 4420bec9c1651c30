"""ms per routing epoch of the ``flow`` router against the greedy baselines on realistic batches.

Synthetic single-line batches shaped like a Shanghai-Hangzhou epoch (~290 nodes; each order sees a
few stores within rider radius, one or two FDCs and the NDCs), with stock keys and reservation
prices filled as the engine would. Printed figures only, never timed assertions.
Run: ``.venv/bin/python benchmarks/bench_flow.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.routing import Batch, batch_objective, make_router, stock_keys  # noqa: E402
from sim.routing.lookahead import option_reservation  # noqa: E402

N_STORES, N_FDCS, N_NDCS, N_SKUS = 260, 24, 3, 2000


def make_batch(
    rng: np.random.Generator, n: int, per_order: int, keyed: bool
) -> tuple[Batch, np.ndarray, np.ndarray]:
    """n single-line orders with up to `per_order` options each (stores, one FDC, the NDCs), only where the
    node has stock; with `keyed` the batch carries stock keys and reservation prices. Also returns the
    stock keys for the engine-style repair."""
    n_nodes = N_STORES + N_FDCS + N_NDCS
    tier_of = np.r_[np.zeros(N_STORES), np.ones(N_FDCS), np.full(N_NDCS, 2)].astype(np.int8)
    n_store_opts = per_order - 1 - N_NDCS
    home = rng.integers(0, N_STORES - n_store_opts, n)
    nodes = np.column_stack(
        [
            home[:, None] + np.arange(n_store_opts),  # neighbouring stores
            N_STORES + rng.integers(0, N_FDCS, n)[:, None],
            np.tile(N_STORES + N_FDCS + np.arange(N_NDCS), (n, 1)),
        ]
    )
    sku = np.minimum(rng.zipf(1.3, n) - 1, N_SKUS - 1)
    on_hand = rng.integers(0, 4, (n_nodes, N_SKUS))
    on_hand[N_STORES + N_FDCS :] = 10**6
    o = np.repeat(np.arange(n), per_order)
    nd = nodes.ravel().astype(np.int64)
    ok = on_hand[nd, sku[o]] > 0  # the engine offers a node only with stock for the order
    o, nd = o[ok], nd[ok]
    tier = tier_of[nd]
    req = rng.choice(3, n, p=[0.5, 0.3, 0.2]).astype(np.int8)
    km = np.where(tier == 2, 0.0, rng.uniform(0.5, 8.0, nd.size))
    cost = np.select(
        [tier == 0, tier == 1], [6.0 + 1.2 * km, 4.0 + 0.8 * km], 9.0 + rng.uniform(0, 3, nd.size)
    )
    key, left = stock_keys(nd, sku[o], on_hand)
    res = None
    if keyed:
        res = option_reservation(
            np.arange(nd.size),
            nd,
            sku[o],
            np.ones(nd.size, np.int64),
            tier < req[o],
            np.full((n_nodes, N_SKUS), 2e-4),
            on_hand,
            4 * 3600.0,
            25.0,
        )
    cap = np.r_[rng.integers(0, 6, N_STORES), rng.integers(20, 80, N_FDCS), np.full(N_NDCS, 10_000)]
    return (
        Batch(
            n_orders=n,
            requested_tier=req,
            opt_order=o,
            opt_node=nd,
            opt_tier=tier,
            opt_km=km,
            opt_cost=cost,
            opt_eta_s=np.zeros(nd.size),
            opt_offer=tier > req[o],
            unassigned_cost=rng.uniform(30, 80, n),
            node_capacity=cap,
            opt_reservation=res,
            opt_stock_key=key if keyed else None,
            stock_left=left if keyed else None,
        ),
        key,
        left,
    )


def repair(choice: np.ndarray, batch: Batch, key: np.ndarray, left: np.ndarray) -> tuple[np.ndarray, int]:
    """The engine's stock repair: in batch order, orders beyond a node x SKU's free units are unassigned."""
    got = np.flatnonzero(choice >= 0)
    k = key[choice[got]]
    seq = np.lexsort((got, k))
    ks = k[seq]
    pos = np.arange(ks.size) - np.searchsorted(ks, ks)
    bad = got[seq][pos >= left[ks]]
    out = choice.copy()
    out[bad] = -1
    return out, int(bad.size)


def time_router(
    name: str, batches: list[tuple[Batch, np.ndarray, np.ndarray]]
) -> tuple[float, float, float, float]:
    """Median and p90 ms per epoch; mean objective (CNY per batch, money only, after repair); mean repairs."""
    router = make_router(name)
    router.route(batches[0][0])  # warm-up (imports)
    ms, obj, rep = [], [], []
    for b, key, left in batches:
        t0 = time.perf_counter()
        choice = router.route(b)
        ms.append((time.perf_counter() - t0) * 1e3)
        fixed, r = repair(choice, b, key, left)
        obj.append(batch_objective(b, fixed))
        rep.append(r)
    return float(np.median(ms)), float(np.percentile(ms, 90)), float(np.mean(obj)), float(np.mean(rep))


def main() -> None:
    rng = np.random.default_rng(7)
    print(f"{'batch':>18} {'router':>9} {'median ms':>10} {'p90 ms':>7} {'CNY/batch':>10} {'repairs':>8}")
    for n, per_order, keyed in ((100, 8, True), (400, 8, False), (400, 8, True), (2000, 12, True)):
        batches = [make_batch(rng, n, per_order, keyed) for _ in range(60)]
        base = 0.0
        for name in ("nearest", "cheapest", "flow"):
            med, p90, obj, rep = time_router(name, batches)
            base = med if name == "nearest" else base
            label = f"{n}x{per_order}{' +stock' if keyed else ''}"
            print(
                f"{label:>18} {name:>9} {med:10.2f} {p90:7.2f} {obj:10.1f} {rep:8.1f}"
                + (f"   ({med / base:.1f}x nearest)" if name == "flow" else "")
            )
    print(
        "objective = chosen options' cost + lost-sale cost of unassigned orders, after the engine's stock repair;"
    )
    print(
        "+stock: the batch carries stock keys and reservation prices (flow adds them; objective excludes them)"
    )


if __name__ == "__main__":
    main()
