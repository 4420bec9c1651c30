"""Catalog: category counts, Zipf popularity over shuffled ranks, lognormal attributes, tiers, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.catalog import (
    build_catalog,
    largest_remainder,
    lognormal_mean_cv,
    top_count,
    zipf_probabilities,
    zipf_top_share,
)
from sim.io.scenario import load_scenario
from sim.rng import RandomStreams
from tests.conftest import SCENARIOS

FIELDS = ("category", "popularity", "rank", "value_cny", "volume_l", "shelf_life_s", "tier_eligible")


def catalog_of(*overrides: str):
    return build_catalog(load_scenario(SCENARIOS / "toy.yaml", list(overrides)))


def assert_same(a, b):
    for f in FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.category_names == b.category_names


def test_identical_across_replications_and_calls(toy):
    a = build_catalog(toy)
    assert_same(a, build_catalog(toy))
    assert_same(a, build_catalog(toy, RandomStreams(toy.seed, 1)))
    assert_same(a, build_catalog(toy, RandomStreams(toy.seed, 17)))


def test_seed_changes_the_catalog(toy):
    a, b = build_catalog(toy), catalog_of("seed=8")
    assert not np.array_equal(a.rank, b.rank)
    assert not np.allclose(a.value_cny, b.value_cny)


def test_sku_counts_per_category_follow_shares(toy):
    cat = build_catalog(toy)  # 200 SKUs, shares 0.5/0.2/0.2/0.1
    assert cat.n_skus == 200
    assert cat.skus_per_category().tolist() == [100, 40, 40, 20]
    assert cat.category_names == ("grocery", "fresh", "personal_care", "bulky")
    assert np.all(np.diff(cat.category) >= 0), "SKUs are numbered category by category"


@pytest.mark.parametrize("n", [1, 2, 3, 7, 11, 199, 1001])
def test_largest_remainder_rounding(n):
    shares = np.array([0.5, 0.2, 0.2, 0.1])
    counts = largest_remainder(shares, n)
    assert counts.sum() == n
    assert np.all(np.abs(counts - shares * n) < 1.0)


def test_largest_remainder_ties_go_to_the_earlier_share():
    # 7 SKUs: exact 3.5 / 1.4 / 1.4 / 0.7; two left over go to the largest remainders 0.7 then 0.5
    assert largest_remainder(np.array([0.5, 0.2, 0.2, 0.1]), 7).tolist() == [4, 1, 1, 1]
    assert largest_remainder(np.array([1.0, 1.0, 1.0]), 4).tolist() == [2, 1, 1]
    assert catalog_of("catalog.n_skus=7").skus_per_category().tolist() == [4, 1, 1, 1]


def test_popularity_is_zipf_over_a_random_rank_permutation(toy):
    cat = build_catalog(toy)
    assert cat.popularity.sum() == pytest.approx(1.0, abs=1e-12)
    assert sorted(cat.rank.tolist()) == list(range(cat.n_skus))
    by_rank = cat.popularity[np.argsort(cat.rank)]
    expected = np.arange(1, 201, dtype=float) ** -1.0
    assert np.allclose(by_rank, expected / expected.sum(), rtol=1e-12)
    assert np.array_equal(cat.top(5), np.argsort(-cat.popularity, kind="stable")[:5])
    # ranks are shuffled across categories: the top 20 SKUs are not all from one category
    assert len(set(cat.category[cat.top(20)].tolist())) >= 3
    # ... and every category's mean rank is near the middle (a block assignment would give 50 / 120 / ...)
    for c in range(cat.n_categories):
        assert abs(cat.rank[cat.category == c].mean() - 99.5) < 45


def test_zipf_top_share_analytic():
    assert zipf_top_share(5, 1.0) == pytest.approx(1.0 / (1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5))
    assert zipf_top_share(1000, 0.0) == pytest.approx(0.2)  # s = 0: uniform
    h = lambda n: sum(1 / k for k in range(1, n + 1))  # noqa: E731
    assert zipf_top_share(5000, 1.0) == pytest.approx(h(1000) / h(5000))
    # parameters.md Demand: with s ~ 1 the top 20 % of SKUs carry 80-85 % of units (default 5,000 SKUs)
    assert 0.80 <= zipf_top_share(5000, 1.0) <= 0.85
    assert zipf_top_share(5000, 1.2) > zipf_top_share(5000, 1.0) > zipf_top_share(5000, 0.8)
    assert zipf_top_share(10, 1.0, frac=1.0) == pytest.approx(1.0)
    assert top_count(3, 0.2) == 1 and top_count(200, 0.2) == 40
    with pytest.raises(ValueError):
        zipf_top_share(0, 1.0)
    assert zipf_probabilities(4, 2.0).tolist() == pytest.approx(
        np.array([1, 1 / 4, 1 / 9, 1 / 16]) / (1 + 1 / 4 + 1 / 9 + 1 / 16)
    )


def test_value_and_volume_are_lognormal_with_the_category_mean_and_cv():
    cat = catalog_of("catalog.n_skus=40000")
    # category 0: grocery value 25 (cv 0.8), volume 1.5 (cv 0.5); category 3: bulky value 120, volume 25
    for c, value, volume in ((0, 25.0, 1.5), (3, 120.0, 25.0)):
        m = cat.category == c
        n = m.sum()
        for x, mean, cv in ((cat.value_cny[m], value, 0.8), (cat.volume_l[m], volume, 0.5)):
            assert abs(x.mean() - mean) < 4 * cv * mean / math.sqrt(n)
            logs = np.log(x)
            assert logs.std() == pytest.approx(math.sqrt(math.log1p(cv**2)), rel=0.05)
    assert np.all(cat.value_cny > 0) and np.all(cat.volume_l > 0)


def test_lognormal_with_zero_cv_is_constant():
    z = np.array([-2.0, 0.0, 3.0])
    assert lognormal_mean_cv(z, np.full(3, 7.0), np.zeros(3)).tolist() == [7.0, 7.0, 7.0]


def test_shelf_life_and_tier_eligibility(toy):
    cat = build_catalog(toy)
    fresh, bulky = cat.category_names.index("fresh"), cat.category_names.index("bulky")
    assert np.all(cat.shelf_life_s[cat.category == fresh] == 4 * 86400.0)
    assert np.all(np.isinf(cat.shelf_life_s[cat.category != fresh]))
    assert cat.tier_eligible.shape == (200, 3) and cat.tier_eligible.dtype == bool
    assert np.all(cat.tier_eligible[cat.category == fresh] == [True, True, False])
    assert np.all(cat.tier_eligible[cat.category == bulky] == [False, True, True])
    assert np.all(cat.tier_eligible[cat.category == 0])
