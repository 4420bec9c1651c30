"""The ``shangou`` command line (typer + rich); DESIGN.md section 9 is its contract.

Errors are one line on stderr (``error: path: rule, got value``) with exit 2 for invalid input,
1 for internal errors; ``--debug`` (anywhere on the line) shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
import typing
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from sim.cli_failures import internal_line, os_error_line, restore_term, term_as_interrupt
from sim.errors import ScenarioError, ShangouError
from sim.io import files
from sim.io.outdir import probe_writable

if TYPE_CHECKING:
    from sim.io.scenario import Scenario

from sim.cli_app import LabelOpt, MaxMemOpt, SetOpt, app, err, out  # noqa: F401  (the app and shared options)

PROGRESS_MODES = ("auto", "bar", "plain", "none")


# --------------------------------------------------------------------------- helpers
def total_ram_bytes() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(%|[kKmMgGtT]i?[bB]?|[bB])?\s*$")
_MULT = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "b": 1}


def parse_size(text: str | None) -> int:
    """'8GiB' / '500MB' / '60%' (of RAM) / bytes -> bytes; None -> 80 % of RAM."""
    if text is None:
        return int(0.8 * total_ram_bytes())
    m = _SIZE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ScenarioError(f"--max-memory: expected a size like 8GiB, 500MiB or 60%, got {text!r}")
    num, unit = float(m.group(1)), (m.group(2) or "b")
    if unit == "%":
        return int(num / 100 * total_ram_bytes())
    return int(num * _MULT[unit[0].lower()])


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(tmp_path), then rename tmp_path onto `path` (nothing half-written on failure)."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ScenarioError(f"{path}: is a directory")
    if not path.parent.exists():
        raise ScenarioError(f"{path}: directory {path.parent} does not exist")
    files.write_atomic(path, write)


def _load(path: Path, overrides: list[str] | None, max_memory: str | None = None) -> Scenario:
    from sim.io.scenario import load_scenario

    return load_scenario(path, overrides or [], max_memory=parse_size(max_memory))


def _pct(x: float) -> str:
    return "-" if x != x else f"{x:.1%}"


# --------------------------------------------------------------------------- verbs
def _per_worker(sc: Any) -> str:
    """', N regions (shards), ~X GiB per worker' for a regional scenario (sim.io.scenario.memory)."""
    if sc.nodes.ndcs.capacity.scope != "regional":
        return ""
    from sim.io.scenario.memory import shard_estimates, worker_memory_bytes

    return f" (regional: {len(shard_estimates(sc))} shards, ~{worker_memory_bytes(sc) / 2**30:.1f} GiB per worker)"


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="scenario YAML files")],
    set_: SetOpt = None,
    max_memory: MaxMemOpt = None,
) -> None:
    """Check scenario files: exit 0 if all are valid, 2 otherwise (one line per problem)."""
    from sim.io.scenario import estimate_memory_bytes

    bad = 0
    for path in scenarios:
        try:
            sc = _load(path, set_, max_memory)
            if sc.demand.source == "file":  # everything `run` reads: the history's rows too
                from sim.demand.history import check_history

                check_history(sc)
        except ScenarioError as exc:
            bad += 1
            prefix = f"{path}: " if len(scenarios) > 1 else ""
            for line in exc.problems:
                err.print(f"error: {prefix}{line}", markup=False)
            continue
        out.print(
            f"ok {path}: {sc.name} - {len(sc.geography.cities)} cities, {sc.nodes.count()} nodes, "
            f"{sc.catalog.n_skus} SKUs, {sc.demand.orders_per_day:,.0f} orders/day, "
            f"~{estimate_memory_bytes(sc) / 2**30:.1f} GiB estimated{_per_worker(sc)}",
            markup=False,
        )
        print_warnings(
            sc, [s.partition("=")[0].strip() for s in set_ or []], f"{path}: " if len(scenarios) > 1 else ""
        )
    if bad:
        raise typer.Exit(2)


def print_warnings(sc: Scenario, varied: list[str], prefix: str = "") -> None:
    """The scenario's ``warning: ...`` lines after its ``ok`` line on stdout (sim/traps.py); stderr keeps only
    errors, and warnings never change the exit code."""
    from sim.traps import scenario_warnings

    for line in scenario_warnings(sc, varied=varied):
        out.print(f"warning: {prefix}{line}", markup=False)


@app.command()
def schema() -> None:
    """Print the JSON schema of the scenario file."""
    from sim.io.scenario import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def network(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    plot: Annotated[Path | None, typer.Option("--plot", help="write a map of nodes and zones (PNG)")] = None,
    set_: SetOpt = None,
) -> None:
    """Node and zone counts per city, per-tier coverage of demand, and a map."""
    from sim.network import KINDS, build_network

    sc = _load(scenario, set_)
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ScenarioError(f"--plot: expected a .png, .svg or .pdf file name, got {str(plot)!r}")
    if plot is not None:
        probe_writable(plot, "--plot", parents=False)  # an unwritable place fails now, not after the work
    net = build_network(sc)
    cov = net.coverage()
    t = Table(title=f"{sc.name}: network", title_justify="left")
    for col in ("city", "zones", "NDC", "FDC", "stores", "demand", "near", "mid", "far"):
        t.add_column(col, justify="left" if col == "city" else "right")
    for c, name in enumerate(net.city_names):
        counts = [int(((net.node_city == c) & (net.node_kind == k)).sum()) for k in range(len(KINDS))]
        share = float(net.zone_weight[net.zone_city == c].sum())
        t.add_row(
            name,
            str(int((net.zone_city == c).sum())),
            *map(str, counts),
            f"{share:.1%}",
            *(_pct(cov[tier][name]) for tier in ("near", "mid", "far")),
        )
    totals = [int((net.node_kind == k).sum()) for k in range(len(KINDS))]
    t.add_row(
        "all",
        str(net.n_zones),
        *map(str, totals),
        "100.0%",
        *(f"{cov[tier]['all']:.1%}" for tier in ("near", "mid", "far")),
        style="bold",
    )
    out.print(t)
    out.print(
        f"demand = share of orders; near/mid/far = coverage, the share of a city's demand within reach: near = a store's rider radius, mid = an FDC's "
        f"van radius, far = an NDC; next-day parcel reach {net.next_day_share():.1%}",
        markup=False,
    )
    if plot is not None:
        from sim.report.plots import network_map

        fig = network_map(net, title=sc.name)
        write_atomic(plot, lambda p: fig.savefig(p, dpi=110, format=plot.suffix.lstrip(".").lower()))
        out.print(f"map written to {plot}", markup=False)


@app.command()
def demand(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="measured days (warm-up comes first)")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="directory for intraday.png and popularity.png")
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Demand and forecast summary: orders per day and city, tier mix, baskets, forecast WAPE and bias."""
    from sim.demand.summary import summarise

    sc = _load(scenario, set_)
    if plot is not None and plot.exists() and not plot.is_dir():
        raise ScenarioError(f"--plot: {plot} exists and is not a directory")
    if plot is not None:
        probe_writable(plot / "intraday.png", "--plot")
    s = summarise(sc, days)
    t = Table(title=f"{s.name}: orders per day ({s.source} demand)", title_justify="left")
    active = [
        c
        for c in range(len(s.city_names))
        if s.orders[:, c].sum() > 0 or (s.expected is not None and s.expected[:, c].sum() > 0)
    ]
    shown = sorted(active, key=lambda c: -int(s.orders[:, c].sum()))[:8]
    for col in (
        "date",
        "day",
        *(s.city_names[c] for c in shown),
        *(["other"] if len(active) > len(shown) else []),
        "total",
        "expected",
    ):
        t.add_column(col, justify="left" if col in ("date", "day") else "right")
    for d, date in enumerate(s.dates):
        row = [date, "warm-up" if d < s.warmup else "measured", *(f"{s.orders[d, c]:,}" for c in shown)]
        if len(active) > len(shown):
            row.append(f"{s.orders[d].sum() - s.orders[d, shown].sum():,}")
        row += [f"{s.orders[d].sum():,}", "-" if s.expected is None else f"{s.expected[d].sum():,.0f}"]
        t.add_row(*row)
    out.print(t)

    b = Table(title="baskets and tiers (all days)", title_justify="left")
    for col in ("measure", "measured", "model"):
        b.add_column(col, justify="left" if col == "measure" else "right")
    share = s.tier_counts / max(int(s.tier_counts.sum()), 1)
    for i, tier in enumerate(("near", "mid", "far")):
        b.add_row(f"requested {tier}", _pct(float(share[i])), _pct(float(s.tier_expected[i])))
    b.add_row("lines per order", f"{s.lines_per_order:.3f}", f"{s.lines_expected:.3f}")
    b.add_row("units per order", f"{s.units_per_order:.3f}", f"{s.units_expected:.3f}")
    b.add_row("top-20% SKUs' unit share", _pct(s.top_share), _pct(s.top_share_model))
    b.add_row("  analytic, Zipf popularity", "", _pct(s.top_share_zipf))
    out.print(b)

    f = Table(
        title=f"forecasts over the measured days ({s.cells:,} node x SKU x day cells)", title_justify="left"
    )
    for col in ("method", "WAPE/actual", "bias/actual", "WAPE/λ", "bias/λ"):
        f.add_column(col, justify="left" if col == "method" else "right")
    for i, sc_ in enumerate(s.scores):
        mark = " *" if i > 0 and sc_.method == s.configured else ""
        f.add_row(
            sc_.label + mark,
            _pct(sc_.wape_actual),
            f"{sc_.bias_actual:+.1%}",
            _pct(sc_.wape_rate),
            f"{sc_.bias_rate:+.1%}",
        )
    out.print(f)
    out.print(
        "WAPE = Σ|forecast - actual| / Σ actual over the cells; bias = Σ forecast / Σ actual - 1; actual = "
        "realised demand; λ = the true rate; * = the scenario's forecast.method. λ's WAPE against realised "
        "demand is the floor (Poisson and day noise no forecast removes).",
        markup=False,
    )
    if s.history:
        h = s.history
        out.print(
            f"history: {h['rows']:,} rows -> {h['orders']:,} orders ({h['before_start']:,} before the start: "
            f"forecast history only); SKUs as {'catalog indices' if h['sku_mode'] == 'index' else 'ids mapped by popularity'} "
            f"({h['sku_ids']:,} distinct); {h['merged_lines']:,} repeated lines merged, {h['cut_orders']:,} orders "
            f"cut to their first line, {h['tier_moved']:,} requested tiers moved to an eligible one",
            markup=False,
        )
    total = int(s.orders.sum())
    out.print(f"{total:,} orders over {len(s.dates)} days in {s.seconds:.1f} s", markup=False)
    if plot is not None:
        from sim.report.plots import intraday_profile, popularity_curve

        plot.mkdir(parents=True, exist_ok=True)
        figs = {
            "intraday.png": intraday_profile(
                s.hour_share, s.hour_counts, title=f"{s.name}: intraday profile"
            ),
            "popularity.png": popularity_curve(
                s.sku_units, s.sku_share_model, s.zipf, title=f"{s.name}: SKU popularity"
            ),
        }
        for fname, fig in figs.items():
            write_atomic(plot / fname, partial(fig.savefig, dpi=110, format="png"))
        out.print(f"plots written to {plot}/ ({', '.join(figs)})", markup=False)


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


# --------------------------------------------------------------------------- help text
def _plain_label(param: Any) -> str:
    """A value's label in help (PATH, N, X, TEXT, a|b), never a Python type (``<list[str]>``)."""
    desc = param.type_descriptor
    ann = desc.annotation
    args = typing.get_args(ann)
    base = args[0] if typing.get_origin(ann) is list and args else ann
    if desc.is_choice and desc.choices:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    if desc.is_path or base is Path:
        return "PATH"
    if base is int:
        return "N"
    if base is float:
        return "X"
    return "TEXT"


def plain_help(command: Any) -> Any:
    """Help and usage in the CLI's words: arguments as SCENARIO / [DIR], option values as PATH, N, X, TEXT
    (typer's defaults show ``{dir_}`` and ``<list[str]>``). Applied to every verb before the CLI runs."""
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    for param in command.params:
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            continue
        if param.param_type_name == "argument":
            name = (param.metavar or param.name or "ARG").strip("[]{}").rstrip("_").upper()
            dots = "..." if param.nargs != 1 else ""
            shown = name if param.required else f"[{name}]"
            param.display_type = lambda ctx, **_: ""
            param.display_type_rich = lambda ctx, **_: ""
            param._usage_display_name = lambda shown=shown, dots=dots: shown + dots
            param._rich_display_name = lambda name=name, dots=dots: name + dots
        else:
            label = _plain_label(param)
            param.display_type = lambda ctx, label=label, **_: label
            param.display_type_rich = lambda ctx, label=label, **_: label
    return command


# --------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and exits with) 0, 1 or 2 as the contract says."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:  # accepted anywhere on the line, not only before the verb
        args = ["--debug"] + [a for a in args if a != "--debug"]
    command = plain_help(typer.main.get_command(app))
    previous = term_as_interrupt()
    try:
        rv = command.main(args=args, prog_name="shangou", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        err.print("error: aborted")
        code = 1
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument (exit 2)
        err.print(f"error: {exc.format_message()}", markup=False)
        code = exc.exit_code
    except ShangouError as exc:
        if debug:
            traceback.print_exc()
        for line in getattr(exc, "problems", None) or [str(exc)]:
            err.print(f"error: {line}", markup=False)
        code = exc.exit_code
    except OSError as exc:
        if debug:
            traceback.print_exc()
        line, code = os_error_line(exc)
        err.print(line, markup=False)
    except Exception as exc:  # an internal error: one line unless --debug
        if debug:
            traceback.print_exc()
        err.print(internal_line(exc), markup=False)
        code = 1
    finally:
        restore_term(previous)
    if argv is None:
        sys.exit(code)
    return code


# --------------------------------------------------------------------------- more verbs
# Each area registers its verbs on `app` from its own module (imported here, after `app` exists).
from sim import cli_results  # noqa: E402,F401,I001
from sim import cli_experiments  # noqa: E402,F401
from sim import cli_explain  # noqa: E402,F401
from sim import cli_tools  # noqa: E402,F401
from sim import cli_calibrate  # noqa: E402,F401
from sim import cli_decide  # noqa: E402,F401
