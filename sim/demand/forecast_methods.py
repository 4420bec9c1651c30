"""Rolling forecast methods on node x SKU x day demand: moving average and exponential smoothing
with day-of-week seasonality (optionally promotion-aware).

Every method sees observations through ``observe(day, x)`` and answers ``predict(day)`` from the
observations of days < day only — whatever order the calls come in: observations of day >= d are
held back (moving average: left out of the window; smoothing: queued, and absorbed only when a
later day is predicted). So "day d uses data up to d - 1" holds by construction, not by the
caller's discipline.

Cold start: the forecaster first feeds the days *before* the run (``Forecaster.warm_up``), so
these methods normally start from data. Only a day with no data at all falls back on a *prior*,
the expected units of a plain day from the scenario's own parameters: the moving average counts
window days without an observation as prior days; smoothing answers the prior until its first
observation, which then initialises the level (seasonal indices start at 1).

Seasonality is multiplicative by weekday and estimated per node on the node's total units:
SKU-level weekday indices from counts near one would be noise. The seasonal smoothing constant is
the same ``alpha`` as the level's (one knob; each weekday index is updated once a week). The
promotion-aware variant divides each observed day by the known promotions' factor for its date
(``known_to_forecast``; pre- and post-event days included) before smoothing, and multiplies the
forecast by the factor of the forecast date, so Double 11 neither pollutes the baseline nor
surprises it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

import numpy as np


class RollingMethod(Protocol):
    """A forecaster that learns from realised demand, one day at a time."""

    def observe(self, day: int, x: np.ndarray) -> None: ...

    def predict(self, day: int) -> np.ndarray: ...


def _sparse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(x)
    return idx, x.ravel()[idx]


class MovingAverage:
    """Mean of the last `window` days' realised units (days d - window .. d - 1).

    Observations are kept sparse (flat index, units), so the memory is one dense (N, S) sum plus
    the non-zero cells of the days in the window.
    """

    def __init__(self, prior: np.ndarray, window: int) -> None:
        if window < 1:
            raise ValueError(f"forecast.window_days must be >= 1, got {window}")
        self.prior = prior
        self.window = int(window)
        self.days: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.total = np.zeros(prior.size)  # sum over the days currently in `days`
        self.floor = -(2**62)  # days below it were evicted; predicting before floor + window is refused

    def observe(self, day: int, x: np.ndarray) -> None:
        if day in self.days:
            raise ValueError(f"day {day} observed twice")
        if day < self.floor:
            raise ValueError(f"day {day} arrives after the window moved past it")
        idx, val = _sparse(x)
        self.days[day] = (idx, val)
        self._add(idx, val, 1.0)

    def _add(self, idx: np.ndarray, val: np.ndarray, sign: float) -> None:
        self.total[idx] += sign * val  # idx are unique within a day

    def predict(self, day: int) -> np.ndarray:
        lo = day - self.window
        if lo < self.floor:
            raise ValueError(f"forecast for day {day} asked after the window moved past day {lo}")
        for d in [d for d in self.days if d < lo]:  # evict: never needed again for later days
            self._add(*self.days.pop(d), -1.0)
        self.floor = lo
        future = [d for d in self.days if d >= day]
        total = self.total.copy()
        for d in future:  # observed already, but not usable for `day`
            idx, val = self.days[d]
            total[idx] -= val
        n_obs = len(self.days) - len(future)
        out = (total.reshape(self.prior.shape) + (self.window - n_obs) * self.prior) / self.window
        return np.maximum(out, 0.0)  # round-off of the running sum never makes a negative rate


class ExpSmoothing:
    """Multiplicative Holt-Winters without trend: level per node x SKU, weekday index per node.

    level <- alpha * x / season[dow] + (1 - alpha) * level (the first observation sets it);
    season[n, dow] <- alpha * X_n / L_n + (1 - alpha) * season[n, dow], renormalised to mean 1,
    with X_n, L_n the node's total observed units and total level. Forecast = level x season[dow].
    `factor(date)` (promotion-aware) deflates observations and inflates forecasts.
    """

    def __init__(
        self,
        prior: np.ndarray,
        alpha: float,
        date_of: Callable[[int], dt.date],
        factor: Callable[[dt.date], float] | None = None,
    ) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"forecast.alpha must be in (0, 1], got {alpha}")
        self.prior = prior
        self.level: np.ndarray | None = None  # set by the first observation
        self.season = np.ones((prior.shape[0], 7))
        self.alpha = float(alpha)
        self.date_of = date_of
        self.factor = factor or (lambda _d: 1.0)
        self.queue: dict[int, np.ndarray] = {}
        self.last = -(2**62)  # last day absorbed into the state

    def observe(self, day: int, x: np.ndarray) -> None:
        if day in self.queue or day <= self.last:
            raise ValueError(f"day {day} observed twice or after later days were absorbed")
        self.queue[day] = x.astype(float, copy=True)

    def _absorb(self, day: int, x: np.ndarray) -> None:
        date = self.date_of(day)
        dow = date.weekday()
        x = x / self.factor(date)
        s = self.season[:, dow]
        a = self.alpha
        if self.level is None:
            self.level = x / s[:, None]
            self.last = day
            return
        self.level = a * x / s[:, None] + (1.0 - a) * self.level
        tot_x, tot_l = x.sum(axis=1), self.level.sum(axis=1)
        ok = tot_l > 0
        self.season[ok, dow] = a * tot_x[ok] / tot_l[ok] + (1.0 - a) * s[ok]
        self.season[ok] /= self.season[ok].mean(axis=1, keepdims=True)
        self.last = day

    def predict(self, day: int) -> np.ndarray:
        if day <= self.last:
            raise ValueError(f"forecast for day {day} asked after day {self.last}'s data was absorbed")
        for d in sorted(d for d in self.queue if d < day):
            self._absorb(d, self.queue.pop(d))
        date = self.date_of(day)
        level = self.prior if self.level is None else self.level
        return level * self.season[:, date.weekday(), None] * self.factor(date)
