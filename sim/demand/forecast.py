"""Forecasts per node x SKU x day, attributed to nodes by a fixed catchment.

Catchment: every zone belongs to its nearest store that covers it (near-tier demand), its nearest
FDC that covers it (mid-tier demand) and its nearest NDC (all demand: far orders plus everything
the forward nodes it supplies will draw). A node's expected units of SKU s per day are the
zone's expected orders x the tier share x E[lines] x popularity_s x E[qty], counting only SKUs
eligible for the node's tier.

Methods implemented so far: ``oracle`` (the true rate lambda; promotions included, i.e. known) with an
optional ``error`` knob: multiplicative lognormal noise with mean 1 and sigma chosen so that the
WAPE against lambda equals the target, E|X - 1| = 2 (2 Phi(sigma / 2) - 1). Noise comes from the
``forecast.noise/<date>`` stream, so forecasts are identical across policies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm

from sim.demand.generate import expected_lines_per_order
from sim.demand.profiles import DemandProfile
from sim.rng import RandomStreams

STORE, FDC, NDC = 2, 1, 0


def sigma_for_wape(wape: float) -> float:
    """Lognormal sigma whose mean-1 noise has E|X - 1| = wape (0 <= wape < 2)."""
    if not 0 <= wape < 2:
        raise ValueError(f"forecast.error: WAPE must be in [0, 2), got {wape}")
    return float(2.0 * norm.ppf((1.0 + wape / 2.0) / 2.0))


def catchment(network: Any, kind: int) -> np.ndarray:
    """(Z,) index of the nearest node of `kind` that covers each zone (-1 if none; NDCs cover all)."""
    nodes = np.flatnonzero(network.node_kind == kind)
    if nodes.size == 0:
        return np.full(network.n_zones, -1)
    d = np.where(network.covers()[:, nodes], network.road_km[:, nodes], np.inf)
    best = d.argmin(axis=1)
    return np.where(np.isfinite(d[np.arange(network.n_zones), best]), nodes[best], -1)


class Forecaster:
    """Expected units per node x SKU for a day, as the policies see them."""

    def __init__(self, sc: Any, network: Any, catalog: Any, streams: RandomStreams) -> None:
        if sc.forecast.method not in ("oracle", "hindsight"):
            raise NotImplementedError(f"forecast.method {sc.forecast.method!r} is not implemented yet")
        self.sc, self.net, self.cat, self.streams = sc, network, catalog, streams
        self.profile = DemandProfile.of(sc, network)
        mix = sc.demand.tier_mix
        self.mix = np.array([mix.near, mix.mid, mix.far])
        self.units_per_order = expected_lines_per_order(sc, catalog.n_skus) * sc.demand.basket.mean_qty
        city_w = np.bincount(network.zone_city, weights=network.zone_weight, minlength=len(network.city_names))
        self.zone_share = network.zone_weight / np.maximum(city_w[network.zone_city], 1e-300)
        self.catch = {k: catchment(network, k) for k in (STORE, FDC, NDC)}
        self.sigma = sigma_for_wape(sc.forecast.error) if sc.forecast.error else 0.0

    def rate(self, day: int) -> np.ndarray:
        """True expected units per day (N, S) for `day` (the oracle, lambda)."""
        zone_orders = self.profile.daily_expected(day)[self.net.zone_city] * self.zone_share
        out = np.zeros((self.net.n_nodes, self.cat.n_skus))
        elig = self.cat.tier_eligible
        for kind, share, tier in ((STORE, self.mix[0], 0), (FDC, self.mix[1], 1), (NDC, 1.0, None)):
            c = self.catch[kind]
            m = c >= 0
            orders = np.bincount(c[m], weights=zone_orders[m] * share, minlength=self.net.n_nodes)
            sku = self.cat.popularity * self.units_per_order
            if tier is not None:
                sku = sku * elig[:, tier]
            rows = np.flatnonzero(self.net.node_kind == kind)
            out[rows] = orders[rows, None] * sku[None, :]
        return out

    def forecast(self, day: int) -> np.ndarray:
        """What the policies see for `day`: lambda with the configured noise."""
        lam = self.rate(day)
        if self.sigma == 0.0:
            return lam
        rng = self.streams.get(f"forecast.noise/{self.profile.date(day).isoformat()}")
        noise = rng.lognormal(-self.sigma**2 / 2.0, self.sigma, size=lam.shape)
        return lam * noise
