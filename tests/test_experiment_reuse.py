"""Experiment run reuse across policy spellings and verbs' layouts, and the replication-major job
order (toy scenario, ~1 s a run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas.testing as pdt
import pytest

import sim.experiments.experiment as experiment
from sim.experiments import compare
from sim.experiments.match import match_inventory
from sim.experiments.sweep import sweep
from sim.run import prepare, simulate
from sim.spec import canonical_spec, same_policy, spellings

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"
SMALL = ["demand.orders_per_day=500", "horizon.warmup_days=2", "router.epoch_s=300"]
CO = "cost_optimal(holding_weight=51)"
KW = {"days": 1, "overrides": SMALL, "workers": 1, "progress": False, "plots": False}


def mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("manifest.json"))}


def test_canonical_spec() -> None:
    assert str(canonical_spec("cost_optimal(holding_weight=51.0)")) == CO
    assert str(canonical_spec("b(x=[1.0, 2.5], s=0.9, f=True)")) == "b(f=True,s=0.9,x=[1, 2.5])"
    assert same_policy("a(x=51.0,y=2)", "a(y=2.0, x=51)") and not same_policy("a(x=51.5)", "a(x=51)")
    assert [str(s) for s in spellings("a(x=1,y=0.5)")] == ["a(x=1,y=0.5)", "a(x=1.0,y=0.5)"]


def test_float_spelling_of_a_policy_reuses_its_runs(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    first = compare(TOY, [CO], replications=1, out=out, **KW)
    assert (first.ran, first.reused) == (1, 0)
    before = mtimes(out)
    # the command line's float (`--hi 51` is holding_weight=51.0) is the same policy: nothing runs
    again = compare(TOY, ["cost_optimal(holding_weight=51.0)"], replications=1, out=out, **KW)
    assert (again.ran, again.reused) == (0, 1) and mtimes(out) == before
    pdt.assert_frame_equal(again.table, first.table)

    # a run stored under the old spelling (its own directory name, policy text and scenario hash)
    # is found too
    old = out / "runs" / "top_n-n=100.0" / "r0"
    simulate(prepare(TOY, days=1, policy="top_n(n=100.0)", overrides=SMALL), out=old, report=False)
    assert json.loads((old / "manifest.json").read_text())["policy"] == "top_n(n=100.0)"
    before = mtimes(out)
    both = compare(TOY, [CO, "top_n(n=100)"], replications=1, out=out, **KW)
    assert (both.ran, both.reused) == (0, 2) and mtimes(out) == before
    assert set(both.replications["run_dir"]) == {
        "runs/cost_optimal-holding_weight=51/r0",
        "runs/top_n-n=100.0/r0",
    }


def test_match_reuses_an_end_run_by_compare(tmp_path: Path) -> None:
    out = tmp_path / "match"
    compare(TOY, [CO], replications=1, out=out / "holding_weight=51", **KW)
    before = mtimes(out)
    res = match_inventory(
        TOY,
        "cost_optimal",
        "holding_weight",
        41.0,
        51.0,
        1.0,
        replications=1,
        max_iter=2,
        out=out,
        days=1,
        workers=1,
        overrides=SMALL,
    )
    assert [s.value for s in res.steps] == [41.0, 51.0]
    after = mtimes(out)
    assert {k: after[k] for k in before} == before  # the holding_weight=51 end was not simulated again
    assert len(after) == len(before) + 1


def test_sweep_and_compare_reuse_each_others_runs(tmp_path: Path) -> None:
    policies = ["central_only", "top_n(n=100)"]
    cmp = compare(TOY, policies, replications=1, out=tmp_path / "cmp", **KW)
    assert cmp.ran == 2
    # a compare's run directories copied as they are into a sweep folder are reused by the sweep
    sw_out = tmp_path / "sweep"
    shutil.copytree(tmp_path / "cmp" / "runs", sw_out / "runs")
    sw = sweep(TOY, {"policy": policies}, replications=1, out=sw_out, **KW)
    assert (sw.ran, sw.reused) == (0, 2)
    pdt.assert_series_equal(sw.table["mean"], cmp.table["mean"])
    # ... and a sweep's (runs/policy=<slug>/) by a compare
    cmp2_out = tmp_path / "cmp2"
    (cmp2_out / "runs").mkdir(parents=True)
    for d in (tmp_path / "sweep" / "runs").iterdir():
        shutil.copytree(d, cmp2_out / "runs" / f"policy={d.name}")
    cmp2 = compare(TOY, policies, replications=1, out=cmp2_out, **KW)
    assert (cmp2.ran, cmp2.reused) == (0, 2)
    # each verb still reuses its own folder
    assert compare(TOY, policies, replications=1, out=tmp_path / "cmp", **KW).ran == 0
    assert sweep(TOY, {"policy": policies}, replications=1, out=sw_out, **KW).ran == 0


def test_jobs_run_replication_major_with_the_same_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[str, int]] = []
    real = experiment.run_all

    def spy(ex, fn, items, *a, **k):  # type: ignore[no-untyped-def]
        started.extend((j.group, j.replication) for j in items)
        return real(ex, fn, items, *a, **k)

    monkeypatch.setattr(experiment, "run_all", spy)
    policies = ["central_only", "top_n(n=100)"]
    rep_major = compare(TOY, policies, replications=2, out=tmp_path / "a", **KW)
    assert started == [(p, r) for r in (0, 1) for p in policies]

    started.clear()
    monkeypatch.setattr(
        experiment, "job_order", lambda groups, have, n: [(g, r) for g in groups for r in range(have, n)]
    )
    pol_major = compare(TOY, policies, replications=2, out=tmp_path / "b", **KW)
    assert started == [(p, r) for p in policies for r in (0, 1)]
    pdt.assert_frame_equal(rep_major.table, pol_major.table)
