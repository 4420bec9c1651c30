"""Network build: determinism, zone weights, placement, supply lanes, coverage recomputed independently."""

from __future__ import annotations

import numpy as np
import pytest

from sim.io.scenario import load_scenario
from sim.network import FDC, NDC, STORE, build_network
from tests.conftest import SCENARIOS


def great_circle(lat1, lon1, lat2, lon2):
    """Independent haversine (not sim.units) for cross-checking."""
    r = 6371.0088
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def net(toy):
    return build_network(toy)


def test_build_is_deterministic_and_replication_free(toy, net):
    again = build_network(toy)
    for field in ("zone_lat", "zone_lon", "zone_weight", "node_lat", "node_lon", "road_km", "supplier"):
        assert np.array_equal(getattr(net, field), getattr(again, field)), field
    assert net.node_ids == again.node_ids


def test_different_seed_moves_zones(net):
    other = build_network(load_scenario(SCENARIOS / "toy.yaml", ["seed=8"]))
    assert not np.allclose(other.zone_lat, net.zone_lat)


def test_zone_weights_follow_city_demand(toy, net):
    assert net.zone_weight.sum() == pytest.approx(1.0)
    weights = np.array([c.demand_weight for c in toy.geography.cities])
    for c in range(len(net.city_names)):
        assert net.zone_weight[net.zone_city == c].sum() == pytest.approx(weights[c] / weights.sum())


def test_zones_lie_within_their_city_and_cluster_towards_the_centre(toy, net):
    for c, city in enumerate(toy.geography.cities):
        m = net.zone_city == c
        r = great_circle(city.lat, city.lon, net.zone_lat[m], net.zone_lon[m])
        assert m.sum() == city.zones
        assert r.max() <= city.radius_km * 1.001
    hz = net.zone_city == net.city_names.index("Hangzhou")
    r = great_circle(net.city_lat[0], net.city_lon[0], net.zone_lat[hz], net.zone_lon[hz])
    # uniform on a disc has mean radius 2R/3; the monocentric density must be well below that
    assert r.mean() < 0.6 * toy.geography.cities[0].radius_km


def test_counts_and_ids(toy, net):
    assert (net.node_kind == NDC).sum() == 1
    assert (net.node_kind == FDC).sum() == 1
    assert (net.node_kind == STORE).sum() == 5
    assert len(set(net.node_ids)) == net.n_nodes
    assert "store-Hangzhou-001" in net.node_ids
    ndc = net.node_ids.index("NDC-SH")
    assert (net.node_lat[ndc], net.node_lon[ndc]) == (31.35, 121.25)


def test_kmeans_placement_beats_random_placement(toy, net):
    """Placed stores are closer to demand than stores dropped at random zones (weighted mean distance)."""
    hz = np.flatnonzero(net.zone_city == net.city_names.index("Hangzhou"))
    stores = np.flatnonzero(net.node_kind == STORE)
    w = net.zone_weight[hz] / net.zone_weight[hz].sum()

    def cost(lat, lon):
        d = great_circle(net.zone_lat[hz][:, None], net.zone_lon[hz][:, None], lat[None, :], lon[None, :])
        return float((d.min(axis=1) * w).sum())

    placed = cost(net.node_lat[stores], net.node_lon[stores])
    rng = np.random.default_rng(0)
    random_costs = [
        cost(net.zone_lat[hz][p], net.zone_lon[hz][p])
        for p in (rng.choice(len(hz), size=len(stores), replace=False) for _ in range(200))
    ]
    assert placed < np.percentile(random_costs, 10)


def test_road_distance_is_great_circle_times_circuity(toy, net):
    z, n = 3, 4
    gc = great_circle(net.zone_lat[z], net.zone_lon[z], net.node_lat[n], net.node_lon[n])
    assert net.road_km[z, n] == pytest.approx(gc * toy.geography.circuity, rel=1e-5)


def test_supply_rule_and_lead_times(toy, net):
    ndc, fdc = net.node_ids.index("NDC-SH"), int(np.flatnonzero(net.node_kind == FDC)[0])
    assert net.supplier[ndc] == -1 and net.supplier[fdc] == ndc
    assert all(net.supplier[s] == fdc for s in np.flatnonzero(net.node_kind == STORE))
    km = great_circle(net.node_lat[ndc], net.node_lon[ndc], net.node_lat[fdc], net.node_lon[fdc]) * 1.32
    lane = toy.lanes.ndc_fdc
    assert net.lead_time_s[fdc] == pytest.approx((lane.base_h + km / lane.truck_speed_kmh) * 3600, rel=1e-5)
    assert net.truck_fixed_cny[fdc] == pytest.approx(lane.fixed_cny + lane.per_km_cny * km, rel=1e-5)
    edges = {(u, v) for u, v, d in net.graph.edges(data=True) if d["kind"] == "lane"}
    assert edges == {
        (net.node_ids[net.supplier[i]], net.node_ids[i]) for i in np.flatnonzero(net.supplier >= 0)
    }


def test_store_without_local_fdc_is_supplied_by_the_ndc():
    sc = load_scenario(SCENARIOS / "toy.yaml", ["nodes.fdcs.count_per_city.Hangzhou=0"])
    net = build_network(sc)
    ndc = net.node_ids.index("NDC-SH")
    assert all(net.supplier[s] == ndc for s in np.flatnonzero(net.node_kind == STORE))


def test_lane_override_sets_supplier_and_figures():
    sc = load_scenario(
        SCENARIOS / "toy.yaml",
        [
            "nodes.fdcs.count_per_city.Hangzhou=0",
            "nodes.fdcs.sites=[{id: F1, city: Hangzhou}, {id: F2, city: Hangzhou, lat: 30.2, lon: 120.1}]",
            "lanes.overrides=[{from: F2, to: store-Hangzhou-001, lead_time_h: 2.5, fixed_cny: 100}]",
        ],
    )
    net = build_network(sc)
    s = net.node_ids.index("store-Hangzhou-001")
    assert net.node_ids[net.supplier[s]] == "F2"
    assert net.lead_time_s[s] == pytest.approx(2.5 * 3600) and net.truck_fixed_cny[s] == 100


def test_coverage_recomputed_independently(toy, net):
    cov = net.coverage()
    for tier, kind in (("near", STORE), ("mid", FDC), ("far", NDC)):
        nodes = np.flatnonzero(net.node_kind == kind)
        d = great_circle(
            net.zone_lat[:, None],
            net.zone_lon[:, None],
            net.node_lat[nodes][None, :],
            net.node_lon[nodes][None, :],
        )
        reach = np.array([net.reach_km[n] for n in nodes])
        ok = (d <= reach[None, :] + 1e-6).any(axis=1)
        assert cov[tier]["all"] == pytest.approx(net.zone_weight[ok].sum(), abs=1e-9), tier
    assert cov["far"]["all"] == pytest.approx(1.0)
    assert 0.2 < cov["near"]["all"] < 1.0  # five stores of 3 km cannot cover a 12 km city


def test_service_edges_match_coverage(net):
    n_edges = sum(1 for *_, d in net.graph.edges(data=True) if d["kind"] == "service")
    assert n_edges == int(net.covers().sum())


def test_far_transit_bands():
    sc = load_scenario(
        SCENARIOS / "toy.yaml", ["lanes.far.bands=[{max_km: 100, days: 1}, {max_km: null, days: 2}]"]
    )
    net = build_network(sc)
    ndc = net.node_ids.index("NDC-SH")
    hz, sh = net.city_names.index("Hangzhou"), net.city_names.index("Shanghai")
    assert net.far_transit_days[ndc, sh] == 1 and net.far_transit_days[ndc, hz] == 2
