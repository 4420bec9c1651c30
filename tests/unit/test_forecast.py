"""Forecasts (sim/demand/forecast.py, forecast_methods.py): the error knob, rolling without peeking,
recovering a stationary rate, promotions, λ and realised demand by catchment, WAPE and bias."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from scipy import integrate, stats

from sim.catalog import build_catalog
from sim.demand import demand_day, generate_day
from sim.demand.forecast import NDC, STORE, Forecaster, bias, sigma_for_wape, wape
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams
from tests.conftest import SCENARIOS

ROLLING = ("moving_average", "exp_smoothing", "promotion_aware")
FLAT = "demand.weekly=[1, 1, 1, 1, 1, 1, 1]"


def setup(*overrides: str):
    sc = load_scenario(SCENARIOS / "toy.yaml", list(overrides))
    return sc, build_network(sc), build_catalog(sc)


def run(sc, net, cat, fc: dict[str, Forecaster], days: range, streams: RandomStreams | None = None):
    """Engine order: forecast(d) at the start of day d, then observe(d, orders). Returns forecasts, λ, actuals."""
    streams = streams or RandomStreams(sc.seed)
    out: dict[str, list[np.ndarray]] = {k: [] for k in fc}
    lam, act = [], []
    any_fc = next(iter(fc.values()))
    for d in days:
        for k, f in fc.items():
            out[k].append(f.forecast(d))
        o = demand_day(sc, net, cat, streams, d)
        for f in fc.values():
            f.observe(d, o)
        lam.append(any_fc.rate(d))
        act.append(any_fc.realised(o))
    return {k: np.array(v) for k, v in out.items()}, np.array(lam), np.array(act)


# --------------------------------------------------------------------------- the error knob
@pytest.mark.parametrize("target", [0.05, 0.3, 0.74, 1.5])
def test_sigma_gives_the_target_mean_absolute_deviation(target):
    s = sigma_for_wape(target)
    dist = stats.lognorm(s, scale=np.exp(-(s**2) / 2))
    mad = integrate.quad(lambda x: abs(x - 1) * dist.pdf(x), 0, np.inf, limit=200)[0]
    assert dist.mean() == pytest.approx(1.0)
    assert mad == pytest.approx(target, abs=1e-6)


def test_sigma_rejects_impossible_targets():
    assert sigma_for_wape(0.0) == 0.0
    for bad in (-0.1, 2.0, 3.0):
        with pytest.raises(ValueError, match="WAPE"):
            sigma_for_wape(bad)


@pytest.mark.parametrize("target", [0.1, 0.3, 0.5])
def test_achieved_wape_against_lambda_matches_the_knob(target):
    """280,000 node x SKU x day cells (7 nodes x 200 SKUs x 200 days): within ±2 pp of the knob."""
    sc, net, cat = setup(f"forecast.error={target}")
    f = Forecaster(sc, net, cat, RandomStreams(sc.seed))
    days = range(200)
    fc = np.array([f.forecast(d) for d in days])
    lam = np.array([f.rate(d) for d in days])
    assert fc.size >= 10_000
    assert abs(wape(fc, lam) - target) < 0.02, wape(fc, lam)
    assert abs(bias(fc, lam)) < 0.03  # mean-one noise


def test_noise_is_fixed_by_seed_replication_and_date():
    sc, net, cat = setup()
    a = Forecaster(sc, net, cat, RandomStreams(sc.seed, 0)).forecast(4)
    b = Forecaster(sc, net, cat, RandomStreams(sc.seed, 0)).forecast(4)
    c = Forecaster(sc, net, cat, RandomStreams(sc.seed, 1)).forecast(4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    zero = setup("forecast.error=0")
    f = Forecaster(*zero, RandomStreams(7))
    assert np.array_equal(f.forecast(4), f.rate(4))


# --------------------------------------------------------------------------- λ and realised demand
def test_rate_is_the_expected_units_by_catchment():
    sc, net, cat = setup()
    f = Forecaster(sc, net, cat, RandomStreams(1))
    lam = f.rate(0)
    ndc = net.node_kind == NDC
    assert lam[ndc].sum() == pytest.approx(2000 * f.units_per_order)  # a Monday: weekday factor 1.0
    stores = net.node_kind == STORE
    bulky = cat.category == cat.category_names.index("bulky")
    assert lam[np.ix_(stores, bulky)].sum() == 0  # bulky goods never ride with a rider
    assert np.allclose(f.prior(), f.rate(0))  # a plain Monday (weekly weights average 1)


def test_rate_scales_with_promotions_and_weekdays():
    sc, net, cat = setup("demand.promotions=[{date: 2026-11-05, multiplier: 10}]")
    f = Forecaster(sc, net, cat, RandomStreams(1))
    w = np.array(sc.demand.weekly) / np.mean(sc.demand.weekly)
    assert f.rate(3).sum() / f.rate(0).sum() == pytest.approx(10 * w[3] / w[0])  # Thursday 5 Nov
    assert f.rate(1).sum() / f.rate(0).sum() == pytest.approx(w[1] / w[0])


def test_realised_demand_is_attributed_like_the_rate():
    sc, net, cat = setup("demand.orders_per_day=50000", "demand.day_cv=0", FLAT)
    f = Forecaster(sc, net, cat, RandomStreams(1))
    o = demand_day(sc, net, cat, RandomStreams(1), 0)
    x = f.realised(o)
    ndc = net.node_kind == NDC
    assert x[ndc].sum() == o.line_qty.sum()  # every unit reaches the NDC row
    near = np.repeat(o.requested_tier == 0, o.lines_per_order())
    stores = net.node_kind == STORE
    assert x[stores].sum() <= o.line_qty[near].sum()
    for kind in range(3):  # λ is the expectation of the realised rows (Poisson: 4 standard errors)
        m = net.node_kind == kind
        assert abs(x[m].sum() - f.rate(0)[m].sum()) < 4 * np.sqrt(2.3 * f.rate(0)[m].sum())


# --------------------------------------------------------------------------- rolling: no peeking
@pytest.mark.parametrize("method", ROLLING)
def test_forecasts_never_use_the_day_itself_or_later(method):
    sc, net, cat = setup()
    honest = Forecaster(sc, net, cat, RandomStreams(1), method=method)
    tampered = Forecaster(sc, net, cat, RandomStreams(1), method=method)
    streams = RandomStreams(sc.seed)
    a, b = [], []
    for d in range(14):
        a.append(honest.forecast(d))
        b.append(tampered.forecast(d))
        o = demand_day(sc, net, cat, streams, d)
        honest.observe(d, o)
        if d >= 8:  # corrupt "future" data: days 8.. are 50x what happened
            o = dataclasses.replace(o, line_qty=o.line_qty * 50)
        tampered.observe(d, o)
    for d in range(9):  # forecasts up to day 8 use days <= 7 only
        assert np.array_equal(a[d], b[d]), d
    assert not np.allclose(a[9], b[9])  # ... and day 9 does use day 8


@pytest.mark.parametrize("method", ROLLING)
def test_observing_early_changes_nothing(method):
    """observe(d) before forecast(d) (a different call order) gives the same forecast for day d."""
    sc, net, cat = setup()
    late = Forecaster(sc, net, cat, RandomStreams(1), method=method)
    early = Forecaster(sc, net, cat, RandomStreams(1), method=method)
    streams = RandomStreams(sc.seed)
    for d in range(10):
        o = demand_day(sc, net, cat, streams, d)
        want = late.forecast(d)
        late.observe(d, o)
        early.observe(d, o)
        assert np.array_equal(early.forecast(d), want), d


def test_rolling_refuses_to_rewind():
    sc, net, cat = setup()
    f = Forecaster(sc, net, cat, RandomStreams(1), method="exp_smoothing")
    streams = RandomStreams(1)
    for d in range(3):
        f.observe(d, demand_day(sc, net, cat, streams, d))
    f.forecast(3)
    with pytest.raises(ValueError):
        f.forecast(2)  # its state already holds day 2
    with pytest.raises(ValueError):
        f.observe(1, demand_day(sc, net, cat, streams, 1))


def test_rolling_methods_start_from_the_days_before_the_run():
    """Pre-history: synthetic days on the dates just before the start (streams keyed by date), so day 0
    of a run is forecast exactly as day 7 of a run starting a week earlier."""
    sc, net, cat = setup()
    f = Forecaster(sc, net, cat, RandomStreams(1), method="moving_average")
    assert f.history_range() == range(-7, 0)
    earlier = sc.model_copy(
        update={"horizon": sc.horizon.model_copy(update={"start_date": dt.date(2026, 10, 26)})}
    )
    streams = RandomStreams(1)
    mean = sum(f.realised(generate_day(earlier, net, cat, streams, d)) for d in range(7)) / 7
    assert np.allclose(f.forecast(0), mean)
    g = Forecaster(sc, net, cat, RandomStreams(1), method="exp_smoothing")
    assert g.history_range() == range(-9, 0)  # 0.7^9 < 5 %
    assert not np.allclose(g.forecast(0), g.prior()) and wape(g.forecast(0), g.rate(0)) < 0.5


def test_without_any_data_the_plain_day_prior_is_used(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text("created,city,sku,qty\n100,Hangzhou,1,1\n")
    sc = load_scenario(SCENARIOS / "toy.yaml", ["demand.source=file", f"demand.file={p}"])
    net, cat = build_network(sc), build_catalog(sc)
    for method in ROLLING:  # the file has nothing before the start
        f = Forecaster(sc, net, cat, RandomStreams(1), method=method)
        assert np.allclose(f.forecast(0), f.prior()), method


def test_history_file_rows_before_the_start_feed_the_forecasts(tmp_path):
    p = tmp_path / "orders.csv"
    rows = [f"2026-10-{day:02d}T10:00:00,Hangzhou,5,{day}" for day in range(20, 32)] + ["100,Hangzhou,1,1"]
    p.write_text("created,city,sku,qty\n" + "\n".join(rows) + "\n")
    sc = load_scenario(SCENARIOS / "toy.yaml", ["demand.source=file", f"demand.file={p}"])
    net, cat = build_network(sc), build_catalog(sc)
    f = Forecaster(sc, net, cat, RandomStreams(1), method="moving_average")
    ndc = int(np.flatnonzero(net.node_kind == NDC)[0])
    assert f.forecast(0)[ndc, 5] == pytest.approx(np.mean([26, 27, 28, 29, 30, 31, 0]))  # 26 Oct .. 1 Nov


# --------------------------------------------------------------------------- recovering a rate
def test_moving_average_and_smoothing_recover_a_stationary_rate():
    """Flat week, no day noise: WAPE against λ shrinks with the window and with smaller alpha."""
    sc, net, cat = setup("demand.orders_per_day=5000", "demand.day_cv=0", FLAT)
    fc = {
        f"ma{w}": Forecaster(
            sc.model_copy(update={"forecast": sc.forecast.model_copy(update={"window_days": w})}),
            net,
            cat,
            RandomStreams(1),
            method="moving_average",
        )
        for w in (1, 3, 7, 14)
    }
    fc |= {
        f"es{a}": Forecaster(
            sc.model_copy(update={"forecast": sc.forecast.model_copy(update={"alpha": a})}),
            net,
            cat,
            RandomStreams(1),
            method="exp_smoothing",
        )
        for a in (0.8, 0.3, 0.1)
    }
    out, lam, act = run(sc, net, cat, fc, range(100))
    scored = slice(70, 100)  # the prior (which equals λ here) has faded: 0.9^70 < 0.1 %
    w = {k: wape(v[scored], lam[scored]) for k, v in out.items()}
    assert w["ma1"] > w["ma3"] > w["ma7"] > w["ma14"], w
    assert w["es0.8"] > w["es0.3"] > w["es0.1"], w
    assert w["ma14"] < 0.5 * w["ma1"] and w["es0.1"] < 0.5 * w["ma1"]
    # a one-day moving average is the last day's realised demand: its WAPE is the Poisson floor
    assert w["ma1"] == pytest.approx(wape(lam[scored], act[scored]), rel=0.1)
    for k, v in out.items():
        assert abs(bias(v[scored], lam[scored])) < 0.02, k


# --------------------------------------------------------------------------- promotions
PROMO = "demand.promotions=[{date: 2026-11-16, multiplier: 10, pre_days: 1, pre_multiplier: 0.6, known_to_forecast: %s}]"


def promo_run(known: bool):
    sc, net, cat = setup("demand.orders_per_day=5000", "demand.day_cv=0", FLAT, PROMO % str(known).lower())
    fc = {
        m: Forecaster(sc, net, cat, RandomStreams(1), method=m) for m in ("exp_smoothing", "promotion_aware")
    }
    out, lam, _ = run(sc, net, cat, fc, range(18))
    return {k: v.sum(axis=(1, 2)) / lam.sum(axis=(1, 2)) for k, v in out.items()}  # forecast / λ per day


def test_promotion_aware_scales_known_promotion_days():
    r = promo_run(known=True)
    pa, es = r["promotion_aware"], r["exp_smoothing"]  # day 13 = 15 Nov (pre-event), 14 = 16 Nov
    assert pa[13] == pytest.approx(1.0, abs=0.1)  # the pre-event dip (x0.6)
    assert pa[14] == pytest.approx(1.0, abs=0.1)  # the x10 day, foreseen
    assert es[14] < 0.2  # plain smoothing expects a normal day
    assert pa[15] == pytest.approx(1.0, abs=0.1) and pa[16] == pytest.approx(
        1.0, abs=0.1
    )  # baseline unpolluted
    assert es[15] > 2.0  # plain smoothing carries the spike into the next days


def test_unknown_promotions_are_not_foreseen():
    r = promo_run(known=False)
    assert r["promotion_aware"][14] < 0.2
    assert np.allclose(r["promotion_aware"], r["exp_smoothing"])


# --------------------------------------------------------------------------- hindsight, helpers
def test_hindsight_is_the_days_realised_demand():
    sc, net, cat = setup()
    f = Forecaster(sc, net, cat, RandomStreams(3), method="hindsight")
    o = demand_day(sc, net, cat, RandomStreams(3), 2)
    assert np.array_equal(f.forecast(2), f.realised(o))  # before observing: generated from the streams
    f.observe(2, o)
    assert np.array_equal(f.forecast(2), f.realised(o))


def test_wape_and_bias():
    actual = np.array([[0.0, 2.0], [4.0, 4.0]])
    forecast = np.array([[1.0, 1.0], [4.0, 6.0]])
    assert wape(forecast, actual) == pytest.approx(4 / 10)  # zero-demand cells count in the numerator
    assert bias(forecast, actual) == pytest.approx(2 / 10)
    assert np.isnan(wape(forecast, np.zeros((2, 2)))) and np.isnan(bias(forecast, np.zeros((2, 2))))


def test_unknown_method_is_refused():
    sc, net, cat = setup()
    with pytest.raises(ValueError, match="unknown method"):
        Forecaster(sc, net, cat, RandomStreams(1), method="crystal_ball")
