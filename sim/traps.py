"""Warnings for scenarios that are valid but probably not what the planner meant (``shangou validate``).

Each warning is one line ``path: what is odd, the figures, what to change``; none changes a run. They
catch the traps a new user fell into (issue #16):

- a city whose share of demand is ~0 (< ``MIN_CITY_SHARE``) though it is not an explicit ``demand_weight: 0``
  host city — ``demand_weight`` is in the same unit as ``population`` (people), so ``demand_weight: 1``
  next to cities weighted by their millions of people gets no orders;
- a forward node that serves no orders: less than ``MIN_NODE_ORDERS`` a day of demand within its reach (a
  store's rider radius, an FDC's van radius; at ``demand.orders_per_day``), and for an FDC no such store
  that it supplies;
- fixed costs above half the estimated total cost (a network sized for far more orders per day);
- rider headcount that costs nothing (``costs.riders.model: platform`` pays per trip) while staffing is
  varied (``staffing_warnings``, used by ``sweep`` and ``validate --set``).

The network checks build the network (k-means placement, distance matrices), so ``validate`` runs them
only up to ``MAX_NETWORK_CELLS`` zone x node pairs; ``shangou network`` shows coverage for any size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

MIN_CITY_SHARE = 0.005  # a city with less than 0.5 % of the demand weight is flagged (unless weight 0)
MIN_NODE_ORDERS = 1.0  # a forward node with less than one order a day of demand within reach serves no one
MAX_NETWORK_CELLS = 250_000  # zone x node pairs up to which validate builds the network for its checks
STAFF_PATH_WORDS = ("riders",)  # a varied path containing one of these varies rider headcount


def city_warnings(sc: Any) -> list[str]:
    """Cities with ~0 demand (a relative weight far below the others')."""
    cities = sc.geography.cities
    weights = np.array([float(c.demand_weight or 0.0) for c in cities])
    total = weights.sum()
    if total <= 0:
        return []
    out = []
    hosts = {s.city for _, g in sc.nodes.groups() if _ != "ndc" for s in g.sites} | {
        c for k, g in sc.nodes.groups() if k != "ndc" for c, n in g.count_per_city.items() if n > 0
    }
    for i, c in enumerate(cities):
        share = weights[i] / total
        if 0 < share < MIN_CITY_SHARE or (share == 0 and c.name in hosts):
            out.append(
                f"geography.cities[{i}].demand_weight: {c.name} gets {share:.2%} of the orders "
                f"(demand_weight {weights[i]:g} against a total of {total:,.0f}; it is in the unit of "
                f"population, people, which is the default weight of the other cities)"
                + ("; its forward nodes will serve no one" if c.name in hosts else "")
            )
    return out


def node_warnings(sc: Any, net: Any) -> list[str]:
    """Forward nodes with no demand within reach (and, for an FDC, no store with demand to supply)."""
    from sim.network import FDC, STORE

    cov = net.covers()
    expected = (cov * net.zone_weight[:, None]).sum(axis=0) * float(
        sc.demand.orders_per_day
    )  # orders/day in reach
    serves = expected >= MIN_NODE_ORDERS
    useful = serves.copy()
    for f in np.flatnonzero(net.node_kind == FDC):
        useful[f] |= bool(serves[(net.supplier == f) & (net.node_kind == STORE)].any())
    out = []
    for n in np.flatnonzero(~useful & np.isin(net.node_kind, (FDC, STORE))):
        kind = "store" if net.node_kind[n] == STORE else "FDC"
        city = net.city_names[net.node_city[n]]
        out.append(
            f"nodes: {kind} {net.node_ids[n]} serves no orders: {expected[n]:.2g} orders/day of demand within "
            f"its {net.reach_km[n]:g} km reach (city {city}); check its city's demand_weight, its position "
            "or its radius"
        )
    return out


def estimated_variable_cost_per_order(sc: Any) -> float:
    """A rough variable cost per order (CNY): handling plus transport by the tier mix, no stock costs.

    near: a store pick (base + lines x per line at the picker wage) and a rider trip (platform: base + per km
    over 2/3 of the radius x circuity; fleet: the rider-hours of that trip at its speed); mid: an FDC pick and
    a van stop with its share of the tour; far: NDC handling plus the parcel.
    """
    c, mix, st, fd = sc.costs, sc.demand.tier_mix, sc.nodes.stores.capacity, sc.nodes.fdcs.capacity
    lines = sc.demand.basket.mean_lines
    wage = c.picker_per_hour_cny / 3600.0
    km = st.rider_radius_km * 2.0 / 3.0 * sc.geography.circuity
    if c.riders.model == "platform":
        ride = c.riders.base_per_trip_cny + c.riders.per_km_cny * km
    else:
        ride = c.riders.per_hour_cny * (2.0 * km / st.rider_speed_kmh + 0.1)
    near = (st.pick_base_s + st.pick_per_line_s * lines) * wage + ride
    mid = (fd.pick_base_s + fd.pick_per_line_s * lines) * wage + c.van.per_stop_cny + c.van.per_km_cny * 2.0
    far = c.ndc_handling_per_order_cny + c.parcel.per_order_cny
    return float(mix.near * near + mix.mid * mid + mix.far * far)


def fixed_cost_warnings(sc: Any) -> list[str]:
    """Fixed costs above half of the estimated total at the scenario's orders per day."""
    f = sc.costs.fixed
    n = {k: len(g.sites) + sum(g.count_per_city.values()) for k, g in sc.nodes.groups()}
    fixed = n["store"] * f.store_per_day_cny + n["fdc"] * f.fdc_per_day_cny + n["ndc"] * f.ndc_per_day_cny
    orders = float(sc.demand.orders_per_day)
    if fixed <= 0 or orders <= 0:
        return []
    per_order = fixed / orders
    variable = estimated_variable_cost_per_order(sc)
    share = per_order / (per_order + variable)
    if share <= 0.5:
        return []
    return [
        f"costs.fixed: fixed costs of {fixed:,.0f} CNY/day ({n['store']} stores x {f.store_per_day_cny:g}, "
        f"{n['fdc']} FDCs x {f.fdc_per_day_cny:g}, {n['ndc']} NDCs x {f.ndc_per_day_cny:g}) are ~{share:.0%} of "
        f"the estimated cost at {orders:,.0f} orders/day ({per_order:.1f} CNY/order fixed against ~{variable:.1f} "
        "variable): sized for a larger network? Scale costs.fixed.* to your sites or check demand.orders_per_day"
    ]


def staffing_warnings(sc: Any, paths: Iterable[str]) -> list[str]:
    """Rider headcount varied while it costs nothing (platform pay is per trip)."""
    varied = [p for p in paths if any(w in p for w in STAFF_PATH_WORDS) and not p.startswith("costs.")]
    if not varied or sc.costs.riders.model != "platform":
        return []
    return [
        f"costs.riders.model: platform pays riders per trip, so the rider headcount you vary ({', '.join(varied)}) "
        "costs nothing and more riders always look better; set costs.riders.model=fleet (per_hour_cny) to "
        "price headcount"
    ]


def scenario_warnings(sc: Any, *, network: bool | None = None, varied: Iterable[str] = ()) -> list[str]:
    """Every warning for a resolved scenario; `network` None = build it only when small (MAX_NETWORK_CELLS)."""
    out = city_warnings(sc) + fixed_cost_warnings(sc) + staffing_warnings(sc, varied)
    if network is None:
        zones = sum(c.zones or sc.geography.zones_per_city for c in sc.geography.cities)
        network = zones * sc.nodes.count() <= MAX_NETWORK_CELLS
    if network:
        from sim.network import build_network

        out += node_warnings(sc, build_network(sc))
    return out
