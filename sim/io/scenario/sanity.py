"""Checks for inputs that would validate and then silently mislead (issue #17): places far from
their city, coordinates outside China, a basket longer than the catalog, policy and router specs
whose parameters only the engine would reject, and the total size of the network.

Each check returns ``path: rule, got value`` lines; ``check`` in ``checks.py`` runs them.
"""

from __future__ import annotations

from sim import units
from sim.cities import lookup_city
from sim.io.scenario.models import Scenario

#: China's bounding box with a margin (Sanya 18.3 N, Mohe 53.5 N, Kashgar 75.9 E, Fuyuan 134.3 E);
#: applies unless ``geography.region: world``
CHINA_LAT = (17.5, 54.0)
CHINA_LON = (73.0, 135.5)
SITE_RADII = 3.0  # a site may lie this many city radii from its city's centre ...
SITE_MIN_KM = {"store": 50.0, "fdc": 50.0, "ndc": 150.0}  # ... or this far, whichever is more (an NDC
# is a regional hub, often in a logistics park between cities, e.g. Kunshan ~50 km from Shanghai)
CITY_MOVED_KM = 100.0  # explicit coordinates of a known city may differ from cn_cities.csv by this much
MAX_NODES = 200_000  # all nodes together (national: 2,537)


def _in_china(lat: float, lon: float) -> bool:
    return CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LON[0] <= lon <= CHINA_LON[1]


def _box() -> str:
    return f"{CHINA_LAT[0]:g}-{CHINA_LAT[1]:g} N, {CHINA_LON[0]:g}-{CHINA_LON[1]:g} E"


def check_geography(sc: Scenario) -> list[str]:
    """Cities where they are known to be, every coordinate in China (unless region: world), every
    site within a few city radii of its city, no (0, 0) placeholder coordinates."""
    out: list[str] = []
    china = sc.geography.region == "china"
    centres = {}
    for i, c in enumerate(sc.geography.cities):
        where = f"geography.cities[{i}]"
        if c.lat is None or c.lon is None:
            continue
        centres[c.name] = (float(c.lat), float(c.lon), float(c.radius_km or 0.0))
        if c.lat == 0 and c.lon == 0:
            out.append(f"{where}: lat/lon 0, 0 is a placeholder, not a city (give its coordinates)")
            continue
        if china and not _in_china(c.lat, c.lon):
            out.append(
                f"{where}: {c.name} at lat {c.lat:g}, lon {c.lon:g} is outside China ({_box()}); "
                "swapped lat/lon? (set geography.region: world for a network outside China)"
            )
            continue
        rec = lookup_city(c.name)
        if rec is not None:
            moved = units.haversine_km(c.lat, c.lon, rec.lat, rec.lon)
            if moved > CITY_MOVED_KM:
                out.append(
                    f"{where}: {c.name} is at lat {rec.lat:g}, lon {rec.lon:g} (cn_cities.csv), the given "
                    f"lat/lon is {moved:,.0f} km away; fix the coordinates or give the city another name"
                )
    for kind, group in sc.nodes.groups():
        key = f"nodes.{kind}s" if kind != "store" else "nodes.stores"
        for j, s in enumerate(group.sites):
            if s.lat is None or s.lon is None or s.city not in centres:
                continue
            where = f"{key}.sites[{j}]"
            if china and not _in_china(s.lat, s.lon):
                out.append(
                    f"{where}: {s.id} at lat {s.lat:g}, lon {s.lon:g} is outside China ({_box()}); "
                    "swapped lat/lon? (set geography.region: world for a network outside China)"
                )
                continue
            clat, clon, radius = centres[s.city]
            km = float(units.haversine_km(s.lat, s.lon, clat, clon))
            limit = max(SITE_RADII * radius, SITE_MIN_KM[kind])
            if km > limit:
                out.append(
                    f"{where}: {s.id} is {km:,.0f} km from the centre of its city {s.city} (radius "
                    f"{radius:g} km); a site must lie within {limit:,.0f} km (wrong city or coordinates?)"
                )
    return out


def check_sizes(sc: Scenario) -> list[str]:
    """Limits across sections: a basket no longer than the catalog, a bounded node count."""
    out: list[str] = []
    b = sc.demand.basket
    if b.mean_lines > sc.catalog.n_skus:  # max_lines above n_skus only moves the tail's lump to n_skus
        out.append(
            f"demand.basket.mean_lines: must be <= catalog.n_skus ({sc.catalog.n_skus}) since an order's "
            f"lines are distinct SKUs, got {b.mean_lines:g}"
        )
    n = sc.nodes.count()
    if n > MAX_NODES:
        out.append(f"nodes: at most {MAX_NODES:,} nodes, got {n:,}")
    return out


def check_specs(sc: Scenario) -> list[str]:
    """The policy SPEC and the router built as the engine builds them (parameters checked, e.g.
    ``top_n(n=-5)``), so ``validate`` refuses what ``run`` would."""
    from sim.errors import ShangouError
    from sim.policies.base import make_policy
    from sim.routing.base import make_router
    from sim.spec import parse_spec

    out: list[str] = []
    try:
        make_policy(parse_spec(sc.policy))
    except ShangouError as exc:
        out += [
            line if line.startswith("policy") else f"policy: {line}"
            for line in getattr(exc, "problems", [str(exc)])
        ]
    except (ValueError, TypeError, LookupError) as exc:
        out.append(f"policy: {exc}")
    try:
        make_router(
            sc.router.name,
            max_deterministic_time=sc.router.max_deterministic_time,
            max_shipments=sc.router.max_shipments,
        )
    except ShangouError as exc:
        out += [f"router: {line}" for line in getattr(exc, "problems", [str(exc)])]
    except (ValueError, TypeError, LookupError) as exc:
        out.append(f"router: {exc}")
    return out
