"""The run directory (DESIGN.md 10, a public contract): write it atomically, read it back.

``write_run`` builds every file in a hidden temporary directory next to the target and renames
it into place only when complete, so a crash never leaves a half-written run, and ``--force``
replaces an old run only once the new one is whole. Output is byte-identical for identical inputs:
Parquet tables are built from arrays with explicit schemas (no pandas metadata, no timestamps),
written with fixed writer options, inventory rows in a canonical order, and kpis.json with sorted
keys. The wall-clock time of the run appears only in manifest.json, which is therefore the one file
that differs between two writes of the same records. (Between two *runs*, kpis.json also differs in
``router.solver_ms_mean`` as long as the engine measures solver time on the wall clock.)
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim import __version__
from sim.errors import ScenarioError
from sim.io import outdir
from sim.io.scenario import scenario_hash, to_yaml
from sim.metrics.kpis import KIND_NAMES, RESOURCES, compute_kpis
from sim.records import STATUS_NAMES, TIER_NAMES, RunRecords

TABLES = ("orders", "lines", "inventory", "nodes")
RUN_FILES = ("manifest.json", "kpis.json", *(f"{t}.parquet" for t in TABLES))
PACKAGES = ("numpy", "pandas", "pyarrow", "simpy", "ortools", "networkx")

ORDERS_SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("created_s", pa.float64()),
        ("zone_id", pa.int32()),
        ("n_lines", pa.int16()),
        ("units", pa.int32()),
        ("requested_tier", pa.string()),
        ("served_tier", pa.string()),
        ("node_id", pa.string()),
        ("status", pa.string()),
        ("promised_s", pa.float64()),
        ("delivered_s", pa.float64()),
        ("downgraded", pa.bool_()),
        ("n_shipments", pa.int8()),
        ("on_time", pa.bool_()),
        ("perfect", pa.bool_()),
        ("warmup", pa.bool_()),
        ("cost_cny", pa.float64()),
        ("cost_handling_cny", pa.float64()),
        ("cost_transport_cny", pa.float64()),
        ("cost_split_cny", pa.float64()),
        ("cost_penalty_cny", pa.float64()),
    ]
)
LINES_SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("sku", pa.int32()),
        ("qty", pa.int32()),
        ("preferred_node_id", pa.string()),
        ("node_id", pa.string()),
        ("served_tier", pa.string()),
        ("status", pa.string()),
    ]
)
INVENTORY_FLOWS = ("start", "received", "shipped", "transferred_out", "spoiled", "end", "lost_demand")
INVENTORY_SCHEMA = pa.schema(
    [
        ("day", pa.int32()),
        ("node_id", pa.string()),
        ("sku", pa.int32()),
        *((c, pa.int64()) for c in INVENTORY_FLOWS),
    ]
)
NODES_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("kind", pa.string()),
        ("city", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("orders", pa.int64()),
        *((f"{r}_{c}", pa.float64()) for r in RESOURCES for c in ("busy_s", "available_s", "utilisation")),
    ]
)


@dataclass
class RunResult:
    """A run directory in memory: ``kpis`` as kpis.json, the four tables as pandas DataFrames."""

    path: Path
    kpis: dict[str, Any]
    orders: pd.DataFrame
    lines: pd.DataFrame
    inventory: pd.DataFrame
    nodes: pd.DataFrame
    manifest: dict[str, Any]
    skus: pd.DataFrame | None = None  # skus.parquet (None for a run written before it existed)


# --------------------------------------------------------------------------- tables
def _names(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> pa.Array:
    """Integer codes to a string column via a dictionary (vectorised); code -1 becomes null."""
    codes = np.asarray(codes, dtype=np.int64)
    null = codes < 0
    if np.any(codes >= len(names)):
        bad = int(codes[codes >= len(names)][0])
        raise ValueError(f"code {bad} has no name (only {len(names)}: {list(names)[:5]}...)")
    idx = pa.array(np.where(null, 0, codes).astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(names), pa.string())).dictionary_decode()


def orders_table(records: RunRecords, network: Any) -> pa.Table:
    """orders.parquet: one row per order, in creation order, exactly the contract's columns."""
    o = records.orders
    cols = [
        o.order_id.astype(np.int64),
        o.created_s.astype(np.float64),
        o.zone.astype(np.int32),
        o.n_lines.astype(np.int16),
        o.units.astype(np.int32),
        _names(o.requested_tier, TIER_NAMES),
        _names(o.served_tier, TIER_NAMES),
        _names(o.node, network.node_ids),
        _names(o.status, STATUS_NAMES),
        o.promised_s.astype(np.float64),
        o.delivered_s.astype(np.float64),
        o.downgraded.astype(bool),
        o.n_shipments.astype(np.int8),
        o.on_time,
        o.perfect,
        o.warmup.astype(bool),
        o.cost.astype(np.float64),
        o.cost_handling.astype(np.float64),
        o.cost_transport.astype(np.float64),
        o.cost_split.astype(np.float64),
        o.cost_penalty.astype(np.float64),
    ]
    table = pa.Table.from_arrays(
        [pa.array(c) if isinstance(c, np.ndarray) else c for c in cols], schema=ORDERS_SCHEMA
    )
    if o.oversold is not None:  # nodes.stores.offline: sent back once from a store whose shelf was short
        table = table.append_column(pa.field("oversold", pa.bool_()), pa.array(o.oversold.astype(bool)))
    if o.near_stocked is not None:  # tiers.near.record_stocked: the near requests staffing could have served
        table = table.append_column(
            pa.field("near_stocked", pa.bool_()), pa.array(o.near_stocked.astype(bool))
        )
    return table


def lines_table(records: RunRecords, network: Any, catalog: Any = None) -> pa.Table:
    """lines.parquet: one row per order line, node ids as strings (null when none). With a products
    table (``catalog.sku_id`` set) two more columns follow: the planner's ``sku_id`` and ``sku_name``. With
    substitution on (``tiers.substitution``) ``substitute_sku`` follows: the SKU shipped instead (null: none), then ``stockout``: the line met a
    stock-out (short at every node of its tier or faster that was open, in reach and had capacity for it)."""
    ln = records.lines
    table = pa.Table.from_arrays(
        [
            pa.array(ln.order_id.astype(np.int64)),
            pa.array(ln.sku.astype(np.int32)),
            pa.array(ln.qty.astype(np.int32)),
            _names(ln.preferred_node, network.node_ids),
            _names(ln.node, network.node_ids),
            _names(ln.served_tier, TIER_NAMES),
            _names(ln.status, STATUS_NAMES),
        ],
        schema=LINES_SCHEMA,
    )
    if catalog is not None and getattr(catalog, "sku_id", None) is not None:
        table = table.append_column(pa.field("sku_id", pa.string()), _names(ln.sku, catalog.sku_id))
        table = table.append_column(pa.field("sku_name", pa.string()), _names(ln.sku, catalog.sku_name))
    if ln.substitute_sku is not None:
        sub = ln.substitute_sku.astype(np.int32)
        table = table.append_column(pa.field("substitute_sku", pa.int32()), pa.array(sub, mask=sub < 0))
    if ln.stockout is not None:
        table = table.append_column(pa.field("stockout", pa.bool_()), pa.array(ln.stockout.astype(bool)))
    return table


def inventory_table(records: RunRecords, network: Any, rows: np.ndarray | None = None) -> pa.Table:
    """inventory.parquet: per day x node x SKU, sorted by (day, node, sku) so the bytes are canonical. With
    counter sales at shops on (``nodes.stores.offline``) ``sold_offline`` follows: units sold over the counter
    (start + received - shipped - transferred_out - spoiled - sold_offline = end). `rows`: the records' rows
    to take, in order (default: all, sorted)."""
    v = records.inventory
    order = inventory_order(v) if rows is None else rows
    table = pa.Table.from_arrays(
        [
            pa.array(v.day[order].astype(np.int32)),
            _names(v.node[order], network.node_ids),
            pa.array(v.sku[order].astype(np.int32)),
            *(pa.array(np.asarray(getattr(v, c))[order].astype(np.int64)) for c in INVENTORY_FLOWS),
        ],
        schema=INVENTORY_SCHEMA,
    )
    if v.sold_offline is not None:
        table = table.append_column(
            pa.field("sold_offline", pa.int64()), pa.array(v.sold_offline[order].astype(np.int64))
        )
    return table


def inventory_order(v: Any) -> np.ndarray:
    """The inventory rows in file order: by (day, node, sku)."""
    return np.lexsort((v.sku, v.node, v.day))


def nodes_table(records: RunRecords, network: Any) -> pa.Table:
    """nodes.parquet: per node its place, measured orders served (as the order's node) and resource use."""
    n = len(network.node_ids)
    o = records.orders
    sel = ~o.warmup & (o.node >= 0)
    served = np.bincount(o.node[sel], minlength=n)[:n].astype(np.int64)
    cols: list[Any] = [
        pa.array(list(network.node_ids), pa.string()),
        _names(np.asarray(network.node_kind), KIND_NAMES),
        _names(np.asarray(network.node_city), network.city_names),
        pa.array(np.asarray(network.node_lat, float)),
        pa.array(np.asarray(network.node_lon, float)),
        pa.array(served),
    ]
    for r in RESOURCES:
        busy = np.asarray(records.nodes.busy_s.get(r, np.zeros(n)), float)
        avail = np.asarray(records.nodes.available_s.get(r, np.zeros(n)), float)
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(avail > 0, busy / np.where(avail > 0, avail, 1.0), np.nan)
        cols += [pa.array(busy), pa.array(avail), pa.array(util)]
    return pa.Table.from_arrays(cols, schema=NODES_SCHEMA)


ROW_GROUP = 1 << 20
PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_size": 1 << 20,
}


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Fixed writer options (no wall-clock anywhere), so equal tables give equal bytes."""
    pq.write_table(table, path, row_group_size=ROW_GROUP, **PARQUET_OPTIONS)


def _write_sliced(n: int, build: Callable[[slice], pa.Table], path: Path) -> None:
    """The table of `n` rows built and written one row group at a time (``build(rows)`` gives the table of
    those rows): the same bytes as ``_write_parquet`` of the whole table, without holding the whole table."""
    if n <= ROW_GROUP:
        _write_parquet(build(slice(0, n)), path)
        return
    first = build(slice(0, ROW_GROUP))
    with pq.ParquetWriter(path, first.schema, **PARQUET_OPTIONS) as w:
        w.write_table(first, row_group_size=ROW_GROUP)
        del first
        for lo in range(ROW_GROUP, n, ROW_GROUP):
            w.write_table(build(slice(lo, lo + ROW_GROUP)), row_group_size=ROW_GROUP)


def _rows_of(part: Any, rows: slice) -> Any:
    """A record part (OrderRecords, LineRecords) cut to `rows` (views, no copies)."""
    return replace(
        part,
        **{
            f.name: None if getattr(part, f.name) is None else getattr(part, f.name)[rows]
            for f in fields(part)
        },
    )


def _write_inventory(records: RunRecords, network: Any, path: Path) -> None:
    rows = inventory_order(records.inventory)  # the sort is computed once, the table built per row group
    _write_sliced(rows.size, lambda r: inventory_table(records, network, rows[r]), path)


def write_tables(records: RunRecords, network: Any, folder: Path, catalog: Any = None) -> None:
    """orders, inventory, nodes and lines .parquet into `folder`, a row group at a time."""
    o, ln = records.orders, records.lines
    _write_sliced(
        o.n,
        lambda r: orders_table(replace(records, orders=_rows_of(o, r)), network),
        folder / "orders.parquet",
    )
    _write_inventory(records, network, folder / "inventory.parquet")
    _write_parquet(nodes_table(records, network), folder / "nodes.parquet")
    _write_sliced(
        ln.order_id.size,
        lambda r: lines_table(replace(records, lines=_rows_of(ln, r)), network, catalog),
        folder / "lines.parquet",
    )


# --------------------------------------------------------------------------- json
def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dt.date | Path):
        return str(x)
    raise TypeError(f"{type(x).__name__} is not JSON-serialisable")


def dumps(obj: Any) -> str:
    """Canonical JSON: indent 2, sorted keys, no NaN (a NaN is a bug in the producer)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n"


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def manifest(scenario: Any, records: RunRecords, meta: dict[str, Any]) -> dict[str, Any]:
    """manifest.json: what produced the run. `meta` may set seed, replication, policy, router, wall_s
    (defaults from the scenario) and add any other key."""
    out: dict[str, Any] = {
        "shangou_version": __version__,
        "scenario": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "seed": scenario.seed,
        "replication": 0,
        "policy": scenario.policy,
        "router": scenario.router.name,
        "wall_s": None,
        "warmup_days": records.warmup_days,
        "measured_days": records.measured_days,
        "packages": _versions(),
    }
    out.update(meta)
    return out


# --------------------------------------------------------------------------- the directory
check_out_dir = outdir.check_out_dir  # public: refuse a bad --out before spending time on the simulation


def write_run(
    out_dir: Path,
    records: RunRecords,
    network: Any,
    scenario: Any,
    catalog_values: np.ndarray,
    meta: dict[str, Any],
    *,
    force: bool,
    extra: dict[str, pa.Table] | None = None,
    catalog: Any = None,
) -> Path:
    """Write the run directory atomically and return its path.

    `catalog_values` are unit values per SKU (CNY, for the inventory value KPIs); `meta` goes into
    manifest.json (see ``manifest``), and its ``start_date`` (default the scenario's) labels by_day.
    `extra` tables (name -> table, e.g. explain) are written as optional NAME.parquet files in the same
    atomic directory. `catalog` (the run's ``Catalog``) adds the planner's SKU ids and names to lines.parquet
    when it came from a products table.
    """
    out = Path(out_dir)
    place = Path(os.path.abspath(out))  # `out` may be relative or end in ..: siblings need a real name
    check_out_dir(out, force, probe=False)
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
        outdir.clean_leftovers(place)
        tmp = outdir.hidden_sibling(place, "partial")
        tmp.mkdir()
    except OSError as e:
        raise ScenarioError(f"--out: cannot create a directory next to {out}: {e.strerror or e}") from e
    try:
        kpis = compute_kpis(
            records,
            network,
            catalog_values,
            {
                "start_date": scenario.horizon.start_date,
                "near_promise_min": scenario.tiers.near.promise_min,
                **meta,
            },
        )
        (tmp / "scenario.yaml").write_text(to_yaml(scenario), encoding="utf-8")
        write_tables(records, network, tmp, catalog)
        for name, table in (extra or {}).items():
            _write_parquet(table, tmp / f"{name}.parquet")
        (tmp / "kpis.json").write_text(dumps(kpis), encoding="utf-8")
        (tmp / "manifest.json").write_text(dumps(manifest(scenario, records, meta)), encoding="utf-8")
        check_out_dir(out, force, probe=False)  # something may have appeared there while we were writing
        outdir.swap(tmp, place)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, PermissionError) or e.errno in outdir.USER_ERRNOS:
            raise ScenarioError(f"--out: cannot write {out}: {e.strerror or e}") from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


_READ_ONCE: dict[Path, tuple[tuple[Any, ...], RunResult]] | None = None  # see read_once


@contextmanager
def read_once() -> Iterator[None]:
    """Within the block, ``load_run`` reads each run directory once and hands out copies (``simulate``:
    the report, its calibration table and the returned result read the run just written). Tables are
    shallow copies, safe under pandas' copy-on-write; the block drops them when it ends."""
    global _READ_ONCE
    prev, _READ_ONCE = _READ_ONCE, {}
    try:
        yield
    finally:
        _READ_ONCE = prev


def _stamp(p: Path) -> tuple[Any, ...]:
    """The files ``load_run`` reads, as (name, mtime, size)."""
    files = [p / f for f in (*RUN_FILES, "skus.parquet")]
    return tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.is_file())


def _copy_run(r: RunResult) -> RunResult:
    tables = {t: getattr(r, t).copy(deep=False) for t in TABLES}
    return RunResult(
        path=r.path,
        kpis=copy.deepcopy(r.kpis),
        manifest=copy.deepcopy(r.manifest),
        skus=None if r.skus is None else r.skus.copy(deep=False),
        **tables,
    )


def load_run(path: str | Path, tables: tuple[str, ...] | None = None) -> RunResult:
    """Read a run directory back (ScenarioError, exit 2, if `path` is not one). With `tables`, only those of
    orders, lines, inventory and nodes are read; the others are empty (their columns, no rows): a caller
    that prints the KPIs needs no inventory rows (at national scale, millions)."""
    if tables is not None:
        return _load_run(path, tables)
    if _READ_ONCE is None:
        return _load_run(path)
    key = Path(path).resolve()
    stamp = _stamp(key) if key.is_dir() else ()
    hit = _READ_ONCE.get(key)
    if hit is None or hit[0] != stamp:
        hit = (stamp, _load_run(path))
        _READ_ONCE[key] = hit
    return _copy_run(hit[1])


def _load_run(path: str | Path, only: tuple[str, ...] | None = None) -> RunResult:
    p = Path(path)
    if not p.is_dir():
        raise ScenarioError(f"{p}: not a run directory (no such directory)")
    missing = [f for f in RUN_FILES if not (p / f).is_file()]
    if missing:
        raise ScenarioError(f"{p}: not a Shangou run directory (missing {', '.join(missing)})")
    try:
        kpis = json.loads((p / "kpis.json").read_text(encoding="utf-8"))
        man = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
        tables = {
            t: pd.read_parquet(p / f"{t}.parquet")
            if only is None or t in only
            else pq.read_schema(p / f"{t}.parquet").empty_table().to_pandas()
            for t in TABLES
        }
        skus = pd.read_parquet(p / "skus.parquet") if (p / "skus.parquet").is_file() else None
    except (OSError, ValueError, pa.ArrowException) as e:
        raise ScenarioError(f"{p}: unreadable run directory ({e})") from e
    return RunResult(path=p, kpis=kpis, manifest=man, skus=skus, **tables)
