"""``base_stock(service=0.95, measure="cycle", dist="poisson", cv=None, normal_above=500)``.

Per forward node x SKU an order-up-to level S from the forecast over the cover period (review
period R plus inbound lead time L), at a target service level. Two measures:
- ``cycle`` — cycle service level: S is the smallest level with P(D_{R+L} <= S) >= service, the
  probability that a replenishment cycle ends without a stock-out;
- ``fill`` — fill rate: the share of demand served from stock, 1 - E[units short per cycle] / mu_R
  >= service, with units short per cycle E[(D_{R+L} - S)^+] - E[(D_L - S)^+] from the standard
  (first-order) loss function (Hadley-Whitin; exact for backorders).
Demand over a window is Poisson (``dist="poisson"``) or negative binomial (``"negbin"``, variance
mu + (cv mu)^2: the forecast error as a gamma-distributed rate of CV ``cv``; default: the context's
``forecast_cv``, else 0.4 — the CV of the lognormal noise at the default 30% WAPE); both switch to
a normal with the same mean and variance when mu >= ``normal_above`` (see ``stock_math``).

A cycle level of 0 (slow movers at a modest service level) means "not stocked here". Levels are
then fitted into each node's slots and volume (``fit_capacity``: the SKUs with the largest forecast
keep their slots) and FDCs add what their stores will ask for (echelon stock, ``with_downstream``).
"""

from __future__ import annotations

import numpy as np

from sim.policies.base import (
    PolicyContext,
    check_choice,
    check_number,
    echelon_levels,
    register_policy,
)
from sim.policies.stock_math import DISTS, DemandModel, cycle_level, fill_level
from sim.units import DAY
from sim.vocab import NodeKind

MEASURES = ("cycle", "fill")
DEFAULT_CV = 0.4  # CV of mean-1 lognormal noise whose WAPE is 0.30 (parameters.md default forecast error)


def validated(
    name: str, service: float, measure: str, dist: str, cv: float | None, normal_above: float
) -> tuple[float, str, str, float | None, float]:
    """Check the shared base-stock parameters; ValueError naming the policy and parameter."""
    service = check_number(name, "service", service, 0.0, 1.0, open_lo=True, open_hi=True)
    measure = check_choice(name, "measure", measure, MEASURES)
    dist = check_choice(name, "dist", dist, DISTS)
    if cv is not None:
        cv = check_number(name, "cv", cv, 0.0, 10.0)
    normal_above = check_number(name, "normal_above", normal_above, 0.0, np.inf, open_lo=True)
    return service, measure, dist, cv, normal_above


def demand_model(dist: str, cv: float | None, normal_above: float, ctx: PolicyContext) -> DemandModel:
    """The demand distribution: negbin dispersion from `cv`, else the forecast's CV, else DEFAULT_CV."""
    if dist == "poisson":
        return DemandModel("poisson", 0.0, normal_above)
    c = cv if cv is not None else (ctx.forecast_cv if ctx.forecast_cv is not None else DEFAULT_CV)
    return DemandModel("negbin", float(c), normal_above)


def levels_for(
    model: DemandModel, service: float, measure: str, mu_l: np.ndarray, mu_rl: np.ndarray
) -> np.ndarray:
    """Order-up-to levels for demand means over L (`mu_l`) and R + L (`mu_rl`), any shape (int64)."""
    mu_l = np.asarray(mu_l, float)
    mu_rl = np.asarray(mu_rl, float)
    out = np.zeros(mu_rl.shape, np.int64)
    live = mu_rl > 0
    if not live.any():
        return out
    if measure == "cycle":
        out[live] = cycle_level(model, service, mu_rl[live])
    else:
        out[live] = fill_level(model, service, mu_l[live], mu_rl[live])
    return out


def cover_means(ctx: PolicyContext, start_days: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(mu_L, mu_R+L) per node x SKU: demand expected over [d, d + L) and [d, d + R + L), or with `start_days`
    s over [d + s, d + s + L) and [d + s, d + s + R + L) (s = R: the windows of the next review).

    With ``ctx.cover_window`` (``inventory.cover_window``) and a forecast that looks ahead, the daily
    forecasts of the days the window spans are summed (fractional days by overlap), so a known
    promotion inside the window raises the target before it; otherwise today's rate is held over the
    window (the engine before issue #14's peak work, and every moving-average forecast)."""
    lead_days = ctx.lead_s / DAY
    cover_days = np.asarray(ctx.cover_s, float) / DAY
    f = np.maximum(np.asarray(ctx.forecast, float), 0.0)
    if not ctx.cover_window or ctx.forecast_ahead is None:
        return f * lead_days[:, None], f * cover_days[:, None]
    mu_l, mu_rl = np.zeros_like(f), np.zeros_like(f)
    s0 = float(start_days)
    for j in range(int(np.ceil(float(np.max(cover_days, initial=0.0)) + s0)) + 1):
        before = np.clip(s0 - j, 0.0, 1.0)  # the part of day j before the window starts
        w_l = np.clip(s0 + lead_days - j, 0.0, 1.0) - before  # overlap of [s, s + L) with day j
        w_rl = np.clip(s0 + cover_days - j, 0.0, 1.0) - before
        if not w_rl.any():
            if j >= s0:
                break
            continue
        day = f if j == 0 else np.maximum(np.asarray(ctx.forecast_ahead(ctx.day + j), float), 0.0)
        mu_l += day * w_l[:, None]
        mu_rl += day * w_rl[:, None]
    return mu_l, mu_rl


@register_policy("base_stock")
class BaseStock:
    """Order-up-to levels at a target cycle service level or fill rate (see the module docstring)."""

    name = "base_stock"

    def __init__(
        self,
        service: float = 0.95,
        measure: str = "cycle",
        dist: str = "poisson",
        cv: float | None = None,
        normal_above: float = 500.0,
    ) -> None:
        self.service, self.measure, self.dist, self.cv, self.normal_above = validated(
            self.name, service, measure, dist, cv, normal_above
        )

    def raw_levels(self, ctx: PolicyContext, start_days: float = 0.0) -> np.ndarray:
        """Unconstrained levels of the forward nodes (NDC rows 0); `start_days` = R: at the next review."""
        model = demand_model(self.dist, self.cv, self.normal_above, ctx)
        mu_l, mu_rl = cover_means(ctx, start_days)
        out = np.zeros(np.shape(ctx.forecast), np.int64)
        fwd = np.flatnonzero(ctx.node_kind != NodeKind.NDC)
        out[fwd] = levels_for(model, self.service, self.measure, mu_l[fwd], mu_rl[fwd])
        return out

    def targets(self, ctx: PolicyContext) -> np.ndarray:
        # inventory.cover_window / pre_build: the next review's levels (base.echelon_levels)
        return echelon_levels(lambda s: self.raw_levels(ctx, s), ctx)
