"""Scenario section ``costs``: fixed, rider, van, parcel, holding and lost-sale costs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.io.scenario.models.base import Ident, Model, NonNegFloat, Prob


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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
