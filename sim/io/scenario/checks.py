"""Checks across scenario sections (each returns ``path: rule, got value`` lines), the lead-time
bound behind the warm-up rule, and the memory estimate behind ``--max-memory``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim import units
from sim.cities import suggest
from sim.io.scenario import memory, sanity
from sim.io.scenario.messages import validation_lines
from sim.io.scenario.models import FdcCapacity, LaneClass, NdcCapacity, Scenario, StoreCapacity, node_kinds
from sim.registry import POLICIES, ROUTERS
from sim.spec import parse_spec

_CAPACITY: dict[str, type[BaseModel]] = {"ndc": NdcCapacity, "fdc": FdcCapacity, "store": StoreCapacity}
_GROUP_KEY = {"ndc": "ndcs", "fdc": "fdcs", "store": "stores"}
_LANE_KINDS = {("ndc", "fdc"), ("fdc", "store"), ("ndc", "store")}
#: capacity fields the engine applies per group, not per site: a site override that differs from the
#: group's value is refused (the store queues' service-time CV and the rider pool's speeds, batch size
#: and hold time are one set of rider rules per scenario in sim.engine.store)
GROUP_ONLY: dict[str, tuple[str, ...]] = {
    "store": ("pick_cv", "rider_speed_kmh", "rider_peak_speed_kmh", "rider_max_batch", "rider_max_hold_s"),
}


def _capacity_overrides(
    kind: str, group: Any, key: str, where: str, i: int, capacity: dict[str, Any]
) -> list[str]:
    """A site's or a store kind's capacity overrides: valid merged with the group's, and none of the
    fields the engine holds once per group (``GROUP_ONLY``) set to another value."""
    if not capacity:
        return []
    out: list[str] = []
    group_value = group.capacity.model_dump()
    try:
        _CAPACITY[kind].model_validate({**group_value, **capacity})
    except ValidationError as exc:
        out += validation_lines(exc, _CAPACITY[kind], prefix=(*key.split("."), where, i, "capacity"))
    for f in GROUP_ONLY.get(kind, ()):
        if f in capacity and capacity[f] != group_value[f]:
            out.append(
                f"{key}.{where}[{i}].capacity.{f}: per-{where[:-1]} values are not supported (one value "
                f"for every {kind}: set {key}.capacity.{f}), got {capacity[f]!r} vs the group's {group_value[f]!r}"
            )
    return out


def _check_nodes(sc: Scenario) -> list[str]:
    out: list[str] = []
    cities = [c.name for c in sc.geography.cities]
    seen: Counter[str] = Counter()
    for kind, group in sc.nodes.groups():
        key = f"nodes.{_GROUP_KEY[kind]}"
        for i, site in enumerate(group.sites):
            seen[site.id] += 1
            if seen[site.id] == 2:
                out.append(f"{key}.sites[{i}].id: duplicate node id {site.id!r}")
            if site.city not in cities:
                out.append(
                    f"{key}.sites[{i}].city: city {site.city!r} is not in geography.cities"
                    f"{suggest(site.city, cities)}"
                )
            out += _capacity_overrides(kind, group, key, "sites", i, site.capacity)
        for i, kd in enumerate(getattr(group, "kinds", ())):
            out += _capacity_overrides(kind, group, key, "kinds", i, kd.capacity)
        for city in group.count_per_city:
            if city not in cities:
                out.append(
                    f"{key}.count_per_city.{city}: city is not in geography.cities{suggest(city, cities)}"
                )
        for nid, _ in group.placed_ids(kind):
            seen[nid] += 1
            if seen[nid] == 2:
                out.append(f"{key}.count_per_city: generated id {nid!r} clashes with an explicit node id")
    if not any(True for _ in sc.nodes.ndcs.all_ids("ndc")):
        out.append("nodes.ndcs: needs at least one NDC (the far tier and all replenishment start there)")
    return out


def _check_references(sc: Scenario) -> list[str]:
    out: list[str] = []
    kinds = node_kinds(sc)
    cities = [c.name for c in sc.geography.cities]
    for i, lane in enumerate(sc.lanes.overrides):
        where = f"lanes.overrides[{i}]"
        for end, nid in (("from", lane.from_), ("to", lane.to)):
            if nid not in kinds:
                out.append(f"{where}.{end}: no node with id {nid!r}{suggest(nid, list(kinds))}")
        if (
            lane.from_ in kinds
            and lane.to in kinds
            and (kinds[lane.from_], kinds[lane.to]) not in _LANE_KINDS
        ):
            out.append(
                f"{where}: a lane must run ndc->fdc, fdc->store or ndc->store, "
                f"got {kinds[lane.from_]}->{kinds[lane.to]}"
            )
    refs = [(f"lanes.far.overrides[{i}]", o.ndc, o.city) for i, o in enumerate(sc.lanes.far.overrides)]
    refs += [(f"costs.parcel.by_lane[{i}]", o.ndc, o.city) for i, o in enumerate(sc.costs.parcel.by_lane)]
    for where, ndc, city in refs:
        if kinds.get(ndc) != "ndc":
            out.append(
                f"{where}.ndc: no NDC with id {ndc!r}{suggest(ndc, [k for k, v in kinds.items() if v == 'ndc'])}"
            )
        if city not in cities:
            out.append(f"{where}.city: city {city!r} is not in geography.cities{suggest(city, cities)}")
    categories = [c.name for c in sc.catalog.categories]
    for cat in sc.demand.tier_mix_by_category:
        if cat not in categories:
            out.append(
                f"demand.tier_mix_by_category.{cat}: no such catalog category{suggest(cat, categories)}"
            )
    for cat in sc.tiers.substitution.accept_by_category:
        if cat not in categories:
            out.append(
                f"tiers.substitution.accept_by_category.{cat}: no such catalog category{suggest(cat, categories)}"
            )
    if sc.demand.source == "file" and sc.demand.file is not None and not Path(sc.demand.file).exists():
        out.append(f"demand.file: file not found ({sc.demand.file})")
    return out


def _check_names(sc: Scenario) -> list[str]:
    out: list[str] = []
    try:
        spec = parse_spec(sc.policy)
        if spec.name not in POLICIES.names():
            out.append(
                f"policy: unknown policy {spec.name!r}{suggest(spec.name, POLICIES.names())}; "
                f"known: {', '.join(POLICIES.names())}"
            )
    except ValueError as exc:
        out.append(f"policy: {exc}")
    if sc.router.name not in ROUTERS.names():
        out.append(
            f"router.name: unknown router {sc.router.name!r}{suggest(sc.router.name, ROUTERS.names())}; "
            f"known: {', '.join(ROUTERS.names())}"
        )
    return out


# --------------------------------------------------------------------------- lead times
def _node_points(sc: Scenario, kind: str) -> list[tuple[str, float, float]]:
    """(city, lat, lon) of each node of `kind`: the site, or its city centre when placed by count."""
    centres = {c.name: (c.lat, c.lon) for c in sc.geography.cities}
    group = dict(sc.nodes.groups())[kind]
    pts = [(s.city, s.lat, s.lon) for s in group.sites]
    pts += [(city, *centres[city]) for city, n in group.count_per_city.items() if n > 0 and city in centres]
    return [(c, float(la or 0.0), float(lo or 0.0)) for c, la, lo in pts]


def _lead_h(lane: LaneClass, km: float, circuity: float) -> float:
    return lane.base_h + km * circuity / lane.truck_speed_kmh


def longest_lead_time_h(sc: Scenario) -> float:
    """Upper estimate of the longest replenishment lead time (h), from node or city-centre positions.

    Same supply rule as the network builder: an FDC from its nearest NDC; a store from an FDC in
    its city (at most a city diameter away) or else its nearest NDC; lane overrides win.
    """
    circ = sc.geography.circuity
    radius = {c.name: float(c.radius_km or 0.0) for c in sc.geography.cities}
    ndcs, fdcs, stores = (_node_points(sc, k) for k in ("ndc", "fdc", "store"))
    if not ndcs:
        return 0.0

    def nearest_ndc_km(lat: float, lon: float) -> float:
        return float(min(units.haversine_km(lat, lon, b[1], b[2]) for b in ndcs))

    leads = [_lead_h(sc.lanes.ndc_fdc, nearest_ndc_km(la, lo), circ) for _, la, lo in fdcs]
    fdc_cities = {c for c, _, _ in fdcs}
    for city, la, lo in stores:
        if city in fdc_cities:
            leads.append(_lead_h(sc.lanes.fdc_store, 2 * radius.get(city, 0.0), circ))
        else:
            leads.append(_lead_h(sc.lanes.ndc_store, nearest_ndc_km(la, lo) + radius.get(city, 0.0), circ))
    leads += [o.lead_time_h for o in sc.lanes.overrides if o.lead_time_h is not None]
    return max(leads, default=0.0)


def _check_warmup(sc: Scenario) -> list[str]:
    from sim.io.scenario.inputs import stock_covers_forward

    if stock_covers_forward(sc):  # the planner's stock is the start: no pipeline to fill from empty
        return []
    need_h = sc.inventory.review_period_days * 24 + longest_lead_time_h(sc)
    if sc.horizon.warmup_days * 24 < need_h - 1e-9:
        return [
            f"horizon.warmup_days: must cover the review period plus the longest lead time "
            f"({sc.inventory.review_period_days:g} d + {need_h - sc.inventory.review_period_days * 24:.1f} h "
            f"= {need_h / 24:.2f} d), got {sc.horizon.warmup_days}"
        ]
    return []


# --------------------------------------------------------------------------- memory
# in sim.io.scenario.memory (fitted to measured peaks); re-exported here for existing imports
estimate_memory_bytes = memory.estimate_memory_bytes
human_bytes = memory.human_bytes
memory_breakdown = memory.memory_breakdown


def check(sc: Scenario) -> list[str]:
    """All cross-section problems of a resolved scenario (empty when valid)."""
    out = _check_nodes(sc) + _check_references(sc) + _check_names(sc)
    out += sanity.check_geography(sc) + sanity.check_sizes(sc)
    if not out:
        out = sanity.check_specs(sc)
    return out or _check_warmup(sc)
