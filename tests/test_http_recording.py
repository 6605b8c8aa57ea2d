"""Data owners, editors and admins over HTTP: the CLI's rules, plus Idempotency-Key and If-Match."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from events import Metadata
from service.bootstrap import App
from service.config import Settings
from service.http import create_app
from service.handlers.tokens import issue_token

HOMICIDE = {
    "measure": "homicide",
    "title": "Homicide",
    "priority": "homicide",
    "unit": "count",
    "polarity": "lower-is-better",
    "baseline_period": "2018-07/2019-06",
    "source": "Police recorded crime",
}


@pytest.fixture
def client(store, database_url):
    application = App(Settings(database_url=database_url, default_area="west-midlands"))
    application.__dict__.update(engine=store.engine, store=store)
    with TestClient(create_app(application)) as client:
        yield client


@pytest.fixture
def as_role(store):
    def make(role: str, measures=None) -> dict[str, str]:
        secret = issue_token(store, name=f"{role} desk", role=role, measures=measures, metadata=Metadata(actor="admin"))[1]
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def owner(as_role):
    return as_role("data-owner")


@pytest.fixture
def homicide(client, admin):
    assert client.post("/measures", json=HOMICIDE, headers=admin).status_code == 201


def figure(value="46", period="2021-01/2021-12", **extra):
    return {"measure": "homicide", "period": period, "value": value, **extra}


def test_an_admin_defines_a_measure_and_the_event_records_the_tokens_actor(client, admin, store):
    response = client.post("/measures", json=HOMICIDE, headers=admin)
    assert response.status_code == 201
    assert response.headers["etag"] == '"1"'
    assert response.json()["streams"] == {"measure-homicide": 1}
    event = store.read_stream("measure-homicide")[0]
    assert event.metadata["actor"].startswith("token:") and event.metadata["actor"].endswith(":admin desk")
    assert event.metadata["source"] == "api"


def test_recording_a_figure_twice_is_refused_and_points_to_revising_it(client, owner, homicide):
    assert client.post("/figures", json=figure(), headers=owner).status_code == 201
    again = client.post("/figures", json=figure("47"), headers=owner)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "revise it" in again.json()["detail"]


def test_a_figure_for_an_undefined_measure_is_422(client, owner):
    response = client.post("/figures", json={**figure(), "measure": "burglary"}, headers=owner)
    assert response.status_code == 422 and "not defined" in response.json()["detail"]


def test_a_bad_value_is_422_naming_the_field_expected_and_found(client, owner, homicide):
    response = client.post("/figures", json=figure("10, 579"), headers=owner)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "value" and "exact decimal" in error["message"] and "10, 579" in error["message"]


def test_a_stale_if_match_gets_412_with_the_current_version(client, owner, homicide):
    client.post("/figures", json=figure(), headers=owner)
    path = "/figures/homicide/west-midlands/2021-01/2021-12"
    assert client.get(path, headers=owner).headers["etag"] == '"1"'
    first = client.post(f"{path}/revisions", json={"value": "47", "reason": "late data"}, headers={**owner, "If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    stale = client.post(
        f"{path}/revisions", json={"value": "48", "reason": "more late data"}, headers={**owner, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert client.get(path, headers=owner).json()["value"] == "47"


def test_a_revision_without_a_reason_is_refused(client, owner, homicide):
    client.post("/figures", json=figure(), headers=owner)
    response = client.post(
        "/figures/homicide/west-midlands/2021-01/2021-12/revisions", json={"value": "47", "reason": ""}, headers=owner
    )
    assert response.status_code == 422


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_writes_nothing(client, owner, homicide, store):
    headers = {**owner, "Idempotency-Key": "7b0c-retry"}
    first = client.post("/figures", json=figure(), headers=headers)
    head = store.head().position
    retry = client.post("/figures", json=figure(), headers=headers)
    assert retry.status_code == first.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert {k: v for k, v in retry.json().items() if k != "replayed"} == {k: v for k, v in first.json().items() if k != "replayed"}
    assert store.head().position == head


def test_the_same_idempotency_key_for_a_different_request_is_refused(client, owner, homicide):
    headers = {**owner, "Idempotency-Key": "k-1"}
    client.post("/figures", json=figure(), headers=headers)
    response = client.post("/figures", json=figure("50", period="2020-01/2020-12"), headers=headers)
    assert response.status_code == 422 and "different request" in response.json()["detail"]


def test_a_data_owner_limited_to_named_measures_gets_403_for_others(client, as_role, admin, homicide):
    client.post("/measures", json={**HOMICIDE, "measure": "robbery", "title": "Robbery", "priority": "neighbourhood-crime"}, headers=admin)
    limited = as_role("data-owner", measures=["robbery"])
    assert client.post("/figures", json=figure(), headers=limited).status_code == 403
    assert client.post("/figures", json={**figure(), "measure": "robbery"}, headers=limited).status_code == 201


def test_a_bulk_file_with_bad_rows_writes_nothing_and_lists_every_bad_row(client, owner, homicide, store):
    head = store.head().position
    body = "measure,period,value,source,note\nhomicide,2021-01/2021-12,46,,\nhomicide,2021-13/2022-01,5,,\nhomicide,2020-01/2020-12,lots,,\n"
    response = client.post("/figures/import", content=body, headers={**owner, "Content-Type": "text/csv"})
    assert response.status_code == 422
    rows = response.json()["errors"]
    assert [(row["line"], row["column"]) for row in rows] == [(3, "period"), (4, "value")]
    assert store.head().position == head


def test_a_good_bulk_file_is_written_whole_and_a_second_submission_changes_nothing(client, owner, homicide, store):
    body = [figure(), figure("52", period="2018-07/2019-06")]
    first = client.post("/figures/import", json=body, headers=owner)
    assert first.status_code == 201 and first.json()["recorded"] == 2 and first.json()["events"] == 2
    again = client.post("/figures/import", json=body, headers=owner)
    assert again.status_code == 200 and again.json()["unchanged"] == 2 and again.json()["events"] == 0


def test_a_bulk_body_of_another_media_type_is_415(client, owner):
    response = client.post("/figures/import", content="x", headers={**owner, "Content-Type": "text/plain"})
    assert response.status_code == 415


def test_an_editor_opens_an_edition_writes_a_paragraph_and_sees_what_blocks_approval(client, as_role, homicide, owner):
    editor = as_role("editor")
    client.post("/figures", json=figure(), headers=owner)
    opened = client.post(
        "/editions",
        json={
            "edition": "2022-02",
            "title": "National Policing Priorities statement",
            "authors": [{"name": "Harry Barton", "job_title": "Head of Strategy and Direction"}],
            "lead_contact": {"name": "Stuart Gardner"},
        },
        headers=editor,
    )
    assert opened.status_code == 201
    written = client.post(
        "/editions/2022-02/paragraphs/4",
        json={"section": "force-statement", "text": "There were {{value:homicide:2021-01/2021-12}} homicides, averaging five a month."},
        headers=editor,
    )
    assert written.status_code == 201
    shown = client.get("/editions/2022-02", headers=editor).json()
    assert shown["paragraphs"][0]["rendered"] == "There were 46 homicides, averaging five a month."
    assert any("five" in problem for problem in shown["problems"])
    refused = client.post("/editions/2022-02/approvals", json={}, headers=editor)
    assert refused.status_code == 409 and refused.json()["errors"]


def test_roles_are_kept_apart(client, as_role):
    assert client.post("/measures", json=HOMICIDE, headers=as_role("data-owner")).status_code == 403
    assert client.post("/figures", json=figure(), headers=as_role("editor")).status_code == 403
    assert client.post("/figures", json=figure(), headers=as_role("auditor")).status_code == 403
    assert client.post("/figures", json=figure()).status_code == 401


@pytest.mark.parametrize("header", ['"²"'.encode("latin-1"), b'W/"x"', b"latest"])
def test_an_if_match_that_is_not_a_version_is_a_400_problem(client, owner, homicide, header):
    client.post("/figures", json=figure(), headers=owner)
    response = client.post(
        "/figures/homicide/west-midlands/2021-01/2021-12/revisions",
        json={"value": "47", "reason": "late data"},
        headers={**owner, "If-Match": header},
    )
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"


def test_a_concurrent_change_without_if_match_is_a_409_not_a_412(client, owner, homicide, monkeypatch):
    from events import WrongExpectedVersion
    from service.http.routes import recording

    def lost_the_race(store, measure, area, period, *args, **kwargs):
        raise WrongExpectedVersion(f"figure-{measure}/{area}/{period}", 0, 1)  # another writer recorded it first

    monkeypatch.setattr(recording, "record_figure", lost_the_race)
    response = client.post("/figures", json=figure(), headers=owner)
    assert response.status_code == 409
    assert response.json()["current_version"] == 1 and "read it again" in response.json()["detail"]


def _unit_of_work(store):
    from service.http.writes import UnitOfWork

    request = Metadata(actor="token:t1:alice", source="api", correlation_id="req-1", extra={"request_sha256": "abc"})
    return UnitOfWork(store, request, "http:t1:key-1", None)


def test_a_handlers_own_metadata_and_idempotency_key_are_kept_beside_the_requests_correlation(store):
    from .support import counted

    work = _unit_of_work(store)
    work.append("s", [counted()], 0, idempotency_key="handler:once", metadata=Metadata(actor="scheduler", causation_id="c9"))
    (event,) = store.read_stream("s")
    assert event.metadata == {
        "actor": "scheduler",
        "source": "api",
        "correlation_id": "req-1",
        "causation_id": "c9",
        "idempotency_key": "handler:once",
        "extra": {"request_sha256": "abc"},
    }


def test_an_append_without_its_own_metadata_or_key_records_the_requests(store):
    from .support import counted

    work = _unit_of_work(store)
    work.append_many([("s", [counted()], 0)])
    (event,) = store.read_stream("s")
    assert (event.actor, event.metadata["idempotency_key"], event.metadata["correlation_id"]) == (
        "token:t1:alice",
        "http:t1:key-1",
        "req-1",
    )
    assert len(work.written) == 1


def test_the_unit_of_work_offers_reads_and_appends_not_the_whole_store(store):
    work = _unit_of_work(store)
    for name in ("engine", "verify", "close", "recall", "read_all"):
        assert not hasattr(work, name), name
