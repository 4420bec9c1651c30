"""``forecast_push(service=0.95, measure="cycle", dist="poisson", cv=None, horizon_days=3,
min_lift=0.25, rebalance=True, min_lot=50, normal_above=500)`` — 远近场融合: push stock forward
ahead of forecast peaks.

Like ``base_stock`` (same service measure and demand distributions), but a node's target is the
largest base-stock level needed by any cover window that *starts* within the push horizon:

    S(n, s) = max over k = 0..horizon_days of  level(mu_L(n, s) x lift_L(n, k), mu_{R+L}(n, s) x lift_{R+L}(n, k)),

where mu_L and mu_{R+L} are the forecast demand over [d, d + L_n) and [d, d + R + L_n) summed from
the daily forecasts of the coming days (``ctx.forecast_ahead``; fractional days weighted by
overlap), and lift(n, k) is the ratio of the *total* forecast of the node's echelon group (an FDC
and the stores it supplies) over the window starting k days ahead to that over today's window
(with each node's own window lengths). Peaks are detected on group totals because per-cell
forecasts carry independent noise every day: a max over noisy cells — or over one store's total
of a 200-SKU catalog, ~12% noise at 30% WAPE per cell — would push noise, not peaks. Windows
lifted by less than `min_lift` are left to the ordinary reviews (promotions lift demand x1.5-10,
weekday seasonality +-5%). A lift applies to every SKU of the group: a promotion on a few SKUs
only is not detected (their per-cell forecasts cannot be told from noise).
A flat forecast gives exactly the base-stock levels; a peak (a promotion, Double 11) k days ahead
raises the targets of every node that would otherwise meet it short, up to `horizon_days` days
early, so the NDC -> FDC trucks (the longest lead time) move the stock before the peak instead of
during it. FDCs add their stores' (already raised) targets as echelon stock. Without
``forecast_ahead`` the policy sees only today's forecast and equals ``base_stock``.

Re-balancing between FDCs (``transfers``): when an FDC's supplier cannot cover what its FDCs ask
for a SKU (on hand at the supplier < sum of their deficits), FDCs holding more than their target
give the surplus — up to the uncovered need — to the FDCs short of theirs: donors' gifts and
recipients' receipts are rationed in proportion to surplus and to deficit (largest remainder, as
the engine rations) and paired in node order. Lanes moving fewer than `min_lot` units in total are
dropped (a truck for a handful of units costs more than it saves). The targets alone already move
stock towards the FDCs that need it when the supplier is short: the engine rations in proportion
to need, and raised targets are a larger need.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from sim.inventory.replenishment import ration
from sim.policies.base import (
    PolicyCapabilities,
    PolicyContext,
    Transfers,
    check_number,
    fit_capacity,
    register_policy,
    with_downstream,
)
from sim.policies.base_stock import demand_model, levels_for, validated
from sim.units import DAY
from sim.vocab import NodeKind


def overlap(a: np.ndarray, b: np.ndarray, day: int) -> np.ndarray:
    """Length in days of [a, b) within [day, day + 1) (elementwise)."""
    return cast(np.ndarray, np.maximum(np.minimum(b, day + 1.0) - np.maximum(a, float(day)), 0.0))


@register_policy("forecast_push")
class ForecastPush:
    """Base stock over the worst cover window of the push horizon, plus FDC re-balancing."""

    name = "forecast_push"
    capabilities = PolicyCapabilities(transfers=True)

    def __init__(
        self,
        service: float = 0.95,
        measure: str = "cycle",
        dist: str = "poisson",
        cv: float | None = None,
        horizon_days: int = 3,
        min_lift: float = 0.25,
        rebalance: bool = True,
        min_lot: int = 50,
        normal_above: float = 500.0,
    ) -> None:
        self.service, self.measure, self.dist, self.cv, self.normal_above = validated(
            self.name, service, measure, dist, cv, normal_above
        )
        h = check_number(self.name, "horizon_days", horizon_days, 0, 60)
        if h != int(h):
            raise ValueError(
                f"policy {self.name}: horizon_days must be a whole number of days, got {horizon_days!r}"
            )
        self.horizon_days = int(h)
        self.min_lift = check_number(self.name, "min_lift", min_lift, 0.0, 1e6)
        if not isinstance(rebalance, bool):
            raise ValueError(f"policy {self.name}: rebalance must be true or false, got {rebalance!r}")
        self.rebalance = rebalance
        self.min_lot = int(check_number(self.name, "min_lot", min_lot, 0, 1e12))

    def daily(self, ctx: PolicyContext, fwd: np.ndarray, n_days: int) -> list[np.ndarray]:
        """Forecasts (forward rows) for days d .. d + n_days - 1 as known at this review."""
        today = np.maximum(np.asarray(ctx.forecast, float)[fwd], 0.0)
        out = [today]
        for j in range(1, n_days):
            f = (
                today
                if ctx.forecast_ahead is None
                else np.maximum(np.asarray(ctx.forecast_ahead(ctx.day + j), float)[fwd], 0.0)
            )
            out.append(f)
        return out

    @staticmethod
    def groups(ctx: PolicyContext) -> np.ndarray:
        """(N,) echelon group of each node: an FDC with the stores it supplies; stores fed by an NDC by NDC."""
        kind, sup = np.asarray(ctx.node_kind), np.asarray(ctx.supplier)
        out = np.arange(kind.size)
        stores = np.flatnonzero((kind == NodeKind.STORE) & (sup >= 0))
        out[stores] = sup[stores]
        return out

    def raw_levels(self, ctx: PolicyContext) -> np.ndarray:
        """Unconstrained pushed levels of the forward nodes (NDC rows 0)."""
        model = demand_model(self.dist, self.cv, self.normal_above, ctx)
        out = np.zeros(np.shape(ctx.forecast), np.int64)
        fwd = np.flatnonzero(np.asarray(ctx.node_kind) > 0)
        if not fwd.size:
            return out
        R = ctx.review_days
        L = ctx.lead_s[fwd] / DAY
        n_days = self.horizon_days + int(np.ceil(float(np.max(R + L)))) + 1
        days = self.daily(ctx, fwd, n_days)
        grp = self.groups(ctx)[fwd]
        # (days, F): each node's group total (per-cell noise averages out), summed per group and spread back
        tot = np.array(
            [
                np.bincount(grp, weights=f.sum(axis=1), minlength=np.asarray(ctx.node_kind).size)[grp]
                for f in days
            ]
        )

        def window(k: int, length: np.ndarray, cells: bool) -> np.ndarray:
            start = np.full_like(L, float(k))
            w = np.array([overlap(start, k + length, j) for j in range(n_days)])  # (days, F)
            if not cells:
                return cast(np.ndarray, (w * tot).sum(axis=0))
            return sum(
                (w[j][:, None] * days[j] for j in range(n_days) if w[j].any()), np.zeros(days[0].shape)
            )

        mu_l, mu_rl = window(0, L, True), window(0, R + L, True)
        best = levels_for(model, self.service, self.measure, mu_l, mu_rl)
        base_l, base_rl = window(0, L, False), window(0, R + L, False)
        for k in range(1, self.horizon_days + 1):
            lift_rl = np.divide(
                window(k, R + L, False), base_rl, out=np.ones_like(base_rl), where=base_rl > 0
            )
            lift_l = np.divide(window(k, L, False), base_l, out=lift_rl.copy(), where=base_l > 0)
            peak = lift_rl >= 1.0 + self.min_lift
            if peak.any():
                rows = np.flatnonzero(peak)
                lv = levels_for(
                    model,
                    self.service,
                    self.measure,
                    mu_l[rows] * lift_l[rows, None],
                    mu_rl[rows] * lift_rl[rows, None],
                )
                best[rows] = np.maximum(best[rows], lv)
        out[fwd] = best
        return out

    def targets(self, ctx: PolicyContext) -> np.ndarray:
        return with_downstream(fit_capacity(self.raw_levels(ctx), ctx), ctx)

    def transfers(self, ctx: PolicyContext, targets: np.ndarray) -> Transfers:
        """Lateral FDC -> FDC moves when a supplier is short (see the module docstring)."""
        if not self.rebalance:
            return Transfers.empty()
        kind, sup = np.asarray(ctx.node_kind), np.asarray(ctx.supplier)
        on_hand = np.asarray(ctx.on_hand, np.int64)
        pos = on_hand if ctx.position is None else np.asarray(ctx.position, np.int64)
        fdcs = np.flatnonzero((kind == NodeKind.FDC) & (sup >= 0))
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for u in np.unique(sup[fdcs]).tolist():
            group = fdcs[sup[fdcs] == u]
            if group.size < 2:
                continue
            deficit = np.maximum(targets[group] - pos[group], 0)
            uncovered = np.maximum(deficit.sum(axis=0) - np.maximum(on_hand[u], 0), 0)
            surplus = np.maximum(np.minimum(on_hand[group], pos[group]) - targets[group], 0)
            move = np.minimum(uncovered, surplus.sum(axis=0))
            skus = np.flatnonzero(move > 0)
            if not skus.size:
                continue
            G = group.size
            grp = np.tile(np.arange(skus.size), G)
            give = ration(surplus[:, skus].ravel(), move[skus], grp).reshape(G, -1)
            take = ration(deficit[:, skus].ravel(), move[skus], grp).reshape(G, -1)
            ge, te = np.cumsum(give, axis=0), np.cumsum(take, axis=0)
            for i in range(G):
                for j in range(G):
                    if i == j:
                        continue
                    q = np.minimum(ge[i], te[j]) - np.maximum(ge[i] - give[i], te[j] - take[j])
                    m = q > 0
                    if m.any() and int(q[m].sum()) >= self.min_lot:
                        n = int(m.sum())
                        parts.append((np.full(n, group[i]), np.full(n, group[j]), skus[m], q[m]))
        if not parts:
            return Transfers.empty()
        src, dst, sku, qty = (np.concatenate([p[c] for p in parts]).astype(np.int64) for c in range(4))
        return Transfers(src, dst, sku, qty)
