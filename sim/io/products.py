"""A planner's products table (``catalog.file``, the SKU master) read, validated and made the run's catalog.

File: CSV (header row; ``#`` lines are not allowed inside) or Parquet, one row per SKU. Column names
are matched after stripping and lower-casing; other columns are ignored.

======================  =============================================================================
``sku`` (required)       the planner's SKU id, text, unique. Row order is the catalog's index order:
                         the first row is SKU index 0 in the run's arrays and the ``sku`` columns.
``name``                 product name (empty or absent: the id)
``category`` (required)  any text. A category named like one of ``catalog.categories`` takes that
                         category's tiers (when ``tiers`` is empty) and its ``demand.tier_mix_by_category``
``value_cny`` (required) unit value in CNY, > 0
``volume_l`` (required)  unit volume in litres, > 0
``shelf_life_days``      > 0 days; empty or absent = not perishable
``tiers``                tiers that may carry the SKU: ``near``, ``mid``, ``far`` separated by ``|``,
                         ``,``, ``;`` or spaces; empty or absent = the scenario category's tiers, else all
``popularity``           relative share of demanded units, >= 0 with a positive sum. Absent: estimated
                         from the history with ``demand.source: file`` (units per SKU in the file + 0.5,
                         so a SKU without recorded sales keeps a small share), else Zipf(``catalog.zipf_s``)
                         by row order (first row most popular)
======================  =============================================================================

Bad rows raise ``ScenarioError`` (exit 2) naming the file, the row (CSV: the file's line, header =
row 1; Parquet: the record, first = row 1) and the column. With a products table, ``catalog.n_skus``
is the number of rows (set by resolution) and a history's ``sku`` column holds these ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim import units
from sim.catalog_model import TIER_NAMES, Catalog, zipf_probabilities
from sim.demand.history_columns import MAX_BAD_ROWS, Cells, bad_rows, numbers, read_table
from sim.errors import ScenarioError

REQUIRED = ("sku", "category", "value_cny", "volume_l")
OPTIONAL = ("name", "shelf_life_days", "tiers", "popularity")
TEXT = ("sku", "name", "category", "tiers")
HISTORY_SMOOTHING = 0.5  # units added to every SKU's recorded sales when popularity is estimated


@dataclass(frozen=True)
class Products:
    """The table as arrays, index i = row i."""

    sku_id: tuple[str, ...]
    name: tuple[str, ...]
    category: np.ndarray  # (S,) int16 into category_names (first appearance order)
    category_names: tuple[str, ...]
    value_cny: np.ndarray
    volume_l: np.ndarray
    shelf_life_days: np.ndarray  # inf = not perishable
    tier_eligible: np.ndarray  # (S, 3) bool
    popularity: np.ndarray | None  # (S,) given weights, None when the column is absent

    @property
    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.sku_id)}


_CACHE: dict[tuple[Any, ...], Products] = {}


def read_products(path: Path, category_tiers: dict[str, tuple[str, ...]] | None = None) -> Products:
    """The products table at `path` (cached by path, size and mtime); ScenarioError naming row and column."""
    path = Path(path)
    where = f"catalog.file: {path.name}"
    if not path.exists():
        raise ScenarioError(f"{where}: file not found ({path})")
    st = path.stat()
    tiers = dict(category_tiers or {})
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, tuple(sorted(tiers.items())))
    if key not in _CACHE:
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _read(path, where, tiers)
    return _CACHE[key]


def _positive(raw: Any, rows: np.ndarray, where: str, col: str, *, empty: float | None) -> np.ndarray:
    """Floats > 0 per row; empty cells become `empty` (None = refused as missing)."""
    val, cells = numbers(raw[col], rows, where, col)
    missing = np.isnan(val)
    if missing.any() and empty is None:
        raise bad_rows(where, rows[missing], col, ["missing value"] * int(missing.sum()))
    val = np.where(missing, empty if empty is not None else np.nan, val)
    bad = ~missing & ~(val > 0)
    if bad.any():
        raise bad_rows(where, rows[bad], col, [f"must be > 0, got {v:g}" for v in val[bad][:MAX_BAD_ROWS]])
    return val


def _tiers(
    raw: Any,
    rows: np.ndarray,
    where: str,
    category: np.ndarray,
    names: tuple[str, ...],
    category_tiers: dict[str, tuple[str, ...]],
) -> np.ndarray:
    default = np.array([[t in category_tiers.get(c, TIER_NAMES) for t in TIER_NAMES] for c in names], bool)
    out = default[category].reshape(len(category), 3)
    if "tiers" not in raw.columns:
        return out
    cells = Cells.of(raw["tiers"])
    parsed: list[np.ndarray | None] = []
    for k, text in enumerate(cells.values):
        words = [w.lower() for w in re.split(r"[|,;\s]+", text) if w]
        unknown = [w for w in words if w not in TIER_NAMES]
        if unknown:
            hit = cells.codes == k
            raise bad_rows(
                where,
                rows[hit],
                "tiers",
                [
                    f"unknown tier {unknown[0]!r}; use near, mid, far separated "
                    f"by '|' (e.g. near|mid), got {text!r}"
                ]
                * int(hit.sum()),
            )
        parsed.append(np.array([t in words for t in TIER_NAMES]) if words else None)
    for k, mask in enumerate(parsed):
        if mask is not None:
            out[cells.codes == k] = mask
    return out


def _read(path: Path, where: str, category_tiers: dict[str, tuple[str, ...]]) -> Products:
    raw, first = read_table(path, where, TEXT)
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ScenarioError(
            f"{where}: missing column(s) {', '.join(missing)}; needs {', '.join(REQUIRED)} "
            f"(optional {', '.join(OPTIONAL)}); got {', '.join(raw.columns) or 'none'}"
        )
    if raw.empty:
        raise ScenarioError(f"{where}: no rows")
    n = len(raw)
    rows = np.arange(first, first + n)
    ids = Cells.of(raw["sku"])
    empty = ids.empty()
    if empty.any():
        raise bad_rows(where, rows[empty], "sku", ["missing SKU id"] * int(empty.sum()))
    seen: dict[int, int] = {}
    dup = []
    for i, c in enumerate(ids.codes):
        if int(c) in seen:
            dup.append((i, seen[int(c)]))
        else:
            seen[int(c)] = i
    if dup:
        raise bad_rows(
            where,
            rows[[i for i, _ in dup]],
            "sku",
            [f"duplicate SKU id {ids.values[ids.codes[i]]!r} (first on row {rows[j]})" for i, j in dup],
        )
    sku_id = tuple(str(ids.values[c]) for c in ids.codes)
    if "name" in raw.columns:
        nc = Cells.of(raw["name"])
        name = tuple(str(nc.values[c]) or s for c, s in zip(nc.codes, sku_id, strict=True))
    else:
        name = sku_id
    cc = Cells.of(raw["category"])
    empty = cc.empty()
    if empty.any():
        raise bad_rows(where, rows[empty], "category", ["missing category"] * int(empty.sum()))
    names: list[str] = []
    code_of: dict[str, int] = {}
    for c in cc.codes:  # categories numbered by first appearance
        v = str(cc.values[c])
        if v not in code_of:
            code_of[v] = len(names)
            names.append(v)
    category = np.array([code_of[str(cc.values[c])] for c in cc.codes], np.int16)
    value = _positive(raw, rows, where, "value_cny", empty=None)
    volume = _positive(raw, rows, where, "volume_l", empty=None)
    life = (
        _positive(raw, rows, where, "shelf_life_days", empty=np.inf)
        if "shelf_life_days" in raw.columns
        else np.full(n, np.inf)
    )
    tiers = _tiers(raw, rows, where, category, tuple(names), category_tiers)
    none = ~tiers.any(axis=1)
    if none.any():
        raise bad_rows(where, rows[none], "tiers", ["needs at least one tier"] * int(none.sum()))
    pop = None
    if "popularity" in raw.columns:
        pop, _ = numbers(raw["popularity"], rows, where, "popularity")
        bad = ~(np.isfinite(pop) & (pop >= 0))
        if bad.any():
            raise bad_rows(
                where,
                rows[bad],
                "popularity",
                [f"must be a number >= 0, got {v}" for v in pop[bad][:MAX_BAD_ROWS]],
            )
        if pop.sum() <= 0:
            raise ScenarioError(f"{where}: column popularity: needs a positive sum")
    return Products(
        sku_id=sku_id,
        name=name,
        category=category,
        category_names=tuple(names),
        value_cny=value,
        volume_l=volume,
        shelf_life_days=life,
        tier_eligible=tiers,
        popularity=pop,
    )


def scenario_products(sc: Any) -> Products:
    """The scenario's products table (``catalog.file`` must be set)."""
    return read_products(Path(sc.catalog.file), {c.name: tuple(c.tiers) for c in sc.catalog.categories})


def history_units(sc: Any, products: Products) -> np.ndarray:
    """Units per product in the history file (every row, before the start too); unknown ids are ignored
    here (the history loader refuses them with their row)."""
    raw, first = read_table(Path(sc.demand.file))
    if "sku" not in raw.columns or "qty" not in raw.columns:
        return np.zeros(len(products.sku_id))
    rows = np.arange(first, first + len(raw))
    qty, _ = numbers(raw["qty"], rows, f"demand.file: {Path(sc.demand.file).name}", "qty")
    cells = Cells.of(raw["sku"])
    index = products.index
    code = np.array([index.get(str(v), -1) for v in cells.values], np.int64)[cells.codes]
    ok = (code >= 0) & np.isfinite(qty)
    return np.bincount(code[ok], weights=qty[ok], minlength=len(products.sku_id))


def products_catalog(sc: Any) -> Catalog:
    """The run's catalog from the products table: ids, names and attributes as given, popularity as
    given, estimated from the history, or Zipf by row order (module docstring)."""
    p = scenario_products(sc)
    n = len(p.sku_id)
    if p.popularity is not None:
        weight = p.popularity
    elif sc.demand.source == "file" and sc.demand.file is not None and Path(sc.demand.file).exists():
        weight = history_units(sc, p) + HISTORY_SMOOTHING
    else:
        weight = zipf_probabilities(n, sc.catalog.zipf_s)
    popularity = np.asarray(weight, float) / float(np.sum(weight))
    order = np.argsort(-popularity, kind="stable")
    rank = np.empty(n, np.int32)
    rank[order] = np.arange(n, dtype=np.int32)
    life_s = np.where(np.isfinite(p.shelf_life_days), p.shelf_life_days * units.DAY, np.inf)
    return Catalog(
        category=p.category.copy(),
        category_names=p.category_names,
        popularity=popularity,
        rank=rank,
        value_cny=p.value_cny.astype(float),
        volume_l=p.volume_l.astype(float),
        shelf_life_s=life_s,
        tier_eligible=p.tier_eligible.copy(),
        sku_id=p.sku_id,
        sku_name=p.name,
    )
