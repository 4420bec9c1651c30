"""Deterministic node placement by weighted k-means over a city's demand.

Customers are sampled from the zones (by weight, with a Gaussian jitter of about a zone's
spacing) and clustered with Lloyd's algorithm from a k-means++ start; the cluster centres are the
node positions. All draws come from ``network.placement/<kind>/<city>``, so placement is identical
across replications and independent of other cities.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from sim.network.geo import distance_matrix_km, offset_latlon, to_local_km
from sim.rng import RandomStreams

SAMPLES_PER_NODE = 40
MIN_SAMPLES = 2000
ITERATIONS = 50


def _kmeans(rng: np.random.Generator, pts: np.ndarray, k: int) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding on (n, 2) points; returns (k, 2) centres."""
    centres = [pts[rng.integers(len(pts))]]
    d2 = ((pts - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        pick = (
            int(np.searchsorted(np.cumsum(d2), rng.random() * total))
            if total > 0
            else int(rng.integers(len(pts)))
        )
        c = pts[min(pick, len(pts) - 1)]
        centres.append(c)
        d2 = np.minimum(d2, ((pts - c) ** 2).sum(1))
    cen = np.array(centres)
    for _ in range(ITERATIONS):
        lab = cKDTree(cen).query(pts)[1]
        counts = np.bincount(lab, minlength=k)
        sums = np.zeros_like(cen)
        np.add.at(sums, lab, pts)
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], cen)
        if np.allclose(new, cen, atol=1e-6):
            break
        cen = new
    return cen


def place_nodes(
    streams: RandomStreams,
    kind: str,
    city: str,
    k: int,
    centre: tuple[float, float],
    zone_lat: np.ndarray,
    zone_lon: np.ndarray,
    zone_weight: np.ndarray,
    radius_km: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes of `k` nodes of `kind` spread over `city`'s demand."""
    rng = streams.get(f"network.placement/{kind}/{city}")
    lat0, lon0 = centre
    zones_km = to_local_km(lat0, lon0, zone_lat, zone_lon)
    m = max(MIN_SAMPLES, SAMPLES_PER_NODE * k)
    pick = rng.choice(len(zone_weight), size=m, p=zone_weight / zone_weight.sum())
    jitter = radius_km / np.sqrt(len(zone_weight)) / 2.0
    pts = zones_km[pick] + rng.normal(0.0, jitter, size=(m, 2))
    cen = _kmeans(rng, pts, k)
    return offset_latlon(lat0, lon0, cen[:, 0], cen[:, 1])


def cover_first(
    zone_lat: np.ndarray,
    zone_lon: np.ndarray,
    zone_weight: np.ndarray,
    node_lat: np.ndarray,
    node_lon: np.ndarray,
    reach_km: float,
    k: int,
    among: np.ndarray,
) -> np.ndarray:
    """`k` of the nodes `among` (indices into node_lat/lon) chosen greedily to cover the most zone weight within
    straight-line `reach_km`: each step takes the node adding the most uncovered weight (ties: the lower
    index), then the rest in index order once nothing more can be covered. Deterministic."""
    cov = distance_matrix_km(zone_lat, zone_lon, node_lat[among], node_lon[among]) <= reach_km + 1e-9
    w = np.asarray(zone_weight, float)
    covered = np.zeros(w.size, bool)
    free = np.ones(among.size, bool)
    out: list[int] = []
    for _ in range(min(k, among.size)):
        gain = np.where(free, (cov & ~covered[:, None]).T.astype(float) @ w, -1.0)
        j = int(np.argmax(gain))
        out.append(j)
        free[j] = False
        covered |= cov[:, j]
    return among[np.array(out, np.int64)] if out else among[:0]
