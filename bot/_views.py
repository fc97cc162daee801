"""What the command line and the web app show of policies: JSON records and text pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot._settings import DEFAULT_HOTLINE
from schedulers import (
    ANSWER_WORDS,
    SHANGHAI,
    STATUSES,
    Announcement,
    AuditRow,
    Benefit,
    Capabilities,
    Catalog,
    Message,
    Policy,
    Round,
    RoundBook,
    known_of,
    next_round,
    status,
)
from schedulers.data import load_vocabulary
from subscriptions import (
    DECISIONS,
    SIZE_NAMES,
    Context,
    Match,
    Profile,
    Reason,
    SizeResult,
    SizeStandard,
    Vocab,
)

if TYPE_CHECKING:
    from bot._service import Upcoming
    from bot._simulate import Simulation
    from subscriptions.store import StoredRound

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def round_record(found: Round | None) -> dict[str, Any] | None:
    """A round as the JSON contract gives it."""
    if found is None:
        return None
    return {"open": _iso(found.open), "close": _iso(found.close), "basis": found.basis}


def amount_record(benefit: Benefit) -> dict[str, Any]:
    """A benefit's structured amount."""
    record: dict[str, Any] = {
        "for": benefit.purpose,
        "yuan": benefit.yuan,
        "yuan_min": benefit.yuan_min,
        "up_to": benefit.up_to,
        "rate_percent": benefit.rate_percent,
        "per": benefit.per,
        "payer": benefit.payer,
        "text": benefit.text,
    }
    return record


def policy_record(policy: Policy, *, on: dt.date, book: RoundBook | None = None) -> dict[str, Any]:
    """One element of `huiqi policies --json`: its rounds as they stand when `book` is given."""
    known = known_of(book, policy.id)
    return {
        "id": policy.id,
        "name": policy.name,
        "level": policy.level,
        "category": policy.category,
        "department": policy.department,
        "listed_in": [
            {
                k: v
                for k, v in (
                    ("list", li.list),
                    ("no", li.no),
                    ("section", li.section),
                    ("ref", li.ref),
                )
                if v is not None
            }
            for li in policy.listed_in
        ],
        "status": status(policy, on=on, known=known),
        "next_round": round_record(next_round(policy, on=on, known=known)),
        "amounts": [
            amount_record(b)
            for b in policy.benefits
            if (b.yuan is not None or b.rate_percent is not None) and not b.pool
        ],
        "windows": sorted({w.kind for w in policy.windows}),
    }


def yuan_text(yuan: int) -> str:
    """An amount in 元 the way people write it (万元/亿元 where exact)."""
    if yuan >= 100_000_000 and yuan % 10_000_000 == 0:
        return f"{yuan / 100_000_000:g}亿元"
    if yuan >= 10_000 and yuan % 1_000 == 0:
        return f"{yuan / 10_000:g}万元"
    return f"{yuan}元"


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


@functools.cache
def environment() -> Environment:
    """The one Jinja2 environment over templates/: `.html.j2` templates (chat replies, web
    pages) are autoescaped, `.txt.j2` ones (terminal text, messages, feeds) are not; names of
    vocabulary terms come from data/vocab (`basis_names`)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan_text
    env.filters["pad"] = pad
    env.filters["amount"] = amount_text
    env.globals["question"] = question_text
    vocabulary = load_vocabulary()
    env.globals["answer_words"] = ANSWER_WORDS
    env.globals["basis_names"] = {t.key: t.name for t in vocabulary.bases}
    env.globals["level_names"] = {t.key: t.name for t in vocabulary.levels}
    return env


def reason_text(reason: Reason) -> str:
    """A matching reason's sentence, as every view shows it (templates/reasons.txt.j2)."""
    return str(environment().get_template("reasons.txt.j2").module.text(reason))  # type: ignore[attr-defined]


@functools.cache
def _level_names() -> dict[str, str]:
    return {t.key: t.name for t in load_vocabulary().levels}


def question_text(reason: Reason) -> str:
    """The question an enterprise answers to settle an open reason (templates/reasons.txt.j2)."""
    return str(environment().get_template("reasons.txt.j2").module.question(reason))  # type: ignore[attr-defined]


def amount_text(benefit: Benefit, level_names: Mapping[str, str] | None = None) -> str:
    """One amount as a reader sees it: 最高150万元（每家，市级财政）."""
    names = level_names if level_names is not None else _level_names()
    if benefit.yuan is None:
        return benefit.text
    low = f"{yuan_text(benefit.yuan_min)}至" if benefit.yuan_min else ""
    head = "最高" if benefit.up_to and not low else ""
    extra = [
        x
        for x in (
            benefit.per,
            f"{names.get(benefit.payer, benefit.payer)}财政" if benefit.payer else None,
        )
        if x
    ]
    tail = f"（{'，'.join(extra)}）" if extra else ""
    purpose = f"{benefit.purpose}：" if benefit.purpose else ""
    return f"{purpose}{head}{low}{yuan_text(benefit.yuan)}{tail}"


MESSAGE_FORMATS = {"text": "messages/_format.txt.j2", "markdown": "messages/_format.md.j2"}


def render_message(
    message: Message, capabilities: Capabilities, *, public_url: str, hotline: str = DEFAULT_HOTLINE
) -> str:
    """A message to a subscriber as one channel shows it: its markup, and how its readers ask
    for more (a /command, a typed word, or a link to the policy page)."""
    name = "announcement" if isinstance(message, Announcement) else "reminder"
    template = environment().get_template(f"messages/{name}.txt.j2")
    return template.render(
        m=message,
        caps=capabilities,
        public_url=public_url.rstrip("/"),
        hotline=hotline,
        fmt_template=MESSAGE_FORMATS[capabilities.markup],
    ).strip()


def render_policy(
    catalog: Catalog, policy: Policy, *, on: dt.date, book: RoundBook | None = None
) -> str:
    """`huiqi policies show ID`: one policy in full, in Chinese."""
    template = environment().get_template("cli/policy_show.txt.j2")
    known = known_of(book, policy.id)
    return template.render(
        p=policy,
        vocab=catalog.vocab,
        status=status(policy, on=on, known=known),
        next=next_round(policy, on=on, known=known),
        on=on,
    )


def render_policies(catalog: Catalog, *, on: dt.date, book: RoundBook | None = None) -> str:
    """`huiqi policies`: one line per policy."""
    template = environment().get_template("cli/policies.txt.j2")
    rows = [
        (
            p,
            status(p, on=on, known=known_of(book, p.id)),
            next_round(p, on=on, known=known_of(book, p.id)),
        )
        for p in catalog.policies
    ]
    # Open rounds first, then by the next deadline, then what has no round, expired last.
    rows.sort(key=lambda r: (STATUSES.index(r[1]), r[2].last_day if r[2] else dt.date.max, r[0].id))
    return template.render(rows=rows, vocab=catalog.vocab, on=on)


def match_record(found: Match, *, on: dt.date, book: RoundBook | None = None) -> dict[str, Any]:
    """One element of `huiqi match --json`."""
    policy = found.policy
    known = known_of(book, policy.id)
    return {
        "id": policy.id,
        "name": policy.name,
        "listed_in": policy_record(policy, on=on)["listed_in"],
        "decision": found.decision,
        "reasons": [
            {"kind": r.kind, "outcome": r.outcome, "text": reason_text(r), "needs": list(r.needs)}
            for r in found.reasons
        ],
        "questions": [question_text(r) for r in found.questions],
        "amounts": [amount_record(b) for b in found.amounts],
        "next_rung": policy.next_rung if found.decision == "held" else None,
        "next_round": round_record(next_round(policy, on=on, known=known)),
        "status": status(policy, on=on, known=known),
    }


def render_matches(
    ctx: Context, matches: tuple[Match, ...], *, on: dt.date, book: RoundBook | None = None
) -> str:
    """`huiqi match`: policies grouped by decision, with reasons."""
    template = environment().get_template("cli/match.txt.j2")
    groups = {d: [m for m in matches if m.decision == d] for d in DECISIONS}
    rounds = {
        m.policy.id: next_round(m.policy, on=on, known=known_of(book, m.policy.id)) for m in matches
    }
    return template.render(
        profile=ctx.profile,
        size=ctx.size,
        size_names=SIZE_NAMES,
        groups=groups,
        rounds=rounds,
        on=on,
    )


def audit_record(row: AuditRow) -> dict[str, Any]:
    """One element of `huiqi catalog audit --json`."""
    record = dataclasses.asdict(row)
    record["checked"] = _iso(row.checked)
    return record


def render_audit(rows: list[AuditRow], *, on: dt.date) -> str:
    """`huiqi catalog audit`: one block per policy, weakest first."""
    template = environment().get_template("cli/audit.txt.j2")
    ordered = sorted(rows, key=lambda r: (-len(r.weak), r.id))
    return template.render(rows=ordered, on=on, weak=sum(bool(r.weak) for r in rows))


def render_classification(
    result: SizeResult, standard: SizeStandard, code: str, vocab: Vocab
) -> str:
    """`huiqi classify`: the class, the group and what is missing."""
    template = environment().get_template("cli/classify.txt.j2")
    return template.render(
        result=result,
        code=code,
        industry_name=vocab.industries.name_of(code),
        size_names=SIZE_NAMES,
        indicator_names=standard.indicator_names,
    )


def stored_round_record(found: StoredRound) -> dict[str, Any]:
    """One element of `huiqi rounds list --json`."""
    return {
        "key": found.key,
        "version": found.version,
        "policy_id": found.policy_id,
        "open": _iso(found.open),
        "close": _iso(found.close),
        "basis": found.basis,
        "label": found.label,
        "notice": found.notice_url,
        "source": found.source,
    }


def render_rounds(catalog: Catalog, found: list[StoredRound]) -> str:
    """`huiqi rounds list`: one line per round."""
    template = environment().get_template("cli/rounds.txt.j2")
    names = {p.id: p.name for p in catalog.policies}
    return template.render(rounds=found, names=names)


def upcoming_record(item: Upcoming) -> dict[str, Any]:
    """One element of `huiqi upcoming --json`."""
    return {
        "id": item.policy.id,
        "name": item.policy.name,
        "decision": item.decision,
        "round": {
            "key": item.round.key,
            "open": _iso(item.round.open),
            "close": _iso(item.round.close),
            "basis": item.round.basis,
            "label": item.round.label,
        },
        "reminders": [
            {"kind": r.kind, "at": r.due_at.astimezone(SHANGHAI).isoformat(timespec="minutes")}
            for r in item.reminders
        ],
    }


def render_upcoming(profile: Profile, items: list[Upcoming], *, on: dt.date, days: int) -> str:
    """`huiqi upcoming`: the rounds ahead and when huiqi would remind."""
    template = environment().get_template("cli/upcoming.txt.j2")
    return template.render(profile=profile, items=items, on=on, days=days, tz=SHANGHAI)


def render_simulation(result: Simulation, *, start: dt.date, end: dt.date) -> str:
    """`huiqi simulate`: every message with its local send time."""
    template = environment().get_template("cli/simulate.txt.j2")
    return template.render(result=result, start=start, end=end, tz=SHANGHAI)
