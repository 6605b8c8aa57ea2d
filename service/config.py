"""Configuration: environment variables prefixed POLICING_METRICS_, or the matching CLI options.

docs/configuration.md lists every setting; keep the two in step.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICING_METRICS_", extra="ignore")

    database_url: str = Field(
        "sqlite:///var/policing-metrics.db",
        description="Any SQLAlchemy URL: sqlite:///PATH (embedded default) or postgresql+psycopg://USER@HOST/DB.",
    )
    log_level: str = Field("info", description="debug, info, warning or error.")
    log_format: str = Field("auto", description="json, console, or auto (console on a terminal, JSON otherwise).")
