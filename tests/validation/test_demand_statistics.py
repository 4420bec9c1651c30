"""The order generator against theory: Zipf unit shares, the intraday rate, gamma-Poisson day noise,
promotions, successive sampling of distinct SKUs, tier eligibility, basket size; and the stream keying.

Every tolerance is derived from the sample size (4 standard errors unless stated), and every test
uses fixed seeds, so the suite is deterministic.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from sim.catalog import build_catalog, top_count, zipf_top_share
from sim.demand import DemandProfile, generate_day, generate_days
from sim.demand.generate import distinct_skus, expected_lines_per_order
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams
from tests.conftest import SCENARIOS

Z = 4.0  # standard errors allowed


def setup(*overrides: str):
    sc = load_scenario(SCENARIOS / "toy.yaml", list(overrides))
    return sc, build_network(sc), build_catalog(sc)


def geometric_moments(mean: float) -> tuple[float, float]:
    """E[q], E[q^2] of a geometric on {1, 2, ...} with the given mean."""
    p = 1.0 / mean
    return mean, (1 - p) / p**2 + mean**2


def top_unit_share(orders, catalog, lines=slice(None)):
    top = np.zeros(catalog.n_skus, dtype=bool)
    top[catalog.top(top_count(catalog.n_skus, 0.2))] = True
    sku, qty = orders.line_sku[lines], orders.line_qty[lines]
    return qty[top[sku]].sum() / qty.sum(), len(sku)


def share_tolerance(p: float, n: int, mean_qty: float) -> float:
    """Z standard errors of a unit share (ratio estimator, quantities independent of the SKU)."""
    m1, m2 = geometric_moments(mean_qty)
    return Z * math.sqrt(m2 * p * (1 - p) / (n * m1**2))


# --------------------------------------------------------------------------- popularity
def test_top_20pct_unit_share_matches_zipf_single_line_orders():
    sc, net, cat = setup("demand.orders_per_day=40000", "demand.basket.mean_lines=1", "catalog.n_skus=500")
    o = generate_day(sc, net, cat, RandomStreams(11), 0)
    share, n = top_unit_share(o, cat)
    target = zipf_top_share(cat.n_skus, sc.catalog.zipf_s)
    assert abs(share - target) < share_tolerance(target, n, sc.demand.basket.mean_qty), (share, target, n)


def test_first_line_follows_popularity_and_later_lines_lean_to_slower_skus():
    sc, net, cat = setup("demand.orders_per_day=40000")
    o = generate_day(sc, net, cat, RandomStreams(12), 0)
    target = zipf_top_share(cat.n_skus, sc.catalog.zipf_s)
    first, n = top_unit_share(o, cat, o.line_offsets[:-1])
    assert abs(first - target) < share_tolerance(target, n, sc.demand.basket.mean_qty), (first, target)
    # distinct SKUs per order (successive sampling) flatten the overall share a little, never much
    overall, _ = top_unit_share(o, cat)
    assert target - 0.03 < overall < target


def test_successive_sampling_of_distinct_skus_is_exact():
    """Chi-square of (first, second, third) SKU triples against p_a · p_b/(1-p_a) · p_c/(1-p_a-p_b)."""
    p = np.arange(1, 6, dtype=float) ** -1.5
    p /= p.sum()
    n = 30000
    lines = np.full(n, 3)
    offsets = np.concatenate([[0], np.cumsum(lines)])
    sku = distinct_skus(RandomStreams(5).get("test.skus"), p, lines, offsets).reshape(n, 3)
    assert np.all((sku[:, 0] != sku[:, 1]) & (sku[:, 0] != sku[:, 2]) & (sku[:, 1] != sku[:, 2]))
    cells = list(itertools.permutations(range(5), 3))
    expected = np.array([p[a] * p[b] / (1 - p[a]) * p[c] / (1 - p[a] - p[b]) for a, b, c in cells]) * n
    code = {c: i for i, c in enumerate(cells)}
    observed = np.bincount([code[tuple(r)] for r in sku.tolist()], minlength=len(cells))
    assert expected.min() > 5
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_distinct_skus_even_when_baskets_exhaust_a_tiny_steep_catalog():
    sc, net, cat = setup(
        "demand.orders_per_day=5000",
        "catalog.n_skus=6",
        "catalog.zipf_s=3",
        "demand.basket.mean_lines=5",
        "demand.basket.max_lines=12",
        "catalog.categories=[{name: all, share: 1, value_cny: 10, volume_l: 1}]",
    )
    o = generate_day(sc, net, cat, RandomStreams(3), 0)
    assert o.lines_per_order().max() == 6  # capped at the catalog size
    assert_distinct(o)


def assert_distinct(o):
    order = o.line_order()
    idx = np.lexsort((o.line_sku, order))
    same = (order[idx][1:] == order[idx][:-1]) & (o.line_sku[idx][1:] == o.line_sku[idx][:-1])
    assert not same.any(), "an order has the same SKU twice"


# --------------------------------------------------------------------------- arrivals
def test_hourly_counts_follow_the_integrated_rate():
    """Chi-square goodness of fit of hourly counts on 50 seeds: at most 3 rejections at alpha = 0.01."""
    sc, net, cat = setup("demand.orders_per_day=5000")
    profile = DemandProfile.of(sc, net)
    day = 2
    edges = day * 86400.0 + 3600.0 * np.arange(25)
    hourly = np.array([profile.expected(a, b).sum() for a, b in itertools.pairwise(edges)])
    assert hourly == pytest.approx(profile.hourly_expected(day).sum(axis=0))
    rejections = 0
    for seed in range(50):
        o = generate_day(sc, net, cat, RandomStreams(seed), day)
        counts = np.histogram(o.created_s, bins=edges)[0]
        assert counts.sum() == o.n_orders
        expected = o.n_orders * hourly / hourly.sum()  # conditional on the day's total
        rejections += stats.chisquare(counts, expected).pvalue < 0.01
    assert rejections <= 3


def nb_variance_tolerance(mu: float, cv: float, days: int) -> tuple[float, float]:
    """Variance mu + (cv mu)^2 of gamma-Poisson daily counts and Z standard errors of its estimate."""
    var = mu + (cv * mu) ** 2
    if cv == 0:
        excess_kurtosis = 1 / mu  # Poisson
    else:
        r = 1 / cv**2  # negative binomial with r successes, q = mu / (r + mu)
        q = mu / (r + mu)
        excess_kurtosis = (1 + 4 * q + q * q) / (r * q)
    return var, Z * var * math.sqrt(2 / (days - 1) + excess_kurtosis / days)


@pytest.mark.parametrize("cv", [0.0, 0.15])
def test_daily_totals_are_gamma_poisson_with_day_cv(cv):
    mu, days = 3000.0, 500
    sc, net, cat = setup(
        f"demand.orders_per_day={mu}",
        f"demand.day_cv={cv}",
        "demand.weekly=[1,1,1,1,1,1,1]",
        "demand.basket.mean_lines=1",
    )
    streams = RandomStreams(21)
    counts = np.array([generate_day(sc, net, cat, streams, d).n_orders for d in range(days)], dtype=float)
    var, tol = nb_variance_tolerance(mu, cv, days)
    assert abs(counts.mean() - mu) < Z * math.sqrt(var / days)
    assert abs(counts.var(ddof=1) - var) < tol, (counts.var(ddof=1), var, tol)
    if cv > 0:  # the test can tell the gamma noise from plain Poisson
        assert abs(mu - var) > tol


def test_promotion_days_scale_volume_and_leave_other_days_alone():
    base = setup("demand.orders_per_day=2000")
    promo = setup(
        "demand.orders_per_day=2000",
        "demand.promotions=[{date: 2026-11-11, multiplier: 10, "
        "pre_days: 2, pre_multiplier: 1.5, post_days: 1, post_multiplier: 0.8}]",
    )
    # start 2026-11-02: day 7 = 11-09 (pre), day 9 = 11-11, day 10 = 11-12 (post), day 12 untouched
    for day, factor in ((7, 1.5), (9, 10.0), (10, 0.8)):
        n_base = n_promo = 0
        for seed in range(10):
            n_base += generate_day(*base, RandomStreams(seed), day).n_orders
            n_promo += generate_day(*promo, RandomStreams(seed), day).n_orders
        ratio = n_promo / n_base
        tol = Z * factor * math.sqrt(1 / n_base + 1 / n_promo)
        assert abs(ratio - factor) < tol, (day, ratio, factor)
    a, b = generate_day(*base, RandomStreams(0), 12), generate_day(*promo, RandomStreams(0), 12)
    assert_same_orders(a, b)


# --------------------------------------------------------------------------- baskets and tiers
def test_mean_lines_per_order():
    sc, net, cat = setup("demand.orders_per_day=30000")
    o = generate_day(sc, net, cat, RandomStreams(4), 1)
    lines = o.lines_per_order()
    target = expected_lines_per_order(sc, cat.n_skus)
    assert target == pytest.approx(1.6, abs=1e-4)
    p = 1 / sc.demand.basket.mean_lines
    assert abs(lines.mean() - target) < Z * math.sqrt((1 - p) / p**2 / len(lines))
    m1, m2 = geometric_moments(sc.demand.basket.mean_qty)
    assert abs(o.line_qty.mean() - m1) < Z * math.sqrt((m2 - m1**2) / o.n_lines)
    assert_distinct(o)


def order_eligibility(o, cat):
    """(n, 3) tiers eligible for every line of each order, recomputed here."""
    return np.logical_and.reduceat(cat.tier_eligible[o.line_sku], o.line_offsets[:-1], axis=0)


def test_requested_tier_is_eligible_for_every_line_and_follows_the_mix():
    sc, net, cat = setup("demand.orders_per_day=30000")
    o = generate_day(sc, net, cat, RandomStreams(8), 0)
    assert np.all(cat.tier_eligible[o.line_sku, o.requested_tier[o.line_order()]])
    # orders made only of all-tier categories (grocery, personal care) follow tier_mix exactly
    free = order_eligibility(o, cat).all(axis=1)
    mix = np.array([0.55, 0.15, 0.30])
    observed = np.bincount(o.requested_tier[free], minlength=3)
    assert stats.chisquare(observed, mix * free.sum()).pvalue > 0.001
    # an order with a fresh SKU (near, mid) and no bulky one renormalises 0.55 / 0.15 over near and mid
    fresh = np.all(order_eligibility(o, cat) == [True, True, False], axis=1)
    near = (o.requested_tier[fresh] == 0).mean()
    q = 0.55 / 0.70
    assert abs(near - q) < Z * math.sqrt(q * (1 - q) / fresh.sum())


def test_orders_without_a_common_tier_keep_their_first_line():
    cats = (
        "catalog.categories=[{name: a, share: 0.5, value_cny: 10, volume_l: 1, tiers: [near]}, "
        "{name: b, share: 0.5, value_cny: 10, volume_l: 1, tiers: [far]}]"
    )
    sc, net, cat = setup(
        "demand.orders_per_day=20000",
        "demand.basket.mean_lines=3",
        cats,
        "demand.tier_mix={near: 0, mid: 1, far: 0}",
    )
    o = generate_day(sc, net, cat, RandomStreams(9), 0)
    order_cat = cat.category[o.line_sku]
    starts = o.line_offsets[:-1]
    mixed = np.maximum.reduceat(order_cat, starts) != np.minimum.reduceat(order_cat, starts)
    assert not mixed.any(), "lines of one order share a tier"
    assert (o.lines_per_order() == 1).mean() > 0.6  # geometric P(1 line) = 1/3, plus the cut orders
    assert np.all(cat.tier_eligible[o.line_sku, o.requested_tier[o.line_order()]])
    # the mix puts all weight on mid, which no SKU allows: eligible tiers are then equally likely,
    # i.e. category a orders are near and category b orders are far
    first = cat.category[o.first_sku()]
    assert np.array_equal(o.requested_tier, np.where(first == 0, 0, 2).astype(np.int8))


def test_tier_mix_by_category_uses_the_first_lines_category():
    sc, net, cat = setup(
        "demand.orders_per_day=10000", "demand.tier_mix_by_category={fresh: {near: 1, mid: 0, far: 0}}"
    )
    o = generate_day(sc, net, cat, RandomStreams(2), 0)
    fresh = cat.category[o.first_sku()] == cat.category_names.index("fresh")
    near_ok = order_eligibility(o, cat)[:, 0]
    assert (fresh & near_ok).sum() > 1000
    assert np.all(o.requested_tier[fresh & near_ok] == 0)
    # a bulky line (mid, far) leaves no tier the fresh mix weighs: the eligible tier(s) equally likely
    assert np.all(o.requested_tier[fresh & ~near_ok] == 1)
    assert (o.requested_tier[~fresh] != 0).any()


# --------------------------------------------------------------------------- determinism and keying
ARRAYS = (
    "order_id",
    "created_s",
    "zone",
    "city",
    "requested_tier",
    "line_offsets",
    "line_sku",
    "line_qty",
    "u_service",
    "u_decision",
)


def assert_same_orders(a, b, fields=ARRAYS):
    for f in fields:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


def test_same_seed_gives_identical_arrays():
    sc, net, cat = setup()
    a = generate_day(sc, net, cat, RandomStreams(sc.seed, 0), 3)
    b = generate_day(sc, net, cat, RandomStreams(sc.seed, 0), 3)
    assert_same_orders(a, b)


def test_a_day_alone_equals_that_day_in_a_longer_run():
    sc, net, cat = setup()
    run = generate_days(sc, net, cat, RandomStreams(sc.seed), range(6))
    run.validate()
    day3 = run.take((run.created_s >= 3 * 86400) & (run.created_s < 4 * 86400))
    assert_same_orders(day3, generate_day(sc, net, cat, RandomStreams(sc.seed), 3))
    longer = setup("horizon.days=30", "horizon.warmup_days=7")
    assert_same_orders(day3, generate_day(*longer, RandomStreams(sc.seed), 3))


def test_adding_a_city_leaves_another_citys_orders_unchanged():
    one = setup("demand.orders_per_day=2000", "geography.cities[0].demand_weight=1")
    two = setup(
        "demand.orders_per_day=4000",
        "geography.cities=[{name: Hangzhou, demand_weight: 1}, "
        "{name: Shanghai, demand_weight: 0, zones: 4}, {name: Suzhou, demand_weight: 1}]",
    )
    a = generate_day(*one, RandomStreams(1), 2)
    b = generate_day(*two, RandomStreams(1), 2)
    assert set(np.unique(b.city).tolist()) == {0, 2}
    hz = b.take(b.city == 0)
    assert hz.n_orders == a.n_orders > 0
    assert_same_orders(a, hz, tuple(f for f in ARRAYS if f != "order_id"))  # ids number the merged day


def test_replications_differ_but_share_the_catalog():
    sc, net, _ = setup()
    cat0, cat1 = build_catalog(sc, RandomStreams(sc.seed, 0)), build_catalog(sc, RandomStreams(sc.seed, 1))
    assert np.array_equal(cat0.popularity, cat1.popularity) and np.array_equal(cat0.value_cny, cat1.value_cny)
    a = generate_day(sc, net, cat0, RandomStreams(sc.seed, 0), 0)
    b = generate_day(sc, net, cat1, RandomStreams(sc.seed, 1), 0)
    assert a.n_orders != b.n_orders or not np.array_equal(a.created_s, b.created_s)
    assert not np.array_equal(a.u_service[:100], b.u_service[:100])
