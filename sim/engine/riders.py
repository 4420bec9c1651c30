"""A rider's whole trip as pure array functions (the near tier's riders; used by ``store.StoreOps``).

A trip of a batch, per store row (all times in seconds):

* **call** ``c = max(first ready, rider free)``: the batch's rider is called when its first order is
  ready and a rider is free;
* **reach** the store: ``return_to: store`` (the engine before issue #13) keeps riders at the store
  between trips (reach 0); ``pool`` frees a rider at its last door and draws its reach time from the
  idle pool around the store (gamma, mean ``rider_reach_s``, CV ``trip.reach_cv``);
* **pickup**: leave at ``max(batching start, c + reach) + pickup_trip + pickup_order x orders``;
* **legs**: stops in order of distance from the store; leg k takes ``km_k / v(hour of departure) x
  day factor x noise_k`` (noise lognormal, mean 1, CV ``trip.travel_cv``; the speed profile and the day
  factor come from :func:`speed_by_hour` and :func:`day_factors`);
* **handover** at each door: door k is reached at ``depart + sum of legs <= k + k x handover`` and the
  order is delivered when its handover ends (one more ``handover``);
* **return**: in ``store`` mode the rider rides back (last stop's km, the last order's noise) and is
  free at the store; in ``pool`` mode it is free at the last door.

Common random numbers: a leg's noise is drawn **per order with the demand**, from stream
``riders.trip/<date>/<city>`` (three uniforms per order: its own leg in, the return leg when it is the
trip's last stop, the reach when it opens the batch). An order keeps its draws whichever policy or
router serves it and whichever batch it lands in, and a store keeps the day factor of ``riders.day/...``;
per-(store, trip-index) streams would not, since a different policy makes a different number of trips
before any given one. The dispatcher plans with expected times (no noise, mean reach); the noise only
moves the realised times, which is what makes an ETA miss possible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from scipy.special import gammaincinv, ndtri

if TYPE_CHECKING:
    from sim.io.scenario.models import Scenario
    from sim.rng import RandomStreams

LEGACY_PEAK_HOURS = (11, 12, 17, 18, 19, 20)  # the engine's fixed peak hours before issue #13
N_U = 3  # trip uniforms per order: leg in, return leg, reach
U_LEG, U_RET, U_REACH = 0, 1, 2


@dataclass(frozen=True)
class TripParams:
    """The trip mechanism of every store (rows = stores); None in ``StoreOps`` when all of it is off."""

    pool: bool  # riders wait in a pool around the store (reach time) instead of at the store
    reach_s: np.ndarray  # (stores,) mean reach time from the pool
    reach_cv: float
    pickup_trip_s: np.ndarray  # (stores,)
    pickup_order_s: np.ndarray  # (stores,)
    handover_s: np.ndarray  # (stores,) per door
    travel_cv: float  # per-leg lognormal noise
    speed_hour: np.ndarray  # (24,) km/h
    day_factor: np.ndarray | None  # (days, stores) travel-time multiplier, None when off

    @classmethod
    def from_scenario(
        cls,
        sc: Scenario,
        caps: list[Any],
        streams: RandomStreams,
        n_days: int,
        store_city: np.ndarray,
        city_names: list[str],
    ) -> TripParams | None:
        """The scenario's trip mechanism for stores with capacity sections `caps`; None when all is off."""
        tr = sc.nodes.stores.trip
        c0 = sc.nodes.stores.capacity
        arr = {
            f: np.array([float(getattr(c, f)) for c in caps])
            for f in ("rider_reach_s", "rider_pickup_trip_s", "rider_pickup_order_s", "rider_handover_s")
        }
        off = (
            tr.return_to == "store"
            and tr.travel_cv == 0
            and tr.day_cv == 0
            and tr.speed_profile == "legacy"
            and not any(a.any() for k, a in arr.items() if k != "rider_reach_s")
        )
        if off:
            return None
        speed = speed_by_hour(
            tr.speed_profile, c0.rider_speed_kmh, c0.rider_peak_speed_kmh, sc.demand.intraday
        )
        dayf = (
            day_factors(streams, sc.horizon.start_date, n_days, store_city, city_names, tr.day_cv)
            if tr.day_cv > 0
            else None
        )
        return cls(
            tr.return_to == "pool",
            arr["rider_reach_s"],
            float(tr.reach_cv),
            arr["rider_pickup_trip_s"],
            arr["rider_pickup_order_s"],
            arr["rider_handover_s"],
            float(tr.travel_cv),
            speed,
            dayf,
        )


def lognormal_factor(u: np.ndarray, cv: float) -> np.ndarray:
    """Lognormal multipliers with mean 1 and coefficient of variation `cv` from uniforms `u`."""
    if cv <= 0:
        return np.ones_like(np.asarray(u, float))
    s2 = np.log1p(cv * cv)
    return cast(np.ndarray, np.exp(np.sqrt(s2) * ndtri(np.clip(u, 1e-12, 1 - 1e-12)) - s2 / 2.0))


def gamma_times(mean_s: np.ndarray, cv: float, u: np.ndarray) -> np.ndarray:
    """Gamma times with means `mean_s` and CV `cv` from uniforms `u` (cv 0: the means)."""
    mean = np.asarray(mean_s, float)
    if cv <= 0:
        return np.broadcast_to(mean, np.shape(u)).astype(float)
    k = 1.0 / cv**2
    return cast(np.ndarray, mean * gammaincinv(k, np.clip(u, 1e-12, 1 - 1e-12)) / k)


def speed_by_hour(
    profile: Any, speed_kmh: float, peak_speed_kmh: float, intraday: tuple[float, ...]
) -> np.ndarray:
    """(24,) rider speed per hour of day: ``legacy`` = peak speed in the fixed hours 11-12 and 17-20;
    ``intraday`` = linear in the scenario's own demand weights, typical speed at the quietest hour and
    peak speed at the busiest; or 24 explicit km/h."""
    if isinstance(profile, str) and profile == "legacy":
        return np.where(np.isin(np.arange(24), LEGACY_PEAK_HOURS), peak_speed_kmh, speed_kmh).astype(float)
    if isinstance(profile, str) and profile == "intraday":
        w = np.asarray(intraday, float)
        span = w.max() - w.min()
        x = (w - w.min()) / span if span > 0 else np.zeros(24)
        return speed_kmh - (speed_kmh - peak_speed_kmh) * x
    return np.asarray(profile, float)


def day_factors(
    streams: RandomStreams,
    start_date: dt.date,
    n_days: int,
    store_city: np.ndarray,
    city_names: list[str],
    cv: float,
) -> np.ndarray:
    """(n_days, n_stores) travel-time multiplier per day and store: lognormal, mean 1, CV `cv`, one draw
    per (day, city) from stream ``riders.day/<date>/<city>`` (rain, a promotion day's traffic)."""
    out = np.ones((n_days, store_city.size))
    if cv <= 0:
        return out
    for d in range(n_days):
        date = (start_date + dt.timedelta(days=d)).isoformat()
        for c, name in enumerate(city_names):
            u = streams.get(f"riders.day/{date}/{name}").random()
            out[d, store_city == c] = float(lognormal_factor(np.array([u]), cv)[0])
    return out


def trip_uniforms(
    streams: RandomStreams, date: dt.date, city: np.ndarray, city_names: list[str]
) -> np.ndarray:
    """(n, N_U) uniforms of a day's orders (given their city), one stream per (date, city)."""
    out = np.empty((city.size, N_U))
    for c, name in enumerate(city_names):
        m = city == c
        if m.any():
            out[m] = streams.get(f"riders.trip/{date.isoformat()}/{name}").random((int(m.sum()), N_U))
    return out


def door_times(
    depart: np.ndarray,
    ride_s: np.ndarray,
    valid: np.ndarray,
    handover_s: np.ndarray,
    done: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Door arrival and delivery per stop (stops sorted along the route; rows = trips).

    `ride_s` is the cumulative riding time to each stop, `handover_s` (rows,) the handover per stop.
    With no handover both equal ``depart + ride_s`` exactly (the engine before issue #13). `done`: the
    handovers done before each stop (``cumsum(valid) - 1``) when already known."""
    h = handover_s[:, None]
    door = depart[:, None] + ride_s
    if not h.any():
        return door, door
    k = valid.cumsum(axis=1) - 1 if done is None else done  # handovers already done before reaching stop k
    door = door + k * h
    return door, door + h


def quoted_eta(created: np.ndarray, eta: np.ndarray, near: Any) -> np.ndarray:
    """The near deadline of options created at `created` with estimated delivery `eta` (tiers.near):
    ``promise`` mode creation + promise_min; ``eta`` mode the estimate + buffer rounded up to the minute,
    at most creation + max_quote_min."""
    if near.quote == "promise":
        return cast(np.ndarray, created + near.promise_min * 60.0)
    quote = np.ceil((eta - created) / 60.0 + near.quote_buffer_min) * 60.0
    return cast(np.ndarray, created + np.minimum(quote, near.max_quote_min * 60.0))
