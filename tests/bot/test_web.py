"""The web app serves health and the catalog."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from starlette.testclient import TestClient

from bot._service import World, add_round, sync_rounds
from bot._web import create_web_app
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store


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


def publish_talent(store: Store, world: World, now: dt.datetime) -> None:
    """The bureau publishes the talent round as 7-28 December."""
    add_round(
        store,
        world.catalog,
        "talent-living-allowance-masters-doctors",
        open=dt.date(2026, 12, 7),
        close=dt.date(2026, 12, 28),
        notice_url="https://example.org/talent",
        now=now,
    )


def test_pages_come_from_memory_until_a_round_changes(tmp_path: Path) -> None:
    """/ and /api/policies are built once per state and revalidated by ETag: the same state
    gives the same tag (a weakened one still matches, 304); gzip and plain are separate
    representations with their own tags; publishing a round makes a new page at once."""
    world = World(load_catalog(), load_vocab(), load_size_standard())
    store = Store.open(f"sqlite:///{tmp_path / 'huiqi.db'}")
    now = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
    sync_rounds(store, world.catalog, now=now)
    web = TestClient(create_web_app(world, today=lambda: now.date(), store=lambda: store))
    plain = web.get("/", headers={"Accept-Encoding": "identity"})
    packed = web.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert plain.text == packed.text  # the client unpacks the same page
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    assert plain.headers["Vary"] == packed.headers["Vary"] == "Accept-Encoding"
    assert plain.headers["Cache-Control"] == "public, no-cache"
    again = web.get("/", headers={"Accept-Encoding": "identity"})
    assert again.headers["ETag"] == plain.headers["ETag"]
    weak = "W/" + plain.headers["ETag"]
    cached = web.get("/", headers={"Accept-Encoding": "identity", "If-None-Match": weak})
    assert (cached.status_code, cached.content) == (304, b"")
    other = web.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": weak})
    assert other.status_code == 200  # the plain tag does not validate the gzipped copy

    talent = "talent-living-allowance-masters-doctors"
    before = {r["id"]: r for r in web.get("/api/policies").json()}[talent]["next_round"]
    assert before["open"] == "2026-12-01"
    publish_talent(store, world, now)
    after = {r["id"]: r for r in web.get("/api/policies").json()}[talent]["next_round"]
    assert (after["open"], after["close"], after["basis"]) == (
        "2026-12-07",
        "2026-12-28",
        "confirmed",
    )
    fresh = web.get("/", headers={"Accept-Encoding": "identity", "If-None-Match": weak})
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != plain.headers["ETag"]
    assert "2026-12-07" in fresh.text
    store.close()


def test_a_round_published_by_another_process_shows_once_polled(tmp_path: Path) -> None:
    """A round the command line (another process, another store) publishes changes the
    cached pages as soon as the store is polled again (rounds_ttl, here 0 s)."""
    world = World(load_catalog(), load_vocab(), load_size_standard())
    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    served, other = Store.open(url), Store.open(url)
    now = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
    sync_rounds(served, world.catalog, now=now)
    app = create_web_app(world, today=lambda: now.date(), store=lambda: served, rounds_ttl=0)
    web = TestClient(app)
    first = web.get("/api/policies")
    talent = "talent-living-allowance-masters-doctors"
    publish_talent(other, world, now)
    second = web.get("/api/policies")
    assert second.headers["ETag"] != first.headers["ETag"]
    found = {r["id"]: r for r in second.json()}[talent]["next_round"]
    assert found["basis"] == "confirmed"
    served.close()
    other.close()


def test_unknown_filters_share_the_unfiltered_page() -> None:
    """A filter value that names nothing (a category, level or GB/T section that does not
    exist) gives the unfiltered page, from the same cache entry: varying it cannot make the
    app build a page per request."""
    web = client()
    plain = {"Accept-Encoding": "identity"}
    base = web.get("/", headers=plain)
    for query in ("industry=中", "industry=Z", "category=nope", "level=galactic"):
        other = web.get(f"/?{query}", headers=plain)
        assert other.status_code == 200
        assert other.headers["ETag"] == base.headers["ETag"], query
    section = web.get("/?industry=c", headers=plain)
    assert section.headers["ETag"] != base.headers["ETag"]  # a real section filters
