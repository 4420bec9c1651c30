"""``shangou policies``, ``routers``, ``match`` and ``runs`` grouping with ``--label`` (issue #16)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.registry import POLICIES, ROUTERS

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"
SMALL = ["--set", "demand.orders_per_day=150", "--set", "horizon.warmup_days=2"]


def _blocks(text: str) -> dict[str, list[str]]:
    """name -> its knob lines, from the listing's 'name: summary' blocks."""
    out: dict[str, list[str]] = {}
    name = None
    for ln in text.splitlines():
        if ln and not ln.startswith(" ") and ": " in ln and not ln[0].isdigit():
            name = ln.split(":")[0]
            out[name] = []
        elif ln.startswith("    ") and name:
            out[name].append(ln.strip())
    return out


@pytest.mark.parametrize(("verb", "registry"), [("policies", POLICIES), ("routers", ROUTERS)])
def test_listing_shows_every_name_with_its_knobs_and_defaults(
    capsys: pytest.CaptureFixture[str], verb: str, registry: object
) -> None:
    assert main([verb]) == 0
    blocks = _blocks(capsys.readouterr().out)
    assert set(blocks) == set(registry.names())  # type: ignore[attr-defined]
    for name, lines in blocks.items():
        params = [
            p
            for p in inspect.signature(registry.get(name)).parameters.values()  # type: ignore[attr-defined]
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]
        if not params:
            assert lines == ["(no knobs)"]
            continue
        assert [ln.split(" = ")[0] for ln in lines] == [p.name for p in params]
        for ln, p in zip(lines, params, strict=True):
            assert ln.split(" = ", 1)[1].split("  [")[0] == repr(p.default)


def test_policies_listing_names_known_knobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies"]) == 0
    blocks = _blocks(capsys.readouterr().out)
    assert "n = 200" in blocks["top_n"] and "service = 0.95" in blocks["base_stock"]
    assert "holding_weight = 1.0" in blocks["cost_optimal"]
    assert main(["routers"]) == 0
    assert "lookahead = True  [scenario: router.lookahead]" in _blocks(capsys.readouterr().out)["flow"]


def test_match_refuses_an_unknown_knob_without_a_bracket(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["match", str(TOY), "--policy", "top_n", "--param", "cover", "--target-value", "1000"])
    assert code == 2
    assert "error: --param: no default bracket for 'cover'" in capsys.readouterr().err


def test_runs_groups_by_experiment_with_labels_overrides_and_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "run",
                str(TOY),
                "--days",
                "1",
                *SMALL,
                "--label",
                "my-baseline",
                "--out",
                str(tmp_path / "one"),
                "--quiet",
                "--no-report",
            ]
        )
        == 0
    )
    man = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert man["label"] == "my-baseline" and man["overrides"] == [
        "demand.orders_per_day=150",
        "horizon.warmup_days=2",
    ]
    assert (
        main(
            [
                "sweep",
                str(TOY),
                "--grid",
                "forecast.error=0.1,0.3",
                "--replications",
                "1",
                "--days",
                "1",
                *SMALL,
                "--label",
                "error-sweep",
                "--workers",
                "1",
                "--out",
                str(tmp_path / "sw"),
                "--quiet",
            ]
        )
        == 0
    )
    run_man = json.loads(
        (tmp_path / "sw" / "runs" / "forecast.error=0.3" / "r0" / "manifest.json").read_text()
    )
    assert run_man["experiment"] == "sweep" and run_man["label"] == "error-sweep"
    assert run_man["grid"] == {"forecast.error": "0.3"} and run_man["group"] == "forecast.error=0.3"
    capsys.readouterr()
    assert main(["runs", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "single runs (1)" in text and "my-baseline" in text and "demand.orders_per_day=150" in text
    assert "sw: sweep of toy, label error-sweep" in text and "grid forecast.error=0.1,0.3" in text
    assert text.index("single runs") < text.index("sw: sweep")
    rows = [ln for ln in text.splitlines() if "runs/forecast.error=" in ln]
    assert len(rows) == 2 and "0.1" in rows[0] and "0.3" in rows[1]


def test_help_texts_show_no_python_internals(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from sim.cli import app

    verbs = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"policies", "routers", "match", "runs", "run", "validate"} <= set(verbs)
    for verb in verbs:
        assert main([verb, "--help"]) == 0
        text = capsys.readouterr().out
        for leak in ("{", "<list", "<str>", "<int", "<path>", "<float", "dir_", "set_", "list[", "Path]"):
            assert leak not in text, (verb, leak, text)
