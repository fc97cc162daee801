"""Reading a pasted notice (申报通知): which policy it is about and the dates it gives, each
with the sentence it was taken from, for an officer to check before a round is published.

Pure: text in, proposals out. Nothing here decides; the console shows what it found and the
officer corrects it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from schedulers._catalog import folded
from schedulers._policy import Policy

# A calendar date as notices write it: 2026年12月25日, 12月25日, 2026-12-25, 2026.12.25, 12月底.
_FULL = (
    r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*"
    r"(?:(?P<d>\d{1,2})\s*[日号]|(?P<e>底|末|下旬|中旬|上旬))"
)
_DAY = r"(?P<m2>\d{1,2})\s*月\s*(?:(?P<d2>\d{1,2})\s*[日号]|(?P<e2>底|末|下旬|中旬|上旬))"
_ISO = r"(?P<y3>(?:19|20)\d{2})[-./](?P<m3>\d{1,2})[-./](?P<d3>\d{1,2})(?!\d)"
DATE = re.compile(f"{_FULL}|{_ISO}|(?<![\\d年])(?:{_DAY})")
# Between two dates: the window runs from one to the other.
_RANGE_JOIN = re.compile(r"^\s*(?:起?\s*(?:至|到|—+|–|-|~|～|－)\s*|起至\s*)$")
# What a declaration window sounds like; without one of these a date is something else.
_WINDOW_WORDS = re.compile(
    r"申报|受理|报送|提交|报名|截止|上报|报省|报市|报区|报送|推荐|申请|征集|接收|递交|网上填报|填报"
)
# Dates that are not the window: when something happened, was founded, or takes effect.
_NOT_WINDOW = re.compile(
    r"注册|成立|设立|登记|发生的|贷款|起施行|施行|印发|有效期|以来|以后|之后|期间内?发生|实施期|"
    r"执行期|统计|年度内|营业收入|销售收入|认定的|获评|获得|评为|投产|竣工|建成"
)
# A close that is not the window's: when interest stops being counted, data are counted up to.
_NOT_CLOSE = re.compile(r"(?:计算|计息|贴息|统计|数据)[^，,。；;]{0,4}截[止至]")
_BEFORE = re.compile(r"^\s*(?:\d{1,2}[:：]\d{2}\s*)?(?:前|之前|以前|为止|止)")
_CLOSE_LEAD = re.compile(r"(?:截止|截至|截止日期|截止时间|最迟|不晚于|结束时间)[^，,。；;]{0,12}$")
_OPEN_AFTER = re.compile(r"^\s*(?:起|开始)")
_OPEN_LEAD = re.compile(r"(?:开始时间|起始时间|自|从|于)\s*$")
_CLAUSE = re.compile(r"[，,；;：:]")
_SPLIT = re.compile(r"(?<=[。；;！!？?])|\t")

MAX_CHARS = 200_000  # a notice pasted into the console, at most (the longest seed is 321 KB)


@dataclass(frozen=True, slots=True)
class DateSaid:
    """One date a sentence gives for the window: the opening or the close."""

    day: dt.date
    role: str  # "open" or "close"
    approximate: bool  # 月底, 上旬...: the notice gave no day, this is the reading of it


@dataclass(frozen=True, slots=True)
class Evidence:
    """A sentence of the notice that gives window dates, with its line (1-based)."""

    line: int
    sentence: str
    dates: tuple[DateSaid, ...]


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a notice says, as huiqi reads it: the window and the sentences it comes from."""

    open: dt.date | None
    close: dt.date | None
    evidence: tuple[Evidence, ...]
    year: int  # the year month-days without one were read in


def sentences(text: str) -> Iterable[tuple[int, str]]:
    """(line, sentence) for every sentence of `text`; a tab (a table cell) ends one too."""
    for number, line in enumerate(text.splitlines(), start=1):
        for part in _SPLIT.split(line):
            part = part.strip()
            if part:
                yield number, part


def notice_year(text: str, default: int) -> int:
    """The year a notice is written in: the one its full dates name most (the latest of equals),
    else `default`."""
    years = Counter(
        int(m.group("y") or m.group("y3"))
        for m in DATE.finditer(text)
        if m.group("y") or m.group("y3")
    )
    if not years:
        return default
    top = max(years.values())
    return max(y for y, n in years.items() if n == top)


def _day(year: int, month: int, day: int | None, end: str | None) -> tuple[dt.date, bool] | None:
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    if day is not None:
        return (dt.date(year, month, day), False) if 1 <= day <= last else None
    return dt.date(year, month, {"上旬": 10, "中旬": 20}.get(end or "", last)), True


def dates_in(sentence: str, year: int) -> tuple[DateSaid, ...]:
    """The window dates one sentence gives: a range (from ... to ...), a close (截止 ..., ...前),
    an opening (... 起); () when it gives none, or its dates are about something else."""
    if not _WINDOW_WORDS.search(sentence):
        return ()
    found = list(DATE.finditer(sentence))
    said: list[DateSaid] = []
    current = year  # a month-day takes the year of the window date before it, else the notice's
    used: set[int] = set()
    for i, m in enumerate(found):
        if i in used:
            continue
        before = sentence[max(0, m.start() - 20) : m.start()]
        after = sentence[m.end() : m.end() + 12]
        # What the date is of is said in its own clause: 须于2020年1月1日前注册成立，请于…申报.
        clause = _CLAUSE.split(before[-10:])[-1] + _CLAUSE.split(after[:8])[0]
        if _NOT_CLOSE.search(before[-12:]) or (
            _NOT_WINDOW.search(clause) and not _CLOSE_LEAD.search(before)
        ):
            continue
        read = _read(m, current)
        if read is None:
            continue
        day, approx = read
        if i + 1 < len(found):
            nxt = found[i + 1]
            later = _read(nxt, day.year)
            if _RANGE_JOIN.match(sentence[m.end() : nxt.start()]) and later and later[0] >= day:
                used.add(i + 1)
                # A range of when something happened (loans granted, costs incurred) is no window.
                if not _NOT_WINDOW.search(sentence[nxt.end() : nxt.end() + 10]) and _near(
                    sentence, m.start(), nxt.end()
                ):
                    current = later[0].year
                    said += [DateSaid(day, "open", approx), DateSaid(later[0], "close", later[1])]
                continue
        current = day.year
        if _BEFORE.match(after) or _CLOSE_LEAD.search(before):
            said.append(DateSaid(day, "close", approx))
        elif (_OPEN_AFTER.match(after) or _OPEN_LEAD.search(before)) and _near(
            sentence, m.start(), m.end()
        ):
            # An opening is named beside its window word (申报时间为12月1日起); a date something
            # takes effect from (自2020年2月7日起，对…企业放宽…) is not one.
            said.append(DateSaid(day, "open", approx))
        elif re.search(r"截止|报送|上报|提交|前报", sentence):
            said.append(DateSaid(day, "close", approx))
    return tuple(said)


def _read(m: re.Match[str], year: int) -> tuple[dt.date, bool] | None:
    """The day a date match names (a month-day in `year`), and whether it is approximate."""
    if m.group("y"):
        return _day(int(m.group("y")), int(m.group("m")), _int(m.group("d")), m.group("e"))
    if m.group("y3"):
        return _day(int(m.group("y3")), int(m.group("m3")), int(m.group("d3")), None)
    return _day(year, int(m.group("m2")), _int(m.group("d2")), m.group("e2"))


def _near(sentence: str, start: int, end: int, reach: int = 16) -> bool:
    """Whether a window word stands within `reach` characters of the span."""
    return bool(_WINDOW_WORDS.search(sentence[max(0, start - reach) : end + reach]))


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def read_notice(text: str, *, default_year: int) -> Proposal:
    """The window a notice gives: the first opening it names and the first close on or after
    it, with every sentence that gives a date (the officer chooses among them)."""
    text = text[:MAX_CHARS]
    year = notice_year(text, default_year)
    evidence = tuple(
        Evidence(line, sentence, found)
        for line, sentence in sentences(text)
        if (found := dates_in(sentence, year))
    )
    opens = [d.day for e in evidence for d in e.dates if d.role == "open"]
    start = min(opens) if opens else None
    closes = [d.day for e in evidence for d in e.dates if d.role == "close"]
    later = [c for c in closes if start is None or c >= start]
    return Proposal(start, min(later) if later else None, evidence, year)


def policy_candidates(text: str, policies: Iterable[Policy], *, limit: int = 5) -> list[Policy]:
    """The policies a notice is most likely about: those whose name it contains first, then by
    the share of the name's character pairs found in its opening lines."""
    head = folded(text[:2000])
    whole = folded(text[:MAX_CHARS])
    scored: list[tuple[float, str, Policy]] = []
    for policy in policies:
        name = folded(policy.name)
        if len(name) < 2:
            continue
        if name in whole:
            scored.append((2.0 + len(name) / 100, policy.id, policy))
            continue
        pairs = {name[i : i + 2] for i in range(len(name) - 1)}
        share = sum(1 for p in pairs if p in head) / len(pairs)
        if share >= 0.5:
            scored.append((share, policy.id, policy))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [p for _, _, p in scored[:limit]]
