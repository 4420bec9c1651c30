"""Registries of named, pluggable classes (policies, routers).

A registry knows every name and the module that defines it *without importing it*, so the
scenario validator can reject an unknown name early and nothing imports a later stage.
The module registers its class with the decorator (``@register_policy("top_n")``); ``get``
imports the module on first use. Third parties add entries with ``declare``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Registry:
    def __init__(self, kind: str, modules: dict[str, str]) -> None:
        self.kind = kind
        self._modules = dict(modules)
        self._classes: dict[str, Any] = {}

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._modules))

    def declare(self, name: str, module: str) -> None:
        """Make `name` known; `module` must register it when imported."""
        self._modules[name] = module

    def register(self, name: str) -> Callable[[T], T]:
        def deco(cls: T) -> T:
            self._modules.setdefault(name, getattr(cls, "__module__", ""))
            self._classes[name] = cls
            return cls

        return deco

    def get(self, name: str) -> Any:
        """The class registered as `name`; KeyError (unknown) or LookupError (not built yet)."""
        if name not in self._modules:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        if name not in self._classes:
            try:
                importlib.import_module(self._modules[name])
            except ModuleNotFoundError as exc:
                raise LookupError(
                    f"{self.kind} {name!r} is not available in this version ({exc.name} missing)"
                ) from None
        if name not in self._classes:
            raise LookupError(f"{self.kind} {name!r}: module {self._modules[name]} did not register it")
        return self._classes[name]


POLICIES = Registry(
    "policy",
    {
        "central_only": "sim.policies.central_only",
        "top_n": "sim.policies.top_n",
        "base_stock": "sim.policies.base_stock",
        "cost_optimal": "sim.policies.cost_optimal",
        "forecast_push": "sim.policies.forecast_push",
    },
)

ROUTERS = Registry(
    "router",
    {
        "flow": "sim.routing.flow",
        "mip": "sim.routing.mip",
        "nearest": "sim.routing.greedy",
        "cheapest": "sim.routing.greedy",
        "tier_first": "sim.routing.greedy",
    },
)
