"""Generate the planner sample of ``scenarios/toy_planner.yaml``: a products table, an order history using
its ids and an observed starting stock (scenarios/data/planner_products.csv, planner_orders.csv,
planner_stock.csv). Deterministic (``sim.rng.RandomStreams``, seed 20261116). Run from the repository root:

    .venv/bin/python tools/make_planner_sample.py

The products are 60 SKUs of a Hangzhou brand (ids ``HZ-0001``.., Chinese-style names, four
categories); the history is three days (2026-11-02 .. 04) of ~250 orders a day drawn with Zipf
popularity over the products; the stock is what sits in the NDC, the FDC and two of the five stores at
00:00 on 2 November, plus one truck in transit to the FDC.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from sim.rng import RandomStreams

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "scenarios" / "data"
CATEGORIES = (  # name, count, value CNY, volume l, shelf life days, tiers
    ("grocery", 24, 22.0, 1.4, None, ""),
    ("fresh", 14, 28.0, 1.1, 4, "near|mid"),
    ("personal_care", 14, 42.0, 0.6, None, ""),
    ("bulky", 8, 110.0, 22.0, None, "mid|far"),
)
WORDS = {
    "grocery": ("Jasmine rice 5kg", "Soy sauce", "Instant noodles", "Sesame oil", "Green tea", "Dried tofu"),
    "fresh": ("Milk 1L", "Eggs x10", "Bok choy", "Pork belly", "Strawberries", "Yoghurt"),
    "personal_care": ("Shampoo", "Toothpaste", "Face mask", "Hand soap", "Body lotion", "Razor"),
    "bulky": ("Water 12x550ml", "Rice cooker", "Laundry detergent 5kg", "Paper towels x12"),
}


def main() -> None:
    streams = RandomStreams(20261116, 0)
    rng = streams.get("sample.products")
    products = []
    for cat, count, value, volume, life, tiers in CATEGORIES:
        for k in range(count):
            i = len(products) + 1
            products.append(
                {
                    "sku": f"HZ-{i:04d}",
                    "name": f"{WORDS[cat][k % len(WORDS[cat])]} #{k // len(WORDS[cat]) + 1}",
                    "category": cat,
                    "value_cny": round(value * float(np.exp(rng.normal(0, 0.4))), 2),
                    "volume_l": round(volume * float(np.exp(rng.normal(0, 0.3))), 2),
                    "shelf_life_days": life or "",
                    "tiers": tiers,
                }
            )
    with (OUT / "planner_products.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(products[0]))
        w.writeheader()
        w.writerows(products)
    n = len(products)
    popularity = 1.0 / np.arange(1, n + 1)
    popularity = popularity[streams.get("sample.rank").permutation(n)]
    popularity /= popularity.sum()
    tiers_ok = [p["tiers"].split("|") if p["tiers"] else ["near", "mid", "far"] for p in products]
    rows = []
    for day in range(3):
        date = dt.date(2026, 11, 2) + dt.timedelta(days=day)
        r = streams.get(f"sample.orders/{date}")
        k = int(r.poisson(250))
        times = np.sort(r.uniform(7 * 3600, 23 * 3600, k))
        for j, t in enumerate(times):
            lines = 1 + int(r.geometric(0.6)) - 1
            skus = r.choice(n, size=min(lines, 4), replace=False, p=popularity)
            common = set.intersection(*(set(tiers_ok[s]) for s in skus))
            if not common:
                skus, common = skus[:1], set(tiers_ok[skus[0]])
            tier = sorted(common)[int(r.integers(len(common)))]
            stamp = (dt.datetime.combine(date, dt.time()) + dt.timedelta(seconds=int(t))).isoformat()
            for s in skus:
                rows.append(
                    {
                        "order_id": f"PO-{date:%m%d}-{j + 1:04d}",
                        "created": stamp,
                        "city": "Hangzhou",
                        "sku": products[s]["sku"],
                        "qty": 1 + int(r.poisson(0.3)),
                        "requested_tier": tier,
                    }
                )
    with (OUT / "planner_orders.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    rs = streams.get("sample.stock")
    stock = []
    for node, days in (
        ("NDC-SH", 10.0),
        ("fdc-Hangzhou-001", 3.0),
        ("store-Hangzhou-001", 1.0),
        ("store-Hangzhou-002", 1.0),
    ):
        for s, p in enumerate(products):
            daily = popularity[s] * 250 * 1.4
            units = int(rs.poisson(daily * (min(days, 2.0) if p["category"] == "fresh" else days)))
            if node.startswith("store") and p["category"] == "bulky":
                units = 0
            if units:
                stock.append(
                    {
                        "node": node,
                        "sku": p["sku"],
                        "units": units,
                        "arrive": "",
                        "age_days": 1 if p["category"] == "fresh" and node != "NDC-SH" else "",
                    }
                )
    for s in range(5):  # a truck on its way to the FDC, due at 06:00 on the first day
        stock.append(
            {
                "node": "fdc-Hangzhou-001",
                "sku": products[s]["sku"],
                "units": 40,
                "arrive": "2026-11-02T06:00:00",
                "age_days": "",
            }
        )
    with (OUT / "planner_stock.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(stock[0]))
        w.writeheader()
        w.writerows(stock)


if __name__ == "__main__":
    main()
