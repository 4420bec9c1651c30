"""Descriptions of the scenario fields that have none in their ``Field(...)`` (models/), by ``Model.field``.

``describe`` fills them in as each module of models/ is imported, so ``shangou schema`` (the JSON schema) describes
every field; an inline ``Field(description=...)`` always wins. A new field needs a description here or
inline: ``tests/unit/test_schema_descriptions.py`` walks the JSON schema and fails on any property
without one, and on any entry here that names no field. ``[params: ...]`` cites
shared/reference/parameters.md.
"""

from __future__ import annotations

from typing import Any

DESCRIPTIONS: dict[str, str] = {
    # scenario
    "Scenario.name": "scenario name (letters, digits, _ . -): names run directories and reports",
    "Scenario.description": "free text shown in reports",
    "Scenario.seed": "root of every random stream (sim/rng.py): same seed, same outputs",
    "Scenario.horizon": "how many days are simulated: warm-up, measured, start date",
    "Scenario.geography": "the cities, their demand zones and road circuity",
    "Scenario.nodes": "the fulfilment network: NDCs, FDCs and stores, by site or by count per city",
    "Scenario.lanes": "replenishment trucks between echelons and parcel transit days",
    "Scenario.catalog": "the SKUs: synthetic by category, or the planner's products table (file)",
    "Scenario.demand": "orders: synthetic (rate, profiles, promotions, tier mix, baskets) or a history file",
    "Scenario.tiers": "the near / mid / far promises, downgrade acceptance and lateness penalties",
    "Scenario.costs": "every cost the runs add up: fixed, labour, riders, vans, parcels, holding, lost sales",
    "Scenario.inventory": "review period, the NDC's external supply and the starting stock",
    "Scenario.router": "how each routing epoch assigns orders to nodes and tiers",
    "Scenario.forecast": "the demand forecast the policies (never the true demand) see",
    # geography
    "Geography.cities": "cities with demand and/or nodes; names from sim/data/cn_cities.csv, or give lat, lon, "
    "population",
    "Geography.zones_per_city": "demand zones per city unless a city sets zones",
    "City.name": "city name (English or Chinese as in cn_cities.csv, or any name with lat, lon and population)",
    "City.lon": "centre longitude; looked up in cn_cities.csv when omitted",
    "City.population": "inhabitants (people); looked up in cn_cities.csv when omitted; the default demand_weight",
    # nodes
    "Nodes.ndcs": "national / regional distribution centres (node kind ndc): serve the far tier by parcel, "
    "supply FDCs and stores",
    "Nodes.fdcs": "city forward warehouses (node kind fdc, 前置仓): serve the mid tier by van waves, supply stores",
    "Nodes.stores": "stores and dark stores (node kind store): serve the near tier by pickers and riders",
    "NdcGroup.sites": "NDCs at given places",
    "NdcGroup.capacity": "capacity of every NDC (a site's capacity: overrides per field)",
    "FdcGroup.sites": "FDCs at given places",
    "FdcGroup.capacity": "capacity of every FDC (a site's capacity: overrides per field)",
    "StoreGroup.sites": "stores at given places",
    "StoreGroup.capacity": "capacity of every store (a site's capacity: overrides per field)",
    "StoreGroup.staffing": "riders on shift by the hour and per day (surge staffing); by_hour null: a constant fleet",
    "StoreGroup.kinds": "kinds of the placed stores (e.g. 24 h flash warehouses beside brand stores), each a share "
    "with capacity overrides",
    "StoreKind.name": "the kind's name (e.g. flash, brand)",
    "StoreGroup.trip": "how riders ride: return to the store or a pool, riding-time noise, speed by hour "
    "(sim/engine/riders.py; the defaults are the engine before it)",
    "Site.id": "node id, unique; spelled the same in every output (orders, lines, inventory, nodes, stock files)",
    "Site.city": "the city the node belongs to (one of geography.cities)",
    "Site.lat": "latitude; the city centre when omitted",
    "Site.lon": "longitude; the city centre when omitted",
    "FdcCapacity.pickers": "pickers on shift (c-server picking queue)",
    "FdcCapacity.pick_base_s": "seconds per order [params: Stores and forward warehouses, picking assumption]",
    "FdcCapacity.pick_per_line_s": "seconds per line [params: Stores and forward warehouses, picking assumption]",
    "FdcCapacity.vans": "vans per wave",
    "FdcCapacity.van_speed_kmh": "van speed in the city (assumption)",
    "FdcCapacity.van_stop_s": "seconds per stop for the hand-over (assumption)",
    "FdcCapacity.volume_m3": "storage volume (m3) the FDC's stock may fill",
    "StoreCapacity.pickers": "pickers on shift during service hours (c-server picking queue)",
    "StoreCapacity.riders": "riders available to the store during service hours (a pool with batching)",
    "StoreCapacity.volume_m3": "storage volume (m3) the store's stock may fill",
    # lanes
    "Lanes.ndc_fdc": "trucks NDC -> FDC",
    "Lanes.fdc_store": "trucks FDC -> store (within a city)",
    "Lanes.ndc_store": "trucks NDC -> store, for stores without an FDC in their city",
    "Lanes.overrides": "per-lane supplier and figures (from, to node ids)",
    "Lanes.far": "parcel transit days from an NDC to a city",
    "LaneClass.base_h": "hours of loading, handling and waiting on the lane, before driving",
    "LaneClass.truck_speed_kmh": "average road speed of a truck",
    "LaneOverride.from_": "supplying node id",
    "LaneOverride.to": "supplied node id",
    "LaneOverride.lead_time_h": "lead time in hours, replacing base_h + km / speed",
    "LaneOverride.truck_capacity_m3": "truck capacity on this lane",
    "LaneOverride.fixed_cny": "fixed cost per truck on this lane",
    "LaneOverride.per_unit_cny": "handling cost per unit on this lane",
    "FarTransit.bands": "transit days by NDC-to-city distance, sorted by max_km, the last unbounded",
    "FarTransit.overrides": "transit days for given (NDC, city) pairs",
    "TransitBand.days": "parcel transit days within this band",
    "FarTransitOverride.ndc": "NDC id",
    "FarTransitOverride.city": "destination city",
    "FarTransitOverride.days": "parcel transit days",
    # catalog
    "Catalog.categories": "SKU categories of the synthetic catalog (shares sum to 1); with a products table "
    "they only lend default tiers to products of the same category name",
    "Category.name": "category name (demand.tier_mix_by_category keys use it)",
    "Category.value_cv": "coefficient of variation of unit values in the category",
    "Category.volume_cv": "coefficient of variation of unit volumes in the category",
    # demand
    "Demand.source": "synthetic (generated from the fields below) or file (replay demand.file)",
    "Demand.orders_per_day": "mean orders per day over all cities (synthetic); with a history file, the "
    "forecasts' prior before any day is observed",
    "Demand.promotions": "dated demand multipliers (Double 11) [params: Demand, peaks]",
    "Demand.tier_mix": "share of orders requesting each tier (among the tiers eligible for every line)",
    "Demand.tier_mix_by_category": "tier mix per catalog category name, replacing tier_mix for orders whose "
    "first line is in it",
    "Demand.basket": "lines per order and units per line",
    "Promotion.name": "label in reports",
    "Promotion.date": "the peak day",
    "Promotion.pre_days": "days before the peak with pre_multiplier",
    "Promotion.pre_multiplier": "demand multiplier on the days before the peak",
    "Promotion.post_days": "days after the peak with post_multiplier",
    "Promotion.post_multiplier": "demand multiplier on the days after the peak",
    "Promotion.known_to_forecast": "the forecast (promotion_aware) knows the event; otherwise it is a surprise",
    "TierMix.near": "share requesting near (30-minute) delivery",
    "TierMix.mid": "share requesting mid (same-day wave) delivery",
    "TierMix.far": "share requesting far (parcel) delivery",
    "Basket.max_lines": "most lines an order can have",
    "Basket.mean_qty": "mean units per line (geometric) [params: Demand, assumption]",
    # tiers
    "Tiers.near": "the 30-minute store tier",
    "Tiers.mid": "the same-day FDC van-wave tier",
    "Tiers.far": "the next-day parcel tier",
    "Tiers.downgrade_acceptance": "probability a customer accepts the one slower offer",
    "Tiers.lateness_penalty": "penalty per late minute or day by served tier",
    "NearTier.service_hours": "opening and closing time (HH:MM) of near delivery",
    "Wave.cutoff": "orders placed by this time (HH:MM) can make the wave",
    "Wave.window": "delivery window (HH:MM start, end) promised to the wave's orders",
    "Acceptance.near_mid": "near requested, mid offered",
    "Acceptance.mid_far": "mid requested, far offered",
    "Acceptance.near_far": "near requested, far offered",
    "Lateness.near_per_min_cny": "CNY per minute a near order is late",
    "Lateness.mid_per_min_cny": "CNY per minute a mid order is late",
    "Lateness.far_per_day_cny": "CNY per day a far order is late",
    # costs
    "Costs.fixed": "fixed cost per open node per day (rent, base staff); size it to your sites: validate warns "
    "when it is over half the estimated total",
    "Costs.riders": "rider pay: per trip (platform) or per rider-hour (fleet)",
    "Costs.van": "FDC van cost per stop and per km",
    "Costs.parcel": "parcel cost per far order, overall and per lane",
    "Costs.lost_sale": "cost of a lost order: margin on its value plus goodwill",
    "FixedCosts.ndc_per_day_cny": "fixed cost per NDC-day (0: the NDC is a sunk cost of every policy)",
    "RiderCosts.model": "platform: paid per trip (base + per km, shared by a batch), so headcount is free; fleet: "
    "paid per rider-hour of the store's riders [params: Fixed costs, labour, trucks]",
    "ParcelCosts.by_lane": "per-order parcel cost for given (NDC, city) lanes",
    "ParcelLane.ndc": "NDC id",
    "ParcelLane.city": "destination city",
    "ParcelLane.per_order_cny": "parcel cost per order on this lane",
    "LostSale.goodwill_cny": "goodwill penalty per lost order (assumption) [params: Inventory and money]",
    # inventory, router, forecast
    "Inventory.review_period_days": "days between policy reviews (replenishment decisions)",
    "Inventory.ndc_supply": "how NDCs are refilled from the (external) supplier",
    "NdcSupply.mode": "unlimited: refilled to target at each day start; lead_time: orders arrive lead_time_days later",
    "NdcSupply.lead_time_days": "supplier lead time in lead_time mode",
    "NdcSupply.initial_days_of_supply": "days of expected draw an NDC holds (start and refill target); perishables "
    "at most their shelf life minus one day (at least one), so the NDC never "
    "plants weeks of fresh goods; a stock file (inventory.initial) replaces "
    "the start for the NDCs it lists",
    "Router.lookahead": "price forward stock and capacity by their expected later use (reservation prices)",
    "Forecast.method": "oracle (true rate with error noise), moving_average, exp_smoothing, promotion_aware, "
    "hindsight (the realised demand, an upper bound)",
    "Forecast.window_days": "days averaged by moving_average",
    "Forecast.alpha": "smoothing weight of exp_smoothing and promotion_aware",
}


def describe(namespace: dict[str, Any]) -> None:
    """Give every pydantic model in `namespace` (in definition order) the descriptions above for fields
    without an inline one, and rebuild the models so their JSON schemas carry them."""
    from pydantic import BaseModel

    models = [
        v
        for v in namespace.values()
        if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == namespace.get("__name__")
    ]
    for model in models:  # leaves are defined before the models that use them
        changed = False
        for name, info in model.model_fields.items():
            text = DESCRIPTIONS.get(f"{model.__name__}.{name}")
            if text and not info.description:
                info.description = text
                changed = True
        if changed or any(issubclass(t, BaseModel) for t in _nested(model)):
            model.model_rebuild(force=True)


def _nested(model: Any) -> list[type]:
    import typing

    out: list[type] = []

    def walk(t: Any) -> None:
        for a in typing.get_args(t):
            walk(a)
        if isinstance(t, type):
            out.append(t)

    for info in model.model_fields.values():
        walk(info.annotation)
    return out
