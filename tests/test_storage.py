"""Object stores: one contract run against a local directory and against S3 on a real SeaweedFS server, then what is
particular to each (headers and request faults for S3, torn writes for a directory), and the destination parser."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from publishers.stores import (
    CACHE_IMMUTABLE,
    CACHE_SHORT,
    S3,
    ChecksumMismatch,
    ImmutableObjectConflict,
    InvalidDestination,
    InvalidKey,
    LocalDirectory,
    ObjectNotFound,
    StorageError,
    StorageRequestRefused,
    StorageUnavailable,
    content_type_for,
    open_store,
)
from publishers.stores import local as local_module

from .s3 import FAST_RETRY, REGION

PAGE = b"<!doctype html><title>Q1</title>"
OTHER_PAGE = b"<!doctype html><title>Q1, corrected</title>"
KEY = "editions/2026-q1/r1/index.html"


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def object_store(request, tmp_path):
    """The same test against each store."""
    if request.param == "local":
        return LocalDirectory(tmp_path / "site")
    return request.getfixturevalue("s3_store")


# The contract every store fulfils.


def test_an_immutable_object_reads_back_with_its_size_and_checksum(object_store):
    result = object_store.put_immutable(KEY, PAGE)

    assert (result.key, result.sha256, result.size, result.written) == (KEY, sha256(PAGE), len(PAGE), True)
    assert object_store.get(KEY) == PAGE
    assert object_store.exists(KEY)
    info = object_store.head(KEY)
    assert (info.size, info.sha256) == (len(PAGE), sha256(PAGE))


def test_publishing_identical_bytes_again_is_a_no_op_that_succeeds(object_store):
    object_store.put_immutable(KEY, PAGE)

    again = object_store.put_immutable(KEY, PAGE)

    assert again.written is False
    assert again.sha256 == sha256(PAGE)
    assert object_store.get(KEY) == PAGE


def test_different_bytes_under_a_published_key_are_refused_naming_the_key_and_the_original_is_kept(object_store):
    object_store.put_immutable(KEY, PAGE)

    with pytest.raises(ImmutableObjectConflict) as refused:
        object_store.put_immutable(KEY, OTHER_PAGE)

    assert refused.value.location == object_store.location(KEY)
    assert KEY in str(refused.value) and "new revision" in str(refused.value)
    assert (refused.value.existing_sha256, refused.value.offered_sha256) == (sha256(PAGE), sha256(OTHER_PAGE))
    assert object_store.get(KEY) == PAGE


def test_a_mutable_object_is_replaced(object_store):
    object_store.put_mutable("feed.atom", b"<feed>one</feed>")

    result = object_store.put_mutable("feed.atom", b"<feed>two</feed>")

    assert result.written is True
    assert object_store.get("feed.atom") == b"<feed>two</feed>"


def test_content_type_follows_the_extension(object_store):
    object_store.put_immutable("editions/2026-q1/r1/scorecard.csv", b"measure,value\n")

    assert object_store.head("editions/2026-q1/r1/scorecard.csv").content_type == "text/csv; charset=utf-8"


def test_listing_gives_every_key_under_a_prefix_sorted(object_store):
    for key in ["index.html", "editions/b/r1/index.html", "editions/a/r2/edition.json", "editions/a/r1/index.html"]:
        object_store.put_immutable(key, key.encode())

    assert object_store.list("editions/a/") == ["editions/a/r1/index.html", "editions/a/r2/edition.json"]
    assert object_store.list() == [
        "editions/a/r1/index.html",
        "editions/a/r2/edition.json",
        "editions/b/r1/index.html",
        "index.html",
    ]


def test_a_missing_object_is_reported_as_not_found(object_store):
    assert not object_store.exists(KEY)
    with pytest.raises(ObjectNotFound, match="does not exist"):
        object_store.get(KEY)
    with pytest.raises(ObjectNotFound):
        object_store.head(KEY)
    assert object_store.list() == []


@pytest.mark.parametrize("key", ["", "/etc/passwd", "editions/../../secret", "a//b", "./a", "dir/", "a\\b"])
def test_keys_that_could_escape_the_site_are_refused(object_store, key):
    with pytest.raises(InvalidKey):
        object_store.put_immutable(key, PAGE)


def test_racing_writers_of_one_immutable_key_leave_exactly_one_version(object_store):
    bodies = [b"first", b"second", b"first", b"second"]
    start = threading.Barrier(len(bodies))
    outcomes: list[object] = [None] * len(bodies)

    def publish(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = object_store.put_immutable(KEY, bodies[index])
        except ImmutableObjectConflict as error:
            outcomes[index] = error

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winner = object_store.get(KEY)
    written = [o for o in outcomes if not isinstance(o, Exception) and o.written]
    assert len(written) == 1
    for body, outcome in zip(bodies, outcomes, strict=True):
        assert isinstance(outcome, ImmutableObjectConflict) == (body != winner)


# S3: headers as stored, what is sent, verification, and faults injected into requests to the real server.


@pytest.mark.s3
@pytest.mark.parametrize(
    "key, content_type",
    [
        ("editions/2026-q1/r1/index.html", "text/html; charset=utf-8"),
        ("editions/2026-q1/r1/edition.json", "application/json"),
        ("editions/2026-q1/r1/scorecard.csv", "text/csv; charset=utf-8"),
        ("editions/2026-q1/r1/trend.svg", "image/svg+xml"),
        ("editions/2026-q1/r1/releases.ics", "text/calendar; charset=utf-8"),
    ],
)
def test_s3_immutable_objects_are_stored_with_their_content_type_and_a_long_immutable_cache(
    s3_store, key, content_type
):
    s3_store.put_immutable(key, b"x")

    info = s3_store.head(key)

    assert (info.content_type, info.cache_control) == (content_type, CACHE_IMMUTABLE)


@pytest.mark.s3
@pytest.mark.parametrize(
    "key, content_type",
    [
        ("feed.atom", "application/atom+xml"),
        ("feed.rss", "application/rss+xml"),
        ("index.html", "text/html; charset=utf-8"),
    ],
)
def test_s3_feeds_and_indexes_are_stored_with_a_short_cache(s3_store, key, content_type):
    s3_store.put_mutable(key, b"x")

    info = s3_store.head(key)

    assert (info.content_type, info.cache_control) == (content_type, CACHE_SHORT)


@pytest.mark.s3
def test_s3_objects_live_under_the_prefix_in_the_bucket(s3_store, seaweedfs):
    s3_store.put_immutable(KEY, PAGE)

    listed = seaweedfs.client().list_objects_v2(Bucket=s3_store.bucket)["Contents"]

    assert [item["Key"] for item in listed] == [f"site/{KEY}"]
    assert s3_store.location(KEY) == f"s3://{s3_store.bucket}/site/{KEY}"


@pytest.mark.s3
def test_s3_immutable_writes_send_if_none_match_and_the_sha256_of_the_body(s3_store):
    sent = _record_requests(s3_store, "PutObject")

    s3_store.put_immutable(KEY, PAGE)

    headers = sent[0].headers
    assert _text(headers["If-None-Match"]) == "*"
    assert _text(headers["x-amz-checksum-sha256"]) == _b64_sha256(PAGE)


@pytest.mark.s3
def test_s3_a_conflict_is_decided_by_the_server_in_one_request_and_not_retried(s3_store):
    s3_store.put_immutable(KEY, PAGE)
    sent = _record_requests(s3_store, "PutObject")

    with pytest.raises(ImmutableObjectConflict):
        s3_store.put_immutable(KEY, OTHER_PAGE)

    assert len(sent) == 1


@pytest.mark.s3
def test_s3_a_corrupted_upload_is_detected_removed_and_can_be_published_again(s3_store):
    # SeaweedFS stores what it is sent, so the corruption is simulated in the checksum the upload reports back.
    def corrupt(parsed, **_):
        parsed["ChecksumSHA256"] = _b64_sha256(b"something else")

    s3_store.client.meta.events.register("after-call.s3.PutObject", corrupt)

    with pytest.raises(ChecksumMismatch) as corrupted:
        s3_store.put_immutable(KEY, PAGE)

    assert KEY in str(corrupted.value) and "removed" in str(corrupted.value)
    assert not s3_store.exists(KEY)
    s3_store.client.meta.events.unregister("after-call.s3.PutObject", corrupt)
    assert s3_store.put_immutable(KEY, PAGE).written is True


@pytest.mark.s3
def test_s3_without_a_checksum_in_the_upload_response_verification_asks_head_object(s3_store):
    _drop_from_response(s3_store, "PutObject", "ChecksumSHA256")
    heads = _record_requests(s3_store, "HeadObject")

    s3_store.put_immutable(KEY, PAGE)

    assert len(heads) == 1


@pytest.mark.s3
def test_s3_without_any_checksum_verification_falls_back_to_the_etag_then_to_reading_back(s3_store):
    _drop_from_response(s3_store, "PutObject", "ChecksumSHA256")
    _drop_from_response(s3_store, "HeadObject", "ChecksumSHA256")
    gets = _record_requests(s3_store, "GetObject")

    s3_store.put_immutable(KEY, PAGE)  # SeaweedFS's ETag is the MD5 of the body
    assert len(gets) == 0

    _drop_from_response(s3_store, "HeadObject", "ETag")
    s3_store.put_mutable("feed.atom", b"<feed/>")
    assert len(gets) == 1


@pytest.mark.s3
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(lambda request: _error_response(request, 503, "SlowDown"), id="503 SlowDown"),
        pytest.param(lambda request: _error_response(request, 500, "InternalError"), id="500 InternalError"),
        pytest.param(lambda request: _error_response(request, 429, "TooManyRequests"), id="429"),
        pytest.param(EndpointConnectionError(endpoint_url="http://127.0.0.1"), id="connection refused"),
    ],
)
def test_s3_transient_errors_are_retried_with_backoff_until_the_request_succeeds(s3_store, fault):
    attempts = _fail(s3_store, "PutObject", fault, times=2)

    result = s3_store.put_immutable(KEY, PAGE)

    assert result.written is True
    assert len(attempts) == 3
    assert s3_store.get(KEY) == PAGE


@pytest.mark.s3
def test_s3_a_lasting_failure_ends_with_an_error_naming_the_operation_key_and_cause(s3_store):
    attempts = _fail(s3_store, "PutObject", lambda request: _error_response(request, 503, "SlowDown"))

    with pytest.raises(StorageUnavailable) as failed:
        s3_store.put_immutable(KEY, PAGE)

    assert len(attempts) == FAST_RETRY.attempts
    message = str(failed.value)
    assert f"put s3://{s3_store.bucket}/site/{KEY} failed 3 times" in message
    assert "SlowDown (HTTP 503)" in message
    assert failed.value.location == s3_store.location(KEY)


@pytest.mark.s3
def test_s3_a_refusal_is_not_retried_and_says_what_to_check(s3_store):
    attempts = _fail(s3_store, "PutObject", lambda request: _error_response(request, 403, "AccessDenied"))

    with pytest.raises(StorageRequestRefused, match="check the AWS credentials") as refused:
        s3_store.put_immutable(KEY, PAGE)

    assert len(attempts) == 1
    assert KEY in str(refused.value) and "AccessDenied (HTTP 403)" in str(refused.value)


@pytest.mark.s3
def test_s3_credentials_come_from_the_environment(seaweedfs, s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = S3(s3_bucket, endpoint_url=seaweedfs.endpoint_url, region=REGION, path_style=True, retry=FAST_RETRY)

    with pytest.raises(StorageRequestRefused, match="SignatureDoesNotMatch") as refused:
        store.put_immutable(KEY, PAGE)

    assert "AWS_SECRET_ACCESS_KEY" in str(refused.value)


@pytest.mark.s3
def test_s3_a_missing_bucket_is_named_in_the_error(seaweedfs):
    store = S3("no-such-bucket", endpoint_url=seaweedfs.endpoint_url, region=REGION, path_style=True, retry=FAST_RETRY)

    with pytest.raises(StorageRequestRefused, match="NoSuchBucket.*create bucket 'no-such-bucket'"):
        store.put_immutable(KEY, PAGE)


# A local directory: what is on disk.


def test_local_a_corrupted_write_is_refused_and_leaves_nothing_behind(tmp_path, monkeypatch):
    store = LocalDirectory(tmp_path)
    real_write = local_module._write_file
    monkeypatch.setattr(local_module, "_write_file", lambda path, body: real_write(path, body[:-1] + b"!"))

    with pytest.raises(ChecksumMismatch) as corrupted:
        store.put_immutable(KEY, PAGE)

    assert str(tmp_path / KEY) in str(corrupted.value)
    assert not store.exists(KEY)
    assert os.listdir(tmp_path / "editions/2026-q1/r1") == []
    monkeypatch.undo()
    assert store.put_immutable(KEY, PAGE).written is True


def test_local_a_failed_write_names_the_file_and_the_reason(tmp_path, monkeypatch):
    def disk_full(path, body):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(local_module, "_write_file", disk_full)

    with pytest.raises(StorageError, match=f"put {tmp_path / KEY} failed: No space left on device"):
        LocalDirectory(tmp_path).put_mutable(KEY, PAGE)
    assert os.listdir(tmp_path / "editions/2026-q1/r1") == []


def test_local_files_are_complete_readable_and_without_temporary_files(tmp_path):
    store = LocalDirectory(tmp_path)
    store.put_immutable(KEY, PAGE)
    store.put_mutable("index.html", b"<p>list</p>")

    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        KEY,
        "index.html",
    ]
    assert (tmp_path / KEY).stat().st_mode & 0o777 == 0o644


def test_local_a_directory_in_the_way_is_reported(tmp_path):
    (tmp_path / "editions").mkdir()

    with pytest.raises(StorageError, match="a directory of that name is in the way"):
        LocalDirectory(tmp_path).put_immutable("editions", PAGE)


# Headers and destinations.


@pytest.mark.parametrize(
    "key, content_type",
    [
        ("index.html", "text/html; charset=utf-8"),
        ("a/edition.json", "application/json"),
        ("a/scorecard.csv-metadata.json", "application/json"),
        ("a/scorecard.csv", "text/csv; charset=utf-8"),
        ("feed.atom", "application/atom+xml"),
        ("feed.rss", "application/rss+xml"),
        ("releases.ics", "text/calendar; charset=utf-8"),
        ("a/trend.SVG", "image/svg+xml"),
        ("a/no-extension", "application/octet-stream"),
        ("a/archive.tar.gz", "application/octet-stream"),
    ],
)
def test_content_type_for_a_key_comes_from_its_extension(key, content_type):
    assert content_type_for(key) == content_type


@pytest.mark.parametrize(
    "destination, root",
    [
        ("file:///srv/site", "/srv/site"),
        ("file://localhost/srv/site", "/srv/site"),
        ("file:///srv/my%20site", "/srv/my site"),
        ("/srv/site", "/srv/site"),
        ("file://var/public", "{cwd}/var/public"),
        ("var/public", "{cwd}/var/public"),
        ("~/site", "{home}/site"),
    ],
)
def test_a_file_url_or_a_path_opens_a_local_directory(destination, root):
    store = open_store(destination)

    assert isinstance(store, LocalDirectory)
    assert store.root == Path(root.format(cwd=Path.cwd(), home=Path.home()))


@pytest.mark.parametrize(
    "destination, bucket, prefix",
    [("s3://stats/site/2026", "stats", "site/2026"), ("s3://stats", "stats", ""), ("s3://stats/", "stats", "")],
)
def test_an_s3_url_opens_an_s3_store_on_that_bucket_and_prefix(destination, bucket, prefix):
    store = open_store(destination, endpoint_url="http://127.0.0.1:8333", region="eu-west-2", path_style=True)

    assert isinstance(store, S3)
    assert (store.bucket, store.prefix) == (bucket, prefix)
    assert store.client.meta.endpoint_url == "http://127.0.0.1:8333"
    assert store.client.meta.region_name == "eu-west-2"
    assert store.client.meta.config.s3 == {"addressing_style": "path"}
    assert store.client.meta.config.signature_version == "s3v4"


def test_without_options_an_s3_store_takes_endpoint_region_and_addressing_from_the_aws_configuration(
    tmp_path, monkeypatch
):
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-2\ns3 =\n    addressing_style = path\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:8333")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)

    store = open_store("s3://stats/site")

    assert store.client.meta.endpoint_url == "http://127.0.0.1:8333"
    assert store.client.meta.region_name == "eu-west-2"
    assert store.client.meta.config.s3 == {"addressing_style": "path"}


@pytest.mark.parametrize(
    "destination, problem",
    [
        ("", "it is empty"),
        ("s3://", "names no bucket"),
        ("s3:///site", "names no bucket"),
        ("ftp://host/site", "ftp:// is not supported"),
        ("file://", "names no directory"),
    ],
)
def test_a_destination_that_cannot_be_used_is_refused_with_the_reason(destination, problem):
    with pytest.raises(InvalidDestination, match=problem):
        open_store(destination)


def test_s3_options_given_with_a_directory_are_refused_rather_than_ignored():
    with pytest.raises(InvalidDestination, match="only applies to s3://"):
        open_store("var/public", endpoint_url="http://127.0.0.1:8333")


@pytest.mark.s3
def test_a_store_opened_from_an_s3_url_publishes_to_the_server(seaweedfs, s3_bucket):
    store = open_store(f"s3://{s3_bucket}/public", endpoint_url=seaweedfs.endpoint_url, region=REGION, path_style=True)

    store.put_immutable(KEY, PAGE)

    assert seaweedfs.client().get_object(Bucket=s3_bucket, Key=f"public/{KEY}")["Body"].read() == PAGE


# Request hooks: botocore events on the store's own client, so faults reach the real server's client path.


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_):
        yield self.content


def _error_response(request, status: int, code: str) -> AWSResponse:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected</Message></Error>'
    return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Body(body.encode()))


def _fail(store: S3, operation: str, fault, times: int | None = None) -> list:
    """Answer the first `times` requests of `operation` (all, if None) with `fault`; returns every request seen."""
    seen: list = []

    def before_send(request, **_):
        seen.append(request)
        if times is None or len(seen) <= times:
            if isinstance(fault, Exception):
                raise fault
            return fault(request)
        return None

    store.client.meta.events.register(f"before-send.s3.{operation}", before_send)
    return seen


def _record_requests(store: S3, operation: str) -> list:
    return _fail(store, operation, None, times=0)


def _drop_from_response(store: S3, operation: str, field: str) -> None:
    store.client.meta.events.register(f"after-call.s3.{operation}", lambda parsed, **_: parsed.pop(field, None))


def _b64_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
