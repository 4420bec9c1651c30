"""`shangou calibrate`: every figure recomputed here from the run's Parquet with pandas, and the exit
code follows the table (0 all in, 1 any out or not measured, 2 bad input)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from sim.catalog import build_catalog
from sim.cli import main
from sim.io.scenario import load_scenario
from sim.report.calibration import FIGURES, NA, NOT_MEASURED, all_in, calibrate_dirs, load_targets

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0

# toy, smaller, around the clock (night figures apply) and with a promotion (the peak figure applies)
SCENARIO = f"""extends: {ROOT / "scenarios" / "toy.yaml"}
name: toy_calibration
horizon: {{days: 2, warmup_days: 3, start_date: 2026-11-02}}
demand:
  orders_per_day: 600
  promotions:
    - {{name: peak, date: 2026-11-06, multiplier: 2.5}}
tiers:
  near: {{service_hours: ["00:00", "24:00"]}}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    from sim.run import simulate

    root = tmp_path_factory.mktemp("calib")
    yaml = root / "toy_calibration.yaml"
    yaml.write_text(SCENARIO, encoding="utf-8")
    paths = [simulate(yaml, replication=r, out=root / "runs" / f"rep{r}", report=False).path for r in (0, 1)]
    return yaml, paths


def _mid_in_hours(sc: Any, created: pd.Series) -> pd.Series:
    """Created when the next wave (cut-off at or after the order, that day) closes its window within 4 h."""

    def clock(c: str) -> float:
        return int(c[:2]) * 3600.0 + int(c[3:]) * 60.0

    waves = sorted((clock(w.cutoff), clock(w.window[1])) for w in sc.tiers.mid.waves)

    def ok(t: float) -> bool:
        nxt = [end for cut, end in waves if cut >= t % DAY]
        return bool(nxt) and nxt[0] - t % DAY <= 4 * 3600.0

    return created.map(ok).astype(bool)


def independent(path: Path) -> dict[str, float | None]:
    """Each figure from the Parquet files (and kpis.json for network-level costs), pandas only."""
    sc = load_scenario(path / "scenario.yaml")
    cat = build_catalog(sc)
    o = pd.read_parquet(path / "orders.parquet")
    li = pd.read_parquet(path / "lines.parquet")
    inv = pd.read_parquet(path / "inventory.parquet")
    nodes = pd.read_parquet(path / "nodes.parquet")
    kpis = pd.read_json(path / "kpis.json", typ="series")
    m = o[~o.warmup]
    d = m[m.status == "delivered"].assign(minutes=lambda x: (x.delivered_s - x.created_s) / 60)
    tier = {t: d[d.served_tier == t] for t in ("near", "mid", "far")}
    w = sc.horizon.warmup_days
    inv = inv[(inv.day >= w) & (inv.day < w + sc.horizon.days)]
    kind = inv.node_id.map(dict(zip(nodes.id, nodes.kind, strict=True)))
    fresh = np.isfinite(cat.shelf_life_s)[inv.sku]
    f: dict[str, float | None] = {
        "near_mean_min": tier["near"].minutes.mean(),
        "mid_mean_min": tier["mid"].minutes.mean(),
        "far_mean_h": tier["far"].minutes.mean() / 60,
        "near_on_time_quoted": tier["near"].on_time.mean() if sc.tiers.near.quote == "eta" else None,
        "near_within_30min": (tier["near"].minutes <= 30).mean(),
        "mid_within_4h": (tier["mid"][_mid_in_hours(sc, tier["mid"].created_s)].minutes <= 240).mean(),
        "far_on_time": tier["far"].on_time.mean(),
        # riders by the hour: kpis.json's rider-days; else (24 h service) a rider-day is 86,400 rider-seconds
        "rider_orders_per_day": len(tier["near"]) / kpis["riders"]["rider_days"]
        if isinstance(kpis.get("riders"), dict) and kpis["riders"].get("rider_days")
        else len(tier["near"]) / (nodes[nodes.kind == "store"].riders_available_s.sum() / DAY),
        "rider_cost_per_order": tier["near"].cost_transport_cny.mean(),
        "spoilage_pct_fresh": inv.spoiled[fresh].sum() / inv.received[fresh & (kind == "ndc")].sum(),
    }
    for k in ("ndc", "fdc", "store"):
        s = inv[fresh & (kind == k)]
        out = (s.shipped + s.transferred_out).sum()
        f[f"fresh_dos_{k}"] = s.end.sum() / out if out else None
    o_status = m[["order_id", "requested_tier", "status"]].rename(columns={"status": "o_status"})
    j = li.merge(o_status, on="order_id")
    subst = j.substitute_sku.notna()  # tiers.substitution (on by default): the line shipped a substitute
    dropped = (j.status == "lost") & (j.o_status != "lost")  # partial fulfilment: lost line, served order
    so = j[j.stockout | subst | dropped]  # the lines that met a stock-out: recorded, substituted or dropped
    f["stockout_substitution_rate"] = so.substitute_sku.notna().mean()
    f["stockout_lost_rate"] = (so.status == "lost").mean()
    hour = (m.created_s % DAY) / 3600
    night = (hour >= 21) | (hour < 6)
    at_store = m.node_id.isin(
        nodes.id[nodes.kind == "store"]
    )  # every toy store is open around the clock here
    f["night_share"] = night[at_store].mean()
    near = m.requested_tier == "near"
    late = near & ((hour >= 23) | (hour < 8))
    f["night_vs_day_loss"] = (m[late].status == "lost").mean() / (m[near & ~late].status == "lost").mean()
    per_day = np.floor(o.created_s / DAY).value_counts().sort_index()
    f["peak_multiplier"] = per_day[4.0] / per_day.drop(4.0).mean()  # 2026-11-06 is day 4
    cb = kpis["cost_breakdown_cny"]
    # pickers paid by the hour on shift: stores' hours on shift, FDCs' pickers from 00:00 to the last cut-off
    last_cut = max(int(w.cutoff[:2]) * 3600 + int(w.cutoff[3:]) * 60 for w in sc.tiers.mid.waves)
    n_fdc = int((nodes.kind == "fdc").sum())
    hours = nodes[nodes.kind == "store"].pickers_available_s.sum() / 3600
    hours += n_fdc * sc.nodes.fdcs.capacity.pickers * last_cut / 3600 * sc.horizon.days
    picked = m.node_id.isin(nodes.id[nodes.kind.isin(["store", "fdc"])])
    cost = (
        m.cost_handling_cny[~picked].sum()
        + hours * sc.costs.picker_per_hour_cny
        + m.cost_transport_cny.sum()
        + m.cost_split_cny.sum()
        + cb["fixed"]
        + cb["holding"]
        + cb["transfer"]
        + cb["spoilage"]
    )
    f["fulfilment_cost_per_order"] = cost / len(d)
    j["value"] = j.qty * cat.value_cny[j.sku]
    f["fulfilment_cost_share"] = cost / j[j.order_id.isin(d.order_id)].value.sum()
    inst = j[j.requested_tier.isin(["near", "mid"])]
    f["avg_order_value"] = inst.value.sum() / int(m.requested_tier.isin(["near", "mid"]).sum())
    return f


def test_every_figure_matches_an_independent_computation(runs: Any) -> None:
    _, paths = runs
    want = [independent(p) for p in paths]
    assert set(want[0]) == set(FIGURES)
    table = calibrate_dirs(paths).set_index("id")
    assert set(table.index) == set(FIGURES)  # the bundled table covers every figure
    for fid in FIGURES:
        vals = [w[fid] for w in want]
        row = table.loc[fid]
        if vals[0] is None:
            assert row.status == NOT_MEASURED, fid
            continue
        assert row.status in ("in", "out"), fid
        assert row.value == pytest.approx(np.mean(vals), rel=1e-9), fid
        half = scipy.stats.t.ppf(0.975, 1) * np.std(vals, ddof=1) / math.sqrt(2)
        assert row.ci_low == pytest.approx(np.mean(vals) - half, rel=1e-6, abs=1e-12), fid
        lo = -np.inf if pd.isna(row.low) else row.low
        hi = np.inf if pd.isna(row.high) else row.high
        assert (row.status == "in") == (lo - 1e-12 <= row.value <= hi + 1e-12), fid


def _targets(path: Path, rows: list[tuple[str, float | None, float | None]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "figure", "low", "high", "unit", "source"])
        for fid, lo, hi in rows:
            w.writerow([fid, fid, "" if lo is None else lo, "" if hi is None else hi, "x", "test"])
    return path


def test_exit_code_follows_the_table(runs: Any, tmp_path: Path) -> None:
    yaml, paths = runs
    runs_dir = paths[0].parent
    v = independent(paths[0])
    v1 = independent(paths[1])
    measured = [k for k in v if v[k] is not None]
    around = [(k, min(v[k], v1[k]) - 1, max(v[k], v1[k]) + 1) for k in measured]  # type: ignore[type-var,operator]
    assert (
        main(
            [
                "calibrate",
                str(yaml),
                "--runs",
                str(runs_dir),
                "--targets",
                str(_targets(tmp_path / "in.csv", around)),
            ]
        )
        == 0
    )
    # one figure out of range -> 1
    k0, lo0, hi0 = around[0]
    off = [(k0, hi0 + 5, hi0 + 6), *around[1:]]
    assert (
        main(
            [
                "calibrate",
                str(yaml),
                "--runs",
                str(runs_dir),
                "--targets",
                str(_targets(tmp_path / "out.csv", off)),
            ]
        )
        == 1
    )
    # a figure not measured counts as out
    assert (
        main(
            [
                "calibrate",
                str(yaml),
                "--runs",
                str(runs_dir),
                "--targets",
                str(_targets(tmp_path / "nm.csv", [*around, ("near_on_time_quoted", 0.9, 1.0)])),
            ]
        )
        == 1
    )
    # the bundled targets: the exit code is what the table says, and --to writes that table
    table = calibrate_dirs(paths)
    code = main(["calibrate", str(yaml), "--runs", str(runs_dir), "--to", str(tmp_path / "t.csv")])
    assert code == (0 if all_in(table) else 1)
    written = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert list(written.status) == list(table.status)


def test_bad_input_exits_2(runs: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    yaml, paths = runs
    bad = tmp_path / "bad.csv"
    bad.write_text("id,figure,low,high,unit,source\nnear_mean_min,x,abc,,min,s\n", encoding="utf-8")
    assert main(["calibrate", str(yaml), "--runs", str(paths[0]), "--targets", str(bad)]) == 2
    assert "row 2, column low" in capsys.readouterr().err
    bad.write_text("id,figure,low,high,unit,source\nno_such_figure,x,1,2,min,s\n", encoding="utf-8")
    assert main(["calibrate", str(yaml), "--runs", str(paths[0]), "--targets", str(bad)]) == 2
    assert "unknown figure" in capsys.readouterr().err
    # runs of another scenario
    assert main(["calibrate", str(ROOT / "scenarios" / "toy.yaml"), "--runs", str(paths[0])]) == 2
    assert "not 'toy'" in capsys.readouterr().err
    assert main(["calibrate", str(yaml), "--runs", str(tmp_path / "nothing")]) == 2


def test_na_figures_do_not_count(runs: Any) -> None:
    """Without 24 h service or promotions the night and peak targets do not apply (n/a), never 'in'."""
    _, paths = runs
    table = calibrate_dirs(paths)
    assert (table.status != NA).all()  # this scenario is around the clock and has a promotion
    assert load_targets()  # the bundled table parses
