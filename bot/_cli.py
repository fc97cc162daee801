"""The `huiqi` command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from bot import _clock, _settings
from bot._views import policy_record, render_policies, render_policy
from schedulers import DATA_DIR, Catalog, CatalogError, load_catalog, validate


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
