"""Demand zones: points around each city centre, denser towards the centre, with weights.

A monocentric city: zone positions follow a radial density proportional to exp(-r / (spread * R))
truncated at the city radius R, drawn from the ``network.zones/<city>`` stream (identical across
replications). Each zone's weight is the city's population share times a lognormal(0, 0.5)
heterogeneity, so a zone is a cluster of customers of varying size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.network.geo import offset_latlon
from sim.rng import RandomStreams

ZONE_WEIGHT_SIGMA = 0.5


@dataclass(frozen=True)
class CityZones:
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray  # sums to 1 within the city


def _radii(rng: np.random.Generator, n: int, scale: float, radius: float) -> np.ndarray:
    """n draws of r with density ~ r exp(-r/scale) on [0, radius] (gamma(2) truncated, by rejection)."""
    out = np.empty(0)
    while out.size < n:
        r = rng.gamma(2.0, scale, size=2 * (n - out.size) + 8)
        out = np.concatenate([out, r[r <= radius]])
    return out[:n]


def make_city_zones(
    streams: RandomStreams, city: str, lat: float, lon: float, n: int, radius_km: float, spread: float
) -> CityZones:
    rng = streams.get(f"network.zones/{city}")
    r = _radii(rng, n, spread * radius_km, radius_km)
    theta = rng.uniform(0.0, 2.0 * np.pi, size=n)
    zlat, zlon = offset_latlon(lat, lon, r * np.cos(theta), r * np.sin(theta))
    w = rng.lognormal(0.0, ZONE_WEIGHT_SIGMA, size=n)
    return CityZones(zlat, zlon, w / w.sum())
