"""Registering an enterprise: the one-line form (`注册 行业=C39 人数=180 …`), the guided form
with buttons (one question at a time, its answers kept in the store), and 我的资料."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot._commands import FIELD_WORDS, USAGE, Command, profile_from_fields
from bot._service import replan
from bot.chat._talk import Button, ButtonHandler, Buttons, Handler, Reply, Talk, Who
from subscriptions import (
    ELIGIBLE,
    POSSIBLE,
    SIZE_NAMES,
    Context,
    ProfileError,
    classify,
    match,
    normalize_industry,
    parse_profile,
)

KIND = "register"  # the kind of this feature's drafts in the store


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

    def commands(self) -> dict[str, Handler]:
        return {"register": self.register, "profile": self.profile}

    def buttons(self) -> dict[str, ButtonHandler]:
        return {"reg": self.button}

    # --- the one-line form ------------------------------------------------------------

    def register(self, who: Who, cmd: Command) -> list[Reply]:
        refused = self.private_only(who)
        if refused:
            return refused
        if cmd.unknown_keys:
            return self.plain(f"不认识的项目：{'、'.join(cmd.unknown_keys)}。示例：\n{USAGE}")
        if not cmd.fields and who.typed:  # no buttons: the one-line form
            return self.plain(
                f"请一行写明企业情况，例如：\n{USAGE.replace('注册', '注册 名称=鄂州某公司', 1)}"
            )
        if not cmd.fields:
            self._keep(who, Draft())
            return self.plain("开始登记（随时发 /cancel 取消）。\n第1步：请输入企业名称。")
        raw = profile_from_fields(dict(cmd.fields))
        word = raw.get("industry")
        if isinstance(word, str) and word and not re.fullmatch(r"[A-Za-z]\d{0,4}", word):
            try:
                normalize_industry(self.world.vocab.industries, word)
            except ValueError:
                term, matches = self._industry_matches(word)
                if len(matches) != 1:
                    return self._industry_choices(word, matches)
                raw["industry"] = matches[0].full_code  # a word naming one industry
                if term and term in self.world.vocab.chains:
                    raw.setdefault("chains", [term.name])
        current = self.registered(who)
        if current is not None:  # a correction: keep what is not being changed
            raw = {**current.profile, **raw}
        raw.setdefault("name", who.display)
        return self._save(who, raw)

    def _industry_choices(self, word: str, matches: list[Any]) -> list[Reply]:
        """A one-line registration whose 行业 word fits no industry, or several."""
        if not matches:
            return self.plain(
                f"没找到“{word}”对应的行业。请写《国民经济行业分类》代码，如 行业=C39"
                "（计算机、通信和其他电子设备制造业），或换个关键词。"
            )
        shown = "\n".join(f"{d.full_code} {d.name}" for d in matches[:12])
        more = f"\n……共 {len(matches)} 个" if len(matches) > 12 else ""
        return self.plain(
            f"“{word}”对应多个行业，请把 行业= 改成其中一个代码后重发：\n{shown}{more}"
        )

    def _save(self, who: Who, raw: dict[str, Any]) -> list[Reply]:
        try:
            profile = parse_profile(raw, self.world.vocab)
        except ProfileError as exc:
            lines = "\n".join(
                f"• {FIELD_WORDS.get(e.field, (e.field,))[0]}：{e.message}" for e in exc.errors
            )
            return self.plain(f"登记信息有误，请修改后重发：\n{lines}\n\n示例：{USAGE}")
        subscriber = self.subscriber(who)
        stored = {k: v for k, v in raw.items() if v is not None}
        self.store.registry.register(subscriber, stored, now=self.clock())
        replan(self.store, self.world, now=self.clock(), only={subscriber})
        return self._say_registered(who, profile.name, stored)

    def profile(self, who: Who, cmd: Command) -> list[Reply]:
        found = self.own(who)
        if isinstance(found, list):
            return found
        name, raw = found.name, found.profile
        verb = "注册" if who.typed else "/register"
        return self._say_registered(who, name, raw) + self.plain(
            f"修改资料：再发一次 {verb} 加上要改的项目，如 {verb} 人数=200"
        )

    def _say_registered(self, who: Who, name: str, raw: dict[str, Any]) -> list[Reply]:
        """The profile as stored, its size class and how many policies it matches."""
        profile = parse_profile(raw, self.world.vocab)
        ctx = Context.of(profile, self.world.vocab, self.world.standard)
        decisions = [match(ctx, p, on=self.today()).decision for p in self.world.catalog.policies]
        return self.say(
            "registered",
            name=name,
            profile=profile,
            industry_name=self.world.vocab.industries.name_of(profile.industry),
            size=SIZE_NAMES[ctx.size.size] + "企业" if ctx.size.size else None,
            counts={d: decisions.count(d) for d in (ELIGIBLE, POSSIBLE)},
            typed=who.typed,
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
                return self.plain("请输入企业名称（100字以内）。")
            draft.profile["name"] = text
            draft.step = "industry"
            self._keep(who, draft)
            return self.plain(
                "第2步：选择行业门类，或直接输入行业代码（如 C39）或关键词（如 光电子）。",
                self._sections(),
            )
        if draft.step == "industry":
            return self._industry_text(who, draft, text)
        if draft.step in ("employees", "revenue"):
            number = text.replace(",", "").replace("人", "").replace("万元", "").replace("万", "")
            if not re.fullmatch(r"\d+(\.\d+)?", number):
                what = "从业人数（整数）" if draft.step == "employees" else "上年营业收入（万元）"
                return self.plain(
                    f"请输入{what}，例如 {'180' if draft.step == 'employees' else '12000'}。"
                )
            if draft.step == "employees":
                draft.profile["employees"] = int(float(number))
                draft.step = "revenue"
                self._keep(who, draft)
                return self.plain("第4步：上年营业收入是多少万元？")
            draft.profile["revenue_wan"] = float(number) if "." in number else int(number)
            draft.step = "qualifications"
            self._keep(who, draft)
            size = classify(
                self.world.standard,
                draft.profile["industry"],
                employees=draft.profile["employees"],
                revenue_wan=draft.profile["revenue_wan"],
            )
            label = (
                f"按《中小企业划型标准规定》为{SIZE_NAMES[size.size]}企业（{size.group}）。"
                if size.size
                else ""
            )
            return self.plain(
                f"{label}\n第5步：选择已有的资质（可多选），选好点“完成”。",
                self._qual_buttons(draft),
            )
        return self.plain("请点选上面的按钮，或发 /cancel 取消。")

    def _industry_matches(self, text: str) -> tuple[Any, list[Any]]:
        """The industry group a word names (if any) and the divisions it or the word covers."""
        term = self.world.vocab.find("industry_groups", text)
        divisions = term.divisions if term else ()
        matches = [
            d
            for d in self.world.vocab.industries.divisions.values()
            if d.code in divisions or (text and text in d.name)
        ]
        return term, matches

    def _industry_text(self, who: Who, draft: Draft, text: str) -> list[Reply]:
        try:
            draft.profile["industry"] = normalize_industry(self.world.vocab.industries, text)
        except ValueError:
            term, matches = self._industry_matches(text)
            if not matches:
                return self.plain(
                    f"没找到“{text}”对应的行业。请选门类，或输入代码如 C39。", self._sections()
                )
            if term and term in self.world.vocab.chains:
                draft.profile["chains"] = [term.name]
                self._keep(who, draft)
            rows = tuple(
                (Button(f"{d.full_code} {d.name}", data=f"reg:div:{d.full_code}"),)
                for d in matches[:12]
            )
            return self.plain("请选择具体行业：", rows)
        draft.step = "employees"
        self._keep(who, draft)
        industry = draft.profile["industry"]
        name = self.world.vocab.industries.name_of(industry)
        return self.plain(f"行业：{industry}（{name}）\n第3步：从业人数是多少？")

    def button(self, who: Who, value: str) -> list[Reply]:
        """A press of one of the guided registration's buttons."""
        draft = self.in_progress(who)
        if draft is None:
            return self.plain("这次登记已结束。发 /register 重新开始。")
        kind, _, arg = value.partition(":")
        vocab = self.world.vocab
        if kind == "sec" and draft.step == "industry" and arg in vocab.industries.sections:
            return self.plain(
                f"{arg} {vocab.industries.sections[arg]}：请选择大类。", self._divisions(arg)
            )
        if kind == "div" and draft.step == "industry":
            return self._industry_text(who, draft, arg)
        if kind == "q" and draft.step == "qualifications":
            if arg == "done":
                draft.step = "district"
                self._keep(who, draft)
                return self.plain("第6步：企业在哪个区？", self._district_buttons())
            if arg.isdigit() and int(arg) < len(vocab.qualifications):
                chosen = set(draft.profile.get("qualifications", []))
                name = vocab.qualifications[int(arg)].name
                chosen ^= {name}
                draft.profile["qualifications"] = sorted(chosen)
                self._keep(who, draft)
                return self.plain(
                    "已选：" + ("、".join(sorted(chosen)) or "无"), self._qual_buttons(draft)
                )
        if kind == "d" and draft.step == "district":
            if arg.isdigit() and int(arg) < len(vocab.districts):
                draft.profile["district"] = vocab.districts[int(arg)].name
            draft.step = "confirm"
            self._keep(who, draft)
            p = draft.profile
            summary = (
                f"请确认：\n企业：{p['name']}\n行业：{p['industry']}\n"
                f"人数：{p['employees']}，营收：{p['revenue_wan']}万元\n"
                f"资质：{'、'.join(p.get('qualifications', [])) or '无'}\n"
                f"区域：{p.get('district', '未填')}"
            )
            return self.plain(
                summary, ((Button("确认登记", data="reg:ok"), Button("取消", data="reg:cancel")),)
            )
        if kind == "ok" and draft.step == "confirm":
            taken = self.store.chats.take_draft(who.channel, who.chat, KIND)
            if taken is None:  # a second press of 确认 while the first was answered
                return self.plain("这次登记已结束。发 /register 重新开始。")
            return self._save(who, dict(Draft.of(taken.data).profile))
        if kind == "cancel":
            self.store.chats.take_draft(who.channel, who.chat, KIND)
            return self.plain("已取消登记。")
        return self.plain("这个按钮不属于当前步骤，请按提示操作，或发 /cancel 取消。")
