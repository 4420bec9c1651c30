"""Forecasts per node x SKU x day, attributed to nodes by a fixed catchment (DESIGN.md section 7).

Catchment: every zone belongs to its nearest store that covers it (near-tier demand), its nearest
FDC that covers it (mid-tier demand) and its nearest NDC (all demand: far orders plus everything
the forward nodes it supplies will draw). Realised demand is attributed the same way from the
orders (``realised``), so forecasts, λ and actuals are comparable cell by cell.

λ (``rate``): a zone's expected orders x the expected units per order of SKU s requested at the
node's tier, from ``basket_model`` (exact successive-sampling positions, the tier renormalisation
and the first-line rule of the generator). With ``demand.source: file`` there is no model behind
the data, so λ is the empirical rate: each node's mean SKU mix over the file's days scaled to the
day's realised volume at that node.

Methods (``forecast.method``; ``forecast(day)`` is what policies see at the start of day `day`):
``oracle`` (λ; with ``forecast.error`` a lognormal noise of mean 1 and σ such that the WAPE against
λ is the target, E|X − 1| = 2(2Φ(σ/2) − 1), drawn from ``forecast.noise/<date>``);
``moving_average`` (``window_days``), ``exp_smoothing`` (``alpha``, weekday seasonality) and
``promotion_aware`` (smoothing on promotion-deflated data, known promotions re-applied) — rolling,
fed by ``observe(day, orders)``; see ``forecast_methods``. They start from the days just before
the run (``warm_up``): synthetic demand generated on those dates (streams are keyed by date, so
these are exactly the days an earlier-starting run would see), or the history file's rows before
``horizon.start_date``. Pre-history length: ``window_days`` for the moving average; for smoothing
the days after which the first observation weighs < 5 %, (1 − α)^H < 0.05, clipped to 7..56.
``hindsight``: the realised demand of the day itself — a bound, never a fair policy input. The ``error`` knob applies to
``oracle`` only: the rolling methods' error is what it is, and ``shangou demand`` measures it.
Forecasts depend on the scenario, seed, replication and the orders only — never on the policy or
router — so every policy sees the same forecasts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from scipy.special import ndtri

from sim.demand.basket_model import BasketModel, basket_model
from sim.demand.conversion import orders_factor
from sim.demand.forecast_methods import ExpSmoothing, MovingAverage, RollingMethod
from sim.demand.orders import MID, NEAR, Orders
from sim.demand.profiles import DemandProfile, day_factor, promotion_factor
from sim.rng import RandomStreams
from sim.vocab import NodeKind

STORE, FDC, NDC = NodeKind.STORE, NodeKind.FDC, NodeKind.NDC
METHODS = ("moving_average", "exp_smoothing", "promotion_aware", "oracle", "hindsight")


def sigma_for_wape(wape: float) -> float:
    """Lognormal sigma whose mean-1 noise has E|X - 1| = wape (0 <= wape < 2)."""
    if not 0 <= wape < 2:
        raise ValueError(f"forecast.error: WAPE must be in [0, 2), got {wape}")
    return float(2.0 * ndtri((1.0 + wape / 2.0) / 2.0))  # scipy.stats.norm.ppf, without importing scipy.stats


def catchment(network: Any, kind: int) -> np.ndarray:
    """(Z,) index of the nearest node of `kind` that covers each zone (-1 if none; NDCs cover all)."""
    nodes = np.flatnonzero(network.node_kind == kind)
    if nodes.size == 0:
        return np.full(network.n_zones, -1)
    d = np.where(network.covers()[:, nodes], network.road_km[:, nodes], np.inf)
    best = d.argmin(axis=1)
    return np.where(np.isfinite(d[np.arange(network.n_zones), best]), nodes[best], -1)


def wape(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Σ|forecast − actual| / Σ actual over all cells (node x SKU x day); NaN when nothing happened."""
    total = float(np.sum(actual))
    return float(np.abs(np.asarray(forecast) - actual).sum() / total) if total > 0 else float("nan")


def bias(forecast: np.ndarray, actual: np.ndarray) -> float:
    """(Σ forecast − Σ actual) / Σ actual: positive = over-forecast."""
    total = float(np.sum(actual))
    return float((np.sum(forecast) - total) / total) if total > 0 else float("nan")


class Forecaster:
    """λ, realised demand and the configured forecast per node x SKU for a run (see the module docstring)."""

    def __init__(
        self,
        sc: Any,
        network: Any,
        catalog: Any,
        streams: RandomStreams,
        method: str | None = None,
        basket: BasketModel | None = None,
    ) -> None:
        self.method = method or sc.forecast.method
        if self.method not in METHODS:
            raise ValueError(f"forecast.method: unknown method {self.method!r}; known: {', '.join(METHODS)}")
        self.sc, self.net, self.cat, self.streams = sc, network, catalog, streams
        self.profile = DemandProfile.of(sc, network)
        self.basket = basket if basket is not None else basket_model(sc, catalog)
        self.units_per_order = self.basket.units_per_order
        city_w = np.bincount(
            network.zone_city, weights=network.zone_weight, minlength=len(network.city_names)
        )
        self.zone_share = network.zone_weight / np.maximum(city_w[network.zone_city], 1e-300)
        self.catch = {k: catchment(network, k) for k in (STORE, FDC, NDC)}
        err = sc.forecast.error
        self.sigma = sigma_for_wape(err) if err and self.method == "oracle" else 0.0
        self.shape = (network.n_nodes, catalog.n_skus)
        self._plain = self._model_rate(1.0)
        self._file_rate: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._seen: dict[int, np.ndarray] = {}  # hindsight: realised demand of observed days
        self.rolling: RollingMethod | None = None
        self._warm = False
        f = sc.forecast
        if self.method == "moving_average":
            self.rolling = MovingAverage(self._plain, f.window_days)
        elif self.method in ("exp_smoothing", "promotion_aware"):
            self.rolling = ExpSmoothing(
                self._plain,
                f.alpha,
                self.profile.date,
                self.known_promotion if self.method == "promotion_aware" else None,
            )

    # ------------------------------------------------------------------ λ
    def _model_rate(self, factor: float) -> np.ndarray:
        """(N, S) expected units on a day whose volume is `factor` x a plain day (synthetic model)."""
        zone_orders = (
            self.profile.orders_per_day
            * self.profile.city_share[self.net.zone_city]
            * self.zone_share
            * factor
        )
        out = np.zeros(self.shape)
        units = self.basket.units * orders_factor(self.sc)[None, :]  # (S, 3); conversion scales each tier
        for kind, col in ((STORE, units[:, NEAR]), (FDC, units[:, MID]), (NDC, units.sum(axis=1))):
            c = self.catch[kind]
            m = c >= 0
            orders = np.bincount(c[m], weights=zone_orders[m], minlength=self.net.n_nodes)
            rows = np.flatnonzero(self.net.node_kind == kind)
            out[rows] = orders[rows, None] * col[None, :]
        return out

    def rate(self, day: int) -> np.ndarray:
        """True expected units per day (N, S) for `day` (the oracle, λ); promotions included."""
        if self.sc.demand.source == "file":
            return self._empirical_rate(day)
        return self._plain * day_factor(self.sc.demand, self.profile.date(day))

    def prior(self) -> np.ndarray:
        """(N, S) expected units of a plain day from the scenario's parameters (rolling methods' fallback)."""
        return self._plain.copy()

    def known_promotion(self, date: dt.date) -> float:
        """Product of the factors of the promotions the forecast knows about on `date`."""
        known = tuple(p for p in self.sc.demand.promotions if p.known_to_forecast)
        return promotion_factor(_Promotions(known), date)

    def _empirical_rate(self, day: int) -> np.ndarray:
        if self._file_rate is None:
            from sim.demand.history import history_days
            from sim.demand.source import demand_day

            days = [d for d in history_days(self.sc, self.net, self.cat) if d >= 0]
            mix = np.zeros(self.shape)
            vol = {}
            for d in days:
                x = self.realised(demand_day(self.sc, self.net, self.cat, self.streams, d))
                mix += x
                vol[d] = x.sum(axis=1)
            mean_vol = mix.sum(axis=1) / max(len(days), 1)
            mix = mix / max(len(days), 1)
            table = np.array([vol[d] for d in days]).reshape(len(days), self.net.n_nodes)
            self._file_rate = (
                np.asarray(days, dtype=np.int64),
                table,
                mix / np.where(mean_vol > 0, mean_vol, 1.0)[:, None],
            )
        days_arr, table, norm_mix = self._file_rate
        hit = np.flatnonzero(days_arr == day)
        if not hit.size:
            return np.zeros(self.shape)
        return norm_mix * table[hit[0]][:, None]

    # ------------------------------------------------------------------ realised demand
    def realised(self, orders: Orders) -> np.ndarray:
        """(N, S) units of `orders` attributed by catchment: near to the store, mid to the FDC, all to the NDC."""
        n_sku = self.cat.n_skus
        line_zone = np.repeat(orders.zone, orders.lines_per_order())
        line_tier = np.repeat(orders.requested_tier, orders.lines_per_order())
        qty = orders.line_qty.astype(float)
        flat = np.zeros(self.shape[0] * n_sku)
        for kind, tier in ((STORE, NEAR), (FDC, MID), (NDC, None)):
            node = self.catch[kind][line_zone]
            m = node >= 0
            if tier is not None:
                m &= line_tier == tier
            flat += np.bincount(node[m] * n_sku + orders.line_sku[m], weights=qty[m], minlength=flat.size)
        return flat.reshape(self.shape)

    def observe(self, day: int, orders: Orders, realised: np.ndarray | None = None) -> None:
        """Feed the realised orders of `day` (the engine calls this right after generating them).

        `realised` may pass ``self.realised(orders)`` already computed (several forecasters, one day).
        """
        if self.rolling is None and self.method != "hindsight":
            return  # oracle: nothing to learn
        x = self.realised(orders) if realised is None else realised
        if self.rolling is not None:
            self.warm_up()
            self.rolling.observe(day, x)
        else:
            self._seen = {d: v for d, v in self._seen.items() if d >= day - 1}
            self._seen[day] = x

    # ------------------------------------------------------------------ pre-history
    def history_range(self) -> range:
        """Days before the run (negative indices) a rolling method learns from before day 0."""
        f = self.sc.forecast
        if self.method == "moving_average":
            return range(-int(f.window_days), 0)
        if self.method in ("exp_smoothing", "promotion_aware"):
            h = np.ceil(np.log(0.05) / np.log1p(-f.alpha)) if f.alpha < 1 else 1
            return range(-int(np.clip(h, 7, 56)), 0)
        return range(0)

    def pre_start(self, day: int) -> np.ndarray | None:
        """(N, S) realised demand of a day before the run (day < 0), or None if there is no such data."""
        if day >= 0:
            raise ValueError(f"pre_start is for days before the run, got day {day}")
        if self.sc.demand.source == "file":
            from sim.demand.history import history_day, history_days

            if day < history_days(self.sc, self.net, self.cat)[0]:
                return None  # before the file begins: no data (a day inside it without rows had none)
            return self.realised(history_day(self.sc, self.net, self.cat, self.streams, day))
        from sim.demand.generate import generate_day

        h = self.sc.horizon
        shifted = self.sc.model_copy(
            update={"horizon": h.model_copy(update={"start_date": self.profile.date(day)})}
        )
        return self.realised(generate_day(shifted, self.net, self.cat, self.streams, 0))

    def warm_up(self, realised: dict[int, np.ndarray | None] | None = None) -> None:
        """Feed the pre-history (once; the first forecast or observation does it). `realised` may
        pass days already computed (several forecasters sharing one pre-history)."""
        if self._warm or self.rolling is None:
            self._warm = True
            return
        self._warm = True
        for d in self.history_range():
            x = realised[d] if realised is not None and d in realised else self.pre_start(d)
            if x is not None:
                self.rolling.observe(d, x)

    # ------------------------------------------------------------------ forecasts
    def forecast(self, day: int) -> np.ndarray:
        """(N, S) what the policies see for `day`: rolling methods use observed days < `day` only."""
        if self.rolling is not None:
            self.warm_up()
            return self.rolling.predict(day)
        if self.method == "hindsight":
            if day not in self._seen:
                from sim.demand.source import demand_day

                self._seen[day] = self.realised(demand_day(self.sc, self.net, self.cat, self.streams, day))
            return self._seen[day].copy()
        lam = self.rate(day)
        if self.sigma == 0.0:
            return lam
        rng = self.streams.get(f"forecast.noise/{self.profile.date(day).isoformat()}")
        noise = rng.lognormal(-(self.sigma**2) / 2.0, self.sigma, size=lam.shape)
        return lam * noise


class _Promotions:
    """A demand-section stand-in holding only some promotions (for ``promotion_factor``)."""

    def __init__(self, promotions: tuple[Any, ...]) -> None:
        self.promotions = promotions
