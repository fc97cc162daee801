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
from subscriptions._size import SIZE_NAMES, SizeResult, SizeStandard, classify


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

FIELD_NAMES = {
    "employees": "从业人数",
    "revenue_wan": "营业收入（万元）",
    "assets_wan": "资产总额（万元）",
}
OPS = {">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}


@dataclass(frozen=True, slots=True)
class Reason:
    """How one condition came out for this profile, in plain Chinese."""

    kind: str
    outcome: Outcome
    text: str
    needs: tuple[str, ...] = ()  # profile fields that would settle an unknown


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


def _join(names: Iterable[str]) -> str:
    return "、".join(names)


def _size(cond: Condition, ctx: Context) -> Reason:
    wanted = _join(SIZE_NAMES[s] for s in cond.values)
    size = ctx.size.size
    if size is None:
        needs = ctx.size.missing
        missing = _join(FIELD_NAMES[n] for n in needs)
        return Reason("size", UNKNOWN, f"要求{wanted}企业；需要{missing}才能判断企业规模", needs)
    label = f"{SIZE_NAMES[size]}企业（{ctx.size.group}）"
    if size in cond.values:
        return Reason("size", MET, f"要求{wanted}企业，贵企业按划型标准为{label}")
    return Reason("size", UNMET, f"要求{wanted}企业，贵企业按划型标准为{label}")


def _flag(cond: Condition, ctx: Context) -> Reason:
    field = cond.kind
    label = "规模以上工业企业" if field == "above_scale" else "增值税一般纳税人"
    actual: bool | None = getattr(ctx.profile, field)
    wanted = bool(cond.value)
    if actual is None:
        return Reason(
            field, UNKNOWN, f"要求{'是' if wanted else '不是'}{label}；资料未填写", (field,)
        )
    if actual == wanted:
        return Reason(field, MET, f"要求{'是' if wanted else '不是'}{label}，符合")
    return Reason(
        field, UNMET, f"要求{'是' if wanted else '不是'}{label}，贵企业{'是' if actual else '不是'}"
    )


def _qualification(cond: Condition, ctx: Context) -> Reason:
    held = ctx.profile.qualifications
    wanted = cond.all_of or cond.any_of
    rule = "全部具备" if cond.all_of else "具备其一"
    head = f"要求{rule}：{_join(wanted)}"
    if held is None:
        return Reason("qualification", UNKNOWN, f"{head}；资料未填写资质", ("qualifications",))
    canonical = {ctx.vocab.canonical("qualifications", q) for q in wanted}
    have = canonical & held
    if cond.all_of:
        lacking = canonical - held
        if not lacking:
            return Reason("qualification", MET, f"{head}，已具备")
        return Reason("qualification", UNMET, f"{head}，尚缺：{_join(sorted(lacking))}")
    if have:
        return Reason("qualification", MET, f"{head}，已具备：{_join(sorted(have))}")
    return Reason("qualification", UNMET, f"{head}，均未具备")


def _industry_label(ctx: Context) -> str:
    code = ctx.profile.industry
    return f"{code}（{ctx.vocab.industries.name_of(code)}）"


def _industry(cond: Condition, ctx: Context) -> Reason:
    code = ctx.profile.industry
    names = _join(f"{c}（{ctx.vocab.industries.name_of(c)}）" for c in cond.values)
    if any(code.startswith(c) for c in cond.values):
        return Reason("industry", MET, f"要求行业：{names}；贵企业行业 {code} 符合")
    if any(c.startswith(code) for c in cond.values):
        return Reason(
            "industry", UNKNOWN, f"要求行业：{names}；请把行业代码填到大类（如 C39）", ("industry",)
        )
    if cond.open_list:
        return Reason("industry", CHECK, f"要求行业：{names}等；请确认贵企业行业是否在支持范围内")
    return Reason(
        "industry",
        UNMET,
        f"要求行业：{names}；贵企业行业 {code}（{ctx.vocab.industries.name_of(code)}）不在其中",
    )


def _grouping(cond: Condition, ctx: Context) -> Reason:
    """sector and chain: named groups of industries, mapped to divisions in data/vocab."""
    kind = cond.kind
    group = "chains" if kind == "chain" else "sectors"
    label = "产业链" if kind == "chain" else "行业领域"
    wanted = cond.any_of
    head = f"要求属于{label}：{_join(wanted)}"
    found = [ctx.vocab.find(group, w) or ctx.vocab.find("industry_groups", w) for w in wanted]
    declared = ctx.profile.chains or frozenset()
    named = {t.name for t in found if t is not None}
    if named & declared:
        return Reason(kind, MET, f"{head}；贵企业登记的产业链：{_join(sorted(named & declared))}")
    division = ctx.profile.division
    mapped = [t for t in found if t is not None and t.divisions]
    if division is not None and any(division in t.divisions for t in mapped):
        hit = next(t.name for t in mapped if division in t.divisions)
        return Reason(kind, MET, f"{head}；贵企业行业 {ctx.profile.industry} 属于{hit}")
    if len(mapped) == len(wanted) and division is not None and not cond.open_list:
        return Reason(
            kind,
            UNMET,
            f"{head}；贵企业行业 {_industry_label(ctx)}不在其中",
        )
    return Reason(kind, CHECK, f"{head}；请对照确认", ("chains",))


def _threshold(cond: Condition, ctx: Context) -> Reason:
    field = cond.field or ""
    label = FIELD_NAMES.get(field, field)
    bound = cond.value if isinstance(cond.value, int | float) else 0
    value: float | None = getattr(ctx.profile, field, None)
    head = f"要求{label}{OPS.get(cond.op or '', cond.op or '')}{bound:g}"
    if value is None:
        return Reason("threshold", UNKNOWN, f"{head}；资料未填写{label}", (field,))
    ok = {
        ">=": value >= bound,
        ">": value > bound,
        "<=": value <= bound,
        "<": value < bound,
    }[cond.op or ">="]
    return Reason("threshold", MET if ok else UNMET, f"{head}，贵企业为{value:g}")


def _years(cond: Condition, ctx: Context, on: dt.date) -> Reason:
    need = cond.minimum or 0
    founded = ctx.profile.founded
    head = f"要求成立满{need:g}年"
    if founded is None:
        return Reason("years", UNKNOWN, f"{head}；资料未填写成立日期", ("founded",))
    years = on.year - founded.year - ((on.month, on.day) < (founded.month, founded.day))
    if years >= need:
        return Reason("years", MET, f"{head}，贵企业成立于{founded.isoformat()}，已满{years}年")
    return Reason("years", UNMET, f"{head}，贵企业成立于{founded.isoformat()}，未满")


CITY = "鄂州市"


def _location(cond: Condition, ctx: Context) -> Reason:
    places = cond.values
    head = f"要求注册地在{_join(places)}"
    district = ctx.profile.district
    if district is None:
        return Reason("location", UNKNOWN, f"{head}；资料未填写所在区域", ("district",))
    inside = CITY in places or district in places
    known = [p for p in places if p == CITY or ctx.vocab.find("districts", p)]
    if inside:
        return Reason("location", MET, f"{head}，贵企业在{district}")
    if len(known) == len(places):
        return Reason("location", UNMET, f"{head}，贵企业在{district}")
    return Reason("location", CHECK, f"{head}；请确认")


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
    return Reason("check", CHECK, f"需自行确认：{cond.text or ''}")


def match(ctx: Context, policy: Policy, *, on: dt.date) -> Match:
    """Decide one policy: an unmet condition rules it out, an open one leaves it possible."""
    reasons = [evaluate(c, ctx, on) for c in policy.eligibility.conditions]
    if status(policy, on=on) == EXPIRED:
        reasons.insert(0, Reason("expired", UNMET, "政策已过期（有效期已过或申报批次已结束）"))
    if not policy.eligibility.conditions:
        reasons.append(Reason("check", CHECK, "申报条件未能结构化，请对照原文确认"))
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
