"""The web app: public calendar pages, iCalendar feeds, the catalog as JSON, health."""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import hashlib
import math
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import segno
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot._clock import now as clock_now
from bot._feeds import all_feed, category_feed, enterprise_feed
from bot._service import World, round_book
from bot._views import environment, policy_record
from schedulers import STATUSES, Catalog, Policy, RoundBook, Status, known_of, next_round, status
from subscriptions import ProfileError, parse_profile
from subscriptions.store import Store

CALENDAR = "text/calendar; charset=utf-8"
FEED_CACHE_SIZE = 512
GZIP_MINIMUM = 1000  # bytes: smaller bodies are sent as they are
# Dates a question may be asked about: rounds are computed a year either side, and the
# extremes of the calendar (0001-01-01, 9999-12-31) would overflow that arithmetic.
ON_RANGE = (dt.date(2000, 1, 1), dt.date(2099, 12, 31))


@dataclass(frozen=True)
class Built:
    """A feed's or page's bytes, plain and gzipped, with the validators of a conditional GET
    (each representation its own strong ETag)."""

    body: bytes
    etag: str
    last_modified: dt.datetime
    gzipped: bytes = b""
    gzip_etag: str = ""


class FeedCache:
    """Recently built feeds and pages, keyed by everything they depend on."""

    def __init__(self, size: int = FEED_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Built] = OrderedDict()
        self._lock = threading.Lock()  # feeds are served from Starlette's worker threads

    def peek(self, key: tuple[Any, ...]) -> Built | None:
        """The cached entry for `key`, if any (never builds)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def get(self, key: tuple[Any, ...], build: Callable[[], bytes], modified: dt.datetime) -> Built:
        """The cached feed for `key`, built on a miss (outside the lock: builds run side by
        side; two requests missing the same key at once both build it, and one is kept)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        body = build()
        digest = hashlib.sha256(body).hexdigest()[:32]
        packed = gzip.compress(body, compresslevel=6, mtime=0)  # the same bytes every build
        found = Built(body, f'"{digest}"', modified, packed, f'"{digest}-gz"')
        with self._lock:
            self._items[key] = found
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return found


def _http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(
        moment.astimezone(dt.UTC).replace(microsecond=0), usegmt=True
    )


def _accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding allows gzip (named, or `*`, with a q above 0)."""
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() not in ("gzip", "*"):
            continue
        q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            if float(q) > 0:
                return True
        except ValueError:
            continue
    return False


def conditional(
    request: Request,
    built: Built,
    *,
    private: bool,
    media_type: str = CALENDAR,
    max_age: int = 3600,
) -> Response:
    """200 with the feed or page (gzipped when the client takes it), or 304 when the client's
    copy is current. If-None-Match is compared weakly (a proxy may have weakened the tag)."""
    packed = bool(built.gzipped) and _accepts_gzip(request)
    etag = built.gzip_etag if packed else built.etag
    headers = {
        "ETag": etag,
        "Last-Modified": _http_date(built.last_modified),
        "Cache-Control": ("private" if private else "public")
        + (f", max-age={max_age}" if max_age else ", no-cache"),
        "Vary": "Accept-Encoding",
    }
    # A plain body large enough passes through GZipMiddleware, which adds Vary itself.
    plain_vary = {} if len(built.body) >= GZIP_MINIMUM else {"Vary": "Accept-Encoding"}
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {tag.strip().removeprefix("W/") for tag in inm.split(",")}
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers=headers)
    elif (ims := request.headers.get("if-modified-since")) is not None:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            since = None
        if since is not None and since.tzinfo is None:  # "-0000": UTC, as RFC 5322 reads it
            since = since.replace(tzinfo=dt.UTC)
        if since is not None and built.last_modified.replace(microsecond=0) <= since:
            return Response(status_code=304, headers=headers)
    if packed:
        headers["Content-Encoding"] = "gzip"
        return Response(built.gzipped, media_type=media_type, headers=headers)
    del headers["Vary"]
    return Response(built.body, media_type=media_type, headers=headers | plain_vary)


def qr_svg(text: str) -> str:
    """An inline SVG QR code of `text`."""
    return str(segno.make(text, error="m").svg_inline(scale=4, dark="#1f2937"))


def calendar_links(https: str, user_agent: str) -> dict[str, Any]:
    """Every way to subscribe to a feed from where the reader is: webcal (Apple), Google's
    add-by-URL, the plain link for Outlook and WeCom; inside WeChat's browser (where webcal://
    does nothing) the page says to open it in the system browser first."""
    webcal = "webcal://" + https.split("://", 1)[1]
    google = "https://calendar.google.com/calendar/r?cid=" + urllib.parse.quote(webcal, safe="")
    in_wechat, in_wecom = in_app_browser(user_agent)
    return {
        "https": https,
        "webcal": webcal,
        "google": google,
        "qr": qr_svg(https),
        "in_wechat": in_wechat,
        "in_wecom": in_wecom,
    }


def in_app_browser(user_agent: str) -> tuple[bool, bool]:
    """Whether the page is read inside WeChat's browser (WeCom's included), and WeCom's."""
    agent = user_agent.lower()
    return "micromessenger" in agent, "wxwork" in agent


def _industry_ok(policy: Policy, section: str) -> bool:
    """Whether a policy can concern an enterprise of this GB/T section (no limit counts as yes)."""
    limits = [c for c in policy.eligibility.conditions if c.kind == "industry"]
    return not limits or any(
        code.startswith(section) or section.startswith(code[:1])
        for c in limits
        for code in c.values
    )


def create_web_app(
    world: World | Catalog,
    *,
    today: Callable[[], dt.date],
    store: Callable[[], Store | None] = lambda: None,
    public_url: str | None = None,
    channels: Callable[[], dict[str, Any]] = dict,
    rounds_ttl: float = 1.0,
) -> Starlette:
    """The ASGI app; `store` gives the open store (None before start-up or in pure tests),
    `channels` each channel's state for /healthz. Pages and feeds are cached by the rounds'
    version: what this process writes counts at once, another process's writes (the command
    line) are seen within `rounds_ttl` seconds."""
    catalog = world.catalog if isinstance(world, World) else world
    full = world if isinstance(world, World) else None
    env = environment()
    cache = FeedCache()
    pages = FeedCache()
    categories = {t.key: t.name for t in catalog.vocab.categories}
    levels = {t.key: t.name for t in catalog.vocab.levels}

    def day_of(request: Request) -> dt.date | Response:
        text = request.query_params.get("on")
        if text is None:
            return today()
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is None or not ON_RANGE[0] <= day <= ON_RANGE[1]:
            return JSONResponse(
                {
                    "error": f"on={text[:40]!r}: expected a date YYYY-MM-DD between "
                    f"{ON_RANGE[0].isoformat()} and {ON_RANGE[1].isoformat()}"
                },
                400,
            )
        return day

    def base(request: Request) -> str:
        return (public_url or str(request.base_url)).rstrip("/")

    def feed_links(request: Request, path: str) -> dict[str, Any]:
        return calendar_links(base(request) + path, request.headers.get("user-agent", ""))

    def store_or_503() -> tuple[Store, World] | Response:
        opened = store()
        if opened is None or full is None:
            return Response("服务正在启动，请稍后再试", status_code=503)
        return opened, full

    def built_at() -> dt.datetime:
        """Last-Modified of what is built now (kept with it while it is cached)."""
        return clock_now().replace(microsecond=0)

    def book() -> RoundBook | None:
        """The rounds as they stand, from the store (None before it is open: the catalog's)."""
        opened = store()
        return None if opened is None else round_book(opened)

    async def healthz(request: Request) -> Response:
        states = channels()
        down = sorted(name for name, state in states.items() if state.get("state") == "down")
        return JSONResponse(
            {
                "status": "degraded" if down else "ok",
                "policies": len(catalog.policies),
                "channels": states,
            }
        )

    # Pages, the API and the private feed are served from memory on the event loop; the store
    # is read, and what is missing built, in a worker thread.
    polled: dict[str, Any] = {"store": None, "stamp": 0, "at": -math.inf}
    polling = threading.Lock()

    def polled_lately(opened: Store) -> bool:
        with polling:
            return polled["store"] is opened and time.monotonic() - polled["at"] < rounds_ttl

    def version() -> tuple[int, int]:
        """The rounds' version: (this process's writes, the newest row in the store), the
        store polled at most every `rounds_ttl` seconds; (-1, -1) before it is open."""
        opened = store()
        if opened is None:
            return (-1, -1)
        if not polled_lately(opened):
            stamp = opened.rounds.stamp()
            with polling:
                polled.update(store=opened, stamp=stamp, at=time.monotonic())
        return (opened.rounds.writes, int(polled["stamp"]))

    async def current_version() -> tuple[int, int]:
        """`version`, reading the store in a worker thread only when it is due a poll."""
        opened = store()
        if opened is None or polled_lately(opened):
            return version()
        return await anyio.to_thread.run_sync(version)

    async def cached(found: FeedCache, key: tuple[Any, ...], build: Callable[[], bytes]) -> Built:
        """The entry for `key` from memory, or built (and kept) in a worker thread."""
        built = found.peek(key)
        if built is None:
            built = await anyio.to_thread.run_sync(lambda: found.get(key, build, built_at()))
        return built

    async def page(
        request: Request, key: tuple[Any, ...], build: Callable[[], bytes], media_type: str
    ) -> Response:
        """A page or API answer built once per everything it depends on (the rounds' version,
        the catalog, the day, the filters), with its ETags; browsers revalidate each time
        (no-cache), so a new round shows at once."""
        built = await cached(pages, (*key, await current_version(), catalog.digest), build)
        return conditional(request, built, private=False, media_type=media_type, max_age=0)

    async def api_policies(request: Request) -> Response:
        on = day_of(request)
        if isinstance(on, Response):
            return on

        def build() -> bytes:
            rounds = book()
            records = [policy_record(p, on=on, book=rounds) for p in catalog.policies]
            return bytes(JSONResponse(records).body)

        return await page(request, ("api", on), build, "application/json")

    def api_policy(request: Request) -> Response:
        on = day_of(request)
        if isinstance(on, Response):
            return on
        found = catalog.get(request.path_params["policy_id"])
        if found is None:
            return JSONResponse({"error": "no such policy"}, 404)
        return JSONResponse(policy_record(found, on=on, book=book()))

    # The feeds read the store and build calendars: plain functions, which Starlette runs in
    # its worker threads, so a slow database or a large feed never holds up the event loop.
    def feed_all(request: Request) -> Response:
        got = store_or_503()
        if isinstance(got, Response):
            return got
        opened, w = got
        on = today()
        key = ("all", version(), catalog.digest, on, base(request))
        built = cache.get(
            key,
            lambda: all_feed(w, opened.rounds.current_rounds(), on=on, base_url=base(request)),
            built_at(),
        )
        return conditional(request, built, private=False)

    def feed_category(request: Request) -> Response:
        category = request.path_params["category"]
        if category not in categories:
            # The path is not echoed back: only the categories that exist are named.
            return PlainTextResponse(f"没有这一类别；可用：{', '.join(categories)}", 404)
        got = store_or_503()
        if isinstance(got, Response):
            return got
        opened, w = got
        on = today()
        key = ("category", category, version(), catalog.digest, on, base(request))
        built = cache.get(
            key,
            lambda: category_feed(
                w, opened.rounds.current_rounds(), category, on=on, base_url=base(request)
            ),
            built_at(),
        )
        return conditional(request, built, private=False)

    async def feed_enterprise(request: Request) -> Response:
        got = store_or_503()
        if isinstance(got, Response):
            return got
        opened, w = got
        not_found = PlainTextResponse("没有这个日历（链接可能已更换或停用）", 404)
        # The link is checked against the store on every request: a rotated or revoked one
        # stops at once.
        owner = await anyio.to_thread.run_sync(
            opened.tokens.feed_owner, request.path_params["token"]
        )
        if owner is None:
            return not_found
        enterprise_id, name, updated = owner.id, owner.name, owner.updated_at
        try:
            profile = parse_profile(owner.profile, w.vocab)
        except ProfileError:
            return not_found
        on = today()
        current = await current_version()
        key = ("enterprise", enterprise_id, updated, current, catalog.digest, on, base(request))
        built = await cached(
            cache,
            key,
            lambda: enterprise_feed(
                w, opened.rounds.current_rounds(), name, profile, on=on, base_url=base(request)
            ),
        )
        return conditional(request, built, private=True)

    async def index(request: Request) -> Response:
        on = today()
        wanted_category = request.query_params.get("category") or None
        wanted_level = request.query_params.get("level") or None
        wanted_industry = (request.query_params.get("industry") or "").strip().upper()[:1] or None
        if wanted_category not in categories:
            wanted_category = None  # only the filters that exist make pages of their own
        if wanted_level not in levels:
            wanted_level = None
        if wanted_industry is not None and not ("A" <= wanted_industry <= "T"):
            wanted_industry = None  # GB/T 4754 sections are A to T
        path = f"/feeds/category/{wanted_category}.ics" if wanted_category else "/feeds/all.ics"
        # What the page's calendar links depend on (the QR code is drawn only to build it).
        where = (base(request) + path, *in_app_browser(request.headers.get("user-agent", "")))
        key = ("index", on, wanted_category, wanted_level, wanted_industry, where)
        return await page(
            request,
            key,
            lambda: _index_html(
                on, wanted_category, wanted_level, wanted_industry, feed_links(request, path)
            ),
            "text/html; charset=utf-8",
        )

    def _index_html(
        on: dt.date,
        wanted_category: str | None,
        wanted_level: str | None,
        wanted_industry: str | None,
        links: dict[str, Any],
    ) -> bytes:
        rounds = book()
        rows = []
        for policy in catalog.policies:
            if wanted_category and policy.category != wanted_category:
                continue
            if wanted_level and policy.level != wanted_level:
                continue
            if wanted_industry and not _industry_ok(policy, wanted_industry):
                continue
            known = known_of(rounds, policy.id)
            rows.append(
                (policy, status(policy, on=on, known=known), next_round(policy, on=on, known=known))
            )
        horizon = on + dt.timedelta(weeks=8)
        open_now = [r for r in rows if r[1] == Status.OPEN]
        soon = [
            r
            for r in rows
            if r[1] == Status.UPCOMING and r[2] is not None and r[2].first_day <= horizon
        ]
        later = [r for r in rows if r[1] == Status.UPCOMING and r not in soon]
        standing = [r for r in rows if r[1] == Status.CONTINUOUS]
        unknown = [r for r in rows if r[1] == Status.TBD]
        soon.sort(key=lambda r: (r[2].last_day if r[2] else dt.date.max, r[0].id))
        later.sort(key=lambda r: (r[2].last_day if r[2] else dt.date.max, r[0].id))
        html = env.get_template("web/index.html.j2").render(
            on=on,
            open_now=open_now,
            soon=soon,
            later=later,
            standing=standing,
            unknown=unknown,
            expired=sum(1 for r in rows if r[1] == "expired"),
            categories=categories,
            levels=levels,
            sections=(full.vocab.industries.sections if full else {}),
            wanted={
                "category": wanted_category,
                "level": wanted_level,
                "industry": wanted_industry,
            },
            # A category's page offers that category's calendar, not every policy's.
            feed=links,
            feed_name=categories.get(wanted_category or ""),
            statuses=STATUSES,
        )
        return html.encode("utf-8")

    def policy_page(request: Request) -> Response:
        policy = catalog.get(request.path_params["policy_id"])
        if policy is None:
            return HTMLResponse(env.get_template("web/not_found.html.j2").render(), 404)
        on = today()
        rounds = book()
        known = known_of(rounds, policy.id)
        html = env.get_template("web/policy.html.j2").render(
            p=policy,
            on=on,
            status=status(policy, on=on, known=known),
            next=next_round(policy, on=on, known=known),
            vocab=catalog.vocab,
            feed=feed_links(request, f"/feeds/category/{policy.category}.ics"),
            category_name=categories.get(policy.category, policy.category),
        )
        return HTMLResponse(html)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/policies/{policy_id}", policy_page),
            Route("/feeds/all.ics", feed_all),
            Route("/feeds/category/{category}.ics", feed_category),
            Route("/feeds/e/{token}.ics", feed_enterprise),
            Route("/healthz", healthz),
            Route("/api/policies", api_policies),
            Route("/api/policies/{policy_id}", api_policy),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM)],
    )
