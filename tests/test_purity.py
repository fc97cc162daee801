"""The pure core imports no I/O library and never reads the clock or the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PURE = [
    "schedulers/_policy.py",
    "schedulers/_rounds.py",
    "subscriptions/_size.py",
    "subscriptions/_profile.py",
    "subscriptions/_match.py",
]
FORBIDDEN_MODULES = {
    "os",
    "sys",
    "socket",
    "subprocess",
    "time",
    "httpx",
    "requests",
    "sqlalchemy",
    "telegram",
    "wechatpy",
    "apscheduler",
    "starlette",
    "fastapi",
    "uvicorn",
    "yaml",
    "jinja2",
    "bot",
}
FORBIDDEN_CALLS = {"now", "today", "utcnow", "getenv", "open"}


def imported_modules(tree: ast.AST) -> set[str]:
    """Top-level names of every module a tree imports."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def called_names(tree: ast.AST) -> set[str]:
    """Names of every function or method called."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            out.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return out


@pytest.mark.parametrize("path", PURE)
def test_core_module_is_pure(path: str) -> None:
    """A core module imports no I/O library and calls no clock, environment or file."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    assert imported_modules(tree) & FORBIDDEN_MODULES == set()
    assert called_names(tree) & FORBIDDEN_CALLS == set()


def test_scan_catches_a_clock_read() -> None:
    """The scan itself flags a module that reads the clock."""
    tree = ast.parse("import datetime\nx = datetime.datetime.now()\n")
    assert called_names(tree) & FORBIDDEN_CALLS == {"now"}


def test_only_clock_module_reads_the_clock() -> None:
    """Outside bot/_clock.py no project module calls now() or today() on datetime."""
    offenders = []
    for package in ("bot", "schedulers", "subscriptions"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "_clock.py":
                continue
            text = path.read_text(encoding="utf-8")
            if "datetime.now(" in text or "date.today(" in text or "time.time(" in text:
                offenders.append(path.name)
    assert offenders == []


def test_only_settings_module_reads_the_environment() -> None:
    """Outside bot/_settings.py no project module reads os.environ or os.getenv."""
    offenders = []
    for package in ("bot", "schedulers", "subscriptions"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "_settings.py":
                continue
            text = path.read_text(encoding="utf-8")
            if "os.environ" in text or "getenv(" in text:
                offenders.append(path.name)
    assert offenders == []
