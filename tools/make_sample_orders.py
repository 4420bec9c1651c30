"""Generate scenarios/data/sample_orders.csv: a small, deterministic order history for ``toy_history.yaml``.

It stands in for a planner's export: four days (2026-11-02 .. 05) of Hangzhou orders made by
Shangou's own generator on the toy network (600 orders/day, seed 20261102, so it is not the toy
run's demand), written the way a planner's system would: one row per order line with an order id,
an ISO creation time to the second, the delivery address as lat/lon (the zone centre jittered by up
to ~300 m) — or, for every tenth order, only the city —, a string SKU code, the quantity and the
requested tier. Run from the repository root:

    .venv/bin/python tools/make_sample_orders.py          # writes scenarios/data/sample_orders.csv

Same code, same file, byte for byte (only ``sim.rng.RandomStreams`` streams are used).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from sim.catalog import build_catalog
from sim.demand import generate_day
from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.network.geo import offset_latlon
from sim.rng import RandomStreams

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "scenarios" / "data" / "sample_orders.csv"
SEED = 20261102
DAYS = 4
TIERS = ("near", "mid", "far")


def main() -> None:
    sc = load_scenario(ROOT / "scenarios" / "toy.yaml", ["demand.orders_per_day=600", f"seed={SEED}"])
    net, cat = build_network(sc), build_catalog(sc)
    streams = RandomStreams(SEED)
    start = dt.datetime.combine(sc.horizon.start_date, dt.time())
    code = 100_000 + (np.arange(cat.n_skus) * 7919) % 900_000  # a planner's SKU codes, unrelated to indices
    rows = []
    for day in range(DAYS):
        o = generate_day(sc, net, cat, streams, day)
        rng = streams.get(f"tools.sample_orders/{day}")
        jitter = rng.uniform(-0.3, 0.3, size=(o.n_orders, 2))
        lat, lon = offset_latlon(
            0.0, 0.0, jitter[:, 0], jitter[:, 1]
        )  # km -> degree offsets near the equator
        scale = 1.0 / np.cos(np.radians(net.zone_lat[o.zone]))
        for i in range(o.n_orders):
            when = (start + dt.timedelta(seconds=int(o.created_s[i]))).isoformat()
            oid = f"HZ{start.date() + dt.timedelta(days=day):%Y%m%d}-{i + 1:05d}"
            if i % 10 == 9:
                place = ("Hangzhou", "", "")
            else:
                z = o.zone[i]
                place = ("", f"{net.zone_lat[z] + lat[i]:.6f}", f"{net.zone_lon[z] + lon[i] * scale[i]:.6f}")
            skus, qtys = o.lines_of(i)
            for s, q in zip(skus, qtys, strict=True):
                rows.append([oid, when, *place, f"SKU-{code[s]}", int(q), TIERS[o.requested_tier[i]]])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["order_id", "created", "city", "lat", "lon", "sku", "qty", "requested_tier"])
        w.writerows(rows)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(rows)} lines, {DAYS} days")


if __name__ == "__main__":
    main()
