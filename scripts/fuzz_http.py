"""Fuzz every HTTP route of `huiqi serve`'s app in-process; count the answers of 500 and above.

Usage: python scripts/fuzz_http.py [--requests N] [--seed S] [--show-all]

Builds the app as the tests do (`create_app` over a temporary SQLite store, the fixed test
clock, a recording console channel), twice: "full" with the Telegram webhook and the WeCom app
on (their APIs are the test fakes of tests/bot on 127.0.0.1, so nothing outside this machine
is contacted) and HUIQI_PUBLIC_URL set, and "bare" with no chat channel and no public URL (so
links and QR codes are built from the Host header). Both run their lifespan (store, planning,
scheduler) on one event loop in a thread and are driven through httpx.ASGITransport.

Hypothesis `@given` functions, run from main(), generate the requests: every route of the
app's route table (new routes are fuzzed automatically) with fuzzed path parameters, query
strings (?on=dates, filters, raw percent-escapes), headers (non-ASCII, conditional GET, Host)
and bodies (random bytes, XML, JSON, deep nesting, oversized); unknown paths; the Telegram
webhook with and without the right secret header; the WeCom callback's GET URL verification
and POST messages, signed and encrypted with wechatpy's WeChatCrypto exactly as WeCom does,
and with bad signatures, stale timestamps, the wrong corp id or key and malformed envelopes.

Prints the number of requests, per-phase and per-route counts with their status codes, every
answer >= 500 grouped by cause (method, path, body snippets, the exception and where it was
raised), what the app logged at ERROR while handling messages in the background, and wall
and CPU time. Exits 1 if any answer was >= 500 or a request did not finish in time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import email.utils
import json
import logging
import re
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_from_bytes, unquote, urlencode
from xml.sax.saxutils import escape

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot._app import create_app
from bot._commands import COMMAND_WORDS
from bot._limits import MAX_HEADER_BYTES
from bot._service import World
from bot._settings import Secret, Settings
from schedulers import SHANGHAI, RecordingChannel
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 22, 10, 5, tzinfo=SHANGHAI).astimezone(dt.UTC)
STAMP = int(NOW.timestamp())
# Test values, as in tests/bot/test_wecom.py and test_telegram_webhook.py; never printed.
WEBHOOK_SECRET = "fuzz-s3cret-token"  # noqa: S105 - a test value for a throwaway app
BOT_TOKEN = "123:FUZZ"  # noqa: S105 - the fake Bot API accepts any token
CORP, AGENT = "ww1234567890abcdef", "1000002"
TOKEN = "QDG6eK"  # noqa: S105 - WeCom's documented example token
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
OTHER_AES_KEY = "A" * 43
SECRETS = (WEBHOOK_SECRET, BOT_TOKEN, TOKEN, AES_KEY, "app-secret")
ADMINS = ("tg:100", "wecom:admin")
REQUEST_TIMEOUT = 60.0  # seconds one request may take before it counts as hung
BASE = "http://huiqi.test"

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# What the app knows: filled in main() before any strategy is drawn from.

KNOWN: dict[str, list[str]] = {"policy_id": [], "category": [], "level": [], "token": []}


def known(name: str) -> st.SearchStrategy[str]:
    """A value the app recognises for a path or query parameter called `name` (drawn lazily)."""
    return st.deferred(lambda: st.sampled_from(KNOWN[name]) if KNOWN[name] else st.just("x"))


# ---------------------------------------------------------------------------------------------
# Strategies: text, paths, queries, headers, bodies.

SPICY = [
    "",
    " ",
    ".",
    "..",
    "%",
    "%%",
    "%00",
    "%ff",
    "%fe%ff",
    "%2F",
    "%2e%2e",
    "%C0%AF",
    "%u202e",
    "\u202e",
    "\ufeff",
    "😀",
    "申报",
    "政策",
    "<script>alert(1)</script>",
    "'",
    '"',
    "\\",
    ";",
    "*",
    "~",
    "null",
    "-1",
    "0",
    "9" * 40,
    "a" * 300,
    "a" * 5000,
    ".ics",
    "x.ics",
]
SAFE_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#")
segment_text = st.one_of(
    st.text(max_size=40).map(lambda s: quote(s, safe="")),
    st.text(SAFE_CHARS, max_size=40).map(lambda s: s.replace("%", "%25")),
    st.binary(max_size=30).map(lambda b: quote_from_bytes(b, safe="")),
    st.sampled_from(SPICY).map(lambda s: s.replace("%u", "%25u")),
)


def param_value(name: str, convertor: str) -> st.SearchStrategy[str]:
    """A path parameter: a known value, a mutated one, or fuzz fitting the convertor."""
    fuzz: st.SearchStrategy[str] = segment_text
    if convertor == "int":
        fuzz = st.one_of(st.integers().map(str), segment_text)
    elif convertor == "path":
        fuzz = st.lists(segment_text, min_size=1, max_size=4).map("/".join)
    if name not in KNOWN:
        return fuzz
    good = known(name)
    mutated = st.tuples(good, segment_text, st.booleans()).map(
        lambda t: t[1] + t[0] if t[2] else t[0] + t[1]
    )
    cased = good.map(str.upper)
    return st.one_of(good, good, good, mutated, cased, fuzz)


DATE_WORDS = [
    "0001-01-01",
    "9999-12-31",
    "1999-12-31",
    "2000-01-01",
    "2099-12-31",
    "2100-01-01",
    "2026-02-29",
    "2028-02-29",
    "2026-13-01",
    "2026-00-10",
    "2026-11-31",
    "2026-11-22T10:00",
    "2026-11-22T10:00:00+08:00",
    "2026-11-22 ",
    " 2026-11-22",
    "20261122",
    "2026-W47",
    "2026-W47-7",
    "2026-W53-1",
    "2026-326",
    "２０２６-１１-２２",
    "٢٠٢٦-١١-٢٢",
    "2026-11-22\x00",
    "+2026-11-22",
    "-2026-11-22",
    "today",
    "",
    "null",
    "1e10",
    "9" * 400,
]
date_text = st.one_of(
    st.dates().map(dt.date.isoformat),
    st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)).map(dt.date.isoformat),
    st.sampled_from(DATE_WORDS),
    st.text(max_size=24),
)
QUERY_KEYS = [
    "on",
    "category",
    "level",
    "industry",
    "page",
    "q",
    "msg_signature",
    "timestamp",
    "nonce",
    "echostr",
    "token",
]


@st.composite
def query_pair(draw: st.DrawFn) -> str:
    """One `key=value`, encoded one of several ways."""
    key = draw(st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=12)))
    value = draw(
        st.one_of(
            date_text,
            known("category"),
            known("level"),
            st.sampled_from([*"ABCDEFGHIJKLMNOPQRSTcz", "", " c", "C39", "中"]),
            st.text(max_size=60),
        )
    )
    how = draw(st.integers(0, 3))
    if how == 0:
        return urlencode({key: value})
    if how == 1:
        return f"{quote(key, safe='')}={quote(value, safe='')}"
    if how == 2:  # raw bytes, escaped: invalid UTF-8 included
        raw = draw(st.binary(max_size=20))
        return f"{quote(key, safe='')}={quote_from_bytes(raw, safe='')}"
    # unescaped: httpx escapes what a URL cannot hold
    sep = draw(st.sampled_from(["=", "", "==", "=&", "=%"]))
    return url_raw(key) + sep + url_raw(value)


query_string = st.one_of(
    st.none(),
    st.lists(query_pair(), max_size=5).map("&".join),
    st.sampled_from(["", "?", "&&&", "on", "on=", "on&on", "%", "a=%zz", "a=" + "b" * 9000]),
)

HEADER_NAMES = [
    "accept",
    "accept-encoding",
    "accept-language",
    "content-type",
    "cookie",
    "if-none-match",
    "if-modified-since",
    "user-agent",
    "referer",
    "origin",
    "range",
    "authorization",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-telegram-bot-api-secret-token",
    "host",
]
DELETE = bytes([*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F])


def header_safe(value: bytes) -> bytes:
    """What an HTTP server would pass on: no control characters, no outer whitespace."""
    return value.translate(None, DELETE).strip(b" \t")


def http_dates() -> st.SearchStrategy[str]:
    """Dates as If-Modified-Since carries them, well and badly formed."""
    moments = st.datetimes(
        dt.datetime(1970, 1, 2),  # noqa: DTZ001 - a bound for generated times, zone added below
        dt.datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    )
    return st.one_of(
        moments.map(lambda m: email.utils.format_datetime(m, usegmt=True)),
        moments.map(lambda m: email.utils.format_datetime(m).replace("+0000", "-0000")),
        moments.map(lambda m: email.utils.format_datetime(m.astimezone(SHANGHAI))),
        moments.map(lambda m: m.strftime("%A, %d-%b-%y %H:%M:%S GMT")),
        moments.map(lambda m: m.strftime("%a %b %d %H:%M:%S %Y")),
        st.sampled_from(
            [
                "Sun, 22 Nov 2026 02:05:00 -0000",
                "Sun, 22 Nov 2026 02:05:00",
                "Sun, 22 Nov 2026 02:05:00 +9999",
                "Sun, 22 Nov 99999 02:05:00 GMT",
                "Sun, 32 Nov 2026 02:05:00 GMT",
                "Sun, 22 Nov 0000 25:61:61 GMT",
                "0",
                "",
                "yesterday",
                "Thu, 01 Jan 1970 00:00:00 GMT",
            ]
        ),
        st.text(max_size=40),
    )


ETAG_WORDS = ["*", '""', '"x"', 'W/"x"', "W/", ",", ", ,", '"', "*, *"]


@st.composite
def header_value(draw: st.DrawFn, name: bytes) -> bytes:
    """A header value for `name`: plausible for that header, or non-ASCII, or garbage."""
    choices: list[st.SearchStrategy[bytes]] = [
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.encode),
        st.text(max_size=40).map(lambda s: s.encode("utf-8")),
        st.text(st.characters(min_codepoint=0xA0, max_codepoint=0xFF), max_size=30).map(
            lambda s: s.encode("latin-1")
        ),
        st.binary(max_size=60),
    ]
    if name == b"if-modified-since":
        choices += [http_dates().map(lambda s: s.encode("utf-8"))] * 4
    elif name == b"if-none-match":
        choices += [st.sampled_from(ETAG_WORDS).map(str.encode)] * 2
    elif name == b"accept-encoding":
        choices += [st.sampled_from([b"gzip", b"gzip, deflate, br", b"*", b"identity;q=0"])] * 2
    elif name == b"content-type":
        choices.append(
            st.sampled_from(
                [
                    b"application/json",
                    b"application/json; charset=gbk",
                    b"text/xml; charset=utf-8",
                    b"application/x-www-form-urlencoded",
                    b"multipart/form-data; boundary=x",
                ]
            )
        )
    elif name in (b"host", b"x-forwarded-host"):
        choices += [
            st.sampled_from(
                [b"huiqi.test", b"[", b"[::1]:80", b"a b", b"host:99999", b"host:-1", b":", b"@"]
            ),
            st.integers(1, 4000).map(lambda n: b"h" * n),
            st.text(SAFE_CHARS, max_size=40).map(lambda s: s.encode("utf-8")),
        ]
    else:
        choices.append(st.integers(100, 8000).map(lambda n: b"v" * n))
    return header_safe(draw(st.one_of(choices)))


header_name = st.one_of(
    st.sampled_from(HEADER_NAMES),
    st.from_regex(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}", fullmatch=True),
).map(lambda s: s.lower().encode("ascii"))


@st.composite
def headers(draw: st.DrawFn, max_size: int = 6) -> list[tuple[bytes, bytes]]:
    """A list of header lines (names may repeat)."""
    names = draw(st.lists(header_name, max_size=max_size))
    return [
        (n, draw(header_value(n)))
        for n in names
        if n not in (b"content-length", b"transfer-encoding")  # httpx frames the body
    ]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
WECOM_TAGS = [
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Content",
    "MsgId",
    "AgentID",
    "Encrypt",
    "Event",
    "EventKey",
    "MediaId",
    "PicUrl",
    "xml",
]
XML_SPECIALS = [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
    '&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;'
    '&c;&c;&c;&c;&c;&c;">]><xml><Encrypt>&d;</Encrypt></xml>',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><Encrypt>&e;</Encrypt></xml>",
    '<?xml version="1.0" encoding="UTF-16"?><xml/>',
    "\ufeff<xml><Encrypt>x</Encrypt></xml>",
    "<xml><Encrypt><![CDATA[a]]]]><![CDATA[>]]></Encrypt></xml>",
    "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
    "<xml><Encrypt><Encrypt>a</Encrypt></Encrypt></xml>",
    "<xml><Encrypt/></xml>",
    "<xml></xml>",
    "<xml>",
    "<a/><b/>",
    "<xml xmlns:x='u'><x:Encrypt>a</x:Encrypt></xml>",
]


@st.composite
def xml_element(draw: st.DrawFn, depth: int = 0) -> str:
    """A random XML element using WeCom's field names, sometimes malformed."""
    tag = draw(st.one_of(st.sampled_from(WECOM_TAGS), st.from_regex(r"[A-Za-z_][\w.-]{0,10}")))
    kind = draw(st.integers(0, 4 if depth < 3 else 2))
    text = draw(st.text(max_size=40))
    if kind == 0:
        inner = escape(text)
    elif kind == 1:
        inner = f"<![CDATA[{text}]]>"
    elif kind == 2:
        inner = text  # unescaped: may break the document
    else:
        inner = "".join(draw(st.lists(xml_element(depth + 1), max_size=4)))
    return f"<{tag}>{inner}</{tag}>"


xml_docs = st.one_of(
    st.lists(xml_element(), max_size=6).map(lambda xs: "<xml>" + "".join(xs) + "</xml>"),
    xml_element(),
    st.sampled_from(XML_SPECIALS),
)
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=600),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
    st.tuples(json_values, st.booleans()).map(
        lambda t: json.dumps(t[0], ensure_ascii=t[1]).encode("utf-8")
    ),
    xml_docs.map(lambda s: s.encode("utf-8")),
    st.tuples(st.sampled_from(["[", '{"a":', "<a>"]), st.integers(1000, 200_000)).map(
        lambda t: (t[0] * t[1]).encode()
    ),  # deep nesting
    st.tuples(st.binary(min_size=1, max_size=16), st.integers(100_000, 2_000_000)).map(
        lambda t: (t[0] * (t[1] // len(t[0])))[: t[1]]
    ),  # oversized
)
OTHER_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]
methods_for_body = st.sampled_from(OTHER_METHODS)


# ---------------------------------------------------------------------------------------------
# The route table.


@dataclass(frozen=True)
class RouteInfo:
    """One HTTP route: its template, parameters and methods."""

    template: str
    params: tuple[tuple[str, str], ...]  # (name, convertor)
    methods: tuple[str, ...]
    regex: re.Pattern[str]


CONVERTORS = {"StringConvertor": "str", "PathConvertor": "path", "IntegerConvertor": "int"}


def route_table(routes: list[BaseRoute], prefix: str = "") -> list[RouteInfo]:
    """Every HTTP route, Mounts followed, from the app's own route table."""
    found: list[RouteInfo] = []
    for route in routes:
        if isinstance(route, Route):
            params = tuple(
                (name, CONVERTORS.get(type(conv).__name__, "str"))
                for name, conv in route.param_convertors.items()
            )
            regex = re.compile("^" + re.escape(prefix) + route.path_regex.pattern.lstrip("^"))
            methods = tuple(sorted(route.methods or OTHER_METHODS))
            found.append(RouteInfo(prefix + route.path_format, params, methods, regex))
        elif isinstance(route, Mount):
            found += route_table(list(route.routes), prefix + route.path)
    return found


@st.composite
def route_path(draw: st.DrawFn, info: RouteInfo) -> str:
    """The route's template with its parameters filled in."""
    path = info.template
    for name, convertor in info.params:
        path = path.replace("{" + name + "}", draw(param_value(name, convertor)), 1)
    return path


# ---------------------------------------------------------------------------------------------
# Requests and their results.


@dataclass
class Req:
    """One HTTP request to make."""

    app: str  # "full" or "bare"
    method: str
    path: str  # percent-encoded
    query: str | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class Failure:
    """An answer >= 500, or an exception raised through the transport."""

    phase: str
    app: str
    route: str
    method: str
    path: str
    request_body: str
    status: int
    response_body: str
    cause: str
    where: str


def redact(text: str) -> str:
    """Text with every test secret replaced."""
    for secret in SECRETS:
        text = text.replace(secret, "***")
    return text


def snippet(data: bytes | str, size: int = 80) -> str:
    """A short printable excerpt."""
    text = data if isinstance(data, str) else data[:size].decode("utf-8", "backslashreplace")
    text = text[:size] + (f"…(+{len(data) - size})" if len(data) > size else "")
    return redact(repr(text))


def cause_of(exc: BaseException) -> tuple[str, str]:
    """The exception in a line, and the innermost frame in the project's own code."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if str(ROOT) in f.filename and ".venv" not in f.filename]
    frame = (ours or frames)[-1] if frames else None
    where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else "?"
    if ours and frames and frames[-1] is not ours[-1]:
        last = frames[-1]
        where += f" -> {Path(last.filename).name}:{last.lineno} in {last.name}"
    return redact(f"{type(exc).__name__}: {str(exc)[:160]}"), where


class LogTally(logging.Handler):
    """Counts what the app logs at WARNING and above; keeps the causes of ERRORs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.errors: collections.Counter[tuple[str, str, str]] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        text = re.sub(r"[0-9a-f]{16,}|\d+", "N", redact(record.getMessage()))
        self.counts[(record.levelname, record.name, text[:80])] += 1
        if record.levelno >= logging.ERROR:
            cause, where = ("-", "-")
            if record.exc_info and record.exc_info[1] is not None:
                cause, where = cause_of(record.exc_info[1])
            self.errors[(redact(record.getMessage())[:90], cause, where)] += 1


class Loop:
    """An asyncio loop in a thread, as a server would run the app."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop; wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


class Lifespan:
    """The ASGI lifespan protocol, as uvicorn speaks it."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: Any) -> None:
        await self.from_app.put(message)

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self._send))
        await self.to_app.put({"type": "lifespan.startup"})
        answer = await self.from_app.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"start-up failed: {answer.get('message')}")

    async def shutdown(self) -> None:
        await self.to_app.put({"type": "lifespan.shutdown"})
        await self.from_app.get()
        if self.task is not None:
            await self.task


class Fuzzer:
    """Sends requests to the running apps and keeps the tally."""

    def __init__(self, loop: Loop, apps: dict[str, Starlette]) -> None:
        self.loop = loop
        self.apps = apps
        self.clients = {
            name: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 40000)),
                base_url=BASE,
                timeout=REQUEST_TIMEOUT,
            )
            for name, app in apps.items()
        }
        self.routes = route_table(list(apps["full"].routes))
        self.total = 0
        self.unsendable = 0
        self.too_big = 0
        self.by_phase: collections.Counter[str] = collections.Counter()
        self.by_route: dict[str, collections.Counter[int]] = collections.defaultdict(
            collections.Counter
        )
        self.phase_status: dict[str, collections.Counter[int]] = collections.defaultdict(
            collections.Counter
        )
        self.failures: list[Failure] = []
        self.hung: list[str] = []
        self.etags: list[str] = []
        self.msg_ids = 10_000
        self.last_msg_id = 10_000
        self.phase = ""

    def label(self, path: str) -> str:
        """The route template the path is routed to, or <unknown>."""
        decoded = unquote(path.split("?", 1)[0])
        for info in self.routes:
            if info.regex.match(decoded):
                return info.template
        return "<unknown>"

    def send(self, req: Req) -> int | None:
        """Make one request; record its status; None if httpx refused to build it."""
        url = req.path + ("" if req.query is None else "?" + req.query)
        try:
            request = self.clients[req.app].build_request(
                req.method, url, headers=req.headers, content=req.body
            )
        except (httpx.InvalidURL, ValueError, UnicodeError):
            self.unsendable += 1
            return None
        head = len(request.method) + len(request.url.raw_path) + 12
        head += sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
        if head > MAX_HEADER_BYTES:  # uvicorn's h11 refuses it before the app sees it
            self.too_big += 1
            return None
        label = self.label(request.url.raw_path.decode("ascii", "replace"))
        self.total += 1
        self.by_phase[self.phase] += 1
        status, body, cause, where = 0, b"", "", ""
        try:
            response = self.loop.call(
                asyncio.wait_for(self.clients[req.app].send(request), REQUEST_TIMEOUT)
            )
            status, body = response.status_code, response.content
            etag = response.headers.get("etag")
            if etag and etag not in self.etags and len(self.etags) < 64:
                self.etags.append(etag)
        except TimeoutError:
            self.hung.append(f"{req.method} {snippet(url, 120)}")
            status = -1
        except Exception as exc:  # an exception from the app, raised through the transport
            status = 500
            cause, where = cause_of(exc)
        self.by_route[label][status] += 1
        self.phase_status[self.phase][status] += 1
        if status >= 500:
            self.failures.append(
                Failure(
                    self.phase,
                    req.app,
                    label,
                    req.method,
                    snippet(url, 120),
                    snippet(req.body),
                    status,
                    snippet(body),
                    cause or f"HTTP {status} answered by the app",
                    where,
                )
            )
        return status

    def close(self) -> None:
        for client in self.clients.values():
            self.loop.call(client.aclose())


# ---------------------------------------------------------------------------------------------
# Phases: each is a strategy for a request description and a function that sends it.


@st.composite
def any_route(draw: st.DrawFn, fuzzer: Fuzzer) -> Req:
    """Any route of the table, any method, fuzzed path, query, headers and body."""
    info = draw(st.sampled_from(fuzzer.routes))
    method = draw(st.sampled_from(info.methods) if draw(st.integers(0, 3)) else methods_for_body)
    return Req(
        draw(st.sampled_from(["full", "full", "bare"])),
        method,
        draw(route_path(info)),
        draw(query_string),
        draw(headers()),
        draw(st.one_of(st.just(b""), bodies)) if method != "HEAD" else b"",
    )


@st.composite
def unknown_path(draw: st.DrawFn, fuzzer: Fuzzer) -> Req:
    """Paths that are not (or are nearly) routes."""
    prefixes = sorted({i.template.split("{")[0] for i in fuzzer.routes})
    path = draw(
        st.one_of(
            st.lists(segment_text, max_size=6).map(lambda s: "/" + "/".join(s)),
            st.tuples(st.sampled_from(prefixes), segment_text).map("".join),
            st.sampled_from(prefixes).map(lambda p: p.rstrip("/") + "/"),
            st.sampled_from(prefixes).map(str.upper),
            st.sampled_from(
                [
                    "/favicon.ico",
                    "/robots.txt",
                    "/.env",
                    "/.git/config",
                    "/admin",
                    "//",
                    "///healthz",
                    "/%2e%2e/%2e%2e/etc/passwd",
                    "/..%2f..%2fetc%2fpasswd",
                    "/static/../../etc/passwd",
                    "/" + "a" * 10_000,
                    "/feeds/e/.ics",
                    "/feeds/category/.ics",
                    "/api/policies//",
                    "/policies/",
                ]
            ),
        )
    )
    return Req(
        draw(st.sampled_from(["full", "bare"])),
        draw(methods_for_body),
        path,
        draw(query_string),
        draw(headers(3)),
        draw(st.one_of(st.just(b""), bodies)),
    )


@st.composite
def conditional_get(draw: st.DrawFn, fuzzer: Fuzzer) -> tuple[Req, int | None]:
    """A feed with If-None-Match / If-Modified-Since; the int picks an ETag seen before."""
    feeds = [i for i in fuzzer.routes if i.template.endswith(".ics")] or fuzzer.routes
    info = draw(st.sampled_from(feeds))
    lines: list[tuple[bytes, bytes]] = []
    if draw(st.booleans()):
        lines.append((b"if-modified-since", draw(header_value(b"if-modified-since"))))
    if draw(st.booleans()):
        lines.append((b"if-none-match", draw(header_value(b"if-none-match"))))
    lines += draw(headers(2))
    seen = draw(st.none() | st.integers(0, 63))
    req = Req(draw(st.sampled_from(["full", "bare"])), "GET", draw(route_path(info)), None, lines)
    return req, seen


def send_conditional(fuzzer: Fuzzer, spec: tuple[Req, int | None]) -> None:
    req, seen = spec
    if seen is not None and fuzzer.etags:
        etag = fuzzer.etags[seen % len(fuzzer.etags)].encode()
        req.headers.append((b"if-none-match", etag if seen % 3 else b"W/" + etag + b", x"))
    fuzzer.send(req)


COMMAND_TEXTS = [
    *(w for words in COMMAND_WORDS.values() for w in words),
    *("/" + words[0] for words in COMMAND_WORDS.values()),
    "注册 名称=鄂州某光电科技有限公司 行业=C39 人数=180 营收=12000 "
    "资质=高新技术企业 区域=葛店经开区",
    "/register 行业=C39 人数=180 营收=12000",
    "/policy talent-living-allowance-masters-doctors",
    "政策 talent-living-allowance-masters-doctors",
    "可申报 2",
    "可申报 999999999999",
    "日历 更换",
    "提醒 7 1",
    "订阅 talent",
    "公告 测试公告",
    "/announce 测试",
    "/start abc",
]
chat_text = st.one_of(
    st.sampled_from(COMMAND_TEXTS),
    st.tuples(st.sampled_from(COMMAND_TEXTS), st.text(max_size=30)).map(" ".join),
    st.text(max_size=80),
    st.integers(1000, 6000).map(lambda n: "近期 " + "字" * n),
)


@st.composite
def telegram_update(draw: st.DrawFn) -> Any:
    """An Update as Telegram sends it, or something near it."""
    chat_id = draw(st.one_of(st.sampled_from([100, 101, 102, -1001, -200]), st.integers()))
    user: dict[str, Any] = {"is_bot": False}
    user["id"] = draw(st.sampled_from([100, 101, 7]) | st.integers(1, 2**40))
    user["first_name"] = draw(st.text(max_size=10))
    chat_type = "private" if chat_id > 0 else draw(st.sampled_from(["group", "supergroup"]))
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 2**31)),
        "date": draw(st.integers(0, 2**32)),
        "chat": {"id": chat_id, "type": chat_type},
        "from": user,
        "text": draw(chat_text),
    }
    kind = draw(st.integers(0, 5))
    update: dict[str, Any] = {"update_id": draw(st.integers(0, 2**31))}
    if kind <= 2:
        update["message"] = message
    elif kind == 3:
        update["edited_message"] = {**message, "edit_date": message["date"]}
    elif kind == 4:
        update["callback_query"] = {
            "id": draw(st.text(max_size=8)),
            "from": user,
            "chat_instance": "c",
            "data": draw(st.one_of(st.text(max_size=64), st.sampled_from(COMMAND_TEXTS))),
            "message": message,
        }
    else:  # a valid update with fields damaged or removed
        update["message"] = message
        for _ in range(draw(st.integers(1, 3))):
            chat = message.get("chat")
            places = [d for d in (update, message, chat, user) if isinstance(d, dict) and d]
            where = draw(st.sampled_from(places))  # the damage so far may have removed some
            key = draw(st.sampled_from(sorted(where)))
            if draw(st.booleans()):
                del where[key]
            else:
                where[key] = draw(json_values)
    return update


@st.composite
def telegram(draw: st.DrawFn) -> Req:
    """The Telegram webhook: right, wrong, missing or non-ASCII secret; updates and junk."""
    mode = draw(
        st.sampled_from(["right"] * 6 + ["none", "wrong", "prefix", "longer", "nonascii", "two"])
    )
    name = draw(
        st.sampled_from([b"x-telegram-bot-api-secret-token", b"X-Telegram-Bot-Api-Secret-Token"])
    )
    secret = WEBHOOK_SECRET.encode()
    lines = {
        "right": [(name, secret)],
        "none": [],
        "wrong": [(name, draw(header_value(name)))],
        "prefix": [(name, secret[:-1])],
        "longer": [(name, secret + b"x")],
        "nonascii": [
            (name, secret[:-3] + "tökén".encode(draw(st.sampled_from(["latin-1", "utf-8"]))))
        ],
        "two": [(name, b"wrong"), (name, secret)],
    }[mode]
    lines += draw(headers(2))
    body = draw(
        st.one_of(
            telegram_update().map(lambda u: json.dumps(u, ensure_ascii=False).encode()),
            telegram_update().map(lambda u: json.dumps(u, ensure_ascii=False).encode()),
            telegram_update().map(lambda u: json.dumps(u).encode()),
            bodies,
        )
    )
    method = draw(st.sampled_from(["POST"] * 9 + ["GET", "PUT"]))
    return Req(
        draw(st.sampled_from(["full"] * 5 + ["bare"])),
        method,
        "/telegram/webhook",
        None,
        lines,
        body,
    )


wecom_nonce = st.one_of(st.integers(0, 2**32).map(str), st.text(max_size=16))
wecom_ts = st.one_of(
    st.integers(-290, 290).map(lambda d: str(STAMP + d)),
    st.integers(-290, 290).map(lambda d: str(STAMP + d)),
    st.integers(301, 10**9).map(lambda d: str(STAMP - d)),
    st.integers(301, 10**9).map(lambda d: str(STAMP + d)),
    st.sampled_from(["", "-1", "0", "9" * 30, "1e9", "1795000000.5", " 1795000000", "１７９５"]),
    st.text(max_size=12),
)
SIG_MODES = ["valid"] * 6 + ["tampered", "upper", "empty", "missing", "random", "other-nonce"]


def encrypted(plain: str, corp: str = CORP, key: str = AES_KEY) -> str:
    """The Encrypt value of a WeCom message, as wechatpy's WeChatCrypto writes it."""
    xml = WeChatCrypto(TOKEN, key, corp).encrypt_message(plain, "n", str(STAMP))
    found = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", xml)
    assert found is not None
    return found.group(1)


def signed(encrypt: str, timestamp: str, nonce: str) -> str:
    """The msg_signature WeCom computes (and the app checks): sha1 of the sorted four."""
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce, encrypt)
    return str(signer.signature)


def signature_for(mode: str, encrypt: str, timestamp: str, nonce: str, junk: str) -> str | None:
    """A msg_signature in one of SIG_MODES (None: leave the parameter out)."""
    good = signed(encrypt, timestamp, nonce)
    return {
        "valid": good,
        "tampered": good[:-1] + ("0" if good[-1] != "0" else "1"),
        "upper": good.upper(),
        "empty": "",
        "missing": None,
        "random": junk,
        "other-nonce": signed(encrypt, timestamp, nonce + "x"),
    }[mode]


def url_raw(text: str) -> str:
    """Text for a URL as typed: only what no URL can hold (controls, #, &) is escaped."""
    return "".join(
        quote(c, safe="") if c in "#&+%" or unicodedata.category(c) == "Cc" else c for c in text
    )


def wecom_query(params: dict[str, str | None], extra: list[tuple[str, str]], raw: bool) -> str:
    """The query string, with parameters left out, repeated or unescaped."""
    pairs = [(k, v) for k, v in params.items() if v is not None] + extra
    if raw:
        return "&".join(f"{url_raw(k)}={url_raw(v)}" for k, v in pairs)
    return urlencode(pairs)


WECOM_GOOD = {
    "app": "full",
    "echo": "good",
    "cipher": "good",
    "envelope": "normal",
    "sig": "valid",
    "ts": "fresh",
}
WECOM_BAD = {
    "echo": ["wrong-corp", "wrong-key", "garbage", "truncated"],
    "cipher": ["wrong-corp", "wrong-key", "garbage", "truncated"],
    "envelope": [
        "no-encrypt",
        "two-encrypt",
        "nested",
        "trailing",
        "bom",
        "json",
        "random",
        "not-utf8",
        "empty",
        "spaced",
        "plain-encrypt",
    ],
    "sig": ["tampered", "upper", "empty", "missing", "random", "other-nonce"],
    "ts": ["other"],
}


@st.composite
def damaged(draw: st.DrawFn, aspects: tuple[str, ...]) -> dict[str, str]:
    """Each aspect good, or (in about half the requests) one or two of them damaged."""
    broken = draw(
        st.one_of(
            st.just(frozenset[str]()),
            st.frozensets(st.sampled_from(aspects), min_size=1, max_size=2),
        )
    )
    return {
        a: draw(st.sampled_from(WECOM_BAD[a])) if a in broken else WECOM_GOOD[a] for a in aspects
    }


wecom_fresh_ts = st.integers(-290, 290).map(lambda d: str(STAMP + d))


@st.composite
def wecom_get(draw: st.DrawFn) -> dict[str, Any]:
    """WeCom's URL verification: echostr signed and encrypted, or not quite."""
    modes = draw(damaged(("echo", "sig")))
    return {
        **modes,
        "app": draw(st.sampled_from(["full"] * 9 + ["bare"])),
        "method": draw(st.sampled_from(["GET"] * 12 + ["HEAD", "PUT"])),
        "plain": draw(st.one_of(st.integers(0, 2**64).map(str), st.text(max_size=60))),
        "garbage": draw(st.one_of(st.text(max_size=60), st.binary(max_size=40).map(bytes.hex))),
        "junk": draw(st.text(max_size=42)),
        "ts": draw(st.one_of(wecom_fresh_ts, wecom_ts)),
        "nonce": draw(wecom_nonce),
        "extra": draw(
            st.lists(st.tuples(st.sampled_from(QUERY_KEYS), st.text(max_size=20)), max_size=2)
        ),
        "raw": draw(st.booleans()),
        "headers": draw(headers(2)),
    }


def send_wecom_get(fuzzer: Fuzzer, spec: dict[str, Any]) -> None:
    plain = spec["plain"]
    makers: dict[str, Callable[[], str]] = {
        "good": lambda: encrypted(plain),
        "wrong-corp": lambda: encrypted(plain, corp="wwOTHERCORP"),
        "wrong-key": lambda: encrypted(plain, key=OTHER_AES_KEY),
        "garbage": lambda: spec["garbage"],
        "truncated": lambda: encrypted(plain)[:-7],
    }
    echo = makers[spec["echo"]]()
    ts, nonce = spec["ts"], spec["nonce"]
    params = {
        "msg_signature": signature_for(spec["sig"], echo, ts, nonce, spec["junk"]),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": echo,
    }
    query = wecom_query(params, spec["extra"], spec["raw"])
    fuzzer.send(Req(spec["app"], spec["method"], "/wecom/callback", query, spec["headers"]))


def xml_text(size: int) -> st.SearchStrategy[str]:
    """Text XML can carry: no control characters but newline and tab."""
    chars = st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t")
    return st.text(chars, max_size=size)


xml_chat_text = st.one_of(
    st.sampled_from(COMMAND_TEXTS),
    st.tuples(st.sampled_from(COMMAND_TEXTS), xml_text(30)).map(" ".join),
    xml_text(80),
)


@st.composite
def wecom_inner(draw: st.DrawFn) -> dict[str, Any]:
    """The plain message inside the envelope (the MsgId is settled when it is sent)."""
    return {
        "kind": draw(
            st.sampled_from(["text"] * 5 + ["event", "image", "voice", "odd", "xml", "plain"])
        ),
        "user": draw(
            st.one_of(
                st.sampled_from(["zhangsan", "lisi", "admin", "ADMIN", ""]), xml_text(20), st.text()
            )
        ),
        "content": draw(st.one_of(xml_chat_text, xml_chat_text, xml_chat_text, chat_text)),
        "cdata": draw(st.booleans()),
        "event": draw(
            st.one_of(
                st.sampled_from(["subscribe", "unsubscribe", "enter_agent", "LOCATION", "click"]),
                xml_text(12),
            )
        ),
        "msg_id": draw(
            st.sampled_from(
                ["fresh"] * 6 + ["replay", "absent", "text", "huge", "negative", "nested", "empty"]
            )
        ),
        "msg_id_text": draw(st.text(max_size=12)),
        "create": draw(st.one_of(st.just(str(STAMP)), st.just(str(STAMP)), xml_text(12))),
        "xml": draw(xml_docs),
        "text": draw(st.text(max_size=100)),
    }


@st.composite
def wecom_post(draw: st.DrawFn) -> dict[str, Any]:
    """A member's message: encrypted and signed as WeCom does, or damaged somewhere."""
    modes = draw(damaged(("cipher", "envelope", "sig", "ts")))
    return {
        **modes,
        "app": draw(st.sampled_from(["full"] * 9 + ["bare"])),
        "method": draw(st.sampled_from(["POST"] * 12 + ["PUT", "HEAD"])),
        "inner": draw(wecom_inner()),
        "garbage": draw(st.text(max_size=80)),
        "random_body": draw(bodies),
        "junk": draw(st.text(max_size=42)),
        "ts": draw(wecom_fresh_ts) if modes["ts"] == "fresh" else draw(wecom_ts),
        "nonce": draw(wecom_nonce),
        "extra": draw(
            st.lists(st.tuples(st.sampled_from(QUERY_KEYS), st.text(max_size=20)), max_size=2)
        ),
        "raw": draw(st.booleans()),
        "headers": draw(headers(2)),
    }


def inner_xml(fuzzer: Fuzzer, spec: dict[str, Any]) -> str:
    """The plain XML of the message, with a MsgId as the spec asks."""
    kind = spec["kind"]
    if kind == "xml":
        return str(spec["xml"])
    if kind == "plain":
        return str(spec["text"])

    def field_(tag: str, value: str) -> str:
        text = f"<![CDATA[{value}]]>" if spec["cdata"] else escape(value)
        return f"<{tag}>{text}</{tag}>"

    mode = spec["msg_id"]
    if mode in ("fresh", "absent"):
        fuzzer.msg_ids += 1
        fuzzer.last_msg_id = fuzzer.msg_ids
    msg_id = {
        "fresh": str(fuzzer.last_msg_id),
        "replay": str(fuzzer.last_msg_id),
        "text": spec["msg_id_text"],
        "huge": "9" * 40,
        "negative": "-5",
        "nested": "<a>1</a>",
        "empty": "",
    }.get(mode)
    parts = [field_("ToUserName", CORP), field_("FromUserName", spec["user"])]
    parts.append(f"<CreateTime>{escape(spec['create'])}</CreateTime>")
    msg_type = {"text": "text", "event": "event", "image": "image", "voice": "voice"}.get(
        kind, "odd"
    )
    parts.append(field_("MsgType", msg_type))
    if kind == "text":
        parts.append(field_("Content", spec["content"]))
    if kind == "event":
        parts.append(field_("Event", spec["event"]))
    if kind in ("image", "voice"):
        parts.append(field_("MediaId", "m1") + field_("PicUrl", "http://127.0.0.1/x.png"))
    if msg_id is not None and kind != "event":
        parts.append(f"<MsgId>{msg_id if mode == 'nested' else escape(msg_id)}</MsgId>")
    parts.append(f"<AgentID>{AGENT}</AgentID>")
    return "<xml>" + "".join(parts) + "</xml>"


def send_wecom_post(fuzzer: Fuzzer, spec: dict[str, Any]) -> None:
    plain = inner_xml(fuzzer, spec["inner"])
    makers: dict[str, Callable[[], str]] = {
        "good": lambda: encrypted(plain),
        "wrong-corp": lambda: encrypted(plain, corp="wwOTHERCORP"),
        "wrong-key": lambda: encrypted(plain, key=OTHER_AES_KEY),
        "garbage": lambda: spec["garbage"],
        "truncated": lambda: encrypted(plain)[:-9],
    }
    cipher = makers[spec["cipher"]]()
    cdata = f"<Encrypt><![CDATA[{cipher}]]></Encrypt>"
    head = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
    tail = f"<AgentID><![CDATA[{AGENT}]]></AgentID></xml>"
    body = {
        "normal": head + cdata + tail,
        "no-encrypt": head + tail,
        "two-encrypt": head + cdata + cdata + tail,
        "nested": head + f"<Encrypt>{cdata}</Encrypt>" + tail,
        "trailing": head + cdata + tail + "<junk>",
        "bom": "\ufeff" + head + cdata + tail,
        "json": json.dumps({"Encrypt": cipher}),
        "empty": "",
        "spaced": head + f"<Encrypt>\n  <![CDATA[{cipher}]]>\n</Encrypt>" + tail,
        "plain-encrypt": head + f"<Encrypt>{cipher}</Encrypt>" + tail,
    }.get(spec["envelope"])
    data = spec["random_body"] if body is None else body.encode("utf-8")
    if spec["envelope"] == "not-utf8":
        data = (head + cdata + tail).encode("utf-16")
    ts, nonce = spec["ts"], spec["nonce"]
    params = {
        "msg_signature": signature_for(spec["sig"], cipher, ts, nonce, spec["junk"]),
        "timestamp": ts,
        "nonce": nonce,
    }
    query = wecom_query(params, spec["extra"], spec["raw"])
    body_out = b"" if spec["method"] == "HEAD" else data
    fuzzer.send(
        Req(spec["app"], spec["method"], "/wecom/callback", query, spec["headers"], body_out)
    )


@dataclass(frozen=True)
class PhaseSpec:
    """A named share of the requests: what to draw and how to send it."""

    name: str
    share: float
    strategy: Callable[[Fuzzer], st.SearchStrategy[Any]]
    send: Callable[[Fuzzer, Any], None]


def send_req(fuzzer: Fuzzer, req: Req) -> None:
    fuzzer.send(req)


PHASES = [
    PhaseSpec("routes", 0.38, any_route, send_req),
    PhaseSpec("unknown-paths", 0.06, unknown_path, send_req),
    PhaseSpec("conditional-feeds", 0.06, conditional_get, send_conditional),
    PhaseSpec("telegram-webhook", 0.16, lambda f: telegram(), send_req),
    PhaseSpec("wecom-get", 0.12, lambda f: wecom_get(), send_wecom_get),
    PhaseSpec("wecom-post", 0.22, lambda f: wecom_post(), send_wecom_post),
]


def run_phase(fuzzer: Fuzzer, phase: PhaseSpec, count: int, base_seed: int) -> None:
    """Hypothesis draws `count` examples of the phase's strategy; each is one request."""
    fuzzer.phase = phase.name
    strategy = phase.strategy(fuzzer)
    target = fuzzer.by_phase[phase.name] + count
    for attempt in range(5):  # Hypothesis may skip duplicates: top up to the count
        missing = target - fuzzer.by_phase[phase.name]
        if missing <= 0:
            return

        @seed(base_seed * 1000 + attempt)
        @settings(
            max_examples=missing,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )
        @given(spec=strategy)
        def fuzz(spec: Any) -> None:
            if fuzzer.by_phase[phase.name] < target:
                phase.send(fuzzer, spec)

        fuzz()


# ---------------------------------------------------------------------------------------------
# Set-up and the report.


@contextlib.contextmanager
def fake_apis() -> Iterator[tuple[str, str]]:
    """The fake Bot API and WeCom API of the tests, on 127.0.0.1; yields their base URLs."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.bot import fake_telegram, fake_wecom

    with fake_telegram.serve_fake() as (_, tg), fake_wecom.serve_fake() as (_, wecom):
        yield tg, wecom


def build_apps(tmp: Path, tg_api: str, wecom_api: str, world: World) -> dict[str, Starlette]:
    """The full app (webhook, WeCom, public URL) and the bare one (nothing but the web)."""
    full = Settings(
        database_url=f"sqlite:///{tmp / 'full.db'}",
        public_url="https://huiqi.example.cn",
        admins=ADMINS,
        telegram_token=Secret(BOT_TOKEN),
        telegram_api_url=tg_api,
        telegram_webhook_secret=Secret(WEBHOOK_SECRET),
        wecom_corp_id=CORP,
        wecom_agent_id=AGENT,
        wecom_secret=Secret("app-secret"),
        wecom_token=Secret(TOKEN),
        wecom_aes_key=Secret(AES_KEY),
        wecom_api_url=wecom_api,
    )
    bare = Settings(database_url=f"sqlite:///{tmp / 'bare.db'}")
    return {
        name: create_app(
            settings,
            world,
            demo=True,
            clock=lambda: NOW,
            channels={"console": RecordingChannel(clock=lambda: NOW)},
        )
        for name, settings in (("full", full), ("bare", bare))
    }


def report(fuzzer: Fuzzer, tally: LogTally, wall: float, cpu: float, show_all: bool) -> None:
    """Print the summary."""
    print(
        f"\nrequests: {fuzzer.total} (not sent: {fuzzer.unsendable} httpx would not build, "
        f"{fuzzer.too_big} with request line and headers over {MAX_HEADER_BYTES} bytes, "
        "which uvicorn refuses before the app)"
    )
    print("\nper phase (status: count):")
    for name, statuses in fuzzer.phase_status.items():
        detail = " ".join(f"{s}:{n}" for s, n in sorted(statuses.items()))
        print(f"  {name:<18} {fuzzer.by_phase[name]:>6}  {detail}")
    print("\nper route (status: count):")
    width = max(len(k) for k in fuzzer.by_route)
    for route in sorted(fuzzer.by_route):
        statuses = fuzzer.by_route[route]
        detail = " ".join(f"{s}:{n}" for s, n in sorted(statuses.items()))
        print(f"  {route:<{width}}  {sum(statuses.values()):>6}  {detail}")
    print(f"\nresponses >= 500: {len(fuzzer.failures)}")
    groups: dict[tuple[str, str, str, str], list[Failure]] = collections.defaultdict(list)
    for f in fuzzer.failures:
        groups[(f.route, str(f.status), f.cause, f.where)].append(f)
    for (route, status, cause, where), items in sorted(groups.items(), key=lambda g: -len(g[1])):
        print(f"  [{len(items)}x] {status} {route}: {cause}\n        at {where}")
        for f in items if show_all else items[:3]:
            print(
                f"        {f.phase}/{f.app} {f.method} {f.path} body={f.request_body} "
                f"-> {f.response_body}"
            )
    if fuzzer.hung:
        print(f"\nrequests that did not finish in {REQUEST_TIMEOUT:.0f} s: {len(fuzzer.hung)}")
        for line in fuzzer.hung[:20]:
            print(f"  {line}")
    print("\napp log at WARNING and above (level, logger, message: count):")
    for (level, name, msg), n in tally.counts.most_common(25):
        print(f"  {level} {name}: {msg!r}: {n}")
    if tally.errors:
        print("logged errors (background handling, not HTTP answers):")
        for (msg, cause, where), n in tally.errors.most_common(20):
            print(f"  [{n}x] {msg!r}: {cause} at {where}")
    print(f"\nwall time: {wall:.1f} s, CPU time: {cpu:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000, help="how many (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    parser.add_argument("--show-all", action="store_true", help="print every answer >= 500")
    args = parser.parse_args(argv)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    world = World(load_catalog(), load_vocab(), load_size_standard())
    KNOWN["policy_id"] = [p.id for p in world.catalog.policies]
    KNOWN["category"] = [t.key for t in world.catalog.vocab.categories]
    KNOWN["level"] = [t.key for t in world.catalog.vocab.levels]
    tally = LogTally()
    root = logging.getLogger()
    root.addHandler(tally)
    root.setLevel(logging.WARNING)
    loop = Loop()
    with tempfile.TemporaryDirectory() as tmp, fake_apis() as (tg_api, wecom_api):
        apps = build_apps(Path(tmp), tg_api, wecom_api, world)
        lifespans = {name: Lifespan(app) for name, app in apps.items()}
        started: list[Lifespan] = []
        try:
            for lifespan in lifespans.values():
                loop.call(lifespan.startup(), timeout=120)
                started.append(lifespan)
            for app in apps.values():  # live calendar links for /feeds/e/{token}.ics
                store = app.state.runtime.store
                KNOWN["token"] += [
                    store.tokens.issue_token(e.id, now=NOW) for e in store.registry.enterprises()
                ]
            fuzzer = Fuzzer(loop, apps)
            print(f"routes: {', '.join(i.template for i in fuzzer.routes)}")
            for number, phase in enumerate(PHASES):
                count = round(args.requests * phase.share)
                if number == len(PHASES) - 1:
                    count = max(args.requests - fuzzer.total, count)
                began = time.perf_counter()
                run_phase(fuzzer, phase, count, args.seed * 100 + number)
                took = time.perf_counter() - began
                print(f"  {phase.name}: {fuzzer.by_phase[phase.name]} in {took:.1f} s", flush=True)
            if fuzzer.total < args.requests:
                run_phase(fuzzer, PHASES[0], args.requests - fuzzer.total, args.seed * 100 + 99)
            fuzzer.close()
        finally:
            for lifespan in started:  # drains WeCom replies, stops the Telegram application
                loop.call(lifespan.shutdown(), timeout=300)
    loop.close()
    report(fuzzer, tally, time.perf_counter() - wall0, time.process_time() - cpu0, args.show_all)
    return 1 if fuzzer.failures or fuzzer.hung else 0


if __name__ == "__main__":
    sys.exit(main())
