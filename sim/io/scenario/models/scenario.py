"""The whole scenario: ``Scenario`` (every section) and ``node_kinds``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from sim.io.scenario.models.base import ADDITIVE, Model
from sim.io.scenario.models.costs import Costs
from sim.io.scenario.models.demand import Catalog, Demand
from sim.io.scenario.models.geography import Geography
from sim.io.scenario.models.inventory import Inventory
from sim.io.scenario.models.lanes import Lanes
from sim.io.scenario.models.nodes import Nodes
from sim.io.scenario.models.router import Router
from sim.io.scenario.models.run import Forecast, Horizon, Report
from sim.io.scenario.models.tiers import Tiers


class Scenario(Model):
    """A fully described fulfilment network, its demand and how it is run."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    extends: str | None = Field(
        None, description="another scenario file (relative) this one overrides key by key"
    )
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0, lt=2**63)] = Field(0, description="0 <= seed < 2^63")
    horizon: Horizon = Horizon()
    geography: Geography
    nodes: Nodes
    lanes: Lanes = Lanes()
    catalog: Catalog = Catalog()
    demand: Demand = Demand()
    tiers: Tiers = Tiers()
    costs: Costs = Costs()
    inventory: Inventory = Inventory()
    policy: str = Field("central_only", description="pre-positioning policy SPEC, e.g. top_n(n=200)")
    router: Router = Router()
    forecast: Forecast = Forecast()
    report: Report | None = Field(
        None, description="report settings (targets for the headline); optional", json_schema_extra=ADDITIVE
    )


# descriptions of the fields without an inline one (sim/io/scenario/descriptions.py)
from sim.io.scenario.descriptions import describe  # noqa: E402

describe(globals())


def node_kinds(sc: Scenario) -> dict[str, str]:
    """id -> kind for every node, explicit and placed by count."""
    return {nid: kind for kind, g in sc.nodes.groups() for nid, _ in g.all_ids(kind)}
