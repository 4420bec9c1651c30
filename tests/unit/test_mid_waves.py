"""A 4-hour promise that means 4 hours (tiers.mid.rolling) and vans sent as needed (tiers.mid.van_dispatch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine.warehouse import VanFleet, Waves, approx_fdc
from sim.errors import ScenarioError
from sim.io.scenario import load_scenario
from sim.io.scenario.models import RollingWaves
from sim.units import parse_clock

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "scenarios" / "toy.yaml"


def test_default_schedule() -> None:
    waves = RollingWaves().waves()
    assert [w.cutoff for w in waves] == [f"{h:02d}:00" for h in range(8, 21)]
    assert all(parse_clock(w.window[0]) - parse_clock(w.cutoff) == 3600 for w in waves)
    assert all(parse_clock(w.window[1]) - parse_clock(w.cutoff) == 3 * 3600 for w in waves)


@pytest.mark.parametrize("every,start,end", [(60, 60, 180), (30, 30, 210), (120, 30, 120), (45, 0, 195)])
def test_every_order_in_hours_is_promised_within_4h(every: float, start: float, end: float) -> None:
    r = RollingWaves(
        every_min=every, window_start_min=start, window_end_min=end, first_cutoff="08:00", last_cutoff="20:00"
    )
    waves = r.waves()
    cut = np.array([parse_clock(w.cutoff) for w in waves])
    close = np.array([parse_clock(w.window[1]) for w in waves])
    t = np.arange(parse_clock("08:00") - every * 60, cut[-1] + 1, 60.0)  # each minute of the service hours
    w = np.searchsorted(cut, t, side="left")  # the first wave whose cut-off the order makes (Waves.wave_at)
    assert (w < cut.size).all()
    assert (close[w] - t <= 4 * 3600 + 1e-9).all()


def test_bad_schedules_name_the_field() -> None:
    with pytest.raises(ScenarioError, match="tiers.mid.rolling"):
        load_scenario(TOY, ["tiers.mid.rolling.every_min=90", "tiers.mid.rolling.window_end_min=180"])
    with pytest.raises(ScenarioError, match="rolling.enabled"):
        load_scenario(
            TOY,
            [
                'tiers.mid.waves=[{"cutoff": "09:00", "window": ["10:00", "12:00"]}]',
                "tiers.mid.rolling.enabled=true",
            ],
        )
    sc = load_scenario(TOY, ['tiers.mid.waves=[{"cutoff": "09:00", "window": ["10:00", "12:00"]}]'])
    assert not sc.tiers.mid.rolling.enabled and len(sc.tiers.mid.waves) == 1  # listed waves win, visibly


def _waves(vans_as_needed: bool) -> Waves:
    fleet = VanFleet(
        np.array([10]),
        np.array([5300.0]),
        np.array([30.0]),
        np.array([120.0]),
        np.array([30.0]),
        np.array([120.0]),
        np.array([8.0]),
        1.32,
        4.0,
        2.5,
    )
    return Waves(
        np.array([parse_clock("09:00")]),
        np.array([[parse_clock("10:00"), parse_clock("12:00")]]),
        fleet,
        vans_as_needed=vans_as_needed,
    )


def test_vans_as_needed() -> None:
    rng = np.random.default_rng(1)
    lat, lon = 30.0 + rng.uniform(-0.05, 0.05, 6), 120.0 + rng.uniform(-0.05, 0.05, 6)
    km, vol = np.full(6, 4.0), np.full(6, 10.0)
    _, cost_all, busy_all = approx_fdc(_waves(False), 0, 0, lat, lon, km, vol)
    t, cost, busy = approx_fdc(_waves(True), 0, 0, lat, lon, km, vol)
    assert busy_all.size == 6 and busy.size == 1  # six orders of 10 l fit one van's stops and volume
    assert cost.sum() < cost_all.sum()
    assert ((t >= parse_clock("10:00")) & (t <= parse_clock("12:00"))).all()
    # by volume: six orders of 2,000 l need three 5.3 m3 vans
    assert approx_fdc(_waves(True), 0, 0, lat, lon, km, np.full(6, 2000.0))[2].size == 3


def test_toy_mid_orders_in_hours_delivered_within_4h(tmp_path: Path) -> None:
    from sim.run import simulate

    sc = load_scenario(TOY, ["demand.orders_per_day=800"])
    r = simulate(sc, days=1, out=tmp_path / "run", force=True, report=False)
    o = r.orders
    mid = o[(~o.warmup) & (o.served_tier == "mid") & (~o.downgraded)]
    tod = mid.created_s % 86400
    ins = (tod >= parse_clock("07:00")) & (tod <= parse_clock("20:00"))
    assert ins.sum() > 20
    assert ((mid.promised_s - mid.created_s)[ins] <= 4 * 3600 + 1e-6).all()
    assert ((mid.delivered_s - mid.created_s)[ins] <= 4 * 3600 + 1e-6).all()
