"""The catalog's values: policies, their windows and the evidence behind them.

Plain frozen dataclasses, built once by the catalog loader from validated YAML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Evidence:
    """A short verbatim quote and the seed file line where it starts."""

    file: str
    line: int
    quote: str


@dataclass(frozen=True, slots=True)
class External:
    """A fact from a later official document that is not among the seeds."""

    document: str
    says: str


@dataclass(frozen=True, slots=True, order=True)
class MonthDay:
    """A day that recurs every year."""

    month: int
    day: int

    def in_year(self, year: int) -> dt.date:
        """The date of this month-day in `year` (29 February falls back to the 28th)."""
        if (self.month, self.day) == (2, 29):
            try:
                return dt.date(year, 2, 29)
            except ValueError:
                return dt.date(year, 2, 28)
        return dt.date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


class Basis(StrEnum):
    """How a round's dates are known (data/vocab/bases.yaml names each one in Chinese)."""

    CONFIRMED = "confirmed"  # a dated notice or the bureau published them
    STATED = "stated"  # the documents say it recurs every year at that time
    ESTIMATED = "estimated"  # inferred from when it was handled last year
    TBD = "tbd"  # nobody has said when


class DeadlineOf(StrEnum):
    """Whose deadline a round's close is."""

    ENTERPRISE = "enterprise"  # the enterprise hands in by then: its own deadline
    DISTRICT = "district"  # the district bureau reports to the city by then
    CITY = "city"  # the city bureau reports to the province by then


@dataclass(frozen=True, slots=True)
class Deadline:
    """What a round's close means for the enterprise, as its text says: whose deadline it is,
    where the enterprise hands in (`to`), and what follows (`then`, the later deadlines of the
    bureaus that forward it). The close an enterprise is told is its own where the text sets
    one before the provincial; where only a bureau's is known, the message says so."""

    of: DeadlineOf = DeadlineOf.ENTERPRISE
    to: str | None = None
    then: str | None = None


@dataclass(frozen=True, slots=True)
class AnnualWindow:
    """A month-day range that recurs every year; either end may be unknown."""

    basis: Basis  # stated | estimated
    open: MonthDay | None
    close: MonthDay | None
    evidence: tuple[Evidence | External, ...]
    label: str | None = None
    note: str | None = None
    deadline: Deadline | None = None
    returning: bool = False  # only for those already receiving it (said 已申报 before)
    kind: str = field(default="annual", init=False)


@dataclass(frozen=True, slots=True)
class DatedWindow:
    """One concrete round with dates; either end may be unknown."""

    open: dt.date | None
    close: dt.date | None
    evidence: tuple[Evidence | External, ...]
    label: str | None = None
    note: str | None = None
    deadline: Deadline | None = None
    returning: bool = False  # only for those already receiving it (said 已申报 before)
    kind: str = field(default="dated", init=False)

    @property
    def basis(self) -> Basis:
        """A dated window comes from a dated text: its dates are confirmed."""
        return Basis.CONFIRMED


@dataclass(frozen=True, slots=True)
class ContinuousWindow:
    """A validity period during which the benefit is claimed at any time."""

    start: dt.date | None
    until: dt.date | None
    evidence: tuple[Evidence | External, ...]
    label: str | None = None
    note: str | None = None
    kind: str = field(default="continuous", init=False)


@dataclass(frozen=True, slots=True)
class TbdWindow:
    """The yearly notice sets the time; the documents give none."""

    evidence: tuple[Evidence | External, ...]
    label: str | None = None
    note: str | None = None
    kind: str = field(default="tbd", init=False)


Window = AnnualWindow | DatedWindow | ContinuousWindow | TbdWindow


@dataclass(frozen=True, slots=True)
class Benefit:
    """One amount or advantage; `yuan` is in 元."""

    text: str
    purpose: str | None = None
    yuan: int | None = None
    yuan_min: int | None = None
    up_to: bool = False
    rate_percent: float | None = None
    per: str | None = None
    payer: str | None = None
    pool: bool = False  # the amount is a whole fund's or quota's, not one enterprise's

    @property
    def priced(self) -> bool:
        """Whether it states an amount an enterprise itself could get."""
        return bool(self.yuan) and not self.pool


@dataclass(frozen=True, slots=True)
class Condition:
    """One structured eligibility condition (see the schema for the kinds)."""

    kind: str
    text: str | None = None
    values: tuple[str, ...] = ()  # size/location `in`, industry `codes`
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    field: str | None = None
    op: str | None = None
    value: float | bool | None = None
    minimum: float | None = None
    open_list: bool = False  # 等: outside the list means check, not unmet
    question: str | None = None  # what the enterprise answers to settle it
    scope: bool = False  # the policy's own scope, as its text names it
    of: tuple[Condition, ...] = ()  # either: any one of these is enough
    necessary: bool = False  # failing it rules out; meeting it still leaves the question


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The original conditions and their structured form."""

    text: str
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """A document a policy comes from."""

    title: str
    doc_no: str | None = None
    issuer: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """A person or office to call."""

    name: str | None = None
    phone: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """Where a policy appears in one list, with that list's own row number."""

    list: str
    no: int | None = None
    section: str | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Validity:
    """When the policy itself is in force."""

    start: dt.date | None
    until: dt.date | None
    evidence: tuple[Evidence | External, ...]


@dataclass(frozen=True, slots=True)
class Supersession:
    """The policy in force that replaced this one, and the text that shows it."""

    id: str
    evidence: tuple[Evidence | External, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """One catalog entry."""

    id: str
    name: str
    level: str
    category: str
    summary: str
    benefits: tuple[Benefit, ...]
    eligibility: Eligibility
    sources: tuple[Source, ...]
    department: str
    listed_in: tuple[Listing, ...]
    windows: tuple[Window, ...]
    source_category: str | None = None
    procedure: str | None = None
    materials: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    validity: Validity | None = None
    notes: str | None = None  # maintainers' only: never shown to enterprises
    url: str | None = None
    superseded_by: Supersession | None = None
    confers: tuple[str, ...] = ()  # designations it awards
    outranked_by: tuple[str, ...] = ()  # higher designations that count as holding it
    next_rung: str | None = None  # the policy shown to an enterprise that holds it
    checked: dt.date | None = None  # last re-read against its seed documents

    @property
    def amounts(self) -> tuple[Benefit, ...]:
        """The benefits that state what one enterprise could get, the largest first."""
        return tuple(sorted((b for b in self.benefits if b.priced), key=lambda b: -(b.yuan or 0)))

    @property
    def largest_benefit(self) -> Benefit | None:
        """The benefit with the largest amount in 元 one enterprise could get, if any."""
        amounts = self.amounts
        return amounts[0] if amounts else None

    @property
    def callable_contacts(self) -> tuple[Contact, ...]:
        """The contacts, those with a phone number first: whom a reader can call."""
        return tuple(sorted(self.contacts, key=lambda c: c.phone is None))

    @property
    def terms(self) -> dict[str, Any]:
        """What an enterprise is told it can get and must meet and bring, as recorded with
        each version of a round, so a change notice can say what changed."""
        largest = self.largest_benefit
        return {
            "benefit": largest.text if largest else None,
            "conditions": [_said(c) for c in self.eligibility.conditions],
            "materials": list(self.materials),
        }


CONDITION_WORDS = {
    "size": "规模",
    "location": "区域",
    "industry": "行业",
    "sector": "领域",
    "chain": "产业链",
    "qualification": "资质",
    "years": "成立年限",
}


def _said(condition: Condition) -> str:
    """A condition in words: its text, else what it names."""
    if condition.text:
        return condition.text
    named = condition.values or condition.all_of or condition.any_of
    what = CONDITION_WORDS.get(condition.kind, condition.field or condition.kind)
    if named:
        return f"{what}：{'、'.join(named)}"
    if condition.minimum is not None:
        return f"{what}：至少{condition.minimum:g}"
    return f"{what} {condition.op or ''} {condition.value}".strip()
