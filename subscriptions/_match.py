"""Explained eligibility: for a profile and a policy, a decision and a reason per condition.

Pure: the day, the profile, the vocabularies and the size standard are all passed in.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from operator import attrgetter

from schedulers import EXPIRED, Benefit, Condition, Policy, Round, next_round, status
from subscriptions._profile import Profile, Term, Vocab
from subscriptions._size import SizeResult, SizeStandard, classify


class Decision(StrEnum):
    """What matching says of one policy for one enterprise, best first."""

    ELIGIBLE = "eligible"
    POSSIBLE = "possible"  # nothing rules it out; something must be checked or is unknown
    HELD = "held"  # the enterprise already holds what the policy confers
    INELIGIBLE = "ineligible"  # the policy's own text rules the enterprise out


class Outcome(StrEnum):
    """How one condition came out."""

    MET = "met"
    UNMET = "unmet"
    UNKNOWN = "unknown"  # the profile lacks what the condition needs
    CHECK = "check"  # the profile cannot answer it: the enterprise must check


ELIGIBLE, POSSIBLE, HELD, INELIGIBLE = Decision
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
    quote: str = ""  # the policy's words this condition stands for
    question: str = ""  # what the enterprise answers to settle it (check conditions)

    @property
    def open(self) -> bool:
        """Whether it is left to check: the profile cannot answer it, or lacks a field."""
        return self.outcome in (UNKNOWN, CHECK)


@dataclass(frozen=True, slots=True)
class Match:
    """The decision for one policy, with every reason."""

    policy: Policy
    decision: Decision
    reasons: tuple[Reason, ...]

    @property
    def questions(self) -> tuple[Reason, ...]:
        """What is left to check, one reason per question (none unless `possible`)."""
        return tuple(r for r in self.reasons if r.open) if self.decision == POSSIBLE else ()

    @property
    def amounts(self) -> tuple[Benefit, ...]:
        """What this enterprise could get, the largest first (nothing unless it can apply)."""
        return self.policy.amounts if self.decision in (ELIGIBLE, POSSIBLE) else ()


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


def _groups_named(cond: Condition, vocab: Vocab) -> list[Term | None]:
    """The vocabulary's group for each name a sector or chain condition gives (None: unknown)."""
    group = "chains" if cond.kind == "chain" else "sectors"
    return [vocab.find(group, w) or vocab.find("industry_groups", w) for w in cond.any_of]


def _grouping(cond: Condition, ctx: Context) -> Reason:
    """sector and chain: named groups of industries, mapped to divisions in data/vocab."""
    kind = cond.kind
    wanted = cond.any_of
    found = _groups_named(cond, ctx.vocab)
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


def _ownership(cond: Condition, ctx: Context) -> Reason:
    have = ctx.profile.ownership
    if have is None:
        return Reason("ownership", UNKNOWN, wanted=cond.values, needs=("ownership",))
    return Reason(
        "ownership", MET if have in cond.values else UNMET, wanted=cond.values, have=(have,)
    )


def _operator(cond: Condition, ctx: Context) -> Reason:
    runs = ctx.profile.operates
    wanted = tuple(ctx.vocab.canonical("operators", w) for w in cond.any_of)
    if runs is None:
        return Reason("operator", UNKNOWN, wanted=wanted, needs=("operates",))
    have = tuple(sorted(set(wanted) & runs))
    return Reason("operator", MET if have else UNMET, wanted=wanted, have=have)


RD_ORDER = ("none", "municipal", "provincial", "national")


def _rd_institution(cond: Condition, ctx: Context) -> Reason:
    level = ctx.profile.rd_institution
    if level is None:
        return Reason("rd_institution", UNKNOWN, wanted=cond.values, needs=("rd_institution",))
    return Reason(
        "rd_institution", MET if level in cond.values else UNMET, wanted=cond.values, have=(level,)
    )


def _either(cond: Condition, ctx: Context, on: dt.date) -> Reason:
    """Any one alternative is enough: met if one is, ruled out only if every one is."""
    parts = [evaluate(c, ctx, on) for c in cond.of]
    outcomes = {r.outcome for r in parts}
    if MET in outcomes:
        outcome = MET
    elif outcomes == {UNMET}:
        outcome = UNMET
    else:
        outcome = CHECK if CHECK in outcomes else UNKNOWN
    needs = tuple(dict.fromkeys(n for r in parts if r.open for n in r.needs))
    wanted = tuple(r.quote or r.kind for r in parts)
    # What is left to ask: the questions of the alternatives still open.
    asked = "；或".join(r.question for r in parts if r.open and r.question)
    return Reason("either", outcome, wanted=wanted, needs=needs, question=asked)


def _evaluate(cond: Condition, ctx: Context, on: dt.date) -> Reason:
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
    if kind == "ownership":
        return _ownership(cond, ctx)
    if kind == "operator":
        return _operator(cond, ctx)
    if kind == "rd_institution":
        return _rd_institution(cond, ctx)
    if kind == "either":
        return _either(cond, ctx, on)
    return Reason("check", CHECK, note=cond.text or "")


def _outcome(cond: Condition, ctx: Context, on: dt.date) -> Outcome:
    """A condition's outcome alone (the matcher's fast path), as `evaluate` gives it."""
    outcome = _evaluate(cond, ctx, on).outcome
    return CHECK if cond.necessary and outcome == MET else outcome


def evaluate(cond: Condition, ctx: Context, on: dt.date) -> Reason:
    """One condition against one profile, with the policy's words and question attached."""
    reason = _evaluate(cond, ctx, on)
    if cond.necessary and reason.outcome == MET:
        reason = replace(reason, outcome=CHECK)  # necessary, not sufficient: still to ask
    if cond.text or cond.question:
        reason = replace(reason, quote=cond.text or "", question=cond.question or reason.question)
    return reason


def _held_by(policy: Policy, vocab: Vocab) -> frozenset[str]:
    """The designations whose holders already have what the policy confers."""
    return frozenset(
        vocab.canonical("qualifications", q) for q in policy.confers + policy.outranked_by
    )


def _decide(reasons: Sequence[Reason]) -> Decision:
    outcomes = {r.outcome for r in reasons}
    if UNMET in outcomes:
        return INELIGIBLE
    if outcomes & {UNKNOWN, CHECK}:
        return POSSIBLE
    return ELIGIBLE


def _full(
    ctx: Context, policy: Policy, *, on: dt.date, expired: bool, held_by: frozenset[str], rung: str
) -> Match:
    if policy.superseded_by is not None:
        gone = Reason("superseded", UNMET, note=policy.superseded_by.id)
        return Match(policy, INELIGIBLE, (gone,))
    if expired:
        reasons = [Reason("expired", UNMET)]
        reasons += [evaluate(c, ctx, on) for c in policy.eligibility.conditions]
        return Match(policy, INELIGIBLE, tuple(reasons))
    quals = ctx.profile.qualifications
    if held_by and quals and not held_by.isdisjoint(quals):
        have = tuple(sorted(held_by & quals))
        return Match(
            policy, HELD, (Reason("held", MET, wanted=policy.confers, have=have, note=rung),)
        )
    reasons = [evaluate(c, ctx, on) for c in policy.eligibility.conditions]
    if not policy.eligibility.conditions:
        reasons.append(Reason("check", CHECK, "unstructured"))
    return Match(policy, _decide(reasons), tuple(reasons))


def match(ctx: Context, policy: Policy, *, on: dt.date) -> Match:
    """Decide one policy: superseded or expired rules it out, holding what it confers makes it
    `held`, an unmet condition rules it out, an open one leaves it possible."""
    expired = status(policy, on=on) == EXPIRED
    held_by = _held_by(policy, ctx.vocab)
    return _full(ctx, policy, on=on, expired=expired, held_by=held_by, rung=policy.next_rung or "")


# --- Matching many profiles on one day ------------------------------------------------------

_MET, _OPEN, _UNMET = 0, 1, 2
_CODE = {MET: _MET, UNKNOWN: _OPEN, CHECK: _OPEN, UNMET: _UNMET}
_BY_CODE = (ELIGIBLE, POSSIBLE, INELIGIBLE)
_CACHE_MAX = 65_536  # outcome tuples kept per group before it starts afresh


def _feature(cond: Condition, on: dt.date) -> tuple[str, Callable[[Context], Hashable]]:
    """What of a profile a condition's outcome depends on: a name shared by the conditions
    that read the same thing, and how to read it (the key its outcomes are cached by).
    Numbers and dates are read as where they fall among the bounds of the conditions that
    compare them (see `_keyed`), so that distinct amounts share their outcomes."""
    kind = cond.kind
    if kind == "size":
        return "size", lambda c: c.size.size
    if kind in ("sector", "chain"):
        return "groups", lambda c: (c.profile.chains, c.profile.industry)
    if kind == "either":
        parts = tuple(_keyed(_feature(p, on)[1], (p,), on) for p in cond.of)
        return f"either:{id(cond)}", lambda c: tuple(f(c) for f in parts)
    if kind == "check":
        return "", lambda c: None
    name = {
        "above_scale": "above_scale",
        "general_taxpayer": "general_taxpayer",
        "threshold": cond.field or "",
        "qualification": "qualifications",
        "industry": "industry",
        "years": "founded",
        "location": "district",
        "ownership": "ownership",
        "operator": "operates",
        "rd_institution": "rd_institution",
    }[kind]
    return name, attrgetter(f"profile.{name}")


def _keyed(
    read: Callable[[Context], Hashable],
    conds: Iterable[Condition],
    on: dt.date,
    vocab: Vocab | None = None,
) -> Callable[[Context], Hashable]:
    """The key of a group of threshold (or of years) conditions: where the number (the
    founding date) falls among their bounds, which settles every comparison with them. Of
    designation and of sector or chain conditions: only the names some condition mentions
    (and the division), which settle them."""
    conds = tuple(conds)
    if vocab is not None and conds and all(c.kind == "qualification" for c in conds):
        named = frozenset(
            vocab.canonical("qualifications", q) for c in conds for q in c.all_of or c.any_of
        )

        def designations(ctx: Context) -> Hashable:
            held = ctx.profile.qualifications
            return None if held is None else held & named

        return designations
    if vocab is not None and conds and all(c.kind in ("sector", "chain") for c in conds):
        found = [t for c in conds for t in _groups_named(c, vocab)]
        names = frozenset(t.name for t in found if t is not None)

        def groups(ctx: Context) -> Hashable:
            declared = ctx.profile.chains
            return (None if declared is None else declared & names, ctx.profile.division)

        return groups
    if conds and all(c.kind == "threshold" for c in conds):
        amounts = sorted({float(c.value) for c in conds if isinstance(c.value, int | float)})

        def number(ctx: Context) -> Hashable:
            value = read(ctx)
            if value is None:
                return None
            value = float(value)  # type: ignore[arg-type]
            return (bisect.bisect_left(amounts, value), bisect.bisect_right(amounts, value))

        return number
    if conds and all(c.kind == "years" for c in conds):
        # years >= need exactly when (year, month, day) founded <= (on.year - need, month, day)
        bounds = sorted({(on.year - int(c.minimum or 0), on.month, on.day) for c in conds})

        def date(ctx: Context) -> Hashable:
            value = ctx.profile.founded
            if value is None:
                return None
            day = (value.year, value.month, value.day)
            return (bisect.bisect_left(bounds, day), bisect.bisect_right(bounds, day))

        return date
    return read


@dataclass(frozen=True, slots=True)
class _Planned:
    """One policy as the day's matcher sees it."""

    policy: Policy
    fixed: Decision | None  # superseded or expired: the same for everyone today
    held_by: frozenset[str]
    sort_day: dt.date


@dataclass(frozen=True, slots=True)
class _Group:
    """The distinct conditions that read the same part of a profile; what they make of a
    profile is cached by that part's value, as two sets of policies (bit masks): those it
    rules out and those it leaves to check."""

    read: Callable[[Context], Hashable]
    conditions: tuple[Condition, ...]
    users: tuple[int, ...]  # per condition: the mask of the live policies that have it
    cache: dict[Hashable, tuple[int, int, tuple[int, ...]]]  # ruled out, open, each outcome


_CHUNK = 8  # policies decoded at once from the masks


@functools.cache
def _chunk(ruled_out: int, held: int, left: int) -> tuple[Decision, ...]:
    """The decisions of eight consecutive policies from their bits."""
    out = []
    for bit in range(_CHUNK):
        m = 1 << bit
        if ruled_out & m:
            out.append(INELIGIBLE)
        elif held & m:
            out.append(HELD)
        elif left & m:
            out.append(POSSIBLE)
        else:
            out.append(ELIGIBLE)
    return tuple(out)


class Matcher:
    """Every policy of a catalog on one day, for any number of profiles.

    What does not depend on the profile (status, next round, the designations that make a
    policy held, the distinct conditions and which policies have them) is worked out once
    here. A profile is then read once per group of conditions that read the same part of it
    (its size, its designations, its industry ...); each group's verdict is cached by that
    part's value as the set of policies it rules out and the set it leaves open, so deciding
    every policy for a profile is a dozen dictionary look-ups and a few integer operations.
    Contexts must be built with `vocab`."""

    def __init__(
        self,
        policies: Sequence[Policy],
        vocab: Vocab,
        *,
        on: dt.date,
        nexts: Mapping[str, Round | None] | None = None,
    ) -> None:
        self.on = on
        self.vocab = vocab
        self.policies = tuple(policies)
        self._names = {p.id: p.name for p in self.policies}
        self._planned: list[_Planned] = []
        grouped: dict[str, dict[Condition, int]] = {}
        readers: dict[str, Callable[[Context], Hashable]] = {}
        self._gone = 0  # superseded or expired: ruled out for everyone today
        self._unanswered = 0  # live policies with a condition no profile answers
        held: list[tuple[int, frozenset[str]]] = []
        eithers: dict[Condition, int] = {}
        for i, p in enumerate(self.policies):
            bit = 1 << i
            gone = p.superseded_by is not None or status(p, on=on) == EXPIRED
            nxt = nexts.get(p.id) if nexts is not None else next_round(p, on=on)
            held_by = _held_by(p, vocab)
            self._planned.append(
                _Planned(
                    p, INELIGIBLE if gone else None, held_by, nxt.last_day if nxt else dt.date.max
                )
            )
            if gone:
                self._gone |= bit
                continue
            if held_by:
                held.append((bit, held_by))
            conds = p.eligibility.conditions
            if not conds:
                self._unanswered |= bit
            for c in conds:
                if c.kind == "either" and all(part.kind != "either" for part in c.of):
                    # Decided from its parts, each read with the conditions like it.
                    eithers[c] = eithers.get(c, 0) | bit
                    for part in c.of:
                        name, read = _feature(part, on)
                        if name:
                            grouped.setdefault(name, {}).setdefault(part, 0)
                            readers.setdefault(name, read)
                    continue
                name, read = _feature(c, on)
                if not name:
                    self._unanswered |= bit
                    continue
                users = grouped.setdefault(name, {})
                users[c] = users.get(c, 0) | bit
                readers.setdefault(name, read)
        groups: list[_Group] = []
        where: dict[tuple[str, Condition], tuple[int, int]] = {}
        for name, users in grouped.items():
            read = _keyed(readers[name], users, on, vocab)
            where.update({(name, c): (len(groups), k) for k, c in enumerate(users)})
            groups.append(_Group(read, tuple(users), tuple(users.values()), {}))
        self._groups = tuple(groups)
        self._eithers = tuple(
            (users, tuple(where.get((_feature(part, on)[0], part)) for part in c.of))
            for c, users in eithers.items()
        )
        self._held = tuple(held)
        self._held_cache: dict[frozenset[str] | None, int] = {}
        self._chunks = range(0, len(self.policies), _CHUNK)
        # Per chunk of eight policies: the ids of each set of them, filled as profiles ask.
        self._id_tables: tuple[dict[int, tuple[str, ...]], ...] = tuple({} for _ in self._chunks)

    def _masks(self, ctx: Context) -> tuple[int, int, int]:
        """(ruled out, held, left to check): the policies of each, as bit masks."""
        unmet = self._gone
        left = self._unanswered
        on = self.on
        codes = []
        for group in self._groups:
            key = group.read(ctx)
            found = group.cache.get(key)
            if found is None:
                no = maybe = 0
                each = []
                for c, users in zip(group.conditions, group.users, strict=True):
                    code = _CODE[_outcome(c, ctx, on)]
                    each.append(code)
                    if code == _UNMET:
                        no |= users
                    elif code == _OPEN:
                        maybe |= users
                found = (no, maybe, tuple(each))
                if len(group.cache) >= _CACHE_MAX:
                    group.cache.clear()
                group.cache[key] = found
            unmet |= found[0]
            left |= found[1]
            codes.append(found[2])
        for users, parts in self._eithers:  # met if one part is, ruled out if every one is
            best = _UNMET
            for part in parts:
                code = _OPEN if part is None else codes[part[0]][part[1]]
                if code == _MET:
                    best = _MET
                    break
                best = min(best, code)
            if best == _UNMET:
                unmet |= users
            elif best == _OPEN:
                left |= users
        quals = ctx.profile.qualifications
        held = self._held_cache.get(quals)
        if held is None:
            held = 0
            if quals:
                for bit, held_by in self._held:
                    if not held_by.isdisjoint(quals):
                        held |= bit
            self._held_cache[quals] = held
        held &= ~self._gone
        return unmet & ~held, held, left

    def decide(self, ctx: Context) -> tuple[Decision, ...]:
        """The decision for every policy, in the matcher's policy order (no reasons)."""
        unmet, held, left = self._masks(ctx)
        out: list[Decision] = []
        for at in self._chunks:
            out += _chunk((unmet >> at) & 0xFF, (held >> at) & 0xFF, (left >> at) & 0xFF)
        del out[len(self.policies) :]
        return tuple(out)

    def counts(self, ctx: Context) -> dict[Decision, int]:
        """How many policies get each decision for this profile."""
        unmet, held, left = self._masks(ctx)
        everyone = (1 << len(self.policies)) - 1
        possible = left & ~unmet & ~held
        return {
            ELIGIBLE: (everyone & ~unmet & ~held & ~left).bit_count(),
            POSSIBLE: possible.bit_count(),
            HELD: held.bit_count(),
            INELIGIBLE: unmet.bit_count(),
        }

    def matching(self, ctx: Context, decisions: Collection[Decision]) -> list[str]:
        """The ids of the policies whose decision for this profile is one of `decisions`, in
        the matcher's policy order."""
        unmet, held, left = self._masks(ctx)
        everyone = (1 << len(self.policies)) - 1
        chosen = 0
        if ELIGIBLE in decisions:
            chosen |= everyone & ~unmet & ~held & ~left
        if POSSIBLE in decisions:
            chosen |= left & ~unmet & ~held
        if HELD in decisions:
            chosen |= held
        if INELIGIBLE in decisions:
            chosen |= unmet
        out: list[str] = []
        for tables, at in zip(self._id_tables, self._chunks, strict=True):
            part = (chosen >> at) & 0xFF
            if part:
                ids = tables.get(part)
                if ids is None:
                    ids = tables[part] = tuple(
                        self.policies[at + bit].id for bit in range(_CHUNK) if part >> bit & 1
                    )
                out += ids
        return out

    def match(self, ctx: Context, policy: Policy) -> Match:
        """One policy with every reason."""
        plan = next(p for p in self._planned if p.policy.id == policy.id)
        return self._match(ctx, plan)

    def _match(self, ctx: Context, plan: _Planned) -> Match:
        rung = plan.policy.next_rung or ""
        return _full(
            ctx,
            plan.policy,
            on=self.on,
            expired=plan.fixed is not None,
            held_by=plan.held_by,
            rung=self._names.get(rung, rung),
        )

    def match_all(self, ctx: Context) -> tuple[Match, ...]:
        """Every policy with its reasons: eligible first, then possible, held, ineligible; each
        by its next round."""
        found = [(self._match(ctx, plan), plan.sort_day) for plan in self._planned]
        found.sort(key=lambda m: (DECISIONS.index(m[0].decision), m[1], m[0].policy.id))
        return tuple(m for m, _ in found)


def match_all(ctx: Context, policies: Sequence[Policy], *, on: dt.date) -> tuple[Match, ...]:
    """Every policy, eligible first, then possible, held, ineligible; each by next round."""
    return Matcher(policies, ctx.vocab, on=on).match_all(ctx)
