"""Scenario sections ``horizon``, ``forecast`` and ``report``: how long the run is and what it reports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, Strict

from sim.io.scenario.models.base import Model, NonNegFloat, Prob


class Horizon(Model):
    days: Annotated[int, Strict(), Field(gt=0, le=3660)] = Field(
        1, description="measured days (reported); --days overrides; at most 10 years"
    )
    warmup_days: Annotated[int, Strict(), Field(ge=0, le=366)] = Field(
        3, description="days simulated first to fill the pipeline, excluded from KPIs"
    )
    start_date: dt.date = Field(dt.date(2026, 11, 1), description="calendar date of the first warm-up day")


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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
