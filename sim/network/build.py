"""Build the fulfilment network from a resolved scenario: zones, nodes, lanes, coverage.

The networkx graph (``Network.graph``) is the planner-facing structure: NDC -> FDC -> store
replenishment lanes and node -> zone service edges per tier. The simulator works on the numpy
arrays next to it (positions, the zone x node road-distance matrix, supply lanes, far transit
days, coverage masks), computed once here and never from the graph in a hot loop.

Supply rule: an FDC is replenished from its nearest NDC; a store from the nearest FDC in its city,
or its nearest NDC when its city has no FDC; ``lanes.overrides`` set another supplier or figures.
Under ``nodes.ndcs.capacity.scope: regional`` "nearest NDC" becomes "the NDC of the node's region"
(each city belongs to the NDC nearest its centre: ``sim.network.regions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from sim import units
from sim.errors import InfeasibleScenario
from sim.network.geo import distance_matrix_km
from sim.network.placement import cover_first, place_nodes
from sim.network.regions import city_regions
from sim.network.zones import make_city_zones
from sim.rng import RandomStreams
from sim.vocab import KIND_NAMES, TIER_NAMES, TIER_OF_KIND, NodeKind

KINDS = KIND_NAMES
NDC, FDC, STORE = NodeKind.NDC, NodeKind.FDC, NodeKind.STORE  # aliases of sim.vocab.NodeKind


@dataclass(frozen=True)
class Network:
    """Zones, nodes and lanes as arrays (index order is fixed and deterministic)."""

    city_names: tuple[str, ...]
    city_lat: np.ndarray
    city_lon: np.ndarray
    city_population: np.ndarray
    city_radius_km: np.ndarray
    zone_city: np.ndarray  # (Z,) int city index
    zone_lat: np.ndarray
    zone_lon: np.ndarray
    zone_weight: np.ndarray  # share of total demand; sums to 1
    node_ids: tuple[str, ...]
    node_kind: np.ndarray  # (N,) int: 0 ndc, 1 fdc, 2 store
    node_city: np.ndarray  # (N,) int city index
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_capacity: tuple[Any, ...]  # per node: its capacity section with site overrides applied
    road_km: np.ndarray  # (Z, N) float32 road distance = great circle x circuity
    reach_km: np.ndarray  # (N,) straight-line service radius: rider radius, van radius, inf for NDCs
    supplier: np.ndarray  # (N,) index of the node that replenishes it, -1 for NDCs
    lead_time_s: np.ndarray  # (N,) inbound lane lead time
    truck_capacity_m3: np.ndarray
    truck_fixed_cny: np.ndarray
    truck_per_unit_cny: np.ndarray
    far_transit_days: np.ndarray  # (N, C) days from an NDC to a city (0 for non-NDC rows)
    graph: nx.DiGraph = field(repr=False)

    @property
    def n_zones(self) -> int:
        return len(self.zone_city)

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def covers(self) -> np.ndarray:
        """(Z, N) bool: node n can serve zone z at its own tier (within its straight-line reach)."""
        circuity = self.graph.graph["circuity"]
        return self.road_km <= (self.reach_km[None, :] * circuity + 1e-6)

    def coverage(self) -> dict[str, dict[str, float]]:
        """Share of demand weight each tier can reach, overall and per city: {tier: {city|'all': share}}."""
        cov = self.covers()
        out: dict[str, dict[str, float]] = {}
        for tier, kind in (("near", STORE), ("mid", FDC), ("far", NDC)):
            ok = cov[:, self.node_kind == kind].any(axis=1)
            per = {"all": float(self.zone_weight[ok].sum())}
            for c, name in enumerate(self.city_names):
                m = self.zone_city == c
                total = self.zone_weight[m].sum()
                per[name] = float(self.zone_weight[m & ok].sum() / total) if total > 0 else float("nan")
            out[tier] = per
        return out

    def next_day_share(self) -> float:
        """Share of demand weight within one transit day of some NDC."""
        best = self.far_transit_days[self.node_kind == NDC].min(axis=0)  # per city
        return float(self.zone_weight[best[self.zone_city] <= 1].sum())


def _transit_days(sc: Any, km: float) -> int:
    for band in sc.lanes.far.bands:
        if band.max_km is None or km <= band.max_km:
            return int(band.days)
    raise AssertionError("the last band is unbounded (checked by the schema)")


def build_network(sc: Any) -> Network:
    """Arrays and graph for a resolved `Scenario` (deterministic; uses network.* streams only)."""
    streams = RandomStreams(sc.seed, 0)
    geo = sc.geography
    cities = geo.cities
    names = tuple(c.name for c in cities)
    cidx = {n: i for i, n in enumerate(names)}

    zc, zlat, zlon, zw = [], [], [], []
    pop = np.array([c.population for c in cities], dtype=float)
    demand = np.array([c.demand_weight for c in cities], dtype=float)
    if demand.sum() <= 0:
        raise InfeasibleScenario("geography.cities: every city has demand_weight 0, so there is no demand")
    for i, c in enumerate(cities):
        z = make_city_zones(streams, c.name, c.lat, c.lon, c.zones, c.radius_km, geo.zone_spread)
        zc.append(np.full(len(z.lat), i))
        zlat.append(z.lat)
        zlon.append(z.lon)
        zw.append(z.weight * demand[i] / demand.sum())
    zone_city, zone_lat, zone_lon = np.concatenate(zc), np.concatenate(zlat), np.concatenate(zlon)
    zone_weight = np.concatenate(zw)

    ids: list[str] = []
    kind: list[int] = []
    city: list[int] = []
    lat: list[float] = []
    lon: list[float] = []
    caps: list[Any] = []
    for k, (kname, group) in enumerate(sc.nodes.groups()):
        for s in group.sites:
            ids.append(s.id)
            kind.append(k)
            city.append(cidx[s.city])
            lat.append(s.lat)
            lon.append(s.lon)
            caps.append(group.capacity.model_copy(update=_typed(group.capacity, s.capacity)))
        for cname, n in group.count_per_city.items():
            if n == 0:
                continue
            ci = cidx[cname]
            m = zone_city == ci
            la, lo = place_nodes(
                streams,
                kname,
                cname,
                n,
                (cities[ci].lat, cities[ci].lon),
                zone_lat[m],
                zone_lon[m],
                zone_weight[m],
                cities[ci].radius_km,
            )
            placed = [nid for nid, c in group.placed_ids(kname) if c == cname]
            ids.extend(placed)
            kind.extend([k] * n)
            city.extend([ci] * n)
            lat.extend(la.tolist())
            lon.extend(lo.tolist())
            kinds = getattr(group, "kinds", ())
            if kinds:  # store kinds (issue #13): every placed store of a kind gets its capacity overrides
                kc = [group.capacity.model_copy(update=_typed(group.capacity, kd.capacity)) for kd in kinds]
                kind_idx = _kinds_of(group, n, kc, (zone_lat[m], zone_lon[m], zone_weight[m]), la, lo)
                caps.extend([kc[k] if k >= 0 else group.capacity for k in kind_idx])
            else:
                caps.extend([group.capacity] * n)

    node_kind = np.array(kind, dtype=np.int8)
    node_city = np.array(city, dtype=np.int32)
    node_lat, node_lon = np.array(lat, float), np.array(lon, float)
    road = distance_matrix_km(zone_lat, zone_lon, node_lat, node_lon) * np.float32(geo.circuity)
    radius = np.array([c.radius_km for c in cities])
    reach = np.array(
        [
            c.rider_radius_km if k == STORE else (c.van_radius_km or radius[ci]) if k == FDC else np.inf
            for k, c, ci in zip(node_kind, caps, node_city, strict=True)
        ]
    )

    lanes = _supply_lanes(sc, ids, node_kind, node_city, node_lat, node_lon)
    ndc_city_km = distance_matrix_km(
        node_lat, node_lon, np.array([c.lat for c in cities]), np.array([c.lon for c in cities])
    )
    far = np.zeros((len(ids), len(cities)), dtype=np.int16)
    for n in np.flatnonzero(node_kind == NDC):
        far[n] = [_transit_days(sc, float(km)) for km in ndc_city_km[n]]
    idx = {nid: i for i, nid in enumerate(ids)}
    for o in sc.lanes.far.overrides:
        far[idx[o.ndc], cidx[o.city]] = o.days

    supplier, lead, truck_cap, truck_fixed, truck_unit = lanes
    net = Network(
        city_names=names,
        city_lat=np.array([c.lat for c in cities]),
        city_lon=np.array([c.lon for c in cities]),
        city_population=pop,
        city_radius_km=radius,
        zone_city=zone_city.astype(np.int32),
        zone_lat=zone_lat,
        zone_lon=zone_lon,
        zone_weight=zone_weight,
        node_ids=tuple(ids),
        node_kind=node_kind,
        node_city=node_city,
        node_lat=node_lat,
        node_lon=node_lon,
        node_capacity=tuple(caps),
        road_km=road,
        reach_km=reach,
        supplier=supplier,
        lead_time_s=lead,
        truck_capacity_m3=truck_cap,
        truck_fixed_cny=truck_fixed,
        truck_per_unit_cny=truck_unit,
        far_transit_days=far,
        graph=nx.DiGraph(circuity=geo.circuity),
    )
    _fill_graph(net)
    return net


def _kinds_of(
    group: Any,
    n: int,
    kc: list[Any],
    zones: tuple[np.ndarray, np.ndarray, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
) -> list[int]:
    """Kind index (-1: none) of a city's n placed stores: as many of each kind as ``kind_of`` gives; kinds with
    ``placement: cover`` take, in order, the stores covering the most demand (``cover_first``), the others keep
    ``kind_of``'s even spread over the stores left."""
    even = group.kind_of(n)
    if all(kd.placement == "even" for kd in group.kinds):
        return list(even)
    counts = np.bincount(np.array([k for k in even if k >= 0], np.int64), minlength=len(group.kinds))
    out = np.full(n, -1, np.int64)
    for k, kd in enumerate(group.kinds):
        if kd.placement == "cover":
            free = np.flatnonzero(out < 0)
            out[cover_first(*zones, lat, lon, float(kc[k].rider_radius_km), int(counts[k]), free)] = k
    rest = [k for k in even if k >= 0 and group.kinds[k].placement == "even"] + [-1] * n
    for i, j in enumerate(np.flatnonzero(out < 0)):  # the even kinds in kind_of's order over the stores left
        out[j] = rest[i]
    return out.tolist()


def _typed(capacity: Any, overrides: dict[str, float]) -> dict[str, Any]:
    """Site overrides cast to the field types of the group's capacity (CSV numbers arrive as float)."""
    return {
        k: type(getattr(capacity, k))(v) if getattr(capacity, k) is not None else v
        for k, v in overrides.items()
    }


def _supply_lanes(
    sc: Any, ids: list[str], kind: np.ndarray, city: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, ...]:
    n = len(ids)
    d = distance_matrix_km(lat, lon, lat, lon).astype(float) * sc.geography.circuity
    supplier = np.full(n, -1, dtype=np.int64)
    ndcs, fdcs = np.flatnonzero(kind == NDC), np.flatnonzero(kind == FDC)
    own = None  # scope regional: the region's NDC of every city
    if sc.nodes.ndcs.capacity.scope == "regional":
        own = ndcs[
            city_regions(
                np.array([c.lat for c in sc.geography.cities]),
                np.array([c.lon for c in sc.geography.cities]),
                lat[ndcs],
                lon[ndcs],
            )
        ]
    for i in range(n):
        if kind[i] == FDC:
            supplier[i] = int(ndcs[d[i, ndcs].argmin()]) if own is None else int(own[city[i]])
        elif kind[i] == STORE:
            local = fdcs[city[fdcs] == city[i]]
            if len(local) == 0 and own is not None:
                supplier[i] = int(own[city[i]])
                continue
            pool = local if len(local) else ndcs
            supplier[i] = int(pool[d[i, pool].argmin()])
    idx = {nid: i for i, nid in enumerate(ids)}
    over = {idx[o.to]: o for o in sc.lanes.overrides}
    for i, o in over.items():
        supplier[i] = idx[o.from_]
    lead = np.zeros(n)
    cap, fixed, unit = np.zeros(n), np.zeros(n), np.zeros(n)
    cls: dict[tuple[int, int], Any] = {
        (NDC, FDC): sc.lanes.ndc_fdc,
        (FDC, STORE): sc.lanes.fdc_store,
        (NDC, STORE): sc.lanes.ndc_store,
    }
    for i in map(int, np.flatnonzero(supplier >= 0)):
        s = int(supplier[i])
        lane = cls[(int(kind[s]), int(kind[i]))]
        km = d[s, i]
        o = over.get(i)
        lead[i] = units.hours(
            o.lead_time_h if o and o.lead_time_h else lane.base_h + km / lane.truck_speed_kmh
        )
        cap[i] = o.truck_capacity_m3 if o and o.truck_capacity_m3 else lane.truck_capacity_m3
        fixed[i] = o.fixed_cny if o and o.fixed_cny is not None else lane.fixed_cny + lane.per_km_cny * km
        unit[i] = o.per_unit_cny if o and o.per_unit_cny is not None else lane.per_unit_cny
    return supplier, lead, cap, fixed, unit


def _fill_graph(net: Network) -> None:
    g = net.graph
    for i, nid in enumerate(net.node_ids):
        g.add_node(
            nid,
            kind=KINDS[net.node_kind[i]],
            city=net.city_names[net.node_city[i]],
            lat=float(net.node_lat[i]),
            lon=float(net.node_lon[i]),
        )
    for i in map(int, np.flatnonzero(net.supplier >= 0)):
        g.add_edge(
            net.node_ids[net.supplier[i]],
            net.node_ids[i],
            kind="lane",
            lead_time_h=float(net.lead_time_s[i] / units.HOUR),
            truck_capacity_m3=float(net.truck_capacity_m3[i]),
            fixed_cny=float(net.truck_fixed_cny[i]),
            per_unit_cny=float(net.truck_per_unit_cny[i]),
        )
    for z in range(net.n_zones):
        g.add_node(
            f"zone:{z}",
            kind="zone",
            city=net.city_names[net.zone_city[z]],
            weight=float(net.zone_weight[z]),
            lat=float(net.zone_lat[z]),
            lon=float(net.zone_lon[z]),
        )
    zz, nn = np.nonzero(net.covers())
    for z, n in zip(zz.tolist(), nn.tolist(), strict=True):
        g.add_edge(
            net.node_ids[n],
            f"zone:{z}",
            kind="service",
            tier=TIER_NAMES[TIER_OF_KIND[net.node_kind[n]]],
            road_km=float(net.road_km[z, n]),
        )
