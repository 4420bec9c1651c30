"""The run directory contract (DESIGN.md 10): columns and types, atomic write, refusal, --force, bytes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synthetic_run import make_records, sku_values

import sim.io.results as results
from sim.errors import ScenarioError
from sim.io.results import load_run, write_run
from sim.network.build import build_network

S, F64, I64, I32, I16, I8, B = (
    pa.string(),
    pa.float64(),
    pa.int64(),
    pa.int32(),
    pa.int16(),
    pa.int8(),
    pa.bool_(),
)
CONTRACT = {
    "orders": [
        ("order_id", I64),
        ("created_s", F64),
        ("zone_id", I32),
        ("n_lines", I16),
        ("units", I32),
        ("requested_tier", S),
        ("served_tier", S),
        ("node_id", S),
        ("status", S),
        ("promised_s", F64),
        ("delivered_s", F64),
        ("downgraded", B),
        ("n_shipments", I8),
        ("on_time", B),
        ("perfect", B),
        ("warmup", B),
        ("cost_cny", F64),
        ("cost_handling_cny", F64),
        ("cost_transport_cny", F64),
        ("cost_split_cny", F64),
        ("cost_penalty_cny", F64),
    ],
    "lines": [
        ("order_id", I64),
        ("sku", I32),
        ("qty", I32),
        ("preferred_node_id", S),
        ("node_id", S),
        ("served_tier", S),
        ("status", S),
    ],
}
INVENTORY = [
    "day",
    "node_id",
    "sku",
    "start",
    "received",
    "shipped",
    "transferred_out",
    "spoiled",
    "end",
    "lost_demand",
]
NODES = ["id", "kind", "city", "lat", "lon", "orders"]
FILES = {
    "manifest.json",
    "scenario.yaml",
    "orders.parquet",
    "lines.parquet",
    "inventory.parquet",
    "nodes.parquet",
    "kpis.json",
}


@pytest.fixture(scope="module")
def net(toy):
    return build_network(toy)


@pytest.fixture(scope="module")
def records(net):
    return make_records(net, seed=21, n_orders=300, open_orders=3)


def _write(path, records, net, toy, force=False, **meta):
    return write_run(path, records, net, toy, sku_values(), meta, force=force)


def test_files_columns_and_types(tmp_path, records, net, toy):
    out = _write(tmp_path / "run", records, net, toy)
    assert {p.name for p in out.iterdir()} == FILES
    for table, cols in CONTRACT.items():
        schema = pq.read_schema(out / f"{table}.parquet")
        assert [(f.name, f.type) for f in schema] == cols
        assert schema.metadata is None or b"pandas" not in schema.metadata
    inv = pq.read_schema(out / "inventory.parquet")
    assert inv.names == INVENTORY and inv.field("node_id").type == S and inv.field("day").type == I32
    assert pq.read_schema(out / "nodes.parquet").names[: len(NODES)] == NODES


def test_values_and_nulls(tmp_path, records, net, toy):
    res = load_run(_write(tmp_path / "run", records, net, toy))
    o = res.orders
    assert len(o) == records.orders.n and (o["order_id"].to_numpy() == records.orders.order_id).all()
    lost, dlv = o["status"] == "lost", o["status"] == "delivered"
    assert set(o["status"]) == {"delivered", "lost", "open"}
    assert o.loc[lost, "served_tier"].isna().all() and o.loc[lost, "node_id"].isna().all()
    assert o.loc[dlv, "node_id"].isin(net.node_ids).all() and o.loc[dlv, "served_tier"].notna().all()
    assert o.loc[~dlv, "delivered_s"].isna().all() and o.loc[dlv, "delivered_s"].notna().all()
    assert set(o["requested_tier"]) == {"near", "mid", "far"}
    ln = res.lines
    assert len(ln) == len(records.lines.order_id)
    assert ln.loc[ln["status"] == "lost", "node_id"].isna().all()
    inv = res.inventory
    node_index = inv["node_id"].map({n: i for i, n in enumerate(net.node_ids)})
    assert list(zip(inv["day"], node_index, inv["sku"], strict=True)) == sorted(
        zip(inv["day"], node_index, inv["sku"], strict=True)
    )  # canonical row order
    assert inv["shipped"].sum() == records.inventory.shipped.sum()
    nodes = res.nodes
    assert list(nodes["id"]) == list(net.node_ids) and list(nodes["kind"][:2]) == ["ndc", "fdc"]
    served = o[~o["warmup"] & o["node_id"].notna()].groupby("node_id").size()
    assert nodes.set_index("id")["orders"].reindex(served.index).tolist() == served.tolist()
    assert np.isnan(nodes.loc[nodes["kind"] == "ndc", "pickers_utilisation"]).all()
    assert res.kpis == json.loads((res.path / "kpis.json").read_text())


def test_manifest(tmp_path, records, net, toy):
    from sim import __version__
    from sim.io.scenario import load_scenario, scenario_hash

    out = _write(
        tmp_path / "run", records, net, toy, replication=2, wall_s=1.25, policy="top_n(n=5)", host="x"
    )
    m = json.loads((out / "manifest.json").read_text())
    assert m["shangou_version"] == __version__ and m["scenario"] == "toy"
    assert m["scenario_hash"] == scenario_hash(toy) and m["seed"] == toy.seed
    assert (m["replication"], m["wall_s"], m["policy"], m["host"]) == (2, 1.25, "top_n(n=5)", "x")
    assert m["router"] == toy.router.name  # defaults from the scenario
    assert set(m["packages"]) == {"numpy", "pandas", "pyarrow", "simpy", "ortools", "networkx"}
    assert scenario_hash(load_scenario(out / "scenario.yaml")) == scenario_hash(
        toy
    )  # re-running reproduces it


def test_byte_identical(tmp_path, records, net, toy):
    a = _write(tmp_path / "a", records, net, toy, wall_s=1.0)
    b = _write(tmp_path / "b", make_records(net, seed=21, n_orders=300, open_orders=3), net, toy, wall_s=9.0)
    for name in FILES - {"manifest.json"}:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    assert ma.pop("wall_s") != mb.pop("wall_s") and ma == mb  # wall time is the only difference


def test_failure_leaves_nothing_behind(tmp_path, records, net, toy, monkeypatch):
    real = results._write_parquet

    def failing(table, path):
        if path.name == "inventory.parquet":
            raise RuntimeError("disk full")
        real(table, path)

    monkeypatch.setattr(results, "_write_parquet", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        _write(tmp_path / "run", records, net, toy)
    assert list(tmp_path.iterdir()) == []


def test_refuses_non_empty_and_force_replaces(tmp_path, records, net, toy, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    _write(out, records, net, toy)  # an empty directory is fine
    first = (out / "kpis.json").read_text()
    with pytest.raises(ScenarioError, match="not empty.*--force") as exc:
        _write(out, make_records(net, seed=1), net, toy)
    assert exc.value.exit_code == 2 and (out / "kpis.json").read_text() == first

    monkeypatch.setattr(results, "_write_parquet", lambda table, path: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError, match="boom"):
        _write(out, make_records(net, seed=1), net, toy, force=True)
    assert (out / "kpis.json").read_text() == first  # the old run stays until the new one is complete
    monkeypatch.undo()

    _write(out, make_records(net, seed=1), net, toy, force=True)
    assert (out / "kpis.json").read_text() != first
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary or old directories left


def test_force_never_deletes_a_non_run_directory(tmp_path, records, net, toy):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(ScenarioError, match="not a Shangou run directory"):
        _write(out, records, net, toy, force=True)
    assert (out / "thesis.tex").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ScenarioError, match="not a directory"):
        _write(tmp_path / "file", records, net, toy, force=True)


def test_load_run_rejects_what_is_not_a_run(tmp_path, records, net, toy):
    with pytest.raises(ScenarioError, match="no such directory"):
        load_run(tmp_path / "nope")
    out = _write(tmp_path / "run", records, net, toy)
    (out / "lines.parquet").unlink()
    with pytest.raises(ScenarioError, match=r"not a Shangou run directory \(missing lines.parquet\)") as exc:
        load_run(out)
    assert exc.value.exit_code == 2
    (out / "lines.parquet").write_text("not parquet")
    with pytest.raises(ScenarioError, match="unreadable"):
        load_run(out)


def test_loaded_frames_keep_contract_dtypes(tmp_path, records, net, toy):
    o = load_run(_write(tmp_path / "run", records, net, toy)).orders
    expect = {
        "order_id": "int64",
        "created_s": "float64",
        "zone_id": "int32",
        "n_lines": "int16",
        "units": "int32",
        "n_shipments": "int8",
        "perfect": "bool",
        "warmup": "bool",
    }
    assert {c: str(o[c].dtype) for c in expect} == expect
    assert pd.api.types.is_string_dtype(o["status"])


def test_row_group_at_a_time_writes_the_same_bytes_as_the_whole_table(tmp_path, records, net, monkeypatch):
    """write_tables builds each file a row group at a time (sim.io.results._write_sliced); with row groups of
    50 rows (the records have 300 orders, ~500 lines, more inventory rows) every file equals the whole
    table written by pq.write_table with the same options."""
    monkeypatch.setattr(results, "ROW_GROUP", 50)
    results.write_tables(records, net, tmp_path)
    whole = {
        "orders": results.orders_table(records, net),
        "lines": results.lines_table(records, net),
        "inventory": results.inventory_table(records, net),
        "nodes": results.nodes_table(records, net),
    }
    for name, table in whole.items():
        assert table.num_rows > 50 or name == "nodes", name
        pq.write_table(
            table, tmp_path / f"{name}.whole.parquet", row_group_size=50, **results.PARQUET_OPTIONS
        )
        assert pq.ParquetFile(tmp_path / f"{name}.parquet").num_row_groups == -(-table.num_rows // 50)
        a = (tmp_path / f"{name}.parquet").read_bytes()
        assert a == (tmp_path / f"{name}.whole.parquet").read_bytes(), name


def test_load_run_reads_only_the_tables_asked_for(tmp_path, records, net, toy):
    path = _write(tmp_path / "run", records, net, toy)
    full, some = load_run(path), load_run(path, tables=("orders",))
    assert some.orders.equals(full.orders) and some.kpis == full.kpis and some.manifest == full.manifest
    for t in ("lines", "inventory", "nodes"):
        assert len(getattr(full, t)) > 0 and len(getattr(some, t)) == 0, t
        assert list(getattr(some, t).columns) == list(getattr(full, t).columns), t
