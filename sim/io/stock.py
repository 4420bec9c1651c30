"""A planner's observed starting stock (``inventory.initial.file``): the state at the start of the horizon.

File: CSV (header row) or Parquet, one row per node x SKU (x age or arrival). Column names are
matched after stripping and lower-casing; other columns are ignored.

=====================  ==============================================================================
``node`` (required)     a node id of the scenario, spelled as in ``nodes`` (``NDC-SH``, ``store-Hangzhou-001``)
``sku`` (required)      the products table's id with ``catalog.file``; else a catalog index 0..n_skus-1
``units`` (required)    a whole number >= 0
``arrive``              empty or absent: on hand at the start (00:00 of ``horizon.start_date``, the
                        first warm-up day). Else the units are in transit to ``node`` and arrive then:
                        an ISO datetime (naive = China time) or seconds from the start, after the start.
``age_days``            on-hand perishable units' age at the start in whole days (default 0); units spoil
                        once older than their shelf life, so it must be below the shelf life
=====================  ==============================================================================

Rows for the same node, SKU, age and arrival are added up. A node that appears in the file is fully
specified: its SKUs not listed start at zero. Nodes not in the file start as without a file (forward
nodes empty, NDCs by the ``inventory.ndc_supply`` rule), and only they are filled at the start: on
day 0 neither the NDC supply rule nor the policy's review ships to a node the planner gave; from day 1
on every node is reviewed alike. Bad rows raise ``ScenarioError`` (exit 2) naming the row and column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.cities import suggest
from sim.demand.history_columns import MAX_BAD_ROWS, Cells, bad_rows, created_seconds, numbers, read_table
from sim.errors import ScenarioError
from sim.units import DAY


@dataclass(frozen=True)
class InitialStock:
    """Rows of the file as arrays (units > 0 only); ``arrive_s`` NaN = on hand at the start."""

    node: np.ndarray  # (k,) int64 index into the node ids given to the reader
    sku: np.ndarray  # (k,) int64 catalog index
    units: np.ndarray  # (k,) int64
    age_days: np.ndarray  # (k,) int64
    arrive_s: np.ndarray  # (k,) float64
    nodes_given: np.ndarray  # (N,) bool: the node appears in the file (even with zero units only)


def read_stock(
    path: Path,
    node_ids: list[str] | tuple[str, ...],
    start_date: dt.date,
    *,
    sku_ids: tuple[str, ...] | None,
    n_skus: int,
    shelf_life_days: np.ndarray | None = None,
) -> InitialStock:
    """The stock file checked against the network's nodes and the catalog (ScenarioError naming row, column)."""
    path = Path(path)
    where = f"inventory.initial.file: {path.name}"
    if not path.exists():
        raise ScenarioError(f"{where}: file not found ({path})")
    raw, first = read_table(path, where, ("node", "sku"))
    missing = [c for c in ("node", "sku", "units") if c not in raw.columns]
    if missing:
        raise ScenarioError(
            f"{where}: missing column(s) {', '.join(missing)}; needs node, sku, units "
            f"(optional arrive, age_days); got {', '.join(raw.columns) or 'none'}"
        )
    n = len(raw)
    rows = np.arange(first, first + n)
    node_of = {s: i for i, s in enumerate(node_ids)}
    nc = Cells.of(raw["node"])
    code = np.array([node_of.get(str(v), -1) for v in nc.values], np.int64)[nc.codes]
    bad = code < 0
    if bad.any():
        raise bad_rows(
            where,
            rows[bad],
            "node",
            [
                f"no node {v!r} in the scenario{suggest(str(v), list(node_ids))}" if v else "missing node id"
                for v in nc.text(bad)[:MAX_BAD_ROWS]
            ],
        )
    sku = _skus(raw["sku"], rows, where, sku_ids, n_skus)
    units, _ = numbers(raw["units"], rows, where, "units")
    bad = ~(np.isfinite(units) & (units >= 0) & (units == np.floor(units)) & (units < 2**62))
    if bad.any():
        raise bad_rows(
            where,
            rows[bad],
            "units",
            [f"must be a whole number >= 0, got {v}" for v in units[bad][:MAX_BAD_ROWS]],
        )
    arrive = np.full(n, np.nan)
    if "arrive" in raw.columns:
        given = ~Cells.of(raw["arrive"]).empty()
        if given.any():
            arrive[given] = created_seconds(raw["arrive"][given], start_date, rows[given], where)
            late = given & ~(arrive > 0)
            if late.any():
                raise bad_rows(
                    where,
                    rows[late],
                    "arrive",
                    [f"an in-transit shipment must arrive after the start ({start_date} 00:00)"]
                    * int(late.sum()),
                )
    age = np.zeros(n)
    if "age_days" in raw.columns:
        a, _ = numbers(raw["age_days"], rows, where, "age_days")
        a = np.where(np.isnan(a), 0.0, a)
        bad = ~((a >= 0) & (a == np.floor(a)))
        if bad.any():
            raise bad_rows(
                where,
                rows[bad],
                "age_days",
                [f"must be a whole number of days >= 0, got {v}" for v in a[bad][:MAX_BAD_ROWS]],
            )
        if shelf_life_days is not None:
            expired = (a > 0) & (a >= np.asarray(shelf_life_days, float)[sku])
            if expired.any():
                raise bad_rows(
                    where,
                    rows[expired],
                    "age_days",
                    [
                        f"{a[i]:g} days old is past the SKU's shelf life of {shelf_life_days[sku[i]]:g} days"
                        for i in np.flatnonzero(expired)[:MAX_BAD_ROWS]
                    ],
                )
        age = a
    nodes_given = np.zeros(len(node_ids), bool)
    nodes_given[code] = True
    keep = units > 0
    return InitialStock(
        node=code[keep],
        sku=sku[keep],
        units=units[keep].astype(np.int64),
        age_days=age[keep].astype(np.int64),
        arrive_s=arrive[keep],
        nodes_given=nodes_given,
    )


def _skus(col: Any, rows: np.ndarray, where: str, sku_ids: tuple[str, ...] | None, n_skus: int) -> np.ndarray:
    cells = Cells.of(col)
    if sku_ids is not None:
        index = {s: i for i, s in enumerate(sku_ids)}
        code = np.array([index.get(str(v), -1) for v in cells.values], np.int64)[cells.codes]
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
        return code
    vals = cells.values
    code = np.array([int(v) if v.isascii() and v.isdigit() else -1 for v in vals], np.int64)[cells.codes]
    bad = (code < 0) | (code >= n_skus)
    if bad.any():
        raise bad_rows(
            where,
            rows[bad],
            "sku",
            [
                f"expected a catalog index 0..{n_skus - 1} (no products table, "
                f"catalog.file, names SKUs by id), got {v!r}"
                for v in cells.text(bad)[:MAX_BAD_ROWS]
            ],
        )
    return code


def scenario_stock(
    sc: Any, node_ids: list[str] | tuple[str, ...], catalog: Any = None
) -> InitialStock | None:
    """The scenario's starting stock (None without ``inventory.initial``)."""
    init = getattr(sc.inventory, "initial", None)
    if init is None:
        return None
    if catalog is not None:
        sku_ids, n_skus, life = catalog.sku_id, catalog.n_skus, catalog.shelf_life_s / DAY
    elif sc.catalog.file is not None:
        from sim.io.products import scenario_products

        p = scenario_products(sc)
        sku_ids, n_skus, life = p.sku_id, len(p.sku_id), p.shelf_life_days
    else:
        sku_ids, n_skus, life = None, sc.catalog.n_skus, None
    return read_stock(
        Path(init.file), node_ids, sc.horizon.start_date, sku_ids=sku_ids, n_skus=n_skus, shelf_life_days=life
    )
