"""Online policies for the Ma (2023) instances: each arrival is routed on its own, in arrival order.

- ``mip``: Shangou's ``mip`` router machinery on a one-order batch: the split model of
  ``sim.routing.split`` (CP-SAT) with one shipment row per FC holding any of the order's items (a box,
  8.759) and one line row per (FC, item) in stock (the unit cost), plus the virtual "unfilled" FC with
  unlimited stock, so the order's cheapest split given current stock is found exactly. Single-item
  orders go through the ``assign_min_cost`` contract (OR-Tools min-cost flow, the ``flow`` router's solver).
  The answer depends only on (type, region, which of the order's items each FC still holds), so it is
  memoised on that key: the same model would return the same answer.
- ``mip_bid``: the same with each unit's cost raised by the DLP's shadow price of the stock it takes
  (static bid prices, the network revenue-management look-ahead; Jasin & Sinha's DLP duals).
- ``myopic``: Ma's code's myopic rule: each item from the nearest FC *carrying* it; unfilled if that FC
  has run out.
- ``nearest``: each item from the nearest FC that still has it (unfilled if none).
- ``dilated``: Ma's (2023) dilated rounding of the DLP (his Algorithm "dilate"): FC k opens at an
  Exp(1) time E_k, each item tries the FC minimising E_k / u_ik (u the DLP's shares for the order's
  (type, region)); unfilled if that FC has run out. The reference the papers' best heuristics compare with.

Every policy returns the total cost of the sequence (empty orders cost nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.routing.benchmarks.ma2023 import Instance, LPResult, order_cost
from sim.routing.flow import assign_min_cost
from sim.routing.split import SplitRows, solve_split

POLICIES = ("myopic", "nearest", "mip", "mip_bid", "dilated")
_EMPTY = np.zeros(0, np.int64)


def _mip_order(
    inst: Instance, items: tuple[int, ...], j: int, left: np.ndarray, bid: np.ndarray | None
) -> np.ndarray:
    """FC per item of one order (K = unfilled) by the mip/flow machinery (module docstring)."""
    K = inst.n_fcs
    avail = np.zeros((K + 1, len(items)), bool)
    avail[:K] = left[:, list(items)] > 0
    avail[K] = True
    unit = np.repeat(inst.c_unit[:, j][:, None], len(items), axis=1)
    if bid is not None:
        unit[:K] += bid[:, list(items)]
    if len(items) == 1:
        cost = np.where(avail[:, 0], inst.c_fixed[:, j] + unit[:, 0], np.inf)[None, :]
        got = assign_min_cost(cost, np.ones(K + 1, np.int64), np.array([np.inf]))
        return np.array([int(got[0])], np.int64)
    ship_node = np.flatnonzero(avail.any(axis=1))
    sl_ship_l, sl_line_l = [], []
    for s, k in enumerate(ship_node.tolist()):
        for p in np.flatnonzero(avail[k]).tolist():
            sl_ship_l.append(s)
            sl_line_l.append(p)
    sl_ship, sl_line = np.array(sl_ship_l, np.int64), np.array(sl_line_l, np.int64)
    sl_node = ship_node[sl_ship]
    sl_key = sl_node * len(items) + sl_line  # one stock key per (FC, line)
    stock_left = np.where(avail, 1, 0).ravel().astype(np.int64)
    rows = SplitRows(
        line_order=np.zeros(len(items), np.int64),
        ship_order=np.zeros(ship_node.size, np.int64),
        ship_node=ship_node,
        ship_cost=inst.c_fixed[ship_node, j],
        sl_ship=sl_ship,
        sl_line=sl_line,
        sl_cost=unit[sl_node, sl_line],
        sl_key=sl_key,
        sl_qty=np.ones(sl_ship.size, np.int64),
        split_cost=0.0,
    )
    f = np.zeros(0)
    res = solve_split(
        1,
        _EMPTY,
        _EMPTY,
        f,
        np.zeros(0, bool),
        np.array([np.inf]),
        np.ones(K + 1, np.int64),
        _EMPTY,
        _EMPTY,
        _EMPTY,
        stock_left,
        rows,
        rows.ship_cost,
        rows.sl_cost,
        max_deterministic_time=10.0,
        max_shipments=K + 1,
    )
    if res is None or (res.line_ship < 0).any():
        raise RuntimeError(f"mip did not route an order of items {items} (CP-SAT unproven)")
    return np.asarray(ship_node[res.line_ship], np.int64)


def run(
    policy: str,
    inst: Instance,
    q: np.ndarray,
    j: np.ndarray,
    *,
    lp: LPResult | None = None,
    rng: np.random.Generator | None = None,
    memo: dict[tuple[int, int, bytes], np.ndarray] | None = None,
) -> float:
    """Total cost of routing the arrivals (q, j) one at a time with `policy` (see POLICIES). ``memo`` keeps
    the mip answers between sequences of one instance and policy (pass a fresh dict per (instance, policy))."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    K = inst.n_fcs
    left = inst.stock.copy()
    total = 0.0
    order_of_fc = np.argsort(inst.miles, axis=0)  # (K, J) FCs by distance per region
    choose: Callable[[int, tuple[int, ...], int], np.ndarray]
    if policy in ("mip", "mip_bid"):
        if policy == "mip_bid" and lp is None:
            raise ValueError("mip_bid needs the DLP (lp=...)")
        bid = lp.bid if policy == "mip_bid" and lp is not None else None
        memo = {} if memo is None else memo

        def choose(qt: int, items: tuple[int, ...], r: int) -> np.ndarray:
            key = (qt, r, (left[:, list(items)] > 0).tobytes())
            got = memo.get(key)
            if got is None:
                got = memo[key] = _mip_order(inst, items, r, left, bid)
            return got
    elif policy == "myopic":

        def choose(qt: int, items: tuple[int, ...], r: int) -> np.ndarray:
            fc = inst.closest[list(items), r].copy()
            ok = fc < K
            ok[ok] = left[fc[ok], np.array(items)[ok]] > 0
            fc[~ok] = K
            return fc
    elif policy == "nearest":

        def choose(qt: int, items: tuple[int, ...], r: int) -> np.ndarray:
            has = left[order_of_fc[:, r]][:, list(items)] > 0  # (K, n) in distance order
            first = np.argmax(has, axis=0)
            return np.where(has.any(axis=0), order_of_fc[first, r], K)
    else:  # dilated
        if lp is None or rng is None:
            raise ValueError("dilated needs the DLP (lp=...) and a generator (rng=...)")
        share = lp.share

        def choose(qt: int, items: tuple[int, ...], r: int) -> np.ndarray:
            u = share[qt, r, : len(items)]  # (n, K + 1)
            e = rng.exponential(size=K + 1)
            with np.errstate(divide="ignore"):
                t = np.where(u > 0, e[None, :] / np.where(u > 0, u, 1.0), np.inf)
            fc = np.argmin(t, axis=1)
            ok = fc < K
            ok[ok] = left[fc[ok], np.array(items)[ok]] > 0
            return np.where(ok, fc, K)

    for q_now, r in zip(q.tolist(), j.tolist(), strict=True):
        items = inst.types[q_now]
        if not items:
            continue
        fc = choose(q_now, items, r)
        take = fc < K
        left[fc[take], np.array(items)[take]] -= 1
        total += order_cost(inst, r, fc)
    if (left < 0).any():
        raise RuntimeError("a policy used stock it did not have")
    return total
