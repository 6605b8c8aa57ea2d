"""Configuration: environment variables prefixed POLICING_METRICS_, or the matching CLI options.

docs/configuration.md lists every setting; keep the two in step.
"""

from __future__ import annotations

from typing import Optional

import getpass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): the log still needs an actor
        return "unknown"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICING_METRICS_", extra="ignore")

    database_url: str = Field(
        "sqlite:///var/policing-metrics.db",
        description="Any SQLAlchemy URL: sqlite:///PATH (embedded default) or postgresql+psycopg://USER@HOST/DB.",
    )
    log_level: str = Field("info", description="debug, info, warning or error.")
    log_format: str = Field("auto", description="json, console, or auto (console on a terminal, JSON otherwise).")
    default_area: Optional[str] = Field(
        None,
        description="The area a figure or edition belongs to when none is given: the force's own area, e.g. west-midlands "
        "(or its name or ONS code); unset, a command or file that names no area is refused.",
    )
    period_margin_days: int = Field(
        0, ge=0, le=3660,
        description="How many days after today a new figure's period may end: 0 means a figure is for a period already over.",
    )
    actor: str = Field(default_factory=os_user, description="Who the CLI records as making a change; the OS user by default.")
    # Publishing (docs/publishing.md)
    site_url: str = Field(
        "http://127.0.0.1:8080/",
        description="Where the published site is read: the base of the feeds' absolute links; its host names their tag: ids.",
    )
    publish_to: str = Field(
        "file://var/public",
        description="Where `publish` and the scheduler put the site: file://DIR, a directory, or s3://BUCKET/PREFIX.",
    )
    # serve (docs/configuration.md): where it listens, whom it believes, how long it lets requests finish
    host: str = Field("127.0.0.1", description="The address `serve` listens on; 0.0.0.0 in a container.")
    port: int = Field(8000, ge=0, le=65535, description="The port `serve` listens on.")
    forwarded_allow_ips: str = Field(
        "127.0.0.1,::1",
        description="Comma-separated proxy addresses or networks whose X-Forwarded-For/-Proto are believed; * for any.",
    )
    shutdown_timeout: int = Field(
        25, ge=0, description="Seconds `serve` lets requests in flight finish after SIGTERM before it closes them."
    )
    # Proofs (docs/proofs.md)
    signing_key_file: Optional[str] = Field(
        None,
        description="The file holding the private key that signs checkpoints (`policing-metrics keys create` writes it).",
    )
    # HTTP hardening (docs/http.md)
    auth_failure_limit: str = Field(
        "10/minute",
        description="Failed authentications allowed per client address and per token id before 429 (limits' notation).",
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where failed authentications are counted: memory:// (per process) or a limits storage URI (redis://...).",
    )
