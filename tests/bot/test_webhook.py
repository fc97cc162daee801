"""The webhook channel maps HTTP answers to send results (through httpx.MockTransport)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot._webhook import WebhookChannel
from schedulers import SendResult


def send_with(handler: httpx.MockTransport) -> SendResult:
    """Send one message through a channel whose HTTP goes to `handler`."""

    async def go() -> SendResult:
        async with httpx.AsyncClient(transport=handler) as client:
            return await WebhookChannel("http://gateway/send", client).send("chat-1", "你好")

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200, json={"ok": True}), SendResult("ok")),
        (
            httpx.Response(429, headers={"Retry-After": "7"}),
            SendResult("retry_after", 7.0, "429 Too Many Requests"),
        ),
        (httpx.Response(503), SendResult("transient", None, "503 Service Unavailable")),
        (httpx.Response(403), SendResult("permanent", None, "403 Forbidden")),
    ],
)
def test_status_codes(response: httpx.Response, expected: SendResult) -> None:
    """200 is ok, 429 waits as told, 5xx is retried, 403 is permanent."""
    assert send_with(httpx.MockTransport(lambda request: response)) == expected


def test_body_carries_address_and_text() -> None:
    """The gateway receives the address and the text as JSON."""
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200)

    send_with(httpx.MockTransport(handler))
    assert seen == ['{"to":"chat-1","text":"你好"}'.encode()]


def test_timeout_is_transient() -> None:
    """A timeout is retried later."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    assert send_with(httpx.MockTransport(handler)) == SendResult(
        "transient", None, "timeout: ReadTimeout"
    )
