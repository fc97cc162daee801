"""The pure core imports no I/O library and never reads the clock or the environment."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# The edges inside the core packages: the store, its tables, the files read from data/, and the
# dispatcher. Every other module of schedulers/ and subscriptions/ is core, found by walking
# the folders, so a new module is checked without being listed.
EDGES = {
    "schedulers.data",
    "schedulers.dispatch",
    "subscriptions.data",
    "subscriptions.store",
    "subscriptions._tables",
}
CORE = sorted(
    name
    for package in ("schedulers", "subscriptions")
    for path in (ROOT / package).glob("*.py")
    if (name := package if path.stem == "__init__" else f"{package}.{path.stem}") not in EDGES
)
PURE = [f"{name.replace('.', '/')}.py" for name in CORE if "." in name]
# Libraries that do I/O or belong to an edge: importing a core module loads none of them.
IO_LIBRARIES = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "aiolimiter",
    "yaml",
    "jsonschema",
    "telegram",
    "wechatpy",
    "apscheduler",
    "starlette",
    "uvicorn",
    "jinja2",
    "bot",
)
PROBE = (
    "import importlib, sys; importlib.import_module(sys.argv[1]); "
    "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[2:]))))"
)


def loaded_io(module: str) -> list[str]:
    """The I/O libraries a fresh interpreter has loaded after importing `module`."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe, our module names
        [sys.executable, "-c", PROBE, module, *IO_LIBRARIES],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout.split()


@pytest.mark.parametrize("module", CORE)
def test_importing_a_core_module_loads_no_io(module: str) -> None:
    """In a fresh interpreter, importing a core module (its package `__init__` included) loads
    no database, HTTP, YAML, schema, chat SDK, scheduler, web or template library."""
    assert loaded_io(module) == []


def test_the_probe_sees_an_edge_load_its_libraries() -> None:
    """The probe itself: importing the store loads SQLAlchemy and Alembic."""
    assert {"sqlalchemy", "alembic"} <= set(loaded_io("subscriptions.store"))
    assert "schedulers._planner" in CORE
    assert "subscriptions.store" not in CORE


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


def test_a_quick_command_loads_only_what_it_needs() -> None:
    """`huiqi classify --json` in a fresh interpreter loads neither the store, the templates,
    the iCalendar writer, the schema validator nor a chat library (the command line starts in
    proportion to what a command does)."""
    heavy = ("sqlalchemy", "alembic", "jinja2", "icalendar", "jsonschema", "httpx", "telegram")
    code = (
        "import sys; sys.argv = ['huiqi', 'classify', '--industry', 'C39', '--employees', '10',"
        " '--json']\nimport bot\ntry:\n    bot.main()\nexcept SystemExit:\n    pass\n"
        f"print('loaded:', *sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert '"size": "micro"' in done.stdout
    assert done.stdout.strip().endswith("loaded:"), done.stdout
