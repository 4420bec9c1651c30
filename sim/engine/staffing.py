"""Riders by the hour (issue #13): how many of a store's riders are on shift in each hour of the run.

Model. Each store has its own pool of crowd-sourced riders (the ones working around it), or with
``staffing.pool: city`` the stores of a city share one (``sim.engine.rider_pool``: rows below are pools). ``nodes.stores.staffing`` gives
the share of the store's ``capacity.riders`` on shift in each hour of the day and a multiplier per
date (promotion days: ``promotion_multiplier`` on every ``demand.promotions`` date, or an explicit
``day_multiplier`` per date); riders on shift in hour h of day d are
``round(riders x by_hour[h] x multiplier(d))``, and nobody in an hour the store is closed. Riders are numbered: rider j works in the hours
where the count exceeds j (lower numbers work the longer shifts). A rider free at time x (its last
trip done) takes its next call at the first instant >= x of an hour it is on shift; a trip that
runs past the end of a shift is finished. ``on_next`` turns this into one lookup per rider.

A ``profile`` table (``sim/io/staffing_profile.py``, e.g. written by ``shangou staff``) gives the riders
on shift per store and hour of day directly, times the same day multiplier (issue #18).

Reporting: rider-hours on shift per store and hour (utilisation's denominator, ``fleet`` pay),
rider-days (riders with at least one hour on shift that day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sim.engine.rider_pool import pool_open, store_available
from sim.units import HOUR, floor_div

if TYPE_CHECKING:
    from sim.io.scenario.models import Scenario


@dataclass(frozen=True)
class Shifts:
    """Riders on shift per (store, hour of the run) and the lookup of each rider's next hour on shift."""

    count: np.ndarray  # (stores, hours) riders on shift
    on_next: (
        np.ndarray
    )  # (stores, riders, hours + 1) int32: first hour >= H rider j is on shift (huge: never)
    # (stores, hours + 1, riders): the start (s) of rider j's first hour on shift >= H, inf when never; a rider
    # free at x in hour H takes a call at max(x, start[H]) (x itself when on shift in H: start[H] = H x HOUR <= x)
    start_s: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nxt = self.on_next.transpose(0, 2, 1)
        start = np.where(nxt >= self.n_hours, np.inf, nxt * HOUR)
        object.__setattr__(self, "start_s", np.ascontiguousarray(start))

    @property
    def n_hours(self) -> int:
        return int(self.count.shape[1])

    def hour_of(self, x: np.ndarray) -> np.ndarray:
        """Hour of the run of times `x` (>= 0; inf and past the end: the end sentinel ``n_hours``)."""
        x = np.asarray(x, float)
        h = np.minimum(floor_div(np.where(np.isfinite(x), x, 0.0), HOUR), self.n_hours)
        return cast(np.ndarray, h.astype(np.int64))

    def available(self, free: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Earliest time each rider of stores `rows` can take a call: `free` (len(rows), riders) moved to the
        start of its next hour on shift when it falls in an hour off shift (inf: never again)."""
        return self.available_of(free, np.asarray(rows, np.int64)[:, None], np.arange(free.shape[1]))

    def available_of(self, free: np.ndarray, rows: np.ndarray, riders: np.ndarray) -> np.ndarray:
        """``available`` element by element: rider `riders` of store `rows` free at `free` (broadcast)."""
        _, H1, R = self.start_s.shape  # one flat gather: start_s[rows, H, j]
        flat = (np.asarray(rows, np.int64) * H1 + self.hour_of(free)) * R + riders
        return cast(np.ndarray, np.maximum(free, self.start_s.reshape(-1)[flat]))

    def available_at(self, at: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``available`` of every rider of stores `rows` (riders) for a call at `at` (len(rows),), whenever
        each rider was free before: (len(rows), riders) (monotone: available(max(free, at)) is the max of
        ``available(free)`` and this)."""
        at = np.asarray(at, float)
        return cast(
            np.ndarray, np.maximum(at[:, None], self.start_s[np.asarray(rows, np.int64), self.hour_of(at)])
        )

    def available_all_at(self, at: float) -> np.ndarray:
        """``available_at`` of every store at one time `at`: (stores, riders)."""
        x = float(at)  # hour_of for one time: float // is numpy's floor division (the same algorithm)
        h = int(min(x // HOUR, self.n_hours)) if np.isfinite(x) else 0
        return cast(np.ndarray, np.maximum(at, self.start_s[:, h, :]))


def riders_on_shift(base: np.ndarray, by_hour: np.ndarray, day_mult: np.ndarray) -> np.ndarray:
    """(stores, days x 24) riders on shift: round(base x by_hour[h] x day_mult[d])."""
    x = base[:, None, None] * day_mult[None, :, None] * by_hour[None, None, :]
    return cast(np.ndarray, np.rint(x).astype(np.int64).reshape(base.size, -1))


def next_on_shift(count: np.ndarray, n_riders: int) -> np.ndarray:
    """(stores, riders, hours + 1): for each hour H the first hour >= H in which rider j is on shift
    (count > j), ``hours`` (past the end) when none; the last column is the end sentinel."""
    S, Hn = count.shape
    out = np.full((S, n_riders, Hn + 1), Hn, np.int32)
    j = np.arange(n_riders)[None, :]
    for h in range(Hn - 1, -1, -1):
        on = count[:, h][:, None] > j
        out[:, :, h] = np.where(on, h, out[:, :, h + 1])
    return out


def day_multipliers(staffing: Any, promotions: tuple[Any, ...], start: dt.date, n_days: int) -> np.ndarray:
    """(days,) staffing multiplier per day of the run: ``day_multiplier`` by date, else
    ``promotion_multiplier`` on promotion dates, else 1."""
    promo = {p.date for p in promotions}
    out = np.ones(n_days)
    for d in range(n_days):
        date = start + dt.timedelta(days=d)
        if date in staffing.day_multiplier:
            out[d] = staffing.day_multiplier[date]
        elif date in promo:
            out[d] = staffing.promotion_multiplier
    return out


def profile_on_shift(table: np.ndarray, fallback: np.ndarray, day_mult: np.ndarray) -> np.ndarray:
    """(stores, days x 24) riders on shift from a per-store, per-hour `table` (NaN rows: use `fallback`, the
    group's riders x by_hour): round(table[s, h] x day_mult[d])."""
    per = np.where(np.isfinite(table), table, fallback)
    out: np.ndarray = (
        np.rint(per[:, None, :] * day_mult[None, :, None]).astype(np.int64).reshape(per.shape[0], -1)
    )
    return out


def build_shifts(
    sc: Scenario,
    riders: np.ndarray,
    n_days: int,
    hours: tuple[np.ndarray, np.ndarray],
    ids: list[str] | None = None,
    pool_of: np.ndarray | None = None,
) -> Shifts | None:
    """The scenario's shifts for stores with `riders` each and service `hours` (open, close seconds of day):
    nobody is on shift in an hour the store is closed all through. None when staffing is off. With a
    ``profile`` table (store `ids` name its rows), the stores it lists take their riders per hour from it.
    With `pool_of` (stores,), `riders` are per shared pool (``sim.engine.rider_pool``) and a pool is on shift
    while any of its stores is open; a per-store profile is refused with a shared pool."""
    if pool_of is not None and sc.nodes.stores.staffing.profile is not None:
        raise ValueError("nodes.stores.staffing.profile: per-store riders cannot be used with pool: city")
    st = sc.nodes.stores.staffing
    if st.by_hour is None and st.profile is None:
        return None
    mult = day_multipliers(st, sc.demand.promotions, sc.horizon.start_date, n_days)
    if st.profile is not None:
        from pathlib import Path

        from sim.io.staffing_profile import read_profile

        share = np.asarray(st.by_hour if st.by_hour is not None else [1.0] * 24, float)
        table = read_profile(Path(st.profile), list(ids or []))
        count = profile_on_shift(table, np.asarray(riders, float)[:, None] * share[None, :], mult)
    else:
        count = riders_on_shift(np.asarray(riders, float), np.asarray(st.by_hour, float), mult)
    h = np.arange(24) * HOUR
    open_h = pool_open((h[None, :] + HOUR > hours[0][:, None]) & (h[None, :] < hours[1][:, None]), pool_of)
    count = count * np.tile(open_h, (1, n_days))
    n = max(int(count.max(initial=0)), 1)
    return Shifts(count, next_on_shift(count, n))


def rider_report(
    ops: Any,
    warmup: int,
    days: int,
    near_open: np.ndarray,
    near_close: np.ndarray,
    pay: Any,
    day_costs: dict[str, np.ndarray],
) -> dict[str, Any]:
    """Riders over the measured days: available seconds per store (on shift; a constant fleet counts its
    riders over the near service hours, as before), rider-hours and rider-days on shift, busy share per
    hour of day. In ``fleet`` pay with shifts, the shift hours not accounted for by trips are booked per
    day as ``rider_idle`` in `day_costs`."""
    n_stores = ops.rider_free.shape[0]  # rider pools: the stores' own, or shared (sim.engine.rider_pool)
    n_days_all = ops.busy_hour.size // 24
    if ops.shifts is not None:
        count = ops.shifts.count[:, : n_days_all * 24].astype(float)
    else:
        riders = np.isfinite(ops.rider_free).sum(axis=1).astype(float)
        hour = np.arange(24)[None, :] * HOUR  # a constant fleet is counted over each store's service hours
        open_h = (
            np.clip(
                np.minimum(hour + HOUR, near_close[:, None]) - np.maximum(hour, near_open[:, None]), 0.0, HOUR
            )
            / HOUR
        )
        if ops.shared:  # a pool's riders work while any of its stores is open
            by_pool = np.zeros((n_stores, 24))
            np.maximum.at(by_pool, ops.pool_of, open_h)
            open_h = by_pool
        count = np.tile(riders[:, None] * open_h, (1, n_days_all))
    H0, H1 = warmup * 24, (warmup + days) * 24
    meas = count[:, H0:H1]
    by_day = meas.reshape(n_stores, days, 24)
    on_shift = by_day.sum(axis=(0, 1))
    busy = ops.busy_hour[H0:H1].reshape(days, 24).sum(axis=0) / HOUR
    if ops.pay_day is not None:
        shift_pay = pay.per_hour_cny * count.reshape(n_stores, n_days_all, 24).sum(axis=(0, 2))
        day_costs["rider_idle"] = np.zeros_like(day_costs["fixed"])
        k = min(shift_pay.size, day_costs["fixed"].size)
        day_costs["rider_idle"][:k] = shift_pay[:k] - ops.pay_day[:k]
    available = meas.sum(axis=1) * HOUR
    if ops.shared:
        available = store_available(available, ops.pool_of, ops.rider_busy)
    return {
        "available_s": available,
        "rider_hours": float(meas.sum()),
        "rider_days": float(np.ceil(by_day.max(axis=2)).sum()),
        "busy_hours": float(busy.sum()),
        "on_shift_by_hour": [float(x) for x in on_shift],
        "utilisation_by_hour": [float(b / a) if a > 0 else None for b, a in zip(busy, on_shift, strict=True)],
    }
