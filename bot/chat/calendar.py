"""日历: the enterprise's private calendar link (shown once, as a link and a QR code), and
changing it when it may have leaked."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

import segno

from bot._commands import Command
from bot.chat._talk import Button, ButtonHandler, Buttons, Handler, Reply, Talk, Who
from schedulers import local_date

ROTATE_BUTTON: Buttons = ((Button("更换链接（旧链接失效）", data="cal:rotate"),),)


@dataclass
class Calendar(Talk):
    """日历 and 日历 更换."""

    def commands(self) -> dict[str, Handler]:
        return {"calendar": self.calendar}

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"cal": self.button}

    def calendar(self, who: Who, cmd: Command) -> list[Reply]:
        return self.link(who, rotate=bool(cmd.args) and cmd.args[0] in ("更换", "rotate"))

    def button(self, who: Who, value: str) -> list[Reply]:
        if value == "rotate":
            return self.link(who, rotate=True)
        return self.plain("这个按钮已失效，请重新发送命令。")

    def link(self, who: Who, *, rotate: bool) -> list[Reply]:
        """The calendar link: issued once; shown again only by issuing a new one."""
        found = self.own(who)
        if isinstance(found, list):
            return found
        since = self.store.tokens.live_token_since(found.id)
        if since is not None and not rotate:
            # Only a digest of the link is kept: it cannot be shown again, and issuing a new one
            # here would silently break the calendars already subscribed to the old one.
            day = local_date(since)
            how = "发送“日历 更换”" if who.typed else "点下面的“更换链接”"
            return self.plain(
                f"{found.name} 的日历链接已于{day.month}月{day.day}日发给您，仍然有效，"
                "请往上翻聊天记录查找（为安全起见链接不重复显示）。\n"
                f"找不到或怀疑泄露：{how}获取新链接，旧链接随即失效，"
                "已订阅的日历需改用新链接。",
                ROTATE_BUTTON,
            )
        token = self.store.tokens.issue_token(found.id, now=self.clock())  # revokes any earlier one
        https = f"{self.public_url}/feeds/e/{token}.ics"
        webcal = "webcal://" + https.split("://", 1)[1]
        qr = segno.make(https, error="m")
        png = io.BytesIO()
        qr.save(png, kind="png", scale=6)
        replies = self.say(
            "calendar",
            ROTATE_BUTTON,
            name=found.name,
            https=https,
            webcal=webcal,
            typed=who.typed,
        )
        replies[0] = dataclasses.replace(replies[0], photo=png.getvalue())
        return ([Reply("已更换，旧链接已失效。")] if rotate else []) + replies
