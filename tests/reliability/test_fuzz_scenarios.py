"""Property: no mutation of a scenario makes ``shangou validate`` fail with anything but exit 0 or 2
(issue #17): never exit 1, never a traceback, never a hang, never a memory blow-up.

Mutations of the toy scenario: a leaf's type or range, a duplicated section, paths (``extends``,
``nodes.file``, ``demand.file``) to devices, directories, missing or GBK-encoded files, and the file
itself re-encoded. Each case runs the CLI in-process under a 5 CPU-second timer (policies and routers
imported once first, so imports are not counted); the test process's peak RSS stays under 1 GiB.
"""

from __future__ import annotations

import copy
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "scenarios" / "toy.yaml"
TOY_HISTORY = ROOT / "scenarios" / "toy_history.yaml"
BASE: dict[str, Any] = yaml.safe_load(TOY.read_text())
CASE_SECONDS = 5


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path


LEAVES = sorted(_leaves(BASE), key=repr)
# the fields that matter most for size and time, reached through --set as a user would
SIZE_FIELDS = [
    "catalog.n_skus",
    "demand.orders_per_day",
    "geography.zones_per_city",
    "horizon.days",
    "horizon.warmup_days",
    "router.epoch_s",
    "demand.basket.mean_lines",
    "demand.basket.max_lines",
    "demand.basket.mean_qty",
    "seed",
    "nodes.fdcs.count_per_city.Hangzhou",
    "nodes.stores.count_per_city.Hangzhou",
    "nodes.stores.capacity.riders",
    "geography.city_radius_km",
    "inventory.review_period_days",
    "forecast.window_days",
    "router.max_deterministic_time",
    "nodes.ndcs.sites[0].lat",
    "nodes.ndcs.sites[0].lon",
    "horizon.start_date",
]
ODD_VALUES = st.sampled_from(
    [
        "abc",
        "",
        -1,
        0,
        1,
        0.000001,
        1e10,
        1e308,
        -1e308,
        2**63,
        2**64,
        10**15,
        True,
        None,
        [],
        {},
        [1, 2],
        {"a": 1},
        "2026-02-30",
        "2026-13-01",
        "nan",
        ".inf",
        "1e999",
        "0x10",
        "22:00",
        "24:01",
        "杭州",
        "\x00",
        "[" * 200 + "]" * 200,
        "top_n(n=-5)",
        "base_stock(service=2)",
        "x" * 10_000,
    ]
)
SPECS = st.sampled_from(
    [
        "top_n(n=-5)",
        "top_n(n=1e30)",
        "nope",
        "top_n(",
        "top_n(n=1,n=2)",
        "base_stock(service=nan)",
        "cost_optimal(x=1)",
        "forecast_push(service=-1)",
        "central_only()",
        "top_n(n=[1])",
    ]
)


@pytest.fixture(scope="module", autouse=True)
def _imported() -> None:
    from sim.registry import POLICIES, ROUTERS

    for reg in (POLICIES, ROUTERS):  # imports (OR-Tools, scipy) once, outside the timed cases
        for name in reg.names():
            reg.get(name)


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fuzz")
    gbk = d / "gbk.csv"
    gbk.write_bytes("id,kind,city\n店1,store,Hangzhou\n".encode("gbk"))
    utf16 = d / "utf16.csv"
    utf16.write_bytes("id,kind,city\nS1,store,Hangzhou\n".encode("utf-16"))
    fifo = d / "fifo"
    import os

    os.mkfifo(fifo)
    return {
        "dir": d,
        "gbk": gbk,
        "utf16": utf16,
        "fifo": fifo,
        "zero": Path("/dev/zero"),
        "missing": d / "missing.yaml",
        "self": TOY,
        "history": TOY_HISTORY,
    }


class _Hang(BaseException):  # not an Exception: the CLI's internal-error handler must not swallow it
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def _check(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, CASE_SECONDS)  # CPU seconds: a loaded machine does not make it flaky
    try:
        code = main(argv)
    except _Hang:
        pytest.fail(f"over {CASE_SECONDS} CPU seconds (a hang): {argv}")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
    out, err = capsys.readouterr()
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code == 2:
        assert err.startswith("error: "), (argv, err)


def _write(d: Path, data: Any, name: str = "s.yaml") -> Path:
    p = d / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(leaf=st.sampled_from(LEAVES), value=ODD_VALUES)
def test_leaf_type_mutations(
    capsys: pytest.CaptureFixture[str], places: dict[str, Path], leaf: tuple[Any, ...], value: Any
) -> None:
    data = copy.deepcopy(BASE)
    _set(data, leaf, value)
    _check(capsys, ["validate", str(_write(places["dir"], data))])


@FUZZ
@given(
    field=st.sampled_from(SIZE_FIELDS),
    value=st.one_of(
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0, 1, 10**6, 10**9, 10**15, 1e-9, -0.0]),
    ),
)
def test_range_mutations(capsys: pytest.CaptureFixture[str], field: str, value: Any) -> None:
    _check(capsys, ["validate", str(TOY), "--set", f"{field}={value}"])


@settings(FUZZ, max_examples=10)
@given(spec=SPECS, where=st.sampled_from(["--policy", "--router"]))
def test_spec_mutations(capsys: pytest.CaptureFixture[str], spec: str, where: str) -> None:
    key = "policy" if where == "--policy" else "router.name"
    _check(capsys, ["validate", str(TOY), "--set", f"{key}={spec}"])


@settings(FUZZ, max_examples=25)
@given(section=st.sampled_from(sorted(BASE)), place=st.sampled_from(["top", "nested"]))
def test_duplicated_keys(
    capsys: pytest.CaptureFixture[str], places: dict[str, Path], section: str, place: str
) -> None:
    text = TOY.read_text()
    if place == "top":
        text += f"\n{section}: {yaml.safe_dump(BASE[section], default_flow_style=True).strip()}\n"
    else:
        text = text.replace("  days: 2 ", "  days: 2\n  days: 3 ", 1)
    p = places["dir"] / "dup.yaml"
    p.write_text(text)
    _check(capsys, ["validate", str(p)])


@settings(FUZZ, max_examples=30)
@given(
    field=st.sampled_from(["extends", "nodes.file", "demand.file", "<argument>"]),
    place=st.sampled_from(["dir", "gbk", "utf16", "fifo", "zero", "missing", "self"]),
)
def test_path_mutations(
    capsys: pytest.CaptureFixture[str], places: dict[str, Path], field: str, place: str
) -> None:
    target = str(places[place])
    if field == "<argument>":
        _check(capsys, ["validate", target])
    elif field == "extends":
        p = places["dir"] / "child.yaml"
        p.write_text(f"extends: {target}\nname: child\n")
        _check(capsys, ["validate", str(p)])
    elif field == "demand.file":
        _check(capsys, ["validate", str(TOY_HISTORY), "--set", f"demand.file={target}"])
    else:
        _check(capsys, ["validate", str(TOY), "--set", f"{field}={target}"])


@pytest.mark.parametrize("encoding", ["gbk", "utf-16", "utf-32", "latin-1", "utf-8-sig"])
def test_file_encodings(capsys: pytest.CaptureFixture[str], tmp_path: Path, encoding: str) -> None:
    data = copy.deepcopy(BASE)
    data["description"] = "杭州 前置仓" if encoding != "latin-1" else "Café"
    p = tmp_path / "enc.yaml"
    p.write_bytes(yaml.safe_dump(data, allow_unicode=True).encode(encoding))
    _check(capsys, ["validate", str(p)])


def test_peak_memory_stays_under_1_gib() -> None:
    """Runs last in this module: the peak RSS of the whole process, fuzz cases included."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak_kib < 2**20, f"peak RSS {peak_kib / 2**20:.2f} GiB"
