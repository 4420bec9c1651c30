"""The ``run`` verb (one simulation, its KPIs and report) and ``print_kpis``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sim.cli.helpers import parse_size
from sim.cli.shared import LabelOpt, MaxMemOpt, SetOpt, app, err, out
from sim.errors import ScenarioError

PROGRESS_MODES = ("auto", "bar", "plain", "none")


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="run directory (default runs/<scenario>-<time>)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="replace an existing run directory once the new run is done")
    ] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="override the scenario seed")] = None,
    replication: Annotated[
        int, typer.Option("--replication", help="replication index (independent demand)")
    ] = 0,
    days: Annotated[
        int | None, typer.Option("--days", help="measured days (warm-up comes first, drain after)")
    ] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="policy SPEC, e.g. 'top_n(n=200)'")] = None,
    router: Annotated[
        str | None, typer.Option("--router", help="router name: nearest, tier_first, ...")
    ] = None,
    set_: SetOpt = None,
    max_memory: MaxMemOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
    progress: Annotated[
        str,
        typer.Option(
            "--progress",
            help="auto (a bar on a terminal, nothing otherwise), bar, "
            "plain (one line per simulated day on stderr, for logs and pipes), "
            "none",
        ),
    ] = "auto",
    no_report: Annotated[bool, typer.Option("--no-report", help="skip report.html and plots/")] = False,
    label: LabelOpt = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="also write explain.parquet: every routing decision's "
            "candidates, for `shangou explain`; memory ~120 bytes per candidate "
            "(order x node per routing epoch), ~300 while written: ~1 GiB per "
            "million orders with 8 candidates",
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="run a regional scenario's shards (one per "
            "regional DC, sim/shard.py) on local (process pool) or dask "
            "workers; same outputs as without",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="worker processes for --executor (default: CPUs; a local Dask cluster without --address)",
        ),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Dask scheduler for --executor dask, e.g. tcp://host:8786")
    ] = None,
) -> None:
    """Simulate a scenario and write its run directory (orders, lines, inventory, nodes, KPIs, report)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sim.run import prepare, simulate

    sc = prepare(scenario, seed=seed, days=days, policy=policy, router=router, overrides=set_)
    from sim.io.scenario.memory import memory_refusal

    if (workers is not None or address is not None) and executor is None:
        raise ScenarioError("--workers/--address: only with --executor local|dask")
    refusal = memory_refusal(sc, parse_size(max_memory))
    if refusal is not None:
        raise ScenarioError(refusal)
    if progress not in PROGRESS_MODES:
        raise ScenarioError(f"--progress: expected one of {', '.join(PROGRESS_MODES)}, got {progress!r}")
    mode = "none" if quiet else progress if progress != "auto" else ("bar" if err.is_terminal else "none")
    show = mode == "bar"
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
    ) as bar:
        total = sc.horizon.warmup_days + sc.horizon.days
        task = bar.add_task(f"{sc.name}", total=total, info="")
        t0 = time.perf_counter()

        def tick(day: int, total_days: int, orders: int) -> None:
            rate = orders / max(time.perf_counter() - t0, 1e-9)
            bar.update(
                task,
                completed=min(day, total_days),
                info=f"day {day}/{total_days}, {orders:,} orders, {rate:,.0f} orders/s",
            )
            if mode == "plain" and day > 0:
                print(
                    f"progress: {sc.name}: day {day}/{total_days} simulated, {orders:,} orders, {rate:,.0f} "
                    f"orders/s, {time.perf_counter() - t0:,.0f} s",
                    file=sys.stderr,
                    flush=True,
                )

        pool = None
        if executor is not None:
            from sim.experiments.executors import make_executor
            from sim.shard import plan_shards

            plan_shards(sc)  # refuse (exit 2) before starting workers
            pool = make_executor(executor, address=address, workers=workers)
        try:
            result = simulate(
                sc,
                replication=replication,
                out=out_dir,
                force=force,
                progress=tick,
                report=not no_report,
                explain=explain,
                label=label,
                meta={"overrides": list(set_ or [])},
                executor=pool,
                tables=() if quiet else ("orders",),  # what this command prints
            )
        finally:
            if pool is not None:
                pool.close()
    if not quiet and "shards" in result.manifest:
        for sh in result.manifest["shards"]:
            out.print(
                f"shard {sh['region']}: {sh['orders']:,} orders in {sh['wall_s']:.1f} s, worker peak RSS "
                f"{sh['peak_rss_mib']:,.0f} MiB"
            )
    if not quiet:
        print_kpis(result.kpis, str(result.path), result.orders)


def print_kpis(k: dict[str, Any], path: str, orders: Any = None) -> None:
    """The headline KPI table a planner reads after a run (labels from the KPI registry; `orders`,
    the run's orders table, adds the KPIs computed from it)."""
    t = Table(title=f"KPIs (measured days) - {path}", title_justify="left")
    t.add_column("KPI")
    t.add_column("value", justify="right")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.1%}"

    from sim.metrics import registry as reg  # labels, units and formats of every KPI

    rows = [
        (kpi.label_unit, kpi.fmt(reg.value(kpi.key, k, orders)).replace(" CNY", "").replace(" min", ""))
        for kpi in reg.shown_in("cli")
        if kpi.source != "orders" or orders is not None
    ]
    for tier in ("near", "mid", "far"):
        d = k["tiers"][tier]
        if d["share"]:
            rows.append(
                (
                    f"{tier} (of delivered): share / on time / p90 min",
                    f"{pct(d['share'])} / {pct(d['on_time_rate'])} / {d['p90_min']:.0f}",
                )
            )
            if d.get("mean_min") is not None:
                rows.append(
                    (
                        f"{tier}: mean min / within promise",
                        f"{d['mean_min']:.1f} / {pct(d['within_promise_rate'])}",
                    )
                )
    for name, value in rows:
        t.add_row(name, value)
    out.print(t)
