"""What a `[[brands]]` entry may add beyond its name and query: competitors, topics, and
whether it alerts at all. config.py mixes these into its brand table.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, field_validator

from core.query import Query, QueryError, parse
from core.settings import Strict
from reports.settings import ReportSettings


class BrandExtras(Strict):
    """What a [[brands]] entry may add: competitors to compare with, topics to tag, and whether
    its mentions may page the team at all (a competitor's outage is news, not an incident)."""

    competitors: list[str] = Field(default_factory=list)
    alerts: bool = True
    topics: dict[str, str] = Field(default_factory=dict)

    @field_validator("topics")
    @classmethod
    def _topics_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for name, query in value.items():
            if not name.strip():
                raise ValueError("topic names must not be empty")
            if len(name) > 255:
                raise ValueError(f"topic name {name[:40]!r}... is longer than 255 characters")
            try:
                parse(query)
            except QueryError as exc:
                raise ValueError(f"topic {name!r}: query does not parse: {exc}") from None
        return value

    @property
    def topic_queries(self) -> dict[str, Query]:
        return {name: parse(query) for name, query in self.topics.items()}


def brand_topics(settings: object, brand: str) -> dict[str, Query]:
    """The parsed topics of `brand` ({} for a brand no longer configured)."""
    for b in getattr(settings, "brands", ()):
        if b.name == brand:
            return b.topic_queries
    return {}


def silent_brands(settings: object) -> set[str]:
    """Brands with `alerts = false`: a mention only of these pages nobody."""
    return {b.name for b in getattr(settings, "brands", ()) if not b.alerts}


def check_brands(brands: Sequence[BrandExtras], reports: ReportSettings) -> None:
    """Every competitor, and every brand a scheduled report covers, is a configured brand."""
    names = [getattr(b, "name", "") for b in brands]
    for name in reports.brands:
        if name not in names:
            raise ValueError(f"reports.brands: {name!r} is not a configured brand")
    for i, brand in enumerate(brands):
        for other in brand.competitors:
            if other == names[i]:
                raise ValueError(f"brands[{i}] ({names[i]!r}): a brand is not its own competitor")
            if other not in names:
                raise ValueError(
                    f"brands[{i}] ({names[i]!r}): competitor {other!r} is not a configured "
                    "brand; add it as a [[brands]] entry (with alerts = false to keep it quiet)"
                )
