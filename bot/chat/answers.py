"""Answers from the enterprise to a reminder: 已申报 (applied) and 不感兴趣 (not interested)
stop the remaining reminders of that policy's current round for this chat; the bureau counts
them per round."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from bot._commands import Command
from bot.chat._talk import ButtonHandler, Handler, Reply, Talk, Who
from schedulers import (
    ANSWER_WORDS,
    ANSWERS,
    SHANGHAI,
    Policy,
    at_local,
    is_workday,
    local_date,
    previous_workday,
)
from subscriptions.store import StoredRound

LATER = 3  # 稍后提醒 moves the next reminder this many working days on


@dataclass
class Answers(Talk):
    """已申报, 不感兴趣 and 稍后提醒."""

    phrases: str = "answers"

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"ans": self.button}

    def button(self, who: Who, value: str) -> list[Reply]:
        """A press of 已申报 / 不感兴趣 / 稍后提醒 under a reminder: `choice:row id`."""
        choice, _, row_id = value.partition(":")
        if choice == "shown":  # the choice already given, shown where the buttons were
            return []
        row = self.store.outbox.row_of(int(row_id)) if row_id.isdigit() else None
        subscriber = self.subscriber(who)
        if choice not in ANSWERS or row is None or row.subscriber_id != subscriber:
            return self.tell(who, "stale_button")
        rnd = {r.key: r for r in self.store.rounds.current_rounds()}.get(row.round_key)
        policy = self.world.catalog.get(rnd.policy_id) if rnd else None
        if rnd is None or policy is None or (rnd.close or rnd.open or self.today()) < self.today():
            return self.tell(who, "stale_button")
        return self._apply(who, subscriber, policy, rnd, choice)

    def commands(self) -> dict[str, Handler]:
        return {
            "applied": lambda who, cmd: self.answer(who, cmd, "applied"),
            "not_interested": lambda who, cmd: self.answer(who, cmd, "not_interested"),
            "later": lambda who, cmd: self.answer(who, cmd, "later"),
        }

    def answer(self, who: Who, cmd: Command, choice: str) -> list[Reply]:
        word = " ".join(cmd.args).strip()
        if not word:
            return self.tell(who, "usage", choice=choice)
        found = self.world.catalog.find(word)
        if len(found) != 1:
            asked = ANSWER_WORDS[choice]
            return self.tell(who, "which_policy", word=word, policies=found, asked=asked)
        [policy] = found
        rnd = self._current_round(policy, self.today())
        if rnd is None:
            return self.tell(who, "no_round", policy=policy)
        return self._apply(who, self.subscriber(who), policy, rnd, choice)

    def _apply(
        self, who: Who, subscriber: int, policy: Policy, rnd: StoredRound, choice: str
    ) -> list[Reply]:
        if choice == "later":
            return self._later(who, subscriber, policy, rnd)
        stopped = self.store.outbox.answer(subscriber, rnd.key, choice, now=self.clock())
        said = self.tell(who, "noted", policy=policy, round=rnd, choice=choice, stopped=stopped)
        return _pressed(said, f"✓ {ANSWER_WORDS[choice]}")

    def _later(self, who: Who, subscriber: int, policy: Policy, rnd: StoredRound) -> list[Reply]:
        """稍后提醒: the next waiting reminder of the round moves LATER working days on (never
        past the close)."""
        waiting = self.store.outbox.next_waiting(subscriber, rnd.key)
        if waiting is None:
            return self.tell(who, "nothing_waiting", policy=policy)
        day = max(local_date(waiting.due_at), self.today())
        for _ in range(LATER):
            day += dt.timedelta(days=1)
            while not is_workday(day):
                day += dt.timedelta(days=1)
        if rnd.close is not None and day > rnd.close:
            day = previous_workday(rnd.close, is_workday)
        until = at_local(day, waiting.due_at.astimezone(SHANGHAI).time())
        if until <= waiting.due_at:
            return self.tell(who, "cannot_later", policy=policy, round=rnd)
        moved = self.store.outbox.snooze(
            waiting.id, subscriber, day=day, until=until, now=self.clock()
        )
        if not moved:  # it went out meanwhile
            return self.tell(who, "nothing_waiting", policy=policy)
        said = self.tell(who, "later_noted", policy=policy, day=day)
        return _pressed(said, f"✓ {day.month}月{day.day}日再提醒")

    def _current_round(self, policy: Policy, today: dt.date) -> StoredRound | None:
        """The policy's round that has not closed yet, the earliest first."""
        ahead = [
            r
            for r in self.store.rounds.current_rounds()
            if r.policy_id == policy.id and (r.close or r.open or today) >= today
        ]
        return min(ahead, key=lambda r: r.close or r.open or today, default=None)


def _pressed(replies: list[Reply], label: str) -> list[Reply]:
    """The replies to an answer that was taken, the first marked with what its button reads."""
    return [replace(replies[0], pressed=label), *replies[1:]]
