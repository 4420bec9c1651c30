"""One routing epoch as named steps over one struct: options -> prices -> solve -> repair -> dispatch.

``route_epoch`` builds the epoch's ``EpochOptions`` (``sim.engine.option_build``: candidates, estimates,
capacity; the shipment rows of a splitting router; the downgrade classification), prices them into
the router's ``Batch`` (``price``: expected costs, stock keys, look-ahead reservations), asks the
router (``solve``), undoes choices that overdraw stock (``repair``) and applies the rest
(``sim.engine.dispatch``: offers accepted or declined, carries, lost sales, node processes).

The downgrade rule (DESIGN.md section 2): an order with no feasible option at its requested tier
or faster, whose shortage is a capacity one that can still be waited out, is carried to the next
epoch; otherwise it gets one offer of the best slower tier, which the customer accepts iff its
decision uniform is below the scenario's acceptance probability; else it is a lost sale. Two orders
of a batch may pick the same last units: the later one is repaired (carried to the next epoch) and
counted in ``router.repairs``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from sim.engine.dispatch import apply_orders
from sim.engine.offline import oversell
from sim.engine.option_build import acceptance_matrix, build_options, classify
from sim.engine.options import EpochOptions, lines_of
from sim.engine.shipments import apply_split, make_split, split_rows
from sim.engine.substitution import entries_of, substitute
from sim.routing.base import Batch, CountsFallbacks, RoutesLines, option_stock, router_capabilities
from sim.routing.lookahead import capacity_reservation, day_share, option_reservation
from sim.routing.split import SplitRows
from sim.units import DAY, HOUR
from sim.vocab import Tier

if TYPE_CHECKING:
    from sim.engine.protocols import SimState

__all__ = [
    "Choice",
    "acceptance_matrix",
    "capacity_price",
    "carry_deadline",
    "count_served",
    "price",
    "repair",
    "route_epoch",
    "solve",
]


@dataclass(frozen=True)
class Choice:
    """The router's answer as candidate pairs: per order the pair it serves the whole order from (-1 none),
    whether it is split, and for a splitting router each batch line's shipment row (-1 none)."""

    pair: np.ndarray  # (n,) int64
    is_split: np.ndarray  # (n,) bool
    line_ship: np.ndarray | None


def route_epoch(sim: SimState, t: float, idx: np.ndarray) -> None:
    """Route the orders `idx` at time t (the end of the epoch)."""
    b = sim.book
    fresh = np.isnan(b.deadline_s[idx])
    if fresh.any():
        b.deadline_s[idx[fresh]] = carry_deadline(
            sim, b.created_s[idx[fresh]], b.requested_tier[idx[fresh]].astype(int)
        )
    max_shipments = router_capabilities(sim.router).max_shipments
    ep = build_options(sim, t, idx)
    if max_shipments > 1:
        ep.ships = split_rows(sim, ep, max_shipments)
    classify(sim, ep)
    if sim.subst is not None:  # tiers.substitution: substitutes for short lines before an offer
        substitute(sim, ep)
    if sim.sc.tiers.near.record_stocked:  # after substitutes: a pair they rescue holds the order too
        mark_near_stocked(sim.book.near_stocked, ep)
    batch, opt = price(sim, ep)
    choice = solve(sim, ep, batch, opt)
    chosen = repair(sim, ep, choice.pair)  # copies before it unassigns: choice.pair stays the router's choice
    if sim.offline is not None:  # nodes.stores.offline: a store whose shelf is short sends the order back
        chosen = oversell(sim, ep, chosen)
    dispatch(sim, ep, chosen, choice, batch.split)
    if sim.sc.router.lookahead_demand == "served":
        count_served(sim, ep, chosen)
    if sim.explain is not None:  # `run --explain` only: reads the epoch, changes nothing
        sim.explain.record(sim, ep, batch, opt, choice.pair, chosen)


def mark_near_stocked(flag: np.ndarray, ep: EpochOptions) -> None:
    """Set `flag` (per book order) for the epoch's orders with a candidate store within its service hours holding
    every line (on hand - reserved, eligible near: ``stock_ok``, or with accepted substitutes where
    ``tiers.substitution`` rescued the pair): the near requests staffing could serve now, rider and picker queues
    aside (``tiers.near.record_stocked``). Parked orders (``option_build.park``) are parked only when such a store
    exists (their candidate pairs are not built), so they count too. Substitutes are looked for only at stores
    with capacity left: an order that needs one at a store out of capacity is not counted (a small bias upwards
    of ``near.on_time_stocked`` under short staff)."""
    m = (ep.p_tier == Tier.NEAR) & ep.stock_ok & ep.is_open
    flag[ep.idx[np.unique(ep.p_row[m])]] = True
    if ep.parked is not None:
        flag[ep.idx[ep.parked]] = True


def carry_deadline(sim: SimState, created: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """Latest time a capacity shortage may be waited out: half the near promise; a mid order's first
    wave cut-off; a far order's first parcel cut-off."""
    out = created + sim.near_promise_s / 2.0
    mid = tier == Tier.MID
    out[mid] = sim.waves.next_cutoff_s(created[mid])
    far = tier == Tier.FAR
    day, tod = np.divmod(created[far], DAY)
    out[far] = (day + (tod > sim.parcels.cutoff)) * DAY + sim.parcels.cutoff
    return out


# ---------------------------------------------------------------------------------------------- prices
def price(sim: SimState, ep: EpochOptions) -> tuple[Batch, np.ndarray]:
    """The router's ``Batch`` and ``opt`` (the pair of each option row): primary options at their cost,
    offers at p x cost + (1 - p) x lost-sale cost; the stock keys every option line draws on; with
    ``router.lookahead`` the reservation prices; for a splitting router the shipment rows."""
    opt = np.flatnonzero(ep.primary | ep.offer)
    base = ep.handling + ep.transport
    if ep.drop_cost is not None:  # partial fulfilment: a pair that drops lines pays their lost margin
        base = base + ep.drop_cost
    acc, offer = ep.accept[opt], ep.offer[opt]
    cost = np.where(offer, acc * base[opt] + (1 - acc) * ep.lost_cost[ep.p_row[opt]], base[opt])
    # an order with an option at its tier or faster is served if at all possible; an offer-only order
    # may go unserved at its lost-sale cost
    unassigned = np.where(ep.has_primary, np.inf, ep.lost_cost)
    imperfect = float(sim.sc.router.imperfect_order_cny)
    if (
        imperfect > 0
    ):  # the service-level price: an offer ends downgraded or lost, an unserved offer-only order lost
        cost = cost + np.where(offer, imperfect, 0.0)
        unassigned = unassigned + imperfect
    # every option line takes its units from a (node, SKU) stock key: single-line options carry theirs
    # (opt_stock_key, what flow sees), and the use_* rows give every option's exact stock (what mip sees)
    row_of_pair = np.full(ep.n_pairs, -1)
    row_of_pair[opt] = np.arange(opt.size)
    ml = row_of_pair[ep.pair] >= 0
    use_option, use_qty = row_of_pair[ep.pair[ml]], ep.qty[ml].astype(np.int64)
    opt_key, use_key, stock_left, sl_key = _stock_keys(sim, ep, opt, use_option, ml)
    reservation = _reservations(sim, ep, opt, use_option, ml) if sim.sc.router.lookahead else None
    split = _split(sim, ep, sl_key) if ep.ships is not None else None
    batch = Batch(
        n_orders=ep.n,
        requested_tier=ep.req.astype(np.int8),
        opt_order=ep.p_row[opt],
        opt_node=ep.p_node[opt],
        opt_tier=ep.p_tier[opt].astype(np.int8),
        opt_km=ep.km[opt],
        opt_cost=cost,
        opt_eta_s=ep.eta[opt],
        opt_offer=offer,
        unassigned_cost=unassigned,
        node_capacity=ep.capacity,
        opt_reservation=reservation,
        opt_stock_key=opt_key,
        stock_left=stock_left,
        use_option=use_option,
        use_key=use_key,
        use_qty=use_qty,
        split=split,
    )
    return batch, opt


def _stock_keys(
    sim: SimState, ep: EpochOptions, opt: np.ndarray, use_option: np.ndarray, ml: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(opt_stock_key, use_key, stock_left, line-row keys): a splitting router's line rows draw on the
    same keys, numbered as extra options after the real ones."""
    inv, single = sim.inv, ep.n_lines[ep.p_row[opt]] == 1
    if ep.ships is None:
        opt_key, use_key, stock_left = option_stock(
            ep.p_node[opt], use_option, ep.sku[ml], single, inv.on_hand, inv.reserved
        )
        return opt_key, use_key, stock_left, None
    e = ep.ships.entry
    R, U = e.size, use_option.size
    opt_key, use_key, stock_left = option_stock(
        np.concatenate([ep.p_node[opt], ep.p_node[ep.pair[e]]]),
        np.concatenate([use_option, opt.size + np.arange(R)]),
        np.concatenate([ep.sku[ml], ep.sku[e]]),
        np.concatenate([single, np.zeros(R, bool)]),
        inv.on_hand,
        inv.reserved,
    )
    return opt_key[: opt.size], use_key[:U], stock_left, use_key[U:]


def _charged(sim: SimState, ep: EpochOptions, pairs: np.ndarray) -> np.ndarray:
    """Stock positioned for a node's own-tier catchment pays when taken by anyone else: an upgrade, or an
    order from another node's catchment (see sim.routing.lookahead)."""
    charged: np.ndarray = (ep.p_tier[pairs] < ep.req[ep.p_row[pairs]]) | (
        ep.p_node[pairs] != sim.preferred[ep.p_tier[pairs], ep.zone[ep.p_row[pairs]]]
    )
    return charged


def _stock_price(
    sim: SimState, ep: EpochOptions, rows: tuple[np.ndarray, np.ndarray], charged: np.ndarray
) -> np.ndarray:
    """``option_reservation`` of option rows `rows` = (row of each entry, expansion entry)."""
    inv, pn = sim.inv, ep.p_node[ep.pair]
    row, ent = rows
    return option_reservation(
        row,
        pn[ent],
        ep.sku[ent],
        ep.qty[ent],
        charged=charged,
        rate=sim.la_rate,
        available=inv.on_hand,
        reserved=inv.reserved,
        horizon_s=(DAY * day_share(sim.hour_share, ep.t, sim.next_review_s + sim.net.lead_time_s))[:, None],
        value=sim.la_value,
        rate_cv=sim.la_rate_cv,
    )


def _reservations(
    sim: SimState, ep: EpochOptions, opt: np.ndarray, use_option: np.ndarray, ml: np.ndarray
) -> np.ndarray:
    charged = _charged(sim, ep, opt)
    reservation = _stock_price(sim, ep, (use_option, ml), charged)
    places, share = capacity_places(sim, ep, opt[charged])
    reservation[charged] += capacity_price(sim, ep.t, ep.wave, places)[ep.p_node[opt][charged]] * share
    return reservation


def capacity_places(sim: SimState, ep: EpochOptions, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) places left per node for the capacity look-ahead and, per pair of `pairs`, the places it takes.
    ``router.capacity_places: slots`` (or without the queue quote): the epoch's capacity, one place each.
    ``quote``: a store's places are the rider trips that still fit before a new own near order's queue quote
    passes ``tiers.near.max_quote_min`` (``quote_trips``; at most the epoch's capacity), and a store pair takes
    its trip time / the trip to the store's mean own-catchment km: a longer trip holds a rider longer."""
    near = sim.sc.tiers.near
    ones = np.ones(pairs.size)
    if not (sim.sc.router.capacity_places == "quote" and near.quote == "eta" and near.quote_from == "queue"):
        return ep.capacity, ones
    places = ep.capacity.copy()
    ref_km = store_ref_km(sim)
    mean_lines = float(np.mean(ep.n_lines)) if ep.n_lines.size else 1.0
    places[sim.stores] = np.minimum(places[sim.stores], quote_trips(sim, ep.t, ref_km, mean_lines))
    st = ep.p_tier[pairs] == Tier.NEAR
    srow = sim.row[ep.p_node[pairs[st]]]
    share = ones
    share[st] = trip_s(sim, ep.t, srow, ep.km[pairs[st]]) / trip_s(sim, ep.t, srow, ref_km[srow])
    return places, share


_REF_KM: weakref.WeakKeyDictionary[object, np.ndarray] = weakref.WeakKeyDictionary()
MAX_TRIPS = 64  # trips counted per store in ``quote_trips`` (past it the store is not short of riders)


def store_ref_km(sim: SimState) -> np.ndarray:
    """(stores,) the mean road km of each store's own near catchment (zones weighted by demand; its nearest
    zone's km when it is no zone's nearest store)."""
    got = _REF_KM.get(sim)
    if got is None:
        net = sim.net
        own = sim.preferred[Tier.NEAR]
        km = net.road_km[:, sim.stores].astype(float)
        w = np.zeros((net.n_zones, sim.stores.size))
        ok = own >= 0
        w[np.flatnonzero(ok), sim.row[own[ok]]] = net.zone_weight[ok]
        tot = w.sum(axis=0)
        nearest = np.where(np.isfinite(km), km, np.inf).min(axis=0)
        got = np.where(
            tot > 0, (w * np.nan_to_num(km, posinf=0.0)).sum(axis=0) / np.maximum(tot, 1e-300), nearest
        )
        _REF_KM[sim] = got
    return got


def trip_s(sim: SimState, t: float, srow: np.ndarray, km: np.ndarray) -> np.ndarray:
    """Expected rider time of a single-order trip `km` from stores `srow` (the queue quote's trip, Stores.eta)."""
    ops = sim.ops
    ride = km / ops.speed_at(np.array([t]))[0] * HOUR
    tp = ops.trip
    if tp is None:
        return cast(np.ndarray, 2 * ride)
    return cast(
        np.ndarray,
        (tp.reach_s[srow] if tp.pool else ride)
        + tp.pickup_trip_s[srow]
        + tp.pickup_order_s[srow]
        + ride
        + tp.handover_s[srow],
    )


def quote_trips(sim: SimState, t: float, km: np.ndarray, mean_lines: float) -> np.ndarray:
    """(stores,) how many more rider trips each store's pool can take before an own near order placed now at
    `km` (per store) would be quoted over ``max_quote_min``: the j = 0, 1, ... with the queue quote (its open
    batches + j ahead) within the cap before the first over it, at most ``MAX_TRIPS``."""
    near = sim.sc.tiers.near
    n = sim.stores.size
    rows = np.repeat(np.arange(n), MAX_TRIPS)
    j = np.tile(np.arange(MAX_TRIPS, dtype=float), n)
    mean_pick = sim.store_pick_base + sim.store_pick_line * mean_lines
    ready = np.maximum(t, sim.ops.earliest_picker()) + mean_pick
    ahead = sim.ops.open_batches(rows) + j
    eta = sim.ops.eta(t, ready[rows], rows, km[rows], ahead=ahead)
    fits = eta + near.quote_buffer_min * 60.0 <= t + near.max_quote_min * 60.0
    # the first j over the cap ends them (the quote's queue, a[k mod riders] + (k div riders) trips, is not
    # monotone in k past the riders on shift)
    return cast(np.ndarray, np.cumprod(fits.reshape(n, MAX_TRIPS), axis=1).sum(axis=1).astype(np.int64))


def _split(sim: SimState, ep: EpochOptions, sl_key: np.ndarray | None) -> SplitRows:
    assert ep.ships is not None and sl_key is not None
    ship_res = sl_res = None
    if sim.sc.router.lookahead:
        ships, e = ep.ships.ships, ep.ships.entry
        s_charged = _charged(sim, ep, ships)
        ship_res = np.where(s_charged, capacity_price(sim, ep.t, ep.wave, ep.capacity)[ep.p_node[ships]], 0.0)
        sl_res = _stock_price(sim, ep, (np.arange(e.size), e), s_charged[ep.ships.sl_ship])
    # a split order is not perfect: each extra shipment also pays the service-level price (exact for 2 shipments)
    per_extra = float(sim.sc.costs.split_per_extra_shipment_cny) + float(sim.sc.router.imperfect_order_cny)
    return make_split(ep, sim.book.line_offsets[ep.idx], sl_key, per_extra, ship_res, sl_res)


def capacity_price(sim: SimState, t: float, g: int, cap: np.ndarray) -> np.ndarray:
    """(N,) look-ahead price of one place of a store's or FDC's capacity this epoch (0 at NDCs); see
    ``sim.routing.lookahead`` (capacity look-ahead). A store's places are what it can pick and hand to
    riders within the capacity horizon, wanted by its near orders over that horizon; an FDC's are what
    wave g can still take, wanted by its mid orders until the wave's cut-off."""
    share = np.zeros(sim.net.n_nodes)
    share[sim.stores] = day_share(sim.hour_share, t, t + sim.near_promise_s / 2)
    share[sim.fdcs] = day_share(sim.hour_share, t, max(sim.waves.cutoff_s(g), t))
    price = capacity_reservation(sim.la_orders, share, cap, sim.la_cap_value, sim.la_rate_cv)
    price[sim.ndcs] = 0.0
    return price


def count_served(sim: SimState, ep: EpochOptions, chosen: np.ndarray) -> None:
    """``router.lookahead_demand: served``: add the units and orders of this epoch's time-critical orders
    (requested near or mid) that a node serves at their tier or faster other than its own catchment's
    own-tier demand (overflow from other catchments, mid orders served by stores) to ``sim.la_other`` and
    ``sim.la_other_orders``: the look-ahead protects them too (see sim.routing.lookahead)."""
    rows = np.flatnonzero(chosen >= 0)
    pairs = chosen[rows]
    keep = ~ep.offer[pairs] & (ep.req[rows] <= Tier.MID) & _charged(sim, ep, pairs)
    rows, pairs = rows[keep], pairs[keep]
    if not rows.size:
        return
    node = ep.p_node[pairs]
    np.add.at(sim.la_other_orders, node, 1.0)
    b = sim.book
    line = lines_of(b.line_offsets, ep.idx[rows])
    np.add.at(
        sim.la_other, (np.repeat(node, ep.n_lines[rows]), b.line_sku[line]), b.line_qty[line].astype(float)
    )


# ---------------------------------------------------------------------------------------------- solve
def solve(sim: SimState, ep: EpochOptions, batch: Batch, opt: np.ndarray) -> Choice:
    """Ask the router; its answer as candidate pairs (a split router's one-node answers are whole orders)."""
    line_ship = None
    router = sim.router
    if batch.split is not None:
        answer = cast(RoutesLines, router).route_lines(batch)  # declared: capabilities.max_shipments > 1
        choice, line_ship = np.asarray(answer.choice, np.int64), np.asarray(answer.line_ship, np.int64)
    else:
        choice = np.asarray(router.route(batch), np.int64)
    if router_capabilities(router).counts_fallbacks:
        sim.stats.fallbacks = int(cast(CountsFallbacks, router).fallbacks)
    n, P = ep.n, ep.n_pairs
    chosen = np.full(n, -1, np.int64)
    chosen[choice >= 0] = opt[choice[choice >= 0]]
    is_split = np.zeros(n, bool)
    if line_ship is not None and batch.split is not None and (line_ship >= 0).any():
        # an order shipped from one node is a whole order at that pair; from several, a split order
        assert ep.ships is not None
        lo = batch.split.line_order[line_ship >= 0]
        ls_pair = ep.ships.ships[line_ship[line_ship >= 0]]
        lo_min, lo_max = np.full(n, P, np.int64), np.full(n, -1, np.int64)
        np.minimum.at(lo_min, lo, ls_pair)
        np.maximum.at(lo_max, lo, ls_pair)
        one = (lo_max >= 0) & (lo_min == lo_max)
        chosen[one] = lo_min[one]
        is_split = (lo_max >= 0) & (lo_min != lo_max)
    return Choice(pair=chosen, is_split=is_split, line_ship=line_ship)


# ---------------------------------------------------------------------------------------------- repair
def repair(sim: SimState, ep: EpochOptions, chosen: np.ndarray) -> np.ndarray:
    """Unassign orders whose lines, taken in batch order, exceed the stock left at their node (a copy
    when any is unassigned; counted in ``router.repairs``)."""
    b, inv, idx = sim.book, sim.inv, ep.idx
    rows = np.flatnonzero(chosen >= 0)
    if not rows.size:
        return chosen
    node = ep.p_node[chosen[rows]]
    start, end = b.line_offsets[idx[rows]], b.line_offsets[idx[rows] + 1]
    cnt = end - start
    r = np.repeat(np.arange(rows.size), cnt)
    line = lines_of(b.line_offsets, idx[rows])
    sku = b.line_sku[line] if ep.sub_sku is None else ep.sku[entries_of(ep, chosen[rows])]  # with substitutes
    q = (b.line_qty[line] if ep.drop is None else ep.qty[entries_of(ep, chosen[rows])]).astype(np.int64)
    nd, sk = node[r], sku  # (a dropped line, tiers.substitution.drop, takes no units)
    key = nd.astype(np.int64) * inv.on_hand.shape[1] + sk
    o = np.lexsort((r, key))
    ks, qs = key[o], q[o]
    cum = np.cumsum(qs)
    first = np.searchsorted(ks, ks)
    before = np.where(first > 0, cum[first - 1], 0)
    need = cum - before
    avail = inv.on_hand[nd[o], sk[o]] - inv.reserved[nd[o], sk[o]]
    bad_rows = np.unique(r[o][need > avail])
    if bad_rows.size:  # conservative: a failed order's units are not handed to a later one this epoch
        chosen = chosen.copy()
        chosen[rows[bad_rows]] = -1
        sim.stats.repairs += int(bad_rows.size)
    return chosen


# ---------------------------------------------------------------------------------------------- dispatch
def dispatch(
    sim: SimState, ep: EpochOptions, chosen: np.ndarray, choice: Choice, split: SplitRows | None
) -> None:
    """Apply the repaired choice: whole orders (``apply_orders``), then split orders (``apply_split``)."""
    if not choice.is_split.any():
        apply_orders(sim, ep, None, chosen)
        return
    w = ~choice.is_split
    apply_orders(sim, ep, w, chosen[w])
    assert split is not None and choice.line_ship is not None
    apply_split(sim, ep, ep.idx[choice.is_split], choice.line_ship[choice.is_split[split.line_order]], split)
