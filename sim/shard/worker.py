"""One shard on a worker: simulate it, check its invariants, and hand its records back.

The per-order and per-row columns (orders, lines, inventory: all but a few KiB of a shard's records) are
written to the shard's spool directory as one ``.npy`` file per column, and the worker returns only the
small rest (days, nodes, router counters, riders) and the column lengths. So a worker never holds a
pickled copy of its records next to the records themselves, and the parent (``sim.shard.merge``) reads
the columns one at a time instead of holding every shard's records plus the merged copy. Without a spool
(``Shard.spool`` None) the records come back whole, as before.
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.records import InventoryRecords, LineRecords, OrderRecords, RunRecords
from sim.shard.plan import Shard

#: the spooled parts of a run's records and their column types
BIG_PARTS: dict[str, type] = {"orders": OrderRecords, "lines": LineRecords, "inventory": InventoryRecords}


@dataclass
class ShardOutput:
    index: int
    region: str
    records: RunRecords | None  # spooled: orders, lines and inventory are zero-length here (see `columns`)
    node_ids: tuple[str, ...]
    node_lat: np.ndarray
    node_lon: np.ndarray
    wall_s: float
    peak_rss_bytes: int
    pid: int
    error: str | None = None
    error_code: int = 1
    cpu_s: float = 0.0  # CPU seconds of the shard in its process (robust to a loaded machine, unlike wall_s)
    spool: str | None = None  # the directory holding this shard's big columns (None: they are in `records`)
    n_orders: int = 0

    def column(self, part: str, name: str) -> np.ndarray | None:
        """One column of one of the big parts (None: a mechanism's column that was not recorded)."""
        if self.spool is None:
            assert self.records is not None
            col = getattr(getattr(self.records, part), name)
            return None if col is None else np.asarray(col)
        path = Path(self.spool) / f"{part}.{name}.npy"
        return np.load(path) if path.is_file() else None

    def length(self, part: str) -> int:
        col = self.column(part, "order_id" if part != "inventory" else "day")
        return 0 if col is None else int(col.size)


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (bytes; Linux reports KiB, macOS bytes)."""
    rss = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return rss if sys.platform == "darwin" else rss * 1024


def _empty(part: Any) -> Any:
    """`part` with every column cut to length 0 (None columns stay None)."""
    return replace(
        part,
        **{
            f.name: None if getattr(part, f.name) is None else getattr(part, f.name)[:0] for f in fields(part)
        },
    )


def spool_records(records: RunRecords, folder: Path) -> RunRecords:
    """Write the big parts' columns to `folder` (one .npy each, released as written: the records object given
    loses them) and return the small rest, with those parts zero-length."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in BIG_PARTS:
        rec = getattr(records, part)
        for f in fields(rec):
            col = getattr(rec, f.name)
            if col is not None:
                np.save(folder / f"{part}.{f.name}.npy", np.asarray(col), allow_pickle=False)
    return replace(records, **{p: _empty(getattr(records, p)) for p in BIG_PARTS})


def run_shard(shard: Shard) -> ShardOutput:
    """Simulate one shard (module-level: runs in a local pool and on Dask workers); invariants checked here
    too, so a violation names its region."""
    import os

    from sim.engine.simulation import Simulation
    from sim.metrics.invariants import assert_invariants

    sc = shard.scenario
    t0, c0 = time.perf_counter(), time.process_time()
    sim = Simulation(
        sc,
        seed=sc.seed,
        replication=shard.replication,
        days=sc.horizon.days,
        policy=sc.policy,
        router=sc.router.name,
    )
    records = sim.run()
    net, shelf_life_days = sim.net, sim.cat.shelf_life_s / 86400.0
    del sim  # the engine's state (node x SKU arrays, the order book's working columns) is not needed now
    assert_invariants(records, drained=True, shelf_life_days=shelf_life_days)
    n_orders = records.orders.n
    spool = None
    if shard.spool is not None:
        spool = str(Path(shard.spool) / f"{shard.index:03d}")
        records = spool_records(records, Path(spool))
    release_free_memory()  # a worker runs shard after shard: the next one starts from this one's floor
    return ShardOutput(
        shard.index,
        shard.region,
        records,
        tuple(net.node_ids),
        np.asarray(net.node_lat),
        np.asarray(net.node_lon),
        time.perf_counter() - t0,
        peak_rss_bytes(),
        os.getpid(),
        cpu_s=time.process_time() - c0,
        spool=spool,
        n_orders=n_orders,
    )


def release_free_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the OS (glibc ``malloc_trim``; elsewhere a
    no-op): numpy's arrays under glibc's mmap threshold live on that heap, and without the trim a process
    that ran one shard keeps its high-water mark as resident memory into the next."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return


def failed(shard: Shard, exc: BaseException) -> ShardOutput:
    code = int(getattr(exc, "exit_code", 1))
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ShardOutput(
        shard.index,
        shard.region,
        None,
        (),
        np.zeros(0),
        np.zeros(0),
        0.0,
        0,
        0,
        error=f"shard {shard.label} failed: {type(exc).__name__}: {msg}",
        error_code=code,
    )


def run_serial(
    fn: Callable[[Shard], ShardOutput],
    shards: Sequence[Shard],
    on_done: Callable[[ShardOutput], None] | None = None,
) -> list[ShardOutput]:
    """The shards one after the other in this process (the one-process path of a regional scenario)."""
    out = []
    for s in shards:
        try:
            r = fn(s)
        except Exception as exc:  # reported with its region below, like a worker's failure
            r = failed(s, exc)
        out.append(r)
        if on_done is not None:
            on_done(r)
    return out


def remove_spool(folder: str | Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
