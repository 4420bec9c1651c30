"""Synthetic PolicyContexts for the policy tests and the policy benchmark (no scenario, no engine).

Nodes: NDCs first, then FDCs, then stores spread round-robin over the FDCs. SKU popularity is Zipf
(s = 1) over a random permutation; a node's forecast is its daily units x popularity x a lognormal
node-level mix noise; values and volumes are lognormal around the default categories' means.
Randomness only from sim.rng.RandomStreams.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.policies.base import PolicyContext
from sim.rng import RandomStreams
from sim.units import DAY, HOUR


def synthetic_ctx(
    *,
    n_ndcs: int = 1,
    n_fdcs: int = 2,
    n_stores: int = 6,
    n_skus: int = 200,
    seed: int = 0,
    store_units: float = 2500.0,
    fdc_units: float = 30000.0,
    store_slots: int = 2500,
    fdc_slots: int = 8000,
    store_volume_m3: float = 120.0,
    fdc_volume_m3: float = 4000.0,
    review_s: float = DAY,
    store_lead_s: float = 4 * HOUR,
    fdc_lead_s: float = 13 * HOUR,
    forecast_ahead: Callable[[int], np.ndarray] | None = None,
    day: int = 0,
    **extra: object,
) -> PolicyContext:
    """A network-shaped context (see the module docstring); `extra` sets optional fields."""
    rng = RandomStreams(seed).get("tests.policy_ctx")
    N = n_ndcs + n_fdcs + n_stores
    kind = np.array([0] * n_ndcs + [1] * n_fdcs + [2] * n_stores, np.int64)
    supplier = np.full(N, -1, np.int64)
    fdcs = np.arange(n_ndcs, n_ndcs + n_fdcs)
    supplier[fdcs] = 0
    stores = np.arange(n_ndcs + n_fdcs, N)
    supplier[stores] = fdcs[np.arange(n_stores) % max(n_fdcs, 1)] if n_fdcs else 0
    rank = rng.permutation(n_skus)
    pop = 1.0 / (rank + 1.0)
    pop /= pop.sum()
    units = np.where(
        kind == 2, store_units, np.where(kind == 1, fdc_units, store_units * n_stores + fdc_units * n_fdcs)
    )
    mix = rng.lognormal(-0.125, 0.5, size=(N, n_skus))
    forecast = units[:, None] * pop[None, :] * mix
    lead = np.where(kind == 2, store_lead_s, np.where(kind == 1, fdc_lead_s, 0.0))
    return PolicyContext(
        day=day,
        forecast=forecast,
        cover_s=review_s + lead,
        node_kind=kind,
        slots=np.where(kind == 2, store_slots, np.where(kind == 1, fdc_slots, 0)),
        volume_m3=np.where(kind == 2, store_volume_m3, np.where(kind == 1, fdc_volume_m3, np.inf)).astype(
            float
        ),
        volume_l=rng.lognormal(np.log(1.5) - 0.11, 0.47, size=n_skus),
        value_cny=rng.lognormal(np.log(30.0) - 0.25, 0.7, size=n_skus),
        popularity=pop,
        on_hand=np.zeros((N, n_skus), np.int64),
        supplier=supplier,
        review_s=review_s,
        forecast_ahead=forecast_ahead,
        **extra,
    )  # type: ignore[arg-type]
