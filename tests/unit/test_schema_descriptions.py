"""Every field of the scenario schema has a description (issue #16): the JSON schema walked property by
property, and the description table names only fields that exist."""

from __future__ import annotations

from typing import Any

from sim.io.scenario import json_schema
from sim.io.scenario import models as m
from sim.io.scenario.descriptions import DESCRIPTIONS


def _undescribed(node: Any, path: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, prop in (node.get("properties") or {}).items():
            if not str(prop.get("description") or "").strip():
                out.append(f"{path}.{key}")
        for key, value in node.items():
            out += _undescribed(value, f"{path}/{key}" if key != "properties" else path)
    elif isinstance(node, list):
        for value in node:
            out += _undescribed(value, path)
    return out


def test_every_schema_property_has_a_description() -> None:
    schema = json_schema()
    assert len(schema["$defs"]) > 30  # the walk sees the nested models
    assert _undescribed(schema) == []


def test_description_table_names_existing_fields_only() -> None:
    for key in DESCRIPTIONS:
        model, field = key.split(".")
        cls = getattr(m, model)
        assert field in cls.model_fields, key
        assert cls.model_fields[field].description, key


def test_demand_weight_says_its_unit() -> None:
    text = m.City.model_fields["demand_weight"].description or ""
    assert "population" in text and "people" in text and "share" in text
