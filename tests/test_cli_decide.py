"""shangou optimize end to end on the toy (small and fast): the answer matches an exhaustive sweep of the
same design space in fewer simulations, the folder has its tables and report, and bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.stats import paired_difference

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"
SMALL = ["demand.orders_per_day=500", "horizon.warmup_days=2", "router.epoch_s=300"]
CHOICES = (40, 80, 120, 160, 200)
BUDGET_CNY = 100_000


def _sets() -> list[str]:
    return [x for s in SMALL for x in ("--set", s)]


def test_optimize_finds_the_exhaustive_best_in_fewer_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the planner's question: the most perfect orders for at most BUDGET_CNY of forward stock
    grid = ",".join(f"top_n(n={n})" for n in CHOICES)
    assert (
        main(
            [
                "sweep",
                str(TOY),
                "--grid",
                f"policy={grid}",
                "--replications",
                "3",
                "--days",
                "1",
                "--workers",
                "2",
                "--out",
                str(tmp_path / "sweep"),
                "--quiet",
                *_sets(),
            ]
        )
        == 0
    )
    reps = pd.read_csv(tmp_path / "sweep" / "replications.csv")
    reps["n"] = reps["point"].str.extract(r"n=(\d+)").astype(int)
    means = reps.groupby("n")[["perfect_order_rate", "forward_inventory_value_cny"]].mean()
    feasible = means[means["forward_inventory_value_cny"] <= BUDGET_CNY]
    best = int(feasible["perfect_order_rate"].idxmax())

    out = tmp_path / "opt"
    args = [
        "optimize",
        str(TOY),
        "--param",
        "policy.n=" + "|".join(map(str, CHOICES)),
        "--objective",
        "perfect_order_rate",
        "--constraint",
        f"forward_inventory_value_cny<={BUDGET_CNY}",
        "--budget",
        "4",
        "--replications",
        "3",
        "--select-top",
        "2",
        "--select-replications",
        "3",
        "--policy",
        "top_n(n=100)",
        "--days",
        "1",
        "--out",
        str(out),
        *_sets(),
    ]
    code = main([*args, "--workers", "2"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    info = json.loads((out / "experiment.json").read_text())
    assert info["kind"] == "optimize" and info["status"] == "done"
    chosen = int(info["chosen"]["design"]["policy.n"])
    assert info["chosen"]["policy"] == f"top_n(n={chosen})" and chosen in feasible.index
    # as good as the exhaustive best within its 95% CI (paired over the same replications), in fewer runs
    by = reps.pivot(index="replication", columns="n", values="perfect_order_rate")
    d = paired_difference(by[best].to_numpy(), by[chosen].to_numpy())
    assert chosen == best or d.ci_low <= 0.0, (chosen, best, d)
    runs = sorted(p.parent for p in (out / "runs").rglob("manifest.json"))
    assert len(runs) < len(reps)  # fewer simulations than the exhaustive sweep
    trials = pd.read_csv(out / "trials.csv")
    assert trials["policy.n"].is_unique and len(trials) == 4
    html = (out / "report.html").read_text()
    assert "Chosen: policy.n=" in html and "://" not in html
    # same answer again, every run reused, whatever the worker count
    assert main([*args, "--quiet"]) == 0
    assert sorted(p.parent for p in (out / "runs").rglob("manifest.json")) == runs
    assert json.loads((out / "experiment.json").read_text())["chosen"] == info["chosen"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--param", "policy.n=5..1", "--objective", "cost_per_order_cny"], "--param policy.n"),
        (["--param", "no.such.field=1..2", "--objective", "cost_per_order_cny"], "--param no.such.field"),
        (["--param", "policy.n=1..5", "--objective", "speed"], "--objective"),
        (
            ["--param", "policy.n=1..5", "--objective", "cost_per_order_cny", "--constraint", "x>1"],
            "--constraint",
        ),
    ],
)
def test_bad_input_exits_2(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["optimize", str(TOY), *args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
