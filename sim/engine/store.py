"""Store operations (near tier) as array recurrences: c pickers FIFO, then riders with batching.

Pickers: each store is a c-server FIFO queue; an order assigned at time t starts picking at
max(t, the earliest free picker). Orders of one epoch are processed rank by rank (the r-th order of
every store at once), so the work is vectorised across stores and the Python loop runs over ranks
only (a handful per epoch).

Riders (``trip`` None: the engine before issue #13; else the whole trip of ``sim.engine.riders``):
a ready order joins the store's open batch if the batch is not full, the order is ready
before the batch's planned departure, and after joining every order in it is still on time; a
batch departs when full, or at ``min(first ready + max_hold_s, the latest on-time departure)``,
but never before a rider is free. A trip visits the stops in order of distance from the store and
returns; delivery times follow the legs at the rider speed (peak speed in the peak hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from scipy.special import gammaincinv

from sim.engine.rider_pool import pool_rounds, pooled
from sim.engine.riders import (
    LEGACY_PEAK_HOURS,
    N_U,
    U_LEG,
    U_REACH,
    U_RET,
    TripParams,
    door_times,
    gamma_times,
    lognormal_factor,
)
from sim.engine.staffing import Shifts
from sim.units import DAY, HOUR, floor_div, haversine_km

if TYPE_CHECKING:
    from sim.io.scenario.models import Scenario
    from sim.network.build import Network

_PEAK = np.isin(np.arange(24), LEGACY_PEAK_HOURS)  # with the trip mechanism off; else trip.speed_hour


def service_times(mean_s: np.ndarray, cv: float, u: np.ndarray) -> np.ndarray:
    """Gamma service times with the given means and CV from uniforms `u` (cv = 1: exponential)."""
    if cv <= 0:
        return np.asarray(mean_s, float).copy()
    shape = 1.0 / cv**2
    return cast(np.ndarray, np.asarray(mean_s) * gammaincinv(shape, np.clip(u, 1e-12, 1 - 1e-12)) / shape)


@dataclass
class Delivered:
    """Orders whose batch departed: order refs, delivery times and rider cost per order."""

    ref: np.ndarray
    delivered_s: np.ndarray
    cost: np.ndarray
    trips: int


@dataclass(frozen=True)
class StoreRules:
    """The picking and rider rules every store follows: one set per scenario (``nodes.stores.capacity``,
    ``geography.circuity``, ``costs.riders``; per-site values of these are refused by validation)."""

    pick_cv: float
    speed_kmh: float
    peak_speed_kmh: float
    max_batch: int
    max_hold_s: float
    circuity: float
    rider_model: str
    base_per_trip: float
    per_km: float
    per_hour: float

    @classmethod
    def from_scenario(cls, sc: Scenario) -> StoreRules:
        c, r = sc.nodes.stores.capacity, sc.costs.riders
        return cls(
            pick_cv=c.pick_cv,
            speed_kmh=c.rider_speed_kmh,
            peak_speed_kmh=c.rider_peak_speed_kmh,
            max_batch=c.rider_max_batch,
            max_hold_s=c.rider_max_hold_s,
            circuity=sc.geography.circuity,
            rider_model=r.model,
            base_per_trip=r.base_per_trip_cny,
            per_km=r.per_km_cny,
            per_hour=r.per_hour_cny,
        )


class StoreOps:
    """Picker and rider state of every store (rows = stores, in network order)."""

    @classmethod
    def from_scenario(
        cls,
        sc: Scenario,
        net: Network,
        stores: np.ndarray,
        trip: TripParams | None = None,
        shifts: Shifts | None = None,
        pool_of: np.ndarray | None = None,
    ) -> StoreOps:
        """The stores `stores` (node indices) of the scenario's network: their own pickers and riders;
        `trip` the riders' whole-trip mechanism (``sim.engine.riders``; None: off), `shifts` riders on
        shift by the hour (``sim.engine.staffing``; None: a constant fleet), `pool_of` each store's shared
        rider pool (``sim.engine.rider_pool``; None: its own)."""
        caps = [net.node_capacity[i] for i in stores]
        riders = pooled(np.array([c.riders for c in caps], np.int64), pool_of)
        return cls(
            np.array([c.pickers for c in caps], np.int64),
            riders,
            StoreRules.from_scenario(sc),
            net.zone_lat,
            net.zone_lon,
            trip=trip,
            shifts=shifts,
            pool_of=pool_of,
        )

    def __init__(
        self,
        pickers: np.ndarray,
        riders: np.ndarray,
        rules: StoreRules,
        zone_lat: np.ndarray,
        zone_lon: np.ndarray,
        trip: TripParams | None = None,
        shifts: Shifts | None = None,
        pool_of: np.ndarray | None = None,
    ) -> None:
        pick_cv, speed_kmh, peak_speed_kmh = rules.pick_cv, rules.speed_kmh, rules.peak_speed_kmh
        max_batch, max_hold_s, circuity = rules.max_batch, rules.max_hold_s, rules.circuity
        rider_model, base_per_trip, per_km, per_hour = (
            rules.rider_model,
            rules.base_per_trip,
            rules.per_km,
            rules.per_hour,
        )
        n = len(pickers)
        self.trip, self.shifts = trip, shifts
        # each store's rider pool (row of rider_free, shifts and `riders`): its own, or a pool shared by stores
        # (``sim.engine.rider_pool``)
        self.pool_of = np.arange(n) if pool_of is None else np.asarray(pool_of, np.int64)
        self.shared = pool_of is not None
        if shifts is not None:  # every rider who is ever on shift; sim.engine.staffing says when
            riders = np.maximum(shifts.count.max(axis=1, initial=0), 0)
        self.picker_free = np.full((n, int(pickers.max(initial=1))), np.inf)
        for s, c in enumerate(pickers):
            self.picker_free[s, :c] = 0.0
        self.rider_free = np.full((riders.size, int(riders.max(initial=1))), np.inf)
        for s, c in enumerate(riders):
            self.rider_free[s, :c] = 0.0
        # with shifts: when each rider, free at rider_free, can take a call (``Shifts.available``), kept in step
        # with rider_free by ``_set_free`` (write rider_free only through it)
        self._free_avail = (
            shifts.available(self.rider_free, np.arange(riders.size))
            if shifts is not None
            else self.rider_free
        )
        self.pick_cv, self.speed, self.peak_speed = pick_cv, speed_kmh, peak_speed_kmh
        self.max_batch, self.max_hold_s = int(max_batch), float(max_hold_s)
        self.zone_lat, self.zone_lon, self.circuity = zone_lat, zone_lon, circuity
        self.rider_model, self.base, self.per_km, self.per_hour = rider_model, base_per_trip, per_km, per_hour
        B = self.max_batch
        self.b_ref = np.full((n, B), -1, np.int64)
        self.b_ready = np.full((n, B), np.nan)
        self.b_km = np.full((n, B), np.nan)
        self.b_zone = np.zeros((n, B), np.int64)
        self.b_promise = np.full((n, B), np.nan)
        self.b_count = np.zeros(n, np.int64)
        self.b_u = np.full((n, B, N_U), 0.5) if trip is not None else np.empty((0, B, N_U))
        self.b_call = np.full(n, np.nan)  # assignment time of the open batch's first order (trip mechanism)
        # rider reporting (issue #13), with the trip or staffing mechanism on: busy seconds per hour of the
        # run, and fleet pay accounted for by trips per day (the rest of the shift pay is idle time)
        self.busy_hour: np.ndarray | None = None
        self.pay_day: np.ndarray | None = None
        self.picker_busy = np.zeros(n)
        self.rider_busy = np.zeros(n)
        self._out: list[Delivered] = []
        self._next: float | None = None  # cached next_departure()
        # cached planned departure of each store's open batch (``_planned``); it depends only on the batch
        # and the store's riders, so it is dropped when an order joins or the batch leaves
        self._plan = np.full(n, np.nan)
        self._plan_ok = np.zeros(n, bool)
        self._plan_start = np.full(
            n, np.nan
        )  # and its ``_start`` (the earliest pickup start), cached with it
        self._rows = np.arange(max(n, 1))[:, None]
        # cached ``_geometry`` of each store's open batch (row-wise: the same values whichever stores are asked);
        # it depends only on the batch's orders, so it is dropped when an order joins or the batch leaves
        self._geo: tuple[np.ndarray, ...] | None = None
        self._geo_ok = np.zeros(n, bool)

    def set_pickers(self, counts: np.ndarray, t: float) -> None:
        """Pickers on shift from `t` (a per-day surge, sim/engine/surge.py): picker j of store s works iff
        j < counts[s]; one who joins is free at t, one who leaves finishes the pick in hand and takes no more."""
        n, width = self.picker_free.shape
        need = int(np.max(counts, initial=1))
        if need > width:
            self.picker_free = np.hstack([self.picker_free, np.full((n, need - width), np.inf)])
        on = np.arange(self.picker_free.shape[1])[None, :] < np.asarray(counts)[:, None]
        was = np.isfinite(self.picker_free)
        self.picker_free = np.where(on, np.where(was, self.picker_free, t), np.inf)

    # ------------------------------------------------------------------ estimates for routing
    def earliest_picker(self) -> np.ndarray:
        return cast(np.ndarray, self.picker_free.min(axis=1))

    def _avail(self, s: np.ndarray | None = None, at: np.ndarray | float | None = None) -> np.ndarray:
        """When each rider (of stores `s`, default all) can take a call made at `at`: free, and on shift
        then (staffing); without staffing, the free times."""
        free = self.rider_free if s is None else self.rider_free[self.pool_of[s]]
        if self.shifts is None:
            return free
        # the shift move is monotone in the free time: available(max(free, at)) = max(available(free),
        # available_at(at)), the same floats; available(free) is kept per rider (``_free_avail``)
        fa = self._free_avail if s is None else self._free_avail[self.pool_of[s]]
        if at is None:
            return fa
        if s is None and np.ndim(at) == 0:
            return cast(np.ndarray, np.maximum(fa, self.shifts.available_all_at(float(cast(float, at)))))
        rows = np.arange(len(free)) if s is None else self.pool_of[s]
        if not (isinstance(at, np.ndarray) and at.shape == rows.shape):
            at = np.broadcast_to(at, rows.shape)
        return cast(np.ndarray, np.maximum(fa, self.shifts.available_at(at, rows)))

    def earliest_rider(self, at: float | None = None) -> np.ndarray:
        """(stores,) earliest time a rider of each store's pool can take a call made at `at` (staffing) or is free."""
        return cast(np.ndarray, self._avail(at=at).min(axis=1)[self.pool_of])

    def capacity(self, t: float, mean_pick_s: np.ndarray, horizon_s: float) -> np.ndarray:
        """Orders each store can start picking within `horizon_s` of t and hand to a rider leaving within it:
        picker slots, bounded by full batches for the riders free by then less the open batch's orders
        (closed batches already hold their rider until it is back)."""
        free = np.maximum(self.picker_free, t)
        slots = np.floor(np.maximum(t + horizon_s - free, 0.0) / mean_pick_s[:, None])
        slots[~np.isfinite(self.picker_free)] = 0
        riders = (self._avail(at=t) <= t + horizon_s).sum(axis=1) * self.max_batch
        # each store may use all of its pool's free riders, less the orders of the pool's open batches
        riders = (riders - np.bincount(self.pool_of, weights=self.b_count, minlength=riders.size))[
            self.pool_of
        ]
        return cast(np.ndarray, np.minimum(slots.sum(axis=1), np.maximum(riders, 0)).astype(np.int64))

    def speed_at(self, t: np.ndarray) -> np.ndarray:
        hour = floor_div(t, HOUR).astype(np.int64) % 24  # (t % DAY) // HOUR, exactly, for t >= 0
        if self.trip is not None:
            return cast(np.ndarray, self.trip.speed_hour[hour])
        return np.where(_PEAK[hour], self.peak_speed, self.speed)

    def open_batches(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows),) open batches waiting for a rider of the pool of each store of `rows` (each store's own
        pool: 0 or 1)."""
        pools = np.bincount(self.pool_of, weights=self.b_count > 0, minlength=self.rider_free.shape[0])
        out: np.ndarray = pools[self.pool_of[rows]].astype(np.int64)
        return out

    def queued_rider(self, t: float, rows: np.ndarray, ahead: np.ndarray, trip_s: np.ndarray) -> np.ndarray:
        """When a rider can take a call made at `t` for an order with `ahead` batches before it in the rider queue
        of stores `rows`: the (ahead + 1)-th earliest available rider; past the riders available, each round of
        calls adds one more trip of `trip_s` (the order's own expected trip; inf when no rider is ever on shift)."""
        a = np.sort(self._avail(at=t), axis=1)
        p = self.pool_of[rows]
        n = np.isfinite(a).sum(axis=1)[p]
        k = np.floor(ahead).astype(np.int64)
        nn = np.maximum(n, 1)
        out = a[p, k % nn] + (k // nn) * trip_s
        return np.where(n > 0, out, np.inf)

    def eta(
        self,
        t: float,
        ready: np.ndarray,
        rows: np.ndarray,
        km: np.ndarray,
        n_orders: float = 1.0,
        ahead: np.ndarray | None = None,
    ) -> np.ndarray:
        """Expected delivery of a single order assigned at `t`, ready at `ready` at stores `rows`, `km` away
        (routing's estimate; with the trip mechanism: reach, pickup, day factor and handover included).
        `ahead`: batches ahead of the order in its rider queue (``tiers.near.quote_from: queue``; None: the
        earliest rider)."""
        tp = self.trip
        if ahead is None:
            rider = self.earliest_rider(t)[rows]
        else:
            ride = km / self.speed_at(np.array([t]))[0] * HOUR  # the same floats as per element
            trip_s = (
                2 * ride
                if tp is None
                else (
                    (tp.reach_s[rows] if tp.pool else ride)
                    + tp.pickup_trip_s[rows]
                    + tp.pickup_order_s[rows]
                    + ride
                    + tp.handover_s[rows]
                )
            )
            rider = self.queued_rider(t, rows, ahead, trip_s)
        if tp is None:
            depart = np.maximum(ready, rider)
            return cast(np.ndarray, depart + km / self.speed_at(depart) * HOUR)
        at_store = np.maximum(ready, np.maximum(t, rider) + (tp.reach_s[rows] if tp.pool else 0.0))
        depart = at_store + tp.pickup_trip_s[rows] + tp.pickup_order_s[rows] * n_orders
        ride = km / self.speed_at(depart) * HOUR
        if tp.day_factor is not None:
            ride = (
                ride
                * tp.day_factor[
                    np.minimum(floor_div(depart, DAY).astype(np.int64), len(tp.day_factor) - 1), rows
                ]
            )
        return cast(np.ndarray, depart + ride + tp.handover_s[rows])

    # ------------------------------------------------------------------ picking
    def pick(
        self, t: float, store: np.ndarray, mean_s: np.ndarray, u: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """FIFO picking of orders assigned at `t` (given in FIFO order); returns (start, end) per order."""
        dur = service_times(mean_s, self.pick_cv, u)
        start, end = np.empty(store.size), np.empty(store.size)
        order = np.argsort(store, kind="stable")
        s_sorted = store[order]
        rank = np.arange(store.size) - np.searchsorted(s_sorted, s_sorted)
        for r in range(int(rank.max(initial=-1)) + 1):
            idx = order[rank == r]
            s = store[idx]
            k = self.picker_free[s].argmin(axis=1)
            st = np.maximum(t, self.picker_free[s, k])
            en = st + dur[idx]
            self.picker_free[s, k] = en
            start[idx], end[idx] = st, en
        np.add.at(self.picker_busy, store, dur)
        return start, end

    # ------------------------------------------------------------------ riders
    def _rr(self, n: int) -> np.ndarray:
        """(n, 1) row numbers, to gather along rows by a per-row column order."""
        if self._rows.shape[0] < n:
            self._rows = np.arange(max(n, 2 * self._rows.shape[0]))[:, None]
        return self._rows[:n]

    def _geometry(self, ref: np.ndarray, km: np.ndarray, zone: np.ndarray) -> tuple[np.ndarray, ...]:
        """The route of batches (rows) whatever their departure: (stop order, valid sorted, km sorted,
        legs, cumulative km, valid stops, last stop's km from the store, delivery km, handovers done before
        each sorted stop, valid slots); shared by ``_route`` calls on the same batches."""
        valid = ref >= 0
        key = np.where(valid, km, np.inf)
        order = key.argsort(axis=1, kind="stable")
        rr = self._rr(len(ref))
        km_s, zn, val = km[rr, order], zone[rr, order], valid[rr, order]  # np.take_along_axis(., order, 1)
        legs = np.where(val, km_s, 0.0)
        if km.shape[1] > 1:
            a, b = zn[:, :-1], zn[:, 1:]
            hop = (
                haversine_km(self.zone_lat[a], self.zone_lon[a], self.zone_lat[b], self.zone_lon[b])
                * self.circuity
            )
            legs[:, 1:] = np.where(val[:, 1:], hop, 0.0)
        cum, n_val = legs.cumsum(axis=1), val.sum(axis=1)
        r, i_last = self._rr(len(ref))[:, 0], n_val - 1
        last, deliver_km = np.where(val, km_s, 0.0)[r, i_last], cum[r, i_last]
        return order, val, km_s, legs, cum, n_val, last, deliver_km, val.cumsum(axis=1) - 1, valid

    def _geo_of(self, s: np.ndarray) -> tuple[np.ndarray, ...]:
        """``_geometry`` of the open batches of stores `s`, from the per-store cache (filled where missing)."""
        todo = s[~self._geo_ok[s]]
        if todo.size:
            self._keep_geo(todo, self._geometry(self.b_ref[todo], self.b_km[todo], self.b_zone[todo]))
        assert self._geo is not None
        return tuple(a[s] for a in self._geo)

    def _keep_geo(self, s: np.ndarray, geo: tuple[np.ndarray, ...]) -> None:
        """Cache `geo`, the ``_geometry`` of the open batches of stores `s` as they are now."""
        if self._geo is None:
            n = self._geo_ok.size
            self._geo = tuple(np.zeros((n, *g.shape[1:]), g.dtype) for g in geo)
        for a, g in zip(self._geo, geo, strict=True):
            a[s] = g
        self._geo_ok[s] = True

    def _route(
        self,
        rows: np.ndarray,
        ref: np.ndarray,
        km: np.ndarray,
        zone: np.ndarray,
        depart: np.ndarray,
        u: np.ndarray | None = None,
        geo: tuple[np.ndarray, ...] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Visit stops by distance from the store (see ``sim.engine.riders``). Returns (delivery per slot,
        delivery km, trip km, trip s: departure to the rider being free). `u` (rows, slots, N_U): the
        orders' trip uniforms for realised times; None plans with expected times. `geo`: the batches'
        ``_geometry`` when already known."""
        order, val, km_s, legs, cum, n_val, last, deliver_km, k_done, valid = (
            geo if geo is not None else self._geometry(ref, km, zone)
        )
        rr = self._rr(len(rows))
        r = rr[:, 0]
        speed = self.speed_at(depart)[:, None]
        tp = self.trip
        noisy = tp is not None and u is not None and tp.travel_cv > 0
        if not noisy:
            ride = cum / speed * HOUR
            back = last / speed[:, 0] * HOUR
        else:
            assert tp is not None and u is not None
            u_s = u[rr, order]  # np.take_along_axis(u, order[:, :, None], 1)
            f = lognormal_factor(u_s[:, :, U_LEG], tp.travel_cv)
            ride = (legs / speed * HOUR * f).cumsum(axis=1)
            back = last / speed[:, 0] * HOUR * lognormal_factor(u_s[r, n_val - 1, U_RET], tp.travel_cv)
        if tp is not None and tp.day_factor is not None:
            dayf = tp.day_factor[
                np.minimum(floor_div(depart, DAY).astype(np.int64), len(tp.day_factor) - 1), rows
            ]
            ride, back = ride * dayf[:, None], back * dayf
        hand = tp.handover_s[rows] if tp is not None else np.zeros(len(rows))
        _, deliver_sorted = door_times(depart, ride, val, hand, k_done)
        arrive = np.empty_like(deliver_sorted)
        arrive[rr, order] = deliver_sorted  # np.put_along_axis(arrive, order, ., 1)
        trip_km = deliver_km + last
        if tp is None:  # the engine before issue #13: riding time of the whole round trip
            trip_s = trip_km / speed[:, 0] * HOUR
        else:
            done = deliver_sorted[r, n_val - 1] - depart
            trip_s = done if tp.pool else done + back
        return np.where(valid, arrive, np.nan), deliver_km, trip_km, trip_s

    def _start(
        self,
        s: np.ndarray,
        batch: tuple[np.ndarray, ...] | None = None,
        geo: tuple[np.ndarray, ...] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batching side of the open batches of stores `s` (count > 0), or of trial `batch` arrays
        (ref, ready, km, zone, promise, count): (earliest time the pickup may start, the rider's
        call: the batch's first assignment, pickup s). When full, the last order's ready time; else held until ``min(first ready +
        max_hold_s, latest departure keeping every order on time)``."""
        ref, ready, km, zone, promise, count = (
            batch
            if batch is not None
            else (
                self.b_ref[s],
                self.b_ready[s],
                self.b_km[s],
                self.b_zone[s],
                self.b_promise[s],
                self.b_count[s],
            )
        )
        # np.nanmin / nanmax are fmin / fmax.reduce plus a check for all-NaN rows (a batch has an order)
        first = np.fmin.reduce(ready, axis=1)
        last = np.fmax.reduce(ready, axis=1)
        arrive, *_ = self._route(s, ref, km, zone, first, geo=geo)
        latest = np.fmin.reduce(promise - (arrive - first[:, None]), axis=1)
        tp = self.trip
        if tp is None:
            pickup = np.zeros(s.size)
            hold = np.minimum(first + self.max_hold_s, latest)
        else:
            pickup = tp.pickup_trip_s[s] + tp.pickup_order_s[s] * count
            hold = np.minimum(first + self.max_hold_s, latest - pickup)
            first = self.b_call[s]  # the rider is called when the batch's first order is assigned
        full = count >= self.max_batch
        return np.where(full, last, np.maximum(hold, last)), first, pickup

    def _planned(self, s: np.ndarray, batch: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
        """Planned departure of the open batch of stores `s` (count > 0), with the expected reach; the open
        batches' are cached per store (row-wise arithmetic: the same values whichever stores are asked)."""
        if batch is not None:
            return self._plan_of(s, batch)[0]
        todo = s[~self._plan_ok[s]]
        if todo.size:
            self._plan[todo], self._plan_start[todo] = self._plan_of(todo, geo=self._geo_of(todo))
            self._plan_ok[todo] = True
        return cast(np.ndarray, self._plan[s])

    def _plan_of(
        self,
        s: np.ndarray,
        batch: tuple[np.ndarray, ...] | None = None,
        geo: tuple[np.ndarray, ...] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(planned departure, ``_start``'s earliest pickup start) of the open batches or trial `batch`."""
        start, call, pickup = self._start(s, batch, geo)
        rider = self._avail(s, call if self.trip is not None else start).min(axis=1)
        if self.trip is None:
            return np.maximum(start, rider), start
        at_store = np.maximum(call, rider) + (self.trip.reach_s[s] if self.trip.pool else 0.0)
        return np.maximum(start, at_store) + pickup, start

    def _close(self, s: np.ndarray) -> None:
        """Dispatch the open batches of stores `s`: a rider is called, reaches the store, picks up, rides."""
        s = s[self.b_count[s] > 0]
        if s.size == 0:
            return
        if self.shared:  # stores sharing a pool take its riders one after another, in the order of `s`
            p = self.pool_of[s]
            if np.unique(p).size < p.size:
                for sub in pool_rounds(s, p):
                    self._close(sub)
                return
        self._next = None
        tp = self.trip
        ref = self.b_ref[s]
        geo = self._geo_of(s)
        u = None
        planned = self._planned(s)  # with the pickup start of each batch (``_start``), cached with the plan
        start = self._plan_start[s]
        if tp is None:
            avail = self._avail(s, start if self.shifts is not None else None)
            k = avail.argmin(axis=1)
            depart = np.maximum(planned, avail[np.arange(s.size), k])
            wait = np.zeros(s.size)
        else:
            call, pickup = self.b_call[s], tp.pickup_trip_s[s] + tp.pickup_order_s[s] * self.b_count[s]
            avail = self._avail(s, call if self.shifts is not None else None)
            k = avail.argmin(axis=1)
            call = np.maximum(call, avail[np.arange(s.size), k])  # on shift at the call (staffing)
            u = self.b_u[s]
            reach = gamma_times(tp.reach_s[s], tp.reach_cv, u[:, 0, U_REACH]) if tp.pool else np.zeros(s.size)
            depart = np.maximum(start, call + reach) + pickup
            # busy: a pool rider from its call, a store rider from the start of its pickup
            wait = depart - call if tp.pool else pickup
        arrive, deliver_km, trip_km, trip_s = self._route(
            s, ref, self.b_km[s], self.b_zone[s], depart, u, geo
        )
        self._set_free(self.pool_of[s], k, depart + trip_s)
        busy = trip_s if tp is None else wait + trip_s
        self.rider_busy[s] += busy
        if self.busy_hour is not None:
            self._book_hours(depart + trip_s - busy, depart + trip_s)
        n = self.b_count[s].astype(float)
        if self.rider_model == "platform":
            per_order = (self.base + self.per_km * deliver_km) / n
        else:
            per_order = self.per_hour * busy / HOUR / n
            if self.pay_day is not None:  # the part of the shift pay these trips account for
                np.add.at(
                    self.pay_day,
                    np.minimum(depart // DAY, self.pay_day.size - 1).astype(np.int64),
                    per_order * n,
                )
        valid = ref >= 0
        self._out.append(
            Delivered(
                ref[valid], arrive[valid], np.broadcast_to(per_order[:, None], ref.shape)[valid], int(s.size)
            )
        )
        self.b_ref[s] = -1
        self.b_ready[s] = np.nan
        self.b_km[s] = np.nan
        self.b_promise[s] = np.nan
        self.b_count[s] = 0
        self._plan_ok[s] = False
        self._geo_ok[s] = False
        if self.shared:  # the plans of the other stores of these pools counted on the riders just called
            self._plan_ok[np.isin(self.pool_of, self.pool_of[s])] = False

    def _set_free(self, pool: np.ndarray, k: np.ndarray, t: np.ndarray) -> None:
        """Rider k of each pool `pool` is free at `t` (and takes calls from ``Shifts.available`` of it)."""
        self.rider_free[pool, k] = t
        if self.shifts is not None:
            self._free_avail[pool, k] = self.shifts.available_of(t, pool, k)

    def _book_hours(self, a: np.ndarray, b: np.ndarray) -> None:
        """Add the busy intervals [a, b) to the busy rider-seconds per hour of the run."""
        assert self.busy_hour is not None
        H = self.busy_hour.size
        h0 = (a // HOUR).astype(np.int64)
        for o in range(int(((b - a) // HOUR).max(initial=0)) + 2):
            h = h0 + o
            lo, hi = np.maximum(a, h * HOUR), np.minimum(b, (h + 1) * HOUR)
            np.add.at(self.busy_hour, np.minimum(h, H - 1), np.maximum(hi - lo, 0.0))

    def next_departure(self) -> float:
        """Earliest planned departure of an open batch (inf if none); cached until batches change."""
        if self._next is None:
            s = np.flatnonzero(self.b_count > 0)
            self._next = float(self._planned(s).min()) if s.size else np.inf
        return self._next

    def flush(self, t: float) -> None:
        """Dispatch every open batch that departs before `t` (no order ready later can join it)."""
        s = np.flatnonzero(self.b_count > 0)
        if s.size:
            self._close(s[self._planned(s) < t])

    def close_all(self) -> None:
        self._close(np.flatnonzero(self.b_count > 0))

    def ready(
        self,
        store: np.ndarray,
        ref: np.ndarray,
        ready_s: np.ndarray,
        km: np.ndarray,
        zone: np.ndarray,
        promise_s: np.ndarray,
        u: np.ndarray | None = None,
        assigned_s: np.ndarray | float | None = None,
    ) -> None:
        """Feed picked orders to the riders, in ready-time order per store; with the trip mechanism, `u`
        (n, N_U) the orders' trip uniforms (``sim.engine.riders``) and `assigned_s` when they were assigned
        (a batch's rider is called at its first order's)."""
        self._next = None
        if self.trip is not None and u is None:
            u = np.full((store.size, N_U), 0.5)
        order = np.lexsort((ready_s, store))
        s_sorted = store[order]
        rank = np.arange(store.size) - np.searchsorted(s_sorted, s_sorted)
        for r in range(int(rank.max(initial=-1)) + 1):
            idx = order[rank == r]
            s = store[idx]
            has = self.b_count[s] > 0
            joined, joined_plan, joined_start = (
                s[:0],
                np.empty(0),
                np.empty(0),
            )  # trip mechanism: the joined batches' planned departures
            geo_st, geo_on = s[:0], None  # the joined batches' geometry (their trial's)
            if has.any():  # try to join the open batch; close it when the order cannot
                sj = s[has]
                planned = self._planned(sj)
                slot = self.b_count[sj]
                ok = (slot < self.max_batch) & (ready_s[idx[has]] <= planned)
                trial = ok.copy()
                if ok.any():
                    st, ii = sj[ok], idx[has][ok]
                    c = self.b_count[st]
                    ref_t, km_t, zn_t, pr_t = (  # copies (fancy indexing)
                        self.b_ref[st],
                        self.b_km[st],
                        self.b_zone[st],
                        self.b_promise[st],
                    )
                    rows = np.arange(st.size)
                    ref_t[rows, c], km_t[rows, c], zn_t[rows, c], pr_t[rows, c] = (
                        ref[ii],
                        km[ii],
                        zone[ii],
                        promise_s[ii],
                    )
                    geo = self._geometry(ref_t, km_t, zn_t)
                    if self.trip is None:
                        depart = np.maximum(planned[ok], ready_s[ii])
                    else:  # the batch with the order in it: its own hold, pickup and reach
                        rd_t = self.b_ready[st]
                        rd_t[rows, c] = ready_s[ii]
                        depart, start_t = self._plan_of(st, (ref_t, rd_t, km_t, zn_t, pr_t, c + 1), geo)
                    arrive, *_ = self._route(st, ref_t, km_t, zn_t, depart, geo=geo)
                    trial[ok] = on_time = np.all(np.isnan(arrive) | (arrive <= pr_t + 1e-6), axis=1)
                    geo_st, geo_on = st[on_time], tuple(g[on_time] for g in geo)
                    if (
                        self.trip is not None and not self.shared
                    ):  # the trial batch is the batch it joins: its plan is this depart (with a shared pool, the
                        # dispatches below may take the riders it counted on: planned again when needed)
                        joined, joined_plan, joined_start = st[on_time], depart[on_time], start_t[on_time]
                self._close(sj[~trial])
            # add every order to its store's (possibly new) batch
            self._plan_ok[s] = False
            self._geo_ok[s] = False
            c = self.b_count[s]
            self.b_ref[s, c], self.b_ready[s, c] = ref[idx], ready_s[idx]
            self.b_km[s, c], self.b_zone[s, c], self.b_promise[s, c] = km[idx], zone[idx], promise_s[idx]
            if self.trip is not None and u is not None:
                self.b_u[s, c] = u[idx]
                opened = s[c == 0]
                self.b_call[opened] = (
                    ready_s if assigned_s is None else np.broadcast_to(assigned_s, ready_s.shape)
                )[idx[c == 0]]
            self.b_count[s] += 1
            if geo_on is not None and geo_st.size:
                self._keep_geo(geo_st, geo_on)
            self._plan[joined], self._plan_start[joined], self._plan_ok[joined] = (
                joined_plan,
                joined_start,
                True,
            )
            full = s[self.b_count[s] >= self.max_batch]
            self._close(full)

    def take_delivered(self) -> Delivered:
        """Orders of the batches dispatched since the last call."""
        out = self._out
        self._out = []
        if not out:
            return Delivered(np.empty(0, np.int64), np.empty(0), np.empty(0), 0)
        return Delivered(
            np.concatenate([d.ref for d in out]),
            np.concatenate([d.delivered_s for d in out]),
            np.concatenate([d.cost for d in out]),
            sum(d.trips for d in out),
        )
