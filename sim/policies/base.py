"""The pre-positioning policy interface: order-up-to targets per node x SKU at each review.

A policy sees only the forecast (never the demand arrays), the network's capacities and the
catalog. Targets for NDC rows are ignored (NDCs are refilled from the external supplier).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sim.registry import POLICIES
from sim.spec import Spec


@dataclass(frozen=True)
class PolicyContext:
    day: int  # day index of the review
    forecast: np.ndarray  # (N, S) expected units per day each node's catchment asks of its own tier
    cover_s: np.ndarray  # (N,) review period + inbound lead time: the time a target must last
    node_kind: np.ndarray  # (N,) 0 ndc, 1 fdc, 2 store
    slots: np.ndarray  # (N,) distinct SKUs a node may hold (0 for NDCs = unlimited)
    volume_m3: np.ndarray  # (N,) storage volume (inf for NDCs)
    volume_l: np.ndarray  # (S,) unit volume
    value_cny: np.ndarray  # (S,) unit value
    popularity: np.ndarray  # (S,) catalog popularity (sums to 1)
    on_hand: np.ndarray  # (N, S) current stock (read-only view)
    supplier: np.ndarray  # (N,) the node that replenishes each node (-1 for NDCs)


class Policy(Protocol):
    name: str

    def targets(self, ctx: PolicyContext) -> np.ndarray:
        """(N, S) int64 order-up-to levels."""
        ...


register_policy = POLICIES.register


def make_policy(spec: Spec) -> Policy:
    """Instantiate a policy from its SPEC; bad parameters raise TypeError/ValueError with the name."""
    cls = POLICIES.get(spec.name)
    try:
        return cls(**spec.params)
    except TypeError as exc:
        raise ValueError(f"policy {spec}: {exc}") from None


def fit_capacity(levels: np.ndarray, ctx: PolicyContext) -> np.ndarray:
    """Scale each forward node's levels down (never up) so they fit its slots and volume."""
    out = levels.astype(np.int64).copy()
    forward = ctx.node_kind > 0
    out[~forward] = 0
    for n in np.flatnonzero(forward):
        row = out[n]
        held = np.flatnonzero(row > 0)
        if held.size > ctx.slots[n]:  # keep the SKUs with the largest forecast
            drop = held[np.argsort(-ctx.forecast[n, held], kind="stable")[int(ctx.slots[n]):]]
            row[drop] = 0
        vol = float((row * ctx.volume_l).sum()) / 1000.0
        if vol > ctx.volume_m3[n]:
            row[:] = np.floor(row * (ctx.volume_m3[n] / vol))
    return out


def with_downstream(levels: np.ndarray, ctx: PolicyContext) -> np.ndarray:
    """Echelon targets: an FDC also holds what the stores it supplies will ask for at their next review.

    Without this an FDC stocked for its own mid-tier demand rations its stores every day.
    """
    out = levels.copy()
    stores = np.flatnonzero((ctx.node_kind == 2) & (ctx.supplier >= 0))
    sup = ctx.supplier[stores]
    fdc_fed = ctx.node_kind[sup] == 1
    np.add.at(out, sup[fdc_fed], levels[stores[fdc_fed]])
    return fit_capacity(out, ctx)


def check_params(name: str, **params: Any) -> None:
    for key, value in params.items():
        if isinstance(value, (int, float)) and value < 0:
            raise ValueError(f"policy {name}: {key} must be >= 0, got {value}")
