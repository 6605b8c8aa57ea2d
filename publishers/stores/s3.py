"""S3, or any S3-compatible service (SeaweedFS, MinIO, ...), through boto3.

Credentials, and the region and endpoint when not given, come from boto3's default chain: AWS_* environment
variables, ~/.aws/config and ~/.aws/credentials, SSO and instance roles. Requests are signed with SigV4. Immutable
writes need a server that honours `If-None-Match: *` on PutObject (AWS S3 since August 2024, SeaweedFS 4.x).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Collection, TypeVar

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    FlexibleChecksumError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from .base import ObjectInfo, ObjectStore, PutResult, check_key, retry_listeners, sha256_hex
from .errors import (
    ChecksumMismatch,
    ImmutableObjectConflict,
    ObjectNotFound,
    StorageRequestRefused,
    StorageUnavailable,
)
from .headers import CACHE_IMMUTABLE, CACHE_SHORT, content_type_for

T = TypeVar("T")
log = structlog.get_logger(__name__)

# Codes S3 and compatible servers use for "slow down" and "try again"; any 5xx except 501 counts too.
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "ConditionalRequestConflict",  # 409: a concurrent conditional write to the same key is in flight
    }
)
# Lost connections, and a read whose bytes did not match the stored checksum: trying again may well work.
_TRANSIENT_ERRORS = (
    BotoConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
    IncompleteReadError,
    FlexibleChecksumError,
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first included
    initial_wait: float = 0.2  # seconds before the first retry; doubles each time, with jitter
    max_wait: float = 5.0


DEFAULT_RETRY = RetryPolicy()


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ClientError):
        status = _status(error)
        return (status >= 500 and status != 501) or status == 429 or _code(error) in TRANSIENT_CODES
    if isinstance(error, SSLError):  # a certificate problem does not fix itself
        return False
    return isinstance(error, _TRANSIENT_ERRORS)


class S3(ObjectStore):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        path_style: bool = False,
        retry: RetryPolicy = DEFAULT_RETRY,
        session: boto3.session.Session | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 store needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        options: dict[str, Any] = {
            "signature_version": "s3v4",
            # tenacity owns retrying, so botocore must not retry underneath it.
            "retries": {"mode": "standard", "total_max_attempts": 1},
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        if path_style:
            options["s3"] = {"addressing_style": "path"}
        self.client = (session or boto3.session.Session()).client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=Config(**options)
        )
        self._retrying = Retrying(
            stop=stop_after_attempt(retry.attempts),
            wait=wait_exponential(multiplier=retry.initial_wait, max=retry.max_wait)
            + wait_random(0, retry.initial_wait),
            retry=retry_if_exception(is_transient),
            reraise=True,
        )

    def __repr__(self) -> str:
        return f"S3({self.location()!r}, endpoint_url={self.client.meta.endpoint_url!r})"

    def location(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._name(key)}"

    def put_immutable(
        self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_IMMUTABLE
    ) -> PutResult:
        check_key(key)
        digest = sha256_hex(body)
        try:
            response = self._request(
                "put",
                key,
                lambda: self.client.put_object(
                    **self._put_arguments(key, body, digest, content_type, cache_control), IfNoneMatch="*"
                ),
                expect={"PreconditionFailed", "412"},
            )
        except ClientError:  # the key is taken: fine if it holds these very bytes
            return self._already_there(key, body, digest)
        self._verify(key, body, digest, response, remove_if_corrupt=True)
        return PutResult(key, digest, len(body), written=True)

    def put_mutable(
        self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_SHORT
    ) -> PutResult:
        check_key(key)
        digest = sha256_hex(body)
        response = self._request(
            "put",
            key,
            lambda: self.client.put_object(**self._put_arguments(key, body, digest, content_type, cache_control)),
        )
        self._verify(key, body, digest, response, remove_if_corrupt=False)
        return PutResult(key, digest, len(body), written=True)

    def get(self, key: str) -> bytes:
        check_key(key)

        def read() -> bytes:
            # ChecksumMode makes botocore check the bytes read against the stored checksum.
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key), ChecksumMode="ENABLED")
            return response["Body"].read()

        try:
            return self._request("get", key, read, expect={"NoSuchKey"})
        except ClientError:
            raise ObjectNotFound(self.location(key)) from None

    def head(self, key: str) -> ObjectInfo:
        response = self._head(key)
        return ObjectInfo(
            key=key,
            size=response["ContentLength"],
            content_type=response.get("ContentType"),
            cache_control=response.get("CacheControl"),
            sha256=_sha256_from(response),
        )

    def list(self, prefix: str = "") -> list[str]:
        root = f"{self.prefix}/" if self.prefix else ""

        def collect() -> list[str]:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=root + prefix)
            return sorted(item["Key"][len(root) :] for page in pages for item in page.get("Contents", ()))

        return self._request("list", prefix, collect)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix and key else self.prefix or key

    def _put_arguments(
        self, key: str, body: bytes, digest: str, content_type: str | None, cache_control: str
    ) -> dict[str, Any]:
        return {
            "Bucket": self.bucket,
            "Key": self._name(key),
            "Body": body,
            "ContentType": content_type or content_type_for(key),
            "CacheControl": cache_control,
            # Sent with the request, so the server refuses bytes damaged on the way (BadDigest) and stores nothing.
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
        }

    def _head(self, key: str) -> dict[str, Any]:
        check_key(key)
        try:
            return self._request(
                "head",
                key,
                lambda: self.client.head_object(Bucket=self.bucket, Key=self._name(key), ChecksumMode="ENABLED"),
                expect={"404", "NoSuchKey", "NotFound"},
            )
        except ClientError:
            raise ObjectNotFound(self.location(key)) from None

    def _already_there(self, key: str, body: bytes, digest: str) -> PutResult:
        existing = _sha256_from(self._head(key)) or sha256_hex(self.get(key))
        if existing != digest:
            raise ImmutableObjectConflict(self.location(key), existing, digest)
        return PutResult(key, digest, len(body), written=False)

    def _verify(self, key: str, body: bytes, digest: str, response: dict[str, Any], *, remove_if_corrupt: bool) -> None:
        """Compare what the store says it holds with what was sent, using the best evidence it offers: the checksum
        returned by the upload, else the one HeadObject reports, else the ETag (an MD5 for a plain upload), else the
        bytes read back."""
        found = _sha256_from(response)
        if found is None:
            head = self._head(key)
            found = _sha256_from(head)
            if found is None and head.get("ETag", "").strip('"') == hashlib.md5(body).hexdigest():
                return
        if found is None:
            found = sha256_hex(self.get(key))
        if found == digest:
            return
        if remove_if_corrupt:  # otherwise the corrupt copy would block the key for ever
            self._request("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=self._name(key)))
        raise ChecksumMismatch(self.location(key), digest, f"SHA-256 {found}", removed=remove_if_corrupt)

    def _request(self, operation: str, key: str, call: Callable[[], T], *, expect: Collection[str] = ()) -> T:
        """Run one S3 call with retries. A ClientError whose code or status is in `expect` is re-raised for the
        caller to handle; every other failure becomes a StorageError naming the operation and key."""
        location = self.location(key)
        retrying = self._retrying.copy(before_sleep=lambda state: _log_retry(operation, location, state))
        try:
            return retrying(call)
        except (ClientError, BotoCoreError) as error:
            if isinstance(error, ClientError) and (_code(error) in expect or str(_status(error)) in expect):
                raise
            if is_transient(error):
                attempts = retrying.statistics.get("attempt_number", 1)
                raise StorageUnavailable(operation, location, attempts, _describe(error)) from error
            raise StorageRequestRefused(operation, location, _describe(error), self._hint(error)) from error

    def _hint(self, error: Exception) -> str:
        if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
            return "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        if isinstance(error, SSLError):
            return "check the endpoint URL and its TLS certificate"
        code = _code(error) if isinstance(error, ClientError) else ""
        if code == "NoSuchBucket":
            return f"create bucket {self.bucket!r} or correct the destination"
        if code in ("BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"):
            return "the bytes were damaged on the way and nothing was stored; publish again"
        if isinstance(error, ClientError) and _status(error) in (401, 403):
            return (
                "check the AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) "
                f"and that they may write to bucket {self.bucket!r}"
            )
        return "check the destination, the endpoint URL and the region"


def _sha256_from(response: dict[str, Any]) -> str | None:
    """The SHA-256 (hex) of the whole object, if the response carries one; a composite checksum of a multipart
    upload ('...-3') is not a checksum of the bytes, so it does not count."""
    value = response.get("ChecksumSHA256")
    if not value or "-" in value:
        return None
    return base64.b64decode(value).hex()


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        message = str(error.response.get("Error", {}).get("Message", "")).rstrip(".")
        return f"{_code(error)} (HTTP {_status(error)})" + (f": {message}" if message else "")
    return f"{type(error).__name__}: {error}"


def _log_retry(operation: str, location: str, state: RetryCallState) -> None:
    for listener in retry_listeners:
        listener(operation)
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "storage request failed, retrying",
        operation=operation,
        location=location,
        attempt=state.attempt_number,
        wait_seconds=round(state.next_action.sleep, 3) if state.next_action else None,
        error=_describe(error) if error else None,
    )
