"""The verbs that read a scenario without running it: ``validate``, ``schema``, ``network``, ``demand``."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.helpers import _load, _pct, _per_worker, print_warnings, write_atomic
from sim.cli.shared import MaxMemOpt, SetOpt, app, err, out
from sim.errors import ScenarioError
from sim.io.outdir import probe_writable


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
