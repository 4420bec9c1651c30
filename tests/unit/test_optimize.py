"""optimize: seeded search + selection, checked on functions whose optimum is known (a test double for
the simulator, with common random numbers like the real one), and parsing of the options."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from sim.decide.optimize import optimize_designs, parse_constraint, parse_objective
from sim.decide.space import apply_design, design_slug, parse_param, parse_space
from sim.errors import ScenarioError
from sim.experiments.headline import KPI_NAMES


def _kpis(cost: float, perfect: float) -> dict[str, float]:
    d = {k: 0.0 for k in KPI_NAMES}
    d.update(cost_per_order_cny=cost, perfect_order_rate=perfect)
    return d


class Noisy:
    """cost(x) = (x - x*)^2 + common noise of replication r + a small design-specific noise;
    perfect(x) = 0.5 + 0.04 x (so a constraint on perfect binds at a known x)."""

    def __init__(self, best: float, common_sd: float = 3.0, own_sd: float = 0.3) -> None:
        self.best, self.common_sd, self.own_sd = best, common_sd, own_sd
        self.calls: list[tuple[float, int]] = []

    def __call__(self, designs: Sequence[dict], n: int) -> list[list[dict[str, float] | None]]:
        out = []
        for d in designs:
            x = float(d["x"])
            runs: list[dict[str, float] | None] = []
            for r in range(n):
                common = np.random.default_rng([11, r]).normal(0, self.common_sd)
                own = np.random.default_rng([12, r, int(round(x * 1e6))]).normal(0, self.own_sd)
                runs.append(_kpis((x - self.best) ** 2 + common + own, 0.5 + 0.04 * x))
                self.calls.append((x, r))
            out.append(runs)
        return out


def test_recovers_known_optimum_under_noise() -> None:
    space = parse_space(["x=0..10"])
    res = optimize_designs(
        space, Noisy(6.3), parse_objective("cost_per_order_cny"), [], budget=30, replications=2, seed=1
    )
    assert res.chosen is not None
    assert abs(float(res.chosen["x"]) - 6.3) < 0.8
    # common random numbers: the search's noise is shared, so the finalists differ by little
    assert res.finalists["chosen"].sum() == 1


def test_constraint_binds_at_the_known_boundary() -> None:
    # minimise cost with optimum at x=6.3, but perfect = 0.5 + 0.04x >= 0.82 requires x >= 8
    space = parse_space(["x=0..10"])
    res = optimize_designs(
        space,
        Noisy(6.3, common_sd=0.5, own_sd=0.05),
        parse_objective("cost_per_order_cny"),
        [parse_constraint("perfect_order_rate>=0.82")],
        budget=30,
        replications=2,
        seed=3,
    )
    assert res.chosen is not None
    x = float(res.chosen["x"])
    assert 8.0 <= x < 8.8
    assert bool(res.finalists.loc[res.finalists["chosen"], "perfect_order_rate>=0.82_met_at_95"].iloc[0])
    assert not res.trials.loc[res.trials["x"] < 7.9, "feasible"].any()


def test_infeasible_everywhere_chooses_nothing() -> None:
    space = parse_space(["x=0..10"])
    res = optimize_designs(
        space,
        Noisy(5),
        parse_objective("cost_per_order_cny"),
        [parse_constraint("perfect_order_rate>=0.99")],
        budget=6,
        replications=1,
        seed=0,
    )
    assert res.chosen is None and res.finalists.empty and len(res.trials) == 6


def test_same_seed_same_designs_and_small_discrete_space_terminates() -> None:
    space = parse_space(["x=0..10"])
    a = optimize_designs(
        space, Noisy(4), parse_objective("cost_per_order_cny"), [], budget=8, replications=1, seed=5
    )
    b = optimize_designs(
        space, Noisy(4), parse_objective("cost_per_order_cny"), [], budget=8, replications=1, seed=5
    )
    assert a.trials["x"].tolist() == b.trials["x"].tolist()
    small = parse_space(["x=1..3"])  # integers: only 3 designs exist
    ev = Noisy(2)
    c = optimize_designs(
        small, ev, parse_objective("cost_per_order_cny"), [], budget=10, replications=1, seed=0
    )
    assert sorted(c.trials["x"]) == [1, 2, 3] and c.chosen == {"x": 2}


def test_selection_flags_a_clearly_worse_finalist() -> None:
    space = parse_space(["x=0..10"])
    res = optimize_designs(
        space,
        Noisy(2, common_sd=1.0, own_sd=0.01),
        parse_objective("cost_per_order_cny"),
        [],
        budget=12,
        replications=2,
        seed=2,
        select_top=12,
        select_replications=6,
    )
    fin = res.finalists
    chosen_x = float(fin.loc[fin["chosen"], "x"].iloc[0])
    far = fin[(fin["x"] - chosen_x).abs() > 2]
    assert len(far) and (far["verdict"] == "worse (simultaneous 95%)").all()
    assert (res.chosen_kpis["n"] == 6).all()


def test_search_evaluates_each_design_once() -> None:
    ev = Noisy(3)
    optimize_designs(
        parse_space(["x=1..4"]),
        ev,
        parse_objective("cost_per_order_cny"),
        [],
        budget=4,
        replications=2,
        seed=0,
        select_top=1,
        select_replications=2,
    )
    search_calls = ev.calls[:8]
    assert len(set(search_calls)) == len(search_calls)


@pytest.mark.parametrize(
    "text", ["x", "x=", "x=5..1", "x=1..2:log..", "x=0..1:log", "seed=1..5", "a b=1..2", "x=a||b"]
)
def test_bad_params_are_refused(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_param(text)


def test_param_kinds_and_design_application() -> None:
    assert parse_param("policy.n=500..2500").kind == "int"
    p = parse_param("forecast.error=0.05..0.5:log")
    assert p.kind == "float" and p.log and math.isclose(p.low, 0.05)
    assert parse_param("router.name=flow|nearest").choices == ("flow", "nearest")
    spec, sets = apply_design({"policy.n": 700, "nodes.stores.capacity.riders": 9}, "top_n(n=1500)")
    assert spec == "top_n(n=700)" and sets == ["nodes.stores.capacity.riders=9"]
    assert design_slug({"a": 1, "b": 2}) == design_slug({"b": 2, "a": 1})
    with pytest.raises(ScenarioError):
        parse_space(["policy=top_n|base_stock", "policy.n=1..5"])
    with pytest.raises(ScenarioError):
        parse_space(["x=1..2", "x=3..4"])


def test_objective_and_constraint_parsing() -> None:
    assert parse_objective("perfect_order_rate").sense == "max"
    assert parse_objective("min:perfect_order_rate").sense == "min"
    with pytest.raises(ScenarioError):
        parse_objective("forward_inventory_value_cny")  # no natural direction
    with pytest.raises(ScenarioError):
        parse_objective("no_such_kpi")
    c = parse_constraint("perfect_order_rate >= 0.75")
    assert c.slack(0.8) < 0 < c.slack(0.7)
    with pytest.raises(ScenarioError):
        parse_constraint("perfect_order_rate > 0.75")


def test_numeric_choices_are_numbers() -> None:
    from sim.decide.space import literal

    assert literal("120") == 120 and literal("0.5") == 0.5 and literal("flow") == "flow"
    spec, _ = apply_design({"policy.n": literal("80")}, "top_n(n=1500)")
    assert spec == "top_n(n=80)"


def test_start_is_evaluated_first_and_kept_when_nothing_beats_it() -> None:
    space = parse_space(["x=0.0..10.0"])
    f = Noisy(6.3, common_sd=0.0, own_sd=0.0)
    res = optimize_designs(
        space,
        f,
        parse_objective("cost_per_order_cny"),
        [],
        budget=3,
        replications=1,
        seed=1,
        select_top=3,
        select_replications=2,
        start={"x": 6.3},
    )
    assert f.calls[0] == (6.3, 0)  # the planner's design comes first
    assert res.chosen == {"x": 6.3}  # no design of the space beats the optimum


def test_incumbent_reads_fields_and_policy_knobs_and_refuses_out_of_range() -> None:
    from sim.decide.space import incumbent

    sc = {"nodes": {"stores": {"capacity": {"slots": 3000}}}, "router": {"name": "flow"}}
    sp = parse_space(["policy.n=500..3000", "nodes.stores.capacity.slots=1500..5000"])
    assert incumbent(sp, sc, "top_n(n=1500)") == {"policy.n": 1500, "nodes.stores.capacity.slots": 3000}
    assert incumbent(parse_space(["policy.cover=1.0..2.0"]), sc, "top_n(n=10)") == {"policy.cover": 1.5}
    assert incumbent(parse_space(["router.name=flow|nearest"]), sc, "top_n") == {"router.name": "flow"}
    assert incumbent(parse_space(["policy.n=2000..3000"]), sc, "top_n(n=1500)") is None  # out of range
    assert incumbent(parse_space(["nodes.fdcs.capacity.vans=1..9"]), sc, "top_n") is None  # not in the dict
