"""Scenario sections ``catalog`` and ``demand``: SKUs, baskets, tier mix, promotions, conversion."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from sim.io.scenario.models.base import ADDITIVE, Ident, Model, NonNegFloat, NonNegInt, PosFloat, Prob, Tier


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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
