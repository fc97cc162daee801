"""What an enterprise can apply for: 可申报 (its matches, page by page), 近期 (rounds of the
next 90 days) and 政策 ID (one policy)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot._commands import Command
from bot._service import round_book, upcoming
from bot.chat._talk import Button, ButtonHandler, Handler, Reply, Talk, Who
from schedulers import Policy, Round, RoundBook, known_of, next_round
from subscriptions import INELIGIBLE, parse_profile

PAGE = 5  # matches per page


def _next(policy: Policy, book: RoundBook, on: dt.date) -> Round | None:
    """The policy's next round as it stands."""
    return next_round(policy, on=on, known=known_of(book, policy.id))


@dataclass
class Matching(Talk):
    """可申报, 近期 and 政策."""

    phrases: str = "matching"

    def commands(self) -> dict[str, Handler]:
        return {"match": self.match, "upcoming": self.upcoming, "policy": self.policy}

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"match": lambda who, value: self.page(who, int(value) if value.isdigit() else 1)}

    def match(self, who: Who, cmd: Command) -> list[Reply]:
        page = cmd.args[0] if cmd.args else "1"
        return self.page(who, int(page) if page.isdigit() else 1)

    def page(self, who: Who, page: int) -> list[Reply]:
        """One page of the enterprise's matches, with the buttons (or words) to turn it."""
        found = self.own(who)
        if isinstance(found, list):
            return found
        profile = parse_profile(found.profile, self.world.vocab)
        ctx = self.world.context(profile)
        on = self.today()
        items = [m for m in self.world.matcher(on).match_all(ctx) if m.decision != INELIGIBLE]
        book = round_book(self.store)
        pages = max(1, -(-len(items) // PAGE))
        page = min(max(page, 1), pages)
        shown = items[(page - 1) * PAGE : page * PAGE]
        nav: list[Button] = []
        if page > 1:
            nav.append(Button("上一页", data=f"match:{page - 1}"))
        if page < pages:
            nav.append(Button("下一页", data=f"match:{page + 1}"))
        return self.say(
            who,
            "match",
            (tuple(nav),) if nav else (),
            items=[(m, _next(m.policy, book, on)) for m in shown],
            page=page,
            pages=pages,
            total=len(items),
        )

    def upcoming(self, who: Who, cmd: Command) -> list[Reply]:
        found = self.own(who)
        if isinstance(found, list):
            return found
        profile = parse_profile(found.profile, self.world.vocab)
        days = 90
        items = upcoming(
            self.world, profile, on=self.today(), days=days, book=round_book(self.store)
        )
        return self.say(who, "upcoming", items=items, days=days)

    def policy(self, who: Who, cmd: Command) -> list[Reply]:
        if not cmd.args:
            return self.tell(who, "policy_usage")
        word = " ".join(cmd.args)
        found = self.world.catalog.find(word)
        if len(found) != 1:
            return self.tell(who, "which_policy", word=word, policies=found)
        [policy] = found
        page = f"{self.public_url}/policies/{policy.id}"
        feed = f"{self.public_url}/feeds/category/{policy.category}.ics"
        buttons = ((Button("政策详情与原文", url=page), Button("订阅此类日历", url=feed)),)
        nxt = _next(policy, round_book(self.store), self.today())
        return self.say(who, "policy", buttons, p=policy, next=nxt)
