"""Scenario section ``geography``: the cities and their demand zones."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from sim.io.scenario.models.base import (
    ADDITIVE,
    MAX_PER_CITY,
    Ident,
    Lat,
    Lon,
    Model,
    NonNegFloat,
    PosFloat,
    PosInt,
    _lat_lon_pair,
)


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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
