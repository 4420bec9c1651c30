"""The demand rate model: how many orders a city expects on a date and at what time of day.

Expected orders for (date, city) = ``demand.orders_per_day`` × the city's demand share (the sum of
its zones' weights in the network) × weekly[weekday] / mean(weekly) × the promotion factor.
A promotion multiplies its date by ``multiplier``, each of the ``pre_days`` before it by
``pre_multiplier`` and each of the ``post_days`` after it by ``post_multiplier``; overlapping
promotions multiply. Within a day the rate is piecewise constant per hour, proportional to
``demand.intraday``. Day index d is the date ``horizon.start_date + d`` (warm-up days first), and
time t (seconds from the simulation start) falls on day floor(t / 86400).

This is the *expected* rate: the gamma day × city noise and the Poisson draws live in
``generate.py``. The oracle forecast and the ``shangou demand`` summary read it too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import units

HOURS = 24


def weekday_factor(demand: Any, date: dt.date) -> float:
    """weekly[weekday] normalised so the seven weights average 1 (Monday = index 0)."""
    w = np.asarray(demand.weekly, dtype=float)
    return float(w[date.weekday()] / w.mean())


def promotion_factor(demand: Any, date: dt.date) -> float:
    """Product of every promotion's multiplier that applies to `date` (1 when none does)."""
    f = 1.0
    for p in demand.promotions:
        delta = (date - p.date).days
        if delta == 0:
            f *= p.multiplier
        elif -p.pre_days <= delta < 0:
            f *= p.pre_multiplier
        elif 0 < delta <= p.post_days:
            f *= p.post_multiplier
    return f


def day_factor(demand: Any, date: dt.date) -> float:
    """Weekday factor × promotion factor: the date's volume relative to an average plain day."""
    return weekday_factor(demand, date) * promotion_factor(demand, date)


def intraday_shares(demand: Any) -> np.ndarray:
    """(24,) share of a day's orders arriving in each hour (sums to 1)."""
    w = np.asarray(demand.intraday, dtype=float)
    return w / w.sum()


def city_shares(network: Any) -> np.ndarray:
    """(C,) each city's share of total demand: the sum of its zones' weights."""
    return np.bincount(network.zone_city, weights=network.zone_weight, minlength=len(network.city_names))


@dataclass(frozen=True)
class DemandProfile:
    """Expected demand of a scenario on a network: daily totals per city and the intraday rate."""

    start_date: dt.date
    orders_per_day: float
    city_share: np.ndarray  # (C,)
    hour_share: np.ndarray  # (24,)
    demand: Any  # the scenario's demand section (weekly weights, promotions)

    @classmethod
    def of(cls, sc: Any, network: Any) -> DemandProfile:
        """The profile of a resolved scenario on its built network."""
        return cls(
            start_date=sc.horizon.start_date,
            orders_per_day=float(sc.demand.orders_per_day),
            city_share=city_shares(network),
            hour_share=intraday_shares(sc.demand),
            demand=sc.demand,
        )

    @property
    def n_cities(self) -> int:
        return len(self.city_share)

    def date(self, day_index: int) -> dt.date:
        """Calendar date of day `day_index` (0 = the first warm-up day)."""
        return self.start_date + dt.timedelta(days=int(day_index))

    def daily_expected(self, day_index: int) -> np.ndarray:
        """(C,) expected orders per city on the day (before the gamma day noise)."""
        return self.orders_per_day * self.city_share * day_factor(self.demand, self.date(day_index))

    def hourly_expected(self, day_index: int) -> np.ndarray:
        """(C, 24) expected orders per city and hour of the day."""
        return self.daily_expected(day_index)[:, None] * self.hour_share[None, :]

    def rate(self, t: np.ndarray | float) -> np.ndarray:
        """Arrival rate per second at times `t` (seconds from the start): shape t.shape + (C,)."""
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ValueError("times must be >= 0 (seconds from the simulation start)")
        day = np.floor(t / units.DAY).astype(np.int64)
        hour = np.minimum(((t - day * units.DAY) // units.HOUR).astype(np.int64), HOURS - 1)
        daily = self._daily_table(int(day.max(initial=0)) + 1)
        return daily[day] * (self.hour_share[hour] / units.HOUR)[..., None]

    def cumulative(self, t: np.ndarray | float) -> np.ndarray:
        """Expected orders in [0, t) per city (the integral of `rate`): shape t.shape + (C,)."""
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ValueError("times must be >= 0 (seconds from the simulation start)")
        day = np.floor(t / units.DAY).astype(np.int64)
        daily = self._daily_table(int(day.max(initial=0)) + 1)
        before = np.vstack([np.zeros((1, self.n_cities)), np.cumsum(daily, axis=0)])
        s = t - day * units.DAY
        hour = np.minimum((s // units.HOUR).astype(np.int64), HOURS - 1)
        cum_hour = np.concatenate([[0.0], np.cumsum(self.hour_share)])
        within = cum_hour[hour] + (s - hour * units.HOUR) / units.HOUR * self.hour_share[hour]
        return before[day] + daily[day] * within[..., None]

    def expected(self, t0: float, t1: float) -> np.ndarray:
        """(C,) expected orders per city arriving in the window [t0, t1) (seconds from the start)."""
        if not 0 <= t0 <= t1:
            raise ValueError(f"need 0 <= t0 <= t1, got t0={t0}, t1={t1}")
        c = self.cumulative(np.array([t0, t1]))
        return np.asarray(c[1] - c[0])

    def _daily_table(self, n_days: int) -> np.ndarray:
        return np.array([self.daily_expected(d) for d in range(n_days)]).reshape(n_days, self.n_cities)
