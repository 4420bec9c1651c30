"""Scenario section ``lanes``: replenishment trucks and far-tier parcel transit."""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.io.scenario.models.base import Ident, Model, NonNegFloat, PosFloat, PosInt


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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
