"""Demand over a cover window and the inventory functions the stocking policies share.

Demand of one node x SKU over a window with mean mu is
- ``poisson``: Poisson(mu) — the demand model of the generator when the forecast is the true rate;
- ``negbin``: negative binomial with variance mu + (cv mu)^2, i.e. a Poisson whose rate carries a
  gamma-distributed forecast error of coefficient of variation `cv` (r = 1/cv^2, p = r / (r + mu)).

For means >= ``normal_above`` both switch to a normal with the same mean and variance, with a
continuity correction: at mu = 500 the Poisson skewness is 1/sqrt(mu) ~ 0.045 and the normal
quantile is within one unit of the exact one, while the discrete functions gain nothing.

Functions (all vectorised, broadcasting `k` against `mu`):
``cdf`` P(D <= k); ``ppf`` smallest integer k with P(D <= k) >= q; ``loss`` E[(D - k)^+] (the
standard first-order loss function); ``sales`` E[min(D, k)] = mu - loss.
Loss in closed form: sum_{d>k} d p(d) = mu P(D' >= k) with D' ~ Poisson(mu) for Poisson and
D' ~ NB(r + 1, p) for the negative binomial, so E[(D - k)^+] = mu P(D' >= k) - k P(D > k).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy import special

DISTS = ("poisson", "negbin")


@dataclass(frozen=True)
class DemandModel:
    """Distribution family of demand over a window (see the module docstring)."""

    dist: str = "poisson"
    cv: float = 0.0
    normal_above: float = 500.0

    def __post_init__(self) -> None:
        if self.dist not in DISTS:
            raise ValueError(f"dist must be one of {', '.join(DISTS)}, got {self.dist!r}")
        if not (np.isfinite(self.cv) and self.cv >= 0):
            raise ValueError(f"cv must be a finite number >= 0, got {self.cv}")
        if not self.normal_above > 0:
            raise ValueError(f"normal_above must be > 0, got {self.normal_above}")

    @property
    def negbin(self) -> bool:
        return self.dist == "negbin" and self.cv > 0

    def variance(self, mu: np.ndarray) -> np.ndarray:
        mu = np.asarray(mu, float)
        return mu + (self.cv * mu) ** 2 if self.negbin else mu

    def _split(self, k: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        k, mu = np.broadcast_arrays(np.asarray(k, float), np.asarray(mu, float))
        pos = mu > 0
        big = pos & (mu >= self.normal_above)
        return k, mu, pos & ~big, big

    def _sf_exact(self, k: np.ndarray, mu: np.ndarray, extra: float = 0.0) -> np.ndarray:
        """P(D > k) for integer k, mu > 0; `extra` = 1 gives NB(r + 1, p) (used by the loss)."""
        k = np.floor(k)
        out = np.ones(np.shape(k))
        ok = k >= 0
        if self.negbin:
            r = 1.0 / self.cv**2
            out[ok] = 1.0 - special.betainc(
                r + extra, k[ok] + 1.0, r / (r + mu[ok])
            )  # betaincc is ~6x slower
        else:
            out[ok] = special.pdtrc(k[ok], mu[ok])
        return out

    def cdf(self, k: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """P(D <= k); D = 0 surely when mu <= 0."""
        k, mu, small, big = self._split(k, mu)
        out = np.where(k >= 0, 1.0, 0.0)
        if small.any():
            out[small] = 1.0 - self._sf_exact(k[small], mu[small])
        if big.any():
            sd = np.sqrt(self.variance(mu[big]))
            out[big] = special.ndtr((np.floor(k[big]) + 0.5 - mu[big]) / sd)
        return out

    def ppf(self, q: float | np.ndarray, mu: np.ndarray) -> np.ndarray:
        """Smallest integer k >= 0 with P(D <= k) >= q (int64; exact below `normal_above`).

        Starts from the Cornish-Fisher guess and steps to the exact answer with the cdf (scipy's
        discrete ppf is ~25x slower on a network's million cells).
        """
        q_arr, mu_arr = np.broadcast_arrays(np.asarray(q, float), np.asarray(mu, float))
        out = np.zeros(mu_arr.shape, np.int64)
        pos = mu_arr > 0
        big = pos & (mu_arr >= self.normal_above)
        small = pos & ~big
        if big.any():
            sd = np.sqrt(self.variance(mu_arr[big]))
            out[big] = np.maximum(np.ceil(mu_arr[big] + sd * special.ndtri(q_arr[big]) - 0.5), 0).astype(
                np.int64
            )
        if small.any():
            qs, ms = q_arr[small], mu_arr[small]
            sd = np.sqrt(self.variance(ms))
            skew = (1.0 + 2.0 * self.cv**2 * ms) / sd if self.negbin else 1.0 / sd
            z = special.ndtri(np.clip(qs, 1e-12, 1 - 1e-12))
            guess = np.maximum(np.floor(ms + sd * (z + skew * (z**2 - 1.0) / 6.0)), 0.0)
            out[small] = smallest_true(lambda k, i: 1.0 - self._sf_exact(k, ms[i]) >= qs[i], guess)
        return out

    def loss(self, k: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """E[(D - k)^+] for integer k (the first-order loss function)."""
        k, mu, small, big = self._split(k, mu)
        out: np.ndarray = np.maximum(mu - k, 0.0)  # exact for mu <= 0 and for k <= 0
        small &= k > 0
        if small.any():
            ks, ms = k[small], mu[small]
            tail = self._sf_exact(ks - 1.0, ms, extra=1.0)  # P(D' >= k), D' ~ Poisson(mu) or NB(r + 1, p)
            out[small] = np.maximum(ms * tail - ks * self._sf_exact(ks, ms), 0.0)
        if big.any():
            sd = np.sqrt(self.variance(mu[big]))
            z = (k[big] - mu[big]) / sd
            out[big] = sd * (np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi) - z * special.ndtr(-z))
        return out

    def sales(self, k: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """E[min(D, k)]: expected units a stock of k serves from a demand of mean mu."""
        return cast(np.ndarray, np.maximum(np.asarray(mu, float) - self.loss(k, mu), 0.0))


def cycle_level(model: DemandModel, service: float, mu_rl: np.ndarray) -> np.ndarray:
    """Cycle service level: the smallest S with P(D_{R+L} <= S) >= service (no stock-out in a cycle)."""
    return model.ppf(service, mu_rl)


def shortage_per_cycle(model: DemandModel, s: np.ndarray, mu_l: np.ndarray, mu_rl: np.ndarray) -> np.ndarray:
    """Expected units short per review cycle of an order-up-to S (backorders, exact for any demand
    with independent increments): E[(D_{R+L} - S)^+] - E[(D_L - S)^+]."""
    return cast(np.ndarray, np.maximum(model.loss(s, mu_rl) - model.loss(s, mu_l), 0.0))


def fill_rate(model: DemandModel, s: np.ndarray, mu_l: np.ndarray, mu_rl: np.ndarray) -> np.ndarray:
    """Fill rate (share of demand served from stock) of order-up-to S: 1 - shortage per cycle / mu_R."""
    mu_r = np.maximum(np.asarray(mu_rl, float) - mu_l, 0.0)
    short = shortage_per_cycle(model, s, mu_l, mu_rl)
    return np.where(mu_r > 0, 1.0 - short / np.where(mu_r > 0, mu_r, 1.0), 1.0)


def smallest_true(pred: Callable[[np.ndarray, np.ndarray], np.ndarray], guess: np.ndarray) -> np.ndarray:
    """Per cell, the smallest integer k >= 0 with pred(k) true, for a pred monotone in k (False... True).

    `pred(k, idx)` evaluates cells `idx` at levels `k`. Gallops from `guess` (steps 1, 2, 4, ...) to
    a bracket, then bisects; only unresolved cells are evaluated, so a good guess costs ~2 calls.
    """
    k0 = np.maximum(np.floor(np.asarray(guess, float)), 0.0)
    n = k0.size
    all_idx = np.arange(n)
    ok0 = pred(k0, all_idx)
    lo = np.where(ok0, -1.0, k0)  # pred(lo) false (or lo = -1)
    hi = np.where(ok0, k0, np.inf)  # pred(hi) true
    step = np.ones(n)
    up = ~ok0  # gallop up until true
    down = ok0 & (k0 > 0)  # gallop down until false
    lo[down] = np.nan
    while up.any() or down.any():
        for going_up in (True, False):
            act = np.flatnonzero(up if going_up else down)
            if not act.size:
                continue
            probe = lo[act] + step[act] if going_up else np.maximum(hi[act] - step[act], -1.0)
            res = np.zeros(act.size, bool)
            valid = probe >= 0
            res[valid] = pred(probe[valid], act[valid])
            if going_up:
                hi[act[res]], lo[act[~res]] = probe[res], probe[~res]
                up[act[res]] = False
            else:
                lo[act[~res]] = probe[~res]
                hi[act[res]] = probe[res]
                down[act[~res]] = False
                down[act[res & (probe <= 0)]] = False
                lo[act[res & (probe <= 0)]] = -1.0
            step[act] *= 2.0
    while True:
        act = np.flatnonzero(hi - lo > 1)
        if not act.size:
            break
        mid = np.floor((lo[act] + hi[act]) / 2.0)
        res = pred(mid, act)
        hi[act[res]] = mid[res]
        lo[act[~res]] = mid[~res]
    return hi.astype(np.int64)


_Z = np.linspace(-10.0, 10.0, 4001)
_GN = np.exp(-0.5 * _Z**2) / np.sqrt(2.0 * np.pi) - _Z * special.ndtr(-_Z)  # standard normal loss, decreasing


def fill_level(model: DemandModel, target: float, mu_l: np.ndarray, mu_rl: np.ndarray) -> np.ndarray:
    """Fill rate: the smallest integer S with fill_rate(S) >= target (exact, by ``smallest_true``).

    Guess: the normal approximation sigma_{R+L} G(z) = (1 - target) mu_R, ignoring the lead-time
    term, inverted on a table of the normal loss function G.
    """
    mu_l, mu_rl = np.broadcast_arrays(np.asarray(mu_l, float), np.asarray(mu_rl, float))
    out = np.zeros(mu_rl.shape, np.int64)
    live = (mu_rl - mu_l) > 0
    if not live.any():
        return out
    ml, mrl = mu_l[live], mu_rl[live]
    mr = mrl - ml
    sd = np.sqrt(model.variance(mrl))
    z = np.interp(-(1.0 - target) * mr / sd, -_GN, _Z)
    guess = np.maximum(np.round(mrl + sd * z), 1.0)

    def pred(k: np.ndarray, i: np.ndarray) -> np.ndarray:
        return fill_rate(model, k, ml[i], mrl[i]) >= target

    out[live] = smallest_true(pred, guess)
    return out
