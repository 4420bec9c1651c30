"""Planning a sharded run: a ``scope: regional`` scenario's regions as shards (see ``sim.shard``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ScenarioError, ShangouError
from sim.io.scenario import Scenario, resolve, to_dict
from sim.network import NDC, build_network
from sim.network.regions import city_regions, empty_regions, region_links


class ShardFailed(ShangouError):
    """A shard raised: the run fails, naming the region; exit code of the shard's own error."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Shard:
    """One region: its NDC id, its cities and the scenario restricted to them. With `spool` (a directory the
    worker can write, on a filesystem the parent reads) the shard's order, line and inventory columns go there
    as .npy files instead of back through the executor (``sim.shard.worker``)."""

    index: int
    region: str
    cities: tuple[str, ...]
    scenario: Scenario
    replication: int = 0
    spool: str | None = None

    @property
    def label(self) -> str:
        more = f", +{len(self.cities) - 4} more" if len(self.cities) > 4 else ""
        return f"region {self.region} ({', '.join(self.cities[:4])}{more})"

    @property
    def size(self) -> float:
        """The shard's expected orders per day: its work (largest first is the LPT order, ``run_shards``)."""
        return float(self.scenario.demand.orders_per_day)


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


_NETWORK: dict[str, Any] = {}  # the last regional scenario's network, by scenario hash (see `network_of`)


def network_of(sc: Scenario) -> Any:
    """The scenario's network, built once per scenario: ``run --executor`` plans the shards to refuse before
    it starts workers and again to run them; the parent's serial time is what bounds the speed-up."""
    from sim.io.scenario import scenario_hash

    key = scenario_hash(sc)
    if key not in _NETWORK:
        _NETWORK.clear()
        _NETWORK[key] = build_network(sc)
    return _NETWORK[key]


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
    net = net if net is not None else network_of(sc)
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
