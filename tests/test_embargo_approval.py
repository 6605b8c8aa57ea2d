"""Approving over HTTP answers what the CLI prints: against the last released revision, the published
numbers (and text) that publishing the new revision changes, and nothing it does not publish (issue 11)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from events import Metadata
from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.config import Settings
from service.handlers.tokens import issue_token
from service.http import create_app

from .conftest import FakeClock
from .test_embargo_property import World, fresh_store


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_approving_over_http_answers_which_published_numbers_change(engine_name, tmp_path):
    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    with fresh_store(engine_name, tmp_path, clock) as store:
        world = World(store, clock, LocalDirectory(tmp_path / "site"))
        world.record("2021-01/2021-12")  # 41,002,234
        assert world.approve("y2021")
        world.publish("y2021")
        world.record("2021-01/2021-12")  # revised: 41,003,351, "late data"
        world.record("2022-01/2022-12")  # for y2022: not y2021's to publish
        application = App(Settings(database_url=str(store.engine.url), default_area="force"))
        application.__dict__.update(engine=store.engine, store=store)
        secret = issue_token(store, name="editor desk", role="editor", measures=None, metadata=Metadata(actor="admin"))[1]
        headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": uuid.uuid4().hex}
        with TestClient(create_app(application)) as client:
            first = client.post("/editions/y2021/approvals", json={"reason": "late data"}, headers=headers)
            again = client.post("/editions/y2021/approvals", json={"reason": "late data"}, headers=headers)
            never_released = client.post("/editions/y2022/approvals", json={}, headers={"Authorization": headers["Authorization"]})

    assert first.status_code == 201, first.text
    changes = first.json()["changes"]
    assert (changes["revision"], changes["against_revision"]) == (2, 1)
    assert [(n["kind"], n["subject"], n["what"], n["reason"]) for n in changes["notices"]] == [
        ("revision", "Homicides, January to December 2021", "41,002,234 became 41,003,351", "late data")
    ]
    assert "41,004,468" not in first.text and "41004468" not in first.text
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["changes"] == changes, "a retry answers the same changes"
    assert never_released.status_code == 201, never_released.text
    assert never_released.json()["changes"] == {"revision": 1, "against_revision": None, "notices": []}
