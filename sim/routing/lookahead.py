"""Reservation prices for look-ahead routing (DESIGN.md section 6; Acimovic & Graves 2015).

Taking a unit of forward stock now can cost a faster-tier customer later. With a units available at
node n for SKU s and N ~ Poisson(μ) the forecast faster-tier demand there until the next
replenishment arrives, the unit we take would have been needed iff N ≥ a, so its expected opportunity
cost is r[n, s] = Δ · P(N ≥ a), Δ the value of serving that demand from n rather than its next-best
option. Taking q units costs Σ_{j<q} Δ · P(N ≥ a − j) (the j-th unit leaves a − j behind). μ follows
the intraday profile: the day's forecast times the share of a day's demand expected until the
replenishment (``day_share``), so an evening peak is not averaged away. Δ (the engine's ``la_value``) is
the shortfall value of the *order* the unit would have served: a unit short loses that whole order
(its margin, the other lines' margin and the goodwill) unless the customer accepts the next slower offer.

Which options pay: the forecast at a store is its near-tier demand, at an FDC its mid-tier demand, both
over the node's catchment (``sim.demand.forecast``). An option serving an order of the node's own
catchment at the node's own tier *is* that demand, so it pays nothing. Everything else takes a unit ahead
of the demand it was positioned for and pays r: an **upgrade** (an order that requested a slower tier
served from a faster node: a far order from a store, a far or mid order from an FDC) and an order from
**another node's catchment** (a near order sent to a store further than its own). The engine passes
``charged = (opt_tier < requested_tier) | (opt_node != catchment node of its tier)``. At an NDC Δ is
irrelevant in practice (its stock dwarfs the forecast over a lead time, so P(N ≥ a) ≈ 0).

**Capacity look-ahead.** The same argument holds for a node's capacity. A charged option at a store
takes a picker and rider slot that the store's own near customers may need within the capacity
horizon; one served by an FDC takes a place on a wave its own mid customers may need before the
cut-off. With ``slots`` places left and N ~ Poisson(μ) own-tier orders expected over that window
(the forecast's orders per day times the intraday share of the window), the place taken is missed iff
N ≥ slots: r_cap[n] = Δ_order · P(N ≥ slots), Δ_order the shortfall value of a whole order
(``capacity_reservation``). Without it, a router that saves a few CNY by sending next-day orders to
stores fills the evening peak's riders and loses near orders (measured on Shanghai–Hangzhou: rider
utilisation 0.22 -> 0.49, near on-time 99.6% -> 94.3%, 16,500 more lost orders for 80,000 upgrades).

**Which demand a node's units serve** (``router.lookahead_demand``). ``own`` protects only the
catchment's own-tier forecast. ``served`` adds every other time-critical stream the node's units and
places serve: near orders from other catchments (their own store lacks the SKU: on the toy 86% of the
lost near orders had a line their own store never stocked that day, so neighbours' stores serve them) and
mid orders that stores serve. The engine counts them as they are served (``count_served``: orders requested
near or mid, served at their tier or faster, by a node that is not their own catchment's node of that
tier) and each review adds the mean day so far to the forecast rate and orders: N = N_own + N_other,
both Poisson with the intraday profile, r = Δ · P(N ≥ a). Each of those customers loses Δ when the unit
is gone (a conservative value for a mid customer, who may still find the FDC). Far orders are not
counted: they are what the price keeps away from forward stock.

**The planner's service price** (``router.imperfect_order_cny``, I). Every own-tier customer who finds no
unit or no place ends imperfect (downgraded or lost), so Δ += I for stock and capacity alike; the engine
also adds I to every downgrade offer, to the lost-sale cost of an offer-only order and to each extra
shipment of a split. I = 0 is the router before; raising I trades money for perfect orders, and
``shangou sweep --grid router.imperfect_order_cny=...`` traces that frontier.

**The rate is uncertain** (``router.lookahead_rate_cv``). μ is a forecast, and the forecast errs: the
bundled scenarios' forecast has a 30% WAPE (lognormal noise, σ 0.38, CV 0.39) and each day's volume a
gamma multiplier of CV 0.1, so the true rate is the forecast times a factor of CV ≈ 0.40. A Poisson of a
gamma-distributed rate is a negative binomial, whose tail is far fatter where it matters: a unit taken
from a = 30 with μ = 15 is needed with P = 4·10⁻⁴ under Poisson and ~3·10⁻² at CV 0.4. Unset, the CV
is derived from ``forecast.error`` and ``demand.day_cv`` (``rate_cv``); 0 is the Poisson model before.

Within one epoch each option is priced at the stock available at routing time; several upgrades
competing for the same node x SKU in one batch each see the first unit's price (the stock arc of
the ``flow`` router still limits how many get it). Reservation prices are decision signals that the
``flow`` router adds to option costs when ``router.lookahead`` is on; they are never booked as costs.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from scipy.special import betainc, pdtrc

from sim.units import DAY, HOUR


def prob_at_least(mean: np.ndarray | float, a: np.ndarray | float, rate_cv: float = 0.0) -> np.ndarray:
    """P(N ≥ a), elementwise (1 where a ≤ 0): N ~ Poisson(mean), or with ``rate_cv`` > 0 Poisson of a rate
    that is itself uncertain, gamma with that mean and CV (a negative binomial with r = 1/cv²,
    p = r / (r + mean): P(N > k) = I_{mean/(r+mean)}(k + 1, r))."""
    mu = np.maximum(np.asarray(mean, dtype=float), 0.0)
    a = np.asarray(a, dtype=float)
    mu, a = np.broadcast_arrays(mu, a)
    out = np.ones(mu.shape)
    pos = a > 0
    k = np.ceil(a[pos]) - 1.0
    if rate_cv > 0:
        r = 1.0 / rate_cv**2
        out[pos] = betainc(k + 1.0, r, mu[pos] / (r + mu[pos]))
    else:
        out[pos] = pdtrc(k, mu[pos])  # pdtrc(k, m) = P(N > k)
    return out


def rate_cv(forecast_sigma: float, day_cv: float) -> float:
    """CV of the true demand rate around the forecast the look-ahead reads (``router.lookahead_rate_cv``
    unset): the forecast's lognormal noise of σ `forecast_sigma` (``forecast.error`` as a WAPE, through
    ``sim.demand.forecast.sigma_for_wape``; CV sqrt(exp σ² − 1)) and the day's volume multiplier
    (``demand.day_cv``), independent, so their (1 + cv²) multiply."""
    return float(np.sqrt(np.exp(forecast_sigma**2) * (1.0 + day_cv**2) - 1.0))


def reservation_price(
    mean: np.ndarray | float,
    available: np.ndarray | float,
    value: np.ndarray | float,
    units: np.ndarray | int = 1,
    rate_cv: float = 0.0,
) -> np.ndarray:
    """Δ · Σ_{j<q} P(N ≥ a − j): expected opportunity cost of taking q units out of a (N ~ Poisson(mean), of
    an uncertain rate with ``rate_cv`` > 0: see ``prob_at_least``)."""
    mean_b, a, delta, q = np.broadcast_arrays(
        np.asarray(mean, float),
        np.asarray(available, float),
        np.asarray(value, float),
        np.asarray(units, np.int64),
    )
    total = np.zeros(mean_b.shape)
    for j in range(int(q.max()) if q.size else 0):
        m = q > j
        total[m] += prob_at_least(mean_b[m], a[m] - j, rate_cv)
    return cast(np.ndarray, np.maximum(delta, 0.0) * total)


def option_reservation(
    line_option: np.ndarray,
    line_node: np.ndarray,
    line_sku: np.ndarray,
    line_qty: np.ndarray,
    charged: np.ndarray,
    rate: np.ndarray,
    available: np.ndarray,
    horizon_s: np.ndarray | float,
    value: np.ndarray | float,
    reserved: np.ndarray | None = None,
    rate_cv: float = 0.0,
) -> np.ndarray:
    """Reservation price per option (Batch.opt_reservation), summed over the option's order lines.

    Per line (one row per option x order line): its option row, node, SKU and units. ``charged`` (K,)
    marks options that pay (see the module docstring). ``rate`` (N, S): forecast units per second
    (day average) of the node's own-tier demand; ``available`` (N, S): units on hand at routing time, less
    ``reserved`` (N, S) when given (subtracted only where needed); ``horizon_s`` and ``value``
    broadcast to (N, S): seconds until the next replenishment arrives (at the day-average rate: the
    engine passes a day times ``day_share`` of the span) and Δ in CNY per unit; ``rate_cv`` the rate's
    uncertainty (``prob_at_least``). Only the
    lines of charged options are evaluated, so the cost is per option line, not per node x SKU.
    """
    charged = np.asarray(charged, bool)
    line_option = np.asarray(line_option, np.int64)
    out = np.zeros(charged.size)
    sel = np.flatnonzero(charged[line_option])
    if sel.size == 0:
        return out
    n = np.asarray(line_node, np.int64)[sel]
    s = np.asarray(line_sku, np.int64)[sel]
    shape = rate.shape
    mean = rate[n, s] * np.broadcast_to(np.asarray(horizon_s, float), shape)[n, s]
    delta = np.broadcast_to(np.asarray(value, float), shape)[n, s]
    a = available[n, s] if reserved is None else available[n, s] - reserved[n, s]
    r = reservation_price(mean, a, delta, np.asarray(line_qty, np.int64)[sel], rate_cv)
    return np.bincount(line_option[sel], weights=r, minlength=charged.size)


def day_share(hour_share: np.ndarray, t0: np.ndarray | float, t1: np.ndarray | float) -> np.ndarray:
    """Share of one day's demand expected in [t0, t1) (seconds from the start, any span), from the
    (24,) hourly profile with uniform arrivals within each hour."""
    h = np.asarray(hour_share, float)
    cum = np.concatenate([[0.0], np.cumsum(h)]) / h.sum()

    def F(t: np.ndarray | float) -> np.ndarray:
        day, tod = np.divmod(np.asarray(t, float), DAY)
        hour = np.minimum((tod // HOUR).astype(np.int64), 23)
        return np.asarray(day + cum[hour] + (cum[hour + 1] - cum[hour]) * (tod - hour * HOUR) / HOUR)

    return cast(np.ndarray, np.maximum(F(t1) - F(t0), 0.0))


def capacity_reservation(
    orders_per_day: np.ndarray,
    share: np.ndarray | float,
    slots: np.ndarray,
    value: np.ndarray | float,
    rate_cv: float = 0.0,
) -> np.ndarray:
    """Δ · P(N ≥ slots), N ~ Poisson(orders_per_day · share) (of an uncertain rate with ``rate_cv`` > 0):
    expected cost to a node's own-tier customers of one of its `slots` places taken now by another
    (an upgraded) order."""
    mean = np.asarray(orders_per_day, float) * np.asarray(share, float)
    return cast(
        np.ndarray,
        np.maximum(np.asarray(value, float), 0.0) * prob_at_least(mean, np.maximum(slots, 1), rate_cv),
    )


def shortfall_value(
    lost_sale_cny: np.ndarray | float,
    acceptance: np.ndarray | float,
    extra_cost_cny: np.ndarray | float = 0.0,
    imperfect_cny: float = 0.0,
) -> np.ndarray:
    """Δ for a node's own-tier customer who finds no unit: offered the next slower tier, accepted with
    probability p at `extra_cost_cny` more than serving here, else lost: Δ = p·extra + (1 − p)·lost, plus
    the planner's price of an imperfect order (``router.imperfect_order_cny``), which that customer's order
    is either way (downgraded or lost)."""
    p = np.clip(np.asarray(acceptance, float), 0.0, 1.0)
    return cast(
        np.ndarray,
        np.maximum(
            p * np.asarray(extra_cost_cny, float)
            + (1.0 - p) * np.asarray(lost_sale_cny, float)
            + max(float(imperfect_cny), 0.0),
            0.0,
        ),
    )
