"""The bureau's web console at /admin: dashboard, publishing and withdrawing rounds from this
year's notice, enterprises (import, search, export), the delivery log (and its .xlsx export),
the policy catalog, and the audit log. In Chinese, for the bureau's staff.

Roles: a viewer (查看员) sees everything but the audit log; an editor (编辑) also publishes,
withdraws and imports; an admin (管理员) also reads the audit log. Accounts are made with
`huiqi admin add-user`.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot._service import (
    RoundRefused,
    World,
    add_round,
    replan,
    round_book,
    round_problems,
    sync_rounds,
    told_of,
    withdraw_round,
)
from bot._signup import JOIN_PATH
from bot._views import environment
from bot._web import qr_svg
from bot.console import _auth as auth
from bot.console import _drafts as drafts
from bot.console._fetch import FetchError, fetch_notice
from bot.console._sheets import MAX_BYTES, Row, SheetError, read_sheet, workbook
from schedulers import CONTINUOUS, EXPIRED, STATUSES, known_of, local_date, next_round, status
from schedulers._audit import audit_row
from schedulers._notice import MAX_CHARS, Proposal, policy_candidates, read_notice
from schedulers.data import DATA_DIR
from subscriptions import (
    ELIGIBLE,
    HELD,
    INELIGIBLE,
    POSSIBLE,
    ProfileError,
    parse_profile,
)
from subscriptions.store import Store, StoredRound

log = logging.getLogger("huiqi.console")

PUBLISH_BODY = 3 * 1024 * 1024  # a pasted notice of 200,000 characters, as a multipart form
IMPORT_BODY = 8 * 1024 * 1024  # a 5 MB sheet, or its preview sent back in base64
CHANNEL_NAMES = {
    "telegram": "Telegram",
    "wecom": "企业微信",
    "wechat": "微信公众号",
    "email": "电子邮件",
    "console": "控制台",
}
RESULT_NAMES = {
    "sent": "已送达",
    "retry": "稍后重试",
    "failed": "失败",
    "dead": "放弃（多次失败）",
    "dropped": "已取消",
    "uncertain": "结果不明",
}
KIND_NAMES = {
    "open": "开始申报",
    "close": "截止提醒",
}
WINDOW_NAMES = {"annual": "每年", "dated": "指定日期", "continuous": "常年", "tbd": "待定"}
DECISION_NAMES = {ELIGIBLE: "符合", POSSIBLE: "可能符合", HELD: "已具备", INELIGIBLE: "不符合"}


@dataclass(frozen=True)
class Paths:
    """Where the console's forms post (the request limits give each its own body cap)."""

    login: str = "/admin/login"
    logout: str = "/admin/logout"
    publish: str = "/admin/publish"
    withdraw: str = "/admin/rounds/withdraw"
    import_: str = "/admin/enterprises/import"
    invite: str = "/admin/enterprises/invite"
    draft: str = "/admin/policies/new"


PATHS = Paths()
BODY_CAPS = {
    PATHS.login: 16 * 1024,
    PATHS.logout: 16 * 1024,
    PATHS.withdraw: 16 * 1024,
    PATHS.invite: 16 * 1024,
    PATHS.draft: 64 * 1024,
    PATHS.publish: PUBLISH_BODY,
    PATHS.import_: IMPORT_BODY,
}

Handler = Callable[[Request, auth.Signed], Awaitable[Response]]


def console_routes(
    world: World,
    *,
    store: Callable[[], Store | None],
    clock: Callable[[], dt.datetime],
    public_url: str | None,
    fetch_private: bool = False,
    data_dir: Path = DATA_DIR,
) -> list[Route]:
    """The console's routes (their body caps are `BODY_CAPS`); drafted policies are saved
    under `data_dir`."""
    env = environment()
    guard = auth.Guard(store, clock, public_url)
    catalog = world.catalog

    def page(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        signed: auth.Signed | None = ctx.pop("signed", None)
        html = env.get_template(f"console/{template}.html.j2").render(
            me=signed.user if signed else None,
            csrf=signed.csrf if signed else "",
            role_name=auth.role_name,
            path=request.url.path,
            paths=PATHS,
            **ctx,
        )
        response = HTMLResponse(html, status_code)
        # The console's pages are never cached, framed or sent with their address elsewhere.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'; form-action 'self'"
        )
        return response

    def refuse(request: Request, status_code: int, title: str, text: str, **ctx: Any) -> Response:
        return page(request, "message", status_code, title=title, text=text, **ctx)

    def opened() -> Store:
        found = store()
        if found is None:
            raise _Starting
        return found

    def needs(role: str, *, form: bool = False) -> Callable[[Handler], Callable[..., Any]]:
        """A page for accounts of at least `role`; `form`: a POST whose CSRF token must match."""

        def wrap(handler: Handler) -> Callable[..., Any]:
            async def endpoint(request: Request) -> Response:
                if store() is None:
                    return Response("服务正在启动，请稍后再试", status_code=503)
                signed = await asyncio.to_thread(guard.signed_in, request)
                if signed is None:
                    if request.method != "GET":
                        return refuse(request, 401, "请先登录", "登录已失效，请重新登录后再操作。")
                    target = request.url.path + (
                        "?" + request.url.query if request.url.query else ""
                    )
                    query = urllib.parse.urlencode({"next": target})
                    return RedirectResponse(f"{PATHS.login}?{query}", status_code=303)
                if not signed.user.may(role):
                    return refuse(
                        request,
                        403,
                        "没有权限",
                        f"此操作需要“{auth.role_name(role)}”权限，"
                        f"您的账号（{signed.user.name}）是“{auth.role_name(signed.user.role)}”。"
                        "如需权限，请联系管理员。",
                        signed=signed,
                    )
                if (form or request.method == "POST") and not guard.same_origin(request):
                    return refuse(request, 403, "请求被拒绝", "表单来自其他网站，未执行。")
                data = await _form(request) if form or request.method == "POST" else None
                try:
                    if form or request.method == "POST":
                        if data is None:
                            return refuse(request, 400, "表单有误", "表单内容无法读取，请重试。")
                        if not guard.token_ok(data.get("csrf"), signed.csrf):
                            return refuse(
                                request,
                                403,
                                "表单已过期",
                                "表单缺少有效的安全校验码（可能已过期或来自别处），未执行。"
                                "请刷新页面后重试。",
                                signed=signed,
                            )
                        request.state.form = data
                    return await handler(request, signed)
                except _Starting:
                    return Response("服务正在启动，请稍后再试", status_code=503)
                finally:
                    if data is not None:
                        await data.close()  # uploaded files' temporary storage

            return endpoint

        return wrap

    # -- signing in and out ------------------------------------------------------------------

    async def login(request: Request) -> Response:
        if store() is None:
            return Response("服务正在启动，请稍后再试", status_code=503)
        nonce, new = guard.login_nonce(request)
        target = _next(request.query_params.get("next"))

        def form_page(status_code: int = 200, **ctx: Any) -> HTMLResponse:
            shown = page(
                request,
                "login",
                status_code,
                csrf_login=guard.csrf_for("login:" + nonce),
                next=target,
                **ctx,
            )
            if new:
                guard.set_login_nonce(shown, request, nonce)
            return shown

        if request.method == "GET":
            signed = await asyncio.to_thread(guard.signed_in, request)
            if signed is not None:
                return RedirectResponse(target, status_code=303)
            shown = page(request, "login", csrf_login=guard.csrf_for("login:" + nonce), next=target)
            if new:
                guard.set_login_nonce(shown, request, nonce)
            return shown
        if not guard.same_origin(request):
            return refuse(request, 403, "请求被拒绝", "表单来自其他网站，未执行。")
        data = await _form(request, max_files=0)
        if (
            data is None
            or new
            or not guard.token_ok(data.get("csrf"), guard.csrf_for("login:" + nonce))
        ):
            return form_page(403, error="登录页面已过期，请重新输入后登录。")
        name = str(data.get("name") or "").strip()[:64]
        password = str(data.get("password") or "")
        target = _next(str(data.get("next") or ""))
        address = request.client.host if request.client else "unknown"

        def attempt() -> tuple[str, Any]:
            if guard.throttled(name, address):
                return "throttled", None
            user = opened().console.user(name) if name else None
            if not auth.check_password(user, password) or user is None or not user.active:
                guard.failed(name, address)
                return "wrong", None
            guard.succeeded(name)
            if auth.needs_rehash(user):
                opened().console.update_user(
                    user.name, password_hash=auth.hash_password(password), now=clock()
                )
            return "ok", user

        outcome, user = await asyncio.to_thread(attempt)
        if outcome == "throttled":
            log.warning("console sign-in throttled for %r from %s", name, address)
            minutes = auth.THROTTLE_WINDOW.seconds // 60
            return form_page(429, error=f"登录失败次数过多，请 {minutes} 分钟后再试。")
        if outcome == "wrong":
            log.info("console sign-in refused for %r from %s", name, address)
            return form_page(401, name=name, error="账号或密码不正确。")
        onward = RedirectResponse(target, status_code=303)
        await asyncio.to_thread(guard.start, onward, request, user)
        await asyncio.to_thread(opened().console.record, user.name, "login", user.name, now=clock())
        return onward

    @needs("viewer", form=True)
    async def logout(request: Request, signed: auth.Signed) -> Response:
        response = RedirectResponse(PATHS.login, status_code=303)
        await asyncio.to_thread(guard.end, response, signed)
        return response

    # -- dashboard -----------------------------------------------------------------------------

    @needs("viewer")
    async def dashboard(request: Request, signed: auth.Signed) -> Response:
        def gather() -> dict[str, Any]:
            s = opened()
            now = clock()
            today = local_date(now)
            rounds = s.rounds.current_rounds()  # synced at start-up and by the hourly replan
            soon = today + dt.timedelta(days=30)
            open_now = [r for r in rounds if _is_open(r, today)]
            coming = [r for r in rounds if r.open is not None and today < r.open <= soon]
            closing = [
                r
                for r in rounds
                if r.open is None and r.close is not None and today <= r.close <= soon
            ]
            channels = s.reports.enterprise_channels()
            per_channel = Counter(c for chans in channels.values() for c in chans)
            enterprises = s.registry.enterprises()
            week = s.reports.results_since(now - dt.timedelta(days=7))
            matched, told, answered = s.reports.matched(), s.reports.told(), s.reports.answered()
            funnel = [
                {
                    "round": r,
                    "policy": catalog.get(r.policy_id),
                    "matched": matched.get(r.policy_id, 0),
                    "told": told.get(r.key, 0),
                    "applied": answered.get(r.key, {}).get("applied", 0),
                    "not_interested": answered.get(r.key, {}).get("not_interested", 0),
                }
                for r in sorted(
                    {
                        r.key: r
                        for r in rounds
                        if r in open_now or r in coming or r in closing or told.get(r.key)
                    }.values(),
                    key=_round_order,
                )
            ]
            return {
                "today": today,
                "open_now": sorted(open_now, key=_round_order),
                "coming": sorted([*coming, *closing], key=_round_order),
                "per_channel": per_channel,
                "enterprises": len(enterprises),
                "unreached": sum(1 for e in enterprises if e.id not in channels),
                "week": week,
                "funnel": funnel,
            }

        return page(
            request,
            "dashboard",
            signed=signed,
            names=_policy_names(world),
            channel_names=CHANNEL_NAMES,
            **await asyncio.to_thread(gather),
        )

    # -- publishing from a notice --------------------------------------------------------------

    def choosable() -> list[Any]:
        today = local_date(clock())
        return [p for p in catalog.policies if status(p, on=today) not in (EXPIRED, CONTINUOUS)]

    def reach(policy_id: str) -> dict[str, int]:
        """How many registered enterprises the policy concerns, by decision, and who is told."""
        s = opened()
        today = local_date(clock())
        policy = catalog.get(policy_id)
        counts: dict[str, int] = {ELIGIBLE: 0, POSSIBLE: 0, HELD: 0, INELIGIBLE: 0}
        if policy is None:
            return {**counts, "told": 0}
        matcher = world.matcher(today)
        for e in s.registry.enterprises():
            try:
                profile = parse_profile(e.profile, world.vocab)
            except ProfileError:
                continue
            counts[matcher.match(world.context(profile), policy).decision] += 1
        return {**counts, "told": told_of(s, world, policy_id, on=today)}

    def publish_form(
        request: Request,
        signed: auth.Signed,
        *,
        status_code: int = 200,
        text: str = "",
        url: str = "",
        proposal: Proposal | None = None,
        chosen: str | None = None,
        open_: str = "",
        close: str = "",
        problems: list[str] | None = None,
        counts: dict[str, int] | None = None,
        candidates: list[Any] | None = None,
    ) -> Response:
        return page(
            request,
            "publish",
            status_code,
            signed=signed,
            text=text,
            url=url,
            proposal=proposal,
            chosen=chosen,
            open=open_,
            close=close,
            problems=problems or [],
            counts=counts,
            candidates=candidates or [],
            policies=choosable(),
            decision_names=DECISION_NAMES,
            max_chars=MAX_CHARS,
        )

    @needs("viewer")
    async def publish_page(request: Request, signed: auth.Signed) -> Response:
        q = request.query_params
        chosen = q.get("policy") if catalog.get(q.get("policy") or "") else None
        counts = await asyncio.to_thread(reach, chosen) if chosen else None
        return publish_form(
            request,
            signed,
            chosen=chosen,
            open_=_iso(q.get("open")),
            close=_iso(q.get("close")),
            url=(q.get("notice") or "")[:500],
            counts=counts,
        )

    @needs("editor", form=True)
    async def publish(request: Request, signed: auth.Signed) -> Response:
        data: FormData = request.state.form
        step = str(data.get("step") or "read")
        text = str(data.get("text") or "")[:MAX_CHARS]
        url = str(data.get("url") or "").strip()[:500]
        chosen = str(data.get("policy") or "") or None
        if step == "read":
            problems: list[str] = []
            if not text.strip() and url:
                try:
                    text = await fetch_notice(url, allow_private=fetch_private)
                except FetchError as exc:
                    problems.append(str(exc))
            if not text.strip() and not problems:
                problems.append("请粘贴通知全文，或填写通知网址。")
            if problems:
                return publish_form(
                    request, signed, status_code=400, text=text, url=url, problems=problems
                )
            today = local_date(clock())
            proposal = read_notice(text, default_year=today.year)
            candidates = policy_candidates(text, choosable())
            chosen = candidates[0].id if candidates else None
            counts = await asyncio.to_thread(reach, chosen) if chosen else None
            return publish_form(
                request,
                signed,
                text=text,
                url=url,
                proposal=proposal,
                candidates=candidates,
                chosen=chosen,
                open_=proposal.open.isoformat() if proposal.open else "",
                close=proposal.close.isoformat() if proposal.close else "",
                counts=counts,
            )
        open_, close = str(data.get("open") or ""), str(data.get("close") or "")
        problems = []
        dates: dict[str, dt.date | None] = {}
        for label, value, key in (("开始日期", open_, "open"), ("截止日期", close, "close")):
            try:
                dates[key] = dt.date.fromisoformat(value) if value else None
            except ValueError:
                problems.append(f"{label}“{value[:20]}”应为 年-月-日，如 2026-12-25")
                dates[key] = None
        policy = catalog.get(chosen or "")
        if policy is None:
            problems.append("请选择通知对应的政策")
        read = read_notice(text, default_year=local_date(clock()).year) if text else None
        candidates = policy_candidates(text, choosable()) if text else []
        if not problems and policy is not None:
            problems = round_problems(
                catalog,
                policy.id,
                open=dates["open"],
                close=dates["close"],
                notice_url=url or None,
                today=local_date(clock()),
            )
        if problems or step != "confirm" or policy is None:
            # The reach is shown while the officer decides, not computed for a confirmed round.
            counts = await asyncio.to_thread(reach, policy.id) if policy else None
            return publish_form(
                request,
                signed,
                status_code=400 if problems else 200,
                text=text,
                url=url,
                proposal=read,
                candidates=candidates,
                chosen=chosen,
                open_=open_,
                close=close,
                problems=problems,
                counts=counts,
            )

        def confirm() -> tuple[StoredRound | None, StoredRound, int]:
            s, now = opened(), clock()
            sync_rounds(s, catalog, now=now)
            old, new, notices = add_round(
                s,
                catalog,
                policy.id,
                open=dates["open"],
                close=dates["close"],
                notice_url=url or None,
                now=now,
            )
            if old is None or old.version != new.version:
                replan(s, world, now=now)
                s.console.record(
                    signed.user.name,
                    "round.publish",
                    new.key,
                    now=now,
                    before=_round_record(old),
                    after={**(_round_record(new) or {}), "notices": notices},
                )
            return old, new, notices

        try:
            old, new, notices = await asyncio.to_thread(confirm)
        except RoundRefused as exc:
            return publish_form(
                request,
                signed,
                status_code=400,
                text=text,
                url=url,
                chosen=chosen,
                open_=open_,
                close=close,
                problems=exc.problems,
                counts=await asyncio.to_thread(reach, policy.id),
            )
        done = "unchanged" if old is not None and old.version == new.version else "published"
        query = urllib.parse.urlencode({done: new.key, "notices": notices})
        return RedirectResponse(f"/admin/rounds?{query}", status_code=303)

    # -- rounds and withdrawing ----------------------------------------------------------------

    @needs("viewer")
    async def rounds_page(request: Request, signed: auth.Signed) -> Response:
        def gather() -> dict[str, Any]:
            s = opened()
            now = clock()
            today = local_date(now)
            rounds = [
                r
                for r in s.rounds.current_rounds()
                if (r.close or r.open or today) >= today - dt.timedelta(days=60)
                or r.source == "admin"
            ]
            return {
                "rounds": sorted(rounds, key=_round_order),
                "told": s.reports.told(),
                "answered": s.reports.answered(),
                "today": today,
            }

        q = request.query_params
        return page(
            request,
            "rounds",
            signed=signed,
            names=_policy_names(world),
            published=q.get("published"),
            unchanged=q.get("unchanged"),
            withdrawn=q.get("withdrawn"),
            notices=q.get("notices"),
            **await asyncio.to_thread(gather),
        )

    @needs("editor", form=True)
    async def withdraw(request: Request, signed: auth.Signed) -> Response:
        data: FormData = request.state.form
        key = str(data.get("key") or "")[:160]
        reason = " ".join(str(data.get("reason") or "").split())
        if not reason or len(reason) > 200:
            return refuse(
                request,
                400,
                "请说明撤回原因",
                "撤回原因会发给已收到通知的企业：请用 1 至 200 个字说明。",
                signed=signed,
                back="/admin/rounds",
            )

        def run() -> tuple[StoredRound, StoredRound, int] | None:
            s, now = opened(), clock()
            found = withdraw_round(s, key=key, reason=reason, now=now)
            if found is None:
                return None
            old, new, notices = found
            replan(s, world, now=now)
            s.console.record(
                signed.user.name,
                "round.withdraw",
                key,
                now=now,
                before=_round_record(old),
                after={**(_round_record(new) or {}), "notices": notices},
            )
            return found

        found = await asyncio.to_thread(run)
        if found is None:
            return refuse(
                request,
                404,
                "无法撤回",
                "只能撤回经本局发布、且尚未撤回的批次。",
                signed=signed,
                back="/admin/rounds",
            )
        query = urllib.parse.urlencode({"withdrawn": key, "notices": found[2]})
        return RedirectResponse(f"/admin/rounds?{query}", status_code=303)

    # -- the delivery log ----------------------------------------------------------------------

    def log_filters(request: Request) -> tuple[str | None, int | None]:
        q = request.query_params
        round_key = (q.get("round") or "")[:160] or None
        text = q.get("enterprise") or ""
        return round_key, int(text) if text.isdigit() and len(text) < 12 else None

    @needs("viewer")
    async def deliveries(request: Request, signed: auth.Signed) -> Response:
        round_key, enterprise_id = log_filters(request)
        lines = await asyncio.to_thread(
            lambda: opened().reports.delivery_log(round_key=round_key, enterprise_id=enterprise_id)
        )
        query = request.url.query
        return page(
            request,
            "deliveries",
            signed=signed,
            lines=lines,
            round_key=round_key,
            enterprise_id=enterprise_id,
            export=f"/admin/deliveries.xlsx{'?' + query if query else ''}",
            channel_names=CHANNEL_NAMES,
            result_names=RESULT_NAMES,
            kind_names=KIND_NAMES,
            local=_local,
        )

    @needs("viewer")
    async def deliveries_xlsx(request: Request, signed: auth.Signed) -> Response:
        round_key, enterprise_id = log_filters(request)

        def build() -> bytes:
            lines = opened().reports.delivery_log(
                round_key=round_key, enterprise_id=enterprise_id, limit=100_000
            )
            return workbook(
                "送达记录",
                [
                    "时间（北京时间）",
                    "批次",
                    "批次版本",
                    "类型",
                    "渠道",
                    "接收方",
                    "企业",
                    "结果",
                    "平台答复",
                ],
                (
                    [
                        _local(d.at),
                        d.round_key,
                        d.round_version,
                        KIND_NAMES.get(d.kind, d.kind),
                        CHANNEL_NAMES.get(d.channel, d.channel),
                        d.subscriber or d.address,
                        "、".join(d.enterprises),
                        RESULT_NAMES.get(d.result, d.result),
                        d.detail,
                    ]
                    for d in lines
                ),
            )

        body = await asyncio.to_thread(build)
        await asyncio.to_thread(
            opened().console.record,
            signed.user.name,
            "deliveries.export",
            round_key or (f"enterprise:{enterprise_id}" if enterprise_id else "all"),
            now=clock(),
        )
        return _download(body, f"送达记录-{local_date(clock()).isoformat()}.xlsx")

    # -- enterprises ---------------------------------------------------------------------------

    def base(request: Request) -> str:
        return (public_url or str(request.base_url)).rstrip("/")

    def enterprise_rows(request: Request) -> list[dict[str, Any]]:
        s = opened()
        codes = s.registry.invitations()
        q = (request.query_params.get("q") or "").strip()[:60]
        channel = request.query_params.get("channel") or ""
        reached = s.reports.enterprise_channels()
        out = []
        for e in s.registry.enterprises():
            chans = reached.get(e.id, ())
            if q and q not in e.name and q not in str(e.profile.get("industry", "")):
                continue
            if channel == "none" and chans:
                continue
            if channel and channel != "none" and channel not in chans:
                continue
            out.append({"e": e, "channels": chans, "code": codes.get(e.id)})
        return out

    @needs("viewer")
    async def enterprises_page(request: Request, signed: auth.Signed) -> Response:
        rows = await asyncio.to_thread(enterprise_rows, request)
        q = request.query_params
        return page(
            request,
            "enterprises",
            signed=signed,
            rows=rows,
            q=(q.get("q") or "")[:60],
            channel=q.get("channel") or "",
            channel_names=CHANNEL_NAMES,
            imported={k: q.get(k) for k in ("new", "updated", "unchanged", "rejected") if q.get(k)},
            export="/admin/enterprises.xlsx"
            + ("?" + request.url.query if request.url.query else ""),
        )

    @needs("viewer")
    async def enterprises_xlsx(request: Request, signed: auth.Signed) -> Response:
        def build() -> bytes:
            rows = enterprise_rows(request)
            return workbook(
                "企业",
                [
                    "企业名称",
                    "行业",
                    "从业人数",
                    "营业收入（万元）",
                    "区域",
                    "资质",
                    "渠道",
                    "邀请码",
                    "邀请链接",
                ],
                (
                    [
                        r["e"].name,
                        r["e"].profile.get("industry", ""),
                        r["e"].profile.get("employees"),
                        r["e"].profile.get("revenue_wan"),
                        r["e"].profile.get("district", ""),
                        "、".join(r["e"].profile.get("qualifications", [])),
                        "、".join(CHANNEL_NAMES.get(c, c) for c in r["channels"]),
                        r["code"] or "",
                        f"{base(request)}{JOIN_PATH}/{r['code']}" if r["code"] else "",
                    ]
                    for r in rows
                ),
            )

        body = await asyncio.to_thread(build)
        return _download(body, f"企业-{local_date(clock()).isoformat()}.xlsx")

    @needs("viewer")
    async def invite_page(request: Request, signed: auth.Signed) -> Response:
        text = request.path_params["enterprise_id"]
        eid = int(text) if text.isdigit() and len(text) < 12 else -1

        def find() -> tuple[Any, str | None]:
            s = opened()
            return s.registry.enterprise(eid), s.registry.invitation_code(eid)

        enterprise, code = await asyncio.to_thread(find)
        if enterprise is None:
            return refuse(
                request,
                404,
                "没有这家企业",
                "请从企业列表进入。",
                signed=signed,
                back="/admin/enterprises",
            )
        link = f"{base(request)}{JOIN_PATH}/{code}" if code else None
        return page(
            request,
            "invite",
            signed=signed,
            enterprise=enterprise,
            code=code,
            link=link,
            qr=qr_svg(link) if link else None,
        )

    @needs("editor", form=True)
    async def invite(request: Request, signed: auth.Signed) -> Response:
        data: FormData = request.state.form
        text = str(data.get("enterprise") or "")
        eid = int(text) if text.isdigit() and len(text) < 12 else -1
        renew = str(data.get("renew") or "") == "1"

        def run() -> bool:
            s, now = opened(), clock()
            if s.registry.enterprise(eid) is None:
                return False
            before = s.registry.invitation_code(eid)
            code = s.registry.invitation(eid, now=now, renew=renew)
            s.console.record(
                signed.user.name,
                "invite.renew" if renew else "invite.make",
                f"enterprise:{eid}",
                now=now,
                before={"code": before} if before else None,
                after={"code": code},
            )
            return True

        if not await asyncio.to_thread(run):
            return refuse(
                request,
                404,
                "没有这家企业",
                "请从企业列表进入。",
                signed=signed,
                back="/admin/enterprises",
            )
        return RedirectResponse(f"/admin/enterprises/{eid}/invite", status_code=303)

    @needs("viewer")
    async def import_page(request: Request, signed: auth.Signed) -> Response:
        return page(request, "import", signed=signed, preview=None, max_mb=MAX_BYTES // 2**20)

    @needs("editor", form=True)
    async def import_(request: Request, signed: auth.Signed) -> Response:
        data: FormData = request.state.form
        upload = data.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_BYTES + 1)
            filename = upload.filename
        else:
            try:
                content = base64.b64decode(str(data.get("payload") or ""), validate=True)
            except ValueError:
                content = b""
            filename = str(data.get("filename") or "")[:200]
        if not content:
            return page(
                request,
                "import",
                400,
                signed=signed,
                preview=None,
                max_mb=MAX_BYTES // 2**20,
                error="请选择要导入的 .xlsx 或 .csv 文件。",
            )
        try:
            rows = await asyncio.to_thread(read_sheet, content, filename, world.vocab)
        except SheetError as exc:
            return page(
                request,
                "import",
                400,
                signed=signed,
                preview=None,
                max_mb=MAX_BYTES // 2**20,
                error=str(exc),
            )
        existing = {e.name: e for e in await asyncio.to_thread(opened().registry.enterprises)}
        outcomes = _outcomes(rows, existing)
        counts = Counter(o for _, o in outcomes)
        if str(data.get("step") or "") != "confirm":
            return page(
                request,
                "import",
                signed=signed,
                preview=outcomes,
                counts=counts,
                filename=filename,
                payload=base64.b64encode(content).decode(),
                max_mb=MAX_BYTES // 2**20,
            )

        def write() -> None:
            s, now = opened(), clock()
            changes = []
            for row, outcome in outcomes:
                if outcome in ("new", "updated"):
                    eid = s.registry.save_enterprise(row.name.strip(), row.raw, now=now)
                    s.registry.invitation(eid, now=now)  # the bureau's record: invite its contact
                    old = existing.get(row.name.strip())
                    changes.append((row.name.strip(), old.profile if old else None, row.raw))
            s.console.record_many(signed.user.name, "enterprise.import", changes, now=now)
            s.console.record(
                signed.user.name,
                "enterprises.import",
                filename,
                now=now,
                after={k: counts.get(k, 0) for k in ("new", "updated", "unchanged", "rejected")},
            )
            replan(s, world, now=now)

        await asyncio.to_thread(write)
        query = urllib.parse.urlencode(
            {k: counts.get(k, 0) for k in ("new", "updated", "unchanged", "rejected")}
        )
        return RedirectResponse(f"/admin/enterprises?{query}", status_code=303)

    # -- the catalog ---------------------------------------------------------------------------

    @needs("viewer")
    async def policies_page(request: Request, signed: auth.Signed) -> Response:
        basis = cast(dict[str, str], env.globals["basis_names"])

        def gather() -> list[dict[str, Any]]:
            s, now = opened(), clock()
            today = local_date(now)
            book = round_book(s)
            rows = []
            for p in catalog.policies:
                known = known_of(book, p.id)
                found = status(p, on=today, known=known)
                windows = [
                    WINDOW_NAMES.get(w.kind, w.kind)
                    + (f"（{basis.get(str(w.basis), w.basis)}）" if hasattr(w, "basis") else "")
                    for w in p.windows
                ]
                rows.append(
                    {
                        "p": p,
                        "status": found,
                        "next": next_round(p, on=today, known=known),
                        "windows": windows,
                        "evidence": sum(len(w.evidence) for w in p.windows),
                        "checked": len([c for c in p.eligibility.conditions if c.kind != "check"]),
                        "open_checks": len(
                            [c for c in p.eligibility.conditions if c.kind == "check"]
                        ),
                        "audit": audit_row(p, on=today),
                    }
                )
            wanted = request.query_params.get("status") or ""
            return [r for r in rows if not wanted or r["status"] == wanted]

        rows = await asyncio.to_thread(gather)
        return page(
            request,
            "policies",
            signed=signed,
            rows=rows,
            wanted=request.query_params.get("status") or "",
            statuses=STATUSES,
            counts=Counter(r["status"] for r in rows),
        )

    def draft_page(request: Request, signed: auth.Signed, **ctx: Any) -> Response:
        vocab = world.catalog.vocab
        return page(
            request,
            "policy_new",
            ctx.pop("status_code", 200),
            signed=signed,
            levels=vocab.levels,
            categories=vocab.categories,
            departments=vocab.departments,
            sections=world.vocab.industries.sections,
            qualifications=world.vocab.qualifications,
            sizes={"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"},
            **ctx,
        )

    @needs("editor")
    async def draft_form(request: Request, signed: auth.Signed) -> Response:
        return draft_page(request, signed, form={}, chosen={}, problems=[], saved=None)

    @needs("editor", form=True)
    async def draft(request: Request, signed: auth.Signed) -> Response:
        data: FormData = request.state.form
        today = local_date(clock())
        raw = drafts.draft_from_form(data, today=today)
        known = {p.id for p in catalog.policies} | {
            p.stem for p in (data_dir / "policies").rglob("*.yaml")
        }
        problems = await asyncio.to_thread(drafts.problems_of, raw, known=known, data_dir=data_dir)
        chosen = {k: data.getlist(k) for k in ("sizes", "sections", "qualifications")}
        shown = {k: str(data.get(k) or "") for k in drafts.FIELDS}
        if problems or str(data.get("step") or "") != "save":
            return draft_page(
                request,
                signed,
                status_code=400 if problems else 200,
                form=shown,
                chosen=chosen,
                problems=problems,
                saved=None,
                preview=None if problems else raw,
            )
        try:
            path = await asyncio.to_thread(drafts.save, raw, data_dir=data_dir)
        except FileExistsError:
            return draft_page(
                request,
                signed,
                status_code=409,
                form=shown,
                chosen=chosen,
                problems=[f"编号 {raw['id']} 的文件已存在，请换一个编号"],
                saved=None,
            )
        await asyncio.to_thread(
            opened().console.record,
            signed.user.name,
            "policy.draft",
            raw["id"],
            now=clock(),
            after=raw,
        )
        log.info("policy %s drafted by %s into %s", raw["id"], signed.user.name, path)
        return draft_page(request, signed, form={}, chosen={}, problems=[], saved=raw)

    # -- the audit log -------------------------------------------------------------------------

    @needs("admin")
    async def audit(request: Request, signed: auth.Signed) -> Response:
        before = request.query_params.get("before") or ""
        lines = await asyncio.to_thread(
            lambda: opened().console.audit(
                limit=200, before_id=int(before) if before.isdigit() and len(before) < 12 else None
            )
        )
        return page(
            request,
            "audit",
            signed=signed,
            lines=lines,
            local=_local,
            as_json=lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True) if v else "",
        )

    return [
        Route("/admin", dashboard),
        Route(PATHS.login, login, methods=["GET", "POST"]),
        Route(PATHS.logout, logout, methods=["POST"]),
        Route(PATHS.publish, publish_page, methods=["GET"], name="publish_page"),
        Route(PATHS.publish, publish, methods=["POST"]),
        Route("/admin/rounds", rounds_page),
        Route(PATHS.withdraw, withdraw, methods=["POST"]),
        Route("/admin/deliveries", deliveries),
        Route("/admin/deliveries.xlsx", deliveries_xlsx),
        Route("/admin/enterprises", enterprises_page),
        Route("/admin/enterprises.xlsx", enterprises_xlsx),
        Route("/admin/enterprises/{enterprise_id}/invite", invite_page),
        Route(PATHS.invite, invite, methods=["POST"]),
        Route(PATHS.import_, import_page, methods=["GET"], name="import_page"),
        Route(PATHS.import_, import_, methods=["POST"]),
        Route("/admin/policies", policies_page),
        Route(PATHS.draft, draft_form, methods=["GET"], name="draft_form"),
        Route(PATHS.draft, draft, methods=["POST"]),
        Route("/admin/audit", audit),
    ]


class _Starting(Exception):
    """The store is not open yet."""


async def _form(request: Request, *, max_files: int = 1) -> FormData | None:
    try:
        return await request.form(max_files=max_files, max_fields=200, max_part_size=PUBLISH_BODY)
    except Exception:  # a malformed body (multipart or urlencoded) is the client's fault
        return None


def _next(target: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if not target or not target.startswith("/admin") or target.startswith("//"):
        return "/admin"
    if target.startswith(PATHS.login) or "\\" in target or any(ord(c) < 32 for c in target):
        return "/admin"
    return target[:500]


def _iso(value: str | None) -> str:
    try:
        return dt.date.fromisoformat(value or "").isoformat()
    except ValueError:
        return ""


def _is_open(r: StoredRound, today: dt.date) -> bool:
    """Open today: dated, begun (or only a close given) and not yet closed."""
    start = r.open or r.close
    return start is not None and start <= today <= (r.close or dt.date.max)


def _round_order(r: StoredRound) -> tuple[dt.date, str]:
    return (r.close or r.open or dt.date.max, r.key)


def _policy_names(world: World) -> dict[str, str]:
    return {p.id: p.name for p in world.catalog.policies}


def _round_record(r: StoredRound | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "version": r.version,
        "policy": r.policy_id,
        "open": r.open.isoformat() if r.open else None,
        "close": r.close.isoformat() if r.close else None,
        "basis": str(r.basis),
        "notice": r.notice_url,
        "withdrawn": r.withdrawn,
    }


def _local(moment: dt.datetime) -> dt.datetime:
    """A moment as Beijing time, without its zone (for pages and spreadsheets)."""
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None, microsecond=0)


def _outcomes(rows: list[Row], existing: dict[str, Any]) -> list[tuple[Row, str]]:
    """Each row's outcome: new, updated, unchanged, or rejected (also a name seen twice)."""
    seen: set[str] = set()
    out = []
    for row in rows:
        name = row.name.strip()
        if row.errors:
            out.append((row, "rejected"))
            continue
        if name in seen:
            row.errors.append(f"与前面的行重名（{name}）：同一企业只能出现一次")
            out.append((row, "rejected"))
            continue
        seen.add(name)
        found = existing.get(name)
        if found is None:
            out.append((row, "new"))
        elif found.profile == row.raw:
            out.append((row, "unchanged"))
        else:
            out.append((row, "updated"))
    return out


def _download(body: bytes, filename: str) -> Response:
    quoted = urllib.parse.quote(filename)
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quoted}"
            ),
            "Cache-Control": "no-store",
        },
    )
