"""Unused-field detector: every scenario field is honoured (changing it changes the run) or refused.

Walks the resolved toy scenario (every field of the schema, defaults filled in; the first element of
each list), moves each leaf to a valid neighbouring value (a number x 1.5 or + 1, a flag flipped, the
next choice of a ``Literal``, a clock an hour later) and runs the engine on a tiny horizon. A field
passes when validation refuses the new value or the run's records (orders, lines, inventory, daily
costs, utilisation) change. ``EXCEPTIONS`` lists the fields that cannot show on this run, each with
the reason; a new field that changes nothing fails here until it is honoured, refused or listed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.io.scenario import load_scenario, to_dict
from sim.io.scenario.models import Scenario

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "scenarios" / "toy.yaml"
#: a tiny, fast base run: the toy network, fewer orders, long epochs, one measured day, the default router
BASE = [
    "horizon.days=1",
    "horizon.warmup_days=2",
    "demand.orders_per_day=150",
    "catalog.n_skus=60",
    "geography.zones_per_city=10",
    "router.epoch_s=600",
    "router.name=flow",
    "policy=base_stock(service=0.9)",
]

#: fields that act only under a condition: the overrides that switch it on for that field's check
CONDITIONS: dict[str, list[str]] = {
    "tiers.near.quote_buffer_min": ["tiers.near.quote=eta"],
    "tiers.near.max_quote_min": ["tiers.near.quote=eta", "tiers.near.max_quote_min=25"],
    "tiers.near.quote_from": ["tiers.near.quote=eta", "tiers.near.max_quote_min=25"],
    "nodes.stores.staffing.pool": ["nodes.stores.capacity.riders=1"],
    "costs.riders.per_hour_cny": ["costs.riders.model=fleet"],
    "costs.split_per_extra_shipment_cny": ["router.name=mip"],
    # a price on reservations: a 150-order day's few contested units decide alike at 100 and 150 CNY
    "router.imperfect_order_cny": ["router.epoch_s=60"],
    # after branch calib's stock changes (FDCs hold their stores' next-review levels) the tiny 600-s base run
    # gives the same decisions with either look-ahead demand (cause not isolated); at 60-s epochs they differ
    # with inventory.pre_build (stores hold the next review's level too) the tiny run's stores are flush and both
    # look-ahead demands decide alike at 150-1,000 orders/day; where stores hold one review's stock they differ
    "router.lookahead_demand": [
        "router.epoch_s=60",
        "demand.orders_per_day=300",
        "inventory.pre_build=false",
    ],
    # null = derived from forecast.error and demand.day_cv (tests/unit/test_mid_marginal.py); a set CV moves
    "router.lookahead_rate_cv": ["router.epoch_s=60", "router.lookahead_rate_cv=0.4"],
    # the quote's places act with the near queue quote, on charged store options, where store riders are short
    "router.capacity_places": [
        "router.epoch_s=60",
        "tiers.near.quote=eta",
        "tiers.near.quote_from=queue",
        "nodes.stores.capacity.riders=2",
        "demand.orders_per_day=1500",
        "tiers.near.max_quote_min=40",
        "geography.zones_per_city=40",
    ],
    "inventory.ndc_supply.lead_time_days": ["inventory.ndc_supply.mode=lead_time"],
    "forecast.window_days": ["forecast.method=moving_average", "forecast.window_days=2"],
    "forecast.alpha": ["forecast.method=exp_smoothing"],
    "nodes.ndcs.capacity.outbound_per_day": ["nodes.ndcs.capacity.outbound_per_day=20"],
    "nodes.fdcs.capacity.pickers": ["nodes.fdcs.capacity.pickers=1", "nodes.fdcs.capacity.pick_base_s=3000"],
    "nodes.fdcs.capacity.van_capacity_m3": [
        "nodes.fdcs.capacity.vans=1",
        "nodes.fdcs.capacity.van_capacity_m3=0.01",
    ],
    "nodes.fdcs.capacity.slots": ["nodes.fdcs.capacity.slots=5"],
    "nodes.fdcs.capacity.volume_m3": ["nodes.fdcs.capacity.volume_m3=0.05"],
    "nodes.stores.capacity.slots": ["nodes.stores.capacity.slots=5"],
    "nodes.stores.capacity.volume_m3": ["nodes.stores.capacity.volume_m3=0.01"],
    "tiers.lateness_penalty.near_per_min_cny": ["nodes.stores.capacity.riders=1"],
    "demand.basket.max_lines": ["demand.basket.mean_lines=2.5", "demand.basket.max_lines=3"],
    "lanes.ndc_store": ["nodes.fdcs.count_per_city.Hangzhou=0"],
    "nodes.stores.capacity.rider_reach_s": [
        "nodes.stores.trip.return_to=pool",
        "nodes.stores.capacity.rider_reach_s=300",
    ],
    "nodes.stores.trip.reach_cv": [
        "nodes.stores.trip.return_to=pool",
        "nodes.stores.capacity.rider_reach_s=300",
    ],
    # a sync lag of minutes oversells nothing on the tiny base run; hours do (tests/sim/engine/test_offline.py)
    "nodes.stores.offline.sync_s": ["nodes.stores.offline.sync_s=7200"],
    # the tiny catalogue has under 20 in-band SKUs per category: from 1 candidate, a second one acts
    "tiers.substitution.candidates": ["tiers.substitution.candidates=1", "tiers.substitution.accept=1"],
    # with fresh cross-docked (the default) a unit reaches its node the day it leaves the NDC, which received it
    # new that morning: no age to carry on this short run; fresh waiting a review at each node ages
    "inventory.fresh.carry_age": ["inventory.fresh.cross_dock=false"],
}

#: fields whose change cannot show on a toy run, and why (path prefix -> reason)
EXCEPTIONS: dict[str, str] = {
    "nodes.ndcs.capacity.scope": "one NDC on the toy, whose region is every city: regional = national here; "
    "regions in tests/unit/test_shard.py (toy_regions)",
    "nodes.stores.capacity.service_hours": "null = the tier's hours; per-store hours in tests/unit/test_store_kinds.py",
    "nodes.stores.kinds": "empty here; store kinds in tests/unit/test_store_kinds.py",
    "nodes.stores.staffing.by_hour": "null = a constant fleet; shifts in tests/unit/test_rider_shifts.py",
    "nodes.stores.offline.by_hour": "null = the online intraday profile; an own profile in "
    "tests/sim/engine/test_offline.py (counter draw)",
    "nodes.stores.staffing.promotion_multiplier": "acts on demand.promotions dates only (none on the toy); "
    "tests/unit/test_rider_shifts.py",
    "nodes.surge.promotion_multiplier": "acts on demand.promotions dates only (none on the toy); "
    "tests/sim/engine/test_surge.py",
    "nodes.surge.resources": "act only on a surge day (multiplier other than 1); tests/sim/engine/test_surge.py",
    "inventory.fresh.ndc_lead_time_h": "the daily fresh delivery lands before the NDC ships either way on this "
    "horizon; tests/unit/test_perishables.py",
    "name": "a label (run directory name, reports)",
    "description": "a label",
    "extends": "resolved at load time (the file this one overrides); null once resolved",
    "seed": "--seed overrides it; the run is given its seed explicitly",
    "geography.preset": "null here; a preset fills geography.cities at load time (tests/unit/test_network.py)",
    "geography.cities[0].name": "a reference: renaming breaks the node sites' cities (refused)",
    "geography.cities[0].population": "sets the city's default demand weight; the toy has one demand city, "
    "whose share is 1 whatever its weight",
    "geography.cities[0].demand_weight": "as population: one demand city",
    "nodes.file": "null here; a CSV of nodes merges into sites at load time (tests/unit/test_scenario_errors.py)",
    "nodes.ndcs.sites[0].id": "a reference (lanes, parcel lanes name it)",
    "nodes.ndcs.sites[0].city": "a reference",
    "nodes.fdcs.sites": "empty here (count_per_city places the FDC)",
    "nodes.stores.sites": "empty here (count_per_city places the stores)",
    "nodes.fdcs.capacity.van_radius_km": "null = the city radius, which already covers every toy zone",
    "lanes.overrides": "empty here",
    "lanes.far.overrides": "empty here",
    "costs.parcel.by_lane": "empty here",
    "catalog.categories[0].name": "a reference (demand.tier_mix_by_category)",
    "catalog.categories[0].shelf_life_days": "null (not perishable) for the first category",
    "demand.file": "null here (demand.source: generate); tests/unit/test_history.py replays files",
    "demand.promotions": "empty here",
    "inventory.initial_forward": "a one-choice Literal ('none'): documents the rule",
    "policy": "a spec string: every policy is run by the golden matrix (tools/golden.py)",
    "router.name": "every router is run by the golden matrix (tools/golden.py)",
    "router.max_shipments": "splits over 3+ nodes do not occur on the toy (one FDC, five stores); "
    "tests/validation/test_mip_split.py holds the cap",
    "router.max_deterministic_time": "a solver limit: it changes a run only when CP-SAT stops at it without a "
    "proven optimum (then flow answers; tests/validation/test_mip_router.py)",
    "tiers.lateness_penalty.mid_per_min_cny": "a mid order is late only on a `router.vans: solver` route that overruns "
    "its window (approx spreads stops within it); not on a toy run",
    "tiers.lateness_penalty.far_per_day_cny": "never charged in this model: parcels ship at the cut-off within the "
    "outbound capacity the router respects and arrive by 21:00 of the "
    "promised day (sim.engine.parcel); kept for a late-parcel mechanism",
}


def _annotation(path: list[str | int]) -> Any:
    """The pydantic annotation of the field at `path` (None when it cannot be followed)."""
    model: Any = Scenario
    ann: Any = None
    for part in path:
        if isinstance(part, int):
            args = [a for a in typing.get_args(ann) if a is not Ellipsis]
            model = args[0] if args else None
            ann = model
            continue
        fields = getattr(model, "model_fields", None)
        if not fields:
            return None
        f = next((v for k, v in fields.items() if k == part or v.alias == part), None)
        if f is None:
            return None
        ann = f.annotation
        inner = [a for a in typing.get_args(ann) if a is not type(None)]
        model = inner[0] if len(inner) == 1 and hasattr(inner[0], "model_fields") else ann
    return ann


def _literals(ann: Any) -> list[Any]:
    if typing.get_origin(ann) is typing.Literal:
        return list(typing.get_args(ann))
    return [x for a in typing.get_args(ann) for x in _literals(a)]


def neighbour(path: list[str | int], value: Any) -> Any:
    """A valid-looking value next to `value` (None: nothing sensible to try)."""
    choices = _literals(_annotation(path))
    if choices and value in choices:
        return choices[(choices.index(value) + 1) % len(choices)] if len(choices) > 1 else None
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 if value else 0.1
    if isinstance(value, str) and len(value) == 5 and value[2] == ":":
        h = (int(value[:2]) + 1) % 24
        return f"{h:02d}{value[2:]}"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":  # a date: the next day
        return (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat()
    if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
        top = max(value)  # the first weight raised to the largest: a shift a tiny run can see
        return [top if top != value[0] else value[0] * 1.5 or 0.1, *value[1:]]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        first = neighbour(path, value[0])
        return [first, *value[1:]] if first is not None else value[:-1] if len(value) > 1 else None
    return None


def leaves(node: Any, path: list[str | int]) -> list[tuple[list[str | int], Any]]:
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in leaves(v, [*path, k])]
    if isinstance(node, list) and node and isinstance(node[0], dict | list):
        return leaves(node[0], [*path, 0])
    return [(path, node)]


def dotted(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))


def digest(overrides: list[str]) -> str | None:
    """Hash of the run's records, or None when validation refuses the scenario."""
    from sim.engine.simulation import Simulation

    try:
        sc = load_scenario(TOY, [*BASE, *overrides])
        sim = Simulation(
            sc, seed=sc.seed, replication=0, days=sc.horizon.days, policy=sc.policy, router=sc.router.name
        )
        rec = sim.run()
    except ScenarioError:
        return None
    h = hashlib.sha256()
    for part in (rec.orders, rec.lines, rec.inventory):
        for v in vars(part).values():
            h.update(np.ascontiguousarray(v).tobytes())
    for d in (rec.days.costs, rec.nodes.busy_s, rec.nodes.available_s):
        for k in sorted(d):
            h.update(k.encode() + np.ascontiguousarray(d[k]).tobytes())
    return h.hexdigest()


def _value_text(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value_text(x) for x in v) + "]"
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _under(key: str, prefixes: dict[str, Any]) -> str | None:
    return next((p for p in prefixes if key == p or key.startswith(p + ".") or key.startswith(p + "[")), None)


def unused_fields() -> list[str]:
    base = {(): digest([])}
    resolved = {(): to_dict(load_scenario(TOY, BASE))}
    out = []
    for path, _ in leaves(resolved[()], []):
        key = dotted(path)
        if _under(key, EXCEPTIONS):
            continue
        cond = tuple(CONDITIONS.get(_under(key, CONDITIONS) or "", []))
        if cond not in base:
            base[cond], resolved[cond] = digest(list(cond)), to_dict(load_scenario(TOY, [*BASE, *cond]))
            assert base[cond] is not None, f"condition {cond} is refused"
        node: Any = resolved[cond]
        for part in path:
            node = node[part]
        new = neighbour(path, node)
        if new is None:
            out.append(f"{key}: no neighbouring value to try (value {node!r})")
            continue
        got = digest([*cond, f"{key}={_value_text(new)}"])
        if got is not None and got == base[cond]:
            out.append(
                f"{key}: {node!r} -> {new!r} changes nothing" + (f" (with {', '.join(cond)})" if cond else "")
            )
    return out


@pytest.mark.slow
def test_every_field_is_honoured_or_refused() -> None:
    unused = unused_fields()
    assert not unused, (
        "scenario fields that change nothing (honour, refuse or list them in EXCEPTIONS):\n"
        + "\n".join(unused)
    )


if __name__ == "__main__":  # python tests/sim/test_fields_used.py: list them
    print("\n".join(unused_fields()) or "every field is honoured or refused")
