"""Per-day capacity surge (issue #14, ``nodes.surge``): the crew and fleet a planner books for a promotion day.

Riders already surge per day (``nodes.stores.staffing``, sim/engine/staffing.py); this does the same for the other
capacities that run near their limit on a peak: store pickers, FDC pickers and vans, NDC outbound orders per day.
At 00:00 of day d each listed resource is set to ``round(base x m(d))`` (at least 1 where the base is positive),
m(d) = ``day_multiplier[date]``, else ``promotion_multiplier`` on a ``demand.promotions`` date, else 1; so the
surge holds for that day only and the next day returns to the base. A store picker who joins is free at 00:00; one
who leaves finishes the pick in hand (its order keeps its times) and takes no more.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Surge", "surge_counts"]


def surge_counts(base: np.ndarray, m: float) -> np.ndarray:
    """round(base x m), at least 1 where base > 0 (a surge below 1 never closes a node)."""
    b = np.asarray(base)
    out = np.rint(b * m)
    return np.where(b > 0, np.maximum(out, 1), 0).astype(b.dtype)


class Surge:
    """The day multipliers and the base capacities they scale."""

    def __init__(self, sc: Any, n_days: int) -> None:
        from sim.engine.staffing import day_multipliers

        s = sc.nodes.surge
        self.resources = frozenset(s.resources)
        self.mult = day_multipliers(s, sc.demand.promotions, sc.horizon.start_date, n_days)
        self.base: dict[str, np.ndarray] = {}

    @classmethod
    def from_scenario(cls, sc: Any, n_days: int) -> Surge | None:
        """None when no day surges (every multiplier 1): the engine before."""
        out = cls(sc, n_days)
        return out if (out.mult != 1.0).any() else None

    def factor(self, day: int) -> float:
        return float(self.mult[day]) if 0 <= day < self.mult.size else 1.0

    def apply(self, sim: Any, day: int) -> None:
        """Set day `day`'s capacities on the simulation (its store ops, FDC pickers, van waves, parcels)."""
        if not self.base:  # the scenario's capacities, read once before the first change
            self.base = {
                "store_pickers": np.isfinite(sim.ops.picker_free).sum(axis=1).astype(np.int64),
                "fdc_pickers": np.asarray(sim.fdc_pickers, float).copy(),
                "vans": np.asarray(sim.waves.vans).copy(),
                "outbound": np.asarray(sim.parcels.outbound).copy(),
            }
        m = self.factor(day)
        t = day * 86400.0
        for r in self.resources:
            counts = surge_counts(self.base[r], m)
            if r == "store_pickers":
                sim.ops.set_pickers(counts, t)
            elif r == "fdc_pickers":
                sim.fdc_pickers = counts.astype(float)
            elif r == "vans":
                sim.waves.vans = counts
            else:
                sim.parcels.outbound = counts.astype(np.int64)
