"""The bureau's console through the whole app: sign-in (argon2, throttling, cookies), CSRF and
Origin checks on every form, roles, publishing from a pasted notice, withdrawing, importing a
sheet, the delivery log and its .xlsx export, the audit log; and `huiqi admin`."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bot._app import create_app
from bot._cli import cli
from bot._service import World
from bot._settings import Settings
from bot.console import BODY_CAPS, PATHS
from bot.console._auth import COOKIE
from schedulers import SHANGHAI, DatedWindow, External, Reminder
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store

WORLD = World(load_catalog(), load_vocab(), load_size_standard())
NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
TALENT = "talent-living-allowance-masters-doctors"
PASSWORD = "ezhou-bureau-2026"  # noqa: S105 (a test account's password)
NOTICE = """关于组织申报2026年下半年企业“千名引硕工程”人才生活补贴的通知

各区经信局、各有关企业：
现将2026年下半年新入职人才生活补贴申报工作通知如下。
一、申报对象：2026年7月1日以后新入职的硕士、博士。
二、申报时间：2026年12月7日至12月28日，逾期不予受理。
三、请各区经信局于2027年1月8日前将汇总表报送市经信局。
"""


def client_for(url: str, public_url: str | None = None) -> TestClient:
    settings = Settings(database_url=url, public_url=public_url)
    return TestClient(
        create_app(settings, WORLD, clock=lambda: NOW, channels={}),
        base_url=public_url or "http://testserver",
        follow_redirects=False,
    )


def login_csrf(client: TestClient) -> str:
    page = client.get(PATHS.login)
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in; the CSRF token of the session's forms."""
    answer = client.post(
        PATHS.login,
        data={"name": name, "password": password, "csrf": login_csrf(client), "next": "/admin"},
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client, "/admin")


def csrf_of(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found.group(1)


def test_admin_without_a_session_goes_to_sign_in(console_db: str) -> None:
    with client_for(console_db) as client:
        for path in ("/admin", "/admin/rounds", "/admin/deliveries.xlsx", "/admin/audit"):
            answer = client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/admin/login?next=")
        assert client.get("/admin/login?next=/admin/rounds").status_code == 200


def test_sign_in_sets_a_strict_cookie_and_sign_out_ends_it(console_db: str) -> None:
    with client_for(console_db, public_url="https://huiqi.example.cn") as client:
        answer = client.post(
            PATHS.login,
            data={"name": "guan", "password": PASSWORD, "csrf": login_csrf(client)},
            headers={"origin": "https://huiqi.example.cn"},
        )
        assert answer.status_code == 303
        cookie = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and COOKIE + "=" in v
        )
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/admin", "Secure"):
            assert attribute.lower() in cookie.lower()
    with client_for(console_db) as client:
        csrf = sign_in(client, "guan")
        assert "概览" in client.get("/admin").text
        token = client.cookies.get(COOKIE)
        assert client.post(PATHS.logout, data={"csrf": csrf}).status_code == 303
        client.cookies.set(COOKIE, token or "", path="/admin")
        assert client.get("/admin").status_code == 303, "the old cookie no longer opens a session"


def test_a_wrong_password_is_refused_and_repeated_failures_wait(console_db: str) -> None:
    with client_for(console_db) as client:
        for _ in range(5):
            answer = client.post(
                PATHS.login,
                data={"name": "bian", "password": "wrong-password!", "csrf": login_csrf(client)},
            )
            assert answer.status_code == 401
            assert "账号或密码不正确" in answer.text
            assert COOKIE not in answer.cookies
        unknown = client.post(
            PATHS.login, data={"name": "nobody", "password": PASSWORD, "csrf": login_csrf(client)}
        )
        assert unknown.status_code == 401, "an unknown name is told the same as a wrong password"
        # Now even the right password waits: 5 failures within 15 minutes.
        answer = client.post(
            PATHS.login, data={"name": "bian", "password": PASSWORD, "csrf": login_csrf(client)}
        )
        assert answer.status_code == 429
        assert "登录失败次数过多" in answer.text
        # Another account from the same address is not locked by these.
        assert sign_in(client, "cha")


def test_every_form_without_its_csrf_token_is_refused(console_db: str) -> None:
    with client_for(console_db) as client:
        no_token = client.post(PATHS.login, data={"name": "guan", "password": PASSWORD})
        assert no_token.status_code == 403
        csrf = sign_in(client, "guan")
        forms = {
            PATHS.logout: {},
            PATHS.publish: {"step": "read", "text": NOTICE},
            PATHS.withdraw: {"key": "x", "reason": "r"},
            PATHS.import_: {"step": "preview"},
            PATHS.invite: {"enterprise": "1"},
            PATHS.draft: {"step": "save", "name": "x"},
        }
        # Every form the console has (each has its body cap) is in this test.
        assert set(forms) == set(BODY_CAPS) - {PATHS.login}
        for path, data in forms.items():
            missing = client.post(path, data=data)
            assert missing.status_code == 403, path
            assert "安全校验码" in missing.text
            wrong = client.post(path, data={**data, "csrf": "0" * 64})
            assert wrong.status_code == 403, path
            elsewhere = client.post(
                path, data={**data, "csrf": csrf}, headers={"origin": "https://evil.example"}
            )
            assert elsewhere.status_code == 403, path
            assert "其他网站" in elsewhere.text
        assert client.get("/admin").status_code == 200, "still signed in: logout was refused"


def test_a_viewer_is_refused_an_editors_action(console_db: str) -> None:
    with client_for(console_db) as client:
        csrf = sign_in(client, "cha")
        assert client.get("/admin/rounds").status_code == 200
        refused = client.post(PATHS.publish, data={"csrf": csrf, "step": "read", "text": NOTICE})
        assert refused.status_code == 403
        assert "需要“编辑”权限" in refused.text
        assert "“查看员”" in refused.text
        assert client.get("/admin/audit").status_code == 403
    store = Store.open(console_db)
    try:
        assert not [r for r in store.rounds.current_rounds() if r.source == "admin"]
    finally:
        store.close()


def test_publish_from_a_pasted_notice_then_withdraw(console_db: str) -> None:
    store = Store.open(console_db)
    store.registry.save_enterprise(
        "鄂州光谷精密", {"name": "鄂州光谷精密", "industry": "C39", "employees": 120}, now=NOW
    )
    store.close()
    with client_for(console_db) as client:
        csrf = sign_in(client, "bian")
        read = client.post(PATHS.publish, data={"csrf": csrf, "step": "read", "text": NOTICE})
        assert read.status_code == 200
        page = read.text
        assert "第 6 行" in page
        assert "二、申报时间：2026年12月7日至12月28日" in page
        assert 'value="2026-12-07"' in page
        assert 'value="2026-12-28"' in page
        assert f'<option value="{TALENT}" selected>' in page
        assert "登记企业中：符合" in page
        # A close before the opening is refused with the reason, nothing recorded.
        bad = client.post(
            PATHS.publish,
            data={
                "csrf": csrf,
                "step": "confirm",
                "text": NOTICE,
                "policy": TALENT,
                "open": "2026-12-07",
                "close": "2026-12-01",
            },
        )
        assert bad.status_code == 400
        assert "早于开始日期" in bad.text
        done = client.post(
            PATHS.publish,
            data={
                "csrf": csrf,
                "step": "confirm",
                "text": NOTICE,
                "policy": TALENT,
                "open": "2026-12-07",
                "close": "2026-12-28",
                "url": "https://jxj.ezhou.gov.cn/notice/2026-12.html",
            },
        )
        assert done.status_code == 303
        assert done.headers["location"].startswith("/admin/rounds?published=")
        rounds = client.get(done.headers["location"]).text
        assert "已发布" in rounds
        assert "2026-12-07 至 2026-12-28" in rounds
        store = Store.open(console_db)
        try:
            (mine,) = [r for r in store.rounds.current_rounds() if r.source == "admin"]
            assert (mine.open, mine.close) == (dt.date(2026, 12, 7), dt.date(2026, 12, 28))
            assert mine.notice_url == "https://jxj.ezhou.gov.cn/notice/2026-12.html"
        finally:
            store.close()
        withdrawn = client.post(
            PATHS.withdraw, data={"csrf": csrf, "key": mine.key, "reason": "通知有误，另行发布"}
        )
        assert withdrawn.status_code == 303
        assert "已撤回" in client.get(withdrawn.headers["location"]).text
        again = client.post(
            PATHS.withdraw, data={"csrf": csrf, "key": mine.key, "reason": "再撤一次"}
        )
        assert again.status_code == 404
        client.cookies.clear()
        assert sign_in(client, "guan")
        audit = client.get("/admin/audit").text
        assert "round.publish" in audit
        assert "round.withdraw" in audit
        assert "通知有误，另行发布" in audit
        assert "&#34;close&#34;: &#34;2026-12-28&#34;" in audit


def test_import_a_gbk_csv_with_a_bad_row_previewed_then_written(console_db: str) -> None:
    sheet = (
        "企业名称,行业,从业人数,营业收入,区域\n"
        "鄂州新材料,C30,85,3000万,华容区\n"
        "葛店汽配,汽车零部件,300,1.2亿,葛店经开区\n"
        "错误的行,C30,很多人,,\n"
        "鄂州新材料,C30,90,,\n"
    ).encode("gbk")
    with client_for(console_db) as client:
        csrf = sign_in(client, "bian")
        preview = client.post(
            PATHS.import_,
            data={"csrf": csrf, "step": "preview"},
            files={"file": ("名单.csv", sheet, "text/csv")},
        )
        assert preview.status_code == 200, preview.text
        text = preview.text
        assert "新增 <b>2</b> 家" in text
        assert "拒绝 <b>2</b> 行" in text
        assert "从业人数“很多人”应为整数" in text
        assert "与前面的行重名" in text
        store = Store.open(console_db)
        assert store.registry.enterprises() == [], "nothing is written before confirmation"
        store.close()
        payload = re.search(r'name="payload" value="([^"]+)"', text)
        assert payload is not None
        done = client.post(
            PATHS.import_,
            data={
                "csrf": csrf,
                "step": "confirm",
                "payload": payload.group(1),
                "filename": "名单.csv",
            },
        )
        assert done.status_code == 303
        listed = client.get(done.headers["location"]).text
        assert "新增 2 家" in listed
        assert "拒绝 2 行" in listed
        assert "葛店汽配" in listed
    store = Store.open(console_db)
    try:
        names = {e.name: e.profile for e in store.registry.enterprises()}
        assert set(names) == {"鄂州新材料", "葛店汽配"}
        assert names["葛店汽配"]["revenue_wan"] == 12000
        assert names["葛店汽配"]["industry"].startswith("C36")
    finally:
        store.close()


def _import(client: TestClient, csrf: str, sheet: bytes, name: str) -> str:
    preview = client.post(
        PATHS.import_,
        data={"csrf": csrf, "step": "preview"},
        files={"file": (name, sheet, "text/csv")},
    )
    payload = re.search(r'name="payload" value="([^"]+)"', preview.text)
    assert payload is not None, preview.text
    done = client.post(
        PATHS.import_,
        data={"csrf": csrf, "step": "confirm", "payload": payload.group(1), "filename": name},
    )
    assert done.status_code == 303
    return client.get(done.headers["location"]).text


def test_a_second_import_counts_updates_and_the_list_is_searched(console_db: str) -> None:
    first = "name,industry,employees\n甲材料,C30,85\n乙电子,C39,40\n".encode()
    second = "name,industry,employees\n甲材料,C30,90\n乙电子,C39,40\n丙物流,G54,12\n".encode()
    with client_for(console_db) as client:
        csrf = sign_in(client, "guan")
        assert "新增 2 家" in _import(client, csrf, first, "first.csv")
        listed = _import(client, csrf, second, "second.csv")
        assert "新增 1 家，更新 1 家，未变 1 家，拒绝 0 行" in listed
        found = client.get("/admin/enterprises", params={"q": "物流"}).text
        assert "丙物流" in found
        assert "甲材料" not in found
        none = client.get("/admin/enterprises", params={"channel": "none"}).text
        assert "共 3 家" in none
        audit = client.get("/admin/audit").text
    assert "enterprise.import" in audit
    # The updated record's line has its profile before and after.
    assert "&#34;employees&#34;: 85" in audit
    assert "&#34;employees&#34;: 90" in audit


def test_the_delivery_log_and_its_export(console_db: str) -> None:
    store = Store.open(console_db)
    eid = store.registry.save_enterprise(
        "鄂州光谷精密", {"name": "鄂州光谷精密", "industry": "C39"}, now=NOW
    )
    sid = store.registry.subscriber("email", "hr@gg.example.cn", display_name="人事部", now=NOW)
    store.registry.subscribe(sid, eid, now=NOW)
    other = store.registry.subscriber("wechat", "oABC123", display_name=None, now=NOW)
    due = NOW - dt.timedelta(minutes=5)
    store.outbox.enqueue(
        [
            Reminder(sid, f"{TALENT}#2026H2", 1, "close", due),
            Reminder(other, f"{TALENT}#2026H2", 1, "open", due),
        ],
        now=due,
    )
    claimed = store.outbox.claim(now=NOW, worker="w", limit=10)
    mine = [c.id for c in claimed if c.subscriber_id == sid]
    theirs = [c.id for c in claimed if c.subscriber_id == other]
    store.outbox.mark_sent(mine, now=NOW, late=False)
    store.outbox.mark_retry(theirs, now=NOW, at=NOW + dt.timedelta(minutes=5), detail="45009 quota")
    store.close()
    with client_for(console_db) as client:
        sign_in(client, "cha")
        page = client.get("/admin/deliveries", params={"enterprise": str(eid)}).text
        assert "人事部" in page
        assert "oABC123" not in page, "the enterprise's log shows its own subscribers only"
        assert "已送达" in page
        export = client.get("/admin/deliveries.xlsx", params={"round": f"{TALENT}#2026H2"})
        assert export.status_code == 200
        assert export.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        book = openpyxl.load_workbook(io.BytesIO(export.content))
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        assert rows[0][:4] == ("时间（北京时间）", "批次", "批次版本", "类型")
        by_result = {r[7]: r for r in rows[1:]}
        assert set(by_result) == {"已送达", "稍后重试"}
        assert by_result["已送达"][6] == "鄂州光谷精密"
        # Beijing time, as the bureau reads it (a spreadsheet cell has no zone).
        assert by_result["已送达"][0] == NOW.astimezone(SHANGHAI).replace(tzinfo=None)
        assert by_result["稍后重试"][8] == "45009 quota"


def test_admin_commands_open_and_manage_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HUIQI_DATABASE_URL", url)
    runner = CliRunner()
    short = runner.invoke(
        cli, ["admin", "add-user", "wang", "--role", "editor", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0
    assert "至少 10 个字符" in short.output
    made = runner.invoke(
        cli, ["admin", "add-user", "wang", "--role", "editor"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output
    twice = runner.invoke(
        cli,
        ["admin", "add-user", "wang", "--role", "admin", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    assert twice.exit_code != 0
    assert "exists" in twice.output
    assert runner.invoke(cli, ["admin", "set-role", "wang", "admin"]).exit_code == 0
    listed = runner.invoke(cli, ["admin", "list"])
    assert listed.output.strip() == "wang\tadmin\tactive"
    with client_for(url) as client:
        assert sign_in(client, "wang")
    assert runner.invoke(cli, ["admin", "disable", "wang"]).exit_code == 0
    with client_for(url) as client:
        answer = client.post(
            PATHS.login, data={"name": "wang", "password": PASSWORD, "csrf": login_csrf(client)}
        )
        assert answer.status_code == 401
    store = Store.open(url)
    try:
        actions = [e.action for e in store.console.audit()]
        assert actions[:3] == ["user.disable", "login", "user.role"]
        assert "argon2" in store.console.user("wang").password_hash  # type: ignore[union-attr]
    finally:
        store.close()


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/admin/login", "/\\evil", "/etc"]
)
def test_sign_in_never_sends_elsewhere(console_db: str, target: str) -> None:
    with client_for(console_db) as client:
        answer = client.post(
            PATHS.login,
            data={"name": "cha", "password": PASSWORD, "csrf": login_csrf(client), "next": target},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin"


def test_sheets_refuse_what_they_cannot_read_and_never_write_formulas() -> None:
    from bot.console._sheets import SheetError, read_sheet, workbook

    vocab = WORLD.vocab
    with pytest.raises(SheetError, match="企业名称"):
        read_sheet("名字,电话\n甲,1\n".encode(), "a.csv", vocab)
    with pytest.raises(SheetError, match=r"不是有效的 \.xlsx"):
        read_sheet(b"PK\x03\x04not a zip", "a.xlsx", vocab)
    with pytest.raises(SheetError, match=r"旧版 \.xls"):
        read_sheet(b"\xd0\xcf\x11\xe0", "old.xls", vocab)
    bomb = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("xl/worksheets/sheet1.xml", b"0" * (101 * 1024 * 1024))
    with pytest.raises(SheetError, match="解压后过大"):
        read_sheet(bomb.getvalue(), "bomb.xlsx", vocab)
    bom = "\ufeffname,industry,employees\n甲公司,C39,12\n".encode()
    (row,) = read_sheet(bom, "a.csv", vocab)
    assert (row.raw, row.errors) == ({"name": "甲公司", "industry": "C39", "employees": 12}, [])
    made = workbook("t", ["a"], [['=HYPERLINK("http://evil")'], ["-5"]])
    cell = openpyxl.load_workbook(io.BytesIO(made)).worksheets[0]["A2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://evil")'


def _notice_site() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route

    paragraphs = "".join(f"<p>{line}</p>" for line in NOTICE.splitlines() if line)
    script = "<script>var x='12月1日前报送';</script>"
    page = f"<html><head>{script}</head><body>{paragraphs}</body></html>"

    async def notice(request: Any) -> Response:
        return HTMLResponse(
            page.encode("gb18030"), headers={"content-type": "text/html; charset=gbk"}
        )

    async def moved(request: Any) -> Response:
        return RedirectResponse("/notice", status_code=302)

    async def broken(request: Any) -> Response:
        return Response("oops", status_code=502)

    return Starlette(
        routes=[Route("/notice", notice), Route("/old", moved), Route("/broken", broken)]
    )


def test_publish_from_a_notice_url(console_db: str) -> None:
    from tests.bot.local_server import serve_local

    with serve_local(_notice_site()) as site:
        settings = Settings(database_url=console_db)
        app = create_app(
            settings, WORLD, clock=lambda: NOW, channels={}, console_fetch_private=True
        )
        with TestClient(app, follow_redirects=False) as client:
            csrf = sign_in(client, "bian")
            read = client.post(
                PATHS.publish, data={"csrf": csrf, "step": "read", "url": site + "/old"}
            )
            assert read.status_code == 200, read.text
            assert 'value="2026-12-07"' in read.text
            assert 'value="2026-12-28"' in read.text
            assert "var x" not in read.text, "a page's script is no notice text"
            broken = client.post(
                PATHS.publish, data={"csrf": csrf, "step": "read", "url": site + "/broken"}
            )
            assert broken.status_code == 400
            assert "网站答复 502" in broken.text
        # Without leave to fetch from this machine's network, the server does not go there.
        with client_for(console_db) as client:
            csrf = sign_in(client, "bian")
            inside = client.post(
                PATHS.publish, data={"csrf": csrf, "step": "read", "url": site + "/notice"}
            )
            assert inside.status_code == 400
            assert "内部网络" in inside.text
            odd = client.post(
                PATHS.publish, data={"csrf": csrf, "step": "read", "url": "file:///etc/passwd"}
            )
            assert "http:// 或 https://" in odd.text


DRAFT = {
    "name": "鄂州市2027年数字化转型标杆企业奖励",
    "id": "ezhou-2027-digital-transformation-benchmark",
    "level": "municipal",
    "category": "award",
    "department": "鄂州市经济和信息化局",
    "summary": "对评为数字化转型标杆的工业企业给予一次性奖励。",
    "benefit": "给予一次性奖励20万元",
    "yuan": "200000",
    "payer": "municipal",
    "eligibility": "在鄂州市注册的规模以上工业企业，数字化转型成效显著。",
    "sizes": ["small", "medium", "large"],
    "sections": ["C"],
    "source_title": "《关于组织申报2027年度数字化转型标杆企业的通知》",
    "doc_no": "鄂州经信〔2027〕1号",
    "issuer": "鄂州市经济和信息化局",
    "open": "2027-01-05",
    "close": "2027-01-31",
    "quote": "申报时间：2027年1月5日至1月31日。",
}


def test_a_missing_policy_is_drafted_validated_and_saved_where_the_catalog_reads(
    console_db: str, tmp_path: Path
) -> None:
    import shutil

    from schedulers.data import DATA_DIR, load_catalog

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    app = create_app(
        Settings(database_url=console_db),
        WORLD,
        clock=lambda: NOW,
        channels={},
        console_data_dir=data,
    )
    with TestClient(app, follow_redirects=False) as client:
        csrf = sign_in(client, "bian")
        assert client.get(PATHS.draft).status_code == 200
        wrong = client.post(
            PATHS.draft,
            data={
                **DRAFT,
                "csrf": csrf,
                "step": "save",
                "id": "Bad Id",
                "quote": "",
                "close": "2027-01-01",
            },
        )
        assert wrong.status_code == 400
        assert "编号只能用小写字母" in wrong.text
        assert "请粘贴通知中写明申报时间的原文句子" in wrong.text
        taken = client.post(PATHS.draft, data={**DRAFT, "csrf": csrf, "id": TALENT})
        assert "已被目录中的政策使用" in taken.text
        backwards = client.post(PATHS.draft, data={**DRAFT, "csrf": csrf, "close": "2027-01-01"})
        assert backwards.status_code == 400
        assert "截止日期 2027-01-01 早于开始日期 2027-01-05" in backwards.text
        saved = client.post(PATHS.draft, data={**DRAFT, "csrf": csrf, "step": "save"})
        assert saved.status_code == 200, saved.text
        assert "已保存“鄂州市2027年数字化转型标杆企业奖励”" in saved.text
        again = client.post(PATHS.draft, data={**DRAFT, "csrf": csrf, "step": "save"})
        assert again.status_code == 400
        client.cookies.clear()
        sign_in(client, "cha")
        assert client.get(PATHS.draft).status_code == 403
    catalog = load_catalog(data)
    policy = catalog.get(str(DRAFT["id"]))
    assert policy is not None
    assert len(catalog.policies) == len(WORLD.catalog.policies) + 1
    (window,) = policy.windows
    assert isinstance(window, DatedWindow)
    assert (window.open, window.close) == (dt.date(2027, 1, 5), dt.date(2027, 1, 31))
    (evidence,) = window.evidence
    assert isinstance(evidence, External)
    assert evidence.says == DRAFT["quote"]
    assert {c.kind for c in policy.eligibility.conditions} == {"size", "industry"}
    assert policy.benefits[0].yuan == 200000
    store = Store.open(console_db)
    try:
        assert store.console.audit()[1].action == "policy.draft"
    finally:
        store.close()


def test_oversized_malformed_and_forged_requests_are_refused(console_db: str) -> None:
    with client_for(console_db) as client:
        assert client.post(PATHS.login, content=b"x" * (17 * 1024)).status_code == 413
        csrf = sign_in(client, "bian")
        huge = client.post(PATHS.publish, content=b"x" * (4 * 1024 * 1024))
        assert huge.status_code == 413
        broken = client.post(
            PATHS.publish,
            content=b"--b\r\nContent-Disposition: form-data; name=csrf\r\n\r\n" + csrf.encode(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert broken.status_code in (400, 403)
        assert "Traceback" not in broken.text
        token = client.cookies.get(COOKIE) or ""
        client.cookies.clear()
        client.cookies.set(COOKIE, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
        assert client.get("/admin").status_code == 303, "a tampered cookie opens nothing"
        client.cookies.set(COOKIE, "x" * 5000)
        assert client.get("/admin").status_code == 303


def test_the_catalog_page_shows_what_is_weak(console_db: str) -> None:
    """Each policy's scope, the day it was last checked, its successor when superseded and
    its weak points, as `huiqi catalog audit` gives them."""
    with client_for(console_db) as client:
        sign_in(client, "cha")
        page = client.get("/admin/policies")
    assert page.status_code == 200
    html = page.text
    old = html.split("<code>municipal-traditional-industry-upgrading-fund</code>", 1)[1]
    row = old.split("</tr>", 1)[0]
    assert "municipal-manufacturing-high-quality-development-fund</code></a> 取代" in row
    assert "2026-12-04" in row
    sme = html.split("<code>provincial-specialized-sophisticated-sme</code>", 1)[1]
    assert '<span class="tag">规模</span>' in sme.split("</tr>", 1)[0]
    assert "未写适用范围（行业、规模、主体）" in html
