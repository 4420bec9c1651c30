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

from sim.cli_app import app, out
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


@app.command()
def runs(dir_: Annotated[Path, typer.Argument(metavar="[DIR]", help="folder of runs (default: runs)")] = Path("runs"),
         ) -> None:
    """List the runs under DIR with their headline KPIs."""
    from sim.io.query import connect

    con = connect(dir_)
    try:
        df = con.execute("SELECT * FROM runs ORDER BY run_id").df()
    finally:
        con.close()
    t = Table(title=f"{len(df)} run(s) under {dir_}", title_justify="left")
    for col, justify in (("run", "left"), ("scenario", "left"), ("policy", "left"), ("rep", "right"),
                         ("seed", "right"), ("orders", "right"), ("perfect", "right"), ("req. tier", "right"),
                         ("lost", "right"), ("near/mid/far", "right"), ("CNY/order", "right")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    rows: list[dict[Any, Any]] = df.to_dict("records")
    for r in rows:
        cost = r["cost_per_order_cny"]
        t.add_row(str(r["run_id"]), _cell(r["scenario"]), _cell(r["policy"]), _cell(r["replication"]),
                  _cell(r["seed"]), "-" if r["orders"] != r["orders"] else f"{int(r['orders']):,}",
                  _pct(r["perfect_order_rate"]), _pct(r["requested_tier_rate"]), _pct(r["lost_sales_rate"]),
                  " / ".join(_pct(r[f"{t}_share"]) for t in ("near", "mid", "far")),
                  "-" if cost is None or cost != cost else f"{cost:.2f}")
    _show(t)


@app.command()
def query(
    dir_: DirArg,
    sql: Annotated[str, typer.Argument(help="SQL over the views orders, lines, inventory, nodes, kpis, "
                                            "kpis_by_day, runs")],
    to: Annotated[Path | None, typer.Option("--to", help="write the result to a .csv or .parquet file")] = None,
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
def report(dir_: Annotated[Path, typer.Argument(metavar="RUN_OR_COMPARE_DIR", help="a run or compare directory")],
           ) -> None:
    """(Re)write DIR/plots/*.png and the self-contained DIR/report.html."""
    from sim.report.html import write_report

    path = write_report(dir_)
    out.print(f"report written to {path}", markup=False)
