"""``simulate``: scenario -> engine -> invariants -> run directory (the whole pipeline of one run).

Overrides (seed, days, policy, router) are applied to the scenario itself before the run, so the
resolved scenario.yaml in the run directory reproduces the run exactly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError
from sim.io.results import RunResult, check_out_dir, load_run, read_once, write_run
from sim.io.scenario import Scenario, apply_overrides, load_scenario, resolve, to_dict
from sim.metrics.invariants import assert_invariants
from sim.registry import POLICIES, ROUTERS
from sim.spec import parse_spec

Progress = Callable[[int, int, int], None]  # (day done, total days, orders so far)


def prepare(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    days: int | None = None,
    policy: str | None = None,
    router: str | None = None,
    overrides: list[str] | None = None,
) -> Scenario:
    """The resolved scenario with the run's overrides applied (ScenarioError on bad values)."""
    sets = list(overrides or [])
    if seed is not None:
        sets.append(f"seed={seed}")
    if days is not None:
        sets.append(f"horizon.days={days}")
    if policy is not None:
        sets.append(f"policy={policy!r}" if "'" not in policy else f'policy="{policy}"')
    if router is not None:
        sets.append(f"router.name={router}")
    if isinstance(scenario, (str, Path)):
        sc = load_scenario(scenario, sets)
    else:
        sc = resolve(apply_overrides(to_dict(scenario), sets), Path.cwd()) if sets else scenario
    if sc.demand.source == "file":
        from sim.demand.history import check_history

        check_history(sc)  # the rows as the run reads them, and at least one order inside the horizon
    spec = parse_spec(sc.policy)
    for registry, name, field in ((POLICIES, spec.name, "policy"), (ROUTERS, sc.router.name, "router.name")):
        try:
            registry.get(name)
        except (KeyError, LookupError) as exc:
            raise ScenarioError(f"{field}: {exc.args[0]}") from None
    return sc


def run_tables(sc: Scenario, net: Any, cat: Any, order_id: Any) -> dict[str, Any]:
    """The run directory's tables beside the contract's four: skus (always), order_ids (history replay)."""
    from sim.io.skus import history_sku_map, order_ids_table, skus_table

    out: dict[str, Any] = {"skus": skus_table(cat, history_sku_map(sc, net, cat))}
    ids = order_ids_table(sc, net, cat, order_id)
    if ids is not None:
        out["order_ids"] = ids
    return out


def default_out(sc: Scenario) -> Path:
    return Path("runs") / f"{sc.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def simulate(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    replication: int = 0,
    days: int | None = None,
    policy: str | None = None,
    router: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
    overrides: list[str] | None = None,
    progress: Progress | None = None,
    report: bool = True,
    explain: bool = False,
    label: str | None = None,
    meta: dict[str, Any] | None = None,
    executor: Any = None,
    tables: tuple[str, ...] | None = None,
) -> RunResult:
    """Run one scenario and return its results (written to `out`, default runs/<scenario>-<time>).

    `tables` (default all): the tables of the returned result read back from the run directory; the others
    are empty (``load_run``): the CLI reads only what it prints.

    With `report`, report.html and plots/ are written into the run directory too (`shangou report`
    rewrites them later if this is skipped). With `explain`, every routing decision's candidates are
    recorded into explain.parquet for ``shangou explain`` (about ``sim.engine.explain.ROW_BYTES`` bytes
    of memory per candidate (order, node) pair per routing epoch; other outputs are unchanged).
    `label` (``--label``), the `overrides` and `meta` (an experiment's: its kind, group, grid point) are
    stored in manifest.json, where ``shangou runs`` finds them.

    A ``nodes.ndcs.capacity.scope: regional`` scenario is simulated region by region and merged
    (``sim.shard``): in this process one region after the other, or on `executor` (``sim.experiments.
    executors``: local pool or Dask); the outputs are the same either way. An `executor` with a
    ``scope: national`` scenario is refused (ScenarioError): its network is one component.
    """
    from sim.engine.simulation import Simulation  # SimPy is imported only when a run starts

    sc = prepare(scenario, seed=seed, days=days, policy=policy, router=router, overrides=overrides)
    if not 0 <= replication < 2**63:
        raise ScenarioError(f"--replication: must be >= 0 and < 2^63, got {replication}")
    target = Path(out) if out is not None else default_out(sc)
    check_out_dir(target, force)  # refuse before spending the run, not after
    if executor is not None or sc.nodes.ndcs.capacity.scope == "regional":
        return _simulate_sharded(
            sc,
            replication=replication,
            target=target,
            force=force,
            report=report,
            explain=explain,
            label=label,
            overrides=overrides,
            meta=meta,
            executor=executor,
            progress=progress,
            tables=tables,
        )
    total = sc.horizon.warmup_days + sc.horizon.days
    t0 = time.perf_counter()
    sim = Simulation(
        sc,
        seed=sc.seed,
        replication=replication,
        days=sc.horizon.days,
        policy=sc.policy,
        router=sc.router.name,
        progress=(lambda day, n: progress(day, total, n)) if progress else None,
        explain=explain,
    )
    records = sim.run()
    wall = time.perf_counter() - t0
    assert_invariants(records, drained=True, shelf_life_days=sim.cat.shelf_life_s / 86400.0)
    info: dict[str, Any] = {
        "seed": sc.seed,
        "replication": replication,
        "policy": sc.policy,
        "router": sc.router.name,
        "wall_s": round(wall, 3),
        "orders_per_s": round(records.orders.n / wall, 1) if wall > 0 else None,
    }
    info.update({k: v for k, v in (meta or {}).items() if v not in (None, [], {})})
    if label:
        info["label"] = label
    if overrides:
        info["overrides"] = list(overrides)
    extra = run_tables(sc, sim.net, sim.cat, records.orders.order_id)
    if sim.explain is not None:
        from sim.io.explain import explain_table

        extra["explain"] = explain_table(sim.explain.records(), sim.net.node_ids)
    path = write_run(
        target, records, sim.net, sc, sim.cat.value_cny, info, force=force, extra=extra, catalog=sim.cat
    )
    with read_once():  # the report, its calibration and the result read the run directory once
        if report:  # matplotlib and DuckDB load only when a report is wanted
            from sim.report.html import write_report

            write_report(path)
        return load_run(path, tables)


def _simulate_sharded(
    sc: Scenario,
    *,
    replication: int,
    target: Path,
    force: bool,
    report: bool,
    explain: bool,
    label: str | None,
    overrides: list[str] | None,
    meta: dict[str, Any] | None,
    executor: Any,
    progress: Progress | None,
    tables: tuple[str, ...] | None = None,
) -> RunResult:
    """A regional scenario: its shards (serially or on `executor`), merged into one run directory."""
    from sim.shard import is_regional, plan_shards, simulate_sharded

    if explain:
        raise ScenarioError("--explain: not available for a regional (sharded) run yet")
    info: dict[str, Any] = {
        "seed": sc.seed,
        "replication": replication,
        "policy": sc.policy,
        "router": sc.router.name,
    }
    info.update({k: v for k, v in (meta or {}).items() if v not in (None, [], {})})
    if label:
        info["label"] = label
    if overrides:
        info["overrides"] = list(overrides)
    if not is_regional(sc):
        plan_shards(sc)  # raises: a national network is one component
    total, done = sc.horizon.warmup_days + sc.horizon.days, [0, 0]
    n_shards = max(1, sum(1 for _ in sc.nodes.ndcs.all_ids("ndc")))

    def on_done(out: Any) -> None:  # progress: the share of shards finished, in days, and their orders
        done[0] += 1
        done[1] += int(out.n_orders)
        if progress is not None:
            progress(total * done[0] // n_shards, total, done[1])

    path = simulate_sharded(
        sc,
        replication=replication,
        target=target,
        force=force,
        executor=executor,
        info=info,
        report=report,
        on_done=on_done,
    )
    return load_run(path, tables)
