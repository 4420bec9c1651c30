"""Demand that answers to the promise (sim/demand/conversion.py, issue #18): off changes nothing, the same
shoppers order across policies and monotonically across promises, volumes and the oracle forecast match the
thinning's exact expectation, and the promise verb's bundles mean what they say."""

from __future__ import annotations

import numpy as np
import pytest

from sim.catalog import build_catalog
from sim.decide.promise import designs, mid_overrides, near_overrides, parse_mid, parse_near
from sim.demand import generate_day
from sim.demand.conversion import ConversionModel, curve_share
from sim.demand.forecast import FDC, STORE, Forecaster
from sim.errors import ScenarioError
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams
from sim.run import prepare
from tests.conftest import SCENARIOS

ON = "demand.conversion.enabled=true"


def setup(*overrides: str):
    sc = load_scenario(SCENARIOS / "toy.yaml", list(overrides))
    return sc, build_network(sc), build_catalog(sc)


def day(sc, net, cat, d: int = 0, seed: int | None = None):
    return generate_day(sc, net, cat, RandomStreams(sc.seed if seed is None else seed), d)


def test_off_is_the_engine_before_and_draws_no_stream():
    sc, net, cat = setup()
    off, explicit = day(sc, net, cat), day(*setup("demand.conversion.enabled=false"))
    for f in ("created_s", "zone", "requested_tier", "line_sku", "line_qty", "u_service", "u_decision"):
        assert np.array_equal(getattr(off, f), getattr(explicit, f))
    # the curves are inert while the mechanism is off
    other = day(*setup("demand.conversion.near={minutes: [30], share: [0.5]}"))
    assert np.array_equal(off.created_s, other.created_s)


def test_curve_interpolates_and_is_flat_beyond():
    sc, _, _ = setup()
    c = sc.demand.conversion.near
    assert curve_share(c, 30) == pytest.approx(0.95)
    assert curve_share(c, 37.5) == pytest.approx((0.95 + 0.82) / 2)
    assert curve_share(c, 1) == pytest.approx(1.0) and curve_share(c, 1000) == pytest.approx(c.share[-1])


def test_shoppers_at_a_longer_promise_are_a_subset():
    """Monotone coupling: the orders at 60 minutes are exactly the 30-minute orders minus some near ones."""
    s30, net, cat = setup(ON, "tiers.near.promise_min=30")
    s60, _, _ = setup(ON, "tiers.near.promise_min=60")
    a, b = day(s30, net, cat), day(s60, net, cat)
    key_a = set(zip(a.created_s.tolist(), a.u_service.tolist(), strict=True))
    key_b = set(zip(b.created_s.tolist(), b.u_service.tolist(), strict=True))
    assert key_b < key_a
    gone = key_a - key_b
    tier_a = dict(
        zip(
            zip(a.created_s.tolist(), a.u_service.tolist(), strict=True),
            a.requested_tier.tolist(),
            strict=True,
        )
    )
    assert {tier_a[k] for k in gone} == {0}  # only near shoppers decide on the near promise
    # the same promise draws the same shoppers whatever else differs (common random numbers across policies)
    again = day(*setup(ON, "tiers.near.promise_min=60", "policy=top_n(n=10)", "router.name=flow"))
    assert np.array_equal(b.created_s, again.created_s) and np.array_equal(b.line_sku, again.line_sku)


def test_volume_and_tier_shares_match_the_thinning():
    """Over many days, orders per tier / expected = share_t(promise) / c_ref x tier_mix_t (exact expectation)."""
    flat = [
        "demand.weekly=[1, 1, 1, 1, 1, 1, 1]",
        "demand.day_cv=0",
        "catalog.n_skus=20",
        "catalog.categories=[{name: g, share: 1, value_cny: 20, volume_l: 1}]",
    ]
    base, net, cat = setup(*flat)
    sc, _, _ = setup(
        *flat,
        ON,
        "tiers.near.promise_min=60",
        "tiers.mid.rolling.every_min=120",
        "tiers.mid.rolling.window_end_min=240",
        "tiers.mid.rolling.last_cutoff=19:00",
        "tiers.mid.max_promise_h=6",
    )
    model = ConversionModel.of(sc)
    assert model is not None and ConversionModel.of(base) is None
    conv = sc.demand.conversion
    assert model.share[0] == pytest.approx(curve_share(conv.near, 60))
    assert model.share[1] == pytest.approx(curve_share(conv.mid, 360))
    ref = 0.55 * curve_share(conv.near, 30) + 0.15 * curve_share(conv.mid, 240) + 0.30
    assert model.c_ref == pytest.approx(ref)
    days = 30
    counts = np.zeros(3)
    for d in range(days):
        counts += np.bincount(day(sc, net, cat, d).requested_tier, minlength=3)
    expected = (
        float(sc.demand.orders_per_day) * days * np.array([0.55, 0.15, 0.30]) * model.share / model.c_ref
    )
    z = (counts - expected) / np.sqrt(expected)  # Poisson counts: |z| < 4 fails by chance ~1e-4 of the time
    assert np.all(np.abs(z) < 4), (counts, expected)


def test_reference_promises_keep_the_volume():
    sc, net, cat = setup(ON, "demand.day_cv=0", "demand.weekly=[1, 1, 1, 1, 1, 1, 1]")
    n = sum(day(sc, net, cat, d).n_orders for d in range(20))
    mean = 20 * float(sc.demand.orders_per_day)
    assert abs(n - mean) < 4 * np.sqrt(mean)


def test_oracle_forecast_scales_each_tier():
    base, net, cat = setup()
    sc, _, _ = setup(ON, "tiers.near.promise_min=60")
    f0 = Forecaster(base, net, cat, RandomStreams(1), method="oracle")
    f1 = Forecaster(sc, net, cat, RandomStreams(1), method="oracle")
    m = ConversionModel.of(sc)
    assert m is not None
    r0, r1 = f0.rate(3), f1.rate(3)
    stores, fdcs = net.node_kind == STORE, net.node_kind == FDC
    assert r1[stores].sum() == pytest.approx(r0[stores].sum() * m.share[0] / m.c_ref)
    assert r1[fdcs].sum() == pytest.approx(r0[fdcs].sum() * m.share[1] / m.c_ref)


def test_schema_refuses_bad_curves_and_a_mid_promise_past_its_bound():
    with pytest.raises(ScenarioError, match="minutes"):
        load_scenario(SCENARIOS / "toy.yaml", ["demand.conversion.near={minutes: [30, 20], share: [1, 0.9]}"])
    with pytest.raises(ScenarioError, match="share"):
        load_scenario(
            SCENARIOS / "toy.yaml", ["demand.conversion.near={minutes: [20, 30], share: [0.8, 0.9]}"]
        )
    with pytest.raises(ScenarioError, match="max_promise_h"):
        load_scenario(SCENARIOS / "toy.yaml", ["tiers.mid.rolling.every_min=120"])


def test_promise_bundles():
    base = prepare(SCENARIOS / "toy.yaml")
    assert near_overrides(base, 60, None) == [
        "tiers.near.promise_min=60",
        "nodes.stores.capacity.rider_radius_km=6",
    ]
    assert near_overrides(base, 45, 4.0)[1].endswith("=4")
    eta = prepare(SCENARIOS / "toy.yaml", overrides=["tiers.near.quote=eta", "tiers.near.max_quote_min=40"])
    assert near_overrides(eta, 60, None)[2] == "tiers.near.max_quote_min=80"  # the longest quote grows too
    for h in (2, 4, 6):
        sc = prepare(base, overrides=mid_overrides(h))
        assert sc.tiers.mid.promise_min() == pytest.approx(60 * h)
        assert all(int(w.window[1][:2]) < 24 for w in sc.tiers.mid.waves)
    assert (
        prepare(base, overrides=mid_overrides(4)).tiers.mid.waves == base.tiers.mid.waves
    )  # the bundled 4 h
    groups = designs(base, parse_near("30,60:5"), parse_mid("2,4"), [])
    assert [g.columns for g in groups] == [
        {"near_min": 30, "rider_radius_km": 3.0, "mid_h": 2},
        {"near_min": 60, "rider_radius_km": 5.0, "mid_h": 2},
        {"near_min": 30, "rider_radius_km": 3.0, "mid_h": 4},
        {"near_min": 60, "rider_radius_km": 5.0, "mid_h": 4},
    ]
    assert all(g.scenario.demand.conversion.enabled for g in groups)
    kept_off = designs(base, parse_near("30"), parse_mid("4"), ["demand.conversion.enabled=false"])
    assert not kept_off[0].scenario.demand.conversion.enabled
    for bad in ("", "x", "30:-1"):
        with pytest.raises(ScenarioError):
            parse_near(bad)
    with pytest.raises(ScenarioError):
        parse_mid("0,4")
