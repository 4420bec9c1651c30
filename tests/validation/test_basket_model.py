"""λ per SKU and tier (sim/demand/basket_model.py) against brute force and against 10^6 generated orders.

Standard errors: a cell's units per order is a sum of geometric quantities over the orders that
put the SKU at that tier, so its variance per order is ≈ E[q²] · P(cell) (≈ mean · E[q²] / E[q]);
z-scores use that. The line positions are exact (quadrature), so per-SKU totals must pass a plain
chi-square; the tier split is a documented approximation, allowed a small excess (chi-square per
degree of freedom < 1.25, tier shares within 0.4 pp, units per order within 1 %).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from sim.catalog import build_catalog, zipf_probabilities
from sim.demand import generate_day
from sim.demand.basket_model import basket_model, position_probabilities
from sim.demand.generate import expected_lines_per_order
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams
from tests.conftest import SCENARIOS

CUT_CATEGORIES = (
    "catalog.categories=[{name: a, share: 0.5, value_cny: 10, volume_l: 1, tiers: [near]}, "
    "{name: b, share: 0.3, value_cny: 10, volume_l: 1, tiers: [far, mid]}, "
    "{name: c, share: 0.2, value_cny: 10, volume_l: 1}]"
)


def sample(*overrides: str, seed: int = 1):
    sc = load_scenario(
        SCENARIOS / "toy.yaml", ["demand.orders_per_day=1000000", "demand.day_cv=0", *overrides]
    )
    net, cat = build_network(sc), build_catalog(sc)
    o = generate_day(sc, net, cat, RandomStreams(seed), 0)
    emp = np.zeros((cat.n_skus, 3))
    np.add.at(emp, (o.line_sku, o.requested_tier[o.line_order()]), o.line_qty)
    return sc, cat, o, emp / o.n_orders, basket_model(sc, cat)


def z_scores(emp: np.ndarray, model: np.ndarray, n: int, mean_qty: float) -> np.ndarray:
    p = 1.0 / mean_qty
    q2 = (1 - p) / p**2 + mean_qty**2
    m = model > 0
    return (emp[m] - model[m]) / np.sqrt(model[m] * q2 / mean_qty / n)


def test_positions_match_brute_force_on_a_small_catalog():
    p = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    exact = np.zeros((5, 5))
    for perm in itertools.permutations(range(5)):
        pr, rest = 1.0, 1.0
        for a in perm:
            pr *= p[a] / rest
            rest -= p[a]
        for j, a in enumerate(perm):
            exact[a, j] += pr
    assert np.abs(position_probabilities(p, 5) - exact).max() < 1e-9


@pytest.mark.parametrize("n", [3, 200, 5000])
def test_positions_are_distributions(n):
    p = zipf_probabilities(n, 1.0)
    pos = position_probabilities(p, 12)
    assert pos.shape == (n, min(12, n))
    assert np.abs(pos.sum(axis=0) - 1).max() < 1e-6  # each position holds exactly one SKU
    assert np.abs(pos[:, 0] - p).max() < 1e-9  # the first line follows popularity
    assert np.all(pos.sum(axis=1) <= 1 + 1e-9)


def test_model_matches_a_million_generated_orders():
    sc, cat, o, emp, bm = sample()
    n, mq = o.n_orders, sc.demand.basket.mean_qty
    z = z_scores(emp, bm.units, n, mq)
    assert (z**2).mean() < 1.25 and np.abs(z).max() < 5.0, ((z**2).mean(), np.abs(z).max())
    # per-SKU totals rest on the exact positions (no order is cut with the default categories)
    zt = z_scores(emp.sum(axis=1), bm.units.sum(axis=1), n, mq)
    assert stats.chi2.sf((zt**2).sum(), len(zt)) > 0.001
    shares = np.bincount(o.requested_tier, minlength=3) / n
    assert np.abs(shares - bm.order_tier).max() < 0.004
    se = math.sqrt(2.2 * bm.lines_per_order / n)
    assert abs(o.line_qty.sum() / n - bm.units_per_order) < 4 * se


def test_the_naive_rate_is_rejected():
    """popularity x E[lines] x mix ignores the renormalisation over eligible tiers: far off."""
    sc, cat, o, emp, bm = sample()
    mix = np.array([sc.demand.tier_mix.near, sc.demand.tier_mix.mid, sc.demand.tier_mix.far])
    naive = (
        cat.popularity[:, None]
        * expected_lines_per_order(sc, cat.n_skus)
        * sc.demand.basket.mean_qty
        * mix[None, :]
        * cat.tier_eligible
    )
    z = z_scores(emp, naive, o.n_orders, sc.demand.basket.mean_qty)
    assert (z**2).mean() > 20
    fresh = cat.category == cat.category_names.index("fresh")
    # fresh SKUs are never far, yet their units are not lost: they go to near and mid. The naive rate
    # drops the far share (~30 % of fresh units) instead of renormalising it away.
    assert bm.units[fresh, 2].sum() == 0
    assert bm.units[fresh].sum() / emp[fresh].sum() == pytest.approx(1.0, abs=0.01)
    assert naive[fresh].sum() / emp[fresh].sum() < 0.75
    near_share = emp[fresh, 0].sum() / emp[fresh].sum()
    assert bm.units[fresh, 0].sum() / bm.units[fresh].sum() == pytest.approx(near_share, abs=0.005)


def test_model_holds_for_longer_baskets():
    """Mean 3 lines: later lines lean to slower SKUs' categories, which the position-wise model follows."""
    sc, cat, o, emp, bm = sample("demand.basket.mean_lines=3", seed=4)
    z = z_scores(emp, bm.units, o.n_orders, sc.demand.basket.mean_qty)
    assert (z**2).mean() < 1.25, (z**2).mean()
    assert np.abs(np.bincount(o.requested_tier, minlength=3) / o.n_orders - bm.order_tier).max() < 0.004


def test_first_line_rule_is_accounted_for():
    """Categories with no common tier: orders are cut to their first line. The model ignores the
    within-order dependence of categories, which leaves ~1.3 % on units per order here (documented)."""
    sc, cat, o, emp, bm = sample(CUT_CATEGORIES, "demand.basket.mean_lines=2")
    z = z_scores(emp, bm.units, o.n_orders, sc.demand.basket.mean_qty)
    assert (z**2).mean() < 2.0, (z**2).mean()
    measured = o.line_qty.sum() / o.n_orders
    assert abs(measured / bm.units_per_order - 1) < 0.02
    naive = expected_lines_per_order(sc, cat.n_skus)
    assert bm.lines_per_order < naive - 0.2  # the cut shortens orders materially
    assert abs(o.lines_per_order().mean() - bm.lines_per_order) < abs(o.lines_per_order().mean() - naive) / 10
