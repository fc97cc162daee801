"""Reading enterprise lists for `huiqi enterprises import`: a JSON array or a CSV file."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LIST_FIELDS = ("qualifications", "chains", "operates")
INT_FIELDS = ("employees",)
NUMBER_FIELDS = ("revenue_wan", "assets_wan", "rd_expense_wan", "export_wan")
BOOL_FIELDS = ("above_scale", "general_taxpayer")
TRUE = {"true", "1", "是", "yes", "y"}
FALSE = {"false", "0", "否", "no", "n"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read."""


def _cell(field: str, text: str) -> Any:
    text = text.strip()
    if text == "":
        return None
    if field in LIST_FIELDS:
        return [x.strip() for x in re.split(r"[;；、|]", text) if x.strip()]
    if field in INT_FIELDS:
        return int(text) if re.fullmatch(r"-?\d+", text) else text
    if field in NUMBER_FIELDS:
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return text
    if field in BOOL_FIELDS:
        lowered = text.lower()
        return True if lowered in TRUE else False if lowered in FALSE else text
    return text


def read_profiles(path: Path) -> Iterator[tuple[int, Any]]:
    """(line or element number, raw profile) for every entry; the profile is not yet validated."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"{path}: 无法读取（{exc.strerror}）") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: 不是 UTF-8 编码的文本") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{path}: 不是合法的 JSON（第{exc.lineno}行第{exc.colno}列：{exc.msg}）"
            ) from None
        if not isinstance(data, list):
            raise ImportFileError(f"{path}: 应为企业资料的 JSON 数组 [...]")
        yield from enumerate(data, start=1)
        return
    reader = csv.DictReader(io.StringIO(text))
    if (
        not reader.fieldnames
        or "name" not in reader.fieldnames
        or "industry" not in reader.fieldnames
    ):
        raise ImportFileError(f"{path}: CSV 第1行应为表头，至少包含 name 和 industry 两列")
    for row in reader:
        raw = {k.strip(): _cell(k.strip(), v or "") for k, v in row.items() if k is not None}
        yield reader.line_num, {k: v for k, v in raw.items() if v is not None}
