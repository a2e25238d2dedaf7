"""The `amazon` kind: one Amazon seller account synced by amazon-sync-api + amazon-sync-worker. Settings are
read from `HUB_AMAZON_<FIELD>`; the seller's LWA app id, client secret and refresh token come only from the
manager's secrets file (`RuntimeSettings.credentials`), never from the environment or a `creds.json`."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from hub_runtime.kinds import InstanceSettings, Kind

from .marketplaces import MARKETPLACES

LWA_URL = "https://api.amazon.com/auth/o2/token"


class AmazonSettings(InstanceSettings):
    """What an operator sets per amazon instance (environment: HUB_AMAZON_<FIELD>)."""

    api_url: str | None = Field(None, pattern=r"^https?://\S+$",
                                description="one SP-API endpoint for every region (a simulator or a proxy); "
                                            "unset: Amazon's regional endpoints")
    lwa_url: str = Field(LWA_URL, pattern=r"^https?://\S+$", description="Login with Amazon's token endpoint")
    orders_api: Literal["2026-01-01", "v0"] = Field(
        "2026-01-01", description="Orders API version: 2026-01-01 (searchOrders, items included) or v0 "
                                  "(getOrders + getOrderItems; Amazon removes it on 2027-03-27)")
    marketplaces: str = Field("A1F83G8C2ARO7P", description="the seller's marketplace ids, comma-separated "
                                                            "(scheduled syncs cover each)")
    rate_scale: float = Field(1.0, gt=0, le=100, description="the seller's rate limits as a multiple of "
                                                             "Amazon's documented defaults")
    time_speed: float = Field(1.0, gt=0, le=10000, description="simulators only: how much faster than real "
                                                               "time the upstream's clock runs")
    request_timeout_seconds: float = Field(30.0, gt=0, le=600, description="per request (connect and read)")
    request_attempts: int = Field(6, ge=1, le=20, description="tries of one call on 429, 5xx or a timeout")
    retry_base_seconds: float = Field(1.0, gt=0, le=60, description="first backoff (doubling, with jitter)")
    retry_max_seconds: float = Field(60.0, gt=0, le=3600, description="longest backoff")
    token_refresh_margin_seconds: float = Field(300.0, ge=0, le=3000,
                                                description="refresh the access token this long before expiry")
    report_poll_seconds: float = Field(15.0, gt=0, le=600, description="wait between report status checks")
    report_timeout_seconds: float = Field(3600.0, gt=0, le=86400,
                                          description="a report not done after this fails its activity")
    backfill_min_days: float = Field(7.0, gt=0, le=30, description="fetch-data over this many days or more uses "
                                     "the orders flat-file report instead of one getOrderItems call per order")
    scheduler_poll_seconds: float = Field(5.0, gt=0, le=300, description="how often the worker looks for due syncs")

    @field_validator("marketplaces")
    @classmethod
    def _known_marketplaces(cls, value: str) -> str:
        ids = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [mid for mid in ids if mid not in MARKETPLACES]
        if not ids or unknown:
            raise ValueError(f"unknown marketplace ids {unknown or value!r}; valid: {', '.join(MARKETPLACES)}")
        return ",".join(ids)

    @property
    def marketplace_ids(self) -> list[str]:
        return self.marketplaces.split(",")


class AmazonCredentials(BaseModel):
    """The seller's SP-API authorization: the LWA app's client id and secret, and the seller's refresh token."""

    model_config = ConfigDict(extra="forbid")

    lwa_app_id: str = Field(min_length=1, max_length=200, pattern=r"^amzn1\.application-oa2-client\.\S+$",
                            description="the LWA app's client identifier (amzn1.application-oa2-client.…)")
    lwa_client_secret: SecretStr = Field(min_length=1, max_length=500, description="the LWA app's client secret")
    refresh_token: SecretStr = Field(min_length=6, max_length=2000,
                                     description="the seller's LWA refresh token (Atzr|…)")

    @field_validator("refresh_token")
    @classmethod
    def _lwa_refresh_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("Atzr|"):
            raise ValueError("an LWA refresh token starts with Atzr|")
        return value

    def __repr__(self) -> str:  # never print a secret, even in a traceback
        return f"AmazonCredentials(lwa_app_id={self.lwa_app_id!r})"

    __str__ = __repr__


KIND = Kind(
    name="amazon",
    description="an Amazon seller account: orders, order items and inventory reports from the Selling Partner "
                "API into SQL tables and CSV exports, on demand or on a schedule",
    settings=AmazonSettings,
    credentials=AmazonCredentials,
    api="amazon-sync-api",
    worker="amazon-sync-worker",
    env_prefix="HUB_AMAZON_",
)


@cache
def settings_from_environment() -> AmazonSettings:
    """The instance's amazon settings, read once (the manager set them as HUB_AMAZON_* variables)."""
    return KIND.settings_from_environment()
