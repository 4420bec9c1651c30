"""Expected units per order of every SKU at every requested tier: the λ behind the oracle forecast.

The generator (``generate.py``) draws an order's lines by successive sampling (distinct SKUs by
popularity), renormalises the tier mix of the first line's category over the tiers eligible for
every line, and cuts an order whose lines share no tier down to its first line. All three change
λ materially (a fresh SKU has no far demand: a one-line fresh order asks for near with probability
0.55 / 0.70, not 0.55), so ``popularity x E[lines] x mix`` is not the rate. This module computes it as follows.

**Positions (exact, numerical quadrature).** Successive sampling proportional to p is order
sampling with exponential clocks: E_a ~ Exp(p_a) independent, the lines are the SKUs in increasing
E. So SKU s sits at position j with probability

    π_j(s) = ∫_0^∞ p_s e^(−p_s t) P(N_−s(t) = j) dt,

where N_−s(t) = #{a ≠ s : E_a < t} is Poisson-binomial with probabilities q_a = 1 − e^(−p_a t).
We integrate on a log-spaced Gauss–Legendre grid in t; the Poisson-binomial counts (truncated to
the line cap K) are a product over SKUs: the popular "head" SKUs (q can exceed 1/2 where the
integrand matters) by prefix x suffix products, so leaving one out is exact; the others by
dividing their factor out of the full product, which is stable while q ≤ 1/2. Checks: Σ_s π_j(s)
= 1 and π_0(s) = p_s to ~1e-9.

**Tiers (documented approximation).** Given s at position j of an L-line order, the other lines'
categories are taken as independent, line i's following the exact category distribution of
position i (from π_i, so later lines lean to the categories of slower SKUs) with s removed:
r_ic = (Q_ic − π_i(s) [c = c_s]) / (1 − π_i(s)). The first line's category picks the mix; the AND of
the eligibility masks is a product in superset-sum space, inverted by a Möbius transform. This
ignores the negative dependence between the other lines' categories (without replacement within a
category). Measured against 10^6-order samples (tests/validation/test_basket_model.py): chi-square
per degree of freedom ≈ 1 over all SKU x tier cells for mean lines 1.6 to 3; with categories that
share no tier (orders cut to their first line) units per order within ~1.5 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.catalog import Catalog

N_NODES = 192  # Gauss-Legendre nodes in log t (24 panels x 8)
T_MIN = 1e-10


@dataclass(frozen=True)
class BasketModel:
    """Expected order composition under the scenario's basket and tier rules."""

    units: np.ndarray  # (S, 3) expected units of SKU s per order, requested at tier near/mid/far
    position: np.ndarray  # (S, K) π_j(s): probability SKU s is drawn at line position j
    length: np.ndarray  # (K,) P(L = l + 1): lines drawn before the common-tier rule
    order_tier: np.ndarray  # (3,) share of orders requesting each tier
    mean_qty: float

    @property
    def units_per_order(self) -> float:
        return float(self.units.sum())

    @property
    def lines_per_order(self) -> float:
        """Mean lines per order after the common-tier rule."""
        return self.units_per_order / self.mean_qty

    def sku_share(self) -> np.ndarray:
        """(S,) each SKU's share of units."""
        u = self.units.sum(axis=1)
        return u / u.sum()


def line_count_distribution(mean_lines: float, cap: int) -> np.ndarray:
    """(cap,) P(L = l) for l = 1..cap: geometric with mean `mean_lines`, the tail lumped at the cap."""
    p = 1.0 / float(mean_lines)
    k = np.arange(1, cap + 1)
    pl = p * (1.0 - p) ** (k - 1)
    pl[-1] = (1.0 - p) ** (cap - 1)
    return pl


def position_probabilities(popularity: np.ndarray, k: int) -> np.ndarray:
    """(S, k) π_j(s) for j < k under successive sampling by `popularity` (see the module docstring)."""
    p = np.asarray(popularity, dtype=float)
    p = p / p.sum()
    s_n = len(p)
    k = min(k, s_n)
    t = _time_grid(p, k)
    logt, w = _log_gauss_legendre(T_MIN, t, N_NODES)
    tt = np.exp(logt)  # (T,)
    q = -np.expm1(-np.outer(tt, p))  # (T, S)
    head = np.flatnonzero((q > 0.5).any(axis=0))
    tail = np.setdiff1d(np.arange(s_n), head)
    g_tail = _poly_product(q[:, tail], k)  # (T, k)
    g_head_loo, g_head = _leave_one_out(q[:, head], k)  # (H, T, k), (T, k)
    # weight of the integrand: p_s e^(-p_s t) * t (dt = t dlog t) * quadrature weight
    base = (w * tt)[:, None] * np.exp(-np.outer(tt, p)) * p[None, :]  # (T, S)
    out = np.zeros((s_n, k))
    if tail.size:
        full = _truncated_mul(g_head, g_tail, k)  # (T, k)
        for lo in range(0, len(tail), 1024):  # chunks bound the (T, chunk, k) work array
            cols = tail[lo : lo + 1024]
            qt = q[:, cols]
            inv = 1.0 / (1.0 - qt)
            h = np.empty((len(tt), len(cols), k))
            h[:, :, 0] = full[:, None, 0] * inv
            for j in range(1, k):  # divide the factor (1 - q + q z) out of the full product
                h[:, :, j] = (full[:, None, j] - qt * h[:, :, j - 1]) * inv
            out[cols] = np.einsum("ts,tsj->sj", base[:, cols], np.clip(h, 0.0, 1.0))
    for i, s in enumerate(head):
        loo = _truncated_mul(g_head_loo[i], g_tail, k)
        out[s] = base[:, s] @ loo
    return out


def _time_grid(p: np.ndarray, k: int) -> float:
    """Upper end of the integral: past it P(N(t) < k) · e^(-p_min t) is negligible."""
    target = k + 12.0 * np.sqrt(k) + 40.0
    hi = 60.0 / float(p.min())
    if len(p) <= target:
        return hi
    lo_t, hi_t = 0.0, hi
    for _ in range(200):  # bisection on F(t) = Σ (1 - e^(-p t)), increasing
        mid = 0.5 * (lo_t + hi_t)
        if (-np.expm1(-p * mid)).sum() < target:
            lo_t = mid
        else:
            hi_t = mid
    return hi_t


def _log_gauss_legendre(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [log a, log b] (8 points per panel)."""
    x, wx = np.polynomial.legendre.leggauss(8)
    edges = np.linspace(np.log(a), np.log(b), n // 8 + 1)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * wx).ravel()


def _truncated_mul(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Product of polynomials (..., k) truncated to degree k - 1."""
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    for i in range(k):
        out[..., i:] += a[..., i : i + 1] * b[..., : k - i]
    return out


def _poly_product(q: np.ndarray, k: int) -> np.ndarray:
    """(T, k) Π_a (1 - q_a + q_a z) truncated, for q of shape (T, A)."""
    g = np.zeros((q.shape[0], k))
    g[:, 0] = 1.0
    for a in range(q.shape[1]):
        qa = q[:, a : a + 1]
        g[:, 1:] = g[:, 1:] * (1.0 - qa) + g[:, :-1] * qa
        g[:, 0] *= 1.0 - qa[:, 0]
    return g


def _leave_one_out(q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Products over all but each column of q (T, H), by prefix x suffix: (H, T, k), and the full one."""
    t_n, h_n = q.shape
    one = np.zeros((t_n, k))
    one[:, 0] = 1.0
    pre = [one]
    for a in range(h_n):
        pre.append(_truncated_mul(pre[-1], _factor(q[:, a], k), k))
    suf = [one]
    for a in range(h_n - 1, -1, -1):
        suf.append(_truncated_mul(suf[-1], _factor(q[:, a], k), k))
    suf.reverse()  # suf[a] = product over columns a..H-1
    loo = np.array([_truncated_mul(pre[a], suf[a + 1], k) for a in range(h_n)]).reshape(h_n, t_n, k)
    return loo, pre[-1]


def _factor(qa: np.ndarray, k: int) -> np.ndarray:
    f = np.zeros((len(qa), k))
    f[:, 0] = 1.0 - qa
    if k > 1:
        f[:, 1] = qa
    return f


# --------------------------------------------------------------------------- tiers
def _mask_bits(m: int) -> np.ndarray:
    return np.array([(m >> b) & 1 for b in range(3)], dtype=float)


def tier_given_mask(mix: np.ndarray) -> np.ndarray:
    """(C, 8, 3) tier probabilities for first-line category c and common eligibility mask m.

    The generator's rule: mix[c] restricted to the mask and renormalised; equally likely eligible
    tiers when the mix gives them no weight. Mask 0 rows are zero (the cut rule handles them).
    """
    out = np.zeros((mix.shape[0], 8, 3))
    for m in range(1, 8):
        bits = _mask_bits(m)
        w = mix * bits
        tot = w.sum(axis=1, keepdims=True)
        out[:, m] = np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), bits / bits.sum())
    return out


_SUP = np.array([[(m & t) == t for t in range(8)] for m in range(8)], dtype=float)  # [m ⊇ T]
_LO = {b: np.array([t for t in range(8) if not t & (1 << b)]) for b in range(3)}


def _moebius(z: np.ndarray) -> np.ndarray:
    """Distribution over masks from superset sums z[..., T] = P(mask ⊇ T)."""
    f = z.copy()
    for b, lo in _LO.items():
        f[..., lo] -= f[..., lo | (1 << b)]
    return f


def basket_model(sc: Any, catalog: Catalog) -> BasketModel:
    """The expected composition of an order for a resolved scenario and its catalog.

    The eligibility mask of an order is the AND of its lines' masks. Lines other than s are taken
    as independent, line i's category following the exact position-i category distribution with s
    removed; for independent masks the AND is a product in "superset-sum" space
    (P(AND ⊇ T) = Π_i P(m_i ⊇ T)), inverted by a Möbius transform.
    """
    from sim.demand.generate import _tier_mix_by_category

    d = sc.demand
    s_n = catalog.n_skus
    cap = min(int(d.basket.max_lines), s_n)
    length = line_count_distribution(d.basket.mean_lines, cap)  # P(L = l + 1)
    p = catalog.popularity / catalog.popularity.sum()
    pos = position_probabilities(p, cap)  # (S, cap)

    mix = _tier_mix_by_category(d, catalog)  # (C, 3)
    n_cat = catalog.n_categories
    cat_mask = np.zeros(n_cat, dtype=np.int64)
    for c in range(n_cat):
        tiers = catalog.tier_eligible[catalog.category == c]
        if len(tiers):
            cat_mask[c] = int(tiers[0] @ np.array([1, 2, 4]))
    cs = catalog.category.astype(np.int64)
    ms = cat_mask[cs]  # (S,) mask of each SKU
    tau = tier_given_mask(mix)  # (C, 8, 3)

    # R[s, i, c]: category of the line at position i, given it is not s; Z = its superset sums
    q = np.stack([np.bincount(cs, weights=pos[:, i], minlength=n_cat) for i in range(cap)])  # (K, C)
    own = np.zeros((s_n, cap, n_cat))
    own[np.arange(s_n), :, cs] = pos
    r = np.clip(q[None, :, :] - own, 0.0, None) / np.maximum(1.0 - pos, 1e-12)[:, :, None]
    z = r @ _SUP[cat_mask]  # (S, K, 8)
    z_s = _SUP[ms]  # (S, 8): s's own mask
    cut_tier = tau[cs, ms]  # (S, 3): an order cut to its first line s

    units = np.zeros((s_n, 3))
    order_tier = np.zeros(3)
    for j in range(cap):
        prod = np.ones((s_n, 8))  # superset sums of the AND over positions 1..l-1 except j
        for i in range(1, j):
            prod *= z[:, i]
        for ell in range(j + 1, cap + 1):
            if ell - 1 > j:
                prod *= z[:, ell - 1]
            pl = length[ell - 1]
            if pl <= 0:
                continue
            w = pl * pos[:, j]
            if j == 0:  # s first: its category chooses the mix; cut to s alone if nothing is common
                f = _moebius(prod * z_s)
                t = np.einsum("sm,smt->st", f[:, 1:], tau[cs][:, 1:, :]) + f[:, :1] * cut_tier
                units += w[:, None] * t
                order_tier += (w[:, None] * t).sum(axis=0)
                continue
            t = np.zeros((s_n, 3))
            for c in range(n_cat):  # the first line's category; s is dropped if nothing is common
                f = _moebius(prod * z_s * _SUP[cat_mask[c]][None, :])
                t += r[:, 0, c, None] * (f[:, 1:] @ tau[c, 1:, :])
            units += w[:, None] * t
    return BasketModel(
        units=units * float(d.basket.mean_qty),
        position=pos,
        length=length,
        order_tier=order_tier,
        mean_qty=float(d.basket.mean_qty),
    )
