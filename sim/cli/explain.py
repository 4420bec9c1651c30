"""``shangou explain RUN_DIR ORDER_ID`` (DESIGN.md 9): the options considered for one order and why the
chosen one won, from the explain.parquet of a run made with ``shangou run ... --explain``.

Registered on ``sim.cli.app`` when ``sim.cli`` imports this module. A missing run, a run without
explain.parquet or an unknown order id is a ScenarioError: one line on stderr, exit 2.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sim.cli.results import _show
from sim.cli.shared import app, out
from sim.io.skus import order_lines
from sim.report.why import REASON_TEXT, EpochExplanation, why_order
from sim.units import format_clock


def _num(v: Any, fmt: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, fmt)


def _clock(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format_clock(float(v))


def _header(o: dict[str, Any]) -> list[str]:
    """Lines describing the order and its final outcome (orders.parquet)."""
    served = f"{o['node_id']} ({o['served_tier']})" if o["node_id"] is not None else "-"
    lines = [
        f"order {o['order_id']}{' (warm-up)' if o['warmup'] else ''}: created {format_clock(o['created_s'])}, "
        f"zone {o['zone_id']}, requested {o['requested_tier']}, {o['n_lines']} line(s) / {o['units']} unit(s)",
        f"final: {o['status']}, served by {served}{', downgraded' if o['downgraded'] else ''}, "
        f"cost {_num(o['cost_cny'])} CNY",
    ]
    if o["status"] == "delivered":
        late = (o["delivered_s"] - o["promised_s"]) / 60.0
        lines.append(
            f"delivered {format_clock(o['delivered_s'])} vs promised {format_clock(o['promised_s'])}: "
            + (f"on time ({-late:.0f} min early)" if late <= 1e-6 / 60 else f"late by {late:.0f} min")
        )
    elif o["promised_s"] is not None and math.isfinite(o["promised_s"]):
        lines.append(f"promised {format_clock(o['promised_s'])}")
    return lines


def _line_text(lines: list[dict[str, Any]]) -> list[str]:
    """The order's lines with the planner's SKU ids and names (skus.parquet) and its own order id."""
    out = (
        [f"planner's order id: {lines[0]['source_order_id']}"]
        if lines and lines[0]["source_order_id"]
        else []
    )
    for ln in lines:
        label = ln["sku_id"] if ln["sku_id"] else f"SKU {ln['sku']}"
        name = f" {ln['name']}" if ln["name"] else ""
        cat = f" ({ln['category']})" if ln["category"] else ""
        out.append(
            f"  line: {label}{name}{cat} x{ln['qty']}: {ln['status']}"
            + (f" from {ln['node_id']}" if ln["node_id"] else "")
        )
    return out


def _options_table(ep: EpochExplanation, kinds: dict[str, str]) -> Table:
    t = Table(
        title=f"epoch {format_clock(ep.epoch_s)}: {len(ep.options)} option(s), sorted by decision cost",
        title_justify="left",
    )
    for col in (
        "",
        "node",
        "kind",
        "tier",
        "km",
        "handling",
        "transport",
        "expected",
        "reservation",
        "total",
        "ETA",
        "promise",
        "stock",
        "capacity",
    ):
        t.add_column(
            col, justify="left" if col in ("", "node", "kind", "tier", "ETA", "promise") else "right"
        )
    for r in ep.options:
        tier = r["tier"] + (f" offer p={r['accept_p']:.2f}" if r["offer"] else "")
        t.add_row(
            "→" if r["chosen"] else "",
            r["node_id"],
            kinds.get(r["node_id"], "?"),
            tier,
            _num(r["km"], ".1f"),
            _num(r["handling_cny"]),
            _num(r["transport_cny"]),
            _num(r["cost_cny"]),
            _num(r["reservation_cny"]),
            _num(r["decision_cny"]),
            _clock(r["eta_s"]),
            _clock(r["promise_s"]),
            str(r["stock"]),
            f"{r['capacity']:,}",
            style="bold reverse" if r["chosen"] else None,
        )
    return t


def _rejected_table(ep: EpochExplanation, kinds: dict[str, str]) -> Table:
    t = Table(title=f"{len(ep.rejected)} candidate(s) not options", title_justify="left")
    for col in ("node", "kind", "tier", "why not", "km", "stock", "capacity", "ETA", "promise"):
        t.add_column(col, justify="right" if col in ("km", "stock", "capacity") else "left")
    for r in ep.rejected:
        t.add_row(
            r["node_id"],
            kinds.get(r["node_id"], "?"),
            r["tier"],
            REASON_TEXT.get(r["reason"], r["reason"]),
            _num(r["km"], ".1f"),
            str(r["stock"]),
            f"{r['capacity']:,}",
            _clock(r["eta_s"]),
            _clock(r["promise_s"]),
        )
    return t


@app.command()
def explain(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="a run directory made with `shangou run ... --explain`")
    ],
    order_id: Annotated[int, typer.Argument(metavar="ORDER_ID", help="order_id as in orders.parquet")],
    as_json: Annotated[
        bool, typer.Option("--json", help="print machine-readable JSON instead of tables")
    ] = False,
) -> None:
    """Options considered for one order and why the chosen one won (each routing epoch it went through)."""
    from sim.io.explain import load_order

    order, rows, router, kinds = load_order(run_dir, order_id)
    epochs = why_order(rows, router) if len(rows) else []
    lines = order_lines(run_dir, order_id)
    if as_json:
        doc = {
            "order": {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in order.items()
            },
            "lines": lines,
            "router": router,
            "epochs": [
                {
                    "epoch_s": e.epoch_s,
                    "outcome": e.outcome,
                    "chosen": e.chosen,
                    "why": e.why,
                    "options": e.options,
                    "rejected": e.rejected,
                }
                for e in epochs
            ],
        }
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return
    for line in _header(order) + _line_text(lines):
        out.print(line, markup=False)
    out.print(f"router: {router}; {len(epochs)} routing epoch(s)", markup=False)
    if not epochs:
        out.print("never routed (the run ended before its first routing epoch)", markup=False)
    for _, group in itertools.groupby(epochs, key=_signature):
        ep, *same = group  # a carried order waits many epochs with the same candidates: show them once
        out.print("")
        if ep.options:
            _show(_options_table(ep, kinds))
        else:
            out.print(f"epoch {format_clock(ep.epoch_s)}: no options", markup=False)
        out.print(f"why: {ep.why}", markup=False)
        if ep.rejected:
            _show(_rejected_table(ep, kinds))
        if same:
            out.print(
                f"... {len(same)} more epoch(s) with the same options, rejections and outcome "
                f"({format_clock(same[0].epoch_s)} to {format_clock(same[-1].epoch_s)})",
                markup=False,
            )


def _signature(ep: EpochExplanation) -> tuple[Any, ...]:
    """What makes two epochs of one order read the same: the why, the options' nodes, the rejections."""
    return (
        ep.why,
        tuple(r["node_id"] for r in ep.options),
        tuple((r["node_id"], r["reason"]) for r in ep.rejected),
    )
