"""A planner's own data in, their identities out (issue #16): a products table, a history using its ids and
an observed starting stock, replayed on the toy network (scenarios/toy_planner.yaml).

The expectations are recomputed from the sample CSV files with pandas, never from the simulator's code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.io.scenario import load_scenario, to_yaml
from sim.run import simulate

ROOT = Path(__file__).resolve().parents[1]
PLANNER = ROOT / "scenarios" / "toy_planner.yaml"
DATA = ROOT / "scenarios" / "data"


@pytest.fixture(scope="module")
def planner_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("planner") / "run"
    simulate(PLANNER, out=out, force=True, report=False, explain=True)
    return out


def _products() -> pd.DataFrame:
    return pd.read_csv(DATA / "planner_products.csv", dtype=str, keep_default_na=False)


def test_lines_carry_the_planners_sku_ids_and_names(planner_run: Path) -> None:
    products = _products()
    lines = pd.read_parquet(planner_run / "lines.parquet")
    assert {"sku_id", "sku_name"} <= set(lines.columns)
    # the i-th product row is catalog index i: id and name follow the index exactly
    assert (lines["sku_id"] == products["sku"].to_numpy()[lines["sku"]]).all()
    assert (lines["sku_name"] == products["name"].to_numpy()[lines["sku"]]).all()
    # every ordered (order, sku) pair of the simulated days comes back under the planner's ids
    orders = pd.read_csv(DATA / "planner_orders.csv", dtype=str)
    ids = pd.read_parquet(planner_run / "order_ids.parquet")
    got = lines.merge(ids, on="order_id")[["source_order_id", "sku_id"]].drop_duplicates()
    want = orders[["order_id", "sku"]].drop_duplicates()
    assert set(map(tuple, got.to_numpy())) == set(map(tuple, want.to_numpy()))


def test_skus_parquet_is_the_products_table(planner_run: Path) -> None:
    products = _products()
    skus = pd.read_parquet(planner_run / "skus.parquet")
    assert list(skus["sku"]) == list(range(len(products)))
    assert list(skus["sku_id"]) == list(products["sku"]) and list(skus["name"]) == list(products["name"])
    assert list(skus["category"]) == list(products["category"])
    assert skus["value_cny"].round(6).tolist() == products["value_cny"].astype(float).tolist()
    life = products["shelf_life_days"].replace("", "nan").astype(float)
    assert skus["shelf_life_days"].isna().tolist() == life.isna().tolist()
    fresh = products["category"] == "fresh"
    assert set(skus.loc[fresh, "tiers"]) == {"near|mid"} and set(
        skus.loc[~fresh & (products["tiers"] == ""), "tiers"]
    ) == {"near|mid|far"}
    # popularity estimated from the history: units per SKU + 0.5, normalised
    orders = pd.read_csv(DATA / "planner_orders.csv", dtype={"sku": str})
    units = orders.groupby("sku")["qty"].sum().reindex(products["sku"], fill_value=0).to_numpy() + 0.5
    assert skus["popularity"].to_numpy() == pytest.approx(units / units.sum())
    assert skus.sort_values("rank")["popularity"].is_monotonic_decreasing


def test_starting_stock_is_day_0_of_inventory(planner_run: Path) -> None:
    stock = pd.read_csv(DATA / "planner_stock.csv", dtype={"sku": str})
    products = _products()
    index = {s: i for i, s in enumerate(products["sku"])}
    on_hand = stock[stock["arrive"].isna()].groupby(["node", "sku"])["units"].sum()
    inv = pd.read_parquet(planner_run / "inventory.parquet")
    day0 = inv[inv["day"] == 0].set_index(["node_id", "sku"])["start"]
    want = {(n, index[s]): u for (n, s), u in on_hand.items()}
    got = {k: v for k, v in day0.items() if v}
    assert got == want
    # the truck in transit to the FDC arrives on day 0 (06:00): received there on day 0
    moving = stock[stock["arrive"].notna()]
    fdc0 = inv[(inv["day"] == 0) & (inv["node_id"] == "fdc-Hangzhou-001")].set_index("sku")["received"]
    for s, u in zip(moving["sku"], moving["units"], strict=True):
        assert fdc0.get(index[s], 0) >= u
    # the nodes the file specifies are not topped up on day 0 (the NDC rule and the review skip them)
    ndc0 = inv[(inv["day"] == 0) & (inv["node_id"] == "NDC-SH")]
    assert ndc0["received"].sum() == 0
    store3 = inv[(inv["node_id"] == "store-Hangzhou-003")]
    assert store3["start"].sum() >= 0 and store3[store3["day"] == 0]["start"].sum() == 0


def test_explain_names_the_planners_skus_and_order(
    planner_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = pd.read_parquet(planner_run / "lines.parquet")
    ids = pd.read_parquet(planner_run / "order_ids.parquet").set_index("order_id")["source_order_id"]
    oid = int(lines["order_id"].iloc[-1])
    assert main(["explain", str(planner_run), str(oid)]) == 0
    out = capsys.readouterr().out
    mine = lines[lines["order_id"] == oid]
    assert f"planner's order id: {ids[oid]}" in out
    for sid, name in zip(mine["sku_id"], mine["sku_name"], strict=True):
        assert sid in out and name in out
    assert main(["explain", str(planner_run), str(oid), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [ln["sku_id"] for ln in doc["lines"]] == list(mine["sku_id"])


def test_skus_view(planner_run: Path) -> None:
    from sim.io.query import query

    df = query(
        planner_run,
        "SELECT s.sku_id, s.name, sum(l.qty) AS units FROM lines l JOIN skus s "
        "USING (run_id, sku) GROUP BY ALL ORDER BY units DESC",
    )
    lines = pd.read_parquet(planner_run / "lines.parquet")
    want = lines.groupby("sku_id")["qty"].sum()
    assert dict(zip(df["sku_id"], df["units"], strict=True)) == want.to_dict()


def test_every_run_has_skus_parquet_synthetic_too(tmp_path: Path) -> None:
    res = simulate(
        ROOT / "scenarios" / "toy.yaml",
        days=1,
        out=tmp_path / "run",
        report=False,
        overrides=["horizon.warmup_days=2", "demand.orders_per_day=100"],
    )
    skus = pd.read_parquet(tmp_path / "run" / "skus.parquet")
    assert len(skus) == 200 and skus["sku_id"].isna().all() and skus["popularity"].sum() == pytest.approx(1.0)
    assert res.skus is not None and len(res.skus) == 200
    assert (
        "sku_id" not in pd.read_parquet(tmp_path / "run" / "lines.parquet").columns
    )  # contract columns only
    assert not (tmp_path / "run" / "order_ids.parquet").exists()


def test_history_without_products_writes_its_sku_mapping() -> None:
    from sim.catalog import build_catalog
    from sim.demand.history import load_history
    from sim.io.skus import skus_table
    from sim.network import build_network

    sc = load_scenario(ROOT / "scenarios" / "toy_history.yaml")
    net, cat = build_network(sc), build_catalog(sc)
    h = load_history(sc, net, cat)
    table = skus_table(cat, h.sku_map).to_pandas()
    orders = pd.read_csv(DATA / "sample_orders.csv", dtype=str)
    assert set(h.sku_map) == set(orders["sku"])
    for sid, i in list(h.sku_map.items())[:50]:
        assert sid in table.loc[i, "sku_id"].split("|")


def test_new_fields_leave_existing_resolved_scenarios_unchanged() -> None:
    text = to_yaml(load_scenario(ROOT / "scenarios" / "toy.yaml"))
    doc = yaml.safe_load(text)
    assert "file" not in doc["catalog"] and "initial" not in doc["inventory"]
    planner = yaml.safe_load(to_yaml(load_scenario(PLANNER)))
    assert planner["catalog"]["n_skus"] == 60 and Path(planner["inventory"]["initial"]["file"]).is_absolute()
    assert load_scenario(PLANNER) == load_scenario(PLANNER)


# --------------------------------------------------------------------------- bad files: exit 2, row and column
def _scenario_with(tmp_path: Path, products: str | None = None, stock: str | None = None) -> Path:
    for f in ("planner_products.csv", "planner_orders.csv", "planner_stock.csv"):
        shutil.copy(DATA / f, tmp_path / f)
    if products is not None:
        (tmp_path / "planner_products.csv").write_text(products, encoding="utf-8")
    if stock is not None:
        (tmp_path / "planner_stock.csv").write_text(stock, encoding="utf-8")
    doc = yaml.safe_load(PLANNER.read_text())
    doc["extends"] = str(ROOT / "scenarios" / "toy.yaml")
    doc["catalog"]["file"] = "planner_products.csv"
    doc["demand"]["file"] = "planner_orders.csv"
    doc["inventory"]["initial"]["file"] = "planner_stock.csv"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


HEAD = "sku,name,category,value_cny,volume_l,shelf_life_days,tiers\n"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            HEAD + "A,a,grocery,10,1,,\nA,b,grocery,10,1,,\n",
            "planner_products.csv row 3, column sku: duplicate SKU id 'A'",
        ),
        (
            HEAD + "A,a,grocery,10,1,,\nB,b,grocery,-3,1,,\n",
            "planner_products.csv row 3, column value_cny: must be > 0",
        ),
        (
            HEAD + "A,a,grocery,10,1,,\nB,b,grocery,4,lots,,\n",
            "planner_products.csv row 3, column volume_l: expected a number",
        ),
        (
            HEAD + "A,a,grocery,10,1,,nearby\n",
            "planner_products.csv row 2, column tiers: unknown tier 'nearby'",
        ),
        (HEAD + "A,a,,10,1,,\n", "planner_products.csv row 2, column category: missing category"),
        ("sku,name\nA,a\n", "planner_products.csv: missing column(s) category, value_cny, volume_l"),
    ],
)
def test_bad_products_file_names_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, needle: str
) -> None:
    path = _scenario_with(tmp_path, products=body)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert "Traceback" not in err and all(ln.startswith("error: ") for ln in err.splitlines() if ln.strip())


def test_history_sku_not_in_products_names_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = _products().iloc[:-1].to_csv(index=False)  # drop HZ-0060, which the history orders
    path = _scenario_with(tmp_path, products=body)
    orders = pd.read_csv(DATA / "planner_orders.csv", dtype=str)
    first = int(orders.index[orders["sku"] == "HZ-0060"][0]) + 2  # CSV line (header = row 1)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"planner_orders.csv row {first}, column sku: SKU 'HZ-0060' is not in the products table" in err


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            "node,sku,units\nNDC-SH,HZ-0001,5\nNDC-XX,HZ-0001,5\n",
            "planner_stock.csv row 3, column node: no node 'NDC-XX'",
        ),
        (
            "node,sku,units\nNDC-SH,HZ-9999,5\n",
            "planner_stock.csv row 2, column sku: SKU 'HZ-9999' is not in the products",
        ),
        (
            "node,sku,units\nNDC-SH,HZ-0001,-5\n",
            "planner_stock.csv row 2, column units: must be a whole number >= 0",
        ),
        ("node,sku,units\nNDC-SH,HZ-0001,2.5\n", "planner_stock.csv row 2, column units"),
        (
            "node,sku,units,arrive\nNDC-SH,HZ-0001,5,2026-11-01T12:00:00\n",
            "planner_stock.csv row 2, column arrive",
        ),
        ("node,sku,units,age_days\nNDC-SH,HZ-0025,5,9\n", "planner_stock.csv row 2, column age_days"),
        ("node,units\nNDC-SH,5\n", "planner_stock.csv: missing column(s) sku"),
    ],
)
def test_bad_stock_file_names_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, needle: str
) -> None:
    path = _scenario_with(tmp_path, stock=body)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert needle in err, err


def test_a_stock_file_for_every_forward_node_needs_no_warm_up(tmp_path: Path) -> None:
    stock = pd.read_csv(DATA / "planner_stock.csv", dtype=str, keep_default_na=False)
    extra = pd.DataFrame(
        {
            "node": [f"store-Hangzhou-00{i}" for i in (3, 4, 5)],
            "sku": "HZ-0001",
            "units": "2",
            "arrive": "",
            "age_days": "",
        }
    )
    full = pd.concat([stock, extra]).to_csv(index=False)
    path = _scenario_with(tmp_path, stock=full)
    sc = load_scenario(path, ["horizon.warmup_days=0"])
    assert sc.horizon.warmup_days == 0
    from sim.errors import ScenarioError

    partial = tmp_path / "partial"
    partial.mkdir()
    with pytest.raises(
        ScenarioError, match="horizon.warmup_days"
    ):  # three stores unspecified: warm-up needed
        load_scenario(_scenario_with(partial), ["horizon.warmup_days=0"])


def test_sku_labels_for_reports(planner_run: Path, tmp_path: Path) -> None:
    from sim.io.skus import sku_labels

    labels = sku_labels(planner_run)
    products = _products()
    assert labels[0] == f"{products['sku'][0]} {products['name'][0]}" and len(labels) == len(products)
    assert sku_labels(tmp_path) == {}


def test_starting_stock_with_a_synthetic_catalog_uses_indices(tmp_path: Path) -> None:
    (tmp_path / "stock.csv").write_text(
        "node,sku,units\nstore-Hangzhou-001,0,7\nstore-Hangzhou-001,3,2\nNDC-SH,0,50\n", encoding="utf-8"
    )
    sets = [
        "horizon.warmup_days=2",
        "demand.orders_per_day=100",
        f"inventory.initial.file={tmp_path / 'stock.csv'}",
    ]
    simulate(ROOT / "scenarios" / "toy.yaml", days=1, out=tmp_path / "run", report=False, overrides=sets)
    inv = pd.read_parquet(tmp_path / "run" / "inventory.parquet")
    day0 = inv[(inv["day"] == 0) & (inv["start"] > 0)].set_index(["node_id", "sku"])["start"].to_dict()
    assert day0 == {("store-Hangzhou-001", 0): 7, ("store-Hangzhou-001", 3): 2, ("NDC-SH", 0): 50}
    (tmp_path / "bad.csv").write_text("node,sku,units\nNDC-SH,SKU-1,5\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.csv row 2, column sku: expected a catalog index 0..199"):
        load_scenario(ROOT / "scenarios" / "toy.yaml", [f"inventory.initial.file={tmp_path / 'bad.csv'}"])


def test_report_names_the_planners_skus(planner_run: Path) -> None:
    from sim.report.html import write_report

    html = write_report(planner_run).read_text(encoding="utf-8")
    stockouts = html[html.index('id="stockouts"') :]
    products = _products()
    lines = pd.read_parquet(planner_run / "lines.parquet")
    lost = lines[lines["status"] == "lost"]
    assert len(lost), "the sample has stock-outs to show"
    named = [f"{r.sku} {r.name}" for r in products.itertuples() if f"{r.sku} {r.name}" in stockouts]
    assert named, "the stock-outs table shows the planner's SKU ids and names"
