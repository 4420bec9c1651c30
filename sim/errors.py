"""Exceptions with a meaning for the user: what exit code they map to and how they print."""

from __future__ import annotations

from collections.abc import Iterable


class ShangouError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = 1


class ProblemsError(ShangouError):
    """An error made of one line per problem (``.problems``); the CLI prints each as ``error: <line>``."""

    default = "error"

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        if not self.problems:
            self.problems = [self.default]
        super().__init__("\n".join(self.problems))


class ScenarioError(ProblemsError):
    """Invalid scenario, argument or output path (exit 2).

    Each line names the field path, the rule and the value
    (``demand.tier_mix: shares must sum to 1, got 1.3``).
    """

    exit_code = 2
    default = "invalid input"


class InfeasibleScenario(ShangouError):
    """The scenario is valid but cannot be simulated (e.g. a city no node can serve)."""

    exit_code = 2


class SolverError(ShangouError):
    """An optimiser failed in a way no fallback could handle (a bug, exit 1)."""

    exit_code = 1


class InvariantViolation(ProblemsError):
    """A run broke an accounting invariant (DESIGN.md 4): a bug in the simulator, never bad input (exit 1).

    Each line names the invariant and gives counts and one example.
    """

    exit_code = 1
    default = "invariant violated"
