"""The ``shangou`` typer app, its consoles and shared options: every CLI module registers its verbs on
``app`` from here (``sim.cli`` imports them all), so no CLI module imports another's command module."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from sim import __version__

app = typer.Typer(
    name="shangou",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Shangou: simulate instant-retail fulfilment (near / mid / far tiers) and compare stock policies.",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="override a scenario field: path=value (repeatable), e.g. demand.orders_per_day=5000"
    ),
]
LabelOpt = Annotated[
    str | None,
    typer.Option(
        "--label",
        help="a name for this run or experiment, stored in manifest.json and shown by `shangou runs`",
    ),
]
MaxMemOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory", help="refuse scenarios estimated to need more: 8GiB, 500MiB, 60% (default 80% of RAM)"
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"shangou {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks on errors")] = False,
) -> None:
    """Shangou command line."""
