"""Common random numbers for forecasts: the demand and every forecast method are identical for
scenarios that differ only in policy or router (DESIGN.md sections 5 and 7)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.catalog import build_catalog
from sim.demand import demand_day
from sim.demand.forecast import METHODS, Forecaster
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams
from tests.conftest import SCENARIOS

VARIANTS = [("central_only", "nearest"), ("top_n(n=50)", "cheapest"), ("top_n(n=150)", "tier_first")]


def forecasts(policy: str, router: str, seed: int, replication: int, days: int = 6) -> dict[str, np.ndarray]:
    sc = load_scenario(
        SCENARIOS / "toy.yaml",
        [f"policy={policy}", f"router.name={router}", f"seed={seed}", "demand.orders_per_day=500"],
    )
    net, cat = build_network(sc), build_catalog(sc)
    streams = RandomStreams(sc.seed, replication)
    fc = {m: Forecaster(sc, net, cat, streams, method=m) for m in METHODS}
    out: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    for d in range(days):
        for m, f in fc.items():
            out[m].append(f.forecast(d))
        o = demand_day(sc, net, cat, streams, d)
        for f in fc.values():
            f.observe(d, o)
        out.setdefault("orders", []).append(np.concatenate([o.created_s, o.line_sku, o.u_service]))
    return {k: np.concatenate([a.ravel() for a in v]) for k, v in out.items()}


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), replication=st.integers(0, 3))
def test_forecasts_identical_across_policies_and_routers(seed, replication):
    runs = [forecasts(p, r, seed, replication) for p, r in VARIANTS]
    for other in runs[1:]:
        for k, v in runs[0].items():
            assert np.array_equal(v, other[k]), k


def test_replications_differ():
    a, b = forecasts("central_only", "nearest", 7, 0), forecasts("central_only", "nearest", 7, 1)
    assert not np.array_equal(a["oracle"], b["oracle"]) and not np.array_equal(a["orders"], b["orders"])
