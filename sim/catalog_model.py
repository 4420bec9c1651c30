"""The catalog as the model sees it (``Catalog``) and the popularity helpers it is drawn with. Kept apart
from ``sim.catalog.build_catalog`` so that readers of a planner's products table (``sim.io.products``,
``sim.demand.history_columns``) can build a ``Catalog`` without importing the builder that calls them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.vocab import TIER_NAMES

__all__ = [
    "TIER_NAMES",
    "Catalog",
    "largest_remainder",
    "lognormal_mean_cv",
    "top_count",
    "zipf_probabilities",
    "zipf_top_share",
]


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
