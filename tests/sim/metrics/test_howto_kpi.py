"""docs/howto/add-a-kpi.md stays true: its code block (executed as written) registers a KPI whose value,
per-day values, format and places come out of the registry as the page says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.metrics import registry as reg

PAGE = Path(__file__).resolve().parents[3] / "docs" / "howto" / "add-a-kpi.md"


@pytest.fixture(scope="module")
def howto() -> Iterator[dict[str, Any]]:
    (code,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    ns: dict[str, Any] = {"__name__": "howto_kpi"}
    exec(compile(code, str(PAGE), "exec"), ns)
    try:
        yield ns
    finally:  # leave the registry (and so docs/kpis.md's check) as the other tests expect it
        reg.REGISTRY.pop("late_min_mean", None)


def orders() -> pd.DataFrame:
    """Five orders over two days: a warm-up order (left out), a lost one (not delivered), three delivered
    0, 10 and 3 minutes late."""
    day = 86400.0
    return pd.DataFrame(
        {
            "warmup": [True, False, False, False, False],
            "status": ["delivered", "lost", "delivered", "delivered", "delivered"],
            "created_s": [0.0, day + 10, day + 20, 2 * day + 30, 2 * day + 40],
            "promised_s": [600.0, day + 1800, day + 1800, 2 * day + 1800, 2 * day + 1800],
            "delivered_s": [9e9, float("nan"), day + 1500, 2 * day + 2400, 2 * day + 1980],
            # the columns the registry's other orders KPIs read (orders_kpis computes them all)
            "requested_tier": ["near"] * 5,
            "served_tier": ["near", None, "near", "near", "mid"],
            "on_time": [False, False, True, False, False],
            "downgraded": [False, False, False, False, True],
        }
    )


def test_the_value_is_the_hand_computed_mean_lateness(howto: dict[str, Any]) -> None:
    assert reg.value("late_min_mean", {}, orders()) == pytest.approx((0 + 10 + 3) / 3)
    assert reg.value("late_min_mean", {}) is None  # an orders KPI without the orders table
    by_day = reg.orders_kpis(orders(), by="day").set_index("day")["late_min_mean"]
    assert by_day.to_dict() == pytest.approx({1: 0.0, 2: 6.5})


def test_it_is_described_formatted_and_placed_as_declared(howto: dict[str, Any]) -> None:
    k = reg.get("late_min_mean")
    assert (k.unit, k.better, k.source, k.sense) == ("min", "lower", "orders", "min")
    assert k.fmt(4.333) == "4.3 min" and k.label_unit == "Minutes late (min)"
    assert k.is_better(1.0, 2.0)
    for place in ("run", "compare", "sweep"):
        assert k in reg.shown_in(place)
    assert k not in reg.shown_in("kpis.json")
    assert "| `late_min_mean` | Minutes late | min | lower | orders |" in reg.markdown_table()
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(k)
