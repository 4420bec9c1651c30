"""The router's service-level price (``router.imperfect_order_cny``) and the served-demand look-ahead
(``router.lookahead_demand: served``), checked against hand computations (issue #15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import poisson

from sim.routing.lookahead import reservation_price, served_mix, shortfall_value

ROOT = Path(__file__).resolve().parents[2]


def test_shortfall_value_adds_the_imperfect_price_whatever_the_customer_does() -> None:
    # p = 0.5 accepts the slower offer at 3 CNY more, else a 20 CNY lost sale; either way the order is imperfect
    assert shortfall_value(20.0, 0.5, 3.0) == pytest.approx(0.5 * 3 + 0.5 * 20)
    assert shortfall_value(20.0, 0.5, 3.0, imperfect_cny=8.0) == pytest.approx(0.5 * 3 + 0.5 * 20 + 8)
    assert shortfall_value(20.0, 1.0, 0.0, imperfect_cny=8.0) == pytest.approx(8.0)  # accepted: still downgraded
    np.testing.assert_array_equal(shortfall_value(np.array([20.0, 4.0]), 0.3, imperfect_cny=0.0),
                                  shortfall_value(np.array([20.0, 4.0]), 0.3))  # price 0: the value before


def test_served_mix_is_the_merged_poisson_stream_by_hand() -> None:
    """With near demand μ_o = 2 and mid demand μ_x = 1 on a store's 3 units, the unit taken now is missed by
    the 3rd arrival of the merged stream (N_o + N_x ~ Poisson(3) ≥ 3), a near customer w.p. 2/3."""
    rate, share = served_mix(np.array([2.0, 4.0, 0.0]), np.array([1.0, 0.0, 5.0]))
    np.testing.assert_allclose(rate, [1.5, 1.0, 1.0])  # no own demand: nothing to protect, nothing mixed
    np.testing.assert_allclose(share, [2 / 3, 1.0, 1.0])
    delta, a = 30.0, 3
    got = reservation_price(2.0 * rate[0], a, delta * share[0])
    p_tail = 1.0 - sum(np.exp(-3.0) * 3.0**k / np.prod(range(1, k + 1)) for k in range(a))  # P(Poisson(3) ≥ 3)
    assert float(got) == pytest.approx(delta * 2 / 3 * p_tail, rel=1e-12)
    assert float(got) == pytest.approx(delta * 2 / 3 * poisson.sf(a - 1, 3.0), rel=1e-12)
    # more competing demand raises the price of a scarce unit: own-only Δ·P(Poisson(2) ≥ 3) is lower
    assert float(got) > delta * poisson.sf(a - 1, 2.0)


def _batches(sets: list[str]) -> tuple[list, object]:
    from sim.engine.simulation import Simulation
    from sim.run import prepare

    sc = prepare(ROOT / "scenarios" / "toy.yaml", days=1, router="flow",
                 overrides=["demand.orders_per_day=400", "horizon.warmup_days=2", "router.lookahead=false", *sets])
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
    base, rec0 = _batches([])
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
