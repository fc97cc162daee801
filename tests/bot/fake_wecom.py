"""A fake WeCom API (gettoken, message/send, message/update_template_card) and group-robot
webhook on 127.0.0.1."""

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
class FakeWeCom:
    """Issues tokens, records app messages and robot posts, answers scripted errcodes."""

    tokens_issued: int = 0
    valid_token: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    robot_posts: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # touser -> answers
    robot_errors: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0  # repeats WeCom's duplicate check dropped
    refuse_tokens: bool = False  # every message answers 40014, as for a token WeCom rejects
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    used_codes: set[str] = field(default_factory=set)  # a response code updates a card once

    def texts(self, user: str) -> list[str]:
        """Contents of the app messages delivered to a member."""
        return [
            m["text"]["content"]
            for m in self.sent
            if m.get("touser") == user and m.get("msgtype") == "text"
        ]

    def cards(self, user: str) -> list[dict[str, Any]]:
        """The template cards delivered to a member."""
        return [
            m["template_card"]
            for m in self.sent
            if m.get("touser") == user and m.get("msgtype") == "template_card"
        ]

    async def gettoken(self, request: Request) -> JSONResponse:
        self.tokens_issued += 1
        self.valid_token = f"TOKEN{self.tokens_issued}"
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": self.valid_token, "expires_in": 7200}
        )

    async def send(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        if self.refuse_tokens:
            return JSONResponse({"errcode": 40014, "errmsg": "invalid access_token"})
        if request.query_params.get("access_token") != self.valid_token:
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        queued = self.errors.get(str(body.get("touser")))
        if queued:
            return JSONResponse(queued.pop(0))  # HTTP 200 with an errcode: not success
        card = body.get("template_card")
        if card is not None and any(
            m.get("template_card", {}).get("task_id") == card.get("task_id") for m in self.sent
        ):
            return JSONResponse({"errcode": 40105, "errmsg": "task_id duplicated"})  # per app
        if body.get("enable_duplicate_check") and any(
            m.get("touser") == body.get("touser")
            and m.get("msgtype") == body.get("msgtype")
            and m.get(m.get("msgtype", "")) == body.get(body.get("msgtype", ""))
            for m in self.sent
        ):
            self.duplicates += 1  # WeCom answers ok and delivers nothing the second time
            return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": ""})
        self.sent.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    async def update_card(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        if request.query_params.get("access_token") != self.valid_token:
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        code = str(body.get("response_code", ""))
        if not code or code in self.used_codes:
            return JSONResponse({"errcode": 40005, "errmsg": "invalid response_code"})
        self.used_codes.add(code)
        self.card_updates.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def robot(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        if self.robot_errors:
            error = self.robot_errors.pop(0)  # an empty one: this post is accepted
            if error:
                return JSONResponse(error)
        self.robot_posts.append({"key": request.query_params.get("key"), **body})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


@contextmanager
def serve_fake() -> Iterator[tuple[FakeWeCom, str]]:
    """Run the fake on 127.0.0.1; yield it and its base URL (HUIQI_WECOM_API_URL)."""
    fake = FakeWeCom()
    app = Starlette(
        routes=[
            Route("/cgi-bin/gettoken", fake.gettoken),
            Route("/cgi-bin/message/send", fake.send, methods=["POST"]),
            Route("/cgi-bin/message/update_template_card", fake.update_card, methods=["POST"]),
            Route("/cgi-bin/webhook/send", fake.robot, methods=["POST"]),
        ]
    )
    with serve_local(app) as base:
        yield fake, base
