"""Common base types of the scenario schema: the frozen ``Model`` base, constrained scalars and bounds."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, Strict

from sim import units
from sim.vocab import TIER_NAMES

T = TypeVar("T")
TIERS = TIER_NAMES
Tier = Literal["near", "mid", "far"]
MAX_MID_WINDOW_H = 4.0  # the mid tier's promise: delivered within 4 h of the wave cut-off [params: Tiers]


def _clock(v: str) -> str:
    units.parse_clock(v)  # raises ValueError with a clear message
    return v


def _ident(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be empty")
    return v


PosInt = Annotated[int, Strict(), Field(gt=0)]  # strict: a boolean (YAML yes/true) is not a count
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Prob = Annotated[float, Field(ge=0, le=1)]
Clock = Annotated[str, AfterValidator(_clock)]
Ident = Annotated[str, AfterValidator(_ident)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
# Upper bounds where an extreme cannot work (memory, time or meaning), refused rather than capped silently
# (issue #17); each is far above any real network: national has 2,537 nodes, 80 zones per city.
MAX_PER_NODE = 10_000  # pickers, riders or vans at one node
MAX_PER_CITY = 10_000  # nodes placed by count, or demand zones, in one city
Count = Annotated[int, Strict(), Field(gt=0, le=MAX_PER_NODE)]


def _lat_lon_pair(obj: T, default: str) -> T:
    """Both coordinates or neither (then `default` applies)."""
    lat, lon = getattr(obj, "lat"), getattr(obj, "lon")  # noqa: B009
    if (lat is None) != (lon is None):
        raise ValueError(f"give both lat and lon, or neither ({default}), got lat {lat}, lon {lon}")
    return obj


#: Marks a field added after the golden outputs were recorded: the resolved scenario.yaml omits it while it
#: is at its default (``load.to_dict``), so existing scenarios keep byte-identical run directories.
ADDITIVE: dict[str, JsonValue] = {"additive": True}


class Model(BaseModel):
    """Base of every scenario section: immutable, unknown keys and NaN/inf rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)
