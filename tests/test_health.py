"""/healthz says the process answers without asking anything; /readyz says it can serve: database, schema, site store."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from events.database import make_engine, upgrade
from service.bootstrap import App
from service.config import Settings
from service.http import create_app

from .conftest import sqlite_url
from .relay import Relay


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(App(settings)))


def test_a_ready_service_answers_200_on_both(tmp_path):
    url = sqlite_url(tmp_path)
    upgrade(make_engine(url))
    with client_for(Settings(database_url=url, publish_to=str(tmp_path / "site"))) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "schema": "current", "object_store": "ok"}


@pytest.mark.postgres
def test_liveness_holds_while_the_database_is_down_and_readiness_names_it_without_its_address(tmp_path, postgres_url):
    upgrade(make_engine(postgres_url))
    database = make_url(postgres_url)
    relay = Relay((database.host, database.port))
    through_relay = database.set(host="127.0.0.1", port=relay.port, password="s3cret").update_query_dict({"connect_timeout": "1"})
    settings = Settings(database_url=through_relay.render_as_string(hide_password=False), publish_to=str(tmp_path / "site"))
    with client_for(settings) as client:
        assert client.get("/readyz").status_code == 200
        relay.cut()
        alive = client.get("/healthz")
        ready = client.get("/readyz")
    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    body = ready.json()
    assert body["check"] == "database" and "the database did not answer" in body["detail"]
    assert str(relay.port) not in ready.text and "s3cret" not in ready.text


def test_readiness_refuses_a_database_whose_schema_is_no_longer_current_and_says_what_to_run(tmp_path):
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    with client_for(Settings(database_url=url, publish_to=str(tmp_path / "site"))) as client:
        assert client.get("/readyz").status_code == 200
        with engine.connect() as connection:  # as if the database had been restored from an older backup
            connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
            connection.commit()
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["check"] == "schema"
    assert "older than" in ready.json()["detail"] and "run `policing-metrics db upgrade`" in ready.json()["detail"]


@pytest.mark.s3
def test_readiness_refuses_an_object_store_that_does_not_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    url = sqlite_url(tmp_path)
    upgrade(make_engine(url))
    with client_for(Settings(database_url=url, publish_to="s3://site/public")) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["check"] == "object store"
    assert "127.0.0.1" not in ready.text


@pytest.mark.s3
def test_readiness_answers_200_with_a_reachable_bucket_and_refuses_a_missing_one(tmp_path, monkeypatch, seaweedfs, s3_bucket):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", seaweedfs.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    url = sqlite_url(tmp_path)
    upgrade(make_engine(url))
    with client_for(Settings(database_url=url, publish_to=f"s3://{s3_bucket}/site")) as client:
        assert client.get("/readyz").status_code == 200
    with client_for(Settings(database_url=url, publish_to="s3://no-such-bucket-here/site")) as client:
        missing = client.get("/readyz")
    assert missing.status_code == 503 and missing.json()["check"] == "object store"
