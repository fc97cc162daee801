"""A fake WeChat official-account API (token, template send, 订阅通知 bizsend,
customer-service send) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.bot.local_server import serve_local


@dataclass
class FakeWeChat:
    """Issues tokens, records what each API was sent, answers scripted errcodes."""

    tokens_issued: int = 0
    valid_token: str = ""
    secret: str = "app-secret"  # noqa: S105 - the fake account's AppSecret
    templates: list[dict[str, Any]] = field(default_factory=list)
    bizsends: list[dict[str, Any]] = field(default_factory=list)
    custom: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # touser -> answers

    def texts(self, user: str) -> list[str]:
        """The customer-service texts a follower received."""
        return [m["text"]["content"] for m in self.custom if m.get("touser") == user]

    async def token(self, request: Request) -> JSONResponse:
        if request.query_params.get("secret") != self.secret:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.tokens_issued += 1
        self.valid_token = f"TOKEN{self.tokens_issued}"
        return JSONResponse({"access_token": self.valid_token, "expires_in": 7200})

    def _answer(self, request: Request, body: dict[str, Any], into: list[dict[str, Any]]) -> Any:
        if request.query_params.get("access_token") != self.valid_token:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        queued = self.errors.get(str(body.get("touser")))
        if queued:
            return JSONResponse(queued.pop(0))  # HTTP 200 with an errcode: not success
        into.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": len(into)})

    async def template(self, request: Request) -> JSONResponse:
        return self._answer(request, json.loads(await request.body()), self.templates)  # type: ignore[no-any-return]

    async def bizsend(self, request: Request) -> JSONResponse:
        return self._answer(request, json.loads(await request.body()), self.bizsends)  # type: ignore[no-any-return]

    async def custom_send(self, request: Request) -> JSONResponse:
        return self._answer(request, json.loads(await request.body()), self.custom)  # type: ignore[no-any-return]


@contextmanager
def serve_fake() -> Iterator[tuple[FakeWeChat, str]]:
    """Run the fake on 127.0.0.1; yield it and its base URL (HUIQI_WECHAT_API_URL)."""
    fake = FakeWeChat()
    app = Starlette(
        routes=[
            Route("/cgi-bin/token", fake.token),
            Route("/cgi-bin/message/template/send", fake.template, methods=["POST"]),
            Route("/cgi-bin/message/subscribe/bizsend", fake.bizsend, methods=["POST"]),
            Route("/cgi-bin/message/custom/send", fake.custom_send, methods=["POST"]),
        ]
    )
    with serve_local(app) as base:
        yield fake, base
