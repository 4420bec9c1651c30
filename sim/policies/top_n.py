"""``top_n(n=200, cover=1.5)``: the n most popular SKUs at every forward node, at equal cover.

Every forward node stocks the catalog's n most popular SKUs (the same list everywhere), each at the
same cover: `cover` times the node's forecast demand for that SKU over its review period plus inbound
lead time, at least one unit (with ``inventory.cover_window`` the daily forecasts of those days summed, so
a known promotion in the window raises it, and an FDC holds its stores' levels of their next review too;
with ``inventory.pre_build`` a store also holds its next review's level; otherwise today's rate held over
them). FDCs add what the stores they supply will ask for (echelon stock).
Simple, and what many operators do: it ignores which SKUs sell where and how uncertain demand is.
"""

from __future__ import annotations

import numpy as np

from sim.policies.base import (
    PolicyContext,
    check_params,
    echelon_levels,
    fit_capacity,
    register_policy,
    with_downstream,
)
from sim.policies.base_stock import cover_means
from sim.units import DAY


@register_policy("top_n")
class TopN:
    name = "top_n"

    def __init__(self, n: int = 200, cover: float = 1.5) -> None:
        check_params(self.name, n=n, cover=cover)
        self.n, self.cover = int(n), float(cover)

    def targets(self, ctx: PolicyContext) -> np.ndarray:
        top = np.argsort(-ctx.popularity, kind="stable")[: self.n]
        if ctx.cover_window:  # the forecast over the window the target must last (base_stock.cover_means)

            def level_at(start_days: float) -> np.ndarray:
                out = np.zeros_like(ctx.on_hand)
                out[:, top] = np.maximum(np.ceil(self.cover * cover_means(ctx, start_days)[1][:, top]), 1)
                return out

            # the next review's levels for the FDCs (and the stores' pre-build): base.echelon_levels
            return echelon_levels(level_at, ctx)
        out = np.zeros_like(ctx.on_hand)
        days = ctx.cover_s / DAY
        out[:, top] = np.maximum(np.ceil(self.cover * ctx.forecast[:, top] * days[:, None]), 1)
        return with_downstream(fit_capacity(out, ctx), ctx)
