"""Baseline routers — the rules commercial tools use — on the same options and constraints.

- ``nearest``: the closest node that can serve the order at its requested tier or faster.
- ``cheapest``: the option with the lowest expected cost, one order at a time (myopic).
- ``tier_first``: a node of the requested tier's kind (closest first); if none can, the best slower offer.
All take downgrade offers only when no option at the requested tier or faster exists.
"""

from __future__ import annotations

import numpy as np

from sim.routing.base import NO_CAPABILITIES, Batch, greedy_by_key, register_router


def _with_fallback(batch: Batch, key: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Primary options by `key`; orders left without one get their cheapest downgrade offer."""
    left = batch.node_capacity.astype(np.int64).copy()
    choice = greedy_by_key(batch, key, primary, left=left)
    return greedy_by_key(batch, batch.opt_cost, batch.opt_offer, choice=choice, left=left)


@register_router("nearest")
class Nearest:
    name = "nearest"
    capabilities = NO_CAPABILITIES

    def route(self, batch: Batch) -> np.ndarray:
        return _with_fallback(batch, batch.opt_km, ~batch.opt_offer)


@register_router("cheapest")
class Cheapest:
    name = "cheapest"
    capabilities = NO_CAPABILITIES

    def route(self, batch: Batch) -> np.ndarray:
        return _with_fallback(batch, batch.opt_cost, ~batch.opt_offer)


@register_router("tier_first")
class TierFirst:
    name = "tier_first"
    capabilities = NO_CAPABILITIES

    def route(self, batch: Batch) -> np.ndarray:
        same = batch.opt_tier == batch.requested_tier[batch.opt_order]
        left = batch.node_capacity.astype(np.int64).copy()
        choice = greedy_by_key(batch, batch.opt_km, same & ~batch.opt_offer, left=left)
        # the requested tier's nodes cannot: a faster tier, then the cheapest slower offer
        greedy_by_key(batch, batch.opt_km, ~batch.opt_offer, choice=choice, left=left)
        return greedy_by_key(batch, batch.opt_cost, batch.opt_offer, choice=choice, left=left)
