"""Integer costs and input checks shared by the OR-Tools routers (``flow``, ``mip``, ``split``).

OR-Tools' min-cost flow and CP-SAT take integer costs: a CNY cost c becomes round(c x 2S) with the
documented scale S = ``COST_SCALE`` (the ``assign_min_cost`` contract, DESIGN.md section 6), shifted
per order so the spread stays inside the solver's integer range (see ``sim.routing.flow``'s docstring).
"""

from __future__ import annotations

import numpy as np

COST_SCALE = 10**6  # S: the contract's integer scale; arc costs are rounded to multiples of 1/(2S) CNY
UNITS_PER_CNY = 2 * COST_SCALE
INT_BUDGET = 2**62  # max |integer cost| * (graph nodes + 1) must stay below this (OR-Tools' cost range check)


def integer_costs(
    o_idx: np.ndarray, c: np.ndarray, u: np.ndarray, n_graph: int
) -> tuple[np.ndarray, np.ndarray]:
    """Integer option costs and unassigned costs per order, shifted per order (see the module docstring)."""
    m = u.size
    must = ~np.isfinite(u)
    base = np.where(must, np.inf, u)
    np.minimum.at(base, o_idx, np.where(must[o_idx], c, np.inf))
    rel = (c - base[o_idx]) * UNITS_PER_CNY  # <= 0 for normal orders, >= 0 for must-serve ones
    limit = INT_BUDGET // (n_graph + 1)
    if rel.size and float(np.abs(rel).max()) > limit:
        too_wide(float(np.abs(rel).max()), limit)
    q = np.rint(rel).astype(np.int64)
    lo = np.zeros(m, np.int64)
    np.minimum.at(lo, o_idx, q)
    hi = np.zeros(m, np.int64)
    np.maximum.at(hi, o_idx, q)
    # M beats any difference in the other arcs' total; capped at what the solver represents (module docstring)
    big_m = min(int((hi - lo).sum()) + 1, limit) if must.any() else 0
    return q, np.where(must, big_m, 0).astype(np.int64)


def first_choice(o_idx: np.ndarray, q: np.ndarray, q_un: np.ndarray) -> np.ndarray:
    """Each order's cheapest option (lowest row on ties), or -1 if staying unassigned is no dearer."""
    order = np.lexsort((np.arange(q.size), q, o_idx))
    lead = order[np.r_[True, o_idx[order][1:] != o_idx[order][:-1]]]
    first = np.full(q_un.size, -1, np.int64)
    better = q[lead] < q_un[o_idx[lead]]
    first[o_idx[lead][better]] = lead[better]
    return first


def too_wide(spread: float, limit: int) -> None:
    raise ValueError(
        f"costs within one order differ by up to {spread / UNITS_PER_CNY:.3g} CNY, beyond what "
        f"the integer scale S={COST_SCALE} can represent here ({limit / UNITS_PER_CNY:.3g} CNY); "
        "use numpy.inf for infeasible options or unassigned orders that must be served"
    )


def as_capacity(capacity: np.ndarray, n: int, name: str) -> np.ndarray:
    a = np.asarray(capacity)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one entry per node), got {a.shape}")
    if a.dtype.kind == "f":
        if np.isnan(a).any():
            raise ValueError(f"{name} contains NaN")
        if (a < 0).any():
            raise ValueError(
                f"{name} must be >= 0, got {a[a < 0][0]} at node {int(np.flatnonzero(a < 0)[0])}"
            )
        if (np.isfinite(a) & (a != np.floor(a))).any():
            raise ValueError(f"{name} must be whole numbers of orders")
        a = np.minimum(a, np.iinfo(np.int64).max // 4)
    elif a.dtype.kind not in "iub":
        raise ValueError(f"{name} must be an integer array, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if (a < 0).any():
        raise ValueError(f"{name} must be >= 0, got {a[a < 0][0]} at node {int(np.flatnonzero(a < 0)[0])}")
    return a


def as_unassigned(unassigned_cost: np.ndarray, n: int) -> np.ndarray:
    u = np.asarray(unassigned_cost, dtype=float)
    if u.shape != (n,):
        raise ValueError(f"unassigned_cost must have shape ({n},) (one entry per order), got {u.shape}")
    if np.isnan(u).any():
        raise ValueError(f"unassigned_cost contains NaN at order {int(np.flatnonzero(np.isnan(u))[0])}")
    if np.isneginf(u).any():
        raise ValueError("unassigned_cost contains -inf; use a finite cost or +inf (must serve)")
    return u
