"""The verdicts reports lead with: a run's headline (one sentence, the four numbers a planner is
judged by, against the scenario's ``report.targets``) and a comparison's (which policy wins on cost
and by how much over the baseline, with its paired 95% CI and whether it is significant).

Pure functions of kpis.json dicts, the orders table and comparison summaries; labels, units and
directions from the KPI registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.metrics import registry as reg

# report.targets field -> registry key
TARGET_KEYS = {
    "perfect_order_rate": "perfect_order_rate",
    "cost_per_order_cny": "cost_per_order_cny",
    "near_share": "tiers.near.share",
    "on_time_requested_rate": "on_time_requested_rate",
    "lost_sales_rate": "lost_sales_rate",
}
# the four numbers, in the order a planner reads them
FOUR = (
    "perfect_order_rate",
    "cost_per_order_cny",
    "tiers.near.share",
    "on_time_requested_rate",
    "lost_sales_rate",
)


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    detail: str  # the denominator and any companion figure
    target: str  # '' when none set
    status: str  # "met", "missed" or "" (no target)


def targets_of(sc: dict[str, Any]) -> dict[str, float]:
    """Registry key -> target from a resolved scenario dict's ``report.targets`` (unset ones left out)."""
    t = ((sc.get("report") or {}).get("targets")) or {}
    return {TARGET_KEYS[f]: float(v) for f, v in t.items() if f in TARGET_KEYS and v is not None}


def judge(key: str, v: float | None, targets: dict[str, float]) -> tuple[str, str]:
    """(target text, status) of one value."""
    if key not in targets:
        return "", ""
    k, t = reg.get(key), targets[key]
    word = "at least" if k.better == "higher" else "at most"
    if v is None:
        return f"target {word} {k.fmt(t)}", "missed"
    ok = v >= t if k.better == "higher" else v <= t
    return f"target {word} {k.fmt(t)}", "met" if ok else "missed"


def run_cards(kpis: dict[str, Any], orders: pd.DataFrame | None, targets: dict[str, float]) -> list[Card]:
    near = (kpis.get("tiers") or {}).get("near") or {}
    details = {
        "perfect_order_rate": "of orders created: delivered on time, complete, in one shipment, at the requested "
        "tier or faster",
        "cost_per_order_cny": "all costs of the measured days / orders created",
        "tiers.near.share": f"of delivered orders; {reg.get('tiers.near.on_time_rate').fmt(near.get('on_time_rate'))} "
        f"of them on time against the near quote, p90 {reg.fmt_value(near.get('p90_min'), 'min')}",
        "on_time_requested_rate": "of orders created, on time at the requested tier or faster (lost and downgraded "
        "orders count as not on time)",
        "lost_sales_rate": "of orders created: nothing delivered",
    }
    cards = []
    for key in FOUR:
        k = reg.get(key)
        v = reg.value(key, kpis, orders)
        target, status = judge(key, v, targets)
        cards.append(Card(key, k.label, k.fmt(v), details[key], target, status))
    return cards


def run_sentence(kpis: dict[str, Any], cards: list[Card]) -> str:
    """One sentence: scale, perfect orders and cost, near share, on time of requested, lost, targets."""
    c = {x.key: x for x in cards}
    days = int(kpis.get("measured_days") or 0)
    text = (
        f"Over {days} measured day{'s' if days != 1 else ''} and {int(kpis.get('orders') or 0):,} orders, "
        f"{c['perfect_order_rate'].value} were perfect at {c['cost_per_order_cny'].value} per order; "
        f"{c['tiers.near.share'].value} of deliveries went near, {c['on_time_requested_rate'].value} of orders "
        f"arrived on time at the tier requested and {c['lost_sales_rate'].value} were lost"
    )
    judged = [x for x in cards if x.status]
    missed = [x.label.lower() for x in judged if x.status == "missed"]
    if not judged:
        return text + " (no targets set: add report.targets to the scenario)."
    if not missed:
        return text + f" - every target met ({len(judged)})."
    return text + f" - misses its target{'s' if len(missed) > 1 else ''} for {', '.join(missed)}."


# --------------------------------------------------------------------------- comparisons
def _rows(summary: pd.DataFrame, key: str, name: str) -> pd.DataFrame:
    return summary[summary["kpi"] == key].set_index(name)


def ranking_order(summary: pd.DataFrame, key: str = "cost_per_order_cny", name: str = "policy") -> list[str]:
    """Configurations best first on `key` (its registry direction), ties in table order."""
    r = _rows(summary, key, name)["mean"]
    asc = reg.get(key).better != "higher"
    return list(r.sort_values(ascending=asc, kind="stable", na_position="last").index)


def paired_to(
    runs: pd.DataFrame, key: str, a: str, b: str, name: str = "policy"
) -> tuple[int, float, float, float]:
    """(n, mean, lo, hi) of the paired difference a - b of `key` over common replications (Student t)."""
    from sim.report.comparison import t_interval

    x = runs[runs[name] == a].set_index("replication")[key]
    y = runs[runs[name] == b].set_index("replication")[key]
    common = sorted(set(x.dropna().index) & set(y.dropna().index))
    n, mean, _, lo, hi = t_interval((x.loc[common] - y.loc[common]).to_numpy(float))
    return n, mean, lo, hi


def significant(lo: float, hi: float) -> bool:
    return bool(lo > 0 or hi < 0)


def compare_sentence(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    baseline: str,
    key: str = "cost_per_order_cny",
    name: str = "policy",
) -> str:
    """'forecast_push is cheapest; its lead over base_stock is 0.18 ± 0.09 CNY/order, significant'."""
    order = ranking_order(summary, key, name)
    if not order:
        return "No successful runs to compare."
    k = reg.get(key)
    best = order[0]
    word = "cheapest" if key == "cost_per_order_cny" else f"best on {k.label.lower()}"
    if len(order) == 1:
        return f"{best} is the only configuration with results."
    other = baseline if baseline != best else order[1]
    n, mean, lo, hi = paired_to(runs, key, other, best, name) if key in runs else (0, float("nan"), 0, 0)
    if k.better == "higher":
        mean, lo, hi = -mean, -hi, -lo
    unit = " CNY/order" if k.unit == "CNY" else (" points" if k.percent else f" {k.unit}")
    scale = 100.0 if k.percent else 1.0
    if n < 2 or hi != hi:
        return (
            f"{best} is {word}; its lead over {other} is {mean * scale:.2f}{unit} from {n} paired "
            f"replication(s), too few for a confidence interval."
        )
    half = (hi - lo) / 2 * scale
    sig = "significant (95% CI excludes 0)" if significant(lo, hi) else "not significant (95% CI includes 0)"
    return (
        f"{best} is {word}; its lead over {other} is {mean * scale:.2f} ± {half:.2f}{unit} over {n} paired "
        f"replications, {sig}."
    )


def ranking_table(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    baseline: str,
    keys: list[str],
    key: str = "cost_per_order_cny",
    name: str = "policy",
    diff_keys: tuple[str, ...] = ("cost_per_order_cny", "perfect_order_rate", "lost_sales_rate"),
) -> pd.DataFrame:
    """Best first on `key`: per KPI the mean; for `key` its difference to the best, and for
    `diff_keys` to the baseline (paired over replications, * = 95% CI excludes 0); strings, few
    columns, so the table fits a page."""
    order = ranking_order(summary, key, name)
    best = order[0] if order else None
    out: list[dict[str, Any]] = []
    for p in order:
        row: dict[str, Any] = {
            name: p,
            "rank": len(out) + 1,
            "n": int(float(_rows(summary, key, name).loc[p, "n"])),  # type: ignore[arg-type]
        }
        for kk in keys:
            if not (summary["kpi"] == kk).any() or kk not in runs:
                continue
            k = reg.get(kk)
            r = _rows(summary, kk, name)
            row[k.label_unit] = k.fmt(r.loc[p, "mean"]) if p in r.index else "-"
            for ref, col in ((best, "vs best"), (baseline, "vs baseline")):
                if (col == "vs best" and kk != key) or (col == "vs baseline" and kk not in diff_keys):
                    continue
                if p == ref:
                    row[f"{col} ({k.label.lower()})"] = "best" if col == "vs best" else "baseline"
                    continue
                n, mean, lo, hi = paired_to(runs, kk, p, str(ref), name)
                star = " *" if n >= 2 and significant(lo, hi) else ""
                row[f"{col} ({k.label.lower()})"] = k.fmt(mean, signed=True).replace(" CNY", "") + star
        out.append(row)
    return pd.DataFrame(out)
