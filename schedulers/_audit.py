"""The catalog audit: per policy, how well its dates and scope stand on the documents.

Pure: a policy and the day in, one row of facts out; `huiqi catalog audit` and the console
render it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from schedulers._policy import (
    AnnualWindow,
    Condition,
    ContinuousWindow,
    DatedWindow,
    Evidence,
    Policy,
    TbdWindow,
)
from schedulers._rounds import EXPIRED, status

STALE = dt.timedelta(days=365)  # re-read at least once a year


@dataclass(frozen=True, slots=True)
class AuditRow:
    """What the bureau needs to see of one policy to judge how far to trust it."""

    id: str
    name: str
    status: str
    bases: tuple[str, ...]  # per window: annual/stated, dated/confirmed, tbd, continuous
    quotes: int  # verbatim quotes from the seeds behind its dates
    external: int  # references to later documents, not checked against the seeds
    scope: tuple[str, ...]  # the kinds of its scope conditions
    conditions: int  # structured conditions, scope included
    open_checks: int  # conditions left for the enterprise to confirm
    unasked: int  # of those, how many have no question to ask
    superseded_by: str | None
    confers: tuple[str, ...]
    checked: dt.date | None
    weak: tuple[str, ...]  # what to look at first, in Chinese


def _basis(window: object) -> str:
    if isinstance(window, AnnualWindow):
        return f"annual/{window.basis}"
    if isinstance(window, DatedWindow):
        return "dated/confirmed"
    if isinstance(window, ContinuousWindow):
        return "continuous"
    if isinstance(window, TbdWindow):
        return "tbd"
    return "unknown"


def _flat(conditions: tuple[Condition, ...]) -> list[Condition]:
    out: list[Condition] = []
    for c in conditions:
        out.append(c)
        out += _flat(c.of)
    return out


def audit_row(policy: Policy, *, on: dt.date) -> AuditRow:
    """One policy's audit line as of `on`."""
    evidence = [ev for w in policy.windows for ev in w.evidence]
    if policy.validity:
        evidence += policy.validity.evidence
    quotes = sum(isinstance(ev, Evidence) for ev in evidence)
    conditions = _flat(policy.eligibility.conditions)
    checks = [c for c in conditions if c.kind == "check"]
    # Scope: what the text names that rules an enterprise out, required designations among it.
    scope = tuple(dict.fromkeys(c.kind for c in conditions if c.scope or c.kind == "qualification"))
    live = status(policy, on=on) != EXPIRED
    weak: list[str] = []
    if live and not scope:
        weak.append("未写适用范围（行业、规模、主体）")
    if live and not [c for c in conditions if c.kind != "check"]:
        weak.append("条件全靠企业自行确认")
    if any(not c.question for c in checks):
        weak.append("有待确认的条件没有提问")
    if policy.windows and all(isinstance(w, TbdWindow) for w in policy.windows) and live:
        weak.append("申报时间未知（待通知）")
    if not quotes:
        weak.append("日期没有原文依据")
    if policy.checked is None:
        weak.append("从未对照原文复核")
    elif on - policy.checked > STALE:
        weak.append(f"上次复核已超过一年（{policy.checked.isoformat()}）")
    return AuditRow(
        id=policy.id,
        name=policy.name,
        status="superseded" if policy.superseded_by else str(status(policy, on=on)),
        bases=tuple(_basis(w) for w in policy.windows),
        quotes=quotes,
        external=len(evidence) - quotes,
        scope=scope,
        conditions=len(conditions),
        open_checks=len(checks),
        unasked=sum(not c.question for c in checks),
        superseded_by=policy.superseded_by.id if policy.superseded_by else None,
        confers=policy.confers,
        checked=policy.checked,
        weak=tuple(weak),
    )
