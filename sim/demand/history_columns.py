"""Reading a planner's order file column by column (the rules are in ``history.py``'s docstring).

Every parser works on a column's distinct cells (``Cells``: codes into stripped text), so a value
repeated on many rows — an order's created time, a SKU, a city — is parsed once; a million-line
file reads in seconds. Problems raise ``ScenarioError`` naming the row and the column.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from sim.catalog_model import TIER_NAMES, Catalog
from sim.errors import ScenarioError
from sim.io.yaml_loader import MAX_CSV_BYTES, check_regular_file, decode

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
MAX_BAD_ROWS = 5  # problems listed per error before "... and N more"
_TZ = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def bad_rows(where: str, rows: np.ndarray, column: str, what: list[str]) -> ScenarioError:
    lines = [
        f"{where} row {r}, column {column}: {w}" for r, w in zip(rows[:MAX_BAD_ROWS], what, strict=False)
    ]
    if len(rows) > MAX_BAD_ROWS:
        lines.append(f"{where}: ... and {len(rows) - MAX_BAD_ROWS} more bad rows in column {column}")
    return ScenarioError(lines)


def read_table(
    path: Path, where: str | None = None, text_columns: tuple[str, ...] = ("sku", "order_id")
) -> tuple[pd.DataFrame, int]:
    """The raw table (lower-case column names) and the row number of its first record.

    `text_columns` are read as text from a CSV (so '007' stays as written); `where` prefixes errors.
    """
    where = where or f"demand.file: {path.name}"
    suffix = "".join(path.suffixes[-2:]).lower()
    check_regular_file(path, where, MAX_CSV_BYTES)  # a directory or /dev/zero never reaches the reader
    try:
        if suffix.endswith((".parquet", ".pq")):
            raw, first = pd.read_parquet(path), 1
        elif suffix.endswith((".csv", ".csv.gz", ".txt")):
            header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns  # -sig: Excel's byte-order mark
            text = {c: str for c in header if str(c).strip().lower() in text_columns}  # keep '007' as written
            raw, first = (
                pd.read_csv(
                    path,
                    dtype=text,
                    keep_default_na=False,
                    na_values=[""],
                    skipinitialspace=True,
                    encoding="utf-8-sig",
                ),
                2,
            )
        else:
            raise ScenarioError(
                f"{where}: expected a .csv or .parquet file, got {path.suffix or 'no extension'!r}"
            )
    except UnicodeDecodeError:
        with open(path, "rb") as fh:
            decode(fh.read(1 << 20), where)  # raises, naming the line and the likely encoding
        raise ScenarioError(f"{where}: not UTF-8 text; save it as UTF-8") from None
    except (ValueError, OSError, ImportError) as exc:
        raise ScenarioError(
            f"{where}: cannot read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    return raw, first


@dataclass(frozen=True)
class Cells:
    """A column as codes into its distinct cells' stripped text ('' = missing): parse each value once."""

    codes: np.ndarray  # (n,) int64
    values: np.ndarray  # (k,) str, sorted, unique

    @classmethod
    def of(cls, col: pd.Series) -> Cells:
        codes, uniq = pd.factorize(col, use_na_sentinel=True)
        text = np.append(_texts(pd.Series(uniq)), "")
        merged, values = pd.factorize(pd.Series(text, dtype=object))  # ' A' and 'A' are one cell
        return cls(
            codes=merged[np.where(codes < 0, len(uniq), codes)].astype(np.int64),
            values=np.asarray(values, dtype=object),
        )

    def text(self, mask: np.ndarray) -> np.ndarray:
        return self.values[self.codes[mask]]

    def empty(self) -> np.ndarray:
        return (self.values == "")[self.codes]


def _texts(u: pd.Series) -> np.ndarray:
    """Stripped text of distinct cells, vectorised (integral floats without '.0')."""
    if pd.api.types.is_float_dtype(u):
        out = u.astype(str).to_numpy(dtype=object)
        whole = np.isfinite(u.to_numpy(dtype=float)) & (u.to_numpy(dtype=float) % 1 == 0)
        out[whole] = u[whole].astype(np.int64).astype(str).to_numpy(dtype=object)
        return out
    if pd.api.types.is_datetime64_any_dtype(u):
        return np.array([t.isoformat() for t in u], dtype=object)
    return u.astype(str).str.strip().to_numpy(dtype=object)


def cell_text(u: Any) -> str:
    if isinstance(u, float) and u.is_integer():
        return str(int(u))
    if isinstance(u, pd.Timestamp):
        return u.isoformat()
    return str(u).strip()


def created_seconds(col: pd.Series, start: dt.date, rows: np.ndarray, where: str) -> np.ndarray:
    origin = pd.Timestamp(start)
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = col.dt.tz_convert(CHINA_TZ).dt.tz_localize(None) if getattr(col.dt, "tz", None) else col
        secs = (ts - origin).dt.total_seconds().to_numpy(dtype=float)
        bad = ~np.isfinite(secs)
        if bad.any():
            raise bad_rows(where, rows[bad], "created", ["missing time"] * int(bad.sum()))
        return secs
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        secs = col.to_numpy(dtype=float)
        bad = ~np.isfinite(secs)
        if bad.any():
            raise bad_rows(where, rows[bad], "created", ["missing or not a finite time"] * int(bad.sum()))
        return secs
    cells = Cells.of(col)
    v = pd.Series(cells.values, dtype=object)
    out = np.full(len(v), np.nan)
    iso = v.str.match(r"\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool)  # a date; anything else must be seconds
    out[~iso] = pd.to_numeric(v[~iso], errors="coerce").to_numpy(dtype=float)
    aware = iso & v.str.contains(_TZ).to_numpy(dtype=bool)
    for m, utc in ((iso & ~aware, False), (aware, True)):
        if m.any():
            t = pd.to_datetime(v[m], format="ISO8601", errors="coerce", utc=utc)
            if utc:
                t = t.dt.tz_convert(CHINA_TZ).dt.tz_localize(None)
            out[m] = (t - origin).dt.total_seconds().to_numpy(dtype=float)
    secs = out[cells.codes]
    bad = ~np.isfinite(secs)
    if bad.any():
        raise bad_rows(
            where,
            rows[bad],
            "created",
            [
                f"expected an ISO datetime or seconds from the start, got {t!r}"
                for t in cells.text(bad)[:MAX_BAD_ROWS]
            ],
        )
    return secs


def numbers(col: pd.Series, rows: np.ndarray, where: str, name: str) -> tuple[np.ndarray, Cells | None]:
    """Floats per row (NaN where empty), and the cells when the column was not numeric already."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=float, na_value=np.nan), None
    cells = Cells.of(col)
    val = pd.to_numeric(pd.Series(cells.values, dtype=object), errors="coerce").to_numpy(dtype=float)[
        cells.codes
    ]
    bad = ~cells.empty() & ~np.isfinite(val)
    if bad.any():
        raise bad_rows(
            where, rows[bad], name, [f"expected a number, got {t!r}" for t in cells.text(bad)[:MAX_BAD_ROWS]]
        )
    return val, cells


def map_skus(
    col: pd.Series, qty: np.ndarray, tier: np.ndarray, catalog: Catalog, rows: np.ndarray, where: str
) -> tuple[np.ndarray, str, int, dict[str, int]]:
    """Catalog index per row, the mode ('products', 'index' or 'id'), the number of distinct SKUs in the
    file and, in 'id' mode, the file's id -> catalog index mapping (written to skus.parquet)."""
    cells = Cells.of(col)
    empty = cells.empty()
    if empty.any():
        raise bad_rows(where, rows[empty], "sku", ["missing SKU"] * int(empty.sum()))
    s_n = catalog.n_skus
    ids = cells.values
    if catalog.sku_id is not None:  # a products table: the file's ids are its ids, exactly
        index = {s: i for i, s in enumerate(catalog.sku_id)}
        code = np.array([index.get(str(v), -1) for v in ids], dtype=np.int64)[cells.codes]
        bad = code < 0
        if bad.any():
            raise bad_rows(
                where,
                rows[bad],
                "sku",
                [
                    f"SKU {v!r} is not in the products table (catalog.file)"
                    for v in cells.text(bad)[:MAX_BAD_ROWS]
                ],
            )
        return code, "products", int(len(np.unique(code))), {}
    if all(v.isdigit() and v.isascii() for v in ids if v):  # '' (missing) was refused above
        idx = np.array([int(v) if v else -1 for v in ids], dtype=np.int64)[cells.codes]
        bad = idx >= s_n
        if bad.any():
            raise bad_rows(
                where,
                rows[bad],
                "sku",
                [
                    f"index {v} out of range for a catalog of {s_n} SKUs (integer SKUs are catalog indices; "
                    "give string ids, e.g. 'SKU-' + code, to map ids by popularity)"
                    for v in idx[bad][:MAX_BAD_ROWS]
                ],
            )
        return idx, "index", int(len(np.unique(idx))), {}
    inv = cells.codes
    units = np.bincount(inv, weights=qty, minlength=len(ids))
    need = np.zeros(len(ids), dtype=np.int64)  # tiers each id was requested at (bit mask)
    given = tier >= 0
    np.bitwise_or.at(need, inv[given], np.left_shift(1, tier[given]))
    present = np.flatnonzero(units > 0)
    by_id = np.argsort(np.argsort(ids.astype(str)))  # rank of each id in string order
    order = present[np.lexsort((by_id[present], -units[present]))]  # most units first; ties by id
    assigned = _assign(order, need, catalog)
    return assigned[inv], "id", int(len(present)), {str(ids[i]): int(assigned[i]) for i in present}


def _assign(order: np.ndarray, need: np.ndarray, catalog: Catalog) -> np.ndarray:
    """Catalog SKU per id: in `order`, the most popular free SKU eligible for every tier the id needs.

    When no free SKU fits (more ids than SKUs of the right kind) the id wraps onto the catalog in
    popularity order, whatever its tiers.
    """
    top = catalog.top(catalog.n_skus)
    mask = catalog.tier_eligible[top].astype(np.int64) @ np.array([1, 2, 4])
    queues = {m: top[mask == m] for m in range(1, 8)}
    head = dict.fromkeys(queues, 0)
    rank = catalog.rank
    out = np.zeros(len(need), dtype=np.int64)
    wrap = 0
    for i in order:
        best = -1
        for m, q in queues.items():
            if (
                m & need[i] == need[i]
                and head[m] < len(q)
                and (best < 0 or rank[q[head[m]]] < rank[queues[best][head[best]]])
            ):
                best = m
        if best < 0:
            out[i] = top[wrap % len(top)]
            wrap += 1
        else:
            out[i] = queues[best][head[best]]
            head[best] += 1
    return out


def locations(
    raw: pd.DataFrame, network: Any, rows: np.ndarray, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(city index or -1, lat, lon) per row (NaN where not given)."""
    from sim.cities import lookup_city, suggest

    n = len(raw)
    lat = numbers(raw["lat"], rows, where, "lat")[0] if "lat" in raw.columns else np.full(n, np.nan)
    lon = numbers(raw["lon"], rows, where, "lon")[0] if "lon" in raw.columns else np.full(n, np.nan)
    for name, v, lim in (("lat", lat, 90), ("lon", lon, 180)):
        bad = np.abs(v) > lim
        if bad.any():
            raise bad_rows(
                where, rows[bad], name, [f"must be within ±{lim}, got {x}" for x in v[bad][:MAX_BAD_ROWS]]
            )
    half = np.isnan(lat) != np.isnan(lon)
    if half.any():
        raise bad_rows(
            where,
            rows[half],
            "lat" if np.isnan(lat[half][0]) else "lon",
            ["give both lat and lon, or neither"] * int(half.sum()),
        )
    city = np.full(n, -1, dtype=np.int64)
    if "city" in raw.columns:
        cells = Cells.of(raw["city"])
        names = {c.lower(): i for i, c in enumerate(network.city_names)}
        index = np.full(len(cells.values), -1, dtype=np.int64)
        for k, value in enumerate(cells.values):
            if value == "":
                continue
            i = names.get(value.lower())
            if i is None:
                rec = lookup_city(value)
                i = names.get(rec.name.lower()) if rec else None
            if i is None:
                hit = cells.codes == k
                raise bad_rows(
                    where,
                    rows[hit],
                    "city",
                    [
                        f"city {value!r} is not in the scenario's geography.cities"
                        f"{suggest(value, list(network.city_names))}"
                    ]
                    * int(hit.sum()),
                )
            index[k] = i
        city = index[cells.codes]
    none = (city < 0) & np.isnan(lat)
    if none.any():
        raise bad_rows(where, rows[none], "city", ["needs a city or lat and lon"] * int(none.sum()))
    return city, lat, lon


def tiers(raw: pd.DataFrame, rows: np.ndarray, where: str) -> np.ndarray:
    if "requested_tier" not in raw.columns:
        return np.full(len(raw), -1, dtype=np.int64)
    cells = Cells.of(raw["requested_tier"])
    names = {t: i for i, t in enumerate(TIER_NAMES)} | {"": -1}
    code = np.array([names.get(v.lower(), -2) for v in cells.values], dtype=np.int64)[cells.codes]
    bad = code == -2
    if bad.any():
        raise bad_rows(
            where,
            rows[bad],
            "requested_tier",
            [f"must be near, mid, far or empty, got {v!r}" for v in cells.text(bad)[:MAX_BAD_ROWS]],
        )
    return code


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def zones(
    network: Any, city: np.ndarray, lat: np.ndarray, lon: np.ndarray, rows: np.ndarray, where: str
) -> np.ndarray:
    """Nearest zone (within the order's city when it has one) for orders with lat/lon; -1 otherwise."""
    from sim.units import EARTH_RADIUS_KM

    zone = np.full(len(city), -1, dtype=np.int64)
    located = ~np.isnan(lat)
    zxyz = _unit_xyz(network.zone_lat, network.zone_lon)
    groups = [
        (c, np.flatnonzero(network.zone_city == c), located & (city == c))
        for c in range(len(network.city_names))
    ]
    groups.append((-1, np.arange(network.n_zones), located & (city < 0)))
    for _c, zones, m in groups:
        if not m.any():
            continue
        dist, k = cKDTree(zxyz[zones]).query(_unit_xyz(lat[m], lon[m]))
        zone[m] = zones[k]
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(dist / 2, 0, 1))
        far = km > 2 * network.city_radius_km[network.zone_city[zones[k]]]
        if far.any():
            bad = np.flatnonzero(m)[far]
            raise bad_rows(
                where,
                rows[bad],
                "lat",
                [
                    f"({lat[i]}, {lon[i]}) is {d:.0f} km from the nearest zone "
                    f"(of {network.city_names[network.zone_city[zone[i]]]}): outside the scenario's cities"
                    for i, d in zip(bad[:MAX_BAD_ROWS], km[far], strict=False)
                ],
            )
    return zone
