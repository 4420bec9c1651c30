"""A regional scenario run region by region (sim/shard/): sharded == one process, byte for byte;
the regions really are regional; interacting regions are refused; a failed shard writes nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim.shard as shard_mod
import sim.shard.merge as merge_mod
import sim.shard.worker as worker_mod
from sim.catalog import build_catalog
from sim.cli import main
from sim.demand.generate import generate_days
from sim.experiments.executors import LocalExecutor
from sim.io.scenario import load_scenario
from sim.network import NDC, build_network
from sim.network.regions import node_regions
from sim.rng import RandomStreams
from sim.run import simulate

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "toy_regions.yaml"
SMALL = [
    "demand.orders_per_day=500",
    "geography.zones_per_city=10",
    "catalog.n_skus=80",
    "policy=top_n(n=50)",
]
PARQUETS = ("orders", "lines", "inventory", "nodes", "skus")


@pytest.fixture(scope="module")  # two small runs (~5 CPU-s): the byte-identity property needs both
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("shard")
    serial = simulate(SCENARIO, out=tmp / "serial", overrides=SMALL, report=False).path
    pool = LocalExecutor(2)
    try:
        sharded = simulate(SCENARIO, out=tmp / "pool", overrides=SMALL, report=False, executor=pool).path
    finally:
        pool.close()
    return serial, sharded


def _kpis(path: Path) -> dict:
    k = json.loads((path / "kpis.json").read_text())
    k["router"].pop(
        "solver_ms_mean"
    )  # wall-clock solver time (sim/io/results.py): differs between any two runs
    return k


def test_sharded_on_two_workers_equals_one_process_byte_for_byte(runs: tuple[Path, Path]) -> None:
    serial, sharded = runs
    for t in PARQUETS:
        assert (serial / f"{t}.parquet").read_bytes() == (sharded / f"{t}.parquet").read_bytes(), t
    assert _kpis(serial) == _kpis(sharded)
    assert (serial / "scenario.yaml").read_text() == (sharded / "scenario.yaml").read_text()
    man = json.loads((sharded / "manifest.json").read_text())
    assert man["executor"] == "local" and [s["region"] for s in man["shards"]] == ["RDC-East", "RDC-West"]
    assert len({s["pid"] for s in man["shards"]}) == 2  # two worker processes
    assert all(s["peak_rss_mib"] > 0 and s["orders"] > 0 for s in man["shards"])
    assert json.loads((serial / "manifest.json").read_text())["executor"] == "serial"


def test_merged_orders_are_the_whole_scenarios_demand(runs: tuple[Path, Path]) -> None:
    """Each city draws its orders in its shard exactly as the whole scenario would (streams keyed by day and
    city); the merge numbers them in creation order over cities like one process does."""
    serial, _ = runs
    sc = load_scenario(SCENARIO, SMALL)
    net, cat = build_network(sc), build_catalog(sc)
    total = sc.horizon.warmup_days + sc.horizon.days
    o = generate_days(sc, net, cat, RandomStreams(sc.seed, 0), range(total))
    orders = pd.read_parquet(serial / "orders.parquet")
    lines = pd.read_parquet(serial / "lines.parquet")
    assert orders["order_id"].tolist() == o.order_id.tolist()
    assert np.array_equal(orders["created_s"].to_numpy(), o.created_s)
    assert np.array_equal(orders["zone_id"].to_numpy(), o.zone)
    assert lines["sku"].tolist() == o.line_sku.tolist() and lines["qty"].tolist() == o.line_qty.tolist()
    assert lines["order_id"].tolist() == np.repeat(o.order_id, np.diff(o.line_offsets)).tolist()


def test_each_regional_dc_serves_and_replenishes_only_its_region(runs: tuple[Path, Path]) -> None:
    serial, _ = runs
    sc = load_scenario(SCENARIO, SMALL)
    net = build_network(sc)
    region = node_regions(net)
    ndcs = np.flatnonzero(net.node_kind == NDC)
    fwd = np.flatnonzero(net.supplier >= 0)
    assert np.array_equal(region[net.supplier[fwd]], region[fwd])  # every lane inside a region
    orders = pd.read_parquet(serial / "orders.parquet")
    far = orders[orders["served_tier"] == "far"]
    assert len(far) > 0
    city_of_zone = np.asarray(net.zone_city)[far["zone_id"].to_numpy()]
    own = [
        net.node_ids[ndcs[r]] for r in region[[np.flatnonzero(net.node_city == c)[0] for c in city_of_zone]]
    ]
    assert far["node_id"].tolist() == own
    nodes = pd.read_parquet(serial / "nodes.parquet")
    assert nodes["id"].tolist() == list(net.node_ids)


def _write(tmp_path: Path, edit: dict) -> Path:
    d = yaml.safe_load(SCENARIO.read_text())
    d.update(edit)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(d))
    return p


def test_interacting_regions_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lane across regions couples them: no synchronisation is attempted, the run is refused (exit 2)."""
    d = yaml.safe_load(SCENARIO.read_text())
    lanes = {"overrides": [{"from": "fdc-Hangzhou-001", "to": "store-Chengdu-001"}]}
    p = _write(tmp_path, {"lanes": lanes, "nodes": d["nodes"]})
    for extra in ([], ["--executor", "local", "--workers", "2"]):
        assert main(["run", str(p), "--out", str(tmp_path / "r"), "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert (
            "regions interact" in err
            and "store-Chengdu-001 (region RDC-West) is replenished from fdc-Hangzhou-001 (region RDC-East)"
            in err
        )
        assert not (tmp_path / "r").exists()


def test_national_scope_is_one_component_and_not_sharded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            str(SCENARIO),
            "--set",
            "nodes.ndcs.capacity.scope=national",
            "--executor",
            "local",
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ]
    )
    assert code == 2
    assert "cannot be sharded" in capsys.readouterr().err and not (tmp_path / "r").exists()
    assert main(["run", str(SCENARIO), "--workers", "2", "--out", str(tmp_path / "r")]) == 2


def test_a_failed_shard_fails_the_run_naming_its_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = shard_mod.run_shard

    def flaky(shard: shard_mod.Shard) -> shard_mod.ShardOutput:
        if shard.region == "RDC-West":
            raise MemoryError("worker out of memory")
        return real(shard)

    monkeypatch.setattr(worker_mod, "run_shard", flaky)
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(SCENARIO),
            *(a for s in SMALL for a in ("--set", s)),
            "--out",
            str(out),
            "--quiet",
            "--no-report",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "shard region RDC-West (Chengdu) failed: MemoryError: worker out of memory" in err
    assert "nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no run directory, no hidden partial one


def test_a_region_that_settled_early_keeps_its_stock_on_the_later_days() -> None:
    """Shards drain for different numbers of days; the shorter one's stock stays, untouched, to the last day
    (the invariant chain end of day d = start of day d+1 holds over the merged inventory)."""
    from sim.records import InventoryRecords

    z = np.zeros(3, np.int64)
    v = InventoryRecords(
        day=np.array([4, 5, 5], np.int32),
        node=np.array([0, 0, 1], np.int32),
        sku=np.array([2, 2, 3], np.int32),
        start=np.array([5, 4, 0]),
        received=z,
        shipped=z,
        transferred_out=z,
        spoiled=z,
        end=np.array([4, 4, 0]),
        lost_demand=z,
    )
    out = merge_mod._carry_to(v, 7)
    assert out.day.tolist() == [4, 5, 5, 6, 7] and out.node.tolist() == [0, 0, 1, 0, 0]
    assert out.start[3:].tolist() == [4, 4] and out.end[3:].tolist() == [4, 4] and not out.shipped[3:].any()
    assert merge_mod._carry_to(v, 5) is v


def test_shards_go_to_the_workers_largest_first(runs: tuple[Path, Path]) -> None:
    """LPT: the executor receives the shards by expected orders per day, largest first (ties in shard order);
    the outputs come back in shard order, and the spool directory is gone."""
    sc = load_scenario(SCENARIO, SMALL)
    shards = shard_mod.plan_shards(sc)
    sizes = [s.size for s in shards]
    order = shard_mod.lpt_order(shards)
    assert sorted(order) == list(range(len(shards)))
    assert [sizes[i] for i in order] == sorted(sizes, reverse=True)
    assert abs(sum(sizes) - sc.demand.orders_per_day) < 1e-6 * sc.demand.orders_per_day
    seen: list[str] = []

    class Recorder:
        def map(self, fn, items, fail, on_done=None):  # noqa: ANN001, ANN202 - the executor protocol
            seen.extend(s.region for s in items)
            return [fn(s) for s in items]

    outs = shard_mod.run_shards(shards, Recorder(), fn=_stub)
    assert seen == [shards[i].region for i in order]
    assert [o.region for o in outs] == [s.region for s in shards]
    serial, sharded = runs
    assert sorted(p.name for p in sharded.parent.iterdir()) == ["pool", "serial"]  # no spool left behind


def _stub(s: shard_mod.Shard) -> shard_mod.ShardOutput:
    return shard_mod.ShardOutput(s.index, s.region, None, (), np.zeros(0), np.zeros(0), 0.0, 0, 0)


def test_a_spooled_shard_merges_like_one_held_in_memory(tmp_path: Path) -> None:
    """The worker's spool (one .npy per column) is read back column for column as the records it came from."""
    sc = load_scenario(SCENARIO, SMALL)
    shard = shard_mod.plan_shards(sc)[1]
    held = worker_mod.run_shard(shard)
    spooled = worker_mod.run_shard(replace(shard, spool=str(tmp_path)))
    assert held.spool is None and spooled.spool is not None and spooled.records is not None
    assert spooled.records.orders.n == 0 and spooled.n_orders == held.n_orders > 0
    for part, cls in worker_mod.BIG_PARTS.items():
        for f in cls.__dataclass_fields__:
            a, b = held.column(part, f), spooled.column(part, f)
            assert (a is None) == (b is None), (part, f)
            if a is not None:
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (part, f)
    ids = build_network(sc).node_ids
    m1, m2 = shard_mod.merge_records([held], ids), shard_mod.merge_records([spooled], ids)
    assert np.array_equal(m1.orders.order_id, m2.orders.order_id)
    assert np.array_equal(m1.inventory.end, m2.inventory.end)


def test_a_regional_estimate_is_its_largest_shard_or_its_merge() -> None:
    """Workers spool their records (no pickled copy), so a worker's estimate is its shard's; the one process
    of a regional run runs the shards, then merges: the larger of the two. The merge grows with the orders,
    a shard's estimate with its region's share of them."""
    from sim.io.scenario.memory import (
        estimate_memory_bytes,
        merge_memory_bytes,
        shard_estimates,
        worker_memory_bytes,
    )

    small, big = (load_scenario(SCENARIO, [f"demand.orders_per_day={n}"]) for n in (500, 500_000))
    for sc in (small, big):
        shards = shard_estimates(sc)
        assert [r for r, _, _ in shards] == ["RDC-East", "RDC-West"]
        assert abs(sum(share for _, _, share in shards) - 1) < 1e-9
        assert worker_memory_bytes(sc) == max(b for _, b, _ in shards)
        assert estimate_memory_bytes(sc) == max(worker_memory_bytes(sc), merge_memory_bytes(sc))
    assert merge_memory_bytes(big) > merge_memory_bytes(small)
    assert worker_memory_bytes(big) > worker_memory_bytes(small)
