"""``shangou policies``, ``shangou routers`` (what exists, with knobs and defaults) and ``shangou match``
(a policy knob for a target forward inventory; DESIGN.md 9).

Knobs and defaults are read from the registered classes' constructors, so the listing cannot drift from
the code; each entry's summary is the first paragraph of its module's docstring. Registered on
``sim.cli.app`` when ``sim.cli`` imports this module.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from sim.cli.shared import SetOpt, app, out
from sim.registry import POLICIES, ROUTERS, Registry

#: The scenario field each router knob comes from (the engine passes these to the router it builds).
ROUTER_FIELDS = {
    "lookahead": "router.lookahead",
    "max_deterministic_time": "router.max_deterministic_time",
    "max_shipments": "router.max_shipments",
}
#: ``shangou match``'s default search bracket per knob (lo, hi) when --lo / --hi are not given.
MATCH_BRACKETS: dict[str, tuple[float, float]] = {
    "n": (1, 2000),
    "service": (0.5, 0.995),
    "holding_weight": (0.1, 1000.0),
}


def _summary(obj: Any) -> str:
    """First paragraph of the class's module docstring (else the class's), on one line."""
    doc = inspect.getdoc(importlib.import_module(obj.__module__)) or inspect.getdoc(obj) or ""
    if obj.__module__.endswith("greedy"):  # one module, three routers: the class's bullet line
        name = getattr(obj, "name", "")
        hit = [ln for ln in doc.splitlines() if ln.lstrip("- ").startswith(f"``{name}``")]
        doc = hit[0].lstrip("- ") if hit else doc
    if inspect.getdoc(obj) and not obj.__module__.endswith("greedy"):
        doc = inspect.getdoc(obj) or ""
    name = getattr(obj, "name", "")
    for para in (" ".join(p.split()) for p in doc.split("\n\n") if p.strip()):
        # drop the SPEC signature (the knobs list shows it) and a leading "name:"
        text = re.sub(rf"^``{name}(\(.*?\))?``[.:—\s-]*", "", para).replace("``", "").strip()
        if text:
            first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0].replace(" (see the module docstring)", "")
            return first if len(first) <= 240 else first[:239] + "…"
    return ""


def knobs(registry: Registry, name: str) -> list[tuple[str, str]]:
    """(knob, default as written in a SPEC) of a registered class's constructor."""
    cls = registry.get(name)
    out_: list[tuple[str, str]] = []
    for p in inspect.signature(cls).parameters.values():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        default = "(required)" if p.default is inspect.Parameter.empty else repr(p.default)
        out_.append((p.name, default))
    return out_


def listing(registry: Registry) -> list[dict[str, Any]]:
    """One entry per registered name: its summary and knobs (what ``policies`` / ``routers`` print)."""
    rows = []
    for name in registry.names():
        cls = registry.get(name)
        rows.append({"name": name, "summary": _summary(cls), "knobs": knobs(registry, name)})
    return rows


def _print(registry: Registry, what: str, how: str) -> None:
    out.print(f"{len(registry.names())} {what} ({how}):", markup=False)
    for row in listing(registry):
        out.print("", markup=False)
        out.print(f"{row['name']}: {row['summary']}", markup=False)
        if not row["knobs"]:
            out.print("    (no knobs)", markup=False)
        for k, v in row["knobs"]:
            field = f"  [scenario: {ROUTER_FIELDS[k]}]" if registry is ROUTERS and k in ROUTER_FIELDS else ""
            out.print(f"    {k} = {v}{field}", markup=False)


@app.command()
def policies() -> None:
    """List the pre-positioning policies with their knobs and defaults."""
    _print(
        POLICIES, "policies", "use as a SPEC: --policy 'base_stock(service=0.9)' or policy: in the scenario"
    )


@app.command()
def routers() -> None:
    """List the routers with their knobs and defaults."""
    _print(
        ROUTERS, "routers", "use with --router NAME or router.name; knobs are the router.* scenario fields"
    )


@app.command()
def match(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help="policy SPEC; its other parameters are kept, "
            "e.g. 'cost_optimal' or 'base_stock(dist=\"negbin\")'",
        ),
    ],
    param: Annotated[
        str,
        typer.Option(
            "--param",
            help="the knob to tune: n (top_n), service (base_stock, "
            "forecast_push), holding_weight (cost_optimal)",
        ),
    ],
    target_value: Annotated[
        float,
        typer.Option("--target-value", help="average forward inventory value to hit, CNY (FDCs + stores)"),
    ],
    lo: Annotated[
        float | None,
        typer.Option(
            "--lo", help="lower end of the search (default per knob: n 1, service 0.5, holding_weight 0.1)"
        ),
    ] = None,
    hi: Annotated[
        float | None,
        typer.Option("--hi", help="upper end (default: n 2000, service 0.995, holding_weight 1000)"),
    ] = None,
    days: Annotated[int, typer.Option("--days", help="measured days per step")] = 1,
    replications: Annotated[int, typer.Option("--replications", help="replications per step")] = 3,
    tol: Annotated[float, typer.Option("--tol", help="relative tolerance on the target")] = 0.02,
    max_iter: Annotated[int, typer.Option("--max-iter", help="measurements at most (each a compare)")] = 10,
    workers: Annotated[
        int | None, typer.Option("--workers", help="worker processes (default: CPU count)")
    ] = None,
    router: Annotated[str | None, typer.Option("--router", help="router name")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="folder for match.json and each step's compare (default runs/match-<scenario>-<time>)",
        ),
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Tune one policy knob until the policy's average forward inventory value hits a target (exit 1 if
    missed); prints each step and writes match.json."""
    from sim.errors import ScenarioError
    from sim.experiments.match import match_inventory

    if lo is None or hi is None:
        if param not in MATCH_BRACKETS:
            raise ScenarioError(
                f"--param: no default bracket for {param!r}; give --lo and --hi "
                f"(defaults exist for {', '.join(MATCH_BRACKETS)})"
            )
        lo = MATCH_BRACKETS[param][0] if lo is None else lo
        hi = MATCH_BRACKETS[param][1] if hi is None else hi
    integer = param == "n"
    lo_, hi_ = (int(lo), int(hi)) if integer else (lo, hi)
    res = match_inventory(
        scenario,
        policy,
        param,
        lo_,
        hi_,
        target_value,
        days=days,
        replications=replications,
        tol=tol,
        max_iter=max_iter,
        integer=integer or None,
        out=out_dir,
        workers=workers,
        router=router,
        overrides=set_,
    )
    for s in res.steps:
        out.print(
            f"  {param}={s.value:.6g}: {s.inventory_cny:,.0f} CNY (± {s.half_width:,.0f})", markup=False
        )
    state = "matched" if res.converged else ("closest (not bracketed)" if not res.bracketed else "closest")
    out.print(
        f"{state}: {res.policy} -> {res.inventory_cny:,.0f} CNY, {res.relative_error:+.2%} of "
        f"{res.target_cny:,.0f}",
        markup=False,
    )
    if not res.converged:
        raise typer.Exit(1)
