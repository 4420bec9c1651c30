"""Whose riders? A store's own pool, or a city pool shared by its stores (``nodes.stores.staffing.pool``).

The platform's crowd-sourced riders (Ele.me Hummingbird, Dada, Meituan; parameters.md Riders and
Calibration targets "rider productivity") are not owned by one store (issue #13 item 4). ``pool: store`` (the engine before) gives each store its own
``capacity.riders``; ``pool: city`` puts every store's riders of a city into one pool:

* **size**: the pool holds the sum of its stores' ``capacity.riders``; with ``staffing.by_hour`` the
  riders on shift in hour h are ``round(pool riders x by_hour[h] x day multiplier)`` in every hour at
  least one of the city's stores is open (a rider is not sent home because *her* store closed: she
  works for the open ones, e.g. the 24 h flash warehouses at night);
* **sharing rule**: any store of the city calls the pool's earliest available rider (riders are
  interchangeable); two stores calling at once take riders one after another in store order; a
  called rider reaches the calling store in the store's reach time (``capacity.rider_reach_s``, the
  idle pool is assumed spread over the city as densely as around a store: with ``trip.return_to:
  pool`` a rider is free at her last door, which is itself near some store of the city);
* **reporting**: busy time stays with the store that called; a pool's hours on shift are shared
  among its stores in proportion to their busy time (each store shows the pool's utilisation), and
  a store's rider capacity for routing (``StoreOps.capacity``) is its pool's free riders less the orders
  of the pool's open batches (any store may use them all; the quote, ``tiers.near.quote_from: queue``,
  counts the pool's queue).

Pools are rows of ``StoreOps.rider_free`` and of ``Shifts``; ``pool_of`` maps each store row to one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


def pool_of_stores(sc: Any, store_city: np.ndarray) -> np.ndarray | None:
    """Pool row of each store (`store_city`: its city index): None for ``pool: store`` (each its own);
    for ``pool: city``, the stores' cities numbered in order of first appearance."""
    if sc.nodes.stores.staffing.pool == "store":
        return None
    _, first, inv = np.unique(store_city, return_index=True, return_inverse=True)
    rank = np.empty(first.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inv]


def pooled(values: np.ndarray, pool_of: np.ndarray | None) -> np.ndarray:
    """Per-pool sums of per-store `values` (the stores' riders); the values themselves without pools."""
    if pool_of is None:
        return np.asarray(values)
    return np.bincount(pool_of, weights=values).round().astype(np.asarray(values).dtype)


def pool_open(open_h: np.ndarray, pool_of: np.ndarray | None) -> np.ndarray:
    """(pools, hours) bool: some store of the pool is open in the hour (`open_h`: (stores, hours))."""
    if pool_of is None:
        return open_h
    out = np.zeros((int(pool_of.max(initial=-1)) + 1, open_h.shape[1]), bool)
    np.logical_or.at(out, pool_of, open_h)
    return out


def pool_rounds(s: np.ndarray, pool: np.ndarray) -> Iterator[np.ndarray]:
    """`s` split into rounds with each pool at most once per round, in the order of `s`."""
    order = np.argsort(pool, kind="stable")
    ps = pool[order]
    rank = np.empty(s.size, np.int64)
    rank[order] = np.arange(s.size) - np.searchsorted(ps, ps)
    for r in range(int(rank.max(initial=-1)) + 1):
        yield s[rank == r]


def store_available(pool_available_s: np.ndarray, pool_of: np.ndarray, busy_s: np.ndarray) -> np.ndarray:
    """Per store: its pool's available rider-seconds shared in proportion to the stores' busy seconds
    (evenly when the pool did nothing), so every store shows its pool's utilisation."""
    n_pools = pool_available_s.size
    pool_busy = np.bincount(pool_of, weights=busy_s, minlength=n_pools)
    n = np.bincount(pool_of, minlength=n_pools)
    share = np.where(
        pool_busy[pool_of] > 0,
        busy_s / np.where(pool_busy[pool_of] > 0, pool_busy[pool_of], 1.0),
        1.0 / n[pool_of],
    )
    out: np.ndarray = pool_available_s[pool_of] * share
    return out
