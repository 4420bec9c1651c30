"""Where to open sites: a facility-location model over the scenario's demand zones, solved exactly.

The model (uncapacitated, exactly K open among M candidates of one kind — forward warehouses or
stores): zone z sends d_z orders a day of the kind's own tier (orders/day x zone weight x the
tier's share of the mix: mid for FDCs, near for stores). Served from an open candidate j within
its reach (straight-line reach x circuity, as ``Network.covers``) it costs c_zj per order; served
by no candidate it gets the tier's fallback f_z: the customer is offered the next slower tier
(accepted with the scenario's downgrade probability; a far offer costs NDC handling + parcel, a
mid offer a van stop and its tour share at half the city radius) or is lost (margin on the mean
order value + goodwill). Opening j costs its fixed cost per day F_j
(``costs.fixed`` of the kind, or the candidate's own). Minimise

    sum_j F_j y_j + sum_z d_z [ f_z + sum_j (c_zj - f_z) x_zj ]
    s.t. sum_j x_zj <= 1,  x_zj <= y_j,  sum_j y_j = K,  x_zj = 0 out of reach or where c_zj >= f_z.

Per-order service cost, from the scenario's cost model: FDC (mid) ``van per_stop + van per_km x 2
road km / stops_per_tour`` (a stop and its share of the out-and-back tour); store (near) a rider
trip ``(base + per_km x road km) / rider_max_batch`` under platform pay or ``per_hour x 2 road km /
speed / batch`` under fleet pay. Picking and the fixed cost of the existing network are the same for
every choice and left out; so is what an FDC saves by replenishing stores (the simulation counts
it). The model is the proposal; the simulation of each proposal (with stock,
capacity, queues and common random numbers) is the verdict.

CP-SAT solves it exactly on costs in integer fen (0.01 CNY), one worker, a fixed seed and a
deterministic time limit (the proposal is then the best found, reported as not proven optimal).
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ScenarioError
from sim.network.geo import distance_matrix_km

KIND_TIER = {"fdc": "mid", "store": "near"}
FALLBACK = {"fdc": ("mid_far", "far"), "store": ("near_mid", "mid")}  # (downgrade pair, tier offered)
STOPS_PER_TOUR = 10.0  # a van wave's stops per tour in the location model's van cost share (assumption)
SCALE = 100  # costs in fen for CP-SAT


@dataclass(frozen=True)
class Candidate:
    id: str
    city: str
    lat: float
    lon: float
    fixed_cny_per_day: float | None = None  # None: the kind's costs.fixed


@dataclass(frozen=True)
class LocationModel:
    demand: np.ndarray  # (Z,) orders/day of the kind's tier
    cost: np.ndarray  # (Z, M) CNY per order, inf out of reach
    fallback: np.ndarray  # (Z,) CNY per order served by no candidate
    fixed: np.ndarray  # (M,) CNY per day

    def total(self, open_: np.ndarray) -> float:
        """Cost per day of opening the candidates in `open_` (indices), zones served at their best option."""
        best = self.fallback.copy()
        if len(open_):
            best = np.minimum(best, self.cost[:, open_].min(axis=1))
        return float(self.fixed[open_].sum() + (self.demand * best).sum())


def read_candidates(path: Path, cities: set[str]) -> list[Candidate]:
    """CSV ``id,city,lat,lon[,fixed_cost_cny_per_day]``; ScenarioError naming file, row and column."""
    from sim.io.yaml_loader import MAX_CSV_BYTES, read_text

    text = read_text(
        path, f"--candidates {path}", MAX_CSV_BYTES
    )  # bounded, regular file, UTF-8 or a clear error
    rows = list(csv.DictReader(text.splitlines()))
    need = ("id", "city", "lat", "lon")
    header = list(rows[0].keys()) if rows else next(csv.reader(text.splitlines()), [])
    missing = [c for c in need if c not in header]
    if missing:
        raise ScenarioError(f"--candidates {path}: missing column {missing[0]!r} (need {', '.join(need)})")
    out: list[Candidate] = []
    seen: set[str] = set()
    for i, r in enumerate(rows, start=2):

        def num(col: str, lo: float, hi: float, row: dict[str, Any] = r, line: int = i) -> float:
            try:
                v = float(row[col])
            except (TypeError, ValueError):
                raise ScenarioError(
                    f"--candidates {path}: row {line}, column {col}: expected a number, got {row[col]!r}"
                ) from None
            if not (math.isfinite(v) and lo <= v <= hi):
                raise ScenarioError(
                    f"--candidates {path}: row {line}, column {col}: must be in [{lo}, {hi}], got {v}"
                )
            return v

        cid, city = (r["id"] or "").strip(), (r["city"] or "").strip()
        if not cid or cid in seen:
            raise ScenarioError(
                f"--candidates {path}: row {i}, column id: {'empty' if not cid else 'repeated ' + cid}"
            )
        if city not in cities:
            raise ScenarioError(
                f"--candidates {path}: row {i}, column city: {city!r} is not a city of the scenario"
            )
        seen.add(cid)
        fixed = (
            num("fixed_cost_cny_per_day", 0, 1e9) if (r.get("fixed_cost_cny_per_day") or "").strip() else None
        )
        out.append(Candidate(cid, city, num("lat", -90, 90), num("lon", -180, 180), fixed))
    if not out:
        raise ScenarioError(f"--candidates {path}: no rows")
    return out


def existing_sites(net: Any, kind: str) -> list[Candidate]:
    """The scenario's own nodes of `kind` as candidates (same ids and places)."""
    k = ("ndc", "fdc", "store").index(kind)
    return [
        Candidate(
            net.node_ids[n],
            net.city_names[int(net.node_city[n])],
            float(net.node_lat[n]),
            float(net.node_lon[n]),
        )
        for n in np.flatnonzero(net.node_kind == k)
    ]


def auto_candidates(net: Any, kind: str, per_city: int) -> list[Candidate]:
    """The existing sites plus, per city with demand, up to `per_city` new places at its busiest zones,
    each at least a quarter of the city radius from every other candidate (greedy by zone weight)."""
    cands = existing_sites(net, kind)
    for c, name in enumerate(net.city_names):
        zones = np.flatnonzero((net.zone_city == c) & (net.zone_weight > 0))
        if zones.size == 0:
            continue
        spacing = 0.25 * float(net.city_radius_km[c])
        added = 0
        for z in zones[np.argsort(-net.zone_weight[zones], kind="stable")]:
            if added >= per_city:
                break
            lat, lon = float(net.zone_lat[z]), float(net.zone_lon[z])
            if cands:
                d = distance_matrix_km(
                    np.array([lat]),
                    np.array([lon]),
                    np.array([x.lat for x in cands]),
                    np.array([x.lon for x in cands]),
                )
                if float(d.min()) < spacing:
                    continue
            added += 1
            cands.append(Candidate(f"cand-{kind}-{name}-{added:02d}", name, lat, lon))
    return cands


def _mean_order_value(sc: Any) -> float:
    from sim.catalog import build_catalog

    cat = build_catalog(sc)
    w = np.asarray(cat.popularity, dtype=float)
    unit = float((np.asarray(cat.value_cny, dtype=float) * w).sum() / w.sum())
    return unit * float(sc.demand.basket.mean_lines) * float(sc.demand.basket.mean_qty)


def location_model(sc: Any, net: Any, cands: list[Candidate], kind: str) -> LocationModel:
    """The arrays of the model above for `cands` of `kind` on the scenario's zones."""
    if kind not in KIND_TIER:
        raise ScenarioError(f"--kind: expected fdc or store, got {kind!r}")
    tier = KIND_TIER[kind]
    demand = (
        float(sc.demand.orders_per_day)
        * np.asarray(net.zone_weight, dtype=float)
        * float(getattr(sc.demand.tier_mix, tier))
    )
    circuity = float(net.graph.graph["circuity"])
    lat = np.array([c.lat for c in cands])
    lon = np.array([c.lon for c in cands])
    road = distance_matrix_km(net.zone_lat, net.zone_lon, lat, lon) * circuity
    cities = list(net.city_names)
    costs = sc.costs
    if kind == "fdc":
        cap = sc.nodes.fdcs.capacity
        reach = np.array(
            [cap.van_radius_km or float(net.city_radius_km[cities.index(c.city)]) for c in cands]
        )
        per_order = costs.van.per_stop_cny + costs.van.per_km_cny * 2.0 * road / STOPS_PER_TOUR
        default_fixed = costs.fixed.fdc_per_day_cny
    else:
        cap = sc.nodes.stores.capacity
        reach = np.full(len(cands), cap.rider_radius_km)
        batch = float(cap.rider_max_batch)
        if costs.riders.model == "platform":
            per_order = (costs.riders.base_per_trip_cny + costs.riders.per_km_cny * road) / batch
        else:
            per_order = costs.riders.per_hour_cny * 2.0 * road / cap.rider_speed_kmh / batch
        default_fixed = costs.fixed.store_per_day_cny
    cost = np.where(road <= reach[None, :] * circuity + 1e-6, per_order, np.inf)
    pair, offered = FALLBACK[kind]
    p = float(getattr(sc.tiers.downgrade_acceptance, pair))
    lost = costs.lost_sale.margin_rate * _mean_order_value(sc) + costs.lost_sale.goodwill_cny
    if offered == "far":
        offer = np.full(net.n_zones, costs.parcel.per_order_cny + costs.ndc_handling_per_order_cny)
    else:  # a mid offer from the city's forward warehouse, at half the city radius
        half = 0.5 * np.asarray(net.city_radius_km, dtype=float)[net.zone_city] * circuity
        offer = costs.van.per_stop_cny + costs.van.per_km_cny * 2.0 * half / STOPS_PER_TOUR
    fallback = p * offer + (1 - p) * lost
    fixed = np.array(
        [c.fixed_cny_per_day if c.fixed_cny_per_day is not None else default_fixed for c in cands]
    )
    return LocationModel(demand, cost, fallback, fixed)


@dataclass(frozen=True)
class Proposal:
    k: int
    open: tuple[int, ...]  # candidate indices
    cost_per_day: float
    proven_optimal: bool


ENUMERATE_MAX = 20_000  # sets of K candidates up to which the model is solved by enumeration


def enumerate_sets(model: LocationModel, k: int) -> Proposal:
    """The cheapest set of exactly `k` candidates by evaluating every one (``LocationModel.total``): exact,
    proven; ties go to the first set in ``itertools.combinations`` order."""
    m = model.fixed.size
    served = np.where(np.isfinite(model.cost), model.cost, np.inf)
    best: tuple[float, tuple[int, ...]] = (math.inf, ())
    for subset in itertools.combinations(range(m), k):
        cheapest = np.minimum(model.fallback, served[:, subset].min(axis=1)) if k else model.fallback
        total = float(model.fixed[list(subset)].sum() + (model.demand * cheapest).sum())
        if total < best[0]:
            best = (total, subset)
    return Proposal(k, best[1], model.total(np.array(best[1], dtype=int)), True)


def solve(
    model: LocationModel, k: int, *, max_time: float = 30.0, enumerate_max: int = ENUMERATE_MAX
) -> Proposal:
    """The cheapest set of exactly `k` candidates: by enumeration when there are at most `enumerate_max`
    such sets (a few candidates: exact and proven at once, where CP-SAT on this formulation can run out of
    its time limit without proving, e.g. 6 of 7 forward warehouses over 750 zones), else CP-SAT on fen
    (deterministic)."""
    from ortools.sat.python import cp_model

    m = model.fixed.size
    if not 0 <= k <= m:
        raise ScenarioError(f"--open: must be between 0 and the {m} candidates, got {k}")
    if math.comb(m, k) <= enumerate_max:
        return enumerate_sets(model, k)
    finite = np.isfinite(model.cost)
    gain = np.where(
        finite, (np.where(finite, model.cost, 0.0) - model.fallback[:, None]) * model.demand[:, None], np.inf
    )  # < 0 where a candidate saves money
    zs, js = np.nonzero(np.isfinite(gain) & (gain < 0))
    mdl = cp_model.CpModel()
    y = [mdl.new_bool_var(f"y{j}") for j in range(m)]
    x = {(int(z), int(j)): mdl.new_bool_var(f"x{z}_{j}") for z, j in zip(zs, js, strict=True)}
    by_zone: dict[int, list[Any]] = {}
    for (z, j), v in x.items():
        mdl.add_implication(v, y[j])
        by_zone.setdefault(z, []).append(v)
    for vs in by_zone.values():
        mdl.add_at_most_one(vs)
    mdl.add(sum(y) == k)
    mdl.minimize(
        sum(int(round(model.fixed[j] * SCALE)) * y[j] for j in range(m))
        + sum(int(round(gain[z, j] * SCALE)) * v for (z, j), v in x.items())
    )
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = max_time
    status = solver.solve(mdl)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ScenarioError(f"--open {k}: the location model found no solution within its limit")
    chosen = tuple(j for j in range(m) if solver.value(y[j]))
    opened = np.array(chosen, dtype=int)
    return Proposal(k, chosen, model.total(opened), status == cp_model.OPTIMAL)
