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

Modules: ``plan`` (the shards), ``worker`` (one shard on a worker; its columns spooled to disk),
``merge`` (column by column), ``run`` (end to end: the shards go to the executor largest first).

Memory: each shard reports its worker's peak RSS (the process's high-water mark when the shard
finished; with the local or Dask executor a worker may have run an earlier shard first) in
manifest.json ``shards``; ``sim.io.scenario.memory`` gives the per-worker estimate. A worker writes its
order, line and inventory columns to a spool directory next to the run's (``sim.shard.worker``) and
returns only the rest, so neither it nor the parent holds a pickled copy; the parent merges one column
at a time (``sim.shard.merge``).
"""

from sim.shard.merge import MergedNetwork, merge_records, merged_network
from sim.shard.plan import Shard, ShardFailed, is_regional, plan_shards, shard_scenario
from sim.shard.run import lpt_order, run_shards, shard_summary, simulate_sharded
from sim.shard.worker import ShardOutput, peak_rss_bytes, run_shard

__all__ = [
    "MergedNetwork",
    "Shard",
    "ShardFailed",
    "ShardOutput",
    "is_regional",
    "lpt_order",
    "merge_records",
    "merged_network",
    "peak_rss_bytes",
    "plan_shards",
    "run_shard",
    "run_shards",
    "shard_scenario",
    "shard_summary",
    "simulate_sharded",
]
