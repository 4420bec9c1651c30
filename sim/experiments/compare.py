"""``compare``: several policies on one scenario, replicated with common random numbers.

Every (policy, replication r) job runs the same resolved scenario with the same seed and
replication r, so all policies see identical orders, baskets, service times and customer choices
(DESIGN.md 5) and their differences are paired by replication. Output in DIR:

- ``runs/<policy slug>/r<k>/``: one run directory per job (reused on a re-run if identical; an
  identical run under a sweep's ``runs/policy=<slug>/`` or another spelling of the SPEC is reused too);
- ``comparison.parquet`` / ``comparison.csv``: per policy and headline KPI, n, mean, std, 95%
  Student-t interval, and the paired difference to the first policy with its interval and the
  correlation common random numbers induced (columns in ``experiment.SUMMARY_COLUMNS``);
- ``replications.parquet`` / ``.csv``: one row per job (status, error, run directory, KPIs);
- ``plots/pareto_cost_perfect.png`` and ``plots/pareto_cost_p90.png``;
- ``experiment.json``: what was run, how many replications, which jobs failed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ScenarioError
from sim.experiments.experiment import (
    ExperimentResult,
    Group,
    check_options,
    point_slug,
    prepare_out,
    replications_table,
    run_rounds,
    summary_table,
    unique_slugs,
    write_marker,
    write_table,
)
from sim.experiments.headline import BY_NAME
from sim.experiments.stats import pareto_front
from sim.io.outdir import exclusive
from sim.io.scenario import Scenario
from sim.run import prepare
from sim.spec import canonical_spec, parse_spec, spellings, split_top_level

# (file stem, x KPI, y KPI): cost per order against service and against speed
PARETO_PLOTS = (
    ("pareto_cost_perfect", "cost_per_order_cny", "perfect_order_rate"),
    ("pareto_cost_p90", "cost_per_order_cny", "delivery_p90_min"),
)


def parse_policies(policies: str | Sequence[str]) -> list[str]:
    """Canonical SPEC strings from 'a,b(x=1,y=2)' or a list; ScenarioError (exit 2) if malformed."""
    items = [policies] if isinstance(policies, str) else list(policies)
    specs: list[str] = []
    for item in items:
        try:
            specs += [str(canonical_spec(p)) for p in split_top_level(item)]
        except ValueError as exc:
            raise ScenarioError(f"--policies: {exc}") from None
    if not specs:
        raise ScenarioError("--policies: expected at least one policy SPEC, got none")
    return specs


def policy_alternates(spec: str) -> tuple[str, ...]:
    """Where else a compare's run of `spec` may be in the same folder: under another spelling of the
    policy, or in a policy-only sweep's layout (``runs/policy=<slug>/``)."""
    variants = spellings(spec)
    return tuple(
        dict.fromkeys([v.slug for v in variants[1:]] + [point_slug({"policy": str(v)}) for v in variants])
    )


def write_pareto_plots(table: pd.DataFrame, out: Path, key: str, title: str) -> dict[str, Path]:
    """The two Pareto plots of `table` (long summary), fronts by the means; returns name -> file."""
    from sim.report.compare_plots import kpi_frame, pareto_plot, save

    (out / "plots").mkdir(exist_ok=True)
    written: dict[str, Path] = {}
    for stem, x, y in PARETO_PLOTS:
        fx, fy = kpi_frame(table, x, key), kpi_frame(table, y, key)
        labels = [k for k in fx.index if k in fy.index]
        pts = pd.DataFrame({"x": fx.loc[labels, "mean"], "y": fy.loc[labels, "mean"]}).to_numpy(float)
        front = pareto_front(pts, (BY_NAME[x].sense or "min", BY_NAME[y].sense or "min"))
        fig = pareto_plot(
            table,
            x,
            y,
            key=key,
            front=front,
            xlabel=BY_NAME[x].label,
            ylabel=BY_NAME[y].label,
            title=f"{title}: {BY_NAME[y].label} against {BY_NAME[x].label}",
        )
        path = out / "plots" / f"{stem}.png"
        save(fig, path)
        written[stem] = path
    return written


def default_out(kind: str, name: str) -> Path:
    return Path("runs") / f"{kind}-{name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def compare(
    scenario: Scenario | str | Path,
    policies: str | Sequence[str],
    *,
    replications: int = 5,
    out: str | Path | None = None,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    ci_width: float | None = None,
    max_replications: int = 30,
    router: str | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    progress: bool | None = None,
    plots: bool = True,
    label: str | None = None,
) -> ExperimentResult:
    """Run every policy for `replications` replications with common random numbers and compare them.

    The first policy is the baseline of the paired differences. `ci_width` adds replications in rounds
    until cost per order is within ±ci_width·mean and perfect-order rate within ±ci_width (95% CI
    half-widths, every policy), at most `max_replications`. Failed jobs are reported in the result
    (``.failures``) and left out of the statistics; the others finish. Jobs run in worker processes:
    a script calling this needs the ``if __name__ == "__main__":`` guard (notebooks do not).
    """
    check_options(executor, address, replications, ci_width, max_replications)
    specs = parse_policies(policies)
    groups = []
    for spec in specs:
        sc = prepare(
            scenario, seed=seed, days=days, policy=spec, router=router, overrides=list(overrides or [])
        )
        groups.append(Group(spec, parse_spec(spec).slug, sc, alternates=policy_alternates(spec)))
    unique_slugs(groups, "--policies")
    sc0 = groups[0].scenario
    info = {
        "scenario": sc0.name,
        "policies": specs,
        "replications": replications,
        "ci_width": ci_width,
        "executor": executor,
        "router": sc0.router.name,
        "days": sc0.horizon.days,
        "seed": sc0.seed,
        "overrides": list(overrides or []),
        "label": label,
    }
    return run_experiment(
        "compare",
        groups,
        info,
        key="policy",
        stem="comparison",
        out=out,
        replications=replications,
        executor=executor,
        address=address,
        workers=workers,
        ci_width=ci_width,
        max_replications=max_replications,
        progress=progress,
        plots=(lambda table, target, name: write_pareto_plots(table, target, "policy", name))
        if plots
        else None,
    )


def run_experiment(
    kind: str,
    groups: Sequence[Group],
    info: dict[str, Any],
    *,
    key: str,
    stem: str,
    out: str | Path | None,
    replications: int,
    executor: str,
    address: str | None,
    workers: int | None,
    ci_width: float | None,
    max_replications: int,
    progress: bool | None,
    plots: Callable[[pd.DataFrame, Path, str], dict[str, Path]] | None,
) -> ExperimentResult:
    """The flow compare and sweep share: output folder, marker, rounds of jobs, tables, plots, final marker."""
    sc0 = groups[0].scenario
    target = Path(out) if out is not None else default_out(kind, sc0.name)
    prepare_out(target, kind)
    with exclusive(target):  # a second compare into the same folder is refused, not run twice
        return _run_locked(
            kind,
            groups,
            info,
            key=key,
            stem=stem,
            target=target,
            replications=replications,
            executor=executor,
            address=address,
            workers=workers,
            ci_width=ci_width,
            max_replications=max_replications,
            progress=progress,
            plots=plots,
        )


def _run_locked(
    kind: str,
    groups: Sequence[Group],
    info: dict[str, Any],
    *,
    key: str,
    stem: str,
    target: Path,
    replications: int,
    executor: str,
    address: str | None,
    workers: int | None,
    ci_width: float | None,
    max_replications: int,
    progress: bool | None,
    plots: Callable[[pd.DataFrame, Path, str], dict[str, Path]] | None,
) -> ExperimentResult:
    sc0 = groups[0].scenario
    write_marker(target, kind, {**info, "status": "running"})
    outcomes, rounds = run_rounds(
        groups,
        out=target,
        replications=replications,
        executor=executor,
        address=address,
        workers=workers,
        ci_width=ci_width,
        max_replications=max_replications,
        progress=progress,
        name=f"{kind} {sc0.name}",
        meta={"experiment": kind, "label": info.get("label"), "overrides": info.get("overrides")},
    )
    table = summary_table(outcomes, groups, key)
    reps = replications_table(outcomes, groups, key, target)
    write_table(table, target, stem)
    write_table(reps, target, "replications")
    result = ExperimentResult(target, table, reps, outcomes, list(groups), rounds)
    if plots is not None:
        result.plots = plots(table, target, sc0.name)
    write_marker(target, kind, {**info, **status_info(result)})
    if plots is not None and any(o.ok for o in outcomes):
        from sim.report.html import write_report  # report.html for the folder, as `shangou report` writes it

        write_report(target)
    return result


def status_info(result: ExperimentResult) -> dict[str, object]:
    """The experiment.json fields describing how it went."""
    return {
        "status": "done",
        "rounds": result.rounds,
        "jobs": len(result.outcomes),
        "ran": result.ran,
        "reused": result.reused,
        "replications_per_group": {
            g.label: sum(o.group == g.label and o.ok for o in result.outcomes) for g in result.groups
        },
        "failures": [
            {"group": o.group, "replication": o.replication, "run_dir": o.out, "error": o.error}
            for o in result.failures
        ],
    }
