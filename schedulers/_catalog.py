"""The policy catalog as values: policies, vocabularies, problems, and building a policy
from its validated YAML mapping. Pure: reading and validating the files is `schedulers.data`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schedulers._policy import (
    AnnualWindow,
    Basis,
    Benefit,
    Condition,
    Contact,
    ContinuousWindow,
    DatedWindow,
    Deadline,
    DeadlineOf,
    Eligibility,
    Evidence,
    External,
    Listing,
    MonthDay,
    Policy,
    Source,
    Supersession,
    TbdWindow,
    Validity,
    Window,
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the catalog: which file, which field, what."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class CatalogError(Exception):
    """The catalog has problems; `problems` lists every one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the catalog")
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Term:
    """One vocabulary entry."""

    key: str
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyList:
    """A source list or document (data/vocab/lists.yaml)."""

    key: str
    name: str
    seed: str | None  # None: not from a seed document (policies drafted from notices)
    numbered: bool
    sections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Department:
    """A department that handles policies."""

    name: str
    parent: str | None = None
    level: str | None = None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The catalog's vocabularies, loaded from data/vocab."""

    levels: tuple[Term, ...]
    categories: tuple[Term, ...]
    window_kinds: tuple[Term, ...]
    bases: tuple[Term, ...]
    lists: tuple[PolicyList, ...]
    departments: tuple[Department, ...]

    def label(self, vocab: str, key: str) -> str:
        """The Chinese name of `key` in the vocabulary `vocab` (the key itself if unknown)."""
        terms: tuple[Term, ...] = getattr(self, vocab)
        return next((t.name for t in terms if t.key == key), key)

    def list_by_name(self, name: str) -> PolicyList | None:
        """The list called `name`."""
        return next((pl for pl in self.lists if pl.name == name), None)

    def category(self, word: str) -> Term | None:
        """The category a reader names: its key (talent) or its Chinese name (人才补贴)."""
        wanted = folded(word)
        return next((t for t in self.categories if wanted in (t.key, folded(t.name))), None)


# Quotation marks and brackets people put around a name, or leave out: not part of the name.
_UNQUOTED = re.compile(r"[\s\"'“”‘’《》「」『』〈〉()（）·•、,，.。:：;；!！?？-]+")


def folded(text: str) -> str:
    """`text` as names are compared: full-width folded, lower case, without spaces, quotes,
    brackets or punctuation (企业“千名引硕工程” and 千名引硕工程 compare alike)."""
    return _UNQUOTED.sub("", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class Catalog:
    """Every policy, in id order, with the vocabularies that describe them.

    `digest` changes whenever any policy changes, so that cached matches can be renewed.
    """

    policies: tuple[Policy, ...]
    vocab: Vocabulary
    digest: str = ""
    _by_id: dict[str, Policy] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update((p.id, p) for p in self.policies)

    def get(self, policy_id: str) -> Policy | None:
        """The policy with that id, if any."""
        return self._by_id.get(policy_id)

    def find(self, word: str) -> list[Policy]:
        """The policies a reader names: by id, by whole name, else every policy whose name
        contains the word (千名引硕 finds 企业“千名引硕工程”人才生活补贴); id order."""
        exact = self._by_id.get(word.strip())
        if exact is not None:
            return [exact]
        wanted = folded(word)
        if not wanted:
            return []
        named = [p for p in self.policies if folded(p.name) == wanted]
        return named or [p for p in self.policies if wanted in folded(p.name)]


# --- Dates ---------------------------------------------------------------------------------


def parse_iso_date(value: str) -> dt.date:
    """A YYYY-MM-DD date (ValueError if it is not a real one)."""
    return dt.date.fromisoformat(value)


def parse_month_day(value: str) -> MonthDay:
    """An MM-DD day of any year (ValueError if no year has it)."""
    month, day = (int(x) for x in value.split("-"))
    dt.date(2024, month, day)  # a leap year, so 02-29 is accepted
    return MonthDay(month, day)


# --- Building values ---------------------------------------------------------------------


def _evidence(raw: Iterable[Mapping[str, Any]]) -> tuple[Evidence | External, ...]:
    return tuple(
        External(e["document"], e["says"])
        if "document" in e
        else Evidence(e["file"], e["line"], e["quote"])
        for e in raw
    )


def _opt_date(value: str | None) -> dt.date | None:
    return None if value is None else parse_iso_date(value)


def _opt_md(value: str | None) -> MonthDay | None:
    return None if value is None else parse_month_day(value)


def _window(raw: Mapping[str, Any]) -> Window:
    ev = _evidence(raw["evidence"])
    label, note = raw.get("label"), raw.get("note")
    kind = raw["kind"]
    deadline = _deadline(raw.get("deadline"))
    if kind == "annual":
        return AnnualWindow(
            Basis(raw["basis"]),
            _opt_md(raw.get("open")),
            _opt_md(raw.get("close")),
            ev,
            label,
            note,
            deadline,
            bool(raw.get("returning", False)),
        )
    if kind == "dated":
        return DatedWindow(
            _opt_date(raw.get("open")),
            _opt_date(raw.get("close")),
            ev,
            label,
            note,
            deadline,
            bool(raw.get("returning", False)),
        )
    if kind == "continuous":
        return ContinuousWindow(
            _opt_date(raw.get("from")), _opt_date(raw.get("until")), ev, label, note
        )
    return TbdWindow(ev, label, note)


def _deadline(raw: Mapping[str, Any] | None) -> Deadline | None:
    if raw is None:
        return None
    return Deadline(DeadlineOf(raw.get("of", "enterprise")), raw.get("to"), raw.get("then"))


def _condition(raw: Mapping[str, Any]) -> Condition:
    value = raw.get("value")
    return Condition(
        kind=raw["kind"],
        text=raw.get("text"),
        values=tuple(raw.get("in", ())) + tuple(raw.get("codes", ())),
        all_of=tuple(raw.get("all", ())),
        any_of=tuple(raw.get("any", ())),
        field=raw.get("field"),
        op=raw.get("op"),
        value=value,
        minimum=raw.get("min"),
        open_list=raw.get("open_list", False),
        question=raw.get("question"),
        scope=raw.get("scope", False),
        of=tuple(_condition(c) for c in raw.get("of", ())),
        necessary=raw.get("necessary", False),
    )


def build_policy(raw: Mapping[str, Any]) -> Policy:
    """Turn one validated raw policy into its frozen value."""
    validity = raw.get("validity")
    return Policy(
        id=raw["id"],
        name=raw["name"],
        level=raw["level"],
        category=raw["category"],
        summary=raw["summary"],
        benefits=tuple(
            Benefit(
                text=b["text"],
                purpose=b.get("for"),
                yuan=b.get("yuan"),
                yuan_min=b.get("yuan_min"),
                up_to=b.get("up_to", False),
                rate_percent=b.get("rate_percent"),
                per=b.get("per"),
                payer=b.get("payer"),
                pool=b.get("pool", False),
            )
            for b in raw["benefits"]
        ),
        eligibility=Eligibility(
            raw["eligibility"]["text"],
            tuple(_condition(c) for c in raw["eligibility"].get("conditions", ())),
        ),
        sources=tuple(
            Source(s["title"], s.get("doc_no"), s.get("issuer"), _opt_date(s.get("date")))
            for s in raw["sources"]
        ),
        department=raw["department"],
        listed_in=tuple(
            Listing(li["list"], li.get("no"), li.get("section"), li.get("ref"))
            for li in raw["listed_in"]
        ),
        windows=tuple(_window(w) for w in raw["windows"]),
        source_category=raw.get("source_category"),
        procedure=raw.get("procedure"),
        materials=tuple(raw.get("materials", ())),
        contacts=tuple(
            Contact(c.get("name"), c.get("phone"), c.get("unit")) for c in raw.get("contacts", ())
        ),
        validity=(
            Validity(
                _opt_date(validity.get("from")),
                _opt_date(validity.get("until")),
                _evidence(validity["evidence"]),
            )
            if validity
            else None
        ),
        notes=raw.get("notes"),
        url=raw.get("url"),
        superseded_by=(
            Supersession(raw["superseded_by"]["id"], _evidence(raw["superseded_by"]["evidence"]))
            if raw.get("superseded_by")
            else None
        ),
        confers=tuple(raw.get("confers", ())),
        outranked_by=tuple(raw.get("outranked_by", ())),
        next_rung=raw.get("next_rung"),
        checked=_opt_date(raw.get("checked")),
    )
