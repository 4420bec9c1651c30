"""One node's stocking problem: a multiple-choice knapsack with a slot and a volume constraint.

Items are (SKU, level) candidates with a value (CNY per review period), a slot weight (1, or 0
when the SKU already holds a slot) and a volume. Choose at most one item per SKU, at most `slots`
slot weight and at most `volume_l` litres, maximising the total value. Solved by
1. ``exact`` — when the best item of each SKU, ranked by value, fills the slots within the volume,
   that choice is optimal (the slot constraint alone separates by SKU), no solver needed;
2. ``cp_sat`` — otherwise: a Lagrangian start (multipliers on slots and volume found by bisection;
   each SKU takes its item of largest value - multipliers x resources; then `greedy` fills what is
   left), then OR-Tools CP-SAT (one worker, fixed seed, deterministic time limit, presolve off,
   hinted with the start) on a *core* of the `core` SKUs whose Lagrangian choice is least clear-cut
   (smallest margin between their best and second-best adjusted item), the others fixed to the
   start — the classic core approach to large knapsacks; with fewer SKUs than `core` the whole
   problem is solved exactly. When the start is certified within `gap` (relative) of the
   Lagrangian upper bound the solver is skipped (``lagrange``). Values are scaled to integers and volumes rounded *up* to millilitres
   (every solution is feasible); the start is kept if the solver does not beat it;
3. ``greedy`` — the baseline, and the fallback when the solver fails: items by value per unit of
   normalised resource, value / (slot / slots + litres / volume), taking an item when its SKU is
   free or when it improves the SKU's current item and fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

METHODS = ("auto", "cp_sat", "greedy")
VALUE_SCALE = 1e7  # the largest item value becomes this many integer units


@dataclass(frozen=True)
class Items:
    group: np.ndarray  # (I,) SKU of each item (items of a SKU are contiguous)
    level: np.ndarray  # (I,) units
    value: np.ndarray  # (I,) CNY, > 0
    slot: np.ndarray  # (I,) 0 or 1
    volume: np.ndarray  # (I,) litres

    @property
    def size(self) -> int:
        return int(self.group.size)


@dataclass(frozen=True)
class Solution:
    chosen: np.ndarray  # (I,) bool
    objective: float
    method: str  # exact, lagrange, cp_sat, greedy, greedy_fallback


def objective(items: Items, chosen: np.ndarray) -> float:
    return float(items.value[chosen].sum())


def feasible(items: Items, chosen: np.ndarray, slots: float, volume_l: float) -> bool:
    one_each = np.bincount(items.group[chosen]).max(initial=0) <= 1
    return bool(
        one_each
        and items.slot[chosen].sum() <= slots + 1e-9
        and items.volume[chosen].sum() <= volume_l * (1 + 1e-12) + 1e-9
    )


def best_per_group(items: Items) -> np.ndarray:
    """(I,) bool: the highest-value item of each SKU (ties: the earlier, i.e. lower, level)."""
    order = np.lexsort((np.arange(items.size), -items.value, items.group))
    g = items.group[order]
    first = np.ones(g.size, bool)
    first[1:] = g[1:] != g[:-1]
    out = np.zeros(items.size, bool)
    out[order[first]] = True
    return out


def exact_if_slack(items: Items, slots: float, volume_l: float) -> np.ndarray | None:
    """The optimum when volume does not bind (see the module docstring, 1), else None."""
    best = np.flatnonzero(best_per_group(items))
    free = best[items.slot[best] == 0]
    paid = best[items.slot[best] > 0]
    paid = paid[np.argsort(-items.value[paid], kind="stable")][: max(int(slots), 0)]
    chosen = np.zeros(items.size, bool)
    chosen[free] = True
    chosen[paid] = True
    return chosen if items.volume[chosen].sum() <= volume_l else None


def greedy(items: Items, slots: float, volume_l: float, start: np.ndarray | None = None) -> np.ndarray:
    """Greedy by value per normalised resource with upgrades (module docstring, 3), from `start`."""
    use = items.slot / max(slots, 1e-9) + items.volume / max(volume_l, 1e-9)
    ratio = items.value / np.maximum(use, 1e-12)
    order = np.lexsort((np.arange(items.size), -ratio))
    chosen = np.zeros(items.size, bool) if start is None else start.copy()
    current = {int(items.group[i]): int(i) for i in np.flatnonzero(chosen)}
    slot_left = float(slots) - float(items.slot[chosen].sum())
    vol_left = float(volume_l) - float(items.volume[chosen].sum())
    for i in order.tolist():
        g = int(items.group[i])
        j = current.get(g)
        if j is None:
            ds, dv = items.slot[i], items.volume[i]
        elif items.value[i] > items.value[j]:
            ds, dv = items.slot[i] - items.slot[j], items.volume[i] - items.volume[j]
        else:
            continue
        if ds <= slot_left + 1e-9 and dv <= vol_left + 1e-9:
            if j is not None:
                chosen[j] = False
            chosen[i] = True
            current[g] = i
            slot_left -= ds
            vol_left -= dv
    return chosen


def _starts(items: Items) -> np.ndarray:
    return cast(np.ndarray, np.r_[0, np.flatnonzero(np.diff(items.group)) + 1])


def _pick(
    items: Items, starts: np.ndarray, gi: np.ndarray, ls: float, lv: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Each SKU's item of largest adjusted value value - ls slot - lv volume if positive, each SKU's
    margin, and the sum of the positive adjusted values (the Lagrangian bound less the multipliers' term)."""
    adj = items.value - ls * items.slot - lv * items.volume
    best = np.maximum.reduceat(adj, starts)
    first = np.flatnonzero(adj >= best[gi])
    first = first[np.r_[True, gi[first][1:] != gi[first][:-1]]]
    chosen = np.zeros(items.size, bool)
    chosen[first[best[gi[first]] > 0]] = True
    is_first = np.zeros(items.size, bool)
    is_first[first] = True
    second = np.maximum.reduceat(np.where(is_first, -np.inf, adj), starts)
    margin = np.abs(best - np.maximum(second, 0.0))  # against the next item, or against "none"
    margin = np.minimum(margin, np.abs(best))
    return chosen, margin, float(np.maximum(best, 0.0).sum())


def lagrange(
    items: Items, slots: float, volume_l: float, iters: int = 40
) -> tuple[np.ndarray, np.ndarray, float]:
    """A feasible start from Lagrange multipliers on slots and volume (bisection), each SKU's margin,
    and the Lagrangian upper bound of the optimum at the final multipliers."""
    starts = _starts(items)
    gi = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, items.size]))
    Pick = tuple[np.ndarray, np.ndarray, float, float]  # chosen, margin, bound, multiplier

    def fits(ch: np.ndarray) -> tuple[bool, bool]:
        return items.slot[ch].sum() <= slots + 1e-9, items.volume[ch].sum() <= volume_l + 1e-9

    def inner(ls: float) -> Pick:
        ch, mg, b = _pick(items, starts, gi, ls, 0.0)
        if fits(ch)[1]:
            return ch, mg, b + ls * slots, 0.0
        lo, hi = 0.0, float((items.value / np.maximum(items.volume, 1e-12)).max())
        ch, mg, b = _pick(items, starts, gi, ls, hi)
        best = (ch, mg, b + ls * slots + hi * volume_l, hi)
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            ch, mg, b = _pick(items, starts, gi, ls, mid)
            if fits(ch)[1]:
                hi, best = mid, (ch, mg, b + ls * slots + mid * volume_l, mid)
            else:
                lo = mid
        return best

    res = inner(0.0)
    if not fits(res[0])[0]:
        lo, hi = 0.0, float(items.value.max())
        res = inner(hi)
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            cand = inner(mid)
            if fits(cand[0])[0]:
                hi, res = mid, cand
            else:
                lo = mid
    return res[0], res[1], res[2]


def cp_sat(
    items: Items,
    slots: float,
    volume_l: float,
    hint: np.ndarray,
    max_deterministic_time: float,
    presolve: bool = False,
) -> np.ndarray | None:
    """CP-SAT (module docstring, 2); None when it stops without a solution."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    n = items.size
    x = [m.new_bool_var(f"x{i}") for i in range(n)]
    bounds = np.flatnonzero(np.diff(items.group)) + 1
    for lo, hi in zip(np.r_[0, bounds].tolist(), np.r_[bounds, n].tolist(), strict=True):
        if hi - lo > 1:
            m.add_at_most_one(x[lo:hi])
    slot_w = items.slot.astype(np.int64).tolist()
    m.add(cp_model.LinearExpr.weighted_sum(x, slot_w) <= int(np.floor(slots + 1e-9)))
    vol_ml = np.ceil(items.volume * 1000.0 - 1e-6).astype(np.int64)
    if np.isfinite(volume_l):
        m.add(cp_model.LinearExpr.weighted_sum(x, vol_ml.tolist()) <= int(np.floor(volume_l * 1000.0 + 1e-6)))
    scale = VALUE_SCALE / max(float(items.value.max()), 1e-12)
    m.maximize(cp_model.LinearExpr.weighted_sum(x, np.round(items.value * scale).astype(np.int64).tolist()))
    for i, h in enumerate(hint.tolist()):
        m.add_hint(x[i], bool(h))
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = 1
    p.random_seed = 0
    p.max_deterministic_time = float(max_deterministic_time)
    p.log_search_progress = False
    p.cp_model_presolve = presolve
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    vals = np.array([solver.boolean_value(v) for v in x], bool)
    return vals


def solve(
    items: Items,
    slots: float,
    volume_l: float,
    *,
    method: str = "auto",
    max_deterministic_time: float = 1.0,
    core: int = 300,
    gap: float = 1e-4,
) -> Solution:
    """The node's stocking choice (see the module docstring); never raises on a solver failure."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if items.size == 0 or slots <= 0 or volume_l <= 0:
        return Solution(np.zeros(items.size, bool), 0.0, "exact")
    if method == "auto":
        chosen = exact_if_slack(items, slots, volume_l)
        if chosen is not None:
            return Solution(chosen, objective(items, chosen), "exact")
    if method == "greedy":
        g = greedy(items, slots, volume_l)
        return Solution(g, objective(items, g), "greedy")
    try:
        lag, margin, bound = lagrange(items, slots, volume_l)
        start = greedy(items, slots, volume_l, start=lag)
        plain = greedy(items, slots, volume_l)
        if objective(items, plain) > objective(items, start):
            start = plain
    except Exception:  # never stop a run: the plain greedy is always available
        start = greedy(items, slots, volume_l)
        return Solution(start, objective(items, start), "greedy_fallback")
    if bound - objective(items, start) <= gap * max(bound, 1e-12):
        return Solution(start, objective(items, start), "lagrange")  # certified within `gap` of the optimum
    try:
        x = _solve_core(items, slots, volume_l, start, margin, core, max_deterministic_time)
    except Exception:  # a solver failure must never stop a run: fall back to the start
        x = None
    if x is None or not feasible(items, x, slots, volume_l):
        return Solution(start, objective(items, start), "greedy_fallback")
    if objective(items, x) <= objective(items, start):
        return Solution(start, objective(items, start), "lagrange")
    return Solution(x, objective(items, x), "cp_sat")


def _solve_core(
    items: Items,
    slots: float,
    volume_l: float,
    start: np.ndarray,
    margin: np.ndarray,
    core: int,
    max_deterministic_time: float,
) -> np.ndarray | None:
    """CP-SAT on the `core` SKUs of smallest margin; the other SKUs keep their `start` items."""
    groups = np.unique(items.group)
    if groups.size <= core:
        return cp_sat(items, slots, volume_l, start, max_deterministic_time)
    keep = groups[np.lexsort((groups, margin))[:core]]
    free = np.isin(items.group, keep)
    fixed = start & ~free
    sub = Items(items.group[free], items.level[free], items.value[free], items.slot[free], items.volume[free])
    x = cp_sat(
        sub,
        slots - float(items.slot[fixed].sum()),
        volume_l - float(items.volume[fixed].sum()),
        start[free],
        max_deterministic_time,
    )
    if x is None:
        return None
    out = fixed.copy()
    out[np.flatnonzero(free)[x]] = True
    return out
