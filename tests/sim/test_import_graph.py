"""The import graph of ``sim/`` is a DAG and respects the layers of DESIGN.md section 3 (docs/architecture.md).

Edges are every ``import x`` / ``from x import y`` in a module (module level, inside functions and under
``TYPE_CHECKING`` alike: a lazy import is still a dependency), resolved to the ``sim`` module they name.
A package's ``__init__`` is its public face (re-exports), so an edge into it does not close a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SIM = Path(__file__).resolve().parents[2] / "sim"

#: (importer prefix, imported prefix) pairs that must not occur: metrics/io/inventory read results,
#: never the simulation; SimPy-side engine code is imported by nothing below it
FORBIDDEN = [
    ("sim.metrics", "sim.engine"),
    ("sim.io", "sim.engine"),
    ("sim.inventory", "sim.engine"),
    ("sim.routing", "sim.engine"),
    ("sim.policies", "sim.engine"),
    ("sim.demand", "sim.engine"),
    ("sim.network", "sim.engine"),
    ("sim.records", "sim.engine"),
    ("sim.vocab", "sim"),
]

#: solver and clock libraries and the only packages that may import them (DESIGN.md section 3, the
#: developers' guide): SimPy drives the engine's clock; OR-Tools and PyVRP are the solvers of routing,
#: the policies' stocking models and the decision layer's models (sim/decide/sites.py: CP-SAT site choice)
ALLOWED_THIRD_PARTY = {
    "simpy": ("sim.engine",),
    "ortools": ("sim.routing", "sim.policies", "sim.decide"),
    "pyvrp": ("sim.routing",),
}


def _modules() -> dict[str, Path]:
    mods = {}
    for p in SIM.rglob("*.py"):
        name = ".".join(p.relative_to(SIM.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    return mods


def import_graph() -> nx.DiGraph:
    mods = _modules()
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for m, p in mods.items():
        base = m.split(".") if p.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mod = (
                    ".".join(base[: len(base) - node.level + 1] + [node.module or ""])
                    if node.level
                    else node.module or ""
                )
                names = [mod.rstrip("."), *(f"{mod.rstrip('.')}.{a.name}" for a in node.names)]
            else:
                continue
            for t in names:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m and mods[t].name != "__init__.py":
                    g.add_edge(m, t)
    return g


def test_the_graph_sees_known_edges() -> None:
    g = import_graph()
    assert g.has_edge("sim.engine.simulation", "sim.engine.routing_step")
    assert g.has_edge("sim.engine.routing_step", "sim.engine.option_build")
    assert g.number_of_nodes() > 50


def test_no_import_cycles() -> None:
    g = import_graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles in sim/: {cycles}"


def test_layers() -> None:
    g = import_graph()
    bad = [
        f"{a} -> {b}"
        for a, b in g.edges
        for src, dst in FORBIDDEN
        if (a == src or a.startswith(src + ".")) and (b == dst or b.startswith(dst + "."))
    ]
    assert not bad, f"imports across layers: {bad}"


def test_a_cycle_is_detected(tmp_path: Path) -> None:
    """The check can fail: two modules importing each other form a strongly connected component."""
    g = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c")])
    assert [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1] == [["a", "b"]]


def third_party_imports() -> dict[str, set[str]]:
    """module -> the top-level packages it imports (module level, in functions and under TYPE_CHECKING)."""
    out: dict[str, set[str]] = {}
    for m, p in _modules().items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out.setdefault(m, set()).update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                out.setdefault(m, set()).add(node.module.split(".")[0])
    return out


def test_solvers_and_simpy_only_where_allowed() -> None:
    imports = third_party_imports()
    assert (
        "simpy" in imports["sim.engine.simulation"] and "ortools" in imports["sim.decide.sites"]
    )  # it sees them
    bad = [
        f"{m} imports {pkg}"
        for m, pkgs in imports.items()
        for pkg, allowed in ALLOWED_THIRD_PARTY.items()
        if pkg in pkgs and not any(m == a or m.startswith(a + ".") for a in allowed)
    ]
    assert not bad, f"solver / clock imports outside their layers: {bad}"
