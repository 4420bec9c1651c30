"""The simulation: a fixed set of SimPy processes working on numpy arrays.

Processes (their number does not grow with orders): routing epochs every ``router.epoch_s``; one
van-wave process per mid wave of the day; the NDC cut-off; the day boundary (close the day's
books, spoilage, NDC supply, policy review and replenishment, the next day's demand). Truck
arrivals are applied at the epoch boundaries. Events at the same instant as an epoch boundary run
just after it (``EPS``), so an order routed at 10:00:00 still makes a 10:00 cut-off.

Order lifecycle: created -> routed (possibly carried to later epochs while a capacity shortage can
still be waited out) -> assigned at a tier (perhaps a downgrade offer the customer accepted) ->
picked / shipped -> delivered; or lost (stock-out with no accepted offer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import simpy

from sim.assumptions import EVENT_EPS_S, MAX_DRAIN_DAYS
from sim.catalog import build_catalog
from sim.demand import demand_day
from sim.demand.forecast import Forecaster, catchment, sigma_for_wape
from sim.engine.book import SHIP_BASE, OrderBook
from sim.engine.explain import ExplainRecorder
from sim.engine.offline import OfflineSales
from sim.engine.options import Candidates
from sim.engine.parcel import Parcels
from sim.engine.rider_pool import pool_of_stores, pooled
from sim.engine.riders import N_U, TripParams, trip_uniforms
from sim.engine.routing_step import route_epoch
from sim.engine.shipments import deliver_shipments
from sim.engine.staffing import build_shifts, rider_report
from sim.engine.store import StoreOps
from sim.engine.substitution import SubstituteRule, line_uniforms
from sim.engine.surge import Surge, surge_counts
from sim.engine.warehouse import Waves
from sim.inventory.initial import place_initial_stock
from sim.inventory.perishables import (
    FreshFlow,
    SellThrough,
    cap_fresh_targets,
    fresh_draw,
    fresh_supplier,
    unfilled,
)
from sim.inventory.replenishment import Pipeline, lateral_transfers, plan_replenishment
from sim.inventory.state import InventoryState
from sim.network import FDC, NDC, STORE, build_network
from sim.policies.base import PolicyContext, TransfersStock, make_policy, policy_capabilities
from sim.policies.costs import policy_costs
from sim.records import DAILY_COSTS, DELIVERED, DayRecords, NodeRecords, RouterStats, RunRecords
from sim.rng import RandomStreams
from sim.routing.base import make_router
from sim.routing.lookahead import rate_cv, shortfall_value
from sim.spec import parse_spec
from sim.units import DAY, HOUR, parse_clock
from sim.vocab import OrderStatus

if TYPE_CHECKING:
    from sim.io.scenario.models import Scenario

EPS = EVENT_EPS_S


class Simulation:
    """One run of a resolved scenario (see ``sim.simulate`` for the public entry point)."""

    def __init__(
        self,
        sc: Scenario,
        *,
        seed: int,
        replication: int,
        days: int,
        policy: str,
        router: str,
        progress: Callable[[int, int], None] | None = None,
        explain: bool = False,
    ) -> None:
        self.sc, self.days, self.warmup = sc, days, sc.horizon.warmup_days
        self.total_days = self.warmup + days
        self.streams = RandomStreams(seed, replication)
        self.net = net = build_network(sc)
        self.cat = cat = build_catalog(sc)
        self.policy = make_policy(parse_spec(policy))
        self.router = make_router(
            router,
            max_deterministic_time=sc.router.max_deterministic_time,
            max_shipments=sc.router.max_shipments,
        )
        self.forecaster = Forecaster(sc, net, cat, self.streams)
        self.progress = progress
        self.explain = (
            ExplainRecorder() if explain else None
        )  # `run --explain`: every routing decision's candidates
        N, S = net.n_nodes, cat.n_skus
        self.inv = InventoryState(N, S, cat.shelf_life_s / DAY)
        self.pipeline = Pipeline()
        self.given = place_initial_stock(
            sc, net, cat, self.inv, self.pipeline
        )  # nodes a stock file specifies
        self.book = OrderBook()
        self.subst = SubstituteRule.from_scenario(sc, cat)  # tiers.substitution (None: off)
        self.park_witness = np.empty(
            0, np.int64
        )  # per order: the store that last had its lines (option_build.park)
        self.kind = net.node_kind
        self.stores = np.flatnonzero(self.kind == STORE)
        self.fdcs = np.flatnonzero(self.kind == FDC)
        self.ndcs = np.flatnonzero(self.kind == NDC)
        self.fresh_targets: np.ndarray | None = None  # the last review's targets (inventory.fresh)
        # inventory.fresh.cross_dock: the supplier's overnight fresh delivery to the NDCs, received at the start of
        # the next day before its review (node, SKU, units); None: none under way
        self.fresh_due: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        fr = sc.inventory.fresh  # inventory.fresh.sell_through: each node's in-stock fresh sales (None: off)
        life = self.cat.shelf_life_s / DAY
        fresh = np.flatnonzero(np.isfinite(life))
        self.sell_through = (
            SellThrough(fresh, int(np.ceil(life[fresh].max())))
            if fr.enabled and fr.forward_cap and fr.sell_through and fresh.size
            else None
        )
        self.row = np.full(N, -1, np.int64)  # node -> row in its kind's operation arrays
        for group in (self.stores, self.fdcs, self.ndcs):
            self.row[group] = np.arange(group.size)
        covers = net.covers()
        self.cand = [
            Candidates.build(covers, net.road_km, self.stores),
            Candidates.build(covers, net.road_km, self.fdcs),
        ]
        self.preferred = np.stack([catchment(net, STORE), catchment(net, FDC), catchment(net, NDC)])
        self._init_ops()
        # nodes.stores.offline: counter sales at shops from the online stock, seen online after a sync lag
        self.offline = OfflineSales.from_scenario(
            sc,
            net,
            S,
            self.stores,
            self.forecaster.profile.hour_share,
            (self.store_open_s, self.store_close_s),
        )
        self.inv.offline = self.offline is not None
        self.inv.carry_age = bool(sc.inventory.fresh.enabled and sc.inventory.fresh.carry_age)
        self.day_costs = {k: np.zeros(self.total_days + MAX_DRAIN_DAYS + 1) for k in DAILY_COSTS}
        self.stats = RouterStats()
        self.busy_mark: dict[str, np.ndarray] = {}
        self.busy_end: dict[str, np.ndarray] = {}
        self.realised = np.zeros(N)  # running mean of realised transport cost per order (routing estimate)
        self.realised_n = np.zeros(N)
        self.estimated = np.zeros(
            N
        )  # the same orders' routing estimates: realised / estimated calibrates routing
        # look-ahead (router.lookahead): own-tier demand rate per node x SKU, refreshed at each review, and the
        # value of a unit short at a node: its customer gets the next slower offer (accepted w.p. p) or is lost
        self.la_rate = np.zeros((N, S))
        self.next_review_s = np.zeros(N)
        # a unit short loses the whole order it is part of: its margin, the rest of the basket's and the goodwill
        lost, upo = sc.costs.lost_sale, self.forecaster.units_per_order
        unit_value = float((cat.popularity * cat.value_cny).sum())  # mean value of a demanded unit
        lost_unit = lost.margin_rate * (cat.value_cny + max(upo - 1.0, 0.0) * unit_value) + lost.goodwill_cny
        a = sc.tiers.downgrade_acceptance
        p_next = np.select([self.kind == STORE, self.kind == FDC], [a.near_mid, a.mid_far], 0.0)
        imperfect = float(sc.router.imperfect_order_cny)
        self.la_value = shortfall_value(lost_unit[None, :], p_next[:, None], imperfect_cny=imperfect)
        # capacity look-ahead: own-tier orders per day per node (refreshed at each review) and the value of
        # an own-tier order that finds the node full (a whole order's lost-sale cost, offer accepted w.p. p)
        self.la_orders = np.zeros(N)
        self.la_cap_value = shortfall_value(
            lost.margin_rate * upo * unit_value + lost.goodwill_cny, p_next, imperfect_cny=imperfect
        )
        # lookahead_demand: served — every time-critical order a node's units and places served besides its own
        # catchment's own-tier demand (overflow, upgrades), counted per day (sim.engine.routing_step.count_served)
        self.la_other = np.zeros((N, S))  # units served so far
        self.la_other_orders = np.zeros(N)
        self.hour_share = self.forecaster.profile.hour_share
        cv = sc.router.lookahead_rate_cv  # the forecast rate's uncertainty (see sim.routing.lookahead)
        self.la_rate_cv = (
            rate_cv(sigma_for_wape(sc.forecast.error or 0.0), sc.demand.day_cv) if cv is None else float(cv)
        )

    # ------------------------------------------------------------------ set-up
    def _init_ops(self) -> None:
        sc, net = self.sc, self.net
        caps = net.node_capacity
        st = [caps[i] for i in self.stores]
        self.store_pick_base = np.array([c.pick_base_s for c in st])
        self.store_pick_line = np.array([c.pick_per_line_s for c in st])
        trip = TripParams.from_scenario(
            sc,
            st,
            self.streams,
            self.total_days + MAX_DRAIN_DAYS + 1,
            net.node_city[self.stores],
            list(net.city_names),
        )
        pool_of = pool_of_stores(sc, net.node_city[self.stores])  # None: each store its own riders
        shifts = build_shifts(
            sc,
            pooled(np.array([c.riders for c in st], np.int64), pool_of),
            self.total_days + MAX_DRAIN_DAYS + 1,
            self._store_hours(st),
            [net.node_ids[i] for i in self.stores],
            pool_of,
        )
        self.ops = StoreOps.from_scenario(sc, net, self.stores, trip=trip, shifts=shifts, pool_of=pool_of)
        if self.ops.trip is not None or self.ops.shifts is not None:  # rider reporting (sim.engine.staffing)
            self.ops.busy_hour = np.zeros((self.total_days + MAX_DRAIN_DAYS + 1) * 24)
            if sc.costs.riders.model == "fleet" and self.ops.shifts is not None:
                self.ops.pay_day = np.zeros(self.total_days + MAX_DRAIN_DAYS + 1)
        self.trip_u = np.empty(
            (0, N_U)
        )  # per order: its trip uniforms (sim.engine.riders), trip mechanism only
        fd = [caps[i] for i in self.fdcs]
        self.fdc_pick_base = np.array([c.pick_base_s for c in fd])
        self.fdc_pick_line = np.array([c.pick_per_line_s for c in fd])
        self.fdc_pickers = np.array([c.pickers for c in fd], float)
        covers = net.covers()  # mean road km to the zones each FDC serves: sizes its van tours
        self.fdc_mean_km = np.array(
            [net.road_km[covers[:, f], f].mean() if covers[:, f].any() else 1.0 for f in self.fdcs]
        )
        self.waves = Waves.from_scenario(sc, net, self.fdcs, volume_l=self._order_volume_l)
        self.parcels = Parcels.from_scenario(sc, net, self.ndcs)
        # nodes.surge: pickers, vans and NDC outbound x a multiplier on promotion days (None: no day surges)
        self.surge = Surge.from_scenario(sc, self.total_days + MAX_DRAIN_DAYS + 1)
        self.parcel_cost = np.full((self.ndcs.size, len(net.city_names)), sc.costs.parcel.per_order_cny)
        for lane in sc.costs.parcel.by_lane:
            self.parcel_cost[self.row[net.node_ids.index(lane.ndc)], net.city_names.index(lane.city)] = (
                lane.per_order_cny
            )
        near = sc.tiers.near
        self.near_promise_s = near.promise_min * 60.0
        # quoted ETAs (tiers.near.quote eta): riders batch against the quote less its buffer, so the buffer is
        # left for the ride's noise rather than spent on waiting for a fuller batch
        self.quote_slack_s = near.quote_buffer_min * 60.0 if near.quote == "eta" else 0.0
        self.near_open, self.near_close = (parse_clock(t) for t in near.service_hours)
        self.store_open_s, self.store_close_s = self._store_hours(
            [caps[i] for i in self.stores]
        )  # store kinds
        self.mean_order_l = float(
            self.forecaster.units_per_order * (self.cat.popularity * self.cat.volume_l).sum()
        )

    def _store_hours(self, caps: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(open, close) seconds of day of each store: its own service hours (store kinds), else the tier's."""
        hours = [c.service_hours or self.sc.tiers.near.service_hours for c in caps]
        return np.array([parse_clock(h[0]) for h in hours]), np.array([parse_clock(h[1]) for h in hours])

    def _order_volume_l(self, ref: np.ndarray) -> np.ndarray:
        """Litres of each order (its lines' units x SKU volume): a van's load."""
        b = self.book
        if (ref >= SHIP_BASE).any():  # shipments of split orders carry only their own lines
            pos, line = b.ref_lines(ref)
            litres = b.line_qty[line] * self.cat.volume_l[b.line_sku[line]] * ~b.line_dropped[line]
            return np.bincount(pos, weights=litres, minlength=ref.size)
        n = b.n_lines(ref)
        first = np.repeat(b.line_offsets[ref] - np.cumsum(n) + n, n)
        line = first + np.arange(int(n.sum()))
        litres = b.line_qty[line] * self.cat.volume_l[b.line_sku[line]] * ~b.line_dropped[line]
        return np.bincount(np.repeat(np.arange(ref.size), n), weights=litres, minlength=ref.size)

    # ------------------------------------------------------------------ run
    def run(self) -> RunRecords:
        env = simpy.Environment()
        self.env = env
        self._start_day(0)
        env.process(self._epochs(env))
        env.process(self._days(env))
        for w in range(len(self.waves.cut)):
            env.process(self._wave(env, w))
        env.process(self._cutoffs(env))
        self.done = env.event()
        env.run(until=self.done)
        return self._records()

    def _epochs(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        dt = float(self.sc.router.epoch_s)
        while True:
            yield env.timeout(dt)
            self._epoch(env.now)

    def _days(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        day = 0
        while True:
            yield env.timeout((day + 1) * DAY + EPS - env.now)
            self._close_day(day)
            day += 1
            if day >= self.total_days and self._settled():
                self.ops.close_all()
                self._collect_store()
                self.done.succeed()
                return
            if day >= self.total_days + MAX_DRAIN_DAYS:
                self.done.succeed()
                return
            self._start_day(day)

    def _wave(self, env: simpy.Environment, w: int) -> Generator[simpy.Event, None, None]:
        W = len(self.waves.cut)
        day = 0
        while True:
            g = day * W + w
            yield env.timeout(self.waves.cutoff_s(g) + EPS - env.now)
            res = self.waves.dispatch(g)
            self._deliver(res.ref, res.delivered_s, res.cost)
            day += 1

    def _cutoffs(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        day = 0
        while True:
            yield env.timeout(self.parcels.cutoff_s(day) + EPS - env.now)
            res = self.parcels.dispatch(day)
            self._deliver(res.ref, res.delivered_s, None)
            day += 1

    def _settled(self) -> bool:
        b = self.book
        return (
            not b.carry.size
            and self.waves.pending() == 0
            and self.parcels.pending() == 0
            and self.inv.pending_picks() == 0
            and b.next_new >= b.n
            and not (b.status[~b.warmup_mask()] == OrderStatus.OPEN).any()
        )

    # ------------------------------------------------------------------ days
    def _start_day(self, day: int) -> None:
        if day == self.warmup:
            self.busy_mark = self._busy()
        if day == self.total_days:
            self.busy_end = self._busy()
        if self.surge is not None:
            self.surge.apply(self, day)
        rate = self.forecaster.rate(day)
        self._supply_ndcs(day, rate)
        if self.fresh_due is not None:  # inventory.fresh.cross_dock: last night's fresh delivery, new
            node, sku, qty = self.fresh_due
            self.fresh_due = None
            self.inv.receive(node, sku, qty, from_pipeline=True)
        if day % max(1, round(self.sc.inventory.review_period_days)) == 0:
            self._review(day)
        if self.sc.inventory.fresh.enabled:
            self._supply_fresh(day, rate)
        if day < self.total_days:
            orders = demand_day(self.sc, self.net, self.cat, self.streams, day)
            self.forecaster.observe(day, orders)  # forecast(d) uses days < d only
            self.book.add_day(orders, warmup=day < self.warmup)
            if self.offline is not None:
                self.offline.draw_day(
                    self.streams,
                    self.forecaster.profile.date(day),
                    day,
                    rate,
                    self.net.node_city[self.stores],
                    list(self.net.city_names),
                )
            if self.subst is not None:
                line_city = np.repeat(orders.city, orders.lines_per_order())
                self.book.line_sub_u = np.concatenate(
                    [
                        self.book.line_sub_u,
                        line_uniforms(
                            self.streams,
                            self.forecaster.profile.date(day),
                            line_city,
                            list(self.net.city_names),
                        ),
                    ]
                )
            if self.ops.trip is not None:
                date = self.forecaster.profile.date(day)
                self.trip_u = np.concatenate(
                    [self.trip_u, trip_uniforms(self.streams, date, orders.city, list(self.net.city_names))]
                )
        if self.progress:
            self.progress(day, self.book.n)

    def _supply_ndcs(self, day: int, rate: np.ndarray) -> None:
        """Refill NDCs to `initial_days_of_supply` x their expected daily draw (all tiers they feed)."""
        sup = self.sc.inventory.ndc_supply
        life_days = (
            self.cat.shelf_life_s / DAY
        )  # perishables: never more than a day short of their shelf life
        cover = np.minimum(sup.initial_days_of_supply, np.maximum(life_days - 1.0, 1.0))
        target = np.ceil(cover[None, :] * rate[self.ndcs]).astype(np.int64)
        pos = self.inv.position()[self.ndcs]
        need = np.maximum(target - pos, 0)
        if self.sc.inventory.fresh.enabled:  # fresh SKUs come by the daily delivery (_supply_fresh)
            need[:, np.isfinite(life_days)] = 0
        if day == 0:
            need[self.given[self.ndcs]] = 0  # the planner's observed NDC stock is the start, not topped up
        n, s = np.nonzero(need)
        if not n.size:
            return
        nodes = self.ndcs[n]
        if sup.mode == "unlimited" or day == 0:
            self.inv.receive(nodes, s, need[n, s], from_pipeline=False)
        else:
            self.inv.ship_in(nodes, s, need[n, s])
            self.pipeline.add_external(day * DAY + sup.lead_time_days * DAY, nodes, s, need[n, s])

    def _supply_fresh(self, day: int, rate: np.ndarray) -> None:
        """Daily fresh delivery to the NDCs for what the forward nodes stocking each SKU will draw."""
        fr = self.sc.inventory.fresh
        fresh = np.flatnonzero(np.isfinite(self.cat.shelf_life_s))
        if not fresh.size or self.fresh_targets is None:
            return
        sold = self._fresh_sold()
        if sold is not None:  # the forward nodes will draw what they sell, where below their forecast
            rate = rate.copy()
            fwd = self.net.supplier >= 0
            rate[np.ix_(fwd, fresh)] = np.where(
                np.isnan(sold[fwd]), rate[np.ix_(fwd, fresh)], np.minimum(rate[np.ix_(fwd, fresh)], sold[fwd])
            )
        draw = fresh_draw(
            self.fresh_targets, rate, self.net.supplier, self.ndcs, self.cat.tier_eligible[:, 2], fresh
        )
        pos = self.inv.position()
        sup = fresh_supplier(self.net.supplier, self.kind) if fr.cross_dock else self.net.supplier
        need = (
            np.ceil(fr.ndc_days_of_supply * draw - 1e-9).astype(np.int64)
            - pos[np.ix_(self.ndcs, fresh)]
            + unfilled(self.fresh_targets, pos, sup, self.ndcs, fresh)
        )
        if day == 0:
            need[self.given[self.ndcs]] = 0  # the planner's observed NDC stock is day 0's, not topped up
        n, j = np.nonzero(need > 0)
        if n.size and fr.cross_dock:  # delivered overnight: received new before the next review
            self.inv.ship_in(self.ndcs[n], fresh[j], need[n, j])
            self.fresh_due = (self.ndcs[n], fresh[j], need[n, j])
        elif n.size:
            self.inv.ship_in(self.ndcs[n], fresh[j], need[n, j])
            self.pipeline.add_external(
                day * DAY + fr.ndc_lead_time_h * HOUR, self.ndcs[n], fresh[j], need[n, j]
            )

    def _fresh_sold(self) -> np.ndarray | None:
        """inventory.fresh.sell_through: the FDCs' in-stock fresh sell-through (NaN elsewhere and where unknown). An
        FDC's own-tier forecast counts every mid order of its catchment, most of which the router serves from stores;
        a store's forecast is the near demand it does serve."""
        if self.sell_through is None:
            return None
        sold = self.sell_through.rate()
        if sold is not None:
            sold[self.kind != FDC] = np.nan
        return sold

    def _review(self, day: int) -> None:
        net = self.net
        cover = self.sc.inventory.review_period_days * DAY + net.lead_time_s
        caps = net.node_capacity
        slots = np.array([getattr(c, "slots", 0) for c in caps])
        volume = np.array([getattr(c, "volume_m3", np.inf) for c in caps], float)
        method = self.sc.forecast.method
        seen = self.realised_n > 0
        forecast: np.ndarray = self.forecaster.forecast(day)
        ahead: Callable[[int], np.ndarray] = self.forecaster.forecast
        if self.offline is not None:  # the policies see the shops' counter sales as demand
            off = self.offline
            forecast = off.forecast(forecast)
            ahead = lambda d: off.forecast(self.forecaster.forecast(d))  # noqa: E731
        transport = np.where(seen, self.realised / np.maximum(self.realised_n, 1), np.nan)
        ctx = PolicyContext(
            day=day,
            forecast=forecast,
            cover_s=cover,
            node_kind=self.kind,
            slots=slots,
            volume_m3=volume,
            volume_l=self.cat.volume_l,
            value_cny=self.cat.value_cny,
            popularity=self.cat.popularity,
            on_hand=self.inv.on_hand,
            supplier=net.supplier,
            review_s=self.sc.inventory.review_period_days * DAY,
            position=self.inv.position(),
            # moving_average cannot look ahead without moving its window; the others can
            forecast_ahead=None if method == "moving_average" else ahead,
            forecast_cv=float(np.sqrt(np.expm1(self.forecaster.sigma**2))) if method == "oracle" else None,
            cover_window=bool(self.sc.inventory.cover_window),
            pre_build=bool(self.sc.inventory.pre_build),
            costs=policy_costs(
                self.sc,
                net,
                self.cat,
                transport_cny=np.where(seen, transport, np.nan) if seen.any() else None,
            ),
        )
        targets = np.asarray(self.policy.targets(ctx), np.int64)
        if day == 0 and self.given.any():  # day 0 fills only the nodes the planner's stock file leaves out
            targets = targets.copy()
            targets[self.given] = np.minimum(targets[self.given], self.inv.position()[self.given])
        if self.sc.inventory.fresh.enabled:
            if self.sc.inventory.fresh.forward_cap:
                targets = cap_fresh_targets(
                    targets,
                    ctx.forecast,
                    self.cat.shelf_life_s / DAY,
                    net.supplier,
                    self.kind,
                    carry_age=self.inv.carry_age,
                    critical_ratio=float(self.sc.costs.lost_sale.margin_rate)
                    if self.sc.inventory.fresh.newsvendor
                    else None,
                    flow=FreshFlow(
                        cross_dock=self.sc.inventory.fresh.cross_dock,
                        sold=self._fresh_sold(),
                    ),
                )
            self.fresh_targets = targets
        self.la_rate = ctx.forecast / DAY
        self.la_orders = ctx.forecast.sum(axis=1) / max(self.forecaster.units_per_order, 1e-9)
        if self.sc.router.lookahead_demand == "served" and day > 0:  # the mean day so far
            days = float(day)
            self.la_rate = self.la_rate + self.la_other / (days * DAY)
            self.la_orders = self.la_orders + self.la_other_orders / days
        self.next_review_s = np.full(net.n_nodes, day * DAY + ctx.review_s)
        if policy_capabilities(self.policy).transfers:
            moves = cast(TransfersStock, self.policy).transfers(ctx, targets)
            shipment, cost = lateral_transfers(self.inv, moves, net, self.sc, self.cat.volume_l, day * DAY)
            self.pipeline.add(shipment)
            self.day_costs["transfer"][day] += cost
        level = np.where(self.kind == FDC, 0, 1)
        shipments, cost = plan_replenishment(
            self.inv,
            targets,
            net.supplier,
            level,
            self.cat.volume_l,
            net.truck_capacity_m3,
            net.truck_fixed_cny,
            net.truck_per_unit_cny,
            net.lead_time_s,
            day * DAY,
            cross_dock=np.isfinite(self.cat.shelf_life_s)
            if self.sc.inventory.fresh.enabled and self.sc.inventory.fresh.cross_dock
            else None,
        )
        self.pipeline.add(shipments)
        self.day_costs["transfer"][day] += cost

    def _close_day(self, day: int) -> None:
        sc, inv = self.sc, self.inv
        if self.offline is not None:  # the day's counter sales, synced at the close (the till's day end)
            self.offline.apply((day + 1) * DAY, inv)
            self.offline.sync(inv)
        inv.apply_picks((day + 1) * DAY)
        if self.sell_through is not None:  # the day's fresh sales, before the day's flows are reset
            self.sell_through.close_day(inv)
        spoiled = inv.age_and_spoil()
        self.day_costs["spoilage"][day] += float((spoiled * self.cat.value_cny[None, :]).sum())
        held = ((inv.on_hand + inv.pipeline) * self.cat.value_cny[None, :]).sum()
        self.day_costs["holding"][day] += float(held) * sc.costs.holding_rate_per_year / 365.0
        f = sc.costs.fixed
        self.day_costs["fixed"][day] += (
            self.stores.size * f.store_per_day_cny
            + self.fdcs.size * f.fdc_per_day_cny
            + self.ndcs.size * f.ndc_per_day_cny
        )
        inv.close_day(day)

    # ------------------------------------------------------------------ epochs
    def _epoch(self, t: float) -> None:
        if self.pipeline.next_arrival() <= t:
            arr = self.pipeline.arrivals(t)
            origin = (
                arr.origins()
            )  # inventory.fresh.carry_age: fresh units arrive as old as they left, plus the road
            slot = np.where(origin >= 0, int(t // DAY) - origin, 0) if self.inv.carry_age else None
            self.inv.receive(arr.node, arr.sku, arr.qty, from_pipeline=True, slot=slot)
        if self.offline is not None:
            self.offline.apply(t, self.inv)
        if self.ops.next_departure() < t:
            self.ops.flush(t)
        idx = self.book.take_batch(t)
        if idx.size:
            t0 = time.perf_counter()
            x0 = self.explain.seconds if self.explain is not None else 0.0
            route_epoch(self, t, idx)
            x1 = self.explain.seconds if self.explain is not None else 0.0  # recording is not routing time
            self.stats.solver_ms_total += (time.perf_counter() - t0 - (x1 - x0)) * 1e3
            self.stats.epochs += 1
        self._collect_store()  # batches leave on flush and when full or closed by an order that cannot join

    def _collect_store(self) -> None:
        d = self.ops.take_delivered()
        if d.ref.size:
            self._deliver(d.ref, d.delivered_s, d.cost)

    def _deliver(self, ref: np.ndarray, delivered_s: np.ndarray, transport: np.ndarray | None) -> None:
        b = self.book
        if not ref.size:
            return
        ship = ref >= SHIP_BASE
        if ship.any():  # a split order is delivered with its last shipment
            done, when = deliver_shipments(
                self, ref[ship] - SHIP_BASE, delivered_s[ship], None if transport is None else transport[ship]
            )
            self._finish(done, when)
            ref, delivered_s = ref[~ship], delivered_s[~ship]
            transport = None if transport is None else transport[~ship]
            if not ref.size:
                return
        if transport is not None:
            nodes = b.node[ref]
            np.add.at(self.estimated, nodes, b.cost_transport[ref])  # set to the estimate at assignment
            b.cost_transport[ref] = transport
            np.add.at(self.realised, nodes, transport)
            np.add.at(self.realised_n, nodes, 1)
        self._finish(ref, delivered_s)

    def _finish(self, ref: np.ndarray, delivered_s: np.ndarray) -> None:
        """Orders `ref` delivered at `delivered_s`: status and lateness penalty."""
        b = self.book
        b.delivered_s[ref] = delivered_s
        b.status[ref] = DELIVERED
        late = np.maximum(delivered_s - b.promised_s[ref], 0.0)
        lp = self.sc.tiers.lateness_penalty
        per_s = np.array([lp.near_per_min_cny / 60.0, lp.mid_per_min_cny / 60.0, lp.far_per_day_cny / DAY])
        b.cost_penalty[ref] = late * per_s[b.served_tier[ref]]

    # ------------------------------------------------------------------ results
    def _busy(self) -> dict[str, np.ndarray]:
        N = self.net.n_nodes
        out = {k: np.zeros(N) for k in ("pickers", "riders", "vans")}
        out["pickers"][self.stores] = self.ops.picker_busy
        out["riders"][self.stores] = self.ops.rider_busy
        out["vans"][self.fdcs] = self.waves.van_busy
        return out

    def _records(self) -> RunRecords:
        end = self.busy_end or self._busy()
        mark = self.busy_mark or {k: np.zeros_like(v) for k, v in end.items()}
        N, caps = self.net.n_nodes, self.net.node_capacity
        hours = (self.store_close_s - self.store_open_s) * self.days
        avail = {k: np.zeros(N) for k in ("pickers", "riders", "vans")}
        avail["pickers"][self.stores] = [caps[i].pickers * h for i, h in zip(self.stores, hours, strict=True)]
        if self.surge is not None and "store_pickers" in self.surge.resources:  # nodes.surge: pickers per day
            base = np.array([caps[i].pickers for i in self.stores], np.int64)
            per_day = np.sum(
                [
                    surge_counts(base, self.surge.factor(d))
                    for d in range(self.warmup, self.warmup + self.days)
                ],
                axis=0,
            )
            avail["pickers"][self.stores] = per_day * (self.store_close_s - self.store_open_s)
        avail["riders"][self.stores] = [caps[i].riders * h for i, h in zip(self.stores, hours, strict=True)]
        riders = None
        if self.ops.busy_hour is not None:  # issue #13: riders on shift by the hour, orders per rider-day
            riders = rider_report(
                self.ops,
                self.warmup,
                self.days,
                self.store_open_s,
                self.store_close_s,
                self.sc.costs.riders,
                self.day_costs,
            )
            avail["riders"][self.stores] = riders.pop("available_s")
        span = float((self.waves.win[:, 1] - self.waves.win[:, 0]).sum()) * self.days
        avail["vans"][self.fdcs] = [caps[i].vans * span for i in self.fdcs]
        busy = {k: end[k] - mark[k] for k in end}
        n_days = self.total_days
        days = DayRecords(
            day=np.arange(n_days, dtype=np.int32),
            warmup=np.arange(n_days) < self.warmup,
            costs={k: v[:n_days].copy() for k, v in self.day_costs.items()},
            utilisation={},
        )
        orders, lines = self.book.records(
            self.preferred,
            substitution=self.subst is not None,
            offline=self.offline is not None,
            stocked=bool(self.sc.tiers.near.record_stocked),
        )
        return RunRecords(
            orders=orders,
            lines=lines,
            inventory=self.inv.records(),
            days=days,
            nodes=NodeRecords(busy_s=busy, available_s=avail),
            router=self.stats,
            measured_days=self.days,
            warmup_days=self.warmup,
            riders=riders,
        )
