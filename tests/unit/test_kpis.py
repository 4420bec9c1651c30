"""kpis.json against figures recomputed here with pandas from the Parquet files (never via sim.metrics).

Network-level costs are not in any Parquet file (by contract they appear only in kpis.json), so
cost per order adds the hand-built DayRecords of the measured days (plus drain-day lost sales).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from synthetic_run import clone, make_records, sku_values

from sim.io.results import write_run
from sim.network.build import build_network
from sim.records import LOST

RANK = {"near": 0, "mid": 1, "far": 2}
W, M = 2, 2


def _no_nan(text: str) -> dict:
    def bad(c: str) -> None:
        raise AssertionError(f"{c} in kpis.json")

    return json.loads(text, parse_constant=bad)


@pytest.fixture(scope="module")
def net(toy):
    return build_network(toy)


@pytest.fixture(scope="module")
def run(tmp_path_factory, toy, net):
    rec = make_records(net, seed=3, n_orders=500, warmup_days=W, measured_days=M, open_orders=6)
    path = write_run(tmp_path_factory.mktemp("kpis") / "run", rec, net, toy, sku_values(), {}, force=False)
    kpis = _no_nan((path / "kpis.json").read_text())
    tables = {t: pd.read_parquet(path / f"{t}.parquet") for t in ("orders", "lines", "inventory", "nodes")}
    return rec, kpis, tables


def _measured(tables, net) -> pd.DataFrame:
    o = tables["orders"]
    m = o[~o["warmup"]].copy()
    node_city = dict(zip(tables["nodes"]["id"], tables["nodes"]["city"], strict=True))
    m["city"] = [net.city_names[c] for c in net.zone_city[m["zone_id"].to_numpy()]]
    m["delivered"] = m["status"] == "delivered"
    m["at_tier"] = m["delivered"] & (m["served_tier"].map(RANK) <= m["requested_tier"].map(RANK))
    m["local"] = m["delivered"] & (m["node_id"].map(node_city) == m["city"])
    m["day"] = (m["created_s"] // 86400).astype(int)
    return m


def _rates(m: pd.DataFrame) -> dict:
    return {
        "orders": len(m),
        "perfect_order_rate": m["perfect"].mean(),
        "requested_tier_rate": m["at_tier"].mean(),
        "lost_sales_rate": (m["status"] == "lost").mean(),
        "local_fulfilment_rate": m["local"].mean(),
    }


def _close(a, b) -> None:
    assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_headline_rates(run, net):
    rec, k, t = run
    m = _measured(t, net)
    assert (k["orders"], k["delivered"], k["lost"], k["open"]) == (
        len(m),
        int(m["delivered"].sum()),
        int((m["status"] == "lost").sum()),
        int((m["status"] == "open").sum()),
    )
    assert k["open"] == 6 and k["orders"] == k["delivered"] + k["lost"] + k["open"]
    for key, v in _rates(m).items():
        _close(k[key], v)
    _close(k["downgrade_rate"], m["downgraded"].mean())
    _close(k["split_rate"], (m["delivered"] & (m["n_shipments"] > 1)).mean())
    lines = t["lines"][t["lines"]["order_id"].isin(m["order_id"])]
    _close(k["line_fill_rate"], (lines["status"] == "delivered").mean())
    assert (
        0 < k["local_fulfilment_rate"] < k["delivered"] / k["orders"]
    )  # the fixture serves some orders remotely


def test_tiers(run, net):
    _, k, t = run
    d = _measured(t, net)
    d = d[d["delivered"]]
    minutes = (d["delivered_s"] - d["created_s"]) / 60
    for tier in RANK:
        sel = d["served_tier"] == tier
        got = k["tiers"][tier]
        _close(got["share"], sel.mean())
        _close(got["on_time_rate"], d.loc[sel, "on_time"].mean())
        for q, key in ((0.5, "p50_min"), (0.9, "p90_min"), (0.99, "p99_min")):
            _close(got[key], minutes[sel].quantile(q))
        _close(got["mean_min"], minutes[sel].mean())
        # within the nominal promise: near 30 minutes from creation (the toy's tiers.near.promise_min); mid and far
        # their own deadline
        within = (
            minutes[sel] <= 30
            if tier == "near"
            else d.loc[sel, "delivered_s"] <= d.loc[sel, "promised_s"] + 1e-6
        )
        _close(got["within_promise_rate"], within.mean())
    assert sum(k["tiers"][x]["share"] for x in RANK) == pytest.approx(1.0)


def test_costs(run, net):
    rec, k, t = run
    m = _measured(t, net)
    parts = ["cost_handling_cny", "cost_transport_cny", "cost_split_cny", "cost_penalty_cny"]
    np.testing.assert_allclose(m["cost_cny"], m[parts].sum(axis=1))
    days = rec.days.day
    measured = (days >= W) & (days < W + M)
    drain = days >= W + M
    assert drain.any()
    network = {c: float(v[measured].sum()) for c, v in rec.days.costs.items()}
    network["lost_sales"] += float(rec.days.costs["lost_sales"][drain].sum())
    b = k["cost_breakdown_cny"]
    for p in parts:
        _close(b[p.removeprefix("cost_").removesuffix("_cny")], m[p].sum())
    for c, v in network.items():
        _close(b[c], v)
    _close(k["cost_per_order_cny"], (m["cost_cny"].sum() + sum(network.values())) / len(m))


def test_by_day_and_city(run, net):
    rec, k, t = run
    m = _measured(t, net)
    assert [r["day"] for r in k["by_day"]] == [2, 3]
    assert [r["date"] for r in k["by_day"]] == ["2026-11-04", "2026-11-05"]  # toy starts 2026-11-02
    for row in k["by_day"]:
        g = m[m["day"] == row["day"]]
        exp = _rates(g)
        for key in ("orders", "perfect_order_rate", "requested_tier_rate", "lost_sales_rate"):
            _close(row[key], exp[key])
        _close(row["on_time_rate"], g.loc[g["delivered"], "on_time"].mean())
        day_costs = sum(float(v[rec.days.day == row["day"]].sum()) for v in rec.days.costs.values())
        _close(row["cost_per_order_cny"], (g["cost_cny"].sum() + day_costs) / len(g))
    assert set(k["by_city"]) == set(m["city"]) == {"Hangzhou", "Shanghai"}
    for city, g in m.groupby("city"):
        for key, v in _rates(g).items():
            _close(k["by_city"][city][key], v)


def test_utilisation_inventory_router(run, net):
    rec, k, t = run
    nodes = t["nodes"]
    for r in ("pickers", "riders", "vans"):
        _close(k["utilisation"][r], nodes[f"{r}_busy_s"].sum() / nodes[f"{r}_available_s"].sum())
    inv = t["inventory"].merge(nodes[["id", "kind"]], left_on="node_id", right_on="id")
    inv = inv[(inv["day"] >= W) & (inv["day"] < W + M)]
    value = sku_values()
    for kind, g in inv.groupby("kind"):
        units = g["end"].sum() / M
        _close(k["inventory"]["avg_units"][kind], units)
        _close(k["inventory"]["avg_value_cny"][kind], (g["end"] * value[g["sku"]]).sum() / M)
        _close(
            k["inventory"]["days_of_supply"][kind], units / ((g["shipped"] + g["transferred_out"]).sum() / M)
        )
    assert k["router"] == {"epochs": 500, "solver_ms_mean": 1234.5 / 500, "repairs": 3, "fallbacks": 1}


def test_every_contract_key(run):
    _, k, _ = run
    top = {
        "orders",
        "delivered",
        "lost",
        "open",
        "perfect_order_rate",
        "requested_tier_rate",
        "lost_sales_rate",
        "downgrade_rate",
        "split_rate",
        "line_fill_rate",
        "local_fulfilment_rate",
        "cost_per_order_cny",
        "tiers",
        "cost_breakdown_cny",
        "utilisation",
        "inventory",
        "router",
        "by_day",
        "by_city",
    }
    assert top <= set(k)
    for tier in RANK:
        assert set(k["tiers"][tier]) == {
            "share",
            "on_time_rate",
            "p50_min",
            "p90_min",
            "p99_min",
            "mean_min",
            "within_promise_rate",
        }
    assert set(k["cost_breakdown_cny"]) == {
        "handling",
        "transport",
        "split",
        "penalty",
        "fixed",
        "holding",
        "transfer",
        "spoilage",
        "lost_sales",
    }
    assert set(k["utilisation"]) == {"pickers", "riders", "vans"}
    for part in ("avg_units", "avg_value_cny", "days_of_supply"):
        assert set(k["inventory"][part]) == {"ndc", "fdc", "store"}
    assert set(k["router"]) == {"epochs", "solver_ms_mean", "repairs", "fallbacks"}


def test_empty_tier_and_empty_run_give_null_not_nan(tmp_path, toy, net):
    rec = make_records(net, seed=5)
    o = rec.orders
    mid = o.served_tier == 1
    o.status[mid], o.served_tier[mid], o.node[mid] = LOST, -1, -1
    o.delivered_s[mid] = np.nan
    k = _no_nan(
        (write_run(tmp_path / "a", rec, net, toy, sku_values(), {}, force=False) / "kpis.json").read_text()
    )
    assert k["tiers"]["mid"] == {
        "share": 0.0,
        "on_time_rate": None,
        "p50_min": None,
        "p90_min": None,
        "p99_min": None,
        "mean_min": None,
        "within_promise_rate": None,
    }
    empty = clone(rec)
    empty.orders.warmup[:] = True
    k = _no_nan(
        (write_run(tmp_path / "b", empty, net, toy, sku_values(), {}, force=False) / "kpis.json").read_text()
    )
    assert k["orders"] == 0 and k["perfect_order_rate"] is None and k["cost_per_order_cny"] is None
    assert k["by_city"] == {} and all(r["orders"] == 0 and r["on_time_rate"] is None for r in k["by_day"])
    assert all(v["share"] is None for v in k["tiers"].values())
    assert not any(isinstance(v, float) and math.isnan(v) for v in k["cost_breakdown_cny"].values())
