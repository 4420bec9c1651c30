"""One run, sharded: a ``scope: regional`` scenario simulated region by region and merged.

Shards. Under ``nodes.ndcs.capacity.scope: regional`` each city belongs to its nearest NDC
(``sim.network.regions``) and an NDC serves and replenishes only its region, so once no store or FDC
covers another region's zones and no lane crosses regions (``region_links``), the connected
components of who-can-serve-whom are exactly the regions. Where they interact the run is refused
(exit 2, naming the link); a ``scope: national`` scenario (every NDC serves every city) is one
component and is never sharded. No synchronisation between shards is attempted.

A shard is the scenario restricted to its region: its NDC, its cities' FDCs and stores, every city
kept (so zone and city indices and every per-city random stream are the full scenario's) but the
other cities' ``demand_weight`` set to 0 and ``demand.orders_per_day`` scaled by the region's demand
share, so each city's expected orders equal the full scenario's (to floating-point rounding).
Demand streams are keyed by (day, city) (DESIGN.md 5), so a city draws the same orders in its shard
as it would anywhere.

Design choice (simple and honest): a regional scenario is *always* simulated shard by shard and
merged, whether in one process (``sim.simulate`` without an executor: the shards run one after the
other) or on workers (``run --executor local|dask``). The executor only changes where shards run, so
a sharded run is byte-identical to the one-process run of the same scenario and seed (every Parquet
file and kpis.json; kpis.json's ``router.solver_ms_mean`` is wall-clock, as in any two runs). A
``scope: national`` run takes the unchanged single-process path.

Merge (deterministic, in region order): orders of every day are renumbered in creation order across
shards (ties: city order, then the shard's own order), exactly as one day's demand is numbered over
cities (``sim.demand.orders.number_day``); node indices map to the full network's; day costs, node
busy/available seconds, router counters (epochs: the longest shard's; solver time, repairs,
fallbacks: sums) and rider figures add up. A region whose drain settled before the longest shard's
keeps its stock untouched on the remaining days (inventory rows with start = end, no flows, no cost:
those are drain days, outside every measured KPI but lost sales, which such a region no longer has). The merged records go through the same invariants, KPIs
and ``write_run`` (atomic: a temporary directory renamed into place) as any run; a failed shard fails
the run naming its region, and nothing is written.

Memory: each shard reports its worker's peak RSS (the process's high-water mark when the shard
finished; with the local or Dask executor a worker may have run an earlier shard first) in
manifest.json ``shards``; ``shard_memory`` gives the per-worker estimate.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ScenarioError, ShangouError
from sim.io.scenario import Scenario, resolve, to_dict
from sim.network import NDC, build_network
from sim.network.regions import city_regions, empty_regions, region_links
from sim.records import (
    DayRecords,
    InventoryRecords,
    LineRecords,
    NodeRecords,
    OrderRecords,
    RouterStats,
    RunRecords,
)

ORDER_ID_STRIDE = 10**9  # sim.demand.orders.ORDER_ID_STRIDE: order ids of day d are d * stride + sequence


class ShardFailed(ShangouError):
    """A shard raised: the run fails, naming the region; exit code of the shard's own error."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Shard:
    """One region: its NDC id, its cities and the scenario restricted to them."""

    index: int
    region: str
    cities: tuple[str, ...]
    scenario: Scenario
    replication: int = 0

    @property
    def label(self) -> str:
        more = f", +{len(self.cities) - 4} more" if len(self.cities) > 4 else ""
        return f"region {self.region} ({', '.join(self.cities[:4])}{more})"


@dataclass
class ShardOutput:
    index: int
    region: str
    records: RunRecords | None
    node_ids: tuple[str, ...]
    node_lat: np.ndarray
    node_lon: np.ndarray
    wall_s: float
    peak_rss_bytes: int
    pid: int
    error: str | None = None
    error_code: int = 1
    cpu_s: float = 0.0  # CPU seconds of the shard in its process (robust to a loaded machine, unlike wall_s)


# --------------------------------------------------------------------------- planning
def is_regional(sc: Scenario) -> bool:
    return bool(sc.nodes.ndcs.capacity.scope == "regional")


def _refuse_unsupported(sc: Scenario) -> None:
    if sc.demand.source == "file":
        raise ScenarioError(
            "demand.source: a regional (sharded) run replays no order history yet; use "
            "scope: national or synthetic demand"
        )
    if getattr(sc.inventory.initial, "file", None) is not None:
        raise ScenarioError(
            "inventory.initial.file: observed starting stock is not supported in a regional (sharded) run yet"
        )
    placed = {c: n for c, n in sc.nodes.ndcs.count_per_city.items() if n}
    if any(n > 1 for n in placed.values()):
        raise ScenarioError(
            "nodes.ndcs.count_per_city: a regional scenario needs at most one placed NDC per city "
            "(list NDCs under nodes.ndcs.sites)"
        )


def plan_shards(sc: Scenario, replication: int = 0, net: Any = None) -> list[Shard]:
    """The regions of a ``scope: regional`` scenario as shards (ScenarioError, exit 2, if they interact)."""
    if not is_regional(sc):
        n_ndcs = sum(1 for _ in sc.nodes.ndcs.all_ids("ndc"))
        raise ScenarioError(
            f"--executor: {sc.name} cannot be sharded: with nodes.ndcs.capacity.scope: national "
            f"every NDC ({n_ndcs}) serves every city, so the network is one component; set "
            "scope: regional to simulate each NDC's region as a shard"
        )
    _refuse_unsupported(sc)
    net = net if net is not None else build_network(sc)
    empty = empty_regions(net)
    if empty:
        raise ScenarioError(
            f"nodes.ndcs.capacity.scope: regional: NDC {empty[0]} serves no city (every city is "
            "nearer to another NDC, or as near to one listed before it)"
        )
    links = region_links(net)
    if links:
        raise ScenarioError(
            f"nodes.ndcs.capacity.scope: regional: the regions interact, so they cannot be "
            f"simulated apart: {'; '.join(links)}"
        )
    ndcs = np.flatnonzero(net.node_kind == NDC)
    region = city_regions(net.city_lat, net.city_lon, net.node_lat[ndcs], net.node_lon[ndcs])
    out = []
    for r, n in enumerate(ndcs.tolist()):
        cities = tuple(net.city_names[c] for c in np.flatnonzero(region == r))
        out.append(
            Shard(r, net.node_ids[n], cities, shard_scenario(sc, net.node_ids[n], cities), replication)
        )
    return out


def shard_scenario(sc: Scenario, ndc: str, cities: Sequence[str]) -> Scenario:
    """`sc` restricted to one region (see the module docstring): scope national inside the shard."""
    d = to_dict(sc)
    keep = set(cities)
    weights = [float(c["demand_weight"]) for c in d["geography"]["cities"]]
    kept = sum(w for c, w in zip(d["geography"]["cities"], weights, strict=True) if c["name"] in keep)
    for c in d["geography"]["cities"]:
        if c["name"] not in keep:
            c["demand_weight"] = 0.0
    if kept <= 0:
        raise ScenarioError(
            f"geography.cities: region {ndc} has no demand (every city in it has demand_weight 0)"
        )
    d["demand"]["orders_per_day"] = float(sc.demand.orders_per_day) * kept / sum(weights)
    nodes = d["nodes"]
    for key in ("ndcs", "fdcs", "stores"):
        group = nodes[key]
        if key == "ndcs":
            group["sites"] = [s for s in group["sites"] if s["id"] == ndc]
            group["count_per_city"] = {
                c: n for c, n in group["count_per_city"].items() if f"ndc-{c}-001" == ndc
            }
            group["capacity"]["scope"] = "national"
        else:
            group["sites"] = [s for s in group["sites"] if s["city"] in keep]
            group["count_per_city"] = {c: n for c, n in group["count_per_city"].items() if c in keep}
    ids = {
        nid
        for key, group in sc.nodes.groups()
        for nid, city in group.all_ids(key)
        if (city in keep and key != "ndc") or nid == ndc
    }
    lanes = d["lanes"]
    lanes["overrides"] = [o for o in lanes["overrides"] if o["to"] in ids]
    lanes["far"]["overrides"] = [o for o in lanes["far"]["overrides"] if o["ndc"] == ndc]
    return resolve(d, Path.cwd())


# --------------------------------------------------------------------------- one shard
def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (bytes; Linux reports KiB, macOS bytes)."""
    rss = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return rss if sys.platform == "darwin" else rss * 1024


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
    assert_invariants(records, drained=True, shelf_life_days=sim.cat.shelf_life_s / 86400.0)
    return ShardOutput(
        shard.index,
        shard.region,
        records,
        sim.net.node_ids,
        np.asarray(sim.net.node_lat),
        np.asarray(sim.net.node_lon),
        time.perf_counter() - t0,
        peak_rss_bytes(),
        os.getpid(),
        cpu_s=time.process_time() - c0,
    )


def _failed(shard: Shard, exc: BaseException) -> ShardOutput:
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
            r = _failed(s, exc)
        out.append(r)
        if on_done is not None:
            on_done(r)
    return out


# --------------------------------------------------------------------------- merge
def _concat(parts: Sequence[Any], name: str) -> np.ndarray:
    return np.concatenate([np.asarray(getattr(p, name)) for p in parts])


def _concat_opt(parts: Sequence[Any], name: str, perm: np.ndarray | None = None) -> np.ndarray | None:
    """A column that a mechanism records only when it is on (None when off: every shard runs the same
    scenario, so all or none have it), concatenated and, with `perm`, reordered."""
    cols = [getattr(p, name) for p in parts]
    if all(c is None for c in cols):
        return None
    if any(c is None for c in cols):
        raise AssertionError(f"merge: {name} recorded by some shards only")
    col = np.concatenate([np.asarray(c) for c in cols])
    return col if perm is None else col[perm]


def _remap(index: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Shard node indices to full-network ones (-1 stays -1)."""
    index = np.asarray(index)
    out = np.where(index >= 0, mapping[np.maximum(index, 0)], -1)
    return out.astype(index.dtype)


def _merge_orders(
    outs: Sequence[ShardOutput], maps: Sequence[np.ndarray]
) -> tuple[OrderRecords, LineRecords]:
    recs = [o.records for o in outs if o.records is not None]
    orders = [r.orders for r in recs]
    local = _concat(orders, "order_id")
    day = local // ORDER_ID_STRIDE
    created = _concat(orders, "created_s")
    city = _concat(orders, "city")
    perm = np.lexsort((local, city, created, day))  # the day's numbering over cities (sim.demand.orders)
    sday = day[perm]
    first = np.searchsorted(sday, sday, side="left")
    new_sorted = sday * ORDER_ID_STRIDE + (np.arange(perm.size) - first)
    new_id = np.empty_like(new_sorted)
    new_id[perm] = new_sorted
    fields: dict[str, Any] = {}
    for f in OrderRecords.__dataclass_fields__:
        opt = _concat_opt(orders, f)
        if opt is None:  # a column its mechanism did not record
            fields[f] = None
            continue
        col = opt
        if f == "node":
            col = np.concatenate([_remap(o.node, m) for o, m in zip(orders, maps, strict=True)])
        fields[f] = col[perm]
    fields["order_id"] = new_sorted.astype(np.int64)
    merged_orders = OrderRecords(**fields)
    # lines: each shard's order ids -> the new ones, then grouped by new id (line order within an order kept)
    line_new, line_parts = [], []
    bounds = np.concatenate([[0], np.cumsum([o.n for o in orders])])
    for k, (r, m) in enumerate(zip(recs, maps, strict=True)):
        ids = r.orders.order_id
        if ids.size > 1 and np.any(np.diff(ids) <= 0):
            raise AssertionError(f"shard {outs[k].region}: order ids are not increasing")
        pos = np.searchsorted(ids, r.lines.order_id)
        line_new.append(new_id[bounds[k] : bounds[k + 1]][pos])
        ln = r.lines
        line_parts.append(
            LineRecords(
                order_id=ln.order_id,
                sku=ln.sku,
                qty=ln.qty,
                preferred_node=_remap(ln.preferred_node, m),
                node=_remap(ln.node, m),
                served_tier=ln.served_tier,
                status=ln.status,
                substitute_sku=ln.substitute_sku,
                stockout=ln.stockout,
            )
        )
    lid = np.concatenate(line_new)
    lperm = np.argsort(lid, kind="stable")
    lines: dict[str, Any] = {f: _concat_opt(line_parts, f, lperm) for f in LineRecords.__dataclass_fields__}
    lines["order_id"] = lid[lperm].astype(np.int64)
    return merged_orders, LineRecords(**lines)


def _merge_days(recs: Sequence[RunRecords]) -> DayRecords:
    n = max(r.days.day.size for r in recs)
    costs: dict[str, np.ndarray] = {}
    for r in recs:
        for k, v in r.days.costs.items():
            acc = costs.setdefault(k, np.zeros(n))
            acc[: v.size] += v
    base = max(recs, key=lambda r: r.days.day.size).days
    return DayRecords(day=base.day.copy(), warmup=base.warmup.copy(), costs=costs, utilisation={})


def _merge_nodes(recs: Sequence[RunRecords], maps: Sequence[np.ndarray], n_nodes: int) -> NodeRecords:
    busy: dict[str, np.ndarray] = {}
    avail: dict[str, np.ndarray] = {}
    for r, m in zip(recs, maps, strict=True):
        for src, dst in ((r.nodes.busy_s, busy), (r.nodes.available_s, avail)):
            for k, v in src.items():
                dst.setdefault(k, np.zeros(n_nodes))[m] += np.asarray(v, float)
    return NodeRecords(busy_s=busy, available_s=avail)


def _merge_riders(recs: Sequence[RunRecords]) -> dict[str, Any] | None:
    parts = [r.riders for r in recs if r.riders is not None]
    if not parts:
        return None
    out: dict[str, Any] = {
        k: float(sum(p[k] for p in parts)) for k in ("rider_hours", "rider_days", "busy_hours")
    }
    on = np.sum([p["on_shift_by_hour"] for p in parts], axis=0)
    busy = np.sum(
        [
            np.asarray([u or 0.0 for u in p["utilisation_by_hour"]]) * np.asarray(p["on_shift_by_hour"])
            for p in parts
        ],
        axis=0,
    )
    out["on_shift_by_hour"] = [float(x) for x in on]
    out["utilisation_by_hour"] = [float(b / a) if a > 0 else None for b, a in zip(busy, on, strict=True)]
    return out


def _inv_remap(v: InventoryRecords, mapping: np.ndarray) -> InventoryRecords:
    fields = {f: getattr(v, f) for f in InventoryRecords.__dataclass_fields__}
    fields["node"] = _remap(v.node, mapping)
    return InventoryRecords(**fields)


def _carry_to(v: InventoryRecords, last: int) -> InventoryRecords:
    """A region whose drain ended before `last` (the longest shard's last day) keeps its stock, untouched, on
    the later days: rows start = end = its last day's end, no flows (as a run records a quiet day)."""
    if v.day.size == 0 or int(v.day.max()) >= last:
        return v
    own = int(v.day.max())
    keep = (v.day == own) & (v.end != 0)
    extra = last - own
    day = np.repeat(np.arange(own + 1, last + 1, dtype=v.day.dtype), int(keep.sum()))
    end = np.tile(np.asarray(v.end)[keep], extra)
    zero = np.zeros_like(end)
    pad = {
        "day": day,
        "node": np.tile(v.node[keep], extra),
        "sku": np.tile(v.sku[keep], extra),
        "start": end,
        "received": zero,
        "shipped": zero,
        "transferred_out": zero,
        "spoiled": zero,
        "end": end,
        "lost_demand": zero,
        "sold_offline": zero,
    }
    cols: dict[str, Any] = {
        f: None
        if getattr(v, f) is None
        else np.concatenate([np.asarray(getattr(v, f)), pad[f].astype(np.asarray(getattr(v, f)).dtype)])
        for f in InventoryRecords.__dataclass_fields__
    }
    return InventoryRecords(**cols)


def merge_records(outs: Sequence[ShardOutput], node_ids: Sequence[str]) -> RunRecords:
    """The shards' records as one run's, in the full network's node indices (see the module docstring)."""
    index = {nid: i for i, nid in enumerate(node_ids)}
    maps = [np.array([index[n] for n in o.node_ids], dtype=np.int64) for o in outs]
    recs = [o.records for o in outs]
    if any(r is None for r in recs):
        raise AssertionError("merge_records: a shard has no records")
    rs: list[RunRecords] = [r for r in recs if r is not None]
    orders, lines = _merge_orders(outs, maps)
    last = max((int(r.inventory.day.max()) for r in rs if r.inventory.day.size), default=0)
    invs = [_carry_to(_inv_remap(r.inventory, m), last) for r, m in zip(rs, maps, strict=True)]
    inv_cols: dict[str, Any] = {f: _concat_opt(invs, f) for f in InventoryRecords.__dataclass_fields__}
    inv = InventoryRecords(**inv_cols)
    router = RouterStats(
        epochs=max(r.router.epochs for r in rs),
        solver_ms_total=float(sum(r.router.solver_ms_total for r in rs)),
        repairs=sum(r.router.repairs for r in rs),
        fallbacks=sum(r.router.fallbacks for r in rs),
    )
    return RunRecords(
        orders=orders,
        lines=lines,
        inventory=inv,
        days=_merge_days(rs),
        nodes=_merge_nodes(rs, maps, len(node_ids)),
        router=router,
        measured_days=rs[0].measured_days,
        warmup_days=rs[0].warmup_days,
        riders=_merge_riders(rs),
    )


@dataclass(frozen=True)
class MergedNetwork:
    """What the run directory writers read of a network, with the positions the shards simulated."""

    node_ids: tuple[str, ...]
    node_kind: np.ndarray
    node_city: np.ndarray
    node_lat: np.ndarray
    node_lon: np.ndarray
    city_names: tuple[str, ...]


def merged_network(net: Any, outs: Sequence[ShardOutput]) -> MergedNetwork:
    lat, lon = np.array(net.node_lat, float), np.array(net.node_lon, float)
    index = {nid: i for i, nid in enumerate(net.node_ids)}
    for o in outs:
        m = np.array([index[n] for n in o.node_ids], dtype=np.int64)
        lat[m], lon[m] = o.node_lat, o.node_lon
    return MergedNetwork(
        tuple(net.node_ids),
        np.asarray(net.node_kind),
        np.asarray(net.node_city),
        lat,
        lon,
        tuple(net.city_names),
    )


# --------------------------------------------------------------------------- the run
def shard_summary(outs: Sequence[ShardOutput]) -> list[dict[str, Any]]:
    """manifest.json ``shards``: per region its orders, wall and CPU seconds and worker peak RSS (MiB)."""
    return [
        {
            "region": o.region,
            "orders": int(o.records.orders.n) if o.records is not None else 0,
            "wall_s": round(o.wall_s, 3),
            "cpu_s": round(o.cpu_s, 3),
            "peak_rss_mib": round(o.peak_rss_bytes / 2**20, 1),
            "pid": o.pid,
        }
        for o in outs
    ]


def run_shards(
    shards: Sequence[Shard],
    executor: Any = None,
    *,
    fn: Callable[[Shard], ShardOutput] | None = None,
    on_done: Callable[[ShardOutput], None] | None = None,
) -> list[ShardOutput]:
    """Every shard's output, in shard order; ShardFailed (naming the region) if any failed."""
    fn = fn or run_shard
    outs = (
        run_serial(fn, shards, on_done)
        if executor is None
        else executor.map(fn, list(shards), _failed, on_done)
    )
    bad = [o for o in outs if o.error is not None]
    if bad:
        more = f" (and {len(bad) - 1} more shards)" if len(bad) > 1 else ""
        raise ShardFailed(f"{bad[0].error}{more}; nothing was written", bad[0].error_code)
    return list(outs)


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
    """Plan, run (serially or on `executor`), merge and write a regional run; returns the run directory."""
    from sim.catalog import build_catalog
    from sim.io.results import write_run
    from sim.io.skus import history_sku_map, skus_table
    from sim.metrics.invariants import assert_invariants

    net = build_network(sc)
    shards = plan_shards(sc, replication, net)
    t0 = time.perf_counter()
    outs = run_shards(shards, executor, on_done=on_done)
    t1 = time.perf_counter()
    records = merge_records(outs, net.node_ids)
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
    if report:
        from sim.report.html import write_report

        write_report(path)
    return path
