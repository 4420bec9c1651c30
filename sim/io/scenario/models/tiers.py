"""Scenario section ``tiers``: the near, mid and far promises, waves, acceptance, lateness, substitution."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from sim import units
from sim.io.scenario.models.base import (
    ADDITIVE,
    MAX_MID_WINDOW_H,
    Clock,
    Ident,
    Model,
    NonNegFloat,
    PosFloat,
    PosInt,
    Prob,
)


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

    record_stocked: bool = Field(
        True,
        description="orders.parquet gains near_stocked: while it was routed, the order had a candidate store "
        "(rider radius covers its zone) within its service hours holding every line (on hand - reserved, "
        "eligible near) - the near requests staffing could have served, the denominator of the KPI "
        "near.on_time_stocked (sim.metrics.registry; issue #18: a staffing target staffing controls); false = "
        "the orders table before",
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
    substituted order is never perfect. With ``drop`` > 0 (partial fulfilment) a short line the customer does not
    substitute may be dropped instead, the rest of the order shipped. ``enabled: false`` = the engine before
    (stock-out: offer or lost)."""

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
    drop: Prob = Field(
        0.73,
        description="partial fulfilment: probability a customer who takes no substitute for a short line (or finds "
        "none) drops that line and keeps the rest of the order (the lines in stock and the accepted substitutes) "
        "[params: Calibration targets, response to a stock-out, GMA/FMI/CIES: of the ~55% who do not substitute, "
        "~31% buy elsewhere + ~9% do not buy = 40/55 = 0.73 drop the item; the other ~15% delay: the whole order "
        "waits for a slower tier]; a dropped line is a lost line sale (its "
        "margin) and the order is not perfect; 0 = an order is served only if every short line is substituted "
        "(the engine before)",
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


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())
