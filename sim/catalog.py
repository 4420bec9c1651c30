"""The SKU catalog as arrays: category, Zipf popularity, unit value and volume, shelf life, tiers.

SKUs are numbered category by category (category 0 first); each category gets SKUs in
proportion to its share, rounded by largest remainder (ties to the earlier category), so the
counts are deterministic and sum to ``n_skus``. Popularity is Zipf over ranks,
p(rank r) ∝ (r + 1)^-s, and ranks are assigned to SKUs by a random permutation so every
category has popular and slow SKUs. Value and volume are lognormal with the category's mean and
coefficient of variation. Everything is drawn from ``catalog.*`` streams, which ignore the
replication: every replication (and every policy) sees the same catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import units
from sim.rng import RandomStreams
from sim.vocab import TIER_NAMES


@dataclass(frozen=True)
class Catalog:
    """Struct-of-arrays catalog; index i is SKU i everywhere in the simulator."""

    category: np.ndarray  # (S,) int16 index into category_names
    category_names: tuple[str, ...]
    popularity: np.ndarray  # (S,) float64, sums to 1: probability a drawn line is this SKU
    rank: np.ndarray  # (S,) int32 popularity rank, 0 = most popular
    value_cny: np.ndarray  # (S,) float64 unit value
    volume_l: np.ndarray  # (S,) float64 unit volume in litres
    shelf_life_s: np.ndarray  # (S,) float64, np.inf for non-perishables
    tier_eligible: np.ndarray  # (S, 3) bool, columns near, mid, far
    sku_id: tuple[str, ...] | None = None  # the planner's ids (catalog.file); None for a synthetic catalog
    sku_name: tuple[str, ...] | None = None  # the planner's product names (catalog.file)

    @property
    def n_skus(self) -> int:
        return len(self.category)

    @property
    def n_categories(self) -> int:
        return len(self.category_names)

    def top(self, n: int) -> np.ndarray:
        """Indices of the n most popular SKUs, most popular first (what a top-N policy stocks)."""
        return np.argsort(self.rank, kind="stable")[: max(0, int(n))]

    def skus_per_category(self) -> np.ndarray:
        """(n_categories,) number of SKUs in each category."""
        return np.bincount(self.category, minlength=self.n_categories)


def largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `shares` (largest remainder; ties to the earlier)."""
    w = np.asarray(shares, dtype=float)
    if w.sum() <= 0:
        raise ValueError("shares must have a positive sum")
    exact = w / w.sum() * total
    counts = np.floor(exact).astype(np.int64)
    short = int(total - counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def zipf_probabilities(n: int, s: float) -> np.ndarray:
    """Zipf probabilities by rank: p[r] ∝ (r + 1)^-s for r = 0..n-1, summing to 1."""
    w = np.arange(1, n + 1, dtype=float) ** -float(s)
    return w / w.sum()


def zipf_top_share(n: int, s: float, frac: float = 0.2) -> float:
    """Share of units carried by the top `frac` of n Zipf(s) SKUs (top count = round(frac·n), at least 1).

    The planner's sanity check ("top 20 % of SKUs carry ~80 % of units") and the target of the
    catalog's statistical tests.
    """
    if n <= 0 or not 0 < frac <= 1:
        raise ValueError(f"need n > 0 and 0 < frac <= 1, got n={n}, frac={frac}")
    k = top_count(n, frac)
    return float(zipf_probabilities(n, s)[:k].sum())


def top_count(n: int, frac: float) -> int:
    """How many SKUs make the top `frac` of n: round(frac·n), clamped to [1, n]."""
    return min(n, max(1, int(round(frac * n))))


def lognormal_mean_cv(z: np.ndarray, mean: np.ndarray, cv: np.ndarray) -> np.ndarray:
    """Lognormal draws with the given mean and coefficient of variation from standard normals `z`."""
    sigma2 = np.log1p(np.square(cv))
    return mean * np.exp(np.sqrt(sigma2) * z - sigma2 / 2.0)


def build_catalog(sc: Any, streams: RandomStreams | None = None) -> Catalog:
    """The catalog of a resolved `Scenario`: deterministic, from ``catalog.*`` streams only.

    `streams` defaults to the scenario's seed; its replication never matters (catalog streams ignore it).
    """
    cat = sc.catalog
    if getattr(cat, "file", None) is not None:  # a planner's products table (sim/io/products.py)
        from sim.io.products import products_catalog

        return products_catalog(sc)
    streams = streams if streams is not None else RandomStreams(sc.seed, 0)
    n = int(cat.n_skus)
    cats = cat.categories
    counts = largest_remainder(np.array([c.share for c in cats]), n)
    category = np.repeat(np.arange(len(cats), dtype=np.int16), counts)

    rank = streams.get("catalog.popularity").permutation(n).astype(np.int32)
    popularity = zipf_probabilities(n, cat.zipf_s)[rank]

    def per_sku(attr: str) -> np.ndarray:
        return np.array([float(getattr(c, attr)) for c in cats])[category]

    value = lognormal_mean_cv(streams.get("catalog.value").standard_normal(n), per_sku("value_cny"),
                              per_sku("value_cv"))
    volume = lognormal_mean_cv(streams.get("catalog.volume").standard_normal(n), per_sku("volume_l"),
                               per_sku("volume_cv"))
    life = np.array([units.days(c.shelf_life_days) if c.shelf_life_days is not None else np.inf
                     for c in cats])[category]
    tiers = np.array([[t in c.tiers for t in TIER_NAMES] for c in cats], dtype=bool).reshape(len(cats), 3)
    return Catalog(category=category, category_names=tuple(c.name for c in cats), popularity=popularity,
                   rank=rank, value_cny=value, volume_l=volume, shelf_life_s=life,
                   tier_eligible=tiers[category])
