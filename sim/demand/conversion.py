"""Demand that answers to the promise (issue #18): the share of shoppers who order falls with the promise.

A shopper of tier t (near, mid, far) orders with probability ``share_t(promise_t)``, the scenario's
curve (``demand.conversion``) read at the tier's promise: near ``tiers.near.promise_min``, mid the
mid tier's promise in minutes (``MidTier.promise_min``), far always 1. ``orders_per_day`` stays the
volume observed at the reference promises, so shoppers arrive at ``orders_per_day / c_ref`` with
``c_ref = sum_t tier_mix_t share_t(reference_t)``. Whether a shopper orders is decided by a uniform
per shopper from the stream ``demand.convert/<date>/<city>``: u < share. That keeps common random
numbers across policies (the same shoppers order) and couples promises monotonically (a shopper who
orders at 60 minutes orders at 30 too). Off (``enabled: false``), nothing here runs and no stream is
drawn, so the orders are the engine's before issue #18 byte for byte.

The oracle forecast scales each tier's expected units by ``share_t(promise_t) / c_ref`` (the exact
expectation of this thinning), so a longer promise also lowers the stock the policies push forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.vocab import TIER_NAMES


def curve_share(curve: Any, minutes: float) -> float:
    """The curve's share at `minutes`: linear between its points, flat beyond the first and last."""
    return float(
        np.interp(
            float(minutes), np.asarray(curve.minutes, dtype=float), np.asarray(curve.share, dtype=float)
        )
    )


def tier_promises_min(sc: Any) -> np.ndarray:
    """(3,) the promise of each tier quoted to a shopper, in minutes (far: NaN, not modelled)."""
    return np.array([float(sc.tiers.near.promise_min), sc.tiers.mid.promise_min(), np.nan])


@dataclass(frozen=True)
class ConversionModel:
    """The scenario's conversion: per-tier order probability and the shopper inflation 1 / c_ref."""

    share: np.ndarray  # (3,) probability that a shopper of each tier orders at the scenario's promises
    c_ref: float  # expected share of shoppers who order at the reference promises

    @classmethod
    def of(cls, sc: Any) -> ConversionModel | None:
        """The model of a resolved scenario, or None when ``demand.conversion.enabled`` is false."""
        conv = sc.demand.conversion
        if not conv.enabled:
            return None
        promise = tier_promises_min(sc)
        share = np.array([curve_share(conv.near, promise[0]), curve_share(conv.mid, promise[1]), 1.0])
        ref = np.array(
            [
                curve_share(conv.near, conv.reference_near_min),
                curve_share(conv.mid, conv.reference_mid_min),
                1.0,
            ]
        )
        mix = np.array([getattr(sc.demand.tier_mix, t) for t in TIER_NAMES], dtype=float)
        return cls(share=share, c_ref=float(mix @ ref))

    @property
    def shopper_factor(self) -> float:
        """Shoppers per order at the reference promises (>= 1): the arrival rate's multiplier."""
        return 1.0 / self.c_ref

    @property
    def tier_factor(self) -> np.ndarray:
        """(3,) expected orders of each tier per order of that tier at the reference volume (forecast scaling)."""
        return self.share / self.c_ref

    def converts(self, u: np.ndarray, tier: np.ndarray) -> np.ndarray:
        """(n,) bool: the shoppers whose uniform `u` is below their tier's share."""
        return np.asarray(u < self.share[tier.astype(np.int64)])


def orders_factor(sc: Any) -> np.ndarray:
    """(3,) expected orders of each tier relative to the scenario's volume (ones when conversion is off)."""
    model = ConversionModel.of(sc)
    return np.ones(3) if model is None else model.tier_factor
