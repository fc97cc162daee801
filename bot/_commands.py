"""The one text-command parser every chat channel shares (Telegram, WeCom, WeChat).

`/register 行业=C39 人数=180 营收=12000 资质=高新技术企业,省级专精特新中小企业 区域=葛店经开区`
and `注册 行业=C39 ...` parse the same. Nothing here raises on any input: unknown commands,
odd spacing, full-width characters and garbage all come back as a Command to answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# Every way to say each command, slash form and Chinese word.
COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "start": ("start", "开始"),
    "help": ("help", "帮助", "菜单", "?", "？"),
    "register": ("register", "注册", "登记"),
    "bind": ("bind", "绑定", "邀请码"),
    "profile": ("profile", "我的资料", "资料"),
    "match": ("match", "可申报", "匹配"),
    "upcoming": ("upcoming", "近期", "近期申报"),
    "policy": ("policy", "政策"),
    "calendar": ("calendar", "日历"),
    "remind": ("remind", "提醒设置", "提醒"),
    "stop": ("stop", "退订"),
    "confirm_stop": ("确认退订",),
    "cancel": ("cancel", "取消"),
    "announce": ("announce", "公告"),
    "confirm_announce": ("确认公告",),
    "rounds": ("rounds", "批次"),
    "stats": ("stats", "统计"),
    "applied": ("已申报",),
    "not_interested": ("不感兴趣",),
    "later": ("稍后提醒",),
    "subscribe": ("subscribe", "订阅类别", "订阅"),
    "unsubscribe": ("unsubscribe", "取消订阅"),
}
WORD_TO_COMMAND = {w.lower(): name for name, words in COMMAND_WORDS.items() for w in words}

# Every way to name each profile field in `key=value`.
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "企业名称", "企业", "name"),
    "industry": ("行业", "行业代码", "industry"),
    "employees": ("人数", "从业人数", "员工", "employees"),
    "revenue_wan": ("营收", "营业收入", "收入", "revenue", "revenue_wan"),
    "assets_wan": ("资产", "资产总额", "assets", "assets_wan"),
    "qualifications": ("资质", "qualifications"),
    "district": ("区域", "区", "所在区", "district"),
    "chains": ("产业链", "chains"),
    "above_scale": ("规上", "规模以上", "above_scale"),
    "general_taxpayer": ("一般纳税人", "general_taxpayer"),
    "founded": ("成立", "成立日期", "founded"),
    "rd_expense_wan": ("研发费用", "研发投入", "研发", "rd_expense_wan"),
    "export_wan": ("出口", "出口额", "export_wan"),
    "ownership": ("所有制", "企业性质", "ownership"),
    "operates": ("运营", "运营平台", "operates"),
    "rd_institution": ("研发机构", "rd_institution"),
}
WORD_TO_FIELD = {w.lower(): name for name, words in FIELD_WORDS.items() for w in words}
# A field word written as people write it in Chinese chats: `营收：1.2亿，人数：180` (after NFKC
# folding, `:` and `,`) reads as `营收=1.2亿 人数=180`.
_WORDS = "|".join(sorted((re.escape(w) for w in WORD_TO_FIELD), key=len, reverse=True))
_COLON = re.compile(rf"(^|[\s,;])({_WORDS})\s*:\s*", re.IGNORECASE)
_BEFORE_FIELD = re.compile(rf"\s*[,;]\s*(?=(?:{_WORDS})=)", re.IGNORECASE)
LIST_FIELDS = ("qualifications", "chains", "operates")
YES = {"是", "有", "yes", "y", "true", "1", "对"}
NO = {"否", "不是", "无", "no", "n", "false", "0"}
USAGE = "注册 行业=C39 人数=180 营收=12000 资质=高新技术企业,省级专精特新中小企业 区域=葛店经开区"


@dataclass(frozen=True)
class Command:
    """What a message asks for: a command name (or 'text'), its words and its key=value pairs."""

    name: str
    args: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    unknown_keys: tuple[str, ...] = ()
    text: str = ""
    raw: str = ""  # the message as written (line breaks kept), for free text like a 公告
    # Every `key=value` as written (提前=14,7 for 提醒设置, 开始=… for 批次): keys that are no
    # profile field are in `unknown_keys` too, for the commands that take profile fields.
    options: dict[str, str] = field(default_factory=dict, compare=False)


def normalize(text: str) -> str:
    """Full-width letters, digits and signs folded to ASCII (NFKC), spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", folded).strip()


def parse_command(text: str) -> Command:
    """Parse any message into a Command; never raises."""
    clean = normalize(str(text))
    if not clean:
        return Command("text", text="")
    head, _, rest = clean.partition(" ")
    word = head[1:] if head.startswith("/") else head
    word = word.split("@", 1)[0].lower()  # /register@huiqi_bot in groups
    name = WORD_TO_COMMAND.get(word)
    if name is None:
        return Command("unknown" if head.startswith("/") else "text", text=clean, raw=str(text))
    args: list[str] = []
    fields: dict[str, str] = {}
    unknown: list[str] = []
    options: dict[str, str] = {}
    # `key=value` pairs; a value runs to the next `key=` (so names may contain spaces).
    rest = _BEFORE_FIELD.sub(" ", _COLON.sub(r"\1\2=", rest))
    pairs = re.split(r"\s+(?=[^\s=]+=)", rest) if rest else []
    for part in pairs:
        key, sep, value = part.partition("=")
        if not sep:
            args.extend(part.split())
            continue
        options[key.strip()] = value.strip()
        canonical = WORD_TO_FIELD.get(key.strip().lower())
        if canonical is None:
            unknown.append(key.strip())
        else:
            fields[canonical] = value.strip()
    return Command(name, tuple(args), fields, tuple(unknown), clean, str(text), options)


def _number(text: str) -> int | float | str:
    cleaned = text.replace(",", "").replace("人", "").strip()
    negative = cleaned.startswith("-")  # kept, so the profile check can say it is negative
    found = amount_wan(cleaned[1:] if negative else cleaned)
    return text if found is None else -found if negative else found


_AMOUNT = re.compile(r"(?:(\d+(?:\.\d+)?)亿)?(?:(\d+(?:\.\d+)?)(万)?)?(元)?")


def amount_wan(text: str) -> int | float | None:
    """An amount as written in Chinese, in 万元: `12000`, `3000万`, `3000万元`, `1.2亿`,
    `1亿2000万`, `500000元`, `12,000`; None when it is not one."""
    cleaned = normalize(text).replace(",", "").replace(" ", "")
    found = _AMOUNT.fullmatch(cleaned)
    if not cleaned or found is None or not (found[1] or found[2]):
        return None
    yi, rest, wan, yuan = found[1], found[2], found[3], found[4]
    value = float(yi or 0) * 10000
    if rest:
        # a bare number is in 万元 (the form's unit); 元 alone (no 万) is in 元
        value += float(rest) / 10000 if yuan and not wan and not yi else float(rest)
    value = round(value, 4)
    return int(value) if value.is_integer() else value


def profile_from_fields(fields: dict[str, str]) -> dict[str, Any]:
    """The profile JSON for key=value fields; values are converted, not yet validated."""
    raw: dict[str, Any] = {}
    for key, value in fields.items():
        if key in LIST_FIELDS:
            items = [x.strip() for x in re.split(r"[,，、;；|]", value) if x.strip()]
            raw[key] = [] if [i.lower() for i in items] in (["无"], ["none"], ["没有"]) else items
        elif key == "employees":
            number = _number(value)
            raw[key] = int(number) if isinstance(number, float) and number.is_integer() else number
        elif key in ("revenue_wan", "assets_wan", "rd_expense_wan", "export_wan"):
            raw[key] = _number(value)
        elif key in ("above_scale", "general_taxpayer"):
            lowered = value.lower()
            raw[key] = True if lowered in YES else False if lowered in NO else value
        else:
            raw[key] = value
    return raw
