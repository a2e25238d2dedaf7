"""Settings from environment variables (and an optional `.env` file), validated once at start. Secrets
(the API token, the encryption keys, the integration's credentials) may come instead from the file that
`HUB_SECRETS_FILE` names, which the manager writes for each instance (mode 0600), so that they are not in
the process's environment.

Every service builds its settings class on `RuntimeSettings`; `load_settings` turns a validation error
into one readable message naming each bad variable, and exits.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TypeVar

from pydantic import AliasChoices, Field, Secret, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .secrets import parse_keys, read_secrets_file

S = TypeVar("S", bound="RuntimeSettings")


class ConfigError(ValueError):
    """A configuration problem found outside a field's validation (e.g. an unreadable secrets file)."""


class _SecretsFile(PydanticBaseSettingsSource):
    """The values of the file `HUB_SECRETS_FILE` names (see `secrets.write_secrets_file`); the
    environment wins over it."""

    def get_field_value(self, field: FieldInfo, field_name: str):
        return None, field_name, False  # everything is read at once in __call__

    def __call__(self) -> dict:
        path = os.environ.get("HUB_SECRETS_FILE")
        if not path:
            return {}
        try:
            return read_secrets_file(Path(path))
        except ValueError as exc:
            raise ConfigError(f"HUB_SECRETS_FILE: {exc}") from None


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return init_settings, env_settings, dotenv_settings, _SecretsFile(settings_cls), file_secret_settings

    database_url: str = Field(
        "sqlite:///var/hub.db", validation_alias=AliasChoices("DATABASE_URL", "HUB_DATABASE_URL"),
        description="SQLAlchemy-style URL: sqlite:///path or postgresql://user@host/db",
    )
    amqp_url: SecretStr | None = Field(
        None, validation_alias=AliasChoices("AMQP_URL", "HUB_AMQP_URL"),
        description="RabbitMQ URL; unset means the embedded SQLite queue",
    )
    data_dir: Path = Field(Path("var"), description="where the embedded queue, keys and artifacts live")
    queue_prefix: str = Field("", description="prefix of every queue name (isolates test runs)")
    api_token: SecretStr = Field(description="bearer token callers must send")
    secret_keys: SecretStr | None = Field(
        None, description="comma-separated keys (32 bytes, base64url); the first encrypts, all decrypt (rotation)"
    )
    credentials: Secret[dict] | None = Field(
        None, description="the integration's stored credentials (from HUB_SECRETS_FILE; the kind's model)")
    db_pool_size: int = Field(3, ge=1, le=100, description="PostgreSQL connections a process keeps open")
    db_max_overflow: int = Field(10, ge=0, le=200, description="extra connections opened under load, then closed")
    log_level: str = "INFO"
    log_format: str = Field("json", pattern="^(json|text)$")
    retry_max_attempts: int = Field(5, ge=1, le=50)
    retry_base_seconds: float = Field(1.0, gt=0)
    retry_max_seconds: float = Field(30.0, gt=0)
    heartbeat_seconds: float = Field(2.0, gt=0)
    heartbeat_timeout_seconds: float = Field(10.0, gt=0)
    outbox_poll_seconds: float = Field(
        1.0, gt=0, description="PostgreSQL: how often the outbox relay looks for rows besides being woken by NOTIFY")
    outbox_sqlite_poll_seconds: float = Field(
        0.05, gt=0, description="SQLite: how often the outbox relay looks for rows (nothing wakes it)")
    broker_reconnect_seconds: float = Field(10.0, gt=0)
    probe_port: int = Field(0, ge=0, le=65535, description="workers: serve /alive, /ready, /metrics here; 0 = off")
    probe_host: str = Field("127.0.0.1", description="workers: address of the probe server (0.0.0.0 in pods)")

    @field_validator("amqp_url", "secret_keys", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.split(":", 1)[0].startswith(("sqlite", "postgres")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return url

    @field_validator("amqp_url")
    @classmethod
    def _amqp_scheme(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not url.get_secret_value().startswith(("amqp://", "amqps://")):
            raise ValueError("must start with amqp:// or amqps://")
        return url

    @field_validator("secret_keys")
    @classmethod
    def _well_formed_keys(cls, keys: SecretStr | None) -> SecretStr | None:
        if keys is not None:
            parse_keys(keys.get_secret_value())
        return keys

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, token: SecretStr) -> SecretStr:
        if len(token.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return token

    artifact_retention_hours: float = Field(72.0, gt=0, description="screenshots etc. are deleted after this")

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.db"

    @property
    def artifact_dir(self) -> Path:
        return self.data_dir / "artifacts"


def env_name(settings_cls: type[RuntimeSettings], field: str) -> str:
    info = settings_cls.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return (settings_cls.model_config.get("env_prefix") or "") + field.upper()


def load_settings(settings_cls: type[S] = RuntimeSettings, **overrides) -> S:
    """Build settings or exit with a message naming every missing or invalid variable."""
    try:
        return settings_cls(**overrides)
    except ConfigError as exc:
        print(f"invalid configuration for {settings_cls.__name__}:\n  {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValidationError as exc:
        lines = [f"invalid configuration for {settings_cls.__name__}:"]
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = env_name(settings_cls, field) if field in settings_cls.model_fields else field
            problem = "is required" if err["type"] == "missing" else err["msg"]
            lines.append(f"  {name}: {problem}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
