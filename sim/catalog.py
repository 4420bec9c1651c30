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

from typing import Any

import numpy as np

from sim import units
from sim.catalog_model import (  # noqa: F401  (re-exported: sim.catalog is the catalog's public face)
    Catalog,
    largest_remainder,
    lognormal_mean_cv,
    top_count,
    zipf_probabilities,
    zipf_top_share,
)
from sim.rng import RandomStreams
from sim.vocab import TIER_NAMES


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

    value = lognormal_mean_cv(
        streams.get("catalog.value").standard_normal(n), per_sku("value_cny"), per_sku("value_cv")
    )
    volume = lognormal_mean_cv(
        streams.get("catalog.volume").standard_normal(n), per_sku("volume_l"), per_sku("volume_cv")
    )
    life = np.array(
        [units.days(c.shelf_life_days) if c.shelf_life_days is not None else np.inf for c in cats]
    )[category]
    tiers = np.array([[t in c.tiers for t in TIER_NAMES] for c in cats], dtype=bool).reshape(len(cats), 3)
    return Catalog(
        category=category,
        category_names=tuple(c.name for c in cats),
        popularity=popularity,
        rank=rank,
        value_cny=value,
        volume_l=volume,
        shelf_life_s=life,
        tier_eligible=tiers[category],
    )
