"""The ``shangou`` command line (DESIGN.md section 9): verbs, exit codes 0 / 1 / 2, one-line errors.

Most tests call ``sim.cli.main(argv)`` in-process (it returns the exit code); a few run the real
console script / ``python -m sim`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim import __version__
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BUNDLED = sorted(SCENARIOS.glob("*.yaml"))
TOY = SCENARIOS / "toy.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def error_lines(err: str) -> list[str]:
    """Non-empty stderr lines, each checked to be a one-line 'error: ...' message."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines, "nothing on stderr"
    for ln in lines:
        assert ln.startswith("error: "), f"stderr line does not start with 'error: ': {ln!r}"
    assert "Traceback" not in err
    return lines


@pytest.fixture()
def bad_scenario(tmp_path: Path) -> Path:
    """toy.yaml with demand.orders_per_day: -5."""
    data = yaml.safe_load(TOY.read_text())
    data["demand"]["orders_per_day"] = -5
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


# --------------------------------------------------------------------------- help, version
def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--help")
    assert code == 0
    assert "Usage" in out
    for verb in ("validate", "network", "schema"):
        assert verb in out


@pytest.mark.parametrize("verb", ["validate", "network", "schema"])
def test_verb_help(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    code, out, _ = run(capsys, verb, "--help")
    assert code == 0
    assert f"shangou {verb}" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"shangou {__version__}"


def test_no_arguments_shows_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 2
    assert "Usage" in out + err


# --------------------------------------------------------------------------- usage errors
def test_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "--bogus", TOY)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1
    assert "--bogus" in lines[0]


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "frobnicate")
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and "frobnicate" in lines[0]


def test_missing_argument(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate")
    assert code == 2
    assert len(error_lines(err)) == 1


def test_extra_argument(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "schema", "extra")
    assert code == 2
    assert len(error_lines(err)) == 1


# --------------------------------------------------------------------------- validate
@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_validate_bundled_scenario(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    code, out, err = run(capsys, "validate", path)
    assert code == 0, err
    assert err == ""
    assert out.startswith(f"ok {path}")
    assert all(ln.startswith(("ok ", "warning: ")) for ln in out.splitlines() if ln.strip())  # sim/traps.py


def test_validate_all_bundled_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(BUNDLED) >= 4
    code, out, err = run(capsys, "validate", *BUNDLED)
    assert code == 0, err
    assert [ln.split(":")[0] for ln in out.splitlines() if ln.startswith("ok ")] == [
        f"ok {p}" for p in BUNDLED
    ]


def test_validate_invalid_file(capsys: pytest.CaptureFixture[str], bad_scenario: Path) -> None:
    code, out, err = run(capsys, "validate", bad_scenario)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1
    assert lines[0].startswith("error: demand.orders_per_day: must be > 0")
    assert "-5" in lines[0]
    assert "ok" not in out


def test_validate_reports_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = yaml.safe_load(TOY.read_text())
    data["demand"]["orders_per_day"] = -5
    data["tiers"] = {"downgrade_acceptance": {"near_mid": 1.5}}
    data["demand"]["orders_per_dy"] = 3
    p = tmp_path / "three.yaml"
    p.write_text(yaml.safe_dump(data))
    code, _, err = run(capsys, "validate", p)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 3
    assert any("tiers.downgrade_acceptance.near_mid" in ln for ln in lines)
    assert any("did you mean 'orders_per_day'" in ln for ln in lines)


def test_validate_several_files_one_bad(capsys: pytest.CaptureFixture[str], bad_scenario: Path) -> None:
    code, out, err = run(capsys, "validate", TOY, bad_scenario, SCENARIOS / "shanghai_hangzhou.yaml")
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1
    assert str(bad_scenario) in lines[0]
    assert "demand.orders_per_day" in lines[0]
    assert f"ok {TOY}" in out and "ok " + str(SCENARIOS / "shanghai_hangzhou.yaml") in out
    assert str(bad_scenario) not in out


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "not found"),
        ("", "empty"),
        ("name: x\nhorizon: [1, 2\n", "YAML syntax error"),
        ("- a\n- b\n", "mapping"),
    ],
    ids=["missing", "empty", "yaml-syntax", "list"],
)
def test_validate_unreadable_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, expected: str
) -> None:
    p = tmp_path / "s.yaml"
    if content is not None:
        p.write_text(content)
    code, _, err = run(capsys, "validate", p)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1
    assert str(p) in lines[0] and expected in lines[0]


def test_validate_set_override(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", TOY, "--set", "demand.orders_per_day=5000")
    assert code == 0, err
    assert "5,000 orders/day" in out


def test_validate_set_bad_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", TOY, "--set", "demand.orders_per_day=-5")
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1
    assert lines[0].startswith("error: demand.orders_per_day: must be > 0")


@pytest.mark.parametrize(
    "item, expected",
    [
        ("demand.orders_per_day", "expected path=value"),
        ("nodes.ndcs.sites[3].lat=31", "out of range"),
        ("demand.orders_per_dy=5", "did you mean 'orders_per_day'"),
    ],
    ids=["no-equals", "index-out-of-range", "unknown-key"],
)
def test_validate_malformed_set(capsys: pytest.CaptureFixture[str], item: str, expected: str) -> None:
    code, _, err = run(capsys, "validate", TOY, "--set", item)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and expected in lines[0]


def test_validate_max_memory_too_small(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "--max-memory", "1KiB", TOY)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1
    assert re.search(r"estimated [0-9.]+ (MiB|GiB) of memory", lines[0]), lines[0]


def test_validate_max_memory_large_enough(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "--max-memory", "64GiB", TOY)
    assert code == 0, err
    assert "GiB estimated" in out


@pytest.mark.parametrize("size", ["lots", "-1GiB", "0", "5XB"])
def test_validate_max_memory_malformed(capsys: pytest.CaptureFixture[str], size: str) -> None:
    code, _, err = run(capsys, "validate", "--max-memory", size, TOY)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and "--max-memory" in lines[0]


def test_debug_after_the_verb(capsys: pytest.CaptureFixture[str], bad_scenario: Path) -> None:
    code, _, err = run(capsys, "validate", bad_scenario, "--debug")
    assert code == 2
    assert "demand.orders_per_day" in err


def test_debug_before_the_verb(capsys: pytest.CaptureFixture[str], bad_scenario: Path) -> None:
    code, _, err = run(capsys, "--debug", "validate", bad_scenario)
    assert code == 2
    assert "error: demand.orders_per_day: must be > 0" in err


# --------------------------------------------------------------------------- schema
def test_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "schema")
    assert code == 0, err
    schema = json.loads(out)
    assert "demand" in schema["properties"]
    assert {"geography", "nodes", "tiers", "policy", "router"} <= set(schema["properties"])
    assert "name" in schema.get("required", [])


# --------------------------------------------------------------------------- network
def test_network_with_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "map.png"
    code, out, err = run(capsys, "network", TOY, "--plot", png)
    assert code == 0, err
    assert png.exists() and png.stat().st_size > 1000
    assert png.read_bytes()[:8] == PNG_MAGIC
    for word in ("near", "mid", "far", "Hangzhou", "Shanghai", "stores"):
        assert word in out
    assert str(png) in out
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]  # no temporary file left behind


def test_network_without_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "network", TOY)
    assert code == 0, err
    assert "near" in out and "mid" in out and "far" in out
    assert "map written" not in out


def test_network_plot_wrong_suffix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    txt = tmp_path / "map.txt"
    code, _, err = run(capsys, "network", TOY, "--plot", txt)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and "--plot" in lines[0]
    assert not txt.exists()


def test_network_plot_into_missing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "no" / "such" / "map.png"
    code, _, err = run(capsys, "network", TOY, "--plot", png)
    assert code == 2
    assert len(error_lines(err)) == 1
    assert not png.exists() and not (tmp_path / "no").exists()


def test_network_plot_onto_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = tmp_path / "map.png"
    d.mkdir()
    code, _, err = run(capsys, "network", TOY, "--plot", d)
    assert code == 2
    assert len(error_lines(err)) == 1
    assert d.is_dir() and not any(d.iterdir())


def test_network_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "absent.yaml"
    code, _, err = run(capsys, "network", p)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and str(p) in lines[0]


def test_network_invalid_scenario_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad_scenario: Path
) -> None:
    png = tmp_path / "map.png"
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, "network", bad_scenario, "--plot", png)
    assert code == 2
    assert error_lines(err)[0].startswith("error: demand.orders_per_day")
    assert not png.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "near" not in out


def test_network_set_bad_value(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "map.png"
    code, _, err = run(capsys, "network", TOY, "--set", "catalog.n_skus=zero", "--plot", png)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: catalog.n_skus: expected an integer")
    assert not png.exists()


def test_internal_error_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.network

    def boom(sc: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(sim.network, "build_network", boom)
    code, _, err = run(capsys, "network", TOY)
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 1
    assert "internal error" in lines[0] and "kaboom" in lines[0]


# --------------------------------------------------------------------------- real processes
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_python_m_sim_help() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "sim", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout and "validate" in r.stdout


def test_python_m_sim_invalid_exit_code(bad_scenario: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(bad_scenario)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: demand.orders_per_day: must be > 0")


def test_console_script() -> None:
    exe = Path(sys.executable).parent / "shangou"
    if not exe.exists():
        pytest.skip("the shangou console script is not installed next to this interpreter")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"shangou {__version__}"
    r = subprocess.run([str(exe), "validate", str(TOY)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"ok {TOY}")
    r = subprocess.run(
        [str(exe), "validate", "--bogus"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
