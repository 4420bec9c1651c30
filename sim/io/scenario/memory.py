"""The peak-memory estimate behind ``--max-memory``, fitted to measured peak RSS
(``benchmarks/bench_memory.py`` prints estimate against peak; within +-25 % on the bundled and
large-SKU cases).

The engine keeps per-order result columns for the whole run, builds one day's orders, lines and
routing candidates at a time, holds node x SKU state arrays and one day's inventory rows, and
distance/ETA matrices per zone x node. A refusal names the field behind the largest part.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.io.scenario.models import Scenario

BASE_BYTES = 300 * 2**20  # interpreter, numpy, pandas, pyarrow, SimPy, OR-Tools loaded
BYTES_PER_ORDER = 250  # the whole run's order + line result columns (~20 columns, ~1.6 lines per order)
BYTES_PER_DAY_ORDER = 800  # one day's working arrays per order of the busiest day (orders, lines, candidates)
BYTES_PER_CELL = 640  # node x SKU: state, targets, forecasts, one day's inventory rows and their table
BYTES_PER_ZONE_NODE = 24  # distance and ETA matrices (float32) per zone x node


@dataclass(frozen=True)
class Part:
    field: str  # the scenario field that scales this part
    what: str
    count: float
    bytes_each: int

    @property
    def bytes(self) -> float:
        return self.count * self.bytes_each


def parts(sc: Scenario) -> list[Part]:
    """The estimate's terms, each with the field that drives it."""
    total_days = sc.horizon.warmup_days + sc.horizon.days
    peak = max([p.multiplier for p in sc.demand.promotions] + [1.0])
    orders = sc.demand.orders_per_day * (total_days + peak - 1.0)
    nodes = sc.nodes.count()
    zones = sum(c.zones or sc.geography.zones_per_city for c in sc.geography.cities)
    return [
        Part("demand.orders_per_day", f"{orders:,.0f} orders over {total_days} days", orders, BYTES_PER_ORDER),
        Part("demand.orders_per_day", f"{sc.demand.orders_per_day * peak:,.0f} orders on the busiest day",
             sc.demand.orders_per_day * peak, BYTES_PER_DAY_ORDER),
        Part("catalog.n_skus", f"{nodes * sc.catalog.n_skus:,} node x SKU cells", nodes * sc.catalog.n_skus,
             BYTES_PER_CELL),
        Part("geography.zones_per_city", f"{zones * nodes:,} zone x node pairs", zones * nodes, BYTES_PER_ZONE_NODE),
    ]


def estimate_memory_bytes(sc: Scenario) -> int:
    """Estimated peak resident memory of a run (bytes)."""
    return int(BASE_BYTES + sum(p.bytes for p in parts(sc)))


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
    return (f"{field}: the run needs an estimated {human_bytes(need)} of memory, {human_bytes(by_field[field])} of "
            f"it from this field ({memory_breakdown(sc)}), over the limit of {human_bytes(limit)} (--max-memory)")
