"""Enterprise size classification by 《中小企业划型标准规定》 (工信部联企业〔2011〕300号).

Pure: the standard comes in as data (data/vocab/size_standard.yaml), built once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    # The indicators this group is classified by, in a fixed order, and each class's lower
    # bounds in that order (worked out once: classifying is on every profile's path).
    indicators: tuple[str, ...] = field(init=False, compare=False)
    _bounds: tuple[tuple[str, tuple[float, ...]], ...] = field(
        init=False, compare=False, repr=False
    )
    _picks: tuple[int, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        indicators = tuple(i for i in INDICATORS if i in self.large)
        object.__setattr__(self, "indicators", indicators)
        bounds = tuple(
            (size, tuple(float(b[i]) for i in indicators))
            for size, b in (("large", self.large), ("medium", self.medium), ("small", self.small))
        )
        object.__setattr__(self, "_bounds", bounds)
        object.__setattr__(self, "_picks", tuple(INDICATORS.index(i) for i in indicators))

    def class_of(self, values: Sequence[float]) -> str:
        """The class when every indicator is known, values in `indicators` order (a class
        needs all its lower bounds)."""
        for size, bounds in self._bounds:
            for value, bound in zip(values, bounds, strict=True):
                if value < bound:
                    break
            else:
                return size
        return "micro"


@dataclass(frozen=True, slots=True)
class SizeStandard:
    """The whole standard: its title, indicator names and groups (the last is the fallback)."""

    title: str
    indicator_names: Mapping[str, str]
    groups: tuple[SizeGroup, ...]
    _by_code: dict[str, SizeGroup] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def group_for(self, industry: str) -> SizeGroup:
        """The group covering a GB/T 4754 code: the longest matching code prefix wins."""
        found = self._by_code.get(industry)
        if found is None:
            found = self._by_code[industry] = self._group_for(industry)
        return found

    def _group_for(self, industry: str) -> SizeGroup:
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
    given = (employees, revenue_wan, assets_wan)
    values = [given[k] for k in group._picks]
    if None not in values:
        return SizeResult(group.class_of(values), group.name, standard.title)  # type: ignore[arg-type]
    missing = tuple(i for i, v in zip(group.indicators, values, strict=True) if v is None)
    lowest = group.class_of(tuple(0.0 if v is None else float(v) for v in values))
    highest = group.class_of(tuple(float("inf") if v is None else float(v) for v in values))
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
