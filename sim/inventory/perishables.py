"""Fresh stock where it belongs (issue #14, ``inventory.fresh``): what the NDC buys and forward nodes hold.

Without this a national warehouse bought fresh goods for the whole network's demand, including
SKUs no forward node stocks (fresh never ships far, so nobody could draw them) and let them rot.
Here, for SKUs with a finite shelf life:

- ``fresh_draw``: the NDC's expected daily draw is the forecast demand of the forward nodes it
  feeds (through FDCs) that stock the SKU (target > 0), plus its own far demand where the SKU may
  ship far (counted as all its demand: an over-estimate for far-eligible fresh SKUs). Once a day,
  after the review, the NDC orders ``ceil(ndc_days_of_supply x draw) + unfilled - position``, where
  ``unfilled`` is what its direct customers' requests still lack; the delivery arrives
  ``ndc_lead_time_h`` later, before the next review, so a fresh unit waits about a day at the NDC.
- ``cap_fresh_targets``: a forward node never targets more fresh units than its echelon forecast
  (own tier + the stores it feeds) sells in its shelf life less a day (a day is spent on the road
  and in the cohort granularity): ``ceil(rate x max(life - 1, 1))``. With a critical ratio q
  (``inventory.fresh.newsvendor``), the cap is the perishable newsvendor's instead: the q-quantile of
  Poisson demand over that window, the most units whose last one still sells before it spoils with
  probability >= 1 - q. q = cu / (cu + co): a unit short loses its margin (``costs.lost_sale.margin_rate``
  x value), a unit spoiled loses its cost (1 - margin_rate) x value, so q = margin_rate (0.25 by
  default). A slow fresh SKU whose window sells less than a unit is then not stocked at all, as a
  store's fresh assortment follows its sell-through, instead of a unit held until it rots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import pdtr, pdtrik

if TYPE_CHECKING:
    from sim.inventory.state import InventoryState


def root_supplier(supplier: np.ndarray) -> np.ndarray:
    """The NDC at the top of each node's supply chain (itself for NDCs; -1 if a chain has no root)."""
    root = np.arange(supplier.size)
    for _ in range(supplier.size):
        up = supplier[root]
        step = up >= 0
        if not step.any():
            break
        root = np.where(step, up, root)
    return np.where(supplier[root] < 0, root, -1)


def echelon_rate(
    rate: np.ndarray, supplier: np.ndarray, node_kind: np.ndarray, store_kind: int = 2
) -> np.ndarray:
    """(N, S) own-tier rate plus, at a node that supplies stores, those stores' rates (with_downstream's rule)."""
    out = np.array(rate, float, copy=True)
    stores = np.flatnonzero((node_kind == store_kind) & (supplier >= 0))
    np.add.at(out, supplier[stores], rate[stores])
    return out


def supply_depth(supplier: np.ndarray) -> np.ndarray:
    """(N,) lanes between each node and the top of its supply chain (0 for NDCs, 1 for an FDC, 2 for its stores)."""
    depth = np.zeros(supplier.size, np.int64)
    up = supplier.copy()
    for _ in range(supplier.size):
        step = up >= 0
        if not step.any():
            break
        depth += step
        up = np.where(step, supplier[np.maximum(up, 0)], -1)
    return depth


@dataclass(frozen=True)
class FreshFlow:
    """How fresh flows (``cap_fresh_targets``): cross-docked at FDCs, and each node's in-stock sell-through."""

    cross_dock: bool = False
    sold: np.ndarray | None = None  # (N, fresh) units per day, NaN where unknown (``SellThrough.rate``)


def cap_fresh_targets(
    targets: np.ndarray,
    forecast: np.ndarray,
    life_days: np.ndarray,
    supplier: np.ndarray,
    node_kind: np.ndarray,
    carry_age: bool = False,
    critical_ratio: float | None = None,
    flow: FreshFlow | None = None,
) -> np.ndarray:
    """Targets with every forward node's fresh SKUs capped at what sells in their shelf life less a day. With
    ``carry_age`` (a unit arrives as old as it left upstream) a node gets the life left after two days per node
    above it (a day held there, a day lost to whole-day cohorts): ``ceil(rate x max(life - 1 - 2 x depth, 1))``,
    depth = lanes from the NDC (FDC 1, its stores 2). With `critical_ratio` q the cap is the q-quantile of Poisson
    demand over that window (the perishable newsvendor, see the module docstring) instead of its ceiled mean.
    `flow` (``FreshFlow``): with `cross_dock` (``inventory.fresh.cross_dock``) the stores' fresh passes through their FDC the day it
    leaves the NDC, which received it new that morning: an FDC's cap counts only its own tier's demand (it holds
    none for its stores) and no node loses days upstream (``carry_age``'s two days per node do not apply).
    `sold` ((N, fresh) units per day, NaN where unknown: ``sell_through``) lowers a node's own rate to what it
    sells where that is below its forecast."""
    fresh = np.flatnonzero(np.isfinite(life_days))
    if not fresh.size:
        return targets
    cross_dock, sold = (flow.cross_dock, flow.sold) if flow is not None else (False, None)
    out = targets.copy()
    if cross_dock:  # an FDC does not hold its stores' fresh (the policy's with_downstream share)
        stores = np.flatnonzero((node_kind == 2) & (supplier >= 0))
        stores = stores[node_kind[supplier[stores]] == 1]
        down = np.zeros((targets.shape[0], fresh.size), np.int64)
        np.add.at(down, supplier[stores], targets[np.ix_(stores, fresh)])
        out[:, fresh] = np.maximum(out[:, fresh] - down, 0)
    used = 2 * supply_depth(supplier)[:, None] if carry_age and not cross_dock else 0
    days = np.maximum(life_days[fresh][None, :] - 1.0 - used, 1.0)
    if critical_ratio is None:
        own = forecast[:, fresh]  # with cross_dock an FDC holds fresh for its own tier only
        if sold is not None:
            own = np.where(np.isnan(sold), own, np.minimum(own, sold))
        rate = own if cross_dock else echelon_rate(own, supplier, node_kind)
        cap = np.ceil(rate * days - 1e-9).astype(np.int64)
    else:  # the stores' caps first; an FDC's echelon counts only the stores that then stock the SKU
        own = forecast[:, fresh]
        if sold is not None:
            own = np.where(np.isnan(sold), own, np.minimum(own, sold))
        store_cap = newsvendor_cap(own * days, critical_ratio)
        stocked = (np.minimum(targets[:, fresh], store_cap) > 0) | (node_kind != 2)[:, None]
        rate = own if cross_dock else echelon_rate(np.where(stocked, own, 0.0), supplier, node_kind)
        cap = newsvendor_cap(rate * days, critical_ratio)
    forward = supplier >= 0
    out[np.ix_(forward, fresh)] = np.minimum(out[np.ix_(forward, fresh)], cap[forward])
    return out


def fresh_supplier(supplier: np.ndarray, node_kind: np.ndarray) -> np.ndarray:
    """(N,) where each node's fresh comes from when stores' fresh is cross-docked at their FDC: a store below an
    FDC draws on the FDC's supplier, every other node on its own supplier."""
    out = supplier.copy()
    st = np.flatnonzero((node_kind == 2) & (supplier >= 0))
    st = st[(node_kind[supplier[st]] == 1) & (supplier[supplier[st]] >= 0)]
    out[st] = supplier[supplier[st]]
    return out


class SellThrough:
    """In-stock sell-through of fresh SKUs per node: units shipped per day, averaged over the days of the last
    `window` on which the node held the SKU (start or received > 0); NaN where it held it on none (censored
    demand: a day without stock says nothing of what would have sold)."""

    def __init__(self, fresh: np.ndarray, window: int) -> None:
        self.fresh, self.window = fresh, max(int(window), 1)
        self.days: list[tuple[np.ndarray, np.ndarray]] = []  # (shipped, held) per closed day, oldest first

    def close_day(self, inv: InventoryState) -> None:
        f = self.fresh
        held = (inv.start[:, f] + inv.received[:, f]) > 0
        self.days.append((inv.shipped[:, f].copy(), held))
        self.days = self.days[-self.window :]

    def rate(self) -> np.ndarray | None:
        if not self.days:
            return None
        shipped = sum(s * h for s, h in self.days)
        n = sum(h.astype(np.int64) for _, h in self.days)
        return np.where(n > 0, shipped / np.maximum(n, 1), np.nan)


def newsvendor_cap(mean: np.ndarray, q: float) -> np.ndarray:
    """The smallest k with P(Poisson(mean) <= k) >= q, elementwise (0 where the mean is 0)."""
    m = np.maximum(np.asarray(mean, float), 0.0)
    k = poisson_ppf(q, np.where(m > 0, m, 1.0))
    return np.where(m > 0, k, 0).astype(np.int64)


def poisson_ppf(q: float, mu: np.ndarray) -> np.ndarray:
    """``scipy.stats.poisson.ppf(q, mu)`` for mu > 0, the same floats: for 0 < q < 1 its own formula (ceil of
    ``pdtrik``, one less where the cdf there already reaches q) without importing scipy.stats (~2 CPU-s)."""
    if not 0.0 < q < 1.0:
        from scipy.stats import poisson

        return np.asarray(poisson.ppf(q, mu), float)
    vals = np.ceil(pdtrik(q, mu))
    vals1 = np.maximum(vals - 1, 0)
    return np.asarray(np.where(pdtr(vals1, mu) >= q, vals1, vals), float)


def fresh_draw(
    targets: np.ndarray,
    rate: np.ndarray,
    supplier: np.ndarray,
    ndcs: np.ndarray,
    far_eligible: np.ndarray,
    fresh: np.ndarray,
) -> np.ndarray:
    """(len(ndcs), len(fresh)) expected units per day each NDC hands out of each fresh SKU.

    `rate` is the (N, S) own-tier demand per day (NDC rows: every tier), `targets` the forward
    nodes' current targets (a node draws a SKU only if it stocks it).
    """
    forward = np.flatnonzero(supplier >= 0)
    root = root_supplier(supplier)
    stocked = targets[np.ix_(forward, fresh)] > 0
    draw_rows = np.where(stocked, rate[np.ix_(forward, fresh)], 0.0)
    col = np.full(supplier.size, -1, np.int64)
    col[ndcs] = np.arange(ndcs.size)
    out = np.zeros((ndcs.size, fresh.size))
    has = col[root[forward]] >= 0
    np.add.at(out, col[root[forward][has]], draw_rows[has])
    out += rate[np.ix_(ndcs, fresh)] * far_eligible[fresh][None, :]
    return out


def unfilled(
    targets: np.ndarray, position: np.ndarray, supplier: np.ndarray, ndcs: np.ndarray, fresh: np.ndarray
) -> np.ndarray:
    """(len(ndcs), len(fresh)) what the NDCs' direct customers still ask for (target - position > 0); with
    cross-docked fresh pass ``fresh_supplier`` as `supplier` (the stores below an FDC count as the NDC's)."""
    col = np.full(supplier.size, -1, np.int64)
    col[ndcs] = np.arange(ndcs.size)
    child = np.flatnonzero((supplier >= 0) & (col[np.maximum(supplier, 0)] >= 0))
    gap = np.maximum(targets[np.ix_(child, fresh)] - position[np.ix_(child, fresh)], 0)
    out = np.zeros((ndcs.size, fresh.size), np.int64)
    np.add.at(out, col[supplier[child]], gap)
    return out
