"""What users expect of a public service over HTTP: security headers on every answer, the API's and
the served site's, and /docs served from this service alone, with no inline script."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.bootstrap import App
from service.config import Settings
from service.http import create_app


@pytest.fixture
def client(store, database_url, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!DOCTYPE html><title>statements</title><style>p{}</style><p>hello</p>")
    application = App(Settings(database_url=database_url, default_area="west-midlands"))
    application.__dict__.update(engine=store.engine, store=store)
    with TestClient(create_app(application, site=f"file://{site}", max_body_bytes=1000)) as client:
        yield client


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/healthz", None),
        ("GET", "/public/editions", None),
        ("GET", "/public/scorecard", None),  # a 404 problem
        ("GET", "/audit/head", None),  # a 401 problem
        ("POST", "/figures", "x" * 2000),  # a 413 from the body limit
        ("GET", "/", None),  # the served site
        ("GET", "/index.html", None),
        ("GET", "/docs", None),
        ("GET", "/openapi.json", None),
    ],
)
def test_every_answer_carries_the_security_headers(client, method, path, body):
    response = client.request(method, path, content=body)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"
    policy = _directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"], "no inline or third-party script is ever allowed"
    assert policy["object-src"] == ["'none'"]


def test_the_docs_page_loads_swagger_ui_from_this_service_with_no_inline_script(client):
    page = client.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts, "the page starts Swagger UI"
    assert all(body.strip() == "" for _, body in scripts), "no inline script"
    sources = [re.search(r'src="([^"]+)"', attributes).group(1) for attributes, _ in scripts]
    links = re.findall(r'href="([^"]+)"', page.text)
    for url in sources + links:
        assert url.startswith("/"), f"{url} is not served by this service"
        assert client.get(url).status_code == 200, url
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert '"/openapi.json"' in client.get("/docs/start.js").text


def test_redoc_which_loads_from_a_cdn_is_not_served(client):
    assert client.get("/redoc").status_code == 404
