"""inventory.cover_window (issues #14, #18): top_n and base_stock size a target on the forecast of the days it
must last, so a known promotion inside the cover window is stocked before it; off, today's rate is held."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.policies.base_stock import BaseStock, cover_means
from sim.policies.top_n import TopN
from sim.units import HOUR
from tests.unit.policy_ctx import synthetic_ctx

PEAK = 3.0


def ctx(window: bool, peak_in: int = 1):
    """Stores: R = 1 day, L = 12 h (cover 1.5 days); FDCs L = 13 h. Day `peak_in` ahead is a x3 day."""
    base = synthetic_ctx(store_lead_s=12 * HOUR, n_skus=50)
    today = np.asarray(base.forecast, float)

    def ahead(d: int) -> np.ndarray:
        return today * (PEAK if d - base.day == peak_in else 1.0)

    return dataclasses.replace(base, forecast_ahead=ahead, cover_window=window)


def test_window_sums_the_daily_forecasts_by_overlap() -> None:
    on, off = ctx(True), ctx(False)
    f = np.asarray(on.forecast, float)
    stores = np.flatnonzero(np.asarray(on.node_kind) == 2)
    mu_l, mu_rl = cover_means(on)
    # [0, 0.5 day) lies in today; [0, 1.5 days) is today + half of the x3 day
    assert mu_l[stores] == pytest.approx(0.5 * f[stores])
    assert mu_rl[stores] == pytest.approx((1.0 + 0.5 * PEAK) * f[stores])
    off_l, off_rl = cover_means(off)
    assert off_rl[stores] == pytest.approx(1.5 * f[stores]) and off_l[stores] == pytest.approx(
        0.5 * f[stores]
    )
    # a peak beyond the window changes nothing; a flat forecast gives today's rate held over the window
    far_l, far_rl = cover_means(ctx(True, peak_in=3))
    assert np.allclose(far_rl, off_rl) and np.allclose(far_l, off_l)


def test_targets_rise_before_a_known_peak_only_with_the_window() -> None:
    on, off = ctx(True), ctx(False)
    stores = np.flatnonzero(np.asarray(on.node_kind) == 2)
    for policy in (TopN(n=50, cover=1.0), BaseStock(service=0.9)):
        t_on, t_off = np.asarray(policy.targets(on)), np.asarray(policy.targets(off))
        assert t_on[stores].sum() > 1.5 * t_off[stores].sum(), policy.name  # ~(1 + 1.5) / 1.5 on the stores
        assert (t_on >= t_off).all(), policy.name
    # no look-ahead forecast (moving average): the window falls back to today's rate
    blind = dataclasses.replace(on, forecast_ahead=None)
    assert np.array_equal(np.asarray(TopN(n=50).targets(blind)), np.asarray(TopN(n=50).targets(off)))


def test_next_review_window_by_hand() -> None:
    """cover_means(ctx, R): the windows one review later. Peak on day 2: today's window [0, 1.5) misses it, the
    next review's [1, 2.5) holds day 1 and half of the x3 day; the same as today's window seen from tomorrow."""
    on = ctx(True, peak_in=2)
    f = np.asarray(on.forecast, float)
    stores = np.flatnonzero(np.asarray(on.node_kind) == 2)
    mu_l, mu_rl = cover_means(on, on.review_days)
    assert mu_l[stores] == pytest.approx(0.5 * f[stores])  # [1, 1.5): day 1, flat
    assert mu_rl[stores] == pytest.approx((1.0 + 0.5 * PEAK) * f[stores])
    assert cover_means(on, 0.0)[1][stores] == pytest.approx(1.5 * f[stores])
    tomorrow = ctx(True, peak_in=1)  # seen from tomorrow the peak is one day ahead
    assert np.allclose(cover_means(tomorrow)[1], mu_rl) and np.allclose(cover_means(tomorrow)[0], mu_l)


def test_fdc_holds_its_stores_next_review_levels_before_a_peak() -> None:
    """Peak two days ahead: the stores' targets do not see it yet, their FDC's do (it must hold tomorrow's store
    orders today); with the peak beyond both windows nothing moves."""
    kind = np.asarray(ctx(True).node_kind)
    stores, fdcs = np.flatnonzero(kind == 2), np.flatnonzero(kind == 1)
    for policy in (TopN(n=50, cover=1.0), BaseStock(service=0.9)):
        flat = np.asarray(policy.targets(ctx(True, peak_in=5)))
        two = np.asarray(policy.targets(ctx(True, peak_in=2)))
        assert np.array_equal(two[stores], flat[stores]), policy.name
        assert two[fdcs].sum() > flat[fdcs].sum(), policy.name
        assert (two >= flat).all(), policy.name
