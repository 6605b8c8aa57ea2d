"""A local directory as the published site: the embedded default, served as static files.

A directory keeps no HTTP headers: whatever serves it sends Content-Type by extension (see headers.py) and decides
caching itself, so content_type and cache_control are accepted for the shared contract and not stored.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .base import ObjectInfo, ObjectStore, PutResult, check_key, sha256_hex
from .errors import ChecksumMismatch, ImmutableObjectConflict, ObjectNotFound, StorageError
from .headers import CACHE_IMMUTABLE, CACHE_SHORT, content_type_for

_TEMP_SUFFIX = ".partial"


class LocalDirectory(ObjectStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LocalDirectory({str(self.root)!r})"

    def location(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)

    def put_immutable(
        self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_IMMUTABLE
    ) -> PutResult:
        path = self._path(key)
        digest = sha256_hex(body)
        if path.is_file():
            return self._already_there(key, path, digest, len(body))
        temp = self._write_verified(key, path, body, digest)
        try:
            # A hard link creates the name only if it is free: the filesystem's If-None-Match.
            os.link(temp, path)
        except FileExistsError:
            return self._already_there(key, path, digest, len(body))
        except OSError as error:
            raise self._failed("put", key, error) from error
        finally:
            temp.unlink(missing_ok=True)
        _sync_directory(path.parent)
        return PutResult(key, digest, len(body), written=True)

    def put_mutable(
        self, key: str, body: bytes, *, content_type: str | None = None, cache_control: str = CACHE_SHORT
    ) -> PutResult:
        path = self._path(key)
        digest = sha256_hex(body)
        temp = self._write_verified(key, path, body, digest)
        try:
            os.replace(temp, path)
        except OSError as error:
            temp.unlink(missing_ok=True)
            raise self._failed("put", key, error) from error
        _sync_directory(path.parent)
        return PutResult(key, digest, len(body), written=True)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(self.location(key)) from None
        except OSError as error:
            raise self._failed("get", key, error) from error

    def head(self, key: str) -> ObjectInfo:
        body = self.get(key)
        return ObjectInfo(key, len(body), content_type_for(key), None, sha256_hex(body))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for directory, _, files in os.walk(self.root):
            relative = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix) and not _is_temp(name):
                    keys.append(key)
        return sorted(keys)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _write_verified(self, key: str, path: Path, body: bytes, digest: str) -> Path:
        """Write `body` to a hidden temporary file beside `path`, flushed to disk and read back, so nothing corrupt
        is ever put in place."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
        except OSError as error:
            raise self._failed("put", key, error) from error
        temp = Path(name)
        try:
            os.close(handle)
            _write_file(temp, body)
            os.chmod(temp, 0o644)  # mkstemp makes 0600; the web server must be able to read the file
            found = sha256_hex(temp.read_bytes())
        except OSError as error:
            temp.unlink(missing_ok=True)
            raise self._failed("put", key, error) from error
        if found != digest:
            temp.unlink(missing_ok=True)
            raise ChecksumMismatch(self.location(key), digest, f"SHA-256 {found}", removed=True)
        return temp

    def _already_there(self, key: str, path: Path, digest: str, size: int) -> PutResult:
        if path.is_dir():
            raise StorageError(
                f"cannot put {self.location(key)}: a directory of that name is in the way",
                operation="put",
                location=self.location(key),
            )
        existing = sha256_hex(self.get(key))
        if existing != digest:
            raise ImmutableObjectConflict(self.location(key), existing, digest)
        return PutResult(key, digest, size, written=False)

    def _failed(self, operation: str, key: str, error: OSError) -> StorageError:
        reason = error.strerror or str(error)
        return StorageError(
            f"{operation} {self.location(key)} failed: {reason}; check the directory exists, is writable and has space",
            operation=operation,
            location=self.location(key),
        )


def _write_file(path: Path, body: bytes) -> None:
    with open(path, "wb") as file:
        file.write(body)
        file.flush()
        os.fsync(file.fileno())


def _sync_directory(directory: Path) -> None:
    """Make the new name durable; not every platform can open a directory, and there it is skipped."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(_TEMP_SUFFIX)
