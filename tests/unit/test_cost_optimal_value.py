"""cost_optimal's value model against hand-computed figures, and its forward-inventory knob."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sim.policies.base import PolicyContext, PolicyCosts
from sim.policies.cost_optimal import CostOptimal, mean_unit_value, unit_saving
from sim.policies.costs import other_lines
from sim.units import DAY
from tests.unit.policy_ctx import synthetic_ctx

# one NDC (node 0) and one store (node 1) it supplies; SKU 0 goes every tier, SKU 1 is "fresh" (never far)
SERVE, MID_COST, FAR_COST, A_MID, A_FAR = 4.0, 10.0, 9.0, 0.5, 0.3
MARGIN, GOODWILL, Q, OTHER = 0.25, 5.0, 1.25, 1.2
VALUE = np.array([20.0, 40.0])


def one_store_costs(*, fdc: bool = True, holding_per_day: float = 0.001) -> PolicyCosts:
    fallback = np.array([[np.inf, np.inf], [MID_COST if fdc else np.inf, FAR_COST]])
    return PolicyCosts(
        serve_cny=np.array([9.5, SERVE]),
        fallback_cny=fallback,
        fallback_accept=np.array([[0.0, 0.0], [A_MID, A_FAR]]),
        lost_margin_rate=MARGIN,
        lost_goodwill_cny=GOODWILL,
        holding_per_day=holding_per_day,
        shelf_life_days=np.full(2, np.inf),
        transfer_unit_cny=np.array([0.0, 0.1]),
        transfer_litre_cny=np.array([0.0, 0.02]),
        qty_per_line=Q,
        other_lines=OTHER,
        fallback_tier=np.array([[-1, -1], [1, 2]]),
        tier_eligible=np.array([[True, True, True], [True, True, False]]),
    )


def hand_saving(v: float, vbar: float, far_ok: bool, fdc: bool = True) -> float:
    """The module docstring's delta, written out: (min(L, offers) - serve) / q."""
    lost = MARGIN * Q * (v + OTHER * vbar) + GOODWILL
    options = [lost]
    if fdc:
        options.append(A_MID * MID_COST + (1 - A_MID) * lost)
    if far_ok:
        options.append(A_FAR * FAR_COST + (1 - A_FAR) * lost)
    return (min(options) - SERVE) / Q


def test_unit_saving_matches_the_hand_computed_formula():
    vbar = 30.0
    got = unit_saving(one_store_costs(), 1, VALUE, vbar, tier=0)
    # SKU 0: L = 0.3125 x (20 + 36) + 5 = 22.5; mid offer 0.5 x 10 + 0.5 x 22.5 = 16.25 beats far 18.45
    assert got[0] == pytest.approx((16.25 - 4.0) / 1.25) == pytest.approx(hand_saving(20.0, vbar, True))
    # SKU 1 (fresh): L = 28.75, only the mid offer: 19.375
    assert got[1] == pytest.approx((19.375 - 4.0) / 1.25) == pytest.approx(hand_saving(40.0, vbar, False))
    no_fdc = unit_saving(one_store_costs(fdc=False), 1, VALUE, vbar, tier=0)
    assert no_fdc[0] == pytest.approx(
        hand_saving(20.0, vbar, True, fdc=False)
    )  # far offer: 0.3 x 9 + 0.7 x 22.5
    assert no_fdc[1] == pytest.approx(
        (28.75 - 4.0) / 1.25
    )  # fresh without an FDC: every displaced order is lost
    # a SKU the node's tier may not serve is worth nothing there
    costs = one_store_costs()
    bulky = PolicyCosts(
        **{**costs.__dict__, "tier_eligible": np.array([[False, True, True], [True, True, False]])}
    )
    assert unit_saving(bulky, 1, VALUE, vbar, tier=0)[0] == 0.0


def test_item_value_of_one_sku_at_one_store_matches_the_formula():
    """Poisson demand 2/day, review 1 day, no lead time: sold(k) = E[min(D, k)]."""
    rate, h = 2.0, 0.001
    costs = one_store_costs(holding_per_day=h)
    forecast = np.array([[0.0, 0.0], [rate, 0.0]])
    ctx = PolicyContext(
        day=0,
        forecast=forecast,
        cover_s=np.array([DAY, DAY]),
        node_kind=np.array([0, 2]),
        slots=np.array([0, 10]),
        volume_m3=np.array([np.inf, 10.0]),
        volume_l=np.array([1.5, 1.0]),
        value_cny=VALUE,
        popularity=np.array([0.5, 0.5]),
        on_hand=np.zeros((2, 2), np.int64),
        supplier=np.array([-1, 0]),
        review_s=DAY,
        costs=costs,
    )
    pol = CostOptimal(services=[0.9])
    from sim.policies.base_stock import demand_model

    items = pol.node_items(ctx, costs, demand_model("poisson", None, 500.0, ctx), 1, 10.0, None)
    vbar = mean_unit_value(forecast[1], VALUE, ctx.popularity)
    assert vbar == 20.0  # the store's demand is all SKU 0
    delta = hand_saving(20.0, vbar, True)
    transfer = 0.1 + 0.02 * 1.5
    pmf = [math.exp(-rate) * rate**d / math.factorial(d) for d in range(60)]
    assert items.size >= 2 and set(items.group.tolist()) == {0}
    for k, value in zip(items.level.tolist(), items.value.tolist(), strict=True):
        sold = sum(p * min(d, k) for d, p in enumerate(pmf))
        hold = h * 20.0 * 1.0 * (k - sold / 2)
        assert value == pytest.approx(delta * sold - hold - transfer * sold, rel=1e-9)
    # the 0.9 quantile of Poisson(2) is 4 units
    assert items.level.tolist() == [1, 4]


def test_other_lines_is_the_size_biased_line_count():
    # geometric line count with mean m, uncapped: E[L^2] / E[L] - 1 = 2m - 2
    assert other_lines(1.6, 10_000, 10_000) == pytest.approx(1.2, abs=1e-9)
    assert other_lines(3.0, 10_000, 10_000) == pytest.approx(4.0, abs=1e-9)
    assert other_lines(1.0, 12, 200) == pytest.approx(0.0)
    assert other_lines(1.6, 12, 200) < 1.2  # the cap trims the long tail


def test_forward_value_never_rises_with_the_holding_weight():
    """The knob: forward target value is monotone non-increasing in holding_weight and spans a wide range."""
    ctx = synthetic_ctx(n_skus=300)
    fwd = ctx.node_kind > 0
    value = [
        float((CostOptimal(holding_weight=w).targets(ctx)[fwd] * ctx.value_cny).sum())
        for w in (0.0, 1.0, 10.0, 100.0, 1000.0, 10_000.0)
    ]
    assert all(a >= b for a, b in itertools.pairwise(value)), value
    assert value[-1] < 0.25 * value[0], value
