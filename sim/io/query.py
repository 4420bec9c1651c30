"""SQL over run directories: one run, or a folder of runs (a compare / sweep output), as DuckDB views.

``connect(DIR)`` finds every run directory at or under DIR (a directory holding the files of
DESIGN.md 10; hidden directories, such as a half-written ``.x.partial``, are skipped) and opens an
in-memory DuckDB database with:

- ``orders``, ``lines``, ``inventory``, ``nodes``: views over the runs' Parquet files, every row
  prefixed with ``run_id``, ``policy``, ``replication`` and ``seed`` from the run's manifest, so the
  same SQL works on one run and on a hundred (``GROUP BY policy``). Join tables on
  ``(run_id, order_id)``; add ``ORDER BY`` when row order matters.
- ``runs``: one row per run: manifest fields (``scenario``, ``router``, ``warmup_days``, ...) and
  the headline KPIs as columns (``cost_per_order_cny``, ``near_share``, ...).
- ``kpis``: kpis.json flattened to one row per (run, key), ``key`` the dotted path
  (``tiers.near.share``, ``cost_breakdown_cny.fixed``, ``by_city.Hangzhou.orders``) and ``value`` a
  DOUBLE (NULL where kpis.json has null); ``by_day`` goes to its own view ``kpis_by_day``
  (one row per run and measured day).
- ``skus`` (the catalog as simulated: the planner's ``sku_id`` and ``name`` with a products table; join
  ``lines`` on ``(run_id, sku)``) and ``order_ids`` (a history's own order ids: ``order_id`` ->
  ``source_order_id``): over the runs that have skus.parquet / order_ids.parquet (sim/io/skus.py).
- ``run_files``: (run_id, policy, replication, seed, tbl, file), the Parquet file behind each view row.

``run_id`` is the run's path relative to DIR (its own name when DIR is the run). The small tables
are materialised from the JSON files when connecting; the Parquet files are scanned lazily.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import ScenarioError
from sim.io.files import write_atomic
from sim.io.results import RUN_FILES, TABLES
from sim.vocab import TIER_NAMES

META = ("run_id", "policy", "replication", "seed")
OPTIONAL_TABLES = ("skus", "order_ids")  # sim/io/skus.py: every run since skus.parquet; history replays
HEADLINE = (
    "orders",
    "delivered",
    "lost",
    "perfect_order_rate",
    "requested_tier_rate",
    "lost_sales_rate",
    "downgrade_rate",
    "split_rate",
    "line_fill_rate",
    "local_fulfilment_rate",
    "cost_per_order_cny",
)
TIERS = TIER_NAMES
HEADLINE_COLUMNS = (*HEADLINE, *(f"{t}_{k}" for t in TIERS for k in ("share", "on_time_rate", "p90_min")))
OUTPUT_SUFFIXES = (".csv", ".parquet")


# --------------------------------------------------------------------------- finding runs
def is_run_dir(path: Path) -> bool:
    """True if `path` holds every file of a run directory."""
    return path.is_dir() and all((path / f).is_file() for f in RUN_FILES)


def find_runs(root: str | Path) -> list[Path]:
    """Run directories at or under `root`, sorted (ScenarioError, exit 2, if there are none)."""
    base = Path(root)
    if not base.is_dir():
        raise ScenarioError(f"{base}: no such directory")
    if is_run_dir(base):
        return [base]
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        if here != base and is_run_dir(here):
            found.append(here)
            dirnames[:] = []  # a run directory holds no other runs
    if not found:
        raise ScenarioError(
            f"{base}: not a run directory and no run directories under it "
            f"(a run directory holds {', '.join(RUN_FILES)})"
        )
    return sorted(found)


def _run_id(run: Path, root: Path) -> str:
    rel = run.resolve().relative_to(root.resolve()).as_posix()
    return run.resolve().name if rel == "." else rel


def _int64(value: object) -> int | None:
    """An int64 column's value from a manifest, null when it is not one (a seed >= 2^63 written before
    the scenario schema bounded it must not break ``shangou runs`` or ``query``)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ScenarioError(f"{path}: unreadable ({e})") from e


# --------------------------------------------------------------------------- kpis.json, flattened
def flatten(obj: Any, prefix: str = "") -> Iterator[tuple[str, float | None]]:
    """Numeric leaves of a kpis.json dict as (dotted key, value); lists and strings are skipped."""
    if isinstance(obj, dict):
        for k in sorted(obj):
            yield from flatten(obj[k], f"{prefix}.{k}" if prefix else str(k))
    elif obj is None:
        yield prefix, None
    elif isinstance(obj, bool | int | float):
        yield prefix, float(obj)


def headline(kpis: dict[str, Any]) -> dict[str, Any]:
    """The headline KPIs of one run as flat columns (the ``runs`` view and ``shangou runs``)."""
    row: dict[str, Any] = {k: kpis.get(k) for k in HEADLINE}
    tiers = kpis.get("tiers") or {}
    for t in TIERS:
        d = tiers.get(t) or {}
        row[f"{t}_share"] = d.get("share")
        row[f"{t}_on_time_rate"] = d.get("on_time_rate")
        row[f"{t}_p90_min"] = d.get("p90_min")
    return row


class Catalogue:
    """The runs under a root and their manifests / KPIs, as Arrow tables ready for DuckDB."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.paths = find_runs(self.root)
        self.meta: list[dict[str, Any]] = []
        self.kpis: list[dict[str, Any]] = []
        for p in self.paths:
            man = _read_json(p / "manifest.json")
            self.kpis.append(_read_json(p / "kpis.json"))
            self.meta.append(
                {
                    "run_id": _run_id(p, self.root),
                    "policy": man.get("policy"),
                    "replication": _int64(man.get("replication")),
                    "seed": _int64(man.get("seed")),
                    "scenario": man.get("scenario"),
                    "router": man.get("router"),
                    "warmup_days": _int64(man.get("warmup_days")),
                    "measured_days": _int64(man.get("measured_days")),
                    "wall_s": man.get("wall_s"),
                    "shangou_version": man.get("shangou_version"),
                    "path": str(p.resolve()),
                }
            )

    def runs_table(self) -> pa.Table:
        rows = [{**m, **headline(k)} for m, k in zip(self.meta, self.kpis, strict=True)]
        schema = pa.schema(
            [
                ("run_id", pa.string()),
                ("policy", pa.string()),
                ("replication", pa.int64()),
                ("seed", pa.int64()),
                ("scenario", pa.string()),
                ("router", pa.string()),
                ("warmup_days", pa.int64()),
                ("measured_days", pa.int64()),
                ("wall_s", pa.float64()),
                ("shangou_version", pa.string()),
                ("path", pa.string()),
                *(
                    (c, pa.int64() if c in ("orders", "delivered", "lost") else pa.float64())
                    for c in HEADLINE_COLUMNS
                ),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    def kpis_table(self) -> pa.Table:
        rows = [
            {**{c: m[c] for c in META}, "key": key, "value": value}
            for m, k in zip(self.meta, self.kpis, strict=True)
            for key, value in flatten({a: b for a, b in k.items() if a != "by_day"})
        ]
        schema = pa.schema(
            [
                ("run_id", pa.string()),
                ("policy", pa.string()),
                ("replication", pa.int64()),
                ("seed", pa.int64()),
                ("key", pa.string()),
                ("value", pa.float64()),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    def by_day_table(self) -> pd.DataFrame:
        rows = [
            {**{c: m[c] for c in META}, **day}
            for m, k in zip(self.meta, self.kpis, strict=True)
            for day in k.get("by_day") or []
        ]
        return pd.DataFrame(rows, columns=None if rows else list(META))


# --------------------------------------------------------------------------- DuckDB
def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _table_sql(table: str, meta: list[dict[str, Any]]) -> str:
    """SELECT of one Parquet table over all runs with the run columns in front. One run: constants
    (no join); several: one scan of all files joined to ``run_files`` on the file name."""
    files = [(Path(m["path"]) / f"{table}.parquet").as_posix() for m in meta]
    if len(meta) == 1:
        m = meta[0]
        consts = ", ".join(
            f"{_sql_value(m[c])}::{typ} AS {c}"
            for c, typ in zip(META, ("VARCHAR", "VARCHAR", "BIGINT", "BIGINT"), strict=True)
        )
        return f"SELECT {consts}, * FROM read_parquet({_sql_str(files[0])})"
    listing = ", ".join(_sql_str(f) for f in files)
    return (
        f"SELECT f.run_id, f.policy, f.replication, f.seed, p.* EXCLUDE (filename) "
        f"FROM read_parquet([{listing}], filename = true, union_by_name = true) AS p "
        f"JOIN run_files AS f ON f.tbl = '{table}' AND f.file = p.filename"
    )


def _sql_value(v: Any) -> str:
    return "NULL" if v is None else _sql_str(str(v))


def connect(root: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views of the module docstring over the runs under `root`."""
    cat = Catalogue(root)
    con = duckdb.connect(":memory:")
    runs_tbl, kpis_tbl, by_day = cat.runs_table(), cat.kpis_table(), cat.by_day_table()
    optional = {
        t: [m for m in cat.meta if (Path(m["path"]) / f"{t}.parquet").is_file()] for t in OPTIONAL_TABLES
    }
    files = pa.Table.from_pylist(
        [
            {**{c: m[c] for c in META}, "tbl": t, "file": (Path(m["path"]) / f"{t}.parquet").as_posix()}
            for m in cat.meta
            for t in TABLES
        ]
        + [
            {**{c: m[c] for c in META}, "tbl": t, "file": (Path(m["path"]) / f"{t}.parquet").as_posix()}
            for t, ms in optional.items()
            for m in ms
        ],
        schema=pa.schema(
            [
                ("run_id", pa.string()),
                ("policy", pa.string()),
                ("replication", pa.int64()),
                ("seed", pa.int64()),
                ("tbl", pa.string()),
                ("file", pa.string()),
            ]
        ),
    )
    for name, obj in (
        ("_runs_src", runs_tbl),
        ("_kpis_src", kpis_tbl),
        ("_by_day_src", by_day),
        ("_run_files_src", files),
    ):
        con.register(name, obj)
    con.execute("CREATE TABLE runs AS SELECT * FROM _runs_src")
    con.execute("CREATE TABLE kpis AS SELECT * FROM _kpis_src")
    con.execute("CREATE TABLE kpis_by_day AS SELECT * FROM _by_day_src")
    con.execute("CREATE TABLE run_files AS SELECT * FROM _run_files_src")
    for name in ("_runs_src", "_kpis_src", "_by_day_src", "_run_files_src"):
        con.unregister(name)
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS {_table_sql(t, cat.meta)}")
    for t, ms in optional.items():  # over the runs that have the file (older runs have no skus.parquet)
        if ms:
            con.execute(f"CREATE VIEW {t} AS {_table_sql(t, ms)}")
    return con


def _one_line(e: Exception) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(e).__name__


def query(root: str | Path, sql: str) -> pd.DataFrame:
    """Run `sql` over the views of the runs under `root` (ScenarioError, exit 2, for bad SQL)."""
    con = connect(root)
    try:
        return con.execute(sql).df()
    except duckdb.Error as e:
        raise ScenarioError(f"query: {_one_line(e)}") from None
    finally:
        con.close()


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a query result to CSV or Parquet (by extension), atomically (a temp file renamed into place)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ScenarioError(f"--to: expected a .csv or .parquet file name, got {str(target)!r}")
    if target.is_dir():
        raise ScenarioError(f"--to: {target} is a directory")
    if not target.parent.is_dir():
        raise ScenarioError(f"--to: directory {target.parent} does not exist")
    if suffix == ".csv":
        return write_atomic(target, lambda p: df.to_csv(p, index=False))
    return write_atomic(target, lambda p: pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p))
