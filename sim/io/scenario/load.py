"""Load a scenario: read YAML, apply ``--set`` overrides, validate, resolve, check.

Every problem becomes one line ``path: rule, got value`` in a ``ScenarioError`` (exit 2).
Resolution fills everything a later stage would otherwise default: preset cities and their
coordinates, radii and zone counts, nodes from the CSV file, site coordinates, absolute file
paths. The resolved scenario, dumped with ``to_yaml``, reloads to the same scenario.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.cities import PRESETS, lookup_city, preset_cities, suggest, suggest_city
from sim.errors import ScenarioError
from sim.io.scenario import checks, inputs
from sim.io.scenario.memory import memory_refusal
from sim.io.scenario.messages import format_path, validation_lines
from sim.io.scenario.models import FdcCapacity, NdcCapacity, Scenario, StoreCapacity
from sim.io.yaml_loader import MAX_CSV_BYTES, parse_yaml, read_text, yaml_error_line

NODE_KINDS = {"ndc": "ndcs", "fdc": "fdcs", "store": "stores"}
CAPACITY_MODELS: dict[str, type[BaseModel]] = {"ndc": NdcCapacity, "fdc": FdcCapacity, "store": StoreCapacity}


# --------------------------------------------------------------------------- reading
def read_yaml(path: str | Path, what: str | None = None) -> dict[str, Any]:
    """The file's top-level mapping; ScenarioError for every way a file can be unreadable
    (`what` prefixes the messages, default the path: ``extends: base.yaml`` for an extended file)."""
    p = Path(path)
    what = what or str(p)
    text = read_text(p, what)
    if not text.strip():
        raise ScenarioError(f"{what}: file is empty")
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{what}:{yaml_error_line(exc).removeprefix(':')}") from None
    if data is None:
        raise ScenarioError(f"{what}: file is empty")
    if not isinstance(data, dict):
        raise ScenarioError(f"{what}: top level must be a mapping of sections, got {type(data).__name__}")
    return data


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in path.split("."):
        if not chunk:
            raise ValueError("empty segment")
        pieces = _PART.findall(chunk)
        if "".join(k or f"[{i}]" for k, i in pieces) != chunk:
            raise ValueError(f"malformed segment {chunk!r}")
        for key, idx in pieces:
            parts.append(int(idx) if idx else (int(key) if key.isdigit() else key))
    return parts


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` (value parsed as YAML; list items as ``a.b[2].c`` or ``a.b.2.c``)."""
    problems = []
    for item in overrides:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            problems.append(f"--set {item}: expected path=value")
            continue
        if path.strip() == "extends":
            problems.append("--set extends: not supported; put extends: in the scenario file")
            continue
        try:
            parts = _split_path(path.strip())
            value = parse_yaml(raw) if raw.strip() else ""
        except (ValueError, yaml.YAMLError) as exc:
            problems.append(f"--set {path}: {str(exc).splitlines()[0]}")
            continue
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = format_path(parts[: i + 1])
            if isinstance(node, list):
                if not isinstance(part, int) or not -len(node) <= part < len(node):
                    problems.append(f"{where}: --set index out of range (the list has {len(node)} items)")
                    break
            elif isinstance(node, dict):
                part = str(part)
                if not last and not isinstance(node.get(part), (dict, list)):
                    node[part] = {}
            else:
                problems.append(f"{format_path(parts[:i])}: --set cannot go inside a {type(node).__name__}")
                break
            if last:
                node[part] = value
            else:
                node = node[part]
    if problems:
        raise ScenarioError(problems)
    return data


def _validate(data: dict[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_lines(exc, Scenario)) from None


# --------------------------------------------------------------------------- resolution
def auto_radius_km(population: float) -> float:
    """City radius from population: 6 km x sqrt(millions), clamped to [8, 30] km (assumption)."""
    return float(min(30.0, max(8.0, 6.0 * math.sqrt(population / 1e6))))


def _resolve_cities(sc: Scenario, data: dict[str, Any], problems: list[str]) -> None:
    geo = data.setdefault("geography", {})
    names: list[str] = []
    if sc.geography.preset is not None:
        if sc.geography.preset not in PRESETS:
            problems.append(
                f"geography.preset: unknown preset {sc.geography.preset!r}"
                f"{suggest(sc.geography.preset, list(PRESETS))}; known: {', '.join(PRESETS)}"
            )
            return
        names = list(preset_cities(sc.geography.preset))
    explicit = {c.name: c for c in sc.geography.cities}
    seen: set[str] = set()
    for i, city in enumerate(sc.geography.cities):
        if city.name in seen:
            problems.append(f"geography.cities[{i}].name: duplicate city {city.name!r}")
        seen.add(city.name)
    if problems:
        return
    names += [n for n in explicit if n not in names]
    if not names:
        problems.append("geography: needs a preset or at least one city")
        return
    out = []
    for name in names:
        c = explicit.get(name)
        rec = lookup_city(name)
        given = c.model_dump(exclude_none=True) if c else {"name": name}
        if rec is None and (c is None or c.lat is None or c.lon is None or c.population is None):
            i = [x.name for x in sc.geography.cities].index(name) if c else 0
            problems.append(
                f"geography.cities[{i}].name: unknown city {name!r}{suggest_city(name)}; "
                "give lat, lon and population for a city not in cn_cities.csv"
            )
            continue
        full: dict[str, Any] = {"lat": rec.lat, "lon": rec.lon, "population": rec.population} if rec else {}
        full.update(given)
        full.setdefault("demand_weight", float(full["population"]))
        full.setdefault("zones", sc.geography.zones_per_city)
        full.setdefault("radius_km", sc.geography.city_radius_km or auto_radius_km(full["population"]))
        out.append(full)
    geo["cities"] = out


def _read_nodes_csv(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """(kind, site dict) per row; problems name the row (1 = header) and the column."""
    where = f"nodes.file: {path.name}"
    if not path.exists():
        return [], [f"{where}: file not found ({path})"]
    text = read_text(path, where, MAX_CSV_BYTES)
    reader = csv.DictReader(line for line in io.StringIO(text, newline="") if not line.startswith("#"))
    cols = reader.fieldnames or []
    missing = [c for c in ("id", "kind", "city") if c not in cols]
    if missing:
        return [], [f"{where}: missing column(s) {', '.join(missing)}; need id,kind,city[,lat,lon,...]"]
    rows, problems = [], []
    for rowno, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            problems.append(f"{where} row {rowno}: expected {len(cols)} columns")
            continue
        kind = row["kind"].strip().lower()
        if kind not in NODE_KINDS:
            problems.append(
                f"{where} row {rowno}, column kind: must be one of ndc, fdc, store, got {row['kind']!r}"
            )
            continue
        site: dict[str, Any] = {"id": row["id"].strip(), "city": row["city"].strip(), "capacity": {}}
        for col in cols:
            val = row[col].strip()
            if col in ("id", "kind", "city") or val == "":
                continue
            try:
                num = float(val)
            except ValueError:
                problems.append(f"{where} row {rowno}, column {col}: expected a number, got {val!r}")
                continue
            if col in ("lat", "lon"):
                site[col] = num
            elif col in CAPACITY_MODELS[kind].model_fields:
                site["capacity"][col] = int(num) if num.is_integer() else num
            else:
                problems.append(
                    f"{where} row {rowno}, column {col}: not a capacity field of a {kind}"
                    f"{suggest(col, list(CAPACITY_MODELS[kind].model_fields))}"
                )
        rows.append((kind, site))
    return rows, problems


def _resolve_nodes(sc: Scenario, data: dict[str, Any], base: Path, problems: list[str]) -> None:
    nodes = data.setdefault("nodes", {})
    if sc.nodes.file is not None:
        path = sc.nodes.file if sc.nodes.file.is_absolute() else base / sc.nodes.file
        rows, bad = _read_nodes_csv(path)
        problems.extend(bad)
        for kind, site in rows:
            group = nodes.setdefault(NODE_KINDS[kind], {})
            group["sites"] = list(group.get("sites", [])) + [site]
        nodes["file"] = None
    centres = {c["name"]: c for c in data.get("geography", {}).get("cities", [])}
    for key in NODE_KINDS.values():
        for site in nodes.get(key, {}).get("sites", []) or []:
            if isinstance(site, dict) and site.get("city") in centres and site.get("lat") is None:
                site["lat"] = centres[site["city"]]["lat"]
                site["lon"] = centres[site["city"]]["lon"]


def _resolve_paths(sc: Scenario, data: dict[str, Any], base: Path) -> None:
    if sc.demand.file is not None and not sc.demand.file.is_absolute():
        data["demand"]["file"] = str((base / sc.demand.file).resolve())


def resolve(data: dict[str, Any], base_dir: Path) -> Scenario:
    """Validate `data`, fill every default a later stage needs, run the cross-section checks."""
    sc = _validate(data)
    data = sc.model_dump(mode="json", by_alias=True)
    data["extends"] = None  # already merged by read_with_extends
    problems: list[str] = []
    _resolve_cities(sc, data, problems)
    _resolve_nodes(sc, data, base_dir, problems)
    _resolve_paths(sc, data, base_dir)
    inputs.resolve_inputs(sc, data, base_dir, problems)
    if problems:
        raise ScenarioError(problems)
    resolved = _validate(data)
    problems = checks.check(resolved) or inputs.check_inputs(resolved)
    if problems:
        raise ScenarioError(problems)
    return resolved


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`: mappings merge key by key, anything else (lists too) is replaced."""
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_with_extends(path: Path, _seen: tuple[Path, ...] = (), _what: str | None = None) -> dict[str, Any]:
    """The file's mapping with ``extends: other.yaml`` (relative to it) merged underneath; problems in an
    extended file are reported as ``extends: other.yaml: ...`` (the field and the target file)."""
    data = read_yaml(path, _what)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(f"{_what + ': ' if _what else ''}extends: expected a file name, got {parent!r}")
    base_path = (path.parent / parent).resolve()
    if base_path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path.resolve(), base_path))
        raise ScenarioError(f"extends: circular extends ({chain})")
    what = f"extends: {parent}" if not _what else f"{_what}: extends: {parent}"
    return _deep_merge(read_with_extends(base_path, (*_seen, path.resolve()), what), data)


def load_scenario(
    path: str | Path, overrides: list[str] | tuple[str, ...] = (), max_memory: int | None = None
) -> Scenario:
    """Read, override, validate and resolve a scenario file (ScenarioError on any problem).

    `max_memory` (bytes) refuses a scenario whose estimated peak memory is larger.
    """
    p = Path(path)
    data = apply_overrides(read_with_extends(p), list(overrides))
    sc = resolve(data, p.parent.resolve())
    if max_memory is not None:
        refusal = memory_refusal(sc, max_memory)
        if refusal is not None:
            raise ScenarioError(refusal)
    return sc


# --------------------------------------------------------------------------- output
def to_dict(sc: Scenario) -> dict[str, Any]:
    """The scenario as plain data; additive fields at their default are left out (``inputs.prune_additive``)."""
    return inputs.prune_additive(sc, sc.model_dump(mode="json", by_alias=True))


def to_yaml(sc: Scenario) -> str:
    """The resolved scenario as YAML (reloads to an equal scenario)."""
    return yaml.safe_dump(to_dict(sc), sort_keys=False, allow_unicode=True)


def scenario_hash(sc: Scenario) -> str:
    """SHA-256 of the canonical JSON of the resolved scenario."""
    blob = json.dumps(to_dict(sc), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def json_schema() -> dict[str, Any]:
    return Scenario.model_json_schema(by_alias=True)
