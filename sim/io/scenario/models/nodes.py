"""Scenario section ``nodes``: NDCs, FDCs and stores, their capacities, riders and surges."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from sim import units
from sim.io.scenario.models.base import (
    ADDITIVE,
    MAX_PER_CITY,
    Clock,
    Count,
    Ident,
    Lat,
    Lon,
    Model,
    NonNegFloat,
    PosFloat,
    PosInt,
    Prob,
    _lat_lon_pair,
)


# --------------------------------------------------------------------------- nodes
class StoreCapacity(Model):
    pickers: Count = 4
    pick_base_s: PosFloat = Field(75.0, description="per order [params: Stores, 60-90 s, assumption]")
    pick_per_line_s: NonNegFloat = Field(12.0, description="per line [params: Stores, 10-15 s, assumption]")
    pick_cv: NonNegFloat = Field(
        0.5, description="coefficient of variation of pick times (gamma; 1 = exponential)"
    )
    riders: Count = 12
    rider_speed_kmh: PosFloat = Field(18.0, description="[params: Riders, 18 km/h typical]")
    rider_peak_speed_kmh: PosFloat = Field(15.0, description="[params: Riders, 15 km/h at peaks]")
    rider_radius_km: PosFloat = Field(
        3.0, description="straight-line delivery radius [params: Riders, ~3 km]"
    )
    rider_max_batch: Annotated[int, Strict(), Field(gt=0, le=100)] = Field(
        3, description="orders per trip [params: Riders, ~2.75 at peaks]"
    )
    rider_max_hold_s: NonNegFloat = Field(300.0, description="longest an order waits for a batch to form")
    # the rider's whole trip (issue #13; sim/engine/riders.py): 0 = off, the engine before it
    rider_reach_s: NonNegFloat = Field(
        0.0,
        description="mean time a called rider needs to reach the store from the idle pool around it, used when "
        "trip.return_to is pool; ~300-480 s (5-8 min) in the bundled city scenarios [params: Riders, assumption]",
    )
    rider_pickup_trip_s: NonNegFloat = Field(
        0.0,
        description="rider's time in the store per trip (walk in, find the shelf, leave); flash warehouses keep "
        "the rider pickup path under 90 s [params: Stores and forward warehouses]",
    )
    rider_pickup_order_s: NonNegFloat = Field(
        0.0, description="rider's extra time in the store per order of the trip (check and bag) [assumption]"
    )
    rider_handover_s: NonNegFloat = Field(
        0.0,
        description="time at each door (lift, gate, hand-over): ~120-180 s in Chinese high-rises [params: "
        "Riders, assumption]; the order is delivered when it ends",
    )
    slots: PosInt = Field(2500, description="distinct SKUs the store can hold [params: 1,500-5,000]")
    volume_m3: PosFloat = 120.0
    service_hours: tuple[Clock, Clock] | None = Field(
        None,
        description="this store's near service hours (a brand store e.g. 10:00-22:00, a flash warehouse "
        "00:00-24:00 [params: Stores, flash warehouses open around the clock]); None: tiers.near.service_hours",
    )
    offline_share: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.4,
        description="share of a shop's units sold over the counter from the same stock (issue #14, "
        "nodes.stores.offline): 0.4 for a brand store [params: Stores, Hema's first store ~60% of orders online]; "
        "0 for a store with no counter (a flash warehouse / dark store)",
    )

    @model_validator(mode="after")
    def _check_hours(self) -> StoreCapacity:
        if self.service_hours is not None:
            a, b = (units.parse_clock(t) for t in self.service_hours)
            if b <= a:
                raise ValueError(f"service_hours: end must be after start, got {list(self.service_hours)}")
        return self


class FdcCapacity(Model):
    pickers: Count = 20
    pick_base_s: PosFloat = 60.0
    pick_per_line_s: NonNegFloat = 10.0
    vans: Count = 12
    van_capacity_m3: PosFloat = Field(5.3, description="[params: FDC vans, ~5.3 m3 light van]")
    van_speed_kmh: PosFloat = 30.0
    van_stop_s: NonNegFloat = 180.0
    van_radius_km: PosFloat | None = Field(
        None, description="straight-line van reach; default the city radius"
    )
    slots: PosInt = Field(8000, description="distinct SKUs")
    volume_m3: PosFloat = 4000.0


class NdcCapacity(Model):
    outbound_per_day: PosInt = Field(2_000_000, description="orders shipped per day before the cut-off")
    scope: Literal["national", "regional"] = Field(
        "national",
        description="national: every NDC serves every city (transit days by lanes.far) and an FDC is "
        "replenished from its nearest NDC; regional: each city belongs to the NDC nearest its centre (ties: the first "
        "listed), and an NDC serves the far tier and replenishes FDCs (and stores of cities without an FDC) only in its "
        "region; the regions must not interact (no node covering another region's zones, no lane across regions) and "
        "are simulated region by region (sim/shard.py; `run --executor` spreads them over workers) [params: "
        "Sizes for the bundled scenarios, national: 7 regional DCs]",
    )


class Site(Model):
    """One node at an explicit place (or the city centre when lat/lon are omitted)."""

    id: Ident
    city: Ident
    lat: Lat | None = None
    lon: Lon | None = None
    capacity: dict[str, int | float | str | tuple[str, ...]] = Field(
        default_factory=dict, description="overrides of the group's capacity fields"
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> Site:
        return _lat_lon_pair(self, "the city centre")


class _Group(Model):
    sites: tuple[Site, ...] = ()
    count_per_city: dict[str, Annotated[int, Strict(), Field(ge=0, le=MAX_PER_CITY)]] = Field(
        default_factory=dict, description="nodes placed by weighted k-means over each city's demand"
    )

    def placed_ids(self, kind: str) -> list[tuple[str, str]]:
        """(id, city) of the nodes placed by count: ``store-Hangzhou-007``."""
        return [
            (f"{kind}-{city}-{i + 1:03d}", city) for city, n in self.count_per_city.items() for i in range(n)
        ]

    def all_ids(self, kind: str) -> list[tuple[str, str]]:
        return [(s.id, s.city) for s in self.sites] + self.placed_ids(kind)


class NdcGroup(_Group):
    capacity: NdcCapacity = NdcCapacity()


class FdcGroup(_Group):
    capacity: FdcCapacity = FdcCapacity()


SpeedProfile = Literal["legacy", "intraday"] | tuple[PosFloat, ...]


class RiderTrip(Model):
    """How riders ride (issue #13, ``sim/engine/riders.py``); every default is the engine before it."""

    return_to: Literal["store", "pool"] = Field(
        "store",
        description="store: a rider rides back and waits at the store; pool: a rider is free at its last "
        "door and a called rider reaches the store in capacity.rider_reach_s (crowd-sourced riders wait around it)",
    )
    reach_cv: NonNegFloat = Field(0.5, description="CV of the reach time (gamma) [assumption]")
    travel_cv: NonNegFloat = Field(
        0.0,
        description="per-leg riding-time noise, lognormal with mean 1 and this CV; 0.25 in the bundled city "
        "scenarios [assumption]; the dispatcher plans with the mean, so ETAs can be missed",
    )
    day_cv: NonNegFloat = Field(
        0.0,
        description="day x city riding-time multiplier (rain, a promotion day's traffic), lognormal mean 1 with "
        "this CV [assumption, like demand.day_cv]",
    )
    speed_profile: SpeedProfile = Field(
        "legacy",
        description="rider speed by hour: legacy = capacity.rider_peak_speed_kmh in the fixed hours "
        "11-12 and 17-20, else rider_speed_kmh; intraday = linear in demand.intraday (typical speed at the quietest "
        "hour, peak speed at the busiest) [params: Riders, 18 / 15 km/h]; or 24 km/h values",
    )

    @model_validator(mode="after")
    def _check(self) -> RiderTrip:
        if not isinstance(self.speed_profile, str) and len(self.speed_profile) != 24:
            raise ValueError(f"speed_profile: needs 24 hourly km/h values, got {len(self.speed_profile)}")
        return self


class RiderStaffing(Model):
    """Riders on shift by the hour (issue #13, ``sim/engine/staffing.py``); by_hour None = a constant fleet
    of capacity.riders around the clock (the engine before it). ``pool`` says whose riders they are."""

    by_hour: tuple[NonNegFloat, ...] | None = Field(
        None,
        description="24 shares of capacity.riders on shift in each hour (riders on shift = round(riders x "
        "share x day multiplier)); a rider takes no new trip in an hour it is off shift [params: Riders, 4-5 orders "
        "per rider-hour; 6.9 h/day delivering at peak season, 5.1 h off-season]",
    )
    promotion_multiplier: PosFloat = Field(
        1.0,
        description="surge staffing: riders x this on every demand.promotions date [params: Demand, instant-"
        "retail surges 1.3-2x]",
    )
    day_multiplier: dict[dt.date, PosFloat] = Field(
        default_factory=dict, description="riders x this on a given date (overrides promotion_multiplier)"
    )
    profile: Path | None = Field(
        None,
        json_schema_extra=ADDITIVE,
        description="a table (CSV or Parquet: store, hour, riders) of riders on shift per store and hour of day, "
        "e.g. `shangou staff`'s staffing_profile.csv (issue #18); a listed store's riders in hour h of day "
        "d are round(riders x day multiplier); stores it leaves out keep capacity.riders x by_hour",
    )
    pool: Literal["store", "city"] = Field(
        "store",
        description="whose riders: store = each store's own capacity.riders (the engine before); city = "
        "one pool per city holding the sum of its stores' riders, on shift while any of its stores is open, any "
        "store calling the pool's earliest available rider (sim/engine/rider_pool.py) - the platforms' riders are "
        "crowd-sourced, not owned by a store [params: Riders; Calibration targets, rider productivity]",
    )

    @model_validator(mode="after")
    def _check(self) -> RiderStaffing:
        if self.by_hour is not None and len(self.by_hour) != 24:
            raise ValueError(f"by_hour: needs 24 hourly shares, got {len(self.by_hour)}")
        if self.profile is not None and self.pool == "city":
            raise ValueError(
                "profile: riders per store cannot be used with pool: city (a city pool is staffed by by_hour)"
            )
        return self


class StoreKind(Model):
    """A kind of store among the ones placed by count (issue #13): e.g. flash warehouses (闪电仓) open 24 h
    with a smaller assortment beside brand stores with opening hours [params: Stores and forward warehouses]."""

    name: Ident
    share: Prob = Field(
        description="share of each city's placed stores of this kind, spread evenly over them"
    )
    capacity: dict[str, int | float | str | tuple[str, ...]] = Field(
        default_factory=dict, description="overrides of the group's capacity fields for stores of this kind"
    )
    placement: Literal["even", "cover"] = Field(
        "even",
        description="which placed stores get this kind: even = spread evenly over the placement order (the "
        "engine before); cover = chosen greedily to cover the most demand within their rider_radius_km, as a 24 h "
        "flash-warehouse network is laid out to reach every customer at night [params: Stores and forward "
        "warehouses, flash warehouses open around the clock with over 35% of orders at night]; cover kinds choose "
        "first, in order, then the even kinds share the rest",
    )


class OfflineSales(Model):
    """Over-the-counter sales at stores that are shops (issue #14, sim/engine/offline.py): each store with
    ``capacity.offline_share`` s > 0 sells s / (1 - s) units offline per unit of its online catchment's demand,
    within its service hours, from the shelf the online orders also draw on; the online view of the shelf learns
    of them every ``sync_s`` seconds, so an online order can be routed to units just sold (an oversell)."""

    enabled: bool = Field(True, description="offline sales and sync lag; false = the engine before")
    sync_s: NonNegFloat = Field(
        300.0,
        description="seconds between the store's till and its online stock view (0 = at once, never an "
        "oversell); assumption: stores sync their POS stock to the platform every few minutes [params: the seed's "
        "线下门店 ... 将库存商品同步至线上]",
    )
    by_hour: tuple[NonNegFloat, ...] | None = Field(
        None,
        description="24 hourly shares of the counter's sales (own intraday profile); None: the online "
        "intraday profile (demand.intraday) [assumption: no public split of counter sales by hour]",
    )

    @model_validator(mode="after")
    def _check(self) -> OfflineSales:
        if self.by_hour is not None and (len(self.by_hour) != 24 or sum(self.by_hour) <= 0):
            raise ValueError(f"by_hour: needs 24 hourly shares with a positive sum, got {len(self.by_hour)}")
        return self


class StoreGroup(_Group):
    capacity: StoreCapacity = StoreCapacity()
    offline: OfflineSales = Field(
        OfflineSales(),
        description="counter sales at shops from the online stock, seen online after a sync lag "
        "(issue #14; enabled: false = the engine before)",
    )
    kinds: tuple[StoreKind, ...] = Field(
        (),
        description="kinds of the stores placed by count_per_city; the "
        "stores no kind takes keep the group's capacity",
    )
    trip: RiderTrip = RiderTrip()
    staffing: RiderStaffing = RiderStaffing()

    @model_validator(mode="after")
    def _check_kinds(self) -> StoreGroup:
        if sum(k.share for k in self.kinds) > 1 + 1e-9:
            raise ValueError(f"kinds: shares add up to more than 1, got {sum(k.share for k in self.kinds):g}")
        return self

    def kind_of(self, n: int) -> list[int]:
        """Kind index (-1: none) of each of a city's n placed stores: kind k takes the stores where the running
        count ``floor((i + 1) x share)`` steps up, so each kind is spread evenly; earlier kinds first."""
        out = [-1] * n
        free = list(range(n))
        for k, kind in enumerate(self.kinds):
            share = kind.share * n / max(len(free), 1) if free else 0.0
            take = [
                free[i]
                for i in range(len(free))
                if math.floor((i + 1) * share + 1e-9) > math.floor(i * share + 1e-9)
            ]
            for i in take:
                out[i] = k
            free = [i for i in free if out[i] < 0]
        return out


SurgeResource = Literal["store_pickers", "fdc_pickers", "vans", "outbound"]


class CapacitySurge(Model):
    """Per-day surge of the capacities a planner books for a promotion day (issue #14, sim/engine/surge.py):
    on a surge day every listed resource is round(base x multiplier) from 00:00 to 24:00 (store and FDC pickers,
    FDC vans, NDC outbound per day), like the riders' per-day multiplier (nodes.stores.staffing). Multiplier 1
    everywhere (the default) = the engine before."""

    promotion_multiplier: PosFloat = Field(
        1.0,
        description="the resources below x this on every demand.promotions date, a surge crew booked for the day "
        "[params: Demand, peak day ~3x an average day; 1 = no surge]",
    )
    day_multiplier: dict[dt.date, PosFloat] = Field(
        default_factory=dict, description="x this on a given date (overrides promotion_multiplier)"
    )
    resources: tuple[SurgeResource, ...] = Field(
        ("store_pickers", "fdc_pickers", "vans", "outbound"),
        description="which capacities surge: store_pickers, fdc_pickers, vans (FDC), outbound (NDC orders per day)",
    )


class Nodes(Model):
    file: Path | None = Field(
        None, description="CSV of nodes: id,kind,city,lat,lon[,capacity fields]; merged into sites"
    )
    ndcs: NdcGroup = NdcGroup()
    fdcs: FdcGroup = FdcGroup()
    stores: StoreGroup = StoreGroup()
    surge: CapacitySurge = Field(
        CapacitySurge(),
        description="per-day surge of pickers, vans and NDC outbound on promotion days (issue #14; multiplier 1 = "
        "off)",
    )

    def groups(self) -> tuple[tuple[str, NdcGroup | FdcGroup | StoreGroup], ...]:
        """(kind, group) for ndc, fdc, store."""
        return (("ndc", self.ndcs), ("fdc", self.fdcs), ("store", self.stores))

    def count(self) -> int:
        return sum(len(g.sites) + sum(g.count_per_city.values()) for _, g in self.groups())


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
