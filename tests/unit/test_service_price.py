"""The router's service-level price (``router.imperfect_order_cny``) and the served-demand look-ahead
(``router.lookahead_demand: served``), checked against hand computations (issue #15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import poisson

from sim.routing.lookahead import reservation_price, shortfall_value

ROOT = Path(__file__).resolve().parents[2]


def test_shortfall_value_adds_the_imperfect_price_whatever_the_customer_does() -> None:
    # p = 0.5 accepts the slower offer at 3 CNY more, else a 20 CNY lost sale; either way the order is imperfect
    assert shortfall_value(20.0, 0.5, 3.0) == pytest.approx(0.5 * 3 + 0.5 * 20)
    assert shortfall_value(20.0, 0.5, 3.0, imperfect_cny=8.0) == pytest.approx(0.5 * 3 + 0.5 * 20 + 8)
    assert shortfall_value(20.0, 1.0, 0.0, imperfect_cny=8.0) == pytest.approx(
        8.0
    )  # accepted: still downgraded
    np.testing.assert_array_equal(
        shortfall_value(np.array([20.0, 4.0]), 0.3, imperfect_cny=0.0),
        shortfall_value(np.array([20.0, 4.0]), 0.3),
    )  # price 0: the value before


def test_count_served_adds_time_critical_orders_other_than_the_nodes_own_catchment_by_hand() -> None:
    """Store 0 is zone 0's near node, store 1 zone 1's; FDC 2 is both zones' mid node. Five orders: a near
    order of zone 0 at store 0 (its own demand: not counted), a near order of zone 1 at store 0 (overflow:
    counted), a mid order at store 0 (a mid order served by a store: counted), a far order at store 0 (not
    time-critical: not counted), a near order offered the FDC (an offer: not counted)."""
    from types import SimpleNamespace

    from sim.engine.routing_step import count_served

    N, S = 3, 4
    sim = SimpleNamespace(
        preferred=np.array([[0, 1], [2, 2], [-1, -1]]),
        la_other=np.zeros((N, S)),
        la_other_orders=np.zeros(N),
        book=SimpleNamespace(
            line_offsets=np.array([0, 1, 3, 4, 5, 6]),
            line_sku=np.array([0, 1, 2, 3, 1, 0]),
            line_qty=np.array([1, 2, 1, 5, 4, 1]),
        ),
    )
    # one candidate pair per order: (order row, node, tier)
    ep = SimpleNamespace(
        idx=np.arange(5),
        zone=np.array([0, 1, 0, 0, 0]),
        req=np.array([0, 0, 1, 2, 0]),
        n_lines=np.array([1, 2, 1, 1, 1]),
        p_row=np.arange(5),
        p_node=np.array([0, 0, 0, 0, 2]),
        p_tier=np.array([0, 0, 0, 0, 1]),
        offer=np.array([False, False, False, False, True]),
    )
    count_served(sim, ep, np.arange(5))  # type: ignore[arg-type]
    want = np.zeros((N, S))
    want[0, 1], want[0, 2] = 2, 1  # order 1's two lines
    want[0, 3] = 5  # order 2 (mid at a store)
    np.testing.assert_array_equal(sim.la_other, want)
    np.testing.assert_array_equal(sim.la_other_orders, [2, 0, 0])
    count_served(sim, ep, np.array([-1, 1, -1, -1, -1]))  # type: ignore[arg-type]  # unassigned rows: nothing
    np.testing.assert_array_equal(sim.la_other_orders, [3, 0, 0])


def test_served_stream_raises_the_reservation_price_by_hand() -> None:
    """Own near demand μ_o = 2 and an observed other stream μ_x = 1 over the horizon on 3 units: the unit taken
    now is missed iff N_o + N_x ≥ 3, N_o + N_x ~ Poisson(3); own-only it was Poisson(2)."""
    delta, a = 30.0, 3
    served = float(reservation_price(2.0 + 1.0, a, delta))
    p_tail = 1.0 - sum(
        np.exp(-3.0) * 3.0**k / np.prod(range(1, k + 1)) for k in range(a)
    )  # P(Poisson(3) ≥ 3)
    assert served == pytest.approx(delta * p_tail, rel=1e-12)
    assert served == pytest.approx(delta * poisson.sf(a - 1, 3.0), rel=1e-12)
    assert served > float(reservation_price(2.0, a, delta))


def _batches(sets: list[str]) -> tuple[list, object]:
    from sim.engine.simulation import Simulation
    from sim.run import prepare

    sc = prepare(
        ROOT / "scenarios" / "toy.yaml",
        days=1,
        router="flow",
        overrides=["demand.orders_per_day=400", "horizon.warmup_days=2", "router.lookahead=false", *sets],
    )
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router="flow")
    seen: list = []
    route = sim.router.route
    sim.router.route = lambda batch: seen.append(batch) or route(batch)  # type: ignore[method-assign]
    rec = sim.run()
    return seen, rec


def test_service_price_charges_offers_and_lost_orders_and_changes_no_myopic_choice() -> None:
    """Without look-ahead an offer-only order is imperfect whichever way it goes (downgraded or lost), so
    the price shifts its offers and its lost-sale cost alike: the batches differ by exactly the price there,
    nowhere else, and flow makes the same choices (the same orders file)."""
    price = 7.0
    base, rec0 = _batches(["router.imperfect_order_cny=0"])
    priced, rec1 = _batches([f"router.imperfect_order_cny={price}"])
    assert len(base) == len(priced) and any(b.opt_offer.any() for b in base)
    for b0, b1 in zip(base, priced, strict=True):
        np.testing.assert_allclose(b1.opt_cost - b0.opt_cost, np.where(b0.opt_offer, price, 0.0), atol=1e-9)
        finite = np.isfinite(b0.unassigned_cost)
        np.testing.assert_array_equal(np.isfinite(b1.unassigned_cost), finite)
        np.testing.assert_allclose(b1.unassigned_cost[finite] - b0.unassigned_cost[finite], price, atol=1e-9)
    o0, o1 = rec0.orders, rec1.orders  # type: ignore[attr-defined]
    np.testing.assert_array_equal(o0.status, o1.status)
    np.testing.assert_array_equal(o0.node, o1.node)


def test_review_adds_the_mean_served_day_to_the_forecast_rate() -> None:
    from sim.engine.simulation import Simulation
    from sim.run import prepare
    from sim.units import DAY

    def sim_with(mode: str, price: float = 10.0) -> Simulation:
        sc = prepare(
            ROOT / "scenarios" / "toy.yaml",
            days=1,
            router="flow",
            overrides=[f"router.lookahead_demand={mode}", f"router.imperfect_order_cny={price}"],
        )
        return Simulation(sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router="flow")

    own, served = sim_with("own"), sim_with("served")
    rng = np.random.default_rng(0)
    served.la_other = rng.integers(0, 9, served.la_other.shape).astype(float)
    served.la_other_orders = rng.integers(0, 9, served.la_other_orders.shape).astype(float)
    own._review(2)
    served._review(2)  # two days counted so far: their mean day
    np.testing.assert_allclose(served.la_rate, own.la_rate + served.la_other / (2 * DAY), rtol=1e-12)
    np.testing.assert_allclose(served.la_orders, own.la_orders + served.la_other_orders / 2, rtol=1e-12)
    free = sim_with(
        "own", 0.0
    )  # the price adds to every own-tier customer's shortfall value, stock and places
    np.testing.assert_allclose(own.la_value, free.la_value + 10.0, rtol=1e-12)
    np.testing.assert_allclose(own.la_cap_value, free.la_cap_value + 10.0, rtol=1e-12)
