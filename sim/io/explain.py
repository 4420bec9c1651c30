"""``DIR/explain.parquet``: the optional routing-decision file of a run made with ``--explain``.

Columns are documented in ``sim.engine.explain`` (which records them). The file is written inside the
run directory's atomic temporary directory like the contract files, with the same fixed writer
options, so it is byte-identical for identical runs. It is not a contract file: ``load_run`` ignores
it and runs without it are complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.errors import ScenarioError
from sim.records import OUTCOMES, REASONS, TIER_NAMES, ExplainRecords

FILE = "explain.parquet"
RERUN = "run was made without --explain; re-run with `shangou run ... --explain`"

EXPLAIN_SCHEMA = pa.schema(
    [
        ("epoch_s", pa.float64()),
        ("order_id", pa.int64()),
        ("requested_tier", pa.string()),
        ("node_id", pa.string()),
        ("tier", pa.string()),
        ("km", pa.float64()),
        ("handling_cny", pa.float64()),
        ("transport_cny", pa.float64()),
        ("offer", pa.bool_()),
        ("accept_p", pa.float64()),
        ("cost_cny", pa.float64()),
        ("reservation_cny", pa.float64()),
        ("decision_cny", pa.float64()),
        ("eta_s", pa.float64()),
        ("promise_s", pa.float64()),
        ("feasible", pa.bool_()),
        ("stock", pa.int32()),
        ("capacity", pa.int32()),
        ("node_taken", pa.int32()),
        ("key_taken", pa.int32()),
        ("reason", pa.string()),
        ("chosen", pa.bool_()),
        ("unassigned_cny", pa.float64()),
        ("waiting", pa.bool_()),
        ("u_decision", pa.float64()),
        ("repaired", pa.bool_()),
        ("outcome", pa.string()),
    ]
)


def _names(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> pa.Array:
    idx = pa.array(np.asarray(codes, np.int32))
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(names), pa.string())).dictionary_decode()


def explain_table(rec: ExplainRecords, node_ids: list[str] | tuple[str, ...]) -> pa.Table:
    """The records as explain.parquet's table (order-level columns repeated on each candidate row)."""
    p, o = rec.pairs, rec.orders
    r = p["order_row"]
    cols: dict[str, Any] = {
        "epoch_s": o["epoch_s"][r],
        "order_id": o["order_id"][r],
        "requested_tier": _names(o["requested_tier"][r], TIER_NAMES),
        "node_id": _names(p["node"], list(node_ids)),
        "tier": _names(p["tier"], TIER_NAMES),
        "reason": _names(p["reason"], REASONS),
        "unassigned_cny": o["unassigned_cny"][r],
        "waiting": o["waiting"][r],
        "u_decision": o["u_decision"][r],
        "repaired": o["repaired"][r],
        "outcome": _names(o["outcome"][r], OUTCOMES),
    }
    arrays = [cols[f.name] if f.name in cols else p[f.name] for f in EXPLAIN_SCHEMA]
    return pa.Table.from_arrays(
        [
            a if isinstance(a, pa.Array) else pa.array(a, f.type)
            for a, f in zip(arrays, EXPLAIN_SCHEMA, strict=True)
        ],
        schema=EXPLAIN_SCHEMA,
    )


def read_explain(
    run_dir: str | Path, order_id: int | None = None, epochs: list[float] | None = None
) -> pd.DataFrame:
    """Rows of explain.parquet for one order (or the given epochs' rows), in file order.

    ScenarioError (exit 2): not a run directory, or a run made without ``--explain``.
    """
    p = Path(run_dir)
    if not p.is_dir():
        raise ScenarioError(f"{p}: not a run directory (no such directory)")
    if not (p / "manifest.json").is_file():
        raise ScenarioError(f"{p}: not a Shangou run directory (missing manifest.json)")
    if not (p / FILE).is_file():
        raise ScenarioError(f"{p}: {RERUN}")
    filters: list[Any] = []
    if order_id is not None:
        filters.append(("order_id", "=", int(order_id)))
    if epochs is not None:
        filters.append(("epoch_s", "in", [float(e) for e in epochs]))
    try:
        return pq.read_table(p / FILE, filters=filters or None).to_pandas()
    except (OSError, pa.ArrowException) as e:
        raise ScenarioError(f"{p / FILE}: unreadable ({e})") from e


def load_order(
    run_dir: str | Path, order_id: int
) -> tuple[dict[str, Any], pd.DataFrame, str, dict[str, str]]:
    """(the order's orders.parquet row, its explain rows, the run's router, node id -> kind) for ``explain``.

    ScenarioError (exit 2): not a run directory, a run without explain.parquet, an unknown order id.
    """
    p = Path(run_dir)
    rows = read_explain(p, order_id)
    try:
        man = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
        orders = pq.read_table(p / "orders.parquet", filters=[("order_id", "=", int(order_id))]).to_pylist()
        nodes = pq.read_table(p / "nodes.parquet", columns=["id", "kind"]).to_pydict()
    except (OSError, ValueError, pa.ArrowException) as e:
        raise ScenarioError(f"{p}: unreadable run directory ({e})") from e
    if not orders:
        ids = pq.read_table(p / "orders.parquet", columns=["order_id"]).column("order_id")
        span = (
            f" (ids {pc.min(ids).as_py()}..{pc.max(ids).as_py()})" if len(ids) else " (the run has no orders)"
        )
        raise ScenarioError(f"ORDER_ID: no order {order_id} in {p}{span}")
    return orders[0], rows, str(man.get("router", "")), dict(zip(nodes["id"], nodes["kind"], strict=True))
