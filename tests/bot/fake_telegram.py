"""A fake Bot API server: records what the bot sends, answers like Telegram, fails on request."""

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

BOT = {"id": 4242, "is_bot": True, "first_name": "惠企", "username": "huiqi_bot"}


@dataclass
class Sent:
    """One call the bot made."""

    method: str
    params: dict[str, Any]


@dataclass
class FakeTelegram:
    """The fake server's state: calls received, failures to answer with."""

    calls: list[Sent] = field(default_factory=list)
    failures: dict[str, list[tuple[int, str, int | None]]] = field(
        default_factory=dict
    )  # chat -> (code, text, retry)
    next_id: int = 1
    group_admins: set[int] = field(default_factory=set)
    migrated: dict[str, int] = field(default_factory=dict)  # old group id -> supergroup id
    revoked: bool = False  # every call answers 401 Unauthorized, as for a revoked token

    def messages(self, chat: str | int | None = None) -> list[dict[str, Any]]:
        """sendMessage/sendPhoto params, optionally for one chat."""
        return [
            c.params
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto")
            and (chat is None or str(c.params.get("chat_id")) == str(chat))
        ]

    def texts(self, chat: str | int | None = None) -> list[str]:
        """The text (or caption) of every message sent."""
        return [m.get("text") or m.get("caption") or "" for m in self.messages(chat)]

    async def handle(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params: dict[str, Any] = {}
        async with request.form() as form:
            for key, value in form.multi_items():
                if not isinstance(value, str):  # an uploaded file (sendPhoto)
                    params[key] = await value.read()
                    continue
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        self.calls.append(Sent(method, params))
        if self.revoked:
            body: dict[str, Any] = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return JSONResponse(body, status_code=401)
        if method == "getMe":
            return JSONResponse({"ok": True, "result": BOT})
        if method == "getChatMember":
            user = int(params["user_id"])
            status = "administrator" if user in self.group_admins else "member"
            person = {"id": user, "is_bot": False, "first_name": "成员"}
            return JSONResponse(
                {
                    "ok": True,
                    "result": {
                        "status": status,
                        "user": person,
                        **(
                            {
                                "can_be_edited": False,
                                "can_manage_chat": True,
                                "can_delete_messages": True,
                                "can_manage_video_chats": True,
                                "can_restrict_members": True,
                                "can_promote_members": False,
                                "can_change_info": True,
                                "can_invite_users": True,
                                "can_post_stories": False,
                                "can_edit_stories": False,
                                "can_delete_stories": False,
                                "is_anonymous": False,
                            }
                            if status == "administrator"
                            else {}
                        ),
                    },
                }
            )
        if method in (
            "answerCallbackQuery",
            "setWebhook",
            "deleteWebhook",
            "setMyCommands",
            "editMessageReplyMarkup",
        ):
            return JSONResponse({"ok": True, "result": True})
        if method in ("sendMessage", "sendPhoto"):
            chat = str(params.get("chat_id"))
            if chat in self.migrated:
                self.calls[-1] = Sent(f"{method}:refused", params)
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": self.migrated[chat]},
                }
                return JSONResponse(body, status_code=400)
            if len(str(params.get("text", ""))) > 4096:  # Telegram's limit, in characters
                self.calls[-1] = Sent(f"{method}:refused", params)
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is too long",
                }
                return JSONResponse(body, status_code=400)
            queued = self.failures.get(chat)
            if queued:
                code, text, retry = queued.pop(0)
                self.calls[-1] = Sent(f"{method}:refused", params)  # not delivered
                body = {"ok": False, "error_code": code, "description": text}
                if retry is not None:
                    body["parameters"] = {"retry_after": retry}
                return JSONResponse(body, status_code=code)
            self.next_id += 1
            message: dict[str, Any] = {
                "message_id": self.next_id,
                "date": 1795000000,
                "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 1, "type": "private"},
            }
            if method == "sendPhoto":
                message["photo"] = [
                    {"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}
                ]
                message["caption"] = params.get("caption", "")
            else:
                message["text"] = params.get("text", "")
            return JSONResponse({"ok": True, "result": message})
        return JSONResponse(
            {"ok": False, "error_code": 404, "description": f"Not Found: method {method}"},
            status_code=404,
        )


@contextmanager
def serve_fake() -> Iterator[tuple[FakeTelegram, str]]:
    """Run the fake on 127.0.0.1; yield it and its base URL (for HUIQI_TELEGRAM_API_URL)."""
    fake = FakeTelegram()
    app = Starlette(routes=[Route("/bot{token}/{method}", fake.handle, methods=["GET", "POST"])])
    with serve_local(app) as base:
        yield fake, base
