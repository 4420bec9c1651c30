"""The peak-memory estimate behind ``--max-memory``, fitted to measured peak RSS
(``benchmarks/bench_memory.py`` prints estimate against peak; within +-25 % on the bundled cases).

The terms are the engine's mechanisms, each with its bytes (``parts``): a fixed interpreter + imports
baseline; the whole run's order and line result columns (per order, per line); one day's working arrays
per order of the busiest day (orders, lines, the routing epochs' candidate pairs); the dense node x SKU
state arrays (per cell, every node x every SKU); the inventory rows, one per *stocked* cell and day
(``stocked_cells``: a store stocks at most min(slots, the policy's n), an NDC every SKU; a cell without
stock or flow has no row, so at a small fraction of a network's volume this is an upper bound); and the
distance/ETA matrices per zone x node. The bytes per unit were fitted once across toy, toy at 100k/day,
Shanghai-Hangzhou at 150k/day, double11 at 20k/day and the full-volume South shard of national
(``benchmarks/bench_memory.py``, measured 2026-12-07); no term is per scenario. A refusal names the field
behind the largest part.

A ``scope: regional`` scenario runs region by region (``sim.shard``): each region's shard is estimated
like a scenario of its own (its demand share of the orders, its nodes, every city's zones), and
``shard_estimates`` lists them; ``worker_memory_bytes`` is the largest (a worker spools its records to
disk, so it holds no second copy). The parent merges the spooled columns one at a time into the whole
run's records (``merge_memory_bytes``: the order and line columns, the inventory rows of every shard's
busy cells and their sort index); ``estimate_memory_bytes`` of a regional run is the larger of the
two, since the one-process path runs the shards and then merges, one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.io.scenario.models import Scenario
from sim.units import haversine_km

# interpreter, numpy, pandas, pyarrow, SimPy, OR-Tools loaded (toy_history, ~600 orders/day, peaks at 0.25 GiB)
BASE_BYTES = 250 * 2**20
BYTES_PER_ORDER = 100  # the whole run's order result columns (~85 B) and the order book's share per order
BYTES_PER_LINE = 40  # the whole run's line result columns (~30 B) and the line index
# one day's working arrays per order of the busiest day: its orders and lines, the routing epochs' candidate
# (order, node) pairs with their ETA/cost columns, the day's records before they join the run's
BYTES_PER_DAY_ORDER = 1000
# dense node x SKU state: 11 int64 inventory arrays (88 B), 4 float64 lookahead/target arrays (32 B), the
# forecaster and offline sales (~20 B), and the day close's and policy's transient whole-array temporaries
BYTES_PER_CELL = 300
ROW_BYTES = 84  # one inventory row (3 x int32 + 8 x int64 = 76 B) and its place in the file-order index
BYTES_PER_ZONE_NODE = 24  # distance and ETA matrices (float32) per zone x node
RECORD_BYTES_PER_ORDER = 140  # merged order columns (~85 B) + ~1.6 lines x 30 B (sim.records)
MERGE_BYTES_PER_ORDER = 60  # the merge's sort keys and permutation, one column's parts, the KPIs' masks
DRAIN_DAYS = 1  # row days beyond the horizon: a regional run drains before its last inventory row


@dataclass(frozen=True)
class Part:
    field: str  # the scenario field that scales this part
    what: str
    count: float
    bytes_each: int

    @property
    def bytes(self) -> float:
        return self.count * self.bytes_each


def _peak(sc: Scenario) -> float:
    return max([p.multiplier for p in sc.demand.promotions] + [1.0])


def _parts(sc: Scenario, share: float, nodes: int, stocked: int) -> list[Part]:
    """The terms of one process that simulates `share` of the demand on `nodes` nodes (`stocked` of their
    node x SKU cells can hold stock, so have an inventory row on a busy day)."""
    total_days = sc.horizon.warmup_days + sc.horizon.days
    peak = _peak(sc)
    per_day = sc.demand.orders_per_day * share
    orders = per_day * (total_days + peak - 1.0)
    lines = orders * sc.demand.basket.mean_lines
    zones = sum(c.zones or sc.geography.zones_per_city for c in sc.geography.cities)
    return [
        Part(
            "demand.orders_per_day", f"{orders:,.0f} orders over {total_days} days", orders, BYTES_PER_ORDER
        ),
        Part("demand.orders_per_day", f"{lines:,.0f} order lines", lines, BYTES_PER_LINE),
        Part(
            "demand.orders_per_day",
            f"{per_day * peak:,.0f} orders on the busiest day",
            per_day * peak,
            BYTES_PER_DAY_ORDER,
        ),
        Part(
            "catalog.n_skus",
            f"{nodes * sc.catalog.n_skus:,} node x SKU cells",
            nodes * sc.catalog.n_skus,
            BYTES_PER_CELL,
        ),
        Part(
            "catalog.n_skus",
            f"{stocked * total_days:,} stocked cell-days (inventory rows)",
            stocked * total_days,
            ROW_BYTES,
        ),
        Part(
            "geography.zones_per_city",
            f"{zones * nodes:,} zone x node pairs",
            zones * nodes,
            BYTES_PER_ZONE_NODE,
        ),
    ]


def parts(sc: Scenario) -> list[Part]:
    """The estimate's terms, each with the field that drives it."""
    return _parts(sc, 1.0, sc.nodes.count(), stocked_cells(sc))


def _single(sc: Scenario) -> int:
    return int(BASE_BYTES + sum(p.bytes for p in parts(sc)))


def regions(sc: Scenario) -> list[tuple[str, list[str]]]:
    """(NDC id, its cities) under scope: regional: each city to the NDC nearest its centre (ties: the first
    listed; placed NDCs at their city centre here, as ``sim.network.regions`` does for the built network)."""
    by_name = {c.name: c for c in sc.geography.cities}
    ndcs = [
        (
            s.id,
            s.lat if s.lat is not None else by_name[s.city].lat,
            s.lon if s.lon is not None else by_name[s.city].lon,
        )
        for s in sc.nodes.ndcs.sites
    ]
    ndcs += [(nid, by_name[city].lat, by_name[city].lon) for nid, city in sc.nodes.ndcs.placed_ids("ndc")]
    out: list[tuple[str, list[str]]] = [(nid, []) for nid, _, _ in ndcs]
    if not ndcs:
        return out
    lat = np.array([float(x[1] or 0.0) for x in ndcs])
    lon = np.array([float(x[2] or 0.0) for x in ndcs])
    for c in sc.geography.cities:
        d = haversine_km(float(c.lat or 0.0), float(c.lon or 0.0), lat, lon)
        out[int(np.argmin(d))][1].append(c.name)
    return out


def shard_estimates(sc: Scenario) -> list[tuple[str, int, float]]:
    """Per region of a regional scenario: (NDC id, estimated peak bytes of its shard, its demand share)."""
    weights = {c.name: float(c.demand_weight or 0.0) for c in sc.geography.cities}
    total = sum(weights.values()) or 1.0
    out = []
    for ndc, cities in regions(sc):
        share = sum(weights[c] for c in cities) / total
        nodes = 1 + sum(
            1 for key, g in sc.nodes.groups() if key != "ndc" for _, c in g.all_ids(key) if c in cities
        )
        b = BASE_BYTES + sum(p.bytes for p in _parts(sc, share, nodes, stocked_cells(sc, set(cities))))
        out.append((ndc, int(b), share))
    return out


def _orders_total(sc: Scenario) -> float:
    peak = max([p.multiplier for p in sc.demand.promotions] + [1.0])
    return float(sc.demand.orders_per_day) * (sc.horizon.warmup_days + sc.horizon.days + peak - 1.0)


def stocked_cells(sc: Scenario, cities: set[str] | None = None) -> int:
    """The node x SKU cells that can hold stock: a store or FDC stocks at most its slots (its group's) and at
    most the policy's ``n`` where it has one; an NDC every SKU. The inventory rows of a day are these cells
    at most (plus lost demand at unstocked preferred cells). With `cities`, one region's shard: its nodes
    in those cities and its one NDC."""
    from sim.spec import parse_spec

    n_skus = sc.catalog.n_skus
    try:
        cap = int(parse_spec(str(sc.policy)).params.get("n", n_skus))
    except (ValueError, TypeError):
        cap = n_skus
    out = n_skus if cities is not None else 0
    for key, group in sc.nodes.groups():
        if cities is None:
            count = len(group.sites) + sum(group.count_per_city.values())
        elif key == "ndc":
            continue
        else:
            count = sum(1 for _, c in group.all_ids(key) if c in cities)
        slots = getattr(group.capacity, "slots", None)
        out += count * (n_skus if key == "ndc" or slots is None else min(int(slots), cap, n_skus))
    return out


def merge_memory_bytes(sc: Scenario) -> int:
    """The parent of a regional run while it merges and writes: every shard's order and line columns merged,
    the inventory rows (every stocked cell on every day: ``stocked_cells``, an upper bound), the sort index
    of one table and the KPIs' per-order masks."""
    days = sc.horizon.warmup_days + sc.horizon.days + DRAIN_DAYS
    return int(
        BASE_BYTES
        + _orders_total(sc) * (RECORD_BYTES_PER_ORDER + MERGE_BYTES_PER_ORDER)
        + stocked_cells(sc) * days * ROW_BYTES
    )


def worker_memory_bytes(sc: Scenario) -> int:
    """Peak bytes of one worker of ``run --executor`` (a regional scenario's largest shard); else the run's."""
    if sc.nodes.ndcs.capacity.scope != "regional":
        return _single(sc)
    return max(b for _, b, _ in shard_estimates(sc))


def estimate_memory_bytes(sc: Scenario) -> int:
    """Estimated peak resident memory of a run (bytes): the one process of a national run; for a regional
    run the process that runs the shards one after the other (or waits for workers) and merges them."""
    if sc.nodes.ndcs.capacity.scope != "regional":
        return _single(sc)
    return max(worker_memory_bytes(sc), merge_memory_bytes(sc))


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError


def memory_breakdown(sc: Scenario) -> str:
    return ", ".join(f"{p.what} ~{human_bytes(p.bytes)}" for p in parts(sc))


def memory_refusal(sc: Scenario, limit: int) -> str | None:
    """The one-line refusal when the estimate exceeds `limit` (bytes), naming the dominating field."""
    need = estimate_memory_bytes(sc)
    if need <= limit:
        return None
    by_field: dict[str, float] = {}
    for p in parts(sc):
        by_field[p.field] = by_field.get(p.field, 0.0) + p.bytes
    field = max(by_field, key=lambda f: by_field[f])
    return (
        f"{field}: the run needs an estimated {human_bytes(need)} of memory, {human_bytes(by_field[field])} of "
        f"it from this field ({memory_breakdown(sc)}), over the limit of {human_bytes(limit)} (--max-memory)"
    )
