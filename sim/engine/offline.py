"""Offline sales at shops and the online view's sync lag (issue #14).

A store that is a shop (``nodes.stores.capacity.offline_share`` s > 0, per store kind: brand stores sell
over the counter, flash warehouses do not) sells offline from the same shelf the online orders draw on.

* **Demand.** Per day, a store's counter sells Poisson(s / (1 - s) x its online catchment's expected units)
  (the forecaster's true rate of the day, promotions included, so the share of its units sold online is
  1 - s: Hema's first store ~60% online, parameters.md), one unit per sale, SKUs in proportion to that
  rate, at times drawn from the counter's own intraday profile (``nodes.stores.offline.by_hour``, default
  the online one) within the store's service hours. Drawn at the start of the day from the stream
  ``demand.offline/<date>/<city>``: the same counter customers for every policy (common random numbers).
* **The shelf.** At each epoch the sales due are served from the shelf's free units (on hand less units
  already sold offline but not yet synced, less units reserved for online orders, which the store locks);
  a counter customer who finds no free unit buys nothing here (not counted as an online lost sale).
* **Sync lag.** The online view (``InventoryState.on_hand``, what routing sees) learns of counter sales
  every ``sync_s`` seconds (at the first epoch at or after each multiple; ``0``: at once), and at the close
  of every day. Until then the view overstates the shelf by ``unsynced``.
* **Oversell.** After the stock repair, a store order whose lines (taken in batch order) exceed the shelf's
  free units is *oversold*: the store finds the units gone when it checks the pick list, its stock cells are
  synced at once, and the order goes back to routing at the next epoch, where it meets the ordinary chain
  (another node, a substitute, a slower-tier offer, or lost). ``orders.parquet`` gains ``oversold`` (the
  order was oversold at least once) while the mechanism is on; kpis ``oversell_rate``. Simplification: the
  shortage is found when the order reaches the store, minutes before its pick; split shipments are not
  checked (their units are then taken from the view).
* **Books.** Synced counter sales leave ``on_hand`` as ``sold_offline`` (an inventory.parquet column while
  the mechanism is on): start + received - shipped - transferred_out - spoiled - sold_offline = end.
* **Forecasts.** The policies see counter sales as demand: a store's forecast is scaled by 1 / (1 - s).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from sim.engine.options import EpochOptions
from sim.engine.substitution import entries_of
from sim.units import DAY, HOUR
from sim.vocab import Tier

__all__ = ["OfflineSales", "oversell"]


class OfflineSales:
    """The counters of the shops among the stores: the day's drawn sales, unsynced units, the sync clock."""

    def __init__(
        self,
        stores: np.ndarray,
        factor: np.ndarray,
        by_hour: np.ndarray,
        open_s: np.ndarray,
        close_s: np.ndarray,
        sync_s: float,
        shape: tuple[int, int],
    ) -> None:
        self.stores, self.factor = stores, factor  # factor s / (1 - s) per store row
        self.by_hour, self.open_s, self.close_s, self.sync_s = by_hour, open_s, close_s, float(sync_s)
        self.unsynced = np.zeros(shape, np.int64)  # units sold at the counter the online view still shows
        # the cells sold into since the last full sync and the units still unsynced, so a sync and the
        # oversell step touch what changed rather than scanning the dense (N, S) array
        self._touched: list[np.ndarray] = []
        self.n_unsynced = 0
        self.next_sync = self.sync_s  # syncs at every multiple of sync_s (the first epoch at or after it)
        self.t = np.zeros(0)
        self.node = np.zeros(0, np.int64)
        self.sku = np.zeros(0, np.int64)
        self.missed = 0  # counter customers who found no free unit
        self.oversells = 0  # store assignments sent back because the shelf was short

    @classmethod
    def from_scenario(
        cls,
        sc: Any,
        net: Any,
        n_skus: int,
        stores: np.ndarray,
        hour_share: np.ndarray,
        hours: tuple[np.ndarray, np.ndarray],
    ) -> OfflineSales | None:
        """The scenario's counters, or None when ``nodes.stores.offline`` is off or no store is a shop."""
        off = sc.nodes.stores.offline
        share = np.array([net.node_capacity[i].offline_share for i in stores], float)
        if not off.enabled or not (share > 0).any():
            return None
        by_hour = np.asarray(off.by_hour if off.by_hour is not None else hour_share, float)
        return cls(
            stores,
            share / (1.0 - share),
            by_hour / by_hour.sum(),
            hours[0],
            hours[1],
            off.sync_s,
            (net.n_nodes, n_skus),
        )

    # ------------------------------------------------------------------ demand
    def draw_day(
        self,
        streams: Any,
        date: dt.date,
        day: int,
        rate: np.ndarray,
        store_city: np.ndarray,
        city_names: list[str],
    ) -> None:
        """Draw day `day`'s counter sales (rate: the day's true (N, S) units per day) and queue them."""
        ts, ns, ks = [self.t], [self.node], [self.sku]
        for c, name in enumerate(city_names):
            rows = np.flatnonzero((store_city == c) & (self.factor > 0))
            if not rows.size:
                continue
            rng = streams.get(f"demand.offline/{date.isoformat()}/{name}")
            for r in rows:  # a loop over shops (hundreds per day), vectorised over their sales
                lam = rate[self.stores[r]] * self.factor[r]
                total = float(lam.sum())
                lo = np.maximum(np.arange(24) * HOUR, self.open_s[r])
                hi = np.minimum(np.arange(1, 25) * HOUR, self.close_s[r])
                w = self.by_hour * np.maximum(hi - lo, 0.0) / HOUR
                if total <= 0 or w.sum() <= 0:
                    continue
                n = int(rng.poisson(total))
                hour = rng.choice(24, size=n, p=w / w.sum())
                ts.append(day * DAY + lo[hour] + rng.random(n) * (hi - lo)[hour])
                ks.append(rng.choice(lam.size, size=n, p=lam / total).astype(np.int64))
                ns.append(np.full(n, self.stores[r], np.int64))
        t, node, sku = np.concatenate(ts), np.concatenate(ns), np.concatenate(ks)
        o = np.argsort(t, kind="stable")
        self.t, self.node, self.sku = t[o], node[o], sku[o]

    def forecast(self, f: np.ndarray) -> np.ndarray:
        """A forecast of online demand (N, S) with the stores' counter sales added: the policies' demand."""
        out = f.astype(float, copy=True)
        out[self.stores] *= (1.0 + self.factor)[:, None]
        return out

    # ------------------------------------------------------------------ the shelf
    def apply(self, t: float, inv: Any) -> None:
        """Serve the counter sales due by t from the shelf's free units; sync the view when its time has come."""
        k = int(np.searchsorted(self.t, t, side="right"))
        if k:
            node, sku = self.node[:k], self.sku[:k]
            self.t, self.node, self.sku = self.t[k:], self.node[k:], self.sku[k:]
            cell, want = np.unique(node * inv.on_hand.shape[1] + sku, return_counts=True)
            n, s = np.divmod(cell, inv.on_hand.shape[1])
            free = np.maximum(inv.on_hand[n, s] - self.unsynced[n, s] - inv.reserved[n, s], 0)
            sold = np.minimum(want, free)
            self.unsynced[n, s] += sold
            self._touched.append(cell[sold > 0])
            self.n_unsynced += int(sold.sum())
            self.missed += int((want - sold).sum())
        if t >= self.next_sync:
            self.sync(inv)
            self.next_sync = (np.floor(t / self.sync_s) + 1.0) * self.sync_s if self.sync_s > 0 else t

    def sync(self, inv: Any, cells: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """The online view learns the counter sales (all of them, or those of `cells`)."""
        if cells is None:  # every cell sold into since the last full sync, in row-major order (as np.nonzero)
            keys = np.unique(np.concatenate(self._touched)) if self._touched else np.zeros(0, np.int64)
            self._touched = []
            n, s = np.divmod(keys, self.unsynced.shape[1])
        else:  # a cell once, however many short lines named it (twice would sell its units twice)
            n, s = np.divmod(
                np.unique(cells[0].astype(np.int64) * self.unsynced.shape[1] + cells[1]),
                self.unsynced.shape[1],
            )
        keep = self.unsynced[n, s] > 0
        n, s = n[keep], s[keep]
        if n.size:
            units = self.unsynced[n, s]
            inv.sell_offline(n, s, units)
            self.unsynced[n, s] = 0
            self.n_unsynced -= int(units.sum())


def oversell(sim: Any, ep: EpochOptions, chosen: np.ndarray) -> np.ndarray:
    """The oversell step (after ``repair``): unassign store orders the shelf cannot serve; see the module doc."""
    off: OfflineSales = sim.offline
    if off.n_unsynced == 0:
        return chosen
    rows = np.flatnonzero(chosen >= 0)
    rows = rows[ep.p_tier[chosen[rows]] == Tier.NEAR]
    if not rows.size:
        return chosen
    b, inv = sim.book, sim.inv
    pairs = chosen[rows]
    cnt = ep.n_lines[ep.p_row[pairs]]
    e = entries_of(ep, pairs)
    r = np.repeat(np.arange(rows.size), cnt)
    nd, sk, q = ep.p_node[pairs][r], ep.sku[e], ep.qty[e].astype(np.int64)
    key = nd.astype(np.int64) * inv.on_hand.shape[1] + sk
    o = np.lexsort((r, key))
    ks, qs = key[o], q[o]
    cum = np.cumsum(qs)
    first = np.searchsorted(ks, ks)
    need = cum - np.where(first > 0, cum[first - 1], 0)
    shelf = inv.on_hand[nd[o], sk[o]] - off.unsynced[nd[o], sk[o]] - inv.reserved[nd[o], sk[o]]
    short = need > shelf
    if not short.any():
        return chosen
    bad = np.unique(r[o][short])
    chosen = chosen.copy()
    chosen[rows[bad]] = -1
    b.oversold[ep.idx[rows[bad]]] = True
    off.oversells += int(bad.size)
    off.sync(
        inv, (nd[o][short], sk[o][short])
    )  # the store reports the shelf: the view of those cells is true
    return chosen
