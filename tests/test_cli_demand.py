"""``shangou demand SCENARIO [--days D] [--plot DIR] [--set ...]``: tables, plots, exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.catalog import build_catalog
from sim.cli import main
from sim.demand import demand_day
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"
HISTORY = ROOT / "scenarios" / "toy_history.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def one_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error: ") for ln in lines), err
    assert "Traceback" not in err
    return lines[0]


def test_demand_tables(capsys):
    code, out, err = run(capsys, "demand", TOY, "--days", "3")
    assert code == 0, err
    for text in (
        "orders per day",
        "warm-up",
        "measured",
        "requested near",
        "lines per order",
        "top-20% SKUs' unit share",
        "analytic, Zipf",
        "WAPE/actual",
        "bias/λ",
        "λ: the floor",
        "oracle error=0.3 *",
        "moving_average w=7",
        "exp_smoothing α=0.3",
        "promotion_aware",
        "hindsight",
    ):
        assert text in out, text
    # the day rows agree with the generator (toy: 3 warm-up + 3 measured days)
    sc = load_scenario(TOY)
    net, cat = build_network(sc), build_catalog(sc)
    counts = [demand_day(sc, net, cat, RandomStreams(sc.seed), d).n_orders for d in range(6)]
    for d, n in enumerate(counts):
        date = sc.horizon.start_date.toordinal() + d
        row = next(ln for ln in out.splitlines() if str(type(sc.horizon.start_date).fromordinal(date)) in ln)
        assert f"{n:,}" in row
    assert f"{sum(counts):,} orders over 6 days" in out
    assert "(4,200 node x SKU x day cells)" in out  # 7 nodes x 200 SKUs x 3 measured days


def test_floor_and_hindsight_rows(capsys):
    code, out, _ = run(capsys, "demand", TOY, "--days", "2", "--set", "forecast.method=moving_average")
    assert code == 0
    rows = {
        ln.split("│")[1].strip(): [c.strip() for c in ln.split("│")[2:6]]
        for ln in out.splitlines()
        if ln.startswith("│") and "%" in ln and ln.count("│") == 6
    }
    assert rows["hindsight (bound)"][:2] == ["0.0%", "+0.0%"]
    assert rows["λ: the floor"][2:] == ["0.0%", "+0.0%"]
    assert "moving_average w=7 *" in rows
    floor = float(rows["λ: the floor"][0].rstrip("%"))
    assert floor > 10  # Poisson noise on a toy network: no forecast beats it on average


def test_plots_are_written(capsys, tmp_path):
    target = tmp_path / "figs" / "demand"
    code, out, err = run(capsys, "demand", TOY, "--days", "1", "--plot", target)
    assert code == 0, err
    for name in ("intraday.png", "popularity.png"):
        assert (target / name).read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in target.iterdir()) == ["intraday.png", "popularity.png"]  # no temp files
    assert "plots written to" in out


def test_history_scenario(capsys):
    code, out, err = run(capsys, "demand", HISTORY)
    assert code == 0, err
    assert "file demand" in out and "history: 3,761 rows" in out and "ids mapped by popularity" in out


def test_bad_history_row_exits_2(capsys, tmp_path):
    (tmp_path / "orders.csv").write_text("created,city,sku,qty\n10,Hangzhou,3,1\n20,Hangzhou,3,-1\n")
    sc = tmp_path / "s.yaml"
    sc.write_text(f"extends: {TOY}\nname: bad\ndemand: {{source: file, file: orders.csv}}\n")
    code, _, err = run(capsys, "demand", sc)
    assert code == 2
    assert (
        one_error(err)
        == "error: demand.file: orders.csv row 3, column qty: must be a positive integer, got '-1'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days"),
        (["--set", "demand.orders_per_day=-5"], "demand.orders_per_day"),
    ],
)
def test_bad_arguments_exit_2(capsys, args, message):
    code, _, err = run(capsys, "demand", TOY, *args)
    assert code == 2
    assert message in one_error(err)


def test_missing_scenario_and_plot_onto_a_file(capsys, tmp_path):
    code, _, err = run(capsys, "demand", tmp_path / "nope.yaml")
    assert code == 2 and "file not found" in one_error(err)
    f = tmp_path / "file.png"
    f.write_bytes(b"x")
    code, _, err = run(capsys, "demand", TOY, "--plot", f)
    assert code == 2 and "not a directory" in one_error(err)
    assert f.read_bytes() == b"x"


def test_plot_functions_return_figures():
    from matplotlib.figure import Figure

    from sim.report.plots import intraday_profile, popularity_curve

    share = np.full(24, 1 / 24)
    assert isinstance(intraday_profile(share, np.arange(24)), Figure)
    z = 1 / np.arange(1, 11)
    assert isinstance(popularity_curve(z * 100, z / z.sum(), z / z.sum()), Figure)
