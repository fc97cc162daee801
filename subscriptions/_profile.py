"""Enterprise profiles: parsed once at the edge into a frozen value.

Errors name the field and what is accepted, in Chinese (chat users read them too).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Division:
    """A GB/T 4754-2017 division (大类), e.g. C39."""

    section: str
    code: str  # two digits
    name: str

    @property
    def full_code(self) -> str:
        """Section letter and division digits, e.g. C39."""
        return self.section + self.code


@dataclass(frozen=True, slots=True)
class Term:
    """A named thing people may type in several ways (a qualification, a chain, a district)."""

    name: str
    aliases: tuple[str, ...] = ()
    divisions: tuple[str, ...] = ()  # two-digit division codes, for chains and sectors
    level: str | None = None


@dataclass(frozen=True, slots=True)
class Industries:
    """GB/T 4754-2017: sections and divisions."""

    sections: Mapping[str, str]  # letter -> name
    divisions: Mapping[str, Division]  # two digits -> division

    def name_of(self, code: str) -> str:
        """The Chinese name of a section or division code (deeper codes: their division)."""
        if len(code) == 1:
            return self.sections.get(code, code)
        division = self.divisions.get(code[1:3])
        return division.name if division else code


GROUPS = ("qualifications", "chains", "sectors", "districts", "operators")


@dataclass(frozen=True)
class Vocab:
    """Everything profile parsing and matching look names up in."""

    industries: Industries
    qualifications: tuple[Term, ...]
    chains: tuple[Term, ...]
    sectors: tuple[Term, ...]
    districts: tuple[Term, ...]
    operators: tuple[Term, ...] = ()
    _index: dict[str, dict[str, Term]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for group in GROUPS:
            index: dict[str, Term] = {}
            for term in getattr(self, group):
                for text in (term.name, *term.aliases):
                    index.setdefault(_fold(text), term)
            self._index[group] = index
        # Sector words and chain names are used interchangeably in the policies.
        self._index["industry_groups"] = {**self._index["chains"], **self._index["sectors"]}

    def find(self, group: str, text: str) -> Term | None:
        """The term of `group` called `text` (name or alias; spaces and quote styles ignored)."""
        return self._index[group].get(_fold(text))

    def canonical(self, group: str, text: str) -> str:
        """The term's proper name, or the text itself when no term has that name."""
        term = self.find(group, text)
        return term.name if term else text


_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "（": "(", "）": ")"})


@functools.lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    return re.sub(r"\s+", "", text).translate(_QUOTES).lower()


@dataclass(frozen=True, slots=True)
class Profile:
    """A registered enterprise; every field but name and industry may be unknown (None)."""

    name: str
    industry: str  # normalized GB/T code: C, C39, C397 or C3976
    district: str | None = None
    employees: int | None = None
    revenue_wan: float | None = None
    assets_wan: float | None = None
    above_scale: bool | None = None
    general_taxpayer: bool | None = None
    founded: dt.date | None = None
    qualifications: frozenset[str] | None = None
    chains: frozenset[str] | None = None
    rd_expense_wan: float | None = None  # last year's R&D spending
    export_wan: float | None = None  # last year's exports
    ownership: str | None = None  # one of OWNERSHIPS
    operates: frozenset[str] | None = None  # platforms and bases it runs; empty: none
    rd_institution: str | None = None  # the highest level of its R&D institution, or "none"

    @property
    def rd_ratio(self) -> float | None:
        """R&D spending as a percentage of revenue, when both are known."""
        if self.rd_expense_wan is None or not self.revenue_wan:
            return None
        return self.rd_expense_wan / self.revenue_wan * 100

    @property
    def division(self) -> str | None:
        """The two-digit division, when the industry is given that deep."""
        return self.industry[1:3] if len(self.industry) >= 3 else None


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong with one field, and what would be right."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}：{self.message}"


class ProfileError(ValueError):
    """A profile that cannot be used; `errors` lists every bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("；".join(map(str, errors)))
        self.errors = tuple(errors)


FIELDS = (
    "name",
    "district",
    "industry",
    "employees",
    "revenue_wan",
    "assets_wan",
    "above_scale",
    "general_taxpayer",
    "founded",
    "qualifications",
    "chains",
    "rd_expense_wan",
    "export_wan",
    "ownership",
    "operates",
    "rd_institution",
)

OWNERSHIPS = ("民营", "国有", "外资", "港澳台", "集体", "混合")
RD_LEVELS = {"none": "无", "municipal": "市级", "provincial": "省级", "national": "国家级"}


def normalize_industry(industries: Industries, text: str) -> str:
    """A GB/T 4754 code in canonical form (C3976); raise ValueError with close codes."""
    code = re.sub(r"\s+", "", text).upper()
    match = re.fullmatch(r"([A-T])?(\d{2,4})?", code)
    if code and match:
        letter, digits = match.groups()
        if digits is None and letter in industries.sections:
            return str(letter)
        if digits is not None:
            division = industries.divisions.get(digits[:2])
            if division is not None and (letter is None or letter == division.section):
                return division.section + digits
    raise ValueError(_industry_hint(industries, text))


def _industry_hint(industries: Industries, text: str) -> str:
    candidates = {d.full_code: d.name for d in industries.divisions.values()}
    by_code = difflib.get_close_matches(text.upper(), list(candidates), n=3, cutoff=0.5)
    by_name = [
        code for code, name in candidates.items() if text and (text in name or name in text)
    ][:3]
    close = list(dict.fromkeys(by_name + by_code))[:5]
    hint = "、".join(f"{c}（{candidates[c]}）" for c in close)
    base = f"“{text}”不是《国民经济行业分类》(GB/T 4754-2017)的行业代码"
    if close:
        return f"{base}；相近的有：{hint}"
    return f"{base}；请填门类字母加大类两位数字，如 C39（计算机、通信和其他电子设备制造业）"


_GROUP_OF = {"operates": "operators"}


def _names(vocab: Vocab, field: str, raw: Any, what: str) -> frozenset[str] | FieldError:
    group = _GROUP_OF.get(field, field)
    terms: tuple[Term, ...] = getattr(vocab, group)
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        return FieldError(field, f'应为{what}名称的列表，如 ["{terms[0].name}"]')
    found: list[str] = []
    unknown: list[str] = []
    for text in raw:
        term = vocab.find(group, text)
        if term is None:
            unknown.append(text)
        else:
            found.append(term.name)
    if unknown:
        names = [t.name for t in terms]
        close: list[str] = []
        for text in unknown:
            close += difflib.get_close_matches(text, names, n=3, cutoff=0.3)
        shown = "、".join(dict.fromkeys(close)) if close else "、".join(names[:8]) + " 等"
        return FieldError(field, f"不认识的{what}：{'、'.join(unknown)}；可填：{shown}")
    return frozenset(found)


# Registered names are far shorter; the store keeps 200 characters and may add a suffix.
NAME_MAX = 100


def parse_profile(raw: Any, vocab: Vocab) -> Profile:
    """Validate a profile mapping (the profile JSON) into a Profile; raise ProfileError."""
    if not isinstance(raw, Mapping):
        raise ProfileError(
            [FieldError("profile", '应为一个 JSON 对象，如 {"name": ..., "industry": "C39"}')]
        )
    errors: list[FieldError] = []
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        errors.append(
            FieldError("、".join(unknown), f"不认识的字段；可用字段：{', '.join(FIELDS)}")
        )
    values: dict[str, Any] = {}

    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("name", "必填，企业名称（文字）"))
    elif any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        errors.append(FieldError("name", "企业名称应写在一行内，不能含换行、制表符或控制字符"))
    elif len(name := name.strip()) > NAME_MAX:
        errors.append(FieldError("name", f"企业名称最长{NAME_MAX}个字，实际{len(name)}个字"))
    else:
        values["name"] = name

    industry = raw.get("industry")
    if not isinstance(industry, str) or not industry.strip():
        errors.append(FieldError("industry", "必填，国民经济行业代码，如 C39 或 C3976"))
    else:
        try:
            values["industry"] = normalize_industry(vocab.industries, industry)
        except ValueError as exc:
            errors.append(FieldError("industry", str(exc)))

    if raw.get("district") is not None:
        district = raw["district"]
        term = vocab.find("districts", district) if isinstance(district, str) else None
        if term is None:
            accepted = "、".join(t.name for t in vocab.districts)
            errors.append(FieldError("district", f"不认识的区域“{district}”；可填：{accepted}"))
        else:
            values["district"] = term.name

    for key, label in (
        ("employees", "从业人数"),
        ("revenue_wan", "营业收入（万元）"),
        ("assets_wan", "资产总额（万元）"),
        ("rd_expense_wan", "上年研发费用（万元）"),
        ("export_wan", "上年出口额（万元）"),
    ):
        value = raw.get(key)
        if value is None:
            continue
        integer_only = key == "employees"
        ok_type = isinstance(value, int) if integer_only else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            kind = "整数" if integer_only else "数字"
            errors.append(FieldError(key, f"{label}应为{kind}，实际是 {value!r}"))
        elif value < 0:
            errors.append(FieldError(key, f"{label}不能为负数（{value}）"))
        else:
            values[key] = value

    for key, label in (("above_scale", "是否规上企业"), ("general_taxpayer", "是否一般纳税人")):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            errors.append(FieldError(key, f"{label}应为 true 或 false，实际是 {value!r}"))
        else:
            values[key] = value

    founded = raw.get("founded")
    if founded is not None:
        try:
            if not isinstance(founded, str):
                raise ValueError
            values["founded"] = dt.date.fromisoformat(founded)
        except ValueError:
            errors.append(
                FieldError("founded", f"成立日期应为 YYYY-MM-DD，如 2015-04-01，实际是 {founded!r}")
            )

    ownership = raw.get("ownership")
    if ownership is not None:
        if ownership not in OWNERSHIPS:
            errors.append(
                FieldError(
                    "ownership", f"所有制应为{'、'.join(OWNERSHIPS)}之一，实际是 {ownership!r}"
                )
            )
        else:
            values["ownership"] = ownership

    level = raw.get("rd_institution")
    if level is not None:
        by_name = {v: k for k, v in RD_LEVELS.items()}
        if level in RD_LEVELS or level in by_name:
            values["rd_institution"] = by_name.get(level, level)
        else:
            errors.append(
                FieldError(
                    "rd_institution",
                    f"研发机构级别应为{'、'.join(RD_LEVELS.values())}之一，实际是 {level!r}",
                )
            )

    for key, what in (("qualifications", "资质"), ("chains", "产业链"), ("operates", "平台或基地")):
        if raw.get(key) is None:
            continue
        parsed = _names(vocab, key, raw[key], what)
        if isinstance(parsed, FieldError):
            errors.append(parsed)
        else:
            values[key] = parsed

    if errors:
        raise ProfileError(errors)
    return Profile(**values)
