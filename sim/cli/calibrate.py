"""``shangou calibrate SCENARIO [--runs DIR]``: the scenario's figures against public ranges (DESIGN.md 9, 13).

Registered on ``sim.cli.app`` when ``sim.cli`` imports this module. Without ``--runs`` the scenario is
simulated for one measured day into a temporary directory; with it, every run under DIR must be of
SCENARIO (manifest ``scenario``) and the figures get a 95% CI over them. Exit 0 when every applicable
figure is in range, 1 when any is out or not measured, 2 for bad input. The table is
``sim.report.calibration``; its targets ``sim/data/calibration_targets.csv`` (``--targets`` swaps it).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.results import _show
from sim.cli.shared import SetOpt, app, out
from sim.errors import ScenarioError


@app.command()
def calibrate(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    runs: Annotated[
        Path | None,
        typer.Option(
            "--runs",
            help="a run directory or a folder of runs (replications) "
            "of SCENARIO; default: simulate one measured day",
        ),
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option(
            "--targets", help="a targets CSV (id,figure,low,high,unit,source) instead of the bundled one"
        ),
    ] = None,
    to: Annotated[Path | None, typer.Option("--to", help="also write the table to a .csv file")] = None,
    set_: SetOpt = None,
) -> None:
    """Model figures vs public ranges (parameters.md "Calibration targets"); exit 0 all in, 1 otherwise."""
    from sim.io.query import find_runs
    from sim.report.calibration import all_in, calibrate_dirs, load_targets, report_table
    from sim.run import prepare, simulate

    if to is not None and to.suffix.lower() != ".csv":
        raise ScenarioError(f"--to: expected a .csv file name, got {str(to)!r}")
    load_targets(targets)  # bad targets fail before any simulation
    sc = prepare(scenario, overrides=set_)
    with tempfile.TemporaryDirectory(prefix="shangou-calibrate-") as tmp:
        if runs is None:
            paths = [simulate(sc, days=1, out=Path(tmp) / "run", report=False).path]
        else:
            paths = find_runs(runs)
            for p in paths:
                name = json.loads((p / "manifest.json").read_text(encoding="utf-8")).get("scenario")
                if name != sc.name:
                    raise ScenarioError(f"--runs: {p} is a run of scenario {name!r}, not {sc.name!r}")
        table = calibrate_dirs(paths, targets)
    shown = report_table(table)
    t = Table(title=f"Calibration: {sc.name} ({len(paths)} run(s))", title_justify="left")
    for col in ("figure", "model (95% CI)", "target", "in/out", "source"):
        t.add_column(col, justify="right" if col == "model (95% CI)" else "left")
    for rec in shown.itertuples(index=False):
        t.add_row(*(str(v) for v in rec))
    _show(t)
    ok = all_in(table)
    n_in = int((table["status"] == "in").sum())
    n_app = int((table["status"] != "n/a").sum())
    out.print(
        f"{n_in} of {n_app} applicable figure(s) in range: {'calibrated' if ok else 'NOT calibrated'}",
        markup=False,
    )
    if to is not None:
        if not to.parent.exists():
            raise ScenarioError(f"--to: directory {to.parent} does not exist")
        table.to_csv(to, index=False)
    if not ok:
        raise typer.Exit(1)
