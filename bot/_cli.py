"""The `huiqi` command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from bot import _clock, _settings
from bot._views import (
    match_record,
    policy_record,
    render_classification,
    render_matches,
    render_policies,
    render_policy,
)
from schedulers import DATA_DIR, Catalog, CatalogError, load_catalog, validate
from subscriptions import (
    Context,
    Profile,
    ProfileError,
    classify,
    load_size_standard,
    load_vocab,
    match_all,
    normalize_industry,
    parse_profile,
)


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
    if ctx.invoked_subcommand is not None:
        return
    day = on or _clock.today()
    found = _catalog()
    if as_json:
        records = [policy_record(p, on=day) for p in found.policies]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        click.echo(render_policies(found, on=day), nl=False)


@policies.command("show")
@click.argument("policy_id")
@click.option("--on", "on", type=DATE, help=ON_HELP)
def policies_show(policy_id: str, on: dt.date | None) -> None:
    """Show one policy in full."""
    found = _catalog()
    policy = found.get(policy_id)
    if policy is None:
        close = [p.id for p in found.policies if policy_id in p.id or p.id in policy_id][:5]
        hint = (
            f"; did you mean: {', '.join(close)}" if close else "; `huiqi policies` lists the ids"
        )
        raise click.ClickException(f"no policy {policy_id!r}{hint}")
    click.echo(render_policy(found, policy, on=on or _clock.today()), nl=False)


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


def _read_profile(path: Path) -> Profile:
    """A profile JSON file, or a clear message and exit 1."""
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
        return parse_profile(raw, load_vocab())
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
    click.echo(render_classification(result, standard, code, vocab), nl=False)


@cli.command("match")
@click.argument("profile", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--on", "on", type=DATE, help=ON_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of text.")
def match_command(profile: Path, on: dt.date | None, as_json: bool) -> None:
    """Every policy with a decision (eligible, possible, ineligible) and its reasons."""
    parsed = _read_profile(profile)
    day = on or _clock.today()
    found = _catalog()
    ctx = Context.of(parsed, load_vocab(), load_size_standard())
    matches = match_all(ctx, found.policies, on=day)
    if as_json:
        click.echo(
            json.dumps([match_record(m, on=day) for m in matches], ensure_ascii=False, indent=2)
        )
    else:
        click.echo(render_matches(ctx, matches, on=day), nl=False)


@cli.command()
@click.option("--demo", is_flag=True, help="Start with demonstration data.")
def serve(demo: bool) -> None:
    """Run huiqi: the web app and every configured channel."""
    try:
        settings = _settings.load()
    except _settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    from bot._app import run

    run(settings, _catalog(), demo=demo)


def main() -> None:
    """Entry point of the `huiqi` console script."""
    cli()
