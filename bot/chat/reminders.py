"""提醒设置 (how many days before a deadline, at what time, which policies or categories to
mute) and 退订 (unsubscribe, deleting the registration)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from bot._commands import Command
from bot._service import replan
from bot.chat._talk import Button, ButtonHandler, Handler, Reply, Talk, Who

MUTES = (  # 提醒设置 words that mute or unmute, and what they change
    ("屏蔽", "muted_policies", True),
    ("恢复", "muted_policies", False),
    ("屏蔽类别", "muted_categories", True),
    ("恢复类别", "muted_categories", False),
)


@dataclass
class Reminders(Talk):
    """提醒设置, 退订 and 确认退订."""

    phrases: str = "reminders"

    def commands(self) -> dict[str, Handler]:
        return {"remind": self.remind, "stop": self.stop, "confirm_stop": self.confirm_stop}

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"stop": self.stop_button}

    def remind(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self.private_only(who)
        if refused:
            return refused
        subscriber = self.subscriber(who)
        prefs = self.store.registry.preferences(subscriber)
        if prefs is None:
            return self.not_registered(who)
        words = cmd.options
        changes: dict[str, Any] = {}
        errors: list[str] = []  # phrases
        unknown: list[str] = []  # categories muted or unmuted that do not exist
        if "提前" in words:
            days = [d for d in re.split(r"[,，、]", words["提前"]) if d.strip()]
            if all(d.strip().isdigit() and 0 <= int(d) <= 60 for d in days) and days:
                changes["offsets"] = sorted({int(d) for d in days}, reverse=True)
            else:
                errors.append("bad_offsets")
        if "时间" in words:
            if re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", words["时间"]):
                changes["send_time"] = words["时间"]
            else:
                errors.append("bad_time")
        for key, target, add in MUTES:
            if key not in words:
                continue
            word = words[key]
            if target == "muted_categories":
                term = self.world.catalog.vocab.category(word)
                if term is None:
                    unknown.append(word)
                    continue
                value = term.key
            else:
                found = self.world.catalog.find(word)
                if len(found) != 1:
                    asked = f"{self.command(who, 'remind')} {key}="
                    return self.tell(who, "which_policy", word=word, policies=found, asked=asked)
                value = found[0].id
            current = set(changes.get(target, getattr(prefs, target)))
            current = current | {value} if add else current - {value}
            changes[target] = sorted(current)
        if errors or unknown:
            said = [r for e in errors for r in self.tell(who, e)]
            names = "、".join(t.name for t in self.world.catalog.vocab.categories)
            said += [r for v in unknown for r in self.tell(who, "no_such", value=v, names=names)]
            return [Reply.joined(said)]
        if changes:
            self.store.registry.set_preferences(subscriber, **changes)
            prefs = dataclasses.replace(prefs, **changes)
            # Reminders already planned follow the new settings: drop the waiting ones, plan anew.
            self.store.outbox.forget_planned(subscriber, after=self.clock())
            replan(self.store, self.world, now=self.clock(), only={subscriber})
        catalog = self.world.catalog
        categories = "、".join(t.name for t in catalog.vocab.categories)
        policies = [p.name if (p := catalog.get(i)) else i for i in prefs.muted_policies]
        muted = [catalog.vocab.label("categories", c) for c in prefs.muted_categories]
        return self.say(
            who, "remind", prefs=prefs, categories=categories, policies=policies, muted=muted
        )

    def stop(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self.private_only(who)
        if refused:
            return refused
        buttons = ((Button("确认退订并删除", data="stop:yes"), Button("再想想", data="stop:no")),)
        return self.tell(who, "confirm_stop", () if who.typed else buttons)

    def confirm_stop(self, who: Who, cmd: Command) -> list[Reply]:
        return self.stop_button(who, "yes")

    def stop_button(self, who: Who, value: str) -> list[Reply]:
        if value != "yes":
            return self.tell(who, "kept")
        gone = self.store.registry.unregister(self.subscriber(who), now=self.clock())
        return self.tell(who, "stopped", gone=gone)
