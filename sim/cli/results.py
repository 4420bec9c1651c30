"""Result verbs of ``shangou`` (DESIGN.md 9): ``runs``, ``query`` and ``report``.

Registered on ``sim.cli.app`` when ``sim.cli`` imports this module (its last line). Invalid input
(a directory without runs, bad SQL, an unknown output extension) raises ScenarioError: one line on
stderr, exit 2. Heavy imports (DuckDB, matplotlib) happen inside the verbs so the CLI starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sim.cli.shared import app, out
from sim.errors import ScenarioError

DirArg = Annotated[Path, typer.Argument(help="a run directory or a folder of runs (e.g. a compare output)")]


def _cell(v: Any) -> str:
    """A value as table text: '-' for null/NaN, 6 significant digits for small floats."""
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _show(t: Table) -> None:
    """Print a table; off a terminal (a pipe, a file) use a wide page rather than squashing columns."""
    if out.is_terminal:
        out.print(t)
    else:
        Console(highlight=False, soft_wrap=True, width=max(out.width, 240)).print(t)


def _pct(v: Any) -> str:
    return "-" if v is None or v != v else f"{float(v):.1%}"


def run_groups(df: Any, root: Path) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """The runs view's rows grouped by the experiment (compare / sweep folder) they belong to, each row with
    its manifest's label, group, grid point and overrides: [(experiment folder or "", its experiment.json,
    rows)], single runs (folder "") first."""
    import json

    groups: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for r in df.to_dict("records"):
        path = Path(str(r["path"]))
        try:
            man = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            man = {}
        rid = str(r["run_id"])
        exp_dir = rid.split("/runs/")[0] if "/runs/" in f"/{rid}" else ""
        if rid.startswith("runs/"):
            exp_dir = "."
        info: dict[str, Any] = {}
        if exp_dir:
            folder = root if exp_dir == "." else root / exp_dir
            try:
                info = json.loads((folder / "experiment.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                exp_dir, info = "", {}
        r = {
            **r,
            "label": man.get("label"),
            "group": man.get("group"),
            "grid": man.get("grid") or {},
            "overrides": man.get("overrides") or [],
        }
        groups.setdefault(exp_dir, (info, []))[1].append(r)
    return [(k, *groups[k]) for k in sorted(groups, key=lambda k: (k != "", k))]


def _kpi_cells(r: dict[str, Any]) -> list[str]:
    cost = r["cost_per_order_cny"]
    return [
        "-" if r["orders"] != r["orders"] else f"{int(r['orders']):,}",
        _pct(r["perfect_order_rate"]),
        _pct(r["requested_tier_rate"]),
        _pct(r["lost_sales_rate"]),
        " / ".join(_pct(r[f"{t}_share"]) for t in ("near", "mid", "far")),
        "-" if cost is None or cost != cost else f"{cost:.2f}",
    ]


KPI_HEADS = ("orders", "perfect", "req. tier", "lost", "near/mid/far", "CNY/order")


@app.command()
def runs(
    dir_: Annotated[Path, typer.Argument(metavar="[DIR]", help="folder of runs (default: runs)")] = Path(
        "runs"
    ),
) -> None:
    """List the runs under DIR with their headline KPIs, grouped by experiment (compare / sweep folder),
    with labels (--label), overrides (--set) and grid values."""
    from sim.io.query import connect

    con = connect(dir_)
    try:
        df = con.execute("SELECT * FROM runs ORDER BY run_id").df()
    finally:
        con.close()
    out.print(f"{len(df)} run(s) under {dir_}", markup=False)
    for exp_dir, info, rows in run_groups(df, Path(dir_)):
        if not exp_dir:
            t = Table(title=f"single runs ({len(rows)})", title_justify="left")
            heads: tuple[str, ...] = (
                "run",
                "label",
                "scenario",
                "policy",
                "overrides",
                "rep",
                "seed",
                *KPI_HEADS,
            )
        else:
            what = [f"{info.get('kind', 'experiment')} of {info.get('scenario', '?')}"]
            what += [f"label {info['label']}"] if info.get("label") else []
            what += [f"--set {' '.join(info['overrides'])}"] if info.get("overrides") else []
            if info.get("grid"):
                what.append(
                    "grid " + "; ".join(f"{k}={','.join(map(str, v))}" for k, v in info["grid"].items())
                )
            t = Table(title=f"{exp_dir}: {', '.join(what)} ({len(rows)} runs)", title_justify="left")
            grid_keys = list(info.get("grid") or {})
            heads = ("run", "policy" if not grid_keys else "", *grid_keys, "rep", *KPI_HEADS)
            heads = tuple(h for h in heads if h)
        for col in heads:
            t.add_column(
                col,
                justify="left"
                if col in ("run", "label", "scenario", "policy", "overrides") or col.count(".")
                else "right",
            )
        for r in rows:
            if not exp_dir:
                cells = [
                    str(r["run_id"]),
                    _cell(r["label"]),
                    _cell(r["scenario"]),
                    _cell(r["policy"]),
                    " ".join(r["overrides"]) or "-",
                    _cell(r["replication"]),
                    _cell(r["seed"]),
                ]
            else:
                grid_keys = list(info.get("grid") or {})
                rid = str(r["run_id"])
                cells = [rid[len(exp_dir) + 1 :] if exp_dir != "." else rid]
                cells += (
                    [_cell(r["policy"])] if not grid_keys else [_cell(r["grid"].get(k)) for k in grid_keys]
                )
                cells += [_cell(r["replication"])]
            t.add_row(*cells, *_kpi_cells(r))
        _show(t)


@app.command()
def query(
    dir_: DirArg,
    sql: Annotated[
        str,
        typer.Argument(
            help="SQL over the views orders, lines, inventory, nodes, kpis, "
            "kpis_by_day, runs (and skus, order_ids when the runs have them)"
        ),
    ],
    to: Annotated[
        Path | None, typer.Option("--to", help="write the result to a .csv or .parquet file")
    ] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="rows to print (without --to)")] = 50,
) -> None:
    """Run SQL (DuckDB) over a run or a folder of runs; print the result or write it with --to."""
    from sim.io.query import OUTPUT_SUFFIXES, write_table
    from sim.io.query import query as run_query

    if to is not None and to.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ScenarioError(f"--to: expected a .csv or .parquet file name, got {str(to)!r}")
    if not sql.strip():
        raise ScenarioError("query: empty SQL")
    df = run_query(dir_, sql)
    if to is not None:
        write_table(df, to)
        out.print(f"{len(df):,} row(s) written to {to}", markup=False)
        return
    t = Table(title_justify="left")
    for c in df.columns:
        t.add_column(str(c), justify="right" if df[c].dtype.kind in "iufb" else "left")
    for rec in df.head(max_rows).itertuples(index=False):
        t.add_row(*(_cell(v) for v in rec))
    _show(t)
    more = f" ({len(df) - max_rows:,} not shown; --to FILE writes all)" if len(df) > max_rows else ""
    out.print(f"{len(df):,} row(s){more}", markup=False)


@app.command()
def report(
    dir_: Annotated[Path, typer.Argument(metavar="RUN_OR_COMPARE_DIR", help="a run or compare directory")],
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="policy a comparison's differences are taken to (default: the first one)"
        ),
    ] = None,
) -> None:
    """(Re)write DIR/plots/*.png and the self-contained DIR/report.html."""
    from sim.report.html import write_report

    path = write_report(dir_, baseline=baseline)
    out.print(f"report written to {path}", markup=False)
