"""sites: the location model's CP-SAT answer equals brute force on tiny instances, K = every existing
site reproduces the scenario's network, candidate files are validated by row and column, and the
verb runs end to end on the toy."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.decide.sites import (
    LocationModel,
    auto_candidates,
    existing_sites,
    location_model,
    read_candidates,
    solve,
)
from sim.decide.study import proposal_scenario
from sim.errors import ScenarioError
from sim.io.scenario import load_scenario
from sim.network import build_network

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "scenarios" / "toy.yaml"


def brute_force(d: np.ndarray, c: np.ndarray, f: np.ndarray, fixed: np.ndarray, k: int) -> float:
    best = np.inf
    for subset in itertools.combinations(range(fixed.size), k):
        total = 0.0
        for z in range(d.size):
            options = [f[z]] + [c[z, j] for j in subset]
            total += d[z] * min(options)
        best = min(best, total + sum(fixed[j] for j in subset))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_cp_sat_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    z, m = int(rng.integers(1, 9)), int(rng.integers(1, 7))
    d = rng.integers(0, 50, z).astype(float)
    c = rng.uniform(1, 20, (z, m))
    c[rng.random((z, m)) < 0.3] = np.inf  # out of reach
    f = rng.uniform(5, 25, z)
    fixed = rng.uniform(0, 300, m)
    k = int(rng.integers(0, m + 1))
    bf = brute_force(d, c, f, fixed, k)
    for limit in (0, 10**6):  # CP-SAT (no enumeration allowed), then enumeration
        p = solve(LocationModel(d, c, f, fixed), k, enumerate_max=limit)
        assert len(p.open) == k and p.proven_optimal
        # the chosen set's cost, computed here independently, is the brute-force optimum (to the fen rounding)
        chosen = fixed[list(p.open)].sum() + sum(
            d[i] * min([f[i]] + [c[i, j] for j in p.open]) for i in range(z)
        )
        assert chosen == pytest.approx(bf, abs=0.01 * (d.sum() + m) + 1e-9)
        assert p.cost_per_day == pytest.approx(chosen)


@pytest.mark.parametrize("kind", ["fdc", "store"])
def test_all_existing_sites_reproduce_the_network(kind: str) -> None:
    sc = load_scenario(TOY)
    net = build_network(sc)
    cands = existing_sites(net, kind)
    model = location_model(sc, net, cands, kind)
    p = solve(model, len(cands))
    assert p.open == tuple(range(len(cands)))
    new = build_network(proposal_scenario(sc, kind, [cands[j] for j in p.open]))
    assert new.node_ids == net.node_ids
    np.testing.assert_array_equal(new.node_kind, net.node_kind)
    np.testing.assert_allclose(new.node_lat, net.node_lat, atol=1e-9)
    np.testing.assert_allclose(new.node_lon, net.node_lon, atol=1e-9)
    np.testing.assert_allclose(new.road_km, net.road_km, rtol=1e-6)


def test_auto_candidates_are_spaced_and_include_existing() -> None:
    sc = load_scenario(TOY)
    net = build_network(sc)
    cands = auto_candidates(net, "fdc", 3)
    assert [c.id for c in cands[:1]] == [c.id for c in existing_sites(net, "fdc")]
    assert len(cands) == 1 + 3 and len({c.id for c in cands}) == len(cands)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("id,city,lat\nA,Hangzhou,30.2\n", "missing column 'lon'"),
        ("id,city,lat,lon\nA,Hangzhou,x,120.1\n", "row 2, column lat"),
        ("id,city,lat,lon\nA,Hangzhou,30.2,120.1\nA,Hangzhou,30.3,120.2\n", "row 3, column id"),
        ("id,city,lat,lon\nA,Beijing,39.9,116.4\n", "row 2, column city"),
        ("id,city,lat,lon\nA,Hangzhou,130.2,120.1\n", "row 2, column lat"),
    ],
)
def test_bad_candidate_files(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "c.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=needle):
        read_candidates(p, {"Hangzhou", "Shanghai"})


def test_cli_sites_on_the_toy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cands = tmp_path / "cands.csv"
    cands.write_text(
        "id,city,lat,lon\nFDC-A,Hangzhou,30.27,120.15\nFDC-B,Hangzhou,30.30,120.10\n", encoding="utf-8"
    )
    out = tmp_path / "s"
    code = main(
        [
            "sites",
            str(TOY),
            "--candidates",
            str(cands),
            "--open",
            "0..1",
            "--replications",
            "1",
            "--days",
            "1",
            "--workers",
            "2",
            "--out",
            str(out),
            "--set",
            "demand.orders_per_day=300",
            "--set",
            "horizon.warmup_days=2",
            "--set",
            "router.epoch_s=300",
        ]
    )
    cap = capsys.readouterr()
    assert code == 0, cap.err
    for f in ("sites.csv", "proposals.csv", "candidates.csv", "report.html", "experiment.json"):
        assert (out / f).is_file()
    assert sorted(p.parent.parent.name for p in (out / "runs").rglob("manifest.json")) == ["open-0", "open-1"]
    assert "Cheapest: open" in (out / "report.html").read_text()
    assert (
        main(["sites", str(TOY), "--candidates", str(cands), "--open", "5", "--out", str(tmp_path / "x")])
        == 2
    )


def test_candidate_files_that_are_not_utf8_text_or_not_files(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("id,city,lat,lon\n仓A,Hangzhou,30.2,120.1\n".encode("gbk"))
    with pytest.raises(ScenarioError, match="save it as UTF-8"):
        read_candidates(gbk, {"Hangzhou"})
    with pytest.raises(ScenarioError, match="is a directory"):
        read_candidates(tmp_path, {"Hangzhou"})
