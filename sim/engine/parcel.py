"""NDC operations (far tier): orders wait for the daily cut-off and ship within outbound capacity.

An order assigned before day D's cut-off ships at that cut-off if the NDC's outbound capacity for
day D is not used up (the router only assigns within it), and is delivered on day D + transit days
of the NDC -> city lane, between 09:00 and 21:00 (position drawn from the order's service
uniform). Its promise is the end of that delivery day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from sim.units import DAY, HOUR, parse_clock

if TYPE_CHECKING:
    from sim.io.scenario.models import Scenario
    from sim.network.build import Network

DELIVERY_START_H, DELIVERY_SPAN_H = 9.0, 12.0


@dataclass
class ParcelResult:
    ref: np.ndarray
    delivered_s: np.ndarray


class Parcels:
    @classmethod
    def from_scenario(cls, sc: Scenario, net: Network, ndcs: np.ndarray) -> Parcels:
        """The NDCs `ndcs` (node indices): ``tiers.far.cutoff``, their outbound capacity and lanes' transit days."""
        return cls(
            parse_clock(sc.tiers.far.cutoff),
            np.array([net.node_capacity[i].outbound_per_day for i in ndcs]),
            net.far_transit_days[ndcs],
        )

    def __init__(self, cutoff_tod_s: float, outbound_per_day: np.ndarray, transit_days: np.ndarray) -> None:
        self.cutoff = float(cutoff_tod_s)
        self.outbound = outbound_per_day.astype(np.int64)  # (K,) per NDC row
        self.transit = transit_days  # (K, C)
        self.used: dict[int, np.ndarray] = {}
        self.queue: dict[int, list[tuple[np.ndarray, ...]]] = {}  # ship day -> chunks (ref, ndc, city, u)

    def ship_day(self, t: float) -> int:
        """The day whose cut-off an order assigned at t makes."""
        day, tod = divmod(t, DAY)
        return int(day) + (1 if tod > self.cutoff else 0)

    def cutoff_s(self, day: int) -> float:
        return day * DAY + self.cutoff

    def promise_s(self, day: int, ndc: np.ndarray, city: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, (day + self.transit[ndc, city] + 1) * DAY)

    def capacity(self, day: int) -> np.ndarray:
        return np.maximum(self.outbound - self.used.get(day, 0), 0)

    def add(self, day: int, ref: np.ndarray, ndc: np.ndarray, city: np.ndarray, u: np.ndarray) -> None:
        self.used[day] = self.used.get(day, 0) + np.bincount(ndc, minlength=self.outbound.size)
        self.queue.setdefault(day, []).append((ref, ndc, city, u))

    def pending(self) -> int:
        return sum(c[0].size for chunks in self.queue.values() for c in chunks)

    def dispatch(self, day: int) -> ParcelResult:
        """Ship what was assigned to day's cut-off (the router kept it within outbound capacity)."""
        chunks = self.queue.pop(day, [])
        self.used.pop(day, None)
        if not chunks:
            return ParcelResult(np.empty(0, np.int64), np.empty(0))
        ref, ndc, city, u = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
        arrive_day = day + self.transit[ndc, city]
        delivered = arrive_day * DAY + (DELIVERY_START_H + DELIVERY_SPAN_H * u) * HOUR
        return ParcelResult(ref, delivered)
