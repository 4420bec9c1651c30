"""Warnings for valid scenarios that are probably not what the planner meant (sim/traps.py, issue #16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main
from sim.io.scenario import load_scenario
from sim.traps import estimated_variable_cost_per_order, scenario_warnings, staffing_warnings

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "scenarios" / "toy.yaml"
SUZHOU = [
    "geography.cities=[{name: Hangzhou}, {name: Shanghai, demand_weight: 0, zones: 4}, "
    "{name: Suzhou, demand_weight: 1, zones: 10}]",
    "nodes.stores.sites=[{id: store-SZ, city: Suzhou}]",
]


def test_a_city_weighted_1_next_to_populations_is_flagged_and_its_store_serves_no_one() -> None:
    sc = load_scenario(TOY, SUZHOU)
    lines = scenario_warnings(sc)
    city = [ln for ln in lines if ln.startswith("geography.cities[2].demand_weight")]
    assert len(city) == 1 and "Suzhou gets 0.00% of the orders" in city[0] and "serve no one" in city[0]
    node = [ln for ln in lines if "store-SZ serves no orders" in ln]
    assert len(node) == 1
    # the toy's own stores all have demand within reach, and Shanghai (weight 0, NDC only) is deliberate
    assert not [ln for ln in scenario_warnings(load_scenario(TOY)) if not ln.startswith("costs.fixed")]


def test_fixed_costs_above_half_are_flagged_with_their_figures() -> None:
    small = load_scenario(TOY, ["demand.orders_per_day=200"])
    (line,) = [ln for ln in scenario_warnings(small, network=False) if ln.startswith("costs.fixed")]
    fixed = 5 * 3000 + 20000
    assert f"{fixed:,} CNY/day" in line and f"{fixed / 200:.1f} CNY/order fixed" in line
    # the threshold is half of the estimate: fixed per order = variable per order
    v = estimated_variable_cost_per_order(small)
    at_half = fixed / v
    assert not [
        ln
        for ln in scenario_warnings(
            load_scenario(TOY, [f"demand.orders_per_day={at_half * 1.01}"]), network=False
        )
        if ln.startswith("costs.fixed")
    ]
    assert [
        ln
        for ln in scenario_warnings(
            load_scenario(TOY, [f"demand.orders_per_day={at_half * 0.99}"]), network=False
        )
        if ln.startswith("costs.fixed")
    ]
    free = load_scenario(
        TOY, ["demand.orders_per_day=200", "costs.fixed.store_per_day_cny=0", "costs.fixed.fdc_per_day_cny=0"]
    )
    assert not [ln for ln in scenario_warnings(free, network=False) if ln.startswith("costs.fixed")]


def test_free_rider_headcount_is_flagged_only_when_staffing_varies_under_platform_pay() -> None:
    sc = load_scenario(TOY)
    assert staffing_warnings(sc, ["nodes.stores.capacity.riders"])
    assert not staffing_warnings(sc, ["forecast.error"])
    assert not staffing_warnings(
        load_scenario(TOY, ["costs.riders.model=fleet"]), ["nodes.stores.capacity.riders"]
    )


def test_validate_prints_warnings_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "validate",
        str(TOY),
        *[a for s in SUZHOU for a in ("--set", s)],
        "--set",
        "nodes.stores.capacity.riders=9",
    ]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert cap.err == ""
    warnings = [ln for ln in cap.out.splitlines() if ln.strip()][1:]
    assert warnings and all(ln.startswith("warning: ") for ln in warnings)
    text = "\n".join(warnings)
    assert "Suzhou" in text and "store-SZ" in text and "costs.riders.model" in text
    assert cap.out.startswith(f"ok {TOY}")
