"""Issue 8: the DuckDB views, the result figures, report.html and the ``runs`` / ``query`` / ``report`` verbs.

One toy run (module scope, one measured day) feeds every test. KPIs are recomputed with SQL
written here over the views (never with ``sim.metrics``); figures are checked by reading their
data back from the returned Figure's artists and comparing with pandas computations on the run.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.errors import ScenarioError
from sim.io.query import connect, find_runs, query
from sim.report import plots
from sim.report.html import RUN_FIGURES, RUN_SECTIONS, write_report
from sim.report.sections import top_stockouts

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"
TIERS = ("near", "mid", "far")
RANK = "list_position(['near', 'mid', 'far'], {})"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return sim.simulate(TOY, out=tmp_path_factory.mktemp("toy") / "run", days=1)


@pytest.fixture(scope="module")
def con(run: Any) -> Any:
    c = connect(run.path)
    yield c
    c.close()


def one(con: Any, sql: str) -> Any:
    return con.execute(sql).fetchone()[0]


def measured(run: Any) -> pd.DataFrame:
    o = run.orders[~run.orders["warmup"]].copy()
    o["hour"] = (o["created_s"] // 3600 % 24).astype(int)
    return o


# --------------------------------------------------------------------------- views = kpis.json
def test_headline_kpis_from_sql(run: Any, con: Any) -> None:
    k = run.kpis
    m = "FROM orders WHERE NOT warmup"
    assert one(con, f"SELECT count(*) {m}") == k["orders"]
    for status in ("delivered", "lost", "open"):
        assert one(con, f"SELECT count(*) {m} AND status = '{status}'") == k[status]
    assert one(con, f"SELECT avg(perfect::INT) {m}") == pytest.approx(k["perfect_order_rate"])
    assert one(con, f"SELECT avg((status = 'lost')::INT) {m}") == pytest.approx(k["lost_sales_rate"])
    assert one(con, f"SELECT avg(downgraded::INT) {m}") == pytest.approx(k["downgrade_rate"])
    assert one(con, f"SELECT avg((status = 'delivered' AND n_shipments > 1)::INT) {m}") == pytest.approx(
        k["split_rate"]
    )
    at_tier = f"status = 'delivered' AND {RANK.format('served_tier')} <= {RANK.format('requested_tier')}"
    assert one(con, f"SELECT avg(({at_tier})::INT) {m}") == pytest.approx(k["requested_tier_rate"])
    fill = one(
        con,
        """SELECT avg((l.status = 'delivered')::INT) FROM lines l
                       JOIN orders o ON o.run_id = l.run_id AND o.order_id = l.order_id WHERE NOT o.warmup""",
    )
    assert fill == pytest.approx(k["line_fill_rate"])


def test_tier_kpis_from_sql(run: Any, con: Any) -> None:
    rows = (
        con.execute("""
        SELECT served_tier, count(*) / sum(count(*)) OVER () AS share, avg(on_time::INT) AS on_time,
               quantile_cont((delivered_s - created_s) / 60, 0.5) AS p50,
               quantile_cont((delivered_s - created_s) / 60, 0.9) AS p90
        FROM orders WHERE NOT warmup AND status = 'delivered' GROUP BY served_tier""")
        .df()
        .set_index("served_tier")
    )
    for t in TIERS:
        kt = run.kpis["tiers"][t]
        if t not in rows.index:
            assert not kt["share"]
            continue
        assert rows.loc[t, "share"] == pytest.approx(kt["share"])
        assert rows.loc[t, "on_time"] == pytest.approx(kt["on_time_rate"])
        assert rows.loc[t, "p50"] == pytest.approx(kt["p50_min"])
        assert rows.loc[t, "p90"] == pytest.approx(kt["p90_min"])


def test_cost_per_order_from_sql(run: Any, con: Any) -> None:
    k = run.kpis
    parts = con.execute("""
        SELECT sum(cost_handling_cny), sum(cost_transport_cny), sum(cost_split_cny), sum(cost_penalty_cny), count(*)
        FROM orders WHERE NOT warmup""").fetchone()
    for key, value in zip(("handling", "transport", "split", "penalty"), parts[:4], strict=True):
        assert value == pytest.approx(k["cost_breakdown_cny"][key])
    network = one(
        con,
        """SELECT sum(value) FROM kpis WHERE key IN ('cost_breakdown_cny.fixed',
                          'cost_breakdown_cny.holding', 'cost_breakdown_cny.transfer', 'cost_breakdown_cny.spoilage',
                          'cost_breakdown_cny.lost_sales')""",
    )
    assert (sum(parts[:4]) + network) / parts[4] == pytest.approx(k["cost_per_order_cny"])
    assert one(con, "SELECT value FROM kpis WHERE key = 'cost_per_order_cny'") == pytest.approx(
        k["cost_per_order_cny"]
    )


def test_network_kpis_from_sql(run: Any, con: Any) -> None:
    k = run.kpis
    for r in ("pickers", "riders", "vans"):
        u = one(con, f"SELECT sum({r}_busy_s) / nullif(sum({r}_available_s), 0) FROM nodes")
        assert u == pytest.approx(k["utilisation"][r]) if k["utilisation"][r] is not None else u is None
    warm, days = run.manifest["warmup_days"], run.manifest["measured_days"]
    units = con.execute(f"""
        SELECT n.kind, sum(i."end") / {days} FROM inventory i JOIN nodes n ON n.run_id = i.run_id AND n.id = i.node_id
        WHERE i.day >= {warm} AND i.day < {warm + days} GROUP BY n.kind""").fetchall()
    for kind, value in units:
        assert value == pytest.approx(k["inventory"]["avg_units"][kind])
    per_day = con.execute("""SELECT floor(created_s / 86400)::INT AS day, count(*) FROM orders WHERE NOT warmup
                             GROUP BY 1 ORDER BY 1""").fetchall()
    assert per_day == [(d["day"], d["orders"]) for d in k["by_day"]]
    assert con.execute("SELECT day, orders FROM kpis_by_day ORDER BY day").fetchall() == per_day


def test_runs_view_and_metadata(run: Any, con: Any) -> None:
    r = con.execute("SELECT * FROM runs").df().iloc[0]
    assert r["run_id"] == run.path.name and r["policy"] == run.manifest["policy"]
    assert r["seed"] == run.manifest["seed"] and r["replication"] == 0
    assert r["orders"] == run.kpis["orders"]
    assert r["near_share"] == pytest.approx(run.kpis["tiers"]["near"]["share"])
    meta = con.execute("SELECT DISTINCT run_id, policy, replication, seed FROM lines").fetchall()
    assert meta == [(run.path.name, run.manifest["policy"], 0, run.manifest["seed"])]


def copy_run(src: Path, dst: Path, **manifest: Any) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("plots", "report.html"))
    m = json.loads((dst / "manifest.json").read_text())
    (dst / "manifest.json").write_text(json.dumps({**m, **manifest}))
    return dst


def test_folder_of_runs(run: Any, tmp_path: Path) -> None:
    copy_run(run.path, tmp_path / "runs" / "a" / "r0", policy="pa", replication=0)
    copy_run(run.path, tmp_path / "runs" / "b" / "r1", policy="pb", replication=1)
    (tmp_path / "runs" / ".half.partial").mkdir()  # hidden, skipped
    assert [p.relative_to(tmp_path).as_posix() for p in find_runs(tmp_path)] == ["runs/a/r0", "runs/b/r1"]
    df = query(
        tmp_path, "SELECT run_id, policy, replication, count(*) AS n FROM orders GROUP BY ALL ORDER BY run_id"
    )
    assert df["run_id"].tolist() == ["runs/a/r0", "runs/b/r1"]
    assert df["policy"].tolist() == ["pa", "pb"] and df["replication"].tolist() == [0, 1]
    assert (df["n"] == len(run.orders)).all()
    k = query(tmp_path, "SELECT policy, value FROM kpis WHERE key = 'tiers.near.share' ORDER BY policy")
    assert k["value"].tolist() == pytest.approx([run.kpis["tiers"]["near"]["share"]] * 2)


def test_query_errors(run: Any, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="query: "):
        query(run.path, "SELEC 1")
    with pytest.raises(ScenarioError, match="no run directories"):
        query(tmp_path, "SELECT 1")


# --------------------------------------------------------------------------- figures
def test_tier_share_by_hour(run: Any) -> None:
    fig = plots.tier_share_by_hour(run)
    ax = fig.axes[0]
    o = measured(run)
    dlv = o[o["status"] == "delivered"]
    share = pd.crosstab(dlv["hour"], dlv["served_tier"], normalize="index").reindex(
        index=range(24), fill_value=0
    )
    bars = {c.get_label(): np.array([p.get_height() for p in c]) for c in ax.containers}
    for t in TIERS:
        expected = share[t].to_numpy() if t in share else np.zeros(24)
        np.testing.assert_allclose(bars[t], expected, atol=1e-12)
    lost = o.groupby("hour")["status"].apply(lambda s: (s == "lost").mean()).reindex(range(24))
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("lost"))
    np.testing.assert_allclose(line.get_ydata(), lost.to_numpy(), equal_nan=True)


def test_delivery_times(run: Any) -> None:
    fig = plots.delivery_times(run)
    dlv = measured(run).query("status == 'delivered'")
    tiers = [t for t in TIERS if (dlv["served_tier"] == t).any()]
    assert len(fig.axes) == len(tiers)
    for ax, t in zip(fig.axes, tiers, strict=True):
        d = dlv[dlv["served_tier"] == t]
        per = 1.0 if t == "near" else 60.0
        patches = list(ax.containers[0])
        edges = np.array([p.get_x() for p in patches] + [patches[-1].get_x() + patches[-1].get_width()])
        counts, _ = np.histogram((d["delivered_s"] - d["created_s"]) / 60 / per, bins=edges)
        np.testing.assert_array_equal([p.get_height() for p in patches], counts)
        assert counts.sum() == len(d)
        promise = next(ln for ln in ax.get_lines() if "promise" in ln.get_label())
        assert promise.get_xdata()[0] == pytest.approx(
            np.median((d["promised_s"] - d["created_s"]) / 60 / per)
        )
    if "near" in tiers:
        assert fig.axes[0].get_lines()[0].get_xdata()[0] == pytest.approx(30.0)  # the 30-minute promise


def test_service_by_hour(run: Any) -> None:
    ax = plots.service_by_hour(run).axes[0]
    o = measured(run)
    lines = {ln.get_label(): ln.get_ydata() for ln in ax.get_lines()}
    dlv = o[o["status"] == "delivered"]
    on_time = dlv.groupby("hour")["on_time"].mean().reindex(range(24))
    perfect = o.groupby("hour")["perfect"].mean().reindex(range(24))
    np.testing.assert_allclose(lines["on time (of delivered)"], on_time.to_numpy(float), equal_nan=True)
    np.testing.assert_allclose(lines["perfect order (of created)"], perfect.to_numpy(float), equal_nan=True)


def test_cost_breakdown(run: Any) -> None:
    ax = plots.cost_breakdown(run).axes[0]
    widths = {c.get_label(): c[0].get_width() for c in ax.containers}
    bd, n = run.kpis["cost_breakdown_cny"], run.kpis["orders"]
    expected = {
        "fixed": bd["fixed"],
        "handling": bd["handling"],
        "transport": bd["transport"] + bd["split"],
        "inventory": bd["holding"] + bd["spoilage"] + bd["transfer"],
        "lateness": bd["penalty"],
        "lost sales": bd["lost_sales"],
    }
    for group, value in expected.items():
        assert widths[group] == pytest.approx(value / n)
    assert sum(widths.values()) == pytest.approx(run.kpis["cost_per_order_cny"])


def test_inventory_by_echelon(run: Any) -> None:
    fig = plots.inventory_by_echelon(run)
    inv = run.inventory.merge(run.nodes[["id", "kind"]], left_on="node_id", right_on="id")
    expected = inv.pivot_table(index="day", columns="kind", values="end", aggfunc="sum", fill_value=0)
    labels = {"ndc": "NDC", "fdc": "FDC", "store": "stores"}
    got = {ln.get_label(): ln for ax in fig.axes for ln in ax.get_lines()}
    for kind, label in labels.items():
        np.testing.assert_array_equal(got[label].get_xdata(), expected.index.to_numpy())
        np.testing.assert_allclose(got[label].get_ydata(), expected[kind].to_numpy(float))


def test_node_map(run: Any) -> None:
    ax = plots.node_map(run).axes[0]
    n = run.nodes
    util = (
        n[["pickers_utilisation", "riders_utilisation", "vans_utilisation"]]
        .max(axis=1, skipna=True)
        .to_numpy()
    )
    top = n["orders"].max()
    seen = 0
    for coll in ax.collections:
        kind = {"NDC": "ndc", "FDC": "fdc", "stores": "store"}[coll.get_label().split(" (")[0]]
        sel = n["kind"] == kind
        np.testing.assert_allclose(coll.get_offsets(), n.loc[sel, ["lon", "lat"]].to_numpy())
        np.testing.assert_allclose(coll.get_sizes(), 20 + 380 * n.loc[sel, "orders"].to_numpy() / top)
        np.testing.assert_allclose(
            np.ma.filled(coll.get_array().astype(float), np.nan), util[sel.to_numpy()], equal_nan=True
        )
        seen += int(sel.sum())
    assert seen == len(n)


# --------------------------------------------------------------------------- report.html
def test_report_html(run: Any, con: Any) -> None:
    path = write_report(run.path)
    assert path == run.path / "report.html"
    text = path.read_text(encoding="utf-8")
    for sid in RUN_SECTIONS:
        assert f'<section id="{sid}">' in text
    for name, *_ in RUN_FIGURES:
        assert f'id="fig-{name}"' in text
        assert (run.path / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert text.count('src="data:image/png;base64,') == len(RUN_FIGURES)
    assert_self_contained(text)
    # the verdict comes first: the headline section precedes every other section
    assert text.index('<section id="headline">') < min(
        text.index(f'<section id="{s}">') for s in RUN_SECTIONS[1:]
    )
    assert "On time of requested orders" in text and "of orders created" in text
    for fact in (
        "warm-up",
        "drain",
        "replications",
        "confidence intervals",
        "Top stock-outs",
        f"{run.kpis['orders']:,}",
        run.manifest["policy"],
    ):
        assert fact in text
    assert not list(run.path.glob(".report*"))  # no temporary file left


def assert_self_contained(text: str) -> None:
    """No external resource: scripts are inline (no src=), no <link>, no URL in a src/href attribute,
    no '//' outside the inlined chart library (user text is escaped)."""
    low = text.lower()
    assert "<link" not in low and not re.search(r"<script[^>]*\bsrc=", low)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", low)
    body = re.sub(r"<script>.*?</script>", "", text, flags=re.S)  # the inlined Vega bundle and loader
    assert not re.search(r"https?://|//cdn", body)


def test_top_stockouts_match_pandas(run: Any, con: Any) -> None:
    got = top_stockouts(con, limit=10)
    o = run.orders[~run.orders["warmup"]].set_index("order_id")
    ln = run.lines[run.lines["order_id"].isin(o.index) & run.lines["preferred_node_id"].notna()].copy()
    rank = {"near": 1, "mid": 2, "far": 3}
    req = ln["order_id"].map(o["requested_tier"]).map(rank)
    ln["lost"] = ln["status"] == "lost"
    ln["down"] = (ln["status"] == "delivered") & (ln["served_tier"].map(rank) > req)
    g = ln.groupby(["preferred_node_id", "sku"])[["lost", "down"]].sum()
    g = g[(g["lost"] + g["down"]) > 0].assign(total=lambda d: d["lost"] + d["down"]).reset_index()
    g = g.sort_values(["total", "preferred_node_id", "sku"], ascending=[False, True, True]).head(10)
    assert (
        got["node"].tolist() == g["preferred_node_id"].tolist() and got["sku"].tolist() == g["sku"].tolist()
    )
    assert got["lost_lines"].tolist() == g["lost"].tolist()
    assert got["downgraded_lines"].tolist() == g["down"].tolist()


def test_comparison_report_smoke(run: Any, tmp_path: Path) -> None:
    """A compare-like folder (runs/<policy>/r<k>/ + comparison.parquet) gets the comparison sections."""
    for pol in ("pa", "pb"):
        for r in range(3):
            copy_run(run.path, tmp_path / "runs" / pol / f"r{r}", policy=pol, replication=r)
    pd.DataFrame({"policy": ["pa", "pb"], "kpi": ["cost_per_order_cny"] * 2}).to_parquet(
        tmp_path / "comparison.parquet"
    )
    text = write_report(tmp_path).read_text(encoding="utf-8")
    for sid in (
        "verdict",
        "ranking",
        "per-day",
        "per-tier",
        "summary",
        "method",
        "crn",
        "compare-plots",
        "runs",
        "comparison-table",
    ):
        assert f'<section id="{sid}">' in text
    assert "recomputed from the runs" in text and "common random numbers" in text
    assert_self_contained(text)
    assert text.index('<section id="verdict">') < text.index('<section id="ranking">')
    assert "is cheapest; its lead over" in text
    # a chosen baseline: the verdict and the ranking's differences are taken to it; an unknown one is refused
    text = write_report(tmp_path, baseline="pb").read_text(encoding="utf-8")
    assert "its lead over pb is 0.00 ± 0.00 CNY/order" in text and "not significant" in text
    assert "baseline <b>pb</b>" in text
    with pytest.raises(ScenarioError, match="--baseline"):
        write_report(tmp_path, baseline="nope")


# --------------------------------------------------------------------------- CLI
def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def one_line_error(err: str) -> None:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_cli_runs(run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", run.path.parent)
    assert code == 0 and run.path.name in out and f"{run.kpis['orders']:,}" in out
    code, _, err = cli(capsys, "runs", tmp_path)  # no runs under it
    assert code == 2
    one_line_error(err)
    code, _, err = cli(capsys, "runs", tmp_path / "missing")
    assert code == 2
    one_line_error(err)


def test_cli_query(run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "query", run.path, "SELECT count(*) AS n FROM orders WHERE NOT warmup")
    assert code == 0 and str(run.kpis["orders"]) in out
    for bad in ("SELEC nonsense", "SELECT * FROM no_such_table", ""):
        code, _, err = cli(capsys, "query", run.path, bad)
        assert code == 2, bad
        one_line_error(err)
    code, _, err = cli(capsys, "query", tmp_path, "SELECT 1")  # not a run directory
    assert code == 2
    one_line_error(err)
    sql = "SELECT served_tier, count(*) AS n FROM orders WHERE NOT warmup GROUP BY 1 ORDER BY 1"
    for name in ("out.csv", "out.parquet"):
        code, _, _ = cli(capsys, "query", run.path, sql, "--to", tmp_path / name)
        assert code == 0
        df = pd.read_csv(tmp_path / name) if name.endswith(".csv") else pd.read_parquet(tmp_path / name)
        assert df["n"].sum() == run.kpis["orders"]
    code, _, err = cli(capsys, "query", run.path, sql, "--to", tmp_path / "out.txt")
    assert code == 2 and not (tmp_path / "out.txt").exists()
    one_line_error(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.parquet"]  # atomic: no temp files


def test_cli_report(run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "report", run.path)
    assert code == 0 and "report.html" in out
    code, _, err = cli(capsys, "report", tmp_path)
    assert code == 2
    one_line_error(err)


def test_report_targets(run: Any, tmp_path: Path) -> None:
    """report.targets: each target set is judged met or missed in the headline; bad ones exit 2 by field path."""
    import yaml

    from sim.io.scenario import load_scenario

    dst = copy_run(run.path, tmp_path / "run")
    sc = yaml.safe_load((dst / "scenario.yaml").read_text())
    sc["report"] = {"targets": {"perfect_order_rate": 0.999, "cost_per_order_cny": 10_000.0}}
    (dst / "scenario.yaml").write_text(yaml.safe_dump(sc, sort_keys=False))
    text = write_report(dst).read_text(encoding="utf-8")
    assert "misses its target for perfect-order rate." in text
    assert "target at least 99.9%: <b>missed</b>" in text and "target at most 10,000 CNY: <b>met</b>" in text
    assert load_scenario(dst / "scenario.yaml").report is not None  # the section validates and reloads
    with pytest.raises(ScenarioError, match=r"report\.targets\.lost_sales_rate"):
        load_scenario(TOY, ["report.targets.lost_sales_rate=2"])
    assert "report" not in (run.path / "scenario.yaml").read_text()  # unset: not in the resolved scenario
