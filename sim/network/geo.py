"""Geometry on real coordinates: great-circle distances, road distance (x circuity), km offsets.

Zone x node distance matrices are dense float32 arrays computed once per run; at national scale
(~3,000 zones x ~2,500 nodes) that is 30 MB and well under a second, so coverage queries are plain
array comparisons rather than k-d tree look-ups.
"""

from __future__ import annotations

import numpy as np

from sim.units import EARTH_RADIUS_KM, haversine_km

KM_PER_DEG_LAT = np.pi * EARTH_RADIUS_KM / 180.0


def distance_matrix_km(
    lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray
) -> np.ndarray:
    """Great-circle km between every a and every b, shape (len(a), len(b)), float32."""
    d = haversine_km(
        np.asarray(lat_a, float)[:, None],
        np.asarray(lon_a, float)[:, None],
        np.asarray(lat_b, float)[None, :],
        np.asarray(lon_b, float)[None, :],
    )
    return d.astype(np.float32)


def offset_latlon(
    lat0: float, lon0: float, dx_km: np.ndarray, dy_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points dx km east and dy km north of (lat0, lon0) (local tangent plane; fine within a city)."""
    lat = lat0 + np.asarray(dy_km) / KM_PER_DEG_LAT
    lon = lon0 + np.asarray(dx_km) / (KM_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return lat, lon


def to_local_km(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 2) east/north km offsets of points from (lat0, lon0): inverse of `offset_latlon`."""
    dy = (np.asarray(lat) - lat0) * KM_PER_DEG_LAT
    dx = (np.asarray(lon) - lon0) * KM_PER_DEG_LAT * np.cos(np.radians(lat0))
    return np.column_stack([dx, dy])
