"""The ``shangou`` command line (typer + rich); DESIGN.md section 9 is its contract.

Errors are one line on stderr (``error: path: rule, got value``) with exit 2 for invalid input,
1 for internal errors; ``--debug`` (anywhere on the line) shows the traceback instead.

A package: ``shared`` holds the typer app and its shared options; each other module registers its
verbs on it (imported below, in the order ``--help`` lists them); ``main`` is the entry point.
"""

from __future__ import annotations

import sys
import traceback
import typing
from pathlib import Path
from typing import Any

import typer

from sim.cli.failures import internal_line, os_error_line, restore_term, term_as_interrupt
from sim.cli.shared import app, err
from sim.errors import ShangouError


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


# --------------------------------------------------------------------------- the verbs
# Each area registers its verbs on `app` from its own module (imported here, in --help order).
from sim.cli import inputs  # noqa: E402,F401,I001
from sim.cli import simulate  # noqa: E402,F401
from sim.cli import results  # noqa: E402,F401
from sim.cli import experiments  # noqa: E402,F401
from sim.cli import explain  # noqa: E402,F401
from sim.cli import tools  # noqa: E402,F401
from sim.cli import calibrate  # noqa: E402,F401
from sim.cli import decide  # noqa: E402,F401

__all__ = ["app", "main"]
