"""docs/howto/add-a-policy.md stays true: its code block (executed as written) registers a policy that
make_policy builds from a SPEC, whose targets match a hand computation, whose bad parameters exit 2
naming them, and which runs through the engine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.policies.base import PolicyParameterError, make_policy
from sim.registry import POLICIES
from sim.spec import parse_spec
from sim.units import DAY
from tests.unit.policy_ctx import synthetic_ctx

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "howto" / "add-a-policy.md"


def code_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture(scope="module")
def howto() -> Iterator[dict[str, Any]]:
    (code,) = code_blocks(PAGE)
    ns: dict[str, Any] = {"__name__": "howto_policy"}
    exec(compile(code, str(PAGE), "exec"), ns)
    try:
        yield ns
    finally:  # leave the registry as the other tests expect it
        POLICIES._modules.pop("days_of_cover", None)
        POLICIES._classes.pop("days_of_cover", None)


def test_targets_are_days_of_cover_plus_lead_time_with_echelon_stock(howto: dict[str, Any]) -> None:
    policy = make_policy(parse_spec("days_of_cover(days=3)"))
    assert isinstance(policy, howto["DaysOfCover"]) and policy.days == 3.0
    # room for everything: no slot or volume scaling, so the targets are the plain formula
    ctx = synthetic_ctx(n_skus=40, store_slots=10**6, fdc_slots=10**6, store_volume_m3=1e9, fdc_volume_m3=1e9)
    got = policy.targets(ctx)
    kind, sup = ctx.node_kind, ctx.supplier
    lead_days = (ctx.cover_s - ctx.review_s) / DAY
    own = np.ceil(ctx.forecast * (3.0 + lead_days)[:, None]).astype(np.int64)
    for n in range(kind.size):
        if kind[n] == 0:
            assert (got[n] == 0).all()  # NDC rows are not the policy's
        elif kind[n] == 2:
            assert np.array_equal(got[n], own[n])
        else:  # an FDC: its own cover plus its stores' targets
            assert np.array_equal(got[n], own[n] + own[(kind == 2) & (sup == n)].sum(axis=0))


def test_bad_parameters_are_refused_naming_them(howto: dict[str, Any]) -> None:
    with pytest.raises(
        PolicyParameterError, match=r"policy: days_of_cover: days must be a number in \[0, 60\]"
    ):
        make_policy(parse_spec("days_of_cover(days=-1)"))
    with pytest.raises(PolicyParameterError, match="unknown parameter 'cover'"):
        make_policy(parse_spec("days_of_cover(cover=2)"))


def test_it_runs_through_the_engine(howto: dict[str, Any], tmp_path: Path) -> None:
    from sim.run import simulate

    r = simulate(
        ROOT / "scenarios" / "toy.yaml",
        days=1,
        policy="days_of_cover(days=2)",
        out=tmp_path / "run",
        report=False,
        overrides=["demand.orders_per_day=150", "horizon.warmup_days=2", "router.epoch_s=600"],
    )
    assert r.manifest["policy"] == "days_of_cover(days=2)"
    forward = r.nodes.loc[r.nodes["kind"] != "ndc", "id"]
    assert r.inventory.loc[r.inventory["node_id"].isin(forward), "received"].sum() > 0  # it stocked forward
    assert r.kpis["tiers"]["near"]["share"] > 0
