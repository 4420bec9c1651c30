"""The money ``cost_optimal`` trades off, from the scenario's cost model (built once per run).

Per order served at a node's own tier (the variable costs the router sees, DESIGN.md section 6):
- store (near): picking ``picker_per_hour x (pick_base_s + pick_per_line_s x mean_lines)`` plus a
  rider trip over the mean road km of the store's catchment (platform: ``base + per_km x km``;
  fleet: ``per_hour x 2 km / speed``), divided by ``rider_batch`` orders per trip;
- FDC (mid): picking plus a van stop and its share of the tour, ``per_stop + per_km x 2 km /
  van_orders_per_tour`` (km: the FDC's mean catchment distance);
- NDC (far): ``ndc_handling_per_order + parcel per_order`` of the lane to the node's city (the
  cheapest NDC).
An order a store cannot serve gets the router's downgrade offers: mid at its city's FDC
(accepted with ``near_mid``) or far (``near_far``); an FDC's order gets far (``mid_far``). A
declined offer is a lost sale, ``margin_rate x order value + goodwill``. ``fallback_tier`` names
each offer's tier and ``tier_eligible`` (the catalog's) which SKUs may take it (fresh never goes
far: its only fallback is the FDC, else the sale is lost). ``other_lines`` is the mean number of
other lines in the order of a given line, E[L^2] / E[L] - 1 under the basket's line-count
distribution (size-biased: a line sits in a long order more often; 2 x mean_lines - 2 for the
uncapped geometric), so a lost order's value is about ``qty_per_line x (value_s + other_lines x
mean unit value)``. Transfer per unit along the
supply path NDC -> (FDC ->) node: the lanes' per-unit handling plus their truck fixed cost per
litre of a full truck (a lower bound: partly filled trucks cost more per unit).

``transport_cny`` (N,) overrides the transport part of ``serve_cny`` — e.g. the engine's learned
mean realised transport per order of each node, which includes rider batching and van tours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

from sim.assumptions import DEFAULT_FDC_KM, DEFAULT_NDC_FDC_TRUCK_CNY, DEFAULT_STORE_KM, VAN_ORDERS_PER_TOUR
from sim.demand.basket_model import line_count_distribution
from sim.demand.forecast import catchment
from sim.io.scenario.models import Acceptance, Basket, Costs, FdcCapacity, Lanes, StoreCapacity
from sim.policies.base import PolicyCosts
from sim.units import HOUR
from sim.vocab import NodeKind, Tier

if TYPE_CHECKING:
    from sim.catalog_model import Catalog
    from sim.io.scenario.models import Scenario
    from sim.network.build import Network

NDC, FDC, STORE = NodeKind.NDC, NodeKind.FDC, NodeKind.STORE
MID, FAR = Tier.MID, Tier.FAR


def _mean_km(net: Network, kind: int) -> np.ndarray:
    """(N,) demand-weighted mean road km from each node of `kind` to the zones of its catchment."""
    c = catchment(net, kind)
    m = c >= 0
    z = np.flatnonzero(m)
    w = np.bincount(c[m], weights=net.zone_weight[m], minlength=net.n_nodes)
    km = np.bincount(c[m], weights=net.zone_weight[m] * net.road_km[z, c[m]], minlength=net.n_nodes)
    out = np.divide(km, w, out=np.zeros(net.n_nodes), where=w > 0)
    for n in np.flatnonzero((net.node_kind == kind) & (w <= 0)):  # no catchment: mean over covered zones
        cov = net.covers()[:, n]
        out[n] = float(net.road_km[cov, n].mean()) if cov.any() else 0.0
    return out


def _far_cost(sc: Scenario, net: Network) -> np.ndarray:
    """(C,) cheapest far cost per order into each city (NDC handling + parcel)."""
    ndcs = np.flatnonzero(net.node_kind == NDC)
    parcel = np.full((max(ndcs.size, 1), len(net.city_names)), sc.costs.parcel.per_order_cny)
    for lane in sc.costs.parcel.by_lane:
        if lane.ndc in net.node_ids and lane.city in net.city_names:
            row = int(np.flatnonzero(ndcs == net.node_ids.index(lane.ndc))[0])
            parcel[row, net.city_names.index(lane.city)] = lane.per_order_cny
    return cast(np.ndarray, sc.costs.ndc_handling_per_order_cny + parcel.min(axis=0))


def policy_costs(
    sc: Scenario,
    net: Network,
    cat: Catalog,
    *,
    transport_cny: np.ndarray | None = None,
    rider_batch: float = 1.0,
    van_orders_per_tour: float = VAN_ORDERS_PER_TOUR,
) -> PolicyCosts:
    """PolicyCosts of a scenario (see the module docstring for every formula)."""
    if rider_batch < 1 or van_orders_per_tour < 1:
        raise ValueError("rider_batch and van_orders_per_tour must be >= 1")
    c, kind, N = sc.costs, net.node_kind, net.n_nodes
    lines = float(sc.demand.basket.mean_lines)
    caps = net.node_capacity
    handling = np.zeros(N)
    transport = np.zeros(N)
    km_store, km_fdc = _mean_km(net, STORE), _mean_km(net, FDC)
    far = _far_cost(sc, net)
    for n in range(N):
        cap = caps[n]
        if kind[n] == STORE:
            handling[n] = c.picker_per_hour_cny * (cap.pick_base_s + cap.pick_per_line_s * lines) / HOUR
            km = km_store[n]
            r = c.riders
            trip = (
                r.base_per_trip_cny + r.per_km_cny * km
                if r.model == "platform"
                else r.per_hour_cny * 2.0 * km / cap.rider_speed_kmh
            )
            transport[n] = trip / rider_batch
        elif kind[n] == FDC:
            handling[n] = c.picker_per_hour_cny * (cap.pick_base_s + cap.pick_per_line_s * lines) / HOUR
            transport[n] = c.van.per_stop_cny + c.van.per_km_cny * 2.0 * km_fdc[n] / van_orders_per_tour
        else:
            handling[n] = c.ndc_handling_per_order_cny
            transport[n] = far[net.node_city[n]] - c.ndc_handling_per_order_cny
    if transport_cny is not None:
        t = np.asarray(transport_cny, float)
        transport = np.where(np.isfinite(t) & (t > 0), t, transport)
    serve = handling + transport

    acc = sc.tiers.downgrade_acceptance
    fallback = np.full((N, 2), np.inf)
    accept = np.zeros((N, 2))
    tier = np.full((N, 2), -1, np.int64)
    fdcs = np.flatnonzero(kind == FDC)
    for n in range(N):
        far_n = float(far[net.node_city[n]])
        if kind[n] == STORE:
            sup = int(net.supplier[n])
            local = fdcs[net.node_city[fdcs] == net.node_city[n]]
            f = sup if sup >= 0 and kind[sup] == FDC else (int(local[0]) if local.size else -1)
            if f >= 0:
                fallback[n, 0], accept[n, 0], tier[n, 0] = serve[f], acc.near_mid, MID
            fallback[n, 1], accept[n, 1], tier[n, 1] = far_n, acc.near_far, FAR
        elif kind[n] == FDC:
            fallback[n, 0], accept[n, 0], tier[n, 0] = far_n, acc.mid_far, FAR

    unit = np.zeros(N)
    litre = np.zeros(N)
    per_litre = np.divide(
        net.truck_fixed_cny, net.truck_capacity_m3 * 1000.0, out=np.zeros(N), where=net.truck_capacity_m3 > 0
    )
    for n in range(N):  # walk the supply path to the NDC
        m, hops = n, 0
        while net.supplier[m] >= 0 and hops < N:
            unit[n] += net.truck_per_unit_cny[m]
            litre[n] += per_litre[m]
            m, hops = int(net.supplier[m]), hops + 1
    return PolicyCosts(
        serve_cny=serve,
        fallback_cny=fallback,
        fallback_accept=accept,
        lost_margin_rate=float(c.lost_sale.margin_rate),
        lost_goodwill_cny=float(c.lost_sale.goodwill_cny),
        holding_per_day=float(c.holding_rate_per_year) / 365.0,
        shelf_life_days=np.asarray(cat.shelf_life_s, float) / 86400.0,
        transfer_unit_cny=unit,
        transfer_litre_cny=litre,
        qty_per_line=float(sc.demand.basket.mean_qty),
        other_lines=other_lines(lines, int(sc.demand.basket.max_lines), cat.n_skus),
        fallback_tier=tier,
        tier_eligible=np.asarray(cat.tier_eligible, bool),
    )


def other_lines(mean_lines: float, max_lines: int, n_skus: int) -> float:
    """Mean number of other lines in the order of a given line: E[L^2] / E[L] - 1 (size-biased)."""
    cap = max(min(int(max_lines), int(n_skus)), 1)
    p = line_count_distribution(mean_lines, cap)
    n = np.arange(1, cap + 1)
    return float((p * n * n).sum() / (p * n).sum() - 1.0)


def default_costs(node_kind: np.ndarray, supplier: np.ndarray, n_skus: int) -> PolicyCosts:
    """Costs from the scenario schema's defaults (each cites parameters.md) when the engine passes none;
    the network-dependent figures are ``sim.assumptions``' stand-ins.

    Store: picking (75 + 12 x 1.6) s at 35 CNY/h + a 3.0 + 0.6 x 2.5 km rider trip = 5.4 CNY; FDC:
    (60 + 10 x 1.6) s picking + 4 CNY stop + 2.5 x 2 x 8 km / 10 orders = 5.5 CNY; far: 1.5 + 8 CNY.
    Trucks: 0.05 CNY/unit per lane; 600 CNY (in city) or 2,500 CNY (NDC -> FDC) per 30 m3 truck.
    Baskets: 1.6 lines (geometric, capped at 12) of 1.3 units; every SKU eligible for every tier.
    """
    N = node_kind.size
    c, st, fd, basket = Costs(), StoreCapacity(), FdcCapacity(), Basket()
    lines, acc, lane = basket.mean_lines, Acceptance(), Lanes().fdc_store
    pick_store = c.picker_per_hour_cny * (st.pick_base_s + st.pick_per_line_s * lines) / HOUR
    pick_fdc = c.picker_per_hour_cny * (fd.pick_base_s + fd.pick_per_line_s * lines) / HOUR
    far = c.ndc_handling_per_order_cny + c.parcel.per_order_cny
    serve = np.where(
        node_kind == STORE,
        pick_store + c.riders.base_per_trip_cny + c.riders.per_km_cny * DEFAULT_STORE_KM,
        np.where(
            node_kind == FDC,
            pick_fdc + c.van.per_stop_cny + c.van.per_km_cny * 2 * DEFAULT_FDC_KM / VAN_ORDERS_PER_TOUR,
            far,
        ),
    )
    fallback = np.full((N, 2), np.inf)
    accept = np.zeros((N, 2))
    store, fdc = node_kind == STORE, node_kind == FDC
    has_fdc = store & (supplier >= 0) & (node_kind[np.maximum(supplier, 0)] == FDC)
    tier = np.full((N, 2), -1, np.int64)
    fallback[has_fdc, 0], accept[has_fdc, 0], tier[has_fdc, 0] = (
        serve[fdc].mean() if fdc.any() else np.inf,
        acc.near_mid,
        MID,
    )
    fallback[store, 1], accept[store, 1], tier[store, 1] = far, acc.near_far, FAR
    fallback[fdc, 0], accept[fdc, 0], tier[fdc, 0] = far, acc.mid_far, FAR
    lane_unit = np.where(supplier >= 0, lane.per_unit_cny, 0.0)
    lane_litre = np.where(
        node_kind == FDC, DEFAULT_NDC_FDC_TRUCK_CNY, np.where(supplier >= 0, lane.fixed_cny, 0.0)
    ) / (lane.truck_capacity_m3 * 1000.0)
    unit, litre = lane_unit.copy(), lane_litre.copy()
    up = np.flatnonzero((supplier >= 0) & (node_kind[np.maximum(supplier, 0)] == FDC))
    unit[up] += lane_unit[supplier[up]]
    litre[up] += lane_litre[supplier[up]]
    return PolicyCosts(
        serve_cny=serve,
        fallback_cny=fallback,
        fallback_accept=accept,
        lost_margin_rate=c.lost_sale.margin_rate,
        lost_goodwill_cny=c.lost_sale.goodwill_cny,
        holding_per_day=c.holding_rate_per_year / 365.0,
        shelf_life_days=np.full(n_skus, np.inf),
        transfer_unit_cny=unit,
        transfer_litre_cny=litre,
        qty_per_line=basket.mean_qty,
        other_lines=other_lines(lines, basket.max_lines, n_skus),
        fallback_tier=tier,
    )
