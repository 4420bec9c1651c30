"""The decision verbs (DESIGN.md 9): ``optimize``, ``staff``, ``sites`` and ``promise``, on ``sim.cli.app``.

Exit codes: 0 a design was chosen; 2 invalid input before anything ran (a malformed --param,
objective or constraint, an unknown path, a bad --out); 1 if no evaluated design met the
constraints (the tables and report are still written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.experiments import (
    AddrOpt,
    DaysOpt,
    ExecOpt,
    QuietOpt,
    RouterOpt,
    SeedOpt,
    WorkersOpt,
    _progress,
)
from sim.cli.shared import SetOpt, app, err, out


@app.command()
def optimize(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    param: Annotated[
        list[str],
        typer.Option(
            "--param",
            help="a decision: PATH=LO..HI (integers if both are; ':log' for a log scale) or PATH=a|b|c; "
            "PATH is a --set path or policy.KNOB (e.g. policy.n=500..2500); repeatable",
        ),
    ],
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="headline KPI to optimise in its natural direction (cost_per_order_cny: min, "
            "perfect_order_rate: max), or min:KPI / max:KPI",
        ),
    ],
    constraint: Annotated[
        list[str] | None,
        typer.Option(
            "--constraint", help="KPI>=X or KPI<=X on the mean, e.g. perfect_order_rate>=0.75; repeatable"
        ),
    ] = None,
    budget: Annotated[
        int, typer.Option("--budget", min=1, help="distinct designs the search evaluates")
    ] = 20,
    replications: Annotated[
        int, typer.Option("--replications", min=1, help="replications per design in the search")
    ] = 2,
    select_top: Annotated[
        int, typer.Option("--select-top", min=1, help="best designs re-run for the final choice")
    ] = 3,
    select_replications: Annotated[
        int | None,
        typer.Option(
            "--select-replications",
            min=1,
            help="replications of each finalist (default max(2 x --replications, 5))",
        ),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            min=1,
            help="designs proposed per search step, run in parallel (the designs do not depend on --workers)",
        ),
    ] = 2,
    start: Annotated[
        bool,
        typer.Option(
            "--start/--no-start",
            help="evaluate the scenario's own design first (its field values and policy knobs, when in the ranges)",
        ),
    ] = True,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="output directory (default runs/optimize-<scenario>-<time>); an earlier one is resumed",
        ),
    ] = None,
    executor: ExecOpt = "local",
    address: AddrOpt = None,
    workers: WorkersOpt = None,
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="policy SPEC whose knobs policy.KNOB varies (default: the scenario's)"),
    ] = None,
    days: DaysOpt = None,
    router: RouterOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Find the design (scenario fields, policy knobs) with the best objective meeting the constraints:
    seeded TPE search over simulations with common random numbers, then a final choice among the best
    designs on more replications with simultaneous 95% intervals."""
    from sim.decide.study import optimize as run_optimize

    if not quiet:  # a varied rider headcount that costs nothing (sim/traps.py)
        from sim.run import prepare
        from sim.traps import staffing_warnings

        for line in staffing_warnings(
            prepare(scenario, overrides=set_), [p.partition("=")[0].strip() for p in param]
        ):
            err.print(f"warning: {line}", markup=False)
    result = run_optimize(
        scenario,
        param,
        objective=objective,
        constraints=constraint or [],
        budget=budget,
        replications=replications,
        select_top=select_top,
        select_replications=select_replications,
        out=out_dir,
        executor=executor,
        address=address,
        workers=workers,
        policy=policy,
        router=router,
        days=days,
        seed=seed,
        overrides=set_,
        progress=_progress(quiet),
        batch=batch,
        start=start,
    )
    if not quiet:
        t = Table(title=f"optimize: chosen design ({result.path})", title_justify="left")
        for col in ("KPI", "mean", "95% CI"):
            t.add_column(col, justify="left" if col == "KPI" else "right")
        for _, r in result.chosen_kpis.iterrows():
            t.add_row(str(r["label"]), f"{r['mean']:,.4g}", f"{r['ci_low']:,.4g} .. {r['ci_high']:,.4g}")
        out.print(t)
    if result.chosen is None:
        err.print("error: no evaluated design met every constraint on its mean; see trials.csv", markup=False)
        raise typer.Exit(1)
    label = ", ".join(f"{k}={v}" for k, v in result.chosen.items())
    out.print(
        f"chosen: {label}; {result.simulations} simulations; {result.path}/trials.csv, finalists.csv, "
        f"report.html",
        markup=False,
    )


def _open_range(text: str) -> list[int]:
    from sim.errors import ScenarioError

    lo, sep, hi = text.partition("..")
    try:
        ks = list(range(int(lo), int(hi) + 1)) if sep else [int(text)]
    except ValueError:
        raise ScenarioError(f"--open: expected K or LO..HI (e.g. 3 or 1..4), got {text!r}") from None
    if not ks or min(ks) < 0:
        raise ScenarioError(f"--open: expected K >= 0 or LO..HI with LO <= HI, got {text!r}")
    return ks


@app.command()
def sites(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    candidates: Annotated[
        str,
        typer.Option(
            "--candidates",
            help="CSV id,city,lat,lon[,fixed_cost_cny_per_day]; 'auto' (the existing sites plus the "
            "busiest zones of each city) or 'existing' (which current sites to keep)",
        ),
    ],
    open_: Annotated[str, typer.Option("--open", help="sites to open: K or a range LO..HI")],
    kind: Annotated[str, typer.Option("--kind", help="fdc (forward warehouses) or store")] = "fdc",
    auto_per_city: Annotated[
        int, typer.Option("--auto-per-city", min=0, help="new places per city with --candidates auto")
    ] = 3,
    replications: Annotated[int, typer.Option("--replications", min=1, help="replications per proposal")] = 3,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="output directory (default runs/sites-<scenario>-<time>); an earlier one is resumed"
        ),
    ] = None,
    executor: ExecOpt = "local",
    address: AddrOpt = None,
    workers: WorkersOpt = None,
    policy: Annotated[str | None, typer.Option("--policy", help="policy SPEC for every run")] = None,
    days: DaysOpt = None,
    router: RouterOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Which sites to open: a facility-location model (CP-SAT) proposes the best K sites for each K, and
    every proposal is simulated with common random numbers and ranked with 95% CIs."""
    from sim.decide.study import sites as run_sites

    res = run_sites(
        scenario,
        candidates,
        _open_range(open_),
        kind=kind,
        auto_per_city=auto_per_city,
        replications=replications,
        out=out_dir,
        executor=executor,
        address=address,
        workers=workers,
        policy=policy,
        router=router,
        days=days,
        seed=seed,
        overrides=set_,
        progress=_progress(quiet),
    )
    table = res["table"]
    if not quiet:
        t = Table(title=f"sites: proposals ({res['path']})", title_justify="left")
        for col in ("K", "sites", "model CNY/day", "cost/order CNY", "perfect-order rate"):
            t.add_column(col, justify="left" if col == "sites" else "right", overflow="fold")
        for _, p in res["proposals"].iterrows():
            rows = table[table["proposal"] == f"K={p['k']}"].set_index("kpi")
            c, q = rows.loc["cost_per_order_cny"], rows.loc["perfect_order_rate"]
            t.add_row(
                str(p["k"]),
                str(p["sites"]),
                f"{p['model_cost_cny_per_day']:,.0f}",
                f"{c['mean']:,.2f} ± {c['half_width']:,.2f}",
                f"{q['mean']:.1%} ± {q['half_width'] * 100:.1f}",
            )
        out.print(t)
    for f in res["failures"]:
        err.print(f"error: {f['proposal']} replication {f['replication']} failed: {f['error']}", markup=False)
    out.print(f"{res['path']}/sites.csv, proposals.csv, candidates.csv, report.html", markup=False)
    if res["failures"]:
        raise typer.Exit(1)


@app.command()
def staff(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    target: Annotated[
        str,
        typer.Option(
            "--target",
            help="KPI>=X to meet with 95% confidence on --day, e.g. near.on_time_requested>=0.6 (near requests delivered near on time; lost and downgraded count against) or any KPI of docs/kpis.md",
        ),
    ],
    day: Annotated[
        str | None, typer.Option("--day", help="date to staff, YYYY-MM-DD (default: the first measured day)")
    ] = None,
    replications: Annotated[int, typer.Option("--replications", min=2, help="replications per level")] = 3,
    slack: Annotated[
        float,
        typer.Option(
            "--slack-s", min=0, help="queueing start: the wait (s) the target allows for a picker or a rider"
        ),
    ] = 300.0,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="output directory (default runs/staff-<scenario>-<time>); an earlier one is resumed"
        ),
    ] = None,
    executor: ExecOpt = "local",
    address: AddrOpt = None,
    workers: WorkersOpt = None,
    policy: Annotated[str | None, typer.Option("--policy", help="policy SPEC for every run")] = None,
    router: RouterOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """The fewest riders and pickers per store meeting a service target: an Erlang-C start per store and
    hour, scaled on a grid and simulated until the target holds at 95%, then verified on fresh runs."""
    import datetime as dt

    from sim.decide.staff import staff as run_staff
    from sim.errors import ScenarioError

    try:
        date = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise ScenarioError(f"--day: expected YYYY-MM-DD, got {day!r}") from None
    res = run_staff(
        scenario,
        target,
        day=date,
        replications=replications,
        slack_s=slack,
        out=out_dir,
        executor=executor,
        address=address,
        workers=workers,
        policy=policy,
        router=router,
        seed=seed,
        overrides=set_,
        progress=_progress(quiet),
    )
    if not quiet:
        t = Table(title=f"staff: levels simulated ({res['path']})", title_justify="left")
        for col in (
            "stage",
            "pickers x",
            "riders x",
            "rider-hours",
            "pickers",
            "mean",
            "95% lower bound",
            "meets",
        ):
            t.add_column(col, justify="right")
        for _, r in res["levels"].iterrows():
            t.add_row(
                str(r["stage"]),
                f"{r['alpha_pickers']:g}",
                f"{r['alpha_riders']:g}",
                str(r["rider_hours"]),
                str(r["pickers"]),
                f"{r['mean']:.3f}",
                f"{r['lower_95']:.3f}",
                "yes" if r["meets"] else "no",
            )
        out.print(t)
    c = res["chosen"]
    if c is None:
        err.print(f"error: no staffing level on the grid meets {res['kpi']}>={res['target']:g}", markup=False)
        raise typer.Exit(1)
    out.print(
        f"chosen: pickers x{c['alpha_pickers']:g}, riders x{c['alpha_riders']:g}: {c['rider_hours']} rider-hours "
        f"(peak {c['riders']} riders), {c['pickers']} pickers, "
        f"{c['cost_cny_per_day']:,.0f} CNY/day; verified on fresh replications: mean {c['verified_mean']:.3f}, "
        f"lower bound {c['verified_lower_95']:.3f} ({'met' if c['verified'] else 'not met'}); "
        f"{res['path']}/staffing.csv, staffing_profile.csv, staffed.yaml, report.html",
        markup=False,
    )


@app.command()
def promise(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    near: Annotated[
        str,
        typer.Option(
            "--near",
            help="near promises in minutes, each with the rider radius it "
            "allows (MIN:KM; default the scenario's radius x MIN / 30), "
            "e.g. 30,45,60 or 30:3,60:5",
        ),
    ] = "30,45,60",
    mid: Annotated[
        str, typer.Option("--mid", help="mid promises in hours (a rolling cut-off every H/4), e.g. 2,4,6")
    ] = "2,4,6",
    replications: Annotated[int, typer.Option("--replications", min=1, help="replications per design")] = 3,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="output directory (default runs/promise-<scenario>-<time>); an earlier one is resumed",
        ),
    ] = None,
    executor: ExecOpt = "local",
    address: AddrOpt = None,
    workers: WorkersOpt = None,
    policy: Annotated[str | None, typer.Option("--policy", help="policy SPEC for every run")] = None,
    days: DaysOpt = None,
    router: RouterOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Promise what-ifs: every near x mid promise simulated with common random numbers, shoppers ordering
    less at longer promises (demand.conversion on): orders won, cost per order, perfect-order rate."""
    from sim.decide.promise import parse_mid, parse_near
    from sim.decide.promise import promise as run_promise

    res = run_promise(
        scenario,
        parse_near(near),
        parse_mid(mid),
        replications=replications,
        out=out_dir,
        executor=executor,
        address=address,
        workers=workers,
        policy=policy,
        router=router,
        days=days,
        seed=seed,
        overrides=set_,
        progress=_progress(quiet),
    )
    if not quiet:
        t = Table(title=f"promise: designs ({res['path']})", title_justify="left")
        for col in ("near min", "radius km", "mid h", "won/day", "cost/order CNY", "perfect-order rate"):
            t.add_column(col, justify="right")
        table = res["table"]
        for _, w in res["won"].iterrows():
            rows = table[table["design"] == w["design"]].set_index("kpi")
            c, q = rows.loc["cost_per_order_cny"], rows.loc["perfect_order_rate"]
            t.add_row(
                f"{w['near_min']:g}",
                f"{w['rider_radius_km']:g}",
                f"{w['mid_h']:g}",
                f"{w['orders_won_per_day']:,.0f}",
                f"{c['mean']:,.2f} ± {c['half_width']:,.2f}",
                f"{q['mean']:.1%} ± {q['half_width'] * 100:.1f}",
            )
        out.print(t)
    for f in res["failures"]:
        err.print(f"error: {f['design']} replication {f['replication']} failed: {f['error']}", markup=False)
    out.print(f"{res['path']}/promise.csv, won.csv, report.html", markup=False)
    if res["failures"]:
        raise typer.Exit(1)
