"""The hindsight bound: an LP over the measured period, below every router's routing cost; brute force on tiny cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.experiments.hindsight import build
from sim.routing.hindsight import Problem, brute_force, decision_cost, hindsight_lp
from sim.run import simulate

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def random_problem(seed: int, *, multi: bool) -> Problem:
    g = np.random.default_rng(seed)
    n, n_res = int(g.integers(2, 6)), int(g.integers(1, 4))
    opt_order, opt_cost, uo, ur, uq = [], [], [], [], []
    for i in range(n):
        for _ in range(int(g.integers(1, 4))):
            k = len(opt_order)
            opt_order.append(i)
            opt_cost.append(float(g.uniform(1, 10)))
            lines = int(g.integers(1, 3)) if multi else 1
            for r in g.choice(n_res, size=min(lines, n_res), replace=False).tolist():
                uo.append(k)
                ur.append(r)
                uq.append(int(g.integers(1, 3)) if multi else 1)
    return Problem(
        n,
        np.array(opt_order),
        np.array(opt_cost),
        g.uniform(5, 15, n),
        np.array(uo),
        np.array(ur),
        np.array(uq),
        g.integers(0, 3, n_res).astype(float),
    )


@pytest.mark.parametrize("seed", range(12))
def test_lp_equals_brute_force_when_each_order_takes_one_unit(seed: int) -> None:
    # one unit of one resource per option: a transportation problem, totally unimodular, so the LP is integral
    p = random_problem(seed, multi=False)
    assert hindsight_lp(p).value == pytest.approx(brute_force(p), abs=1e-7)


@pytest.mark.parametrize("seed", range(12))
def test_lp_is_below_brute_force_with_multi_line_orders(seed: int) -> None:
    p = random_problem(100 + seed, multi=True)
    lp = hindsight_lp(p)
    assert lp.value <= brute_force(p) + 1e-7
    assert (lp.bid >= 0).all()
    np.testing.assert_allclose(np.bincount(p.opt_order, weights=lp.x, minlength=p.n_orders) + lp.lost, 1.0)


def test_a_fractional_optimum_is_strictly_below_the_integer_one() -> None:
    # two orders each needing units of both resources (1 unit each): only one fits whole, the LP halves both
    p = Problem(
        2,
        np.array([0, 1]),
        np.array([1.0, 1.0]),
        np.array([10.0, 10.0]),
        np.array([0, 0, 1, 1]),
        np.array([0, 1, 0, 1]),
        np.array([1, 1, 1, 1]),
        np.array([1.0, 1.0]),
    )
    assert brute_force(p) == pytest.approx(11.0)
    assert hindsight_lp(p).value == pytest.approx(11.0)  # integral here: one order served, one lost
    q = Problem(
        3,
        np.array([0, 1, 2]),
        np.array([0.0, 0.0, 0.0]),
        np.array([10.0, 10.0, 10.0]),
        np.array([0, 0, 1, 1, 2, 2]),
        np.array([0, 1, 1, 2, 0, 2]),
        np.ones(6, np.int64),
        np.ones(3),
    )
    assert brute_force(q) == pytest.approx(20.0)  # an odd cycle: one order served
    assert hindsight_lp(q).value == pytest.approx(15.0)  # the LP serves each order half


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("hindsight")
    # the bound keeps each candidate's own SKUs: no substitution (read_run refuses a run that substituted)
    sets = ["demand.orders_per_day=300", "horizon.warmup_days=2", "tiers.substitution.enabled=false"]
    out = []
    for name, router, extra in (
        ("myopic", "flow", ["router.lookahead=false"]),
        ("mip", "mip", []),
        ("cheapest", "cheapest", []),
    ):
        simulate(
            SCENARIOS / "toy.yaml",
            days=1,
            router=router,
            overrides=sets + extra,
            out=base / name,
            report=False,
            explain=True,
        )
        out.append(base / name)
    return out


def test_bound_is_below_every_router_on_a_toy_day(tiny_runs: list[Path]) -> None:
    b = build(tiny_runs)
    lp = hindsight_lp(b.problem)
    p = b.problem
    use = np.zeros(p.res_cap.size)
    for paid, choice in zip(b.paid, b.choices, strict=True):
        # each run's decision is a point of the LP, no dearer there than what the run paid ...
        assert decision_cost(p, choice) <= paid + 1e-6
        # ... whose stock use fits the period's stock
        use[:] = 0
        rows = np.isin(p.use_option, choice[choice >= 0])
        np.add.at(use, p.use_res[rows], p.use_qty[rows])
        assert (use <= p.res_cap + 1e-9).all()
        assert lp.value <= paid + 1e-6
    assert lp.value > 0
    # the orders a run lost without an option cost at least the lost-sale cost in every run
    assert all(f == 0 for f in b.fallback_orders)


def test_service_price_adds_to_every_imperfect_decision_and_keeps_the_bound(tiny_runs: list[Path]) -> None:
    """With a service price I the problem's lost costs and slower-tier options each rise by exactly I,
    a run pays I more per order it lost or offered a slower tier, and the bound stays below every run."""
    price = 100.0
    b0, b1 = build(tiny_runs), build(tiny_runs, imperfect_cny=price)
    p0, p1 = b0.problem, b1.problem
    np.testing.assert_allclose(p1.lost_cost - p0.lost_cost, price)
    extra = p1.opt_cost - p0.opt_cost
    assert np.all(np.isclose(extra, 0.0) | np.isclose(extra, price)) and np.isclose(extra, price).any()
    lp = hindsight_lp(p1)
    for paid0, paid1, c0, c1 in zip(b0.paid, b1.paid, b0.choices, b1.choices, strict=True):
        np.testing.assert_array_equal(c0, c1)
        imperfect = (c1 < 0) | np.isclose(extra[np.maximum(c1, 0)], price) & (c1 >= 0)
        assert paid1 - paid0 == pytest.approx(price * imperfect.sum())
        assert lp.value <= paid1 + 1e-6


def test_bound_needs_explain(tmp_path: Path) -> None:
    simulate(
        SCENARIOS / "toy.yaml",
        days=1,
        overrides=["demand.orders_per_day=100", "horizon.warmup_days=2"],
        out=tmp_path / "r",
        report=False,
    )
    with pytest.raises(FileNotFoundError, match="explain"):
        build([tmp_path / "r"])


def _facts(start: float, receipt: float, tod_h: float, last_epoch_h: list[float]) -> object:
    """One run's facts for a single node x SKU: `start` units at day 3's start, `receipt` more on day 3 at
    `tod_h`, and orders (ids 0..) routed last at `last_epoch_h` hours into day 3."""
    import pandas as pd

    from sim.experiments.hindsight import RunFacts

    key = pd.MultiIndex.from_tuples([("S1", 7)], names=["node_id", "sku"])
    ids = np.arange(len(last_epoch_h))
    return RunFacts(
        Path("x"),
        pd.DataFrame({"order_id": ids}),
        pd.DataFrame(),
        pd.DataFrame(),
        pd.Series([start + receipt], index=key),
        pd.Series(np.full(ids.size, 10.0), index=ids),
        pd.Series([start], index=key),
        pd.DataFrame({"node_id": ["S1"], "sku": [7], "day": [3], "received": [receipt]}),
        pd.Series((3 * 24 + np.array(last_epoch_h)) * 3600.0, index=ids),
        {"S1": tod_h * 3600.0},
    )


def test_timed_stock_serves_an_order_only_from_units_that_arrived_before_it_was_routed() -> None:
    """Hand-computed: 1 unit at the day's start, 2 more at 06:00; orders routed at 01:00, 02:00, 07:00, 08:00,
    one unit each. Timed: at most one of the two early orders and three in all are served (lost 10 each:
    cost 1 + 10 = 11 + 2 x 1 = 13 in all); untimed (the bound before) serves three of any four (3 + 10)."""
    import pandas as pd

    from sim.experiments.hindsight import _stock_rows

    runs = [_facts(1.0, 2.0, 6.0, [1.0, 2.0, 7.0, 8.0])]
    use = pd.DataFrame({"opt": np.arange(4), "node_id": ["S1"] * 4, "sku": [7] * 4, "qty": [1] * 4})
    use["t"] = runs[0].last_epoch.to_numpy()
    for timed, expect in ((True, 13.0), (False, 13.0)):
        uo, ur, uq, cap = _stock_rows(runs, use, timed)  # type: ignore[arg-type]
        p = Problem(4, np.arange(4), np.ones(4), np.full(4, 10.0), uo, ur, uq, cap)
        assert brute_force(p) == pytest.approx(expect)
        assert hindsight_lp(p).value == pytest.approx(expect)
    # the early orders are cheap to serve and the late ones dear: untimed serves both early ones, timed cannot
    for timed, expect in ((True, 1 + 10 + 5 + 5), (False, 1 + 1 + 5 + 10)):
        uo, ur, uq, cap = _stock_rows(runs, use, timed)  # type: ignore[arg-type]
        p = Problem(4, np.arange(4), np.array([1.0, 1.0, 5.0, 5.0]), np.full(4, 10.0), uo, ur, uq, cap)
        assert brute_force(p) == pytest.approx(expect)
        assert hindsight_lp(p).value == pytest.approx(expect)


def test_tighter_rows_raise_the_bound_and_keep_every_run_feasible(tiny_runs: list[Path]) -> None:
    """Timed stock and node-hour capacity only add or split rows: the bound rises (or stays) and stays below
    every run, whose own decision is a feasible point of each problem."""
    values = []
    for timed, hours in ((False, False), (True, False), (True, True)):
        b = build(tiny_runs, imperfect_cny=100.0, timed_stock=timed, node_hours=hours)
        p, lp = b.problem, hindsight_lp(b.problem)
        values.append(lp.value)
        for paid, choice in zip(b.paid, b.choices, strict=True):
            rows = np.isin(p.use_option, choice[choice >= 0])
            use = np.bincount(p.use_res[rows], weights=p.use_qty[rows], minlength=p.res_cap.size)
            assert (use <= p.res_cap + 1e-9).all()
            assert lp.value <= paid + 1e-6
    assert values[0] <= values[1] + 1e-6 <= values[2] + 2e-6
