"""The `huiqi` command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot import _clock, _settings
from schedulers import Catalog, CatalogError, RoundBook, audit_row
from schedulers.data import DATA_DIR, load_catalog, validate
from subscriptions import (
    Context,
    Profile,
    ProfileError,
    classify,
    match_all,
    normalize_industry,
    parse_profile,
)
from subscriptions.data import load_size_standard, load_vocab

if TYPE_CHECKING:  # the service, the store and the templates load in the commands that use them
    from bot._service import World
    from subscriptions.store import Store, StoredRound


class DateType(click.ParamType[dt.date]):
    """A YYYY-MM-DD date."""

    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date; expected YYYY-MM-DD, e.g. 2026-11-22", param, ctx)


DATE = DateType()
ON_HELP = "The day to answer for (default: today in Asia/Shanghai)."


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"the catalog has {len(exc.problems)} problem(s); run `huiqi catalog validate`"
        ) from None


@click.group()
def cli() -> None:
    """huiqi: policy declaration reminders for Ezhou enterprises."""


@cli.group(invoke_without_command=True)
@click.option("--on", "on", type=DATE, help=ON_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of text.")
@click.pass_context
def policies(ctx: click.Context, on: dt.date | None, as_json: bool) -> None:
    """List every policy with its status and next round."""
    from bot._views import policy_record, render_policies

    if ctx.invoked_subcommand is not None:
        return
    day = on or _clock.today()
    found = _catalog()
    book = _book(found)
    if as_json:
        records = [policy_record(p, on=day, book=book) for p in found.policies]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        click.echo(render_policies(found, on=day, book=book), nl=False)


@policies.command("show")
@click.argument("policy_id")
@click.option("--on", "on", type=DATE, help=ON_HELP)
def policies_show(policy_id: str, on: dt.date | None) -> None:
    """Show one policy in full."""
    from bot._views import render_policy

    found = _catalog()
    policy = found.get(policy_id)
    if policy is None:
        close = [p.id for p in found.policies if policy_id in p.id or p.id in policy_id][:5]
        hint = (
            f"; did you mean: {', '.join(close)}" if close else "; `huiqi policies` lists the ids"
        )
        raise click.ClickException(f"no policy {policy_id!r}{hint}")
    book = _book(found)
    click.echo(render_policy(found, policy, on=on or _clock.today(), book=book), nl=False)


@cli.group()
def catalog() -> None:
    """Work on the policy catalog under data/."""


@catalog.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def catalog_validate(path: Path | None) -> None:
    """Check every policy file under PATH (default: data/policies)."""
    target = path or DATA_DIR / "policies"
    if not target.exists():
        raise click.ClickException(f"{target}: no such file or folder")
    try:
        problems, good = validate(target)
    except CatalogError as exc:
        problems, good = list(exc.problems), []
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{len(good)} policies, all valid")


@catalog.command("audit")
@click.option("--on", "on", type=DATE, help=ON_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per policy.")
@click.option("--weak", "weak_only", is_flag=True, help="Only the policies with a weak point.")
def catalog_audit(on: dt.date | None, as_json: bool, weak_only: bool) -> None:
    """Per policy: window basis, evidence, scope conditions, supersession, last checked."""
    from bot._views import audit_record, render_audit

    day = on or _clock.today()
    rows = [audit_row(p, on=day) for p in _catalog().policies]
    if weak_only:
        rows = [r for r in rows if r.weak]
    if as_json:
        click.echo(json.dumps([audit_record(r) for r in rows], ensure_ascii=False, indent=2))
    else:
        click.echo(render_audit(rows, on=day), nl=False)


def _read_profile(path: Path) -> Profile:
    """A profile JSON file, or a clear message and exit 1."""
    return _read_profile_raw(path)[1]


def _read_profile_raw(path: Path) -> tuple[dict[str, Any], Profile]:
    """A profile JSON file as given and parsed, or a clear message and exit 1."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.ClickException(f"{path}: 无法读取（{exc.strerror}）") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: 不是 UTF-8 编码的文本") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{path}: 不是合法的 JSON（第{exc.lineno}行第{exc.colno}列：{exc.msg}）"
        ) from None
    try:
        return raw, parse_profile(raw, load_vocab())
    except ProfileError as exc:
        lines = "\n".join(f"  {e}" for e in exc.errors)
        raise click.ClickException(f"{path}: 企业资料有误：\n{lines}") from None


@cli.command("classify")
@click.option("--industry", required=True, help="GB/T 4754-2017 code, e.g. C39 or C3976.")
@click.option("--employees", type=click.IntRange(min=0), help="从业人员（人）.")
@click.option("--revenue", type=click.FloatRange(min=0), help="营业收入（万元）.")
@click.option("--assets", type=click.FloatRange(min=0), help="资产总额（万元）.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
def classify_command(
    industry: str,
    employees: int | None,
    revenue: float | None,
    assets: float | None,
    as_json: bool,
) -> None:
    """Classify an enterprise as large, medium, small or micro (工信部联企业〔2011〕300号)."""
    vocab = load_vocab()
    try:
        code = normalize_industry(vocab.industries, industry)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    standard = load_size_standard()
    result = classify(standard, code, employees=employees, revenue_wan=revenue, assets_wan=assets)
    if as_json:
        record = {
            "size": result.size,
            "group": result.group,
            "standard": result.standard,
            "missing": list(result.missing),
        }
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    from bot._views import render_classification  # the templates, only for the text answer

    click.echo(render_classification(result, standard, code, vocab), nl=False)


@cli.command("match")
@click.argument("profile", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--on", "on", type=DATE, help=ON_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of text.")
def match_command(profile: Path, on: dt.date | None, as_json: bool) -> None:
    """Every policy with a decision (eligible, possible, ineligible) and its reasons."""
    from bot._views import match_record, render_matches

    parsed = _read_profile(profile)
    day = on or _clock.today()
    found = _catalog()
    ctx = Context.of(parsed, load_vocab(), load_size_standard())
    matches = match_all(ctx, found.policies, on=day)
    book = _book(found)
    if as_json:
        records = [match_record(m, on=day, book=book) for m in matches]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        click.echo(render_matches(ctx, matches, on=day, book=book), nl=False)


def _world() -> World:
    from bot._service import World

    return World(_catalog(), load_vocab(), load_size_standard())


def _book(found: Catalog) -> RoundBook:
    """The rounds as they stand (the catalog's, superseded by confirmed ones), from the
    configured database: every view shows these."""
    from bot._service import synced_book

    store = _store()
    try:
        return synced_book(store, found, now=_clock.now())
    finally:
        store.close()


def _store() -> Store:
    from subscriptions.store import Store

    try:
        settings = _settings.load()
    except _settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        return Store.open(settings.database_url)
    except Exception as exc:  # the database is the far side: say what failed, not a traceback
        raise click.ClickException(
            f"cannot open the database: {type(exc).__name__}: {exc}"
        ) from None


@cli.command("upcoming")
@click.argument("profile", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--on", "on", type=DATE, help=ON_HELP)
@click.option("--days", type=click.IntRange(min=1, max=800), default=90, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of text.")
def upcoming_command(profile: Path, on: dt.date | None, days: int, as_json: bool) -> None:
    """The rounds ahead for a profile, with the reminders huiqi would send."""
    from bot._service import upcoming
    from bot._views import render_upcoming, upcoming_record

    _, parsed = _read_profile_raw(profile)
    day = on or _clock.today()
    world = _world()
    items = upcoming(world, parsed, on=day, days=days, book=_book(world.catalog))
    if as_json:
        click.echo(json.dumps([upcoming_record(i) for i in items], ensure_ascii=False, indent=2))
    else:
        click.echo(render_upcoming(parsed, items, on=day, days=days), nl=False)


@cli.command("simulate")
@click.option("--from", "start", type=DATE, required=True, help="First simulated day.")
@click.option("--to", "end", type=DATE, required=True, help="Last simulated day.")
@click.option(
    "--catalog-only",
    is_flag=True,
    help="Ignore the rounds the bureau published (huiqi rounds add / withdraw).",
)
@click.argument("profiles", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
def simulate_command(
    start: dt.date, end: dt.date, catalog_only: bool, profiles: tuple[Path, ...]
) -> None:
    """Every reminder that would be sent from START to END, on a simulated clock, with the
    rounds as they stand (the bureau's published ones in place of the catalog's)."""
    from bot._simulate import demo_profiles, simulate
    from bot._views import render_simulation

    if end < start:
        raise click.UsageError(f"--to {end} is before --from {start}")
    raws = [_read_profile_raw(p)[0] for p in profiles] or demo_profiles()
    settings = _settings.load()
    published = [] if catalog_only else _published()
    result = simulate(
        _world(),
        raws,
        start=start,
        end=end,
        public_url=settings.base_url,
        published=published,
        hotline=settings.hotline,
    )
    click.echo(render_simulation(result, start=start, end=end), nl=False)


def _published() -> list[StoredRound]:
    """The rounds the bureau published or withdrew, from the configured store."""
    store = _store()
    try:
        return [r for r in store.rounds.current_rounds() if r.source in ("admin", "withdrawn")]
    finally:
        store.close()


@cli.command("ical")
@click.argument("profile", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--all", "everything", is_flag=True, help="The public calendar of every policy.")
@click.option("--on", "on", type=DATE, help=ON_HELP)
def ical_command(profile: Path | None, everything: bool, on: dt.date | None) -> None:
    """Write an iCalendar feed to stdout: an enterprise's (PROFILE.json) or --all."""
    from bot._feeds import all_feed, enterprise_feed
    from bot._service import sync_rounds

    if (profile is None) == (not everything):
        raise click.UsageError("give either PROFILE.json or --all")
    world = _world()
    day = on or _clock.today()
    settings = _settings.load()
    store = _store()
    try:
        sync_rounds(store, world.catalog, now=_clock.now())
        rounds = store.rounds.current_rounds()
    finally:
        store.close()
    if profile is None:
        feed = all_feed(world, rounds, on=day, base_url=settings.public_url)
    else:
        raw, parsed = _read_profile_raw(profile)
        feed = enterprise_feed(
            world, rounds, raw["name"], parsed, on=day, base_url=settings.public_url
        )
    sys.stdout.buffer.write(feed)


@cli.group()
def enterprises() -> None:
    """The registered enterprises."""


@enterprises.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def enterprises_import(file: Path) -> None:
    """Import profiles from a JSON array or a CSV file; bad rows are reported, the rest kept."""
    from bot._import import ImportFileError, read_profiles

    vocab = load_vocab()
    store = _store()
    now = _clock.now()
    imported, bad = 0, 0
    try:
        for line, raw in read_profiles(file):
            try:
                parse_profile(raw, vocab)
            except ProfileError as exc:
                bad += 1
                for error in exc.errors:
                    click.echo(f"{file}:{line}: {error}", err=True)
                continue
            store.registry.save_enterprise(raw["name"].strip(), raw, now=now)
            imported += 1
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"{imported} enterprises imported, {bad} rows rejected")
    if bad:
        sys.exit(1)


@enterprises.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of text.")
def enterprises_list(as_json: bool) -> None:
    """Every registered enterprise."""
    store = _store()
    try:
        rows = store.registry.enterprises()
    finally:
        store.close()
    if as_json:
        click.echo(
            json.dumps(
                [{"id": e.id, "name": e.name, "profile": e.profile} for e in rows],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for e in rows:
        industry, district = e.profile.get("industry", ""), e.profile.get("district") or ""
        click.echo(f"{e.id:>5}  {industry:<6} {district:<6} {e.name}")
    click.echo(f"共 {len(rows)} 家企业")


@enterprises.command("feed")
@click.argument("name")
@click.option("--rotate", is_flag=True, help="Issue a new link; the old one stops working.")
@click.option("--revoke", is_flag=True, help="Stop every private link of this enterprise.")
def enterprises_feed(name: str, rotate: bool, revoke: bool) -> None:
    """Print (or rotate, or revoke) an enterprise's private calendar link."""
    settings = _settings.load()
    store = _store()
    try:
        found = next((e.id for e in store.registry.enterprises() if e.name == name), None)
        if found is None:
            raise click.ClickException(
                f"no enterprise named {name!r}; `huiqi enterprises list` shows them"
            )
        now = _clock.now()
        if revoke:
            click.echo(f"{store.tokens.revoke_tokens(found, now=now)} link(s) revoked")
            return
        if not rotate:
            click.echo(
                "links are shown only when issued: use --rotate to issue a new one", err=True
            )
            sys.exit(1)
        token = store.tokens.issue_token(found, now=now)
    finally:
        store.close()
    https = f"{settings.base_url}/feeds/e/{token}.ics"
    click.echo(https)
    click.echo("webcal://" + https.split("://", 1)[1])


@cli.group("rounds")
def rounds_group() -> None:
    """Dated rounds: the catalog's, and confirmed ones from this year's notices."""


@rounds_group.command("list")
@click.option("--from", "start", type=DATE, help="Rounds closing on or after this day.")
@click.option("--to", "end", type=DATE, help="Rounds opening on or before this day.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of text.")
def rounds_list(start: dt.date | None, end: dt.date | None, as_json: bool) -> None:
    """The current version of every round (the catalog's are recorded first)."""
    from bot._service import sync_rounds
    from bot._views import render_rounds, stored_round_record

    world = _world()
    store = _store()
    try:
        sync_rounds(store, world.catalog, now=_clock.now())
        found = store.rounds.current_rounds()
    finally:
        store.close()
    lo, hi = start or dt.date.min, end or dt.date.max
    found = [
        r for r in found if (r.close or r.open or hi) >= lo and (r.open or r.close or lo) <= hi
    ]
    found.sort(key=lambda r: (r.close or r.open or dt.date.max, r.key))
    if as_json:
        click.echo(
            json.dumps([stored_round_record(r) for r in found], ensure_ascii=False, indent=2)
        )
    else:
        click.echo(render_rounds(world.catalog, found), nl=False)


@rounds_group.command("add")
@click.argument("policy_id")
@click.option("--open", "open_", type=DATE, help="First day of applications.")
@click.option("--close", type=DATE, help="Last day of applications (inclusive).")
@click.option("--notice", help="URL of this year's notice (http or https).")
@click.option("--yes", is_flag=True, help="Publish without asking (for scripts).")
def rounds_add(
    policy_id: str, open_: dt.date | None, close: dt.date | None, notice: str | None, yes: bool
) -> None:
    """Record a confirmed round from this year's notice; it supersedes an estimated one.

    Shows how many subscribers will be told and asks before publishing (--yes: does not ask)."""
    from bot._service import add_round, replan, round_problems, sync_rounds, told_of

    if open_ is None and close is None:
        raise click.UsageError("give --open, --close or both")
    if open_ and close and close < open_:
        raise click.UsageError(f"--close {close} is before --open {open_}")
    world = _world()
    if world.catalog.get(policy_id) is None:
        raise click.ClickException(f"no policy {policy_id!r}; `huiqi policies` lists the ids")
    now = _clock.now()
    problems = round_problems(
        world.catalog, policy_id, open=open_, close=close, notice_url=notice, today=_clock.today()
    )
    if problems:
        raise click.ClickException("批次未发布：" + "；".join(problems))
    store = _store()
    try:
        sync_rounds(store, world.catalog, now=now)
        reach = told_of(store, world, policy_id, on=_clock.today())
        question = (
            f"发布 {policy_id} {open_ or '待定'} 至 {close or '待定'}，通知 {reach} 个订阅者或群？"
        )
        if not yes and not click.confirm(question, default=False):
            raise click.ClickException("未发布")
        old, new, notices = add_round(
            store, world.catalog, policy_id, open=open_, close=close, notice_url=notice, now=now
        )
        replan(store, world, now=now)
    finally:
        store.close()
    if old is not None and old.version == new.version:
        click.echo(f"{new.key}: unchanged (version {new.version})")
        return
    was = f" (was {old.open or ''}~{old.close or ''}, {old.basis})" if old else ""
    dates = f"{new.open or ''}~{new.close or ''}"
    click.echo(
        f"{new.key}: version {new.version}, {dates} confirmed{was}; {notices} change notices queued"
    )


@rounds_group.command("withdraw")
@click.argument("key")
@click.option("--reason", required=True, help="Why the round is withdrawn (sent to who was told).")
@click.option("--yes", is_flag=True, help="Withdraw without asking (for scripts).")
def rounds_withdraw(key: str, reason: str, yes: bool) -> None:
    """Withdraw a round published with `rounds add` (KEY as `rounds list` shows it): its
    reminders stop and who was told of it gets one withdrawal notice."""
    from bot._service import replan, withdraw_round

    reason = " ".join(reason.split())
    if not reason or len(reason) > 200:
        raise click.UsageError("--reason: say why in 1 to 200 characters")
    store = _store()
    try:
        current = {r.key: r for r in store.rounds.current_rounds()}.get(key)
        if current is None or current.source != "admin":
            raise click.ClickException(
                f"{key!r} is no round published with `rounds add`; `huiqi rounds list` shows keys"
            )
        told = len(store.outbox.told_about(key))
        dates = f"{current.open or '待定'} 至 {current.close or '待定'}"
        question = f"撤回 {key}（{dates}），通知 {told} 个订阅者或群？"
        if not yes and not click.confirm(question, default=False):
            raise click.ClickException("未撤回")
        now = _clock.now()
        found = withdraw_round(store, key=key, reason=reason, now=now)
        if found is None:  # withdrawn by someone else in the meantime
            raise click.ClickException(f"{key!r} was withdrawn meanwhile")
        _, new, notices = found
        replan(store, _world(), now=now)
    finally:
        store.close()
    click.echo(f"{key}: withdrawn (version {new.version}); {notices} withdrawal notices queued")


@cli.group("admin")
def admin_group() -> None:
    """Accounts of the web console (/admin): add, change a password or role, disable, list."""


ROLE = click.Choice(["admin", "editor", "viewer"])


def _new_password(from_stdin: bool) -> str:
    """A new password from a hidden prompt (asked twice) or from standard input."""
    from bot.console._auth import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        raise click.ClickException(f"密码未设置：{problem}")
    return password


@admin_group.command("add-user")
@click.argument("name")
@click.option(
    "--role",
    type=ROLE,
    required=True,
    help="viewer reads; editor also publishes, withdraws, imports; admin also reads the audit log.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
def admin_add_user(name: str, role: str, password_stdin: bool) -> None:
    """Open a console account NAME with ROLE; the password is asked (hidden, twice)."""
    from bot.console._auth import hash_password
    from subscriptions.store.console import UserExists

    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() or ord(c) < 32 for c in name):
        raise click.UsageError("NAME: 1 to 64 characters, no spaces")
    password = _new_password(password_stdin)
    store = _store()
    try:
        now = _clock.now()
        try:
            user = store.console.add_user(name, role, hash_password(password), now=now)
        except UserExists:
            raise click.ClickException(
                f"account {name!r} exists; `huiqi admin passwd` changes its password"
            ) from None
        store.console.record("cli", "user.add", name, now=now, after={"role": role})
    finally:
        store.close()
    click.echo(f"{user.name}: {role} account opened")


@admin_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def admin_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME; its sessions end."""
    from bot.console._auth import hash_password

    password = _new_password(password_stdin)
    store = _store()
    try:
        now = _clock.now()
        if store.console.update_user(name, password_hash=hash_password(password), now=now) is None:
            raise click.ClickException(f"no account {name!r}; `huiqi admin list` lists them")
        store.console.record("cli", "user.passwd", name, now=now)
    finally:
        store.close()
    click.echo(f"{name}: password changed, sessions ended")


@admin_group.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLE)
def admin_set_role(name: str, role: str) -> None:
    """Give NAME another role."""
    store = _store()
    try:
        now = _clock.now()
        found = store.console.update_user(name, role=role, now=now)
        if found is None:
            raise click.ClickException(f"no account {name!r}; `huiqi admin list` lists them")
        store.console.record(
            "cli", "user.role", name, now=now, before={"role": found[0].role}, after={"role": role}
        )
    finally:
        store.close()
    click.echo(f"{name}: {role}")


@admin_group.command("disable")
@click.argument("name")
def admin_disable(name: str) -> None:
    """Disable NAME: it can no longer sign in, and its sessions end."""
    store = _store()
    try:
        now = _clock.now()
        if store.console.update_user(name, active=False, now=now) is None:
            raise click.ClickException(f"no account {name!r}; `huiqi admin list` lists them")
        store.console.record("cli", "user.disable", name, now=now, after={"active": False})
    finally:
        store.close()
    click.echo(f"{name}: disabled")


@admin_group.command("list")
def admin_list() -> None:
    """Every console account with its role."""
    store = _store()
    try:
        users = store.console.users()
    finally:
        store.close()
    for u in users:
        click.echo(f"{u.name}\t{u.role}\t{'active' if u.active else 'disabled'}")


@cli.command()
@click.option("--demo", is_flag=True, help="Start with demonstration data.")
def serve(demo: bool) -> None:
    """Run huiqi: the web app and every configured channel."""
    try:
        settings = _settings.load()
    except _settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    from bot._app import run
    from bot._build import robots_for

    world = _world()
    try:
        robots_for(settings, world)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    run(settings, world, demo=demo)


def main() -> None:
    """Entry point of the `huiqi` console script."""
    cli()
