"""Look-ahead signals: the intraday share of a span and the capacity reservation price."""

import numpy as np
import pytest
from scipy.stats import poisson

from sim.routing.lookahead import capacity_reservation, day_share
from sim.units import DAY, HOUR


def test_day_share_integrates_the_hourly_profile() -> None:
    h = np.arange(1.0, 25.0)  # rising profile
    share = h / h.sum()
    assert day_share(h, 0.0, DAY) == pytest.approx(1.0)
    assert day_share(h, 3 * DAY, 5 * DAY) == pytest.approx(2.0)  # whole days, any start
    # 18:00-20:30 = hours 18 and 19 and half of 20
    assert day_share(h, DAY + 18 * HOUR, DAY + 20.5 * HOUR) == pytest.approx(
        share[18] + share[19] + share[20] / 2
    )
    # across midnight: 23:00 to 01:00 next day
    assert day_share(h, 23 * HOUR, DAY + HOUR) == pytest.approx(share[23] + share[0])
    assert day_share(h, 5 * HOUR, 4 * HOUR) == 0.0  # empty span
    flat = day_share(np.ones(24), np.array([0.0, 7 * HOUR]), np.array([6 * HOUR, 19 * HOUR]))
    np.testing.assert_allclose(flat, [0.25, 0.5])


def test_capacity_price_is_value_times_poisson_tail() -> None:
    orders_per_day, share, value = np.array([480.0, 480.0, 0.0]), np.array([0.01, 0.01, 0.5]), 12.0
    slots = np.array([3, 9, 2])
    got = capacity_reservation(orders_per_day, share, slots, value)
    want = value * poisson.sf(slots - 1, orders_per_day * share)  # P(N >= slots)
    want[2] = 0.0  # no own-tier demand: the slot is free
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert got[0] > got[1]  # fewer places left: dearer
