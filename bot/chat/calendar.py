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

    phrases: str = "calendar"

    def commands(self) -> dict[str, Handler]:
        return {"calendar": self.calendar}

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"cal": self.button}

    def calendar(self, who: Who, cmd: Command) -> list[Reply]:
        return self.link(who, rotate=bool(cmd.args) and cmd.args[0] in ("更换", "rotate"))

    def button(self, who: Who, value: str) -> list[Reply]:
        if value == "rotate":
            return self.link(who, rotate=True)
        return self.tell(who, "stale_button")

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
            return self.tell(who, "already_given", ROTATE_BUTTON, name=found.name, day=day)
        token = self.store.tokens.issue_token(found.id, now=self.clock())  # revokes any earlier one
        https = f"{self.public_url}/feeds/e/{token}.ics"
        webcal = "webcal://" + https.split("://", 1)[1]
        qr = segno.make(https, error="m")
        png = io.BytesIO()
        qr.save(png, kind="png", scale=6)
        replies = self.say(
            who, "calendar", ROTATE_BUTTON, name=found.name, https=https, webcal=webcal
        )
        replies[0] = dataclasses.replace(replies[0], photo=png.getvalue())
        return (self.tell(who, "rotated") if rotate else []) + replies
