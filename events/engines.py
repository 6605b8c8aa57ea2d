"""The engines the store runs on, by SQLAlchemy's dialect name: a new engine is a file beside
events/sqlite.py and events/postgres.py, one line here, and the store's contract tests run on it."""

from __future__ import annotations

from sqlalchemy import Engine

from .dialect import Dialect
from .errors import EventStoreError
from .postgres import Postgres
from .sqlite import SQLite

DIALECTS: dict[str, type[Dialect]] = {"sqlite": SQLite, "postgresql": Postgres}


def dialect_for(engine: Engine) -> Dialect:
    """A fresh dialect for `engine` (one per store: tests may wrap a store's methods)."""
    try:
        return DIALECTS[engine.dialect.name]()
    except KeyError:
        raise EventStoreError(f"unsupported database {engine.dialect.name!r}") from None
