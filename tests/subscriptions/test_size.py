"""Size classes follow 《中小企业划型标准规定》 for every group, at and around each bound."""

from __future__ import annotations

import pytest

from subscriptions import classify
from subscriptions.data import load_size_standard

STANDARD = load_size_standard()

# (industry code, employees, revenue 万元, assets 万元, expected size, expected group)
CASES = [
    # 农、林、牧、渔业: revenue only; 20000 / 500 / 50.
    ("A01", None, 20000, None, "large", "农、林、牧、渔业"),
    ("A01", None, 19999, None, "medium", "农、林、牧、渔业"),
    ("A0111", None, 500, None, "medium", "农、林、牧、渔业"),
    ("A03", None, 499, None, "small", "农、林、牧、渔业"),
    ("A04", None, 50, None, "small", "农、林、牧、渔业"),
    ("A05", None, 49, None, "micro", "农、林、牧、渔业"),
    # 工业: employees and revenue; 1000/40000, 300/2000, 20/300.
    ("C39", 1000, 40000, None, "large", "工业"),
    ("C3976", 999, 40000, None, "medium", "工业"),
    ("C31", 1000, 39999, None, "medium", "工业"),
    ("B06", 300, 2000, None, "medium", "工业"),
    ("D44", 299, 2000, None, "small", "工业"),
    ("C", 300, 1999, None, "small", "工业"),
    ("C13", 20, 300, None, "small", "工业"),
    ("C13", 19, 300000, None, "micro", "工业"),
    ("C13", 5000, 299, None, "micro", "工业"),
    # 建筑业: revenue and assets; 80000/80000, 6000/5000, 300/300.
    ("E47", None, 80000, 80000, "large", "建筑业"),
    ("E48", None, 80000, 79999, "medium", "建筑业"),
    ("E49", None, 6000, 5000, "medium", "建筑业"),
    ("E50", None, 5999, 5000, "small", "建筑业"),
    ("E50", None, 300, 300, "small", "建筑业"),
    ("E50", None, 300, 299, "micro", "建筑业"),
    # 批发业: 200/40000, 20/5000, 5/1000.
    ("F51", 200, 40000, None, "large", "批发业"),
    ("F5111", 199, 40000, None, "medium", "批发业"),
    ("F51", 20, 5000, None, "medium", "批发业"),
    ("F51", 19, 5000, None, "small", "批发业"),
    ("F51", 5, 1000, None, "small", "批发业"),
    ("F51", 4, 1000, None, "micro", "批发业"),
    # 零售业: 300/20000, 50/500, 10/100.
    ("F52", 300, 20000, None, "large", "零售业"),
    ("F52", 300, 19999, None, "medium", "零售业"),
    ("F52", 50, 500, None, "medium", "零售业"),
    ("F52", 50, 499, None, "small", "零售业"),
    ("F52", 10, 100, None, "small", "零售业"),
    ("F52", 9, 100, None, "micro", "零售业"),
    # 交通运输业 (not railway): 1000/30000, 300/3000, 20/200.
    ("G54", 1000, 30000, None, "large", "交通运输业"),
    ("G56", 999, 30000, None, "medium", "交通运输业"),
    ("G58", 300, 3000, None, "medium", "交通运输业"),
    ("G55", 300, 2999, None, "small", "交通运输业"),
    ("G57", 20, 200, None, "small", "交通运输业"),
    ("G54", 20, 199, None, "micro", "交通运输业"),
    # 仓储业: 200/30000, 100/1000, 20/100.
    ("G59", 200, 30000, None, "large", "仓储业"),
    ("G59", 199, 30000, None, "medium", "仓储业"),
    ("G59", 100, 1000, None, "medium", "仓储业"),
    ("G59", 99, 1000, None, "small", "仓储业"),
    ("G59", 20, 100, None, "small", "仓储业"),
    ("G59", 19, 100, None, "micro", "仓储业"),
    # 邮政业: 1000/30000, 300/2000, 20/100.
    ("G60", 1000, 30000, None, "large", "邮政业"),
    ("G60", 1000, 29999, None, "medium", "邮政业"),
    ("G60", 300, 2000, None, "medium", "邮政业"),
    ("G60", 300, 1999, None, "small", "邮政业"),
    ("G60", 20, 100, None, "small", "邮政业"),
    ("G60", 20, 99, None, "micro", "邮政业"),
    # 住宿业: 300/10000, 100/2000, 10/100.
    ("H61", 300, 10000, None, "large", "住宿业"),
    ("H61", 299, 10000, None, "medium", "住宿业"),
    ("H61", 100, 2000, None, "medium", "住宿业"),
    ("H61", 100, 1999, None, "small", "住宿业"),
    ("H61", 10, 100, None, "small", "住宿业"),
    ("H61", 9, 100, None, "micro", "住宿业"),
    # 餐饮业: 300/10000, 100/2000, 10/100.
    ("H62", 300, 10000, None, "large", "餐饮业"),
    ("H62", 300, 9999, None, "medium", "餐饮业"),
    ("H62", 100, 2000, None, "medium", "餐饮业"),
    ("H62", 99, 2000, None, "small", "餐饮业"),
    ("H62", 10, 100, None, "small", "餐饮业"),
    ("H62", 10, 99, None, "micro", "餐饮业"),
    # 信息传输业: 2000/100000, 100/1000, 10/100.
    ("I63", 2000, 100000, None, "large", "信息传输业"),
    ("I64", 1999, 100000, None, "medium", "信息传输业"),
    ("I63", 100, 1000, None, "medium", "信息传输业"),
    ("I63", 100, 999, None, "small", "信息传输业"),
    ("I64", 10, 100, None, "small", "信息传输业"),
    ("I64", 9, 100, None, "micro", "信息传输业"),
    # 软件和信息技术服务业: 300/10000, 100/1000, 10/50.
    ("I65", 300, 10000, None, "large", "软件和信息技术服务业"),
    ("I65", 300, 9999, None, "medium", "软件和信息技术服务业"),
    ("I65", 100, 1000, None, "medium", "软件和信息技术服务业"),
    ("I6510", 99, 1000, None, "small", "软件和信息技术服务业"),
    ("I65", 10, 50, None, "small", "软件和信息技术服务业"),
    ("I65", 10, 49, None, "micro", "软件和信息技术服务业"),
    # 房地产开发经营: revenue and assets; 200000/10000, 1000/5000, 100/2000.
    ("K7010", None, 200000, 10000, "large", "房地产开发经营"),
    ("K701", None, 199999, 10000, "medium", "房地产开发经营"),
    ("K7010", None, 1000, 5000, "medium", "房地产开发经营"),
    ("K7010", None, 1000, 4999, "small", "房地产开发经营"),
    ("K7010", None, 100, 2000, "small", "房地产开发经营"),
    ("K7010", None, 99, 2000, "micro", "房地产开发经营"),
    # 物业管理: 1000/5000, 300/1000, 100/500.
    ("K7020", 1000, 5000, None, "large", "物业管理"),
    ("K702", 999, 5000, None, "medium", "物业管理"),
    ("K7020", 300, 1000, None, "medium", "物业管理"),
    ("K7020", 300, 999, None, "small", "物业管理"),
    ("K7020", 100, 500, None, "small", "物业管理"),
    ("K7020", 99, 500, None, "micro", "物业管理"),
    # 租赁和商务服务业: employees and assets; 300/120000, 100/8000, 10/100.
    ("L72", 300, None, 120000, "large", "租赁和商务服务业"),
    ("L71", 300, None, 119999, "medium", "租赁和商务服务业"),
    ("L72", 100, None, 8000, "medium", "租赁和商务服务业"),
    ("L72", 99, None, 8000, "small", "租赁和商务服务业"),
    ("L72", 10, None, 100, "small", "租赁和商务服务业"),
    ("L72", 10, None, 99, "micro", "租赁和商务服务业"),
    # 其他未列明行业: employees only; 300/100/10. Railway and 房地产中介 fall here.
    ("M73", 300, None, None, "large", "其他未列明行业"),
    ("M75", 299, None, None, "medium", "其他未列明行业"),
    ("G53", 100, None, None, "medium", "其他未列明行业"),
    ("K7030", 99, None, None, "small", "其他未列明行业"),
    ("R86", 10, None, None, "small", "其他未列明行业"),
    ("O80", 9, None, None, "micro", "其他未列明行业"),
]


@pytest.mark.parametrize(("code", "employees", "revenue", "assets", "size", "group"), CASES)
def test_standard_table(
    code: str, employees: int | None, revenue: int | None, assets: int | None, size: str, group: str
) -> None:
    """Each case lands in the class and group the standard gives."""
    result = classify(STANDARD, code, employees=employees, revenue_wan=revenue, assets_wan=assets)
    assert (result.size, result.group) == (size, group)


def test_all_sixteen_groups_are_covered_by_the_table() -> None:
    """The table above exercises every group of the standard."""
    assert {case[5] for case in CASES} == {g.name for g in STANDARD.groups}
    assert len(STANDARD.groups) == 16


def test_missing_revenue_cannot_decide_a_mid_sized_factory() -> None:
    """500 workers but no revenue could be large, medium, small or micro: cannot tell."""
    result = classify(STANDARD, "C39", employees=500)
    assert (result.size, result.missing) == (None, ("revenue_wan",))


def test_one_small_indicator_is_enough_for_micro() -> None:
    """10 workers make a factory micro whatever its revenue, so none is needed."""
    result = classify(STANDARD, "C39", employees=10)
    assert (result.size, result.missing) == ("micro", ())


def test_nothing_given_lists_every_indicator() -> None:
    """With no numbers, every indicator of the group is named as missing."""
    result = classify(STANDARD, "E47")
    assert (result.size, result.missing) == (None, ("revenue_wan", "assets_wan"))
