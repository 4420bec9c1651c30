"""The equal-inventory matcher (sim.experiments.match) and cost_optimal's knob on the toy network."""

from __future__ import annotations

import importlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments import match
from sim.experiments.match import match_inventory, search

ROOT = Path(__file__).resolve().parents[2]


def counting(fn):
    calls = []

    def measure(x):
        calls.append(x)
        return fn(x)

    return measure, calls


def test_search_finds_a_falling_curve_on_a_log_scale_in_few_steps():
    measure, calls = counting(lambda w: 200_000.0 / (1.0 + w / 30.0))  # holding_weight-like: 10 -> 150,000
    x, got, converged, bracketed = search(measure, 0.01, 10_000.0, 150_000.0, tol=0.01, log=True)
    assert converged and bracketed
    assert abs(got - 150_000.0) <= 1_500.0 and x == pytest.approx(10.0, rel=0.05)
    assert len(calls) <= 8  # from a 1e6-wide bracket over a sigmoid (in log x)
    assert all(0.01 <= c <= 10_000.0 for c in calls)


def test_search_on_integers_closes_the_bracket_on_the_nearest_value():
    measure, calls = counting(lambda n: 1000.0 * n + 0.5 * n * n)  # rising, like top_n's n
    x, got, converged, bracketed = search(measure, 10, 200, 130_000.0, tol=1e-6, integer=True, max_iter=30)
    assert isinstance(x, int) and bracketed and not converged  # no integer hits it exactly
    assert abs(got - 130_000.0) == min(abs(1000.0 * n + 0.5 * n * n - 130_000.0) for n in range(10, 201))
    assert all(float(c).is_integer() for c in calls) and len(set(calls)) == len(calls)


def test_search_reports_a_target_outside_the_bracket_without_more_runs():
    measure, calls = counting(lambda s: 100_000.0 * s)
    x, got, converged, bracketed = search(measure, 0.5, 0.99, 200_000.0)
    assert not bracketed and not converged and len(calls) == 2
    assert x == 0.99 and got == pytest.approx(99_000.0)
    with pytest.raises(ValueError):
        search(measure, 1.0, 1.0, 5.0)
    with pytest.raises(ValueError):
        search(measure, 0.0, 1.0, 5.0, log=True)


def test_search_stops_after_max_iter_with_the_closest_point():
    measure, calls = counting(lambda x: 1.0 if x < 0.3 else 3.0)  # a step: never within tol of 2
    x, got, converged, bracketed = search(measure, 0.0, 1.0, 2.0, tol=0.01, max_iter=6)
    assert bracketed and not converged and len(calls) == 6


def test_match_inventory_drives_compare_and_records_every_step(monkeypatch, tmp_path):
    seen = []

    class Fake:
        failures: list = []

        def __init__(self, spec):
            w = float(spec.split("holding_weight=")[1].split(",")[0].rstrip(")"))
            inv = 200_000.0 / (1.0 + w / 30.0)
            self.table = pd.DataFrame(
                [{"policy": spec, "kpi": "forward_inventory_value_cny", "mean": inv, "half_width": 100.0}]
            )

    def fake_compare(scenario, policies, **kw):
        assert kw["days"] == 1 and kw["replications"] == 2 and kw["plots"] is False
        seen.append(policies[0])
        return Fake(policies[0])

    compare_mod = importlib.import_module("sim.experiments.compare")  # the package re-exports the function
    monkeypatch.setattr(compare_mod, "compare", fake_compare)
    res = match_inventory(
        "scenarios/toy.yaml",
        "cost_optimal(services=[0.9,0.99])",
        "holding_weight",
        0.01,
        10_000.0,
        150_000.0,
        days=1,
        replications=2,
        tol=0.01,
        out=tmp_path,
    )
    assert res.converged and abs(res.relative_error) <= 0.01
    assert res.policy.startswith("cost_optimal(holding_weight=") and "services=[0.9, 0.99]" in res.policy
    assert [s.value for s in res.steps] == [float(p.split("holding_weight=")[1].split(",")[0]) for p in seen]
    info = json.loads((tmp_path / "match.json").read_text())
    assert info["converged"] and info["scale"] == "log" and len(info["steps"]) == len(seen)


def test_cost_optimal_forward_value_falls_with_holding_weight_on_the_toy():
    """The knob on the toy's real network, catalog, forecast and costs (the engine's first review)."""
    from sim.engine.simulation import Simulation
    from sim.policies.cost_optimal import CostOptimal
    from sim.run import prepare

    sc = prepare(ROOT / "scenarios" / "toy.yaml", days=1, policy="cost_optimal")
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router=sc.router.name)
    caught = []
    sim.policy.targets = lambda ctx: caught.append(ctx) or np.zeros(np.shape(ctx.forecast), np.int64)  # type: ignore[method-assign]
    sim._review(0)
    ctx = caught[0]
    assert ctx.costs is not None and ctx.costs.tier_eligible is not None
    fwd = ctx.node_kind > 0
    value = [
        float((CostOptimal(holding_weight=w).targets(ctx)[fwd] * ctx.value_cny).sum())
        for w in (0.0, 1.0, 30.0, 300.0, 3000.0)
    ]
    assert all(a >= b for a, b in itertools.pairwise(value)), value
    assert value[2] < 0.9 * value[1] and value[-1] < 0.3 * value[0], value


def test_match_module_names_the_kpi_compare_reports():
    from sim.experiments.headline import KPI_NAMES

    assert match.KPI in KPI_NAMES
