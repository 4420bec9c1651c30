"""Inputs that used to validate and then mislead, hang or crash (issue #17): each is now exit 2, one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError
from sim.io.scenario import load_scenario
from sim.io.yaml_loader import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "scenarios" / "toy.yaml"
TOY_HISTORY = ROOT / "scenarios" / "toy_history.yaml"


def _validate(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    code = main(["validate", *map(str, argv)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    return code, err


def test_duplicate_key_names_both_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = TOY.read_text() + "\ndemand:\n  orders_per_day: 20000\n"
    p = tmp_path / "dup.yaml"
    p.write_text(text)
    first = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("demand:"))
    last = len(text.splitlines()) - 1
    code, err = _validate(capsys, p)
    assert code == 2 and err.count("\n") == 1
    assert f"duplicate key 'demand' (lines {first} and {last})" in err
    with pytest.raises(yaml.YAMLError, match="lines 2 and 3"):
        parse_yaml("a:\n  x: 1\n  x: 2\n")


def test_deep_nesting_and_impossible_dates(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(yaml.YAMLError, match="nested"):
        parse_yaml("x: " + "[" * 20000 + "]" * 20000)
    code, err = _validate(capsys, TOY, "--set", "description=" + "[" * 5000 + "]" * 5000)
    assert code == 2 and "nested" in err
    code, err = _validate(capsys, TOY, "--set", "horizon.start_date=2026-02-30")
    assert code == 2 and err.startswith("error: horizon.start_date:")
    code, err = _validate(capsys, TOY, "--set", "horizon.start_date=!!timestamp 2026-02-30")
    assert code == 2 and "--set horizon.start_date" in err


@pytest.mark.parametrize(
    ("sets", "field"),
    [
        (
            ["nodes.stores.sites=[{id: S1, city: Hangzhou, lat: 39.90, lon: 116.40}]"],
            "nodes.stores.sites[0]",
        ),  # Beijing
        (["nodes.ndcs.sites[0].lat=48.86", "nodes.ndcs.sites[0].lon=2.35"], "nodes.ndcs.sites[0]"),  # Paris
        (["nodes.ndcs.sites[0].lat=30.0", "nodes.ndcs.sites[0].lon=30.0"], "nodes.ndcs.sites[0]"),  # a typo
        (["geography.cities[0].lat=39.9", "geography.cities[0].lon=116.4"], "geography.cities[0]"),
        (
            ["geography.cities[1]={name: Atlantis, lat: 0, lon: 0, population: 1000000}"],
            "geography.cities[1]",
        ),
        (["demand.basket.mean_lines=500000"], "demand.basket"),
        (
            ["catalog.n_skus=3", "demand.basket.max_lines=4", "demand.basket.mean_lines=3.5"],
            "demand.basket.mean_lines",
        ),
        (["seed=9223372036854775808"], "seed"),
        (["router.epoch_s=0.000001"], "router.epoch_s"),
        (["demand.basket.mean_qty=1e10"], "demand.basket.mean_qty"),
        (["nodes.fdcs.count_per_city.Hangzhou=1000000000000000"], "nodes.fdcs.count_per_city.Hangzhou"),
        (["geography.zones_per_city=100000000"], "geography.zones_per_city"),
        (["nodes.stores.capacity.riders=1000000000"], "nodes.stores.capacity.riders"),
        (["inventory.review_period_days=0.25"], "inventory"),
        (["horizon.days=100000000"], "horizon.days"),
        (["policy=top_n(n=-5)"], "policy"),
        (["policy=base_stock(service=2)"], "policy"),
    ],
)
def test_misleading_values_are_refused(
    capsys: pytest.CaptureFixture[str], sets: list[str], field: str
) -> None:
    t0 = time.monotonic()
    code, err = _validate(capsys, TOY, *(a for s in sets for a in ("--set", s)))
    assert code == 2, err
    assert f"error: {field}" in err, err
    assert time.monotonic() - t0 < 30  # generous: 10^15 FDCs used to take minutes


def test_world_region_allows_a_network_outside_china(tmp_path: Path) -> None:
    data = yaml.safe_load(TOY.read_text())
    data["geography"] = {
        "region": "world",
        "zones_per_city": 10,
        "city_radius_km": 10,
        "cities": [
            {"name": "Paris", "lat": 48.86, "lon": 2.35, "population": 2_100_000},
            {"name": "Lyon", "lat": 45.76, "lon": 4.84, "population": 500_000},
        ],
    }
    data["nodes"] = {
        "ndcs": {"sites": [{"id": "N", "city": "Paris"}]},
        "stores": {"count_per_city": {"Paris": 2}},
    }
    p = tmp_path / "fr.yaml"
    p.write_text(yaml.safe_dump(data))
    assert load_scenario(p).geography.region == "world"
    data["geography"]["region"] = "china"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match="outside China"):
        load_scenario(p)


def test_default_region_is_not_written(toy: object) -> None:
    from sim.io.scenario import to_yaml

    assert "region" not in to_yaml(toy)  # earlier runs' scenario.yaml stay byte-identical


def test_extends_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    child = tmp_path / "child.yaml"
    for target, expect in (
        ("/dev/zero", "extends: /dev/zero: not a regular file"),
        (str(tmp_path), f"extends: {tmp_path}: is a directory"),
        ("missing.yaml", "extends: missing.yaml: file not found"),
    ):
        child.write_text(f"extends: {target}\nname: c\n")
        t0 = time.monotonic()
        code, err = _validate(capsys, child)
        assert code == 2 and err.startswith(f"error: {expect}"), err
        assert time.monotonic() - t0 < 30
    (tmp_path / "base.yaml").write_text("name: b\nname: c\n")
    child.write_text("extends: base.yaml\n")
    code, err = _validate(capsys, child)
    assert code == 2 and err.startswith(
        "error: extends: base.yaml: line 2, column 1: duplicate key 'name'"
    ), err


def test_paths_that_are_directories_or_devices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, expect in (
        ([tmp_path], "is a directory"),
        (["/dev/zero"], "not a regular file"),
        ([TOY, "--set", f"nodes.file={tmp_path}"], "nodes.file"),
        ([TOY, "--set", "nodes.file=/dev/zero"], "nodes.file"),
        ([TOY_HISTORY, "--set", "demand.file=/dev/zero"], "demand.file"),
    ):
        code, err = _validate(capsys, *argv)
        assert code == 2 and expect in err, err


def _gbk(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("gbk"))
    return path


def test_gbk_csv_says_save_as_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nodes = _gbk(tmp_path / "nodes.csv", "id,kind,city,lat,lon\n杭州店1,store,Hangzhou,30.27,120.15\n")
    code, err = _validate(capsys, TOY, "--set", f"nodes.file={nodes}")
    assert code == 2 and "GBK" in err and "save it as UTF-8" in err and "line 2" in err
    hist = TOY_HISTORY.parent / "data" / "sample_orders.csv"
    lines = hist.read_text().splitlines()
    lines[1] = lines[1] + ",备注"
    lines[0] = lines[0] + ",note"
    orders = _gbk(
        tmp_path / "orders.csv", "\n".join(lines[:1] + [ln + ",x" for ln in lines[2:5]] + [lines[1]])
    )
    code, err = _validate(capsys, TOY_HISTORY, "--set", f"demand.file={orders}")
    assert code == 2 and "save it as UTF-8" in err, err
    # a UTF-8 file with Excel's byte-order mark reads
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + b"id,kind,city\nS1,store,Hangzhou\n")
    assert load_scenario(TOY, [f"nodes.file={tmp_path / 'bom.csv'}"]).nodes.stores.sites[-1].id == "S1"


def test_history_outside_horizon_and_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(capsys, TOY_HISTORY, "--set", "horizon.start_date=2025-01-01")
    assert code == 2 and "no orders within the simulated days" in err
    hist = (TOY_HISTORY.parent / "data" / "sample_orders.csv").read_text().splitlines()
    cols = hist[0].split(",")
    row = hist[1].split(",")
    row[cols.index("qty")] = "-3"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([hist[0], hist[1], ",".join(row), *hist[3:]]) + "\n")
    code, err = _validate(capsys, TOY_HISTORY, "--set", f"demand.file={bad}")
    assert code == 2 and "row 3, column qty" in err, err


def test_compare_validates_every_spec_before_the_first_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "compare",
            str(TOY),
            "--policies",
            "central_only,top_n(n=-5)",
            "--replications",
            "1",
            "--days",
            "1",
            "--out",
            str(tmp_path / "c"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "top_n" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()  # nothing ran


def test_runs_and_query_tolerate_an_old_manifest_seed() -> None:
    from sim.io.query import _int64

    assert _int64(2**64) is None and _int64(True) is None and _int64("7") is None
    assert _int64(2**63 - 1) == 2**63 - 1 and _int64(0) == 0
