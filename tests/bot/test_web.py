"""The web app serves health and the catalog."""

from __future__ import annotations

import datetime as dt

from starlette.testclient import TestClient

from bot._web import create_web_app
from schedulers.data import load_catalog


def client() -> TestClient:
    """A client over the real catalog with a fixed today."""
    return TestClient(create_web_app(load_catalog(), today=lambda: dt.date(2026, 11, 22)))


def test_healthz_counts_policies() -> None:
    """/healthz answers ok with the number of policies."""
    response = client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "policies": len(load_catalog().policies),
        "channels": {},
    }


def test_policy_json_uses_today_by_default() -> None:
    """Without ?on, the injected today decides the next round."""
    response = client().get("/api/policies/talent-living-allowance-masters-doctors")
    assert response.json()["next_round"] == {
        "open": "2026-12-01",
        "close": "2026-12-25",
        "basis": "stated",
    }


def test_bad_on_is_400_with_message() -> None:
    """A malformed ?on is a 400 saying what is expected."""
    response = client().get("/api/policies?on=tomorrow")
    assert response.status_code == 400
    assert response.json() == {
        "error": "on='tomorrow': expected a date YYYY-MM-DD between 2000-01-01 and 2099-12-31"
    }


def test_calendar_extremes_are_400_not_500() -> None:
    """?on=0001-01-01 and ?on=9999-12-31 are refused with the accepted range, on both routes."""
    answers = [
        (r.status_code, r.json()["error"])
        for path in ("/api/policies", "/api/policies/talent-living-allowance-masters-doctors")
        for r in (client().get(f"{path}?on={day}") for day in ("0001-01-01", "9999-12-31"))
    ]
    assert (
        answers
        == [
            (400, f"on='{day}': expected a date YYYY-MM-DD between 2000-01-01 and 2099-12-31")
            for day in ("0001-01-01", "9999-12-31")
        ]
        * 2
    )


def test_unknown_policy_is_404() -> None:
    """An unknown id is a 404."""
    assert client().get("/api/policies/nope").status_code == 404


def test_a_category_page_offers_that_category_calendar() -> None:
    """The list filtered to one category subscribes to that category's feed; unfiltered (or
    an unknown category) to all rounds."""
    web = client()
    talent = web.get("/", params={"category": "talent"}).text
    assert "订阅“人才补贴”类政策的日历" in talent
    assert "/feeds/category/talent.ics" in talent
    assert "/feeds/all.ics" not in talent
    everything = web.get("/").text
    assert "/feeds/all.ics" in everything
    assert (
        "/feeds/category/"
        not in everything.split("<h2>订阅日历</h2>")[1].split("</div>\n</div>")[0]
    )
    assert "/feeds/all.ics" in web.get("/", params={"category": "weather"}).text
