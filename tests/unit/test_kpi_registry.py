"""The KPI registry (#12 item 6): one table that kpis.json's docs, the experiment tables, the reports and
the CLI read. Checked against a real toy run: every registered kpis.json key exists there and every
numeric key of kpis.json is registered; the orders-table KPIs are recomputed here independently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.experiments.headline import HEADLINE, headline
from sim.io.query import flatten
from sim.metrics import registry as reg

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return sim.simulate(
        ROOT / "scenarios" / "toy.yaml", out=tmp_path_factory.mktemp("reg") / "run", days=1, report=False
    )


def test_docs_page_is_the_registry() -> None:
    assert (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8") == reg.markdown_page()


def test_registry_and_kpis_json_agree(run: Any) -> None:
    keys = {k for k, _ in flatten({a: b for a, b in run.kpis.items() if a not in ("by_day", "by_city")})}
    registered = {k.key for k in reg.REGISTRY.values() if k.source == "kpis"}
    optional = {k for k in registered if k.startswith(reg.OPTIONAL)}  # sections only some runs have (riders)
    assert registered - keys - optional == set()  # nothing registered that kpis.json lacks
    assert keys - registered == set()  # every kpis.json key is described in the registry
    for k in reg.REGISTRY.values():
        assert k.definition and k.label
        if k.percent:
            assert "/" in k.definition, f"{k.key}: a rate's definition names its denominator"


def test_on_time_of_requested_orders(run: Any) -> None:
    o = run.orders[~run.orders["warmup"]]
    rank = {"near": 0, "mid": 1, "far": 2}
    ok = [
        (s == "delivered") and bool(t) and (rank[st] <= rank[rt]) and not d
        for s, t, st, rt, d in zip(
            o["status"], o["on_time"], o["served_tier"], o["requested_tier"], o["downgraded"], strict=True
        )
    ]
    got = reg.value("on_time_requested_rate", run.kpis, run.orders)
    assert got == pytest.approx(float(np.mean(ok)))
    # lost and downgraded orders are in the denominator and never on time
    assert got <= 1.0 - run.kpis["lost_sales_rate"] + 1e-12
    assert got <= run.kpis["requested_tier_rate"] + 1e-12
    assert got >= run.kpis["perfect_order_rate"] - 1e-12
    per_day = reg.orders_kpis(run.orders, by="day")
    assert len(per_day) == run.kpis["measured_days"]
    n = o.groupby(o["created_s"] // 86400).size().to_numpy()
    assert float(np.average(per_day["on_time_requested_rate"], weights=n)) == pytest.approx(got)
    # the per-day on-time rate of delivered orders matches kpis.json by_day
    for row, day in zip(per_day.itertuples(), run.kpis["by_day"], strict=True):
        assert row.on_time_delivered_rate == pytest.approx(day["on_time_rate"])


def test_headline_reads_the_registry(run: Any) -> None:
    h = headline(run.kpis, run.path)
    assert list(h) == [k.key for k in HEADLINE]
    assert h["cost_per_order_cny"] == run.kpis["cost_per_order_cny"]
    assert h["on_time_requested_rate"] == reg.value("on_time_requested_rate", run.kpis, run.orders)
    assert np.isnan(headline(run.kpis)["delivery_p90_min"])


def test_formats_and_errors() -> None:
    assert reg.get("cost_per_order_cny").fmt(8.414) == "8.41 CNY"
    assert reg.get("perfect_order_rate").fmt(0.6775) == "67.8%"
    assert reg.get("delivery_p90_min").fmt(28.04) == "28.0 min"
    assert reg.get("perfect_order_rate").fmt(None) == "-"
    assert reg.get("lost_sales_rate").fmt(0.012, signed=True) == "+1.2 pp"
    assert reg.get("cost_per_order_cny").is_better(1.0, 2.0) and reg.get("perfect_order_rate").is_better(
        0.9, 0.8
    )
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(reg.Kpi("orders", "x", "orders", None, "x"))
    with pytest.raises(ValueError, match="unit"):
        reg.Kpi("x", "x", "parsecs", None, "x")
