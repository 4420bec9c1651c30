"""``cost_optimal(services=[0.5,0.75,0.9,0.95,0.99], dist="poisson", cv=None, holding_weight=1.0,
candidates_per_slot=2.0, solver="auto", max_deterministic_time=0.5, core=200, gap=1e-3)``.

Which SKUs sit at which FDC/store, and how many: per forward node, choose at most one candidate
level per SKU (0, 1 and the base-stock quantiles of demand over the cover at `services`) under the
node's slot and volume capacity, maximising the expected money saved per review period R:

    value(n, s, k) = delta(n, s) x sold(k) - holding_weight x hold(k) - value_s x spoiled(k)
                     - transfer(n, s) x (sold(k) + spoiled(k))

- sold(k) = mu_R - (E[(D_{R+L} - k)^+] - E[(D_L - k)^+]): units served from the node per review
  (demand mean mu = forecast x days; Poisson or negative binomial, as in ``base_stock``);
- delta(n, s): the cost-model money one unit of the node's own-tier demand saves when it is served
  from n rather than displaced. Every figure comes from the scenario (``sim.policies.costs``):
  a line of s carries q = ``qty_per_line`` units, so a missing unit displaces 1/q orders, and the
  whole order moves (a node serves an order only with all its lines). A displaced order costs
  what the router would pay for it,

      F(n, s) = min(L, min_j [a_j x c_j + (1 - a_j) x L]),  j over n's slower offers eligible for s,
      L = margin_rate x q x (value_s + other_lines x vbar_n) + goodwill,

  with c_j the offer's cost and a_j its ``tiers.downgrade_acceptance`` (store: mid at its FDC, far
  at the NDC; FDC: far), an offer only where s may take that tier (``catalog`` tiers: fresh never
  goes far, so a missing fresh unit at an FDC is a lost sale), and L the lost-sale cost the engine
  charges on the *order's* value: s's own line plus ``other_lines`` = E[L^2] / E[L] - 1 other lines
  (size-biased line count of the basket) of the node's mean unit value vbar_n (forecast-weighted).
  Then delta = (F - serve_n) / q, with serve_n the variable cost at the node's own tier (store:
  picking + rider; FDC: picking + van stop and tour share; the engine's learned realised transport
  when it has one); 0 for a SKU the node's tier may not serve. (The first version used the unit's
  own value for L and ignored tier eligibility: it valued a store unit at ~half its cost-model
  worth and an FDC unit below zero, so it under-stocked the FDC, whose fresh stock then spoiled
  unsold at the NDC.) Approximations: the other lines are taken as available (at high fill rates
  the order's fate hangs on s alone) and a zone's second covering store is ignored;
- hold(k) = holding_per_day x value_s x R x (k - sold/2): the average position (on hand + pipeline,
  as the engine charges) falls from k by the review's sales;
- spoiled(k) = (k - E[min(D_T, k)]) x min(R / T, 1) for a shelf life of T days: what the stock outlives;
- transfer(n, s) = per-unit handling + truck fixed cost per litre x unit volume, along the supply
  path (so store stock also pays the NDC -> FDC leg).
Fixed node costs do not depend on the choice and are left out.

The problem separates per node: stores are solved first, then each FDC keeps its stores' levels
(echelon stock, as ``with_downstream``) and chooses its own mid-tier stock in the slots and volume
left. Each node is a multiple-choice knapsack (``knapsack``): solved exactly by sorting when volume
does not bind; else a Lagrangian start (certified within `gap` of the optimum by its bound, or
improved by CP-SAT — one worker, deterministic time limit — on the `core` least clear-cut SKUs),
with a greedy-by-ratio fallback also kept when it scores better: never worse than greedy, never a
crash (``solver="greedy"`` uses the greedy alone, a baseline). Candidates per
node are capped at ``candidates_per_slot x slots`` SKUs by forecast.

``holding_weight`` (default 1: the scenario's true holding rate) multiplies the holding term only:
the price of capital tied up in forward stock. It is the Lagrange multiplier of a budget on the
average forward position value, so for an exact per-node solution the value held never rises when
it rises (exchange argument: if x1 is optimal at w1 and x2 at w2 > w1, adding the two optimality
inequalities gives (w2 - w1)(hold(x1) - hold(x2)) >= 0). It is the forward-inventory knob for
equal-inventory comparisons (``sim.experiments.match``): ~0 holds up to the top service
candidate, ~10-100 trims the slow movers, ~1e3+ holds only the fastest.
``last_stats`` records the methods used and wall seconds spent (for reports, never for decisions).
"""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np

from sim.policies.base import (
    PolicyContext,
    PolicyCosts,
    check_choice,
    check_number,
    fit_capacity,
    register_policy,
    with_downstream,
)
from sim.policies.base_stock import demand_model
from sim.policies.costs import default_costs
from sim.policies.knapsack import METHODS, Items, solve
from sim.policies.stock_math import DISTS, DemandModel
from sim.units import DAY
from sim.vocab import TIER_OF_KIND, NodeKind

DEFAULT_SERVICES = (0.5, 0.75, 0.9, 0.95, 0.99)


def unit_saving(
    costs: PolicyCosts, n: int, value_cny: np.ndarray, mean_value_cny: float = 0.0, tier: int = -1
) -> np.ndarray:
    """(S,) CNY saved per unit of node n's own-tier demand served from n (see the module docstring).

    `mean_value_cny` is the unit value of the node's demand mix (the other lines of an order), `tier`
    the node's own tier (0 near, 1 mid; -1: eligibility not checked).
    """
    q = max(costs.qty_per_line, 1e-9)
    lost = (
        costs.lost_margin_rate * q * (value_cny + costs.other_lines * mean_value_cny)
        + costs.lost_goodwill_cny
    )
    fb = lost.copy()  # the router may leave an order unassigned at its lost-sale cost
    elig = costs.tier_eligible
    for j in range(costs.fallback_cny.shape[1]):
        c, a = float(costs.fallback_cny[n, j]), float(costs.fallback_accept[n, j])
        if not (np.isfinite(c) and a > 0):
            continue
        t = -1 if costs.fallback_tier is None else int(costs.fallback_tier[n, j])
        ok = elig[:, t] if elig is not None and t >= 0 else True
        fb = np.where(ok, np.minimum(fb, a * c + (1.0 - a) * lost), fb)
    saving = (fb - float(costs.serve_cny[n])) / q
    if elig is not None and tier >= 0:
        saving = np.where(elig[:, tier], saving, 0.0)
    return saving


def mean_unit_value(forecast: np.ndarray, value_cny: np.ndarray, popularity: np.ndarray) -> float:
    """Unit value of a node's demand mix (forecast-weighted; the catalog's popularity when it has none)."""
    f = np.maximum(np.asarray(forecast, float), 0.0)
    w = f if f.sum() > 0 else np.asarray(popularity, float)
    return float((w * value_cny).sum() / max(w.sum(), 1e-12))


def item_values(
    model: DemandModel,
    costs: PolicyCosts,
    n: int,
    f: np.ndarray,
    skus: np.ndarray,
    levels: np.ndarray,
    review_days: float,
    lead_days: float,
    value_cny: np.ndarray,
    volume_l: np.ndarray,
    holding_weight: float,
    saving: np.ndarray | None = None,
) -> np.ndarray:
    """Value per review period of stocking `levels` (I,) of `skus` (I,) with forecast `f` (I,) at node n."""
    k = levels.astype(float)
    mu_r, mu_l = f * review_days, f * lead_days
    sold = np.maximum(mu_r - (model.loss(k, mu_r + mu_l) - model.loss(k, mu_l)), 0.0)
    v = value_cny[skus]
    hold = costs.holding_per_day * v * review_days * np.maximum(k - sold / 2.0, 0.0)
    life = costs.shelf_life_days[skus]
    spoiled = np.zeros_like(k)
    per = np.isfinite(life) & (life > 0)
    if per.any():
        t = life[per]
        spoiled[per] = (k[per] - model.sales(k[per], f[per] * t)) * np.minimum(review_days / t, 1.0)
    transfer = costs.transfer_unit_cny[n] + costs.transfer_litre_cny[n] * volume_l[skus]
    delta = (unit_saving(costs, n, value_cny) if saving is None else saving)[skus]
    return cast(np.ndarray, delta * sold - holding_weight * hold - v * spoiled - transfer * (sold + spoiled))


@register_policy("cost_optimal")
class CostOptimal:
    """Per-node stocking MIP maximising saved fulfilment cost (see the module docstring)."""

    name = "cost_optimal"

    def __init__(
        self,
        services: list[float] | tuple[float, ...] = DEFAULT_SERVICES,
        dist: str = "poisson",
        cv: float | None = None,
        holding_weight: float = 1.0,
        candidates_per_slot: float = 2.0,
        solver: str = "auto",
        max_deterministic_time: float = 0.5,
        core: int = 200,
        gap: float = 1e-3,
        normal_above: float = 500.0,
    ) -> None:
        if isinstance(services, (int, float)):
            services = [services]
        if not isinstance(services, (list, tuple)) or not services:
            raise ValueError(
                f"policy {self.name}: services must be a non-empty list of numbers in (0, 1), got {services!r}"
            )
        self.services = tuple(
            sorted(
                {check_number(self.name, "services", q, 0, 1, open_lo=True, open_hi=True) for q in services}
            )
        )
        self.dist = check_choice(self.name, "dist", dist, DISTS)
        self.cv = None if cv is None else check_number(self.name, "cv", cv, 0.0, 10.0)
        self.holding_weight = check_number(self.name, "holding_weight", holding_weight, 0.0, 1e6)
        self.candidates_per_slot = check_number(
            self.name, "candidates_per_slot", candidates_per_slot, 1.0, 1e6
        )
        self.solver = check_choice(self.name, "solver", solver, METHODS)
        self.max_deterministic_time = check_number(
            self.name, "max_deterministic_time", max_deterministic_time, 0.0, 1e6, open_lo=True
        )
        self.core = int(check_number(self.name, "core", core, 1, 1e7))
        self.gap = check_number(self.name, "gap", gap, 0.0, 1.0)
        self.normal_above = check_number(self.name, "normal_above", normal_above, 0.0, np.inf, open_lo=True)
        self.last_stats: dict[str, Any] = {}

    def node_items(
        self,
        ctx: PolicyContext,
        costs: PolicyCosts,
        model: DemandModel,
        n: int,
        slots: float,
        held: np.ndarray | None,
    ) -> Items:
        """Candidate (SKU, level) items with positive value at node n (SKUs in `held` use no new slot)."""
        f_all = np.maximum(np.asarray(ctx.forecast[n], float), 0.0)
        cand = np.flatnonzero(f_all > 0)
        cap = int(np.ceil(self.candidates_per_slot * max(slots, 0)))
        if held is not None:
            cap += int(held.sum())
        if cand.size > cap:
            cand = cand[np.argsort(-f_all[cand], kind="stable")[:cap]]
            cand.sort()
        if cand.size == 0:
            return Items(*(np.empty(0, t) for t in (np.int64, np.int64, float, float, float)))
        value_cny = np.asarray(ctx.value_cny, float)
        saving = unit_saving(
            costs,
            n,
            value_cny,
            mean_unit_value(f_all, value_cny, ctx.popularity),
            tier=int(TIER_OF_KIND[ctx.node_kind[n]]),
        )
        cand = cand[saving[cand] > 0]
        review, lead = ctx.review_days, float(ctx.lead_s[n]) / DAY
        f = f_all[cand]
        cols = [np.ones(cand.size, np.int64)] + [model.ppf(q, f * (review + lead)) for q in self.services]
        lv = np.sort(np.stack(cols, axis=1), axis=1)
        ok = lv > 0
        ok[:, 1:] &= lv[:, 1:] != lv[:, :-1]
        row, col = np.nonzero(ok)
        skus, levels = cand[row], lv[row, col]
        value = item_values(
            model,
            costs,
            n,
            f[row],
            skus,
            levels,
            review,
            lead,
            value_cny,
            np.asarray(ctx.volume_l, float),
            self.holding_weight,
            saving,
        )
        keep = value > 1e-12
        skus, levels, value = skus[keep], levels[keep], value[keep]
        slot = np.ones(skus.size) if held is None else np.where(held[skus], 0.0, 1.0)
        return Items(skus, levels, value, slot, levels * np.asarray(ctx.volume_l, float)[skus])

    def targets(self, ctx: PolicyContext) -> np.ndarray:
        kind = np.asarray(ctx.node_kind)
        costs = (
            ctx.costs
            if ctx.costs is not None
            else default_costs(kind, np.asarray(ctx.supplier), ctx.forecast.shape[1])
        )
        model = demand_model(self.dist, self.cv, self.normal_above, ctx)
        own = np.zeros(np.shape(ctx.forecast), np.int64)
        vol = np.asarray(ctx.volume_l, float)
        methods: dict[str, int] = {}
        t_total, t_max, n_items, obj = 0.0, 0.0, 0, 0.0
        down = np.zeros_like(own)
        for stage in (2, 1):  # stores first, then FDCs with their stores' stock reserved
            if stage == 1:
                stores = np.flatnonzero((kind == NodeKind.STORE) & (np.asarray(ctx.supplier) >= 0))
                fed = stores[kind[ctx.supplier[stores]] == 1]
                np.add.at(down, ctx.supplier[fed], own[fed])
            for n in np.flatnonzero(kind == stage).tolist():
                t0 = time.perf_counter()
                held = down[n] > 0 if stage == 1 else None
                slots = float(ctx.slots[n]) - (float(held.sum()) if held is not None else 0.0)
                vol_l = float(ctx.volume_m3[n]) * 1000.0 - float((down[n] * vol).sum())
                items = self.node_items(ctx, costs, model, n, max(slots, 0.0), held)
                sol = solve(
                    items,
                    max(slots, 0.0),
                    max(vol_l, 0.0),
                    method=self.solver,
                    core=self.core,
                    gap=self.gap,
                    max_deterministic_time=self.max_deterministic_time,
                )
                own[n, items.group[sol.chosen]] = items.level[sol.chosen]
                dt = time.perf_counter() - t0
                methods[sol.method] = methods.get(sol.method, 0) + 1
                t_total, t_max, n_items, obj = (
                    t_total + dt,
                    max(t_max, dt),
                    n_items + items.size,
                    obj + sol.objective,
                )
        self.last_stats = {
            "methods": methods,
            "wall_s": t_total,
            "max_node_wall_s": t_max,
            "items": n_items,
            "objective_cny": obj,
        }
        return with_downstream(fit_capacity(own, ctx), ctx)
