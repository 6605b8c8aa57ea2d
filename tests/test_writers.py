"""The held append connection: on PostgreSQL a connection the server dropped costs one failed append, never a
wrong one, and the next append writes through a new connection."""

from __future__ import annotations

import psycopg
import pytest

from events import EventStore
from events.database import make_engine, upgrade


from .conftest import POSTGRES_URL, _libpq
from .support import counted, registry

pytestmark = pytest.mark.postgres


def test_an_append_after_the_server_dropped_the_held_connection_fails_writing_nothing_and_the_next_reconnects(postgres_url):
    engine = make_engine(postgres_url)
    upgrade(engine)
    store = EventStore(engine, registry)
    first = store.append("widgets", [counted()], expected_version=0)
    backend = store._held_writer._held[1].dbapi_connection.info.backend_pid
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(Exception):
        store.append("widgets", [counted()], expected_version=1)
    assert store.head().position == first.last_position
    again = store.append("widgets", [counted()], expected_version=1)
    assert again.first_position == first.last_position + 1
    assert store._held_writer._held[1].dbapi_connection.info.backend_pid != backend
    assert store.verify().breach is None
    engine.dispose()
