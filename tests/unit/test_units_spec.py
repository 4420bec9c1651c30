"""Units, clock parsing, geometry against known distances, and policy SPEC parsing."""

from __future__ import annotations

import numpy as np
import pytest

from sim import units
from sim.cities import lookup_city
from sim.spec import Spec, parse_spec, parse_spec_list, split_top_level


@pytest.mark.parametrize(
    "text, seconds", [("00:00", 0), ("08:30", 30600), ("23:59", 86340), ("24:00", 86400)]
)
def test_parse_clock(text, seconds):
    assert units.parse_clock(text) == seconds


@pytest.mark.parametrize("text", ["25:00", "24:01", "12:60", "7", "noon", "-1:00"])
def test_parse_clock_rejects(text):
    with pytest.raises(ValueError):
        units.parse_clock(text)


def test_format_clock():
    assert units.format_clock(86400 * 2 + 3600 * 13 + 61) == "d+2 13:01:01"


def test_haversine_known_distances():
    # Quarter of a meridian: pi/2 * R
    assert units.haversine_km(0, 0, 90, 0) == pytest.approx(np.pi / 2 * units.EARTH_RADIUS_KM, rel=1e-9)
    # One degree of longitude on the equator
    assert units.haversine_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.01)
    # Shanghai - Hangzhou city centres: ~165 km great circle
    sh, hz = lookup_city("Shanghai"), lookup_city("Hangzhou")
    assert sh is not None and hz is not None
    assert units.haversine_km(sh.lat, sh.lon, hz.lat, hz.lon) == pytest.approx(165, abs=8)
    # Beijing - Shanghai: ~1,070 km great circle
    bj = lookup_city("Beijing")
    assert bj is not None
    assert units.haversine_km(bj.lat, bj.lon, sh.lat, sh.lon) == pytest.approx(1068, abs=15)


def test_haversine_broadcasts_and_is_symmetric():
    lat = np.array([31.2, 30.3, 39.9])
    lon = np.array([121.5, 120.2, 116.4])
    d = units.haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert d.shape == (3, 3) and np.allclose(d, d.T) and np.allclose(np.diag(d), 0)


def test_parse_spec():
    assert parse_spec("central_only") == Spec("central_only")
    s = parse_spec("base_stock(service=0.95, review_days=1, dist=negbin)")
    assert s == Spec("base_stock", {"service": 0.95, "review_days": 1, "dist": "negbin"})
    assert str(parse_spec(str(s))) == str(s)


@pytest.mark.parametrize("bad", ["", "1abc", "top_n(5)", "top_n(n=)", "top_n(n=1", "a b"])
def test_parse_spec_rejects(bad):
    with pytest.raises(ValueError):
        parse_spec(bad)


def test_split_top_level_commas_only():
    assert split_top_level("a(x=1,y=2),b,c(z=[1,2])") == ["a(x=1,y=2)", "b", "c(z=[1,2])"]
    assert [s.name for s in parse_spec_list("top_n(n=100),central_only")] == ["top_n", "central_only"]
