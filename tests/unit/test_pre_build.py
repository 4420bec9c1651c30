"""inventory.pre_build (issue #14 item 5): with the cover window on, a store's target is the larger of this
review's and the next review's, so a known peak is on the shelf when it starts; its FDC holds the stores' levels
one review further. Hand figures: stores R = 1 day, L = 12 h (window 1.5 days), top_n(cover=1)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.policies.base_stock import BaseStock
from sim.policies.top_n import TopN
from sim.units import HOUR
from tests.unit.policy_ctx import synthetic_ctx

PEAK = 3.0


def ctx(pre_build: bool, peak_in: int = 1, window: bool = True, **extra: object):
    base = synthetic_ctx(store_lead_s=12 * HOUR, n_skus=50, **extra)
    today = np.asarray(base.forecast, float)

    def ahead(d: int) -> np.ndarray:
        return today * (PEAK if d - base.day == peak_in else 1.0)

    return dataclasses.replace(base, forecast_ahead=ahead, cover_window=window, pre_build=pre_build)


def kinds(c) -> tuple[np.ndarray, np.ndarray]:
    kind = np.asarray(c.node_kind)
    return np.flatnonzero(kind == 2), np.flatnonzero(kind == 1)


def test_store_holds_tomorrows_peak_by_hand() -> None:
    """Peak tomorrow: today's window [0, 1.5) = 1 + 0.5 x 3 = 2.5 days of demand; the next review's [1, 2.5) =
    3 + 0.5 = 3.5: with pre_build the store holds 3.5 days' worth before the peak starts."""
    on, off = ctx(True), ctx(False)
    stores, fdcs = kinds(on)
    f = np.asarray(on.forecast, float)
    t_on, t_off = (
        np.asarray(TopN(n=50, cover=1.0).targets(on)),
        np.asarray(TopN(n=50, cover=1.0).targets(off)),
    )
    assert np.array_equal(t_off[stores], np.maximum(np.ceil(2.5 * f[stores] - 1e-9), 1))
    assert np.array_equal(t_on[stores], np.maximum(np.ceil(3.5 * f[stores] - 1e-9), 1))
    # the FDC: its own window [0, 1 + 13 h) (1 + 13/24 x 3 days) + its stores' next-review levels: max of [1, 2.5)
    # (3.5 days) and, for their pre-build, [2, 3.5) (1.5 days): 3.5, the same as without pre_build
    sup = np.asarray(on.supplier)
    for fdc in fdcs:
        mine = stores[sup[stores] == fdc]
        want = np.maximum(np.ceil((1 + 13 / 24 * PEAK) * f[fdc] - 1e-9), 1)
        want = want + np.maximum(np.ceil(3.5 * f[mine] - 1e-9), 1).sum(axis=0)
        assert np.array_equal(t_on[fdc], want) and np.array_equal(t_off[fdc], want)


def test_two_days_ahead_only_pre_build_moves_the_store() -> None:
    """Peak in 2 days: today's store window [0, 1.5) misses it (1.5 f); the next review's [1, 2.5) holds half of
    it: 1 + 1.5 = 2.5 f. Without pre_build the store waits for its own review tomorrow."""
    on, off = ctx(True, peak_in=2), ctx(False, peak_in=2)
    stores, _ = kinds(on)
    f = np.asarray(on.forecast, float)
    for policy in (TopN(n=50, cover=1.0), BaseStock(service=0.9)):
        t_on, t_off = np.asarray(policy.targets(on)), np.asarray(policy.targets(off))
        assert (t_on >= t_off).all(), policy.name
        assert t_on[stores].sum() > 1.4 * t_off[stores].sum(), policy.name
    t, t0 = np.asarray(TopN(n=50, cover=1.0).targets(on)), np.asarray(TopN(n=50, cover=1.0).targets(off))
    assert np.array_equal(t[stores], np.maximum(np.ceil(2.5 * f[stores] - 1e-9), 1))
    # their FDC holds the stores' pre-build of tomorrow's review: [2, 3.5) = 3 + 0.5 days instead of [1, 2.5) = 2.5
    _, fdcs = kinds(on)
    sup = np.asarray(on.supplier)
    for fdc in fdcs:
        mine = stores[sup[stores] == fdc]
        extra = np.maximum(np.ceil(3.5 * f[mine] - 1e-9), 1) - np.maximum(np.ceil(2.5 * f[mine] - 1e-9), 1)
        assert np.array_equal(t[fdc] - t0[fdc], extra.sum(axis=0))


def test_flat_forecast_and_switches_change_nothing() -> None:
    """No peak within reach: the next review's levels equal today's, so pre_build is a no-op; without the cover
    window (or a look-ahead forecast) pre_build is ignored."""
    for policy in (TopN(n=50, cover=1.0), BaseStock(service=0.9)):
        assert np.array_equal(
            np.asarray(policy.targets(ctx(True, peak_in=9))),
            np.asarray(policy.targets(ctx(False, peak_in=9))),
        )
        assert np.array_equal(
            np.asarray(policy.targets(ctx(True, window=False))),
            np.asarray(policy.targets(ctx(False, window=False))),
        )
        blind = dataclasses.replace(ctx(True), forecast_ahead=None)
        assert np.array_equal(
            np.asarray(policy.targets(blind)), np.asarray(policy.targets(ctx(False, window=False)))
        )


def test_shelf_volume_caps_the_pre_build() -> None:
    """A store whose volume holds only today's levels cannot pre-build: its targets stay within its volume."""
    off = ctx(False)
    stores, _ = kinds(off)
    t_off = np.asarray(TopN(n=50, cover=1.0).targets(off))
    vol_l = np.asarray(off.volume_l)
    need_m3 = float((t_off[stores] * vol_l).sum(axis=1).max()) / 1000.0
    on = ctx(True, store_volume_m3=need_m3 * 1.001)
    t_on = np.asarray(TopN(n=50, cover=1.0).targets(on))
    held = (t_on[stores] * vol_l).sum(axis=1) / 1000.0
    assert (held <= need_m3 * 1.001 + 1e-9).all()
    assert t_on[stores].sum() < 1.2 * t_off[stores].sum()  # uncapped it would be 3.5 / 2.5 = 1.4x
    assert pytest.approx(held.max(), rel=0.05) == need_m3
