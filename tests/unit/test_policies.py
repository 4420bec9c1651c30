"""The stocking policies: base_stock, cost_optimal (and its per-node knapsack), forecast_push.

Levels are checked against scipy.stats directly, capacities against the context, the knapsack
against brute force, and every policy for determinism. Contexts are synthetic (policy_ctx.py).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from policy_ctx import synthetic_ctx
from scipy import stats

from sim.policies import knapsack
from sim.policies.base import Transfers, make_policy, with_downstream
from sim.policies.base_stock import BaseStock
from sim.policies.cost_optimal import CostOptimal
from sim.policies.forecast_push import ForecastPush
from sim.policies.knapsack import Items, solve
from sim.rng import RandomStreams
from sim.spec import parse_spec
from sim.units import DAY

ALL = [
    "base_stock(service=0.9)",
    "base_stock(service=0.95,measure='fill',dist='negbin',cv=0.3)",
    "cost_optimal",
    "forecast_push(service=0.9)",
    "top_n(n=50)",
]


def fwd_mu(ctx):
    cover = ctx.cover_s / DAY
    lead = (ctx.cover_s - ctx.review_s) / DAY
    fwd = ctx.node_kind > 0
    return fwd, ctx.forecast * lead[:, None], ctx.forecast * cover[:, None]


def brute_loss(s, mu, pmf):
    d = np.arange(0, int(mu * 3 + 12 * np.sqrt(mu + 1) + s + 60))
    return float((np.maximum(d - s, 0) * pmf(d)).sum())


# ----------------------------------------------------------------------------- base_stock
@pytest.mark.parametrize("service", [0.5, 0.9, 0.99])
def test_base_stock_cycle_levels_are_scipy_poisson_quantiles(service):
    ctx = synthetic_ctx(n_skus=300)
    fwd, _, mu = fwd_mu(ctx)
    got = BaseStock(service=service, normal_above=1e12).raw_levels(ctx)
    want = np.where(mu > 0, stats.poisson.ppf(service, mu), 0)
    assert np.array_equal(got[fwd], want[fwd].astype(np.int64))
    assert not got[~fwd].any()
    small = fwd[:, None] & (mu < 500)  # the default switches to the normal at 500
    assert np.array_equal(BaseStock(service=service).raw_levels(ctx)[small], want[small].astype(np.int64))


def test_base_stock_negbin_levels_are_scipy_nbinom_quantiles():
    ctx = synthetic_ctx(n_skus=300)
    fwd, _, mu = fwd_mu(ctx)
    cv = 0.4
    r = 1 / cv**2
    got = BaseStock(service=0.95, dist="negbin", cv=cv, normal_above=1e12).raw_levels(ctx)
    want = stats.nbinom.ppf(0.95, r, r / (r + mu[fwd]))
    assert np.array_equal(got[fwd], want.astype(np.int64))
    # the context's forecast CV is the default dispersion
    ctx2 = replace(ctx, forecast_cv=cv)
    assert np.array_equal(BaseStock(service=0.95, dist="negbin", normal_above=1e12).raw_levels(ctx2), got)


def test_base_stock_fill_rate_is_the_smallest_level_meeting_the_loss_function_target():
    ctx = synthetic_ctx(n_skus=40, n_stores=2, n_fdcs=1)
    fwd, mu_l, mu_rl = fwd_mu(ctx)
    beta = 0.95
    got = BaseStock(service=beta, measure="fill").raw_levels(ctx)
    for n, s in zip(*np.nonzero(fwd[:, None] & (ctx.forecast > 0)), strict=True):
        ml, mrl = mu_l[n, s], mu_rl[n, s]

        def fill(k, ml=ml, mrl=mrl):
            short = brute_loss(k, mrl, lambda d: stats.poisson.pmf(d, mrl)) - brute_loss(
                k, ml, lambda d: stats.poisson.pmf(d, ml)
            )
            return 1 - short / (mrl - ml)

        k = got[n, s]
        assert fill(k) >= beta - 1e-12
        assert k == 0 or fill(k - 1) < beta


def test_base_stock_switches_to_normal_only_for_large_means():
    mu = np.array([[0.0, 50.0, 499.0, 501.0, 5000.0]])
    ctx = synthetic_ctx(n_ndcs=1, n_fdcs=1, n_stores=0, n_skus=5, fdc_slots=10, fdc_volume_m3=1e9)
    ctx = replace(ctx, forecast=np.vstack([mu, mu]), cover_s=np.array([DAY, DAY]), review_s=DAY)
    got = BaseStock(service=0.95).raw_levels(ctx)[1]
    exact = stats.poisson.ppf(0.95, mu[0])
    assert np.array_equal(got[:3], exact[:3].astype(np.int64))  # below normal_above: exact
    assert np.all(np.abs(got[3:] - exact[3:]) <= 1)  # normal with continuity correction
    assert np.array_equal(
        BaseStock(service=0.95, normal_above=1e9).raw_levels(ctx)[1], exact.astype(np.int64)
    )


@pytest.mark.parametrize("measure", ["cycle", "fill"])
@pytest.mark.parametrize("dist", ["poisson", "negbin"])
def test_higher_service_gives_higher_levels(measure, dist):
    ctx = synthetic_ctx(
        n_skus=300, store_slots=10**6, fdc_slots=10**6, store_volume_m3=1e9, fdc_volume_m3=1e9
    )
    levels = [BaseStock(service=q, measure=measure, dist=dist).targets(ctx) for q in (0.8, 0.9, 0.95, 0.99)]
    for a, b in itertools.pairwise(levels):
        assert (b >= a).all() and (b > a).any()


def test_fdc_targets_include_their_stores():
    ctx = synthetic_ctx(
        n_skus=100, store_slots=10**6, fdc_slots=10**6, store_volume_m3=1e9, fdc_volume_m3=1e9
    )
    pol = BaseStock(service=0.9)
    raw, tg = pol.raw_levels(ctx), pol.targets(ctx)
    for f in np.flatnonzero(ctx.node_kind == 1):
        stores = np.flatnonzero(ctx.supplier == f)
        assert np.array_equal(tg[f], raw[f] + raw[stores].sum(axis=0))


@pytest.mark.parametrize("spec", ALL)
def test_levels_respect_slots_and_volume(spec):
    ctx = synthetic_ctx(n_skus=400, store_slots=60, fdc_slots=150, store_volume_m3=0.4, fdc_volume_m3=3.0)
    tg = make_policy(parse_spec(spec)).targets(ctx)
    assert tg.dtype == np.int64 and (tg >= 0).all()
    assert not tg[ctx.node_kind == 0].any()
    for n in np.flatnonzero(ctx.node_kind > 0):
        assert (tg[n] > 0).sum() <= ctx.slots[n]
        assert (tg[n] * ctx.volume_l).sum() / 1000 <= ctx.volume_m3[n] + 1e-9


@pytest.mark.parametrize("spec", ALL)
def test_policies_are_deterministic(spec):
    a = make_policy(parse_spec(spec)).targets(synthetic_ctx(n_skus=300, store_volume_m3=0.5))
    b = make_policy(parse_spec(spec)).targets(synthetic_ctx(n_skus=300, store_volume_m3=0.5))
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "spec, words",
    [
        ("base_stock(service=1.5)", ("base_stock", "service")),
        ("base_stock(service=0)", ("base_stock", "service")),
        ("base_stock(measure='ready')", ("base_stock", "measure")),
        ("base_stock(dist='gamma')", ("base_stock", "dist")),
        ("base_stock(cv=-1)", ("base_stock", "cv")),
        ("base_stock(servce=0.9)", ("base_stock", "servce")),
        ("cost_optimal(services=[0.5,1.2])", ("cost_optimal", "services")),
        ("cost_optimal(solver='scip')", ("cost_optimal", "solver")),
        ("cost_optimal(holding_weight=-2)", ("cost_optimal", "holding_weight")),
        ("cost_optimal(max_deterministic_time=0)", ("cost_optimal", "max_deterministic_time")),
        ("forecast_push(horizon_days=1.5)", ("forecast_push", "horizon_days")),
        ("forecast_push(rebalance=3)", ("forecast_push", "rebalance")),
        ("forecast_push(service='high')", ("forecast_push", "service")),
    ],
)
def test_bad_parameters_name_the_policy_and_parameter(spec, words):
    with pytest.raises(ValueError) as exc:
        make_policy(parse_spec(spec))
    assert all(w in str(exc.value) for w in words), str(exc.value)


# ----------------------------------------------------------------------------- knapsack / cost_optimal
def random_items(rng, n_skus, n_levels):
    group = np.repeat(np.arange(n_skus), n_levels)
    level = np.tile(np.arange(1, n_levels + 1), n_skus) * rng.integers(1, 4, n_skus).repeat(n_levels)
    unit_vol = rng.uniform(0.2, 3.0, n_skus).repeat(n_levels)
    base = rng.uniform(0.5, 5.0, n_skus).repeat(n_levels)
    value = base * np.sqrt(level) - 0.3 * level + rng.uniform(0, 0.5, group.size)
    keep = value > 0
    return Items(group[keep], level[keep], value[keep], np.ones(keep.sum()), (level * unit_vol)[keep])


def brute_force(items, slots, volume):
    groups = np.unique(items.group)
    options = [[-1, *np.flatnonzero(items.group == g).tolist()] for g in groups]
    best = 0.0
    for pick in itertools.product(*options):
        chosen = np.zeros(items.size, bool)
        chosen[[i for i in pick if i >= 0]] = True
        if knapsack.feasible(items, chosen, slots, volume):
            best = max(best, knapsack.objective(items, chosen))
    return best


@pytest.mark.parametrize("case", range(12))
def test_knapsack_matches_brute_force_and_beats_greedy(case):
    rng = RandomStreams(7, case).get("tests.knapsack")
    items = random_items(rng, n_skus=int(rng.integers(3, 7)), n_levels=int(rng.integers(1, 4)))
    slots = int(rng.integers(1, 5))
    volume = float(items.volume.sum() * rng.uniform(0.1, 0.6))
    opt = brute_force(items, slots, volume)
    g = knapsack.greedy(items, slots, volume)
    assert knapsack.feasible(items, g, slots, volume)
    for method in ("auto", "cp_sat"):
        sol = solve(items, slots, volume, method=method, gap=0.0)
        assert knapsack.feasible(items, sol.chosen, slots, volume)
        assert sol.objective == pytest.approx(opt, rel=1e-6, abs=1e-9)
        assert sol.objective >= knapsack.objective(items, g) - 1e-12


def test_knapsack_without_binding_volume_is_exact_by_sorting():
    rng = RandomStreams(7).get("tests.knapsack.slack")
    items = random_items(rng, n_skus=6, n_levels=3)
    sol = solve(items, 3, 1e9)
    assert sol.method == "exact"
    assert sol.objective == pytest.approx(brute_force(items, 3, 1e9))


def test_knapsack_falls_back_to_greedy_when_the_solver_fails(monkeypatch):
    rng = RandomStreams(7).get("tests.knapsack.fail")
    items = random_items(rng, n_skus=6, n_levels=3)
    volume = float(items.volume.sum() * 0.3)

    def broken(*args, **kwargs):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(knapsack, "cp_sat", broken)
    sol = solve(items, 3, volume, method="cp_sat", gap=0.0)
    assert sol.method == "greedy_fallback"
    assert knapsack.feasible(items, sol.chosen, 3, volume)
    assert sol.objective >= knapsack.objective(items, knapsack.greedy(items, 3, volume))
    monkeypatch.setattr(knapsack, "cp_sat", lambda *a, **k: None)  # stopped without a solution
    assert solve(items, 3, volume, method="cp_sat", gap=0.0).method == "greedy_fallback"
    monkeypatch.setattr(knapsack, "lagrange", broken)  # even the start failing leaves the plain greedy
    sol = solve(items, 3, volume, method="cp_sat", gap=0.0)
    assert sol.method == "greedy_fallback" and np.array_equal(sol.chosen, knapsack.greedy(items, 3, volume))


def node_objective(pol, ctx, targets):
    """cost_optimal's own objective of a target matrix (stores only: no echelon coupling)."""
    from sim.policies.base_stock import demand_model
    from sim.policies.costs import default_costs

    costs = default_costs(ctx.node_kind, ctx.supplier, ctx.forecast.shape[1])
    model = demand_model(pol.dist, pol.cv, pol.normal_above, ctx)
    total = 0.0
    for n in np.flatnonzero(ctx.node_kind == 2):
        items = pol.node_items(ctx, costs, model, n, float(ctx.slots[n]), None)
        lv = dict(zip(items.group.tolist(), range(items.size), strict=False))
        for s in np.flatnonzero(targets[n]).tolist():
            i = np.flatnonzero((items.group == s) & (items.level == targets[n, s]))
            assert i.size == 1, (n, s, lv.get(s))
            total += float(items.value[i[0]])
    return total


def test_cost_optimal_never_worse_than_greedy_and_uses_the_solver_when_volume_binds():
    ctx = synthetic_ctx(n_skus=120, n_stores=3, n_fdcs=1, store_slots=40, store_volume_m3=0.15)
    mip, greedy = CostOptimal(), CostOptimal(solver="greedy")
    a, b = mip.targets(ctx), greedy.targets(ctx)
    assert sum(mip.last_stats["methods"].get(m, 0) for m in ("cp_sat", "lagrange")) >= 3
    assert node_objective(mip, ctx, a) >= node_objective(greedy, ctx, b) - 1e-9


def test_cost_optimal_holds_less_when_holding_costs_more():
    ctx = synthetic_ctx(n_skus=300)
    units = [
        CostOptimal(holding_weight=w).targets(ctx)[ctx.node_kind > 0].sum() for w in (0.5, 1.0, 4.0, 20.0)
    ]
    assert all(a >= b for a, b in itertools.pairwise(units)) and units[0] > units[-1]


def test_cost_optimal_uses_the_context_costs():
    from sim.policies.costs import default_costs

    ctx = synthetic_ctx(n_skus=300)
    base = default_costs(ctx.node_kind, ctx.supplier, 300)
    cheap_fallback = replace(
        base,
        fallback_cny=np.minimum(base.fallback_cny, base.serve_cny[:, None] + 0.01),
        lost_goodwill_cny=0.0,
        lost_margin_rate=0.0,
    )
    rich = CostOptimal().targets(replace(ctx, costs=base))
    poor = CostOptimal().targets(replace(ctx, costs=cheap_fallback))
    assert poor[ctx.node_kind > 0].sum() < 0.2 * rich[ctx.node_kind > 0].sum()


def test_cost_optimal_spoilage_cuts_perishable_stock():
    from sim.policies.costs import default_costs

    ctx = synthetic_ctx(n_skus=200)
    base = default_costs(ctx.node_kind, ctx.supplier, 200)
    fresh = replace(base, shelf_life_days=np.full(200, 1.0))
    a = CostOptimal().targets(replace(ctx, costs=base))
    b = CostOptimal().targets(replace(ctx, costs=fresh))
    assert b[ctx.node_kind > 0].sum() < a[ctx.node_kind > 0].sum()


def test_fdc_keeps_room_for_its_stores():
    ctx = synthetic_ctx(n_skus=200, fdc_slots=120, store_slots=60)
    tg = CostOptimal().targets(ctx)
    raw_stores = np.where(ctx.node_kind[:, None] == 2, tg, 0)
    for f in np.flatnonzero(ctx.node_kind == 1):
        stores = np.flatnonzero(ctx.supplier == f)
        assert (tg[f] >= raw_stores[stores].sum(axis=0)).all()
        assert (tg[f] > 0).sum() <= ctx.slots[f]


# ----------------------------------------------------------------------------- forecast_push
def promo_ctx(day, promo_day, factor=10.0, **kw):
    base = synthetic_ctx(
        n_skus=200, store_slots=10**6, fdc_slots=10**6, store_volume_m3=1e9, fdc_volume_m3=1e9
    )
    plain = base.forecast

    def ahead(d):
        return plain * (factor if d == promo_day else 1.0)

    return replace(base, day=day, forecast=ahead(day), forecast_ahead=ahead, **kw)


def test_forecast_push_equals_base_stock_on_a_flat_forecast():
    ctx = promo_ctx(day=0, promo_day=-100)
    bs = BaseStock(service=0.9).targets(ctx)
    assert np.array_equal(ForecastPush(service=0.9).targets(ctx), bs)
    assert np.array_equal(ForecastPush(service=0.9).targets(replace(ctx, forecast_ahead=None)), bs)


def test_forecast_push_raises_targets_before_a_known_promotion_and_not_after():
    promo = 10
    push, bs = ForecastPush(service=0.9, horizon_days=3), BaseStock(service=0.9)
    fwd = None
    for day in range(4, 14):
        ctx = promo_ctx(day, promo)
        fwd = ctx.node_kind > 0
        p, b = push.targets(ctx), bs.targets(ctx)
        if day < promo:
            assert (p >= b).all()
        if promo - 3 <= day < promo:  # the peak's cover window starts within the push horizon
            assert p[fwd].sum() > 2 * b[fwd].sum(), day
        elif day > promo or day < promo - 3 - 1:  # after the peak, and well before it
            assert np.array_equal(p, b), day
        elif day == promo:  # on the peak day its window sees the peak end; base_stock holds 10x for all of it
            assert p[fwd].sum() < b[fwd].sum()


def test_forecast_push_rebalances_between_fdcs_only_when_the_supplier_is_short():
    ctx = synthetic_ctx(n_skus=3, n_fdcs=2, n_stores=0)
    on_hand = np.zeros((3, 3), np.int64)
    on_hand[1] = [500, 500, 10]  # FDC 1 holds a surplus of SKUs 0 and 1
    targets = np.array([[0, 0, 0], [100, 100, 10], [300, 300, 300]])
    on_hand[0] = [0, 1000, 0]  # the NDC is out of SKU 0 and 2 but has plenty of SKU 1
    ctx = replace(ctx, on_hand=on_hand)
    tr = ForecastPush(min_lot=0).transfers(ctx, targets)
    assert isinstance(tr, Transfers)
    assert (
        tr.src.tolist() == [1]
        and tr.dst.tolist() == [2]
        and tr.sku.tolist() == [0]
        and tr.qty.tolist() == [300]
    )
    assert ForecastPush(min_lot=1000).transfers(ctx, targets).qty.size == 0
    assert ForecastPush(rebalance=False).transfers(ctx, targets).qty.size == 0


def test_with_downstream_is_unchanged_for_cost_optimal_stores():
    ctx = synthetic_ctx(n_skus=100)
    tg = CostOptimal().targets(ctx)
    stores = np.where(ctx.node_kind[:, None] == 2, tg, 0)
    assert np.array_equal(with_downstream(stores, ctx)[ctx.node_kind == 2], tg[ctx.node_kind == 2])


def test_knapsack_core_solve_is_feasible_and_no_worse_than_its_start():
    rng = RandomStreams(7).get("tests.knapsack.core")
    items = random_items(rng, n_skus=80, n_levels=4)
    slots, volume = 30, float(items.volume.sum() * 0.15)
    lag, _, bound = knapsack.lagrange(items, slots, volume)
    start = knapsack.greedy(items, slots, volume, start=lag)
    sol = solve(items, slots, volume, method="cp_sat", core=10, gap=0.0)
    assert knapsack.feasible(items, sol.chosen, slots, volume)
    assert knapsack.objective(items, start) - 1e-9 <= sol.objective <= bound + 1e-9
    assert sol.objective >= knapsack.objective(items, knapsack.greedy(items, slots, volume)) - 1e-9


def test_forecast_push_does_not_push_forecast_noise():
    base = synthetic_ctx(
        n_skus=300, store_slots=10**6, fdc_slots=10**6, store_volume_m3=1e9, fdc_volume_m3=1e9
    )

    def noisy(d):  # independent 30%-WAPE-like noise every day, no peak
        return base.forecast * RandomStreams(3, 0).get(f"tests.noise/{d}").lognormal(
            -0.08, 0.4, base.forecast.shape
        )

    ctx = replace(base, day=5, forecast=noisy(5), forecast_ahead=noisy)
    fwd = ctx.node_kind > 0
    p = ForecastPush(service=0.9).targets(ctx)[fwd].sum()
    b = BaseStock(service=0.9).targets(ctx)[fwd].sum()
    assert abs(p / b - 1) < 0.03


def test_policy_costs_from_the_toy_scenario(toy):
    from sim.catalog import build_catalog
    from sim.network import build_network
    from sim.policies.costs import policy_costs

    net, cat = build_network(toy), build_catalog(toy)
    c = policy_costs(toy, net, cat)
    kind = net.node_kind
    far = toy.costs.ndc_handling_per_order_cny + toy.costs.parcel.per_order_cny
    assert c.serve_cny[kind == 0] == pytest.approx(far)
    r = toy.costs.riders
    assert (c.serve_cny[kind == 2] > r.base_per_trip_cny).all() and (c.serve_cny[kind == 2] < far).all()
    fdc = np.flatnonzero(kind == 1)[0]
    stores = np.flatnonzero(kind == 2)
    acc = toy.tiers.downgrade_acceptance
    assert c.fallback_cny[stores, 0] == pytest.approx(c.serve_cny[fdc])  # mid at the store's FDC
    assert c.fallback_accept[stores].tolist() == [[acc.near_mid, acc.near_far]] * stores.size
    assert c.fallback_cny[fdc, 0] == pytest.approx(far) and c.fallback_accept[fdc, 0] == acc.mid_far
    # store stock pays both lanes, FDC stock one
    assert c.transfer_unit_cny[stores] == pytest.approx(
        net.truck_per_unit_cny[stores] + net.truck_per_unit_cny[fdc]
    )
    assert c.transfer_litre_cny[fdc] == pytest.approx(
        net.truck_fixed_cny[fdc] / net.truck_capacity_m3[fdc] / 1000
    )
    assert c.qty_per_line == toy.demand.basket.mean_qty
    learned = policy_costs(toy, net, cat, transport_cny=np.where(kind == 2, 2.0, np.nan))
    assert (learned.serve_cny[stores] < c.serve_cny[stores]).all()
