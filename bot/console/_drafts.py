"""A policy the catalog is missing, drafted in the console from this year's notice: the form
read into a catalog entry, validated by the catalog's own schema and checks, and saved where
the catalog loader reads it (data/policies/notices/<id>.yaml), the notice as its evidence.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from schedulers.data import DATA_DIR, _semantic_problems, load_vocabulary, policy_schema

FOLDER = "notices"  # data/vocab/lists.yaml: the list of policies drafted from notices
LIST_NAME = "本局申报通知（控制台起草）"
ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SIZES = ("micro", "small", "medium", "large")
FIELDS = (
    "id", "name", "level", "category", "department", "summary", "benefit", "yuan", "payer",
    "eligibility", "source_title", "doc_no", "issuer", "url", "open", "close", "quote",
)  # fmt: skip


def _text(form: Mapping[str, Any], key: str, limit: int = 2000) -> str:
    return " ".join(str(form.get(key) or "").split())[:limit]


def _many(form: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    values = getlist(key) if getlist else []
    return [str(v) for v in values if v][:40]


def draft_from_form(form: Mapping[str, Any], *, today: dt.date) -> dict[str, Any]:
    """The catalog entry the form describes (not yet validated)."""
    raw: dict[str, Any] = {
        "id": _text(form, "id", 80).lower(),
        "name": _text(form, "name", 200),
        "level": _text(form, "level", 20),
        "category": _text(form, "category", 20),
        "summary": _text(form, "summary"),
        "benefits": [],
        "eligibility": {"text": _text(form, "eligibility")},
        "sources": [],
        "department": _text(form, "department", 100),
        "listed_in": [{"list": LIST_NAME}],
        "windows": [],
    }
    benefit: dict[str, Any] = {"text": _text(form, "benefit", 500)}
    yuan = _text(form, "yuan", 20).replace(",", "")
    if yuan:
        benefit["yuan"] = int(yuan) if yuan.isdigit() else yuan
        benefit["up_to"] = True
    if _text(form, "payer", 20):
        benefit["payer"] = _text(form, "payer", 20)
    raw["benefits"].append(benefit)
    source: dict[str, Any] = {"title": _text(form, "source_title", 300)}
    for key in ("doc_no", "issuer"):
        if _text(form, key, 100):
            source[key] = _text(form, key, 100)
    raw["sources"].append(source)
    conditions: list[dict[str, Any]] = []
    sizes = [s for s in _many(form, "sizes") if s in SIZES]
    if sizes and len(sizes) < len(SIZES):
        conditions.append({"kind": "size", "in": sizes, "text": "通知所列企业规模"})
    sections = [s for s in _many(form, "sections") if re.fullmatch(r"[A-T]", s)]
    if sections:
        conditions.append({"kind": "industry", "codes": sections, "text": "通知所列行业"})
    held = _many(form, "qualifications")
    if held:
        conditions.append({"kind": "qualification", "any": held, "text": "通知所列资质"})
    if conditions:
        raw["eligibility"]["conditions"] = conditions
    url = _text(form, "url", 500)
    if url:
        raw["url"] = url
    quote = _text(form, "quote", 300)
    document = source["title"] + (f"（{source['doc_no']}）" if "doc_no" in source else "")
    window: dict[str, Any] = {
        "kind": "dated",
        "evidence": [{"document": document, "says": quote or "（未填写原文）"}],
    }
    for key in ("open", "close"):
        if _text(form, key, 10):
            window[key] = _text(form, key, 10)
    raw["windows"].append(window)
    raw["notes"] = f"{today.isoformat()} 由控制台按申报通知起草，待按政策原文核对后补全条件。"
    return raw


def problems_of(raw: Mapping[str, Any], *, known: set[str], data_dir: Path = DATA_DIR) -> list[str]:
    """What keeps the draft out of the catalog, in the catalog's own words (empty: none)."""
    found: list[str] = []
    if not raw.get("name"):
        found.append("请填写政策名称")
    if not ID.fullmatch(str(raw.get("id") or "")):
        found.append("编号只能用小写字母、数字和连字符，如 ezhou-2027-digital-transformation-award")
    elif raw["id"] in known:
        found.append(f"编号 {raw['id']} 已被目录中的政策使用，请换一个")
    window = raw["windows"][0]
    if "open" not in window and "close" not in window:
        found.append("请填写通知中的开始日期或截止日期")
    elif window.get("open") and window.get("close") and window["close"] < window["open"]:
        found.append(f"截止日期 {window['close']} 早于开始日期 {window['open']}")
    if window["evidence"][0]["says"] == "（未填写原文）":
        found.append("请粘贴通知中写明申报时间的原文句子")
    vocab = load_vocabulary(data_dir)
    validator = Draft202012Validator(policy_schema(vocab, data_dir))
    for error in sorted(validator.iter_errors(raw), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.path) or "（整体）"
        found.append(f"{where}：{error.message[:200]}")
    if not found:
        for problem in _semantic_problems(f"{FOLDER}/{raw['id']}.yaml", raw, FOLDER, vocab):
            found.append(f"{problem.field}：{problem.message}")
    return found


def save(raw: Mapping[str, Any], *, data_dir: Path = DATA_DIR) -> Path:
    """Write the entry as data/policies/notices/<id>.yaml (never over an existing file); the
    file appears whole or not at all."""
    folder = data_dir / "policies" / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{raw['id']}.yaml"
    text = yaml.safe_dump(dict(raw), allow_unicode=True, sort_keys=False, width=100)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.link(temporary, target)  # fails if the file exists: nothing is overwritten
    finally:
        os.unlink(temporary)
    return target
