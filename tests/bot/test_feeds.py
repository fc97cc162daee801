"""Feeds as calendar apps read them: three parsers, stable UIDs, tokens, conditional GET."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
from starlette.testclient import TestClient

from bot._app import create_app
from bot._service import World, add_round
from bot._settings import Settings
from schedulers import SHANGHAI, FeedEvent, FeedMeta, RecordingChannel, render_feed
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Rounds, Store, StoredRound

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
PROFILES = Path(__file__).parent.parent / "fixtures" / "profiles"
PARSE_JS = Path(__file__).parent.parent / "js" / "parse_ics.mjs"
TALENT_UID = "talent-living-allowance-masters-doctors-1-2026@huiqi.ezhou"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    """The app on a fresh SQLite database at 10:00 on 22 Nov 2026, with its store."""
    url = f"sqlite:///{tmp_path / 'huiqi.db'}"
    settings = Settings(database_url=url, public_url="https://huiqi.example.cn")
    app = create_app(
        settings,
        WORLD,
        clock=lambda: NOW,
        channels={"console": RecordingChannel(clock=lambda: NOW)},
    )
    with TestClient(app) as client:
        yield client, app.state.runtime.store


def token_for(store: Store, name: str) -> str:
    """Register a fixture profile and issue its private feed token."""
    raw = json.loads((PROFILES / f"{name}.json").read_text(encoding="utf-8"))
    enterprise = store.registry.save_enterprise(raw["name"], raw, now=NOW)
    return store.tokens.issue_token(enterprise, now=NOW)


def parse_everywhere(body: bytes, tmp_path: Path) -> dict[str, dict[str, object]]:
    """Parse with icalendar, recurring-ical-events and ical.js; return ical.js's events by UID."""
    cal = icalendar.Calendar.from_ical(body)
    events = cal.walk("VEVENT")
    window = recurring_ical_events.of(cal).between(dt.date(2025, 1, 1), dt.date(2028, 1, 1))
    assert len(window) == len(events)
    file = tmp_path / "feed.ics"
    file.write_bytes(body)
    if shutil.which("node") is None or not (PARSE_JS.parent / "node_modules").is_dir():
        if os.environ.get("CI"):
            pytest.fail(
                "node and tests/js/node_modules are needed in CI (make test installs ical.js)"
            )
        pytest.skip("ical.js not installed: run `make test` (it installs tests/js with npm)")
    node = shutil.which("node") or "node"
    command = [node, str(PARSE_JS), str(file)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own script
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert len(parsed["events"]) == len(events)
    for event, js in zip(events, parsed["events"], strict=True):
        assert js["uid"] == str(event["UID"])
        assert js["start"] == event.decoded("DTSTART").isoformat()
        assert js["end"] == event.decoded("DTEND").isoformat()
        assert js["allDay"] is True
    return {e["uid"]: e for e in parsed["events"]}


def test_golden_feed_is_byte_identical(golden_bytes: Callable[[str, bytes], None]) -> None:
    """The pure renderer's output for fixed rounds is pinned byte for byte."""
    stamp = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
    events = [
        FeedEvent(
            "talent#1@2026",
            2,
            stamp,
            dt.date(2026, 12, 1),
            dt.date(2026, 12, 25),
            "【已发布】人才补贴",
            "申报时间：2026-12-01 至 2026-12-25\n承办：人事教育科, 027-60830441; 详情见链接",
            True,
            ("人才补贴",),
            "https://huiqi.example.cn/policies/talent",
        ),
        FeedEvent(
            "design#0@2026",
            1,
            stamp,
            None,
            dt.date(2026, 9, 30),
            "【文件写明】省级工业设计中心（截止日）",
            "每年9月30日截止",
            False,
            ("认定称号",),
        ),
    ]
    body = render_feed(FeedMeta("鄂州惠企政策申报日历", "测试"), events)
    assert body == render_feed(FeedMeta("鄂州惠企政策申报日历", "测试"), list(reversed(events)))
    golden_bytes("feed.ics", body)


def test_public_feed_passes_three_parsers(served: tuple[TestClient, Store], tmp_path: Path) -> None:
    """/feeds/all.ics parses everywhere; the talent round spans 1-25 Dec with two alarms."""
    client, _ = served
    response = client.get("/feeds/all.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    events = parse_everywhere(response.content, tmp_path)
    talent = events[TALENT_UID]
    assert (talent["start"], talent["end"], talent["status"], talent["alarms"]) == (
        "2026-12-01",
        "2026-12-26",
        "TENTATIVE",
        2,
    )
    assert talent["summary"] == "【文件写明】企业“千名引硕工程”人才生活补贴"
    # An estimated round is in the calendar, tentative, with no countdown to its guessed close.
    estimated = [e for e in events.values() if str(e["summary"]).startswith("【预计】")]
    assert estimated
    assert {e["alarms"] for e in estimated} == {0}
    assert {e["status"] for e in estimated} == {"TENTATIVE"}


@pytest.mark.parametrize("name", ["hightech-electronics", "micro-retailer", "machine-tool"])
def test_private_feeds_pass_three_parsers(
    served: tuple[TestClient, Store], tmp_path: Path, name: str
) -> None:
    """Each enterprise's private feed parses everywhere and explains the match."""
    client, store = served
    response = client.get(f"/feeds/e/{token_for(store, name)}.ics")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=3600"
    events = parse_everywhere(response.content, tmp_path)
    assert TALENT_UID in events
    text = response.content.decode()
    assert "【贵企业情况】" in text


def test_uids_stable_across_builds_and_a_date_change(
    served: tuple[TestClient, Store], tmp_path: Path
) -> None:
    """Two builds give the same bytes; a confirmed change keeps every UID and raises SEQUENCE."""
    client, store = served
    first = client.get("/feeds/all.ics").content
    assert client.get("/feeds/all.ics").content == first
    add_round(
        store,
        WORLD.catalog,
        "talent-living-allowance-masters-doctors",
        open=dt.date(2026, 12, 1),
        close=dt.date(2026, 12, 28),
        notice_url=None,
        now=NOW + dt.timedelta(hours=1),
    )
    second = client.get("/feeds/all.ics").content
    before = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(first).walk("VEVENT")}
    after = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(second).walk("VEVENT")}
    assert set(before) == set(after)
    assert (before[TALENT_UID]["SEQUENCE"], after[TALENT_UID]["SEQUENCE"]) == (0, 1)
    assert after[TALENT_UID].decoded("DTEND") == dt.date(2026, 12, 29)
    assert after[TALENT_UID]["STATUS"] == "CONFIRMED"
    assert after[TALENT_UID].decoded("LAST-MODIFIED") > before[TALENT_UID].decoded("LAST-MODIFIED")
    parse_everywhere(second, tmp_path)


def test_rotating_a_token(served: tuple[TestClient, Store]) -> None:
    """Rotation: the old URL 404s like an unknown token, the new one works; revoking ends it."""
    client, store = served
    old = token_for(store, "hightech-electronics")
    assert len(old) >= 32  # 192 random bits
    assert client.get(f"/feeds/e/{old}.ics").status_code == 200
    enterprise = store.tokens.enterprise_for_token(old)
    assert enterprise is not None
    new = store.tokens.issue_token(enterprise, now=NOW)
    gone, unknown = client.get(f"/feeds/e/{old}.ics"), client.get("/feeds/e/not-a-token.ics")
    assert (
        (gone.status_code, gone.text)
        == (unknown.status_code, unknown.text)
        == (404, "没有这个日历（链接可能已更换或停用）")
    )
    assert client.get(f"/feeds/e/{new}.ics").status_code == 200
    store.tokens.revoke_tokens(enterprise, now=NOW)
    assert client.get(f"/feeds/e/{new}.ics").status_code == 404


def test_conditional_get_and_gzip(served: tuple[TestClient, Store]) -> None:
    """ETag and Last-Modified give 304; gzip is served when asked."""
    client, _ = served
    full = client.get("/feeds/all.ics")
    etag, modified = full.headers["etag"], full.headers["last-modified"]
    assert client.get("/feeds/all.ics", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/all.ics", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/feeds/all.ics", headers={"If-None-Match": '"other"'}).status_code == 200
    # "-0000" (a zone-less date) is read as UTC; dates that cannot be read give the feed.
    unzoned = modified.replace("GMT", "-0000")
    assert client.get("/feeds/all.ics", headers={"If-Modified-Since": unzoned}).status_code == 304
    for odd in ("Sun, 22 Nov 99999 02:05:00 GMT", "Sun, 32 Nov 2026 02:05:00 GMT", "yesterday"):
        assert client.get("/feeds/all.ics", headers={"If-Modified-Since": odd}).status_code == 200
    zipped = client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == full.content  # the client unzipped it


def test_category_feed_and_unknown_category(
    served: tuple[TestClient, Store], tmp_path: Path
) -> None:
    """A category feed holds only that category; an unknown one is a 404 naming the valid ones."""
    client, _ = served
    talent = client.get("/feeds/category/talent.ics")
    assert talent.status_code == 200
    uids = list(parse_everywhere(talent.content, tmp_path))
    assert TALENT_UID in uids
    assert all(uid.startswith("talent-living-allowance-masters-doctors-") for uid in uids)
    missing = client.get("/feeds/category/<script>nope.ics")
    assert missing.status_code == 404
    assert "talent" in missing.text
    assert "nope" not in missing.text  # the path is never echoed back
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    unknown = client.get("/feeds/e/<script>nope.ics")
    assert (unknown.status_code, unknown.headers["content-type"]) == (
        404,
        "text/plain; charset=utf-8",
    )
    assert "nope" not in unknown.text


def test_pages(served: tuple[TestClient, Store]) -> None:
    """The public page lists rounds, links and a webcal button; a policy page shows the policy."""
    client, _ = served
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/policies/talent-living-allowance-masters-doctors"' in page.text
    assert "webcal://huiqi.example.cn/feeds/all.ics" in page.text
    assert "<svg" in page.text
    filtered = client.get("/?category=talent")
    assert filtered.text.count('class="card"') < page.text.count('class="card"')
    policy = client.get("/policies/talent-living-allowance-masters-doctors")
    assert "申报截止时间为12月25日" in policy.text or "12月1日至12月25日" in policy.text
    assert client.get("/policies/nope").status_code == 404


def test_feed_unavailable_before_start_up() -> None:
    """Without a store (before start-up) feeds answer 503, not a traceback."""
    from bot._web import create_web_app

    client = TestClient(create_web_app(WORLD, today=lambda: NOW.date()))
    assert client.get("/feeds/all.ics").status_code == 503


def test_a_slow_store_never_holds_up_the_event_loop(
    served: tuple[TestClient, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a feed waits on the database, /healthz is still answered: the feed's store read
    runs in a worker thread, not on the event loop."""
    client, _ = served
    entered, release = threading.Event(), threading.Event()
    real = Rounds.current_rounds

    def slow(self: Rounds) -> list[StoredRound]:
        entered.set()
        release.wait(30)
        return real(self)

    monkeypatch.setattr(Rounds, "current_rounds", slow)
    answers: dict[str, int] = {}
    feed = threading.Thread(
        target=lambda: answers.update(feed=client.get("/feeds/all.ics").status_code)
    )
    feed.start()
    try:
        assert entered.wait(10)
        health = threading.Thread(
            target=lambda: answers.update(health=client.get("/healthz").status_code)
        )
        health.start()
        health.join(10)
        assert answers == {"health": 200}  # answered while the feed still waits
    finally:
        release.set()
        feed.join(30)
    assert answers == {"health": 200, "feed": 200}
