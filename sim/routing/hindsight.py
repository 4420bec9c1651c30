"""The hindsight bound: a linear relaxation of routing a whole measured period with everything known.

Every order, every option it could be served by and every unit of stock that will be at a node over the
period are known in advance; the LP chooses, for each order, a fractional mix of its options and of
being lost::

    minimise  Σ_k c_k x_k + Σ_i L_i z_i
    s.t.      Σ_{k of i} x_k + z_i = 1            every order: served by its options, or lost (its lost-sale cost)
              Σ_k q_{k,r} x_k ≤ cap_r             every node x SKU: units the options take ≤ units available
              x, z ≥ 0

``c_k`` is the option's money cost in the routers' own cost model (handling + transport estimates; an
offer of a slower tier p·cost + (1 − p)·L_i, as ``sim.engine.routing_step`` prices it), ``q_{k,r}`` the
units of every line the option takes. What makes it a lower bound on a router's cost *in that model*:
the router's decisions are one feasible 0/1 point of it, as long as (a) each decision it made is
among the options with a cost no higher than the one it paid, and (b) the units its orders took from a
node x SKU are at most ``cap_r``. ``sim.experiments.hindsight`` builds the options and capacities from
the runs being compared so that both hold for each of them (the union of their candidates at the
lowest cost any run saw, and the units available over the period in any of them). A resource row is any
such limit: ``sim.experiments.hindsight`` builds stock rows nested by replenishment arrival (a unit
arriving at 18:00 serves only orders routed after it) and, optionally, node x hour rows (a node's orders
per creation hour at most the most any compared run sent it). Constraints dropped (each drop only lowers
the bound): per-epoch node capacity as the engine has it (pickers, riders within the quote, van waves,
NDC outbound; the node x hour rows stand in for it), queueing feedback on lateness and the quote, rider
batching interactions, counter sales, substitution, integrality, and the rule that an offer is made only
when no option at the requested tier exists.

Solved by HiGHS (``scipy.optimize.linprog``); ``brute_force`` enumerates the integer problem (tiny cases).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix


@dataclass(frozen=True)
class Problem:
    """Orders 0..n-1 with options (rows grouped by nothing in particular) and stock uses."""

    n_orders: int
    opt_order: np.ndarray  # (K,) int
    opt_cost: np.ndarray  # (K,) CNY
    lost_cost: np.ndarray  # (n,) CNY of an order not served
    use_option: np.ndarray  # (R,) option row
    use_res: np.ndarray  # (R,) resource (node x SKU) index
    use_qty: np.ndarray  # (R,) units
    res_cap: np.ndarray  # (M,) units available over the period

    def check(self) -> None:
        k = self.opt_order.size
        if not (self.opt_cost.shape == (k,) and self.lost_cost.shape == (self.n_orders,)):
            raise ValueError("option and order arrays disagree in length")
        if not (self.use_option.shape == self.use_res.shape == self.use_qty.shape):
            raise ValueError("stock-use arrays disagree in length")
        if np.isnan(self.opt_cost).any() or np.isnan(self.lost_cost).any() or np.isinf(self.lost_cost).any():
            raise ValueError("costs must be finite numbers (an order can always be lost)")


@dataclass(frozen=True)
class Bound:
    value: float  # the LP optimum, CNY
    x: np.ndarray  # (K,) fractional option use
    lost: np.ndarray  # (n,) fractional lost share
    bid: np.ndarray  # (M,) shadow price of a unit of each resource (>= 0)


def hindsight_lp(p: Problem) -> Bound:
    """The LP of the module docstring (HiGHS)."""
    p.check()
    keep = np.isfinite(p.opt_cost)
    opts = np.flatnonzero(keep)
    K, n, M = opts.size, p.n_orders, p.res_cap.size
    local = np.full(p.opt_order.size, -1, np.int64)
    local[opts] = np.arange(K)
    c = np.concatenate([p.opt_cost[opts], p.lost_cost])
    rows = np.concatenate([p.opt_order[opts], np.arange(n)])
    a_eq = coo_matrix((np.ones(K + n), (rows, np.arange(K + n))), shape=(n, K + n)).tocsr()
    m = (local[p.use_option] >= 0) & np.isfinite(p.res_cap[p.use_res])
    a_ub = coo_matrix(
        (p.use_qty[m].astype(float), (p.use_res[m], local[p.use_option[m]])), shape=(M, K + n)
    ).tocsr()
    cap = np.where(np.isfinite(p.res_cap), p.res_cap, 0.0).astype(float)
    used = np.bincount(p.use_res[m], minlength=M) > 0
    res = linprog(
        c,
        A_ub=a_ub[used] if used.any() else None,
        b_ub=cap[used] if used.any() else None,
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(f"hindsight LP not solved: {res.message}")
    x = np.zeros(p.opt_order.size)
    x[opts] = res.x[:K]
    bid = np.zeros(M)
    if used.any():
        bid[used] = np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)
    return Bound(float(res.fun), x, res.x[K:], bid)


def brute_force(p: Problem) -> float:
    """The integer optimum by enumeration (each order: one of its options or lost); tiny problems only."""
    p.check()
    by_order: list[list[int]] = [[] for _ in range(p.n_orders)]
    for k in np.flatnonzero(np.isfinite(p.opt_cost)).tolist():
        by_order[int(p.opt_order[k])].append(k)
    use = np.zeros((p.opt_order.size, p.res_cap.size))
    np.add.at(use, (p.use_option, p.use_res), p.use_qty)
    best = np.inf
    for pick in itertools.product(*[[-1, *ks] for ks in by_order]):
        chosen = [k for k in pick if k >= 0]
        if chosen and (use[chosen].sum(axis=0) > p.res_cap + 1e-9).any():
            continue
        cost = sum(float(p.opt_cost[k]) for k in chosen) + sum(
            float(p.lost_cost[i]) for i, k in enumerate(pick) if k < 0
        )
        best = min(best, cost)
    return float(best)


def decision_cost(p: Problem, choice: np.ndarray) -> float:
    """Cost of an integer decision (option row per order, -1 lost) in the problem's cost model."""
    choice = np.asarray(choice, np.int64)
    got = choice >= 0
    return float(p.opt_cost[choice[got]].sum() + p.lost_cost[~got].sum())
