"""report-api settings: the runtime's, plus the sources served, user auth, upload limits and the scheduler."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from hub_runtime.config import RuntimeSettings

from .kind import RulesSettings
from .sources import installed


class ReportSettings(RuntimeSettings, RulesSettings):
    """The runtime's settings, the kind's (`RulesSettings`: what the manager sets per instance) and the
    rest, all read from `HUB_<FIELD>`."""

    model_config = SettingsConfigDict(**RuntimeSettings.model_config)  # not RulesSettings' extra="forbid"

    kind: str = Field("rules", pattern=r"^[a-z][a-z0-9-]*$",
                      description="the instance's kind (rules, gcore, ...; the manager sets it): it names the "
                                  "instance's queue and rows, <kind>.<slug>")
    report_sources: str = Field(
        "", description="the report sources this instance serves, comma-separated (e.g. rules); empty: every "
                        "installed one")
    jwt_secret: SecretStr | None = Field(
        None, description="key signing users' tokens; unset: a random key kept in the data folder")
    refresh_token_days: float = Field(7.0, gt=0, le=90)
    login_max_failures: int = Field(5, ge=1, le=1000, description="failed logins per email per window")
    login_max_failures_per_ip: int = Field(30, ge=1, le=100000, description="failed logins per address per window")
    login_window_seconds: float = Field(900.0, gt=0, description="the rate-limit window of failed logins")
    max_rules_bytes: int = Field(1 * 2**20, ge=128, description="largest accepted rules file")

    @field_validator("jwt_secret")
    @classmethod
    def _strong_key(cls, secret: SecretStr | None) -> SecretStr | None:
        # HS256 wants a key of at least 32 bytes (RFC 7518, 3.2): a template's "change-me" must not sign tokens
        if secret is not None and len(secret.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes (for example: python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'); unset, a random key is kept in the data folder")
        return secret

    @field_validator("report_sources")
    @classmethod
    def _installed_sources(cls, value: str) -> str:
        unknown = [name for name in _names(value) if name not in installed()]
        if unknown:
            raise ValueError(f"no report source {', '.join(map(repr, unknown))} is installed "
                             f"(installed: {', '.join(installed()) or 'none'})")
        return value

    @property
    def source_names(self) -> list[str] | None:
        """The sources to serve, or None for every installed one."""
        return _names(self.report_sources) or None

    def storage_dir(self, instance_slug: str) -> Path:
        """Uploads and generated reports of one instance."""
        return self.data_dir / "reports" / instance_slug


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]
