"""The pre-positioning policy interface: order-up-to targets per node x SKU at each review.

A policy sees only the forecast (never the demand arrays), the network's capacities and the
catalog. Targets for NDC rows are ignored (NDCs are refilled from the external supplier).

The fields after ``supplier`` are optional (defaults keep older callers working): a look-ahead
forecast for ``forecast_push``, the money figures for ``cost_optimal`` (``PolicyCosts``, built
once per run by ``sim.policies.costs.policy_costs``), the review period, inventory positions and
the forecast error. A policy may also offer ``transfers(ctx, targets) -> Transfers``: lateral
moves between forward nodes that the engine applies before replenishment.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from sim.errors import ScenarioError
from sim.registry import POLICIES
from sim.spec import Spec
from sim.units import DAY
from sim.vocab import NodeKind


@dataclass(frozen=True)
class PolicyCosts:
    """Money per node / SKU that ``cost_optimal`` trades off (see ``sim.policies.costs``)."""

    serve_cny: (
        np.ndarray
    )  # (N,) variable cost (handling + transport) of one order served at the node's own tier
    fallback_cny: (
        np.ndarray
    )  # (N, 2) cost of the two next-best slower options for an order the node cannot serve (inf: none)
    fallback_accept: np.ndarray  # (N, 2) probability the customer accepts each of those offers
    lost_margin_rate: float  # lost sale = margin_rate x unit value + goodwill
    lost_goodwill_cny: float
    holding_per_day: float  # share of unit value per day
    shelf_life_days: np.ndarray  # (S,) inf for non-perishables
    transfer_unit_cny: (
        np.ndarray
    )  # (N,) per-unit handling of bringing a unit to the node along its supply path
    transfer_litre_cny: np.ndarray  # (N,) truck fixed cost per litre (full-truck share) along that path
    qty_per_line: float = (
        1.0  # mean units per order line (a missing SKU sends its order, ~one line, elsewhere)
    )
    other_lines: float = 0.0  # mean number of *other* lines in the order of a given line: E[L^2] / E[L] - 1
    fallback_tier: np.ndarray | None = (
        None  # (N, 2) tier of each fallback offer (1 mid, 2 far, -1 none); None: unchecked
    )
    tier_eligible: np.ndarray | None = None  # (S, 3) may SKU s be served near / mid / far (None: every tier)


@dataclass(frozen=True)
class Transfers:
    """Lateral moves asked for at a review: `qty` units of `sku` from `src` to `dst` (one row each)."""

    src: np.ndarray
    dst: np.ndarray
    sku: np.ndarray
    qty: np.ndarray

    @staticmethod
    def empty() -> Transfers:
        z = np.empty(0, np.int64)
        return Transfers(z, z.copy(), z.copy(), z.copy())


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
    # ---- optional (see the module docstring); the engine fills them when it can
    review_s: float = DAY  # review period R (cover_s - review_s = inbound lead time L)
    position: np.ndarray | None = None  # (N, S) on hand - reserved + pipeline (None: use on_hand)
    forecast_ahead: Callable[[int], np.ndarray] | None = field(default=None, repr=False)
    # forecast_ahead(d) for d >= day: (N, S) forecast of day d as known at this review (forecast_ahead(day) == forecast)
    forecast_cv: float | None = (
        None  # coefficient of variation of the forecast error on the rate (negbin dispersion)
    )
    costs: PolicyCosts | None = None  # money figures for cost_optimal (None: parameters.md defaults)
    cover_window: bool = (
        False  # cover means from the daily forecasts over the window (inventory.cover_window)
    )
    pre_build: bool = (
        False  # stores hold their next review's level too (inventory.pre_build; with cover_window)
    )

    @property
    def lead_s(self) -> np.ndarray:
        """(N,) inbound lead time L = cover - review period (never negative)."""
        return np.maximum(np.asarray(self.cover_s, float) - self.review_s, 0.0)

    @property
    def review_days(self) -> float:
        return float(self.review_s) / DAY


@dataclass(frozen=True)
class PolicyCapabilities:
    """What a policy supports beyond ``targets``, declared as its ``capabilities`` attribute (the engine
    reads this instead of sniffing attributes)."""

    transfers: bool = False  # ``transfers(ctx, targets) -> Transfers``: lateral moves between forward nodes,
    # applied by the engine after ``targets`` and before replenishment (see forecast_push; TransfersStock)


NO_POLICY_CAPABILITIES = PolicyCapabilities()


class Policy(Protocol):
    name: str

    def targets(self, ctx: PolicyContext) -> np.ndarray:
        """(N, S) int64 order-up-to levels."""
        ...


class TransfersStock(Policy, Protocol):
    """A policy declaring ``PolicyCapabilities(transfers=True)``."""

    def transfers(self, ctx: PolicyContext, targets: np.ndarray) -> Transfers: ...


def policy_capabilities(policy: object) -> PolicyCapabilities:
    """The policy's declared ``capabilities`` (a policy that declares none supports only ``targets``)."""
    caps = getattr(policy, "capabilities", NO_POLICY_CAPABILITIES)
    assert isinstance(caps, PolicyCapabilities), (
        f"policy capabilities must be PolicyCapabilities, got {caps!r}"
    )
    return caps


register_policy = POLICIES.register


class PolicyParameterError(ScenarioError, ValueError):
    """A bad policy parameter: invalid input (exit 2), and still a ValueError for callers that catch one."""


def make_policy(spec: Spec) -> Policy:
    """Instantiate a policy from its SPEC; bad parameters raise PolicyParameterError naming policy and parameter."""
    cls: Callable[..., Policy] = POLICIES.get(spec.name)
    known = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = [k for k in spec.params if k not in known]
    if unknown:
        raise PolicyParameterError(
            f"policy: {spec.name}: unknown parameter {unknown[0]!r}; known: {', '.join(known) or 'none'}"
        )
    try:
        return cls(**spec.params)
    except (TypeError, ValueError) as exc:
        msg = str(exc).removeprefix(f"policy {spec.name}: ")
        raise PolicyParameterError(f"policy: {spec.name}: {msg}") from None


def fit_capacity(levels: np.ndarray, ctx: PolicyContext) -> np.ndarray:
    """Scale each forward node's levels down (never up) so they fit its slots and volume."""
    out = levels.astype(np.int64).copy()
    forward = ctx.node_kind != NodeKind.NDC
    out[~forward] = 0
    for n in np.flatnonzero(forward):
        row = out[n]
        held = np.flatnonzero(row > 0)
        if held.size > ctx.slots[n]:  # keep the SKUs with the largest forecast
            drop = held[np.argsort(-ctx.forecast[n, held], kind="stable")[int(ctx.slots[n]) :]]
            row[drop] = 0
        vol = float((row * ctx.volume_l).sum()) / 1000.0
        if vol > ctx.volume_m3[n]:
            row[:] = np.floor(row * (ctx.volume_m3[n] / vol))
    return out


def with_downstream(levels: np.ndarray, ctx: PolicyContext, ahead: np.ndarray | None = None) -> np.ndarray:
    """Echelon targets: an FDC also holds what the stores it supplies will ask for at their next review.

    Without this an FDC stocked for its own mid-tier demand rations its stores every day. `ahead`, the stores'
    levels at their next review (``inventory.cover_window``: their window one review later, so a known promotion
    the stores will stock for tomorrow is in the FDC today), counts where it is above today's level.
    """
    out = levels.copy()
    stores = np.flatnonzero((ctx.node_kind == NodeKind.STORE) & (ctx.supplier >= 0))
    sup = ctx.supplier[stores]
    fdc_fed = ctx.node_kind[sup] == NodeKind.FDC
    down = levels if ahead is None else np.maximum(levels, ahead)
    np.add.at(out, sup[fdc_fed], down[stores[fdc_fed]])
    return fit_capacity(out, ctx)


def echelon_levels(level_at: Callable[[float], np.ndarray], ctx: PolicyContext) -> np.ndarray:
    """Targets from a policy's unconstrained levels `level_at(s)` (its levels for the window starting `s` days
    after this review), fitted to capacity, with the FDCs' echelon stock (``with_downstream``).

    - without ``cover_window`` (or a look-ahead forecast): today's levels, the FDC adds its stores' levels;
    - ``cover_window``: the FDC adds its stores' levels at their next review (s = R), so a promotion the stores
      stock tomorrow is in the FDC today;
    - ``pre_build`` too (``inventory.pre_build``): a store's level is the larger of this review's and the next
      review's (s = 0 and s = R), so a known peak is on the store's shelf when it starts instead of arriving after
      its own review (a store's window [d, d + R + L) holds only L of tomorrow); its FDC then holds the stores'
      next review levels, max(s = R, s = 2R). The store rows are fitted to slots and volume after the max, so a
      shelf may cap the pre-build.
    """
    now = level_at(0.0)
    if not ctx.cover_window or ctx.forecast_ahead is None:
        return with_downstream(fit_capacity(now, ctx), ctx)
    r = ctx.review_days
    nxt = level_at(r)
    if not ctx.pre_build:
        return with_downstream(fit_capacity(now, ctx), ctx, ahead=fit_capacity(nxt, ctx))
    stores = ctx.node_kind == NodeKind.STORE
    levels = now.copy()
    levels[stores] = np.maximum(now[stores], nxt[stores])
    ahead = np.maximum(nxt, level_at(2.0 * r))
    return with_downstream(fit_capacity(levels, ctx), ctx, ahead=fit_capacity(ahead, ctx))


def check_params(name: str, **params: Any) -> None:
    for key, value in params.items():
        if isinstance(value, (int, float)) and value < 0:
            raise ValueError(f"policy {name}: {key} must be >= 0, got {value}")


def check_choice(name: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices`, else a ValueError naming the policy and parameter."""
    if value not in choices:
        raise ValueError(f"policy {name}: {key} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def check_number(
    name: str, key: str, value: Any, lo: float, hi: float, *, open_lo: bool = False, open_hi: bool = False
) -> float:
    """`value` as a float inside [lo, hi] (ends open when asked), else a ValueError naming it."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        v = float(value)
        ok = (v > lo if open_lo else v >= lo) and (v < hi if open_hi else v <= hi)
    if not ok:
        a, b = "(" if open_lo else "[", ")" if open_hi else "]"
        raise ValueError(f"policy {name}: {key} must be a number in {a}{lo:g}, {hi:g}{b}, got {value!r}")
    return float(value)
