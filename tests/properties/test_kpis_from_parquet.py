"""Every kpis.json value of a real toy run, recomputed here with pandas from the run directory.

Never via ``sim.metrics``: each figure is rebuilt from orders/lines/inventory/nodes.parquet and
the resolved scenario.yaml written into the run directory. Timings (``router.solver_ms_mean``)
are not checked.

What the Parquet files alone do not carry (so the test takes it from elsewhere, and says so):

* **Order city** (``by_city``, ``local_fulfilment_rate``): orders.parquet has ``zone_id`` but no city,
  and no file maps zones to cities. Taken from the network rebuilt from scenario.yaml.
* **SKU unit value and volume** (``holding``, ``spoilage``, ``lost_sales``, ``transfer`` costs,
  ``inventory.avg_value_cny``): no file lists the catalog. Taken from the catalog rebuilt from
  scenario.yaml.
* **Stock in transit** (the pipeline part of ``holding``): not a column of inventory.parquet. It is
  reconstructed as cumulative units transferred out minus units received by forward nodes, which is
  exact when NDCs are refilled immediately (``ndc_supply.mode: unlimited``, asserted).
* **Replenishment shipments** (``transfer``): inventory.parquet has units out of suppliers and into
  receivers per day, not shipments. With a daily review and every lead time under a day (asserted)
  a node's receipts of day d are exactly its shipment of day d's review, which gives the trucks.
  Lane figures (supplier, km, truck capacity and cost) come from nodes.parquet positions and the
  scenario's lane classes.
* **Resource busy time** (``utilisation``): nodes.parquet carries busy and available seconds, so the
  ratio is exact; the available seconds are rebuilt from the scenario; picker busy time is checked
  against the pick durations implied by near orders' handling cost (approximately: the epoch an
  order was assigned in is not recorded). Rider and van busy time cannot be rebuilt from the run
  directory (trip and tour durations are not recorded).
* ``router.epochs``, ``router.repairs`` and ``router.fallbacks`` are engine counters with no trace in
  the run directory; the test asserts bounds (epochs at least the number of epochs in which an
  order arrived and at most the epochs simulated; no fallbacks for a baseline router).
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.catalog import build_catalog
from sim.io.scenario import load_scenario
from sim.network.build import build_network
from sim.run import simulate
from tests.conftest import SCENARIOS

DAY = 86400.0
RANK = {"near": 0, "mid": 1, "far": 2}
KINDS = ("ndc", "fdc", "store")
EARTH_RADIUS_KM = 6371.0088


def close(a, b, rel=1e-9, abs_=1e-9) -> None:
    if b is None or a is None:
        assert a is None and b is None, (a, b)
        return
    assert a == pytest.approx(b, rel=rel, abs=abs_)


def rate(num, den):
    return float(num) / float(den) if den else None


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("kpis") / "toy"
    # the toy (3 warm-up + 2 measured days), pinned to what the rebuilt network-level costs assume
    simulate(
        SCENARIOS / "toy.yaml",
        out=out,
        router="nearest",
        report=False,
        overrides=["inventory.ndc_supply.mode=unlimited", "inventory.review_period_days=1"],
    )
    kpis = json.loads((out / "kpis.json").read_text())
    t = {name: pd.read_parquet(out / f"{name}.parquet") for name in ("orders", "lines", "inventory", "nodes")}
    raw = yaml.safe_load((out / "scenario.yaml").read_text())
    sc = load_scenario(out / "scenario.yaml")
    net, cat = build_network(sc), build_catalog(sc)
    manifest = json.loads((out / "manifest.json").read_text())
    return {"k": kpis, **t, "raw": raw, "sc": sc, "net": net, "cat": cat, "manifest": manifest}


@pytest.fixture(scope="module")
def frame(run):
    """Measured orders with the flags every KPI needs, computed here from the columns."""
    o, lines, nodes, net = run["orders"], run["lines"], run["nodes"], run["net"]
    m = o[~o["warmup"]].copy()
    m["delivered"] = m["status"] == "delivered"
    m["is_lost"] = m["status"] == "lost"
    # on time and perfect from the raw columns, not the precomputed booleans
    m["on_time_c"] = m["delivered"] & (m["delivered_s"] <= m["promised_s"] + 1e-6)
    n_delivered_lines = (
        lines[lines["status"] == "delivered"]
        .groupby("order_id")
        .size()
        .reindex(m["order_id"], fill_value=0)
        .to_numpy()
    )
    n_lines_seen = lines.groupby("order_id").size().reindex(m["order_id"], fill_value=0).to_numpy()
    m["complete"] = n_delivered_lines == m["n_lines"].to_numpy()
    assert (n_lines_seen == m["n_lines"].to_numpy()).all()
    m["at_tier"] = m["delivered"] & (m["served_tier"].map(RANK) <= m["requested_tier"].map(RANK))
    # tiers.substitution (on in the toy): an order with a line shipped as a substitute is not perfect
    n_subst = (
        lines[lines["substitute_sku"].notna()]
        .groupby("order_id")
        .size()
        .reindex(m["order_id"], fill_value=0)
        .to_numpy()
    )
    m["substituted"] = n_subst > 0
    m["perfect_c"] = (
        m["on_time_c"] & (m["n_shipments"] == 1) & m["complete"] & m["at_tier"] & ~m["substituted"]
    )
    m["split"] = m["delivered"] & (m["n_shipments"] > 1)
    m["city"] = [net.city_names[c] for c in net.zone_city[m["zone_id"].to_numpy()]]  # not in any Parquet
    node_city = dict(zip(nodes["id"], nodes["city"], strict=True))
    m["local"] = m["delivered"] & (m["node_id"].map(node_city) == m["city"])
    m["day"] = (m["created_s"] // DAY).astype(int)
    m["cost_parts"] = m[
        ["cost_handling_cny", "cost_transport_cny", "cost_split_cny", "cost_penalty_cny"]
    ].sum(axis=1)
    return m


def measured_days(run) -> range:
    h = run["raw"]["horizon"]
    return range(h["warmup_days"], h["warmup_days"] + h["days"])


def sku_values(run) -> np.ndarray:
    return np.asarray(run["cat"].value_cny, float)


# --------------------------------------------------------------------------- network-level costs, rebuilt
def _haversine(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def lanes(run) -> pd.DataFrame:
    """Per forward node: supplier, road km, lead time (h), truck capacity, fixed and per-unit cost.

    The supply rule of DESIGN/network: an FDC from its nearest NDC, a store from the nearest FDC of its
    city, else its nearest NDC (the toy has no lane overrides; asserted)."""
    raw, nodes = run["raw"], run["nodes"].reset_index(drop=True)
    assert not raw["lanes"].get("overrides")
    circuity = raw["geography"]["circuity"]
    rows = []
    for _, n in nodes.iterrows():
        if n["kind"] == "ndc":
            continue
        if n["kind"] == "fdc":
            pool = nodes[nodes["kind"] == "ndc"]
        else:
            pool = nodes[(nodes["kind"] == "fdc") & (nodes["city"] == n["city"])]
            if pool.empty:
                pool = nodes[nodes["kind"] == "ndc"]
        km = _haversine(n["lat"], n["lon"], pool["lat"].to_numpy(), pool["lon"].to_numpy()) * circuity
        j = int(np.argmin(km))
        sup = pool.iloc[j]
        lane = raw["lanes"][
            {("ndc", "fdc"): "ndc_fdc", ("fdc", "store"): "fdc_store", ("ndc", "store"): "ndc_store"}[
                (sup["kind"], n["kind"])
            ]
        ]
        rows.append(
            {
                "node_id": n["id"],
                "supplier": sup["id"],
                "km": km[j],
                "lead_h": lane["base_h"] + km[j] / lane["truck_speed_kmh"],
                "truck_m3": lane["truck_capacity_m3"],
                "fixed": lane["fixed_cny"] + lane["per_km_cny"] * km[j],
                "per_unit": lane["per_unit_cny"],
            }
        )
    return pd.DataFrame(rows).set_index("node_id")


def daily_network_costs(run, frame) -> pd.DataFrame:
    """Per measured day: fixed, holding, transfer, spoilage, lost_sales (CNY), rebuilt here."""
    raw, inv, nodes = run["raw"], run["inventory"].copy(), run["nodes"]
    value, volume = sku_values(run), np.asarray(run["cat"].volume_l, float)
    days = measured_days(run)
    kind = dict(zip(nodes["id"], nodes["kind"], strict=True))
    inv["kind"] = inv["node_id"].map(kind)
    inv["value"] = value[inv["sku"].to_numpy()]
    out = pd.DataFrame(index=pd.Index(list(days), name="day"))
    # inventory.fresh.cross_dock: fresh SKUs (finite shelf life) ride overnight to the NDC and through the FDC
    cross_dock = raw["inventory"]["fresh"]["enabled"] and raw["inventory"]["fresh"]["cross_dock"]
    fresh = np.isfinite(np.asarray(run["cat"].shelf_life_s, float))

    f = raw["costs"]["fixed"]
    counts = nodes["kind"].value_counts()
    out["fixed"] = sum(counts.get(k, 0) * f[f"{k}_per_day_cny"] for k in KINDS)

    # holding: (on hand at day end + in transit) x value x rate / 365; in transit rebuilt from the flows
    assert raw["inventory"]["ndc_supply"]["mode"] == "unlimited"
    out_units = inv.groupby(["day", "sku"])["transferred_out"].sum()
    in_units = inv[inv["kind"] != "ndc"].groupby(["day", "sku"])["received"].sum()
    flow = out_units.sub(in_units, fill_value=0).unstack(fill_value=0)
    pipeline = flow.reindex(range(int(inv["day"].max()) + 1), fill_value=0).cumsum()
    assert (pipeline.to_numpy() >= 0).all()
    pipe_value = (pipeline * value[pipeline.columns.to_numpy()]).sum(axis=1)
    if cross_dock:
        # the supplier's overnight fresh delivery is in transit at the day's close and received at the NDC at the
        # next day's start: the NDC's fresh receipts of day d + 1 (its other stock is topped up directly)
        ndc_in = inv[(inv["kind"] == "ndc") & fresh[inv["sku"].to_numpy()]]
        due = (ndc_in["received"] * ndc_in["value"]).groupby(ndc_in["day"] - 1).sum()
        pipe_value = pipe_value.add(due, fill_value=0.0)
    on_hand_value = (inv["end"] * inv["value"]).groupby(inv["day"]).sum()
    r = raw["costs"]["holding_rate_per_year"] / 365.0
    out["holding"] = [(on_hand_value.get(d, 0.0) + pipe_value.get(d, 0.0)) * r for d in days]

    # transfer: one review a day, every lead time under a day -> receipts of day d = shipment of day d
    ln = lanes(run)
    assert raw["inventory"]["review_period_days"] == 1 and (ln["lead_h"] < 24).all()
    rec = inv[(inv["kind"] != "ndc") & (inv["received"] > 0)].copy()
    rec["m3"] = rec["received"] * volume[rec["sku"].to_numpy()] / 1000.0
    if cross_dock:
        # a store's fresh is cross-docked at its FDC: the same units ride the FDC's inbound lane that day too
        sup = ln["supplier"].to_dict()
        via = rec[(rec["kind"] == "store") & fresh[rec["sku"].to_numpy()]].copy()
        via["node_id"] = via["node_id"].map(sup)
        via = via[via["node_id"].map(kind) == "fdc"]
        rec = pd.concat([rec, via], ignore_index=True)
    per = rec.groupby(["day", "node_id"]).agg(units=("received", "sum"), m3=("m3", "sum")).reset_index()
    per = per.join(ln, on="node_id")
    per["cost"] = np.ceil(per["m3"] / per["truck_m3"] - 1e-9) * per["fixed"] + per["units"] * per["per_unit"]
    tr = per.groupby("day")["cost"].sum()
    out["transfer"] = [tr.get(d, 0.0) for d in days]

    sp = (inv["spoiled"] * inv["value"]).groupby(inv["day"]).sum()
    out["spoilage"] = [sp.get(d, 0.0) for d in days]

    ls = raw["costs"]["lost_sale"]
    lines = run["lines"]
    lost = frame[frame["is_lost"]]
    lv = lines[lines["order_id"].isin(lost["order_id"])]
    order_value = (lv["qty"] * value[lv["sku"].to_numpy()]).groupby(lv["order_id"]).sum()
    per_order = ls["margin_rate"] * order_value.reindex(lost["order_id"]).to_numpy() + ls["goodwill_cny"]
    lost_by_day = pd.Series(per_order, index=lost["day"].to_numpy()).groupby(level=0).sum()
    # partial fulfilment (tiers.substitution.drop): a dropped line of a served order is a lost line sale,
    # its margin only (the customer still gets an order: no goodwill), on its order's day
    dropped = lines[(lines["status"] == "lost") & ~lines["order_id"].isin(lost["order_id"])]
    drop_day = frame.set_index("order_id")["day"].reindex(dropped["order_id"]).to_numpy()
    drop_cost = ls["margin_rate"] * dropped["qty"].to_numpy() * value[dropped["sku"].to_numpy()]
    lost_by_day = lost_by_day.add(pd.Series(drop_cost, index=drop_day).groupby(level=0).sum(), fill_value=0.0)
    out["lost_sales"] = [lost_by_day.get(d, 0.0) for d in days]
    return out


# --------------------------------------------------------------------------- tests
def test_every_contract_key_is_there(run):
    k = run["k"]
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
    assert set(k["tiers"]) == set(RANK)
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
    assert set(k["inventory"]) == {"avg_units", "avg_value_cny", "days_of_supply"}
    assert set(k["router"]) >= {"epochs", "solver_ms_mean", "repairs", "fallbacks"}


def test_counts_and_rates(run, frame):
    k, m = run["k"], frame
    assert k["orders"] == len(m)
    assert k["delivered"] == int(m["delivered"].sum())
    assert k["lost"] == int(m["is_lost"].sum())
    assert k["open"] == int((m["status"] == "open").sum()) == 0
    assert k["measured_days"] == len(measured_days(run))
    assert (m["perfect_c"] == m["perfect"]).all() and (m["on_time_c"] == m["on_time"]).all()
    close(k["perfect_order_rate"], m["perfect_c"].mean())
    close(k["requested_tier_rate"], m["at_tier"].mean())
    close(k["lost_sales_rate"], m["is_lost"].mean())
    close(k["downgrade_rate"], m["downgraded"].mean())
    close(k["split_rate"], m["split"].mean())
    close(k["local_fulfilment_rate"], m["local"].mean())
    lines = run["lines"][run["lines"]["order_id"].isin(m["order_id"])]
    close(k["line_fill_rate"], (lines["status"] == "delivered").mean())
    close(k["substitution_rate"], lines["substitute_sku"].notna().mean())
    assert k["substitution_rate"] > 0 and m["substituted"].any()  # the toy substitutes some short lines
    sub = lines[lines["substitute_sku"].notna()]
    assert (sub["status"] != "lost").all() and (sub["substitute_sku"] != sub["sku"]).all()
    # the toy is informative: some orders are lost, some downgraded, every tier serves
    assert 0 < k["lost"] < k["orders"] and k["downgrade_rate"] > 0


def test_tiers(run, frame):
    k, m = run["k"], frame
    d = m[m["delivered"]]
    for tier in RANK:
        t = d[d["served_tier"] == tier]
        got = k["tiers"][tier]
        close(got["share"], rate(len(t), len(d)))
        if t.empty:
            assert got["on_time_rate"] is None and got["p50_min"] is None
            continue
        close(got["on_time_rate"], t["on_time_c"].mean())
        minutes = (t["delivered_s"] - t["created_s"]) / 60.0
        for q in (50, 90, 99):
            close(got[f"p{q}_min"], float(np.percentile(minutes, q)), rel=1e-12)
    assert sum(k["tiers"][t]["share"] for t in RANK) == pytest.approx(1.0)


def test_order_cost_breakdown(run, frame):
    b = run["k"]["cost_breakdown_cny"]
    for part in ("handling", "transport", "split", "penalty"):
        close(b[part], frame[f"cost_{part}_cny"].sum(), rel=1e-12)
    assert (frame["cost_cny"] - frame["cost_parts"]).abs().max() < 1e-9


def test_network_costs(run, frame):
    """fixed, holding (on hand + rebuilt pipeline), transfer (rebuilt trucks), spoilage, lost sales."""
    b = run["k"]["cost_breakdown_cny"]
    net = daily_network_costs(run, frame)
    close(b["fixed"], net["fixed"].sum())
    close(b["holding"], net["holding"].sum(), rel=1e-9)
    close(b["transfer"], net["transfer"].sum(), rel=1e-6)  # lane km are float32 in the engine
    close(b["spoilage"], net["spoilage"].sum(), rel=1e-9)
    close(b["lost_sales"], net["lost_sales"].sum(), rel=1e-9)
    assert b["transfer"] > 0 and b["holding"] > 0 and b["lost_sales"] > 0


def test_cost_per_order(run, frame):
    k = run["k"]
    net = daily_network_costs(run, frame)
    total = frame["cost_parts"].sum() + net.to_numpy().sum()
    close(k["cost_per_order_cny"], total / len(frame), rel=1e-9)
    # and the breakdown adds up to it exactly (whatever the network costs are)
    close(sum(k["cost_breakdown_cny"].values()), k["cost_per_order_cny"] * k["orders"], rel=1e-12)


def test_utilisation(run, frame):
    k, nodes, raw = run["k"], run["nodes"], run["raw"]
    for res in ("pickers", "riders", "vans"):
        busy, avail = nodes[f"{res}_busy_s"].sum(), nodes[f"{res}_available_s"].sum()
        close(k["utilisation"][res], rate(busy, avail), rel=1e-12)
        sel = nodes[f"{res}_available_s"] > 0
        ratio = nodes.loc[sel, f"{res}_busy_s"] / nodes.loc[sel, f"{res}_available_s"]
        assert np.allclose(nodes.loc[sel, f"{res}_utilisation"], ratio, rtol=1e-12)
        assert (nodes[f"{res}_busy_s"] >= 0).all()
    # available seconds from the scenario: resources x open hours x measured days
    n_days = len(measured_days(run))
    open_h = raw["tiers"]["near"]["service_hours"]
    hours = (_clock(open_h[1]) - _clock(open_h[0])) * n_days
    cap = raw["nodes"]["stores"]["capacity"]
    st = nodes[nodes["kind"] == "store"]
    assert np.allclose(st["pickers_available_s"], cap["pickers"] * hours)
    assert np.allclose(st["riders_available_s"], cap["riders"] * hours)
    span = sum(_clock(w["window"][1]) - _clock(w["window"][0]) for w in raw["tiers"]["mid"]["waves"]) * n_days
    fd = nodes[nodes["kind"] == "fdc"]
    assert np.allclose(fd["vans_available_s"], raw["nodes"]["fdcs"]["capacity"]["vans"] * span)
    # picker busy = pick durations of near orders assigned in the measured days; a duration is the order's
    # handling cost / the hourly picker rate. Assignment epochs are not recorded: take the creation epoch.
    o = run["orders"]
    near = o[(o["served_tier"] == "near")].copy()
    epoch = raw["router"]["epoch_s"]
    assigned = (np.floor(near["created_s"] / epoch) + 1) * epoch
    days = measured_days(run)
    inside = (assigned > days.start * DAY) & (assigned <= days.stop * DAY)
    dur = near["cost_handling_cny"] * 3600.0 / raw["costs"]["picker_per_hour_cny"]
    assert dur[inside].sum() == pytest.approx(
        nodes["pickers_busy_s"].sum(), rel=1e-3
    )  # exact without carries


def _clock(s: str) -> float:
    h, m = s.split(":")
    return int(h) * 3600.0 + int(m) * 60.0


def test_inventory(run):
    k, inv, nodes = run["k"]["inventory"], run["inventory"].copy(), run["nodes"]
    days = measured_days(run)
    inv = inv[(inv["day"] >= days.start) & (inv["day"] < days.stop)]
    inv["kind"] = inv["node_id"].map(dict(zip(nodes["id"], nodes["kind"], strict=True)))
    inv["value"] = inv["end"] * sku_values(run)[inv["sku"].to_numpy()]
    n = len(days)
    for kind in KINDS:
        s = inv[inv["kind"] == kind]
        units = s["end"].sum() / n
        close(k["avg_units"][kind], units, rel=1e-12)
        close(k["avg_value_cny"][kind], s["value"].sum() / n, rel=1e-9)
        # a shop's stock also turns over its counter (nodes.stores.offline, on in the toy)
        out = (s["shipped"].sum() + s["transferred_out"].sum() + s["sold_offline"].sum()) / n
        close(k["days_of_supply"][kind], rate(units, out), rel=1e-12)
    # the counter: units sold offline / all units the stores sold; orders sent back by a short shelf
    st = inv[inv["kind"] == "store"]
    off = st["sold_offline"].sum()
    close(run["k"]["offline"]["store_unit_share"], rate(off, off + st["shipped"].sum()), rel=1e-12)
    assert 0.2 < run["k"]["offline"]["store_unit_share"] < 0.45  # the toy's stores are shops (0.4 of units)
    o = run["orders"]
    close(run["k"]["offline"]["oversell_rate"], o.loc[~o["warmup"], "oversold"].mean())


def test_by_day(run, frame):
    k, m = run["k"], frame
    net = daily_network_costs(run, frame)
    start = dt.date.fromisoformat(str(run["raw"]["horizon"]["start_date"]))
    assert [r["day"] for r in k["by_day"]] == list(measured_days(run))
    for row in k["by_day"]:
        d = row["day"]
        s = m[m["day"] == d]
        assert row["date"] == (start + dt.timedelta(days=d)).isoformat()
        assert row["orders"] == len(s)
        close(row["perfect_order_rate"], s["perfect_c"].mean())
        close(row["requested_tier_rate"], s["at_tier"].mean())
        close(row["lost_sales_rate"], s["is_lost"].mean())
        close(row["local_fulfilment_rate"], s["local"].mean())
        close(row["on_time_rate"], rate(s["on_time_c"].sum(), s["delivered"].sum()))
        close(row["cost_per_order_cny"], (s["cost_parts"].sum() + net.loc[d].sum()) / len(s), rel=1e-9)
    assert sum(r["orders"] for r in k["by_day"]) == k["orders"]


def test_by_city(run, frame):
    k, m = run["k"], frame
    assert set(k["by_city"]) == set(m["city"])
    for city, row in k["by_city"].items():
        s = m[m["city"] == city]
        assert row["orders"] == len(s)
        close(row["perfect_order_rate"], s["perfect_c"].mean())
        close(row["requested_tier_rate"], s["at_tier"].mean())
        close(row["lost_sales_rate"], s["is_lost"].mean())
        close(row["local_fulfilment_rate"], s["local"].mean())


def test_router_counters(run):
    """Not recorded in the run directory: bounds only."""
    r, o, raw = run["k"]["router"], run["orders"], run["raw"]
    epoch = raw["router"]["epoch_s"]
    with_arrivals = np.unique(np.floor(o["created_s"].to_numpy() / epoch)).size
    simulated = math.ceil((o["delivered_s"].max() + DAY) / epoch)
    assert with_arrivals <= r["epochs"] <= simulated
    assert r["repairs"] >= 0 and r["fallbacks"] == 0  # a baseline router never falls back
    assert run["manifest"]["router"] == raw["router"]["name"]
