"""Demand rate model (profiles) and the Orders struct of arrays: factors, integrals, take/concat."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.catalog import build_catalog
from sim.demand import (
    DemandProfile,
    Orders,
    concat,
    day_factor,
    empty_orders,
    generate_day,
    intraday_shares,
    promotion_factor,
    stream_key,
)
from sim.demand.profiles import weekday_factor
from sim.errors import ScenarioError
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams
from tests.conftest import SCENARIOS

PROMO = (
    "demand.promotions=[{date: 2026-11-11, multiplier: 10, pre_days: 2, pre_multiplier: 1.5, "
    "post_days: 1, post_multiplier: 0.8}]"
)


@pytest.fixture(scope="module")
def promo():
    return load_scenario(SCENARIOS / "toy.yaml", [PROMO])


@pytest.fixture(scope="module")
def profile(promo):
    return DemandProfile.of(promo, build_network(promo))


def test_weekly_weights_average_one(toy):
    monday = dt.date(2026, 11, 2)
    factors = [weekday_factor(toy.demand, monday + dt.timedelta(days=k)) for k in range(7)]
    assert np.mean(factors) == pytest.approx(1.0)
    w = np.array(toy.demand.weekly)
    assert factors[4] == pytest.approx(w[4] / w.mean())  # Friday


def test_promotion_windows(promo):
    d = promo.demand
    f = {day: promotion_factor(d, dt.date(2026, 11, day)) for day in range(7, 15)}
    assert f == {7: 1.0, 8: 1.0, 9: 1.5, 10: 1.5, 11: 10.0, 12: 0.8, 13: 1.0, 14: 1.0}
    assert day_factor(d, dt.date(2026, 11, 11)) == pytest.approx(
        10 * weekday_factor(d, dt.date(2026, 11, 11))
    )


def test_overlapping_promotions_multiply():
    sc = load_scenario(
        SCENARIOS / "toy.yaml",
        [
            "demand.promotions=[{date: 2026-11-11, multiplier: 10, post_days: 1, post_multiplier: 2}, "
            "{date: 2026-11-12, multiplier: 3}]"
        ],
    )
    assert promotion_factor(sc.demand, dt.date(2026, 11, 12)) == pytest.approx(6.0)


def test_daily_and_hourly_expectations(promo, profile):
    assert profile.city_share.sum() == pytest.approx(1.0)
    assert profile.city_share.tolist() == pytest.approx([1.0, 0.0])  # Shanghai has demand_weight 0
    assert profile.date(0) == dt.date(2026, 11, 2) and profile.date(9) == dt.date(2026, 11, 11)
    base = 2000 * weekday_factor(promo.demand, dt.date(2026, 11, 11))
    assert profile.daily_expected(9)[0] == pytest.approx(10 * base)
    hourly = profile.hourly_expected(9)
    assert hourly.shape == (2, 24)
    assert hourly.sum(axis=1) == pytest.approx(profile.daily_expected(9))
    assert intraday_shares(promo.demand).sum() == pytest.approx(1.0)
    shares = intraday_shares(promo.demand)
    assert shares[18] / shares[3] == pytest.approx(2.0 / 0.05)  # evening peak vs night trough


def test_window_integrals(profile):
    day = 9 * 86400.0
    daily = profile.daily_expected(9)
    shares = profile.hour_share
    for h in (0, 11, 23):
        got = profile.expected(day + h * 3600, day + (h + 1) * 3600)
        assert got == pytest.approx(daily * shares[h])
    # a partial window: 10:30 to 11:15 is half of hour 10 and a quarter of hour 11
    got = profile.expected(day + 10.5 * 3600, day + 11.25 * 3600)
    assert got == pytest.approx(daily * (shares[10] / 2 + shares[11] / 4))
    # across midnight: the last hour of day 8 and the first hour of day 9
    got = profile.expected(day - 3600, day + 3600)
    assert got == pytest.approx(profile.daily_expected(8) * shares[23] + daily * shares[0])
    # whole days from the start
    assert profile.expected(0, 10 * 86400) == pytest.approx(sum(profile.daily_expected(d) for d in range(10)))
    assert profile.expected(day, day).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError):
        profile.expected(10.0, 5.0)


def test_rate_integrates_to_the_cumulative(profile):
    t = np.linspace(8 * 86400, 10 * 86400, 2 * 24 * 60 + 1)  # minute grid over two days
    mid = (t[:-1] + t[1:]) / 2
    integral = (profile.rate(mid) * np.diff(t)[:, None]).sum(axis=0)
    assert integral == pytest.approx(profile.expected(t[0], t[-1]), rel=1e-9)
    assert profile.rate(np.array([0.0, 5.0])).shape == (2, 2)


def test_stream_keys_are_named_by_date_and_city():
    assert stream_key("arrivals", dt.date(2026, 11, 11), "Hangzhou") == "demand.arrivals/2026-11-11/Hangzhou"


def make_orders(times, lens, city=0):
    n = len(times)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return Orders(
        order_id=np.arange(n, dtype=np.int64),
        created_s=np.asarray(times, dtype=np.float64),
        zone=np.zeros(n, np.int32),
        city=np.full(n, city, np.int32),
        requested_tier=np.zeros(n, np.int8),
        line_offsets=offsets,
        line_sku=np.arange(offsets[-1], dtype=np.int32) + 100 * city,
        line_qty=np.arange(1, offsets[-1] + 1, dtype=np.int32),
        u_service=np.linspace(0, 0.5, n),
        u_decision=np.linspace(0.5, 1, n, endpoint=False),
    )


def test_orders_helpers_take_and_concat():
    a = make_orders([1.0, 5.0, 9.0], [2, 1, 3])
    b = make_orders([2.0, 6.0], [1, 2], city=1)
    a.validate()
    assert (a.n_orders, a.n_lines, len(a)) == (3, 6, 3)
    assert a.lines_per_order().tolist() == [2, 1, 3]
    assert a.units().tolist() == [1 + 2, 3, 4 + 5 + 6]
    assert a.line_order().tolist() == [0, 0, 1, 2, 2, 2]
    skus, qty = a.lines_of(2)
    assert skus.tolist() == [3, 4, 5] and qty.tolist() == [4, 5, 6]
    t = a.take(np.array([2, 0]))
    assert t.created_s.tolist() == [9.0, 1.0] and t.line_sku.tolist() == [3, 4, 5, 0, 1]
    assert a.take(np.array([False, True, False])).line_sku.tolist() == [2]
    m = concat([a, b])
    m.validate()
    assert m.created_s.tolist() == [1.0, 2.0, 5.0, 6.0, 9.0]
    assert m.city.tolist() == [0, 1, 0, 1, 0]
    assert [m.lines_of(i)[0].tolist() for i in range(5)] == [[0, 1], [100], [2], [101, 102], [3, 4, 5]]
    assert concat([]).n_orders == 0 and concat([empty_orders(), a]) is a
    empty_orders().validate()


def test_generated_day_is_well_formed(toy):
    net, cat = build_network(toy), build_catalog(toy)
    o = generate_day(toy, net, cat, RandomStreams(toy.seed), 4)
    o.validate()
    assert o.n_orders > 1000
    assert np.all((o.created_s >= 4 * 86400) & (o.created_s < 5 * 86400))
    assert np.array_equal(o.order_id, 4 * 10**9 + np.arange(o.n_orders))
    assert set(np.unique(o.city).tolist()) == {0}  # Shanghai has no demand in the toy
    assert np.all(net.zone_city[o.zone] == o.city)
    assert np.all(o.line_qty >= 1) and o.line_sku.max() < cat.n_skus
    assert np.all((o.u_service >= 0) & (o.u_service < 1)) and np.all((o.u_decision >= 0) & (o.u_decision < 1))
    assert abs(np.corrcoef(o.u_service, o.u_decision)[0, 1]) < 0.1


def test_unknown_category_in_tier_mix_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="tier_mix_by_category"):
        load_scenario(
            SCENARIOS / "toy.yaml", ["demand.tier_mix_by_category={frozen: {near: 1, mid: 0, far: 0}}"]
        )


class FixedUniforms:
    """Stands in for a Generator whose `random` returns chosen values (to hit the CDF edges)."""

    def __init__(self, u: float) -> None:
        self.u = u

    def random(self, n: int) -> np.ndarray:
        return np.full(n, self.u)


@pytest.mark.parametrize("u", [0.0, 0.5, 1.0 - 2.0**-53])
def test_draw_excluding_never_returns_a_taken_sku_even_at_the_cdf_edges(u):
    from sim.demand.generate import _draw_excluding

    rng = RandomStreams(0).get("test.excluding")
    for trial in range(200):
        s = int(rng.integers(2, 12))
        p = rng.dirichlet(np.full(s, 0.3)) if trial % 2 else np.full(s, 1.0 / s)
        j = int(rng.integers(1, s))
        taken = np.array([rng.choice(s, j, replace=False) for _ in range(20)])
        pick = _draw_excluding(FixedUniforms(u), p, np.cumsum(p), taken)  # type: ignore[arg-type]
        assert np.all((pick >= 0) & (pick < s))
        assert not (taken == pick[:, None]).any()
