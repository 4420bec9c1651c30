"""``DIR/skus.parquet`` (the catalog as simulated, DESIGN.md 10) and ``DIR/order_ids.parquet`` (a history's
own order ids), written for every run next to the contract tables.

skus.parquet, one row per catalog SKU in index order: ``sku`` int32 (the index used by lines.parquet and
inventory.parquet), ``sku_id`` string (the planner's id: from the products table, or with a history of
text ids and no products table the history id(s) mapped onto this SKU, ``|``-joined; null for a synthetic
SKU no history id maps to), ``name`` string (products table; null otherwise), ``category`` string,
``value_cny``, ``volume_l``, ``shelf_life_days`` float64 (null = not perishable), ``tiers`` string
(``near|mid|far``, the eligible tiers), ``popularity`` float64 (share of demanded units), ``rank`` int32
(0 = most popular).

order_ids.parquet (history replay with an ``order_id`` column only): ``order_id`` int64 (the run's id, as
in orders.parquet) and ``source_order_id`` string (the file's id; empty for a line without one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from sim.catalog import TIER_NAMES, Catalog
from sim.demand.orders import ORDER_ID_STRIDE
from sim.units import DAY

SKUS_SCHEMA = pa.schema(
    [
        ("sku", pa.int32()),
        ("sku_id", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("value_cny", pa.float64()),
        ("volume_l", pa.float64()),
        ("shelf_life_days", pa.float64()),
        ("tiers", pa.string()),
        ("popularity", pa.float64()),
        ("rank", pa.int32()),
    ]
)
ORDER_IDS_SCHEMA = pa.schema([("order_id", pa.int64()), ("source_order_id", pa.string())])


def skus_table(catalog: Catalog, sku_map: dict[str, int] | None = None) -> pa.Table:
    """The catalog as skus.parquet's table; `sku_map` (history id -> index) labels a synthetic catalog."""
    n = catalog.n_skus
    if catalog.sku_id is not None:
        ids: list[str | None] = list(catalog.sku_id)
        names: list[str | None] = list(catalog.sku_name or catalog.sku_id)
    else:
        mapped: list[list[str]] = [[] for _ in range(n)]
        for sid, i in sorted((sku_map or {}).items(), key=lambda kv: (kv[1], kv[0])):
            mapped[i].append(sid)
        ids = ["|".join(m) if m else None for m in mapped]
        names = [None] * n
    life = catalog.shelf_life_s / DAY
    tiers = [
        "|".join(t for t, ok in zip(TIER_NAMES, row, strict=True) if ok) for row in catalog.tier_eligible
    ]
    return pa.Table.from_arrays(
        [
            pa.array(np.arange(n, dtype=np.int32)),
            pa.array(ids, pa.string()),
            pa.array(names, pa.string()),
            pa.array([catalog.category_names[c] for c in catalog.category], pa.string()),
            pa.array(catalog.value_cny.astype(np.float64)),
            pa.array(catalog.volume_l.astype(np.float64)),
            pa.array(np.where(np.isfinite(life), life, 0.0), mask=~np.isfinite(life)),
            pa.array(tiers, pa.string()),
            pa.array(catalog.popularity.astype(np.float64)),
            pa.array(catalog.rank.astype(np.int32)),
        ],
        schema=SKUS_SCHEMA,
    )


def order_ids_table(sc: Any, network: Any, catalog: Catalog, order_id: np.ndarray) -> pa.Table | None:
    """The history's own order id of every run order (`order_id`: the run's ids), or None when the run is
    not a history replay or its file has no order_id column."""
    if sc.demand.source != "file":
        return None
    from sim.demand.history import run_order_keys

    order_id = np.asarray(order_id, np.int64)
    day = order_id // ORDER_ID_STRIDE
    source = np.full(order_id.size, "", dtype=object)
    for d in np.unique(day):
        keys = run_order_keys(sc, network, catalog, int(d))
        if keys is None:
            return None
        m = day == d
        seq = order_id[m] - d * ORDER_ID_STRIDE
        source[m] = keys[seq]
    return pa.Table.from_arrays(
        [pa.array(order_id), pa.array(source.tolist(), pa.string())], schema=ORDER_IDS_SCHEMA
    )


def history_sku_map(sc: Any, network: Any, catalog: Catalog) -> dict[str, int]:
    """The history's SKU id -> catalog index mapping (empty unless a history of text ids without products)."""
    if sc.demand.source != "file" or catalog.sku_id is not None:
        return {}
    from sim.demand.history import load_history

    return dict(load_history(sc, network, catalog).sku_map)


def order_lines(run_dir: Any, order_id: int) -> list[dict[str, Any]]:
    """The lines of one order (lines.parquet) with the planner's SKU id and name from skus.parquet when the
    run has one, and the history's own order id (order_ids.parquet) under ``source_order_id``."""
    from pathlib import Path

    import pyarrow.parquet as pq

    p = Path(run_dir)
    flt = [("order_id", "=", int(order_id))]
    lines = (
        pq.read_table(p / "lines.parquet", filters=flt).to_pylist() if (p / "lines.parquet").is_file() else []
    )
    skus: dict[int, dict[str, Any]] = {}
    if (p / "skus.parquet").is_file():
        skus = {
            r["sku"]: r
            for r in pq.read_table(
                p / "skus.parquet", columns=["sku", "sku_id", "name", "category"]
            ).to_pylist()
        }
    source = None
    if (p / "order_ids.parquet").is_file():
        hit = pq.read_table(p / "order_ids.parquet", filters=flt).to_pylist()
        source = hit[0]["source_order_id"] if hit else None
    out = []
    for ln in lines:
        s = skus.get(ln["sku"], {})
        out.append(
            {
                "sku": ln["sku"],
                "sku_id": ln.get("sku_id") or s.get("sku_id"),
                "name": ln.get("sku_name") or s.get("name"),
                "category": s.get("category"),
                "qty": ln["qty"],
                "node_id": ln["node_id"],
                "status": ln["status"],
                "source_order_id": source,
            }
        )
    return out


def sku_labels(run_dir: Any) -> dict[int, str]:
    """Catalog index -> the label a planner knows (``HZ-0017 Milk 1L``; the history id; else ``SKU 17``), read
    from a run's skus.parquet (an older run without one: every SKU as ``SKU i``). For reports and tables."""
    from pathlib import Path

    import pyarrow.parquet as pq

    p = Path(run_dir) / "skus.parquet"
    if not p.is_file():
        return {}
    out: dict[int, str] = {}
    for r in pq.read_table(p, columns=["sku", "sku_id", "name"]).to_pylist():
        label = " ".join(x for x in (r["sku_id"], r["name"]) if x)
        out[int(r["sku"])] = label or f"SKU {r['sku']}"
    return out
