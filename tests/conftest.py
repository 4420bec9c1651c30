"""Shared fixtures: paths to the bundled scenarios and a loaded toy scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def toy():
    from sim.io.scenario import load_scenario

    return load_scenario(SCENARIOS / "toy.yaml")
