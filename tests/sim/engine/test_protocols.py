"""``SimState`` (sim/engine/protocols.py) is what the epoch steps read of the simulation, and ``Simulation``
has it: mypy checks both statically (the steps take ``sim: SimState``; ``Simulation`` passes itself);
these tests keep the declaration and the class honest at run time too."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from sim.engine import protocols
from sim.engine.protocols import SimState

ENGINE = Path(protocols.__file__).parent
STEPS = (
    "option_build.py",
    "routing_step.py",
    "dispatch.py",
    "shipments.py",
    "explain.py",
    "substitution.py",
    "offline.py",
)


def _members() -> dict[str, str]:
    """Each declared member and its type as written: read-only properties and the few plain attributes a
    step assigns (``park_witness``)."""
    members = {
        name: prop.fget.__annotations__["return"]
        for name, prop in vars(SimState).items()
        if isinstance(prop, property)
    }
    return members | dict(vars(SimState).get("__annotations__", {}))


def test_the_steps_read_only_declared_members() -> None:
    """Every ``sim.<name>`` in the epoch step modules is a member of SimState (and every member is read)."""
    declared = set(_members())
    read: set[str] = set()
    for f in STEPS:
        for node in ast.walk(ast.parse((ENGINE / f).read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "sim"
            ):
                read.add(node.attr)
    assert read - declared == set(), f"undeclared: {sorted(read - declared)}"
    assert declared - read == set(), f"declared but never read by a step: {sorted(declared - read)}"


@pytest.fixture(scope="module")
def simulation(toy):
    from sim.engine.simulation import Simulation

    return Simulation(toy, seed=toy.seed, replication=0, days=1, policy=toy.policy, router=toy.router.name)


def test_simulation_has_every_member_with_its_type(simulation) -> None:
    kinds = {"np.ndarray": np.ndarray, "float": float}
    for name, ann in _members().items():
        assert hasattr(simulation, name), name
        value = getattr(simulation, name)
        if ann in kinds:
            assert isinstance(value, kinds[ann]), (name, type(value))
        elif ann == "EpochRecorder | None":
            assert value is None  # built without --explain
        elif ann == "list[Candidates]":
            assert [type(c).__name__ for c in value] == ["Candidates", "Candidates"]
        elif ann == "Router":
            assert callable(value.route)
        elif ann.endswith(" | None"):  # a mechanism's component, None when it is off (on in the toy)
            assert type(value).__name__ == ann.removesuffix(" | None"), (name, type(value).__name__, ann)
        else:
            assert type(value).__name__ == ann.split("[")[0], (name, type(value).__name__, ann)
