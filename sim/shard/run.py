"""A sharded run end to end: plan, run the shards (largest first), merge, write (see ``sim.shard``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sim.shard.worker as worker
from sim.io.scenario import Scenario
from sim.shard.merge import merge_records, merged_network
from sim.shard.plan import Shard, ShardFailed, network_of, plan_shards
from sim.shard.worker import ShardOutput, failed, peak_rss_bytes, remove_spool, run_serial


def shard_summary(outs: Sequence[ShardOutput]) -> list[dict[str, Any]]:
    """manifest.json ``shards``: per region its orders, wall and CPU seconds and worker peak RSS (MiB)."""
    return [
        {
            "region": o.region,
            "orders": int(o.n_orders),
            "wall_s": round(o.wall_s, 3),
            "cpu_s": round(o.cpu_s, 3),
            "peak_rss_mib": round(o.peak_rss_bytes / 2**20, 1),
            "pid": o.pid,
        }
        for o in outs
    ]


def lpt_order(shards: Sequence[Shard]) -> list[int]:
    """Shard positions largest first (expected orders per day; ties: shard order): handed to the executor in
    this order, each free worker takes the largest shard left (LPT, longest processing time first), so the
    busiest worker carries at most 4/3 of the optimum instead of whatever the region order gives."""
    return sorted(range(len(shards)), key=lambda i: (-shards[i].size, i))


def run_shards(
    shards: Sequence[Shard],
    executor: Any = None,
    *,
    fn: Callable[[Shard], ShardOutput] | None = None,
    on_done: Callable[[ShardOutput], None] | None = None,
) -> list[ShardOutput]:
    """Every shard's output, in shard order (run largest first); ShardFailed (naming the region) if any
    failed."""
    fn = fn or worker.run_shard
    order = lpt_order(shards)
    todo = [shards[i] for i in order]
    got = run_serial(fn, todo, on_done) if executor is None else executor.map(fn, todo, failed, on_done)
    outs: list[ShardOutput] = [None] * len(shards)  # type: ignore[list-item]
    for i, o in zip(order, got, strict=True):
        outs[i] = o
    bad = [o for o in outs if o.error is not None]
    if bad:
        more = f" (and {len(bad) - 1} more shards)" if len(bad) > 1 else ""
        raise ShardFailed(f"{bad[0].error}{more}; nothing was written", bad[0].error_code)
    return outs


def simulate_sharded(
    sc: Scenario,
    *,
    replication: int,
    target: Path,
    force: bool,
    executor: Any = None,
    info: dict[str, Any],
    report: bool,
    on_done: Callable[[ShardOutput], None] | None = None,
) -> Path:
    """Plan, run (serially or on `executor`), merge and write a regional run; returns the run directory.

    The shards write their big columns to a hidden spool directory next to the target (removed whatever
    happens; a dead run's is cleaned like any leftover). A remote Dask cluster needs the target's directory
    on a filesystem its workers share."""
    import os
    from dataclasses import replace

    from sim.catalog import build_catalog
    from sim.io import outdir
    from sim.io.results import write_run
    from sim.io.skus import history_sku_map, skus_table
    from sim.metrics.invariants import assert_invariants

    net = network_of(sc)
    place = Path(os.path.abspath(target))
    place.parent.mkdir(parents=True, exist_ok=True)
    spool = outdir.hidden_sibling(place, "partial", ".shards")
    shards = [replace(s, spool=str(spool)) for s in plan_shards(sc, replication, net)]
    try:
        t0 = time.perf_counter()
        outs = run_shards(shards, executor, on_done=on_done)
        t1 = time.perf_counter()
        records = merge_records(outs, net.node_ids)
    finally:
        remove_spool(spool)
    wall = time.perf_counter() - t0
    cat = build_catalog(sc)
    assert_invariants(records, drained=True, shelf_life_days=cat.shelf_life_s / 86400.0)
    info = {
        **info,
        "wall_s": round(wall, 3),
        "orders_per_s": round(records.orders.n / wall, 1) if wall > 0 else None,
        "executor": getattr(executor, "name", "serial"),
        "workers": getattr(executor, "workers", 1),
        "shards": shard_summary(outs),
        "shards_s": round(t1 - t0, 3),
        "merge_s": round(wall - (t1 - t0), 3),
        "merge_peak_rss_mib": round(peak_rss_bytes() / 2**20, 1),
    }
    mnet = merged_network(net, outs)
    extra = {
        "skus": skus_table(cat, history_sku_map(sc, net, cat))
    }  # as sim.run.run_tables (no history here)
    path = write_run(target, records, mnet, sc, cat.value_cny, info, force=force, extra=extra, catalog=cat)
    del records  # the report reads the run directory
    if report:
        from sim.report.html import write_report

        write_report(path)
    return path
