"""The simulator as the optimiser's evaluator, and an optimisation's output folder.

Each design is an ordinary configuration of the experiment machinery (``sim.experiments``): a
resolved scenario whose runs live in ``DIR/runs/<design slug>/r<k>/`` and are reused on a re-run
when identical, run on the local process pool or Dask like ``compare``. Output in DIR:
``trials.parquet``/``.csv`` (every design evaluated in the search), ``finalists.parquet``/``.csv``
(the selection stage), ``chosen.parquet``/``.csv`` (headline KPIs of the chosen design with 95%
CIs), ``experiment.json`` (kind ``optimize``: the options and the chosen design), ``plots/`` and
``report.html``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.decide.optimize import (
    Constraint,
    Evaluator,
    Objective,
    OptimizeResult,
    optimize_designs,
    parse_constraint,
    parse_objective,
)
from sim.decide.space import Design, Param, apply_design, design_label, design_slug, parse_space
from sim.errors import ScenarioError
from sim.experiments.experiment import (
    Group,
    check_options,
    prepare_out,
    run_rounds,
    write_marker,
    write_table,
)
from sim.io.scenario import Scenario
from sim.run import prepare


class SimEvaluator:
    """Designs -> their runs' headline KPIs, replications 0..n-1 with common random numbers."""

    def __init__(self, scenario: Scenario | str | Path, out: Path, *, policy: str | None, router: str | None,
                 days: int | None, seed: int | None, overrides: Sequence[str] | None, executor: str,
                 address: str | None, workers: int | None, progress: bool | None) -> None:
        self.scenario, self.out = scenario, out
        self.router, self.days, self.seed = router, days, seed
        self.overrides = list(overrides or [])
        self.executor, self.address, self.workers, self.progress = executor, address, workers, progress
        self.base = prepare(scenario, seed=seed, days=days, policy=policy, router=router, overrides=self.overrides)

    def group(self, design: Design) -> Group:
        spec, sets = apply_design(design, self.base.policy)
        router = None if "router.name" in design else self.router
        sc = prepare(self.scenario, seed=self.seed, days=self.days, policy=spec, router=router,
                     overrides=self.overrides + sets)
        return Group(design_label(design), design_slug(design), sc, dict(design))

    def check(self, space: Sequence[Param]) -> None:
        """Every bound and choice of every parameter resolves to a valid scenario (exit 2 otherwise)."""
        for p in space:
            values: list[Any] = list(p.choices) if p.kind == "categorical" else [p.low, p.high]
            for v in values:
                if p.kind == "int":
                    v = int(v)
                try:
                    self.group({p.path: v})
                except ScenarioError as exc:
                    raise ScenarioError([f"--param {p.path}={v}: {line}" for line in exc.problems]) from None

    def __call__(self, designs: Sequence[Design], n: int) -> list[list[dict[str, float] | None]]:
        groups = [self.group(d) for d in designs]
        outcomes, _ = run_rounds(groups, out=self.out, replications=n, executor=self.executor,
                                 address=self.address, workers=self.workers, progress=self.progress,
                                 name=f"optimize {self.base.name}")
        per: dict[str, list[dict[str, float] | None]] = {g.label: [None] * n for g in groups}
        for o in outcomes:
            if o.ok and o.metrics is not None and o.replication < n:
                per[o.group][o.replication] = dict(o.metrics)
        return [per[g.label] for g in groups]


def optimize(scenario: Scenario | str | Path, params: Sequence[str], *, objective: str,
             constraints: Sequence[str] = (), budget: int = 20, replications: int = 2, select_top: int = 3,
             select_replications: int | None = None, out: str | Path | None = None, executor: str = "local",
             address: str | None = None, workers: int | None = None, policy: str | None = None,
             router: str | None = None, days: int | None = None, seed: int | None = None,
             overrides: Sequence[str] | None = None, progress: bool | None = None, batch: int = 2) -> OptimizeResult:
    """Search the space of `params` for the design with the best `objective` meeting `constraints`,
    then choose among the finalists on more common replications (``sim.decide.optimize``).

    `batch` designs are proposed between two updates of the search (run in parallel); it is an
    option of its own, not the worker count, so the designs asked do not depend on the executor."""
    check_options(executor, address, replications, None, 30)
    space = parse_space(params)
    obj: Objective = parse_objective(objective)
    cons: list[Constraint] = [parse_constraint(c) for c in constraints]
    if batch < 1:
        raise ScenarioError(f"--batch: must be >= 1, got {batch}")
    if select_top < 1:
        raise ScenarioError(f"--select-top: must be >= 1, got {select_top}")
    base = prepare(scenario, seed=seed, days=days, policy=policy, router=router, overrides=list(overrides or []))
    target = Path(out) if out is not None else Path("runs") / (
        f"optimize-{base.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    evaluator: Evaluator
    sim_eval = SimEvaluator(scenario, target, policy=policy, router=router, days=days, seed=seed,
                            overrides=overrides, executor=executor, address=address, workers=workers,
                            progress=progress)
    sim_eval.check(space)  # bad paths and values fail here, before anything is written
    evaluator = sim_eval
    prepare_out(target, "optimize")
    info: dict[str, Any] = {"scenario": base.name, "params": [str(p) for p in space], "objective": f"{obj.sense}:{obj.kpi}",
                            "constraints": [str(c) for c in cons], "budget": budget, "replications": replications,
                            "select_top": select_top, "select_replications": select_replications, "batch": batch,
                            "policy": base.policy, "seed": base.seed, "days": base.horizon.days,
                            "overrides": list(overrides or [])}
    write_marker(target, "optimize", {**info, "status": "running"})
    result = optimize_designs(space, evaluator, obj, cons, budget=budget, replications=replications,
                              seed=base.seed, batch=batch, select_top=select_top,
                              select_replications=select_replications)
    result.path = target
    write_table(result.trials, target, "trials")
    write_table(result.finalists, target, "finalists")
    write_table(result.chosen_kpis, target, "chosen")
    chosen = None
    if result.chosen is not None:
        spec, sets = apply_design(result.chosen, base.policy)
        chosen = {"design": result.chosen, "policy": spec, "set": sets}
    write_marker(target, "optimize", {**info, "status": "done", "chosen": chosen, "simulations": result.simulations})
    from sim.report.html import write_report

    write_report(target)
    return result
