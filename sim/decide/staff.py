"""``staff``: the fewest riders and pickers per store meeting a service target, verified by simulation.

The queueing start (``sim.decide.staffing``) gives each store its pickers and riders at its busiest
hour of the day asked for; a design scales every store's start by α. Designs α on ``levels`` are
simulated on ``replications`` common replications, in increasing α (a level that staffs every store
exactly like a smaller one is skipped), until one meets the target with
95% confidence (one-sided Student-t lower bound of the KPI's mean >= the target); the design one
level below is the evidence that fewer staff everywhere do not. The chosen design is then run on
``replications`` fresh replications (indices after the search's) and its verified mean and bound are
reported. Staff are constant per store over the day (a per-hour profile needs the staffing schedule of
the near-tier issue); ``by_hour`` in the output shows the hourly queueing start a profile would use.

Output in DIR: ``levels.csv`` (each α simulated, the KPI's mean and bound), ``staffing.parquet``/``.csv``
(per store: pickers, riders, busiest-hour λ, the start), ``by_hour.parquet`` (per store and hour:
λ, queueing-start pickers and riders), ``staffed.yaml`` (the resolved scenario with the chosen staff
per store, ready to run), ``experiment.json`` (kind ``staff``), ``report.html``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.decide.staffing import store_hours
from sim.decide.study import with_sites
from sim.errors import ScenarioError
from sim.experiments.experiment import (
    Group,
    check_options,
    prepare_out,
    run_rounds,
    write_marker,
    write_table,
)
from sim.experiments.stats import summarize, t_quantile
from sim.io.scenario import Scenario, to_dict
from sim.run import prepare

LEVELS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0)
ALIASES = {"near.on_time": "tiers.near.on_time_rate", "mid.on_time": "tiers.mid.on_time_rate",
           "perfect": "perfect_order_rate"}
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*>=\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*$")


def parse_target(text: str) -> tuple[str, float]:
    """``near.on_time>=0.9`` -> ("tiers.near.on_time_rate", 0.9); any kpis.json path works."""
    m = _TARGET.match(text)
    if m is None:
        raise ScenarioError(f"--target {text}: expected KPI>=X, e.g. near.on_time>=0.9")
    return ALIASES.get(m.group(1), m.group(1)), float(m.group(2))


def kpi_value(run_dir: str | Path, key: str) -> float:
    """A registered KPI of a finished run (NaN where undefined)."""
    from sim.experiments.headline import read_orders
    from sim.metrics import registry as reg

    kpis = json.loads((Path(run_dir) / "kpis.json").read_text(encoding="utf-8"))
    orders = read_orders(run_dir) if reg.get(key).source == "orders" else None
    v = reg.value(key, kpis, orders)
    return math.nan if v is None else float(v)


def lower_bound(values: Sequence[float], level: float = 0.95) -> float:
    """One-sided Student-t lower confidence bound of the mean (NaN with fewer than 2 values)."""
    s = summarize(list(values), level)
    if s.n < 2:
        return math.nan
    return s.mean - t_quantile(s.n, 2 * level - 1) * s.std / math.sqrt(s.n)


def staffed_scenario(base: Scenario, hours: Any, alpha: float) -> tuple[Scenario, pd.DataFrame]:
    """`base` with every store an explicit site holding ceil(α x start) pickers and riders (at least 1)."""
    data = to_dict(base)
    group = data["nodes"]["stores"]
    old = {s["id"]: s for s in group.get("sites", []) or []}
    rows, sites = [], []
    for i, n in enumerate(hours.node):
        nid = hours.net_ids[n]
        pickers = max(1, math.ceil(alpha * int(hours.pickers[i].max())))
        riders = max(1, math.ceil(alpha * int(hours.riders[i].max())))
        site = dict(old.get(nid, {"id": nid, "city": hours.net_cities[n], "lat": float(hours.lat[n]),
                                  "lon": float(hours.lon[n])}))
        site["capacity"] = {**(site.get("capacity") or {}), "pickers": pickers, "riders": riders}
        sites.append(site)
        rows.append({"store": nid, "city": hours.net_cities[n], "pickers": pickers, "riders": riders,
                     "peak_orders_per_hour": float(hours.lam_per_s[i].max() * 3600),
                     "start_pickers": int(hours.pickers[i].max()), "start_riders": int(hours.riders[i].max())})
    return with_sites(base, "stores", sites), pd.DataFrame(rows)


class _Hours:
    """The queueing start with the network fields staffed_scenario needs."""

    def __init__(self, sc: Scenario, net: Any, date: dt.date, target: float, slack_s: float) -> None:
        sh = store_hours(sc, net, date, target=target, slack_s=slack_s)
        self.node, self.lam_per_s, self.pickers, self.riders = sh.node, sh.lam_per_s, sh.pickers, sh.riders
        self.net_ids = net.node_ids
        self.net_cities = [net.city_names[int(c)] for c in net.node_city]
        self.lat, self.lon = net.node_lat, net.node_lon


def staff(scenario: Scenario | str | Path, target: str, *, day: dt.date | None = None, replications: int = 3,
          slack_s: float = 300.0, levels: Sequence[float] = LEVELS, out: str | Path | None = None,
          executor: str = "local", address: str | None = None, workers: int | None = None,
          policy: str | None = None, router: str | None = None, seed: int | None = None,
          overrides: Sequence[str] | None = None, progress: bool | None = None) -> dict[str, Any]:
    """The smallest staffing level meeting `target` at 95% on `day` (default the first measured day)."""
    from sim.network import build_network

    check_options(executor, address, replications, None, 30)
    if replications < 2:
        raise ScenarioError("--replications: at least 2 are needed for a confidence bound")
    kpi, bound = parse_target(target)
    base = prepare(scenario, seed=seed, policy=policy, router=router, overrides=list(overrides or []))
    first = base.horizon.start_date + dt.timedelta(days=base.horizon.warmup_days)
    day = day or first
    if not first <= day < first + dt.timedelta(days=base.horizon.days):
        if day < first:
            raise ScenarioError(f"--day: {day} is before the first measured day {first}")
        base = prepare(base, overrides=[f"horizon.days={(day - first).days + 1}"])
    if kpi_path_unknown(kpi):
        raise ScenarioError(f"--target: unknown KPI {kpi!r} (a kpis.json path such as tiers.near.on_time_rate)")
    net = build_network(base)
    hours = _Hours(base, net, day, bound, slack_s)
    target_dir = Path(out) if out is not None else Path("runs") / (
        f"staff-{base.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    prepare_out(target_dir, "staff")
    info: dict[str, Any] = {"scenario": base.name, "target": f"{kpi}>={bound:g}", "day": str(day),
                            "replications": replications, "slack_s": slack_s, "levels": list(levels),
                            "policy": base.policy, "seed": base.seed, "overrides": list(overrides or [])}
    write_marker(target_dir, "staff", {**info, "status": "running"})

    def evaluate(alpha: float, reps: int, start: int = 0) -> tuple[list[float], pd.DataFrame, Scenario]:
        sc, table = staffed_scenario(base, hours, alpha)
        g = Group(f"alpha={alpha:g}", f"alpha-{alpha:g}", sc, {"alpha": alpha})
        outcomes, _ = run_rounds([g], out=target_dir, replications=start + reps, executor=executor,
                                 address=address, workers=workers, progress=progress, name=f"staff {base.name}")
        vals = [kpi_value(o.out, kpi) if o.ok else math.nan for o in outcomes if o.replication >= start]
        return vals, table, sc

    rows, chosen, seen = [], None, set()
    for alpha in sorted(levels):
        _, table = staffed_scenario(base, hours, alpha)
        design = tuple(table["pickers"]) + tuple(table["riders"])
        if design in seen:  # ceil() of small starts: this level staffs exactly like a smaller one
            continue
        seen.add(design)
        vals, table, sc = evaluate(alpha, replications)
        lb = lower_bound(vals)
        rows.append({"alpha": alpha, "riders": int(table["riders"].sum()), "pickers": int(table["pickers"].sum()),
                     "mean": float(np.nanmean(vals)), "lower_95": lb, "meets": bool(lb >= bound)})
        if lb >= bound:
            chosen = (alpha, table, sc)
            break
    levels_df = pd.DataFrame(rows)
    write_table(levels_df, target_dir, "levels")
    result: dict[str, Any] = {"path": target_dir, "levels": levels_df, "kpi": kpi, "target": bound, "chosen": None}
    by_hour = pd.DataFrame([{"store": hours.net_ids[n], "hour": h, "orders_per_hour": float(hours.lam_per_s[i, h] * 3600),
                             "start_pickers": int(hours.pickers[i, h]), "start_riders": int(hours.riders[i, h])}
                            for i, n in enumerate(hours.node) for h in range(24)])
    write_table(by_hour, target_dir, "by_hour")
    if chosen is not None:
        alpha, table, sc = chosen
        verify, _, _ = evaluate(alpha, replications, start=replications)
        cost = base.costs
        table["cost_cny_per_day"] = 24.0 * (table["pickers"] * cost.picker_per_hour_cny
                                            + table["riders"] * cost.riders.per_hour_cny)
        write_table(table, target_dir, "staffing")
        from sim.io.scenario import to_yaml

        (target_dir / "staffed.yaml").write_text(to_yaml(sc), encoding="utf-8")
        result["chosen"] = {"alpha": alpha, "riders": int(table["riders"].sum()),
                            "pickers": int(table["pickers"].sum()),
                            "cost_cny_per_day": float(table["cost_cny_per_day"].sum()),
                            "verified_mean": float(np.nanmean(verify)), "verified_lower_95": lower_bound(verify),
                            "verified": bool(lower_bound(verify) >= bound)}
        result["staffing"] = table
    write_marker(target_dir, "staff", {**info, "status": "done", "chosen": result["chosen"]})
    from sim.report.html import write_report

    write_report(target_dir)
    return result


def kpi_path_unknown(key: str) -> bool:
    """True if `key` is not a KPI of the registry (``sim.metrics.registry``)."""
    from sim.metrics.registry import REGISTRY

    return key not in REGISTRY
