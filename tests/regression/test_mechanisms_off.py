"""Issue #14's mechanisms switched off reproduce main's outputs before them, file for file.

The digests in golden_before_14.json are main's golden recording (tools/golden.py) from before the
mechanisms existed; scenario.yaml is left out because the resolved file now lists the new fields.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import golden  # noqa: E402

BEFORE = json.loads((Path(__file__).parent / "golden_before_14.json").read_text())
OFF = ["inventory.fresh.enabled=false", "tiers.mid.rolling.enabled=false", "tiers.mid.van_dispatch=all"]
CASES = [("toy", 1, "flow", "forecast_push(service=0.9)"), ("toy", 1, "nearest", "top_n(n=120)")]


@pytest.mark.parametrize("case", CASES, ids=golden.key)
def test_switched_off_matches_the_recording_before(case: tuple, tmp_path: Path) -> None:
    from sim.run import simulate

    if golden.versions() != BEFORE["packages"]:
        pytest.skip("package versions differ from the recording")
    name, days, router, policy = case
    out = tmp_path / "run"
    simulate(ROOT / "scenarios" / f"{name}.yaml", days=days, router=router, policy=policy, out=out, force=True,
             report=False, overrides=OFF)
    want = BEFORE["runs"][golden.key(case)]
    got = {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in want if f != "kpis.json"}
    got["kpis.json"] = golden.kpis_digest(out / "kpis.json")
    assert got == want
