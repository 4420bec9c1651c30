"""Units used inside Shangou and conversions at the edges.

Inside the code: time in seconds (float), distance in km, money in CNY. Clock strings ("HH:MM") and
minutes/hours/days appear only in scenario files and reports, and are converted here.
"""

from __future__ import annotations

import math
import re

import numpy as np

SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def minutes(x: float) -> float:
    """Minutes to seconds."""
    return x * MINUTE


def hours(x: float) -> float:
    """Hours to seconds."""
    return x * HOUR


def days(x: float) -> float:
    """Days to seconds."""
    return x * DAY


def parse_clock(text: str) -> float:
    """'HH:MM' (00:00 to 24:00 inclusive) to seconds after midnight; ValueError otherwise."""
    m = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"expected a time 'HH:MM', got {text!r}")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi >= 60 or h > 24 or (h == 24 and mi != 0):
        raise ValueError(f"time must be between 00:00 and 24:00, got {text!r}")
    return h * HOUR + mi * MINUTE


def format_clock(seconds: float) -> str:
    """Seconds from simulation start to 'd+D HH:MM:SS' (day index and time of day)."""
    d, rem = divmod(float(seconds), DAY)
    h, rem = divmod(rem, HOUR)
    m, s = divmod(rem, MINUTE)
    return f"d+{int(d)} {int(h):02d}:{int(m):02d}:{int(s):02d}"


def floor_div(x: np.ndarray | float, d: float) -> np.ndarray:
    """``x // d`` for finite ``x >= 0`` and ``d > 0``, the same floats, ~10x faster than numpy's float floor
    division (which goes through fmod): floor(x / d) corrected by one where the division rounded across an
    integer (``q * d`` is exact for the integers of simulated time)."""
    x = np.asarray(x, float)
    q = np.floor(x / d)
    q -= q * d > x
    q += (q + 1.0) * d <= x
    return q


def haversine_km(
    lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray | float, lon2: np.ndarray | float
) -> np.ndarray:
    """Great-circle distance in km (broadcasts like numpy)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def travel_seconds(km: np.ndarray | float, speed_kmh: float) -> np.ndarray:
    """Seconds to travel `km` at `speed_kmh`."""
    return np.asarray(km, dtype=float) / speed_kmh * HOUR


def per_year_to_per_day(rate: float) -> float:
    """An annual rate (e.g. holding cost 25 %/year) to a daily rate."""
    return rate / 365.0


def is_finite(x: float) -> bool:
    return math.isfinite(x)
