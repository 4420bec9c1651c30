"""A toy run routed by ``mip``: invariants hold (checked by the run itself), the bytes repeat, and exact stock
per node x SKU means the engine never repairs a choice (no fallback on the toy). Some multi-line orders are
split across two nodes (``router.max_shipments`` = 2): their shipments roll up into one order row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.run import simulate
from tests.conftest import SCENARIOS

TOY = SCENARIOS / "toy.yaml"
SHORT = ["horizon.warmup_days=2", "policy=base_stock"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("mip_runs")
    return [
        simulate(TOY, out=base / name, days=1, router="mip", overrides=SHORT, report=False) for name in "ab"
    ]


@pytest.mark.parametrize("name", ["orders", "lines", "inventory", "nodes"])
def test_mip_run_is_deterministic(runs, name):
    assert (runs[0].path / f"{name}.parquet").read_bytes() == (runs[1].path / f"{name}.parquet").read_bytes()


def test_mip_run_never_repairs(runs):
    k = json.loads((runs[0].path / "kpis.json").read_text())
    assert k["router"]["epochs"] > 0
    assert k["router"]["repairs"] == 0 and k["router"]["fallbacks"] == 0
    multi = runs[0].orders[(runs[0].orders.n_lines > 1) & (runs[0].orders.status == "delivered")]
    assert len(multi) > 0 and (multi.n_shipments <= 2).all()
    assert json.loads((runs[0].path / "manifest.json").read_text())["router"] == "mip"


def test_mip_run_splits_orders(runs):
    """Split orders exist; each: lines from distinct nodes (one per shipment), the split cost per extra
    shipment, the slowest shipment's tier, never a downgrade nor perfect; single-line orders never split."""
    o = runs[0].orders
    lines = pd.read_parquet(runs[0].path / "lines.parquet")
    split = o[o.n_shipments > 1]
    k = json.loads((runs[0].path / "kpis.json").read_text())
    assert len(split) > 0 and k["split_rate"] > 0
    assert (split.n_lines > 1).all() and (split.status == "delivered").all()
    assert np.allclose(
        split.cost_split_cny, 2.0 * (split.n_shipments - 1)
    )  # costs.split_per_extra_shipment_cny
    assert (o[o.n_shipments <= 1].cost_split_cny == 0).all()
    assert not split.downgraded.any() and not split.perfect.any()
    tiers = {"near": 0, "mid": 1, "far": 2}
    sl = lines[lines.order_id.isin(split.order_id)]
    per = sl.groupby("order_id").agg(
        nodes=("node_id", "nunique"), slowest=("served_tier", lambda s: max(tiers[t] for t in s))
    )
    sp = split.set_index("order_id")
    assert (per.nodes == sp.n_shipments.loc[per.index]).all()
    assert (per.slowest == sp.served_tier.loc[per.index].map(tiers)).all()
    assert (
        sp.served_tier.map(tiers) <= sp.requested_tier.map(tiers)
    ).all()  # shipments at the requested tier or faster
    # the order's node ships the most units
    units = sl.groupby(["order_id", "node_id"]).qty.sum()
    biggest = units.groupby(level=0).max()
    own = units.loc[list(zip(sp.index, sp.node_id, strict=True))].to_numpy()
    assert (own == biggest.loc[sp.index].to_numpy()).all()
