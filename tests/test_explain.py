"""``run --explain`` and ``shangou explain``: the recorder changes nothing, records what the router did,
and the verb's errors are one line with exit 2.

One stressed toy day (few store pickers and riders, twice the orders) with the ``flow`` router, run
with and without ``--explain``, so batches compete for capacity and the look-ahead prices stock.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.run import simulate
from tests.conftest import SCENARIOS

TOY = SCENARIOS / "toy.yaml"
STRESS = [
    "horizon.warmup_days=2",
    "nodes.stores.capacity.pickers=1",
    "nodes.stores.capacity.riders=2",
    "demand.orders_per_day=4000",
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("explain")
    kw = dict(days=1, router="flow", overrides=STRESS, report=False)
    return {
        "plain": simulate(TOY, out=base / "plain", **kw).path,  # type: ignore[arg-type]
        "explain": simulate(TOY, out=base / "explain", explain=True, **kw).path,
    }  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ex(pair: dict[str, Path]) -> pd.DataFrame:
    return pd.read_parquet(pair["explain"] / "explain.parquet")


@pytest.fixture(scope="module")
def orders(pair: dict[str, Path]) -> pd.DataFrame:
    return pd.read_parquet(pair["explain"] / "orders.parquet")


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# --------------------------------------------------------------------------- the recorder changes nothing
@pytest.mark.parametrize(
    "name", ["orders.parquet", "lines.parquet", "inventory.parquet", "nodes.parquet", "scenario.yaml"]
)
def test_other_outputs_byte_identical(pair: dict[str, Path], name: str) -> None:
    assert (pair["plain"] / name).read_bytes() == (pair["explain"] / name).read_bytes()


def test_kpis_identical_except_solver_wall_clock(pair: dict[str, Path]) -> None:
    a, b = (json.loads((pair[k] / "kpis.json").read_text()) for k in ("plain", "explain"))
    a["router"].pop("solver_ms_mean"), b["router"].pop("solver_ms_mean")
    assert a == b


def test_explain_off_by_default(pair: dict[str, Path]) -> None:
    assert not (pair["plain"] / "explain.parquet").exists()
    assert sorted(p.name for p in pair["explain"].iterdir() if not p.name.startswith(".")) == sorted(
        [*(p.name for p in pair["plain"].iterdir()), "explain.parquet"]
    )


# --------------------------------------------------------------------------- what it records
def test_every_order_is_explained(ex: pd.DataFrame, orders: pd.DataFrame) -> None:
    assert set(ex.order_id) == set(orders.order_id)


def test_chosen_option_is_the_served_node_and_tier(ex: pd.DataFrame, orders: pd.DataFrame) -> None:
    """The last routing epoch of each order: its outcome matches orders.parquet, and an assigned order's
    chosen candidate is the node and tier it was served from."""
    last = ex[ex.epoch_s == ex.groupby("order_id").epoch_s.transform("max")]
    heads = last.drop_duplicates("order_id").set_index("order_id")
    o = orders.set_index("order_id").loc[heads.index]
    assert ((heads.outcome.isin(["assigned", "accepted"])) == (o.status == "delivered")).all()
    assert (heads.outcome.isin(["declined", "lost"]) == (o.status == "lost")).all()
    assert (heads.outcome == "accepted").eq(o.downgraded).all()
    chosen = last[last.chosen & last.outcome.isin(["assigned", "accepted"])].set_index("order_id")
    delivered = o[o.status == "delivered"]
    assert len(chosen) == len(delivered) > 0
    assert (chosen.node_id == delivered.node_id.loc[chosen.index]).all()
    assert (chosen.tier == delivered.served_tier.loc[chosen.index]).all()
    # earlier epochs ended carried: one order, one routing until it is assigned or lost
    assert (ex[ex.epoch_s < ex.groupby("order_id").epoch_s.transform("max")].outcome == "carried").all()


def test_options_and_rejections_are_consistent(ex: pd.DataFrame) -> None:
    opt = ex.reason == "option"
    assert np.isfinite(ex.decision_cny[opt]).all() and ex.decision_cny[~opt].isna().all()
    assert not ex.chosen[~opt].any()
    assert (ex[ex.reason == "no_stock"].stock >= 0).all()
    assert (ex[opt].capacity > 0).all() and ex[opt].feasible.all()
    assert (ex[ex.reason == "no_capacity"].capacity <= 0).all()
    # the stress produces every kind of decision the verb explains
    heads = ex.drop_duplicates(["epoch_s", "order_id"])
    assert {"assigned", "accepted", "declined", "carried", "lost"} <= set(heads.outcome)
    assert heads.waiting.any() and (ex.reservation_cny > 0).any()


def test_flow_choice_is_cheapest_unless_a_binding_is_reported(ex: pd.DataFrame) -> None:
    """flow minimises the batch's decision cost: an option cheaper than the order's chosen one (or than
    leaving it unassigned) must have been used up by the batch: node capacity or the stock key's units."""
    opt = ex[ex.reason == "option"].copy()
    opt["bound"] = (opt.node_taken >= opt.capacity) | ((opt.key_taken >= 0) & (opt.key_taken >= opt.stock))
    key = ["epoch_s", "order_id"]
    chosen = opt[opt.chosen].set_index(key).decision_cny.rename("chosen_cny")
    opt = opt.join(chosen, on=key)
    # an order left unassigned is measured against its unassigned cost
    opt["bar"] = opt.chosen_cny.fillna(opt.unassigned_cny)
    cheaper = opt[~opt.chosen & (opt.decision_cny < opt.bar - 1e-6)]
    assert cheaper.bound.all(), cheaper[~cheaper.bound].head()
    assert len(cheaper) > 0  # the stress makes the batch bind, so this checks something


# --------------------------------------------------------------------------- the verb
def test_explain_prints_options_and_why(
    capsys: pytest.CaptureFixture[str], pair: dict[str, Path], ex: pd.DataFrame
) -> None:
    multi = ex[ex.reason == "option"].groupby("order_id").size()
    oid = int(multi[multi > 1].index[0])
    code, out, err = run(capsys, "explain", pair["explain"], oid)
    assert code == 0, err
    assert f"order {oid}" in out and "why: " in out and "sorted by decision cost" in out and "→" in out


def test_explain_json(
    capsys: pytest.CaptureFixture[str], pair: dict[str, Path], orders: pd.DataFrame
) -> None:
    oid = int(orders.order_id[orders.status == "lost"].iloc[0])
    code, out, _ = run(capsys, "explain", pair["explain"], oid, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["order"]["order_id"] == oid and doc["router"] == "flow"
    assert doc["epochs"] and all(e["why"] for e in doc["epochs"])
    assert doc["epochs"][-1]["outcome"] in ("declined", "lost")


def _one_error(code: int, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, err)
    return lines[0]


def test_explain_without_explain_file(capsys: pytest.CaptureFixture[str], pair: dict[str, Path]) -> None:
    code, _, err = run(capsys, "explain", pair["plain"], 0)
    assert "run was made without --explain; re-run with `shangou run ... --explain`" in _one_error(code, err)


def test_explain_unknown_order(capsys: pytest.CaptureFixture[str], pair: dict[str, Path]) -> None:
    code, _, err = run(capsys, "explain", pair["explain"], 987654321987)
    assert "987654321987" in _one_error(code, err)


def test_explain_missing_or_not_a_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "explain", tmp_path / "nope", 1)
    assert "no such directory" in _one_error(code, err)
    code, _, err = run(capsys, "explain", tmp_path, 1)
    assert "not a Shangou run directory" in _one_error(code, err)


def test_explain_bad_order_id_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], pair: dict[str, Path]
) -> None:
    code, _, err = run(capsys, "explain", pair["explain"], "abc")
    _one_error(code, err)


def test_run_explain_flag_writes_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys,
        "run",
        TOY,
        "--out",
        tmp_path / "r",
        "--days",
        "1",
        "--explain",
        "--quiet",
        "--no-report",
        "--set",
        "horizon.warmup_days=2",
        "--set",
        "demand.orders_per_day=300",
    )
    assert code == 0, err
    ex = pd.read_parquet(tmp_path / "r" / "explain.parquet")
    assert set(ex.order_id) == set(pd.read_parquet(tmp_path / "r" / "orders.parquet").order_id)
    code, out, _ = run(capsys, "run", "--help")
    assert "--explain" in out and "bytes" in out
