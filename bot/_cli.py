"""The `huiqi` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from schedulers import DATA_DIR, CatalogError, validate


@click.group()
def cli() -> None:
    """huiqi: policy declaration reminders for Ezhou enterprises."""


@cli.group()
def catalog() -> None:
    """Work on the policy catalog under data/."""


@catalog.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def catalog_validate(path: Path | None) -> None:
    """Check every policy file under PATH (default: data/policies)."""
    target = path or DATA_DIR / "policies"
    if not target.exists():
        click.echo(f"{target}: no such file or folder", err=True)
        sys.exit(1)
    try:
        problems, good = validate(target)
    except CatalogError as exc:
        problems, good = list(exc.problems), []
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) in {target}", err=True)
        sys.exit(1)
    click.echo(f"{len(good)} policies, all valid")


def main() -> None:
    """Entry point of the `huiqi` console script."""
    cli()
