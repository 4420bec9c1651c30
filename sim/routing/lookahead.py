"""Reservation prices for look-ahead routing (DESIGN.md section 6; Acimovic & Graves 2015).

Taking a unit of forward stock now can cost a faster-tier customer later. With a units available at
node n for SKU s and N ~ Poisson(μ) the forecast faster-tier demand there until the next
replenishment arrives, the unit we take would have been needed iff N ≥ a, so its expected opportunity
cost is r[n, s] = Δ · P(N ≥ a), Δ the value of serving that demand from n rather than its next-best
option. Taking q units costs Σ_{j<q} Δ · P(N ≥ a − j) (the j-th unit leaves a − j behind).

Which options pay: the forecast at a store is its near-tier demand, at an FDC its mid-tier demand
(``sim.demand.forecast`` attributes demand by catchment). An option serving an order at its node's
own tier or slower (a downgrade offer) *is* that demand, so it pays nothing; an **upgrade** — an order
that requested a slower tier served from a faster node (a far order from a store, a far or mid order
from an FDC) — takes a unit ahead of the demand it was positioned for and pays r. NDCs never pay.
So ``charged = opt_tier < requested_tier[opt_order]``.

Within one epoch each option is priced at the stock available at routing time; several upgrades
competing for the same node x SKU in one batch each see the first unit's price (the stock arc of
the ``flow`` router still limits how many get it). Reservation prices are decision signals that the
``flow`` router adds to option costs when ``router.lookahead`` is on; they are never booked as costs.
"""

from __future__ import annotations

import numpy as np
from scipy.special import pdtrc


def prob_at_least(mean: np.ndarray | float, a: np.ndarray | float) -> np.ndarray:
    """P(N ≥ a) for N ~ Poisson(mean), elementwise (1 where a ≤ 0)."""
    mu = np.maximum(np.asarray(mean, dtype=float), 0.0)
    a = np.asarray(a, dtype=float)
    mu, a = np.broadcast_arrays(mu, a)
    out = np.ones(mu.shape)
    pos = a > 0
    out[pos] = pdtrc(np.ceil(a[pos]) - 1.0, mu[pos])  # pdtrc(k, m) = P(N > k)
    return out


def reservation_price(mean: np.ndarray | float, available: np.ndarray | float, value: np.ndarray | float,
                      units: np.ndarray | int = 1) -> np.ndarray:
    """Δ · Σ_{j<q} P(N ≥ a − j): expected opportunity cost of taking q units out of a (N ~ Poisson(mean))."""
    mean_b, a, delta, q = np.broadcast_arrays(np.asarray(mean, float), np.asarray(available, float),
                                              np.asarray(value, float), np.asarray(units, np.int64))
    total = np.zeros(mean_b.shape)
    for j in range(int(q.max()) if q.size else 0):
        m = q > j
        total[m] += prob_at_least(mean_b[m], a[m] - j)
    return np.maximum(delta, 0.0) * total


def option_reservation(line_option: np.ndarray, line_node: np.ndarray, line_sku: np.ndarray,
                       line_qty: np.ndarray, charged: np.ndarray, rate: np.ndarray, available: np.ndarray,
                       horizon_s: np.ndarray | float, value: np.ndarray | float,
                       reserved: np.ndarray | None = None) -> np.ndarray:
    """Reservation price per option (Batch.opt_reservation), summed over the option's order lines.

    Per line (one row per option x order line): its option row, node, SKU and units. ``charged`` (K,)
    marks options that pay (upgrades, see the module docstring). ``rate`` (N, S): forecast units per
    second of the node's own-tier demand; ``available`` (N, S): units on hand at routing time, less
    ``reserved`` (N, S) when given (subtracted only where needed); ``horizon_s`` and ``value``
    broadcast to (N, S): seconds until the next replenishment arrives and Δ in CNY per unit. Only the
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
    r = reservation_price(mean, a, delta, np.asarray(line_qty, np.int64)[sel])
    return np.bincount(line_option[sel], weights=r, minlength=charged.size)


def shortfall_value(lost_sale_cny: np.ndarray | float, acceptance: np.ndarray | float,
                    extra_cost_cny: np.ndarray | float = 0.0) -> np.ndarray:
    """Δ for a node's own-tier customer who finds no unit: offered the next slower tier, accepted with
    probability p at `extra_cost_cny` more than serving here, else lost: Δ = p·extra + (1 − p)·lost."""
    p = np.clip(np.asarray(acceptance, float), 0.0, 1.0)
    return np.maximum(p * np.asarray(extra_cost_cny, float) + (1.0 - p) * np.asarray(lost_sale_cny, float), 0.0)
