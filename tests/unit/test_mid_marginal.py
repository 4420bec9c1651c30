"""Issue #15: a mid option's van cost is what the approx wave charges for one more order
(``router.mid_estimate: marginal``), and the look-ahead's rate is uncertain (``router.lookahead_rate_cv``)."""

from __future__ import annotations

import numpy as np
from scipy.stats import nbinom, poisson

from sim.demand.forecast import sigma_for_wape
from sim.engine.warehouse import VanFleet, Waves, approx_fdc
from sim.routing.lookahead import capacity_reservation, prob_at_least, rate_cv, reservation_price
from sim.units import parse_clock

KM = 5.0  # every order's stem: the mean stem


def _waves(vans: int, as_needed: bool) -> Waves:
    fleet = VanFleet(
        np.array([vans]),
        np.array([5300.0]),
        np.array([30.0]),
        np.array([180.0]),
        np.array([30.0]),
        np.array([120.0]),
        np.array([8.0]),
        1.3,
        4.0,
        2.5,
    )
    return Waves(
        np.array([parse_clock("09:00")]),
        np.array([[parse_clock("10:00"), parse_clock("13:00")]]),
        fleet,
        vans_as_needed=as_needed,
    )


def _booked(w: Waves, n: int, vol_l: float) -> float:
    """Total van cost ``approx_fdc`` books for a wave of n orders, all at the mean stem (the independent
    side: the engine's booked cost, not the estimate's formula)."""
    if n == 0:
        return 0.0
    rng = np.random.default_rng(n)
    lat, lon = 30.0 + rng.uniform(-0.05, 0.05, n), 120.0 + rng.uniform(-0.05, 0.05, n)
    _, cost, _ = approx_fdc(w, 0, 0, lat, lon, np.full(n, KM), np.full(n, vol_l))
    return float(cost.sum())


def test_one_van_marginal_equals_the_booked_difference() -> None:
    w = _waves(1, as_needed=False)
    for used in (1, 4, 12):
        w.used = {0: np.array([used])}
        base, stem = w.marginal_cost(0, np.array([0.0]), 10.0, np.array([KM]))
        assert np.isclose(base[0], _booked(w, used + 1, 10.0) - _booked(w, used, 10.0), rtol=1e-9)
        assert np.isclose(stem[0], 2.0 / (used + 1))
        # a dedicated stem (the estimate before) costs far more than a drop on a van already going
        assert base[0] < 4.0 + 2.5 * 2.0 * KM


def test_expected_marginal_averages_the_new_vans_over_the_orders_to_come() -> None:
    w = _waves(6, as_needed=True)
    mean_l = 10.0
    stops = float(w.per_van_orders(0, mean_l, np.array([KM]))[0])
    w.used = {0: np.array([3])}
    mu = 2.5 * stops
    base, _ = w.marginal_cost(0, np.array([mu]), mean_l, np.array([KM]))
    k = np.arange(int(mu * 6) + 30)
    booked = np.array([_booked(w, 3 + int(j), mean_l) for j in k[:-1]] + [0.0])
    booked_next = np.array([_booked(w, 4 + int(j), mean_l) for j in k[:-1]] + [0.0])
    expected = float((poisson.pmf(k, mu) * (booked_next - booked)).sum())
    # the formula sums the vans' BHH tours as sqrt(n pi r^2) (equal sectors); the sweep's unequal split
    # differs by well under 1 %
    assert np.isclose(base[0], expected, rtol=0.01)
    # a new van's two stems spread over the stops it makes: between a drop and a dedicated trip
    assert 4.0 < base[0] < 4.0 + 2.5 * 2.0 * KM


def test_rate_cv_tail_is_the_negative_binomial() -> None:
    cv = rate_cv(sigma_for_wape(0.3), 0.1)
    assert 0.40 < cv < 0.41  # lognormal CV 0.39 of a 30% WAPE, with a day CV of 0.1
    assert rate_cv(0.0, 0.0) == 0.0
    mu, a = np.array([0.5, 3.0, 15.0, 15.0]), np.array([1, 4, 30, 10])
    r = 1.0 / cv**2
    assert np.allclose(prob_at_least(mu, a, cv), nbinom.sf(a - 1, r, r / (r + mu)), rtol=1e-10)
    assert np.allclose(prob_at_least(mu, a, 0.0), poisson.sf(a - 1, mu), rtol=1e-10)
    # the mixture's tail is fatter far out: the risk the Poisson misses
    assert prob_at_least(15.0, 30, cv) > 50 * prob_at_least(15.0, 30)
    assert float(prob_at_least(2.0, 0, cv)) == 1.0
    # the prices use it: two units out of 3 at mean 2, value 10
    p = nbinom.sf(np.array([2, 1]), r, r / (r + 2.0)).sum() * 10.0
    assert np.isclose(float(reservation_price(2.0, 3, 10.0, units=2, rate_cv=cv)), p)
    assert np.isclose(
        float(capacity_reservation(np.array([48.0]), 0.25, np.array([15]), 7.0, cv)[0]),
        7.0 * nbinom.sf(14, r, r / (r + 12.0)),
    )
