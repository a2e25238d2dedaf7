"""The `carbonaltdelete` kind: a report instance (report-api + report-worker) serving only the CarbonAltDelete
source, which downloads a company's carbon inventory (DATA_DUMP as XLSX by default). Its settings are read
back in the instance with `KIND.read_settings`; its credentials reach the instance only through the manager's
secrets file (`RuntimeSettings.credentials`, read with `KIND.required_credentials`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from hub_runtime.kinds import InstanceSettings, Kind

DEFAULT_API_URL = "https://cad-backend-production.herokuapp.com"


class CarbonAltDeleteSettings(InstanceSettings):
    """What an operator sets per CarbonAltDelete instance (environment: HUB_CAD_<FIELD>)."""

    api_url: str = Field(DEFAULT_API_URL, pattern=r"^https?://\S+$",
                         description="the CarbonAltDelete API's base URL (its paths start with /api)")
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="timeout of one HTTP request")
    retry_attempts: int = Field(4, ge=1, le=20,
                                description="tries of one request on 5xx, 429 or a timeout before giving up")
    retry_base_seconds: float = Field(1.0, gt=0, le=60, description="first retry delay, doubling")
    poll_seconds: float = Field(2.0, gt=0, le=300, description="first wait between report status checks")
    poll_max_seconds: float = Field(15.0, gt=0, le=600, description="longest wait between status checks")
    report_timeout_seconds: float = Field(900.0, gt=0, le=86400,
                                          description="give up waiting for a report's files after this")
    s3_bucket: str | None = Field(None, min_length=3, max_length=63,
                                  description="also keep each inventory in this S3 bucket (unset: local only)")
    s3_prefix: str = Field("carbonaltdelete/", max_length=200, description="key prefix in the bucket")
    s3_endpoint_url: str | None = Field(None, pattern=r"^https?://\S+$",
                                        description="an S3-compatible endpoint (unset: AWS)")
    s3_region: str | None = Field(None, max_length=40, description="the bucket's region (unset: boto3's)")


class CarbonAltDeleteCredentials(BaseModel):
    """The integration's login: an API key with its secret, or a user's email with its password (exactly one
    of the two). The user needs expert access to every company reports are downloaded for."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)  # errors never echo a secret

    api_key: str | None = Field(None, min_length=1, max_length=200, description="API key (a UUID)")
    api_secret: SecretStr | None = Field(None, min_length=1, max_length=500, description="the API key's secret")
    email: str | None = Field(None, min_length=3, max_length=320, description="user's email (username)")
    password: SecretStr | None = Field(None, min_length=1, max_length=500, description="the user's password")

    @model_validator(mode="after")
    def _exactly_one_form(self) -> CarbonAltDeleteCredentials:
        key = (self.api_key is not None, self.api_secret is not None)
        user = (self.email is not None, self.password is not None)
        if key == (True, True) and user == (False, False) or user == (True, True) and key == (False, False):
            return self
        raise ValueError("give either api_key and api_secret, or email and password (exactly one of the two)")

    @property
    def uses_api_key(self) -> bool:
        return self.api_key is not None


KIND = Kind(
    name="carbonaltdelete",
    description="a report instance downloading CarbonAltDelete carbon inventories (XLSX) per company and "
                "reporting period, on demand or on a cron schedule, optionally also into S3",
    settings=CarbonAltDeleteSettings,
    credentials=CarbonAltDeleteCredentials,
    api="report-api",
    worker="report-worker",
    env_prefix="HUB_CAD_",
    extra_env=lambda settings: {"HUB_REPORT_SOURCES": "carbonaltdelete"},  # serves this source only
)
