"""compare / sweep end to end on the toy scenario (1 measured day, made smaller to keep it fast):
local vs Dask give identical tables, re-runs resume, a changed scenario re-runs, a failing job is
reported while the others finish, and the CLI verbs' exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from sim.cli import main
from sim.experiments import compare

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"
POLICIES = ["central_only", "top_n(n=100)"]
# the toy network, fewer orders, the shortest valid warm-up and 5-minute routing epochs: ~1 s a run
SMALL = ["demand.orders_per_day=500", "horizon.warmup_days=2", "router.epoch_s=300"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def sets() -> list[str]:
    return [x for s in SMALL for x in ("--set", s)]


def mtimes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted((root / "runs").rglob("manifest.json"))
    }


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("cmp") / "local"
    return compare(TOY, POLICIES, replications=2, days=1, overrides=SMALL, out=out, workers=2, progress=False)


def test_compare_outputs(local) -> None:
    out = local.path
    assert local.ran == 4 and local.reused == 0 and not local.failures
    for slug in ("central_only", "top_n-n=100"):
        for r in (0, 1):
            man = json.loads((out / "runs" / slug / f"r{r}" / "manifest.json").read_text())
            assert (
                man["replication"] == r and man["seed"] == 7
            )  # same seed, replication r: common random numbers
    table = pd.read_parquet(out / "comparison.parquet")
    pdt.assert_frame_equal(table, pd.read_csv(out / "comparison.csv"), check_dtype=False)
    assert list(dict.fromkeys(table["policy"])) == POLICIES
    for col in (
        "kpi",
        "n",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "diff_mean",
        "diff_ci_low",
        "diff_ci_high",
        "corr",
    ):
        assert col in table
    kpis = set(table["kpi"])
    assert {
        "cost_per_order_cny",
        "perfect_order_rate",
        "requested_tier_rate",
        "lost_sales_rate",
        "near_mid_share",
        "tiers.near.p90_min",
        "tiers.far.p90_min",
        "forward_inventory_value_cny",
        "delivery_p90_min",
    } <= kpis
    # the table is recomputed from the run directories' kpis.json (a check independent of sim.experiments)
    cost = [
        json.loads((out / "runs" / "top_n-n=100" / f"r{r}" / "kpis.json").read_text())["cost_per_order_cny"]
        for r in (0, 1)
    ]
    base = [
        json.loads((out / "runs" / "central_only" / f"r{r}" / "kpis.json").read_text())["cost_per_order_cny"]
        for r in (0, 1)
    ]
    row = table[(table["policy"] == "top_n(n=100)") & (table["kpi"] == "cost_per_order_cny")].iloc[0]
    assert row["n"] == 2 and row["mean"] == pytest.approx(sum(cost) / 2)
    assert row["diff_mean"] == pytest.approx((cost[0] - base[0] + cost[1] - base[1]) / 2)
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    # delivery_p90_min: p90 of delivery time over delivered measured orders, from orders.parquet
    orders = pd.read_parquet(out / "runs" / "top_n-n=100" / "r0" / "orders.parquet")
    ok = orders[(orders["status"] == "delivered") & ~orders["warmup"]]
    p90 = float(np.percentile(ok["delivered_s"] - ok["created_s"], 90)) / 60
    reps = local.replications.set_index(["policy", "replication"])
    assert reps.loc[("top_n(n=100)", 0), "delivery_p90_min"] == pytest.approx(p90)
    for png in ("pareto_cost_perfect.png", "pareto_cost_p90.png"):
        assert (out / "plots" / png).read_bytes()[:8] == PNG_MAGIC


def test_dask_local_cluster_gives_identical_tables(local, tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    res = compare(
        TOY,
        POLICIES,
        replications=2,
        days=1,
        overrides=SMALL,
        out=tmp_path / "dask",
        executor="dask",
        workers=2,
        progress=False,
        plots=False,
    )
    assert res.ran == 4 and not res.failures
    pdt.assert_frame_equal(res.table, local.table)
    pdt.assert_frame_equal(res.replications.drop(columns="wall_s"), local.replications.drop(columns="wall_s"))
    pdt.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask" / "comparison.parquet"),
        pd.read_parquet(local.path / "comparison.parquet"),
    )


def test_resume_ci_width_and_changed_scenario(local, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(local.path, out)  # copy2 keeps the mtimes
    before = mtimes(out)
    # an interrupted compare: one run directory missing
    shutil.rmtree(out / "runs" / "top_n-n=100" / "r1")
    res = compare(
        TOY,
        POLICIES,
        replications=2,
        days=1,
        overrides=SMALL,
        out=out,
        workers=2,
        progress=False,
        plots=False,
    )
    assert (res.ran, res.reused) == (1, 3)
    after = mtimes(out)
    redone = "runs/top_n-n=100/r1/manifest.json"
    assert {k: v for k, v in after.items() if k != redone} == {k: v for k, v in before.items() if k != redone}
    assert after[redone] != before[redone]
    pdt.assert_frame_equal(res.table, local.table)  # deterministic: the re-run gives the same numbers

    # --ci-width: a loose target stops after the first round (nothing runs); a tight one adds replications
    loose = compare(
        TOY,
        POLICIES,
        replications=2,
        days=1,
        overrides=SMALL,
        out=out,
        ci_width=10.0,
        progress=False,
        plots=False,
    )
    assert (loose.ran, loose.rounds) == (0, 1)
    tight = compare(
        TOY,
        POLICIES,
        replications=2,
        days=1,
        overrides=SMALL,
        out=out,
        workers=2,
        ci_width=1e-6,
        max_replications=3,
        progress=False,
        plots=False,
    )
    assert (tight.ran, tight.reused, tight.rounds) == (2, 4, 2)
    assert set(tight.table["n"][tight.table["kpi"] == "cost_per_order_cny"]) == {3}
    assert mtimes(out)[redone] == after[redone]

    # a changed scenario (--set) re-runs every job
    res2 = compare(
        TOY,
        POLICIES,
        replications=2,
        days=1,
        overrides=[*SMALL, "costs.lost_sale.goodwill_cny=50"],
        out=out,
        workers=2,
        progress=False,
        plots=False,
    )
    assert (res2.ran, res2.reused) == (4, 0)
    new = mtimes(out)
    assert all(new[k] != after[k] for k in after if "/r2/" not in k)
    hashes = {json.loads((out / k).read_text())["scenario_hash"] for k in new if "/r2/" not in k}
    old_hashes = {json.loads((local.path / k).read_text())["scenario_hash"] for k in before}
    assert hashes.isdisjoint(old_hashes)


def test_failing_job_is_reported_and_others_finish(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a job that fails only when it runs: its run directory's place is taken by a file (a bad SPEC such as
    # top_n(n=-5) is refused before any job, see tests/reliability/test_inputs.py)
    out = tmp_path / "fail"
    (out / "runs" / "top_n-n=100").mkdir(parents=True)
    (out / "runs" / "top_n-n=100" / "r0").write_text("in the way")
    (out / "experiment.json").write_text(json.dumps({"kind": "compare"}))
    code, stdout, err = run_cli(
        capsys,
        "compare",
        TOY,
        "--policies",
        "central_only,top_n(n=100)",
        "--replications",
        "1",
        "--days",
        "1",
        *sets(),
        "--out",
        out,
        "--quiet",
    )
    assert code == 1
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert all(ln.startswith("error: ") for ln in lines) and "Traceback" not in err
    assert any("top_n(n=100)" in ln and "not a directory" in ln for ln in lines), lines
    assert "1 ran" in stdout and "1 failed" in stdout
    table = pd.read_csv(out / "comparison.csv")
    ok = table[table["policy"] == "central_only"]
    assert (ok["n"].max(), ok["n_failed"].max()) == (1, 0)
    bad = table[table["policy"] == "top_n(n=100)"]
    assert (bad["n"].max(), bad["n_failed"].min()) == (0, 1)
    info = json.loads((out / "experiment.json").read_text())
    assert [f["group"] for f in info["failures"]] == ["top_n(n=100)"]
    assert (out / "runs" / "central_only" / "r0" / "manifest.json").is_file()
    reps = pd.read_csv(out / "replications.csv")
    assert reps.set_index("policy").loc["top_n(n=100)", "status"] == "failed"


def test_cli_compare_reuses_and_prints(capsys: pytest.CaptureFixture[str], local) -> None:
    code, stdout, err = run_cli(
        capsys,
        "compare",
        TOY,
        "--policies",
        ",".join(POLICIES),
        "--replications",
        "2",
        "--days",
        "1",
        *sets(),
        "--out",
        local.path,
    )
    assert code == 0, err
    assert "4 reused" in stdout and "top_n(n=100)" in stdout and "Cost per order (CNY)" in stdout


def test_cli_sweep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    code, stdout, err = run_cli(
        capsys,
        "sweep",
        TOY,
        "--grid",
        "forecast.error=0.1,0.5",
        "--grid",
        "policy=top_n(n=100)",
        "--replications",
        "1",
        "--days",
        "1",
        *sets(),
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(dict.fromkeys(table["forecast.error"])) == ["0.1", "0.5"]
    assert set(table["policy"]) == {"top_n(n=100)"}
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "forecast.error=0.1-policy=top_n-n=100",
        "forecast.error=0.5-policy=top_n-n=100",
    ]
    for png in (
        "heatmap_cost_per_order_cny.png",
        "heatmap_perfect_order_rate.png",
        "pareto_cost_perfect.png",
    ):
        assert (out / "plots" / png).read_bytes()[:8] == PNG_MAGIC
    # a sweep folder gets its own report: the grid, the points with CIs, the figures, and no URL
    code, _, err = run_cli(capsys, "report", out)
    assert code == 0, err
    html = (out / "report.html").read_text(encoding="utf-8")
    for needle in (
        'id="verdict"',
        'id="method"',
        'id="points"',
        'id="sweep-plots"',
        "Cheapest point: forecast.error",
        "<th>forecast.error</th>",
    ):  # the grid parameter is a column of the points table
        assert needle in html
    assert html.count('class="vega-spec"') == 4  # one interactive chart per headline KPI
    body = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # the inlined chart library
    assert "http://" not in body and "https://" not in body and "//cdn" not in body.lower()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["compare", TOY, "--policies", "top_n(n=1"], "--policies"),
        (["compare", TOY, "--policies", "no_such_policy"], "unknown policy"),
        (["compare", TOY, "--policies", "top_n(n=1),top_n(n = 1)"], "--policies"),
        (["compare", TOY, "--policies", "central_only", "--executor", "ray"], "--executor"),
        (["compare", TOY, "--policies", "central_only", "--address", "tcp://x:1"], "--address"),
        (["compare", TOY, "--policies", "central_only", "--ci-width", "-1"], "--ci-width"),
        (
            ["compare", TOY, "--policies", "central_only", "--set", "demand.orders_per_day=-5"],
            "orders_per_day",
        ),
        (["compare", TOY, "--policies", "central_only", "--replications", "0"], "--replications"),
        (["compare", ROOT / "no_such.yaml", "--policies", "central_only"], "no_such"),
        (["sweep", TOY, "--grid", "forecast.error"], "--grid"),
        (["sweep", TOY, "--grid", "no.such.path=1,2"], "no"),
        (["sweep", TOY, "--grid", "forecast.error=0.1,abc"], "forecast.error"),
        (["sweep", TOY, "--grid", "policy=top_n(n=1"], "--grid"),
        (["sweep", TOY], "--grid"),
    ],
)
def test_cli_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list, needle: str
) -> None:
    code, _, err = run_cli(capsys, *args, "--out", tmp_path / "o")
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert not (tmp_path / "o" / "runs").exists()  # refused before anything ran


def test_out_that_is_not_an_experiment_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "compare", TOY, "--policies", "central_only", "--out", tmp_path)
    assert code == 2 and "--out" in err


def test_compare_is_exported() -> None:
    import sim

    assert sim.compare is compare
