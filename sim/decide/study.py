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

import numpy as np

from sim.decide.optimize import (
    Constraint,
    Evaluator,
    Objective,
    OptimizeResult,
    optimize_designs,
    parse_constraint,
    parse_objective,
)
from sim.decide.space import (
    Design,
    Param,
    apply_design,
    design_label,
    design_slug,
    incumbent,
    parse_space,
)
from sim.errors import ScenarioError
from sim.experiments.experiment import (
    Group,
    check_options,
    prepare_out,
    run_rounds,
    write_marker,
    write_table,
)
from sim.io.scenario import Scenario, to_dict
from sim.run import prepare


class SimEvaluator:
    """Designs -> their runs' headline KPIs, replications 0..n-1 with common random numbers."""

    def __init__(
        self,
        scenario: Scenario | str | Path,
        out: Path,
        *,
        policy: str | None,
        router: str | None,
        days: int | None,
        seed: int | None,
        overrides: Sequence[str] | None,
        executor: str,
        address: str | None,
        workers: int | None,
        progress: bool | None,
    ) -> None:
        self.scenario, self.out = scenario, out
        self.router, self.days, self.seed = router, days, seed
        self.overrides = list(overrides or [])
        self.executor, self.address, self.workers, self.progress = executor, address, workers, progress
        self.base = prepare(
            scenario, seed=seed, days=days, policy=policy, router=router, overrides=self.overrides
        )

    def group(self, design: Design) -> Group:
        spec, sets = apply_design(design, self.base.policy)
        router = None if "router.name" in design else self.router
        sc = prepare(
            self.scenario,
            seed=self.seed,
            days=self.days,
            policy=spec,
            router=router,
            overrides=self.overrides + sets,
        )
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
        outcomes, _ = run_rounds(
            groups,
            out=self.out,
            replications=n,
            executor=self.executor,
            address=self.address,
            workers=self.workers,
            progress=self.progress,
            name=f"optimize {self.base.name}",
        )
        per: dict[str, list[dict[str, float] | None]] = {g.label: [None] * n for g in groups}
        for o in outcomes:
            if o.ok and o.metrics is not None and o.replication < n:
                per[o.group][o.replication] = dict(o.metrics)
        return [per[g.label] for g in groups]


def optimize(
    scenario: Scenario | str | Path,
    params: Sequence[str],
    *,
    objective: str,
    constraints: Sequence[str] = (),
    budget: int = 20,
    replications: int = 2,
    select_top: int = 3,
    select_replications: int | None = None,
    out: str | Path | None = None,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    policy: str | None = None,
    router: str | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    progress: bool | None = None,
    batch: int = 2,
    start: bool = True,
) -> OptimizeResult:
    """Search the space of `params` for the design with the best `objective` meeting `constraints`,
    then choose among the finalists on more common replications (``sim.decide.optimize``).

    `batch` designs are proposed between two updates of the search (run in parallel); it is an
    option of its own, not the worker count, so the designs asked do not depend on the executor.
    `start`: the search evaluates the scenario's own design first (``space.incumbent``) when it lies in
    the space, so the chosen design is the planner's current one or one that beats it."""
    check_options(executor, address, replications, None, 30)
    space = parse_space(params)
    obj: Objective = parse_objective(objective)
    cons: list[Constraint] = [parse_constraint(c) for c in constraints]
    if batch < 1:
        raise ScenarioError(f"--batch: must be >= 1, got {batch}")
    if select_top < 1:
        raise ScenarioError(f"--select-top: must be >= 1, got {select_top}")
    base = prepare(
        scenario, seed=seed, days=days, policy=policy, router=router, overrides=list(overrides or [])
    )
    target = (
        Path(out)
        if out is not None
        else Path("runs") / (f"optimize-{base.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    )
    evaluator: Evaluator
    sim_eval = SimEvaluator(
        scenario,
        target,
        policy=policy,
        router=router,
        days=days,
        seed=seed,
        overrides=overrides,
        executor=executor,
        address=address,
        workers=workers,
        progress=progress,
    )
    sim_eval.check(space)  # bad paths and values fail here, before anything is written
    evaluator = sim_eval
    prepare_out(target, "optimize")
    info: dict[str, Any] = {
        "scenario": base.name,
        "params": [str(p) for p in space],
        "objective": f"{obj.sense}:{obj.kpi}",
        "constraints": [str(c) for c in cons],
        "budget": budget,
        "replications": replications,
        "select_top": select_top,
        "select_replications": select_replications,
        "batch": batch,
        "start": incumbent(space, to_dict(base), base.policy) if start else None,
        "policy": base.policy,
        "seed": base.seed,
        "days": base.horizon.days,
        "overrides": list(overrides or []),
    }
    write_marker(target, "optimize", {**info, "status": "running"})
    result = optimize_designs(
        space,
        evaluator,
        obj,
        cons,
        budget=budget,
        replications=replications,
        seed=base.seed,
        batch=batch,
        select_top=select_top,
        select_replications=select_replications,
        start=incumbent(space, to_dict(base), base.policy) if start else None,
    )
    result.path = target
    write_table(result.trials, target, "trials")
    write_table(result.finalists, target, "finalists")
    write_table(result.chosen_kpis, target, "chosen")
    chosen = None
    if result.chosen is not None:
        spec, sets = apply_design(result.chosen, base.policy)
        chosen = {"design": result.chosen, "policy": spec, "set": sets}
    write_marker(
        target, "optimize", {**info, "status": "done", "chosen": chosen, "simulations": result.simulations}
    )
    from sim.report.html import write_report

    write_report(target)
    return result


# --------------------------------------------------------------------------- sites
GROUP_KEY = {"fdc": "fdcs", "store": "stores"}


def with_sites(base: Scenario, group_key: str, sites: Sequence[dict[str, Any]]) -> Scenario:
    """`base` whose node group `group_key` (``fdcs``, ``stores``) is exactly `sites` (explicit sites, none
    placed by count); every other node is unchanged."""
    import json

    key = f"nodes.{group_key}"
    return prepare(base, overrides=[f"{key}.sites={json.dumps(list(sites))}", f"{key}.count_per_city={{}}"])


def proposal_scenario(base: Scenario, kind: str, chosen: Sequence[Any]) -> Scenario:
    """`base` with exactly the `chosen` candidates as its sites of `kind` (existing sites keep their
    capacity overrides; every other node is unchanged)."""
    group = getattr(base.nodes, GROUP_KEY[kind])
    own = {s.id: s for s in group.sites}
    sites = []
    for c in chosen:
        site: dict[str, Any] = {"id": c.id, "city": c.city, "lat": c.lat, "lon": c.lon}
        if c.id in own and own[c.id].capacity:
            site["capacity"] = dict(own[c.id].capacity)
        sites.append(site)
    return with_sites(base, GROUP_KEY[kind], sites)


def sites(
    scenario: Scenario | str | Path,
    candidates: str | Path,
    open_: Sequence[int],
    *,
    kind: str = "fdc",
    auto_per_city: int = 3,
    replications: int = 3,
    out: str | Path | None = None,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    policy: str | None = None,
    router: str | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Propose the best K sites of `kind` for every K in `open_` (``sim.decide.sites``), simulate each
    proposal with common random numbers, and tabulate the frontier K -> cost, service, local share."""
    import pandas as pd

    from sim.decide import sites as loc
    from sim.experiments.experiment import summary_table
    from sim.network import build_network

    check_options(executor, address, replications, None, 30)
    if kind not in GROUP_KEY:
        raise ScenarioError(f"--kind: expected fdc or store, got {kind!r}")
    base = prepare(
        scenario, seed=seed, days=days, policy=policy, router=router, overrides=list(overrides or [])
    )
    net = build_network(base)
    if str(candidates) == "auto":
        cands = loc.auto_candidates(net, kind, auto_per_city)
    elif str(candidates) == "existing":
        cands = loc.existing_sites(net, kind)
    else:
        cands = loc.read_candidates(Path(candidates), set(net.city_names))
    ks = sorted(set(int(k) for k in open_))
    if not ks:
        raise ScenarioError("--open: expected K or LO..HI")
    model = loc.location_model(base, net, cands, kind)
    proposals = [loc.solve(model, k) for k in ks]
    groups = []
    for p in proposals:
        chosen = [cands[j] for j in p.open]
        sc = proposal_scenario(base, kind, chosen)
        groups.append(
            Group(f"K={p.k}", f"open-{p.k}", sc, {"k": p.k, "sites": " ".join(c.id for c in chosen)})
        )
    target = (
        Path(out)
        if out is not None
        else Path("runs") / (f"sites-{base.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    )
    prepare_out(target, "sites")
    info: dict[str, Any] = {
        "scenario": base.name,
        "kind": kind,
        "candidates": str(candidates),
        "n_candidates": len(cands),
        "open": ks,
        "replications": replications,
        "policy": base.policy,
        "seed": base.seed,
        "days": base.horizon.days,
        "overrides": list(overrides or []),
    }
    write_marker(target, "sites", {**info, "status": "running"})
    outcomes, _ = run_rounds(
        groups,
        out=target,
        replications=replications,
        executor=executor,
        address=address,
        workers=workers,
        progress=progress,
        name=f"sites {base.name}",
    )
    cand_df = pd.DataFrame(
        [
            {
                "id": c.id,
                "city": c.city,
                "lat": c.lat,
                "lon": c.lon,
                "fixed_cny_per_day": float(model.fixed[j]),
                "orders_per_day_in_reach": float(model.demand[np.isfinite(model.cost[:, j])].sum()),
            }
            for j, c in enumerate(cands)
        ]
    )
    prop_df = pd.DataFrame(
        [
            {
                "k": p.k,
                "sites": " ".join(cands[j].id for j in p.open),
                "model_cost_cny_per_day": p.cost_per_day,
                "proven_optimal": p.proven_optimal,
            }
            for p in proposals
        ]
    )
    table = summary_table(outcomes, groups, "proposal")
    write_table(cand_df, target, "candidates")
    write_table(prop_df, target, "proposals")
    write_table(table, target, "sites")
    failures = [
        {"proposal": o.group, "replication": o.replication, "error": o.error} for o in outcomes if not o.ok
    ]
    write_marker(target, "sites", {**info, "status": "done", "failures": failures})
    from sim.report.html import write_report

    write_report(target)
    return {"path": target, "candidates": cand_df, "proposals": prop_df, "table": table, "failures": failures}
