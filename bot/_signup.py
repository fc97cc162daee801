"""The web pages an enterprise uses on its phone without an account: 我能申报什么 (a short
form answered with the explained match), e-mail sign-up with double opt-in, one-click
unsubscribe, and calendar subscription that works inside WeChat's browser too.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot._commands import amount_wan
from bot._email import UNSUBSCRIBE_PATH, EmailChannel, valid_address
from bot._service import World, replan, round_book
from bot._views import environment
from bot._web import calendar_links, qr_svg
from bot.chat.registration import industry_matches
from schedulers import known_of, local_date, next_round
from subscriptions import (
    ELIGIBLE,
    HELD,
    INELIGIBLE,
    POSSIBLE,
    ProfileError,
    parse_profile,
)
from subscriptions import normalize_industry as canonical_industry
from subscriptions.store import SIGNUP_LIFETIME, Store

log = logging.getLogger("huiqi.web")

CHECK_PATH = "/check"
JOIN_PATH = "/join"  # /join/<code>: an enterprise the bureau invited
INVITE = "_invite"  # in a sign-up's stored profile: the invitation it came from
SUBSCRIBE_PATH = "/email/subscribe"
CONFIRM_PATH = "/email/confirm"
SIGNUPS_PER_DAY = 3  # confirmation mails to one address a day: the form cannot mail-bomb
INVALID_INVITE = (
    "这个邀请链接无效或已更换，请联系经信局重新获取；也可以在“我能申报什么”页面自行订阅。"
)
FIELDS = ("industry", "employees", "revenue", "district", "name")


@dataclass(frozen=True)
class Answer:
    """What the form said: the profile to match, or what is wrong with it."""

    raw: dict[str, Any]
    errors: tuple[str, ...] = ()
    choices: tuple[Any, ...] = ()  # several industries the word could mean


def read_form(world: World, form: Mapping[str, Any]) -> Answer:
    """The check form's fields as a profile: 行业 as words or a code, 人数, 营收 (1.2亿 ...),
    资质 and 区域 from the lists; each fault said in Chinese."""
    vocab = world.vocab
    raw: dict[str, Any] = {"name": str(form.get("name") or "").strip()[:100] or "我的企业"}
    errors: list[str] = []
    choices: tuple[Any, ...] = ()
    word = str(form.get("industry") or "").strip()[:40]
    if not word:
        errors.append("请填写行业：关键词（如 汽车、光电子）或行业代码（如 C36）。")
    else:
        try:
            raw["industry"] = canonical_industry(vocab.industries, word)
        except ValueError:
            term, matches = industry_matches(vocab, word)
            if len(matches) == 1:
                raw["industry"] = matches[0].full_code
            elif matches:
                choices = tuple(matches[:12])
                errors.append(f"“{word}”对应多个行业，请在下面选一个。")
            else:
                errors.append(f"没找到“{word}”对应的行业，请换个关键词，或填行业代码如 C39。")
            if term and term in vocab.chains:
                raw["chains"] = [term.name]
    people = str(form.get("employees") or "").replace(",", "").replace("人", "").strip()
    if people:
        if people.isdigit() and int(people) < 10_000_000:
            raw["employees"] = int(people)
        else:
            errors.append("从业人数请填整数，如 180。")
    revenue = str(form.get("revenue") or "").strip()[:20]
    if revenue:
        found = amount_wan(revenue)
        if found is None:
            errors.append("营业收入请写 12000（万元）、3000万 或 1.2亿。")
        else:
            raw["revenue_wan"] = found
    known = {q.name for q in vocab.qualifications}
    held = [q for q in _list(form, "qualifications") if q in known]
    if held:
        raw["qualifications"] = held
    district = str(form.get("district") or "")
    if district in {d.name for d in vocab.districts}:
        raw["district"] = district
    if not errors:
        try:
            parse_profile(raw, vocab)
        except ProfileError as exc:
            errors += [e.message for e in exc.errors]
    return Answer(raw, tuple(errors), choices)


def _list(form: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    values = getlist(key) if getlist else [form.get(key)]
    return [str(v) for v in values if v][:40]


def signup_routes(
    world: World,
    *,
    store: Callable[[], Store | None],
    email: Callable[[], EmailChannel | None],
    clock: Callable[[], dt.datetime],
    public_url: str | None,
    wechat_qr: str | None,
) -> list[Route]:
    """The routes of the check page and the e-mail sign-up."""
    env = environment()
    vocab = world.vocab
    categories = {t.key: t.name for t in world.catalog.vocab.categories}

    def base(request: Request) -> str:
        return (public_url or str(request.base_url)).rstrip("/")

    def page(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(f"web/{template}.html.j2").render(**ctx)
        return HTMLResponse(html, status)

    def links(request: Request, path: str) -> dict[str, Any]:
        return calendar_links(base(request) + path, request.headers.get("user-agent", ""))

    async def check(request: Request) -> Response:
        form = request.query_params
        asked = any(form.get(f) for f in FIELDS)
        answer = read_form(world, form) if asked else Answer({})
        items: list[tuple[Any, Any]] = []
        counts = {ELIGIBLE: 0, POSSIBLE: 0}
        if asked and not answer.errors:
            profile = parse_profile(answer.raw, vocab)
            ctx = world.context(profile)
            on = local_date(clock())
            opened = store()
            book = round_book(opened) if opened is not None else None
            for m in world.matcher(on).match_all(ctx):
                if m.decision in (INELIGIBLE, HELD):
                    continue
                counts[m.decision] = counts.get(m.decision, 0) + 1
                nxt = next_round(m.policy, on=on, known=known_of(book, m.policy.id))
                items.append((m, nxt))
        return page(
            "check",
            form={f: str(form.get(f) or "") for f in FIELDS},
            held=set(_list(form, "qualifications")),
            asked=asked,
            answer=answer,
            items=items,
            counts=counts,
            qualifications=vocab.qualifications,
            districts=vocab.districts,
            categories=categories,
            feed=links(request, "/feeds/all.ics"),
            email_on=email() is not None,
            wechat_qr=wechat_qr,
            lifetime=SIGNUP_LIFETIME.days,
        )

    async def subscribe(request: Request) -> Response:
        channel, opened = email(), store()
        if channel is None or opened is None:
            return page("message", 404, title="本站未开通邮件提醒", text="请关注公众号或订阅日历。")
        form = await request.form(max_files=0, max_fields=80)
        address = valid_address(str(form.get("address") or ""))
        invited = opened.registry.invited(str(form.get("invite") or ""))
        if form.get("invite") and invited is None:
            return page("message", 404, title="邀请链接无效", text=INVALID_INVITE, back=True)
        if invited is not None:  # the bureau's record: nothing to fill in but the address
            answer = Answer({**invited.profile, "name": invited.name, INVITE: form.get("invite")})
            name = invited.name
        else:
            answer = read_form(world, form)
            name = str(form.get("name") or "").strip()
        problems = list(answer.errors)
        if address is None:
            problems.insert(0, "请填写有效的邮箱地址，如 hr@example.cn。")
        if not name:
            problems.insert(0, "请填写企业名称（提醒和日历以此称呼您的企业）。")
        if problems or address is None:
            return page("message", 400, title="订阅信息有误", text="；".join(problems), back=True)
        now = clock()
        if opened.mail.recent_signups(address, since=now - dt.timedelta(days=1)) >= SIGNUPS_PER_DAY:
            return page(
                "message",
                429,
                title="确认邮件已发过多次",
                text=f"今天已向 {address} 发过确认邮件，请查收（含垃圾邮件箱），或明天再试。",
            )
        weekly = str(form.get("weekly") or "") == "1"
        token = opened.mail.sign_up(address, answer.raw, weekly=weekly, now=now)
        link = f"{base(request)}{CONFIRM_PATH}?t={token}"
        text = env.get_template("mail/confirm.txt.j2").render(
            name=answer.raw["name"], weekly=weekly, link=link, days=SIGNUP_LIFETIME.days
        )
        subject, _, body = text.strip().partition("\n")
        result = await channel.deliver(channel.compose(address, subject, body.strip()))
        if result.status != "ok":
            log.warning("confirmation mail to %s not sent: %s", address, result.detail)
            return page(
                "message", 503, title="确认邮件未能发出", text="邮件服务暂时不可用，请稍后再试。"
            )
        return page(
            "message",
            title="请查收确认邮件",
            text=f"确认邮件已发到 {address}。请在{SIGNUP_LIFETIME.days}天内打开邮件中的链接"
            "完成订阅；不确认就不会再收到任何邮件。",
        )

    async def confirm(request: Request) -> Response:
        opened, channel = store(), email()
        if opened is None or channel is None:
            return page("message", 404, title="本站未开通邮件提醒", text="请关注公众号或订阅日历。")
        now = clock()
        if request.method == "GET":  # mail scanners open links: only a press confirms
            token = request.query_params.get("t", "")[:100]
            signup = opened.mail.pending(token, now=now)
            if signup is None:
                return page("message", 404, title="链接无效或已过期", text="请回到网页重新订阅。")
            return page("confirm", address=signup.address, name=signup.profile["name"], token=token)
        form = await request.form(max_files=0, max_fields=5)
        signup = opened.mail.confirm(str(form.get("t") or "")[:100], now=now)
        if signup is None:
            return page("message", 404, title="链接无效或已过期", text="请回到网页重新订阅。")
        subscriber = opened.registry.subscriber(
            "email", signup.address, display_name=str(signup.profile["name"]), now=now
        )
        invited = opened.registry.invited(str(signup.profile.get(INVITE) or ""))
        if INVITE in signup.profile and invited is None:
            return page("message", 404, title="邀请链接无效", text=INVALID_INVITE)
        if invited is not None:
            other = opened.registry.join(subscriber, invited.id, now=now)
            if other is not None:
                return page(
                    "message",
                    409,
                    title="该邮箱已订阅其他企业",
                    text=f"{signup.address} 已订阅“{other.name}”的提醒。如要改为“{invited.name}”，"
                    "请先用提醒邮件底部的退订链接退订，再打开邀请链接。",
                )
            enterprise = invited.id
            signup = replace(signup, profile=invited.profile | {"name": invited.name})
        else:
            enterprise = opened.registry.register(subscriber, signup.profile, now=now)
        opened.registry.set_preferences(subscriber, weekly=signup.weekly)
        replan(opened, world, now=now, only={subscriber})
        feed = f"{base(request)}/feeds/e/{opened.tokens.issue_token(enterprise, now=now)}.ics"
        profile = parse_profile(signup.profile, vocab)
        decisions = world.matcher(local_date(now)).decide(world.context(profile))
        check_link = f"{base(request)}{CHECK_PATH}?" + urllib.parse.urlencode(
            _form_of(signup.profile)
        )
        text = env.get_template("mail/welcome.txt.j2").render(
            name=signup.profile["name"],
            weekly=signup.weekly,
            eligible=decisions.count(ELIGIBLE),
            possible=decisions.count(POSSIBLE),
            check_link=check_link,
            feed=feed,
        )
        subject, _, body = text.strip().partition("\n")
        unsubscribe = f"{base(request)}{UNSUBSCRIBE_PATH}?t=" + opened.mail.unsubscribe_token(
            subscriber, now=now
        )
        sent = await channel.deliver(
            channel.compose(signup.address, subject, body.strip(), unsubscribe=unsubscribe)
        )
        if sent.status != "ok":  # the subscription stands; the page shows the same links
            log.warning("welcome mail to %s not sent: %s", signup.address, sent.detail)
        return page(
            "subscribed",
            address=signup.address,
            name=signup.profile["name"],
            weekly=signup.weekly,
            feed=calendar_links(feed, request.headers.get("user-agent", "")),
        )

    async def unsubscribe(request: Request) -> Response:
        opened = store()
        token = request.query_params.get("t", "")[:100]
        found = opened.mail.subscriber_of(token) if opened is not None and token else None
        if opened is None or found is None:
            return page("message", 404, title="退订链接无效", text="这个链接不对应任何订阅。")
        subscriber, address = found
        if request.method == "GET":
            return page("unsubscribe", address=address, token=token)
        # RFC 8058: a mail client's one-click POST carries List-Unsubscribe=One-Click.
        opened.outbox.deactivate(subscriber, "邮件一键退订")
        return page("message", title="已退订", text=f"{address} 不会再收到申报提醒。")

    async def join(request: Request) -> Response:
        opened = store()
        if opened is None:
            return Response("服务正在启动，请稍后再试", status_code=503)
        code = request.path_params["code"][:20]
        invited = opened.registry.invited(code)
        if invited is None:
            return page("message", 404, title="邀请链接无效", text=INVALID_INVITE)
        link = f"{base(request)}{JOIN_PATH}/{code}"
        return page(
            "join",
            name=invited.name,
            code=code.upper(),
            qr=qr_svg(link),
            email_on=email() is not None,
            wechat_qr=wechat_qr,
            lifetime=SIGNUP_LIFETIME.days,
        )

    return [
        Route(CHECK_PATH, check),
        Route(JOIN_PATH + "/{code}", join),
        Route(SUBSCRIBE_PATH, subscribe, methods=["POST"]),
        Route(CONFIRM_PATH, confirm, methods=["GET", "POST"]),
        Route(UNSUBSCRIBE_PATH, unsubscribe, methods=["GET", "POST"]),
    ]


def _form_of(profile: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A stored profile as the check form's query, to see its matches again."""
    pairs = [("name", str(profile.get("name", "")))]
    pairs += [("industry", str(profile.get("industry", "")))]
    if "employees" in profile:
        pairs.append(("employees", str(profile["employees"])))
    if "revenue_wan" in profile:
        pairs.append(("revenue", str(profile["revenue_wan"])))
    pairs += [("qualifications", q) for q in profile.get("qualifications", [])]
    if "district" in profile:
        pairs.append(("district", str(profile["district"])))
    return pairs
