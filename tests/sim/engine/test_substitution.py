"""Substitution (issue #14, sim/engine/substitution.py): the rule by hand, the epoch step on the toy's real
network with stock set by the test, and whole toy runs (probability 0 = the engine without it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.engine.routing_step import route_epoch
from sim.engine.simulation import Simulation
from sim.engine.substitution import SubstituteRule, mark_stockouts
from sim.records import LOST
from sim.run import prepare, simulate
from sim.vocab import Tier

ROOT = Path(__file__).resolve().parents[3]
TOY = ROOT / "scenarios" / "toy.yaml"
SMALL = [
    "horizon.days=1",
    "horizon.warmup_days=2",
    "demand.orders_per_day=400",
    "catalog.n_skus=80",
    "router.epoch_s=300",
]


def test_rule_same_category_within_the_value_band_most_popular_first() -> None:
    # SKUs 0-4 in category 0, 5 in category 1; values; rank 0 = most popular
    category = np.array([0, 0, 0, 0, 0, 1])
    value = np.array([10.0, 12.0, 13.5, 7.0, 10.0, 10.0])
    rank = np.array([3, 1, 0, 4, 2, 5])
    r = SubstituteRule.build(category, value, rank, np.full(6, 0.45), band=0.3)

    def cands(i: int) -> list[int]:
        return r.cands[r.offsets[i] : r.offsets[i + 1]].tolist()

    # SKU 0 (10 CNY): 7..13 CNY in its category, by rank: 2 (13.5) is out of band; 1 (rank 1), 4 (rank 2), 3 (rank 4)
    assert cands(0) == [1, 4, 3]
    assert cands(2) == [1, 4, 0]  # 13.5: band 9.45..17.55; 3 (7 CNY) out
    assert cands(3) == []  # 7 CNY: the band is 4.9..9.1 CNY, no other SKU of its category in it
    assert cands(5) == []  # alone in its category


def test_rule_keeps_the_k_most_popular() -> None:
    category = np.zeros(5, int)
    r = SubstituteRule.build(category, np.full(5, 10.0), np.array([4, 3, 2, 1, 0]), np.ones(5), band=0.3, k=2)
    assert r.cands[r.offsets[0] : r.offsets[1]].tolist() == [4, 3]
    assert r.cands[r.offsets[4] : r.offsets[5]].tolist() == [3, 2]


def test_rule_band_edge() -> None:
    r = SubstituteRule.build(np.zeros(2, int), np.array([10.0, 7.0]), np.array([0, 1]), np.ones(2), band=0.3)
    assert r.cands[r.offsets[0] : r.offsets[1]].tolist() == [1]  # 7 / 10 - 1 = -0.3: on the edge, in
    assert r.cands[r.offsets[1] : r.offsets[2]].tolist() == []  # 10 / 7 - 1 = 0.43: out


def test_rule_in_blocks_equals_a_brute_force_rule() -> None:
    """Rows compared in blocks of a few SKU pairs (bounded memory) give the rule a plain double loop gives."""
    gen = np.random.default_rng(7)
    S = 60
    category = gen.integers(0, 3, S)
    value = np.round(gen.uniform(5.0, 20.0, S), 1)
    rank = gen.permutation(S)
    r = SubstituteRule.build(category, value, rank, np.ones(S), band=0.3, k=4, max_cells=7)
    by_rank = sorted(range(S), key=lambda j: rank[j])
    for i in range(S):
        want = [
            j
            for j in by_rank
            if j != i and category[j] == category[i] and abs(value[j] / value[i] - 1.0) <= 0.3 + 1e-12
        ][:4]
        assert r.cands[r.offsets[i] : r.offsets[i + 1]].tolist() == want


def _epoch_with_ordered_skus_out(accept: float) -> tuple[Simulation, np.ndarray]:
    """The toy's first routing batch with every store holding 50 of each SKU except the batch's own SKUs
    (0 of those): every near order is short at every store, substitutes are in stock."""
    sc = prepare(
        TOY, days=1, overrides=[*SMALL, "demand.orders_per_day=4000", f"tiers.substitution.accept={accept}"]
    )
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router=sc.router.name)
    sim._start_day(0)
    t = 12 * 3600.0  # noon: stores open
    idx = sim.book.take_batch(t)
    idx = idx[
        sim.book.created_s[idx] > t - 600.0
    ]  # the orders of the last 10 minutes: their promise can be met
    b = sim.book
    lines = np.concatenate([np.arange(b.line_offsets[i], b.line_offsets[i + 1]) for i in idx])
    ordered = np.unique(b.line_sku[lines])
    sim.inv.on_hand[:] = 0
    sim.inv.on_hand[sim.stores] = 50
    sim.inv.on_hand[np.ix_(sim.stores, ordered)] = 0
    sim.inv.reserved[:] = 0
    route_epoch(sim, t, idx)
    return sim, idx


def _substitutable(sim: Simulation, idx: np.ndarray) -> np.ndarray:
    """Near orders within a store's reach whose every line is near-eligible and has a candidate substitute
    outside the batch's SKUs (an order no store reaches is a coverage gap, not a stock-out)."""
    b, rule = sim.book, sim.subst
    assert rule is not None
    reach = sim.cand[0].offsets
    out = []
    for i in idx:
        skus = b.line_ordered[b.line_offsets[i] : b.line_offsets[i + 1]]
        ok = (
            b.requested_tier[i] == Tier.NEAR
            and reach[b.zone[i] + 1] > reach[b.zone[i]]
            and all(
                sim.cat.tier_eligible[s, Tier.NEAR]
                and any(
                    sim.inv.on_hand[sim.stores, c].max() > 0 and sim.cat.tier_eligible[c, Tier.NEAR]
                    for c in rule.cands[rule.offsets[s] : rule.offsets[s + 1]]
                )
                for s in skus
            )
        )
        out.append(ok)
    return idx[np.array(out, bool)]


def test_probability_one_with_substitutes_in_stock_loses_no_near_order_to_a_stock_out() -> None:
    sim, idx = _epoch_with_ordered_skus_out(1.0)
    b = sim.book
    near = _substitutable(sim, idx)
    assert near.size >= 5  # the case is informative
    carried = np.isin(near, b.carry)  # a store queue full this epoch: waits, not lost
    assert not (b.status[near] == LOST).any()
    served = near[~carried]
    assert served.size and (b.served_tier[served] == Tier.NEAR).all()
    for i in (
        served
    ):  # every line shipped a substitute: the most popular candidate the store holds, not in the order
        lo, hi = b.line_offsets[i], b.line_offsets[i + 1]
        node = b.node[i]
        for k in range(lo, hi):
            s, shipped = b.line_ordered[k], b.line_sku[k]
            assert shipped != s
            assert sim.cat.category[shipped] == sim.cat.category[s]
            assert abs(sim.cat.value_cny[shipped] / sim.cat.value_cny[s] - 1) <= 0.3 + 1e-9
            cands = sim.subst.cands[sim.subst.offsets[s] : sim.subst.offsets[s + 1]]  # type: ignore[union-attr]
            held = [c for c in cands if sim.inv.on_hand[node, c] > 0 and c not in b.line_ordered[lo:hi]]
            assert shipped == held[0]
    # the reservations follow the substitutes: stock on hand - reserved never negative
    assert (sim.inv.on_hand - sim.inv.reserved >= 0).all()


def test_probability_zero_serves_no_short_near_order_at_a_store() -> None:
    sim, idx = _epoch_with_ordered_skus_out(0.0)
    b = sim.book
    near = _substitutable(sim, idx)
    assert not (b.served_tier[near] == Tier.NEAR).any()
    assert (b.line_sku == b.line_ordered).all()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("subst")
    out = {}
    for name, sets in (
        ("off", ["tiers.substitution.enabled=false"]),
        ("p0", ["tiers.substitution.accept=0", "tiers.substitution.drop=0"]),
        ("p1", ["tiers.substitution.accept=1", "tiers.substitution.drop=0"]),
        ("partial", []),  # the defaults: accept 0.45, drop 0.73 (partial fulfilment)
    ):
        out[name] = base / name
        simulate(TOY, out=out[name], overrides=[*SMALL, *sets], report=False)
    return out


def test_probability_zero_reproduces_the_engine_without_substitution_order_by_order(
    runs: dict[str, Path],
) -> None:
    off, p0 = (pd.read_parquet(runs[k] / "orders.parquet") for k in ("off", "p0"))
    pd.testing.assert_frame_equal(off, p0)
    lo, l0 = (pd.read_parquet(runs[k] / "lines.parquet") for k in ("off", "p0"))
    assert "substitute_sku" not in lo.columns and l0["substitute_sku"].isna().all()
    assert "stockout" not in lo.columns and l0["stockout"].any()  # the routing reason, recorded while on
    pd.testing.assert_frame_equal(lo, l0.drop(columns=["substitute_sku", "stockout"]))
    assert (runs["off"] / "inventory.parquet").read_bytes() == (runs["p0"] / "inventory.parquet").read_bytes()


def test_substituted_lines_are_shipped_and_never_perfect(runs: dict[str, Path]) -> None:
    o = pd.read_parquet(runs["p1"] / "orders.parquet")
    li = pd.read_parquet(runs["p1"] / "lines.parquet")
    sub = li[li["substitute_sku"].notna()]
    assert len(sub) > 0
    assert (sub["status"] != "lost").all()
    assert not o.set_index("order_id").loc[sub["order_id"].unique(), "perfect"].any()
    # stock conservation per node x SKU: units shipped = delivered lines' units of the SKU actually shipped
    inv = pd.read_parquet(runs["p1"] / "inventory.parquet")
    li = li.assign(shipped_sku=li["substitute_sku"].fillna(li["sku"]).astype(np.int32))
    dlv = li[li["status"] == "delivered"].groupby(["node_id", "shipped_sku"])["qty"].sum()
    shipped = inv.groupby(["node_id", "sku"])["shipped"].sum()
    shipped = shipped[shipped > 0]
    dlv.index.names = shipped.index.names
    pd.testing.assert_series_equal(
        shipped.sort_index(), dlv.sort_index().astype(shipped.dtype), check_names=False
    )
    flow = inv["start"] + inv["received"] - inv["shipped"] - inv["transferred_out"] - inv["spoiled"]
    flow -= (
        inv["sold_offline"] if "sold_offline" in inv.columns else 0
    )  # counter sales (nodes.stores.offline)
    assert (flow == inv["end"]).all()


def test_more_substitution_fewer_lost_orders(runs: dict[str, Path]) -> None:
    lost = {k: (pd.read_parquet(runs[k] / "orders.parquet")["status"] == "lost").sum() for k in ("p0", "p1")}
    assert lost["p1"] < lost["p0"]


def test_stockout_reason_by_hand() -> None:
    """mark_stockouts on a hand-built epoch: a line meets a stock-out only when it is short at every pair of its
    order that is feasible, at or faster and has capacity, at one of them for want of stock."""
    from types import SimpleNamespace

    # orders: 0 needs an option (two capacity pairs), 1 needs one but its only feasible pair has no capacity,
    # 2 has a primary option (not in need), 3 needs one, its line is not sold at the tier (eligibility, not stock)
    # pairs: (order, node): 0 (0, n0), 1 (0, n1), 2 (0, n2 infeasible), 3 (1, n2), 4 (2, n0), 5 (3, n0)
    ep = SimpleNamespace(
        p_row=np.array([0, 0, 0, 1, 2, 3]),
        p_node=np.array([0, 1, 2, 2, 0, 0]),
        feasible=np.array([True, True, False, True, True, True]),
        at_or_faster=np.ones(6, bool),
        capacity=np.array(
            [5, 5, 5]
        ),  # node 2 has capacity, but pair 2 is infeasible and pair 3 is zeroed below
        # entries (pair x line): order 0 lines 10, 11 at pairs 0-2; order 1 line 20; order 2 line 30; order 3 line 40
        pair=np.array([0, 0, 1, 1, 2, 2, 3, 4, 5]),
        line=np.array([10, 11, 10, 11, 10, 11, 20, 30, 40]),
        ok_line=np.array([False, False, False, True, True, True, False, False, False]),
        elig_line=np.array([True, True, True, True, True, True, True, True, False]),
    )
    ep.capacity = np.array(
        [5, 5, 0]
    )  # order 1's pair at node 2: no capacity (a capacity loss, not a stock-out)
    flag = np.zeros(50, bool)
    mark_stockouts(flag, ep, need=np.array([True, True, False, True]))
    # line 10 is short at both capacity pairs (0, 1; pair 2 is infeasible and does not count): a stock-out;
    # line 11 is in stock at pair 1; line 20's order had no pair with capacity; order 2 was not in need;
    # line 40 is not sold at the tier
    assert np.flatnonzero(flag).tolist() == [10]
    mark_stockouts(flag, ep, need=np.zeros(4, bool))  # sticky: nothing new, nothing cleared
    assert np.flatnonzero(flag).tolist() == [10]


# ------------------------------------------------------------------------------------------ partial fulfilment
def _epoch_with_skus_out(drop: float) -> tuple[Simulation, np.ndarray, np.ndarray, float]:
    """The toy's first routing batch, stores holding 50 of every SKU except X (0 of those): X = the first line's
    SKU of every multi-line order of the batch. No substitutes (accept 0): a short line is dropped or not."""
    sc = prepare(
        TOY,
        days=1,
        overrides=[
            *SMALL,
            "demand.orders_per_day=4000",
            "tiers.substitution.accept=0",
            f"tiers.substitution.drop={drop}",
        ],
    )
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router=sc.router.name)
    sim._start_day(0)
    t = 12 * 3600.0
    idx = sim.book.take_batch(t)
    idx = idx[sim.book.created_s[idx] > t - 600.0]
    b = sim.book
    multi = idx[b.n_lines(idx) > 1]
    out = np.unique(b.line_sku[b.line_offsets[multi]])
    sim.inv.on_hand[:] = 0
    sim.inv.on_hand[sim.stores] = 50
    sim.inv.on_hand[np.ix_(sim.stores, out)] = 0
    sim.inv.reserved[:] = 0
    lost0 = float(sim.day_costs["lost_sales"].sum())
    route_epoch(sim, t, idx)
    return sim, idx, out, lost0


def _near_in_reach(sim: Simulation, idx: np.ndarray) -> np.ndarray:
    b, reach = sim.book, sim.cand[0].offsets
    ok = [
        b.requested_tier[i] == Tier.NEAR
        and reach[b.zone[i] + 1] > reach[b.zone[i]]
        and sim.cat.tier_eligible[b.line_ordered[b.line_offsets[i] : b.line_offsets[i + 1]], Tier.NEAR].all()
        for i in idx
    ]
    return idx[np.array(ok, bool)]


def test_partial_fulfilment_by_hand() -> None:
    """drop = 1: a near order with lines out everywhere and others in stock ships the others, its short lines
    dropped (no units reserved, their margin booked as lost sales); an order with every line out is not served
    near. drop = 0: no order with a short line is served near, nothing is dropped."""
    sim, idx, out, lost0 = _epoch_with_skus_out(1.0)
    b = sim.book
    near = _near_in_reach(sim, idx)
    short = np.array(
        [np.isin(b.line_sku[b.line_offsets[i] : b.line_offsets[i + 1]], out).any() for i in near]
    )
    some_kept = np.array(
        [not np.isin(b.line_sku[b.line_offsets[i] : b.line_offsets[i + 1]], out).all() for i in near]
    )
    partial = near[short & some_kept & (b.served_tier[near] == Tier.NEAR)]
    assert partial.size >= 5  # the case is informative
    for i in partial:
        lo, hi = b.line_offsets[i], b.line_offsets[i + 1]
        assert b.line_dropped[lo:hi].tolist() == np.isin(b.line_sku[lo:hi], out).tolist()
    all_out = near[short & ~some_kept]
    assert not (b.served_tier[all_out] == Tier.NEAR).any()
    # reservations: exactly the kept lines' units at each store
    served = idx[b.node[idx] >= 0]
    want = np.zeros_like(sim.inv.reserved)
    for i in served:
        for k in range(b.line_offsets[i], b.line_offsets[i + 1]):
            if not b.line_dropped[k]:
                want[b.node[i], b.line_sku[k]] += b.line_qty[k]
    assert (sim.inv.reserved == want).all()
    # lost sales: the lost orders' margin + goodwill, plus the dropped lines' margin
    lost = sim.sc.costs.lost_sale
    d = np.flatnonzero(b.line_dropped)
    expect = lost.margin_rate * float((b.line_qty[d] * sim.cat.value_cny[b.line_sku[d]]).sum())
    for i in idx[b.status[idx] == LOST]:
        lo, hi = b.line_offsets[i], b.line_offsets[i + 1]
        v = float((b.line_qty[lo:hi] * sim.cat.value_cny[b.line_sku[lo:hi]]).sum())
        expect += lost.margin_rate * v + lost.goodwill_cny
    assert float(sim.day_costs["lost_sales"].sum()) - lost0 == pytest.approx(expect)

    sim, idx, out, _ = _epoch_with_skus_out(0.0)
    b = sim.book
    near = _near_in_reach(sim, idx)
    short = np.array(
        [np.isin(b.line_sku[b.line_offsets[i] : b.line_offsets[i + 1]], out).any() for i in near]
    )
    assert not (b.served_tier[near[short]] == Tier.NEAR).any()
    assert not b.line_dropped.any()


def test_partial_orders_ship_their_kept_lines_and_are_not_perfect(runs: dict[str, Path]) -> None:
    o = pd.read_parquet(runs["partial"] / "orders.parquet").set_index("order_id")
    li = pd.read_parquet(runs["partial"] / "lines.parquet")
    dropped = li[(li["status"] == "lost") & li["order_id"].map(o["status"]).ne("lost")]
    assert len(dropped) > 0 and dropped["node_id"].isna().all()
    got = o.loc[dropped["order_id"].unique()]
    assert (got["status"] != "lost").all() and not got["perfect"].any()
    # (the run's invariants held: a delivered order's missing_lines = its lines not delivered)
    # stock: units shipped per node x SKU = the delivered lines' units (dropped lines ship none)
    inv = pd.read_parquet(runs["partial"] / "inventory.parquet")
    li = li.assign(shipped_sku=li["substitute_sku"].fillna(li["sku"]).astype(np.int32))
    dlv = li[li["status"] == "delivered"].groupby(["node_id", "shipped_sku"])["qty"].sum()
    shipped = inv.groupby(["node_id", "sku"])["shipped"].sum()
    shipped = shipped[shipped > 0]
    dlv.index.names = shipped.index.names
    pd.testing.assert_series_equal(
        shipped.sort_index(), dlv.sort_index().astype(shipped.dtype), check_names=False
    )
