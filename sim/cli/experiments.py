"""The ``compare`` and ``sweep`` verbs (DESIGN.md 9), registered on ``sim.cli.app``.

Exit codes: 0 all jobs succeeded; 2 invalid input before anything ran (a malformed SPEC or grid, an
unknown path, a bad --out); 1 if some jobs failed - the tables and plots are still written from the
successful ones, and each failure is one ``error:`` line naming the job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sim.cli.shared import LabelOpt, SetOpt, app, err, out

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments import ExperimentResult

RepOpt = Annotated[int, typer.Option("--replications", min=1, help="replications per configuration")]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", help="output directory (default runs/<verb>-<scenario>-<time>); an earlier one is resumed"
    ),
]
ExecOpt = Annotated[str, typer.Option("--executor", help="local (process pool) or dask")]
AddrOpt = Annotated[
    str | None,
    typer.Option("--address", help="Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)"),
]
WorkersOpt = Annotated[int | None, typer.Option("--workers", min=1, help="worker processes (default: CPUs)")]
CiOpt = Annotated[
    float | None,
    typer.Option(
        "--ci-width",
        help="add replications until every 95% CI half-width of cost per order is <= X of its mean "
        "and of perfect-order rate <= X (rate points), e.g. 0.02",
    ),
]
MaxRepOpt = Annotated[int, typer.Option("--max-replications", min=2, help="cap for --ci-width")]
DaysOpt = Annotated[int | None, typer.Option("--days", min=1, help="measured days (warm-up comes first)")]
RouterOpt = Annotated[str | None, typer.Option("--router", help="router name for every run")]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="override the scenario seed (the same for every job)")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="no progress bar and no table")]

TABLES = (  # (title, [kpi]): two tables so each fits a terminal; headers from the KPI registry
    (
        "cost and service",
        ("cost_per_order_cny", "perfect_order_rate", "on_time_requested_rate", "requested_tier_rate"),
    ),
    (
        "speed and stock",
        ("lost_sales_rate", "near_mid_share", "delivery_p90_min", "forward_inventory_value_cny"),
    ),
)
DIFF_COLUMNS = ("cost_per_order_cny", "perfect_order_rate", "lost_sales_rate")


def _fmt(x: float, percent: bool, signed: bool = False, digits: int | None = None) -> str:
    if x != x:
        return "-"
    if percent:
        return f"{x:+.1%}" if signed else f"{x:.1%}"
    d = digits if digits is not None else (0 if abs(x) >= 100 else 2)
    return f"{x:+,.{d}f}" if signed else f"{x:,.{d}f}"


def _cell(mean: float, half: float, percent: bool, signed: bool = False) -> str:
    """'mean ± half-width' with the half-width at the mean's precision (rates in points)."""
    text = _fmt(mean, percent, signed)
    if half == half and mean == mean:
        text += f" ± {_fmt(half, percent, digits=0 if abs(mean) >= 100 else 2).rstrip('%')}"
    return text


def print_summary(table: pd.DataFrame, key: str, title: str) -> None:
    """One row per configuration: headline KPIs as mean ± 95% CI half-width, and the paired
    differences to the first (* = the interval excludes 0)."""
    from sim.experiments.headline import BY_NAME

    labels = list(dict.fromkeys(table[key]))
    # a file or pipe gets whole tables, not ones squeezed into 80 columns
    wide = out if out.is_terminal else Console(file=out.file, width=220, highlight=False, soft_wrap=True)
    for part, columns in TABLES:
        t = Table(title=f"{title}: {part}", title_justify="left")
        t.add_column(key, overflow="fold")
        t.add_column("n", justify="right", min_width=2)
        for kpi in columns:
            t.add_column(
                BY_NAME[kpi].label_unit, justify="right"
            )  # narrow terminals wrap cells rather than cut them
            if kpi in DIFF_COLUMNS:
                t.add_column("Δ vs first", justify="right")
        for i, label in enumerate(labels):
            rows = table[table[key] == label].set_index("kpi")
            fails = int(rows["n_failed"].iloc[0])
            cells = [
                str(label),
                f"{int(rows.loc['cost_per_order_cny', 'n'])}" + (f" ({fails} failed)" if fails else ""),
            ]
            for kpi in columns:
                r, pct = rows.loc[kpi], BY_NAME[kpi].percent
                cells.append(_cell(float(r["mean"]), float(r["half_width"]), pct))
                if kpi in DIFF_COLUMNS:
                    lo, hi = float(r["diff_ci_low"]), float(r["diff_ci_high"])
                    star = " *" if (lo > 0 or hi < 0) else ""
                    cells.append(
                        "baseline"
                        if i == 0
                        else _cell(float(r["diff_mean"]), (hi - lo) / 2, pct, True) + star
                    )
            t.add_row(*cells)
        wide.print(t)
    out.print(
        "mean ± 95% CI half-width (Student t, rates ± points); Δ = paired difference to the first row over "
        "common replications (common random numbers), * = its 95% CI excludes 0",
        markup=False,
    )
    cost = table[(table["kpi"] == "cost_per_order_cny") & table["corr"].notna()]
    if len(cost):
        pairs = ", ".join(f"{r[key]} {r['corr']:+.2f}" for _, r in cost.iterrows())
        out.print(
            f"correlation with the first row across replications (cost per order): {pairs}", markup=False
        )


def report(result: ExperimentResult, key: str, what: str, quiet: bool) -> None:
    """Table, failures (one error line each), where the files are; exit 1 if any job failed."""
    name = result.groups[0].scenario.name
    if not quiet:
        print_summary(result.table, key, f"{what} {name} - {result.path}")
    for f in result.failures:
        err.print(f"error: {f.group} replication {f.replication} failed ({f.out}): {f.error}", markup=False)
    n, bad = len(result.outcomes), len(result.failures)
    stem = "comparison" if what == "compare" else "sweep"
    out.print(
        f"{n} jobs: {result.ran} ran, {result.reused} reused, {bad} failed; {result.path / stem}.csv, "
        f"{result.path}/replications.csv, plots in {result.path}/plots/",
        markup=False,
    )
    if bad:
        groups = sorted({f.group for f in result.failures})
        err.print(
            f"error: {bad} of {n} jobs failed ({', '.join(groups)}); the statistics use the successful ones",
            markup=False,
        )
        raise typer.Exit(1)


def _progress(quiet: bool) -> bool | None:
    return False if quiet else None  # None: a bar only on a terminal


@app.command()
def compare(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    policies: Annotated[
        str,
        typer.Option(
            "--policies",
            help="policy SPECs, comma-separated; the first is the baseline, e.g. 'central_only,top_n(n=100)'",
        ),
    ],
    replications: RepOpt = 5,
    out_dir: OutOpt = None,
    executor: ExecOpt = "local",
    address: AddrOpt = None,
    workers: WorkersOpt = None,
    ci_width: CiOpt = None,
    max_replications: MaxRepOpt = 30,
    days: DaysOpt = None,
    router: RouterOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
    label: LabelOpt = None,
) -> None:
    """Compare policies over replications with common random numbers: means, 95% CIs, paired
    differences to the first policy, Pareto plots. Exit 1 if some jobs failed (reported)."""
    from sim.experiments.compare import compare as run_compare

    result = run_compare(
        scenario,
        policies,
        replications=replications,
        out=out_dir,
        executor=executor,
        address=address,
        workers=workers,
        ci_width=ci_width,
        max_replications=max_replications,
        router=router,
        days=days,
        seed=seed,
        overrides=set_,
        progress=_progress(quiet),
        label=label,
    )
    report(result, "policy", "compare", quiet)


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid",
            help="path=v1,v2,... (repeatable; the grid is their product), "
            "e.g. forecast.error=0.1,0.3 or policy=top_n(n=50),top_n(n=100)",
        ),
    ],
    replications: RepOpt = 3,
    out_dir: OutOpt = None,
    executor: ExecOpt = "local",
    address: AddrOpt = None,
    workers: WorkersOpt = None,
    ci_width: CiOpt = None,
    max_replications: MaxRepOpt = 30,
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="policy SPEC for every point (unless the grid varies policy)"),
    ] = None,
    days: DaysOpt = None,
    router: RouterOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
    label: LabelOpt = None,
) -> None:
    """Run a grid of scenario overrides (replicated, common random numbers): table, heat map, frontier."""
    from sim.experiments.sweep import sweep as run_sweep
    from sim.traps import staffing_warnings

    if not quiet:
        from sim.run import prepare

        for line in staffing_warnings(
            prepare(scenario, overrides=set_), [g.partition("=")[0].strip() for g in grid]
        ):
            err.print(f"warning: {line}", markup=False)
    result = run_sweep(
        scenario,
        grid,
        replications=replications,
        out=out_dir,
        executor=executor,
        address=address,
        workers=workers,
        ci_width=ci_width,
        max_replications=max_replications,
        policy=policy,
        router=router,
        days=days,
        seed=seed,
        overrides=set_,
        progress=_progress(quiet),
        label=label,
    )
    report(result, "point", "sweep", quiet)
