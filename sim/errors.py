"""Exceptions with a meaning for the user: what exit code they map to and how they print."""

from __future__ import annotations

from collections.abc import Iterable


class ShangouError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = 1


class ScenarioError(ShangouError):
    """Invalid scenario, argument or output path (exit 2).

    Holds one line per problem, each naming the field path, the rule and the value
    (``demand.tier_mix: shares must sum to 1, got 1.3``).
    """

    exit_code = 2

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        if not self.problems:
            self.problems = ["invalid input"]
        super().__init__("\n".join(self.problems))


class InfeasibleScenario(ShangouError):
    """The scenario is valid but cannot be simulated (e.g. a city no node can serve)."""

    exit_code = 2


class SolverError(ShangouError):
    """An optimiser failed in a way no fallback could handle (a bug, exit 1)."""

    exit_code = 1


class InvariantViolation(ShangouError):
    """A run broke an accounting invariant (DESIGN.md 4): a bug in the simulator, never bad input (exit 1).

    Holds one line per violated invariant, each naming it and giving counts and one example.
    """

    exit_code = 1

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        if not self.problems:
            self.problems = ["invariant violated"]
        super().__init__("\n".join(self.problems))
