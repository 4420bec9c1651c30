"""The scenario schema: pydantic v2 models, frozen, ``extra="forbid"``, no NaN/inf.

Defaults come from ``shared/reference/parameters.md`` (cited as ``[params: section]``); figures
marked *assumption* there stay parameters here and are never constants in code. Checks that need
only one section live on that section's model; checks across sections live in ``checks.py``.
Times of day are ``"HH:MM"`` strings in the file (00:00–24:00) and seconds in code.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    ValidationError,
    model_validator,
)

from sim import units
from sim.vocab import TIER_NAMES

T = TypeVar("T")
TIERS = TIER_NAMES
Tier = Literal["near", "mid", "far"]
MAX_MID_WINDOW_H = 4.0  # the mid tier's promise: delivered within 4 h of the wave cut-off [params: Tiers]


def _clock(v: str) -> str:
    units.parse_clock(v)  # raises ValueError with a clear message
    return v


def _ident(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be empty")
    return v


PosInt = Annotated[int, Strict(), Field(gt=0)]  # strict: a boolean (YAML yes/true) is not a count
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Prob = Annotated[float, Field(ge=0, le=1)]
Clock = Annotated[str, AfterValidator(_clock)]
Ident = Annotated[str, AfterValidator(_ident)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
# Upper bounds where an extreme cannot work (memory, time or meaning), refused rather than capped silently
# (issue #17); each is far above any real network: national has 2,537 nodes, 80 zones per city.
MAX_PER_NODE = 10_000  # pickers, riders or vans at one node
MAX_PER_CITY = 10_000  # nodes placed by count, or demand zones, in one city
Count = Annotated[int, Strict(), Field(gt=0, le=MAX_PER_NODE)]


def _lat_lon_pair(obj: T, default: str) -> T:
    """Both coordinates or neither (then `default` applies)."""
    lat, lon = getattr(obj, "lat"), getattr(obj, "lon")  # noqa: B009
    if (lat is None) != (lon is None):
        raise ValueError(f"give both lat and lon, or neither ({default}), got lat {lat}, lon {lon}")
    return obj


#: Marks a field added after the golden outputs were recorded: the resolved scenario.yaml omits it while it
#: is at its default (``load.to_dict``), so existing scenarios keep byte-identical run directories.
ADDITIVE: dict[str, JsonValue] = {"additive": True}


class Model(BaseModel):
    """Base of every scenario section: immutable, unknown keys and NaN/inf rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)


# --------------------------------------------------------------------------- horizon, geography
class Horizon(Model):
    days: Annotated[int, Strict(), Field(gt=0, le=3660)] = Field(
        1, description="measured days (reported); --days overrides; at most 10 years"
    )
    warmup_days: Annotated[int, Strict(), Field(ge=0, le=366)] = Field(
        3, description="days simulated first to fill the pipeline, excluded from KPIs"
    )
    start_date: dt.date = Field(dt.date(2026, 11, 1), description="calendar date of the first warm-up day")


class City(Model):
    name: Ident
    lat: Lat | None = Field(None, description="centre latitude; looked up in cn_cities.csv when omitted")
    lon: Lon | None = None
    population: PosInt | None = None
    demand_weight: NonNegFloat | None = Field(
        None,
        description="weight of the city's demand in the unit of population (people; default: its "
        "population): its share of orders is demand_weight / the sum over all cities, so 1 next to "
        "cities of millions is ~0 (validate warns); 0 = a city that hosts nodes only",
    )
    zones: Annotated[int, Strict(), Field(gt=0, le=MAX_PER_CITY)] | None = Field(
        None, description="demand zones in this city (default geography.zones_per_city)"
    )
    radius_km: Annotated[float, Field(gt=0, le=500)] | None = Field(
        None, description="city radius (default geography.city_radius_km)"
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> City:
        return _lat_lon_pair(self, "looked up")


class Geography(Model):
    preset: str | None = Field(
        None, description="named city set: shanghai_hangzhou, yangtze_delta, china_top10, china_top30"
    )
    cities: tuple[City, ...] = ()
    zones_per_city: Annotated[int, Strict(), Field(gt=0, le=MAX_PER_CITY)] = 60
    city_radius_km: Annotated[float, Field(gt=0, le=500)] | None = Field(
        None, description="null = auto: 6 km x sqrt(population in millions), clamped to 8-30 km"
    )
    circuity: Annotated[float, Field(ge=1, le=5)] = Field(
        1.32, description="road / straight-line distance [params: Riders, 25 Chinese cities]"
    )
    zone_spread: PosFloat = Field(0.25, description="zones' density falls off as exp(-r / (spread x radius))")
    region: Literal["china", "world"] = Field(
        "china",
        json_schema_extra=ADDITIVE,
        description="china: every city and site must lie in China's bounding box (a swapped or mistyped "
        "coordinate is refused); world: anywhere",
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


# --------------------------------------------------------------------------- lanes
class LaneClass(Model):
    """Replenishment trucks on one kind of lane; lead time = base_h + road km / truck speed."""

    base_h: NonNegFloat
    truck_speed_kmh: PosFloat = 60.0
    truck_capacity_m3: PosFloat = Field(30.0, description="[params: Trucks, ~30 m3]")
    fixed_cny: NonNegFloat = Field(600.0, description="per shipment [params: Trucks, ~600 CNY within a city]")
    per_km_cny: NonNegFloat = Field(
        9.0, description="per road km: (2,500 - 600) CNY / ~210 road km Shanghai->Hangzhou [params: Trucks]"
    )
    per_unit_cny: NonNegFloat = Field(0.05, description="[params: Trucks, ~0.05 CNY per unit]")


class LaneOverride(Model):
    """Sets `to`'s supplier to `from` and/or overrides that lane's figures."""

    from_: Ident = Field(alias="from")
    to: Ident
    lead_time_h: PosFloat | None = None
    truck_capacity_m3: PosFloat | None = None
    fixed_cny: NonNegFloat | None = None
    per_unit_cny: NonNegFloat | None = None


class TransitBand(Model):
    max_km: PosFloat | None = Field(None, description="upper bound of NDC-to-city distance; null = no bound")
    days: PosInt


class FarTransitOverride(Model):
    ndc: Ident
    city: Ident
    days: PosInt


class FarTransit(Model):
    bands: tuple[TransitBand, ...] = (
        TransitBand(max_km=300, days=1),
        TransitBand(max_km=1200, days=2),
        TransitBand(max_km=None, days=3),
    )
    overrides: tuple[FarTransitOverride, ...] = ()

    @model_validator(mode="after")
    def _bands_cover(self) -> FarTransit:
        if not self.bands or self.bands[-1].max_km is not None:
            raise ValueError("the last band must have max_km: null so every distance is covered")
        kms = [b.max_km for b in self.bands[:-1]]
        if any(k is None for k in kms) or kms != sorted(kms):  # type: ignore[type-var]
            raise ValueError(f"bands must be sorted by max_km with only the last one null, got {kms}")
        return self


class Lanes(Model):
    ndc_fdc: LaneClass = LaneClass(base_h=10.0)
    fdc_store: LaneClass = LaneClass(base_h=4.0)
    ndc_store: LaneClass = LaneClass(base_h=10.0)
    overrides: tuple[LaneOverride, ...] = ()
    far: FarTransit = FarTransit()


# --------------------------------------------------------------------------- catalog
class Category(Model):
    name: Ident
    share: Prob = Field(description="share of SKUs in this category")
    value_cny: PosFloat = Field(description="mean unit value (lognormal)")
    value_cv: NonNegFloat = 0.8
    volume_l: PosFloat = Field(description="mean unit volume in litres (lognormal)")
    volume_cv: NonNegFloat = 0.5
    shelf_life_days: PosFloat | None = Field(
        None, description="perishables expire after this [params: 2-5 days fresh]"
    )
    tiers: tuple[Tier, ...] = Field(
        ("near", "mid", "far"), min_length=1, description="tiers that may carry this category"
    )


class Catalog(Model):
    file: Path | None = Field(
        None,
        json_schema_extra=ADDITIVE,
        description="the planner's products table (CSV or Parquet: sku, name, category, value_cny, volume_l, "
        "shelf_life_days, tiers, popularity; columns in sim/io/products.py and the README); its ids and "
        "names are kept through the run (lines.parquet, skus.parquet, explain). With a file, n_skus is "
        "its row count and categories only lend default tiers to products of the same category name",
    )
    n_skus: Annotated[int, Strict(), Field(gt=0, le=100_000_000)] = Field(
        5000,
        description="SKUs in the synthetic catalog; with catalog.file, set to the "
        "products table's row count [params: Sizes]",
    )
    zipf_s: PosFloat = Field(1.0, description="popularity exponent [params: Demand, s ~ 1]")
    categories: tuple[Category, ...] = (
        Category(name="grocery", share=0.5, value_cny=25.0, volume_l=1.5),
        Category(
            name="fresh", share=0.2, value_cny=30.0, volume_l=1.2, shelf_life_days=4, tiers=("near", "mid")
        ),
        Category(name="personal_care", share=0.2, value_cny=45.0, volume_l=0.6),
        Category(name="bulky", share=0.1, value_cny=120.0, volume_l=25.0, tiers=("mid", "far")),
    )

    @model_validator(mode="after")
    def _check(self) -> Catalog:
        total = sum(c.share for c in self.categories)
        if not self.categories or not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"categories: shares must sum to 1, got {round(total, 6)}")
        names = [c.name for c in self.categories]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"categories: duplicate name {dup[0]!r}")
        return self


# --------------------------------------------------------------------------- demand
class TierMix(Model):
    near: Prob = 0.55
    mid: Prob = 0.15
    far: Prob = 0.30

    @model_validator(mode="after")
    def _sums_to_one(self) -> TierMix:
        total = self.near + self.mid + self.far
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"shares must sum to 1, got {round(total, 6)}")
        return self


class Promotion(Model):
    name: str = "promotion"
    date: dt.date
    multiplier: Annotated[float, Field(gt=0, le=1000)] = Field(
        10.0, description="[params: Demand, Double 11 ~10x]"
    )
    pre_days: NonNegInt = 0
    pre_multiplier: PosFloat = 1.0
    post_days: NonNegInt = 0
    post_multiplier: PosFloat = 1.0
    known_to_forecast: bool = True


class Basket(Model):
    mean_lines: Annotated[float, Field(ge=1)] = Field(
        1.6, description="geometric [params: Demand, assumption]; at most max_lines"
    )
    max_lines: Annotated[int, Strict(), Field(gt=0, le=1000)] = Field(
        12, description="longest basket; the geometric tail is lumped here (at catalog.n_skus if fewer)"
    )
    mean_qty: Annotated[float, Field(ge=1, le=1000)] = Field(
        1.3, description="units per line (at most 1,000)"
    )

    @model_validator(mode="after")
    def _mean_within_cap(self) -> Basket:
        if self.mean_lines > self.max_lines:
            raise ValueError(f"mean_lines: must be <= max_lines ({self.max_lines}), got {self.mean_lines:g}")
        return self


#: Hourly arrival weights relative to the daily mean (1 = average hour): peaks 11-13 and 17-21,
#: night trough ~5 % of the mean rate [params: Demand].
DEFAULT_INTRADAY = (
    0.05,
    0.05,
    0.05,
    0.05,
    0.05,
    0.10,
    0.30,
    0.60,
    0.90,
    1.00,
    1.20,
    1.80,
    1.80,
    1.30,
    1.00,
    0.90,
    1.10,
    1.70,
    2.00,
    2.00,
    1.80,
    1.30,
    0.80,
    0.30,
)


class ConversionCurve(Model):
    """Share of a tier's shoppers who order when promised ``minutes`` (linear between points, flat beyond)."""

    minutes: tuple[PosFloat, ...] = Field(description="promised minutes, increasing")
    share: tuple[Annotated[float, Field(gt=0, le=1)], ...] = Field(
        description="share of shoppers who order at each promise, non-increasing"
    )

    @model_validator(mode="after")
    def _check(self) -> ConversionCurve:
        if not self.minutes or len(self.minutes) != len(self.share):
            raise ValueError(
                f"minutes and share: need the same number of points (at least one), got "
                f"{len(self.minutes)} and {len(self.share)}"
            )
        if any(b <= a for a, b in zip(self.minutes, self.minutes[1:], strict=False)):
            raise ValueError(f"minutes: must increase, got {list(self.minutes)}")
        if any(b > a for a, b in zip(self.share, self.share[1:], strict=False)):
            raise ValueError(f"share: must not rise with a longer promise, got {list(self.share)}")
        return self


#: Willingness to wait, near tier: patience runs out near 30 min for a delivery (Talker Research 2024 survey,
#: ~29 min) and a day faster lifts sales by only ~1.5-2 % at parcel speeds (Fisher, Gallino & Xu 2019, JMR;
#: Oblander & Jerath 2024): the shape between those anchors is an ASSUMPTION (issue #18), not a measured curve.
NEAR_CONVERSION = ConversionCurve(
    minutes=(15.0, 30.0, 45.0, 60.0, 90.0, 120.0), share=(1.0, 0.95, 0.82, 0.70, 0.55, 0.45)
)
#: Mid tier (a planned shop): flatter, hours not minutes; ASSUMPTION anchored only by the same evidence.
MID_CONVERSION = ConversionCurve(
    minutes=(60.0, 120.0, 240.0, 360.0, 720.0), share=(1.0, 0.97, 0.90, 0.82, 0.70)
)


class Conversion(Model):
    """Demand that answers to the promise (issue #18): a shopper of tier t orders with probability
    share_t(promise_t), decided by a uniform drawn per shopper from ``demand.convert/<date>/<city>`` (common
    random numbers: the same shopper orders or not identically across policies, and one who orders at a longer
    promise also orders at a shorter one). ``orders_per_day`` stays the volume at the ``reference_*`` promises:
    shoppers arrive at orders_per_day / c_ref, c_ref = sum_t tier_mix_t x share_t(reference_t) (the flat
    ``tier_mix``, an approximation under ``tier_mix_by_category``). Far orders always convert. A shopper who
    does not order is not a lost sale: the run simply has fewer orders (``orders won``)."""

    enabled: bool = Field(
        False,
        description="thin the shoppers by the promise (false = every shopper orders, "
        "the engine before issue #18)",
    )
    near: ConversionCurve = Field(
        NEAR_CONVERSION,
        description="near tier, over tiers.near.promise_min [assumption "
        "anchored at ~30 min patience; see models.NEAR_CONVERSION]",
    )
    mid: ConversionCurve = Field(
        MID_CONVERSION,
        description="mid tier, over the mid promise in minutes (rolling: "
        "every_min + window_end_min) [assumption]",
    )
    reference_near_min: PosFloat = Field(
        30.0, description="near promise at which orders_per_day was observed"
    )
    reference_mid_min: PosFloat = Field(
        240.0,
        description="mid promise (minutes) at which orders_per_day was observed [params: Tiers, mid 4 hours]",
    )


class Demand(Model):
    source: Literal["synthetic", "file"] = "synthetic"
    file: Path | None = Field(None, description="planner's order history (CSV or Parquet) when source: file")
    orders_per_day: Annotated[float, Field(gt=0, le=1e9)] = 2000.0
    intraday: tuple[NonNegFloat, ...] = Field(DEFAULT_INTRADAY, description="24 hourly weights")
    weekly: tuple[NonNegFloat, ...] = Field(
        (1.0, 0.97, 0.97, 1.0, 1.05, 1.03, 0.98), description="Mon..Sun weights"
    )
    day_cv: NonNegFloat = Field(
        0.1, description="gamma day x city multiplier CV [params: Demand, assumption]"
    )
    promotions: tuple[Promotion, ...] = ()
    tier_mix: TierMix = TierMix()
    tier_mix_by_category: dict[str, TierMix] = Field(default_factory=dict)
    basket: Basket = Basket()
    conversion: Conversion = Field(
        Conversion(),
        json_schema_extra=ADDITIVE,
        description="shoppers who order depending on the promise (issue #18; off by default)",
    )

    @model_validator(mode="after")
    def _check(self) -> Demand:
        if len(self.intraday) != 24 or sum(self.intraday) <= 0:
            raise ValueError(
                f"intraday: needs 24 hourly weights with a positive sum, got {len(self.intraday)}"
            )
        if len(self.weekly) != 7 or sum(self.weekly) <= 0:
            raise ValueError(
                f"weekly: needs 7 weights (Mon..Sun) with a positive sum, got {len(self.weekly)}"
            )
        if self.source == "file" and self.file is None:
            raise ValueError("file: required when source is 'file'")
        if self.source == "file" and self.conversion.enabled:
            raise ValueError(
                "conversion.enabled: acts on synthetic shoppers only; a history already holds the orders "
                "won at its own promise"
            )
        return self


# --------------------------------------------------------------------------- tiers
class NearTier(Model):
    promise_min: PosFloat = Field(30.0, description="[params: Tiers, 30 minutes]")
    service_hours: tuple[Clock, Clock] = ("08:00", "23:00")
    quote: Literal["promise", "eta"] = Field(
        "promise",
        description="the deadline a near order is judged by (promised_s, on time, perfect order, the "
        "batching check): promise = creation + promise_min (the engine before issue #13); eta = the ETA quoted to "
        "the customer, the routing estimate + quote_buffer_min rounded up to the minute and at most max_quote_min, "
        "as platforms do [params: Riders, on time against the quoted ETA 95-99%]",
    )
    quote_buffer_min: NonNegFloat = Field(
        3.0, description="margin added to the estimate when quoting [assumption]"
    )
    max_quote_min: PosFloat = Field(
        50.0,
        description="longest ETA quoted: a store whose estimate is later offers no near option [assumption; "
        "Meituan's 34-min average, parameters.md Calibration targets]",
    )
    quote_from: Literal["earliest", "queue"] = Field(
        "earliest",
        description="the dispatch state a quote is computed from (quote: eta): earliest = the store's "
        "first free picker and first free rider (the engine before); queue = the place the order would take in the "
        "picker and rider queues: the open batches already waiting for a rider of its pool and the expected share of "
        "this epoch's earlier orders that will go to the same store (each order split evenly over its candidate "
        "stores), as platforms quote from their dispatch state [params: Riders, on time against the quoted ETA "
        "95-99%]; with queue, an option whose quote (estimate + buffer) is over max_quote_min is not offered",
    )

    @model_validator(mode="after")
    def _check(self) -> NearTier:
        a, b = (units.parse_clock(t) for t in self.service_hours)
        if b <= a:
            raise ValueError(f"service_hours: end must be after start, got {list(self.service_hours)}")
        return self


class Wave(Model):
    cutoff: Clock
    window: tuple[Clock, Clock]

    @model_validator(mode="after")
    def _check(self) -> Wave:
        c = units.parse_clock(self.cutoff)
        a, b = (units.parse_clock(t) for t in self.window)
        if not c <= a < b:
            raise ValueError(
                f"window must start at or after the cut-off and end after it starts, got "
                f"cutoff {self.cutoff}, window {list(self.window)}"
            )
        return self


class RollingWaves(Model):
    """A rolling cut-off (issue #14): a wave every ``every_min`` from ``first_cutoff`` to ``last_cutoff``, each
    delivering in [cut-off + ``window_start_min``, cut-off + ``window_end_min``], so an order placed between the
    first and last cut-off is delivered within ``every_min + window_end_min`` (<= 4 h) of ordering. Enabled, it
    generates ``waves``; a scenario that lists its own ``waves`` turns it off (listing both is refused)."""

    enabled: bool = Field(True, description="generate the waves below; false = the listed `waves`")
    first_cutoff: Clock = Field(
        "08:00", description="first wave's cut-off (assumption: store hours 08:00-23:00)"
    )
    last_cutoff: Clock = Field(
        "20:00", description="last wave's cut-off; later orders ride the next day's first"
    )
    every_min: PosFloat = Field(
        60.0,
        description="minutes between cut-offs (assumption; parameters.md FDC vans: "
        "4-6 waves for a 4-hour promise count from the cut-off, hourly "
        "cut-offs make it 4 h from ordering)",
    )
    window_start_min: NonNegFloat = Field(
        60.0, description="pick and load: the window opens this long after the cut-off (assumption)"
    )
    window_end_min: PosFloat = Field(
        180.0,
        description="the window closes this long after the cut-off; with "
        "every_min at most 240 [params: Tiers, mid 4 hours]",
    )

    @model_validator(mode="after")
    def _check(self) -> RollingWaves:
        a, b = units.parse_clock(self.first_cutoff), units.parse_clock(self.last_cutoff)
        if b < a:
            raise ValueError(
                f"last_cutoff: must not be before first_cutoff, got {self.first_cutoff}-{self.last_cutoff}"
            )
        if self.window_end_min <= self.window_start_min:
            raise ValueError(f"window_end_min: must be after window_start_min, got {self.window_end_min:g}")
        if b + self.window_end_min * 60 >= units.DAY:
            raise ValueError(f"last_cutoff: its window must close before midnight, got {self.last_cutoff}")
        return self

    def waves(self) -> tuple[Wave, ...]:
        """The generated schedule (clock strings, whole minutes)."""
        a, b = units.parse_clock(self.first_cutoff), units.parse_clock(self.last_cutoff)
        step = self.every_min * 60
        n = int(math.floor((b - a) / step + 1e-9)) + 1

        def hm(sec: float) -> str:
            m = int(round(sec / 60))
            return f"{m // 60:02d}:{m % 60:02d}"

        return tuple(
            Wave(cutoff=hm(c), window=(hm(c + self.window_start_min * 60), hm(c + self.window_end_min * 60)))
            for c in (a + i * step for i in range(n))
        )


class MidTier(Model):
    max_promise_h: Annotated[float, Field(gt=0, le=12)] = Field(
        MAX_MID_WINDOW_H,
        json_schema_extra=ADDITIVE,
        description="the mid promise: an order is delivered within this many hours (the longest wait for a cut-off "
        "plus a window's end after it must fit) [params: Tiers, mid 4 hours]; a promise what-if "
        "(issue #18) raises it, e.g. to 6",
    )
    rolling: RollingWaves = Field(
        RollingWaves(),
        description="a rolling cut-off: hourly waves so an order placed in service hours is delivered "
        "within the 4-hour promise (issue #14; enabled: false keeps the listed waves)",
    )
    van_dispatch: Literal["all", "needed"] = Field(
        "needed",
        description="vans: approx waves send `all` the FDC's vans, or the fewest `needed` to carry the "
        "wave by volume and by stops in the window (issue #14: hourly waves hold few orders)",
    )
    waves: tuple[Wave, ...] = Field(
        (
            Wave(cutoff="09:00", window=("10:00", "13:00")),
            Wave(cutoff="12:00", window=("13:00", "16:00")),
            Wave(cutoff="15:00", window=("16:00", "19:00")),
            Wave(cutoff="18:00", window=("19:00", "22:00")),
        ),
        description="[params: FDC vans, 4-6 waves for a 4-hour promise]",
    )

    @model_validator(mode="before")
    @classmethod
    def _rolling(cls, data: object) -> object:
        """Listed waves turn the rolling cut-off off; otherwise it generates the waves (resolved: both agree)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        roll = data.get("rolling", {})
        roll = dict(roll) if isinstance(roll, dict) else roll
        if not isinstance(roll, dict):
            return data
        if "waves" in data and "enabled" not in roll:
            roll["enabled"] = False
        data["rolling"] = roll
        if roll.get("enabled", True) is True:
            try:
                gen = RollingWaves(**roll).waves()
            except ValidationError:
                return data  # the `rolling` field's own validation reports it, at its path
            except (TypeError, ValueError):
                return data
            if "waves" in data:
                listed = tuple(Wave(**w) if isinstance(w, dict) else w for w in data["waves"])
                if listed != gen:
                    raise ValueError(
                        "rolling: lists its own waves and rolling.enabled: true; set rolling.enabled: "
                        "false to use the listed waves"
                    )
            data["waves"] = gen
        return data

    @model_validator(mode="after")
    def _sorted(self) -> MidTier:
        if not self.waves:
            raise ValueError("waves: needs at least one wave")
        cuts = [units.parse_clock(w.cutoff) for w in self.waves]
        if cuts != sorted(set(cuts)):
            raise ValueError(
                f"waves: cut-offs must be distinct and increasing, got {[w.cutoff for w in self.waves]}"
            )
        if (
            self.rolling.enabled
            and self.rolling.every_min + self.rolling.window_end_min > self.max_promise_h * 60 + 1e-9
        ):
            r = self.rolling
            raise ValueError(
                f"rolling: every_min + window_end_min: an order may wait a full interval, so the two must "
                f"add to at most max_promise_h ({self.max_promise_h * 60:g} min), got "
                f"{r.every_min + r.window_end_min:g}"
            )
        for i, w in enumerate(self.waves):
            c, b = units.parse_clock(w.cutoff), units.parse_clock(w.window[1])
            if b - c > self.max_promise_h * units.HOUR + 1e-9:
                raise ValueError(
                    f"waves: [{i}] window ends {(b - c) / units.HOUR:g} h after the cut-off {w.cutoff}; "
                    f"the mid promise (max_promise_h) allows at most {self.max_promise_h:g} h"
                )
        return self

    def promise_min(self) -> float:
        """The mid promise quoted to a shopper, in minutes from ordering: the longest wait for the next cut-off
        plus the longest window end after a cut-off (rolling: every_min + window_end_min)."""
        if self.rolling.enabled:
            return float(self.rolling.every_min + self.rolling.window_end_min)
        cuts = [units.parse_clock(w.cutoff) for w in self.waves]
        ends = [units.parse_clock(w.window[1]) - c for w, c in zip(self.waves, cuts, strict=True)]
        gaps = [b - a for a, b in zip(cuts, cuts[1:], strict=False)]
        return float((max(gaps, default=0.0) + max(ends)) / 60.0)


class FarTier(Model):
    cutoff: Clock = Field("23:00", description="[params: Far tier, 23:00 next-day cut-off]")


class Acceptance(Model):
    """Probability a customer accepts the one slower offer [params: Inventory and money, assumption]."""

    near_mid: Prob = 0.5
    mid_far: Prob = 0.7
    near_far: Prob = 0.3


class Lateness(Model):
    """[params: Inventory and money, assumption]"""

    near_per_min_cny: NonNegFloat = 0.2
    mid_per_min_cny: NonNegFloat = 0.05
    far_per_day_cny: NonNegFloat = 5.0


class Substitution(Model):
    """A customer whose line is short at a node may take a substitute SKU there (issue #14, sim/engine/substitution.py):
    the most popular SKU of the same category within ``value_band`` of the line's unit value that the node holds
    in stock, eligible at the node's tier and not already in the order. Tried before a slower-tier offer; a
    substituted order is never perfect. ``enabled: false`` = the engine before (stock-out: offer or lost)."""

    enabled: bool = Field(True, description="offer substitutes for short lines; false = the engine before")
    accept: Prob = Field(
        0.45,
        description="probability a customer takes a substitute for a short line [params: Calibration targets, "
        "response to a stock-out: ~45% substitute (26% other brand + 19% other size/variety), "
        "GMA/FMI/CIES; the shopper sees the shortage when ordering, as in a store]",
    )
    accept_by_category: dict[Ident, Prob] = Field(
        default_factory=dict,
        description="per catalog category, overrides accept (e.g. fresh produce is "
        "substituted less; assumption, no public split by category)",
    )
    value_band: NonNegFloat = Field(
        0.3,
        description="a substitute's unit value lies within this share of the line's (|v'/v - 1| <= band; "
        "assumption: a like-for-like item in the same price range, parameters.md has no figure)",
    )
    candidates: PosInt = Field(
        20,
        description="the customer considers the most popular this many SKUs of the category within the band "
        "(the app's list of similar items; assumption) and takes the first the node holds",
    )


class Tiers(Model):
    near: NearTier = NearTier()
    mid: MidTier = MidTier()
    far: FarTier = FarTier()
    downgrade_acceptance: Acceptance = Acceptance()
    substitution: Substitution = Field(
        Substitution(),
        description="substitutes for short lines before a slower-tier offer [params: Calibration "
        "targets, response to a stock-out] (issue #14; enabled: false = the engine before)",
    )
    lateness_penalty: Lateness = Lateness()


# --------------------------------------------------------------------------- costs
class FixedCosts(Model):
    store_per_day_cny: NonNegFloat = Field(
        3000.0, description="[params: Fixed costs, ~3,000 CNY per store-day]"
    )
    fdc_per_day_cny: NonNegFloat = Field(20000.0, description="[params: Fixed costs, ~20,000 CNY per day]")
    ndc_per_day_cny: NonNegFloat = 0.0


class RiderCosts(Model):
    model: Literal["platform", "fleet"] = "platform"
    base_per_trip_cny: NonNegFloat = Field(3.0, description="[params: Rider pay, platform]")
    per_km_cny: NonNegFloat = Field(0.6, description="[params: Rider pay, platform]")
    per_hour_cny: NonNegFloat = Field(30.0, description="[params: Rider pay, fleet]")


class VanCosts(Model):
    per_stop_cny: NonNegFloat = Field(4.0, description="[params: FDC vans, assumption]")
    per_km_cny: NonNegFloat = Field(2.5, description="[params: FDC vans, assumption]")


class ParcelLane(Model):
    ndc: Ident
    city: Ident
    per_order_cny: NonNegFloat


class ParcelCosts(Model):
    per_order_cny: NonNegFloat = Field(8.0, description="[params: Far tier, ~8 CNY average]")
    by_lane: tuple[ParcelLane, ...] = ()


class LostSale(Model):
    margin_rate: Prob = Field(
        0.25, description="share of unit value [params: Inventory and money, assumption]"
    )
    goodwill_cny: NonNegFloat = 5.0


class Costs(Model):
    fixed: FixedCosts = FixedCosts()
    picker_per_hour_cny: NonNegFloat = Field(35.0, description="[params: Picker labour]")
    ndc_handling_per_order_cny: NonNegFloat = Field(1.5, description="[params: Fixed costs, NDC handling]")
    riders: RiderCosts = RiderCosts()
    van: VanCosts = VanCosts()
    parcel: ParcelCosts = ParcelCosts()
    split_per_extra_shipment_cny: NonNegFloat = Field(
        2.0,
        description="mip router's split orders: packaging and hand-over of each shipment beyond the first "
        "(a second bag, label and customer hand-over; assumption, parameters.md has no figure)",
    )
    holding_rate_per_year: Prob = Field(0.25, description="[params: Holding cost 20-40 %/year]")
    lost_sale: LostSale = LostSale()


# --------------------------------------------------------------------------- inventory, policy, router, forecast
class NdcSupply(Model):
    """The NDC's external supplier. Non-fresh SKUs follow an order-up-to policy reviewed daily: the NDC's
    position is topped up to ``initial_days_of_supply`` x its expected daily draw (every tier it feeds)."""

    mode: Literal["unlimited", "lead_time"] = "unlimited"
    lead_time_days: PosFloat = 3.0
    initial_days_of_supply: PosFloat = Field(
        30.0,
        description="non-fresh order-up-to cover at the NDC, days of its expected daily draw, reviewed daily "
        "(assumption: a brand's national warehouse holding about a month of slow and fast movers)",
    )


class FreshStock(Model):
    """Perishables where they belong (issue #14): fresh SKUs (finite shelf life) are delivered to the NDC daily
    for what the forward nodes that stock them will draw, and no node orders more than it sells in its shelf life.
    ``enabled: false`` restores the earlier rule (NDC fresh cover min(initial_days_of_supply, life - 1) of the
    whole network's demand, delivered like non-fresh stock, forward targets uncapped)."""

    enabled: bool = Field(True, description="fresh supply and caps below; false = the earlier behaviour")
    ndc_days_of_supply: PosFloat = Field(
        1.0,
        description="NDC fresh order, days of the forward draw on top of what its customers' requests still "
        "lack (daily delivery: one review cycle; assumption, parameters.md Calibration targets: "
        "fresh stock turns in ~2.2 days at forward sites)",
    )
    ndc_lead_time_h: NonNegFloat = Field(
        8.0,
        description="supplier to NDC lead time of the daily fresh delivery, hours (ordered at the day's review; "
        "assumption: overnight harvest/processing to a morning delivery)",
    )
    forward_cap: bool = Field(
        True,
        description="cap each forward node's fresh target at what it sells in its shelf life less a day: "
        "ceil(echelon forecast x max(life - 1, 1)) [params: shelf life of fresh 2-5 days]",
    )

    newsvendor: bool = Field(
        False,
        description="cap a forward node's fresh target at the perishable newsvendor's quantile instead of the "
        "window's mean: the critical-ratio quantile of Poisson demand over the days the unit can still sell, "
        "q = costs.lost_sale.margin_rate (a unit short loses its margin, a unit spoiled its cost), so a slow fresh "
        "SKU selling under a unit in its window is not stocked, and an FDC's cap counts only the stores that stock it "
        "[params: Inventory and money, margin 25% of value; fresh-goods loss 1-3% of units]; off by default: with "
        "carry_age on Shanghai-Hangzhou it leaves most fresh SKUs unstocked at stores (a 1-day window after two "
        "daily hops); false = ceil(window mean) (the engine before)",
    )
    carry_age: bool = Field(
        False,
        description="a fresh unit keeps its age through transfers (NDC -> FDC -> store, the road counted): "
        "it spoils a shelf life after it entered the network, not after it reached the last node, and a forward "
        "node's cap keeps max(life - 1 - 2 x depth, 1) days (depth: lanes from the NDC) [params: fresh-goods loss "
        "1-3% of units]; off by default until the forward caps are calibrated for it (the toy over 4 days: 7.0% "
        "of fresh units spoil with it, 1.3% without); false = each node receives a unit new (the engine before)",
    )

    @model_validator(mode="after")
    def _check(self) -> FreshStock:
        if self.ndc_lead_time_h >= 24.0:
            raise ValueError(
                f"ndc_lead_time_h: a daily delivery must arrive within the day, got {self.ndc_lead_time_h:g}"
            )
        return self


class InitialStock(Model):
    """The observed state at the start of the horizon (sim/io/stock.py)."""

    file: Path = Field(
        description="CSV or Parquet of node, sku, units (optional arrive: in transit, arriving "
        "then; age_days: perishables' age); a node in the file is fully specified, "
        "its unlisted SKUs start at zero; nodes not in it start as without a file"
    )


class Inventory(Model):
    review_period_days: PosFloat = Field(
        1.0, description="whole days, 1-365: the engine reviews stock at day boundaries"
    )
    initial_forward: Literal["none"] = Field(
        "none",
        description="forward nodes start empty and warm-up fills them (paid for), the same for every policy",
    )
    cover_window: bool = Field(
        True,
        description="top_n and base_stock size a target on the forecast of the days it must last (daily "
        "forecasts summed over review period + lead time), so a promotion known to the forecast is stocked before "
        "it (issue #14: double11's peak day); false = today's rate held over the window (the engine before)",
    )
    ndc_supply: NdcSupply = NdcSupply()
    fresh: FreshStock = Field(
        FreshStock(),
        description="fresh goods where they belong: daily supplier deliveries to the NDC for what the "
        "forward nodes draw, forward stock capped by shelf life (issue #14; enabled: false = the engine before)",
    )
    initial: InitialStock | None = Field(
        None,
        json_schema_extra=ADDITIVE,
        description="starting stock per node x SKU (and in-transit shipments) observed by the planner: day 0's "
        "start in inventory.parquet; on day 0 only the nodes it leaves out are filled (NDC rule, review)",
    )

    @model_validator(mode="after")
    def _whole_days(self) -> Inventory:
        r = self.review_period_days
        if r != round(r) or not 1 <= r <= 365:
            raise ValueError(f"review_period_days: must be a whole number of days from 1 to 365, got {r:g}")
        return self


class Router(Model):
    name: str = Field(
        "flow",
        description="flow (OR-Tools min-cost flow with look-ahead, the default), mip, nearest, cheapest, tier_first",
    )
    epoch_s: Annotated[float, Field(ge=1, le=3600)] = Field(
        60.0, description="routing batch length, 1 s to 1 h [params: dispatch every 30-60 s]"
    )
    max_deterministic_time: PosFloat = Field(
        2.0,
        description="mip router: CP-SAT deterministic seconds per component model; without a proven "
        "optimum the epoch falls back to flow (router.fallbacks)",
    )
    max_shipments: int = Field(
        2, ge=1, le=8, description="mip router: nodes a multi-line order may be split across (1: never split)"
    )
    lookahead: bool = True
    imperfect_order_cny: NonNegFloat = Field(
        100.0,
        description="service-level price the router's objective and look-ahead put on every imperfect order "
        "(downgraded, lost, split, or a later own-tier customer left without a unit or a place), "
        "on top of its money cost; a planner's lever: `sweep --grid router.imperfect_order_cny=...` "
        "traces the cost-vs-perfect frontier [issue #15, README 'The router's service price': the smallest "
        "measured price at which flow keeps nearest's perfect orders on the toy, at lower cost; 0 = the "
        "router before]",
    )
    lookahead_demand: Literal["own", "served"] = Field(
        "served",
        description="demand a node's look-ahead protects: own (its catchment's own-tier forecast) or served "
        "(also the near and mid orders of other catchments and tiers it serves, counted as served: "
        "overflow, mid orders at stores; see sim.routing.lookahead) [issue #15; own = the router before]",
    )
    lookahead_rate_cv: NonNegFloat | None = Field(
        None,
        description="the look-ahead's uncertainty of the demand rate around its forecast (a gamma rate: "
        "N is negative binomial, not Poisson); unset: derived from forecast.error (30% WAPE: lognormal CV "
        "0.39) and demand.day_cv (0.1) [params: Demand], ~0.40; 0 = Poisson on the forecast (before; issue #15)",
    )
    mid_estimate: Literal["marginal", "stem"] = Field(
        "marginal",
        description="a mid option's van cost at routing: marginal (what the approx wave cost model adds for one "
        "more order, the wave's expected orders to its cut-off included: a drop's per-stop cost, its share of "
        "the BHH tour and of a new van's stems; issue #15) or stem (a dedicated van trip: per stop + 2 x km, "
        "the engine before; scaled by realised / estimated cost)",
    )
    vans: Literal["approx", "solver"] = Field(
        "approx",
        description="FDC van waves: approx (sweep + BHH estimate) or solver (PyVRP routes, sim.routing.vans)",
    )


class Forecast(Model):
    method: Literal["moving_average", "exp_smoothing", "promotion_aware", "oracle", "hindsight"] = "oracle"
    error: NonNegFloat | None = Field(
        0.3, description="target WAPE of lognormal noise on the rate [params: Demand, 30 % assumption]"
    )
    window_days: Annotated[int, Strict(), Field(gt=0, le=366)] = 7
    alpha: Annotated[float, Field(gt=0, le=1)] = 0.3


class ReportTargets(Model):
    """What the planner is judged against: the run report's headline says met or missed for each one set
    (none set: no verdict against targets). Rates are fractions of orders created unless said."""

    perfect_order_rate: Prob | None = Field(
        None,
        description="at least this perfect-order rate (delivered on time, complete, unsplit, at the requested "
        "tier or faster / orders created), e.g. 0.95",
    )
    cost_per_order_cny: NonNegFloat | None = Field(
        None,
        description="at most this cost per order in CNY (all costs of the measured days / orders created)",
    )
    near_share: Prob | None = Field(
        None, description="at least this share of delivered orders served by the near tier (stores)"
    )
    on_time_requested_rate: Prob | None = Field(
        None,
        description="at least this share of created orders delivered on time at the requested tier or faster "
        "(lost and downgraded orders count as not on time)",
    )
    lost_sales_rate: Prob | None = Field(None, description="at most this share of created orders lost")


class Report(Model):
    """How reports judge a run; omitted entirely from the resolved scenario when not given."""

    targets: ReportTargets = Field(
        ReportTargets(), description="targets the report's headline is judged against"
    )


class Scenario(Model):
    """A fully described fulfilment network, its demand and how it is run."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    extends: str | None = Field(
        None, description="another scenario file (relative) this one overrides key by key"
    )
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0, lt=2**63)] = Field(0, description="0 <= seed < 2^63")
    horizon: Horizon = Horizon()
    geography: Geography
    nodes: Nodes
    lanes: Lanes = Lanes()
    catalog: Catalog = Catalog()
    demand: Demand = Demand()
    tiers: Tiers = Tiers()
    costs: Costs = Costs()
    inventory: Inventory = Inventory()
    policy: str = Field("central_only", description="pre-positioning policy SPEC, e.g. top_n(n=200)")
    router: Router = Router()
    forecast: Forecast = Forecast()
    report: Report | None = Field(
        None, description="report settings (targets for the headline); optional", json_schema_extra=ADDITIVE
    )


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())


def node_kinds(sc: Scenario) -> dict[str, str]:
    """id -> kind for every node, explicit and placed by count."""
    return {nid: kind for kind, g in sc.nodes.groups() for nid, _ in g.all_ids(kind)}
