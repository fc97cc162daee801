"""Limits on what a client may send: body size per route, header size and count, and time.

A request body is read (up to its route's cap, within a time limit) before the app sees it,
so an oversized or slow upload is refused with 413 or 408 and never reaches a parser. The
HTTP protocol closes a connection whose request headers do not arrive in time (a slow
client holding connections open), and h11 refuses headers larger than `MAX_HEADER_BYTES`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEADER_BYTES = 16 * 1024  # the request line and all headers together
MAX_HEADERS = 100
HEADER_SECONDS = 10.0  # to send the request line and headers
BODY_SECONDS = 15.0  # to send the body
DEFAULT_BODY = 256 * 1024
CALLBACK_BODY = 64 * 1024  # WeCom and Telegram callbacks are a few KiB
FORM_BODY = 16 * 1024  # a sign-up form is a few hundred bytes


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


HOST = re.compile(rb"(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?")


def _valid_host(value: bytes) -> bool:
    """A Host header RFC 9110 allows: a name, an IPv4 or [IPv6] address, maybe a port."""
    found = HOST.fullmatch(value)
    return found is not None and (found[1] is None or int(found[1]) <= 65535)


class RequestLimits:
    """ASGI middleware: header count, and the body read whole within its route's cap."""

    def __init__(
        self, app: ASGIApp, caps: Mapping[str, int] | None = None, default: int = DEFAULT_BODY
    ) -> None:
        self.app = app
        self.caps = dict(caps or {})
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if len(headers) > MAX_HEADERS:
            await _answer(send, 431, f"too many headers (at most {MAX_HEADERS})")
            return
        hosts = [v for k, v in headers if k == b"host"]
        if len(hosts) > 1 or (hosts and not _valid_host(hosts[0])):
            # Links and redirects are built from Host when no public URL is set.
            await _answer(send, 400, "one Host header of a name or address, and a port")
            return
        cap = self.caps.get(scope.get("path", ""), self.default)
        declared = [v for k, v in headers if k == b"content-length"]
        if declared:
            if len(declared) > 1 or not declared[0].isdigit():
                await _answer(send, 400, "Content-Length must be one whole number")
                return
            if int(declared[0]) > cap:
                await _answer(send, 413, f"request body too large (at most {cap} bytes here)")
                return
        body = bytearray()
        try:
            async with asyncio.timeout(BODY_SECONDS):
                more = True
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body += message.get("body", b"")
                    if len(body) > cap:
                        await _answer(
                            send, 413, f"request body too large (at most {cap} bytes here)"
                        )
                        return
                    more = bool(message.get("more_body", False))
        except TimeoutError:
            await _answer(send, 408, f"request body not received within {BODY_SECONDS:g} s")
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then waits on the client as before."""
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers come too slowly."""

    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(HEADER_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()  # no complete request line and headers in time

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the headers are in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def server_options() -> dict[str, Any]:
    """uvicorn settings that bound headers, connections and idle time."""
    return {
        "http": TimedH11Protocol,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": 5,
        "limit_concurrency": 1000,
    }
