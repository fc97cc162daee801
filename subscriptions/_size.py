"""Enterprise size classification by 《中小企业划型标准规定》 (工信部联企业〔2011〕300号).

Pure: the standard comes in as data (data/vocab/size_standard.yaml), built once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIZES = ("large", "medium", "small", "micro")
SIZE_NAMES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}
INDICATORS = ("employees", "revenue_wan", "assets_wan")


@dataclass(frozen=True, slots=True)
class SizeGroup:
    """One industry group of the standard with its lower bounds per class."""

    key: str
    name: str
    codes: tuple[str, ...]
    large: Mapping[str, float]
    medium: Mapping[str, float]
    small: Mapping[str, float]

    @property
    def indicators(self) -> tuple[str, ...]:
        """The indicators this group is classified by, in a fixed order."""
        return tuple(i for i in INDICATORS if i in self.large)


@dataclass(frozen=True, slots=True)
class SizeStandard:
    """The whole standard: its title, indicator names and groups (the last is the fallback)."""

    title: str
    indicator_names: Mapping[str, str]
    groups: tuple[SizeGroup, ...]

    def group_for(self, industry: str) -> SizeGroup:
        """The group covering a GB/T 4754 code: the longest matching code prefix wins."""
        best: tuple[int, SizeGroup] | None = None
        for group in self.groups:
            for code in group.codes:
                if industry.startswith(code) and (best is None or len(code) > best[0]):
                    best = (len(code), group)
        if best is not None:
            return best[1]
        return next(g for g in self.groups if not g.codes)


@dataclass(frozen=True, slots=True)
class SizeResult:
    """A classification: `size` is None when the numbers given cannot decide it."""

    size: str | None
    group: str
    standard: str
    missing: tuple[str, ...] = ()


def _class_of(group: SizeGroup, values: Mapping[str, float]) -> str:
    """The class when every indicator is known (a class needs all its lower bounds)."""
    for size, bounds in (("large", group.large), ("medium", group.medium), ("small", group.small)):
        if all(values[i] >= bounds[i] for i in group.indicators):
            return size
    return "micro"


def classify(
    standard: SizeStandard,
    industry: str,
    *,
    employees: float | None = None,
    revenue_wan: float | None = None,
    assets_wan: float | None = None,
) -> SizeResult:
    """Classify an enterprise; with numbers missing, decide only if every value would agree."""
    group = standard.group_for(industry)
    given = {"employees": employees, "revenue_wan": revenue_wan, "assets_wan": assets_wan}
    missing = tuple(i for i in group.indicators if given[i] is None)
    low = {i: (0.0 if given[i] is None else float(given[i] or 0)) for i in group.indicators}
    high = {i: (math.inf if given[i] is None else float(given[i] or 0)) for i in group.indicators}
    lowest, highest = _class_of(group, low), _class_of(group, high)
    if lowest == highest:
        return SizeResult(lowest, group.name, standard.title)
    return SizeResult(None, group.name, standard.title, missing)


def build_standard(raw: Mapping[str, Any]) -> SizeStandard:
    """The standard from its YAML mapping (data/vocab/size_standard.yaml)."""
    return SizeStandard(
        title=str(raw["standard"]),
        indicator_names=dict(raw["indicators"]),
        groups=tuple(
            SizeGroup(
                key=str(g["key"]),
                name=str(g["name"]),
                codes=tuple(g["codes"]),
                large=dict(g["large"]),
                medium=dict(g["medium"]),
                small=dict(g["small"]),
            )
            for g in raw["groups"]
        ),
    )
