"""The direction of dependencies: events -> publishers -> service, and a domain that does no I/O.

Read from the source (every import, at module level or inside a function), so a test names the
file and the import that breaks the rule; and checked once in a fresh interpreter, so nothing
imported by a package's __init__ slips past.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("events", "publishers", "service")

# What the domain may use: computation only. A database driver, a file, a socket, a clock, a
# logger or an environment variable belongs to the store, the publishers or the service.
PURE = {
    "__future__", "abc", "bisect", "calendar", "collections", "dataclasses", "datetime", "decimal",
    "base64", "enum", "functools", "hashlib", "heapq", "hmac", "itertools", "json", "math", "operator", "re", "string",
    "typing", "unicodedata", "zoneinfo", "pydantic", "msgspec", "rfc8785", "_json",
    "email_validator", "phonenumbers",  # syntax and numbering plans only: no DNS lookup (check_deliverability=False)
    "holidays",  # bank holidays computed from rules, like zoneinfo's data: it reads only its own package's files
    "importlib",  # events/__init__ loads the store lazily: the fresh-interpreter test below sees what loads
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _path_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def imports_of(module: str) -> tuple[tuple[str, int], ...]:
    """(imported module, line) for every import statement in `module`'s source."""
    path = _path_of(module)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule if _path_of(submodule) else target, node.lineno))
    return tuple(found)


def modules(package: str) -> list[str]:
    return sorted(_module_name(path) for path in (ROOT / package).rglob("*.py"))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("events", ("publishers", "service")), ("publishers", ("service",))],
)
def test_a_lower_layer_imports_nothing_of_the_layers_above_it(package, forbidden):
    climbing = [
        f"{module} (line {line}) imports {imported}"
        for module in modules(package)
        for imported, line in imports_of(module)
        if any(_within(imported, above) for above in forbidden)
    ]
    assert climbing == []


def test_the_domain_imports_nothing_that_does_io():
    seen, problems = set(), []
    pending = [(module, module) for module in modules("events/domain")]
    pending += [(package, "every module of events.domain") for package in ("events", "events.domain")]
    while pending:
        module, via = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        for imported, line in imports_of(module):
            if imported.split(".")[0] in PACKAGES:
                pending.append((imported, via))
            elif imported.split(".")[0] not in PURE:
                problems.append(f"{module} (line {line}, reached from {via}) imports {imported}")
    assert problems == []


def _loaded_by_importing(module: str) -> list[str]:
    """The modules a fresh interpreter holds after `import module`."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_importing_the_domain_loads_no_database_driver_or_web_framework():
    loaded = _loaded_by_importing("events.domain")
    heavy = ("sqlalchemy", "psycopg", "sqlite3", "alembic", "fastapi", "httpx", "boto3", "structlog")
    assert [name for name in loaded if name.split(".")[0] in heavy] == []


def test_the_command_line_starts_without_loading_what_only_some_commands_use():
    # Every command pays for what `import service.cli` loads (a figures import's time counts it):
    # bank holidays, address and number checks, the PostgreSQL driver and boto3 load where they are used.
    loaded = _loaded_by_importing("service.cli")
    assert "service.cli.figures" in loaded
    deferred = ("holidays", "email_validator", "phonenumbers", "psycopg", "boto3", "botocore")
    assert [name for name in loaded if name.split(".")[0] in deferred] == []



# The store reads and writes these with its own SQL (events/store.py, events/tree.py); the migrations declare them.
WRITTEN_BY_THE_STORE = {"events", "idempotency_keys", "tree_hashes"}


def _declared_tables() -> dict[str, list[str]]:
    """Table name -> the modules whose source declares `Table("name", ...)`."""
    declared: dict[str, list[str]] = {}
    for package in PACKAGES:
        for module in modules(package):
            tree = ast.parse(_path_of(module).read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Table"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    declared.setdefault(node.args[0].value, []).append(module)
    return declared


def test_each_table_is_declared_once_in_events_beside_the_migrations_that_create_it():
    misplaced = {
        name: where
        for name, where in _declared_tables().items()
        if len(where) != 1 or not _within(where[0], "events") or _within(where[0], "events.migrations")
    }
    assert misplaced == {}


def test_the_migrations_create_exactly_the_tables_declared(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import MetaData, Table

    from events.database import upgrade

    upgrade(engine)
    declared = MetaData()
    for name, (module, *_) in _declared_tables().items():
        found = [v for v in vars(__import__(module, fromlist=["_"])).values() if isinstance(v, Table) and v.name == name]
        found[0].to_metadata(declared)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), declared)
    undeclared = {d[1].name for d in differences if d[0] == "remove_table"}
    assert undeclared == WRITTEN_BY_THE_STORE
    assert [d for d in differences if d[0] != "remove_table"] == []
