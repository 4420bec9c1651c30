"""A toy run routed by ``mip``: invariants hold (checked by the run itself), the bytes repeat, and exact stock
per node x SKU means the engine never repairs a choice (no fallback on the toy)."""

from __future__ import annotations

import json

import pytest

from sim.run import simulate
from tests.conftest import SCENARIOS

TOY = SCENARIOS / "toy.yaml"
SHORT = ["horizon.warmup_days=2", "policy=base_stock"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("mip_runs")
    return [simulate(TOY, out=base / name, days=1, router="mip", overrides=SHORT, report=False) for name in "ab"]


@pytest.mark.parametrize("name", ["orders", "lines", "inventory", "nodes"])
def test_mip_run_is_deterministic(runs, name):
    assert (runs[0].path / f"{name}.parquet").read_bytes() == (runs[1].path / f"{name}.parquet").read_bytes()


def test_mip_run_never_repairs(runs):
    k = json.loads((runs[0].path / "kpis.json").read_text())
    assert k["router"]["epochs"] > 0
    assert k["router"]["repairs"] == 0 and k["router"]["fallbacks"] == 0
    multi = runs[0].orders[(runs[0].orders.n_lines > 1) & (runs[0].orders.status == "delivered")]
    assert len(multi) > 0 and (multi.n_shipments == 1).all()
    assert json.loads((runs[0].path / "manifest.json").read_text())["router"] == "mip"
