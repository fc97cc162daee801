"""The shipped catalog covers every row of the numbered lists and dates them right."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from schedulers import status
from schedulers.data import load_catalog

CATALOG = load_catalog()
LIST3 = "鄂州市支持中小企业政策清单（三）"
EQUIPMENT = "工业领域设备更新服务清单"
LIST1 = "鄂州市支持中小企业政策清单（一）"
ON = dt.date(2026, 11, 22)


def rows(list_name: str, section: str | None = None) -> list[int]:
    """The row numbers of a list that the catalog claims, sorted, duplicates kept."""
    return sorted(
        li.no
        for p in CATALOG.policies
        for li in p.listed_in
        if li.list == list_name and li.section == section and li.no is not None
    )


def by_row(list_name: str, no: int) -> str:
    """The id of the policy that holds a row."""
    return next(
        p.id for p in CATALOG.policies for li in p.listed_in if li.list == list_name and li.no == no
    )


def test_list3_has_every_row_once() -> None:
    """清单（三） rows 1-21 (the list has no rows 6 and 14), each exactly once."""
    assert rows(LIST3) == [n for n in range(1, 22) if n not in (6, 14)]


def test_equipment_list_has_every_row_of_every_section_once() -> None:
    """设备更新服务清单: 税收 1-5, 金融 1-4, 项目 1-34."""
    assert rows(EQUIPMENT, "税收") == list(range(1, 6))
    assert rows(EQUIPMENT, "金融") == list(range(1, 5))
    assert rows(EQUIPMENT, "项目") == list(range(1, 35))


def test_list1_has_every_row_once() -> None:
    """清单（一） rows 1-17."""
    assert rows(LIST1) == list(range(1, 18))


def test_documents_are_catalogued() -> None:
    """The draft opinion and the compilation each contribute policies."""
    listed = Counter(li.list for p in CATALOG.policies for li in p.listed_in)
    assert listed["关于推进全市工业经济高质量发展的意见（征求意见稿）"] >= 15
    assert listed["高质量发展和转型发展政策汇编"] >= 20


def test_2020_epidemic_relief_is_expired() -> None:
    """Every 2020 relief measure of 清单（一） (rows 1-14) is expired on 2026-11-22."""
    statuses = {no: status(CATALOG.get(by_row(LIST1, no)), on=ON) for no in range(1, 15)}  # type: ignore[arg-type]
    assert statuses == dict.fromkeys(range(1, 15), "expired")


def test_talent_subsidy_twice_a_year() -> None:
    """The masters-and-doctors living allowance: new hires apply by 25 June and 25 December
    (实施细则第九条), those already paid also by 25 March and 25 September."""
    policy = CATALOG.get("talent-living-allowance-masters-doctors")
    assert policy is not None
    assert [(w.kind, w.label, str(getattr(w, "close", None))) for w in policy.windows] == [
        ("annual", "上半年", "06-25"),
        ("annual", "下半年", "12-25"),
        ("annual", "第一季度（仅已享受补贴人员）", "03-25"),
        ("annual", "第三季度（仅已享受补贴人员）", "09-25"),
    ]


def test_every_policy_has_a_window_and_a_source() -> None:
    """No policy lacks windows, sources or a department."""
    assert all(p.windows and p.sources and p.department for p in CATALOG.policies)


def test_policies_found_by_id_name_or_words_of_the_name() -> None:
    """find: an id, the whole name with or without its quotes, or a few of its words."""
    catalog = load_catalog()
    talent = "talent-living-allowance-masters-doctors"
    assert [p.id for p in catalog.find(talent)] == [talent]
    assert [p.id for p in catalog.find("企业千名引硕工程人才生活补贴")] == [talent]
    assert [p.id for p in catalog.find(" 千名引硕 ")] == [talent]
    assert len(catalog.find("补贴")) > 5
    assert catalog.find("") == []
    assert catalog.find("“”") == []
    assert catalog.vocab.category("人才补贴") is not None
    assert catalog.vocab.category("TALENT") is not None
    assert catalog.vocab.category("人才") is None
