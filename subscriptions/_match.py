"""Explained eligibility: for a profile and a policy, a decision and a reason per condition.

Pure: the day, the profile, the vocabularies and the size standard are all passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from schedulers import EXPIRED, Condition, Policy, next_round, status
from subscriptions._profile import Profile, Vocab
from subscriptions._size import SizeResult, SizeStandard, classify


class Decision(StrEnum):
    """What matching says of one policy for one enterprise, best first."""

    ELIGIBLE = "eligible"
    POSSIBLE = "possible"  # nothing rules it out; something must be checked or is unknown
    INELIGIBLE = "ineligible"  # the policy's own text rules the enterprise out


class Outcome(StrEnum):
    """How one condition came out."""

    MET = "met"
    UNMET = "unmet"
    UNKNOWN = "unknown"  # the profile lacks what the condition needs
    CHECK = "check"  # the profile cannot answer it: the enterprise must check


ELIGIBLE, POSSIBLE, INELIGIBLE = Decision
DECISIONS = tuple(Decision)
MET, UNMET, UNKNOWN, CHECK = Outcome


@dataclass(frozen=True, slots=True)
class Reason:
    """How one condition came out for this profile, as facts; its sentence is rendered from
    `templates/reasons.txt.j2` (`bot._views.reason_text`).

    `rule` picks the sentence where one kind has several; `wanted` is what the condition asks
    for and `have` what the enterprise has that bears on it (codes, names from the catalog and
    the vocabularies, numbers); `terms` names the industry codes among them."""

    kind: str
    outcome: Outcome
    rule: str = ""
    wanted: tuple[str, ...] = ()
    have: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # profile fields that would settle an unknown
    terms: tuple[tuple[str, str], ...] = ()  # (industry code, its name)
    note: str = ""  # the catalog's own words for a condition it could not structure


@dataclass(frozen=True, slots=True)
class Match:
    """The decision for one policy, with every reason."""

    policy: Policy
    decision: Decision
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Context:
    """What matching one profile needs besides the policy: built once per profile."""

    profile: Profile
    vocab: Vocab
    size: SizeResult

    @classmethod
    def of(cls, profile: Profile, vocab: Vocab, standard: SizeStandard) -> Context:
        """Classify the profile's size once, for every policy."""
        size = classify(
            standard,
            profile.industry,
            employees=profile.employees,
            revenue_wan=profile.revenue_wan,
            assets_wan=profile.assets_wan,
        )
        return cls(profile, vocab, size)


def _number(value: float) -> str:
    return f"{value:g}"


def _size(cond: Condition, ctx: Context) -> Reason:
    size = ctx.size.size
    if size is None:
        return Reason("size", UNKNOWN, wanted=cond.values, needs=ctx.size.missing)
    outcome = MET if size in cond.values else UNMET
    return Reason("size", outcome, wanted=cond.values, have=(size, ctx.size.group or ""))


def _flag(cond: Condition, ctx: Context) -> Reason:
    field = cond.kind
    actual: bool | None = getattr(ctx.profile, field)
    wanted = ("yes" if cond.value else "no",)
    if actual is None:
        return Reason(field, UNKNOWN, wanted=wanted, needs=(field,))
    outcome = MET if actual == bool(cond.value) else UNMET
    return Reason(field, outcome, wanted=wanted, have=("yes" if actual else "no",))


def _qualification(cond: Condition, ctx: Context) -> Reason:
    held = ctx.profile.qualifications
    wanted = cond.all_of or cond.any_of
    rule = "all" if cond.all_of else "any"
    if held is None:
        return Reason("qualification", UNKNOWN, rule, wanted, needs=("qualifications",))
    canonical = {ctx.vocab.canonical("qualifications", q) for q in wanted}
    if cond.all_of:
        lacking = tuple(sorted(canonical - held))  # `have` names what is still lacking
        return Reason("qualification", UNMET if lacking else MET, rule, wanted, lacking)
    have = tuple(sorted(canonical & held))
    return Reason("qualification", MET if have else UNMET, rule, wanted, have)


def _terms(ctx: Context, codes: Iterable[str]) -> tuple[tuple[str, str], ...]:
    return tuple((c, ctx.vocab.industries.name_of(c)) for c in codes)


def _industry(cond: Condition, ctx: Context) -> Reason:
    code = ctx.profile.industry
    needs: tuple[str, ...] = ()
    if any(code.startswith(c) for c in cond.values):
        outcome, rule = MET, ""
    elif any(c.startswith(code) for c in cond.values):
        outcome, rule, needs = UNKNOWN, "coarse", ("industry",)  # a section, not a division
    elif cond.open_list:
        outcome, rule = CHECK, "open"
    else:
        outcome, rule = UNMET, ""
    terms = _terms(ctx, (*cond.values, code))
    return Reason("industry", outcome, rule, cond.values, (code,), needs, terms)


def _grouping(cond: Condition, ctx: Context) -> Reason:
    """sector and chain: named groups of industries, mapped to divisions in data/vocab."""
    kind = cond.kind
    group = "chains" if kind == "chain" else "sectors"
    wanted = cond.any_of
    found = [ctx.vocab.find(group, w) or ctx.vocab.find("industry_groups", w) for w in wanted]
    declared = ctx.profile.chains or frozenset()
    named = {t.name for t in found if t is not None}
    if named & declared:
        return Reason(kind, MET, "declared", wanted, tuple(sorted(named & declared)))
    division = ctx.profile.division
    code = ctx.profile.industry
    mapped = [t for t in found if t is not None and t.divisions]
    if division is not None and any(division in t.divisions for t in mapped):
        hit = next(t.name for t in mapped if division in t.divisions)
        return Reason(kind, MET, "division", wanted, (code, hit))
    if len(mapped) == len(wanted) and division is not None and not cond.open_list:
        return Reason(kind, UNMET, "division", wanted, (code,), terms=_terms(ctx, (code,)))
    return Reason(kind, CHECK, wanted=wanted, needs=("chains",))


def _threshold(cond: Condition, ctx: Context) -> Reason:
    field = cond.field or ""
    bound = cond.value if isinstance(cond.value, int | float) else 0
    value: float | None = getattr(ctx.profile, field, None)
    op = cond.op or ">="
    wanted = (field, op, _number(bound))
    if value is None:
        return Reason("threshold", UNKNOWN, wanted=wanted, needs=(field,))
    ok = {
        ">=": value >= bound,
        ">": value > bound,
        "<=": value <= bound,
        "<": value < bound,
    }[op]
    return Reason("threshold", MET if ok else UNMET, wanted=wanted, have=(_number(value),))


def _years(cond: Condition, ctx: Context, on: dt.date) -> Reason:
    need = cond.minimum or 0
    founded = ctx.profile.founded
    wanted = (_number(need),)
    if founded is None:
        return Reason("years", UNKNOWN, wanted=wanted, needs=("founded",))
    years = on.year - founded.year - ((on.month, on.day) < (founded.month, founded.day))
    outcome = MET if years >= need else UNMET
    return Reason("years", outcome, wanted=wanted, have=(founded.isoformat(), str(years)))


CITY = "鄂州市"


def _location(cond: Condition, ctx: Context) -> Reason:
    places = cond.values
    district = ctx.profile.district
    if district is None:
        return Reason("location", UNKNOWN, wanted=places, needs=("district",))
    inside = CITY in places or district in places
    known = [p for p in places if p == CITY or ctx.vocab.find("districts", p)]
    if inside:
        return Reason("location", MET, wanted=places, have=(district,))
    if len(known) == len(places):
        return Reason("location", UNMET, wanted=places, have=(district,))
    return Reason("location", CHECK, wanted=places)


def evaluate(cond: Condition, ctx: Context, on: dt.date) -> Reason:
    """One condition against one profile."""
    kind = cond.kind
    if kind == "size":
        return _size(cond, ctx)
    if kind in ("above_scale", "general_taxpayer"):
        return _flag(cond, ctx)
    if kind == "qualification":
        return _qualification(cond, ctx)
    if kind == "industry":
        return _industry(cond, ctx)
    if kind in ("sector", "chain"):
        return _grouping(cond, ctx)
    if kind == "threshold":
        return _threshold(cond, ctx)
    if kind == "years":
        return _years(cond, ctx, on)
    if kind == "location":
        return _location(cond, ctx)
    return Reason("check", CHECK, note=cond.text or "")


def match(ctx: Context, policy: Policy, *, on: dt.date) -> Match:
    """Decide one policy: an unmet condition rules it out, an open one leaves it possible."""
    reasons = [evaluate(c, ctx, on) for c in policy.eligibility.conditions]
    if status(policy, on=on) == EXPIRED:
        reasons.insert(0, Reason("expired", UNMET))
    if not policy.eligibility.conditions:
        reasons.append(Reason("check", CHECK, "unstructured"))
    outcomes = {r.outcome for r in reasons}
    if UNMET in outcomes:
        decision = INELIGIBLE
    elif outcomes & {UNKNOWN, CHECK}:
        decision = POSSIBLE
    else:
        decision = ELIGIBLE
    return Match(policy, decision, tuple(reasons))


def match_all(ctx: Context, policies: Sequence[Policy], *, on: dt.date) -> tuple[Match, ...]:
    """Every policy, eligible first, then possible, then ineligible; each by next round."""
    found = [match(ctx, p, on=on) for p in policies]
    far = dt.date.max

    def key(m: Match) -> tuple[int, dt.date, str]:
        nxt = next_round(m.policy, on=on)
        return (DECISIONS.index(m.decision), nxt.last_day if nxt else far, m.policy.id)

    return tuple(sorted(found, key=key))
