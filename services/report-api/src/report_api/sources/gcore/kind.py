"""The `gcore` kind: a report-api instance that serves Gcore usage reports (CDN, Web Security, Cloud) for
one Gcore reseller account. Its settings are read from `HUB_GCORE_<FIELD>`; the account's login comes
from the manager's secrets file (`RuntimeSettings.credentials`), never from the environment."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub_runtime.kinds import InstanceSettings, Kind

_PASSWORD = {"format": "password", "writeOnly": True}


class GcoreSettings(InstanceSettings):
    """What an operator sets per gcore instance (environment: HUB_GCORE_<FIELD>)."""

    api_url: str = Field("https://api.gcore.com", pattern=r"^https?://\S+$", description="Gcore's API base URL")
    request_timeout_seconds: float = Field(30.0, gt=0, le=600, description="per request to Gcore (connect and read)")
    request_attempts: int = Field(4, ge=1, le=20, description="tries of one request on 5xx, 429 or a timeout")
    retry_base_seconds: float = Field(0.5, gt=0, le=60, description="first wait between tries; it doubles")
    retry_max_seconds: float = Field(10.0, gt=0, le=600, description="longest wait between tries (and Retry-After)")
    poll_interval_seconds: float = Field(2.0, gt=0, le=300, description="first wait between report status checks")
    poll_max_interval_seconds: float = Field(15.0, gt=0, le=600, description="the status checks' wait grows to this")
    poll_timeout_seconds: float = Field(600.0, gt=0, le=24 * 3600,
                                        description="a Gcore report not done after this fails the job")
    sync_wait_seconds: float = Field(60.0, ge=0, le=600, description="how long POST /reports/<product> waits for "
                                     "the report before answering 202 with its status URL")
    token_refresh_margin_seconds: float = Field(120.0, ge=0, le=3000,
                                                description="refresh the access token this long before it expires")


class GcoreCredentials(BaseModel):
    """The Gcore account: a username and password (JWT login), or an API key (`<digits>$<secret>`)."""

    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(None, min_length=1, max_length=200)
    password: str | None = Field(None, min_length=1, max_length=500, json_schema_extra=_PASSWORD)
    api_key: str | None = Field(None, pattern=r"^\d+\$\S+$", max_length=500, json_schema_extra=_PASSWORD)

    @model_validator(mode="after")
    def _one_form(self) -> GcoreCredentials:
        login = self.username is not None or self.password is not None
        if login and self.api_key is not None:
            raise ValueError("give either username and password, or api_key, not both")
        if login and (self.username is None or self.password is None):
            raise ValueError("username and password go together")
        if not login and self.api_key is None:
            raise ValueError("give username and password, or api_key")
        return self

    @property
    def account(self) -> str:
        """Who logs in (for logs and errors): the username, or the API key's numeric id."""
        return self.username or f"API key {self.api_key.split('$', 1)[0]}"

    def __repr__(self) -> str:  # never print a secret, even in a traceback
        return f"GcoreCredentials(account={self.account!r})"

    __str__ = __repr__


KIND = Kind(
    name="gcore",
    description="Gcore usage reports (CDN, Web Security, Cloud) per client of a reseller account, as JSON, CSV "
                "or XLSX",
    settings=GcoreSettings,
    credentials=GcoreCredentials,
    api="report-api",
    worker="report-worker",
    env_prefix="HUB_GCORE_",
    extra_env=lambda settings: {"HUB_REPORT_SOURCES": "gcore"},  # serves the gcore source only
)


@cache
def settings_from_environment() -> GcoreSettings:
    """The instance's gcore settings, read once (the manager set them as HUB_GCORE_* variables)."""
    return KIND.settings_from_environment()
