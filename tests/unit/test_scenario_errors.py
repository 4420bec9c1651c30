"""Every class of bad scenario input and the one-line message it produces (DESIGN.md sections 9, 11).

Each case writes a small valid scenario (shaped like scenarios/toy.yaml) into tmp_path, breaks one
thing and checks that ``load_scenario`` raises ``ScenarioError`` whose ``.problems`` are single lines
``path: rule, got value`` naming the field. Also covers ``--set`` overrides, ``extends:`` and the
resolved scenario's YAML round trip.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.errors import ScenarioError
from sim.io.scenario import apply_overrides, load_scenario, scenario_hash, to_dict, to_yaml

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))

#: A small valid scenario: the structure of scenarios/toy.yaml, smaller.
BASE: dict[str, Any] = {
    "name": "errors_base",
    "description": "one city, one FDC, two stores; the NDC in Shanghai",
    "seed": 7,
    "horizon": {"days": 1, "warmup_days": 3, "start_date": "2026-11-02"},
    "geography": {
        "cities": [{"name": "Hangzhou"}, {"name": "Shanghai", "demand_weight": 0, "zones": 4}],
        "zones_per_city": 10,
        "city_radius_km": 12,
    },
    "nodes": {
        "ndcs": {"sites": [{"id": "NDC-SH", "city": "Shanghai", "lat": 31.35, "lon": 121.25}]},
        "fdcs": {"count_per_city": {"Hangzhou": 1}},
        "stores": {"count_per_city": {"Hangzhou": 2}, "capacity": {"pickers": 3, "riders": 8}},
    },
    "catalog": {"n_skus": 50, "zipf_s": 1.0},
    "demand": {"orders_per_day": 500, "day_cv": 0.1, "tier_mix": {"near": 0.55, "mid": 0.15, "far": 0.30}},
    "policy": "top_n(n=10)",
    "router": {"name": "flow", "epoch_s": 60},
}

_KEY = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in _KEY.findall(path)]


def set_in(data: dict[str, Any], path: str, value: Any) -> None:
    """data[a][b][0][c] = value for 'a.b[0].c' (creating mappings on the way). Independent of sim."""
    parts = _parts(path)
    node: Any = data
    for part in parts[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    node[parts[-1]] = value


def del_in(data: dict[str, Any], path: str) -> None:
    parts = _parts(path)
    node: Any = data
    for part in parts[:-1]:
        node = node[part]
    del node[parts[-1]]


def write(directory: Path, data: Any, name: str = "scenario.yaml") -> Path:
    p = directory / name
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def problems(path: Path, overrides: list[str] | tuple[str, ...] = (), **kw: Any) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, list(overrides), **kw)
    probs = info.value.problems
    assert probs, "ScenarioError without problems"
    for line in probs:
        assert isinstance(line, str)
        assert "\n" not in line and "\r" not in line, f"not one line: {line!r}"
        assert "Traceback" not in line
    return probs


def only_line(probs: list[str]) -> str:
    assert len(probs) == 1, probs
    return probs[0]


# --------------------------------------------------------------------------- sanity
def test_site_override_equal_to_the_group_value_is_accepted(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    set_in(
        data, "nodes.stores.sites", [{"id": "S-1", "city": "Hangzhou", "capacity": {"rider_max_batch": 3}}]
    )
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_scenario(path).nodes.stores.sites[0].capacity == {"rider_max_batch": 3}


def test_base_is_valid(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, base()))
    assert sc.name == "errors_base"
    assert sc.demand.orders_per_day == 500
    assert [c.name for c in sc.geography.cities] == ["Hangzhou", "Shanghai"]


# --------------------------------------------------------------------------- file-level problems
def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.yaml"
    line = only_line(problems(p))
    assert line.startswith(f"{p}: ")
    assert "not found" in line


def test_directory_instead_of_file(tmp_path: Path) -> None:
    line = only_line(problems(tmp_path))
    assert line.startswith(f"{tmp_path}: ")
    assert "directory" in line


@pytest.mark.parametrize(
    "text", ["", "   \n\n", "# only a comment\n", "---\n"], ids=["empty", "blank", "comment", "doc-marker"]
)
def test_empty_file(tmp_path: Path, text: str) -> None:
    p = tmp_path / "empty.yaml"
    p.write_text(text)
    line = only_line(problems(p))
    assert line.startswith(f"{p}: ")
    assert "empty" in line


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("name: broken\nseed: 1\nhorizon:\n  days: [1, 2\n  warmup_days: 3\n")
    line = only_line(problems(p))
    assert line.startswith(f"{p}:")
    assert "YAML syntax error" in line
    m = re.search(r"line (\d+)", line)
    assert m, line
    assert int(m.group(1)) in (4, 5)  # the unclosed flow list starts on line 4, the parser fails on 5


def test_yaml_syntax_error_bad_indentation(tmp_path: Path) -> None:
    p = tmp_path / "indent.yaml"
    p.write_text("name: x\ndemand:\n  orders_per_day: 5\n tier_mix: {}\n")
    line = only_line(problems(p))
    assert "YAML syntax error" in line
    assert "line 4" in line


@pytest.mark.parametrize(
    "data, kind", [(["a", "b"], "list"), ("hello", "str"), (42, "int")], ids=["list", "string", "number"]
)
def test_top_level_not_a_mapping(tmp_path: Path, data: Any, kind: str) -> None:
    p = write(tmp_path, data)
    line = only_line(problems(p))
    assert line.startswith(f"{p}: ")
    assert "mapping" in line and kind in line


# --------------------------------------------------------------------------- one bad field -> one named line
Mut = Callable[[dict[str, Any]], None]


def setting(path: str, value: Any) -> Mut:
    return lambda d: set_in(d, path, value)


def deleting(path: str) -> Mut:
    return lambda d: del_in(d, path)


# (id, mutation, expected path, substrings the line must contain)
CASES: list[tuple[str, Mut, str, list[str]]] = [
    # unknown keys, with a close-match suggestion
    (
        "unknown-key",
        setting("demand.orders_per_dy", 5000),
        "demand.orders_per_dy",
        ["unknown key", "did you mean 'orders_per_day'"],
    ),
    (
        "unknown-section",
        setting("demnd", {"orders_per_day": 1}),
        "demnd",
        ["unknown key", "did you mean 'demand'"],
    ),
    (
        "unknown-capacity-key",
        setting("nodes.stores.capacity.ridres", 3),
        "nodes.stores.capacity.ridres",
        ["unknown key", "did you mean 'riders'"],
    ),
    (
        "unknown-key-in-list-item",
        setting("geography.cities[1].zone", 3),
        "geography.cities[1].zone",
        ["unknown key", "did you mean 'zones'"],
    ),
    # missing required fields
    ("missing-geography", deleting("geography"), "geography", ["required"]),
    ("missing-name", deleting("name"), "name", ["required"]),
    # wrong types
    (
        "string-for-int",
        setting("catalog.n_skus", "lots"),
        "catalog.n_skus",
        ["expected an integer", "got 'lots'"],
    ),
    ("fraction-for-int", setting("horizon.days", 1.5), "horizon.days", ["expected an integer", "got 1.5"]),
    (
        "string-for-float",
        setting("demand.orders_per_day", "many"),
        "demand.orders_per_day",
        ["expected a number", "got 'many'"],
    ),
    ("list-for-mapping", setting("demand.tier_mix", [0.5, 0.5]), "demand.tier_mix", ["expected a mapping"]),
    ("bad-date", setting("horizon.start_date", "2026-13-40"), "horizon.start_date", ["date"]),
    ("bad-name", setting("name", "has spaces"), "name", ["must match", "got 'has spaces'"]),
    ("literal", setting("costs.riders.model", "gig"), "costs.riders.model", ["must be one of", "got 'gig'"]),
    # NaN and infinities
    ("nan", setting("demand.orders_per_day", float("nan")), "demand.orders_per_day", ["finite", "got nan"]),
    ("inf", setting("demand.orders_per_day", float("inf")), "demand.orders_per_day", ["finite", "got inf"]),
    (
        "minus-inf",
        setting("nodes.stores.capacity.rider_speed_kmh", float("-inf")),
        "nodes.stores.capacity.rider_speed_kmh",
        ["finite"],
    ),
    (
        "nan-probability",
        setting("tiers.downgrade_acceptance.near_mid", float("nan")),
        "tiers.downgrade_acceptance.near_mid",
        ["finite"],
    ),
    # negative or zero counts, capacities, speeds
    (
        "negative-orders",
        setting("demand.orders_per_day", -5),
        "demand.orders_per_day",
        ["must be > 0", "got -5"],
    ),
    ("zero-orders", setting("demand.orders_per_day", 0), "demand.orders_per_day", ["must be > 0", "got 0"]),
    ("zero-skus", setting("catalog.n_skus", 0), "catalog.n_skus", ["must be > 0", "got 0"]),
    ("zero-days", setting("horizon.days", 0), "horizon.days", ["must be > 0", "got 0"]),
    (
        "negative-warmup",
        setting("horizon.warmup_days", -1),
        "horizon.warmup_days",
        ["must be >= 0", "got -1"],
    ),
    (
        "zero-pickers",
        setting("nodes.stores.capacity.pickers", 0),
        "nodes.stores.capacity.pickers",
        ["must be > 0", "got 0"],
    ),
    (
        "negative-riders",
        setting("nodes.stores.capacity.riders", -2),
        "nodes.stores.capacity.riders",
        ["must be > 0", "got -2"],
    ),
    (
        "negative-speed",
        setting("nodes.stores.capacity.rider_speed_kmh", -1),
        "nodes.stores.capacity.rider_speed_kmh",
        ["must be > 0", "got -1"],
    ),
    (
        "zero-van-capacity",
        setting("nodes.fdcs.capacity.van_capacity_m3", 0),
        "nodes.fdcs.capacity.van_capacity_m3",
        ["must be > 0"],
    ),
    (
        "zero-truck-speed",
        setting("lanes.ndc_fdc", {"base_h": 10, "truck_speed_kmh": 0}),
        "lanes.ndc_fdc.truck_speed_kmh",
        ["must be > 0"],
    ),
    ("zero-epoch", setting("router.epoch_s", 0), "router.epoch_s", ["must be >= 1"]),
    (
        "negative-count-per-city",
        setting("nodes.fdcs.count_per_city.Hangzhou", -1),
        "nodes.fdcs.count_per_city.Hangzhou",
        ["must be >= 0", "got -1"],
    ),
    (
        "negative-cost",
        setting("costs.parcel.per_order_cny", -8),
        "costs.parcel.per_order_cny",
        ["must be >= 0"],
    ),
    (
        "site-capacity-zero",
        setting("nodes.ndcs.sites[0].capacity", {"outbound_per_day": 0}),
        "nodes.ndcs.sites[0].capacity.outbound_per_day",
        ["must be > 0"],
    ),
    # capacity fields applied per group (sim.io.scenario.checks.GROUP_ONLY) are refused per site, not ignored
    *[
        (
            f"site-{f}",
            setting("nodes.stores.sites", [{"id": "S-1", "city": "Hangzhou", "capacity": {f: v}}]),
            f"nodes.stores.sites[0].capacity.{f}",
            ["per-site values are not supported", f"set nodes.stores.capacity.{f}"],
        )
        for f, v in (
            ("rider_max_batch", 5),
            ("rider_speed_kmh", 25.0),
            ("pick_cv", 0.9),
            ("rider_max_hold_s", 60.0),
            ("rider_peak_speed_kmh", 12.0),
        )
    ],
    (
        "ndc-scope-unknown",
        setting("nodes.ndcs.capacity", {"scope": "global"}),
        "nodes.ndcs.capacity.scope",
        ["regional", "global"],
    ),
    # probabilities outside [0, 1]
    (
        "probability-above-1",
        setting("tiers.downgrade_acceptance.near_mid", 1.5),
        "tiers.downgrade_acceptance.near_mid",
        ["must be <= 1", "got 1.5"],
    ),
    (
        "probability-below-0",
        setting("tiers.downgrade_acceptance.mid_far", -0.1),
        "tiers.downgrade_acceptance.mid_far",
        ["must be >= 0", "got -0.1"],
    ),
    (
        "margin-rate-above-1",
        setting("costs.lost_sale.margin_rate", 2),
        "costs.lost_sale.margin_rate",
        ["must be <= 1"],
    ),
    (
        "tier-share-above-1",
        setting("demand.tier_mix", {"near": 1.2, "mid": 0.0, "far": 0.0}),
        "demand.tier_mix.near",
        ["must be <= 1"],
    ),
    # shares that must sum to 1
    (
        "tier-mix-sum",
        setting("demand.tier_mix", {"near": 0.6, "mid": 0.4, "far": 0.3}),
        "demand.tier_mix",
        ["shares must sum to 1, got 1.3"],
    ),
    (
        "category-shares-sum",
        setting(
            "catalog.categories",
            [
                {"name": "a", "share": 0.5, "value_cny": 10, "volume_l": 1},
                {"name": "b", "share": 0.2, "value_cny": 10, "volume_l": 1},
            ],
        ),
        "catalog.categories",
        ["must sum to 1", "got 0.7"],
    ),
    # unknown names, with suggestions
    (
        "unknown-city",
        setting("geography.cities[0].name", "Hangzou"),
        "geography.cities[0].name",
        ["unknown city 'Hangzou'", "did you mean 'Hangzhou'"],
    ),
    (
        "unknown-preset",
        setting("geography.preset", "shanghai_hangzou"),
        "geography.preset",
        ["unknown preset 'shanghai_hangzou'", "did you mean 'shanghai_hangzhou'"],
    ),
    (
        "unknown-policy",
        setting("policy", "top_m(n=5)"),
        "policy",
        ["unknown policy 'top_m'", "did you mean 'top_n'"],
    ),
    ("malformed-policy-spec", setting("policy", "top_n(n=5"), "policy", ["top_n(n=5"]),
    (
        "unknown-router",
        setting("router.name", "flw"),
        "router.name",
        ["unknown router 'flw'", "did you mean 'flow'"],
    ),
    (
        "site-in-unknown-city",
        setting("nodes.ndcs.sites[0].city", "Shanghia"),
        "nodes.ndcs.sites[0].city",
        ["not in geography.cities", "did you mean 'Shanghai'"],
    ),
    (
        "count-in-unknown-city",
        setting("nodes.fdcs.count_per_city", {"Hangzou": 1}),
        "nodes.fdcs.count_per_city.Hangzou",
        ["not in geography.cities", "did you mean 'Hangzhou'"],
    ),
    (
        "unknown-category",
        setting("demand.tier_mix_by_category", {"fresch": {"near": 1, "mid": 0, "far": 0}}),
        "demand.tier_mix_by_category.fresch",
        ["no such catalog category", "did you mean 'fresh'"],
    ),
    # node ids and references
    (
        "duplicate-node-id",
        setting(
            "nodes.ndcs.sites",
            [
                {"id": "NDC-SH", "city": "Shanghai", "lat": 31.35, "lon": 121.25},
                {"id": "NDC-SH", "city": "Shanghai"},
            ],
        ),
        "nodes.ndcs.sites[1].id",
        ["duplicate node id 'NDC-SH'"],
    ),
    (
        "duplicate-id-across-kinds",
        setting("nodes.fdcs.sites", [{"id": "NDC-SH", "city": "Hangzhou"}]),
        "nodes.fdcs.sites[0].id",
        ["duplicate node id 'NDC-SH'"],
    ),
    (
        "site-clashes-with-generated-id",
        setting("nodes.stores.sites", [{"id": "store-Hangzhou-001", "city": "Hangzhou"}]),
        "nodes.stores.count_per_city",
        ["'store-Hangzhou-001'", "clashes"],
    ),
    ("no-ndc", setting("nodes.ndcs", {}), "nodes.ndcs", ["at least one NDC"]),
    (
        "lane-from-missing-node",
        setting("lanes.overrides", [{"from": "NDC-SX", "to": "fdc-Hangzhou-001"}]),
        "lanes.overrides[0].from",
        ["no node with id 'NDC-SX'", "did you mean 'NDC-SH'"],
    ),
    (
        "lane-to-missing-node",
        setting("lanes.overrides", [{"from": "NDC-SH", "to": "fdc-Hangzhou-009"}]),
        "lanes.overrides[0].to",
        ["no node with id 'fdc-Hangzhou-009'"],
    ),
    (
        "lane-wrong-direction",
        setting("lanes.overrides", [{"from": "store-Hangzhou-001", "to": "fdc-Hangzhou-001"}]),
        "lanes.overrides[0]",
        ["store->fdc"],
    ),
    (
        "far-override-unknown-ndc",
        setting("lanes.far", {"overrides": [{"ndc": "NDC-X", "city": "Hangzhou", "days": 1}]}),
        "lanes.far.overrides[0].ndc",
        ["no NDC with id 'NDC-X'"],
    ),
    # coordinates
    (
        "latitude-out-of-range",
        setting("nodes.ndcs.sites[0].lat", 91),
        "nodes.ndcs.sites[0].lat",
        ["must be <= 90", "got 91"],
    ),
    (
        "lat-without-lon",
        setting("nodes.ndcs.sites[0]", {"id": "NDC-SH", "city": "Shanghai", "lat": 31.3}),
        "nodes.ndcs.sites[0]",
        ["both lat and lon"],
    ),
    # times of day
    ("time-25h", setting("tiers.far.cutoff", "25:00"), "tiers.far.cutoff", ["00:00 and 24:00", "'25:00'"]),
    ("time-60min", setting("tiers.far.cutoff", "23:60"), "tiers.far.cutoff", ["00:00 and 24:00", "'23:60'"]),
    (
        "time-after-24",
        setting("tiers.far.cutoff", "24:01"),
        "tiers.far.cutoff",
        ["00:00 and 24:00", "'24:01'"],
    ),
    ("time-not-a-time", setting("tiers.far.cutoff", "noon"), "tiers.far.cutoff", ["HH:MM", "'noon'"]),
    (
        "service-hours-reversed",
        setting("tiers.near.service_hours", ["23:00", "08:00"]),
        "tiers.near.service_hours",
        ["end must be after start"],
    ),
    (
        "waves-not-increasing",
        setting(
            "tiers.mid.waves",
            [
                {"cutoff": "12:00", "window": ["13:00", "16:00"]},
                {"cutoff": "09:00", "window": ["10:00", "13:00"]},
            ],
        ),
        "tiers.mid.waves",
        ["increasing"],
    ),
    # horizon
    (
        "warmup-too-short",
        setting("horizon.warmup_days", 0),
        "horizon.warmup_days",
        ["review period plus the longest lead time", "got 0"],
    ),
    (
        "warmup-shorter-than-review",
        setting("inventory.review_period_days", 5),
        "horizon.warmup_days",
        ["review period plus the longest lead time", "5 d", "got 3"],
    ),
]


@pytest.mark.parametrize("mutate, path, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_field_gives_one_line_naming_the_path(
    tmp_path: Path, mutate: Mut, path: str, expected: list[str]
) -> None:
    data = base()
    mutate(data)
    line = only_line(problems(write(tmp_path, data)))
    assert line.startswith(f"{path}: "), line
    for text in expected:
        assert text in line, f"{text!r} not in {line!r}"


def test_yaml_nan_and_inf_literals(tmp_path: Path) -> None:
    text = yaml.safe_dump(base(), sort_keys=False)
    assert "orders_per_day: 500" in text
    for literal, shown in ((".nan", "nan"), (".inf", "inf"), ("-.inf", "-inf"), (".NaN", "nan")):
        p = tmp_path / "lit.yaml"
        p.write_text(text.replace("orders_per_day: 500", f"orders_per_day: {literal}"))
        line = only_line(problems(p))
        assert line == f"demand.orders_per_day: must be a finite number, got {shown}"


def test_tier_mix_message_exactly(tmp_path: Path) -> None:
    data = base()
    data["demand"]["tier_mix"] = {"near": 0.6, "mid": 0.4, "far": 0.3}
    assert problems(write(tmp_path, data)) == ["demand.tier_mix: shares must sum to 1, got 1.3"]


def test_time_boundaries_are_accepted(tmp_path: Path) -> None:
    data = base()
    data["tiers"] = {"far": {"cutoff": "24:00"}, "near": {"service_hours": ["00:00", "24:00"]}}
    sc = load_scenario(write(tmp_path, data))
    assert sc.tiers.far.cutoff == "24:00"


def test_mid_wave_window_of_exactly_4h_is_accepted(tmp_path: Path) -> None:
    data = base()
    data["tiers"] = {"mid": {"waves": [{"cutoff": "09:00", "window": ["10:00", "13:00"]}]}}
    sc = load_scenario(write(tmp_path, data))
    assert len(sc.tiers.mid.waves) == 1


def test_mid_wave_ending_more_than_4h_after_cutoff(tmp_path: Path) -> None:
    data = base()
    data["tiers"] = {"mid": {"waves": [{"cutoff": "09:00", "window": ["10:00", "13:30"]}]}}
    probs = problems(write(tmp_path, data))
    wave = [
        p for p in probs if p.startswith("tiers.mid.waves: [0] ")
    ]  # the bound is max_promise_h (issue #18)
    assert len(wave) == 1, probs
    assert "4.5 h after the cut-off 09:00" in wave[0]
    assert "at most 4 h" in wave[0]


def test_mid_wave_window_before_cutoff(tmp_path: Path) -> None:
    data = base()
    data["tiers"] = {"mid": {"waves": [{"cutoff": "09:00", "window": ["08:00", "10:00"]}]}}
    probs = problems(write(tmp_path, data))
    wave = [p for p in probs if p.startswith("tiers.mid.waves[0]: ")]
    assert len(wave) == 1, probs
    assert "at or after the cut-off" in wave[0]


def test_mid_wave_problem_is_reported_once(tmp_path: Path) -> None:
    data = base()
    data["tiers"] = {"mid": {"waves": [{"cutoff": "09:00", "window": ["10:00", "14:00"]}]}}
    probs = problems(write(tmp_path, data))
    assert len(probs) == 1, probs
    assert probs[0].startswith("tiers.mid.waves: [0] ")


def test_warmup_rule_uses_lead_time(tmp_path: Path) -> None:
    """Warm-up 1 day is too short for review 1 d + ~13.5 h NDC->FDC lead; 2 days are enough."""
    data = base()
    data["horizon"]["warmup_days"] = 1
    line = only_line(problems(write(tmp_path, data)))
    assert line.startswith("horizon.warmup_days: ")
    m = re.search(r"= ([0-9.]+) d\), got 1$", line)
    assert m and 1.0 < float(m.group(1)) <= 2.0, line
    data["horizon"]["warmup_days"] = 2
    assert load_scenario(write(tmp_path, data)).horizon.warmup_days == 2


def test_duplicate_city_names(tmp_path: Path) -> None:
    data = base()
    data["geography"]["cities"] = [
        {"name": "Hangzhou", "zones": 5},
        {"name": "Hangzhou", "zones": 50},
        {"name": "Shanghai", "demand_weight": 0, "zones": 4},
    ]
    line = only_line(problems(write(tmp_path, data)))
    assert line.startswith("geography.cities[1]")
    assert "duplicate" in line and "Hangzhou" in line


def test_boolean_for_a_count_is_a_wrong_type(tmp_path: Path) -> None:
    data = base()
    data["horizon"]["days"] = True
    line = only_line(problems(write(tmp_path, data)))
    assert line.startswith("horizon.days: ")


# --------------------------------------------------------------------------- nodes CSV
def _csv_scenario(tmp_path: Path, csv_text: str) -> Path:
    (tmp_path / "nodes.csv").write_text(csv_text)
    data = base()
    data["nodes"] = {"file": "nodes.csv", "fdcs": {"count_per_city": {"Hangzhou": 1}}}
    return write(tmp_path, data)


def test_nodes_csv_is_read(tmp_path: Path) -> None:
    p = _csv_scenario(
        tmp_path,
        "id,kind,city,lat,lon,pickers\nNDC-A,ndc,Shanghai,31.3,121.2,\nS1,store,Hangzhou,30.25,120.15,3\n",
    )
    sc = load_scenario(p)
    assert [s.id for s in sc.nodes.ndcs.sites] == ["NDC-A"]
    assert [s.id for s in sc.nodes.stores.sites] == ["S1"]
    assert sc.nodes.stores.sites[0].lat == pytest.approx(30.25)
    assert sc.nodes.stores.sites[0].capacity == {"pickers": 3.0}
    assert sc.nodes.file is None  # merged into sites by resolution


def test_nodes_csv_bad_number_names_row_and_column(tmp_path: Path) -> None:
    p = _csv_scenario(
        tmp_path, "id,kind,city,lat,lon\nNDC-A,ndc,Shanghai,31.3,121.2\nS1,store,Hangzhou,thirty,120.1\n"
    )
    line = only_line(problems(p))
    assert line.startswith("nodes.file")
    assert "nodes.csv" in line
    assert "row 3" in line  # row 1 is the header
    assert "column lat" in line
    assert "'thirty'" in line


@pytest.mark.parametrize(
    "csv_text, expected",
    [
        ("id,kind,city,lat,lon\nX,warehouse,Shanghai,31.3,121.2\n", ["row 2", "column kind", "'warehouse'"]),
        ("id,city,lat,lon\nX,Shanghai,31.3,121.2\n", ["missing column", "kind"]),
        ("id,kind,city,lat,lon\nX,ndc,Shanghai,31.3\n", ["row 2", "columns"]),
        (
            "id,kind,city,lat,lon,ridres\nNDC-A,ndc,Shanghai,31.3,121.2,\nS,store,Hangzhou,30.2,120.1,4\n",
            ["row 3", "column ridres", "did you mean 'riders'"],
        ),
    ],
    ids=["bad-kind", "missing-column", "short-row", "unknown-capacity-column"],
)
def test_nodes_csv_other_problems(tmp_path: Path, csv_text: str, expected: list[str]) -> None:
    line = only_line(problems(_csv_scenario(tmp_path, csv_text)))
    assert line.startswith("nodes.file"), line
    for text in expected:
        assert text in line, f"{text!r} not in {line!r}"


def test_nodes_csv_missing_file(tmp_path: Path) -> None:
    data = base()
    data["nodes"]["file"] = "absent.csv"
    line = only_line(problems(write(tmp_path, data)))
    assert line.startswith("nodes.file") and "absent.csv" in line and "not found" in line


# --------------------------------------------------------------------------- memory
def test_max_memory_too_small(tmp_path: Path) -> None:
    line = only_line(problems(write(tmp_path, base()), max_memory=1000))
    assert re.search(r"estimated [0-9.]+ (MiB|GiB) of memory", line), line
    assert ": " in line


def test_max_memory_large_enough(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, base()), max_memory=64 * 2**30)
    assert sc.name == "errors_base"


# --------------------------------------------------------------------------- several problems at once
def test_two_bad_fields_give_two_lines(tmp_path: Path) -> None:
    data = base()
    data["demand"]["orders_per_day"] = -5
    data["catalog"]["n_skus"] = 0
    probs = problems(write(tmp_path, data))
    assert len(probs) == 2, probs
    assert any(p.startswith("demand.orders_per_day: must be > 0") for p in probs)
    assert any(p.startswith("catalog.n_skus: must be > 0") for p in probs)


def test_many_bad_fields_all_reported(tmp_path: Path) -> None:
    data = base()
    data["demand"]["orders_per_dy"] = 1
    data["tiers"] = {"downgrade_acceptance": {"near_mid": 1.5}, "far": {"cutoff": "25:00"}}
    data["horizon"]["days"] = "two"
    probs = problems(write(tmp_path, data))
    heads = sorted(p.split(": ")[0] for p in probs)
    assert heads == [
        "demand.orders_per_dy",
        "horizon.days",
        "tiers.downgrade_acceptance.near_mid",
        "tiers.far.cutoff",
    ], probs


def test_cross_section_problems_all_reported(tmp_path: Path) -> None:
    data = base()
    data["policy"] = "top_m"
    data["router"]["name"] = "flw"
    data["lanes"] = {"overrides": [{"from": "NDC-SX", "to": "fdc-Hangzhou-001"}]}
    probs = problems(write(tmp_path, data))
    heads = sorted(p.split(": ")[0] for p in probs)
    assert heads == ["lanes.overrides[0].from", "policy", "router.name"], probs


# --------------------------------------------------------------------------- --set overrides
def test_override_changes_value(tmp_path: Path) -> None:
    p = write(tmp_path, base())
    sc = load_scenario(p, ["demand.orders_per_day=5000"])
    assert sc.demand.orders_per_day == 5000
    assert load_scenario(p).demand.orders_per_day == 500  # the file is unchanged


def test_override_values_are_yaml(tmp_path: Path) -> None:
    sc = load_scenario(
        write(tmp_path, base()),
        [
            "demand.tier_mix={near: 0.5, mid: 0.25, far: 0.25}",
            "router.lookahead=false",
            "policy=top_n(n=5)",
            "lanes.ndc_fdc.base_h=2",
        ],
    )
    assert (sc.demand.tier_mix.near, sc.demand.tier_mix.mid, sc.demand.tier_mix.far) == (0.5, 0.25, 0.25)
    assert sc.router.lookahead is False
    assert sc.policy == "top_n(n=5)"  # '=' inside the value is kept
    assert sc.lanes.ndc_fdc.base_h == 2  # a section absent from the file is created


def test_override_later_wins(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, base()), ["catalog.n_skus=10", "catalog.n_skus=20"])
    assert sc.catalog.n_skus == 20


@pytest.mark.parametrize(
    "path, value",
    [
        ("demand.orders_per_day", -5),
        ("tiers.downgrade_acceptance.near_mid", 1.5),
        ("tiers.far.cutoff", "noon"),
        ("router.name", "flw"),
        ("catalog.n_skus", "lots"),
        ("demand.orders_per_dy", 5),
    ],
)
def test_override_error_equals_file_error(tmp_path: Path, path: str, value: Any) -> None:
    data = base()
    set_in(data, path, value)
    from_file = problems(write(tmp_path, data, "bad.yaml"))
    from_set = problems(write(tmp_path, base(), "good.yaml"), [f"{path}={value}"])
    assert from_set == from_file
    assert from_set[0].startswith(f"{path}: ")


def test_override_quoted_time(tmp_path: Path) -> None:
    p = write(tmp_path, base())
    assert load_scenario(p, ["tiers.far.cutoff='22:00'"]).tiers.far.cutoff == "22:00"
    line = only_line(problems(p, ["tiers.far.cutoff='25:00'"]))
    assert line == "tiers.far.cutoff: time must be between 00:00 and 24:00, got '25:00'"


_SEXAGESIMAL = (
    "bug: an unquoted HH:MM from 10:00 up is read by PyYAML (YAML 1.1) as a base-60 integer "
    "(22:00 -> 1320), so the time is rejected with 'expected a string, got 1320' (and 25:00 never "
    "reaches the 00:00-24:00 rule); times before 10:00 stay strings"
)


def test_override_unquoted_time(tmp_path: Path) -> None:
    p = write(tmp_path, base())
    assert load_scenario(p, ["tiers.far.cutoff=22:00"]).tiers.far.cutoff == "22:00"


def test_override_unquoted_out_of_range_time_names_the_rule(tmp_path: Path) -> None:
    line = only_line(problems(write(tmp_path, base()), ["tiers.far.cutoff=25:00"]))
    assert line.startswith("tiers.far.cutoff: ")
    assert "00:00 and 24:00" in line


def test_unquoted_times_in_a_file(tmp_path: Path) -> None:
    text = yaml.safe_dump(base(), sort_keys=False)
    text += "tiers:\n  far: {cutoff: 22:00}\n  near: {service_hours: [08:00, 23:00]}\n"
    p = tmp_path / "times.yaml"
    p.write_text(text)
    sc = load_scenario(p)
    assert sc.tiers.far.cutoff == "22:00"
    assert tuple(sc.tiers.near.service_hours) == ("08:00", "23:00")


def test_override_list_index(tmp_path: Path) -> None:
    p = write(tmp_path, base())
    sc = load_scenario(p, ["nodes.ndcs.sites[0].lat=31.0", "geography.cities[1].zones=6"])
    assert sc.nodes.ndcs.sites[0].lat == 31.0
    assert sc.nodes.ndcs.sites[0].lon == 121.25
    assert sc.geography.cities[1].zones == 6
    assert load_scenario(p, ["nodes.ndcs.sites.0.lat=30.5"]).nodes.ndcs.sites[0].lat == 30.5


def test_override_bad_value_in_list_item(tmp_path: Path) -> None:
    line = only_line(problems(write(tmp_path, base()), ["nodes.ndcs.sites[0].lat=200"]))
    assert line.startswith("nodes.ndcs.sites[0].lat: must be <= 90")


def test_override_index_out_of_range(tmp_path: Path) -> None:
    line = only_line(problems(write(tmp_path, base()), ["nodes.ndcs.sites[5].lat=31.0"]))
    assert line.startswith("nodes.ndcs.sites[5]")
    assert "out of range" in line and "1 item" in line


@pytest.mark.parametrize(
    "item, expected",
    [
        ("demand.orders_per_day", "expected path=value"),
        ("=5", "expected path=value"),
        ("demand..orders_per_day=5", "demand..orders_per_day"),
        ("nodes.ndcs.sites[x].lat=1", "sites[x]"),
    ],
    ids=["no-equals", "no-path", "empty-segment", "bad-index"],
)
def test_malformed_override(tmp_path: Path, item: str, expected: str) -> None:
    line = only_line(problems(write(tmp_path, base()), [item]))
    assert line.startswith("--set "), line
    assert expected in line


def test_malformed_overrides_all_reported() -> None:
    with pytest.raises(ScenarioError) as info:
        apply_overrides({"demand": {}}, ["nope", "also.nope", "demand.orders_per_day=5"])
    assert len(info.value.problems) == 2
    assert all(p.startswith("--set ") for p in info.value.problems)


def test_apply_overrides_on_a_mapping() -> None:
    data = {"a": {"b": 1, "l": [{"x": 1}, {"x": 2}]}}
    out = apply_overrides(data, ["a.b=2", "a.l[1].x=[1, 2]", "a.new.deep=yes", "top=text"])
    assert out == {"a": {"b": 2, "l": [{"x": 1}, {"x": [1, 2]}], "new": {"deep": True}}, "top": "text"}


# --------------------------------------------------------------------------- round trip, hash
def _roundtrip(sc: Any, directory: Path) -> Any:
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / "resolved.yaml"
    p.write_text(to_yaml(sc), encoding="utf-8")
    return load_scenario(p)


def test_resolved_scenario_round_trips(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, base()))
    again = _roundtrip(sc, tmp_path / "elsewhere")
    assert to_dict(again) == to_dict(sc)
    assert scenario_hash(again) == scenario_hash(sc)
    # resolution filled what later stages need
    hz = next(c for c in again.geography.cities if c.name == "Hangzhou")
    assert hz.lat is not None and hz.population is not None and hz.zones == 10 and hz.radius_km == 12


def test_csv_scenario_round_trips_from_another_directory(tmp_path: Path) -> None:
    p = _csv_scenario(
        tmp_path,
        "id,kind,city,lat,lon,riders\nNDC-A,ndc,Shanghai,31.3,121.2,\nS1,store,Hangzhou,30.25,120.15,9\n",
    )
    sc = load_scenario(p)
    again = _roundtrip(sc, tmp_path / "other" / "dir")
    assert to_dict(again) == to_dict(sc)
    assert scenario_hash(again) == scenario_hash(sc)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_scenarios_round_trip(tmp_path: Path, path: Path) -> None:
    sc = load_scenario(path)
    again = _roundtrip(sc, tmp_path)
    assert to_dict(again) == to_dict(sc)
    assert scenario_hash(again) == scenario_hash(sc)


def test_hash_changes_with_any_field(tmp_path: Path) -> None:
    p = write(tmp_path, base())
    h = scenario_hash(load_scenario(p))
    assert len(h) == 64
    assert scenario_hash(load_scenario(p)) == h
    assert scenario_hash(load_scenario(p, ["demand.orders_per_day=501"])) != h
    assert scenario_hash(load_scenario(p, ["seed=8"])) != h


def test_extends_via_set_is_followed_or_rejected(tmp_path: Path) -> None:
    write(tmp_path, base(), "other.yaml")
    p = write(tmp_path, base())
    try:
        sc = load_scenario(p, ["extends=other.yaml"])
    except ScenarioError:
        return
    assert sc.extends is None
    assert to_dict(_roundtrip(sc, tmp_path / "rt")) == to_dict(sc)


# --------------------------------------------------------------------------- extends
def test_extends_overrides_one_field(tmp_path: Path) -> None:
    write(tmp_path, base(), "base.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\ndemand:\n  orders_per_day: 777\n")
    sc = load_scenario(child)
    parent = load_scenario(tmp_path / "base.yaml")
    assert sc.name == "child"
    assert sc.demand.orders_per_day == 777
    # everything else comes from the base, including siblings in the same section
    assert sc.demand.tier_mix == parent.demand.tier_mix
    assert sc.demand.day_cv == parent.demand.day_cv
    assert sc.catalog == parent.catalog and sc.nodes == parent.nodes
    assert sc.extends is None
    d1, d2 = to_dict(sc), to_dict(parent)
    assert {k for k in d1 if d1[k] != d2[k]} == {"name", "demand"}


def test_extends_is_relative_to_the_child(tmp_path: Path) -> None:
    write(tmp_path, base(), "base.yaml")
    (tmp_path / "sub").mkdir()
    child = tmp_path / "sub" / "child.yaml"
    child.write_text("extends: ../base.yaml\ncatalog: {n_skus: 20}\n")
    sc = load_scenario(child)
    assert sc.catalog.n_skus == 20 and sc.name == "errors_base"


def test_extends_chain_and_child_error_named(tmp_path: Path) -> None:
    write(tmp_path, base(), "base.yaml")
    (tmp_path / "mid.yaml").write_text("extends: base.yaml\nseed: 99\n")
    (tmp_path / "leaf.yaml").write_text("extends: mid.yaml\ncatalog: {n_skus: 0}\n")
    line = only_line(problems(tmp_path / "leaf.yaml"))
    assert line.startswith("catalog.n_skus: must be > 0")
    assert load_scenario(tmp_path / "leaf.yaml", ["catalog.n_skus=5"]).seed == 99


def test_extends_circular(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    line = only_line(problems(tmp_path / "a.yaml"))
    assert line.startswith("extends")
    assert "circular" in line


def test_extends_itself(tmp_path: Path) -> None:
    (tmp_path / "self.yaml").write_text("extends: self.yaml\nname: a\n")
    line = only_line(problems(tmp_path / "self.yaml"))
    assert "circular" in line


def test_extends_missing_parent(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text("extends: gone.yaml\nname: a\n")
    line = only_line(problems(tmp_path / "child.yaml"))
    assert "gone.yaml" in line and "not found" in line


def test_extends_not_a_string(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text("extends: [a.yaml]\nname: a\n")
    line = only_line(problems(tmp_path / "child.yaml"))
    assert line.startswith("extends: ")
