"""History replay (sim/demand/history.py): round trips, the column rules, and bad rows named by row and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.catalog import build_catalog
from sim.demand import demand_day, generate_day
from sim.demand.forecast import NDC, Forecaster
from sim.demand.history import history_day, history_day_indices, history_days, load_history
from sim.errors import ScenarioError
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.rng import RandomStreams
from tests.conftest import SCENARIOS

FIELDS = (
    "order_id",
    "created_s",
    "zone",
    "city",
    "requested_tier",
    "line_offsets",
    "line_sku",
    "line_qty",
    "u_service",
    "u_decision",
)
TIERS = np.array(["near", "mid", "far"])


@pytest.fixture(scope="module")
def toy_world():
    sc = load_scenario(SCENARIOS / "toy.yaml")
    return sc, build_network(sc), build_catalog(sc)


def orders_frame(o, net) -> pd.DataFrame:
    """One row per line, as a planner's export would have them (seconds from the start, zone centres)."""
    lo = o.line_order()
    return pd.DataFrame(
        {
            "order_id": o.order_id[lo],
            "created": o.created_s[lo],
            "lat": net.zone_lat[o.zone[lo]],
            "lon": net.zone_lon[o.zone[lo]],
            "sku": o.line_sku,
            "qty": o.line_qty,
            "requested_tier": TIERS[o.requested_tier[lo]],
        }
    )


def replay(path: Path, *overrides: str):
    sc = load_scenario(SCENARIOS / "toy.yaml", ["demand.source=file", f"demand.file={path}", *overrides])
    return sc, build_network(sc), build_catalog(sc)


def write_csv(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    p = tmp_path / name
    p.write_text(text.strip() + "\n", encoding="utf-8")
    return p


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_orders_round_trip(tmp_path, toy_world, fmt):
    """Orders written out (integer SKUs, zone coordinates, seconds) and replayed are the same arrays,
    uniforms and order ids included (the mapping is the identity here)."""
    sc, net, cat = toy_world
    streams = RandomStreams(sc.seed, 2)
    days = [generate_day(sc, net, cat, streams, d) for d in range(3)]
    frame = pd.concat([orders_frame(o, net) for o in days])
    path = tmp_path / f"orders.{fmt}"
    if fmt == "csv":
        frame.assign(created=[repr(float(x)) for x in frame.created]).to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    rsc, rnet, rcat = replay(path)
    assert history_day_indices(rsc, rnet, rcat) == [0, 1, 2]
    for d, o in enumerate(days):
        back = demand_day(rsc, rnet, rcat, streams, d)
        back.validate()
        for f in FIELDS:
            assert np.array_equal(getattr(back, f), getattr(o, f)), (d, f)
    assert demand_day(rsc, rnet, rcat, streams, 5).n_orders == 0


def test_sample_file_and_scenario():
    sc = load_scenario(SCENARIOS / "toy_history.yaml")
    net, cat = build_network(sc), build_catalog(sc)
    assert history_day_indices(sc, net, cat) == [0, 1, 2, 3]
    h = load_history(sc, net, cat)
    assert h.stats["rows"] > 2000 and h.stats["sku_mode"] == "id" and h.stats["tier_moved"] == 0
    o = demand_day(sc, net, cat, RandomStreams(sc.seed), 2)
    o.validate()
    assert 400 < o.n_orders < 900 and set(np.unique(o.city)) == {net.city_names.index("Hangzhou")}
    assert np.all(cat.tier_eligible[o.line_sku, o.requested_tier[o.line_order()]])


# --------------------------------------------------------------------------- column rules
def test_iso_times_local_and_with_offsets(tmp_path):
    p = write_csv(
        tmp_path,
        """
created,city,sku,qty
2026-11-02T08:00:00,Hangzhou,3,1
2026-11-02 09:30:15,Hangzhou,4,2
2026-11-03T00:30:00+00:00,Hangzhou,5,1
2026-11-02T23:00:00Z,Hangzhou,6,1
2026-11-01T12:00:00,Hangzhou,7,1
""",
    )
    sc, net, cat = replay(p)
    h = load_history(sc, net, cat)
    assert history_days(sc, net, cat) == [-1, 0, 1] and history_day_indices(sc, net, cat) == [0, 1]
    assert h.stats["before_start"] == 1  # 1 November: before horizon.start_date, forecast history only
    assert history_day(sc, net, cat, RandomStreams(1), -1).created_s.tolist() == [-12 * 3600.0]
    day0 = history_day(sc, net, cat, RandomStreams(1), 0)
    day1 = history_day(sc, net, cat, RandomStreams(1), 1)
    assert day0.created_s.tolist() == [8 * 3600.0, 9.5 * 3600 + 15]
    assert day1.created_s.tolist() == [86400 + 7 * 3600.0, 86400 + 8.5 * 3600]  # UTC -> China time (+8)


def test_city_only_rows_draw_zones_by_weight(tmp_path, toy_world):
    _, net, _ = toy_world
    n = 6000
    rows = "\n".join(f"{i * 10},hangzhou,{i % 50},1" for i in range(n))  # any case
    p = write_csv(tmp_path, "created,city,sku,qty\n" + rows)
    sc, net, cat = replay(p)
    a = history_day(sc, net, cat, RandomStreams(1), 0)
    b = history_day(sc, net, cat, RandomStreams(1), 0)
    assert np.array_equal(a.zone, b.zone)  # drawn from demand.zones/<date>/<city>: reproducible
    city = net.city_names.index("Hangzhou")
    zones = np.flatnonzero(net.zone_city == city)
    assert set(np.unique(a.zone)) <= set(zones)
    w = net.zone_weight[zones] / net.zone_weight[zones].sum()
    counts = np.bincount(np.searchsorted(zones, a.zone), minlength=len(zones))
    keep = w * n >= 5
    assert stats.chisquare(counts[keep], w[keep] / w[keep].sum() * counts[keep].sum()).pvalue > 0.001


def test_string_ids_map_by_popularity_and_keep_tiers_eligible(tmp_path, toy_world):
    _, _, cat = toy_world
    lines = ["order_id,created,city,sku,qty,requested_tier"]
    for i in range(300):  # 'A' is the best seller; 'Z' is only ever asked for near
        lines.append(f"o{i},{i},Hangzhou,A,2,far")
        lines.append(f"o{i},{i},Hangzhou,Z{i % 3},1,far" if i % 2 else f"p{i},{i},Hangzhou,Z,1,near")
    p = write_csv(tmp_path, "\n".join(lines))
    sc, net, cat = replay(p)
    o = history_day(sc, net, cat, RandomStreams(1), 0)
    h = load_history(sc, net, cat)
    assert h.stats["sku_mode"] == "id" and h.stats["sku_ids"] == 5 and h.stats["tier_moved"] == 0
    assert o.line_sku[o.line_offsets[0]] == cat.top(1)[0]  # 'A' (600 units) -> the catalog's best seller
    assert np.all(cat.tier_eligible[o.line_sku, o.requested_tier[o.line_order()]])


def test_order_ids_group_lines_and_repeated_skus_merge(tmp_path):
    p = write_csv(
        tmp_path,
        """
order_id,created,city,sku,qty,requested_tier
A,100,Hangzhou,5,1,near
B,50,Hangzhou,7,2,
A,100,Hangzhou,9,1,near
A,100,Hangzhou,5,2,near
,60,Hangzhou,8,1,mid
""",
    )
    sc, net, cat = replay(p)
    o = history_day(sc, net, cat, RandomStreams(1), 0)
    assert o.created_s.tolist() == [50.0, 60.0, 100.0]  # sorted by creation time
    skus, qty = o.lines_of(2)
    assert skus.tolist() == [5, 9] and qty.tolist() == [3, 1]  # file order, repeated SKU merged
    assert o.requested_tier[2] == 0 and o.requested_tier[1] == 1
    assert o.order_id.tolist() == [0, 1, 2]
    assert load_history(sc, net, cat).stats["merged_lines"] == 1


def test_lat_lon_maps_to_the_nearest_zone_of_the_city(tmp_path, toy_world):
    _, net, _ = toy_world
    z = int(np.flatnonzero(net.zone_city == net.city_names.index("Hangzhou"))[3])
    p = write_csv(tmp_path, f"created,lat,lon,sku,qty\n10,{net.zone_lat[z] + 0.001},{net.zone_lon[z]},1,1")
    sc, net, cat = replay(p)
    assert history_day(sc, net, cat, RandomStreams(1), 0).zone.tolist() == [z]


def test_forecaster_rate_on_history_is_the_empirical_rate(tmp_path):
    sc = load_scenario(SCENARIOS / "toy_history.yaml")
    net, cat = build_network(sc), build_catalog(sc)
    streams = RandomStreams(sc.seed)
    f = Forecaster(sc, net, cat, streams)
    ndc = net.node_kind == NDC
    for d in range(4):
        x = f.realised(demand_day(sc, net, cat, streams, d))
        assert f.rate(d)[ndc].sum() == pytest.approx(x[ndc].sum())  # the day's volume, the file's SKU mix
    assert f.rate(9).sum() == 0


# --------------------------------------------------------------------------- bad rows
BAD = [
    ("created,city,sku,qty\n10,Hangzhou,1,1\nyesterday,Hangzhou,1,1", "row 3, column created"),
    ("created,city,sku,qty\n10,Hangzhou,1,0", "row 2, column qty: must be a positive integer, got '0'"),
    ("created,city,sku,qty\n10,Hangzhou,1,1.5", "row 2, column qty"),
    (
        "created,city,sku,qty\n10,Hangzhou,1,1\n20,Hangzhuo,1,1",
        "row 3, column city: city 'Hangzhuo' is not in",
    ),
    ("created,city,sku,qty\n10,Hangzhou,999,1", "row 2, column sku: index 999 out of range"),
    ("created,city,sku,qty\n10,Hangzhou,,1", "row 2, column sku: missing SKU"),
    ("created,city,sku,qty,requested_tier\n10,Hangzhou,1,1,express", "row 2, column requested_tier"),
    ("created,lat,lon,sku,qty\n10,30.2,,1,1", "row 2, column lon: give both lat and lon"),
    ("created,lat,lon,sku,qty\n10,39.9,116.4,1,1", "row 2, column lat: (39.9, 116.4) is"),
    ("created,lat,lon,sku,qty\n10,95,120,1,1", "row 2, column lat: must be within"),
    ("created,city,lat,lon,sku,qty\n10,,,,1,1", "row 2, column city: needs a city or lat and lon"),
    (
        "order_id,created,city,sku,qty\nA,10,Hangzhou,1,1\nA,11,Hangzhou,2,1",
        "row 3, column created: order 'A'",
    ),
    ("created,sku,qty\n10,1,1", "needs columns created, sku, qty and city and/or lat, lon"),
    ("created,city,sku,qty\n-5,Hangzhou,1,1", "no orders on or after horizon.start_date"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_rows_name_the_row_and_column(tmp_path, text, message):
    p = write_csv(tmp_path, text)
    sc, net, cat = replay(p)
    with pytest.raises(ScenarioError) as exc:
        demand_day(sc, net, cat, RandomStreams(1), 0)
    assert any(message in line for line in exc.value.problems), exc.value.problems
    assert all(line.startswith("demand.file: orders.csv") for line in exc.value.problems)


def test_many_bad_rows_are_summarised(tmp_path):
    p = write_csv(tmp_path, "created,city,sku,qty\n" + "\n".join(f"{i},Hangzhou,1,0" for i in range(20)))
    sc, net, cat = replay(p)
    with pytest.raises(ScenarioError) as exc:
        demand_day(sc, net, cat, RandomStreams(1), 0)
    assert len(exc.value.problems) == 6 and "15 more bad rows" in exc.value.problems[-1]


def test_unsupported_file_type(tmp_path):
    p = tmp_path / "orders.xlsx"
    p.write_bytes(b"PK")
    sc, net, cat = replay(p)
    with pytest.raises(ScenarioError, match="expected a .csv or .parquet file"):
        demand_day(sc, net, cat, RandomStreams(1), 0)


def test_start_date_moves_day_indices(tmp_path):
    p = write_csv(tmp_path, "created,city,sku,qty\n2026-11-05T10:00:00,Hangzhou,1,1")
    sc, net, cat = replay(p, "horizon.start_date=2026-11-04")
    assert history_day_indices(sc, net, cat) == [1]
    assert sc.horizon.start_date == dt.date(2026, 11, 4)
