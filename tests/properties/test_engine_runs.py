"""Whole runs of the toy scenario: determinism, common random numbers, policy semantics, the contract.

KPIs are recomputed here from the Parquet files with pandas (never via sim.metrics).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.run import simulate
from tests.conftest import SCENARIOS

TOY = SCENARIOS / "toy.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    # report=False: the HTML report is tested in tests/test_results_report.py
    return {
        "a": simulate(TOY, out=base / "a", days=1, report=False),
        "a_again": simulate(TOY, out=base / "a_again", days=1, report=False),
        "central": simulate(TOY, out=base / "central", days=1, policy="central_only", report=False),
        "rep1": simulate(TOY, out=base / "rep1", days=1, replication=1, report=False),
    }


@pytest.mark.parametrize("name", ["orders", "lines", "inventory", "nodes"])
def test_same_seed_gives_identical_parquet_bytes(runs, name):
    a = (runs["a"].path / f"{name}.parquet").read_bytes()
    b = (runs["a_again"].path / f"{name}.parquet").read_bytes()
    assert a == b


def test_kpis_identical_except_wall_clock(runs):
    a = json.loads((runs["a"].path / "kpis.json").read_text())
    b = json.loads((runs["a_again"].path / "kpis.json").read_text())
    a["router"].pop("solver_ms_mean"), b["router"].pop("solver_ms_mean")
    assert a == b


def test_policies_see_the_same_customers(runs):
    """Common random numbers: identical orders (time, zone, basket, requested tier) under both policies."""
    a, c = runs["a"], runs["central"]
    cols = ["order_id", "created_s", "zone_id", "n_lines", "units", "requested_tier"]
    pd.testing.assert_frame_equal(a.orders[cols], c.orders[cols])
    pd.testing.assert_frame_equal(a.lines[["order_id", "sku", "qty"]], c.lines[["order_id", "sku", "qty"]])


def test_replications_differ(runs):
    assert not np.array_equal(
        runs["a"].orders["created_s"].to_numpy()[:50], runs["rep1"].orders["created_s"].to_numpy()[:50]
    )


def test_central_only_serves_everything_far(runs):
    o = runs["central"].orders
    served = o[o.status == "delivered"]
    assert (served.served_tier == "far").all()
    nodes = runs["central"].nodes.set_index("id")
    forward = nodes.index[nodes.kind != "ndc"]
    inv = runs["central"].inventory
    assert inv[inv.node_id.isin(forward)]["end"].sum() == 0
    assert runs["central"].kpis["cost_breakdown_cny"]["transfer"] == 0


def test_forward_stock_turns_far_orders_into_near_ones(runs):
    """Pre-positioning is the point: top_n serves a large share near, central_only none."""
    assert runs["a"].kpis["tiers"]["near"]["share"] > 0.2
    assert runs["central"].kpis["tiers"]["near"]["share"] in (0, None)


def test_order_level_kpis_recomputed_from_parquet(runs):
    r = runs["a"]
    o = r.orders[~r.orders.warmup]
    k = r.kpis
    assert k["orders"] == len(o)
    assert k["delivered"] == (o.status == "delivered").sum()
    assert k["lost"] == (o.status == "lost").sum()
    assert k["open"] == 0
    assert k["perfect_order_rate"] == pytest.approx(o.perfect.mean())
    assert k["lost_sales_rate"] == pytest.approx((o.status == "lost").mean())
    delivered = o[o.status == "delivered"]
    for tier in ("near", "mid", "far"):
        d = delivered[delivered.served_tier == tier]
        if len(d):
            assert k["tiers"][tier]["share"] == pytest.approx(len(d) / len(delivered))
            minutes = (d.delivered_s - d.created_s) / 60
            assert k["tiers"][tier]["p90_min"] == pytest.approx(np.percentile(minutes, 90), rel=1e-6)


def test_perfect_means_on_time_complete_and_fast_enough(runs):
    o = runs["a"].orders
    rank = {"near": 0, "mid": 1, "far": 2}
    p = o[o.perfect]
    assert (p.status == "delivered").all() and (p.delivered_s <= p.promised_s + 1e-6).all()
    assert (p.served_tier.map(rank) <= p.requested_tier.map(rank)).all()
    assert (p.n_shipments == 1).all()


def test_orders_contract_columns_and_types(runs):
    o = runs["a"].orders
    expected = {
        "order_id": "int64",
        "created_s": "float64",
        "zone_id": "int32",
        "n_lines": "int16",
        "units": "int32",
        "promised_s": "float64",
        "delivered_s": "float64",
        "downgraded": "bool",
        "n_shipments": "int8",
        "on_time": "bool",
        "perfect": "bool",
        "warmup": "bool",
        "cost_cny": "float64",
        "cost_handling_cny": "float64",
        "cost_transport_cny": "float64",
        "cost_split_cny": "float64",
        "cost_penalty_cny": "float64",
    }
    for col, dtype in expected.items():
        assert str(o[col].dtype) == dtype, col
    for col in ("requested_tier", "served_tier", "node_id", "status"):
        assert col in o.columns


def test_inventory_flow_conservation(runs):
    inv = runs["a"].inventory
    lhs = inv.start + inv.received - inv.shipped - inv.transferred_out - inv.spoiled
    if "sold_offline" in inv.columns:  # counter sales at shops (nodes.stores.offline), when they are on
        lhs = lhs - inv.sold_offline
    assert (lhs == inv["end"]).all() and (inv["end"] >= 0).all()


def test_lost_orders_have_no_tier_or_node(runs):
    o = runs["a"].orders
    lost = o[o.status == "lost"]
    assert lost.served_tier.isna().all() and lost.node_id.isna().all() and lost.delivered_s.isna().all()
