"""``central_only``: nothing forward; every order is served from an NDC (the baseline)."""

from __future__ import annotations

import numpy as np

from sim.policies.base import PolicyContext, register_policy


@register_policy("central_only")
class CentralOnly:
    name = "central_only"

    def targets(self, ctx: PolicyContext) -> np.ndarray:
        return np.zeros_like(ctx.on_hand)
