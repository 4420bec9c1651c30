"""FDC operations (mid tier): orders collect for the next van wave and leave at its cut-off.

Each wave has a cut-off and a delivery window [a, b] (b - cut-off <= 4 h). An order assigned before
a cut-off rides that wave; its promise is b. A wave's capacity per FDC is
``vans x min(orders a van holds by volume, stops a van makes in the window)``.

``vans: approx`` routing: a wave's orders are split among the vans by polar angle around the FDC
(a sweep), each van's stops are served in angle order with delivery times spread evenly over the
window, and its tour length is 2 x mean stem distance + 0.7124 x sqrt(n x A) x circuity
(Beardwood-Halton-Hammersley, A = the van's sector area). Van cost = per stop + per km, shared
equally by its orders.

``vans: solver`` routing (`sim.engine.van_waves`): each FDC's wave is a capacitated VRP over the
distinct zones with orders, solved by `sim.routing.vans` with deterministic limits; each order's
delivery time comes from its place on its van's route, so an overrunning route is late.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from scipy.special import gammaln

from sim.engine.van_waves import solver_fdc
from sim.units import DAY, parse_clock

if TYPE_CHECKING:
    from sim.io.scenario.models import Scenario
    from sim.network.build import Network

BHH = 0.7124


@dataclass
class WaveResult:
    ref: np.ndarray
    delivered_s: np.ndarray
    cost: np.ndarray
    vans_busy_s: float


@dataclass(frozen=True)
class VanFleet:
    """Each FDC's vans (rows = FDCs, in network order) and the van cost model."""

    vans: np.ndarray
    capacity_l: np.ndarray
    speed_kmh: np.ndarray
    stop_s: np.ndarray
    fdc_lat: np.ndarray
    fdc_lon: np.ndarray
    reach_km: np.ndarray
    circuity: float
    per_stop: float
    per_km: float

    @classmethod
    def from_scenario(cls, sc: Scenario, net: Network, fdcs: np.ndarray) -> VanFleet:
        fd = [net.node_capacity[i] for i in fdcs]
        return cls(
            np.array([c.vans for c in fd], np.int64),
            np.array([c.van_capacity_m3 * 1000 for c in fd]),
            np.array([c.van_speed_kmh for c in fd]),
            np.array([c.van_stop_s for c in fd]),
            net.node_lat[fdcs],
            net.node_lon[fdcs],
            net.reach_km[fdcs],
            sc.geography.circuity,
            sc.costs.van.per_stop_cny,
            sc.costs.van.per_km_cny,
        )


class Waves:
    """Wave schedule and the orders queued per FDC for their wave."""

    @classmethod
    def from_scenario(
        cls,
        sc: Scenario,
        net: Network,
        fdcs: np.ndarray,
        volume_l: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Waves:
        """``tiers.mid.waves`` served by the FDCs `fdcs` (node indices), routed by ``router.vans``;
        ``tiers.mid.van_dispatch: needed`` sends the fewest vans an approx wave needs."""
        waves = sc.tiers.mid.waves
        return cls(
            np.array([parse_clock(w.cutoff) for w in waves]),
            np.array([[parse_clock(w.window[0]), parse_clock(w.window[1])] for w in waves]),
            VanFleet.from_scenario(sc, net, fdcs),
            mode=sc.router.vans,
            volume_l=volume_l,
            vans_as_needed=sc.tiers.mid.van_dispatch == "needed",
        )

    def __init__(
        self,
        cutoffs_s: np.ndarray,
        windows_s: np.ndarray,
        fleet: VanFleet,
        *,
        mode: str = "approx",
        volume_l: Callable[[np.ndarray], np.ndarray] | None = None,
        vans_as_needed: bool = False,
    ) -> None:
        """`mode` is ``router.vans`` (a key of `VAN_MODES`); `volume_l` gives orders' litres (the solver's loads);
        `vans_as_needed` (``tiers.mid.van_dispatch: needed``): an approx wave sends the fewest vans that carry its
        orders by volume and by the stops a van makes in the window, instead of every van."""
        vans, van_capacity_l, van_speed_kmh, van_stop_s = (
            fleet.vans,
            fleet.capacity_l,
            fleet.speed_kmh,
            fleet.stop_s,
        )
        fdc_lat, fdc_lon, reach_km, circuity = fleet.fdc_lat, fleet.fdc_lon, fleet.reach_km, fleet.circuity
        per_stop, per_km = fleet.per_stop, fleet.per_km
        self.cut = np.asarray(cutoffs_s, float)  # (W,) time of day
        self.win = np.asarray(windows_s, float)  # (W, 2)
        self.vans, self.van_l = vans, van_capacity_l
        self.speed, self.stop_s = van_speed_kmh, van_stop_s
        self.fdc_lat, self.fdc_lon, self.reach, self.circuity = fdc_lat, fdc_lon, reach_km, circuity
        self.per_stop, self.per_km = per_stop, per_km
        self.used: dict[int, np.ndarray] = {}  # wave index -> orders assigned per FDC
        self.queue: dict[
            int, list[tuple[np.ndarray, ...]]
        ] = {}  # wave index -> chunks (ref, fdc, lat, lon, km)
        self.van_busy = np.zeros(len(vans))
        if mode not in VAN_MODES:
            raise ValueError(f"router.vans: unknown mode {mode!r}; expected one of {sorted(VAN_MODES)}")
        self.route_fdc = VAN_MODES[mode]
        self.volume_l = volume_l
        self.vans_as_needed = vans_as_needed

    def wave_at(self, t: float) -> int:
        """Global index (day x W + w) of the first wave whose cut-off is at or after t."""
        day, tod = divmod(t, DAY)
        w = int(np.searchsorted(self.cut, tod, side="left"))
        return int(day) * len(self.cut) + w  # w == W rolls over to the next day's first wave

    def next_cutoff_s(self, t: np.ndarray) -> np.ndarray:
        """Vectorised cutoff_s(wave_at(t))."""
        day, tod = np.divmod(np.asarray(t, float), DAY)
        w = np.searchsorted(self.cut, tod, side="left")
        day = day + (w == len(self.cut))
        return cast(np.ndarray, day * DAY + self.cut[w % len(self.cut)])

    def cutoff_s(self, g: int) -> float:
        d, w = divmod(g, len(self.cut))
        return d * DAY + float(self.cut[w])

    def window_s(self, g: int) -> tuple[float, float]:
        d, w = divmod(g, len(self.cut))
        return d * DAY + float(self.win[w, 0]), d * DAY + float(self.win[w, 1])

    def per_van_orders(self, g: int, mean_order_l: float, mean_km: np.ndarray) -> np.ndarray:
        """Stops a van can make in the window: 2 stems + n stops + a BHH tour of its sector within b - a."""
        a, b = self.window_s(g)
        by_volume = np.floor(self.van_l / max(mean_order_l, 1e-9))
        spare = np.maximum((b - a) - 2.0 * mean_km / self.speed * 3600.0, 0.0)
        k = BHH * np.sqrt(np.pi * self.reach**2 / self.vans) * self.circuity / self.speed * 3600.0
        s = np.maximum(self.stop_s, 1e-9)
        root = (-k + np.sqrt(k**2 + 4.0 * s * spare)) / (2.0 * s)  # n s + k sqrt(n) = spare
        return cast(np.ndarray, np.maximum(np.minimum(by_volume, np.floor(root**2)), 1))

    def capacity(
        self, g: int, mean_order_l: float, mean_km: np.ndarray, pickers: np.ndarray, mean_pick_s: np.ndarray
    ) -> np.ndarray:
        """Orders each FDC can still add to wave g: what its vans carry and its pickers pick since the last cut-off."""
        vans = self.vans * self.per_van_orders(g, mean_order_l, mean_km)
        span = self.cutoff_s(g) - (self.cutoff_s(g - 1) if g > 0 else self.cutoff_s(g) - self.cut[0])
        picks = np.floor(pickers * span / mean_pick_s)
        return cast(np.ndarray, np.maximum(np.minimum(vans, picks) - self.used.get(g, 0), 0).astype(np.int64))

    def vans_for(
        self,
        f: int,
        g: int,
        n: np.ndarray,
        mean_order_l: float,
        mean_km: np.ndarray,
        per_van: np.ndarray | None = None,
    ) -> np.ndarray:
        """Vans an approx wave of FDC row f sends for `n` orders (``approx_fdc``: every van, at most one per
        order; with ``van_dispatch: needed`` the fewest that carry them by volume and by stops in the window).
        `per_van`: ``per_van_orders(g, mean_order_l, mean_km)`` when already computed."""
        n = np.asarray(n, float)
        v = np.minimum(float(self.vans[f]), n)
        if self.vans_as_needed:
            if per_van is None:
                per_van = self.per_van_orders(g, mean_order_l, mean_km)
            stops = float(per_van[f])
            need = np.maximum(
                np.maximum(np.ceil(n * mean_order_l / self.van_l[f] - 1e-9), np.ceil(n / stops - 1e-9)), 1.0
            )
            v = np.minimum(v, need)
        return cast(np.ndarray, v)

    def marginal_cost(
        self, g: int, expected_more: np.ndarray, mean_order_l: float, mean_km: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per FDC row: the expected van cost one more order adds to wave g under the approx model, and
        E[2 / orders on its van] (an order `d` km further than the mean stem adds ``per_km`` x d x that).

        The approx wave costs ``per_stop`` x n + ``per_km`` x (2 m v + BHH x circuity x sqrt(n π r²)) for n
        orders on v vans (each van's BHH tour over its sector π r² / v holds n / v orders, so the tours sum
        to sqrt(n π r²) whatever v), m the mean stem. The other orders of the wave at its cut-off are the ones
        assigned so far plus N ~ Poisson(`expected_more`) still to come; the expectation over N averages the
        jump of a new van's stems over the orders that fill it (``router.mid_estimate: marginal``)."""
        used = self.used.get(g, np.zeros(len(self.vans), np.int64))
        F = len(self.vans)
        base, stem = np.zeros(F), np.zeros(F)
        if F == 0:
            return base, stem
        per_van = self.per_van_orders(g, mean_order_l, mean_km) if self.vans_as_needed else None
        # every FDC at once on a (F, K) grid of k (each row's own K = its Poisson support): elementwise the
        # same floats as one FDC at a time; the sums and dot products stay per row, over the row's own K
        mu = np.maximum(np.asarray(expected_more, float)[:F], 0.0)
        K = np.ceil(mu + 8.0 * np.sqrt(mu) + 8.0).astype(np.int64)
        k = np.arange(int(K.max()))
        pos = mu > 0
        w = np.exp(k * np.log(np.where(pos, mu, 1.0))[:, None] - mu[:, None] - gammaln(k + 1))
        w[~pos] = (k == 0).astype(float)
        n = used.astype(float)[:, None] + k  # the others
        v0, v1 = self._vans_grid(n, mean_order_l, per_van), self._vans_grid(n + 1, mean_order_l, per_van)
        tour = BHH * self.circuity * self.reach[:, None] * np.sqrt(np.pi) * (np.sqrt(n + 1) - np.sqrt(n))
        d = self.per_stop + self.per_km * (2.0 * np.asarray(mean_km, float)[:F, None] * (v1 - v0) + tour)
        st = 2.0 * v1 / (n + 1)
        for f in range(F):
            wf = w[f, : K[f]]
            wf /= wf.sum()
            base[f] = float(wf @ d[f, : K[f]])
            stem[f] = float(wf @ st[f, : K[f]])
        return base, stem

    def _vans_grid(self, n: np.ndarray, mean_order_l: float, per_van: np.ndarray | None) -> np.ndarray:
        """``vans_for`` of every FDC row f at once: `n` (F, K) orders of row f."""
        v = np.minimum(self.vans.astype(float)[:, None], n)
        if self.vans_as_needed:
            assert per_van is not None
            stops = per_van.astype(float)[:, None]
            by_volume = np.ceil(n * mean_order_l / self.van_l[:, None] - 1e-9)
            need = np.maximum(np.maximum(by_volume, np.ceil(n / stops - 1e-9)), 1.0)
            v = np.minimum(v, need)
        return cast(np.ndarray, v)

    def add(
        self, g: int, ref: np.ndarray, fdc: np.ndarray, lat: np.ndarray, lon: np.ndarray, km: np.ndarray
    ) -> None:
        self.used[g] = self.used.get(g, 0) + np.bincount(fdc, minlength=len(self.vans))
        self.queue.setdefault(g, []).append((ref, fdc, lat, lon, km))

    def pending(self) -> int:
        return sum(c[0].size for chunks in self.queue.values() for c in chunks)

    def dispatch(self, g: int) -> WaveResult:
        """Send wave g: delivery times and van cost per order; frees the queue of wave g."""
        chunks = self.queue.pop(g, [])
        self.used.pop(g, None)
        if not chunks:
            return WaveResult(np.empty(0, np.int64), np.empty(0), np.empty(0), 0.0)
        ref, fdc, lat, lon, km = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
        a, b = self.window_s(g)
        delivered = np.empty(ref.size)
        cost = np.empty(ref.size)
        vol = self.volume_l(ref) if self.volume_l is not None else np.zeros(ref.size)
        busy = 0.0
        for f in np.unique(fdc):
            idx = np.flatnonzero(fdc == f)
            t, c, van_s = self.route_fdc(self, int(f), g, lat[idx], lon[idx], km[idx], vol[idx])
            delivered[idx], cost[idx] = t, c
            for s in van_s.tolist():  # van by van, in order: the same float sums as ever
                self.van_busy[f] += s
                busy += s
        return WaveResult(ref, delivered, cost, busy)


def approx_fdc(
    w: Waves, f: int, g: int, lat: np.ndarray, lon: np.ndarray, km: np.ndarray, vol: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``vans: approx``: sweep by polar angle, BHH tour per van, delivery times spread over the window.
    Returns per-order delivery time and van cost, and each van's busy seconds (at most the window)."""
    a, b = w.window_s(g)
    delivered, cost = np.empty(lat.size), np.empty(lat.size)
    ang = np.arctan2(lat - w.fdc_lat[f], (lon - w.fdc_lon[f]) * np.cos(np.radians(lat)))
    order = np.argsort(ang, kind="stable")
    n_vans = int(min(w.vans[f], lat.size))
    if w.vans_as_needed:  # the sweep splits by count; the wave's volume was checked when orders joined it
        stops = w.per_van_orders(
            g, float(vol.mean()) if vol.size else 0.0, np.full(len(w.vans), float(km.mean()))
        )[f]
        need = max(np.ceil(vol.sum() / w.van_l[f] - 1e-9), np.ceil(lat.size / stops - 1e-9), 1.0)
        n_vans = int(min(n_vans, need))
    area = np.pi * w.reach[f] ** 2 / n_vans
    busy = np.empty(n_vans)
    for v, stops in enumerate(np.array_split(order, n_vans)):
        n = stops.size
        delivered[stops] = a + (b - a) * (np.arange(n) + 0.5) / n
        tour = 2.0 * km[stops].mean() + BHH * np.sqrt(n * area) * w.circuity
        cost[stops] = (w.per_stop * n + w.per_km * tour) / n
        drive = tour / w.speed[f] * 3600.0 + n * w.stop_s[f]  # busy time, at most the window
        busy[v] = min(drive, b - a)
    return delivered, cost, busy


VanMode = Callable[
    [Waves, int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tuple[np.ndarray, np.ndarray, np.ndarray],
]
VAN_MODES: dict[str, VanMode] = {"approx": approx_fdc, "solver": solver_fdc}  # router.vans
