"""Spreadsheets in and out of the console: enterprise lists the bureau has (.xlsx, or .csv in
UTF-8, UTF-8 with BOM or GBK, with Chinese or English headers) read into profiles, and tables
written as .xlsx (the delivery log as proof of notification, the enterprise list).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from bot._commands import amount_wan
from bot._import import BOOL_FIELDS, FALSE, LIST_FIELDS, TRUE
from bot.chat.registration import industry_matches
from subscriptions import ProfileError, Vocab, parse_profile
from subscriptions import normalize_industry as canonical_industry

MAX_BYTES = 5 * 1024 * 1024  # an enterprise list of a city is well under 1 MB
MAX_ROWS = 20_000
MAX_CELL = 500
MAX_COLUMNS = 60
MAX_UNPACKED = 100 * 1024 * 1024  # an .xlsx is a zip: what it may unpack to (no zip bombs)

# Column headers as the bureau's sheets write them, to profile fields.
HEADERS = {
    "name": ("name", "企业名称", "名称", "单位名称", "企业"),
    "industry": ("industry", "行业", "行业代码", "所属行业", "国民经济行业"),
    "employees": ("employees", "从业人数", "人数", "职工人数", "员工人数", "从业人员"),
    "revenue_wan": ("revenue_wan", "营业收入", "营收", "营业收入(万元)", "营业收入（万元）"),
    "assets_wan": ("assets_wan", "资产总额", "资产总额(万元)", "资产总额（万元）"),
    "district": ("district", "区域", "所在区", "区", "所属区域", "地区"),
    "qualifications": ("qualifications", "资质", "已有资质", "资质认定"),
    "chains": ("chains", "产业链", "所属产业链"),
    "above_scale": ("above_scale", "规上", "规模以上", "是否规上", "规上企业"),
    "general_taxpayer": ("general_taxpayer", "一般纳税人", "是否一般纳税人"),
    "rd_expense_wan": (
        "rd_expense_wan",
        "研发费用",
        "研发费用(万元)",
        "研发费用（万元）",
        "研发投入",
    ),
    "export_wan": ("export_wan", "出口额", "出口额(万元)", "出口额（万元）"),
    "ownership": ("ownership", "所有制", "企业性质", "经济类型"),
    "operates": ("operates", "运营平台", "运营的平台或基地"),
    "rd_institution": ("rd_institution", "研发机构", "研发机构级别"),
    "contact_email": ("contact_email", "email", "邮箱", "联系邮箱", "电子邮箱"),
}
_LOOKUP = {re.sub(r"\s", "", h).lower(): f for f, names in HEADERS.items() for h in names}


class SheetError(ValueError):
    """The file as a whole cannot be read; the message says why, in Chinese."""


@dataclass
class Row:
    """One row of the file: its number, the profile read from it, and what is wrong with it."""

    number: int
    raw: dict[str, Any]
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or "")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetError("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx")


def _cells(data: bytes, filename: str) -> list[list[str]]:
    """The file's rows of cell texts, header first."""
    if len(data) > MAX_BYTES:
        raise SheetError(f"文件过大（{len(data) // 1024} KB），至多 {MAX_BYTES // 1024 // 1024} MB")
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as packed:
                unpacked = sum(info.file_size for info in packed.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            raise SheetError("不是有效的 .xlsx 文件：请用 Excel/WPS 另存为 .xlsx 后重试") from None
        if unpacked > MAX_UNPACKED:
            raise SheetError("文件解压后过大：请只保留企业名单这一张表后重试")
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
            raise SheetError("不是有效的 .xlsx 文件：请用 Excel/WPS 另存为 .xlsx 后重试") from None
        try:
            sheet = book.worksheets[0]
            rows = []
            for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
                rows.append(["" if v is None else _text(v) for v in values])
                if len(rows) > MAX_ROWS + 1:
                    raise SheetError(f"行数过多：至多 {MAX_ROWS} 行企业")
            return rows
        finally:
            book.close()
    if filename.lower().endswith((".xls", ".et")):
        raise SheetError("不支持旧版 .xls：请用 Excel/WPS 另存为 .xlsx 或 CSV 后重试")
    text = _decode(data)
    try:
        sample = text[:4096]
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;，")
    except csv.Error:
        dialect = csv.excel
    rows = [row[:MAX_COLUMNS] for row in csv.reader(io.StringIO(text), dialect)]
    if len(rows) > MAX_ROWS + 1:
        raise SheetError(f"行数过多：至多 {MAX_ROWS} 行企业")
    return rows


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _field_value(vocab: Vocab, field_name: str, text: str, errors: list[str]) -> Any:
    text = text.strip()[:MAX_CELL]
    if not text:
        return None
    if field_name in LIST_FIELDS:
        return [x.strip() for x in re.split(r"[;；、|,，]", text) if x.strip()]
    if field_name == "employees":
        cleaned = text.replace(",", "").replace("人", "").strip()
        if cleaned.isdigit():
            return int(cleaned)
        errors.append(f"从业人数“{text}”应为整数，如 180")
        return None
    if field_name in ("revenue_wan", "assets_wan"):
        found = amount_wan(text)
        if found is None:
            errors.append(f"金额“{text}”应写作 12000（万元）、3000万 或 1.2亿")
        return found
    if field_name in BOOL_FIELDS:
        lowered = text.lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        errors.append(f"“{text}”应为 是 或 否")
        return None
    if field_name == "industry":
        try:
            return canonical_industry(vocab.industries, text)
        except ValueError:
            _, matches = industry_matches(vocab, text)
            if len(matches) == 1:
                return matches[0].full_code
            if matches:
                errors.append(f"行业“{text}”对应多个行业，请填行业代码，如 {matches[0].full_code}")
            else:
                errors.append(f"行业“{text}”无法识别，请填行业代码，如 C39")
            return None
    return text


def read_sheet(data: bytes, filename: str, vocab: Vocab) -> list[Row]:
    """Every row of an enterprise list, each with its profile or its faults; SheetError when the
    file as a whole cannot be read (encoding, format, no name or industry column)."""
    rows = _cells(data, filename)
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise SheetError("文件是空的：第1行应为表头（企业名称、行业……）")
    header = [_LOOKUP.get(re.sub(r"\s", "", h).lower()) for h in rows[0]]
    if "name" not in header or "industry" not in header:
        raise SheetError(
            "第1行应为表头，至少包含“企业名称”和“行业”两列（或 name、industry）；"
            f"这里是：{'、'.join(h for h in rows[0] if h)[:200] or '空'}"
        )
    out: list[Row] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        errors: list[str] = []
        raw: dict[str, Any] = {}
        for field_name, cell in zip(header, cells, strict=False):
            if field_name is None or field_name == "contact_email":
                continue
            value = _field_value(vocab, field_name, cell, errors)
            if value is not None:
                raw[field_name] = value
        if not raw.get("name"):
            errors.insert(0, "缺少企业名称")
        if not errors:
            try:
                parse_profile(raw, vocab)
            except ProfileError as exc:
                errors += [e.message for e in exc.errors]
        out.append(Row(number, raw, errors))
    return out


def workbook(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """An .xlsx of one sheet: a bold header row, then the rows (dates as dates)."""
    book = Workbook()
    sheet = book.active
    if sheet is None:  # pragma: no cover - a new workbook always has its sheet
        raise RuntimeError("openpyxl made a workbook without a sheet")
    sheet.title = title[:31]
    sheet.append(list(headers))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for row in rows:
        sheet.append([_plain(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text from outside is never run as a formula
    for number, column in enumerate(sheet.columns, start=1):
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[get_column_letter(number)].width = min(60, max(10, width * 1.6))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _plain(value: Any) -> Any:
    """A cell's value as a spreadsheet holds it (a moment without its zone)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value
