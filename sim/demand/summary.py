"""What ``shangou demand`` reports: the demand of a run's days against the model, and every forecast
method scored against realised demand and against λ.

Days are the run's days (warm-up, then measured); forecasts are scored over the measured days only
(node x SKU x day cells), each method fed exactly as the engine feeds it: its pre-history, then
``forecast(d)`` at the start of day d and ``observe(d, orders)``. The oracle's λ against realised demand is the floor:
Poisson and day-level noise that no forecast can remove.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.catalog import build_catalog, top_count, zipf_probabilities, zipf_top_share
from sim.demand.basket_model import basket_model
from sim.demand.forecast import Forecaster
from sim.demand.profiles import DemandProfile
from sim.demand.source import demand_day
from sim.rng import RandomStreams
from sim.units import DAY, HOUR


@dataclass(frozen=True)
class Score:
    """One forecast method's WAPE and bias over the scored cells."""

    label: str
    method: str
    wape_actual: float
    bias_actual: float
    wape_rate: float
    bias_rate: float


@dataclass
class DemandSummary:
    """Measured demand of a run's days, the model's expectations, and forecast scores."""

    name: str
    source: str
    dates: list[str]
    warmup: int
    city_names: tuple[str, ...]
    orders: np.ndarray  # (D, C) orders per day and city
    expected: np.ndarray | None  # (D, C) expected orders (synthetic only)
    tier_counts: np.ndarray  # (3,)
    tier_expected: np.ndarray  # (3,) model share
    lines_per_order: float
    lines_expected: float
    units_per_order: float
    units_expected: float
    top_share: float
    top_share_zipf: float
    top_share_model: float
    hour_counts: np.ndarray  # (24,)
    hour_share: np.ndarray  # (24,) expected share
    sku_units: np.ndarray  # (S,) by catalog rank (0 = most popular)
    sku_share_model: np.ndarray  # (S,) by rank
    zipf: np.ndarray  # (S,) by rank
    scores: list[Score] = field(default_factory=list)
    cells: int = 0
    configured: str = ""
    seconds: float = 0.0
    history: dict[str, Any] = field(default_factory=dict)


def _with(sc: Any, **forecast: Any) -> Any:
    return sc.model_copy(update={"forecast": sc.forecast.model_copy(update=forecast)})


def summarise(sc: Any, days: int | None = None, replication: int = 0) -> DemandSummary:
    """Generate (or replay) warm-up + `days` days and score the forecast methods on the measured ones."""
    from sim.network import build_network

    t0 = time.perf_counter()
    days = int(days if days is not None else sc.horizon.days)
    warm = int(sc.horizon.warmup_days)
    total = warm + days
    net = build_network(sc)
    cat = build_catalog(sc)
    streams = RandomStreams(sc.seed, replication)
    bm = basket_model(sc, cat)
    profile = DemandProfile.of(sc, net)
    f = sc.forecast
    methods = [
        ("oracle", f"oracle error={f.error or 0:g}", sc),
        ("moving_average", f"moving_average w={f.window_days}", sc),
        ("exp_smoothing", f"exp_smoothing α={f.alpha:g}", sc),
        ("promotion_aware", f"promotion_aware α={f.alpha:g}", sc),
        ("hindsight", "hindsight (bound)", sc),
    ]
    fcs = [Forecaster(s, net, cat, streams, method=m, basket=bm) for m, _, s in methods]
    lam_fc = Forecaster(_with(sc, error=0.0), net, cat, streams, method="oracle", basket=bm)
    pre_days = sorted({d for fc in fcs for d in fc.history_range()})
    pre = {d: lam_fc.pre_start(d) for d in pre_days}  # one pre-history for every rolling method
    for fc in fcs:
        fc.warm_up(pre)
    n_c = len(net.city_names)
    orders = np.zeros((total, n_c), dtype=np.int64)
    expected = (
        np.array([profile.daily_expected(d) for d in range(total)])
        if sc.demand.source == "synthetic"
        else None
    )
    tiers = np.zeros(3, dtype=np.int64)
    hours = np.zeros(24, dtype=np.int64)
    sku_units = np.zeros(cat.n_skus)
    n_orders = n_lines = n_units = 0
    k = len(methods) + 1
    err_a, err_r, sum_f = np.zeros(k), np.zeros(k), np.zeros(k)
    sum_a = sum_r = 0.0
    cells = 0
    for d in range(total):
        preds = {i: fc.forecast(d) for i, fc in enumerate(fcs) if fc.method != "hindsight"}
        o = demand_day(sc, net, cat, streams, d)
        actual = lam_fc.realised(o)
        for fc in fcs:
            fc.observe(d, o, realised=actual)
        # hindsight is the day's own demand by definition: asked after observing it (no regeneration)
        preds |= {i: fc.forecast(d) for i, fc in enumerate(fcs) if fc.method == "hindsight"}
        orders[d] = np.bincount(o.city, minlength=n_c)
        tiers += np.bincount(o.requested_tier, minlength=3)
        hours += np.bincount(((o.created_s - d * DAY) // HOUR).astype(np.int64).clip(0, 23), minlength=24)
        sku_units += np.bincount(o.line_sku, weights=o.line_qty, minlength=cat.n_skus)
        n_orders += o.n_orders
        n_lines += o.n_lines
        n_units += int(o.line_qty.sum())
        if d < warm:
            continue
        lam = lam_fc.rate(d)
        cells += actual.size
        sum_a += float(actual.sum())
        sum_r += float(lam.sum())
        for i, p in enumerate([lam, *(preds[j] for j in range(len(fcs)))]):
            err_a[i] += float(np.abs(p - actual).sum())
            err_r[i] += float(np.abs(p - lam).sum())
            sum_f[i] += float(p.sum())

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    labels = [("oracle", "λ: the floor")] + [(m, lab) for m, lab, _ in methods]
    scores = [
        Score(
            lab,
            m,
            ratio(err_a[i], sum_a),
            ratio(sum_f[i] - sum_a, sum_a),
            ratio(err_r[i], sum_r),
            ratio(sum_f[i] - sum_r, sum_r),
        )
        for i, (m, lab) in enumerate(labels)
    ]
    by_rank = np.argsort(cat.rank, kind="stable")
    top = cat.top(top_count(cat.n_skus, 0.2))
    model_share = bm.sku_share()
    hist: dict[str, Any] = {}
    if sc.demand.source == "file":
        from sim.demand.history import load_history

        hist = dict(load_history(sc, net, cat).stats)
    return DemandSummary(
        name=sc.name,
        source=sc.demand.source,
        dates=[profile.date(d).isoformat() for d in range(total)],
        warmup=warm,
        city_names=net.city_names,
        orders=orders,
        expected=expected,
        tier_counts=tiers,
        tier_expected=bm.order_tier,
        lines_per_order=ratio(n_lines, n_orders),
        lines_expected=bm.lines_per_order,
        units_per_order=ratio(n_units, n_orders),
        units_expected=bm.units_per_order,
        top_share=ratio(float(sku_units[top].sum()), float(sku_units.sum())),
        top_share_zipf=zipf_top_share(cat.n_skus, sc.catalog.zipf_s),
        top_share_model=float(model_share[top].sum()),
        hour_counts=hours,
        hour_share=profile.hour_share,
        sku_units=sku_units[by_rank],
        sku_share_model=model_share[by_rank],
        zipf=zipf_probabilities(cat.n_skus, sc.catalog.zipf_s),
        scores=scores,
        cells=cells,
        configured=sc.forecast.method,
        seconds=time.perf_counter() - t0,
        history=hist,
    )
