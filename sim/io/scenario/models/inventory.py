"""Scenario section ``inventory``: NDC supply, fresh stock, initial stock and replenishment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from sim.io.scenario.models.base import ADDITIVE, Model, NonNegFloat, PosFloat


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

    cross_dock: bool = Field(
        True,
        description="fresh flows as the grocers run it: the supplier delivers overnight (ordered at the day's "
        "review, received new at the NDC before the next review, ndc_lead_time_h unused), and a store's fresh "
        "leaves the NDC at that review and is cross-docked at its FDC (arrives and leaves the same day, never on "
        "the FDC's books; both lanes' lead times, trucks and handling), so it reaches the store young; an FDC "
        "holds fresh only for its own tier [Dingdong: procurement -> municipal sorting centre (sorting, packing) "
        "-> front-end warehouses daily; params: Calibration targets, fresh stock turn ~2.2 days at forward sites, "
        "fresh-goods loss 1-3% of units]; false = fresh waits a review at the NDC and at the FDC (the engine "
        "before)",
    )

    sell_through: bool = Field(
        True,
        description="cap an FDC's fresh target also at what it actually sells: its in-stock sell-through (units "
        "shipped per day over the days of the last shelf life on which it held the SKU; the forecast until it has "
        "held it a day) x the cap's days, as fresh grocers order by sell-through (the NDC's fresh order follows); "
        "an FDC's forecast counts every mid order of its catchment, most of which the router serves from stores, "
        "so it otherwise holds days of fresh it never sells, which rot (stores sell their forecast) [params: "
        "Calibration targets, "
        "fresh stock turn ~2.2 days at forward sites, fresh-goods loss 1-3% of units]; false = the forecast only "
        "(the engine before)",
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
    pre_build: bool = Field(
        True,
        description="with cover_window: a store's target is the larger of this review's and the next review's "
        "(its FDC holds the stores' levels one review further), so a known promotion is on the shelf when it "
        "starts rather than arriving after the store's own review on the day (the window [R, R + L) of a daily "
        "review holds only L of tomorrow); slots and volume still cap it. A planner's pre-build before a sales "
        "event (parameters.md Demand: Double 11 peak ~3x, known in advance); false = the engine before",
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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
