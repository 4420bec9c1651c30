"""``staff``: the fewest riders and pickers per store and hour meeting a service target, verified by simulation.

The queueing start (``sim.decide.staffing``) gives each store its pickers and riders in every hour of
the day asked for (Erlang C per store-hour from the forecast). A design (α_p, α_r) staffs each store with
ceil(α_p x its busiest-hour picker start) pickers (the engine has no picker shifts: pickers are constant
over the day) and, in each hour h, ceil(α_r x the hour's rider start) riders on shift (at least one in an
open hour), written as a staffing profile table and read back by the engine through
``nodes.stores.staffing.profile``. The search, each design on ``replications`` common replications and
judged by the one-sided 95% Student-t lower bound of the KPI's mean against the target:

1. uniform: α_p = α_r = α on ``levels``, bisected (``lowest_meeting``): the level nearest 1 (the queueing
   start itself) first, then the top of the grid if it fails (a failing top ends the search: nothing on the
   grid meets), then halving the bracket until the lowest level that meets is next to one that fails (a
   level that staffs exactly like one already tried is not simulated again);
2. fewer riders: α_r bisected below the chosen α_r at the chosen α_p;
3. fewer pickers: likewise α_p at the chosen α_r.

Bisection assumes more staff never lowers the KPI (in expectation); it simulates O(log n) designs per stage
instead of up to n, and still ends with the chosen design next to a simulated one below it that fails.
The target is judged on `day` alone: the scenario's days before it become warm-up and it is the one measured
day. ``near.on_time_requested`` (``DECISION_KPIS``) is the near target to use where the router offers the
near tier only when a store can make the promise: ``tiers.near.on_time_rate`` is of delivered near orders
and stays high with too few riders (their shortfall shows as near orders lost or downgraded).
Every design simulated is in ``levels.csv``; the evidence that the choice is not beaten by fewer staff
along this search is the first failing design below it on each axis (and the uniform level below).
The chosen design is then run on ``replications`` fresh replications (indices after the search's) and
its verified mean and bound are reported. Staff cost per day: pickers x open hours x
``costs.picker_per_hour_cny`` + rider-hours on shift x ``costs.riders.per_hour_cny``.

Output in DIR: ``levels.csv``, ``staffing.parquet``/``.csv`` (per store: pickers, peak riders,
rider-hours, busiest-hour λ, the start, cost), ``staffing_profile.parquet``/``.csv`` (per store and hour:
riders on shift, pickers, λ, the queueing start; the profile a scenario reads back), ``by_hour.parquet``
(the queueing start per store and hour), ``staffed.yaml`` (the resolved scenario with the chosen staff,
reading ``staffing_profile.csv`` beside it), ``experiment.json`` (kind ``staff``), ``report.html``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
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
from sim.units import parse_clock

LEVELS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0)
ALIASES = {
    "near.on_time": "tiers.near.on_time_rate",
    "mid.on_time": "tiers.mid.on_time_rate",
    "perfect": "perfect_order_rate",
}
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*>=\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*$")


def parse_target(text: str) -> tuple[str, float]:
    """``near.on_time>=0.9`` -> ("tiers.near.on_time_rate", 0.9); any kpis.json path works."""
    m = _TARGET.match(text)
    if m is None:
        raise ScenarioError(f"--target {text}: expected KPI>=X, e.g. near.on_time>=0.9")
    return ALIASES.get(m.group(1), m.group(1)), float(m.group(2))


def near_on_time_requested(run_dir: str | Path) -> float:
    """Near-requested measured orders delivered by the near tier within their promise (not downgraded) /
    near-requested measured orders: lost, downgraded and late orders count against it. The registry's
    ``tiers.near.on_time_rate`` is of *delivered* near orders; where the router offers the near tier only when
    the store can make the promise (every ``tiers.near.quote``), too few riders show up as near orders not
    offered (lost or downgraded), not as late ones, so that rate stays high however few riders are on shift."""
    from sim.metrics.registry import on_time_requested

    o = pd.read_parquet(
        Path(run_dir) / "orders.parquet",
        columns=["requested_tier", "served_tier", "status", "on_time", "downgraded", "warmup"],
    )
    m = o.loc[~o["warmup"].astype(bool) & (o["requested_tier"] == "near")]
    return float(on_time_requested(m).mean()) if len(m) else math.nan


DECISION_KPIS: dict[str, Callable[[str | Path], float]] = {"near.on_time_requested": near_on_time_requested}


def kpi_value(run_dir: str | Path, key: str) -> float:
    """A registered KPI (or one of ``DECISION_KPIS``) of a finished run (NaN where undefined)."""
    from sim.experiments.headline import read_orders
    from sim.metrics import registry as reg

    if key in DECISION_KPIS:
        return DECISION_KPIS[key](run_dir)
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


def design_key(hours: Any, alpha: float, alpha_riders: float) -> bytes:
    """The staffing a design puts in place (pickers per store, riders per store-hour), as bytes."""
    pickers = np.maximum(1, np.ceil(alpha * hours.pickers.max(axis=1) - 1e-9)).astype(np.int64)
    return pickers.tobytes() + rider_profile(hours, alpha_riders).tobytes()


def lowest_meeting(
    n: int, meets: Callable[[int], bool], *, known: int | None = None, start: int | None = None
) -> int | None:
    """The lowest position 0..n-1 whose design meets the target, by bisection, assuming meeting is monotone
    in the position (more staff never hurts). `known`: a position already known to meet (the search stays
    below it); else `start` is tried first and, if it fails, the top of the grid (a failing top ends the
    search: nothing on the grid meets). The answer's position below (if any) was simulated and fails."""
    lo, hi = -1, known  # lo: highest position known to fail (-1: the grid's floor); hi: lowest known to meet
    if hi is None:
        s = min(max(0 if start is None else start, 0), n - 1)
        if meets(s):
            hi = s
        else:
            lo = s
            if s == n - 1 or not meets(n - 1):
                return None
            hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


def search(
    grid: Sequence[float], trial: Callable[[float, float, str], bool], start: float = 1.0
) -> tuple[float, float] | None:
    """The module's three stages over `grid` (each a bisection, ``lowest_meeting``; the uniform stage starts
    at the grid point nearest `start`, the queueing start itself); `trial(α_p, α_r, stage)` says whether a
    design meets the target. Returns the chosen (α_p, α_r) or None (the top of the grid fails)."""
    g = sorted(grid)
    s0 = int(np.argmin([abs(a - start) for a in g]))
    i = lowest_meeting(len(g), lambda k: trial(g[k], g[k], "uniform"), start=s0)
    if i is None:
        return None
    chosen = [i, i]
    for axis, stage in ((1, "fewer riders"), (0, "fewer pickers")):  # then fewer pickers at those riders

        def meets(k: int, axis: int = axis, stage: str = stage) -> bool:
            c = list(chosen)
            c[axis] = k
            return trial(g[c[0]], g[c[1]], stage)

        j = lowest_meeting(len(g), meets, known=chosen[axis])
        chosen[axis] = chosen[axis] if j is None else j
    return g[chosen[0]], g[chosen[1]]


def rider_profile(hours: Any, alpha: float) -> np.ndarray:
    """(S, 24) riders on shift: ceil(α x the hourly queueing start), at least 1 in an open hour, 0 when closed."""
    r = np.ceil(alpha * hours.riders - 1e-9).astype(np.int64)
    return np.where(hours.open, np.maximum(r, 1), 0)


def staffed_scenario(
    base: Scenario,
    hours: Any,
    alpha: float,
    alpha_riders: float | None = None,
    profile_dir: Path | None = None,
) -> tuple[Scenario, pd.DataFrame, pd.DataFrame]:
    """`base` with every store an explicit site holding ceil(α x its busiest-hour picker start) pickers (at least
    1) and, per hour, ceil(α_riders x that hour's rider start) riders on shift (a staffing profile table written
    to `profile_dir`, read back through ``nodes.stores.staffing.profile``; without a directory, a constant
    ceil(α_riders x busiest-hour start) riders). Day multipliers are reset: the profile is the day's staffing.
    Returns the scenario, the per-store table and the per-store-hour profile."""
    ar = alpha if alpha_riders is None else alpha_riders
    data = to_dict(base)
    group = data["nodes"]["stores"]
    old = {s["id"]: s for s in group.get("sites", []) or []}
    prof = rider_profile(hours, ar)
    rows, sites, hourly = [], [], []
    for i, n in enumerate(hours.node):
        nid = hours.net_ids[n]
        pickers = max(1, math.ceil(alpha * int(hours.pickers[i].max()) - 1e-9))
        riders = (
            int(prof[i].max())
            if profile_dir is not None
            else max(1, math.ceil(ar * int(hours.riders[i].max()) - 1e-9))
        )
        site = dict(
            old.get(
                nid,
                {
                    "id": nid,
                    "city": hours.net_cities[n],
                    "lat": float(hours.lat[n]),
                    "lon": float(hours.lon[n]),
                },
            )
        )
        site["capacity"] = {**(site.get("capacity") or {}), "pickers": pickers, "riders": max(riders, 1)}
        sites.append(site)
        rider_hours = int(prof[i].sum()) if profile_dir is not None else riders * int(hours.open[i].sum())
        rows.append(
            {
                "store": nid,
                "city": hours.net_cities[n],
                "pickers": pickers,
                "riders": riders,
                "rider_hours": rider_hours,
                "peak_orders_per_hour": float(hours.lam_per_s[i].max() * 3600),
                "start_pickers": int(hours.pickers[i].max()),
                "start_riders": int(hours.riders[i].max()),
            }
        )
        hourly += [
            {
                "store": nid,
                "hour": h,
                "riders": int(prof[i, h]) if profile_dir is not None else riders * int(hours.open[i, h]),
                "pickers": pickers,
                "orders_per_hour": float(hours.lam_per_s[i, h] * 3600),
                "start_riders": int(hours.riders[i, h]),
                "start_pickers": int(hours.pickers[i, h]),
            }
            for h in range(24)
        ]
    profile = pd.DataFrame(hourly)
    sc = with_sites(base, "stores", sites)
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        path = profile_dir / f"pickers-{alpha:g}-riders-{ar:g}.csv"
        profile[["store", "hour", "riders"]].to_csv(path, index=False)
        sc = prepare(
            sc,
            overrides=[
                f"nodes.stores.staffing.profile={path.resolve()}",
                "nodes.stores.staffing.day_multiplier={}",
                "nodes.stores.staffing.promotion_multiplier=1",
            ],
        )
    return sc, pd.DataFrame(rows), profile


class _Hours:
    """The queueing start with the network fields staffed_scenario needs."""

    def __init__(self, sc: Scenario, net: Any, date: dt.date, target: float, slack_s: float) -> None:
        sh = store_hours(sc, net, date, target=target, slack_s=slack_s)
        self.node, self.lam_per_s, self.pickers, self.riders = sh.node, sh.lam_per_s, sh.pickers, sh.riders
        self.net_ids = net.node_ids
        self.net_cities = [net.city_names[int(c)] for c in net.node_city]
        self.lat, self.lon = net.node_lat, net.node_lon
        hour = np.arange(24) * 3600.0  # hours a store is open at all (its own service hours, else the tier's)
        spans = [net.node_capacity[n].service_hours or sc.tiers.near.service_hours for n in self.node]
        o = np.array([[parse_clock(a), parse_clock(b)] for a, b in spans]).reshape(-1, 2)
        self.open = (hour[None, :] + 3600.0 > o[:, :1]) & (hour[None, :] < o[:, 1:])


def staff(
    scenario: Scenario | str | Path,
    target: str,
    *,
    day: dt.date | None = None,
    replications: int = 3,
    slack_s: float = 300.0,
    levels: Sequence[float] = LEVELS,
    out: str | Path | None = None,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    policy: str | None = None,
    router: str | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """The smallest staffing level meeting `target` at 95% on `day` (default the first measured day)."""
    from sim.network import build_network

    check_options(executor, address, replications, None, 30)
    if replications < 2:
        raise ScenarioError("--replications: at least 2 are needed for a confidence bound")
    kpi, bound = parse_target(target)
    base = prepare(scenario, seed=seed, policy=policy, router=router, overrides=list(overrides or []))
    start = base.horizon.start_date
    first = start + dt.timedelta(days=base.horizon.warmup_days)
    day = day or first
    if day < first:
        raise ScenarioError(f"--day: {day} is before the first measured day {first}")
    if day != first or base.horizon.days != 1:  # the target is the day's alone: the days before are warm-up
        base = prepare(base, overrides=[f"horizon.warmup_days={(day - start).days}", "horizon.days=1"])
    if kpi_path_unknown(kpi):
        raise ScenarioError(
            f"--target: unknown KPI {kpi!r} (a kpis.json path such as tiers.near.on_time_rate)"
        )
    net = build_network(base)
    hours = _Hours(base, net, day, bound, slack_s)
    target_dir = (
        Path(out)
        if out is not None
        else Path("runs") / (f"staff-{base.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    )
    prepare_out(target_dir, "staff")
    info: dict[str, Any] = {
        "scenario": base.name,
        "target": f"{kpi}>={bound:g}",
        "day": str(day),
        "replications": replications,
        "slack_s": slack_s,
        "levels": list(levels),
        "policy": base.policy,
        "seed": base.seed,
        "overrides": list(overrides or []),
    }
    write_marker(target_dir, "staff", {**info, "status": "running"})

    profiles = target_dir / "profiles"

    def evaluate(
        ap: float, ar: float, reps: int, start: int = 0
    ) -> tuple[list[float], pd.DataFrame, pd.DataFrame, Scenario]:
        sc, table, prof = staffed_scenario(base, hours, ap, ar, profiles)
        g = Group(
            f"pickers x{ap:g}, riders x{ar:g}",
            f"p{ap:g}-r{ar:g}",
            sc,
            {"alpha_pickers": ap, "alpha_riders": ar},
        )
        outcomes, _ = run_rounds(
            [g],
            out=target_dir,
            replications=start + reps,
            executor=executor,
            address=address,
            workers=workers,
            progress=progress,
            name=f"staff {base.name}",
        )
        failed = [o for o in outcomes if not o.ok]
        if failed:  # a run that failed is not a design that misses the target: stop, naming it
            raise ScenarioError(
                f"staff: pickers x{ap:g}, riders x{ar:g}, replication {failed[0].replication} failed: "
                f"{failed[0].error} (finished runs are reused when the command is run again)"
            )
        vals = [kpi_value(o.out, kpi) for o in outcomes if o.replication >= start]
        return vals, table, prof, sc

    rows: list[dict[str, Any]] = []
    met: dict[bytes, tuple[tuple[float, float], pd.DataFrame, pd.DataFrame, Scenario]] = {}
    seen: dict[bytes, bool] = {}

    def trial(ap: float, ar: float, stage: str) -> bool:
        """Simulate (pickers x ap, riders x ar), or give the outcome of a design already tried that staffs
        exactly alike (ceil() of small starts)."""
        key = design_key(hours, ap, ar)
        if key in seen:
            return seen[key]
        vals, table, prof, sc = evaluate(ap, ar, replications)
        lb = lower_bound(vals)
        seen[key] = ok = bool(lb >= bound)
        rows.append(
            {
                "stage": stage,
                "alpha_pickers": ap,
                "alpha_riders": ar,
                "pickers": int(table["pickers"].sum()),
                "riders_peak": int(table["riders"].sum()),
                "rider_hours": int(table["rider_hours"].sum()),
                "mean": float(np.nanmean(vals)),
                "lower_95": lb,
                "meets": ok,
            }
        )
        if ok:
            met[key] = ((ap, ar), table, prof, sc)
        return ok

    chosen = search(sorted(levels), trial)
    levels_df = pd.DataFrame(rows)
    write_table(levels_df, target_dir, "levels")
    result: dict[str, Any] = {
        "path": target_dir,
        "levels": levels_df,
        "kpi": kpi,
        "target": bound,
        "chosen": None,
    }
    start_df = pd.DataFrame(
        [
            {
                "store": hours.net_ids[n],
                "hour": h,
                "orders_per_hour": float(hours.lam_per_s[i, h] * 3600),
                "start_pickers": int(hours.pickers[i, h]),
                "start_riders": int(hours.riders[i, h]),
            }
            for i, n in enumerate(hours.node)
            for h in range(24)
        ]
    )
    write_table(start_df, target_dir, "by_hour")
    if chosen is not None:  # the design as first simulated (a later grid point may staff exactly alike)
        chosen, table, prof, sc = met[design_key(hours, *chosen)]
        verify, _, _, _ = evaluate(*chosen, replications, start=replications)
        cost = base.costs
        open_h = hours.open.sum(axis=1)
        table["cost_cny_per_day"] = (
            table["pickers"] * open_h * cost.picker_per_hour_cny
            + table["rider_hours"] * cost.riders.per_hour_cny
        )
        write_table(table, target_dir, "staffing")
        write_table(prof, target_dir, "staffing_profile")
        from sim.io.scenario import to_dict as dump

        data = dump(sc)
        data["nodes"]["stores"]["staffing"]["profile"] = "staffing_profile.csv"  # beside staffed.yaml
        import yaml

        (target_dir / "staffed.yaml").write_text(
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        result["chosen"] = {
            "alpha": chosen[0],
            "alpha_pickers": chosen[0],
            "alpha_riders": chosen[1],
            "riders": int(table["riders"].sum()),
            "rider_hours": int(table["rider_hours"].sum()),
            "pickers": int(table["pickers"].sum()),
            "cost_cny_per_day": float(table["cost_cny_per_day"].sum()),
            "verified_mean": float(np.nanmean(verify)),
            "verified_lower_95": lower_bound(verify),
            "verified": bool(lower_bound(verify) >= bound),
        }
        result["staffing"] = table
        result["profile"] = prof
    write_marker(target_dir, "staff", {**info, "status": "done", "chosen": result["chosen"]})
    from sim.report.html import write_report

    write_report(target_dir)
    return result


def kpi_path_unknown(key: str) -> bool:
    """True if `key` is not a KPI of the registry (``sim.metrics.registry``)."""
    from sim.metrics.registry import REGISTRY

    return key not in REGISTRY and key not in DECISION_KPIS
