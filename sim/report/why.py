"""Why this node? Turns one order's explain.parquet rows into options, rejections and a "why" paragraph.

Pure functions over the rows of one routing epoch (a pandas DataFrame with explain.parquet's columns,
see ``sim.engine.explain``), so the text can be tested on crafted rows. The reasoning follows what
the router does: ``flow`` (and ``cheapest``, ``mip``) minimise the decision cost subject to node
capacity and stock shared by the batch, so an option cheaper than the chosen one was either taken
by other orders of the same batch (a *binding*: ``node_taken >= capacity``, or for single-line
orders ``key_taken >= stock``) or lost to the stock repair; ``nearest`` and ``tier_first`` rank by
distance, not cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

TOL = 1e-6  # CNY: the flow router's integer scale rounds costs to 1/(2*10^6)
COST_ROUTERS = ("flow", "cheapest", "mip")
REASON_TEXT = {
    "option": "an option",
    "not_eligible": "a line's SKU may not ship at this tier",
    "no_stock": "not enough stock for a line",
    "closed": "store outside its service hours",
    "late": "cannot make the promise (ETA after it)",
    "no_capacity": "no capacity left this epoch",
    "slower_tier": "slower tier: not offered while a faster option exists or the order can wait",
    "not_offered": "slower tier with acceptance 0: never offered",
}
OUTCOME_TEXT = {
    "assigned": "assigned",
    "accepted": "offer accepted",
    "declined": "offer declined → lost",
    "carried": "carried to the next epoch",
    "lost": "lost",
}


@dataclass
class EpochExplanation:
    """One routing epoch of one order: options sorted by decision cost, rejected candidates, the why."""

    epoch_s: float
    outcome: str
    chosen: str | None  # node id the router picked (before the repair)
    options: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    why: str = ""


def _money(x: Any) -> str:
    return f"{x:.2f}"


def _label(r: Any) -> str:
    return f"{r.node_id} {r.tier}"


def binding(r: Any) -> str | None:
    """Why an option the router did not take was not available to this order, if the batch used it up."""
    if r.capacity <= r.node_taken:
        return f"its node capacity ({int(r.capacity)} order(s) this epoch) went to other orders of the same batch"
    if r.key_taken >= 0 and r.key_taken >= r.stock:
        return f"its last {int(r.stock)} unit(s) went to other orders of the same batch"
    return None


def _ranked(opts: pd.DataFrame) -> pd.DataFrame:
    return opts.sort_values(["decision_cny", "km"], kind="stable")


def _offer_text(c: Any, requested: str) -> str:
    acc = "accepted" if c.outcome != "declined" else "declined"
    rel = "<" if acc == "accepted" else "≥"
    tail = " → lost" if acc == "declined" else ""
    return (
        f"no option at the requested tier ({requested}) or faster: offered {c.tier} from {c.node_id}, "
        f"{acc} (u={c.u_decision:.2f} {rel} p={c.accept_p:.2f}){tail}"
    )


def _cost_choice(c: Any, opts: pd.DataFrame) -> list[str]:
    """Sentences for a cost-minimising router's choice `c` among `opts`."""
    out: list[str] = []
    others = _ranked(opts[opts.node_id != c.node_id])
    better = others[others.decision_cny < c.decision_cny - TOL]
    if better.empty:
        if others.empty:
            out.append(f"chosen {_label(c)}: the only option (decision cost {_money(c.decision_cny)} CNY)")
        else:
            nb = others.iloc[0]
            out.append(
                f"chosen {_label(c)}: lowest decision cost {_money(c.decision_cny)} CNY (next best "
                f"{_label(nb)} {_money(nb.decision_cny)}: +{_money(nb.decision_cny - c.decision_cny)})"
            )
        flips = others[(others.cost_cny < c.cost_cny - TOL)].sort_values("cost_cny", kind="stable")
        if not flips.empty:
            f = flips.iloc[0]
            out.append(
                f"reservation price {_money(f.reservation_cny)} CNY on {f.node_id} (look-ahead protects its "
                f"units for the faster-tier customers they were stocked for) made {c.node_id} cheaper: money "
                f"cost {_money(f.cost_cny)} vs {_money(c.cost_cny)} CNY"
            )
        return out
    out.append(f"chosen {_label(c)} at decision cost {_money(c.decision_cny)} CNY")
    for r in better.head(3).itertuples():
        why = binding(r) or "the batch's joint optimum gave it to other orders"
        out.append(
            f"the cheaper {_label(r)} ({_money(r.decision_cny)} CNY, "
            f"-{_money(c.decision_cny - r.decision_cny)}) was not taken because {why} "
            "(the router's joint optimum)"
        )
    return out


def _rule_choice(c: Any, opts: pd.DataFrame, router: str, requested: str) -> list[str]:
    """Sentences for a distance-ranking router (nearest, tier_first)."""
    if c.offer:  # the fallback of every baseline: cheapest offer
        return _cost_choice(c, opts)
    rule = (
        "the closest option at the requested tier or faster"
        if router == "nearest"
        else f"the closest node of the requested tier ({requested}), else the closest faster one"
    )
    out = [
        f"the `{router}` router takes {rule} with capacity left: chosen {_label(c)} ({c.km:.1f} km, "
        f"decision cost {_money(c.decision_cny)} CNY)"
    ]
    closer = opts[(opts.km < c.km - 1e-9) & ~opts.offer & (opts.node_id != c.node_id)]
    if router == "tier_first":
        closer = closer[closer.tier == c.tier]
    for r in closer.sort_values("km", kind="stable").head(3).itertuples():
        out.append(
            f"the closer {_label(r)} ({r.km:.1f} km) was not taken because "
            f"{binding(r) or 'other orders of the batch took it first'}"
        )
    cheapest = _ranked(opts).iloc[0]
    if cheapest.node_id != c.node_id and cheapest.decision_cny < c.decision_cny - TOL:
        out.append(
            f"the cheapest option was {_label(cheapest)} at {_money(cheapest.decision_cny)} CNY "
            f"(-{_money(c.decision_cny - cheapest.decision_cny)}); this router does not rank by cost"
        )
    return out


def why_epoch(rows: pd.DataFrame, router: str) -> EpochExplanation:
    """Explain one routing epoch of one order from its candidate rows (all with the same epoch_s)."""
    first: Any = rows.iloc[0]
    requested, outcome = str(first.requested_tier), str(first.outcome)
    opts = rows[rows.reason == "option"]
    rejected = rows[rows.reason != "option"]
    pick = rows[rows.chosen]
    c = pick.iloc[0] if not pick.empty else None
    parts: list[str] = []
    if not (rows.tier == requested).any():
        parts.append(f"no {requested}-tier node covers the order's zone")
    if c is not None:
        if c.offer:
            parts.append(_offer_text(c, requested))
        if c.repaired:
            parts.append(
                f"the router chose {_label(c)}, but the stock repair undid it: an earlier order of the "
                "same batch took the units it needed (a multi-line order's stock is checked after routing)"
            )
        elif router in COST_ROUTERS or router not in ("nearest", "tier_first"):
            parts += _cost_choice(c, opts)
        else:
            parts += _rule_choice(c, opts, router, requested)
    elif opts.empty:
        if outcome == "carried":
            busy = rejected[rejected.reason.isin(["no_capacity", "late"]) & (rejected.tier == "near")]
            where = ", ".join(busy.node_id.head(3)) or "a store"
            verb = "have" if len(busy) > 1 else "has"
            parts.append(
                f"carried: no option now; {where} {verb} the stock but {'their queues are' if len(busy) > 1 else 'its queue is'} "
                "busy (picker/rider capacity), so the order waits for the next epoch"
            )
        else:
            parts.append(
                f"no option: every candidate was rejected (below) and no busy store queue could be "
                f"waited out → lost (lost-sale cost {_money(first.unassigned_cny)} CNY)"
            )
    else:
        best = _ranked(opts).iloc[0]
        u = float(first.unassigned_cny)
        if math.isfinite(u) and best.decision_cny >= u - TOL:
            parts.append(
                f"every option costs at least losing the sale (best {_label(best)} "
                f"{_money(best.decision_cny)} vs {_money(u)} CNY), so the router left it unassigned"
            )
        else:
            for r in _ranked(opts).head(3).itertuples():
                parts.append(
                    f"{_label(r)} ({_money(r.decision_cny)} CNY) was not available: "
                    f"{binding(r) or 'the batch joint optimum gave it to other orders'}"
                )
        parts.append(f"→ {OUTCOME_TEXT.get(outcome, outcome)}")
    if c is not None and outcome != "declined":  # a declined offer's text already ends in "→ lost"
        parts.append(
            f"→ assigned to {c.node_id} ({c.tier})"
            if outcome in ("assigned", "accepted")
            else f"→ {OUTCOME_TEXT.get(outcome, outcome)}"
        )
    text = "; ".join(parts)
    cols = [
        "node_id",
        "tier",
        "km",
        "handling_cny",
        "transport_cny",
        "offer",
        "accept_p",
        "cost_cny",
        "reservation_cny",
        "decision_cny",
        "eta_s",
        "promise_s",
        "stock",
        "capacity",
        "node_taken",
        "chosen",
    ]
    return EpochExplanation(
        epoch_s=float(first.epoch_s),
        outcome=outcome,
        chosen=None if c is None else str(c.node_id),
        options=_records(_ranked(opts)[cols]),
        rejected=_records(
            rejected[["node_id", "tier", "reason", "km", "eta_s", "promise_s", "stock", "capacity"]]
        ),
        why=text,
    )


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-able dicts (NaN -> None, numpy scalars -> Python)."""
    out: list[dict[str, Any]] = []
    for rec in df.to_dict("records"):
        row = {str(k): (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        out.append(
            {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        )
    return out


def why_order(rows: pd.DataFrame, router: str) -> list[EpochExplanation]:
    """Every routing epoch of one order, in time order."""
    return [why_epoch(g, router) for _, g in rows.groupby("epoch_s", sort=True)]
