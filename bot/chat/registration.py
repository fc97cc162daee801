"""Registering an enterprise: the one-line form (`注册 行业=C39 人数=180 …`), the guided form
with buttons (one question at a time, its answers kept in the store), and 我的资料."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot._commands import FIELD_WORDS, Command, amount_wan, profile_from_fields
from bot._service import replan
from bot.chat._talk import Button, ButtonHandler, Buttons, Handler, Reply, Talk, Who
from subscriptions import (
    ELIGIBLE,
    POSSIBLE,
    SIZE_NAMES,
    ProfileError,
    Vocab,
    classify,
    normalize_industry,
    parse_profile,
)

KIND = "register"  # the kind of this feature's drafts in the store
NOTHING = {"无", "没有", "跳过", "不填", "略", "none", "-"}  # a question skipped in words
CONFIRM = {"确认", "确定", "是", "对", "好", "好的", "ok", "确认登记"}  # the confirmation typed


def industry_matches(vocab: Vocab, text: str) -> tuple[Any, list[Any]]:
    """The industry group a word names (if any: 汽车, 光电子) and the GB/T divisions it or
    the word covers, for registration in chat and on the web alike."""
    term = vocab.find("industry_groups", text)
    divisions = term.divisions if term else ()
    matches = [
        d
        for d in vocab.industries.divisions.values()
        if d.code in divisions or (text and text in d.name)
    ]
    return term, matches


@dataclass
class Draft:
    """A guided registration in progress: the step it is at and the answers so far."""

    step: str = "name"
    profile: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Draft:
        return cls(str(data.get("step", "name")), dict(data.get("profile", {})))

    def data(self) -> dict[str, Any]:
        return {"step": self.step, "profile": self.profile}


@dataclass
class Registration(Talk):
    """注册, 我的资料 and the guided registration."""

    phrases: str = "registration"

    def commands(self) -> dict[str, Handler]:
        return {"register": self.register, "profile": self.profile, "bind": self.bind}

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"reg": self.button}

    # --- the one-line form ------------------------------------------------------------

    def register(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self.private_only(who)
        if refused:
            return refused
        if cmd.unknown_keys:
            return self.tell(who, "unknown_keys", keys=cmd.unknown_keys)
        if not cmd.fields:
            self._keep(who, Draft())
            return self.tell(who, "guided_start")
        self.store.chats.take_draft(who.channel, who.chat, KIND)  # the one line replaces it
        raw = profile_from_fields(dict(cmd.fields))
        word = raw.get("industry")
        if isinstance(word, str) and word and not re.fullmatch(r"[A-Za-z]\d{0,4}", word):
            try:
                normalize_industry(self.world.vocab.industries, word)
            except ValueError:
                term, matches = self._industry_matches(word)
                if len(matches) != 1:
                    return self._industry_choices(who, word, matches)
                raw["industry"] = matches[0].full_code  # a word naming one industry
                if term and term in self.world.vocab.chains:
                    raw.setdefault("chains", [term.name])
        current = self.registered(who)
        if current is not None:  # a correction: keep what is not being changed
            raw = {**current.profile, **raw}
        raw.setdefault("name", who.display)
        return self._save(who, raw)

    def _industry_choices(self, who: Who, word: str, matches: list[Any]) -> list[Reply]:
        """A one-line registration whose 行业 word fits no industry, or several."""
        if not matches:
            return self.tell(who, "no_industry", word=word)
        return self.tell(
            who, "several_industries", word=word, divisions=matches[:12], total=len(matches)
        )

    def _save(self, who: Who, raw: dict[str, Any]) -> list[Reply]:
        try:
            profile = parse_profile(raw, self.world.vocab)
        except ProfileError as exc:
            errors = [(FIELD_WORDS.get(e.field, (e.field,))[0], e.message) for e in exc.errors]
            return self.tell(who, "invalid", errors=errors)
        subscriber = self.subscriber(who)
        stored = {k: v for k, v in raw.items() if v is not None}
        self.store.registry.register(subscriber, stored, now=self.clock())
        replan(self.store, self.world, now=self.clock(), only={subscriber})
        return self._say_registered(who, profile.name, stored)

    def bind(self, who: Who, cmd: Command) -> list[Reply]:
        """绑定 CODE: follow the enterprise the bureau invited this chat to (its record, not a
        second one made by registering again)."""
        refused = self.private_only(who)
        if refused:
            return refused
        code = "".join(cmd.args)[:40]
        if not code:
            return self.tell(who, "bind_usage")
        enterprise = self.store.registry.invited(code)
        if enterprise is None:
            return self.tell(who, "bind_unknown", code=code)
        subscriber = self.subscriber(who)
        other = self.store.registry.join(subscriber, enterprise.id, now=self.clock())
        if other is not None:
            return self.tell(who, "bind_other", current=other.name, name=enterprise.name)
        self.store.chats.take_draft(who.channel, who.chat, KIND)
        replan(self.store, self.world, now=self.clock(), only={subscriber})
        return self.tell(who, "bound", name=enterprise.name) + self._say_registered(
            who, enterprise.name, enterprise.profile
        )

    def profile(self, who: Who, cmd: Command) -> list[Reply]:
        found = self.own(who)
        if isinstance(found, list):
            return found
        name, raw = found.name, found.profile
        return self._say_registered(who, name, raw) + self.tell(who, "how_to_correct")

    def _say_registered(self, who: Who, name: str, raw: dict[str, Any]) -> list[Reply]:
        """The profile as stored, its size class and how many policies it matches."""
        profile = parse_profile(raw, self.world.vocab)
        ctx = self.world.context(profile)
        decisions = self.world.matcher(self.today()).decide(ctx)
        return self.say(
            who,
            "registered",
            name=name,
            profile=profile,
            industry_name=self.world.vocab.industries.name_of(profile.industry),
            size=SIZE_NAMES[ctx.size.size] + "企业" if ctx.size.size else None,
            counts={d: decisions.count(d) for d in (ELIGIBLE, POSSIBLE)},
        )

    # --- the guided form --------------------------------------------------------------

    def _keep(self, who: Who, draft: Draft) -> None:
        self.store.chats.put_draft(who.channel, who.chat, KIND, draft.data(), now=self.clock())

    def in_progress(self, who: Who) -> Draft | None:
        """The chat's guided registration, if one is under way."""
        data = self.draft(who, KIND)
        return None if data is None else Draft.of(data)

    def _sections(self) -> Buttons:
        items = [
            Button(f"{k} {v}", data=f"reg:sec:{k}")
            for k, v in self.world.vocab.industries.sections.items()
        ]
        return tuple(tuple(items[i : i + 2]) for i in range(0, len(items), 2))

    def _divisions(self, section: str) -> Buttons:
        items = [
            Button(f"{d.full_code} {d.name}", data=f"reg:div:{d.full_code}")
            for d in self.world.vocab.industries.divisions.values()
            if d.section == section
        ]
        return tuple((b,) for b in items)

    def _qual_buttons(self, draft: Draft) -> Buttons:
        chosen = set(draft.profile.get("qualifications", []))
        rows = [
            (Button(("✓ " if q.name in chosen else "") + q.name, data=f"reg:q:{i}"),)
            for i, q in enumerate(self.world.vocab.qualifications)
        ]
        return (*rows, (Button("完成", data="reg:q:done"),))

    def _district_buttons(self) -> Buttons:
        rows = [
            (Button(d.name, data=f"reg:d:{i}"),) for i, d in enumerate(self.world.vocab.districts)
        ]
        return (*rows, (Button("跳过", data="reg:d:skip"),))

    def answer(self, who: Who, draft: Draft, text: str) -> list[Reply]:
        """A typed answer to the guided registration's current question."""
        text = text.strip()
        if draft.step == "name":
            if not text or len(text) > 100:
                return self.tell(who, "ask_name_again")
            draft.profile["name"] = text
            draft.step = "industry"
            self._keep(who, draft)
            return self.tell(who, "ask_industry", self._sections())
        if draft.step == "industry":
            return self._industry_text(who, draft, text)
        if draft.step in ("employees", "revenue"):
            if draft.step == "employees":
                people = text.replace(",", "").replace("人", "").strip()
                if not re.fullmatch(r"\d+", people):
                    return self.tell(who, "ask_number_again", step=draft.step)
                draft.profile["employees"] = int(people)
                draft.step = "revenue"
                self._keep(who, draft)
                return self.tell(who, "ask_revenue")
            revenue = amount_wan(text)
            if revenue is None:
                return self.tell(who, "ask_number_again", step=draft.step)
            draft.profile["revenue_wan"] = revenue
            draft.step = "qualifications"
            self._keep(who, draft)
            size = classify(
                self.world.standard,
                draft.profile["industry"],
                employees=draft.profile["employees"],
                revenue_wan=draft.profile["revenue_wan"],
            )
            return self.tell(
                who,
                "ask_qualifications",
                self._qual_buttons(draft),
                size=SIZE_NAMES[size.size] if size.size else None,
                group=size.group,
                qualifications=self.world.vocab.qualifications,
            )
        if draft.step == "qualifications":
            return self._qualifications_text(who, draft, text)
        if draft.step == "district":
            return self._district_text(who, draft, text)
        if draft.step == "confirm":
            if text.lower() in CONFIRM:
                return self.button(who, "ok")
            return self.tell(who, "confirm_again")
        return self.tell(who, "use_the_buttons")

    def _qualifications_text(self, who: Who, draft: Draft, text: str) -> list[Reply]:
        """The qualifications typed: their numbers in the list or their names, or 无."""
        vocab = self.world.vocab
        chosen: set[str] = set()
        unknown: list[str] = []
        words = [w for w in re.split(r"[\s,，、;；/]+", text) if w]
        if not words or (len(words) == 1 and words[0] in NOTHING):
            words = []
        for word in words:
            number = int(word) if word.isdigit() else 0
            term = vocab.find("qualifications", word)
            if 1 <= number <= len(vocab.qualifications):
                chosen.add(vocab.qualifications[number - 1].name)
            elif term is not None:
                chosen.add(term.name)
            else:
                unknown.append(word)
        if unknown:
            return self.tell(
                who, "unknown_qualifications", self._qual_buttons(draft), words=unknown
            )
        draft.profile["qualifications"] = sorted(chosen)
        return self._ask_district(who, draft)

    def _ask_district(self, who: Who, draft: Draft) -> list[Reply]:
        draft.step = "district"
        self._keep(who, draft)
        return self.tell(
            who, "ask_district", self._district_buttons(), districts=self.world.vocab.districts
        )

    def _district_text(self, who: Who, draft: Draft, text: str) -> list[Reply]:
        """The district typed: its number in the list or its name, or 跳过."""
        districts = self.world.vocab.districts
        term = self.world.vocab.find("districts", text)
        if text.isdigit() and 1 <= int(text) <= len(districts):
            return self._confirm(who, draft, districts[int(text) - 1].name)
        if term is not None:
            return self._confirm(who, draft, term.name)
        if text in NOTHING:
            return self._confirm(who, draft, None)
        return self.tell(
            who, "unknown_district", self._district_buttons(), word=text, districts=districts
        )

    def _confirm(self, who: Who, draft: Draft, district: str | None) -> list[Reply]:
        if district is not None:
            draft.profile["district"] = district
        draft.step = "confirm"
        self._keep(who, draft)
        buttons = ((Button("确认登记", data="reg:ok"), Button("取消", data="reg:cancel")),)
        return self.tell(who, "confirm", () if who.typed else buttons, p=draft.profile)

    def _industry_matches(self, text: str) -> tuple[Any, list[Any]]:
        return industry_matches(self.world.vocab, text)

    def _industry_text(self, who: Who, draft: Draft, text: str) -> list[Reply]:
        industries = self.world.vocab.industries
        if text.upper() in industries.sections:  # a section letter: which of its divisions
            return self.button(who, f"sec:{text.upper()}")
        try:
            draft.profile["industry"] = normalize_industry(industries, text)
        except ValueError:
            term, matches = self._industry_matches(text)
            if not matches:
                sections = list(industries.sections.items())
                return self.tell(
                    who, "no_industry_pick", self._sections(), word=text, sections=sections
                )
            if term and term in self.world.vocab.chains:
                draft.profile["chains"] = [term.name]
                self._keep(who, draft)
            if len(matches) > 1:
                rows = tuple(
                    (Button(f"{d.full_code} {d.name}", data=f"reg:div:{d.full_code}"),)
                    for d in matches[:12]
                )
                return self.tell(who, "pick_industry", rows, divisions=matches[:12])
            draft.profile["industry"] = matches[0].full_code
        draft.step = "employees"
        self._keep(who, draft)
        industry = draft.profile["industry"]
        name = self.world.vocab.industries.name_of(industry)
        return self.tell(who, "ask_employees", industry=industry, name=name)

    def button(self, who: Who, value: str) -> list[Reply]:
        """A press of one of the guided registration's buttons."""
        draft = self.in_progress(who)
        if draft is None:
            return self.tell(who, "over")
        kind, _, arg = value.partition(":")
        vocab = self.world.vocab
        if kind == "sec" and draft.step == "industry" and arg in vocab.industries.sections:
            return self.tell(
                who,
                "pick_division",
                self._divisions(arg),
                code=arg,
                name=vocab.industries.sections[arg],
                divisions=[d for d in vocab.industries.divisions.values() if d.section == arg],
            )
        if kind == "div" and draft.step == "industry":
            return self._industry_text(who, draft, arg)
        if kind == "q" and draft.step == "qualifications":
            if arg == "done":
                return self._ask_district(who, draft)
            if arg.isdigit() and int(arg) < len(vocab.qualifications):
                chosen = set(draft.profile.get("qualifications", []))
                name = vocab.qualifications[int(arg)].name
                chosen ^= {name}
                draft.profile["qualifications"] = sorted(chosen)
                self._keep(who, draft)
                return self.tell(who, "chosen", self._qual_buttons(draft), names=sorted(chosen))
        if kind == "d" and draft.step == "district":
            known = arg.isdigit() and int(arg) < len(vocab.districts)
            return self._confirm(who, draft, vocab.districts[int(arg)].name if known else None)
        if kind == "ok" and draft.step == "confirm":
            taken = self.store.chats.take_draft(who.channel, who.chat, KIND)
            if taken is None:  # a second press of 确认 while the first was answered
                return self.tell(who, "over")
            return self._save(who, dict(Draft.of(taken.data).profile))
        if kind == "cancel":
            self.store.chats.take_draft(who.channel, who.chat, KIND)
            return self.tell(who, "cancelled")
        return self.tell(who, "wrong_step")
