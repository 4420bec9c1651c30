"""``sweep``: the compare machinery over the Cartesian grid of scenario overrides.

A grid maps ``--set`` paths to lists of values (``nodes.fdcs.capacity.slots=2000,8000`` x
``forecast.error=0.1,0.3``); two keys are special: ``policy`` takes policy SPECs (so a policy's
cost-service frontier is a sweep of its service parameter, ``policy=base_stock(service=0.8),...``)
and ``router`` a router name. Every grid point runs replications 0..K-1 with common random numbers,
so points differ only by their parameters and the paired differences to the first point are tight.

Output in DIR: ``runs/<point slug>/r<k>/`` (an identical run under a compare's ``runs/<policy slug>/``
or another spelling of the policy is reused too), ``sweep.parquet`` / ``sweep.csv`` (per point and KPI,
one column per grid path, same statistics as comparison.csv), ``replications.*``, ``experiment.json``,
and plots: the two Pareto plots over the points (the frontier), a heat map per headline KPI for a
2-D grid, a line per headline KPI for a 1-D grid.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError
from sim.experiments.compare import run_experiment, write_pareto_plots
from sim.experiments.experiment import (
    ExperimentResult,
    Group,
    check_options,
    point_slug,
)
from sim.experiments.headline import BY_NAME
from sim.io.scenario import Scenario
from sim.run import prepare
from sim.spec import canonical_spec, spellings, split_top_level

SPECIAL = ("policy", "router")
GRID_PLOT_KPIS = ("cost_per_order_cny", "perfect_order_rate", "delivery_p90_min")


def format_value(value: Any) -> str:
    """A grid value as the text of a --set override (YAML): strings verbatim, others as JSON."""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value)


def parse_grid(items: Sequence[str] | Mapping[str, Sequence[Any]]) -> dict[str, list[str]]:
    """``["path=v1,v2", ...]`` (commas inside brackets or parentheses do not split) or a mapping
    -> {path: [value text, ...]}; ScenarioError (exit 2) on a malformed or repeated axis."""
    pairs: list[tuple[str, list[str]]] = []
    if isinstance(items, Mapping):
        for path, values in items.items():
            if isinstance(values, str | bytes) or not isinstance(values, Sequence):
                raise ScenarioError(f"--grid {path}: expected a list of values, got {values!r}")
            pairs.append((str(path).strip(), [format_value(v) for v in values]))
    else:
        for item in items:
            path, sep, raw = item.partition("=")
            if not sep or not path.strip():
                raise ScenarioError(f"--grid {item}: expected path=v1,v2,...")
            try:
                values = split_top_level(raw)
            except ValueError as exc:
                raise ScenarioError(f"--grid {path.strip()}: {exc}") from None
            pairs.append((path.strip(), values))
    if not pairs:
        raise ScenarioError("--grid: expected at least one path=v1,v2,...")
    grid: dict[str, list[str]] = {}
    for path, values in pairs:
        if path in grid:
            raise ScenarioError(f"--grid {path}: given twice")
        if path in ("seed", "extends"):
            raise ScenarioError(f"--grid {path}: not a sweep parameter (replications vary the randomness)")
        if not values:
            raise ScenarioError(f"--grid {path}: no values")
        if path == "policy":
            try:
                values = [str(canonical_spec(v)) for v in values]
            except ValueError as exc:
                raise ScenarioError(f"--grid policy: {exc}") from None
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise ScenarioError(f"--grid {path}: value {dup[0]!r} given twice")
        grid[path] = values
    return grid


def point_alternates(point: Mapping[str, str]) -> tuple[str, ...]:
    """Where else a run of `point` may be in the same folder: its policy spelled otherwise, and for a
    policy-only point a compare's layout (``runs/<policy slug>/``)."""
    if "policy" not in point:
        return ()
    variants = spellings(point["policy"])
    alts = [point_slug({**point, "policy": str(v)}) for v in variants[1:]]
    if set(point) == {"policy"}:
        alts += [v.slug for v in variants]
    return tuple(dict.fromkeys(alts))


def grid_groups(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[str]],
    *,
    policy: str | None,
    router: str | None,
    days: int | None,
    seed: int | None,
    overrides: Sequence[str] | None,
) -> list[Group]:
    """One resolved configuration per grid point (bad paths or values fail here, before any run)."""
    paths = list(grid)
    groups: list[Group] = []
    slugs: set[str] = set()
    for values in itertools.product(*(grid[p] for p in paths)):
        point = dict(zip(paths, values, strict=True))
        sets = list(overrides or []) + [f"{p}={v}" for p, v in point.items() if p not in SPECIAL]
        try:
            sc = prepare(
                scenario,
                seed=seed,
                days=days,
                policy=point.get("policy", policy),
                router=point.get("router", router),
                overrides=sets,
            )
        except ScenarioError as exc:
            label = ", ".join(f"{p}={v}" for p, v in point.items())
            raise ScenarioError([f"--grid ({label}): {line}" for line in exc.problems]) from None
        slug = point_slug(point)
        while slug in slugs:
            slug += "_"
        slugs.add(slug)
        groups.append(
            Group(
                ", ".join(f"{p}={v}" for p, v in point.items()),
                slug,
                sc,
                dict(point),
                point_alternates(point),
            )
        )
    return groups


def sweep(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[Any]] | Sequence[str],
    *,
    replications: int = 3,
    out: str | Path | None = None,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    ci_width: float | None = None,
    max_replications: int = 30,
    policy: str | None = None,
    router: str | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    progress: bool | None = None,
    plots: bool = True,
    label: str | None = None,
) -> ExperimentResult:
    """Run every point of `grid` for `replications` replications (common random numbers) and tabulate.

    `policy` / `router` apply to every point unless the grid varies them. The first point is the
    baseline of the paired differences; ``ci_width`` and failures behave as in ``compare``.
    """
    check_options(executor, address, replications, ci_width, max_replications)
    axes = parse_grid(grid)
    if policy is not None:
        try:
            policy = str(canonical_spec(policy))
        except ValueError as exc:
            raise ScenarioError(f"--policy: {exc}") from None
    groups = grid_groups(
        scenario, axes, policy=policy, router=router, days=days, seed=seed, overrides=overrides
    )
    sc0 = groups[0].scenario
    info = {
        "scenario": sc0.name,
        "grid": axes,
        "policy": policy,
        "replications": replications,
        "ci_width": ci_width,
        "executor": executor,
        "days": sc0.horizon.days,
        "seed": sc0.seed,
        "overrides": list(overrides or []),
        "label": label,
    }
    return run_experiment(
        "sweep",
        groups,
        info,
        key="point",
        stem="sweep",
        out=out,
        replications=replications,
        executor=executor,
        address=address,
        workers=workers,
        ci_width=ci_width,
        max_replications=max_replications,
        progress=progress,
        plots=(lambda table, target, name: write_sweep_plots(table, target, axes, name)) if plots else None,
    )


def write_sweep_plots(table: Any, out: Path, axes: Mapping[str, list[str]], name: str) -> dict[str, Path]:
    """Pareto plots over the points, plus heat maps (2-D grid) or lines (1-D grid) of the headline KPIs."""
    from sim.report.compare_plots import heatmap, save, sweep_line

    written = write_pareto_plots(table, out, "point", f"{name} sweep")
    paths = list(axes)
    for kpi in GRID_PLOT_KPIS:
        k = BY_NAME[kpi]
        if len(paths) == 2:
            fig = heatmap(
                table,
                kpi,
                paths[0],
                paths[1],
                row_values=axes[paths[0]],
                col_values=axes[paths[1]],
                label=k.label,
                percent=k.percent,
                title=f"{name}: {k.label} (mean, ±95% CI)",
            )
            stem = f"heatmap_{kpi}"
        elif len(paths) == 1:
            fig = sweep_line(
                table,
                kpi,
                paths[0],
                values=axes[paths[0]],
                label=k.label,
                title=f"{name}: {k.label} against {paths[0]}",
            )
            stem = f"sweep_{kpi}"
        else:
            continue
        path = out / "plots" / f"{stem}.png"
        save(fig, path)
        written[stem] = path
    return written
