"""``promise``: what a near and a mid promise win and cost, swept as one grid (issue #18, item 4).

A near promise is a bundle, not one field: promising 60 minutes instead of 30 lets a store serve
further away, so each near level sets ``tiers.near.promise_min`` *and* ``nodes.stores.capacity.
rider_radius_km`` (default: the scenario's radius scaled with the promise, ``radius x promise /
30``, an assumption: the extra minutes go to riding at the same speed) and, when the near tier quotes
ETAs, ``max_quote_min`` scaled the same way. A mid promise of H hours sets
the rolling cut-off so that an order is delivered within H hours of ordering: a wave every H/4
(``every_min``), its window opening H/4 after the cut-off and closing at 3H/4 (the bundled 4-hour
promise is exactly 60/60/180 min), and ``tiers.mid.max_promise_h`` = H. ``sweep`` takes a product of
single fields, so it cannot express these bundles: hence a verb.

``demand.conversion.enabled`` is switched on (unless the caller sets it), so shoppers order less at
longer promises (``sim/demand/conversion.py``); every design runs on the same replications (common
random numbers: the same shoppers, each ordering at a longer promise only if at a shorter one too).
Output in DIR: ``promise.parquet``/``.csv`` (per design and headline KPI: mean, 95% CI, paired
difference to the first design), ``won.parquet``/``.csv`` (per design: shoppers' orders placed and
orders delivered per measured day, with 95% CIs, and the paired difference in orders won to the first
design), ``experiment.json`` (kind ``promise``),
``plots/`` and ``report.html``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ScenarioError
from sim.experiments.experiment import (
    Group,
    check_options,
    prepare_out,
    run_rounds,
    summary_table,
    write_marker,
    write_table,
)
from sim.experiments.jobs import JobOutcome
from sim.experiments.stats import paired_difference, summarize
from sim.io.scenario import Scenario
from sim.io.scenario.models import RollingWaves
from sim.run import prepare

REFERENCE_NEAR_MIN = (
    30.0  # the promise at which the scenario's rider radius holds (params: Tiers, 30 minutes)
)


def parse_near(text: str) -> list[tuple[float, float | None]]:
    """``30,45:4.5,60`` -> [(30, None), (45, 4.5), (60, None)]: minutes, optional rider radius (km)."""
    out: list[tuple[float, float | None]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        mins, _, km = part.partition(":")
        try:
            m, r = float(mins), (float(km) if km else None)
        except ValueError:
            raise ScenarioError(
                f"--near: expected MIN[:KM],..., e.g. 30,45,60 or 30:3,60:6, got {text!r}"
            ) from None
        if m <= 0 or (r is not None and r <= 0):
            raise ScenarioError(f"--near: minutes and km must be positive, got {part!r}")
        out.append((m, r))
    if not out:
        raise ScenarioError("--near: expected at least one promise, e.g. 30,45,60")
    return out


def parse_mid(text: str) -> list[float]:
    """``2,4,6`` -> [2.0, 4.0, 6.0] (hours)."""
    try:
        hours = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ScenarioError(f"--mid: expected hours, e.g. 2,4,6, got {text!r}") from None
    if not hours or any(not 0 < h <= 12 for h in hours):
        raise ScenarioError(f"--mid: hours must be in (0, 12], got {text!r}")
    return hours


def near_overrides(base: Scenario, minutes: float, radius_km: float | None) -> list[str]:
    """The near promise and the rider radius it allows (scaled from the scenario's at 30 minutes)."""
    km = (
        radius_km
        if radius_km is not None
        else float(base.nodes.stores.capacity.rider_radius_km) * minutes / REFERENCE_NEAR_MIN
    )
    out = [f"tiers.near.promise_min={minutes:g}", f"nodes.stores.capacity.rider_radius_km={km:g}"]
    if base.tiers.near.quote == "eta":  # the longest ETA quoted grows with the promise too
        out.append(
            f"tiers.near.max_quote_min={float(base.tiers.near.max_quote_min) * minutes / REFERENCE_NEAR_MIN:g}"
        )
    return out


def mid_overrides(hours: float) -> list[str]:
    """A rolling cut-off delivering within `hours` of ordering: waves every H/4, window H/4..3H/4 after it."""
    q = hours * 15.0  # H/4 in minutes
    last = min(20 * 60, int(24 * 60 - 3 * q - 1))  # the last window closes before midnight
    roll = RollingWaves(
        every_min=q, window_start_min=q, window_end_min=3 * q, last_cutoff=f"{last // 60:02d}:{last % 60:02d}"
    )
    waves = [{"cutoff": w.cutoff, "window": list(w.window)} for w in roll.waves()]  # listed and rolling agree
    return [
        f"tiers.mid.max_promise_h={hours:g}",
        f"tiers.mid.rolling={json.dumps(roll.model_dump(mode='json'))}",
        f"tiers.mid.waves={json.dumps(waves)}",
    ]


def designs(
    base: Scenario, near: Sequence[tuple[float, float | None]], mid: Sequence[float], overrides: Sequence[str]
) -> list[Group]:
    """One group per (near, mid) pair, near varying fastest; conversion on unless `overrides` set it."""
    conv = (
        []
        if any(o.split("=", 1)[0].strip() == "demand.conversion.enabled" for o in overrides)
        else ["demand.conversion.enabled=true"]
    )
    groups = []
    for h in mid:
        for m, r in near:
            sets = near_overrides(base, m, r) + mid_overrides(h)
            try:
                sc = prepare(base, overrides=conv + sets)
            except ScenarioError as exc:
                raise ScenarioError(
                    [f"promise near {m:g} min, mid {h:g} h: {p}" for p in exc.problems]
                ) from None
            km = float(sc.nodes.stores.capacity.rider_radius_km)
            groups.append(
                Group(
                    f"near {m:g} min / mid {h:g} h",
                    f"near-{m:g}-mid-{h:g}",
                    sc,
                    {"near_min": m, "rider_radius_km": km, "mid_h": h},
                )
            )
    return groups


def won_table(outcomes: Sequence[JobOutcome], groups: Sequence[Group]) -> pd.DataFrame:
    """Per design: orders placed and delivered per measured day (mean and 95% CI over replications)."""
    per: dict[str, dict[int, tuple[float, float]]] = {g.label: {} for g in groups}
    for o in outcomes:
        if o.ok and o.group in per:
            k = json.loads((Path(o.out) / "kpis.json").read_text(encoding="utf-8"))
            days = max(int(k.get("measured_days", 1)), 1)
            per[o.group][o.replication] = (float(k["orders"]) / days, float(k["delivered"]) / days)
    first = per[groups[0].label] if groups else {}
    rows = []
    for g in groups:
        mine = per[g.label]
        reps = sorted(mine)
        row: dict[str, Any] = {"design": g.label, **g.columns}
        for i, name in enumerate(("orders_placed_per_day", "orders_won_per_day")):
            s = summarize([mine[r][i] for r in reps], 0.95)
            row.update({name: s.mean, f"{name}_ci_low": s.ci_low, f"{name}_ci_high": s.ci_high})
        common = sorted(set(mine) & set(first))
        d = paired_difference([mine[r][1] for r in common], [first[r][1] for r in common], 0.95)
        row.update(
            won_diff_to_first=d.mean, won_diff_ci_low=d.ci_low, won_diff_ci_high=d.ci_high, n=len(reps)
        )
        rows.append(row)
    return pd.DataFrame(rows)


def promise(
    scenario: Scenario | str | Path,
    near: Sequence[tuple[float, float | None]],
    mid: Sequence[float],
    *,
    replications: int = 3,
    out: str | Path | None = None,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    policy: str | None = None,
    router: str | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Simulate every (near, mid) promise pair with common random numbers; tabulate won orders, cost, service."""
    check_options(executor, address, replications, None, 30)
    sets = list(overrides or [])
    base = prepare(scenario, seed=seed, days=days, policy=policy, router=router, overrides=sets)
    groups = designs(base, near, mid, sets)
    target = (
        Path(out)
        if out is not None
        else Path("runs") / (f"promise-{base.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    )
    prepare_out(target, "promise")
    info: dict[str, Any] = {
        "scenario": base.name,
        "near": [[m, r] for m, r in near],
        "mid_h": list(mid),
        "replications": replications,
        "policy": base.policy,
        "seed": base.seed,
        "days": base.horizon.days,
        "overrides": sets,
    }
    write_marker(target, "promise", {**info, "status": "running"})
    outcomes, _ = run_rounds(
        groups,
        out=target,
        replications=replications,
        executor=executor,
        address=address,
        workers=workers,
        progress=progress,
        name=f"promise {base.name}",
    )
    table = summary_table(outcomes, groups, "design")
    won = won_table(outcomes, groups)
    write_table(table, target, "promise")
    write_table(won, target, "won")
    failures = [
        {"design": o.group, "replication": o.replication, "error": o.error} for o in outcomes if not o.ok
    ]
    write_marker(target, "promise", {**info, "status": "done", "failures": failures})
    from sim.report.html import write_report

    write_report(target)
    return {"path": target, "table": table, "won": won, "failures": failures}
