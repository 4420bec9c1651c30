"""Scenario section ``router``: which node serves each order, and how vans are routed."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.io.scenario.models.base import Model, NonNegFloat, PosFloat


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
    capacity_places: Literal["quote", "slots"] = Field(
        "quote",
        description="what a store's places are in the capacity look-ahead: quote (with tiers.near.quote_from: queue: "
        "the rider trips that still fit before a new own near order's queue quote would pass max_quote_min, each "
        "option taking its trip time / the store's mean trip of them; the binding resource when riders are "
        "saturated [params: Riders, 4-5 orders per rider-hour]; issue #15) or slots (the engine's picker and "
        "full-batch rider slots within the capacity horizon, one per option: the router before)",
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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
