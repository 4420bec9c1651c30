"""The Ma (2023) / Jasin & Sinha (2015) benchmark: generator statistics, LP bounds vs policies and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from sim.rng import RandomStreams
from sim.routing.benchmarks import ma2023, online


def tiny(instance: int, *, n_max: int = 2, T: int = 6) -> ma2023.Instance:
    return ma2023.generate(
        instance,
        n_items=4,
        n_max=n_max,
        n_per=2,
        T=T,
        cities=ma2023.WARMUP_CITIES[:3],
        fcs=ma2023.WARMUP_FCS[:2],
    )


def test_generator_reproduces_the_published_set_up() -> None:
    carried = []
    for k in range(30):
        inst = ma2023.generate(k, T=10_000)
        assert (inst.n_regions, inst.n_fcs, inst.n_items, inst.T) == (10, 5, 20, 10_000)
        sizes = [len(t) for t in inst.types]
        assert sizes == [0] + [s for s in range(1, 6) for _ in range(5)]
        assert all(len(set(t)) == len(t) and all(0 <= i < 20 for i in t) for t in inst.types)
        assert inst.lam.sum() == pytest.approx(1.0)
        pop = np.array([c[4] for c in ma2023.WARMUP_CITIES], float)
        np.testing.assert_allclose(inst.lam.sum(axis=0), pop / pop.sum())
        carried.append(inst.carries.mean())
        # starting stock: round(T d + 0.5 sqrt(T d (1 - d))), d the rate routed myopically to the FC
        d = np.zeros((5, 20))
        for q, items in enumerate(inst.types):
            for i in items:
                for j in range(10):
                    if inst.closest[i, j] < 5:
                        d[inst.closest[i, j], i] += inst.lam[q, j]
        np.testing.assert_array_equal(inst.stock, np.rint(1e4 * d + 0.5 * np.sqrt(1e4 * d * (1 - d))))
        assert (inst.stock[~inst.carries] == 0).all()
    # 30 x 5 x 20 Bernoulli(0.75) draws: the mean within 3.5 standard errors
    se = np.sqrt(0.75 * 0.25 / 3000)
    assert abs(np.mean(carried) - 0.75) < 3.5 * se


def test_costs_follow_the_papers_formula() -> None:
    inst = ma2023.generate(0)
    # New York (region 0) from AVP3 (Scranton area, FC 2): ~100 miles by great circle
    assert 90 < inst.miles[2, 0] < 115
    assert inst.c_unit[2, 0] == pytest.approx(0.423 + 0.000541 * inst.miles[2, 0])
    assert (inst.c_fixed[:5] == 8.759).all() and (inst.c_fixed[5] == 2 * 8.759).all()
    np.testing.assert_allclose(inst.c_unit[5], 2 * (0.423 + 0.000541 * inst.miles.max(axis=0)))
    # Los Angeles is nearest to OAK4
    assert int(np.argmin(inst.miles[:, 1])) == 0


def test_generator_and_arrivals_are_reproducible() -> None:
    a, b = ma2023.generate(3), ma2023.generate(3)
    assert a.types == b.types
    np.testing.assert_array_equal(a.stock, b.stock)
    q1, j1 = ma2023.arrivals(a, 1, instance=3)
    q2, j2 = ma2023.arrivals(b, 1, instance=3)
    np.testing.assert_array_equal(q1, q2)
    np.testing.assert_array_equal(j1, j2)
    assert not np.array_equal(q1, ma2023.arrivals(a, 2, instance=3)[0])
    # empirical frequencies follow lambda (10,000 draws; 5 standard errors per cell)
    n = ma2023.counts(a, q1, j1)
    se = np.sqrt(a.lam * (1 - a.lam) / a.T)
    assert (np.abs(n / a.T - a.lam) < 5 * se + 1e-12).all()


def test_dlp_is_the_lp_at_expected_counts_and_prices_stock() -> None:
    inst = ma2023.generate(1, n_items=8, n_max=3, n_per=3, T=500)
    lp = ma2023.dlp(inst)
    assert lp.value == pytest.approx(ma2023.lp_bound(inst, inst.T * inst.lam).value)
    assert (lp.bid >= 0).all()
    # the shares of every (type, region) route each item once
    for q, items in enumerate(inst.types):
        if items:
            np.testing.assert_allclose(lp.share[q, :, : len(items)].sum(axis=-1), 1.0, atol=1e-7)
    # with unlimited stock the LP cost is every order's cheapest split, which no policy can beat
    free = ma2023.Instance(**{**inst.__dict__, "stock": np.full_like(inst.stock, 10**6)})
    q, j = ma2023.arrivals(free, 0, instance=1)
    assert online.run("mip", free, q, j) == pytest.approx(
        ma2023.lp_bound(free, ma2023.counts(free, q, j)).value
    )


@pytest.mark.parametrize("instance", range(2))
def test_hindsight_lp_is_below_every_policy(instance: int) -> None:
    inst = ma2023.generate(instance, n_items=8, n_max=4, n_per=2, T=150)
    lp = ma2023.dlp(inst)
    for seq in range(2):
        q, j = ma2023.arrivals(inst, seq, instance=instance)
        bound = ma2023.lp_bound(inst, ma2023.counts(inst, q, j)).value
        for p in online.POLICIES:
            cost = online.run(p, inst, q, j, lp=lp, rng=RandomStreams(0, instance).get(f"t/{p}"))
            assert bound <= cost + 1e-6


@pytest.mark.parametrize("instance", range(4))
def test_hindsight_lp_equals_brute_force_for_single_item_orders(instance: int) -> None:
    inst = tiny(instance, n_max=1, T=7)
    q, j = ma2023.arrivals(inst, 0, instance=instance)
    best = ma2023.offline_optimum(inst, q, j)
    # single-item orders: a transportation problem, totally unimodular, so the LP is integral
    assert ma2023.lp_bound(inst, ma2023.counts(inst, q, j)).value == pytest.approx(best, abs=1e-6)
    assert best <= online.run("mip", inst, q, j) + 1e-9


@pytest.mark.parametrize("instance", range(4))
def test_brute_force_brackets_multi_item_orders(instance: int) -> None:
    inst = tiny(instance, n_max=2, T=6)
    q, j = ma2023.arrivals(inst, 0, instance=instance)
    n = ma2023.counts(inst, q, j)
    best = ma2023.offline_optimum(inst, q, j)
    lp = ma2023.lp_bound(inst, n).value
    assert lp <= best + 1e-6
    assert (
        ma2023.lp_bound(inst, n, integer=True).value <= best + 1e-6
    )  # aggregated integer flows relax it too
    for p in ("mip", "myopic", "nearest"):
        assert best <= online.run(p, inst, q, j) + 1e-9


def test_mip_routes_one_order_at_its_cheapest_split() -> None:
    inst = ma2023.generate(2, n_items=6, n_max=5, n_per=2, T=50)
    for q, items in enumerate(inst.types):
        if not items:
            continue
        for j in (0, 1, 4):
            arr_q, arr_j = np.array([q]), np.array([j])
            assert online.run("mip", inst, arr_q, arr_j) == pytest.approx(
                ma2023.offline_optimum(inst, arr_q, arr_j)
            )
